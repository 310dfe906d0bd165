//! Benchmark workloads, the engine's runner and its peers.
//!
//! - [`workload`]: the workload shapes every system runs (fan-out, group scaling, produce,
//!   latency), the checksum every consumer keeps, and the [`workload::System`] trait.
//! - [`measure`]: verify, then time, one system on one workload (criterion).
//! - [`peers`]: the systems the engine is compared with, one file each.
//!
//! The criterion benches in `benches/` run each workload on every system in the same run
//! and time a system only after one verified run (counts and checksums per consumer).

pub mod measure;
pub mod peers;
pub mod workload;
