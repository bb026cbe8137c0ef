//! The simulated W5500 itself: registers, the 32 KB buffer memory, socket commands, the
//! hardwired TCP/UDP/ARP/ICMP/IGMP engine, MACRAW, interrupts and the INTn level.
//!
//! The chip is driven by [`crate::sim::Sim`]: SPI bytes arrive through [`Chip::read`] and
//! [`Chip::write`], frames from the network through `Chip::on_frame`, and time through
//! `Chip::run_timers`. Frames the engine produces are collected in an outbox the facade hands
//! to the [`crate::net::Network`]. Nothing here panics on anything a driver or the network does;
//! misuse a driver commits is recorded as a [`Violation`].
//!
//! # Choices where the datasheet is silent (not verified against silicon)
//! - `Sn_IMR` gates only `SIR` and INTn; `Sn_IR` bits are always set (research notes §1.10).
//! - `Sn_CR` reads back the command for [`ChipConfig::command_delay`] after the write, then 0.
//! - OPEN sets `TX_RD = TX_WR = RX_RD = RX_WR = 0`. TCP establishment sets `TX_RD = TX_WR` to
//!   the low 16 bits of the first data sequence number (ISS + 1), so TX pointer = sequence number
//!   mod 2^16. A driver that caches `TX_WR` across CONNECT/accept therefore writes in the wrong place.
//! - TCP `SEND_OK` is set once every byte of the SEND has been put on the wire (plus its wire
//!   time at 100 Mbit/s), not when acknowledged; `TX_FSR` grows only as the peer acknowledges.
//! - UDP `SEND_OK` follows the wire time of the datagrams; a SEND with no data completes at once.
//! - An RST received in any TCP state closes the socket and sets `DISCON`.
//! - TIME_WAIT lasts one RTR; FIN_WAIT without the peer's FIN closes after the TCP timeout total.
//! - Delayed ACK (ND = 0): the ACK waits up to RTR, but goes out at once when two full segments
//!   are unacknowledged or the window has fallen below one MSS.
//! - Invalid buffer sizes count as 0 KB; a socket whose region would end beyond 16 KB gets 0 KB.
//! - The chip sends no ICMP port-unreachable for UDP to a closed port, and no RST while MACRAW
//!   is open (the host stack behind MACRAW gets the segment instead).
//! - With `SIPR = 0.0.0.0` (DHCP) a UDP socket accepts unicast datagrams to any IP sent to its MAC.

mod engine;
mod tcp;

use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;
use core::net::Ipv4Addr;
use core::time::Duration;

use crate::net::{Frame, MacAddr};
use crate::regs::{self, cmd, common, mr, phy, sn, sn_ir, sn_mr, sr, Access, Block};
use crate::time::Instant;

pub use tcp::TcpInfo;

/// Number of hardware sockets.
pub const SOCKETS: usize = 8;
/// Size of each of the TX and RX memories.
pub const MEM_SIZE: usize = 16 * 1024;
/// Most violations kept; later ones are only counted.
pub const MAX_VIOLATIONS: usize = 4096;

/// Timing choices for behaviour the datasheet leaves unspecified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChipConfig {
    /// How long `Sn_CR` reads back a command before the chip accepts it (default 5 µs).
    pub command_delay: Duration,
    /// How long the link stays down after a PHY reset, hardware reset or leaving power-down
    /// (default 10 ms; a real PHY with auto-negotiation takes one to three seconds).
    pub link_up_delay: Duration,
    /// How long `MR.RST` reads back 1 after a software reset (default 1 µs).
    pub soft_reset_time: Duration,
}

impl Default for ChipConfig {
    fn default() -> Self {
        ChipConfig {
            command_delay: Duration::from_micros(5),
            link_up_delay: Duration::from_millis(10),
            soft_reset_time: Duration::from_micros(1),
        }
    }
}

/// Faults a test can inject at any moment (read by the chip on every access).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// The cable is pulled: `PHYCFGR.LNK = 0` and frames are dropped both ways.
    pub link_down: bool,
    /// The chip does not answer: MISO stays at this level (0x00 or 0xFF), writes are lost and
    /// INTn stays high. The engine keeps running behind the silent SPI port.
    pub chip_absent: Option<u8>,
    /// Bit n set: a command written to socket n is never accepted (`Sn_CR` never reads 0).
    pub stuck_command: u8,
    /// INTn is held asserted whatever the registers say (wins over every other fault).
    pub int_stuck_asserted: bool,
    /// INTn is never asserted whatever the registers say.
    pub int_never_asserted: bool,
}

/// A driver misuse the chip can detect. Recorded, never a panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViolationKind {
    /// An SPI frame addressed a reserved block select (4n, n ≥ 1): reads 0, writes ignored.
    ReservedBlock {
        /// The BSB value.
        bsb: u8,
    },
    /// A write to a read-only register (ignored).
    WriteReadOnly {
        /// The block.
        block: Block,
        /// The offset in the block.
        addr: u16,
    },
    /// A write to a reserved address (ignored).
    WriteReserved {
        /// The block.
        block: Block,
        /// The offset in the block.
        addr: u16,
    },
    /// Sn_RXBUF_SIZE or Sn_TXBUF_SIZE written with a value other than 0/1/2/4/8/16.
    InvalidBufferSize {
        /// Socket.
        socket: u8,
        /// TX (true) or RX (false).
        tx: bool,
        /// The value written.
        kb: u8,
    },
    /// At OPEN the socket's buffer is invalid or lies beyond 16 KB (the sizes add up to more).
    BufferLayout {
        /// Socket.
        socket: u8,
        /// TX (true) or RX (false).
        tx: bool,
    },
    /// OPEN on a socket whose buffer size is 0 KB in a direction it needs.
    ZeroBuffer {
        /// Socket.
        socket: u8,
    },
    /// SEND (or SEND_MAC/SEND_KEEP) while the previous SEND on this socket has not completed.
    SendWhileBusy {
        /// Socket.
        socket: u8,
    },
    /// SEND with `TX_WR - TX_RD` larger than the TX buffer (data was written beyond TX_FSR).
    TxOverflow {
        /// Socket.
        socket: u8,
        /// Bytes between the acknowledged pointer and TX_WR.
        len: u16,
    },
    /// RECV with RX_RD beyond RX_WR (more consumed than received).
    RxOverRead {
        /// Socket.
        socket: u8,
    },
    /// A command written while the previous one had not been accepted yet (it is replaced).
    CommandWhilePending {
        /// Socket.
        socket: u8,
        /// The pending command.
        previous: u8,
        /// The new command.
        new: u8,
    },
    /// A value that is not a command (ignored).
    UnknownCommand {
        /// Socket.
        socket: u8,
        /// Value.
        value: u8,
    },
    /// A command the socket's state does not allow (accepted and ignored).
    CommandIgnored {
        /// Socket.
        socket: u8,
        /// Command.
        command: u8,
        /// Sn_SR at acceptance.
        status: u8,
    },
    /// OPEN with a protocol field that is not TCP/UDP/MACRAW (or MACRAW on a socket other than 0).
    InvalidProtocol {
        /// Socket.
        socket: u8,
        /// Sn_MR.
        mode: u8,
    },
    /// OPEN of TCP/UDP with Sn_PORT = 0.
    ZeroPort {
        /// Socket.
        socket: u8,
    },
    /// CONNECT/SEND with DIPR 0.0.0.0 or DPORT 0 (ignored).
    InvalidDestination {
        /// Socket.
        socket: u8,
    },
    /// SEND_KEEP while KPALVTR is not 0 (ignored, DS §3.2 Sn_CR).
    SendKeepWithAutoKeepAlive {
        /// Socket.
        socket: u8,
    },
    /// Chip select released before the 3 header bytes were clocked.
    TruncatedHeader,
    /// A VDM frame with a header and no data byte (DS §2.2.3: N ≥ 1).
    EmptyFrame,
    /// Chip select released inside an FDM frame.
    TruncatedFixedFrame,
    /// SPI access while RSTn is low or within 1 ms after its release (PLL lock, DS §5.5.1).
    AccessDuringReset,
    /// RSTn low for less than 500 µs (ignored as a reset, DS §5.5.1).
    ShortResetPulse {
        /// Pulse length in µs.
        micros: u64,
    },
    /// A MACRAW SEND longer than 1514 bytes, or bytes that are no Ethernet frame.
    MacrawBadFrame {
        /// Length in bytes.
        len: u16,
    },
}

/// A recorded violation with the simulated instant it happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Violation {
    /// When.
    pub at: Instant,
    /// What.
    pub kind: ViolationKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ArpPurpose {
    Connect,
    UdpSend,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct ArpWait {
    pub ip: Ipv4Addr,
    pub retries: u8,
    pub next_at: Instant,
    pub purpose: ArpPurpose,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct UdpSend {
    pub end: u16,
    pub dst: Ipv4Addr,
    pub port: u16,
    pub mac: Option<MacAddr>,
}

/// One hardware socket.
#[derive(Clone, Debug)]
pub(crate) struct Socket {
    pub regs: [u8; sn::END as usize],
    pub sr: u8,
    pub ir: u8,
    pub cmd: Option<(u8, Instant)>,
    pub tx_rd: u16,
    pub tx_wr_committed: u16,
    pub rx_wr: u16,
    pub rx_rd_committed: u16,
    pub send_busy: bool,
    pub send_ok_at: Option<Instant>,
    pub udp_send: Option<UdpSend>,
    pub arp: Option<ArpWait>,
    pub arp_cache: Option<(Ipv4Addr, MacAddr)>,
    pub tcp: tcp::Tcb,
    pub igmp_group: Option<Ipv4Addr>,
}

impl Socket {
    fn new() -> Self {
        Socket {
            regs: regs::socket_reset_image(),
            sr: sr::CLOSED,
            ir: 0,
            cmd: None,
            tx_rd: 0,
            tx_wr_committed: 0,
            rx_wr: 0,
            rx_rd_committed: 0,
            send_busy: false,
            send_ok_at: None,
            udp_send: None,
            arp: None,
            arp_cache: None,
            tcp: tcp::Tcb::default(),
            igmp_group: None,
        }
    }

    pub fn reg16(&self, off: u16) -> u16 {
        let i = usize::from(off);
        match (self.regs.get(i), self.regs.get(i + 1)) {
            (Some(h), Some(l)) => u16::from_be_bytes([*h, *l]),
            _ => 0,
        }
    }

    pub fn set_reg16(&mut self, off: u16, v: u16) {
        let i = usize::from(off);
        let b = v.to_be_bytes();
        if let Some(s) = self.regs.get_mut(i..i + 2) {
            s.copy_from_slice(&b);
        }
    }

    pub fn ip(&self, off: u16) -> Ipv4Addr {
        let i = usize::from(off);
        match self.regs.get(i..i + 4) {
            Some(s) => Ipv4Addr::new(s[0], s[1], s[2], s[3]),
            None => Ipv4Addr::UNSPECIFIED,
        }
    }

    pub fn set_ip(&mut self, off: u16, ip: Ipv4Addr) {
        let i = usize::from(off);
        if let Some(s) = self.regs.get_mut(i..i + 4) {
            s.copy_from_slice(&ip.octets());
        }
    }

    pub fn mode(&self) -> u8 {
        self.regs[usize::from(sn::MR)]
    }
    pub fn protocol(&self) -> u8 {
        self.mode() & sn_mr::P_MASK
    }
    pub fn port(&self) -> u16 {
        self.reg16(sn::PORT)
    }
    pub fn dipr(&self) -> Ipv4Addr {
        self.ip(sn::DIPR)
    }
    pub fn dport(&self) -> u16 {
        self.reg16(sn::DPORT)
    }
    pub fn dhar(&self) -> MacAddr {
        let mut m = [0u8; 6];
        m.copy_from_slice(&self.regs[6..12]);
        MacAddr(m)
    }
    pub fn set_dhar(&mut self, mac: MacAddr) {
        self.regs[6..12].copy_from_slice(&mac.0);
    }
    pub fn mssr(&self) -> u16 {
        self.reg16(sn::MSSR)
    }
    pub fn tos(&self) -> u8 {
        self.regs[usize::from(sn::TOS)]
    }
    pub fn ttl(&self) -> u8 {
        self.regs[usize::from(sn::TTL)]
    }
    pub fn dont_fragment(&self) -> bool {
        self.reg16(sn::FRAG) & 0x4000 != 0
    }
    pub fn kpalvtr(&self) -> u8 {
        self.regs[usize::from(sn::KPALVTR)]
    }
    pub fn tx_wr(&self) -> u16 {
        self.reg16(sn::TX_WR)
    }
    pub fn rx_rd(&self) -> u16 {
        self.reg16(sn::RX_RD)
    }
    pub fn rx_used(&self) -> u16 {
        self.rx_wr.wrapping_sub(self.rx_rd_committed)
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Phy {
    /// The link is held down (PHY reset or auto-negotiation) until this instant.
    down_until: Option<Instant>,
    /// The OPMD/OPMDC bits latched at the last PHY reset.
    latched: u8,
}

/// The simulated W5500.
#[derive(Clone, Debug)]
pub struct Chip {
    common: [u8; common::END as usize],
    ir: u8,
    pub(crate) sockets: [Socket; SOCKETS],
    tx_mem: Vec<u8>,
    rx_mem: Vec<u8>,
    soft_reset_until: Option<Instant>,
    phy: Phy,
    pub(crate) faults: Faults,
    violations: Vec<Violation>,
    violations_dropped: u64,
    pub(crate) outbox: VecDeque<Frame>,
    ip_ident: u16,
    isn_counter: u32,
    config: ChipConfig,
    rst_low_since: Option<Instant>,
    inaccessible_until: Option<Instant>,
}

impl Chip {
    /// A chip just powered and out of reset, link up.
    pub fn new(config: ChipConfig) -> Self {
        Chip {
            common: regs::common_reset_image(),
            ir: 0,
            sockets: core::array::from_fn(|_| Socket::new()),
            tx_mem: vec![0; MEM_SIZE],
            rx_mem: vec![0; MEM_SIZE],
            soft_reset_until: None,
            phy: Phy {
                down_until: None,
                latched: regs::PHYCFGR_RESET_CONFIG & (phy::OPMD | phy::OPMDC_MASK),
            },
            faults: Faults::default(),
            violations: Vec::new(),
            violations_dropped: 0,
            outbox: VecDeque::new(),
            ip_ident: 0,
            isn_counter: 0,
            config,
            rst_low_since: None,
            inaccessible_until: None,
        }
    }

    /// The timing choices in use.
    pub fn config(&self) -> &ChipConfig {
        &self.config
    }

    // ----- violations -------------------------------------------------------------------

    pub(crate) fn violate(&mut self, at: Instant, kind: ViolationKind) {
        if self.violations.len() < MAX_VIOLATIONS {
            self.violations.push(Violation { at, kind });
        } else {
            self.violations_dropped = self.violations_dropped.saturating_add(1);
        }
    }

    /// Every violation recorded so far (at most [`MAX_VIOLATIONS`]).
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// Violations beyond [`MAX_VIOLATIONS`] that were only counted.
    pub fn violations_dropped(&self) -> u64 {
        self.violations_dropped
    }

    /// Forget recorded violations.
    pub fn clear_violations(&mut self) {
        self.violations.clear();
        self.violations_dropped = 0;
    }

    // ----- reset ------------------------------------------------------------------------

    /// All registers back to their reset values and every socket closed (MR.RST, RSTn,
    /// brown-out). Buffer memory keeps its contents; the PHY is handled by the caller.
    fn reset_registers(&mut self) {
        let phycfg = self.common[usize::from(common::PHYCFGR)];
        self.common = regs::common_reset_image();
        self.common[usize::from(common::PHYCFGR)] = phycfg;
        self.ir = 0;
        self.sockets = core::array::from_fn(|_| Socket::new());
    }

    fn reset_phy(&mut self, now: Instant) {
        self.phy.latched =
            self.common[usize::from(common::PHYCFGR)] & (phy::OPMD | phy::OPMDC_MASK);
        self.phy.down_until = Some(now + self.config.link_up_delay);
    }

    /// RSTn reset or brown-out: everything back to reset values, PHY restarted, the chip
    /// inaccessible for 1 ms (PLL lock, DS §5.5.1).
    pub(crate) fn hardware_reset(&mut self, now: Instant) {
        self.reset_registers();
        self.common[usize::from(common::PHYCFGR)] = regs::PHYCFGR_RESET_CONFIG;
        self.soft_reset_until = None;
        self.reset_phy(now);
        self.outbox.clear();
        self.inaccessible_until = Some(now + Duration::from_millis(1));
    }

    /// Drive RSTn (DS §5.5.1: low for at least 500 µs resets; SPI is usable 1 ms after release).
    pub(crate) fn set_reset_pin(&mut self, now: Instant, low: bool) {
        match (low, self.rst_low_since) {
            (true, None) => self.rst_low_since = Some(now),
            (false, Some(since)) => {
                self.rst_low_since = None;
                let held = now.saturating_since(since);
                if held >= Duration::from_micros(500) {
                    self.hardware_reset(now);
                } else {
                    let micros = u64::try_from(held.as_micros()).unwrap_or(u64::MAX);
                    self.violate(now, ViolationKind::ShortResetPulse { micros });
                }
            }
            _ => {}
        }
    }

    /// True while RSTn is held low.
    pub fn in_reset(&self) -> bool {
        self.rst_low_since.is_some()
    }

    /// True when SPI access works at `now` (not in reset, PLL locked).
    pub fn accessible(&self, now: Instant) -> bool {
        self.rst_low_since.is_none() && self.inaccessible_until.is_none_or(|t| now >= t)
    }

    // ----- PHY --------------------------------------------------------------------------

    fn phy_mode(&self) -> u8 {
        if self.phy.latched & phy::OPMD != 0 {
            (self.phy.latched & phy::OPMDC_MASK) >> 3
        } else {
            // PMODE pins strapped "all capable, auto-negotiation".
            0b111
        }
    }

    /// True when the link is up at `now` (no fault, PHY not in reset or power-down).
    pub fn link_up(&self, now: Instant) -> bool {
        !self.faults.link_down
            && self.rst_low_since.is_none()
            && self.phy.down_until.is_none_or(|t| now >= t)
            && self.phy_mode() != phy::MODE_POWER_DOWN
    }

    fn phycfgr(&self, now: Instant) -> u8 {
        let cfg = self.common[usize::from(common::PHYCFGR)] & (phy::OPMD | phy::OPMDC_MASK);
        let mut v = phy::RST | cfg;
        if self.link_up(now) {
            v |= phy::LNK;
            let (spd, dpx) = match self.phy_mode() {
                0b000 => (false, false),
                0b001 => (false, true),
                0b010 => (true, false),
                0b011 => (true, true),
                0b100 => (true, false),
                _ => (true, true),
            };
            if spd {
                v |= phy::SPD;
            }
            if dpx {
                v |= phy::DPX;
            }
        }
        v
    }

    // ----- common register helpers ------------------------------------------------------

    fn common16(&self, addr: u16) -> u16 {
        let i = usize::from(addr);
        u16::from_be_bytes([self.common[i], self.common[i + 1]])
    }

    fn common_ip(&self, addr: u16) -> Ipv4Addr {
        let i = usize::from(addr);
        Ipv4Addr::new(
            self.common[i],
            self.common[i + 1],
            self.common[i + 2],
            self.common[i + 3],
        )
    }

    pub(crate) fn mr(&self) -> u8 {
        self.common[usize::from(common::MR)]
    }
    pub(crate) fn gar(&self) -> Ipv4Addr {
        self.common_ip(common::GAR)
    }
    pub(crate) fn subr(&self) -> Ipv4Addr {
        self.common_ip(common::SUBR)
    }
    pub(crate) fn sipr(&self) -> Ipv4Addr {
        self.common_ip(common::SIPR)
    }
    pub(crate) fn shar(&self) -> MacAddr {
        let mut m = [0u8; 6];
        m.copy_from_slice(&self.common[9..15]);
        MacAddr(m)
    }
    /// RTR in units of 100 µs (0 is treated as 1 so timers always advance).
    pub(crate) fn rtr_units(&self) -> u32 {
        u32::from(self.common16(common::RTR).max(1))
    }
    pub(crate) fn rtr(&self) -> Duration {
        Duration::from_micros(u64::from(self.rtr_units()) * 100)
    }
    pub(crate) fn rcr(&self) -> u8 {
        self.common[usize::from(common::RCR)]
    }

    pub(crate) fn next_ident(&mut self) -> u16 {
        self.ip_ident = self.ip_ident.wrapping_add(1);
        self.ip_ident
    }

    pub(crate) fn next_isn(&mut self, now: Instant) -> u32 {
        self.isn_counter = self.isn_counter.wrapping_add(1);
        // Deterministic but not trivially zero: a 4 µs clock plus a spread per connection.
        (now.as_micros() as u32)
            .wrapping_div(4)
            .wrapping_add(self.isn_counter.wrapping_mul(0x9E37_79B9))
            .wrapping_add(0x0100_0000)
    }

    // ----- interrupts -------------------------------------------------------------------

    /// SIR: bit n set while `Sn_IR & Sn_IMR != 0` (DS §3.1 SIR; §1.10 of the research notes).
    pub fn sir(&self) -> u8 {
        let mut v = 0u8;
        for (n, s) in self.sockets.iter().enumerate() {
            if s.ir & s.regs[usize::from(sn::IMR)] != 0 {
                v |= 1 << n;
            }
        }
        v
    }

    /// The INTn level: asserted (true, pin low) while `(IR & IMR) != 0` or `(SIR & SIMR) != 0`.
    /// INTLEVEL is stored but never re-pulses the pin (research notes §1.10).
    pub fn int_asserted(&self) -> bool {
        if self.faults.int_stuck_asserted {
            return true;
        }
        if self.faults.int_never_asserted
            || self.faults.chip_absent.is_some()
            || !self.accessible_for_int()
        {
            return false;
        }
        let imr = self.common[usize::from(common::IMR)];
        let simr = self.common[usize::from(common::SIMR)];
        (self.ir & imr & 0xF0) != 0 || (self.sir() & simr) != 0
    }

    fn accessible_for_int(&self) -> bool {
        self.rst_low_since.is_none()
    }

    /// Set `Sn_IR` bits with no cause (fault injection).
    pub(crate) fn spurious_interrupt(&mut self, socket: usize, bits: u8) {
        if let Some(s) = self.sockets.get_mut(socket) {
            s.ir |= bits & sn_ir::ALL;
        }
    }

    pub(crate) fn set_ir(&mut self, bits: u8) {
        self.ir |= bits;
    }

    pub(crate) fn set_uipr(&mut self, ip: Ipv4Addr, port: u16) {
        self.common[0x28..0x2C].copy_from_slice(&ip.octets());
        self.common[0x2C..0x2E].copy_from_slice(&port.to_be_bytes());
    }

    // ----- buffer memory ----------------------------------------------------------------

    /// `(base, size)` of socket n's region in the TX (true) or RX memory. An invalid size
    /// register or a region ending beyond 16 KB yields size 0.
    pub fn buffer_region(&self, n: usize, tx: bool) -> (usize, usize) {
        let off = usize::from(if tx { sn::TXBUF_SIZE } else { sn::RXBUF_SIZE });
        let mut base = 0usize;
        for (i, s) in self.sockets.iter().enumerate() {
            let kb = s.regs[off];
            let mut size = if regs::valid_buf_size(kb) {
                usize::from(kb) * 1024
            } else {
                0
            };
            if base + size > MEM_SIZE {
                size = 0;
            }
            if i == n {
                return (base, size);
            }
            base += size;
        }
        (0, 0)
    }

    fn layout_ok(&self, n: usize, tx: bool) -> bool {
        let off = usize::from(if tx { sn::TXBUF_SIZE } else { sn::RXBUF_SIZE });
        let kb = self.sockets.get(n).map_or(0, |s| s.regs[off]);
        let (_, size) = self.buffer_region(n, tx);
        regs::valid_buf_size(kb) && size == usize::from(kb) * 1024
    }

    pub(crate) fn buf_size(&self, n: usize, tx: bool) -> u16 {
        self.buffer_region(n, tx).1 as u16
    }

    fn mem_index(&self, n: usize, tx: bool, ptr: u16) -> Option<usize> {
        let (base, size) = self.buffer_region(n, tx);
        if size == 0 {
            return None;
        }
        Some(base + (usize::from(ptr) & (size - 1)))
    }

    pub(crate) fn tx_read(&self, n: usize, ptr: u16) -> u8 {
        self.mem_index(n, true, ptr)
            .and_then(|i| self.tx_mem.get(i).copied())
            .unwrap_or(0)
    }

    pub(crate) fn tx_read_range(&self, n: usize, start: u16, len: u16) -> Vec<u8> {
        (0..len)
            .map(|i| self.tx_read(n, start.wrapping_add(i)))
            .collect()
    }

    fn tx_write(&mut self, n: usize, ptr: u16, v: u8) {
        if let Some(i) = self.mem_index(n, true, ptr) {
            if let Some(b) = self.tx_mem.get_mut(i) {
                *b = v;
            }
        }
    }

    fn rx_read(&self, n: usize, ptr: u16) -> u8 {
        self.mem_index(n, false, ptr)
            .and_then(|i| self.rx_mem.get(i).copied())
            .unwrap_or(0)
    }

    fn rx_write_byte(&mut self, n: usize, ptr: u16, v: u8) {
        if let Some(i) = self.mem_index(n, false, ptr) {
            if let Some(b) = self.rx_mem.get_mut(i) {
                *b = v;
            }
        }
    }

    /// Free space in socket n's RX ring.
    pub(crate) fn rx_free(&self, n: usize) -> u16 {
        let size = self.buf_size(n, false);
        self.sockets
            .get(n)
            .map_or(0, |s| size.saturating_sub(s.rx_used()))
    }

    /// Append bytes to socket n's RX ring at RX_WR (the caller checked the space).
    pub(crate) fn rx_push(&mut self, n: usize, data: &[u8]) {
        let Some(mut wr) = self.sockets.get(n).map(|s| s.rx_wr) else {
            return;
        };
        for &b in data {
            self.rx_write_byte(n, wr, b);
            wr = wr.wrapping_add(1);
        }
        if let Some(s) = self.sockets.get_mut(n) {
            s.rx_wr = wr;
        }
    }

    /// Sn_TX_FSR at this moment.
    pub(crate) fn tx_fsr(&self, n: usize) -> u16 {
        let size = self.buf_size(n, true);
        let Some(s) = self.sockets.get(n) else {
            return 0;
        };
        let base = if s.protocol() == sn_mr::TCP && tcp::is_synchronized(s.sr) {
            s.tcp.data_una() as u16
        } else {
            s.tx_rd
        };
        size.saturating_sub(s.tx_wr_committed.wrapping_sub(base))
    }

    /// Sn_TX_RD as the driver sees it.
    fn tx_rd_reg(&self, n: usize) -> u16 {
        let Some(s) = self.sockets.get(n) else {
            return 0;
        };
        if s.protocol() == sn_mr::TCP && tcp::is_synchronized(s.sr) {
            s.tcp.sent_ptr
        } else {
            s.tx_rd
        }
    }

    // ----- SPI register access ----------------------------------------------------------

    /// Read one byte at `addr` of the block selected by `bsb`, at `now`.
    pub fn read(&mut self, bsb: u8, addr: u16, now: Instant) -> u8 {
        match Block::from_bsb(bsb) {
            Block::Common => self.read_common(addr, now),
            Block::SocketRegs(n) => self.read_socket(usize::from(n), addr),
            Block::TxBuffer(n) => self.tx_read(usize::from(n), addr),
            Block::RxBuffer(n) => self.rx_read(usize::from(n), addr),
            Block::Reserved(_) => 0,
        }
    }

    /// Write one byte at `addr` of the block selected by `bsb`, at `now`.
    pub fn write(&mut self, bsb: u8, addr: u16, v: u8, now: Instant) {
        let block = Block::from_bsb(bsb);
        match block {
            Block::Common => self.write_common(addr, v, now),
            Block::SocketRegs(n) => self.write_socket(usize::from(n), addr, v, now),
            Block::TxBuffer(n) => self.tx_write(usize::from(n), addr, v),
            Block::RxBuffer(n) => self.rx_write_byte(usize::from(n), addr, v),
            Block::Reserved(_) => {}
        }
    }

    /// Peek a common register byte without side effects (no SPI accounting).
    pub fn peek_common(&self, addr: u16, now: Instant) -> u8 {
        self.read_common(addr, now)
    }

    /// Peek a socket register byte without side effects (no SPI accounting).
    pub fn peek_socket(&self, n: usize, off: u16) -> u8 {
        self.read_socket(n, off)
    }

    /// Peek a 16-bit socket register.
    pub fn peek_socket16(&self, n: usize, off: u16) -> u16 {
        u16::from_be_bytes([
            self.read_socket(n, off),
            self.read_socket(n, off.wrapping_add(1)),
        ])
    }

    /// Sn_SR of socket n.
    pub fn socket_status(&self, n: usize) -> u8 {
        self.sockets.get(n).map_or(0, |s| s.sr)
    }

    /// Sn_IR of socket n.
    pub fn socket_ir(&self, n: usize) -> u8 {
        self.sockets.get(n).map_or(0, |s| s.ir)
    }

    /// The TCP connection variables of socket n (for inspection by tests).
    pub fn tcp_info(&self, n: usize) -> Option<TcpInfo> {
        self.sockets.get(n).map(|s| s.tcp.info())
    }

    fn read_common(&self, addr: u16, now: Instant) -> u8 {
        match regs::common_access(addr) {
            Access::Reserved => 0,
            _ => match addr {
                common::MR => {
                    let busy = self.soft_reset_until.is_some_and(|t| now < t);
                    self.mr() | if busy { mr::RST } else { 0 }
                }
                common::IR => self.ir,
                common::SIR => self.sir(),
                common::PHYCFGR => self.phycfgr(now),
                _ => self.common.get(usize::from(addr)).copied().unwrap_or(0),
            },
        }
    }

    fn write_common(&mut self, addr: u16, v: u8, now: Instant) {
        match regs::common_access(addr) {
            Access::Reserved => self.violate(
                now,
                ViolationKind::WriteReserved {
                    block: Block::Common,
                    addr,
                },
            ),
            Access::ReadOnly => self.violate(
                now,
                ViolationKind::WriteReadOnly {
                    block: Block::Common,
                    addr,
                },
            ),
            Access::WriteOneToClear => self.ir &= !(v & 0xF0),
            Access::ReadWrite => match addr {
                common::MR => {
                    if v & mr::RST != 0 {
                        self.reset_registers();
                        self.soft_reset_until = Some(now + self.config.soft_reset_time);
                    } else {
                        self.common[0] = v & !mr::RST;
                    }
                }
                common::PHYCFGR => {
                    self.common[usize::from(addr)] = (v & (phy::OPMD | phy::OPMDC_MASK)) | phy::RST;
                    if v & phy::RST == 0 {
                        self.reset_phy(now);
                    }
                }
                _ => {
                    if let Some(b) = self.common.get_mut(usize::from(addr)) {
                        *b = v;
                    }
                }
            },
        }
    }

    fn read_socket(&self, n: usize, off: u16) -> u8 {
        let Some(s) = self.sockets.get(n) else {
            return 0;
        };
        let hi = |v: u16| (v >> 8) as u8;
        let lo = |v: u16| v as u8;
        match regs::socket_access(off) {
            Access::Reserved => 0,
            _ => match off {
                sn::CR => s.cmd.map_or(0, |(c, _)| c),
                sn::IR => s.ir,
                sn::SR => s.sr,
                0x20 => hi(self.tx_fsr(n)),
                0x21 => lo(self.tx_fsr(n)),
                0x22 => hi(self.tx_rd_reg(n)),
                0x23 => lo(self.tx_rd_reg(n)),
                0x26 => hi(s.rx_used()),
                0x27 => lo(s.rx_used()),
                0x2A => hi(s.rx_wr),
                0x2B => lo(s.rx_wr),
                _ => s.regs.get(usize::from(off)).copied().unwrap_or(0),
            },
        }
    }

    fn write_socket(&mut self, n: usize, off: u16, v: u8, now: Instant) {
        let block = Block::SocketRegs(n as u8);
        match regs::socket_access(off) {
            Access::Reserved => {
                self.violate(now, ViolationKind::WriteReserved { block, addr: off })
            }
            Access::ReadOnly => {
                self.violate(now, ViolationKind::WriteReadOnly { block, addr: off })
            }
            Access::WriteOneToClear => {
                if let Some(s) = self.sockets.get_mut(n) {
                    s.ir &= !v;
                }
            }
            Access::ReadWrite => match off {
                sn::CR => self.write_command(n, v, now),
                sn::RXBUF_SIZE | sn::TXBUF_SIZE => {
                    if !regs::valid_buf_size(v) {
                        self.violate(
                            now,
                            ViolationKind::InvalidBufferSize {
                                socket: n as u8,
                                tx: off == sn::TXBUF_SIZE,
                                kb: v,
                            },
                        );
                    }
                    if let Some(s) = self.sockets.get_mut(n) {
                        s.regs[usize::from(off)] = v;
                    }
                }
                _ => {
                    if let Some(b) = self
                        .sockets
                        .get_mut(n)
                        .and_then(|s| s.regs.get_mut(usize::from(off)))
                    {
                        *b = v;
                    }
                }
            },
        }
    }

    fn write_command(&mut self, n: usize, v: u8, now: Instant) {
        if v == 0 {
            return;
        }
        let delay = self.config.command_delay;
        let prev = self.sockets.get(n).and_then(|s| s.cmd);
        if let Some((p, _)) = prev {
            self.violate(
                now,
                ViolationKind::CommandWhilePending {
                    socket: n as u8,
                    previous: p,
                    new: v,
                },
            );
        }
        if let Some(s) = self.sockets.get_mut(n) {
            s.cmd = Some((v, now + delay));
        }
    }

    // ----- commands ---------------------------------------------------------------------

    fn accept_command(&mut self, n: usize, c: u8, now: Instant) {
        let Some(status) = self.sockets.get(n).map(|s| s.sr) else {
            return;
        };
        let ignored = |chip: &mut Chip| {
            chip.violate(
                now,
                ViolationKind::CommandIgnored {
                    socket: n as u8,
                    command: c,
                    status,
                },
            )
        };
        match c {
            cmd::OPEN => self.cmd_open(n, now),
            cmd::CLOSE => self.close_socket(n, now, true),
            cmd::LISTEN | cmd::CONNECT | cmd::DISCON | cmd::SEND_KEEP => {
                if self.sockets[n].protocol() != sn_mr::TCP || status == sr::CLOSED {
                    ignored(self);
                } else {
                    match c {
                        cmd::LISTEN => self.tcp_listen(n, now),
                        cmd::CONNECT => self.tcp_connect(n, now),
                        cmd::DISCON => self.tcp_discon(n, now),
                        _ => self.tcp_send_keep(n, now),
                    }
                }
            }
            cmd::SEND | cmd::SEND_MAC => self.cmd_send(n, c == cmd::SEND_MAC, now),
            cmd::RECV => self.cmd_recv(n, now),
            _ => self.violate(
                now,
                ViolationKind::UnknownCommand {
                    socket: n as u8,
                    value: c,
                },
            ),
        }
    }

    fn cmd_open(&mut self, n: usize, now: Instant) {
        let status = self.sockets[n].sr;
        if status != sr::CLOSED {
            // The chip re-opens: what was there is dropped silently (like CLOSE then OPEN).
            self.close_socket(n, now, true);
        }
        let mode = self.sockets[n].mode();
        let proto = mode & sn_mr::P_MASK;
        let new_sr = match proto {
            sn_mr::TCP => sr::INIT,
            sn_mr::UDP => sr::UDP,
            sn_mr::MACRAW if n == 0 => sr::MACRAW,
            _ => {
                self.violate(
                    now,
                    ViolationKind::InvalidProtocol {
                        socket: n as u8,
                        mode,
                    },
                );
                return;
            }
        };
        for tx in [true, false] {
            if !self.layout_ok(n, tx) {
                self.violate(
                    now,
                    ViolationKind::BufferLayout {
                        socket: n as u8,
                        tx,
                    },
                );
            }
        }
        if self.buf_size(n, true) == 0 || self.buf_size(n, false) == 0 {
            self.violate(now, ViolationKind::ZeroBuffer { socket: n as u8 });
        }
        if proto != sn_mr::MACRAW && self.sockets[n].port() == 0 {
            self.violate(now, ViolationKind::ZeroPort { socket: n as u8 });
        }
        let s = &mut self.sockets[n];
        s.sr = new_sr;
        s.tx_rd = 0;
        s.tx_wr_committed = 0;
        s.set_reg16(sn::TX_WR, 0);
        s.rx_wr = 0;
        s.rx_rd_committed = 0;
        s.set_reg16(sn::RX_RD, 0);
        s.send_busy = false;
        s.send_ok_at = None;
        s.udp_send = None;
        s.arp = None;
        s.arp_cache = None;
        s.tcp = tcp::Tcb::default();
        s.igmp_group = None;
        if proto == sn_mr::UDP && mode & sn_mr::MULTI_MFEN != 0 {
            self.igmp_join(n, now);
        }
    }

    /// CLOSE: to CLOSED at once, nothing sent except an IGMP leave for a multicast socket.
    pub(crate) fn close_socket(&mut self, n: usize, now: Instant, leave: bool) {
        if leave {
            self.igmp_leave(n, now);
        }
        if let Some(s) = self.sockets.get_mut(n) {
            s.sr = sr::CLOSED;
            s.send_busy = false;
            s.send_ok_at = None;
            s.udp_send = None;
            s.arp = None;
            s.tcp.clear_timers();
            s.igmp_group = None;
        }
    }

    fn cmd_send(&mut self, n: usize, send_mac: bool, now: Instant) {
        let status = self.sockets[n].sr;
        let size = self.buf_size(n, true);
        let proto_ok = match status {
            sr::UDP => true,
            sr::MACRAW | sr::ESTABLISHED | sr::CLOSE_WAIT => !send_mac,
            _ => false,
        };
        if !proto_ok {
            self.violate(
                now,
                ViolationKind::CommandIgnored {
                    socket: n as u8,
                    command: if send_mac { cmd::SEND_MAC } else { cmd::SEND },
                    status,
                },
            );
            return;
        }
        if self.sockets[n].send_busy {
            self.violate(now, ViolationKind::SendWhileBusy { socket: n as u8 });
        }
        let s = &self.sockets[n];
        let wr = s.tx_wr();
        let base = if status == sr::ESTABLISHED || status == sr::CLOSE_WAIT {
            s.tcp.data_una() as u16
        } else {
            s.tx_rd
        };
        let used = wr.wrapping_sub(base);
        if used > size {
            self.violate(
                now,
                ViolationKind::TxOverflow {
                    socket: n as u8,
                    len: used,
                },
            );
        }
        self.sockets[n].tx_wr_committed = wr;
        self.sockets[n].send_busy = true;
        match status {
            sr::UDP => self.udp_send(n, send_mac, now),
            sr::MACRAW => self.macraw_send(n, now),
            _ => self.tcp_send(n, now),
        }
    }

    fn cmd_recv(&mut self, n: usize, now: Instant) {
        let status = self.sockets[n].sr;
        if status == sr::CLOSED || status == sr::INIT || status == sr::LISTEN {
            self.violate(
                now,
                ViolationKind::CommandIgnored {
                    socket: n as u8,
                    command: cmd::RECV,
                    status,
                },
            );
            return;
        }
        let s = &mut self.sockets[n];
        let rd = s.rx_rd();
        let consumed = rd.wrapping_sub(s.rx_rd_committed);
        if consumed > s.rx_used() {
            self.violate(now, ViolationKind::RxOverRead { socket: n as u8 });
            let s = &mut self.sockets[n];
            s.rx_rd_committed = s.rx_wr;
        } else {
            s.rx_rd_committed = rd;
        }
        if tcp::is_synchronized(status) {
            self.tcp_after_recv(n, now);
        }
    }

    /// Mark socket n's SEND as complete at `at` (SEND_OK is set then).
    pub(crate) fn complete_send_at(&mut self, n: usize, at: Instant) {
        if let Some(s) = self.sockets.get_mut(n) {
            s.send_ok_at = Some(at);
        }
    }

    // ----- time -------------------------------------------------------------------------

    /// The earliest instant at which the chip has something to do on its own.
    pub fn next_event(&self) -> Option<Instant> {
        let mut best: Option<Instant> = None;
        let mut consider = |t: Option<Instant>| {
            if let Some(t) = t {
                best = Some(best.map_or(t, |b| b.min(t)));
            }
        };
        for (n, s) in self.sockets.iter().enumerate() {
            if self.faults.stuck_command & (1 << n) == 0 {
                consider(s.cmd.map(|(_, t)| t));
            }
            consider(s.send_ok_at);
            consider(s.arp.map(|a| a.next_at));
            consider(s.tcp.next_timer());
        }
        consider(self.soft_reset_until);
        consider(self.phy.down_until);
        consider(self.inaccessible_until);
        best
    }

    /// Run every timer due at or before `now`.
    pub(crate) fn run_timers(&mut self, now: Instant) {
        if self.soft_reset_until.is_some_and(|t| now >= t) {
            self.soft_reset_until = None;
        }
        if self.phy.down_until.is_some_and(|t| now >= t) {
            self.phy.down_until = None;
        }
        if self.inaccessible_until.is_some_and(|t| now >= t) {
            self.inaccessible_until = None;
        }
        // Bounded: each pass consumes at least one due timer or stops.
        for _ in 0..64 {
            let mut did = false;
            for n in 0..SOCKETS {
                if self.faults.stuck_command & (1 << n) == 0 {
                    if let Some((c, t)) = self.sockets[n].cmd {
                        if t <= now {
                            self.sockets[n].cmd = None;
                            self.accept_command(n, c, now);
                            did = true;
                        }
                    }
                }
                if self.sockets[n].send_ok_at.is_some_and(|t| t <= now) {
                    let s = &mut self.sockets[n];
                    s.send_ok_at = None;
                    s.send_busy = false;
                    s.ir |= sn_ir::SENDOK;
                    if s.sr == sr::UDP || s.sr == sr::MACRAW {
                        s.tx_rd = s.tx_wr_committed;
                    }
                    did = true;
                }
                if self.sockets[n].arp.is_some_and(|a| a.next_at <= now) {
                    self.arp_timer(n, now);
                    did = true;
                }
                if self.sockets[n].tcp.next_timer().is_some_and(|t| t <= now) {
                    self.tcp_timers(n, now);
                    did = true;
                }
            }
            if !did {
                break;
            }
        }
    }

    /// Wire time of `bytes` bytes of Ethernet frames at 100 Mbit/s, with preamble, FCS and gap.
    pub(crate) fn wire_time(frames: usize, bytes: usize) -> Duration {
        let total = bytes.saturating_add(frames.saturating_mul(8 + 4 + 12)) as u64;
        Duration::from_nanos(total.saturating_mul(80))
    }
}
