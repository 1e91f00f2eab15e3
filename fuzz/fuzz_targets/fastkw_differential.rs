#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| keyhier::internal::fuzzing::fastkw_differential(data));
