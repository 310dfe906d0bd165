//! The results file of `streamspec bench` (JSON), and the medians over repeats.
//!
//! ```json
//! {"workload": "independent-consumers-scale", "system": "engine",
//!  "machine": {"cpu_model": "AMD EPYC ...", "cores": 2},
//!  "points": [{"label": "groups=1", "swept": {"groups": 1}, "producers": 1, "consumers": 1,
//!              "runs": [{...RunResult...}, ...],
//!              "median": {"produced_records_per_s": ..., "consumed_records_per_s": ...,
//!                         "latency_p99_ns": ..., "throughput_spread": 0.04, ...}}]}
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::bench::runner::RunResult;

/// Where the figures were taken.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// `/proc/cpuinfo`'s model name, or `unknown`.
    pub cpu_model: String,
    /// Cores available to the process.
    pub cores: usize,
}

impl Machine {
    /// This machine.
    pub fn this() -> Machine {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, model)| model.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        Machine {
            cpu_model,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// Medians over a point's runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Medians {
    /// Median produce throughput, records/s.
    pub produced_records_per_s: f64,
    /// Median consume throughput (deliveries), records/s.
    pub consumed_records_per_s: f64,
    /// Median p50 latency, ns.
    pub latency_p50_ns: u64,
    /// Median p99 latency, ns.
    pub latency_p99_ns: u64,
    /// Median p99.9 latency, ns.
    pub latency_p99_9_ns: u64,
    /// Median max latency, ns.
    pub latency_max_ns: u64,
    /// Noise of the repeats: the larger of the produce and consume throughputs'
    /// `(max - min) / median`; 0 with one run.
    pub throughput_spread: f64,
    /// Noise of the repeats' p99 latency: `(max - min) / median`; 0 with one run.
    pub latency_spread: f64,
    /// Delivery errors over all runs.
    pub delivery_errors: u64,
}

/// The median of `values` (the mean of the middle two for an even count); 0 when empty.
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// `(max - min) / median`, 0 for fewer than two values or a zero median.
pub fn spread(values: &[f64]) -> f64 {
    let mid = median(values);
    if values.len() < 2 || mid == 0.0 {
        return 0.0;
    }
    let max = values.iter().copied().fold(f64::MIN, f64::max);
    let min = values.iter().copied().fold(f64::MAX, f64::min);
    (max - min) / mid
}

impl Medians {
    /// The medians of `runs`.
    pub fn of(runs: &[RunResult]) -> Medians {
        let pick = |f: &dyn Fn(&RunResult) -> f64| runs.iter().map(f).collect::<Vec<f64>>();
        let produced = pick(&|r| r.produced_records_per_s);
        let consumed = pick(&|r| r.consumed_records_per_s);
        let p99 = pick(&|r| r.latency.p99_ns as f64);
        Medians {
            produced_records_per_s: median(&produced),
            consumed_records_per_s: median(&consumed),
            latency_p50_ns: median(&pick(&|r| r.latency.p50_ns as f64)) as u64,
            latency_p99_ns: median(&p99) as u64,
            latency_p99_9_ns: median(&pick(&|r| r.latency.p99_9_ns as f64)) as u64,
            latency_max_ns: median(&pick(&|r| r.latency.max_ns as f64)) as u64,
            throughput_spread: spread(&produced).max(spread(&consumed)),
            latency_spread: spread(&p99),
            delivery_errors: runs.iter().map(|r| r.delivery_errors).sum(),
        }
    }
}

/// One point of the workload: its settings, every run and their medians.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointResults {
    /// The swept values as `key=value,...`, or `base`.
    pub label: String,
    /// The swept values.
    pub swept: BTreeMap<String, usize>,
    /// Producer threads.
    pub producers: usize,
    /// Consumer threads (groups x members).
    pub consumers: usize,
    /// Groups.
    pub groups: usize,
    /// Partitions over all topics.
    pub partitions: usize,
    /// Value bytes.
    pub record_bytes: usize,
    /// Whether the producers ran flat out (`rate_records_per_s = "unlimited"`): latency then
    /// measures the backlog they fill, not the engine. `None` in files written before this
    /// was recorded.
    #[serde(default)]
    pub unlimited_rate: Option<bool>,
    /// Every run.
    pub runs: Vec<RunResult>,
    /// Their medians.
    pub median: Medians,
}

/// A whole `streamspec bench` run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// The workload's name.
    pub workload: String,
    /// The workload's description.
    #[serde(default)]
    pub description: String,
    /// What was measured (`engine`).
    pub system: String,
    /// Where.
    pub machine: Machine,
    /// When the run began, seconds since the Unix epoch.
    pub started_unix_s: u64,
    /// One entry per point, in sweep order.
    pub points: Vec<PointResults>,
}

impl Results {
    /// The point labelled `label`, if any.
    pub fn point(&self, label: &str) -> Option<&PointResults> {
        self.points.iter().find(|p| p.label == label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_spread() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
        assert_eq!(spread(&[90.0, 100.0, 110.0]), 0.2);
        assert_eq!(spread(&[100.0]), 0.0);
    }

    #[test]
    fn this_machine_has_cores() {
        assert!(Machine::this().cores >= 1);
    }
}
