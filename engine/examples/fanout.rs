//! A quick fan-out measure of the typed fast path: one producer appends 8-byte values in
//! batches, one consumer reads them in batches (zero-copy) and checks each value, the consumer
//! trimming the log behind itself so memory stays bounded. Prints records/s.
//!
//! `cargo run --release -p streamspec-engine --example fanout [records] [batch]`
//! The benchmarks issue measures properly; this is a smoke figure for design decisions.

use std::time::Instant;

use streamspec_engine::Engine;
use streamspec_model::{Op, TopicConfig};

fn main() {
    let mut args = std::env::args().skip(1);
    let records: u64 = args
        .next()
        .map_or(50_000_000, |a| a.parse().expect("records"));
    let batch: usize = args.next().map_or(4096, |a| a.parse().expect("batch"));
    let engine = Engine::new();
    engine
        .apply(&Op::CreateTopic {
            topic: "fanout".into(),
            partitions: 1,
            config: TopicConfig::default(),
        })
        .expect("create");
    let handle = engine.partition_handle("fanout", 0).expect("handle");
    let started = Instant::now();
    std::thread::scope(|scope| {
        let producer = handle.clone();
        scope.spawn(move || {
            let values: Vec<[u8; 8]> = (0..batch as u64).map(u64::to_le_bytes).collect();
            let refs: Vec<&[u8]> = values.iter().map(|v| &v[..]).collect();
            let mut sent = 0u64;
            while sent < records {
                let n = (batch as u64).min(records - sent) as usize;
                producer.append_values(&refs[..n]).expect("append");
                sent += n as u64;
            }
        });
        let mut next = 0i64;
        let mut checksum = 0u64;
        while (next as u64) < records {
            let summary = handle
                .fetch_values_with(next, batch, |offset, value| {
                    let value =
                        u64::from_le_bytes(value.expect("value").try_into().expect("8 bytes"));
                    debug_assert_eq!(value, offset as u64 % batch as u64);
                    checksum = checksum.wrapping_add(value);
                })
                .expect("fetch");
            if summary.count == 0 {
                handle.wait_for(next, std::time::Duration::from_millis(10));
                continue;
            }
            next += summary.count as i64;
            if next % (1 << 14) < batch as i64 {
                handle.delete_records(next).expect("trim");
            }
        }
        std::hint::black_box(checksum);
    });
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{records} records, batch {batch}: {:.1} M records/s",
        records as f64 / elapsed / 1e6
    );
}
