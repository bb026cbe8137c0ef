//! [`Frame`]s as the exact bytes of Ethernet II frames, and back.
//!
//! MACRAW (socket 0 in raw mode) moves whole Ethernet frames through the chip's buffers, and a
//! host IP stack running over it (smoltcp, Zephyr's native stack) builds and parses real bytes.
//! This module is the one place where structured frames meet bytes: [`encode`] writes an
//! Ethernet II frame (no preamble, no FCS, no padding) with correct IPv4 header, UDP, TCP, ICMP
//! and IGMP checksums; [`decode`] parses one, checking lengths and checksums, and never panics
//! on any input (see the `decode_never_panics_on_truncations` test).
//!
//! Limits, on purpose: IPv4 only, no IP options (parsed past, not kept), no fragments (the
//! W5500 never fragments; a valid fragment decodes as [`Body::Other`] with EtherType 0x0800
//! and the IP packet kept as bytes, so re-encoding it gives the same fragment back), the only
//! TCP option kept is MSS.

use alloc::vec::Vec;
use core::fmt;
use core::net::Ipv4Addr;

use crate::net::{
    Arp, ArpOp, Body, Frame, Icmp, Igmp, IpPayload, Ipv4Packet, MacAddr, TcpFlags, TcpSegment,
    UdpDatagram,
};

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;

const ETH_HEADER: usize = 14;
const IPV4_HEADER: usize = 20;
const UDP_HEADER: usize = 8;
const TCP_HEADER: usize = 20;

/// Why a byte string is not a frame this module can represent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireError {
    /// Fewer bytes than the headers or length fields require.
    Truncated,
    /// A header field holds a value this module does not accept (IP version, header length,
    /// ARP hardware type, ...).
    Malformed,
    /// A checksum does not verify.
    Checksum,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WireError::Truncated => "frame truncated",
            WireError::Malformed => "malformed header",
            WireError::Checksum => "bad checksum",
        })
    }
}

impl core::error::Error for WireError {}

/// The Internet checksum (RFC 1071) of `data` added to a running `sum`, not yet folded.
fn sum_words(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum = sum.wrapping_add(u32::from(u16::from_be_bytes([c[0], c[1]])));
    }
    if let [last] = chunks.remainder() {
        sum = sum.wrapping_add(u32::from(*last) << 8);
    }
    sum
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// RFC 1071 checksum of `data`.
pub fn checksum(data: &[u8]) -> u16 {
    fold(sum_words(0, data))
}

fn pseudo_header_sum(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, len: usize) -> u32 {
    let mut sum = sum_words(0, &src.octets());
    sum = sum_words(sum, &dst.octets());
    sum = sum.wrapping_add(u32::from(protocol));
    sum.wrapping_add(len as u32)
}

fn transport_checksum(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, segment: &[u8]) -> u16 {
    fold(sum_words(
        pseudo_header_sum(src, dst, protocol, segment.len()),
        segment,
    ))
}

/// Encode `frame` as Ethernet II bytes.
pub fn encode(frame: &Frame) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&frame.dst.0);
    out.extend_from_slice(&frame.src.0);
    match &frame.body {
        Body::Arp(arp) => {
            out.extend_from_slice(&ETHERTYPE_ARP.to_be_bytes());
            encode_arp(&mut out, arp);
        }
        Body::Ipv4(ip) => {
            out.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
            encode_ipv4(&mut out, ip);
        }
        Body::Other { ethertype, payload } => {
            out.extend_from_slice(&ethertype.to_be_bytes());
            out.extend_from_slice(payload);
        }
    }
    out
}

fn encode_arp(out: &mut Vec<u8>, arp: &Arp) {
    out.extend_from_slice(&1u16.to_be_bytes()); // HTYPE Ethernet
    out.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes()); // PTYPE
    out.extend_from_slice(&[6, 4]);
    let op: u16 = match arp.op {
        ArpOp::Request => 1,
        ArpOp::Reply => 2,
    };
    out.extend_from_slice(&op.to_be_bytes());
    out.extend_from_slice(&arp.sender_mac.0);
    out.extend_from_slice(&arp.sender_ip.octets());
    out.extend_from_slice(&arp.target_mac.0);
    out.extend_from_slice(&arp.target_ip.octets());
}

fn encode_ipv4(out: &mut Vec<u8>, ip: &Ipv4Packet) {
    let (protocol, payload) = encode_ip_payload(ip);
    let total = (IPV4_HEADER + payload.len()).min(usize::from(u16::MAX)) as u16;
    let start = out.len();
    out.push(0x45);
    out.push(ip.tos);
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&ip.ident.to_be_bytes());
    let flags: u16 = if ip.dont_fragment { 0x4000 } else { 0 };
    out.extend_from_slice(&flags.to_be_bytes());
    out.push(ip.ttl);
    out.push(protocol);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&ip.src.octets());
    out.extend_from_slice(&ip.dst.octets());
    let csum = checksum(&out[start..]);
    out[start + 10..start + 12].copy_from_slice(&csum.to_be_bytes());
    out.extend_from_slice(&payload);
}

fn encode_ip_payload(ip: &Ipv4Packet) -> (u8, Vec<u8>) {
    match &ip.payload {
        IpPayload::Udp(u) => {
            let mut b = Vec::with_capacity(UDP_HEADER + u.payload.len());
            let len = (UDP_HEADER + u.payload.len()).min(usize::from(u16::MAX)) as u16;
            b.extend_from_slice(&u.src_port.to_be_bytes());
            b.extend_from_slice(&u.dst_port.to_be_bytes());
            b.extend_from_slice(&len.to_be_bytes());
            b.extend_from_slice(&[0, 0]);
            b.extend_from_slice(&u.payload);
            let mut c = transport_checksum(ip.src, ip.dst, 17, &b);
            if c == 0 {
                c = 0xffff; // RFC 768: a computed zero is sent as all ones.
            }
            b[6..8].copy_from_slice(&c.to_be_bytes());
            (17, b)
        }
        IpPayload::Tcp(t) => {
            let opt_len = if t.mss.is_some() { 4 } else { 0 };
            let mut b = Vec::with_capacity(TCP_HEADER + opt_len + t.payload.len());
            b.extend_from_slice(&t.src_port.to_be_bytes());
            b.extend_from_slice(&t.dst_port.to_be_bytes());
            b.extend_from_slice(&t.seq.to_be_bytes());
            b.extend_from_slice(&t.ack.to_be_bytes());
            b.push((((TCP_HEADER + opt_len) / 4) as u8) << 4);
            b.push(t.flags.0 & 0x3f);
            b.extend_from_slice(&t.window.to_be_bytes());
            b.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
            if let Some(mss) = t.mss {
                b.extend_from_slice(&[2, 4]);
                b.extend_from_slice(&mss.to_be_bytes());
            }
            b.extend_from_slice(&t.payload);
            let c = transport_checksum(ip.src, ip.dst, 6, &b);
            b[16..18].copy_from_slice(&c.to_be_bytes());
            (6, b)
        }
        IpPayload::Icmp(m) => {
            let mut b = Vec::new();
            match m {
                Icmp::EchoRequest { ident, seq, data } | Icmp::EchoReply { ident, seq, data } => {
                    b.push(if matches!(m, Icmp::EchoRequest { .. }) {
                        8
                    } else {
                        0
                    });
                    b.extend_from_slice(&[0, 0, 0]);
                    b.extend_from_slice(&ident.to_be_bytes());
                    b.extend_from_slice(&seq.to_be_bytes());
                    b.extend_from_slice(data);
                }
                Icmp::DestUnreachable { code, original } => {
                    b.extend_from_slice(&[3, *code, 0, 0, 0, 0, 0, 0]);
                    b.extend_from_slice(original);
                }
                Icmp::Other { kind, code, data } => {
                    b.extend_from_slice(&[*kind, *code, 0, 0]);
                    b.extend_from_slice(data);
                }
            }
            let c = checksum(&b);
            b[2..4].copy_from_slice(&c.to_be_bytes());
            (1, b)
        }
        IpPayload::Igmp(g) => {
            let (kind, max_resp, group) = match *g {
                Igmp::Query { max_resp, group } => (0x11, max_resp, group),
                Igmp::V1Report { group } => (0x12, 0, group),
                Igmp::V2Report { group } => (0x16, 0, group),
                Igmp::Leave { group } => (0x17, 0, group),
            };
            let mut b = Vec::with_capacity(8);
            b.extend_from_slice(&[kind, max_resp, 0, 0]);
            b.extend_from_slice(&group.octets());
            let c = checksum(&b);
            b[2..4].copy_from_slice(&c.to_be_bytes());
            (2, b)
        }
        IpPayload::Other { protocol, data } => (*protocol, data.clone()),
    }
}

/// Bounds-checked slice of `len` bytes at `at`.
fn take(data: &[u8], at: usize, len: usize) -> Result<&[u8], WireError> {
    let end = at.checked_add(len).ok_or(WireError::Truncated)?;
    data.get(at..end).ok_or(WireError::Truncated)
}

fn be16(data: &[u8], at: usize) -> Result<u16, WireError> {
    let b = take(data, at, 2)?;
    Ok(u16::from_be_bytes([b[0], b[1]]))
}

fn be32(data: &[u8], at: usize) -> Result<u32, WireError> {
    let b = take(data, at, 4)?;
    Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn mac(data: &[u8], at: usize) -> Result<MacAddr, WireError> {
    let b = take(data, at, 6)?;
    let mut m = [0u8; 6];
    m.copy_from_slice(b);
    Ok(MacAddr(m))
}

fn ipv4(data: &[u8], at: usize) -> Result<Ipv4Addr, WireError> {
    let b = take(data, at, 4)?;
    Ok(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
}

/// Decode an Ethernet II frame (without FCS). Trailing padding after the IP packet is ignored.
pub fn decode(data: &[u8]) -> Result<Frame, WireError> {
    let dst = mac(data, 0)?;
    let src = mac(data, 6)?;
    let ethertype = be16(data, 12)?;
    let rest = data.get(ETH_HEADER..).ok_or(WireError::Truncated)?;
    let body = match ethertype {
        ETHERTYPE_ARP => Body::Arp(decode_arp(rest)?),
        ETHERTYPE_IPV4 => match decode_ipv4(rest)? {
            Some(packet) => Body::Ipv4(packet),
            // A fragment: [`Ipv4Packet`] cannot say so, so keep its bytes as they are.
            None => Body::Other {
                ethertype: ETHERTYPE_IPV4,
                payload: rest.to_vec(),
            },
        },
        other => Body::Other {
            ethertype: other,
            payload: rest.to_vec(),
        },
    };
    Ok(Frame { dst, src, body })
}

fn decode_arp(d: &[u8]) -> Result<Arp, WireError> {
    if be16(d, 0)? != 1 || be16(d, 2)? != ETHERTYPE_IPV4 || take(d, 4, 2)? != [6, 4] {
        return Err(WireError::Malformed);
    }
    let op = match be16(d, 6)? {
        1 => ArpOp::Request,
        2 => ArpOp::Reply,
        _ => return Err(WireError::Malformed),
    };
    Ok(Arp {
        op,
        sender_mac: mac(d, 8)?,
        sender_ip: ipv4(d, 14)?,
        target_mac: mac(d, 18)?,
        target_ip: ipv4(d, 24)?,
    })
}

/// An IPv4 packet, or `None` for a (checked) fragment, which [`Ipv4Packet`] cannot represent.
fn decode_ipv4(d: &[u8]) -> Result<Option<Ipv4Packet>, WireError> {
    let vihl = *d.first().ok_or(WireError::Truncated)?;
    let ihl = usize::from(vihl & 0x0f) * 4;
    if vihl >> 4 != 4 || ihl < IPV4_HEADER {
        return Err(WireError::Malformed);
    }
    let header = take(d, 0, ihl)?;
    if checksum(header) != 0 {
        return Err(WireError::Checksum);
    }
    let total = usize::from(be16(d, 2)?);
    if total < ihl {
        return Err(WireError::Malformed);
    }
    let packet = take(d, 0, total)?;
    let tos = header[1];
    let ident = be16(header, 4)?;
    let frag = be16(header, 6)?;
    let ttl = header[8];
    let protocol = header[9];
    let src = ipv4(header, 12)?;
    let dst = ipv4(header, 16)?;
    let body = &packet[ihl..];
    let fragmented = frag & 0x2000 != 0 || frag & 0x1fff != 0;
    if fragmented {
        return Ok(None);
    }
    let payload = decode_ip_payload(src, dst, protocol, body)?;
    Ok(Some(Ipv4Packet {
        src,
        dst,
        ttl,
        tos,
        ident,
        dont_fragment: frag & 0x4000 != 0,
        payload,
    }))
}

fn decode_ip_payload(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    b: &[u8],
) -> Result<IpPayload, WireError> {
    Ok(match protocol {
        17 => {
            let len = usize::from(be16(b, 4)?);
            if len < UDP_HEADER {
                return Err(WireError::Malformed);
            }
            let seg = take(b, 0, len)?;
            if be16(seg, 6)? != 0 && transport_checksum(src, dst, 17, seg) != 0 {
                return Err(WireError::Checksum);
            }
            IpPayload::Udp(UdpDatagram {
                src_port: be16(seg, 0)?,
                dst_port: be16(seg, 2)?,
                payload: seg[UDP_HEADER..].to_vec(),
            })
        }
        6 => {
            let off = usize::from(*take(b, 12, 1)?.first().ok_or(WireError::Truncated)? >> 4) * 4;
            if off < TCP_HEADER || off > b.len() {
                return Err(WireError::Malformed);
            }
            if transport_checksum(src, dst, 6, b) != 0 {
                return Err(WireError::Checksum);
            }
            IpPayload::Tcp(TcpSegment {
                src_port: be16(b, 0)?,
                dst_port: be16(b, 2)?,
                seq: be32(b, 4)?,
                ack: be32(b, 8)?,
                flags: TcpFlags(b[13] & 0x3f),
                window: be16(b, 14)?,
                mss: tcp_mss(&b[TCP_HEADER..off]),
                payload: b[off..].to_vec(),
            })
        }
        1 => {
            if b.len() < 8 {
                return Err(WireError::Truncated);
            }
            if checksum(b) != 0 {
                return Err(WireError::Checksum);
            }
            IpPayload::Icmp(match b[0] {
                8 | 0 => {
                    let (ident, seq, data) = (be16(b, 4)?, be16(b, 6)?, b[8..].to_vec());
                    if b[0] == 8 {
                        Icmp::EchoRequest { ident, seq, data }
                    } else {
                        Icmp::EchoReply { ident, seq, data }
                    }
                }
                3 => Icmp::DestUnreachable {
                    code: b[1],
                    original: b[8..].to_vec(),
                },
                kind => Icmp::Other {
                    kind,
                    code: b[1],
                    data: b[4..].to_vec(),
                },
            })
        }
        2 => {
            let m = take(b, 0, 8)?;
            if checksum(b) != 0 {
                return Err(WireError::Checksum);
            }
            let group = ipv4(m, 4)?;
            IpPayload::Igmp(match m[0] {
                0x11 => Igmp::Query {
                    max_resp: m[1],
                    group,
                },
                0x12 => Igmp::V1Report { group },
                0x16 => Igmp::V2Report { group },
                0x17 => Igmp::Leave { group },
                _ => {
                    return Ok(IpPayload::Other {
                        protocol,
                        data: b.to_vec(),
                    })
                }
            })
        }
        _ => IpPayload::Other {
            protocol,
            data: b.to_vec(),
        },
    })
}

/// The MSS option from TCP option bytes, if present and well-formed (RFC 9293 §3.2).
fn tcp_mss(mut opts: &[u8]) -> Option<u16> {
    while let Some((&kind, rest)) = opts.split_first() {
        match kind {
            0 => return None,
            1 => opts = rest,
            _ => {
                let len = usize::from(*rest.first()?);
                if len < 2 || len > opts.len() {
                    return None;
                }
                if kind == 2 && len == 4 {
                    return Some(u16::from_be_bytes([opts[2], opts[3]]));
                }
                opts = &opts[len..];
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const A: MacAddr = MacAddr([0x02, 0x08, 0xdc, 0, 0, 1]);
    const B: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 2]);

    fn ip(payload: IpPayload) -> Frame {
        Frame {
            dst: B,
            src: A,
            body: Body::Ipv4(Ipv4Packet {
                src: Ipv4Addr::new(10, 77, 0, 2),
                dst: Ipv4Addr::new(10, 77, 0, 1),
                ttl: 128,
                tos: 0,
                ident: 7,
                dont_fragment: true,
                payload,
            }),
        }
    }

    fn samples() -> Vec<Frame> {
        vec![
            Frame {
                dst: MacAddr::BROADCAST,
                src: A,
                body: Body::Arp(Arp {
                    op: ArpOp::Request,
                    sender_mac: A,
                    sender_ip: Ipv4Addr::new(10, 77, 0, 2),
                    target_mac: MacAddr::ZERO,
                    target_ip: Ipv4Addr::new(10, 77, 0, 1),
                }),
            },
            ip(IpPayload::Udp(UdpDatagram {
                src_port: 68,
                dst_port: 67,
                payload: b"odd length".to_vec(),
            })),
            ip(IpPayload::Tcp(TcpSegment {
                src_port: 49152,
                dst_port: 80,
                seq: 0xfffffff0,
                ack: 0,
                flags: TcpFlags::SYN,
                window: 2048,
                mss: Some(1460),
                payload: vec![],
            })),
            ip(IpPayload::Tcp(TcpSegment {
                src_port: 80,
                dst_port: 49152,
                seq: 1,
                ack: 2,
                flags: TcpFlags::ACK | TcpFlags::PSH,
                window: 1024,
                mss: None,
                payload: b"hello".to_vec(),
            })),
            ip(IpPayload::Icmp(Icmp::EchoRequest {
                ident: 1,
                seq: 2,
                data: b"ping".to_vec(),
            })),
            ip(IpPayload::Icmp(Icmp::DestUnreachable {
                code: 3,
                original: vec![0x45; 28],
            })),
            ip(IpPayload::Igmp(Igmp::V2Report {
                group: Ipv4Addr::new(239, 1, 2, 3),
            })),
            Frame {
                dst: B,
                src: A,
                body: Body::Other {
                    ethertype: 0x86dd,
                    payload: vec![1, 2, 3],
                },
            },
        ]
    }

    #[test]
    fn round_trip_every_kind() {
        for f in samples() {
            let bytes = encode(&f);
            assert_eq!(decode(&bytes), Ok(f));
        }
    }

    #[test]
    fn rfc1071_checksum_example() {
        // RFC 1071 §3 worked example: bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2, so the
        // checksum is its complement.
        assert_eq!(
            checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            !0xddf2
        );
    }

    #[test]
    fn decode_rejects_corrupted_checksums() {
        for f in samples().into_iter().skip(1).take(4) {
            let mut bytes = encode(&f);
            let last = bytes.len() - 1;
            bytes[last] ^= 0x55;
            assert_eq!(decode(&bytes), Err(WireError::Checksum), "{f:?}");
        }
    }

    #[test]
    fn decode_never_panics_on_truncations() {
        for f in samples() {
            let bytes = encode(&f);
            for n in 0..bytes.len() {
                let _ = decode(&bytes[..n]);
            }
        }
    }

    #[test]
    fn padding_after_ip_packet_is_ignored() {
        // Ethernet pads short frames to 60 bytes; the IP total length says where data ends.
        let f = samples().remove(1);
        let mut bytes = encode(&f);
        bytes.resize(60, 0);
        assert_eq!(decode(&bytes), Ok(f));
    }

    /// Found by the `wire_decode` fuzz target: a fragment (RFC 791 §3.2, MF set or offset
    /// non-zero) decoded as `IpPayload::Other` and re-encoded as a whole datagram with
    /// offset 0, i.e. a different packet (here an ICMP body that then failed its checksum).
    #[test]
    fn wire_fragment_reencoded_as_whole_datagram() {
        let f = samples().remove(1);
        let mut bytes = encode(&f);
        // Fragment offset 7 (×8 bytes), DF clear, header checksum fixed up.
        bytes[ETH_HEADER + 6..ETH_HEADER + 8].copy_from_slice(&0x0007u16.to_be_bytes());
        bytes[ETH_HEADER + 10..ETH_HEADER + 12].copy_from_slice(&[0, 0]);
        let c = checksum(&bytes[ETH_HEADER..ETH_HEADER + IPV4_HEADER]);
        bytes[ETH_HEADER + 10..ETH_HEADER + 12].copy_from_slice(&c.to_be_bytes());
        let frag = decode(&bytes).unwrap();
        assert_eq!(
            frag.body,
            Body::Other {
                ethertype: ETHERTYPE_IPV4,
                payload: bytes[ETH_HEADER..].to_vec()
            }
        );
        assert_eq!(
            encode(&frag),
            bytes,
            "a fragment must re-encode byte for byte"
        );
        assert_eq!(decode(&encode(&frag)), Ok(frag));
    }

    #[test]
    fn rfc9293_mss_option_parsing_skips_nops() {
        assert_eq!(tcp_mss(&[1, 1, 2, 4, 0x05, 0xb4]), Some(1460));
        assert_eq!(tcp_mss(&[2, 3, 0]), None);
        assert_eq!(tcp_mss(&[8, 0]), None);
        assert_eq!(tcp_mss(&[]), None);
    }
}
