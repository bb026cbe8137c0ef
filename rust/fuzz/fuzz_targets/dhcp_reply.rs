#![no_main]
//! cargo-fuzz target `dhcp_reply`: see `w5500_fuzz::dhcp_reply`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    w5500_fuzz::dhcp_reply(data);
});
