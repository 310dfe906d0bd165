//! Fan-out: 1 producer, N = 1, 2, 4, 8 independent consumers each reading every record of a
//! one-partition topic; 8-byte and 1 KiB values; single-record and batched produce and read.
//! Throughput counts records produced (each delivered N times). The disruptor runs twice: read
//! by its batch handlers and by its pollers (`peers/disruptor_ring.rs` says why). N = 2 and up runs N + 1
//! threads: on a 2-core machine that is oversubscribed.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use streamspec_benches::engine::EngineFastPath;
use streamspec_benches::measure;
use streamspec_benches::peers::{
    ArrayLog, ChannelFanOut, DisruptorPoller, DisruptorRing, RwLockLog,
};
use streamspec_benches::workload::FanOut;

/// Consumer counts swept.
const CONSUMERS: [usize; 4] = [1, 2, 4, 8];
/// Records per produce call and per read in batched mode.
const BATCH_RECORDS: usize = 1_000;

/// (value bytes, records per batch, records per run): runs of roughly 5-100 ms for the
/// fast systems, so thread start-up is noise and the slow ones still get 10 samples.
const CASES: [(usize, usize, u64); 4] = [
    (8, BATCH_RECORDS, 2_000_000),
    (8, 1, 1_000_000),
    (1024, BATCH_RECORDS, 200_000),
    (1024, 1, 100_000),
];

fn fan_out(c: &mut Criterion) {
    for (value_bytes, batch_records, records) in CASES {
        let mode = if batch_records == 1 {
            "single"
        } else {
            "batched"
        };
        let mut group = c.benchmark_group(format!("fan_out/{value_bytes}B/{mode}"));
        group.throughput(Throughput::Elements(records));
        for consumers in CONSUMERS {
            let workload = FanOut {
                records,
                consumers,
                value_bytes,
                batch_records,
            };
            measure::fan_out::<EngineFastPath>(&mut group, workload);
            measure::fan_out::<ArrayLog>(&mut group, workload);
            measure::fan_out::<DisruptorRing>(&mut group, workload);
            measure::fan_out::<DisruptorPoller>(&mut group, workload);
            measure::fan_out::<ChannelFanOut>(&mut group, workload);
            measure::fan_out::<RwLockLog>(&mut group, workload);
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = measure::criterion();
    targets = fan_out
}
criterion_main!(benches);
