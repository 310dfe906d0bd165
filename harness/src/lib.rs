//! The harness: checks of implementations against the model, and the `streamspec` command line.
#![forbid(unsafe_code)]
