//! Idempotent producers: issuing ids and epochs, and per (producer, partition) deduplication.
//!
//! - [`ProducerRegistry`] (engine-wide): ids are issued in order `0, 1, 2, ...`, so "was this id
//!   issued" is `id < issued_count`. Each id's current epoch is an atomic the produce path
//!   reads lock-free; `init_producer_id` (rare) serialises on the registry's mutex.
//! - [`ProducerStates`] (per partition): a two-level table of lazily created entries, one per
//!   producer id that wrote to the partition. An entry holds an immutable
//!   [`ProducerSnapshot`] (epoch, last sequence, the last [`PRODUCER_BATCHES_RETAINED`]
//!   batches) behind an epoch-protected pointer. The sequence check and the snapshot update
//!   ride on the log's batch descriptor (`log.rs`): an idempotent append checks the snapshot
//!   the completed log left, builds its successor, and installs its batch only if no other
//!   batch was installed meanwhile; whoever completes the batch publishes the successor
//!   ([`ProducerEntry::publish`]) before the high watermark moves. So a racing retry of the
//!   same batch helps the original finish and then finds it a duplicate: nothing waits.

use std::collections::HashMap;

use crossbeam_epoch::{Atomic, Guard, Owned, Shared};
use streamspec_model::config::{PRODUCERS_COUNT_MAX, PRODUCER_BATCHES_RETAINED};
use streamspec_model::ErrorCode;

use crate::sync::{lock, AtomicI32, AtomicI64, AtomicPtr, Mutex, Ordering};

/// Producer ids the registry can hold epochs for: the model's limit (4 under loom).
#[cfg(not(loom))]
const PRODUCER_IDS_CAPACITY: usize = PRODUCERS_COUNT_MAX;
#[cfg(loom)]
const PRODUCER_IDS_CAPACITY: usize = 4;

/// Entries per second-level block of a partition's producer table (producer ids are dense
/// from 0, so ids `256k .. 256k + 255` share a 2 KiB block).
const PRODUCER_BLOCK_ENTRIES: usize = 256;
const PRODUCER_BLOCKS: usize = PRODUCER_IDS_CAPACITY.div_ceil(PRODUCER_BLOCK_ENTRIES);

/// The epoch of a retired producer id: outside `i16`, so no batch's epoch ever equals it.
const EPOCH_RETIRED: i32 = i32::MIN;

/// The engine-wide issuer of producer ids and epochs.
#[derive(Debug)]
pub struct ProducerRegistry {
    /// Ids issued so far; ids below it exist. Published with Release after the id's epoch.
    issued_count: AtomicI64,
    /// Current epoch per id, in lazily allocated chunks of [`PRODUCER_BLOCK_ENTRIES`] (an
    /// engine that issues few ids pays for few). Chunks are installed under the
    /// `transactional` mutex and never removed before drop.
    epochs: EpochTable,
    /// Transactional id → producer id; only `init_producer_id` touches it.
    transactional: Mutex<HashMap<String, i64>>,
}

impl Default for ProducerRegistry {
    fn default() -> ProducerRegistry {
        ProducerRegistry::new()
    }
}

impl ProducerRegistry {
    /// No producers.
    pub fn new() -> ProducerRegistry {
        ProducerRegistry {
            issued_count: AtomicI64::new(0),
            epochs: EpochTable::new(),
            transactional: Mutex::new(HashMap::new()),
        }
    }

    /// `init_producer_id`: `(producer_id, producer_epoch)`. The caller validated the id.
    pub fn init(&self, transactional_id: Option<&str>) -> Result<(i64, i16), ErrorCode> {
        let mut transactional = lock(&self.transactional);
        let previous = transactional_id.and_then(|t| transactional.get(t)).copied();
        if let Some(id) = previous {
            let epoch = self
                .epochs
                .get(id)
                .expect("an issued id has an epoch")
                .load(Ordering::Relaxed);
            if epoch < i32::from(i16::MAX) {
                self.epochs
                    .get(id)
                    .expect("an issued id has an epoch")
                    .store(epoch + 1, Ordering::Release);
                return Ok((id, (epoch + 1) as i16));
            }
        }
        let id = self.issued_count.load(Ordering::Relaxed);
        if id as usize >= PRODUCERS_COUNT_MAX.min(PRODUCER_IDS_CAPACITY) {
            return Err(ErrorCode::PolicyViolation);
        }
        if let Some(exhausted) = previous {
            // Its epochs are used up: retire it, so every batch naming it is fenced.
            self.epochs
                .get(exhausted)
                .expect("an issued id has an epoch")
                .store(EPOCH_RETIRED, Ordering::Release);
        }
        self.epochs.get_or_install(id).store(0, Ordering::Relaxed);
        self.issued_count.store(id + 1, Ordering::Release);
        if let Some(t) = transactional_id {
            transactional.insert(t.to_owned(), id);
        }
        Ok((id, 0))
    }

    /// Checks 6.2 and 6.3 of produce: the id was issued and the epoch is its current one.
    pub fn check(&self, producer_id: i64, producer_epoch: i16) -> Result<(), ErrorCode> {
        if producer_id < 0 || producer_id >= self.issued_count.load(Ordering::Acquire) {
            return Err(ErrorCode::UnknownProducerId);
        }
        let Some(current) = self.epochs.get(producer_id) else {
            return Err(ErrorCode::UnknownProducerId);
        };
        let current = current.load(Ordering::Acquire);
        if current != i32::from(producer_epoch) {
            return Err(ErrorCode::InvalidProducerEpoch);
        }
        Ok(())
    }
}

/// Epochs by producer id: a fixed top level of pointers to lazily allocated chunks.
struct EpochTable {
    chunks: Box<[AtomicPtr<EpochChunk>]>,
}

struct EpochChunk {
    epochs: [AtomicI32; PRODUCER_BLOCK_ENTRIES],
}

impl std::fmt::Debug for EpochTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EpochTable").finish_non_exhaustive()
    }
}

impl EpochTable {
    fn new() -> EpochTable {
        EpochTable {
            chunks: (0..PRODUCER_BLOCKS)
                .map(|_| AtomicPtr::new(std::ptr::null_mut()))
                .collect(),
        }
    }

    /// The epoch cell of `id`, if its chunk exists.
    fn get(&self, id: i64) -> Option<&AtomicI32> {
        let id = usize::try_from(id).ok()?;
        let chunk = self
            .chunks
            .get(id / PRODUCER_BLOCK_ENTRIES)?
            .load(Ordering::Acquire);
        // SAFETY: a non-null chunk pointer came from `Box::into_raw` in `get_or_install` and is
        // freed only by `drop`, which has `&mut self`.
        let chunk = unsafe { chunk.as_ref() }?;
        Some(&chunk.epochs[id % PRODUCER_BLOCK_ENTRIES])
    }

    /// The epoch cell of `id`, installing its chunk. Called under the registry's mutex, so
    /// installs never race.
    fn get_or_install(&self, id: i64) -> &AtomicI32 {
        let slot = &self.chunks[id as usize / PRODUCER_BLOCK_ENTRIES];
        if slot.load(Ordering::Acquire).is_null() {
            let chunk = Box::new(EpochChunk {
                epochs: std::array::from_fn(|_| AtomicI32::new(0)),
            });
            slot.store(Box::into_raw(chunk), Ordering::Release);
        }
        self.get(id).expect("installed above")
    }
}

impl Drop for EpochTable {
    fn drop(&mut self) {
        for slot in self.chunks.iter() {
            let chunk = slot.swap(std::ptr::null_mut(), Ordering::Relaxed);
            if !chunk.is_null() {
                // SAFETY: from `Box::into_raw`, freed once, here, with exclusive access.
                drop(unsafe { Box::from_raw(chunk) });
            }
        }
    }
}

/// One appended batch, remembered for deduplication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchRecord {
    /// The producer epoch it was sent with.
    pub epoch: i16,
    /// Its first sequence.
    pub sequence_first: i32,
    /// Its last sequence.
    pub sequence_last: i32,
    /// Where it landed.
    pub base_offset: i64,
    /// The clock when it was appended (the reply's `log_append_time_ms` where that applies).
    pub append_time_ms: i64,
}

/// The state of one producer on one partition, as of one batch: immutable once published.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProducerSnapshot {
    /// The epoch and last sequence of the last batch; `None` before the first.
    last: Option<(i16, i32)>,
    /// The last batches, oldest first, at most [`PRODUCER_BATCHES_RETAINED`].
    batches: Vec<BatchRecord>,
}

/// What the sequence check decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SequenceVerdict {
    /// Append it.
    Append,
    /// Already appended: answer as this batch was answered.
    Duplicate(BatchRecord),
}

impl ProducerSnapshot {
    /// Check 6.4 of produce for a batch of `count` records from `base_sequence` at `epoch`.
    pub fn check_sequence(
        &self,
        epoch: i16,
        base_sequence: i32,
        count: i32,
    ) -> Result<SequenceVerdict, ErrorCode> {
        let sequence_last = base_sequence + (count - 1);
        if let Some(duplicate) = self.batches.iter().find(|b| {
            b.epoch == epoch
                && b.sequence_first == base_sequence
                && b.sequence_last == sequence_last
        }) {
            return Ok(SequenceVerdict::Duplicate(*duplicate));
        }
        let expected = match self.last {
            Some((last_epoch, last_sequence)) if last_epoch >= epoch => last_sequence + 1,
            _ => 0,
        };
        if base_sequence == expected {
            Ok(SequenceVerdict::Append)
        } else {
            Err(ErrorCode::OutOfOrderSequenceNumber)
        }
    }

    /// The snapshot after appending `batch`.
    pub fn with(&self, batch: BatchRecord) -> ProducerSnapshot {
        let mut next = self.clone();
        if next.last.is_some_and(|(epoch, _)| epoch < batch.epoch) {
            // A newer epoch first forgets the older epoch's batches.
            next.batches.clear();
        }
        next.last = Some((batch.epoch, batch.sequence_last));
        if next.batches.len() == PRODUCER_BATCHES_RETAINED {
            next.batches.remove(0);
        }
        next.batches.push(batch);
        next
    }

    /// Where the newest batch it knows landed (-1 before the first): snapshots of one entry
    /// are published in this order.
    fn newest_base_offset(&self) -> i64 {
        self.batches.last().map_or(-1, |b| b.base_offset)
    }
}

/// One producer's entry on one partition: its current snapshot (null before its first batch).
pub struct ProducerEntry {
    snapshot: Atomic<ProducerSnapshot>,
}

impl std::fmt::Debug for ProducerEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProducerEntry").finish_non_exhaustive()
    }
}

impl ProducerEntry {
    /// The current snapshot (the empty one before the first batch).
    pub fn current<'g>(&self, guard: &'g Guard) -> &'g ProducerSnapshot {
        static EMPTY: ProducerSnapshot = ProducerSnapshot {
            last: None,
            batches: Vec::new(),
        };
        let current = self.snapshot.load(Ordering::Acquire, guard);
        // SAFETY: loaded under `guard`; replaced snapshots are retired through the collector.
        unsafe { current.as_ref() }.unwrap_or(&EMPTY)
    }

    /// Publish `next` unless the entry already holds it or a newer snapshot: idempotent, so
    /// every thread completing the batch that carries `next` may call it.
    ///
    /// The CAS compares against a pointer this call loaded under its own guard, never one
    /// remembered from earlier: that pointer cannot be freed (and its address reused) while
    /// the guard is held, so a late completer cannot mistake a newer snapshot for the one it
    /// expected (no ABA).
    ///
    /// # Safety
    /// `next` came from `Box::into_raw`, is carried by exactly one installed batch, and
    /// nobody frees it but the entry.
    pub unsafe fn publish(&self, next: *const ProducerSnapshot, guard: &Guard) {
        // SAFETY: the caller's contract: `next` is live until published and retired.
        let next_base = unsafe { &*next }.newest_base_offset();
        let mut current = self.snapshot.load(Ordering::Acquire, guard);
        loop {
            // SAFETY: loaded under `guard`.
            let current_base = unsafe { current.as_ref() }.map_or(-1, |c| c.newest_base_offset());
            if current_base >= next_base {
                return;
            }
            match self.snapshot.compare_exchange(
                current,
                Shared::from(next),
                Ordering::AcqRel,
                Ordering::Acquire,
                guard,
            ) {
                Ok(_) => {
                    if !current.is_null() {
                        // SAFETY: replaced just now, by this thread alone; readers holding it
                        // are pinned.
                        unsafe { guard.defer_destroy(current) };
                    }
                    return;
                }
                Err(lost) => current = lost.current,
            }
        }
    }
}

struct ProducerBlock {
    entries: Box<[Atomic<ProducerEntry>]>,
}

/// Per-partition producer states. See the module docs.
pub struct ProducerStates {
    blocks: Box<[Atomic<ProducerBlock>]>,
}

impl std::fmt::Debug for ProducerStates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProducerStates").finish_non_exhaustive()
    }
}

impl Default for ProducerStates {
    fn default() -> ProducerStates {
        ProducerStates::new()
    }
}

impl ProducerStates {
    /// No producer has written.
    pub fn new() -> ProducerStates {
        ProducerStates {
            blocks: (0..PRODUCER_BLOCKS).map(|_| Atomic::null()).collect(),
        }
    }

    /// The entry of `producer_id` (an issued id), created if needed.
    pub fn entry<'g>(&self, producer_id: i64, guard: &'g Guard) -> &'g ProducerEntry {
        let id = producer_id as usize;
        debug_assert!(id < PRODUCER_IDS_CAPACITY);
        let block = install(&self.blocks[id / PRODUCER_BLOCK_ENTRIES], guard, || {
            ProducerBlock {
                entries: (0..PRODUCER_BLOCK_ENTRIES)
                    .map(|_| Atomic::null())
                    .collect(),
            }
        });
        install(&block.entries[id % PRODUCER_BLOCK_ENTRIES], guard, || {
            ProducerEntry {
                snapshot: Atomic::null(),
            }
        })
    }
}

/// The value behind `slot`, installing `make()` with one CAS when it is null.
fn install<'g, T>(slot: &Atomic<T>, guard: &'g Guard, make: impl FnOnce() -> T) -> &'g T {
    let current = slot.load(Ordering::Acquire, guard);
    if !current.is_null() {
        // SAFETY: installed pointers are never removed while the owner lives; `guard` pins.
        return unsafe { current.deref() };
    }
    match slot.compare_exchange(
        Shared::null(),
        Owned::new(make()),
        Ordering::AcqRel,
        Ordering::Acquire,
        guard,
    ) {
        // SAFETY: just installed, never removed while the owner lives.
        Ok(installed) => unsafe { installed.deref() },
        // SAFETY: the winner's value, never removed while the owner lives.
        Err(lost) => unsafe { lost.current.deref() },
    }
}

impl Drop for ProducerStates {
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
            for entry in block.entries.iter() {
                let entry = entry.swap(Shared::null(), Ordering::Relaxed, guard);
                if entry.is_null() {
                    continue;
                }
                // SAFETY: exclusively owned by the table.
                let entry = unsafe { entry.into_owned() };
                let snapshot = entry
                    .snapshot
                    .swap(Shared::null(), Ordering::Relaxed, guard);
                if !snapshot.is_null() {
                    // SAFETY: the published snapshot is owned by its entry.
                    drop(unsafe { snapshot.into_owned() });
                }
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// Goal: sequences must follow on, duplicates are recognised, a new epoch restarts at 0.
    #[test]
    fn sequence_rules() {
        let empty = ProducerSnapshot::default();
        assert_eq!(
            empty.check_sequence(0, 1, 1),
            Err(ErrorCode::OutOfOrderSequenceNumber)
        );
        assert_eq!(empty.check_sequence(0, 0, 2), Ok(SequenceVerdict::Append));
        let batch = BatchRecord {
            epoch: 0,
            sequence_first: 0,
            sequence_last: 1,
            base_offset: 7,
            append_time_ms: 0,
        };
        let claimed = empty.with(batch);
        assert_eq!(
            claimed.check_sequence(0, 0, 2),
            Ok(SequenceVerdict::Duplicate(batch))
        );
        assert_eq!(
            claimed.check_sequence(0, 0, 1),
            Err(ErrorCode::OutOfOrderSequenceNumber)
        );
        assert_eq!(claimed.check_sequence(0, 2, 1), Ok(SequenceVerdict::Append));
        assert_eq!(claimed.check_sequence(1, 0, 1), Ok(SequenceVerdict::Append));
        assert_eq!(
            claimed.check_sequence(1, 2, 1),
            Err(ErrorCode::OutOfOrderSequenceNumber)
        );
    }

    /// Goal: ids are issued in order, transactional ids bump their epoch, checks refuse
    /// unknown ids and stale epochs.
    #[test]
    fn registry_issues_and_fences() {
        let registry = ProducerRegistry::new();
        assert_eq!(registry.check(0, 0), Err(ErrorCode::UnknownProducerId));
        assert_eq!(registry.init(None), Ok((0, 0)));
        assert_eq!(registry.init(Some("tx")), Ok((1, 0)));
        assert_eq!(registry.init(Some("tx")), Ok((1, 1)));
        assert_eq!(registry.check(1, 0), Err(ErrorCode::InvalidProducerEpoch));
        assert_eq!(registry.check(1, 1), Ok(()));
        assert_eq!(registry.check(-1, 0), Err(ErrorCode::UnknownProducerId));
        registry
            .epochs
            .get(1)
            .unwrap()
            .store(i32::from(i16::MAX), Ordering::Relaxed);
        assert_eq!(registry.init(Some("tx")), Ok((2, 0)));
        assert_eq!(
            registry.check(1, i16::MAX),
            Err(ErrorCode::InvalidProducerEpoch),
            "an exhausted id is retired"
        );
        assert_eq!(registry.init(Some("tx")), Ok((2, 1)));
    }
}
