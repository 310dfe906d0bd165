//! The model's invariants, as named functions (docs/model.md, "Invariants").
//!
//! **State invariants** take one [`Model`] and hold in every reachable state.
//! **Transition invariants** take `(before, op, ret, after)` and hold for every step.
//! [`check_all`] runs all of them on one step; the tests run it after every op, and each
//! function is shown, in this file's tests, to catch a planted corruption.
//!
//! State invariants:
//! - [`offsets_dense`], [`log_start_within_high_watermark`], [`one_owner_per_partition`].
//!
//! Transition invariants:
//! - [`offsets_monotonic`], [`records_immutable`], [`retention_removes_only_eligible_prefix`],
//!   [`commits_only_from_current_generation`], [`generation_monotonic`],
//!   [`positions_within_log`], [`groups_independent`], [`refused_ops_change_nothing`].

use std::collections::{BTreeMap, BTreeSet};

use crate::model::Model;
use crate::op::{Op, Ret, TopicPartition};

/// A broken invariant: which one, and what broke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The invariant's name, as its function is named (`"offsets_dense"`).
    pub invariant: &'static str,
    /// What broke, with the partition, group or offset involved.
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invariant {} broken: {}", self.invariant, self.detail)
    }
}

impl std::error::Error for Violation {}

/// `Err(Violation)` named `invariant` with `detail` unless `holds`.
fn ensure(
    holds: bool,
    invariant: &'static str,
    detail: impl FnOnce() -> String,
) -> Result<(), Violation> {
    if holds {
        Ok(())
    } else {
        Err(Violation {
            invariant,
            detail: detail(),
        })
    }
}

/// Runs every state invariant on `after` and every transition invariant on the step.
pub fn check_all(before: &Model, op: &Op, ret: &Ret, after: &Model) -> Result<(), Violation> {
    check_state(after)?;
    refused_ops_change_nothing(before, op, ret, after)?;
    offsets_monotonic(before, op, ret, after)?;
    records_immutable(before, op, ret, after)?;
    retention_removes_only_eligible_prefix(before, op, ret, after)?;
    commits_only_from_current_generation(before, op, ret, after)?;
    generation_monotonic(before, op, ret, after)?;
    positions_within_log(before, op, ret, after)?;
    groups_independent(before, op, ret, after)?;
    Ok(())
}

/// Runs every state invariant on `model`.
pub fn check_state(model: &Model) -> Result<(), Violation> {
    offsets_dense(model)?;
    log_start_within_high_watermark(model)?;
    one_owner_per_partition(model)?;
    Ok(())
}

// ------------------------------------------------------------------------ state invariants

/// `offsets_dense`: a partition's retained records are exactly the offsets
/// `log_start_offset..high_watermark`, in order.
pub fn offsets_dense(model: &Model) -> Result<(), Violation> {
    const NAME: &str = "offsets_dense";
    for (name, topic) in &model.topics {
        for (partition, log) in topic.partitions.iter().enumerate() {
            let expected_count = log.high_watermark - log.log_start_offset;
            ensure(log.records.len() as i64 == expected_count, NAME, || {
                format!(
                    "{name}-{partition} holds {} records for offsets {}..{}",
                    log.records.len(),
                    log.log_start_offset,
                    log.high_watermark
                )
            })?;
            for (i, record) in log.records.iter().enumerate() {
                let expected = log.log_start_offset + i as i64;
                ensure(record.offset == expected, NAME, || {
                    format!(
                        "{name}-{partition} holds offset {} where {expected} belongs",
                        record.offset
                    )
                })?;
            }
        }
    }
    Ok(())
}

/// `log_start_within_high_watermark`: `0 ≤ log_start_offset ≤ high_watermark`.
pub fn log_start_within_high_watermark(model: &Model) -> Result<(), Violation> {
    for (name, topic) in &model.topics {
        for (partition, log) in topic.partitions.iter().enumerate() {
            ensure(
                0 <= log.log_start_offset && log.log_start_offset <= log.high_watermark,
                "log_start_within_high_watermark",
                || {
                    format!(
                        "{name}-{partition}: log start {} high watermark {}",
                        log.log_start_offset, log.high_watermark
                    )
                },
            )?;
        }
    }
    Ok(())
}

/// `one_owner_per_partition`: each group's current assignment gives every partition of every
/// subscribed existing topic to exactly one member subscribed to it, and nothing else; an
/// empty group assigns nothing.
pub fn one_owner_per_partition(model: &Model) -> Result<(), Violation> {
    const NAME: &str = "one_owner_per_partition";
    for (group_id, group) in &model.groups {
        let listed: Vec<&String> = group.assignment.keys().collect();
        let members: Vec<&String> = group.members.keys().collect();
        ensure(listed == members, NAME, || {
            format!(
                "group {group_id}: the assignment lists {listed:?}, the members are {members:?}"
            )
        })?;
        let mut owners: BTreeMap<&TopicPartition, &str> = BTreeMap::new();
        for (member, partitions) in &group.assignment {
            for tp in partitions {
                let subscribed = group
                    .members
                    .get(member)
                    .is_some_and(|m| m.topics.contains(&tp.topic));
                ensure(subscribed, NAME, || {
                    format!("group {group_id}: {tp} is assigned to {member}, not a subscriber")
                })?;
                ensure(
                    model.partition(&tp.topic, tp.partition).is_some(),
                    NAME,
                    || format!("group {group_id}: {tp} is assigned to {member} but does not exist"),
                )?;
                if let Some(other) = owners.insert(tp, member) {
                    return Err(Violation {
                        invariant: NAME,
                        detail: format!(
                            "group {group_id}: {tp} is assigned to both {other} and {member}"
                        ),
                    });
                }
            }
        }
        let subscribed: BTreeSet<&String> = group
            .members
            .values()
            .flat_map(|m| m.topics.iter())
            .collect();
        for topic in subscribed {
            for partition in 0..model.partition_count(topic).unwrap_or(0) {
                let tp = TopicPartition::new(topic.clone(), partition);
                ensure(owners.contains_key(&tp), NAME, || {
                    format!("group {group_id}: {tp} is subscribed but assigned to nobody")
                })?;
            }
        }
    }
    Ok(())
}

// ------------------------------------------------------------------- transition invariants

/// `refused_ops_change_nothing`: an op answered with an error leaves the state unchanged.
pub fn refused_ops_change_nothing(
    before: &Model,
    op: &Op,
    ret: &Ret,
    after: &Model,
) -> Result<(), Violation> {
    ensure(
        ret.is_ok() || before == after,
        "refused_ops_change_nothing",
        || {
            format!(
                "{} was refused with {:?} but changed the state",
                op.name(),
                ret
            )
        },
    )
}

/// Calls `each(topic, partition, before_log, after_log)` for every partition of every topic
/// that exists both before and after.
fn for_each_kept_partition(
    before: &Model,
    after: &Model,
    mut each: impl FnMut(
        &str,
        i32,
        &crate::partition::PartitionLog,
        &crate::partition::PartitionLog,
    ) -> Result<(), Violation>,
) -> Result<(), Violation> {
    for (name, old) in &before.topics {
        let Some(new) = after.topics.get(name) else {
            continue;
        };
        for (partition, (old_log, new_log)) in
            old.partitions.iter().zip(new.partitions.iter()).enumerate()
        {
            each(name, partition as i32, old_log, new_log)?;
        }
    }
    Ok(())
}

/// `offsets_monotonic`: neither log start nor high watermark ever decreases while the topic
/// exists.
pub fn offsets_monotonic(
    before: &Model,
    op: &Op,
    _ret: &Ret,
    after: &Model,
) -> Result<(), Violation> {
    for_each_kept_partition(before, after, |topic, partition, old, new| {
        ensure(
            new.log_start_offset >= old.log_start_offset
                && new.high_watermark >= old.high_watermark,
            "offsets_monotonic",
            || {
                format!(
                    "{} moved {topic}-{partition} from [{}, {}) to [{}, {})",
                    op.name(),
                    old.log_start_offset,
                    old.high_watermark,
                    new.log_start_offset,
                    new.high_watermark
                )
            },
        )
    })
}

/// `records_immutable`: a record at an offset never changes while it is retained.
pub fn records_immutable(
    before: &Model,
    op: &Op,
    _ret: &Ret,
    after: &Model,
) -> Result<(), Violation> {
    for_each_kept_partition(before, after, |topic, partition, old, new| {
        let from = old.log_start_offset.max(new.log_start_offset);
        let to = old.high_watermark.min(new.high_watermark);
        for offset in from..to {
            ensure(
                old.record(offset) == new.record(offset),
                "records_immutable",
                || {
                    format!(
                        "{} changed {topic}-{partition} offset {offset}: {:?} became {:?}",
                        op.name(),
                        old.record(offset),
                        new.record(offset)
                    )
                },
            )?;
        }
        Ok(())
    })
}

/// `retention_removes_only_eligible_prefix`: every log start advance stays within the
/// eligible log start computed before the op, except the one `delete_records` asks for
/// explicitly.
pub fn retention_removes_only_eligible_prefix(
    before: &Model,
    op: &Op,
    _ret: &Ret,
    after: &Model,
) -> Result<(), Violation> {
    for_each_kept_partition(before, after, |topic, partition, old, new| {
        let asked = matches!(op, Op::DeleteRecords { topic: t, partition: p, .. }
            if t == topic && *p == partition);
        if asked || new.log_start_offset <= old.log_start_offset {
            return Ok(());
        }
        let eligible = before
            .eligible_log_start(topic, partition)
            .unwrap_or(old.log_start_offset);
        ensure(
            new.log_start_offset <= eligible,
            "retention_removes_only_eligible_prefix",
            || {
                format!(
                    "{} advanced {topic}-{partition} log start to {} past the eligible {eligible}",
                    op.name(),
                    new.log_start_offset
                )
            },
        )
    })
}

/// `commits_only_from_current_generation`: a committed offset changes only through a
/// successful commit from the group's current generation by one of its members, or a simple
/// commit to a group without members; or disappears with its topic's deletion.
pub fn commits_only_from_current_generation(
    before: &Model,
    op: &Op,
    ret: &Ret,
    after: &Model,
) -> Result<(), Violation> {
    const NAME: &str = "commits_only_from_current_generation";
    let ids: BTreeSet<&String> = before.groups.keys().chain(after.groups.keys()).collect();
    for id in ids {
        let old_group = before.groups.get(id);
        let empty = BTreeMap::new();
        let old = old_group.map_or(&empty, |g| &g.committed);
        let new = after.groups.get(id).map_or(&empty, |g| &g.committed);
        let changed: BTreeSet<&TopicPartition> = old
            .keys()
            .chain(new.keys())
            .filter(|tp| old.get(*tp) != new.get(*tp))
            .collect();
        for tp in changed {
            let allowed = match op {
                Op::DeleteTopic { topic } => {
                    *topic == tp.topic && ret.is_ok() && !new.contains_key(tp)
                }
                Op::Commit {
                    group,
                    member,
                    generation,
                    topic,
                    partition,
                    ..
                } if group == id && *topic == tp.topic && *partition == tp.partition => {
                    ret.is_ok()
                        && match member {
                            Some(member) => old_group.is_some_and(|g| {
                                g.members.contains_key(member) && g.generation == *generation
                            }),
                            None => {
                                *generation == -1 && old_group.is_none_or(|g| g.members.is_empty())
                            }
                        }
                }
                _ => false,
            };
            ensure(allowed, NAME, || {
                format!(
                    "{} ({:?}) changed group {id}'s committed offset for {tp} from {:?} to {:?}",
                    op.name(),
                    ret,
                    old.get(tp).map(|c| c.offset),
                    new.get(tp).map(|c| c.offset)
                )
            })?;
        }
    }
    Ok(())
}

/// `generation_monotonic`: a group's generation never decreases (and a group is never
/// removed).
pub fn generation_monotonic(
    before: &Model,
    op: &Op,
    _ret: &Ret,
    after: &Model,
) -> Result<(), Violation> {
    for (id, old) in &before.groups {
        let new_generation = after.groups.get(id).map(|g| g.generation);
        ensure(
            new_generation.is_some_and(|g| g >= old.generation),
            "generation_monotonic",
            || {
                format!(
                    "{} took group {id} from generation {} to {:?}",
                    op.name(),
                    old.generation,
                    new_generation
                )
            },
        )?;
    }
    Ok(())
}

/// `positions_within_log`: a position lies in `log_start_offset..=high_watermark` at the time
/// it is stored.
pub fn positions_within_log(
    before: &Model,
    op: &Op,
    _ret: &Ret,
    after: &Model,
) -> Result<(), Violation> {
    for (id, group) in &after.groups {
        let old = before.groups.get(id);
        for (tp, &position) in &group.positions {
            if old.and_then(|g| g.position(tp)) == Some(position) {
                continue;
            }
            let within = after
                .partition(&tp.topic, tp.partition)
                .is_some_and(|log| (log.log_start_offset..=log.high_watermark).contains(&position));
            ensure(within, "positions_within_log", || {
                format!(
                    "{} stored group {id}'s position {position} for {tp}, outside {:?}..={:?}",
                    op.name(),
                    after.log_start_offset(&tp.topic, tp.partition),
                    after.high_watermark(&tp.topic, tp.partition)
                )
            })?;
        }
    }
    Ok(())
}

/// The group an op names, if any.
fn named_group(op: &Op) -> Option<&str> {
    match op {
        Op::JoinGroup { group, .. }
        | Op::LeaveGroup { group, .. }
        | Op::Heartbeat { group, .. }
        | Op::Commit { group, .. }
        | Op::Committed { group, .. }
        | Op::Poll { group, .. }
        | Op::DescribeGroup { group } => Some(group),
        Op::CreateTopic { .. }
        | Op::DeleteTopic { .. }
        | Op::Produce { .. }
        | Op::InitProducerId { .. }
        | Op::Fetch { .. }
        | Op::ListOffsets { .. }
        | Op::EnforceRetention
        | Op::DeleteRecords { .. }
        | Op::Tick { .. } => None,
    }
}

/// `groups_independent`: an op naming group `g` changes no other group's state.
pub fn groups_independent(
    before: &Model,
    op: &Op,
    _ret: &Ret,
    after: &Model,
) -> Result<(), Violation> {
    let Some(named) = named_group(op) else {
        return Ok(());
    };
    let ids: BTreeSet<&String> = before.groups.keys().chain(after.groups.keys()).collect();
    for id in ids.into_iter().filter(|id| *id != named) {
        ensure(
            before.groups.get(id) == after.groups.get(id),
            "groups_independent",
            || format!("{} naming group {named} changed group {id}", op.name()),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Goal: each invariant function catches the corruption it exists for. Method: build a
    //! valid state, plant one bug in a clone (a state the model itself never produces), and
    //! assert that exactly the named invariant reports it, while the honest step passes.

    use super::*;
    use crate::config::TopicConfig;
    use crate::group::CommittedOffset;
    use crate::op::Reply;
    use crate::record::Record;

    /// Topic "t" (2 partitions, 4 records in partition 0), group "g" with members "a" and "b"
    /// subscribed to "t" at generation 2, and a simple-commit group "s".
    fn sample() -> Model {
        let mut model = Model::new();
        model.create_topic("t", 2, TopicConfig::default()).unwrap();
        let records = (0..4)
            .map(|i| Record::value(format!("v{i}").as_str()))
            .collect();
        model.produce("t", Some(0), records).unwrap();
        model.join_group("g", "a", &["t"]).unwrap();
        model.join_group("g", "b", &["t"]).unwrap();
        model.join_group("g", "a", &["t"]).unwrap();
        model.poll("g", "a", 2, 2).unwrap();
        model
            .commit("s", None, -1, &TopicPartition::new("t", 0), 1)
            .unwrap();
        check_state(&model).unwrap();
        model
    }

    fn tick() -> Op {
        Op::Tick { ms: 1 }
    }

    fn assert_names(result: Result<(), Violation>, invariant: &str) {
        match result {
            Err(violation) => assert_eq!(violation.invariant, invariant, "{violation}"),
            Ok(()) => panic!("{invariant} did not catch the planted bug"),
        }
    }

    fn log_mut<'m>(
        model: &'m mut Model,
        topic: &str,
        partition: usize,
    ) -> &'m mut crate::partition::PartitionLog {
        &mut model.topics.get_mut(topic).unwrap().partitions[partition]
    }

    #[test]
    fn offsets_dense_catches_a_gap_and_a_wrong_offset() {
        let mut gap = sample();
        log_mut(&mut gap, "t", 0).records.remove(1);
        assert_names(offsets_dense(&gap), "offsets_dense");
        let mut shifted = sample();
        log_mut(&mut shifted, "t", 0).records[2].offset = 7;
        assert_names(offsets_dense(&shifted), "offsets_dense");
        assert_names(check_state(&shifted), "offsets_dense");
        assert!(offsets_dense(&sample()).is_ok());
    }

    #[test]
    fn log_start_within_high_watermark_catches_an_inverted_range() {
        let mut model = sample();
        let log = log_mut(&mut model, "t", 1);
        log.log_start_offset = 1;
        assert_names(
            log_start_within_high_watermark(&model),
            "log_start_within_high_watermark",
        );
        let mut negative = sample();
        let log = log_mut(&mut negative, "t", 1);
        log.log_start_offset = -1;
        log.high_watermark = -1;
        assert_names(
            log_start_within_high_watermark(&negative),
            "log_start_within_high_watermark",
        );
    }

    #[test]
    fn one_owner_per_partition_catches_double_missing_and_foreign_owners() {
        let tp0 = TopicPartition::new("t", 0);
        fn group(model: &mut Model) -> &mut crate::group::Group {
            model.groups.get_mut("g").unwrap()
        }

        let mut double = sample();
        group(&mut double)
            .assignment
            .get_mut("b")
            .unwrap()
            .push(tp0.clone());
        assert_names(one_owner_per_partition(&double), "one_owner_per_partition");

        let mut missing = sample();
        group(&mut missing).assignment.get_mut("a").unwrap().clear();
        assert_names(one_owner_per_partition(&missing), "one_owner_per_partition");

        let mut foreign = sample();
        let assignment = group(&mut foreign).assignment.remove("a").unwrap();
        group(&mut foreign)
            .assignment
            .insert("ghost".into(), assignment);
        assert_names(one_owner_per_partition(&foreign), "one_owner_per_partition");

        let mut unsubscribed = sample();
        group(&mut unsubscribed)
            .members
            .get_mut("a")
            .unwrap()
            .topics = ["u".into()].into();
        assert_names(
            one_owner_per_partition(&unsubscribed),
            "one_owner_per_partition",
        );

        let mut ghost = sample();
        group(&mut ghost).assignment.insert("ghost".into(), vec![]);
        assert_names(one_owner_per_partition(&ghost), "one_owner_per_partition");

        let mut nonexistent = sample();
        group(&mut nonexistent)
            .assignment
            .get_mut("a")
            .unwrap()
            .push(TopicPartition::new("t", 5));
        assert_names(
            one_owner_per_partition(&nonexistent),
            "one_owner_per_partition",
        );
    }

    #[test]
    fn refused_ops_change_nothing_catches_a_refusal_with_effects() {
        let before = sample();
        let mut after = before.clone();
        after.now_ms += 1;
        let refused = Err(crate::error::ErrorCode::InvalidRequest);
        assert_names(
            refused_ops_change_nothing(&before, &tick(), &refused, &after),
            "refused_ops_change_nothing",
        );
        assert!(refused_ops_change_nothing(&before, &tick(), &Ok(Reply::Ack), &after).is_ok());
    }

    #[test]
    fn offsets_monotonic_catches_a_truncated_log() {
        let before = sample();
        let mut after = before.clone();
        let log = log_mut(&mut after, "t", 0);
        log.records.pop_back();
        log.high_watermark -= 1;
        assert!(check_state(&after).is_ok(), "the state alone looks fine");
        assert_names(
            offsets_monotonic(&before, &tick(), &Ok(Reply::Ack), &after),
            "offsets_monotonic",
        );
        assert_names(
            check_all(&before, &tick(), &Ok(Reply::Ack), &after),
            "offsets_monotonic",
        );
    }

    #[test]
    fn records_immutable_catches_a_rewritten_record() {
        let before = sample();
        let mut after = before.clone();
        log_mut(&mut after, "t", 0).records[3].value = Some("tampered".into());
        assert_names(
            records_immutable(&before, &tick(), &Ok(Reply::Ack), &after),
            "records_immutable",
        );
        assert_names(
            check_all(&before, &tick(), &Ok(Reply::Ack), &after),
            "records_immutable",
        );
    }

    #[test]
    fn retention_removes_only_eligible_prefix_catches_an_early_removal() {
        let before = sample(); // default retention: nothing is eligible at time 0
        assert_eq!(before.eligible_log_start("t", 0), Some(0));
        let mut after = before.clone();
        log_mut(&mut after, "t", 0).advance_log_start(2);
        let ret = Ok(Reply::Retained { advanced: vec![] });
        assert_names(
            retention_removes_only_eligible_prefix(&before, &Op::EnforceRetention, &ret, &after),
            "retention_removes_only_eligible_prefix",
        );
        // The same advance is what delete_records asks for, so it is allowed there.
        let delete = Op::DeleteRecords {
            topic: "t".into(),
            partition: 0,
            offset: 2,
        };
        let low = Ok(Reply::LowWatermark { low_watermark: 2 });
        assert!(retention_removes_only_eligible_prefix(&before, &delete, &low, &after).is_ok());
        // ... but not for another partition.
        let other = Op::DeleteRecords {
            topic: "t".into(),
            partition: 1,
            offset: 0,
        };
        assert_names(
            retention_removes_only_eligible_prefix(&before, &other, &low, &after),
            "retention_removes_only_eligible_prefix",
        );
    }

    #[test]
    fn commits_only_from_current_generation_catches_zombie_and_stray_commits() {
        let before = sample();
        let tp = TopicPartition::new("t", 0);
        let mut after = before.clone();
        after.groups.get_mut("g").unwrap().committed.insert(
            tp.clone(),
            CommittedOffset {
                offset: 3,
                metadata: String::new(),
            },
        );
        let commit = |member: Option<&str>, generation| Op::Commit {
            group: "g".into(),
            member: member.map(Into::into),
            generation,
            topic: "t".into(),
            partition: 0,
            offset: 3,
            metadata: String::new(),
        };
        let ack = Ok(Reply::Ack);
        let name = "commits_only_from_current_generation";
        assert!(
            commits_only_from_current_generation(&before, &commit(Some("a"), 2), &ack, &after)
                .is_ok()
        );
        // A zombie from generation 1 whose commit took effect anyway.
        assert_names(
            commits_only_from_current_generation(&before, &commit(Some("a"), 1), &ack, &after),
            name,
        );
        // A simple commit to a group with members.
        assert_names(
            commits_only_from_current_generation(&before, &commit(None, -1), &ack, &after),
            name,
        );
        // A stranger.
        assert_names(
            commits_only_from_current_generation(&before, &commit(Some("z"), 2), &ack, &after),
            name,
        );
        // A refused commit that still took effect.
        let refused = Err(crate::error::ErrorCode::IllegalGeneration);
        assert_names(
            commits_only_from_current_generation(&before, &commit(Some("a"), 2), &refused, &after),
            name,
        );
        // An op that is no commit at all.
        assert_names(
            commits_only_from_current_generation(&before, &tick(), &ack, &after),
            name,
        );
        // Losing a commit without deleting its topic.
        let mut lost = before.clone();
        lost.groups.get_mut("s").unwrap().committed.clear();
        assert_names(
            commits_only_from_current_generation(&before, &tick(), &ack, &lost),
            name,
        );
    }

    #[test]
    fn generation_monotonic_catches_a_rollback_and_a_removed_group() {
        let before = sample();
        let mut rolled_back = before.clone();
        rolled_back.groups.get_mut("g").unwrap().generation = 1;
        let ack = Ok(Reply::Ack);
        assert_names(
            generation_monotonic(&before, &tick(), &ack, &rolled_back),
            "generation_monotonic",
        );
        let mut removed = before.clone();
        removed.groups.remove("s");
        assert_names(
            generation_monotonic(&before, &tick(), &ack, &removed),
            "generation_monotonic",
        );
    }

    #[test]
    fn positions_within_log_catches_a_position_past_the_high_watermark() {
        let before = sample();
        let mut after = before.clone();
        after
            .groups
            .get_mut("g")
            .unwrap()
            .positions
            .insert(TopicPartition::new("t", 0), 5);
        let op = Op::Poll {
            group: "g".into(),
            member: "a".into(),
            generation: 2,
            max_records: 1,
        };
        let ret = Ok(Reply::Polled { records: vec![] });
        assert_names(
            positions_within_log(&before, &op, &ret, &after),
            "positions_within_log",
        );
        // An old position that retention overtook is not a new store.
        let mut overtaken = before.clone();
        log_mut(&mut overtaken, "t", 0).advance_log_start(4);
        let mut later = overtaken.clone();
        later.now_ms += 1;
        assert!(positions_within_log(&overtaken, &tick(), &Ok(Reply::Ack), &later).is_ok());
    }

    #[test]
    fn groups_independent_catches_one_group_touching_another() {
        let before = sample();
        let mut after = before.clone();
        after.groups.get_mut("s").unwrap().positions.clear();
        after
            .groups
            .get_mut("s")
            .unwrap()
            .committed
            .get_mut(&TopicPartition::new("t", 0))
            .unwrap()
            .offset = 0;
        let op = Op::DescribeGroup { group: "g".into() };
        let ret = Ok(Reply::Group {
            generation: 2,
            members: vec![],
        });
        assert_names(
            groups_independent(&before, &op, &ret, &after),
            "groups_independent",
        );
        let mut created = before.clone();
        created
            .groups
            .insert("new".into(), crate::group::Group::new());
        assert_names(
            groups_independent(&before, &op, &ret, &created),
            "groups_independent",
        );
        assert!(
            groups_independent(&before, &tick(), &ret, &after).is_ok(),
            "tick names no group"
        );
    }

    #[test]
    fn violations_say_what_broke() {
        let mut model = sample();
        log_mut(&mut model, "t", 0).records[2].offset = 7;
        let violation = offsets_dense(&model).unwrap_err();
        assert_eq!(
            violation.to_string(),
            "invariant offsets_dense broken: t-0 holds offset 7 where 2 belongs"
        );
    }
}
