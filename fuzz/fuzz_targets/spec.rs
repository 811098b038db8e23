#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| gaptrack::fuzzing::spec(data));
