//! Fuzzing streamspec: the op vocabulary the targets draw from and the checks they run, as a
//! library so that the checks are unit-tested (including against planted bugs) on stable.
//!
//! Modules:
//! - [`step`]: the bounded, `arbitrary`-derived op vocabulary, and [`step::Script`], which
//!   aims each step at the current model state and produces an ordinary `Op`.
//! - [`model_run`]: steps from fuzz bytes, run against the model with every invariant
//!   checked after every op (target `model_invariants`).
//! - [`differential`]: steps from fuzz bytes, run against another implementation beside the
//!   model and compared after every op (target `differential`, with the engine).
//! - [`history_file`]: history files from bytes: parse, writer round trip, verify (target
//!   `history_parser`).
//! - [`trace_file`]: trace files from bytes: parse, replay, and the writer round trip
//!   (target `trace_parser`).
//! - [`workload_file`]: benchmark workload files from bytes: parse, and every accepted
//!   workload within its documented limits (target `workload_parser`).
//!
//! Targets (in `fuzz_targets/`, one file each) are thin: bytes in, one call here, panic on a
//! failure so libFuzzer records the input.
#![forbid(unsafe_code)]

pub mod differential;
pub mod history_file;
pub mod model_run;
pub mod step;
pub mod trace_file;
pub mod workload_file;
