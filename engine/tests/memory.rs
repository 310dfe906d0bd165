//! The engine's own memory per retained record, measured with a counting global allocator.
//!
//! Goal: at most 32 bytes per record beyond key, value and headers (the budget).
//! Method: count live heap bytes before and after appending N records to one partition;
//! subtract the payload; divide by N. One test for all shapes, as the allocator counts the
//! whole process. `cargo test -p streamspec-engine --test memory --
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

/// The engine's overhead per record, in bytes, after appending `count` records made by
/// `make` in batches of 1000 (their payload, key + value + headers, is subtracted).
fn overhead_bytes_per_record(count: usize, make: impl Fn(usize) -> Record) -> f64 {
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
    let batches: Vec<Vec<Record>> = (0..count)
        .collect::<Vec<_>>()
        .chunks(1000)
        .map(|chunk| chunk.iter().map(|&i| make(i)).collect())
        .collect();
    let payload_bytes: usize = batches
        .iter()
        .flatten()
        .map(|r| r.size_bytes() as usize - 16)
        .sum();
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    for batch in &batches {
        handle.produce_batch(batch).unwrap();
    }
    // Each append retires its predecessor's batch descriptor (its slot words: 16 bytes per
    // record while any thread might still be completing it) through the epoch collector,
    // which frees them in bags, some pins later: garbage in flight, bounded, not retained per
    // record. Let the collector catch up before counting.
    for _ in 0..COLLECTOR_FLUSHES {
        streamspec_engine::sync::epoch::pin().flush();
    }
    let after = LIVE_BYTES.load(Ordering::Relaxed);
    assert_eq!(handle.high_watermark(), count as i64);
    drop(batches);
    let engine_bytes = (after - before) as f64;
    (engine_bytes - payload_bytes as f64) / count as f64
}

/// Goal: each record shape costs the engine at most 32 bytes per record beyond its payload.
/// Method: one shape after another in one test (the allocator counts the whole process, so
/// no other test may run in this binary): 8-byte values (the fan-out benchmark's records),
/// keyed 100-byte records with a header (its framing included), and 6000-byte values (stored
/// out of line).
#[test]
fn engine_overhead_per_record_stays_within_32_bytes() {
    let shapes: [(&str, usize, MakeRecord); 3] = [
        (
            "8-byte values",
            RECORDS_COUNT,
            Box::new(|i| Record::value((i as u64).to_le_bytes().to_vec())),
        ),
        (
            "keyed 100-byte records with a header",
            RECORDS_COUNT / 4,
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
            RECORDS_COUNT / 50,
            Box::new(|i| Record::value(vec![(i % 251) as u8; 6000])),
        ),
    ];
    for (name, count, make) in shapes {
        let overhead = overhead_bytes_per_record(count, make);
        println!("engine overhead, {name}: {overhead:.2} bytes/record over {count} records");
        assert!(overhead <= 32.0, "{name}: {overhead} bytes/record");
    }
}

/// Builds the `i`-th record of a shape.
type MakeRecord = Box<dyn Fn(usize) -> Record>;

/// Records measured for the small shapes (miri runs far fewer).
const RECORDS_COUNT: usize = if cfg!(miri) { 5_000 } else { 1_000_000 };
