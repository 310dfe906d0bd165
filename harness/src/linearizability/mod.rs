//! Linearizability of concurrent histories against the model.
//!
//! - [`search`]: the Wing–Gong–Lowe search with memoisation, generic over a sequential spec.
//! - [`partition_spec`]: the compact spec of one partition's log (clone and hash in 40 bytes).
//! - [`model_spec`]: the full model as a spec, with the nondeterminism docs/model.md allows.
//! - [`poll_read`]: a successful poll as its partition reads, each with its own
//!   linearization point (docs/model.md, "Poll", concurrent polls).
//!
//! # Decomposition (P-compositionality)
//! A history is linearizable if and only if each sub-history on an independent object is
//! (Herlihy & Wing's locality; Horn & Kroening's P-compositionality, as Porcupine uses it).
//! The model is not one object, so [`check`] splits it where the ops allow:
//!
//! 1. **Setup phase.** Ops that touch everything (`create_topic`, `delete_topic`, `tick`,
//!    `enforce_retention`, `init_producer_id`) must all lie in a *sequential prefix* of the
//!    history: each op of the prefix completes, with a known outcome, before the next is
//!    invoked. The prefix is checked op by op against the model (sequential, so
//!    linearizability is equality up to the allowed choices).
//! 2. **Concurrent phase**, split by what each op touches: `produce`, `fetch`,
//!    `list_offsets` and `delete_records` touch one topic-partition; group ops touch one
//!    group, and a group whose members poll also reads the partitions of the topics they
//!    subscribe to, so the group is joined with those partitions into one component
//!    (union-find). Ops naming a topic or partition that does not exist after setup cannot
//!    change or observe anything (topics cannot appear in this phase) and are checked one by
//!    one against the post-setup model.
//! 3. A keyless produce with unknown outcome (`info`) might have landed on any partition: it
//!    is added, as `info`, to every partition of its topic. This can only make the check more
//!    permissive, never report a violation that did not happen.
//!
//! If a global op lies outside the sequential prefix, nothing is split: the whole history is
//! one component checked against the full model (slower, still exact, still bounded).
//!
//! 4. In a component checked against the full model, a successful poll whose member's
//!    assignment in its generation is known from the history becomes its partition reads,
//!    one search entry each, sharing the poll's interval and taking effect in partition
//!    order ([`poll_read`]); other polls are one entry (atomic: stricter).
//!
//! Components are checked in parallel on `threads` threads, largest first. A single-partition
//! component of plain produces, fetches, list_offsets and delete_records whose partition
//! started empty uses [`partition_spec`]; any other uses the full model.
//!
//! # Results
//! [`Verdict::Linearizable`], [`Verdict::Illegal`] with the failing component, the first op
//! whose outcome no order can explain and the window of ops concurrent with it, or
//! [`Verdict::Unknown`] when the time or memory bound ran out first.

pub mod model_spec;
pub mod partition_spec;
pub mod poll_read;
pub mod search;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use streamspec_model::{Model, Op, Reply, TopicConfig, TopicPartition};

use crate::history::{History, Operation, Outcome};
use model_spec::ModelSpec;
use partition_spec::PartitionSpec;
use poll_read::{Assignments, PartitionRead};
use search::{search, Bounds, Entry, SearchOutcome, Spec};

/// How much the check may spend.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Threads checking components at once.
    pub threads: usize,
    /// Wall-clock bound for the whole check; past it the verdict is `Unknown`.
    pub time_limit: Duration,
    /// Memo budget per thread, in bytes; past it a component is `Unknown`.
    pub memo_bytes_max: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            threads: 2,
            time_limit: Duration::from_secs(60),
            // 512 MiB per thread: two threads stay within 1 GiB of memo.
            memo_bytes_max: 512 << 20,
        }
    }
}

/// The check's conclusion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every component has a linearization.
    Linearizable,
    /// A component has none.
    Illegal(Illegal),
    /// A bound ran out before a component was decided (and no component was illegal).
    Unknown(String),
}

/// Where a history stops being linearizable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Illegal {
    /// The component, in words (`partition orders-3`, `group g + 4 partitions`, `setup`).
    pub component: String,
    /// The op (id in the history) whose outcome no order of the ops so far can explain: the
    /// history up to its completion is not linearizable, up to the previous completion it is.
    pub culprit: Option<usize>,
    /// The culprit and the ops concurrent with it (ids, by invoke time): the smallest window
    /// within which some reordering would have had to explain the culprit.
    pub window: Vec<usize>,
    /// How many ops of the component precede or overlap the culprit's completion.
    pub prefix_ops: usize,
}

/// The full report of [`check`].
#[derive(Clone, Debug)]
pub struct Report {
    /// The conclusion.
    pub verdict: Verdict,
    /// Ops in the history.
    pub ops: usize,
    /// Components the concurrent phase split into.
    pub components: usize,
    /// Of those, how many used the compact partition spec.
    pub compact_components: usize,
    /// Ops in the sequential setup prefix.
    pub setup_ops: usize,
    /// Whether the history could be split (all global ops in the setup prefix).
    pub decomposed: bool,
    /// Wall time spent.
    pub elapsed: Duration,
}

/// Ops that touch the whole model rather than one partition or group.
pub fn is_global(op: &Op) -> bool {
    matches!(
        op,
        Op::CreateTopic { .. }
            | Op::DeleteTopic { .. }
            | Op::Tick { .. }
            | Op::EnforceRetention
            | Op::InitProducerId { .. }
    )
}

/// The setup prefix: ops up to the last global op, if they ran one at a time with known
/// outcomes and the next op started after the last of them ended. `None` if not.
fn setup_prefix(history: &History) -> Option<usize> {
    let ops = &history.ops;
    let Some(last_global) = ops.iter().rposition(|o| is_global(&o.op)) else {
        return Some(0);
    };
    let len = last_global + 1;
    for i in 0..len {
        let o = &ops[i];
        let end = o.complete_ns?;
        if !o.outcome.is_known() {
            return None;
        }
        // No op may overlap a setup op: every later op starts after it ends. Ops are sorted
        // by invoke time, so the next op is the earliest later one.
        if ops.get(i + 1).is_some_and(|next| next.invoke_ns <= end) {
            return None;
        }
    }
    Some(len)
}

/// What the concurrent phase can rely on after setup.
struct World {
    /// Existing topics: partitions and config.
    topics: BTreeMap<String, (i32, TopicConfig)>,
    /// The model's clock after setup.
    now_ms: i64,
    /// Whether every partition is still empty after setup (setup only created topics,
    /// ticked and issued producer ids), so the compact spec may start from an empty log.
    partitions_empty: bool,
}

impl World {
    fn after(setup: &[Operation]) -> World {
        let mut world = World {
            topics: BTreeMap::new(),
            now_ms: 0,
            partitions_empty: true,
        };
        for o in setup {
            let ok = matches!(o.outcome, Outcome::Ok(_));
            match &o.op {
                Op::CreateTopic {
                    topic,
                    partitions,
                    config,
                } if ok => {
                    world
                        .topics
                        .insert(topic.clone(), (*partitions, config.clone()));
                }
                Op::DeleteTopic { topic } if ok => {
                    world.topics.remove(topic);
                }
                Op::Tick { ms } if ok => world.now_ms += *ms as i64,
                Op::CreateTopic { .. }
                | Op::DeleteTopic { .. }
                | Op::Tick { .. }
                | Op::InitProducerId { .. } => {}
                _ => world.partitions_empty = false,
            }
        }
        world
    }

    fn partition_exists(&self, topic: &str, partition: i32) -> bool {
        self.topics
            .get(topic)
            .is_some_and(|(n, _)| (0..*n).contains(&partition))
    }
}

/// What an op of the concurrent phase belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Key {
    Partition(TopicPartition),
    Group(String),
}

/// Where a concurrent-phase op goes.
enum Placement {
    /// One component.
    One(Key),
    /// As `info`, into each of these (a keyless produce of unknown outcome).
    EachAsInfo(Vec<Key>),
    /// Checked alone against the post-setup model: it names nothing that exists.
    Static,
}

fn place(world: &World, o: &Operation) -> Placement {
    let part = |topic: &str, p: i32| Key::Partition(TopicPartition::new(topic, p));
    match &o.op {
        Op::Produce {
            topic,
            partition,
            records,
            ..
        } => {
            let Some((count, _)) = world.topics.get(topic) else {
                return Placement::Static;
            };
            match partition {
                Some(p) if world.partition_exists(topic, *p) => Placement::One(part(topic, *p)),
                Some(_) => Placement::Static,
                None => match records.first().and_then(|r| r.key.as_ref()) {
                    Some(key) => Placement::One(part(
                        topic,
                        streamspec_model::partitioner::kafka_partition(key.as_slice(), *count),
                    )),
                    None if records.is_empty() => Placement::Static,
                    None => match &o.outcome {
                        Outcome::Ok(Reply::Produced { partition, .. })
                            if world.partition_exists(topic, *partition) =>
                        {
                            Placement::One(part(topic, *partition))
                        }
                        // A refused keyless produce changes nothing; any partition's
                        // component can check it. An ok naming a bad partition fails there.
                        Outcome::Ok(_) | Outcome::Fail(_) => Placement::One(part(topic, 0)),
                        Outcome::Info => {
                            Placement::EachAsInfo((0..*count).map(|p| part(topic, p)).collect())
                        }
                    },
                },
            }
        }
        Op::Fetch {
            topic, partition, ..
        }
        | Op::ListOffsets {
            topic, partition, ..
        }
        | Op::DeleteRecords {
            topic, partition, ..
        } => {
            if world.partition_exists(topic, *partition) {
                Placement::One(part(topic, *partition))
            } else {
                Placement::Static
            }
        }
        Op::JoinGroup { group, .. }
        | Op::LeaveGroup { group, .. }
        | Op::Heartbeat { group, .. }
        | Op::Commit { group, .. }
        | Op::Committed { group, .. }
        | Op::Poll { group, .. }
        | Op::DescribeGroup { group } => Placement::One(Key::Group(group.clone())),
        Op::CreateTopic { .. }
        | Op::DeleteTopic { .. }
        | Op::Tick { .. }
        | Op::EnforceRetention
        | Op::InitProducerId { .. } => unreachable!("global ops lie in the setup prefix"),
    }
}

/// One independent sub-history.
struct Component {
    name: String,
    /// Op ids, in invoke order; `forced_info` ops are checked as `info`.
    ops: Vec<usize>,
    forced_info: Vec<bool>,
    /// The compact spec applies: (partition, config).
    compact: Option<(i32, TopicConfig)>,
}

/// A tiny union-find over component keys.
struct Union {
    parent: Vec<usize>,
}

impl Union {
    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }
    fn join(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            self.parent[a.max(b)] = a.min(b);
        }
    }
}

/// Splits the concurrent phase into components; returns them and the static ops.
fn decompose(history: &History, setup_len: usize, world: &World) -> (Vec<Component>, Vec<usize>) {
    let mut keys: Vec<Key> = Vec::new();
    let mut key_index: HashMap<Key, usize> = HashMap::new();
    let mut index_of = |key: Key, keys: &mut Vec<Key>| -> usize {
        *key_index.entry(key.clone()).or_insert_with(|| {
            keys.push(key);
            keys.len() - 1
        })
    };
    let mut placed: Vec<(usize, usize, bool)> = Vec::new(); // (op, key index, forced info)
    let mut statics = Vec::new();
    let mut links: Vec<(usize, usize)> = Vec::new();
    for o in &history.ops[setup_len..] {
        match place(world, o) {
            Placement::One(key) => {
                let k = index_of(key, &mut keys);
                placed.push((o.id, k, false));
                if let Op::JoinGroup { topics, .. } = &o.op {
                    for topic in topics {
                        if let Some((count, _)) = world.topics.get(topic) {
                            for p in 0..*count {
                                let tp = Key::Partition(TopicPartition::new(topic.clone(), p));
                                links.push((k, index_of(tp, &mut keys)));
                            }
                        }
                    }
                }
            }
            Placement::EachAsInfo(targets) => {
                for key in targets {
                    let k = index_of(key, &mut keys);
                    placed.push((o.id, k, true));
                }
            }
            Placement::Static => statics.push(o.id),
        }
    }
    let mut union = Union {
        parent: (0..keys.len()).collect(),
    };
    for (a, b) in links {
        union.join(a, b);
    }
    let mut by_root: BTreeMap<usize, Component> = BTreeMap::new();
    let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for k in 0..keys.len() {
        members.entry(union.find(k)).or_default().push(k);
    }
    for (op, k, forced) in placed {
        let root = union.find(k);
        let component = by_root.entry(root).or_insert_with(|| Component {
            name: String::new(),
            ops: Vec::new(),
            forced_info: Vec::new(),
            compact: None,
        });
        component.ops.push(op);
        component.forced_info.push(forced);
    }
    let mut components = Vec::new();
    for (root, mut component) in by_root {
        let member_keys: Vec<&Key> = members[&root].iter().map(|&k| &keys[k]).collect();
        let groups: Vec<&str> = member_keys
            .iter()
            .filter_map(|k| match k {
                Key::Group(g) => Some(g.as_str()),
                Key::Partition(_) => None,
            })
            .collect();
        let partitions: Vec<&TopicPartition> = member_keys
            .iter()
            .filter_map(|k| match k {
                Key::Partition(tp) => Some(tp),
                Key::Group(_) => None,
            })
            .collect();
        component.name = match (groups.as_slice(), partitions.as_slice()) {
            ([], [tp]) => format!("partition {tp}"),
            ([g], []) => format!("group {g}"),
            ([g], ps) => format!("group {g} + {} partitions", ps.len()),
            (gs, ps) => format!("{} groups + {} partitions", gs.len(), ps.len()),
        };
        if let ([], [tp]) = (groups.as_slice(), partitions.as_slice()) {
            let all_supported = component
                .ops
                .iter()
                .all(|&id| PartitionSpec::supports(&history.ops[id].op));
            if world.partitions_empty && all_supported {
                let (_, config) = &world.topics[&tp.topic];
                component.compact = Some((tp.partition, config.clone()));
            }
        }
        // Ops from several keys interleave: keep invoke order.
        let mut order: Vec<(usize, bool)> = component
            .ops
            .iter()
            .copied()
            .zip(component.forced_info.iter().copied())
            .collect();
        order.sort_unstable();
        component.ops = order.iter().map(|&(id, _)| id).collect();
        component.forced_info = order.iter().map(|&(_, f)| f).collect();
        components.push(component);
    }
    (components, statics)
}

/// The search input for the ops of a component, each known only if it completed by
/// `cutoff_ns` (an op still running at the cutoff is `info`: it may take effect later), with
/// the partition read each entry stands for, if any: a known successful poll that
/// [`poll_read::split`] can split is one entry per read, each after the one before.
fn entries<'h>(
    history: &'h History,
    ids: &[usize],
    forced_info: &[bool],
    cutoff_ns: u64,
    assignments: &Assignments,
) -> (Vec<Entry<'h>>, Vec<Option<PartitionRead>>) {
    let mut input = Vec::with_capacity(ids.len());
    let mut reads = Vec::with_capacity(ids.len());
    for (&id, &forced) in ids.iter().zip(forced_info) {
        let o = &history.ops[id];
        if o.invoke_ns > cutoff_ns {
            continue;
        }
        let deadline = o.effect_deadline_ns();
        let known = !forced && deadline <= cutoff_ns;
        if known {
            if let Some(split) = poll_read::split(o, assignments) {
                for (k, (read, records)) in split.into_iter().enumerate() {
                    let outcome = Outcome::Ok(Reply::Polled {
                        records: records
                            .into_iter()
                            .map(|record| streamspec_model::PolledRecord {
                                topic: read.partition.topic.clone(),
                                partition: read.partition.partition,
                                record,
                            })
                            .collect(),
                    });
                    input.push(Entry {
                        op: &o.op,
                        outcome,
                        invoke_ns: o.invoke_ns,
                        deadline_ns: deadline,
                        after: (k > 0).then(|| input.len() - 1),
                    });
                    reads.push(Some(read));
                }
                continue;
            }
        }
        input.push(Entry {
            op: &o.op,
            outcome: if known {
                o.outcome.clone()
            } else {
                Outcome::Info
            },
            invoke_ns: o.invoke_ns,
            deadline_ns: if known { deadline } else { u64::MAX },
            after: None,
        });
        reads.push(None);
    }
    (input, reads)
}

/// What every component's search shares.
struct Context<'a> {
    history: &'a History,
    /// The model after setup.
    base: &'a Model,
    world: &'a World,
    /// Members' assignments, to split polls into partition reads.
    assignments: &'a Assignments,
    bounds: &'a Bounds,
}

/// Runs the search on one component up to `cutoff_ns`.
fn search_component(context: &Context<'_>, component: &Component, cutoff_ns: u64) -> SearchOutcome {
    let (input, reads) = entries(
        context.history,
        &component.ops,
        &component.forced_info,
        cutoff_ns,
        context.assignments,
    );
    let ops: Vec<&Op> = input.iter().map(|e| e.op).collect();
    match &component.compact {
        Some((partition, config)) => {
            let mut spec =
                PartitionSpec::new(ops, *partition, config.clone(), context.world.now_ms);
            search(&mut spec, &input, context.bounds)
        }
        None => {
            let mut spec = ModelSpec::with_reads(context.base.clone(), reads);
            search(&mut spec, &input, context.bounds)
        }
    }
}

/// Finds the smallest failing prefix of a non-linearizable component: the first known
/// completion time at which the history up to it cannot be linearized. Monotone: if the
/// history up to `t` is not linearizable, neither is any longer one, because a linearization
/// of the longer one, cut at `t`, would linearize the shorter (ops running at `t` are `info`).
fn explain(context: &Context<'_>, component: &Component) -> Illegal {
    let history = context.history;
    let mut cutoffs: Vec<u64> = component
        .ops
        .iter()
        .zip(&component.forced_info)
        .filter(|(&id, &forced)| !forced && history.ops[id].outcome.is_known())
        .filter_map(|(&id, _)| history.ops[id].complete_ns)
        .collect();
    cutoffs.sort_unstable();
    // Invariant: the prefix up to cutoffs[hi] fails (the whole component does); the prefix
    // up to cutoffs[lo - 1] is linearizable or lo == 0.
    let (mut lo, mut hi) = (0usize, cutoffs.len().saturating_sub(1));
    let mut decided = true;
    while lo < hi {
        let mid = (lo + hi) / 2;
        match search_component(context, component, cutoffs[mid]) {
            SearchOutcome::NotLinearizable => hi = mid,
            SearchOutcome::Linearizable => lo = mid + 1,
            SearchOutcome::Unknown(_) => {
                decided = false;
                break;
            }
        }
    }
    let culprit_time = cutoffs.get(hi).copied();
    let culprit = if decided {
        culprit_time.and_then(|t| {
            component.ops.iter().copied().find(|&id| {
                history.ops[id].complete_ns == Some(t) && history.ops[id].outcome.is_known()
            })
        })
    } else {
        None
    };
    let (window, prefix_ops) = match culprit {
        Some(c) => {
            let (start, end) = (
                history.ops[c].invoke_ns,
                history.ops[c].complete_ns.unwrap_or(u64::MAX),
            );
            let window: Vec<usize> = component
                .ops
                .iter()
                .copied()
                .filter(|&id| {
                    let o = &history.ops[id];
                    o.invoke_ns <= end && o.effect_deadline_ns() >= start
                })
                .collect();
            let prefix = component
                .ops
                .iter()
                .filter(|&&id| history.ops[id].invoke_ns <= end)
                .count();
            (window, prefix)
        }
        None => {
            // Undecided: show the last ops of the component.
            let tail = component.ops.len().saturating_sub(WINDOW_FALLBACK_OPS);
            (component.ops[tail..].to_vec(), component.ops.len())
        }
    };
    let mut window = window;
    window.dedup();
    Illegal {
        component: component.name.clone(),
        culprit,
        window,
        prefix_ops,
    }
}

/// How many ops to show when the failing prefix could not be narrowed within the bounds.
const WINDOW_FALLBACK_OPS: usize = 16;

/// Checks a history for linearizability against the model.
pub fn check(history: &History, options: &Options) -> Report {
    let started = Instant::now();
    let bounds = Bounds {
        deadline: started + options.time_limit,
        memo_bytes_max: options.memo_bytes_max,
    };
    let mut report = Report {
        verdict: Verdict::Linearizable,
        ops: history.ops.len(),
        components: 0,
        compact_components: 0,
        setup_ops: 0,
        decomposed: false,
        elapsed: Duration::ZERO,
    };
    let all: Vec<usize> = (0..history.ops.len()).collect();
    // One pass over the history; only polls use it (group components and the whole history).
    let assignments = Assignments::of(history);
    let Some(setup_len) = setup_prefix(history) else {
        // Not decomposable: the whole history against the full model.
        let whole = Component {
            name: "whole history (a global op is concurrent with others)".into(),
            forced_info: vec![false; all.len()],
            ops: all,
            compact: None,
        };
        let world = World::after(&[]);
        let base = Model::new();
        let context = Context {
            history,
            base: &base,
            world: &world,
            assignments: &assignments,
            bounds: &bounds,
        };
        report.components = 1;
        report.verdict = match search_component(&context, &whole, u64::MAX) {
            SearchOutcome::Linearizable => Verdict::Linearizable,
            SearchOutcome::Unknown(why) => Verdict::Unknown(format!("{}: {why}", whole.name)),
            SearchOutcome::NotLinearizable => Verdict::Illegal(explain(&context, &whole)),
        };
        report.elapsed = started.elapsed();
        return report;
    };
    report.decomposed = true;
    report.setup_ops = setup_len;

    // 1. The setup prefix, op by op.
    let mut base = Model::new();
    let mut setup_spec = ModelSpec::new(Model::new());
    for o in &history.ops[..setup_len] {
        match setup_spec.step(&base, o.id, &o.op, &o.outcome) {
            Some(next) => base = next,
            None => {
                report.verdict = Verdict::Illegal(Illegal {
                    component: "setup".into(),
                    culprit: Some(o.id),
                    window: vec![o.id],
                    prefix_ops: o.id + 1,
                });
                report.elapsed = started.elapsed();
                return report;
            }
        }
    }
    let world = World::after(&history.ops[..setup_len]);

    // 2. Ops that name nothing that exists: each alone against the post-setup model.
    let (mut components, statics) = decompose(history, setup_len, &world);
    for &id in &statics {
        let o = &history.ops[id];
        let mut spec = ModelSpec::new(base.clone());
        if spec.step(&base, id, &o.op, &o.outcome).is_none() {
            report.verdict = Verdict::Illegal(Illegal {
                component: "ops naming no existing topic or partition".into(),
                culprit: Some(id),
                window: vec![id],
                prefix_ops: 1,
            });
            report.elapsed = started.elapsed();
            return report;
        }
    }

    // 3. Components in parallel, largest first.
    components.sort_by_key(|c| std::cmp::Reverse(c.ops.len()));
    report.components = components.len();
    report.compact_components = components.iter().filter(|c| c.compact.is_some()).count();
    let context = Context {
        history,
        base: &base,
        world: &world,
        assignments: &assignments,
        bounds: &bounds,
    };
    let next = AtomicUsize::new(0);
    let illegal: Mutex<Option<Illegal>> = Mutex::new(None);
    let unknown: Mutex<Vec<String>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..options.threads.max(1))
            .map(|_| {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(component) = components.get(i) else {
                        return;
                    };
                    if illegal.lock().expect("no checker thread panics").is_some() {
                        return;
                    }
                    match search_component(&context, component, u64::MAX) {
                        SearchOutcome::Linearizable => {}
                        SearchOutcome::Unknown(why) => unknown
                            .lock()
                            .expect("no checker thread panics")
                            .push(format!("{}: {why}", component.name)),
                        SearchOutcome::NotLinearizable => {
                            let found = explain(&context, component);
                            let mut slot = illegal.lock().expect("no checker thread panics");
                            // Report the earliest culprit when several components fail.
                            let earlier = match (&*slot, found.culprit) {
                                (None, _) => true,
                                (Some(old), Some(c)) => old.culprit.is_none_or(|o| c < o),
                                (Some(_), None) => false,
                            };
                            if earlier {
                                *slot = Some(found);
                            }
                        }
                    }
                })
            })
            .collect();
        // Joined by hand: the scope's own exit waits only for the closures to return, not for
        // the OS threads to finish exiting, so a worker could outlive the check, still running
        // its thread-local destructors (the history_parser fuzz target's LeakSanitizer saw
        // exactly that once in 144,740 runs).
        for worker in workers {
            worker.join().expect("no checker thread panics");
        }
    });
    let unknown = unknown.into_inner().expect("no checker thread panics");
    report.verdict = match illegal.into_inner().expect("no checker thread panics") {
        Some(found) => Verdict::Illegal(found),
        None if !unknown.is_empty() => Verdict::Unknown(unknown.join("; ")),
        None => Verdict::Linearizable,
    };
    report.elapsed = started.elapsed();
    report
}
