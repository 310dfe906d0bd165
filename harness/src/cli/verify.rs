//! `streamspec verify HISTORY.jsonl`: the linearizability and anomaly report for a history
//! recorded from any implementation (format: docs/history-format.md), with an exit code for
//! CI.
//!
//! Output: the history's size, the linearizability verdict (components, time), each anomaly
//! with the ops that show it, what the mode allowed, a text timeline of the first finding,
//! and `PASS` or `FAIL`. `--html FILE` also writes the timeline as an HTML/SVG page.
//!
//! Exit code: 0 when nothing is wrong, 1 when the history is not linearizable or shows an
//! anomaly (or, with `--strict`, when a bound ran out before linearizability was decided),
//! 2 when the file cannot be read or parsed (the message names file, line and problem).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{EXIT_BAD_INPUT, EXIT_FAILED, EXIT_PASSED};
use crate::gate::{judge, Judgement};
use crate::history::History;
use crate::linearizability::{Options, Verdict};
use crate::timeline;

/// Ops of context shown before a finding's ops in the timeline.
const TIMELINE_CONTEXT_OPS: usize = 6;
/// Most ops of an illegal window listed by id; the rest are counted.
const WINDOW_LISTED_MAX: usize = 40;
/// Most findings listed; the rest are counted.
const FINDINGS_LISTED_MAX: usize = 20;

/// Arguments of `streamspec verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The history, JSON Lines (docs/history-format.md), or a Jepsen Kafka workload's
    /// `history.edn` (by its `.edn` extension; converted as harness/src/jepsen.rs says).
    pub history: PathBuf,
    /// Every reader read to the end before the history ended: never-read records are
    /// `unseen` anomalies rather than merely counted.
    #[arg(long)]
    pub drained: bool,
    /// Time bound for the linearizability check, in seconds.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Threads for the linearizability check.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Fail (exit 1) when linearizability could not be decided within the bounds.
    #[arg(long)]
    pub strict: bool,
    /// Also write the first finding's timeline as an HTML page here.
    #[arg(long)]
    pub html: Option<PathBuf>,
}

/// Verify the history named by `args`, report to `out`, return the exit code.
pub fn run(args: &VerifyArgs, out: &mut dyn Write) -> u8 {
    run_inner(args, out).unwrap_or(EXIT_BAD_INPUT)
}

fn run_inner(args: &VerifyArgs, out: &mut dyn Write) -> std::io::Result<u8> {
    // A Jepsen Kafka history (EDN) is converted to ours first (crate::jepsen).
    let jepsen = args.history.extension().is_some_and(|e| e == "edn");
    let read = if jepsen {
        crate::jepsen::read_history(&args.history)
            .map_err(|e| format!("{}: {e}", args.history.display()))
    } else {
        History::read(&args.history).map_err(|e| e.to_string())
    };
    let history = match read {
        Ok(history) => history,
        Err(error) => {
            writeln!(out, "error {error}")?;
            return Ok(EXIT_BAD_INPUT);
        }
    };
    let options = Options {
        threads: args.threads.max(1),
        time_limit: Duration::from_secs(args.seconds),
        ..Options::default()
    };
    let judgement = if jepsen {
        // A converted Jepsen history has no create_topic or join_group, so the model cannot
        // replay it: only the anomaly checks apply (crate::jepsen's module docs).
        Judgement {
            linearizability: crate::linearizability::Report {
                verdict: Verdict::Unknown(
                    "not checked: a Jepsen history has no create_topic or join_group for the model"
                        .to_string(),
                ),
                ops: history.ops.len(),
                components: 0,
                compact_components: 0,
                setup_ops: 0,
                decomposed: false,
                elapsed: Duration::ZERO,
            },
            anomalies: crate::anomaly::check(
                &history,
                &crate::anomaly::Options {
                    drained: args.drained,
                },
            ),
        }
    } else {
        judge(&history, args.drained, &options)
    };
    write_report(
        out,
        &history,
        &judgement,
        &args.history.display().to_string(),
    )?;
    if let Some(path) = &args.html {
        let page = finding_page(&history, &judgement, &args.history.display().to_string());
        if let Err(error) = std::fs::write(path, page) {
            writeln!(out, "error cannot write {}: {error}", path.display())?;
            return Ok(EXIT_BAD_INPUT);
        }
        writeln!(out, "timeline page: {}", path.display())?;
    }
    let unknown = matches!(judgement.linearizability.verdict, Verdict::Unknown(_));
    Ok(if !judgement.passed() || (args.strict && unknown) {
        writeln!(out, "FAIL")?;
        EXIT_FAILED
    } else {
        writeln!(out, "PASS")?;
        EXIT_PASSED
    })
}

/// Writes the report of one judged history (shared with `streamspec check`).
pub fn write_report(
    out: &mut dyn Write,
    history: &History,
    judgement: &Judgement,
    name: &str,
) -> std::io::Result<()> {
    let processes = {
        let mut p: Vec<u64> = history.ops.iter().map(|o| o.process).collect();
        p.sort_unstable();
        p.dedup();
        p.len()
    };
    writeln!(
        out,
        "history {name}: {} ops, {processes} processes",
        history.ops.len()
    )?;
    let l = &judgement.linearizability;
    let split = if l.decomposed {
        format!(
            "{} components ({} compact), {} setup ops",
            l.components, l.compact_components, l.setup_ops
        )
    } else {
        "not split: a global op is concurrent with others".to_string()
    };
    match &l.verdict {
        Verdict::Linearizable => writeln!(
            out,
            "linearizability: ok ({split}, {} ms)",
            l.elapsed.as_millis()
        )?,
        Verdict::Unknown(why) => writeln!(out, "linearizability: unknown, {why} ({split})")?,
        Verdict::Illegal(illegal) => {
            writeln!(
                out,
                "linearizability: ILLEGAL in {} ({split})",
                illegal.component
            )?;
            match illegal.culprit {
                Some(c) => writeln!(
                    out,
                    "  no order of the ops explains op #{c}; the history up to its completion \
                     ({} ops of the component) is not linearizable, up to the completion \
                     before it is",
                    illegal.prefix_ops
                )?,
                None => writeln!(
                    out,
                    "  the failing prefix could not be narrowed within the bounds"
                )?,
            }
            let window: Vec<String> = illegal
                .window
                .iter()
                .take(WINDOW_LISTED_MAX)
                .map(|i| format!("#{i}"))
                .collect();
            let more = illegal.window.len().saturating_sub(WINDOW_LISTED_MAX);
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            writeln!(
                out,
                "  window (the culprit and the ops concurrent with it): {}{more}",
                window.join(" ")
            )?;
        }
    }
    let a = &judgement.anomalies;
    if a.counts.is_empty() {
        writeln!(
            out,
            "anomalies: none ({} records written, {} read)",
            a.writes, a.reads
        )?;
    } else {
        let counts: Vec<String> = a.counts.iter().map(|(n, c)| format!("{n} x{c}")).collect();
        writeln!(out, "anomalies: {}", counts.join(", "))?;
        for anomaly in a.anomalies.iter().take(FINDINGS_LISTED_MAX) {
            let ops: Vec<String> = anomaly.ops.iter().map(|i| format!("#{i}")).collect();
            writeln!(
                out,
                "  {}: {} [{}]",
                anomaly.name,
                anomaly.explanation,
                ops.join(" ")
            )?;
        }
    }
    if a.unseen > 0 && !a.counts.contains_key(crate::anomaly::UNSEEN) {
        writeln!(
            out,
            "unseen: {} acknowledged records never read (counted, not an anomaly: the history is not marked drained)",
            a.unseen
        )?;
    }
    for allowance in &a.allowances {
        writeln!(out, "allowed: {allowance}")?;
    }
    if let Some(first) = judgement.findings().first() {
        writeln!(out, "\ntimeline of the first finding ({}):", first.check)?;
        let ids = timeline::context_ids(history, &first.ops, TIMELINE_CONTEXT_OPS);
        write!(out, "{}", timeline::text(history, &ids, &first.ops))?;
    }
    Ok(())
}

/// An HTML page of the first finding (or a note that there is none).
pub fn finding_page(history: &History, judgement: &Judgement, name: &str) -> String {
    match judgement.findings().first() {
        Some(first) => {
            let ids = timeline::context_ids(history, &first.ops, TIMELINE_CONTEXT_OPS);
            timeline::html(
                history,
                &ids,
                &first.ops,
                &format!("{name}: {}", first.check),
                std::slice::from_ref(&first.summary),
            )
        }
        None => timeline::html(history, &[], &[], &format!("{name}: no finding"), &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::record;
    use crate::reference::Locked;
    use crate::workload::{log_workload, LogWorkloadConfig};

    fn args(history: PathBuf) -> VerifyArgs {
        VerifyArgs {
            history,
            drained: true,
            seconds: 30,
            threads: 2,
            strict: true,
            html: None,
        }
    }

    #[test]
    fn exit_codes_say_pass_fail_and_bad_input() {
        // Goal: CI can rely on the exit code. Method: a correct recorded history, the same
        // with one produce's offset changed, and a malformed file.
        let dir = std::env::temp_dir().join(format!("streamspec-verify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let workload = log_workload(LogWorkloadConfig {
            threads: 3,
            ops_per_thread: 100,
            partitions: 2,
            delete_percent: 0,
            seed: 5,
        });
        let mut history = record(
            &Locked::model(),
            &workload.setup,
            workload.workers,
            workload.finale,
        );
        let good = dir.join("good.jsonl");
        history.write_file(&good).unwrap();
        let mut out = Vec::new();
        assert_eq!(run(&args(good), &mut out), EXIT_PASSED);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("linearizability: ok"), "{text}");
        assert!(text.ends_with("PASS\n"), "{text}");

        let produce = history
            .ops
            .iter()
            .position(|o| {
                matches!(
                    o.outcome,
                    crate::history::Outcome::Ok(streamspec_model::Reply::Produced { .. })
                )
            })
            .unwrap();
        if let crate::history::Outcome::Ok(streamspec_model::Reply::Produced {
            base_offset, ..
        }) = &mut history.ops[produce].outcome
        {
            *base_offset += 1000;
        }
        let bad = dir.join("bad.jsonl");
        history.write_file(&bad).unwrap();
        let mut out = Vec::new();
        let mut with_html = args(bad);
        with_html.html = Some(dir.join("bad.html"));
        assert_eq!(run(&with_html, &mut out), EXIT_FAILED);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("ILLEGAL"), "{text}");
        assert!(text.contains("timeline of the first finding"), "{text}");
        assert!(std::fs::read_to_string(dir.join("bad.html"))
            .unwrap()
            .contains("<svg"));

        let broken = dir.join("broken.jsonl");
        std::fs::write(
            &broken,
            "{\"process\":0,\"type\":\"invoke\",\"op\":{\"op\":\"explode\"},\"time_ns\":1}\n",
        )
        .unwrap();
        let mut out = Vec::new();
        assert_eq!(run(&args(broken), &mut out), EXIT_BAD_INPUT);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("broken.jsonl:1:") && text.contains("explode"),
            "{text}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
