//! The harness: checks of implementations against the model, and the `streamspec` command line.
//!
//! Modules:
//! - [`target`]: the interface every implementation under check offers.
//! - [`trace`]: the JSON Lines trace format (`docs/trace-format.md`): read, write, record.
//! - [`replay`]: run a trace against the model, accepting the allowed alternatives.
//! - [`soak`]: producers, groups and retention together for a while; every record accounted for.
//! - [`cli`]: the `streamspec` command line, one file per command.
#![forbid(unsafe_code)]

pub mod cli;
pub mod replay;
pub mod soak;
pub mod target;
pub mod trace;
