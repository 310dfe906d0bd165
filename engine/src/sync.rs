//! The one place the engine gets its concurrency primitives from.
//!
//! Every atomic, cell, lock, `Arc` and thread primitive the engine uses comes through this
//! module, so that `RUSTFLAGS="--cfg loom --cfg crossbeam_loom"` swaps all of them for loom's
//! model-checked versions at once (the shape of tokio's `src/loom/mod.rs` and crossbeam-epoch's
//! `mod primitive`). Nothing else in the crate imports `std::sync::atomic` or
//! `std::cell::UnsafeCell`.
//!
//! [`UnsafeCell`] offers loom's `with`/`with_mut` API in both builds, so the code above it is
//! written once. The epoch collector (`crossbeam_epoch`) switches to loom by its own
//! `crossbeam_loom` cfg; [`epoch`] re-exports it so callers name it from here too.

pub use crossbeam_epoch as epoch;

#[cfg(not(loom))]
mod primitive {
    pub use std::sync::atomic::{
        fence, AtomicBool, AtomicI32, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize,
        Ordering,
    };
    pub use std::sync::{Arc, Condvar, Mutex, MutexGuard};

    /// Give the processor to another thread (a backoff step after spinning).
    pub fn yield_now() {
        std::thread::yield_now();
    }

    /// A hint that this thread is spinning on a value another thread will change.
    pub fn spin_loop() {
        std::hint::spin_loop();
    }

    /// A `std::cell::UnsafeCell` with loom's `with`/`with_mut` API.
    #[derive(Debug, Default)]
    #[repr(transparent)]
    pub struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        /// A cell holding `value`.
        pub const fn new(value: T) -> UnsafeCell<T> {
            UnsafeCell(std::cell::UnsafeCell::new(value))
        }

        /// Run `f` with a shared pointer to the contents.
        #[inline]
        pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Run `f` with an exclusive pointer to the contents.
        #[inline]
        pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }

        /// The contents, given exclusive access to the cell.
        pub fn into_inner(self) -> T {
            self.0.into_inner()
        }
    }
}

#[cfg(loom)]
mod primitive {
    pub use loom::cell::UnsafeCell;
    pub use loom::sync::atomic::{
        fence, AtomicBool, AtomicI32, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize,
        Ordering,
    };
    pub use loom::sync::{Arc, Condvar, Mutex, MutexGuard};

    /// Under loom a spin must yield, or the model never lets the other thread run.
    pub fn yield_now() {
        loom::thread::yield_now();
    }

    /// Under loom a spin must yield, or the model never lets the other thread run.
    pub fn spin_loop() {
        loom::thread::yield_now();
    }
}

pub use primitive::*;

/// Lock a mutex, ignoring poisoning: the engine's mutex-protected state (membership, waiter
/// parking) stays consistent across a panic because every update is a single publish.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Spins used before a retry yields the processor: about a microsecond of `spin_loop`.
pub const SPINS_BEFORE_YIELD_COUNT: u32 = 64;

/// Exponential-free backoff: spin a little, then yield. For the rebalance's seal (`group.rs`,
/// off the hot path, waiting out commits between admission and write) and an append's retry
/// after helping unlink a ring slot's old block (`log.rs`).
#[derive(Debug, Default)]
pub struct Backoff {
    spins: u32,
}

impl Backoff {
    /// Wait one step.
    pub fn snooze(&mut self) {
        if self.spins < SPINS_BEFORE_YIELD_COUNT {
            self.spins += 1;
            spin_loop();
        } else {
            yield_now();
        }
    }
}
