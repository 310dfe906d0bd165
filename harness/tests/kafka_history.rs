//! The broker recorder's histories are ones the gate reads and judges: the format is shared,
//! not merely similar. Needs the `kafka` feature (`cargo test -p streamspec --features kafka`).
#![cfg(feature = "kafka")]

use std::path::Path;

use streamspec::gate::judge;
use streamspec::history::History;
use streamspec::linearizability::Options;
use streamspec_kafka::history::{write_events, Recorder};
use streamspec_model::{Op, Record, Reply, StoredRecord, TopicConfig};

/// A setup, one produce and one fetch; `planted` makes the fetch read a value never written.
fn recorded(planted: bool) -> String {
    let recorder = Recorder::new();
    let create = Op::CreateTopic {
        topic: "t".into(),
        partitions: 1,
        config: TopicConfig {
            retention_ms: -1,
            ..TopicConfig::default()
        },
    };
    let _ = recorder.run(0, &create, |_| Ok(Ok(Reply::Ack)));
    let produce = Op::Produce {
        topic: "t".into(),
        partition: Some(0),
        records: vec![Record::value("a")],
        producer: None,
    };
    let _ = recorder.run(1, &produce, |_| {
        Ok(Ok(Reply::Produced {
            partition: 0,
            base_offset: 0,
            log_append_time_ms: None,
        }))
    });
    let fetch = Op::Fetch {
        topic: "t".into(),
        partition: 0,
        offset: 0,
        max_records: 10,
        max_bytes: 1 << 20,
    };
    let value = if planted { "z" } else { "a" };
    let _ = recorder.run(2, &fetch, |_| {
        Ok(Ok(Reply::Fetched {
            records: vec![StoredRecord {
                offset: 0,
                timestamp_ms: 0,
                key: None,
                value: Some(value.into()),
                headers: vec![],
            }],
            high_watermark: 1,
            log_start_offset: 0,
        }))
    });
    let (events, _) = recorder.take();
    let mut text = Vec::new();
    write_events(&mut text, &events).unwrap();
    String::from_utf8(text).unwrap()
}

/// Goal: the gate parses what the broker recorder writes and passes a correct history.
#[test]
fn broker_histories_parse_and_pass_the_gate() {
    let history = History::parse(Path::new("broker.jsonl"), &recorded(false)).unwrap();
    assert_eq!(history.ops.len(), 3);
    let judgement = judge(&history, true, &Options::default());
    assert!(judgement.passed(), "{:?}", judgement.findings());
}

/// Goal: and fails one where the broker read back a value that was never written.
#[test]
fn a_planted_bad_read_fails_the_gate() {
    let history = History::parse(Path::new("broker.jsonl"), &recorded(true)).unwrap();
    let judgement = judge(&history, true, &Options::default());
    assert!(!judgement.passed());
    assert!(!judgement.names().is_empty());
}
