#![no_main]
//! cargo-fuzz target `hostile_chip`: see `w5500_fuzz::chip::hostile_chip`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = w5500_fuzz::chip::hostile_chip(data);
});
