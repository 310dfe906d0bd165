//! Retention: how far each rule lets a partition's log start advance.
//!
//! Retention only ever removes a prefix. Each rule below returns the offset up to which it
//! allows removal (never below the log start); the **eligible log start** is the largest of
//! them ([`eligible_log_start`]). An implementation may stop anywhere between the old log start
//! and the eligible log start (docs/model.md, "Retention", **Allowed**).

use crate::config::{RetentionPolicy, TopicConfig};
use crate::partition::PartitionLog;

/// The **time** rule (`retention_ms ≥ 0`): the end of the longest prefix, from the log start,
/// in which every record has `now_ms - timestamp_ms > retention_ms`. `-1` allows nothing.
pub fn time_rule(log: &PartitionLog, retention_ms: i64, now_ms: i64) -> i64 {
    if retention_ms < 0 {
        return log.log_start_offset();
    }
    let expired = log
        .records()
        .take_while(|r| now_ms - r.timestamp_ms > retention_ms)
        .count();
    log.log_start_offset() + expired as i64
}

/// The **size** rule (`retention_bytes ≥ 0`): the largest `k ≤ high_watermark` such that the
/// records at `k..high_watermark` total at least `retention_bytes`. `-1` allows nothing, and so
/// does a partition whose retained records total less than `retention_bytes`.
pub fn size_rule(log: &PartitionLog, retention_bytes: i64) -> i64 {
    let Ok(retention_bytes) = u64::try_from(retention_bytes) else {
        return log.log_start_offset();
    };
    if retention_bytes == 0 {
        return log.high_watermark();
    }
    // Walk back from the high watermark until the suffix holds retention_bytes.
    let mut suffix_bytes: u64 = 0;
    let mut k = log.high_watermark();
    for record in log.records.iter().rev() {
        suffix_bytes = suffix_bytes.saturating_add(record.size_bytes());
        k -= 1;
        if suffix_bytes >= retention_bytes {
            return k;
        }
    }
    log.log_start_offset()
}

/// The **consumed** rule (policy `consumed` only). `committed` holds, for each group
/// subscribed to the topic, its committed offset for this partition (0 where none); no
/// subscribed group allows nothing. Otherwise their minimum, clamped to
/// `log_start_offset..=high_watermark`.
pub fn consumed_rule(log: &PartitionLog, committed: impl IntoIterator<Item = i64>) -> i64 {
    match committed.into_iter().min() {
        None => log.log_start_offset(),
        Some(offset) => offset.clamp(log.log_start_offset(), log.high_watermark()),
    }
}

/// The eligible log start of a partition of a topic with `config`: the largest of its log
/// start and what each rule allows. `consumed` is as for [`consumed_rule`], and is consulted
/// only under [`RetentionPolicy::Consumed`].
pub fn eligible_log_start(
    log: &PartitionLog,
    config: &TopicConfig,
    now_ms: i64,
    consumed: impl IntoIterator<Item = i64>,
) -> i64 {
    let mut eligible = log.log_start_offset();
    eligible = eligible.max(time_rule(log, config.retention_ms, now_ms));
    eligible = eligible.max(size_rule(log, config.retention_bytes));
    if config.retention_policy == RetentionPolicy::Consumed {
        eligible = eligible.max(consumed_rule(log, consumed));
    }
    eligible
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{StoredRecord, RECORD_OVERHEAD_BYTES};

    /// A log whose records have these timestamps and each a 4-byte value.
    fn log_of(timestamps_ms: &[i64]) -> PartitionLog {
        let mut log = PartitionLog::new();
        log.append(timestamps_ms.iter().map(|&t| StoredRecord {
            offset: -1,
            timestamp_ms: t,
            key: None,
            value: Some("four".into()),
            headers: vec![],
        }));
        log
    }

    const RECORD_BYTES: i64 = RECORD_OVERHEAD_BYTES as i64 + 4;

    #[test]
    fn time_rule_stops_at_the_first_record_not_old_enough() {
        let log = log_of(&[0, 50, 10, 100]);
        // now 100: the ages are 100, 50, 90, 0. Retention 40: the first three are older.
        assert_eq!(time_rule(&log, 40, 100), 3);
        // retention 60: offset 1 has age 50, not > 60: the prefix stops there.
        assert_eq!(time_rule(&log, 60, 100), 1);
        // "older than" is strict: age exactly retention_ms stays.
        assert_eq!(time_rule(&log, 100, 100), 0);
        assert_eq!(time_rule(&log, -1, 1_000_000), 0);
        assert_eq!(time_rule(&log, 0, 1_000), 4);
    }

    #[test]
    fn size_rule_keeps_at_least_retention_bytes() {
        let log = log_of(&[0, 0, 0, 0]);
        assert_eq!(size_rule(&log, -1), 0);
        assert_eq!(size_rule(&log, 0), 4, "0 makes every record eligible");
        assert_eq!(size_rule(&log, 1), 3);
        assert_eq!(size_rule(&log, RECORD_BYTES), 3);
        assert_eq!(size_rule(&log, RECORD_BYTES + 1), 2);
        assert_eq!(size_rule(&log, 4 * RECORD_BYTES), 0);
        assert_eq!(
            size_rule(&log, 4 * RECORD_BYTES + 1),
            0,
            "too little to trim"
        );
        let mut trimmed = log.clone();
        trimmed.advance_log_start(3);
        assert_eq!(
            size_rule(&trimmed, 4 * RECORD_BYTES),
            3,
            "never below the log start"
        );
    }

    #[test]
    fn consumed_rule_is_the_slowest_subscribed_group_clamped_to_the_log() {
        let mut log = log_of(&[0, 0, 0, 0]);
        assert_eq!(
            consumed_rule(&log, []),
            0,
            "no subscribed group allows nothing"
        );
        assert_eq!(consumed_rule(&log, [3, 2]), 2);
        assert_eq!(consumed_rule(&log, [9]), 4, "clamped to the high watermark");
        log.advance_log_start(3);
        assert_eq!(consumed_rule(&log, [1]), 3, "clamped to the log start");
    }

    #[test]
    fn eligible_is_the_largest_rule_and_consumed_applies_only_to_its_policy() {
        let log = log_of(&[0, 0, 100, 100]);
        let delete = TopicConfig {
            retention_ms: 50,
            retention_bytes: -1,
            ..TopicConfig::default()
        };
        assert_eq!(eligible_log_start(&log, &delete, 100, [4]), 2);
        let consumed = TopicConfig {
            retention_policy: RetentionPolicy::Consumed,
            ..delete.clone()
        };
        assert_eq!(eligible_log_start(&log, &consumed, 100, [3]), 3);
        assert_eq!(eligible_log_start(&log, &consumed, 100, [1]), 2);
        let sized = TopicConfig {
            retention_bytes: RECORD_BYTES,
            ..consumed
        };
        assert_eq!(eligible_log_start(&log, &sized, 100, [1]), 3);
    }
}
