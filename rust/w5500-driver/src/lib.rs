//! A `no_std` driver for the WIZnet W5500 that gives its hardwired TCP/IP engine BSD socket
//! semantics.
//!
//! Layers, bottom up:
//! - [`bus`]: SPI framing over embedded-hal 1.0 [`SpiDevice`](embedded_hal::spi::SpiDevice).
//! - [`chip`]: bring-up (reset, `VERSIONR` probe, soft reset), addresses, PHY, buffer plan,
//!   retry timing, interrupt masks.
//! - [`hw`]: hardware socket primitives (commands, pointers, ring access).
//! - [`stack`]: BSD socket semantics on the 8 hardware sockets, never blocking.
//! - [`bsd`]: blocking, timeouts, non-blocking mode and `poll()`, over a tiny OS interface.
//! - [`error`]: the one error enum and its errno names.
//!
//! # Example
//!
//! Bring the chip up, put the socket table over it and the blocking BSD calls over that, then
//! talk TCP to an echo server. Here the chip is the simulator (`w5500-sim`) on its in-memory
//! LAN and the OS binding is `w5500-testkit`'s; on a board the SPI device comes from the HAL
//! and the [`bsd::Os`] from the RTOS glue (`w5500-zephyr`).
//!
//! ```
//! use std::net::SocketAddrV4;
//! use std::sync::{Arc, Mutex};
//!
//! use w5500_driver::bsd::{Bsd, MsgFlags};
//! use w5500_driver::chip::{Chip, Config};
//! use w5500_driver::stack::{SockType, Stack, StackConfig};
//! use w5500_sim::lan::{standard, Lan};
//! use w5500_sim::sim::Sim;
//! use w5500_sim::spi::SimSpiDevice;
//! use w5500_testkit::{SimDelay, SimOs};
//!
//! // A W5500 on a LAN whose host 10.77.0.11 runs an echo server (RFC 862, TCP port 7).
//! let sim = Arc::new(Mutex::new(Sim::new(Lan::standard())));
//!
//! // Bring-up (datasheet §3): reset, VERSIONR probe, MAC and IPv4 addresses, buffer plan.
//! let mut chip = Chip::new(SimSpiDevice::new(sim.clone()));
//! let mut config = Config::new([0x02, 0x08, 0xdc, 0x00, 0x00, 0x01]);
//! config.ip = standard::CHIP_STATIC; // 10.77.0.50/24
//! config.netmask = standard::NETMASK;
//! config.gateway = standard::GATEWAY;
//! chip.init(&mut SimDelay(sim.clone()), &config)?;
//!
//! // The socket table over the chip; the blocking calls over an OS binding with INTn wired
//! // and a 50 ms safety poll.
//! let stack = Stack::new(chip, StackConfig::default())?;
//! let bsd = Bsd::new(SimOs::new(sim.clone(), stack, true, 50));
//!
//! let s = bsd.socket(SockType::Stream)?;
//! bsd.connect(s, SocketAddrV4::new(standard::ECHO, 7))?;
//! assert_eq!(bsd.send(s, b"hello, W5500", None, MsgFlags::default())?, 12);
//! let mut buf = [0u8; 12];
//! let waitall = MsgFlags {
//!     waitall: true,
//!     ..MsgFlags::default()
//! };
//! let (n, from) = bsd.recv(s, &mut buf, waitall)?;
//! assert_eq!(&buf[..n], b"hello, W5500");
//! assert_eq!(from, SocketAddrV4::new(standard::ECHO, 7));
//! bsd.close(s)?;
//! # Ok::<(), w5500_driver::Error>(())
//! ```
#![cfg_attr(not(test), no_std)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod bsd;
pub mod bus;
pub mod chip;
pub mod error;
pub mod hw;
pub mod stack;

pub use error::{Errno, Error, Result};
pub use w5500_regs as regs;
