//! The model alone, with every invariant checked after every op.
//!
//! Method: bytes become at most [`STEPS_PER_INPUT_MAX`] [`Step`]s; each is resolved against
//! the current state into an [`Op`], applied, and `invariants::check_all(before, op, ret,
//! after)` must hold. The apply function is a parameter so the tests can plant a bug in it and
//! show the check catches it.

use arbitrary::{Arbitrary, Unstructured};
use streamspec_model::invariants::{check_all, Violation};
use streamspec_model::{Model, Op, Ret};

use crate::step::{Script, Step};

/// Most steps taken from one input: enough for groups to rebalance and retention to bite,
/// few enough that each input runs in well under a millisecond.
pub const STEPS_PER_INPUT_MAX: usize = 128;

/// The steps encoded by fuzz input `data` (as many as it holds, up to the maximum).
pub fn steps_from_bytes(data: &[u8]) -> Vec<Step> {
    let mut unstructured = Unstructured::new(data);
    let mut steps = Vec::new();
    while steps.len() < STEPS_PER_INPUT_MAX && !unstructured.is_empty() {
        match Step::arbitrary(&mut unstructured) {
            Ok(step) => steps.push(step),
            Err(_) => break,
        }
    }
    steps
}

/// A broken invariant, with the step that broke it.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The index of the step, from 0.
    pub step_index: usize,
    /// The op it resolved to.
    pub op: Op,
    /// What the op returned.
    pub ret: Ret,
    /// The invariant that broke.
    pub violation: Violation,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "step {}: {:?} returned {:?}: {}",
            self.step_index, self.op, self.ret, self.violation
        )
    }
}

/// Runs `steps` from an empty model through `apply`, checking every invariant after each op.
pub fn check_steps(
    steps: &[Step],
    mut apply: impl FnMut(&mut Model, &Op) -> Ret,
) -> Result<(), Box<Failure>> {
    let mut model = Model::new();
    let mut script = Script::new();
    for (step_index, step) in steps.iter().enumerate() {
        let op = script.resolve(step, &model);
        let before = model.clone();
        let ret = apply(&mut model, &op);
        if let Err(violation) = check_all(&before, &op, &ret, &model) {
            return Err(Box::new(Failure {
                step_index,
                op,
                ret,
                violation,
            }));
        }
        script.observe(&op, &ret);
    }
    Ok(())
}

/// The `model_invariants` target: panics with the failure if any invariant breaks.
pub fn fuzz_model_invariants(data: &[u8]) {
    if let Err(failure) = check_steps(&steps_from_bytes(data), Model::apply) {
        panic!("{failure}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::step::{
        BatchChoice, ConfigChoice, KeyChoice, MaxBytesChoice, MaxRecordsChoice, OffsetChoice,
        PartitionCount, PartitionIndex, RecordChoice, TimestampChoice, TopicName, ValueChoice,
    };

    fn record() -> RecordChoice {
        RecordChoice {
            key: Some(KeyChoice::K0),
            value: ValueChoice::Small(3),
            header: None,
            timestamp: TimestampChoice::Now,
        }
    }

    fn trimming_fetch_scenario() -> Vec<Step> {
        vec![
            Step::CreateTopic(
                TopicName::Orders,
                PartitionCount::Small(1),
                ConfigChoice::Default,
            ),
            Step::Produce {
                topic: TopicName::Orders,
                partition: Some(PartitionIndex::Small(1)),
                batch: BatchChoice::Records(vec![record(), record(), record()]),
                producer: None,
            },
            Step::Fetch(
                TopicName::Orders,
                PartitionIndex::Small(1),
                OffsetChoice::NearLogStart(2),
                MaxRecordsChoice::Small(3),
                MaxBytesChoice::Unlimited,
            ),
        ]
    }

    #[test]
    fn the_model_passes_a_scenario_that_reads_what_it_wrote() {
        // Goal: the runner accepts the reference model. Method: the scenario the planted-bug
        // test uses, through the real apply.
        check_steps(&trimming_fetch_scenario(), Model::apply).unwrap();
    }

    #[test]
    fn a_fetch_that_trims_the_log_is_caught() {
        // Goal: the runner catches a bug the model does not have. Method: an apply that, on
        // fetch, also deletes the partition's first record; retention never allowed that.
        let buggy = |model: &mut Model, op: &Op| {
            let ret = model.apply(op);
            if let Op::Fetch {
                topic, partition, ..
            } = op
            {
                let _ = model.apply(&Op::DeleteRecords {
                    topic: topic.clone(),
                    partition: *partition,
                    offset: 1,
                });
            }
            ret
        };
        let failure = check_steps(&trimming_fetch_scenario(), buggy).unwrap_err();
        assert_eq!(failure.step_index, 2);
        assert_eq!(
            failure.violation.invariant,
            "retention_removes_only_eligible_prefix"
        );
    }

    #[test]
    fn pseudo_random_inputs_keep_every_invariant() {
        // Goal: a quick stable-toolchain stand-in for the fuzzer. Method: 300 inputs from a
        // fixed xorshift stream, each up to 2 KiB, through the target itself.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut steps_total = 0;
        for _ in 0..300 {
            let len = (next() % 2048) as usize;
            let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            steps_total += steps_from_bytes(&data).len();
            fuzz_model_invariants(&data);
        }
        // The inputs must actually reach the model: most carry dozens of steps.
        assert!(steps_total > 300 * 10, "only {steps_total} steps");
    }
}
