//! How a bench times a system on a workload: verify first, then time only verified runs.
//!
//! When criterion selects a case, its first run is untimed and checked: every consumer's
//! count and checksum ([`crate::workload::Run::verify`]); a system that misdelivers stops
//! the bench with the consumer and the difference, before any timing. Timing uses
//! criterion's `iter_custom`: each iteration is one fresh run, and only its timed part
//! counts, so setup (spawning threads, prefilling partitions) stays out. Every timed run is
//! verified again (outside the timing) against the tallies computed once up front. A system
//! that does not run a workload (`None` on a tiny probe run of the same shape) is skipped.
//! Each case also prints (stderr) how far apart threads 0 and 1 were while it ran
//! ([`crate::core_distance`]), probed untimed before each batch of samples.

use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion};

use crate::core_distance::{self, Distance};
use crate::workload::{FanOut, GroupScaling, Latency, Produce, Run, System, Tally};

/// The default criterion settings of every bench: 10 samples, 1 s warm-up and 2 s of
/// measurement per case, so the whole `cargo bench` (about 150 cases) finishes in about 10
/// to 15 minutes on 2 cores. `cargo bench -- --measurement-time 10` overrides.
pub fn criterion() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args()
}

/// Records in the probe run that tells whether a system runs a workload at all.
const PROBE_RECORDS: u64 = 16;

fn check(system: &str, what: &str, run: &Run, consumers: usize, expected: &dyn Fn(usize) -> Tally) {
    if let Err(wrong) = run.verify(consumers, expected) {
        panic!("{system} delivered wrongly in {what}: {wrong}");
    }
}

fn time(
    group: &mut BenchmarkGroup<'_, WallTime>,
    system: &str,
    parameter: String,
    mut once: impl FnMut() -> Run,
    verify: impl Fn(&Run),
) {
    let mut verified = false;
    // Round trips between threads 0 and 1, probed before each batch of samples (untimed).
    let mut round_trips_ns: Vec<f64> = Vec::new();
    group.bench_function(BenchmarkId::new(system, &parameter), |b| {
        if !verified {
            // Untimed: the check before any timing (runs only for selected cases).
            verify(&once());
            verified = true;
        }
        round_trips_ns.extend(core_distance::round_trip_ns());
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let run = once();
                total += run.elapsed;
                verify(&run);
            }
            total
        })
    });
    report_distance(system, &parameter, &mut round_trips_ns);
}

/// Say how far apart threads 0 and 1 were while a case ran, so a reader of the log can tell
/// a case timed while the host had moved a vCPU (`core_distance`) from the systems' own
/// difference. Nothing when nothing was probed (case filtered out, threads unpinned).
fn report_distance(system: &str, parameter: &str, round_trips_ns: &mut [f64]) {
    round_trips_ns.sort_by(f64::total_cmp);
    let (Some(&low_ns), Some(&high_ns)) = (round_trips_ns.first(), round_trips_ns.last()) else {
        return;
    };
    let (low, high) = (
        Distance::of_round_trip(low_ns),
        Distance::of_round_trip(high_ns),
    );
    let on = if low == high {
        low.describe().to_string()
    } else {
        format!("{} to {}", low.describe(), high.describe())
    };
    eprintln!(
        "{system}/{parameter}: threads 0 and 1 {low_ns:.0}-{high_ns:.0} ns apart over {} probes: {on}",
        round_trips_ns.len()
    );
}

/// Bench `S` on a fan-out workload, parameter = the consumer count.
pub fn fan_out<S: System>(group: &mut BenchmarkGroup<'_, WallTime>, workload: FanOut) {
    let probe = FanOut {
        records: PROBE_RECORDS,
        ..workload
    };
    if S::fan_out(&probe).is_none() {
        return;
    }
    let expected = workload.expected();
    let verify = |run: &Run| check(S::NAME, "fan-out", run, workload.consumers, &|_| expected);
    time(
        group,
        S::NAME,
        workload.consumers.to_string(),
        || S::fan_out(&workload).expect("ran before"),
        verify,
    );
}

/// Bench `S` on a group scaling workload, parameter = the member count.
pub fn group_scaling<S: System>(group: &mut BenchmarkGroup<'_, WallTime>, workload: GroupScaling) {
    let probe = GroupScaling {
        records_per_partition: PROBE_RECORDS,
        ..workload
    };
    if S::group_scaling(&probe).is_none() {
        return;
    }
    let expected: Vec<Tally> = (0..workload.members)
        .map(|m| workload.expected(m))
        .collect();
    let verify = |run: &Run| {
        check(S::NAME, "group scaling", run, workload.members, &|m| {
            expected[m]
        })
    };
    time(
        group,
        S::NAME,
        workload.members.to_string(),
        || S::group_scaling(&workload).expect("ran before"),
        verify,
    );
}

/// Bench `S` on a produce workload, parameter = the producer count.
pub fn produce<S: System>(group: &mut BenchmarkGroup<'_, WallTime>, workload: Produce) {
    let probe = Produce {
        records_per_producer: PROBE_RECORDS,
        ..workload
    };
    if S::produce(&probe).is_none() {
        return;
    }
    let expected = workload.expected();
    let verify = |run: &Run| check(S::NAME, "produce", run, 1, &|_| expected);
    time(
        group,
        S::NAME,
        workload.producers.to_string(),
        || S::produce(&workload).expect("ran before"),
        verify,
    );
}

/// Bench `S` on the latency workload, parameter = the value size.
pub fn latency<S: System>(group: &mut BenchmarkGroup<'_, WallTime>, workload: Latency) {
    let probe = Latency {
        round_trips: PROBE_RECORDS,
        ..workload
    };
    if S::latency(&probe).is_none() {
        return;
    }
    let expected = workload.expected();
    let verify = |run: &Run| check(S::NAME, "latency", run, 1, &|_| expected);
    time(
        group,
        S::NAME,
        format!("{}B", workload.value_bytes),
        || S::latency(&workload).expect("ran before"),
        verify,
    );
}
