#![no_main]
//! cargo-fuzz target `wire_decode`: see `w5500_fuzz::wire_decode`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    w5500_fuzz::wire_decode(data);
});
