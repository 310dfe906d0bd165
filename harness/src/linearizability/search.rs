//! The Wing–Gong–Lowe search with memoisation, as in Lowe's "Testing for linearizability"
//! (2017) and Porcupine.
//!
//! The history is a doubly linked list of call and return events in time order. The search
//! walks it from the head: at a call it tries to linearize that op now (the spec must accept
//! its outcome from the current state); on success the op's call and return are lifted out of
//! the list and the walk restarts from the head. Reaching a return means the op it belongs to
//! had to be linearized already: backtrack, undoing the last choice. The list empties exactly
//! when every op is linearized.
//!
//! ```text
//!   p1  |--produce a--|                 time →
//!   p2       |--produce b--|
//!   p3                         |--fetch 0..2 = [b, a]--|
//! ```
//! Here the search tries `a` first (its call comes first), then `b`, and the fetch fails;
//! it backtracks to try `b` before `a`, and the fetch succeeds.
//!
//! Memoisation: a configuration is (set of linearized ops, spec state); reaching one already
//! explored cannot succeed where it failed before, so it is skipped. This makes the search
//! polynomial on the histories that occur in practice.
//!
//! Bounds: the search stops with [`SearchOutcome::Unknown`] when the deadline passes or the
//! memo would exceed its byte budget; it never hangs and never grows without bound.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::time::Instant;

use streamspec_model::Op;

use crate::history::Outcome;

/// A sequential specification the search linearizes against.
pub trait Spec {
    /// The state the search memoises: cheap to clone, hash and compare.
    type State: Clone + Hash + Eq;

    /// The state before any op.
    fn initial(&mut self) -> Self::State;

    /// The state after `op` takes effect in `state` with the observed `outcome`, or `None`
    /// if the spec cannot give that outcome from `state`. `Outcome::Info` accepts whatever
    /// the op would do. `id` identifies the op within the search input.
    fn step(
        &mut self,
        state: &Self::State,
        id: usize,
        op: &Op,
        outcome: &Outcome,
    ) -> Option<Self::State>;

    /// Approximate heap bytes of one state, for the memo budget.
    fn state_bytes(&self, _state: &Self::State) -> usize {
        std::mem::size_of::<Self::State>()
    }
}

/// One op as the search sees it.
#[derive(Clone, Debug)]
pub struct Entry<'h> {
    /// The op.
    pub op: &'h Op,
    /// Its outcome; `Info` when unknown (then `deadline_ns` is `u64::MAX`).
    pub outcome: Outcome,
    /// When it was invoked.
    pub invoke_ns: u64,
    /// After this it can no longer take effect.
    pub deadline_ns: u64,
    /// The entry that must take effect before this one, if any (the previous partition read
    /// of the same poll: its reads take effect in partition order).
    pub after: Option<usize>,
}

/// What the search found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchOutcome {
    /// Some order of the ops, consistent with real time, explains every outcome.
    Linearizable,
    /// No such order exists.
    NotLinearizable,
    /// A bound ran out first; the reason says which.
    Unknown(String),
}

/// How far the search may go.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    /// Give up at this instant.
    pub deadline: Instant,
    /// Give up when the memo holds more than this many bytes.
    pub memo_bytes_max: usize,
}

/// Sentinel for "no node" in the event list.
const NIL: u32 = u32::MAX;

/// Steps between deadline checks: reading the clock costs ~20 ns, a step far more, so this
/// keeps the check under 1% while reacting within a millisecond.
const STEPS_PER_CLOCK_CHECK: u32 = 1024;

/// The event list: node `2i` is op `i`'s call, `2i + 1` its return, `head` the sentinel.
struct EventList {
    next: Vec<u32>,
    prev: Vec<u32>,
    head: u32,
}

impl EventList {
    fn new(entries: &[Entry<'_>]) -> EventList {
        let n = entries.len();
        let mut order: Vec<(u64, u8, u32)> = Vec::with_capacity(2 * n);
        for (i, e) in entries.iter().enumerate() {
            // Calls sort before returns at equal times: that treats the two ops as
            // concurrent, the weaker (never falsely failing) reading of a tie.
            order.push((e.invoke_ns, 0, 2 * i as u32));
            order.push((e.deadline_ns.max(e.invoke_ns), 1, 2 * i as u32 + 1));
        }
        order.sort_unstable();
        let head = 2 * n as u32;
        let mut next = vec![NIL; 2 * n + 1];
        let mut prev = vec![NIL; 2 * n + 1];
        let mut last = head;
        for &(_, _, node) in &order {
            next[last as usize] = node;
            prev[node as usize] = last;
            last = node;
        }
        EventList { next, prev, head }
    }

    fn unlink(&mut self, node: u32) {
        let (p, n) = (self.prev[node as usize], self.next[node as usize]);
        self.next[p as usize] = n;
        if n != NIL {
            self.prev[n as usize] = p;
        }
    }

    fn relink(&mut self, node: u32) {
        let (p, n) = (self.prev[node as usize], self.next[node as usize]);
        self.next[p as usize] = node;
        if n != NIL {
            self.prev[n as usize] = node;
        }
    }

    /// Removes op `i`'s call and return.
    fn lift(&mut self, i: usize) {
        self.unlink(2 * i as u32);
        self.unlink(2 * i as u32 + 1);
    }

    /// Undoes the matching [`EventList::lift`]; lifts are undone in reverse order.
    fn unlift(&mut self, i: usize) {
        self.relink(2 * i as u32 + 1);
        self.relink(2 * i as u32);
    }
}

/// The set of linearized ops, with an incremental 128-bit fingerprint (Zobrist hashing:
/// the XOR of a random 128-bit word per member), so a memo entry is 16 bytes however long
/// the history is.
struct Linearized {
    /// Dense membership, by op.
    bits: Vec<u64>,
    /// XOR of [`member_word`] over the members.
    fingerprint: u128,
}

/// The random word of op `i` in a set fingerprint (two rounds of splitmix64).
fn member_word(i: usize) -> u128 {
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let low = mix(i as u64);
    (u128::from(mix(low ^ 0x5851_f42d_4c95_7f2d)) << 64) | u128::from(low)
}

impl Linearized {
    fn new(n: usize) -> Linearized {
        Linearized {
            bits: vec![0; n.div_ceil(64)],
            fingerprint: 0,
        }
    }

    fn contains(&self, i: usize) -> bool {
        self.bits[i / 64] & (1 << (i % 64)) != 0
    }

    fn insert(&mut self, i: usize) {
        debug_assert!(!self.contains(i));
        self.bits[i / 64] |= 1 << (i % 64);
        self.fingerprint ^= member_word(i);
    }

    fn remove(&mut self, i: usize) {
        debug_assert!(self.contains(i));
        self.bits[i / 64] &= !(1 << (i % 64));
        self.fingerprint ^= member_word(i);
    }
}

/// The memo key of a configuration: a 128-bit fingerprint of (linearized set, state). Two
/// configurations collide with probability about 2^-128 per pair; a collision could only make
/// the search skip a configuration it had not explored (a false "not linearizable"), with a
/// chance far below that of a hardware fault over any history that fits in memory.
fn configuration_key<T: Hash>(linearized: &Linearized, state: &T) -> u128 {
    let mut low = std::hash::DefaultHasher::new();
    state.hash(&mut low);
    let mut high = std::hash::DefaultHasher::new();
    0x2545_f491_4f6c_dd1d_u64.hash(&mut high);
    state.hash(&mut high);
    let state_word = (u128::from(high.finish()) << 64) | u128::from(low.finish());
    linearized.fingerprint ^ state_word.rotate_left(1)
}

/// Searches for a linearization of `entries` against `spec`.
pub fn search<S: Spec>(spec: &mut S, entries: &[Entry<'_>], bounds: &Bounds) -> SearchOutcome {
    let n = entries.len();
    if n == 0 {
        return SearchOutcome::Linearizable;
    }
    let mut list = EventList::new(entries);
    let mut linearized = Linearized::new(n);
    let mut memo: HashSet<u128> = HashSet::new();
    // A memo entry: the 16-byte key and the hash table's overhead, with its growth slack.
    let entry_bytes = 40;
    let mut stack: Vec<(usize, S::State)> = Vec::new();
    let mut state = spec.initial();
    let mut node = list.next[list.head as usize];
    let mut steps_to_clock = STEPS_PER_CLOCK_CHECK;
    loop {
        if list.next[list.head as usize] == NIL {
            return SearchOutcome::Linearizable;
        }
        steps_to_clock -= 1;
        if steps_to_clock == 0 {
            steps_to_clock = STEPS_PER_CLOCK_CHECK;
            if Instant::now() >= bounds.deadline {
                return SearchOutcome::Unknown(format!(
                    "time bound reached after linearizing {} of {n} ops",
                    stack.len()
                ));
            }
        }
        debug_assert!(node != NIL, "the list always ends with a return");
        let i = (node / 2) as usize;
        if node.is_multiple_of(2) {
            let entry = &entries[i];
            // An entry waiting for its predecessor is no candidate yet. Whether it is depends
            // only on the linearized set, which the memo key holds, so the memo stays sound.
            if entry.after.is_some_and(|j| !linearized.contains(j)) {
                node = list.next[node as usize];
                continue;
            }
            if let Some(next_state) = spec.step(&state, i, entry.op, &entry.outcome) {
                linearized.insert(i);
                if memo.insert(configuration_key(&linearized, &next_state)) {
                    // The stack holds one state per linearized op; the memo one key per
                    // configuration explored.
                    let bytes = memo.len() * entry_bytes
                        + (stack.len() + 1) * spec.state_bytes(&next_state);
                    if bytes > bounds.memo_bytes_max {
                        return SearchOutcome::Unknown(format!(
                            "memo bound of {} MiB reached after linearizing {} of {n} ops",
                            bounds.memo_bytes_max >> 20,
                            stack.len()
                        ));
                    }
                    stack.push((i, std::mem::replace(&mut state, next_state)));
                    list.lift(i);
                    node = list.next[list.head as usize];
                    continue;
                }
                linearized.remove(i);
            }
            node = list.next[node as usize];
        } else {
            let Some((j, previous)) = stack.pop() else {
                return SearchOutcome::NotLinearizable;
            };
            state = previous;
            linearized.remove(j);
            list.unlift(j);
            node = list.next[2 * j];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use streamspec_model::{Reply, Ret};

    /// A register: `tick { ms }` writes `ms`; `describe_group` reads it (reply `Group` with the
    /// value as generation). Small enough to reason about by hand.
    struct Register;
    impl Spec for Register {
        type State = i32;
        fn initial(&mut self) -> i32 {
            0
        }
        fn step(&mut self, state: &i32, _: usize, op: &Op, outcome: &Outcome) -> Option<i32> {
            match op {
                Op::Tick { ms } => Some(*ms as i32),
                _ => match outcome {
                    Outcome::Ok(Reply::Group { generation, .. }) if generation == state => {
                        Some(*state)
                    }
                    Outcome::Info => Some(*state),
                    _ => None,
                },
            }
        }
    }

    fn write(v: u64) -> Op {
        Op::Tick { ms: v }
    }
    fn read() -> Op {
        Op::DescribeGroup { group: "g".into() }
    }
    fn saw(v: i32) -> Outcome {
        let ret: Ret = Ok(Reply::Group {
            generation: v,
            members: vec![],
        });
        Outcome::from_ret(ret)
    }

    fn run(entries: &[Entry<'_>]) -> SearchOutcome {
        let bounds = Bounds {
            deadline: Instant::now() + Duration::from_secs(10),
            memo_bytes_max: 1 << 26,
        };
        search(&mut Register, entries, &bounds)
    }

    fn entry(op: &Op, outcome: Outcome, invoke_ns: u64, deadline_ns: u64) -> Entry<'_> {
        Entry {
            op,
            outcome,
            invoke_ns,
            deadline_ns,
            after: None,
        }
    }

    #[test]
    fn concurrent_writes_may_be_ordered_either_way_but_real_time_is_respected() {
        // Goal: the search finds the order that explains the reads, and refuses a read that
        // real time forbids. Method: two overlapping writes, then reads.
        let (w1, w2, r) = (write(1), write(2), read());
        let ack = Outcome::Ok(Reply::Ack);
        // w1 [0,10] w2 [5,15], read at [20,30] sees 1: w2 then w1.
        let ok = [
            entry(&w1, ack.clone(), 0, 10),
            entry(&w2, ack.clone(), 5, 15),
            entry(&r, saw(1), 20, 30),
        ];
        assert_eq!(run(&ok), SearchOutcome::Linearizable);
        // Sequential w1 then w2, then a read of 1: impossible.
        let bad = [
            entry(&w1, ack.clone(), 0, 10),
            entry(&w2, ack.clone(), 11, 15),
            entry(&r, saw(1), 20, 30),
        ];
        assert_eq!(run(&bad), SearchOutcome::NotLinearizable);
        // The same with w2 indeterminate: it may take effect after the read.
        let info = [
            entry(&w1, ack.clone(), 0, 10),
            entry(&w2, Outcome::Info, 11, u64::MAX),
            entry(&r, saw(1), 20, 30),
        ];
        assert_eq!(run(&info), SearchOutcome::Linearizable);
        // Two sequential reads that see 2 then 1 with both writes finished before: illegal.
        let flip = [
            entry(&w1, ack.clone(), 0, 10),
            entry(&w2, ack, 0, 10),
            entry(&r, saw(2), 20, 30),
            entry(&r, saw(1), 40, 50),
        ];
        assert_eq!(run(&flip), SearchOutcome::NotLinearizable);
    }

    #[test]
    fn gives_up_with_unknown_when_the_memo_bound_is_reached() {
        // Goal: a bound turns into Unknown, never a hang. Method: many concurrent writes and
        // a memo budget of almost nothing.
        let ops: Vec<Op> = (0..40).map(write).collect();
        let r = read();
        let mut entries: Vec<Entry<'_>> = ops
            .iter()
            .map(|op| entry(op, Outcome::Ok(Reply::Ack), 0, 100))
            .collect();
        entries.push(entry(&r, saw(-5), 200, 300));
        let bounds = Bounds {
            deadline: Instant::now() + Duration::from_secs(10),
            memo_bytes_max: 4096,
        };
        assert!(matches!(
            search(&mut Register, &entries, &bounds),
            SearchOutcome::Unknown(_)
        ));
    }

    #[test]
    fn the_set_fingerprint_follows_the_set() {
        // Goal: the fingerprint depends on the set only, not on the order of inserts and
        // removals. Method: random walk; equal sets must give equal fingerprints, and the
        // distinct sets seen must give distinct ones.
        let mut rng = crate::workload::Rng::new(3);
        let n = 150;
        let mut set = Linearized::new(n);
        let mut plain = std::collections::BTreeSet::new();
        let mut stack = Vec::new();
        let mut seen: std::collections::HashMap<u128, std::collections::BTreeSet<usize>> =
            std::collections::HashMap::new();
        for _ in 0..5_000 {
            if rng.chance(60) && plain.len() < n {
                let free: Vec<usize> = (0..n).filter(|i| !plain.contains(i)).collect();
                let i = free[rng.below(free.len() as u64) as usize];
                set.insert(i);
                plain.insert(i);
                stack.push(i);
            } else if let Some(i) = stack.pop() {
                set.remove(i);
                plain.remove(&i);
            }
            let known = seen.entry(set.fingerprint).or_insert_with(|| plain.clone());
            assert_eq!(*known, plain);
            assert_eq!(configuration_key(&set, &7u8), configuration_key(&set, &7u8));
            assert_ne!(configuration_key(&set, &7u8), configuration_key(&set, &8u8));
        }
        assert!(seen.len() > 100);
    }
}
