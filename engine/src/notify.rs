//! Waking readers blocked on a partition's high watermark, without lost wake-ups and without
//! touching a lock on the produce path while nobody waits.
//!
//! Protocol (a Dekker pair on `waiters_count` and the high watermark, fenced by an asymmetric
//! pair, `sync::fence_light` on the producer's side and `sync::fence_heavy` on the waiter's,
//! which orders as a `SeqCst` fence on each side would):
//! - producer: publish the high watermark; `fence_light`; if `waiters_count > 0`, take the
//!   mutex and `notify_all`.
//! - waiter: `waiters_count += 1`; `fence_heavy`; then, holding the mutex, re-check the
//!   condition and only then `wait`.
//!
//! Either the producer sees the waiter's increment (and notifies under the mutex, which it can
//! only take once the waiter is inside `wait` or before it re-checks), or the waiter's re-check
//! sees the new high watermark. Why asymmetric: the producer's side runs on every append and
//! a `SeqCst` fence there waits for its stores to reach the lines readers just pulled away
//! (single-record fan-out 40 against 44-47 M records/s with the compiler fence, alternating
//! runs of `--example publication-cost`); the waiter's side runs only before a reader parks,
//! which costs a futex round trip anyway. A condvar wake-up is a futex wake: microseconds. A waiter spins
//! about 2 µs before it registers (see `SPINS_BEFORE_PARK_COUNT`), then parks: no spinning
//! while idle.

use std::time::{Duration, Instant};

use crate::sync::{
    fence_heavy, fence_light, fence_pair_prepare, lock, AtomicU32, Condvar, Mutex, Ordering,
};

/// Checks of the condition before a waiter registers and parks: about 2 µs of spinning, the
/// gap between two batches of a producer that is keeping up. Parking costs a futex round trip
/// on both sides (several µs), so a short spin wins while traffic flows and costs nothing
/// measurable when idle (the wait then parks).
#[cfg(not(loom))]
const SPINS_BEFORE_PARK_COUNT: u32 = 256;
/// Under loom a spin is a yield: keep the model small.
#[cfg(loom)]
const SPINS_BEFORE_PARK_COUNT: u32 = 1;

/// Waiter registry and parking place of one partition.
#[derive(Debug)]
pub struct Notify {
    /// Threads inside [`Notify::wait_until`]. Producers read it after every publish.
    waiters_count: AtomicU32,
    mutex: Mutex<()>,
    condvar: Condvar,
}

impl Default for Notify {
    fn default() -> Notify {
        Notify::new()
    }
}

impl Notify {
    /// No waiters.
    pub fn new() -> Notify {
        fence_pair_prepare();
        Notify {
            waiters_count: AtomicU32::new(0),
            mutex: Mutex::new(()),
            condvar: Condvar::new(),
        }
    }

    /// Wake every waiter, if there are any. Call after publishing what they wait for.
    #[inline]
    pub fn notify(&self) {
        fence_light();
        if self.waiters_count.load(Ordering::Relaxed) > 0 {
            let _parked = lock(&self.mutex);
            self.condvar.notify_all();
        }
    }

    /// Block until `ready()` holds or `timeout` passes; returns whether it holds. `None`
    /// waits without a deadline.
    pub fn wait_until(&self, timeout: Option<Duration>, ready: impl Fn() -> bool) -> bool {
        // A reader that keeps up with its producer usually finds the next batch within a
        // microsecond: check a little before registering, so neither side touches the mutex.
        for _ in 0..SPINS_BEFORE_PARK_COUNT {
            if ready() {
                return true;
            }
            crate::sync::spin_loop();
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        self.waiters_count.fetch_add(1, Ordering::Relaxed);
        fence_heavy();
        let mut parked = lock(&self.mutex);
        let holds = loop {
            if ready() {
                break true;
            }
            match deadline {
                None => {
                    parked = match self.condvar.wait(parked) {
                        Ok(guard) => guard,
                        Err(poisoned) => poisoned.into_inner(),
                    };
                }
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        break false;
                    }
                    parked = match self.condvar.wait_timeout(parked, deadline - now) {
                        Ok((guard, _)) => guard,
                        Err(poisoned) => poisoned.into_inner().0,
                    };
                }
            }
        };
        drop(parked);
        self.waiters_count.fetch_sub(1, Ordering::Relaxed);
        holds
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::sync::{Arc, AtomicI64};

    /// Goal: a waiter never sleeps through the publish it waits for (no lost wake-up).
    /// Method: one thread publishes a value and notifies, the other waits for it without a
    /// deadline; loom explores every interleaving and reports a deadlock if one is lost.
    #[test]
    fn waiting_against_append_loses_no_wake_up() {
        loom::model(|| {
            let notify = Arc::new(Notify::new());
            let high_watermark = Arc::new(AtomicI64::new(0));
            let producer = {
                let (notify, high_watermark) = (notify.clone(), high_watermark.clone());
                loom::thread::spawn(move || {
                    high_watermark.store(1, Ordering::Release);
                    notify.notify();
                })
            };
            let woke = notify.wait_until(None, || high_watermark.load(Ordering::Acquire) >= 1);
            assert!(woke);
            producer.join().unwrap();
        });
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::sync::{Arc, AtomicI64};

    /// Goal: a deadline ends the wait with `false` when nothing is published.
    #[test]
    fn wait_times_out_when_nothing_is_published() {
        let notify = Notify::new();
        let ready = notify.wait_until(Some(Duration::from_millis(5)), || false);
        assert!(!ready);
        assert_eq!(notify.waiters_count.load(Ordering::Relaxed), 0);
    }

    /// Goal: a publish from another thread wakes the waiter (well before the long deadline).
    #[test]
    fn publish_wakes_a_waiter() {
        let notify = Arc::new(Notify::new());
        let value = Arc::new(AtomicI64::new(0));
        let waiter = {
            let (notify, value) = (notify.clone(), value.clone());
            std::thread::spawn(move || {
                notify.wait_until(Some(Duration::from_secs(30)), || {
                    value.load(Ordering::Acquire) == 1
                })
            })
        };
        std::thread::sleep(Duration::from_millis(10));
        value.store(1, Ordering::Release);
        notify.notify();
        assert!(waiter.join().unwrap());
    }
}
