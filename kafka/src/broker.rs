//! [`KafkaBroker`]: the model's ops executed against a live broker through librdkafka.
//!
//! One method per op family, each sending the Kafka request that op stands for and turning the
//! broker's answer into the model's reply or error:
//!
//! | op | Kafka API (librdkafka call) |
//! |---|---|
//! | `create_topic`, `delete_topic` | CreateTopics, DeleteTopics (admin) |
//! | `produce` | Produce (`FutureProducer`, `acks=all`, no retries, murmur2 partitioner) |
//! | `fetch` | ListOffsets for the watermarks, then Fetch (`assign`, `auto.offset.reset=error`) |
//! | `list_offsets` | ListOffsets (`query_watermark_offsets`, `offsets_for_times`) |
//! | `delete_records` | DeleteRecords (admin) |
//! | `commit` (simple), `committed` | OffsetCommit, OffsetFetch |
//! | `tick` | none: advances the adapter's clock (see below) |
//!
//! **Time.** The model's clock starts at 0 and only `tick` moves it; a broker has a wall
//! clock. The adapter keeps the model's clock itself and stamps every record explicitly with
//! `base_ms + timestamp_ms` (the record's own timestamp, or the clock), and subtracts
//! `base_ms` from every timestamp the broker returns. So `create_time` topics compare exactly;
//! `log_append_time` topics show the broker's clock since the adapter started, which the
//! model cannot predict (a known, reported difference). A negative timestamp is sent as it
//! is, so the broker judges it.
//!
//! **What librdkafka cannot express** is an [`AdapterError`] with
//! [`AdapterErrorKind::Unsupported`](crate::error::AdapterErrorKind::Unsupported): consumer
//! group membership with member ids and generations chosen by the caller (`join_group`,
//! `heartbeat`, `leave_group`, `poll`, a member's `commit`, `describe_group`'s generation),
//! `init_producer_id` and idempotent batches with caller-chosen sequences, `enforce_retention`
//! (retention runs on the broker's own schedule), `list_offsets` for `max_timestamp`, and the
//! `consumed` retention policy, which Kafka does not have. Group mode is exercised natively by
//! [`crate::group`] instead.
//!
//! **Client-side checks.** Two of the model's checks concern parameters a Kafka client keeps
//! to itself: `max_records` (Kafka's `max.poll.records`) and `max_bytes` counted with the
//! model's record size. The adapter applies them, as a Kafka consumer would.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use futures_executor::block_on;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header as KafkaHeader, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use streamspec_model::config::{FETCH_RECORDS_MAX, TICK_MS_MAX};
use streamspec_model::{
    Bytes, ErrorCode, Header, OffsetSpec, Op, Record, Reply, RetentionPolicy, StoredRecord,
    TimestampType, TopicConfig,
};

use crate::error::{classify, AdapterError};
use crate::namespace::Namespace;

/// How long one op may take before the adapter gives up on it (an indeterminate outcome).
pub const OP_TIMEOUT_MS_DEFAULT: u64 = 10_000;

/// How long a fetch waits for the broker between two messages before it stops reading; the
/// watermarks taken first say how many records to expect, so this only bounds a stall.
const FETCH_POLL_MS: u64 = 100;

/// How long a fetch waits with nothing new (no record, no error, no end of partition) before
/// it takes the records read so far as the broker's answer: twenty of librdkafka's fetch
/// rounds (`fetch.wait.max.ms` is [`FETCH_POLL_MS`]) on a broker that answers each with
/// neither the records below its own high watermark nor an error. Long enough for a loaded
/// local broker; a stall shows up as a fetch with fewer records than the model's.
const FETCH_STALL_MS: u64 = 2_000;

/// The answer to one op: the broker's (a reply or a model error), or why there is none.
pub type Outcome = Result<streamspec_model::Ret, AdapterError>;

/// Where the broker is and how the adapter talks to it.
#[derive(Clone, Debug)]
pub struct BrokerConfig {
    /// `HOST:PORT` of a bootstrap broker.
    pub bootstrap: String,
    /// The prefix for this run's topics and groups on the (shared) broker.
    pub names: Namespace,
    /// Limit per op, in ms.
    pub op_timeout_ms: u64,
}

impl BrokerConfig {
    /// A broker at `bootstrap` with the default timeout and the given names.
    pub fn new(bootstrap: impl Into<String>, names: Namespace) -> BrokerConfig {
        BrokerConfig {
            bootstrap: bootstrap.into(),
            names,
            op_timeout_ms: OP_TIMEOUT_MS_DEFAULT,
        }
    }
}

/// A live Kafka-protocol broker that executes the model's ops. Safe to share between threads.
pub struct KafkaBroker {
    config: BrokerConfig,
    admin: AdminClient<DefaultClientContext>,
    producer: FutureProducer,
    /// The model's logical clock, in ms (starts at 0; `tick` advances it).
    clock_ms: AtomicI64,
    /// Wall-clock ms at which the model's time 0 is put on the broker.
    base_ms: i64,
}

impl std::fmt::Debug for KafkaBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaBroker")
            .field("config", &self.config)
            .field("base_ms", &self.base_ms)
            .finish_non_exhaustive()
    }
}

/// The common client settings: where the broker is, and no topic created behind our back
/// (the model has no auto-creation; Kafka's `auto.create.topics.enable` would hide an
/// `unknown_topic_or_partition`).
pub fn client_config(bootstrap: &str, op_timeout_ms: u64) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("allow.auto.create.topics", "false")
        .set("socket.timeout.ms", op_timeout_ms.to_string())
        .set("log_level", "3");
    config
}

impl KafkaBroker {
    /// Connect the admin client and the producer (librdkafka connects lazily: a broker that
    /// is not there shows up as timeouts on the first ops).
    pub fn connect(config: BrokerConfig) -> Result<KafkaBroker, AdapterError> {
        let admin: AdminClient<DefaultClientContext> =
            client_config(&config.bootstrap, config.op_timeout_ms)
                .create()
                .map_err(|e| AdapterError::client("AdminClient", e.to_string()))?;
        let producer: FutureProducer = client_config(&config.bootstrap, config.op_timeout_ms)
            // acks=all: an acknowledged batch is below the high watermark.
            .set("acks", "all")
            // No retries and one request in flight: a refused batch was refused once, and
            // batches to one partition keep their order.
            .set("retries", "0")
            .set("enable.idempotence", "false")
            .set("max.in.flight.requests.per.connection", "1")
            // A batch's records, queued together, leave as one record batch (see `produce`).
            .set("linger.ms", "5")
            .set("batch.num.messages", "1000000")
            .set("batch.size", "2000000000")
            // Kafka's default partitioner (murmur2 of the key), as the model specifies;
            // librdkafka's own default is CRC32.
            .set("partitioner", "murmur2_random")
            // Let the broker, not the client, judge batch sizes.
            .set("message.max.bytes", "1000000000")
            .set("message.timeout.ms", config.op_timeout_ms.to_string())
            // An unknown topic is reported after this long instead of librdkafka's 30 s.
            .set("topic.metadata.propagation.max.ms", "1000")
            .create()
            .map_err(|e| AdapterError::client("Producer", e.to_string()))?;
        let base_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Ok(KafkaBroker {
            config,
            admin,
            producer,
            clock_ms: AtomicI64::new(0),
            base_ms,
        })
    }

    /// `kafka://HOST:PORT`.
    pub fn name(&self) -> String {
        format!("kafka://{}", self.config.bootstrap)
    }

    /// The names this adapter puts on the broker.
    pub fn names(&self) -> &Namespace {
        &self.config.names
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(self.config.op_timeout_ms)
    }

    fn admin_options(&self) -> AdminOptions {
        AdminOptions::new().operation_timeout(Some(self.timeout()))
    }

    /// Execute one op against the broker.
    pub fn execute(&self, op: &Op) -> Outcome {
        match op {
            Op::CreateTopic {
                topic,
                partitions,
                config,
            } => self.create_topic(topic, *partitions, config),
            Op::DeleteTopic { topic } => self.delete_topic(topic),
            Op::Produce {
                topic,
                partition,
                records,
                producer,
            } => {
                if partition.is_some_and(|p| p < 0) {
                    return Err(AdapterError::unsupported(
                        "Produce",
                        "librdkafka reads a negative partition as \"let the partitioner choose\" \
                         (RD_KAFKA_PARTITION_UA), so it cannot send one",
                    ));
                }
                if producer.is_some() {
                    return Err(AdapterError::unsupported(
                        "Produce",
                        "idempotent batches with caller-chosen producer id and sequence \
                         (librdkafka assigns them itself)",
                    ));
                }
                self.produce(topic, *partition, records)
            }
            Op::InitProducerId { .. } => Err(AdapterError::unsupported(
                "InitProducerId",
                "librdkafka obtains producer ids internally and does not hand them out",
            )),
            Op::Fetch {
                topic,
                partition,
                offset,
                max_records,
                max_bytes,
            } => self.fetch(topic, *partition, *offset, *max_records, *max_bytes),
            Op::ListOffsets {
                topic,
                partition,
                spec,
            } => self.list_offsets(topic, *partition, *spec),
            Op::EnforceRetention => Err(AdapterError::unsupported(
                "EnforceRetention",
                "a broker applies retention on its own schedule (log.retention.check.interval.ms)",
            )),
            Op::DeleteRecords {
                topic,
                partition,
                offset,
            } => self.delete_records(topic, *partition, *offset),
            Op::Tick { ms } => {
                if *ms > TICK_MS_MAX {
                    return Ok(Err(ErrorCode::InvalidRequest));
                }
                let ms = *ms as i64;
                let mut now = self.clock_ms.load(Ordering::SeqCst);
                // Bounded by the number of concurrent ticks: each retry means another won.
                loop {
                    let Some(next) = now.checked_add(ms) else {
                        return Ok(Err(ErrorCode::InvalidRequest));
                    };
                    match self.clock_ms.compare_exchange(
                        now,
                        next,
                        Ordering::SeqCst,
                        Ordering::SeqCst,
                    ) {
                        Ok(_) => return Ok(Ok(Reply::Ack)),
                        Err(current) => now = current,
                    }
                }
            }
            Op::Commit {
                group,
                member: None,
                generation,
                topic,
                partition,
                offset,
                metadata,
            } => self.simple_commit(group, *generation, topic, *partition, *offset, metadata),
            Op::Committed {
                group,
                topic,
                partition,
            } => self.committed(group, topic, *partition),
            Op::JoinGroup { .. } => Err(group_unsupported("JoinGroup")),
            Op::LeaveGroup { .. } => Err(group_unsupported("LeaveGroup")),
            Op::Heartbeat { .. } => Err(group_unsupported("Heartbeat")),
            Op::Poll { .. } => Err(group_unsupported("Fetch (group poll)")),
            Op::Commit {
                member: Some(_), ..
            } => Err(group_unsupported("OffsetCommit (member)")),
            Op::DescribeGroup { .. } => Err(group_unsupported("DescribeGroups")),
        }
    }

    fn create_topic(&self, topic: &str, partitions: i32, config: &TopicConfig) -> Outcome {
        const API: &str = "CreateTopics";
        if config.retention_policy == RetentionPolicy::Consumed {
            return Err(AdapterError::unsupported(
                API,
                "the consumed retention policy has no Kafka topic config",
            ));
        }
        let name = self.config.names.topic(topic);
        let retention_ms = config.retention_ms.to_string();
        let retention_bytes = config.retention_bytes.to_string();
        let max_message_bytes = config.max_message_bytes.to_string();
        let timestamp_type = match config.timestamp_type {
            TimestampType::CreateTime => "CreateTime",
            TimestampType::LogAppendTime => "LogAppendTime",
        };
        let new_topic = NewTopic::new(&name, partitions, TopicReplication::Fixed(1))
            .set("retention.ms", &retention_ms)
            .set("retention.bytes", &retention_bytes)
            .set("max.message.bytes", &max_message_bytes)
            .set("message.timestamp.type", timestamp_type)
            .set("cleanup.policy", "delete");
        let results = block_on(
            self.admin
                .create_topics([&new_topic], &self.admin_options()),
        )
        .map_err(|e| admin_error(API, &e))?;
        single_topic_result(API, results)
    }

    fn delete_topic(&self, topic: &str) -> Outcome {
        const API: &str = "DeleteTopics";
        let name = self.config.names.topic(topic);
        let results = block_on(self.admin.delete_topics(&[&name], &self.admin_options()))
            .map_err(|e| admin_error(API, &e))?;
        single_topic_result(API, results)
    }

    /// The broker's timestamp for a model timestamp (see the module docs, Time).
    fn broker_timestamp(&self, timestamp_ms: Option<i64>) -> i64 {
        let model_ms = timestamp_ms.unwrap_or_else(|| self.clock_ms.load(Ordering::SeqCst));
        if model_ms < 0 {
            model_ms
        } else {
            self.base_ms.saturating_add(model_ms)
        }
    }

    /// The model's timestamp for one the broker returned.
    fn model_timestamp(&self, broker_ms: i64) -> i64 {
        broker_ms - self.base_ms
    }

    fn produce(&self, topic: &str, partition: Option<i32>, records: &[Record]) -> Outcome {
        const API: &str = "Produce";
        let name = self.config.names.topic(topic);
        let Some(first) = records.first() else {
            // Kafka has no empty produce request; the model's check is the client's.
            return Ok(Err(ErrorCode::InvalidRequest));
        };
        // The model appends a batch atomically. librdkafka has no batch call, but records
        // queued together for one partition within `linger.ms` go out as one record batch, which
        // Kafka appends (and size-checks) as a whole: so all records are queued before any
        // delivery is awaited. Only when the partitioner chooses does the first record go
        // alone, to learn the partition the rest must follow.
        let mut deliveries = Vec::with_capacity(records.len());
        let rest = match partition {
            Some(_) => records,
            None => {
                deliveries.push(self.enqueue(&name, None, first)?);
                &records[1..]
            }
        };
        let mut landed = partition;
        if partition.is_none() {
            match await_delivery(deliveries.pop().expect("the first delivery was queued"))? {
                Ok((first_partition, offset)) => {
                    landed = Some(first_partition);
                    deliveries.push(Delivered::Done(Ok((first_partition, offset))));
                }
                Err(code) => return Ok(Err(code)),
            }
        }
        let landed = landed.expect("a partition is known by now");
        for record in rest {
            deliveries.push(self.enqueue(&name, Some(landed), record)?);
        }
        let mut base_offset = None;
        let mut refused = None;
        for (index, delivery) in deliveries.into_iter().enumerate() {
            match (await_delivery(delivery)?, base_offset) {
                (Ok((_, offset)), None) if refused.is_none() => base_offset = Some(offset),
                (Ok((_, offset)), Some(base)) if offset == base + index as i64 => {}
                (Ok((_, offset)), _) => {
                    return Err(AdapterError::client(
                        API,
                        format!(
                            "batch split: record {index} landed at offset {offset} after \
                             {base_offset:?} / {refused:?} (librdkafka sent the batch as several requests)"
                        ),
                    ))
                }
                (Err(code), None) if index == 0 => refused = Some(code),
                (Err(code), _) if refused == Some(code) => {}
                (Err(code), _) => {
                    return Err(AdapterError::client(
                        API,
                        format!(
                            "batch split: record {index} was refused with {} while the \
                             records before it were {}",
                            code.name(),
                            if refused.is_some() { "refused otherwise" } else { "appended" }
                        ),
                    ))
                }
            }
        }
        if let Some(code) = refused {
            return Ok(Err(code));
        }
        Ok(Ok(Reply::Produced {
            partition: landed,
            base_offset: base_offset.expect("a batch has a first record"),
            log_append_time_ms: None,
        }))
    }

    /// Queue one record for sending; its delivery is awaited with [`await_delivery`].
    fn enqueue(
        &self,
        topic: &str,
        partition: Option<i32>,
        record: &Record,
    ) -> Result<Delivered, AdapterError> {
        const API: &str = "Produce";
        let mut future_record: FutureRecord<'_, [u8], [u8]> =
            FutureRecord::to(topic).timestamp(self.broker_timestamp(record.timestamp_ms));
        future_record.partition = partition;
        future_record.key = record.key.as_ref().map(Bytes::as_slice);
        future_record.payload = record.value.as_ref().map(Bytes::as_slice);
        if !record.headers.is_empty() {
            let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
            for header in &record.headers {
                headers = headers.insert(KafkaHeader {
                    key: &header.key,
                    value: header.value.as_ref().map(Bytes::as_slice),
                });
            }
            future_record.headers = Some(headers);
        }
        match self.producer.send_result(future_record) {
            Ok(delivery) => Ok(Delivered::Pending(delivery)),
            Err((error, _)) => Ok(Delivered::Done(classify(API, &error).map(Err)?)),
        }
    }

    /// A consumer for assign-mode reads and offset commits; `group` is the broker's group id.
    fn consumer(&self, group: Option<&str>) -> Result<BaseConsumer, AdapterError> {
        if group.is_some_and(str::is_empty) {
            return Err(AdapterError::unsupported(
                "Consumer",
                "librdkafka refuses to create a consumer with an empty group.id, so it cannot \
                 send a request for the empty group",
            ));
        }
        let mut config = client_config(&self.config.bootstrap, self.config.op_timeout_ms);
        config
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            // A read outside the log is the broker's OFFSET_OUT_OF_RANGE, not a silent reset.
            .set("auto.offset.reset", "error")
            .set("enable.partition.eof", "true")
            .set("fetch.wait.max.ms", FETCH_POLL_MS.to_string());
        // librdkafka's consumer wants a group id even in assign mode, where it joins nothing
        // and commits nothing; a fixed one in this run's namespace keeps it out of the way.
        let assign_group = self.config.names.group("streamspec-assign");
        config.set("group.id", group.unwrap_or(&assign_group));
        config
            .create()
            .map_err(|e| AdapterError::client("Consumer", e.to_string()))
    }

    /// `(log start, high watermark)` from ListOffsets, or the broker's refusal.
    fn watermarks(
        &self,
        consumer: &BaseConsumer,
        topic: &str,
        partition: i32,
    ) -> Result<Result<(i64, i64), ErrorCode>, AdapterError> {
        match consumer.fetch_watermarks(topic, partition, self.timeout()) {
            Ok(marks) => Ok(Ok(marks)),
            Err(error) => classify("ListOffsets", &error).map(Err),
        }
    }

    /// Fetch: the watermarks first, then the records from `offset` below that high watermark,
    /// so the reply shows the log as it was when the watermarks were taken (records are
    /// immutable, so reading them a moment later gives the same records).
    fn fetch(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        max_records: u32,
        max_bytes: u64,
    ) -> Outcome {
        const API: &str = "Fetch";
        let name = self.config.names.topic(topic);
        let consumer = self.consumer(None)?;
        let (log_start_offset, high_watermark) =
            match self.watermarks(&consumer, &name, partition)? {
                Ok(marks) => marks,
                Err(code) => return Ok(Err(code)),
            };
        if !(1..=FETCH_RECORDS_MAX).contains(&max_records) {
            return Ok(Err(ErrorCode::InvalidRequest));
        }
        let mut assignment = TopicPartitionList::new();
        assignment
            .add_partition_offset(&name, partition, Offset::Offset(offset))
            .map_err(|e| AdapterError::client(API, e.to_string()))?;
        consumer
            .assign(&assignment)
            .map_err(|e| AdapterError::client(API, e.to_string()))?;
        let mut records = Vec::new();
        let mut size_bytes = 0u64;
        let deadline = Instant::now() + self.timeout();
        let mut last_progress = Instant::now();
        let mut next = offset;
        // Outside the log the adapter does not decide: it waits for the broker's answer (an
        // error, or an end of partition) even though no record is expected.
        let mut awaiting_answer = offset < log_start_offset || offset > high_watermark;
        'read: while awaiting_answer
            || (next < high_watermark && records.len() < max_records as usize)
        {
            if Instant::now() > deadline {
                return Err(AdapterError::timeout(
                    API,
                    format!("read up to offset {next} of {name}-{partition}, expected up to {high_watermark}"),
                ));
            }
            let Some(polled) = consumer.poll(Duration::from_millis(FETCH_POLL_MS)) else {
                // librdkafka fetches again every `fetch.wait.max.ms`; a broker that keeps
                // answering without the records (or the error) expected has answered.
                if last_progress.elapsed() > Duration::from_millis(FETCH_STALL_MS) {
                    break 'read;
                }
                continue;
            };
            last_progress = Instant::now();
            awaiting_answer = false;
            let message = match polled {
                Ok(message) => message,
                Err(KafkaError::PartitionEOF(_)) => break 'read,
                Err(error) => return classify(API, &error).map(Err),
            };
            if message.offset() < next {
                continue;
            }
            if message.offset() >= high_watermark {
                break 'read;
            }
            let record = self.stored_record(&message);
            let record_bytes = record.size_bytes();
            if !records.is_empty() && size_bytes + record_bytes > max_bytes {
                break 'read;
            }
            size_bytes += record_bytes;
            next = message.offset() + 1;
            records.push(record);
        }
        Ok(Ok(Reply::Fetched {
            records,
            high_watermark,
            log_start_offset,
        }))
    }

    /// Every record of a partition from `offset`, read until the broker signals the end of
    /// the partition (librdkafka's end-of-partition event, which follows the high watermark of
    /// the Fetch responses themselves) or stops giving records. Not a model op: the workload's
    /// drain uses it to learn the final log without relying on ListOffsets.
    pub fn read_to_end(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
    ) -> Result<Vec<StoredRecord>, AdapterError> {
        const API: &str = "Fetch";
        let name = self.config.names.topic(topic);
        let consumer = self.consumer(None)?;
        let mut assignment = TopicPartitionList::new();
        assignment
            .add_partition_offset(&name, partition, Offset::Offset(offset))
            .map_err(|e| AdapterError::client(API, e.to_string()))?;
        consumer
            .assign(&assignment)
            .map_err(|e| AdapterError::client(API, e.to_string()))?;
        let mut records: Vec<StoredRecord> = Vec::new();
        let mut last_progress = Instant::now();
        loop {
            if last_progress.elapsed() > Duration::from_millis(FETCH_STALL_MS) {
                return Ok(records);
            }
            let Some(polled) = consumer.poll(Duration::from_millis(FETCH_POLL_MS)) else {
                continue;
            };
            last_progress = Instant::now();
            match polled {
                Ok(message) => records.push(self.stored_record(&message)),
                Err(KafkaError::PartitionEOF(_)) => return Ok(records),
                Err(error) => {
                    return Err(match classify(API, &error) {
                        Ok(code) => AdapterError::client(
                            API,
                            format!("reading {name}-{partition} to its end: {}", code.name()),
                        ),
                        Err(adapter) => adapter,
                    })
                }
            }
        }
    }

    /// A fetched message as the model's stored record, on the model's clock.
    fn stored_record<M: Message>(&self, message: &M) -> StoredRecord {
        let headers = message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|header| Header {
                        key: header.key.to_string(),
                        value: header.value.map(Bytes::from),
                    })
                    .collect()
            })
            .unwrap_or_default();
        StoredRecord {
            offset: message.offset(),
            timestamp_ms: message
                .timestamp()
                .to_millis()
                .map_or(-1, |ms| self.model_timestamp(ms)),
            key: message.key().map(Bytes::from),
            value: message.payload().map(Bytes::from),
            headers,
        }
    }

    fn list_offsets(&self, topic: &str, partition: i32, spec: OffsetSpec) -> Outcome {
        const API: &str = "ListOffsets";
        let name = self.config.names.topic(topic);
        let consumer = self.consumer(None)?;
        let timestamp_ms = match spec {
            OffsetSpec::Earliest | OffsetSpec::Latest => {
                let (low, high) = match self.watermarks(&consumer, &name, partition)? {
                    Ok(marks) => marks,
                    Err(code) => return Ok(Err(code)),
                };
                let offset = if spec == OffsetSpec::Earliest {
                    low
                } else {
                    high
                };
                return Ok(Ok(Reply::ListedOffset {
                    offset: Some(offset),
                    timestamp_ms: None,
                }));
            }
            OffsetSpec::MaxTimestamp => {
                return Err(AdapterError::unsupported(
                    API,
                    "librdkafka's offsets_for_times cannot send MAX_TIMESTAMP (-3)",
                ))
            }
            OffsetSpec::Timestamp { timestamp_ms } if timestamp_ms < 0 => {
                return Err(AdapterError::unsupported(
                    API,
                    "a negative timestamp is one of Kafka's special ListOffsets values \
                     (-1 latest, -2 earliest), which librdkafka sends as such",
                ))
            }
            OffsetSpec::Timestamp { timestamp_ms } => timestamp_ms,
        };
        let mut query = TopicPartitionList::new();
        query
            .add_partition_offset(
                &name,
                partition,
                Offset::Offset(self.broker_timestamp(Some(timestamp_ms))),
            )
            .map_err(|e| AdapterError::client(API, e.to_string()))?;
        let answer = match consumer.offsets_for_times(query, self.timeout()) {
            Ok(answer) => answer,
            Err(error) => return classify(API, &error).map(Err),
        };
        let Some(element) = answer.find_partition(&name, partition) else {
            return Err(AdapterError::client(API, "the answer lacks the partition"));
        };
        if let Err(error) = element.error() {
            return classify(API, &error).map(Err);
        }
        let offset = match element.offset() {
            Offset::Offset(offset) => offset,
            Offset::End | Offset::Invalid => {
                return Ok(Ok(Reply::ListedOffset {
                    offset: None,
                    timestamp_ms: None,
                }))
            }
            other => {
                return Err(AdapterError::client(
                    API,
                    format!("unexpected offset {other:?} in the answer"),
                ))
            }
        };
        // librdkafka returns only the offset; Kafka's answer also carries the record's
        // timestamp, which the model's reply has, so read that record.
        let found = match self.fetch(topic, partition, offset, 1, u64::MAX)? {
            Ok(Reply::Fetched { records, .. }) => records.into_iter().next(),
            Ok(_) => None,
            Err(code) => return Ok(Err(code)),
        };
        let Some(found) = found else {
            return Err(AdapterError::client(
                API,
                format!("the record at offset {offset} it named could not be read"),
            ));
        };
        Ok(Ok(Reply::ListedOffset {
            offset: Some(offset),
            timestamp_ms: Some(found.timestamp_ms),
        }))
    }

    fn delete_records(&self, topic: &str, partition: i32, offset: i64) -> Outcome {
        const API: &str = "DeleteRecords";
        let name = self.config.names.topic(topic);
        let mut request = TopicPartitionList::new();
        let target = if offset == -1 {
            Offset::End
        } else {
            Offset::Offset(offset)
        };
        request
            .add_partition_offset(&name, partition, target)
            .map_err(|e| AdapterError::client(API, e.to_string()))?;
        let answer = match block_on(self.admin.delete_records(&request, &self.admin_options())) {
            Ok(answer) => answer,
            Err(error) => return classify(API, &error).map(Err),
        };
        let Some(element) = answer.find_partition(&name, partition) else {
            return Err(AdapterError::client(API, "the answer lacks the partition"));
        };
        if let Err(error) = element.error() {
            return classify(API, &error).map(Err);
        }
        match element.offset() {
            Offset::Offset(low_watermark) => Ok(Ok(Reply::LowWatermark { low_watermark })),
            other => Err(AdapterError::client(
                API,
                format!("unexpected low watermark {other:?} in the answer"),
            )),
        }
    }

    fn simple_commit(
        &self,
        group: &str,
        generation: i32,
        topic: &str,
        partition: i32,
        offset: i64,
        metadata: &str,
    ) -> Outcome {
        const API: &str = "OffsetCommit";
        if generation != -1 {
            return Err(AdapterError::unsupported(
                API,
                "a simple commit with a generation other than -1 (librdkafka sends -1 for a \
                 consumer outside the group protocol)",
            ));
        }
        let consumer = self.consumer(Some(&self.config.names.group(group)))?;
        let name = self.config.names.topic(topic);
        let mut offsets = TopicPartitionList::new();
        let mut element = offsets.add_partition(&name, partition);
        element
            .set_offset(Offset::Offset(offset))
            .map_err(|e| AdapterError::client(API, e.to_string()))?;
        element.set_metadata(metadata);
        match consumer.commit(&offsets, CommitMode::Sync) {
            Ok(()) => Ok(Ok(Reply::Ack)),
            Err(error) => classify(API, &error).map(Err),
        }
    }

    fn committed(&self, group: &str, topic: &str, partition: i32) -> Outcome {
        const API: &str = "OffsetFetch";
        let consumer = self.consumer(Some(&self.config.names.group(group)))?;
        let name = self.config.names.topic(topic);
        let mut query = TopicPartitionList::new();
        query.add_partition(&name, partition);
        let answer = match consumer.committed_offsets(query, self.timeout()) {
            Ok(answer) => answer,
            Err(error) => return classify(API, &error).map(Err),
        };
        let Some(element) = answer.find_partition(&name, partition) else {
            return Err(AdapterError::client(API, "the answer lacks the partition"));
        };
        if let Err(error) = element.error() {
            return classify(API, &error).map(Err);
        }
        Ok(Ok(match element.offset() {
            Offset::Offset(offset) => Reply::CommittedOffset {
                offset: Some(offset),
                metadata: Some(element.metadata().to_string()),
            },
            _ => Reply::CommittedOffset {
                offset: None,
                metadata: None,
            },
        }))
    }
}

/// A queued record's delivery: still to come, or already known (refused before sending).
enum Delivered {
    Pending(rdkafka::producer::DeliveryFuture),
    Done(Result<(i32, i64), ErrorCode>),
}

/// Wait for a delivery: `(partition, offset)` or the broker's refusal.
fn await_delivery(delivery: Delivered) -> Result<Result<(i32, i64), ErrorCode>, AdapterError> {
    const API: &str = "Produce";
    match delivery {
        Delivered::Done(result) => Ok(result),
        Delivered::Pending(future) => match block_on(future) {
            Err(_) => Err(AdapterError::client(API, "the delivery report was dropped")),
            Ok(Ok(delivered)) => Ok(Ok((delivered.partition, delivered.offset))),
            Ok(Err((error, _))) => classify(API, &error).map(Err),
        },
    }
}

fn group_unsupported(api: &'static str) -> AdapterError {
    AdapterError::unsupported(
        api,
        "librdkafka runs the consumer group protocol itself: the broker chooses member ids, \
         and generations are not exposed (group mode is checked natively by `streamspec kafka`)",
    )
}

fn admin_error(api: &'static str, error: &KafkaError) -> AdapterError {
    match classify(api, error) {
        Ok(code) => AdapterError::client(
            api,
            format!("the whole request failed with {}", code.name()),
        ),
        Err(adapter) => adapter,
    }
}

/// The one topic's result of a CreateTopics or DeleteTopics answer.
fn single_topic_result(api: &'static str, results: Vec<rdkafka::admin::TopicResult>) -> Outcome {
    let [result] = <[_; 1]>::try_from(results)
        .map_err(|all| AdapterError::client(api, format!("{} results for one topic", all.len())))?;
    match result {
        Ok(_) => Ok(Ok(Reply::Ack)),
        Err((_, code)) => match crate::error::model_error(code) {
            Some(model) => Ok(Err(model)),
            None => Err(crate::error::classify_unmapped(
                api,
                code,
                format!("{code:?}"),
            )),
        },
    }
}
