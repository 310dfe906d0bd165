//! `streamspec bench`: run a workload file on the engine and report, in the spirit of the
//! OpenMessaging Benchmark.
//!
//! - [`workload`]: the workload file (TOML): format, parser, field-naming errors, sweeps.
//! - [`runner`]: runs one point (producers, groups, members, rate, warm-up, duration) and
//!   measures throughput and end-to-end latency (hdrhistogram), checking delivery order.
//! - [`results`]: the JSON results file and the medians over repeats.
//! - [`baseline`]: comparison with a saved results file, with a noise-aware threshold.
//! - [`other_build`]: another build's runs taken between this build's, as the baseline.
//! - [`plot`]: the SVG plot of throughput across a sweep.
//!
//! The command itself is `cli/bench.rs`.

pub mod baseline;
pub mod other_build;
pub mod plot;
pub mod results;
pub mod runner;
pub mod workload;
