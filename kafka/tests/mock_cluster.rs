//! The adapter against librdkafka's built-in mock cluster: a Kafka-protocol broker that
//! needs no binary, so these tests always run. The mock is not a reference (it is a test
//! double inside the client library); these tests check the adapter's plumbing: requests go
//! out, answers come back in the model's vocabulary. Findings about real brokers come from
//! `ci/tansu.sh`.

use rdkafka::mocking::MockCluster;
use streamspec_kafka::{BrokerConfig, KafkaBroker, Namespace};
use streamspec_model::{ErrorCode, OffsetSpec, Op, Record, Reply};

fn broker(cluster: &MockCluster<'_, rdkafka::producer::DefaultProducerContext>) -> KafkaBroker {
    let mut config = BrokerConfig::new(cluster.bootstrap_servers(), Namespace::new("mock."));
    config.op_timeout_ms = 5_000;
    KafkaBroker::connect(config).expect("connect")
}

fn ok(broker: &KafkaBroker, op: Op) -> Reply {
    match broker.execute(&op) {
        Ok(Ok(reply)) => reply,
        other => panic!("{op:?}: {other:?}"),
    }
}

/// Goal: produce and fetch round-trip records at consecutive offsets, with the watermarks,
/// through the adapter. Method: create, produce two batches, fetch and list offsets.
#[test]
fn produce_fetch_and_list_offsets_round_trip() {
    let cluster = MockCluster::new(1).expect("mock cluster");
    let broker = broker(&cluster);
    // The mock answers no CreateTopics (it times out); its own call creates the topic under
    // the adapter's prefixed name.
    cluster.create_topic("mock.t", 2, 1).expect("mock topic");
    let produced = ok(
        &broker,
        Op::Produce {
            topic: "t".into(),
            partition: Some(1),
            records: vec![Record::value("a"), Record::keyed("k", "b")],
            producer: None,
        },
    );
    assert_eq!(
        produced,
        Reply::Produced {
            partition: 1,
            base_offset: 0,
            log_append_time_ms: None
        }
    );
    let Reply::Fetched {
        records,
        high_watermark,
        log_start_offset,
    } = ok(
        &broker,
        Op::Fetch {
            topic: "t".into(),
            partition: 1,
            offset: 0,
            max_records: 500,
            max_bytes: 1 << 20,
        },
    )
    else {
        panic!("not a fetch reply");
    };
    assert_eq!((log_start_offset, high_watermark), (0, 2));
    assert_eq!(records.len(), 2);
    assert_eq!(records[1].offset, 1);
    assert_eq!(records[1].key, Some("k".into()));
    assert_eq!(
        records[0].timestamp_ms, 0,
        "timestamps are on the model's clock"
    );
    let latest = ok(
        &broker,
        Op::ListOffsets {
            topic: "t".into(),
            partition: 1,
            spec: OffsetSpec::Latest,
        },
    );
    assert_eq!(
        latest,
        Reply::ListedOffset {
            offset: Some(2),
            timestamp_ms: None
        }
    );
    let beyond = broker.execute(&Op::Fetch {
        topic: "t".into(),
        partition: 1,
        offset: 5,
        max_records: 500,
        max_bytes: 1 << 20,
    });
    assert_eq!(beyond, Ok(Err(ErrorCode::OffsetOutOfRange)));
    let unsupported = broker.execute(&Op::InitProducerId {
        transactional_id: None,
    });
    assert!(unsupported.is_err_and(|e| e.api == "InitProducerId"));
}

/// Goal: the whole workload (producers, fetchers, a group whose members join and leave)
/// runs through the adapter, and its checks find nothing on a broker that behaves. Method:
/// a short run against the mock with topics it created itself.
#[test]
fn workload_runs_and_checks_clean_on_the_mock() {
    let cluster = MockCluster::new(1).expect("mock cluster");
    // One member: the mock's rebalances take seconds each, and a multi-member schedule would
    // make this test depend on the machine's load (the rebalancing schedule is exercised
    // against tansu by ci/tansu.sh, and the group checks' teeth by check_teeth.rs).
    let workload = streamspec_kafka::workload::Workload {
        seconds: 6,
        members_per_group: 1,
        create_topics: false,
        ..Default::default()
    };
    for topic in workload.topic_names() {
        cluster
            .create_topic(&format!("mock.{topic}"), workload.partitions, 1)
            .expect("mock topic");
    }
    let broker = std::sync::Arc::new(broker(&cluster));
    let run = streamspec_kafka::workload::run(&broker, &cluster.bootstrap_servers(), &workload);
    let report = streamspec_kafka::check::check(&run);
    println!("problems: {:?}", run.adapter_problems);
    println!("stats: {:?}", report.stats);
    println!("group events: {}", run.group_events.len());
    for divergence in &report.divergences {
        println!("{divergence:?}");
    }
    assert!(
        run.adapter_problems.is_empty(),
        "{:?}",
        run.adapter_problems
    );
    assert!(report.stats.get("produce ok").copied().unwrap_or(0) > 10);
    assert!(report.stats.get("fetch ok").copied().unwrap_or(0) > 10);
    assert!(run.group_events.iter().any(|e| matches!(
        e.observation,
        streamspec_kafka::history::GroupObservation::Record { .. }
    )));
    assert!(report.is_clean(), "{:?}", report.counts);
}
