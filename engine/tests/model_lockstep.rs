//! Lockstep differential test: the engine against the model, op by op.
//!
//! Goal: the engine (an independent implementation) answers every op exactly as the model
//! (the specification) does. Method: seeded random op sequences over a small vocabulary (3
//! topics, 2 groups, 3 members, a few producer ids, valid and invalid values alike) run on
//! both; every `Ret` must be equal. Keyless produces always name a partition or carry a key,
//! since the choice of partition for a keyless record is the one freedom the model allows.
//! A mismatch prints the seed and the op sequence so far.

use streamspec_engine::Engine;
use streamspec_model::model::Model;
use streamspec_model::*;

/// Sequences and ops per sequence (debug build: about a second).
const SEQUENCES_COUNT: u64 = if cfg!(miri) { 2 } else { 300 };
const OPS_PER_SEQUENCE: usize = if cfg!(miri) { 30 } else { 250 };

/// xorshift64*: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const TOPICS: [&str; 4] = ["a", "b", "c", "bad name"];
const GROUPS: [&str; 3] = ["g", "h", ""];
const MEMBERS: [&str; 3] = ["m1", "m2", "m3"];

fn record(rng: &mut Rng) -> Record {
    let mut record = Record::value(format!("v{}", rng.below(1000)).as_str());
    if rng.chance(30) {
        record.key = Some(format!("k{}", rng.below(8)).as_str().into());
    }
    if rng.chance(10) {
        record.value = None;
    }
    if rng.chance(15) {
        record.headers.push(Header {
            key: "h".into(),
            value: rng
                .chance(70)
                .then(|| "x".repeat(rng.below(200) as usize).as_str().into()),
        });
    }
    if rng.chance(30) {
        record.timestamp_ms = Some(rng.below(3000) as i64 - if rng.chance(5) { 5000 } else { 0 });
    }
    record
}

fn config(rng: &mut Rng) -> TopicConfig {
    TopicConfig {
        retention_ms: *rng.pick(&[-1, 0, 500, 2000, TopicConfig::default().retention_ms, -3]),
        retention_bytes: *rng.pick(&[-1, -1, 0, 60, 200]),
        max_message_bytes: *rng.pick(&[TopicConfig::default().max_message_bytes, 150, 0]),
        timestamp_type: if rng.chance(30) {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        },
        retention_policy: if rng.chance(30) {
            RetentionPolicy::Consumed
        } else {
            RetentionPolicy::Delete
        },
    }
}

fn op(rng: &mut Rng, generations: &std::collections::HashMap<String, i32>) -> Op {
    let topic = rng.pick(&TOPICS).to_string();
    let partition = rng.below(4) as i32 - i32::from(rng.chance(3));
    let group = rng.pick(&GROUPS).to_string();
    let member = rng.pick(&MEMBERS).to_string();
    // Mostly the generation the group's last join answered, so members' ops get through.
    let generation = match generations.get(&group) {
        Some(&known) if rng.chance(80) => known,
        _ => rng.below(6) as i32 - 1,
    };
    match rng.below(100) {
        0..=5 => Op::CreateTopic {
            topic,
            partitions: rng.below(4) as i32,
            config: config(rng),
        },
        6 => Op::DeleteTopic { topic },
        7..=29 => {
            let records: Vec<Record> = (0..rng.below(5)).map(|_| record(rng)).collect();
            let keyless_first = records.first().is_some_and(|r| r.key.is_none());
            let partition = (keyless_first || rng.chance(60)).then_some(partition);
            let producer = rng.chance(25).then(|| ProducerBatch {
                producer_id: rng.below(4) as i64,
                producer_epoch: rng.below(3) as i16,
                base_sequence: rng.below(8) as i32 - i32::from(rng.chance(5)),
            });
            Op::Produce {
                topic,
                partition,
                records,
                producer,
            }
        }
        30..=32 => Op::InitProducerId {
            transactional_id: rng
                .chance(50)
                .then(|| rng.pick(&["tx", "ty", ""]).to_string()),
        },
        33..=44 => Op::Fetch {
            topic,
            partition,
            offset: rng.below(12) as i64 - 1,
            max_records: rng.below(6) as u32,
            max_bytes: *rng.pick(&[0, 40, 100, u64::MAX]),
        },
        45..=49 => Op::ListOffsets {
            topic,
            partition,
            spec: match rng.below(4) {
                0 => OffsetSpec::Earliest,
                1 => OffsetSpec::Latest,
                2 => OffsetSpec::MaxTimestamp,
                _ => OffsetSpec::Timestamp {
                    timestamp_ms: rng.below(3000) as i64 - 1,
                },
            },
        },
        50..=53 => Op::EnforceRetention,
        54..=56 => Op::DeleteRecords {
            topic,
            partition,
            offset: rng.below(10) as i64 - 2,
        },
        57..=59 => Op::Tick {
            ms: *rng.pick(&[0, 100, 1000, 1000, 7000, 20_000]),
        },
        62..=69 => Op::JoinGroup {
            group,
            member,
            topics: (0..rng.below(3))
                .map(|_| rng.pick(&TOPICS).to_string())
                .collect(),
            assignor: if rng.chance(50) {
                Assignor::Range
            } else {
                Assignor::RoundRobin
            },
            session_timeout_ms: *rng.pick(&[6_000, 10_000, 45_000, 5_000]),
            auto_offset_reset: *rng.pick(&[
                OffsetReset::Earliest,
                OffsetReset::Latest,
                OffsetReset::None,
            ]),
        },
        70..=71 => Op::LeaveGroup { group, member },
        72..=75 => Op::Heartbeat {
            group,
            member,
            generation,
        },
        76..=84 => Op::Commit {
            group,
            member: rng.chance(60).then_some(member),
            generation,
            topic,
            partition,
            offset: rng.below(10) as i64 - 1,
            metadata: if rng.chance(5) {
                "x".repeat(5000)
            } else {
                "meta".into()
            },
        },
        85..=88 => Op::Committed {
            group,
            topic,
            partition,
        },
        89..=97 => Op::Poll {
            group,
            member,
            generation,
            max_records: rng.below(5) as u32,
        },
        _ => Op::DescribeGroup { group },
    }
}

/// Goal: see the module docs.
#[test]
fn engine_answers_every_op_as_the_model_does() {
    // Coverage: which op kinds succeeded, and a few interesting successes, so the comparison
    // is known to exercise more than refusals.
    let mut succeeded = std::collections::BTreeMap::<&str, usize>::new();
    let (mut polled_records, mut retention_advanced) = (0usize, 0usize);
    for seed in 1..=SEQUENCES_COUNT {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let mut model = Model::new();
        let engine = Engine::new();
        let mut history = Vec::new();
        let mut generations = std::collections::HashMap::new();
        for _ in 0..OPS_PER_SEQUENCE {
            let op = op(&mut rng, &generations);
            let expected = model.apply(&op);
            let actual = engine.apply(&op);
            if let (Op::JoinGroup { group, .. }, Ok(Reply::Joined { generation, .. })) =
                (&op, &expected)
            {
                generations.insert(group.clone(), *generation);
            }
            if actual.is_ok() {
                *succeeded.entry(op.name()).or_default() += 1;
            }
            match &actual {
                Ok(Reply::Polled { records }) => polled_records += records.len(),
                Ok(Reply::Retained { advanced }) => retention_advanced += advanced.len(),
                _ => {}
            }
            history.push(op);
            assert_eq!(
                actual,
                expected,
                "seed {seed}, op #{}: {:?}\nhistory:\n{}",
                history.len() - 1,
                history.last().unwrap(),
                history
                    .iter()
                    .map(|op| serde_json::to_string(op).unwrap())
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
    println!("successes by op: {succeeded:?}; records polled {polled_records}; retention advances {retention_advanced}");
    if !cfg!(miri) {
        assert_eq!(
            succeeded.len(),
            16,
            "every op kind succeeded at least once: {succeeded:?}"
        );
        assert!(polled_records > 0 && retention_advanced > 0);
    }
}

/// Goal: the lockstep comparison catches a wrong answer. Method: a planted bug (every fetch
/// reply's high watermark off by one) must make some sequence disagree.
#[test]
fn lockstep_catches_a_planted_bug() {
    let mut rng = Rng(7);
    let mut model = Model::new();
    let engine = Engine::new();
    let planted = |ret: Ret| match ret {
        Ok(Reply::Fetched {
            records,
            high_watermark,
            log_start_offset,
        }) => Ok(Reply::Fetched {
            records,
            high_watermark: high_watermark + 1,
            log_start_offset,
        }),
        other => other,
    };
    let disagreed = (0..5_000).any(|_| {
        let op = op(&mut rng, &std::collections::HashMap::new());
        model.apply(&op) != planted(engine.apply(&op))
    });
    assert!(disagreed, "the planted bug went unnoticed");
}
