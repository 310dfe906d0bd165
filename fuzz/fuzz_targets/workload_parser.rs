//! Benchmark workload bytes: parse; an accepted workload keeps every documented limit; never
//! a panic. See `streamspec_fuzz::workload_file`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    streamspec_fuzz::workload_file::fuzz_workload_parser(data);
});
