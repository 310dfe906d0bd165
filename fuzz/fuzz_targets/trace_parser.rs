//! Trace bytes: parse, replay, writer round trip; never a panic. See
//! `streamspec_fuzz::trace_file`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    streamspec_fuzz::trace_file::fuzz_trace_parser(data);
});
