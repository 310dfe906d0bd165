//! `cargo run -p streamspec-benches --example bench-table [CRITERION_DIR] [--runs A,B,..]`: the
//! markdown tables of docs/PERFORMANCE.md, from criterion's results (default
//! `target/criterion`): the last `cargo bench` run's, or, with `--runs`, those of the runs saved
//! with `cargo bench -- --save-baseline A` (and B, ..).
//!
//! One table per bench group: a row per swept count, a column per system with its median
//! throughput (criterion's median time per iteration, turned into records/s with the
//! group's declared `Throughput::Elements`; with several runs, the median over the runs of
//! those), then the engine's ratio to each peer. Several whole runs, one after another, are
//! what keeps a slow spell of a shared machine (it comes and goes over seconds to minutes,
//! for every system alike) from deciding a ratio: the spell falls on one system's samples
//! in one run, and the median over runs sets it aside. Rows whose threads outnumber this
//! machine's cores are marked oversubscribed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Systems in column order; the engine first (and its produce through the shared protocol),
/// then its peers.
const SYSTEMS: [&str; 7] = [
    "engine",
    "engine_shared",
    "disruptor",
    "disruptor_poller",
    "array_log",
    "crossbeam_channel",
    "rwlock_log",
];

/// One measured case.
struct Case {
    group: String,
    system: String,
    parameter: String,
    records_per_s: f64,
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// Every case under `dir`, from the result directories named `run` (`new` for the last run).
fn cases(dir: &Path, run: &str, out: &mut Vec<Case>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|n| n == run) {
            let (Some(benchmark), Some(estimates)) = (
                read_json(&path.join("benchmark.json")),
                read_json(&path.join("estimates.json")),
            ) else {
                continue;
            };
            let elements = benchmark["throughput"]["Elements"].as_f64();
            let median_ns = estimates["median"]["point_estimate"].as_f64();
            if let (Some(elements), Some(median_ns)) = (elements, median_ns) {
                let function = benchmark["function_id"].as_str().unwrap_or("?").to_string();
                // A bench without a parameter (the checker's) gets a row per function.
                let (system, parameter) = match benchmark["value_str"].as_str() {
                    Some(value) => (function, value.to_string()),
                    None => ("throughput".to_string(), function),
                };
                out.push(Case {
                    group: benchmark["group_id"].as_str().unwrap_or("?").to_string(),
                    system,
                    parameter,
                    records_per_s: elements / (median_ns * 1e-9),
                });
            }
        } else {
            cases(&path, run, out);
        }
    }
}

/// Threads a case runs, from its group and parameter.
fn threads(group: &str, parameter: &str) -> Option<usize> {
    let n: usize = parameter.trim_end_matches('B').parse().ok()?;
    if group.starts_with("fan_out") {
        Some(n + 1)
    } else if group.starts_with("latency") {
        Some(2)
    } else if group.starts_with("group_scaling") || group.starts_with("produce") {
        Some(n)
    } else {
        None
    }
}

fn rate(records_per_s: f64) -> String {
    if records_per_s >= 1e9 {
        format!("{:.2} G/s", records_per_s / 1e9)
    } else if records_per_s >= 1e6 {
        format!("{:.1} M/s", records_per_s / 1e6)
    } else {
        format!("{:.0} k/s", records_per_s / 1e3)
    }
}

/// The median of `values` (not empty).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

fn main() {
    let mut dir = PathBuf::from("target/criterion");
    let mut runs = vec!["new".to_string()];
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--runs" {
            let Some(names) = args.next() else {
                eprintln!("--runs needs a comma-separated list of saved baselines");
                std::process::exit(2);
            };
            runs = names.split(',').map(str::to_string).collect();
        } else {
            dir = PathBuf::from(arg);
        }
    }
    let mut all = Vec::new();
    for run in &runs {
        cases(&dir, run, &mut all);
    }
    if all.is_empty() {
        eprintln!(
            "no criterion results for run(s) {} under {}; run `cargo bench` first",
            runs.join(", "),
            dir.display()
        );
        std::process::exit(2);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // group -> parameter -> system -> records/s of each run
    let mut measured: BTreeMap<String, BTreeMap<String, BTreeMap<String, Vec<f64>>>> =
        BTreeMap::new();
    for case in all {
        measured
            .entry(case.group)
            .or_default()
            .entry(case.parameter)
            .or_default()
            .entry(case.system)
            .or_default()
            .push(case.records_per_s);
    }
    // group -> parameter -> system -> median records/s over the runs
    let groups: BTreeMap<String, BTreeMap<String, BTreeMap<String, f64>>> = measured
        .into_iter()
        .map(|(group, rows)| {
            let rows = rows
                .into_iter()
                .map(|(parameter, row)| {
                    let row = row
                        .into_iter()
                        .map(|(system, mut per_run)| (system, median(&mut per_run)))
                        .collect();
                    (parameter, row)
                })
                .collect();
            (group, rows)
        })
        .collect();
    if runs.len() > 1 {
        println!("Medians over {} runs: {}.", runs.len(), runs.join(", "));
    }
    for (group, rows) in &groups {
        // The known systems in their order, then anything else measured (other benches).
        let mut systems: Vec<&str> = SYSTEMS
            .iter()
            .copied()
            .filter(|s| rows.values().any(|r| r.contains_key(*s)))
            .collect();
        for row in rows.values() {
            for system in row.keys() {
                if !systems.contains(&system.as_str()) {
                    systems.push(system);
                }
            }
        }
        let peers: Vec<&str> = if systems.contains(&"engine") {
            systems.iter().copied().filter(|s| *s != "engine").collect()
        } else {
            Vec::new()
        };
        println!("\n#### `{group}`\n");
        let mut header = String::from("| n | threads |");
        let mut rule = String::from("|---|---|");
        for system in &systems {
            header.push_str(&format!(" {system} |"));
            rule.push_str("---|");
        }
        for peer in &peers {
            header.push_str(&format!(" engine / {peer} |"));
            rule.push_str("---|");
        }
        println!("{header}\n{rule}");
        let mut parameters: Vec<&String> = rows.keys().collect();
        parameters.sort_by_key(|p| p.trim_end_matches('B').parse::<usize>().unwrap_or(0));
        for parameter in parameters {
            let row = &rows[parameter];
            let threads = threads(group, parameter);
            let mark = match threads {
                Some(t) if t > cores => format!("{t} (oversubscribed)"),
                Some(t) => t.to_string(),
                None => "-".into(),
            };
            let mut line = format!("| {parameter} | {mark} |");
            for system in &systems {
                line.push_str(&format!(
                    " {} |",
                    row.get(*system).map_or("-".into(), |r| rate(*r))
                ));
            }
            for peer in &peers {
                let ratio = match (row.get("engine"), row.get(*peer)) {
                    (Some(engine), Some(peer)) => format!("{:.2}x", engine / peer),
                    _ => "-".into(),
                };
                line.push_str(&format!(" {ratio} |"));
            }
            println!("{line}");
        }
    }
}
