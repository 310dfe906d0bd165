//! Retention: which prefix of a partition may go (the eligible log start).
//!
//! The eligible log start is the largest of the log start and what each rule allows
//! (docs/model.md, "Retention"):
//! - time (`retention_ms ≥ 0`): the end of the longest prefix whose every record has
//!   `now_ms - timestamp_ms > retention_ms`;
//! - size (`retention_bytes ≥ 0`): the largest `k` whose suffix `k..high_watermark` still
//!   totals at least `retention_bytes`;
//! - consumed (policy `consumed`): the minimum committed offset of the subscribed groups,
//!   clamped to `log_start..=high_watermark` (computed by the caller, which sees the groups).
//!
//! This module only computes; `Log::advance_log_start` applies (CAS max, then frees whole
//! segments through the epoch collector). The computation reads under one guard against one
//! `(log_start, high_watermark)` snapshot; a concurrent append only adds records after it.

use crossbeam_epoch::Guard;
use streamspec_model::{RetentionPolicy, TopicConfig};

use crate::log::Log;

/// The eligible log start of `log` under `config` at `now_ms`; `consumed_min` is the consumed
/// rule's bound (the minimum committed offset over subscribed groups), when it applies.
pub fn eligible_log_start(
    log: &Log,
    config: &TopicConfig,
    now_ms: i64,
    consumed_min: Option<i64>,
    guard: &Guard,
) -> i64 {
    let (log_start, high_watermark) = log.bounds();
    let retained = (high_watermark - log_start) as usize;
    let mut eligible = log_start;

    if config.retention_ms >= 0 {
        let mut end = log_start;
        let _ = log.read(log_start, retained, guard, |_, segment, slot| {
            // SAFETY: `read` calls back only for published slots of a guarded segment.
            let timestamp_ms = unsafe { segment.timestamp_ms(slot) };
            let expired = now_ms.saturating_sub(timestamp_ms) > config.retention_ms;
            if expired {
                end += 1;
            }
            expired
        });
        eligible = eligible.max(end);
    }

    if config.retention_bytes >= 0 {
        let retention_bytes = config.retention_bytes as u64;
        let mut sizes = Vec::with_capacity(retained);
        let _ = log.read_views(log_start, retained, guard, |_, view| {
            sizes.push(view.size_bytes());
            true
        });
        let mut suffix_bytes: u64 = sizes.iter().sum();
        if suffix_bytes >= retention_bytes {
            // Walk k forward while the suffix from k + 1 still holds retention_bytes.
            let mut k = log_start;
            for size in &sizes {
                if suffix_bytes - size < retention_bytes {
                    break;
                }
                suffix_bytes -= size;
                k += 1;
            }
            eligible = eligible.max(k);
        }
    }

    if config.retention_policy == RetentionPolicy::Consumed {
        if let Some(committed_min) = consumed_min {
            eligible = eligible.max(committed_min.clamp(log_start, high_watermark));
        }
    }
    debug_assert!(log_start <= eligible && eligible <= high_watermark);
    eligible
}
