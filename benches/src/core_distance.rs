//! How far apart the cores of a run's first two threads are, measured: the round trip of one
//! cache line between a thread pinned as thread 0 and one pinned as thread 1
//! ([`crate::placement`]).
//!
//! Why: on a virtual machine the host chooses which hardware the vCPUs run on, and changes its
//! choice while a bench runs. On the 2-core machine of `docs/PERFORMANCE.md` the round trip
//! between its two vCPUs moves, from one second to the next, between three values, and every
//! workload whose threads talk across cores moves with it (the engine's 1 KiB fan-out to one
//! consumer, measured beside the probe, 2026-12-06):
//!
//! | round trip | what it means | 1 KiB fan-out, N = 1 |
//! | --- | --- | --- |
//! | ~28 ns | two hardware threads of one physical core (SMT siblings) | ~54 M/s |
//! | ~60 ns | two physical cores sharing an L3 | ~61 M/s |
//! | ~310 ns | two cores with an L3 each: lines travel through memory | ~10 M/s |
//!
//! Two members of a group on SMT siblings share one core's execution units, so no system
//! scales 1 → 2 members there as it does on two cores. A ratio is only comparable with
//! another measured at the same [`Distance`]; `examples/paired.rs` probes before and after
//! each pair and reports the ratios at each distance apart.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::placement;

/// Round trips timed per probe: about 1-6 ms, short enough to run beside every pair.
const ROUND_TRIPS: u64 = 20_000;
/// Longest round trip, in nanoseconds, between SMT siblings (seen: 27-28 ns on the AMD EPYC
/// vCPUs of `docs/PERFORMANCE.md`; two physical cores were never under 55 ns there).
pub const ONE_CORE_ROUND_TRIP_NS_MAX: f64 = 40.0;
/// Longest round trip, in nanoseconds, between two cores sharing an L3 (seen: 55-75 ns; cores
/// with an L3 each: 300-320 ns).
pub const SHARED_CACHE_ROUND_TRIP_NS_MAX: f64 = 150.0;

/// How far apart threads 0 and 1 of a run are, as told by their round trip.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Distance {
    /// SMT siblings: one physical core.
    OneCore,
    /// Two physical cores sharing an L3.
    SharedCache,
    /// Two cores with an L3 each.
    ApartCaches,
}

impl Distance {
    /// The distance a round trip of `round_trip_ns` tells.
    pub fn of_round_trip(round_trip_ns: f64) -> Distance {
        if round_trip_ns <= ONE_CORE_ROUND_TRIP_NS_MAX {
            Distance::OneCore
        } else if round_trip_ns <= SHARED_CACHE_ROUND_TRIP_NS_MAX {
            Distance::SharedCache
        } else {
            Distance::ApartCaches
        }
    }

    /// Words for a report.
    pub fn describe(self) -> &'static str {
        match self {
            Distance::OneCore => "one core (SMT siblings)",
            Distance::SharedCache => "two cores, one L3",
            Distance::ApartCaches => "two cores, an L3 each",
        }
    }
}

/// Spin until `line` holds `value`; yield after a while, in case the other side was
/// descheduled (a busy machine, tests running beside), rather than spin through its time
/// slice. An answer from a running thread comes within the spins. (Not crossbeam's
/// `Backoff`: it yields after about a hundred spins, sooner than a 300 ns round trip
/// through memory, and a yield's system call would then be timed as distance.)
#[inline]
fn await_value(line: &AtomicU64, value: u64) {
    let mut spins = 0u32;
    while line.load(Ordering::Acquire) != value {
        spins += 1;
        if spins < 10_000 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

/// The mean round trip of a cache line between threads 0 and 1 of a run, in nanoseconds;
/// `None` where threads are not pinned, or both are pinned to one vCPU (a single-core
/// machine), so that there is no fixed pair of vCPUs to measure.
pub fn round_trip_ns() -> Option<f64> {
    let (zero, one) = (placement::core_of(0)?, placement::core_of(1)?);
    if zero == one {
        return None;
    }
    // Thread 0 writes odd values, thread 1 answers with the next even one.
    let line = crossbeam_utils::CachePadded::new(AtomicU64::new(0));
    std::thread::scope(|scope| {
        scope.spawn(|| {
            placement::pin(1);
            for trip in 0..ROUND_TRIPS {
                await_value(&line, 2 * trip + 1);
                line.store(2 * trip + 2, Ordering::Release);
            }
        });
        let elapsed = placement::run_pinned(0, || {
            let started = Instant::now();
            for trip in 0..ROUND_TRIPS {
                line.store(2 * trip + 1, Ordering::Release);
                await_value(&line, 2 * trip + 2);
            }
            started.elapsed()
        });
        Some(elapsed.as_nanos() as f64 / ROUND_TRIPS as f64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_are_told_apart_at_the_stated_bounds() {
        assert_eq!(Distance::of_round_trip(27.5), Distance::OneCore);
        assert_eq!(
            Distance::of_round_trip(ONE_CORE_ROUND_TRIP_NS_MAX),
            Distance::OneCore
        );
        assert_eq!(Distance::of_round_trip(60.0), Distance::SharedCache);
        assert_eq!(
            Distance::of_round_trip(SHARED_CACHE_ROUND_TRIP_NS_MAX + 1.0),
            Distance::ApartCaches
        );
    }

    #[test]
    fn a_probe_measures_a_round_trip_between_two_pinned_threads() {
        // Goal: the probe completes and gives a plausible time where two vCPUs are pinned
        // apart. A cache-line round trip costs at least a few nanoseconds on any hardware and
        // well under a millisecond unless a thread was descheduled mid-probe, which a test
        // machine may do; so only the lower bound is asserted.
        let Some(round_trip_ns) = round_trip_ns() else {
            return; // unpinned or one vCPU: no pair to measure.
        };
        assert!(round_trip_ns >= 2.0, "{round_trip_ns} ns");
    }
}
