//! Replay against the model: it passes what the model allows, including the allowed
//! alternatives, and reports exactly the line of anything else.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use streamspec::replay::{replay, ReplayReport};
use streamspec::trace::{record, step_line, write_trace, Step, Trace};
use streamspec_model::{
    Assignor, ErrorCode, Model, OffsetReset, OffsetSpec, Op, ProducerBatch, Record, Reply,
    RetentionPolicy, TopicConfig,
};

fn replay_text(text: &str) -> ReplayReport {
    let trace = Trace::parse(Path::new("test.jsonl"), text).unwrap_or_else(|e| panic!("{e}"));
    replay(&trace)
}

fn conformance(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../traces/conformance")
        .join(name)
}

// ---- corrupting shipped traces -----------------------------------------------------------

/// A different result than `ret`: an error where it succeeded, another error where it failed.
fn corrupted(ret: &streamspec_model::Ret) -> streamspec_model::Ret {
    match ret {
        Ok(_) => Err(ErrorCode::InvalidRequest),
        Err(ErrorCode::InvalidRequest) => Err(ErrorCode::PolicyViolation),
        Err(_) => Err(ErrorCode::InvalidRequest),
    }
}

/// Goal: replay checks every line of a conformance trace. Method: for each step line of a
/// few traces, change only that line's expected result and see replay report that exact line.
#[test]
fn a_corrupted_expected_result_is_reported_at_its_line() {
    let names = [
        "op-fetch-reads-from-offset-within-limits.jsonl",
        "op-poll-reads-assigned-partitions-in-order.jsonl",
        "op-enforce_retention-by-size.jsonl",
        "op-produce-keyless-any-partition.jsonl",
        "error-offset_out_of_range-fetch-above-high-watermark.jsonl",
        "invariant-commits_only_from_current_generation.jsonl",
    ];
    for name in names {
        let path = conformance(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let trace = Trace::read(&path).unwrap();
        assert!(replay(&trace).passed());
        let lines: Vec<&str> = text.lines().collect();
        for line in &trace.lines {
            let mut changed = lines.clone();
            let bad = step_line(&Step {
                op: line.step.op.clone(),
                ret: corrupted(&line.step.ret),
            });
            changed[line.line_number - 1] = &bad;
            let report = replay_text(&changed.join("\n"));
            let divergence = report
                .divergence
                .unwrap_or_else(|| panic!("{name}:{} corrupted but passed", line.line_number));
            assert_eq!(divergence.line_number, line.line_number, "{name}");
            assert_eq!(divergence.model, line.step.ret, "{name}");
        }
    }
}

/// Goal: a subtle corruption (one number inside a reply) is caught too. Method: change the
/// high watermark of one fetch reply.
#[test]
fn a_changed_number_inside_a_reply_is_reported() {
    let path = conformance("op-fetch-reads-from-offset-within-limits.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    let target_line = text
        .lines()
        .position(|l| l.contains("\"offset\":3,\"max_records\":500,\"max_bytes\":1"))
        .expect("the max_bytes 1 fetch")
        + 1;
    let changed: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i + 1 == target_line {
                l.replace("\"high_watermark\":5", "\"high_watermark\":6")
            } else {
                l.to_string()
            }
        })
        .collect();
    let report = replay_text(&changed.join("\n"));
    assert_eq!(report.divergence.unwrap().line_number, target_line);
}

// ---- allowed alternatives ----------------------------------------------------------------

fn create(topic: &str, partitions: i32, config: TopicConfig) -> Op {
    Op::CreateTopic {
        topic: topic.into(),
        partitions,
        config,
    }
}

fn keyless(topic: &str, value: &str) -> Op {
    Op::Produce {
        topic: topic.into(),
        partition: None,
        records: vec![Record::value(value)],
        producer: None,
    }
}

fn produced(partition: i32, base_offset: i64) -> streamspec_model::Ret {
    Ok(Reply::Produced {
        partition,
        base_offset,
        log_append_time_ms: None,
    })
}

fn fetch(topic: &str, partition: i32, offset: i64) -> Op {
    Op::Fetch {
        topic: topic.into(),
        partition,
        offset,
        max_records: 500,
        max_bytes: 1 << 20,
    }
}

fn steps_text(steps: &[Step]) -> String {
    let mut out = Vec::new();
    write_trace(&mut out, &["test"], steps).unwrap();
    String::from_utf8(out).unwrap()
}

fn step(op: Op, ret: streamspec_model::Ret) -> Step {
    Step { op, ret }
}

/// What the model itself answers to `op` after `setup`.
fn model_answer(setup: &[Op], op: &Op) -> streamspec_model::Ret {
    let mut model = Model::new();
    for earlier in setup {
        assert!(model.apply(earlier).is_ok(), "setup {earlier:?}");
    }
    model.apply(op)
}

#[test]
fn keyless_produce_to_any_partition_is_accepted_and_followed() {
    let setup = [create("t", 3, TopicConfig::default())];
    // The model picks partition 0 first; the implementation chose 2, then 2 again.
    assert_eq!(model_answer(&setup, &keyless("t", "a")), produced(0, 0));
    let fetched_at_2 = model_answer(
        &[
            setup[0].clone(),
            Op::Produce {
                topic: "t".into(),
                partition: Some(2),
                records: vec![Record::value("a")],
                producer: None,
            },
        ],
        &fetch("t", 2, 0),
    );
    let text = steps_text(&[
        step(setup[0].clone(), Ok(Reply::Ack)),
        step(keyless("t", "a"), produced(2, 0)),
        step(fetch("t", 2, 0), fetched_at_2),
        step(keyless("t", "b"), produced(2, 1)),
    ]);
    let report = replay_text(&text);
    assert!(report.passed(), "{:?}", report.divergence);
    assert_eq!(report.alternatives.len(), 2, "{:?}", report.alternatives);
    assert_eq!(report.alternatives[0].line_number, 3);
    assert!(report.alternatives[0].note.contains("partition 2"));

    // The model follows the choice: the batch really is in partition 2, and not in 0.
    let wrong_follow = steps_text(&[
        step(setup[0].clone(), Ok(Reply::Ack)),
        step(keyless("t", "a"), produced(2, 0)),
        step(keyless("t", "b"), produced(2, 0)),
    ]);
    assert_eq!(
        replay_text(&wrong_follow).divergence.unwrap().line_number,
        4
    );
}

#[test]
fn keyless_produce_to_a_partition_out_of_range_is_rejected() {
    for partition in [3, -1] {
        let text = steps_text(&[
            step(create("t", 3, TopicConfig::default()), Ok(Reply::Ack)),
            step(keyless("t", "a"), produced(partition, 0)),
        ]);
        let divergence = replay_text(&text).divergence.expect("out of range");
        assert_eq!(divergence.line_number, 3);
        assert!(divergence.reason.unwrap().contains("0..3"));
    }
    // A keyed batch has no choice: another partition than murmur2's is a divergence.
    let keyed = Op::Produce {
        topic: "t".into(),
        partition: None,
        records: vec![Record::keyed("foobar", "v")],
        producer: None,
    };
    let text = steps_text(&[
        step(create("t", 3, TopicConfig::default()), Ok(Reply::Ack)),
        step(keyed.clone(), produced(1, 0)),
    ]);
    let mut model = Model::new();
    assert_eq!(
        model.apply(&create("t", 3, TopicConfig::default())),
        Ok(Reply::Ack)
    );
    assert_eq!(model.apply(&keyed), produced(0, 0));
    assert_eq!(replay_text(&text).divergence.unwrap().line_number, 3);
}

#[test]
fn keyless_idempotent_refusal_for_the_chosen_partition_is_accepted() {
    // Producer 0 wrote sequences 0..=1 to partition 0 only. A keyless batch with base
    // sequence 2 is in order for partition 0, which the model picks, and out of order for
    // partition 1; an implementation that chose partition 1 refuses it, and that is allowed.
    let idempotent = |partition: Option<i32>, base_sequence: i32| Op::Produce {
        topic: "t".into(),
        partition,
        records: vec![Record::value("v"), Record::value("w")],
        producer: Some(ProducerBatch {
            producer_id: 0,
            producer_epoch: 0,
            base_sequence,
        }),
    };
    let init = Op::InitProducerId {
        transactional_id: None,
    };
    let create_t = create("t", 2, TopicConfig::default());
    let setup = [create_t.clone(), init.clone(), idempotent(Some(0), 0)];
    assert_eq!(model_answer(&setup, &idempotent(None, 2)), produced(0, 2));
    let text = steps_text(&[
        step(create_t, Ok(Reply::Ack)),
        step(
            init,
            Ok(Reply::ProducerId {
                producer_id: 0,
                producer_epoch: 0,
            }),
        ),
        step(idempotent(Some(0), 0), produced(0, 0)),
        step(
            idempotent(None, 2),
            Err(ErrorCode::OutOfOrderSequenceNumber),
        ),
    ]);
    let report = replay_text(&text);
    assert!(report.passed(), "{:?}", report.divergence);
    assert_eq!(report.alternatives.len(), 1);
    assert!(report.alternatives[0].note.contains("partition 1"));
    // An error no partition gives is a divergence.
    let text = text.replace("out_of_order_sequence_number", "message_too_large");
    assert_eq!(replay_text(&text).divergence.unwrap().line_number, 5);
}

fn retention_setup() -> Vec<Step> {
    // Two partitions with 3 records each, retention_bytes 0: everything is eligible.
    let config = TopicConfig {
        retention_bytes: 0,
        ..TopicConfig::default()
    };
    let ops = vec![
        create("t", 2, config),
        Op::Produce {
            topic: "t".into(),
            partition: Some(0),
            records: vec![Record::value("a"), Record::value("b"), Record::value("c")],
            producer: None,
        },
        Op::Produce {
            topic: "t".into(),
            partition: Some(1),
            records: vec![Record::value("x"), Record::value("y"), Record::value("z")],
            producer: None,
        },
    ];
    record(&mut Model::new(), ops)
}

fn retained(advanced: &[(&str, i32, i64)]) -> streamspec_model::Ret {
    Ok(Reply::Retained {
        advanced: advanced
            .iter()
            .map(|(t, p, o)| streamspec_model::PartitionLogStart {
                topic: (*t).into(),
                partition: *p,
                log_start_offset: *o,
            })
            .collect(),
    })
}

fn earliest(partition: i32, offset: i64) -> Step {
    step(
        Op::ListOffsets {
            topic: "t".into(),
            partition,
            spec: OffsetSpec::Earliest,
        },
        Ok(Reply::ListedOffset {
            offset: Some(offset),
            timestamp_ms: None,
        }),
    )
}

fn with_setup(more: Vec<Step>) -> String {
    let mut steps = retention_setup();
    steps.extend(more);
    steps_text(&steps)
}

#[test]
fn lazier_retention_is_accepted_and_followed() {
    // The model advances both partitions to 3; the implementation advanced only t-0, to 1.
    let text = with_setup(vec![
        step(Op::EnforceRetention, retained(&[("t", 0, 1)])),
        earliest(0, 1),
        earliest(1, 0),
        step(Op::EnforceRetention, retained(&[("t", 0, 3), ("t", 1, 3)])),
        earliest(0, 3),
    ]);
    let report = replay_text(&text);
    assert!(report.passed(), "{:?}", report.divergence);
    assert_eq!(report.alternatives.len(), 1);
    assert_eq!(report.alternatives[0].line_number, 5);
    assert!(report.alternatives[0].note.contains("lazier retention"));
    // Doing nothing at all is also allowed.
    let text = with_setup(vec![
        step(Op::EnforceRetention, retained(&[])),
        earliest(0, 0),
    ]);
    assert!(replay_text(&text).passed());
}

#[test]
fn ineligible_or_malformed_retention_is_rejected() {
    // (the reported advances, what the reason must say)
    type Advances = Vec<(&'static str, i32, i64)>;
    let cases: Vec<(Advances, &str)> = vec![
        (vec![("t", 0, 4)], "past its eligible log start 3"),
        (vec![("t", 2, 1)], "does not exist"),
        (vec![("u", 0, 1)], "does not exist"),
        (vec![("t", 1, 1), ("t", 0, 1)], "sorted"),
        (vec![("t", 0, 1), ("t", 0, 2)], "sorted"),
        (vec![("t", 0, 0)], "already 0"),
    ];
    for (advanced, why) in cases {
        let text = with_setup(vec![step(Op::EnforceRetention, retained(&advanced))]);
        let divergence = replay_text(&text).divergence.expect("rejected");
        assert_eq!(divergence.line_number, 5, "{advanced:?}");
        let reason = divergence.reason.unwrap_or_default();
        assert!(reason.contains(why), "{advanced:?}: {reason}");
    }
    // A partition that advanced without being reported: caught by the next read.
    let text = with_setup(vec![
        step(Op::EnforceRetention, retained(&[("t", 0, 3)])),
        earliest(1, 3),
    ]);
    assert_eq!(replay_text(&text).divergence.unwrap().line_number, 6);
    // Retention that is not eligible at all: a consumed topic nobody committed on.
    let consumed = TopicConfig {
        retention_ms: -1,
        retention_policy: RetentionPolicy::Consumed,
        ..TopicConfig::default()
    };
    let mut steps = record(
        &mut Model::new(),
        vec![
            create("c", 1, consumed),
            Op::Produce {
                topic: "c".into(),
                partition: Some(0),
                records: vec![Record::value("a")],
                producer: None,
            },
            Op::JoinGroup {
                group: "g".into(),
                member: "m".into(),
                topics: vec!["c".into()],
                assignor: Assignor::Range,
                session_timeout_ms: 45_000,
                auto_offset_reset: OffsetReset::Earliest,
            },
        ],
    );
    steps.push(step(Op::EnforceRetention, retained(&[("c", 0, 1)])));
    let divergence = replay_text(&steps_text(&steps)).divergence.unwrap();
    assert!(divergence.reason.unwrap().contains("eligible log start 0"));
}

// ---- traces the model records always replay clean ----------------------------------------

const TOPICS: [&str; 2] = ["a", "b"];
const GROUPS: [&str; 2] = ["g", "h"];
const MEMBERS: [&str; 2] = ["m1", "m2"];

fn any_record() -> impl Strategy<Value = Record> {
    (
        prop::option::of(prop::sample::select(vec!["k1", "k2", "k3"])),
        prop::option::of("[a-z]{0,4}"),
        prop::option::of(0i64..3_000),
    )
        .prop_map(|(key, value, timestamp_ms)| Record {
            key: key.map(Into::into),
            value: value.map(|v| v.as_str().into()),
            headers: Vec::new(),
            timestamp_ms,
        })
}

fn any_config() -> impl Strategy<Value = TopicConfig> {
    (
        prop::sample::select(vec![-1i64, 0, 100, 1_000]),
        prop::sample::select(vec![-1i64, 0, 40]),
        prop::sample::select(vec![RetentionPolicy::Delete, RetentionPolicy::Consumed]),
    )
        .prop_map(
            |(retention_ms, retention_bytes, retention_policy)| TopicConfig {
                retention_ms,
                retention_bytes,
                retention_policy,
                ..TopicConfig::default()
            },
        )
}

/// Ops over a small vocabulary so that they often meet: valid and invalid ones alike.
fn any_op() -> impl Strategy<Value = Op> {
    let topic = prop::sample::select(TOPICS.to_vec()).prop_map(String::from);
    let group = prop::sample::select(GROUPS.to_vec()).prop_map(String::from);
    let member = prop::sample::select(MEMBERS.to_vec()).prop_map(String::from);
    let partition = -1i32..3;
    let offset = -1i64..6;
    let generation = -1i32..5;
    prop_oneof![
        (topic.clone(), 0i32..4, any_config()).prop_map(|(topic, partitions, config)| {
            Op::CreateTopic {
                topic,
                partitions,
                config,
            }
        }),
        topic.clone().prop_map(|topic| Op::DeleteTopic { topic }),
        (
            topic.clone(),
            prop::option::of(partition.clone()),
            prop::collection::vec(any_record(), 0..4),
            prop::option::of((0i64..2, 0i16..2, 0i32..4))
        )
            .prop_map(|(topic, partition, records, producer)| Op::Produce {
                topic,
                partition,
                records,
                producer: producer.map(|(producer_id, producer_epoch, base_sequence)| {
                    ProducerBatch {
                        producer_id,
                        producer_epoch,
                        base_sequence,
                    }
                }),
            }),
        prop::option::of(prop::sample::select(vec!["tx", ""])).prop_map(|id| Op::InitProducerId {
            transactional_id: id.map(String::from)
        }),
        (
            topic.clone(),
            partition.clone(),
            offset.clone(),
            0u32..4,
            0u64..60
        )
            .prop_map(
                |(topic, partition, offset, max_records, max_bytes)| Op::Fetch {
                    topic,
                    partition,
                    offset,
                    max_records,
                    max_bytes,
                }
            ),
        (topic.clone(), partition.clone(), -1i64..3_000).prop_map(|(topic, partition, t)| {
            let spec = match t % 4 {
                0 => OffsetSpec::Earliest,
                1 => OffsetSpec::Latest,
                2 => OffsetSpec::MaxTimestamp,
                _ => OffsetSpec::Timestamp { timestamp_ms: t },
            };
            Op::ListOffsets {
                topic,
                partition,
                spec,
            }
        }),
        Just(Op::EnforceRetention),
        (topic.clone(), partition.clone(), offset.clone()).prop_map(
            |(topic, partition, offset)| Op::DeleteRecords {
                topic,
                partition,
                offset,
            }
        ),
        prop::sample::select(vec![1u64, 500, 6_001, 50_000]).prop_map(|ms| Op::Tick { ms }),
        (
            group.clone(),
            member.clone(),
            prop::collection::vec(topic.clone(), 0..3),
            prop::sample::select(vec![Assignor::Range, Assignor::RoundRobin]),
            prop::sample::select(vec![6_000i64, 45_000, 5_000]),
            prop::sample::select(vec![
                OffsetReset::Earliest,
                OffsetReset::Latest,
                OffsetReset::None
            ])
        )
            .prop_map(
                |(group, member, topics, assignor, session_timeout_ms, auto_offset_reset)| {
                    Op::JoinGroup {
                        group,
                        member,
                        topics,
                        assignor,
                        session_timeout_ms,
                        auto_offset_reset,
                    }
                }
            ),
        (group.clone(), member.clone())
            .prop_map(|(group, member)| Op::LeaveGroup { group, member }),
        (group.clone(), member.clone(), generation.clone()).prop_map(
            |(group, member, generation)| Op::Heartbeat {
                group,
                member,
                generation,
            }
        ),
        (
            group.clone(),
            prop::option::of(member.clone()),
            generation.clone(),
            topic.clone(),
            partition.clone(),
            offset
        )
            .prop_map(
                |(group, member, generation, topic, partition, offset)| Op::Commit {
                    group,
                    member,
                    generation,
                    topic,
                    partition,
                    offset,
                    metadata: String::new(),
                }
            ),
        (group.clone(), topic, partition).prop_map(|(group, topic, partition)| Op::Committed {
            group,
            topic,
            partition,
        }),
        (group.clone(), member, generation, 0u32..4).prop_map(
            |(group, member, generation, max_records)| Op::Poll {
                group,
                member,
                generation,
                max_records,
            }
        ),
        group.prop_map(|group| Op::DescribeGroup { group }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Goal: whatever the model answers, replay accepts, through writing and reading the
    /// trace text. Method: record random ops from the model, write, parse, replay.
    #[test]
    fn a_trace_recorded_from_the_model_replays_clean(ops in prop::collection::vec(any_op(), 1..60)) {
        let steps = record(&mut Model::new(), ops);
        let text = steps_text(&steps);
        let report = replay_text(&text);
        prop_assert!(report.passed(), "{:?}\n{}", report.divergence, text);
        prop_assert!(report.alternatives.is_empty(), "{:?}", report.alternatives);
        prop_assert_eq!(report.steps_count, steps.len());
    }

    /// Goal: replay notices any single changed result. Method: record, change one result to
    /// another, replay: the divergence is at that line.
    #[test]
    fn a_changed_result_in_a_recorded_trace_is_found_at_its_line(
        ops in prop::collection::vec(any_op(), 1..40),
        pick in any::<prop::sample::Index>(),
    ) {
        let mut steps = record(&mut Model::new(), ops);
        let index = pick.index(steps.len());
        // An enforce_retention that advanced nothing: the changed reply (an error) is still
        // rejected, so every step can be picked.
        steps[index].ret = corrupted(&steps[index].ret);
        let report = replay_text(&steps_text(&steps));
        let divergence = report.divergence.expect("a changed result is a divergence");
        // Line 1 is the comment the writer puts first.
        prop_assert_eq!(divergence.line_number, index + 2);
    }
}

// ---- recording from other targets ---------------------------------------------------------

/// A planted bug: the implementation stores the offset it processed rather than the next one
/// to read (commit n is stored as n - 1), the classic off-by-one of consumers.
struct CommitsProcessedOffset(Model);

impl streamspec::target::Target for CommitsProcessedOffset {
    fn name(&self) -> String {
        "commits-processed-offset".into()
    }

    fn apply(&mut self, op: &Op) -> streamspec_model::Ret {
        match op {
            Op::Commit {
                group,
                member,
                generation,
                topic,
                partition,
                offset,
                metadata,
            } => self.0.apply(&Op::Commit {
                group: group.clone(),
                member: member.clone(),
                generation: *generation,
                topic: topic.clone(),
                partition: *partition,
                offset: offset - 1,
                metadata: metadata.clone(),
            }),
            other => self.0.apply(other),
        }
    }
}

/// An allowed variation: keyless batches always go to the last partition.
struct KeylessToLastPartition(Model);

impl streamspec::target::Target for KeylessToLastPartition {
    fn name(&self) -> String {
        "keyless-to-last-partition".into()
    }

    fn apply(&mut self, op: &Op) -> streamspec_model::Ret {
        match op {
            Op::Produce {
                topic,
                partition: None,
                records,
                producer,
            } if records.first().is_some_and(|r| r.key.is_none()) => {
                let last = self.0.partition_count(topic).unwrap_or(1) - 1;
                self.0.apply(&Op::Produce {
                    topic: topic.clone(),
                    partition: Some(last),
                    records: records.clone(),
                    producer: *producer,
                })
            }
            other => self.0.apply(other),
        }
    }
}

fn scenario_ops(name: &str) -> Vec<Op> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../traces/scenarios")
        .join(name);
    let trace = Trace::read(&path).unwrap();
    trace.lines.into_iter().map(|l| l.step.op).collect()
}

/// Goal: a trace recorded from a buggy implementation fails replay where the bug shows.
/// Method: record the produce-poll-commit scenario's ops from a target that commits the
/// processed offset; the first divergence is the `committed` read, which says 0, not 1.
#[test]
fn a_trace_recorded_from_a_planted_bug_fails_where_the_bug_shows() {
    let ops = scenario_ops("produce-poll-commit.jsonl");
    let steps = record(&mut CommitsProcessedOffset(Model::new()), ops);
    let report = replay_text(&steps_text(&steps));
    let divergence = report.divergence.expect("the off-by-one commit is caught");
    assert_eq!(divergence.op.name(), "committed");
    assert_eq!(
        divergence.model,
        Ok(Reply::CommittedOffset {
            offset: Some(1),
            metadata: Some(String::new())
        })
    );
}

/// Goal: a trace recorded from an implementation that makes another allowed choice passes.
/// Method: record keyless produces and reads of their partition from a target that puts
/// keyless batches in the last partition.
#[test]
fn a_trace_recorded_from_an_allowed_variation_passes() {
    let mut ops = vec![create("t", 3, TopicConfig::default())];
    for value in ["a", "b", "c"] {
        ops.push(keyless("t", value));
    }
    ops.push(fetch("t", 2, 0));
    ops.push(fetch("t", 0, 0));
    let steps = record(&mut KeylessToLastPartition(Model::new()), ops);
    let report = replay_text(&steps_text(&steps));
    assert!(report.passed(), "{:?}", report.divergence);
    // Each batch is an alternative: the model would pick partition 0, and since replay applies
    // the batch with the partition the trace chose, the model's round-robin counter stays.
    assert_eq!(report.alternatives.len(), 3, "{:?}", report.alternatives);
    assert!(report
        .alternatives
        .iter()
        .all(|a| a.note.contains("partition 2")));
}
