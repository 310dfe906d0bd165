//! The linearizability checker on recorded histories: the reference (model behind a mutex)
//! always passes, and a history with one outcome changed is caught at that op.

use std::time::Duration;

use streamspec::history::{record, History, Outcome};
use streamspec::linearizability::poll_read::{self, Assignments};
use streamspec::linearizability::{check, Options, Verdict};
use streamspec::reference::Locked;
use streamspec::workload::{
    group_workload, log_workload, GroupWorkloadConfig, LogWorkloadConfig, Workload,
};
use streamspec_model::{Bytes, Reply};

fn recorded(workload: Workload) -> History {
    let target = Locked::model();
    record(&target, &workload.setup, workload.workers, workload.finale)
}

fn options() -> Options {
    Options {
        time_limit: Duration::from_secs(60),
        ..Options::default()
    }
}

fn log_history(seed: u64) -> History {
    recorded(log_workload(LogWorkloadConfig {
        threads: 4,
        ops_per_thread: 400,
        partitions: 4,
        delete_percent: 3,
        seed,
    }))
}

#[test]
fn recorded_log_histories_of_the_reference_are_linearizable_and_split_per_partition() {
    // Goal: no false alarm on a correct target, and the split is per partition with the
    // compact spec. Method: record the log workload against the locked model, check.
    for seed in 0..3 {
        let history = log_history(seed);
        let report = check(&history, &options());
        assert_eq!(report.verdict, Verdict::Linearizable, "seed {seed}");
        assert!(report.decomposed);
        assert_eq!(report.setup_ops, 1);
        assert_eq!(report.components, 4);
        assert_eq!(report.compact_components, 4);
    }
}

#[test]
fn recorded_group_histories_of_the_reference_are_linearizable() {
    // Goal: group components (group + its topic's partitions, full model) pass on a correct
    // target. Method: two groups of three members and a producer each.
    let mut split_total = 0;
    for seed in 0..2 {
        let history = recorded(group_workload(GroupWorkloadConfig {
            groups: 2,
            members: 3,
            partitions: 2,
            ops_per_thread: 60,
            seed,
        }));
        let report = check(&history, &options());
        assert_eq!(report.verdict, Verdict::Linearizable, "seed {seed}");
        assert_eq!(report.components, 2);
        assert_eq!(report.compact_components, 0);
        // The polls are checked as partition reads, not atomically: the joins state the
        // assignments.
        let assignments = Assignments::of(&history);
        split_total += history
            .ops
            .iter()
            .filter(|o| poll_read::split(o, &assignments).is_some_and(|reads| reads.len() > 1))
            .count();
    }
    // How many polls find their member holding both partitions depends on when the threads
    // join (a member alone in its group holds both until another joins), so only the total
    // over both seeds is bounded: the split path must have been exercised.
    assert!(split_total > 0, "no poll was split into several reads");
}

#[test]
fn a_changed_fetch_result_is_illegal_at_that_fetch() {
    // Goal: the checker catches a single wrong value and names the op. Method: change the
    // value of one record in one fetch reply of a correct history.
    let mut history = log_history(7);
    let target = history
        .ops
        .iter()
        .position(|o| {
            matches!(&o.outcome, Outcome::Ok(Reply::Fetched { records, .. }) if !records.is_empty())
                && o.process != 0
        })
        .expect("the workload fetches records");
    if let Outcome::Ok(Reply::Fetched { records, .. }) = &mut history.ops[target].outcome {
        records[0].value = Some(Bytes::from("never written"));
    }
    let report = check(&history, &options());
    let Verdict::Illegal(illegal) = report.verdict else {
        panic!("not caught: {:?}", report.verdict);
    };
    assert_eq!(illegal.culprit, Some(target));
    assert!(illegal.window.contains(&target));
    assert!(
        illegal.component.starts_with("partition log-"),
        "{}",
        illegal.component
    );
}

#[test]
fn a_produce_acknowledged_at_a_taken_offset_is_illegal() {
    // Goal: two batches acknowledged at one offset cannot both be linearized. Method: copy
    // one produce's base offset onto the next produce to the same partition.
    let mut history = log_history(3);
    let produces: Vec<(usize, i32, i64)> = history
        .ops
        .iter()
        .filter_map(|o| match &o.outcome {
            Outcome::Ok(Reply::Produced {
                partition,
                base_offset,
                ..
            }) => Some((o.id, *partition, *base_offset)),
            _ => None,
        })
        .collect();
    let (first, partition, offset) = produces[0];
    let second = produces
        .iter()
        .find(|(id, p, _)| *id != first && *p == partition)
        .expect("two produces to one partition")
        .0;
    if let Outcome::Ok(Reply::Produced { base_offset, .. }) = &mut history.ops[second].outcome {
        *base_offset = offset;
    }
    assert!(matches!(
        check(&history, &options()).verdict,
        Verdict::Illegal(_)
    ));
}

#[test]
fn a_file_round_trip_keeps_the_verdict() {
    // Goal: what `verify` reads is what the recorder wrote. Method: write, parse, check.
    let history = log_history(11);
    let mut text = Vec::new();
    history.write_jsonl(&mut text).unwrap();
    let parsed = History::parse(
        std::path::Path::new("x.jsonl"),
        std::str::from_utf8(&text).unwrap(),
    )
    .unwrap();
    assert_eq!(parsed.ops.len(), history.ops.len());
    assert_eq!(check(&parsed, &options()).verdict, Verdict::Linearizable);
}

#[test]
fn a_poll_that_returns_records_after_its_generation_ended_is_illegal() {
    // Goal: regression for the first finding against the engine (seed 1 of `streamspec
    // check`): a long poll validated its generation when it started, then returned records
    // produced after another member's join had started a new generation. Method: the
    // smallest history of that shape: member a joins (generation 1), polls; member b joins
    // (generation 2) and a record is produced while the poll is still running; the poll
    // returns that record as generation 1. Any order puts the poll either before the join
    // (no record yet) or after it (generation 1 refused with rebalance_in_progress).
    let text = r#"{"process":0,"type":"invoke","op":{"op":"create_topic","topic":"t","partitions":1},"time_ns":1}
{"process":0,"type":"ok","result":{"reply":"ack"},"time_ns":2}
{"process":1,"type":"invoke","op":{"op":"join_group","group":"g","member":"a","topics":["t"],"auto_offset_reset":"earliest"},"time_ns":10}
{"process":1,"type":"ok","result":{"reply":"joined","generation":1,"assignment":[{"topic":"t","partition":0}]},"time_ns":11}
{"process":1,"type":"invoke","op":{"op":"poll","group":"g","member":"a","generation":1},"time_ns":20}
{"process":2,"type":"invoke","op":{"op":"join_group","group":"g","member":"b","topics":["t"],"auto_offset_reset":"earliest"},"time_ns":21}
{"process":2,"type":"ok","result":{"reply":"joined","generation":2,"assignment":[]},"time_ns":22}
{"process":3,"type":"invoke","op":{"op":"produce","topic":"t","partition":0,"records":[{"value":"x"}]},"time_ns":30}
{"process":3,"type":"ok","result":{"reply":"produced","partition":0,"base_offset":0},"time_ns":31}
{"process":1,"type":"ok","result":{"reply":"polled","records":[{"topic":"t","partition":0,"offset":0,"timestamp_ms":0,"value":"x"}]},"time_ns":40}
"#;
    let history = History::parse(std::path::Path::new("poll.jsonl"), text).unwrap();
    let Verdict::Illegal(illegal) = check(&history, &options()).verdict else {
        panic!("a poll after its generation ended was accepted");
    };
    assert_eq!(illegal.culprit, Some(1 + 1));
    assert_eq!(illegal.component, "group g + 1 partitions");

    // The same poll returning nothing is fine: it can be placed before b's join.
    let empty = text.replace(
        r#""records":[{"topic":"t","partition":0,"offset":0,"timestamp_ms":0,"value":"x"}]"#,
        r#""records":[]"#,
    );
    let history = History::parse(std::path::Path::new("poll.jsonl"), &empty).unwrap();
    assert_eq!(check(&history, &options()).verdict, Verdict::Linearizable);
}

/// The finding's shape (a concurrent engine reads each partition of a poll at its own
/// instant): member `a` owns t-0 and t-1 and committed 2 on t-1; its poll runs while t-0's
/// offset 1 is produced and acknowledged and then t-1's offsets 2-3 are. The poll returns
/// t-0's offset 0 and t-1's offsets 2-3. `POLL_T1` is the t-1 part of the poll's reply.
fn poll_across_partitions(join_outcome: &str, poll_t1: &str) -> String {
    format!(
        r#"{{"process":0,"type":"invoke","op":{{"op":"create_topic","topic":"t","partitions":2}},"time_ns":1}}
{{"process":0,"type":"ok","result":{{"reply":"ack"}},"time_ns":2}}
{{"process":1,"type":"invoke","op":{{"op":"join_group","group":"g","member":"a","topics":["t"],"auto_offset_reset":"earliest"}},"time_ns":10}}
{join_outcome}
{{"process":2,"type":"invoke","op":{{"op":"produce","topic":"t","partition":1,"records":[{{"value":"x0"}},{{"value":"x1"}}]}},"time_ns":20}}
{{"process":2,"type":"ok","result":{{"reply":"produced","partition":1,"base_offset":0}},"time_ns":21}}
{{"process":3,"type":"invoke","op":{{"op":"commit","group":"g","member":"a","generation":1,"topic":"t","partition":1,"offset":2}},"time_ns":30}}
{{"process":3,"type":"ok","result":{{"reply":"ack"}},"time_ns":31}}
{{"process":2,"type":"invoke","op":{{"op":"produce","topic":"t","partition":0,"records":[{{"value":"y0"}}]}},"time_ns":40}}
{{"process":2,"type":"ok","result":{{"reply":"produced","partition":0,"base_offset":0}},"time_ns":41}}
{{"process":3,"type":"invoke","op":{{"op":"poll","group":"g","member":"a","generation":1,"max_records":10}},"time_ns":50}}
{{"process":2,"type":"invoke","op":{{"op":"produce","topic":"t","partition":0,"records":[{{"value":"y1"}}]}},"time_ns":51}}
{{"process":2,"type":"ok","result":{{"reply":"produced","partition":0,"base_offset":1}},"time_ns":52}}
{{"process":2,"type":"invoke","op":{{"op":"produce","topic":"t","partition":1,"records":[{{"value":"x2"}},{{"value":"x3"}}]}},"time_ns":53}}
{{"process":2,"type":"ok","result":{{"reply":"produced","partition":1,"base_offset":2}},"time_ns":54}}
{{"process":3,"type":"ok","result":{{"reply":"polled","records":[{{"topic":"t","partition":0,"offset":0,"timestamp_ms":0,"value":"y0"}}{poll_t1}]}},"time_ns":60}}
"#
    )
}

const JOINED_BOTH: &str = r#"{"process":1,"type":"ok","result":{"reply":"joined","generation":1,"assignment":[{"topic":"t","partition":0},{"topic":"t","partition":1}]},"time_ns":11}"#;
const T1_OFFSETS_2_3: &str = r#",{"topic":"t","partition":1,"offset":2,"timestamp_ms":0,"value":"x2"},{"topic":"t","partition":1,"offset":3,"timestamp_ms":0,"value":"x3"}"#;

fn verdict(text: &str) -> Verdict {
    let history = History::parse(std::path::Path::new("poll.jsonl"), text).unwrap();
    check(&history, &options()).verdict
}

#[test]
fn a_poll_read_partition_by_partition_may_return_a_later_partitions_newer_records() {
    // Goal: the gate's finding against the engine is legal under the concurrent semantics
    // (docs/model.md, "Poll"): t-0 is read before y1 lands, t-1 after x2-x3 land. Method:
    // the history above, whose only explanation reads the partitions at different instants;
    // and the same history with the join `info`, where the assignment is unknown and the
    // poll is checked atomically (stricter): then no single instant explains it.
    assert_eq!(
        verdict(&poll_across_partitions(JOINED_BOTH, T1_OFFSETS_2_3)),
        Verdict::Linearizable
    );
    let info_join = r#"{"process":1,"type":"info","time_ns":11}"#;
    let Verdict::Illegal(illegal) = verdict(&poll_across_partitions(info_join, T1_OFFSETS_2_3))
    else {
        panic!("an atomic poll explained a result only reads at two instants give");
    };
    assert_eq!(illegal.culprit, Some(5), "the poll");
}

#[test]
fn a_partition_read_that_skips_a_record_is_still_illegal() {
    // Goal: splitting a poll into reads does not loosen each read: a read is contiguous from
    // its partition's position. Method: the finding's history with t-1 giving offset 3 only
    // (position 2, committed, was jumped over); and with t-1 giving 2-3 but t-0 giving
    // offset 1 without 0.
    let skipped = r#",{"topic":"t","partition":1,"offset":3,"timestamp_ms":0,"value":"x3"}"#;
    let Verdict::Illegal(illegal) = verdict(&poll_across_partitions(JOINED_BOTH, skipped)) else {
        panic!("a read that skipped offset 2 was accepted");
    };
    assert_eq!(illegal.culprit, Some(5), "the poll");
    let text = poll_across_partitions(JOINED_BOTH, T1_OFFSETS_2_3).replace(
        r#"{"topic":"t","partition":0,"offset":0,"timestamp_ms":0,"value":"y0"}"#,
        r#"{"topic":"t","partition":0,"offset":1,"timestamp_ms":0,"value":"y1"}"#,
    );
    assert!(matches!(verdict(&text), Verdict::Illegal(_)));
}

#[test]
fn a_polls_partition_reads_take_effect_in_partition_order() {
    // Goal: the reads of one poll are ordered (t-0 before t-1), as docs/model.md says; the
    // checker does not reorder them. Method: during the poll x lands on t-1 and then y on
    // t-0; a poll returning y but not x needs t-1 read before x and t-0 after y, i.e. t-1
    // before t-0: illegal. Returning x but not y (t-0 read first) is legal.
    let base = |records: &str| {
        format!(
            r#"{{"process":0,"type":"invoke","op":{{"op":"create_topic","topic":"t","partitions":2}},"time_ns":1}}
{{"process":0,"type":"ok","result":{{"reply":"ack"}},"time_ns":2}}
{{"process":1,"type":"invoke","op":{{"op":"join_group","group":"g","member":"a","topics":["t"],"auto_offset_reset":"earliest"}},"time_ns":10}}
{JOINED_BOTH}
{{"process":1,"type":"invoke","op":{{"op":"poll","group":"g","member":"a","generation":1,"max_records":10}},"time_ns":20}}
{{"process":2,"type":"invoke","op":{{"op":"produce","topic":"t","partition":1,"records":[{{"value":"x"}}]}},"time_ns":21}}
{{"process":2,"type":"ok","result":{{"reply":"produced","partition":1,"base_offset":0}},"time_ns":22}}
{{"process":2,"type":"invoke","op":{{"op":"produce","topic":"t","partition":0,"records":[{{"value":"y"}}]}},"time_ns":23}}
{{"process":2,"type":"ok","result":{{"reply":"produced","partition":0,"base_offset":0}},"time_ns":24}}
{{"process":1,"type":"ok","result":{{"reply":"polled","records":[{records}]}},"time_ns":30}}
"#
        )
    };
    let y = r#"{"topic":"t","partition":0,"offset":0,"timestamp_ms":0,"value":"y"}"#;
    let x = r#"{"topic":"t","partition":1,"offset":0,"timestamp_ms":0,"value":"x"}"#;
    assert!(matches!(verdict(&base(y)), Verdict::Illegal(_)));
    assert_eq!(verdict(&base(x)), Verdict::Linearizable);
    assert_eq!(verdict(&base(&format!("{y},{x}"))), Verdict::Linearizable);
    assert_eq!(verdict(&base("")), Verdict::Linearizable);
}

#[test]
fn a_failed_poll_has_no_effect_even_after_some_partitions_could_have_been_read() {
    // Goal: a failed poll is one op with no effect: its reads do not store positions. Method:
    // a poll refused with rebalance_in_progress overlapping b's join, then a's rejoin and a
    // poll from the committed (none: earliest) offset that must see offset 0 again.
    let text = format!(
        r#"{{"process":0,"type":"invoke","op":{{"op":"create_topic","topic":"t","partitions":2}},"time_ns":1}}
{{"process":0,"type":"ok","result":{{"reply":"ack"}},"time_ns":2}}
{{"process":2,"type":"invoke","op":{{"op":"produce","topic":"t","partition":0,"records":[{{"value":"y"}}]}},"time_ns":3}}
{{"process":2,"type":"ok","result":{{"reply":"produced","partition":0,"base_offset":0}},"time_ns":4}}
{{"process":1,"type":"invoke","op":{{"op":"join_group","group":"g","member":"a","topics":["t"],"auto_offset_reset":"earliest"}},"time_ns":10}}
{JOINED_BOTH}
{{"process":1,"type":"invoke","op":{{"op":"poll","group":"g","member":"a","generation":1,"max_records":10}},"time_ns":20}}
{{"process":3,"type":"invoke","op":{{"op":"join_group","group":"g","member":"b","topics":["t"],"auto_offset_reset":"earliest"}},"time_ns":21}}
{{"process":3,"type":"ok","result":{{"reply":"joined","generation":2,"assignment":[{{"topic":"t","partition":1}}]}},"time_ns":22}}
{{"process":1,"type":"fail","error":"rebalance_in_progress","time_ns":30}}
{{"process":1,"type":"invoke","op":{{"op":"join_group","group":"g","member":"a","topics":["t"],"auto_offset_reset":"earliest"}},"time_ns":40}}
{{"process":1,"type":"ok","result":{{"reply":"joined","generation":2,"assignment":[{{"topic":"t","partition":0}}]}},"time_ns":41}}
{{"process":1,"type":"invoke","op":{{"op":"poll","group":"g","member":"a","generation":2,"max_records":10}},"time_ns":50}}
{{"process":1,"type":"ok","result":{{"reply":"polled","records":[RECORDS]}},"time_ns":51}}
"#
    );
    let y = r#"{"topic":"t","partition":0,"offset":0,"timestamp_ms":0,"value":"y"}"#;
    assert_eq!(verdict(&text.replace("RECORDS", y)), Verdict::Linearizable);
    assert!(matches!(
        verdict(&text.replace("RECORDS", "")),
        Verdict::Illegal(_)
    ));
}

#[test]
fn the_engines_fetch_with_bounds_from_two_instants_is_illegal_at_that_fetch() {
    // Goal: the checker catches the real engine bug `streamspec check` found (round 543 of a
    // 60 s run, seed 1; docs/SAFETY.md, "Bounds from two instants"), kept as the recorded
    // history cut to partition log-5 up to the culprit's completion. Process 1's fetch from
    // offset 5 answered log start 0 with high watermark 69, while a `delete_records` had
    // moved the log start to 29 before the high watermark reached 69. Method: the checker must
    // name that fetch; answering the log start the log had at 69 (and so refusing offset 5)
    // makes the history linearizable again.
    let path = "tests/histories/engine-fetch-bounds-from-two-instants.jsonl";
    let history = History::read(std::path::Path::new(path)).expect("the kept history");
    let culprit = history
        .ops
        .iter()
        .position(|o| {
            o.process == 1
                && matches!(
                    &o.outcome,
                    Outcome::Ok(Reply::Fetched {
                        high_watermark: 69,
                        log_start_offset: 0,
                        ..
                    })
                )
        })
        .expect("the fetch that paired the two instants");
    let Verdict::Illegal(illegal) = check(&history, &options()).verdict else {
        panic!("the history must not linearize");
    };
    assert_eq!(illegal.culprit, Some(culprit), "{illegal:?}");

    let mut mended = history.clone();
    mended.ops[culprit].outcome = Outcome::Fail(streamspec_model::ErrorCode::OffsetOutOfRange);
    assert_eq!(check(&mended, &options()).verdict, Verdict::Linearizable);
}
