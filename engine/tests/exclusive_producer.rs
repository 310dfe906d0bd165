//! The exclusive producer (`engine/src/log/lease.rs`) against the model: what it appends is
//! what the model's produce appends, and while it lives no other append lands. Each test
//! opens with its goal.

use std::time::Duration;

use streamspec_engine::segment::SEGMENT_RECORDS;
use streamspec_engine::Engine;
use streamspec_model::model::Model;
use streamspec_model::*;

/// xorshift64*: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// A record of any shape: keyed or not, null or not, with or without a header and a
/// CreateTime, now and then too large for a segment's arena (stored out of line).
fn record(rng: &mut Rng) -> Record {
    let value_bytes = if rng.below(20) == 0 {
        6_000
    } else {
        rng.below(40) as usize
    };
    let mut record = Record::value(vec![rng.below(256) as u8; value_bytes]);
    if rng.below(3) == 0 {
        record.key = Some(format!("k{}", rng.below(8)).as_str().into());
    }
    if rng.below(10) == 0 {
        record.value = None;
    }
    if rng.below(5) == 0 {
        record.headers.push(Header {
            key: "h".into(),
            value: Some("x".repeat(rng.below(20) as usize).as_str().into()),
        });
    }
    if rng.below(4) == 0 {
        record.timestamp_ms = Some(rng.below(1_000) as i64);
    }
    record
}

/// Create topic `t` with `partitions` partitions and the default config.
fn create_topic_t(partitions: i32) -> Op {
    Op::CreateTopic {
        topic: "t".into(),
        partitions,
        config: TopicConfig::default(),
    }
}

fn produce(records: Vec<Record>) -> Op {
    Op::Produce {
        topic: "t".into(),
        partition: Some(0),
        records,
        producer: None,
    }
}

fn fetch_all(offset: i64) -> Op {
    Op::Fetch {
        topic: "t".into(),
        partition: 0,
        offset,
        max_records: config::FETCH_RECORDS_MAX,
        max_bytes: u64::MAX,
    }
}

/// Goal: an exclusive producer stores batches exactly as the model's produce does (offsets,
/// keys, values, headers, timestamps), across segments and retention. Method: seeded steps
/// on an engine and a model: batches of every shape (the lease's general path) and single
/// 8-byte values (its fast paths; written in place or copied) through the exclusive
/// producer on the engine and `Produce` on the model, with `Tick`, `DeleteRecords` and
/// `Fetch` applied to both; every answer compared, and a whole fetch at the end.
#[test]
fn exclusive_producer_appends_as_the_model_produces() {
    for seed in 1..=20u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let engine = Engine::new();
        let mut model = Model::new();
        let create = create_topic_t(1);
        assert_eq!(engine.apply(&create), model.apply(&create));
        let handle = engine.partition_handle("t", 0).unwrap();
        let mut producer = handle.exclusive_producer().unwrap();
        let mut log_start = 0;
        for step in 0..300 {
            let context = format!("seed {seed}, step {step}");
            match rng.below(10) {
                0..=3 => {
                    let records: Vec<Record> =
                        (0..1 + rng.below(20)).map(|_| record(&mut rng)).collect();
                    let base = producer.produce_batch(&records);
                    let expected = model.apply(&produce(records));
                    let Ok(Reply::Produced { base_offset, .. }) = expected else {
                        panic!("{context}: the model refused {expected:?}");
                    };
                    assert_eq!(base, Ok(base_offset), "{context}");
                }
                4..=6 => {
                    let count = 1 + rng.below(SEGMENT_RECORDS / 2);
                    for _ in 0..count {
                        let next = producer.next_offset();
                        let value = (next as u64).to_le_bytes();
                        let base = if rng.below(2) == 0 {
                            producer.append_values_with(1, 8, |_, out| out.copy_from_slice(&value))
                        } else {
                            producer.append_values(&[&value])
                        };
                        let expected = model.apply(&produce(vec![Record::value(&value[..])]));
                        let Ok(Reply::Produced { base_offset, .. }) = expected else {
                            panic!("{context}: the model refused {expected:?}");
                        };
                        assert_eq!(base, Ok(base_offset), "{context}");
                    }
                }
                7 => {
                    let tick = Op::Tick { ms: rng.below(50) };
                    assert_eq!(engine.apply(&tick), model.apply(&tick), "{context}");
                }
                8 => {
                    log_start += rng.below((producer.next_offset() - log_start) as u64 + 1) as i64;
                    let delete = Op::DeleteRecords {
                        topic: "t".into(),
                        partition: 0,
                        offset: log_start,
                    };
                    assert_eq!(engine.apply(&delete), model.apply(&delete), "{context}");
                }
                _ => {
                    let fetch = Op::Fetch {
                        topic: "t".into(),
                        partition: 0,
                        offset: log_start + rng.below(5) as i64,
                        max_records: 1 + rng.below(50) as u32,
                        max_bytes: u64::MAX,
                    };
                    assert_eq!(engine.apply(&fetch), model.apply(&fetch), "{context}");
                }
            }
        }
        drop(producer);
        let whole = fetch_all(log_start);
        let expected = model.apply(&whole);
        assert!(
            matches!(&expected, Ok(Reply::Fetched { records, .. }) if !records.is_empty()),
            "seed {seed}: {expected:?}"
        );
        assert_eq!(engine.apply(&whole), expected, "seed {seed}");
    }
}

/// Goal: while an exclusive producer lives, every other append to its partition is refused
/// with `policy_violation` and changes nothing, a second exclusive producer is refused, other
/// partitions take appends as before; once it is dropped, appends resume after its records.
/// Method: appends through `apply`, the handle and a second exclusive producer against a
/// live one, then again after dropping it.
#[test]
fn an_exclusive_producer_fences_other_appends_until_dropped() {
    let engine = Engine::new();
    engine.apply(&create_topic_t(2)).unwrap();
    let handle = engine.partition_handle("t", 0).unwrap();
    assert_eq!(handle.append_values(&[b"a"]), Ok(0));
    let mut producer = handle.exclusive_producer().unwrap();
    assert_eq!(producer.append_values(&[b"b", b"c"]), Ok(1));
    assert_eq!(
        engine.apply(&produce(vec![Record::value("x")])),
        Err(ErrorCode::PolicyViolation)
    );
    assert_eq!(
        handle.append_values(&[b"x"]),
        Err(ErrorCode::PolicyViolation)
    );
    assert_eq!(
        handle.exclusive_producer().map(|_| ()),
        Err(ErrorCode::PolicyViolation)
    );
    let other_partition = Op::Produce {
        topic: "t".into(),
        partition: Some(1),
        records: vec![Record::value("y")],
        producer: None,
    };
    assert!(engine.apply(&other_partition).is_ok());
    assert_eq!(producer.append_values(&[b"d"]), Ok(3));
    drop(producer);
    assert_eq!(handle.append_values(&[b"e"]), Ok(4));
    let Ok(Reply::Fetched { records, .. }) = engine.apply(&fetch_all(0)) else {
        panic!("the partition reads");
    };
    let values: Vec<&[u8]> = records
        .iter()
        .map(|r| r.value.as_ref().unwrap().as_slice())
        .collect();
    assert_eq!(values, [&b"a"[..], b"b", b"c", b"d", b"e"]);
}

/// Goal: a reader blocked on the partition is woken by an exclusive producer's append, and
/// deleting the topic refuses the producer's next append. Method: a thread waits for offset
/// 1 with a 30 s bound; the producer appends after a pause; then the topic is deleted.
#[test]
fn an_exclusive_producer_wakes_blocked_readers() {
    let engine = Engine::new();
    engine.apply(&create_topic_t(1)).unwrap();
    let handle = engine.partition_handle("t", 0).unwrap();
    let mut producer = handle.exclusive_producer().unwrap();
    producer.append_values(&[b"a"]).unwrap();
    let waiter = {
        let handle = handle.clone();
        std::thread::spawn(move || handle.wait_for(1, Duration::from_secs(30)))
    };
    std::thread::sleep(Duration::from_millis(5));
    producer
        .append_values_with(1, 1, |_, out| out[0] = b'b')
        .unwrap();
    assert!(waiter.join().unwrap(), "woken, not timed out");
    engine
        .apply(&Op::DeleteTopic { topic: "t".into() })
        .unwrap();
    assert_eq!(
        producer.append_values(&[b"c"]),
        Err(ErrorCode::UnknownTopicOrPartition)
    );
}

/// Goal: a partition reader over the exclusive producer's held runs, whose cursor reads a
/// run's members by their value words alone (HELD-CURSOR), reads a non-empty prefix of what a
/// fetch on the handle reads (all of it when that is empty, the same error when it fails):
/// never a slot past the high watermark it loaded, never a slot of another run, a batch or an
/// arena value as a member. Method: seeded steps of single values (held runs of lengths 0, 3
/// and 8, values past a word), batches, clock ticks (a new timestamp opens a new run) and
/// `delete_records`, between reader fetches at its position (the high watermark included),
/// just behind it and just past the high watermark, one to 5000 records each, each compared
/// with a fetch on the handle made just after it. Caught: the cursor's members not capped
/// at its end (a value appended after the cursor was placed read as the old run's), members
/// taken from the segment's start rather than the run's first slot, and the log-start check
/// taken out of the cursor's path (a deleted record returned).
#[test]
fn a_partition_reader_reads_held_runs_as_fetch_reads_them() {
    type Read = Result<Vec<(i64, Vec<u8>)>, ErrorCode>;
    for seed in 1..=6u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let engine = Engine::new();
        assert_eq!(engine.apply(&create_topic_t(1)), Ok(Reply::Ack));
        let handle = engine.partition_handle("t", 0).unwrap();
        let mut producer = handle.exclusive_producer().unwrap();
        let mut reader = handle.reader();
        let mut position = 0i64;
        let mut appended = 0u64;
        let value = |n: u64, len: usize, out: &mut [u8]| {
            assert_eq!(out.len(), len);
            for (i, byte) in out.iter_mut().enumerate() {
                *byte = (n as u8).wrapping_add(i as u8);
            }
        };
        for step in 0..4_000 {
            let context = format!("seed {seed}, step {step}");
            match rng.below(12) {
                0..=4 => {
                    let len = [8, 8, 8, 3, 0, 9, 40][rng.below(7) as usize];
                    producer
                        .append_values_with(1, len, |_, out| value(appended, len, out))
                        .unwrap();
                    appended += 1;
                }
                5 => {
                    let count_max = if rng.below(8) == 0 { 5_000 } else { 9 };
                    let count = 1 + rng.below(count_max);
                    let len = [8, 3][rng.below(2) as usize];
                    producer
                        .append_values_with(count as usize, len, |i, out| {
                            value(appended + i as u64, len, out)
                        })
                        .unwrap();
                    appended += count;
                }
                6 => {
                    let ticked = engine.apply(&Op::Tick { ms: rng.below(3) });
                    assert!(ticked.is_ok(), "{context}: {ticked:?}");
                }
                7 if rng.below(4) == 0 => {
                    let offset = (position - rng.below(3) as i64)
                        .clamp(handle.log_start_offset(), handle.high_watermark());
                    handle.delete_records(offset).unwrap();
                }
                _ => {
                    let high_watermark = handle.high_watermark();
                    let offset = match rng.below(8) {
                        0 => position - 1 - rng.below(3) as i64,
                        1 => high_watermark + rng.below(2) as i64,
                        _ => position,
                    }
                    .max(0);
                    let max_records = [1, 1, 1, 2, 7, 5_000][rng.below(6) as usize];
                    let mut read = Vec::new();
                    let by_reader: Read = reader
                        .fetch_values_with(offset, max_records, |at, value| {
                            read.push((at, value.unwrap().to_vec()))
                        })
                        .map(|summary| {
                            assert_eq!(summary.count, read.len(), "{context}");
                            read
                        });
                    let mut read = Vec::new();
                    let by_handle: Read = handle
                        .fetch_values_with(offset, max_records, |at, value| {
                            read.push((at, value.unwrap().to_vec()))
                        })
                        .map(|_| read);
                    match (&by_reader, &by_handle) {
                        (Ok(prefix), Ok(all)) if !all.is_empty() => {
                            assert!(
                                !prefix.is_empty() && all.starts_with(prefix),
                                "{context}: from {offset}, the reader read {prefix:?}, \
                                 the handle {all:?}"
                            );
                        }
                        _ => assert_eq!(by_reader, by_handle, "{context}: from {offset}"),
                    }
                    if let Ok(read) = by_reader {
                        if offset == position {
                            position += read.len() as i64;
                        }
                    }
                    position = position.max(handle.log_start_offset());
                }
            }
        }
        assert!(
            appended > 4 * SEGMENT_RECORDS,
            "seed {seed}: the steps cross segments"
        );
    }
}
