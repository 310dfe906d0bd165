//! Concurrent histories: the JSON Lines format of `docs/history-format.md`, its parser, its
//! writer, and a recorder that drives a [`ConcurrentTarget`] from several threads.
//!
//! A history is a sequence of events, one per line, in the order they happened:
//!
//! ```text
//! {"process":0,"type":"invoke","op":{"op":"produce","topic":"t","partition":0,"records":[{"value":"a"}]},"time_ns":10}
//! {"process":1,"type":"invoke","op":{"op":"fetch","topic":"t","partition":0,"offset":0},"time_ns":12}
//! {"process":0,"type":"ok","result":{"reply":"produced","partition":0,"base_offset":0},"time_ns":30}
//! {"process":1,"type":"fail","error":"offset_out_of_range","time_ns":31}
//! ```
//!
//! Each process runs one op at a time: an `invoke` is followed by that process's `ok`
//! (it happened, with this reply), `fail` (it was refused with this error and changed
//! nothing) or `info` (nobody knows whether it happened). A process that ended with `info`
//! never invokes again; an invoke with no completion by the end of the file is treated as
//! `info`. Parsing pairs the events into [`Operation`]s; any malformed line is a
//! [`HistoryError`] naming the file, the line and what is wrong, never a panic. Unknown
//! fields are errors too (as in the trace reader), so a typo (`"max_record": 10` in an op)
//! cannot silently fall back to a default and make a history claim something its author did
//! not mean.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use streamspec_model::{ErrorCode, Op, Reply, Ret};

use crate::target::ConcurrentTarget;

/// What an event says about its op.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    /// The process asked for the op.
    Invoke,
    /// The op happened and returned `result`.
    Ok,
    /// The op was refused with `error` and changed nothing.
    Fail,
    /// Indeterminate: the op may or may not have happened.
    Info,
}

/// One line of a history file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The client that issued the op; one op at a time per process.
    pub process: u64,
    /// Invoke or one of the three completions.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// The op; required on `invoke`, optional (and then equal to the invoke's) on completions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<Op>,
    /// The reply, on `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Reply>,
    /// The error's name on `fail` (`ErrorCode::name`); free text on `info`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Monotonic time in ns; never decreases from one line to the next.
    pub time_ns: u64,
}

/// How an op ended.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// It happened and returned this reply.
    Ok(Reply),
    /// It was refused with this error and changed nothing.
    Fail(ErrorCode),
    /// Unknown: it may or may not have happened, with any result.
    Info,
}

impl Outcome {
    /// The outcome of a [`Ret`].
    pub fn from_ret(ret: Ret) -> Outcome {
        match ret {
            Ok(reply) => Outcome::Ok(reply),
            Err(code) => Outcome::Fail(code),
        }
    }

    /// Whether the outcome is known (`ok` or `fail`).
    pub fn is_known(&self) -> bool {
        !matches!(self, Outcome::Info)
    }
}

/// One op of a history: an invoke paired with its completion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    /// Index in [`History::ops`] (invoke order).
    pub id: usize,
    /// The process that ran it.
    pub process: u64,
    /// What was asked.
    pub op: Op,
    /// How it ended.
    pub outcome: Outcome,
    /// When it was invoked, in ns.
    pub invoke_ns: u64,
    /// When it completed; `None` for an op that never completed (then `outcome` is `Info`).
    /// An `info` completion keeps its time here but, being indeterminate, may take effect
    /// at any later time.
    pub complete_ns: Option<u64>,
    /// The 1-based line of its invoke in the file it came from (0 when recorded in memory).
    pub line: usize,
}

impl Operation {
    /// The time after which the op can no longer take effect: its completion time when the
    /// outcome is known, otherwise never (`u64::MAX`).
    pub fn effect_deadline_ns(&self) -> u64 {
        match (&self.outcome, self.complete_ns) {
            (Outcome::Info, _) | (_, None) => u64::MAX,
            (_, Some(t)) => t,
        }
    }
}

/// A parsed history: ops in invoke order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    /// The ops, `ops[i].id == i`, sorted by `invoke_ns` (ties in file order).
    pub ops: Vec<Operation>,
}

/// What is wrong with a history file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryError {
    /// The file (or `<memory>`).
    pub path: PathBuf,
    /// The 1-based line; 0 for errors about the whole file (cannot read it).
    pub line: usize,
    /// What is wrong.
    pub kind: HistoryErrorKind,
}

/// The kinds of [`HistoryError`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HistoryErrorKind {
    /// The file could not be read.
    Io(String),
    /// The line is not a JSON object.
    Json(String),
    /// A required field is absent.
    MissingField(&'static str),
    /// A top-level key that is not one of the format's (`process`, `type`, `op`, `result`,
    /// `error`, `time_ns`).
    UnknownKey(String),
    /// A field has the wrong type or an unknown value (unknown op, unknown error name, ...).
    BadField {
        /// The field.
        field: &'static str,
        /// Why it is bad.
        reason: String,
    },
    /// The event breaks the pairing rules (completion without invoke, second invoke, ...).
    Pairing(String),
    /// `time_ns` went backwards.
    TimeBackwards {
        /// The previous line's time.
        previous_ns: u64,
        /// This line's time.
        time_ns: u64,
    },
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.path.display(), self.line)?;
        match &self.kind {
            HistoryErrorKind::Io(e) => write!(f, "cannot read: {e}"),
            HistoryErrorKind::Json(e) => write!(f, "malformed JSON: {e}"),
            HistoryErrorKind::MissingField(field) => write!(f, "missing field `{field}`"),
            HistoryErrorKind::UnknownKey(key) => write!(
                f,
                "unknown key {key:?} (a line has \"process\", \"type\", \"time_ns\", \
                 \"op\", \"result\" and \"error\")"
            ),
            HistoryErrorKind::BadField { field, reason } => {
                write!(f, "bad field `{field}`: {reason}")
            }
            HistoryErrorKind::Pairing(why) => write!(f, "{why}"),
            HistoryErrorKind::TimeBackwards {
                previous_ns,
                time_ns,
            } => write!(
                f,
                "time_ns {time_ns} is before the previous line's {previous_ns}; events must be in time order"
            ),
        }
    }
}

impl std::error::Error for HistoryError {}

/// Parses one line into an [`Event`], with field-level messages.
fn parse_event(text: &str) -> Result<Event, HistoryErrorKind> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| HistoryErrorKind::Json(e.to_string()))?;
    let Value::Object(map) = value else {
        return Err(HistoryErrorKind::Json(
            "a line must be a JSON object".into(),
        ));
    };
    if let Some(key) = map.keys().find(|key| !KEYS.contains(&key.as_str())) {
        return Err(HistoryErrorKind::UnknownKey(key.clone()));
    }
    let process = field_u64(&map, "process")?;
    let time_ns = field_u64(&map, "time_ns")?;
    let kind = match map.get("type") {
        None => return Err(HistoryErrorKind::MissingField("type")),
        Some(v) => serde_json::from_value::<EventType>(v.clone()).map_err(|_| {
            HistoryErrorKind::BadField {
                field: "type",
                reason: format!("{v} is not one of \"invoke\", \"ok\", \"fail\", \"info\""),
            }
        })?,
    };
    let op = match map.get("op") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let op = serde_json::from_value::<Op>(v.clone()).map_err(|e| {
                HistoryErrorKind::BadField {
                    field: "op",
                    reason: e.to_string(),
                }
            })?;
            refuse_unknown_fields("op", v, &op)?;
            Some(op)
        }
    };
    let result = match map.get("result") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let reply = serde_json::from_value::<Reply>(v.clone()).map_err(|e| {
                HistoryErrorKind::BadField {
                    field: "result",
                    reason: e.to_string(),
                }
            })?;
            refuse_unknown_fields("result", v, &reply)?;
            Some(reply)
        }
    };
    let error = match map.get("error") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(v) => {
            return Err(HistoryErrorKind::BadField {
                field: "error",
                reason: format!("{v} is not a string"),
            })
        }
    };
    Ok(Event {
        process,
        kind,
        op,
        result,
        error,
        time_ns,
    })
}

/// The top-level keys of a history line (docs/history-format.md).
const KEYS: [&str; 6] = ["process", "type", "op", "result", "error", "time_ns"];

/// Refuses a field of `input` that parsing it into `parsed` dropped: serde ignores unknown
/// fields of the vocabulary's tagged enums, so a misspelt field would otherwise fall back to
/// its default. Same comparison as the trace reader's.
fn refuse_unknown_fields<T: Serialize>(
    field: &'static str,
    input: &Value,
    parsed: &T,
) -> Result<(), HistoryErrorKind> {
    let canonical = serde_json::to_value(parsed).map_err(|e| HistoryErrorKind::BadField {
        field,
        reason: e.to_string(),
    })?;
    match crate::trace::unknown_field(input, &canonical, String::new()) {
        None => Ok(()),
        Some(unknown) => Err(HistoryErrorKind::BadField {
            field,
            reason: format!("unknown field {unknown:?}"),
        }),
    }
}

fn field_u64(map: &Map<String, Value>, field: &'static str) -> Result<u64, HistoryErrorKind> {
    match map.get(field) {
        None => Err(HistoryErrorKind::MissingField(field)),
        Some(v) => v.as_u64().ok_or_else(|| HistoryErrorKind::BadField {
            field,
            reason: format!("{v} is not a non-negative integer"),
        }),
    }
}

/// An invoke waiting for its completion.
struct Pending {
    id: usize,
}

/// Pairs events into a history. Feed events in file order with [`Pairer::push`].
struct Pairer {
    ops: Vec<Operation>,
    pending: HashMap<u64, Pending>,
    /// Processes that ended with `info`; they may not invoke again.
    crashed: HashMap<u64, usize>,
    previous_ns: u64,
}

impl Pairer {
    fn new() -> Pairer {
        Pairer {
            ops: Vec::new(),
            pending: HashMap::new(),
            crashed: HashMap::new(),
            previous_ns: 0,
        }
    }

    fn push(&mut self, event: Event, line: usize) -> Result<(), HistoryErrorKind> {
        if event.time_ns < self.previous_ns {
            return Err(HistoryErrorKind::TimeBackwards {
                previous_ns: self.previous_ns,
                time_ns: event.time_ns,
            });
        }
        self.previous_ns = event.time_ns;
        let process = event.process;
        if event.kind == EventType::Invoke {
            let Some(op) = event.op else {
                return Err(HistoryErrorKind::MissingField("op"));
            };
            if let Some(p) = self.pending.get(&process) {
                return Err(HistoryErrorKind::Pairing(format!(
                    "process {process} invokes again while its op from line {} has not completed",
                    self.ops[p.id].line
                )));
            }
            if let Some(info_line) = self.crashed.get(&process) {
                return Err(HistoryErrorKind::Pairing(format!(
                    "process {process} invokes after its `info` at line {info_line}; a process \
                     whose op is indeterminate never invokes again (use a new process number)"
                )));
            }
            if event.result.is_some() {
                return Err(HistoryErrorKind::BadField {
                    field: "result",
                    reason: "an invoke has no result".into(),
                });
            }
            let id = self.ops.len();
            self.ops.push(Operation {
                id,
                process,
                op,
                outcome: Outcome::Info,
                invoke_ns: event.time_ns,
                complete_ns: None,
                line,
            });
            self.pending.insert(process, Pending { id });
            return Ok(());
        }
        let Some(pending) = self.pending.remove(&process) else {
            return Err(HistoryErrorKind::Pairing(format!(
                "`{}` for process {process}, which has no invoke waiting for a completion",
                type_name(event.kind)
            )));
        };
        let operation = &mut self.ops[pending.id];
        if let Some(op) = &event.op {
            if *op != operation.op {
                return Err(HistoryErrorKind::BadField {
                    field: "op",
                    reason: format!(
                        "differs from the op invoked at line {}; a completion may repeat its op \
                         but not change it",
                        operation.line
                    ),
                });
            }
        }
        operation.complete_ns = Some(event.time_ns);
        operation.outcome = match event.kind {
            EventType::Invoke => unreachable!("handled above"),
            EventType::Ok => {
                if event.error.is_some() {
                    return Err(HistoryErrorKind::BadField {
                        field: "error",
                        reason: "an `ok` has a result, not an error".into(),
                    });
                }
                Outcome::Ok(
                    event
                        .result
                        .ok_or(HistoryErrorKind::MissingField("result"))?,
                )
            }
            EventType::Fail => {
                if event.result.is_some() {
                    return Err(HistoryErrorKind::BadField {
                        field: "result",
                        reason: "a `fail` has an error, not a result".into(),
                    });
                }
                let name = event.error.ok_or(HistoryErrorKind::MissingField("error"))?;
                Outcome::Fail(ErrorCode::from_name(&name).ok_or_else(|| {
                    HistoryErrorKind::BadField {
                        field: "error",
                        reason: format!("`{name}` is not an error name (see ErrorCode::name)"),
                    }
                })?)
            }
            EventType::Info => {
                self.crashed.insert(process, line);
                Outcome::Info
            }
        };
        Ok(())
    }

    fn finish(self) -> History {
        History { ops: self.ops }
    }
}

fn type_name(kind: EventType) -> &'static str {
    match kind {
        EventType::Invoke => "invoke",
        EventType::Ok => "ok",
        EventType::Fail => "fail",
        EventType::Info => "info",
    }
}

impl History {
    /// Parses JSON Lines text. `path` only names the source in errors. Blank lines are
    /// skipped.
    pub fn parse(path: &Path, text: &str) -> Result<History, HistoryError> {
        let mut pairer = Pairer::new();
        for (index, line_text) in text.lines().enumerate() {
            let line = index + 1;
            if line_text.trim().is_empty() {
                continue;
            }
            let fail = |kind| HistoryError {
                path: path.to_path_buf(),
                line,
                kind,
            };
            let event = parse_event(line_text).map_err(fail)?;
            pairer.push(event, line).map_err(fail)?;
        }
        Ok(pairer.finish())
    }

    /// Reads and parses a history file.
    pub fn read(path: &Path) -> Result<History, HistoryError> {
        let text = std::fs::read_to_string(path).map_err(|e| HistoryError {
            path: path.to_path_buf(),
            line: 0,
            kind: HistoryErrorKind::Io(e.to_string()),
        })?;
        History::parse(path, &text)
    }

    /// The events of this history in time order (invokes before completions at equal
    /// times), as they would be written to a file.
    pub fn events(&self) -> Vec<Event> {
        // Sort key: (time, rank, anchor op id, sub-order). At equal times invokes (rank 1) go
        // before completions (rank 2): the checkers read equal times as concurrent, and an
        // op's own completion must follow its invoke. One exception: when a process's next
        // op is invoked at the very time its previous op completed, that completion must come
        // first or the file would show the process invoking twice; it is anchored right
        // before the next invoke (same rank and anchor, sub-order 0).
        let mut completion_anchor: HashMap<usize, usize> = HashMap::new();
        let mut last_op_of_process: HashMap<u64, usize> = HashMap::new();
        for operation in &self.ops {
            if let Some(&previous) = last_op_of_process.get(&operation.process) {
                if self.ops[previous].complete_ns == Some(operation.invoke_ns) {
                    completion_anchor.insert(previous, operation.id);
                }
            }
            last_op_of_process.insert(operation.process, operation.id);
        }
        type EventKey = (u64, u8, usize, u8);
        let mut events: Vec<(EventKey, Event)> = Vec::with_capacity(self.ops.len() * 2);
        for operation in &self.ops {
            events.push((
                (operation.invoke_ns, 1, operation.id, 1),
                Event {
                    process: operation.process,
                    kind: EventType::Invoke,
                    op: Some(operation.op.clone()),
                    result: None,
                    error: None,
                    time_ns: operation.invoke_ns,
                },
            ));
            if let Some(t) = operation.complete_ns {
                let (kind, result, error) = match &operation.outcome {
                    Outcome::Ok(reply) => (EventType::Ok, Some(reply.clone()), None),
                    Outcome::Fail(code) => (EventType::Fail, None, Some(code.name().to_string())),
                    Outcome::Info => (EventType::Info, None, None),
                };
                let key = match completion_anchor.get(&operation.id) {
                    Some(&next) => (t, 1, next, 0),
                    None => (t, 2, operation.id, 0),
                };
                events.push((
                    key,
                    Event {
                        process: operation.process,
                        kind,
                        op: None,
                        result,
                        error,
                        time_ns: t,
                    },
                ));
            }
        }
        events.sort_by_key(|(key, _)| *key);
        events.into_iter().map(|(_, e)| e).collect()
    }

    /// Writes the history as JSON Lines.
    pub fn write_jsonl(&self, out: &mut impl Write) -> std::io::Result<()> {
        for event in self.events() {
            serde_json::to_writer(&mut *out, &event)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }

    /// Writes the history as JSON Lines to `path`.
    pub fn write_file(&self, path: &Path) -> std::io::Result<()> {
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        self.write_jsonl(&mut out)?;
        out.flush()
    }

    /// The history restricted to `ids` (renumbered in order).
    pub fn subset(&self, ids: &[usize]) -> History {
        let mut ops: Vec<Operation> = ids.iter().map(|&i| self.ops[i].clone()).collect();
        for (i, operation) in ops.iter_mut().enumerate() {
            operation.id = i;
        }
        History { ops }
    }

    /// A history of ops that ran one after another, each with a known result: the form a
    /// single-threaded run (or a trace) takes.
    pub fn sequential(ops: impl IntoIterator<Item = (Op, Ret)>) -> History {
        let mut history = History::default();
        for (i, (op, ret)) in ops.into_iter().enumerate() {
            history.ops.push(Operation {
                id: i,
                process: 0,
                op,
                outcome: Outcome::from_ret(ret),
                invoke_ns: 2 * i as u64,
                complete_ns: Some(2 * i as u64 + 1),
                line: 0,
            });
        }
        history
    }
}

/// A client thread of a recorded run: chooses its next op from what it has seen.
pub trait Worker: Send {
    /// The next op to run, or `None` when done.
    fn next_op(&mut self) -> Option<Op>;
    /// What the op returned.
    fn observe(&mut self, op: &Op, ret: &Ret);
}

/// Records a history: runs `setup` on process 0 one op at a time, then each worker on its
/// own thread (processes 1, 2, ...) at once, then `finale` alone (the next process). Times are ns since the start, taken from one
/// monotonic clock so that an op that completed before another was invoked has the
/// smaller completion time.
pub fn record<T: ConcurrentTarget + ?Sized>(
    target: &T,
    setup: &[Op],
    workers: Vec<Box<dyn Worker + '_>>,
    finale: Option<Box<dyn Worker + '_>>,
) -> History {
    let start = Instant::now();
    // The clock is made strictly increasing so that no two events share a time: ties would
    // leave the order of a completion and an invoke ambiguous.
    let last_ns = AtomicU64::new(0);
    let now = || {
        let t = start.elapsed().as_nanos() as u64;
        let mut previous = last_ns.load(Ordering::SeqCst);
        loop {
            let next = t.max(previous + 1);
            match last_ns.compare_exchange(previous, next, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => return next,
                Err(seen) => previous = seen,
            }
        }
    };
    let mut ops = Vec::new();
    for op in setup {
        let invoke_ns = now();
        let ret = target.apply(op);
        let complete_ns = now();
        ops.push(Operation {
            id: 0,
            process: 0,
            op: op.clone(),
            outcome: Outcome::from_ret(ret),
            invoke_ns,
            complete_ns: Some(complete_ns),
            line: 0,
        });
    }
    let finale_process = workers.len() as u64 + 1;
    let concurrent = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for (index, mut worker) in workers.into_iter().enumerate() {
            let concurrent = &concurrent;
            let now = &now;
            scope.spawn(move || {
                let process = index as u64 + 1;
                let mut mine = Vec::new();
                while let Some(op) = worker.next_op() {
                    let invoke_ns = now();
                    let ret = target.apply(&op);
                    let complete_ns = now();
                    worker.observe(&op, &ret);
                    mine.push(Operation {
                        id: 0,
                        process,
                        op,
                        outcome: Outcome::from_ret(ret),
                        invoke_ns,
                        complete_ns: Some(complete_ns),
                        line: 0,
                    });
                }
                concurrent
                    .lock()
                    .expect("no recorder thread panics")
                    .extend(mine);
            });
        }
    });
    ops.extend(concurrent.into_inner().expect("no recorder thread panics"));
    if let Some(mut worker) = finale {
        while let Some(op) = worker.next_op() {
            let invoke_ns = now();
            let ret = target.apply(&op);
            let complete_ns = now();
            worker.observe(&op, &ret);
            ops.push(Operation {
                id: 0,
                process: finale_process,
                op,
                outcome: Outcome::from_ret(ret),
                invoke_ns,
                complete_ns: Some(complete_ns),
                line: 0,
            });
        }
    }
    ops.sort_by_key(|o| o.invoke_ns);
    for (i, operation) in ops.iter_mut().enumerate() {
        operation.id = i;
    }
    History { ops }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<History, HistoryError> {
        History::parse(Path::new("h.jsonl"), text)
    }

    const GOOD: &str = r#"{"process":0,"type":"invoke","op":{"op":"produce","topic":"t","partition":0,"records":[{"value":"a"}]},"time_ns":10}
{"process":1,"type":"invoke","op":{"op":"fetch","topic":"t","partition":0,"offset":0},"time_ns":12}
{"process":0,"type":"ok","result":{"reply":"produced","partition":0,"base_offset":0},"time_ns":30}

{"process":1,"type":"fail","error":"offset_out_of_range","time_ns":31}
{"process":2,"type":"invoke","op":{"op":"tick","ms":5},"time_ns":40}
{"process":2,"type":"info","time_ns":41}
{"process":3,"type":"invoke","op":{"op":"tick","ms":5},"time_ns":50}
"#;

    #[test]
    fn pairs_invokes_with_completions_and_round_trips() {
        // Goal: the documented example parses into paired ops with the right outcomes, and
        // writing it back and parsing again gives the same ops.
        let history = parse(GOOD).unwrap();
        assert_eq!(history.ops.len(), 4);
        assert!(matches!(
            history.ops[0].outcome,
            Outcome::Ok(Reply::Produced { base_offset: 0, .. })
        ));
        assert_eq!(
            history.ops[1].outcome,
            Outcome::Fail(ErrorCode::OffsetOutOfRange)
        );
        assert_eq!(history.ops[2].outcome, Outcome::Info);
        assert_eq!(history.ops[2].complete_ns, Some(41));
        assert_eq!(history.ops[3].outcome, Outcome::Info);
        assert_eq!(history.ops[3].complete_ns, None);
        assert_eq!(history.ops[3].effect_deadline_ns(), u64::MAX);
        assert_eq!(history.ops[1].line, 2);

        let mut out = Vec::new();
        history.write_jsonl(&mut out).unwrap();
        let again = parse(std::str::from_utf8(&out).unwrap()).unwrap();
        let strip = |h: &History| {
            h.ops
                .iter()
                .map(|o| (o.process, o.op.clone(), o.outcome.clone(), o.invoke_ns))
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(&again), strip(&history));
    }

    #[test]
    fn every_malformed_line_is_named_with_its_line() {
        // Goal: each kind of bad input gives a typed error on the right line, never a panic.
        let invoke = r#"{"process":0,"type":"invoke","op":{"op":"tick","ms":1},"time_ns":5}"#;
        let cases: Vec<(String, usize, &str)> = vec![
            ("not json".into(), 1, "malformed JSON"),
            ("[1,2]".into(), 1, "JSON object"),
            (r#"{"type":"invoke","time_ns":1}"#.into(), 1, "`process`"),
            (
                r#"{"process":0,"type":"invoke","op":{"op":"explode"},"time_ns":1}"#.into(),
                1,
                "explode",
            ),
            (
                r#"{"process":0,"type":"begin","time_ns":1}"#.into(),
                1,
                "`type`",
            ),
            (
                r#"{"process":-1,"type":"ok","time_ns":1}"#.into(),
                1,
                "`process`",
            ),
            (
                format!(
                    "{invoke}\n{}",
                    r#"{"process":0,"type":"fail","error":"boom","time_ns":6}"#
                ),
                2,
                "`boom`",
            ),
            (
                format!("{invoke}\n{}", r#"{"process":0,"type":"ok","time_ns":6}"#),
                2,
                "`result`",
            ),
            (
                r#"{"process":4,"type":"ok","result":{"reply":"ack"},"time_ns":6}"#.into(),
                1,
                "no invoke waiting",
            ),
            (format!("{invoke}\n{invoke}"), 2, "invokes again"),
            (
                format!(
                    "{invoke}\n{}",
                    r#"{"process":1,"type":"invoke","op":{"op":"tick","ms":1},"time_ns":4}"#
                ),
                2,
                "before the previous",
            ),
            (
                format!(
                    "{invoke}\n{}\n{}",
                    r#"{"process":0,"type":"info","time_ns":6}"#,
                    r#"{"process":0,"type":"invoke","op":{"op":"tick","ms":1},"time_ns":7}"#
                ),
                3,
                "after its `info`",
            ),
            (
                r#"{"process":0,"type":"invoke","op":{"op":"tick","ms":1,"msec":1},"time_ns":1}"#
                    .into(),
                1,
                "bad field `op`: unknown field \"msec\"",
            ),
            (
                format!(
                    "{invoke}\n{}",
                    r#"{"process":0,"type":"ok","result":{"reply":"ack","extra":1},"time_ns":6}"#
                ),
                2,
                "bad field `result`: unknown field \"extra\"",
            ),
            (
                r#"{"process":0,"type":"invoke","op":{"op":"tick","ms":1},"time_ns":1,"tme":2}"#
                    .into(),
                1,
                "unknown key \"tme\"",
            ),
        ];
        for (text, line, needle) in cases {
            let error = parse(&text).expect_err(&text);
            assert_eq!(error.line, line, "{text}: {error}");
            let message = error.to_string();
            assert!(
                message.starts_with(&format!("h.jsonl:{line}: ")),
                "{message}"
            );
            assert!(message.contains(needle), "{message} lacks {needle}");
        }
    }

    #[test]
    fn recorder_times_respect_real_time_order() {
        // Goal: in a recorded history every process's ops are sequential and every time is
        // distinct. Method: record 4 workers of ticks against a counter target.
        struct Counter(Mutex<u64>);
        impl ConcurrentTarget for Counter {
            fn name(&self) -> String {
                "counter".into()
            }
            fn apply(&self, _: &Op) -> Ret {
                *self.0.lock().unwrap() += 1;
                Ok(Reply::Ack)
            }
        }
        struct Ticks(u32);
        impl Worker for Ticks {
            fn next_op(&mut self) -> Option<Op> {
                self.0 = self.0.checked_sub(1)?;
                Some(Op::Tick { ms: 1 })
            }
            fn observe(&mut self, _: &Op, ret: &Ret) {
                assert_eq!(*ret, Ok(Reply::Ack));
            }
        }
        let target = Counter(Mutex::new(0));
        let workers: Vec<Box<dyn Worker>> = (0..4).map(|_| Box::new(Ticks(50)) as _).collect();
        let history = record(&target, &[Op::Tick { ms: 0 }], workers, None);
        assert_eq!(history.ops.len(), 201);
        assert_eq!(*target.0.lock().unwrap(), 201);
        let mut times: Vec<u64> = history
            .ops
            .iter()
            .flat_map(|o| [o.invoke_ns, o.complete_ns.unwrap()])
            .collect();
        let count = times.len();
        times.sort();
        times.dedup();
        assert_eq!(times.len(), count, "times are distinct");
        for process in 1..=4 {
            let mine: Vec<&Operation> = history
                .ops
                .iter()
                .filter(|o| o.process == process)
                .collect();
            assert_eq!(mine.len(), 50);
            for pair in mine.windows(2) {
                assert!(pair[0].complete_ns.unwrap() < pair[1].invoke_ns);
            }
        }
        assert!(history.ops[0].process == 0 && history.ops[0].id == 0);
    }
}
