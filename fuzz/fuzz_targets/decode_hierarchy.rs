#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| keyhier::fuzzing::decode_hierarchy(data));
