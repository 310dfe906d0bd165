//! The bounded op vocabulary the fuzz targets draw from: [`Step`], and [`Script`], which
//! turns a step into a concrete [`Op`] against the current model state.
//!
//! Why bounded: libFuzzer mutates bytes, and `arbitrary` maps them onto these small enums, so
//! almost every input names a few topics, groups and members that collide with each other,
//! and offsets, generations and sequences that land near the interesting edges (log start,
//! high watermark, current generation, next sequence) instead of being spread over `i64`.
//! Every bad value the spec names is one variant away: illegal topic names, partition counts
//! 0, -1, past the limit and `i32::MAX`, offsets `-1`, `i64::MIN` and `i64::MAX`, oversized
//! records and batches, unknown members, stale and future generations, bad group ids, ticks
//! past `TICK_MS_MAX`, and so on.
//!
//! Resolution reads the model (the reference) only to aim: an offset "at the high watermark"
//! or a generation "one behind the current one". The op produced is an ordinary [`Op`], so
//! the same script drives the model alone and the model beside another implementation.

use std::collections::BTreeMap;

use arbitrary::{Arbitrary, Unstructured};
use streamspec_model::config::{
    BATCH_RECORDS_MAX, FETCH_RECORDS_MAX, ID_LENGTH_MAX, MAX_MESSAGE_BYTES_DEFAULT,
    MAX_MESSAGE_BYTES_LIMIT, OFFSET_METADATA_BYTES_MAX, PARTITIONS_PER_TOPIC_MAX,
    RETENTION_MS_DEFAULT, SESSION_TIMEOUT_MS_MAX, SESSION_TIMEOUT_MS_MIN, SUBSCRIBED_TOPICS_MAX,
    TICK_MS_MAX, TOPIC_NAME_LENGTH_MAX,
};
use streamspec_model::{
    Assignor, Bytes, Header, Model, OffsetReset, OffsetSpec, Op, ProducerBatch, Record, Reply, Ret,
    RetentionPolicy, TimestampType, TopicConfig,
};

/// Most records a generated (non-oversized) batch holds; longer generated lists are cut here.
pub const BATCH_RECORDS_GENERATED_MAX: usize = 8;
/// Most topics a generated subscription lists (besides the deliberately oversized one).
pub const SUBSCRIPTION_TOPICS_GENERATED_MAX: usize = 4;

/// A topic name: two legal ones that collide often, the legal extremes, and illegal ones.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopicName {
    /// `orders`.
    Orders,
    /// `payments`.
    Payments,
    /// 249 bytes: the longest legal name.
    Longest,
    /// 250 bytes: one past the limit.
    TooLong,
    /// The empty name.
    Empty,
    /// `.`, which Kafka forbids.
    Dot,
    /// `..`, which Kafka forbids.
    DotDot,
    /// `bad name!`: characters outside `[a-zA-Z0-9._-]`.
    BadCharacters,
    /// `tópico`: non-ASCII UTF-8.
    NonAscii,
}

impl TopicName {
    /// The name as a string.
    pub fn name(self) -> String {
        match self {
            TopicName::Orders => "orders".to_owned(),
            TopicName::Payments => "payments".to_owned(),
            TopicName::Longest => "t".repeat(TOPIC_NAME_LENGTH_MAX),
            TopicName::TooLong => "t".repeat(TOPIC_NAME_LENGTH_MAX + 1),
            TopicName::Empty => String::new(),
            TopicName::Dot => ".".to_owned(),
            TopicName::DotDot => "..".to_owned(),
            TopicName::BadCharacters => "bad name!".to_owned(),
            TopicName::NonAscii => "tópico".to_owned(),
        }
    }
}

/// A partition index: mostly `-1..=4`, sometimes the `i32` extremes.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum PartitionIndex {
    /// `(n % 6) - 1`: `-1..=4`.
    Small(u8),
    /// `i32::MIN`.
    Min,
    /// `i32::MAX`.
    Max,
}

impl PartitionIndex {
    /// The index.
    pub fn index(self) -> i32 {
        match self {
            PartitionIndex::Small(n) => i32::from(n % 6) - 1,
            PartitionIndex::Min => i32::MIN,
            PartitionIndex::Max => i32::MAX,
        }
    }
}

/// A partition count for `create_topic`. The large counts are rare (1 in 64 each): a topic
/// of 1024 partitions makes every later step slower.
#[derive(Clone, Copy, Debug)]
pub enum PartitionCount {
    /// `n % 5`: `0..=4`, zero being illegal.
    Small(u8),
    /// `-1`.
    Negative,
    /// `PARTITIONS_PER_TOPIC_MAX`, the largest legal count.
    Limit,
    /// One past the limit.
    OverLimit,
    /// `i32::MAX`.
    Huge,
}

impl<'a> Arbitrary<'a> for PartitionCount {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<PartitionCount> {
        Ok(match u8::arbitrary(u)? {
            0..=3 => PartitionCount::Negative,
            4..=7 => PartitionCount::Limit,
            8..=11 => PartitionCount::OverLimit,
            12..=15 => PartitionCount::Huge,
            n => PartitionCount::Small(n),
        })
    }
}

impl PartitionCount {
    /// The count.
    pub fn count(self) -> i32 {
        match self {
            PartitionCount::Small(n) => i32::from(n % 5),
            PartitionCount::Negative => -1,
            PartitionCount::Limit => PARTITIONS_PER_TOPIC_MAX,
            PartitionCount::OverLimit => PARTITIONS_PER_TOPIC_MAX + 1,
            PartitionCount::Huge => i32::MAX,
        }
    }
}

/// A topic configuration: the ones that make each retention rule and size limit bite, and
/// each kind of invalid value.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum ConfigChoice {
    /// Kafka's defaults.
    Default,
    /// `retention_ms = 10_000`.
    ShortRetention,
    /// `retention_bytes = 60`, no time retention.
    SizeRetention,
    /// `retention_bytes = 0`: every record eligible.
    ZeroBytesRetention,
    /// `retention_policy = consumed`, no time retention.
    Consumed,
    /// `log_append_time` with `retention_ms = 5_000`.
    LogAppendTime,
    /// `max_message_bytes = 40`: most batches of two or more records are too large.
    SmallMessages,
    /// `retention_ms = -2`: invalid.
    RetentionMsBelowMinusOne,
    /// `retention_bytes = -2`: invalid.
    RetentionBytesBelowMinusOne,
    /// `max_message_bytes = 0`: invalid.
    ZeroMessageBytes,
    /// `max_message_bytes` one past `MAX_MESSAGE_BYTES_LIMIT`: invalid.
    OverMessageBytesLimit,
}

impl ConfigChoice {
    /// The configuration.
    pub fn config(self) -> TopicConfig {
        let base = TopicConfig::default();
        match self {
            ConfigChoice::Default => base,
            ConfigChoice::ShortRetention => TopicConfig {
                retention_ms: 10_000,
                ..base
            },
            ConfigChoice::SizeRetention => TopicConfig {
                retention_ms: -1,
                retention_bytes: 60,
                ..base
            },
            ConfigChoice::ZeroBytesRetention => TopicConfig {
                retention_ms: -1,
                retention_bytes: 0,
                ..base
            },
            ConfigChoice::Consumed => TopicConfig {
                retention_ms: -1,
                retention_policy: RetentionPolicy::Consumed,
                ..base
            },
            ConfigChoice::LogAppendTime => TopicConfig {
                retention_ms: 5_000,
                timestamp_type: TimestampType::LogAppendTime,
                ..base
            },
            ConfigChoice::SmallMessages => TopicConfig {
                max_message_bytes: 40,
                ..base
            },
            ConfigChoice::RetentionMsBelowMinusOne => TopicConfig {
                retention_ms: -2,
                ..base
            },
            ConfigChoice::RetentionBytesBelowMinusOne => TopicConfig {
                retention_bytes: -2,
                ..base
            },
            ConfigChoice::ZeroMessageBytes => TopicConfig {
                max_message_bytes: 0,
                ..base
            },
            ConfigChoice::OverMessageBytesLimit => TopicConfig {
                max_message_bytes: MAX_MESSAGE_BYTES_LIMIT + 1,
                ..base
            },
        }
    }
}

/// An offset, aimed at the edges of the partition it names.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum OffsetChoice {
    /// The log start offset plus `(n % 5) - 2`.
    NearLogStart(i8),
    /// The high watermark plus `(n % 5) - 2`.
    NearHighWatermark(i8),
    /// `n` itself.
    Raw(i8),
    /// `-1` (the high watermark, for `delete_records`).
    MinusOne,
    /// `i64::MIN`.
    Min,
    /// `i64::MAX`.
    Max,
}

/// A record key.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum KeyChoice {
    /// `k0`.
    K0,
    /// `k1`.
    K1,
    /// `order-17`.
    Order17,
    /// Bytes that are not UTF-8.
    NotUtf8,
}

impl KeyChoice {
    fn bytes(self) -> Bytes {
        match self {
            KeyChoice::K0 => Bytes::from("k0"),
            KeyChoice::K1 => Bytes::from("k1"),
            KeyChoice::Order17 => Bytes::from("order-17"),
            KeyChoice::NotUtf8 => Bytes(vec![0xff, 0xfe, 0x00]),
        }
    }
}

/// A record value. Oversized values are rare (1 in 128): each allocates a megabyte.
#[derive(Clone, Copy, Debug)]
pub enum ValueChoice {
    /// Kafka's null value (a tombstone).
    Null,
    /// `n % 16` bytes.
    Small(u8),
    /// `MAX_MESSAGE_BYTES_DEFAULT` bytes: with the overhead, larger than any generated
    /// topic's `max_message_bytes`, so always `message_too_large`.
    Oversized,
}

impl<'a> Arbitrary<'a> for ValueChoice {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<ValueChoice> {
        Ok(match u8::arbitrary(u)? {
            0..=1 => ValueChoice::Oversized,
            2..=31 => ValueChoice::Null,
            n => ValueChoice::Small(n),
        })
    }
}

/// A record timestamp.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum TimestampChoice {
    /// None: the clock.
    Now,
    /// `n` ms.
    At(u16),
    /// `-1`: invalid.
    Negative,
    /// `i64::MAX`.
    Max,
}

/// One record.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct RecordChoice {
    /// The key.
    pub key: Option<KeyChoice>,
    /// The value.
    pub value: ValueChoice,
    /// One header `h` with `n % 4` value bytes, or none.
    pub header: Option<u8>,
    /// The timestamp.
    pub timestamp: TimestampChoice,
}

impl RecordChoice {
    fn record(self) -> Record {
        Record {
            key: self.key.map(KeyChoice::bytes),
            value: match self.value {
                ValueChoice::Null => None,
                ValueChoice::Small(n) => Some(Bytes(vec![b'v'; usize::from(n % 16)])),
                ValueChoice::Oversized => {
                    Some(Bytes(vec![b'v'; MAX_MESSAGE_BYTES_DEFAULT as usize]))
                }
            },
            headers: self
                .header
                .map(|n| Header {
                    key: "h".to_owned(),
                    value: Some(Bytes(vec![b'h'; usize::from(n % 4)])),
                })
                .into_iter()
                .collect(),
            timestamp_ms: match self.timestamp {
                TimestampChoice::Now => None,
                TimestampChoice::At(ms) => Some(i64::from(ms)),
                TimestampChoice::Negative => Some(-1),
                TimestampChoice::Max => Some(i64::MAX),
            },
        }
    }
}

/// A produce batch. Over-long batches are rare (1 in 128): each allocates 10 001 records.
#[derive(Clone, Debug)]
pub enum BatchChoice {
    /// These records, cut to [`BATCH_RECORDS_GENERATED_MAX`] (an empty list is invalid).
    Records(Vec<RecordChoice>),
    /// `BATCH_RECORDS_MAX + 1` empty records: `record_list_too_large`.
    TooMany,
}

impl<'a> Arbitrary<'a> for BatchChoice {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<BatchChoice> {
        Ok(match u8::arbitrary(u)? {
            0..=1 => BatchChoice::TooMany,
            _ => BatchChoice::Records(Vec::arbitrary(u)?),
        })
    }
}

impl BatchChoice {
    fn records(&self) -> Vec<Record> {
        match self {
            BatchChoice::Records(records) => records
                .iter()
                .take(BATCH_RECORDS_GENERATED_MAX)
                .map(|r| r.record())
                .collect(),
            BatchChoice::TooMany => vec![Record::default(); BATCH_RECORDS_MAX + 1],
        }
    }
}

/// A producer id.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum ProducerIdChoice {
    /// `n % 4`: usually one issued by an earlier `init_producer_id`.
    Low(u8),
    /// `-1`: never issued.
    MinusOne,
    /// `i64::MAX`: never issued.
    Max,
}

/// A producer epoch, relative to the id's current one.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum EpochChoice {
    /// The current epoch (0 for an unknown id).
    Current,
    /// One older.
    Older,
    /// One newer.
    Newer,
    /// `i16::MAX`.
    Max,
}

/// A base sequence, relative to what this script last saw the producer append there.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum SequenceChoice {
    /// The next expected sequence (0 when nothing was seen).
    Next,
    /// The base sequence of the last batch appended: a duplicate or an out-of-order batch.
    Repeat,
    /// The next plus `(n % 5) - 2`.
    NearNext(i8),
    /// `-1`: invalid.
    Negative,
    /// `i32::MAX`: invalid for any batch of two or more records.
    Max,
}

/// The idempotence fields of a batch.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct ProducerChoice {
    /// The producer id.
    pub producer_id: ProducerIdChoice,
    /// The epoch.
    pub epoch: EpochChoice,
    /// The base sequence.
    pub sequence: SequenceChoice,
}

/// A transactional id.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum TransactionalIdChoice {
    /// No transactional id: a fresh producer id.
    Absent,
    /// `tx-1`.
    Tx1,
    /// `tx-2`.
    Tx2,
    /// The empty id: invalid.
    Empty,
    /// `ID_LENGTH_MAX + 1` bytes: invalid.
    TooLong,
}

/// A group id.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum GroupId {
    /// `g1`.
    G1,
    /// `g2`.
    G2,
    /// The empty id: `invalid_group_id`.
    Empty,
    /// `ID_LENGTH_MAX + 1` bytes: `invalid_group_id`.
    TooLong,
}

impl GroupId {
    /// The id as a string.
    pub fn id(self) -> String {
        match self {
            GroupId::G1 => "g1".to_owned(),
            GroupId::G2 => "g2".to_owned(),
            GroupId::Empty => String::new(),
            GroupId::TooLong => "g".repeat(ID_LENGTH_MAX + 1),
        }
    }
}

/// A member id.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum MemberId {
    /// `m1`.
    M1,
    /// `m2`.
    M2,
    /// `m3`.
    M3,
    /// The empty id: invalid.
    Empty,
    /// `ID_LENGTH_MAX + 1` bytes: invalid.
    TooLong,
}

impl MemberId {
    /// The id as a string.
    pub fn id(self) -> String {
        match self {
            MemberId::M1 => "m1".to_owned(),
            MemberId::M2 => "m2".to_owned(),
            MemberId::M3 => "m3".to_owned(),
            MemberId::Empty => String::new(),
            MemberId::TooLong => "m".repeat(ID_LENGTH_MAX + 1),
        }
    }
}

/// A generation, relative to the group's current one.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum GenerationChoice {
    /// The current generation (0 for an unknown group).
    Current,
    /// One behind: `rebalance_in_progress`.
    Stale,
    /// One ahead: `illegal_generation`.
    Future,
    /// `-1`, the simple-commit generation.
    MinusOne,
    /// `i32::MIN`.
    Min,
    /// `i32::MAX`.
    Max,
}

/// A session timeout.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum SessionTimeoutChoice {
    /// Kafka's default, 45 s.
    Default,
    /// `SESSION_TIMEOUT_MS_MIN`.
    Min,
    /// `SESSION_TIMEOUT_MS_MAX`.
    Max,
    /// One below the minimum: invalid.
    BelowMin,
    /// One above the maximum: invalid.
    AboveMax,
    /// `i64::MIN`: invalid.
    Negative,
}

impl SessionTimeoutChoice {
    fn ms(self) -> i64 {
        match self {
            SessionTimeoutChoice::Default => 45_000,
            SessionTimeoutChoice::Min => SESSION_TIMEOUT_MS_MIN,
            SessionTimeoutChoice::Max => SESSION_TIMEOUT_MS_MAX,
            SessionTimeoutChoice::BelowMin => SESSION_TIMEOUT_MS_MIN - 1,
            SessionTimeoutChoice::AboveMax => SESSION_TIMEOUT_MS_MAX + 1,
            SessionTimeoutChoice::Negative => i64::MIN,
        }
    }
}

/// A subscription.
#[derive(Arbitrary, Clone, Debug)]
pub enum SubscriptionChoice {
    /// These topics, cut to [`SUBSCRIPTION_TOPICS_GENERATED_MAX`] (empty is invalid).
    Topics(Vec<TopicName>),
    /// `SUBSCRIBED_TOPICS_MAX + 1` topics: invalid.
    TooMany,
}

/// An assignor.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum AssignorChoice {
    /// Range.
    Range,
    /// Round robin.
    RoundRobin,
}

/// An `auto_offset_reset` policy.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum ResetChoice {
    /// Earliest.
    Earliest,
    /// Latest.
    Latest,
    /// None: `no_offset_for_partition` without a committed offset.
    None,
}

/// A record count limit for fetch and poll.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum MaxRecordsChoice {
    /// `n % 4`: `0..=3`, zero being invalid.
    Small(u8),
    /// `FETCH_RECORDS_MAX`.
    Limit,
    /// One past the limit: invalid.
    OverLimit,
}

impl MaxRecordsChoice {
    fn count(self) -> u32 {
        match self {
            MaxRecordsChoice::Small(n) => u32::from(n % 4),
            MaxRecordsChoice::Limit => FETCH_RECORDS_MAX,
            MaxRecordsChoice::OverLimit => FETCH_RECORDS_MAX + 1,
        }
    }
}

/// A byte limit for fetch.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum MaxBytesChoice {
    /// `n` bytes (below one record's overhead when small: still one record).
    Small(u8),
    /// `u64::MAX`.
    Unlimited,
}

/// A `list_offsets` spec.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum OffsetSpecChoice {
    /// Earliest.
    Earliest,
    /// Latest.
    Latest,
    /// Max timestamp.
    MaxTimestamp,
    /// At or after `n` ms.
    Timestamp(u16),
    /// `-1` ms: invalid.
    NegativeTimestamp,
}

/// Commit metadata.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum MetadataChoice {
    /// Empty.
    Empty,
    /// A few bytes.
    Short,
    /// `OFFSET_METADATA_BYTES_MAX + 1` bytes: `offset_metadata_too_large`.
    TooLarge,
}

/// Who commits.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Committer {
    /// A simple commit: no member, generation `-1`.
    Simple,
    /// No member but this generation (wrong unless it resolves to `-1`).
    SimpleWithGeneration(GenerationChoice),
    /// A member at this generation.
    Member(MemberId, GenerationChoice),
}

/// One fuzz step: an op over the bounded vocabulary.
#[derive(Arbitrary, Clone, Debug)]
pub enum Step {
    /// `create_topic`.
    CreateTopic(TopicName, PartitionCount, ConfigChoice),
    /// `delete_topic`.
    DeleteTopic(TopicName),
    /// `produce`.
    Produce {
        /// The topic.
        topic: TopicName,
        /// The partition, or the partitioner's choice.
        partition: Option<PartitionIndex>,
        /// The records.
        batch: BatchChoice,
        /// Idempotence fields.
        producer: Option<ProducerChoice>,
    },
    /// The last produce this script resolved, exactly again (an idempotent retry).
    RetryLastProduce,
    /// `init_producer_id`.
    InitProducerId(TransactionalIdChoice),
    /// `fetch`.
    Fetch(
        TopicName,
        PartitionIndex,
        OffsetChoice,
        MaxRecordsChoice,
        MaxBytesChoice,
    ),
    /// `list_offsets`.
    ListOffsets(TopicName, PartitionIndex, OffsetSpecChoice),
    /// `enforce_retention`.
    EnforceRetention,
    /// `delete_records`.
    DeleteRecords(TopicName, PartitionIndex, OffsetChoice),
    /// `tick`.
    Tick(TickChoice),
    /// `join_group`.
    JoinGroup {
        /// The group.
        group: GroupId,
        /// The member.
        member: MemberId,
        /// The subscription.
        topics: SubscriptionChoice,
        /// The assignor.
        assignor: AssignorChoice,
        /// The session timeout.
        session_timeout: SessionTimeoutChoice,
        /// The reset policy.
        reset: ResetChoice,
    },
    /// `leave_group`.
    LeaveGroup(GroupId, MemberId),
    /// `heartbeat`.
    Heartbeat(GroupId, MemberId, GenerationChoice),
    /// `commit`.
    Commit {
        /// The group.
        group: GroupId,
        /// Who commits.
        committer: Committer,
        /// The topic.
        topic: TopicName,
        /// The partition.
        partition: PartitionIndex,
        /// The offset.
        offset: OffsetChoice,
        /// The metadata.
        metadata: MetadataChoice,
    },
    /// `committed`.
    Committed(GroupId, TopicName, PartitionIndex),
    /// `poll`.
    Poll(GroupId, MemberId, GenerationChoice, MaxRecordsChoice),
    /// `describe_group`.
    DescribeGroup(GroupId),
}

/// How far a `tick` advances the clock.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum TickChoice {
    /// `n` ms.
    Small(u16),
    /// Just past the default session timeout: members that stayed silent expire.
    PastSession,
    /// Just past the default retention: every default topic's records become eligible.
    PastRetention,
    /// `TICK_MS_MAX`.
    Limit,
    /// One past `TICK_MS_MAX`: invalid.
    OverLimit,
    /// `u64::MAX`: invalid.
    Max,
}

impl TickChoice {
    fn ms(self) -> u64 {
        match self {
            TickChoice::Small(ms) => u64::from(ms),
            TickChoice::PastSession => 45_001,
            TickChoice::PastRetention => RETENTION_MS_DEFAULT as u64 + 1,
            TickChoice::Limit => TICK_MS_MAX,
            TickChoice::OverLimit => TICK_MS_MAX + 1,
            TickChoice::Max => u64::MAX,
        }
    }
}

/// Where an idempotent producer's sequence stands on one partition, as this script saw it.
#[derive(Clone, Copy, Debug)]
struct SequenceSeen {
    /// The next sequence the partition expects.
    sequence_next: i32,
    /// The base sequence of the last batch appended.
    sequence_last_base: i32,
}

/// Turns steps into ops against a model's state, remembering what it needs for retries and
/// sequences.
#[derive(Clone, Debug, Default)]
pub struct Script {
    /// The last produce op resolved, for [`Step::RetryLastProduce`].
    last_produce: Option<Op>,
    /// By (producer id, topic, partition).
    sequences: BTreeMap<(i64, String, i32), SequenceSeen>,
}

impl Script {
    /// An empty script.
    pub fn new() -> Script {
        Script::default()
    }

    /// The op `step` names in `model`'s current state.
    pub fn resolve(&mut self, step: &Step, model: &Model) -> Op {
        match step {
            Step::CreateTopic(topic, partitions, config) => Op::CreateTopic {
                topic: topic.name(),
                partitions: partitions.count(),
                config: config.config(),
            },
            Step::DeleteTopic(topic) => Op::DeleteTopic {
                topic: topic.name(),
            },
            Step::Produce {
                topic,
                partition,
                batch,
                producer,
            } => {
                let topic = topic.name();
                let partition = partition.map(PartitionIndex::index);
                let producer = producer.map(|p| self.producer_batch(&p, &topic, partition, model));
                let op = Op::Produce {
                    topic,
                    partition,
                    records: batch.records(),
                    producer,
                };
                self.last_produce = Some(op.clone());
                op
            }
            Step::RetryLastProduce => self.last_produce.clone().unwrap_or(Op::EnforceRetention),
            Step::InitProducerId(choice) => Op::InitProducerId {
                transactional_id: match choice {
                    TransactionalIdChoice::Absent => None,
                    TransactionalIdChoice::Tx1 => Some("tx-1".to_owned()),
                    TransactionalIdChoice::Tx2 => Some("tx-2".to_owned()),
                    TransactionalIdChoice::Empty => Some(String::new()),
                    TransactionalIdChoice::TooLong => Some("x".repeat(ID_LENGTH_MAX + 1)),
                },
            },
            Step::Fetch(topic, partition, offset, max_records, max_bytes) => {
                let topic = topic.name();
                let partition = partition.index();
                Op::Fetch {
                    offset: offset_at(*offset, model, &topic, partition),
                    topic,
                    partition,
                    max_records: max_records.count(),
                    max_bytes: match max_bytes {
                        MaxBytesChoice::Small(n) => u64::from(*n),
                        MaxBytesChoice::Unlimited => u64::MAX,
                    },
                }
            }
            Step::ListOffsets(topic, partition, spec) => Op::ListOffsets {
                topic: topic.name(),
                partition: partition.index(),
                spec: match spec {
                    OffsetSpecChoice::Earliest => OffsetSpec::Earliest,
                    OffsetSpecChoice::Latest => OffsetSpec::Latest,
                    OffsetSpecChoice::MaxTimestamp => OffsetSpec::MaxTimestamp,
                    OffsetSpecChoice::Timestamp(ms) => OffsetSpec::Timestamp {
                        timestamp_ms: i64::from(*ms),
                    },
                    OffsetSpecChoice::NegativeTimestamp => {
                        OffsetSpec::Timestamp { timestamp_ms: -1 }
                    }
                },
            },
            Step::EnforceRetention => Op::EnforceRetention,
            Step::DeleteRecords(topic, partition, offset) => {
                let topic = topic.name();
                let partition = partition.index();
                Op::DeleteRecords {
                    offset: offset_at(*offset, model, &topic, partition),
                    topic,
                    partition,
                }
            }
            Step::Tick(choice) => Op::Tick { ms: choice.ms() },
            Step::JoinGroup {
                group,
                member,
                topics,
                assignor,
                session_timeout,
                reset,
            } => Op::JoinGroup {
                group: group.id(),
                member: member.id(),
                topics: match topics {
                    SubscriptionChoice::Topics(topics) => topics
                        .iter()
                        .take(SUBSCRIPTION_TOPICS_GENERATED_MAX)
                        .map(|t| t.name())
                        .collect(),
                    SubscriptionChoice::TooMany => {
                        vec![TopicName::Orders.name(); SUBSCRIBED_TOPICS_MAX + 1]
                    }
                },
                assignor: match assignor {
                    AssignorChoice::Range => Assignor::Range,
                    AssignorChoice::RoundRobin => Assignor::RoundRobin,
                },
                session_timeout_ms: session_timeout.ms(),
                auto_offset_reset: match reset {
                    ResetChoice::Earliest => OffsetReset::Earliest,
                    ResetChoice::Latest => OffsetReset::Latest,
                    ResetChoice::None => OffsetReset::None,
                },
            },
            Step::LeaveGroup(group, member) => Op::LeaveGroup {
                group: group.id(),
                member: member.id(),
            },
            Step::Heartbeat(group, member, generation) => {
                let group = group.id();
                Op::Heartbeat {
                    generation: generation_of(*generation, model, &group),
                    group,
                    member: member.id(),
                }
            }
            Step::Commit {
                group,
                committer,
                topic,
                partition,
                offset,
                metadata,
            } => {
                let group = group.id();
                let topic = topic.name();
                let partition = partition.index();
                let (member, generation) = match committer {
                    Committer::Simple => (None, -1),
                    Committer::SimpleWithGeneration(g) => (None, generation_of(*g, model, &group)),
                    Committer::Member(m, g) => (Some(m.id()), generation_of(*g, model, &group)),
                };
                Op::Commit {
                    member,
                    generation,
                    offset: offset_at(*offset, model, &topic, partition),
                    group,
                    topic,
                    partition,
                    metadata: match metadata {
                        MetadataChoice::Empty => String::new(),
                        MetadataChoice::Short => "checkpoint".to_owned(),
                        MetadataChoice::TooLarge => "x".repeat(OFFSET_METADATA_BYTES_MAX + 1),
                    },
                }
            }
            Step::Committed(group, topic, partition) => Op::Committed {
                group: group.id(),
                topic: topic.name(),
                partition: partition.index(),
            },
            Step::Poll(group, member, generation, max_records) => {
                let group = group.id();
                Op::Poll {
                    generation: generation_of(*generation, model, &group),
                    group,
                    member: member.id(),
                    max_records: max_records.count(),
                }
            }
            Step::DescribeGroup(group) => Op::DescribeGroup { group: group.id() },
        }
    }

    /// Learns from an op's result what later steps aim at (the next sequence of each
    /// idempotent producer on each partition).
    pub fn observe(&mut self, op: &Op, ret: &Ret) {
        if let (
            Op::Produce {
                topic,
                records,
                producer: Some(batch),
                ..
            },
            Ok(Reply::Produced { partition, .. }),
        ) = (op, ret)
        {
            let count = i32::try_from(records.len()).unwrap_or(i32::MAX);
            self.sequences.insert(
                (batch.producer_id, topic.clone(), *partition),
                SequenceSeen {
                    sequence_next: batch.base_sequence.saturating_add(count),
                    sequence_last_base: batch.base_sequence,
                },
            );
        }
    }

    fn producer_batch(
        &self,
        choice: &ProducerChoice,
        topic: &str,
        partition: Option<i32>,
        model: &Model,
    ) -> ProducerBatch {
        let producer_id = match choice.producer_id {
            ProducerIdChoice::Low(n) => i64::from(n % 4),
            ProducerIdChoice::MinusOne => -1,
            ProducerIdChoice::Max => i64::MAX,
        };
        let epoch_current = model.producer_epoch(producer_id).unwrap_or(0);
        let producer_epoch = match choice.epoch {
            EpochChoice::Current => epoch_current,
            EpochChoice::Older => epoch_current.wrapping_sub(1),
            EpochChoice::Newer => epoch_current.wrapping_add(1),
            EpochChoice::Max => i16::MAX,
        };
        // A partitioner-chosen batch is aimed at partition 0; when it lands elsewhere the
        // sequence is simply out of order, which is worth exercising too.
        let seen = self
            .sequences
            .get(&(producer_id, topic.to_owned(), partition.unwrap_or(0)))
            .copied();
        let sequence_next = seen.map_or(0, |s| s.sequence_next);
        let base_sequence = match choice.sequence {
            SequenceChoice::Next => sequence_next,
            SequenceChoice::Repeat => seen.map_or(0, |s| s.sequence_last_base),
            SequenceChoice::NearNext(n) => {
                sequence_next.saturating_add(i32::from(n.rem_euclid(5)) - 2)
            }
            SequenceChoice::Negative => -1,
            SequenceChoice::Max => i32::MAX,
        };
        ProducerBatch {
            producer_id,
            producer_epoch,
            base_sequence,
        }
    }
}

/// The offset `choice` names on `topic`/`partition` (log start and high watermark 0 when the
/// partition does not exist).
fn offset_at(choice: OffsetChoice, model: &Model, topic: &str, partition: i32) -> i64 {
    let near = |base: i64, n: i8| base.saturating_add(i64::from(n.rem_euclid(5)) - 2);
    match choice {
        OffsetChoice::NearLogStart(n) => {
            near(model.log_start_offset(topic, partition).unwrap_or(0), n)
        }
        OffsetChoice::NearHighWatermark(n) => {
            near(model.high_watermark(topic, partition).unwrap_or(0), n)
        }
        OffsetChoice::Raw(n) => i64::from(n),
        OffsetChoice::MinusOne => -1,
        OffsetChoice::Min => i64::MIN,
        OffsetChoice::Max => i64::MAX,
    }
}

/// The generation `choice` names in `group` (current generation 0 when it does not exist).
fn generation_of(choice: GenerationChoice, model: &Model, group: &str) -> i32 {
    let current = model.group(group).map_or(0, |g| g.generation());
    match choice {
        GenerationChoice::Current => current,
        GenerationChoice::Stale => current.wrapping_sub(1),
        GenerationChoice::Future => current.wrapping_add(1),
        GenerationChoice::MinusOne => -1,
        GenerationChoice::Min => i32::MIN,
        GenerationChoice::Max => i32::MAX,
    }
}
