//! The naive log: a `RwLock<Vec<Box<[u8]>>>` per partition.
//!
//! What one writes first: each record is its own allocation (records vary in size, as in the
//! engine), an append takes the write lock and pushes, a read takes the read lock and walks
//! from its position. Readers waiting for new records yield in the throughput workloads and
//! block on a `Condvar` in the latency workload (the producer notifies after each append).
//!
//! Supports every workload.

use std::sync::{Condvar, Mutex, RwLock};

use crate::peers::wait_briefly;
use crate::workload::{
    encode_value, tally_sorted, FanOut, GroupScaling, Latency, Produce, Run, System, Tally,
    GROUP_PARTITIONS,
};

/// The `RwLock<Vec>` peer.
#[derive(Debug)]
pub struct RwLockLog;

#[derive(Default)]
struct Partition {
    records: RwLock<Vec<Box<[u8]>>>,
}

impl Partition {
    fn record(sequence: u64, value_bytes: usize) -> Box<[u8]> {
        let mut value = vec![0; value_bytes].into_boxed_slice();
        encode_value(sequence, &mut value);
        value
    }

    fn append(&self, batch: impl Iterator<Item = Box<[u8]>>) {
        self.records.write().unwrap().extend(batch);
    }

    /// Read from `position`, at most `batch` records; returns how many were read.
    fn read(&self, position: u64, batch: usize, tally: &mut Tally) -> u64 {
        let records = self.records.read().unwrap();
        let start = position as usize;
        let end = records.len().min(start + batch);
        for value in &records[start.min(end)..end] {
            tally.add(value);
        }
        (end - start.min(end)) as u64
    }

    fn drain(&self, records: u64, batch: usize) -> Tally {
        let mut tally = Tally::default();
        let mut position = 0;
        while position < records {
            let read = self.read(position, batch, &mut tally);
            if read == 0 {
                wait_briefly();
            }
            position += read;
        }
        tally
    }
}

impl System for RwLockLog {
    const NAME: &'static str = "rwlock_log";

    fn fan_out(workload: &FanOut) -> Option<Run> {
        let log = Partition::default();
        Some(workload.time_consumers(
            |_| log.drain(workload.records, workload.batch_records),
            |batch| log.append(batch.map(|s| Partition::record(s, workload.value_bytes))),
        ))
    }

    fn group_scaling(workload: &GroupScaling) -> Option<Run> {
        let partitions: Vec<Partition> = (0..GROUP_PARTITIONS)
            .map(|_| {
                let log = Partition::default();
                log.append(
                    (0..workload.records_per_partition)
                        .map(|s| Partition::record(s, workload.value_bytes)),
                );
                log
            })
            .collect();
        Some(workload.time_members(|p| {
            partitions[p].drain(workload.records_per_partition, workload.batch_records)
        }))
    }

    fn produce(workload: &Produce) -> Option<Run> {
        let partitions: Vec<Partition> = (0..workload.partitions())
            .map(|_| Partition::default())
            .collect();
        let elapsed = workload.time_producers(|producer| {
            let log = &partitions[producer % partitions.len()];
            move |sequence| {
                let record = Partition::record(sequence, workload.value_bytes);
                log.append(std::iter::once(record));
            }
        });
        let sequences = partitions
            .iter()
            .flat_map(|log| {
                let records = log.records.read().unwrap();
                records
                    .iter()
                    .map(|v| crate::workload::sequence_of(v))
                    .collect::<Vec<_>>()
            })
            .collect();
        Some(Run {
            elapsed,
            tallies: vec![tally_sorted(sequences, workload.value_bytes)],
        })
    }

    fn latency(workload: &Latency) -> Option<Run> {
        let log = Partition::default();
        // The consumer checks the log and sleeps under `appended`'s mutex; the producer
        // notifies under it after each append, so no wake-up is lost.
        let appended = (Mutex::new(()), Condvar::new());
        Some(workload.time_round_trips(
            |acknowledged| {
                let mut tally = Tally::default();
                for position in 0..workload.round_trips {
                    let mut guard = appended.0.lock().unwrap();
                    while log.read(position, 1, &mut tally) == 0 {
                        guard = appended.1.wait(guard).unwrap();
                    }
                    drop(guard);
                    acknowledged.set(position + 1);
                }
                tally
            },
            |sequence| {
                log.append(std::iter::once(Partition::record(
                    sequence,
                    workload.value_bytes,
                )));
                drop(appended.0.lock().unwrap());
                appended.1.notify_one();
            },
        ))
    }
}
