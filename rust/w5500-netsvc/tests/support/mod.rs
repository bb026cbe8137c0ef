//! Set-up shared by the w5500-netsvc integration tests (one module, included by each test
//! binary with `mod support;`; each binary uses the part it needs):
//! - [`dhcp`]: hand-built DHCP server replies and a harness that runs the client on the
//!   simulator's LAN (dhcp_client, dhcp_lan, dhcp_parse);
//! - [`dns`]: hand-built DNS messages and a small driver for the resolver (dns_gai,
//!   dns_resolver, dns_wire);
//! - [`dns_lan`]: the resolver on the simulator's LAN through [`lan`], the fake chip of the
//!   simulator's own tests (dns_lan).
#![allow(dead_code)]

pub mod dhcp;
pub mod dns;
pub mod dns_lan;
#[path = "../../../w5500-sim/tests/support/lan.rs"]
pub mod lan;
