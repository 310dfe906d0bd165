//! Ratios from paired runs, for a machine whose speed comes and goes:
//!
//! - `cargo run --release -p streamspec-benches --example paired -- fan-out VALUE_BYTES
//!   CONSUMERS [PAIRS] [BATCH]`: the fan-out workload of the `fan_out` bench (batches of
//!   1000, or `BATCH`: 1 is its single-record mode), the engine against each peer in
//!   alternating runs; the median of the per-pair ratios.
//! - `... --example paired -- group-scaling [PAIRS]`: the `group_scaling` workload, each
//!   system with 2 members against itself with 1 in alternating runs; the median of the
//!   per-pair scaling.
//!
//! Why beside criterion: criterion times one case after another, so a slow spell of a shared
//! machine (seen here: 1 KiB fan-out at 6-12 M/s for every system, for seconds to minutes)
//! lands on whichever case is being timed and decides its ratio. Here the two sides of a
//! ratio run next to each other (their order alternating from pair to pair), so a spell slows
//! both sides of the pairs it covers, and the median over the pairs sets the rest aside.
//! Every run is verified (counts and checksums) as in the benches.
//!
//! Each pair is also told by how far apart its threads 0 and 1 were, probed before and after
//! it ([`core_distance`]): a host that moves the vCPUs moves every ratio that depends on two
//! cores (group scaling on SMT siblings), so the ratios at each distance are printed apart as
//! well as over all pairs.

use streamspec_benches::core_distance::{self, Distance};
use streamspec_benches::engine::EngineFastPath;
use streamspec_benches::peers::{
    ArrayLog, ChannelFanOut, DisruptorPoller, DisruptorRing, RwLockLog,
};
use streamspec_benches::workload::{FanOut, GroupScaling, Run, System, Tally};

/// Records per produce call and per read, as in the `fan_out` and `group_scaling` benches
/// (batched mode).
const BATCH_RECORDS: usize = 1_000;
/// Records per partition of the group-scaling workload, as in the `group_scaling` bench.
const RECORDS_PER_PARTITION: u64 = 500_000;
/// Most consumers a fan-out comparison runs (the bench sweeps 1 to 8).
const CONSUMERS_MAX: usize = 64;
/// How to call this.
const USAGE: &str =
    "usage: paired fan-out VALUE_BYTES CONSUMERS [PAIRS] [BATCH] | paired group-scaling [PAIRS]";

/// Records per second of `run` over `records`; panics with `system` named unless it has
/// `consumers` tallies and tally `i` is `expected(i)` (as the benches check).
fn rate(
    system: &str,
    run: &Run,
    records: u64,
    consumers: usize,
    expected: impl Fn(usize) -> Tally,
) -> f64 {
    if let Err(wrong) = run.verify(consumers, expected) {
        panic!("{system} delivered wrongly: {wrong}");
    }
    records as f64 / run.elapsed.as_secs_f64()
}

/// One fan-out run of `S`, verified; records produced per second (`None`: `S` does not run it).
fn fan_out_rate<S: System>(workload: &FanOut) -> Option<f64> {
    let run = S::fan_out(workload)?;
    let expected = |_| workload.expected();
    Some(rate(
        S::NAME,
        &run,
        workload.records,
        workload.consumers,
        expected,
    ))
}

/// One group-scaling run of `S`, verified; records consumed per second.
fn group_rate<S: System>(workload: &GroupScaling) -> Option<f64> {
    let run = S::group_scaling(workload)?;
    let (records, members) = (workload.records_total(), workload.members);
    Some(rate(S::NAME, &run, records, members, |m| {
        workload.expected(m)
    }))
}

/// The value at quantile `q` of `values` (sorted in place; not empty).
fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() - 1) as f64 * q).round() as usize]
}

/// One pair of runs: the rates of `a` and `b`, and how far apart threads 0 and 1 were (probed
/// before and after the pair; `None` when the two probes disagree or there was nothing to
/// probe).
struct Pair {
    a: f64,
    b: f64,
    distance: Option<Distance>,
}

/// How far apart threads 0 and 1 are now, as their round trip tells.
fn probe() -> Option<Distance> {
    core_distance::round_trip_ns().map(Distance::of_round_trip)
}

/// `pairs` alternating runs of `a` and `b` (after one untimed run each: a first run pays for
/// fresh memory), or `None` when either does not run the workload.
fn alternate(
    pairs: usize,
    a: impl Fn() -> Option<f64>,
    b: impl Fn() -> Option<f64>,
) -> Option<Vec<Pair>> {
    a()?;
    b()?;
    let mut measured = Vec::with_capacity(pairs);
    for pair in 0..pairs {
        let before = probe();
        let (x, y) = if pair % 2 == 0 {
            let x = a()?;
            (x, b()?)
        } else {
            let y = b()?;
            (a()?, y)
        };
        let after = probe();
        measured.push(Pair {
            a: x,
            b: y,
            distance: before.filter(|_| before == after),
        });
    }
    Some(measured)
}

/// One line: the medians of `a` and of `b` over `pairs`, and of `a / b` with its quartiles.
fn summarise(label: &str, a: &str, b: &str, pairs: &[&Pair]) {
    let mut a_rates: Vec<f64> = pairs.iter().map(|p| p.a).collect();
    let mut b_rates: Vec<f64> = pairs.iter().map(|p| p.b).collect();
    let mut ratios: Vec<f64> = pairs.iter().map(|p| p.a / p.b).collect();
    let [median, low, high] = [0.5, 0.25, 0.75].map(|q| quantile(&mut ratios, q));
    println!(
        "{label}: {a} {:7.1} M/s, {b} {:7.1} M/s (medians); {a} / {b} {median:.2}x \
         (median of {} pairs; quartiles {low:.2}x-{high:.2}x)",
        quantile(&mut a_rates, 0.5) / 1e6,
        quantile(&mut b_rates, 0.5) / 1e6,
        pairs.len(),
    );
}

/// Print one comparison: over every pair, then over the pairs at each distance apart.
fn report(name: &str, a: &str, b: &str, measured: Option<Vec<Pair>>) {
    let Some(measured) = measured else { return };
    summarise(
        &format!("{name:>18}"),
        a,
        b,
        &measured.iter().collect::<Vec<_>>(),
    );
    for distance in [
        Distance::OneCore,
        Distance::SharedCache,
        Distance::ApartCaches,
    ] {
        let pairs: Vec<&Pair> = measured
            .iter()
            .filter(|p| p.distance == Some(distance))
            .collect();
        if !pairs.is_empty() {
            let label = format!("{:>20}threads 0 and 1 on {}", "", distance.describe());
            summarise(&label, a, b, &pairs);
        }
    }
    let unplaced = measured.iter().filter(|p| p.distance.is_none()).count();
    if unplaced > 0 {
        println!(
            "{:>20}{unplaced} pairs not told apart (the host moved a vCPU during the pair, or \
             threads are not pinned)",
            ""
        );
    }
}

/// The engine against peer `P` on a fan-out workload.
fn fan_out_against<P: System>(workload: &FanOut, pairs: usize) {
    let measured = alternate(
        pairs,
        || fan_out_rate::<EngineFastPath>(workload),
        || fan_out_rate::<P>(workload),
    );
    report(P::NAME, "engine", "peer", measured);
}

/// `S` with 2 members against `S` with 1.
fn group_scaling_of<S: System>(pairs: usize) {
    let members = |members| GroupScaling {
        records_per_partition: RECORDS_PER_PARTITION,
        members,
        value_bytes: 8,
        batch_records: BATCH_RECORDS,
    };
    let (two, one) = (members(2), members(1));
    let measured = alternate(pairs, || group_rate::<S>(&two), || group_rate::<S>(&one));
    report(S::NAME, "2 members", "1", measured);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let fail = |why: &str| -> ! {
        eprintln!("{USAGE}: {why}");
        std::process::exit(2)
    };
    let count = |i: usize, default: Option<usize>| -> usize {
        match args.get(i) {
            Some(arg) => match arg.parse() {
                Ok(n) if n > 0 => n,
                _ => fail(&format!("{arg:?} is not a count of 1 or more")),
            },
            None => default.unwrap_or_else(|| fail("a count is missing")),
        }
    };
    match args.first().map(String::as_str) {
        Some("fan-out") => {
            let (value_bytes, consumers, pairs, batch_records) = (
                count(1, None),
                count(2, None),
                count(3, Some(30)),
                count(4, Some(BATCH_RECORDS)),
            );
            if batch_records > BATCH_RECORDS {
                fail(&format!(
                    "BATCH is at most {BATCH_RECORDS} (a batch must fit the disruptor's ring)"
                ));
            }
            if consumers > CONSUMERS_MAX {
                fail(&format!(
                    "at most {CONSUMERS_MAX} consumers (a thread each)"
                ));
            }
            // The bench's sizes, which every peer runs, and its run lengths.
            let records = match value_bytes {
                8 => 2_000_000,
                1024 => 200_000,
                _ => fail("VALUE_BYTES is 8 or 1024, the sizes of the fan_out bench"),
            };
            let workload = FanOut {
                records,
                consumers,
                value_bytes,
                batch_records,
            };
            println!(
                "fan-out, {value_bytes}-byte values, {consumers} consumer(s), batches of \
                 {batch_records}, {records} records per run"
            );
            fan_out_against::<DisruptorRing>(&workload, pairs);
            fan_out_against::<DisruptorPoller>(&workload, pairs);
            fan_out_against::<ArrayLog>(&workload, pairs);
            fan_out_against::<ChannelFanOut>(&workload, pairs);
            fan_out_against::<RwLockLog>(&workload, pairs);
        }
        Some("group-scaling") => {
            let pairs = count(1, Some(30));
            println!(
                "group scaling, 8 partitions of {RECORDS_PER_PARTITION} 8-byte records, 2 members against 1"
            );
            group_scaling_of::<EngineFastPath>(pairs);
            group_scaling_of::<ArrayLog>(pairs);
            group_scaling_of::<ChannelFanOut>(pairs);
            group_scaling_of::<RwLockLog>(pairs);
        }
        _ => fail("name a workload"),
    }
}
