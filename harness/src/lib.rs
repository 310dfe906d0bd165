//! The harness: checks of implementations against the model, and the `streamspec` command line.
//!
//! Modules:
//! - [`target`]: the interface every implementation under check offers.
//! - [`history`]: concurrent histories, their JSON Lines format and a recorder.
#![forbid(unsafe_code)]

pub mod history;
pub mod target;
pub mod anomaly;
pub mod linearizability;
pub mod reference;
pub mod workload;
pub mod gate;
pub mod timeline;
pub mod differential;
