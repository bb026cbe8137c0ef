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
//!
//! Where the datasheet is silent the chip makes a documented choice; the list is in the
//! [`chip`] module docs (e.g. `Sn_IMR` gates only SIR/INTn, TX pointers after TCP
//! establishment, `SEND_OK` timing) and the [`spi`] module docs (what MISO carries).
//!
//! # Not simulated
//! - PPPoE: `MR.PPPoE`, PTIMER, PMAGIC, PHAR, PSID and PMRU are stored only; `IR.PPPoE` is never set.
//! - Wake-on-LAN: `MR.WOL` is stored; magic packets are not recognised and `IR.MP` is never set.
//! - INTLEVEL: stored; INTn is a pure level and never re-pulses (research notes §1.10).
//! - IPRAW (`Sn_MR` = 0x03): refused as an invalid protocol (it is not in the W5500 DS table).
//! - IP options and fragments (the chip has no fragmentation; the frame model carries none).
//! - PHY electrics: no link partner negotiation (the configured mode is reported), PMODE pins
//!   fixed at "all capable", no LEDs; the link returns a fixed delay after a PHY reset.
//! - TCP beyond what the DS implies: no out-of-order queue (segments are dropped and a
//!   duplicate ACK sent), no urgent data, window scaling, SACK, timestamps, congestion control
//!   or RFC 5961 challenge ACKs; retransmission is go-back-N from the oldest unacknowledged byte.
//! - ICMP other than echo request and destination unreachable is ignored; the chip sends no
//!   port-unreachable of its own.
//! - IGMP reports answer queries at once (no random delay within the maximum response time)
//!   and the unsolicited report on OPEN is sent once.
//! - VERSIONR reading 0 for a while after reset on some batches (only the 1 ms PLL-lock window,
//!   during which every read returns 0, is modelled).
//! - SPI electrics: clock mode, maximum SCLK, setup/hold times.
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

pub use lan::Lan;

#[cfg(feature = "std")]
pub mod bridge;
#[cfg(feature = "std")]
pub mod hostnet;

pub use chip::{Chip, ChipConfig, Faults, Violation, ViolationKind};
pub use sim::{ClockMode, Sim, SimConfig};
pub use spi::{
    Area, SimCsPin, SimError, SimHandle, SimIntPin, SimResetPin, SimSpiBus, SimSpiDevice, SpiStats,
};
