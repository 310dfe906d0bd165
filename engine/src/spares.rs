//! Recycling of batch descriptors: every append needs one (`descriptor.rs`) and retires its
//! predecessor's, so a single-record append that allocated and freed one through the epoch
//! collector spent about half its time in malloc, free and `defer` (perf of
//! `produce/8B/one_partition`), and with several producers freeing each other's descriptors
//! on glibc's arena locks.
//!
//! Instead each thread keeps its own descriptors circulating:
//! 1. `take`: a spare of this thread's, else one of its descriptors the collector returned,
//!    else a new one.
//! 2. `retire`: the replaced descriptor joins this thread's pending group; a full group
//!    ([`RETIRE_GROUP`]) goes to the collector in one `defer`.
//! 3. The collector, once no thread pinned before the `defer` is still pinned (so none can
//!    hold any of them), pushes the group onto the retiring thread's [`Returns`], a stack only
//!    that thread empties, which `take` then drains.
//!
//! Delaying a `defer` is safe: the collector only waits longer. A descriptor crosses threads
//! only inside the collector's closure, never while another thread could still read it.

use crossbeam_epoch::Guard;

use crate::descriptor::Descriptor;

/// A replaced descriptor on its way through the collector.
pub struct Retired(pub(crate) *mut Descriptor);

// SAFETY: the pointer is the only owning reference to a descriptor no thread can reach through
// the log any more (moved, never dereferenced, until the collector has run), and `Descriptor`
// is `Send`.
unsafe impl Send for Retired {}

impl Retired {
    /// The descriptor, owned again.
    ///
    /// # Safety
    /// The collector has run past every thread that could hold it, and it is taken back once.
    unsafe fn into_box(self) -> Box<Descriptor> {
        // SAFETY: the pointer came from an `Owned` (a box); the caller's contract.
        unsafe { Box::from_raw(self.0) }
    }
}

/// Hand one descriptor to the collector to be freed (no thread to return it to).
fn defer_free(retired: Retired, guard: &Guard) {
    guard.defer(move || {
        // SAFETY: the collector runs this once every thread pinned at the `defer` unpinned,
        // and every thread that could hold the descriptor was pinned since its replacement.
        drop(unsafe { retired.into_box() });
    });
}

#[cfg(not(loom))]
pub use threads::{retire, take};

/// Descriptors replaced by one thread, handed to the collector together.
#[cfg(not(loom))]
pub const RETIRE_GROUP: usize = 64;

#[cfg(not(loom))]
mod threads {
    use std::cell::RefCell;

    use crossbeam_epoch::Guard;

    use super::{defer_free, Retired, RETIRE_GROUP};
    use crate::descriptor::Descriptor;
    use crate::sync::{Arc, AtomicPtr, Ordering};

    /// Spares a thread keeps (about 200 bytes each, so at most 100 KiB): the groups in flight
    /// while the collector's epoch advances twice.
    const SPARES_MAX: usize = 8 * RETIRE_GROUP;

    /// One returned group: a node of [`Returns`].
    struct ReturnedGroup {
        descriptors: Vec<Retired>,
        next: *mut ReturnedGroup,
    }

    /// Groups the collector has freed, on their way back to the thread that retired them: a
    /// stack that collector closures push onto (CAS) and only its owner empties, all at once
    /// (swap), so no pop ever compares against a node that may have been reused (no ABA).
    pub struct Returns {
        head: AtomicPtr<ReturnedGroup>,
    }

    impl Returns {
        fn push(&self, descriptors: Vec<Retired>) {
            let node = Box::into_raw(Box::new(ReturnedGroup {
                descriptors,
                next: std::ptr::null_mut(),
            }));
            let mut head = self.head.load(Ordering::Relaxed);
            loop {
                // SAFETY: `node` is ours alone until the CAS below publishes it.
                unsafe { (*node).next = head };
                match self.head.compare_exchange_weak(
                    head,
                    node,
                    Ordering::Release,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return,
                    Err(now) => head = now,
                }
            }
        }

        /// Every returned group, newest first, as boxes owned by the caller.
        fn take_all(&self) -> impl Iterator<Item = Box<ReturnedGroup>> {
            let mut node = self.head.swap(std::ptr::null_mut(), Ordering::Acquire);
            std::iter::from_fn(move || {
                // SAFETY: the swap took the whole stack: its nodes (from `Box::into_raw` in
                // `push`) are ours alone, each visited once.
                let group = (!node.is_null()).then(|| unsafe { Box::from_raw(node) })?;
                node = group.next;
                Some(group)
            })
        }
    }

    impl Drop for Returns {
        fn drop(&mut self) {
            for group in self.take_all() {
                for retired in group.descriptors {
                    // SAFETY: returned by the collector (no thread can hold it), once.
                    drop(unsafe { retired.into_box() });
                }
            }
        }
    }

    /// One thread's descriptors: spares ready to use, the pending group, its returns.
    struct ThreadSpares {
        // Boxes, not values: a spare is the very allocation an `Owned` descriptor takes over.
        #[allow(clippy::vec_box)]
        spares: Vec<Box<Descriptor>>,
        retiring: Vec<Retired>,
        returns: Arc<Returns>,
    }

    impl ThreadSpares {
        fn hand_over(&mut self, guard: &Guard) {
            let group = std::mem::replace(&mut self.retiring, Vec::with_capacity(RETIRE_GROUP));
            let returns = self.returns.clone();
            guard.defer(move || returns.push(group));
            // Seal the thread's bag of deferred work now: left alone it waits for 64 deferrals
            // (64 groups, 4096 appends), and every append meanwhile would allocate afresh.
            guard.flush();
        }
    }

    impl Drop for ThreadSpares {
        fn drop(&mut self) {
            // Thread exit: the pending group still goes through the collector (its returns
            // outlive this thread in the closure, and free what comes back).
            if !self.retiring.is_empty() {
                self.hand_over(&crossbeam_epoch::pin());
            }
        }
    }

    std::thread_local! {
        static SPARES: RefCell<ThreadSpares> = RefCell::new(ThreadSpares {
            spares: Vec::new(),
            retiring: Vec::with_capacity(RETIRE_GROUP),
            returns: Arc::new(Returns {
                head: AtomicPtr::new(std::ptr::null_mut()),
            }),
        });
    }

    /// A cleared descriptor: a spare, a returned one, or a new one.
    pub fn take() -> Box<Descriptor> {
        SPARES
            .try_with(|spares| {
                let mut spares = spares.try_borrow_mut().ok()?;
                if spares.spares.is_empty() {
                    let returned: Vec<Box<ReturnedGroup>> = spares.returns.take_all().collect();
                    for group in returned {
                        for retired in group.descriptors {
                            // SAFETY: returned by the collector (no thread can hold it), once.
                            let mut descriptor = unsafe { retired.into_box() };
                            if descriptor.is_small() && spares.spares.len() < SPARES_MAX {
                                descriptor.clear();
                                spares.spares.push(descriptor);
                            }
                        }
                    }
                }
                spares.spares.pop()
            })
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// Queue `retired` in this thread's group; hand the group to the collector when full.
    pub fn retire(retired: Retired, guard: &Guard) {
        let mut pending = Some(retired);
        let _ = SPARES.try_with(|spares| {
            let Ok(mut spares) = spares.try_borrow_mut() else {
                return;
            };
            spares.retiring.extend(pending.take());
            if spares.retiring.len() >= RETIRE_GROUP {
                spares.hand_over(guard);
            }
        });
        if let Some(alone) = pending {
            // This thread's spares are gone (thread exit): the collector frees it.
            defer_free(alone, guard);
        }
    }
}

/// Under loom, no spares and no groups: every descriptor is allocated, retired alone and freed
/// (loom models the collector, not thread-locals).
#[cfg(loom)]
pub fn take() -> Box<Descriptor> {
    Box::default()
}

/// See the non-loom `retire`.
#[cfg(loom)]
pub fn retire(retired: Retired, guard: &Guard) {
    defer_free(retired, guard);
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::collections::HashSet;
    use std::time::{Duration, Instant};

    use crossbeam_epoch::Owned;

    use super::*;

    /// Goal: a thread's replaced descriptors come back to it (so steady appends allocate
    /// nothing), and not while a thread pinned before their retirement is still pinned (it
    /// might hold one). Method: pin another thread, retire a group of descriptors here, check
    /// none comes back; unpin it, let the collector run, and find them all taken again.
    #[test]
    fn retired_descriptors_come_back_once_no_pin_can_hold_them() {
        let (pinned_tx, pinned_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let holder = std::thread::spawn(move || {
            let _guard = crossbeam_epoch::pin();
            pinned_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        });
        pinned_rx.recv().unwrap();
        let mut retired = HashSet::new();
        {
            let guard = crossbeam_epoch::pin();
            for _ in 0..RETIRE_GROUP {
                let descriptor = Owned::<Descriptor>::from(take()).into_shared(&guard);
                retired.insert(descriptor.as_raw() as usize);
                // SAFETY: never installed anywhere; retired once.
                unsafe { Descriptor::retire(descriptor, &guard) };
            }
        }
        for _ in 0..8 {
            crossbeam_epoch::pin().flush();
        }
        let early: Vec<Box<Descriptor>> = (0..RETIRE_GROUP).map(|_| take()).collect();
        assert!(
            early
                .iter()
                .all(|d| !retired.contains(&(&**d as *const _ as usize))),
            "a descriptor came back while a thread pinned before its retirement still was"
        );
        release_tx.send(()).unwrap();
        holder.join().unwrap();
        // Other tests' threads pin too: flush until the group is back (bounded: 5 s).
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut back = HashSet::new();
        while back.len() < retired.len() && Instant::now() < deadline {
            crossbeam_epoch::pin().flush();
            let taken = take();
            let address = &*taken as *const Descriptor as usize;
            if retired.contains(&address) {
                back.insert(address);
            }
            // Not retired, so not kept: dropped (a spare taken out of circulation).
            drop(taken);
            std::thread::sleep(Duration::from_micros(50));
        }
        assert_eq!(
            back.len(),
            retired.len(),
            "every retired descriptor came back"
        );
    }
}
