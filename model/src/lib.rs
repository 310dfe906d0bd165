//! The reference model of Kafka-style event streaming: the executable specification that the
//! engine, and any other implementation, is checked against.
//!
//! The model is a plain sequential object: `apply(&mut self, &Op) -> Ret`. It has no threads,
//! no I/O and no clock but a logical one that `Op::Tick` advances, so the same ops always give
//! the same results.
//!
//! Modules:
//! - [`error`]: the error vocabulary, Kafka's names.
//! - [`record`]: records, bytes, and the one record size formula.
//! - [`config`]: topic and consumer configuration, and the limit on every count and size.
//! - [`op`]: the operation vocabulary, `Op -> Reply | ErrorCode`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod config;
pub mod error;
pub mod op;
pub mod record;

pub use config::{Assignor, OffsetReset, RetentionPolicy, TimestampType, TopicConfig};
pub use error::ErrorCode;
pub use op::{
    MemberDescription, OffsetSpec, Op, PartitionLogStart, PolledRecord, ProducerBatch, Reply, Ret,
    TopicPartition,
};
pub use record::{Bytes, Header, Record, StoredRecord};
