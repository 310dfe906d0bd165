//! Kafka's two classic partition assignors, deterministic: members are ordered by id.
//!
//! - [`range`]: Kafka's `RangeAssignor`. Per topic, contiguous ranges of partitions to the
//!   members subscribed to it.
//! - [`round_robin`]: Kafka's `RoundRobinAssignor`. All partitions in (topic, partition) order,
//!   dealt to the members in circular id order, skipping members not subscribed to the topic.
//!
//! Both assign only partitions of topics that exist (`partitions_per_topic`) and that some
//! member subscribes to. Every member gets an entry, possibly empty, and each member's list is
//! sorted by (topic, partition).

use std::collections::{BTreeMap, BTreeSet};

use crate::config::Assignor;
use crate::op::TopicPartition;

/// Each member's subscribed topics, by member id.
pub type Subscriptions = BTreeMap<String, BTreeSet<String>>;

/// Each member's partitions, by member id, each list sorted.
pub type Assignment = BTreeMap<String, Vec<TopicPartition>>;

/// The assignment `assignor` computes for `subscriptions` over the existing topics
/// `partitions_per_topic` (topic name to partition count).
pub fn assign(
    assignor: Assignor,
    subscriptions: &Subscriptions,
    partitions_per_topic: &BTreeMap<String, i32>,
) -> Assignment {
    match assignor {
        Assignor::Range => range(subscriptions, partitions_per_topic),
        Assignor::RoundRobin => round_robin(subscriptions, partitions_per_topic),
    }
}

/// Kafka's `RangeAssignor`: for each subscribed topic in name order, the `m` members subscribed
/// to it sorted by id; with `n` partitions, member `i` gets `n / m` partitions plus one more if
/// `i < n % m`, as a contiguous range in partition order.
pub fn range(
    subscriptions: &Subscriptions,
    partitions_per_topic: &BTreeMap<String, i32>,
) -> Assignment {
    let mut assignment = empty_assignment(subscriptions);
    for (topic, &partitions) in partitions_per_topic {
        // BTreeMap iteration is already in member id order.
        let members: Vec<&String> = subscriptions
            .iter()
            .filter(|(_, topics)| topics.contains(topic))
            .map(|(member, _)| member)
            .collect();
        if members.is_empty() {
            continue;
        }
        let member_count = members.len() as i32;
        let per_member = partitions / member_count;
        let with_extra = partitions % member_count;
        for (i, member) in members.into_iter().enumerate() {
            let i = i as i32;
            let start = per_member * i + i.min(with_extra);
            let length = per_member + i32::from(i < with_extra);
            let owned = assignment
                .get_mut(member)
                .expect("every member has an entry");
            owned.extend((start..start + length).map(|p| TopicPartition::new(topic.clone(), p)));
        }
    }
    sort_each(assignment)
}

/// Kafka's `RoundRobinAssignor`: all partitions of all subscribed topics in (topic, partition)
/// order, each to the next member in circular id order that subscribes to its topic.
pub fn round_robin(
    subscriptions: &Subscriptions,
    partitions_per_topic: &BTreeMap<String, i32>,
) -> Assignment {
    let mut assignment = empty_assignment(subscriptions);
    let members: Vec<(&String, &BTreeSet<String>)> = subscriptions.iter().collect();
    // Kafka's CircularIterator over the sorted member ids: `next` is the member it would
    // peek at.
    let mut next = 0usize;
    for (topic, &partitions) in partitions_per_topic {
        if !members.iter().any(|(_, topics)| topics.contains(topic)) {
            continue;
        }
        for partition in 0..partitions {
            // Terminates: some member subscribes to `topic` (checked above).
            while !members[next].1.contains(topic) {
                next = (next + 1) % members.len();
            }
            let owned = assignment
                .get_mut(members[next].0)
                .expect("every member has an entry");
            owned.push(TopicPartition::new(topic.clone(), partition));
            next = (next + 1) % members.len();
        }
    }
    sort_each(assignment)
}

fn empty_assignment(subscriptions: &Subscriptions) -> Assignment {
    subscriptions
        .keys()
        .map(|member| (member.clone(), Vec::new()))
        .collect()
}

fn sort_each(mut assignment: Assignment) -> Assignment {
    for partitions in assignment.values_mut() {
        partitions.sort();
    }
    assignment
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscriptions(members: &[(&str, &[&str])]) -> Subscriptions {
        members
            .iter()
            .map(|(member, topics)| {
                (
                    member.to_string(),
                    topics.iter().map(|t| t.to_string()).collect(),
                )
            })
            .collect()
    }

    fn topics(counts: &[(&str, i32)]) -> BTreeMap<String, i32> {
        counts.iter().map(|(t, n)| (t.to_string(), *n)).collect()
    }

    fn parts(list: &[(&str, i32)]) -> Vec<TopicPartition> {
        list.iter()
            .map(|(t, p)| TopicPartition::new(*t, *p))
            .collect()
    }

    /// Kafka's RangeAssignor javadoc: C0, C1 over t0 and t1 with 3 partitions each.
    #[test]
    fn range_matches_kafkas_javadoc_example() {
        let subs = subscriptions(&[("C0", &["t0", "t1"]), ("C1", &["t0", "t1"])]);
        let got = range(&subs, &topics(&[("t0", 3), ("t1", 3)]));
        assert_eq!(
            got["C0"],
            parts(&[("t0", 0), ("t0", 1), ("t1", 0), ("t1", 1)])
        );
        assert_eq!(got["C1"], parts(&[("t0", 2), ("t1", 2)]));
    }

    /// Kafka's RoundRobinAssignor javadoc, identical subscriptions.
    #[test]
    fn round_robin_matches_kafkas_javadoc_example() {
        let subs = subscriptions(&[("C0", &["t0", "t1"]), ("C1", &["t0", "t1"])]);
        let got = round_robin(&subs, &topics(&[("t0", 3), ("t1", 3)]));
        assert_eq!(got["C0"], parts(&[("t0", 0), ("t0", 2), ("t1", 1)]));
        assert_eq!(got["C1"], parts(&[("t0", 1), ("t1", 0), ("t1", 2)]));
    }

    /// Kafka's RoundRobinAssignor javadoc, unequal subscriptions: C0 {t0}, C1 {t0, t1},
    /// C2 {t0, t1, t2}; t0, t1, t2 with 1, 2, 3 partitions.
    #[test]
    fn round_robin_matches_kafkas_unequal_subscription_example() {
        let subs = subscriptions(&[
            ("C0", &["t0"]),
            ("C1", &["t0", "t1"]),
            ("C2", &["t0", "t1", "t2"]),
        ]);
        let got = round_robin(&subs, &topics(&[("t0", 1), ("t1", 2), ("t2", 3)]));
        assert_eq!(got["C0"], parts(&[("t0", 0)]));
        assert_eq!(got["C1"], parts(&[("t1", 0)]));
        assert_eq!(
            got["C2"],
            parts(&[("t1", 1), ("t2", 0), ("t2", 1), ("t2", 2)])
        );
    }

    #[test]
    fn range_gives_the_first_members_the_extra_partitions() {
        let subs = subscriptions(&[("a", &["t"]), ("b", &["t"]), ("c", &["t"])]);
        let got = range(&subs, &topics(&[("t", 7)]));
        assert_eq!(got["a"], parts(&[("t", 0), ("t", 1), ("t", 2)]));
        assert_eq!(got["b"], parts(&[("t", 3), ("t", 4)]));
        assert_eq!(got["c"], parts(&[("t", 5), ("t", 6)]));
    }

    #[test]
    fn more_members_than_partitions_leaves_the_last_members_empty() {
        let subs = subscriptions(&[("a", &["t"]), ("b", &["t"]), ("c", &["t"])]);
        for assignor in [Assignor::Range, Assignor::RoundRobin] {
            let got = assign(assignor, &subs, &topics(&[("t", 2)]));
            assert_eq!(got["a"], parts(&[("t", 0)]), "{assignor:?}");
            assert_eq!(got["b"], parts(&[("t", 1)]), "{assignor:?}");
            assert_eq!(got["c"], vec![], "{assignor:?}");
        }
    }

    #[test]
    fn topics_that_do_not_exist_or_nobody_subscribes_to_are_not_assigned() {
        let subs = subscriptions(&[("a", &["t", "missing"])]);
        for assignor in [Assignor::Range, Assignor::RoundRobin] {
            let got = assign(assignor, &subs, &topics(&[("t", 1), ("other", 4)]));
            assert_eq!(got["a"], parts(&[("t", 0)]), "{assignor:?}");
        }
        assert!(assign(Assignor::Range, &Subscriptions::new(), &topics(&[("t", 3)])).is_empty());
    }

    #[test]
    fn members_are_ordered_by_id_not_by_insertion() {
        // "m10" sorts before "m2" as a string, as Kafka's Utils.sorted does.
        let subs = subscriptions(&[("m2", &["t"]), ("m10", &["t"])]);
        let got = range(&subs, &topics(&[("t", 1)]));
        assert_eq!(got["m10"], parts(&[("t", 0)]));
        assert_eq!(got["m2"], vec![]);
    }
}
