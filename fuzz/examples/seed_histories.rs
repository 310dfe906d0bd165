//! Writes seed histories for the `history_parser` target from the shipped traces: each trace
//! once as a sequential history, and once spread over two processes whose ops overlap in
//! time (still linearizable: the trace's order is a valid one), so the fuzzer starts from
//! both shapes.
//!
//!   cargo run --manifest-path fuzz/Cargo.toml --example seed_histories   (fuzz/seed.sh runs it)

use std::path::{Path, PathBuf};

use streamspec::history::History;
use streamspec::trace::{trace_files, Trace};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("corpus/history_parser");
    std::fs::create_dir_all(&corpus)?;
    let mut written = 0;
    for file in trace_files(&[root.join("../traces")])? {
        let trace = Trace::read(&file)?;
        let steps: Vec<_> = trace
            .lines
            .into_iter()
            .map(|line| (line.step.op, line.step.ret))
            .collect();
        let sequential = History::sequential(steps);
        let mut overlapping = sequential.clone();
        for operation in &mut overlapping.ops {
            // Op i runs on process i % 2 from time 4i to 4i + 6: each overlaps its neighbours
            // on the other process, and a process's ops never overlap each other.
            let i = operation.id as u64;
            operation.process = i % 2;
            operation.invoke_ns = 4 * i;
            operation.complete_ns = Some(4 * i + 6);
        }
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        for (shape, history) in [("sequential", sequential), ("overlapping", overlapping)] {
            let path: PathBuf = corpus.join(format!("seed-{stem}-{shape}.jsonl"));
            let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
            history.write_jsonl(&mut out)?;
            written += 1;
        }
    }
    println!("seeded history_parser with {written} histories made from traces/");
    Ok(())
}
