//! Trace files from fuzz bytes: parse, then replay against the model. Must never panic.
//!
//! Method: the bytes are read as the trace reader would after decoding (lossily, so non-UTF-8
//! input still reaches the parser as replacement characters; the real reader refuses it
//! earlier with a typed I/O error, tested in harness/tests/bad_input.rs). A parse error must
//! render its message. A trace that parses is replayed in full, and each of its steps must
//! survive the writer: written back as a line and parsed again, it is the same step, so the
//! reader and the writer agree on every input the reader accepts.

use std::path::Path;

use streamspec::replay::replay;
use streamspec::trace::{parse_line, step_line, Trace};

/// Why a parsed trace failed a check (a panic in the target).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoundTripFailure {
    /// The 1-based line.
    pub line_number: usize,
    /// The line as the writer wrote it.
    pub written: String,
    /// What parsing it again gave.
    pub reparsed: String,
}

/// Parses `data` as a trace and replays it; `Err` if a step does not survive the writer.
pub fn check_trace_bytes(data: &[u8]) -> Result<(), RoundTripFailure> {
    let text = String::from_utf8_lossy(data);
    let trace = match Trace::parse(Path::new("fuzz.jsonl"), &text) {
        Ok(trace) => trace,
        Err(error) => {
            // The message is what a user sees; building it must not panic either.
            let message = error.to_string();
            assert!(message.starts_with("fuzz.jsonl"), "{message}");
            return Ok(());
        }
    };
    let report = replay(&trace);
    assert!(report.steps_count <= trace.lines.len());
    for line in &trace.lines {
        let written = step_line(&line.step);
        match parse_line(&written) {
            Ok(Some(step)) if step == line.step => {}
            other => {
                return Err(RoundTripFailure {
                    line_number: line.line_number,
                    written,
                    reparsed: format!("{other:?}"),
                })
            }
        }
    }
    Ok(())
}

/// The `trace_parser` target.
pub fn fuzz_trace_parser(data: &[u8]) {
    if let Err(failure) = check_trace_bytes(data) {
        panic!("{failure:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_traces_parse_replay_and_round_trip() {
        // Goal: the target accepts real traces (the seed corpus). Method: every file under
        // traces/ through the check.
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../traces");
        let files = streamspec::trace::trace_files(&[root]).unwrap();
        assert!(files.len() > 10, "traces/ should hold the shipped traces");
        for file in files {
            let bytes = std::fs::read(&file).unwrap();
            check_trace_bytes(&bytes).unwrap_or_else(|f| panic!("{}: {f:?}", file.display()));
        }
    }

    #[test]
    fn malformed_and_truncated_traces_are_refused_without_panicking() {
        // Goal: typical bad input returns. Method: truncations of a real line at every byte,
        // and lines of the wrong shape.
        let line =
            br#"{"op":{"op":"create_topic","topic":"orders","partitions":2},"ok":{"reply":"ack"}}"#;
        for cut in 0..line.len() {
            check_trace_bytes(&line[..cut]).unwrap();
        }
        for bad in [
            &b"\xff\xfe{}"[..],
            b"[1,2,3]",
            b"{\"op\":{\"op\":\"tick\",\"ms\":-1},\"ok\":{\"reply\":\"ack\"}}",
            b"{\"op\":{\"op\":\"tick\",\"ms\":1e400},\"ok\":{\"reply\":\"ack\"}}",
            b"{\"op\":{\"op\":\"tick\",\"ms\":18446744073709551616},\"ok\":{\"reply\":\"ack\"}}",
            b"{\"op\":{\"op\":\"fetch\",\"topic\":7},\"error\":\"nope\"}",
        ] {
            check_trace_bytes(bad).unwrap();
        }
    }
}
