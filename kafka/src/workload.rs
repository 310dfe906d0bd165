//! The concurrent workload `streamspec kafka` runs against a broker, in three phases:
//!
//! 1. **Setup** (one process, sequential): create the topics, keeping records forever
//!    (`retention_ms = -1`), so every record ever acknowledged must stay readable.
//! 2. **Concurrent** for `seconds`: producers (each op one record with a unique value, to an
//!    explicit partition or by key), assign-mode fetchers (random offsets up to the high
//!    watermark they last saw, random `max_records`), and group members (librdkafka's own
//!    group protocol; members join and leave at staggered times so the group rebalances).
//! 3. **Drain** (one process, sequential): every partition read from its log start to its
//!    high watermark and both watermarks listed (in the history); every group's committed
//!    offsets read back (beside it, as group observations).
//!
//! Everything the model's ops express is recorded in the history ([`Recorder::run`]);
//! group members' observations go beside it ([`crate::history::GroupEvent`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use streamspec_model::{OffsetSpec, Op, Record, Reply, TopicConfig, TopicPartition};

use crate::broker::KafkaBroker;
use crate::error::AdapterError;
use crate::group::{run_member, MemberPlan};
use crate::history::{Event, GroupEvent, GroupObservation, Recorder};

/// Most records one drain fetch asks for.
const DRAIN_FETCH_RECORDS_MAX: u32 = 500;
/// Most fetches the drain spends on one partition (a bound on a broker that keeps growing or
/// keeps answering empty).
const DRAIN_FETCHES_PER_PARTITION_MAX: usize = 10_000;
/// Most records a workload fetch asks for; fetches pick `1..=` this at random.
const WORKLOAD_FETCH_RECORDS_MAX: u32 = 50;

/// What to run. Every field has a default; a `--workload FILE` is this as JSON.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Workload {
    /// How many topics.
    pub topics: usize,
    /// Partitions per topic.
    pub partitions: i32,
    /// Producer threads.
    pub producers: usize,
    /// Assign-mode fetcher threads.
    pub fetchers: usize,
    /// Consumer groups.
    pub groups: usize,
    /// Members per group (they join and leave at staggered times).
    pub members_per_group: usize,
    /// Length of the concurrent phase, in seconds.
    pub seconds: u64,
    /// Percent of produces that are keyed (partition chosen by murmur2) rather than sent to
    /// an explicit partition.
    pub keyed_percent: u32,
    /// Pause between one process's ops, in ms (keeps a small broker from being flooded).
    pub op_pause_ms: u64,
    /// Seed of the workload's choices.
    pub seed: u64,
    /// Whether the setup creates the topics (CreateTopics); `false` for a broker where they
    /// were made some other way (the recorded history then starts without them).
    pub create_topics: bool,
}

impl Default for Workload {
    fn default() -> Workload {
        Workload {
            topics: 2,
            partitions: 3,
            producers: 3,
            fetchers: 2,
            groups: 1,
            members_per_group: 3,
            seconds: 10,
            keyed_percent: 50,
            op_pause_ms: 5,
            seed: 1,
            create_topics: true,
        }
    }
}

impl Workload {
    /// The topics' model names.
    pub fn topic_names(&self) -> Vec<String> {
        (0..self.topics).map(|i| format!("t{i}")).collect()
    }

    /// The groups' model names.
    pub fn group_names(&self) -> Vec<String> {
        (0..self.groups).map(|i| format!("g{i}")).collect()
    }

    /// The topic config every workload topic gets: records kept forever.
    pub fn topic_config(&self) -> TopicConfig {
        TopicConfig {
            retention_ms: -1,
            ..TopicConfig::default()
        }
    }
}

/// Everything a run recorded.
#[derive(Clone, Debug)]
pub struct Run {
    /// The workload that ran.
    pub workload: Workload,
    /// The history (setup, concurrent phase and drain), in order.
    pub events: Vec<Event>,
    /// Group members' observations, in order.
    pub group_events: Vec<GroupEvent>,
    /// Problems of the adapter or the client that cut a phase short (not findings).
    pub adapter_problems: Vec<String>,
    /// When the drain started (ns on the history's clock); every later op is the drain's.
    pub drain_started_ns: u64,
    /// Each partition's records as the drain read them to the end of the partition (Fetch
    /// until end-of-partition, independent of ListOffsets), in delivery order.
    pub final_reads: Vec<(TopicPartition, Vec<streamspec_model::StoredRecord>)>,
}

/// A tiny deterministic generator (xorshift64*), so a workload needs no dependency and a
/// seed gives the same choices.
#[derive(Clone, Debug)]
pub struct Choices(u64);

impl Choices {
    /// A generator from a seed (0 is replaced, as xorshift needs a non-zero state).
    pub fn new(seed: u64) -> Choices {
        Choices(seed.max(1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// A number in `0..bound` (`bound > 0`).
    pub fn below(&mut self, bound: u64) -> u64 {
        debug_assert!(bound > 0);
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % bound
    }
}

/// Run `workload` against `broker` and return what was recorded.
pub fn run(broker: &Arc<KafkaBroker>, bootstrap: &str, workload: &Workload) -> Run {
    let recorder = Arc::new(Recorder::new());
    let mut adapter_problems = Vec::new();
    let topics = workload.topic_names();

    // 1. Setup.
    let mut setup_process = recorder.fresh_process();
    let mut setup_ok = true;
    for topic in topics.iter().filter(|_| workload.create_topics) {
        let op = Op::CreateTopic {
            topic: topic.clone(),
            partitions: workload.partitions,
            config: workload.topic_config(),
        };
        match recorder.run(setup_process, &op, |op| broker.execute(op)) {
            Ok(Ok(_)) => {}
            Ok(Err(code)) => {
                setup_ok = false;
                adapter_problems.push(format!(
                    "setup: create_topic {topic} refused: {}",
                    code.name()
                ));
            }
            Err(error) => {
                setup_ok = false;
                setup_process = recorder.fresh_process();
                adapter_problems.push(format!("setup: {error}"));
            }
        }
    }
    if !setup_ok {
        let (events, group_events) = recorder.take();
        return Run {
            workload: workload.clone(),
            events,
            group_events,
            adapter_problems,
            drain_started_ns: u64::MAX,
            final_reads: Vec::new(),
        };
    }

    // 2. Concurrent phase.
    let started = Instant::now();
    let deadline = started + Duration::from_secs(workload.seconds);
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for producer in 0..workload.producers {
        let (broker, recorder, workload, topics) = (
            Arc::clone(broker),
            Arc::clone(&recorder),
            workload.clone(),
            topics.clone(),
        );
        threads.push(std::thread::spawn(move || {
            produce_loop(&broker, &recorder, &workload, &topics, producer, deadline)
        }));
    }
    for fetcher in 0..workload.fetchers {
        let (broker, recorder, workload, topics) = (
            Arc::clone(broker),
            Arc::clone(&recorder),
            workload.clone(),
            topics.clone(),
        );
        threads.push(std::thread::spawn(move || {
            fetch_loop(&broker, &recorder, &workload, &topics, fetcher, deadline)
        }));
    }
    let run_time = Duration::from_secs(workload.seconds);
    for group in workload.group_names() {
        for index in 0..workload.members_per_group {
            let plan = member_plan(&group, index, workload.members_per_group, &topics, run_time);
            let (recorder, stop, names, bootstrap) = (
                Arc::clone(&recorder),
                Arc::clone(&stop),
                broker.names().clone(),
                bootstrap.to_string(),
            );
            threads.push(std::thread::spawn(move || {
                run_member(&bootstrap, &names, &recorder, &plan, started, &stop)
                    .err()
                    .map(|e| format!("group member {}/{}: {e}", plan.group, plan.member))
                    .into_iter()
                    .collect()
            }));
        }
    }
    for thread in threads {
        match thread.join() {
            Ok(problems) => adapter_problems.extend(problems),
            Err(_) => adapter_problems.push("a workload thread panicked".into()),
        }
    }
    stop.store(true, Ordering::SeqCst);

    // 3. Drain.
    let drain_started_ns = recorder.now_ns();
    adapter_problems.extend(drain(broker, &recorder, workload));
    let mut final_reads = Vec::new();
    for topic in workload.topic_names() {
        for partition in 0..workload.partitions {
            match broker.read_to_end(&topic, partition, 0) {
                Ok(records) => {
                    final_reads.push((TopicPartition::new(topic.clone(), partition), records))
                }
                Err(error) => adapter_problems.push(format!("final read: {error}")),
            }
        }
    }
    let (events, group_events) = recorder.take();
    Run {
        workload: workload.clone(),
        events,
        group_events,
        adapter_problems,
        drain_started_ns,
        final_reads,
    }
}

/// Member `index` of `count`: the first joins at once and leaves at three quarters of the
/// run; the others join at staggered times and stay (so the group rebalances on each join and
/// on the leave). A single member stays throughout.
fn member_plan(
    group: &str,
    index: usize,
    count: usize,
    topics: &[String],
    run_time: Duration,
) -> MemberPlan {
    let join_after = run_time.mul_f64(index as f64 / (2 * count.max(1)) as f64);
    let leave_after = if index == 0 && count > 1 {
        run_time.mul_f64(0.75)
    } else {
        run_time
    };
    MemberPlan {
        group: group.to_string(),
        member: format!("{group}-m{index}"),
        topics: topics.to_vec(),
        join_after,
        leave_after,
    }
}

fn produce_loop(
    broker: &KafkaBroker,
    recorder: &Recorder,
    workload: &Workload,
    topics: &[String],
    producer: usize,
    deadline: Instant,
) -> Vec<String> {
    let mut choices = Choices::new(workload.seed ^ (producer as u64 + 1) << 8);
    let mut process = recorder.fresh_process();
    let mut sequence = 0u64;
    while Instant::now() < deadline {
        let topic = &topics[choices.below(topics.len() as u64) as usize];
        let value = format!("p{producer}-{sequence}");
        sequence += 1;
        let keyed = choices.below(100) < u64::from(workload.keyed_percent);
        let (partition, record) = if keyed {
            let key = format!("k{}", choices.below(1_000));
            (None, Record::keyed(key.as_str(), value.as_str()))
        } else {
            let partition = choices.below(workload.partitions as u64) as i32;
            (Some(partition), Record::value(value.as_str()))
        };
        let op = Op::Produce {
            topic: topic.clone(),
            partition,
            records: vec![record],
            producer: None,
        };
        if recorder.run(process, &op, |op| broker.execute(op)).is_err() {
            process = recorder.fresh_process();
        }
        std::thread::sleep(Duration::from_millis(workload.op_pause_ms));
    }
    Vec::new()
}

fn fetch_loop(
    broker: &KafkaBroker,
    recorder: &Recorder,
    workload: &Workload,
    topics: &[String],
    fetcher: usize,
    deadline: Instant,
) -> Vec<String> {
    let mut choices = Choices::new(workload.seed ^ (fetcher as u64 + 1) << 24);
    let mut process = recorder.fresh_process();
    // The high watermark this fetcher last saw, per (topic, partition).
    let mut seen: std::collections::BTreeMap<(usize, i32), i64> = Default::default();
    while Instant::now() < deadline {
        let topic_index = choices.below(topics.len() as u64) as usize;
        let partition = choices.below(workload.partitions as u64) as i32;
        let known = seen.get(&(topic_index, partition)).copied().unwrap_or(0);
        let offset = choices.below(known as u64 + 1) as i64;
        let op = Op::Fetch {
            topic: topics[topic_index].clone(),
            partition,
            offset,
            max_records: 1 + choices.below(u64::from(WORKLOAD_FETCH_RECORDS_MAX)) as u32,
            max_bytes: 52_428_800,
        };
        match recorder.run(process, &op, |op| broker.execute(op)) {
            Ok(Ok(Reply::Fetched { high_watermark, .. })) => {
                seen.insert((topic_index, partition), high_watermark);
            }
            Ok(_) => {}
            Err(_) => process = recorder.fresh_process(),
        }
        std::thread::sleep(Duration::from_millis(workload.op_pause_ms));
    }
    Vec::new()
}

/// Read every partition to its end, list its watermarks, and read every group's commits.
fn drain(broker: &KafkaBroker, recorder: &Recorder, workload: &Workload) -> Vec<String> {
    let mut problems = Vec::new();
    let mut process = recorder.fresh_process();
    for topic in workload.topic_names() {
        for partition in 0..workload.partitions {
            let mut offset = 0i64;
            let mut complete = false;
            for _ in 0..DRAIN_FETCHES_PER_PARTITION_MAX {
                let op = Op::Fetch {
                    topic: topic.clone(),
                    partition,
                    offset,
                    max_records: DRAIN_FETCH_RECORDS_MAX,
                    max_bytes: 52_428_800,
                };
                match recorder.run(process, &op, |op| broker.execute(op)) {
                    Ok(Ok(Reply::Fetched {
                        records,
                        high_watermark,
                        ..
                    })) => {
                        match records.last() {
                            Some(last) => offset = last.offset + 1,
                            None => {
                                complete = offset >= high_watermark;
                                break;
                            }
                        }
                        if offset >= high_watermark {
                            complete = true;
                            break;
                        }
                    }
                    Ok(other) => {
                        problems.push(format!(
                            "drain: fetch {topic}-{partition} at {offset} answered {other:?}"
                        ));
                        break;
                    }
                    Err(error) => {
                        process = recorder.fresh_process();
                        problems.push(format!("drain: {error}"));
                        break;
                    }
                }
            }
            if !complete {
                problems.push(format!("drain: {topic}-{partition} not read to its end"));
            }
            for spec in [OffsetSpec::Earliest, OffsetSpec::Latest] {
                let op = Op::ListOffsets {
                    topic: topic.clone(),
                    partition,
                    spec,
                };
                if let Err(error) = recorder.run(process, &op, |op| broker.execute(op)) {
                    process = recorder.fresh_process();
                    problems.push(format!("drain: {error}"));
                }
            }
            for group in workload.group_names() {
                let op = Op::Committed {
                    group: group.clone(),
                    topic: topic.clone(),
                    partition,
                };
                let tp = TopicPartition::new(topic.clone(), partition);
                match broker.execute(&op) {
                    Ok(Ok(Reply::CommittedOffset { offset, .. })) => recorder.push_group(
                        &group,
                        "drain",
                        GroupObservation::CommittedRead {
                            partition: tp,
                            offset,
                        },
                    ),
                    Ok(other) => {
                        problems.push(format!("drain: committed {group} {tp} answered {other:?}"))
                    }
                    Err(error) => problems.push(format!("drain: {error}")),
                }
            }
        }
    }
    problems
}

/// Parse a workload file (JSON; every field optional).
pub fn parse_workload(text: &str) -> Result<Workload, String> {
    let workload: Workload = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if workload.topics == 0 || workload.partitions < 1 {
        return Err("a workload needs at least one topic with at least one partition".into());
    }
    Ok(workload)
}

/// The error a run reports when the broker cannot be reached at all.
pub fn unreachable(bootstrap: &str, error: &AdapterError) -> String {
    format!("cannot use the broker at {bootstrap}: {error}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: a workload file may give any subset of fields and no unknown one.
    #[test]
    fn workload_files_take_defaults_and_refuse_unknown_fields() {
        let workload = parse_workload(r#"{"seconds": 3, "producers": 1}"#).unwrap();
        assert_eq!(workload.seconds, 3);
        assert_eq!(workload.producers, 1);
        assert_eq!(workload.partitions, Workload::default().partitions);
        assert!(parse_workload(r#"{"secs": 3}"#).is_err());
        assert!(parse_workload(r#"{"topics": 0}"#).is_err());
    }

    /// Goal: members join staggered and the first leaves, so the group rebalances.
    #[test]
    fn member_plans_stagger_joins_and_one_leave() {
        let run_time = Duration::from_secs(8);
        let plans: Vec<MemberPlan> = (0..3)
            .map(|i| member_plan("g", i, 3, &["t".into()], run_time))
            .collect();
        assert_eq!(plans[0].join_after, Duration::ZERO);
        assert!(plans[1].join_after > plans[0].join_after);
        assert!(plans[2].join_after > plans[1].join_after);
        assert!(plans[0].leave_after < run_time);
        assert_eq!(plans[2].leave_after, run_time);
        let mut choices = Choices::new(7);
        assert!((0..100).all(|_| choices.below(3) < 3));
    }
}
