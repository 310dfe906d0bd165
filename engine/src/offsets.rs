//! Committed offsets of one partition, one cell per group.
//!
//! Groups are never removed and get a dense index (`0..GROUPS_COUNT_MAX`) when created, so a
//! partition keeps its committed offsets in a two-level table indexed by group index: a fixed
//! top level of [`COMMIT_BLOCKS`] pointers to lazily installed blocks of [`COMMIT_BLOCK_CELLS`]
//! cells. A cell points to an immutable [`Committed`]; a commit swaps in a new one and retires
//! the old through the epoch collector, so `committed` reads are one Acquire load and never
//! see a torn (offset, metadata) pair.
//!
//! Which commits may write a cell (the generation fence) is decided in `group.rs`; this table
//! only stores. Deleting a topic drops its partitions and with them every group's commits.

use crossbeam_epoch::{Atomic, Guard, Owned, Shared};
use streamspec_model::config::GROUPS_COUNT_MAX;

use crate::sync::Ordering;

/// Cells per block: 32 groups share a 256-byte block.
const COMMIT_BLOCK_CELLS: usize = 32;
/// Top-level pointers per partition.
const COMMIT_BLOCKS: usize = GROUPS_COUNT_MAX.div_ceil(COMMIT_BLOCK_CELLS);

/// One committed offset with its metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Committed {
    /// The next offset to read.
    pub offset: i64,
    /// The metadata committed with it.
    pub metadata: String,
}

struct CommitBlock {
    cells: [Atomic<Committed>; COMMIT_BLOCK_CELLS],
}

/// One partition's committed offsets. See the module docs.
pub struct CommitTable {
    blocks: Box<[Atomic<CommitBlock>]>,
}

impl std::fmt::Debug for CommitTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitTable").finish_non_exhaustive()
    }
}

impl Default for CommitTable {
    fn default() -> CommitTable {
        CommitTable::new()
    }
}

impl CommitTable {
    /// No commits.
    pub fn new() -> CommitTable {
        CommitTable {
            blocks: (0..COMMIT_BLOCKS).map(|_| Atomic::null()).collect(),
        }
    }

    /// The committed offset of group `group_index`, if any.
    pub fn get<'g>(&self, group_index: usize, guard: &'g Guard) -> Option<&'g Committed> {
        debug_assert!(group_index < GROUPS_COUNT_MAX);
        let block = self.blocks[group_index / COMMIT_BLOCK_CELLS].load(Ordering::Acquire, guard);
        // SAFETY: blocks are never removed while the table lives; `guard` pins.
        let block = unsafe { block.as_ref() }?;
        let cell = block.cells[group_index % COMMIT_BLOCK_CELLS].load(Ordering::Acquire, guard);
        // SAFETY: a replaced value is retired through the collector, after `guard` unpins.
        unsafe { cell.as_ref() }
    }

    /// Store group `group_index`'s committed offset.
    pub fn set(&self, group_index: usize, committed: Committed, guard: &Guard) {
        debug_assert!(group_index < GROUPS_COUNT_MAX);
        let slot = &self.blocks[group_index / COMMIT_BLOCK_CELLS];
        let mut block = slot.load(Ordering::Acquire, guard);
        if block.is_null() {
            let fresh = Owned::new(CommitBlock {
                cells: std::array::from_fn(|_| Atomic::null()),
            });
            block = match slot.compare_exchange(
                Shared::null(),
                fresh,
                Ordering::AcqRel,
                Ordering::Acquire,
                guard,
            ) {
                Ok(installed) => installed,
                Err(lost) => lost.current,
            };
        }
        // SAFETY: non-null now, never removed while the table lives.
        let block = unsafe { block.deref() };
        let old = block.cells[group_index % COMMIT_BLOCK_CELLS].swap(
            Owned::new(committed),
            Ordering::AcqRel,
            guard,
        );
        if !old.is_null() {
            // SAFETY: swapped out by this thread alone; readers that loaded it are pinned.
            unsafe { guard.defer_destroy(old) };
        }
    }

    /// Whether group `group_index` has committed anything here.
    pub fn has(&self, group_index: usize, guard: &Guard) -> bool {
        self.get(group_index, guard).is_some()
    }
}

impl Drop for CommitTable {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: nobody else can reach the table.
        let guard = unsafe { crossbeam_epoch::unprotected() };
        for block in self.blocks.iter() {
            let block = block.swap(Shared::null(), Ordering::Relaxed, guard);
            if block.is_null() {
                continue;
            }
            // SAFETY: exclusively owned by the table.
            let block = unsafe { block.into_owned() };
            for cell in block.cells.iter() {
                let value = cell.swap(Shared::null(), Ordering::Relaxed, guard);
                if !value.is_null() {
                    // SAFETY: exclusively owned by the table.
                    drop(unsafe { value.into_owned() });
                }
            }
        }
    }
}
