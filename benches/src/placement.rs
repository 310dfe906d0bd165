//! Where a timed run's threads run: thread `i` of a run is pinned to core `i % cores`, the
//! same way for every system.
//!
//! Why: a timed run lasts milliseconds, less than the scheduler takes to spread threads it
//! has just woken. On the 2-core machine of `docs/PERFORMANCE.md`, left to the scheduler, the
//! two members of a group-scaling run often shared one core (the array log's two readers read
//! 1.07-1.41x what its one reader did; pinned, 1.84x), and fan-out to two consumers ran at one
//! of two speeds, fixed for the life of the process, by which two of its three threads shared
//! a core. Pinned, placement is part of the workload: identical for every system and run.
//!
//! Numbering: where a run has a producer and consumers (fan-out, latency), the producer is
//! thread 0 and consumer `c` is thread `c + 1`; group members and the producers of the produce
//! workload are threads `0..` in order. Oversubscribed runs share cores round robin.
//!
//! The bench's main thread is never pinned: it spawns, releases and joins the run's threads,
//! and work it would otherwise do itself runs on a pinned thread of its own
//! ([`run_pinned`]). (A pinned main thread would hand its one-core mask to every thread it
//! spawns, and to what the disruptor crate checks its `pin_at_core` against.)
//!
//! `STREAMSPEC_BENCH_UNPINNED=1` leaves placement to the scheduler, to compare.

use std::sync::OnceLock;

use core_affinity::CoreId;

/// The cores a run's threads are spread over: those this process may run on, read once,
/// before any thread is pinned. Empty when pinning is off or unavailable.
fn cores() -> &'static [CoreId] {
    static CORES: OnceLock<Vec<CoreId>> = OnceLock::new();
    CORES.get_or_init(|| {
        let unpinned = std::env::var_os("STREAMSPEC_BENCH_UNPINNED").is_some_and(|v| v != "0");
        if unpinned {
            return Vec::new();
        }
        core_affinity::get_core_ids().unwrap_or_default()
    })
}

/// The core id thread `thread` of a run is pinned to; `None` when pinning is off.
pub fn core_of(thread: usize) -> Option<usize> {
    let cores = cores();
    (!cores.is_empty()).then(|| cores[thread % cores.len()].id)
}

/// Pin the calling thread as thread `thread` of a run (nothing when pinning is off; a failed
/// pin leaves the thread where it is, as unpinned runs are).
pub fn pin(thread: usize) {
    let cores = cores();
    if !cores.is_empty() {
        core_affinity::set_for_current(cores[thread % cores.len()]);
    }
}

/// Run `work` as thread `thread` of a run, on a pinned thread of its own, and return what it
/// returns (for work the unpinned main thread would otherwise do itself).
pub fn run_pinned<R: Send>(thread: usize, work: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                pin(thread);
                work()
            })
            .join()
            .expect("a bench thread does not panic")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_are_spread_round_robin_over_the_cores() {
        // Goal: consecutive threads of a run land on distinct cores until the cores run out,
        // then share them in the same order. Method: compare `core_of` with the core list.
        let cores = cores();
        if cores.is_empty() {
            return; // pinning off or unavailable here: nothing is placed.
        }
        for thread in 0..3 * cores.len() {
            assert_eq!(core_of(thread), Some(cores[thread % cores.len()].id));
        }
        let pinned_to = run_pinned(1, || core_affinity::get_core_ids().unwrap());
        assert_eq!(pinned_to, vec![cores[1 % cores.len()]]);
    }
}
