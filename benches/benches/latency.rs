//! End-to-end latency: one producer appends a record, one consumer blocked waiting for it
//! wakes, reads it and acknowledges; only then is the next appended. Criterion's time per
//! element is one round trip (append, wake-up, read, acknowledgement seen by the producer).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use streamspec_benches::engine::EngineFastPath;
use streamspec_benches::measure;
use streamspec_benches::peers::{ArrayLog, ChannelFanOut, DisruptorRing, RwLockLog};
use streamspec_benches::workload::Latency;

/// Round trips per run.
const ROUND_TRIPS: u64 = 20_000;

fn latency(c: &mut Criterion) {
    let mut group = c.benchmark_group("latency/round_trip");
    group.throughput(Throughput::Elements(ROUND_TRIPS));
    let workload = Latency {
        round_trips: ROUND_TRIPS,
        value_bytes: 8,
    };
    measure::latency::<EngineFastPath>(&mut group, workload);
    measure::latency::<ArrayLog>(&mut group, workload);
    measure::latency::<DisruptorRing>(&mut group, workload);
    measure::latency::<ChannelFanOut>(&mut group, workload);
    measure::latency::<RwLockLog>(&mut group, workload);
    group.finish();
}

criterion_group! {
    name = benches;
    config = measure::criterion();
    targets = latency
}
criterion_main!(benches);
