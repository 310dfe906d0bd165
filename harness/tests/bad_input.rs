//! The file-format rows of docs/bad-input.md: every kind of bad trace and history file (and,
//! once its parser lands, workload file) gets a typed error naming the file, the line and
//! what is wrong, never a panic.
//!
//! Method: each row writes the bad input to a temporary file, reads it with the library
//! reader and checks the error kind and line, then runs the binary on it (`streamspec
//! replay` for traces, `streamspec verify` for histories): exit code 2, message naming
//! `file:line`. A control row per format
//! shows the same harness reports a good file as good, so the checks can fail.

use std::path::{Path, PathBuf};
use std::process::Command;

use streamspec::history::{History, HistoryErrorKind};
use streamspec::trace::{Trace, TraceErrorKind};

const CREATE_OK: &str =
    r#"{"op":{"op":"create_topic","topic":"orders","partitions":2},"ok":{"reply":"ack"}}"#;

/// Whether an error kind is the expected one.
type KindCheck = fn(&TraceErrorKind) -> bool;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Runs the binary; its exit code and stdout plus stderr.
fn streamspec(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_streamspec"))
        .args(args)
        .output()
        .expect("the streamspec binary runs");
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().expect("exited, not killed"), text)
}

/// A bad trace: the reader's error kind must satisfy `kind_is` at `line_number`, and the
/// binary must exit 2 naming `file:line`.
#[track_caller]
fn assert_bad_trace(bytes: &[u8], line_number: usize, kind_is: impl Fn(&TraceErrorKind) -> bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "bad.jsonl", bytes);
    let error = Trace::read(&path).expect_err("a bad trace is refused");
    assert_eq!(error.line_number, line_number, "{error}");
    assert!(kind_is(&error.kind), "unexpected kind: {error}");
    let (code, out) = streamspec(&["replay", path.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    let location = if line_number == 0 {
        format!("error {}: ", path.display())
    } else {
        format!("error {}:{line_number}: ", path.display())
    };
    assert!(out.contains(&location), "{location:?} not in {out}");
    assert!(!out.contains("panicked"), "{out}");
}

fn trace_with_last_line(last: &str) -> Vec<u8> {
    format!("{CREATE_OK}\n{last}\n").into_bytes()
}

#[test]
fn a_good_trace_is_not_reported_as_bad() {
    // Control: the harness above can tell good from bad.
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "good.jsonl",
        &trace_with_last_line(
            CREATE_OK
                .replace(
                    r#""ok":{"reply":"ack"}"#,
                    r#""error":"topic_already_exists""#,
                )
                .as_str(),
        ),
    );
    assert_eq!(Trace::read(&path).unwrap().lines.len(), 2);
    let (code, out) = streamspec(&["replay", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn trace_malformed_json() {
    assert_bad_trace(&trace_with_last_line(r#"{"op": {"op": "tick""#), 2, |k| {
        matches!(k, TraceErrorKind::MalformedJson(_))
    });
    assert_bad_trace(&trace_with_last_line("not json at all"), 2, |k| {
        matches!(k, TraceErrorKind::MalformedJson(_))
    });
}

#[test]
fn trace_truncated_mid_line() {
    // Cut the last line at every byte: each cut is malformed JSON on line 2, never a panic.
    // (A file cut exactly at a line end is a shorter valid trace; nothing can tell.)
    for cut in 1..CREATE_OK.len() {
        let bytes = format!("{CREATE_OK}\n{}", &CREATE_OK[..cut]).into_bytes();
        assert_bad_trace(&bytes, 2, |k| matches!(k, TraceErrorKind::MalformedJson(_)));
    }
}

#[test]
fn trace_not_utf8() {
    let mut bytes = trace_with_last_line(CREATE_OK);
    bytes.extend_from_slice(b"{\"comment\":\"\xff\xfe\"}\n");
    assert_bad_trace(
        &bytes,
        0,
        |k| matches!(k, TraceErrorKind::Io(m) if m.contains("UTF-8")),
    );
}

#[test]
fn trace_escaped_string_that_is_not_unicode() {
    // Valid UTF-8 bytes, but the JSON escape names a lone surrogate, which no string holds.
    let row =
        r#"{"op":{"op":"delete_topic","topic":"\ud800"},"error":"unknown_topic_or_partition"}"#;
    assert_bad_trace(&trace_with_last_line(row), 2, |k| {
        matches!(k, TraceErrorKind::MalformedJson(_))
    });
}

#[test]
fn trace_wrong_types() {
    let rows = [
        r#"{"op":{"op":"create_topic","topic":"t","partitions":"two"},"ok":{"reply":"ack"}}"#,
        r#"{"op":{"op":"create_topic","topic":7,"partitions":1},"ok":{"reply":"ack"}}"#,
        r#"{"op":{"op":"tick","ms":1.5},"ok":{"reply":"ack"}}"#,
        r#"{"op":{"op":"tick","ms":null},"ok":{"reply":"ack"}}"#,
        r#"{"op":7,"ok":{"reply":"ack"}}"#,
    ];
    for row in rows {
        assert_bad_trace(&trace_with_last_line(row), 2, |k| {
            matches!(k, TraceErrorKind::BadOp(_))
        });
    }
    assert_bad_trace(&trace_with_last_line("[1, 2]"), 2, |k| {
        matches!(k, TraceErrorKind::NotAnObject)
    });
    assert_bad_trace(
        &trace_with_last_line(r#"{"op":{"op":"tick","ms":1},"ok":"ack"}"#),
        2,
        |k| matches!(k, TraceErrorKind::BadReply(_)),
    );
    assert_bad_trace(
        &trace_with_last_line(r#"{"op":{"op":"tick","ms":1},"error":5}"#),
        2,
        |k| matches!(k, TraceErrorKind::UnknownError(_)),
    );
}

#[test]
fn trace_huge_or_negative_numbers() {
    let bad_op = [
        // One past i32::MAX partitions, 2^64 ms, a negative u64, i64::MAX + 1 as an offset.
        r#"{"op":{"op":"create_topic","topic":"t","partitions":2147483648},"ok":{"reply":"ack"}}"#,
        r#"{"op":{"op":"tick","ms":18446744073709551616},"ok":{"reply":"ack"}}"#,
        r#"{"op":{"op":"tick","ms":-1},"ok":{"reply":"ack"}}"#,
        r#"{"op":{"op":"fetch","topic":"orders","partition":0,"offset":9223372036854775808},"error":"offset_out_of_range"}"#,
    ];
    for row in bad_op {
        assert_bad_trace(&trace_with_last_line(row), 2, |k| {
            matches!(k, TraceErrorKind::BadOp(_))
        });
    }
    // A number JSON itself cannot hold as f64 is malformed JSON.
    assert_bad_trace(
        &trace_with_last_line(r#"{"op":{"op":"tick","ms":1e400},"ok":{"reply":"ack"}}"#),
        2,
        |k| matches!(k, TraceErrorKind::MalformedJson(_)),
    );
}

#[test]
fn trace_wrong_shape() {
    let rows: [(&str, KindCheck); 6] = [
        (r#"{"op":{"op":"teleport"},"ok":{"reply":"ack"}}"#, |k| {
            matches!(k, TraceErrorKind::UnknownOp(_))
        }),
        (
            r#"{"op":{"op":"tick","ms":1,"msec":2},"ok":{"reply":"ack"}}"#,
            |k| matches!(k, TraceErrorKind::UnknownField { .. }),
        ),
        (
            r#"{"op":{"op":"tick","ms":1},"error":"no_such_error"}"#,
            |k| matches!(k, TraceErrorKind::UnknownError(_)),
        ),
        (
            r#"{"op":{"op":"tick","ms":1},"ok":{"reply":"ack"},"error":"invalid_request"}"#,
            |k| matches!(k, TraceErrorKind::BothOkAndError),
        ),
        (r#"{"op":{"op":"tick","ms":1}}"#, |k| {
            matches!(k, TraceErrorKind::NeitherOkNorError)
        }),
        (r#"{"ok":{"reply":"ack"}}"#, |k| {
            matches!(k, TraceErrorKind::MissingOp)
        }),
    ];
    for (row, kind_is) in rows {
        assert_bad_trace(&trace_with_last_line(row), 2, kind_is);
    }
}

#[test]
fn trace_bad_values_are_replayed_not_refused() {
    // A well-formed line with a bad value (an illegal topic name) is a valid trace: the
    // model answers it with the named error, and a trace claiming success diverges (exit 1).
    let dir = tempfile::tempdir().unwrap();
    let claims_success = CREATE_OK.replace("\"orders\"", "\"bad name!\"");
    let path = write(dir.path(), "t.jsonl", claims_success.as_bytes());
    let (code, out) = streamspec(&["replay", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("invalid_topic_exception"), "{out}");
    let records_error = claims_success.replace(
        r#""ok":{"reply":"ack"}"#,
        r#""error":"invalid_topic_exception""#,
    );
    let path = write(dir.path(), "t.jsonl", records_error.as_bytes());
    let (code, out) = streamspec(&["replay", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
}

// ------------------------------------------------------------------------------ histories

/// Whether a history error kind is the expected one.
type HistoryKindCheck = fn(&HistoryErrorKind) -> bool;

const INVOKE_TICK: &str = r#"{"process":0,"type":"invoke","op":{"op":"tick","ms":5},"time_ns":10}"#;
const OK_ACK: &str = r#"{"process":0,"type":"ok","result":{"reply":"ack"},"time_ns":20}"#;

/// A bad history: the reader's error must satisfy `kind_is` at `line`, its message must name
/// `file:line`, and `streamspec verify` must print it and exit 2.
#[track_caller]
fn assert_bad_history(bytes: &[u8], line: usize, kind_is: HistoryKindCheck) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "bad-history.jsonl", bytes);
    let error = History::read(&path).expect_err("a bad history is refused");
    assert_eq!(error.line, line, "{error}");
    assert!(kind_is(&error.kind), "unexpected kind: {error}");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("{}:{line}: ", path.display())),
        "{message}"
    );
    let (code, out) = streamspec(&["verify", path.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains(&format!("error {message}")), "{out}");
    assert!(!out.contains("panicked"), "{out}");
}

fn history_with_last_line(last: &str) -> Vec<u8> {
    format!("{INVOKE_TICK}\n{OK_ACK}\n{last}\n").into_bytes()
}

#[test]
fn a_good_history_is_not_reported_as_bad() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "good.jsonl",
        format!("{INVOKE_TICK}\n\n{OK_ACK}\n").as_bytes(),
    );
    assert_eq!(History::read(&path).unwrap().ops.len(), 1);
    let (code, out) = streamspec(&["verify", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn history_malformed_json_and_truncation() {
    assert_bad_history(&history_with_last_line("{\"process\":1,"), 3, |k| {
        matches!(k, HistoryErrorKind::Json(_))
    });
    assert_bad_history(&history_with_last_line("[1]"), 3, |k| {
        matches!(k, HistoryErrorKind::Json(_))
    });
    for cut in 1..OK_ACK.len() {
        let bytes = format!("{INVOKE_TICK}\n{}", &OK_ACK[..cut]).into_bytes();
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "cut.jsonl", &bytes);
        // Cut inside the JSON: malformed. (A cut exactly at a line end leaves an invoke with
        // no completion, which the format defines as indeterminate: a valid history.)
        let error = History::read(&path).expect_err("a cut line is refused");
        assert_eq!(error.line, 2, "{error}");
    }
}

#[test]
fn history_not_utf8() {
    let mut bytes = history_with_last_line(INVOKE_TICK);
    bytes.extend_from_slice(b"\xc3\x28\n");
    assert_bad_history(&bytes, 0, |k| matches!(k, HistoryErrorKind::Io(_)));
}

#[test]
fn history_wrong_types_and_huge_numbers() {
    let rows: [(&str, &str); 8] = [
        (
            "process",
            r#"{"process":"zero","type":"invoke","op":{"op":"tick","ms":5},"time_ns":30}"#,
        ),
        (
            "process",
            r#"{"process":-1,"type":"invoke","op":{"op":"tick","ms":5},"time_ns":30}"#,
        ),
        (
            "time_ns",
            r#"{"process":1,"type":"invoke","op":{"op":"tick","ms":5},"time_ns":18446744073709551616}"#,
        ),
        (
            "time_ns",
            r#"{"process":1,"type":"invoke","op":{"op":"tick","ms":5},"time_ns":1.5}"#,
        ),
        (
            "type",
            r#"{"process":1,"type":"started","op":{"op":"tick","ms":5},"time_ns":30}"#,
        ),
        (
            "op",
            r#"{"process":1,"type":"invoke","op":{"op":"tick","ms":-5},"time_ns":30}"#,
        ),
        (
            "op",
            r#"{"process":1,"type":"invoke","op":{"op":"create_topic","topic":"t","partitions":4294967296},"time_ns":30}"#,
        ),
        (
            "op",
            r#"{"process":1,"type":"invoke","op":{"op":"teleport"},"time_ns":30}"#,
        ),
    ];
    for (field, row) in rows {
        let bytes = history_with_last_line(row);
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "bad.jsonl", &bytes);
        let error = History::read(&path).expect_err("refused");
        assert_eq!(error.line, 3, "{error}");
        assert!(
            matches!(&error.kind, HistoryErrorKind::BadField { field: f, .. } if *f == field),
            "{row}: {error}"
        );
    }
    assert_bad_history(
        &history_with_last_line(
            r#"{"process":1,"type":"invoke","op":{"op":"tick","ms":5},"time_ns":1e400}"#,
        ),
        3,
        |k| matches!(k, HistoryErrorKind::Json(_)),
    );
}

#[test]
fn history_missing_fields_and_bad_completions() {
    let missing: [(&str, &str); 4] = [
        (
            "process",
            r#"{"type":"invoke","op":{"op":"tick","ms":5},"time_ns":30}"#,
        ),
        (
            "time_ns",
            r#"{"process":1,"type":"invoke","op":{"op":"tick","ms":5}}"#,
        ),
        (
            "type",
            r#"{"process":1,"op":{"op":"tick","ms":5},"time_ns":30}"#,
        ),
        ("op", r#"{"process":1,"type":"invoke","time_ns":30}"#),
    ];
    for (field, row) in missing {
        let bytes = history_with_last_line(row);
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "bad.jsonl", &bytes);
        let error = History::read(&path).expect_err("refused");
        assert_eq!(error.kind, HistoryErrorKind::MissingField(field), "{error}");
    }
    let invoke = |process: u64, time_ns: u64| {
        format!(
            r#"{{"process":{process},"type":"invoke","op":{{"op":"tick","ms":5}},"time_ns":{time_ns}}}"#
        )
    };
    let bad_completions = [
        // An ok without a result, a fail whose error is no error name, an ok with an error.
        format!(
            "{}\n{}",
            invoke(1, 30),
            r#"{"process":1,"type":"ok","time_ns":40}"#
        ),
        format!(
            "{}\n{}",
            invoke(1, 30),
            r#"{"process":1,"type":"fail","error":"no_such_error","time_ns":40}"#
        ),
        format!(
            "{}\n{}",
            invoke(1, 30),
            r#"{"process":1,"type":"ok","result":{"reply":"ack"},"error":"invalid_request","time_ns":40}"#
        ),
        // A completion that changes the op.
        format!(
            "{}\n{}",
            invoke(1, 30),
            r#"{"process":1,"type":"ok","op":{"op":"tick","ms":6},"result":{"reply":"ack"},"time_ns":40}"#
        ),
    ];
    for text in bad_completions {
        let bytes = history_with_last_line(&text);
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "bad.jsonl", &bytes);
        let error = History::read(&path).expect_err("refused");
        assert_eq!(error.line, 4, "{error}");
        assert!(
            matches!(
                error.kind,
                HistoryErrorKind::MissingField(_) | HistoryErrorKind::BadField { .. }
            ),
            "{error}"
        );
    }
}

#[test]
fn history_pairing_and_time_order() {
    let pairing = [
        // A completion with no invoke; a second invoke before completion; an invoke after info.
        r#"{"process":7,"type":"ok","result":{"reply":"ack"},"time_ns":30}"#.to_owned(),
        INVOKE_TICK.replace("\"time_ns\":10", "\"time_ns\":30")
            + "\n"
            + &INVOKE_TICK.replace("\"time_ns\":10", "\"time_ns\":31"),
        r#"{"process":0,"type":"invoke","op":{"op":"tick","ms":5},"time_ns":30}"#.to_owned()
            + "\n"
            + r#"{"process":0,"type":"info","error":"timeout","time_ns":31}"#
            + "\n"
            + r#"{"process":0,"type":"invoke","op":{"op":"tick","ms":5},"time_ns":32}"#,
    ];
    for text in pairing {
        let bytes = history_with_last_line(&text);
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "bad.jsonl", &bytes);
        let error = History::read(&path).expect_err("refused");
        assert!(
            matches!(error.kind, HistoryErrorKind::Pairing(_)),
            "{text}: {error}"
        );
    }
    assert_bad_history(
        &history_with_last_line(
            r#"{"process":1,"type":"invoke","op":{"op":"tick","ms":5},"time_ns":5}"#,
        ),
        3,
        |k| {
            matches!(
                k,
                HistoryErrorKind::TimeBackwards {
                    previous_ns: 20,
                    time_ns: 5
                }
            )
        },
    );
}

#[test]
fn history_unknown_fields_are_refused() {
    // A misspelt op field would silently fall back to its default (`max_record` →
    // max_records 500), so a history would claim something its author did not mean; the
    // reader refuses it, as the trace reader does. Method: a misspelt field inside an op,
    // inside a record of an op, inside a result (line 4), and an unknown top-level key.
    let row = r#"{"process":1,"type":"invoke","op":{"op":"fetch","topic":"t","partition":0,"offset":0,"max_record":10},"time_ns":30}"#;
    assert_bad_history(
        &history_with_last_line(row),
        3,
        |k| matches!(k, HistoryErrorKind::BadField { field: "op", reason } if reason.contains("max_record")),
    );
    let row = r#"{"process":1,"type":"invoke","op":{"op":"produce","topic":"t","partition":0,"records":[{"vale":"x"}]},"time_ns":30}"#;
    assert_bad_history(
        &history_with_last_line(row),
        3,
        |k| matches!(k, HistoryErrorKind::BadField { field: "op", reason } if reason.contains("records[0].vale")),
    );
    let completion = format!(
        "{}\n{}",
        r#"{"process":1,"type":"invoke","op":{"op":"tick","ms":5},"time_ns":30}"#,
        r#"{"process":1,"type":"ok","result":{"reply":"ack","acks":"all"},"time_ns":31}"#
    );
    assert_bad_history(
        &history_with_last_line(&completion),
        4,
        |k| matches!(k, HistoryErrorKind::BadField { field: "result", reason } if reason.contains("acks")),
    );
    let row =
        r#"{"process":1,"type":"invoke","op":{"op":"tick","ms":5},"time_ns":30,"thread":"main"}"#;
    assert_bad_history(
        &history_with_last_line(row),
        3,
        |k| matches!(k, HistoryErrorKind::UnknownKey(key) if key == "thread"),
    );
}

// ---------------------------------------------------------------------------------------------
// Workloads (`streamspec bench`): each row of docs/bad-input.md's workload table, through the
// binary. A bad file exits 2 before anything runs, naming the file and the field.

/// A small valid workload; each case breaks one thing in it.
const GOOD_WORKLOAD: &str = r#"name = "bad-input-probe"
producers = 1
record_bytes = 27
batch_records = 1
rate_records_per_s = 1000
groups = 1
members_per_group = 1
warmup_s = 0
duration_s = 1
repeats = 1

[[topics]]
name = "orders"
partitions = 1
"#;

/// The binary refuses `bytes` as a workload with exit 2 and a message containing `names`.
#[track_caller]
fn assert_bad_workload(bytes: &[u8], names: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "bad.toml", bytes);
    let out_path = dir.path().join("out.json");
    let (code, out) = streamspec(&[
        "bench",
        path.to_str().unwrap(),
        "--out",
        out_path.to_str().unwrap(),
        "--no-progress",
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("bad.toml"), "the file is named: {out}");
    assert!(out.contains(names), "expected {names:?} in: {out}");
    assert!(
        !out_path.exists(),
        "nothing ran, so no results were written"
    );
}

#[test]
fn workload_malformed_truncated_and_not_utf8() {
    assert_bad_workload(b"name = \"x\"\nproducers = [1,", "producers");
    // Cut mid-value: the key is left without a complete value.
    let cut = GOOD_WORKLOAD.find("duration_s = 1").unwrap() + "duration_s = ".len();
    assert_bad_workload(&GOOD_WORKLOAD.as_bytes()[..cut], "duration_s");
    let mut not_utf8 = GOOD_WORKLOAD.as_bytes().to_vec();
    not_utf8.extend_from_slice(b"\n# \xff\xfe\n");
    assert_bad_workload(&not_utf8, "UTF-8");
}

#[test]
fn workload_wrong_types_unknown_keys_and_missing_fields() {
    let cases = [
        (
            GOOD_WORKLOAD.replace("record_bytes = 27", "record_bytes = \"big\""),
            "record_bytes",
        ),
        (
            GOOD_WORKLOAD.replace("duration_s = 1", "duraton_s = 1"),
            "duraton_s",
        ),
        (GOOD_WORKLOAD.replace("duration_s = 1\n", ""), "duration_s"),
        (
            GOOD_WORKLOAD.replace("rate_records_per_s = 1000", "rate_records_per_s = \"fast\""),
            "rate_records_per_s",
        ),
    ];
    for (text, field) in cases {
        assert_bad_workload(text.as_bytes(), field);
    }
}

#[test]
fn workload_values_out_of_range_and_huge_numbers() {
    let cases = [
        (
            GOOD_WORKLOAD.replace("duration_s = 1", "duration_s = 0"),
            "duration_s",
        ),
        (
            GOOD_WORKLOAD.replace("record_bytes = 27", "record_bytes = 99999999999"),
            "record_bytes",
        ),
        (
            GOOD_WORKLOAD.replace("producers = 1", "producers = 18446744073709551616"),
            "producers",
        ),
        (
            GOOD_WORKLOAD.replace("partitions = 1", "partitions = 0"),
            "topics[0].partitions",
        ),
        (
            GOOD_WORKLOAD.replace("name = \"orders\"", "name = \"a b\""),
            "topics[0].name",
        ),
        (
            GOOD_WORKLOAD.replace("repeats = 1", "repeats = 0"),
            "repeats",
        ),
        (
            GOOD_WORKLOAD.replace("rate_records_per_s = 1000", "rate_records_per_s = -5"),
            "rate_records_per_s",
        ),
    ];
    for (text, field) in cases {
        assert_bad_workload(text.as_bytes(), field);
    }
}

#[test]
fn a_missing_workload_file_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    let (code, out) = streamspec(&["bench", path.to_str().unwrap(), "--no-progress"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("bad.toml"), "{out}");
}
