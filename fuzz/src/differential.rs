//! Differential: another implementation beside the model, compared after every op.
//!
//! Method: each step is resolved against the model's state into an op, the implementation
//! under check answers it, and [`Replayer`] judges the answer exactly as `streamspec replay`
//! would: the model's own answer, or an alternative docs/model.md allows (a keyless batch in
//! another partition, lazier retention), after which the model follows the implementation's
//! choice. After every op, read-only probes of the state it touched (the partition's log
//! start and high watermark, the group's description) are compared the same way, so a state
//! that drifted is caught at the op that made it drift, not many ops later.

use streamspec::replay::{Replayer, Verdict};
use streamspec::trace::Step as TraceStep;
use streamspec_model::{OffsetSpec, Op, Ret};

use crate::model_run::steps_from_bytes;
use crate::step::{Script, Step};

/// Where the implementation and the model disagreed.
#[derive(Clone, Debug)]
pub struct Divergence {
    /// The index of the step, from 0.
    pub step_index: usize,
    /// The op (the step's own, or a probe after it).
    pub op: Op,
    /// What the implementation answered.
    pub implementation: Ret,
    /// What the model answers.
    pub model: Ret,
    /// Why, where the answers alone do not say.
    pub reason: Option<String>,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "step {}: {:?}: implementation {:?}, model {:?}",
            self.step_index, self.op, self.implementation, self.model
        )?;
        if let Some(reason) = &self.reason {
            write!(f, " ({reason})")?;
        }
        Ok(())
    }
}

/// The read-only ops that show the state `op` may have changed.
pub fn probes(op: &Op) -> Vec<Op> {
    let partition_probes = |topic: &str, partition: i32| {
        [OffsetSpec::Earliest, OffsetSpec::Latest]
            .into_iter()
            .map(|spec| Op::ListOffsets {
                topic: topic.to_owned(),
                partition,
                spec,
            })
            .collect::<Vec<_>>()
    };
    let group_probe = |group: &str| {
        vec![Op::DescribeGroup {
            group: group.to_owned(),
        }]
    };
    match op {
        Op::Produce {
            topic,
            partition: Some(partition),
            ..
        }
        | Op::DeleteRecords {
            topic, partition, ..
        } => partition_probes(topic, *partition),
        Op::CreateTopic { topic, .. } | Op::DeleteTopic { topic } => {
            let mut ops = partition_probes(topic, 0);
            ops.push(Op::DescribeGroup {
                group: "g1".to_owned(),
            });
            ops
        }
        Op::JoinGroup { group, .. }
        | Op::LeaveGroup { group, .. }
        | Op::Heartbeat { group, .. }
        | Op::Poll { group, .. } => group_probe(group),
        Op::Commit {
            group,
            topic,
            partition,
            ..
        } => {
            let mut ops = group_probe(group);
            ops.push(Op::Committed {
                group: group.clone(),
                topic: topic.clone(),
                partition: *partition,
            });
            ops
        }
        Op::Tick { .. } => group_probe("g1"),
        _ => Vec::new(),
    }
}

/// Runs `steps` through `apply` (a fresh implementation) beside the model.
pub fn check_differential(
    steps: &[Step],
    mut apply: impl FnMut(&Op) -> Ret,
) -> Result<(), Box<Divergence>> {
    let mut replayer = Replayer::new();
    let mut script = Script::new();
    for (step_index, step) in steps.iter().enumerate() {
        let op = script.resolve(step, replayer.model());
        let checked: Vec<Op> = std::iter::once(op.clone()).chain(probes(&op)).collect();
        for (i, checked_op) in checked.into_iter().enumerate() {
            let ret = apply(&checked_op);
            if i == 0 {
                script.observe(&checked_op, &ret);
            }
            let trace_step = TraceStep {
                op: checked_op,
                ret,
            };
            if let Verdict::Diverges { model, reason } = replayer.step(&trace_step) {
                return Err(Box::new(Divergence {
                    step_index,
                    op: trace_step.op,
                    implementation: trace_step.ret,
                    model,
                    reason,
                }));
            }
        }
    }
    Ok(())
}

/// The `differential` target's body for any implementation: panics with the divergence.
pub fn fuzz_differential(data: &[u8], apply: impl FnMut(&Op) -> Ret) {
    if let Err(divergence) = check_differential(&steps_from_bytes(data), apply) {
        panic!("{divergence}");
    }
}

#[cfg(test)]
mod tests {
    use streamspec_model::{Model, Reply};

    use super::*;
    use crate::step::{
        BatchChoice, ConfigChoice, KeyChoice, MaxBytesChoice, MaxRecordsChoice, OffsetChoice,
        PartitionCount, PartitionIndex, RecordChoice, TimestampChoice, TopicName, ValueChoice,
    };

    fn scenario() -> Vec<Step> {
        let record = RecordChoice {
            key: Some(KeyChoice::K1),
            value: ValueChoice::Small(5),
            header: None,
            timestamp: TimestampChoice::Now,
        };
        vec![
            Step::CreateTopic(
                TopicName::Orders,
                PartitionCount::Small(2),
                ConfigChoice::Default,
            ),
            Step::Produce {
                topic: TopicName::Orders,
                partition: Some(PartitionIndex::Small(2)),
                batch: BatchChoice::Records(vec![record; 4]),
                producer: None,
            },
            Step::Fetch(
                TopicName::Orders,
                PartitionIndex::Small(2),
                OffsetChoice::Raw(0),
                MaxRecordsChoice::Small(3),
                MaxBytesChoice::Unlimited,
            ),
        ]
    }

    #[test]
    fn the_model_agrees_with_itself() {
        let mut other = Model::new();
        check_differential(&scenario(), |op| other.apply(op)).unwrap();
    }

    #[test]
    fn a_fetch_one_record_short_is_caught() {
        // Goal: a wrong reply is caught at its own step. Method: an implementation whose
        // fetch drops the last record of a reply with more than one.
        let mut other = Model::new();
        let short_fetch = |op: &Op| match other.apply(op) {
            Ok(Reply::Fetched {
                mut records,
                high_watermark,
                log_start_offset,
            }) if records.len() > 1 => {
                records.pop();
                Ok(Reply::Fetched {
                    records,
                    high_watermark,
                    log_start_offset,
                })
            }
            other => other,
        };
        let divergence = check_differential(&scenario(), short_fetch).unwrap_err();
        assert_eq!(divergence.step_index, 2);
        assert!(matches!(divergence.op, Op::Fetch { .. }));
    }

    #[test]
    fn a_produce_that_appends_twice_is_caught_by_the_probe() {
        // Goal: state drift is caught at the op that caused it, even when its reply is right.
        // Method: an implementation that appends every explicit-partition batch twice but
        // answers as if once; the high-watermark probe after the produce must diverge.
        let mut other = Model::new();
        let doubling = |op: &Op| {
            let ret = other.apply(op);
            if matches!(op, Op::Produce { .. }) && ret.is_ok() {
                let _ = other.apply(op);
            }
            ret
        };
        let divergence = check_differential(&scenario(), doubling).unwrap_err();
        assert_eq!(divergence.step_index, 1);
        assert!(matches!(
            divergence.op,
            Op::ListOffsets {
                spec: OffsetSpec::Latest,
                ..
            }
        ));
    }

    #[test]
    fn pseudo_random_inputs_engine_agrees_with_the_model() {
        // Goal: a quick stable-toolchain stand-in for the `differential` target. Method: 200
        // inputs from a fixed xorshift stream, each against a fresh engine.
        let mut state: u64 = 0x1234_5678_9ABC_DEF1;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..200 {
            let len = (next() % 2048) as usize;
            let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let engine = streamspec_engine::Engine::new();
            fuzz_differential(&data, |op| engine.apply(op));
        }
    }

    #[test]
    fn pseudo_random_inputs_agree_model_to_model() {
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..200 {
            let len = (next() % 2048) as usize;
            let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let mut other = Model::new();
            fuzz_differential(&data, |op| other.apply(op));
        }
    }
}
