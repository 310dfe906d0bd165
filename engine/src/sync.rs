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

    /// The address of an atomic word's bytes, for plain reads that the publication protocol
    /// orders after the word's last store (a value held in a record slot, `segment.rs`).
    #[inline(always)]
    pub fn word_bytes(word: &AtomicI64) -> *const u8 {
        word.as_ptr().cast_const().cast()
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

    /// Loom's atomics lend no address: under loom no slot holds a value (`log/lease.rs`
    /// appends every value to the arena), so nothing calls this.
    pub fn word_bytes(_word: &AtomicI64) -> *const u8 {
        unreachable!("no slot holds a value under loom")
    }

    /// Under loom a spin must yield, or the model never lets the other thread run.
    pub fn spin_loop() {
        loom::thread::yield_now();
    }
}

pub use primitive::*;

/// The fast side of an asymmetric fence pair: with [`fence_heavy`] on the other side, it
/// orders as a `SeqCst` fence on each side would (of a store before one fence and a load after
/// the other, at least one sees the other). For a check made on every append against one made
/// before a reader parks (`notify.rs`): folly's `asymmetricLightBarrier`, the scheme of C++
/// proposal P1202. Where `membarrier(2)` works (Linux 4.14 and later, registered by
/// [`fence_pair_prepare`]) this is a compiler fence and [`fence_heavy`] makes every running
/// thread of the process execute a full barrier; elsewhere, and until the registration is
/// known to have worked, both are `SeqCst` fences.
#[inline]
pub fn fence_light() {
    if asymmetric::ready() {
        std::sync::atomic::compiler_fence(Ordering::SeqCst);
    } else {
        fence(Ordering::SeqCst);
    }
}

/// The slow side of the pair (see [`fence_light`]): a system call that interrupts every core
/// running one of the process's threads, microseconds.
pub fn fence_heavy() {
    fence_pair_prepare();
    if !(asymmetric::ready() && asymmetric::membarrier()) {
        fence(Ordering::SeqCst);
    }
}

/// Register the process for `membarrier(2)` once, so that [`fence_light`] can be a compiler
/// fence from the first append on. [`fence_heavy`] calls it first, so a heavy side never runs
/// before the registration is settled; once it reads ready, a light side may skip its fence.
pub fn fence_pair_prepare() {
    static PREPARED: std::sync::Once = std::sync::Once::new();
    PREPARED.call_once(asymmetric::register);
}

#[cfg(all(target_os = "linux", not(any(loom, miri))))]
mod asymmetric {
    use std::sync::atomic::{AtomicBool, Ordering};

    /// `MEMBARRIER_CMD_QUERY`, `..._PRIVATE_EXPEDITED`, `..._REGISTER_PRIVATE_EXPEDITED`
    /// (linux/membarrier.h).
    const QUERY: libc::c_int = 0;
    const PRIVATE_EXPEDITED: libc::c_int = 1 << 3;
    const REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;

    /// Set once the process is registered; never cleared.
    static READY: AtomicBool = AtomicBool::new(false);

    fn membarrier_call(command: libc::c_int) -> libc::c_long {
        // SAFETY: membarrier(2) takes two integers and touches no memory of ours; an unknown
        // command or a kernel without it returns an error, which the callers check.
        unsafe { libc::syscall(libc::SYS_membarrier, command, 0 as libc::c_int) }
    }

    pub fn register() {
        let commands = membarrier_call(QUERY);
        let wanted = (PRIVATE_EXPEDITED | REGISTER_PRIVATE_EXPEDITED) as libc::c_long;
        if commands >= 0
            && commands & wanted == wanted
            && membarrier_call(REGISTER_PRIVATE_EXPEDITED) == 0
        {
            READY.store(true, Ordering::Release);
        }
    }

    #[inline]
    pub fn ready() -> bool {
        READY.load(Ordering::Relaxed)
    }

    /// Run the barrier. A registered process's call does not fail (membarrier(2) lists no
    /// error for it); if it did, no fence here could stand in for it, as light sides that saw
    /// `ready` have already skipped theirs, so that stops the process rather than lose a
    /// wake-up in silence.
    pub fn membarrier() -> bool {
        let result = membarrier_call(PRIVATE_EXPEDITED);
        assert_eq!(
            result, 0,
            "membarrier(PRIVATE_EXPEDITED) failed after registering"
        );
        true
    }
}

/// Loom and miri model no process-wide barrier, and other systems are not wired up: both
/// sides are `SeqCst` fences, the ordering the pair stands for, so the models check the
/// protocol built on it.
#[cfg(not(all(target_os = "linux", not(any(loom, miri)))))]
mod asymmetric {
    pub fn register() {}

    #[inline]
    pub fn ready() -> bool {
        false
    }

    pub fn membarrier() -> bool {
        false
    }
}

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
