//! The naive log: a `RwLock<Vec<Box<[u8]>>>` per partition.
//!
//! What one writes first: each record is its own allocation (records vary in size, as in the
//! engine), an append takes the write lock and pushes, a read takes the read lock and walks
//! from its position. Readers waiting for new records yield in the throughput workloads and
//! block on a `Condvar` in the latency workload (the producer notifies after each append).
//!
//! Supports every workload.

use std::sync::{Condvar, Mutex, RwLock};
use std::thread;

use crate::peers::wait_briefly;
use crate::workload::{
    encode_value, tally_sorted, Acknowledged, FanOut, GroupScaling, Latency, Produce, Run,
    StartLine, System, Tally, GROUP_PARTITIONS,
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
            || log.drain(workload.records, workload.batch_records),
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
        let start_line = StartLine::new(workload.producers);
        let elapsed = thread::scope(|scope| {
            let producers: Vec<_> = (0..workload.producers)
                .map(|producer| {
                    let (partitions, start_line) = (&partitions, &start_line);
                    scope.spawn(move || {
                        let log = &partitions[producer % partitions.len()];
                        let first = workload.first_sequence(producer);
                        start_line.wait();
                        for sequence in first..first + workload.records_per_producer {
                            let record = Partition::record(sequence, workload.value_bytes);
                            log.append(std::iter::once(record));
                        }
                    })
                })
                .collect();
            let started = start_line.release();
            producers.into_iter().for_each(|p| p.join().unwrap());
            started.elapsed()
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
        let acknowledged = Acknowledged::default();
        let start_line = StartLine::new(1);
        thread::scope(|scope| {
            let consumer = scope.spawn(|| {
                start_line.wait();
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
            });
            let started = start_line.release();
            for sequence in 0..workload.round_trips {
                log.append(std::iter::once(Partition::record(
                    sequence,
                    workload.value_bytes,
                )));
                drop(appended.0.lock().unwrap());
                appended.1.notify_one();
                acknowledged.wait_past(sequence);
            }
            let tally = consumer.join().unwrap();
            Some(Run {
                elapsed: started.elapsed(),
                tallies: vec![tally],
            })
        })
    }
}
