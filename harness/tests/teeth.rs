//! Teeth: planted bugs the gate must catch, each by the right name.
//!
//! Each wrapper takes any [`ConcurrentTarget`] and breaks one promise now and then (every
//! k-th op it applies to). The tests run gate rounds against the wrapped reference (the model
//! behind a mutex) and assert the finding's name. The unwrapped reference passes the same
//! rounds, so every finding comes from the planted bug. No planted bug lives in the engine.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use streamspec::anomaly;
use streamspec::gate::{run_round, Round, Scenario, LINEARIZABILITY};
use streamspec::reference::Locked;
use streamspec::target::ConcurrentTarget;
use streamspec_model::{ErrorCode, OffsetSpec, Op, PolledRecord, Reply, Ret};

/// Fires on every `period`-th call.
struct Every {
    count: AtomicU64,
    period: u64,
}

impl Every {
    fn new(period: u64) -> Every {
        Every {
            count: AtomicU64::new(0),
            period,
        }
    }
    fn fire(&self) -> bool {
        self.count.fetch_add(1, Ordering::Relaxed) % self.period == self.period - 1
    }
}

/// Which promise to break.
#[derive(Clone, Copy, Debug)]
enum Bug {
    /// Acknowledge a produce without appending it.
    DropAcknowledgedRecord,
    /// Swap the values of two records in a fetch reply.
    SwapTwoOffsets,
    /// Give a member the records of its previous poll again, in the same generation.
    RedeliverWithoutRebalance,
    /// Acknowledge a commit refused for its stale generation.
    AcceptZombieCommit,
    /// Remove one record more than `delete_records` (or retention) allows.
    RetainPastEligiblePrefix,
    /// Leave a record out of the middle of a fetch or poll reply.
    SkipOnPoll,
    /// Answer a fetch with no records though records are there, as a reader not woken.
    LoseWakeUp,
}

struct Planted<T> {
    inner: T,
    bug: Bug,
    every: Every,
    last_poll: Mutex<HashMap<(String, String, i32), Vec<PolledRecord>>>,
}

impl<T: ConcurrentTarget> Planted<T> {
    fn new(inner: T, bug: Bug, period: u64) -> Planted<T> {
        Planted {
            inner,
            bug,
            every: Every::new(period),
            last_poll: Mutex::new(HashMap::new()),
        }
    }
}

impl<T: ConcurrentTarget> ConcurrentTarget for Planted<T> {
    fn name(&self) -> String {
        format!("{} with {:?}", self.inner.name(), self.bug)
    }

    fn apply(&self, op: &Op) -> Ret {
        match (self.bug, op) {
            (
                Bug::DropAcknowledgedRecord,
                Op::Produce {
                    topic,
                    partition: Some(p),
                    ..
                },
            ) if self.every.fire() => {
                let latest = self.inner.apply(&Op::ListOffsets {
                    topic: topic.clone(),
                    partition: *p,
                    spec: OffsetSpec::Latest,
                });
                match latest {
                    Ok(Reply::ListedOffset {
                        offset: Some(hw), ..
                    }) => Ok(Reply::Produced {
                        partition: *p,
                        base_offset: hw,
                        log_append_time_ms: None,
                    }),
                    _ => self.inner.apply(op),
                }
            }
            (Bug::SwapTwoOffsets, Op::Fetch { .. }) => {
                let mut ret = self.inner.apply(op);
                if let Ok(Reply::Fetched { records, .. }) = &mut ret {
                    if records.len() >= 2
                        && records[0].value != records[1].value
                        && self.every.fire()
                    {
                        let first = records[0].value.clone();
                        records[0].value = records[1].value.clone();
                        records[1].value = first;
                    }
                }
                ret
            }
            (
                Bug::RedeliverWithoutRebalance,
                Op::Poll {
                    group,
                    member,
                    generation,
                    ..
                },
            ) => {
                let key = (group.clone(), member.clone(), *generation);
                let mut last = self.last_poll.lock().unwrap();
                if let Some(previous) = last.get(&key) {
                    if !previous.is_empty() && self.every.fire() {
                        return Ok(Reply::Polled {
                            records: previous.clone(),
                        });
                    }
                }
                let ret = self.inner.apply(op);
                if let Ok(Reply::Polled { records }) = &ret {
                    if !records.is_empty() {
                        last.insert(key, records.clone());
                    }
                }
                ret
            }
            (Bug::AcceptZombieCommit, Op::Commit { .. }) => match self.inner.apply(op) {
                Err(ErrorCode::IllegalGeneration) => Ok(Reply::Ack),
                other => other,
            },
            (
                Bug::RetainPastEligiblePrefix,
                Op::DeleteRecords {
                    topic,
                    partition,
                    offset,
                },
            ) if *offset >= 0 => {
                let one_more = Op::DeleteRecords {
                    topic: topic.clone(),
                    partition: *partition,
                    offset: offset + 1,
                };
                match self.inner.apply(&one_more) {
                    Err(_) => self.inner.apply(op),
                    ok => ok,
                }
            }
            (Bug::SkipOnPoll, Op::Fetch { .. } | Op::Poll { .. }) => {
                let mut ret = self.inner.apply(op);
                match &mut ret {
                    Ok(Reply::Fetched { records, .. })
                        if records.len() >= 3 && self.every.fire() =>
                    {
                        records.remove(1);
                    }
                    Ok(Reply::Polled { records })
                        if records.len() >= 3
                            && records[0].partition == records[2].partition
                            && records[1].partition == records[0].partition
                            && self.every.fire() =>
                    {
                        records.remove(1);
                    }
                    _ => {}
                }
                ret
            }
            (Bug::LoseWakeUp, Op::Fetch { .. }) => {
                let mut ret = self.inner.apply(op);
                if let Ok(Reply::Fetched { records, .. }) = &mut ret {
                    if !records.is_empty() && self.every.fire() {
                        records.clear();
                    }
                }
                ret
            }
            _ => self.inner.apply(op),
        }
    }
}

/// Rounds of `scenario`, each against a fresh target from `make`.
fn rounds<T: ConcurrentTarget>(make: impl Fn() -> T, scenario: Scenario, seeds: u64) -> Vec<Round> {
    (0..seeds)
        .map(|seed| run_round(&make(), scenario, seed, 4, 300, Duration::from_secs(60)))
        .collect()
}

/// Asserts some round finds `name`, and prints what each found.
fn assert_caught(bug: Bug, period: u64, scenario: Scenario, name: &str) {
    let make = || Planted::new(Locked::model(), bug, period);
    let found: Vec<Vec<&'static str>> = rounds(make, scenario, 3)
        .iter()
        .map(|r| r.judgement.names())
        .collect();
    assert!(
        found.iter().any(|names| names.contains(&name)),
        "{bug:?} not caught as {name}; rounds found {found:?}"
    );
}

#[test]
fn the_reference_passes_every_scenario() {
    // Goal: findings below come from the planted bugs. Method: the same rounds, unwrapped.
    for scenario in Scenario::ALL {
        for round in rounds(Locked::model, scenario, 3) {
            assert!(
                round.judgement.passed(),
                "{} seed {}: {:?}",
                scenario.name(),
                round.seed,
                round.judgement.findings()
            );
        }
    }
}

#[test]
fn drop_an_acknowledged_record_is_a_lost_write() {
    assert_caught(
        Bug::DropAcknowledgedRecord,
        7,
        Scenario::Log,
        anomaly::LOST_WRITE,
    );
    assert_caught(
        Bug::DropAcknowledgedRecord,
        7,
        Scenario::Log,
        LINEARIZABILITY,
    );
}

#[test]
fn swapped_offsets_are_inconsistent_offsets() {
    assert_caught(
        Bug::SwapTwoOffsets,
        3,
        Scenario::Log,
        anomaly::INCONSISTENT_OFFSETS,
    );
    assert_caught(Bug::SwapTwoOffsets, 3, Scenario::Log, LINEARIZABILITY);
}

#[test]
fn redelivery_without_a_rebalance_is_a_nonmonotonic_poll() {
    assert_caught(
        Bug::RedeliverWithoutRebalance,
        3,
        Scenario::Groups,
        anomaly::NONMONOTONIC_POLL,
    );
}

#[test]
fn an_accepted_zombie_commit_is_a_stale_generation_commit() {
    assert_caught(
        Bug::AcceptZombieCommit,
        1,
        Scenario::Groups,
        anomaly::STALE_GENERATION_COMMIT,
    );
    assert_caught(
        Bug::AcceptZombieCommit,
        1,
        Scenario::Groups,
        LINEARIZABILITY,
    );
}

#[test]
fn retention_past_the_eligible_prefix_is_illegal_retention() {
    assert_caught(
        Bug::RetainPastEligiblePrefix,
        1,
        Scenario::Log,
        anomaly::ILLEGAL_RETENTION,
    );
    assert_caught(
        Bug::RetainPastEligiblePrefix,
        1,
        Scenario::Log,
        LINEARIZABILITY,
    );
}

#[test]
fn a_record_left_out_of_a_read_is_a_poll_skip() {
    assert_caught(Bug::SkipOnPoll, 2, Scenario::Log, anomaly::POLL_SKIP);
    assert_caught(Bug::SkipOnPoll, 2, Scenario::Log, LINEARIZABILITY);
}

#[test]
fn a_lost_wake_up_is_not_linearizable() {
    assert_caught(Bug::LoseWakeUp, 3, Scenario::Log, LINEARIZABILITY);
}
