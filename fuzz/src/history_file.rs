//! History files from fuzz bytes: parse, then verify (linearizability and anomalies). Must
//! never panic.
//!
//! Method: the bytes are decoded lossily (the real reader refuses non-UTF-8 earlier with a
//! typed I/O error, tested in harness/tests/bad_input.rs). A parse error must render its
//! message. A history that parses must survive the writer (written as JSON Lines and parsed
//! again, it is the same history apart from line numbers), and is judged by the same checks
//! `streamspec verify` runs, under a small time and memo bound so one input stays cheap: a
//! bound that runs out is a verdict (`unknown`), not a failure.

use std::path::Path;
use std::time::Duration;

use streamspec::gate::judge;
use streamspec::history::History;
use streamspec::linearizability::Options;

/// Time bound for one input's linearizability check: small, since the fuzzer runs thousands.
pub const CHECK_TIME_MAX: Duration = Duration::from_millis(50);
/// Memo bound for one input's linearizability check, in bytes.
pub const CHECK_MEMO_BYTES_MAX: usize = 16 << 20;

/// A parsed history that did not survive the writer.
#[derive(Clone, Debug)]
pub struct RoundTripFailure {
    /// What the writer wrote.
    pub written: String,
    /// What parsing it again gave.
    pub reparsed: String,
}

/// The ops of a history without the file line numbers, which a rewrite changes.
fn without_lines(history: &History) -> History {
    let mut history = history.clone();
    for operation in &mut history.ops {
        operation.line = 0;
    }
    history
}

/// Parses `data` as a history, checks the writer round trip, and judges it.
pub fn check_history_bytes(data: &[u8]) -> Result<(), RoundTripFailure> {
    let text = String::from_utf8_lossy(data);
    let path = Path::new("fuzz-history.jsonl");
    let history = match History::parse(path, &text) {
        Ok(history) => history,
        Err(error) => {
            let message = error.to_string();
            assert!(message.starts_with("fuzz-history.jsonl"), "{message}");
            return Ok(());
        }
    };
    let mut written = Vec::new();
    history
        .write_jsonl(&mut written)
        .expect("writing to memory cannot fail");
    let written = String::from_utf8(written).expect("the writer writes JSON, which is UTF-8");
    match History::parse(path, &written) {
        Ok(again) if without_lines(&again) == without_lines(&history) => {}
        other => {
            return Err(RoundTripFailure {
                written,
                reparsed: format!("{other:?}"),
            })
        }
    }
    let options = Options {
        threads: 1,
        time_limit: CHECK_TIME_MAX,
        memo_bytes_max: CHECK_MEMO_BYTES_MAX,
    };
    for drained in [false, true] {
        let judgement = judge(&history, drained, &options);
        // Rendering the findings is part of what `verify` does with them.
        for finding in judgement.findings() {
            let _ = format!("{finding:?}");
        }
    }
    Ok(())
}

/// The `history_parser` target.
pub fn fuzz_history_parser(data: &[u8]) {
    if let Err(failure) = check_history_bytes(data) {
        panic!("{failure:?}");
    }
}

#[cfg(test)]
mod tests {
    use streamspec::trace::Trace;

    use super::*;

    #[test]
    fn histories_made_from_the_shipped_traces_parse_round_trip_and_judge() {
        // Goal: the target accepts real histories (the seed corpus). Method: each shipped
        // trace as a sequential history, written and fed to the check.
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../traces");
        let files = streamspec::trace::trace_files(&[root]).unwrap();
        assert!(!files.is_empty());
        for file in files {
            let trace = Trace::read(&file).unwrap();
            let history = History::sequential(
                trace
                    .lines
                    .into_iter()
                    .map(|line| (line.step.op, line.step.ret)),
            );
            let mut bytes = Vec::new();
            history.write_jsonl(&mut bytes).unwrap();
            check_history_bytes(&bytes).unwrap_or_else(|f| panic!("{}: {f:?}", file.display()));
        }
    }

    #[test]
    fn damaged_histories_are_refused_without_panicking() {
        let invoke = br#"{"process":0,"type":"invoke","op":{"op":"tick","ms":5},"time_ns":1}"#;
        for cut in 0..invoke.len() {
            check_history_bytes(&invoke[..cut]).unwrap();
        }
        for bad in [
            &b"\xff\xfe"[..],
            br#"{"process":0,"type":"ok","result":{"reply":"ack"},"time_ns":1}"#,
            br#"{"process":-1,"type":"invoke","op":{"op":"tick","ms":5},"time_ns":1}"#,
            br#"{"process":0,"type":"invoke","op":{"op":"tick","ms":5},"time_ns":18446744073709551616}"#,
            b"{\"process\":0,\"type\":\"invoke\",\"op\":{\"op\":\"tick\",\"ms\":5},\"time_ns\":9}\n{\"process\":0,\"type\":\"ok\",\"result\":{\"reply\":\"ack\"},\"time_ns\":3}",
        ] {
            check_history_bytes(bad).unwrap();
        }
    }
}
