//! Replay: run a trace against the model and find the first step where they disagree.
//!
//! Each step's op is applied to the model and the model's result is compared with the result
//! the trace recorded. Where `docs/model.md` allows several outcomes, replay accepts any
//! allowed one, moves the model to the state that outcome implies, and says so
//! ([`Verdict::AllowedAlternative`]):
//!
//! - **keyless produce** (`partition: null`, first record without a key): any partition in
//!   `0..partitions`. The model then applies the batch to the partition the trace names.
//! - **enforce_retention**: any new log start per partition in `old ..= eligible`, where
//!   `eligible` is [`Model::eligible_log_start`]. The reply lists exactly the partitions that
//!   advanced, sorted by (topic, partition); the model then advances those partitions to the
//!   reported log starts (by `delete_records`, which moves only the log start) and leaves the
//!   others where they were.
//!
//! Everything else must match exactly. See `docs/trace-format.md`, "What replay accepts".

use std::path::PathBuf;

use streamspec_model::{Model, Op, PartitionLogStart, Reply, Ret};

use crate::trace::{Step, Trace};

/// What replay concluded about one step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The model gives exactly the recorded result.
    Matches,
    /// The recorded result is one the model allows but does not pick itself.
    AllowedAlternative {
        /// What was chosen, and what the model would have chosen.
        note: String,
    },
    /// The recorded result is not allowed.
    Diverges {
        /// What the model answers (for an alternative it checked, the answer under the
        /// trace's choice).
        model: Ret,
        /// Why, where a plain comparison does not say it (a bound that was broken).
        reason: Option<String>,
    },
}

/// Replays steps one at a time against a fresh model, following allowed alternatives.
///
/// Other checks use this directly to compare any implementation's results with the model.
#[derive(Clone, Debug, Default)]
pub struct Replayer {
    model: Model,
}

impl Replayer {
    /// A replayer over a fresh model.
    pub fn new() -> Replayer {
        Replayer {
            model: Model::new(),
        }
    }

    /// The model, in the state the steps so far imply.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Judge one step and advance the model past it. After a [`Verdict::Diverges`] the
    /// model is in the state of its own answer or unchanged, which no longer follows the
    /// trace: callers stop there.
    pub fn step(&mut self, step: &Step) -> Verdict {
        match &step.op {
            Op::Produce {
                partition: None,
                records,
                ..
            } if records.first().is_some_and(|record| record.key.is_none()) => {
                self.keyless_produce(step)
            }
            Op::EnforceRetention => self.enforce_retention(step),
            op => self.exact(op, &step.ret),
        }
    }

    /// A keyless batch without a partition may go to any partition of the topic.
    ///
    /// The model is not cloned on the common path (a trace of a real producer may have a
    /// keyless batch on most lines): the partition the model would pick is read from its
    /// round-robin counter, and the op is applied once, with the partition the trace chose.
    fn keyless_produce(&mut self, step: &Step) -> Verdict {
        let Op::Produce {
            topic,
            records,
            producer,
            ..
        } = &step.op
        else {
            unreachable!("keyless_produce is only called for produce ops");
        };
        let pinned = |partition: i32| Op::Produce {
            topic: topic.clone(),
            partition: Some(partition),
            records: records.clone(),
            producer: *producer,
        };
        let own_partition = self.model.topic(topic).map(|t| t.keyless_partition());
        let partitions_count = self.model.partition_count(topic).unwrap_or(0);
        match (&step.ret, own_partition) {
            (Ok(Reply::Produced { partition, .. }), Some(own)) => {
                let partition = *partition;
                if !(0..partitions_count).contains(&partition) {
                    return Verdict::Diverges {
                        model: self.model.apply(&step.op),
                        reason: Some(format!(
                            "a keyless batch may go to any partition in 0..{partitions_count} \
                             of {topic:?}; the trace says partition {partition}"
                        )),
                    };
                }
                if partition == own {
                    return self.exact(&step.op, &step.ret);
                }
                let chosen = self.model.apply(&pinned(partition));
                if chosen == step.ret {
                    Verdict::AllowedAlternative {
                        note: format!(
                            "keyless produce to partition {partition} (the model picks \
                             partition {own})"
                        ),
                    }
                } else {
                    Verdict::Diverges {
                        model: chosen,
                        reason: Some(format!(
                            "with the batch in partition {partition}, as the trace chose"
                        )),
                    }
                }
            }
            (Err(code), Some(own)) => {
                // Some refusals depend on the partition (an idempotent batch's sequence is per
                // partition): the error is allowed if it is the model's for some partition.
                // Trying partitions may append, so this rare path works on copies; a refused
                // op changes nothing, so the model's state stays as it is.
                let own_ret = self.model.clone().apply(&step.op);
                if own_ret == step.ret {
                    return Verdict::Matches;
                }
                let allowed = (0..partitions_count)
                    .find(|&partition| self.model.clone().apply(&pinned(partition)) == Err(*code));
                match allowed {
                    Some(partition) => Verdict::AllowedAlternative {
                        note: format!(
                            "keyless produce refused with {code} as it is for partition \
                             {partition} (the model picks partition {own})"
                        ),
                    },
                    None => Verdict::Diverges {
                        model: self.model.apply(&step.op),
                        reason: None,
                    },
                }
            }
            // No such topic, or a reply that is not `produced`: no alternative applies.
            _ => self.exact(&step.op, &step.ret),
        }
    }

    /// Apply `op` and require exactly `expected`.
    fn exact(&mut self, op: &Op, expected: &Ret) -> Verdict {
        let model = self.model.apply(op);
        if model == *expected {
            Verdict::Matches
        } else {
            Verdict::Diverges {
                model,
                reason: None,
            }
        }
    }

    /// What `enforce_retention` on the model would report, computed without applying it:
    /// every partition whose eligible log start is past its log start, in (topic, partition)
    /// order.
    fn own_retention(&self) -> Vec<PartitionLogStart> {
        let mut advanced = Vec::new();
        for topic in self.model.topic_names() {
            for partition in 0..self.model.partition_count(topic).unwrap_or(0) {
                let old = self.model.log_start_offset(topic, partition);
                let eligible = self.model.eligible_log_start(topic, partition);
                if let (Some(old), Some(eligible)) = (old, eligible) {
                    if eligible > old {
                        advanced.push(PartitionLogStart {
                            topic: topic.to_string(),
                            partition,
                            log_start_offset: eligible,
                        });
                    }
                }
            }
        }
        advanced
    }

    /// Retention may be lazier than the model: any log start between the old one and the
    /// eligible one, per partition.
    fn enforce_retention(&mut self, step: &Step) -> Verdict {
        let own_advanced = self.own_retention();
        let own_ret = Ok(Reply::Retained {
            advanced: own_advanced.clone(),
        });
        if own_ret == step.ret {
            // The model's own answer; applying the op also checks that the prediction above
            // agrees with the model.
            return self.exact(&Op::EnforceRetention, &step.ret);
        }
        let Ok(Reply::Retained { advanced }) = &step.ret else {
            return Verdict::Diverges {
                model: own_ret,
                reason: None,
            };
        };
        if let Err(reason) = self.check_lazier_retention(advanced) {
            return Verdict::Diverges {
                model: own_ret,
                reason: Some(reason),
            };
        }
        for advance in advanced {
            let delete = Op::DeleteRecords {
                topic: advance.topic.clone(),
                partition: advance.partition,
                offset: advance.log_start_offset,
            };
            let ret = self.model.apply(&delete);
            let expected = Ok(Reply::LowWatermark {
                low_watermark: advance.log_start_offset,
            });
            if ret != expected {
                // check_lazier_retention bounded the offset by the eligible log start, which
                // is at most the high watermark, so a refusal means the model and this check
                // disagree: report it rather than go on from a state nobody chose.
                return Verdict::Diverges {
                    model: own_ret,
                    reason: Some(format!(
                        "the model could not advance {}-{} to {}: {}",
                        advance.topic,
                        advance.partition,
                        advance.log_start_offset,
                        crate::trace::ret_json(&ret)
                    )),
                };
            }
        }
        Verdict::AllowedAlternative {
            note: format!(
                "lazier retention: advanced {} (the model advances {})",
                describe_advances(advanced),
                describe_advances(&own_advanced)
            ),
        }
    }

    /// `Ok` when `advanced` is sorted, names existing partitions, and moves each log start
    /// forward but not past its eligible log start.
    fn check_lazier_retention(&self, advanced: &[PartitionLogStart]) -> Result<(), String> {
        for pair in advanced.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            if (&a.topic, a.partition) >= (&b.topic, b.partition) {
                return Err(format!(
                    "advanced partitions must be sorted by (topic, partition) without repeats: \
                     {}-{} comes before {}-{}",
                    a.topic, a.partition, b.topic, b.partition
                ));
            }
        }
        for advance in advanced {
            let name = format!("{}-{}", advance.topic, advance.partition);
            let partitions_count = self.model.partition_count(&advance.topic).unwrap_or(0);
            if !(0..partitions_count).contains(&advance.partition) {
                return Err(format!("{name} does not exist"));
            }
            let old = self.log_start_offset(&advance.topic, advance.partition)?;
            let eligible = self
                .model
                .eligible_log_start(&advance.topic, advance.partition)
                .ok_or_else(|| format!("{name} has no eligible log start"))?;
            let new = advance.log_start_offset;
            if new <= old {
                return Err(format!(
                    "{name} is reported as advanced to {new}, but its log start is already {old}"
                ));
            }
            if new > eligible {
                return Err(format!(
                    "{name} advanced to {new}, past its eligible log start {eligible}: records \
                     {eligible}..{new} were not eligible for removal"
                ));
            }
        }
        Ok(())
    }

    fn log_start_offset(&self, topic: &str, partition: i32) -> Result<i64, String> {
        self.model
            .log_start_offset(topic, partition)
            .ok_or_else(|| format!("{topic}-{partition} does not exist"))
    }
}

/// A step where the trace and the model disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// The trace file.
    pub path: PathBuf,
    /// The line of the step.
    pub line_number: usize,
    /// The op.
    pub op: Op,
    /// What the trace recorded.
    pub trace: Ret,
    /// What the model answers.
    pub model: Ret,
    /// Why, where a plain comparison does not say it.
    pub reason: Option<String>,
}

/// A step whose result was accepted as an allowed alternative.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptedAlternative {
    /// The line of the step.
    pub line_number: usize,
    /// The op's name.
    pub op_name: &'static str,
    /// What was chosen, and what the model would have chosen.
    pub note: String,
}

/// The outcome of replaying one trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayReport {
    /// The trace file.
    pub path: PathBuf,
    /// How many steps were replayed (up to and including a divergence).
    pub steps_count: usize,
    /// Steps accepted as allowed alternatives, in order.
    pub alternatives: Vec<AcceptedAlternative>,
    /// The first divergence, if any.
    pub divergence: Option<Divergence>,
}

impl ReplayReport {
    /// Whether every step was allowed.
    pub fn passed(&self) -> bool {
        self.divergence.is_none()
    }
}

/// Replay a whole trace against a fresh model; stops at the first divergence.
pub fn replay(trace: &Trace) -> ReplayReport {
    let mut replayer = Replayer::new();
    let mut report = ReplayReport {
        path: trace.path.clone(),
        steps_count: 0,
        alternatives: Vec::new(),
        divergence: None,
    };
    for line in &trace.lines {
        report.steps_count += 1;
        match replayer.step(&line.step) {
            Verdict::Matches => {}
            Verdict::AllowedAlternative { note } => report.alternatives.push(AcceptedAlternative {
                line_number: line.line_number,
                op_name: line.step.op.name(),
                note,
            }),
            Verdict::Diverges { model, reason } => {
                report.divergence = Some(Divergence {
                    path: trace.path.clone(),
                    line_number: line.line_number,
                    op: line.step.op.clone(),
                    trace: line.step.ret.clone(),
                    model,
                    reason,
                });
                break;
            }
        }
    }
    report
}

fn describe_advances(advanced: &[PartitionLogStart]) -> String {
    if advanced.is_empty() {
        return "nothing".into();
    }
    advanced
        .iter()
        .map(|a| format!("{}-{} to {}", a.topic, a.partition, a.log_start_offset))
        .collect::<Vec<_>>()
        .join(", ")
}
