//! streamspec against real brokers: the model's ops over the Kafka protocol (librdkafka), a
//! concurrent workload that records a history, and the checks that compare what the broker
//! did with what the model allows.
//!
//! Modules:
//! - [`error`]: adapter errors (unsupported, client, timeout) and broker error → model name.
//! - [`namespace`]: per-run prefixes for topics and groups on a shared broker.
//! - [`broker`]: [`KafkaBroker`], one method per op family, answering in the model's vocabulary.
//! - [`history`]: the recorder: history events (docs/history-format.md) and group observations.
//! - [`group`]: group-mode members driven by librdkafka's own group protocol.
//! - [`workload`]: the concurrent workload of `streamspec kafka`: setup, concurrent, drain.
//! - [`check`]: the run judged against the model, each divergence named with its ops.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod broker;
pub mod check;
pub mod error;
pub mod group;
pub mod history;
pub mod namespace;
pub mod workload;

pub use broker::{BrokerConfig, KafkaBroker, Outcome};
pub use error::{AdapterError, AdapterErrorKind};
pub use namespace::Namespace;
