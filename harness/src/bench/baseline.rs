//! `--baseline`: compare a run with a saved one, allowing for noise.
//!
//! Compared per point (matched by label) on the medians over repeats: produce throughput and
//! consume throughput (a drop is a regression) and p99 latency (a rise is). A change counts
//! only beyond the **allowed** change, the larger of
//! - the stated threshold (`--threshold-pct`, default [`THROUGHPUT_THRESHOLD_PCT_DEFAULT`];
//!   `--latency-threshold-pct`, default [`LATENCY_THRESHOLD_PCT_DEFAULT`]), and
//! - the noise seen in the repeats: the larger of the two runs' spreads
//!   (`(max - min) / median` over the repeats), as a percentage.
//!
//! So a noisy machine widens the band by itself, and with one repeat (no spread known) only
//! the stated threshold applies; the report says so. Points in only one of the two files are
//! listed but not judged, and so are points of the same label whose shape (producers,
//! consumers, groups, partitions, record size, limited or unlimited rate) changed: their
//! figures measure another workload. A comparison that judged nothing is no pass
//! ([`Comparison::judged_nothing`]).
//!
//! Latency is judged only where the producers ran at a target rate. Run flat out, they fill
//! the backlog (`backlog_records_max`) whenever they outpace the groups, so p99 latency is
//! the backlog over the consume rate: a faster producer raises it with nothing slower. It is
//! listed, `not judged`.

use crate::bench::results::{PointResults, Results};

/// Default allowed throughput drop, percent.
pub const THROUGHPUT_THRESHOLD_PCT_DEFAULT: f64 = 10.0;
/// Default allowed p99 latency rise, percent (latency tails are noisier than throughput).
pub const LATENCY_THRESHOLD_PCT_DEFAULT: f64 = 25.0;

/// The stated thresholds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    /// Allowed throughput drop, percent.
    pub throughput_pct: f64,
    /// Allowed p99 latency rise, percent.
    pub latency_pct: f64,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            throughput_pct: THROUGHPUT_THRESHOLD_PCT_DEFAULT,
            latency_pct: LATENCY_THRESHOLD_PCT_DEFAULT,
        }
    }
}

/// The verdict on one metric of one point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Within the allowed change.
    Unchanged,
    /// Better beyond the allowed change.
    Improved,
    /// Worse beyond the allowed change.
    Regressed,
    /// Shown, not judged (latency of a run at an unlimited rate).
    NotJudged,
}

/// One compared metric.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The point's label.
    pub point: String,
    /// `produced/s`, `consumed/s` or `p99 latency`.
    pub metric: &'static str,
    /// Baseline median.
    pub baseline: f64,
    /// Current median.
    pub current: f64,
    /// `(current - baseline) / baseline`, percent.
    pub change_pct: f64,
    /// The allowed change, percent.
    pub allowed_pct: f64,
    /// The verdict.
    pub verdict: Verdict,
}

/// A whole comparison.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Comparison {
    /// Compared metrics.
    pub rows: Vec<Row>,
    /// Labels of points in only one of the two runs.
    pub unmatched: Vec<String>,
    /// Labels of points in both runs whose shape differs (see [`same_shape`]).
    pub reshaped: Vec<String>,
    /// Whether either side had a single repeat (no noise estimate).
    pub single_repeat: bool,
}

impl Comparison {
    /// Whether any metric regressed.
    pub fn regressed(&self) -> bool {
        self.rows.iter().any(|r| r.verdict == Verdict::Regressed)
    }

    /// Whether no metric was judged: no point of one run matches a point of the other, so
    /// the comparison says nothing (a regression gate must not read that as a pass).
    pub fn judged_nothing(&self) -> bool {
        self.rows.is_empty()
    }
}

/// Whether two points measured the same workload: the same producers, consumers, groups,
/// partitions, record size and kind of rate (the label alone names only the swept values).
/// (A file that did not record its rate matches either.)
pub fn same_shape(a: &PointResults, b: &PointResults) -> bool {
    let rates_agree = match (a.unlimited_rate, b.unlimited_rate) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    rates_agree
        && (
            a.producers,
            a.consumers,
            a.groups,
            a.partitions,
            a.record_bytes,
        ) == (
            b.producers,
            b.consumers,
            b.groups,
            b.partitions,
            b.record_bytes,
        )
}

fn judge(
    point: &str,
    metric: &'static str,
    baseline: f64,
    current: f64,
    allowed_pct: f64,
    higher_is_better: bool,
) -> Row {
    let change_pct = if baseline == 0.0 {
        if current == 0.0 {
            0.0
        } else {
            f64::INFINITY
        }
    } else {
        (current - baseline) / baseline * 100.0
    };
    let better = if higher_is_better {
        change_pct
    } else {
        -change_pct
    };
    let verdict = if better < -allowed_pct {
        Verdict::Regressed
    } else if better > allowed_pct {
        Verdict::Improved
    } else {
        Verdict::Unchanged
    };
    Row {
        point: point.into(),
        metric,
        baseline,
        current,
        change_pct,
        allowed_pct,
        verdict,
    }
}

fn compare_point(base: &PointResults, now: &PointResults, thresholds: Thresholds) -> Vec<Row> {
    let (b, c) = (&base.median, &now.median);
    let throughput_allowed = thresholds
        .throughput_pct
        .max(100.0 * b.throughput_spread.max(c.throughput_spread));
    let latency_allowed = thresholds
        .latency_pct
        .max(100.0 * b.latency_spread.max(c.latency_spread));
    let mut rows = vec![judge(
        &now.label,
        "produced/s",
        b.produced_records_per_s,
        c.produced_records_per_s,
        throughput_allowed,
        true,
    )];
    if now.groups > 0 || base.groups > 0 {
        rows.push(judge(
            &now.label,
            "consumed/s",
            b.consumed_records_per_s,
            c.consumed_records_per_s,
            throughput_allowed,
            true,
        ));
        let mut latency = judge(
            &now.label,
            "p99 latency",
            b.latency_p99_ns as f64,
            c.latency_p99_ns as f64,
            latency_allowed,
            false,
        );
        if base.unlimited_rate == Some(true) || now.unlimited_rate == Some(true) {
            latency.verdict = Verdict::NotJudged;
        }
        rows.push(latency);
    }
    rows
}

/// Compare `current` with `baseline`.
pub fn compare(baseline: &Results, current: &Results, thresholds: Thresholds) -> Comparison {
    let mut comparison = Comparison::default();
    for now in &current.points {
        match baseline.point(&now.label) {
            Some(base) if !same_shape(base, now) => comparison.reshaped.push(now.label.clone()),
            Some(base) => {
                comparison.single_repeat |= base.runs.len() < 2 || now.runs.len() < 2;
                comparison.rows.extend(compare_point(base, now, thresholds));
            }
            None => comparison.unmatched.push(now.label.clone()),
        }
    }
    for base in &baseline.points {
        if current.point(&base.label).is_none() {
            comparison.unmatched.push(base.label.clone());
        }
    }
    comparison
}

impl std::fmt::Display for Comparison {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{:<28} {:<12} {:>14} {:>14} {:>9} {:>9}  verdict",
            "point", "metric", "baseline", "current", "change", "allowed"
        )?;
        for row in &self.rows {
            let value = |v: f64| {
                if row.metric == "p99 latency" {
                    format!("{:.1} us", v / 1_000.0)
                } else {
                    format!("{:.2} M/s", v / 1e6)
                }
            };
            writeln!(
                f,
                "{:<28} {:<12} {:>14} {:>14} {:>+8.1}% {:>8.1}%  {}",
                row.point,
                row.metric,
                value(row.baseline),
                value(row.current),
                row.change_pct,
                row.allowed_pct,
                match row.verdict {
                    Verdict::Unchanged => "ok",
                    Verdict::Improved => "improved",
                    Verdict::Regressed => "REGRESSED",
                    Verdict::NotJudged => "not judged (unlimited rate: the backlog's queueing)",
                }
            )?;
        }
        for label in &self.unmatched {
            writeln!(f, "{label:<28} (in only one of the two runs; not compared)")?;
        }
        for label in &self.reshaped {
            writeln!(
                f,
                "{label:<28} (producers, consumers, groups, partitions, record size or rate \
                 differ; not compared)"
            )?;
        }
        if self.single_repeat {
            writeln!(
                f,
                "note: a side has a single run per point, so no noise estimate widened the \
                 band; use repeats >= 3 for regression runs"
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::results::{Machine, Medians};
    use std::collections::BTreeMap;

    fn results(consumed: f64, p99_ns: u64, spread: f64) -> Results {
        Results {
            workload: "w".into(),
            description: String::new(),
            system: "engine".into(),
            machine: Machine {
                cpu_model: "x".into(),
                cores: 2,
            },
            started_unix_s: 0,
            points: vec![PointResults {
                label: "groups=1".into(),
                swept: BTreeMap::new(),
                producers: 1,
                consumers: 1,
                groups: 1,
                partitions: 1,
                record_bytes: 8,
                unlimited_rate: Some(false),
                runs: vec![],
                median: Medians {
                    produced_records_per_s: 100e6,
                    consumed_records_per_s: consumed,
                    latency_p99_ns: p99_ns,
                    throughput_spread: spread,
                    latency_spread: spread,
                    ..Medians::default()
                },
            }],
        }
    }

    #[test]
    fn a_drop_beyond_the_threshold_regresses_and_within_it_does_not() {
        let base = results(100e6, 1_000, 0.0);
        let t = Thresholds::default();
        assert!(!compare(&base, &results(95e6, 1_000, 0.0), t).regressed());
        assert!(compare(&base, &results(80e6, 1_000, 0.0), t).regressed());
        assert!(
            compare(&base, &results(100e6, 2_000, 0.0), t).regressed(),
            "latency rise"
        );
        let better = compare(&base, &results(130e6, 1_000, 0.0), t);
        assert!(!better.regressed());
        assert!(better.rows.iter().any(|r| r.verdict == Verdict::Improved));
    }

    #[test]
    fn noisy_repeats_widen_the_band() {
        // A 20% drop is a regression on a quiet machine, but not when the repeats themselves
        // vary by 30%.
        let base = results(100e6, 1_000, 0.0);
        let t = Thresholds::default();
        assert!(compare(&base, &results(80e6, 1_000, 0.0), t).regressed());
        let noisy = compare(&base, &results(80e6, 1_000, 0.3), t);
        assert!(!noisy.regressed(), "{noisy}");
        assert!(noisy.rows.iter().all(|r| r.allowed_pct >= 30.0 - 1e-9));
    }

    #[test]
    fn unmatched_points_are_listed_not_judged() {
        let base = results(100e6, 1_000, 0.0);
        let mut other = results(10e6, 1_000, 0.0);
        other.points[0].label = "groups=2".into();
        let comparison = compare(&base, &other, Thresholds::default());
        assert!(!comparison.regressed());
        assert_eq!(comparison.unmatched.len(), 2);
        assert!(comparison.judged_nothing());
    }

    #[test]
    fn latency_at_an_unlimited_rate_is_shown_not_judged() {
        // Goal: a producer that got faster, and so fills its backlog and waits in it, is not
        // a latency regression. Method: p99 10x higher, throughput the same: judged (and
        // regressed) at a target rate; shown, not judged, when either side ran flat out.
        let base = results(100e6, 1_000, 0.0);
        let slower = results(100e6, 10_000, 0.0);
        assert!(compare(&base, &slower, Thresholds::default()).regressed());
        let mut flat_out = (base.clone(), slower.clone());
        flat_out.0.points[0].unlimited_rate = Some(true);
        flat_out.1.points[0].unlimited_rate = Some(true);
        let comparison = compare(&flat_out.0, &flat_out.1, Thresholds::default());
        assert!(!comparison.regressed(), "{comparison}");
        assert!(comparison
            .rows
            .iter()
            .any(|r| r.metric == "p99 latency" && r.verdict == Verdict::NotJudged));
        // A file from before the rate was recorded is judged as before.
        let mut old = base.clone();
        old.points[0].unlimited_rate = None;
        assert!(compare(&old, &slower, Thresholds::default()).regressed());
        // A target rate against an unlimited one is another workload.
        let comparison = compare(&flat_out.0, &slower, Thresholds::default());
        assert_eq!(comparison.reshaped.len(), 1);
    }

    #[test]
    fn a_point_of_another_shape_is_listed_not_judged() {
        // Goal: a baseline saved before the workload's record size changed is not compared
        // as if it measured the same thing. Method: the same label, 1 KiB records instead of
        // 8 bytes, and a throughput 10x lower that would regress.
        let base = results(100e6, 1_000, 0.0);
        let mut bigger = results(10e6, 1_000, 0.0);
        bigger.points[0].record_bytes = 1024;
        let comparison = compare(&base, &bigger, Thresholds::default());
        assert!(!comparison.regressed(), "{comparison}");
        assert_eq!(comparison.reshaped, vec!["groups=1".to_string()]);
        assert!(comparison.judged_nothing());
        assert!(comparison
            .to_string()
            .contains("record size or rate differ"));
        assert!(!compare(&base, &base, Thresholds::default()).judged_nothing());
    }
}
