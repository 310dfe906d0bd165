//! The workloads every system runs, and what a run must deliver to count.
//!
//! A workload is a plain description ([`FanOut`], [`GroupScaling`], [`Produce`],
//! [`Latency`]); each system (the engine and every peer) implements [`System`] and runs it the
//! same way: set up untimed (threads spawned, logs prefilled where the workload says so), time
//! only the transfer, and hand back a [`Run`] with the elapsed time and one [`Tally`] per
//! consumer. A bench times nothing until [`Run::verify`] has accepted a run of that system:
//! every consumer must have read exactly the records the workload says, checked by count and
//! checksum.
//!
//! Record `i` of a partition (0-based, per producer stream) has a value of `value_bytes`
//! bytes: its first 8 bytes are `i` little-endian, and every other byte is `i as u8`
//! ([`encode_value`]). A consumer folds each value into its tally with [`Tally::add`], which
//! reads the first 8 bytes and the last byte, so a record read twice, skipped, torn or
//! reordered across a batch boundary changes the checksum.

use std::time::Duration;

use crate::placement;

/// The smallest value a workload may use: the 8-byte sequence number.
pub const VALUE_BYTES_MIN: usize = 8;

/// The value of record `sequence`, written into `out` (whose length is the value size).
#[inline]
pub fn encode_value(sequence: u64, out: &mut [u8]) {
    debug_assert!(
        out.len() >= VALUE_BYTES_MIN,
        "values carry an 8-byte sequence"
    );
    out[..8].copy_from_slice(&sequence.to_le_bytes());
    // Only the first 8 bytes and the last byte are checked; filling the rest still costs the
    // producer the full copy, as a real payload would.
    // (The check keeps 8-byte values from paying a zero-length `memset` call per record.)
    if out.len() > 8 {
        out[8..].fill(sequence as u8);
    }
}

/// The value of record `sequence` as a fresh vector of `value_bytes` bytes.
pub fn value(sequence: u64, value_bytes: usize) -> Vec<u8> {
    let mut out = vec![0; value_bytes];
    encode_value(sequence, &mut out);
    out
}

/// The sequence number a value carries.
#[inline]
pub fn sequence_of(value: &[u8]) -> u64 {
    let mut head = [0u8; 8];
    head.copy_from_slice(&value[..8]);
    u64::from_le_bytes(head)
}

/// What one consumer read: how many records, and a checksum of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Records read.
    pub count: u64,
    /// Wrapping sum over the records read of `sequence * 31 + last byte + position term`,
    /// see [`Tally::add`].
    pub checksum: u64,
}

impl Tally {
    /// Fold one record's value in.
    #[inline]
    pub fn add(&mut self, value: &[u8]) {
        self.add_parts(sequence_of(value), value[value.len() - 1]);
    }

    /// Fold one record in from its sequence number and last byte (for systems that hold the
    /// value as a `u64`). The read position (`count`) enters the sum, so reading the right
    /// records in the wrong order is caught too.
    #[inline]
    pub fn add_parts(&mut self, sequence: u64, last_byte: u8) {
        let term = sequence
            .wrapping_mul(31)
            .wrapping_add(u64::from(last_byte))
            .wrapping_add(sequence ^ self.count);
        self.checksum = self.checksum.wrapping_add(term);
        self.count += 1;
    }

    /// The tally of reading records `first..first + count` of one stream in order, with
    /// `value_bytes`-byte values.
    pub fn expected(first: u64, count: u64, value_bytes: usize) -> Tally {
        let mut tally = Tally::default();
        for sequence in first..first + count {
            // For 8-byte values the last byte is the top byte of the sequence number.
            let last_byte = if value_bytes == VALUE_BYTES_MIN {
                (sequence >> 56) as u8
            } else {
                sequence as u8
            };
            tally.add_parts(sequence, last_byte);
        }
        tally
    }

    /// Two tallies of disjoint reads, combined (for a member that read several partitions,
    /// each checked on its own, the counts add and the checksums add).
    pub fn merge(self, other: Tally) -> Tally {
        Tally {
            count: self.count + other.count,
            checksum: self.checksum.wrapping_add(other.checksum),
        }
    }
}

/// One producer, `consumers` independent readers (each its own group), each reading every
/// record of a one-partition topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FanOut {
    /// Records produced (and read by every consumer).
    pub records: u64,
    /// Independent consumers.
    pub consumers: usize,
    /// Bytes per value, at least [`VALUE_BYTES_MIN`].
    pub value_bytes: usize,
    /// Records per produce call and most records per read; 1 is single-record mode.
    pub batch_records: usize,
}

impl FanOut {
    /// What each consumer must have read.
    pub fn expected(&self) -> Tally {
        Tally::expected(0, self.records, self.value_bytes)
    }

    /// The timed part every subject shares: `consumers` threads, consumer `c` running
    /// `consume(c)` (which reads every record and tallies it), released together with the
    /// producer thread, which calls `produce(first..end)` for each batch of `batch_records`
    /// sequence numbers in order; the time is from the release until the last consumer is
    /// done. Threads are placed as [`crate::placement`] says (producer 0, consumer `c` at
    /// `c + 1`).
    pub fn time_consumers(
        &self,
        consume: impl Fn(usize) -> Tally + Sync,
        mut produce: impl FnMut(std::ops::Range<u64>) + Send,
    ) -> Run {
        let start_line = StartLine::new(self.consumers);
        std::thread::scope(|scope| {
            let readers: Vec<_> = (0..self.consumers)
                .map(|consumer| {
                    let (start_line, consume) = (&start_line, &consume);
                    scope.spawn(move || {
                        placement::pin(consumer + 1);
                        start_line.wait();
                        consume(consumer)
                    })
                })
                .collect();
            let producer = scope.spawn(|| {
                placement::pin(0);
                let started = start_line.release();
                let batch = self.batch_records as u64;
                let mut written = 0;
                while written < self.records {
                    let end = (written + batch).min(self.records);
                    produce(written..end);
                    written = end;
                }
                started
            });
            let started = producer.join().expect("the producer does not panic");
            let tallies = readers
                .into_iter()
                .map(|r| r.join().expect("no consumer panics"))
                .collect();
            Run {
                elapsed: started.elapsed(),
                tallies,
            }
        })
    }
}

/// Partitions in the group scaling workload (the "8 partitions").
pub const GROUP_PARTITIONS: usize = 8;

/// One group whose `members` share [`GROUP_PARTITIONS`] prefilled partitions (range
/// assignment); timed: the members draining every partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupScaling {
    /// Records per partition.
    pub records_per_partition: u64,
    /// Members of the group, 1..=[`GROUP_PARTITIONS`].
    pub members: usize,
    /// Bytes per value.
    pub value_bytes: usize,
    /// Most records per read.
    pub batch_records: usize,
}

impl GroupScaling {
    /// The partitions member `member` owns: Kafka's range assignment of
    /// [`GROUP_PARTITIONS`] partitions over `members` members.
    pub fn assignment(&self, member: usize) -> std::ops::Range<usize> {
        range_assignment(GROUP_PARTITIONS, self.members, member)
    }

    /// What member `member` must have read (its partitions in order, each from sequence 0).
    pub fn expected(&self, member: usize) -> Tally {
        let per_partition = Tally::expected(0, self.records_per_partition, self.value_bytes);
        self.assignment(member)
            .fold(Tally::default(), |sum, _| sum.merge(per_partition))
    }

    /// Records in all partitions.
    pub fn records_total(&self) -> u64 {
        self.records_per_partition * GROUP_PARTITIONS as u64
    }

    /// The timed part every subject shares: one thread per member (member `m` placed as
    /// thread `m`), released together, each draining its assigned partitions in order with
    /// `drain_partition` (which tallies one partition, as [`GroupScaling::expected`] does);
    /// the time is from the release until the last member is done.
    pub fn time_members(&self, drain_partition: impl Fn(usize) -> Tally + Sync) -> Run {
        let (elapsed, tallies) = time_released_together(self.members, |member| {
            let drain_partition = &drain_partition;
            move || {
                self.assignment(member)
                    .fold(Tally::default(), |sum, p| sum.merge(drain_partition(p)))
            }
        });
        Run { elapsed, tallies }
    }
}

/// Kafka's range assignment of `partitions` over `members`: member `i` gets
/// `partitions / members` partitions plus one if `i < partitions % members`, contiguously.
pub fn range_assignment(
    partitions: usize,
    members: usize,
    member: usize,
) -> std::ops::Range<usize> {
    assert!(member < members, "member {member} of {members}");
    let base = partitions / members;
    let extra = partitions % members;
    let start = member * base + member.min(extra);
    let len = base + usize::from(member < extra);
    start..start + len
}

/// Where the producers of [`Produce`] write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProduceTarget {
    /// Every producer appends to partition 0.
    OnePartition,
    /// Producer `p` appends to partition `p`.
    PartitionPerProducer,
}

/// `producers` threads appending single records concurrently; timed: all appends. Checked
/// after: each partition's records read back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Produce {
    /// Records each producer appends.
    pub records_per_producer: u64,
    /// Producer threads.
    pub producers: usize,
    /// Where they write.
    pub target: ProduceTarget,
    /// Bytes per value.
    pub value_bytes: usize,
}

impl Produce {
    /// Records in all.
    pub fn records_total(&self) -> u64 {
        self.records_per_producer * self.producers as u64
    }

    /// Partitions written.
    pub fn partitions(&self) -> usize {
        match self.target {
            ProduceTarget::OnePartition => 1,
            ProduceTarget::PartitionPerProducer => self.producers,
        }
    }

    /// Producer `p` writes sequence numbers `p * records_per_producer ..` so that on a shared
    /// partition every record is distinct.
    pub fn first_sequence(&self, producer: usize) -> u64 {
        producer as u64 * self.records_per_producer
    }

    /// The timed part every subject shares: `producers` threads (producer `p` placed as
    /// thread `p`), each making its appender with `producer(p)` (untimed), then, released
    /// together, appending sequence numbers `first_sequence(p)..` one record at a time with
    /// it; returns the time from the release until the last producer is done.
    pub fn time_producers<A: FnMut(u64)>(&self, producer: impl Fn(usize) -> A + Sync) -> Duration {
        let (elapsed, _) = time_released_together(self.producers, |p| {
            let mut append = producer(p);
            let first = self.first_sequence(p);
            move || {
                for sequence in first..first + self.records_per_producer {
                    append(sequence);
                }
            }
        });
        elapsed
    }

    /// What a read-back of every partition must give, summed over partitions, when each
    /// partition's records are tallied **sorted by sequence** (producers interleave on a
    /// shared partition in any order).
    pub fn expected(&self) -> Tally {
        Tally::expected(0, self.records_total(), self.value_bytes)
    }
}

/// Tally a read-back of a partition written by [`Produce`]: the sequences it holds, sorted
/// (so the interleaving of producers does not matter), folded in order. `last_bytes` gives
/// each record's last byte by sequence number. Returns the tally over `sequences`.
pub fn tally_sorted(mut sequences: Vec<u64>, value_bytes: usize) -> Tally {
    sequences.sort_unstable();
    let mut tally = Tally::default();
    for sequence in sequences {
        let last_byte = if value_bytes == VALUE_BYTES_MIN {
            (sequence >> 56) as u8
        } else {
            sequence as u8
        };
        tally.add_parts(sequence, last_byte);
    }
    tally
}

/// One producer, one consumer blocked waiting for the next record; `round_trips` times: the
/// producer appends one record, the consumer wakes, reads it and acknowledges, and only then
/// does the producer append the next. Timed: all round trips.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Latency {
    /// Round trips.
    pub round_trips: u64,
    /// Bytes per value.
    pub value_bytes: usize,
}

impl Latency {
    /// What the consumer must have read.
    pub fn expected(&self) -> Tally {
        Tally::expected(0, self.round_trips, self.value_bytes)
    }

    /// The timed part every subject shares except the disruptor (whose consumer is a
    /// handler on a thread of its own): a consumer thread (placed as thread 1) running
    /// `consume`, which reads `round_trips` records, acknowledging each through the
    /// [`Acknowledged`] it is given, and a producer thread (thread 0) that, released with
    /// it, calls `append(sequence)` for each round trip and waits for its acknowledgement.
    pub fn time_round_trips(
        &self,
        consume: impl FnOnce(&Acknowledged) -> Tally + Send,
        mut append: impl FnMut(u64) + Send,
    ) -> Run {
        let acknowledged = Acknowledged::default();
        let start_line = StartLine::new(1);
        std::thread::scope(|scope| {
            let consumer = scope.spawn(|| {
                placement::pin(1);
                start_line.wait();
                consume(&acknowledged)
            });
            let producer = scope.spawn(|| {
                placement::pin(0);
                let started = start_line.release();
                for sequence in 0..self.round_trips {
                    append(sequence);
                    acknowledged.wait_past(sequence);
                }
                started
            });
            let started = producer.join().expect("the producer does not panic");
            let tally = consumer.join().expect("the consumer does not panic");
            Run {
                elapsed: started.elapsed(),
                tallies: vec![tally],
            }
        })
    }
}

/// The outcome of one timed run of a workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    /// Time spent in the timed part.
    pub elapsed: Duration,
    /// One tally per consumer (per member, for group scaling; one in all for produce and
    /// latency).
    pub tallies: Vec<Tally>,
}

/// A run that did not deliver what its workload says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrongDelivery {
    /// Which consumer.
    pub consumer: usize,
    /// What it should have read.
    pub expected: Tally,
    /// What it read.
    pub actual: Tally,
}

impl std::fmt::Display for WrongDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "consumer {} read {} records (checksum {:#x}), expected {} (checksum {:#x})",
            self.consumer,
            self.actual.count,
            self.actual.checksum,
            self.expected.count,
            self.expected.checksum
        )
    }
}

impl Run {
    /// Check that consumer `i` read exactly `expected(i)`, for `consumers` consumers.
    pub fn verify(
        &self,
        consumers: usize,
        expected: impl Fn(usize) -> Tally,
    ) -> Result<(), WrongDelivery> {
        if self.tallies.len() != consumers {
            return Err(WrongDelivery {
                consumer: self.tallies.len(),
                expected: expected(0),
                actual: Tally::default(),
            });
        }
        for (consumer, actual) in self.tallies.iter().enumerate() {
            let expected = expected(consumer);
            if *actual != expected {
                return Err(WrongDelivery {
                    consumer,
                    expected,
                    actual: *actual,
                });
            }
        }
        Ok(())
    }
}

/// A system the benches compare: the engine, or a peer. Each workload is run the same way by
/// every system; a system that has no natural way to run one returns `None` (documented at
/// the system).
pub trait System {
    /// A short name for reports ("engine", "disruptor").
    const NAME: &'static str;

    /// Run [`FanOut`] once.
    fn fan_out(workload: &FanOut) -> Option<Run>;

    /// Run [`GroupScaling`] once.
    fn group_scaling(workload: &GroupScaling) -> Option<Run>;

    /// Run [`Produce`] once.
    fn produce(workload: &Produce) -> Option<Run>;

    /// Run [`Latency`] once.
    fn latency(workload: &Latency) -> Option<Run>;
}

/// How far the latency workload's consumer got: it stores the count of records it has read,
/// the producer waits (yielding) until that passes the record it just appended. Every system
/// uses this same acknowledgement, so the latency workloads differ only in how the consumer
/// learns of the new record.
#[derive(Debug, Default)]
pub struct Acknowledged {
    records_read: crossbeam_utils::CachePadded<std::sync::atomic::AtomicU64>,
}

impl Acknowledged {
    /// The consumer has read `records_read` records.
    #[inline]
    pub fn set(&self, records_read: u64) {
        self.records_read
            .store(records_read, std::sync::atomic::Ordering::Release);
    }

    /// Wait until the consumer has read record `sequence` (more than `sequence` records).
    #[inline]
    pub fn wait_past(&self, sequence: u64) {
        while self.records_read.load(std::sync::atomic::Ordering::Acquire) <= sequence {
            std::thread::yield_now();
        }
    }
}

/// `workers` threads (worker `w` placed as thread `w`), each preparing its work with
/// `prepare(w)` (untimed), then, released together, doing it; returns the time from the
/// release until the last worker is done, and what each worker's work returned, in order.
fn time_released_together<R: Send, W: FnOnce() -> R>(
    workers: usize,
    prepare: impl Fn(usize) -> W + Sync,
) -> (Duration, Vec<R>) {
    let start_line = StartLine::new(workers);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|worker| {
                let (start_line, prepare) = (&start_line, &prepare);
                scope.spawn(move || {
                    placement::pin(worker);
                    let work = prepare(worker);
                    start_line.wait();
                    work()
                })
            })
            .collect();
        let started = start_line.release();
        let done = handles
            .into_iter()
            .map(|h| h.join().expect("no bench worker panics"))
            .collect();
        (started.elapsed(), done)
    })
}

/// A start line for the threads of a timed part: each worker calls [`StartLine::wait`], the
/// timing thread calls [`StartLine::release`] and starts its clock, so thread spawning stays
/// out of the timing.
#[derive(Debug)]
struct StartLine {
    barrier: std::sync::Barrier,
}

impl StartLine {
    /// A start line for `workers` workers plus the timing thread.
    pub fn new(workers: usize) -> StartLine {
        StartLine {
            barrier: std::sync::Barrier::new(workers + 1),
        }
    }

    /// Wait for the start (workers).
    pub fn wait(&self) {
        self.barrier.wait();
    }

    /// Start everyone and return the start time (timing thread). The clock is read before
    /// the release: read after it, a timing thread descheduled right at the barrier (threads
    /// outnumbering cores) would start its clock after the workers had done part of the work.
    pub fn release(&self) -> std::time::Instant {
        let started = std::time::Instant::now();
        self.barrier.wait();
        started
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_catches_skips_duplicates_reorders_and_torn_values() {
        // Goal: every way of misreading a stream changes the tally. Method: read a stream
        // correctly and in each wrong way, compare with the expected tally.
        let value_bytes = 16;
        let values: Vec<Vec<u8>> = (0..100).map(|i| value(i, value_bytes)).collect();
        let expected = Tally::expected(0, 100, value_bytes);

        let read = |order: &[usize]| {
            let mut tally = Tally::default();
            for &i in order {
                tally.add(&values[i]);
            }
            tally
        };
        let in_order: Vec<usize> = (0..100).collect();
        assert_eq!(read(&in_order), expected);

        let mut skipped = in_order.clone();
        skipped.remove(50);
        skipped.push(99); // same count, one duplicated
        assert_ne!(read(&skipped), expected);

        let mut swapped = in_order.clone();
        swapped.swap(10, 11);
        assert_ne!(read(&swapped), expected, "a reorder must be caught");

        let mut torn = values[42].clone();
        *torn.last_mut().unwrap() ^= 1;
        let mut tally = Tally::default();
        for (i, v) in values.iter().enumerate() {
            tally.add(if i == 42 { &torn } else { v });
        }
        assert_ne!(tally, expected, "a torn value must be caught");
    }

    #[test]
    fn eight_byte_values_expect_the_top_byte_last() {
        let mut tally = Tally::default();
        for i in 0..10 {
            tally.add(&value(i, 8));
        }
        assert_eq!(tally, Tally::expected(0, 10, 8));
        assert_eq!(tally_sorted(vec![3, 1, 2, 0], 8), Tally::expected(0, 4, 8));
    }

    #[test]
    fn range_assignment_covers_every_partition_once() {
        for members in 1..=8 {
            let mut owned = vec![0; GROUP_PARTITIONS];
            for member in 0..members {
                for p in range_assignment(GROUP_PARTITIONS, members, member) {
                    owned[p] += 1;
                }
            }
            assert!(
                owned.iter().all(|&n| n == 1),
                "{members} members: {owned:?}"
            );
        }
        assert_eq!(range_assignment(8, 3, 0), 0..3);
        assert_eq!(range_assignment(8, 3, 2), 6..8);
    }

    #[test]
    fn verify_names_the_consumer_that_misread() {
        let good = Tally::expected(0, 5, 8);
        let run = Run {
            elapsed: Duration::ZERO,
            tallies: vec![good, Tally::expected(0, 4, 8)],
        };
        let wrong = run.verify(2, |_| good).unwrap_err();
        assert_eq!(wrong.consumer, 1);
        assert!(
            run.verify(3, |_| good).is_err(),
            "a missing consumer is an error"
        );
    }
}
