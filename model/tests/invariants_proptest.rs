//! Random op sequences, valid and invalid, keep every invariant; and the model is
//! deterministic.
//!
//! Method: proptest generates abstract steps over a tiny universe (topics "a", "b" and the
//! illegal "bad name!"; groups "g1", "g2" and the illegal ""; members "m1".."m3"; partitions
//! -1..4). Each step is resolved against the current state into a concrete [`Op`], so offsets
//! land near the log start or the high watermark (-2..+2), generations near the current one
//! (stale, current, future), producer epochs near the current one, and a step may retry the
//! last produce exactly (an idempotent duplicate). After every op, `invariants::check_all`
//! must pass.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use streamspec_model::invariants::check_all;
use streamspec_model::{
    Assignor, ErrorCode, Model, OffsetReset, OffsetSpec, Op, ProducerBatch, Record, Ret,
    RetentionPolicy, TimestampType, TopicConfig,
};

const TOPICS: [&str; 3] = ["a", "b", "bad name!"];
const GROUPS: [&str; 3] = ["g1", "g2", ""];
const MEMBERS: [&str; 3] = ["m1", "m2", "m3"];
const KEYS: [&str; 3] = ["k0", "k1", "order-17"];

/// Where a generated offset is measured from.
#[derive(Clone, Copy, Debug)]
enum OffsetBase {
    LogStart,
    HighWatermark,
    Zero,
}

#[derive(Clone, Copy, Debug)]
struct OffsetChoice {
    base: OffsetBase,
    delta: i64,
}

#[derive(Clone, Debug)]
struct RecordChoice {
    key: Option<usize>,
    value_bytes: usize,
    timestamp_ms: Option<i64>,
}

#[derive(Clone, Debug)]
struct ProducerChoice {
    producer_id: i64,
    epoch_delta: i16,
    base_sequence: i32,
}

#[derive(Clone, Debug)]
enum Step {
    CreateTopic {
        topic: usize,
        partitions: i32,
        config: usize,
    },
    DeleteTopic {
        topic: usize,
    },
    Produce {
        topic: usize,
        partition: Option<i32>,
        records: Vec<RecordChoice>,
        producer: Option<ProducerChoice>,
    },
    RetryLastProduce,
    InitProducerId {
        transactional_id: Option<usize>,
    },
    Fetch {
        topic: usize,
        partition: i32,
        offset: OffsetChoice,
        max_records: u32,
        max_bytes: u64,
    },
    ListOffsets {
        topic: usize,
        partition: i32,
        spec: OffsetSpec,
    },
    EnforceRetention,
    DeleteRecords {
        topic: usize,
        partition: i32,
        offset: OffsetChoice,
    },
    Tick {
        ms: u64,
    },
    Join {
        group: usize,
        member: usize,
        topics: Vec<usize>,
        assignor: Assignor,
        session_timeout_ms: i64,
        reset: OffsetReset,
    },
    Leave {
        group: usize,
        member: usize,
    },
    Heartbeat {
        group: usize,
        member: usize,
        generation_delta: i32,
    },
    Commit {
        group: usize,
        member: Option<usize>,
        generation_delta: Option<i32>,
        topic: usize,
        partition: i32,
        offset: OffsetChoice,
        metadata_bytes: usize,
    },
    Committed {
        group: usize,
        topic: usize,
        partition: i32,
    },
    Poll {
        group: usize,
        member: usize,
        generation_delta: i32,
        max_records: u32,
    },
    DescribeGroup {
        group: usize,
    },
}

fn configs() -> Vec<TopicConfig> {
    let base = TopicConfig::default();
    vec![
        base.clone(),
        TopicConfig {
            retention_ms: 10_000,
            ..base.clone()
        },
        TopicConfig {
            retention_bytes: 60,
            retention_ms: -1,
            ..base.clone()
        },
        TopicConfig {
            retention_policy: RetentionPolicy::Consumed,
            retention_ms: -1,
            ..base.clone()
        },
        TopicConfig {
            timestamp_type: TimestampType::LogAppendTime,
            retention_ms: 5_000,
            ..base.clone()
        },
        TopicConfig {
            max_message_bytes: 40,
            ..base.clone()
        },
        TopicConfig {
            retention_ms: -2,
            ..base
        },
    ]
}

fn offset_choice() -> impl Strategy<Value = OffsetChoice> {
    (
        prop_oneof![
            Just(OffsetBase::LogStart),
            Just(OffsetBase::HighWatermark),
            Just(OffsetBase::Zero)
        ],
        -2i64..=2,
    )
        .prop_map(|(base, delta)| OffsetChoice { base, delta })
}

fn record_choice() -> impl Strategy<Value = RecordChoice> {
    (
        proptest::option::of(0..KEYS.len()),
        0usize..12,
        prop_oneof![
            4 => Just(None),
            4 => (0i64..30_000).prop_map(Some),
            1 => Just(Some(-1)),
        ],
    )
        .prop_map(|(key, value_bytes, timestamp_ms)| RecordChoice {
            key,
            value_bytes,
            timestamp_ms,
        })
}

fn producer_choice() -> impl Strategy<Value = ProducerChoice> {
    (
        0i64..3,
        prop_oneof![6 => Just(0i16), 1 => -1i16..=1],
        -1i32..7,
    )
        .prop_map(|(producer_id, epoch_delta, base_sequence)| ProducerChoice {
            producer_id,
            epoch_delta,
            base_sequence,
        })
}

fn partition() -> impl Strategy<Value = i32> {
    -1i32..4
}

fn topic() -> impl Strategy<Value = usize> {
    prop_oneof![5 => 0usize..2, 1 => Just(2usize)]
}

fn group() -> impl Strategy<Value = usize> {
    prop_oneof![5 => 0usize..2, 1 => Just(2usize)]
}

fn member() -> impl Strategy<Value = usize> {
    0usize..MEMBERS.len()
}

fn generation_delta() -> impl Strategy<Value = i32> {
    prop_oneof![6 => Just(0), 1 => Just(-1), 1 => Just(1), 1 => Just(-5)]
}

fn step() -> impl Strategy<Value = Step> {
    let offset_spec = prop_oneof![
        Just(OffsetSpec::Earliest),
        Just(OffsetSpec::Latest),
        Just(OffsetSpec::MaxTimestamp),
        (-1i64..30_000).prop_map(|timestamp_ms| OffsetSpec::Timestamp { timestamp_ms }),
    ];
    prop_oneof![
        3 => (topic(), -1i32..4, 0..configs().len()).prop_map(|(topic, partitions, config)| {
            Step::CreateTopic { topic, partitions, config }
        }),
        1 => topic().prop_map(|topic| Step::DeleteTopic { topic }),
        8 => (
            topic(),
            proptest::option::of(partition()),
            proptest::collection::vec(record_choice(), 0..4),
            proptest::option::weighted(0.4, producer_choice()),
        )
            .prop_map(|(topic, partition, records, producer)| Step::Produce {
                topic,
                partition,
                records,
                producer,
            }),
        2 => Just(Step::RetryLastProduce),
        1 => proptest::option::of(0usize..2)
            .prop_map(|transactional_id| Step::InitProducerId { transactional_id }),
        3 => (topic(), partition(), offset_choice(), 0u32..5, 0u64..100).prop_map(
            |(topic, partition, offset, max_records, max_bytes)| Step::Fetch {
                topic,
                partition,
                offset,
                max_records,
                max_bytes,
            }
        ),
        1 => (topic(), partition(), offset_spec)
            .prop_map(|(topic, partition, spec)| Step::ListOffsets { topic, partition, spec }),
        2 => Just(Step::EnforceRetention),
        1 => (topic(), partition(), offset_choice())
            .prop_map(|(topic, partition, offset)| Step::DeleteRecords { topic, partition, offset }),
        3 => prop_oneof![9 => 0u64..12_000, 1 => Just(u64::MAX)].prop_map(|ms| Step::Tick { ms }),
        4 => (
            group(),
            member(),
            proptest::collection::vec(topic(), 0..3),
            prop_oneof![4 => Just(Assignor::Range), 1 => Just(Assignor::RoundRobin)],
            prop_oneof![8 => Just(10_000i64), 1 => Just(5_999i64), 1 => Just(60_000i64)],
            prop_oneof![Just(OffsetReset::Earliest), Just(OffsetReset::Latest), Just(OffsetReset::None)],
        )
            .prop_map(|(group, member, topics, assignor, session_timeout_ms, reset)| Step::Join {
                group,
                member,
                topics,
                assignor,
                session_timeout_ms,
                reset,
            }),
        1 => (group(), member()).prop_map(|(group, member)| Step::Leave { group, member }),
        2 => (group(), member(), generation_delta()).prop_map(|(group, member, generation_delta)| {
            Step::Heartbeat { group, member, generation_delta }
        }),
        4 => (
            group(),
            proptest::option::weighted(0.7, member()),
            prop_oneof![4 => Just(None), 1 => generation_delta().prop_map(Some)],
            topic(),
            partition(),
            offset_choice(),
            prop_oneof![9 => Just(3usize), 1 => Just(5_000usize)],
        )
            .prop_map(
                |(group, member, generation_delta, topic, partition, offset, metadata_bytes)| {
                    Step::Commit {
                        group,
                        member,
                        generation_delta,
                        topic,
                        partition,
                        offset,
                        metadata_bytes,
                    }
                }
            ),
        1 => (group(), topic(), partition())
            .prop_map(|(group, topic, partition)| Step::Committed { group, topic, partition }),
        5 => (group(), member(), generation_delta(), 0u32..5).prop_map(
            |(group, member, generation_delta, max_records)| Step::Poll {
                group,
                member,
                generation_delta,
                max_records,
            }
        ),
        1 => group().prop_map(|group| Step::DescribeGroup { group }),
    ]
}

/// Turns abstract steps into concrete ops against the model's current state.
#[derive(Default)]
struct Resolver {
    last_produce: Option<Op>,
}

impl Resolver {
    fn offset(model: &Model, topic: &str, partition: i32, choice: OffsetChoice) -> i64 {
        let base = match choice.base {
            OffsetBase::LogStart => model.log_start_offset(topic, partition).unwrap_or(0),
            OffsetBase::HighWatermark => model.high_watermark(topic, partition).unwrap_or(0),
            OffsetBase::Zero => 0,
        };
        base + choice.delta
    }

    fn generation(model: &Model, group: &str, delta: i32) -> i32 {
        model.group(group).map_or(0, |g| g.generation()) + delta
    }

    fn resolve(&mut self, model: &Model, step: &Step) -> Op {
        match step.clone() {
            Step::CreateTopic {
                topic,
                partitions,
                config,
            } => Op::CreateTopic {
                topic: TOPICS[topic].into(),
                partitions,
                config: configs()[config].clone(),
            },
            Step::DeleteTopic { topic } => Op::DeleteTopic {
                topic: TOPICS[topic].into(),
            },
            Step::Produce {
                topic,
                partition,
                records,
                producer,
            } => {
                let op = Op::Produce {
                    topic: TOPICS[topic].into(),
                    partition,
                    records: records
                        .iter()
                        .map(|r| Record {
                            key: r.key.map(|k| KEYS[k].into()),
                            value: Some("x".repeat(r.value_bytes).as_str().into()),
                            headers: vec![],
                            timestamp_ms: r.timestamp_ms,
                        })
                        .collect(),
                    producer: producer.map(|p| ProducerBatch {
                        producer_id: p.producer_id,
                        producer_epoch: model.producer_epoch(p.producer_id).unwrap_or(0)
                            + p.epoch_delta,
                        base_sequence: p.base_sequence,
                    }),
                };
                self.last_produce = Some(op.clone());
                op
            }
            Step::RetryLastProduce => self.last_produce.clone().unwrap_or(Op::EnforceRetention),
            Step::InitProducerId { transactional_id } => Op::InitProducerId {
                transactional_id: transactional_id.map(|i| format!("tx{i}")),
            },
            Step::Fetch {
                topic,
                partition,
                offset,
                max_records,
                max_bytes,
            } => Op::Fetch {
                topic: TOPICS[topic].into(),
                partition,
                offset: Self::offset(model, TOPICS[topic], partition, offset),
                max_records,
                max_bytes,
            },
            Step::ListOffsets {
                topic,
                partition,
                spec,
            } => Op::ListOffsets {
                topic: TOPICS[topic].into(),
                partition,
                spec,
            },
            Step::EnforceRetention => Op::EnforceRetention,
            Step::DeleteRecords {
                topic,
                partition,
                offset,
            } => Op::DeleteRecords {
                topic: TOPICS[topic].into(),
                partition,
                offset: Self::offset(model, TOPICS[topic], partition, offset),
            },
            Step::Tick { ms } => Op::Tick { ms },
            Step::Join {
                group,
                member,
                topics,
                assignor,
                session_timeout_ms,
                reset,
            } => Op::JoinGroup {
                group: GROUPS[group].into(),
                member: MEMBERS[member].into(),
                topics: topics.iter().map(|&t| TOPICS[t].to_string()).collect(),
                assignor,
                session_timeout_ms,
                auto_offset_reset: reset,
            },
            Step::Leave { group, member } => Op::LeaveGroup {
                group: GROUPS[group].into(),
                member: MEMBERS[member].into(),
            },
            Step::Heartbeat {
                group,
                member,
                generation_delta,
            } => Op::Heartbeat {
                group: GROUPS[group].into(),
                member: MEMBERS[member].into(),
                generation: Self::generation(model, GROUPS[group], generation_delta),
            },
            Step::Commit {
                group,
                member,
                generation_delta,
                topic,
                partition,
                offset,
                metadata_bytes,
            } => Op::Commit {
                group: GROUPS[group].into(),
                member: member.map(|m| MEMBERS[m].to_string()),
                generation: match (member, generation_delta) {
                    (None, None) => -1,
                    (_, delta) => Self::generation(model, GROUPS[group], delta.unwrap_or(0)),
                },
                topic: TOPICS[topic].into(),
                partition,
                offset: Self::offset(model, TOPICS[topic], partition, offset),
                metadata: "m".repeat(metadata_bytes),
            },
            Step::Committed {
                group,
                topic,
                partition,
            } => Op::Committed {
                group: GROUPS[group].into(),
                topic: TOPICS[topic].into(),
                partition,
            },
            Step::Poll {
                group,
                member,
                generation_delta,
                max_records,
            } => Op::Poll {
                group: GROUPS[group].into(),
                member: MEMBERS[member].into(),
                generation: Self::generation(model, GROUPS[group], generation_delta),
                max_records,
            },
            Step::DescribeGroup { group } => Op::DescribeGroup {
                group: GROUPS[group].into(),
            },
        }
    }
}

/// Runs `steps` on a fresh model, checking every invariant after every op. Returns the ops
/// and results, or the first violation.
fn run_checked(steps: &[Step]) -> Result<(Vec<(Op, Ret)>, Model), String> {
    let mut model = Model::new();
    let mut resolver = Resolver::default();
    let mut history = Vec::new();
    for step in steps {
        let op = resolver.resolve(&model, step);
        let before = model.clone();
        let ret = model.apply(&op);
        check_all(&before, &op, &ret, &model)
            .map_err(|violation| format!("{violation}\n  after {op:?}\n  -> {ret:?}"))?;
        history.push((op, ret));
    }
    Ok((history, model))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Every invariant holds after every op of a random sequence.
    #[test]
    fn random_op_sequences_keep_every_invariant(
        steps in proptest::collection::vec(step(), 1..80)
    ) {
        if let Err(failure) = run_checked(&steps) {
            prop_assert!(false, "{}", failure);
        }
    }

    /// The same ops on a fresh model give the same results and the same final state.
    #[test]
    fn the_model_is_deterministic(steps in proptest::collection::vec(step(), 1..60)) {
        let (history, first) = run_checked(&steps).map_err(TestCaseError::fail)?;
        let mut second = Model::new();
        for (op, ret) in &history {
            prop_assert_eq!(&second.apply(op), ret, "{:?}", op);
        }
        prop_assert_eq!(first, second);
    }
}

/// Goal: the generator explores, so the proptests above mean something. Method: generate a
/// fixed-seed batch of sequences and require that every op succeeds somewhere and that most
/// error codes are produced somewhere.
#[test]
fn the_generator_reaches_every_op_and_most_errors() {
    let mut runner = TestRunner::deterministic();
    let strategy = proptest::collection::vec(step(), 40..80);
    let mut succeeded: BTreeSet<&'static str> = BTreeSet::new();
    let mut errors: BTreeMap<ErrorCode, usize> = BTreeMap::new();
    let mut duplicates = 0;
    for _ in 0..400 {
        let steps = strategy.new_tree(&mut runner).unwrap().current();
        let (history, _) = run_checked(&steps).unwrap();
        let mut seen_produce: BTreeMap<String, Ret> = BTreeMap::new();
        for (op, ret) in history {
            match &ret {
                Ok(_) => {
                    succeeded.insert(op.name());
                }
                Err(code) => *errors.entry(*code).or_default() += 1,
            }
            if let Op::Produce {
                producer: Some(_), ..
            } = &op
            {
                let key = format!("{op:?}");
                if ret.is_ok() && seen_produce.get(&key) == Some(&ret) {
                    duplicates += 1;
                }
                seen_produce.insert(key, ret);
            }
        }
    }
    let all_ops = [
        "create_topic",
        "delete_topic",
        "produce",
        "init_producer_id",
        "fetch",
        "list_offsets",
        "enforce_retention",
        "delete_records",
        "tick",
        "join_group",
        "leave_group",
        "heartbeat",
        "commit",
        "committed",
        "poll",
        "describe_group",
    ];
    for op in all_ops {
        assert!(succeeded.contains(op), "{op} never succeeded");
    }
    assert!(duplicates > 0, "no idempotent retry was ever a duplicate");
    // Limits that need hundreds of topics, groups or members are covered by unit tests.
    let unreachable_here = [
        ErrorCode::PolicyViolation,
        ErrorCode::GroupMaxSizeReached,
        ErrorCode::RecordListTooLarge,
    ];
    for code in ErrorCode::ALL {
        if !unreachable_here.contains(&code) {
            assert!(
                errors.contains_key(&code),
                "{code} never produced: {errors:?}"
            );
        }
    }
}
