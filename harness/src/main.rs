//! The `streamspec` binary; the commands live in `streamspec::cli`.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    streamspec::cli::main()
}
