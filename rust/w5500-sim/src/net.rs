//! What crosses the cable: structured Ethernet frames, and the [`Network`] behind the chip.
//!
//! The simulated chip talks to the network in [`Frame`]s: Ethernet II frames whose bodies are
//! already parsed (ARP, IPv4 with UDP, TCP, ICMP or IGMP). TCP segments carry real sequence and
//! acknowledgement numbers, windows and the MSS option, so the chip's hardwired TCP engine, the
//! in-memory LAN's hosts and a host IP stack running over MACRAW all speak the same protocol.
//! [`crate::wire`] turns a frame into the exact bytes of an Ethernet frame and back; that is how
//! MACRAW (socket 0 in raw mode) exchanges frames with the same network.
//!
//! A network is anything that implements [`Network`]: the in-memory LAN ([`crate::lan`]) or, with
//! `std`, host sockets inside a network namespace ([`crate::hostnet`]).

use alloc::vec::Vec;
use core::fmt;
use core::net::Ipv4Addr;

use crate::time::Instant;

/// An IEEE 802 MAC address (EUI-48).
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// `ff:ff:ff:ff:ff:ff`.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    /// `00:00:00:00:00:00`.
    pub const ZERO: MacAddr = MacAddr([0; 6]);

    /// True for the broadcast address.
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// True for group addresses (the I/G bit set), broadcast included.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// The Ethernet multicast address an IPv4 group maps to (RFC 1112 §6.4).
    pub fn ipv4_multicast(group: Ipv4Addr) -> MacAddr {
        let o = group.octets();
        MacAddr([0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]])
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

/// An Ethernet II frame with a parsed body (no preamble, no FCS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Destination MAC.
    pub dst: MacAddr,
    /// Source MAC.
    pub src: MacAddr,
    /// What the frame carries.
    pub body: Body,
}

/// The payload of a [`Frame`], by EtherType.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// EtherType 0x0806.
    Arp(Arp),
    /// EtherType 0x0800.
    Ipv4(Ipv4Packet),
    /// Any other EtherType (IPv6, VLAN-tagged, ...), kept as bytes.
    Other {
        /// The EtherType field.
        ethertype: u16,
        /// Everything after the EtherType.
        payload: Vec<u8>,
    },
}

/// ARP operation (RFC 826).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArpOp {
    /// Who has `target_ip`?
    Request,
    /// `sender_ip` is at `sender_mac`.
    Reply,
}

/// An Ethernet/IPv4 ARP packet (RFC 826).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arp {
    /// Request or reply.
    pub op: ArpOp,
    /// Sender hardware address.
    pub sender_mac: MacAddr,
    /// Sender protocol address.
    pub sender_ip: Ipv4Addr,
    /// Target hardware address (zero in a request).
    pub target_mac: MacAddr,
    /// Target protocol address.
    pub target_ip: Ipv4Addr,
}

/// An IPv4 packet (RFC 791). The W5500 never fragments, so neither does anything here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ipv4Packet {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Time to live (the chip's `Sn_TTL`, reset 0x80).
    pub ttl: u8,
    /// Type of service (the chip's `Sn_TOS`).
    pub tos: u8,
    /// Identification field.
    pub ident: u16,
    /// The DF flag (the chip's `Sn_FRAG` reset value 0x4000 sets it).
    pub dont_fragment: bool,
    /// The transport payload.
    pub payload: IpPayload,
}

/// The payload of an [`Ipv4Packet`], by protocol number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IpPayload {
    /// Protocol 17.
    Udp(UdpDatagram),
    /// Protocol 6.
    Tcp(TcpSegment),
    /// Protocol 1.
    Icmp(Icmp),
    /// Protocol 2.
    Igmp(Igmp),
    /// Anything else, kept as bytes.
    Other {
        /// The protocol number.
        protocol: u8,
        /// The IP payload.
        data: Vec<u8>,
    },
}

/// A UDP datagram (RFC 768); ports are in here, addresses in the enclosing [`Ipv4Packet`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UdpDatagram {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Payload (at most 1472 bytes from the chip: it never fragments).
    pub payload: Vec<u8>,
}

/// TCP header flags (RFC 9293 §3.1).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// No more data from sender.
    pub const FIN: TcpFlags = TcpFlags(0x01);
    /// Synchronize sequence numbers.
    pub const SYN: TcpFlags = TcpFlags(0x02);
    /// Reset the connection.
    pub const RST: TcpFlags = TcpFlags(0x04);
    /// Push function.
    pub const PSH: TcpFlags = TcpFlags(0x08);
    /// Acknowledgment field significant.
    pub const ACK: TcpFlags = TcpFlags(0x10);
    /// Urgent pointer significant.
    pub const URG: TcpFlags = TcpFlags(0x20);

    /// True when every flag in `other` is set in `self`.
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union of two flag sets.
    pub const fn union(self, other: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | other.0)
    }
}

impl core::ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        self.union(rhs)
    }
}

impl fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(TcpFlags, &str); 6] = [
            (TcpFlags::SYN, "SYN"),
            (TcpFlags::ACK, "ACK"),
            (TcpFlags::FIN, "FIN"),
            (TcpFlags::RST, "RST"),
            (TcpFlags::PSH, "PSH"),
            (TcpFlags::URG, "URG"),
        ];
        let mut first = true;
        for (flag, name) in NAMES {
            if self.contains(flag) {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("-")?;
        }
        Ok(())
    }
}

/// A TCP segment (RFC 9293); addresses are in the enclosing [`Ipv4Packet`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpSegment {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number (meaningful with ACK).
    pub ack: u32,
    /// Control flags.
    pub flags: TcpFlags,
    /// Receive window (no window scaling: the chip does not use it).
    pub window: u16,
    /// The MSS option, sent with SYN.
    pub mss: Option<u16>,
    /// Payload.
    pub payload: Vec<u8>,
}

impl TcpSegment {
    /// Sequence space the segment occupies: payload plus one for SYN and one for FIN.
    pub fn seq_len(&self) -> u32 {
        let mut n = self.payload.len() as u32;
        if self.flags.contains(TcpFlags::SYN) {
            n = n.wrapping_add(1);
        }
        if self.flags.contains(TcpFlags::FIN) {
            n = n.wrapping_add(1);
        }
        n
    }
}

/// An ICMP message (RFC 792), the kinds the W5500 sends or reacts to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Icmp {
    /// Type 8 (the chip answers it itself unless `MR.PB` blocks ping).
    EchoRequest {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq: u16,
        /// Data.
        data: Vec<u8>,
    },
    /// Type 0.
    EchoReply {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq: u16,
        /// Data.
        data: Vec<u8>,
    },
    /// Type 3 (code 3 is port unreachable, which sets `IR.UNREACH`, `UIPR` and `UPORTR`).
    DestUnreachable {
        /// Code.
        code: u8,
        /// The start of the offending IP packet: its header and 8 payload bytes.
        original: Vec<u8>,
    },
    /// Any other type.
    Other {
        /// Type.
        kind: u8,
        /// Code.
        code: u8,
        /// Everything after the checksum.
        data: Vec<u8>,
    },
}

/// IGMP messages (RFC 1112 v1, RFC 2236 v2): the chip sends reports for UDP multicast sockets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Igmp {
    /// Membership query (type 0x11), `group` unspecified for a general query.
    Query {
        /// Maximum response time in 1/10 s (0 in IGMPv1).
        max_resp: u8,
        /// Group address.
        group: Ipv4Addr,
    },
    /// Version 1 membership report (0x12).
    V1Report {
        /// Group address.
        group: Ipv4Addr,
    },
    /// Version 2 membership report (0x16).
    V2Report {
        /// Group address.
        group: Ipv4Addr,
    },
    /// Version 2 leave group (0x17).
    Leave {
        /// Group address.
        group: Ipv4Addr,
    },
}

/// The network behind the chip's PHY.
///
/// The simulator calls these from one thread, in this order on every step: [`Network::poll`],
/// then [`Network::receive`] until it returns `None`, while the chip hands frames to
/// [`Network::transmit`] as its engine produces them.
pub trait Network {
    /// The chip puts `frame` on the wire at `now`.
    fn transmit(&mut self, now: Instant, frame: Frame);

    /// The next frame for the chip whose arrival time is at or before `now`, oldest first.
    fn receive(&mut self, now: Instant) -> Option<Frame>;

    /// Let the network run its own timers and applications up to `now`.
    fn poll(&mut self, now: Instant);

    /// The earliest future instant at which the network will have something to do or to
    /// deliver without the chip acting, so a simulated clock can jump straight there.
    fn next_event(&self) -> Option<Instant>;

    /// The in-memory LAN, when this network is one (the bridge's LAN-client requests reach it
    /// this way); `None` for other networks.
    fn lan_mut(&mut self) -> Option<&mut crate::lan::Lan> {
        None
    }

    /// The simulator tells the network the chip's configured address (`SIPR`, DS §3.1) at
    /// every step, as a test bench knows its device's address: the LAN's clients aim at it
    /// ([`crate::lan::clients`]). 0.0.0.0 while the chip has none. Ignored by default.
    fn chip_address(&mut self, _sipr: core::net::Ipv4Addr) {}
}

impl<N: Network + ?Sized> Network for alloc::boxed::Box<N> {
    fn transmit(&mut self, now: Instant, frame: Frame) {
        (**self).transmit(now, frame)
    }
    fn receive(&mut self, now: Instant) -> Option<Frame> {
        (**self).receive(now)
    }
    fn poll(&mut self, now: Instant) {
        (**self).poll(now)
    }
    fn next_event(&self) -> Option<Instant> {
        (**self).next_event()
    }
    fn lan_mut(&mut self) -> Option<&mut crate::lan::Lan> {
        (**self).lan_mut()
    }
    fn chip_address(&mut self, sipr: core::net::Ipv4Addr) {
        (**self).chip_address(sipr)
    }
}

/// A network with nothing on it: every frame the chip sends is lost, nothing arrives.
#[derive(Debug, Default)]
pub struct NoNetwork;

impl Network for NoNetwork {
    fn transmit(&mut self, _now: Instant, _frame: Frame) {}
    fn receive(&mut self, _now: Instant) -> Option<Frame> {
        None
    }
    fn poll(&mut self, _now: Instant) {}
    fn next_event(&self) -> Option<Instant> {
        None
    }
}

/// A network the test scripts by hand: it records what the chip sends and delivers what the
/// test queued, each at its own arrival time. Useful for unit tests of the chip engine.
#[derive(Debug, Default)]
pub struct ScriptedNetwork {
    /// Frames the chip transmitted, with the instant it did.
    pub sent: Vec<(Instant, Frame)>,
    /// Frames waiting for delivery to the chip, with their arrival time (kept sorted).
    pub pending: alloc::collections::VecDeque<(Instant, Frame)>,
}

impl ScriptedNetwork {
    /// Queue `frame` to arrive at the chip at `at`.
    pub fn deliver_at(&mut self, at: Instant, frame: Frame) {
        let idx = self
            .pending
            .iter()
            .position(|(t, _)| *t > at)
            .unwrap_or(self.pending.len());
        self.pending.insert(idx, (at, frame));
    }

    /// Take everything the chip has sent so far.
    pub fn take_sent(&mut self) -> Vec<(Instant, Frame)> {
        core::mem::take(&mut self.sent)
    }
}

impl Network for ScriptedNetwork {
    fn transmit(&mut self, now: Instant, frame: Frame) {
        self.sent.push((now, frame));
    }
    fn receive(&mut self, now: Instant) -> Option<Frame> {
        match self.pending.front() {
            Some((t, _)) if *t <= now => self.pending.pop_front().map(|(_, f)| f),
            _ => None,
        }
    }
    fn poll(&mut self, _now: Instant) {}
    fn next_event(&self) -> Option<Instant> {
        self.pending.front().map(|(t, _)| *t)
    }
}
