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
//! `r + n` with Release. A reader loads `log_start`, `high_watermark` and `log_start` again
//! (Acquire; [`Log::bounds`]), retrying until the two log starts agree, and reads only below
//! the high watermark, so it sees no gap, no torn record, and every batch whole. The only
//! wait is for an earlier appender of the same partition to finish copying its batch (no lock
//! is held and no allocation larger than one segment happens in that window).
//!
//! Retention advances `log_start` (CAS max), then unlinks every segment wholly below it, each
//! exactly once (claimed by CAS on `segments_unlinked_below`); unlinked segments go back to the
//! partition's [`SegmentPool`] through the epoch collector, so a reader still holding one under
//! its guard reads intact memory.

use crossbeam_epoch::Guard;
use crossbeam_utils::CachePadded;

use crate::directory::{Directory, DirectoryFull, RETAINED_RECORDS_MAX};
use crate::notify::Notify;
use crate::recycle::SegmentPool;
use crate::segment::{
    RecordParts, RecordView, Segment, ARENA_BYTES_MIN, INLINE_RECORD_BYTES_MAX, SEGMENT_RECORDS,
    SEGMENT_RECORDS_SHIFT,
};
use crate::sync::{Arc, AtomicI64, AtomicU64, Backoff, Ordering};

/// A fresh segment's arena is the previous segment's demand plus 1/32 of it: enough that a
/// steady workload fits (records that do not fit go out of line, costing 8 bytes more each),
/// little enough that the slack stays near 3% of the payload (the 32-byte overhead budget is
/// per record, so slack proportional to record size must stay small).
pub const ARENA_MARGIN_DIVISOR: u64 = 32;

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
    /// When every record is a keyless, headerless, non-null value stamped with one
    /// timestamp: the values and that timestamp (the fan-out fast path).
    fn plain_values(&self) -> Option<(&[&[u8]], i64)> {
        None
    }
    /// When every record is a keyless, headerless, non-null value of one size stamped with
    /// one timestamp, written in place by [`AppendBatch::fill_values`] (zero-copy produce):
    /// `(value_bytes, timestamp_ms)`. Such a batch's [`AppendBatch::parts`] is never called.
    fn fixed_values(&self) -> Option<(usize, i64)> {
        None
    }
    /// Write the values of records `first..first + out.len() / value_bytes` into `out`, one
    /// after another (only for a batch whose [`AppendBatch::fixed_values`] is `Some`).
    fn fill_values(&self, first: usize, out: &mut [u8]) {
        let _ = (first, out);
        unreachable!("fill_values is called only when fixed_values is Some")
    }
}

/// One partition's log. See the module docs.
#[derive(Debug)]
pub struct Log {
    offset_reserved: CachePadded<AtomicI64>,
    high_watermark: CachePadded<AtomicI64>,
    log_start: CachePadded<AtomicI64>,
    /// Segment numbers below this are unlinked (or being unlinked by their claimant).
    segments_unlinked_below: AtomicU64,
    /// Arena bytes to give the next fresh segment: the last segment's demand plus
    /// 1/[`ARENA_MARGIN_DIVISOR`].
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

    /// `(log_start, high_watermark)` as both were at one instant, the high watermark's load,
    /// which is where a read takes effect. The log start is loaded before and after it and
    /// the pair is taken only when the two agree: both only grow, so the log start held that
    /// value at the instant in between. (Loaded once, before, a read stalled between the two
    /// loads paired a log start from before a `delete_records` with a high watermark from
    /// after a later append: a state the log was never in, which `streamspec check` caught.)
    /// A retry means retention advanced meanwhile, so the loop is lock-free.
    #[inline]
    pub fn bounds(&self) -> (i64, i64) {
        loop {
            let log_start = self.log_start_offset();
            let high_watermark = self.high_watermark();
            if self.log_start_offset() == log_start {
                debug_assert!(log_start <= high_watermark);
                return (log_start, high_watermark);
            }
        }
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
            let segment = self.segment_for_write(segment_number, &guard);
            let slot_first = (offset as u64 & (SEGMENT_RECORDS - 1)) as usize;
            let in_segment =
                ((SEGMENT_RECORDS as usize - slot_first) as i64).min(base + count - offset);
            let records = index..index + in_segment as usize;
            if let Some((value_bytes, timestamp_ms)) = batch.fixed_values() {
                let bytes = value_bytes * in_segment as usize;
                let start = (value_bytes <= INLINE_RECORD_BYTES_MAX)
                    .then(|| segment.reserve_arena(bytes))
                    .flatten();
                match start {
                    // SAFETY: slots `slot_first..slot_first + in_segment` are offsets reserved
                    // in step 1, the arena range is this batch's own reservation, and nothing
                    // reads either before step 3 publishes.
                    Some(start) => unsafe {
                        segment.write_fixed_values(
                            slot_first,
                            in_segment as usize,
                            start,
                            value_bytes,
                            timestamp_ms,
                            |out| batch.fill_values(index, out),
                        );
                    },
                    None => {
                        // No room inline: fill a scratch buffer, then store out of line.
                        let mut scratch = vec![0; bytes];
                        batch.fill_values(index, &mut scratch);
                        for i in 0..in_segment as usize {
                            let value = &scratch[i * value_bytes..(i + 1) * value_bytes];
                            let parts = RecordParts {
                                key: None,
                                value: Some(value),
                                headers: &[],
                                timestamp_ms,
                            };
                            // SAFETY: as above; `None` stores the record out of line.
                            unsafe {
                                segment.write_record(
                                    slot_first + i,
                                    None,
                                    &parts,
                                    parts.encoded_len(),
                                )
                            };
                        }
                    }
                }
                offset += in_segment;
                index += in_segment as usize;
                continue;
            }
            if let Some((values, timestamp_ms)) = batch.plain_values() {
                let values = &values[records.clone()];
                let inline_bytes: usize = values.iter().map(|v| v.len()).sum();
                if values.iter().all(|v| v.len() <= INLINE_RECORD_BYTES_MAX) {
                    if let Some(mut start) = segment.reserve_arena(inline_bytes) {
                        for (slot, value) in (slot_first..).zip(values) {
                            // SAFETY: as in the general loop below.
                            unsafe { segment.write_plain_value(slot, start, timestamp_ms, value) };
                            start += value.len() as u32;
                        }
                        offset += in_segment;
                        index += in_segment as usize;
                        continue;
                    }
                }
            }
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
                match (start, parts.key, parts.value) {
                    (Some(start), None, Some(value)) if parts.headers.is_empty() => {
                        // SAFETY: as below; the plain-value encoding is the value itself.
                        unsafe {
                            segment.write_plain_value(slot, start, parts.timestamp_ms, value)
                        };
                    }
                    // SAFETY: slot `slot` of this segment is offset `offset + (slot -
                    // slot_first)`, inside the range reserved in step 1; the arena range comes
                    // from this batch's own reservation; nothing reads either before step 3
                    // publishes.
                    _ => unsafe { segment.write_record(slot, start, &parts, len) },
                }
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

    fn segment_for_write<'g>(&self, segment_number: u64, guard: &'g Guard) -> &'g Segment {
        if let Some(segment) = self.directory.get(segment_number, guard) {
            return segment;
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
                    .store(demand + demand / ARENA_MARGIN_DIVISOR, Ordering::Relaxed);
            }
            let wanted = self.arena_bytes_next.load(Ordering::Relaxed) as usize;
            match self.pool.take() {
                Some(mut segment) => {
                    // The slots (64 KiB) are what recycling saves; an arena of the wrong size
                    // is replaced rather than overflowing out of line or wasting memory.
                    let capacity = segment.arena_capacity_bytes();
                    if capacity < wanted || capacity > 2 * wanted.max(ARENA_BYTES_MIN) {
                        segment.replace_arena(wanted);
                    }
                    // SAFETY: pooled segments had their out-of-line records released
                    // (`unlink_below`'s hand-back), so there are no written slots left to
                    // release.
                    unsafe { segment.reset(0, base_offset) };
                    segment
                }
                None => Box::new(Segment::new(base_offset, wanted)),
            }
        };
        let mut backoff = Backoff::default();
        loop {
            match self
                .directory
                .get_or_install(segment_number, guard, make, |spare| self.pool.put(spare))
            {
                Ok(segment) => return segment,
                Err(DirectoryFull) => {
                    // The ring slot still holds a block wholly below the log start whose
                    // unlinking lags (a retaining thread is between its log-start CAS and its
                    // unlinks): help, then retry. `append`'s window check keeps two blocks of
                    // margin, so this converges; the offsets are already reserved, so giving
                    // up here would wedge the partition.
                    self.unlink_below(self.log_start.load(Ordering::Acquire));
                    backoff.snooze();
                }
            }
        }
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
        let end = high_watermark
            .min(offset.saturating_add(i64::try_from(max_records).unwrap_or(i64::MAX)));
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
            debug_assert!(
                offset <= high_watermark,
                "log start past the high watermark"
            );
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
        // Hand the deferred hand-backs to the collector now, so freed segments reach the pool
        // before the producer needs new ones (otherwise it would take ~128 pins).
        guard.flush();
    }

    /// Block until the high watermark passes `offset` or `timeout` elapses (`None`: no
    /// deadline). Returns whether it did.
    pub fn wait_for(&self, offset: i64, timeout: Option<std::time::Duration>) -> bool {
        self.notify.wait_until(timeout, || {
            self.high_watermark.load(Ordering::Acquire) > offset
        })
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

/// Plain values appended with one timestamp, for the engine's own tests.
#[cfg(test)]
pub(crate) struct TestValues<'a>(pub(crate) &'a [&'a [u8]]);

#[cfg(test)]
impl AppendBatch for TestValues<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn parts(&self, index: usize) -> RecordParts<'_> {
        RecordParts {
            key: None,
            value: Some(self.0[index]),
            headers: &[],
            timestamp_ms: index as i64,
        }
    }
}

#[cfg(test)]
fn read_values(
    log: &Log,
    offset: i64,
    max_records: usize,
) -> Result<Vec<(i64, Vec<u8>)>, OffsetOutOfRange> {
    let guard = crossbeam_epoch::pin();
    let mut out = Vec::new();
    log.read_views(offset, max_records, &guard, |offset, view| {
        out.push((
            offset,
            view.value.expect("test values are non-null").to_vec(),
        ));
        true
    })?;
    Ok(out)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn value(i: u64) -> Vec<u8> {
        i.to_le_bytes().to_vec()
    }

    /// Goal: offsets are dense across segment boundaries and a read returns exactly what was
    /// appended. Method: batches of awkward sizes (crossing segments), one out-of-line record.
    #[test]
    fn appends_are_dense_across_segments() {
        let log = Log::new();
        let mut expected = Vec::new();
        let mut next = 0u64;
        let segment = SEGMENT_RECORDS as usize;
        for batch_len in [1, 7, segment - 1, segment + 1, 3, 2 * segment + 808] {
            let values: Vec<Vec<u8>> = (next..next + batch_len as u64).map(value).collect();
            let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
            assert_eq!(log.append(&TestValues(&refs)), Ok(next as i64));
            expected.extend(values);
            next += batch_len as u64;
        }
        let big = vec![9u8; 10_000];
        assert_eq!(log.append(&TestValues(&[&big])), Ok(next as i64));
        expected.push(big);
        assert_eq!(log.bounds(), (0, expected.len() as i64));
        let read = read_values(&log, 0, usize::MAX).unwrap();
        assert_eq!(read.len(), expected.len());
        for (i, (offset, bytes)) in read.iter().enumerate() {
            assert_eq!(*offset, i as i64);
            assert_eq!(bytes, &expected[i]);
        }
        assert_eq!(
            read_values(&log, expected.len() as i64, 10).unwrap(),
            vec![]
        );
        assert_eq!(
            read_values(&log, expected.len() as i64 + 1, 10),
            Err(OffsetOutOfRange)
        );
    }

    /// Goal: advancing the log start refuses older offsets, keeps the rest intact, and the
    /// freed segments are reused. Method: fill 3 segments, drop 2, flush the collector, append
    /// 2 more segments' worth and check every retained record.
    #[test]
    fn log_start_frees_and_recycles_segments() {
        let log = Log::new();
        let total = 3 * SEGMENT_RECORDS;
        let values: Vec<Vec<u8>> = (0..total).map(value).collect();
        let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
        let chunk_len = SEGMENT_RECORDS as usize / 4 + 1;
        for chunk in refs.chunks(chunk_len) {
            log.append(&TestValues(chunk)).unwrap();
        }
        let start = 2 * SEGMENT_RECORDS as i64 + 5;
        assert_eq!(log.advance_log_start(start), start);
        assert_eq!(
            log.advance_log_start(3),
            start,
            "the log start never moves back"
        );
        assert_eq!(read_values(&log, start - 1, 1), Err(OffsetOutOfRange));
        // Other tests' threads pin and defer too: flush until the collector ran the hand-back
        // (bounded: 5 s).
        let mut pooled = None;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            crossbeam_epoch::pin().flush();
            pooled = log.pool.take();
            if pooled.is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_micros(100));
        }
        assert!(
            pooled.map(|s| log.pool.put(s)).is_some(),
            "a freed segment is pooled"
        );
        for chunk in refs.chunks(chunk_len).take(8) {
            log.append(&TestValues(chunk)).unwrap();
        }
        let read = read_values(&log, start, usize::MAX).unwrap();
        assert_eq!(read.len() as i64, log.high_watermark() - start);
        for (offset, bytes) in read {
            assert_eq!(bytes, value(offset as u64 % total));
        }
    }

    /// Goal: concurrent appenders get disjoint, dense, whole batches. Method: 4 threads each
    /// append 500 batches of 3 tagged values; every batch must be found contiguous, once.
    #[test]
    fn concurrent_appends_are_dense_and_atomic() {
        let log = Log::new();
        let threads = 4u64;
        let batches = if cfg!(miri) { 5 } else { 500 };
        std::thread::scope(|scope| {
            for thread in 0..threads {
                let log = &log;
                scope.spawn(move || {
                    for batch in 0..batches {
                        let tag = (thread << 32) | batch;
                        let values: Vec<Vec<u8>> = (0..3u64).map(|i| value(tag << 2 | i)).collect();
                        let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
                        log.append(&TestValues(&refs)).unwrap();
                    }
                });
            }
        });
        let read = read_values(&log, 0, usize::MAX).unwrap();
        assert_eq!(read.len() as u64, threads * batches * 3);
        let mut seen = std::collections::HashSet::new();
        for triple in read.chunks(3) {
            let tags: Vec<u64> = triple
                .iter()
                .map(|(_, b)| u64::from_le_bytes(b[..8].try_into().unwrap()))
                .collect();
            assert_eq!(tags[0] & 3, 0, "batch starts at a batch boundary");
            assert_eq!(tags[1], tags[0] + 1);
            assert_eq!(tags[2], tags[0] + 2);
            assert!(seen.insert(tags[0]), "no batch twice");
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;

    fn value(i: u8) -> [u8; 1] {
        [i]
    }

    /// Goal: concurrent appends reserve disjoint ranges and publish whole batches in order.
    /// Method: 3 records already in the 4-slot segment; two threads append 1 and 2 records
    /// (one batch crosses into a new segment); the log must hold all 6, each batch contiguous.
    #[test]
    fn concurrent_appends() {
        loom::model(|| {
            let log = Arc::new(Log::new());
            log.append(&TestValues(&[&value(0), &value(1), &value(2)]))
                .unwrap();
            let other = {
                let log = log.clone();
                loom::thread::spawn(move || log.append(&TestValues(&[&value(10)])).unwrap())
            };
            let base = log.append(&TestValues(&[&value(20), &value(21)])).unwrap();
            let other_base = other.join().unwrap();
            assert_ne!(base, other_base);
            let read = read_values(&log, 0, 16).unwrap();
            assert_eq!(read.len(), 6);
            assert_eq!(read[base as usize].1, vec![20]);
            assert_eq!(read[base as usize + 1].1, vec![21]);
            assert_eq!(read[other_base as usize].1, vec![10]);
        });
    }

    /// Goal: a reader never sees part of a batch, a gap, or unwritten bytes. Method: one thread
    /// appends a 2-record batch crossing a segment boundary while the main thread reads.
    #[test]
    fn append_against_fetch() {
        loom::model(|| {
            let log = Arc::new(Log::new());
            log.append(&TestValues(&[&value(0), &value(1), &value(2)]))
                .unwrap();
            let writer = {
                let log = log.clone();
                loom::thread::spawn(move || {
                    log.append(&TestValues(&[&value(3), &value(4)])).unwrap()
                })
            };
            let read = read_values(&log, 0, 16).unwrap();
            assert!(
                read.len() == 3 || read.len() == 5,
                "whole batches only: {read:?}"
            );
            for (offset, bytes) in &read {
                assert_eq!(bytes, &vec![*offset as u8]);
            }
            writer.join().unwrap();
            assert_eq!(read_values(&log, 0, 16).unwrap().len(), 5);
        });
    }

    /// Goal: retention never frees or recycles memory a reader still uses, and a reader never
    /// sees a torn record. Method: two full segments; one thread advances the log start past
    /// the first, flushes the collector (so the segment may be recycled) and appends into a
    /// new segment that may reuse it; the main thread reads from 0 meanwhile.
    #[test]
    fn retention_against_fetch() {
        loom::model(|| {
            let log = Arc::new(Log::new());
            let initial: Vec<[u8; 1]> = (0..8).map(value).collect();
            let refs: Vec<&[u8]> = initial.iter().map(|v| &v[..]).collect();
            log.append(&TestValues(&refs)).unwrap();
            let retention = {
                let log = log.clone();
                loom::thread::spawn(move || {
                    log.advance_log_start(4);
                    crossbeam_epoch::pin().flush();
                    log.append(&TestValues(&[&value(8)])).unwrap();
                })
            };
            // Either the whole read is refused (the log start moved first) or every record
            // it returns is intact.
            if let Ok(read) = read_values(&log, 0, 16) {
                for (offset, bytes) in &read {
                    assert_eq!(bytes, &vec![*offset as u8], "torn or recycled read");
                }
            }
            retention.join().unwrap();
            assert_eq!(read_values(&log, 0, 1), Err(OffsetOutOfRange));
            assert_eq!(read_values(&log, 4, 16).unwrap().len(), 5);
        });
    }
}
