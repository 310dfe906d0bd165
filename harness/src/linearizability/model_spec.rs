//! The full model as a sequential spec for the search, with the choices docs/model.md leaves
//! to an implementation:
//!
//! - **Keyless partition choice.** A produce whose first record has no key and no partition
//!   may land on any partition: an `ok` is checked as if it had named the partition its reply
//!   gives; a `fail` is accepted if refusing it on some partition gives that error.
//! - **Lazy retention.** `enforce_retention` may advance each log start to anything in
//!   `old ..= eligible`: an `ok` is accepted when every advance it reports is within that range
//!   and strictly forward, and the model then takes those log starts.
//!
//! For an op of unknown outcome (`info`) the model takes its own choice (round robin, eager
//! retention). The model is `Clone + Eq + Hash`, so its states memoise directly; cloning is
//! proportional to its records, so this spec serves the setup phase, group components and
//! small histories, and [`super::partition_spec`] the big per-partition ones.

use streamspec_model::{Model, Op, Reply, TopicPartition};

use super::search::Spec;
use crate::history::Outcome;

/// Approximate bytes per retained record in a model state, for the memo budget.
const RECORD_STATE_BYTES: usize = 96;

/// The model, starting from a given state.
pub struct ModelSpec {
    initial: Model,
}

impl ModelSpec {
    /// A spec whose initial state is `initial`.
    pub fn new(initial: Model) -> ModelSpec {
        ModelSpec { initial }
    }
}

/// Whether the op is a produce the partitioner may place anywhere.
fn is_keyless_unplaced(op: &Op) -> bool {
    matches!(op, Op::Produce { partition: None, records, .. }
        if records.first().is_some_and(|r| r.key.is_none()))
}

/// The op with its partition set to `partition`.
fn placed(op: &Op, partition: i32) -> Op {
    let mut op = op.clone();
    if let Op::Produce { partition: p, .. } = &mut op {
        *p = Some(partition);
    }
    op
}

/// Applies `op` to a copy of `state` and keeps it if the result is `outcome`.
fn apply_expecting(state: &Model, op: &Op, outcome: &Outcome) -> Option<Model> {
    let mut next = state.clone();
    let ret = next.apply(op);
    match outcome {
        Outcome::Info => Some(next),
        Outcome::Ok(reply) => (ret.as_ref() == Ok(reply)).then_some(next),
        Outcome::Fail(code) => (ret == Err(*code)).then_some(next),
    }
}

/// Checks a reported `enforce_retention` against the allowed range and applies it.
fn lazy_retention(state: &Model, reply: &Reply) -> Option<Model> {
    let Reply::Retained { advanced } = reply else {
        return None;
    };
    let sorted = advanced
        .windows(2)
        .all(|w| (&w[0].topic, w[0].partition) < (&w[1].topic, w[1].partition));
    if !sorted {
        return None;
    }
    let mut next = state.clone();
    for moved in advanced {
        let old = state.log_start_offset(&moved.topic, moved.partition)?;
        let eligible = state.eligible_log_start(&moved.topic, moved.partition)?;
        if !(old < moved.log_start_offset && moved.log_start_offset <= eligible) {
            return None;
        }
        let delete = Op::DeleteRecords {
            topic: moved.topic.clone(),
            partition: moved.partition,
            offset: moved.log_start_offset,
        };
        next.apply(&delete).ok()?;
    }
    Some(next)
}

impl Spec for ModelSpec {
    type State = Model;

    fn initial(&mut self) -> Model {
        self.initial.clone()
    }

    fn step(&mut self, state: &Model, _id: usize, op: &Op, outcome: &Outcome) -> Option<Model> {
        match (op, outcome) {
            (Op::EnforceRetention, Outcome::Ok(reply)) => lazy_retention(state, reply),
            (Op::Produce { topic, .. }, Outcome::Ok(Reply::Produced { partition, .. }))
                if is_keyless_unplaced(op) =>
            {
                // A partition outside the topic fails: the model then refuses the op.
                apply_expecting(state, &placed(op, *partition), outcome)
            }
            (Op::Produce { topic, .. }, Outcome::Fail(_)) if is_keyless_unplaced(op) => {
                let count = state.partition_count(topic).unwrap_or(1).max(1);
                (0..count).find_map(|p| apply_expecting(state, &placed(op, p), outcome))
            }
            _ => apply_expecting(state, op, outcome),
        }
    }

    fn state_bytes(&self, state: &Model) -> usize {
        let records: i64 = state
            .topic_names()
            .map(|topic| {
                let count = state.partition_count(topic).unwrap_or(0);
                (0..count)
                    .map(|p| {
                        let tp = TopicPartition::new(topic, p);
                        state.high_watermark(&tp.topic, p).unwrap_or(0)
                            - state.log_start_offset(&tp.topic, p).unwrap_or(0)
                    })
                    .sum::<i64>()
            })
            .sum();
        std::mem::size_of::<Model>() + 1024 + records.max(0) as usize * RECORD_STATE_BYTES
    }
}
