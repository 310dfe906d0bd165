//! Topic and consumer configuration, and the limit on every count and size.
//!
//! Names and defaults follow Kafka's (`retention.ms` is `retention_ms`, and so on). Every limit
//! is a named constant with its unit; exceeding one is a typed error, never an allocation
//! failure. Implementations checked against the model must accept at least these limits.

use serde::{Deserialize, Serialize};

/// Longest legal topic name, in bytes (Kafka's `Topic.MAX_NAME_LENGTH`).
pub const TOPIC_NAME_LENGTH_MAX: usize = 249;
/// Most topics that may exist at once (`policy_violation` past it).
pub const TOPICS_COUNT_MAX: usize = 1_024;
/// Most partitions one topic may have (`invalid_partitions` past it).
pub const PARTITIONS_PER_TOPIC_MAX: i32 = 1_024;
/// Most records in one produce batch (`record_list_too_large` past it).
pub const BATCH_RECORDS_MAX: usize = 10_000;
/// Largest `max_message_bytes` a topic may configure: 64 MiB.
pub const MAX_MESSAGE_BYTES_LIMIT: u64 = 64 << 20;
/// Kafka's default `max.message.bytes`.
pub const MAX_MESSAGE_BYTES_DEFAULT: u64 = 1_048_588;
/// Kafka's default `retention.ms`: 7 days.
pub const RETENTION_MS_DEFAULT: i64 = 7 * 24 * 60 * 60 * 1000;
/// Most records one fetch or poll may ask for (`invalid_request` past it).
pub const FETCH_RECORDS_MAX: u32 = 100_000;
/// Longest group id, member id, or transactional id, in bytes.
pub const ID_LENGTH_MAX: usize = 255;
/// Most consumer groups that may exist at once (`policy_violation` past it).
pub const GROUPS_COUNT_MAX: usize = 1_024;
/// Most members one group may have (Kafka's `group.max.size`; `group_max_size_reached`).
pub const GROUP_MEMBERS_MAX: usize = 64;
/// Most topics one member may subscribe to (`invalid_request` past it).
pub const SUBSCRIBED_TOPICS_MAX: usize = 64;
/// Longest commit metadata, in bytes (Kafka's `offset.metadata.max.bytes`).
pub const OFFSET_METADATA_BYTES_MAX: usize = 4_096;
/// Session timeout range, in ms (Kafka's `group.min/max.session.timeout.ms` defaults).
pub const SESSION_TIMEOUT_MS_MIN: i64 = 6_000;
/// See [`SESSION_TIMEOUT_MS_MIN`].
pub const SESSION_TIMEOUT_MS_MAX: i64 = 1_800_000;
/// Most producer ids that may be issued (`policy_violation` past it).
pub const PRODUCERS_COUNT_MAX: usize = 65_536;
/// How many recent batches per producer and partition are remembered for deduplication
/// (Kafka's `ProducerStateEntry.NUM_BATCHES_TO_RETAIN`).
pub const PRODUCER_BATCHES_RETAINED: usize = 5;
/// Largest advance of the logical clock in one `tick`, in ms (100 years).
pub const TICK_MS_MAX: u64 = 100 * 365 * 24 * 60 * 60 * 1000;

/// Where a record's timestamp comes from (Kafka's `message.timestamp.type`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimestampType {
    /// The producer's timestamp, defaulting to the clock when the record has none.
    #[default]
    CreateTime,
    /// The clock at append time, whatever the producer sent.
    LogAppendTime,
}

/// Which rules may remove records from the head of a partition.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetentionPolicy {
    /// Kafka's `cleanup.policy=delete`: time (`retention_ms`) and size (`retention_bytes`).
    #[default]
    Delete,
    /// Pulsar-style subscription retention: besides time and size, a record may go once every
    /// group subscribed to its topic has committed past it.
    Consumed,
}

/// A topic's configuration. Absent fields take Kafka's defaults.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct TopicConfig {
    /// Records older than this may be removed; `-1` keeps them forever (Kafka's `retention.ms`).
    pub retention_ms: i64,
    /// The partition may be trimmed down to this many bytes; `-1` is no limit
    /// (Kafka's `retention.bytes`, applied per partition).
    pub retention_bytes: i64,
    /// Largest batch accepted, in bytes (Kafka's `max.message.bytes`).
    pub max_message_bytes: u64,
    /// Kafka's `message.timestamp.type`.
    pub timestamp_type: TimestampType,
    /// Which retention rules apply.
    pub retention_policy: RetentionPolicy,
}

impl Default for TopicConfig {
    fn default() -> TopicConfig {
        TopicConfig {
            retention_ms: RETENTION_MS_DEFAULT,
            retention_bytes: -1,
            max_message_bytes: MAX_MESSAGE_BYTES_DEFAULT,
            timestamp_type: TimestampType::CreateTime,
            retention_policy: RetentionPolicy::Delete,
        }
    }
}

/// How a group spreads partitions over its members.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assignor {
    /// Kafka's `RangeAssignor`.
    #[default]
    Range,
    /// Kafka's `RoundRobinAssignor`.
    RoundRobin,
}

/// Where a consumer starts when it has no committed offset, or its position fell below the
/// log start (Kafka's `auto.offset.reset`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OffsetReset {
    /// The log start offset.
    Earliest,
    /// The high watermark (Kafka's default).
    #[default]
    Latest,
    /// Refuse with `no_offset_for_partition`.
    None,
}
