//! One partition's log: records at dense offsets from the log start to the high watermark,
//! and the idempotent-producer state that partition keeps.
//!
//! Appends happen only at the high watermark; removal happens only at the head, by advancing
//! the log start offset. Nothing else ever changes a stored record.

use std::collections::{BTreeMap, VecDeque};

use crate::producer::ProducerPartitionState;
use crate::record::StoredRecord;

/// A partition's log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PartitionLog {
    /// The offset of the first retained record (Kafka's log start offset).
    /// Invariant (`log_start_within_high_watermark`): `0 ≤ log_start_offset ≤ high_watermark`.
    pub(crate) log_start_offset: i64,
    /// The offset the next appended record gets.
    pub(crate) high_watermark: i64,
    /// The retained records. Invariant (`offsets_dense`): `records[i].offset ==
    /// log_start_offset + i` and `records.len() == high_watermark - log_start_offset`.
    pub(crate) records: VecDeque<StoredRecord>,
    /// Idempotence state per producer id.
    pub(crate) producers: BTreeMap<i64, ProducerPartitionState>,
}

impl PartitionLog {
    /// An empty partition: log start 0, high watermark 0.
    pub fn new() -> PartitionLog {
        PartitionLog::default()
    }

    /// The offset of the first retained record.
    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    /// The offset the next record will get.
    pub fn high_watermark(&self) -> i64 {
        self.high_watermark
    }

    /// The retained records, in offset order.
    pub fn records(&self) -> impl Iterator<Item = &StoredRecord> {
        self.records.iter()
    }

    /// The record at `offset`, if retained.
    pub fn record(&self, offset: i64) -> Option<&StoredRecord> {
        let index = usize::try_from(offset.checked_sub(self.log_start_offset)?).ok()?;
        self.records.get(index)
    }

    /// The retained records from `offset` on, in offset order (none if `offset` is outside
    /// `log_start_offset..high_watermark`).
    pub fn records_from(&self, offset: i64) -> impl Iterator<Item = &StoredRecord> {
        let skip = offset
            .checked_sub(self.log_start_offset)
            .and_then(|i| usize::try_from(i).ok())
            .unwrap_or(usize::MAX);
        self.records.iter().skip(skip)
    }

    /// Appends records at the high watermark, assigning each its offset. Returns the base
    /// offset. `records` carry their final timestamps; their `offset` fields are overwritten.
    pub fn append(&mut self, records: impl IntoIterator<Item = StoredRecord>) -> i64 {
        let base_offset = self.high_watermark;
        for mut record in records {
            record.offset = self.high_watermark;
            self.records.push_back(record);
            self.high_watermark += 1;
        }
        base_offset
    }

    /// Advances the log start to `offset`, removing the records before it. An `offset` at or
    /// below the log start changes nothing; one above the high watermark is clamped to it (the
    /// callers check the range first; the clamp keeps the invariant whatever they pass).
    pub fn advance_log_start(&mut self, offset: i64) {
        let offset = offset.min(self.high_watermark);
        while self.log_start_offset < offset {
            self.records.pop_front();
            self.log_start_offset += 1;
        }
    }

    /// Fetch semantics: records from `offset` in offset order, the first always, then each
    /// next while the count stays ≤ `max_records` and the running size ≤ `max_bytes`.
    pub fn read(&self, offset: i64, max_records: usize, max_bytes: u64) -> Vec<StoredRecord> {
        let mut taken = Vec::new();
        let mut size_bytes: u64 = 0;
        for record in self.records_from(offset).take(max_records) {
            size_bytes = size_bytes.saturating_add(record.size_bytes());
            if !taken.is_empty() && size_bytes > max_bytes {
                break;
            }
            taken.push(record.clone());
        }
        taken
    }

    /// The first retained record whose timestamp is at or after `timestamp_ms`.
    pub fn first_at_or_after(&self, timestamp_ms: i64) -> Option<&StoredRecord> {
        self.records.iter().find(|r| r.timestamp_ms >= timestamp_ms)
    }

    /// The retained record with the largest timestamp, the lowest offset on a tie.
    pub fn max_timestamp(&self) -> Option<&StoredRecord> {
        // `max_by_key` keeps the last maximum; reversing makes that the lowest offset.
        self.records.iter().rev().max_by_key(|r| r.timestamp_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RECORD_OVERHEAD_BYTES;

    fn stored(value: &str, timestamp_ms: i64) -> StoredRecord {
        StoredRecord {
            offset: -1,
            timestamp_ms,
            key: None,
            value: Some(value.into()),
            headers: vec![],
        }
    }

    fn log_of(values: &[(&str, i64)]) -> PartitionLog {
        let mut log = PartitionLog::new();
        log.append(values.iter().map(|(v, t)| stored(v, *t)));
        log
    }

    fn offsets(records: &[StoredRecord]) -> Vec<i64> {
        records.iter().map(|r| r.offset).collect()
    }

    #[test]
    fn appends_are_dense_from_the_high_watermark() {
        let mut log = log_of(&[("a", 0), ("b", 0)]);
        assert_eq!(log.append([stored("c", 0)]), 2);
        assert_eq!(log.high_watermark(), 3);
        assert_eq!(
            log.records().map(|r| r.offset).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        assert_eq!(log.record(2).unwrap().value, Some("c".into()));
        assert_eq!(log.record(3), None);
        assert_eq!(log.record(-1), None);
    }

    #[test]
    fn advancing_the_log_start_removes_a_prefix_only() {
        let mut log = log_of(&[("a", 0), ("b", 0), ("c", 0)]);
        log.advance_log_start(2);
        assert_eq!(log.log_start_offset(), 2);
        assert_eq!(log.record(1), None);
        assert_eq!(log.record(2).unwrap().value, Some("c".into()));
        log.advance_log_start(1);
        assert_eq!(log.log_start_offset(), 2, "never backwards");
        log.advance_log_start(99);
        assert_eq!(log.log_start_offset(), 3, "clamped to the high watermark");
        assert_eq!(log.high_watermark(), 3);
        assert_eq!(log.records().count(), 0);
        assert_eq!(log.append([stored("d", 0)]), 3);
    }

    #[test]
    fn read_returns_the_first_record_even_when_too_large() {
        let log = log_of(&[("aaaa", 0), ("b", 0), ("c", 0)]);
        assert_eq!(offsets(&log.read(0, 10, 1)), [0]);
        let one = RECORD_OVERHEAD_BYTES + 1;
        assert_eq!(offsets(&log.read(1, 10, 2 * one)), [1, 2]);
        assert_eq!(offsets(&log.read(1, 10, 2 * one - 1)), [1]);
        assert_eq!(offsets(&log.read(0, 2, u64::MAX)), [0, 1]);
        assert_eq!(offsets(&log.read(3, 10, u64::MAX)), Vec::<i64>::new());
    }

    #[test]
    fn timestamp_lookups_scan_retained_records() {
        let mut log = log_of(&[("a", 5), ("b", 9), ("c", 7), ("d", 9)]);
        assert_eq!(log.first_at_or_after(6).unwrap().offset, 1);
        assert_eq!(log.first_at_or_after(10), None);
        assert_eq!(
            log.max_timestamp().unwrap().offset,
            1,
            "lowest offset on a tie"
        );
        log.advance_log_start(2);
        assert_eq!(log.first_at_or_after(0).unwrap().offset, 2);
        assert_eq!(log.max_timestamp().unwrap().offset, 3);
        log.advance_log_start(4);
        assert_eq!(log.max_timestamp(), None);
    }
}
