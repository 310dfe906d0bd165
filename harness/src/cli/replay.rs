//! `streamspec replay PATH...`: run trace files against the model.
//!
//! Output, one block per file, in sorted path order:
//! - `ok    PATH: N steps match the model` (plus `, K accepted as allowed alternative` and one
//!   indented line per alternative, the first few of them);
//! - `FAIL  PATH:LINE: OP diverges from the model` and indented `op`, `trace`, `model` and
//!   `why` lines;
//! - `error PATH:LINE: what is wrong` for a trace that cannot be read.
//!
//! Exit code: 0 when every file passes, 1 when some file diverges, 2 when some file is
//! malformed or a path does not exist (2 wins over 1).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::{EXIT_BAD_INPUT, EXIT_FAILED, EXIT_PASSED};
use crate::replay::{replay, ReplayReport};
use crate::trace::{op_json, ret_json, trace_files, Trace};

/// How many allowed alternatives are listed per file; the rest are counted.
const ALTERNATIVES_LISTED_MAX: usize = 5;

/// Arguments of `streamspec replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Trace files, or folders searched recursively for *.jsonl files.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Run each trace's ops against this implementation instead of reading the trace's
    /// answers: `kafka://HOST:PORT` (needs the `kafka` feature).
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
}

/// Replay every trace named by `args`, report to `out`, return the exit code.
pub fn run(args: &ReplayArgs, out: &mut dyn Write) -> u8 {
    match run_inner(args, out) {
        Ok(code) => code,
        // The report itself could not be written (a closed pipe): nothing more to say.
        Err(_) => EXIT_BAD_INPUT,
    }
}

fn run_inner(args: &ReplayArgs, out: &mut dyn Write) -> std::io::Result<u8> {
    if let Some(target) = &args.target {
        return super::kafka::replay_against_target(target, &args.paths, out);
    }
    let files = match trace_files(&args.paths) {
        Ok(files) => files,
        Err(error) => {
            writeln!(out, "error {error}")?;
            return Ok(EXIT_BAD_INPUT);
        }
    };
    if files.is_empty() {
        writeln!(out, "error no *.jsonl trace files under the given paths")?;
        return Ok(EXIT_BAD_INPUT);
    }
    let (mut passed, mut failed, mut malformed) = (0usize, 0usize, 0usize);
    for file in &files {
        match Trace::read(file) {
            Err(error) => {
                malformed += 1;
                writeln!(out, "error {error}")?;
            }
            Ok(trace) => {
                let report = replay(&trace);
                if report.passed() {
                    passed += 1;
                } else {
                    failed += 1;
                }
                write_report(out, &report)?;
            }
        }
    }
    writeln!(
        out,
        "{} trace files: {passed} passed, {failed} diverged, {malformed} malformed",
        files.len()
    )?;
    Ok(if malformed > 0 {
        EXIT_BAD_INPUT
    } else if failed > 0 {
        EXIT_FAILED
    } else {
        EXIT_PASSED
    })
}

/// Write one file's report in the format described in the module docs.
pub fn write_report(out: &mut dyn Write, report: &ReplayReport) -> std::io::Result<()> {
    let path = report.path.display();
    if let Some(divergence) = &report.divergence {
        writeln!(
            out,
            "FAIL  {path}:{}: {} diverges from the model",
            divergence.line_number,
            divergence.op.name()
        )?;
        writeln!(out, "      op:    {}", op_json(&divergence.op))?;
        writeln!(out, "      trace: {}", ret_json(&divergence.trace))?;
        writeln!(out, "      model: {}", ret_json(&divergence.model))?;
        if let Some(reason) = &divergence.reason {
            writeln!(out, "      why:   {reason}")?;
        }
        return Ok(());
    }
    let alternatives = &report.alternatives;
    if alternatives.is_empty() {
        writeln!(
            out,
            "ok    {path}: {} steps match the model",
            report.steps_count
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "ok    {path}: {} steps match the model, {} accepted as allowed alternative",
        report.steps_count,
        alternatives.len()
    )?;
    for alternative in alternatives.iter().take(ALTERNATIVES_LISTED_MAX) {
        writeln!(
            out,
            "      line {}: {} accepted as allowed alternative: {}",
            alternative.line_number, alternative.op_name, alternative.note
        )?;
    }
    if alternatives.len() > ALTERNATIVES_LISTED_MAX {
        writeln!(
            out,
            "      ... and {} more",
            alternatives.len() - ALTERNATIVES_LISTED_MAX
        )?;
    }
    Ok(())
}
