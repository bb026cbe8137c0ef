//! The WIZnet W5500 register map and SPI frame encoding, named as in the datasheet (v1.0.9).
//!
//! This crate only *describes* the chip: addresses, reset values, bit layouts, the 3-byte SPI
//! header. It does no I/O, so the driver, tests and tools can share one reading of the datasheet.
//!
//! Conventions:
//! - Register addresses are constants named with the datasheet mnemonic: [`common::SIPR`],
//!   [`sn::TX_FSR`] (the `Sn_` prefix becomes the [`sn`] module).
//! - Flag registers are [`bitflags`] types (`from_bits_retain` keeps unknown bits).
//! - Value registers are enums with an `Unknown(u8)` arm: nothing read from the chip fails to
//!   decode, and nothing here panics on any input.
//! - Multi-byte registers are big-endian.
//!
//! # Example
//!
//! The frame that reads `VERSIONR`, and decoding what a socket's status register said:
//!
//! ```
//! use w5500_regs::{common, header, sn, Access, Block, Sn, SocketStatus};
//!
//! // §2.2: 16-bit offset, then BSB (common block = 0), RWB (read = 0), OM (VDM = 00).
//! assert_eq!(header(common::VERSIONR, Block::Common, Access::Read), [0x00, 0x39, 0x00]);
//!
//! // Socket 1's registers are block 4n+1; writing sets RWB (bit 2).
//! assert_eq!(header(sn::CR, Block::Socket(Sn::Sn1), Access::Write), [0x00, 0x01, 0x2c]);
//!
//! // Nothing read from the chip fails to decode.
//! assert_eq!(SocketStatus::from_u8(0x17), SocketStatus::Established);
//! assert_eq!(SocketStatus::from_u8(0x99), SocketStatus::Unknown(0x99));
//! ```
#![no_std]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use core::fmt;

/// `VERSIONR` of a W5500 (datasheet §3.1).
pub const CHIP_VERSION: u8 = 0x04;

/// Total TX (and, separately, RX) buffer memory shared by the 8 sockets, in bytes (§2.3).
pub const BUFFER_MEMORY: usize = 16 * 1024;

/// Largest UDP payload the chip sends in one datagram: 1500 - 20 (IP) - 8 (UDP). Larger SENDs
/// are split into several datagrams, never fragmented (`Sn_MSSR` notes, §4.2).
pub const UDP_MAX_PAYLOAD: usize = 1472;

/// Default TCP MSS when `Sn_MSSR` is 0: 1500 - 20 (IP) - 20 (TCP).
pub const TCP_DEFAULT_MSS: u16 = 1460;

/// Size of the header the chip puts in front of every UDP datagram in the RX buffer:
/// peer IPv4 (4), peer port (2), payload length (2), big-endian (§5.2.3, Sn_RX_RSR notes).
pub const UDP_RX_HEADER_LEN: usize = 8;

/// Size of the length prefix in front of every MACRAW frame in the RX buffer; the value
/// includes these 2 bytes.
pub const MACRAW_RX_HEADER_LEN: usize = 2;

/// One of the chip's 8 hardware sockets.
///
/// ```
/// use w5500_regs::{Block, Sn};
///
/// let s = Sn::new(3).unwrap();
/// assert_eq!(s, Sn::Sn3);
/// assert_eq!(Sn::new(8), None);
/// assert_eq!(s.bit().bits(), 0b0000_1000); // its bit in SIR/SIMR
/// assert_eq!(Block::RxBuf(s).bsb(), 4 * 3 + 3);
/// assert_eq!(s.to_string(), "S3");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum Sn {
    Sn0 = 0,
    Sn1 = 1,
    Sn2 = 2,
    Sn3 = 3,
    Sn4 = 4,
    Sn5 = 5,
    Sn6 = 6,
    Sn7 = 7,
}

impl Sn {
    /// All sockets in order.
    pub const ALL: [Sn; 8] = [
        Sn::Sn0,
        Sn::Sn1,
        Sn::Sn2,
        Sn::Sn3,
        Sn::Sn4,
        Sn::Sn5,
        Sn::Sn6,
        Sn::Sn7,
    ];

    /// The socket with number `n`, if `n < 8`.
    pub const fn new(n: u8) -> Option<Sn> {
        match n {
            0 => Some(Sn::Sn0),
            1 => Some(Sn::Sn1),
            2 => Some(Sn::Sn2),
            3 => Some(Sn::Sn3),
            4 => Some(Sn::Sn4),
            5 => Some(Sn::Sn5),
            6 => Some(Sn::Sn6),
            7 => Some(Sn::Sn7),
            _ => None,
        }
    }

    /// The socket number, 0 to 7.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// This socket's bit in `SIR`/`SIMR`.
    pub const fn bit(self) -> SocketSet {
        SocketSet::from_bits_retain(1 << self as u8)
    }
}

impl fmt::Display for Sn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S{}", *self as u8)
    }
}

/// The block an SPI frame addresses (BSB field of the control byte, §2.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Block {
    /// Common registers (BSB 0b00000).
    Common,
    /// Socket n registers (BSB 4n+1).
    Socket(Sn),
    /// Socket n TX buffer (BSB 4n+2).
    TxBuf(Sn),
    /// Socket n RX buffer (BSB 4n+3).
    RxBuf(Sn),
}

impl Block {
    /// The 5-bit block select value.
    pub const fn bsb(self) -> u8 {
        match self {
            Block::Common => 0,
            Block::Socket(sn) => (sn as u8) * 4 + 1,
            Block::TxBuf(sn) => (sn as u8) * 4 + 2,
            Block::RxBuf(sn) => (sn as u8) * 4 + 3,
        }
    }

    /// Decode a block select value; `None` for the reserved values (4n, n >= 1).
    pub const fn from_bsb(bsb: u8) -> Option<Block> {
        let Some(sn) = Sn::new((bsb >> 2) & 0x07) else {
            return None;
        };
        if bsb > 0x1f {
            return None;
        }
        match bsb & 0x03 {
            1 => Some(Block::Socket(sn)),
            2 => Some(Block::TxBuf(sn)),
            3 => Some(Block::RxBuf(sn)),
            _ if bsb == 0 => Some(Block::Common),
            _ => None,
        }
    }
}

/// Read or write, the RWB bit of the control byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// RWB = 0.
    Read,
    /// RWB = 1.
    Write,
}

/// SPI operation mode, the OM bits of the control byte (§2.2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpMode {
    /// Variable data length: chip select frames the transfer (OM = 00).
    Vdm,
    /// Fixed 1-byte data (OM = 01).
    Fdm1,
    /// Fixed 2-byte data (OM = 10).
    Fdm2,
    /// Fixed 4-byte data (OM = 11).
    Fdm4,
}

impl OpMode {
    const fn bits(self) -> u8 {
        match self {
            OpMode::Vdm => 0b00,
            OpMode::Fdm1 => 0b01,
            OpMode::Fdm2 => 0b10,
            OpMode::Fdm4 => 0b11,
        }
    }
}

/// The control byte: `BSB[4:0] << 3 | RWB << 2 | OM[1:0]` (§2.2.2).
pub const fn control_byte(block: Block, access: Access, mode: OpMode) -> u8 {
    let rwb = match access {
        Access::Read => 0,
        Access::Write => 1,
    };
    (block.bsb() << 3) | (rwb << 2) | mode.bits()
}

/// The 3-byte header of a variable-length (VDM) frame: offset (big-endian) and control byte.
pub const fn header(addr: u16, block: Block, access: Access) -> [u8; 3] {
    let a = addr.to_be_bytes();
    [a[0], a[1], control_byte(block, access, OpMode::Vdm)]
}

/// Common register addresses (block [`Block::Common`], §3.1).
pub mod common {
    /// Mode register.
    pub const MR: u16 = 0x0000;
    /// Gateway IP address (4 bytes).
    pub const GAR: u16 = 0x0001;
    /// Subnet mask (4 bytes).
    pub const SUBR: u16 = 0x0005;
    /// Source hardware (MAC) address (6 bytes).
    pub const SHAR: u16 = 0x0009;
    /// Source IP address (4 bytes).
    pub const SIPR: u16 = 0x000f;
    /// Interrupt low-level timer (2 bytes).
    pub const INTLEVEL: u16 = 0x0013;
    /// Interrupt register.
    pub const IR: u16 = 0x0015;
    /// Interrupt mask.
    pub const IMR: u16 = 0x0016;
    /// Socket interrupt register.
    pub const SIR: u16 = 0x0017;
    /// Socket interrupt mask.
    pub const SIMR: u16 = 0x0018;
    /// Retry time, unit 100 µs (2 bytes).
    pub const RTR: u16 = 0x0019;
    /// Retry count.
    pub const RCR: u16 = 0x001b;
    /// PPP LCP request timer.
    pub const PTIMER: u16 = 0x001c;
    /// PPP LCP magic number.
    pub const PMAGIC: u16 = 0x001d;
    /// PPP destination MAC (6 bytes).
    pub const PHAR: u16 = 0x001e;
    /// PPP session ID (2 bytes).
    pub const PSID: u16 = 0x0024;
    /// PPP maximum receive unit (2 bytes).
    pub const PMRU: u16 = 0x0026;
    /// Unreachable IP address (4 bytes).
    pub const UIPR: u16 = 0x0028;
    /// Unreachable port (2 bytes).
    pub const UPORTR: u16 = 0x002c;
    /// PHY configuration.
    pub const PHYCFGR: u16 = 0x002e;
    /// Chip version.
    pub const VERSIONR: u16 = 0x0039;
}

/// Socket register offsets (block [`Block::Socket`], §3.2). Named without the `Sn_` prefix.
pub mod sn {
    /// `Sn_MR`: socket mode.
    pub const MR: u16 = 0x0000;
    /// `Sn_CR`: socket command.
    pub const CR: u16 = 0x0001;
    /// `Sn_IR`: socket interrupt.
    pub const IR: u16 = 0x0002;
    /// `Sn_SR`: socket status.
    pub const SR: u16 = 0x0003;
    /// `Sn_PORT`: source port (2 bytes).
    pub const PORT: u16 = 0x0004;
    /// `Sn_DHAR`: destination MAC (6 bytes).
    pub const DHAR: u16 = 0x0006;
    /// `Sn_DIPR`: destination IP (4 bytes), followed by `Sn_DPORT`.
    pub const DIPR: u16 = 0x000c;
    /// `Sn_DPORT`: destination port (2 bytes).
    pub const DPORT: u16 = 0x0010;
    /// `Sn_MSSR`: maximum segment size (2 bytes).
    pub const MSSR: u16 = 0x0012;
    /// `Sn_TOS`: IP type of service.
    pub const TOS: u16 = 0x0015;
    /// `Sn_TTL`: IP time to live.
    pub const TTL: u16 = 0x0016;
    /// `Sn_RXBUF_SIZE`: RX buffer size in KB.
    pub const RXBUF_SIZE: u16 = 0x001e;
    /// `Sn_TXBUF_SIZE`: TX buffer size in KB.
    pub const TXBUF_SIZE: u16 = 0x001f;
    /// `Sn_TX_FSR`: TX free size (2 bytes, read twice until stable).
    pub const TX_FSR: u16 = 0x0020;
    /// `Sn_TX_RD`: TX read pointer (2 bytes).
    pub const TX_RD: u16 = 0x0022;
    /// `Sn_TX_WR`: TX write pointer (2 bytes).
    pub const TX_WR: u16 = 0x0024;
    /// `Sn_RX_RSR`: RX received size (2 bytes, read twice until stable).
    pub const RX_RSR: u16 = 0x0026;
    /// `Sn_RX_RD`: RX read pointer (2 bytes).
    pub const RX_RD: u16 = 0x0028;
    /// `Sn_RX_WR`: RX write pointer (2 bytes).
    pub const RX_WR: u16 = 0x002a;
    /// `Sn_IMR`: socket interrupt mask.
    pub const IMR: u16 = 0x002c;
    /// `Sn_FRAG`: IP fragment offset field (2 bytes).
    pub const FRAG: u16 = 0x002d;
    /// `Sn_KPALVTR`: keep-alive timer, unit 5 s.
    pub const KPALVTR: u16 = 0x002f;
}

bitflags::bitflags! {
    /// `MR`: mode register (§3.1).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Mode: u8 {
        /// Software reset; self-clearing.
        const RST = 0x80;
        /// Wake on LAN (magic packet).
        const WOL = 0x20;
        /// Ping block: do not answer ICMP echo requests.
        const PB = 0x10;
        /// PPPoE mode.
        const PPPOE = 0x08;
        /// Force ARP on every send.
        const FARP = 0x02;
    }

    /// `IR` and `IMR`: common interrupts (§3.1).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Interrupt: u8 {
        /// Another host answered ARP for our IP address.
        const CONFLICT = 0x80;
        /// ICMP destination unreachable received (see `UIPR`, `UPORTR`).
        const UNREACH = 0x40;
        /// PPPoE connection closed.
        const PPPOE = 0x20;
        /// Magic packet received.
        const MP = 0x10;
    }

    /// `Sn_IR` and `Sn_IMR`: socket interrupts (§3.2). Write 1 to clear.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct SocketInterrupt: u8 {
        /// SEND completed.
        const SEND_OK = 0x10;
        /// ARP or TCP retransmission timeout.
        const TIMEOUT = 0x08;
        /// Data received.
        const RECV = 0x04;
        /// FIN or RST received.
        const DISCON = 0x02;
        /// Connection established.
        const CON = 0x01;
    }

    /// `SIR` and `SIMR`: one bit per socket (§3.1).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct SocketSet: u8 {
        /// Socket 0.
        const S0 = 0x01;
        /// Socket 1.
        const S1 = 0x02;
        /// Socket 2.
        const S2 = 0x04;
        /// Socket 3.
        const S3 = 0x08;
        /// Socket 4.
        const S4 = 0x10;
        /// Socket 5.
        const S5 = 0x20;
        /// Socket 6.
        const S6 = 0x40;
        /// Socket 7.
        const S7 = 0x80;
    }
}

impl SocketSet {
    /// The sockets in this set, lowest first.
    pub fn sockets(self) -> impl Iterator<Item = Sn> {
        Sn::ALL
            .into_iter()
            .filter(move |sn| self.contains(sn.bit()))
    }
}

/// The protocol field `P[3:0]` of `Sn_MR`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// 0000: socket closed.
    Closed,
    /// 0001.
    Tcp,
    /// 0010.
    Udp,
    /// 0100: raw Ethernet, socket 0 only.
    Macraw,
    /// Any other value.
    Unknown(u8),
}

impl Protocol {
    /// The 4-bit field value.
    pub const fn bits(self) -> u8 {
        match self {
            Protocol::Closed => 0,
            Protocol::Tcp => 1,
            Protocol::Udp => 2,
            Protocol::Macraw => 4,
            Protocol::Unknown(v) => v & 0x0f,
        }
    }

    /// Decode the low nibble of `Sn_MR`.
    pub const fn from_bits(v: u8) -> Protocol {
        match v & 0x0f {
            0 => Protocol::Closed,
            1 => Protocol::Tcp,
            2 => Protocol::Udp,
            4 => Protocol::Macraw,
            other => Protocol::Unknown(other),
        }
    }
}

/// `Sn_MR`: protocol plus mode flags whose meaning depends on the protocol (§3.2).
///
/// ```
/// use w5500_regs::{Protocol, SocketMode};
///
/// // TCP with no delayed ACK.
/// let mr = SocketMode::new(Protocol::Tcp).with(SocketMode::ND_MC_MMB, true);
/// assert_eq!(mr.0, 0x21);
/// assert_eq!(mr.protocol(), Protocol::Tcp);
/// assert!(mr.has(SocketMode::ND_MC_MMB));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SocketMode(pub u8);

impl SocketMode {
    /// UDP: multicast (`MULTI`); MACRAW: MAC filter (`MFEN`).
    pub const MULTI_MFEN: u8 = 0x80;
    /// UDP and MACRAW: block broadcast (`BCASTB`).
    pub const BCASTB: u8 = 0x40;
    /// TCP: no delayed ACK (`ND`); UDP multicast: IGMP v1 (`MC`); MACRAW: block multicast (`MMB`).
    pub const ND_MC_MMB: u8 = 0x20;
    /// UDP: block unicast in multicast mode (`UCASTB`); MACRAW: block IPv6 (`MIP6B`).
    pub const UCASTB_MIP6B: u8 = 0x10;

    /// A mode with `protocol` and no flags.
    pub const fn new(protocol: Protocol) -> Self {
        SocketMode(protocol.bits())
    }

    /// The protocol field.
    pub const fn protocol(self) -> Protocol {
        Protocol::from_bits(self.0)
    }

    /// This mode with `flag` (one of the associated constants) set or cleared.
    #[must_use]
    pub const fn with(self, flag: u8, on: bool) -> Self {
        if on {
            SocketMode(self.0 | flag)
        } else {
            SocketMode(self.0 & !flag)
        }
    }

    /// True when `flag` is set.
    pub const fn has(self, flag: u8) -> bool {
        self.0 & flag != 0
    }
}

/// `Sn_CR` commands (§3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SocketCommand {
    /// Initialise the socket per `Sn_MR`.
    Open = 0x01,
    /// TCP server: wait for a SYN.
    Listen = 0x02,
    /// TCP client: send a SYN to `Sn_DIPR:Sn_DPORT`.
    Connect = 0x04,
    /// TCP: send FIN.
    Discon = 0x08,
    /// Close at once, no FIN.
    Close = 0x10,
    /// Send `Sn_TX_RD..Sn_TX_WR`.
    Send = 0x20,
    /// UDP: send using `Sn_DHAR`, no ARP.
    SendMac = 0x21,
    /// TCP: send one keep-alive segment.
    SendKeep = 0x22,
    /// Publish `Sn_RX_RD`: the host has read data.
    Recv = 0x40,
}

/// `Sn_SR`: socket status (§3.2). `Unknown` keeps any undocumented or transient value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum SocketStatus {
    Closed,
    Init,
    Listen,
    SynSent,
    SynRecv,
    Established,
    FinWait,
    Closing,
    TimeWait,
    CloseWait,
    LastAck,
    Udp,
    Macraw,
    /// A value the datasheet does not list.
    Unknown(u8),
}

impl SocketStatus {
    /// Decode the register value.
    pub const fn from_u8(v: u8) -> Self {
        match v {
            0x00 => SocketStatus::Closed,
            0x13 => SocketStatus::Init,
            0x14 => SocketStatus::Listen,
            0x15 => SocketStatus::SynSent,
            0x16 => SocketStatus::SynRecv,
            0x17 => SocketStatus::Established,
            0x18 => SocketStatus::FinWait,
            0x1a => SocketStatus::Closing,
            0x1b => SocketStatus::TimeWait,
            0x1c => SocketStatus::CloseWait,
            0x1d => SocketStatus::LastAck,
            0x22 => SocketStatus::Udp,
            0x42 => SocketStatus::Macraw,
            other => SocketStatus::Unknown(other),
        }
    }

    /// The register value.
    pub const fn to_u8(self) -> u8 {
        match self {
            SocketStatus::Closed => 0x00,
            SocketStatus::Init => 0x13,
            SocketStatus::Listen => 0x14,
            SocketStatus::SynSent => 0x15,
            SocketStatus::SynRecv => 0x16,
            SocketStatus::Established => 0x17,
            SocketStatus::FinWait => 0x18,
            SocketStatus::Closing => 0x1a,
            SocketStatus::TimeWait => 0x1b,
            SocketStatus::CloseWait => 0x1c,
            SocketStatus::LastAck => 0x1d,
            SocketStatus::Udp => 0x22,
            SocketStatus::Macraw => 0x42,
            SocketStatus::Unknown(v) => v,
        }
    }
}

/// PHY operation mode, `PHYCFGR.OPMDC` (§3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PhyMode {
    /// 000: 10BASE-T half duplex, no auto-negotiation.
    HalfDuplex10,
    /// 001: 10BASE-T full duplex, no auto-negotiation.
    FullDuplex10,
    /// 010: 100BASE-TX half duplex, no auto-negotiation.
    HalfDuplex100,
    /// 011: 100BASE-TX full duplex, no auto-negotiation.
    FullDuplex100,
    /// 100: 100BASE-TX half duplex with auto-negotiation.
    HalfDuplex100Auto,
    /// 101: not used.
    Reserved,
    /// 110: power down.
    PowerDown,
    /// 111: all capable, auto-negotiation.
    Auto,
}

impl PhyMode {
    const fn from_bits(v: u8) -> PhyMode {
        match v & 0x07 {
            0 => PhyMode::HalfDuplex10,
            1 => PhyMode::FullDuplex10,
            2 => PhyMode::HalfDuplex100,
            3 => PhyMode::FullDuplex100,
            4 => PhyMode::HalfDuplex100Auto,
            5 => PhyMode::Reserved,
            6 => PhyMode::PowerDown,
            _ => PhyMode::Auto,
        }
    }

    const fn bits(self) -> u8 {
        match self {
            PhyMode::HalfDuplex10 => 0,
            PhyMode::FullDuplex10 => 1,
            PhyMode::HalfDuplex100 => 2,
            PhyMode::FullDuplex100 => 3,
            PhyMode::HalfDuplex100Auto => 4,
            PhyMode::Reserved => 5,
            PhyMode::PowerDown => 6,
            PhyMode::Auto => 7,
        }
    }
}

/// `PHYCFGR`: PHY configuration and status (§3.1).
///
/// ```
/// use w5500_regs::{PhyCfg, PhyMode};
///
/// let read = PhyCfg(0b1011_1111); // reset configuration, link up, 100 Mbit/s, full duplex
/// assert!(read.link_up() && read.speed_100() && read.full_duplex());
///
/// // Writing a mode keeps RST (bit 7) at 1; only `with_reset` clears it.
/// let w = PhyCfg::configure(PhyMode::Auto);
/// assert_eq!(w.0 & 0x80, 0x80);
/// assert_eq!(w.with_reset().0 & 0x80, 0);
/// ```
///
/// Bit 7 (`RST`) resets the PHY when written 0: every value built here keeps it at 1 unless
/// [`PhyCfg::with_reset`] asks for the reset, so a careless write never resets the PHY.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PhyCfg(pub u8);

impl PhyCfg {
    /// Reset value of the configuration bits (status bits read as 0 here).
    pub const RESET: PhyCfg = PhyCfg(0b1011_1000);

    /// Link up (`LNK`).
    pub const fn link_up(self) -> bool {
        self.0 & 0x01 != 0
    }

    /// 100 Mbit/s (`SPD`), else 10.
    pub const fn speed_100(self) -> bool {
        self.0 & 0x02 != 0
    }

    /// Full duplex (`DPX`).
    pub const fn full_duplex(self) -> bool {
        self.0 & 0x04 != 0
    }

    /// The configured mode (meaningful when `OPMD` selects register configuration).
    pub const fn mode(self) -> PhyMode {
        PhyMode::from_bits(self.0 >> 3)
    }

    /// True when the mode comes from `OPMDC` rather than the PMODE pins.
    pub const fn opmd(self) -> bool {
        self.0 & 0x40 != 0
    }

    /// A value to write that selects `mode` through `OPMDC`, with `RST` held at 1.
    pub const fn configure(mode: PhyMode) -> PhyCfg {
        PhyCfg(0x80 | 0x40 | (mode.bits() << 3))
    }

    /// This value with `RST` cleared: writing it resets the PHY.
    #[must_use]
    pub const fn with_reset(self) -> PhyCfg {
        PhyCfg(self.0 & 0x7f)
    }
}

/// A socket buffer size: one of the values `Sn_RXBUF_SIZE`/`Sn_TXBUF_SIZE` accept (§3.2).
///
/// ```
/// use w5500_regs::{check_buffer_plan, BufferSize};
///
/// assert_eq!(BufferSize::from_kb(4), Some(BufferSize::K4));
/// assert_eq!(BufferSize::from_kb(3), None);
/// assert_eq!(BufferSize::K4.bytes(), 4096);
///
/// // Two sockets with 8 KB each fill the chip's 16 KB; a third would not fit.
/// let mut plan = [BufferSize::K0; 8];
/// plan[0] = BufferSize::K8;
/// plan[1] = BufferSize::K8;
/// assert_eq!(check_buffer_plan(&plan), Some(16));
/// plan[2] = BufferSize::K1;
/// assert_eq!(check_buffer_plan(&plan), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum BufferSize {
    K0 = 0,
    K1 = 1,
    K2 = 2,
    K4 = 4,
    K8 = 8,
    K16 = 16,
}

impl BufferSize {
    /// The size for a register value in KB; `None` for anything the chip does not accept.
    pub const fn from_kb(kb: u8) -> Option<BufferSize> {
        match kb {
            0 => Some(BufferSize::K0),
            1 => Some(BufferSize::K1),
            2 => Some(BufferSize::K2),
            4 => Some(BufferSize::K4),
            8 => Some(BufferSize::K8),
            16 => Some(BufferSize::K16),
            _ => None,
        }
    }

    /// The register value (KB).
    pub const fn kb(self) -> u8 {
        self as u8
    }

    /// Size in bytes.
    pub const fn bytes(self) -> usize {
        self as usize * 1024
    }
}

/// Checks a per-socket buffer plan against the chip's rule: every size valid and the total
/// at most 16 KB (§3.2 `Sn_RXBUF_SIZE`). Returns the total in KB when the plan is valid.
pub fn check_buffer_plan(sizes: &[BufferSize; 8]) -> Option<u8> {
    let total: u16 = sizes.iter().map(|s| u16::from(s.kb())).sum();
    (total <= 16).then_some(total as u8)
}

/// Reset values of registers a driver checks (§3.1, §3.2).
pub mod reset {
    /// `RTR`: 0x07D0 = 200 ms.
    pub const RTR: u16 = 0x07d0;
    /// `RCR`: 8 retries.
    pub const RCR: u8 = 0x08;
    /// `Sn_TTL`.
    pub const SN_TTL: u8 = 0x80;
    /// `Sn_IMR`.
    pub const SN_IMR: u8 = 0xff;
    /// `Sn_FRAG`: DF set.
    pub const SN_FRAG: u16 = 0x4000;
    /// `Sn_RXBUF_SIZE`/`Sn_TXBUF_SIZE`: 2 KB.
    pub const SN_BUF_SIZE: u8 = 0x02;
    /// `Sn_DHAR`.
    pub const SN_DHAR: [u8; 6] = [0xff; 6];
    /// `PMRU`.
    pub const PMRU: u16 = 0xffff;
    /// `PTIMER`.
    pub const PTIMER: u8 = 0x28;
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values written out independently of the code above, from datasheet §2.2.2.

    #[test]
    fn ds_2_2_2_versionr_read_header() {
        // Reading VERSIONR (0x0039) in the common block, VDM: 00 39 00.
        assert_eq!(
            header(common::VERSIONR, Block::Common, Access::Read),
            [0x00, 0x39, 0x00]
        );
    }

    #[test]
    fn ds_2_2_2_socket_block_control_bytes() {
        // Socket n register read = 0x08 + 0x20n, write = 0x0C + 0x20n; TX buffer write
        // = 0x14 + 0x20n; RX buffer read = 0x18 + 0x20n.
        for sn in Sn::ALL {
            let n = sn as u8;
            assert_eq!(
                control_byte(Block::Socket(sn), Access::Read, OpMode::Vdm),
                0x08 + 0x20 * n
            );
            assert_eq!(
                control_byte(Block::Socket(sn), Access::Write, OpMode::Vdm),
                0x0c + 0x20 * n
            );
            assert_eq!(
                control_byte(Block::TxBuf(sn), Access::Write, OpMode::Vdm),
                0x14 + 0x20 * n
            );
            assert_eq!(
                control_byte(Block::RxBuf(sn), Access::Read, OpMode::Vdm),
                0x18 + 0x20 * n
            );
        }
        assert_eq!(
            control_byte(Block::Common, Access::Write, OpMode::Fdm4),
            0b0000_0111
        );
    }

    #[test]
    fn ds_2_2_2_reserved_block_selects_do_not_decode() {
        for bsb in 0u8..=255 {
            let decoded = Block::from_bsb(bsb);
            let reserved = bsb > 0x1f || (bsb != 0 && bsb % 4 == 0);
            assert_eq!(decoded.is_none(), reserved, "bsb {bsb:#x}");
            if let Some(b) = decoded {
                assert_eq!(b.bsb(), bsb);
            }
        }
    }

    #[test]
    fn ds_3_2_socket_status_round_trips_and_keeps_unknown() {
        for v in 0u8..=255 {
            assert_eq!(SocketStatus::from_u8(v).to_u8(), v);
        }
        assert_eq!(SocketStatus::from_u8(0x17), SocketStatus::Established);
        assert_eq!(SocketStatus::from_u8(0x01), SocketStatus::Unknown(0x01));
    }

    #[test]
    fn ds_3_2_socket_mode_protocol_and_flags() {
        let m = SocketMode::new(Protocol::Tcp).with(SocketMode::ND_MC_MMB, true);
        assert_eq!(m.0, 0x21);
        assert_eq!(m.protocol(), Protocol::Tcp);
        assert_eq!(SocketMode(0x84).protocol(), Protocol::Macraw);
        assert_eq!(SocketMode(0x03).protocol(), Protocol::Unknown(3));
    }

    #[test]
    fn ds_3_1_phycfgr_fields_and_reset_guard() {
        let v = PhyCfg(0b1011_1111);
        assert!(v.link_up() && v.speed_100() && v.full_duplex());
        assert_eq!(v.mode(), PhyMode::Auto);
        assert_eq!(PhyCfg::configure(PhyMode::PowerDown).0, 0b1111_0000);
        assert_eq!(PhyCfg::configure(PhyMode::Auto).with_reset().0 & 0x80, 0);
    }

    #[test]
    fn ds_3_2_buffer_sizes_and_total_rule() {
        assert_eq!(BufferSize::from_kb(3), None);
        assert_eq!(BufferSize::from_kb(16).map(BufferSize::bytes), Some(16384));
        assert_eq!(check_buffer_plan(&[BufferSize::K2; 8]), Some(16));
        let mut plan = [BufferSize::K2; 8];
        plan[0] = BufferSize::K4;
        assert_eq!(check_buffer_plan(&plan), None);
    }

    #[test]
    fn socket_sets_list_sockets() {
        extern crate std;
        let v: std::vec::Vec<Sn> = (SocketSet::S1 | SocketSet::S7).sockets().collect();
        assert_eq!(v, [Sn::Sn1, Sn::Sn7]);
    }
}
