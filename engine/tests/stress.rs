//! Multi-threaded stress: many producers, consumer groups, idempotent retries and retention at
//! once. Each test is bounded in count (and so in time: a few seconds on 2 cores in debug) and
//! asserts no loss, no duplicate, dense offsets and per-partition order.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use streamspec_engine::Engine;
use streamspec_model::*;

/// How many batches each producer sends (small under miri, which runs this file too slowly).
const BATCHES_PER_PRODUCER: u64 = if cfg!(miri) { 4 } else { 400 };

fn tag(producer: u64, sequence: u64) -> Record {
    let mut bytes = producer.to_le_bytes().to_vec();
    bytes.extend_from_slice(&sequence.to_le_bytes());
    Record::value(bytes)
}

fn untag(record: &StoredRecord) -> (u64, u64) {
    let bytes = record.value.as_ref().expect("tagged").as_slice();
    (
        u64::from_le_bytes(bytes[..8].try_into().unwrap()),
        u64::from_le_bytes(bytes[8..16].try_into().unwrap()),
    )
}

/// An engine with one topic, `t`, of one partition and the default config.
fn engine_with_topic_t() -> Engine {
    let engine = Engine::new();
    engine
        .apply(&Op::CreateTopic {
            topic: "t".into(),
            partitions: 1,
            config: TopicConfig::default(),
        })
        .unwrap();
    engine
}

fn fetch_all(engine: &Engine, topic: &str, partition: i32) -> Vec<StoredRecord> {
    let mut out = Vec::new();
    loop {
        let ret = engine.apply(&Op::Fetch {
            topic: topic.into(),
            partition,
            offset: out.len() as i64,
            max_records: 1000,
            max_bytes: u64::MAX,
        });
        let Ok(Reply::Fetched { records, .. }) = ret else {
            panic!("fetch failed: {ret:?}")
        };
        if records.is_empty() {
            return out;
        }
        out.extend(records);
    }
}

/// Goal: with 4 producers writing 2 partitions while 2 groups of 2 members poll and commit and
/// an assign-mode reader fetches, every record is stored once at a dense offset, each
/// producer's records keep their order per partition, and each group receives every record
/// exactly once, in order per partition.
#[test]
fn producers_and_groups_lose_and_duplicate_nothing() {
    let engine = Engine::new();
    let partitions = 2;
    engine
        .apply(&Op::CreateTopic {
            topic: "t".into(),
            partitions,
            config: TopicConfig::default(),
        })
        .unwrap();
    let mut generations = HashMap::new();
    for group in ["g1", "g2"] {
        for member in ["a", "b"] {
            let ret = engine.apply(&Op::JoinGroup {
                group: group.into(),
                member: member.into(),
                topics: vec!["t".into()],
                assignor: Assignor::RoundRobin,
                session_timeout_ms: 30_000,
                auto_offset_reset: OffsetReset::Earliest,
            });
            assert!(ret.is_ok(), "{ret:?}");
        }
        let Ok(Reply::Group { generation, .. }) = engine.apply(&Op::DescribeGroup {
            group: group.into(),
        }) else {
            panic!()
        };
        generations.insert(group, generation);
    }
    let producers = 4u64;
    let producing = AtomicBool::new(true);
    let (sent, polled) = std::thread::scope(|scope| {
        let senders: Vec<_> = (0..producers)
            .map(|producer| {
                let engine = &engine;
                scope.spawn(move || {
                    let mut sequence = 0u64;
                    for batch in 0..BATCHES_PER_PRODUCER {
                        let size = 1 + (batch * 7 + producer) % 13;
                        let records = (0..size).map(|i| tag(producer, sequence + i)).collect();
                        let ret = engine.apply(&Op::Produce {
                            topic: "t".into(),
                            partition: Some(((batch + producer) % 2) as i32),
                            records,
                            producer: None,
                        });
                        assert!(ret.is_ok(), "{ret:?}");
                        sequence += size;
                    }
                    sequence
                })
            })
            .collect();
        let consumers: Vec<_> = ["g1", "g2"]
            .into_iter()
            .flat_map(|group| ["a", "b"].map(|member| (group, member)))
            .map(|(group, member)| {
                let (engine, producing) = (&engine, &producing);
                let generation = generations[group];
                scope.spawn(move || {
                    let mut got: Vec<PolledRecord> = Vec::new();
                    let mut idle_polls = 0;
                    // Bounded: stop after producers finished and 3 polls in a row were empty.
                    while idle_polls < 3 {
                        let done = !producing.load(Ordering::Acquire);
                        let ret = engine.apply(&Op::Poll {
                            group: group.into(),
                            member: member.into(),
                            generation,
                            max_records: 97,
                        });
                        let Ok(Reply::Polled { records }) = ret else {
                            panic!("poll failed: {ret:?}")
                        };
                        if let Some(last) = records.last() {
                            let ret = engine.apply(&Op::Commit {
                                group: group.into(),
                                member: Some(member.into()),
                                generation,
                                topic: last.topic.clone(),
                                partition: last.partition,
                                offset: last.record.offset + 1,
                                metadata: String::new(),
                            });
                            assert_eq!(ret, Ok(Reply::Ack));
                        }
                        if records.is_empty() && done {
                            idle_polls += 1;
                        }
                        got.extend(records);
                    }
                    (group, got)
                })
            })
            .collect();
        let reader = {
            let (engine, producing) = (&engine, &producing);
            scope.spawn(move || {
                // Assign-mode reader: every fetch sees a dense prefix, never a torn record.
                while producing.load(Ordering::Acquire) {
                    for partition in 0..partitions {
                        let records = fetch_all(engine, "t", partition);
                        for (i, record) in records.iter().enumerate() {
                            assert_eq!(record.offset, i as i64);
                            assert_eq!(record.value.as_ref().unwrap().len(), 16);
                        }
                    }
                }
            })
        };
        let sent: Vec<u64> = senders.into_iter().map(|s| s.join().unwrap()).collect();
        producing.store(false, Ordering::Release);
        reader.join().unwrap();
        let polled: Vec<_> = consumers.into_iter().map(|c| c.join().unwrap()).collect();
        (sent, polled)
    });

    // The log: dense, every record once, per producer in order within each partition.
    let mut stored = HashSet::new();
    for partition in 0..partitions {
        let records = fetch_all(&engine, "t", partition);
        let mut last_sequence: HashMap<u64, u64> = HashMap::new();
        for (i, record) in records.iter().enumerate() {
            assert_eq!(record.offset, i as i64, "dense offsets");
            let (producer, sequence) = untag(record);
            if let Some(previous) = last_sequence.insert(producer, sequence) {
                assert!(previous < sequence, "per-partition order");
            }
            assert!(stored.insert((producer, sequence)), "no duplicate");
        }
    }
    let total: u64 = sent.iter().sum();
    assert_eq!(stored.len() as u64, total, "no loss");
    for (producer, count) in sent.iter().enumerate() {
        for sequence in 0..*count {
            assert!(stored.contains(&(producer as u64, sequence)));
        }
    }

    // Each group: every record exactly once, in offset order per partition.
    for group in ["g1", "g2"] {
        let mut by_partition: HashMap<i32, Vec<i64>> = HashMap::new();
        for (_, records) in polled.iter().filter(|(g, _)| *g == group) {
            for record in records {
                by_partition
                    .entry(record.partition)
                    .or_default()
                    .push(record.record.offset);
            }
        }
        let delivered: usize = by_partition.values().map(Vec::len).sum();
        assert_eq!(delivered as u64, total, "{group} got every record once");
        for offsets in by_partition.values() {
            assert!(offsets.iter().enumerate().all(|(i, &o)| o == i as i64));
        }
    }
}

/// Goal: an idempotent producer whose retries race itself still appends each batch exactly
/// once, in sequence order. Method: two threads send the same sequence of batches with the
/// same producer id; both must get the same base offsets, and the log must hold each once.
#[test]
fn racing_idempotent_retries_append_once() {
    let engine = engine_with_topic_t();
    let Ok(Reply::ProducerId { producer_id, .. }) = engine.apply(&Op::InitProducerId {
        transactional_id: None,
    }) else {
        panic!()
    };
    let batches = BATCHES_PER_PRODUCER as i32;
    let send = |batch: i32| {
        engine.apply(&Op::Produce {
            topic: "t".into(),
            partition: Some(0),
            records: vec![tag(0, 2 * batch as u64), tag(0, 2 * batch as u64 + 1)],
            producer: Some(ProducerBatch {
                producer_id,
                producer_epoch: 0,
                base_sequence: 2 * batch,
            }),
        })
    };
    // Both threads send batch i at once (a barrier per batch keeps them within the
    // PRODUCER_BATCHES_RETAINED window a real client's retries stay in).
    let barrier = std::sync::Barrier::new(2);
    let replies: Vec<Vec<Ret>> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (send, barrier) = (&send, &barrier);
                scope.spawn(move || {
                    (0..batches)
                        .map(|batch| {
                            barrier.wait();
                            send(batch)
                        })
                        .collect::<Vec<Ret>>()
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    assert_eq!(
        replies[0], replies[1],
        "a duplicate answers as the original"
    );
    let records = fetch_all(&engine, "t", 0);
    assert_eq!(records.len(), 2 * batches as usize, "each batch once");
    for (i, record) in records.iter().enumerate() {
        assert_eq!(untag(record), (0, i as u64), "in sequence order");
    }
}

/// Goal: retention racing readers never yields a torn or wrong record, and the log start only
/// grows. Method: one producer appends records whose value is their offset; a retention thread
/// deletes records up to near the high watermark; two readers fetch from wherever the log
/// starts and check every record's value against its offset.
#[test]
fn retention_racing_readers_reads_intact_records() {
    let engine = engine_with_topic_t();
    let handle = engine.partition_handle("t", 0).unwrap();
    let producing = AtomicBool::new(true);
    let total: u64 = if cfg!(miri) { 200 } else { 200_000 };
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut next = 0u64;
            while next < total {
                let values: Vec<[u8; 8]> = (next..next + 100).map(u64::to_le_bytes).collect();
                let refs: Vec<&[u8]> = values.iter().map(|v| &v[..]).collect();
                assert_eq!(handle.append_values(&refs), Ok(next as i64));
                next += 100;
            }
            producing.store(false, Ordering::Release);
        });
        scope.spawn(|| {
            let mut last = 0;
            while producing.load(Ordering::Acquire) {
                let target = (handle.high_watermark() - 500).max(0);
                let ret = engine.apply(&Op::DeleteRecords {
                    topic: "t".into(),
                    partition: 0,
                    offset: target,
                });
                let Ok(Reply::LowWatermark { low_watermark }) = ret else {
                    panic!("{ret:?}")
                };
                assert!(low_watermark >= last, "the log start only grows");
                last = low_watermark;
                std::thread::sleep(Duration::from_micros(50));
            }
        });
        for _ in 0..2 {
            scope.spawn(|| {
                let mut checked = 0u64;
                while producing.load(Ordering::Acquire) {
                    let from = handle.log_start_offset();
                    let result = handle.fetch_values_with(from, 2_000, |offset, value| {
                        let value = value.expect("non-null");
                        assert_eq!(value, &(offset as u64).to_le_bytes()[..], "torn read");
                        checked += 1;
                    });
                    match result {
                        Ok(_) | Err(ErrorCode::OffsetOutOfRange) => {}
                        Err(other) => panic!("{other:?}"),
                    }
                }
                checked
            });
        }
    });
    assert_eq!(handle.high_watermark(), total as i64);
}

/// Goal: a partition reader, which keeps its pin and its cursor (the segment it reads in)
/// between fetches, never yields a torn or wrong record while retention unlinks and recycles
/// segments under it and an exclusive producer appends single records through its fast path.
/// Method: the producer appends records whose value is their offset, one at a time and now
/// and then in batches; a retention thread deletes up to a little below the high watermark;
/// two readers fetch 1 to 3 records at a time from their position up to the end, jumping to
/// the log start when refused, and check every record's value against its offset and that offsets only
/// grow. (Under miri, segments of 64 records are unlinked and recycled while a reader's
/// cursor names them: a read of one that was reclaimed is a use after free.)
#[test]
fn partition_readers_racing_retention_read_intact_records() {
    let engine = engine_with_topic_t();
    let handle = engine.partition_handle("t", 0).unwrap();
    let producing = AtomicBool::new(true);
    let total: u64 = if cfg!(miri) { 400 } else { 400_000 };
    let retained_min: i64 = if cfg!(miri) { 20 } else { 500 };
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut producer = handle.exclusive_producer().unwrap();
            let mut next = 0u64;
            while next < total {
                let count = if next % 1000 == 999 {
                    37.min(total - next) as usize
                } else {
                    1
                };
                let first = next;
                let appended = producer.append_values_with(count, 8, |i, out| {
                    out.copy_from_slice(&(first + i as u64).to_le_bytes())
                });
                assert_eq!(appended, Ok(next as i64));
                next += count as u64;
            }
            producing.store(false, Ordering::Release);
        });
        scope.spawn(|| {
            while producing.load(Ordering::Acquire) {
                let target = (handle.high_watermark() - retained_min).max(0);
                handle.delete_records(target).unwrap();
                std::thread::sleep(Duration::from_micros(20));
            }
        });
        for max_records in [1, 3] {
            let handle = &handle;
            scope.spawn(move || {
                let mut reader = handle.reader();
                let mut position = 0i64;
                let mut last_read = -1i64;
                while position < total as i64 {
                    let result =
                        reader.fetch_values_with(position, max_records, |offset, value| {
                            let value = value.expect("non-null");
                            assert_eq!(value, &(offset as u64).to_le_bytes()[..], "torn read");
                            assert!(offset > last_read, "offsets only grow");
                            last_read = offset;
                        });
                    match result {
                        Ok(summary) if summary.count == 0 => std::thread::yield_now(),
                        Ok(summary) => position += summary.count as i64,
                        Err(ErrorCode::OffsetOutOfRange) => position = handle.log_start_offset(),
                        Err(other) => panic!("{other:?}"),
                    }
                }
            });
        }
    });
    assert_eq!(handle.high_watermark(), total as i64);
}

/// Goal: a fetch's log start and high watermark are one instant's (its linearization point).
/// Method: a writer keeps the log start one below the high watermark: it appends a record
/// (`high_watermark - log_start` becomes 2) and then deletes up to the one before it (back to
/// 1), so no instant has a gap over 2. Readers fetch from the last log start they saw; a reply
/// with a gap over 2 paired a log start from before some `delete_records` with a high
/// watermark from after later appends, as a fetch that loaded the log start once, before the
/// high watermark, did when a reader was preempted between the two loads (`streamspec check`
/// found that once in a 60 s run; with the single load put back, this test failed in each of
/// 4 runs on 2 cores, naming pairs such as log start 4177 with high watermark 5303).
#[test]
fn fetch_bounds_hold_together_under_delete_records() {
    let records = if cfg!(miri) { 20 } else { 200_000 };
    let engine = engine_with_topic_t();
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        // More readers than cores, so readers are preempted, some between the two loads.
        for _ in 0..4 {
            scope.spawn(|| {
                let mut offset = 0;
                while !done.load(Ordering::Acquire) {
                    match engine.apply(&Op::Fetch {
                        topic: "t".into(),
                        partition: 0,
                        offset,
                        max_records: 1,
                        max_bytes: u64::MAX,
                    }) {
                        Ok(Reply::Fetched {
                            high_watermark,
                            log_start_offset,
                            ..
                        }) => {
                            assert!(
                                high_watermark - log_start_offset <= 2,
                                "a fetch paired log start {log_start_offset} with high watermark {high_watermark}"
                            );
                            offset = log_start_offset;
                        }
                        Err(ErrorCode::OffsetOutOfRange) => offset += 1,
                        other => panic!("fetch answered {other:?}"),
                    }
                }
            });
        }
        for sequence in 0..records {
            let produced = engine.apply(&Op::Produce {
                topic: "t".into(),
                partition: Some(0),
                records: vec![tag(0, sequence)],
                producer: None,
            });
            let Ok(Reply::Produced { base_offset, .. }) = produced else {
                panic!("produce answered {produced:?}");
            };
            if base_offset > 0 {
                engine
                    .apply(&Op::DeleteRecords {
                        topic: "t".into(),
                        partition: 0,
                        offset: base_offset,
                    })
                    .unwrap();
            }
        }
        done.store(true, Ordering::Release);
    });
}

/// Goal: appends of every shape racing on one partition (plain values, zero-copy fixed
/// values, keyed records with headers, in batches that cross segment boundaries) each land
/// whole, once, at dense offsets, with their bytes intact, whichever appender lays, loses an
/// install and lays again, or completes another's batch. Method: three threads, one per
/// shape, each appending tagged batches of sizes that straddle segments; then every batch is
/// found contiguous and exactly once.
#[test]
fn appends_of_every_shape_racing_land_whole_and_once() {
    let engine = engine_with_topic_t();
    let handle = engine.partition_handle("t", 0).unwrap();
    let batches = BATCHES_PER_PRODUCER / 4;
    // Batch sizes 1..=1500: most batches of 1000+ records cross a 4096-record segment.
    let size = |batch: u64| (batch * 757 % 1500 + 1) as usize;
    let tagged = |shape: u64, batch: u64, i: usize| {
        let mut bytes = (shape << 48 | batch << 24 | i as u64)
            .to_le_bytes()
            .to_vec();
        bytes.extend_from_slice(&[shape as u8; 8]);
        bytes
    };
    std::thread::scope(|scope| {
        let (handle, tagged) = (&handle, &tagged);
        scope.spawn(move || {
            for batch in 0..batches {
                let values: Vec<Vec<u8>> = (0..size(batch)).map(|i| tagged(0, batch, i)).collect();
                let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
                handle.append_values(&refs).unwrap();
            }
        });
        scope.spawn(move || {
            for batch in 0..batches {
                handle
                    .append_values_with(size(batch + 1), 16, |i, out| {
                        out.copy_from_slice(&tagged(1, batch, i))
                    })
                    .unwrap();
            }
        });
        scope.spawn(move || {
            for batch in 0..batches {
                let records: Vec<Record> = (0..size(batch + 2))
                    .map(|i| Record {
                        key: Some(format!("k{i}").into_bytes().into()),
                        value: Some(tagged(2, batch, i).into()),
                        headers: vec![Header {
                            key: "h".into(),
                            value: Some(vec![2; 3].into()),
                        }],
                        timestamp_ms: None,
                    })
                    .collect();
                handle.produce_batch(&records).unwrap();
            }
        });
    });
    let records = fetch_all(&engine, "t", 0);
    let expected: usize = (0..batches)
        .map(|b| size(b) + size(b + 1) + size(b + 2))
        .sum();
    assert_eq!(records.len(), expected, "every record once");
    let mut seen = HashSet::new();
    let mut next_batch = [0u64; 3];
    let mut index = 0;
    while index < records.len() {
        let value = records[index].value.as_ref().unwrap().as_slice();
        let word = u64::from_le_bytes(value[..8].try_into().unwrap());
        let (shape, batch) = (word >> 48, word >> 24 & 0xff_ffff);
        assert_eq!(
            batch, next_batch[shape as usize],
            "each shape's batches in order"
        );
        next_batch[shape as usize] += 1;
        let len = size(batch + shape);
        for i in 0..len {
            let record = &records[index + i];
            assert_eq!(
                record.value.as_ref().unwrap().as_slice(),
                tagged(shape, batch, i),
                "batch {batch} of shape {shape} whole and contiguous"
            );
            if shape == 2 {
                assert_eq!(
                    record.key.as_ref().unwrap().as_slice(),
                    format!("k{i}").as_bytes()
                );
                assert_eq!(record.headers.len(), 1);
            }
        }
        assert!(seen.insert((shape, batch)), "no batch twice");
        index += len;
    }
    assert_eq!(next_batch, [batches; 3]);
}
