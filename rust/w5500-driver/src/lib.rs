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
