//! streamspec against real brokers: the model's ops over the Kafka protocol (librdkafka), a
//! concurrent workload that records a history, and the checks that compare what the broker
//! did with what the model allows.
//!
//! Modules:
//! - [`error`]: adapter errors (unsupported, client, timeout) and broker error → model name.
//! - [`namespace`]: per-run prefixes for topics and groups on a shared broker.
//! - [`broker`]: [`KafkaBroker`], one method per op family, answering in the model's vocabulary.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod broker;
pub mod error;
pub mod namespace;

pub use broker::{BrokerConfig, KafkaBroker, Outcome};
pub use error::{AdapterError, AdapterErrorKind};
pub use namespace::Namespace;
