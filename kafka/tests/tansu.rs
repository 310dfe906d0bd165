//! The adapter and the workload against a real broker: tansu, started here on 127.0.0.1 with
//! in-memory storage and stopped by its process id. Skips, saying so, when no tansu binary
//! is found ($TANSU_BIN, /work/tools/tansu/bin/tansu, ~/.cargo/bin/tansu); ci/tansu.sh finds
//! or builds one.
//!
//! These tests assert that the run works end to end (every phase ran, the broker answered),
//! not that tansu agrees with the model: its departures are findings, documented in
//! docs/brokers/tansu.md, and printed here.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use streamspec_kafka::{BrokerConfig, KafkaBroker, Namespace};
use streamspec_model::{Op, Record, Reply, TopicConfig};

/// How long tansu may take to accept connections.
const STARTUP_WAIT_MS: u64 = 30_000;

fn tansu_binary() -> Option<PathBuf> {
    let home = std::env::var("HOME").unwrap_or_default();
    [
        std::env::var("TANSU_BIN").ok(),
        Some("/work/tools/tansu/bin/tansu".to_string()),
        Some(format!("{home}/.cargo/bin/tansu")),
    ]
    .into_iter()
    .flatten()
    .map(PathBuf::from)
    .find(|path| path.is_file())
}

/// A running tansu, killed (by its pid) when dropped.
struct Tansu {
    child: Child,
    bootstrap: String,
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_tansu() -> Option<Tansu> {
    let Some(binary) = tansu_binary() else {
        eprintln!(
            "SKIP: no tansu binary ($TANSU_BIN, /work/tools/tansu/bin/tansu, ~/.cargo/bin/tansu); \
             ci/tansu.sh builds one"
        );
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("tcp://127.0.0.1:{port}");
    let child = Command::new(&binary)
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
        ])
        .args(["--storage-engine", "memory://tansu/"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tansu starts");
    let tansu = Tansu {
        child,
        bootstrap: format!("127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_millis(STARTUP_WAIT_MS);
    while TcpStream::connect(&tansu.bootstrap).is_err() {
        assert!(
            Instant::now() < deadline,
            "tansu did not listen on {}",
            tansu.bootstrap
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    Some(tansu)
}

fn broker(tansu: &Tansu, prefix: &str) -> KafkaBroker {
    KafkaBroker::connect(BrokerConfig::new(&tansu.bootstrap, Namespace::new(prefix)))
        .expect("adapter connects")
}

/// Goal: the basic ops round-trip through a real broker. Method: create, produce, fetch.
#[test]
fn tansu_answers_create_produce_and_fetch() {
    let Some(tansu) = start_tansu() else { return };
    let broker = broker(&tansu, "basic.");
    let created = broker.execute(&Op::CreateTopic {
        topic: "t".into(),
        partitions: 2,
        config: TopicConfig::default(),
    });
    assert_eq!(created, Ok(Ok(Reply::Ack)));
    let produced = broker.execute(&Op::Produce {
        topic: "t".into(),
        partition: Some(1),
        records: vec![Record::value("a")],
        producer: None,
    });
    assert_eq!(
        produced,
        Ok(Ok(Reply::Produced {
            partition: 1,
            base_offset: 0,
            log_append_time_ms: None
        }))
    );
    // One record per batch: tansu's ListOffsets, which bounds the adapter's fetch, counts a
    // batch as one offset (docs/brokers/tansu.md, finding 1).
    let produced = broker.execute(&Op::Produce {
        topic: "t".into(),
        partition: Some(1),
        records: vec![Record::value("b")],
        producer: None,
    });
    assert!(
        matches!(produced, Ok(Ok(Reply::Produced { base_offset: 1, .. }))),
        "{produced:?}"
    );
    let fetched = broker.execute(&Op::Fetch {
        topic: "t".into(),
        partition: 1,
        offset: 0,
        max_records: 10,
        max_bytes: 1 << 20,
    });
    let Ok(Ok(Reply::Fetched {
        records,
        high_watermark,
        ..
    })) = fetched
    else {
        panic!("fetch: {fetched:?}");
    };
    assert_eq!(high_watermark, 2);
    let values: Vec<_> = records.iter().map(|r| r.value.clone()).collect();
    assert_eq!(values, [Some("a".into()), Some("b".into())]);
}

/// Goal: `streamspec kafka`'s workload runs end to end against tansu: setup, concurrent
/// producers, fetchers and a group, drain, and the checks. Method: a short run; its report
/// is printed (tansu's divergences are findings, not test failures).
#[test]
fn the_workload_runs_end_to_end_against_tansu() {
    let Some(tansu) = start_tansu() else { return };
    let broker = Arc::new(broker(&tansu, "workload."));
    let workload = streamspec_kafka::workload::Workload {
        seconds: 5,
        members_per_group: 2,
        ..Default::default()
    };
    let run = streamspec_kafka::workload::run(&broker, &tansu.bootstrap, &workload);
    let report = streamspec_kafka::check::check(&run);
    eprintln!("adapter problems: {:?}", run.adapter_problems);
    eprintln!("ops: {:?}", report.stats);
    for divergence in &report.divergences {
        eprintln!("{}: {}", divergence.name, divergence.explanation);
    }
    assert!(
        run.adapter_problems.is_empty(),
        "{:?}",
        run.adapter_problems
    );
    assert!(report.stats.get("produce ok").copied().unwrap_or(0) > 0);
    assert!(report.stats.get("fetch ok").copied().unwrap_or(0) > 0);
}
