//! Judging a recorded [`Run`] against the model: each departure is a [`Divergence`] with a
//! name and the ops (history lines) that show it.
//!
//! The log the broker ended with is the drain's reads ([`FinalLog`]). Against it:
//!
//! | name | what it means |
//! |---|---|
//! | `lost-write` | an acknowledged produce whose record is not at its offset in the final log |
//! | `inconsistent-offsets` | two values at one offset: an ack, a read, or a group delivery disagrees with the final log |
//! | `duplicate` | one value at two offsets |
//! | `phantom-write` | a record in the log that no produce sent |
//! | `keyed-partition` | a keyed produce landed elsewhere than Kafka's murmur2 partitioner puts its key |
//! | `poll-skip` | a read jumps over offsets (a fetch's records not consecutive from its offset; a member's deliveries within one assignment not consecutive) |
//! | `nonmonotonic-poll` | a read goes backwards or repeats within one reply or one assignment |
//! | `stale-read` | a fetch invoked after a produce was acknowledged sees a high watermark below that record, or below a high watermark a completed fetch had already seen |
//! | `fetch-bounds` | a fetch reply breaks the model's bounds (more than `max_records`, a record at or past its high watermark, log start above high watermark) |
//! | `unexpected-error` | a refusal the model does not allow in that state (a produce to an existing partition; `offset_out_of_range` for an offset within the log) |
//! | `model-replay` | the final log, replayed through the model op by op, answers differently from the broker's drain (offsets, high watermark, log start, timestamps) |
//! | `split-ownership` | two members of one group owned one partition at the same time |
//! | `resume-not-at-committed` | a member's first delivery of a partition after an assignment is not at the group's committed offset (or the log start, with nothing committed) |
//! | `commit-readback` | the committed offset read at the end is not the last acknowledged commit |
//!
//! Indeterminate ops (`info`) are allowed to have happened or not: a record of an unacknowledged
//! produce may be in the log; it is never `lost-write`.

use std::collections::{BTreeMap, HashMap};

use streamspec_model::partitioner::kafka_partition;
use streamspec_model::{ErrorCode, Model, Op, Reply, StoredRecord, TopicPartition};

use crate::history::{Event, EventType, GroupEvent, GroupObservation};
use crate::workload::Run;

/// Most divergences of one name listed with their ops; the rest are counted.
pub const EXAMPLES_PER_NAME_MAX: usize = 5;

/// One departure from the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// Its name (the table in the module docs).
    pub name: &'static str,
    /// What happened, in a sentence.
    pub explanation: String,
    /// The history or group lines that show it.
    pub evidence: Vec<String>,
}

/// An op with its outcome and times, paired from the history's events.
#[derive(Clone, Debug)]
pub struct Operation {
    /// The process.
    pub process: u64,
    /// The op.
    pub op: Op,
    /// Its reply, its refusal, or `None` when indeterminate.
    pub outcome: Option<Result<Reply, String>>,
    /// Invoke time.
    pub invoke_ns: u64,
    /// Completion time (`u64::MAX` when it never completed).
    pub complete_ns: u64,
    /// The invoke line and the completion line.
    pub lines: Vec<String>,
}

/// Pair invokes with completions, per process.
pub fn operations(events: &[Event]) -> Vec<Operation> {
    let mut open: HashMap<u64, usize> = HashMap::new();
    let mut ops: Vec<Operation> = Vec::new();
    for event in events {
        match event.kind {
            EventType::Invoke => {
                let Some(op) = &event.op else { continue };
                open.insert(event.process, ops.len());
                ops.push(Operation {
                    process: event.process,
                    op: op.clone(),
                    outcome: None,
                    invoke_ns: event.time_ns,
                    complete_ns: u64::MAX,
                    lines: vec![event.json_line()],
                });
            }
            kind => {
                let Some(index) = open.remove(&event.process) else {
                    continue;
                };
                let op = &mut ops[index];
                op.complete_ns = event.time_ns;
                op.lines.push(event.json_line());
                op.outcome = match kind {
                    EventType::Ok => event.result.clone().map(Ok),
                    EventType::Fail => event.error.clone().map(Err),
                    _ => None,
                };
            }
        }
    }
    ops
}

/// The records each partition holds at the end, from the drain's reads.
#[derive(Clone, Debug, Default)]
pub struct FinalLog {
    /// Records by partition, by offset.
    pub records: BTreeMap<TopicPartition, BTreeMap<i64, StoredRecord>>,
    /// Each partition's last seen (log start, high watermark).
    pub marks: BTreeMap<TopicPartition, (i64, i64)>,
}

impl FinalLog {
    /// Built from the final reads (each partition read to its end-of-partition) where the
    /// run has them, else from the drain's fetches; the marks are the drain fetches'.
    pub fn from_run(run: &Run, drain: &[&Operation]) -> FinalLog {
        let mut log = FinalLog::from_drain(drain);
        for (tp, records) in &run.final_reads {
            let stored = log.records.entry(tp.clone()).or_default();
            for record in records {
                stored
                    .entry(record.offset)
                    .or_insert_with(|| record.clone());
            }
            log.marks.entry(tp.clone()).or_insert((0, 0));
        }
        log
    }

    /// Built from the drain's fetches (which read every partition from 0 to its end).
    pub fn from_drain(drain: &[&Operation]) -> FinalLog {
        let mut log = FinalLog::default();
        for op in drain {
            if let (
                Op::Fetch {
                    topic, partition, ..
                },
                Some(Ok(Reply::Fetched {
                    records,
                    high_watermark,
                    log_start_offset,
                })),
            ) = (&op.op, &op.outcome)
            {
                let tp = TopicPartition::new(topic.clone(), *partition);
                log.marks
                    .insert(tp.clone(), (*log_start_offset, *high_watermark));
                let stored = log.records.entry(tp).or_default();
                for record in records {
                    stored.insert(record.offset, record.clone());
                }
            }
        }
        log
    }

    fn value_at(&self, tp: &TopicPartition, offset: i64) -> Option<Option<&[u8]>> {
        self.records
            .get(tp)
            .and_then(|records| records.get(&offset))
            .map(|record| record.value.as_ref().map(|v| v.as_slice()))
    }
}

/// The report of one run.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Divergences, grouped by name, at most [`EXAMPLES_PER_NAME_MAX`] per name.
    pub divergences: Vec<Divergence>,
    /// How many of each name were found (listed or not).
    pub counts: BTreeMap<&'static str, usize>,
    /// Summary numbers: ops by kind and outcome.
    pub stats: BTreeMap<String, usize>,
}

impl Report {
    fn add(&mut self, divergence: Divergence) {
        let count = self.counts.entry(divergence.name).or_insert(0);
        *count += 1;
        if *count <= EXAMPLES_PER_NAME_MAX {
            self.divergences.push(divergence);
        }
    }

    /// Whether the broker did only what the model allows.
    pub fn is_clean(&self) -> bool {
        self.counts.is_empty()
    }
}

/// Check a run.
pub fn check(run: &Run) -> Report {
    let mut report = Report::default();
    let ops = operations(&run.events);
    for op in &ops {
        let outcome = match &op.outcome {
            Some(Ok(_)) => "ok",
            Some(Err(_)) => "fail",
            None => "info",
        };
        *report
            .stats
            .entry(format!("{} {outcome}", op.op.name()))
            .or_insert(0) += 1;
    }
    // The drain starts after every concurrent op completed.
    let drain: Vec<&Operation> = ops
        .iter()
        .filter(|op| op.invoke_ns >= run.drain_started_ns)
        .collect();
    let log = FinalLog::from_run(run, &drain);
    check_produces(&ops, &log, run, &mut report);
    check_log_values(&ops, &log, &mut report);
    check_fetches(&ops, &log, &mut report);
    check_errors(&ops, run, &mut report);
    check_model_replay(&drain, &log, run, &mut report);
    check_groups(&run.group_events, &log, &mut report);
    report
}

fn check_produces(ops: &[Operation], log: &FinalLog, run: &Run, report: &mut Report) {
    for op in ops {
        let (
            Op::Produce {
                topic,
                partition,
                records,
                ..
            },
            Some(Ok(Reply::Produced {
                partition: landed,
                base_offset,
                ..
            })),
        ) = (&op.op, &op.outcome)
        else {
            continue;
        };
        let tp = TopicPartition::new(topic.clone(), *landed);
        if partition.is_none() {
            if let Some(key) = records.first().and_then(|r| r.key.as_ref()) {
                let expected = kafka_partition(key.as_slice(), run.workload.partitions);
                if expected != *landed {
                    report.add(Divergence {
                        name: "keyed-partition",
                        explanation: format!(
                            "key {key:?} landed on {tp}; Kafka's murmur2 partitioner puts it on partition {expected}"
                        ),
                        evidence: op.lines.clone(),
                    });
                }
            }
        }
        for (index, record) in records.iter().enumerate() {
            let offset = base_offset + index as i64;
            let sent = record.value.as_ref().map(|v| v.as_slice());
            match log.value_at(&tp, offset) {
                None => {
                    if !log.marks.contains_key(&tp) {
                        continue; // the drain did not read this partition: not judged
                    }
                    report.add(Divergence {
                        name: "lost-write",
                        explanation: format!(
                            "the produce was acknowledged at {tp} offset {offset}, but the final log has no record there"
                        ),
                        evidence: op.lines.clone(),
                    })
                }
                Some(found) if found != sent => report.add(Divergence {
                    name: "inconsistent-offsets",
                    explanation: format!(
                        "the produce was acknowledged at {tp} offset {offset} with value {:?}, but the final log holds {:?} there",
                        sent.map(String::from_utf8_lossy),
                        found.map(String::from_utf8_lossy)
                    ),
                    evidence: op.lines.clone(),
                }),
                Some(_) => {}
            }
        }
    }
}

fn check_log_values(ops: &[Operation], log: &FinalLog, report: &mut Report) {
    let mut sent: HashMap<Vec<u8>, &Operation> = HashMap::new();
    for op in ops {
        if let Op::Produce { records, .. } = &op.op {
            for record in records {
                if let Some(value) = &record.value {
                    sent.insert(value.0.clone(), op);
                }
            }
        }
    }
    let mut seen: HashMap<&[u8], (TopicPartition, i64)> = HashMap::new();
    for (tp, records) in &log.records {
        for (offset, record) in records {
            let Some(value) = &record.value else { continue };
            if !sent.contains_key(&value.0) {
                report.add(Divergence {
                    name: "phantom-write",
                    explanation: format!(
                        "{tp} offset {offset} holds {:?}, which no produce sent",
                        String::from_utf8_lossy(value.as_slice())
                    ),
                    evidence: vec![],
                });
            }
            if let Some((first_tp, first_offset)) =
                seen.insert(value.as_slice(), (tp.clone(), *offset))
            {
                report.add(Divergence {
                    name: "duplicate",
                    explanation: format!(
                        "{:?} is at {first_tp} offset {first_offset} and at {tp} offset {offset}",
                        String::from_utf8_lossy(value.as_slice())
                    ),
                    evidence: sent
                        .get(&value.0)
                        .map(|op| op.lines.clone())
                        .unwrap_or_default(),
                });
            }
        }
    }
}

fn check_fetches(ops: &[Operation], log: &FinalLog, report: &mut Report) {
    // Real-time lower bounds on each partition's high watermark: acknowledged produces and
    // completed fetches, by completion time.
    let mut floors: BTreeMap<TopicPartition, Vec<(u64, i64, usize)>> = BTreeMap::new();
    for (index, op) in ops.iter().enumerate() {
        match (&op.op, &op.outcome) {
            (
                Op::Produce { topic, records, .. },
                Some(Ok(Reply::Produced {
                    partition,
                    base_offset,
                    ..
                })),
            ) => {
                floors
                    .entry(TopicPartition::new(topic.clone(), *partition))
                    .or_default()
                    .push((op.complete_ns, base_offset + records.len() as i64, index));
            }
            (
                Op::Fetch {
                    topic, partition, ..
                },
                Some(Ok(Reply::Fetched { high_watermark, .. })),
            ) => {
                floors
                    .entry(TopicPartition::new(topic.clone(), *partition))
                    .or_default()
                    .push((op.complete_ns, *high_watermark, index));
            }
            _ => {}
        }
    }
    for op in ops {
        let (
            Op::Fetch {
                topic,
                partition,
                offset,
                max_records,
                ..
            },
            Some(Ok(Reply::Fetched {
                records,
                high_watermark,
                log_start_offset,
            })),
        ) = (&op.op, &op.outcome)
        else {
            continue;
        };
        let tp = TopicPartition::new(topic.clone(), *partition);
        if records.len() > *max_records as usize
            || log_start_offset > high_watermark
            || records.iter().any(|r| r.offset >= *high_watermark)
        {
            report.add(Divergence {
                name: "fetch-bounds",
                explanation: format!(
                    "a fetch of {tp} from {offset} (max_records {max_records}) returned {} records, high watermark {high_watermark}, log start {log_start_offset}",
                    records.len()
                ),
                evidence: op.lines.clone(),
            });
        }
        for (index, record) in records.iter().enumerate() {
            let expected = offset + index as i64;
            if record.offset != expected {
                report.add(Divergence {
                    name: if record.offset > expected { "poll-skip" } else { "nonmonotonic-poll" },
                    explanation: format!(
                        "a fetch of {tp} from {offset} returned offset {} as its record {index} (expected {expected})",
                        record.offset
                    ),
                    evidence: op.lines.clone(),
                });
                break;
            }
            let value = record.value.as_ref().map(|v| v.as_slice());
            if let Some(found) = log.value_at(&tp, record.offset) {
                if found != value {
                    report.add(Divergence {
                        name: "inconsistent-offsets",
                        explanation: format!(
                            "a fetch read {:?} at {tp} offset {}, the final log holds {:?}",
                            value.map(String::from_utf8_lossy),
                            record.offset,
                            found.map(String::from_utf8_lossy)
                        ),
                        evidence: op.lines.clone(),
                    });
                }
            }
        }
        if let Some(bounds) = floors.get(&tp) {
            if let Some((_, floor, index)) = bounds
                .iter()
                .filter(|(complete_ns, _, _)| *complete_ns < op.invoke_ns)
                .max_by_key(|(_, floor, _)| *floor)
            {
                if high_watermark < floor {
                    let mut evidence = ops[*index].lines.clone();
                    evidence.extend(op.lines.clone());
                    report.add(Divergence {
                        name: "stale-read",
                        explanation: format!(
                            "a fetch of {tp} invoked after the high watermark was known to be at least {floor} saw {high_watermark}"
                        ),
                        evidence,
                    });
                }
            }
        }
    }
}

fn check_errors(ops: &[Operation], run: &Run, report: &mut Report) {
    let topics = run.workload.topic_names();
    for op in ops {
        let Some(Err(error)) = &op.outcome else {
            continue;
        };
        let allowed = match &op.op {
            // Workload produces are single small records to existing partitions: the model
            // refuses none of them.
            Op::Produce { topic, .. } => !topics.contains(topic),
            // Workload fetches ask for offsets up to a high watermark already seen, and the
            // workload never deletes records, so every offset asked is within the log.
            Op::Fetch { topic, .. } => {
                !(topics.contains(topic) && error == ErrorCode::OffsetOutOfRange.name())
            }
            _ => true,
        };
        if !allowed {
            report.add(Divergence {
                name: "unexpected-error",
                explanation: format!(
                    "{} was refused with {error}, which the model does not allow here",
                    op.op.name()
                ),
                evidence: op.lines.clone(),
            });
        }
    }
}

/// Replay the final log through the model (create the topics, produce each record at its
/// offset with its timestamp), then ask the model the drain's questions and compare.
fn check_model_replay(drain: &[&Operation], log: &FinalLog, run: &Run, report: &mut Report) {
    let mut model = Model::new();
    for topic in run.workload.topic_names() {
        let _ = model.apply(&Op::CreateTopic {
            topic,
            partitions: run.workload.partitions,
            config: run.workload.topic_config(),
        });
    }
    for (tp, records) in &log.records {
        for (offset, record) in records {
            let op = Op::Produce {
                topic: tp.topic.clone(),
                partition: Some(tp.partition),
                records: vec![streamspec_model::Record {
                    key: record.key.clone(),
                    value: record.value.clone(),
                    headers: record.headers.clone(),
                    timestamp_ms: Some(record.timestamp_ms),
                }],
                producer: None,
            };
            let ret = model.apply(&op);
            let expected = Ok(Reply::Produced {
                partition: tp.partition,
                base_offset: *offset,
                log_append_time_ms: None,
            });
            if ret != expected {
                report.add(Divergence {
                    name: "model-replay",
                    explanation: format!(
                        "the final log of {tp} has a record at offset {offset}; the model, appending the log's records in order, answers {ret:?} (offsets are not dense from 0)"
                    ),
                    evidence: vec![],
                });
                return;
            }
        }
    }
    for op in drain {
        let (Op::Fetch { .. } | Op::ListOffsets { .. }, Some(Ok(reply))) = (&op.op, &op.outcome)
        else {
            continue;
        };
        let ret = model.apply(&op.op);
        if ret.as_ref() != Ok(reply) {
            report.add(Divergence {
                name: "model-replay",
                explanation: format!("the model answers {ret:?} to this drain op"),
                evidence: op.lines.clone(),
            });
        }
    }
}

/// An assignment period: a member owns a partition from `from_ns` to `until_ns`.
#[derive(Clone, Debug)]
struct Ownership {
    member: String,
    from_ns: u64,
    until_ns: u64,
}

fn check_groups(events: &[GroupEvent], log: &FinalLog, report: &mut Report) {
    let mut groups: BTreeMap<&str, Vec<&GroupEvent>> = BTreeMap::new();
    for event in events {
        groups.entry(event.group.as_str()).or_default().push(event);
    }
    for (group, events) in groups {
        // Ownership periods per partition, and each member's current assignment start.
        let mut periods: BTreeMap<TopicPartition, Vec<Ownership>> = BTreeMap::new();
        let mut open: BTreeMap<(String, TopicPartition), u64> = BTreeMap::new();
        // Deliveries per (member, partition) since its assignment.
        let mut last_delivery: BTreeMap<(String, TopicPartition), i64> = BTreeMap::new();
        // Acknowledged commits per partition: (invoke_ns, complete_ns, offset).
        let mut commits: BTreeMap<TopicPartition, Vec<(u64, u64, i64)>> = BTreeMap::new();
        for event in &events {
            let member = event.member.clone();
            match &event.observation {
                GroupObservation::Assigned(partitions) => {
                    for tp in partitions {
                        open.insert((member.clone(), tp.clone()), event.time_ns);
                        last_delivery.remove(&(member.clone(), tp.clone()));
                    }
                }
                GroupObservation::Revoked(partitions) => {
                    for tp in partitions {
                        if let Some(from_ns) = open.remove(&(member.clone(), tp.clone())) {
                            periods.entry(tp.clone()).or_default().push(Ownership {
                                member: member.clone(),
                                from_ns,
                                until_ns: event.time_ns,
                            });
                        }
                    }
                }
                GroupObservation::Record {
                    partition,
                    offset,
                    value,
                } => {
                    if let Some(found) = log.value_at(partition, *offset) {
                        if found != value.as_deref().map(str::as_bytes) {
                            report.add(Divergence {
                                name: "inconsistent-offsets",
                                explanation: format!(
                                    "group {group} member {member} was delivered {value:?} at {partition} offset {offset}; the final log holds {:?}",
                                    found.map(String::from_utf8_lossy)
                                ),
                                evidence: vec![event.json_line()],
                            });
                        }
                    }
                    let key = (member.clone(), partition.clone());
                    match last_delivery.get(&key) {
                        Some(last) if *offset != last + 1 => report.add(Divergence {
                            name: if *offset > last + 1 { "poll-skip" } else { "nonmonotonic-poll" },
                            explanation: format!(
                                "group {group} member {member} was delivered {partition} offset {offset} right after offset {last}, in one assignment"
                            ),
                            evidence: vec![event.json_line()],
                        }),
                        Some(_) => {}
                        None => {
                            // The first delivery since the assignment: at the committed offset.
                            let assigned_ns = open.get(&key).copied().unwrap_or(0);
                            let candidates = committed_candidates(commits.get(partition), assigned_ns);
                            if !candidates.contains(offset) {
                                report.add(Divergence {
                                    name: "resume-not-at-committed",
                                    explanation: format!(
                                        "group {group} member {member}'s first delivery of {partition} after its assignment is offset {offset}; the group's committed offset then allowed {candidates:?} (0, the log start, when nothing was committed)"
                                    ),
                                    evidence: vec![event.json_line()],
                                });
                            }
                        }
                    }
                    last_delivery.insert(key, *offset);
                }
                GroupObservation::Commit {
                    partition,
                    offset,
                    invoke_ns,
                    error: None,
                } => {
                    commits.entry(partition.clone()).or_default().push((
                        *invoke_ns,
                        event.time_ns,
                        *offset,
                    ));
                }
                GroupObservation::Commit { .. }
                | GroupObservation::PollError(_)
                | GroupObservation::CommittedRead { .. } => {}
            }
        }
        for ((member, tp), from_ns) in open {
            periods.entry(tp).or_default().push(Ownership {
                member,
                from_ns,
                until_ns: u64::MAX,
            });
        }
        for (tp, owners) in &periods {
            for (i, a) in owners.iter().enumerate() {
                for b in &owners[i + 1..] {
                    if a.member != b.member && a.from_ns < b.until_ns && b.from_ns < a.until_ns {
                        report.add(Divergence {
                            name: "split-ownership",
                            explanation: format!(
                                "group {group}: members {} and {} both owned {tp} (from {} ns and {} ns)",
                                a.member, b.member, a.from_ns, b.from_ns
                            ),
                            evidence: vec![],
                        });
                    }
                }
            }
        }
        for event in &events {
            let GroupObservation::CommittedRead { partition, offset } = &event.observation else {
                continue;
            };
            let candidates = committed_candidates(commits.get(partition), u64::MAX);
            let read = offset.unwrap_or(0);
            if !candidates.contains(&read) {
                report.add(Divergence {
                    name: "commit-readback",
                    explanation: format!(
                        "group {group}'s committed offset for {partition} reads {offset:?}; the acknowledged commits allow {candidates:?}"
                    ),
                    evidence: vec![event.json_line()],
                });
            }
        }
    }
}

/// The committed offsets a read at `at_ns` may see: the last commit acknowledged before
/// `at_ns`, and every commit in flight at `at_ns` or acknowledged after that one was sent;
/// `0` (the log start, `auto.offset.reset=earliest`) when none was acknowledged before.
fn committed_candidates(commits: Option<&Vec<(u64, u64, i64)>>, at_ns: u64) -> Vec<i64> {
    let commits = commits.map(Vec::as_slice).unwrap_or(&[]);
    let before: Vec<&(u64, u64, i64)> = commits.iter().filter(|c| c.1 <= at_ns).collect();
    let mut candidates = Vec::new();
    match before.iter().max_by_key(|c| c.1) {
        Some(last) => {
            for commit in &before {
                if commit.1 >= last.0 {
                    candidates.push(commit.2);
                }
            }
        }
        None => candidates.push(0),
    }
    for commit in commits {
        if commit.0 <= at_ns && commit.1 > at_ns {
            candidates.push(commit.2);
        }
    }
    candidates.sort();
    candidates.dedup();
    candidates
}
