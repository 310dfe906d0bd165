//! Bugs the fuzz targets found, each kept under its own name (sled's `00_regression.rs`
//! habit). Each test is the minimized input, written out, with the property that broke.

use std::path::Path;

use streamspec::history::History;

#[test]
fn history_writer_keeps_a_process_completion_before_its_next_invoke_at_equal_times() {
    // Found by `history_parser` (crash-e0b1f8c9...): process 0's first op completes at
    // t=1 and its next op is invoked at t=1. The writer put every invoke before every
    // completion at equal times, so the written file showed process 0 invoking twice and the
    // parser refused its own writer's output.
    let text = [
        r#"{"process":0,"type":"invoke","op":{"op":"tick","ms":1},"time_ns":0}"#,
        r#"{"process":0,"type":"ok","result":{"reply":"ack"},"time_ns":1}"#,
        r#"{"process":1,"type":"invoke","op":{"op":"tick","ms":2},"time_ns":1}"#,
        r#"{"process":0,"type":"invoke","op":{"op":"tick","ms":3},"time_ns":1}"#,
        r#"{"process":0,"type":"ok","result":{"reply":"ack"},"time_ns":1}"#,
        r#"{"process":0,"type":"invoke","op":{"op":"tick","ms":4},"time_ns":1}"#,
        r#"{"process":1,"type":"ok","result":{"reply":"ack"},"time_ns":2}"#,
        r#"{"process":0,"type":"ok","result":{"reply":"ack"},"time_ns":2}"#,
    ]
    .join("\n");
    let path = Path::new("regression.jsonl");
    let history = History::parse(path, &text).expect("a valid history");
    assert_eq!(history.ops.len(), 4);
    let mut written = Vec::new();
    history.write_jsonl(&mut written).unwrap();
    let written = String::from_utf8(written).unwrap();
    let again = History::parse(path, &written).unwrap_or_else(|e| panic!("{e}\n{written}"));
    let strip = |h: &History| {
        h.ops
            .iter()
            .map(|o| {
                (
                    o.process,
                    o.op.clone(),
                    o.outcome.clone(),
                    o.invoke_ns,
                    o.complete_ns,
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&again), strip(&history));
}

#[test]
fn the_checker_joins_its_workers_whatever_their_count() {
    // Found by `history_parser` (leak-d8d03d85..., once in 144,740 runs of an hour's
    // campaign): LeakSanitizer saw a checker worker's thread-local destructor record still
    // allocated. `std::thread::scope` returns when the workers' closures return, before their
    // OS threads finish exiting; the checker now joins each worker itself. The race itself is
    // too rare to replay, so this keeps the input and the property around it: the verdict of
    // the history does not depend on how many workers check it.
    use streamspec::linearizability::{check, Options};
    let path = Path::new("tests/fuzz_regressions/history-parser-leak-d8d03d85.jsonl");
    let text = std::fs::read_to_string(path).expect("the kept input");
    let Ok(history) = History::parse(path, &text) else {
        // The minimized input need not be a valid history; refusing it must not panic.
        return;
    };
    let verdicts: Vec<String> = [1, 2, 4]
        .into_iter()
        .map(|threads| {
            let options = Options {
                threads,
                ..Options::default()
            };
            format!("{:?}", check(&history, &options).verdict)
        })
        .collect();
    assert!(verdicts.windows(2).all(|w| w[0] == w[1]), "{verdicts:?}");
}
