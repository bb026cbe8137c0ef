//! Frame dispatch and the connectionless protocols: ARP (RFC 826), UDP (RFC 768), ICMP echo
//! and unreachable (RFC 792), IGMP v1/v2 (RFC 1112, RFC 2236) and MACRAW (DS §3.2 Sn_MR).

use alloc::vec::Vec;
use core::net::Ipv4Addr;

use super::{ArpPurpose, ArpWait, Chip, UdpSend, ViolationKind};
use crate::net::{
    Arp, ArpOp, Body, Frame, Icmp, Igmp, IpPayload, Ipv4Packet, MacAddr, UdpDatagram,
};
use crate::regs::{ir, mr, sn_ir, sn_mr, sr};
use crate::time::Instant;
use crate::wire;

/// Largest UDP payload in one datagram: 1500 - 20 - 8 (no fragmentation, research notes §0.7).
pub(crate) const UDP_MAX: u16 = 1472;

impl Chip {
    /// Build and queue an IPv4 frame from the chip.
    pub(crate) fn send_ip(
        &mut self,
        n: Option<usize>,
        dst_mac: MacAddr,
        dst: Ipv4Addr,
        ttl_override: Option<u8>,
        payload: IpPayload,
    ) {
        let (ttl, tos, df) = n
            .and_then(|n| self.sockets.get(n))
            .map_or((0x80, 0, true), |s| (s.ttl(), s.tos(), s.dont_fragment()));
        let ident = self.next_ident();
        let pkt = Ipv4Packet {
            src: self.sipr(),
            dst,
            ttl: ttl_override.unwrap_or(ttl),
            tos,
            ident,
            dont_fragment: df,
            payload,
        };
        self.outbox.push_back(Frame {
            dst: dst_mac,
            src: self.shar(),
            body: Body::Ipv4(pkt),
        });
    }

    /// True for 255.255.255.255 and our subnet's broadcast address.
    pub(crate) fn is_broadcast_ip(&self, ip: Ipv4Addr) -> bool {
        if ip.is_broadcast() {
            return true;
        }
        let mask = u32::from(self.subr());
        mask != 0 && mask != u32::MAX && u32::from(ip) == (u32::from(self.sipr()) | !mask)
    }

    /// The IP whose MAC a frame to `dst` goes to: `dst` on our subnet, else the gateway.
    pub(crate) fn next_hop(&self, dst: Ipv4Addr) -> Ipv4Addr {
        let mask = u32::from(self.subr());
        if u32::from(dst) & mask == u32::from(self.sipr()) & mask {
            dst
        } else {
            self.gar()
        }
    }

    fn send_arp_request(&mut self, ip: Ipv4Addr) {
        let arp = Arp {
            op: ArpOp::Request,
            sender_mac: self.shar(),
            sender_ip: self.sipr(),
            target_mac: MacAddr::ZERO,
            target_ip: ip,
        };
        self.outbox.push_back(Frame {
            dst: MacAddr::BROADCAST,
            src: self.shar(),
            body: Body::Arp(arp),
        });
    }

    /// Resolve `ip` for socket n: request now, retry every RTR, ARPTO after RCR retries.
    pub(crate) fn start_arp(&mut self, n: usize, ip: Ipv4Addr, purpose: ArpPurpose, now: Instant) {
        self.send_arp_request(ip);
        let rtr = self.rtr();
        if let Some(s) = self.sockets.get_mut(n) {
            s.arp = Some(ArpWait {
                ip,
                retries: 0,
                next_at: now + rtr,
                purpose,
            });
        }
    }

    pub(crate) fn arp_timer(&mut self, n: usize, now: Instant) {
        let Some(a) = self.sockets[n].arp else {
            return;
        };
        if a.retries >= self.rcr() {
            // ARPTO (DS p.38): TIMEOUT; TCP closes, UDP stays open and drops the SEND.
            let s = &mut self.sockets[n];
            s.arp = None;
            s.ir |= sn_ir::TIMEOUT;
            match a.purpose {
                ArpPurpose::Connect => self.close_socket(n, now, false),
                ArpPurpose::UdpSend => {
                    let s = &mut self.sockets[n];
                    s.udp_send = None;
                    s.send_busy = false;
                    s.tx_rd = s.tx_wr_committed;
                }
            }
            return;
        }
        self.send_arp_request(a.ip);
        let rtr = self.rtr();
        self.sockets[n].arp = Some(ArpWait {
            retries: a.retries.saturating_add(1),
            next_at: now + rtr,
            ..a
        });
    }

    fn arp_resolved(&mut self, n: usize, mac: MacAddr, now: Instant) {
        let Some(a) = self.sockets[n].arp.take() else {
            return;
        };
        self.sockets[n].set_dhar(mac);
        self.sockets[n].arp_cache = Some((a.ip, mac));
        match a.purpose {
            ArpPurpose::Connect => self.tcp_send_syn(n, now),
            ArpPurpose::UdpSend => {
                if let Some(u) = self.sockets[n].udp_send.as_mut() {
                    u.mac = Some(mac);
                }
                self.udp_transmit(n, now);
            }
        }
    }

    /// A frame arrived from the network (link is up).
    pub(crate) fn on_frame(&mut self, now: Instant, frame: Frame) {
        let shar = self.shar();
        let for_us = frame.dst == shar || frame.dst.is_multicast();
        let consumed = match &frame.body {
            Body::Arp(a) if for_us => self.on_arp(now, &frame, a),
            Body::Ipv4(p) if for_us => self.on_ipv4(now, &frame, p),
            _ => false,
        };
        if !consumed {
            self.macraw_receive(&frame);
        }
    }

    fn on_arp(&mut self, now: Instant, frame: &Frame, a: &Arp) -> bool {
        let sipr = self.sipr();
        let shar = self.shar();
        if !sipr.is_unspecified() && a.sender_ip == sipr && a.sender_mac != shar {
            self.set_ir(ir::CONFLICT);
        }
        let mut consumed = false;
        if a.op == ArpOp::Request && !sipr.is_unspecified() && a.target_ip == sipr {
            let reply = Arp {
                op: ArpOp::Reply,
                sender_mac: shar,
                sender_ip: sipr,
                target_mac: a.sender_mac,
                target_ip: a.sender_ip,
            };
            self.outbox.push_back(Frame {
                dst: frame.src,
                src: shar,
                body: Body::Arp(reply),
            });
            consumed = true;
        }
        if a.op == ArpOp::Reply {
            for n in 0..super::SOCKETS {
                if self.sockets[n].arp.is_some_and(|w| w.ip == a.sender_ip) {
                    self.arp_resolved(n, a.sender_mac, now);
                    consumed = true;
                }
            }
        }
        consumed
    }

    fn on_ipv4(&mut self, now: Instant, frame: &Frame, p: &Ipv4Packet) -> bool {
        let sipr = self.sipr();
        let ours = p.dst == sipr && !sipr.is_unspecified();
        match &p.payload {
            IpPayload::Icmp(Icmp::EchoRequest { ident, seq, data }) if ours => {
                if self.mr() & mr::PB != 0 {
                    return false;
                }
                let reply = Icmp::EchoReply {
                    ident: *ident,
                    seq: *seq,
                    data: data.clone(),
                };
                self.send_ip(None, frame.src, p.src, None, IpPayload::Icmp(reply));
                true
            }
            IpPayload::Icmp(Icmp::DestUnreachable { original, .. }) if ours => {
                // UIPR/UPORTR: destination of the packet that bounced (DS §3.1 UIPR, UPORTR).
                let ip = original.get(16..20).map_or(Ipv4Addr::UNSPECIFIED, |b| {
                    Ipv4Addr::new(b[0], b[1], b[2], b[3])
                });
                let ihl = usize::from(original.first().copied().unwrap_or(0x45) & 0x0F) * 4;
                let port = original
                    .get(ihl + 2..ihl + 4)
                    .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
                self.set_uipr(ip, port);
                self.set_ir(ir::UNREACH);
                true
            }
            IpPayload::Igmp(Igmp::Query { group, .. }) => self.igmp_query(*group),
            IpPayload::Udp(d) => self.udp_receive(frame, p, d),
            IpPayload::Tcp(seg) => self.tcp_input(now, frame, p, seg),
            _ => false,
        }
    }

    // ----- UDP ----------------------------------------------------------------------

    fn udp_receive(&mut self, frame: &Frame, p: &Ipv4Packet, d: &UdpDatagram) -> bool {
        let sipr = self.sipr();
        let shar = self.shar();
        let bcast = self.is_broadcast_ip(p.dst);
        let unicast_to_us = (p.dst == sipr && !sipr.is_unspecified())
            || (sipr.is_unspecified() && frame.dst == shar && !bcast);
        let target = (0..super::SOCKETS).find(|&n| {
            let s = &self.sockets[n];
            if s.sr != sr::UDP || s.port() != d.dst_port {
                return false;
            }
            let mode = s.mode();
            let multi = mode & sn_mr::MULTI_MFEN != 0;
            if bcast {
                return mode & sn_mr::BCASTB == 0;
            }
            if p.dst.is_multicast() {
                return multi && p.dst == s.dipr();
            }
            unicast_to_us && !(multi && mode & sn_mr::UCASTB_MIP6B != 0)
        });
        let Some(n) = target else {
            return false;
        };
        let len = d.payload.len();
        let need = len.saturating_add(8);
        if need > usize::from(self.rx_free(n)) || len > usize::from(u16::MAX) {
            // Dropped whole: the datagram does not fit (DS §3.2 Sn_RX_RSR).
            return true;
        }
        let mut hdr = [0u8; 8];
        hdr[..4].copy_from_slice(&p.src.octets());
        hdr[4..6].copy_from_slice(&d.src_port.to_be_bytes());
        hdr[6..8].copy_from_slice(&(len as u16).to_be_bytes());
        self.rx_push(n, &hdr);
        self.rx_push(n, &d.payload);
        self.sockets[n].ir |= sn_ir::RECV;
        true
    }

    /// SEND / SEND_MAC on a UDP socket.
    pub(crate) fn udp_send(&mut self, n: usize, send_mac: bool, now: Instant) {
        let s = &self.sockets[n];
        let (dst, port) = (s.dipr(), s.dport());
        let end = s.tx_wr_committed;
        if dst.is_unspecified() || port == 0 {
            self.violate(now, ViolationKind::InvalidDestination { socket: n as u8 });
            self.complete_send_at(n, now);
            return;
        }
        let farp = self.mr() & mr::FARP != 0;
        let hop = self.next_hop(dst);
        let mac = if send_mac {
            Some(s.dhar())
        } else if self.is_broadcast_ip(dst) {
            Some(MacAddr::BROADCAST)
        } else if dst.is_multicast() {
            Some(MacAddr::ipv4_multicast(dst))
        } else {
            match s.arp_cache {
                Some((ip, m)) if ip == hop && !farp => Some(m),
                _ => None,
            }
        };
        self.sockets[n].udp_send = Some(UdpSend {
            end,
            dst,
            port,
            mac,
        });
        if mac.is_some() {
            self.udp_transmit(n, now);
        } else if self.sockets[n].arp.is_none() {
            self.start_arp(n, hop, ArpPurpose::UdpSend, now);
        }
    }

    fn udp_transmit(&mut self, n: usize, now: Instant) {
        let Some(u) = self.sockets[n].udp_send.take() else {
            return;
        };
        let Some(mac) = u.mac else {
            return;
        };
        let size = self.buf_size(n, true);
        let start = self.sockets[n].tx_rd;
        let total = u.end.wrapping_sub(start).min(size);
        let mss = match self.sockets[n].mssr() {
            0 => UDP_MAX,
            m => m.min(UDP_MAX),
        };
        let src_port = self.sockets[n].port();
        let mut off = 0u16;
        let mut frames = 0usize;
        let mut bytes = 0usize;
        while off < total {
            let len = (total - off).min(mss);
            let payload = self.tx_read_range(n, start.wrapping_add(off), len);
            let d = UdpDatagram {
                src_port,
                dst_port: u.port,
                payload,
            };
            self.send_ip(Some(n), mac, u.dst, None, IpPayload::Udp(d));
            frames += 1;
            bytes += usize::from(len) + 42;
            off += len;
        }
        self.complete_send_at(n, now + Chip::wire_time(frames, bytes));
    }

    // ----- IGMP ---------------------------------------------------------------------

    fn send_igmp(&mut self, msg: Igmp, dst: Ipv4Addr) {
        self.send_ip(
            None,
            MacAddr::ipv4_multicast(dst),
            dst,
            Some(1),
            IpPayload::Igmp(msg),
        );
    }

    fn igmp_report(&mut self, n: usize, group: Ipv4Addr) {
        let v1 = self.sockets[n].mode() & sn_mr::ND_MC_MMB != 0;
        let msg = if v1 {
            Igmp::V1Report { group }
        } else {
            Igmp::V2Report { group }
        };
        self.send_igmp(msg, group);
    }

    /// OPEN of a UDP socket with MULTI: join DIPR's group with an unsolicited report.
    pub(crate) fn igmp_join(&mut self, n: usize, _now: Instant) {
        let group = self.sockets[n].dipr();
        if !group.is_multicast() {
            return;
        }
        self.sockets[n].igmp_group = Some(group);
        self.igmp_report(n, group);
    }

    /// CLOSE of a multicast socket: IGMPv2 leave to all-routers (v1 has no leave).
    pub(crate) fn igmp_leave(&mut self, n: usize, _now: Instant) {
        let Some(group) = self.sockets.get(n).and_then(|s| s.igmp_group) else {
            return;
        };
        if self.sockets[n].mode() & sn_mr::ND_MC_MMB == 0 {
            self.send_igmp(Igmp::Leave { group }, Ipv4Addr::new(224, 0, 0, 2));
        }
    }

    fn igmp_query(&mut self, group: Ipv4Addr) -> bool {
        let mut answered = false;
        for n in 0..super::SOCKETS {
            if let Some(g) = self.sockets[n].igmp_group {
                if self.sockets[n].sr == sr::UDP && (group.is_unspecified() || group == g) {
                    self.igmp_report(n, g);
                    answered = true;
                }
            }
        }
        answered
    }

    // ----- MACRAW -------------------------------------------------------------------

    fn macraw_receive(&mut self, frame: &Frame) {
        if self.sockets[0].sr != sr::MACRAW {
            return;
        }
        let mode = self.sockets[0].mode();
        let bcast = frame.dst.is_broadcast();
        let mcast = frame.dst.is_multicast() && !bcast;
        if mode & sn_mr::MULTI_MFEN != 0 && !(frame.dst == self.shar() || frame.dst.is_multicast())
        {
            return;
        }
        if mode & sn_mr::BCASTB != 0 && bcast {
            return;
        }
        if mode & sn_mr::ND_MC_MMB != 0 && mcast {
            return;
        }
        if mode & sn_mr::UCASTB_MIP6B != 0
            && matches!(
                frame.body,
                Body::Other {
                    ethertype: 0x86DD,
                    ..
                }
            )
        {
            return;
        }
        let bytes = wire::encode(frame);
        let total = bytes.len().saturating_add(2);
        if total > usize::from(self.rx_free(0)) || total > usize::from(u16::MAX) {
            return;
        }
        self.rx_push(0, &(total as u16).to_be_bytes());
        self.rx_push(0, &bytes);
        self.sockets[0].ir |= sn_ir::RECV;
    }

    /// SEND on MACRAW: TX_RD..TX_WR is one Ethernet frame without FCS.
    pub(crate) fn macraw_send(&mut self, n: usize, now: Instant) {
        let s = &self.sockets[n];
        let start = s.tx_rd;
        let len = s
            .tx_wr_committed
            .wrapping_sub(start)
            .min(self.buf_size(n, true));
        let bytes: Vec<u8> = self.tx_read_range(n, start, len);
        if len > 1514 {
            self.violate(now, ViolationKind::MacrawBadFrame { len });
        } else {
            match wire::decode(&bytes) {
                Ok(f) => self.outbox.push_back(f),
                Err(_) => self.violate(now, ViolationKind::MacrawBadFrame { len }),
            }
        }
        self.complete_send_at(n, now + Chip::wire_time(1, usize::from(len)));
    }
}
