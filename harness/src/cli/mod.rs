//! The `streamspec` command line: one file per command.
//!
//! - [`replay`]: `streamspec replay PATH...`, run traces against the model.
//! - [`check`]: `streamspec check`, the correctness gate against the built-in engine.
//! - [`verify`]: `streamspec verify HISTORY`, linearizability and anomalies of a recorded
//!   history (JSON Lines, or Jepsen's EDN).
//! - [`bench`]: `streamspec bench WORKLOAD.toml`, throughput and latency with a baseline.
//! - [`soak`]: `streamspec soak --seconds N`, a long run that accounts for every record.
//! - [`kafka`]: `streamspec kafka --bootstrap HOST:PORT`, check a live broker (needs the
//!   `kafka` cargo feature; without it the command says so).
//!
//! Adding a command is one file here and one variant of [`Command`]. Every command writes its
//! report to the writer it is given (so tests can read it) and returns an exit code:
//! [`EXIT_PASSED`], [`EXIT_FAILED`] or [`EXIT_BAD_INPUT`].

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod bench;
pub mod check;
pub mod kafka;
pub mod replay;
pub mod soak;
pub mod verify;

/// Exit code: every check passed.
pub const EXIT_PASSED: u8 = 0;
/// Exit code: a check failed (a divergence, a violated property).
pub const EXIT_FAILED: u8 = 1;
/// Exit code: the input could not be used (a malformed trace, a missing path); also clap's
/// code for bad arguments.
pub const EXIT_BAD_INPUT: u8 = 2;

/// Checks implementations of Kafka-style event streaming against the reference model.
#[derive(Debug, Parser)]
#[command(name = "streamspec", version)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Replay JSON Lines traces (files, or folders searched for *.jsonl) against the model and
    /// report the first divergence per file.
    Replay(replay::ReplayArgs),
    /// Run every check against the built-in implementation within a time budget.
    Check(check::CheckArgs),
    /// Check a recorded history for linearizability and anomalies.
    Verify(verify::VerifyArgs),
    /// Run a concurrent workload against a live Kafka-protocol broker, record its history,
    /// and report every departure from the model (needs the `kafka` feature).
    Kafka(kafka::KafkaArgs),
    /// Run a benchmark workload file on the engine: throughput, latency, JSON results, an SVG
    /// plot, and a comparison with a saved baseline.
    Bench(bench::BenchArgs),
    /// Run producers, groups and retention together for a while, report resident memory over
    /// time, and account for every acknowledged record at the end.
    Soak(soak::SoakArgs),
}

impl Command {
    /// Run the command, writing its report to `out`; returns the exit code.
    pub fn run(&self, out: &mut dyn Write) -> u8 {
        match self {
            Command::Replay(args) => replay::run(args, out),
            Command::Check(args) => check::run(args, out),
            Command::Verify(args) => verify::run(args, out),
            Command::Kafka(args) => kafka::run(args, out),
            Command::Bench(args) => bench::run(args, out),
            Command::Soak(args) => soak::run(args, out),
        }
    }
}

/// The binary's entry point: parse the arguments, run the command, exit with its code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let code = cli.command.run(&mut out);
    // A report cut short by a closed pipe is not worth a panic; the exit code still tells.
    let _ = out.flush();
    ExitCode::from(code)
}
