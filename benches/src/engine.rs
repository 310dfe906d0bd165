//! The system under test: the engine, through its typed fast path ([`PartitionHandle`]).
//!
//! Produce is `append_values_with` (keyless, headerless values written in place, batched or
//! one at a time): where a producer has its partition to itself (fan-out and latency, which
//! have one producer; produce with one producer, or one partition each), by the partition's
//! [`ExclusiveProducer`] (`engine/src/log/lease.rs`: the single producer, as the disruptor's
//! ring has one), elsewhere through the lock-free protocol any number of producers share
//! ([`EngineSharedProduce`] runs the produce workload through that protocol in every case). A
//! consumer is an independent reader with its own position calling
//! `PartitionReader::fetch_values_with`, which lends each value straight from the log's arena
//! (no copy) and stays pinned between fetches. N independent groups
//! reading every record are N such readers: the engine keeps no per-group state on the read
//! path, so this is the same work a group member does between commits. A reader that has
//! caught up yields in the throughput workloads (as every peer does) and blocks in
//! `wait_for` in the latency workload. (Blocking in `wait_for` in the throughput workloads
//! was tried: no better batched, and 4-6x slower single-record, where every append then
//! wakes a parked reader.)
//!
//! The engine runs in steady state, as a long-running broker does: one engine per thread
//! and partition count ([`with_orders_topic`]), reused by every run; each run appends after
//! the previous run's records, and they are trimmed (`delete_records` to the high watermark)
//! when it ends, so segments come back warm from the engine's pool. Only the first run, the
//! untimed verification, pays for fresh memory.

use std::cell::RefCell;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use crossbeam_utils::CachePadded;
use streamspec_engine::{Engine, ExclusiveProducer, PartitionHandle};
use streamspec_model::{Op, Reply, TopicConfig};

use crate::peers::{in_flight_records, wait_briefly};
use crate::workload::{
    encode_value, sequence_of, tally_sorted, FanOut, GroupScaling, Latency, Produce, Run, System,
    Tally, GROUP_PARTITIONS,
};

/// The engine's fast path.
#[derive(Debug)]
pub struct EngineFastPath;

/// The engine's produce through the protocol any number of producers share, even where a
/// producer has its partition to itself: what [`EngineFastPath`] measures only where
/// producers share a partition. Runs the produce workload alone.
#[derive(Debug)]
pub struct EngineSharedProduce;

/// How long the latency consumer blocks before checking again; only a bound, it is woken by
/// the append long before.
const WAIT_TIMEOUT: Duration = Duration::from_secs(1);

/// An engine with topic `orders` of `partitions` partitions, and a handle on each.
pub fn orders_topic(partitions: usize) -> (Engine, Vec<PartitionHandle>) {
    let engine = Engine::new();
    let created = engine.apply(&Op::CreateTopic {
        topic: "orders".into(),
        partitions: partitions as i32,
        config: TopicConfig::default(),
    });
    assert_eq!(created, Ok(Reply::Ack), "creating the bench topic");
    let handles = (0..partitions)
        .map(|p| {
            engine
                .partition_handle("orders", p as i32)
                .expect("partition exists")
        })
        .collect();
    (engine, handles)
}

thread_local! {
    /// Warm engines by partition count: `(partitions, engine, handles)`.
    static WARM: RefCell<Vec<(usize, Engine, Vec<PartitionHandle>)>> = const { RefCell::new(Vec::new()) };
}

/// Run `f` on this thread's warm engine with topic `orders` of `partitions` partitions, then
/// trim every partition to its high watermark.
pub fn with_orders_topic<R>(partitions: usize, f: impl FnOnce(&[PartitionHandle]) -> R) -> R {
    let taken = WARM.with(|warm| {
        let mut warm = warm.borrow_mut();
        let index = warm.iter().position(|(p, _, _)| *p == partitions);
        index.map(|i| warm.swap_remove(i))
    });
    let (_, engine, handles) = taken.unwrap_or_else(|| {
        let (engine, handles) = orders_topic(partitions);
        (partitions, engine, handles)
    });
    let result = f(&handles);
    for partition in 0..partitions {
        let trimmed = engine.apply(&Op::DeleteRecords {
            topic: "orders".into(),
            partition: partition as i32,
            offset: -1,
        });
        assert!(trimmed.is_ok(), "trimming the bench topic: {trimmed:?}");
    }
    WARM.with(|warm| warm.borrow_mut().push((partitions, engine, handles)));
    result
}

/// Append records `first..end` with `value_bytes`-byte values as one batch, each encoded
/// straight into the log (zero-copy produce).
fn append(handle: &PartitionHandle, first: u64, end: u64, value_bytes: usize) {
    handle
        .append_values_with((end - first) as usize, value_bytes, |i, value| {
            encode_value(first + i as u64, value)
        })
        .expect("bench appends stay within the limits");
}

/// [`append`], by the partition's exclusive producer.
#[inline]
fn append_exclusive(producer: &mut ExclusiveProducer, first: u64, end: u64, value_bytes: usize) {
    producer
        .append_values_with((end - first) as usize, value_bytes, |i, value| {
            encode_value(first + i as u64, value)
        })
        .expect("bench appends stay within the limits");
}

/// Bytes of values between two looks of the fan-out producer at its consumers' positions,
/// that is, how often consumed-by-all retention runs, in records at most
/// [`TRIM_EVERY_RECORDS_MAX`].
///
/// By bytes because, with 1 KiB values, a trim per 4096 records (a segment, 4 MiB of arena)
/// kept three segments' arenas in circulation (counted: 12 MiB, as far as this core's TLB
/// reaches) where the disruptor's ring rewrites 4 MiB: a segment the consumers had left waited
/// for the next trim to be unlinked, and then for the next unlink to be handed back by the
/// epoch collector. Trimming every 256 KiB, and retention prodding the collector while a
/// retired segment waits in it (`Log::unlink_below`), bring that to two (counted).
const TRIM_EVERY_BYTES: u64 = 256 << 10;
/// Most records between two trims: small values trim every four segments. A trim is a look at
/// N positions, a CAS of the log start that every reader's next fetch then misses, and the
/// unlink and the collector's epoch advance, which read lines the readers write: a trim per
/// 256 records gave the 8-byte cases nothing and read 5-8% lower, and one per 16384 rather
/// than per 4096 (a segment) lifted 8-byte batched fan-out to one consumer from 221-572 to
/// 589-788 M/s in alternating runs, leaving N = 2 and 4 and single-record as they were
/// (`docs/performance-history.md`, stop 21). Within the window: 16384 records is a quarter of what the
/// bounded peers let the producer run ahead for 8-byte values.
const TRIM_EVERY_RECORDS_MAX: u64 = 16_384;

/// `log2` of the records between two trims for `value_bytes`-byte values (a power of two, so
/// that the producer's check per append is a shift, not a division).
fn trim_every_records_shift(value_bytes: usize) -> u32 {
    (TRIM_EVERY_BYTES / value_bytes.max(1) as u64)
        .clamp(1, TRIM_EVERY_RECORDS_MAX)
        .ilog2()
}

/// Where each fan-out consumer has read up to: the consumed-by-all retention's input, as a
/// group's committed offset is a broker's.
struct Positions(Vec<CachePadded<AtomicI64>>);

impl Positions {
    fn new(consumers: usize, from: i64) -> Positions {
        Positions(
            (0..consumers)
                .map(|_| CachePadded::new(AtomicI64::new(from)))
                .collect(),
        )
    }

    /// The offset every consumer has read up to.
    fn consumed_by_all(&self) -> i64 {
        self.0
            .iter()
            .map(|p| p.load(Ordering::Acquire))
            .min()
            .expect("at least one consumer")
    }
}

/// Consumed-by-all retention: drop what every consumer has read; returns that offset.
fn trim(handle: &PartitionHandle, positions: &Positions) -> i64 {
    let consumed_by_all = positions.consumed_by_all();
    handle
        .delete_records(consumed_by_all)
        .expect("consumed offsets are in the log");
    consumed_by_all
}

/// Read `records` records from offset `from`, at most `batch` per fetch, yielding when
/// caught up; `position`, when given, is published after each fetch.
fn drain(
    handle: &PartitionHandle,
    from: i64,
    records: u64,
    batch: usize,
    published: Option<&AtomicI64>,
) -> Tally {
    let mut tally = Tally::default();
    let mut position = from;
    let mut reader = handle.reader();
    while ((position - from) as u64) < records {
        let summary = reader
            .fetch_values_with(position, batch, |_, value| {
                tally.add(value.expect("bench values are never null"));
            })
            .expect("reads stay within the log");
        if summary.count == 0 {
            wait_briefly();
        }
        position += summary.count as i64;
        if let Some(published) = published {
            published.store(position, Ordering::Release);
        }
    }
    tally
}

impl System for EngineFastPath {
    const NAME: &'static str = "engine";

    fn fan_out(workload: &FanOut) -> Option<Run> {
        with_orders_topic(1, |handles| {
            let handle = &handles[0];
            let from = handle.high_watermark();
            let positions = Positions::new(workload.consumers, from);
            // The slowest consumer's position as last looked at: looked at again only when
            // the window or a trim needs it (each look pulls N cache lines from the readers).
            let mut consumed_by_all = from;
            let mut producer = handle.exclusive_producer().expect("one producer per run");
            // The bounded peers' window: no further ahead of the slowest consumer than a ring
            // or a channel would let the producer be (computed once: it is a division).
            let window = in_flight_records(workload.value_bytes) as i64;
            let trim_shift = trim_every_records_shift(workload.value_bytes);
            Some(workload.time_consumers(
                |consumer| {
                    drain(
                        handle,
                        from,
                        workload.records,
                        workload.batch_records,
                        Some(&positions.0[consumer]),
                    )
                },
                |batch| {
                    let end = from + batch.end as i64;
                    // A look at the positions, not a trim: a producer held at the window
                    // looks often, and each trim would move the log start that every
                    // reader's next fetch loads (single-record fan-out at N = 2 and 4 read
                    // 3-5% higher in paired sets, stop 29). Trims keep their own schedule.
                    while end - consumed_by_all > window {
                        consumed_by_all = positions.consumed_by_all();
                        if end - consumed_by_all > window {
                            wait_briefly();
                        }
                    }
                    append_exclusive(&mut producer, batch.start, batch.end, workload.value_bytes);
                    if batch.end >> trim_shift != batch.start >> trim_shift {
                        consumed_by_all = trim(handle, &positions);
                    }
                },
            ))
        })
    }

    fn group_scaling(workload: &GroupScaling) -> Option<Run> {
        with_orders_topic(GROUP_PARTITIONS, |handles| {
            let from: Vec<i64> = handles.iter().map(|h| h.high_watermark()).collect();
            for handle in handles {
                let mut written = 0;
                while written < workload.records_per_partition {
                    let end = (written + 1_000).min(workload.records_per_partition);
                    append(handle, written, end, workload.value_bytes);
                    written = end;
                }
            }
            Some(workload.time_members(|p| {
                drain(
                    &handles[p],
                    from[p],
                    workload.records_per_partition,
                    workload.batch_records,
                    None,
                )
            }))
        })
    }

    /// A producer that has its partition to itself (one producer, or one partition each)
    /// appends as the partition's exclusive producer, as fan-out's one producer does and as
    /// `streamspec bench`'s runner does; producers sharing a partition go through the
    /// protocol they share ([`EngineSharedProduce`] measures that protocol in every case).
    fn produce(workload: &Produce) -> Option<Run> {
        Some(produce(
            workload,
            workload.producers == workload.partitions(),
        ))
    }

    fn latency(workload: &Latency) -> Option<Run> {
        with_orders_topic(1, |handles| {
            let handle = &handles[0];
            let from = handle.high_watermark();
            let mut producer = handle.exclusive_producer().expect("one producer per run");
            let mut value = vec![0; workload.value_bytes];
            Some(workload.time_round_trips(
                |acknowledged| {
                    let mut tally = Tally::default();
                    let mut position = from;
                    while ((position - from) as u64) < workload.round_trips {
                        handle.wait_for(position, WAIT_TIMEOUT);
                        let summary = handle
                            .fetch_values_with(position, 1, |_, value| {
                                tally.add(value.expect("never null"));
                            })
                            .expect("within the log");
                        position += summary.count as i64;
                        acknowledged.set((position - from) as u64);
                    }
                    tally
                },
                |sequence| {
                    encode_value(sequence, &mut value);
                    producer
                        .append_values(&[&value])
                        .expect("within the limits");
                },
            ))
        })
    }
}

/// The produce workload, each producer appending single records through its partition's
/// exclusive producer when `exclusive` (each producer then has a partition to itself), else
/// through the protocol producers share.
fn produce(workload: &Produce, exclusive: bool) -> Run {
    with_orders_topic(workload.partitions(), |handles| {
        let from: Vec<i64> = handles.iter().map(|h| h.high_watermark()).collect();
        let elapsed = workload.time_producers(|producer| {
            let handle = &handles[producer % handles.len()];
            let mut value = vec![0; workload.value_bytes];
            let mut exclusive = exclusive.then(|| {
                handle
                    .exclusive_producer()
                    .expect("each producer has its partition to itself")
            });
            move |sequence| {
                encode_value(sequence, &mut value);
                match &mut exclusive {
                    Some(producer) => producer.append_values(&[&value]),
                    None => handle.append_values(&[&value]),
                }
                .expect("within the limits");
            }
        });
        let mut sequences = Vec::new();
        for (handle, &from) in handles.iter().zip(&from) {
            let mut position = from;
            while position < handle.high_watermark() {
                let summary = handle
                    .fetch_values_with(position, 10_000, |_, value| {
                        sequences.push(sequence_of(value.expect("never null")));
                    })
                    .expect("within the log");
                position += summary.count as i64;
            }
        }
        Run {
            elapsed,
            tallies: vec![tally_sorted(sequences, workload.value_bytes)],
        }
    })
}

impl System for EngineSharedProduce {
    const NAME: &'static str = "engine_shared";

    fn fan_out(_workload: &FanOut) -> Option<Run> {
        None
    }

    fn group_scaling(_workload: &GroupScaling) -> Option<Run> {
        None
    }

    fn produce(workload: &Produce) -> Option<Run> {
        Some(produce(workload, false))
    }

    fn latency(_workload: &Latency) -> Option<Run> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: the fan-out producer trims about every 256 KiB of values, never more than four
    /// segments' records apart, and by a power of two of records.
    #[test]
    fn trims_come_every_256_kib_of_values_and_at_most_every_16384_records() {
        assert_eq!(
            trim_every_records_shift(8),
            14,
            "8-byte values: 16384 records"
        );
        assert_eq!(
            trim_every_records_shift(1024),
            8,
            "1 KiB values: 256 records"
        );
        assert_eq!(
            trim_every_records_shift(100),
            11,
            "2621 records, rounded down"
        );
        assert_eq!(trim_every_records_shift(1 << 20), 0, "every record");
    }
}
