//! Views into a simulated Ethernet frame: the IPv4 packet, TCP segment or ARP message it
//! carries, `None` for anything else (chip_*, hostnet_*).

use w5500_sim::net::{Arp, Body, Frame, IpPayload, Ipv4Packet, TcpSegment};

/// The IPv4 packet in `f`.
pub fn ipv4_of(f: &Frame) -> Option<&Ipv4Packet> {
    match &f.body {
        Body::Ipv4(p) => Some(p),
        _ => None,
    }
}

/// The TCP segment in `f`.
pub fn tcp_of(f: &Frame) -> Option<&TcpSegment> {
    match &ipv4_of(f)?.payload {
        IpPayload::Tcp(s) => Some(s),
        _ => None,
    }
}

/// The ARP message in `f` (RFC 826).
pub fn arp_of(f: &Frame) -> Option<&Arp> {
    match &f.body {
        Body::Arp(a) => Some(a),
        _ => None,
    }
}
