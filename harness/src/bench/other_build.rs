//! Another build's runs of a workload, taken between this build's (`--baseline-bin`).
//!
//! Why: a saved baseline was measured minutes or days before, and on a shared host the speed
//! moves in between. Measured here, two builds whose engines ran the same code on the
//! `produce-partition-per-producer` workload, saved two minutes apart (3 repeats each), read
//! 14–24% apart, and `--baseline` called it a regression; alternating, 0.3–3.2%. Runs of the
//! two builds that alternate, one round of every point at a time, share the host's slow and
//! fast spells, as this project's own build comparisons do (`docs/PERFORMANCE.md`).
//!
//! The other build is a `streamspec` binary, run as `BIN bench WORKLOAD --repeats 1
//! --no-progress --out FILE` once per round (with the same `--duration-s` and `--warmup-s`),
//! and its rounds' results are merged into one results file: every point's runs, their
//! medians recomputed. That is the baseline the comparison then judges against.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::results::{Medians, Results};

/// A `streamspec` binary of the build to compare with.
#[derive(Clone, Debug)]
pub struct OtherBuild {
    bin: PathBuf,
    /// What `BIN --version` printed.
    version: String,
}

/// The measurement overrides both builds run with.
#[derive(Clone, Copy, Debug, Default)]
pub struct RoundSettings {
    /// `--duration-s`, when given.
    pub duration_s: Option<f64>,
    /// `--warmup-s`, when given.
    pub warmup_s: Option<f64>,
}

impl OtherBuild {
    /// The binary at `bin`, checked before any run: it must run and say it is `streamspec`.
    pub fn check(bin: &Path) -> Result<OtherBuild, String> {
        let output = Command::new(bin)
            .arg("--version")
            .output()
            .map_err(|e| format!("--baseline-bin {}: cannot be run: {e}", bin.display()))?;
        let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
        if !output.status.success() || !version.starts_with("streamspec") {
            return Err(format!(
                "--baseline-bin {}: not a streamspec binary (`--version` said {version:?})",
                bin.display()
            ));
        }
        Ok(OtherBuild {
            bin: bin.to_path_buf(),
            version,
        })
    }

    /// What the binary's `--version` said.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The binary.
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// One round: every point of `workload` once, its results written to `out` (and a
    /// sweep's plot to `plot`) and read back. A round whose runs misdelivered, or that fails,
    /// is an error: a baseline that delivered wrongly judges nothing.
    pub fn run_round(
        &self,
        workload: &Path,
        settings: RoundSettings,
        out: &Path,
        plot: &Path,
    ) -> Result<Results, String> {
        let mut command = Command::new(&self.bin);
        command
            .arg("bench")
            .arg(workload)
            .args(["--repeats", "1", "--no-progress", "--out"])
            .arg(out)
            .arg("--plot")
            .arg(plot);
        if let Some(duration_s) = settings.duration_s {
            command.arg("--duration-s").arg(duration_s.to_string());
        }
        if let Some(warmup_s) = settings.warmup_s {
            command.arg("--warmup-s").arg(warmup_s.to_string());
        }
        let output = command
            .output()
            .map_err(|e| format!("--baseline-bin {}: {e}", self.bin.display()))?;
        if !output.status.success() {
            return Err(format!(
                "--baseline-bin {} exited with {}:\n{}",
                self.bin.display(),
                output.status,
                String::from_utf8_lossy(&output.stdout).trim_end()
            ));
        }
        let text = std::fs::read_to_string(out).map_err(|e| format!("{}: {e}", out.display()))?;
        serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}: the other build's results cannot be read: {e}",
                out.display()
            )
        })
    }
}

/// The rounds of one build as one results file: the first round's, with every point's runs
/// from all rounds (matched by label) and their medians. Points only some rounds have keep
/// the runs they have.
pub fn merge_rounds(rounds: Vec<Results>) -> Option<Results> {
    let mut rounds = rounds.into_iter();
    let mut merged = rounds.next()?;
    for round in rounds {
        for point in round.points {
            match merged.points.iter_mut().find(|p| p.label == point.label) {
                Some(kept) => kept.runs.extend(point.runs),
                None => merged.points.push(point),
            }
        }
    }
    for point in &mut merged.points {
        point.median = Medians::of(&point.runs);
    }
    Some(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::results::{Machine, PointResults};
    use crate::bench::runner::{Percentiles, RunResult};

    fn round(label: &str, produced: &[f64]) -> Results {
        let runs: Vec<RunResult> = produced
            .iter()
            .map(|&p| RunResult {
                measured_s: 1.0,
                produced_records: p as u64,
                consumed_records: 0,
                produced_records_per_s: p,
                consumed_records_per_s: 0.0,
                latency: Percentiles::default(),
                delivery_errors: 0,
                delivery_error_examples: Vec::new(),
            })
            .collect();
        Results {
            workload: "w".into(),
            description: String::new(),
            system: "engine".into(),
            machine: Machine::this(),
            started_unix_s: 0,
            points: vec![PointResults {
                label: label.into(),
                swept: Default::default(),
                producers: 1,
                consumers: 0,
                groups: 0,
                partitions: 1,
                record_bytes: 16,
                unlimited_rate: Some(true),
                median: Medians::of(&runs),
                runs,
            }],
        }
    }

    /// Goal: merged rounds keep every run of every point and take their medians anew.
    #[test]
    fn rounds_merge_into_every_run_and_new_medians() {
        let merged = merge_rounds(vec![
            round("base", &[10.0]),
            round("base", &[30.0]),
            round("base", &[20.0]),
            round("other", &[5.0]),
        ])
        .expect("rounds given");
        let base = merged.point("base").expect("kept");
        assert_eq!(base.runs.len(), 3);
        assert_eq!(base.median.produced_records_per_s, 20.0);
        assert_eq!(base.median.throughput_spread, 1.0);
        assert_eq!(merged.point("other").map(|p| p.runs.len()), Some(1));
        assert!(merge_rounds(Vec::new()).is_none());
    }

    /// Goal: a binary that is not streamspec is refused before anything runs.
    #[test]
    fn a_binary_that_is_not_streamspec_is_refused() {
        let missing = OtherBuild::check(Path::new("/nonexistent/streamspec")).unwrap_err();
        assert!(missing.contains("cannot be run"), "{missing}");
        let other = OtherBuild::check(Path::new("/bin/true")).unwrap_err();
        assert!(other.contains("not a streamspec binary"), "{other}");
    }
}
