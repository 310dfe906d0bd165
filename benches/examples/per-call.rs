//! What one call of the fan-out's hot paths costs with no other thread running:
//!
//! - `cargo run --release -p streamspec-benches --example per-call -- produce RECORDS ROUNDS
//!   [BATCH]`: the exclusive producer appends `RECORDS` 8-byte values per round, one (or
//!   `BATCH`) per call, trimming every segment (`SEGMENT_RECORDS`) to the high watermark, as
//!   the fan-out bench's producer trims to its consumers' positions.
//! - `... -- shared-produce RECORDS ROUNDS`: the same single-record appends through the
//!   protocol any number of producers share (`PartitionHandle::append_values`, the `produce`
//!   bench's call), not the exclusive producer.
//! - `... -- fetch RECORDS ROUNDS [BATCH]`: a partition reader fetches `RECORDS` values, one
//!   (or `BATCH`) per fetch, each round from the same start, and tallies them as the bench's
//!   consumers do. `RECORDS` up to 65536 (a few hundred KiB of held values) stay in cache.
//! - `... -- follow RECORDS ROUNDS`: the exclusive producer appends one record and a partition
//!   reader fetches it, `RECORDS` times a round: a consumer keeping up with its producer, whose
//!   every fetch starts at the high watermark it last saw. Less `produce`'s count, the
//!   instructions of such a fetch.
//!
//! Each round prints records per second. Timed, these figures drift with the machine, so
//! compare builds by instructions instead: under `valgrind --tool=cachegrind --cache-sim=no`
//! the instruction count ("I refs") of a run of 3 rounds less that of 1 round, divided by
//! 2 × `RECORDS`, is the instructions one record costs, setup excluded (`docs/PERFORMANCE.md`
//! quotes it per build).

use std::time::Instant;

use streamspec_benches::engine::with_orders_topic;
use streamspec_benches::workload::{encode_value, Tally};
use streamspec_engine::segment::SEGMENT_RECORDS;

/// Bytes per value: a word, so single values are held in their slots (held runs).
const VALUE_BYTES: usize = 8;
/// How to call this.
const USAGE: &str = "usage: per-call produce RECORDS ROUNDS [BATCH] | per-call shared-produce \
     RECORDS ROUNDS | per-call fetch RECORDS ROUNDS [BATCH] | per-call follow RECORDS ROUNDS";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize| match args.get(i).map(|a| a.parse::<u64>()) {
        Some(Ok(n)) if n > 0 => Some(n),
        _ => None,
    };
    let batch = if args.len() == 4 { number(3) } else { Some(1) };
    let run = match (
        args.first().map(String::as_str),
        number(1),
        number(2),
        batch,
    ) {
        (Some("produce"), Some(records), Some(rounds), Some(batch)) if args.len() <= 4 => {
            produce(records, rounds, batch);
            true
        }
        (Some("shared-produce"), Some(records), Some(rounds), Some(1)) if args.len() == 3 => {
            shared_produce(records, rounds);
            true
        }
        (Some("fetch"), Some(records), Some(rounds), Some(batch)) if args.len() <= 4 => {
            fetch(records, rounds, batch as usize);
            true
        }
        (Some("follow"), Some(records), Some(rounds), Some(1)) if args.len() == 3 => {
            follow(records, rounds);
            true
        }
        _ => false,
    };
    if !run {
        eprintln!("{USAGE}");
        std::process::exit(2);
    }
}

/// Records per second over `elapsed`.
fn rate(records: u64, elapsed: std::time::Duration) -> String {
    format!(
        "{:.1} M records/s",
        records as f64 / elapsed.as_secs_f64() / 1e6
    )
}

fn produce(records: u64, rounds: u64, batch: u64) {
    with_orders_topic(1, |handles| {
        let handle = &handles[0];
        for _ in 0..rounds {
            let mut producer = handle.exclusive_producer().expect("one producer");
            let started = Instant::now();
            let trim = || {
                handle
                    .delete_records(handle.high_watermark())
                    .expect("the high watermark is in the log");
            };
            if batch == 1 {
                // A count of 1 the compiler sees, as a single-record producer's call has.
                for sequence in 0..records {
                    producer
                        .append_values_with(1, VALUE_BYTES, |_, value| {
                            encode_value(sequence, value)
                        })
                        .expect("within the limits");
                    if sequence % SEGMENT_RECORDS == SEGMENT_RECORDS - 1 {
                        trim();
                    }
                }
            } else {
                let mut written = 0;
                while written < records {
                    let end = (written + batch).min(records);
                    producer
                        .append_values_with((end - written) as usize, VALUE_BYTES, |i, value| {
                            encode_value(written + i as u64, value)
                        })
                        .expect("within the limits");
                    if written / SEGMENT_RECORDS != end / SEGMENT_RECORDS {
                        trim();
                    }
                    written = end;
                }
            }
            println!(
                "produce, {batch} per call: {}",
                rate(records, started.elapsed())
            );
        }
    });
}

fn shared_produce(records: u64, rounds: u64) {
    with_orders_topic(1, |handles| {
        let handle = &handles[0];
        let mut value = [0; VALUE_BYTES];
        for _ in 0..rounds {
            let started = Instant::now();
            for sequence in 0..records {
                encode_value(sequence, &mut value);
                handle.append_values(&[&value]).expect("within the limits");
                if sequence % SEGMENT_RECORDS == SEGMENT_RECORDS - 1 {
                    handle
                        .delete_records(handle.high_watermark())
                        .expect("the high watermark is in the log");
                }
            }
            println!(
                "shared produce, 1 per call: {}",
                rate(records, started.elapsed())
            );
        }
    });
}

fn fetch(records: u64, rounds: u64, batch: usize) {
    with_orders_topic(1, |handles| {
        let handle = &handles[0];
        let from = handle.high_watermark();
        let mut producer = handle.exclusive_producer().expect("one producer");
        for sequence in 0..records {
            producer
                .append_values_with(1, VALUE_BYTES, |_, value| encode_value(sequence, value))
                .expect("within the limits");
        }
        drop(producer);
        let end = from + records as i64;
        let expected = Tally::expected(0, records, VALUE_BYTES);
        for _ in 0..rounds {
            let mut reader = handle.reader();
            let mut tally = Tally::default();
            let started = Instant::now();
            let mut position = from;
            while position < end {
                let summary = reader
                    .fetch_values_with(position, batch, |_, value| {
                        tally.add(value.expect("bench values are never null"))
                    })
                    .expect("reads stay within the log");
                position += summary.count as i64;
            }
            let elapsed = started.elapsed();
            assert_eq!(
                tally, expected,
                "the reader read every value once, in order"
            );
            println!("fetch, {batch} per call: {}", rate(records, elapsed));
        }
    });
}

fn follow(records: u64, rounds: u64) {
    with_orders_topic(1, |handles| {
        let handle = &handles[0];
        for _ in 0..rounds {
            let from = handle.high_watermark();
            let mut producer = handle.exclusive_producer().expect("one producer");
            let mut reader = handle.reader();
            let mut tally = Tally::default();
            let started = Instant::now();
            let mut position = from;
            for sequence in 0..records {
                producer
                    .append_values_with(1, VALUE_BYTES, |_, value| encode_value(sequence, value))
                    .expect("within the limits");
                let summary = reader
                    .fetch_values_with(position, 1, |_, value| {
                        tally.add(value.expect("bench values are never null"))
                    })
                    .expect("reads stay within the log");
                assert_eq!(summary.count, 1, "the record just appended is read");
                position += 1;
                if sequence % SEGMENT_RECORDS == SEGMENT_RECORDS - 1 {
                    handle
                        .delete_records(position)
                        .expect("the position is in the log");
                }
            }
            let elapsed = started.elapsed();
            assert_eq!(tally, Tally::expected(0, records, VALUE_BYTES));
            println!("follow, append one, fetch it: {}", rate(records, elapsed));
        }
    });
}
