//! Soak: producers, consumer groups, retention and the clock, all at once against one
//! concurrent target for a while; then every acknowledged record is accounted for.
//!
//! ```text
//!  producers ──produce (idempotent, explicit partition)──▶ ┌────────┐ ◀──poll/commit── members
//!  (each ack's offsets go into the ledger)                  │ target │    (each record read
//!  retention ──enforce_retention + tick every 20 ms──────▶ └────────┘     goes into the ledger)
//!  sampler: resident memory, acked, retained, read ─────── every sample interval
//! ```
//!
//! Two topics, so that both kinds of removal are exercised:
//! - [`TOPIC_CONSUMED`], policy `consumed`: a record may go only once every group has
//!   committed past it, so **each group must read every acknowledged record**.
//! - [`TOPIC_SIZE`], `retention_bytes`: records may go unread, but only from the head and
//!   only while the rest still totals `retention_bytes`; each group must read every
//!   acknowledged record retention did not remove.
//!
//! Accounting at the end, per partition: the acknowledged offsets are exactly
//! `0..high_watermark` with none acknowledged twice (nothing lost, nothing invented); each
//! group read every one of them that retention was not allowed to remove; the log start is
//! within what retention allowed. While running: records within one poll are dense and in
//! offset order, each producer's sequence increases along the partition, a record read again
//! is the same record, and an idempotent retry gets the original offsets and appends nothing.
//!
//! Memory: producers pause while a `consumed` partition's backlog (acknowledged but not
//! committed by the slowest group) exceeds the configured bound, so once retention runs the
//! retained records, and with them resident memory, stay flat. The sampler reports resident
//! memory (`VmRSS` of `/proc/self/status`) over time and the soak fails if it grows by more
//! than the configured bound between the end of the warm-up (the first quarter) and the end.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use streamspec_engine::Engine;
use streamspec_model::{
    Assignor, ErrorCode, OffsetReset, OffsetSpec, Op, ProducerBatch, Record, Reply,
    RetentionPolicy, TopicConfig,
};

use crate::target::ConcurrentTarget;

/// The engine as a soak target: [`Engine::apply`] from every thread, no lock.
#[derive(Debug, Default)]
pub struct EngineTarget {
    engine: Engine,
}

impl EngineTarget {
    /// A fresh engine.
    pub fn new() -> EngineTarget {
        EngineTarget::default()
    }
}

impl ConcurrentTarget for EngineTarget {
    fn name(&self) -> String {
        "engine".to_owned()
    }

    fn apply(&self, op: &Op) -> streamspec_model::Ret {
        self.engine.apply(op)
    }
}

/// The topic whose records go only once every group committed past them.
pub const TOPIC_CONSUMED: &str = "soak-consumed";
/// The topic trimmed by size.
pub const TOPIC_SIZE: &str = "soak-size";
/// The soak's group ids are this plus an index.
pub const GROUP_PREFIX: &str = "soak-group-";
/// Most records one poll asks for.
pub const POLL_RECORDS_MAX: u32 = 500;
/// How often the retention thread enforces retention and advances the clock, in ms (also the
/// size of each tick): often enough that retention keeps up with producers.
pub const RETENTION_INTERVAL_MS: u64 = 20;
/// Every this many batches a producer retries its last batch exactly (an idempotent
/// duplicate) and checks the reply.
pub const RETRY_EVERY_BATCHES: u64 = 16;
/// Every this many polls the first member of each group leaves and rejoins, so groups keep
/// rebalancing under load.
pub const CHURN_EVERY_POLLS: u64 = 400;
/// Bytes of a record value; every record has this size plus the overhead.
pub const RECORD_VALUE_BYTES: usize = 32;
/// A record's size by the model's formula: overhead 16 plus the value.
pub const RECORD_SIZE_BYTES: i64 = 16 + RECORD_VALUE_BYTES as i64;

/// What to run.
#[derive(Clone, Debug)]
pub struct SoakConfig {
    /// How long producers run (the drain comes after).
    pub duration: Duration,
    /// Producer threads.
    pub producers_count: usize,
    /// Consumer groups.
    pub groups_count: usize,
    /// Member threads per group.
    pub members_per_group: usize,
    /// Partitions per topic.
    pub partitions_count: i32,
    /// Records per produce batch.
    pub batch_records: usize,
    /// Producers pause on a `consumed` partition with more records than this acknowledged
    /// but not committed by the slowest group.
    pub backlog_records_max: i64,
    /// `retention_bytes` of [`TOPIC_SIZE`].
    pub retention_bytes: i64,
    /// How often resident memory and counts are sampled and printed.
    pub sample_interval: Duration,
    /// How long consumers get to catch up after producers stop.
    pub drain_timeout: Duration,
    /// Largest allowed growth of resident memory from the end of the warm-up to the end, in
    /// bytes.
    pub rss_growth_bytes_max: u64,
}

impl Default for SoakConfig {
    fn default() -> SoakConfig {
        SoakConfig {
            duration: Duration::from_secs(60),
            producers_count: 2,
            groups_count: 2,
            members_per_group: 2,
            partitions_count: 4,
            batch_records: 20,
            backlog_records_max: 20_000,
            retention_bytes: 20_000 * RECORD_SIZE_BYTES,
            sample_interval: Duration::from_secs(5),
            drain_timeout: Duration::from_secs(30),
            rss_growth_bytes_max: 64 << 20,
        }
    }
}

/// One sample of the running soak.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    /// Since the start, in ms.
    pub elapsed_ms: u64,
    /// Resident memory, in bytes (`None` where `/proc/self/status` is unavailable).
    pub rss_bytes: Option<u64>,
    /// Records acknowledged so far.
    pub acked_records: u64,
    /// Records retained now, over all partitions (high watermark − log start).
    pub retained_records: i64,
    /// Records read so far, summed over groups (re-reads after a rebalance included).
    pub read_records: u64,
}

impl std::fmt::Display for Sample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rss = match self.rss_bytes {
            Some(bytes) => format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64),
            None => "unknown".to_owned(),
        };
        write!(
            f,
            "t={:>6.1}s rss={rss} acked={} retained={} read={}",
            self.elapsed_ms as f64 / 1000.0,
            self.acked_records,
            self.retained_records,
            self.read_records
        )
    }
}

/// What a soak found.
#[derive(Clone, Debug, Default)]
pub struct SoakReport {
    /// The samples, in time order (one at the end of the warm-up and one at the end included).
    pub samples: Vec<Sample>,
    /// Records acknowledged.
    pub acked_records: u64,
    /// Records read, summed over groups, re-reads included.
    pub read_records: u64,
    /// Records removed by retention, over all partitions (the final log starts).
    pub removed_records: i64,
    /// Idempotent retries that were answered as duplicates.
    pub duplicates_checked: u64,
    /// Rejoins after a rebalance, an expiry or churn.
    pub rejoins: u64,
    /// Everything that went wrong; empty when the soak passed.
    pub failures: Vec<String>,
}

impl SoakReport {
    /// Whether every record was accounted for and memory stayed within the bound.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Disjoint, merged half-open offset ranges: which offsets of one partition were seen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OffsetSpans {
    /// Start → end (exclusive); no two touch or overlap.
    spans: BTreeMap<i64, i64>,
}

impl OffsetSpans {
    /// Adds `start..end`; returns how many of its offsets were already present.
    pub fn insert(&mut self, start: i64, end: i64) -> i64 {
        if start >= end {
            return 0;
        }
        let mut overlap = 0;
        let (mut new_start, mut new_end) = (start, end);
        // Every span that overlaps or touches start..end is merged into it.
        let touching: Vec<(i64, i64)> = self
            .spans
            .range(..=end)
            .rev()
            .take_while(|(_, &span_end)| span_end >= start)
            .map(|(&s, &e)| (s, e))
            .collect();
        for (span_start, span_end) in touching {
            overlap += span_end.min(end) - span_start.max(start);
            self.spans.remove(&span_start);
            new_start = new_start.min(span_start);
            new_end = new_end.max(span_end);
        }
        self.spans.insert(new_start, new_end);
        overlap.max(0)
    }

    /// The offsets of `start..end` not present, as ranges.
    pub fn missing(&self, start: i64, end: i64) -> Vec<(i64, i64)> {
        let mut missing = Vec::new();
        let mut cursor = start;
        for (&span_start, &span_end) in &self.spans {
            if span_end <= cursor {
                continue;
            }
            if span_start >= end {
                break;
            }
            if span_start > cursor {
                missing.push((cursor, span_start.min(end)));
            }
            cursor = cursor.max(span_end);
            if cursor >= end {
                break;
            }
        }
        if cursor < end {
            missing.push((cursor, end));
        }
        missing
    }

    /// The spans, in order.
    pub fn spans(&self) -> Vec<(i64, i64)> {
        self.spans.iter().map(|(&s, &e)| (s, e)).collect()
    }
}

/// A partition of one of the soak's topics.
type Partition = (&'static str, i32);

/// Where one group last saw each producer on one partition: (offset, sequence in value).
type SeenByProducer = BTreeMap<u32, (i64, u64)>;

/// Everything the threads share.
struct Ledger {
    /// Acknowledged offsets per partition.
    acked: Mutex<BTreeMap<Partition, OffsetSpans>>,
    /// Offsets read per (group, partition), and per producer the last record seen there.
    read: Mutex<BTreeMap<(usize, Partition), (OffsetSpans, SeenByProducer)>>,
    /// Each group's last committed offset per `consumed` partition, for the backlog gate.
    committed: Mutex<BTreeMap<(usize, i32), i64>>,
    /// Each `consumed` partition's acknowledged high watermark, for the backlog gate.
    acked_high: Vec<AtomicI64>,
    acked_records: AtomicU64,
    read_records: AtomicU64,
    duplicates_checked: AtomicU64,
    rejoins: AtomicU64,
    failures: Mutex<Vec<String>>,
    /// Producers stop.
    stop_producing: AtomicBool,
    /// Everyone stops.
    stop_all: AtomicBool,
}

impl Ledger {
    fn fail(&self, failure: String) {
        let mut failures = self.failures.lock().expect("no thread panics holding it");
        // The first failures say what went wrong; a flood after them says nothing more.
        if failures.len() < 20 {
            failures.push(failure);
        }
        self.stop_producing.store(true, Ordering::SeqCst);
        self.stop_all.store(true, Ordering::SeqCst);
    }

    fn stopped(&self) -> bool {
        self.stop_all.load(Ordering::SeqCst)
    }
}

/// The topics and their partitions.
fn partitions(config: &SoakConfig) -> Vec<Partition> {
    [TOPIC_CONSUMED, TOPIC_SIZE]
        .into_iter()
        .flat_map(|topic| (0..config.partitions_count).map(move |p| (topic, p)))
        .collect()
}

/// Resident memory of this process, in bytes, from `/proc/self/status` (`VmRSS`, in kB).
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// A record value: producer index and sequence, padded to [`RECORD_VALUE_BYTES`].
fn value_of(producer: u32, sequence: u64) -> Vec<u8> {
    let mut value = format!("{producer:04}-{sequence:020}").into_bytes();
    value.resize(RECORD_VALUE_BYTES, b'.');
    value
}

/// The producer index and sequence a value carries.
fn decode_value(value: &[u8]) -> Option<(u32, u64)> {
    let text = std::str::from_utf8(value.get(..25)?).ok()?;
    let (producer, sequence) = text.split_once('-')?;
    Some((producer.parse().ok()?, sequence.parse().ok()?))
}

/// Runs a soak against `target` and accounts for every acknowledged record.
pub fn soak(
    target: &dyn ConcurrentTarget,
    config: &SoakConfig,
    progress: &mut dyn FnMut(&Sample),
) -> SoakReport {
    let mut report = SoakReport::default();
    let setup = [
        Op::CreateTopic {
            topic: TOPIC_CONSUMED.to_owned(),
            partitions: config.partitions_count,
            config: TopicConfig {
                retention_ms: -1,
                retention_policy: RetentionPolicy::Consumed,
                ..TopicConfig::default()
            },
        },
        Op::CreateTopic {
            topic: TOPIC_SIZE.to_owned(),
            partitions: config.partitions_count,
            config: TopicConfig {
                retention_ms: -1,
                retention_bytes: config.retention_bytes,
                ..TopicConfig::default()
            },
        },
    ];
    // Every group commits offset 0 of every `consumed` partition before any thread starts:
    // consumed-by-all retention counts only groups that have a member or a commit
    // (docs/model.md, "Retention"), and a group whose first member joins late must not find
    // what it never read already removed.
    let baseline_commits = (0..config.groups_count).flat_map(|group| {
        (0..config.partitions_count).map(move |partition| Op::Commit {
            group: group_id(group),
            member: None,
            generation: -1,
            topic: TOPIC_CONSUMED.to_owned(),
            partition,
            offset: 0,
            metadata: String::new(),
        })
    });
    for op in setup.into_iter().chain(baseline_commits) {
        if let Err(code) = target.apply(&op) {
            report
                .failures
                .push(format!("setup {}: {}", op.name(), code.name()));
            return report;
        }
    }
    let ledger = Ledger {
        acked: Mutex::new(BTreeMap::new()),
        read: Mutex::new(BTreeMap::new()),
        committed: Mutex::new(BTreeMap::new()),
        acked_high: (0..config.partitions_count)
            .map(|_| AtomicI64::new(0))
            .collect(),
        acked_records: AtomicU64::new(0),
        read_records: AtomicU64::new(0),
        duplicates_checked: AtomicU64::new(0),
        rejoins: AtomicU64::new(0),
        failures: Mutex::new(Vec::new()),
        stop_producing: AtomicBool::new(false),
        stop_all: AtomicBool::new(false),
    };
    let started = Instant::now();
    std::thread::scope(|scope| {
        for producer in 0..config.producers_count {
            let ledger = &ledger;
            scope.spawn(move || produce_loop(target, config, ledger, producer as u32));
        }
        for group in 0..config.groups_count {
            for member in 0..config.members_per_group {
                let ledger = &ledger;
                scope.spawn(move || consume_loop(target, ledger, group, member));
            }
        }
        let ledger_for_retention = &ledger;
        scope.spawn(move || retention_loop(target, ledger_for_retention));
        sample_loop(target, config, &ledger, started, &mut report, progress);
    });
    report.acked_records = ledger.acked_records.load(Ordering::SeqCst);
    report.read_records = ledger.read_records.load(Ordering::SeqCst);
    report.duplicates_checked = ledger.duplicates_checked.load(Ordering::SeqCst);
    report.rejoins = ledger.rejoins.load(Ordering::SeqCst);
    report
        .failures
        .extend(ledger.failures.lock().expect("threads joined").drain(..));
    if report.failures.is_empty() {
        account(target, config, &ledger, &mut report);
    }
    check_memory(config, &mut report);
    report
}

/// Samples until the duration is over, then stops producers, waits for the drain, and stops
/// everyone.
fn sample_loop(
    target: &dyn ConcurrentTarget,
    config: &SoakConfig,
    ledger: &Ledger,
    started: Instant,
    report: &mut SoakReport,
    progress: &mut dyn FnMut(&Sample),
) {
    let warmup_end = config.duration / 4;
    let mut warmup_sampled = false;
    let mut next_sample = config.sample_interval;
    while started.elapsed() < config.duration && !ledger.stopped() {
        std::thread::sleep(Duration::from_millis(10));
        let elapsed = started.elapsed();
        let at_warmup_end = !warmup_sampled && elapsed >= warmup_end;
        if elapsed >= next_sample || at_warmup_end {
            let sample = take_sample(target, config, ledger, started);
            progress(&sample);
            report.samples.push(sample);
            warmup_sampled |= at_warmup_end;
            if elapsed >= next_sample {
                next_sample += config.sample_interval;
            }
        }
    }
    ledger.stop_producing.store(true, Ordering::SeqCst);
    let drain_started = Instant::now();
    while drain_started.elapsed() < config.drain_timeout && !ledger.stopped() {
        if drained(target, config, ledger) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    ledger.stop_all.store(true, Ordering::SeqCst);
    let sample = take_sample(target, config, ledger, started);
    progress(&sample);
    report.samples.push(sample);
}

fn take_sample(
    target: &dyn ConcurrentTarget,
    config: &SoakConfig,
    ledger: &Ledger,
    started: Instant,
) -> Sample {
    let retained_records = partitions(config)
        .into_iter()
        .filter_map(|(topic, partition)| log_bounds(target, topic, partition))
        .map(|(log_start, high_watermark)| high_watermark - log_start)
        .sum();
    Sample {
        elapsed_ms: started.elapsed().as_millis() as u64,
        rss_bytes: resident_bytes(),
        acked_records: ledger.acked_records.load(Ordering::SeqCst),
        retained_records,
        read_records: ledger.read_records.load(Ordering::SeqCst),
    }
}

/// A partition's (log start, high watermark), if the target answers.
fn log_bounds(target: &dyn ConcurrentTarget, topic: &str, partition: i32) -> Option<(i64, i64)> {
    let offset = |spec| match target.apply(&Op::ListOffsets {
        topic: topic.to_owned(),
        partition,
        spec,
    }) {
        Ok(Reply::ListedOffset {
            offset: Some(offset),
            ..
        }) => Some(offset),
        _ => None,
    };
    Some((offset(OffsetSpec::Earliest)?, offset(OffsetSpec::Latest)?))
}

/// Whether every group has read every partition up to its high watermark.
fn drained(target: &dyn ConcurrentTarget, config: &SoakConfig, ledger: &Ledger) -> bool {
    let read = ledger.read.lock().expect("no thread panics holding it");
    partitions(config).into_iter().all(|(topic, partition)| {
        let Some((log_start, high_watermark)) = log_bounds(target, topic, partition) else {
            return false;
        };
        (0..config.groups_count).all(|group| {
            read.get(&(group, (topic, partition)))
                .map_or(high_watermark == log_start, |(spans, _)| {
                    spans.missing(log_start, high_watermark).is_empty()
                })
        })
    })
}

fn produce_loop(target: &dyn ConcurrentTarget, config: &SoakConfig, ledger: &Ledger, index: u32) {
    let (producer_id, producer_epoch) = match target.apply(&Op::InitProducerId {
        transactional_id: None,
    }) {
        Ok(Reply::ProducerId {
            producer_id,
            producer_epoch,
        }) => (producer_id, producer_epoch),
        other => return ledger.fail(format!("producer {index}: init_producer_id {other:?}")),
    };
    let mut sequences: BTreeMap<Partition, i32> = BTreeMap::new();
    let mut value_sequence: u64 = 0;
    let mut batches: u64 = 0;
    let all = partitions(config);
    let mut turn = index as usize;
    while !ledger.stop_producing.load(Ordering::SeqCst) {
        turn = (turn + 1) % all.len();
        let (topic, partition) = all[turn];
        if topic == TOPIC_CONSUMED
            && backlog(config, ledger, partition) > config.backlog_records_max
        {
            std::thread::sleep(Duration::from_millis(1));
            continue;
        }
        let base_sequence = *sequences.get(&(topic, partition)).unwrap_or(&0);
        let records: Vec<Record> = (0..config.batch_records)
            .map(|i| Record::value(value_of(index, value_sequence + i as u64)))
            .collect();
        let op = Op::Produce {
            topic: topic.to_owned(),
            partition: Some(partition),
            records,
            producer: Some(ProducerBatch {
                producer_id,
                producer_epoch,
                base_sequence,
            }),
        };
        let base_offset = match target.apply(&op) {
            Ok(Reply::Produced {
                partition: landed,
                base_offset,
                ..
            }) if landed == partition => base_offset,
            other => {
                return ledger.fail(format!(
                    "producer {index}: produce to {topic}-{partition} answered {other:?}"
                ))
            }
        };
        let count = config.batch_records as i64;
        let overlap = ledger
            .acked
            .lock()
            .expect("no thread panics holding it")
            .entry((topic, partition))
            .or_default()
            .insert(base_offset, base_offset + count);
        if overlap > 0 {
            return ledger.fail(format!(
                "{topic}-{partition}: offsets {base_offset}..{} acknowledged twice",
                base_offset + count
            ));
        }
        if topic == TOPIC_CONSUMED {
            ledger.acked_high[partition as usize].fetch_max(base_offset + count, Ordering::SeqCst);
        }
        ledger
            .acked_records
            .fetch_add(count as u64, Ordering::SeqCst);
        batches += 1;
        if batches.is_multiple_of(RETRY_EVERY_BATCHES) {
            // The same batch again: a duplicate, answered with the original offset.
            match target.apply(&op) {
                Ok(Reply::Produced {
                    base_offset: again, ..
                }) if again == base_offset => {
                    ledger.duplicates_checked.fetch_add(1, Ordering::SeqCst);
                }
                other => {
                    return ledger.fail(format!(
                        "producer {index}: retry of the batch at {topic}-{partition}@{base_offset} answered {other:?}"
                    ))
                }
            }
        }
        sequences.insert((topic, partition), base_sequence + count as i32);
        value_sequence += count as u64;
    }
}

/// Acknowledged but not committed by the slowest group, on a `consumed` partition.
fn backlog(config: &SoakConfig, ledger: &Ledger, partition: i32) -> i64 {
    let high = ledger.acked_high[partition as usize].load(Ordering::SeqCst);
    let committed = ledger
        .committed
        .lock()
        .expect("no thread panics holding it");
    let slowest = (0..config.groups_count)
        .map(|group| committed.get(&(group, partition)).copied().unwrap_or(0))
        .min()
        .unwrap_or(high);
    high - slowest
}

fn group_id(group: usize) -> String {
    format!("{GROUP_PREFIX}{group}")
}

/// Joins; the generation, or `None` after reporting a failure.
fn join(target: &dyn ConcurrentTarget, ledger: &Ledger, group: usize, member: &str) -> Option<i32> {
    let op = Op::JoinGroup {
        group: group_id(group),
        member: member.to_owned(),
        topics: vec![TOPIC_CONSUMED.to_owned(), TOPIC_SIZE.to_owned()],
        assignor: Assignor::Range,
        session_timeout_ms: 45_000,
        auto_offset_reset: OffsetReset::Earliest,
    };
    match target.apply(&op) {
        Ok(Reply::Joined { generation, .. }) => Some(generation),
        other => {
            ledger.fail(format!(
                "{member} of group {group}: join answered {other:?}"
            ));
            None
        }
    }
}

/// Errors after which a member rejoins: its generation is over or it was removed.
fn needs_rejoin(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::RebalanceInProgress | ErrorCode::IllegalGeneration | ErrorCode::UnknownMemberId
    )
}

fn consume_loop(target: &dyn ConcurrentTarget, ledger: &Ledger, group: usize, member_index: usize) {
    let member = format!("member-{member_index}");
    let Some(mut generation) = join(target, ledger, group, &member) else {
        return;
    };
    let mut polls: u64 = 0;
    while !ledger.stopped() {
        polls += 1;
        if member_index == 0 && polls.is_multiple_of(CHURN_EVERY_POLLS) {
            let _ = target.apply(&Op::LeaveGroup {
                group: group_id(group),
                member: member.clone(),
            });
            ledger.rejoins.fetch_add(1, Ordering::SeqCst);
            let Some(joined) = join(target, ledger, group, &member) else {
                return;
            };
            generation = joined;
        }
        let records = match target.apply(&Op::Poll {
            group: group_id(group),
            member: member.clone(),
            generation,
            max_records: POLL_RECORDS_MAX,
        }) {
            Ok(Reply::Polled { records }) => records,
            Err(code) if needs_rejoin(code) => {
                ledger.rejoins.fetch_add(1, Ordering::SeqCst);
                let Some(joined) = join(target, ledger, group, &member) else {
                    return;
                };
                generation = joined;
                continue;
            }
            other => return ledger.fail(format!("{member} of group {group}: poll {other:?}")),
        };
        if records.is_empty() {
            std::thread::sleep(Duration::from_millis(1));
            continue;
        }
        // Per partition: the offsets this poll gave, which must be dense and in order.
        let mut ranges: BTreeMap<Partition, (i64, i64)> = BTreeMap::new();
        for polled in &records {
            let topic = if polled.topic == TOPIC_CONSUMED {
                TOPIC_CONSUMED
            } else if polled.topic == TOPIC_SIZE {
                TOPIC_SIZE
            } else {
                return ledger.fail(format!("poll returned a record of {}", polled.topic));
            };
            let key = (topic, polled.partition);
            let offset = polled.record.offset;
            let range = ranges.entry(key).or_insert((offset, offset));
            if offset != range.1 {
                return ledger.fail(format!(
                    "group {group}: poll gave {topic}-{} offset {offset} after {}",
                    polled.partition,
                    range.1 - 1
                ));
            }
            range.1 = offset + 1;
            let value = polled.record.value.as_ref().map(|v| v.as_slice());
            let Some((producer, sequence)) = value.and_then(decode_value) else {
                return ledger.fail(format!(
                    "group {group}: {topic}-{}@{offset} holds a value no producer wrote",
                    polled.partition
                ));
            };
            if let Err(failure) = note_read(ledger, group, key, offset, producer, sequence) {
                return ledger.fail(failure);
            }
        }
        ledger
            .read_records
            .fetch_add(records.len() as u64, Ordering::SeqCst);
        for ((topic, partition), (_, offset_next)) in ranges {
            let commit = Op::Commit {
                group: group_id(group),
                member: Some(member.clone()),
                generation,
                topic: topic.to_owned(),
                partition,
                offset: offset_next,
                metadata: String::new(),
            };
            match target.apply(&commit) {
                Ok(_) => {
                    if topic == TOPIC_CONSUMED {
                        ledger
                            .committed
                            .lock()
                            .expect("no thread panics holding it")
                            .insert((group, partition), offset_next);
                    }
                }
                // The generation moved on; the next poll says so and the member rejoins.
                Err(code) if needs_rejoin(code) => break,
                Err(code) => {
                    return ledger.fail(format!(
                        "{member} of group {group}: commit {topic}-{partition}@{offset_next}: {}",
                        code.name()
                    ))
                }
            }
        }
    }
}

/// Records that `group` read `offset` of `partition`, written by `producer` as `sequence`,
/// and checks it against what the group saw of that producer there before.
fn note_read(
    ledger: &Ledger,
    group: usize,
    partition: Partition,
    offset: i64,
    producer: u32,
    sequence: u64,
) -> Result<(), String> {
    let mut read = ledger.read.lock().expect("no thread panics holding it");
    let (spans, seen) = read.entry((group, partition)).or_default();
    spans.insert(offset, offset + 1);
    let (topic, index) = partition;
    match seen.get(&producer) {
        Some(&(last_offset, last_sequence)) if offset == last_offset && sequence != last_sequence => {
            return Err(format!(
                "group {group}: {topic}-{index}@{offset} changed from sequence {last_sequence} to {sequence}"
            ))
        }
        Some(&(last_offset, last_sequence)) if offset > last_offset && sequence <= last_sequence => {
            return Err(format!(
                "group {group}: {topic}-{index}: producer {producer}'s sequence {sequence} at offset {offset} follows {last_sequence} at {last_offset}"
            ))
        }
        _ => {}
    }
    seen.insert(producer, (offset, sequence));
    Ok(())
}

fn retention_loop(target: &dyn ConcurrentTarget, ledger: &Ledger) {
    while !ledger.stopped() {
        match target.apply(&Op::EnforceRetention) {
            Ok(Reply::Retained { .. }) => {}
            other => return ledger.fail(format!("enforce_retention answered {other:?}")),
        }
        if let Err(code) = target.apply(&Op::Tick {
            ms: RETENTION_INTERVAL_MS,
        }) {
            return ledger.fail(format!("tick: {}", code.name()));
        }
        std::thread::sleep(Duration::from_millis(RETENTION_INTERVAL_MS));
    }
}

/// The end-of-run accounting described in the module docs.
fn account(
    target: &dyn ConcurrentTarget,
    config: &SoakConfig,
    ledger: &Ledger,
    report: &mut SoakReport,
) {
    let acked = ledger.acked.lock().expect("threads joined");
    let read = ledger.read.lock().expect("threads joined");
    for (topic, partition) in partitions(config) {
        let Some((log_start, high_watermark)) = log_bounds(target, topic, partition) else {
            report
                .failures
                .push(format!("{topic}-{partition}: list_offsets failed"));
            continue;
        };
        report.removed_records += log_start;
        let acked_spans = acked.get(&(topic, partition)).cloned().unwrap_or_default();
        let expected: Vec<(i64, i64)> = if high_watermark > 0 {
            vec![(0, high_watermark)]
        } else {
            vec![]
        };
        if acked_spans.spans() != expected {
            report.failures.push(format!(
                "{topic}-{partition}: acknowledged offsets {:?} but the log holds 0..{high_watermark} (a record lost or never acknowledged)",
                acked_spans.spans()
            ));
        }
        // What retention may have removed unread: nothing on `consumed` below what every group
        // committed (they commit only what they read), the head on `size`.
        let read_from = if topic == TOPIC_CONSUMED {
            0
        } else {
            log_start
        };
        if topic == TOPIC_SIZE {
            let kept_min = (config.retention_bytes + RECORD_SIZE_BYTES - 1) / RECORD_SIZE_BYTES;
            let log_start_max = (high_watermark - kept_min).max(0);
            if log_start > log_start_max {
                report.failures.push(format!(
                    "{topic}-{partition}: log start {log_start} is past {log_start_max}, the furthest retention_bytes {} allows",
                    config.retention_bytes
                ));
            }
        }
        for group in 0..config.groups_count {
            let empty = OffsetSpans::default();
            let spans = read
                .get(&(group, (topic, partition)))
                .map_or(&empty, |r| &r.0);
            let missing = spans.missing(read_from, high_watermark);
            if !missing.is_empty() {
                report.failures.push(format!(
                    "group {group} never read acknowledged offsets {missing:?} of {topic}-{partition}, and retention was not allowed to remove them (log start {log_start})"
                ));
            }
        }
    }
}

/// Fails the report if resident memory grew more than allowed after the warm-up.
fn check_memory(config: &SoakConfig, report: &mut SoakReport) {
    let warmup_end_ms = (config.duration / 4).as_millis() as u64;
    let after_warmup = report
        .samples
        .iter()
        .find(|s| s.elapsed_ms >= warmup_end_ms)
        .and_then(|s| s.rss_bytes);
    let last = report.samples.last().and_then(|s| s.rss_bytes);
    if let (Some(warm), Some(last)) = (after_warmup, last) {
        if last > warm + config.rss_growth_bytes_max {
            report.failures.push(format!(
                "resident memory grew from {warm} bytes after the warm-up to {last} bytes, more than {} bytes",
                config.rss_growth_bytes_max
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_spans_merge_and_report_missing() {
        let mut spans = OffsetSpans::default();
        assert_eq!(spans.insert(5, 10), 0);
        assert_eq!(spans.insert(0, 3), 0);
        assert_eq!(spans.missing(0, 12), vec![(3, 5), (10, 12)]);
        assert_eq!(spans.insert(3, 5), 0);
        assert_eq!(spans.spans(), vec![(0, 10)]);
        assert_eq!(spans.insert(8, 12), 2);
        assert_eq!(spans.spans(), vec![(0, 12)]);
        assert!(spans.missing(2, 12).is_empty());
        assert_eq!(spans.missing(0, 14), vec![(12, 14)]);
        assert_eq!(spans.insert(20, 21), 0);
        assert_eq!(spans.insert(14, 30), 1);
        assert_eq!(spans.spans(), vec![(0, 12), (14, 30)]);
    }

    #[test]
    fn values_carry_producer_and_sequence() {
        let value = value_of(3, 123_456);
        assert_eq!(value.len(), RECORD_VALUE_BYTES);
        assert_eq!(decode_value(&value), Some((3, 123_456)));
        assert_eq!(decode_value(b"garbage"), None);
    }

    fn sample(elapsed_ms: u64, rss_mib: u64) -> Sample {
        Sample {
            elapsed_ms,
            rss_bytes: Some(rss_mib << 20),
            acked_records: 0,
            retained_records: 0,
            read_records: 0,
        }
    }

    #[test]
    fn memory_growth_after_the_warmup_is_bounded() {
        // Goal: the bound is measured from the end of the warm-up, not from the start.
        // Method: synthetic samples of a 40 s soak (warm-up ends at 10 s), bound 64 MiB.
        let config = SoakConfig {
            duration: Duration::from_secs(40),
            ..SoakConfig::default()
        };
        let mut flat = SoakReport {
            samples: vec![sample(5_000, 10), sample(10_000, 200), sample(40_000, 250)],
            ..SoakReport::default()
        };
        check_memory(&config, &mut flat);
        assert!(flat.passed(), "{:?}", flat.failures);
        let mut growing = SoakReport {
            samples: vec![
                sample(10_000, 200),
                sample(20_000, 240),
                sample(40_000, 265),
            ],
            ..SoakReport::default()
        };
        check_memory(&config, &mut growing);
        assert_eq!(growing.failures.len(), 1);
        assert!(growing.failures[0].contains("resident memory grew"));
    }

    #[test]
    fn resident_memory_is_read_where_proc_exists() {
        if std::path::Path::new("/proc/self/status").exists() {
            let bytes = resident_bytes().expect("VmRSS is present on Linux");
            assert!(bytes > 1 << 20, "{bytes}");
        }
    }
}
