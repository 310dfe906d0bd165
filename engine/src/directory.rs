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
//! back). A segment is unlinked by swapping in a *tombstone* (a null pointer tagged
//! [`TOMBSTONE`]) and handed to the epoch collector, so a reader that loaded the pointer under a
//! guard may keep using it. Tombstones, not nulls, because an appender lays its bytes in the
//! segment it predicts its batch lands in before it knows its offsets (`log.rs`), so it may ask
//! for a segment that retention already unlinked: a tombstone refuses the install
//! ([`InstallError::Gone`]) where a null would let it link a dead segment again, below the log
//! start, where nothing would ever unlink it. For the same reason a block stays in its ring
//! slot once all its segments are tombstones, and is replaced (and retired) only by the block
//! that needs the slot next: an installer that finds a newer block there is stale (`Gone`).

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

/// The tag of an unlinked segment's entry.
pub const TOMBSTONE: usize = 1;

/// Why a segment could not be installed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstallError {
    /// The block's ring slot is still taken by an older block with segments not yet unlinked:
    /// the partition retains [`RETAINED_RECORDS_MAX`] records already, or a retention is
    /// between its log-start CAS and its unlinks.
    Full,
    /// The segment was unlinked already (its entry is a tombstone, or a newer block holds the
    /// ring slot): the installer's view of the log is stale.
    Gone,
}

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
        // A tombstone is a null pointer: `None`.
        let segment = unsafe { segment.as_ref() }?;
        debug_assert_eq!(
            segment.base_offset() as u64,
            segment_number * SEGMENT_RECORDS
        );
        Some(segment)
    }

    /// The segment with this number, installing `make()`'s when there is none. `spare` gets
    /// back a made segment that lost the install race or found a tombstone.
    pub fn get_or_install<'g>(
        &self,
        segment_number: u64,
        guard: &'g Guard,
        make: impl FnOnce() -> Box<Segment>,
        spare: impl FnOnce(Box<Segment>),
    ) -> Result<&'g Segment, InstallError> {
        let block = self.block_for_install(segment_number, guard)?;
        let (_, _, within) = Self::block_of(segment_number);
        let entry = &block.segments[within];
        let current = entry.load(Ordering::Acquire, guard);
        if current.tag() == TOMBSTONE {
            return Err(InstallError::Gone);
        }
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
                if lost.current.tag() == TOMBSTONE {
                    return Err(InstallError::Gone);
                }
                // SAFETY: the winner's segment, loaded under `guard`.
                Ok(unsafe { lost.current.deref() })
            }
        }
    }

    /// The block holding `segment_number`, installing it when its ring slot is empty or holds
    /// an older block whose segments are all unlinked (which is then retired).
    fn block_for_install<'g>(
        &self,
        segment_number: u64,
        guard: &'g Guard,
    ) -> Result<&'g Block, InstallError> {
        let (block_number, ring_index, _) = Self::block_of(segment_number);
        let slot = &self.blocks[ring_index];
        let mut current = slot.load(Ordering::Acquire, guard);
        loop {
            // SAFETY: loaded under `guard`; blocks are retired through the collector.
            if let Some(existing) = unsafe { current.as_ref() } {
                if existing.number == block_number {
                    return Ok(existing);
                }
                if existing.number > block_number {
                    return Err(InstallError::Gone);
                }
                let all_unlinked = existing
                    .segments
                    .iter()
                    .all(|entry| entry.load(Ordering::Acquire, guard).tag() == TOMBSTONE);
                if !all_unlinked {
                    return Err(InstallError::Full);
                }
            }
            let fresh = Owned::new(Block {
                number: block_number,
                segments: (0..DIRECTORY_BLOCK_SEGMENTS)
                    .map(|_| Atomic::null())
                    .collect(),
            });
            match slot.compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire, guard)
            {
                Ok(installed) => {
                    if !current.is_null() {
                        // SAFETY: the old block is out of the ring (replaced just now, by this
                        // thread alone); its entries are all tombstones, so dropping it frees
                        // no segment; readers still holding it are pinned.
                        unsafe { guard.defer_destroy(current) };
                    }
                    // SAFETY: just installed; protected by `guard`.
                    return Ok(unsafe { installed.deref() });
                }
                Err(lost) => current = lost.current,
            }
        }
    }

    /// Unlink segment `segment_number` (leaving a tombstone) and return it; the caller must
    /// defer its reuse past the current epoch.
    ///
    /// Callers unlink each segment number exactly once, in increasing order, and only below
    /// the log start.
    pub fn unlink<'g>(&self, segment_number: u64, guard: &'g Guard) -> Option<Shared<'g, Segment>> {
        let (block_number, ring_index, within) = Self::block_of(segment_number);
        let mut block = self.blocks[ring_index].load(Ordering::Acquire, guard);
        // SAFETY: loaded under `guard`.
        if unsafe { block.as_ref() }.is_some_and(|b| b.number < block_number) || block.is_null() {
            // No segment of this block was ever installed: install the block, so the
            // tombstone below keeps a stale appender out of it.
            match self.block_for_install(segment_number, guard) {
                Ok(installed) => block = Shared::from(installed as *const Block),
                // A newer block holds the slot: this one is long gone.
                Err(_) => return None,
            }
        }
        // SAFETY: non-null (checked or installed above), loaded under `guard`.
        let block = unsafe { block.deref() };
        if block.number != block_number {
            return None;
        }
        let segment = block.segments[within].swap(
            Shared::null().with_tag(TOMBSTONE),
            Ordering::AcqRel,
            guard,
        );
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
