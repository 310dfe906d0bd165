//! The exclusive append lease: one producer appends to a log alone, as the one producer of a
//! single-producer ring does, instead of through the lock-free protocol.
//!
//! Why: a shared append (`log.rs`) is built so that any number of appenders may race and any
//! of them may stall: it pins an epoch, lays its bytes, installs a descriptor by CAS and
//! completes it by CAS, so that whoever comes next can finish it. For a producer that is the
//! partition's only one that is about 65 ns of locked instructions and bookkeeping per call,
//! which is all a single-record append is. The lease holder knows nobody races it, so a record
//! costs its bytes, its slot word, a `Release` store of the high watermark and the wake-up
//! check (`notify.rs`: a compiler fence and a load), and readers, retention and blocked
//! waiters see the log exactly as after shared appends.
//!
//! Protocol:
//! - **take** ([`Log::lease`]): complete the last installed descriptor, then replace it by CAS
//!   with an empty descriptor marked `leased`, based at its end (the high watermark).
//! - **append** ([`Log::append_leased`]): lay the batch at `next`, the high watermark (which
//!   the holder keeps, as the end it last published: only it moves it), store its slot words,
//!   store the high watermark `next + count` (`Release`), wake waiters.
//! - **release** ([`Log::release_lease`]): replace the leased descriptor with an empty one
//!   based at `next`, so shared appends resume there.
//!
//! Invariant (LEASE): while a leased descriptor is installed, its holder is the only thread
//! that stores slot words or moves the high watermark. A shared appender that loads it is
//! refused ([`AppendError::Leased`]) before it takes any offset; one that loaded the
//! predecessor before the lease was taken may still be laying bytes, into arena ranges it
//! reserved by `fetch_add` (disjoint from the holder's), but its install CAS fails against
//! the leased descriptor, and only an installed batch's slot words are ever stored. Late
//! completers of earlier descriptors find the high watermark past their end and store nothing
//! (`descriptor.rs`).
//!
//! Invariant (LEASE-SEGMENT): the segment holding `next` stays linked while the lease is
//! held: retention unlinks only segments wholly below the log start, and the log start never
//! passes the high watermark, which is `next`. So the holder keeps a pointer to that segment
//! between appends without an epoch pin, and pins only to look up the next one.

use std::ptr::NonNull;

use super::{discard, AppendBatch, AppendError, Log, Segments};
use crate::descriptor::Descriptor;
use crate::directory::{InstallError, RETAINED_RECORDS_MAX};
use crate::segment::{
    HeldRun, Segment, HELD_VALUE_BYTES_MAX, HELD_VALUE_TIMESTAMP_MS_END, INLINE_RECORD_BYTES_MAX,
    SEGMENT_RECORDS, SEGMENT_RECORDS_SHIFT,
};
use crate::sync::{Backoff, Ordering};

/// Records' worth of arena the fast path reserves at once: a locked instruction per 64
/// records instead of per record, and at most 63 values' bytes per segment left unused (1.5%
/// of a 4096-record segment).
const ARENA_CHUNK_RECORDS: usize = 64;

/// [`Lease::held_run_len`] while no held run is open: no value has this length.
const NO_HELD_RUN: usize = usize::MAX;

/// Whether a value of `len` bytes stamped `timestamp_ms` may be held in its slot: at most a
/// word, stamped below [`HELD_VALUE_TIMESTAMP_MS_END`], and not under loom.
#[inline(always)]
fn may_be_held(len: usize, timestamp_ms: i64) -> bool {
    cfg!(not(loom)) && len <= HELD_VALUE_BYTES_MAX && timestamp_ms < HELD_VALUE_TIMESTAMP_MS_END
}

/// The right to append to one log alone, and where its appends go next. Taken with
/// [`Log::lease`], given back with [`Log::release_lease`] (a lease dropped without release
/// leaves the log refusing shared appends for good).
#[derive(Debug)]
pub struct Lease {
    /// The log it was taken on, by address (checked in debug builds).
    log_address: usize,
    /// The end the holder last published: the high watermark, which only the holder moves
    /// (LEASE), kept here so that an append does not load the log's line that every reader
    /// keeping up loads after each publication.
    published_end: i64,
    /// The segment holding the next offset, by number, once looked up (LEASE-SEGMENT); or the
    /// one before it, once the single-record path has filled it.
    segment: Option<(u64, NonNull<Segment>)>,
    /// The next offset, while below this one, goes to `append_segment` without a check of
    /// the segment held or of the retained records' limit; 0 (no offset) until first worked
    /// out.
    ///
    /// Invariant (LEASE-BOUND): `append_bound` is at most the end of `append_segment`, a
    /// segment the lease held at or below the next offset, and at most a log start the holder
    /// loaded plus [`RETAINED_RECORDS_MAX`]. The next offset and the log start only grow, so
    /// a next offset below the bound is in `append_segment`, which LEASE-SEGMENT then keeps
    /// linked, and less than the limit past the log start. Why: the two checks it stands for
    /// were 12 of a single append's instructions, and it changes once a segment.
    append_bound: i64,
    /// The segment held when `append_bound` was worked out (dangling before).
    append_segment: NonNull<Segment>,
    /// Arena bytes of that segment reserved and not used yet (`start..end`).
    arena: std::ops::Range<u32>,
    /// The length of the values of the held run the holder is appending to in the segment held
    /// ([`crate::segment::HeldRun`], HELD-RUN), or [`NO_HELD_RUN`]. Plain words, not an
    /// `Option` of the run: the single-record path compares them per record.
    held_run_len: usize,
    /// The timestamp of that run's values (meaningless while none is open).
    held_run_timestamp_ms: i64,
    /// Reused to lay batches that take the general path.
    descriptor: Descriptor,
}

// SAFETY: the segment pointers name segments of the lease's log, which LEASE-SEGMENT keeps
// linked while the lease uses them (LEASE-BOUND); nothing about them is tied to the thread
// that looked them up.
unsafe impl Send for Lease {}

impl Log {
    /// Take the exclusive append lease, or `Err(Leased)` if another holder has it.
    pub fn lease(&self) -> Result<Lease, AppendError> {
        let guard = crossbeam_epoch::pin();
        loop {
            let last = self.last_installed.load(Ordering::Acquire, &guard);
            // SAFETY: never null, retired only through the collector (see `append`).
            let last_ref = unsafe { last.deref() };
            if last_ref.leased {
                return Err(AppendError::Leased);
            }
            if self.high_watermark.load(Ordering::Acquire) < last_ref.end()
                && last_ref.complete(&self.directory, &self.high_watermark, &guard)
            {
                self.notify.notify();
            }
            let mut leased = Descriptor::for_batch(0);
            leased.base = last_ref.end();
            leased.leased = true;
            if let Ok(installed) = self.last_installed.compare_exchange(
                last,
                leased,
                Ordering::AcqRel,
                Ordering::Acquire,
                &guard,
            ) {
                // SAFETY: `last` is out of the log (replaced by this CAS alone) and complete.
                unsafe { Descriptor::retire(last, &guard) };
                // SAFETY: just installed by this thread.
                let next = unsafe { installed.deref() }.base;
                debug_assert_eq!(self.high_watermark.load(Ordering::Acquire), next, "LEASE");
                return Ok(Lease {
                    log_address: self as *const Log as usize,
                    published_end: next,
                    segment: None,
                    append_bound: 0,
                    append_segment: NonNull::dangling(),
                    arena: 0..0,
                    held_run_len: NO_HELD_RUN,
                    held_run_timestamp_ms: 0,
                    descriptor: Descriptor::default(),
                });
            }
        }
    }

    /// Give the lease back: shared appends resume at its next offset.
    pub fn release_lease(&self, mut lease: Lease) {
        debug_assert_eq!(lease.log_address, self as *const Log as usize);
        let next = self.leased_next(&lease);
        // HELD-RUN: shared appends store the slots from `next` on.
        self.close_held_run(&mut lease, next);
        let guard = crossbeam_epoch::pin();
        let mut open = Descriptor::for_batch(0);
        open.base = next;
        // LEASE: nobody else replaces the leased descriptor, so a swap is the CAS.
        let leased = self.last_installed.swap(open, Ordering::AcqRel, &guard);
        // SAFETY: the swap returned the installed descriptor, never null.
        debug_assert!(unsafe { leased.deref() }.leased);
        // SAFETY: `leased` is out of the log (replaced by this swap alone); empty, so complete.
        unsafe { Descriptor::retire(leased, &guard) };
    }

    /// Append `batch` under `lease`; returns the first offset. Visible to every read that
    /// starts after this returns, as [`Log::append`].
    #[inline]
    pub fn append_leased<B: AppendBatch + ?Sized>(
        &self,
        lease: &mut Lease,
        batch: &B,
    ) -> Result<i64, AppendError> {
        debug_assert_eq!(lease.log_address, self as *const Log as usize);
        let count = batch.len();
        debug_assert!(count > 0);
        let base = self.leased_next(lease);
        if base + count as i64 - self.log_start.load(Ordering::Relaxed) > RETAINED_RECORDS_MAX {
            return Err(AppendError::LogFull);
        }
        if !self.lay_in_leased_segment(lease, base, batch) {
            self.close_held_run(lease, base);
            self.lay_and_complete_leased(lease, base, batch);
        }
        self.publish_leased(lease, base + count as i64);
        Ok(base)
    }

    /// The offset the holder appends at next: the end it last published, which is the high
    /// watermark, since only the holder moves it (LEASE; checked in debug builds).
    #[inline(always)]
    fn leased_next(&self, lease: &Lease) -> i64 {
        debug_assert_eq!(
            self.high_watermark.load(Ordering::Relaxed),
            lease.published_end,
            "LEASE: only the holder moves it"
        );
        lease.published_end
    }

    /// Publish the records the holder laid and stored up to `end`: the new high watermark
    /// (the lease's next offset) and the wake-up check.
    #[inline(always)]
    fn publish_leased(&self, lease: &mut Lease, end: i64) {
        lease.published_end = end;
        // Release: the bytes and slot words stored before happen before any read bounded by
        // the new high watermark (the same publication as a completion's CAS).
        self.high_watermark.store(end, Ordering::Release);
        self.notify.notify();
    }

    /// Append one value under `lease` when it fits the segment held (`fill` writes its
    /// `value_bytes` bytes in place): held in its slot when it is at most a word (and its
    /// timestamp below [`HELD_VALUE_TIMESTAMP_MS_END`]), else in the arena chunk held. Its
    /// offset, or `None`, having done nothing, when it does not fit (the caller appends it
    /// through [`Log::append_leased`], which takes a new chunk or segment or refuses it).
    ///
    /// Why a path of its own: a single-record append is nothing but this, and a producer
    /// slower than its readers keeps them on the lines it is writing (see
    /// `docs/performance-history.md`), so it is straight-line code: no batch, no loops.
    #[inline(always)]
    pub fn append_one_leased(
        &self,
        lease: &mut Lease,
        value_bytes: usize,
        timestamp_ms: i64,
        fill: impl FnOnce(&mut [u8]),
    ) -> Option<i64> {
        debug_assert_eq!(lease.log_address, self as *const Log as usize);
        let base = self.leased_next(lease);
        if base >= lease.append_bound && !self.renew_append_bound(lease, base) {
            return None;
        }
        // SAFETY: LEASE-BOUND: `base`, below the bound, is in `append_segment`, and
        // LEASE-SEGMENT: the segment holding `next` stays linked, hence allocated and not
        // recycled, while the lease is held.
        let segment = unsafe { lease.append_segment.as_ref() };
        let slot = (base as u64 & (SEGMENT_RECORDS - 1)) as usize;
        // A value of one word is held in its slot, no arena: a member of the segment's held run,
        // it stores its value word alone, and its readers load only that (see `segment.rs`).
        // A value of the open run's length and timestamp is one (the run was opened for
        // one); any other is checked, and opens a run if it may be held. Loom's atomics lend
        // no address to read a held value through, so loom models the arena form (both are
        // published by the same high watermark store).
        let in_open_run =
            value_bytes == lease.held_run_len && timestamp_ms == lease.held_run_timestamp_ms;
        if in_open_run || may_be_held(value_bytes, timestamp_ms) {
            if !in_open_run {
                self.open_held_run(lease, base, value_bytes, timestamp_ms);
            }
            // LEASE: the slot is the high watermark's, stored by no one else. HELD-RUN: it is
            // in the run just checked or opened, whose head holds its location word.
            segment.store_held_value(slot, value_bytes, fill);
            self.publish_leased(lease, base + 1);
            return Some(base);
        }
        // A chunk taken for smaller values may hold a value past the inline limit: that one
        // goes out of line, through the general path.
        if value_bytes > INLINE_RECORD_BYTES_MAX || lease.arena.len() < value_bytes {
            return None;
        }
        self.close_held_run(lease, base);
        let arena_start = lease.arena.start;
        lease.arena.start += value_bytes as u32;
        // SAFETY: the arena range is this lease's own reservation; nothing reads it before the
        // high watermark passes this record.
        unsafe { segment.lay_in_place(arena_start, value_bytes, fill) };
        // LEASE: the slot is the high watermark's, stored by no one else.
        segment.store_fixed_run(slot, 1, arena_start, value_bytes, timestamp_ms);
        self.publish_leased(lease, base + 1);
        Some(base)
    }

    /// Work out [`Lease::append_bound`] again, at `base` (the high watermark), past the one
    /// it had; whether `base` is below it. Not when the segment held is one the lease has
    /// left (its end, and so the bound, is at or below `base`: the general path moves the
    /// lease to the next one) or the log holds as many records as it may (the general path
    /// refuses the append).
    #[cold]
    #[inline(never)]
    fn renew_append_bound(&self, lease: &mut Lease, base: i64) -> bool {
        let Some((number, segment)) = lease.segment else {
            return false;
        };
        debug_assert!(
            number <= base as u64 >> SEGMENT_RECORDS_SHIFT,
            "LEASE-SEGMENT"
        );
        let segment_end = ((number + 1) << SEGMENT_RECORDS_SHIFT) as i64;
        // The log start only grows: an offset below this one stays within the limit.
        let retained_end = self.log_start.load(Ordering::Relaxed) + RETAINED_RECORDS_MAX;
        lease.append_bound = segment_end.min(retained_end);
        lease.append_segment = segment;
        base < lease.append_bound
    }

    /// Open a held run of `len`-byte values stamped `timestamp_ms` at `base` (the high
    /// watermark), in the segment held, closing the one open before (HELD-RUN).
    #[cold]
    #[inline(never)]
    fn open_held_run(&self, lease: &mut Lease, base: i64, len: usize, timestamp_ms: i64) {
        self.close_held_run(lease, base);
        let (number, segment) = lease
            .segment
            .expect("a held value goes to the segment held");
        debug_assert_eq!(number, base as u64 >> SEGMENT_RECORDS_SHIFT);
        // SAFETY: LEASE-SEGMENT, as in `append_one_leased`.
        let segment = unsafe { segment.as_ref() };
        let first = (base as u64 & (SEGMENT_RECORDS - 1)) as usize;
        segment.open_held_run(first, len, timestamp_ms);
        lease.held_run_len = len;
        lease.held_run_timestamp_ms = timestamp_ms;
    }

    /// Close the holder's open held run, if any, at `base` (the high watermark), before
    /// anything but a value of the run is stored there (HELD-RUN).
    #[inline(always)]
    fn close_held_run(&self, lease: &mut Lease, base: i64) {
        if std::mem::replace(&mut lease.held_run_len, NO_HELD_RUN) == NO_HELD_RUN {
            return;
        }
        // The run is in the segment held: only the general path moves the lease to another
        // segment, and it closes the run first.
        let (number, segment) = lease
            .segment
            .expect("HELD-RUN: a run opens in the segment held");
        // A run open in an earlier segment ends with it: the holder left it only once full.
        if number != base as u64 >> SEGMENT_RECORDS_SHIFT {
            return;
        }
        // SAFETY: LEASE-SEGMENT: the segment holding `base`, the high watermark, stays
        // linked while the lease is held.
        let segment = unsafe { segment.as_ref() };
        segment.close_held_run((base as u64 & (SEGMENT_RECORDS - 1)) as usize);
    }

    /// The fast paths, for fixed-size values at `base` (the high watermark): values of at most
    /// a word are held in their slots ([`Log::lay_held`]); larger ones that fit the arena of
    /// the segment already held are laid there and their slot words stored. Returns `false`
    /// (having stored nothing, and closed no run) otherwise.
    #[inline(always)]
    fn lay_in_leased_segment<B: AppendBatch + ?Sized>(
        &self,
        lease: &mut Lease,
        base: i64,
        batch: &B,
    ) -> bool {
        let Some((value_bytes, timestamp_ms)) = batch.fixed_values() else {
            return false;
        };
        let in_open_run =
            value_bytes == lease.held_run_len && timestamp_ms == lease.held_run_timestamp_ms;
        if in_open_run || may_be_held(value_bytes, timestamp_ms) {
            self.lay_held(lease, base, batch, value_bytes, timestamp_ms);
            return true;
        }
        let count = batch.len();
        let slot_first = (base as u64 & (SEGMENT_RECORDS - 1)) as usize;
        let held = lease
            .segment
            .filter(|&(number, _)| number == base as u64 >> SEGMENT_RECORDS_SHIFT);
        let Some((_, segment)) = held else {
            return false;
        };
        if value_bytes > INLINE_RECORD_BYTES_MAX || slot_first + count > SEGMENT_RECORDS as usize {
            return false;
        }
        // SAFETY: LEASE-SEGMENT: the segment holding `next` stays linked, hence allocated and
        // not recycled, while the lease is held.
        let segment = unsafe { segment.as_ref() };
        let bytes = value_bytes * count;
        if lease.arena.len() < bytes {
            // A chunk of arena at a time: one `fetch_add` per chunk, not per record.
            let wanted = bytes.max(value_bytes * ARENA_CHUNK_RECORDS);
            let Some((start, reserved)) = segment.reserve_arena_chunk(bytes, wanted) else {
                return false;
            };
            lease.arena = start..start + reserved as u32;
        }
        self.close_held_run(lease, base);
        let arena_start = lease.arena.start;
        lease.arena.start += bytes as u32;
        // SAFETY: the arena range is this append's own reservation; nothing reads it before the
        // high watermark passes these records.
        unsafe {
            segment.lay_in_place(arena_start, bytes, |out| batch.fill_values(0, out));
        }
        // LEASE: these slots are at and above the high watermark, stored by no one else.
        segment.store_fixed_run(slot_first, count, arena_start, value_bytes, timestamp_ms);
        true
    }

    /// Hold `batch`'s values, each of `value_bytes` bytes (at most a word) and stamped
    /// `timestamp_ms` (one a held value carries, or the open run's), in their slots from
    /// `base` (the high watermark): in each segment the batch covers, as members of a held
    /// run, the open one where the batch has its length and timestamp, else one opened for
    /// it, as a single record is in [`Log::append_one_leased`]. Holds each next segment as
    /// the batch reaches it.
    ///
    /// Why batches are held too, and split at segment ends rather than laid by the general
    /// path there: a reader of a held run loads 8 bytes a record, the value words alone, and
    /// the producer stores only those (a run ends with its segment, or closes when the
    /// clock's millisecond moves on); laid in the arena, an 8-byte value is its bytes and a
    /// location word, 16 bytes a record in two streams of lines. And a segment of held values
    /// asks for no arena, so the next one is made with the smallest: a batch laid across
    /// into it by the general path would overflow it, out of line.
    #[inline(always)]
    fn lay_held<B: AppendBatch + ?Sized>(
        &self,
        lease: &mut Lease,
        base: i64,
        batch: &B,
        value_bytes: usize,
        timestamp_ms: i64,
    ) {
        let mut laying = LayingHeld {
            log: self,
            lease,
            base,
            first_segment: None,
        };
        let count = batch.len();
        let mut laid = 0;
        while laid < count {
            let at = base + laid as i64;
            let segment = laying.segment_holding(at);
            let lease = &mut *laying.lease;
            // SAFETY: the segment holding `at` is linked (just held, or held since), and stays
            // so while the lease is held: retention unlinks only segments wholly below the log
            // start, which never passes the high watermark, at or below `at` (LEASE-SEGMENT).
            let segment = unsafe { segment.as_ref() };
            if !(value_bytes == lease.held_run_len && timestamp_ms == lease.held_run_timestamp_ms) {
                self.open_held_run(lease, at, value_bytes, timestamp_ms);
            }
            let slot_first = (at as u64 & (SEGMENT_RECORDS - 1)) as usize;
            let in_segment = (count - laid).min(SEGMENT_RECORDS as usize - slot_first);
            // LEASE: these slots are at and above the high watermark, stored by no one else.
            // HELD-RUN: they are in the run just checked or opened, whose head holds their
            // location word.
            segment.store_held_values(slot_first, in_segment, value_bytes, |first, out| {
                batch.fill_values(laid + first, out)
            });
            laid += in_segment;
        }
        laying.laid();
    }

    /// Hold the segment holding `at` (made, fresh or recycled, if it is not linked yet), for
    /// held values laid from `at` on. The records below `at` are laid, so a run open in the
    /// segment held before ended with it.
    #[cold]
    #[inline(never)]
    fn hold_segment(&self, lease: &mut Lease, at: i64) -> NonNull<Segment> {
        self.close_held_run(lease, at);
        let number = at as u64 >> SEGMENT_RECORDS_SHIFT;
        let guard = crossbeam_epoch::pin();
        let mut backoff = Backoff::default();
        let segment = loop {
            match self.segment_for_write(number, at, &guard) {
                Ok(segment) => break NonNull::from(segment),
                // As in `lay_and_complete_leased`: a broken invariant, not a retry.
                Err(InstallError::Gone) => {
                    unreachable!(
                        "LEASE-SEGMENT: a segment at or above the high watermark was unlinked"
                    )
                }
                Err(InstallError::Full) => {
                    self.unlink_below(self.log_start.load(Ordering::Acquire));
                    backoff.snooze();
                }
            }
        };
        lease.segment = Some((number, segment));
        lease.arena = 0..0;
        segment
    }

    /// The general path: lay `batch` at `base` (the high watermark) as a shared append lays
    /// it (any shape, across segments, making them), store its slot words, and hold the
    /// segment `base + count` falls in. The high watermark is left to the caller.
    #[cold]
    #[inline(never)]
    fn lay_and_complete_leased<B: AppendBatch + ?Sized>(
        &self,
        lease: &mut Lease,
        base: i64,
        batch: &B,
    ) {
        let guard = crossbeam_epoch::pin();
        let descriptor = Unpublished(&mut lease.descriptor);
        let mut segments: Segments<'_> = Segments::new();
        let mut backoff = Backoff::default();
        loop {
            match self.lay(batch, base, descriptor.0, &mut segments, &mut None, &guard) {
                Ok(()) => break,
                // A tombstone: a segment retention unlinked. The batch's segments hold the
                // high watermark or lie above it (LEASE-SEGMENT), so this would be a broken
                // invariant, and retrying at the same base would spin on it for good.
                Err(InstallError::Gone) => {
                    unreachable!(
                        "LEASE-SEGMENT: a segment at or above the high watermark was unlinked"
                    )
                }
                Err(InstallError::Full) => {
                    self.unlink_below(self.log_start.load(Ordering::Acquire));
                    backoff.snooze();
                }
            }
        }
        descriptor.0.base = base;
        descriptor.0.count = batch.len() as i64;
        let stored = descriptor.0.store_words(&self.directory, &guard);
        debug_assert!(
            stored,
            "LEASE-SEGMENT: segments at the high watermark are linked"
        );
        let end = descriptor.0.end();
        let last_part = descriptor.0.parts.last().expect("a batch lands somewhere");
        let next_segment = end as u64 >> SEGMENT_RECORDS_SHIFT;
        let held = (last_part.segment_number == next_segment).then(|| {
            let segment = segments.last().expect("one segment per part");
            (next_segment, NonNull::from(*segment))
        });
        descriptor.stored();
        lease.arena = 0..0;
        lease.segment = held;
    }
}

/// A held batch while it is laid ([`Log::lay_held`]): dropped before [`LayingHeld::laid`], by
/// a panicking `fill`, it leaves the lease and the segments the batch reached as if the batch
/// had not been appended, so that HELD-RUN holds of whatever the holder (or, after the
/// release, a shared appender) stores next: the run of the segment holding `base` closed at
/// `base`, the runs opened in later segments closed with no member, and the lease holding the
/// segment of `base` again, with no run open. Without it the holder would have moved on to a
/// later segment, and the run open at `base` would take the next records stored there, by
/// anyone, for its members.
struct LayingHeld<'a> {
    log: &'a Log,
    lease: &'a mut Lease,
    /// The batch's first offset: the high watermark.
    base: i64,
    /// The segment holding `base`, once held.
    first_segment: Option<(u64, NonNull<Segment>)>,
}

impl LayingHeld<'_> {
    /// The segment holding `at`, the next offset of the batch to lay: the one held, or the
    /// next, held now ([`Log::hold_segment`]). The first is kept, to undo the batch from.
    fn segment_holding(&mut self, at: i64) -> NonNull<Segment> {
        let number = at as u64 >> SEGMENT_RECORDS_SHIFT;
        let segment = match self.lease.segment {
            Some((held, segment)) if held == number => segment,
            _ => self.log.hold_segment(self.lease, at),
        };
        self.first_segment.get_or_insert((number, segment));
        segment
    }

    /// The batch is laid: nothing to undo.
    fn laid(self) {
        std::mem::forget(self);
    }
}

impl Drop for LayingHeld<'_> {
    fn drop(&mut self) {
        let Some((first_number, first_segment)) = self.first_segment else {
            return;
        };
        let guard = crossbeam_epoch::pin();
        let reached = self
            .lease
            .segment
            .map_or(first_number, |(number, _)| number);
        for number in first_number + 1..=reached {
            // Made for this batch, above the high watermark: nothing in them is published.
            if let Some(segment) = self.log.directory.get(number, &guard) {
                if let Some(run) = segment.held_run().filter(HeldRun::is_open) {
                    segment.close_held_run(run.first);
                }
            }
        }
        // SAFETY: LEASE-SEGMENT: the segment holding `base`, the high watermark, stays linked
        // while the lease is held.
        let segment = unsafe { first_segment.as_ref() };
        // The batch opened or extended this run, so it is open, and begins at or below `base`.
        if segment.held_run().as_ref().is_some_and(HeldRun::is_open) {
            segment.close_held_run((self.base as u64 & (SEGMENT_RECORDS - 1)) as usize);
        }
        self.lease.segment = Some((first_number, first_segment));
        self.lease.held_run_len = NO_HELD_RUN;
        self.lease.arena = 0..0;
    }
}

/// A lease's descriptor while laid and not yet stored: dropping it (a panicking `fill`)
/// frees its out-of-line blocks, as `Uninstalled` does for a shared append.
struct Unpublished<'a>(&'a mut Descriptor);

impl Unpublished<'_> {
    /// Its words are in the slots, which own their out-of-line blocks now: clear it for the
    /// next batch without freeing them.
    fn stored(self) {
        let mut this = std::mem::ManuallyDrop::new(self);
        this.0.clear();
    }
}

impl Drop for Unpublished<'_> {
    fn drop(&mut self) {
        discard(self.0);
        self.0.clear();
    }
}

/// The test value of `offset` (both test modules: the plain one and loom's).
#[cfg(test)]
fn value(offset: u64) -> Vec<u8> {
    offset.to_le_bytes().to_vec()
}

/// Every record of `log` from `from` on is `value(offset)`, densely, up to the high
/// watermark.
#[cfg(test)]
fn assert_values_from(log: &Log, from: i64) {
    let read = super::read_values(log, from, usize::MAX).unwrap();
    assert_eq!(read.len() as i64, log.high_watermark() - from);
    for (i, (offset, bytes)) in read.iter().enumerate() {
        assert_eq!(*offset, from + i as i64);
        assert_eq!(bytes, &value(*offset as u64), "offset {offset}");
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::super::{read_values, FixedTestValues, TestValues};
    use super::*;

    /// Goal: leased appends continue the log densely, in every shape, across segments, and
    /// shared appends resume after the release. Method: shared appends, a lease taking
    /// single fixed values (the fast path), batches crossing segments, copied values and one
    /// out-of-line record (the general path), then shared appends again; every record read
    /// back.
    #[test]
    fn leased_appends_continue_the_log_densely() {
        let log = Log::new();
        let head: Vec<Vec<u8>> = (0..3).map(value).collect();
        let refs: Vec<&[u8]> = head.iter().map(Vec::as_slice).collect();
        log.append(&TestValues(&refs)).unwrap();
        let mut lease = log.lease().unwrap();
        assert_eq!(
            log.high_watermark(),
            3,
            "a lease starts at the high watermark"
        );
        let mut next = 3u64;
        for batch_len in [
            1,
            1,
            SEGMENT_RECORDS as usize,
            5,
            2 * SEGMENT_RECORDS as usize + 3,
        ] {
            let batch = FixedTestValues {
                count: batch_len,
                first: next,
            };
            assert_eq!(log.append_leased(&mut lease, &batch), Ok(next as i64));
            next += batch_len as u64;
            assert_eq!(log.high_watermark(), next as i64);
        }
        for _ in 0..SEGMENT_RECORDS + 2 {
            let batch = FixedTestValues {
                count: 1,
                first: next,
            };
            assert_eq!(log.append_leased(&mut lease, &batch), Ok(next as i64));
            next += 1;
        }
        let copied = [value(next), value(next + 1)];
        let copied: Vec<&[u8]> = copied.iter().map(Vec::as_slice).collect();
        assert_eq!(
            log.append_leased(&mut lease, &TestValues(&copied)),
            Ok(next as i64)
        );
        next += 2;
        assert_values_from(&log, 0);
        let big = vec![7u8; 10_000];
        assert_eq!(
            log.append_leased(&mut lease, &TestValues(&[&big])),
            Ok(next as i64)
        );
        let read = read_values(&log, next as i64, 1).unwrap();
        assert_eq!(read, vec![(next as i64, big)]);
        next += 1;
        log.release_lease(lease);
        let tail = value(next);
        assert_eq!(log.append(&TestValues(&[&tail])), Ok(next as i64));
        assert_eq!(log.high_watermark(), next as i64 + 1);
    }

    /// `count` plain values of `value_bytes` bytes each, written in place (byte `j` of value
    /// `i` is `i as u8`).
    struct FixedValues {
        count: usize,
        value_bytes: usize,
    }

    impl AppendBatch for FixedValues {
        fn len(&self) -> usize {
            self.count
        }

        fn parts(&self, _index: usize) -> crate::segment::RecordParts<'_> {
            unreachable!("fixed values are written in place")
        }

        fn fixed_values(&self) -> Option<(usize, i64)> {
            Some((self.value_bytes, 0))
        }

        fn fill_values(&self, first: usize, out: &mut [u8]) {
            // Empty values have no bytes to fill (and no chunks to split into).
            for (i, value) in out.chunks_mut(self.value_bytes.max(1)).enumerate() {
                value.fill((first + i) as u8);
            }
        }
    }

    /// Goal: the single-record path appends densely across segment and arena-chunk ends, and
    /// declines what is not its to lay: a value past the inline limit, even when the arena
    /// chunk it holds has room for it. Method: single records through `append_one_leased`,
    /// through `append_leased` when it declines (counted), all read back; then 1 KiB values
    /// (a segment sized for them, where a batch takes a 64 KiB chunk) and a single 5000-byte
    /// value, which it must decline and the general path lays out of line. Planted: the inline-limit check removed (the value
    /// is taken, inline): caught.
    #[test]
    fn single_records_take_the_straight_path_and_leave_large_values_to_the_general_one() {
        let log = Log::new();
        let mut lease = log.lease().unwrap();
        let total = 3 * SEGMENT_RECORDS + 5;
        let mut straight = 0;
        for next in 0..total {
            let fill = |out: &mut [u8]| out.copy_from_slice(&value(next));
            let appended = match log.append_one_leased(&mut lease, 8, 0, fill) {
                Some(base) => {
                    straight += u64::from(next >= SEGMENT_RECORDS);
                    base
                }
                None => {
                    let batch = FixedTestValues {
                        count: 1,
                        first: next,
                    };
                    log.append_leased(&mut lease, &batch).unwrap()
                }
            };
            assert_eq!(appended, next as i64);
        }
        // Declined past the first segment (whose arena is the smallest, sized before any
        // demand was seen): a segment's first record, and one per 64 for a new arena chunk.
        let past_first = total - SEGMENT_RECORDS;
        assert!(
            straight >= past_first * 9 / 10,
            "{straight} of {past_first}"
        );
        assert_values_from(&log, 0);
        // 1 KiB values to the end of this segment, so the next one's arena is sized for them;
        // there, after the append that enters it, a batch of them takes a 64 KiB chunk.
        let mut next = total;
        for count in [SEGMENT_RECORDS - total % SEGMENT_RECORDS, 1, 2] {
            let kib = FixedValues {
                count: count as usize,
                value_bytes: 1024,
            };
            assert_eq!(log.append_leased(&mut lease, &kib), Ok(next as i64));
            next += count;
        }
        assert!(
            lease.arena.len() >= 5000,
            "a chunk of 1 KiB values is held: {:?}",
            lease.arena
        );
        let large = log.append_one_leased(&mut lease, 5000, 0, |out| out.fill(9));
        assert_eq!(large, None, "past the inline limit: the general path's");
        let large = FixedValues {
            count: 1,
            value_bytes: 5000,
        };
        assert_eq!(log.append_leased(&mut lease, &large), Ok(next as i64));
        let read = read_values(&log, next as i64 - 2, 3).unwrap();
        assert_eq!(
            read,
            vec![
                (next as i64 - 2, vec![0u8; 1024]),
                (next as i64 - 1, vec![1u8; 1024]),
                (next as i64, vec![0u8; 5000]),
            ]
        );
        log.release_lease(lease);
    }

    /// Goal: single values of up to a word are held in their slots and read back with their
    /// timestamps, every length; a longer value, or a timestamp past what a held value's
    /// location word carries, goes to the arena and reads back as exactly. Method: single
    /// records of 0 to 9 bytes at timestamp 5, then 8-byte ones at the last timestamp a held
    /// value carries and the first it does not, read back as views. Planted: the timestamp
    /// bound dropped (the 2^48 timestamp held, read back as 0): caught.
    #[test]
    fn single_values_of_a_word_are_held_in_their_slots() {
        let log = Log::new();
        let mut lease = log.lease().unwrap();
        // A segment held first (the path declines while it holds none), then a chunk of its
        // arena (the values that do not fit a slot need one; a batch of 8-byte values is held
        // in its slots and takes none, one of 9-byte values takes one).
        log.append_leased(&mut lease, &FixedTestValues { count: 1, first: 0 })
            .unwrap();
        let arena_values = FixedValues {
            count: 2,
            value_bytes: HELD_VALUE_BYTES_MAX + 1,
        };
        log.append_leased(&mut lease, &arena_values).unwrap();
        // The fixed-value test batches are stamped 0.
        let mut expected: Vec<(i64, Vec<u8>)> = vec![(0, 0u64.to_le_bytes().to_vec())];
        expected.extend((0..2u8).map(|i| (0, vec![i; HELD_VALUE_BYTES_MAX + 1])));
        for len in 0..=HELD_VALUE_BYTES_MAX + 1 {
            let value: Vec<u8> = (0..len as u8).map(|b| b ^ 0xf0).collect();
            let fill = |out: &mut [u8]| out.copy_from_slice(&value);
            let appended = log.append_one_leased(&mut lease, len, 5, fill);
            assert_eq!(appended, Some(expected.len() as i64), "len {len}");
            expected.push((5, value));
        }
        for timestamp_ms in [HELD_VALUE_TIMESTAMP_MS_END - 1, HELD_VALUE_TIMESTAMP_MS_END] {
            let fill = |out: &mut [u8]| out.copy_from_slice(&[9; 8]);
            let appended = log.append_one_leased(&mut lease, 8, timestamp_ms, fill);
            assert_eq!(appended, Some(expected.len() as i64));
            expected.push((timestamp_ms, vec![9; 8]));
        }
        let guard = crossbeam_epoch::pin();
        let mut read = Vec::new();
        log.read_views(0, expected.len(), &guard, |_, view| {
            read.push((view.timestamp_ms, view.value.expect("not null").to_vec()));
            true
        })
        .unwrap();
        assert_eq!(read, expected);
        log.release_lease(lease);
    }

    /// `count` 8-byte values as [`FixedValues`] writes them, whose `fill` panics on reaching
    /// value `panic_at`.
    struct PanickingValues {
        count: usize,
        panic_at: usize,
    }

    impl AppendBatch for PanickingValues {
        fn len(&self) -> usize {
            self.count
        }

        fn parts(&self, _index: usize) -> crate::segment::RecordParts<'_> {
            unreachable!("fixed values are written in place")
        }

        fn fixed_values(&self) -> Option<(usize, i64)> {
            Some((8, 0))
        }

        fn fill_values(&self, first: usize, out: &mut [u8]) {
            for (i, value) in (first..).zip(out.chunks_mut(8)) {
                assert_ne!(i, self.panic_at, "a fill that panics");
                value.fill(i as u8);
            }
        }
    }

    /// Goal: a `fill` that panics partway through a held batch, or in a single value a run
    /// was opened for, leaves the log as if it had not been appended: the holder appends on,
    /// shared appenders after the release, and everything published reads back (HELD-RUN
    /// holds in every segment the batch reached). Method: batches whose `fill` panics within
    /// the open run, past a segment's end (two segments reached) and in a new run's first
    /// chunk, and a single value of a new length whose `fill` panics; after each, appends by
    /// the same lease, the last across a segment's end into the segment the failed batch had
    /// reached; a shared append after the release; all read back as values and as records.
    /// Planted: the batch's guard disarmed before its loop (the lease stayed on segment 1: the
    /// next run in segment 0 opened over the open one, HELD-RUN's assertion), and a run closed
    /// at its head's slot, slicing its members past their end (the slice panicked).
    #[test]
    fn a_fill_that_panics_leaves_the_held_runs_whole() {
        use std::panic::{catch_unwind, AssertUnwindSafe};
        let log = Log::new();
        let mut lease = log.lease().unwrap();
        let segment_records = SEGMENT_RECORDS as usize;
        let mut expected: Vec<Vec<u8>> = Vec::new();
        let append_panicking = |lease: &mut Lease, count, panic_at| {
            let batch = PanickingValues { count, panic_at };
            let appended = catch_unwind(AssertUnwindSafe(|| log.append_leased(lease, &batch)));
            assert!(appended.is_err(), "the fill panicked");
        };
        append_fixed(&log, &mut lease, &mut expected, 100, 8);
        append_panicking(&mut lease, 10, 3);
        append_fixed(&log, &mut lease, &mut expected, 5, 8);
        append_panicking(&mut lease, segment_records, segment_records - 50);
        append_fixed(&log, &mut lease, &mut expected, 7, 4);
        append_panicking(&mut lease, 2 * segment_records, 10);
        let single = catch_unwind(AssertUnwindSafe(|| {
            log.append_one_leased(&mut lease, 2, 0, |_| panic!("a fill that panics"))
        }));
        assert!(single.is_err(), "the fill panicked");
        append_fixed(&log, &mut lease, &mut expected, segment_records, 8);
        log.release_lease(lease);
        let tail = value(expected.len() as u64);
        log.append(&TestValues(&[&tail])).unwrap();
        expected.push(tail);
        assert_eq!(log.high_watermark(), expected.len() as i64);

        assert_read_back_stamped_0(&log, expected, &[1, 7]);
    }

    /// Goal: a batch of values of up to a word is held in its slots, in every segment it
    /// covers: split at segment ends, each part a member of a held run of its segment (the
    /// open one when the batch has its length and timestamp), with no arena asked for; and
    /// everything reads back as appended, by values and by records. Method: batches of 8-,
    /// 3- and 0-byte values, two of them longer than a segment, a single value extending a
    /// batch's run, and a batch of 9-byte values (the arena) between; every segment's run and
    /// arena demand checked, values read 1, 7 and 1000 a read, records as views. Planted: a
    /// batch crossing a segment's end left to the general path (segment 0 held no run), the
    /// run of the segment left not closed when the batch moves on, so none is opened in the
    /// next (the close found no open run: HELD-RUN's assertion), and each part filled from
    /// the batch's first value (the reads went wrong at offset 8192): each caught.
    #[test]
    fn batches_of_word_values_are_held_across_segment_ends() {
        let log = Log::new();
        let mut lease = log.lease().unwrap();
        let segment_records = SEGMENT_RECORDS as usize;
        let mut expected: Vec<Vec<u8>> = Vec::new();
        // Segments 0 and 1 (5 records into it).
        append_fixed(&log, &mut lease, &mut expected, segment_records + 5, 8);
        // Segment 1: a run of 3-byte values, extended by a single one of them.
        append_fixed(&log, &mut lease, &mut expected, 7, 3);
        let single = log.append_one_leased(&mut lease, 3, 0, |out| out.fill(0xee));
        assert_eq!(single, Some(expected.len() as i64));
        expected.push(vec![0xee; 3]);
        // Through segments 1, 2 and 3.
        append_fixed(&log, &mut lease, &mut expected, 2 * segment_records, 8);
        // Laid in segment 3's arena, then held again.
        append_fixed(
            &log,
            &mut lease,
            &mut expected,
            10,
            HELD_VALUE_BYTES_MAX + 1,
        );
        append_fixed(&log, &mut lease, &mut expected, 3, 0);
        log.release_lease(lease);
        assert_eq!(log.high_watermark(), expected.len() as i64);

        let guard = crossbeam_epoch::pin();
        let segment = |number: u64| log.directory.get(number, &guard).expect("linked");
        // Segment 0 is one run; segment 2 the long batch's middle part, one run.
        for number in [0, 2] {
            let run = HeldRun {
                first: 0,
                end: segment_records,
                len: 8,
            };
            assert_eq!(segment(number).held_run(), Some(run), "segment {number}");
        }
        // Segment 1 ends with the long batch's first part, a run of its own after the first
        // batch's 5 values and the 8 of 3 bytes.
        let run = HeldRun {
            first: 13,
            end: segment_records,
            len: 8,
        };
        assert_eq!(segment(1).held_run(), Some(run));
        for number in 0..3 {
            assert_eq!(segment(number).arena_demand_bytes(), 0, "segment {number}");
        }
        // Segment 3's last run is the 0-byte batch, after the arena's 9-byte values.
        let last_run = segment(3).held_run().expect("a run");
        assert_eq!(last_run.len, 0);
        assert!(segment(3).arena_demand_bytes() >= 10 * (HELD_VALUE_BYTES_MAX + 1));
        drop(guard);

        assert_read_back_stamped_0(&log, expected, &[1, 7, 1000]);
    }

    /// Append `count` [`FixedValues`] of `value_bytes` bytes under `lease`, checking that they
    /// land at the end of `expected`, which takes their values.
    fn append_fixed(
        log: &Log,
        lease: &mut Lease,
        expected: &mut Vec<Vec<u8>>,
        count: usize,
        value_bytes: usize,
    ) {
        let base = log
            .append_leased(lease, &FixedValues { count, value_bytes })
            .unwrap();
        assert_eq!(base, expected.len() as i64);
        expected.extend((0..count).map(|i| vec![i as u8; value_bytes]));
    }

    /// The log holds `expected`'s values from offset 0, each stamped 0: read by a reader of
    /// values `max_records` a read for each of `reads`, and as records.
    fn assert_read_back_stamped_0(log: &Log, expected: Vec<Vec<u8>>, reads: &[usize]) {
        let end = expected.len() as i64;
        for &max_records in reads {
            let read = values_read_by_chunks(log, 0, end, max_records);
            assert!(
                read == expected,
                "{max_records} a read: first wrong at {:?}",
                (0..expected.len()).find(|&i| read.get(i) != Some(&expected[i]))
            );
        }
        let guard = crossbeam_epoch::pin();
        let mut records = Vec::new();
        log.read_views(0, usize::MAX, &guard, |_, view| {
            records.push((view.timestamp_ms, view.value.map(<[u8]>::to_vec)));
            true
        })
        .unwrap();
        let stamped: Vec<_> = expected.into_iter().map(|v| (0, Some(v))).collect();
        assert!(records == stamped, "records read back as appended");
    }

    /// The values in `from..end` as a reader of values reads them (`Segment::for_each_value`,
    /// which reads a held run's value words alone), `max_records` per read.
    fn values_read_by_chunks(log: &Log, from: i64, end: i64, max_records: usize) -> Vec<Vec<u8>> {
        let guard = crossbeam_epoch::pin();
        let mut out = Vec::new();
        let mut next = from;
        while next < end {
            let max_records = max_records.min((end - next) as usize);
            let summary = log
                .read_chunks(next, max_records, &guard, |_, segment, slots| {
                    // SAFETY: `read_chunks` hands out published slots of a guarded segment.
                    unsafe {
                        segment.for_each_value(slots, |_, value| {
                            out.push(value.expect("test values are non-null").to_vec())
                        })
                    };
                    usize::MAX
                })
                .unwrap();
            next += summary.count as i64;
        }
        out
    }

    /// Goal: a reader of values reads a held run's slots by their value words alone and
    /// every other slot as it is, and a reader of records finds each member's timestamp
    /// (HELD-RUN): a run ends where the holder stores anything else (a batch, a value of
    /// another length or timestamp or past a word, a shared append after the release), and a
    /// run left open ends with its segment. Method: the holder appends single values of
    /// lengths 8, 3, 0 and 9 with a timestamp that moves every 10 records, batches (of 8-byte
    /// values, held, and of 9-byte ones), and
    /// shared appends between leases, in an irregular pattern across four segments; from
    /// every offset, the next 40 values are read one and seven records per read, and every
    /// record is read as a view; all checked against what was appended. Planted: a batch not
    /// closing the run (`close_held_run` taken out of the arena path), the release not
    /// closing it, the reader ignoring a run's end, the run keyed without its values'
    /// length, and a closed run's members left without their location words (the test
    /// process died of SIGSEGV, a stale word read as a block): each caught.
    #[test]
    fn held_runs_end_where_the_holder_stores_anything_else() {
        let log = Log::new();
        // Each record's timestamp and value.
        let mut expected: Vec<(i64, Vec<u8>)> = Vec::new();
        let mut lease = log.lease().unwrap();
        let total = 4 * SEGMENT_RECORDS as usize;
        let mut step = 0u64;
        // A single value of `len` bytes, held when it can be; the general path stamps 0.
        let append_one = |lease: &mut Lease, expected: &mut Vec<(i64, Vec<u8>)>, len: usize| {
            let next = expected.len() as u64;
            let timestamp_ms = 7 + (next / 10) as i64;
            let one: Vec<u8> = (0..len).map(|b| (next + b as u64) as u8).collect();
            let fill = |out: &mut [u8]| out.copy_from_slice(&one);
            if log
                .append_one_leased(lease, len, timestamp_ms, fill)
                .is_some()
            {
                expected.push((timestamp_ms, one));
            } else {
                log.append_leased(lease, &TestValues(&[&one])).unwrap();
                expected.push((0, one));
            }
        };
        while expected.len() < total {
            step += 1;
            let next = expected.len() as u64;
            // A value of each length in turn, in runs of 1 to 12 records.
            let len: usize = [8, 3, 8, 0, 8, 9][(step % 6) as usize];
            match step % 7 {
                // A batch of fixed values, stamped 0: of a word (held, as single values are)
                // or of 9 bytes (the arena's fast path, or the general path).
                3 => {
                    let count = 1 + (step % 3) as usize;
                    if step.is_multiple_of(2) {
                        let batch = FixedTestValues { count, first: next };
                        log.append_leased(&mut lease, &batch).unwrap();
                        expected.extend((next..next + count as u64).map(|i| (0, value(i))));
                    } else {
                        let value_bytes = HELD_VALUE_BYTES_MAX + 1;
                        let batch = FixedValues { count, value_bytes };
                        log.append_leased(&mut lease, &batch).unwrap();
                        expected.extend((0..count).map(|i| (0, vec![i as u8; value_bytes])));
                    }
                }
                // The lease given back, a shared append, a new lease.
                5 if step.is_multiple_of(2) => {
                    log.release_lease(lease);
                    log.append(&TestValues(&[&value(next)])).unwrap();
                    expected.push((0, value(next)));
                    lease = log.lease().unwrap();
                }
                _ => {
                    for _ in 0..1 + step % 12 {
                        append_one(&mut lease, &mut expected, len);
                    }
                }
            }
        }
        // Held values last, then shared appends after them in the same segment.
        for _ in 0..3 {
            append_one(&mut lease, &mut expected, 8);
        }
        log.release_lease(lease);
        for _ in 0..2 {
            log.append(&TestValues(&[&[0xab; 5]])).unwrap();
            expected.push((0, vec![0xab; 5]));
        }
        assert_eq!(log.high_watermark(), expected.len() as i64);
        let values: Vec<Vec<u8>> = expected.iter().map(|(_, value)| value.clone()).collect();
        // Every start natively. Under miri every 7th: the runs are 1 to 12 records long, so
        // starts still fall at the head, inside and at the end of runs, and the test takes
        // 23 s under miri instead of 287 (of about 430 s over all the unit tests).
        let from_step = if cfg!(miri) { 7 } else { 1 };
        for from in (0..expected.len()).step_by(from_step) {
            let end = (from + 40).min(expected.len());
            for max_records in [1, 7] {
                let read = values_read_by_chunks(&log, from as i64, end as i64, max_records);
                assert!(
                    read == values[from..end],
                    "from {from}, {max_records} a read: first wrong at {:?}",
                    (from..end).find(|&i| read.get(i - from) != Some(&values[i]))
                );
            }
        }
        let guard = crossbeam_epoch::pin();
        let mut records = Vec::new();
        log.read_views(0, usize::MAX, &guard, |_, view| {
            records.push((view.timestamp_ms, view.value.map(<[u8]>::to_vec)));
            true
        })
        .unwrap();
        for (offset, (record, (timestamp_ms, value))) in records.iter().zip(&expected).enumerate() {
            assert_eq!(
                record,
                &(*timestamp_ms, Some(value.clone())),
                "offset {offset}"
            );
        }
    }

    /// Goal: in debug builds the holder notices a high watermark it did not move (LEASE broken)
    /// instead of appending after it. Method: a lease, one append, the high watermark moved
    /// behind the holder's back, another append: it must panic naming LEASE.
    #[cfg(debug_assertions)]
    #[test]
    #[should_panic(expected = "LEASE")]
    fn a_high_watermark_moved_behind_the_holder_is_caught() {
        let log = Log::new();
        let mut lease = log.lease().unwrap();
        log.append_leased(&mut lease, &FixedTestValues { count: 1, first: 0 })
            .unwrap();
        log.high_watermark.store(5, Ordering::Release);
        let _ = log.append_leased(&mut lease, &FixedTestValues { count: 1, first: 1 });
    }

    /// Goal: while a lease is held no other append lands, and a second lease is refused.
    /// Method: shared appends of each kind and a second lease against a held lease; after the
    /// release, a new lease is granted.
    #[test]
    fn a_held_lease_refuses_every_other_appender() {
        let log = Log::new();
        let lease = log.lease().unwrap();
        assert_eq!(log.lease().unwrap_err(), AppendError::Leased);
        let one = value(0);
        assert_eq!(log.append(&TestValues(&[&one])), Err(AppendError::Leased));
        let fixed = FixedTestValues { count: 2, first: 0 };
        assert_eq!(log.append(&fixed), Err(AppendError::Leased));
        assert_eq!(log.high_watermark(), 0);
        log.release_lease(lease);
        let lease = log.lease().expect("free again");
        log.release_lease(lease);
    }

    /// Goal: retention and readers go on under a lease, and the held segment survives
    /// retention up to the high watermark (LEASE-SEGMENT). Method: one thread appends single
    /// records under a lease while another trims to the high watermark and reads what is
    /// left; the values read are checked, and at the end every retained record.
    #[test]
    fn retention_and_reads_go_on_under_a_lease() {
        let log = Log::new();
        let records = if cfg!(miri) { 300 } else { 50_000 };
        std::thread::scope(|scope| {
            let log = &log;
            scope.spawn(move || {
                let mut lease = log.lease().unwrap();
                for i in 0..records {
                    let batch = FixedTestValues { count: 1, first: i };
                    assert_eq!(log.append_leased(&mut lease, &batch), Ok(i as i64));
                }
                log.release_lease(lease);
            });
            scope.spawn(move || {
                while log.high_watermark() < records as i64 {
                    let high_watermark = log.high_watermark();
                    let trimmed = log.advance_log_start(high_watermark - high_watermark % 7);
                    if let Ok(read) = read_values(log, trimmed, 64) {
                        for (offset, bytes) in read {
                            assert_eq!(bytes, value(offset as u64));
                        }
                    }
                    std::thread::yield_now();
                }
            });
        });
        assert_eq!(log.high_watermark(), records as i64);
        assert_values_from(&log, log.log_start_offset());
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::super::{read_values, FixedTestValues, TestValues};
    use super::*;
    use crate::sync::Arc;

    /// Goal: a shared appender racing a lease lands whole before it or after its release, or
    /// is refused; the holder's records are dense and intact between (LEASE). Method: 3 records in the
    /// 4-slot segment; one thread appends a record the shared way while the main thread
    /// takes the lease, appends 2 records (crossing into a new segment) and releases.
    #[test]
    fn shared_append_against_lease() {
        loom::model(|| {
            let log = Arc::new(Log::new());
            let head: Vec<Vec<u8>> = (0..3).map(value).collect();
            let refs: Vec<&[u8]> = head.iter().map(Vec::as_slice).collect();
            log.append(&TestValues(&refs)).unwrap();
            let shared = {
                let log = log.clone();
                loom::thread::spawn(move || log.append(&TestValues(&[&value(10)])))
            };
            let mut lease = log.lease().unwrap();
            let base = log.high_watermark();
            let batch = FixedTestValues {
                count: 2,
                first: 20,
            };
            assert_eq!(log.append_leased(&mut lease, &batch), Ok(base));
            log.release_lease(lease);
            let shared = shared.join().unwrap();
            let read = read_values(&log, 0, 16).unwrap();
            let shared_records = match shared {
                Ok(offset) => {
                    assert!(
                        (offset, base) == (3, 4) || (offset, base) == (5, 3),
                        "the shared record lands before the lease or after its release: \
                         {offset}, lease from {base}"
                    );
                    assert_eq!(read[offset as usize].1, value(10));
                    1
                }
                Err(refused) => {
                    assert_eq!((refused, base), (AppendError::Leased, 3));
                    0
                }
            };
            assert_eq!(read.len(), 3 + 2 + shared_records);
            assert_eq!(read[base as usize].1, value(20));
            assert_eq!(read[base as usize + 1].1, value(21));
        });
    }

    /// Goal: leased appends (both fast paths included) publish whole records that a reader
    /// sees intact, and wake a blocked reader (no lost wake-up). Method: the holder appends
    /// three single records (the first looks its segment up, the second takes the batch fast
    /// path, the third the single-record one) while the main thread reads, then blocks until
    /// all are there.
    #[test]
    fn leased_appends_against_fetch_and_wait() {
        loom::model(|| {
            let log = Arc::new(Log::new());
            log.append(&TestValues(&[&value(0)])).unwrap();
            let holder = {
                let log = log.clone();
                loom::thread::spawn(move || {
                    let mut lease = log.lease().unwrap();
                    for first in [1, 2] {
                        let batch = FixedTestValues { count: 1, first };
                        assert_eq!(log.append_leased(&mut lease, &batch), Ok(first as i64));
                    }
                    // The segment and an arena chunk are held now: the single-record path.
                    let appended = log.append_one_leased(&mut lease, 8, 0, |out| {
                        out.copy_from_slice(&value(3));
                    });
                    assert_eq!(appended, Some(3));
                    log.release_lease(lease);
                })
            };
            for (offset, bytes) in read_values(&log, 0, 16).unwrap() {
                assert_eq!(bytes, value(offset as u64));
            }
            assert!(log.wait_for(3, None));
            assert_eq!(
                read_values(&log, 2, 2).unwrap(),
                vec![(2, value(2)), (3, value(3))]
            );
            holder.join().unwrap();
        });
    }

    /// Append `value(offset)` at the next offset as the exclusive producer does: the
    /// single-record path, else the general one.
    fn append_one(log: &Log, lease: &mut Lease, offset: i64) -> Result<i64, AppendError> {
        let fill = |out: &mut [u8]| out.copy_from_slice(&value(offset as u64));
        match log.append_one_leased(lease, 8, 0, fill) {
            Some(appended) => Ok(appended),
            None => {
                let batch = FixedTestValues {
                    count: 1,
                    first: offset as u64,
                };
                log.append_leased(lease, &batch)
            }
        }
    }

    /// Goal: the holder never retains more than [`RETAINED_RECORDS_MAX`] records, on either
    /// path, however its append bound was worked out (LEASE-BOUND: it is capped at a loaded
    /// log start plus the limit); a refusal loses nothing and changes nothing; retention gives
    /// back exactly the room it frees. Loom's limit is 16 records (4 segments of 4), where
    /// outside loom it is 266 M, which no other test reaches. Method: one thread, in a model
    /// because the epoch is loom's here: single records up to the limit, refused one past it;
    /// the log start moved to mid-segment, then single records up to the new limit, which
    /// falls mid-segment; moved again, then batches.
    #[test]
    fn leased_appends_stop_at_the_retained_records_limit() {
        // One thread, so one execution; its ~30 appends take more of loom's branches (every
        // atomic access) than the default 1000 allows.
        let mut builder = loom::model::Builder::new();
        builder.max_branches = 100_000;
        builder.check(|| {
            let log = Log::new();
            let mut lease = log.lease().unwrap();
            for offset in 0..RETAINED_RECORDS_MAX {
                assert_eq!(append_one(&log, &mut lease, offset), Ok(offset));
            }
            let refused = |log: &Log, lease: &mut Lease| {
                let end = log.high_watermark();
                assert_eq!(
                    log.append_one_leased(lease, 8, 0, |_| unreachable!("refused")),
                    None
                );
                assert_eq!(append_one(log, lease, end), Err(AppendError::LogFull));
                assert_eq!(log.high_watermark(), end, "a refusal appends nothing");
            };
            refused(&log, &mut lease);
            assert_values_from(&log, 0);

            // Five records removed, not on a segment boundary: five records of room, the
            // last of them mid-segment, where the single-record path's bound is the limit's.
            assert_eq!(log.advance_log_start(5), 5);
            for offset in RETAINED_RECORDS_MAX..RETAINED_RECORDS_MAX + 5 {
                assert_eq!(append_one(&log, &mut lease, offset), Ok(offset));
            }
            refused(&log, &mut lease);
            // Two more: a batch that would overrun the limit is refused whole; one that fits
            // lands.
            let log_start = log.advance_log_start(7);
            assert_eq!(log_start, 7);
            let end = log.high_watermark();
            let overrun = FixedTestValues {
                count: 3,
                first: end as u64,
            };
            assert_eq!(
                log.append_leased(&mut lease, &overrun),
                Err(AppendError::LogFull)
            );
            let fits = FixedTestValues {
                count: 2,
                first: end as u64,
            };
            assert_eq!(log.append_leased(&mut lease, &fits), Ok(end));
            assert_eq!(log.high_watermark() - log_start, RETAINED_RECORDS_MAX);
            refused(&log, &mut lease);
            assert_values_from(&log, log_start);
            log.release_lease(lease);

            // Shared appends after the release are held to the same limit.
            let end = log.high_watermark();
            assert_eq!(
                log.append(&TestValues(&[&value(end as u64)])),
                Err(AppendError::LogFull)
            );
            log.advance_log_start(log_start + 1);
            assert_eq!(log.append(&TestValues(&[&value(end as u64)])), Ok(end));
            assert_values_from(&log, log_start + 1);
        });
    }
}
