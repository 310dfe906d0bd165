//! A batch descriptor: a batch whose bytes are already laid in the arenas, described well
//! enough that *any* thread can finish publishing it.
//!
//! An appender lays its batch's bytes before it owns any offsets (`log.rs`), then installs a
//! descriptor naming the offsets it takes and the slot words to store there. Completing a
//! descriptor ([`Descriptor::complete`]) is three idempotent steps any thread may run, in
//! order, as often as it likes:
//! 1. store each record's slot word (the same word, whoever stores it);
//! 2. publish the producer snapshot the batch carries, if idempotent;
//! 3. CAS the high watermark from the batch's base to its end (only one CAS succeeds).
//!
//! So an appender that stalls after installing delays nobody: the next appender completes the
//! stalled batch for it and goes on. Invariant (INSTALL): a descriptor is installed only once
//! its predecessor is complete, so at most one descriptor is incomplete and the high
//! watermark always equals the end of the last installed descriptor or its base.

use crossbeam_epoch::{Guard, Owned, Shared};
use smallvec::SmallVec;

use crate::directory::Directory;
use crate::producer::{ProducerEntry, ProducerSnapshot};
use crate::segment::{Slot, SEGMENT_RECORDS};
use crate::spares::{self, Retired};
use crate::sync::{AtomicI64, Ordering};

/// How one part's slot words are given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartWords {
    /// Fixed-size plain values laid back to back from `arena_start`: the word of the `i`-th is
    /// [`Slot::plain`]`(arena_start + i * value_bytes, value_bytes, timestamp_ms)` (a 4096-record
    /// zero-copy part needs no word array).
    Fixed {
        /// Where the first value starts in the segment's arena.
        arena_start: u32,
        /// Bytes per value.
        value_bytes: u32,
        /// The timestamp of every record.
        timestamp_ms: i64,
    },
    /// One word per record, in the descriptor's `words`, from the part's first record on.
    Each {
        /// Whether any of them is out of line.
        out_of_line: bool,
    },
}

/// The records of a batch that land in one segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part {
    /// The segment they land in.
    pub segment_number: u64,
    /// Index in the batch of the first of them.
    pub first_record: usize,
    /// How many.
    pub count: usize,
    /// Their slot words.
    pub words: PartWords,
}

/// The producer snapshot an idempotent batch publishes when it completes.
#[derive(Debug)]
pub struct ProducerUpdate {
    /// The producer's entry on this partition (lives as long as the partition's log).
    pub entry: *const ProducerEntry,
    /// The snapshot after this batch (`Box::into_raw`); the entry owns it once published.
    pub next: *const ProducerSnapshot,
}

/// A laid-out batch at offsets `base..base + count`. See the module docs.
#[derive(Debug, Default)]
pub struct Descriptor {
    /// The first offset.
    pub base: i64,
    /// Records.
    pub count: i64,
    /// Where they land, segment by segment, in order (inline for a batch in at most two
    /// segments, so a small append allocates only the descriptor).
    pub parts: SmallVec<[Part; 2]>,
    /// The words of [`PartWords::Each`] parts, indexed by record index in the batch (records
    /// of a [`PartWords::Fixed`] part before one hold empty words; inline for up to two
    /// records).
    pub words: SmallVec<[Slot; 2]>,
    /// What an idempotent batch publishes.
    pub producer: Option<ProducerUpdate>,
    /// An exclusive producer holds the log (`log/lease.rs`): an empty descriptor whose
    /// installation refuses every shared append until it is replaced.
    pub leased: bool,
}

// SAFETY: the raw pointers in `producer` name an entry that outlives every thread that can
// reach the descriptor (both belong to one partition) and a snapshot handed between threads
// only through the entry's atomic pointer; everything else is plain data, read-only once
// installed.
unsafe impl Send for Descriptor {}
// SAFETY: as above; an installed descriptor is never written.
unsafe impl Sync for Descriptor {}

impl Descriptor {
    /// One past the last offset.
    #[inline]
    pub fn end(&self) -> i64 {
        self.base + self.count
    }

    /// Complete the batch (see the module docs); returns whether this call moved the high
    /// watermark (the caller then wakes waiters). Safe to call late, after others completed
    /// it, or concurrently with them.
    ///
    /// Late is safe because every segment is looked up in the directory under `guard`: a
    /// segment that retention unlinked is a tombstone there (`None`: the batch is complete,
    /// as retention never passes the high watermark), and one that is found cannot be
    /// recycled while `guard` is held, so a late store rewrites a word with the same word.
    pub fn complete(
        &self,
        directory: &Directory,
        high_watermark: &AtomicI64,
        guard: &Guard,
    ) -> bool {
        if high_watermark.load(Ordering::Acquire) >= self.end() {
            return false;
        }
        if !self.store_words(directory, guard) {
            return false;
        }
        if let Some(update) = &self.producer {
            // SAFETY: the entry outlives the log that reached this descriptor; `next` is this
            // installed batch's own snapshot, owned by the entry once published (see
            // `ProducerEntry::publish`).
            unsafe { (*update.entry).publish(update.next, guard) };
        }
        // Release: the stores above (and, through the install's Release and the Acquire load
        // that found this descriptor, the laid bytes) happen before any read bounded by the
        // new high watermark.
        high_watermark
            .compare_exchange(self.base, self.end(), Ordering::Release, Ordering::Relaxed)
            .is_ok()
    }

    /// Step 1 of completing: store every record's slot word. Returns `false` if a segment
    /// is unlinked (retention passed the batch, so it was complete already).
    pub fn store_words(&self, directory: &Directory, guard: &Guard) -> bool {
        for part in &self.parts {
            let Some(segment) = directory.get(part.segment_number, guard) else {
                return false;
            };
            let slot_first =
                ((self.base + part.first_record as i64) as u64 & (SEGMENT_RECORDS - 1)) as usize;
            match part.words {
                PartWords::Fixed {
                    arena_start,
                    value_bytes,
                    timestamp_ms,
                } => segment.store_fixed_run(
                    slot_first,
                    part.count,
                    arena_start,
                    value_bytes as usize,
                    timestamp_ms,
                ),
                PartWords::Each { out_of_line } => {
                    let words = &self.words[part.first_record..part.first_record + part.count];
                    for (slot, word) in (slot_first..).zip(words) {
                        segment.store_slot(slot, *word);
                    }
                    if out_of_line {
                        segment.note_out_of_line();
                    }
                }
            }
        }
        true
    }
}

impl Descriptor {
    /// A descriptor for a batch of `count` records: a spare one when this thread has one.
    pub fn for_batch(count: usize) -> Owned<Descriptor> {
        let mut descriptor = spares::take();
        descriptor.count = count as i64;
        Owned::from(descriptor)
    }

    /// Hand a replaced descriptor to the collector (with others this thread replaced, a group
    /// at a time); once no thread can reach it, it comes back as a spare of this thread
    /// (`spares.rs`).
    ///
    /// # Safety
    /// `descriptor` is out of the log (replaced by the caller's CAS, alone) and retired once.
    pub unsafe fn retire(descriptor: Shared<'_, Descriptor>, guard: &Guard) {
        spares::retire(Retired(descriptor.as_raw().cast_mut()), guard);
    }

    /// Back to the state of `Descriptor::default()`, keeping inline capacity.
    pub(crate) fn clear(&mut self) {
        self.base = 0;
        self.count = 0;
        self.parts.clear();
        self.words.clear();
        self.producer = None;
        self.leased = false;
    }

    /// Small enough to keep as a spare (a large batch's words went to the heap). Loom keeps
    /// no spares (`spares.rs`).
    #[cfg(not(loom))]
    pub(crate) fn is_small(&self) -> bool {
        !self.parts.spilled() && !self.words.spilled()
    }
}
