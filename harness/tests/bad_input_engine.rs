//! The op rows of docs/bad-input.md through the engine: each bad op gets the same named error
//! from the engine as from the model, and nothing a client can observe changes.
//!
//! Method: the engine and the model are driven through the same setup (records in several
//! partitions, an idempotent producer, a group with a member that read and committed, a
//! simple-commit group, an advanced log start). For each bad op of the catalogue, the
//! engine's answer must equal the expected error and the model's, and an observation of the
//! engine taken before (every partition's log start, high watermark and records, every
//! group's description and committed offsets) must equal one taken after. The model side of
//! the same rows, with full state equality, is model/tests/bad_input.rs.
//! `the_observation_catches_*` shows the observation sees a planted change.

use streamspec::soak::EngineTarget;
use streamspec::target::ConcurrentTarget;
use streamspec_model::config::{
    BATCH_RECORDS_MAX, FETCH_RECORDS_MAX, GROUPS_COUNT_MAX, GROUP_MEMBERS_MAX, ID_LENGTH_MAX,
    MAX_MESSAGE_BYTES_LIMIT, OFFSET_METADATA_BYTES_MAX, PARTITIONS_PER_TOPIC_MAX,
    PRODUCERS_COUNT_MAX, SESSION_TIMEOUT_MS_MAX, SESSION_TIMEOUT_MS_MIN, SUBSCRIBED_TOPICS_MAX,
    TICK_MS_MAX, TOPICS_COUNT_MAX, TOPIC_NAME_LENGTH_MAX,
};
use streamspec_model::{
    Assignor, ErrorCode, Model, OffsetReset, OffsetSpec, Op, ProducerBatch, Record, Reply, Ret,
    TopicConfig,
};

const TOPIC: &str = "orders";
const SMALL: &str = "small";
const GROUP: &str = "g1";
const MEMBER: &str = "m1";
const SIMPLE_GROUP: &str = "audit";

/// The engine and the model side by side; every op goes to both.
struct Pair {
    engine: EngineTarget,
    model: Model,
}

impl Pair {
    fn new() -> Pair {
        Pair {
            engine: EngineTarget::new(),
            model: Model::new(),
        }
    }

    /// Applies `op` to both; they must agree. Returns the answer.
    #[track_caller]
    fn both(&mut self, op: &Op) -> Ret {
        let engine = self.engine.apply(op);
        let model = self.model.apply(op);
        assert_eq!(engine, model, "{op:?}");
        engine
    }

    /// Applies a setup op to both; it must succeed.
    #[track_caller]
    fn setup(&mut self, op: Op) -> Reply {
        self.both(&op)
            .unwrap_or_else(|code| panic!("setup {op:?}: {code:?}"))
    }
}

fn create(topic: &str, partitions: i32, config: TopicConfig) -> Op {
    Op::CreateTopic {
        topic: topic.to_owned(),
        partitions,
        config,
    }
}

fn produce(topic: &str, partition: Option<i32>, records: Vec<Record>) -> Op {
    Op::Produce {
        topic: topic.to_owned(),
        partition,
        records,
        producer: None,
    }
}

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

fn batch(producer_id: i64, producer_epoch: i16, base_sequence: i32) -> ProducerBatch {
    ProducerBatch {
        producer_id,
        producer_epoch,
        base_sequence,
    }
}

fn join(group: &str, member: &str, topics: Vec<String>) -> Op {
    join_with(group, member, topics, Assignor::Range, 45_000)
}

fn join_with(
    group: &str,
    member: &str,
    topics: Vec<String>,
    assignor: Assignor,
    session_timeout_ms: i64,
) -> Op {
    Op::JoinGroup {
        group: group.to_owned(),
        member: member.to_owned(),
        topics,
        assignor,
        session_timeout_ms,
        auto_offset_reset: OffsetReset::Earliest,
    }
}

#[allow(clippy::too_many_arguments)]
fn commit_to(
    group: &str,
    member: Option<&str>,
    generation: i32,
    topic: &str,
    partition: i32,
    offset: i64,
    metadata: String,
) -> Op {
    Op::Commit {
        group: group.to_owned(),
        member: member.map(str::to_owned),
        generation,
        topic: topic.to_owned(),
        partition,
        offset,
        metadata,
    }
}

fn commit(member: Option<&str>, generation: i32, partition: i32, offset: i64) -> Op {
    commit_to(
        GROUP,
        member,
        generation,
        TOPIC,
        partition,
        offset,
        String::new(),
    )
}

fn poll(group: &str, member: &str, generation: i32, max_records: u32) -> Op {
    Op::Poll {
        group: group.to_owned(),
        member: member.to_owned(),
        generation,
        max_records,
    }
}

fn fetch(topic: &str, partition: i32, offset: i64, max_records: u32) -> Op {
    Op::Fetch {
        topic: topic.to_owned(),
        partition,
        offset,
        max_records,
        max_bytes: u64::MAX,
    }
}

fn heartbeat(group: &str, member: &str, generation: i32) -> Op {
    Op::Heartbeat {
        group: group.to_owned(),
        member: member.to_owned(),
        generation,
    }
}

/// The same populated state as model/tests/bad_input.rs, in both; the group's generation.
fn populated() -> (Pair, i32) {
    let mut pair = Pair::new();
    pair.setup(create(TOPIC, 2, TopicConfig::default()));
    pair.setup(create(
        SMALL,
        1,
        TopicConfig {
            max_message_bytes: 100,
            ..TopicConfig::default()
        },
    ));
    for i in 0..3 {
        let value = format!("order-{i}");
        pair.setup(produce(
            TOPIC,
            Some(0),
            vec![Record::keyed("k", value.as_str())],
        ));
    }
    pair.setup(produce(SMALL, Some(0), vec![Record::value("tiny")]));
    pair.setup(Op::InitProducerId {
        transactional_id: None,
    });
    pair.setup(idempotent(1, 2, batch(0, 0, 0)));
    pair.setup(Op::InitProducerId {
        transactional_id: Some("tx".to_owned()),
    });
    pair.setup(Op::Tick { ms: 1_000 });
    let generation = match pair.setup(join(GROUP, MEMBER, vec![TOPIC.to_owned()])) {
        Reply::Joined { generation, .. } => generation,
        other => panic!("join replied {other:?}"),
    };
    pair.setup(poll(GROUP, MEMBER, generation, 10));
    pair.setup(commit(Some(MEMBER), generation, 0, 2));
    pair.setup(commit_to(
        SIMPLE_GROUP,
        None,
        -1,
        TOPIC,
        1,
        1,
        String::new(),
    ));
    pair.setup(Op::DeleteRecords {
        topic: TOPIC.to_owned(),
        partition: 0,
        offset: 1,
    });
    (pair, generation)
}

/// What a client can see of the fixture's state: per partition the log bounds and records,
/// per group its description and committed offsets.
fn observe(target: &dyn ConcurrentTarget) -> Vec<Ret> {
    let mut seen = Vec::new();
    for (topic, partitions) in [(TOPIC, 2), (SMALL, 1)] {
        for partition in 0..partitions {
            for spec in [OffsetSpec::Earliest, OffsetSpec::Latest] {
                seen.push(target.apply(&Op::ListOffsets {
                    topic: topic.to_owned(),
                    partition,
                    spec,
                }));
            }
            let log_start = match seen[seen.len() - 2] {
                Ok(Reply::ListedOffset {
                    offset: Some(offset),
                    ..
                }) => offset,
                _ => 0,
            };
            seen.push(target.apply(&fetch(topic, partition, log_start, FETCH_RECORDS_MAX)));
        }
    }
    for group in [GROUP, SIMPLE_GROUP, "strict"] {
        seen.push(target.apply(&Op::DescribeGroup {
            group: group.to_owned(),
        }));
        for partition in 0..2 {
            seen.push(target.apply(&Op::Committed {
                group: group.to_owned(),
                topic: TOPIC.to_owned(),
                partition,
            }));
        }
    }
    seen
}

/// `op` must be refused with `expected` by the engine and the model alike, and change
/// nothing the observation shows.
#[track_caller]
fn assert_refused(pair: &mut Pair, op: Op, expected: ErrorCode) {
    let before = observe(&pair.engine);
    let ret = pair.both(&op);
    assert_eq!(ret, Err(expected), "{op:?}");
    assert_eq!(observe(&pair.engine), before, "{op:?} changed the engine");
}

fn illegal_topic_names() -> Vec<String> {
    vec![
        String::new(),
        ".".to_owned(),
        "..".to_owned(),
        "t".repeat(TOPIC_NAME_LENGTH_MAX + 1),
        "bad name".to_owned(),
        "a/b".to_owned(),
        "tópico".to_owned(),
        "nul\0".to_owned(),
    ]
}

/// Every bad op row that needs no limit built up first, with its error.
fn catalogue(generation: i32) -> Vec<(Op, ErrorCode)> {
    use ErrorCode::*;
    let mut rows = Vec::new();
    let base = TopicConfig::default();
    for name in illegal_topic_names() {
        rows.push((create(&name, 1, base.clone()), InvalidTopicException));
        rows.push((
            Op::DeleteTopic {
                topic: name.clone(),
            },
            UnknownTopicOrPartition,
        ));
        rows.push((
            produce(&name, Some(0), vec![Record::value("v")]),
            UnknownTopicOrPartition,
        ));
        rows.push((
            join(GROUP, "m2", vec![TOPIC.to_owned(), name]),
            InvalidTopicException,
        ));
    }
    rows.push((create(TOPIC, 2, base.clone()), TopicAlreadyExists));
    for n in [0, -1, i32::MIN, PARTITIONS_PER_TOPIC_MAX + 1, i32::MAX] {
        rows.push((create("fresh", n, base.clone()), InvalidPartitions));
    }
    let bad_configs = [
        TopicConfig {
            retention_ms: -2,
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
    ];
    for config in bad_configs {
        rows.push((create("fresh", 1, config), InvalidConfig));
    }
    // Produce.
    rows.push((produce(TOPIC, Some(0), vec![]), InvalidRequest));
    rows.push((
        produce(
            TOPIC,
            Some(0),
            vec![Record::default(); BATCH_RECORDS_MAX + 1],
        ),
        RecordListTooLarge,
    ));
    for p in [-1, 2, i32::MIN, i32::MAX] {
        rows.push((
            produce(TOPIC, Some(p), vec![Record::value("v")]),
            UnknownTopicOrPartition,
        ));
    }
    for timestamp_ms in [-1, i64::MIN] {
        let late = Record {
            timestamp_ms: Some(timestamp_ms),
            ..Record::value("late")
        };
        rows.push((
            produce(TOPIC, Some(0), vec![Record::value("fine"), late]),
            InvalidRequest,
        ));
    }
    rows.push((
        produce(SMALL, Some(0), vec![Record::value(vec![b'x'; 100])]),
        MessageTooLarge,
    ));
    rows.push((
        produce(SMALL, Some(0), vec![Record::value(vec![b'x'; 30]); 3]),
        MessageTooLarge,
    ));
    rows.push((idempotent(1, 1, batch(0, 0, -1)), InvalidRequest));
    rows.push((idempotent(1, 2, batch(0, 0, i32::MAX)), InvalidRequest));
    for id in [-1, 2, i64::MAX, i64::MIN] {
        rows.push((idempotent(0, 1, batch(id, 0, 0)), UnknownProducerId));
    }
    for epoch in [1, -1, i16::MIN, i16::MAX] {
        rows.push((idempotent(1, 1, batch(0, epoch, 2)), InvalidProducerEpoch));
    }
    for sequence in [3, 1, 0, i32::MAX] {
        rows.push((
            idempotent(1, 1, batch(0, 0, sequence)),
            OutOfOrderSequenceNumber,
        ));
    }
    rows.push((idempotent(0, 1, batch(0, 0, 5)), OutOfOrderSequenceNumber));
    for id in [String::new(), "x".repeat(ID_LENGTH_MAX + 1)] {
        rows.push((
            Op::InitProducerId {
                transactional_id: Some(id),
            },
            InvalidRequest,
        ));
    }
    // Reads, retention and the clock.
    for (topic, partition) in [("nope", 0), (TOPIC, 2), (TOPIC, -1), (TOPIC, i32::MAX)] {
        rows.push((fetch(topic, partition, 0, 1), UnknownTopicOrPartition));
        rows.push((
            Op::ListOffsets {
                topic: topic.to_owned(),
                partition,
                spec: OffsetSpec::Latest,
            },
            UnknownTopicOrPartition,
        ));
        rows.push((
            Op::DeleteRecords {
                topic: topic.to_owned(),
                partition,
                offset: 0,
            },
            UnknownTopicOrPartition,
        ));
    }
    for n in [0, FETCH_RECORDS_MAX + 1, u32::MAX] {
        rows.push((fetch(TOPIC, 0, 1, n), InvalidRequest));
        rows.push((poll(GROUP, MEMBER, generation, n), InvalidRequest));
    }
    for offset in [0, -1, i64::MIN, 4, i64::MAX] {
        rows.push((fetch(TOPIC, 0, offset, 1), OffsetOutOfRange));
    }
    for timestamp_ms in [-1, i64::MIN] {
        rows.push((
            Op::ListOffsets {
                topic: TOPIC.to_owned(),
                partition: 0,
                spec: OffsetSpec::Timestamp { timestamp_ms },
            },
            InvalidRequest,
        ));
    }
    for offset in [-2, i64::MIN, 4, i64::MAX] {
        rows.push((
            Op::DeleteRecords {
                topic: TOPIC.to_owned(),
                partition: 0,
                offset,
            },
            OffsetOutOfRange,
        ));
    }
    for ms in [TICK_MS_MAX + 1, u64::MAX] {
        rows.push((Op::Tick { ms }, InvalidRequest));
    }
    // Groups.
    for group in [String::new(), "g".repeat(ID_LENGTH_MAX + 1)] {
        rows.push((join(&group, MEMBER, vec![TOPIC.to_owned()]), InvalidGroupId));
        rows.push((
            Op::LeaveGroup {
                group: group.clone(),
                member: MEMBER.to_owned(),
            },
            InvalidGroupId,
        ));
        rows.push((heartbeat(&group, MEMBER, generation), InvalidGroupId));
        rows.push((
            commit_to(&group, None, -1, TOPIC, 0, 1, String::new()),
            InvalidGroupId,
        ));
        rows.push((
            Op::Committed {
                group: group.clone(),
                topic: TOPIC.to_owned(),
                partition: 0,
            },
            InvalidGroupId,
        ));
        rows.push((poll(&group, MEMBER, generation, 1), InvalidGroupId));
        rows.push((Op::DescribeGroup { group }, InvalidGroupId));
    }
    for member in [String::new(), "m".repeat(ID_LENGTH_MAX + 1)] {
        rows.push((join(GROUP, &member, vec![TOPIC.to_owned()]), InvalidRequest));
    }
    for timeout in [
        SESSION_TIMEOUT_MS_MIN - 1,
        SESSION_TIMEOUT_MS_MAX + 1,
        0,
        i64::MIN,
        i64::MAX,
    ] {
        rows.push((
            join_with(
                GROUP,
                "m2",
                vec![TOPIC.to_owned()],
                Assignor::Range,
                timeout,
            ),
            InvalidSessionTimeout,
        ));
    }
    rows.push((join(GROUP, "m2", vec![]), InvalidRequest));
    rows.push((
        join(
            GROUP,
            "m2",
            vec![TOPIC.to_owned(); SUBSCRIBED_TOPICS_MAX + 1],
        ),
        InvalidRequest,
    ));
    rows.push((
        join_with(
            GROUP,
            "m2",
            vec![TOPIC.to_owned()],
            Assignor::RoundRobin,
            45_000,
        ),
        InconsistentGroupProtocol,
    ));
    for (group, member) in [(GROUP, "stranger"), ("no-such-group", MEMBER)] {
        rows.push((
            Op::LeaveGroup {
                group: group.to_owned(),
                member: member.to_owned(),
            },
            UnknownMemberId,
        ));
        rows.push((heartbeat(group, member, generation), UnknownMemberId));
        rows.push((
            commit_to(group, Some(member), generation, TOPIC, 0, 1, String::new()),
            UnknownMemberId,
        ));
        rows.push((poll(group, member, generation, 1), UnknownMemberId));
    }
    rows.push((commit(None, -1, 0, 1), UnknownMemberId));
    for stale in [generation - 1, -1, i32::MIN] {
        rows.push((heartbeat(GROUP, MEMBER, stale), RebalanceInProgress));
        rows.push((poll(GROUP, MEMBER, stale, 1), RebalanceInProgress));
        rows.push((commit(Some(MEMBER), stale, 0, 3), IllegalGeneration));
    }
    for future in [generation + 1, i32::MAX] {
        rows.push((heartbeat(GROUP, MEMBER, future), IllegalGeneration));
        rows.push((poll(GROUP, MEMBER, future, 1), IllegalGeneration));
        rows.push((commit(Some(MEMBER), future, 0, 3), IllegalGeneration));
    }
    rows.push((
        commit_to(SIMPLE_GROUP, None, 0, TOPIC, 1, 2, String::new()),
        IllegalGeneration,
    ));
    for (topic, partition) in [("nope", 0), (TOPIC, 2), (TOPIC, -1)] {
        rows.push((
            commit_to(
                GROUP,
                Some(MEMBER),
                generation,
                topic,
                partition,
                1,
                String::new(),
            ),
            UnknownTopicOrPartition,
        ));
        rows.push((
            Op::Committed {
                group: GROUP.to_owned(),
                topic: topic.to_owned(),
                partition,
            },
            UnknownTopicOrPartition,
        ));
    }
    rows.push((
        commit_to(
            GROUP,
            Some(MEMBER),
            generation,
            TOPIC,
            0,
            1,
            "m".repeat(OFFSET_METADATA_BYTES_MAX + 1),
        ),
        OffsetMetadataTooLarge,
    ));
    for offset in [-1, i64::MIN] {
        rows.push((commit(Some(MEMBER), generation, 0, offset), InvalidRequest));
    }
    rows
}

#[test]
fn every_bad_op_is_refused_by_the_engine_as_by_the_model_and_changes_nothing() {
    let (mut pair, generation) = populated();
    let rows = catalogue(generation);
    assert!(rows.len() > 150, "{} rows", rows.len());
    for (op, expected) in rows {
        assert_refused(&mut pair, op, expected);
    }
}

#[test]
fn the_observation_catches_a_refusal_that_trims_the_log() {
    // Goal: the observation is not blind. Method: trim a partition by one record between two
    // observations, as a buggy refusal might, and compare.
    let (pair, _) = populated();
    let before = observe(&pair.engine);
    pair.engine
        .apply(&Op::DeleteRecords {
            topic: TOPIC.to_owned(),
            partition: 0,
            offset: 2,
        })
        .unwrap();
    assert_ne!(observe(&pair.engine), before);
}

#[test]
fn the_observation_catches_a_stored_zombie_commit() {
    let (pair, generation) = populated();
    let before = observe(&pair.engine);
    pair.engine
        .apply(&commit(Some(MEMBER), generation, 0, 3))
        .unwrap();
    assert_ne!(observe(&pair.engine), before);
}

#[test]
fn limits_are_refused_by_the_engine_as_by_the_model() {
    // Topics.
    let (mut pair, _) = populated();
    for i in 2..TOPICS_COUNT_MAX {
        pair.setup(create(&format!("t{i}"), 1, TopicConfig::default()));
    }
    assert_refused(
        &mut pair,
        create("one-too-many", 1, TopicConfig::default()),
        ErrorCode::PolicyViolation,
    );
    // Members of one group.
    for i in 1..GROUP_MEMBERS_MAX {
        pair.setup(join(GROUP, &format!("extra-{i}"), vec![TOPIC.to_owned()]));
    }
    assert_refused(
        &mut pair,
        join(GROUP, "one-too-many", vec![TOPIC.to_owned()]),
        ErrorCode::GroupMaxSizeReached,
    );
    // Groups (the fixture has two).
    for i in 2..GROUPS_COUNT_MAX {
        pair.setup(commit_to(
            &format!("group-{i}"),
            None,
            -1,
            TOPIC,
            0,
            1,
            String::new(),
        ));
    }
    assert_refused(
        &mut pair,
        join("one-too-many", MEMBER, vec![TOPIC.to_owned()]),
        ErrorCode::PolicyViolation,
    );
    assert_refused(
        &mut pair,
        commit_to("one-too-many", None, -1, TOPIC, 0, 1, String::new()),
        ErrorCode::PolicyViolation,
    );
}

#[test]
fn producer_limits_are_refused_by_the_engine_as_by_the_model() {
    let (mut pair, _) = populated();
    // Bump "tx" (producer 1) to i16::MAX; the next init retires it.
    for _ in 0..i16::MAX {
        pair.setup(Op::InitProducerId {
            transactional_id: Some("tx".to_owned()),
        });
    }
    pair.setup(Op::InitProducerId {
        transactional_id: Some("tx".to_owned()),
    });
    for epoch in [i16::MAX, 0] {
        assert_refused(
            &mut pair,
            idempotent(0, 1, batch(1, epoch, 0)),
            ErrorCode::InvalidProducerEpoch,
        );
    }
    // Issue ids up to the limit (three are issued: 0, 1 and the fresh one for "tx").
    for _ in 3..PRODUCERS_COUNT_MAX {
        pair.setup(Op::InitProducerId {
            transactional_id: None,
        });
    }
    assert_refused(
        &mut pair,
        Op::InitProducerId {
            transactional_id: None,
        },
        ErrorCode::PolicyViolation,
    );
}

#[test]
fn the_clock_never_wraps_in_the_engine() {
    let mut pair = Pair::new();
    let step_ms = TICK_MS_MAX as i64;
    let mut now_ms: i64 = 0;
    while now_ms <= i64::MAX - step_ms {
        pair.setup(Op::Tick { ms: TICK_MS_MAX });
        now_ms += step_ms;
    }
    assert_refused(
        &mut pair,
        Op::Tick { ms: TICK_MS_MAX },
        ErrorCode::InvalidRequest,
    );
}

#[test]
fn poll_without_offset_and_reset_none_in_the_engine() {
    let (mut pair, _) = populated();
    let generation = match pair.setup(Op::JoinGroup {
        group: "strict".to_owned(),
        member: "s1".to_owned(),
        topics: vec![TOPIC.to_owned()],
        assignor: Assignor::Range,
        session_timeout_ms: 45_000,
        auto_offset_reset: OffsetReset::None,
    }) {
        Reply::Joined { generation, .. } => generation,
        other => panic!("join replied {other:?}"),
    };
    assert_refused(
        &mut pair,
        poll("strict", "s1", generation, 10),
        ErrorCode::NoOffsetForPartition,
    );
    pair.setup(commit_to(
        "strict",
        Some("s1"),
        generation,
        TOPIC,
        0,
        0,
        String::new(),
    ));
    pair.setup(commit_to(
        "strict",
        Some("s1"),
        generation,
        TOPIC,
        1,
        0,
        String::new(),
    ));
    assert_refused(
        &mut pair,
        poll("strict", "s1", generation, 10),
        ErrorCode::NoOffsetForPartition,
    );
}
