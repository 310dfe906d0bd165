//! Recycling of freed segments: a small lock-free pool per partition.
//!
//! Writing to freshly mapped pages costs about 4x writing to warm ones on these machines (page
//! faults and zeroing), so a segment freed by retention is kept, once no reader can still see
//! it (the epoch collector runs the hand-back), and reused for the next segment the partition
//! needs. The pool is a fixed array of pointer slots: `put` CASes a null slot to the segment,
//! `take` swaps a non-null slot to null. No slot is ever compared against a stale non-null
//! value, so there is no ABA.

use crate::segment::Segment;
use crate::sync::{AtomicPtr, AtomicUsize, Ordering};

/// Segments kept per partition: enough to absorb the segments a consumer trimming every few
/// segments frees before the collector hands them back (16 segments are 64 Ki records) (producer and retention advancing
/// together), small enough that an idle partition holds at most 16 × 64 KiB of slots plus
/// their arenas.
#[cfg(not(loom))]
pub const POOL_SEGMENTS_MAX: usize = 16;
/// See the non-loom value.
#[cfg(loom)]
pub const POOL_SEGMENTS_MAX: usize = 1;

/// The pool. Holds segments whose out-of-line records are already released.
pub struct SegmentPool {
    slots: [AtomicPtr<Segment>; POOL_SEGMENTS_MAX],
    /// Segments retired to the epoch collector and not handed back yet (see
    /// [`SegmentPool::awaiting_collector`]).
    in_collector: AtomicUsize,
}

impl std::fmt::Debug for SegmentPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentPool").finish_non_exhaustive()
    }
}

impl Default for SegmentPool {
    fn default() -> SegmentPool {
        SegmentPool::new()
    }
}

impl SegmentPool {
    /// An empty pool.
    pub fn new() -> SegmentPool {
        SegmentPool {
            slots: std::array::from_fn(|_| AtomicPtr::new(std::ptr::null_mut())),
            in_collector: AtomicUsize::new(0),
        }
    }

    /// Keep `segment` for reuse; drops it when the pool is full.
    pub fn put(&self, segment: Box<Segment>) {
        let raw = Box::into_raw(segment);
        for slot in &self.slots {
            if slot
                .compare_exchange(
                    std::ptr::null_mut(),
                    raw,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_ok()
            {
                return;
            }
        }
        // SAFETY: `raw` came from `Box::into_raw` above and was not stored anywhere.
        drop(unsafe { Box::from_raw(raw) });
    }

    /// A segment was unlinked and handed to the epoch collector, which will give it back
    /// through [`SegmentPool::hand_back`].
    pub fn retired_to_collector(&self) {
        self.in_collector.fetch_add(1, Ordering::Relaxed);
    }

    /// The collector gives back a segment announced by
    /// [`SegmentPool::retired_to_collector`]: keep it for reuse. Pooled before it is counted
    /// out (`Release`), so whoever sees the count drop (`Acquire`) finds it in the pool; the
    /// collector may run this on any thread.
    pub fn hand_back(&self, segment: Box<Segment>) {
        self.put(segment);
        self.in_collector.fetch_sub(1, Ordering::Release);
    }

    /// Whether a retired segment is still waiting in the collector: then retention prods the
    /// collector even when it unlinks nothing new (`Log::unlink_below`).
    pub fn awaiting_collector(&self) -> bool {
        self.in_collector.load(Ordering::Acquire) > 0
    }

    /// A pooled segment, if any.
    pub fn take(&self) -> Option<Box<Segment>> {
        for slot in &self.slots {
            if slot.load(Ordering::Relaxed).is_null() {
                continue;
            }
            let raw = slot.swap(std::ptr::null_mut(), Ordering::AcqRel);
            if !raw.is_null() {
                // SAFETY: a non-null slot holds a pointer from `Box::into_raw` in `put`, and the
                // swap made this thread its only owner.
                return Some(unsafe { Box::from_raw(raw) });
            }
        }
        None
    }
}

impl Drop for SegmentPool {
    fn drop(&mut self) {
        while self.take().is_some() {}
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// Goal: the pool hands back what it was given, at most `POOL_SEGMENTS_MAX` of them.
    #[test]
    fn pool_keeps_at_most_its_capacity() {
        let pool = SegmentPool::new();
        for _ in 0..POOL_SEGMENTS_MAX + 2 {
            pool.put(Box::new(Segment::new(0, 1)));
        }
        let mut taken = 0;
        while pool.take().is_some() {
            taken += 1;
        }
        assert_eq!(taken, POOL_SEGMENTS_MAX);
    }
}
