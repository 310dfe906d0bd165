//! Recording what the broker did, as a history in the documented format
//! (`docs/history-format.md`): JSON Lines of `{"process", "type", "op", "result" | "error",
//! "time_ns"}`, so `streamspec verify` (and any other history checker) can read it.
//!
//! [`Recorder`] is shared by the workload's threads. Each event takes its time from one
//! monotonic clock *under the recorder's lock*, so the file order and the times agree (the
//! format requires times never to decrease). An invoke is recorded just before the request
//! is sent and its completion just after the answer arrived.
//!
//! Group-mode consumers (librdkafka's own group protocol) observe things the model's ops
//! cannot express (an assignment handed out by a rebalance, a record delivered by a poll
//! whose generation librdkafka keeps to itself), so they are recorded beside the history as
//! [`GroupEvent`]s, on the same clock.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde_json::{json, Value};
use streamspec_model::{Op, Reply, TopicPartition};

use crate::broker::Outcome;

/// What kind of event a history line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    /// The process asks for the op.
    Invoke,
    /// It happened, with this reply.
    Ok,
    /// It was refused and changed nothing.
    Fail,
    /// Nobody knows whether it happened.
    Info,
}

impl EventType {
    fn name(self) -> &'static str {
        match self {
            EventType::Invoke => "invoke",
            EventType::Ok => "ok",
            EventType::Fail => "fail",
            EventType::Info => "info",
        }
    }
}

/// One history line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The client that runs the op (one op at a time).
    pub process: u64,
    /// Invoke or completion.
    pub kind: EventType,
    /// The op (on invokes).
    pub op: Option<Op>,
    /// The reply (on `ok`).
    pub result: Option<Reply>,
    /// The error name (on `fail`) or free text (on `info`).
    pub error: Option<String>,
    /// Nanoseconds since the recorder started.
    pub time_ns: u64,
}

impl Event {
    /// The event as one JSON line (without the newline).
    pub fn json_line(&self) -> String {
        let mut line = serde_json::Map::new();
        line.insert("process".into(), json!(self.process));
        line.insert("type".into(), json!(self.kind.name()));
        if let Some(op) = &self.op {
            line.insert("op".into(), to_value(op));
        }
        if let Some(result) = &self.result {
            line.insert("result".into(), to_value(result));
        }
        if let Some(error) = &self.error {
            line.insert("error".into(), json!(error));
        }
        line.insert("time_ns".into(), json!(self.time_ns));
        Value::Object(line).to_string()
    }
}

fn to_value<T: serde::Serialize>(value: &T) -> Value {
    // The model's vocabulary serializes to plain JSON objects; this cannot fail.
    serde_json::to_value(value).unwrap_or_else(|e| json!(format!("<unserializable: {e}>")))
}

/// What a group-mode consumer observed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupObservation {
    /// librdkafka handed the member these partitions (a rebalance's assignment).
    Assigned(Vec<TopicPartition>),
    /// librdkafka took these partitions away (before a rebalance).
    Revoked(Vec<TopicPartition>),
    /// A poll delivered the record at `offset` with this value.
    Record {
        /// Where.
        partition: TopicPartition,
        /// Its offset.
        offset: i64,
        /// Its value (workload values are unique UTF-8 strings).
        value: Option<String>,
    },
    /// A poll returned an error instead of a record.
    PollError(String),
    /// After the run, the group's committed offset for `partition` read back (OffsetFetch).
    /// Kept out of the history: the commits it reflects were made by librdkafka's group
    /// protocol, which the history's model ops do not contain.
    CommittedRead {
        /// Where.
        partition: TopicPartition,
        /// The committed next offset, `None` when nothing is committed.
        offset: Option<i64>,
    },
    /// The member committed `offset` (the next to read) for `partition`; `error` names a
    /// refusal (or a client failure) when it was not acknowledged.
    Commit {
        /// Where.
        partition: TopicPartition,
        /// The committed next offset.
        offset: i64,
        /// When the commit was sent (ns on the recorder's clock).
        invoke_ns: u64,
        /// `None` when the broker acknowledged it.
        error: Option<String>,
    },
}

/// A group-mode observation with who and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupEvent {
    /// The group's id as the model names it.
    pub group: String,
    /// The member's name in the workload (librdkafka's `client.id`).
    pub member: String,
    /// What happened.
    pub observation: GroupObservation,
    /// When (ns on the recorder's clock).
    pub time_ns: u64,
}

impl GroupEvent {
    /// The event as one JSON line.
    pub fn json_line(&self) -> String {
        let observed = match &self.observation {
            GroupObservation::Assigned(partitions) => {
                json!({"type": "assigned", "partitions": to_value(partitions)})
            }
            GroupObservation::Revoked(partitions) => {
                json!({"type": "revoked", "partitions": to_value(partitions)})
            }
            GroupObservation::Record {
                partition,
                offset,
                value,
            } => json!({"type": "record", "topic": partition.topic,
                "partition": partition.partition, "offset": offset, "value": value}),
            GroupObservation::PollError(error) => json!({"type": "poll_error", "error": error}),
            GroupObservation::CommittedRead { partition, offset } => json!({"type": "committed",
                "topic": partition.topic, "partition": partition.partition, "offset": offset}),
            GroupObservation::Commit {
                partition,
                offset,
                invoke_ns,
                error,
            } => json!({"type": "commit", "topic": partition.topic,
                "partition": partition.partition, "offset": offset, "invoke_ns": invoke_ns,
                "error": error}),
        };
        let mut line = json!({"group": self.group, "member": self.member, "time_ns": self.time_ns});
        if let (Value::Object(line), Value::Object(observed)) = (&mut line, observed) {
            line.extend(observed);
        }
        line.to_string()
    }
}

#[derive(Default)]
struct Recorded {
    events: Vec<Event>,
    group_events: Vec<GroupEvent>,
}

/// Records events from many threads on one clock.
pub struct Recorder {
    started: Instant,
    recorded: Mutex<Recorded>,
    next_process: AtomicU64,
}

impl Default for Recorder {
    fn default() -> Recorder {
        Recorder::new()
    }
}

impl Recorder {
    /// An empty recorder whose clock starts now.
    pub fn new() -> Recorder {
        Recorder {
            started: Instant::now(),
            recorded: Mutex::new(Recorded::default()),
            next_process: AtomicU64::new(0),
        }
    }

    /// A process number no one has used.
    pub fn fresh_process(&self) -> u64 {
        self.next_process.fetch_add(1, Ordering::SeqCst)
    }

    /// The recorder's clock now, in ns.
    pub fn now_ns(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }

    fn push(&self, mut event: Event) {
        // A poisoned lock only means another recording thread panicked; its events so far
        // are still a valid prefix.
        let mut recorded = self.recorded.lock().unwrap_or_else(|p| p.into_inner());
        event.time_ns = self.now_ns();
        recorded.events.push(event);
    }

    /// Record a group-mode observation now.
    pub fn push_group(&self, group: &str, member: &str, observation: GroupObservation) {
        let mut recorded = self.recorded.lock().unwrap_or_else(|p| p.into_inner());
        let time_ns = self.now_ns();
        recorded.group_events.push(GroupEvent {
            group: group.to_string(),
            member: member.to_string(),
            observation,
            time_ns,
        });
    }

    /// Run `execute` as process `process`'s op, recording the invoke and the completion.
    /// Returns the outcome; after an indeterminate one (`info`) the caller must use a fresh
    /// process number, as the history format requires.
    pub fn run(&self, process: u64, op: &Op, execute: impl FnOnce(&Op) -> Outcome) -> Outcome {
        self.push(Event {
            process,
            kind: EventType::Invoke,
            op: Some(op.clone()),
            result: None,
            error: None,
            time_ns: 0,
        });
        let outcome = execute(op);
        let (kind, result, error) = match &outcome {
            Ok(Ok(reply)) => (EventType::Ok, Some(reply.clone()), None),
            Ok(Err(code)) => (EventType::Fail, None, Some(code.name().to_string())),
            Err(adapter) => (EventType::Info, None, Some(adapter.to_string())),
        };
        self.push(Event {
            process,
            kind,
            op: None,
            result,
            error,
            time_ns: 0,
        });
        outcome
    }

    /// Everything recorded so far: the history's events and the group observations.
    pub fn take(&self) -> (Vec<Event>, Vec<GroupEvent>) {
        let mut recorded = self.recorded.lock().unwrap_or_else(|p| p.into_inner());
        let recorded = std::mem::take(&mut *recorded);
        (recorded.events, recorded.group_events)
    }
}

/// Write events as JSON Lines.
pub fn write_events(out: &mut impl Write, events: &[Event]) -> io::Result<()> {
    for event in events {
        writeln!(out, "{}", event.json_line())?;
    }
    Ok(())
}

/// Write group observations as JSON Lines.
pub fn write_group_events(out: &mut impl Write, events: &[GroupEvent]) -> io::Result<()> {
    for event in events {
        writeln!(out, "{}", event.json_line())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use streamspec_model::ErrorCode;

    /// Goal: events come out in the documented line shapes, times never decrease, and an
    /// adapter error becomes `info` (never a made-up error name).
    #[test]
    fn recorder_writes_the_documented_lines() {
        let recorder = Recorder::new();
        let op = Op::Tick { ms: 1 };
        let _ = recorder.run(0, &op, |_| Ok(Ok(Reply::Ack)));
        let _ = recorder.run(1, &op, |_| Ok(Err(ErrorCode::InvalidRequest)));
        let _ = recorder.run(2, &op, |_| {
            Err(crate::AdapterError::timeout("Produce", "no answer"))
        });
        let (events, _) = recorder.take();
        let lines: Vec<serde_json::Value> = events
            .iter()
            .map(|e| serde_json::from_str(&e.json_line()).unwrap())
            .collect();
        assert_eq!(lines.len(), 6);
        assert_eq!(
            lines[0],
            json!({"process": 0, "type": "invoke", "op": {"op": "tick", "ms": 1},
                "time_ns": events[0].time_ns})
        );
        assert_eq!(lines[1]["type"], "ok");
        assert_eq!(lines[1]["result"], json!({"reply": "ack"}));
        assert_eq!(lines[3]["type"], "fail");
        assert_eq!(lines[3]["error"], "invalid_request");
        assert_eq!(lines[5]["type"], "info");
        assert_eq!(lines[5]["error"], "Produce: no answer in time: no answer");
        assert!(events.windows(2).all(|w| w[0].time_ns <= w[1].time_ns));
    }
}
