//! Consumer groups: membership views, generations, assignment, and the commit fence.
//!
//! A group's membership, generation, assignment and positions form one immutable-shape
//! [`GroupView`] behind an epoch-protected pointer. Membership changes (join, leave, expiry,
//! a subscribed topic appearing or going) build the next view under the engine's control mutex
//! and [`Group::publish`] it; hot paths only load.
//!
//! **The commit fence.** A view's `admission` word is `SEALED (bit 31) | commits in flight`.
//! A member commit validates member and generation against an unsealed view and, in the same
//! step, CASes `admission` from the value it validated against to value + 1; it then writes the
//! commit cell and decrements. `publish` first links the old view to its successor (`next`),
//! then CASes the old view's `admission` from exactly `0` to `SEALED` (so no commit is between
//! admission and write, and none can be admitted after), then swaps the group's pointer. Hence:
//! - a commit admitted at generation `g` wrote its cell before generation `g + 1` exists;
//! - a commit that did not get in before the seal re-validates against the successor (found
//!   through `next` without waiting) and is refused as a zombie (`illegal_generation`).
//!
//! Unsealed ⇔ current, so every check made against an unsealed view is made against the
//! current generation. The loom test `commit_against_rebalance_never_lands_a_zombie` checks it.

use std::collections::BTreeMap;

use crossbeam_epoch::{Atomic, Guard, Owned, Shared};
use streamspec_model::{Assignor, ErrorCode, OffsetReset, TopicPartition};

use crate::sync::{Arc, AtomicI64, AtomicPtr, AtomicU32, Backoff, Ordering};
use crate::topic::{Topic, TopicTable};

/// The sealed bit of [`GroupView::admission`].
const SEALED: u32 = 1 << 31;

/// A member, shared by every view it belongs to (its liveness survives rebalances).
#[derive(Debug)]
pub struct Member {
    /// Its id.
    pub id: String,
    /// Its subscription, sorted, without duplicates.
    pub topics: Vec<String>,
    /// Its session timeout.
    pub session_timeout_ms: AtomicI64,
    /// Its `auto.offset.reset` (see [`reset_code`]).
    pub reset_code: AtomicU32,
    /// When it was last seen (join, heartbeat, poll, commit).
    pub last_seen_ms: AtomicI64,
}

/// `OffsetReset` as a number for an atomic.
pub fn reset_code(reset: OffsetReset) -> u32 {
    match reset {
        OffsetReset::Earliest => 0,
        OffsetReset::Latest => 1,
        OffsetReset::None => 2,
    }
}

fn reset_from_code(code: u32) -> OffsetReset {
    match code {
        0 => OffsetReset::Earliest,
        1 => OffsetReset::Latest,
        _ => OffsetReset::None,
    }
}

impl Member {
    /// A member seen at `now_ms`.
    pub fn new(
        id: &str,
        topics: Vec<String>,
        session_timeout_ms: i64,
        reset: OffsetReset,
        now_ms: i64,
    ) -> Member {
        Member {
            id: id.to_owned(),
            topics,
            session_timeout_ms: AtomicI64::new(session_timeout_ms),
            reset_code: AtomicU32::new(reset_code(reset)),
            last_seen_ms: AtomicI64::new(now_ms),
        }
    }

    /// Its reset policy.
    pub fn reset(&self) -> OffsetReset {
        reset_from_code(self.reset_code.load(Ordering::Relaxed))
    }

    /// Whether it subscribes to `topic`.
    pub fn subscribes(&self, topic: &str) -> bool {
        self.topics
            .binary_search_by(|t| t.as_str().cmp(topic))
            .is_ok()
    }
}

/// A partition assigned in a view, with the group's position on it in that generation.
#[derive(Debug)]
pub struct AssignedPartition {
    /// The topic (the incarnation that existed when the view was built).
    pub topic: Arc<Topic>,
    /// The partition.
    pub partition: i32,
    /// The stored position, `-1` when none (every new generation starts with none).
    pub position: AtomicI64,
}

/// One generation of a group. See the module docs.
#[derive(Debug)]
pub struct GroupView {
    /// The generation; 0 before anyone joined.
    pub generation: i32,
    /// The members' assignor (meaningless without members).
    pub assignor: Assignor,
    /// Members, sorted by id.
    pub members: Vec<Arc<Member>>,
    /// `assignments[i]` is `members[i]`'s partitions, in (topic, partition) order.
    pub assignments: Vec<Vec<AssignedPartition>>,
    /// `SEALED | commits in flight`.
    admission: AtomicU32,
    /// The successor, set before sealing; not owned.
    next: AtomicPtr<GroupView>,
}

impl GroupView {
    /// The view of a group nobody joined yet.
    pub fn empty() -> GroupView {
        GroupView::build(0, Assignor::default(), Vec::new(), &TopicTable::default())
    }

    /// A view with `members` (sorted by id) and their assignment over the topics in `topics`.
    pub fn build(
        generation: i32,
        assignor: Assignor,
        members: Vec<Arc<Member>>,
        topics: &TopicTable,
    ) -> GroupView {
        debug_assert!(members.windows(2).all(|w| w[0].id < w[1].id));
        let assignments = assign(assignor, &members, topics)
            .into_iter()
            .map(|partitions| {
                partitions
                    .into_iter()
                    .map(|(topic, partition)| AssignedPartition {
                        topic,
                        partition,
                        position: AtomicI64::new(-1),
                    })
                    .collect()
            })
            .collect();
        GroupView {
            generation,
            assignor,
            members,
            assignments,
            admission: AtomicU32::new(0),
            next: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// The index of member `id`.
    pub fn member_index(&self, id: &str) -> Option<usize> {
        self.members
            .binary_search_by(|m| m.id.as_str().cmp(id))
            .ok()
    }

    /// Member `index`'s assignment as topic-partitions.
    pub fn assignment_of(&self, index: usize) -> Vec<TopicPartition> {
        self.assignments[index]
            .iter()
            .map(|a| TopicPartition::new(a.topic.name.clone(), a.partition))
            .collect()
    }

    /// Check a member's generation: older → `rebalance_in_progress`, other mismatch →
    /// `illegal_generation`.
    pub fn check_generation(&self, generation: i32) -> Result<(), ErrorCode> {
        if generation < self.generation {
            Err(ErrorCode::RebalanceInProgress)
        } else if generation != self.generation {
            Err(ErrorCode::IllegalGeneration)
        } else {
            Ok(())
        }
    }
}

/// Kafka's assignors over the existing topics `members` subscribe to; one list per member.
pub fn assign(
    assignor: Assignor,
    members: &[Arc<Member>],
    topics: &TopicTable,
) -> Vec<Vec<(Arc<Topic>, i32)>> {
    let mut result: Vec<Vec<(Arc<Topic>, i32)>> = vec![Vec::new(); members.len()];
    // Subscribed, existing topics in name order.
    let mut subscribed: BTreeMap<&str, &Arc<Topic>> = BTreeMap::new();
    for member in members {
        for name in &member.topics {
            if let Some(topic) = topics.topics.get(name) {
                subscribed.insert(name, topic);
            }
        }
    }
    match assignor {
        Assignor::Range => {
            for (name, topic) in &subscribed {
                let takers: Vec<usize> = (0..members.len())
                    .filter(|&i| members[i].subscribes(name))
                    .collect();
                let partitions = topic.partition_count() as usize;
                let (per_member, extra) = (partitions / takers.len(), partitions % takers.len());
                let mut next = 0;
                for (rank, &i) in takers.iter().enumerate() {
                    let share = per_member + usize::from(rank < extra);
                    for partition in next..next + share {
                        result[i].push(((*topic).clone(), partition as i32));
                    }
                    next += share;
                }
                debug_assert_eq!(next, partitions);
            }
        }
        Assignor::RoundRobin => {
            let mut cursor = 0;
            for (name, topic) in &subscribed {
                for partition in 0..topic.partition_count() {
                    while !members[cursor].subscribes(name) {
                        cursor = (cursor + 1) % members.len();
                    }
                    result[cursor].push(((*topic).clone(), partition));
                    cursor = (cursor + 1) % members.len();
                }
            }
        }
    }
    result
}

/// A consumer group.
#[derive(Debug)]
pub struct Group {
    /// Its id.
    pub name: String,
    /// Its dense index (commit cells are indexed by it).
    pub index: usize,
    /// The group's assignor (that of its members), as [`assignor_code`]; written under the
    /// control mutex, by joins.
    assignor_code: AtomicU32,
    view: Atomic<GroupView>,
}

/// `Assignor` as a number for an atomic.
fn assignor_code(assignor: Assignor) -> u32 {
    match assignor {
        Assignor::Range => 0,
        Assignor::RoundRobin => 1,
    }
}

/// A commit admitted against a view: the view cannot be sealed until this is dropped.
pub struct Admission<'g> {
    view: &'g GroupView,
}

impl Admission<'_> {
    /// The view the commit was admitted against.
    pub fn view(&self) -> &GroupView {
        self.view
    }
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        self.view.admission.fetch_sub(1, Ordering::Release);
    }
}

impl Group {
    /// A group with the empty view.
    pub fn new(name: &str, index: usize) -> Group {
        Group {
            name: name.to_owned(),
            index,
            assignor_code: AtomicU32::new(assignor_code(Assignor::default())),
            view: Atomic::new(GroupView::empty()),
        }
    }

    /// The group's assignor.
    pub fn assignor(&self) -> Assignor {
        match self.assignor_code.load(Ordering::Acquire) {
            0 => Assignor::Range,
            _ => Assignor::RoundRobin,
        }
    }

    /// Set the group's assignor (a join; under the control mutex).
    pub fn set_assignor(&self, assignor: Assignor) {
        self.assignor_code
            .store(assignor_code(assignor), Ordering::Release);
    }

    /// The current view (following sealed views to their successors).
    pub fn view<'g>(&self, guard: &'g Guard) -> &'g GroupView {
        // SAFETY: the group's view is never null; replaced views are retired through the
        // collector after `guard` unpins.
        let mut view = unsafe { self.view.load(Ordering::Acquire, guard).deref() };
        while view.admission.load(Ordering::Acquire) & SEALED != 0 {
            view = successor(view);
        }
        view
    }

    /// Admit a commit: `validate` checks it against a current view, and the admission is
    /// taken in the same CAS that proves the view still current. See the module docs.
    pub fn admit<'g, T>(
        &self,
        guard: &'g Guard,
        mut validate: impl FnMut(&'g GroupView) -> Result<T, ErrorCode>,
    ) -> Result<(Admission<'g>, T), ErrorCode> {
        // SAFETY: as in `view`.
        let mut view = unsafe { self.view.load(Ordering::Acquire, guard).deref() };
        loop {
            let admission = view.admission.load(Ordering::Acquire);
            if admission & SEALED != 0 {
                view = successor(view);
                continue;
            }
            let checked = validate(view)?;
            debug_assert!(admission + 1 < SEALED, "commits in flight overflow");
            if view
                .admission
                .compare_exchange(
                    admission,
                    admission + 1,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
            {
                return Ok((Admission { view }, checked));
            }
        }
    }

    /// Replace the view with `next` (a new generation). Waits for commits in flight on the
    /// old view; call under the engine's control mutex.
    pub fn publish(&self, next: GroupView, guard: &Guard) {
        let old = self.view.load(Ordering::Acquire, guard);
        // SAFETY: never null; only publishers (serialised by the control mutex) retire it.
        let old_ref = unsafe { old.deref() };
        let next = Owned::new(next).into_shared(guard);
        old_ref
            .next
            .store(next.as_raw() as *mut GroupView, Ordering::Release);
        let mut backoff = Backoff::default();
        while old_ref
            .admission
            .compare_exchange_weak(0, SEALED, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            backoff.snooze();
        }
        self.view.store(next, Ordering::Release);
        // SAFETY: the old view is unlinked from the group (only sealed views link to it,
        // through `next`, and they are retired first or at the same time); readers still
        // holding it are pinned.
        unsafe { guard.defer_destroy(old) };
    }
}

/// The successor of a sealed view.
fn successor(view: &GroupView) -> &GroupView {
    let next = view.next.load(Ordering::Acquire);
    debug_assert!(!next.is_null(), "a sealed view has a successor");
    // SAFETY: `next` is set before the view is sealed (Release, seen through the Acquire load
    // of `admission`) and is retired only after it was current, which is after this view was
    // retired; the caller's guard pinned before loading this view, so both are alive.
    unsafe { &*next }
}

impl Drop for Group {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: nobody else can reach the group.
        let guard = unsafe { crossbeam_epoch::unprotected() };
        let view = self.view.swap(Shared::null(), Ordering::Relaxed, guard);
        if !view.is_null() {
            // SAFETY: the current view is owned by the group.
            drop(unsafe { view.into_owned() });
        }
    }
}

/// A snapshot of the group table.
#[derive(Debug, Default, Clone)]
pub struct GroupTable {
    /// Groups by id.
    pub groups: BTreeMap<String, Arc<Group>>,
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn member(id: &str, topics: &[&str]) -> Arc<Member> {
        Arc::new(Member::new(
            id,
            topics.iter().map(|t| t.to_string()).collect(),
            10_000,
            OffsetReset::Earliest,
            0,
        ))
    }

    fn table(topics: &[(&str, usize)]) -> TopicTable {
        let mut table = TopicTable::default();
        for (name, partitions) in topics {
            table.topics.insert(
                name.to_string(),
                Arc::new(Topic::new(name, *partitions, Default::default())),
            );
        }
        table
    }

    fn names(assignment: &[(Arc<Topic>, i32)]) -> Vec<(String, i32)> {
        assignment
            .iter()
            .map(|(t, p)| (t.name.clone(), *p))
            .collect()
    }

    /// Goal: RangeAssignor gives contiguous ranges, the first `n % m` members one more.
    #[test]
    fn range_assignment() {
        let members = vec![
            member("a", &["t"]),
            member("b", &["t", "u"]),
            member("c", &["t"]),
        ];
        let topics = table(&[("t", 7), ("u", 2)]);
        let result = assign(Assignor::Range, &members, &topics);
        assert_eq!(
            names(&result[0]),
            vec![("t".into(), 0), ("t".into(), 1), ("t".into(), 2)]
        );
        assert_eq!(
            names(&result[1]),
            vec![
                ("t".into(), 3),
                ("t".into(), 4),
                ("u".into(), 0),
                ("u".into(), 1)
            ]
        );
        assert_eq!(names(&result[2]), vec![("t".into(), 5), ("t".into(), 6)]);
    }

    /// Goal: RoundRobinAssignor walks members circularly, skipping non-subscribers.
    #[test]
    fn round_robin_assignment() {
        let members = vec![
            member("a", &["t"]),
            member("b", &["t", "u"]),
            member("c", &["u"]),
        ];
        let topics = table(&[("t", 3), ("u", 3), ("absent_is_ignored", 0)]);
        let result = assign(Assignor::RoundRobin, &members, &topics);
        // t0→a, t1→b, t2→a (c skipped), u0→b, u1→c, u2→b (a skipped).
        assert_eq!(names(&result[0]), vec![("t".into(), 0), ("t".into(), 2)]);
        assert_eq!(
            names(&result[1]),
            vec![("t".into(), 1), ("u".into(), 0), ("u".into(), 2)]
        );
        assert_eq!(names(&result[2]), vec![("u".into(), 1)]);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::offsets::{CommitTable, Committed};

    /// Commit as `member` at `generation` into `commits`, through the fence unless `fenced` is
    /// false (the planted bug: check, then write, with nothing tying the two together).
    fn commit(
        group: &Group,
        commits: &CommitTable,
        generation: i32,
        offset: i64,
        fenced: bool,
    ) -> Result<(), ErrorCode> {
        let guard = crossbeam_epoch::pin();
        let validate = |view: &GroupView| view.check_generation(generation);
        if fenced {
            let (_admission, ()) = group.admit(&guard, validate)?;
            commits.set(
                group.index,
                Committed {
                    offset,
                    metadata: String::new(),
                },
                &guard,
            );
        } else {
            validate(group.view(&guard))?;
            commits.set(
                group.index,
                Committed {
                    offset,
                    metadata: String::new(),
                },
                &guard,
            );
        }
        Ok(())
    }

    /// Run the race under loom; returns how many explored interleavings left the zombie's
    /// value standing (counted outside the model, so a found bug does not unwind through
    /// loom's objects).
    fn race(fenced: bool) -> usize {
        let zombies_landed = std::sync::Arc::new(std::sync::Mutex::new(0usize));
        let counter = zombies_landed.clone();
        loom::model(move || {
            let group = Arc::new(Group::new("g", 0));
            let commits = Arc::new(CommitTable::new());
            let zombie = {
                let (group, commits) = (group.clone(), commits.clone());
                loom::thread::spawn(move || commit(&group, &commits, 0, 5, fenced))
            };
            // The rebalance: generation 1 replaces 0, then its member commits 9.
            {
                let guard = crossbeam_epoch::pin();
                let next = GroupView::build(1, Assignor::Range, Vec::new(), &TopicTable::default());
                group.publish(next, &guard);
            }
            commit(&group, &commits, 1, 9, fenced).unwrap();
            let _ = zombie.join().unwrap();
            let guard = crossbeam_epoch::pin();
            // The generation-1 commit came after the rebalance; whatever the generation-0
            // commit did, it must not be the value left standing.
            if commits.get(0, &guard).map(|c| c.offset) != Some(9) {
                *counter.lock().unwrap() += 1;
            }
        });
        let landed = *zombies_landed.lock().unwrap();
        landed
    }

    /// Goal: a commit from a stale generation never takes effect, even racing a rebalance.
    /// Method: a generation-0 commit races the publish of generation 1 followed by a
    /// generation-1 commit; loom explores every interleaving; the last value must be gen 1's.
    #[test]
    fn commit_against_rebalance_never_lands_a_zombie() {
        assert_eq!(race(true), 0, "a zombie commit took effect");
    }

    /// Goal: the test above can fail. Method: the same race without the fence (check, then
    /// write): loom must find an interleaving where the zombie's write lands last.
    #[test]
    fn unfenced_commit_lands_a_zombie() {
        assert!(race(false) > 0, "the planted bug went unnoticed");
    }
}
