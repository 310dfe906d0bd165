//! A successful poll as the sequence of partition reads docs/model.md ("Poll", concurrent
//! polls) says it is: one read per partition of the member's assignment in the poll's
//! generation, in (topic, partition) order, each with its own linearization point within the
//! poll's interval.
//!
//! ```text
//!   p1  |------------ poll (gen 1) = [t-0: 0] [t-1: 2, 3] -------------|
//!          read t-0 ^                                    ^ read t-1
//!   p2                 |-- produce t-0 → 1 --| |-- produce t-1 → 2..4 --|
//! ```
//! Atomically no instant explains that poll (after the second produce it would also return
//! t-0's offset 1, before it not t-1's 2 and 3); read by read it is legal.
//!
//! The search needs the member's assignment to know the reads (a partition that gave nothing
//! is a read that observed zero records, and it still stores a position). Histories do not
//! carry it on the poll, so [`Assignments`] collects it from the replies that state it: a
//! successful `join_group` (its generation and the member's partitions) and a successful
//! `describe_group` (each member's partitions in its generation). Where it is unknown (the
//! member's join was `info`) or contradictory, or the reply cannot be split along it (a
//! record of a partition not assigned, or out of order), the poll is checked atomically,
//! which is stricter: then a history that is legal read by read may be reported illegal.

use std::collections::HashMap;

use streamspec_model::{Op, PolledRecord, Reply, StoredRecord, TopicPartition};

use crate::history::{History, Operation, Outcome};

/// The key of an assignment: (group, member, generation).
type MemberGeneration = (String, String, i32);

/// Each member's partitions per generation, as successful replies stated them.
#[derive(Clone, Debug, Default)]
pub struct Assignments {
    /// `None` where two replies disagree.
    by_member: HashMap<MemberGeneration, Option<Vec<TopicPartition>>>,
}

impl Assignments {
    /// Collects the assignments stated by the history's successful `join_group` and
    /// `describe_group` replies.
    pub fn of(history: &History) -> Assignments {
        let mut assignments = Assignments::default();
        for o in &history.ops {
            match (&o.op, &o.outcome) {
                (
                    Op::JoinGroup { group, member, .. },
                    Outcome::Ok(Reply::Joined {
                        generation,
                        assignment,
                    }),
                ) => assignments.state(group, member, *generation, assignment),
                (
                    Op::DescribeGroup { group },
                    Outcome::Ok(Reply::Group {
                        generation,
                        members,
                    }),
                ) => {
                    for m in members {
                        assignments.state(group, &m.member, *generation, &m.assignment);
                    }
                }
                _ => {}
            }
        }
        assignments
    }

    fn state(&mut self, group: &str, member: &str, generation: i32, stated: &[TopicPartition]) {
        let key = (group.to_owned(), member.to_owned(), generation);
        self.by_member
            .entry(key)
            .and_modify(|known| {
                if known.as_deref() != Some(stated) {
                    *known = None;
                }
            })
            .or_insert_with(|| Some(stated.to_vec()));
    }

    /// The member's partitions in `generation`, if replies stated them consistently.
    pub fn get(&self, group: &str, member: &str, generation: i32) -> Option<&[TopicPartition]> {
        let key = (group.to_owned(), member.to_owned(), generation);
        self.by_member.get(&key)?.as_deref()
    }
}

/// One partition's read of a poll: what [`streamspec_model::Model::poll_partition`] is
/// called with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionRead {
    /// The group.
    pub group: String,
    /// The member.
    pub member: String,
    /// The poll's generation.
    pub generation: i32,
    /// The partition read.
    pub partition: TopicPartition,
    /// The poll's `max_records` less what the earlier reads of the poll gave (as observed).
    pub records_max: usize,
}

/// A poll's reads with what each observed, in order; `None` when the poll is to be checked
/// atomically: not a successful poll, the assignment unknown or empty, or a reply that does
/// not split along it.
pub fn split(
    o: &Operation,
    assignments: &Assignments,
) -> Option<Vec<(PartitionRead, Vec<StoredRecord>)>> {
    let (
        Op::Poll {
            group,
            member,
            generation,
            max_records,
        },
        Outcome::Ok(Reply::Polled { records }),
    ) = (&o.op, &o.outcome)
    else {
        return None;
    };
    let assignment = assignments.get(group, member, *generation)?;
    if assignment.is_empty() {
        // No reads: the poll is its one step of checks.
        return None;
    }
    let mut rest: &[PolledRecord] = records;
    let mut taken_count = 0usize;
    let mut reads = Vec::with_capacity(assignment.len());
    for tp in assignment {
        let run = rest
            .iter()
            .take_while(|r| r.topic == tp.topic && r.partition == tp.partition)
            .count();
        let records_max = (*max_records as usize).checked_sub(taken_count)?;
        if run > records_max {
            return None;
        }
        reads.push((
            PartitionRead {
                group: group.clone(),
                member: member.clone(),
                generation: *generation,
                partition: tp.clone(),
                records_max,
            },
            rest[..run].iter().map(|r| r.record.clone()).collect(),
        ));
        taken_count += run;
        rest = &rest[run..];
    }
    // Every record belongs to a read, in the reads' order.
    rest.is_empty().then_some(reads)
}

#[cfg(test)]
mod tests {
    use super::*;
    use streamspec_model::MemberDescription;

    fn operation(op: Op, outcome: Outcome) -> Operation {
        Operation {
            id: 0,
            process: 0,
            op,
            outcome,
            invoke_ns: 0,
            complete_ns: Some(1),
            line: 0,
        }
    }

    fn join(member: &str, generation: i32, assignment: Vec<TopicPartition>) -> Operation {
        operation(
            Op::JoinGroup {
                group: "g".into(),
                member: member.into(),
                topics: vec!["t".into()],
                assignor: Default::default(),
                session_timeout_ms: 45_000,
                auto_offset_reset: Default::default(),
            },
            Outcome::Ok(Reply::Joined {
                generation,
                assignment,
            }),
        )
    }

    fn polled(partition: i32, offset: i64) -> PolledRecord {
        PolledRecord {
            topic: "t".into(),
            partition,
            record: StoredRecord {
                offset,
                timestamp_ms: 0,
                key: None,
                value: None,
                headers: vec![],
            },
        }
    }

    fn poll(
        member: &str,
        generation: i32,
        max_records: u32,
        records: Vec<PolledRecord>,
    ) -> Operation {
        operation(
            Op::Poll {
                group: "g".into(),
                member: member.into(),
                generation,
                max_records,
            },
            Outcome::Ok(Reply::Polled { records }),
        )
    }

    fn tp(partition: i32) -> TopicPartition {
        TopicPartition::new("t", partition)
    }

    fn history(ops: Vec<Operation>) -> History {
        History { ops }
    }

    #[test]
    fn a_poll_splits_into_one_read_per_assigned_partition_with_the_records_left() {
        // Goal: the reads follow the assignment, partitions that gave nothing included, and
        // each may give what the earlier ones left of max_records. Method: three partitions,
        // records from the first and third.
        let assignments = Assignments::of(&history(vec![join("a", 1, vec![tp(0), tp(1), tp(2)])]));
        let o = poll("a", 1, 5, vec![polled(0, 4), polled(0, 5), polled(2, 0)]);
        let reads = split(&o, &assignments).expect("splits");
        let shape: Vec<(i32, usize, Vec<i64>)> = reads
            .iter()
            .map(|(read, got)| {
                (
                    read.partition.partition,
                    read.records_max,
                    got.iter().map(|r| r.offset).collect(),
                )
            })
            .collect();
        assert_eq!(shape, [(0, 5, vec![4, 5]), (1, 3, vec![]), (2, 3, vec![0])]);
    }

    #[test]
    fn a_poll_that_cannot_be_split_is_checked_atomically() {
        // Goal: every case the split cannot explain falls back to the atomic check. Method:
        // unknown, contradictory and empty assignments, a record of another partition, records
        // out of partition order, more records than max_records, a failed poll.
        let joins = history(vec![
            join("a", 1, vec![tp(0), tp(1)]),
            join("b", 2, vec![tp(0)]),
            join("b", 2, vec![tp(1)]),
            join("c", 3, vec![]),
        ]);
        let assignments = Assignments::of(&joins);
        assert!(split(&poll("a", 1, 5, vec![polled(0, 0)]), &assignments).is_some());
        let cases = [
            poll("a", 2, 5, vec![]),                           // unknown generation
            poll("b", 2, 5, vec![]),                           // contradictory replies
            poll("c", 3, 5, vec![]),                           // nothing assigned
            poll("a", 1, 5, vec![polled(2, 0)]),               // not assigned
            poll("a", 1, 5, vec![polled(1, 0), polled(0, 0)]), // out of order
            poll("a", 1, 1, vec![polled(0, 0), polled(1, 0)]), // beyond max_records
            poll("a", 1, 5, vec![polled(0, 0), polled(1, 0), polled(0, 1)]), // interleaved
        ];
        for o in &cases {
            assert!(split(o, &assignments).is_none(), "{:?}", o.op);
        }
        let mut failed = poll("a", 1, 5, vec![]);
        failed.outcome = Outcome::Fail(streamspec_model::ErrorCode::RebalanceInProgress);
        assert!(split(&failed, &assignments).is_none());
    }

    #[test]
    fn describe_group_replies_state_assignments_too() {
        // Goal: a member that learned its generation some other way still has its polls
        // split when a describe_group showed its partitions. Method: one describe reply.
        let describe = operation(
            Op::DescribeGroup { group: "g".into() },
            Outcome::Ok(Reply::Group {
                generation: 4,
                members: vec![MemberDescription {
                    member: "a".into(),
                    topics: vec!["t".into()],
                    assignment: vec![tp(1)],
                }],
            }),
        );
        let assignments = Assignments::of(&history(vec![describe]));
        assert_eq!(assignments.get("g", "a", 4), Some(&[tp(1)][..]));
        assert_eq!(assignments.get("g", "a", 3), None);
    }
}
