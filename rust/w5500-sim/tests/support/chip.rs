//! Shared helpers for the chip tests: a tiny register-level driver written from the datasheet
//! and frame builders for a scripted peer. Re-exports what every chip test names: the frame
//! types (`w5500_sim::net`) and the register maps (`cmd`, `common`, `sn`).
#![allow(dead_code)]

use core::net::Ipv4Addr;
use core::time::Duration;

use w5500_sim::sim::Sim;
use w5500_sim::time::Instant;

pub use super::frames::{arp_of, ipv4_of, tcp_of};
pub use w5500_sim::net::*;
pub use w5500_sim::regs::{cmd, common, sn};

pub const MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x01]);
pub const IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
pub const GW: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const GW_MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x0A]);
pub const PEER_MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x99]);
pub const PEER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 9);

pub type S = Sim<ScriptedNetwork>;

pub fn sreg(n: u8) -> u8 {
    n * 4 + 1
}
pub fn txb(n: u8) -> u8 {
    n * 4 + 2
}
pub fn rxb(n: u8) -> u8 {
    n * 4 + 3
}

pub fn rd(s: &mut S, bsb: u8, addr: u16, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    s.read_block(bsb, addr, &mut v).unwrap();
    v
}
pub fn rd8(s: &mut S, bsb: u8, addr: u16) -> u8 {
    rd(s, bsb, addr, 1)[0]
}
pub fn rd16(s: &mut S, bsb: u8, addr: u16) -> u16 {
    let v = rd(s, bsb, addr, 2);
    u16::from_be_bytes([v[0], v[1]])
}
pub fn wr(s: &mut S, bsb: u8, addr: u16, data: &[u8]) {
    s.write_block(bsb, addr, data).unwrap();
}
pub fn wr16(s: &mut S, bsb: u8, addr: u16, v: u16) {
    wr(s, bsb, addr, &v.to_be_bytes());
}

/// A sim with MAC/IP/mask/gateway configured (DS §3.1 SHAR, SIPR, SUBR, GAR).
pub fn setup() -> S {
    let mut s = Sim::new(ScriptedNetwork::default());
    wr(&mut s, 0, common::GAR, &GW.octets());
    wr(&mut s, 0, common::SUBR, &[255, 255, 255, 0]);
    wr(&mut s, 0, common::SHAR, &MAC.0);
    wr(&mut s, 0, common::SIPR, &IP.octets());
    s
}

/// Write Sn_CR and wait (bounded) until it reads 0 (DS §3.2 Sn_CR).
pub fn command(s: &mut S, n: u8, c: u8) {
    wr(s, sreg(n), sn::CR, &[c]);
    for _ in 0..100 {
        if rd8(s, sreg(n), sn::CR) == 0 {
            return;
        }
    }
    panic!("command {c:#x} never accepted");
}

pub fn sr(s: &mut S, n: u8) -> u8 {
    rd8(s, sreg(n), sn::SR)
}
pub fn sir(s: &mut S, n: u8) -> u8 {
    rd8(s, sreg(n), sn::IR)
}
pub fn clear_ir(s: &mut S, n: u8, bits: u8) {
    wr(s, sreg(n), sn::IR, &[bits]);
}

pub fn open(s: &mut S, n: u8, mode: u8, port: u16) {
    wr(s, sreg(n), sn::MR, &[mode]);
    wr16(s, sreg(n), sn::PORT, port);
    command(s, n, cmd::OPEN);
}

pub fn set_dest(s: &mut S, n: u8, ip: Ipv4Addr, port: u16) {
    let mut b = ip.octets().to_vec();
    b.extend_from_slice(&port.to_be_bytes());
    wr(s, sreg(n), sn::DIPR, &b);
}

/// Write `data` at TX_WR, advance TX_WR, issue SEND (DS §3.2 Sn_TX_WR).
pub fn send(s: &mut S, n: u8, data: &[u8]) {
    let wrp = rd16(s, sreg(n), sn::TX_WR);
    wr(s, txb(n), wrp, data);
    wr16(s, sreg(n), sn::TX_WR, wrp.wrapping_add(data.len() as u16));
    command(s, n, cmd::SEND);
}

/// Read everything in RX, advance RX_RD, issue RECV (DS §3.2 Sn_RX_RD).
pub fn recv_all(s: &mut S, n: u8) -> Vec<u8> {
    let len = rd16(s, sreg(n), sn::RX_RSR);
    let rdp = rd16(s, sreg(n), sn::RX_RD);
    let v = rd(s, rxb(n), rdp, len as usize);
    wr16(s, sreg(n), sn::RX_RD, rdp.wrapping_add(len));
    command(s, n, cmd::RECV);
    v
}

pub fn take_sent(s: &mut S) -> Vec<Frame> {
    s.network_mut()
        .take_sent()
        .into_iter()
        .map(|(_, f)| f)
        .collect()
}

/// The TCP segments the chip sent since the last call (other frames dropped).
pub fn segs(s: &mut S) -> Vec<TcpSegment> {
    take_sent(s)
        .iter()
        .filter_map(|f| tcp_of(f).cloned())
        .collect()
}

pub fn deliver(s: &mut S, f: Frame) {
    let now = s.now();
    s.network_mut().deliver_at(now, f);
    s.advance(Duration::from_micros(1));
}

pub fn deliver_at(s: &mut S, at: Instant, f: Frame) {
    s.network_mut().deliver_at(at, f);
}

pub fn arp_reply(ip: Ipv4Addr, mac: MacAddr) -> Frame {
    Frame {
        dst: MAC,
        src: mac,
        body: Body::Arp(Arp {
            op: ArpOp::Reply,
            sender_mac: mac,
            sender_ip: ip,
            target_mac: MAC,
            target_ip: IP,
        }),
    }
}

pub fn ip_frame(
    src_mac: MacAddr,
    dst_mac: MacAddr,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    p: IpPayload,
) -> Frame {
    Frame {
        dst: dst_mac,
        src: src_mac,
        body: Body::Ipv4(Ipv4Packet {
            src,
            dst,
            ttl: 64,
            tos: 0,
            ident: 1,
            dont_fragment: true,
            payload: p,
        }),
    }
}

pub fn udp_to_us(src_port: u16, dst_port: u16, payload: &[u8]) -> Frame {
    ip_frame(
        PEER_MAC,
        MAC,
        PEER_IP,
        IP,
        IpPayload::Udp(UdpDatagram {
            src_port,
            dst_port,
            payload: payload.to_vec(),
        }),
    )
}

pub fn tcp_to_us(
    src_port: u16,
    dst_port: u16,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    window: u16,
    payload: &[u8],
) -> Frame {
    ip_frame(
        PEER_MAC,
        MAC,
        PEER_IP,
        IP,
        IpPayload::Tcp(TcpSegment {
            src_port,
            dst_port,
            seq,
            ack,
            flags,
            window,
            mss: if flags.contains(TcpFlags::SYN) {
                Some(1460)
            } else {
                None
            },
            payload: payload.to_vec(),
        }),
    )
}

pub fn udp_of(f: &Frame) -> Option<(&Ipv4Packet, &UdpDatagram)> {
    match &f.body {
        Body::Ipv4(p) => match &p.payload {
            IpPayload::Udp(d) => Some((p, d)),
            _ => None,
        },
        _ => None,
    }
}
