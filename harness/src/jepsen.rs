//! Jepsen's Kafka workload histories (`history.edn`), read and turned into our history events
//! (docs/history-format.md), so the same anomaly checks judge them.
//!
//! **EDN.** [`parse_edn`] reads the subset Jepsen writes: maps `{}`, vectors `[]`, lists `()`,
//! sets `#{}`, keywords `:send`, strings, integers, floats, `nil`, `true`/`false`, symbols,
//! tagged values `#jepsen.history.Op{...}` (the tag is dropped), `;` comments and commas as
//! whitespace. Bad input is an [`EdnError`] with its byte position, never a panic; nesting
//! deeper than [`EDN_DEPTH_MAX`] is refused.
//!
//! **Ops.** A Jepsen Kafka op is a map with `:process`, `:type` (`:invoke`, `:ok`, `:fail`,
//! `:info`), `:f` (`:send`, `:poll`, `:txn`, `:assign`, `:subscribe`, ...), `:value` (a vector
//! of micro-ops) and `:time` (ns). The micro-ops:
//!
//! | Jepsen | our op | our reply |
//! |---|---|---|
//! | `[:send k v]`, completed `[:send k [offset v]]` | `produce` of value `"v"` to topic `jepsen-k`, partition 0 | `produced` at `offset` |
//! | `[:poll]`, completed `[:poll {k [[offset v] ...] ...}]` | `poll` by group `jepsen`, member `pN` | `polled` with those records (timestamp 0) |
//!
//! Conventions, all stated in the converted ops:
//! - **Keys** are Jepsen's independent logs; each becomes its own topic `jepsen-K` with one
//!   partition, so offsets keep their meaning.
//! - **Generation**: Jepsen does not record one. A process's polls get generation `n`, the
//!   number of `:assign`/`:subscribe` ops it completed before, so the subscribe-mode order
//!   check (one member, one generation) restarts where Jepsen's consumer was reassigned.
//! - **Transactions** (`:txn`, several micro-ops) become consecutive ops of the process: the
//!   first starts at the txn's invoke time, the others at its completion time; all complete at
//!   its completion. Atomicity of the transaction is not checked.
//! - **`:fail`** ops are dropped with their invoke (a failed op changed nothing, so leaving it
//!   out is exact). **`:info`** ops become `info` events on their micro-ops, each on a fresh
//!   process number, as our format requires after an indeterminate op.
//! - Ops whose `:process` is not an integer (the nemesis) and other `:f`s are skipped.
//!
//! The converted history is meant for the anomaly checks (lost writes, duplicates, skipped or
//! repeated polls, ...). It has no `create_topic` or `join_group`, so the linearizability check
//! against the full model does not apply to it. [`read_history`] gives it as a
//! [`History`](crate::history::History), ready for `anomaly::check`; `streamspec verify` does
//! so for `.edn` files and reports linearizability as not checked.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use streamspec_model::{Bytes, Op, PolledRecord, Record, Reply, StoredRecord};

/// Deepest nesting of EDN collections accepted (Jepsen's histories nest about 6 deep).
pub const EDN_DEPTH_MAX: usize = 64;

/// An EDN value.
#[derive(Clone, Debug, PartialEq)]
pub enum Edn {
    /// `nil`.
    Nil,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float (kept as text precision allows).
    Float(f64),
    /// A string.
    Str(String),
    /// A keyword, without its colon: `:send` is `Keyword("send")`.
    Keyword(String),
    /// A symbol.
    Symbol(String),
    /// A vector or a list.
    Vector(Vec<Edn>),
    /// A set.
    Set(Vec<Edn>),
    /// A map, in the order written.
    Map(Vec<(Edn, Edn)>),
}

impl Edn {
    /// The value under keyword `key`, if this is a map that has it.
    pub fn get(&self, key: &str) -> Option<&Edn> {
        match self {
            Edn::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(k, Edn::Keyword(name) if name == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    fn keyword(&self) -> Option<&str> {
        match self {
            Edn::Keyword(name) => Some(name),
            _ => None,
        }
    }

    fn int(&self) -> Option<i64> {
        match self {
            Edn::Int(n) => Some(*n),
            _ => None,
        }
    }
}

/// Why EDN text could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EdnError {
    /// Byte position in the text.
    pub position: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for EdnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte {}: {}", self.position, self.message)
    }
}

impl std::error::Error for EdnError {}

/// Parse every top-level EDN value in `text` (a Jepsen history is a sequence of op maps).
pub fn parse_edn(text: &str) -> Result<Vec<Edn>, EdnError> {
    let mut parser = Parser {
        text: text.as_bytes(),
        position: 0,
    };
    let mut values = Vec::new();
    loop {
        parser.skip_space();
        if parser.position >= parser.text.len() {
            return Ok(values);
        }
        values.push(parser.value(0)?);
    }
}

struct Parser<'a> {
    text: &'a [u8],
    position: usize,
}

impl Parser<'_> {
    fn error<T>(&self, message: impl Into<String>) -> Result<T, EdnError> {
        Err(EdnError {
            position: self.position,
            message: message.into(),
        })
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.position).copied()
    }

    fn skip_space(&mut self) {
        while let Some(byte) = self.peek() {
            if byte.is_ascii_whitespace() || byte == b',' {
                self.position += 1;
            } else if byte == b';' {
                while self.peek().is_some_and(|b| b != b'\n') {
                    self.position += 1;
                }
            } else {
                return;
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Edn, EdnError> {
        if depth > EDN_DEPTH_MAX {
            return self.error(format!("nested deeper than {EDN_DEPTH_MAX}"));
        }
        self.skip_space();
        let Some(byte) = self.peek() else {
            return self.error("unexpected end of input");
        };
        match byte {
            b'{' => {
                self.position += 1;
                let items = self.sequence(b'}', depth)?;
                if items.len() % 2 != 0 {
                    return self.error("a map needs an even number of forms");
                }
                let mut entries = Vec::with_capacity(items.len() / 2);
                let mut items = items.into_iter();
                while let (Some(key), Some(value)) = (items.next(), items.next()) {
                    entries.push((key, value));
                }
                Ok(Edn::Map(entries))
            }
            b'[' => {
                self.position += 1;
                Ok(Edn::Vector(self.sequence(b']', depth)?))
            }
            b'(' => {
                self.position += 1;
                Ok(Edn::Vector(self.sequence(b')', depth)?))
            }
            b'#' => {
                self.position += 1;
                match self.peek() {
                    Some(b'{') => {
                        self.position += 1;
                        Ok(Edn::Set(self.sequence(b'}', depth)?))
                    }
                    Some(b'_') => {
                        // `#_form` discards the next form.
                        self.position += 1;
                        self.value(depth + 1)?;
                        self.value(depth)
                    }
                    _ => {
                        // A tagged value: `#tag form`; the tag is dropped.
                        self.token();
                        self.value(depth + 1)
                    }
                }
            }
            b'"' => self.string(),
            b'}' | b']' | b')' => self.error(format!("unexpected {:?}", byte as char)),
            _ => self.atom(),
        }
    }

    fn sequence(&mut self, close: u8, depth: usize) -> Result<Vec<Edn>, EdnError> {
        let mut items = Vec::new();
        loop {
            self.skip_space();
            match self.peek() {
                None => return self.error(format!("missing {:?}", close as char)),
                Some(byte) if byte == close => {
                    self.position += 1;
                    return Ok(items);
                }
                Some(_) => items.push(self.value(depth + 1)?),
            }
        }
    }

    fn string(&mut self) -> Result<Edn, EdnError> {
        let start = self.position;
        self.position += 1;
        let mut bytes = Vec::new();
        loop {
            let Some(byte) = self.peek() else {
                self.position = start;
                return self.error("unterminated string");
            };
            self.position += 1;
            match byte {
                b'"' => break,
                b'\\' => {
                    let Some(escaped) = self.peek() else {
                        return self.error("unterminated escape");
                    };
                    self.position += 1;
                    bytes.push(match escaped {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'r' => b'\r',
                        other => other,
                    });
                }
                other => bytes.push(other),
            }
        }
        match String::from_utf8(bytes) {
            Ok(text) => Ok(Edn::Str(text)),
            Err(_) => self.error("a string that is not UTF-8"),
        }
    }

    /// The bytes up to the next delimiter.
    fn token(&mut self) -> &str {
        let start = self.position;
        while let Some(byte) = self.peek() {
            if byte.is_ascii_whitespace() || b",;{}[]()\"".contains(&byte) {
                break;
            }
            self.position += 1;
        }
        std::str::from_utf8(&self.text[start..self.position]).unwrap_or("")
    }

    fn atom(&mut self) -> Result<Edn, EdnError> {
        let start = self.position;
        let token = self.token().to_string();
        if token.is_empty() {
            self.position = start;
            return self.error("unexpected character");
        }
        Ok(match token.as_str() {
            "nil" => Edn::Nil,
            "true" => Edn::Bool(true),
            "false" => Edn::Bool(false),
            _ if token.starts_with(':') => Edn::Keyword(token[1..].to_string()),
            _ if token.starts_with(|c: char| c.is_ascii_digit())
                || (token.len() > 1
                    && token.starts_with(['-', '+'])
                    && token[1..].starts_with(|c: char| c.is_ascii_digit())) =>
            {
                let digits = token.trim_end_matches(['N', 'M']);
                if let Ok(n) = digits.parse::<i64>() {
                    Edn::Int(n)
                } else if let Ok(x) = digits.parse::<f64>() {
                    Edn::Float(x)
                } else {
                    self.position = start;
                    return self.error(format!("bad number {token:?}"));
                }
            }
            _ => Edn::Symbol(token),
        })
    }
}

/// One event of our history format, as the converter makes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvertedEvent {
    /// Our process number.
    pub process: u64,
    /// `invoke`, `ok` or `info`.
    pub kind: &'static str,
    /// The op (on invokes).
    pub op: Option<Op>,
    /// The reply (on `ok`).
    pub result: Option<Reply>,
    /// Free text (on `info`).
    pub error: Option<String>,
    /// Time, ns.
    pub time_ns: u64,
}

impl ConvertedEvent {
    /// One JSON line of docs/history-format.md.
    pub fn json_line(&self) -> String {
        let mut line = serde_json::Map::new();
        line.insert("process".into(), self.process.into());
        line.insert("type".into(), self.kind.into());
        if let Some(op) = &self.op {
            line.insert("op".into(), serde_json::to_value(op).unwrap_or_default());
        }
        if let Some(result) = &self.result {
            line.insert(
                "result".into(),
                serde_json::to_value(result).unwrap_or_default(),
            );
        }
        if let Some(error) = &self.error {
            line.insert("error".into(), error.clone().into());
        }
        line.insert("time_ns".into(), self.time_ns.into());
        serde_json::Value::Object(line).to_string()
    }
}

/// What is wrong with a Jepsen op.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvertError {
    /// Which op (0-based, in file order).
    pub op_index: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Jepsen op {}: {}", self.op_index, self.message)
    }
}

impl std::error::Error for ConvertError {}

/// The topic a Jepsen key becomes.
pub fn key_topic(key: i64) -> String {
    format!("jepsen-{key}")
}

fn value_bytes(value: &Edn) -> Option<Bytes> {
    match value {
        Edn::Nil => None,
        Edn::Int(n) => Some(Bytes::from(n.to_string().as_str())),
        Edn::Str(text) => Some(Bytes::from(text.as_str())),
        Edn::Keyword(name) => Some(Bytes::from(name.as_str())),
        other => Some(Bytes::from(format!("{other:?}").as_str())),
    }
}

/// A micro-op as our op, given the invoking process's poll generation.
fn micro_op(micro: &Edn, process: i64, generation: i32) -> Result<Op, String> {
    let Edn::Vector(parts) = micro else {
        return Err(format!("a micro-op must be a vector: {micro:?}"));
    };
    match parts.first().and_then(Edn::keyword) {
        Some("send") => {
            let key = parts
                .get(1)
                .and_then(Edn::int)
                .ok_or("a send needs an integer key")?;
            let value = match parts.get(2) {
                // A completed send: [offset value].
                Some(Edn::Vector(pair)) if pair.len() == 2 => &pair[1],
                Some(value) => value,
                None => return Err("a send needs a value".into()),
            };
            Ok(Op::Produce {
                topic: key_topic(key),
                partition: Some(0),
                records: vec![Record {
                    value: value_bytes(value),
                    ..Record::default()
                }],
                producer: None,
            })
        }
        Some("poll") => Ok(Op::Poll {
            group: "jepsen".into(),
            member: format!("p{process}"),
            generation,
            max_records: streamspec_model::config::FETCH_RECORDS_MAX,
        }),
        other => Err(format!("unknown micro-op {other:?}")),
    }
}

/// A completed micro-op's reply.
fn micro_reply(micro: &Edn) -> Result<Reply, String> {
    let Edn::Vector(parts) = micro else {
        return Err(format!("a micro-op must be a vector: {micro:?}"));
    };
    match parts.first().and_then(Edn::keyword) {
        Some("send") => match parts.get(2) {
            Some(Edn::Vector(pair)) if pair.len() == 2 => Ok(Reply::Produced {
                partition: 0,
                base_offset: pair[0].int().ok_or("a send's offset must be an integer")?,
                log_append_time_ms: None,
            }),
            _ => Err("a completed send has no [offset value]".into()),
        },
        Some("poll") => {
            let mut records = Vec::new();
            if let Some(Edn::Map(by_key)) = parts.get(1) {
                for (key, pairs) in by_key {
                    let key = key.int().ok_or("a poll's keys must be integers")?;
                    let Edn::Vector(pairs) = pairs else {
                        return Err("a poll's reads must be a vector of [offset value]".into());
                    };
                    for pair in pairs {
                        let Edn::Vector(pair) = pair else {
                            return Err("a poll read must be [offset value]".into());
                        };
                        let [offset, value] = pair.as_slice() else {
                            return Err("a poll read must be [offset value]".into());
                        };
                        records.push(PolledRecord {
                            topic: key_topic(key),
                            partition: 0,
                            record: StoredRecord {
                                offset: offset.int().ok_or("a poll's offset must be an integer")?,
                                timestamp_ms: 0,
                                key: None,
                                value: value_bytes(value),
                                headers: vec![],
                            },
                        });
                    }
                }
            }
            Ok(Reply::Polled { records })
        }
        other => Err(format!("unknown micro-op {other:?}")),
    }
}

/// Convert a Jepsen Kafka history to our history events (see the module docs).
pub fn convert(ops: &[Edn]) -> Result<Vec<ConvertedEvent>, ConvertError> {
    // Pair each invoke with its completion by process, in file order.
    let mut pending: HashMap<i64, usize> = HashMap::new();
    let mut pairs: Vec<(usize, Option<usize>)> = Vec::new();
    for (index, op) in ops.iter().enumerate() {
        let Some(process) = op.get("process").and_then(Edn::int) else {
            continue;
        };
        match op.get("type").and_then(Edn::keyword) {
            Some("invoke") => {
                pending.insert(process, pairs.len());
                pairs.push((index, None));
            }
            Some(_) => {
                if let Some(pair) = pending.remove(&process) {
                    pairs[pair].1 = Some(index);
                }
            }
            None => {
                return Err(ConvertError {
                    op_index: index,
                    message: "an op without :type".into(),
                })
            }
        }
    }
    let first_free = ops
        .iter()
        .filter_map(|op| op.get("process").and_then(Edn::int))
        .max()
        .unwrap_or(-1)
        + 1;
    let mut fresh_process = first_free.max(0) as u64;
    let mut generations: BTreeMap<i64, i32> = BTreeMap::new();
    // (time, sequence) keeps a process's micro-ops in order among equal times.
    let mut events: Vec<(u64, usize, ConvertedEvent)> = Vec::new();
    for (invoke_index, completion_index) in pairs {
        let invoke = &ops[invoke_index];
        let fail = |message: String| ConvertError {
            op_index: invoke_index,
            message,
        };
        let process = invoke.get("process").and_then(Edn::int).unwrap_or(0);
        let f = invoke.get("f").and_then(Edn::keyword).unwrap_or("");
        let completion = completion_index.map(|i| &ops[i]);
        let kind = completion
            .and_then(|c| c.get("type"))
            .and_then(Edn::keyword)
            .unwrap_or("info");
        if matches!(f, "assign" | "subscribe") {
            if kind == "ok" {
                *generations.entry(process).or_insert(0) += 1;
            }
            continue;
        }
        if !matches!(f, "send" | "poll" | "txn") || kind == "fail" {
            continue;
        }
        let generation = generations.get(&process).copied().unwrap_or(0);
        let invoke_ns = invoke.get("time").and_then(Edn::int).unwrap_or(0).max(0) as u64;
        let complete_ns = completion
            .and_then(|c| c.get("time"))
            .and_then(Edn::int)
            .map_or(invoke_ns, |t| (t.max(0) as u64).max(invoke_ns));
        let Some(Edn::Vector(invoked)) = invoke.get("value") else {
            return Err(fail(
                "an invoke's :value must be a vector of micro-ops".into(),
            ));
        };
        let completed = match completion.and_then(|c| c.get("value")) {
            Some(Edn::Vector(done)) if kind == "ok" => Some(done),
            _ => None,
        };
        for (position, micro) in invoked.iter().enumerate() {
            let op = micro_op(micro, process, generation).map_err(fail)?;
            let (our_process, start_ns) = if kind == "ok" {
                (
                    process as u64,
                    if position == 0 {
                        invoke_ns
                    } else {
                        complete_ns
                    },
                )
            } else {
                fresh_process += 1;
                (fresh_process - 1, invoke_ns)
            };
            let sequence = events.len();
            events.push((
                start_ns,
                sequence,
                ConvertedEvent {
                    process: our_process,
                    kind: "invoke",
                    op: Some(op),
                    result: None,
                    error: None,
                    time_ns: start_ns,
                },
            ));
            let completion_event = match completed {
                Some(done) => {
                    let reply_micro = done
                        .get(position)
                        .ok_or_else(|| fail(format!("the completion lacks micro-op {position}")))?;
                    ConvertedEvent {
                        process: our_process,
                        kind: "ok",
                        op: None,
                        result: Some(micro_reply(reply_micro).map_err(fail)?),
                        error: None,
                        time_ns: complete_ns,
                    }
                }
                None => ConvertedEvent {
                    process: our_process,
                    kind: "info",
                    op: None,
                    result: None,
                    error: Some(format!("Jepsen :{kind}")),
                    time_ns: complete_ns,
                },
            };
            let sequence = events.len();
            events.push((complete_ns, sequence, completion_event));
        }
    }
    events.sort_by_key(|(time, sequence, _)| (*time, *sequence));
    Ok(events.into_iter().map(|(_, _, event)| event).collect())
}

/// Why a Jepsen history could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JepsenError {
    /// The file could not be read.
    Io(String),
    /// It is not EDN.
    Edn(EdnError),
    /// An op does not fit the Kafka workload's shape.
    Convert(ConvertError),
    /// The converted events do not form a history (a bug of the converter, reported rather
    /// than hidden).
    History(crate::history::HistoryError),
}

impl fmt::Display for JepsenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JepsenError::Io(message) => write!(f, "cannot read: {message}"),
            JepsenError::Edn(error) => write!(f, "not EDN: {error}"),
            JepsenError::Convert(error) => write!(f, "{error}"),
            JepsenError::History(error) => write!(f, "converted history: {error}"),
        }
    }
}

impl std::error::Error for JepsenError {}

/// A Jepsen Kafka history's text as our [`History`](crate::history::History); `path` only
/// names it in errors.
pub fn parse_history(
    path: &std::path::Path,
    text: &str,
) -> Result<crate::history::History, JepsenError> {
    let ops = parse_edn(text).map_err(JepsenError::Edn)?;
    let events = convert(&ops).map_err(JepsenError::Convert)?;
    let lines: Vec<String> = events.iter().map(ConvertedEvent::json_line).collect();
    crate::history::History::parse(path, &lines.join("\n")).map_err(JepsenError::History)
}

/// Read a Jepsen Kafka `history.edn` as our history.
pub fn read_history(path: &std::path::Path) -> Result<crate::history::History, JepsenError> {
    let text = std::fs::read_to_string(path).map_err(|e| JepsenError::Io(e.to_string()))?;
    parse_history(path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: the anomaly checker names what is wrong in a converted Jepsen history, with the
    /// same names as in ours. Method: a send acknowledged at offset 0 that a later poll of the
    /// key skips (it reads offset 1 only), and a clean variant.
    #[test]
    fn anomalies_in_jepsen_histories_get_our_names() {
        let history = |second_poll: &str| {
            format!(
                r#"{{:type :invoke, :f :send, :value [[:send 1 10]], :time 1, :process 0}}
                   {{:type :ok, :f :send, :value [[:send 1 [0 10]]], :time 2, :process 0}}
                   {{:type :invoke, :f :send, :value [[:send 1 11]], :time 3, :process 0}}
                   {{:type :ok, :f :send, :value [[:send 1 [1 11]]], :time 4, :process 0}}
                   {{:type :invoke, :f :poll, :value [[:poll]], :time 5, :process 1}}
                   {{:type :ok, :f :poll, :value [[:poll {{1 {second_poll}}}]], :time 6, :process 1}}"#
            )
        };
        let path = std::path::Path::new("history.edn");
        let clean = parse_history(path, &history("[[0 10] [1 11]]")).unwrap();
        let report = crate::anomaly::check(&clean, &crate::anomaly::Options { drained: true });
        assert!(report.is_clean(), "{:?}", report.anomalies);
        let skipped = parse_history(path, &history("[[1 11]]")).unwrap();
        let report = crate::anomaly::check(&skipped, &crate::anomaly::Options { drained: true });
        let names: Vec<&str> = report.anomalies.iter().map(|a| a.name).collect();
        assert!(names.contains(&crate::anomaly::LOST_WRITE), "{names:?}");
    }

    /// Goal: the EDN Jepsen writes parses, including tags, sets, comments and commas.
    #[test]
    fn edn_reads_what_jepsen_writes() {
        let values = parse_edn(
            r#"; a history
            #jepsen.history.Op{:index 0, :time 5, :type :invoke, :process 0, :f :send, :value [[:send 3 "x"]]}
            {:a #{1 2} :b (nil true -4 2.5 sym) :c "q\"uote"}"#,
        )
        .unwrap();
        assert_eq!(values.len(), 2);
        assert_eq!(values[0].get("f"), Some(&Edn::Keyword("send".into())));
        assert_eq!(values[0].get("time"), Some(&Edn::Int(5)));
        assert_eq!(
            values[1].get("a"),
            Some(&Edn::Set(vec![Edn::Int(1), Edn::Int(2)]))
        );
        assert_eq!(
            values[1].get("b"),
            Some(&Edn::Vector(vec![
                Edn::Nil,
                Edn::Bool(true),
                Edn::Int(-4),
                Edn::Float(2.5),
                Edn::Symbol("sym".into())
            ]))
        );
        assert_eq!(values[1].get("c"), Some(&Edn::Str("q\"uote".into())));
    }

    /// Goal: broken EDN is a typed error with a position, never a panic.
    #[test]
    fn broken_edn_is_an_error_not_a_panic() {
        for text in [
            "{:a",
            "[1 2",
            "\"open",
            "{:a 1 :b}",
            "]",
            "#",
            "1x2y",
            "((((",
        ] {
            let result = parse_edn(text);
            assert!(result.is_err(), "{text:?} parsed as {result:?}");
        }
        let deep = "[".repeat(EDN_DEPTH_MAX + 2);
        assert!(parse_edn(&deep).is_err());
    }

    fn history(text: &str) -> Vec<ConvertedEvent> {
        convert(&parse_edn(text).unwrap()).unwrap()
    }

    /// Goal: sends and polls become produce and poll ops with their offsets and values.
    #[test]
    fn sends_and_polls_become_produces_and_polls() {
        let events = history(
            r#"{:type :invoke, :f :send, :value [[:send 3 5]], :time 10, :process 0}
               {:type :ok, :f :send, :value [[:send 3 [0 5]]], :time 20, :process 0}
               {:type :invoke, :f :subscribe, :value [3], :time 21, :process 1}
               {:type :ok, :f :subscribe, :value [3], :time 22, :process 1}
               {:type :invoke, :f :poll, :value [[:poll]], :time 30, :process 1}
               {:type :ok, :f :poll, :value [[:poll {3 [[0 5]]}]], :time 40, :process 1}"#,
        );
        assert_eq!(events.len(), 4);
        assert_eq!(
            events[0].json_line(),
            r#"{"op":{"op":"produce","partition":0,"records":[{"key":null,"value":"5"}],"topic":"jepsen-3"},"process":0,"time_ns":10,"type":"invoke"}"#
        );
        assert_eq!(
            events[1].result,
            Some(Reply::Produced {
                partition: 0,
                base_offset: 0,
                log_append_time_ms: None
            })
        );
        let Some(Op::Poll {
            generation, member, ..
        }) = &events[2].op
        else {
            panic!("not a poll: {:?}", events[2]);
        };
        assert_eq!((*generation, member.as_str()), (1, "p1"));
        let Some(Reply::Polled { records }) = &events[3].result else {
            panic!("not polled: {:?}", events[3]);
        };
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].topic, "jepsen-3");
        assert_eq!(records[0].record.value, Some("5".into()));
    }

    /// Goal: a txn becomes consecutive ops of its process; :fail is dropped; :info ends each
    /// micro-op on a fresh process. Times never decrease.
    #[test]
    fn txns_split_fails_drop_and_infos_get_fresh_processes() {
        let events = history(
            r#"{:type :invoke, :f :txn, :value [[:send 1 7] [:poll]], :time 10, :process 0}
               {:type :ok, :f :txn, :value [[:send 1 [4 7]] [:poll {1 [[4 7]]}]], :time 50, :process 0}
               {:type :invoke, :f :send, :value [[:send 1 8]], :time 60, :process 2}
               {:type :fail, :f :send, :value [[:send 1 8]], :time 70, :process 2}
               {:type :invoke, :f :txn, :value [[:send 1 9] [:send 2 9]], :time 80, :process 4}
               {:type :info, :f :txn, :value [[:send 1 9] [:send 2 9]], :time 90, :process 4}
               {:type :invoke, :f :start, :value nil, :time 95, :process :nemesis}"#,
        );
        let kinds: Vec<(&str, u64)> = events.iter().map(|e| (e.kind, e.process)).collect();
        assert_eq!(
            kinds,
            [
                ("invoke", 0),
                ("ok", 0),
                ("invoke", 0),
                ("ok", 0),
                ("invoke", 5),
                ("invoke", 6),
                ("info", 5),
                ("info", 6)
            ]
        );
        assert!(events.windows(2).all(|w| w[0].time_ns <= w[1].time_ns));
        assert!(!events
            .iter()
            .any(|e| e.op.as_ref().is_some_and(|op| matches!(
                op,
                Op::Produce { records, .. } if records[0].value == Some("8".into())
            ))));
    }

    /// Goal: a completion that does not fit its invoke is an error naming the op.
    #[test]
    fn malformed_ops_are_errors_naming_the_op() {
        let ops = parse_edn(
            r#"{:type :invoke, :f :send, :value [[:send 1 7]], :time 1, :process 0}
               {:type :ok, :f :send, :value [[:send 1 7]], :time 2, :process 0}"#,
        )
        .unwrap();
        let error = convert(&ops).unwrap_err();
        assert_eq!(error.op_index, 0);
        assert!(error.message.contains("[offset value]"), "{error}");
        let ops = parse_edn(r#"{:type :invoke, :f :send, :value 3, :time 1, :process 0}"#).unwrap();
        assert!(convert(&ops).is_err());
    }
}
