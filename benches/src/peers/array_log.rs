//! The ceiling: a bare preallocated array log with one published cursor.
//!
//! No records are allocated, nothing is locked, and there is no retention, no group state and
//! no variable-size record format: the producer writes a record's words into a preallocated
//! array and publishes the count of complete records with one `Release` store; a reader loads
//! that count with `Acquire` and reads everything below it. What the engine does beyond this
//! (segments, arenas, offsets, retention, groups) is its cost over the ceiling.
//!
//! Words are `AtomicU64` with `Relaxed` accesses (plain moves on x86-64 and aarch64), so the
//! peer needs no `unsafe`: the ordering comes from the cursor alone. Values must be a whole
//! number of words; the first word is the record's sequence number (see
//! [`crate::workload::encode_value`]), every other word repeats its low byte.
//!
//! Supports every workload. Produce with several producers on one partition reserves slots
//! with `fetch_add` and is read back after the producers have joined (there is no concurrent
//! reader, so no publication order is needed).

use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_utils::CachePadded;

use crate::peers::wait_briefly;
use crate::workload::{
    FanOut, GroupScaling, Latency, Produce, ProduceTarget, Run, System, Tally, GROUP_PARTITIONS,
    VALUE_BYTES_MIN,
};

/// The bare array log peer.
#[derive(Debug)]
pub struct ArrayLog;

/// One partition: `capacity_records` records of `words_per_record` words, preallocated.
struct Partition {
    words: Box<[AtomicU64]>,
    words_per_record: usize,
    /// Records `0..published` are complete. Written by the single producer only.
    published: CachePadded<AtomicU64>,
    /// Next record to hand out to a multi-producer append ([`Partition::append_shared`]).
    reserved: CachePadded<AtomicU64>,
}

impl Partition {
    fn new(capacity_records: u64, value_bytes: usize) -> Partition {
        assert!(
            value_bytes >= VALUE_BYTES_MIN && value_bytes.is_multiple_of(8),
            "the array log holds whole words"
        );
        let words_per_record = value_bytes / 8;
        let len = capacity_records as usize * words_per_record;
        // Touch every word now (untimed), so page faults do not land in the timed part.
        let words: Box<[AtomicU64]> = (0..len).map(|_| AtomicU64::new(u64::MAX)).collect();
        Partition {
            words,
            words_per_record,
            published: CachePadded::new(AtomicU64::new(0)),
            reserved: CachePadded::new(AtomicU64::new(0)),
        }
    }

    /// Write record `index` with sequence `sequence` (not yet published).
    #[inline]
    fn write(&self, index: u64, sequence: u64) {
        let start = index as usize * self.words_per_record;
        let record = &self.words[start..start + self.words_per_record];
        record[0].store(sequence, Ordering::Relaxed);
        let fill = u64::from_ne_bytes([sequence as u8; 8]);
        for word in &record[1..] {
            word.store(fill, Ordering::Relaxed);
        }
    }

    /// Fold record `index` into `tally` (the first word and the last byte, as every system).
    #[inline]
    fn read(&self, index: u64, tally: &mut Tally) {
        let start = index as usize * self.words_per_record;
        let sequence = self.words[start].load(Ordering::Relaxed);
        let last_word = self.words[start + self.words_per_record - 1].load(Ordering::Relaxed);
        tally.add_parts(sequence, last_word.to_le_bytes()[7]);
    }

    #[inline]
    fn publish(&self, records: u64) {
        self.published.store(records, Ordering::Release);
    }

    #[inline]
    fn published(&self) -> u64 {
        self.published.load(Ordering::Acquire)
    }

    /// Append from one of several producers: reserve a slot, write it.
    #[inline]
    fn append_shared(&self, sequence: u64) {
        let index = self.reserved.fetch_add(1, Ordering::Relaxed);
        self.write(index, sequence);
    }

    /// Read records `0..records` back sorted by sequence (after the writers joined).
    fn sequences(&self, records: u64) -> Vec<u64> {
        (0..records)
            .map(|i| self.words[i as usize * self.words_per_record].load(Ordering::Relaxed))
            .collect()
    }

    /// Read every record from `0` until `records` were read, `batch` at most per look at the
    /// cursor, waiting when caught up.
    fn drain(&self, records: u64, batch: usize) -> Tally {
        let mut tally = Tally::default();
        let mut position = 0;
        while position < records {
            let available = self.published();
            if available == position {
                wait_briefly();
                continue;
            }
            let end = available.min(position + batch as u64);
            for index in position..end {
                self.read(index, &mut tally);
            }
            position = end;
        }
        tally
    }
}

impl System for ArrayLog {
    const NAME: &'static str = "array_log";

    fn fan_out(workload: &FanOut) -> Option<Run> {
        let log = Partition::new(workload.records, workload.value_bytes);
        Some(workload.time_consumers(
            |_| log.drain(workload.records, workload.batch_records),
            |batch| {
                let end = batch.end;
                for index in batch {
                    log.write(index, index);
                }
                log.publish(end);
            },
        ))
    }

    fn group_scaling(workload: &GroupScaling) -> Option<Run> {
        let partitions: Vec<Partition> = (0..GROUP_PARTITIONS)
            .map(|_| {
                let log = Partition::new(workload.records_per_partition, workload.value_bytes);
                for index in 0..workload.records_per_partition {
                    log.write(index, index);
                }
                log.publish(workload.records_per_partition);
                log
            })
            .collect();
        Some(workload.time_members(|p| {
            partitions[p].drain(workload.records_per_partition, workload.batch_records)
        }))
    }

    fn produce(workload: &Produce) -> Option<Run> {
        let capacity = match workload.target {
            ProduceTarget::OnePartition => workload.records_total(),
            ProduceTarget::PartitionPerProducer => workload.records_per_producer,
        };
        let partitions: Vec<Partition> = (0..workload.partitions())
            .map(|_| Partition::new(capacity, workload.value_bytes))
            .collect();
        let elapsed = workload.time_producers(|producer| {
            let log = &partitions[producer % partitions.len()];
            move |sequence| log.append_shared(sequence)
        });
        let sequences = partitions
            .iter()
            .flat_map(|log| log.sequences(log.reserved.load(Ordering::Relaxed)))
            .collect();
        Some(Run {
            elapsed,
            tallies: vec![crate::workload::tally_sorted(
                sequences,
                workload.value_bytes,
            )],
        })
    }

    fn latency(workload: &Latency) -> Option<Run> {
        let log = Partition::new(workload.round_trips, workload.value_bytes);
        Some(workload.time_round_trips(
            |acknowledged| {
                let mut tally = Tally::default();
                for index in 0..workload.round_trips {
                    while log.published() <= index {
                        wait_briefly();
                    }
                    log.read(index, &mut tally);
                    acknowledged.set(index + 1);
                }
                tally
            },
            |index| {
                log.write(index, index);
                log.publish(index + 1);
            },
        ))
    }
}
