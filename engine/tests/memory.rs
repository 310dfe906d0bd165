//! The engine's own memory per retained record, measured with a counting global allocator.
//!
//! Goal: at most 32 bytes per record beyond key, value and headers (the budget).
//! Method: count live heap bytes before and after appending N records to a partition that
//! already holds N; subtract the payload; divide by N. One test for all shapes, as the
//! allocator counts the whole process. `cargo test -p streamspec-engine --test memory --
//! --nocapture` prints the figures quoted in docs/PERFORMANCE.md.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use streamspec_engine::Engine;
use streamspec_model::{Header, Op, Record, TopicConfig};

struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is forwarded.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Pins with a flush that let the epoch collector free what was retired (each advances the
/// global epoch at most one step; garbage is freed two steps after its retirement).
const COLLECTOR_FLUSHES: usize = 8;

/// Run the epoch collector until what was retired so far is freed.
fn let_the_collector_catch_up() {
    for _ in 0..COLLECTOR_FLUSHES {
        streamspec_engine::sync::epoch::pin().flush();
    }
}

/// Records per produced batch: a divisor of the engine's 4096-record segments, so that each
/// half of a measurement (below) ends on a segment boundary; and small, so that the batch
/// descriptors in flight through the collector at a count (16 bytes per record of their
/// batch, up to a few hundred of them) weigh little against the records counted. (With
/// batches of 1024 they moved the keyed figure by ±8 bytes per record from run to run.)
const BATCH_RECORDS: usize = 64;

/// How a shape's records are appended.
#[derive(Clone, Copy, Debug)]
enum Appended {
    /// In batches of [`BATCH_RECORDS`] through the shared protocol (`produce_batch`).
    InBatches,
    /// One value at a time by the partition's exclusive producer (`append_values` of one
    /// value): a value of up to 8 bytes is then held in its slot, with no arena bytes.
    AloneByExclusiveProducer,
    /// In batches of [`BATCH_RECORDS`] by the partition's exclusive producer, written in
    /// place (`append_values_with`): values of up to 8 bytes are held in their slots too.
    InBatchesByExclusiveProducer,
}

/// The engine's overhead per record, in bytes: the growth of the live heap while `count`
/// records made by `make` are appended (as `appended` says) to a partition that
/// already holds `count` records, less their payload (key + value + headers), divided by
/// `count`. Measured on the second `count` records, so that what a partition or a thread
/// allocates once (directory, the first segment's sizing, spare descriptors, the collector's
/// thread state) is not read as a per-record cost; `count` is a whole number of segments.
fn overhead_bytes_per_record(
    count: usize,
    appended: Appended,
    make: impl Fn(usize) -> Record,
) -> f64 {
    assert_eq!(count % 4096, 0, "whole segments");
    let engine = Engine::new();
    engine
        .apply(&Op::CreateTopic {
            topic: "t".into(),
            partitions: 1,
            config: TopicConfig {
                max_message_bytes: streamspec_model::config::MAX_MESSAGE_BYTES_LIMIT,
                ..TopicConfig::default()
            },
        })
        .unwrap();
    let handle = engine.partition_handle("t", 0).unwrap();
    // The batches are built before counting starts and dropped after it ends.
    let batches: Vec<Vec<Record>> = (0..2 * count)
        .collect::<Vec<_>>()
        .chunks(BATCH_RECORDS)
        .map(|chunk| chunk.iter().map(|&i| make(i)).collect())
        .collect();
    let (first, second) = batches.split_at(count / BATCH_RECORDS);
    let payload_bytes: usize = second
        .iter()
        .flatten()
        .map(|r| r.size_bytes() as usize - 16)
        .sum();
    // Each append retires its predecessor's batch descriptor (its slot words: 16 bytes per
    // record while any thread might still be completing it), which the appending thread
    // hands to the epoch collector in groups and gets back some pins later: garbage in
    // flight, bounded per thread, not retained per record. So each half is appended by a
    // thread of its own, whose exit hands over what it holds, and the collector is let catch
    // up (it also frees what an earlier shape's engine retired) before each count.
    let append_on_own_thread = |batches: &[Vec<Record>]| {
        std::thread::scope(|scope| {
            scope.spawn(|| match appended {
                Appended::InBatches => {
                    for batch in batches {
                        handle.produce_batch(batch).unwrap();
                    }
                }
                Appended::InBatchesByExclusiveProducer => {
                    let mut producer = handle.exclusive_producer().unwrap();
                    for batch in batches {
                        let values: Vec<&[u8]> = batch
                            .iter()
                            .map(|r| r.value.as_ref().expect("values alone").as_slice())
                            .collect();
                        producer
                            .append_values_with(values.len(), values[0].len(), |i, out| {
                                out.copy_from_slice(values[i])
                            })
                            .unwrap();
                    }
                }
                Appended::AloneByExclusiveProducer => {
                    let mut producer = handle.exclusive_producer().unwrap();
                    for record in batches.iter().flatten() {
                        let value = record.value.as_ref().expect("values alone");
                        producer.append_values(&[value.as_slice()]).unwrap();
                    }
                }
            });
        });
        let_the_collector_catch_up();
    };
    append_on_own_thread(first);
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    append_on_own_thread(second);
    let after = LIVE_BYTES.load(Ordering::Relaxed);
    assert_eq!(handle.high_watermark(), 2 * count as i64);
    drop(batches);
    let engine_bytes = (after - before) as f64;
    (engine_bytes - payload_bytes as f64) / count as f64
}

/// Goal: each record shape costs the engine at most 32 bytes per record beyond its payload.
/// Method: one shape after another in one test (the allocator counts the whole process, so
/// no other test may run in this binary): 8-byte values (the fan-out benchmark's records) in
/// batches, and in batches and alone by an exclusive producer (held in their slots), keyed 100-byte
/// records with a header (its framing included), and 6000-byte values (stored out of line).
#[test]
fn engine_overhead_per_record_stays_within_32_bytes() {
    let shapes: [(&str, usize, Appended, MakeRecord); 5] = [
        (
            "8-byte values",
            segments(256),
            Appended::InBatches,
            Box::new(|i| Record::value((i as u64).to_le_bytes().to_vec())),
        ),
        (
            "8-byte values in batches by an exclusive producer (held in their slots)",
            segments(64),
            Appended::InBatchesByExclusiveProducer,
            Box::new(|i| Record::value((i as u64).to_le_bytes().to_vec())),
        ),
        (
            "8-byte values appended alone (held in their slots)",
            segments(64),
            Appended::AloneByExclusiveProducer,
            Box::new(|i| Record::value((i as u64).to_le_bytes().to_vec())),
        ),
        (
            "keyed 100-byte records with a header",
            segments(64),
            Appended::InBatches,
            Box::new(|i| Record {
                key: Some(format!("key-{i:08}").as_str().into()),
                value: Some(vec![b'v'; 88].into()),
                headers: vec![Header {
                    key: "trace".into(),
                    value: Some("abc".into()),
                }],
                timestamp_ms: Some(i as i64),
            }),
        ),
        (
            "6000-byte values (out of line)",
            segments(5),
            Appended::InBatches,
            Box::new(|i| Record::value(vec![(i % 251) as u8; 6000])),
        ),
    ];
    for (name, count, appended, make) in shapes {
        let overhead = overhead_bytes_per_record(count, appended, make);
        println!("engine overhead, {name}: {overhead:.2} bytes/record over {count} records");
        assert!(overhead <= 32.0, "{name}: {overhead} bytes/record");
    }
}

/// Builds the `i`-th record of a shape.
type MakeRecord = Box<dyn Fn(usize) -> Record>;

/// Records in `n` of the engine's 4096-record segments (one, under miri).
fn segments(n: usize) -> usize {
    4096 * if cfg!(miri) { 1 } else { n }
}
