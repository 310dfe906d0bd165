//! The peers the engine is measured against, one file each, all running the same
//! [`crate::workload`]s in the same bench run:
//!
//! - [`array_log`]: the ceiling, a bare preallocated array with one published cursor.
//! - [`disruptor_ring`]: the `disruptor` crate (LMAX-style ring), 1 producer, N consumers.
//! - [`channel_fan_out`]: crossbeam channels, one per consumer.
//! - [`rwlock_log`]: the naive log, `RwLock<Vec<Box<[u8]>>>`.

pub mod array_log;
pub mod channel_fan_out;
pub mod disruptor_ring;
pub mod rwlock_log;

pub use array_log::ArrayLog;
pub use channel_fan_out::ChannelFanOut;
pub use disruptor_ring::DisruptorRing;
pub use rwlock_log::RwLockLog;

/// Most bytes of values in flight per consumer for the bounded peers (the disruptor's ring,
/// each crossbeam channel): 4 MiB, deep enough that a consumer is rarely stalled by the
/// producer and small enough that 8 consumers of 1 KiB values stay in cache-sized memory.
pub const IN_FLIGHT_BYTES_MAX: usize = 4 << 20;

/// Records in flight per consumer for the bounded peers: 4 MiB of values, at most 64 Ki
/// records.
pub fn in_flight_records(value_bytes: usize) -> usize {
    (IN_FLIGHT_BYTES_MAX / value_bytes).min(1 << 16)
}

/// What a waiting thread does when there is nothing for it yet: give the core away. With 2
/// cores and up to 9 threads, a spinning waiter steals the time the thread it waits for
/// needs; yielding keeps every system usable when oversubscribed.
#[inline]
pub fn wait_briefly() {
    std::thread::yield_now();
}

#[cfg(test)]
mod tests {
    //! Goal: every peer delivers exactly what each workload says, in every mode the benches
    //! use. Method: small runs of each workload, verified as the benches verify.

    use super::*;
    use crate::workload::{
        FanOut, GroupScaling, Latency, Produce, ProduceTarget, System, GROUP_PARTITIONS,
    };

    fn check_system<S: System>(runs_group_and_produce: bool) {
        for value_bytes in [8, 1024] {
            for batch_records in [1, 7, 1000] {
                for consumers in [1, 2, 3] {
                    let workload = FanOut {
                        records: 5_003,
                        consumers,
                        value_bytes,
                        batch_records,
                    };
                    let run = S::fan_out(&workload).expect("fan-out runs");
                    if let Err(wrong) = run.verify(consumers, |_| workload.expected()) {
                        panic!("{} {workload:?}: {wrong}", S::NAME);
                    }
                }
            }
            for members in [1, 3, GROUP_PARTITIONS] {
                let workload = GroupScaling {
                    records_per_partition: 1_001,
                    members,
                    value_bytes,
                    batch_records: 100,
                };
                match S::group_scaling(&workload) {
                    Some(run) => run.verify(members, |m| workload.expected(m)).unwrap(),
                    None => assert!(!runs_group_and_produce, "{}", S::NAME),
                }
            }
            for target in [ProduceTarget::OnePartition, ProduceTarget::PartitionPerProducer] {
                for producers in [1, 3] {
                    let workload = Produce {
                        records_per_producer: 2_000,
                        producers,
                        target,
                        value_bytes,
                    };
                    match S::produce(&workload) {
                        Some(run) => run.verify(1, |_| workload.expected()).unwrap(),
                        None => assert!(!runs_group_and_produce, "{}", S::NAME),
                    }
                }
            }
            let workload = Latency {
                round_trips: 300,
                value_bytes,
            };
            let run = S::latency(&workload).expect("latency runs");
            run.verify(1, |_| workload.expected()).unwrap();
        }
    }

    #[test]
    fn array_log_delivers_every_workload() {
        check_system::<ArrayLog>(true);
    }

    #[test]
    fn rwlock_log_delivers_every_workload() {
        check_system::<RwLockLog>(true);
    }

    #[test]
    fn channel_fan_out_delivers_every_workload() {
        check_system::<ChannelFanOut>(true);
    }

    #[test]
    fn disruptor_delivers_fan_out_and_latency() {
        check_system::<DisruptorRing>(false);
    }
}
