#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| keyhier::fuzzing::rekey_model(data));
