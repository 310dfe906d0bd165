//! The operation vocabulary: what a client asks ([`Op`]) and what it is told ([`Reply`]).
//!
//! This is the one vocabulary shared by the model, the engine, traces, histories and the
//! command line. In JSON an op is an object tagged by `"op"` with snake_case names:
//! `{"op": "produce", "topic": "orders", "partition": 0, "records": [{"value": "book"}]}`.
//! A reply is tagged by `"reply"`. Fields with defaults may be left out.

use serde::{Deserialize, Serialize};

use crate::config::{Assignor, OffsetReset, TopicConfig};
use crate::error::ErrorCode;
use crate::record::{Record, StoredRecord};

/// A partition of a topic.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TopicPartition {
    /// The topic's name.
    pub topic: String,
    /// The partition's index, `0..partitions`.
    pub partition: i32,
}

impl TopicPartition {
    /// `topic`/`partition`.
    pub fn new(topic: impl Into<String>, partition: i32) -> TopicPartition {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl std::fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// The idempotence fields of a produce batch (Kafka's producer id, epoch and base sequence).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProducerBatch {
    /// A producer id issued by `init_producer_id`.
    pub producer_id: i64,
    /// The producer's epoch.
    pub producer_epoch: i16,
    /// The sequence number of the batch's first record, per producer and partition, from 0.
    pub base_sequence: i32,
}

/// Which offset `list_offsets` looks up (Kafka's ListOffsets timestamps -2, -1, t and -3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "spec")]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The high watermark.
    Latest,
    /// The first offset whose timestamp is at or after `timestamp_ms`, if any.
    Timestamp {
        /// The timestamp to look for.
        timestamp_ms: i64,
    },
    /// The offset of the retained record with the largest timestamp (the first such record on
    /// a tie), if any.
    MaxTimestamp,
}

fn default_max_records() -> u32 {
    500
}

fn default_max_bytes() -> u64 {
    52_428_800
}

fn default_session_timeout_ms() -> i64 {
    45_000
}

fn default_generation() -> i32 {
    -1
}

/// An operation a client asks of the system.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum Op {
    /// Create a topic with `partitions` partitions.
    CreateTopic {
        /// The topic's name.
        topic: String,
        /// How many partitions, `1..=PARTITIONS_PER_TOPIC_MAX`.
        partitions: i32,
        /// Its configuration.
        #[serde(default)]
        config: TopicConfig,
    },
    /// Delete a topic, its records and every group's committed offsets for it.
    DeleteTopic {
        /// The topic's name.
        topic: String,
    },
    /// Append a batch of one or more records to one partition, atomically, at consecutive
    /// offsets.
    Produce {
        /// The topic.
        topic: String,
        /// The partition; `None` lets the partitioner choose from the first record's key
        /// (murmur2), or any partition for a keyless first record.
        #[serde(default)]
        partition: Option<i32>,
        /// The records, in order.
        records: Vec<Record>,
        /// Idempotence fields; `None` is a plain (non-idempotent) produce.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        producer: Option<ProducerBatch>,
    },
    /// Obtain a producer id and epoch for idempotent produce. With a `transactional_id` the
    /// same id is returned each time with its epoch bumped (fencing the older epoch); without
    /// one, a fresh producer id with epoch 0.
    InitProducerId {
        /// Kafka's `transactional.id`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transactional_id: Option<String>,
    },
    /// Read records of one partition from `offset` (assign mode: no group involved).
    Fetch {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The first offset to read.
        offset: i64,
        /// Most records to return, `1..=FETCH_RECORDS_MAX`.
        #[serde(default = "default_max_records")]
        max_records: u32,
        /// Most bytes to return (by the record size formula); at least one record is returned
        /// even if it is larger.
        #[serde(default = "default_max_bytes")]
        max_bytes: u64,
    },
    /// Look up an offset of one partition.
    ListOffsets {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// Which offset.
        #[serde(flatten)]
        spec: OffsetSpec,
    },
    /// Apply every retention rule to every partition now, removing each partition's eligible
    /// prefix.
    EnforceRetention,
    /// Advance a partition's log start to `offset` (Kafka's DeleteRecords); `-1` means the
    /// high watermark.
    DeleteRecords {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The new log start offset.
        offset: i64,
    },
    /// Advance the logical clock by `ms`, then expire members whose session timed out.
    Tick {
        /// How far, in ms.
        ms: u64,
    },
    /// Join a consumer group (or rejoin to learn its current generation).
    JoinGroup {
        /// The group id.
        group: String,
        /// The member id, chosen by the client.
        member: String,
        /// Topics to subscribe to; they need not exist yet.
        topics: Vec<String>,
        /// How the group assigns partitions.
        #[serde(default)]
        assignor: Assignor,
        /// How long the member may stay silent before it is expired.
        #[serde(default = "default_session_timeout_ms")]
        session_timeout_ms: i64,
        /// Where the member starts reading a partition with no committed offset.
        #[serde(default)]
        auto_offset_reset: OffsetReset,
    },
    /// Leave a consumer group.
    LeaveGroup {
        /// The group id.
        group: String,
        /// The member id.
        member: String,
    },
    /// Tell the group the member is alive.
    Heartbeat {
        /// The group id.
        group: String,
        /// The member id.
        member: String,
        /// The generation the member believes is current.
        generation: i32,
    },
    /// Commit the next offset to read for one partition. A member of a group with members
    /// commits with its member id and generation; a simple (assign-mode) consumer commits with
    /// no member and generation `-1`, which only a group without members accepts.
    Commit {
        /// The group id.
        group: String,
        /// The member id; `None` for a simple commit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        member: Option<String>,
        /// The generation; `-1` for a simple commit.
        #[serde(default = "default_generation")]
        generation: i32,
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The next offset to read.
        offset: i64,
        /// Free-form metadata, at most `OFFSET_METADATA_BYTES_MAX` bytes.
        #[serde(default)]
        metadata: String,
    },
    /// Read a group's committed offset for one partition.
    Committed {
        /// The group id.
        group: String,
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
    },
    /// Read records from the partitions assigned to a member, from its positions, and advance
    /// them.
    Poll {
        /// The group id.
        group: String,
        /// The member id.
        member: String,
        /// The generation the member believes is current.
        generation: i32,
        /// Most records to return, `1..=FETCH_RECORDS_MAX`.
        #[serde(default = "default_max_records")]
        max_records: u32,
    },
    /// Describe a group: generation, members, subscriptions and assignment.
    DescribeGroup {
        /// The group id.
        group: String,
    },
}

/// A group member as `describe_group` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MemberDescription {
    /// The member id.
    pub member: String,
    /// Its subscribed topics, sorted.
    pub topics: Vec<String>,
    /// Its partitions in the current generation, sorted.
    pub assignment: Vec<TopicPartition>,
}

/// A partition's log start offset after retention.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PartitionLogStart {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// Its log start offset now.
    pub log_start_offset: i64,
}

/// A record returned by `poll`, with the partition it came from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PolledRecord {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The record.
    #[serde(flatten)]
    pub record: StoredRecord,
}

/// What a successful operation returns.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reply")]
pub enum Reply {
    /// Done; nothing to report (create/delete topic, tick, leave, heartbeat, commit).
    Ack,
    /// `produce`: where the batch landed. Its records are at `base_offset..base_offset + n`.
    Produced {
        /// The partition that took the batch.
        partition: i32,
        /// The offset of its first record.
        base_offset: i64,
        /// The append time for `LogAppendTime` topics, else `None`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        log_append_time_ms: Option<i64>,
    },
    /// `init_producer_id`.
    ProducerId {
        /// The producer id.
        producer_id: i64,
        /// Its epoch.
        producer_epoch: i16,
    },
    /// `fetch`.
    Fetched {
        /// Records in offset order.
        records: Vec<StoredRecord>,
        /// The partition's high watermark (the next offset to be written).
        high_watermark: i64,
        /// The partition's log start offset.
        log_start_offset: i64,
    },
    /// `list_offsets`; `None` where Kafka answers `-1`.
    ListedOffset {
        /// The offset found.
        offset: Option<i64>,
        /// Its record's timestamp, for the timestamp specs.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timestamp_ms: Option<i64>,
    },
    /// `enforce_retention`: the partitions whose log start advanced, in (topic, partition)
    /// order.
    Retained {
        /// Their new log start offsets.
        advanced: Vec<PartitionLogStart>,
    },
    /// `delete_records`: the partition's log start now (Kafka's `low_watermark`).
    LowWatermark {
        /// The log start offset.
        low_watermark: i64,
    },
    /// `join_group`: the group's current generation and the member's assignment in it.
    Joined {
        /// The generation.
        generation: i32,
        /// The member's partitions, sorted.
        assignment: Vec<TopicPartition>,
    },
    /// `committed`; `None` when nothing was committed.
    CommittedOffset {
        /// The committed next offset to read.
        offset: Option<i64>,
        /// The metadata committed with it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        metadata: Option<String>,
    },
    /// `poll`.
    Polled {
        /// Records in the documented cross-partition order.
        records: Vec<PolledRecord>,
    },
    /// `describe_group`.
    Group {
        /// The current generation; 0 before anyone joined.
        generation: i32,
        /// Members, sorted by id.
        members: Vec<MemberDescription>,
    },
}

/// What an operation returns: a reply, or the error that refused it.
pub type Ret = Result<Reply, ErrorCode>;

impl Op {
    /// The op's snake_case name, as in traces (`"produce"`).
    pub fn name(&self) -> &'static str {
        match self {
            Op::CreateTopic { .. } => "create_topic",
            Op::DeleteTopic { .. } => "delete_topic",
            Op::Produce { .. } => "produce",
            Op::InitProducerId { .. } => "init_producer_id",
            Op::Fetch { .. } => "fetch",
            Op::ListOffsets { .. } => "list_offsets",
            Op::EnforceRetention => "enforce_retention",
            Op::DeleteRecords { .. } => "delete_records",
            Op::Tick { .. } => "tick",
            Op::JoinGroup { .. } => "join_group",
            Op::LeaveGroup { .. } => "leave_group",
            Op::Heartbeat { .. } => "heartbeat",
            Op::Commit { .. } => "commit",
            Op::Committed { .. } => "committed",
            Op::Poll { .. } => "poll",
            Op::DescribeGroup { .. } => "describe_group",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_are_tagged_snake_case_json_with_defaults() {
        let op: Op = serde_json::from_str(
            r#"{"op":"produce","topic":"orders","partition":0,"records":[{"value":"{order_id: 1, item: 'book'}"}]}"#,
        )
        .unwrap();
        assert_eq!(op.name(), "produce");
        let Op::Produce {
            records, producer, ..
        } = &op
        else {
            panic!("not a produce: {op:?}");
        };
        assert_eq!(records[0], Record::value("{order_id: 1, item: 'book'}"));
        assert_eq!(*producer, None);

        let fetch: Op =
            serde_json::from_str(r#"{"op":"fetch","topic":"t","partition":0,"offset":3}"#).unwrap();
        assert_eq!(
            fetch,
            Op::Fetch {
                topic: "t".into(),
                partition: 0,
                offset: 3,
                max_records: 500,
                max_bytes: 52_428_800
            }
        );
        let list: Op = serde_json::from_str(
            r#"{"op":"list_offsets","topic":"t","partition":0,"spec":"timestamp","timestamp_ms":5}"#,
        )
        .unwrap();
        let back: Op = serde_json::from_str(&serde_json::to_string(&list).unwrap()).unwrap();
        assert_eq!(list, back);
        assert!(serde_json::from_str::<Op>(r#"{"op":"explode"}"#).is_err());
    }

    #[test]
    fn replies_round_trip() {
        let replies = [
            Reply::Ack,
            Reply::Produced {
                partition: 0,
                base_offset: 0,
                log_append_time_ms: None,
            },
            Reply::CommittedOffset {
                offset: Some(1),
                metadata: Some(String::new()),
            },
            Reply::Polled { records: vec![] },
        ];
        for reply in replies {
            let json = serde_json::to_string(&reply).unwrap();
            assert_eq!(
                serde_json::from_str::<Reply>(&json).unwrap(),
                reply,
                "{json}"
            );
        }
    }
}
