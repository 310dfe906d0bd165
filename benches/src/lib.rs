//! Benchmark workloads, the engine's runner and its peers.
//!
//! - [`workload`]: the workload shapes every system runs (fan-out, group scaling, produce,
//!   latency), the checksum every consumer keeps, and the [`workload::System`] trait.
//! - [`engine`]: the engine's fast path as a [`workload::System`].
//! - [`measure`]: verify, then time, one system on one workload (criterion).
//! - [`peers`]: the systems the engine is compared with, one file each.
//! - [`placement`]: which core each thread of a run is pinned to, the same for every system.
//! - [`core_distance`]: how far apart the cores of a run's threads 0 and 1 are, measured.
//!
//! The criterion benches in `benches/` run each workload on every system in the same run
//! and time a system only after one verified run (counts and checksums per consumer).

pub mod core_distance;
pub mod engine;
pub mod measure;
pub mod peers;
pub mod placement;
pub mod workload;

#[cfg(test)]
mod delivery_tests {
    //! Goal: the engine and every peer deliver exactly what each workload says, in every mode the benches
    //! use. Method: small runs of each workload, verified as the benches verify.

    use crate::peers::{ArrayLog, ChannelFanOut, DisruptorPoller, DisruptorRing, RwLockLog};
    use crate::workload::{
        FanOut, GroupScaling, Latency, Produce, ProduceTarget, System, GROUP_PARTITIONS,
    };

    /// Which workloads a system runs.
    struct Runs {
        fan_out: bool,
        group_scaling: bool,
        produce: bool,
        latency: bool,
    }

    const EVERY_WORKLOAD: Runs = Runs {
        fan_out: true,
        group_scaling: true,
        produce: true,
        latency: true,
    };

    fn check_system<S: System>(runs: Runs) {
        for value_bytes in [8, 1024] {
            for batch_records in [1, 7, 1000] {
                for consumers in [1, 2, 3] {
                    let workload = FanOut {
                        records: 5_003,
                        consumers,
                        value_bytes,
                        batch_records,
                    };
                    match S::fan_out(&workload) {
                        Some(run) => {
                            if let Err(wrong) = run.verify(consumers, |_| workload.expected()) {
                                panic!("{} {workload:?}: {wrong}", S::NAME);
                            }
                        }
                        None => assert!(!runs.fan_out, "{}", S::NAME),
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
                    None => assert!(!runs.group_scaling, "{}", S::NAME),
                }
            }
            for target in [
                ProduceTarget::OnePartition,
                ProduceTarget::PartitionPerProducer,
            ] {
                for producers in [1, 3] {
                    let workload = Produce {
                        records_per_producer: 2_000,
                        producers,
                        target,
                        value_bytes,
                    };
                    match S::produce(&workload) {
                        Some(run) => run.verify(1, |_| workload.expected()).unwrap(),
                        None => assert!(!runs.produce, "{}", S::NAME),
                    }
                }
            }
            let workload = Latency {
                round_trips: 300,
                value_bytes,
            };
            match S::latency(&workload) {
                Some(run) => run.verify(1, |_| workload.expected()).unwrap(),
                None => assert!(!runs.latency, "{}", S::NAME),
            }
        }
    }

    #[test]
    fn engine_delivers_every_workload() {
        check_system::<crate::engine::EngineFastPath>(EVERY_WORKLOAD);
    }

    #[test]
    fn engine_shared_produce_delivers_produce() {
        check_system::<crate::engine::EngineSharedProduce>(Runs {
            fan_out: false,
            group_scaling: false,
            produce: true,
            latency: false,
        });
    }

    #[test]
    fn array_log_delivers_every_workload() {
        check_system::<ArrayLog>(EVERY_WORKLOAD);
    }

    #[test]
    fn rwlock_log_delivers_every_workload() {
        check_system::<RwLockLog>(EVERY_WORKLOAD);
    }

    #[test]
    fn channel_fan_out_delivers_every_workload() {
        check_system::<ChannelFanOut>(EVERY_WORKLOAD);
    }

    #[test]
    fn disruptor_delivers_fan_out_and_latency() {
        check_system::<DisruptorRing>(Runs {
            fan_out: true,
            group_scaling: false,
            produce: false,
            latency: true,
        });
    }

    #[test]
    fn disruptor_poller_delivers_fan_out() {
        check_system::<DisruptorPoller>(Runs {
            fan_out: true,
            group_scaling: false,
            produce: false,
            latency: false,
        });
    }
}
