//! The checks have teeth: each named divergence is caught in a small recorded run where one
//! planted misbehaviour of the broker shows it, and the same run without the plant is clean.
//! No broker is needed: the runs are recorded from scripted answers.

use streamspec_kafka::check::check;
use streamspec_kafka::history::{GroupObservation, Recorder};
use streamspec_kafka::workload::{Run, Workload};
use streamspec_model::partitioner::kafka_partition;
use streamspec_model::{ErrorCode, OffsetSpec, Op, Record, Reply, StoredRecord, TopicPartition};

/// One broker misbehaviour to plant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plant {
    None,
    LostWrite,
    InconsistentRead,
    Duplicate,
    KeyedElsewhere,
    StaleRead,
    SplitOwnership,
    ResumeBelowCommitted,
    CommitReadback,
    ProduceRefused,
    HighWatermarkAboveLog,
}

fn stored(offset: i64, value: &str) -> StoredRecord {
    StoredRecord {
        offset,
        timestamp_ms: 0,
        key: None,
        value: Some(value.into()),
        headers: vec![],
    }
}

fn fetched(records: Vec<StoredRecord>, high_watermark: i64) -> Reply {
    Reply::Fetched {
        records,
        high_watermark,
        log_start_offset: 0,
    }
}

/// Topic t0 with two partitions; `p-0` produced to partition 0, a fetch, a keyed `p-1`, a
/// group member that reads and commits, then the drain.
fn recorded(plant: Plant) -> Run {
    let workload = Workload {
        topics: 1,
        partitions: 2,
        groups: 1,
        ..Workload::default()
    };
    let recorder = Recorder::new();
    let t0 = || "t0".to_string();
    let tp = |p: i32| TopicPartition::new("t0", p);
    let _ = recorder.run(
        0,
        &Op::CreateTopic {
            topic: t0(),
            partitions: 2,
            config: workload.topic_config(),
        },
        |_| Ok(Ok(Reply::Ack)),
    );
    let produce = Op::Produce {
        topic: t0(),
        partition: Some(0),
        records: vec![Record::value("p-0")],
        producer: None,
    };
    let _ = recorder.run(1, &produce, |_| {
        if plant == Plant::ProduceRefused {
            Ok(Err(ErrorCode::UnknownTopicOrPartition))
        } else {
            Ok(Ok(Reply::Produced {
                partition: 0,
                base_offset: 0,
                log_append_time_ms: None,
            }))
        }
    });
    let fetch = Op::Fetch {
        topic: t0(),
        partition: 0,
        offset: 0,
        max_records: 10,
        max_bytes: 1 << 20,
    };
    let _ = recorder.run(2, &fetch, |_| {
        Ok(Ok(match plant {
            Plant::InconsistentRead => fetched(vec![stored(0, "other")], 1),
            Plant::StaleRead => fetched(vec![], 0),
            _ => fetched(vec![stored(0, "p-0")], 1),
        }))
    });
    let keyed_partition = kafka_partition(b"k", 2);
    let landed = if plant == Plant::KeyedElsewhere {
        1 - keyed_partition
    } else {
        keyed_partition
    };
    let keyed = Op::Produce {
        topic: t0(),
        partition: None,
        records: vec![Record::keyed("k", "p-1")],
        producer: None,
    };
    let keyed_offset = if landed == 0 { 1 } else { 0 };
    let _ = recorder.run(1, &keyed, |_| {
        Ok(Ok(Reply::Produced {
            partition: landed,
            base_offset: keyed_offset,
            log_append_time_ms: None,
        }))
    });
    recorder.push_group("g0", "m0", GroupObservation::Assigned(vec![tp(0), tp(1)]));
    if plant == Plant::SplitOwnership {
        recorder.push_group("g0", "m1", GroupObservation::Assigned(vec![tp(0)]));
    }
    recorder.push_group(
        "g0",
        "m0",
        GroupObservation::Record {
            partition: tp(0),
            offset: 0,
            value: Some("p-0".into()),
        },
    );
    let invoke_ns = recorder.now_ns();
    recorder.push_group(
        "g0",
        "m0",
        GroupObservation::Commit {
            partition: tp(0),
            offset: 1,
            invoke_ns,
            error: None,
        },
    );
    recorder.push_group("g0", "m0", GroupObservation::Revoked(vec![tp(0), tp(1)]));
    if plant == Plant::ResumeBelowCommitted {
        recorder.push_group("g0", "m2", GroupObservation::Assigned(vec![tp(0)]));
        recorder.push_group(
            "g0",
            "m2",
            GroupObservation::Record {
                partition: tp(0),
                offset: 0,
                value: Some("p-0".into()),
            },
        );
    }
    let drain_started_ns = recorder.now_ns();
    // The final log: p-0 at 0 of partition 0; p-1 where the keyed produce landed.
    let mut log: [Vec<StoredRecord>; 2] = [vec![], vec![]];
    if plant != Plant::LostWrite && plant != Plant::ProduceRefused {
        log[0].push(stored(0, "p-0"));
    }
    if plant == Plant::ProduceRefused {
        // The refused produce's record is in the log after all: a refusal that changed things.
        log[0].push(stored(0, "p-0"));
    }
    log[landed as usize].push(stored(log[landed as usize].len() as i64, "p-1"));
    if plant == Plant::Duplicate {
        let next = log[1].len() as i64;
        log[1].push(stored(next, "p-0"));
    }
    for partition in 0..2 {
        let records = log[partition as usize].clone();
        let mut high_watermark = records.len() as i64;
        if plant == Plant::HighWatermarkAboveLog && partition == 1 {
            high_watermark += 1;
        }
        let drain = Op::Fetch {
            topic: t0(),
            partition,
            offset: 0,
            max_records: 500,
            max_bytes: 1 << 20,
        };
        let _ = recorder.run(3, &drain, |_| Ok(Ok(fetched(records, high_watermark))));
        let list = Op::ListOffsets {
            topic: t0(),
            partition,
            spec: OffsetSpec::Latest,
        };
        let _ = recorder.run(3, &list, |_| {
            Ok(Ok(Reply::ListedOffset {
                offset: Some(high_watermark),
                timestamp_ms: None,
            }))
        });
        let offset = match (partition, plant) {
            (0, Plant::CommitReadback) => Some(0),
            (0, _) => Some(1),
            _ => None,
        };
        recorder.push_group(
            "g0",
            "drain",
            GroupObservation::CommittedRead {
                partition: tp(partition),
                offset,
            },
        );
    }
    let (events, group_events) = recorder.take();
    Run {
        workload,
        events,
        group_events,
        adapter_problems: vec![],
        final_reads: vec![],
        drain_started_ns,
    }
}

/// Goal: the unplanted run is clean, so every plant below is caught for its own reason.
#[test]
fn a_broker_that_behaves_gives_a_clean_report() {
    let report = check(&recorded(Plant::None));
    assert!(report.is_clean(), "{:#?}", report.divergences);
}

/// Goal: each planted misbehaviour is reported under its name. Method: plant it, check,
/// and look for the name.
#[test]
fn each_planted_misbehaviour_is_named() {
    let cases = [
        (Plant::LostWrite, "lost-write"),
        (Plant::InconsistentRead, "inconsistent-offsets"),
        (Plant::Duplicate, "duplicate"),
        (Plant::KeyedElsewhere, "keyed-partition"),
        (Plant::StaleRead, "stale-read"),
        (Plant::SplitOwnership, "split-ownership"),
        (Plant::ResumeBelowCommitted, "resume-not-at-committed"),
        (Plant::CommitReadback, "commit-readback"),
        (Plant::ProduceRefused, "unexpected-error"),
        (Plant::HighWatermarkAboveLog, "model-replay"),
    ];
    for (plant, name) in cases {
        let report = check(&recorded(plant));
        assert!(
            report.counts.contains_key(name),
            "{plant:?} should be reported as {name}: {:#?}",
            report.divergences
        );
        let shown = report.divergences.iter().find(|d| d.name == name).unwrap();
        assert!(!shown.explanation.is_empty());
    }
}
