//! Idempotent producers: issued ids and epochs, and per-partition sequence state.
//!
//! [`Producers`] issues producer ids (`init_producer_id`) and remembers each id's current
//! epoch and each transactional id's producer id. [`ProducerPartitionState`] is what one
//! partition remembers about one producer id: the epoch of its last batch, its last sequence,
//! and its last [`PRODUCER_BATCHES_RETAINED`] batches, from which a retried batch is recognised
//! as a duplicate (Kafka's `ProducerStateEntry`).

use std::collections::{BTreeMap, VecDeque};

use crate::config::{ID_LENGTH_MAX, PRODUCERS_COUNT_MAX, PRODUCER_BATCHES_RETAINED};
use crate::error::ErrorCode;

/// The producer ids issued so far and their epochs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Producers {
    /// The current epoch of producer id `i` at index `i`. `None` marks an id retired because
    /// its transactional id's epoch ran out (`i16::MAX`): every batch naming it is fenced.
    epochs: Vec<Option<i16>>,
    /// The producer id each transactional id was last given.
    transactional_ids: BTreeMap<String, i64>,
}

impl Producers {
    /// `init_producer_id`: a producer id and epoch, per docs/model.md.
    pub fn init(&mut self, transactional_id: Option<&str>) -> Result<(i64, i16), ErrorCode> {
        if let Some(id) = transactional_id {
            if id.is_empty() || id.len() > ID_LENGTH_MAX {
                return Err(ErrorCode::InvalidRequest);
            }
        }
        let known = transactional_id.and_then(|id| self.transactional_ids.get(id).copied());
        // The epoch a known transactional id would be bumped to, if it does not overflow.
        let bumped = known.and_then(|producer_id| {
            self.epoch(producer_id)
                .and_then(|epoch| epoch.checked_add(1))
                .map(|epoch| (producer_id, epoch))
        });
        if let Some((producer_id, epoch)) = bumped {
            self.epochs[producer_id as usize] = Some(epoch);
            return Ok((producer_id, epoch));
        }
        // A fresh id is needed: first use, no transactional id, or an exhausted epoch.
        if self.epochs.len() >= PRODUCERS_COUNT_MAX {
            return Err(ErrorCode::PolicyViolation);
        }
        if let Some(exhausted) = known {
            self.epochs[exhausted as usize] = None;
        }
        let producer_id = self.epochs.len() as i64;
        self.epochs.push(Some(0));
        if let Some(id) = transactional_id {
            self.transactional_ids.insert(id.to_owned(), producer_id);
        }
        Ok((producer_id, 0))
    }

    /// Whether `producer_id` was ever issued.
    pub fn is_issued(&self, producer_id: i64) -> bool {
        usize::try_from(producer_id).is_ok_and(|i| i < self.epochs.len())
    }

    /// The current epoch of an issued, not retired producer id.
    pub fn epoch(&self, producer_id: i64) -> Option<i16> {
        usize::try_from(producer_id)
            .ok()
            .and_then(|i| self.epochs.get(i).copied().flatten())
    }

    /// How many producer ids were issued.
    pub fn issued_count(&self) -> usize {
        self.epochs.len()
    }
}

/// A batch a partition remembers for deduplication.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RetainedBatch {
    /// The sequence of its first record.
    pub first_sequence: i32,
    /// The sequence of its last record.
    pub last_sequence: i32,
    /// The offset of its first record.
    pub base_offset: i64,
    /// The log append time its reply carried (`None` for `create_time` topics).
    pub log_append_time_ms: Option<i64>,
}

/// What one partition remembers about one producer id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProducerPartitionState {
    /// The epoch of the last appended batch.
    pub epoch: i16,
    /// The sequence of the last appended record.
    pub last_sequence: i32,
    /// The last appended batches of `epoch`, oldest first, at most
    /// [`PRODUCER_BATCHES_RETAINED`].
    pub batches: VecDeque<RetainedBatch>,
}

/// What a sequence check decided for a batch that passed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SequenceVerdict {
    /// A retry of a retained batch: reply as it did, append nothing.
    Duplicate(RetainedBatch),
    /// The next batch in sequence: append it.
    Append,
}

/// Step 6.4 of produce: is a batch of `count` records with `epoch` (the producer id's current
/// epoch) and `base_sequence` a duplicate, the next in sequence, or out of order?
///
/// `count ≥ 1` and `base_sequence + count - 1 ≤ i32::MAX` were checked before.
pub fn check_sequence(
    state: Option<&ProducerPartitionState>,
    epoch: i16,
    base_sequence: i32,
    count: i32,
) -> Result<SequenceVerdict, ErrorCode> {
    let last_sequence = base_sequence + (count - 1);
    match state {
        Some(state) if state.epoch == epoch => {
            let duplicate = state.batches.iter().find(|batch| {
                batch.first_sequence == base_sequence && batch.last_sequence == last_sequence
            });
            if let Some(batch) = duplicate {
                Ok(SequenceVerdict::Duplicate(*batch))
            } else if i64::from(base_sequence) == i64::from(state.last_sequence) + 1 {
                Ok(SequenceVerdict::Append)
            } else {
                Err(ErrorCode::OutOfOrderSequenceNumber)
            }
        }
        // No state yet, or an older epoch: a new epoch starts at sequence 0.
        _ if base_sequence == 0 => Ok(SequenceVerdict::Append),
        _ => Err(ErrorCode::OutOfOrderSequenceNumber),
    }
}

impl ProducerPartitionState {
    /// The state before the first batch of `epoch`.
    pub fn new(epoch: i16) -> ProducerPartitionState {
        ProducerPartitionState {
            epoch,
            last_sequence: -1,
            batches: VecDeque::new(),
        }
    }

    /// Records an appended batch of `epoch`, forgetting older epochs' batches first.
    pub fn record(&mut self, epoch: i16, batch: RetainedBatch) {
        if self.epoch != epoch {
            *self = ProducerPartitionState::new(epoch);
        }
        self.last_sequence = batch.last_sequence;
        if self.batches.len() == PRODUCER_BATCHES_RETAINED {
            self.batches.pop_front();
        }
        self.batches.push_back(batch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(first: i32, last: i32, base_offset: i64) -> RetainedBatch {
        RetainedBatch {
            first_sequence: first,
            last_sequence: last,
            base_offset,
            log_append_time_ms: None,
        }
    }

    #[test]
    fn ids_are_issued_in_order_with_epoch_zero() {
        let mut producers = Producers::default();
        assert_eq!(producers.init(None), Ok((0, 0)));
        assert_eq!(producers.init(None), Ok((1, 0)));
        assert!(producers.is_issued(1));
        assert!(!producers.is_issued(2));
        assert!(!producers.is_issued(-1));
        assert_eq!(producers.issued_count(), 2);
    }

    #[test]
    fn a_transactional_id_keeps_its_producer_id_and_bumps_the_epoch() {
        let mut producers = Producers::default();
        assert_eq!(producers.init(Some("tx")), Ok((0, 0)));
        assert_eq!(producers.init(None), Ok((1, 0)));
        assert_eq!(producers.init(Some("tx")), Ok((0, 1)));
        assert_eq!(producers.epoch(0), Some(1));
        assert_eq!(producers.init(Some("other")), Ok((2, 0)));
    }

    #[test]
    fn an_exhausted_epoch_gives_a_fresh_id_and_retires_the_old_one() {
        let mut producers = Producers::default();
        assert_eq!(producers.init(Some("tx")), Ok((0, 0)));
        producers.epochs[0] = Some(i16::MAX);
        assert_eq!(producers.init(Some("tx")), Ok((1, 0)));
        assert!(producers.is_issued(0));
        assert_eq!(producers.epoch(0), None, "the old id is fenced");
        assert_eq!(producers.init(Some("tx")), Ok((1, 1)));
    }

    #[test]
    fn bad_transactional_ids_are_invalid_requests() {
        let mut producers = Producers::default();
        assert_eq!(producers.init(Some("")), Err(ErrorCode::InvalidRequest));
        let long = "x".repeat(ID_LENGTH_MAX + 1);
        assert_eq!(producers.init(Some(&long)), Err(ErrorCode::InvalidRequest));
        assert!(producers.init(Some(&"x".repeat(ID_LENGTH_MAX))).is_ok());
        assert_eq!(producers.issued_count(), 1, "refusals issue nothing");
    }

    #[test]
    fn issuing_stops_at_the_limit_but_known_transactional_ids_still_bump() {
        let mut producers = Producers::default();
        assert_eq!(producers.init(Some("tx")), Ok((0, 0)));
        producers.epochs.resize(PRODUCERS_COUNT_MAX, Some(0));
        assert_eq!(producers.init(None), Err(ErrorCode::PolicyViolation));
        assert_eq!(producers.init(Some("new")), Err(ErrorCode::PolicyViolation));
        assert_eq!(producers.init(Some("tx")), Ok((0, 1)));
        producers.epochs[0] = Some(i16::MAX);
        assert_eq!(producers.init(Some("tx")), Err(ErrorCode::PolicyViolation));
        assert_eq!(
            producers.epoch(0),
            Some(i16::MAX),
            "a refusal retires nothing"
        );
    }

    #[test]
    fn a_new_epoch_must_start_at_sequence_zero() {
        assert_eq!(check_sequence(None, 0, 0, 3), Ok(SequenceVerdict::Append));
        assert_eq!(
            check_sequence(None, 0, 1, 3),
            Err(ErrorCode::OutOfOrderSequenceNumber)
        );
        let mut state = ProducerPartitionState::new(0);
        state.record(0, batch(0, 2, 0));
        assert_eq!(
            check_sequence(Some(&state), 1, 0, 1),
            Ok(SequenceVerdict::Append)
        );
        assert_eq!(
            check_sequence(Some(&state), 1, 3, 1),
            Err(ErrorCode::OutOfOrderSequenceNumber)
        );
    }

    #[test]
    fn the_next_batch_follows_the_last_sequence_and_retries_are_duplicates() {
        let mut state = ProducerPartitionState::new(0);
        state.record(0, batch(0, 2, 10));
        state.record(0, batch(3, 3, 13));
        assert_eq!(state.last_sequence, 3);
        assert_eq!(
            check_sequence(Some(&state), 0, 4, 2),
            Ok(SequenceVerdict::Append)
        );
        assert_eq!(
            check_sequence(Some(&state), 0, 0, 3),
            Ok(SequenceVerdict::Duplicate(batch(0, 2, 10)))
        );
        // Same first sequence but a different length is not the same batch.
        assert_eq!(
            check_sequence(Some(&state), 0, 0, 2),
            Err(ErrorCode::OutOfOrderSequenceNumber)
        );
        assert_eq!(
            check_sequence(Some(&state), 0, 5, 1),
            Err(ErrorCode::OutOfOrderSequenceNumber)
        );
    }

    #[test]
    fn only_the_last_five_batches_are_remembered() {
        let mut state = ProducerPartitionState::new(0);
        for i in 0..6 {
            state.record(0, batch(i, i, i64::from(i)));
        }
        assert_eq!(state.batches.len(), PRODUCER_BATCHES_RETAINED);
        assert_eq!(
            check_sequence(Some(&state), 0, 1, 1),
            Ok(SequenceVerdict::Duplicate(batch(1, 1, 1)))
        );
        assert_eq!(
            check_sequence(Some(&state), 0, 0, 1),
            Err(ErrorCode::OutOfOrderSequenceNumber),
            "batch 0 fell out of the window"
        );
    }

    #[test]
    fn a_new_epoch_forgets_the_old_batches() {
        let mut state = ProducerPartitionState::new(0);
        state.record(0, batch(0, 0, 0));
        state.record(1, batch(0, 1, 1));
        assert_eq!(state.epoch, 1);
        assert_eq!(state.batches, VecDeque::from([batch(0, 1, 1)]));
    }
}
