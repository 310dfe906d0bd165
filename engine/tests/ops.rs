//! Every op of docs/model.md through `Engine::apply`, with each error path in the documented
//! order. Each test opens with its goal.

use streamspec_engine::segment::SEGMENT_RECORDS;
use streamspec_engine::Engine;
use streamspec_model::config::*;
use streamspec_model::*;

fn create(engine: &Engine, topic: &str, partitions: i32, config: TopicConfig) -> Ret {
    engine.apply(&Op::CreateTopic {
        topic: topic.into(),
        partitions,
        config,
    })
}

fn produce(engine: &Engine, topic: &str, partition: Option<i32>, records: Vec<Record>) -> Ret {
    engine.apply(&Op::Produce {
        topic: topic.into(),
        partition,
        records,
        producer: None,
    })
}

fn produced(partition: i32, base_offset: i64) -> Ret {
    Ok(Reply::Produced {
        partition,
        base_offset,
        log_append_time_ms: None,
    })
}

fn fetch(
    engine: &Engine,
    topic: &str,
    partition: i32,
    offset: i64,
    max_records: u32,
    max_bytes: u64,
) -> Ret {
    engine.apply(&Op::Fetch {
        topic: topic.into(),
        partition,
        offset,
        max_records,
        max_bytes,
    })
}

fn fetched_offsets(ret: Ret) -> Vec<i64> {
    match ret {
        Ok(Reply::Fetched { records, .. }) => records.iter().map(|r| r.offset).collect(),
        other => panic!("not fetched: {other:?}"),
    }
}

fn join(
    engine: &Engine,
    group: &str,
    member: &str,
    topics: &[&str],
    assignor: Assignor,
    reset: OffsetReset,
) -> Ret {
    engine.apply(&Op::JoinGroup {
        group: group.into(),
        member: member.into(),
        topics: topics.iter().map(|t| t.to_string()).collect(),
        assignor,
        session_timeout_ms: 10_000,
        auto_offset_reset: reset,
    })
}

fn generation_of(ret: Ret) -> i32 {
    match ret {
        Ok(Reply::Joined { generation, .. }) => generation,
        other => panic!("not joined: {other:?}"),
    }
}

fn commit(
    engine: &Engine,
    group: &str,
    member: Option<&str>,
    generation: i32,
    topic: &str,
    partition: i32,
    offset: i64,
) -> Ret {
    engine.apply(&Op::Commit {
        group: group.into(),
        member: member.map(Into::into),
        generation,
        topic: topic.into(),
        partition,
        offset,
        metadata: String::new(),
    })
}

fn values(n: usize) -> Vec<Record> {
    (0..n)
        .map(|i| Record::value(format!("v{i}").as_str()))
        .collect()
}

/// Goal: create_topic checks name, existence, partitions, config, count, in that order.
#[test]
fn create_topic_errors_in_order() {
    let engine = Engine::new();
    let bad = TopicConfig {
        retention_ms: -2,
        ..TopicConfig::default()
    };
    assert_eq!(
        create(&engine, "..", 0, bad.clone()),
        Err(ErrorCode::InvalidTopicException)
    );
    assert_eq!(
        create(&engine, "t", 1, TopicConfig::default()),
        Ok(Reply::Ack)
    );
    assert_eq!(
        create(&engine, "t", 0, bad.clone()),
        Err(ErrorCode::TopicAlreadyExists)
    );
    assert_eq!(
        create(&engine, "u", 0, bad.clone()),
        Err(ErrorCode::InvalidPartitions)
    );
    assert_eq!(
        create(&engine, "u", PARTITIONS_PER_TOPIC_MAX + 1, bad.clone()),
        Err(ErrorCode::InvalidPartitions)
    );
    assert_eq!(create(&engine, "u", 1, bad), Err(ErrorCode::InvalidConfig));
    for config in [
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
    ] {
        assert_eq!(
            create(&engine, "u", 1, config),
            Err(ErrorCode::InvalidConfig)
        );
    }
    // The limit itself (1024 topics) is too slow to reach under miri.
    if cfg!(miri) {
        return;
    }
    for i in 1..TOPICS_COUNT_MAX {
        assert_eq!(
            create(&engine, &format!("t{i}"), 1, TopicConfig::default()),
            Ok(Reply::Ack)
        );
    }
    assert_eq!(
        create(&engine, "one_too_many", 1, TopicConfig::default()),
        Err(ErrorCode::PolicyViolation)
    );
}

/// Goal: a deleted topic is gone with its records and commits; recreated, it starts at 0.
#[test]
fn delete_topic_removes_everything() {
    let engine = Engine::new();
    assert_eq!(
        engine.apply(&Op::DeleteTopic { topic: "..".into() }),
        Err(ErrorCode::UnknownTopicOrPartition)
    );
    create(&engine, "t", 2, TopicConfig::default()).unwrap();
    assert_eq!(produce(&engine, "t", Some(1), values(3)), produced(1, 0));
    commit(&engine, "g", None, -1, "t", 1, 2).unwrap();
    assert_eq!(
        engine.apply(&Op::DeleteTopic { topic: "t".into() }),
        Ok(Reply::Ack)
    );
    assert_eq!(
        produce(&engine, "t", Some(1), values(1)),
        Err(ErrorCode::UnknownTopicOrPartition)
    );
    create(&engine, "t", 2, TopicConfig::default()).unwrap();
    assert_eq!(produce(&engine, "t", Some(1), values(1)), produced(1, 0));
    assert_eq!(
        engine.apply(&Op::Committed {
            group: "g".into(),
            topic: "t".into(),
            partition: 1
        }),
        Ok(Reply::CommittedOffset {
            offset: None,
            metadata: None
        })
    );
}

/// Goal: produce checks topic, count, partition, timestamps, size in order, and appends
/// batches at consecutive offsets with the right timestamps and partitioner.
#[test]
fn produce_checks_and_appends() {
    let engine = Engine::new();
    assert_eq!(
        produce(&engine, "t", Some(9), vec![]),
        Err(ErrorCode::UnknownTopicOrPartition)
    );
    let small = TopicConfig {
        max_message_bytes: 100,
        ..TopicConfig::default()
    };
    create(&engine, "t", 3, small).unwrap();
    assert_eq!(
        produce(&engine, "t", Some(9), vec![]),
        Err(ErrorCode::InvalidRequest)
    );
    assert_eq!(
        produce(&engine, "t", Some(9), values(BATCH_RECORDS_MAX + 1)),
        Err(ErrorCode::RecordListTooLarge)
    );
    let negative = Record {
        timestamp_ms: Some(-1),
        ..Record::value("x")
    };
    assert_eq!(
        produce(&engine, "t", Some(3), vec![negative.clone()]),
        Err(ErrorCode::UnknownTopicOrPartition)
    );
    assert_eq!(
        produce(&engine, "t", Some(-1), vec![negative.clone()]),
        Err(ErrorCode::UnknownTopicOrPartition)
    );
    assert_eq!(
        produce(&engine, "t", Some(0), vec![negative]),
        Err(ErrorCode::InvalidRequest)
    );
    assert_eq!(
        produce(&engine, "t", Some(0), vec![Record::value(vec![0u8; 85])]),
        Err(ErrorCode::MessageTooLarge)
    );
    assert_eq!(
        produce(&engine, "t", Some(0), vec![Record::value(vec![0u8; 84])]),
        produced(0, 0)
    );
    assert_eq!(produce(&engine, "t", Some(0), values(2)), produced(0, 1));
    // Keyed: Kafka's murmur2 partitioner; keyless: round robin from 0.
    let keyed = (streamspec_model::partitioner::murmur2(b"key") & 0x7fff_ffff) % 3;
    assert_eq!(
        produce(&engine, "t", None, vec![Record::keyed("key", "v")]),
        produced(keyed, if keyed == 0 { 3 } else { 0 })
    );
    let p0 = match produce(&engine, "t", None, values(1)) {
        Ok(Reply::Produced { partition, .. }) => partition,
        e => panic!("{e:?}"),
    };
    let p1 = match produce(&engine, "t", None, values(1)) {
        Ok(Reply::Produced { partition, .. }) => partition,
        e => panic!("{e:?}"),
    };
    assert_eq!((p0, p1), (0, 1));
    // Timestamps: create time keeps the record's, defaulting to the clock.
    engine.apply(&Op::Tick { ms: 50 }).unwrap();
    produce(
        &engine,
        "t",
        Some(2),
        vec![
            Record {
                timestamp_ms: Some(7),
                ..Record::value("a")
            },
            Record::value("b"),
        ],
    )
    .unwrap();
    let Ok(Reply::Fetched {
        records,
        high_watermark,
        log_start_offset,
    }) = fetch(&engine, "t", 2, 0, 10, u64::MAX)
    else {
        panic!()
    };
    let stamps: Vec<i64> = records.iter().map(|r| r.timestamp_ms).collect();
    assert_eq!(stamps[stamps.len() - 2..], [7, 50]);
    assert_eq!(
        (high_watermark, log_start_offset),
        (records.len() as i64, 0)
    );
    // Log append time: every record gets the clock and the reply says so.
    let lat = TopicConfig {
        timestamp_type: TimestampType::LogAppendTime,
        ..TopicConfig::default()
    };
    create(&engine, "lat", 1, lat).unwrap();
    assert_eq!(
        produce(
            &engine,
            "lat",
            Some(0),
            vec![Record {
                timestamp_ms: Some(7),
                ..Record::value("a")
            }]
        ),
        Ok(Reply::Produced {
            partition: 0,
            base_offset: 0,
            log_append_time_ms: Some(50)
        })
    );
    let Ok(Reply::Fetched { records, .. }) = fetch(&engine, "lat", 0, 0, 10, u64::MAX) else {
        panic!()
    };
    assert_eq!(records[0].timestamp_ms, 50);
}

/// Goal: idempotent produce: range, unknown id, epoch, sequence and duplicates in order.
#[test]
fn idempotent_produce() {
    let engine = Engine::new();
    create(&engine, "t", 1, TopicConfig::default()).unwrap();
    let send = |id: i64, epoch: i16, seq: i32, n: usize| {
        engine.apply(&Op::Produce {
            topic: "t".into(),
            partition: Some(0),
            records: values(n),
            producer: Some(ProducerBatch {
                producer_id: id,
                producer_epoch: epoch,
                base_sequence: seq,
            }),
        })
    };
    assert_eq!(send(0, 0, -1, 1), Err(ErrorCode::InvalidRequest));
    assert_eq!(send(0, 0, i32::MAX, 2), Err(ErrorCode::InvalidRequest));
    assert_eq!(send(0, 0, 0, 1), Err(ErrorCode::UnknownProducerId));
    assert_eq!(
        engine.apply(&Op::InitProducerId {
            transactional_id: Some(String::new())
        }),
        Err(ErrorCode::InvalidRequest)
    );
    assert_eq!(
        engine.apply(&Op::InitProducerId {
            transactional_id: Some("x".repeat(ID_LENGTH_MAX + 1))
        }),
        Err(ErrorCode::InvalidRequest)
    );
    assert_eq!(
        engine.apply(&Op::InitProducerId {
            transactional_id: None
        }),
        Ok(Reply::ProducerId {
            producer_id: 0,
            producer_epoch: 0
        })
    );
    assert_eq!(send(0, 1, 0, 1), Err(ErrorCode::InvalidProducerEpoch));
    assert_eq!(send(0, 0, 1, 1), Err(ErrorCode::OutOfOrderSequenceNumber));
    assert_eq!(send(0, 0, 0, 2), produced(0, 0));
    assert_eq!(
        send(0, 0, 0, 2),
        produced(0, 0),
        "a duplicate answers as the original"
    );
    assert_eq!(send(0, 0, 3, 1), Err(ErrorCode::OutOfOrderSequenceNumber));
    assert_eq!(send(0, 0, 2, 1), produced(0, 2));
    assert_eq!(
        engine.apply(&Op::ListOffsets {
            topic: "t".into(),
            partition: 0,
            spec: OffsetSpec::Latest
        }),
        Ok(Reply::ListedOffset {
            offset: Some(3),
            timestamp_ms: None
        })
    );
    // Transactional ids fence the older epoch.
    assert_eq!(
        engine.apply(&Op::InitProducerId {
            transactional_id: Some("tx".into())
        }),
        Ok(Reply::ProducerId {
            producer_id: 1,
            producer_epoch: 0
        })
    );
    assert_eq!(
        engine.apply(&Op::InitProducerId {
            transactional_id: Some("tx".into())
        }),
        Ok(Reply::ProducerId {
            producer_id: 1,
            producer_epoch: 1
        })
    );
    assert_eq!(send(1, 0, 0, 1), Err(ErrorCode::InvalidProducerEpoch));
    assert_eq!(send(1, 1, 0, 1), produced(0, 3));
}

/// Goal: fetch checks partition, max_records, range; returns at least one record and then
/// stops at max_records or max_bytes.
#[test]
fn fetch_limits() {
    let engine = Engine::new();
    assert_eq!(
        fetch(&engine, "t", 0, 0, 0, 0),
        Err(ErrorCode::UnknownTopicOrPartition)
    );
    create(&engine, "t", 1, TopicConfig::default()).unwrap();
    assert_eq!(
        fetch(&engine, "t", 1, 0, 1, 0),
        Err(ErrorCode::UnknownTopicOrPartition)
    );
    assert_eq!(
        fetch(&engine, "t", 0, 5, 0, 0),
        Err(ErrorCode::InvalidRequest)
    );
    assert_eq!(
        fetch(&engine, "t", 0, 5, FETCH_RECORDS_MAX + 1, 0),
        Err(ErrorCode::InvalidRequest)
    );
    assert_eq!(
        fetch(&engine, "t", 0, 1, 1, 0),
        Err(ErrorCode::OffsetOutOfRange)
    );
    assert_eq!(
        fetched_offsets(fetch(&engine, "t", 0, 0, 1, 0)),
        Vec::<i64>::new()
    );
    produce(&engine, "t", Some(0), values(5)).unwrap(); // each record 18 bytes
    assert_eq!(
        fetched_offsets(fetch(&engine, "t", 0, 1, 2, u64::MAX)),
        vec![1, 2]
    );
    assert_eq!(fetched_offsets(fetch(&engine, "t", 0, 1, 10, 0)), vec![1]);
    assert_eq!(
        fetched_offsets(fetch(&engine, "t", 0, 1, 10, 36)),
        vec![1, 2]
    );
    assert_eq!(
        fetched_offsets(fetch(&engine, "t", 0, 1, 10, 53)),
        vec![1, 2]
    );
    assert_eq!(
        fetched_offsets(fetch(&engine, "t", 0, 5, 10, 53)),
        Vec::<i64>::new()
    );
}

/// Goal: list_offsets for each spec, and its errors.
#[test]
fn list_offsets_specs() {
    let engine = Engine::new();
    let list = |spec| {
        engine.apply(&Op::ListOffsets {
            topic: "t".into(),
            partition: 0,
            spec,
        })
    };
    assert_eq!(
        list(OffsetSpec::Earliest),
        Err(ErrorCode::UnknownTopicOrPartition)
    );
    create(&engine, "t", 1, TopicConfig::default()).unwrap();
    assert_eq!(
        list(OffsetSpec::Timestamp { timestamp_ms: -1 }),
        Err(ErrorCode::InvalidRequest)
    );
    assert_eq!(
        list(OffsetSpec::MaxTimestamp),
        Ok(Reply::ListedOffset {
            offset: None,
            timestamp_ms: None
        })
    );
    let at = |t| Record {
        timestamp_ms: Some(t),
        ..Record::value("x")
    };
    produce(&engine, "t", Some(0), vec![at(5), at(9), at(3), at(9)]).unwrap();
    assert_eq!(
        list(OffsetSpec::Earliest),
        Ok(Reply::ListedOffset {
            offset: Some(0),
            timestamp_ms: None
        })
    );
    assert_eq!(
        list(OffsetSpec::Latest),
        Ok(Reply::ListedOffset {
            offset: Some(4),
            timestamp_ms: None
        })
    );
    assert_eq!(
        list(OffsetSpec::Timestamp { timestamp_ms: 6 }),
        Ok(Reply::ListedOffset {
            offset: Some(1),
            timestamp_ms: Some(9)
        })
    );
    assert_eq!(
        list(OffsetSpec::Timestamp { timestamp_ms: 10 }),
        Ok(Reply::ListedOffset {
            offset: None,
            timestamp_ms: None
        })
    );
    assert_eq!(
        list(OffsetSpec::MaxTimestamp),
        Ok(Reply::ListedOffset {
            offset: Some(1),
            timestamp_ms: Some(9)
        })
    );
}

/// Goal: delete_records and the three retention rules move only the eligible prefix.
#[test]
fn retention_and_delete_records() {
    let engine = Engine::new();
    let delete = |offset| {
        engine.apply(&Op::DeleteRecords {
            topic: "t".into(),
            partition: 0,
            offset,
        })
    };
    assert_eq!(delete(0), Err(ErrorCode::UnknownTopicOrPartition));
    let config = TopicConfig {
        retention_ms: 100,
        retention_bytes: 40,
        ..TopicConfig::default()
    };
    create(&engine, "t", 1, config).unwrap();
    produce(&engine, "t", Some(0), values(6)).unwrap(); // 18 bytes each, timestamps 0
    assert_eq!(delete(-2), Err(ErrorCode::OffsetOutOfRange));
    assert_eq!(delete(7), Err(ErrorCode::OffsetOutOfRange));
    assert_eq!(delete(1), Ok(Reply::LowWatermark { low_watermark: 1 }));
    assert_eq!(delete(0), Ok(Reply::LowWatermark { low_watermark: 1 }));
    // Size: keep the shortest suffix of at least 40 bytes: 3 records (54 bytes) → start 3.
    assert_eq!(
        engine.apply(&Op::EnforceRetention),
        Ok(Reply::Retained {
            advanced: vec![PartitionLogStart {
                topic: "t".into(),
                partition: 0,
                log_start_offset: 3
            }]
        })
    );
    assert_eq!(
        engine.apply(&Op::EnforceRetention),
        Ok(Reply::Retained { advanced: vec![] })
    );
    // Time: after 101 ms everything is older than 100 ms.
    engine.apply(&Op::Tick { ms: 101 }).unwrap();
    assert_eq!(
        engine.apply(&Op::EnforceRetention),
        Ok(Reply::Retained {
            advanced: vec![PartitionLogStart {
                topic: "t".into(),
                partition: 0,
                log_start_offset: 6
            }]
        })
    );
    assert_eq!(
        fetch(&engine, "t", 0, 5, 1, 1),
        Err(ErrorCode::OffsetOutOfRange)
    );
    assert_eq!(delete(-1), Ok(Reply::LowWatermark { low_watermark: 6 }));

    // Consumed: the minimum committed offset over subscribed groups.
    let consumed = TopicConfig {
        retention_policy: RetentionPolicy::Consumed,
        retention_ms: -1,
        ..TopicConfig::default()
    };
    create(&engine, "c", 1, consumed).unwrap();
    produce(&engine, "c", Some(0), values(6)).unwrap();
    assert_eq!(
        engine.apply(&Op::EnforceRetention),
        Ok(Reply::Retained { advanced: vec![] }),
        "no subscribed group"
    );
    commit(&engine, "a", None, -1, "c", 0, 4).unwrap();
    commit(&engine, "b", None, -1, "c", 0, 2).unwrap();
    assert_eq!(
        engine.apply(&Op::EnforceRetention),
        Ok(Reply::Retained {
            advanced: vec![PartitionLogStart {
                topic: "c".into(),
                partition: 0,
                log_start_offset: 2
            }]
        })
    );
    generation_of(join(
        &engine,
        "z",
        "m",
        &["c"],
        Assignor::Range,
        OffsetReset::Earliest,
    ));
    assert_eq!(
        engine.apply(&Op::EnforceRetention),
        Ok(Reply::Retained { advanced: vec![] }),
        "z commits nothing: 0"
    );
}

/// Goal: tick validates and expires silent members, one new generation per group.
#[test]
fn tick_expires_members() {
    let engine = Engine::new();
    assert_eq!(
        engine.apply(&Op::Tick {
            ms: TICK_MS_MAX + 1
        }),
        Err(ErrorCode::InvalidRequest)
    );
    generation_of(join(
        &engine,
        "g",
        "a",
        &["t"],
        Assignor::Range,
        OffsetReset::Earliest,
    ));
    assert_eq!(
        generation_of(join(
            &engine,
            "g",
            "b",
            &["t"],
            Assignor::Range,
            OffsetReset::Earliest
        )),
        2
    );
    engine.apply(&Op::Tick { ms: 10_000 }).unwrap();
    assert_eq!(
        engine.apply(&Op::Heartbeat {
            group: "g".into(),
            member: "a".into(),
            generation: 2
        }),
        Ok(Reply::Ack)
    );
    engine.apply(&Op::Tick { ms: 1 }).unwrap();
    let Ok(Reply::Group {
        generation,
        members,
    }) = engine.apply(&Op::DescribeGroup { group: "g".into() })
    else {
        panic!()
    };
    assert_eq!(generation, 3);
    assert_eq!(
        members
            .iter()
            .map(|m| m.member.as_str())
            .collect::<Vec<_>>(),
        ["a"]
    );
}

/// Goal: join_group checks in order and rebalances only on a new member or a changed
/// subscription; leave and heartbeat check membership and generation.
#[test]
fn membership() {
    let engine = Engine::new();
    let join_with = |group: &str, member: &str, topics: Vec<String>, timeout: i64, assignor| {
        engine.apply(&Op::JoinGroup {
            group: group.into(),
            member: member.into(),
            topics,
            assignor,
            session_timeout_ms: timeout,
            auto_offset_reset: OffsetReset::Latest,
        })
    };
    let t = || vec!["t".to_string()];
    assert_eq!(
        join_with("", "m", vec![], 0, Assignor::Range),
        Err(ErrorCode::InvalidGroupId)
    );
    assert_eq!(
        join_with("g", "", vec![], 0, Assignor::Range),
        Err(ErrorCode::InvalidRequest)
    );
    assert_eq!(
        join_with(
            "g",
            "m",
            vec![],
            SESSION_TIMEOUT_MS_MIN - 1,
            Assignor::Range
        ),
        Err(ErrorCode::InvalidSessionTimeout)
    );
    assert_eq!(
        join_with("g", "m", vec![], 10_000, Assignor::Range),
        Err(ErrorCode::InvalidRequest)
    );
    assert_eq!(
        join_with(
            "g",
            "m",
            vec!["x".into(); SUBSCRIBED_TOPICS_MAX + 1],
            10_000,
            Assignor::Range
        ),
        Err(ErrorCode::InvalidRequest)
    );
    assert_eq!(
        join_with("g", "m", vec!["a b".into()], 10_000, Assignor::Range),
        Err(ErrorCode::InvalidTopicException)
    );
    create(&engine, "t", 3, TopicConfig::default()).unwrap();
    assert_eq!(
        join_with("g", "m", t(), 10_000, Assignor::Range),
        Ok(Reply::Joined {
            generation: 1,
            assignment: (0..3).map(|p| TopicPartition::new("t", p)).collect()
        })
    );
    assert_eq!(
        generation_of(join_with("g", "m", t(), 20_000, Assignor::RoundRobin)),
        1,
        "same subscription: no rebalance"
    );
    // The only member switched the group to round robin: a newcomer must follow.
    assert_eq!(
        join_with("g", "n", t(), 10_000, Assignor::Range),
        Err(ErrorCode::InconsistentGroupProtocol)
    );
    assert_eq!(
        join_with("g", "n", t(), 10_000, Assignor::RoundRobin),
        Ok(Reply::Joined {
            generation: 2,
            assignment: vec![TopicPartition::new("t", 1)]
        })
    );
    assert_eq!(
        engine.apply(&Op::Heartbeat {
            group: "g".into(),
            member: "m".into(),
            generation: 1
        }),
        Err(ErrorCode::RebalanceInProgress)
    );
    assert_eq!(
        engine.apply(&Op::Heartbeat {
            group: "g".into(),
            member: "m".into(),
            generation: 3
        }),
        Err(ErrorCode::IllegalGeneration)
    );
    assert_eq!(
        engine.apply(&Op::Heartbeat {
            group: "g".into(),
            member: "x".into(),
            generation: 2
        }),
        Err(ErrorCode::UnknownMemberId)
    );
    assert_eq!(
        engine.apply(&Op::Heartbeat {
            group: "h".into(),
            member: "m".into(),
            generation: 2
        }),
        Err(ErrorCode::UnknownMemberId)
    );
    assert_eq!(
        engine.apply(&Op::Heartbeat {
            group: "".into(),
            member: "m".into(),
            generation: 2
        }),
        Err(ErrorCode::InvalidGroupId)
    );
    // A subscribed topic appearing starts a new generation.
    create(&engine, "u", 1, TopicConfig::default()).unwrap();
    assert_eq!(
        generation_of(join_with(
            "g",
            "n",
            vec!["u".into(), "t".into(), "u".into()],
            10_000,
            Assignor::RoundRobin
        )),
        3
    );
    create(&engine, "v", 1, TopicConfig::default()).unwrap();
    let Ok(Reply::Group {
        generation,
        members,
    }) = engine.apply(&Op::DescribeGroup { group: "g".into() })
    else {
        panic!()
    };
    assert_eq!(generation, 3, "nobody subscribes to v");
    assert_eq!(members[1].topics, vec!["t".to_string(), "u".to_string()]);
    engine
        .apply(&Op::DeleteTopic { topic: "u".into() })
        .unwrap();
    assert_eq!(
        engine
            .apply(&Op::DescribeGroup { group: "g".into() })
            .map(|r| match r {
                Reply::Group { generation, .. } => generation,
                _ => -1,
            }),
        Ok(4)
    );
    assert_eq!(
        engine.apply(&Op::LeaveGroup {
            group: "".into(),
            member: "m".into()
        }),
        Err(ErrorCode::InvalidGroupId)
    );
    assert_eq!(
        engine.apply(&Op::LeaveGroup {
            group: "g".into(),
            member: "x".into()
        }),
        Err(ErrorCode::UnknownMemberId)
    );
    assert_eq!(
        engine.apply(&Op::LeaveGroup {
            group: "g".into(),
            member: "m".into()
        }),
        Ok(Reply::Ack)
    );
    assert_eq!(
        engine.apply(&Op::DescribeGroup {
            group: "nobody".into()
        }),
        Ok(Reply::Group {
            generation: 0,
            members: vec![]
        })
    );
    assert_eq!(
        engine.apply(&Op::DescribeGroup { group: "".into() }),
        Err(ErrorCode::InvalidGroupId)
    );
    for i in 0..GROUP_MEMBERS_MAX - 1 {
        join_with("g", &format!("z{i:03}"), t(), 10_000, Assignor::RoundRobin).unwrap();
    }
    assert_eq!(
        join_with("g", "zz", t(), 10_000, Assignor::RoundRobin),
        Err(ErrorCode::GroupMaxSizeReached)
    );
}

/// Goal: commit checks in order, fences stale generations, and committed reads it back.
#[test]
fn commits() {
    let engine = Engine::new();
    create(&engine, "t", 1, TopicConfig::default()).unwrap();
    assert_eq!(
        commit(&engine, "", None, -1, "t", 0, 1),
        Err(ErrorCode::InvalidGroupId)
    );
    assert_eq!(
        commit(&engine, "g", None, 0, "t", 0, 1),
        Err(ErrorCode::IllegalGeneration)
    );
    assert_eq!(
        commit(&engine, "g", Some("m"), 0, "t", 0, 1),
        Err(ErrorCode::UnknownMemberId)
    );
    assert_eq!(
        commit(&engine, "g", None, -1, "x", 0, 1),
        Err(ErrorCode::UnknownTopicOrPartition)
    );
    assert_eq!(
        engine.apply(&Op::DescribeGroup { group: "g".into() }),
        Ok(Reply::Group {
            generation: 0,
            members: vec![]
        })
    );
    let long = engine.apply(&Op::Commit {
        group: "g".into(),
        member: None,
        generation: -1,
        topic: "t".into(),
        partition: 0,
        offset: 1,
        metadata: "m".repeat(OFFSET_METADATA_BYTES_MAX + 1),
    });
    assert_eq!(long, Err(ErrorCode::OffsetMetadataTooLarge));
    assert_eq!(
        commit(&engine, "g", None, -1, "t", 0, -1),
        Err(ErrorCode::InvalidRequest)
    );
    assert_eq!(commit(&engine, "g", None, -1, "t", 0, 7), Ok(Reply::Ack));
    let committed = |group: &str| {
        engine.apply(&Op::Committed {
            group: group.into(),
            topic: "t".into(),
            partition: 0,
        })
    };
    assert_eq!(
        committed("g"),
        Ok(Reply::CommittedOffset {
            offset: Some(7),
            metadata: Some(String::new())
        })
    );
    assert_eq!(
        committed("other"),
        Ok(Reply::CommittedOffset {
            offset: None,
            metadata: None
        })
    );
    assert_eq!(committed(""), Err(ErrorCode::InvalidGroupId));
    assert_eq!(
        engine.apply(&Op::Committed {
            group: "g".into(),
            topic: "t".into(),
            partition: 1
        }),
        Err(ErrorCode::UnknownTopicOrPartition)
    );
    let generation = generation_of(join(
        &engine,
        "g",
        "m",
        &["t"],
        Assignor::Range,
        OffsetReset::Earliest,
    ));
    assert_eq!(
        commit(&engine, "g", None, -1, "t", 0, 1),
        Err(ErrorCode::UnknownMemberId)
    );
    assert_eq!(
        commit(&engine, "g", Some("m"), generation - 1, "t", 0, 1),
        Err(ErrorCode::IllegalGeneration)
    );
    assert_eq!(
        commit(&engine, "g", Some("m"), generation, "t", 0, 9),
        Ok(Reply::Ack)
    );
    assert_eq!(
        committed("g"),
        Ok(Reply::CommittedOffset {
            offset: Some(9),
            metadata: Some(String::new())
        })
    );
    // The limit itself (1024 groups) is too slow to reach under miri.
    if cfg!(miri) {
        return;
    }
    for i in 1..GROUPS_COUNT_MAX {
        commit(&engine, &format!("g{i}"), None, -1, "t", 0, 0).unwrap();
    }
    assert_eq!(
        commit(&engine, "last", None, -1, "t", 0, 0),
        Err(ErrorCode::PolicyViolation)
    );
    assert_eq!(
        join(
            &engine,
            "last",
            "m",
            &["t"],
            Assignor::Range,
            OffsetReset::Earliest
        ),
        Err(ErrorCode::PolicyViolation)
    );
}

/// Goal: poll resolves positions (stored, committed, reset), reads in assignment order up to
/// max_records, stores positions, and clears them on a new generation.
#[test]
fn polls() {
    let engine = Engine::new();
    let poll = |member: &str, generation: i32, max_records: u32| {
        engine.apply(&Op::Poll {
            group: "g".into(),
            member: member.into(),
            generation,
            max_records,
        })
    };
    let offsets = |ret: Ret| match ret {
        Ok(Reply::Polled { records }) => records
            .iter()
            .map(|r| (r.partition, r.record.offset))
            .collect::<Vec<_>>(),
        other => panic!("not polled: {other:?}"),
    };
    assert_eq!(
        engine.apply(&Op::Poll {
            group: "".into(),
            member: "m".into(),
            generation: 0,
            max_records: 0
        }),
        Err(ErrorCode::InvalidGroupId)
    );
    assert_eq!(poll("m", 0, 0), Err(ErrorCode::InvalidRequest));
    assert_eq!(poll("m", 0, 1), Err(ErrorCode::UnknownMemberId));
    create(&engine, "t", 2, TopicConfig::default()).unwrap();
    produce(&engine, "t", Some(0), values(3)).unwrap();
    produce(&engine, "t", Some(1), values(2)).unwrap();
    let generation = generation_of(join(
        &engine,
        "g",
        "m",
        &["t"],
        Assignor::Range,
        OffsetReset::Earliest,
    ));
    assert_eq!(
        poll("m", generation - 1, 1),
        Err(ErrorCode::RebalanceInProgress)
    );
    assert_eq!(
        poll("m", generation + 1, 1),
        Err(ErrorCode::IllegalGeneration)
    );
    assert_eq!(offsets(poll("m", generation, 2)), vec![(0, 0), (0, 1)]);
    assert_eq!(
        offsets(poll("m", generation, 10)),
        vec![(0, 2), (1, 0), (1, 1)]
    );
    assert_eq!(offsets(poll("m", generation, 10)), vec![]);
    // A committed offset is where the next generation starts.
    commit(&engine, "g", Some("m"), generation, "t", 1, 1).unwrap();
    let generation = generation_of(join(
        &engine,
        "g",
        "n",
        &["t"],
        Assignor::Range,
        OffsetReset::None,
    ));
    assert_eq!(
        offsets(poll("m", generation, 10)),
        vec![(0, 0), (0, 1), (0, 2)],
        "positions cleared: reset earliest"
    );
    assert_eq!(offsets(poll("n", generation, 10)), vec![(1, 1)]);
    // No commit and policy none refuses the whole poll.
    engine
        .apply(&Op::LeaveGroup {
            group: "g".into(),
            member: "m".into(),
        })
        .unwrap();
    let generation = generation_of(join(
        &engine,
        "g",
        "n",
        &["t"],
        Assignor::Range,
        OffsetReset::None,
    ));
    assert_eq!(
        poll("n", generation, 10),
        Err(ErrorCode::NoOffsetForPartition)
    );
    // A position below the log start is reset.
    commit(&engine, "g", Some("n"), generation, "t", 0, 1).unwrap();
    engine
        .apply(&Op::DeleteRecords {
            topic: "t".into(),
            partition: 0,
            offset: 2,
        })
        .unwrap();
    assert_eq!(
        poll("n", generation, 10),
        Err(ErrorCode::NoOffsetForPartition)
    );
}

/// Goal: the typed handle produces and fetches what apply sees, and wakes a waiting reader.
#[test]
fn partition_handle_fast_path() {
    let engine = Engine::new();
    assert!(engine.partition_handle("t", 0).is_err());
    create(
        &engine,
        "t",
        1,
        TopicConfig {
            max_message_bytes: 1000,
            ..TopicConfig::default()
        },
    )
    .unwrap();
    let handle = engine.partition_handle("t", 0).unwrap();
    assert_eq!(handle.append_values(&[]), Err(ErrorCode::InvalidRequest));
    assert_eq!(
        handle.append_values(&[&[0u8; 990]]),
        Err(ErrorCode::MessageTooLarge)
    );
    assert_eq!(handle.append_values(&[b"a", b"bc"]), Ok(0));
    assert_eq!(handle.produce_batch(&[Record::keyed("k", "v")]), Ok(2));
    let mut seen = Vec::new();
    let summary = handle
        .fetch_values_with(0, 10, |offset, value| {
            seen.push((offset, value.map(<[u8]>::to_vec)))
        })
        .unwrap();
    assert_eq!(summary.count, 3);
    assert_eq!(
        seen,
        vec![
            (0, Some(b"a".to_vec())),
            (1, Some(b"bc".to_vec())),
            (2, Some(b"v".to_vec()))
        ]
    );
    assert_eq!(
        fetched_offsets(fetch(&engine, "t", 0, 0, 10, u64::MAX)),
        vec![0, 1, 2]
    );
    let waiter = {
        let handle = handle.clone();
        std::thread::spawn(move || {
            handle
                .fetch_wait(3, 10, std::time::Duration::from_secs(30), |_, _| {})
                .unwrap()
                .count
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(5));
    handle.append_values(&[b"late"]).unwrap();
    assert_eq!(waiter.join().unwrap(), 1);
    assert!(!handle.wait_for(4, std::time::Duration::from_millis(1)));
    assert_eq!(
        fetched_offsets(engine.fetch_wait("t", 0, 3, 10, std::time::Duration::from_millis(1))),
        vec![3]
    );
    engine
        .apply(&Op::DeleteTopic { topic: "t".into() })
        .unwrap();
    assert_eq!(
        handle.append_values(&[b"x"]),
        Err(ErrorCode::UnknownTopicOrPartition)
    );
}

/// Goal: the plain-value fast path and its fallbacks store exactly what was given. Method: a
/// batch crossing a segment boundary (8-byte values: the fast path), then one with a value
/// too large for the arena (the general path, out of line), both read back through `apply`.
#[test]
fn append_values_fast_path_and_fallback_agree() {
    let engine = Engine::new();
    create(&engine, "t", 1, TopicConfig::default()).unwrap();
    let handle = engine.partition_handle("t", 0).unwrap();
    let small: Vec<[u8; 8]> = (0..5000u64).map(u64::to_le_bytes).collect();
    let small_refs: Vec<&[u8]> = small.iter().map(|v| &v[..]).collect();
    assert_eq!(handle.append_values(&small_refs), Ok(0));
    let big = vec![7u8; 5000];
    assert_eq!(handle.append_values(&[b"x", &big, b"y"]), Ok(5000));
    let Ok(Reply::Fetched { records, .. }) = fetch(&engine, "t", 0, 0, 10_000, u64::MAX) else {
        panic!()
    };
    assert_eq!(records.len(), 5003);
    for (i, record) in records.iter().take(5000).enumerate() {
        assert_eq!(
            record.value.as_ref().unwrap().as_slice(),
            &(i as u64).to_le_bytes()
        );
        assert_eq!((record.key.as_ref(), record.headers.len()), (None, 0));
    }
    assert_eq!(records[5000].value.as_ref().unwrap().as_slice(), b"x");
    assert_eq!(records[5001].value.as_ref().unwrap().as_slice(), &big[..]);
    assert_eq!(records[5002].value.as_ref().unwrap().as_slice(), b"y");
}

/// Goal: zero-copy produce (`append_values_with`) stores exactly what `fill` wrote, through
/// every path: in the arena across a segment boundary, out of line (values over the inline
/// limit, and a first segment whose small arena runs out), zero-byte values; and refuses what
/// produce refuses. Method: compare, through `apply`'s fetch, with the same values appended
/// through `append_values`.
#[test]
fn append_values_with_stores_what_fill_wrote() {
    let engine = Engine::new();
    create(&engine, "filled", 1, TopicConfig::default()).unwrap();
    create(&engine, "copied", 1, TopicConfig::default()).unwrap();
    let filled = engine.partition_handle("filled", 0).unwrap();
    let copied = engine.partition_handle("copied", 0).unwrap();
    let value = |i: usize, value_bytes: usize| -> Vec<u8> {
        (0..value_bytes).map(|b| (i * 31 + b) as u8).collect()
    };
    // 8-byte values over two segments (the first segment's arena is too small for all:
    // some go out of line), then 5000-byte values (always out of line), then empty ones.
    let first = 2 * SEGMENT_RECORDS as usize + 808;
    for (count, value_bytes) in [(first, 8), (3, 5000), (4, 0), (1, 8)] {
        let base = filled.high_watermark();
        let appended = filled.append_values_with(count, value_bytes, |i, out| {
            assert_eq!(out.len(), value_bytes);
            out.copy_from_slice(&value(base as usize + i, value_bytes));
        });
        assert_eq!(appended, Ok(base));
        let values: Vec<Vec<u8>> = (0..count)
            .map(|i| value(base as usize + i, value_bytes))
            .collect();
        let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
        assert_eq!(copied.append_values(&refs), Ok(base));
    }
    let end = filled.high_watermark();
    assert_eq!(end as usize, first + 8);
    let fetch_all = |topic: &str| fetch(&engine, topic, 0, 0, 10_000, u64::MAX);
    assert_eq!(fetch_all("filled"), fetch_all("copied"));
    let Ok(Reply::Fetched { records, .. }) = fetch_all("filled") else {
        panic!("fetch failed")
    };
    assert_eq!(records.len(), first + 8);
    assert_eq!(
        records[first].value.as_ref().unwrap().as_slice(),
        &value(first, 5000)[..]
    );
    assert_eq!(records[first + 4].value.as_ref().unwrap().as_slice(), b"");

    assert_eq!(
        filled.append_values_with(0, 8, |_, _| {}),
        Err(ErrorCode::InvalidRequest)
    );
    assert_eq!(
        filled.append_values_with(BATCH_RECORDS_MAX + 1, 8, |_, _| {}),
        Err(ErrorCode::RecordListTooLarge)
    );
    assert_eq!(
        filled.append_values_with(
            2,
            TopicConfig::default().max_message_bytes as usize,
            |_, _| {}
        ),
        Err(ErrorCode::MessageTooLarge)
    );
    assert_eq!(
        filled.high_watermark(),
        end,
        "a refused batch appends nothing"
    );
}

/// Goal: a panic in `fill` appends nothing and never wedges the partition: `fill` runs before
/// the batch takes offsets, the panic reaches the caller, and the next append takes the very
/// next offset. Method: panic at value 2 of 4, in a batch that spans two segments (the first
/// segment's part already filled in its arena).
#[test]
fn a_panicking_fill_appends_nothing_and_reaches_the_caller() {
    let engine = Engine::new();
    create(&engine, "t", 1, TopicConfig::default()).unwrap();
    let handle = engine.partition_handle("t", 0).unwrap();
    let segment_records = SEGMENT_RECORDS as usize;
    handle
        .append_values_with(segment_records - 2, 8, |_, out| out.fill(1))
        .unwrap();
    // Crosses into the next segment; gives up in the second.
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        handle.append_values_with(4, 8, |i, out| {
            assert!(i < 2, "fill gives up at value 2");
            out.fill(9);
        })
    }));
    assert!(panicked.is_err(), "the panic reaches the caller");
    assert_eq!(handle.high_watermark(), segment_records as i64 - 2);
    assert_eq!(
        handle.append_values(&[b"after"]),
        Ok(segment_records as i64 - 2),
        "no offset was taken or skipped"
    );
    let mut tail = Vec::new();
    handle
        .fetch_values_with(segment_records as i64 - 3, 10, |_, value| {
            tail.push(value.unwrap().to_vec())
        })
        .unwrap();
    assert_eq!(tail, vec![vec![1; 8], b"after".to_vec()]);
}

/// Goal: reading values a run at a time (`fetch_values_with` walks a zero-copy run from its
/// first location word and its stored end) gives exactly what a record-by-record read gives,
/// from any offset, for any count, across run and segment boundaries and between records of
/// other shapes. Method: zero-copy runs of awkward sizes (one a single record) interleaved
/// with plain and keyed records, crossing segments; every 7th offset read with counts 1, 3
/// and 5000, compared with `fetch_stored`.
#[test]
fn fetching_values_by_runs_matches_fetching_records() {
    let engine = Engine::new();
    create(&engine, "t", 1, TopicConfig::default()).unwrap();
    let handle = engine.partition_handle("t", 0).unwrap();
    let segment_records = SEGMENT_RECORDS as usize;
    let mut tag = 0u64;
    for run in [3, 1, segment_records - 5, 2, segment_records + 9, 700] {
        handle
            .append_values_with(run, 8, |_, out| {
                out.copy_from_slice(&tag.to_le_bytes());
                tag += 1;
            })
            .unwrap();
        handle.append_values(&[b"plain"]).unwrap();
        handle.produce_batch(&[Record::keyed("k", "v")]).unwrap();
    }
    let high_watermark = handle.high_watermark();
    for offset in (0..high_watermark).step_by(7) {
        for max_records in [1, 3, 5000] {
            let mut values = Vec::new();
            let summary = handle
                .fetch_values_with(offset, max_records, |at, value| {
                    values.push((at, value.map(<[u8]>::to_vec)))
                })
                .unwrap();
            let records: Vec<(i64, Option<Vec<u8>>)> = handle
                .fetch_stored(offset, max_records)
                .unwrap()
                .into_iter()
                .map(|r| (r.offset, r.value.map(|v| v.as_slice().to_vec())))
                .collect();
            assert_eq!(summary.count, records.len());
            assert_eq!(values, records, "from {offset}, at most {max_records}");
        }
    }
}

/// Goal: a partition reader, which loads the high watermark only once it reaches the one it
/// last saw, reads exactly what `fetch_values_with` reads, sees later appends, and still
/// refuses offsets that retention removed below that high watermark. Method: one-record
/// fetches over appends made before and after the reader's first look, a `delete_records`
/// into the range it has seen, and fetches at, below and past the ends.
#[test]
fn partition_reader_reads_as_fetch_and_sees_retention() {
    let engine = Engine::new();
    create(&engine, "t", 1, TopicConfig::default()).unwrap();
    let handle = engine.partition_handle("t", 0).unwrap();
    let values: Vec<[u8; 8]> = (0..15u64).map(u64::to_le_bytes).collect();
    let refs: Vec<&[u8]> = values.iter().map(|v| &v[..]).collect();
    handle.append_values(&refs[..10]).unwrap();
    let mut reader = handle.reader();
    let read = |reader: &mut streamspec_engine::PartitionReader, offset: i64| {
        let mut seen = Vec::new();
        reader
            .fetch_values_with(offset, 1, |offset, value| {
                seen.push((offset, value.unwrap().to_vec()))
            })
            .map(|summary| {
                assert_eq!(summary.count, seen.len());
                seen
            })
    };
    for offset in 0..5 {
        assert_eq!(
            read(&mut reader, offset),
            Ok(vec![(offset, values[offset as usize].to_vec())])
        );
    }
    handle.append_values(&refs[10..]).unwrap();
    for offset in 5..15 {
        assert_eq!(
            read(&mut reader, offset),
            Ok(vec![(offset, values[offset as usize].to_vec())]),
            "offset {offset}"
        );
    }
    assert_eq!(read(&mut reader, 15), Ok(vec![]), "caught up");
    assert_eq!(read(&mut reader, 16), Err(ErrorCode::OffsetOutOfRange));
    handle.delete_records(12).unwrap();
    assert_eq!(read(&mut reader, 11), Err(ErrorCode::OffsetOutOfRange));
    assert_eq!(read(&mut reader, 12), Ok(vec![(12, values[12].to_vec())]));
    reader.pause();
    assert_eq!(read(&mut reader, 14), Ok(vec![(14, values[14].to_vec())]));
}

/// Goal: a partition reader that serves fetches from its cursor (the segment its last fetch
/// ended in, read without the directory, the high watermark or a re-pin) returns what
/// `fetch_values_with` returns, or a non-empty prefix of it (a reader is bounded by the high
/// watermark it last loaded and by its cursor's segment), never records retention removed,
/// and the same errors. Method: seeded steps of appends (single values and batches, across
/// segment ends), `delete_records` (into the cursor's segment, and whole segments past it,
/// which unlinks the segment the cursor names) and reader fetches at the reader's position
/// and near it, each compared with a fetch on the handle made just after it.
#[test]
fn partition_reader_cursor_reads_a_prefix_of_fetch_and_honours_retention() {
    let segment_records = SEGMENT_RECORDS as i64;
    for seed in 1..=8u64 {
        let mut rng = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut below = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n.max(1)
        };
        let engine = Engine::new();
        create(&engine, "t", 1, TopicConfig::default()).unwrap();
        let handle = engine.partition_handle("t", 0).unwrap();
        let mut reader = handle.reader();
        let mut position = 0i64;
        let mut appended = 0u64;
        for step in 0..2_000 {
            let context = format!("seed {seed}, step {step}");
            match below(10) {
                0..=2 => {
                    let count_max = if below(4) == 0 {
                        2 * SEGMENT_RECORDS
                    } else {
                        5
                    };
                    let count = 1 + below(count_max);
                    let values: Vec<[u8; 8]> =
                        (appended..appended + count).map(u64::to_le_bytes).collect();
                    let refs: Vec<&[u8]> = values.iter().map(|v| &v[..]).collect();
                    handle.append_values(&refs).unwrap();
                    appended += count;
                }
                3 => {
                    let high_watermark = handle.high_watermark();
                    let log_start = handle.log_start_offset();
                    // Into the reader's segment, or past it by whole segments.
                    let offset = if below(2) == 0 {
                        position + below(8) as i64
                    } else {
                        position + segment_records + below(segment_records as u64) as i64
                    };
                    handle
                        .delete_records(offset.clamp(log_start, high_watermark))
                        .unwrap();
                }
                _ => {
                    let offset = match below(6) {
                        0 => position - 1 - below(3) as i64,
                        1 => position + 1 + below(3) as i64,
                        _ => position,
                    }
                    .max(0);
                    let max_records = [1, 1, 2, 7, 5000][below(5) as usize];
                    let mut read = Vec::new();
                    let summary = reader.fetch_values_with(offset, max_records, |at, value| {
                        read.push((at, value.unwrap().to_vec()))
                    });
                    let mut expected = Vec::new();
                    let fetched = handle.fetch_values_with(offset, max_records, |at, value| {
                        expected.push((at, value.unwrap().to_vec()))
                    });
                    match (summary, fetched) {
                        (Ok(summary), Ok(_)) => {
                            assert_eq!(summary.count, read.len(), "{context}");
                            assert!(read.len() <= expected.len(), "{context}");
                            assert_eq!(read, expected[..read.len()], "{context}");
                            assert_eq!(read.is_empty(), expected.is_empty(), "{context}");
                            for (at, value) in &read {
                                assert_eq!(value[..], (*at as u64).to_le_bytes(), "{context}");
                            }
                            position = offset + read.len() as i64;
                        }
                        (Err(error), Err(expected_error)) => {
                            assert_eq!(error, expected_error, "{context}");
                            assert_eq!(error, ErrorCode::OffsetOutOfRange, "{context}");
                            position = handle.log_start_offset();
                        }
                        (read, fetched) => {
                            panic!("{context}: the reader gave {read:?}, a fetch {fetched:?}")
                        }
                    }
                }
            }
        }
    }
}
