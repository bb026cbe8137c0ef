#![no_main]
//! cargo-fuzz target `dns_reply`: see `w5500_fuzz::dns_reply`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    w5500_fuzz::dns_reply(data);
});
