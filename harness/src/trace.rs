//! The trace format: JSON Lines, one op per line with the result an implementation observed.
//!
//! `docs/trace-format.md` is the specification; this file reads and writes it. A line is
//! `{"op": {...}, "ok": {...}}` or `{"op": {...}, "error": "<error name>"}` with exactly the
//! model's vocabulary ([`Op`], [`Reply`], [`ErrorCode`]); blank lines, `#` lines and
//! `{"comment": "..."}` lines are skipped.
//!
//! Reading never panics: every problem is a [`TraceError`] naming the file, the line and what
//! is wrong. Unknown fields are errors too, so a typo (`"max_record": 10`) cannot silently
//! fall back to a default and make a trace say something other than its author meant.

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;
use streamspec_model::{ErrorCode, Op, Reply, Ret};

use crate::target::Target;

/// One op and the result observed for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// What was asked.
    pub op: Op,
    /// What the implementation answered.
    pub ret: Ret,
}

/// A step and the line of the file it came from (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceLine {
    /// The line number in the file, from 1.
    pub line_number: usize,
    /// The op and its observed result.
    pub step: Step,
}

/// A parsed trace file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// Where it was read from (for reports).
    pub path: PathBuf,
    /// Its steps in file order; comments and blank lines are not kept.
    pub lines: Vec<TraceLine>,
}

/// What is wrong with a trace line (or file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceErrorKind {
    /// The file could not be read.
    Io(String),
    /// The line is not valid JSON.
    MalformedJson(String),
    /// The line is JSON but not an object.
    NotAnObject,
    /// The line has a key other than `op`, `ok`, `error` (or is a comment line with others).
    UnknownKey(String),
    /// The line has no `op`.
    MissingOp,
    /// `op` names no op of the model.
    UnknownOp(String),
    /// `op` names a known op but a field is missing or has the wrong type.
    BadOp(String),
    /// The line has both `ok` and `error`.
    BothOkAndError,
    /// The line has neither `ok` nor `error`.
    NeitherOkNorError,
    /// `ok` is not a reply of the model.
    BadReply(String),
    /// `error` names no error of the model.
    UnknownError(String),
    /// A field inside `op` or `ok` that the vocabulary does not have.
    UnknownField {
        /// `op` or `ok`.
        part: &'static str,
        /// Where, as a JSON path (`records[0].vale`).
        field: String,
    },
    /// A `{"comment": ...}` line whose comment is not a string.
    BadComment,
}

impl fmt::Display for TraceErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceErrorKind::Io(message) => write!(f, "cannot read: {message}"),
            TraceErrorKind::MalformedJson(message) => write!(f, "malformed JSON: {message}"),
            TraceErrorKind::NotAnObject => f.write_str("a trace line must be a JSON object"),
            TraceErrorKind::UnknownKey(key) => write!(
                f,
                "unknown key {key:?} (a line has \"op\" and one of \"ok\"/\"error\")"
            ),
            TraceErrorKind::MissingOp => f.write_str("missing \"op\""),
            TraceErrorKind::UnknownOp(name) => write!(f, "unknown op {name:?}"),
            TraceErrorKind::BadOp(message) => write!(f, "bad field in \"op\": {message}"),
            TraceErrorKind::BothOkAndError => {
                f.write_str("both \"ok\" and \"error\" (exactly one is allowed)")
            }
            TraceErrorKind::NeitherOkNorError => {
                f.write_str("neither \"ok\" nor \"error\" (exactly one is required)")
            }
            TraceErrorKind::BadReply(message) => write!(f, "bad \"ok\" reply: {message}"),
            TraceErrorKind::UnknownError(name) => write!(f, "unknown error name {name}"),
            TraceErrorKind::UnknownField { part, field } => {
                write!(f, "unknown field {field:?} in {part:?}")
            }
            TraceErrorKind::BadComment => f.write_str("\"comment\" must be a string"),
        }
    }
}

/// A problem reading a trace: the file, the line (0 for the whole file) and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceError {
    /// The file.
    pub path: PathBuf,
    /// The 1-based line, or 0 when the problem is the file itself.
    pub line_number: usize,
    /// What is wrong.
    pub kind: TraceErrorKind,
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line_number == 0 {
            write!(f, "{}: {}", self.path.display(), self.kind)
        } else {
            write!(
                f,
                "{}:{}: {}",
                self.path.display(),
                self.line_number,
                self.kind
            )
        }
    }
}

impl std::error::Error for TraceError {}

impl Trace {
    /// Read and parse a trace file.
    pub fn read(path: &Path) -> Result<Trace, TraceError> {
        let text = std::fs::read_to_string(path).map_err(|e| TraceError {
            path: path.to_path_buf(),
            line_number: 0,
            kind: TraceErrorKind::Io(e.to_string()),
        })?;
        Trace::parse(path, &text)
    }

    /// Parse a trace's text; `path` only names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Trace, TraceError> {
        let mut lines = Vec::new();
        // Some editors start UTF-8 files with a byte order mark; it is not part of line 1.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (index, line) in text.lines().enumerate() {
            let line_number = index + 1;
            match parse_line(line) {
                Ok(Some(step)) => lines.push(TraceLine { line_number, step }),
                Ok(None) => {}
                Err(kind) => {
                    return Err(TraceError {
                        path: path.to_path_buf(),
                        line_number,
                        kind,
                    })
                }
            }
        }
        Ok(Trace {
            path: path.to_path_buf(),
            lines,
        })
    }
}

/// Parse one line: `Ok(None)` for a blank or comment line.
pub fn parse_line(line: &str) -> Result<Option<Step>, TraceErrorKind> {
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(None);
    }
    let value: Value =
        serde_json::from_str(trimmed).map_err(|e| TraceErrorKind::MalformedJson(e.to_string()))?;
    let Value::Object(mut object) = value else {
        return Err(TraceErrorKind::NotAnObject);
    };
    if let Some(comment) = object.remove("comment") {
        if !comment.is_string() {
            return Err(TraceErrorKind::BadComment);
        }
        if let Some(key) = object.keys().next() {
            return Err(TraceErrorKind::UnknownKey(key.clone()));
        }
        return Ok(None);
    }
    if let Some(key) = object
        .keys()
        .find(|key| !matches!(key.as_str(), "op" | "ok" | "error"))
    {
        return Err(TraceErrorKind::UnknownKey(key.clone()));
    }
    let op_value = object.remove("op").ok_or(TraceErrorKind::MissingOp)?;
    let op = parse_op(&op_value)?;
    let ret = match (object.remove("ok"), object.remove("error")) {
        (Some(_), Some(_)) => return Err(TraceErrorKind::BothOkAndError),
        (None, None) => return Err(TraceErrorKind::NeitherOkNorError),
        (Some(reply_value), None) => Ok(parse_reply(&reply_value)?),
        (None, Some(error_value)) => Err(parse_error_name(&error_value)?),
    };
    Ok(Some(Step { op, ret }))
}

fn parse_op(value: &Value) -> Result<Op, TraceErrorKind> {
    let name = match value.get("op") {
        Some(Value::String(name)) => name.clone(),
        Some(other) => {
            return Err(TraceErrorKind::BadOp(format!(
                "\"op\" is {other}, not a name"
            )))
        }
        None if value.is_object() => {
            return Err(TraceErrorKind::BadOp(
                "the op object has no \"op\" name".into(),
            ))
        }
        None => {
            return Err(TraceErrorKind::BadOp(format!(
                "{value} is not an op object"
            )))
        }
    };
    let op: Op = serde_json::from_value(value.clone()).map_err(|e| {
        let message = e.to_string();
        if message.starts_with("unknown variant") {
            TraceErrorKind::UnknownOp(name.clone())
        } else {
            TraceErrorKind::BadOp(format!("{name}: {message}"))
        }
    })?;
    let canonical = serde_json::to_value(&op).map_err(|e| TraceErrorKind::BadOp(e.to_string()))?;
    if let Some(field) = unknown_field(value, &canonical, String::new()) {
        return Err(TraceErrorKind::UnknownField { part: "op", field });
    }
    Ok(op)
}

fn parse_reply(value: &Value) -> Result<Reply, TraceErrorKind> {
    let reply: Reply = serde_json::from_value(value.clone())
        .map_err(|e| TraceErrorKind::BadReply(e.to_string()))?;
    let canonical =
        serde_json::to_value(&reply).map_err(|e| TraceErrorKind::BadReply(e.to_string()))?;
    if let Some(field) = unknown_field(value, &canonical, String::new()) {
        return Err(TraceErrorKind::UnknownField { part: "ok", field });
    }
    Ok(reply)
}

fn parse_error_name(value: &Value) -> Result<ErrorCode, TraceErrorKind> {
    match value {
        Value::String(name) => ErrorCode::from_name(name)
            .ok_or_else(|| TraceErrorKind::UnknownError(format!("{name:?}"))),
        other => Err(TraceErrorKind::UnknownError(other.to_string())),
    }
}

/// The first field of `input` that the vocabulary dropped when it parsed it, found by
/// comparing the input with the parsed value written back (`canonical`). Serde ignores
/// unknown fields of tagged enums, so this is how a misspelt field is caught. The history
/// reader (`crate::history`) uses it too, so both formats refuse the same typos.
///
/// Written-back JSON leaves out `None` options and empty lists that have defaults, so an
/// input `null` or `[]` missing from `canonical` is fine; bytes given as `{"base64": ...}`
/// come back as a string when they are UTF-8.
pub(crate) fn unknown_field(input: &Value, canonical: &Value, at: String) -> Option<String> {
    match (input, canonical) {
        (Value::Object(fields), Value::Object(known)) => {
            for (key, value) in fields {
                let path = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                match known.get(key) {
                    Some(known_value) => {
                        if let Some(found) = unknown_field(value, known_value, path) {
                            return Some(found);
                        }
                    }
                    None if value.is_null() => {}
                    None if value.as_array().is_some_and(|items| items.is_empty()) => {}
                    None => return Some(path),
                }
            }
            None
        }
        (Value::Object(fields), Value::String(_)) => {
            // Bytes written as {"base64": ...}: anything else beside it is unknown.
            fields
                .keys()
                .find(|key| key.as_str() != "base64")
                .map(|key| format!("{at}.{key}"))
        }
        (Value::Array(items), Value::Array(known)) => {
            items
                .iter()
                .zip(known)
                .enumerate()
                .find_map(|(index, (item, known_item))| {
                    unknown_field(item, known_item, format!("{at}[{index}]"))
                })
        }
        _ => None,
    }
}

/// A result as the trace writes it: `"ok":{...}` or `"error":"name"` (no braces).
pub fn ret_fragment(ret: &Ret) -> String {
    match ret {
        Ok(reply) => format!("\"ok\":{}", to_json(reply)),
        Err(code) => format!("\"error\":\"{}\"", code.name()),
    }
}

/// A result as a JSON object, for reports: `{"ok":{...}}` or `{"error":"name"}`.
pub fn ret_json(ret: &Ret) -> String {
    format!("{{{}}}", ret_fragment(ret))
}

/// An op as one line of JSON.
pub fn op_json(op: &Op) -> String {
    to_json(op)
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    // The vocabulary serializes to plain JSON objects with string keys; this cannot fail.
    serde_json::to_string(value).unwrap_or_else(|e| format!("\"<unserializable: {e}>\""))
}

/// One step as a trace line (without the newline), `op` first.
pub fn step_line(step: &Step) -> String {
    format!(
        "{{\"op\":{},{}}}",
        op_json(&step.op),
        ret_fragment(&step.ret)
    )
}

/// A comment as a trace line (without the newline); every line a writer emits is JSON.
pub fn comment_line(comment: &str) -> String {
    format!("{{\"comment\":{}}}", to_json(&comment))
}

/// Write a trace: the comments first, then one line per step.
pub fn write_trace<W: Write>(out: &mut W, comments: &[&str], steps: &[Step]) -> io::Result<()> {
    for comment in comments {
        writeln!(out, "{}", comment_line(comment))?;
    }
    for step in steps {
        writeln!(out, "{}", step_line(step))?;
    }
    Ok(())
}

/// Drive `target` with `ops` in order and record what it answered: a trace of that target.
pub fn record<T: Target + ?Sized>(target: &mut T, ops: impl IntoIterator<Item = Op>) -> Vec<Step> {
    ops.into_iter()
        .map(|op| {
            let ret = target.apply(&op);
            Step { op, ret }
        })
        .collect()
}

/// The trace files named by `paths`: a file is taken as it is; a folder gives every `*.jsonl`
/// file under it, recursively. The result is sorted and without duplicates.
pub fn trace_files(paths: &[PathBuf]) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        let metadata = std::fs::metadata(path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        if metadata.is_dir() {
            collect_jsonl(path, &mut files)?;
        } else {
            files.push(path.clone());
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn collect_jsonl(folder: &Path, files: &mut Vec<PathBuf>) -> io::Result<()> {
    let entries = std::fs::read_dir(folder)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", folder.display())))?;
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            collect_jsonl(&path, files)?;
        } else if path.extension().is_some_and(|ext| ext == "jsonl") {
            files.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(line: &str) -> TraceErrorKind {
        parse_line(line).expect_err(line)
    }

    #[test]
    fn parses_ok_and_error_lines_and_skips_comments() {
        let ok = r#"{"op":{"op":"produce","topic":"orders","partition":0,"records":[{"value":"{order_id: 1, item: 'book'}"}]},"ok":{"reply":"produced","partition":0,"base_offset":0}}"#;
        let step = parse_line(ok).unwrap().unwrap();
        assert_eq!(step.op.name(), "produce");
        assert_eq!(
            step.ret,
            Ok(Reply::Produced {
                partition: 0,
                base_offset: 0,
                log_append_time_ms: None
            })
        );
        let error =
            r#"{"op":{"op":"delete_topic","topic":"x"},"error":"unknown_topic_or_partition"}"#;
        assert_eq!(
            parse_line(error).unwrap().unwrap().ret,
            Err(ErrorCode::UnknownTopicOrPartition)
        );
        assert_eq!(parse_line("").unwrap(), None);
        assert_eq!(parse_line("   ").unwrap(), None);
        assert_eq!(parse_line("# a note").unwrap(), None);
        assert_eq!(parse_line(r#"{"comment":"a note"}"#).unwrap(), None);
    }

    #[test]
    fn written_lines_parse_back_to_the_same_step() {
        let steps = [
            Step {
                op: Op::EnforceRetention,
                ret: Ok(Reply::Retained { advanced: vec![] }),
            },
            Step {
                op: Op::Produce {
                    topic: "t".into(),
                    partition: None,
                    records: vec![streamspec_model::Record {
                        key: Some(streamspec_model::Bytes(vec![0xff, 0])),
                        ..streamspec_model::Record::value("v")
                    }],
                    producer: None,
                },
                ret: Err(ErrorCode::MessageTooLarge),
            },
        ];
        for step in steps {
            let line = step_line(&step);
            assert_eq!(parse_line(&line).unwrap(), Some(step), "{line}");
        }
        assert_eq!(parse_line(&comment_line("why \"this\"")).unwrap(), None);
    }

    #[test]
    fn each_kind_of_bad_line_gets_its_own_error() {
        assert!(matches!(
            kind("{not json"),
            TraceErrorKind::MalformedJson(_)
        ));
        assert_eq!(kind("[1,2]"), TraceErrorKind::NotAnObject);
        assert_eq!(
            kind(r#"{"op":{"op":"explode"},"ok":{"reply":"ack"}}"#),
            TraceErrorKind::UnknownOp("explode".into())
        );
        assert!(matches!(
            kind(r#"{"op":{"op":"fetch","topic":"t"},"ok":{"reply":"ack"}}"#),
            TraceErrorKind::BadOp(m) if m.contains("partition")
        ));
        assert_eq!(
            kind(r#"{"op":{"op":"tick","ms":1},"ok":{"reply":"ack"},"error":"invalid_request"}"#),
            TraceErrorKind::BothOkAndError
        );
        assert_eq!(
            kind(r#"{"op":{"op":"tick","ms":1}}"#),
            TraceErrorKind::NeitherOkNorError
        );
        assert_eq!(
            kind(r#"{"op":{"op":"tick","ms":1},"error":"no_such"}"#),
            TraceErrorKind::UnknownError("\"no_such\"".into())
        );
        assert!(matches!(
            kind(r#"{"op":{"op":"tick","ms":1},"ok":{"reply":"nope"}}"#),
            TraceErrorKind::BadReply(_)
        ));
        assert_eq!(kind(r#"{"ok":{"reply":"ack"}}"#), TraceErrorKind::MissingOp);
        assert_eq!(
            kind(r#"{"op":{"op":"tick","ms":1},"ok":{"reply":"ack"},"extra":1}"#),
            TraceErrorKind::UnknownKey("extra".into())
        );
        assert_eq!(kind(r#"{"comment":7}"#), TraceErrorKind::BadComment);
    }

    #[test]
    fn misspelt_fields_are_unknown_fields_not_defaults() {
        assert_eq!(
            kind(
                r#"{"op":{"op":"fetch","topic":"t","partition":0,"offset":0,"max_record":10},"error":"unknown_topic_or_partition"}"#
            ),
            TraceErrorKind::UnknownField {
                part: "op",
                field: "max_record".into()
            }
        );
        assert_eq!(
            kind(
                r#"{"op":{"op":"produce","topic":"t","records":[{"vale":"x"}]},"error":"unknown_topic_or_partition"}"#
            ),
            TraceErrorKind::UnknownField {
                part: "op",
                field: "records[0].vale".into()
            }
        );
        assert_eq!(
            kind(
                r#"{"op":{"op":"tick","ms":1},"ok":{"reply":"produced","partition":0,"base_offset":0,"offset":3}}"#
            ),
            TraceErrorKind::UnknownField {
                part: "ok",
                field: "offset".into()
            }
        );
        // Defaults written out, nulls, empty lists and base64 bytes are all fine.
        let fine = r#"{"op":{"op":"produce","topic":"t","partition":null,"records":[{"key":{"base64":"/wA="},"value":"v","headers":[],"timestamp_ms":null}],"producer":null},"error":"unknown_topic_or_partition"}"#;
        assert!(parse_line(fine).unwrap().is_some());
    }

    proptest::proptest! {
        /// Goal: no input makes the reader panic. Method: arbitrary text, and valid lines with
        /// one character replaced or the line cut short.
        #[test]
        fn any_text_parses_or_errors_without_panicking(text in ".{0,200}") {
            let _ = parse_line(&text);
        }

        #[test]
        fn damaged_valid_lines_parse_or_error_without_panicking(
            index in 0usize..400,
            replacement in proptest::char::any(),
            cut in proptest::bool::ANY,
        ) {
            let line = r#"{"op":{"op":"produce","topic":"t","partition":null,"records":[{"key":{"base64":"/wA="},"value":"v","headers":[{"key":"h","value":null}],"timestamp_ms":3}],"producer":{"producer_id":0,"producer_epoch":0,"base_sequence":0}},"ok":{"reply":"produced","partition":0,"base_offset":0,"log_append_time_ms":5}}"#;
            proptest::prop_assert!(matches!(parse_line(line), Ok(Some(_))));
            let mut chars: Vec<char> = line.chars().collect();
            let at = index % chars.len();
            if cut {
                chars.truncate(at);
            } else {
                chars[at] = replacement;
            }
            let damaged: String = chars.into_iter().collect();
            let _ = Trace::parse(Path::new("d.jsonl"), &damaged);
        }
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_line_one() {
        let text = "\u{feff}{\"op\":{\"op\":\"tick\",\"ms\":1},\"ok\":{\"reply\":\"ack\"}}\n";
        assert_eq!(
            Trace::parse(Path::new("b.jsonl"), text)
                .unwrap()
                .lines
                .len(),
            1
        );
    }

    #[test]
    fn errors_name_file_and_line() {
        let text =
            "# header\n\n{\"op\":{\"op\":\"tick\",\"ms\":1},\"ok\":{\"reply\":\"ack\"}}\n{oops\n";
        let error = Trace::parse(Path::new("t.jsonl"), text).unwrap_err();
        assert_eq!(error.line_number, 4);
        assert!(
            error.to_string().starts_with("t.jsonl:4: malformed JSON"),
            "{error}"
        );
        let trace = Trace::parse(Path::new("t.jsonl"), &text[..text.len() - 6]).unwrap();
        assert_eq!(trace.lines.len(), 1);
        assert_eq!(trace.lines[0].line_number, 3);
    }
}
