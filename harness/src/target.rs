//! What the harness checks: anything that executes the model's ops.
//!
//! The model, the engine, a planted-bug wrapper and a remote Kafka broker all implement
//! [`Target`], so every check (replay, differential, histories) runs against any of them.

use streamspec_model::{Op, Ret};

/// An implementation under check, driven one op at a time.
pub trait Target {
    /// A short name for reports ("model", "engine", "kafka://127.0.0.1:9092").
    fn name(&self) -> String;

    /// Execute one op and return what the implementation answered.
    fn apply(&mut self, op: &Op) -> Ret;
}

/// An implementation that several threads drive at once, for concurrent histories.
pub trait ConcurrentTarget: Sync {
    /// A short name for reports.
    fn name(&self) -> String;

    /// Execute one op; may be called from many threads at once.
    fn apply(&self, op: &Op) -> Ret;
}

/// The model is the reference target: replaying or recording against it gives the spec's
/// answers.
impl Target for streamspec_model::Model {
    fn name(&self) -> String {
        "model".to_string()
    }

    fn apply(&mut self, op: &Op) -> Ret {
        streamspec_model::Model::apply(self, op)
    }
}
