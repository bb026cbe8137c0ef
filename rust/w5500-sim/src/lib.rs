//! A register-level WIZnet W5500 simulator that speaks real SPI frames.
//!
//! The simulator is faithful to the W5500 datasheet (v1.0.9), not to any driver: a driver talks
//! to it through embedded-hal 1.0 [`SpiDevice`](embedded_hal::spi::SpiDevice) (or `SpiBus` plus a
//! chip-select pin) exactly as it would talk to the chip, with 16-bit addresses, control bytes,
//! variable- and fixed-length data modes, and burst auto-increment.
//!
//! # Example
//! A driver's first SPI frames (DS §2.2: two address bytes, a control byte, data) on a
//! simulated chip on the in-memory LAN: VERSIONR, then SIPR written and read back as bursts.
//! ```
//! use std::cell::RefCell;
//! use std::time::Duration;
//!
//! use embedded_hal::spi::{Operation, SpiDevice};
//! use w5500_sim::regs::{common, ctrl};
//! use w5500_sim::{Lan, Sim, SimSpiDevice};
//!
//! let sim = RefCell::new(Sim::new(Lan::standard()));
//! // The PLL locks 1 ms after reset; until then every read returns 0.
//! sim.borrow_mut().advance(Duration::from_millis(1));
//! let mut spi = SimSpiDevice::new(&sim);
//!
//! // Block 0 (common registers), read, variable-length data mode: control byte 0x00.
//! let [hi, lo] = common::VERSIONR.to_be_bytes();
//! let mut version = [0u8; 1];
//! spi.transaction(&mut [
//!     Operation::Write(&[hi, lo, ctrl::OM_VDM]),
//!     Operation::Read(&mut version),
//! ])?;
//! assert_eq!(version, [0x04]);
//!
//! // SIPR, four bytes from one address (auto-increment), written then read back.
//! let [hi, lo] = common::SIPR.to_be_bytes();
//! spi.write(&[hi, lo, ctrl::RWB_WRITE | ctrl::OM_VDM, 10, 77, 0, 50])?;
//! let mut sipr = [0u8; 4];
//! spi.transaction(&mut [
//!     Operation::Write(&[hi, lo, ctrl::OM_VDM]),
//!     Operation::Read(&mut sipr),
//! ])?;
//! assert_eq!(sipr, [10, 77, 0, 50]);
//! // Nothing the datasheet forbids was done.
//! assert!(sim.borrow().violations().is_empty());
//! # Ok::<(), w5500_sim::SimError>(())
//! ```
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
//!
//! # Cross-check with newAM's w5500-rs
//! `tests/crosscheck_newam.rs` runs newAM's `w5500-hl` 0.12, `w5500-dhcp` 0.7 and `w5500-dns`
//! 0.5 (MIT, crates.io, test dependencies only; over `w5500-ll` 0.13 VDM on [`SimSpiDevice`])
//! unchanged on the simulated chip behind [`Lan::standard`], driven by the simulated clock
//! with bounded loops. What they pass:
//! - `w5500-hl` TCP client: `tcp_connect` to the echo server and 256 KiB echoed with every
//!   byte compared, with 2 KB and 16 KB socket buffers (many 16-bit pointer wraps), and 64 KiB
//!   with 4 KB buffers and odd chunk sizes; `tcp_reader` reads the byte source's 1 MiB
//!   pattern, then sees `SOCK_CLOSE_WAIT` + `DISCON`; `tcp_disconnect` reaches `SOCK_CLOSED`.
//! - `w5500-hl` TCP server: `tcp_listen`; a LAN host connects; 64 KiB each way checked;
//!   `Sn_DIPR`/`Sn_DPORT` name the peer; the peer's FIN gives `CLOSE_WAIT`.
//! - `w5500-hl` UDP: `udp_bind`, `udp_send_to` / `udp_recv_from` through the UDP echo for
//!   1 to 1472 bytes (8-byte RX header, origin), a datagram from a LAN host and one back.
//! - `w5500-dhcp`: a lease from the LAN's DHCP server with `SIPR` = 0.0.0.0 meanwhile; address
//!   in the pool, `SIPR`/`SUBR` written, first DNS server and lease/T1/T2 (de-rated by 1/8 by
//!   the crate) as configured; renewal at T1 keeps the address.
//! - `w5500-dns`: `http.sim.lan` → 10.77.0.10, a CNAME chain reaches its A record, and an
//!   unknown name gives NXDOMAIN.
//!
//! Where they and the simulator disagree, the datasheet decides:
//! 1. **No wait for `Sn_CR` = 0.** `w5500-hl` returns right after writing a command and never
//!    reads `Sn_CR`. DS §3.2 `Sn_CR`: the register clears once the chip has *accepted* the
//!    command (no time is given), and a new `Sn_RX_RD` takes effect through RECV (`Sn_RX_RD`).
//!    The simulator recomputes `Sn_RX_RSR` when RECV is accepted
//!    ([`ChipConfig::command_delay`], 5 µs by default). So a `tcp_read` / `tcp_reader` /
//!    `udp_recv_from` called again at once reads the old `Sn_RX_RSR` with the new `Sn_RX_RD`:
//!    it returns bytes that were never received and its RECV commits a pointer beyond
//!    `Sn_RX_WR` (`RxOverRead`). Seen: the 1 MiB byte-source test read wrong data at byte 9652
//!    without a wait (engine stepped per transaction); with a 20 µs acceptance time a second
//!    `tcp_read` returns 100 phantom bytes (test `hl_tcp_read_twice_…`); with 5 µs the second
//!    read's two RSR bytes straddle the acceptance. The crate relies on timing the DS does not
//!    promise; the simulator is unchanged and the **harness** waits for `Sn_CR` = 0 between
//!    two calls (`settle`). Not coverable from outside: `w5500-dhcp`'s `process` reads the
//!    next datagram right after RECV for one it ignored.
//! 2. **OPEN written over a pending CLOSE.** `tcp_connect`, `tcp_listen` and `udp_bind` write
//!    CLOSE, then wait for `Sn_SR` = CLOSED, which is already true on a closed socket, and
//!    write OPEN; with a 20 µs acceptance time OPEN replaces the pending CLOSE
//!    (`CommandWhilePending`). Likewise `Common::close` right after a RECV (DHCP test, at the
//!    default 5 µs). The DS asks to wait for `Sn_CR` = 0; recorded as a crate finding, harness
//!    unchanged (the replaced command is harmless in these sequences).
//! 3. **Single reads of `Sn_TX_FSR` / `Sn_RX_RSR`** (DS p.54–55 asks for a repeated read):
//!    `w5500-ll` reads each once. With torn reads on, no wrong value was observed in these
//!    tests; the risk stays (a torn RSR during the RECV window of item 1 is one way to see it).
//! 4. **SEND without waiting for `SEND_OK`**: `tcp_write` / `udp_send` never check it, but in
//!    these tests every SEND had completed before the next (`SendWhileBusy` count 0), since a
//!    SEND completes on the wire time and the harness waits for `Sn_CR` = 0.
//! 5. **DHCP gateway** (RFC 2132 §3.5, not a chip matter): `w5500-dhcp` writes the server
//!    identifier (option 54) into `GAR` instead of the router option (3). On the standard LAN
//!    both are 10.77.0.1; with a server at 10.77.0.3 and router 10.77.0.1 `GAR` becomes
//!    10.77.0.3 (test `dhcp_client_gateway_comes_from_server_id_…`).
//! 6. **DHCP renewal** (RFC 2131 §4.3.2, not a chip matter): at T1 the crate broadcasts a
//!    SELECTING-style REQUEST (`ciaddr` 0, options 50 and 54) instead of a unicast with
//!    `ciaddr` set; the LAN's server ACKs it.
//!
//! Simulator bugs found by the cross-check: none. The three bulk tests (256 KiB ×2, 1 MiB)
//! turn [`SimConfig::torn_reads`] off: it costs about 50× in run time and they check the data
//! path, not tearing; the other tests keep it on.
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
