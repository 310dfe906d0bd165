//! Time of the linearizability check on recorded log histories of 10k, 100k and 1M ops over
//! 64 partitions, on 2 threads (the target: 1M ops in under 10 s on 2 cores).
//!
//! Each history is recorded once from the locked model (outside the timing) and checked
//! once for the right verdict before it is timed.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use streamspec::history::{record, History};
use streamspec::linearizability::{check, Options, Verdict};
use streamspec::reference::Locked;
use streamspec::workload::{log_workload, LogWorkloadConfig};

/// Partitions of the benchmarked topic.
const PARTITIONS: i32 = 64;
/// Client threads recording the history.
const RECORDING_THREADS: usize = 4;

fn history(ops: usize) -> History {
    let workload = log_workload(LogWorkloadConfig {
        threads: RECORDING_THREADS,
        ops_per_thread: ops / RECORDING_THREADS,
        partitions: PARTITIONS,
        delete_percent: 1,
        seed: 42,
    });
    let target = Locked::model();
    record(&target, &workload.setup, workload.workers, None)
}

fn options() -> Options {
    Options {
        threads: 2,
        time_limit: Duration::from_secs(120),
        ..Options::default()
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("linearizability");
    group.sample_size(10);
    for ops in [10_000, 100_000, 1_000_000] {
        let history = history(ops);
        // Check before timing: a fast wrong answer is worth nothing.
        let report = check(&history, &options());
        assert_eq!(report.verdict, Verdict::Linearizable, "{ops} ops");
        assert_eq!(report.compact_components, PARTITIONS as usize);
        eprintln!("{ops} ops: one check took {:?}", report.elapsed);
        group.throughput(Throughput::Elements(history.ops.len() as u64));
        group.bench_function(format!("{ops}_ops_64_partitions_2_threads"), |b| {
            b.iter(|| check(black_box(&history), &options()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
