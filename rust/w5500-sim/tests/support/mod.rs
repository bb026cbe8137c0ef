//! Set-up shared by the w5500-sim integration tests: one module, included by each test binary
//! with `mod support;`; each binary uses the part it needs:
//! - [`chip`]: a tiny register-level driver written from the datasheet and frame builders for
//!   a scripted peer (chip_*);
//! - [`lan`]: a test-side stand-in for the chip on the in-memory LAN (lan_*; also included
//!   by w5500-netsvc's tests);
//! - [`hostnet`]: the test plays the chip against `HostNet` frame by frame (hostnet_*);
//! - [`bridge`]: a bridge server in a thread, or the `w5500-sim` binary, with a client
//!   (bridge_*);
//! - [`newam`]: newAM's `w5500-hl` driver on the simulated chip and LAN, with bounded loops in
//!   simulated time (crosscheck_newam);
//! - [`frames`]: views into a simulated frame (IPv4, TCP, ARP), shared by `chip` and `hostnet`;
//! - [`process`]: skip when a tool is missing, kill a child process when the test ends.
#![allow(dead_code, unused_imports)]

pub mod bridge;
pub mod chip;
pub mod frames;
pub mod hostnet;
pub mod lan;
pub mod newam;
pub mod process;
