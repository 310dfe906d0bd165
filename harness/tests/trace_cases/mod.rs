//! The shipped traces (`traces/`), as hand-written op lists with hand-written expectations.
//!
//! Each [`Case`] is a list of ops; most carry the result worked out by hand from
//! `docs/model.md` ([`Case::ok`], [`Case::err`]), a few are setup whose result is not the point
//! ([`Case::op`]). [`generate`] applies the ops to the model and refuses to write a trace where
//! the model disagrees with a hand-written expectation, so a shipped trace is checked twice: by
//! the author's reading of the spec and by the model.
//!
//! Used by `examples/gen_traces.rs` (writes `traces/`) and by `tests/shipped_traces.rs` (checks
//! the files in `traces/` are exactly what this generates).
#![allow(dead_code)] // each test crate that includes this uses a different part of it

use streamspec::trace::{comment_line, step_line, Step};
use streamspec_model::config::{
    BATCH_RECORDS_MAX, GROUP_MEMBERS_MAX, OFFSET_METADATA_BYTES_MAX, SESSION_TIMEOUT_MS_MIN,
    TICK_MS_MAX, TOPICS_COUNT_MAX,
};
use streamspec_model::{
    Assignor, ErrorCode, MemberDescription, Model, OffsetReset, OffsetSpec, Op, PartitionLogStart,
    PolledRecord, ProducerBatch, Record, Reply, Ret, RetentionPolicy, StoredRecord, TimestampType,
    TopicConfig, TopicPartition,
};

/// One line of a case: a comment, or an op with its hand-written expectation (if any).
pub enum Item {
    /// A comment line in the trace.
    Note(String),
    /// An op, and the result the author expects (`None`: setup, not checked by hand).
    Step(Op, Option<Ret>),
}

/// A trace to ship: where it goes, what it shows, and its lines.
pub struct Case {
    /// Path under `traces/` without `.jsonl`.
    pub path: String,
    /// What the trace shows, for its first comment line and the index.
    pub shows: String,
    /// Its lines.
    pub items: Vec<Item>,
}

impl Case {
    fn new(path: &str, shows: &str) -> Case {
        Case {
            path: path.to_string(),
            shows: shows.to_string(),
            items: Vec::new(),
        }
    }

    fn note(mut self, text: &str) -> Case {
        self.items.push(Item::Note(text.to_string()));
        self
    }

    fn op(mut self, op: Op) -> Case {
        self.items.push(Item::Step(op, None));
        self
    }

    fn ok(mut self, op: Op, reply: Reply) -> Case {
        self.items.push(Item::Step(op, Some(Ok(reply))));
        self
    }

    fn err(mut self, op: Op, code: ErrorCode) -> Case {
        self.items.push(Item::Step(op, Some(Err(code))));
        self
    }
}

/// The command that regenerates the traces, named in each trace's header.
pub const REGENERATE: &str = "cargo run -p streamspec --example gen_traces";

/// Apply the case to a fresh model; `Err` names the first op whose result differs from its
/// hand-written expectation.
pub fn generate(case: &Case) -> Result<Vec<Step>, String> {
    let mut model = Model::new();
    let mut steps = Vec::new();
    for (index, item) in case.items.iter().enumerate() {
        let Item::Step(op, expected) = item else {
            continue;
        };
        let ret = model.apply(op);
        if let Some(expected) = expected {
            if *expected != ret {
                return Err(format!(
                    "{}: item {index} {}: expected by hand {}, model says {}",
                    case.path,
                    step_line(&Step {
                        op: op.clone(),
                        ret: expected.clone()
                    }),
                    streamspec::trace::ret_json(expected),
                    streamspec::trace::ret_json(&ret)
                ));
            }
        }
        steps.push(Step {
            op: op.clone(),
            ret,
        });
    }
    Ok(steps)
}

/// The text of the trace file for `case`, given the steps [`generate`] recorded.
pub fn render(case: &Case, steps: &[Step]) -> String {
    let mut text = String::new();
    let mut push = |line: String| {
        text.push_str(&line);
        text.push('\n');
    };
    push(comment_line(&case.shows));
    push(comment_line(&format!(
        "Generated from harness/tests/trace_cases/mod.rs by `{REGENERATE}`; apart from setup \
         steps, every result was worked out by hand from docs/model.md and the model agrees."
    )));
    let mut steps = steps.iter();
    for item in &case.items {
        match item {
            Item::Note(text) => push(comment_line(text)),
            Item::Step(..) => {
                if let Some(step) = steps.next() {
                    push(step_line(step));
                }
            }
        }
    }
    text
}

// ---- op builders -------------------------------------------------------------------------

fn create(topic: &str, partitions: i32) -> Op {
    create_with(topic, partitions, TopicConfig::default())
}

fn create_with(topic: &str, partitions: i32, config: TopicConfig) -> Op {
    Op::CreateTopic {
        topic: topic.into(),
        partitions,
        config,
    }
}

fn delete_topic(topic: &str) -> Op {
    Op::DeleteTopic {
        topic: topic.into(),
    }
}

fn produce(topic: &str, partition: i32, values: &[&str]) -> Op {
    produce_records(
        topic,
        Some(partition),
        values.iter().map(|v| Record::value(*v)).collect(),
    )
}

fn produce_records(topic: &str, partition: Option<i32>, records: Vec<Record>) -> Op {
    Op::Produce {
        topic: topic.into(),
        partition,
        records,
        producer: None,
    }
}

fn produce_idempotent(
    topic: &str,
    partition: i32,
    values: &[&str],
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
) -> Op {
    Op::Produce {
        topic: topic.into(),
        partition: Some(partition),
        records: values.iter().map(|v| Record::value(*v)).collect(),
        producer: Some(ProducerBatch {
            producer_id,
            producer_epoch,
            base_sequence,
        }),
    }
}

fn at_time(value: &str, timestamp_ms: i64) -> Record {
    Record {
        timestamp_ms: Some(timestamp_ms),
        ..Record::value(value)
    }
}

/// A record with a non-UTF-8 key and two headers, one with a null value: 23 bytes.
fn binary_record() -> Record {
    Record {
        key: Some(streamspec_model::Bytes(vec![0xff, 0x00])),
        value: Some("v".into()),
        headers: vec![
            streamspec_model::Header {
                key: "h".into(),
                value: Some("xy".into()),
            },
            streamspec_model::Header {
                key: "n".into(),
                value: None,
            },
        ],
        timestamp_ms: None,
    }
}

fn init_producer_id(transactional_id: Option<&str>) -> Op {
    Op::InitProducerId {
        transactional_id: transactional_id.map(str::to_string),
    }
}

fn fetch(topic: &str, partition: i32, offset: i64) -> Op {
    fetch_limited(topic, partition, offset, 500, 52_428_800)
}

fn fetch_limited(topic: &str, partition: i32, offset: i64, max_records: u32, max_bytes: u64) -> Op {
    Op::Fetch {
        topic: topic.into(),
        partition,
        offset,
        max_records,
        max_bytes,
    }
}

fn list(topic: &str, partition: i32, spec: OffsetSpec) -> Op {
    Op::ListOffsets {
        topic: topic.into(),
        partition,
        spec,
    }
}

fn delete_records(topic: &str, partition: i32, offset: i64) -> Op {
    Op::DeleteRecords {
        topic: topic.into(),
        partition,
        offset,
    }
}

fn tick(ms: u64) -> Op {
    Op::Tick { ms }
}

/// A join with the range assignor, the default session timeout, reading from the earliest
/// offset when nothing is committed.
fn join(group: &str, member: &str, topics: &[&str]) -> Op {
    join_with(
        group,
        member,
        topics,
        Assignor::Range,
        45_000,
        OffsetReset::Earliest,
    )
}

fn join_with(
    group: &str,
    member: &str,
    topics: &[&str],
    assignor: Assignor,
    session_timeout_ms: i64,
    auto_offset_reset: OffsetReset,
) -> Op {
    Op::JoinGroup {
        group: group.into(),
        member: member.into(),
        topics: topics.iter().map(|t| t.to_string()).collect(),
        assignor,
        session_timeout_ms,
        auto_offset_reset,
    }
}

fn leave(group: &str, member: &str) -> Op {
    Op::LeaveGroup {
        group: group.into(),
        member: member.into(),
    }
}

fn heartbeat(group: &str, member: &str, generation: i32) -> Op {
    Op::Heartbeat {
        group: group.into(),
        member: member.into(),
        generation,
    }
}

fn commit(
    group: &str,
    member: &str,
    generation: i32,
    topic: &str,
    partition: i32,
    offset: i64,
) -> Op {
    commit_with_metadata(
        group,
        Some(member),
        generation,
        topic,
        partition,
        offset,
        "",
    )
}

fn simple_commit(group: &str, topic: &str, partition: i32, offset: i64) -> Op {
    commit_with_metadata(group, None, -1, topic, partition, offset, "")
}

fn commit_with_metadata(
    group: &str,
    member: Option<&str>,
    generation: i32,
    topic: &str,
    partition: i32,
    offset: i64,
    metadata: &str,
) -> Op {
    Op::Commit {
        group: group.into(),
        member: member.map(str::to_string),
        generation,
        topic: topic.into(),
        partition,
        offset,
        metadata: metadata.into(),
    }
}

fn committed(group: &str, topic: &str, partition: i32) -> Op {
    Op::Committed {
        group: group.into(),
        topic: topic.into(),
        partition,
    }
}

fn poll(group: &str, member: &str, generation: i32) -> Op {
    poll_limited(group, member, generation, 500)
}

fn poll_limited(group: &str, member: &str, generation: i32, max_records: u32) -> Op {
    Op::Poll {
        group: group.into(),
        member: member.into(),
        generation,
        max_records,
    }
}

fn describe(group: &str) -> Op {
    Op::DescribeGroup {
        group: group.into(),
    }
}

// ---- reply builders ----------------------------------------------------------------------

fn ack() -> Reply {
    Reply::Ack
}

fn produced(partition: i32, base_offset: i64) -> Reply {
    Reply::Produced {
        partition,
        base_offset,
        log_append_time_ms: None,
    }
}

fn stored(offset: i64, timestamp_ms: i64, value: &str) -> StoredRecord {
    StoredRecord {
        offset,
        timestamp_ms,
        key: None,
        value: Some(value.into()),
        headers: Vec::new(),
    }
}

fn fetched(records: Vec<StoredRecord>, high_watermark: i64, log_start_offset: i64) -> Reply {
    Reply::Fetched {
        records,
        high_watermark,
        log_start_offset,
    }
}

/// A polled record without a key: (topic, partition, offset, timestamp, value).
fn polled_record(
    topic: &str,
    partition: i32,
    offset: i64,
    timestamp_ms: i64,
    value: &str,
) -> PolledRecord {
    PolledRecord {
        topic: topic.into(),
        partition,
        record: stored(offset, timestamp_ms, value),
    }
}

fn polled(records: Vec<PolledRecord>) -> Reply {
    Reply::Polled { records }
}

fn tps(partitions: &[(&str, i32)]) -> Vec<TopicPartition> {
    partitions
        .iter()
        .map(|(topic, partition)| TopicPartition::new(*topic, *partition))
        .collect()
}

fn joined(generation: i32, assignment: &[(&str, i32)]) -> Reply {
    Reply::Joined {
        generation,
        assignment: tps(assignment),
    }
}

fn member(name: &str, topics: &[&str], assignment: &[(&str, i32)]) -> MemberDescription {
    MemberDescription {
        member: name.into(),
        topics: topics.iter().map(|t| t.to_string()).collect(),
        assignment: tps(assignment),
    }
}

fn group(generation: i32, members: Vec<MemberDescription>) -> Reply {
    Reply::Group {
        generation,
        members,
    }
}

fn committed_offset(offset: i64, metadata: &str) -> Reply {
    Reply::CommittedOffset {
        offset: Some(offset),
        metadata: Some(metadata.into()),
    }
}

fn nothing_committed() -> Reply {
    Reply::CommittedOffset {
        offset: None,
        metadata: None,
    }
}

fn listed(offset: Option<i64>, timestamp_ms: Option<i64>) -> Reply {
    Reply::ListedOffset {
        offset,
        timestamp_ms,
    }
}

fn retained(advanced: &[(&str, i32, i64)]) -> Reply {
    Reply::Retained {
        advanced: advanced
            .iter()
            .map(|(topic, partition, log_start_offset)| PartitionLogStart {
                topic: (*topic).into(),
                partition: *partition,
                log_start_offset: *log_start_offset,
            })
            .collect(),
    }
}

fn low_watermark(low_watermark: i64) -> Reply {
    Reply::LowWatermark { low_watermark }
}

fn config_retention_ms(retention_ms: i64) -> TopicConfig {
    TopicConfig {
        retention_ms,
        ..TopicConfig::default()
    }
}

fn config_consumed() -> TopicConfig {
    TopicConfig {
        retention_ms: -1,
        retention_policy: RetentionPolicy::Consumed,
        ..TopicConfig::default()
    }
}

// ---- the cases ---------------------------------------------------------------------------

/// Every shipped trace.
pub fn all() -> Vec<Case> {
    let mut cases = scenarios();
    cases.extend(op_cases());
    cases.extend(error_cases());
    cases.extend(invariant_cases());
    cases
}

/// The two scenarios of `shared/scenarios/`, and the consumed-retention variant.
pub fn scenarios() -> Vec<Case> {
    const ORDER: &str = "{order_id: 1, item: 'book'}";
    vec![
        Case::new(
            "scenarios/produce-poll-commit",
            "Scenario produce-poll-commit: an order event is produced to `orders` (partition 0, \
             offset 0), polled, processed and committed at offset 1; a further poll is empty \
             and the record stays.",
        )
        .ok(create("orders", 1), ack())
        .note("The producer sends the order event; it lands in partition 0 at offset 0.")
        .ok(produce("orders", 0, &[ORDER]), produced(0, 0))
        .note("A consumer joins group order-processors; with nothing committed it starts at the earliest offset.")
        .ok(join("order-processors", "consumer-1", &["orders"]), joined(1, &[("orders", 0)]))
        .ok(
            poll("order-processors", "consumer-1", 1),
            polled(vec![polled_record("orders", 0, 0, 0, ORDER)]),
        )
        .note("Processed offset 0, so the consumer commits 1: the next offset to read.")
        .ok(commit("order-processors", "consumer-1", 1, "orders", 0, 1), ack())
        .ok(committed("order-processors", "orders", 0), committed_offset(1, ""))
        .note("No new events: the poll is empty and the consumer waits (time passes, it stays alive).")
        .ok(poll("order-processors", "consumer-1", 1), polled(vec![]))
        .ok(tick(1_000), ack())
        .ok(heartbeat("order-processors", "consumer-1", 1), ack())
        .ok(poll("order-processors", "consumer-1", 1), polled(vec![]))
        .note("Reading removed nothing: the event is still at offset 0 until retention removes it.")
        .ok(fetch("orders", 0, 0), fetched(vec![stored(0, 0, ORDER)], 1, 0)),
        Case::new(
            "scenarios/independent-consumers-scale",
            "Scenario independent-consumers-scale: groups billing and shipping each read the \
             same events independently; billing scales out by adding a consumer, a third group \
             joins later and still reads everything: reading removes nothing.",
        )
        .ok(create("orders", 2), ack())
        .ok(produce("orders", 0, &["order-1", "order-2"]), produced(0, 0))
        .ok(produce("orders", 1, &["order-3"]), produced(1, 0))
        .note("Two groups, one consumer each: each consumer owns both partitions of its group.")
        .ok(join("billing", "billing-1", &["orders"]), joined(1, &[("orders", 0), ("orders", 1)]))
        .ok(join("shipping", "shipping-1", &["orders"]), joined(1, &[("orders", 0), ("orders", 1)]))
        .ok(
            poll("billing", "billing-1", 1),
            polled(vec![
                polled_record("orders", 0, 0, 0, "order-1"),
                polled_record("orders", 0, 1, 0, "order-2"),
                polled_record("orders", 1, 0, 0, "order-3"),
            ]),
        )
        .ok(commit("billing", "billing-1", 1, "orders", 0, 2), ack())
        .ok(commit("billing", "billing-1", 1, "orders", 1, 1), ack())
        .note("shipping reads the same three events: billing's reads and commits do not affect it.")
        .ok(
            poll("shipping", "shipping-1", 1),
            polled(vec![
                polled_record("orders", 0, 0, 0, "order-1"),
                polled_record("orders", 0, 1, 0, "order-2"),
                polled_record("orders", 1, 0, 0, "order-3"),
            ]),
        )
        .note("billing scales out: billing-2 joins, generation 2; range assignment splits the partitions.")
        .ok(join("billing", "billing-2", &["orders"]), joined(2, &[("orders", 1)]))
        .note("billing-1 still polls with generation 1: it must rejoin to learn generation 2.")
        .err(poll("billing", "billing-1", 1), ErrorCode::RebalanceInProgress)
        .ok(join("billing", "billing-1", &["orders"]), joined(2, &[("orders", 0)]))
        .ok(produce("orders", 0, &["order-4"]), produced(0, 2))
        .ok(produce("orders", 1, &["order-5"]), produced(1, 1))
        .note("Each billing consumer resumes from billing's committed offsets on its own partition.")
        .ok(
            poll("billing", "billing-1", 2),
            polled(vec![polled_record("orders", 0, 2, 0, "order-4")]),
        )
        .ok(
            poll("billing", "billing-2", 2),
            polled(vec![polled_record("orders", 1, 1, 0, "order-5")]),
        )
        .note("shipping is still in generation 1 and continues from its own positions.")
        .ok(
            poll("shipping", "shipping-1", 1),
            polled(vec![
                polled_record("orders", 0, 2, 0, "order-4"),
                polled_record("orders", 1, 1, 0, "order-5"),
            ]),
        )
        .note("A third group joins later and reads all five events from the start.")
        .ok(join("analytics", "analytics-1", &["orders"]), joined(1, &[("orders", 0), ("orders", 1)]))
        .ok(
            poll("analytics", "analytics-1", 1),
            polled(vec![
                polled_record("orders", 0, 0, 0, "order-1"),
                polled_record("orders", 0, 1, 0, "order-2"),
                polled_record("orders", 0, 2, 0, "order-4"),
                polled_record("orders", 1, 0, 0, "order-3"),
                polled_record("orders", 1, 1, 0, "order-5"),
            ]),
        )
        .ok(list("orders", 0, OffsetSpec::Earliest), listed(Some(0), None))
        .ok(list("orders", 1, OffsetSpec::Earliest), listed(Some(0), None)),
        Case::new(
            "scenarios/independent-consumers-consumed-retention",
            "Scenario independent-consumers-scale with Pulsar-style consumed retention: a record \
             goes only once every group subscribed to its topic has committed past it.",
        )
        .ok(create_with("events", 1, config_consumed()), ack())
        .ok(produce("events", 0, &["e0", "e1", "e2"]), produced(0, 0))
        .note("No group is subscribed yet: the consumed rule allows nothing.")
        .ok(Op::EnforceRetention, retained(&[]))
        .ok(join("audit", "audit-1", &["events"]), joined(1, &[("events", 0)]))
        .ok(join("mailer", "mailer-1", &["events"]), joined(1, &[("events", 0)]))
        .ok(
            poll("audit", "audit-1", 1),
            polled(vec![
                polled_record("events", 0, 0, 0, "e0"),
                polled_record("events", 0, 1, 0, "e1"),
                polled_record("events", 0, 2, 0, "e2"),
            ]),
        )
        .ok(commit("audit", "audit-1", 1, "events", 0, 3), ack())
        .note("audit has committed past everything, but mailer has committed nothing: nothing goes.")
        .ok(Op::EnforceRetention, retained(&[]))
        .ok(fetch("events", 0, 0), fetched(vec![stored(0, 0, "e0"), stored(1, 0, "e1"), stored(2, 0, "e2")], 3, 0))
        .ok(
            poll_limited("mailer", "mailer-1", 1, 2),
            polled(vec![
                polled_record("events", 0, 0, 0, "e0"),
                polled_record("events", 0, 1, 0, "e1"),
            ]),
        )
        .ok(commit("mailer", "mailer-1", 1, "events", 0, 2), ack())
        .note("Now every subscribed group committed past offsets 0 and 1 (min(3, 2) = 2): they go, e2 stays.")
        .ok(Op::EnforceRetention, retained(&[("events", 0, 2)]))
        .err(fetch("events", 0, 0), ErrorCode::OffsetOutOfRange)
        .ok(fetch("events", 0, 2), fetched(vec![stored(2, 0, "e2")], 3, 2))
        .ok(
            poll("mailer", "mailer-1", 1),
            polled(vec![polled_record("events", 0, 2, 0, "e2")]),
        )
        .ok(commit("mailer", "mailer-1", 1, "events", 0, 3), ack())
        .ok(Op::EnforceRetention, retained(&[("events", 0, 3)]))
        .ok(fetch("events", 0, 3), fetched(vec![], 3, 3)),
    ]
}

/// At least one trace per op.
pub fn op_cases() -> Vec<Case> {
    let murmur2_keys = [
        "21",
        "foobar",
        "abc",
        "order-2",
        "a-little-bit-longer-string",
    ];
    let mut keyed = Case::new(
        "conformance/op-produce-keyed-murmur2-partitioner",
        "produce with partition null and a keyed first record: the partition is Kafka's \
         toPositive(murmur2(key)) % partitions. The keys are from Kafka's UtilsTest.testMurmur2 \
         (e.g. murmur2(\"21\") = -973932308); with 5 partitions they land in 0, 1, 2, 3, 4.",
    )
    .ok(create("t", 5), ack());
    for (expected_partition, key) in murmur2_keys.iter().enumerate() {
        keyed = keyed.ok(
            produce_records("t", None, vec![Record::keyed(*key, "v")]),
            produced(expected_partition as i32, 0),
        );
    }
    keyed = keyed
        .note("The same key always goes to the same partition.")
        .ok(
            produce_records("t", None, vec![Record::keyed("foobar", "w")]),
            produced(1, 1),
        );

    let log_append = TopicConfig {
        timestamp_type: TimestampType::LogAppendTime,
        ..TopicConfig::default()
    };
    vec![
        Case::new(
            "conformance/op-create_topic-creates-empty-partitions",
            "create_topic creates the partitions 0..n, each empty: log start 0, high watermark 0.",
        )
        .ok(create("t", 3), ack())
        .ok(list("t", 2, OffsetSpec::Latest), listed(Some(0), None))
        .ok(list("t", 2, OffsetSpec::Earliest), listed(Some(0), None))
        .ok(fetch("t", 2, 0), fetched(vec![], 0, 0))
        .err(list("t", 3, OffsetSpec::Latest), ErrorCode::UnknownTopicOrPartition),
        Case::new(
            "conformance/op-delete_topic-removes-records-and-commits",
            "delete_topic removes the topic, its records and every group's committed offsets; \
             a topic created again with the same name starts from offset 0.",
        )
        .ok(create("t", 1), ack())
        .ok(produce("t", 0, &["a", "b"]), produced(0, 0))
        .ok(simple_commit("g", "t", 0, 2), ack())
        .ok(delete_topic("t"), ack())
        .err(fetch("t", 0, 0), ErrorCode::UnknownTopicOrPartition)
        .ok(create("t", 1), ack())
        .ok(fetch("t", 0, 0), fetched(vec![], 0, 0))
        .ok(committed("g", "t", 0), nothing_committed())
        .ok(produce("t", 0, &["c"]), produced(0, 0)),
        Case::new(
            "conformance/op-produce-appends-batches-at-consecutive-offsets",
            "produce appends a batch atomically at consecutive offsets from the high watermark; \
             offsets are dense from 0 per partition.",
        )
        .ok(create("t", 2), ack())
        .ok(produce("t", 1, &["a", "b", "c"]), produced(1, 0))
        .ok(produce("t", 1, &["d"]), produced(1, 3))
        .ok(produce("t", 0, &["e"]), produced(0, 0))
        .ok(
            fetch("t", 1, 0),
            fetched(
                vec![stored(0, 0, "a"), stored(1, 0, "b"), stored(2, 0, "c"), stored(3, 0, "d")],
                4,
                0,
            ),
        )
        .ok(fetch("t", 0, 0), fetched(vec![stored(0, 0, "e")], 1, 0)),
        keyed,
        Case::new(
            "conformance/op-produce-binary-key-and-headers",
            "Keys, values and header values are bytes: non-UTF-8 bytes are written \
             {\"base64\": ...}; headers (a null value counts 0) add to the record size, 16 + \
             2 + 1 + (1 + 2) + (1 + 0) = 23 bytes here, against max_message_bytes 23.",
        )
        .ok(
            create_with("t", 1, TopicConfig { max_message_bytes: 23, ..TopicConfig::default() }),
            ack(),
        )
        .ok(produce_records("t", Some(0), vec![binary_record()]), produced(0, 0))
        .ok(
            fetch("t", 0, 0),
            fetched(
                vec![StoredRecord {
                    offset: 0,
                    timestamp_ms: 0,
                    key: binary_record().key,
                    value: binary_record().value,
                    headers: binary_record().headers,
                }],
                1,
                0,
            ),
        )
        .note("Two such records are 46 bytes: too large.")
        .err(
            produce_records("t", Some(0), vec![binary_record(), binary_record()]),
            ErrorCode::MessageTooLarge,
        ),
        Case::new(
            "conformance/op-produce-keyless-any-partition",
            "produce with partition null and a keyless first record: any partition is allowed \
             (replay accepts any); the model itself picks round-robin per topic from 0.",
        )
        .ok(create("t", 3), ack())
        .ok(produce_records("t", None, vec![Record::value("a")]), produced(0, 0))
        .ok(produce_records("t", None, vec![Record::value("b")]), produced(1, 0))
        .ok(produce_records("t", None, vec![Record::value("c")]), produced(2, 0))
        .ok(produce_records("t", None, vec![Record::value("d")]), produced(0, 1)),
        Case::new(
            "conformance/op-produce-timestamps-create-time-and-log-append-time",
            "CreateTime topics keep the producer's timestamp (default: the clock); \
             LogAppendTime topics stamp every record with the clock and report it.",
        )
        .ok(create("created", 1), ack())
        .ok(create_with("appended", 1, log_append), ack())
        .ok(tick(1_000), ack())
        .ok(produce_records("created", Some(0), vec![at_time("a", 5), Record::value("b")]), produced(0, 0))
        .ok(fetch("created", 0, 0), fetched(vec![stored(0, 5, "a"), stored(1, 1_000, "b")], 2, 0))
        .ok(
            produce_records("appended", Some(0), vec![at_time("c", 5)]),
            Reply::Produced {
                partition: 0,
                base_offset: 0,
                log_append_time_ms: Some(1_000),
            },
        )
        .ok(fetch("appended", 0, 0), fetched(vec![stored(0, 1_000, "c")], 1, 0)),
        Case::new(
            "conformance/op-init_producer_id-issues-ids-and-bumps-epoch",
            "init_producer_id issues producer ids 0, 1, 2, ... with epoch 0; the same \
             transactional id keeps its producer id and bumps the epoch.",
        )
        .ok(init_producer_id(None), Reply::ProducerId { producer_id: 0, producer_epoch: 0 })
        .ok(init_producer_id(None), Reply::ProducerId { producer_id: 1, producer_epoch: 0 })
        .ok(init_producer_id(Some("tx")), Reply::ProducerId { producer_id: 2, producer_epoch: 0 })
        .ok(init_producer_id(Some("tx")), Reply::ProducerId { producer_id: 2, producer_epoch: 1 }),
        Case::new(
            "conformance/op-produce-idempotent-retry-returns-original-offsets",
            "An idempotent producer's retried batch (same producer id, epoch and sequences) \
             gets the original reply and appends nothing.",
        )
        .ok(create("t", 1), ack())
        .ok(init_producer_id(None), Reply::ProducerId { producer_id: 0, producer_epoch: 0 })
        .ok(produce_idempotent("t", 0, &["a", "b"], 0, 0, 0), produced(0, 0))
        .ok(produce_idempotent("t", 0, &["c"], 0, 0, 2), produced(0, 2))
        .note("The first batch is sent again (a retry): same offsets, nothing appended.")
        .ok(produce_idempotent("t", 0, &["a", "b"], 0, 0, 0), produced(0, 0))
        .ok(
            fetch("t", 0, 0),
            fetched(vec![stored(0, 0, "a"), stored(1, 0, "b"), stored(2, 0, "c")], 3, 0),
        ),
        Case::new(
            "conformance/op-fetch-reads-from-offset-within-limits",
            "fetch returns records from the offset, at most max_records and while the running \
             size stays within max_bytes, but always at least one; at the high watermark none. \
             Each record here is 16 + 2 = 18 bytes.",
        )
        .ok(create("t", 1), ack())
        .ok(produce("t", 0, &["v0", "v1", "v2", "v3", "v4"]), produced(0, 0))
        .ok(fetch_limited("t", 0, 1, 2, 52_428_800), fetched(vec![stored(1, 0, "v1"), stored(2, 0, "v2")], 5, 0))
        .ok(fetch_limited("t", 0, 1, 500, 40), fetched(vec![stored(1, 0, "v1"), stored(2, 0, "v2")], 5, 0))
        .ok(fetch_limited("t", 0, 3, 500, 1), fetched(vec![stored(3, 0, "v3")], 5, 0))
        .ok(fetch("t", 0, 5), fetched(vec![], 5, 0)),
        Case::new(
            "conformance/op-list_offsets-earliest-latest-timestamp-max_timestamp",
            "list_offsets: earliest is the log start, latest the high watermark, timestamp t \
             the first offset with timestamp >= t, max_timestamp the lowest offset with the \
             largest timestamp.",
        )
        .ok(create("t", 1), ack())
        .ok(
            produce_records("t", Some(0), vec![at_time("a", 10), at_time("b", 30), at_time("c", 20), at_time("d", 30)]),
            produced(0, 0),
        )
        .ok(list("t", 0, OffsetSpec::Earliest), listed(Some(0), None))
        .ok(list("t", 0, OffsetSpec::Latest), listed(Some(4), None))
        .ok(list("t", 0, OffsetSpec::Timestamp { timestamp_ms: 15 }), listed(Some(1), Some(30)))
        .ok(list("t", 0, OffsetSpec::Timestamp { timestamp_ms: 10 }), listed(Some(0), Some(10)))
        .ok(list("t", 0, OffsetSpec::Timestamp { timestamp_ms: 31 }), listed(None, None))
        .ok(list("t", 0, OffsetSpec::MaxTimestamp), listed(Some(1), Some(30)))
        .ok(delete_records("t", 0, 2), low_watermark(2))
        .ok(list("t", 0, OffsetSpec::Earliest), listed(Some(2), None))
        .ok(list("t", 0, OffsetSpec::MaxTimestamp), listed(Some(3), Some(30))),
        Case::new(
            "conformance/op-enforce_retention-by-time",
            "enforce_retention by time: the longest prefix whose records all have \
             now - timestamp > retention_ms goes (retention_ms 1000).",
        )
        .ok(create_with("t", 1, config_retention_ms(1_000)), ack())
        .ok(produce("t", 0, &["a", "b"]), produced(0, 0))
        .ok(tick(500), ack())
        .ok(produce("t", 0, &["c"]), produced(0, 2))
        .ok(tick(700), ack())
        .note("now 1200: a and b are 1200 ms old (> 1000), c is 700 ms old.")
        .ok(Op::EnforceRetention, retained(&[("t", 0, 2)]))
        .err(fetch("t", 0, 0), ErrorCode::OffsetOutOfRange)
        .ok(fetch("t", 0, 2), fetched(vec![stored(2, 500, "c")], 3, 2))
        .ok(Op::EnforceRetention, retained(&[])),
        Case::new(
            "conformance/op-enforce_retention-by-size",
            "enforce_retention by size: the log start moves to the largest k such that records \
             k.. still total >= retention_bytes (40 here; each record 17 bytes); \
             retention_bytes 0 makes every record eligible.",
        )
        .ok(create_with("t", 1, TopicConfig { retention_bytes: 40, ..TopicConfig::default() }), ack())
        .ok(create_with("u", 1, TopicConfig { retention_bytes: 0, ..TopicConfig::default() }), ack())
        .ok(produce("t", 0, &["a", "b", "c", "d", "e"]), produced(0, 0))
        .ok(produce("u", 0, &["x", "y"]), produced(0, 0))
        .note("t: records 2..5 total 51 >= 40, records 3..5 total 34 < 40, so the log start becomes 2.")
        .ok(Op::EnforceRetention, retained(&[("t", 0, 2), ("u", 0, 2)]))
        .ok(list("t", 0, OffsetSpec::Earliest), listed(Some(2), None))
        .ok(fetch("u", 0, 2), fetched(vec![], 2, 2)),
        Case::new(
            "conformance/op-delete_records-advances-log-start",
            "delete_records moves the log start to max(log start, offset); -1 means the high \
             watermark; the high watermark never moves.",
        )
        .ok(create("t", 1), ack())
        .ok(produce("t", 0, &["a", "b", "c"]), produced(0, 0))
        .ok(delete_records("t", 0, 2), low_watermark(2))
        .ok(delete_records("t", 0, 1), low_watermark(2))
        .ok(fetch("t", 0, 2), fetched(vec![stored(2, 0, "c")], 3, 2))
        .ok(delete_records("t", 0, -1), low_watermark(3))
        .ok(fetch("t", 0, 3), fetched(vec![], 3, 3)),
        Case::new(
            "conformance/op-tick-advances-clock-and-expires-sessions",
            "tick advances the logical clock; a member silent for more than its session \
             timeout is removed and its group starts one new generation, however many expired.",
        )
        .ok(create("t", 1), ack())
        .ok(join_with("g", "m", &["t"], Assignor::Range, 6_000, OffsetReset::Earliest), joined(1, &[("t", 0)]))
        .ok(
            join_with("h", "x", &["t"], Assignor::Range, 6_000, OffsetReset::Earliest),
            joined(1, &[("t", 0)]),
        )
        .ok(
            join_with("h", "y", &["t"], Assignor::Range, 6_000, OffsetReset::Earliest),
            joined(2, &[]),
        )
        .ok(tick(6_000), ack())
        .note("Silent for exactly 6000 ms: not more than the timeout, still a member.")
        .ok(describe("g"), group(1, vec![member("m", &["t"], &[("t", 0)])]))
        .ok(tick(1), ack())
        .ok(describe("g"), group(2, vec![]))
        .note("Both members of h expired in the same tick: one new generation, not two.")
        .ok(describe("h"), group(3, vec![]))
        .err(heartbeat("g", "m", 1), ErrorCode::UnknownMemberId)
        .ok(produce("t", 0, &["stamped"]), produced(0, 0))
        .ok(fetch("t", 0, 0), fetched(vec![stored(0, 6_001, "stamped")], 1, 0)),
        Case::new(
            "conformance/op-join_group-range-assignor",
            "join_group with the range assignor, Kafka's documented example: topics t0 and t1 \
             with 3 partitions, members C0 and C1 get C0 [t0-0, t0-1, t1-0, t1-1], C1 [t0-2, t1-2]; \
             each membership change starts a new generation.",
        )
        .ok(create("t0", 3), ack())
        .ok(create("t1", 3), ack())
        .ok(
            join("g", "C0", &["t0", "t1"]),
            joined(1, &[("t0", 0), ("t0", 1), ("t0", 2), ("t1", 0), ("t1", 1), ("t1", 2)]),
        )
        .ok(join("g", "C1", &["t0", "t1"]), joined(2, &[("t0", 2), ("t1", 2)]))
        .note("C0 rejoins with the same subscription: no new generation, it learns generation 2.")
        .ok(join("g", "C0", &["t0", "t1"]), joined(2, &[("t0", 0), ("t0", 1), ("t1", 0), ("t1", 1)])),
        Case::new(
            "conformance/op-join_group-round_robin-assignor",
            "join_group with the round_robin assignor, Kafka's documented example: topics t0 \
             and t1 with 3 partitions, members C0 and C1 get C0 [t0-0, t0-2, t1-1], \
             C1 [t0-1, t1-0, t1-2].",
        )
        .ok(create("t0", 3), ack())
        .ok(create("t1", 3), ack())
        .ok(
            join_with("g", "C0", &["t0", "t1"], Assignor::RoundRobin, 45_000, OffsetReset::Earliest),
            joined(1, &[("t0", 0), ("t0", 1), ("t0", 2), ("t1", 0), ("t1", 1), ("t1", 2)]),
        )
        .ok(
            join_with("g", "C1", &["t0", "t1"], Assignor::RoundRobin, 45_000, OffsetReset::Earliest),
            joined(2, &[("t0", 1), ("t1", 0), ("t1", 2)]),
        )
        .ok(
            join_with("g", "C0", &["t0", "t1"], Assignor::RoundRobin, 45_000, OffsetReset::Earliest),
            joined(2, &[("t0", 0), ("t0", 2), ("t1", 1)]),
        ),
        Case::new(
            "conformance/op-leave_group-removes-member-and-rebalances",
            "leave_group removes the member and starts a new generation; the remaining member \
             gets every partition; leaving twice is unknown_member_id.",
        )
        .ok(create("t", 2), ack())
        .ok(join("g", "a", &["t"]), joined(1, &[("t", 0), ("t", 1)]))
        .ok(join("g", "b", &["t"]), joined(2, &[("t", 1)]))
        .ok(leave("g", "b"), ack())
        .ok(describe("g"), group(3, vec![member("a", &["t"], &[("t", 0), ("t", 1)])]))
        .err(leave("g", "b"), ErrorCode::UnknownMemberId),
        Case::new(
            "conformance/op-heartbeat-current-older-and-other-generations",
            "heartbeat with the current generation is ack; with an older one \
             rebalance_in_progress; with any other illegal_generation.",
        )
        .ok(create("t", 1), ack())
        .ok(join("g", "a", &["t"]), joined(1, &[("t", 0)]))
        .ok(heartbeat("g", "a", 1), ack())
        .ok(join("g", "b", &["t"]), joined(2, &[]))
        .err(heartbeat("g", "a", 1), ErrorCode::RebalanceInProgress)
        .err(heartbeat("g", "a", 3), ErrorCode::IllegalGeneration)
        .ok(heartbeat("g", "a", 2), ack()),
        Case::new(
            "conformance/op-committed-reads-offset-and-metadata",
            "committed reads a group's committed offset and metadata for a partition; null when \
             nothing is committed or the group does not exist; lag = high watermark - committed.",
        )
        .ok(create("t", 1), ack())
        .ok(committed("nobody", "t", 0), nothing_committed())
        .ok(produce("t", 0, &["a", "b", "c"]), produced(0, 0))
        .ok(commit_with_metadata("g", None, -1, "t", 0, 1, "after a"), ack())
        .note("Lag: high watermark 3 - committed 1 = 2 records still to process.")
        .ok(committed("g", "t", 0), committed_offset(1, "after a"))
        .ok(list("t", 0, OffsetSpec::Latest), listed(Some(3), None)),
        Case::new(
            "conformance/op-commit-stores-next-offset-and-metadata",
            "commit stores the next offset to read and its metadata; committed reads them back; \
             nothing committed reads as null.",
        )
        .ok(create("t", 1), ack())
        .ok(produce("t", 0, &["a", "b"]), produced(0, 0))
        .ok(join("g", "a", &["t"]), joined(1, &[("t", 0)]))
        .ok(committed("g", "t", 0), nothing_committed())
        .ok(commit_with_metadata("g", Some("a"), 1, "t", 0, 1, "processed a"), ack())
        .ok(committed("g", "t", 0), committed_offset(1, "processed a"))
        .ok(committed("other", "t", 0), nothing_committed())
        .note("A simple commit (no member, generation -1) to a group without members is accepted.")
        .ok(simple_commit("assign-mode", "t", 0, 2), ack())
        .ok(committed("assign-mode", "t", 0), committed_offset(2, "")),
        Case::new(
            "conformance/op-poll-reads-assigned-partitions-in-order",
            "poll reads the member's partitions in (topic, partition) order from its positions, \
             at most max_records in all, and advances the positions.",
        )
        .ok(create("t", 2), ack())
        .ok(create("s", 1), ack())
        .ok(produce("t", 0, &["a", "b"]), produced(0, 0))
        .ok(produce("t", 1, &["c"]), produced(1, 0))
        .ok(produce("s", 0, &["z"]), produced(0, 0))
        .ok(
            join("g", "m", &["t", "s"]),
            joined(1, &[("s", 0), ("t", 0), ("t", 1)]),
        )
        .note("Topic s sorts before t: s-0 first, then t-0, t-1; two records in all.")
        .ok(
            poll_limited("g", "m", 1, 2),
            polled(vec![polled_record("s", 0, 0, 0, "z"), polled_record("t", 0, 0, 0, "a")]),
        )
        .ok(
            poll("g", "m", 1),
            polled(vec![polled_record("t", 0, 1, 0, "b"), polled_record("t", 1, 0, 0, "c")]),
        )
        .ok(poll("g", "m", 1), polled(vec![])),
        Case::new(
            "conformance/op-poll-starts-at-committed-else-auto_offset_reset",
            "A member's position starts at the group's committed offset, else by \
             auto_offset_reset: latest is the high watermark, earliest the log start.",
        )
        .ok(create("t", 1), ack())
        .ok(produce("t", 0, &["a", "b"]), produced(0, 0))
        .ok(join_with("latest", "m", &["t"], Assignor::Range, 45_000, OffsetReset::Latest), joined(1, &[("t", 0)]))
        .ok(poll("latest", "m", 1), polled(vec![]))
        .ok(produce("t", 0, &["c"]), produced(0, 2))
        .ok(poll("latest", "m", 1), polled(vec![polled_record("t", 0, 2, 0, "c")]))
        .ok(simple_commit("resumes", "t", 0, 1), ack())
        .ok(join_with("resumes", "m", &["t"], Assignor::Range, 45_000, OffsetReset::None), joined(1, &[("t", 0)]))
        .ok(
            poll("resumes", "m", 1),
            polled(vec![polled_record("t", 0, 1, 0, "b"), polled_record("t", 0, 2, 0, "c")]),
        ),
        Case::new(
            "conformance/op-describe_group-members-and-assignment",
            "describe_group shows the generation and the members sorted by id with their \
             subscriptions and assignments; an unknown group is generation 0 with no members.",
        )
        .ok(describe("g"), group(0, vec![]))
        .ok(create("a", 1), ack())
        .ok(create("b", 1), ack())
        .ok(join("g", "m2", &["b", "a"]), joined(1, &[("a", 0), ("b", 0)]))
        .note("Range, per topic: a has members m1, m2 and one partition, so m1 (first by id) gets it.")
        .ok(join("g", "m1", &["a"]), joined(2, &[("a", 0)]))
        .ok(
            describe("g"),
            group(
                2,
                vec![member("m1", &["a"], &[("a", 0)]), member("m2", &["a", "b"], &[("b", 0)])],
            ),
        ),
    ]
}

/// At least one trace per error name the model can return.
pub fn error_cases() -> Vec<Case> {
    let mut policy_violation = Case::new(
        "conformance/error-policy_violation-create-more-than-topics_count_max",
        "policy_violation: creating a topic when TOPICS_COUNT_MAX (1024) topics exist.",
    );
    for index in 0..TOPICS_COUNT_MAX {
        policy_violation = policy_violation.ok(create(&format!("t{index}"), 1), ack());
    }
    policy_violation = policy_violation
        .err(create("one-too-many", 1), ErrorCode::PolicyViolation)
        .note("Deleting one makes room again.")
        .ok(delete_topic("t0"), ack())
        .ok(create("one-too-many", 1), ack());

    let mut group_full = Case::new(
        "conformance/error-group_max_size_reached-join-full-group",
        "group_max_size_reached: a new member joining a group that has GROUP_MEMBERS_MAX (64) \
         members; a known member may still rejoin.",
    )
    .ok(create("t", 1), ack());
    for index in 0..GROUP_MEMBERS_MAX {
        group_full = group_full.op(join("g", &format!("m{index:02}"), &["t"]));
    }
    group_full = group_full
        .err(join("g", "m64", &["t"]), ErrorCode::GroupMaxSizeReached)
        .ok(
            join("g", "m00", &["t"]),
            joined(GROUP_MEMBERS_MAX as i32, &[("t", 0)]),
        );

    let too_many_records: Vec<Record> =
        (0..=BATCH_RECORDS_MAX).map(|_| Record::default()).collect();
    let long_metadata = "m".repeat(OFFSET_METADATA_BYTES_MAX + 1);
    let longest_metadata = "m".repeat(OFFSET_METADATA_BYTES_MAX);

    vec![
        Case::new(
            "conformance/error-unknown_topic_or_partition-missing-topic-or-partition",
            "unknown_topic_or_partition: ops on a topic that does not exist, or a partition \
             outside 0..partitions.",
        )
        .err(fetch("missing", 0, 0), ErrorCode::UnknownTopicOrPartition)
        .err(produce("missing", 0, &["a"]), ErrorCode::UnknownTopicOrPartition)
        .err(delete_topic("missing"), ErrorCode::UnknownTopicOrPartition)
        .ok(create("t", 2), ack())
        .err(produce("t", 2, &["a"]), ErrorCode::UnknownTopicOrPartition)
        .err(produce("t", -1, &["a"]), ErrorCode::UnknownTopicOrPartition)
        .err(fetch("t", 2, 0), ErrorCode::UnknownTopicOrPartition)
        .err(list("t", 5, OffsetSpec::Earliest), ErrorCode::UnknownTopicOrPartition)
        .err(delete_records("t", 2, 0), ErrorCode::UnknownTopicOrPartition)
        .err(committed("g", "t", 2), ErrorCode::UnknownTopicOrPartition)
        .err(simple_commit("g", "t", 2, 0), ErrorCode::UnknownTopicOrPartition),
        Case::new(
            "conformance/error-invalid_topic_exception-illegal-topic-names",
            "invalid_topic_exception: topic names must be 1..=249 of [a-zA-Z0-9._-] and not . or ..",
        )
        .err(create("", 1), ErrorCode::InvalidTopicException)
        .err(create(".", 1), ErrorCode::InvalidTopicException)
        .err(create("..", 1), ErrorCode::InvalidTopicException)
        .err(create("bad name", 1), ErrorCode::InvalidTopicException)
        .err(create("bad/name", 1), ErrorCode::InvalidTopicException)
        .err(create(&"x".repeat(250), 1), ErrorCode::InvalidTopicException)
        .ok(create(&"x".repeat(249), 1), ack())
        .ok(create("ok.name_with-all-1", 1), ack())
        .note("Joining with an illegal topic name in the subscription is refused the same way.")
        .err(join("g", "m", &["bad name"]), ErrorCode::InvalidTopicException),
        Case::new(
            "conformance/error-topic_already_exists-create-twice",
            "topic_already_exists: creating a topic whose name exists, whatever the partition count.",
        )
        .ok(create("t", 1), ack())
        .err(create("t", 1), ErrorCode::TopicAlreadyExists)
        .err(create("t", 4), ErrorCode::TopicAlreadyExists),
        Case::new(
            "conformance/error-invalid_partitions-count-out-of-range",
            "invalid_partitions: a partition count outside 1..=PARTITIONS_PER_TOPIC_MAX (1024).",
        )
        .err(create("t", 0), ErrorCode::InvalidPartitions)
        .err(create("t", -1), ErrorCode::InvalidPartitions)
        .err(create("t", 1_025), ErrorCode::InvalidPartitions)
        .ok(create("t", 1_024), ack()),
        Case::new(
            "conformance/error-invalid_config-out-of-range-values",
            "invalid_config: retention_ms < -1, retention_bytes < -1, or max_message_bytes \
             outside 1..=64 MiB.",
        )
        .err(create_with("t", 1, config_retention_ms(-2)), ErrorCode::InvalidConfig)
        .err(create_with("t", 1, TopicConfig { retention_bytes: -2, ..TopicConfig::default() }), ErrorCode::InvalidConfig)
        .err(create_with("t", 1, TopicConfig { max_message_bytes: 0, ..TopicConfig::default() }), ErrorCode::InvalidConfig)
        .err(create_with("t", 1, TopicConfig { max_message_bytes: (64 << 20) + 1, ..TopicConfig::default() }), ErrorCode::InvalidConfig)
        .ok(create_with("t", 1, config_retention_ms(-1)), ack()),
        Case::new(
            "conformance/error-message_too_large-batch-over-max_message_bytes",
            "message_too_large: a batch whose size (16 bytes per record plus key, value and \
             headers) exceeds the topic's max_message_bytes (34 here).",
        )
        .ok(create_with("t", 1, TopicConfig { max_message_bytes: 34, ..TopicConfig::default() }), ack())
        .note("Two 17-byte records: 34 bytes, allowed.")
        .ok(produce("t", 0, &["a", "b"]), produced(0, 0))
        .note("One 35-byte record, then three 17-byte records (51 bytes): refused, nothing appended.")
        .err(produce("t", 0, &["0123456789abcdefghi"]), ErrorCode::MessageTooLarge)
        .err(produce("t", 0, &["a", "b", "c"]), ErrorCode::MessageTooLarge)
        .ok(list("t", 0, OffsetSpec::Latest), listed(Some(2), None)),
        Case::new(
            "conformance/error-record_list_too_large-batch-over-batch_records_max",
            "record_list_too_large: a batch of BATCH_RECORDS_MAX + 1 (10001) records; an empty \
             batch is invalid_request.",
        )
        .ok(create("t", 1), ack())
        .err(produce_records("t", Some(0), too_many_records), ErrorCode::RecordListTooLarge)
        .err(produce_records("t", Some(0), vec![]), ErrorCode::InvalidRequest)
        .ok(list("t", 0, OffsetSpec::Latest), listed(Some(0), None)),
        Case::new(
            "conformance/error-offset_out_of_range-fetch-above-high-watermark",
            "offset_out_of_range: fetching above the high watermark or below the log start, and \
             delete_records beyond the high watermark. Fetching at the high watermark is fine.",
        )
        .ok(create("t", 1), ack())
        .ok(produce("t", 0, &["a", "b"]), produced(0, 0))
        .ok(fetch("t", 0, 2), fetched(vec![], 2, 0))
        .err(fetch("t", 0, 3), ErrorCode::OffsetOutOfRange)
        .err(fetch("t", 0, -1), ErrorCode::OffsetOutOfRange)
        .err(delete_records("t", 0, 3), ErrorCode::OffsetOutOfRange)
        .err(delete_records("t", 0, -2), ErrorCode::OffsetOutOfRange)
        .ok(delete_records("t", 0, 1), low_watermark(1))
        .err(fetch("t", 0, 0), ErrorCode::OffsetOutOfRange),
        Case::new(
            "conformance/error-out_of_order_sequence_number-sequence-gap",
            "out_of_order_sequence_number: an idempotent batch whose base sequence is not the \
             last sequence + 1 (or not 0 for a new producer and partition).",
        )
        .ok(create("t", 1), ack())
        .ok(init_producer_id(None), Reply::ProducerId { producer_id: 0, producer_epoch: 0 })
        .err(produce_idempotent("t", 0, &["a"], 0, 0, 1), ErrorCode::OutOfOrderSequenceNumber)
        .ok(produce_idempotent("t", 0, &["a", "b"], 0, 0, 0), produced(0, 0))
        .err(produce_idempotent("t", 0, &["c"], 0, 0, 3), ErrorCode::OutOfOrderSequenceNumber)
        .ok(produce_idempotent("t", 0, &["c"], 0, 0, 2), produced(0, 2)),
        Case::new(
            "conformance/error-invalid_producer_epoch-fenced-epoch",
            "invalid_producer_epoch: after init_producer_id with the same transactional id bumps \
             the epoch, the old epoch is fenced.",
        )
        .ok(create("t", 1), ack())
        .ok(init_producer_id(Some("tx")), Reply::ProducerId { producer_id: 0, producer_epoch: 0 })
        .ok(produce_idempotent("t", 0, &["a"], 0, 0, 0), produced(0, 0))
        .ok(init_producer_id(Some("tx")), Reply::ProducerId { producer_id: 0, producer_epoch: 1 })
        .err(produce_idempotent("t", 0, &["b"], 0, 0, 1), ErrorCode::InvalidProducerEpoch)
        .note("The new epoch starts its sequences from 0 again.")
        .ok(produce_idempotent("t", 0, &["b"], 0, 1, 0), produced(0, 1)),
        Case::new(
            "conformance/error-unknown_producer_id-never-issued",
            "unknown_producer_id: an idempotent batch naming a producer id never issued.",
        )
        .ok(create("t", 1), ack())
        .err(produce_idempotent("t", 0, &["a"], 7, 0, 0), ErrorCode::UnknownProducerId)
        .ok(init_producer_id(None), Reply::ProducerId { producer_id: 0, producer_epoch: 0 })
        .err(produce_idempotent("t", 0, &["a"], 1, 0, 0), ErrorCode::UnknownProducerId),
        Case::new(
            "conformance/error-invalid_group_id-empty-or-too-long",
            "invalid_group_id: a group id that is empty or longer than 255 bytes.",
        )
        .ok(create("t", 1), ack())
        .err(join("", "m", &["t"]), ErrorCode::InvalidGroupId)
        .err(join(&"g".repeat(256), "m", &["t"]), ErrorCode::InvalidGroupId)
        .err(simple_commit("", "t", 0, 0), ErrorCode::InvalidGroupId)
        .err(committed("", "t", 0), ErrorCode::InvalidGroupId)
        .err(describe(""), ErrorCode::InvalidGroupId)
        .ok(join(&"g".repeat(255), "m", &["t"]), joined(1, &[("t", 0)])),
        Case::new(
            "conformance/error-unknown_member_id-not-a-member",
            "unknown_member_id: heartbeat, poll, commit or leave by a member that is not in the \
             group; a simple commit to a group that has members.",
        )
        .ok(create("t", 1), ack())
        .err(heartbeat("g", "m", 0), ErrorCode::UnknownMemberId)
        .ok(join("g", "m", &["t"]), joined(1, &[("t", 0)]))
        .err(poll("g", "stranger", 1), ErrorCode::UnknownMemberId)
        .err(commit("g", "stranger", 1, "t", 0, 1), ErrorCode::UnknownMemberId)
        .err(leave("g", "stranger"), ErrorCode::UnknownMemberId)
        .err(simple_commit("g", "t", 0, 1), ErrorCode::UnknownMemberId)
        .ok(committed("g", "t", 0), nothing_committed()),
        Case::new(
            "conformance/error-illegal_generation-commit-from-other-generation",
            "illegal_generation: a member's commit with a generation other than the current one \
             (a zombie commit never takes effect); a simple commit with a generation other than -1.",
        )
        .ok(create("t", 1), ack())
        .ok(join("g", "a", &["t"]), joined(1, &[("t", 0)]))
        .err(commit("g", "a", 2, "t", 0, 1), ErrorCode::IllegalGeneration)
        .ok(join("g", "b", &["t"]), joined(2, &[]))
        .err(commit("g", "a", 1, "t", 0, 1), ErrorCode::IllegalGeneration)
        .ok(committed("g", "t", 0), nothing_committed())
        .err(commit_with_metadata("empty", None, 0, "t", 0, 1, ""), ErrorCode::IllegalGeneration)
        .err(poll("g", "a", 5), ErrorCode::IllegalGeneration),
        Case::new(
            "conformance/error-rebalance_in_progress-poll-with-older-generation",
            "rebalance_in_progress: poll or heartbeat with a generation older than the current \
             one; the member must rejoin.",
        )
        .ok(create("t", 1), ack())
        .ok(join("g", "a", &["t"]), joined(1, &[("t", 0)]))
        .ok(join("g", "b", &["t"]), joined(2, &[]))
        .err(poll("g", "a", 1), ErrorCode::RebalanceInProgress)
        .err(heartbeat("g", "a", 1), ErrorCode::RebalanceInProgress)
        .ok(join("g", "a", &["t"]), joined(2, &[("t", 0)]))
        .ok(poll("g", "a", 2), polled(vec![])),
        Case::new(
            "conformance/error-inconsistent_group_protocol-assignor-differs",
            "inconsistent_group_protocol: joining with an assignor other than the one the \
             group's members use.",
        )
        .ok(create("t", 1), ack())
        .ok(join("g", "a", &["t"]), joined(1, &[("t", 0)]))
        .err(
            join_with("g", "b", &["t"], Assignor::RoundRobin, 45_000, OffsetReset::Earliest),
            ErrorCode::InconsistentGroupProtocol,
        )
        .ok(leave("g", "a"), ack())
        .note("With no members left, any assignor may start the group again.")
        .ok(
            join_with("g", "b", &["t"], Assignor::RoundRobin, 45_000, OffsetReset::Earliest),
            joined(3, &[("t", 0)]),
        ),
        Case::new(
            "conformance/error-invalid_session_timeout-out-of-range",
            "invalid_session_timeout: a session timeout outside 6000..=1800000 ms.",
        )
        .ok(create("t", 1), ack())
        .err(
            join_with("g", "m", &["t"], Assignor::Range, SESSION_TIMEOUT_MS_MIN - 1, OffsetReset::Earliest),
            ErrorCode::InvalidSessionTimeout,
        )
        .err(
            join_with("g", "m", &["t"], Assignor::Range, 1_800_001, OffsetReset::Earliest),
            ErrorCode::InvalidSessionTimeout,
        )
        .ok(
            join_with("g", "m", &["t"], Assignor::Range, 1_800_000, OffsetReset::Earliest),
            joined(1, &[("t", 0)]),
        ),
        group_full,
        Case::new(
            "conformance/error-offset_metadata_too_large-commit-metadata-over-limit",
            "offset_metadata_too_large: commit metadata longer than OFFSET_METADATA_BYTES_MAX \
             (4096 bytes); exactly 4096 is fine.",
        )
        .ok(create("t", 1), ack())
        .err(commit_with_metadata("g", None, -1, "t", 0, 1, &long_metadata), ErrorCode::OffsetMetadataTooLarge)
        .ok(committed("g", "t", 0), nothing_committed())
        .ok(commit_with_metadata("g", None, -1, "t", 0, 1, &longest_metadata), ack()),
        Case::new(
            "conformance/error-invalid_request-malformed-counts",
            "invalid_request: an empty batch, max_records 0 or over FETCH_RECORDS_MAX, a tick over \
             TICK_MS_MAX, a negative timestamp, a negative commit offset, an empty subscription, \
             an empty member id or transactional id.",
        )
        .ok(create("t", 1), ack())
        .err(produce_records("t", Some(0), vec![]), ErrorCode::InvalidRequest)
        .err(produce_records("t", Some(0), vec![at_time("a", -5)]), ErrorCode::InvalidRequest)
        .err(fetch_limited("t", 0, 0, 0, 100), ErrorCode::InvalidRequest)
        .err(fetch_limited("t", 0, 0, 100_001, 100), ErrorCode::InvalidRequest)
        .err(tick(TICK_MS_MAX + 1), ErrorCode::InvalidRequest)
        .err(list("t", 0, OffsetSpec::Timestamp { timestamp_ms: -1 }), ErrorCode::InvalidRequest)
        .err(simple_commit("g", "t", 0, -1), ErrorCode::InvalidRequest)
        .err(join("g", "", &["t"]), ErrorCode::InvalidRequest)
        .err(join("g", "m", &[]), ErrorCode::InvalidRequest)
        .err(init_producer_id(Some("")), ErrorCode::InvalidRequest)
        .ok(join("g", "m", &["t"]), joined(1, &[("t", 0)]))
        .err(poll_limited("g", "m", 1, 0), ErrorCode::InvalidRequest)
        .ok(tick(TICK_MS_MAX), ack()),
        policy_violation,
        Case::new(
            "conformance/error-no_offset_for_partition-reset-none-without-commit",
            "no_offset_for_partition (client-side): polling a partition with no committed offset \
             when auto_offset_reset is none; the whole poll is refused.",
        )
        .ok(create("t", 2), ack())
        .ok(produce("t", 0, &["a"]), produced(0, 0))
        .ok(join_with("g", "m", &["t"], Assignor::Range, 45_000, OffsetReset::None), joined(1, &[("t", 0), ("t", 1)]))
        .err(poll("g", "m", 1), ErrorCode::NoOffsetForPartition)
        .ok(commit("g", "m", 1, "t", 0, 0), ack())
        .note("t-1 still has no committed offset: still refused.")
        .err(poll("g", "m", 1), ErrorCode::NoOffsetForPartition)
        .ok(commit("g", "m", 1, "t", 1, 0), ack())
        .ok(poll("g", "m", 1), polled(vec![polled_record("t", 0, 0, 0, "a")])),
    ]
}

/// At least one trace per invariant of docs/model.md.
pub fn invariant_cases() -> Vec<Case> {
    vec![
        Case::new(
            "conformance/invariant-offsets_dense",
            "offsets_dense: a partition's retained records are exactly the offsets \
             log_start_offset..high_watermark, in order, across batches and after the log \
             start moves.",
        )
        .ok(create("t", 2), ack())
        .ok(produce("t", 0, &["a", "b"]), produced(0, 0))
        .ok(produce("t", 1, &["x"]), produced(1, 0))
        .ok(produce("t", 0, &["c"]), produced(0, 2))
        .ok(produce("t", 0, &["d", "e"]), produced(0, 3))
        .ok(
            fetch("t", 0, 0),
            fetched(
                vec![stored(0, 0, "a"), stored(1, 0, "b"), stored(2, 0, "c"), stored(3, 0, "d"), stored(4, 0, "e")],
                5,
                0,
            ),
        )
        .ok(delete_records("t", 0, 2), low_watermark(2))
        .ok(fetch("t", 0, 2), fetched(vec![stored(2, 0, "c"), stored(3, 0, "d"), stored(4, 0, "e")], 5, 2))
        .ok(produce("t", 0, &["f"]), produced(0, 5)),
        Case::new(
            "conformance/invariant-log_start_within_high_watermark",
            "log_start_within_high_watermark: 0 <= log start <= high watermark; the log start \
             can reach the high watermark but never pass it.",
        )
        .ok(create("t", 1), ack())
        .ok(produce("t", 0, &["a", "b"]), produced(0, 0))
        .err(delete_records("t", 0, 3), ErrorCode::OffsetOutOfRange)
        .ok(delete_records("t", 0, -1), low_watermark(2))
        .ok(list("t", 0, OffsetSpec::Earliest), listed(Some(2), None))
        .ok(list("t", 0, OffsetSpec::Latest), listed(Some(2), None))
        .ok(fetch("t", 0, 2), fetched(vec![], 2, 2)),
        Case::new(
            "conformance/invariant-refused_ops_change_nothing",
            "refused_ops_change_nothing: an op answered with an error leaves the state as it \
             was: no record appended, no log start moved, no generation started, no commit \
             stored, no sequence consumed, and the keyless round-robin counter not advanced.",
        )
        .ok(create("t", 2), ack())
        .ok(
            create_with("s", 1, TopicConfig { max_message_bytes: 20, ..TopicConfig::default() }),
            ack(),
        )
        .err(produce("s", 0, &["0123456789"]), ErrorCode::MessageTooLarge)
        .ok(list("s", 0, OffsetSpec::Latest), listed(Some(0), None))
        .note("A refused keyless batch does not move the round-robin counter: the next goes to 0.")
        .err(
            produce_records("t", None, vec![at_time("x", -1)]),
            ErrorCode::InvalidRequest,
        )
        .ok(produce_records("t", None, vec![Record::value("a")]), produced(0, 0))
        .ok(produce_records("t", None, vec![Record::value("b")]), produced(1, 0))
        .err(delete_records("t", 0, 5), ErrorCode::OffsetOutOfRange)
        .ok(list("t", 0, OffsetSpec::Earliest), listed(Some(0), None))
        .ok(join("g", "a", &["t"]), joined(1, &[("t", 0), ("t", 1)]))
        .err(
            join_with("g", "b", &["t"], Assignor::RoundRobin, 45_000, OffsetReset::Earliest),
            ErrorCode::InconsistentGroupProtocol,
        )
        .ok(describe("g"), group(1, vec![member("a", &["t"], &[("t", 0), ("t", 1)])]))
        .err(commit("g", "a", 2, "t", 0, 1), ErrorCode::IllegalGeneration)
        .ok(committed("g", "t", 0), nothing_committed())
        .ok(init_producer_id(None), Reply::ProducerId { producer_id: 0, producer_epoch: 0 })
        .err(produce_idempotent("t", 0, &["c"], 0, 0, 1), ErrorCode::OutOfOrderSequenceNumber)
        .ok(produce_idempotent("t", 0, &["c"], 0, 0, 0), produced(0, 1))
        .err(poll_limited("g", "a", 1, 0), ErrorCode::InvalidRequest)
        .ok(
            poll("g", "a", 1),
            polled(vec![
                polled_record("t", 0, 0, 0, "a"),
                polled_record("t", 0, 1, 0, "c"),
                polled_record("t", 1, 0, 0, "b"),
            ]),
        ),
        Case::new(
            "conformance/invariant-offsets_monotonic",
            "offsets_monotonic: neither the log start nor the high watermark ever decreases; a \
             delete_records to a lower offset keeps the log start, retention never lowers it.",
        )
        .ok(create_with("t", 1, TopicConfig { retention_bytes: 0, ..TopicConfig::default() }), ack())
        .ok(produce("t", 0, &["a", "b", "c", "d"]), produced(0, 0))
        .ok(delete_records("t", 0, 3), low_watermark(3))
        .ok(delete_records("t", 0, 1), low_watermark(3))
        .ok(list("t", 0, OffsetSpec::Earliest), listed(Some(3), None))
        .ok(Op::EnforceRetention, retained(&[("t", 0, 4)]))
        .ok(Op::EnforceRetention, retained(&[]))
        .ok(delete_records("t", 0, 0), low_watermark(4))
        .ok(list("t", 0, OffsetSpec::Latest), listed(Some(4), None))
        .ok(produce("t", 0, &["e"]), produced(0, 4))
        .ok(list("t", 0, OffsetSpec::Latest), listed(Some(5), None)),
        Case::new(
            "conformance/invariant-records_immutable",
            "records_immutable: the record at an offset never changes while it is retained: \
             not by later batches, an idempotent retry, retention of earlier records, or time.",
        )
        .ok(create("t", 1), ack())
        .ok(init_producer_id(None), Reply::ProducerId { producer_id: 0, producer_epoch: 0 })
        .ok(produce_idempotent("t", 0, &["a", "b"], 0, 0, 0), produced(0, 0))
        .ok(fetch_limited("t", 0, 1, 1, 52_428_800), fetched(vec![stored(1, 0, "b")], 2, 0))
        .ok(tick(100), ack())
        .ok(produce("t", 0, &["c"]), produced(0, 2))
        .note("A retry carrying different values is still a duplicate: it appends and overwrites nothing.")
        .ok(produce_idempotent("t", 0, &["A", "B"], 0, 0, 0), produced(0, 0))
        .ok(delete_records("t", 0, 1), low_watermark(1))
        .ok(fetch_limited("t", 0, 1, 1, 52_428_800), fetched(vec![stored(1, 0, "b")], 3, 1))
        .ok(fetch("t", 0, 2), fetched(vec![stored(2, 100, "c")], 3, 1)),
        Case::new(
            "conformance/invariant-retention_removes_only_eligible_prefix",
            "retention_removes_only_eligible_prefix: time retention removes only the prefix in \
             which every record has expired; an expired record behind an unexpired one stays \
             (retention_ms 1000).",
        )
        .ok(create_with("t", 1, config_retention_ms(1_000)), ack())
        .ok(
            produce_records("t", Some(0), vec![at_time("late", 10_000), at_time("old", 0), at_time("older", 0)]),
            produced(0, 0),
        )
        .ok(tick(5_000), ack())
        .note("now 5000: offsets 1 and 2 have expired but offset 0 (timestamp 10000) has not, so nothing goes.")
        .ok(Op::EnforceRetention, retained(&[]))
        .ok(
            fetch("t", 0, 0),
            fetched(vec![stored(0, 10_000, "late"), stored(1, 0, "old"), stored(2, 0, "older")], 3, 0),
        )
        .ok(tick(6_001), ack())
        .note("now 11001: 11001 - 10000 > 1000, every record has expired.")
        .ok(Op::EnforceRetention, retained(&[("t", 0, 3)])),
        Case::new(
            "conformance/invariant-one_owner_per_partition",
            "one_owner_per_partition: in every generation each partition of each subscribed \
             topic has exactly one owner: range over 5 partitions and 3 members gives \
             [0, 1], [2, 3], [4]; after a leave, [0, 1, 2], [3, 4].",
        )
        .ok(create("t", 5), ack())
        .op(join("g", "a", &["t"]))
        .op(join("g", "b", &["t"]))
        .ok(join("g", "c", &["t"]), joined(3, &[("t", 4)]))
        .ok(join("g", "a", &["t"]), joined(3, &[("t", 0), ("t", 1)]))
        .ok(join("g", "b", &["t"]), joined(3, &[("t", 2), ("t", 3)]))
        .ok(
            describe("g"),
            group(
                3,
                vec![
                    member("a", &["t"], &[("t", 0), ("t", 1)]),
                    member("b", &["t"], &[("t", 2), ("t", 3)]),
                    member("c", &["t"], &[("t", 4)]),
                ],
            ),
        )
        .ok(leave("g", "b"), ack())
        .ok(
            describe("g"),
            group(
                4,
                vec![member("a", &["t"], &[("t", 0), ("t", 1), ("t", 2)]), member("c", &["t"], &[("t", 3), ("t", 4)])],
            ),
        ),
        Case::new(
            "conformance/invariant-commits_only_from_current_generation",
            "commits_only_from_current_generation: a committed offset changes only through a \
             commit from the current generation (or a simple commit to an empty group); stale \
             and foreign commits leave it as it was.",
        )
        .ok(create("t", 1), ack())
        .ok(join("g", "a", &["t"]), joined(1, &[("t", 0)]))
        .ok(commit("g", "a", 1, "t", 0, 1), ack())
        .ok(join("g", "b", &["t"]), joined(2, &[]))
        .err(commit("g", "a", 1, "t", 0, 5), ErrorCode::IllegalGeneration)
        .err(simple_commit("g", "t", 0, 5), ErrorCode::UnknownMemberId)
        .ok(committed("g", "t", 0), committed_offset(1, ""))
        .ok(join("g", "a", &["t"]), joined(2, &[("t", 0)]))
        .ok(commit("g", "a", 2, "t", 0, 2), ack())
        .ok(committed("g", "t", 0), committed_offset(2, ""))
        .ok(leave("g", "a"), ack())
        .ok(leave("g", "b"), ack())
        .note("The group is empty now: a simple commit is accepted, as in Kafka.")
        .ok(simple_commit("g", "t", 0, 3), ack())
        .ok(committed("g", "t", 0), committed_offset(3, "")),
        Case::new(
            "conformance/invariant-generation_monotonic",
            "generation_monotonic: a group's generation only grows, by one per membership or \
             subscribed-topic change: join, join, resubscribe, create and delete of a \
             subscribed topic, leave, session expiry.",
        )
        .ok(create("t", 1), ack())
        .ok(join("g", "a", &["t"]), joined(1, &[("t", 0)]))
        .ok(join("g", "b", &["t"]), joined(2, &[]))
        .ok(join("g", "b", &["t", "u"]), joined(3, &[]))
        .ok(create("u", 1), ack())
        .ok(describe("g"), group(4, vec![member("a", &["t"], &[("t", 0)]), member("b", &["t", "u"], &[("u", 0)])]))
        .ok(delete_topic("u"), ack())
        .ok(describe("g"), group(5, vec![member("a", &["t"], &[("t", 0)]), member("b", &["t", "u"], &[])]))
        .ok(leave("g", "b"), ack())
        .ok(tick(45_001), ack())
        .ok(describe("g"), group(7, vec![])),
        Case::new(
            "conformance/invariant-positions_within_log",
            "positions_within_log: a stored position lies within log start..=high watermark; a \
             position that fell below the log start is reset by auto_offset_reset.",
        )
        .ok(create("t", 1), ack())
        .ok(produce("t", 0, &["a", "b", "c", "d"]), produced(0, 0))
        .ok(join("early", "m", &["t"]), joined(1, &[("t", 0)]))
        .ok(join_with("late", "m", &["t"], Assignor::Range, 45_000, OffsetReset::Latest), joined(1, &[("t", 0)]))
        .ok(
            poll_limited("early", "m", 1, 2),
            polled(vec![polled_record("t", 0, 0, 0, "a"), polled_record("t", 0, 1, 0, "b")]),
        )
        .ok(poll_limited("late", "m", 1, 2), polled(vec![]))
        .note("The positions are now 2 (early) and 4 (late); the log start moves to 3.")
        .ok(delete_records("t", 0, 3), low_watermark(3))
        .note("early's position 2 is below the log start: reset to earliest, the new log start 3.")
        .ok(poll("early", "m", 1), polled(vec![polled_record("t", 0, 3, 0, "d")]))
        .ok(produce("t", 0, &["e"]), produced(0, 4))
        .ok(poll("late", "m", 1), polled(vec![polled_record("t", 0, 4, 0, "e")]))
        .note("A committed offset below the log start is reset the same way when it is used.")
        .ok(simple_commit("resets", "t", 0, 1), ack())
        .ok(join("resets", "m", &["t"]), joined(1, &[("t", 0)]))
        .ok(
            poll("resets", "m", 1),
            polled(vec![polled_record("t", 0, 3, 0, "d"), polled_record("t", 0, 4, 0, "e")]),
        ),
        Case::new(
            "conformance/invariant-groups_independent",
            "groups_independent: one group's joins, polls, commits and leaves change nothing \
             another group reads, and reading removes nothing.",
        )
        .ok(create("t", 1), ack())
        .ok(produce("t", 0, &["a", "b"]), produced(0, 0))
        .ok(join("g1", "m", &["t"]), joined(1, &[("t", 0)]))
        .ok(join("g2", "m", &["t"]), joined(1, &[("t", 0)]))
        .ok(
            poll("g1", "m", 1),
            polled(vec![polled_record("t", 0, 0, 0, "a"), polled_record("t", 0, 1, 0, "b")]),
        )
        .ok(commit("g1", "m", 1, "t", 0, 2), ack())
        .ok(join("g1", "n", &["t"]), joined(2, &[]))
        .ok(leave("g1", "n"), ack())
        .ok(committed("g2", "t", 0), nothing_committed())
        .ok(describe("g2"), group(1, vec![member("m", &["t"], &[("t", 0)])]))
        .ok(
            poll("g2", "m", 1),
            polled(vec![polled_record("t", 0, 0, 0, "a"), polled_record("t", 0, 1, 0, "b")]),
        )
        .ok(fetch("t", 0, 0), fetched(vec![stored(0, 0, "a"), stored(1, 0, "b")], 2, 0)),
    ]
}

/// The text of `traces/README.md`: what the traces are, and one line per trace.
pub fn index(cases: &[Case]) -> String {
    let mut text = String::from(
        "# Traces\n\n\
         Each `*.jsonl` file here is a trace in the format of \
         [`docs/trace-format.md`](../docs/trace-format.md): one op per line with the model's \
         result. An implementation claims conformance by running each trace's ops in order, \
         recording its own results as a trace, and replaying that with `streamspec replay`; \
         where the model allows several outcomes (keyless partition choice, lazier retention) \
         its results may differ from these and still pass. `cargo run --release -- replay \
         traces/` replays the shipped traces themselves.\n\n\
         The files are generated from hand-written cases in \
         [`harness/tests/trace_cases/mod.rs`](../harness/tests/trace_cases/mod.rs), where every \
         checked result was worked out by hand from [`docs/model.md`](../docs/model.md) and \
         the generator refuses to write a trace where the model disagrees. Regenerate with \
         `",
    );
    text.push_str(REGENERATE);
    text.push_str(
        "`; `cargo test` fails when a file here differs from what the cases generate. \
         Do not edit them by hand.\n",
    );
    let sections = [
        (
            "Scenarios",
            "scenarios/",
            "The scenarios of `shared/scenarios/` as traces.",
        ),
        ("Ops", "conformance/op-", "At least one trace per op."),
        (
            "Errors",
            "conformance/error-",
            "At least one trace per error name the model returns, named \
             `error-<name>-<how>`; each contains that error.",
        ),
        (
            "Invariants",
            "conformance/invariant-",
            "One trace per invariant of `docs/model.md`, showing it through observable \
             results.",
        ),
    ];
    for (title, prefix, about) in sections {
        text.push_str(&format!(
            "\n## {title}\n\n{about}\n\n| Trace | Shows |\n|---|---|\n"
        ));
        for case in cases.iter().filter(|case| case.path.starts_with(prefix)) {
            text.push_str(&format!(
                "| [`{path}.jsonl`]({path}.jsonl) | {shows} |\n",
                path = case.path,
                shows = case.shows.replace('|', "\\|")
            ));
        }
    }
    text
}
