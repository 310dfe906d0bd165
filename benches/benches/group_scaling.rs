//! Group scaling: one group whose N = 1, 2, 4, 8 members share 8 prefilled partitions (range
//! assignment); timed: the members draining them. Throughput counts records consumed.
//! N = 4 and 8 are oversubscribed on a 2-core machine (N threads > 2 cores).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use streamspec_benches::engine::EngineFastPath;
use streamspec_benches::measure;
use streamspec_benches::peers::{ArrayLog, ChannelFanOut, RwLockLog};
use streamspec_benches::workload::GroupScaling;

/// Member counts swept.
const MEMBERS: [usize; 4] = [1, 2, 4, 8];
/// Records per partition: 8 x 500k = 4M 8-byte records per run.
const RECORDS_PER_PARTITION: u64 = 500_000;

fn group_scaling(c: &mut Criterion) {
    let mut group = c.benchmark_group("group_scaling/8B/batched");
    for members in MEMBERS {
        let workload = GroupScaling {
            records_per_partition: RECORDS_PER_PARTITION,
            members,
            value_bytes: 8,
            batch_records: 1_000,
        };
        group.throughput(Throughput::Elements(workload.records_total()));
        measure::group_scaling::<EngineFastPath>(&mut group, workload);
        measure::group_scaling::<ArrayLog>(&mut group, workload);
        measure::group_scaling::<ChannelFanOut>(&mut group, workload);
        measure::group_scaling::<RwLockLog>(&mut group, workload);
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = measure::criterion();
    targets = group_scaling
}
criterion_main!(benches);
