//! Consumer groups: membership, generations, the assignment, positions and committed offsets.
//!
//! The model rebalances instantly and eagerly (docs/model.md, "Groups"): whenever the
//! membership or a subscribed topic's existence changes, the group starts a **new
//! generation**: the generation increments, the assignment is recomputed from the members
//! sorted by id, and every position is cleared. Which events do that is one exhaustive match,
//! [`GroupEvent::starts_new_generation`].

use std::collections::{BTreeMap, BTreeSet};

use crate::assignor::{self, Assignment, Subscriptions};
use crate::config::{Assignor, OffsetReset, ID_LENGTH_MAX};
use crate::error::ErrorCode;
use crate::op::{MemberDescription, TopicPartition};

/// Whether `id` is a legal group, member or transactional id: 1..=`ID_LENGTH_MAX` bytes.
pub fn is_valid_id(id: &str) -> bool {
    (1..=ID_LENGTH_MAX).contains(&id.len())
}

/// A group member.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Member {
    /// Its subscribed topics (duplicates removed).
    pub(crate) topics: BTreeSet<String>,
    /// How long it may stay silent, in ms.
    pub(crate) session_timeout_ms: i64,
    /// Where it starts without a usable position or committed offset.
    pub(crate) auto_offset_reset: OffsetReset,
    /// The clock at its last successful join, heartbeat, poll or commit.
    pub(crate) last_seen_ms: i64,
}

impl Member {
    /// Its subscribed topics, sorted.
    pub fn topics(&self) -> &BTreeSet<String> {
        &self.topics
    }

    /// Its session timeout, in ms.
    pub fn session_timeout_ms(&self) -> i64 {
        self.session_timeout_ms
    }

    /// Its reset policy.
    pub fn auto_offset_reset(&self) -> OffsetReset {
        self.auto_offset_reset
    }

    /// When it was last seen, on the logical clock.
    pub fn last_seen_ms(&self) -> i64 {
        self.last_seen_ms
    }
}

/// A committed offset with its metadata.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CommittedOffset {
    /// The next offset to read.
    pub offset: i64,
    /// The metadata committed with it.
    pub metadata: String,
}

/// What happens to a group; [`GroupEvent::starts_new_generation`] says which of these
/// rebalance it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupEvent {
    /// A member not in the group joined.
    MemberJoined,
    /// A known member rejoined with a different subscribed set.
    SubscriptionChanged,
    /// A known member rejoined with the same subscribed set (it learns the generation).
    MemberRejoined,
    /// A member left.
    MemberLeft,
    /// One or more members' sessions expired on one tick.
    MembersExpired,
    /// A topic some member subscribes to was created.
    SubscribedTopicCreated,
    /// A topic some member subscribes to was deleted.
    SubscribedTopicDeleted,
}

impl GroupEvent {
    /// Whether the event starts a new generation: exactly the changes of membership or of a
    /// subscribed topic's existence. (Heartbeats, polls and commits change neither and are
    /// no group events.)
    pub fn starts_new_generation(self) -> bool {
        match self {
            GroupEvent::MemberJoined
            | GroupEvent::SubscriptionChanged
            | GroupEvent::MemberLeft
            | GroupEvent::MembersExpired
            | GroupEvent::SubscribedTopicCreated
            | GroupEvent::SubscribedTopicDeleted => true,
            GroupEvent::MemberRejoined => false,
        }
    }
}

/// A consumer group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Group {
    /// The current generation; 0 until the first join. Never decreases
    /// (`generation_monotonic`).
    pub(crate) generation: i32,
    /// The assignor its members use (meaningful while it has members).
    pub(crate) assignor: Assignor,
    /// Its members, by id.
    pub(crate) members: BTreeMap<String, Member>,
    /// The current generation's assignment, by member. Invariant
    /// (`one_owner_per_partition`): every partition of every subscribed existing topic appears
    /// exactly once, under a member subscribed to its topic.
    pub(crate) assignment: Assignment,
    /// Each partition's position (the next offset to poll); cleared by every new generation.
    pub(crate) positions: BTreeMap<TopicPartition, i64>,
    /// Committed offsets.
    pub(crate) committed: BTreeMap<TopicPartition, CommittedOffset>,
}

impl Group {
    /// A group with no members at generation 0.
    pub fn new() -> Group {
        Group::default()
    }

    /// The current generation.
    pub fn generation(&self) -> i32 {
        self.generation
    }

    /// Its members, by id.
    pub fn members(&self) -> &BTreeMap<String, Member> {
        &self.members
    }

    /// The assignor its members use.
    pub fn assignor(&self) -> Assignor {
        self.assignor
    }

    /// The committed offset of a partition, if any.
    pub fn committed(&self, partition: &TopicPartition) -> Option<&CommittedOffset> {
        self.committed.get(partition)
    }

    /// The stored position of a partition, if any.
    pub fn position(&self, partition: &TopicPartition) -> Option<i64> {
        self.positions.get(partition).copied()
    }

    /// The member's partitions in the current generation, sorted (empty for a non-member).
    pub fn assignment_of(&self, member: &str) -> Vec<TopicPartition> {
        self.assignment.get(member).cloned().unwrap_or_default()
    }

    /// Whether some member subscribes to `topic`.
    pub fn subscribes_to(&self, topic: &str) -> bool {
        self.members.values().any(|m| m.topics.contains(topic))
    }

    /// Whether some member subscribes to `topic` or the group committed an offset for one of
    /// its partitions: the groups that hold back `consumed` retention.
    pub fn holds_topic(&self, topic: &str) -> bool {
        self.subscribes_to(topic) || self.committed.keys().any(|tp| tp.topic == topic)
    }

    /// Heartbeat and poll's member check: unknown member → `unknown_member_id`; an older
    /// generation → `rebalance_in_progress`; any other mismatch → `illegal_generation`.
    pub fn check_member_generation(
        &self,
        member: &str,
        generation: i32,
    ) -> Result<&Member, ErrorCode> {
        let found = self.members.get(member).ok_or(ErrorCode::UnknownMemberId)?;
        if generation < self.generation {
            return Err(ErrorCode::RebalanceInProgress);
        }
        if generation != self.generation {
            return Err(ErrorCode::IllegalGeneration);
        }
        Ok(found)
    }

    /// Applies `event`: starts a new generation if it is one that does. `partitions_per_topic`
    /// are the existing topics' partition counts.
    pub(crate) fn on(&mut self, event: GroupEvent, partitions_per_topic: &BTreeMap<String, i32>) {
        if !event.starts_new_generation() {
            return;
        }
        self.generation = self.generation.saturating_add(1);
        let subscriptions: Subscriptions = self
            .members
            .iter()
            .map(|(id, member)| (id.clone(), member.topics.clone()))
            .collect();
        self.assignment = assignor::assign(self.assignor, &subscriptions, partitions_per_topic);
        // Eager rebalance: every partition is revoked; the next owner starts from the
        // committed offset.
        self.positions.clear();
    }

    /// Adds or updates a member (join's effect once every check passed) and returns what
    /// that was.
    pub(crate) fn join(
        &mut self,
        member: &str,
        joined: Member,
        assignor: Assignor,
        partitions_per_topic: &BTreeMap<String, i32>,
    ) -> GroupEvent {
        self.assignor = assignor;
        let event = match self.members.get_mut(member) {
            None => {
                self.members.insert(member.to_owned(), joined);
                GroupEvent::MemberJoined
            }
            Some(known) if known.topics != joined.topics => {
                *known = joined;
                GroupEvent::SubscriptionChanged
            }
            Some(known) => {
                known.session_timeout_ms = joined.session_timeout_ms;
                known.auto_offset_reset = joined.auto_offset_reset;
                known.last_seen_ms = joined.last_seen_ms;
                GroupEvent::MemberRejoined
            }
        };
        self.on(event, partitions_per_topic);
        event
    }

    /// The members as `describe_group` shows them: sorted by id, with sorted subscriptions
    /// and assignments.
    pub fn describe(&self) -> Vec<MemberDescription> {
        self.members
            .iter()
            .map(|(id, member)| MemberDescription {
                member: id.clone(),
                topics: member.topics.iter().cloned().collect(),
                assignment: self.assignment_of(id),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(topics: &[&str], last_seen_ms: i64) -> Member {
        Member {
            topics: topics.iter().map(|t| t.to_string()).collect(),
            session_timeout_ms: 10_000,
            auto_offset_reset: OffsetReset::Earliest,
            last_seen_ms,
        }
    }

    fn counts(list: &[(&str, i32)]) -> BTreeMap<String, i32> {
        list.iter().map(|(t, n)| (t.to_string(), *n)).collect()
    }

    #[test]
    fn exactly_membership_and_topic_existence_changes_start_a_generation() {
        use GroupEvent::*;
        let rebalancing = [
            MemberJoined,
            SubscriptionChanged,
            MemberLeft,
            MembersExpired,
            SubscribedTopicCreated,
            SubscribedTopicDeleted,
        ];
        for event in rebalancing {
            assert!(event.starts_new_generation(), "{event:?}");
        }
        assert!(!MemberRejoined.starts_new_generation());
    }

    #[test]
    fn joins_rebalance_only_on_new_members_or_changed_subscriptions() {
        let topics = counts(&[("t", 2), ("u", 1)]);
        let mut group = Group::new();
        let event = group.join("m1", member(&["t"], 0), Assignor::Range, &topics);
        assert_eq!(event, GroupEvent::MemberJoined);
        assert_eq!(group.generation(), 1);
        assert_eq!(
            group.assignment_of("m1"),
            [TopicPartition::new("t", 0), TopicPartition::new("t", 1)]
        );
        group.positions.insert(TopicPartition::new("t", 0), 1);

        let mut again = member(&["t"], 5);
        again.session_timeout_ms = 7_000;
        let event = group.join("m1", again, Assignor::Range, &topics);
        assert_eq!(event, GroupEvent::MemberRejoined);
        assert_eq!(group.generation(), 1);
        assert_eq!(group.members()["m1"].session_timeout_ms(), 7_000);
        assert_eq!(group.members()["m1"].last_seen_ms(), 5);
        assert_eq!(group.position(&TopicPartition::new("t", 0)), Some(1));

        let event = group.join("m1", member(&["t", "u"], 6), Assignor::Range, &topics);
        assert_eq!(event, GroupEvent::SubscriptionChanged);
        assert_eq!(group.generation(), 2);
        assert_eq!(
            group.position(&TopicPartition::new("t", 0)),
            None,
            "cleared"
        );
        assert_eq!(group.assignment_of("m1").len(), 3);

        let event = group.join("m2", member(&["t"], 6), Assignor::Range, &topics);
        assert_eq!(event, GroupEvent::MemberJoined);
        assert_eq!(group.generation(), 3);
        assert_eq!(
            group.assignment_of("m1"),
            [TopicPartition::new("t", 0), TopicPartition::new("u", 0)]
        );
        assert_eq!(group.assignment_of("m2"), [TopicPartition::new("t", 1)]);
        assert_eq!(group.describe()[1].member, "m2");
    }

    #[test]
    fn generation_checks_name_the_right_error() {
        let mut group = Group::new();
        group.join("m", member(&["t"], 0), Assignor::Range, &counts(&[]));
        group.on(GroupEvent::MemberLeft, &counts(&[]));
        assert_eq!(group.generation(), 2);
        assert!(group.check_member_generation("m", 2).is_ok());
        assert_eq!(
            group.check_member_generation("x", 2).err(),
            Some(ErrorCode::UnknownMemberId)
        );
        assert_eq!(
            group.check_member_generation("m", 1).err(),
            Some(ErrorCode::RebalanceInProgress)
        );
        assert_eq!(
            group.check_member_generation("m", 3).err(),
            Some(ErrorCode::IllegalGeneration)
        );
    }

    #[test]
    fn a_group_holds_a_topic_by_subscription_or_by_commit() {
        let mut group = Group::new();
        assert!(!group.holds_topic("t"));
        group.committed.insert(
            TopicPartition::new("t", 1),
            CommittedOffset {
                offset: 0,
                metadata: String::new(),
            },
        );
        assert!(group.holds_topic("t"));
        assert!(!group.subscribes_to("t"));
        group.join("m", member(&["u"], 0), Assignor::Range, &counts(&[]));
        assert!(group.holds_topic("u"));
        assert!(!group.holds_topic("v"));
    }

    #[test]
    fn ids_are_one_to_255_bytes() {
        assert!(is_valid_id("g"));
        assert!(is_valid_id(&"g".repeat(ID_LENGTH_MAX)));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id(&"g".repeat(ID_LENGTH_MAX + 1)));
    }
}
