//! The model as a target: [`ModelTarget`] (sequential) and [`Locked`] (any sequential target
//! behind a mutex, trivially linearizable), so every check can run, and be tested, before
//! and without the engine.

use std::sync::Mutex;

use streamspec_model::{Model, Op, Ret};

use crate::target::{ConcurrentTarget, Target};

/// The reference model, driven as a [`Target`].
#[derive(Clone, Debug, Default)]
pub struct ModelTarget(pub Model);

impl Target for ModelTarget {
    fn name(&self) -> String {
        "model".into()
    }

    fn apply(&mut self, op: &Op) -> Ret {
        self.0.apply(op)
    }
}

/// A sequential target made concurrent by one mutex: each op runs alone, so every history
/// recorded from it is linearizable by construction.
pub struct Locked<T>(Mutex<T>);

impl<T: Target + Send> Locked<T> {
    /// Wraps `target`.
    pub fn new(target: T) -> Locked<T> {
        Locked(Mutex::new(target))
    }
}

impl Locked<ModelTarget> {
    /// The model behind a mutex.
    pub fn model() -> Locked<ModelTarget> {
        Locked::new(ModelTarget::default())
    }
}

impl<T: Target + Send> ConcurrentTarget for Locked<T> {
    fn name(&self) -> String {
        format!(
            "locked {}",
            self.0.lock().unwrap_or_else(|e| e.into_inner()).name()
        )
    }

    fn apply(&self, op: &Op) -> Ret {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).apply(op)
    }
}
