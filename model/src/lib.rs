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

pub mod assignor;
pub mod config;
pub mod error;
pub mod group;
pub mod invariants;
pub mod model;
pub mod op;
pub mod partition;
pub mod partitioner;
pub mod producer;
pub mod record;
pub mod retention;
pub mod topic;

pub use config::{Assignor, OffsetReset, RetentionPolicy, TimestampType, TopicConfig};
pub use error::ErrorCode;
pub use invariants::Violation;
pub use model::Model;
pub use op::{
    MemberDescription, OffsetSpec, Op, PartitionLogStart, PolledRecord, ProducerBatch, Reply, Ret,
    TopicPartition,
};
pub use record::{Bytes, Header, Record, StoredRecord};
