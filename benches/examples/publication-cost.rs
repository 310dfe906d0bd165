//! What publishing one record costs, by the instruction that publishes it: the floor under
//! the single-record fan-out workload for any design.
//!
//! `cargo run --release -p streamspec-benches --example publication-cost [ROUNDS]`
//!
//! The `fan_out` bench's single-record workload (8-byte values, one producer, one consumer
//! reading one record per look at the cursor) on the bare array log (`peers/array_log.rs`: a
//! preallocated array, nothing else), publishing each record three ways:
//! - `store`: a `Release` store of the cursor, as the array log and a single-producer ring
//!   (the disruptor) publish. Only one thread may ever publish, and a reader that blocks
//!   cannot be woken without a lost wake-up, so readers must poll.
//! - `store+fence`: the same, then a `SeqCst` fence and a load of a waiter count: the least a
//!   producer does so that a reader blocked on the cursor is never left asleep (the engine's
//!   `notify.rs`, a Dekker pair).
//! - `cas`: a `compare_exchange` of the cursor: the least a log does whose appends any
//!   thread may make or finish (the engine's high watermark, `descriptor.rs`).
//!
//! and, publishing with a plain store, with a record laid out as the engine lays one or laid
//! one (its lines are what the producer's stores and the reader's loads move between the two
//! cores):
//! - `store, +location`: the producer also stores a location word per record (in an array
//!   of its own), and the reader finds the value through it, as the engine's slots name a
//!   record's place in the arena (`segment.rs`);
//! - `store, +location+timestamp`: and a timestamp word per record in a third array, which
//!   the reader does not read, as every Kafka record has one.
//! - `store, held in slot`: the value and a location word carrying the timestamp side by side
//!   in one 16-byte cell, as the engine's slots held a value of up to a word appended alone
//!   until its held runs: the reader loads the location word, then the value beside it;
//! - `store, held in slot, recycled`: the same in a ring of [`RECYCLED_RECORDS`] cells, which
//!   the producer enters again once the reader has left them (it publishes its position every
//!   [`CONSUMED_EVERY_RECORDS`]), as the engine's segments come back from its pool and the
//!   disruptor's ring slots come round; `, 2 MiB` in a ring of [`RECYCLED_LARGE_RECORDS`]
//!   cells, larger than a core's L2. The other variants write fresh memory: lines no other
//!   core has read.
//! - `store, held run`: a value word per record alone, in a ring of [`RECYCLED_RECORDS`]
//!   words, as a member of the engine's held run stores and its reader loads it (the run's
//!   length and timestamp are kept once, `segment.rs`, `HeldRun`): 8 records a line;
//! - `store, held run + location words`: and a location word per record in a ring of its
//!   own, which the producer stores and the reader never loads (the held run as first built,
//!   each member with its own location word).
//!
//! Every variant's reader loads the cursor before each record, except those marked `, reader
//! as the engine's`: they load it only once they have read all they last saw there, as the
//! engine's `PartitionReader` loads the high watermark (`Log::read_chunks_seen`). Beside
//! each array variant's rate it prints how far behind the cursor its reader was, on average,
//! when it loaded it: a held cell is cheap only when its reader runs far behind, a reader as
//! the engine's keeps close, and close behind, what the two trade is lines: a record of 8
//! bytes goes twice as fast as one of 16 (see `docs/performance-history.md`, the earlier host's single-record fan-out).
//!
//! The engine's and the disruptor's single-record fan-out run in the same rounds, in turn
//! with the array variants, and every run is verified as the benches verify. Prints each
//! one's median over the rounds and its ratio to the disruptor's median. Threads are pinned
//! as the benches pin them, and threads 0 and 1 are probed before and after
//! (`core_distance`).

use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};

use crossbeam_utils::CachePadded;
use streamspec_benches::core_distance;
use streamspec_benches::engine::EngineFastPath;
use streamspec_benches::peers::{wait_briefly, DisruptorRing};
use streamspec_benches::workload::{encode_value, sequence_of, FanOut, Run, System, Tally};

/// Records per run, as the `fan_out` bench's single-record 8-byte runs.
const RECORDS: u64 = 2_000_000;
const VALUE_BYTES: usize = 8;
/// The timestamp the `+timestamp` layout stores with every record.
const TIMESTAMP_MS: u64 = 1_700_000_000_000;
/// Cells of the `recycled` variant's ring: two segments' worth, about what the engine's
/// single-record fan-out keeps in circulation (trimmed every 4096 records).
const RECYCLED_RECORDS: u64 = 8_192;
/// Cells of the `2 MiB` variants' ring (16 bytes each): past a core's L2 (1 MiB here).
const RECYCLED_LARGE_RECORDS: u64 = 131_072;
/// How often the reader of the `recycled` variant publishes its position.
const CONSUMED_EVERY_RECORDS: u64 = 256;
/// The array-log variants run: a name, how each record is published, how it is laid out,
/// how the reader learns of new records.
const VARIANTS: [(&str, Publication, Layout, Reading); 12] = [
    (
        "store",
        Publication::Store,
        Layout::Value,
        Reading::EveryRecord,
    ),
    (
        "store+fence",
        Publication::StoreFence,
        Layout::Value,
        Reading::EveryRecord,
    ),
    ("cas", Publication::Cas, Layout::Value, Reading::EveryRecord),
    (
        "store, +location",
        Publication::Store,
        Layout::ValueLocation,
        Reading::EveryRecord,
    ),
    (
        "store, +location+timestamp",
        Publication::Store,
        Layout::ValueLocationTimestamp,
        Reading::EveryRecord,
    ),
    (
        "store, held in slot",
        Publication::Store,
        Layout::HeldInSlot,
        Reading::EveryRecord,
    ),
    (
        "store, held in slot, recycled",
        Publication::Store,
        Layout::HeldInSlotRecycled(RECYCLED_RECORDS),
        Reading::EveryRecord,
    ),
    (
        "store, held in slot, recycled, 2 MiB",
        Publication::Store,
        Layout::HeldInSlotRecycled(RECYCLED_LARGE_RECORDS),
        Reading::EveryRecord,
    ),
    (
        "store, held in slot, recycled, reader as the engine's",
        Publication::Store,
        Layout::HeldInSlotRecycled(RECYCLED_RECORDS),
        Reading::WhenCaughtUp,
    ),
    (
        "store, held in slot, recycled, 2 MiB, reader as the engine's",
        Publication::Store,
        Layout::HeldInSlotRecycled(RECYCLED_LARGE_RECORDS),
        Reading::WhenCaughtUp,
    ),
    (
        "store, held run + location words, recycled, reader as the engine's",
        Publication::Store,
        Layout::HeldRunWithLocations(RECYCLED_RECORDS),
        Reading::WhenCaughtUp,
    ),
    (
        "store, held run, recycled, reader as the engine's",
        Publication::Store,
        Layout::HeldRun(RECYCLED_RECORDS),
        Reading::WhenCaughtUp,
    ),
];

/// How the producer publishes each record.
#[derive(Clone, Copy, Debug)]
enum Publication {
    Store,
    StoreFence,
    Cas,
}

/// Which words a record is: its value, or the value and the engine's slot words.
#[derive(Clone, Copy, Debug)]
enum Layout {
    Value,
    ValueLocation,
    ValueLocationTimestamp,
    HeldInSlot,
    /// Held in slot, in a ring of this many cells.
    HeldInSlotRecycled(u64),
    /// The value word alone, in a ring of this many words.
    HeldRun(u64),
    /// The value word, in a ring of this many words, and a location word in another.
    HeldRunWithLocations(u64),
}

impl Layout {
    /// Records the layout's ring takes before its words come round again (the fresh held
    /// cells count as a ring the size of the run).
    fn ring_records(self, records: u64) -> Option<u64> {
        match self {
            Layout::HeldInSlot => Some(records),
            Layout::HeldInSlotRecycled(cells)
            | Layout::HeldRun(cells)
            | Layout::HeldRunWithLocations(cells) => Some(cells),
            Layout::Value | Layout::ValueLocation | Layout::ValueLocationTimestamp => None,
        }
    }
}

/// When the reader loads the cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reading {
    /// Before each record.
    EveryRecord,
    /// Only once it has read all it last saw there (the engine's reader).
    WhenCaughtUp,
}

/// One value word per record (8-byte values), a location and a timestamp word per record
/// (used by the layouts that have them), two words per record side by side (`held in slot`:
/// the value, then the location with the timestamp) or one (`held run`), and the cursor.
struct ArrayLog {
    values: Box<[AtomicU64]>,
    /// The held layouts' words: two a record for a held cell, one for a held run.
    held: Box<[AtomicU64]>,
    /// Where the reader of the `recycled` variant has read up to, as it last published.
    consumed: CachePadded<AtomicU64>,
    /// How far behind the cursor the reader was, on average, each time it loaded it (in
    /// records; set when the reader ends): whether it trails its producer or follows it
    /// within a line or two.
    lag_at_load_records: AtomicU64,
    locations: Box<[AtomicU64]>,
    timestamps: Box<[AtomicU64]>,
    published: CachePadded<AtomicU64>,
    /// Always 0: what `store+fence` loads after its fence, as a producer checks for waiters.
    waiters_count: CachePadded<AtomicU32>,
}

impl ArrayLog {
    fn publish(&self, publication: Publication, records: u64) {
        match publication {
            Publication::Store => self.published.store(records, Ordering::Release),
            Publication::StoreFence => {
                self.published.store(records, Ordering::Release);
                fence(Ordering::SeqCst);
                assert_eq!(self.waiters_count.load(Ordering::Relaxed), 0);
            }
            Publication::Cas => {
                let swapped = self.published.compare_exchange(
                    records - 1,
                    records,
                    Ordering::Release,
                    Ordering::Relaxed,
                );
                assert!(
                    swapped.is_ok(),
                    "one producer: the cursor is where it left it"
                );
            }
        }
    }
}

/// `records` words, touched now (untimed), as the array log peer's.
fn words(records: u64) -> Box<[AtomicU64]> {
    (0..records).map(|_| AtomicU64::new(u64::MAX)).collect()
}

/// The single-record fan-out on the array log, records laid out as `layout` says, each
/// published with `publication`, the reader loading the cursor as `reading` says; and that
/// reader's mean lag behind the cursor at its loads of it, in records.
fn array_log_run(
    publication: Publication,
    layout: Layout,
    reading: Reading,
    workload: &FanOut,
) -> (Run, u64) {
    let log = ArrayLog {
        values: words(workload.records),
        held: match layout {
            Layout::HeldInSlot => words(2 * workload.records),
            Layout::HeldInSlotRecycled(cells) => words(2 * cells),
            Layout::HeldRun(cells) | Layout::HeldRunWithLocations(cells) => words(cells),
            _ => words(0),
        },
        consumed: CachePadded::new(AtomicU64::new(0)),
        lag_at_load_records: AtomicU64::new(0),
        locations: match layout {
            Layout::HeldRunWithLocations(cells) => words(cells),
            _ => words(workload.records),
        },
        timestamps: words(workload.records),
        published: CachePadded::new(AtomicU64::new(0)),
        waiters_count: CachePadded::new(AtomicU32::new(0)),
    };
    // The position the producer last saw the reader at (`recycled`: it enters a cell again
    // only once the reader has left it).
    let mut consumed = 0;
    let ring_records = layout.ring_records(workload.records);
    let run = workload.time_consumers(
        |_| {
            let mut tally = Tally::default();
            let mut position = 0;
            // The cursor as the reader last loaded it.
            let mut seen = 0;
            let (mut lag_total, mut loads) = (0u64, 0u64);
            while position < workload.records {
                if reading == Reading::EveryRecord || position == seen {
                    seen = log.published.load(Ordering::Acquire);
                    lag_total += seen - position;
                    loads += 1;
                    if seen == position {
                        wait_briefly();
                        continue;
                    }
                }
                let value = match layout {
                    Layout::Value => log.values[position as usize].load(Ordering::Relaxed),
                    Layout::ValueLocation | Layout::ValueLocationTimestamp => {
                        let at = log.locations[position as usize].load(Ordering::Relaxed);
                        log.values[at as usize].load(Ordering::Relaxed)
                    }
                    Layout::HeldRun(cells) | Layout::HeldRunWithLocations(cells) => {
                        log.held[(position % cells) as usize].load(Ordering::Relaxed)
                    }
                    Layout::HeldInSlot | Layout::HeldInSlotRecycled(_) => {
                        let cells = ring_records.expect("a held cell's layout has a ring");
                        let cell = 2 * (position % cells) as usize;
                        let location = log.held[cell + 1].load(Ordering::Relaxed);
                        assert_eq!(location, TIMESTAMP_MS, "a held value's location word");
                        log.held[cell].load(Ordering::Relaxed)
                    }
                };
                tally.add(&value.to_ne_bytes());
                position += 1;
                if position % CONSUMED_EVERY_RECORDS == 0 {
                    log.consumed.store(position, Ordering::Release);
                }
            }
            log.lag_at_load_records
                .store(lag_total / loads.max(1), Ordering::Relaxed);
            tally
        },
        |batch| {
            for sequence in batch {
                let mut value = [0u8; VALUE_BYTES];
                encode_value(sequence, &mut value);
                debug_assert_eq!(sequence_of(&value), sequence);
                let at = sequence as usize;
                let value = u64::from_ne_bytes(value);
                // A ring's word is entered again only once the reader has left it.
                if let Some(cells) = ring_records {
                    while sequence + CONSUMED_EVERY_RECORDS >= consumed + cells {
                        consumed = log.consumed.load(Ordering::Acquire);
                        if sequence + CONSUMED_EVERY_RECORDS >= consumed + cells {
                            wait_briefly();
                        }
                    }
                }
                match layout {
                    Layout::Value => log.values[at].store(value, Ordering::Relaxed),
                    Layout::HeldRun(cells) => {
                        log.held[(sequence % cells) as usize].store(value, Ordering::Relaxed);
                    }
                    Layout::HeldRunWithLocations(cells) => {
                        let at = (sequence % cells) as usize;
                        log.held[at].store(value, Ordering::Relaxed);
                        log.locations[at].store(TIMESTAMP_MS, Ordering::Relaxed);
                    }
                    Layout::HeldInSlot | Layout::HeldInSlotRecycled(_) => {
                        let cells = ring_records.expect("a held cell's layout has a ring");
                        let at = (sequence % cells) as usize;
                        log.held[2 * at].store(value, Ordering::Relaxed);
                        // The engine's word also carries the length: one constant either way.
                        log.held[2 * at + 1].store(TIMESTAMP_MS, Ordering::Relaxed);
                    }
                    Layout::ValueLocation => {
                        log.values[at].store(value, Ordering::Relaxed);
                        log.locations[at].store(sequence, Ordering::Relaxed);
                    }
                    Layout::ValueLocationTimestamp => {
                        log.values[at].store(value, Ordering::Relaxed);
                        log.locations[at].store(sequence, Ordering::Relaxed);
                        log.timestamps[at].store(TIMESTAMP_MS, Ordering::Relaxed);
                    }
                }
                log.publish(publication, sequence + 1);
            }
        },
    );
    (run, log.lag_at_load_records.load(Ordering::Relaxed))
}

/// Records per second of a verified run.
fn rate(name: &str, workload: &FanOut, run: Run) -> f64 {
    if let Err(wrong) = run.verify(1, |_| workload.expected()) {
        panic!("{name} delivered wrongly: {wrong}");
    }
    workload.records as f64 / run.elapsed.as_secs_f64()
}

fn median(mut rates: Vec<f64>) -> f64 {
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

fn main() {
    let rounds: usize = match std::env::args().nth(1).map(|a| a.parse()) {
        None => 15,
        Some(Ok(rounds)) if rounds > 0 => rounds,
        Some(_) => {
            eprintln!("usage: publication-cost [ROUNDS]");
            std::process::exit(2);
        }
    };
    let workload = FanOut {
        records: RECORDS,
        consumers: 1,
        value_bytes: VALUE_BYTES,
        batch_records: 1,
    };
    let probe = || core_distance::round_trip_ns().map_or("-".into(), |ns| format!("{ns:.0} ns"));
    println!("threads 0 and 1 before: {}", probe());
    let names: Vec<&str> = ["disruptor", "engine"]
        .into_iter()
        .chain(VARIANTS.map(|(name, _, _, _)| name))
        .collect();
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    // The array variants' readers' mean lag at a cursor load, per round.
    let mut lags: Vec<Vec<f64>> = vec![Vec::new(); VARIANTS.len()];
    for _ in 0..rounds {
        let disruptor = DisruptorRing::fan_out(&workload).expect("the disruptor runs fan-out");
        rates[0].push(rate(names[0], &workload, disruptor));
        let engine = EngineFastPath::fan_out(&workload).expect("the engine runs fan-out");
        rates[1].push(rate(names[1], &workload, engine));
        for (i, (name, publication, layout, reading)) in VARIANTS.into_iter().enumerate() {
            let (run, lag_records) = array_log_run(publication, layout, reading, &workload);
            rates[2 + i].push(rate(name, &workload, run));
            lags[i].push(lag_records as f64);
        }
    }
    println!("threads 0 and 1 after: {}", probe());
    let medians: Vec<f64> = rates.into_iter().map(median).collect();
    let lags: Vec<f64> = lags.into_iter().map(median).collect();
    println!("single-record fan-out, 8-byte values, 1 consumer, median of {rounds} rounds:");
    let width = names.iter().map(|name| name.len()).max().unwrap_or(0);
    for (i, (name, median)) in names.iter().zip(&medians).enumerate() {
        // The reader's lag: how far behind the cursor it was when it loaded it.
        let lag = i.checked_sub(2).map_or(String::new(), |variant| {
            format!("  reader {:>6.0} behind", lags[variant])
        });
        println!(
            "{name:>width$}: {:7.1} M records/s  {:5.2}x the disruptor{lag}",
            median / 1e6,
            median / medians[0]
        );
    }
}
