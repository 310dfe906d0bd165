//! Writes the shipped traces (`traces/`) from the hand-written cases in
//! `harness/tests/trace_cases/mod.rs`, refusing any case where the model disagrees with the
//! result worked out by hand.
//!
//! `cargo run -p streamspec --example gen_traces [-- TRACES_DIR]` (default `traces`, relative
//! to the workspace root). `tests/shipped_traces.rs` checks the files stay equal to this output.

#[path = "../tests/trace_cases/mod.rs"]
mod trace_cases;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let harness = Path::new(env!("CARGO_MANIFEST_DIR"));
            harness.parent().unwrap_or(harness).join("traces")
        });
    let cases = trace_cases::all();
    let mut failed = false;
    for case in &cases {
        match trace_cases::generate(case) {
            Ok(steps) => {
                let path = root.join(format!("{}.jsonl", case.path));
                let written = path
                    .parent()
                    .map_or(Ok(()), std::fs::create_dir_all)
                    .and_then(|()| std::fs::write(&path, trace_cases::render(case, &steps)));
                if let Err(error) = written {
                    eprintln!("{}: {error}", path.display());
                    failed = true;
                }
            }
            Err(disagreement) => {
                eprintln!("{disagreement}");
                failed = true;
            }
        }
    }
    if let Err(error) = std::fs::write(root.join("README.md"), trace_cases::index(&cases)) {
        eprintln!("README.md: {error}");
        failed = true;
    }
    if failed {
        ExitCode::FAILURE
    } else {
        println!("wrote {} traces under {}", cases.len(), root.display());
        ExitCode::SUCCESS
    }
}
