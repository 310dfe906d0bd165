//! `streamspec replay` as a user runs it: output and exit codes.

use std::path::Path;
use std::process::Command;

fn streamspec(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_streamspec"))
        .args(args)
        .output()
        .expect("the streamspec binary runs");
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().expect("exited"), text)
}

const TICK_OK: &str = r#"{"op":{"op":"tick","ms":5},"ok":{"reply":"ack"}}"#;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().to_string()
}

#[test]
fn passing_traces_exit_0_with_one_line_each() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.jsonl",
        &format!("# ticks\n{TICK_OK}\n\n{TICK_OK}\n"),
    );
    write(
        dir.path(),
        "nested/b.jsonl",
        &format!("{{\"comment\":\"x\"}}\n{TICK_OK}\n"),
    );
    write(dir.path(), "nested/ignored.txt", "not a trace");
    let (code, out) = streamspec(&["replay", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let ok_lines: Vec<&str> = out.lines().filter(|l| l.starts_with("ok ")).collect();
    assert_eq!(ok_lines.len(), 2, "{out}");
    assert!(
        ok_lines[0].contains("a.jsonl: 2 steps match the model"),
        "{out}"
    );
    assert!(
        ok_lines[1].contains("b.jsonl: 1 steps match the model"),
        "{out}"
    );
    assert!(!out.contains("ignored"), "{out}");
}

#[test]
fn a_divergence_exits_1_naming_file_line_op_and_both_results() {
    let dir = tempfile::tempdir().unwrap();
    let bad = r#"{"op":{"op":"fetch","topic":"t","partition":0,"offset":0},"ok":{"reply":"fetched","records":[],"high_watermark":0,"log_start_offset":0}}"#;
    let path = write(
        dir.path(),
        "bad.jsonl",
        &format!("{TICK_OK}\n{bad}\n{TICK_OK}\n"),
    );
    let (code, out) = streamspec(&["replay", &path]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("FAIL  {path}:2: fetch diverges from the model")),
        "{out}"
    );
    assert!(
        out.contains("trace: {\"ok\":{\"reply\":\"fetched\""),
        "{out}"
    );
    assert!(
        out.contains("model: {\"error\":\"unknown_topic_or_partition\"}"),
        "{out}"
    );
}

#[test]
fn an_allowed_alternative_is_said_in_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let text = [
        r#"{"op":{"op":"create_topic","topic":"t","partitions":2},"ok":{"reply":"ack"}}"#,
        r#"{"op":{"op":"produce","topic":"t","records":[{"value":"v"}]},"ok":{"reply":"produced","partition":1,"base_offset":0}}"#,
    ]
    .join("\n");
    let path = write(dir.path(), "alt.jsonl", &text);
    let (code, out) = streamspec(&["replay", &path]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 accepted as allowed alternative"), "{out}");
    assert!(
        out.contains(
            "line 2: produce accepted as allowed alternative: keyless produce to partition 1"
        ),
        "{out}"
    );
}

#[test]
fn malformed_lines_exit_2_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("{oops", "malformed JSON"),
        (
            r#"{"op":{"op":"explode"},"ok":{"reply":"ack"}}"#,
            "unknown op \"explode\"",
        ),
        (
            r#"{"op":{"op":"tick","ms":-1},"ok":{"reply":"ack"}}"#,
            "bad field in \"op\"",
        ),
        (
            r#"{"op":{"op":"tick","ms":1},"ok":{"reply":"ack"},"error":"invalid_request"}"#,
            "both \"ok\" and \"error\"",
        ),
        (
            r#"{"op":{"op":"tick","ms":1}}"#,
            "neither \"ok\" nor \"error\"",
        ),
        (
            r#"{"op":{"op":"tick","ms":1},"error":"kaboom"}"#,
            "unknown error name \"kaboom\"",
        ),
        (
            r#"{"op":{"op":"tick","mss":1},"ok":{"reply":"ack"}}"#,
            "bad field in \"op\"",
        ),
        (
            r#"{"op":{"op":"tick","ms":1,"extra":2},"ok":{"reply":"ack"}}"#,
            "unknown field \"extra\"",
        ),
    ];
    for (line, message) in cases {
        let path = write(
            dir.path(),
            "m.jsonl",
            &format!("# header\n{TICK_OK}\n{line}\n"),
        );
        let (code, out) = streamspec(&["replay", &path]);
        assert_eq!(code, 2, "{line}: {out}");
        assert!(
            out.contains(&format!("error {path}:3: {message}")),
            "{line}: {out}"
        );
    }
    // A malformed file among good ones: the good ones are still replayed, and 2 wins.
    write(dir.path(), "good.jsonl", TICK_OK);
    let (code, out) = streamspec(&["replay", dir.path().to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("good.jsonl: 1 steps match"), "{out}");
}

#[test]
fn missing_paths_and_empty_folders_exit_2() {
    let (code, out) = streamspec(&["replay", "/no/such/trace.jsonl"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("/no/such/trace.jsonl"), "{out}");
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = streamspec(&["replay", dir.path().to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    let (code, _) = streamspec(&["replay"]);
    assert_eq!(code, 2, "replay needs a path");
}

#[test]
fn the_shipped_traces_replay_clean_through_the_cli() {
    let traces = Path::new(env!("CARGO_MANIFEST_DIR")).join("../traces");
    let (code, out) = streamspec(&["replay", traces.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 diverged, 0 malformed"), "{out}");
    assert!(
        out.contains("scenarios/produce-poll-commit.jsonl: 11 steps match the model"),
        "{out}"
    );
}
