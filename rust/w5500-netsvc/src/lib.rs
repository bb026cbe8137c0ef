//! DHCP and DNS clients for the W5500 driver, in `no_std` Rust.
//!
//! The W5500 has no DHCP or DNS of its own, and Zephyr's native clients do not run on an
//! offloaded interface, so the driver carries both. They are written *sans-IO*: each is a
//! state machine that is handed received datagrams and the current time, and says what to
//! transmit and when it next needs to run. That keeps them deterministic, testable without a
//! chip, and fuzzable; the glue that moves their datagrams through the chip's UDP (and, for
//! truncated DNS answers, TCP) sockets lives with the driver.
//!
//! - [`dhcp`]: RFC 2131/2132 client.
//! - [`dns`]: RFC 1035 stub resolver with a getaddrinfo-shaped front end.
//!
//! Examples that run against the simulator's LAN (`w5500-sim`): a lease from its DHCP server
//! ([`dhcp::Client`]), a name from its DNS server ([`dns::Resolver`]), and getaddrinfo's
//! argument rules ([`dns::Resolver::getaddrinfo`]). The interface that carries both over the
//! chip's sockets, with its own examples, is `w5500-iface`.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod dhcp;
pub mod dns;
