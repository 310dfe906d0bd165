//! The differential state machine: random op sequences applied to the model and to a
//! [`Target`] in lockstep; every result must be one the model allows.
//!
//! Sequences mix valid and invalid ops on purpose: unknown topics and partitions, offsets out
//! of range, stale generations and zombie commits, retried idempotent batches (duplicates),
//! out-of-order sequences, `enforce_retention` and `tick` in the middle. The comparison
//! accepts exactly the choices docs/model.md allows (keyless partition, lazy retention) via
//! [`ModelSpec`], so a target that takes another allowed choice is not a failure.
//!
//! On a mismatch the sequence is shrunk (delta debugging: drop chunks of halving size while
//! the mismatch stays) and written as a trace ([`crate::trace`], `docs/trace-format.md`) with
//! the *target's* results, so `streamspec replay` shows the divergence.

use std::io::Write;

use streamspec_model::{
    Model, OffsetReset, OffsetSpec, Op, ProducerBatch, Record, Ret, RetentionPolicy, TimestampType,
    TopicConfig,
};

use crate::history::Outcome;
use crate::linearizability::model_spec::ModelSpec;
use crate::linearizability::search::Spec;
use crate::target::Target;
use crate::trace::{ret_json, write_trace, Step};
use crate::workload::Rng;

/// Where a target first left what the model allows.
#[derive(Clone, Debug)]
pub struct Mismatch {
    /// The ops run, up to and including the mismatching one.
    pub ops: Vec<Op>,
    /// The target's results for them.
    pub target_rets: Vec<Ret>,
    /// What the model answers to the last op (its own choice where it has one).
    pub model_ret: Ret,
}

impl Mismatch {
    /// The mismatching op.
    pub fn op(&self) -> &Op {
        self.ops.last().expect("a mismatch has at least one op")
    }

    /// Writes the sequence as a trace (with the target's results) to `out`, in the trace
    /// format (`docs/trace-format.md`), so `streamspec replay` shows the divergence.
    pub fn write_trace(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let comment = format!(
            "differential counterexample (shrunk): the last op diverges; the model answers {}",
            ret_text(&self.model_ret)
        );
        let steps: Vec<Step> = self
            .ops
            .iter()
            .zip(&self.target_rets)
            .map(|(op, ret)| Step {
                op: op.clone(),
                ret: ret.clone(),
            })
            .collect();
        write_trace(&mut &mut *out, &[comment.as_str()], &steps)
    }
}

/// A result as a short JSON object, for reports: `{"ok":{...}}` or `{"error":"name"}`.
pub fn ret_text(ret: &Ret) -> String {
    ret_json(ret)
}

/// Runs `ops` on a fresh target and the model in lockstep; the first mismatch, if any.
pub fn run_lockstep(target: &mut dyn Target, ops: &[Op]) -> Option<Mismatch> {
    let mut model = Model::new();
    let mut spec = ModelSpec::new(Model::new());
    let mut target_rets = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        let ret = target.apply(op);
        target_rets.push(ret.clone());
        match spec.step(&model, i, op, &Outcome::from_ret(ret)) {
            Some(next) => model = next,
            None => {
                let model_ret = model.clone().apply(op);
                return Some(Mismatch {
                    ops: ops[..=i].to_vec(),
                    target_rets,
                    model_ret,
                });
            }
        }
    }
    None
}

/// Most lockstep replays one shrink may run, so shrinking a long sequence stays bounded.
const SHRINK_REPLAYS_MAX: usize = 2_000;

/// Shrinks a mismatching sequence: removes chunks of halving size while some op still
/// mismatches, on fresh targets from `make`. The result mismatches at its last op.
pub fn shrink(make: &mut dyn FnMut() -> Box<dyn Target>, mismatch: Mismatch) -> Mismatch {
    let mut best = mismatch;
    let mut replays = 0;
    let mut chunk = best.ops.len().div_ceil(2).max(1);
    while chunk >= 1 && replays < SHRINK_REPLAYS_MAX {
        let mut start = 0;
        let mut removed_any = false;
        while start < best.ops.len() && replays < SHRINK_REPLAYS_MAX {
            let end = (start + chunk).min(best.ops.len());
            let candidate: Vec<Op> = best.ops[..start]
                .iter()
                .chain(&best.ops[end..])
                .cloned()
                .collect();
            replays += 1;
            if candidate.is_empty() {
                start = end;
                continue;
            }
            match run_lockstep(make().as_mut(), &candidate) {
                Some(smaller) => {
                    best = smaller;
                    removed_any = true;
                }
                None => start = end,
            }
        }
        if !removed_any {
            if chunk == 1 {
                break;
            }
            chunk = chunk.div_ceil(2).max(1);
            if chunk == 1 && best.ops.len() <= 1 {
                break;
            }
        }
    }
    best
}

/// Topic names the generator uses; the last never exists.
const TOPICS: [&str; 3] = ["orders", "events", "missing"];
/// Group ids the generator uses.
const GROUPS: [&str; 2] = ["g1", "g2"];
/// Member ids the generator uses.
const MEMBERS: [&str; 3] = ["m1", "m2", "m3"];

/// Random op sequences with a memory of what they did, so retries and stale generations
/// come up often.
pub struct Generator {
    rng: Rng,
    values: u64,
    /// The last idempotent batch sent: retried now and then (a duplicate).
    last_batch: Option<Op>,
    /// Producer ids issued so far (from the model's deterministic numbering: 0, 1, ...).
    producers: i64,
    /// Next sequence per (producer id, topic, partition).
    sequences: Vec<((i64, usize, i32), i32)>,
}

impl Generator {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Generator {
        Generator {
            rng: Rng::new(seed),
            values: 0,
            last_batch: None,
            producers: 0,
            sequences: Vec::new(),
        }
    }

    fn topic(&mut self) -> (usize, String) {
        // Mostly existing topics, sometimes the missing one.
        let i = if self.rng.chance(10) {
            2
        } else {
            self.rng.below(2) as usize
        };
        (i, TOPICS[i].to_string())
    }

    fn partition(&mut self) -> i32 {
        // Topics have up to 3 partitions; 3 and -1 are out of range.
        match self.rng.below(20) {
            0 => -1,
            1 => 3,
            _ => self.rng.below(3) as i32,
        }
    }

    fn offset(&mut self) -> i64 {
        match self.rng.below(10) {
            0 => -2,
            1 => -1,
            2 => 1_000,
            _ => self.rng.below(12) as i64,
        }
    }

    fn records(&mut self) -> Vec<Record> {
        let n = match self.rng.below(20) {
            0 => 0,
            _ => 1 + self.rng.below(3),
        };
        (0..n)
            .map(|_| {
                self.values += 1;
                let value = format!("v{}", self.values);
                Record {
                    key: self
                        .rng
                        .chance(40)
                        .then(|| format!("k{}", self.rng.below(5)).as_str().into()),
                    value: Some(value.as_str().into()),
                    headers: vec![],
                    timestamp_ms: match self.rng.below(10) {
                        0 => Some(-1),
                        1..=4 => Some(self.rng.below(100_000) as i64),
                        _ => None,
                    },
                }
            })
            .collect()
    }

    /// The setup every sequence starts with: two topics with different configs.
    pub fn setup(&mut self) -> Vec<Op> {
        let retention = TopicConfig {
            retention_ms: 50_000,
            retention_bytes: if self.rng.chance(50) { 100 } else { -1 },
            max_message_bytes: 200,
            timestamp_type: TimestampType::CreateTime,
            retention_policy: if self.rng.chance(50) {
                RetentionPolicy::Consumed
            } else {
                RetentionPolicy::Delete
            },
        };
        vec![
            Op::CreateTopic {
                topic: TOPICS[0].into(),
                partitions: 3,
                config: retention,
            },
            Op::CreateTopic {
                topic: TOPICS[1].into(),
                partitions: 1 + self.rng.below(3) as i32,
                config: TopicConfig {
                    timestamp_type: TimestampType::LogAppendTime,
                    ..TopicConfig::default()
                },
            },
        ]
    }

    /// The next op.
    pub fn next_op(&mut self) -> Op {
        let group = GROUPS[self.rng.below(2) as usize].to_string();
        let member = MEMBERS[self.rng.below(3) as usize].to_string();
        match self.rng.below(100) {
            0..=24 => {
                let (t, topic) = self.topic();
                let partition = if self.rng.chance(30) {
                    None
                } else {
                    Some(self.partition())
                };
                let records = self.records();
                let producer = if self.producers > 0 && self.rng.chance(40) {
                    let producer_id = self.rng.below(self.producers as u64) as i64;
                    let p = partition.unwrap_or(0);
                    let key = (producer_id, t, p);
                    let next = self
                        .sequences
                        .iter()
                        .find(|(k, _)| *k == key)
                        .map_or(0, |(_, s)| *s);
                    let base_sequence = if self.rng.chance(10) { next + 3 } else { next };
                    let n = records.len() as i32;
                    match self.sequences.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, s)) => *s = base_sequence + n,
                        None => self.sequences.push((key, base_sequence + n)),
                    }
                    Some(ProducerBatch {
                        producer_id,
                        producer_epoch: 0,
                        base_sequence,
                    })
                } else {
                    None
                };
                let op = Op::Produce {
                    topic,
                    partition,
                    records,
                    producer,
                };
                if producer.is_some() {
                    self.last_batch = Some(op.clone());
                }
                op
            }
            25..=28 => match &self.last_batch {
                // A retry of the last idempotent batch: a duplicate, or out of order.
                Some(batch) => batch.clone(),
                None => Op::InitProducerId {
                    transactional_id: None,
                },
            },
            29..=31 => {
                self.producers += 1;
                Op::InitProducerId {
                    transactional_id: None,
                }
            }
            32..=45 => {
                let (_, topic) = self.topic();
                Op::Fetch {
                    topic,
                    partition: self.partition(),
                    offset: self.offset(),
                    max_records: self.rng.below(5) as u32,
                    max_bytes: self.rng.below(120),
                }
            }
            46..=50 => {
                let (_, topic) = self.topic();
                Op::ListOffsets {
                    topic,
                    partition: self.partition(),
                    spec: match self.rng.below(5) {
                        0 => OffsetSpec::Earliest,
                        1 => OffsetSpec::Latest,
                        2 => OffsetSpec::MaxTimestamp,
                        3 => OffsetSpec::Timestamp { timestamp_ms: -1 },
                        _ => OffsetSpec::Timestamp {
                            timestamp_ms: self.rng.below(100_000) as i64,
                        },
                    },
                }
            }
            51..=53 => Op::EnforceRetention,
            54..=56 => {
                let (_, topic) = self.topic();
                Op::DeleteRecords {
                    topic,
                    partition: self.partition(),
                    offset: self.offset(),
                }
            }
            57..=60 => Op::Tick {
                ms: [1_000, 20_000, 60_000][self.rng.below(3) as usize],
            },
            61..=68 => {
                let (_, topic) = self.topic();
                Op::JoinGroup {
                    group,
                    member,
                    topics: vec![topic],
                    assignor: Default::default(),
                    session_timeout_ms: if self.rng.chance(5) { 10 } else { 30_000 },
                    auto_offset_reset: match self.rng.below(3) {
                        0 => OffsetReset::Latest,
                        1 => OffsetReset::None,
                        _ => OffsetReset::Earliest,
                    },
                }
            }
            69..=71 => Op::LeaveGroup { group, member },
            72..=75 => Op::Heartbeat {
                group,
                member,
                generation: self.rng.below(5) as i32,
            },
            76..=83 => {
                let (_, topic) = self.topic();
                let simple = self.rng.chance(30);
                Op::Commit {
                    group,
                    member: (!simple).then_some(member),
                    generation: if simple { -1 } else { self.rng.below(5) as i32 },
                    topic,
                    partition: self.partition(),
                    offset: self.offset(),
                    metadata: String::new(),
                }
            }
            84..=86 => {
                let (_, topic) = self.topic();
                Op::Committed {
                    group,
                    topic,
                    partition: self.partition(),
                }
            }
            87..=96 => Op::Poll {
                group,
                member,
                generation: self.rng.below(5) as i32,
                max_records: self.rng.below(6) as u32,
            },
            _ => Op::DescribeGroup { group },
        }
    }

    /// A whole sequence: the setup and `count` ops.
    pub fn sequence(&mut self, count: usize) -> Vec<Op> {
        let mut ops = self.setup();
        ops.extend((0..count).map(|_| self.next_op()));
        ops
    }
}

/// Runs `sequences` random sequences of `ops_per_sequence` ops from `seed` against fresh
/// targets; the first mismatch, shrunk. Returns the ops run and the mismatch, if any.
pub fn run(
    make: &mut dyn FnMut() -> Box<dyn Target>,
    seed: u64,
    sequences: usize,
    ops_per_sequence: usize,
) -> (usize, Option<Mismatch>) {
    let root = Rng::new(seed);
    let mut ops_run = 0;
    for i in 0..sequences {
        let mut generator = Generator::new(root.fork(i as u64).next_u64());
        let ops = generator.sequence(ops_per_sequence);
        ops_run += ops.len();
        if let Some(mismatch) = run_lockstep(make().as_mut(), &ops) {
            return (ops_run, Some(shrink(make, mismatch)));
        }
    }
    (ops_run, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use streamspec_model::Model;
    use streamspec_model::{ErrorCode, Reply};

    /// The model, except that a fetch at the high watermark of a non-empty partition is
    /// refused: a boundary bug, reachable only after a produce.
    struct OffByOne(Model);
    impl Target for OffByOne {
        fn name(&self) -> String {
            "off-by-one".into()
        }
        fn apply(&mut self, op: &Op) -> Ret {
            let ret = self.0.apply(op);
            if let (Op::Fetch { offset, .. }, Ok(Reply::Fetched { high_watermark, .. })) =
                (op, &ret)
            {
                if offset == high_watermark && *high_watermark > 0 {
                    return Err(ErrorCode::OffsetOutOfRange);
                }
            }
            ret
        }
    }

    #[test]
    fn the_model_agrees_with_itself() {
        // Goal: no false alarm. Method: many sequences against the model as a target.
        let mut make = || Box::new(Model::new()) as Box<dyn Target>;
        let (ops, mismatch) = run(&mut make, 1, 100, 150);
        assert!(mismatch.is_none(), "{mismatch:?}");
        assert!(ops > 10_000);
    }

    #[test]
    fn a_boundary_bug_is_found_and_shrunk_to_a_replayable_trace() {
        // Goal: a planted bug is found and the counterexample is small. Method: the
        // off-by-one target; the shrunk sequence must still mismatch and end in a fetch.
        let mut make = || Box::new(OffByOne(Model::new())) as Box<dyn Target>;
        let (_, mismatch) = run(&mut make, 3, 200, 150);
        let mismatch = mismatch.expect("the off-by-one target is caught");
        assert!(matches!(mismatch.op(), Op::Fetch { .. }));
        // 1-minimal: removing any one op makes the mismatch go away (ops are not rewritten,
        // so a fetch at offset 8 keeps the produces that make 8 the high watermark).
        assert!(run_lockstep(make().as_mut(), &mismatch.ops).is_some());
        for i in 0..mismatch.ops.len() - 1 {
            let mut fewer = mismatch.ops.clone();
            fewer.remove(i);
            assert!(
                run_lockstep(make().as_mut(), &fewer).is_none(),
                "op {i} was not needed: {:?}",
                mismatch.ops
            );
        }
        assert!(mismatch.ops.len() <= 12, "not shrunk: {:?}", mismatch.ops);
        let mut trace = Vec::new();
        mismatch.write_trace(&mut trace).unwrap();
        let text = String::from_utf8(trace).unwrap();
        assert_eq!(text.lines().count(), mismatch.ops.len() + 1);
        assert!(text
            .lines()
            .last()
            .unwrap()
            .contains("\"error\":\"offset_out_of_range\""));
        // `streamspec replay` reads the trace and diverges at its last op.
        let trace = crate::trace::Trace::parse(std::path::Path::new("cx.jsonl"), &text).unwrap();
        let report = crate::replay::replay(&trace);
        let divergence = report.divergence.expect("the replay diverges");
        assert_eq!(divergence.line_number, text.lines().count());
        assert_eq!(divergence.trace, Err(ErrorCode::OffsetOutOfRange));
    }
}
