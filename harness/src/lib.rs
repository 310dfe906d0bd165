//! The harness: checks of implementations against the model, and the `streamspec` command line.
//!
//! Modules:
//! - [`target`]: the interface every implementation under check offers.
//! - [`trace`]: the JSON Lines trace format (`docs/trace-format.md`): read, write, record.
#![forbid(unsafe_code)]

pub mod target;
pub mod trace;
