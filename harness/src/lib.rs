//! The harness: checks of implementations against the model, and the `streamspec` command line.
//!
//! Modules:
//! - [`target`]: the interface every implementation under check offers.
//! - [`trace`]: the JSON Lines trace format (`docs/trace-format.md`): read, write, record.
//! - [`replay`]: run a trace against the model, accepting the allowed alternatives.
//! - [`soak`]: producers, groups and retention together for a while; every record accounted for.
//! - [`jepsen`]: Jepsen Kafka histories (EDN) read and converted to our history events.
//! - [`cli`]: the `streamspec` command line, one file per command.
//! - [`reference`]: the model as a target, and any target behind a mutex.
//! - [`history`]: concurrent histories, their JSON Lines format and a recorder.
//! - [`workload`]: seeded client workloads for recorded histories.
//! - [`linearizability`]: Wing–Gong–Lowe with memoisation, split per partition and group.
//! - [`anomaly`]: what went wrong, in Jepsen's Kafka vocabulary.
//! - [`gate`]: record, judge with both checkers, name the findings.
//! - [`differential`]: model and target in lockstep on random sequences, with shrinking.
//! - [`timeline`]: counterexamples as text and HTML/SVG timelines.
//! - [`bench`]: `streamspec bench`: workload files, the engine runner, results, baseline,
//!   plot.
#![forbid(unsafe_code)]

pub mod anomaly;
pub mod bench;
pub mod cli;
pub mod differential;
pub mod gate;
pub mod history;
pub mod jepsen;
pub mod linearizability;
pub mod reference;
pub mod replay;
pub mod soak;
pub mod target;
pub mod timeline;
pub mod trace;
pub mod workload;
