//! The simulated chip's own register map, read independently from the W5500 datasheet v1.0.9
//! (DS §3 "Register and memory organization", §3.1 common registers, §3.2 socket registers).
//!
//! This table is deliberately not shared with any driver: the simulator and a driver must be
//! two independent readings of the datasheet, so that a misreading on one side shows up as a
//! failing test instead of cancelling out.
//!
//! Addresses are offsets inside their block; the block is selected by the SPI control byte's
//! BSB field (DS §2.2.2): 0 = common registers, `4n+1` = socket n registers, `4n+2` = socket n
//! TX buffer, `4n+3` = socket n RX buffer, and `4n` for n ≥ 1 is reserved.

/// How a register byte reacts to SPI reads and writes (DS §3, the `R` and `R/W` marks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Readable and writable.
    ReadWrite,
    /// Readable; writes are ignored.
    ReadOnly,
    /// Readable; writing 1 to a bit clears it, writing 0 leaves it (IR, Sn_IR).
    WriteOneToClear,
    /// Not a register: reads 0, writes are ignored.
    Reserved,
}

/// What a block-select value addresses (DS §2.2.2 Table "BSB").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Block {
    /// BSB 0: the common register block.
    Common,
    /// BSB `4n+1`: socket n's registers.
    SocketRegs(u8),
    /// BSB `4n+2`: socket n's TX buffer.
    TxBuffer(u8),
    /// BSB `4n+3`: socket n's RX buffer.
    RxBuffer(u8),
    /// BSB `4n` with n ≥ 1: reserved.
    Reserved(u8),
}

impl Block {
    /// Decode the 5-bit BSB field (the control byte shifted right by 3).
    pub fn from_bsb(bsb: u8) -> Block {
        let bsb = bsb & 0x1f;
        let n = bsb >> 2;
        match bsb & 3 {
            0 if n == 0 => Block::Common,
            0 => Block::Reserved(bsb),
            1 => Block::SocketRegs(n),
            2 => Block::TxBuffer(n),
            _ => Block::RxBuffer(n),
        }
    }

    /// The BSB field value for this block.
    pub fn bsb(self) -> u8 {
        match self {
            Block::Common => 0,
            Block::SocketRegs(n) => ((n & 7) << 2) | 1,
            Block::TxBuffer(n) => ((n & 7) << 2) | 2,
            Block::RxBuffer(n) => ((n & 7) << 2) | 3,
            Block::Reserved(b) => b & 0x1f,
        }
    }
}

/// SPI control byte fields (DS §2.2.2).
pub mod ctrl {
    /// RWB bit: 1 = write, 0 = read.
    pub const RWB_WRITE: u8 = 0x04;
    /// OM = 00: variable-length data mode, framed by chip select.
    pub const OM_VDM: u8 = 0x00;
    /// OM = 01: fixed 1-byte data mode.
    pub const OM_FDM1: u8 = 0x01;
    /// OM = 10: fixed 2-byte data mode.
    pub const OM_FDM2: u8 = 0x02;
    /// OM = 11: fixed 4-byte data mode.
    pub const OM_FDM4: u8 = 0x03;
}

/// Common register addresses (DS §3.1).
pub mod common {
    /// Mode register.
    pub const MR: u16 = 0x0000;
    /// Gateway IP address, 4 bytes.
    pub const GAR: u16 = 0x0001;
    /// Subnet mask, 4 bytes.
    pub const SUBR: u16 = 0x0005;
    /// Source hardware (MAC) address, 6 bytes.
    pub const SHAR: u16 = 0x0009;
    /// Source IP address, 4 bytes.
    pub const SIPR: u16 = 0x000F;
    /// Interrupt low-level timer, 2 bytes.
    pub const INTLEVEL: u16 = 0x0013;
    /// Interrupt register (write 1 to clear).
    pub const IR: u16 = 0x0015;
    /// Interrupt mask register.
    pub const IMR: u16 = 0x0016;
    /// Socket interrupt register (read-only summary of the Sn_IR).
    pub const SIR: u16 = 0x0017;
    /// Socket interrupt mask register.
    pub const SIMR: u16 = 0x0018;
    /// Retry time, 2 bytes, unit 100 µs.
    pub const RTR: u16 = 0x0019;
    /// Retry count.
    pub const RCR: u16 = 0x001B;
    /// PPP LCP request timer.
    pub const PTIMER: u16 = 0x001C;
    /// PPP LCP magic number.
    pub const PMAGIC: u16 = 0x001D;
    /// PPP destination MAC, 6 bytes.
    pub const PHAR: u16 = 0x001E;
    /// PPP session id, 2 bytes.
    pub const PSID: u16 = 0x0024;
    /// PPP maximum receive unit, 2 bytes.
    pub const PMRU: u16 = 0x0026;
    /// Unreachable IP address, 4 bytes (read-only).
    pub const UIPR: u16 = 0x0028;
    /// Unreachable port, 2 bytes (read-only).
    pub const UPORTR: u16 = 0x002C;
    /// PHY configuration.
    pub const PHYCFGR: u16 = 0x002E;
    /// Chip version (read-only, 0x04).
    pub const VERSIONR: u16 = 0x0039;
    /// One past the last address that exists in the common block image.
    pub const END: u16 = 0x0040;
}

/// Socket register offsets inside block `4n+1` (DS §3.2).
pub mod sn {
    /// Socket mode.
    pub const MR: u16 = 0x00;
    /// Socket command.
    pub const CR: u16 = 0x01;
    /// Socket interrupt (write 1 to clear).
    pub const IR: u16 = 0x02;
    /// Socket status (read-only).
    pub const SR: u16 = 0x03;
    /// Source port, 2 bytes.
    pub const PORT: u16 = 0x04;
    /// Destination MAC, 6 bytes.
    pub const DHAR: u16 = 0x06;
    /// Destination IP, 4 bytes.
    pub const DIPR: u16 = 0x0C;
    /// Destination port, 2 bytes.
    pub const DPORT: u16 = 0x10;
    /// Maximum segment size, 2 bytes.
    pub const MSSR: u16 = 0x12;
    /// IP type of service.
    pub const TOS: u16 = 0x15;
    /// IP time to live.
    pub const TTL: u16 = 0x16;
    /// RX buffer size in KB.
    pub const RXBUF_SIZE: u16 = 0x1E;
    /// TX buffer size in KB.
    pub const TXBUF_SIZE: u16 = 0x1F;
    /// TX free size, 2 bytes (read-only).
    pub const TX_FSR: u16 = 0x20;
    /// TX read pointer, 2 bytes (read-only).
    pub const TX_RD: u16 = 0x22;
    /// TX write pointer, 2 bytes.
    pub const TX_WR: u16 = 0x24;
    /// RX received size, 2 bytes (read-only).
    pub const RX_RSR: u16 = 0x26;
    /// RX read pointer, 2 bytes.
    pub const RX_RD: u16 = 0x28;
    /// RX write pointer, 2 bytes (read-only).
    pub const RX_WR: u16 = 0x2A;
    /// Socket interrupt mask.
    pub const IMR: u16 = 0x2C;
    /// Fragment offset field of the IP header, 2 bytes.
    pub const FRAG: u16 = 0x2D;
    /// Keep-alive timer, unit 5 s.
    pub const KPALVTR: u16 = 0x2F;
    /// One past the last socket register.
    pub const END: u16 = 0x30;
}

/// MR bits (DS §3.1 MR).
pub mod mr {
    /// Software reset (self-clearing).
    pub const RST: u8 = 0x80;
    /// Wake on LAN.
    pub const WOL: u8 = 0x20;
    /// Ping block.
    pub const PB: u8 = 0x10;
    /// PPPoE mode.
    pub const PPPOE: u8 = 0x08;
    /// Force ARP.
    pub const FARP: u8 = 0x02;
}

/// IR bits (DS §3.1 IR).
pub mod ir {
    /// IP conflict.
    pub const CONFLICT: u8 = 0x80;
    /// Destination unreachable.
    pub const UNREACH: u8 = 0x40;
    /// PPPoE connection closed.
    pub const PPPOE: u8 = 0x20;
    /// Magic packet.
    pub const MP: u8 = 0x10;
}

/// PHYCFGR bits (DS §3.1 PHYCFGR).
pub mod phy {
    /// PHY reset: write 0 to reset.
    pub const RST: u8 = 0x80;
    /// Operation mode select: 1 = OPMDC bits, 0 = PMODE pins.
    pub const OPMD: u8 = 0x40;
    /// Operation mode configuration bits 5..3.
    pub const OPMDC_MASK: u8 = 0x38;
    /// Duplex status: 1 = full.
    pub const DPX: u8 = 0x04;
    /// Speed status: 1 = 100 Mbit/s.
    pub const SPD: u8 = 0x02;
    /// Link status: 1 = up.
    pub const LNK: u8 = 0x01;
    /// OPMDC value: power-down mode.
    pub const MODE_POWER_DOWN: u8 = 0b110;
}

/// Sn_MR protocol and flag bits (DS §3.2 Sn_MR).
pub mod sn_mr {
    /// Protocol field mask.
    pub const P_MASK: u8 = 0x0F;
    /// Closed.
    pub const CLOSED: u8 = 0x00;
    /// TCP.
    pub const TCP: u8 = 0x01;
    /// UDP.
    pub const UDP: u8 = 0x02;
    /// MACRAW (socket 0 only).
    pub const MACRAW: u8 = 0x04;
    /// UDP multicast / MACRAW MAC filter enable.
    pub const MULTI_MFEN: u8 = 0x80;
    /// Broadcast blocking (UDP and MACRAW).
    pub const BCASTB: u8 = 0x40;
    /// TCP no delayed ACK / UDP IGMP version (1 = v1) / MACRAW multicast blocking.
    pub const ND_MC_MMB: u8 = 0x20;
    /// UDP unicast blocking (multicast) / MACRAW IPv6 blocking.
    pub const UCASTB_MIP6B: u8 = 0x10;
}

/// Sn_CR command values (DS §3.2 Sn_CR).
pub mod cmd {
    /// Open the socket per Sn_MR.
    pub const OPEN: u8 = 0x01;
    /// TCP passive open.
    pub const LISTEN: u8 = 0x02;
    /// TCP active open.
    pub const CONNECT: u8 = 0x04;
    /// TCP graceful close (FIN).
    pub const DISCON: u8 = 0x08;
    /// Close immediately.
    pub const CLOSE: u8 = 0x10;
    /// Send TX_RD..TX_WR.
    pub const SEND: u8 = 0x20;
    /// UDP send to Sn_DHAR without ARP.
    pub const SEND_MAC: u8 = 0x21;
    /// TCP keep-alive probe.
    pub const SEND_KEEP: u8 = 0x22;
    /// Publish RX_RD.
    pub const RECV: u8 = 0x40;
}

/// Sn_IR bits (DS §3.2 Sn_IR).
pub mod sn_ir {
    /// SEND completed.
    pub const SENDOK: u8 = 0x10;
    /// ARP or TCP timeout.
    pub const TIMEOUT: u8 = 0x08;
    /// Data received.
    pub const RECV: u8 = 0x04;
    /// FIN or RST received.
    pub const DISCON: u8 = 0x02;
    /// Connection established.
    pub const CON: u8 = 0x01;
    /// All defined bits.
    pub const ALL: u8 = 0x1F;
}

/// Sn_SR status values (DS §3.2 Sn_SR).
pub mod sr {
    /// Closed.
    pub const CLOSED: u8 = 0x00;
    /// TCP opened, neither listening nor connecting.
    pub const INIT: u8 = 0x13;
    /// TCP waiting for a SYN.
    pub const LISTEN: u8 = 0x14;
    /// TCP SYN sent.
    pub const SYNSENT: u8 = 0x15;
    /// TCP SYN received, SYN/ACK sent.
    pub const SYNRECV: u8 = 0x16;
    /// TCP connected.
    pub const ESTABLISHED: u8 = 0x17;
    /// TCP our FIN sent.
    pub const FIN_WAIT: u8 = 0x18;
    /// TCP simultaneous close.
    pub const CLOSING: u8 = 0x1A;
    /// TCP both FINs exchanged.
    pub const TIME_WAIT: u8 = 0x1B;
    /// TCP peer sent FIN.
    pub const CLOSE_WAIT: u8 = 0x1C;
    /// TCP our FIN after the peer's.
    pub const LAST_ACK: u8 = 0x1D;
    /// UDP open.
    pub const UDP: u8 = 0x22;
    /// MACRAW open.
    pub const MACRAW: u8 = 0x42;
}

/// VERSIONR value of a W5500 (DS §3.1 VERSIONR).
pub const VERSION: u8 = 0x04;

/// PHYCFGR configuration bits at reset: RST=1, OPMD=0, OPMDC=111 (all capable, auto-negotiation);
/// the low three status bits are added by the PHY (DS §3.1 PHYCFGR "0b10111XXX").
pub const PHYCFGR_RESET_CONFIG: u8 = 0b1011_1000;

/// Reset image of the common block (DS §3.1 reset values). PHYCFGR status bits are computed.
pub fn common_reset_image() -> [u8; common::END as usize] {
    let mut r = [0u8; common::END as usize];
    // RTR = 0x07D0 (200 ms), RCR = 8, PTIMER = 0x28, PMRU = 0xFFFF.
    r[0x19] = 0x07;
    r[0x1A] = 0xD0;
    r[0x1B] = 0x08;
    r[0x1C] = 0x28;
    r[0x26] = 0xFF;
    r[0x27] = 0xFF;
    r[0x2E] = PHYCFGR_RESET_CONFIG;
    r[0x39] = VERSION;
    r
}

/// Reset image of one socket block (DS §3.2 reset values). Computed registers (SR, IR, FSR,
/// RSR, pointers) live in the socket state, not here.
pub fn socket_reset_image() -> [u8; sn::END as usize] {
    let mut r = [0u8; sn::END as usize];
    // Sn_DHAR = FF:FF:FF:FF:FF:FF.
    for b in r.iter_mut().take(0x0C).skip(0x06) {
        *b = 0xFF;
    }
    r[0x16] = 0x80; // TTL
    r[0x1E] = 0x02; // RXBUF_SIZE 2 KB
    r[0x1F] = 0x02; // TXBUF_SIZE 2 KB
    r[0x20] = 0x08; // TX_FSR 0x0800
    r[0x2C] = 0xFF; // IMR
    r[0x2D] = 0x40; // FRAG 0x4000
    r
}

/// Access rule of a common-block address (DS §3.1).
pub fn common_access(addr: u16) -> Access {
    match addr {
        0x0000..=0x0014 => Access::ReadWrite,
        0x0015 => Access::WriteOneToClear,
        0x0016 => Access::ReadWrite,
        0x0017 => Access::ReadOnly,
        0x0018..=0x0027 => Access::ReadWrite,
        0x0028..=0x002D => Access::ReadOnly,
        0x002E => Access::ReadWrite,
        0x0039 => Access::ReadOnly,
        _ => Access::Reserved,
    }
}

/// Access rule of a socket-block offset (DS §3.2).
pub fn socket_access(off: u16) -> Access {
    match off {
        0x00 | 0x01 => Access::ReadWrite,
        0x02 => Access::WriteOneToClear,
        0x03 => Access::ReadOnly,
        0x04..=0x13 => Access::ReadWrite,
        0x15 | 0x16 => Access::ReadWrite,
        0x1E | 0x1F => Access::ReadWrite,
        0x20..=0x23 => Access::ReadOnly,
        0x24 | 0x25 => Access::ReadWrite,
        0x26 | 0x27 => Access::ReadOnly,
        0x28 | 0x29 => Access::ReadWrite,
        0x2A | 0x2B => Access::ReadOnly,
        0x2C..=0x2F => Access::ReadWrite,
        _ => Access::Reserved,
    }
}

/// True for a valid Sn_RXBUF_SIZE / Sn_TXBUF_SIZE value (DS §3.2: 0, 1, 2, 4, 8 or 16 KB).
pub fn valid_buf_size(kb: u8) -> bool {
    matches!(kb, 0 | 1 | 2 | 4 | 8 | 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ds_2_2_2_bsb_decoding() {
        assert_eq!(Block::from_bsb(0), Block::Common);
        assert_eq!(Block::from_bsb(1), Block::SocketRegs(0));
        assert_eq!(Block::from_bsb(0x1D), Block::SocketRegs(7));
        assert_eq!(Block::from_bsb(0x1E), Block::TxBuffer(7));
        assert_eq!(Block::from_bsb(0x1F), Block::RxBuffer(7));
        for n in 1..8u8 {
            assert_eq!(Block::from_bsb(n * 4), Block::Reserved(n * 4));
        }
        for b in 0..32u8 {
            assert_eq!(Block::from_bsb(b).bsb(), b);
        }
    }

    #[test]
    fn ds_3_reset_images() {
        let c = common_reset_image();
        assert_eq!(u16::from_be_bytes([c[0x19], c[0x1A]]), 2000);
        assert_eq!(c[0x1B], 8);
        assert_eq!(c[0x39], 0x04);
        let s = socket_reset_image();
        assert_eq!(&s[6..12], &[0xFF; 6]);
        assert_eq!(s[0x16], 0x80);
        assert_eq!(s[0x2C], 0xFF);
        assert_eq!(u16::from_be_bytes([s[0x2D], s[0x2E]]), 0x4000);
    }
}
