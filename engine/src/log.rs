//! The partition log: append-only, segmented, dense offsets, lock-free appends and reads.
//!
//! Three counters, each on its own cache line:
//! - `offset_reserved`: the next offset to hand out. An append CASes it from `r` to `r + n`,
//!   which gives the batch the offsets `r..r + n` and nobody else.
//! - `high_watermark`: every offset below it is fully written. Invariant: `log_start ≤
//!   high_watermark ≤ offset_reserved`, and the records below the high watermark never change.
//! - `log_start`: the first retained offset; only grows (retention, `delete_records`).
//!
//! Append = reserve (CAS) → write the slots and arena bytes of `r..r + n` (plain writes,
//! nobody else touches them) → publish in order: wait until `high_watermark == r`, then store
//! `r + n` with Release. A reader loads `log_start` then `high_watermark` (Acquire) and reads
//! only below the latter, so it sees no gap, no torn record, and every batch whole. The only
//! wait is for an earlier appender of the same partition to finish copying its batch (no lock
//! is held and no allocation larger than one segment happens in that window).
//!
//! Retention advances `log_start` (CAS max), then unlinks every segment wholly below it, each
//! exactly once (claimed by CAS on `segments_unlinked_below`); unlinked segments go back to the
//! partition's [`SegmentPool`] through the epoch collector, so a reader still holding one under
//! its guard reads intact memory.

use crossbeam_epoch::Guard;
use crossbeam_utils::CachePadded;

use crate::directory::{Directory, RETAINED_RECORDS_MAX};
use crate::notify::Notify;
use crate::recycle::SegmentPool;
use crate::segment::{
    RecordParts, RecordView, Segment, ARENA_BYTES_MIN, INLINE_RECORD_BYTES_MAX, SEGMENT_RECORDS,
    SEGMENT_RECORDS_SHIFT,
};
use crate::sync::{Arc, AtomicI64, AtomicU64, Backoff, Ordering};

/// Why an append was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendError {
    /// The partition already retains [`RETAINED_RECORDS_MAX`] records.
    LogFull,
}

/// The offset asked for is below the log start or above the high watermark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OffsetOutOfRange;

/// What a read saw of the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadSummary {
    /// Records delivered.
    pub count: usize,
    /// The high watermark the read was bounded by.
    pub high_watermark: i64,
    /// The log start the read was checked against.
    pub log_start_offset: i64,
    /// Whether retention removed the rest of the range while the read ran (the records
    /// delivered are intact; the reader may restart).
    pub cut_short: bool,
}

/// A batch to append: `len()` records, the `i`-th given by `parts(i)`.
pub trait AppendBatch {
    /// Records in the batch.
    fn len(&self) -> usize;
    /// Whether the batch is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Record `index`, with its timestamp resolved.
    fn parts(&self, index: usize) -> RecordParts<'_>;
}

/// One partition's log. See the module docs.
#[derive(Debug)]
pub struct Log {
    offset_reserved: CachePadded<AtomicI64>,
    high_watermark: CachePadded<AtomicI64>,
    log_start: CachePadded<AtomicI64>,
    /// Segment numbers below this are unlinked (or being unlinked by their claimant).
    segments_unlinked_below: AtomicU64,
    /// Arena bytes to give the next fresh segment: the last segment's demand plus 1/8.
    arena_bytes_next: AtomicU64,
    directory: Directory,
    pool: Arc<SegmentPool>,
    notify: Notify,
}

impl Default for Log {
    fn default() -> Log {
        Log::new()
    }
}

impl Log {
    /// An empty log: log start 0, high watermark 0.
    pub fn new() -> Log {
        Log {
            offset_reserved: CachePadded::new(AtomicI64::new(0)),
            high_watermark: CachePadded::new(AtomicI64::new(0)),
            log_start: CachePadded::new(AtomicI64::new(0)),
            segments_unlinked_below: AtomicU64::new(0),
            arena_bytes_next: AtomicU64::new(ARENA_BYTES_MIN as u64),
            directory: Directory::new(),
            pool: Arc::new(SegmentPool::new()),
            notify: Notify::new(),
        }
    }

    /// The high watermark (Acquire: records below it are readable).
    #[inline]
    pub fn high_watermark(&self) -> i64 {
        self.high_watermark.load(Ordering::Acquire)
    }

    /// The log start offset.
    #[inline]
    pub fn log_start_offset(&self) -> i64 {
        self.log_start.load(Ordering::Acquire)
    }

    /// `(log_start, high_watermark)`, loaded in that order so `log_start ≤ high_watermark`.
    #[inline]
    pub fn bounds(&self) -> (i64, i64) {
        let log_start = self.log_start_offset();
        let high_watermark = self.high_watermark();
        debug_assert!(log_start <= high_watermark);
        (log_start, high_watermark)
    }

    /// Append `batch` at consecutive offsets; returns the first. Visible to every read that
    /// starts after this returns.
    pub fn append<B: AppendBatch + ?Sized>(&self, batch: &B) -> Result<i64, AppendError> {
        let count = batch.len() as i64;
        debug_assert!(count > 0);
        // 1. Reserve `base..base + count`.
        let mut base = self.offset_reserved.load(Ordering::Relaxed);
        loop {
            if base + count - self.log_start.load(Ordering::Relaxed) > RETAINED_RECORDS_MAX {
                return Err(AppendError::LogFull);
            }
            match self.offset_reserved.compare_exchange_weak(
                base,
                base + count,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(current) => base = current,
            }
        }
        // 2. Write, segment by segment.
        let guard = crossbeam_epoch::pin();
        let mut offset = base;
        let mut index = 0usize;
        while offset < base + count {
            let segment_number = offset as u64 >> SEGMENT_RECORDS_SHIFT;
            let segment = self.segment_for_write(segment_number, &guard)?;
            let slot_first = (offset as u64 & (SEGMENT_RECORDS - 1)) as usize;
            let in_segment =
                ((SEGMENT_RECORDS as usize - slot_first) as i64).min(base + count - offset);
            let records = index..index + in_segment as usize;
            let inline_bytes: usize = records
                .clone()
                .map(|i| batch.parts(i).encoded_len())
                .filter(|&len| len <= INLINE_RECORD_BYTES_MAX)
                .sum();
            let mut arena_next = segment.reserve_arena(inline_bytes);
            for (slot, i) in (slot_first..).zip(records) {
                let parts = batch.parts(i);
                let len = parts.encoded_len();
                let start = arena_next.filter(|_| len <= INLINE_RECORD_BYTES_MAX);
                // SAFETY: slot `slot` of this segment is offset `offset + (slot - slot_first)`,
                // inside the range reserved in step 1; the arena range comes from this
                // batch's own reservation; nothing reads either before step 3 publishes.
                unsafe { segment.write_record(slot, start, &parts) };
                if let Some(start) = start {
                    arena_next = Some(start + len as u32);
                }
            }
            offset += in_segment;
            index += in_segment as usize;
        }
        drop(guard);
        // 3. Publish in order.
        let mut backoff = Backoff::default();
        while self.high_watermark.load(Ordering::Acquire) != base {
            backoff.snooze();
        }
        self.high_watermark.store(base + count, Ordering::Release);
        self.notify.notify();
        Ok(base)
    }

    fn segment_for_write<'g>(
        &self,
        segment_number: u64,
        guard: &'g Guard,
    ) -> Result<&'g Segment, AppendError> {
        if let Some(segment) = self.directory.get(segment_number, guard) {
            return Ok(segment);
        }
        let base_offset = (segment_number * SEGMENT_RECORDS) as i64;
        let make = || {
            // Size the arena from the previous segment's demand (its cursor may have run past
            // its capacity: that is demand too).
            if let Some(previous) = segment_number
                .checked_sub(1)
                .and_then(|n| self.directory.get(n, guard))
            {
                let demand = previous.arena_demand_bytes() as u64;
                self.arena_bytes_next
                    .store(demand + demand / 8, Ordering::Relaxed);
            }
            let wanted = self.arena_bytes_next.load(Ordering::Relaxed) as usize;
            match self.pool.take() {
                Some(mut segment)
                    if segment.arena_capacity_bytes() >= wanted
                        && segment.arena_capacity_bytes() <= 2 * wanted.max(ARENA_BYTES_MIN) =>
                {
                    // SAFETY: pooled segments had their out-of-line records released
                    // (`retire`), so there are no written slots left to release.
                    unsafe { segment.reset(0, base_offset) };
                    segment
                }
                _ => Box::new(Segment::new(base_offset, wanted)),
            }
        };
        self.directory
            .get_or_install(segment_number, guard, make, |spare| self.pool.put(spare))
            .map_err(|_| AppendError::LogFull)
    }

    /// Read records from `offset`, calling `each(offset, record)` until it returns `false`,
    /// `max_records` were delivered, or the high watermark is reached.
    pub fn read<'g>(
        &self,
        offset: i64,
        max_records: usize,
        guard: &'g Guard,
        mut each: impl FnMut(i64, &'g Segment, usize) -> bool,
    ) -> Result<ReadSummary, OffsetOutOfRange> {
        let (log_start, high_watermark) = self.bounds();
        if offset < log_start || offset > high_watermark {
            return Err(OffsetOutOfRange);
        }
        let end = high_watermark.min(offset.saturating_add(max_records as i64));
        let mut summary = ReadSummary {
            count: 0,
            high_watermark,
            log_start_offset: log_start,
            cut_short: false,
        };
        let mut next = offset;
        while next < end {
            let segment_number = next as u64 >> SEGMENT_RECORDS_SHIFT;
            let Some(segment) = self.directory.get(segment_number, guard) else {
                // Retention unlinked it after our bounds check: everything from here is gone.
                summary.cut_short = true;
                return Ok(summary);
            };
            let slot_first = (next as u64 & (SEGMENT_RECORDS - 1)) as usize;
            let slot_end = ((end - segment.base_offset()) as u64).min(SEGMENT_RECORDS) as usize;
            for slot in slot_first..slot_end {
                summary.count += 1;
                if !each(next, segment, slot) {
                    return Ok(summary);
                }
                next += 1;
            }
        }
        Ok(summary)
    }

    /// Read records as [`RecordView`]s; see [`Log::read`].
    pub fn read_views<'g>(
        &self,
        offset: i64,
        max_records: usize,
        guard: &'g Guard,
        mut each: impl FnMut(i64, RecordView<'g>) -> bool,
    ) -> Result<ReadSummary, OffsetOutOfRange> {
        self.read(offset, max_records, guard, |offset, segment, slot| {
            // SAFETY: `read` calls back only for slots below the high watermark it loaded
            // with Acquire, in a segment loaded under `guard`.
            each(offset, unsafe { segment.record(slot) })
        })
    }

    /// Advance the log start to `offset` if that is larger (never past the high watermark),
    /// then unlink and recycle the segments wholly below it. Returns the log start now.
    pub fn advance_log_start(&self, offset: i64) -> i64 {
        let mut current = self.log_start.load(Ordering::Acquire);
        loop {
            let high_watermark = self.high_watermark.load(Ordering::Acquire);
            debug_assert!(offset <= high_watermark, "log start past the high watermark");
            let target = offset.min(high_watermark);
            if target <= current {
                break;
            }
            match self.log_start.compare_exchange_weak(
                current,
                target,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    current = target;
                    break;
                }
                Err(now) => current = now,
            }
        }
        self.unlink_below(current);
        current
    }

    fn unlink_below(&self, log_start: i64) {
        let guard = crossbeam_epoch::pin();
        let limit = log_start as u64 >> SEGMENT_RECORDS_SHIFT;
        let mut next = self.segments_unlinked_below.load(Ordering::Acquire);
        while next < limit {
            if let Err(now) = self.segments_unlinked_below.compare_exchange_weak(
                next,
                next + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                next = now;
                continue;
            }
            if let Some(segment) = self.directory.unlink(next, &guard) {
                let pool = self.pool.clone();
                let retired = RetiredSegment(segment.as_raw() as *mut Segment);
                // SAFETY (for the closure's unsafe): the segment is unlinked (swapped out by
                // this thread alone, claimed through `segments_unlinked_below`), so once the
                // collector runs this no reader can hold it.
                guard.defer(move || {
                    let retired = retired;
                    // SAFETY: see above; the pointer came from the directory's `Owned` box.
                    let mut segment = unsafe { Box::from_raw(retired.0) };
                    // SAFETY: the segment lay wholly below the log start, hence below the
                    // high watermark: all its slots are written, released once, here.
                    unsafe { segment.release_out_of_line(SEGMENT_RECORDS as usize) };
                    pool.put(segment);
                });
            }
            next += 1;
        }
    }

    /// Block until the high watermark passes `offset` or `timeout` elapses (`None`: no
    /// deadline). Returns whether it did.
    pub fn wait_for(&self, offset: i64, timeout: Option<std::time::Duration>) -> bool {
        self.notify
            .wait_until(timeout, || self.high_watermark.load(Ordering::Acquire) > offset)
    }
}

/// A retired segment on its way to the pool, moved into the collector's deferred closure.
struct RetiredSegment(*mut Segment);

// SAFETY: the pointer is the only reference to an unlinked segment (ownership moves with it),
// and `Segment` is `Send`.
unsafe impl Send for RetiredSegment {}

impl Drop for Log {
    fn drop(&mut self) {
        let high_watermark = self.high_watermark.load(Ordering::Acquire);
        self.directory.drain(|mut segment| {
            let written = (high_watermark - segment.base_offset()).clamp(0, SEGMENT_RECORDS as i64);
            // SAFETY: exclusive access at drop; the slots below the high watermark were written
            // (no append is in flight: appends borrow the log), released once, here.
            unsafe { segment.release_out_of_line(written as usize) };
        });
    }
}
