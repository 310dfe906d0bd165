//! The model alone, every invariant checked after every op: see `streamspec_fuzz::model_run`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    streamspec_fuzz::model_run::fuzz_model_invariants(data);
});
