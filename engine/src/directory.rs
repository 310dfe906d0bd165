//! The segment directory of one partition: offset → segment in O(1).
//!
//! Two levels of epoch-protected pointers: a ring of [`DIRECTORY_BLOCKS`] blocks, each holding
//! [`DIRECTORY_BLOCK_SEGMENTS`] segment pointers. Segment number `s = offset >>
//! SEGMENT_RECORDS_SHIFT` lives in block `b = s / DIRECTORY_BLOCK_SEGMENTS`, at ring index
//! `b % DIRECTORY_BLOCKS`. The ring can hold `DIRECTORY_BLOCKS * DIRECTORY_BLOCK_SEGMENTS *
//! SEGMENT_RECORDS` retained records (2^32 outside loom, far beyond memory), so a block is
//! always unlinked by retention before its ring index is needed again; the log refuses an
//! append that would break this ([`RETAINED_RECORDS_MAX`]).
//!
//! Segments and blocks are installed with one CAS (null → pointer; a loser gives its spare
//! back) and unlinked with one swap; unlinked ones are handed to the epoch collector, so a
//! reader that loaded a pointer under a guard may keep using it.

use crossbeam_epoch::{Atomic, Guard, Owned, Shared};

use crate::segment::{Segment, SEGMENT_RECORDS};
use crate::sync::Ordering;

/// Segment pointers per directory block (8 KiB of pointers per block outside loom).
#[cfg(not(any(loom, miri)))]
pub const DIRECTORY_BLOCK_SEGMENTS: u64 = 1024;
/// Under miri 4, so tests install and unlink whole blocks.
#[cfg(all(miri, not(loom)))]
pub const DIRECTORY_BLOCK_SEGMENTS: u64 = 4;
/// See the non-loom value; tiny so a loom model crosses blocks.
#[cfg(loom)]
pub const DIRECTORY_BLOCK_SEGMENTS: u64 = 2;
/// Blocks in the ring (2 KiB of pointers per partition outside loom).
#[cfg(not(loom))]
pub const DIRECTORY_BLOCKS: usize = 256;
/// See the non-loom value.
#[cfg(loom)]
pub const DIRECTORY_BLOCKS: usize = 4;
/// Most records a partition may retain at once: what the ring can address, less two blocks
/// (one because a window need not start at a block boundary, one so an append never needs a
/// ring slot whose old block is still waiting to be unlinked by a retention in progress).
pub const RETAINED_RECORDS_MAX: i64 =
    ((DIRECTORY_BLOCKS as u64 - 2) * DIRECTORY_BLOCK_SEGMENTS * SEGMENT_RECORDS) as i64;

struct Block {
    /// Which block this is (`segment number / DIRECTORY_BLOCK_SEGMENTS`); a ring slot may
    /// hold an older block only while it is still retained.
    number: u64,
    segments: Box<[Atomic<Segment>]>,
}

/// The directory. See the module docs.
pub struct Directory {
    blocks: Box<[Atomic<Block>]>,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory").finish_non_exhaustive()
    }
}

impl Default for Directory {
    fn default() -> Directory {
        Directory::new()
    }
}

/// A block's ring slot is still taken by an older, retained block: the partition retains
/// [`RETAINED_RECORDS_MAX`] records already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirectoryFull;

impl Directory {
    /// An empty directory.
    pub fn new() -> Directory {
        Directory {
            blocks: (0..DIRECTORY_BLOCKS).map(|_| Atomic::null()).collect(),
        }
    }

    fn block_of(segment_number: u64) -> (u64, usize, usize) {
        let block_number = segment_number / DIRECTORY_BLOCK_SEGMENTS;
        let ring_index = (block_number % DIRECTORY_BLOCKS as u64) as usize;
        let within = (segment_number % DIRECTORY_BLOCK_SEGMENTS) as usize;
        (block_number, ring_index, within)
    }

    /// The linked segment with this number, if any.
    #[inline]
    pub fn get<'g>(&self, segment_number: u64, guard: &'g Guard) -> Option<&'g Segment> {
        let (block_number, ring_index, within) = Self::block_of(segment_number);
        debug_assert!(ring_index < self.blocks.len());
        let block = self.blocks[ring_index].load(Ordering::Acquire, guard);
        // SAFETY: a non-null block pointer loaded under `guard` stays allocated until the guard
        // is dropped (unlinked blocks are destroyed through the epoch collector).
        let block = unsafe { block.as_ref() }?;
        if block.number != block_number {
            return None;
        }
        debug_assert!(within < block.segments.len());
        let segment = block.segments[within].load(Ordering::Acquire, guard);
        // SAFETY: as for the block: segments are freed or recycled only through the collector.
        let segment = unsafe { segment.as_ref() }?;
        debug_assert_eq!(
            segment.base_offset() as u64,
            segment_number * SEGMENT_RECORDS
        );
        Some(segment)
    }

    /// The segment with this number, installing `make()`'s when there is none. `spare` gets
    /// back a made segment that lost the install race.
    pub fn get_or_install<'g>(
        &self,
        segment_number: u64,
        guard: &'g Guard,
        make: impl FnOnce() -> Box<Segment>,
        spare: impl FnOnce(Box<Segment>),
    ) -> Result<&'g Segment, DirectoryFull> {
        let (block_number, ring_index, within) = Self::block_of(segment_number);
        let slot = &self.blocks[ring_index];
        let mut block = slot.load(Ordering::Acquire, guard);
        // SAFETY: loaded under `guard`; see `get`.
        match unsafe { block.as_ref() } {
            Some(existing) if existing.number == block_number => {}
            Some(_) => return Err(DirectoryFull),
            None => {
                let fresh = Owned::new(Block {
                    number: block_number,
                    segments: (0..DIRECTORY_BLOCK_SEGMENTS)
                        .map(|_| Atomic::null())
                        .collect(),
                });
                match slot.compare_exchange(
                    Shared::null(),
                    fresh,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                    guard,
                ) {
                    Ok(installed) => block = installed,
                    Err(lost) => {
                        block = lost.current;
                        // SAFETY: the winner's block, loaded under `guard`.
                        let winner = unsafe { block.as_ref() }.expect("CAS failed on non-null");
                        if winner.number != block_number {
                            return Err(DirectoryFull);
                        }
                    }
                }
            }
        }
        // SAFETY: non-null (matched or installed above), protected by `guard`.
        let block = unsafe { block.deref() };
        let entry = &block.segments[within];
        let current = entry.load(Ordering::Acquire, guard);
        if !current.is_null() {
            // SAFETY: loaded under `guard`.
            return Ok(unsafe { current.deref() });
        }
        let made = make();
        debug_assert_eq!(made.base_offset() as u64, segment_number * SEGMENT_RECORDS);
        match entry.compare_exchange(
            Shared::null(),
            Owned::from(made),
            Ordering::AcqRel,
            Ordering::Acquire,
            guard,
        ) {
            // SAFETY: just installed; protected by `guard`.
            Ok(installed) => Ok(unsafe { installed.deref() }),
            Err(lost) => {
                spare(lost.new.into_box());
                // SAFETY: the winner's segment, loaded under `guard`.
                Ok(unsafe { lost.current.deref() })
            }
        }
    }

    /// Unlink segment `segment_number` (and its block, when it is the block's last) and return
    /// it; the caller must defer its reuse past the current epoch.
    ///
    /// Callers unlink each segment number exactly once, in increasing order, and only below
    /// the log start.
    pub fn unlink<'g>(&self, segment_number: u64, guard: &'g Guard) -> Option<Shared<'g, Segment>> {
        let (block_number, ring_index, within) = Self::block_of(segment_number);
        let slot = &self.blocks[ring_index];
        let block = slot.load(Ordering::Acquire, guard);
        // SAFETY: loaded under `guard`.
        let block_ref = unsafe { block.as_ref() }?;
        if block_ref.number != block_number {
            return None;
        }
        let segment = block_ref.segments[within].swap(Shared::null(), Ordering::AcqRel, guard);
        if within as u64 == DIRECTORY_BLOCK_SEGMENTS - 1 {
            let unlinked = slot.swap(Shared::null(), Ordering::AcqRel, guard);
            debug_assert_eq!(unlinked, block);
            // SAFETY: the block is unlinked (swapped out just now, once); readers that still
            // hold it are pinned, and the collector frees it only after they unpin. Its
            // segment pointers are all null (unlinked in order), so dropping it frees no
            // segment.
            unsafe { guard.defer_destroy(unlinked) };
        }
        (!segment.is_null()).then_some(segment)
    }

    /// Take every linked segment out (for the owner's drop), calling `f` on each.
    pub fn drain(&mut self, mut f: impl FnMut(Box<Segment>)) {
        // SAFETY: `&mut self`: no other thread can reach this directory any more.
        let guard = unsafe { crossbeam_epoch::unprotected() };
        for slot in self.blocks.iter() {
            let block = slot.swap(Shared::null(), Ordering::Relaxed, guard);
            if block.is_null() {
                continue;
            }
            // SAFETY: exclusive access; the block was linked, so owned by the directory.
            let block = unsafe { block.into_owned() };
            for entry in block.segments.iter() {
                let segment = entry.swap(Shared::null(), Ordering::Relaxed, guard);
                if !segment.is_null() {
                    // SAFETY: exclusive access; a linked segment is owned by the directory.
                    f(unsafe { segment.into_owned() }.into_box());
                }
            }
        }
    }
}

impl Drop for Directory {
    fn drop(&mut self) {
        // Segments still linked here were not drained by the owner: drop them plainly (their
        // out-of-line records were released by the owner, or there were none).
        self.drain(drop);
    }
}
