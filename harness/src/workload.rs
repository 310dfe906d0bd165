//! Workloads for recorded histories: what the client threads of a check do, from a seed.
//!
//! - [`log_workload`]: producers and fetchers over the partitions of one topic (assign
//!   mode), with occasional `delete_records`, ending with a drain that reads every partition
//!   to its high watermark. Values are unique (`"p3-17"`), so anomalies can name records.
//! - [`group_workload`]: for each group, a topic of its own, a producer, and members that
//!   join, poll, commit (sometimes with a stale generation, as a zombie would), heartbeat,
//!   rejoin and leave (subscribe mode).
//!
//! Global ops (`create_topic`, ...) are only in the setup, as the linearizability
//! decomposition requires. The same seed gives the same ops to each thread; what they
//! observe (and so what they do next) depends on the interleaving.

use std::collections::BTreeMap;

use streamspec_model::{
    OffsetReset, OffsetSpec, Op, Record, Reply, Ret, TopicConfig, TopicPartition,
};

use crate::history::Worker;

/// A small deterministic generator (splitmix64): the same seed, the same run, whatever the
/// `rand` version.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        self.next_u64() % n
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A generator for the `index`-th sub-stream of this seed.
    pub fn fork(&self, index: u64) -> Rng {
        let mut forked = Rng(self.0 ^ index.wrapping_mul(0xd6e8_feb8_6659_fd93));
        forked.next_u64();
        forked
    }
}

/// What a recorded run does: the setup, the concurrent workers, and a final sequential
/// worker (a drain) that runs after them.
pub struct Workload {
    /// Run first, one at a time.
    pub setup: Vec<Op>,
    /// Run at once, one thread each.
    pub workers: Vec<Box<dyn Worker>>,
    /// Run last, alone.
    pub finale: Option<Box<dyn Worker>>,
    /// Whether the finale reads everything, so never-read records are `unseen`.
    pub drained: bool,
}

/// The topic of [`log_workload`].
pub const LOG_TOPIC: &str = "log";

/// A topic that keeps records forever (so retention never removes anything by itself).
pub fn forever_config() -> TopicConfig {
    TopicConfig {
        retention_ms: -1,
        retention_bytes: -1,
        ..TopicConfig::default()
    }
}

/// How a log workload runs.
#[derive(Clone, Copy, Debug)]
pub struct LogWorkloadConfig {
    /// Client threads.
    pub threads: usize,
    /// Ops each thread runs.
    pub ops_per_thread: usize,
    /// Partitions of the topic.
    pub partitions: i32,
    /// Percent of ops that are `delete_records`.
    pub delete_percent: u64,
    /// The seed.
    pub seed: u64,
}

/// Producers and fetchers on one topic; see the module docs.
pub fn log_workload(config: LogWorkloadConfig) -> Workload {
    let root = Rng::new(config.seed);
    let workers = (0..config.threads)
        .map(|t| {
            Box::new(LogClient::new(
                root.fork(t as u64),
                t,
                config.ops_per_thread,
                config.partitions,
                config.delete_percent,
            )) as Box<dyn Worker>
        })
        .collect();
    Workload {
        setup: vec![Op::CreateTopic {
            topic: LOG_TOPIC.into(),
            partitions: config.partitions,
            config: forever_config(),
        }],
        workers,
        finale: Some(Box::new(Drain::new(LOG_TOPIC, config.partitions))),
        drained: true,
    }
}

/// Largest batch a log client sends.
const BATCH_RECORDS_WORKLOAD_MAX: u64 = 3;
/// Most records a log client fetches at once; small, so reads overlap writes often.
const FETCH_RECORDS_WORKLOAD_MAX: u64 = 4;

/// One client of [`log_workload`].
struct LogClient {
    rng: Rng,
    thread: usize,
    ops_left: usize,
    partitions: i32,
    delete_percent: u64,
    values_sent: u64,
    /// Next offset to fetch, per partition.
    cursor: Vec<i64>,
    /// A partition whose cursor fell below the log start: ask for the log start next.
    lost: Option<i32>,
}

impl LogClient {
    fn new(rng: Rng, thread: usize, ops: usize, partitions: i32, delete_percent: u64) -> LogClient {
        LogClient {
            rng,
            thread,
            ops_left: ops,
            partitions,
            delete_percent,
            values_sent: 0,
            cursor: vec![0; partitions as usize],
            lost: None,
        }
    }
}

impl Worker for LogClient {
    fn next_op(&mut self) -> Option<Op> {
        self.ops_left = self.ops_left.checked_sub(1)?;
        if let Some(partition) = self.lost.take() {
            return Some(Op::ListOffsets {
                topic: LOG_TOPIC.into(),
                partition,
                spec: OffsetSpec::Earliest,
            });
        }
        let partition = self.rng.below(self.partitions as u64) as i32;
        let roll = self.rng.below(100);
        Some(if roll < self.delete_percent {
            Op::DeleteRecords {
                topic: LOG_TOPIC.into(),
                partition,
                offset: self.cursor[partition as usize],
            }
        } else if roll < 50 {
            let n = 1 + self.rng.below(BATCH_RECORDS_WORKLOAD_MAX);
            let records = (0..n)
                .map(|_| {
                    self.values_sent += 1;
                    Record::value(format!("p{}-{}", self.thread, self.values_sent).as_str())
                })
                .collect();
            Op::Produce {
                topic: LOG_TOPIC.into(),
                partition: Some(partition),
                records,
                producer: None,
            }
        } else if roll < 95 {
            Op::Fetch {
                topic: LOG_TOPIC.into(),
                partition,
                offset: self.cursor[partition as usize],
                max_records: 1 + self.rng.below(FETCH_RECORDS_WORKLOAD_MAX) as u32,
                max_bytes: 1 << 20,
            }
        } else {
            Op::ListOffsets {
                topic: LOG_TOPIC.into(),
                partition,
                spec: if self.rng.chance(50) {
                    OffsetSpec::Earliest
                } else {
                    OffsetSpec::Latest
                },
            }
        })
    }

    fn observe(&mut self, op: &Op, ret: &Ret) {
        match (op, ret) {
            (
                Op::Fetch { partition, .. },
                Ok(Reply::Fetched {
                    records,
                    log_start_offset,
                    ..
                }),
            ) => {
                let cursor = &mut self.cursor[*partition as usize];
                if let Some(last) = records.last() {
                    *cursor = last.offset + 1;
                }
                *cursor = (*cursor).max(*log_start_offset);
            }
            (
                Op::ListOffsets {
                    partition,
                    spec: OffsetSpec::Earliest,
                    ..
                },
                Ok(Reply::ListedOffset {
                    offset: Some(start),
                    ..
                }),
            ) => {
                let cursor = &mut self.cursor[*partition as usize];
                *cursor = (*cursor).max(*start);
            }
            (Op::Fetch { partition, .. }, Err(_)) => {
                // Below the log start (records were deleted): ask where it is now.
                self.lost = Some(*partition);
            }
            _ => {}
        }
    }
}

/// Reads every partition of a topic from its log start to its high watermark.
pub struct Drain {
    topic: String,
    partitions: i32,
    partition: i32,
    cursor: Option<i64>,
    fetches: usize,
}

/// Most records one drain fetch asks for.
const DRAIN_FETCH_RECORDS: u32 = 1_000;
/// Most fetches one drain makes, so a target that never reaches its high watermark cannot
/// keep it going forever.
const DRAIN_FETCHES_MAX: usize = 1_000_000;

impl Drain {
    /// A drain of `topic`.
    pub fn new(topic: &str, partitions: i32) -> Drain {
        Drain {
            topic: topic.into(),
            partitions,
            partition: 0,
            cursor: None,
            fetches: 0,
        }
    }
}

impl Worker for Drain {
    fn next_op(&mut self) -> Option<Op> {
        if self.fetches >= DRAIN_FETCHES_MAX || self.partition >= self.partitions {
            return None;
        }
        self.fetches += 1;
        Some(match self.cursor {
            None => Op::ListOffsets {
                topic: self.topic.clone(),
                partition: self.partition,
                spec: OffsetSpec::Earliest,
            },
            Some(offset) => Op::Fetch {
                topic: self.topic.clone(),
                partition: self.partition,
                offset,
                max_records: DRAIN_FETCH_RECORDS,
                max_bytes: u64::MAX,
            },
        })
    }

    fn observe(&mut self, _op: &Op, ret: &Ret) {
        let next_partition = |drain: &mut Drain| {
            drain.partition += 1;
            drain.cursor = None;
        };
        match ret {
            Ok(Reply::ListedOffset {
                offset: Some(start),
                ..
            }) => self.cursor = Some(*start),
            Ok(Reply::Fetched {
                records,
                high_watermark,
                ..
            }) => match records.last() {
                Some(last) if last.offset + 1 < *high_watermark => {
                    self.cursor = Some(last.offset + 1)
                }
                _ => next_partition(self),
            },
            _ => next_partition(self),
        }
    }
}

/// How a group workload runs.
#[derive(Clone, Copy, Debug)]
pub struct GroupWorkloadConfig {
    /// Groups, each with a topic of its own.
    pub groups: usize,
    /// Members per group (one thread each), besides one producer thread per group.
    pub members: usize,
    /// Partitions of each group's topic.
    pub partitions: i32,
    /// Ops each thread runs.
    pub ops_per_thread: usize,
    /// The seed.
    pub seed: u64,
}

/// The topic of group `g`.
pub fn group_topic(g: usize) -> String {
    format!("topic-{g}")
}

/// Groups with members and a producer each; see the module docs.
pub fn group_workload(config: GroupWorkloadConfig) -> Workload {
    let root = Rng::new(config.seed);
    let mut setup = Vec::new();
    let mut workers: Vec<Box<dyn Worker>> = Vec::new();
    for g in 0..config.groups {
        setup.push(Op::CreateTopic {
            topic: group_topic(g),
            partitions: config.partitions,
            config: forever_config(),
        });
        let stream = root.fork(g as u64 * 1000);
        workers.push(Box::new(GroupProducer {
            rng: stream.fork(999),
            topic: group_topic(g),
            partitions: config.partitions,
            ops_left: config.ops_per_thread,
            sent: 0,
        }));
        for m in 0..config.members {
            workers.push(Box::new(Member {
                rng: stream.fork(m as u64),
                group: format!("group-{g}"),
                member: format!("member-{m}"),
                topic: group_topic(g),
                ops_left: config.ops_per_thread,
                generation: None,
                old_generation: None,
                read_next: BTreeMap::new(),
            }));
        }
    }
    Workload {
        setup,
        workers,
        finale: None,
        drained: false,
    }
}

/// Sends unique values to a group's topic.
struct GroupProducer {
    rng: Rng,
    topic: String,
    partitions: i32,
    ops_left: usize,
    sent: u64,
}

impl Worker for GroupProducer {
    fn next_op(&mut self) -> Option<Op> {
        self.ops_left = self.ops_left.checked_sub(1)?;
        self.sent += 1;
        Some(Op::Produce {
            topic: self.topic.clone(),
            partition: Some(self.rng.below(self.partitions as u64) as i32),
            records: vec![Record::value(
                format!("{}-{}", self.topic, self.sent).as_str(),
            )],
            producer: None,
        })
    }

    fn observe(&mut self, _: &Op, _: &Ret) {}
}

/// A group member: joins, polls, commits what it read, and now and then misbehaves as a
/// zombie (commits with the generation it had before a rebalance).
struct Member {
    rng: Rng,
    group: String,
    member: String,
    topic: String,
    ops_left: usize,
    generation: Option<i32>,
    old_generation: Option<i32>,
    /// Next offset to commit per partition, from what it polled.
    read_next: BTreeMap<TopicPartition, i64>,
}

impl Member {
    fn join(&self) -> Op {
        Op::JoinGroup {
            group: self.group.clone(),
            member: self.member.clone(),
            topics: vec![self.topic.clone()],
            assignor: Default::default(),
            session_timeout_ms: 45_000,
            auto_offset_reset: OffsetReset::Earliest,
        }
    }
}

impl Worker for Member {
    fn next_op(&mut self) -> Option<Op> {
        self.ops_left = self.ops_left.checked_sub(1)?;
        let Some(generation) = self.generation else {
            return Some(self.join());
        };
        let roll = self.rng.below(100);
        let commit = |member: &Member, generation: i32| {
            let (tp, offset) = member
                .read_next
                .iter()
                .next()
                .map(|(tp, o)| (tp.clone(), *o))
                .unwrap_or((TopicPartition::new(member.topic.clone(), 0), 0));
            Op::Commit {
                group: member.group.clone(),
                member: Some(member.member.clone()),
                generation,
                topic: tp.topic,
                partition: tp.partition,
                offset,
                metadata: String::new(),
            }
        };
        Some(match roll {
            0..=49 => Op::Poll {
                group: self.group.clone(),
                member: self.member.clone(),
                generation,
                max_records: 1 + self.rng.below(4) as u32,
            },
            50..=69 => commit(self, generation),
            70..=74 => match self.old_generation {
                Some(old) if old < generation => commit(self, old),
                _ => commit(self, generation),
            },
            75..=84 => Op::Heartbeat {
                group: self.group.clone(),
                member: self.member.clone(),
                generation,
            },
            85..=89 => Op::Committed {
                group: self.group.clone(),
                topic: self.topic.clone(),
                partition: 0,
            },
            90..=94 => self.join(),
            _ => {
                // After leaving and rejoining, this generation is stale: a zombie's.
                self.old_generation = self.generation;
                self.generation = None;
                Op::LeaveGroup {
                    group: self.group.clone(),
                    member: self.member.clone(),
                }
            }
        })
    }

    fn observe(&mut self, op: &Op, ret: &Ret) {
        match (op, ret) {
            (Op::JoinGroup { .. }, Ok(Reply::Joined { generation, .. })) => {
                if self.generation != Some(*generation) {
                    self.old_generation = self.generation.or(self.old_generation);
                }
                self.generation = Some(*generation);
            }
            (Op::Poll { .. }, Ok(Reply::Polled { records })) => {
                for r in records {
                    self.read_next.insert(
                        TopicPartition::new(r.topic.clone(), r.partition),
                        r.record.offset + 1,
                    );
                }
            }
            (Op::LeaveGroup { .. }, _) => self.generation = None,
            (_, Err(_)) if matches!(op, Op::Poll { .. } | Op::Heartbeat { .. }) => {
                // Fenced: rejoin to learn the new generation.
                self.old_generation = self.generation.or(self.old_generation);
                self.generation = None;
                self.read_next.clear();
            }
            _ => {}
        }
    }
}
