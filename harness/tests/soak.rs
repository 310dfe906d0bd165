//! The soak accounts for every acknowledged record, and its accounting catches the bugs it
//! exists to catch.
//!
//! Method: short soaks (about a second) against the model behind a lock must pass with
//! records produced, read and removed by retention; the same soak against wrappers with a
//! planted bug (a produce acknowledged but never appended; retention that removes records no
//! group has read) must fail naming the problem. Memory is checked through its own unit
//! tests: a test process's resident memory is shared with the other tests running beside it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use streamspec::reference::Locked;
use streamspec::soak::{soak, EngineTarget, SoakConfig, SoakReport, TOPIC_CONSUMED};
use streamspec::target::ConcurrentTarget;
use streamspec_model::Model;
use streamspec_model::{Op, Reply, Ret};

fn short() -> SoakConfig {
    SoakConfig {
        duration: Duration::from_millis(1_200),
        sample_interval: Duration::from_millis(300),
        drain_timeout: Duration::from_secs(20),
        // Small enough that retention is in force within the second.
        backlog_records_max: 400,
        retention_bytes: 400 * streamspec::soak::RECORD_SIZE_BYTES,
        ..SoakConfig::default()
    }
}

fn run(target: &dyn ConcurrentTarget) -> SoakReport {
    soak(target, &short(), &mut |_| {})
}

#[test]
fn the_engine_soaks_clean_with_retention_in_force() {
    let report = run(&EngineTarget::new());
    assert!(report.passed(), "{:?}", report.failures);
    assert!(report.acked_records > 1_000, "{report:?}");
    assert!(
        report.removed_records > 0,
        "retention never ran: {report:?}"
    );
    assert!(report.duplicates_checked > 0, "{report:?}");
}

#[test]
fn the_model_soaks_clean_with_retention_in_force() {
    let report = run(&Locked::model());
    assert!(report.passed(), "{:?}", report.failures);
    assert!(report.acked_records > 1_000, "{report:?}");
    assert!(report.read_records >= report.acked_records, "{report:?}");
    assert!(
        report.removed_records > 0,
        "retention never ran: {report:?}"
    );
    assert!(report.duplicates_checked > 0, "{report:?}");
    assert!(report.rejoins > 0, "{report:?}");
    assert!(report.samples.len() >= 3, "{:?}", report.samples);
}

/// Every 50th produce to the consumed topic is acknowledged but never appended.
struct LosesAcknowledgedRecords {
    model: Locked<Model>,
    produces: AtomicU64,
}

impl ConcurrentTarget for LosesAcknowledgedRecords {
    fn name(&self) -> String {
        "loses-records".to_owned()
    }

    fn apply(&self, op: &Op) -> Ret {
        if let Op::Produce {
            topic, partition, ..
        } = op
        {
            if topic == TOPIC_CONSUMED && self.produces.fetch_add(1, Ordering::SeqCst) % 50 == 49 {
                // Claim the batch landed at the high watermark, and drop it.
                let latest = self.model.apply(&Op::ListOffsets {
                    topic: topic.clone(),
                    partition: partition.unwrap_or(0),
                    spec: streamspec_model::OffsetSpec::Latest,
                });
                if let Ok(Reply::ListedOffset {
                    offset: Some(base_offset),
                    ..
                }) = latest
                {
                    return Ok(Reply::Produced {
                        partition: partition.unwrap_or(0),
                        base_offset,
                        log_append_time_ms: None,
                    });
                }
            }
        }
        self.model.apply(op)
    }
}

#[test]
fn a_lost_acknowledged_record_fails_the_soak() {
    let report = run(&LosesAcknowledgedRecords {
        model: Locked::model(),
        produces: AtomicU64::new(0),
    });
    // Which check sees the dropped batch first depends on the interleaving: usually
    // idempotence (the producer's next batch is out of order), but another producer may land
    // a batch at the offsets already acknowledged for the dropped one first, or the drop may
    // be a producer's last batch, which only the end-of-run accounting sees; or the retry of
    // a batch the drop shifted answers other offsets.
    let names_the_loss = |f: &String| {
        f.contains("OutOfOrderSequenceNumber")
            || f.contains("acknowledged twice")
            || f.contains("a record lost")
            || f.contains("retry of the batch")
    };
    assert!(
        report.failures.iter().any(names_the_loss),
        "{:?}",
        report.failures
    );
}

/// Every 100th produce also appends a record nobody acknowledged (a well-formed value from
/// a producer that does not exist, so only the end-of-run accounting can notice).
struct AppendsUnacknowledgedRecords {
    model: Locked<Model>,
    produces: AtomicU64,
}

impl ConcurrentTarget for AppendsUnacknowledgedRecords {
    fn name(&self) -> String {
        "phantom-records".to_owned()
    }

    fn apply(&self, op: &Op) -> Ret {
        let ret = self.model.apply(op);
        if let Op::Produce {
            topic, partition, ..
        } = op
        {
            let count = self.produces.fetch_add(1, Ordering::SeqCst);
            if count % 100 == 99 {
                let mut value = format!("9999-{count:020}").into_bytes();
                value.resize(streamspec::soak::RECORD_VALUE_BYTES, b'.');
                let _ = self.model.apply(&Op::Produce {
                    topic: topic.clone(),
                    partition: *partition,
                    records: vec![streamspec_model::Record::value(value)],
                    producer: None,
                });
            }
        }
        ret
    }
}

#[test]
fn an_unacknowledged_record_in_the_log_fails_the_accounting() {
    let report = run(&AppendsUnacknowledgedRecords {
        model: Locked::model(),
        produces: AtomicU64::new(0),
    });
    assert!(
        report
            .failures
            .iter()
            .any(|f| f.contains("a record lost or never acknowledged")),
        "{:?}",
        report.failures
    );
}

/// Retention that, every 10th time, also removes everything on consumed partition 0,
/// read or not.
struct RemovesUnreadRecords {
    model: Locked<Model>,
    enforcements: AtomicU64,
}

impl ConcurrentTarget for RemovesUnreadRecords {
    fn name(&self) -> String {
        "over-eager-retention".to_owned()
    }

    fn apply(&self, op: &Op) -> Ret {
        if matches!(op, Op::EnforceRetention)
            && self.enforcements.fetch_add(1, Ordering::SeqCst) % 10 == 9
        {
            let _ = self.model.apply(&Op::DeleteRecords {
                topic: TOPIC_CONSUMED.to_owned(),
                partition: 0,
                offset: -1,
            });
        }
        self.model.apply(op)
    }
}

#[test]
fn retention_removing_unread_records_fails_the_soak() {
    let report = run(&RemovesUnreadRecords {
        model: Locked::model(),
        enforcements: AtomicU64::new(0),
    });
    assert!(!report.passed());
    assert!(
        report
            .failures
            .iter()
            .any(|f| f.contains("never read") && f.contains(TOPIC_CONSUMED)),
        "{:?}",
        report.failures
    );
}
