//! Runs one point of a workload on the engine and measures it.
//!
//! The run, step by step:
//! 1. A fresh [`Engine`]; the topics are created with `apply(create_topic)`.
//! 2. Every member joins its group with `apply(join_group)` (range assignor, earliest
//!    reset), then rejoins to learn the final generation and its assignment, exactly as a
//!    client would; the assignment decides which partitions it reads.
//! 3. Threads start: producers, members and the clock (this thread).
//!    - A producer owns the partitions `q` with `q % producers == p` (or partition
//!      `p % partitions` when producers outnumber partitions), appends batches round-robin
//!      over them through the typed fast path (`append_values_with`: each value written in
//!      place in the log), paced to its share of the target rate, and
//!      waits while a partition already holds `backlog_records_max` records. Owning its
//!      partitions alone (there are at least as many partitions as producers), it appends as
//!      each one's `ExclusiveProducer`; producers sharing a partition append through the
//!      lock-free protocol. Each record
//!      carries the produce time (ns since the run began) in its first 8 bytes and, from 16
//!      bytes up, `producer << 48 | sequence` in the next 8.
//!    - A member reads its partitions from offset 0 with a `PartitionReader` each
//!      (`fetch_values_with`, zero-copy),
//!      checks that offsets are contiguous and that each producer's sequence numbers follow
//!      one another, records end-to-end latency (now − produce time) in an hdrhistogram,
//!      publishes its position, and commits it with `apply(commit)` every
//!      [`COMMIT_INTERVAL`]. Caught up, it blocks in `wait_for` (one partition) or yields.
//!    - Retention: every [`trim_step_records`] it appends to a partition, and before waiting
//!      on backpressure, a producer removes what every group has read of it
//!      (`delete_records` to the lowest position of any group; everything, without groups):
//!      records stay until processed by all groups, and memory stays bounded however long
//!      the run.
//! 4. The clock lets the warm-up pass, snapshots the counters, waits the measured duration,
//!    snapshots again and stops everyone. Throughput is the counter difference over the
//!    measured time; latency covers records produced inside the measured window.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use streamspec_engine::{Engine, PartitionHandle, PartitionReader};
use streamspec_model::{Assignor, OffsetReset, Op, Reply, TopicConfig, TopicPartition};

use crate::bench::workload::{Point, Rate, RECORD_BYTES_SEQUENCED_MIN};

/// How often a member commits its positions.
pub const COMMIT_INTERVAL: Duration = Duration::from_millis(100);
/// Most records a producer appends to a partition between two looks at what every group has
/// read of it (four segments): few enough that the segments a trim frees fit the engine's
/// recycling pool, so the producer reuses warm memory; many enough that the look (a load of
/// every group's position, lines the members write) costs nothing per record. (A trimmer
/// thread every 10 ms freed about 250 segments at a time at 100 M records/s; the pool kept 16
/// and the producer allocated and zeroed the rest afresh, a tenth of the run's time and half
/// its rate. A look after every batch loads, per group, a line its member writes: with
/// batches of 100, a miss per group every 100 records.)
pub const TRIM_STEP_RECORDS_MAX: u64 = 4 * streamspec_engine::segment::SEGMENT_RECORDS;
/// Most bytes of values appended between two looks (as the fan-out bench's producer trims,
/// `benches/src/engine.rs`): large values are looked at sooner, so that the arenas the
/// producer writes come back while still warm. With 1 KiB values, a look every four segments
/// (16 MiB of values) held `fan-out-1k` to 11-13 M records/s at one group, a look every
/// 256 KiB let it reach 34-36 (single runs, alternating).
pub const TRIM_STEP_BYTES: u64 = 256 << 10;

/// Records appended to a partition between two looks at its groups' positions, for values of
/// `record_bytes` bytes: [`TRIM_STEP_BYTES`] of them, at most [`TRIM_STEP_RECORDS_MAX`].
pub fn trim_step_records(record_bytes: usize) -> i64 {
    (TRIM_STEP_BYTES / record_bytes.max(1) as u64).clamp(1, TRIM_STEP_RECORDS_MAX) as i64
}
/// How often the progress display is refreshed.
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);
/// How long an idle single-partition member blocks before looking at the stop flag again.
const IDLE_WAIT: Duration = Duration::from_millis(2);
/// Delivery errors kept as examples per run (the rest are counted).
const DELIVERY_ERROR_EXAMPLES_MAX: usize = 5;
/// Largest latency the histogram holds, in ns (1 hour); larger values are clamped.
const LATENCY_NS_MAX: u64 = 3_600_000_000_000;

/// Latency percentiles, in ns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p99_9_ns: u64,
    /// Largest.
    pub max_ns: u64,
    /// Records measured.
    pub samples: u64,
}

impl Percentiles {
    fn of(histogram: &Histogram<u64>) -> Percentiles {
        if histogram.is_empty() {
            return Percentiles::default();
        }
        Percentiles {
            p50_ns: histogram.value_at_quantile(0.50),
            p99_ns: histogram.value_at_quantile(0.99),
            p99_9_ns: histogram.value_at_quantile(0.999),
            max_ns: histogram.max(),
            samples: histogram.len(),
        }
    }
}

/// What one run of a point measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// Seconds actually measured.
    pub measured_s: f64,
    /// Records appended in the measured window.
    pub produced_records: u64,
    /// Records read in the measured window, summed over every member of every group.
    pub consumed_records: u64,
    /// `produced_records / measured_s`.
    pub produced_records_per_s: f64,
    /// `consumed_records / measured_s` (deliveries: each group reads every record).
    pub consumed_records_per_s: f64,
    /// End-to-end latency, produce call to a member reading the record.
    pub latency: Percentiles,
    /// Records read out of order, skipped or duplicated (must be 0).
    pub delivery_errors: u64,
    /// The first few delivery errors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delivery_error_examples: Vec<String>,
}

/// Why a point could not be run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupError(pub String);

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the clock thread reports while a run goes on.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Seconds since the run began.
    pub elapsed_s: f64,
    /// Warm-up plus measured seconds.
    pub total_s: f64,
    /// Records appended so far.
    pub produced_records: u64,
    /// Records read so far (all members).
    pub consumed_records: u64,
}

/// A counter on its own cache line, written by one thread.
#[derive(Default)]
#[repr(align(128))]
struct Counter(AtomicU64);

/// A position on its own cache line, written by one member.
#[repr(align(128))]
struct Position(AtomicI64);

/// One partition of the run: its handle and where it lives.
struct PartitionRef {
    topic: String,
    partition: i32,
    handle: PartitionHandle,
}

/// A member of a group, as joined.
struct MemberPlan {
    group: usize,
    group_id: String,
    member_id: String,
    generation: i32,
    /// Indices into the run's partition list.
    partitions: Vec<usize>,
}

fn expect_reply(what: &str, ret: streamspec_model::Ret) -> Result<Reply, SetupError> {
    ret.map_err(|code| SetupError(format!("{what} refused: {code:?}")))
}

fn join(
    engine: &Engine,
    group_id: &str,
    member_id: &str,
    topics: &[String],
) -> Result<(i32, Vec<TopicPartition>), SetupError> {
    let reply = expect_reply(
        "join_group",
        engine.apply(&Op::JoinGroup {
            group: group_id.into(),
            member: member_id.into(),
            topics: topics.to_vec(),
            assignor: Assignor::Range,
            session_timeout_ms: 45_000,
            auto_offset_reset: OffsetReset::Earliest,
        }),
    )?;
    match reply {
        Reply::Joined {
            generation,
            assignment,
        } => Ok((generation, assignment)),
        other => Err(SetupError(format!("join_group answered {other:?}"))),
    }
}

/// The partitions producer `producer` of `producers` appends to, out of `partitions`.
pub fn producer_partitions(producer: usize, producers: usize, partitions: usize) -> Vec<usize> {
    if partitions >= producers {
        (producer..partitions).step_by(producers).collect()
    } else {
        vec![producer % partitions]
    }
}

/// Run `point` once; `progress` is called every [`PROGRESS_INTERVAL`].
pub fn run_point(
    point: &Point,
    mut progress: impl FnMut(Progress),
) -> Result<RunResult, SetupError> {
    let engine = Engine::new();
    let mut partitions = Vec::new();
    for topic in &point.topics {
        expect_reply(
            "create_topic",
            engine.apply(&Op::CreateTopic {
                topic: topic.name.clone(),
                partitions: topic.partitions as i32,
                config: TopicConfig::default(),
            }),
        )?;
        for partition in 0..topic.partitions as i32 {
            let handle = engine
                .partition_handle(&topic.name, partition)
                .map_err(|code| SetupError(format!("partition_handle refused: {code:?}")))?;
            partitions.push(PartitionRef {
                topic: topic.name.clone(),
                partition,
                handle,
            });
        }
    }
    let topic_names: Vec<String> = point.topics.iter().map(|t| t.name.clone()).collect();
    let mut members = Vec::new();
    for group in 0..point.groups {
        let group_id = format!("bench-group-{group}");
        let member_ids: Vec<String> = (0..point.members_per_group)
            .map(|m| format!("member-{m:03}"))
            .collect();
        for member_id in &member_ids {
            join(&engine, &group_id, member_id, &topic_names)?;
        }
        // Every join after a member's own started a new generation: rejoin to learn the
        // final one and the assignment in it.
        for member_id in &member_ids {
            let (generation, assignment) = join(&engine, &group_id, member_id, &topic_names)?;
            let owned = assignment
                .iter()
                .filter_map(|tp| {
                    partitions
                        .iter()
                        .position(|p| p.topic == tp.topic && p.partition == tp.partition)
                })
                .collect();
            members.push(MemberPlan {
                group,
                group_id: group_id.clone(),
                member_id: member_id.clone(),
                generation,
                partitions: owned,
            });
        }
    }

    let shared = Shared {
        engine: &engine,
        partitions: &partitions,
        point,
        origin: Instant::now(),
        stop: AtomicBool::new(false),
        measure_from_ns: AtomicU64::new(u64::MAX),
        produced: (0..point.producers).map(|_| Counter::default()).collect(),
        consumed: (0..members.len()).map(|_| Counter::default()).collect(),
        positions: (0..point.groups * partitions.len())
            .map(|_| Position(AtomicI64::new(0)))
            .collect(),
    };
    let shared = &shared;
    let total_s = point.warmup_s + point.duration_s;

    thread::scope(|scope| {
        let producers: Vec<_> = (0..point.producers)
            .map(|p| scope.spawn(move || shared.produce(p)))
            .collect();
        let readers: Vec<_> = members
            .iter()
            .enumerate()
            .map(|(index, plan)| scope.spawn(move || shared.consume(index, plan)))
            .collect();

        let snapshot = || {
            (
                shared
                    .produced
                    .iter()
                    .map(|c| c.0.load(Ordering::Relaxed))
                    .sum::<u64>(),
                shared
                    .consumed
                    .iter()
                    .map(|c| c.0.load(Ordering::Relaxed))
                    .sum::<u64>(),
            )
        };
        let report = |progress: &mut dyn FnMut(Progress)| {
            let (produced_records, consumed_records) = snapshot();
            progress(Progress {
                elapsed_s: shared.origin.elapsed().as_secs_f64(),
                total_s,
                produced_records,
                consumed_records,
            });
        };
        let sleep_until = |deadline: Instant, progress: &mut dyn FnMut(Progress)| loop {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            thread::sleep((deadline - now).min(PROGRESS_INTERVAL));
            report(progress);
        };

        sleep_until(
            shared.origin + Duration::from_secs_f64(point.warmup_s),
            &mut progress,
        );
        let measure_start = Instant::now();
        shared.measure_from_ns.store(
            (measure_start - shared.origin).as_nanos() as u64,
            Ordering::Relaxed,
        );
        let (produced_start, consumed_start) = snapshot();
        sleep_until(
            measure_start + Duration::from_secs_f64(point.duration_s),
            &mut progress,
        );
        let (produced_end, consumed_end) = snapshot();
        let measured_s = measure_start.elapsed().as_secs_f64();
        shared.stop.store(true, Ordering::Relaxed);
        report(&mut progress);

        producers
            .into_iter()
            .for_each(|p| p.join().expect("producer panicked"));
        let mut latency = Histogram::<u64>::new_with_max(LATENCY_NS_MAX, 3).expect("valid bounds");
        let mut delivery_errors = 0;
        let mut delivery_error_examples = Vec::new();
        for reader in readers {
            let outcome = reader.join().expect("member panicked");
            latency.add(&outcome.latency).expect("same bounds");
            delivery_errors += outcome.delivery_errors;
            for example in outcome.examples {
                if delivery_error_examples.len() < DELIVERY_ERROR_EXAMPLES_MAX {
                    delivery_error_examples.push(example);
                }
            }
        }
        let produced_records = produced_end - produced_start;
        let consumed_records = consumed_end - consumed_start;
        Ok(RunResult {
            measured_s,
            produced_records,
            consumed_records,
            produced_records_per_s: produced_records as f64 / measured_s,
            consumed_records_per_s: consumed_records as f64 / measured_s,
            latency: Percentiles::of(&latency),
            delivery_errors,
            delivery_error_examples,
        })
    })
}

/// What every thread of a run shares.
struct Shared<'a> {
    engine: &'a Engine,
    partitions: &'a [PartitionRef],
    point: &'a Point,
    origin: Instant,
    stop: AtomicBool,
    /// Produce times at or after this (ns since `origin`) count for latency; `u64::MAX`
    /// during the warm-up.
    measure_from_ns: AtomicU64,
    /// Records appended, per producer.
    produced: Vec<Counter>,
    /// Records read, per member.
    consumed: Vec<Counter>,
    /// Per group and partition (`group * partitions + partition`): the next offset the
    /// owning member will read.
    positions: Vec<Position>,
}

/// What a member hands back.
struct MemberOutcome {
    latency: Histogram<u64>,
    delivery_errors: u64,
    examples: Vec<String>,
}

impl Shared<'_> {
    fn now_ns(&self) -> u64 {
        self.origin.elapsed().as_nanos() as u64
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn produce(&self, producer: usize) {
        let point = self.point;
        let owned = producer_partitions(producer, point.producers, self.partitions.len());
        let mut sequences = vec![0u64; owned.len()];
        let rate_per_s = match point.rate_records_per_s {
            Rate::Unlimited => None,
            Rate::RecordsPerS(rate) => Some(rate / point.producers as f64),
        };
        let batch = point.batch_records as u64;
        // The partitions this producer owns alone, each held through its exclusive producer
        // (`None`: shared with other producers of the run).
        let alone = self.partitions.len() >= point.producers;
        let mut exclusive: Vec<_> = owned
            .iter()
            .map(|&q| {
                alone
                    .then(|| self.partitions[q].handle.exclusive_producer().ok())
                    .flatten()
            })
            .collect();
        let trim_step = trim_step_records(point.record_bytes);
        let mut produced = 0u64;
        let mut turn = 0;
        while !self.stopped() {
            if let Some(rate) = rate_per_s {
                // Pace: the batch may go once the schedule has reached its last record.
                let due_s = (produced + batch) as f64 / rate;
                let elapsed_s = self.origin.elapsed().as_secs_f64();
                if due_s > elapsed_s {
                    let wait = Duration::from_secs_f64(due_s - elapsed_s);
                    thread::sleep(wait.min(Duration::from_millis(1)));
                    continue;
                }
            }
            let slot = turn % owned.len();
            turn += 1;
            let handle = &self.partitions[owned[slot]].handle;
            if (handle.high_watermark() - handle.log_start_offset()) as u64 + batch
                > point.backlog_records_max
            {
                // Backpressure: the slowest group is this far behind. Whatever it has read
                // since goes first, however little.
                self.retain(owned[slot]);
                thread::yield_now();
                continue;
            }
            let stamp_ns = self.now_ns();
            let sequence_first = sequences[slot];
            // Each value written straight into the log (zero-copy produce), every byte of it,
            // as a client's serializer would: the stamp, the tag, zeros.
            let fill = |i: usize, value: &mut [u8]| {
                value[..8].copy_from_slice(&stamp_ns.to_le_bytes());
                let mut rest = &mut value[8..];
                if point.record_bytes >= RECORD_BYTES_SEQUENCED_MIN {
                    let tag = (producer as u64) << 48 | (sequence_first + i as u64);
                    rest[..8].copy_from_slice(&tag.to_le_bytes());
                    rest = &mut rest[8..];
                }
                // (Skipped when empty: 8-byte values would pay a zero-length `memset` call.)
                if !rest.is_empty() {
                    rest.fill(0);
                }
            };
            let count = point.batch_records;
            let appended = match &mut exclusive[slot] {
                Some(producer) => producer.append_values_with(count, point.record_bytes, fill),
                None => handle.append_values_with(count, point.record_bytes, fill),
            };
            match appended {
                Ok(base) => {
                    if base / trim_step != (base + batch as i64) / trim_step {
                        self.retain(owned[slot]);
                    }
                    sequences[slot] += batch;
                    produced += batch;
                    self.produced[producer]
                        .0
                        .fetch_add(batch, Ordering::Relaxed);
                }
                // A full partition (backpressure keeps the backlog far below the engine's
                // limit, so this is only a bound): let retention catch up, try again later.
                Err(_) => {
                    self.retain(owned[slot]);
                    thread::yield_now();
                }
            }
        }
    }

    fn consume(&self, index: usize, plan: &MemberPlan) -> MemberOutcome {
        let point = self.point;
        let mut outcome = MemberOutcome {
            latency: Histogram::new_with_max(LATENCY_NS_MAX, 3).expect("valid bounds"),
            delivery_errors: 0,
            examples: Vec::new(),
        };
        let error = |outcome: &mut MemberOutcome, message: String| {
            outcome.delivery_errors += 1;
            if outcome.examples.len() < DELIVERY_ERROR_EXAMPLES_MAX {
                outcome
                    .examples
                    .push(format!("{} {}: {message}", plan.group_id, plan.member_id));
            }
        };
        let mut positions = vec![0i64; plan.partitions.len()];
        // Per owned partition and producer: the next sequence number expected.
        let mut next_sequence = vec![vec![0u64; point.producers]; plan.partitions.len()];
        let mut stamps: Vec<(u64, u64)> = Vec::new();
        // A reader per partition, as a client keeps its fetch session: one that stays pinned
        // between fetches, for a member of one partition. A member of several pauses each
        // after its fetch, since a thread pinned by one reader holds back the reclamation
        // the others' retention frees (`PartitionReader`).
        let mut readers: Vec<PartitionReader> = plan
            .partitions
            .iter()
            .map(|&p| self.partitions[p].handle.reader())
            .collect();
        let several = readers.len() > 1;
        let mut last_commit = Instant::now();
        while !self.stopped() {
            let mut read_any = false;
            for (slot, &p) in plan.partitions.iter().enumerate() {
                let position = positions[slot];
                let mut expected_offset = position;
                let mut problems = Vec::new();
                stamps.clear();
                let reader = &mut readers[slot];
                let fetched = reader.fetch_values_with(position, point.batch_records, |offset, value| {
                    if offset != expected_offset {
                        problems.push(format!("offset {offset} read where {expected_offset} was next"));
                    }
                    expected_offset = offset + 1;
                    let Some(value) = value.filter(|v| v.len() == point.record_bytes) else {
                        problems.push(format!("offset {offset}: value missing or of the wrong size"));
                        return;
                    };
                    let stamp = u64::from_le_bytes(value[..8].try_into().expect("8 bytes"));
                    match stamps.last_mut() {
                        Some((last, count)) if *last == stamp => *count += 1,
                        _ => stamps.push((stamp, 1)),
                    }
                    if point.record_bytes >= RECORD_BYTES_SEQUENCED_MIN {
                        let tag = u64::from_le_bytes(value[8..16].try_into().expect("8 bytes"));
                        let producer = (tag >> 48) as usize;
                        let sequence = tag & ((1 << 48) - 1);
                        match next_sequence[slot].get_mut(producer) {
                            Some(next) if *next == sequence => *next += 1,
                            Some(next) => {
                                problems.push(format!(
                                    "offset {offset}: producer {producer} sequence {sequence}, expected {next}"
                                ));
                                *next = sequence + 1;
                            }
                            None => problems.push(format!("offset {offset}: unknown producer {producer}")),
                        }
                    }
                });
                if several {
                    reader.pause();
                }
                let summary = match fetched {
                    Ok(summary) => summary,
                    Err(code) => {
                        error(
                            &mut outcome,
                            format!("fetch at {position} refused: {code:?}"),
                        );
                        // Nothing is trimmed below a position, so this cannot recur unless
                        // the engine is wrong; stop reading rather than spin on errors.
                        return outcome;
                    }
                };
                let now_ns = self.now_ns();
                let measure_from_ns = self.measure_from_ns.load(Ordering::Relaxed);
                for &(stamp, count) in &stamps {
                    if stamp >= measure_from_ns {
                        let latency = now_ns.saturating_sub(stamp).min(LATENCY_NS_MAX);
                        outcome.latency.record_n(latency, count).expect("clamped");
                    }
                }
                for problem in problems {
                    error(
                        &mut outcome,
                        format!("{}: {problem}", self.partitions[p].topic_partition()),
                    );
                }
                if summary.count > 0 {
                    read_any = true;
                    positions[slot] += summary.count as i64;
                    self.positions[plan.group * self.partitions.len() + p]
                        .0
                        .store(positions[slot], Ordering::Relaxed);
                    self.consumed[index]
                        .0
                        .fetch_add(summary.count as u64, Ordering::Relaxed);
                }
            }
            if last_commit.elapsed() >= COMMIT_INTERVAL {
                last_commit = Instant::now();
                for (slot, &p) in plan.partitions.iter().enumerate() {
                    let partition = &self.partitions[p];
                    let committed = self.engine.apply(&Op::Commit {
                        group: plan.group_id.clone(),
                        member: Some(plan.member_id.clone()),
                        generation: plan.generation,
                        topic: partition.topic.clone(),
                        partition: partition.partition,
                        offset: positions[slot],
                        metadata: String::new(),
                    });
                    if let Err(code) = committed {
                        error(&mut outcome, format!("commit refused: {code:?}"));
                    }
                }
            }
            if !read_any {
                match plan.partitions.as_slice() {
                    [only] => {
                        self.partitions[*only]
                            .handle
                            .wait_for(positions[0], IDLE_WAIT);
                    }
                    _ => thread::yield_now(),
                }
            }
        }
        outcome
    }

    /// Consumed-by-all retention of partition `p`: remove what every group has read
    /// (everything, without groups).
    fn retain(&self, p: usize) {
        let handle = &self.partitions[p].handle;
        let partitions = self.partitions.len();
        let read_by_all = (0..self.point.groups)
            .map(|g| self.positions[g * partitions + p].0.load(Ordering::Relaxed))
            .min()
            .unwrap_or_else(|| handle.high_watermark());
        if read_by_all > handle.log_start_offset() {
            // Refusals cannot happen (the offset is within the log); a failed trim only
            // leaves records longer, which backpressure bounds.
            let _ = handle.delete_records(read_by_all);
        }
    }
}

impl PartitionRef {
    fn topic_partition(&self) -> String {
        format!("{}-{}", self.topic, self.partition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::workload::{TopicSpec, Workload};

    fn point(groups: usize, members: usize, partitions: usize, producers: usize) -> Point {
        Point {
            topics: vec![TopicSpec {
                name: "orders".into(),
                partitions,
            }],
            producers,
            record_bytes: 32,
            batch_records: 50,
            rate_records_per_s: Rate::Unlimited,
            groups,
            members_per_group: members,
            warmup_s: 0.05,
            duration_s: 0.3,
            backlog_records_max: 100_000,
            swept: Default::default(),
        }
    }

    #[test]
    fn retention_looks_every_256_kib_of_values_and_at_most_every_four_segments() {
        assert_eq!(trim_step_records(8), 16_384, "8-byte values: four segments");
        assert_eq!(trim_step_records(1024), 256, "1 KiB values: 256 KiB");
        assert_eq!(trim_step_records(1 << 20), 1, "every record");
    }

    #[test]
    fn producers_split_partitions_without_overlap() {
        assert_eq!(producer_partitions(0, 2, 5), [0, 2, 4]);
        assert_eq!(producer_partitions(1, 2, 5), [1, 3]);
        assert_eq!(producer_partitions(3, 4, 1), [0]);
        assert_eq!(producer_partitions(3, 4, 2), [1]);
    }

    #[test]
    fn a_run_delivers_in_order_to_every_group_and_measures() {
        // Goal: the runner moves records end to end and its checks find nothing wrong on a
        // correct engine. Method: 2 groups x 2 members over 3 partitions, 2 producers.
        let mut updates = 0;
        let result = run_point(&point(2, 2, 3, 2), |_| updates += 1).unwrap();
        assert_eq!(
            result.delivery_errors, 0,
            "{:?}",
            result.delivery_error_examples
        );
        assert!(result.produced_records > 0);
        assert!(result.consumed_records > 0);
        assert!(result.latency.samples > 0);
        assert!(result.latency.p50_ns <= result.latency.p99_ns);
        assert!(result.latency.p99_ns <= result.latency.max_ns);
        assert!(updates >= 2, "progress reported");
    }

    #[test]
    fn a_target_rate_is_kept() {
        let mut slow = point(1, 1, 1, 1);
        slow.rate_records_per_s = Rate::RecordsPerS(20_000.0);
        slow.duration_s = 0.5;
        let result = run_point(&slow, |_| {}).unwrap();
        let rate = result.produced_records_per_s;
        assert!(
            (10_000.0..=30_000.0).contains(&rate),
            "target 20k/s, got {rate}"
        );
    }

    #[test]
    fn retention_removes_what_every_group_read_and_nothing_more() {
        // Goal: consumed-by-all retention runs, without groups (everything) and with them
        // (what the slowest read). Method: a backlog of 1000 records, which the producers
        // fill in microseconds and would then wait on for good without retention: they
        // must produce many times that, and every member must still read every record in
        // order (a trim past the slowest group would refuse its next fetch).
        for groups in [0, 2] {
            let mut tight = point(groups, 1, 2, 2);
            tight.backlog_records_max = 1_000;
            let result = run_point(&tight, |_| {}).unwrap();
            assert_eq!(
                result.delivery_errors, 0,
                "{groups} groups: {:?}",
                result.delivery_error_examples
            );
            assert!(
                result.produced_records > 50_000,
                "{groups} groups: {} records produced past a backlog of 1000",
                result.produced_records
            );
            assert_eq!(
                result.consumed_records == 0,
                groups == 0,
                "{groups} groups: {} records consumed",
                result.consumed_records
            );
        }
    }

    #[test]
    fn the_checks_catch_a_sequence_gap() {
        // Goal: the member's ordering check is real. Method: a producer whose sequence
        // skips (planted by appending a record out of turn) must be reported.
        let workload = Workload::parse(
            r#"
name = "t"
producers = 1
record_bytes = 16
batch_records = 1
rate_records_per_s = "unlimited"
groups = 0
members_per_group = 1
warmup_s = 0
duration_s = 0.1
[[topics]]
name = "orders"
partitions = 1
"#,
            "t",
        )
        .unwrap();
        let point = &workload.points()[0];
        let engine = Engine::new();
        engine
            .apply(&Op::CreateTopic {
                topic: "orders".into(),
                partitions: 1,
                config: TopicConfig::default(),
            })
            .unwrap();
        let handle = engine.partition_handle("orders", 0).unwrap();
        let record = |sequence: u64| {
            let mut value = vec![0u8; 16];
            value[8..].copy_from_slice(&sequence.to_le_bytes());
            value
        };
        for sequence in [0, 1, 3] {
            handle.append_values(&[&record(sequence)]).unwrap();
        }
        let partitions = [PartitionRef {
            topic: "orders".into(),
            partition: 0,
            handle,
        }];
        let shared = Shared {
            engine: &engine,
            partitions: &partitions,
            point,
            origin: Instant::now(),
            stop: AtomicBool::new(false),
            measure_from_ns: AtomicU64::new(0),
            produced: vec![Counter::default()],
            consumed: vec![Counter::default()],
            positions: vec![Position(AtomicI64::new(0))],
        };
        let plan = MemberPlan {
            group: 0,
            group_id: "g".into(),
            member_id: "m".into(),
            generation: 1,
            partitions: vec![0],
        };
        let outcome = thread::scope(|scope| {
            let member = scope.spawn(|| shared.consume(0, &plan));
            while shared.consumed[0].0.load(Ordering::Relaxed) < 3 {
                thread::yield_now();
            }
            shared.stop.store(true, Ordering::Relaxed);
            member.join().unwrap()
        });
        // (A commit may also be refused, the group being made up; only ordering counts here.)
        let gaps: Vec<&String> = outcome
            .examples
            .iter()
            .filter(|e| e.contains("sequence"))
            .collect();
        assert_eq!(gaps.len(), 1, "{:?}", outcome.examples);
        assert!(gaps[0].contains("sequence 3, expected 2"), "{gaps:?}");
    }
}
