//! The reference concurrent target: [`Locked`], any sequential [`Target`] (the model, for
//! one) behind a mutex. Each op runs alone, so every history recorded from it is linearizable
//! by construction: the checks run, and are tested, against it before and without the engine.

use std::sync::Mutex;

use streamspec_model::{Model, Op, Ret};

use crate::target::{ConcurrentTarget, Target};

/// A sequential target made concurrent by one mutex.
pub struct Locked<T>(Mutex<T>);

impl<T: Target + Send> Locked<T> {
    /// Wraps `target`.
    pub fn new(target: T) -> Locked<T> {
        Locked(Mutex::new(target))
    }
}

impl Locked<Model> {
    /// The model behind a mutex.
    pub fn model() -> Locked<Model> {
        Locked::new(Model::new())
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
        // A panic in another client thread must not hide this op's result.
        self.0.lock().unwrap_or_else(|e| e.into_inner()).apply(op)
    }
}
