//! Anomalies in recorded histories, named in Jepsen's Kafka vocabulary and a few more.
//!
//! Linearizability says *that* a history is wrong; this checker says *what* went wrong, in
//! words a person knows from Jepsen's Kafka analyses. Each anomaly comes with the ops that
//! show it. Records are identified by value, so workloads write unique values (the
//! recorder's workloads do); records without a value are ignored here.
//!
//! | name | what it means |
//! |---|---|
//! | `lost-write` | an acknowledged record, at an offset below the highest offset any read returned for its partition and not removed by retention, that no read ever returned |
//! | `unseen` | an acknowledged, retained record no read returned by the end; an anomaly only for a *drained* history (every reader read to the end), otherwise only counted |
//! | `duplicate` | one value at two offsets |
//! | `inconsistent-offsets` | two values at one offset |
//! | `poll-skip` | a read (or, in subscribe mode, the next poll of the same member in the same generation) jumps over offsets that were not removed |
//! | `nonmonotonic-poll` | a read goes backwards or repeats an offset; in subscribe mode, the next poll of the same member in the same generation starts at or below the previous one's last offset |
//! | `nonmonotonic-send` | a process's acknowledged produces to one partition get decreasing offsets |
//! | `stale-generation-commit` | a member's commit with a generation the group had already left was acknowledged, or a committed offset shows a value only refused commits wrote |
//! | `read-below-log-start` | a read returned a record below a log start that was already observed |
//! | `illegal-retention` | a log start moved past what was allowed: on a topic that keeps records forever (`retention_ms = -1`, `retention_bytes = -1`, policy `delete`), past every `delete_records` invoked before it was seen |
//!
//! **Modes.** In assign mode (`fetch`) the client chooses each offset, so only the offsets
//! within one reply are judged. In subscribe mode (`poll`) delivery is at least once: after
//! a rebalance (a new generation) a member may re-read from the committed offset, so order is
//! only judged between polls of one member in one generation. A jump forward to an offset at
//! or below a log start observed in the history is allowed (the position was reset).
//! `illegal-retention` on topics with time or size retention needs the model's eligible
//! prefix: the linearizability check covers that.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use streamspec_model::{Bytes, Op, Reply, RetentionPolicy, TopicPartition};

use crate::history::{History, Outcome};

/// `lost-write`.
pub const LOST_WRITE: &str = "lost-write";
/// `unseen`.
pub const UNSEEN: &str = "unseen";
/// `duplicate`.
pub const DUPLICATE: &str = "duplicate";
/// `inconsistent-offsets`.
pub const INCONSISTENT_OFFSETS: &str = "inconsistent-offsets";
/// `poll-skip`.
pub const POLL_SKIP: &str = "poll-skip";
/// `nonmonotonic-poll`.
pub const NONMONOTONIC_POLL: &str = "nonmonotonic-poll";
/// `nonmonotonic-send`.
pub const NONMONOTONIC_SEND: &str = "nonmonotonic-send";
/// `stale-generation-commit`.
pub const STALE_GENERATION_COMMIT: &str = "stale-generation-commit";
/// `read-below-log-start`.
pub const READ_BELOW_LOG_START: &str = "read-below-log-start";
/// `illegal-retention`.
pub const ILLEGAL_RETENTION: &str = "illegal-retention";

/// Most anomalies of one name kept with their ops; the rest are only counted.
const EXAMPLES_PER_NAME_MAX: usize = 8;

/// One anomaly and the ops that show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anomaly {
    /// One of the names above.
    pub name: &'static str,
    /// Ids of the ops that show it.
    pub ops: Vec<usize>,
    /// What happened, in a sentence.
    pub explanation: String,
}

/// How the history was recorded.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Every reader read its partitions to the end before the history ended, so a record
    /// never read is `unseen` (an anomaly) rather than merely not read yet.
    pub drained: bool,
}

/// The checker's findings.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Anomalies found (at most [`EXAMPLES_PER_NAME_MAX`] per name).
    pub anomalies: Vec<Anomaly>,
    /// How many of each name, including those not kept.
    pub counts: BTreeMap<&'static str, usize>,
    /// Acknowledged records never read (an anomaly only when drained).
    pub unseen: usize,
    /// Acknowledged records.
    pub writes: usize,
    /// Records returned by reads.
    pub reads: usize,
    /// What this run allowed and why.
    pub allowances: Vec<String>,
}

impl Report {
    /// Whether any anomaly was found.
    pub fn is_clean(&self) -> bool {
        self.counts.is_empty()
    }

    fn add(&mut self, name: &'static str, ops: Vec<usize>, explanation: String) {
        let count = self.counts.entry(name).or_insert(0);
        *count += 1;
        if *count <= EXAMPLES_PER_NAME_MAX {
            let mut ops = ops;
            ops.sort_unstable();
            ops.dedup();
            self.anomalies.push(Anomaly {
                name,
                ops,
                explanation,
            });
        }
    }
}

/// A record seen at an offset, and the op that saw (or wrote) it.
#[derive(Clone, Debug)]
struct Sighting {
    tp: TopicPartition,
    offset: i64,
    value: Option<Bytes>,
    op: usize,
}

/// A member's generation and, per partition, the last offset it polled and the op.
type MemberReads<'h> = (i32, HashMap<&'h TopicPartition, (i64, usize)>);

/// A log start someone observed (or caused), and when.
#[derive(Clone, Copy, Debug)]
struct LogStartSeen {
    log_start: i64,
    complete_ns: u64,
    op: usize,
}

fn show(value: &Option<Bytes>) -> String {
    match value {
        Some(v) => format!("{v:?}"),
        None => "null".into(),
    }
}

/// What the anomaly checker allows, stated in every report.
fn allowances(options: &Options) -> Vec<String> {
    vec![
        "assign mode (fetch): offsets are chosen by the client; only offsets within one reply \
         are judged for skips and order"
            .into(),
        "subscribe mode (poll): at-least-once; a member may re-read from the committed offset \
         after a rebalance (new generation); within one generation a re-read is \
         nonmonotonic-poll"
            .into(),
        "a jump forward to or below an observed log start is a reset, not a skip; records \
         below the highest observed log start are not lost"
            .into(),
        if options.drained {
            "drained history: an acknowledged record never read is `unseen`, an anomaly".into()
        } else {
            "not drained: acknowledged records never read are counted, not reported".into()
        },
    ]
}

/// Checks a history for anomalies.
pub fn check(history: &History, options: &Options) -> Report {
    let mut report = Report {
        allowances: allowances(options),
        ..Report::default()
    };

    let ops = &history.ops;
    let mut writes: Vec<Sighting> = Vec::new();
    // (op, sightings in reply order, subscribe-mode consumer)
    let mut reads: Vec<(usize, Vec<Sighting>)> = Vec::new();
    let mut log_starts: HashMap<TopicPartition, Vec<LogStartSeen>> = HashMap::new();
    let mut forever_topics: BTreeSet<String> = BTreeSet::new();
    let mut deleted_topics: BTreeSet<String> = BTreeSet::new();

    for o in ops {
        let done = o.complete_ns.unwrap_or(u64::MAX);
        let seen_start = |tp: TopicPartition, log_start: i64, map: &mut HashMap<_, Vec<_>>| {
            map.entry(tp).or_default().push(LogStartSeen {
                log_start,
                complete_ns: done,
                op: o.id,
            });
        };
        match (&o.op, &o.outcome) {
            (Op::CreateTopic { topic, config, .. }, Outcome::Ok(_))
                if config.retention_ms == -1
                    && config.retention_bytes == -1
                    && config.retention_policy == RetentionPolicy::Delete =>
            {
                forever_topics.insert(topic.clone());
            }
            (Op::DeleteTopic { topic }, _) => {
                deleted_topics.insert(topic.clone());
            }
            (
                Op::Produce { topic, records, .. },
                Outcome::Ok(Reply::Produced {
                    partition,
                    base_offset,
                    ..
                }),
            ) => {
                for (i, r) in records.iter().enumerate() {
                    writes.push(Sighting {
                        tp: TopicPartition::new(topic.clone(), *partition),
                        offset: base_offset + i as i64,
                        value: r.value.clone(),
                        op: o.id,
                    });
                }
            }
            (
                Op::Fetch {
                    topic, partition, ..
                },
                Outcome::Ok(Reply::Fetched {
                    records,
                    log_start_offset,
                    ..
                }),
            ) => {
                let tp = TopicPartition::new(topic.clone(), *partition);
                seen_start(tp.clone(), *log_start_offset, &mut log_starts);
                reads.push((
                    o.id,
                    records
                        .iter()
                        .map(|r| Sighting {
                            tp: tp.clone(),
                            offset: r.offset,
                            value: r.value.clone(),
                            op: o.id,
                        })
                        .collect(),
                ));
                if let Some(r) = records.iter().find(|r| r.offset < *log_start_offset) {
                    report.add(
                        READ_BELOW_LOG_START,
                        vec![o.id],
                        format!(
                            "fetch of {tp} returned offset {} below the log start {log_start_offset} it reported",
                            r.offset
                        ),
                    );
                }
            }
            (Op::Poll { .. }, Outcome::Ok(Reply::Polled { records })) => {
                reads.push((
                    o.id,
                    records
                        .iter()
                        .map(|r| Sighting {
                            tp: TopicPartition::new(r.topic.clone(), r.partition),
                            offset: r.record.offset,
                            value: r.record.value.clone(),
                            op: o.id,
                        })
                        .collect(),
                ));
            }
            (
                Op::DeleteRecords {
                    topic, partition, ..
                },
                Outcome::Ok(Reply::LowWatermark { low_watermark }),
            ) => seen_start(
                TopicPartition::new(topic.clone(), *partition),
                *low_watermark,
                &mut log_starts,
            ),
            (
                Op::ListOffsets {
                    topic,
                    partition,
                    spec: streamspec_model::OffsetSpec::Earliest,
                },
                Outcome::Ok(Reply::ListedOffset {
                    offset: Some(offset),
                    ..
                }),
            ) => seen_start(
                TopicPartition::new(topic.clone(), *partition),
                *offset,
                &mut log_starts,
            ),
            (Op::EnforceRetention, Outcome::Ok(Reply::Retained { advanced })) => {
                for moved in advanced {
                    seen_start(
                        TopicPartition::new(moved.topic.clone(), moved.partition),
                        moved.log_start_offset,
                        &mut log_starts,
                    );
                }
            }
            _ => {}
        }
    }
    for seen in log_starts.values_mut() {
        seen.sort_by_key(|s| s.complete_ns);
    }
    report.writes = writes.len();
    report.reads = reads.iter().map(|(_, r)| r.len()).sum();
    let max_log_start = |tp: &TopicPartition| -> i64 {
        log_starts
            .get(tp)
            .and_then(|v| v.iter().map(|s| s.log_start).max())
            .unwrap_or(0)
    };

    // inconsistent-offsets and duplicate: every sighting, writes first.
    let mut at_offset: HashMap<(&TopicPartition, i64), &Sighting> = HashMap::new();
    let mut reported_offsets: BTreeSet<(&TopicPartition, i64)> = BTreeSet::new();
    let mut where_value: HashMap<&Bytes, Vec<&Sighting>> = HashMap::new();
    let all_sightings = writes
        .iter()
        .chain(reads.iter().flat_map(|(_, r)| r.iter()));
    for s in all_sightings {
        match at_offset.get(&(&s.tp, s.offset)) {
            None => {
                at_offset.insert((&s.tp, s.offset), s);
            }
            Some(first) if first.value != s.value => {
                if reported_offsets.insert((&s.tp, s.offset)) {
                    report.add(
                        INCONSISTENT_OFFSETS,
                        vec![first.op, s.op],
                        format!(
                            "{} offset {} holds {} (op {}) and {} (op {})",
                            s.tp,
                            s.offset,
                            show(&first.value),
                            first.op,
                            show(&s.value),
                            s.op
                        ),
                    );
                }
            }
            Some(_) => {}
        }
        if let Some(v) = &s.value {
            let places = where_value.entry(v).or_default();
            if !places.iter().any(|p| p.tp == s.tp && p.offset == s.offset) {
                places.push(s);
            }
        }
    }
    let mut duplicates: Vec<(&Bytes, &Vec<&Sighting>)> = where_value
        .iter()
        .filter(|(_, p)| p.len() > 1)
        .map(|(v, p)| (*v, p))
        .collect();
    duplicates.sort_by_key(|(_, p)| p.iter().map(|s| s.op).min());
    for (value, places) in duplicates {
        let where_: Vec<String> = places
            .iter()
            .map(|s| format!("{} offset {} (op {})", s.tp, s.offset, s.op))
            .collect();
        report.add(
            DUPLICATE,
            places.iter().map(|s| s.op).collect(),
            format!("value {value:?} appears at {}", where_.join(" and ")),
        );
    }

    // lost-write and unseen.
    let mut read_values: BTreeSet<(&TopicPartition, &Bytes)> = BTreeSet::new();
    let mut max_read: HashMap<&TopicPartition, i64> = HashMap::new();
    for (_, sightings) in &reads {
        for s in sightings {
            if let Some(v) = &s.value {
                read_values.insert((&s.tp, v));
            }
            let m = max_read.entry(&s.tp).or_insert(-1);
            *m = (*m).max(s.offset);
        }
    }
    for w in &writes {
        let Some(value) = &w.value else { continue };
        if deleted_topics.contains(&w.tp.topic)
            || w.offset < max_log_start(&w.tp)
            || read_values.contains(&(&w.tp, value))
        {
            continue;
        }
        let high_read = max_read.get(&w.tp).copied().unwrap_or(-1);
        if w.offset < high_read {
            report.add(
                LOST_WRITE,
                vec![w.op],
                format!(
                    "{value:?} acknowledged at {} offset {} was never read, though reads reached offset {high_read}",
                    w.tp, w.offset
                ),
            );
        } else {
            report.unseen += 1;
            if options.drained {
                report.add(
                    UNSEEN,
                    vec![w.op],
                    format!(
                        "{value:?} acknowledged at {} offset {} was never read by the end",
                        w.tp, w.offset
                    ),
                );
            }
        }
    }

    // nonmonotonic-send: per process and partition, in the process's order.
    let mut last_send: HashMap<(u64, &TopicPartition), (i64, usize)> = HashMap::new();
    for w in &writes {
        let o = &ops[w.op];
        let key = (o.process, &w.tp);
        if let Some(&(previous, previous_op)) = last_send.get(&key) {
            if w.offset <= previous && previous_op != w.op {
                report.add(
                    NONMONOTONIC_SEND,
                    vec![previous_op, w.op],
                    format!(
                        "process {} sent to {} at offset {previous} (op {previous_op}), then at offset {} (op {})",
                        o.process, w.tp, w.offset, w.op
                    ),
                );
            }
        }
        last_send.insert(key, (w.offset, w.op));
    }

    // Order within each read, and between polls of one member in one generation.
    let log_start_before = |tp: &TopicPartition, t: u64| -> Option<&LogStartSeen> {
        log_starts
            .get(tp)?
            .iter()
            .filter(|s| s.complete_ns < t)
            .max_by_key(|s| s.log_start)
    };
    let mut member_last: HashMap<(&str, &str), MemberReads<'_>> = HashMap::new();
    for (op_id, sightings) in &reads {
        let o = &ops[*op_id];
        let mut last_in_read: HashMap<&TopicPartition, i64> = HashMap::new();
        for s in sightings {
            if let Some(&previous) = last_in_read.get(&s.tp) {
                if s.offset <= previous {
                    report.add(
                        NONMONOTONIC_POLL,
                        vec![*op_id],
                        format!(
                            "one read of {} returned offset {} after offset {previous}",
                            s.tp, s.offset
                        ),
                    );
                } else if s.offset > previous + 1 {
                    report.add(
                        POLL_SKIP,
                        vec![*op_id],
                        format!(
                            "one read of {} jumped from offset {previous} to {}",
                            s.tp, s.offset
                        ),
                    );
                }
            }
            last_in_read.insert(&s.tp, s.offset);
            if let Some(seen) = log_start_before(&s.tp, o.invoke_ns) {
                if s.offset < seen.log_start {
                    report.add(
                        READ_BELOW_LOG_START,
                        vec![seen.op, *op_id],
                        format!(
                            "{} offset {} was read (op {op_id}) after the log start {} was seen (op {})",
                            s.tp, s.offset, seen.log_start, seen.op
                        ),
                    );
                }
            }
        }
        let Op::Poll {
            group,
            member,
            generation,
            ..
        } = &o.op
        else {
            continue;
        };
        let entry = member_last
            .entry((group.as_str(), member.as_str()))
            .or_insert((*generation, HashMap::new()));
        if entry.0 != *generation {
            // A rebalance: positions restart from the committed offsets (at least once).
            *entry = (*generation, HashMap::new());
        }
        let mut first_in_read: BTreeMap<&TopicPartition, i64> = BTreeMap::new();
        for s in sightings {
            first_in_read.entry(&s.tp).or_insert(s.offset);
        }
        for (tp, first) in first_in_read {
            if let Some(&(last, last_op)) = entry.1.get(tp) {
                if first <= last {
                    report.add(
                        NONMONOTONIC_POLL,
                        vec![last_op, *op_id],
                        format!(
                            "member {member} of group {group} in generation {generation} read {tp} up to offset {last} (op {last_op}), then again from offset {first} (op {op_id}) without a rebalance"
                        ),
                    );
                } else if first > last + 1 && first > max_log_start(tp) {
                    report.add(
                        POLL_SKIP,
                        vec![last_op, *op_id],
                        format!(
                            "member {member} of group {group} in generation {generation} read {tp} up to offset {last} (op {last_op}), then from offset {first} (op {op_id}), skipping {} offsets",
                            first - last - 1
                        ),
                    );
                }
            }
        }
        for s in sightings {
            entry.1.insert(&s.tp, (s.offset, *op_id));
        }
    }

    stale_commits(history, &mut report);
    illegal_retention(
        history,
        &forever_topics,
        &deleted_topics,
        &log_starts,
        &mut report,
    );
    report
}

/// `stale-generation-commit`: an acknowledged member commit whose generation the group had
/// left before the commit was invoked, or a committed value only refused commits wrote.
fn stale_commits(history: &History, report: &mut Report) {
    let ops = &history.ops;
    // Per group: (completion time, generation known current or past) from replies.
    let mut generations: HashMap<&str, Vec<(u64, i32, usize)>> = HashMap::new();
    for o in ops {
        let Some(done) = o.complete_ns else { continue };
        match (&o.op, &o.outcome) {
            (Op::JoinGroup { group, .. }, Outcome::Ok(Reply::Joined { generation, .. }))
            | (Op::DescribeGroup { group }, Outcome::Ok(Reply::Group { generation, .. })) => {
                generations
                    .entry(group.as_str())
                    .or_default()
                    .push((done, *generation, o.id));
            }
            // Refused as too old: the group is past this generation.
            (
                Op::Heartbeat {
                    group, generation, ..
                }
                | Op::Poll {
                    group, generation, ..
                },
                Outcome::Fail(streamspec_model::ErrorCode::RebalanceInProgress),
            ) => {
                generations
                    .entry(group.as_str())
                    .or_default()
                    .push((done, generation + 1, o.id));
            }
            _ => {}
        }
    }
    // Which (group, tp, offset) values some commit may have written.
    let mut writable: BTreeSet<(&str, &str, i32, i64)> = BTreeSet::new();
    let mut refused: HashMap<(&str, &str, i32, i64), usize> = HashMap::new();
    for o in ops {
        if let Op::Commit {
            group,
            member,
            generation,
            topic,
            partition,
            offset,
            ..
        } = &o.op
        {
            let key = (group.as_str(), topic.as_str(), *partition, *offset);
            match &o.outcome {
                Outcome::Fail(_) => {
                    refused.entry(key).or_insert(o.id);
                }
                Outcome::Ok(_) | Outcome::Info => {
                    writable.insert(key);
                }
            }
            if member.is_none() || !matches!(o.outcome, Outcome::Ok(_)) {
                continue;
            }
            let newer = generations.get(group.as_str()).and_then(|seen| {
                seen.iter()
                    .filter(|(t, g, _)| *t < o.invoke_ns && g > generation)
                    .max_by_key(|(_, g, _)| *g)
            });
            if let Some(&(_, current, witness)) = newer {
                report.add(
                    STALE_GENERATION_COMMIT,
                    vec![witness, o.id],
                    format!(
                        "commit of {topic}-{partition} offset {offset} by {} in generation {generation} was acknowledged (op {}), but group {group} was already in generation {current} (op {witness})",
                        member.as_deref().unwrap_or("?"),
                        o.id
                    ),
                );
            }
        }
    }
    for o in ops {
        if let (
            Op::Committed {
                group,
                topic,
                partition,
            },
            Outcome::Ok(Reply::CommittedOffset {
                offset: Some(offset),
                ..
            }),
        ) = (&o.op, &o.outcome)
        {
            let key = (group.as_str(), topic.as_str(), *partition, *offset);
            if !writable.contains(&key) {
                if let Some(&refused_op) = refused.get(&key) {
                    report.add(
                        STALE_GENERATION_COMMIT,
                        vec![refused_op, o.id],
                        format!(
                            "group {group} shows committed offset {offset} for {topic}-{partition} (op {}), which only a refused commit wrote (op {refused_op})",
                            o.id
                        ),
                    );
                }
            }
        }
    }
}

/// `illegal-retention` on topics that keep records forever: a log start beyond every
/// `delete_records` invoked before it was seen.
fn illegal_retention(
    history: &History,
    forever_topics: &BTreeSet<String>,
    deleted_topics: &BTreeSet<String>,
    log_starts: &HashMap<TopicPartition, Vec<LogStartSeen>>,
    report: &mut Report,
) {
    // Per partition: (invoke time, target offset; i64::MAX for "-1", the high watermark).
    let mut deletes: HashMap<TopicPartition, Vec<(u64, i64)>> = HashMap::new();
    for o in &history.ops {
        if let Op::DeleteRecords {
            topic,
            partition,
            offset,
        } = &o.op
        {
            let target = if *offset == -1 { i64::MAX } else { *offset };
            deletes
                .entry(TopicPartition::new(topic.clone(), *partition))
                .or_default()
                .push((o.invoke_ns, target));
        }
    }
    let mut partitions: Vec<&TopicPartition> = log_starts.keys().collect();
    partitions.sort();
    for tp in partitions {
        if !forever_topics.contains(&tp.topic) || deleted_topics.contains(&tp.topic) {
            continue;
        }
        for seen in &log_starts[tp] {
            let allowed = deletes
                .get(tp)
                .into_iter()
                .flatten()
                .filter(|(t, _)| *t < seen.complete_ns)
                .map(|(_, target)| *target)
                .max()
                .unwrap_or(0);
            if seen.log_start > allowed {
                report.add(
                    ILLEGAL_RETENTION,
                    vec![seen.op],
                    format!(
                        "{tp} keeps records forever, yet its log start was {} (op {}) with delete_records allowing only {allowed}",
                        seen.log_start, seen.op
                    ),
                );
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use streamspec_model::{Record, StoredRecord};

    fn produce(p: i32, value: &str) -> Op {
        Op::Produce {
            topic: "t".into(),
            partition: Some(p),
            records: vec![Record::value(value)],
            producer: None,
        }
    }
    fn produced(p: i32, offset: i64) -> Result<Reply, streamspec_model::ErrorCode> {
        Ok(Reply::Produced {
            partition: p,
            base_offset: offset,
            log_append_time_ms: None,
        })
    }
    fn fetch(offset: i64) -> Op {
        Op::Fetch {
            topic: "t".into(),
            partition: 0,
            offset,
            max_records: 10,
            max_bytes: 1 << 20,
        }
    }
    fn fetched(
        log_start: i64,
        records: &[(i64, &str)],
    ) -> Result<Reply, streamspec_model::ErrorCode> {
        Ok(Reply::Fetched {
            records: records
                .iter()
                .map(|(o, v)| StoredRecord {
                    offset: *o,
                    timestamp_ms: 0,
                    key: None,
                    value: Some((*v).into()),
                    headers: vec![],
                })
                .collect(),
            high_watermark: 10,
            log_start_offset: log_start,
        })
    }

    fn names(history: &History, drained: bool) -> Vec<&'static str> {
        let report = check(history, &Options { drained });
        report.counts.keys().copied().collect()
    }

    #[test]
    fn a_clean_history_has_no_anomaly_and_each_planted_one_is_named() {
        // Goal: each name fires on the smallest history that shows it, and not otherwise.
        let clean = History::sequential([
            (produce(0, "a"), produced(0, 0)),
            (produce(0, "b"), produced(0, 1)),
            (fetch(0), fetched(0, &[(0, "a"), (1, "b")])),
        ]);
        assert_eq!(names(&clean, true), Vec::<&str>::new());

        let duplicate = History::sequential([
            (produce(0, "a"), produced(0, 0)),
            (produce(1, "a"), produced(1, 0)),
        ]);
        assert_eq!(names(&duplicate, false), vec![DUPLICATE]);

        let send = History::sequential([
            (produce(0, "a"), produced(0, 5)),
            (produce(0, "b"), produced(0, 4)),
        ]);
        assert_eq!(names(&send, false), vec![NONMONOTONIC_SEND]);

        let unseen = History::sequential([(produce(0, "a"), produced(0, 0))]);
        assert_eq!(names(&unseen, false), Vec::<&str>::new());
        assert_eq!(check(&unseen, &Options { drained: false }).unseen, 1);
        assert_eq!(names(&unseen, true), vec![UNSEEN]);

        let below = History::sequential([
            (
                Op::DeleteRecords {
                    topic: "t".into(),
                    partition: 0,
                    offset: 2,
                },
                Ok(Reply::LowWatermark { low_watermark: 2 }),
            ),
            (fetch(0), fetched(0, &[(0, "a")])),
        ]);
        assert!(names(&below, false).contains(&READ_BELOW_LOG_START));
        let in_reply = History::sequential([(fetch(0), fetched(1, &[(0, "a")]))]);
        assert_eq!(names(&in_reply, false), vec![READ_BELOW_LOG_START]);

        // A record removed by delete_records is not lost.
        let deleted = History::sequential([
            (produce(0, "a"), produced(0, 0)),
            (produce(0, "b"), produced(0, 1)),
            (
                Op::DeleteRecords {
                    topic: "t".into(),
                    partition: 0,
                    offset: 1,
                },
                Ok(Reply::LowWatermark { low_watermark: 1 }),
            ),
            (fetch(1), fetched(1, &[(1, "b")])),
        ]);
        assert_eq!(names(&deleted, true), Vec::<&str>::new());
    }
}
