//! The linearizability checker on recorded histories: the reference (model behind a mutex)
//! always passes, and a history with one outcome changed is caught at that op.

use std::time::Duration;

use streamspec::history::{record, History, Outcome};
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
    }
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
