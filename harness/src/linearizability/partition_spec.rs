//! The sequential spec of one partition's log: `produce` (plain, to this partition), `fetch`,
//! `list_offsets` and `delete_records`, exactly as docs/model.md states them, in a form the
//! search can clone and hash in a few words.
//!
//! The state the search memoises is [`PartitionState`]: log start, high watermark and a
//! 128-bit digest of *which* produce filled which offsets, in order. The records themselves
//! live once, in [`PartitionSpec::log`], a side log that is valid up to the high watermark of
//! whatever state the search steps from next: every step first truncates it to that state's
//! high watermark, because anything above was written by a path the search abandoned. So a
//! state is 40 bytes however long the log grows, and backtracking costs nothing.
//!
//! Assumptions, checked by the caller before choosing this spec: the topic exists with the
//! given config for the whole (sub-)history, the partition starts empty, the clock does not
//! move (no `tick` in the history), and no produce is idempotent. A test cross-checks this
//! spec against the full model on random sequences.

use streamspec_model::config::{BATCH_RECORDS_MAX, FETCH_RECORDS_MAX};
use streamspec_model::{
    ErrorCode, OffsetSpec, Op, Record, Reply, StoredRecord, TimestampType, TopicConfig,
};

use super::search::Spec;
use crate::history::Outcome;

/// What the search memoises for one partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PartitionState {
    /// The log start offset.
    pub log_start: i64,
    /// The high watermark (next offset to write).
    pub high_watermark: i64,
    /// Digest of the sequence of appended batches (op id, in order). Two states with the
    /// same digest hold the same records, up to a 2^-128 chance of collision.
    pub content: (u64, u64),
}

/// One stored record: where its data is, and what was computed at append time.
#[derive(Clone, Copy, Debug)]
struct LogRecord {
    /// Index of the producing op in [`PartitionSpec::ops`].
    op: u32,
    /// Index of the record in that op's batch.
    record: u32,
    timestamp_ms: i64,
    size_bytes: u64,
}

/// The spec of one partition of one topic.
pub struct PartitionSpec<'h> {
    /// The ops of the search input, by id (so the log can point at their records).
    ops: Vec<&'h Op>,
    /// The partition's index.
    partition: i32,
    config: TopicConfig,
    /// The model's clock, constant over the history.
    now_ms: i64,
    /// The side log: offset `o` is `log[o]`, valid below the current state's high watermark.
    log: Vec<LogRecord>,
}

impl<'h> PartitionSpec<'h> {
    /// A spec for `partition` of a topic with `config`, the clock at `now_ms`, checking the
    /// search input `ops` (in the same order as the search's entries).
    pub fn new(
        ops: Vec<&'h Op>,
        partition: i32,
        config: TopicConfig,
        now_ms: i64,
    ) -> PartitionSpec<'h> {
        PartitionSpec {
            ops,
            partition,
            config,
            now_ms,
            log: Vec::new(),
        }
    }

    /// Whether this spec can check `op` (one of its four kinds, plain produce).
    pub fn supports(op: &Op) -> bool {
        match op {
            Op::Produce { producer, .. } => producer.is_none(),
            Op::Fetch { .. } | Op::ListOffsets { .. } | Op::DeleteRecords { .. } => true,
            _ => false,
        }
    }

    fn record(&self, at: &LogRecord) -> &'h Record {
        match self.ops[at.op as usize] {
            Op::Produce { records, .. } => &records[at.record as usize],
            _ => unreachable!("the log only points at produce ops"),
        }
    }

    fn stored_matches(&self, at: &LogRecord, offset: i64, got: &StoredRecord) -> bool {
        let record = self.record(at);
        got.offset == offset
            && got.timestamp_ms == at.timestamp_ms
            && got.key == record.key
            && got.value == record.value
            && got.headers == record.headers
    }

    /// Refusals of a produce, in the documented order (the topic and partition exist).
    fn produce_error(&self, records: &[Record]) -> Option<ErrorCode> {
        if records.is_empty() {
            return Some(ErrorCode::InvalidRequest);
        }
        if records.len() > BATCH_RECORDS_MAX {
            return Some(ErrorCode::RecordListTooLarge);
        }
        if records
            .iter()
            .any(|r| r.timestamp_ms.is_some_and(|t| t < 0))
        {
            return Some(ErrorCode::InvalidRequest);
        }
        let batch_bytes: u64 = records.iter().map(Record::size_bytes).sum();
        if batch_bytes > self.config.max_message_bytes {
            return Some(ErrorCode::MessageTooLarge);
        }
        None
    }

    fn produce(
        &mut self,
        state: &PartitionState,
        id: usize,
        records: &[Record],
        outcome: &Outcome,
    ) -> Option<PartitionState> {
        if let Some(code) = self.produce_error(records) {
            return expect_error(state, code, outcome);
        }
        let log_append_time_ms = match self.config.timestamp_type {
            TimestampType::LogAppendTime => Some(self.now_ms),
            TimestampType::CreateTime => None,
        };
        match outcome {
            Outcome::Ok(Reply::Produced {
                partition,
                base_offset,
                log_append_time_ms: got_time,
            }) if *partition == self.partition
                && *base_offset == state.high_watermark
                && *got_time == log_append_time_ms => {}
            Outcome::Info => {}
            _ => return None,
        }
        for (index, record) in records.iter().enumerate() {
            let timestamp_ms = match self.config.timestamp_type {
                TimestampType::LogAppendTime => self.now_ms,
                TimestampType::CreateTime => record.timestamp_ms.unwrap_or(self.now_ms),
            };
            self.log.push(LogRecord {
                op: id as u32,
                record: index as u32,
                timestamp_ms,
                size_bytes: record.size_bytes(),
            });
        }
        let (a, b) = state.content;
        Some(PartitionState {
            log_start: state.log_start,
            high_watermark: state.high_watermark + records.len() as i64,
            content: (
                mix(a ^ 0x9e37_79b9_7f4a_7c15, id as u64),
                mix(b.rotate_left(17) ^ 0xc2b2_ae3d_27d4_eb4f, id as u64 + 1),
            ),
        })
    }

    fn fetch(
        &self,
        state: &PartitionState,
        offset: i64,
        max_records: u32,
        max_bytes: u64,
        outcome: &Outcome,
    ) -> Option<PartitionState> {
        if !(1..=FETCH_RECORDS_MAX).contains(&max_records) {
            return expect_error(state, ErrorCode::InvalidRequest, outcome);
        }
        if offset < state.log_start || offset > state.high_watermark {
            return expect_error(state, ErrorCode::OffsetOutOfRange, outcome);
        }
        let Outcome::Ok(Reply::Fetched {
            records,
            high_watermark,
            log_start_offset,
        }) = outcome
        else {
            return matches!(outcome, Outcome::Info).then_some(*state);
        };
        if *high_watermark != state.high_watermark || *log_start_offset != state.log_start {
            return None;
        }
        // The expected count: the first record always, then while within both limits.
        let mut count = 0usize;
        let mut bytes = 0u64;
        let mut at = offset;
        while at < state.high_watermark {
            let next_bytes = bytes + self.log[at as usize].size_bytes;
            if count > 0 && (count + 1 > max_records as usize || next_bytes > max_bytes) {
                break;
            }
            count += 1;
            bytes = next_bytes;
            at += 1;
        }
        if records.len() != count {
            return None;
        }
        let all_match = records.iter().enumerate().all(|(k, got)| {
            let o = offset + k as i64;
            self.stored_matches(&self.log[o as usize], o, got)
        });
        all_match.then_some(*state)
    }

    fn list_offsets(
        &self,
        state: &PartitionState,
        spec: &OffsetSpec,
        outcome: &Outcome,
    ) -> Option<PartitionState> {
        let retained = state.log_start..state.high_watermark;
        let (offset, timestamp_ms) = match *spec {
            OffsetSpec::Timestamp { timestamp_ms } if timestamp_ms < 0 => {
                return expect_error(state, ErrorCode::InvalidRequest, outcome);
            }
            OffsetSpec::Earliest => (Some(state.log_start), None),
            OffsetSpec::Latest => (Some(state.high_watermark), None),
            OffsetSpec::Timestamp { timestamp_ms } => retained
                .map(|o| (o, self.log[o as usize].timestamp_ms))
                .find(|&(_, t)| t >= timestamp_ms)
                .map_or((None, None), |(o, t)| (Some(o), Some(t))),
            OffsetSpec::MaxTimestamp => {
                let mut best: Option<(i64, i64)> = None;
                for o in retained {
                    let t = self.log[o as usize].timestamp_ms;
                    if best.is_none_or(|(_, bt)| t > bt) {
                        best = Some((o, t));
                    }
                }
                best.map_or((None, None), |(o, t)| (Some(o), Some(t)))
            }
        };
        expect_reply(
            state,
            &Reply::ListedOffset {
                offset,
                timestamp_ms,
            },
            outcome,
        )
    }

    fn delete_records(
        &self,
        state: &PartitionState,
        offset: i64,
        outcome: &Outcome,
    ) -> Option<PartitionState> {
        let target = if offset == -1 {
            state.high_watermark
        } else {
            offset
        };
        if target < 0 || target > state.high_watermark {
            return expect_error(state, ErrorCode::OffsetOutOfRange, outcome);
        }
        let next = PartitionState {
            log_start: state.log_start.max(target),
            ..*state
        };
        expect_reply(
            &next,
            &Reply::LowWatermark {
                low_watermark: next.log_start,
            },
            outcome,
        )
    }
}

/// The state unchanged if the observed outcome is this error (or unknown).
fn expect_error(
    state: &PartitionState,
    code: ErrorCode,
    outcome: &Outcome,
) -> Option<PartitionState> {
    match outcome {
        Outcome::Fail(got) if *got == code => Some(*state),
        Outcome::Info => Some(*state),
        _ => None,
    }
}

/// `next` if the observed outcome is this reply (or unknown).
fn expect_reply(next: &PartitionState, reply: &Reply, outcome: &Outcome) -> Option<PartitionState> {
    match outcome {
        Outcome::Ok(got) if got == reply => Some(*next),
        Outcome::Info => Some(*next),
        _ => None,
    }
}

/// A 64-bit mixing step (splitmix64's finaliser over the sum).
fn mix(a: u64, b: u64) -> u64 {
    let mut z = a.wrapping_add(b.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Spec for PartitionSpec<'_> {
    type State = PartitionState;

    fn initial(&mut self) -> PartitionState {
        self.log.clear();
        PartitionState {
            log_start: 0,
            high_watermark: 0,
            content: (0, 0),
        }
    }

    fn step(
        &mut self,
        state: &PartitionState,
        id: usize,
        op: &Op,
        outcome: &Outcome,
    ) -> Option<PartitionState> {
        // Anything above this state's high watermark belongs to an abandoned path.
        self.log.truncate(state.high_watermark as usize);
        match op {
            Op::Produce {
                records,
                producer: None,
                ..
            } => self.produce(state, id, records, outcome),
            Op::Fetch {
                offset,
                max_records,
                max_bytes,
                ..
            } => self.fetch(state, *offset, *max_records, *max_bytes, outcome),
            Op::ListOffsets { spec, .. } => self.list_offsets(state, spec, outcome),
            Op::DeleteRecords { offset, .. } => self.delete_records(state, *offset, outcome),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use streamspec_model::{Model, Record, Ret, TimestampType};

    use super::super::model_spec::ModelSpec;
    use super::super::search::{search, Bounds, Entry, SearchOutcome};
    use super::*;
    use crate::workload::Rng;

    const TOPIC: &str = "t";

    fn random_op(rng: &mut Rng, high_watermark: i64, sent: &mut u64) -> Op {
        let offset = rng.below(high_watermark as u64 + 3) as i64 - 1;
        match rng.below(10) {
            0..=3 => Op::Produce {
                topic: TOPIC.into(),
                partition: Some(0),
                records: (0..rng.below(4))
                    .map(|_| {
                        *sent += 1;
                        Record {
                            value: Some(format!("v{sent}").as_str().into()),
                            key: rng.chance(30).then(|| "k".into()),
                            timestamp_ms: rng.chance(50).then(|| rng.below(200) as i64 - 10),
                            headers: vec![],
                        }
                    })
                    .collect(),
                producer: None,
            },
            4..=6 => Op::Fetch {
                topic: TOPIC.into(),
                partition: 0,
                offset,
                max_records: rng.below(5) as u32,
                max_bytes: rng.below(80),
            },
            7..=8 => Op::ListOffsets {
                topic: TOPIC.into(),
                partition: 0,
                spec: match rng.below(4) {
                    0 => OffsetSpec::Earliest,
                    1 => OffsetSpec::Latest,
                    2 => OffsetSpec::MaxTimestamp,
                    _ => OffsetSpec::Timestamp {
                        timestamp_ms: rng.below(200) as i64 - 5,
                    },
                },
            },
            _ => Op::DeleteRecords {
                topic: TOPIC.into(),
                partition: 0,
                offset,
            },
        }
    }

    fn verdicts(
        model: &Model,
        config: &TopicConfig,
        ops: &[Op],
        outcomes: &[Outcome],
    ) -> (SearchOutcome, SearchOutcome) {
        // Pairs overlap (each op with the next) so the search has choices to make.
        let entries: Vec<Entry<'_>> = ops
            .iter()
            .zip(outcomes)
            .enumerate()
            .map(|(i, (op, outcome))| Entry {
                op,
                outcome: outcome.clone(),
                invoke_ns: 10 * i as u64,
                deadline_ns: 10 * i as u64 + if i % 3 == 0 { 15 } else { 5 },
            })
            .collect();
        let bounds = Bounds {
            deadline: Instant::now() + Duration::from_secs(20),
            memo_bytes_max: 1 << 28,
        };
        let mut compact =
            PartitionSpec::new(ops.iter().collect(), 0, config.clone(), model.now_ms());
        let mut full = ModelSpec::new(model.clone());
        (
            search(&mut compact, &entries, &bounds),
            search(&mut full, &entries, &bounds),
        )
    }

    #[test]
    fn compact_spec_agrees_with_the_full_model() {
        // Goal: the compact partition spec accepts exactly what the model accepts. Method:
        // random op sequences (valid and invalid) run on the model give the true outcomes;
        // both specs must accept them, and must agree on versions with one outcome taken
        // from another op (mostly wrong, sometimes still right).
        let mut rng = Rng::new(7);
        let mut rejected = 0;
        for round in 0..300 {
            let config = TopicConfig {
                max_message_bytes: if rng.chance(20) { 40 } else { 1 << 20 },
                timestamp_type: if rng.chance(30) {
                    TimestampType::LogAppendTime
                } else {
                    TimestampType::CreateTime
                },
                ..TopicConfig::default()
            };
            let mut model = Model::new();
            model.apply(&Op::Tick { ms: 50 }).unwrap();
            model
                .apply(&Op::CreateTopic {
                    topic: TOPIC.into(),
                    partitions: 1,
                    config: config.clone(),
                })
                .unwrap();
            let base = model.clone();
            let (mut ops, mut outcomes) = (Vec::new(), Vec::new());
            let mut sent = 0;
            for _ in 0..12 {
                let high_watermark = model.high_watermark(TOPIC, 0).unwrap();
                let op = random_op(&mut rng, high_watermark, &mut sent);
                let ret: Ret = model.apply(&op);
                ops.push(op);
                outcomes.push(Outcome::from_ret(ret));
            }
            let (compact, full) = verdicts(&base, &config, &ops, &outcomes);
            assert_eq!(compact, SearchOutcome::Linearizable, "round {round}");
            assert_eq!(full, SearchOutcome::Linearizable, "round {round}");
            let (i, j) = (rng.below(12) as usize, rng.below(12) as usize);
            outcomes[i] = outcomes[j].clone();
            let (compact, full) = verdicts(&base, &config, &ops, &outcomes);
            assert_eq!(
                compact, full,
                "round {round}: outcome of op {j} given to op {i}"
            );
            if compact == SearchOutcome::NotLinearizable {
                rejected += 1;
            }
        }
        assert!(
            rejected > 50,
            "only {rejected} perturbed histories were wrong"
        );
    }
}
