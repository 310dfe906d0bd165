//! The harness: checks of implementations against the model, and the `streamspec` command line.
//!
//! Modules:
//! - [`target`]: the interface every implementation under check offers.
//! - [`trace`]: the JSON Lines trace format (`docs/trace-format.md`): read, write, record.
//! - [`replay`]: run a trace against the model, accepting the allowed alternatives.
//! - [`jepsen`]: Jepsen Kafka histories (EDN) read and converted to our history events.
//! - [`cli`]: the `streamspec` command line, one file per command.
#![forbid(unsafe_code)]

pub mod cli;
pub mod jepsen;
pub mod replay;
pub mod target;
pub mod trace;
