//! Without the `kafka` feature, the broker commands say what is missing instead of failing
//! obscurely (with it, ci/tansu.sh runs them against a real broker).
#![cfg(not(feature = "kafka"))]

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

/// Goal: both commands exit 2 and name the feature to build with.
#[test]
fn broker_commands_name_the_missing_feature() {
    let (code, out) = streamspec(&["kafka", "--bootstrap", "127.0.0.1:9"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("--features kafka"), "{out}");
    let traces = concat!(env!("CARGO_MANIFEST_DIR"), "/../traces/conformance");
    let (code, out) = streamspec(&["replay", "--target", "kafka://127.0.0.1:9", traces]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("without the `kafka` feature"), "{out}");
    // Without --target, replay is unchanged.
    let (code, out) = streamspec(&["replay", traces]);
    assert_eq!(code, 0, "{out}");
}
