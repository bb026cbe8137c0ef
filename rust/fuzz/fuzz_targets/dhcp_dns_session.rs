#![no_main]
//! cargo-fuzz target `dhcp_dns_session`: see `w5500_fuzz::session::dhcp_dns_session`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = w5500_fuzz::session::dhcp_dns_session(data);
});
