//! Every op of docs/model.md, its effect and each of its errors, in the documented order.
//!
//! Method: drive the model only through `apply` (or the typed wrappers over it), and after
//! every op check every invariant, so each test also exercises `invariants::check_all`.

use super::*;
use crate::config::{
    Assignor, RetentionPolicy, ID_LENGTH_MAX, MAX_MESSAGE_BYTES_LIMIT, PRODUCERS_COUNT_MAX,
    TOPIC_NAME_LENGTH_MAX,
};
use crate::invariants::check_all;
use crate::op::MemberDescription;
use crate::record::{Header, RECORD_OVERHEAD_BYTES};

/// Applies `op`, checks every invariant on the step, and returns the result.
fn run(model: &mut Model, op: Op) -> Ret {
    let before = model.clone();
    let ret = model.apply(&op);
    if let Err(violation) = check_all(&before, &op, &ret, model) {
        panic!("{violation} after {op:?} -> {ret:?}");
    }
    ret
}

fn err(model: &mut Model, op: Op) -> ErrorCode {
    match run(model, op.clone()) {
        Err(code) => code,
        Ok(reply) => panic!("{op:?} should fail but replied {reply:?}"),
    }
}

fn create(topic: &str, partitions: i32) -> Op {
    create_with(topic, partitions, TopicConfig::default())
}

fn create_with(topic: &str, partitions: i32, config: TopicConfig) -> Op {
    Op::CreateTopic {
        topic: topic.into(),
        partitions,
        config,
    }
}

fn produce(topic: &str, partition: Option<i32>, records: Vec<Record>) -> Op {
    Op::Produce {
        topic: topic.into(),
        partition,
        records,
        producer: None,
    }
}

fn idempotent(topic: &str, partition: i32, count: usize, batch: ProducerBatch) -> Op {
    Op::Produce {
        topic: topic.into(),
        partition: Some(partition),
        records: (0..count)
            .map(|i| Record::value(format!("v{i}").as_str()))
            .collect(),
        producer: Some(batch),
    }
}

fn batch(producer_id: i64, producer_epoch: i16, base_sequence: i32) -> ProducerBatch {
    ProducerBatch {
        producer_id,
        producer_epoch,
        base_sequence,
    }
}

fn values(n: usize) -> Vec<Record> {
    (0..n)
        .map(|i| Record::value(format!("v{i}").as_str()))
        .collect()
}

fn at(timestamp_ms: i64) -> Record {
    Record {
        timestamp_ms: Some(timestamp_ms),
        ..Record::value("x")
    }
}

fn fetch(topic: &str, partition: i32, offset: i64, max_records: u32, max_bytes: u64) -> Op {
    Op::Fetch {
        topic: topic.into(),
        partition,
        offset,
        max_records,
        max_bytes,
    }
}

fn list(topic: &str, partition: i32, spec: OffsetSpec) -> Op {
    Op::ListOffsets {
        topic: topic.into(),
        partition,
        spec,
    }
}

fn join(group: &str, member: &str, topics: &[&str]) -> Op {
    join_with(
        group,
        member,
        topics,
        Assignor::Range,
        OffsetReset::Earliest,
    )
}

fn join_with(
    group: &str,
    member: &str,
    topics: &[&str],
    assignor: Assignor,
    reset: OffsetReset,
) -> Op {
    Op::JoinGroup {
        group: group.into(),
        member: member.into(),
        topics: topics.iter().map(|t| t.to_string()).collect(),
        assignor,
        session_timeout_ms: 10_000,
        auto_offset_reset: reset,
    }
}

fn poll(group: &str, member: &str, generation: i32, max_records: u32) -> Op {
    Op::Poll {
        group: group.into(),
        member: member.into(),
        generation,
        max_records,
    }
}

fn heartbeat(group: &str, member: &str, generation: i32) -> Op {
    Op::Heartbeat {
        group: group.into(),
        member: member.into(),
        generation,
    }
}

fn commit(group: &str, member: Option<&str>, generation: i32, tp: (&str, i32), offset: i64) -> Op {
    Op::Commit {
        group: group.into(),
        member: member.map(Into::into),
        generation,
        topic: tp.0.into(),
        partition: tp.1,
        offset,
        metadata: String::new(),
    }
}

fn committed(group: &str, tp: (&str, i32)) -> Op {
    Op::Committed {
        group: group.into(),
        topic: tp.0.into(),
        partition: tp.1,
    }
}

fn joined(ret: Ret) -> (i32, Vec<TopicPartition>) {
    match ret {
        Ok(Reply::Joined {
            generation,
            assignment,
        }) => (generation, assignment),
        other => panic!("not joined: {other:?}"),
    }
}

fn polled_offsets(ret: Ret) -> Vec<(String, i32, i64)> {
    match ret {
        Ok(Reply::Polled { records }) => records
            .into_iter()
            .map(|r| (r.topic, r.partition, r.record.offset))
            .collect(),
        other => panic!("not polled: {other:?}"),
    }
}

fn fetched_offsets(ret: Ret) -> Vec<i64> {
    match ret {
        Ok(Reply::Fetched { records, .. }) => records.into_iter().map(|r| r.offset).collect(),
        other => panic!("not fetched: {other:?}"),
    }
}

fn produced(partition: i32, base_offset: i64) -> Ret {
    Ok(Reply::Produced {
        partition,
        base_offset,
        log_append_time_ms: None,
    })
}

fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition::new(topic, partition)
}

// ------------------------------------------------------------------------------ clock

#[test]
fn tick_advances_the_clock_and_refuses_too_large_steps() {
    let mut model = Model::new();
    assert_eq!(run(&mut model, Op::Tick { ms: 5 }), Ok(Reply::Ack));
    assert_eq!(model.now_ms(), 5);
    assert_eq!(
        err(
            &mut model,
            Op::Tick {
                ms: TICK_MS_MAX + 1
            }
        ),
        ErrorCode::InvalidRequest
    );
    assert_eq!(model.now_ms(), 5);
    assert_eq!(
        run(&mut model, Op::Tick { ms: TICK_MS_MAX }),
        Ok(Reply::Ack)
    );
}

#[test]
fn tick_refuses_to_overflow_the_clock() {
    let mut model = Model::new();
    model.now_ms = i64::MAX - 1;
    assert_eq!(
        err(&mut model, Op::Tick { ms: 2 }),
        ErrorCode::InvalidRequest
    );
    assert_eq!(run(&mut model, Op::Tick { ms: 1 }), Ok(Reply::Ack));
    assert_eq!(model.now_ms(), i64::MAX);
}

// ------------------------------------------------------------------------------ topics

#[test]
fn create_topic_makes_empty_partitions() {
    let mut model = Model::new();
    assert_eq!(run(&mut model, create("orders", 3)), Ok(Reply::Ack));
    assert_eq!(model.partition_count("orders"), Some(3));
    for p in 0..3 {
        assert_eq!(model.log_start_offset("orders", p), Some(0));
        assert_eq!(model.high_watermark("orders", p), Some(0));
    }
    assert_eq!(model.high_watermark("orders", 3), None);
    assert_eq!(model.partition_count("missing"), None);
}

#[test]
fn create_topic_errors_come_in_the_documented_order() {
    let mut model = Model::new();
    run(&mut model, create("t", 1)).unwrap();
    let bad_config = TopicConfig {
        retention_ms: -2,
        ..TopicConfig::default()
    };
    // 1. the name beats everything.
    assert_eq!(
        err(&mut model, create_with("bad name!", 0, bad_config.clone())),
        ErrorCode::InvalidTopicException
    );
    for name in ["", ".", "..", &"x".repeat(TOPIC_NAME_LENGTH_MAX + 1)] {
        assert_eq!(
            err(&mut model, create(name, 1)),
            ErrorCode::InvalidTopicException
        );
    }
    // 2. existence beats partitions and config.
    assert_eq!(
        err(&mut model, create_with("t", 0, bad_config.clone())),
        ErrorCode::TopicAlreadyExists
    );
    // 3. partitions beat config.
    for partitions in [0, -1, PARTITIONS_PER_TOPIC_MAX + 1] {
        assert_eq!(
            err(&mut model, create_with("u", partitions, bad_config.clone())),
            ErrorCode::InvalidPartitions
        );
    }
    // 4. config.
    let bad_configs = [
        bad_config,
        TopicConfig {
            retention_bytes: -2,
            ..TopicConfig::default()
        },
        TopicConfig {
            max_message_bytes: 0,
            ..TopicConfig::default()
        },
        TopicConfig {
            max_message_bytes: MAX_MESSAGE_BYTES_LIMIT + 1,
            ..TopicConfig::default()
        },
    ];
    for config in bad_configs {
        assert_eq!(
            err(&mut model, create_with("u", 1, config)),
            ErrorCode::InvalidConfig
        );
    }
    assert_eq!(
        run(&mut model, create("u", PARTITIONS_PER_TOPIC_MAX)),
        Ok(Reply::Ack)
    );
}

#[test]
fn create_topic_stops_at_the_topic_count_limit() {
    let mut model = Model::new();
    for i in 0..TOPICS_COUNT_MAX {
        model.apply(&create(&format!("t{i}"), 1)).unwrap();
    }
    let bad_partitions = create("one-more", 0);
    assert_eq!(
        err(&mut model, bad_partitions),
        ErrorCode::InvalidPartitions
    );
    assert_eq!(
        err(&mut model, create("one-more", 1)),
        ErrorCode::PolicyViolation
    );
    run(&mut model, Op::DeleteTopic { topic: "t0".into() }).unwrap();
    assert_eq!(run(&mut model, create("one-more", 1)), Ok(Reply::Ack));
}

#[test]
fn delete_topic_removes_everything_and_a_new_topic_starts_from_zero() {
    let mut model = Model::new();
    run(&mut model, create("t", 1)).unwrap();
    run(&mut model, produce("t", Some(0), values(3))).unwrap();
    run(&mut model, commit("g", None, -1, ("t", 0), 2)).unwrap();
    assert_eq!(
        err(
            &mut model,
            Op::DeleteTopic {
                topic: "nope".into()
            }
        ),
        ErrorCode::UnknownTopicOrPartition
    );
    assert_eq!(
        err(
            &mut model,
            Op::DeleteTopic {
                topic: "bad name!".into()
            }
        ),
        ErrorCode::UnknownTopicOrPartition
    );
    assert_eq!(
        run(&mut model, Op::DeleteTopic { topic: "t".into() }),
        Ok(Reply::Ack)
    );
    assert_eq!(model.partition_count("t"), None);
    assert_eq!(
        err(&mut model, committed("g", ("t", 0))),
        ErrorCode::UnknownTopicOrPartition
    );
    run(&mut model, create("t", 1)).unwrap();
    assert_eq!(
        run(&mut model, committed("g", ("t", 0))),
        Ok(Reply::CommittedOffset {
            offset: None,
            metadata: None
        }),
        "committed offsets went with the topic"
    );
    assert_eq!(
        run(&mut model, produce("t", Some(0), values(1))),
        produced(0, 0)
    );
}

#[test]
fn creating_or_deleting_a_subscribed_topic_starts_a_new_generation() {
    let mut model = Model::new();
    let (generation, assignment) = joined(run(&mut model, join("g", "m", &["t"])));
    assert_eq!((generation, assignment), (1, vec![]));
    run(&mut model, join("other", "m", &["u"])).unwrap();
    run(&mut model, create("t", 2)).unwrap();
    assert_eq!(model.group("g").unwrap().generation(), 2);
    assert_eq!(
        model.group("other").unwrap().generation(),
        1,
        "not subscribed"
    );
    let (generation, assignment) = joined(run(&mut model, join("g", "m", &["t"])));
    assert_eq!(generation, 2);
    assert_eq!(assignment, [tp("t", 0), tp("t", 1)]);
    run(&mut model, Op::DeleteTopic { topic: "t".into() }).unwrap();
    assert_eq!(model.group("g").unwrap().generation(), 3);
    assert_eq!(joined(run(&mut model, join("g", "m", &["t"]))), (3, vec![]));
}

// ------------------------------------------------------------------------------ produce

#[test]
fn produce_appends_batches_at_dense_offsets() {
    let mut model = Model::new();
    run(&mut model, create("t", 2)).unwrap();
    assert_eq!(
        run(&mut model, produce("t", Some(1), values(3))),
        produced(1, 0)
    );
    assert_eq!(
        run(&mut model, produce("t", Some(1), values(2))),
        produced(1, 3)
    );
    assert_eq!(model.high_watermark("t", 1), Some(5));
    assert_eq!(model.high_watermark("t", 0), Some(0));
    assert_eq!(model.record("t", 1, 3).unwrap().value, Some("v0".into()));
    assert_eq!(model.record("t", 1, 4).unwrap().offset, 4);
}

#[test]
fn keyed_records_go_where_kafkas_partitioner_sends_them() {
    let mut model = Model::new();
    run(&mut model, create("t", 50)).unwrap();
    // toPositive(murmur2("foobar")) % 50 == 16 (see partitioner tests).
    let ret = run(
        &mut model,
        produce("t", None, vec![Record::keyed("foobar", "v")]),
    );
    assert_eq!(ret, produced(16, 0));
    // The first record's key decides for the whole batch.
    let batch = vec![Record::keyed("foobar", "v"), Record::keyed("other", "w")];
    assert_eq!(run(&mut model, produce("t", None, batch)), produced(16, 1));
}

#[test]
fn keyless_batches_go_round_robin_and_only_appends_advance_the_counter() {
    let mut model = Model::new();
    run(&mut model, create("t", 3)).unwrap();
    let mut partitions = vec![];
    for _ in 0..2 {
        match run(&mut model, produce("t", None, values(1))) {
            Ok(Reply::Produced { partition, .. }) => partitions.push(partition),
            other => panic!("{other:?}"),
        }
    }
    // A refused keyless produce (negative timestamp) does not advance the counter.
    err(&mut model, produce("t", None, vec![at(-1)]));
    // Explicit and keyed produces do not either.
    run(&mut model, produce("t", Some(0), values(1))).unwrap();
    run(
        &mut model,
        produce("t", None, vec![Record::keyed("k", "v")]),
    )
    .unwrap();
    for _ in 0..2 {
        match run(&mut model, produce("t", None, values(1))) {
            Ok(Reply::Produced { partition, .. }) => partitions.push(partition),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(partitions, [0, 1, 2, 0]);
}

#[test]
fn produce_errors_come_in_the_documented_order() {
    let mut model = Model::new();
    let small = TopicConfig {
        max_message_bytes: RECORD_OVERHEAD_BYTES + 2,
        ..TopicConfig::default()
    };
    run(&mut model, create_with("t", 2, small)).unwrap();
    let huge = || Record::value("far too large for the topic");
    // 1. the topic beats an empty batch.
    assert_eq!(
        err(&mut model, produce("nope", Some(0), vec![])),
        ErrorCode::UnknownTopicOrPartition
    );
    // 2. the record count beats the partition.
    assert_eq!(
        err(&mut model, produce("t", Some(9), vec![])),
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        err(
            &mut model,
            produce("t", Some(9), values(BATCH_RECORDS_MAX + 1))
        ),
        ErrorCode::RecordListTooLarge
    );
    // 3. the partition beats timestamps.
    for partition in [-1, 2] {
        assert_eq!(
            err(&mut model, produce("t", Some(partition), vec![at(-1)])),
            ErrorCode::UnknownTopicOrPartition
        );
    }
    // 4. timestamps beat size.
    let negative = Record {
        timestamp_ms: Some(-1),
        ..huge()
    };
    assert_eq!(
        err(&mut model, produce("t", Some(0), vec![negative])),
        ErrorCode::InvalidRequest
    );
    // 5. size beats idempotence.
    let op = Op::Produce {
        topic: "t".into(),
        partition: Some(0),
        records: vec![huge()],
        producer: Some(batch(99, 0, -5)),
    };
    assert_eq!(err(&mut model, op), ErrorCode::MessageTooLarge);
    // The batch size is the sum of record sizes.
    let two = vec![Record::value("a"), Record::value("b")];
    assert_eq!(
        err(&mut model, produce("t", Some(0), two)),
        ErrorCode::MessageTooLarge
    );
    assert_eq!(
        run(&mut model, produce("t", Some(0), vec![Record::value("ab")])),
        produced(0, 0)
    );
}

#[test]
fn the_record_size_counts_key_value_and_headers() {
    let mut model = Model::new();
    let exact = TopicConfig {
        max_message_bytes: RECORD_OVERHEAD_BYTES + 1 + 2 + 1 + 1,
        ..TopicConfig::default()
    };
    run(&mut model, create_with("t", 1, exact)).unwrap();
    let record = |header_value: &str| Record {
        key: Some("k".into()),
        value: Some("vv".into()),
        headers: vec![Header {
            key: "h".into(),
            value: Some(header_value.into()),
        }],
        timestamp_ms: None,
    };
    assert_eq!(
        run(&mut model, produce("t", Some(0), vec![record("x")])),
        produced(0, 0)
    );
    assert_eq!(
        err(&mut model, produce("t", Some(0), vec![record("xy")])),
        ErrorCode::MessageTooLarge
    );
}

#[test]
fn create_time_keeps_the_producers_timestamp_and_log_append_time_uses_the_clock() {
    let mut model = Model::new();
    run(&mut model, Op::Tick { ms: 100 }).unwrap();
    run(&mut model, create("create", 1)).unwrap();
    let append = TopicConfig {
        timestamp_type: TimestampType::LogAppendTime,
        ..TopicConfig::default()
    };
    run(&mut model, create_with("append", 1, append)).unwrap();
    let records = vec![at(7), Record::value("now")];
    assert_eq!(
        run(&mut model, produce("create", Some(0), records.clone())),
        produced(0, 0)
    );
    assert_eq!(model.record("create", 0, 0).unwrap().timestamp_ms, 7);
    assert_eq!(model.record("create", 0, 1).unwrap().timestamp_ms, 100);
    assert_eq!(
        run(&mut model, produce("append", Some(0), records)),
        Ok(Reply::Produced {
            partition: 0,
            base_offset: 0,
            log_append_time_ms: Some(100)
        })
    );
    assert_eq!(model.record("append", 0, 0).unwrap().timestamp_ms, 100);
    assert_eq!(model.record("append", 0, 1).unwrap().timestamp_ms, 100);
}

// ------------------------------------------------------------------------------ idempotence

#[test]
fn init_producer_id_issues_ids_and_bumps_transactional_epochs() {
    let mut model = Model::new();
    let init = |id: Option<&str>| Op::InitProducerId {
        transactional_id: id.map(Into::into),
    };
    let reply = |producer_id, producer_epoch| {
        Ok(Reply::ProducerId {
            producer_id,
            producer_epoch,
        })
    };
    assert_eq!(run(&mut model, init(None)), reply(0, 0));
    assert_eq!(run(&mut model, init(Some("tx"))), reply(1, 0));
    assert_eq!(run(&mut model, init(Some("tx"))), reply(1, 1));
    assert_eq!(run(&mut model, init(None)), reply(2, 0));
    assert_eq!(err(&mut model, init(Some(""))), ErrorCode::InvalidRequest);
    let long = "x".repeat(ID_LENGTH_MAX + 1);
    assert_eq!(
        err(&mut model, init(Some(&long))),
        ErrorCode::InvalidRequest
    );
    assert_eq!(model.producer_epoch(1), Some(1));
}

#[test]
fn init_producer_id_stops_at_the_producer_count_limit() {
    let mut model = Model::new();
    for _ in 0..PRODUCERS_COUNT_MAX {
        model.producers.init(None).unwrap();
    }
    let op = Op::InitProducerId {
        transactional_id: None,
    };
    assert_eq!(err(&mut model, op), ErrorCode::PolicyViolation);
}

#[test]
fn a_retried_batch_is_a_duplicate_that_appends_nothing() {
    let mut model = Model::new();
    run(&mut model, create("t", 2)).unwrap();
    run(
        &mut model,
        Op::InitProducerId {
            transactional_id: None,
        },
    )
    .unwrap();
    assert_eq!(
        run(&mut model, idempotent("t", 0, 2, batch(0, 0, 0))),
        produced(0, 0)
    );
    assert_eq!(
        run(&mut model, idempotent("t", 0, 3, batch(0, 0, 2))),
        produced(0, 2)
    );
    let hw = model.high_watermark("t", 0);
    assert_eq!(
        run(&mut model, idempotent("t", 0, 2, batch(0, 0, 0))),
        produced(0, 0)
    );
    assert_eq!(
        run(&mut model, idempotent("t", 0, 3, batch(0, 0, 2))),
        produced(0, 2)
    );
    assert_eq!(
        model.high_watermark("t", 0),
        hw,
        "duplicates append nothing"
    );
    // Sequences are per partition: partition 1 starts at 0.
    assert_eq!(
        run(&mut model, idempotent("t", 1, 1, batch(0, 0, 0))),
        produced(1, 0)
    );
}

#[test]
fn a_duplicate_replies_with_the_original_log_append_time() {
    let mut model = Model::new();
    let append = TopicConfig {
        timestamp_type: TimestampType::LogAppendTime,
        ..TopicConfig::default()
    };
    run(&mut model, create_with("t", 1, append)).unwrap();
    run(
        &mut model,
        Op::InitProducerId {
            transactional_id: None,
        },
    )
    .unwrap();
    let first = run(&mut model, idempotent("t", 0, 1, batch(0, 0, 0)));
    run(&mut model, Op::Tick { ms: 50 }).unwrap();
    assert_eq!(
        run(&mut model, idempotent("t", 0, 1, batch(0, 0, 0))),
        first
    );
    assert!(matches!(
        first,
        Ok(Reply::Produced {
            log_append_time_ms: Some(0),
            ..
        })
    ));
}

#[test]
fn idempotence_errors_come_in_the_documented_order() {
    let mut model = Model::new();
    run(&mut model, create("t", 1)).unwrap();
    let init = Op::InitProducerId {
        transactional_id: Some("tx".into()),
    };
    run(&mut model, init.clone()).unwrap();
    // 6.1 the sequence range beats an unknown producer id.
    assert_eq!(
        err(&mut model, idempotent("t", 0, 1, batch(7, 0, -1))),
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        err(&mut model, idempotent("t", 0, 2, batch(7, 0, i32::MAX))),
        ErrorCode::InvalidRequest
    );
    // 6.2 unknown producer id beats a wrong epoch.
    assert_eq!(
        err(&mut model, idempotent("t", 0, 1, batch(7, 3, 0))),
        ErrorCode::UnknownProducerId
    );
    assert_eq!(
        err(&mut model, idempotent("t", 0, 1, batch(-1, 0, 0))),
        ErrorCode::UnknownProducerId
    );
    // 6.3 epoch.
    assert_eq!(
        err(&mut model, idempotent("t", 0, 1, batch(0, 1, 0))),
        ErrorCode::InvalidProducerEpoch
    );
    // 6.4 sequences: a new producer starts at 0, then continues at last + 1.
    assert_eq!(
        err(&mut model, idempotent("t", 0, 1, batch(0, 0, 1))),
        ErrorCode::OutOfOrderSequenceNumber
    );
    run(&mut model, idempotent("t", 0, 1, batch(0, 0, 0))).unwrap();
    assert_eq!(
        err(&mut model, idempotent("t", 0, 1, batch(0, 0, 2))),
        ErrorCode::OutOfOrderSequenceNumber
    );
    // The last sequence allowed is i32::MAX.
    let mut far = model.clone();
    far.topics.get_mut("t").unwrap().partitions[0]
        .producers
        .get_mut(&0)
        .unwrap()
        .last_sequence = i32::MAX - 2;
    assert!(run(&mut far, idempotent("t", 0, 2, batch(0, 0, i32::MAX - 1))).is_ok());
    // A new epoch fences the old one and restarts sequences at 0.
    run(&mut model, init).unwrap();
    assert_eq!(
        err(&mut model, idempotent("t", 0, 1, batch(0, 0, 1))),
        ErrorCode::InvalidProducerEpoch
    );
    assert_eq!(
        err(&mut model, idempotent("t", 0, 1, batch(0, 1, 1))),
        ErrorCode::OutOfOrderSequenceNumber
    );
    assert_eq!(
        run(&mut model, idempotent("t", 0, 1, batch(0, 1, 0))),
        produced(0, 1)
    );
}

#[test]
fn an_exhausted_epoch_fences_the_old_producer_id() {
    let mut model = Model::new();
    run(&mut model, create("t", 1)).unwrap();
    let init = Op::InitProducerId {
        transactional_id: Some("tx".into()),
    };
    run(&mut model, init.clone()).unwrap();
    model.producers = {
        let mut producers = Producers::default();
        producers.init(Some("tx")).unwrap();
        while producers.epoch(0) != Some(i16::MAX) {
            producers.init(Some("tx")).unwrap();
        }
        producers
    };
    assert!(run(&mut model, idempotent("t", 0, 1, batch(0, i16::MAX, 0))).is_ok());
    assert_eq!(
        run(&mut model, init),
        Ok(Reply::ProducerId {
            producer_id: 1,
            producer_epoch: 0
        })
    );
    assert_eq!(
        err(&mut model, idempotent("t", 0, 1, batch(0, i16::MAX, 1))),
        ErrorCode::InvalidProducerEpoch
    );
}

#[test]
fn deleting_a_topic_forgets_its_producer_state() {
    let mut model = Model::new();
    run(&mut model, create("t", 1)).unwrap();
    run(
        &mut model,
        Op::InitProducerId {
            transactional_id: None,
        },
    )
    .unwrap();
    run(&mut model, idempotent("t", 0, 1, batch(0, 0, 0))).unwrap();
    run(&mut model, Op::DeleteTopic { topic: "t".into() }).unwrap();
    run(&mut model, create("t", 1)).unwrap();
    assert_eq!(
        err(&mut model, idempotent("t", 0, 1, batch(0, 0, 1))),
        ErrorCode::OutOfOrderSequenceNumber
    );
    assert_eq!(
        run(&mut model, idempotent("t", 0, 1, batch(0, 0, 0))),
        produced(0, 0)
    );
}

// ------------------------------------------------------------------------------ fetch

#[test]
fn fetch_reads_in_offset_order_within_the_limits() {
    let mut model = Model::new();
    run(&mut model, create("t", 1)).unwrap();
    run(&mut model, produce("t", Some(0), values(5))).unwrap();
    assert_eq!(
        fetched_offsets(run(&mut model, fetch("t", 0, 1, 2, u64::MAX))),
        [1, 2]
    );
    assert_eq!(
        fetched_offsets(run(&mut model, fetch("t", 0, 3, 100, u64::MAX))),
        [3, 4]
    );
    assert_eq!(
        run(&mut model, fetch("t", 0, 5, 100, u64::MAX)),
        Ok(Reply::Fetched {
            records: vec![],
            high_watermark: 5,
            log_start_offset: 0
        }),
        "at the high watermark: no records"
    );
    // The first record always, even when larger than max_bytes.
    assert_eq!(
        fetched_offsets(run(&mut model, fetch("t", 0, 0, 100, 1))),
        [0]
    );
    let two = 2 * (RECORD_OVERHEAD_BYTES + 2);
    assert_eq!(
        fetched_offsets(run(&mut model, fetch("t", 0, 0, 100, two))),
        [0, 1]
    );
}

#[test]
fn fetch_errors_come_in_the_documented_order() {
    let mut model = Model::new();
    run(&mut model, create("t", 1)).unwrap();
    run(&mut model, produce("t", Some(0), values(3))).unwrap();
    run(
        &mut model,
        Op::DeleteRecords {
            topic: "t".into(),
            partition: 0,
            offset: 1,
        },
    )
    .unwrap();
    assert_eq!(
        err(&mut model, fetch("u", 0, -9, 0, 1)),
        ErrorCode::UnknownTopicOrPartition
    );
    assert_eq!(
        err(&mut model, fetch("t", 1, -9, 0, 1)),
        ErrorCode::UnknownTopicOrPartition
    );
    assert_eq!(
        err(&mut model, fetch("t", 0, -9, 0, 1)),
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        err(&mut model, fetch("t", 0, 0, FETCH_RECORDS_MAX + 1, 1)),
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        err(&mut model, fetch("t", 0, 0, 1, 1)),
        ErrorCode::OffsetOutOfRange
    );
    assert_eq!(
        err(&mut model, fetch("t", 0, 4, 1, 1)),
        ErrorCode::OffsetOutOfRange
    );
    assert_eq!(
        run(&mut model, fetch("t", 0, 1, FETCH_RECORDS_MAX, 1)).map(|_| ()),
        Ok(())
    );
}

// ------------------------------------------------------------------------------ list offsets

#[test]
fn list_offsets_answers_each_spec() {
    let mut model = Model::new();
    run(&mut model, create("t", 1)).unwrap();
    run(
        &mut model,
        produce("t", Some(0), vec![at(10), at(30), at(20), at(30)]),
    )
    .unwrap();
    let listed = |offset: Option<i64>, timestamp_ms: Option<i64>| {
        Ok(Reply::ListedOffset {
            offset,
            timestamp_ms,
        })
    };
    assert_eq!(
        run(&mut model, list("t", 0, OffsetSpec::Earliest)),
        listed(Some(0), None)
    );
    assert_eq!(
        run(&mut model, list("t", 0, OffsetSpec::Latest)),
        listed(Some(4), None)
    );
    let ts = |timestamp_ms| OffsetSpec::Timestamp { timestamp_ms };
    assert_eq!(
        run(&mut model, list("t", 0, ts(15))),
        listed(Some(1), Some(30))
    );
    assert_eq!(
        run(&mut model, list("t", 0, ts(0))),
        listed(Some(0), Some(10))
    );
    assert_eq!(run(&mut model, list("t", 0, ts(31))), listed(None, None));
    assert_eq!(
        run(&mut model, list("t", 0, OffsetSpec::MaxTimestamp)),
        listed(Some(1), Some(30)),
        "the lowest offset on a tie"
    );
    run(
        &mut model,
        Op::DeleteRecords {
            topic: "t".into(),
            partition: 0,
            offset: 4,
        },
    )
    .unwrap();
    assert_eq!(
        run(&mut model, list("t", 0, OffsetSpec::MaxTimestamp)),
        listed(None, None)
    );
    assert_eq!(run(&mut model, list("t", 0, ts(0))), listed(None, None));
    assert_eq!(
        run(&mut model, list("t", 0, OffsetSpec::Earliest)),
        listed(Some(4), None)
    );
}

#[test]
fn list_offsets_errors_come_in_the_documented_order() {
    let mut model = Model::new();
    run(&mut model, create("t", 1)).unwrap();
    let negative = OffsetSpec::Timestamp { timestamp_ms: -1 };
    assert_eq!(
        err(&mut model, list("u", 0, negative)),
        ErrorCode::UnknownTopicOrPartition
    );
    assert_eq!(
        err(&mut model, list("t", -1, negative)),
        ErrorCode::UnknownTopicOrPartition
    );
    assert_eq!(
        err(&mut model, list("t", 0, negative)),
        ErrorCode::InvalidRequest
    );
}

// ------------------------------------------------------------------------------ retention

fn retained(model: &mut Model) -> Vec<(String, i32, i64)> {
    match run(model, Op::EnforceRetention) {
        Ok(Reply::Retained { advanced }) => advanced
            .into_iter()
            .map(|a| (a.topic, a.partition, a.log_start_offset))
            .collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn time_retention_removes_the_expired_prefix() {
    let mut model = Model::new();
    let config = TopicConfig {
        retention_ms: 100,
        ..TopicConfig::default()
    };
    run(&mut model, create_with("t", 1, config)).unwrap();
    run(
        &mut model,
        produce("t", Some(0), vec![at(0), at(200), at(0)]),
    )
    .unwrap();
    run(&mut model, Op::Tick { ms: 250 }).unwrap();
    assert_eq!(model.eligible_log_start("t", 0), Some(1));
    assert_eq!(retained(&mut model), [("t".to_string(), 0, 1)]);
    assert_eq!(retained(&mut model), [], "nothing more is eligible yet");
    run(&mut model, Op::Tick { ms: 51 }).unwrap();
    assert_eq!(retained(&mut model), [("t".to_string(), 0, 3)]);
    assert_eq!(
        model.high_watermark("t", 0),
        Some(3),
        "the high watermark stays"
    );
    assert_eq!(model.eligible_log_start("t", 9), None);
}

#[test]
fn size_retention_keeps_at_least_retention_bytes() {
    let mut model = Model::new();
    let record_bytes = (RECORD_OVERHEAD_BYTES + 2) as i64; // "v0".."v9"
    let config = TopicConfig {
        retention_bytes: 2 * record_bytes + 1,
        retention_ms: -1,
        ..TopicConfig::default()
    };
    run(&mut model, create_with("t", 2, config)).unwrap();
    run(&mut model, produce("t", Some(1), values(5))).unwrap();
    assert_eq!(retained(&mut model), [("t".to_string(), 1, 2)]);
    assert_eq!(model.log_start_offset("t", 0), Some(0));
}

#[test]
fn consumed_retention_waits_for_every_subscribed_group() {
    let mut model = Model::new();
    let config = TopicConfig {
        retention_policy: RetentionPolicy::Consumed,
        retention_ms: -1,
        ..TopicConfig::default()
    };
    run(&mut model, create_with("t", 2, config)).unwrap();
    run(&mut model, produce("t", Some(0), values(4))).unwrap();
    run(&mut model, produce("t", Some(1), values(4))).unwrap();
    assert_eq!(
        retained(&mut model),
        [],
        "no subscribed group: nothing goes"
    );
    run(&mut model, commit("a", None, -1, ("t", 0), 3)).unwrap();
    assert_eq!(
        retained(&mut model),
        [("t".to_string(), 0, 3)],
        "a's missing commit for partition 1 counts as 0"
    );
    let (generation, _) = joined(run(&mut model, join("b", "m", &["t"])));
    assert_eq!(retained(&mut model), [], "b has committed nothing");
    run(&mut model, commit("b", Some("m"), generation, ("t", 0), 4)).unwrap();
    run(&mut model, commit("b", Some("m"), generation, ("t", 1), 2)).unwrap();
    run(&mut model, commit("a", None, -1, ("t", 1), 9)).unwrap();
    assert_eq!(
        retained(&mut model),
        [("t".to_string(), 1, 2)],
        "partition 0 is at min(3, 4); partition 1 at min(9 clamped to 4, 2)"
    );
}

#[test]
fn delete_policy_topics_ignore_consumption() {
    let mut model = Model::new();
    run(&mut model, create("t", 1)).unwrap();
    run(&mut model, produce("t", Some(0), values(2))).unwrap();
    run(&mut model, commit("a", None, -1, ("t", 0), 2)).unwrap();
    assert_eq!(retained(&mut model), []);
}

#[test]
fn retention_reports_advances_in_topic_partition_order() {
    let mut model = Model::new();
    let config = TopicConfig {
        retention_bytes: 0,
        ..TopicConfig::default()
    };
    for topic in ["b", "a"] {
        run(&mut model, create_with(topic, 2, config.clone())).unwrap();
        run(&mut model, produce(topic, Some(1), values(1))).unwrap();
        run(&mut model, produce(topic, Some(0), values(2))).unwrap();
    }
    assert_eq!(
        retained(&mut model),
        [
            ("a".to_string(), 0, 2),
            ("a".to_string(), 1, 1),
            ("b".to_string(), 0, 2),
            ("b".to_string(), 1, 1)
        ]
    );
}

#[test]
fn delete_records_advances_the_log_start_on_request() {
    let mut model = Model::new();
    run(&mut model, create("t", 1)).unwrap();
    run(&mut model, produce("t", Some(0), values(5))).unwrap();
    let delete = |offset| Op::DeleteRecords {
        topic: "t".into(),
        partition: 0,
        offset,
    };
    let low = |low_watermark| Ok(Reply::LowWatermark { low_watermark });
    assert_eq!(run(&mut model, delete(2)), low(2));
    assert_eq!(run(&mut model, delete(1)), low(2), "never backwards");
    assert_eq!(err(&mut model, delete(6)), ErrorCode::OffsetOutOfRange);
    assert_eq!(err(&mut model, delete(-2)), ErrorCode::OffsetOutOfRange);
    assert_eq!(
        run(&mut model, delete(-1)),
        low(5),
        "-1 is the high watermark"
    );
    assert_eq!(model.high_watermark("t", 0), Some(5));
    let unknown = Op::DeleteRecords {
        topic: "t".into(),
        partition: 1,
        offset: -7,
    };
    assert_eq!(err(&mut model, unknown), ErrorCode::UnknownTopicOrPartition);
}

// ------------------------------------------------------------------------------ groups

#[test]
fn join_group_errors_come_in_the_documented_order() {
    let mut model = Model::new();
    let bad = |group: &str, member: &str, timeout: i64, topics: Vec<String>| Op::JoinGroup {
        group: group.into(),
        member: member.into(),
        topics,
        assignor: Assignor::Range,
        session_timeout_ms: timeout,
        auto_offset_reset: OffsetReset::Latest,
    };
    let long = "g".repeat(ID_LENGTH_MAX + 1);
    assert_eq!(
        err(&mut model, bad("", "", 0, vec![])),
        ErrorCode::InvalidGroupId
    );
    assert_eq!(
        err(&mut model, bad(&long, "", 0, vec![])),
        ErrorCode::InvalidGroupId
    );
    assert_eq!(
        err(&mut model, bad("g", "", 0, vec![])),
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        err(&mut model, bad("g", &long, 0, vec![])),
        ErrorCode::InvalidRequest
    );
    for timeout in [SESSION_TIMEOUT_MS_MIN - 1, SESSION_TIMEOUT_MS_MAX + 1] {
        assert_eq!(
            err(&mut model, bad("g", "m", timeout, vec![])),
            ErrorCode::InvalidSessionTimeout
        );
    }
    assert_eq!(
        err(&mut model, bad("g", "m", SESSION_TIMEOUT_MS_MIN, vec![])),
        ErrorCode::InvalidRequest
    );
    let too_many: Vec<String> = (0..=SUBSCRIBED_TOPICS_MAX)
        .map(|i| format!("t{i}"))
        .collect();
    assert_eq!(
        err(&mut model, bad("g", "m", SESSION_TIMEOUT_MS_MAX, too_many)),
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        err(
            &mut model,
            bad("g", "m", 10_000, vec!["ok".into(), "bad name!".into()])
        ),
        ErrorCode::InvalidTopicException
    );
    assert!(model.group("g").is_none(), "refused joins create no group");
    run(&mut model, join("g", "m1", &["t"])).unwrap();
    let round_robin = join_with("g", "m2", &["t"], Assignor::RoundRobin, OffsetReset::Latest);
    assert_eq!(
        err(&mut model, round_robin.clone()),
        ErrorCode::InconsistentGroupProtocol
    );
    // The only member may switch assignors: nobody else uses the old one.
    let switch = join_with("g", "m1", &["t"], Assignor::RoundRobin, OffsetReset::Latest);
    assert_eq!(joined(run(&mut model, switch)).0, 1);
    assert_eq!(joined(run(&mut model, round_robin)).0, 2);
}

#[test]
fn join_group_stops_at_the_group_and_member_limits() {
    let mut model = Model::new();
    for i in 0..GROUP_MEMBERS_MAX {
        run(&mut model, join("g", &format!("m{i}"), &["t"])).unwrap();
    }
    let one_more = join_with(
        "g",
        "late",
        &["t"],
        Assignor::RoundRobin,
        OffsetReset::Latest,
    );
    assert_eq!(
        err(&mut model, one_more),
        ErrorCode::InconsistentGroupProtocol,
        "the assignor check comes before the size check"
    );
    assert_eq!(
        err(&mut model, join("g", "late", &["t"])),
        ErrorCode::GroupMaxSizeReached
    );
    assert!(
        run(&mut model, join("g", "m0", &["u"])).is_ok(),
        "known members may rejoin"
    );

    for i in 1..GROUPS_COUNT_MAX {
        model.apply(&join(&format!("g{i}"), "m", &["t"])).unwrap();
    }
    assert_eq!(
        err(&mut model, join("new", "m", &["t"])),
        ErrorCode::PolicyViolation
    );
    assert_eq!(
        err(&mut model, commit("new", None, -1, ("t", 0), 0)),
        ErrorCode::PolicyViolation
    );
    assert!(
        run(&mut model, join("g1", "m2", &["t"])).is_ok(),
        "existing groups still grow"
    );
}

#[test]
fn join_group_rebalances_on_membership_and_subscription_changes_only() {
    let mut model = Model::new();
    run(&mut model, create("t", 3)).unwrap();
    run(&mut model, create("u", 1)).unwrap();
    assert_eq!(joined(run(&mut model, join("g", "b", &["t"]))).0, 1);
    let (generation, assignment) = joined(run(&mut model, join("g", "a", &["t", "t"])));
    assert_eq!(generation, 2);
    assert_eq!(assignment, [tp("t", 0), tp("t", 1)]);
    // b rejoins with the same set: it learns generation 2 and its assignment.
    assert_eq!(
        joined(run(&mut model, join("g", "b", &["t"]))),
        (2, vec![tp("t", 2)])
    );
    // a's set changes: a new generation.
    let (generation, assignment) = joined(run(&mut model, join("g", "a", &["u", "t"])));
    assert_eq!(
        (generation, assignment),
        (3, vec![tp("t", 0), tp("t", 1), tp("u", 0)])
    );
    assert_eq!(
        run(&mut model, Op::DescribeGroup { group: "g".into() }),
        Ok(Reply::Group {
            generation: 3,
            members: vec![
                MemberDescription {
                    member: "a".into(),
                    topics: vec!["t".into(), "u".into()],
                    assignment: vec![tp("t", 0), tp("t", 1), tp("u", 0)],
                },
                MemberDescription {
                    member: "b".into(),
                    topics: vec!["t".into()],
                    assignment: vec![tp("t", 2)],
                },
            ]
        })
    );
}

#[test]
fn leave_group_rebalances_and_refuses_strangers() {
    let mut model = Model::new();
    run(&mut model, create("t", 2)).unwrap();
    run(&mut model, join("g", "a", &["t"])).unwrap();
    run(&mut model, join("g", "b", &["t"])).unwrap();
    let leave = |group: &str, member: &str| Op::LeaveGroup {
        group: group.into(),
        member: member.into(),
    };
    assert_eq!(err(&mut model, leave("", "a")), ErrorCode::InvalidGroupId);
    assert_eq!(err(&mut model, leave("h", "a")), ErrorCode::UnknownMemberId);
    assert_eq!(err(&mut model, leave("g", "c")), ErrorCode::UnknownMemberId);
    assert_eq!(run(&mut model, leave("g", "a")), Ok(Reply::Ack));
    let group = model.group("g").unwrap();
    assert_eq!(group.generation(), 3);
    assert_eq!(group.assignment_of("b"), [tp("t", 0), tp("t", 1)]);
    assert_eq!(err(&mut model, leave("g", "a")), ErrorCode::UnknownMemberId);
    run(&mut model, leave("g", "b")).unwrap();
    assert_eq!(
        run(&mut model, Op::DescribeGroup { group: "g".into() }),
        Ok(Reply::Group {
            generation: 4,
            members: vec![]
        }),
        "an empty group stays, assigning nothing"
    );
}

#[test]
fn heartbeat_errors_name_the_staleness() {
    let mut model = Model::new();
    run(&mut model, join("g", "a", &["t"])).unwrap();
    run(&mut model, join("g", "b", &["t"])).unwrap();
    assert_eq!(
        err(&mut model, heartbeat("", "a", 2)),
        ErrorCode::InvalidGroupId
    );
    assert_eq!(
        err(&mut model, heartbeat("h", "a", 2)),
        ErrorCode::UnknownMemberId
    );
    assert_eq!(
        err(&mut model, heartbeat("g", "c", 2)),
        ErrorCode::UnknownMemberId
    );
    assert_eq!(
        err(&mut model, heartbeat("g", "a", 1)),
        ErrorCode::RebalanceInProgress
    );
    assert_eq!(
        err(&mut model, heartbeat("g", "a", 3)),
        ErrorCode::IllegalGeneration
    );
    assert_eq!(
        err(&mut model, heartbeat("g", "a", -1)),
        ErrorCode::RebalanceInProgress
    );
    assert_eq!(run(&mut model, heartbeat("g", "a", 2)), Ok(Reply::Ack));
}

#[test]
fn sessions_expire_on_tick_unless_refreshed() {
    let mut model = Model::new();
    run(&mut model, create("t", 2)).unwrap();
    for member in ["a", "b", "c"] {
        run(&mut model, join("g", member, &["t"])).unwrap(); // timeout 10 s
    }
    run(&mut model, Op::Tick { ms: 6_000 }).unwrap();
    run(&mut model, heartbeat("g", "a", 3)).unwrap();
    run(&mut model, Op::Tick { ms: 4_000 }).unwrap();
    assert_eq!(
        model.group("g").unwrap().members().len(),
        3,
        "exactly the timeout: alive"
    );
    run(&mut model, Op::Tick { ms: 1 }).unwrap();
    let group = model.group("g").unwrap();
    assert_eq!(group.members().keys().collect::<Vec<_>>(), ["a"]);
    assert_eq!(group.generation(), 4, "two expiries, one new generation");
    assert_eq!(group.assignment_of("a"), [tp("t", 0), tp("t", 1)]);
    run(&mut model, Op::Tick { ms: 20_000 }).unwrap();
    assert!(model.group("g").unwrap().members().is_empty());
    assert_eq!(model.group("g").unwrap().generation(), 5);
}

#[test]
fn polls_and_commits_refresh_the_session_but_refused_ops_do_not() {
    let mut model = Model::new();
    run(&mut model, create("t", 1)).unwrap();
    let (generation, _) = joined(run(&mut model, join("g", "a", &["t"])));
    run(&mut model, Op::Tick { ms: 8_000 }).unwrap();
    run(&mut model, poll("g", "a", generation, 10)).unwrap();
    run(&mut model, Op::Tick { ms: 8_000 }).unwrap();
    run(&mut model, commit("g", Some("a"), generation, ("t", 0), 0)).unwrap();
    run(&mut model, Op::Tick { ms: 8_000 }).unwrap();
    err(&mut model, poll("g", "a", generation + 1, 10));
    err(&mut model, commit("g", Some("a"), generation, ("t", 5), 0));
    run(&mut model, Op::Tick { ms: 2_001 }).unwrap();
    assert!(model.group("g").unwrap().members().is_empty());
}

#[test]
fn describe_group_of_an_unknown_group_is_generation_zero() {
    let mut model = Model::new();
    assert_eq!(
        err(
            &mut model,
            Op::DescribeGroup {
                group: String::new()
            }
        ),
        ErrorCode::InvalidGroupId
    );
    assert_eq!(
        run(&mut model, Op::DescribeGroup { group: "g".into() }),
        Ok(Reply::Group {
            generation: 0,
            members: vec![]
        })
    );
    assert!(model.group("g").is_none(), "describing creates nothing");
}

// ------------------------------------------------------------------------------ offsets

#[test]
fn commit_errors_come_in_the_documented_order() {
    let mut model = Model::new();
    run(&mut model, create("t", 1)).unwrap();
    let with_metadata =
        |member: Option<&str>, generation, partition, offset, metadata: usize| Op::Commit {
            group: "g".into(),
            member: member.map(Into::into),
            generation,
            topic: "t".into(),
            partition,
            offset,
            metadata: "m".repeat(metadata),
        };
    let too_long = OFFSET_METADATA_BYTES_MAX + 1;
    // 1. group id.
    assert_eq!(
        err(&mut model, commit("", None, 5, ("t", 9), -1)),
        ErrorCode::InvalidGroupId
    );
    // 2. simple commits: generation, then membership.
    assert_eq!(
        err(&mut model, with_metadata(None, 0, 9, -1, too_long)),
        ErrorCode::IllegalGeneration
    );
    // member commits to an unknown group.
    assert_eq!(
        err(&mut model, with_metadata(Some("m"), 1, 9, -1, too_long)),
        ErrorCode::UnknownMemberId
    );
    // 3. partition, 4. metadata, 5. offset.
    assert_eq!(
        err(&mut model, with_metadata(None, -1, 9, -1, too_long)),
        ErrorCode::UnknownTopicOrPartition
    );
    assert_eq!(
        err(&mut model, with_metadata(None, -1, 0, -1, too_long)),
        ErrorCode::OffsetMetadataTooLarge
    );
    assert_eq!(
        err(
            &mut model,
            with_metadata(None, -1, 0, -1, OFFSET_METADATA_BYTES_MAX)
        ),
        ErrorCode::InvalidRequest
    );
    assert!(
        model.group("g").is_none(),
        "refused simple commits create no group"
    );
    assert_eq!(
        run(
            &mut model,
            with_metadata(None, -1, 0, 0, OFFSET_METADATA_BYTES_MAX)
        ),
        Ok(Reply::Ack)
    );
    assert_eq!(
        model.group("g").unwrap().generation(),
        0,
        "created by the commit"
    );

    // With members: simple commits are refused, member commits need the current generation.
    let (generation, _) = joined(run(&mut model, join("g", "a", &["t"])));
    assert_eq!(
        err(&mut model, commit("g", None, -1, ("t", 0), 1)),
        ErrorCode::UnknownMemberId
    );
    assert_eq!(
        err(&mut model, commit("g", Some("b"), generation, ("t", 0), 1)),
        ErrorCode::UnknownMemberId
    );
    run(&mut model, join("g", "b", &["t"])).unwrap();
    assert_eq!(
        err(&mut model, commit("g", Some("a"), generation, ("t", 0), 1)),
        ErrorCode::IllegalGeneration,
        "a zombie commit from the previous generation never takes effect"
    );
    assert_eq!(
        err(
            &mut model,
            commit("g", Some("a"), generation + 2, ("t", 0), 1)
        ),
        ErrorCode::IllegalGeneration
    );
    assert_eq!(
        run(
            &mut model,
            commit("g", Some("a"), generation + 1, ("t", 0), 1)
        ),
        Ok(Reply::Ack)
    );
}

#[test]
fn committed_reads_back_the_offset_and_metadata() {
    let mut model = Model::new();
    run(&mut model, create("t", 1)).unwrap();
    assert_eq!(
        err(&mut model, committed("", ("t", 0))),
        ErrorCode::InvalidGroupId
    );
    assert_eq!(
        err(&mut model, committed("g", ("t", 1))),
        ErrorCode::UnknownTopicOrPartition
    );
    let nothing = Ok(Reply::CommittedOffset {
        offset: None,
        metadata: None,
    });
    assert_eq!(run(&mut model, committed("g", ("t", 0))), nothing);
    let op = Op::Commit {
        group: "g".into(),
        member: None,
        generation: -1,
        topic: "t".into(),
        partition: 0,
        offset: 42,
        metadata: "batch 7".into(),
    };
    run(&mut model, op).unwrap();
    assert_eq!(
        run(&mut model, committed("g", ("t", 0))),
        Ok(Reply::CommittedOffset {
            offset: Some(42),
            metadata: Some("batch 7".into())
        }),
        "any offset ≥ 0 is accepted, even past the high watermark"
    );
    assert_eq!(model.committed("other", &tp("t", 0)), Ok(None));
}

// ------------------------------------------------------------------------------ poll

#[test]
fn the_order_scenario_process_commit_then_wait() {
    let mut model = Model::new();
    model
        .create_topic("orders", 1, TopicConfig::default())
        .unwrap();
    let (generation, _) = model.join_group("shipping", "c1", &["orders"]).unwrap();
    let order = Record::value("{order_id: 1, item: 'book'}");
    assert_eq!(model.produce("orders", Some(0), vec![order]), Ok((0, 0)));
    let records = model.poll("shipping", "c1", generation, 10).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].record.value,
        Some("{order_id: 1, item: 'book'}".into())
    );
    model
        .commit("shipping", Some("c1"), generation, &tp("orders", 0), 1)
        .unwrap();
    assert_eq!(model.committed("shipping", &tp("orders", 0)), Ok(Some(1)));
    assert_eq!(model.poll("shipping", "c1", generation, 10), Ok(vec![]));
    let lag = model.high_watermark("orders", 0).unwrap() - 1;
    assert_eq!(lag, 0);
}

#[test]
fn poll_errors_come_in_the_documented_order() {
    let mut model = Model::new();
    run(&mut model, create("t", 1)).unwrap();
    run(&mut model, join("g", "a", &["t"])).unwrap();
    run(&mut model, join("g", "b", &["t"])).unwrap();
    assert_eq!(
        err(&mut model, poll("", "x", 0, 0)),
        ErrorCode::InvalidGroupId
    );
    assert_eq!(
        err(&mut model, poll("g", "x", 0, 0)),
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        err(&mut model, poll("g", "x", 0, FETCH_RECORDS_MAX + 1)),
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        err(&mut model, poll("h", "a", 2, 1)),
        ErrorCode::UnknownMemberId
    );
    assert_eq!(
        err(&mut model, poll("g", "x", 2, 1)),
        ErrorCode::UnknownMemberId
    );
    assert_eq!(
        err(&mut model, poll("g", "a", 1, 1)),
        ErrorCode::RebalanceInProgress
    );
    assert_eq!(
        err(&mut model, poll("g", "a", 3, 1)),
        ErrorCode::IllegalGeneration
    );
    assert!(run(&mut model, poll("g", "a", 2, 1)).is_ok());
}

#[test]
fn poll_starts_at_the_committed_offset_else_the_reset_policy() {
    let mut model = Model::new();
    run(&mut model, create("t", 3)).unwrap();
    for p in 0..3 {
        run(&mut model, produce("t", Some(p), values(4))).unwrap();
    }
    run(&mut model, commit("g", None, -1, ("t", 1), 3)).unwrap();
    run(&mut model, commit("g", None, -1, ("t", 2), 9)).unwrap(); // past the high watermark
    let op = join_with("g", "m", &["t"], Assignor::Range, OffsetReset::Latest);
    let (generation, _) = joined(run(&mut model, op));
    // p0: no commit -> latest (4); p1: committed 3; p2: 9 is out of range -> latest (4).
    assert_eq!(
        polled_offsets(run(&mut model, poll("g", "m", generation, 10))),
        [("t".to_string(), 1, 3)]
    );
    let group = model.group("g").unwrap();
    assert_eq!(
        group.position(&tp("t", 0)),
        Some(4),
        "stored though it gave nothing"
    );
    assert_eq!(group.position(&tp("t", 1)), Some(4));
    assert_eq!(group.position(&tp("t", 2)), Some(4));
    assert_eq!(
        group.committed(&tp("t", 1)).unwrap().offset,
        3,
        "polls move no commits"
    );

    let mut earliest = Model::new();
    run(&mut earliest, create("t", 1)).unwrap();
    run(&mut earliest, produce("t", Some(0), values(2))).unwrap();
    let op = join_with("g", "m", &["t"], Assignor::Range, OffsetReset::Earliest);
    let (generation, _) = joined(run(&mut earliest, op));
    assert_eq!(
        polled_offsets(run(&mut earliest, poll("g", "m", generation, 10))).len(),
        2
    );
}

#[test]
fn reset_none_refuses_the_whole_poll() {
    let mut model = Model::new();
    run(&mut model, create("t", 2)).unwrap();
    run(&mut model, produce("t", Some(0), values(2))).unwrap();
    run(&mut model, commit("g", None, -1, ("t", 0), 0)).unwrap();
    let op = join_with("g", "m", &["t"], Assignor::Range, OffsetReset::None);
    let (generation, _) = joined(run(&mut model, op));
    assert_eq!(
        err(&mut model, poll("g", "m", generation, 10)),
        ErrorCode::NoOffsetForPartition,
        "partition 1 has no commit"
    );
    assert_eq!(
        model.group("g").unwrap().position(&tp("t", 0)),
        None,
        "nothing stored"
    );
    run(&mut model, commit("g", Some("m"), generation, ("t", 1), 0)).unwrap();
    assert_eq!(
        polled_offsets(run(&mut model, poll("g", "m", generation, 10))).len(),
        2
    );
    // A position that falls below the log start is reset by the policy too.
    run(
        &mut model,
        Op::DeleteRecords {
            topic: "t".into(),
            partition: 0,
            offset: -1,
        },
    )
    .unwrap();
    run(&mut model, produce("t", Some(0), values(1))).unwrap();
    assert!(
        run(&mut model, poll("g", "m", generation, 10)).is_ok(),
        "position 2 = log start"
    );
    run(
        &mut model,
        Op::DeleteRecords {
            topic: "t".into(),
            partition: 0,
            offset: -1,
        },
    )
    .unwrap();
    assert!(
        run(&mut model, poll("g", "m", generation, 10)).is_ok(),
        "position 3 = log start"
    );
    run(&mut model, produce("t", Some(0), values(2))).unwrap();
    run(
        &mut model,
        Op::DeleteRecords {
            topic: "t".into(),
            partition: 0,
            offset: 4,
        },
    )
    .unwrap();
    assert_eq!(
        err(&mut model, poll("g", "m", generation, 10)),
        ErrorCode::NoOffsetForPartition,
        "position 3 fell below the log start 4"
    );
}

#[test]
fn a_position_below_the_log_start_resets_to_earliest() {
    let mut model = Model::new();
    run(&mut model, create("t", 1)).unwrap();
    run(&mut model, produce("t", Some(0), values(5))).unwrap();
    let (generation, _) = joined(run(&mut model, join("g", "m", &["t"])));
    assert_eq!(
        polled_offsets(run(&mut model, poll("g", "m", generation, 1))).len(),
        1
    );
    run(
        &mut model,
        Op::DeleteRecords {
            topic: "t".into(),
            partition: 0,
            offset: 3,
        },
    )
    .unwrap();
    assert_eq!(
        polled_offsets(run(&mut model, poll("g", "m", generation, 10))),
        [("t".to_string(), 0, 3), ("t".to_string(), 0, 4)]
    );
}

#[test]
fn poll_reads_partitions_in_order_up_to_max_records_in_all() {
    let mut model = Model::new();
    run(&mut model, create("a", 2)).unwrap();
    run(&mut model, create("b", 1)).unwrap();
    run(&mut model, produce("a", Some(0), values(2))).unwrap();
    run(&mut model, produce("a", Some(1), values(2))).unwrap();
    run(&mut model, produce("b", Some(0), values(2))).unwrap();
    let (generation, _) = joined(run(&mut model, join("g", "m", &["b", "a"])));
    let first = polled_offsets(run(&mut model, poll("g", "m", generation, 3)));
    assert_eq!(
        first,
        [
            ("a".to_string(), 0, 0),
            ("a".to_string(), 0, 1),
            ("a".to_string(), 1, 0)
        ]
    );
    let second = polled_offsets(run(&mut model, poll("g", "m", generation, 100)));
    assert_eq!(
        second,
        [
            ("a".to_string(), 1, 1),
            ("b".to_string(), 0, 0),
            ("b".to_string(), 0, 1)
        ]
    );
    assert_eq!(
        polled_offsets(run(&mut model, poll("g", "m", generation, 100))),
        []
    );
}

#[test]
fn a_new_generation_clears_positions_so_the_next_owner_starts_from_the_commit() {
    let mut model = Model::new();
    run(&mut model, create("t", 1)).unwrap();
    run(&mut model, produce("t", Some(0), values(4))).unwrap();
    let (generation, _) = joined(run(&mut model, join("g", "a", &["t"])));
    run(&mut model, poll("g", "a", generation, 3)).unwrap();
    run(&mut model, commit("g", Some("a"), generation, ("t", 0), 1)).unwrap();
    let (generation, assignment) = joined(run(&mut model, join("g", "0", &["t"])));
    assert_eq!(assignment, [tp("t", 0)], "\"0\" sorts before \"a\"");
    assert_eq!(model.group("g").unwrap().position(&tp("t", 0)), None);
    assert_eq!(
        polled_offsets(run(&mut model, poll("g", "0", generation, 10)))[0],
        ("t".to_string(), 0, 1),
        "re-delivered from the committed offset"
    );
}

#[test]
fn groups_read_independently_and_reading_removes_nothing() {
    let mut model = Model::new();
    run(&mut model, create("t", 1)).unwrap();
    run(&mut model, produce("t", Some(0), values(3))).unwrap();
    let mut seen = vec![];
    for group in ["g1", "g2", "g3"] {
        let (generation, _) = joined(run(&mut model, join(group, "m", &["t"])));
        seen.push(polled_offsets(run(
            &mut model,
            poll(group, "m", generation, 10),
        )));
        run(
            &mut model,
            commit(group, Some("m"), generation, ("t", 0), 3),
        )
        .unwrap();
    }
    assert!(seen.iter().all(|offsets| offsets.len() == 3), "{seen:?}");
    assert_eq!(model.log_start_offset("t", 0), Some(0));
}

#[test]
fn round_robin_groups_assign_like_kafka() {
    let mut model = Model::new();
    run(&mut model, create("t0", 3)).unwrap();
    run(&mut model, create("t1", 3)).unwrap();
    for member in ["C0", "C1"] {
        let op = join_with(
            "g",
            member,
            &["t0", "t1"],
            Assignor::RoundRobin,
            OffsetReset::Latest,
        );
        run(&mut model, op).unwrap();
    }
    let group = model.group("g").unwrap();
    assert_eq!(group.assignor(), Assignor::RoundRobin);
    assert_eq!(
        group.assignment_of("C0"),
        [tp("t0", 0), tp("t0", 2), tp("t1", 1)]
    );
    assert_eq!(
        group.assignment_of("C1"),
        [tp("t0", 1), tp("t1", 0), tp("t1", 2)]
    );
}

#[test]
fn typed_wrappers_agree_with_apply() {
    let mut model = Model::new();
    assert_eq!(model.create_topic("t", 2, TopicConfig::default()), Ok(()));
    assert_eq!(
        model.create_topic("t", 2, TopicConfig::default()),
        Err(ErrorCode::TopicAlreadyExists)
    );
    assert_eq!(model.produce("t", Some(1), values(2)), Ok((1, 0)));
    assert_eq!(model.fetch("t", 1, 0, 10).map(|r| r.len()), Ok(2));
    assert_eq!(model.tick(5), Ok(()));
    assert_eq!(model.now_ms(), 5);
    assert_eq!(model.enforce_retention(), vec![]);
    assert_eq!(
        model
            .join_group("g", "m", &["t"])
            .map(|(g, a)| (g, a.len())),
        Ok((1, 2))
    );
    assert_eq!(model.poll("g", "m", 1, 10).map(|r| r.len()), Ok(2));
    assert_eq!(model.commit("g", Some("m"), 1, &tp("t", 1), 2), Ok(()));
    assert_eq!(model.committed("g", &tp("t", 1)), Ok(Some(2)));
    assert_eq!(model.delete_topic("t"), Ok(()));
    assert_eq!(
        model.delete_topic("t"),
        Err(ErrorCode::UnknownTopicOrPartition)
    );
    assert_eq!(model.topic_names().count(), 0);
    assert_eq!(model.group_ids().collect::<Vec<_>>(), ["g"]);
}
