//! History bytes: parse, writer round trip, verify; never a panic. See
//! `streamspec_fuzz::history_file`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    streamspec_fuzz::history_file::fuzz_history_parser(data);
});
