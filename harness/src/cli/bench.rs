//! `streamspec bench WORKLOAD.toml`: run a workload on the engine, report throughput and
//! end-to-end latency, write JSON results and an SVG plot, and compare with a baseline.
//!
//! Output: one line per point and repeat while it runs (a progress bar on a terminal), then
//! a table of medians per point (produced and consumed records/s, latency p50, p99, p99.9,
//! max), the paths written, and with `--baseline` the comparison table
//! ([`crate::bench::baseline`]). With `--baseline-bin`, another build's runs alternate with
//! this build's, a round of every point at a time, and become the baseline
//! ([`crate::bench::other_build`]).
//!
//! Exit code: 0 when every run delivered correctly and nothing regressed; 1 when a run
//! misdelivered or a metric regressed beyond the allowed change; 2 when the workload, the
//! baseline or an output path cannot be used (the message names the field or the file).
//!
//! Everything that can be checked before the runs is: the workload, the baseline (readable,
//! a results file of the same workload; or a binary that runs and is `streamspec`) and the
//! output paths (writable), so that a sweep of many minutes is not lost to a typo at its end.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::bench::baseline::{
    compare, Thresholds, LATENCY_THRESHOLD_PCT_DEFAULT, THROUGHPUT_THRESHOLD_PCT_DEFAULT,
};
use crate::bench::other_build::{merge_rounds, OtherBuild, RoundSettings};
use crate::bench::plot;
use crate::bench::results::{Machine, Medians, PointResults, Results};
use crate::bench::runner::{run_point, RunResult};
use crate::bench::workload::{Rate, Workload, WorkloadError, REPEATS_MAX};

use super::{EXIT_BAD_INPUT, EXIT_FAILED, EXIT_PASSED};

/// Arguments of `streamspec bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// The workload file (TOML; see workloads/ and docs/PERFORMANCE.md).
    pub workload: PathBuf,
    /// Where to write the results (JSON); a directory: NAME.json in it. Default:
    /// bench-results/NAME.json.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Where to write the plot (SVG) of a sweep; a directory: NAME.svg in it. Default:
    /// beside the results, named as they are (results.json: results.svg).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// A saved results file to compare with; a regression exits with 1.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// A `streamspec` binary of the build to compare with, instead of a saved file: its runs
    /// alternate with this build's, a round of every point at a time, so that a host whose
    /// speed drifts slows both alike; its merged results are written beside this run's
    /// (results.json: results.baseline.json). A regression exits with 1.
    #[arg(long, conflicts_with = "baseline")]
    pub baseline_bin: Option<PathBuf>,
    /// Allowed drop in throughput before it counts as a regression, percent (widened by the
    /// repeats' own spread).
    #[arg(long, default_value_t = THROUGHPUT_THRESHOLD_PCT_DEFAULT)]
    pub threshold_pct: f64,
    /// Allowed rise in p99 latency before it counts as a regression, percent (widened by the
    /// repeats' own spread).
    #[arg(long, default_value_t = LATENCY_THRESHOLD_PCT_DEFAULT)]
    pub latency_threshold_pct: f64,
    /// Runs per point, overriding the workload's `repeats`.
    #[arg(long)]
    pub repeats: Option<usize>,
    /// Measured seconds, overriding the workload's `duration_s`.
    #[arg(long)]
    pub duration_s: Option<f64>,
    /// Warm-up seconds, overriding the workload's `warmup_s`.
    #[arg(long)]
    pub warmup_s: Option<f64>,
    /// No progress bar, even on a terminal.
    #[arg(long)]
    pub no_progress: bool,
}

/// Run `streamspec bench` with `args`, reporting to `out`; returns the exit code.
pub fn run(args: &BenchArgs, out: &mut dyn Write) -> u8 {
    match run_inner(args, out) {
        Ok(code) => code,
        Err(message) => {
            let _ = writeln!(out, "error {message}");
            EXIT_BAD_INPUT
        }
    }
}

/// The workload with the command line's overrides applied and checked again.
fn workload_of(args: &BenchArgs) -> Result<Workload, String> {
    // Every message names the file: I/O and syntax errors carry it, range errors only their
    // field.
    let mut workload = Workload::read(&args.workload).map_err(|e| match e {
        WorkloadError::Invalid { .. } => format!("{}: {e}", args.workload.display()),
        other => other.to_string(),
    })?;
    if let Some(repeats) = args.repeats {
        workload.repeats = repeats;
    }
    if let Some(duration_s) = args.duration_s {
        workload.duration_s = duration_s;
    }
    if let Some(warmup_s) = args.warmup_s {
        workload.warmup_s = warmup_s;
    }
    workload.check().map_err(|e| {
        format!(
            "{} (after command-line overrides): {e}",
            args.workload.display()
        )
    })?;
    Ok(workload)
}

/// The baseline at `path`, which must be results of `workload`.
fn read_baseline(path: &Path, workload: &str) -> Result<Results, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let baseline: Results = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: not a streamspec bench results file: {e}",
            path.display()
        )
    })?;
    if baseline.workload != workload {
        return Err(format!(
            "{}: results of workload `{}`, not `{workload}`; compare runs of one workload",
            path.display(),
            baseline.workload
        ));
    }
    Ok(baseline)
}

/// Where an output goes: `given`, or `NAME.EXTENSION` inside it when it is a directory, or
/// `NAME.EXTENSION` in `default_dir`; checked writable now, before the runs (a file that did
/// not exist is not left behind).
fn output_path(
    given: Option<&Path>,
    default_dir: &Path,
    name: &str,
    extension: &str,
) -> Result<PathBuf, String> {
    let file_name = format!("{name}.{extension}");
    let path = match given {
        Some(dir) if dir.is_dir() => dir.join(file_name),
        Some(path) => path.to_path_buf(),
        None => default_dir.join(file_name),
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .map_err(|e| format!("{}: cannot be written: {e}", path.display()))?;
    if !existed {
        std::fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(path)
}

/// The exit code of a run whose comparison judged nothing, given the code so far: a
/// misdelivery found in the runs stays the verdict (1); otherwise the baseline could not be
/// used (2).
fn nothing_compared_exit(code: u8) -> u8 {
    if code == EXIT_FAILED {
        EXIT_FAILED
    } else {
        EXIT_BAD_INPUT
    }
}

fn write_file(path: &Path, contents: &str) -> Result<(), String> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::write(path, contents).map_err(|e| format!("{}: {e}", path.display()))
}

fn mega(records_per_s: f64) -> String {
    format!("{:.2} M/s", records_per_s / 1e6)
}

fn micros(ns: u64) -> String {
    format!("{:.1} us", ns as f64 / 1_000.0)
}

/// Round `repeat` of the other build: every point once, reported as one line per point;
/// its results file and plot (beside this run's) are read and removed.
fn other_round(
    other: &OtherBuild,
    args: &BenchArgs,
    settings: RoundSettings,
    out_path: &Path,
    repeat: usize,
    out: &mut dyn Write,
) -> Result<Results, String> {
    let round_path = out_path.with_extension(format!("baseline-round-{}.json", repeat + 1));
    let plot_path = round_path.with_extension("svg");
    let round = other.run_round(&args.workload, settings, &round_path, &plot_path);
    let _ = std::fs::remove_file(&round_path);
    let _ = std::fs::remove_file(&plot_path);
    let round = round?;
    for point in &round.points {
        writeln!(
            out,
            "  {:<24} run {} of the other build: produced {}, consumed {}",
            point.label,
            repeat + 1,
            mega(point.median.produced_records_per_s),
            mega(point.median.consumed_records_per_s),
        )
        .map_err(|e| format!("writing the report: {e}"))?;
    }
    Ok(round)
}

fn run_inner(args: &BenchArgs, out: &mut dyn Write) -> Result<u8, String> {
    let io = |e: std::io::Error| format!("writing the report: {e}");
    let workload = workload_of(args)?;
    if !(args.threshold_pct >= 0.0 && args.latency_threshold_pct >= 0.0) {
        return Err("--threshold-pct and --latency-threshold-pct must be >= 0".into());
    }
    debug_assert!((1..=REPEATS_MAX).contains(&workload.repeats));
    // The baseline and the output paths first: a bad one should not cost a whole run.
    let saved_baseline = args
        .baseline
        .as_deref()
        .map(|path| read_baseline(path, &workload.name))
        .transpose()?;
    let other = args
        .baseline_bin
        .as_deref()
        .map(OtherBuild::check)
        .transpose()?;
    let out_path = output_path(
        args.out.as_deref(),
        Path::new("bench-results"),
        &workload.name,
        "json",
    )?;
    // Where the other build's merged results go (its rounds' files go beside them, and are
    // removed once read).
    let other_out_path = match &other {
        Some(_) => Some(output_path(
            Some(&out_path.with_extension("baseline.json")),
            Path::new(""),
            &workload.name,
            "json",
        )?),
        None => None,
    };
    let settings = RoundSettings {
        duration_s: args.duration_s,
        warmup_s: args.warmup_s,
    };
    // The plot goes beside the results, named as they are (`r.json`: `r.svg`), unless told
    // otherwise: two runs written to one folder under two names keep a plot each.
    let results_dir = out_path.parent().unwrap_or(Path::new(""));
    let plot_path = match (&workload.sweep, args.plot.as_deref()) {
        (Some(_), Some(plot)) => Some(output_path(Some(plot), results_dir, &workload.name, "svg")?),
        (Some(_), None) => Some(match out_path.with_extension("svg") {
            // Results named `*.svg` keep their own file: the plot takes `*.plot.svg`.
            beside if beside == out_path => out_path.with_extension("plot.svg"),
            beside => beside,
        }),
        (None, _) => None,
    };

    let machine = Machine::this();
    writeln!(
        out,
        "workload {} on the engine; {} ({} cores)",
        workload.name, machine.cpu_model, machine.cores
    )
    .map_err(io)?;
    let started_unix_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let points = workload.points();
    let mut results = Results {
        workload: workload.name.clone(),
        description: workload.description.clone(),
        system: "engine".into(),
        machine,
        started_unix_s,
        points: Vec::new(),
    };
    let mut runs: Vec<Vec<RunResult>> = vec![Vec::new(); points.len()];
    let mut other_rounds = Vec::new();
    // Round by round: every point once, then the next round. With another build, its round
    // comes after this build's in the first round, before it in the second, and so on, so
    // that neither always runs on the heels of the other.
    for repeat in 0..workload.repeats {
        let other_first = repeat % 2 == 1;
        if let (Some(other), true) = (&other, other_first) {
            other_rounds.push(other_round(other, args, settings, &out_path, repeat, out)?);
        }
        for (point, point_runs) in points.iter().zip(&mut runs) {
            let bar = if args.no_progress {
                ProgressBar::hidden()
            } else {
                // Draws to stderr, and only on a terminal.
                ProgressBar::new(1_000)
            };
            bar.set_style(
                ProgressStyle::with_template("{prefix:>24} [{bar:30}] {msg}")
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            bar.set_prefix(format!("{} #{}", point.label(), repeat + 1));
            let result = run_point(point, |p| {
                bar.set_position((p.elapsed_s / p.total_s * 1_000.0).min(1_000.0) as u64);
                bar.set_message(format!(
                    "{:.1}/{:.1} s, produced {}, consumed {}",
                    p.elapsed_s, p.total_s, p.produced_records, p.consumed_records
                ));
            })
            .map_err(|e| format!("{}: {e}", point.label()))?;
            bar.finish_and_clear();
            writeln!(
                out,
                "  {:<24} run {}: produced {}, consumed {}, latency p50 {} p99 {}{}",
                point.label(),
                repeat + 1,
                mega(result.produced_records_per_s),
                mega(result.consumed_records_per_s),
                micros(result.latency.p50_ns),
                micros(result.latency.p99_ns),
                if result.delivery_errors > 0 {
                    format!(", {} DELIVERY ERRORS", result.delivery_errors)
                } else {
                    String::new()
                }
            )
            .map_err(io)?;
            point_runs.push(result);
        }
        if let (Some(other), false) = (&other, other_first) {
            other_rounds.push(other_round(other, args, settings, &out_path, repeat, out)?);
        }
    }
    for (point, runs) in points.iter().zip(runs) {
        results.points.push(PointResults {
            label: point.label(),
            swept: point.swept.clone(),
            producers: point.producers,
            consumers: point.consumers(),
            groups: point.groups,
            partitions: point.partitions_total(),
            record_bytes: point.record_bytes,
            unlimited_rate: Some(point.rate_records_per_s == Rate::Unlimited),
            median: Medians::of(&runs),
            runs,
        });
    }

    writeln!(
        out,
        "\nmedians over {} run(s) per point:\n{:<24} {:>9} {:>9} {:>12} {:>12} {:>10} {:>10} {:>10} {:>10} {:>7}",
        workload.repeats,
        "point",
        "producers",
        "consumers",
        "produced",
        "consumed",
        "p50",
        "p99",
        "p99.9",
        "max",
        "spread"
    )
    .map_err(io)?;
    for point in &results.points {
        let m = &point.median;
        writeln!(
            out,
            "{:<24} {:>9} {:>9} {:>12} {:>12} {:>10} {:>10} {:>10} {:>10} {:>6.1}%",
            point.label,
            point.producers,
            point.consumers,
            mega(m.produced_records_per_s),
            mega(m.consumed_records_per_s),
            micros(m.latency_p50_ns),
            micros(m.latency_p99_ns),
            micros(m.latency_p99_9_ns),
            micros(m.latency_max_ns),
            m.throughput_spread * 100.0
        )
        .map_err(io)?;
    }

    let json = serde_json::to_string_pretty(&results).expect("results serialize");
    write_file(&out_path, &json)?;
    writeln!(out, "\nresults: {}", out_path.display()).map_err(io)?;
    if let Some(plot_path) = &plot_path {
        write_file(plot_path, &plot::svg(&results)?)?;
        writeln!(out, "plot:    {}", plot_path.display()).map_err(io)?;
    }

    let mut code = EXIT_PASSED;
    let delivery_errors: u64 = results
        .points
        .iter()
        .map(|p| p.median.delivery_errors)
        .sum();
    if delivery_errors > 0 {
        writeln!(out, "\nFAIL {delivery_errors} delivery errors:").map_err(io)?;
        for run in results.points.iter().flat_map(|p| &p.runs) {
            for example in &run.delivery_error_examples {
                writeln!(out, "  {example}").map_err(io)?;
            }
        }
        code = EXIT_FAILED;
    }
    let baseline = match (saved_baseline, merge_rounds(other_rounds)) {
        (Some(saved), _) => Some((
            saved,
            format!(
                "{}",
                args.baseline.as_ref().expect("baseline given").display()
            ),
        )),
        (None, Some(merged)) => {
            let other = other.as_ref().expect("rounds come from the other build");
            let path = other_out_path
                .as_ref()
                .expect("checked with the other build");
            let json = serde_json::to_string_pretty(&merged).expect("results serialize");
            write_file(path, &json)?;
            let described = format!(
                "{} ({}), its runs alternating with these; its results: {}",
                other.bin().display(),
                other.version(),
                path.display()
            );
            Some((merged, described))
        }
        (None, None) => None,
    };
    if let Some((baseline, described)) = &baseline {
        let thresholds = Thresholds {
            throughput_pct: args.threshold_pct,
            latency_pct: args.latency_threshold_pct,
        };
        let comparison = compare(baseline, &results, thresholds);
        writeln!(
            out,
            "\ncompared with {described} ({}):\n{comparison}",
            baseline.machine.cpu_model
        )
        .map_err(io)?;
        if comparison.judged_nothing() {
            writeln!(
                out,
                "error nothing compared: no point of the baseline has this run's label and shape"
            )
            .map_err(io)?;
            return Ok(nothing_compared_exit(code));
        }
        if comparison.regressed() {
            writeln!(out, "FAIL regression beyond the allowed change").map_err(io)?;
            code = EXIT_FAILED;
        } else {
            writeln!(out, "ok   no regression beyond the allowed change").map_err(io)?;
        }
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SWEEP: &str = r#"
name = "tiny-sweep"
producers = 1
record_bytes = 16
batch_records = 20
rate_records_per_s = "unlimited"
groups = 1
members_per_group = 1
warmup_s = 0.02
duration_s = 0.15
repeats = 2

[[topics]]
name = "orders"
partitions = 2

[sweep]
groups = [1, 2]
"#;

    fn args(dir: &Path, workload: &Path) -> BenchArgs {
        BenchArgs {
            workload: workload.to_path_buf(),
            out: Some(dir.join("out/results.json")),
            plot: Some(dir.join("out/plot.svg")),
            baseline: None,
            baseline_bin: None,
            threshold_pct: THROUGHPUT_THRESHOLD_PCT_DEFAULT,
            latency_threshold_pct: LATENCY_THRESHOLD_PCT_DEFAULT,
            repeats: None,
            duration_s: None,
            warmup_s: None,
            no_progress: true,
        }
    }

    fn run_report(args: &BenchArgs) -> (u8, String) {
        let mut out = Vec::new();
        let code = run(args, &mut out);
        (code, String::from_utf8(out).unwrap())
    }

    #[test]
    fn a_sweep_writes_results_and_plot_and_compares_with_a_baseline() {
        // Goal: the command works end to end. Method: run a tiny sweep, read back the JSON
        // and the SVG, then compare with itself (passes) and with a baseline whose
        // throughput is planted 100x higher (must fail with exit code 1).
        let dir = tempfile::tempdir().unwrap();
        let workload = dir.path().join("w.toml");
        std::fs::write(&workload, SWEEP).unwrap();
        let args = args(dir.path(), &workload);
        let (code, report) = run_report(&args);
        assert_eq!(code, EXIT_PASSED, "{report}");
        assert!(report.contains("groups=2"), "{report}");

        let results: Results = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("out/results.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(results.points.len(), 2);
        assert_eq!(results.points[1].consumers, 2);
        assert!(results.points.iter().all(|p| p.runs.len() == 2));
        assert!(results
            .points
            .iter()
            .all(|p| p.median.consumed_records_per_s > 0.0));
        let svg = std::fs::read_to_string(dir.path().join("out/plot.svg")).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("consumers"),
            "{svg:.200}"
        );

        // Against itself, with thresholds wide enough for a shared test machine.
        let saved = dir.path().join("baseline.json");
        std::fs::copy(dir.path().join("out/results.json"), &saved).unwrap();
        let mut again = args.clone();
        again.baseline = Some(saved.clone());
        again.threshold_pct = 1_000.0;
        again.latency_threshold_pct = 1_000_000.0;
        let (code, report) = run_report(&again);
        assert_eq!(code, EXIT_PASSED, "{report}");
        assert!(report.contains("no regression"), "{report}");

        // Against a planted, much faster baseline.
        let mut faster = results.clone();
        for point in &mut faster.points {
            point.median.produced_records_per_s *= 100.0;
            point.median.consumed_records_per_s *= 100.0;
        }
        std::fs::write(&saved, serde_json::to_string(&faster).unwrap()).unwrap();
        again.threshold_pct = THROUGHPUT_THRESHOLD_PCT_DEFAULT;
        let (code, report) = run_report(&again);
        assert_eq!(code, EXIT_FAILED, "{report}");
        assert!(report.contains("REGRESSED"), "{report}");
    }

    #[test]
    fn a_misdelivery_outranks_an_unusable_baseline() {
        assert_eq!(nothing_compared_exit(EXIT_PASSED), EXIT_BAD_INPUT);
        assert_eq!(nothing_compared_exit(EXIT_FAILED), EXIT_FAILED);
    }

    #[test]
    fn output_directories_and_unwritable_paths_are_settled_before_the_runs() {
        // Goal: a sweep is not lost to its output path. Method: `--out` and `--plot` naming
        // directories get NAME.json and NAME.svg inside them; a path below a regular file
        // (which no run can write) is refused before anything runs: no run's line in the
        // report, exit code 2, the path named.
        let dir = tempfile::tempdir().unwrap();
        let workload = dir.path().join("w.toml");
        std::fs::write(&workload, SWEEP).unwrap();
        let into = dir.path().join("into");
        std::fs::create_dir(&into).unwrap();
        let mut to_dir = args(dir.path(), &workload);
        to_dir.out = Some(into.clone());
        to_dir.plot = Some(into.clone());
        to_dir.repeats = Some(1);
        let (code, report) = run_report(&to_dir);
        assert_eq!(code, EXIT_PASSED, "{report}");
        let results: Results =
            serde_json::from_str(&std::fs::read_to_string(into.join("tiny-sweep.json")).unwrap())
                .unwrap();
        assert_eq!(results.points.len(), 2);
        assert!(std::fs::read_to_string(into.join("tiny-sweep.svg"))
            .unwrap()
            .starts_with("<svg"));

        // Without `--plot`, the plot goes beside the results, named as they are, so a second
        // run written beside the first keeps the first one's plot.
        let beside = dir.path().join("beside");
        let mut plot_unsaid = to_dir.clone();
        plot_unsaid.out = Some(beside.join("r.json"));
        plot_unsaid.plot = None;
        let (code, report) = run_report(&plot_unsaid);
        assert_eq!(code, EXIT_PASSED, "{report}");
        assert!(beside.join("r.json").exists() && beside.join("r.svg").exists());
        let first_plot = std::fs::read_to_string(beside.join("r.svg")).unwrap();
        plot_unsaid.out = Some(beside.join("second.json"));
        let (code, report) = run_report(&plot_unsaid);
        assert_eq!(code, EXIT_PASSED, "{report}");
        assert!(beside.join("second.svg").exists(), "{report}");
        // Results named like a plot keep their own file.
        plot_unsaid.out = Some(beside.join("odd.svg"));
        let (code, report) = run_report(&plot_unsaid);
        assert_eq!(code, EXIT_PASSED, "{report}");
        assert!(
            std::fs::read_to_string(beside.join("odd.svg"))
                .unwrap()
                .starts_with('{'),
            "the plot wrote over the results"
        );
        assert!(beside.join("odd.plot.svg").exists(), "{report}");
        assert_eq!(
            std::fs::read_to_string(beside.join("r.svg")).unwrap(),
            first_plot,
            "the second run wrote over the first one's plot"
        );

        let file = dir.path().join("a-file");
        std::fs::write(&file, "not a directory").unwrap();
        for (out, plot) in [
            (file.join("results.json"), into.join("p.svg")),
            (into.join("r.json"), file.join("plot.svg")),
        ] {
            let mut unwritable = args(dir.path(), &workload);
            unwritable.out = Some(out);
            unwritable.plot = Some(plot);
            let (code, report) = run_report(&unwritable);
            assert_eq!(code, EXIT_BAD_INPUT, "{report}");
            assert!(report.contains("a-file"), "{report}");
            assert!(!report.contains("run 1"), "it ran first: {report}");
        }
        assert!(
            !into.join("p.svg").exists() && !into.join("r.json").exists(),
            "the check left a file behind"
        );
    }

    #[test]
    fn a_baseline_of_another_workload_or_shape_is_refused() {
        // Goal: a regression gate never passes by comparing nothing. Method: a baseline of
        // another workload is refused before the runs; one of this workload whose points all
        // changed shape (record size) runs, compares nothing and exits 2, not 0.
        let dir = tempfile::tempdir().unwrap();
        let workload = dir.path().join("w.toml");
        std::fs::write(&workload, SWEEP).unwrap();
        let mut first = args(dir.path(), &workload);
        first.repeats = Some(1);
        assert_eq!(run_report(&first).0, EXIT_PASSED);
        let saved: Results = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("out/results.json")).unwrap(),
        )
        .unwrap();
        let baseline = dir.path().join("baseline.json");

        let mut renamed = saved.clone();
        renamed.workload = "another".into();
        std::fs::write(&baseline, serde_json::to_string(&renamed).unwrap()).unwrap();
        let mut again = first.clone();
        again.baseline = Some(baseline.clone());
        let (code, report) = run_report(&again);
        assert_eq!(code, EXIT_BAD_INPUT, "{report}");
        assert!(report.contains("`another`"), "{report}");
        assert!(!report.contains("run 1"), "it ran first: {report}");

        let mut reshaped = saved;
        for point in &mut reshaped.points {
            point.record_bytes *= 2;
        }
        std::fs::write(&baseline, serde_json::to_string(&reshaped).unwrap()).unwrap();
        let (code, report) = run_report(&again);
        assert_eq!(code, EXIT_BAD_INPUT, "{report}");
        assert!(report.contains("nothing compared"), "{report}");
    }

    #[test]
    fn bad_input_names_the_field_or_file_and_exits_2() {
        let dir = tempfile::tempdir().unwrap();
        let workload = dir.path().join("w.toml");
        std::fs::write(
            &workload,
            SWEEP.replace("record_bytes = 16", "record_bytes = 2"),
        )
        .unwrap();
        let (code, report) = run_report(&args(dir.path(), &workload));
        assert_eq!(code, EXIT_BAD_INPUT);
        assert!(report.contains("record_bytes"), "{report}");

        std::fs::write(&workload, SWEEP).unwrap();
        let mut bad_override = args(dir.path(), &workload);
        bad_override.duration_s = Some(-1.0);
        let (code, report) = run_report(&bad_override);
        assert_eq!(code, EXIT_BAD_INPUT);
        assert!(report.contains("duration_s"), "{report}");

        let mut bad_baseline = args(dir.path(), &workload);
        let junk = dir.path().join("junk.json");
        std::fs::write(&junk, "{}").unwrap();
        bad_baseline.baseline = Some(junk);
        let (code, report) = run_report(&bad_baseline);
        assert_eq!(code, EXIT_BAD_INPUT);
        assert!(report.contains("junk.json"), "{report}");
    }
}
