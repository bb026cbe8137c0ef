//! The simulated chip served to other programs over a local socket (`std`).
//!
//! The `w5500-sim` binary runs a [`Server`] that owns a [`BridgeTarget`] (the simulated chip, or
//! the [`RegisterFile`] self-test target) and lets a client in any language drive its SPI bus,
//! its reset pin and its INTn pin, and read or advance its clock. [`Client`] is the Rust client:
//! it implements embedded-hal 1.0 [`SpiDevice`](embedded_hal::spi::SpiDevice), and hands out
//! an [`IntPin`] ([`InputPin`](embedded_hal::digital::InputPin)) and a [`ResetPin`]
//! ([`OutputPin`](embedded_hal::digital::OutputPin)). `scripts/bridge_client.py` is a small
//! Python client written from this page alone, and `zephyr/src/w5500_emul_bridge_bottom.c` the
//! C client a Zephyr image on a native board uses as its SPI emulator
//! (`CONFIG_W5500_OFFLOAD_EMUL_BRIDGE`: it sends SELECT, TRANSFER and DESELECT of a frame in one
//! write and reads the three replies, and moves a simulated clock to its uptime with GET_TIME
//! and ADVANCE). With `--backend hostnet` the served chip's sockets are host sockets
//! ([`crate::hostnet`]).
//!
//! # Wire protocol, version 1
//!
//! **Transport.** A byte stream: a Unix stream socket (default) or TCP on `127.0.0.1` only.
//! The server serves one client at a time; further clients wait in the listen backlog and are
//! served in turn. The chip state persists from one client to the next.
//!
//! **Framing.** All integers are big-endian (network order). The client sends requests; the
//! server answers every request with exactly one reply, in order. The server never sends
//! anything unsolicited. There is no pipelining requirement, but a client may pipeline: replies
//! come back in request order.
//!
//! ```text
//! request: op:u8     len:u32  payload[len]
//! reply:   status:u8 len:u32  payload[len]
//! ```
//!
//! `len` is at most [`MAX_PAYLOAD`] (1 MiB). A request with a larger `len` gets a `TOO_LARGE`
//! reply and the server closes the connection (it cannot find the next message boundary).
//!
//! **Session.** The first request must be `HELLO`; anything else before it gets `BAD_STATE`.
//! A `HELLO` with a version the server does not speak gets `VERSION` and the connection is
//! closed. A second `HELLO` gets `BAD_STATE`.
//!
//! **Requests** (`op`, name, request payload → payload of the `OK` reply):
//!
//! | op   | name          | request payload                         | OK reply payload |
//! |------|---------------|-----------------------------------------|------------------|
//! | 0x01 | HELLO         | `"W5SB"` (4 ASCII bytes), version:u16 (=1) | `"W5SB"`, version:u16, clock:u8 (0 wall, 1 simulated), spi_hz:u32 |
//! | 0x02 | BYE           | empty                                   | empty; then the server closes the connection |
//! | 0x10 | SELECT        | empty                                   | empty. Chip select goes low: a new SPI frame starts. `BAD_STATE` if already selected |
//! | 0x11 | TRANSFER      | N bytes for MOSI (N ≥ 0)                | N bytes clocked out on MISO during the same clocks (full duplex). `BAD_STATE` unless selected |
//! | 0x12 | DESELECT      | empty                                   | empty. Chip select goes high: the frame ends. `BAD_STATE` unless selected |
//! | 0x20 | RESET_PULSE   | empty                                   | empty. A hardware reset (RSTn pulsed low, then released). `BAD_STATE` while selected |
//! | 0x21 | SET_RESET_PIN | low:u8 (1 = drive RSTn low, 0 = release) | empty. Holding RSTn low keeps the chip in reset; releasing it completes the reset. Other values: `BAD_REQUEST` |
//! | 0x30 | GET_INT       | empty                                   | asserted:u8 (1 = INTn is low, i.e. an interrupt is pending) |
//! | 0x31 | WAIT_INT      | timeout_us:u32                          | asserted:u8. Returns as soon as INTn is low, or after the timeout (clamped to 60 s). With the simulated clock, waiting advances simulated time (1 ms steps) |
//! | 0x40 | GET_TIME      | empty                                   | now_us:u64, microseconds since the chip was powered |
//! | 0x41 | ADVANCE       | d_us:u64                                | now_us:u64 after advancing. `UNSUPPORTED` when the server runs on the wall clock |
//! | 0x50 | LAN_CLIENT    | UTF-8 text: one or more LAN clients (grammar below) | count:u16, then client_id:u32 per client. Hosts on the simulated LAN will connect to the chip as scheduled. `BAD_REQUEST` (with the reason) when the text is wrong: then none is added. `UNSUPPORTED` when the chip is not on the in-memory LAN |
//! | 0x51 | LAN_REPORTS   | empty                                   | pending:u32, count:u16, then count reports (below), oldest first. Reports are handed out once. `UNSUPPORTED` as for LAN_CLIENT |
//!
//! A transaction is `SELECT`, any number of `TRANSFER`s (the chip sees one continuous frame,
//! e.g. a 3-byte header in one transfer and the data in the next), then `DESELECT`.
//!
//! **LAN clients** (connections *to* the chip). The text of `LAN_CLIENT` is the grammar of
//! [`crate::lan::clients::spec`], e.g. `tcp port=5000 send=text:hello%0A expect=echo count=2`;
//! `start` counts from the request. The clients run on the chip's clock: with the simulated
//! clock they progress as the client's requests move time (TRANSFER, WAIT_INT, ADVANCE).
//! `pending` counts exchanges not finished yet. Each report (all integers big-endian):
//!
//! ```text
//! client_id:u32 round:u32 index:u32 outcome:u8 proto:u8 attempts:u32 sent:u64 received:u64
//! started_us:u64 finished_us:u64 local_ip:[4] local_port:u16 remote_ip:[4] remote_port:u16
//! text_len:u16 text[text_len]
//! ```
//!
//! `outcome` is [`crate::lan::clients::Outcome`] (0 ok, 1 refused, 2 reset, 3 closed-early,
//! 4 mismatch, 5 bad-response, 6 timeout, 7 no-address, 8 heap-short, 9 accepted), `proto`
//! 0 TCP / 1 UDP, addresses 0.0.0.0:0 when unknown, `text` the report as one UTF-8 line
//! (`lan client NAME#ROUND.INDEX OUTCOME: ...`). At most [`MAX_REPORTS_PER_REPLY`] reports
//! per reply; the rest stay for the next.
//!
//! **Replies with errors.** `status` ≠ 0 means the request failed and changed nothing; the
//! payload is a short UTF-8 message for humans (may be empty):
//!
//! | status | name        | meaning |
//! |--------|-------------|---------|
//! | 0      | OK          | success |
//! | 1      | BAD_REQUEST | unknown op, wrong payload length, bad magic or value |
//! | 2      | BAD_STATE   | not allowed now (no HELLO yet, second HELLO, TRANSFER/DESELECT while not selected, SELECT while selected, RESET_PULSE while selected) |
//! | 3      | UNSUPPORTED | not available in this server's mode (ADVANCE on the wall clock) |
//! | 4      | TOO_LARGE   | `len` above [`MAX_PAYLOAD`]; the server closes the connection after this reply |
//! | 5      | VERSION     | HELLO with a version the server does not speak; the server closes the connection |
//!
//! After `BAD_REQUEST`, `BAD_STATE` and `UNSUPPORTED` the connection stays usable.
//!
//! **Disconnect.** When a client goes away (BYE, EOF, error, or a closed connection after
//! `TOO_LARGE`/`VERSION`), the server deselects the chip if a transaction was open (the chip sees
//! chip select rise and ends the frame as it would on real hardware) and releases RSTn if the
//! client held it low, then serves the next client.
//!
//! **Versioning.** The version is a single u16; a server speaks exactly the versions it lists
//! ([`VERSION`] = 1 here). Additions that old clients can ignore get new op codes within the
//! same version; anything else bumps the version. History of version 1: the first servers
//! had ops 0x01–0x41; `LAN_CLIENT` and `LAN_REPORTS` (0x50, 0x51) came later. A client finds
//! out whether a server has them from the reply: an older server answers `BAD_REQUEST`
//! ("unknown op") and the connection stays usable.

mod cli;
mod client;
mod regfile;
mod server;
mod wire;

pub use cli::{parse_args, Backend, Command, HostNetOptions, ListenAddr, Options, USAGE};
pub use client::{Client, ClientError, IntPin, ResetPin, ServerInfo};
pub use regfile::RegisterFile;
pub use server::{Listener, Server, ServerConfig};
pub use wire::{decode_reports, encode_reports};

use core::time::Duration;
use std::sync::{Arc, Mutex};

use crate::lan::ClientReport;
use crate::time::Instant;

/// Protocol version this crate speaks.
pub const VERSION: u16 = 1;
/// The 4 magic bytes at the start of HELLO and of its reply.
pub const MAGIC: [u8; 4] = *b"W5SB";
/// Largest payload of a request or reply.
pub const MAX_PAYLOAD: u32 = 1 << 20;
/// Longest WAIT_INT the server honours; longer timeouts are clamped.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// Most reports one LAN_REPORTS reply carries.
pub const MAX_REPORTS_PER_REPLY: usize = 1000;

/// Why a LAN-client request failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LanError {
    /// The target has no in-memory LAN (the register file, the host-socket backend).
    Unsupported,
    /// The client text was wrong (the reason).
    Bad(String),
}

/// Request op codes (see the module docs).
pub mod op {
    /// Open the session: magic and version.
    pub const HELLO: u8 = 0x01;
    /// Close the session.
    pub const BYE: u8 = 0x02;
    /// Chip select low.
    pub const SELECT: u8 = 0x10;
    /// Full-duplex transfer of N bytes.
    pub const TRANSFER: u8 = 0x11;
    /// Chip select high.
    pub const DESELECT: u8 = 0x12;
    /// Pulse RSTn.
    pub const RESET_PULSE: u8 = 0x20;
    /// Drive or release RSTn.
    pub const SET_RESET_PIN: u8 = 0x21;
    /// Read the INTn level.
    pub const GET_INT: u8 = 0x30;
    /// Wait until INTn is asserted or a timeout.
    pub const WAIT_INT: u8 = 0x31;
    /// Read the chip's clock.
    pub const GET_TIME: u8 = 0x40;
    /// Advance the simulated clock.
    pub const ADVANCE: u8 = 0x41;
    /// Schedule clients on the LAN that connect to the chip.
    pub const LAN_CLIENT: u8 = 0x50;
    /// Take the reports of finished LAN-client exchanges.
    pub const LAN_REPORTS: u8 = 0x51;
}

/// Reply status codes (see the module docs).
pub mod status {
    /// Success.
    pub const OK: u8 = 0;
    /// Malformed request.
    pub const BAD_REQUEST: u8 = 1;
    /// Request not allowed in the current state.
    pub const BAD_STATE: u8 = 2;
    /// Not available in this server's mode.
    pub const UNSUPPORTED: u8 = 3;
    /// Payload length above the limit; the connection is closed.
    pub const TOO_LARGE: u8 = 4;
    /// Unsupported protocol version; the connection is closed.
    pub const VERSION: u8 = 5;
}

/// Which clock the served chip runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockMode {
    /// The host's monotonic clock (needed with the host-socket backend).
    Wall,
    /// Simulated time that advances only with SPI traffic and ADVANCE requests.
    Sim,
}

impl ClockMode {
    /// The byte HELLO's reply carries for this mode.
    pub fn to_wire(self) -> u8 {
        match self {
            ClockMode::Wall => 0,
            ClockMode::Sim => 1,
        }
    }

    /// The mode for a HELLO reply byte.
    pub fn from_wire(b: u8) -> Option<Self> {
        match b {
            0 => Some(ClockMode::Wall),
            1 => Some(ClockMode::Sim),
            _ => None,
        }
    }
}

/// What the bridge serves: the chip's pins and bus. The simulator facade implements it with
/// the same method names; [`RegisterFile`] is a stand-in for tests.
pub trait BridgeTarget {
    /// Chip select goes low: a new SPI frame starts.
    fn select(&mut self);
    /// Clock `buf.len()` bytes: `buf` holds MOSI on entry and MISO on return.
    fn transfer_in_place(&mut self, buf: &mut [u8]);
    /// Chip select goes high: the frame ends.
    fn deselect(&mut self);
    /// Pulse RSTn: a full hardware reset.
    fn hardware_reset(&mut self);
    /// Drive RSTn low (`true`, chip held in reset) or release it (`false`).
    fn set_reset_pin(&mut self, low: bool);
    /// True while INTn is low (an unmasked interrupt is pending).
    fn int_asserted(&mut self) -> bool;
    /// The chip's clock.
    fn now(&self) -> Instant;
    /// Advance the chip's clock by `d` (simulated clock only; a no-op on the wall clock).
    fn advance(&mut self, d: Duration);
    /// Schedule LAN clients from their text ([`crate::lan::clients::spec`]); returns their
    /// ids. By default the target has no LAN.
    fn lan_clients(&mut self, _spec: &str) -> Result<Vec<u32>, LanError> {
        Err(LanError::Unsupported)
    }
    /// Take up to `max` finished LAN-client reports, with the count of exchanges still
    /// pending. By default the target has no LAN.
    fn lan_reports(&mut self, _max: usize) -> Result<(u64, Vec<ClientReport>), LanError> {
        Err(LanError::Unsupported)
    }
}

/// A target shared behind a mutex (the simulator is shared between threads that way). A
/// poisoned lock is used anyway: the target has no invariant a panicking test could break.
impl<T: BridgeTarget> BridgeTarget for Arc<Mutex<T>> {
    fn select(&mut self) {
        lock(self).select()
    }
    fn transfer_in_place(&mut self, buf: &mut [u8]) {
        lock(self).transfer_in_place(buf)
    }
    fn deselect(&mut self) {
        lock(self).deselect()
    }
    fn hardware_reset(&mut self) {
        lock(self).hardware_reset()
    }
    fn set_reset_pin(&mut self, low: bool) {
        lock(self).set_reset_pin(low)
    }
    fn int_asserted(&mut self) -> bool {
        lock(self).int_asserted()
    }
    fn now(&self) -> Instant {
        lock(self).now()
    }
    fn advance(&mut self, d: Duration) {
        lock(self).advance(d)
    }
    fn lan_clients(&mut self, spec: &str) -> Result<Vec<u32>, LanError> {
        lock(self).lan_clients(spec)
    }
    fn lan_reports(&mut self, max: usize) -> Result<(u64, Vec<ClientReport>), LanError> {
        lock(self).lan_reports(max)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The simulated chip itself as a bridge target.
impl<N: crate::net::Network> BridgeTarget for crate::sim::Sim<N> {
    fn select(&mut self) {
        // A select while selected is the client's protocol error; the server refuses it
        // before it gets here, so the simulator's own check can only repeat it.
        let _ = crate::sim::Sim::select(self);
    }
    fn transfer_in_place(&mut self, buf: &mut [u8]) {
        crate::sim::Sim::transfer_in_place(self, buf)
    }
    fn deselect(&mut self) {
        crate::sim::Sim::deselect(self)
    }
    fn hardware_reset(&mut self) {
        crate::sim::Sim::hardware_reset(self)
    }
    fn set_reset_pin(&mut self, low: bool) {
        crate::sim::Sim::set_reset_pin(self, low)
    }
    fn int_asserted(&mut self) -> bool {
        crate::sim::Sim::int_asserted(self)
    }
    fn now(&self) -> Instant {
        crate::sim::Sim::now(self)
    }
    fn advance(&mut self, d: Duration) {
        crate::sim::Sim::advance(self, d)
    }
    fn lan_clients(&mut self, spec: &str) -> Result<Vec<u32>, LanError> {
        let lan = self.network_mut().lan_mut().ok_or(LanError::Unsupported)?;
        lan.add_clients(spec)
            .map(|ids| ids.into_iter().map(|i| i.0).collect())
            .map_err(|e| LanError::Bad(e.to_string()))
    }
    fn lan_reports(&mut self, max: usize) -> Result<(u64, Vec<ClientReport>), LanError> {
        let lan = self.network_mut().lan_mut().ok_or(LanError::Unsupported)?;
        let mut all = lan.take_client_reports();
        let rest = all.split_off(all.len().min(max));
        lan.requeue_client_reports(rest);
        Ok((lan.clients_pending(), all))
    }
}
