//! The model: [`Model::apply`] executes one [`Op`] exactly as docs/model.md specifies.
//!
//! Each op has one method here, `op_*`, that first runs every check in the documented order
//! without changing anything (so a refused op changes nothing), then applies the effect. The
//! mechanisms live in their own files: logs in [`partition`](crate::partition), topics in
//! [`topic`](crate::topic), key placement in [`partitioner`](crate::partitioner), idempotence
//! in [`producer`](crate::producer), retention rules in [`retention`], groups
//! in [`group`](crate::group), assignments in [`assignor`](crate::assignor).

use std::collections::BTreeMap;

use crate::config::{
    Assignor, OffsetReset, TimestampType, TopicConfig, BATCH_RECORDS_MAX, FETCH_RECORDS_MAX,
    GROUPS_COUNT_MAX, GROUP_MEMBERS_MAX, OFFSET_METADATA_BYTES_MAX, PARTITIONS_PER_TOPIC_MAX,
    SESSION_TIMEOUT_MS_MAX, SESSION_TIMEOUT_MS_MIN, SUBSCRIBED_TOPICS_MAX, TICK_MS_MAX,
    TOPICS_COUNT_MAX,
};
use crate::error::ErrorCode;
use crate::group::{is_valid_id, CommittedOffset, Group, GroupEvent, Member};
use crate::op::{
    OffsetSpec, Op, PartitionLogStart, PolledRecord, ProducerBatch, Reply, Ret, TopicPartition,
};
use crate::partition::PartitionLog;
use crate::partitioner::kafka_partition;
use crate::producer::{
    check_sequence, ProducerPartitionState, Producers, RetainedBatch, SequenceVerdict,
};
use crate::record::{Record, StoredRecord};
use crate::retention;
use crate::topic::{is_legal_topic_name, validate_config, Topic};

/// The whole state of the specification: the clock, topics, producers and groups.
///
/// Equal models give equal results for every future op sequence: the linearizability checker
/// relies on this when it clones states and compares them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Model {
    /// The logical clock, in ms; starts at 0 and only `tick` advances it.
    pub(crate) now_ms: i64,
    /// Topics by name.
    pub(crate) topics: BTreeMap<String, Topic>,
    /// Issued producer ids and epochs.
    pub(crate) producers: Producers,
    /// Consumer groups by id; a group is never removed.
    pub(crate) groups: BTreeMap<String, Group>,
}

impl Model {
    /// An empty system at time 0.
    pub fn new() -> Model {
        Model::default()
    }

    /// Executes one op: a reply, or the error that refused it (and then nothing changed).
    pub fn apply(&mut self, op: &Op) -> Ret {
        match op {
            Op::CreateTopic {
                topic,
                partitions,
                config,
            } => self.op_create_topic(topic, *partitions, config),
            Op::DeleteTopic { topic } => self.op_delete_topic(topic),
            Op::Produce {
                topic,
                partition,
                records,
                producer,
            } => self.op_produce(topic, *partition, records, producer.as_ref()),
            Op::InitProducerId { transactional_id } => self
                .producers
                .init(transactional_id.as_deref())
                .map(|(producer_id, producer_epoch)| Reply::ProducerId {
                    producer_id,
                    producer_epoch,
                }),
            Op::Fetch {
                topic,
                partition,
                offset,
                max_records,
                max_bytes,
            } => self.op_fetch(topic, *partition, *offset, *max_records, *max_bytes),
            Op::ListOffsets {
                topic,
                partition,
                spec,
            } => self.op_list_offsets(topic, *partition, spec),
            Op::EnforceRetention => Ok(self.op_enforce_retention()),
            Op::DeleteRecords {
                topic,
                partition,
                offset,
            } => self.op_delete_records(topic, *partition, *offset),
            Op::Tick { ms } => self.op_tick(*ms),
            Op::JoinGroup {
                group,
                member,
                topics,
                assignor,
                session_timeout_ms,
                auto_offset_reset,
            } => self.op_join_group(
                group,
                member,
                topics,
                *assignor,
                *session_timeout_ms,
                *auto_offset_reset,
            ),
            Op::LeaveGroup { group, member } => self.op_leave_group(group, member),
            Op::Heartbeat {
                group,
                member,
                generation,
            } => self.op_heartbeat(group, member, *generation),
            Op::Commit {
                group,
                member,
                generation,
                topic,
                partition,
                offset,
                metadata,
            } => self.op_commit(
                group,
                member.as_deref(),
                *generation,
                &TopicPartition::new(topic.clone(), *partition),
                *offset,
                metadata,
            ),
            Op::Committed {
                group,
                topic,
                partition,
            } => self.op_committed(group, &TopicPartition::new(topic.clone(), *partition)),
            Op::Poll {
                group,
                member,
                generation,
                max_records,
            } => self.op_poll(group, member, *generation, *max_records),
            Op::DescribeGroup { group } => self.op_describe_group(group),
        }
    }

    // ---------------------------------------------------------------- typed convenience
    //
    // Each of these builds the op, runs it through `apply`, and unpacks the reply, so they
    // can never disagree with `apply`.

    /// `create_topic`.
    pub fn create_topic(
        &mut self,
        topic: &str,
        partitions: i32,
        config: TopicConfig,
    ) -> Result<(), ErrorCode> {
        self.apply(&Op::CreateTopic {
            topic: topic.to_owned(),
            partitions,
            config,
        })
        .map(expect_ack)
    }

    /// `delete_topic`.
    pub fn delete_topic(&mut self, topic: &str) -> Result<(), ErrorCode> {
        self.apply(&Op::DeleteTopic {
            topic: topic.to_owned(),
        })
        .map(expect_ack)
    }

    /// A plain (non-idempotent) `produce`: the partition and base offset it landed at.
    pub fn produce(
        &mut self,
        topic: &str,
        partition: Option<i32>,
        records: Vec<Record>,
    ) -> Result<(i32, i64), ErrorCode> {
        let op = Op::Produce {
            topic: topic.to_owned(),
            partition,
            records,
            producer: None,
        };
        match self.apply(&op)? {
            Reply::Produced {
                partition,
                base_offset,
                ..
            } => Ok((partition, base_offset)),
            other => unreachable!("produce replied {other:?}"),
        }
    }

    /// `fetch` with no byte limit: the records.
    pub fn fetch(
        &mut self,
        topic: &str,
        partition: i32,
        offset: i64,
        max_records: u32,
    ) -> Result<Vec<StoredRecord>, ErrorCode> {
        let op = Op::Fetch {
            topic: topic.to_owned(),
            partition,
            offset,
            max_records,
            max_bytes: u64::MAX,
        };
        match self.apply(&op)? {
            Reply::Fetched { records, .. } => Ok(records),
            other => unreachable!("fetch replied {other:?}"),
        }
    }

    /// `tick`.
    pub fn tick(&mut self, ms: u64) -> Result<(), ErrorCode> {
        self.apply(&Op::Tick { ms }).map(expect_ack)
    }

    /// `enforce_retention`: the partitions whose log start advanced.
    pub fn enforce_retention(&mut self) -> Vec<PartitionLogStart> {
        match self.apply(&Op::EnforceRetention) {
            Ok(Reply::Retained { advanced }) => advanced,
            other => unreachable!("enforce_retention replied {other:?}"),
        }
    }

    /// `join_group` with the range assignor, Kafka's default session timeout and
    /// `auto_offset_reset = earliest`: the generation and the member's assignment.
    pub fn join_group(
        &mut self,
        group: &str,
        member: &str,
        topics: &[&str],
    ) -> Result<(i32, Vec<TopicPartition>), ErrorCode> {
        let op = Op::JoinGroup {
            group: group.to_owned(),
            member: member.to_owned(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            assignor: Assignor::Range,
            session_timeout_ms: 45_000,
            auto_offset_reset: OffsetReset::Earliest,
        };
        match self.apply(&op)? {
            Reply::Joined {
                generation,
                assignment,
            } => Ok((generation, assignment)),
            other => unreachable!("join_group replied {other:?}"),
        }
    }

    /// `poll`: the records.
    pub fn poll(
        &mut self,
        group: &str,
        member: &str,
        generation: i32,
        max_records: u32,
    ) -> Result<Vec<PolledRecord>, ErrorCode> {
        let op = Op::Poll {
            group: group.to_owned(),
            member: member.to_owned(),
            generation,
            max_records,
        };
        match self.apply(&op)? {
            Reply::Polled { records } => Ok(records),
            other => unreachable!("poll replied {other:?}"),
        }
    }

    /// `commit` with empty metadata; `member: None` is a simple commit (pass generation -1).
    pub fn commit(
        &mut self,
        group: &str,
        member: Option<&str>,
        generation: i32,
        tp: &TopicPartition,
        offset: i64,
    ) -> Result<(), ErrorCode> {
        self.apply(&Op::Commit {
            group: group.to_owned(),
            member: member.map(str::to_owned),
            generation,
            topic: tp.topic.clone(),
            partition: tp.partition,
            offset,
            metadata: String::new(),
        })
        .map(expect_ack)
    }

    /// `committed`: the committed offset, if any.
    pub fn committed(
        &mut self,
        group: &str,
        tp: &TopicPartition,
    ) -> Result<Option<i64>, ErrorCode> {
        let op = Op::Committed {
            group: group.to_owned(),
            topic: tp.topic.clone(),
            partition: tp.partition,
        };
        match self.apply(&op)? {
            Reply::CommittedOffset { offset, .. } => Ok(offset),
            other => unreachable!("committed replied {other:?}"),
        }
    }

    // ---------------------------------------------------------------- read-only accessors

    /// The logical clock, in ms.
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    /// A topic, if it exists.
    pub fn topic(&self, topic: &str) -> Option<&Topic> {
        self.topics.get(topic)
    }

    /// The names of the existing topics, sorted.
    pub fn topic_names(&self) -> impl Iterator<Item = &str> {
        self.topics.keys().map(String::as_str)
    }

    /// A partition's log, if the partition exists.
    pub fn partition(&self, topic: &str, partition: i32) -> Option<&PartitionLog> {
        self.topics.get(topic)?.partition(partition)
    }

    /// A topic's partition count, if it exists.
    pub fn partition_count(&self, topic: &str) -> Option<i32> {
        Some(self.topics.get(topic)?.partition_count())
    }

    /// A partition's log start offset, if it exists.
    pub fn log_start_offset(&self, topic: &str, partition: i32) -> Option<i64> {
        Some(self.partition(topic, partition)?.log_start_offset())
    }

    /// A partition's high watermark, if it exists.
    pub fn high_watermark(&self, topic: &str, partition: i32) -> Option<i64> {
        Some(self.partition(topic, partition)?.high_watermark())
    }

    /// The record retained at `offset`, if any.
    pub fn record(&self, topic: &str, partition: i32, offset: i64) -> Option<&StoredRecord> {
        self.partition(topic, partition)?.record(offset)
    }

    /// A group, if it exists.
    pub fn group(&self, group: &str) -> Option<&Group> {
        self.groups.get(group)
    }

    /// The ids of the existing groups, sorted.
    pub fn group_ids(&self) -> impl Iterator<Item = &str> {
        self.groups.keys().map(String::as_str)
    }

    /// The current epoch of a producer id, if it was issued and is not retired.
    pub fn producer_epoch(&self, producer_id: i64) -> Option<i16> {
        self.producers.epoch(producer_id)
    }

    /// The **eligible log start** of a partition (docs/model.md, "Retention"): the log start
    /// `enforce_retention` would move it to now, and the furthest any implementation may.
    /// `None` if the partition does not exist.
    pub fn eligible_log_start(&self, topic: &str, partition: i32) -> Option<i64> {
        let found = self.topics.get(topic)?;
        let log = found.partition(partition)?;
        let tp = TopicPartition::new(topic, partition);
        // For `consumed` retention: every group subscribed to the topic, by member or by a
        // committed offset for any of its partitions, holds back at its committed offset for
        // this partition (0 where none).
        let committed = self
            .groups
            .values()
            .filter(|group| group.holds_topic(topic))
            .map(|group| group.committed(&tp).map_or(0, |c| c.offset));
        Some(retention::eligible_log_start(
            log,
            &found.config,
            self.now_ms,
            committed,
        ))
    }

    // ---------------------------------------------------------------- topics

    fn op_create_topic(&mut self, topic: &str, partitions: i32, config: &TopicConfig) -> Ret {
        if !is_legal_topic_name(topic) {
            return Err(ErrorCode::InvalidTopicException);
        }
        if self.topics.contains_key(topic) {
            return Err(ErrorCode::TopicAlreadyExists);
        }
        if !(1..=PARTITIONS_PER_TOPIC_MAX).contains(&partitions) {
            return Err(ErrorCode::InvalidPartitions);
        }
        validate_config(config)?;
        if self.topics.len() >= TOPICS_COUNT_MAX {
            return Err(ErrorCode::PolicyViolation);
        }
        self.topics
            .insert(topic.to_owned(), Topic::new(partitions, config.clone()));
        self.rebalance_groups_subscribed_to(topic, GroupEvent::SubscribedTopicCreated);
        Ok(Reply::Ack)
    }

    fn op_delete_topic(&mut self, topic: &str) -> Ret {
        // Removing the topic also removes its partitions' idempotent-producer state.
        if self.topics.remove(topic).is_none() {
            return Err(ErrorCode::UnknownTopicOrPartition);
        }
        for group in self.groups.values_mut() {
            group.committed.retain(|tp, _| tp.topic != topic);
            group.positions.retain(|tp, _| tp.topic != topic);
        }
        self.rebalance_groups_subscribed_to(topic, GroupEvent::SubscribedTopicDeleted);
        Ok(Reply::Ack)
    }

    /// The existing topics' partition counts, what the assignors assign over.
    fn partitions_per_topic(&self) -> BTreeMap<String, i32> {
        self.topics
            .iter()
            .map(|(name, topic)| (name.clone(), topic.partition_count()))
            .collect()
    }

    fn rebalance_groups_subscribed_to(&mut self, topic: &str, event: GroupEvent) {
        let partitions_per_topic = self.partitions_per_topic();
        for group in self.groups.values_mut() {
            if group.subscribes_to(topic) {
                group.on(event, &partitions_per_topic);
            }
        }
    }

    // ---------------------------------------------------------------- produce

    fn op_produce(
        &mut self,
        topic: &str,
        partition: Option<i32>,
        records: &[Record],
        producer: Option<&ProducerBatch>,
    ) -> Ret {
        // 1. the topic
        let found = self
            .topics
            .get(topic)
            .ok_or(ErrorCode::UnknownTopicOrPartition)?;
        // 2. the record count
        if records.is_empty() {
            return Err(ErrorCode::InvalidRequest);
        }
        if records.len() > BATCH_RECORDS_MAX {
            return Err(ErrorCode::RecordListTooLarge);
        }
        // 3. the partition
        let keyless_pick = partition.is_none() && records[0].key.is_none();
        let partition = match (partition, &records[0].key) {
            (Some(p), _) => p,
            (None, Some(key)) => kafka_partition(key.as_slice(), found.partition_count()),
            (None, None) => found.keyless_partition(),
        };
        let log = found
            .partition(partition)
            .ok_or(ErrorCode::UnknownTopicOrPartition)?;
        // 4. timestamps
        if records
            .iter()
            .any(|r| r.timestamp_ms.is_some_and(|t| t < 0))
        {
            return Err(ErrorCode::InvalidRequest);
        }
        // 5. batch size
        let batch_bytes: u64 = records.iter().map(Record::size_bytes).sum();
        if batch_bytes > found.config.max_message_bytes {
            return Err(ErrorCode::MessageTooLarge);
        }
        // 6. idempotence
        let log_append_time_ms = match found.config.timestamp_type {
            TimestampType::LogAppendTime => Some(self.now_ms),
            TimestampType::CreateTime => None,
        };
        let count = records.len() as i32; // ≤ BATCH_RECORDS_MAX
        if let Some(batch) = producer {
            if batch.base_sequence < 0
                || i64::from(batch.base_sequence) + i64::from(count) - 1 > i64::from(i32::MAX)
            {
                return Err(ErrorCode::InvalidRequest);
            }
            if !self.producers.is_issued(batch.producer_id) {
                return Err(ErrorCode::UnknownProducerId);
            }
            if self.producers.epoch(batch.producer_id) != Some(batch.producer_epoch) {
                return Err(ErrorCode::InvalidProducerEpoch);
            }
            let state = log.producers.get(&batch.producer_id);
            match check_sequence(state, batch.producer_epoch, batch.base_sequence, count)? {
                SequenceVerdict::Duplicate(original) => {
                    return Ok(Reply::Produced {
                        partition,
                        base_offset: original.base_offset,
                        log_append_time_ms: original.log_append_time_ms,
                    })
                }
                SequenceVerdict::Append => {}
            }
        }
        // 7. append
        let now_ms = self.now_ms;
        let timestamp_type = found.config.timestamp_type;
        let found = self.topics.get_mut(topic).expect("checked in step 1");
        if keyless_pick {
            found.keyless_next = found.keyless_next.wrapping_add(1);
        }
        let log = found.partition_mut(partition).expect("checked in step 3");
        let base_offset = log.append(records.iter().map(|r| StoredRecord {
            offset: -1,
            timestamp_ms: match timestamp_type {
                TimestampType::CreateTime => r.timestamp_ms.unwrap_or(now_ms),
                TimestampType::LogAppendTime => now_ms,
            },
            key: r.key.clone(),
            value: r.value.clone(),
            headers: r.headers.clone(),
        }));
        if let Some(batch) = producer {
            let retained = RetainedBatch {
                first_sequence: batch.base_sequence,
                last_sequence: batch.base_sequence + (count - 1),
                base_offset,
                log_append_time_ms,
            };
            log.producers
                .entry(batch.producer_id)
                .or_insert_with(|| ProducerPartitionState::new(batch.producer_epoch))
                .record(batch.producer_epoch, retained);
        }
        Ok(Reply::Produced {
            partition,
            base_offset,
            log_append_time_ms,
        })
    }

    // ---------------------------------------------------------------- reads

    fn op_fetch(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        max_records: u32,
        max_bytes: u64,
    ) -> Ret {
        let log = self
            .partition(topic, partition)
            .ok_or(ErrorCode::UnknownTopicOrPartition)?;
        if !(1..=FETCH_RECORDS_MAX).contains(&max_records) {
            return Err(ErrorCode::InvalidRequest);
        }
        if offset < log.log_start_offset() || offset > log.high_watermark() {
            return Err(ErrorCode::OffsetOutOfRange);
        }
        Ok(Reply::Fetched {
            records: log.read(offset, max_records as usize, max_bytes),
            high_watermark: log.high_watermark(),
            log_start_offset: log.log_start_offset(),
        })
    }

    fn op_list_offsets(&self, topic: &str, partition: i32, spec: &OffsetSpec) -> Ret {
        let log = self
            .partition(topic, partition)
            .ok_or(ErrorCode::UnknownTopicOrPartition)?;
        let found = match *spec {
            OffsetSpec::Earliest => {
                return Ok(Reply::ListedOffset {
                    offset: Some(log.log_start_offset()),
                    timestamp_ms: None,
                })
            }
            OffsetSpec::Latest => {
                return Ok(Reply::ListedOffset {
                    offset: Some(log.high_watermark()),
                    timestamp_ms: None,
                })
            }
            OffsetSpec::Timestamp { timestamp_ms } if timestamp_ms < 0 => {
                return Err(ErrorCode::InvalidRequest)
            }
            OffsetSpec::Timestamp { timestamp_ms } => log.first_at_or_after(timestamp_ms),
            OffsetSpec::MaxTimestamp => log.max_timestamp(),
        };
        Ok(Reply::ListedOffset {
            offset: found.map(|r| r.offset),
            timestamp_ms: found.map(|r| r.timestamp_ms),
        })
    }

    // ---------------------------------------------------------------- retention

    fn op_enforce_retention(&mut self) -> Reply {
        // Every eligible log start is computed on the state before the op, then applied.
        let mut advanced = Vec::new();
        for (name, topic) in &self.topics {
            for partition in 0..topic.partition_count() {
                let log_start_offset = topic.partitions[partition as usize].log_start_offset();
                let eligible = self
                    .eligible_log_start(name, partition)
                    .expect("the partition exists");
                if eligible > log_start_offset {
                    advanced.push(PartitionLogStart {
                        topic: name.clone(),
                        partition,
                        log_start_offset: eligible,
                    });
                }
            }
        }
        for entry in &advanced {
            let topic = self.topics.get_mut(&entry.topic).expect("listed above");
            let log = topic.partition_mut(entry.partition).expect("listed above");
            log.advance_log_start(entry.log_start_offset);
        }
        Reply::Retained { advanced }
    }

    fn op_delete_records(&mut self, topic: &str, partition: i32, offset: i64) -> Ret {
        let log = self
            .topics
            .get_mut(topic)
            .and_then(|t| t.partition_mut(partition))
            .ok_or(ErrorCode::UnknownTopicOrPartition)?;
        let offset = if offset == -1 {
            log.high_watermark()
        } else {
            offset
        };
        if offset < -1 || offset > log.high_watermark() {
            return Err(ErrorCode::OffsetOutOfRange);
        }
        log.advance_log_start(offset);
        Ok(Reply::LowWatermark {
            low_watermark: log.log_start_offset(),
        })
    }

    // ---------------------------------------------------------------- clock

    fn op_tick(&mut self, ms: u64) -> Ret {
        let now_ms = i64::try_from(ms)
            .ok()
            .filter(|_| ms <= TICK_MS_MAX)
            .and_then(|ms| self.now_ms.checked_add(ms))
            .ok_or(ErrorCode::InvalidRequest)?;
        self.now_ms = now_ms;
        // Session expiry: each group that lost members starts one new generation.
        let partitions_per_topic = self.partitions_per_topic();
        for group in self.groups.values_mut() {
            let member_count = group.members.len();
            group
                .members
                .retain(|_, m| now_ms - m.last_seen_ms <= m.session_timeout_ms);
            if group.members.len() != member_count {
                group.on(GroupEvent::MembersExpired, &partitions_per_topic);
            }
        }
        Ok(Reply::Ack)
    }

    // ---------------------------------------------------------------- groups

    fn op_join_group(
        &mut self,
        group: &str,
        member: &str,
        topics: &[String],
        assignor: Assignor,
        session_timeout_ms: i64,
        auto_offset_reset: OffsetReset,
    ) -> Ret {
        if !is_valid_id(group) {
            return Err(ErrorCode::InvalidGroupId);
        }
        if !is_valid_id(member) {
            return Err(ErrorCode::InvalidRequest);
        }
        if !(SESSION_TIMEOUT_MS_MIN..=SESSION_TIMEOUT_MS_MAX).contains(&session_timeout_ms) {
            return Err(ErrorCode::InvalidSessionTimeout);
        }
        if topics.is_empty() || topics.len() > SUBSCRIBED_TOPICS_MAX {
            return Err(ErrorCode::InvalidRequest);
        }
        if !topics.iter().all(|t| is_legal_topic_name(t)) {
            return Err(ErrorCode::InvalidTopicException);
        }
        match self.groups.get(group) {
            None if self.groups.len() >= GROUPS_COUNT_MAX => {
                return Err(ErrorCode::PolicyViolation)
            }
            None => {}
            Some(existing) => {
                let has_others = existing.members.keys().any(|id| id != member);
                if has_others && existing.assignor != assignor {
                    return Err(ErrorCode::InconsistentGroupProtocol);
                }
                if !existing.members.contains_key(member)
                    && existing.members.len() >= GROUP_MEMBERS_MAX
                {
                    return Err(ErrorCode::GroupMaxSizeReached);
                }
            }
        }
        let partitions_per_topic = self.partitions_per_topic();
        let joined = Member {
            topics: topics.iter().cloned().collect(),
            session_timeout_ms,
            auto_offset_reset,
            last_seen_ms: self.now_ms,
        };
        let found = self.groups.entry(group.to_owned()).or_default();
        found.join(member, joined, assignor, &partitions_per_topic);
        Ok(Reply::Joined {
            generation: found.generation,
            assignment: found.assignment_of(member),
        })
    }

    fn op_leave_group(&mut self, group: &str, member: &str) -> Ret {
        if !is_valid_id(group) {
            return Err(ErrorCode::InvalidGroupId);
        }
        let partitions_per_topic = self.partitions_per_topic();
        let found = self
            .groups
            .get_mut(group)
            .filter(|g| g.members.contains_key(member))
            .ok_or(ErrorCode::UnknownMemberId)?;
        found.members.remove(member);
        found.on(GroupEvent::MemberLeft, &partitions_per_topic);
        Ok(Reply::Ack)
    }

    fn op_heartbeat(&mut self, group: &str, member: &str, generation: i32) -> Ret {
        if !is_valid_id(group) {
            return Err(ErrorCode::InvalidGroupId);
        }
        let found = self
            .groups
            .get_mut(group)
            .ok_or(ErrorCode::UnknownMemberId)?;
        found.check_member_generation(member, generation)?;
        self.touch(group, member);
        Ok(Reply::Ack)
    }

    /// A member's successful join, heartbeat, poll or commit refreshes its `last_seen_ms`.
    fn touch(&mut self, group: &str, member: &str) {
        let now_ms = self.now_ms;
        if let Some(found) = self
            .groups
            .get_mut(group)
            .and_then(|g| g.members.get_mut(member))
        {
            found.last_seen_ms = now_ms;
        }
    }

    fn op_describe_group(&self, group: &str) -> Ret {
        if !is_valid_id(group) {
            return Err(ErrorCode::InvalidGroupId);
        }
        Ok(match self.groups.get(group) {
            None => Reply::Group {
                generation: 0,
                members: vec![],
            },
            Some(found) => Reply::Group {
                generation: found.generation,
                members: found.describe(),
            },
        })
    }

    // ---------------------------------------------------------------- offsets

    fn op_commit(
        &mut self,
        group: &str,
        member: Option<&str>,
        generation: i32,
        tp: &TopicPartition,
        offset: i64,
        metadata: &str,
    ) -> Ret {
        // 1. the group id
        if !is_valid_id(group) {
            return Err(ErrorCode::InvalidGroupId);
        }
        // 2. membership
        let existing = self.groups.get(group);
        match member {
            None => {
                if generation != -1 {
                    return Err(ErrorCode::IllegalGeneration);
                }
                match existing {
                    Some(found) if !found.members.is_empty() => {
                        return Err(ErrorCode::UnknownMemberId)
                    }
                    None if self.groups.len() >= GROUPS_COUNT_MAX => {
                        return Err(ErrorCode::PolicyViolation)
                    }
                    _ => {}
                }
            }
            Some(member) => {
                let found = existing
                    .filter(|g| g.members.contains_key(member))
                    .ok_or(ErrorCode::UnknownMemberId)?;
                if generation != found.generation {
                    return Err(ErrorCode::IllegalGeneration);
                }
            }
        }
        // 3. the partition
        if self.partition(&tp.topic, tp.partition).is_none() {
            return Err(ErrorCode::UnknownTopicOrPartition);
        }
        // 4. metadata
        if metadata.len() > OFFSET_METADATA_BYTES_MAX {
            return Err(ErrorCode::OffsetMetadataTooLarge);
        }
        // 5. the offset
        if offset < 0 {
            return Err(ErrorCode::InvalidRequest);
        }
        let found = self.groups.entry(group.to_owned()).or_default();
        found.committed.insert(
            tp.clone(),
            CommittedOffset {
                offset,
                metadata: metadata.to_owned(),
            },
        );
        if let Some(member) = member {
            self.touch(group, member);
        }
        Ok(Reply::Ack)
    }

    fn op_committed(&self, group: &str, tp: &TopicPartition) -> Ret {
        if !is_valid_id(group) {
            return Err(ErrorCode::InvalidGroupId);
        }
        if self.partition(&tp.topic, tp.partition).is_none() {
            return Err(ErrorCode::UnknownTopicOrPartition);
        }
        let committed = self.groups.get(group).and_then(|g| g.committed(tp));
        Ok(Reply::CommittedOffset {
            offset: committed.map(|c| c.offset),
            metadata: committed.map(|c| c.metadata.clone()),
        })
    }

    // ---------------------------------------------------------------- poll

    fn op_poll(&mut self, group: &str, member: &str, generation: i32, max_records: u32) -> Ret {
        // 1.-3. the group, the count, the member and its generation
        if !is_valid_id(group) {
            return Err(ErrorCode::InvalidGroupId);
        }
        if !(1..=FETCH_RECORDS_MAX).contains(&max_records) {
            return Err(ErrorCode::InvalidRequest);
        }
        let found = self.groups.get(group).ok_or(ErrorCode::UnknownMemberId)?;
        let reset = found
            .check_member_generation(member, generation)?
            .auto_offset_reset;
        // 4. each assigned partition's starting position, in (topic, partition) order
        let mut starts = Vec::new();
        for tp in found.assignment_of(member) {
            // The assignment covers existing topics only (`one_owner_per_partition`).
            let Some(log) = self.partition(&tp.topic, tp.partition) else {
                continue;
            };
            let stored = found
                .position(&tp)
                .or_else(|| found.committed(&tp).map(|c| c.offset));
            let in_log = |p: &i64| (log.log_start_offset()..=log.high_watermark()).contains(p);
            let position = match stored.filter(in_log) {
                Some(position) => position,
                None => match reset {
                    OffsetReset::Earliest => log.log_start_offset(),
                    OffsetReset::Latest => log.high_watermark(),
                    OffsetReset::None => return Err(ErrorCode::NoOffsetForPartition),
                },
            };
            starts.push((tp, position));
        }
        // 5. read in the same order until max_records are taken in all
        let mut records = Vec::new();
        let mut positions = Vec::new();
        for (tp, position) in starts {
            let log = self
                .partition(&tp.topic, tp.partition)
                .expect("checked in step 4");
            let room = max_records as usize - records.len();
            let taken: Vec<StoredRecord> = log.records_from(position).take(room).cloned().collect();
            positions.push((tp.clone(), position + taken.len() as i64));
            records.extend(taken.into_iter().map(|record| PolledRecord {
                topic: tp.topic.clone(),
                partition: tp.partition,
                record,
            }));
        }
        let found = self.groups.get_mut(group).expect("checked in step 3");
        found.positions.extend(positions);
        self.touch(group, member);
        Ok(Reply::Polled { records })
    }
}

/// The typed wrappers' check that an ack-only op replied `ack`.
fn expect_ack(reply: Reply) {
    debug_assert_eq!(reply, Reply::Ack, "an ack-only op replied otherwise");
}

#[cfg(test)]
mod tests;
