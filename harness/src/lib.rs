//! The harness: checks of implementations against the model, and the `streamspec` command line.
//!
//! Modules:
//! - [`target`]: the interface every implementation under check offers.
//! - [`workload`]: the workload file of `streamspec bench` (TOML).
//! - [`bench`]: running workloads on the engine: runner, results, baseline, plot.
#![forbid(unsafe_code)]

pub mod bench;
/// The `streamspec bench` command (`cli/bench.rs`). Compiled here only until the command
/// line module (`cli/mod.rs`, on another branch) declares it: when merging, replace these
/// lines with `pub mod bench;` in `cli/mod.rs` and a `Bench(bench::BenchArgs)` command.
#[path = "cli/bench.rs"]
pub mod bench_command;
pub mod target;
pub mod workload;
