//! Test support: the test plays the chip against `HostNet` through the `Network` trait,
//! building ARP, TCP and UDP frames by hand.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use w5500_sim::hostnet::HostNet;
use w5500_sim::net::{
    Arp, ArpOp, Body, Frame, IpPayload, Ipv4Packet, MacAddr, Network, TcpFlags, TcpSegment,
    UdpDatagram,
};
use w5500_sim::time::Instant;

pub use super::frames::{arp_of, ipv4_of, tcp_of};

/// The wall-clock bound on each wait for a frame from the host's stack (bounded loops only).
pub const T: Duration = Duration::from_secs(5);

/// A hand-played chip in front of a HostNet.
pub struct Chip {
    pub net: HostNet,
    pub mac: MacAddr,
    pub ip: Ipv4Addr,
    pub peer_mac: MacAddr,
    t0: std::time::Instant,
    pub inbox: VecDeque<Frame>,
}

impl Chip {
    pub fn new(net: HostNet, ip: Ipv4Addr) -> Self {
        Chip {
            net,
            mac: MacAddr([0x02, 0x08, 0xdc, 0x11, 0x22, 0x33]),
            ip,
            peer_mac: w5500_sim::hostnet::DEFAULT_PEER_MAC,
            t0: std::time::Instant::now(),
            inbox: VecDeque::new(),
        }
    }

    pub fn now(&self) -> Instant {
        Instant::from_micros(self.t0.elapsed().as_micros() as u64)
    }

    pub fn send(&mut self, body: Body, dst: MacAddr) {
        let now = self.now();
        self.net.transmit(
            now,
            Frame {
                dst,
                src: self.mac,
                body,
            },
        );
    }

    pub fn send_arp_request(&mut self, target: Ipv4Addr) {
        let arp = Arp {
            op: ArpOp::Request,
            sender_mac: self.mac,
            sender_ip: self.ip,
            target_mac: MacAddr::ZERO,
            target_ip: target,
        };
        self.send(Body::Arp(arp), MacAddr::BROADCAST);
    }

    pub fn send_arp_reply(&mut self, to_ip: Ipv4Addr, to_mac: MacAddr) {
        let arp = Arp {
            op: ArpOp::Reply,
            sender_mac: self.mac,
            sender_ip: self.ip,
            target_mac: to_mac,
            target_ip: to_ip,
        };
        self.send(Body::Arp(arp), to_mac);
    }

    pub fn ip_body(&self, src: Ipv4Addr, dst: Ipv4Addr, payload: IpPayload) -> Body {
        Body::Ipv4(Ipv4Packet {
            src,
            dst,
            ttl: 128,
            tos: 0,
            ident: 7,
            dont_fragment: true,
            payload,
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub fn send_tcp(
        &mut self,
        sport: u16,
        dst: SocketAddrV4,
        seq: u32,
        ack: u32,
        flags: TcpFlags,
        window: u16,
        payload: &[u8],
    ) {
        let seg = TcpSegment {
            src_port: sport,
            dst_port: dst.port(),
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
        };
        let body = self.ip_body(self.ip, *dst.ip(), IpPayload::Tcp(seg));
        let peer = self.peer_mac;
        self.send(body, peer);
    }

    pub fn send_udp(&mut self, src_ip: Ipv4Addr, sport: u16, dst: SocketAddrV4, payload: &[u8]) {
        let d = UdpDatagram {
            src_port: sport,
            dst_port: dst.port(),
            payload: payload.to_vec(),
        };
        let body = self.ip_body(src_ip, *dst.ip(), IpPayload::Udp(d));
        let mac = if *dst.ip() == Ipv4Addr::BROADCAST {
            MacAddr::BROADCAST
        } else {
            self.peer_mac
        };
        self.send(body, mac);
    }

    pub fn pump(&mut self) {
        let now = self.now();
        self.net.poll(now);
        while let Some(f) = self.net.receive(now) {
            self.inbox.push_back(f);
        }
    }

    /// Wait (bounded) for the first frame matching `pred`, removing it from the inbox.
    pub fn wait_for(&mut self, timeout: Duration, pred: impl Fn(&Frame) -> bool) -> Option<Frame> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            self.pump();
            if let Some(i) = self.inbox.iter().position(&pred) {
                return self.inbox.remove(i);
            }
            if std::time::Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Wait for the next TCP segment to the chip's `port`; returns the frame's MACs and IPs too.
    pub fn wait_tcp(&mut self, port: u16, timeout: Duration) -> Option<(Frame, TcpSegment)> {
        let f = self.wait_for(timeout, |f| tcp_of(f).is_some_and(|s| s.dst_port == port))?;
        let seg = tcp_of(&f)?.clone();
        Some((f, seg))
    }
}

pub fn udp_of(f: &Frame) -> Option<&UdpDatagram> {
    match &ipv4_of(f)?.payload {
        IpPayload::Udp(d) => Some(d),
        _ => None,
    }
}

/// One TCP connection the hand-played chip opened (chip = client).
pub struct ChipConn {
    pub sport: u16,
    pub remote: SocketAddrV4,
    /// Next sequence number the chip sends.
    pub snd_nxt: u32,
    /// Next sequence number the chip expects.
    pub rcv_nxt: u32,
    pub window: u16,
}

/// Active open from the chip (RFC 9293 §3.5 three-way handshake). Returns the connection and
/// the SYN-ACK it got, or the RST.
pub fn chip_connect(
    chip: &mut Chip,
    sport: u16,
    remote: SocketAddrV4,
    window: u16,
) -> Result<(ChipConn, TcpSegment), TcpSegment> {
    let isn = 0x1000_0000u32;
    chip.send_arp_request(*remote.ip());
    chip.send_tcp(sport, remote, isn, 0, TcpFlags::SYN, window, &[]);
    let (_, synack) = chip.wait_tcp(sport, T).expect("an answer to SYN");
    if synack.flags.contains(TcpFlags::RST) {
        return Err(synack);
    }
    assert!(
        synack.flags.contains(TcpFlags::SYN | TcpFlags::ACK),
        "{synack:?}"
    );
    assert_eq!(
        synack.ack,
        isn.wrapping_add(1),
        "SYN-ACK acknowledges our ISN+1"
    );
    let conn = ChipConn {
        sport,
        remote,
        snd_nxt: isn.wrapping_add(1),
        rcv_nxt: synack.seq.wrapping_add(1),
        window,
    };
    chip.send_tcp(
        sport,
        remote,
        conn.snd_nxt,
        conn.rcv_nxt,
        TcpFlags::ACK,
        window,
        &[],
    );
    Ok((conn, synack))
}

impl ChipConn {
    pub fn send(&mut self, chip: &mut Chip, data: &[u8]) {
        chip.send_tcp(
            self.sport,
            self.remote,
            self.snd_nxt,
            self.rcv_nxt,
            TcpFlags::ACK | TcpFlags::PSH,
            self.window,
            data,
        );
        self.snd_nxt = self.snd_nxt.wrapping_add(data.len() as u32);
    }

    pub fn send_fin(&mut self, chip: &mut Chip) {
        chip.send_tcp(
            self.sport,
            self.remote,
            self.snd_nxt,
            self.rcv_nxt,
            TcpFlags::ACK | TcpFlags::FIN,
            self.window,
            &[],
        );
        self.snd_nxt = self.snd_nxt.wrapping_add(1);
    }

    pub fn ack(&mut self, chip: &mut Chip) {
        chip.send_tcp(
            self.sport,
            self.remote,
            self.snd_nxt,
            self.rcv_nxt,
            TcpFlags::ACK,
            self.window,
            &[],
        );
    }

    /// Receive in-order data until the peer's FIN, acknowledging every segment, and check that
    /// the peer never sends beyond the advertised window (RFC 9293 §3.8.6).
    pub fn recv_to_fin(&mut self, chip: &mut Chip, timeout: Duration) -> Vec<u8> {
        let deadline = std::time::Instant::now() + timeout;
        let mut data = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let (f, seg) = chip
                .wait_tcp(self.sport, left)
                .expect("segment before timeout");
            assert_eq!(
                ipv4_of(&f).unwrap().dst,
                chip.ip,
                "NAT: to the chip's own IP"
            );
            assert_eq!(f.dst, chip.mac, "to the chip's MAC");
            assert!(!seg.flags.contains(TcpFlags::RST), "unexpected RST");
            if seg.seq != self.rcv_nxt {
                // A retransmission of something we already have; re-ACK.
                self.ack(chip);
                continue;
            }
            let end = seg.seq.wrapping_add(seg.payload.len() as u32);
            let right_edge = self.rcv_nxt.wrapping_add(u32::from(self.window));
            assert!(
                end.wrapping_sub(self.rcv_nxt) <= right_edge.wrapping_sub(self.rcv_nxt),
                "segment beyond the advertised window"
            );
            data.extend_from_slice(&seg.payload);
            self.rcv_nxt = end;
            if seg.flags.contains(TcpFlags::FIN) {
                self.rcv_nxt = self.rcv_nxt.wrapping_add(1);
                self.ack(chip);
                return data;
            }
            self.ack(chip);
        }
    }
}
