//! The correctness gate: record histories from a concurrent target, judge each with the
//! linearizability and anomaly checkers, and say what failed by name.
//!
//! `streamspec check` runs rounds of [`Scenario`]s under a time budget; `streamspec verify`
//! judges one history file with [`judge`]. Tests plant bugs in wrappers around a target and
//! assert the gate names them (`harness/tests/teeth.rs`).

use std::time::Duration;

use crate::anomaly;
use crate::history::{record, History};
use crate::linearizability::{self, Verdict};
use crate::target::ConcurrentTarget;
use crate::workload::{
    group_workload, log_workload, GroupWorkloadConfig, LogWorkloadConfig, Workload,
};

/// The name of a linearizability failure among the anomaly names.
pub const LINEARIZABILITY: &str = "linearizability";

/// Something the gate found wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// `linearizability` or an anomaly name (`lost-write`, ...).
    pub check: &'static str,
    /// What happened.
    pub summary: String,
    /// The ops that show it (ids in the history).
    pub ops: Vec<usize>,
}

/// Most ops of an illegal window a finding shows (in timelines and lists): a long-running op
/// can be concurrent with hundreds of others, and the earliest of them (with the culprit) are
/// the ones that could have been ordered differently first.
const WINDOW_SHOWN_MAX: usize = 40;

/// The culprit and the first ops of the window, at most [`WINDOW_SHOWN_MAX`].
fn shown_window(illegal: &crate::linearizability::Illegal) -> Vec<usize> {
    let mut shown: Vec<usize> = illegal.culprit.into_iter().collect();
    for &id in &illegal.window {
        if shown.len() >= WINDOW_SHOWN_MAX {
            break;
        }
        if !shown.contains(&id) {
            shown.push(id);
        }
    }
    shown.sort_unstable();
    shown
}

/// Both checkers' reports on one history.
#[derive(Clone, Debug)]
pub struct Judgement {
    /// Linearizability against the model.
    pub linearizability: linearizability::Report,
    /// Anomalies.
    pub anomalies: anomaly::Report,
}

impl Judgement {
    /// Everything found wrong, linearizability first.
    pub fn findings(&self) -> Vec<Finding> {
        let mut findings = Vec::new();
        if let Verdict::Illegal(illegal) = &self.linearizability.verdict {
            let culprit = illegal
                .culprit
                .map_or("an op".to_string(), |c| format!("op {c}"));
            findings.push(Finding {
                check: LINEARIZABILITY,
                summary: format!(
                    "{}: no order of the ops explains the outcome of {culprit} ({} ops concurrent with it, {} ops of the component up to it)",
                    illegal.component,
                    illegal.window.len().saturating_sub(1),
                    illegal.prefix_ops
                ),
                ops: shown_window(illegal),
            });
        }
        for a in &self.anomalies.anomalies {
            findings.push(Finding {
                check: a.name,
                summary: a.explanation.clone(),
                ops: a.ops.clone(),
            });
        }
        findings
    }

    /// Whether nothing was found wrong (an `Unknown` linearizability verdict passes, and is
    /// reported as such).
    pub fn passed(&self) -> bool {
        !matches!(self.linearizability.verdict, Verdict::Illegal(_)) && self.anomalies.is_clean()
    }

    /// The names of everything found, sorted and unique.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.findings().iter().map(|f| f.check).collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

/// Judges one history with both checkers.
pub fn judge(history: &History, drained: bool, options: &linearizability::Options) -> Judgement {
    Judgement {
        linearizability: linearizability::check(history, options),
        anomalies: anomaly::check(history, &anomaly::Options { drained }),
    }
}

/// What a round of the gate runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// Producers and fetchers on one topic, drained at the end (assign mode).
    Log,
    /// Groups with members that poll and commit, and zombies (subscribe mode).
    Groups,
}

impl Scenario {
    /// Both, in the order rounds alternate.
    pub const ALL: [Scenario; 2] = [Scenario::Log, Scenario::Groups];

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Log => "log (assign mode)",
            Scenario::Groups => "groups (subscribe mode)",
        }
    }

    /// The workload of one round.
    pub fn workload(self, seed: u64, threads: usize, ops_per_thread: usize) -> Workload {
        match self {
            Scenario::Log => log_workload(LogWorkloadConfig {
                threads,
                ops_per_thread,
                partitions: LOG_PARTITIONS,
                delete_percent: 2,
                seed,
            }),
            Scenario::Groups => group_workload(GroupWorkloadConfig {
                groups: GROUPS,
                members: threads.div_ceil(GROUPS).max(2),
                partitions: GROUP_TOPIC_PARTITIONS,
                // Group components are checked against the full model: keep them small.
                ops_per_thread: ops_per_thread.min(GROUP_OPS_PER_THREAD_MAX),
                seed,
            }),
        }
    }
}

/// Partitions of the log scenario's topic.
const LOG_PARTITIONS: i32 = 8;
/// Groups in the groups scenario.
const GROUPS: usize = 2;
/// Partitions of each group's topic.
const GROUP_TOPIC_PARTITIONS: i32 = 3;
/// Ops per thread in the groups scenario: its components use the full model, whose states
/// are cloned per step, so rounds stay small and many.
const GROUP_OPS_PER_THREAD_MAX: usize = 150;

/// One recorded and judged round.
pub struct Round {
    /// What ran.
    pub scenario: Scenario,
    /// The seed of the round.
    pub seed: u64,
    /// The history.
    pub history: History,
    /// Whether it ended with a drain.
    pub drained: bool,
    /// The verdicts.
    pub judgement: Judgement,
}

/// Records one round of `scenario` against `target` and judges it.
pub fn run_round(
    target: &dyn ConcurrentTarget,
    scenario: Scenario,
    seed: u64,
    threads: usize,
    ops_per_thread: usize,
    time_limit: Duration,
) -> Round {
    let workload = scenario.workload(seed, threads, ops_per_thread);
    let drained = workload.drained;
    let history = record(target, &workload.setup, workload.workers, workload.finale);
    let options = linearizability::Options {
        time_limit,
        ..linearizability::Options::default()
    };
    let judgement = judge(&history, drained, &options);
    Round {
        scenario,
        seed,
        history,
        drained,
        judgement,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::Locked;

    #[test]
    fn the_same_seed_gives_the_same_round() {
        // Goal: `check --seed S` reproduces its rounds. Method: with one client thread the
        // interleaving is fixed too, so two log rounds of one seed must record the same ops
        // with the same outcomes, and another seed different ones. (The groups scenario
        // always runs several threads; its seeds fix what each thread asks, not the order.)
        let ops = |seed: u64, scenario: Scenario| {
            let round = run_round(
                &Locked::model(),
                scenario,
                seed,
                1,
                200,
                Duration::from_secs(30),
            );
            assert!(round.judgement.passed());
            round
                .history
                .ops
                .iter()
                .map(|o| (o.process, o.op.clone(), o.outcome.clone()))
                .collect::<Vec<_>>()
        };
        let first = ops(4, Scenario::Log);
        assert!(first.len() > 200);
        assert!(
            first == ops(4, Scenario::Log),
            "same seed, different rounds"
        );
        assert!(
            first != ops(5, Scenario::Log),
            "different seeds, same rounds"
        );
    }
}
