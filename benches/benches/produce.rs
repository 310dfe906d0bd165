//! Produce: P = 1, 2, 4 producers appending single 8-byte records, all to one partition or
//! each to its own. Throughput counts records appended. P = 4 is oversubscribed on a 2-core
//! machine. The engine runs twice: as a broker would, a producer with a partition to itself
//! as that partition's exclusive producer (`engine`), and every producer through the
//! protocol producers share (`engine_shared`).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use streamspec_benches::engine::{EngineFastPath, EngineSharedProduce};
use streamspec_benches::measure;
use streamspec_benches::peers::{ArrayLog, ChannelFanOut, RwLockLog};
use streamspec_benches::workload::{Produce, ProduceTarget};

/// Producer counts swept.
const PRODUCERS: [usize; 3] = [1, 2, 4];
/// Records appended per run, split over the producers.
const RECORDS_TOTAL: u64 = 1_000_000;

fn produce(c: &mut Criterion) {
    for (target, name) in [
        (ProduceTarget::OnePartition, "one_partition"),
        (
            ProduceTarget::PartitionPerProducer,
            "partition_per_producer",
        ),
    ] {
        let mut group = c.benchmark_group(format!("produce/8B/{name}"));
        group.throughput(Throughput::Elements(RECORDS_TOTAL));
        for producers in PRODUCERS {
            let workload = Produce {
                records_per_producer: RECORDS_TOTAL / producers as u64,
                producers,
                target,
                value_bytes: 8,
            };
            measure::produce::<EngineFastPath>(&mut group, workload);
            measure::produce::<EngineSharedProduce>(&mut group, workload);
            measure::produce::<ArrayLog>(&mut group, workload);
            measure::produce::<ChannelFanOut>(&mut group, workload);
            measure::produce::<RwLockLog>(&mut group, workload);
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = measure::criterion();
    targets = produce
}
criterion_main!(benches);
