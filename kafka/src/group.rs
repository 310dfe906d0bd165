//! Group mode, natively: librdkafka consumers that subscribe, poll and commit through the
//! consumer group protocol, with every assignment, revocation, delivered record and commit
//! recorded as a [`GroupEvent`](crate::history::GroupEvent).
//!
//! The model's `join_group`/`poll` ops name member ids and generations, which librdkafka
//! keeps to itself (the broker chooses the member id; the generation is never exposed), so
//! group mode cannot be driven op by op. Instead each member runs the loop a real
//! application runs, and [`crate::check`] judges what it observed: records as the log has
//! them, in order within an assignment, each partition owned by one member at a time,
//! consumption resuming at the committed offset, and commits read back.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::Message;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use streamspec_model::TopicPartition;

use crate::broker::client_config;
use crate::error::AdapterError;
use crate::history::{GroupObservation, Recorder};
use crate::namespace::Namespace;

/// How long one poll waits for a record.
const POLL_MS: u64 = 100;
/// A member commits its positions after this many records (or when it is stopped).
const COMMIT_EVERY_RECORDS: usize = 5;

/// One group member's part in a workload.
#[derive(Clone, Debug)]
pub struct MemberPlan {
    /// The group id (model name; the broker's has the run's prefix).
    pub group: String,
    /// The member's name (librdkafka's `client.id`; the broker chooses the member id).
    pub member: String,
    /// Topics it subscribes to (model names).
    pub topics: Vec<String>,
    /// When it joins, after the workload starts.
    pub join_after: Duration,
    /// When it leaves, after the workload starts (a leave starts a rebalance).
    pub leave_after: Duration,
}

struct MemberContext {
    recorder: Arc<Recorder>,
    names: Namespace,
    group: String,
    member: String,
}

impl MemberContext {
    fn partitions(&self, list: &TopicPartitionList) -> Vec<TopicPartition> {
        let mut partitions: Vec<TopicPartition> = list
            .elements()
            .iter()
            .map(|e| TopicPartition::new(self.names.model_topic(e.topic()), e.partition()))
            .collect();
        partitions.sort();
        partitions
    }
}

impl ClientContext for MemberContext {}

impl ConsumerContext for MemberContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(list) = rebalance {
            let partitions = self.partitions(list);
            self.recorder.push_group(
                &self.group,
                &self.member,
                GroupObservation::Revoked(partitions),
            );
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(list) = rebalance {
            let partitions = self.partitions(list);
            self.recorder.push_group(
                &self.group,
                &self.member,
                GroupObservation::Assigned(partitions),
            );
        }
    }
}

/// Run one member until its plan says it leaves, `stop` is set, or `deadline` passes.
/// Returns an adapter error if the consumer could not be created or subscribed.
pub fn run_member(
    bootstrap: &str,
    names: &Namespace,
    recorder: &Arc<Recorder>,
    plan: &MemberPlan,
    started: Instant,
    stop: &AtomicBool,
) -> Result<(), AdapterError> {
    let join_at = started + plan.join_after;
    while Instant::now() < join_at {
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(POLL_MS));
    }
    let context = MemberContext {
        recorder: Arc::clone(recorder),
        names: names.clone(),
        group: plan.group.clone(),
        member: plan.member.clone(),
    };
    let mut config = client_config(bootstrap, 10_000);
    config
        .set("group.id", names.group(&plan.group))
        .set("client.id", &plan.member)
        .set("partition.assignment.strategy", "range")
        .set("session.timeout.ms", "10000")
        .set("heartbeat.interval.ms", "1000")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", POLL_MS.to_string());
    let consumer: BaseConsumer<MemberContext> = config
        .create_with_context(context)
        .map_err(|e| AdapterError::client("Consumer", e.to_string()))?;
    let topics: Vec<String> = plan.topics.iter().map(|t| names.topic(t)).collect();
    let topic_refs: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer
        .subscribe(&topic_refs)
        .map_err(|e| AdapterError::client("JoinGroup (subscribe)", e.to_string()))?;
    let leave_at = started + plan.leave_after;
    // The next offset to commit per partition, since the last commit.
    let mut pending: BTreeMap<(String, i32), i64> = BTreeMap::new();
    let mut since_commit = 0usize;
    while Instant::now() < leave_at && !stop.load(Ordering::SeqCst) {
        let Some(polled) = consumer.poll(Duration::from_millis(POLL_MS)) else {
            continue;
        };
        let message = match polled {
            Ok(message) => message,
            Err(error) => {
                recorder.push_group(
                    &plan.group,
                    &plan.member,
                    GroupObservation::PollError(error.to_string()),
                );
                continue;
            }
        };
        let partition =
            TopicPartition::new(names.model_topic(message.topic()), message.partition());
        recorder.push_group(
            &plan.group,
            &plan.member,
            GroupObservation::Record {
                partition,
                offset: message.offset(),
                value: message
                    .payload()
                    .map(|v| String::from_utf8_lossy(v).into_owned()),
            },
        );
        pending.insert(
            (message.topic().to_string(), message.partition()),
            message.offset() + 1,
        );
        since_commit += 1;
        if since_commit >= COMMIT_EVERY_RECORDS {
            commit(&consumer, names, recorder, plan, &mut pending);
            since_commit = 0;
        }
    }
    commit(&consumer, names, recorder, plan, &mut pending);
    // Dropping the consumer closes it: it leaves the group (a rebalance for the others) and
    // its revocation is recorded by the context.
    drop(consumer);
    Ok(())
}

/// Commit the pending positions of partitions the member still owns, recording each.
fn commit(
    consumer: &BaseConsumer<MemberContext>,
    names: &Namespace,
    recorder: &Recorder,
    plan: &MemberPlan,
    pending: &mut BTreeMap<(String, i32), i64>,
) {
    let owned = consumer.assignment().unwrap_or_default();
    let mut offsets = TopicPartitionList::new();
    let mut committing = Vec::new();
    for ((topic, partition), offset) in std::mem::take(pending) {
        if owned.find_partition(&topic, partition).is_none() {
            continue;
        }
        if offsets
            .add_partition_offset(&topic, partition, Offset::Offset(offset))
            .is_ok()
        {
            committing.push((
                TopicPartition::new(names.model_topic(&topic), partition),
                offset,
            ));
        }
    }
    if committing.is_empty() {
        return;
    }
    let invoke_ns = recorder.now_ns();
    let result = consumer.commit(&offsets, CommitMode::Sync);
    for (partition, offset) in committing {
        recorder.push_group(
            &plan.group,
            &plan.member,
            GroupObservation::Commit {
                partition,
                offset,
                invoke_ns,
                error: result.as_ref().err().map(|e| e.to_string()),
            },
        );
    }
}
