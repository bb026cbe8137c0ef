//! Test-side stand-in for the chip: drives a `Lan` through the `Network` trait exactly as the
//! simulated W5500 will, with a minimal ARP responder and a tiny TCP endpoint.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use w5500_sim::lan::Lan;
use w5500_sim::net::{
    Arp, ArpOp, Body, Frame, IpPayload, Ipv4Packet, MacAddr, Network, TcpFlags, TcpSegment,
    UdpDatagram,
};
use w5500_sim::time::Instant;

pub const CHIP_MAC: MacAddr = MacAddr([0x02, 0xc0, 0xff, 0xee, 0x00, 0x01]);
pub const CHIP_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 50);

/// A chip-side TCP endpoint.
#[derive(Debug, Clone)]
pub struct ChipConn {
    pub local_port: u16,
    pub remote: SocketAddrV4,
    pub iss: u32,
    pub snd_una: u32,
    pub snd_nxt: u32,
    pub rcv_nxt: u32,
    /// Receive buffer capacity (the window is its free part).
    pub rx_cap: usize,
    /// Bytes received and not yet "read" by the test.
    pub rx_buf: Vec<u8>,
    /// All bytes ever read.
    pub read: Vec<u8>,
    pub peer_wnd: u32,
    pub peer_mss: Option<u16>,
    pub established: bool,
    pub peer_fin: bool,
    pub reset: bool,
    pub send_buf: Vec<u8>,
    pub dropped_over_window: usize,
}

impl ChipConn {
    pub fn window(&self) -> u16 {
        self.rx_cap.saturating_sub(self.rx_buf.len()).min(65535) as u16
    }
}

pub struct FakeChip {
    pub lan: Lan,
    pub now: Instant,
    pub mac: MacAddr,
    pub ip: Ipv4Addr,
    /// Every frame delivered to the chip, with its arrival time.
    pub inbox: Vec<(Instant, Frame)>,
    pub arp: Vec<(Ipv4Addr, MacAddr)>,
    pub conns: Vec<ChipConn>,
    /// Answer ARP requests for `ip`.
    pub answer_arp: bool,
    /// Run the tiny TCP on delivered segments.
    pub auto_tcp: bool,
    /// Ports the chip "listens" on (SYNs get SYN-ACK).
    pub listening: Vec<u16>,
    /// MAC used for destinations outside 10.77.0.0/24 (the chip's GAR, resolved).
    pub gateway_mac: Option<MacAddr>,
    ident: u16,
}

impl FakeChip {
    pub fn new(lan: Lan) -> Self {
        FakeChip {
            lan,
            now: Instant::ZERO,
            mac: CHIP_MAC,
            ip: CHIP_IP,
            inbox: Vec::new(),
            arp: Vec::new(),
            conns: Vec::new(),
            answer_arp: true,
            auto_tcp: true,
            listening: Vec::new(),
            gateway_mac: None,
            ident: 0,
        }
    }

    pub fn standard() -> Self {
        Self::new(Lan::standard())
    }

    pub fn transmit(&mut self, frame: Frame) {
        self.lan.transmit(self.now, frame);
    }

    /// Advance simulated time to `t`, delivering everything due, jumping from event to event.
    pub fn run_until(&mut self, t: Instant) {
        for _ in 0..1_000_000 {
            self.lan.poll(self.now);
            self.drain();
            match self.lan.next_event() {
                Some(n) if n <= t => {
                    if n > self.now {
                        self.now = n;
                    } else {
                        // Due now: poll again (after draining), guard against a stuck event.
                        self.lan.poll(self.now);
                        self.drain();
                        if self.lan.next_event().is_some_and(|m| m <= self.now) {
                            // Only frames for the chip can stay due; drain took them.
                            break;
                        }
                    }
                }
                _ => break,
            }
        }
        self.now = self.now.max(t);
        self.lan.poll(self.now);
        self.drain();
    }

    pub fn run_for(&mut self, d: Duration) {
        let t = self.now + d;
        self.run_until(t);
    }

    fn drain(&mut self) {
        while let Some(f) = self.lan.receive(self.now) {
            self.inbox.push((self.now, f.clone()));
            self.react(f);
        }
    }

    pub fn take_inbox(&mut self) -> Vec<(Instant, Frame)> {
        std::mem::take(&mut self.inbox)
    }

    fn react(&mut self, f: Frame) {
        match f.body {
            Body::Arp(a) => {
                if a.op == ArpOp::Reply && (f.dst == self.mac) {
                    self.arp.push((a.sender_ip, a.sender_mac));
                }
                if a.op == ArpOp::Request && a.target_ip == self.ip && self.answer_arp {
                    self.transmit(Frame {
                        dst: a.sender_mac,
                        src: self.mac,
                        body: Body::Arp(Arp {
                            op: ArpOp::Reply,
                            sender_mac: self.mac,
                            sender_ip: self.ip,
                            target_mac: a.sender_mac,
                            target_ip: a.sender_ip,
                        }),
                    });
                }
            }
            Body::Ipv4(p) => {
                if let IpPayload::Tcp(seg) = p.payload {
                    if self.auto_tcp && p.dst == self.ip {
                        self.on_tcp(p.src, f.src, seg);
                    }
                }
            }
            _ => {}
        }
    }

    pub fn mac_of(&self, ip: Ipv4Addr) -> MacAddr {
        let o = ip.octets();
        MacAddr([0x02, 0x00, o[0], o[1], o[2], o[3]])
    }

    pub fn ip_frame(&mut self, dst_mac: MacAddr, dst: Ipv4Addr, payload: IpPayload) -> Frame {
        self.ident = self.ident.wrapping_add(1);
        Frame {
            dst: dst_mac,
            src: self.mac,
            body: Body::Ipv4(Ipv4Packet {
                src: self.ip,
                dst,
                ttl: 128,
                tos: 0,
                ident: self.ident,
                dont_fragment: true,
                payload,
            }),
        }
    }

    pub fn send_ip(&mut self, dst: Ipv4Addr, payload: IpPayload) {
        let mac = if dst == Ipv4Addr::BROADCAST || dst.octets()[3] == 255 {
            MacAddr::BROADCAST
        } else if dst.is_multicast() {
            MacAddr::ipv4_multicast(dst)
        } else if dst.octets()[..3] != [10, 77, 0] {
            self.gateway_mac.unwrap_or(self.mac_of(dst))
        } else {
            self.mac_of(dst)
        };
        let f = self.ip_frame(mac, dst, payload);
        self.transmit(f);
    }

    pub fn send_udp(&mut self, src_port: u16, dst: SocketAddrV4, payload: &[u8]) {
        self.send_ip(
            *dst.ip(),
            IpPayload::Udp(UdpDatagram {
                src_port,
                dst_port: dst.port(),
                payload: payload.to_vec(),
            }),
        );
    }

    pub fn arp_request(&mut self, target: Ipv4Addr) {
        self.transmit(Frame {
            dst: MacAddr::BROADCAST,
            src: self.mac,
            body: Body::Arp(Arp {
                op: ArpOp::Request,
                sender_mac: self.mac,
                sender_ip: self.ip,
                target_mac: MacAddr::ZERO,
                target_ip: target,
            }),
        });
    }

    /// UDP datagrams delivered to the chip (src, dst, payload), taken from the inbox.
    pub fn udp_received(&self) -> Vec<(Instant, Ipv4Addr, Ipv4Addr, UdpDatagram)> {
        self.inbox
            .iter()
            .filter_map(|(t, f)| match &f.body {
                Body::Ipv4(p) => match &p.payload {
                    IpPayload::Udp(u) => Some((*t, p.src, p.dst, u.clone())),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }

    /// TCP segments delivered to the chip, with the source address.
    pub fn tcp_received(&self) -> Vec<(Instant, Ipv4Addr, TcpSegment)> {
        self.inbox
            .iter()
            .filter_map(|(t, f)| match &f.body {
                Body::Ipv4(p) => match &p.payload {
                    IpPayload::Tcp(s) => Some((*t, p.src, s.clone())),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }

    // ----------------------------------------------------------------- tiny TCP

    pub fn tcp_seg(&mut self, idx: usize, flags: TcpFlags, payload: Vec<u8>) {
        let c = &self.conns[idx];
        let seg = TcpSegment {
            src_port: c.local_port,
            dst_port: c.remote.port(),
            seq: c.snd_nxt,
            ack: if flags.contains(TcpFlags::ACK) {
                c.rcv_nxt
            } else {
                0
            },
            flags,
            window: c.window(),
            mss: if flags.contains(TcpFlags::SYN) {
                Some(1460)
            } else {
                None
            },
            payload,
        };
        let len = seg.seq_len();
        let dst = *c.remote.ip();
        self.conns[idx].snd_nxt = self.conns[idx].snd_nxt.wrapping_add(len);
        self.send_ip(dst, IpPayload::Tcp(seg));
    }

    /// Raw segment with explicit numbers (for duplicate/odd cases).
    pub fn tcp_raw(
        &mut self,
        idx: usize,
        seq: u32,
        ack: u32,
        flags: TcpFlags,
        window: u16,
        payload: Vec<u8>,
    ) {
        let c = &self.conns[idx];
        let seg = TcpSegment {
            src_port: c.local_port,
            dst_port: c.remote.port(),
            seq,
            ack,
            flags,
            window,
            mss: None,
            payload,
        };
        let dst = *c.remote.ip();
        self.send_ip(dst, IpPayload::Tcp(seg));
    }

    /// Active open from the chip (like Sn_CR CONNECT); returns the connection index.
    pub fn connect(
        &mut self,
        local_port: u16,
        remote: SocketAddrV4,
        iss: u32,
        rx_cap: usize,
    ) -> usize {
        self.conns.push(ChipConn {
            local_port,
            remote,
            iss,
            snd_una: iss,
            snd_nxt: iss,
            rcv_nxt: 0,
            rx_cap,
            rx_buf: Vec::new(),
            read: Vec::new(),
            peer_wnd: 0,
            peer_mss: None,
            established: false,
            peer_fin: false,
            reset: false,
            send_buf: Vec::new(),
            dropped_over_window: 0,
        });
        let idx = self.conns.len() - 1;
        self.tcp_seg(idx, TcpFlags::SYN, Vec::new());
        idx
    }

    pub fn find_conn(&self, local_port: u16, remote: SocketAddrV4) -> Option<usize> {
        self.conns
            .iter()
            .position(|c| c.local_port == local_port && c.remote == remote)
    }

    fn on_tcp(&mut self, src: Ipv4Addr, _src_mac: MacAddr, seg: TcpSegment) {
        let remote = SocketAddrV4::new(src, seg.src_port);
        let idx = match self.find_conn(seg.dst_port, remote) {
            Some(i) => i,
            None => {
                if seg.flags.contains(TcpFlags::SYN)
                    && !seg.flags.contains(TcpFlags::ACK)
                    && self.listening.contains(&seg.dst_port)
                {
                    self.conns.push(ChipConn {
                        local_port: seg.dst_port,
                        remote,
                        iss: 0x1000_0000,
                        snd_una: 0x1000_0000,
                        snd_nxt: 0x1000_0000,
                        rcv_nxt: seg.seq.wrapping_add(1),
                        rx_cap: 2048,
                        rx_buf: Vec::new(),
                        read: Vec::new(),
                        peer_wnd: u32::from(seg.window),
                        peer_mss: seg.mss,
                        established: false,
                        peer_fin: false,
                        reset: false,
                        send_buf: Vec::new(),
                        dropped_over_window: 0,
                    });
                    let i = self.conns.len() - 1;
                    self.tcp_seg(i, TcpFlags::SYN | TcpFlags::ACK, Vec::new());
                }
                return;
            }
        };
        if seg.flags.contains(TcpFlags::RST) {
            self.conns[idx].reset = true;
            return;
        }
        let mut need_ack = false;
        {
            let c = &mut self.conns[idx];
            if seg.flags.contains(TcpFlags::SYN) {
                if seg.flags.contains(TcpFlags::ACK) && !c.established {
                    c.rcv_nxt = seg.seq.wrapping_add(1);
                    c.peer_mss = seg.mss;
                    c.established = true;
                }
                need_ack = true;
            }
            if seg.flags.contains(TcpFlags::ACK) {
                let ack_ok = seg.ack.wrapping_sub(c.snd_una) as i32 > 0
                    && (c.snd_nxt.wrapping_sub(seg.ack) as i32) >= 0;
                if ack_ok {
                    c.snd_una = seg.ack;
                    if !c.established {
                        c.established = true;
                    }
                }
                c.peer_wnd = u32::from(seg.window);
            }
            if !seg.flags.contains(TcpFlags::SYN) {
                if !seg.payload.is_empty() {
                    need_ack = true;
                    if seg.seq == c.rcv_nxt {
                        let room = c.rx_cap.saturating_sub(c.rx_buf.len());
                        let take = seg.payload.len().min(room);
                        c.dropped_over_window += seg.payload.len() - take;
                        c.rx_buf.extend_from_slice(&seg.payload[..take]);
                        c.rcv_nxt = c.rcv_nxt.wrapping_add(take as u32);
                        if take == seg.payload.len() && seg.flags.contains(TcpFlags::FIN) {
                            c.rcv_nxt = c.rcv_nxt.wrapping_add(1);
                            c.peer_fin = true;
                        }
                    }
                } else if seg.flags.contains(TcpFlags::FIN) && seg.seq == c.rcv_nxt {
                    c.rcv_nxt = c.rcv_nxt.wrapping_add(1);
                    c.peer_fin = true;
                    need_ack = true;
                }
            }
        }
        if need_ack {
            self.tcp_seg(idx, TcpFlags::ACK, Vec::new());
        }
        self.pump(idx);
    }

    /// Send queued data as the host's window and MSS allow.
    pub fn pump(&mut self, idx: usize) {
        for _ in 0..1000 {
            let c = &self.conns[idx];
            if !c.established || c.send_buf.is_empty() {
                return;
            }
            let in_flight = c.snd_nxt.wrapping_sub(c.snd_una) as usize;
            let usable = (c.peer_wnd as usize).saturating_sub(in_flight);
            let mss = c.peer_mss.unwrap_or(536) as usize;
            let n = c.send_buf.len().min(usable).min(mss);
            if n == 0 {
                return;
            }
            let data: Vec<u8> = self.conns[idx].send_buf.drain(..n).collect();
            self.tcp_seg(idx, TcpFlags::ACK | TcpFlags::PSH, data);
        }
    }

    pub fn send_data(&mut self, idx: usize, data: &[u8]) {
        self.conns[idx].send_buf.extend_from_slice(data);
        self.pump(idx);
    }

    /// The test "reads" everything buffered (like RECV), sending a window update.
    pub fn read_all(&mut self, idx: usize) -> Vec<u8> {
        let c = &mut self.conns[idx];
        let d = std::mem::take(&mut c.rx_buf);
        c.read.extend_from_slice(&d);
        if !d.is_empty() {
            self.tcp_seg(idx, TcpFlags::ACK, Vec::new());
        }
        d
    }

    pub fn fin(&mut self, idx: usize) {
        self.tcp_seg(idx, TcpFlags::FIN | TcpFlags::ACK, Vec::new());
    }
}

/// The TCP segments the chip received from source port `port`, oldest first.
pub fn segs_from(chip: &FakeChip, port: u16) -> Vec<TcpSegment> {
    chip.tcp_received()
        .into_iter()
        .filter(|(_, _, s)| s.src_port == port)
        .map(|(_, _, s)| s)
        .collect()
}
