//! `streamspec bench --baseline-bin`: another build's runs, alternating with this build's, as
//! the baseline. Here the other build is this same binary (an A/A comparison).

use std::path::Path;
use std::process::Command;

use streamspec::bench::results::Results;

fn streamspec(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_streamspec"))
        .args(args)
        .output()
        .expect("the streamspec binary runs");
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().expect("exited"), text)
}

/// Two points (the sweep), short runs.
const SWEEP: &str = r#"
name = "tiny-ab"
producers = 1
record_bytes = 16
batch_records = 20
rate_records_per_s = "unlimited"
groups = 1
members_per_group = 1
warmup_s = 0.02
duration_s = 0.1
repeats = 3

[[topics]]
name = "orders"
partitions = 2

[sweep]
groups = [1, 2]
"#;

fn workload(dir: &Path) -> String {
    let path = dir.join("tiny-ab.toml");
    std::fs::write(&path, SWEEP).unwrap();
    path.to_string_lossy().to_string()
}

/// Which build ran each line of the report, in order: `self` or `other`.
fn run_order(report: &str) -> Vec<&'static str> {
    report
        .lines()
        .filter(|line| line.contains(" run "))
        .map(|line| {
            if line.contains("of the other build") {
                "other"
            } else {
                "self"
            }
        })
        .collect()
}

/// Goal: the other build runs one round of every point between this build's rounds, first
/// in every other round; its rounds are merged into one baseline (every run kept) that the
/// comparison judges against, written beside the results; its round files are cleaned up.
#[test]
fn the_other_builds_rounds_alternate_with_this_builds_and_become_the_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let workload = workload(dir.path());
    let out = dir.path().join("out/results.json");
    let plot = dir.path().join("plots");
    std::fs::create_dir(&plot).unwrap();
    let (code, report) = streamspec(&[
        "bench",
        &workload,
        "--no-progress",
        "--out",
        out.to_str().unwrap(),
        "--plot",
        plot.to_str().unwrap(),
        "--baseline-bin",
        env!("CARGO_BIN_EXE_streamspec"),
        // An A/A comparison of runs this short is noise: judge, but let nothing regress.
        "--threshold-pct",
        "1000",
        "--latency-threshold-pct",
        "100000",
    ]);
    assert_eq!(code, 0, "{report}");
    // Two points a round: self, other; other, self; self, other.
    let expected = [
        "self", "self", "other", "other", "other", "other", "self", "self", "self", "self",
        "other", "other",
    ];
    assert_eq!(run_order(&report), expected, "{report}");
    let merged: Results = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/results.baseline.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(merged.workload, "tiny-ab");
    assert_eq!(merged.points.len(), 2);
    for point in &merged.points {
        assert_eq!(point.runs.len(), 3, "every round's run of {}", point.label);
        assert!(point.median.produced_records_per_s > 0.0);
    }
    assert!(
        report.contains("its runs alternating with these"),
        "{report}"
    );
    assert!(report.contains("ok   no regression"), "{report}");
    let left: Vec<_> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert!(
        plot.join("tiny-ab.svg").exists(),
        "this run's plot where --plot said"
    );
    let mut left_sorted = left.clone();
    left_sorted.sort();
    assert_eq!(
        left_sorted,
        ["results.baseline.json", "results.json"],
        "the other build's round files and plots cleaned up, nothing else written there"
    );
}

/// Goal: a binary that is not streamspec, or both kinds of baseline at once, is refused
/// before any run, with exit code 2.
#[test]
fn a_wrong_other_build_is_refused_before_the_runs() {
    let dir = tempfile::tempdir().unwrap();
    let workload = workload(dir.path());
    let out = dir.path().join("results.json");
    let (code, report) = streamspec(&[
        "bench",
        &workload,
        "--no-progress",
        "--out",
        out.to_str().unwrap(),
        "--baseline-bin",
        "/bin/true",
    ]);
    assert_eq!(code, 2, "{report}");
    assert!(report.contains("not a streamspec binary"), "{report}");
    assert!(!report.contains(" run 1"), "nothing ran: {report}");
    let (code, report) = streamspec(&[
        "bench",
        &workload,
        "--baseline",
        out.to_str().unwrap(),
        "--baseline-bin",
        env!("CARGO_BIN_EXE_streamspec"),
    ]);
    assert_eq!(code, 2, "{report}");
    assert!(report.contains("cannot be used with"), "{report}");
}
