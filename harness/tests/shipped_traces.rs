//! The shipped traces (`traces/`): they replay clean, they are exactly what the hand-checked
//! cases generate, and together they cover every op, every error and every invariant.

mod trace_cases;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use streamspec::replay::replay;
use streamspec::trace::{trace_files, Trace};
use streamspec_model::ErrorCode;

fn traces_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../traces")
}

fn shipped() -> Vec<Trace> {
    let files = trace_files(&[traces_root()]).expect("traces/ is readable");
    assert!(!files.is_empty(), "no traces under traces/");
    files
        .iter()
        .map(|file| Trace::read(file).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

fn relative_name(trace: &Trace) -> String {
    trace
        .path
        .strip_prefix(traces_root())
        .expect("under traces/")
        .to_string_lossy()
        .trim_end_matches(".jsonl")
        .to_string()
}

/// Goal: every shipped trace is one the model accepts. Method: replay each.
#[test]
fn every_shipped_trace_replays_clean() {
    for trace in shipped() {
        let report = replay(&trace);
        assert!(
            report.passed(),
            "{}: {:?}",
            trace.path.display(),
            report.divergence
        );
        assert_eq!(report.steps_count, trace.lines.len());
    }
}

/// Goal: the files are what the hand-checked cases generate, so no trace is edited by hand or
/// left stale. Method: regenerate in memory and compare, both ways.
#[test]
fn shipped_traces_are_exactly_what_the_cases_generate() {
    let cases = trace_cases::all();
    let mut expected_names = BTreeSet::new();
    for case in &cases {
        let steps = trace_cases::generate(case).unwrap_or_else(|e| panic!("{e}"));
        let path = traces_root().join(format!("{}.jsonl", case.path));
        let shipped = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("{}: {e}; run `{}`", path.display(), trace_cases::REGENERATE)
        });
        assert!(
            shipped == trace_cases::render(case, &steps),
            "{} differs from its case; run `{}`",
            path.display(),
            trace_cases::REGENERATE
        );
        assert!(
            expected_names.insert(case.path.clone()),
            "{} twice",
            case.path
        );
    }
    let shipped_names: BTreeSet<String> = shipped().iter().map(relative_name).collect();
    assert_eq!(
        shipped_names, expected_names,
        "traces/ has files no case generates"
    );
    let index = std::fs::read_to_string(traces_root().join("README.md")).unwrap();
    assert_eq!(
        index,
        trace_cases::index(&cases),
        "traces/README.md is stale"
    );
}

/// The 16 ops of `model/src/op.rs`.
const OP_NAMES: [&str; 16] = [
    "create_topic",
    "delete_topic",
    "produce",
    "init_producer_id",
    "fetch",
    "list_offsets",
    "enforce_retention",
    "delete_records",
    "tick",
    "join_group",
    "leave_group",
    "heartbeat",
    "commit",
    "committed",
    "poll",
    "describe_group",
];

/// The invariant names listed under "## Invariants" in docs/model.md.
fn documented_invariants() -> Vec<String> {
    let spec =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/model.md"))
            .unwrap();
    let section = spec
        .split("## Invariants")
        .nth(1)
        .expect("an Invariants section");
    let names: Vec<String> = section
        .lines()
        .filter_map(|line| line.strip_prefix("- `"))
        .filter_map(|rest| rest.split('`').next())
        .map(str::to_string)
        .collect();
    assert!(names.len() >= 10, "found only {names:?}");
    names
}

/// Goal: the conformance traces cover every op, every error and every invariant, and each
/// shows what its name says. Method: look for each name's trace, and in it for a step with
/// that op succeeding or that error being returned.
#[test]
fn conformance_traces_cover_every_op_error_and_invariant() {
    let traces = shipped();
    let named = |prefix: &str| -> Vec<&Trace> {
        traces
            .iter()
            .filter(|t| relative_name(t).starts_with(&format!("conformance/{prefix}")))
            .collect()
    };
    for op in OP_NAMES {
        let found = named(&format!("op-{op}-"));
        assert!(!found.is_empty(), "no conformance/op-{op}-*.jsonl");
        for trace in found {
            assert!(
                trace
                    .lines
                    .iter()
                    .any(|l| l.step.op.name() == op && l.step.ret.is_ok()),
                "{} has no successful {op}",
                trace.path.display()
            );
        }
    }
    for code in ErrorCode::ALL {
        let found = named(&format!("error-{}-", code.name()));
        assert!(
            !found.is_empty(),
            "no conformance/error-{}-*.jsonl",
            code.name()
        );
        for trace in found {
            assert!(
                trace.lines.iter().any(|l| l.step.ret == Err(code)),
                "{} never returns {code}",
                trace.path.display()
            );
        }
    }
    for invariant in documented_invariants() {
        assert!(
            !named(&format!("invariant-{invariant}")).is_empty(),
            "no conformance/invariant-{invariant}.jsonl"
        );
    }
}
