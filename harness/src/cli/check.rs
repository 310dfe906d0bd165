//! `streamspec check [--seconds N] [--seed S] [--threads T] [--out DIR] [--rounds R]`: runs
//! every check against the built-in implementation within a time budget.
//!
//! Rounds cycle through three checks: a recorded concurrent history of the log scenario
//! (assign mode), one of the groups scenario (subscribe mode), each judged for
//! linearizability and anomalies, and a batch of differential sequences (model and target in
//! lockstep). A progress bar shows the time spent; at the end a table gives, per check, the
//! histories (or sequences) and ops checked and what failed. The first failure stops the run
//! and is written under `--out`: `history.jsonl`, `timeline.txt` and `timeline.html` for a
//! history, `trace.jsonl` (replayable with `streamspec replay`) for a differential mismatch.
//!
//! The same seed gives the same rounds: each round's workload and sequences come from
//! `seed` and the round number. (Which interleaving the threads take is up to the OS; with
//! `--rounds` the set of rounds no longer depends on the time budget either.)
//!
//! Exit code: 0 when every check passed, 1 when one failed, 2 when `--out` cannot be written.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::verify::{finding_page, write_report};
use super::{EXIT_BAD_INPUT, EXIT_FAILED, EXIT_PASSED};
use crate::differential;
use crate::gate::{run_round, Round, Scenario};
use crate::linearizability::Verdict;
use crate::reference::Locked;
use crate::target::{ConcurrentTarget, Target};
use crate::workload::Rng;
use streamspec_model::Model;

/// Differential sequences per round.
const DIFFERENTIAL_SEQUENCES_PER_ROUND: usize = 20;
/// Ops per differential sequence: long enough for retention, rebalances and retries to
/// interact, short enough to shrink quickly.
const DIFFERENTIAL_OPS_PER_SEQUENCE: usize = 200;
/// Least time a round's linearizability check is given, even near the end of the budget.
const ROUND_CHECK_SECONDS_MIN: u64 = 5;

/// Arguments of `streamspec check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Time budget in seconds; rounds start while it lasts.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Seed of the run; the same seed gives the same rounds.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Client threads of the recorded histories.
    #[arg(long, default_value_t = 4)]
    pub threads: usize,
    /// Ops per client thread per recorded history.
    #[arg(long, default_value_t = 500)]
    pub ops: usize,
    /// Run exactly this many rounds, whatever the time.
    #[arg(long)]
    pub rounds: Option<usize>,
    /// Where counterexamples are written.
    #[arg(long, default_value = "streamspec-check")]
    pub out: PathBuf,
}

/// What `check` runs against: fresh instances of the implementation, concurrent (for
/// histories) and sequential (for the differential). The engine plugs in here.
pub struct Subject {
    /// A name for the report.
    pub name: String,
    /// A fresh instance for one recorded history.
    pub concurrent: Box<dyn Fn() -> Box<dyn ConcurrentTarget>>,
    /// A fresh instance for one differential sequence.
    pub sequential: Box<dyn FnMut() -> Box<dyn Target>>,
}

/// The built-in implementation `check` runs against.
pub fn default_subject() -> Subject {
    Subject {
        name: "model (locked)".into(),
        concurrent: Box::new(|| Box::new(Locked::model())),
        sequential: Box::new(|| Box::new(Model::new())),
    }
}

/// Run `streamspec check` against the built-in implementation.
pub fn run(args: &CheckArgs, out: &mut dyn Write) -> u8 {
    run_against(args, out, default_subject())
}

/// Totals of one check for the summary table.
#[derive(Default)]
struct Tally {
    runs: usize,
    ops: usize,
    failed: usize,
    unknown: usize,
}

/// The checks of the summary table, in order.
const CHECKS: [&str; 5] = [
    "linearizability (log)",
    "anomalies (log)",
    "linearizability (groups)",
    "anomalies (groups)",
    "differential",
];

/// Run `streamspec check` against `subject`.
pub fn run_against(args: &CheckArgs, out: &mut dyn Write, subject: Subject) -> u8 {
    run_inner(args, out, subject).unwrap_or(EXIT_BAD_INPUT)
}

fn run_inner(args: &CheckArgs, out: &mut dyn Write, mut subject: Subject) -> std::io::Result<u8> {
    let started = Instant::now();
    let budget = Duration::from_secs(args.seconds);
    let root = Rng::new(args.seed);
    let mut tallies: Vec<Tally> = CHECKS.iter().map(|_| Tally::default()).collect();
    let progress = ProgressBar::new(args.seconds.max(1));
    progress.set_style(
        ProgressStyle::with_template("{spinner} {elapsed_precise} [{bar:30}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    writeln!(
        out,
        "streamspec check: {} for {} s, seed {}, {} threads",
        subject.name, args.seconds, args.seed, args.threads
    )?;
    let mut failure: Option<(String, PathBuf)> = None;
    let mut round = 0usize;
    loop {
        let more = match args.rounds {
            Some(rounds) => round < rounds,
            None => started.elapsed() < budget,
        };
        if !more {
            break;
        }
        let seed = root.fork(round as u64).next_u64();
        let remaining = budget.saturating_sub(started.elapsed());
        let check_time = remaining.max(Duration::from_secs(ROUND_CHECK_SECONDS_MIN));
        progress.set_message(format!("round {round} (seed {seed:#x})"));
        progress.set_position(started.elapsed().as_secs().min(args.seconds));
        match round % 3 {
            kind @ (0 | 1) => {
                let scenario = Scenario::ALL[kind];
                let target = (subject.concurrent)();
                let result = run_round(
                    target.as_ref(),
                    scenario,
                    seed,
                    args.threads.max(1),
                    args.ops.max(1),
                    check_time,
                );
                let base = kind * 2;
                let ops = result.history.ops.len();
                for t in &mut tallies[base..base + 2] {
                    t.runs += 1;
                    t.ops += ops;
                }
                match &result.judgement.linearizability.verdict {
                    Verdict::Illegal(_) => tallies[base].failed += 1,
                    Verdict::Unknown(_) => tallies[base].unknown += 1,
                    Verdict::Linearizable => {}
                }
                if !result.judgement.anomalies.is_clean() {
                    tallies[base + 1].failed += 1;
                }
                if !result.judgement.passed() {
                    let dir = counterexample_dir(&args.out, round, scenario_slug(scenario), seed);
                    match write_round(&dir, &result) {
                        Ok(()) => {}
                        Err(error) => {
                            progress.finish_and_clear();
                            writeln!(out, "error cannot write {}: {error}", dir.display())?;
                            return Ok(EXIT_BAD_INPUT);
                        }
                    }
                    progress.suspend(|| -> std::io::Result<()> {
                        writeln!(out)?;
                        write_report(
                            out,
                            &result.history,
                            &result.judgement,
                            &format!("round {round}, {}", scenario.name()),
                        )
                    })?;
                    failure = Some((format!("{} round {round}", scenario.name()), dir));
                    break;
                }
            }
            _ => {
                let (ops, mismatch) = differential::run(
                    &mut subject.sequential,
                    seed,
                    DIFFERENTIAL_SEQUENCES_PER_ROUND,
                    DIFFERENTIAL_OPS_PER_SEQUENCE,
                );
                let tally = &mut tallies[4];
                tally.runs += DIFFERENTIAL_SEQUENCES_PER_ROUND;
                tally.ops += ops;
                if let Some(mismatch) = mismatch {
                    tally.failed += 1;
                    let dir = counterexample_dir(&args.out, round, "differential", seed);
                    let written = std::fs::create_dir_all(&dir).and_then(|()| {
                        let mut file = std::fs::File::create(dir.join("trace.jsonl"))?;
                        mismatch.write_trace(&mut file)
                    });
                    if let Err(error) = written {
                        progress.finish_and_clear();
                        writeln!(out, "error cannot write {}: {error}", dir.display())?;
                        return Ok(EXIT_BAD_INPUT);
                    }
                    let last = mismatch
                        .target_rets
                        .last()
                        .expect("a mismatch has a result");
                    writeln!(
                        out,
                        "\ndifferential mismatch after {} ops (shrunk):\n  op     {}\n  target {}\n  model  {}",
                        mismatch.ops.len(),
                        serde_json::to_string(mismatch.op()).unwrap_or_default(),
                        differential::ret_text(last),
                        differential::ret_text(&mismatch.model_ret)
                    )?;
                    failure = Some((format!("differential round {round}"), dir));
                    break;
                }
            }
        }
        round += 1;
    }
    progress.finish_and_clear();
    writeln!(
        out,
        "\n{:<26} {:>8} {:>10} {:>7} {:>8}",
        "check", "runs", "ops", "failed", "unknown"
    )?;
    for (name, t) in CHECKS.iter().zip(&tallies) {
        writeln!(
            out,
            "{name:<26} {:>8} {:>10} {:>7} {:>8}",
            t.runs, t.ops, t.failed, t.unknown
        )?;
    }
    writeln!(
        out,
        "({} rounds in {:.1} s; runs are histories, or sequences for the differential)",
        round + usize::from(failure.is_some()),
        started.elapsed().as_secs_f64()
    )?;
    Ok(match failure {
        Some((what, dir)) => {
            writeln!(out, "FAIL {what}: counterexample in {}", dir.display())?;
            EXIT_FAILED
        }
        None => {
            writeln!(out, "PASS")?;
            EXIT_PASSED
        }
    })
}

fn scenario_slug(scenario: Scenario) -> &'static str {
    match scenario {
        Scenario::Log => "log",
        Scenario::Groups => "groups",
    }
}

fn counterexample_dir(out: &Path, round: usize, what: &str, seed: u64) -> PathBuf {
    out.join(format!("round{round}-{what}-seed{seed:016x}"))
}

/// Writes a failed round: the history, its text timeline and its HTML page.
fn write_round(dir: &Path, round: &Round) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    round.history.write_file(&dir.join("history.jsonl"))?;
    let mut text = Vec::new();
    write_report(
        &mut text,
        &round.history,
        &round.judgement,
        &format!("{} seed {:#x}", round.scenario.name(), round.seed),
    )?;
    std::fs::write(dir.join("timeline.txt"), text)?;
    let page = finding_page(&round.history, &round.judgement, round.scenario.name());
    std::fs::write(dir.join("timeline.html"), page)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use streamspec_model::{Op, Reply, Ret};

    /// The locked model, except that every 5th fetch loses the value of its first record.
    struct Corrupting(Locked<Model>, std::sync::atomic::AtomicU64);
    impl ConcurrentTarget for Corrupting {
        fn name(&self) -> String {
            "corrupting".into()
        }
        fn apply(&self, op: &Op) -> Ret {
            let mut ret = self.0.apply(op);
            if let Ok(Reply::Fetched { records, .. }) = &mut ret {
                let n = self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if !records.is_empty() && n % 5 == 4 {
                    records[0].value = None;
                }
            }
            ret
        }
    }

    fn args(out: PathBuf) -> CheckArgs {
        CheckArgs {
            seconds: 30,
            seed: 9,
            threads: 3,
            ops: 150,
            rounds: Some(3),
            out,
        }
    }

    #[test]
    fn passes_the_reference_and_fails_a_corrupting_target_with_a_counterexample() {
        // Goal: the command's exit code and files. Method: three rounds against the
        // reference (pass), then against a target that corrupts fetches (fail, files).
        let dir = std::env::temp_dir().join(format!("streamspec-check-{}", std::process::id()));
        let mut out = Vec::new();
        assert_eq!(run(&args(dir.clone()), &mut out), EXIT_PASSED);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("differential") && text.ends_with("PASS\n"),
            "{text}"
        );

        let subject = Subject {
            name: "corrupting".into(),
            concurrent: Box::new(|| Box::new(Corrupting(Locked::model(), Default::default()))),
            sequential: Box::new(|| Box::new(Model::new())),
        };
        let mut out = Vec::new();
        assert_eq!(
            run_against(&args(dir.clone()), &mut out, subject),
            EXIT_FAILED
        );
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("FAIL log (assign mode) round 0"), "{text}");
        let round_dir = std::fs::read_dir(&dir)
            .unwrap()
            .next()
            .expect("a counterexample folder")
            .unwrap()
            .path();
        for file in ["history.jsonl", "timeline.txt", "timeline.html"] {
            assert!(round_dir.join(file).exists(), "{file} missing");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
