//! Topics and their partitions, and the topic table published as immutable snapshots.
//!
//! The table is a `BTreeMap` (name order: `enforce_retention` reports in (topic, partition)
//! order) behind an epoch-protected pointer. Creating or deleting a topic builds a new map
//! under the engine's control mutex and swaps the pointer; the hot paths load the pointer under
//! their guard and never wait. A topic is shared by `Arc` with the snapshots, with partition
//! handles and with group assignments, so a deleted topic's memory lives until the last holder
//! lets go, while `deleted` tells handle holders it is gone.

use std::collections::BTreeMap;

use streamspec_model::config::TOPIC_NAME_LENGTH_MAX;
use streamspec_model::TopicConfig;

use crate::log::Log;
use crate::offsets::CommitTable;
use crate::producer::ProducerStates;
use crate::sync::{Arc, AtomicBool, AtomicU64, Ordering};

/// One partition: its log, its idempotent-producer states, and every group's commits.
#[derive(Debug, Default)]
pub struct Partition {
    /// The records.
    pub log: Log,
    /// Idempotent producers' sequence state for this partition.
    pub producers: ProducerStates,
    /// Committed offsets, one cell per group.
    pub commits: CommitTable,
}

/// One topic.
#[derive(Debug)]
pub struct Topic {
    /// Its name.
    pub name: String,
    /// Its configuration.
    pub config: TopicConfig,
    /// Its partitions, `0..partitions`.
    pub partitions: Box<[Partition]>,
    /// The keyless round-robin counter (starts at 0).
    pub keyless_next: AtomicU64,
    /// Set when the topic is deleted (handles check it).
    pub deleted: AtomicBool,
}

impl Topic {
    /// A topic with `partitions` empty partitions.
    pub fn new(name: &str, partitions: usize, config: TopicConfig) -> Topic {
        Topic {
            name: name.to_owned(),
            config,
            partitions: (0..partitions).map(|_| Partition::default()).collect(),
            keyless_next: AtomicU64::new(0),
            deleted: AtomicBool::new(false),
        }
    }

    /// Partition `partition`, if it exists.
    #[inline]
    pub fn partition(&self, partition: i32) -> Option<&Partition> {
        usize::try_from(partition)
            .ok()
            .and_then(|p| self.partitions.get(p))
    }

    /// How many partitions.
    pub fn partition_count(&self) -> i32 {
        self.partitions.len() as i32
    }

    /// Whether the topic has been deleted.
    #[inline]
    pub fn is_deleted(&self) -> bool {
        self.deleted.load(Ordering::Acquire)
    }
}

/// A snapshot of the topic table.
#[derive(Debug, Default, Clone)]
pub struct TopicTable {
    /// Topics by name.
    pub topics: BTreeMap<String, Arc<Topic>>,
}

/// Whether `name` is a legal topic name: 1..=249 bytes of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn topic_name_is_legal(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= TOPIC_NAME_LENGTH_MAX
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// Goal: the name rule accepts exactly Kafka's legal names.
    #[test]
    fn topic_names() {
        assert!(topic_name_is_legal("orders.v1_x-2"));
        assert!(topic_name_is_legal(&"a".repeat(249)));
        assert!(!topic_name_is_legal(&"a".repeat(250)));
        assert!(!topic_name_is_legal(""));
        assert!(!topic_name_is_legal("."));
        assert!(!topic_name_is_legal(".."));
        assert!(topic_name_is_legal("..."));
        assert!(!topic_name_is_legal("a b"));
        assert!(!topic_name_is_legal("ü"));
    }
}
