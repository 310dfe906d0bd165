//! The engine beside the model, compared after every op: see
//! `streamspec_fuzz::differential`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let engine = streamspec_engine::Engine::new();
    streamspec_fuzz::differential::fuzz_differential(data, |op| engine.apply(op));
});
