//! `streamspec bench`: run a workload file on the engine and report, in the spirit of the
//! OpenMessaging Benchmark.
//!
//! - [`runner`]: runs one point (producers, groups, members, rate, warm-up, duration) and
//!   measures throughput and end-to-end latency (hdrhistogram), checking delivery order.
//! - [`results`]: the JSON results file and the medians over repeats.
//! - [`baseline`]: comparison with a saved results file, with a noise-aware threshold.
//! - [`plot`]: the SVG plot of throughput across a sweep.
//!
//! The workload file format is [`crate::workload`]; the command is `cli/bench.rs`.

pub mod baseline;
pub mod plot;
pub mod results;
pub mod runner;
