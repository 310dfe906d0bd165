//! `streamspec verify history.edn`: a Jepsen Kafka history is judged by the anomaly checker,
//! with our anomaly names, and linearizability is said not to apply.

use std::process::Command;

fn verify(text: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.edn");
    std::fs::write(&path, text).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_streamspec"))
        .args(["verify", "--drained", path.to_str().unwrap()])
        .output()
        .expect("the streamspec binary runs");
    let out = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().expect("exited"), out)
}

fn history(second_read: &str) -> String {
    format!(
        "{{:type :invoke, :f :send, :value [[:send 1 10]], :time 1, :process 0}}\n\
         {{:type :ok, :f :send, :value [[:send 1 [0 10]]], :time 2, :process 0}}\n\
         {{:type :invoke, :f :send, :value [[:send 1 11]], :time 3, :process 0}}\n\
         {{:type :ok, :f :send, :value [[:send 1 [1 11]]], :time 4, :process 0}}\n\
         {{:type :invoke, :f :poll, :value [[:poll]], :time 5, :process 1}}\n\
         {{:type :ok, :f :poll, :value [[:poll {{1 {second_read}}}]], :time 6, :process 1}}\n"
    )
}

/// Goal: a clean Jepsen history passes; one whose poll skips an acknowledged send fails
/// with `lost-write`; broken EDN is bad input.
#[test]
fn jepsen_histories_are_verified_with_our_anomaly_names() {
    let (code, out) = verify(&history("[[0 10] [1 11]]"));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("not checked: a Jepsen history"), "{out}");
    let (code, out) = verify(&history("[[1 11]]"));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("lost-write"), "{out}");
    let (code, out) = verify("{:type :invoke");
    assert_eq!(code, 2, "{out}");
}
