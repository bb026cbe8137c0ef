//! Fuzz harnesses for the W5500 driver, its DHCP/DNS clients and the simulator's wire codec.
//!
//! Each `fuzz_targets/*.rs` is a one-line call into this library, so the same harness also
//! runs on stable Rust: `tests/replay.rs` feeds it the committed seed corpus and a few
//! thousand pseudo-random inputs (no nightly, no libFuzzer), which is what CI can always run.
//!
//! - [`dhcp_reply`], [`dns_reply`]: the crates' own reply-parser entry points.
//! - [`session::dhcp_dns_session`]: a DHCP client and a DNS resolver driven through a short
//!   exchange whose every reply comes from the input; checks that nothing panics and that
//!   neither ever asks to be woken at or before "now" once serviced (no busy loop).
//! - [`chip::hostile_chip`]: the driver against a chip whose every MISO byte comes from the
//!   input; checks framing, register-window bounds and that each call returns within a bounded
//!   number of SPI transactions and bounded delay.
//! - [`sim_spi::sim_spi`]: the simulator fed hostile SPI frames (the other side of the bus).
//! - [`wire_decode`]: the simulator's Ethernet codec: never panics, and what it decodes
//!   re-encodes to something that decodes to the same frame.

pub mod chip;
pub mod input;
pub mod session;
pub mod sim_spi;

pub use input::Input;

/// Target `dhcp_reply`: [`w5500_netsvc::dhcp::fuzz_parse`] (parser, then a client in
/// SELECTING and one in REQUESTING fed the datagram).
pub fn dhcp_reply(data: &[u8]) {
    w5500_netsvc::dhcp::fuzz_parse(data);
}

/// Target `dns_reply`: [`w5500_netsvc::dns::fuzz_parse`] (parser, then a resolver fed the
/// datagram over UDP and TCP).
pub fn dns_reply(data: &[u8]) {
    w5500_netsvc::dns::fuzz_parse(data);
}

/// Target `wire_decode`: [`w5500_sim::wire::decode`] must never panic, and a frame it accepts
/// must survive `encode` then `decode` unchanged (the codec's round-trip contract).
pub fn wire_decode(data: &[u8]) {
    if let Ok(frame) = w5500_sim::wire::decode(data) {
        let bytes = w5500_sim::wire::encode(&frame);
        let again = w5500_sim::wire::decode(&bytes);
        assert_eq!(again.as_ref(), Ok(&frame), "wire: decode(encode(f)) != f");
    }
}
