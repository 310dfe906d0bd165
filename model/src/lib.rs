//! The reference model of Kafka-style event streaming: the executable specification that the
//! engine, and any other implementation, is checked against.
//!
//! The model is a plain sequential object: [`Model::apply`]`(&mut self, &Op) -> Ret`. It has
//! no threads, no I/O and no clock but a logical one that `Op::Tick` advances, so the same ops
//! always give the same results.
//!
//! # How to read the model
//! Start at docs/model.md: it states every op, its errors in the order they are checked, and
//! what an implementation may do differently (**Allowed**). Then read [`model`]: one `op_*`
//! method per op, each a list of checks numbered as in the document followed by the effect,
//! so a refused op changes nothing. Each mechanism those methods use has its own file, listed
//! below; [`invariants`] names every property that holds after each op. The state is plain
//! ordered maps, so two models compare equal exactly when they are the same state.
//!
//! Modules (vocabulary):
//! - [`error`]: the error vocabulary, Kafka's names.
//! - [`record`]: records, bytes, and the one record size formula.
//! - [`config`]: topic and consumer configuration, and the limit on every count and size.
//! - [`op`]: the operation vocabulary, `Op -> Reply | ErrorCode`.
//!
//! Modules (mechanisms):
//! - [`model`]: [`Model`], `apply`, typed wrappers over it, and read-only accessors.
//! - [`topic`]: legal topic names, config validation, a topic's partitions.
//! - [`partition`]: one partition's log, dense offsets from log start to high watermark.
//! - [`partitioner`]: Kafka's murmur2 partitioner, bit for bit.
//! - [`producer`]: idempotent producers: ids, epochs, sequences, duplicate detection.
//! - [`retention`]: how far each retention rule lets the log start advance.
//! - [`group`]: consumer groups: members, generations, positions, committed offsets.
//! - [`assignor`]: Kafka's `RangeAssignor` and `RoundRobinAssignor`.
//! - [`invariants`]: the named invariants and `check_all`.
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
