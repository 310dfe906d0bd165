//! Every row of docs/bad-input.md that the model answers: the bad op gets its named error and
//! changes nothing, and nothing already accepted is lost.
//!
//! Method: each test starts from [`populated`], a model that already holds records in several
//! partitions, an idempotent producer's state, a group with a member, positions and a
//! committed offset, a simple-commit group, and an advanced log start. [`assert_refused`]
//! snapshots it, applies the bad op, and requires (1) exactly the named error, (2) a model
//! equal to the snapshot, and (3) every record read back through the public accessors equal
//! to before: the write side (equality) and the read side (what a client would see) checked
//! separately. Rows about limits build the limit up first, then check the same way.
//! `the_refusal_check_catches_*` plant bugs in the apply function to show the check can fail.

use streamspec_model::config::{
    BATCH_RECORDS_MAX, FETCH_RECORDS_MAX, GROUPS_COUNT_MAX, GROUP_MEMBERS_MAX, ID_LENGTH_MAX,
    MAX_MESSAGE_BYTES_LIMIT, OFFSET_METADATA_BYTES_MAX, PARTITIONS_PER_TOPIC_MAX,
    PRODUCERS_COUNT_MAX, SESSION_TIMEOUT_MS_MAX, SESSION_TIMEOUT_MS_MIN, SUBSCRIBED_TOPICS_MAX,
    TICK_MS_MAX, TOPICS_COUNT_MAX, TOPIC_NAME_LENGTH_MAX,
};
use streamspec_model::{
    Assignor, Bytes, ErrorCode, Model, OffsetReset, OffsetSpec, Op, ProducerBatch, Record, Reply,
    Ret, StoredRecord, TopicConfig, TopicPartition,
};

// ------------------------------------------------------------------------------ the check

/// Every record every partition retains, by (topic, partition), read as a client could.
fn retained_records(model: &Model) -> Vec<(String, i32, Vec<StoredRecord>)> {
    let mut all = Vec::new();
    for topic in model.topic_names() {
        let partition_count = model.partition_count(topic).expect("listed");
        for partition in 0..partition_count {
            let log = model.partition(topic, partition).expect("in range");
            all.push((
                topic.to_owned(),
                partition,
                log.records().cloned().collect(),
            ));
        }
    }
    all
}

/// Applies `op` through `apply` and explains how it failed to be a clean refusal with
/// `expected`, if it did.
fn refusal_problem(
    model: &mut Model,
    op: &Op,
    expected: ErrorCode,
    apply: impl FnOnce(&mut Model, &Op) -> Ret,
) -> Option<String> {
    let before = model.clone();
    let records_before = retained_records(model);
    let ret = apply(model, op);
    if ret != Err(expected) {
        return Some(format!("expected {expected:?}, got {ret:?}"));
    }
    if retained_records(model) != records_before {
        return Some("the records read back changed".to_owned());
    }
    if *model != before {
        return Some("the refused op changed the state".to_owned());
    }
    None
}

/// `op` must be refused with `expected` and change nothing.
#[track_caller]
fn assert_refused(model: &mut Model, op: Op, expected: ErrorCode) {
    if let Some(problem) = refusal_problem(model, &op, expected, Model::apply) {
        panic!("{op:?}: {problem}");
    }
}

/// `ops` must each be refused with `expected` and change nothing.
#[track_caller]
fn assert_all_refused(model: &mut Model, ops: impl IntoIterator<Item = Op>, expected: ErrorCode) {
    for op in ops {
        assert_refused(model, op, expected);
    }
}

// ------------------------------------------------------------------------------ fixtures

const TOPIC: &str = "orders";
const GROUP: &str = "g1";
const MEMBER: &str = "m1";
const SIMPLE_GROUP: &str = "audit";

/// A model holding something in every kind of state a bad op could damage.
fn populated() -> Model {
    let mut model = Model::new();
    model
        .create_topic(TOPIC, 2, TopicConfig::default())
        .unwrap();
    let small = TopicConfig {
        max_message_bytes: 100,
        ..TopicConfig::default()
    };
    model.create_topic("small", 1, small).unwrap();
    for i in 0..3 {
        let value = format!("order-{i}");
        model
            .produce(TOPIC, Some(0), vec![Record::keyed("k", value.as_str())])
            .unwrap();
    }
    model
        .produce("small", Some(0), vec![Record::value("tiny")])
        .unwrap();
    // An idempotent producer with a batch on orders-1.
    let (producer_id, producer_epoch) = init_producer(&mut model, None);
    let batch = ProducerBatch {
        producer_id,
        producer_epoch,
        base_sequence: 0,
    };
    model
        .apply(&idempotent(1, 2, batch))
        .expect("the first batch appends");
    init_producer(&mut model, Some("tx"));
    model.tick(1_000).unwrap();
    // A group with one member that has read and committed.
    let (generation, _) = model.join_group(GROUP, MEMBER, &[TOPIC]).unwrap();
    assert!(!model
        .poll(GROUP, MEMBER, generation, 10)
        .unwrap()
        .is_empty());
    model
        .commit(GROUP, Some(MEMBER), generation, &tp(0), 2)
        .unwrap();
    // A simple-commit group, and a partition whose log start has advanced.
    model.commit(SIMPLE_GROUP, None, -1, &tp(1), 1).unwrap();
    model
        .apply(&Op::DeleteRecords {
            topic: TOPIC.to_owned(),
            partition: 0,
            offset: 1,
        })
        .unwrap();
    model
}

fn tp(partition: i32) -> TopicPartition {
    TopicPartition::new(TOPIC, partition)
}

fn generation(model: &Model) -> i32 {
    model
        .group(GROUP)
        .expect("the fixture's group")
        .generation()
}

fn init_producer(model: &mut Model, transactional_id: Option<&str>) -> (i64, i16) {
    let op = Op::InitProducerId {
        transactional_id: transactional_id.map(str::to_owned),
    };
    match model.apply(&op) {
        Ok(Reply::ProducerId {
            producer_id,
            producer_epoch,
        }) => (producer_id, producer_epoch),
        other => panic!("init_producer_id replied {other:?}"),
    }
}

/// An idempotent batch of `count` records to orders-`partition`.
fn idempotent(partition: i32, count: usize, batch: ProducerBatch) -> Op {
    Op::Produce {
        topic: TOPIC.to_owned(),
        partition: Some(partition),
        records: (0..count)
            .map(|i| Record::value(format!("p{i}").as_str()))
            .collect(),
        producer: Some(batch),
    }
}

fn produce_to(topic: &str, partition: Option<i32>, records: Vec<Record>) -> Op {
    Op::Produce {
        topic: topic.to_owned(),
        partition,
        records,
        producer: None,
    }
}

fn create(topic: &str, partitions: i32, config: TopicConfig) -> Op {
    Op::CreateTopic {
        topic: topic.to_owned(),
        partitions,
        config,
    }
}

/// The fields of a `join_group`, so a test can change one and keep the rest.
#[derive(Clone)]
struct Join {
    group: String,
    member: String,
    topics: Vec<String>,
    assignor: Assignor,
    session_timeout_ms: i64,
    auto_offset_reset: OffsetReset,
}

impl Join {
    fn op(self) -> Op {
        Op::JoinGroup {
            group: self.group,
            member: self.member,
            topics: self.topics,
            assignor: self.assignor,
            session_timeout_ms: self.session_timeout_ms,
            auto_offset_reset: self.auto_offset_reset,
        }
    }
}

/// A join with the range assignor, a 45 s session and `earliest`.
fn join_args(group: &str, member: &str, topics: Vec<String>) -> Join {
    Join {
        group: group.to_owned(),
        member: member.to_owned(),
        topics,
        assignor: Assignor::Range,
        session_timeout_ms: 45_000,
        auto_offset_reset: OffsetReset::Earliest,
    }
}

fn join(group: &str, member: &str, topics: Vec<String>) -> Op {
    join_args(group, member, topics).op()
}

/// The fields of a `commit`, so a test can change one and keep the rest.
#[derive(Clone)]
struct Commit {
    group: String,
    member: Option<String>,
    generation: i32,
    topic: String,
    partition: i32,
    offset: i64,
    metadata: String,
}

impl Commit {
    fn op(self) -> Op {
        Op::Commit {
            group: self.group,
            member: self.member,
            generation: self.generation,
            topic: self.topic,
            partition: self.partition,
            offset: self.offset,
            metadata: self.metadata,
        }
    }
}

/// A commit to the fixture's group and topic with empty metadata.
fn commit_args(member: Option<&str>, generation: i32, partition: i32, offset: i64) -> Commit {
    Commit {
        group: GROUP.to_owned(),
        member: member.map(str::to_owned),
        generation,
        topic: TOPIC.to_owned(),
        partition,
        offset,
        metadata: String::new(),
    }
}

fn commit(member: Option<&str>, generation: i32, partition: i32, offset: i64) -> Op {
    commit_args(member, generation, partition, offset).op()
}

fn poll(group: &str, member: &str, generation: i32, max_records: u32) -> Op {
    Op::Poll {
        group: group.to_owned(),
        member: member.to_owned(),
        generation,
        max_records,
    }
}

/// Names Kafka forbids: empty, `.`, `..`, one byte too long, and characters outside
/// `[a-zA-Z0-9._-]` (space, `/`, `!`, non-ASCII, NUL).
fn illegal_topic_names() -> Vec<String> {
    vec![
        String::new(),
        ".".to_owned(),
        "..".to_owned(),
        "t".repeat(TOPIC_NAME_LENGTH_MAX + 1),
        "bad name".to_owned(),
        "a/b".to_owned(),
        "bang!".to_owned(),
        "tópico".to_owned(),
        "nul\0".to_owned(),
    ]
}

/// Group and member ids outside `1..=ID_LENGTH_MAX` bytes.
fn bad_ids() -> Vec<String> {
    vec![String::new(), "g".repeat(ID_LENGTH_MAX + 1)]
}

// ------------------------------------------------------------------------------ the check itself

#[test]
fn the_refusal_check_catches_a_partial_append() {
    // Goal: show the read-side check fails when a refusal appended part of a batch. Method:
    // a planted apply that appends the first record of an oversized batch before refusing it.
    let mut model = populated();
    let oversized = produce_to(
        "small",
        Some(0),
        vec![Record::value("ok"), Record::value(vec![b'x'; 200])],
    );
    let partial = |model: &mut Model, op: &Op| {
        if let Op::Produce { records, .. } = op {
            let first = produce_to("small", Some(0), records[..1].to_vec());
            model.apply(&first).unwrap();
        }
        model.apply(op)
    };
    let problem = refusal_problem(&mut model, &oversized, ErrorCode::MessageTooLarge, partial);
    assert_eq!(problem.as_deref(), Some("the records read back changed"));
}

#[test]
fn the_refusal_check_catches_a_zombie_commit() {
    // Goal: show the state check fails when a refused op changed state no record shows.
    // Method: a planted apply that stores a stale-generation commit and still refuses it.
    let mut model = populated();
    let generation = generation(&model);
    let zombie = commit(Some(MEMBER), generation - 1, 0, 3);
    let storing = |model: &mut Model, op: &Op| {
        model
            .commit(GROUP, Some(MEMBER), generation, &tp(0), 3)
            .unwrap();
        model.apply(op)
    };
    let problem = refusal_problem(&mut model, &zombie, ErrorCode::IllegalGeneration, storing);
    assert_eq!(problem.as_deref(), Some("the refused op changed the state"));
}

#[test]
fn the_refusal_check_catches_a_lost_record_and_a_wrong_error() {
    // Goal: show the read-side check and the error check each fail on their own. Method: a
    // planted apply that trims a partition while refusing, and one that names the wrong error.
    let mut model = populated();
    let bad_fetch = Op::Fetch {
        topic: TOPIC.to_owned(),
        partition: 0,
        offset: -1,
        max_records: 1,
        max_bytes: u64::MAX,
    };
    let trimming = |model: &mut Model, op: &Op| {
        model
            .apply(&Op::DeleteRecords {
                topic: TOPIC.to_owned(),
                partition: 0,
                offset: 2,
            })
            .unwrap();
        model.apply(op)
    };
    let problem = refusal_problem(
        &mut model,
        &bad_fetch,
        ErrorCode::OffsetOutOfRange,
        trimming,
    );
    assert_eq!(problem.as_deref(), Some("the records read back changed"));

    let mut model = populated();
    let wrong_name = |_: &mut Model, _: &Op| Err(ErrorCode::InvalidRequest);
    let problem = refusal_problem(
        &mut model,
        &bad_fetch,
        ErrorCode::OffsetOutOfRange,
        wrong_name,
    );
    assert_eq!(
        problem.as_deref(),
        Some("expected OffsetOutOfRange, got Err(InvalidRequest)")
    );
}

// ------------------------------------------------------------------------------ topics

#[test]
fn topic_name_illegal() {
    let mut model = populated();
    for name in illegal_topic_names() {
        assert_refused(
            &mut model,
            create(&name, 1, TopicConfig::default()),
            ErrorCode::InvalidTopicException,
        );
    }
    // The longest legal name is accepted: the limit is exactly where docs/model.md puts it.
    model
        .create_topic(
            &"t".repeat(TOPIC_NAME_LENGTH_MAX),
            1,
            TopicConfig::default(),
        )
        .unwrap();
}

#[test]
fn topic_already_exists() {
    let mut model = populated();
    assert_refused(
        &mut model,
        create(TOPIC, 2, TopicConfig::default()),
        ErrorCode::TopicAlreadyExists,
    );
}

#[test]
fn partition_count_zero_negative_or_huge() {
    let mut model = populated();
    let counts = [0, -1, i32::MIN, PARTITIONS_PER_TOPIC_MAX + 1, i32::MAX];
    assert_all_refused(
        &mut model,
        counts.map(|n| create("fresh", n, TopicConfig::default())),
        ErrorCode::InvalidPartitions,
    );
    model
        .create_topic("fresh", PARTITIONS_PER_TOPIC_MAX, TopicConfig::default())
        .unwrap();
}

#[test]
fn topic_config_out_of_range() {
    let mut model = populated();
    let base = TopicConfig::default();
    let configs = [
        TopicConfig {
            retention_ms: -2,
            ..base.clone()
        },
        TopicConfig {
            retention_ms: i64::MIN,
            ..base.clone()
        },
        TopicConfig {
            retention_bytes: -2,
            ..base.clone()
        },
        TopicConfig {
            retention_bytes: i64::MIN,
            ..base.clone()
        },
        TopicConfig {
            max_message_bytes: 0,
            ..base.clone()
        },
        TopicConfig {
            max_message_bytes: MAX_MESSAGE_BYTES_LIMIT + 1,
            ..base.clone()
        },
        TopicConfig {
            max_message_bytes: u64::MAX,
            ..base
        },
    ];
    assert_all_refused(
        &mut model,
        configs.map(|config| create("fresh", 1, config)),
        ErrorCode::InvalidConfig,
    );
}

#[test]
fn topic_count_limit() {
    let mut model = populated();
    for i in model.topic_names().count()..TOPICS_COUNT_MAX {
        model
            .create_topic(&format!("t{i}"), 1, TopicConfig::default())
            .unwrap();
    }
    assert_refused(
        &mut model,
        create("one-too-many", 1, TopicConfig::default()),
        ErrorCode::PolicyViolation,
    );
}

#[test]
fn delete_unknown_topic() {
    let mut model = populated();
    let names = illegal_topic_names().into_iter().chain(["nope".to_owned()]);
    assert_all_refused(
        &mut model,
        names.map(|topic| Op::DeleteTopic { topic }),
        ErrorCode::UnknownTopicOrPartition,
    );
}

// ------------------------------------------------------------------------------ produce

#[test]
fn produce_to_unknown_topic() {
    let mut model = populated();
    let names = illegal_topic_names().into_iter().chain(["nope".to_owned()]);
    assert_all_refused(
        &mut model,
        names.map(|topic| produce_to(&topic, Some(0), vec![Record::value("v")])),
        ErrorCode::UnknownTopicOrPartition,
    );
}

#[test]
fn produce_empty_batch() {
    let mut model = populated();
    assert_refused(
        &mut model,
        produce_to(TOPIC, Some(0), vec![]),
        ErrorCode::InvalidRequest,
    );
}

#[test]
fn produce_too_many_records() {
    let mut model = populated();
    assert_refused(
        &mut model,
        produce_to(
            TOPIC,
            Some(0),
            vec![Record::default(); BATCH_RECORDS_MAX + 1],
        ),
        ErrorCode::RecordListTooLarge,
    );
}

#[test]
fn produce_to_unknown_partition() {
    let mut model = populated();
    let partitions = [-1, 2, i32::MIN, i32::MAX];
    assert_all_refused(
        &mut model,
        partitions.map(|p| produce_to(TOPIC, Some(p), vec![Record::value("v")])),
        ErrorCode::UnknownTopicOrPartition,
    );
}

#[test]
fn produce_negative_timestamp() {
    let mut model = populated();
    for timestamp_ms in [-1, i64::MIN] {
        let late = Record {
            timestamp_ms: Some(timestamp_ms),
            ..Record::value("late")
        };
        // The bad record is second: the whole batch is refused, not its valid prefix.
        assert_refused(
            &mut model,
            produce_to(TOPIC, Some(0), vec![Record::value("fine"), late]),
            ErrorCode::InvalidRequest,
        );
    }
}

#[test]
fn produce_oversized_record_or_batch() {
    let mut model = populated();
    // One record over the topic's 100 bytes, a batch of small records summing over it, and
    // one record over the default `max_message_bytes` on the default topic.
    let oversized_records = vec![
        ("small", vec![Record::value(vec![b'x'; 100])]),
        ("small", vec![Record::value(vec![b'x'; 30]); 3]),
        (TOPIC, vec![Record::value(vec![b'x'; 1 << 20])]),
    ];
    for (topic, records) in oversized_records {
        assert_refused(
            &mut model,
            produce_to(topic, Some(0), records),
            ErrorCode::MessageTooLarge,
        );
    }
    // Non-UTF-8 bytes are just bytes: accepted when they fit.
    let binary = Record {
        key: Some(Bytes(vec![0xff, 0xfe])),
        value: Some(Bytes(vec![0x80, 0x00, 0xc3])),
        ..Record::default()
    };
    model.produce("small", Some(0), vec![binary]).unwrap();
}

#[test]
fn produce_bad_sequence_range() {
    let mut model = populated();
    let (producer_id, producer_epoch) = (0, 0);
    let batch = |base_sequence| ProducerBatch {
        producer_id,
        producer_epoch,
        base_sequence,
    };
    let ops = [
        idempotent(1, 1, batch(-1)),
        idempotent(1, 1, batch(i32::MIN)),
        // The last sequence would be i32::MAX + 1.
        idempotent(1, 2, batch(i32::MAX)),
    ];
    assert_all_refused(&mut model, ops, ErrorCode::InvalidRequest);
}

#[test]
fn produce_unknown_producer_id() {
    let mut model = populated();
    let ids = [-1, 2, 999, i64::MAX, i64::MIN];
    assert_all_refused(
        &mut model,
        ids.map(|producer_id| {
            idempotent(
                0,
                1,
                ProducerBatch {
                    producer_id,
                    producer_epoch: 0,
                    base_sequence: 0,
                },
            )
        }),
        ErrorCode::UnknownProducerId,
    );
}

#[test]
fn produce_stale_or_future_producer_epoch() {
    let mut model = populated();
    // Producer 1 belongs to transactional id "tx"; bump it to epoch 1, fencing epoch 0.
    assert_eq!(init_producer(&mut model, Some("tx")), (1, 1));
    let epochs = [0, 2, -1, i16::MIN, i16::MAX];
    assert_all_refused(
        &mut model,
        epochs.map(|producer_epoch| {
            idempotent(
                1,
                1,
                ProducerBatch {
                    producer_id: 1,
                    producer_epoch,
                    base_sequence: 0,
                },
            )
        }),
        ErrorCode::InvalidProducerEpoch,
    );
}

#[test]
fn produce_with_retired_producer_id() {
    let mut model = populated();
    // Bump "tx" (producer 1) to epoch i16::MAX; one more init retires producer 1.
    let mut last = (1, 0);
    while last.1 < i16::MAX {
        last = init_producer(&mut model, Some("tx"));
        assert_eq!(last.0, 1);
    }
    let (fresh_id, fresh_epoch) = init_producer(&mut model, Some("tx"));
    assert_ne!(fresh_id, 1);
    assert_eq!(fresh_epoch, 0);
    for producer_epoch in [i16::MAX, 0] {
        let batch = ProducerBatch {
            producer_id: 1,
            producer_epoch,
            base_sequence: 0,
        };
        assert_refused(
            &mut model,
            idempotent(0, 1, batch),
            ErrorCode::InvalidProducerEpoch,
        );
    }
}

#[test]
fn produce_out_of_order_sequence() {
    let mut model = populated();
    // Producer 0 has appended sequences 0..=1 on orders-1, so 2 is next.
    let batch = |base_sequence| ProducerBatch {
        producer_id: 0,
        producer_epoch: 0,
        base_sequence,
    };
    let ops = [
        idempotent(1, 1, batch(3)),
        idempotent(1, 1, batch(1)),
        // Same first sequence as the retained batch but a different length: not a duplicate.
        idempotent(1, 1, batch(0)),
        idempotent(1, 1, batch(i32::MAX)),
        // First batch on orders-0 must start at 0.
        idempotent(0, 1, batch(5)),
    ];
    assert_all_refused(&mut model, ops, ErrorCode::OutOfOrderSequenceNumber);
}

#[test]
fn init_producer_id_bad_transactional_id() {
    let mut model = populated();
    let ids = [String::new(), "x".repeat(ID_LENGTH_MAX + 1)];
    assert_all_refused(
        &mut model,
        ids.map(|id| Op::InitProducerId {
            transactional_id: Some(id),
        }),
        ErrorCode::InvalidRequest,
    );
}

#[test]
fn producer_count_limit() {
    let mut model = populated();
    while model
        .producer_epoch(PRODUCERS_COUNT_MAX as i64 - 1)
        .is_none()
    {
        init_producer(&mut model, None);
    }
    let ops = [
        Op::InitProducerId {
            transactional_id: None,
        },
        Op::InitProducerId {
            transactional_id: Some("new-tx".to_owned()),
        },
    ];
    assert_all_refused(&mut model, ops, ErrorCode::PolicyViolation);
    // A known transactional id still gets its epoch bumped: no new id is needed.
    assert_eq!(init_producer(&mut model, Some("tx")), (1, 1));
}

// ------------------------------------------------------------------------------ reads

fn fetch(topic: &str, partition: i32, offset: i64, max_records: u32) -> Op {
    Op::Fetch {
        topic: topic.to_owned(),
        partition,
        offset,
        max_records,
        max_bytes: u64::MAX,
    }
}

#[test]
fn fetch_unknown_topic_or_partition() {
    let mut model = populated();
    let ops = [
        fetch("nope", 0, 0, 1),
        fetch("", 0, 0, 1),
        fetch(TOPIC, 2, 0, 1),
        fetch(TOPIC, -1, 0, 1),
        fetch(TOPIC, i32::MAX, 0, 1),
    ];
    assert_all_refused(&mut model, ops, ErrorCode::UnknownTopicOrPartition);
}

#[test]
fn fetch_bad_max_records() {
    let mut model = populated();
    let counts = [0, FETCH_RECORDS_MAX + 1, u32::MAX];
    assert_all_refused(
        &mut model,
        counts.map(|n| fetch(TOPIC, 0, 1, n)),
        ErrorCode::InvalidRequest,
    );
}

#[test]
fn fetch_offset_out_of_range() {
    let mut model = populated();
    // orders-0 holds offsets 1..3 (log start 1, high watermark 3).
    let offsets = [0, -1, i64::MIN, 4, i64::MAX];
    assert_all_refused(
        &mut model,
        offsets.map(|offset| fetch(TOPIC, 0, offset, 1)),
        ErrorCode::OffsetOutOfRange,
    );
}

#[test]
fn list_offsets_bad_input() {
    let mut model = populated();
    let unknown =
        [("nope", 0), (TOPIC, 2), (TOPIC, -1)].map(|(topic, partition)| Op::ListOffsets {
            topic: topic.to_owned(),
            partition,
            spec: OffsetSpec::Latest,
        });
    assert_all_refused(&mut model, unknown, ErrorCode::UnknownTopicOrPartition);
    let negative = [-1, i64::MIN].map(|timestamp_ms| Op::ListOffsets {
        topic: TOPIC.to_owned(),
        partition: 0,
        spec: OffsetSpec::Timestamp { timestamp_ms },
    });
    assert_all_refused(&mut model, negative, ErrorCode::InvalidRequest);
}

// ------------------------------------------------------------------------------ retention and clock

#[test]
fn delete_records_bad_input() {
    let mut model = populated();
    let delete = |topic: &str, partition, offset| Op::DeleteRecords {
        topic: topic.to_owned(),
        partition,
        offset,
    };
    let unknown = [
        delete("nope", 0, 0),
        delete(TOPIC, 2, 0),
        delete(TOPIC, -1, 0),
    ];
    assert_all_refused(&mut model, unknown, ErrorCode::UnknownTopicOrPartition);
    let out_of_range = [-2, i64::MIN, 4, i64::MAX].map(|offset| delete(TOPIC, 0, offset));
    assert_all_refused(&mut model, out_of_range, ErrorCode::OffsetOutOfRange);
}

#[test]
fn tick_too_large() {
    let mut model = populated();
    assert_all_refused(
        &mut model,
        [TICK_MS_MAX + 1, u64::MAX].map(|ms| Op::Tick { ms }),
        ErrorCode::InvalidRequest,
    );
}

#[test]
fn tick_past_the_end_of_the_clock() {
    // Goal: the clock never wraps. Method: tick by the maximum until one more would pass
    // i64::MAX (about 2.9 million ticks), on an empty model so each tick is cheap.
    let mut model = Model::new();
    let step_ms = TICK_MS_MAX as i64;
    while model.now_ms() <= i64::MAX - step_ms {
        model.tick(TICK_MS_MAX).unwrap();
    }
    assert_refused(
        &mut model,
        Op::Tick { ms: TICK_MS_MAX },
        ErrorCode::InvalidRequest,
    );
    // What is left still fits exactly.
    let rest_ms = (i64::MAX - model.now_ms()) as u64;
    model.tick(rest_ms).unwrap();
    assert_eq!(model.now_ms(), i64::MAX);
    assert_refused(&mut model, Op::Tick { ms: 1 }, ErrorCode::InvalidRequest);
}

// ------------------------------------------------------------------------------ groups

#[test]
fn bad_group_id_everywhere() {
    let mut model = populated();
    let generation = generation(&model);
    for group in bad_ids() {
        let ops = [
            join(&group, MEMBER, vec![TOPIC.to_owned()]),
            Op::LeaveGroup {
                group: group.clone(),
                member: MEMBER.to_owned(),
            },
            Op::Heartbeat {
                group: group.clone(),
                member: MEMBER.to_owned(),
                generation,
            },
            Op::Commit {
                group: group.clone(),
                member: None,
                generation: -1,
                topic: TOPIC.to_owned(),
                partition: 0,
                offset: 1,
                metadata: String::new(),
            },
            Op::Committed {
                group: group.clone(),
                topic: TOPIC.to_owned(),
                partition: 0,
            },
            poll(&group, MEMBER, generation, 1),
            Op::DescribeGroup {
                group: group.clone(),
            },
        ];
        assert_all_refused(&mut model, ops, ErrorCode::InvalidGroupId);
    }
}

#[test]
fn join_bad_member_id() {
    let mut model = populated();
    assert_all_refused(
        &mut model,
        bad_ids()
            .iter()
            .map(|member| join(GROUP, member, vec![TOPIC.to_owned()])),
        ErrorCode::InvalidRequest,
    );
}

#[test]
fn join_bad_session_timeout() {
    let mut model = populated();
    let timeouts = [
        SESSION_TIMEOUT_MS_MIN - 1,
        SESSION_TIMEOUT_MS_MAX + 1,
        0,
        -1,
        i64::MIN,
        i64::MAX,
    ];
    assert_all_refused(
        &mut model,
        timeouts.map(|session_timeout_ms| {
            Join {
                session_timeout_ms,
                ..join_args(GROUP, "m2", vec![TOPIC.to_owned()])
            }
            .op()
        }),
        ErrorCode::InvalidSessionTimeout,
    );
}

#[test]
fn join_bad_subscription() {
    let mut model = populated();
    let bad_counts = [vec![], vec![TOPIC.to_owned(); SUBSCRIBED_TOPICS_MAX + 1]];
    assert_all_refused(
        &mut model,
        bad_counts.map(|topics| join(GROUP, "m2", topics)),
        ErrorCode::InvalidRequest,
    );
    assert_all_refused(
        &mut model,
        illegal_topic_names()
            .into_iter()
            .map(|name| join(GROUP, "m2", vec![TOPIC.to_owned(), name])),
        ErrorCode::InvalidTopicException,
    );
}

#[test]
fn group_count_limit() {
    let mut model = populated();
    for i in model.group_ids().count()..GROUPS_COUNT_MAX {
        model
            .commit(&format!("g-{i}"), None, -1, &tp(0), 1)
            .unwrap();
    }
    let ops = [
        join("one-too-many", MEMBER, vec![TOPIC.to_owned()]),
        Commit {
            group: "one-too-many".to_owned(),
            ..commit_args(None, -1, 0, 1)
        }
        .op(),
    ];
    assert_all_refused(&mut model, ops, ErrorCode::PolicyViolation);
}

#[test]
fn join_with_another_assignor() {
    let mut model = populated();
    assert_refused(
        &mut model,
        Join {
            assignor: Assignor::RoundRobin,
            ..join_args(GROUP, "m2", vec![TOPIC.to_owned()])
        }
        .op(),
        ErrorCode::InconsistentGroupProtocol,
    );
}

#[test]
fn group_member_limit() {
    let mut model = populated();
    for i in 1..GROUP_MEMBERS_MAX {
        model
            .join_group(GROUP, &format!("extra-{i}"), &[TOPIC])
            .unwrap();
    }
    assert_eq!(
        model.group(GROUP).unwrap().members().len(),
        GROUP_MEMBERS_MAX
    );
    assert_refused(
        &mut model,
        join(GROUP, "one-too-many", vec![TOPIC.to_owned()]),
        ErrorCode::GroupMaxSizeReached,
    );
}

#[test]
fn unknown_member() {
    let mut model = populated();
    let generation = generation(&model);
    for (group, member) in [(GROUP, "stranger"), ("no-such-group", MEMBER)] {
        let ops = [
            Op::LeaveGroup {
                group: group.to_owned(),
                member: member.to_owned(),
            },
            Op::Heartbeat {
                group: group.to_owned(),
                member: member.to_owned(),
                generation,
            },
            Commit {
                group: group.to_owned(),
                ..commit_args(Some(member), generation, 0, 1)
            }
            .op(),
            poll(group, member, generation, 1),
        ];
        assert_all_refused(&mut model, ops, ErrorCode::UnknownMemberId);
    }
    // A simple commit to a group that has members is a commit from no member of it.
    assert_refused(
        &mut model,
        commit(None, -1, 0, 1),
        ErrorCode::UnknownMemberId,
    );
}

#[test]
fn stale_generation() {
    let mut model = populated();
    let generation = generation(&model);
    assert!(generation >= 1);
    for stale in [generation - 1, -1, i32::MIN] {
        let ops = [
            Op::Heartbeat {
                group: GROUP.to_owned(),
                member: MEMBER.to_owned(),
                generation: stale,
            },
            poll(GROUP, MEMBER, stale, 1),
        ];
        assert_all_refused(&mut model, ops, ErrorCode::RebalanceInProgress);
        // A zombie commit never takes effect.
        assert_refused(
            &mut model,
            commit(Some(MEMBER), stale, 0, 3),
            ErrorCode::IllegalGeneration,
        );
    }
}

#[test]
fn future_generation() {
    let mut model = populated();
    let generation = generation(&model);
    for future in [generation + 1, i32::MAX] {
        let ops = [
            Op::Heartbeat {
                group: GROUP.to_owned(),
                member: MEMBER.to_owned(),
                generation: future,
            },
            poll(GROUP, MEMBER, future, 1),
            commit(Some(MEMBER), future, 0, 3),
        ];
        assert_all_refused(&mut model, ops, ErrorCode::IllegalGeneration);
    }
    // A simple commit must say generation -1.
    let simple = Commit {
        group: SIMPLE_GROUP.to_owned(),
        ..commit_args(None, 0, 1, 2)
    }
    .op();
    assert_refused(&mut model, simple, ErrorCode::IllegalGeneration);
}

#[test]
fn commit_bad_input() {
    let mut model = populated();
    let generation = generation(&model);
    let unknown = [(-1, 1), (2, 1), (i32::MAX, 1)]
        .map(|(partition, offset)| commit(Some(MEMBER), generation, partition, offset));
    assert_all_refused(&mut model, unknown, ErrorCode::UnknownTopicOrPartition);
    let unknown_topic = Commit {
        topic: "nope".to_owned(),
        ..commit_args(Some(MEMBER), generation, 0, 1)
    }
    .op();
    assert_refused(
        &mut model,
        unknown_topic,
        ErrorCode::UnknownTopicOrPartition,
    );
    let too_much_metadata = Commit {
        metadata: "m".repeat(OFFSET_METADATA_BYTES_MAX + 1),
        ..commit_args(Some(MEMBER), generation, 0, 1)
    }
    .op();
    assert_refused(
        &mut model,
        too_much_metadata,
        ErrorCode::OffsetMetadataTooLarge,
    );
    assert_all_refused(
        &mut model,
        [-1, i64::MIN].map(|offset| commit(Some(MEMBER), generation, 0, offset)),
        ErrorCode::InvalidRequest,
    );
}

#[test]
fn committed_bad_input() {
    let mut model = populated();
    let ops = [("nope", 0), (TOPIC, 2), (TOPIC, -1)].map(|(topic, partition)| Op::Committed {
        group: GROUP.to_owned(),
        topic: topic.to_owned(),
        partition,
    });
    assert_all_refused(&mut model, ops, ErrorCode::UnknownTopicOrPartition);
}

#[test]
fn poll_bad_max_records() {
    let mut model = populated();
    let generation = generation(&model);
    assert_all_refused(
        &mut model,
        [0, FETCH_RECORDS_MAX + 1, u32::MAX].map(|n| poll(GROUP, MEMBER, generation, n)),
        ErrorCode::InvalidRequest,
    );
}

#[test]
fn poll_without_offset_and_reset_none() {
    let mut model = populated();
    let (generation, _) = match model
        .apply(
            &Join {
                auto_offset_reset: OffsetReset::None,
                ..join_args("strict", "s1", vec![TOPIC.to_owned()])
            }
            .op(),
        )
        .unwrap()
    {
        Reply::Joined {
            generation,
            assignment,
        } => (generation, assignment),
        other => panic!("join replied {other:?}"),
    };
    assert_refused(
        &mut model,
        poll("strict", "s1", generation, 10),
        ErrorCode::NoOffsetForPartition,
    );
    // A committed offset below the log start is reset by the policy too: still refused.
    model
        .commit("strict", Some("s1"), generation, &tp(0), 0)
        .unwrap();
    model
        .commit("strict", Some("s1"), generation, &tp(1), 0)
        .unwrap();
    assert_refused(
        &mut model,
        poll("strict", "s1", generation, 10),
        ErrorCode::NoOffsetForPartition,
    );
}
