//! A register-level WIZnet W5500 simulator that speaks real SPI frames.
//!
//! The simulator is faithful to the W5500 datasheet (v1.0.9), not to any driver: a driver talks
//! to it through embedded-hal 1.0 [`SpiDevice`](embedded_hal::spi::SpiDevice) (or `SpiBus` plus a
//! chip-select pin) exactly as it would talk to the chip, with 16-bit addresses, control bytes,
//! variable- and fixed-length data modes, and burst auto-increment.
//!
//! # Layers
//! - [`time`]: simulated time; the test owns the clock.
//! - [`net`]: the frames that cross the cable and the [`net::Network`] trait behind the PHY.
//! - [`wire`]: those frames as the exact bytes of Ethernet frames (used by MACRAW).
//! - [`regs`]: the chip's register map with datasheet reset values and access rules.
//! - [`chip`]: the chip itself: registers, the 32 KB buffer memory, commands, the hardwired
//!   TCP/UDP/ARP/ICMP/IGMP engine, MACRAW, interrupts and the INTn level.
//! - [`spi`]: SPI framing and the embedded-hal implementations, reset and INTn pins.
//! - [`sim`]: the simulator facade: a chip, its network, the clock, faults and SPI accounting.
//! - [`lan`]: the in-memory LAN with its fixtures (DHCP, DNS, echo, HTTP, byte source/sink).
//! - `hostnet` (`std`): the chip's sockets as host sockets in a network namespace.
//! - `bridge` (`std`): the simulated chip served to other programs over a local socket.
//!
//! The core is `no_std` with `alloc`, so it can also run inside a Zephyr image as an SPI
//! emulator; the `std` feature adds the host-socket backend, the bridge and wall-clock time.
#![cfg_attr(not(feature = "std"), no_std)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

extern crate alloc;

pub mod chip;
pub mod lan;
pub mod net;
pub mod regs;
pub mod sim;
pub mod spi;
pub mod time;
pub mod wire;

#[cfg(feature = "std")]
pub mod bridge;
#[cfg(feature = "std")]
pub mod hostnet;
