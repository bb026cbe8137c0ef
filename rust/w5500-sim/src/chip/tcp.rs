//! The hardwired TCP engine (DS §3.2 Sn_CR/Sn_SR, DS p.38–39 timeouts; RFC 9293 for the wire).

use alloc::vec::Vec;
use core::time::Duration;

use super::{ArpPurpose, Chip, ViolationKind};
use crate::net::{Frame, IpPayload, Ipv4Packet, TcpFlags, TcpSegment};
use crate::regs::{cmd, sn, sn_ir, sn_mr, sr};
use crate::time::Instant;

/// True for the Sn_SR values of a synchronized connection (data pointers follow sequence numbers).
pub(crate) fn is_synchronized(status: u8) -> bool {
    matches!(
        status,
        sr::ESTABLISHED
            | sr::FIN_WAIT
            | sr::CLOSING
            | sr::TIME_WAIT
            | sr::CLOSE_WAIT
            | sr::LAST_ACK
    )
}

fn lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

fn le(a: u32, b: u32) -> bool {
    a == b || lt(a, b)
}

/// A snapshot of a socket's TCP connection variables, for tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpInfo {
    /// Initial send sequence number.
    pub iss: u32,
    /// Oldest unacknowledged sequence number.
    pub snd_una: u32,
    /// Next sequence number to send.
    pub snd_nxt: u32,
    /// The peer's advertised window.
    pub snd_wnd: u32,
    /// Next sequence number expected from the peer.
    pub rcv_nxt: u32,
    /// The peer's MSS option (536 when it sent none).
    pub peer_mss: u16,
    /// Consecutive retransmissions (or keep-alive probes) without an answer.
    pub retries: u8,
    /// Our FIN has been sent.
    pub fin_sent: bool,
    /// Our FIN has been acknowledged.
    pub fin_acked: bool,
}

/// Per-socket TCP control block.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Tcb {
    pub iss: u32,
    pub snd_una: u32,
    pub snd_nxt: u32,
    pub snd_max: u32,
    pub snd_wnd: u32,
    pub rcv_nxt: u32,
    pub peer_mss: u16,
    pub sent_ptr: u16,
    pub fin_pending: bool,
    pub fin_sent: bool,
    pub fin_seq: u32,
    pub fin_acked: bool,
    pub retries: u8,
    pub rto_at: Option<Instant>,
    pub ack_due: Option<Instant>,
    pub unacked_rx: u32,
    pub last_adv_wnd: u16,
    pub data_exchanged: bool,
    pub ka_at: Option<Instant>,
    pub ka_probing: bool,
    pub close_at: Option<Instant>,
}

impl Tcb {
    pub fn info(&self) -> TcpInfo {
        TcpInfo {
            iss: self.iss,
            snd_una: self.snd_una,
            snd_nxt: self.snd_nxt,
            snd_wnd: self.snd_wnd,
            rcv_nxt: self.rcv_nxt,
            peer_mss: self.peer_mss,
            retries: self.retries,
            fin_sent: self.fin_sent,
            fin_acked: self.fin_acked,
        }
    }

    /// Sequence number of the oldest unacknowledged data byte.
    pub fn data_una(&self) -> u32 {
        if self.fin_acked {
            self.fin_seq
        } else {
            self.snd_una
        }
    }

    pub fn next_timer(&self) -> Option<Instant> {
        [self.rto_at, self.ack_due, self.ka_at, self.close_at]
            .into_iter()
            .flatten()
            .min()
    }

    pub fn clear_timers(&mut self) {
        self.rto_at = None;
        self.ack_due = None;
        self.ka_at = None;
        self.close_at = None;
        self.ka_probing = false;
    }
}

impl Chip {
    /// Our MSS: Sn_MSSR, 0 meaning the maximum 1460.
    fn own_mss(&self, n: usize) -> u16 {
        match self.sockets[n].mssr() {
            0 => 1460,
            m => m.min(1460),
        }
    }

    fn eff_mss(&self, n: usize) -> u32 {
        u32::from(self.own_mss(n).min(self.sockets[n].tcp.peer_mss.max(1)))
    }

    /// Retransmission timeout after `retries` retries: RTR doubled per retry while the value in
    /// 100 µs units stays ≤ 65535 (DS p.38–39).
    pub(crate) fn rto(&self, retries: u8) -> Duration {
        let mut v = self.rtr_units();
        for _ in 0..retries {
            if v.saturating_mul(2) <= 65535 {
                v *= 2;
            } else {
                break;
            }
        }
        Duration::from_micros(u64::from(v) * 100)
    }

    /// The TCP timeout total: the sum of every RTO up to RCR retries (31.8 s with defaults).
    pub(crate) fn tcpto(&self) -> Duration {
        (0..=self.rcr()).map(|k| self.rto(k)).sum()
    }

    fn adv_window(&self, n: usize) -> u16 {
        self.rx_free(n)
    }

    /// Sequence number just past the data the driver has committed with SEND.
    fn data_end(&self, n: usize) -> u32 {
        let s = &self.sockets[n];
        let una = s.tcp.data_una();
        let size = self.buf_size(n, true);
        let used = s.tx_wr_committed.wrapping_sub(una as u16).min(size);
        una.wrapping_add(u32::from(used))
    }

    fn tcp_emit(&mut self, n: usize, seq: u32, flags: TcpFlags, payload: Vec<u8>, syn_mss: bool) {
        let window = self.adv_window(n);
        let mss = if syn_mss { Some(self.own_mss(n)) } else { None };
        let shar = self.shar();
        let ident = self.next_ident();
        let sipr = self.sipr();
        let s = &mut self.sockets[n];
        let ack = if flags.contains(TcpFlags::ACK) {
            s.tcp.ack_due = None;
            s.tcp.unacked_rx = 0;
            s.tcp.last_adv_wnd = window;
            s.tcp.rcv_nxt
        } else {
            0
        };
        let seg = TcpSegment {
            src_port: s.port(),
            dst_port: s.dport(),
            seq,
            ack,
            flags,
            window,
            mss,
            payload,
        };
        let frame = Frame {
            dst: s.dhar(),
            src: shar,
            body: crate::net::Body::Ipv4(Ipv4Packet {
                src: sipr,
                dst: s.dipr(),
                ttl: s.ttl(),
                tos: s.tos(),
                ident,
                dont_fragment: s.dont_fragment(),
                payload: IpPayload::Tcp(seg),
            }),
        };
        self.outbox.push_back(frame);
    }

    fn tcp_ack_now(&mut self, n: usize) {
        let seq = self.sockets[n].tcp.snd_nxt;
        self.tcp_emit(n, seq, TcpFlags::ACK, Vec::new(), false);
    }

    fn ka_schedule(&mut self, n: usize, now: Instant) {
        let s = &mut self.sockets[n];
        let k = s.kpalvtr();
        if k != 0 && s.tcp.data_exchanged && s.sr == sr::ESTABLISHED && !s.tcp.ka_probing {
            s.tcp.ka_at = Some(now + Duration::from_secs(5 * u64::from(k)));
        } else if k == 0 {
            s.tcp.ka_at = None;
        }
    }

    fn ignored(&mut self, n: usize, command: u8, now: Instant) {
        let status = self.sockets[n].sr;
        self.violate(
            now,
            ViolationKind::CommandIgnored {
                socket: n as u8,
                command,
                status,
            },
        );
    }

    pub(crate) fn tcp_listen(&mut self, n: usize, now: Instant) {
        if self.sockets[n].sr == sr::INIT {
            self.sockets[n].sr = sr::LISTEN;
        } else {
            self.ignored(n, cmd::LISTEN, now);
        }
    }

    pub(crate) fn tcp_connect(&mut self, n: usize, now: Instant) {
        if self.sockets[n].sr != sr::INIT {
            self.ignored(n, cmd::CONNECT, now);
            return;
        }
        let dst = self.sockets[n].dipr();
        if dst.is_unspecified() || dst.is_broadcast() || self.sockets[n].dport() == 0 {
            self.violate(now, ViolationKind::InvalidDestination { socket: n as u8 });
            return;
        }
        let iss = self.next_isn(now);
        let s = &mut self.sockets[n];
        s.sr = sr::SYNSENT;
        s.tcp = Tcb {
            iss,
            snd_una: iss,
            snd_nxt: iss,
            snd_max: iss,
            peer_mss: 536,
            ..Tcb::default()
        };
        let hop = self.next_hop(dst);
        self.start_arp(n, hop, ArpPurpose::Connect, now);
    }

    /// ARP resolved for a CONNECT: send the SYN.
    pub(crate) fn tcp_send_syn(&mut self, n: usize, now: Instant) {
        if self.sockets[n].sr != sr::SYNSENT {
            return;
        }
        let iss = self.sockets[n].tcp.iss;
        self.tcp_emit(n, iss, TcpFlags::SYN, Vec::new(), true);
        let rto = self.rto(self.sockets[n].tcp.retries);
        let t = &mut self.sockets[n].tcp;
        t.snd_nxt = iss.wrapping_add(1);
        t.snd_max = t.snd_nxt;
        t.rto_at = Some(now + rto);
    }

    pub(crate) fn tcp_discon(&mut self, n: usize, now: Instant) {
        match self.sockets[n].sr {
            sr::ESTABLISHED => {
                self.sockets[n].sr = sr::FIN_WAIT;
                self.sockets[n].tcp.fin_pending = true;
                self.sockets[n].tcp.ka_at = None;
                self.tcp_output(n, now);
            }
            sr::CLOSE_WAIT => {
                self.sockets[n].sr = sr::LAST_ACK;
                self.sockets[n].tcp.fin_pending = true;
                self.tcp_output(n, now);
            }
            sr::INIT | sr::LISTEN | sr::SYNSENT | sr::SYNRECV => self.close_socket(n, now, false),
            _ => self.ignored(n, cmd::DISCON, now),
        }
    }

    pub(crate) fn tcp_send_keep(&mut self, n: usize, now: Instant) {
        let status = self.sockets[n].sr;
        if status != sr::ESTABLISHED && status != sr::CLOSE_WAIT {
            self.ignored(n, cmd::SEND_KEEP, now);
            return;
        }
        if self.sockets[n].kpalvtr() != 0 {
            self.violate(
                now,
                ViolationKind::SendKeepWithAutoKeepAlive { socket: n as u8 },
            );
            return;
        }
        self.sockets[n].tcp.ka_probing = true;
        self.send_ka_probe(n);
        if self.sockets[n].tcp.rto_at.is_none() {
            let rto = self.rto(self.sockets[n].tcp.retries);
            self.sockets[n].tcp.rto_at = Some(now + rto);
        }
    }

    fn send_ka_probe(&mut self, n: usize) {
        let seq = self.sockets[n].tcp.snd_una.wrapping_sub(1);
        let byte = self.tx_read(n, seq as u16);
        self.tcp_emit(n, seq, TcpFlags::ACK, alloc::vec![byte], false);
    }

    pub(crate) fn tcp_send(&mut self, n: usize, now: Instant) {
        self.tcp_output(n, now);
    }

    /// Send what the window allows, then the FIN if DISCON asked for one.
    pub(crate) fn tcp_output(&mut self, n: usize, now: Instant) {
        let status = self.sockets[n].sr;
        if !matches!(
            status,
            sr::ESTABLISHED | sr::CLOSE_WAIT | sr::FIN_WAIT | sr::LAST_ACK | sr::CLOSING
        ) {
            return;
        }
        let data_end = self.data_end(n);
        let mss = self.eff_mss(n);
        let mut frames = 0usize;
        let mut bytes = 0usize;
        for _ in 0..4096 {
            let t = self.sockets[n].tcp;
            if t.fin_sent || !lt(t.snd_nxt, data_end) {
                break;
            }
            let wnd_end = t.snd_una.wrapping_add(t.snd_wnd);
            let in_wnd = if lt(t.snd_nxt, wnd_end) {
                wnd_end.wrapping_sub(t.snd_nxt)
            } else {
                0
            };
            let len = data_end.wrapping_sub(t.snd_nxt).min(in_wnd).min(mss);
            if len == 0 {
                break;
            }
            let payload = self.tx_read_range(n, t.snd_nxt as u16, len as u16);
            let end = t.snd_nxt.wrapping_add(len);
            let flags = if end == data_end {
                TcpFlags::ACK | TcpFlags::PSH
            } else {
                TcpFlags::ACK
            };
            self.tcp_emit(n, t.snd_nxt, flags, payload, false);
            frames += 1;
            bytes += len as usize + 54;
            let t = &mut self.sockets[n].tcp;
            t.snd_nxt = end;
            if lt(t.snd_max, end) {
                t.snd_max = end;
                t.sent_ptr = end as u16;
            }
            t.data_exchanged = true;
        }
        let t = self.sockets[n].tcp;
        if t.fin_pending && !t.fin_sent && t.snd_nxt == data_end {
            self.tcp_emit(
                n,
                data_end,
                TcpFlags::FIN | TcpFlags::ACK,
                Vec::new(),
                false,
            );
            let t = &mut self.sockets[n].tcp;
            t.fin_sent = true;
            t.fin_seq = data_end;
            t.snd_nxt = data_end.wrapping_add(1);
            if lt(t.snd_max, t.snd_nxt) {
                t.snd_max = t.snd_nxt;
            }
        }
        let rto = self.rto(self.sockets[n].tcp.retries);
        let t = &mut self.sockets[n].tcp;
        let in_flight = t.snd_una != t.snd_nxt;
        let blocked = !in_flight && t.snd_nxt != data_end && t.snd_wnd == 0;
        if (in_flight || blocked) && t.rto_at.is_none() {
            t.rto_at = Some(now + rto);
        }
        let s = &self.sockets[n];
        if s.send_busy && s.send_ok_at.is_none() && !lt(s.tcp.snd_max, data_end) {
            self.complete_send_at(n, now + Chip::wire_time(frames, bytes));
        }
        if frames > 0 {
            self.ka_schedule(n, now);
        }
    }

    fn establish(&mut self, n: usize, now: Instant) {
        let s = &mut self.sockets[n];
        s.sr = sr::ESTABLISHED;
        s.ir |= sn_ir::CON;
        let p = s.tcp.iss.wrapping_add(1) as u16;
        s.tx_rd = p;
        s.tx_wr_committed = p;
        s.set_reg16(sn::TX_WR, p);
        s.tcp.sent_ptr = p;
        s.tcp.retries = 0;
        s.tcp.rto_at = None;
        let _ = now;
    }

    pub(crate) fn tcp_after_recv(&mut self, n: usize, _now: Instant) {
        let s = &self.sockets[n];
        if !matches!(s.sr, sr::ESTABLISHED | sr::FIN_WAIT) {
            return;
        }
        let last = s.tcp.last_adv_wnd;
        let new = self.adv_window(n);
        let size = self.buf_size(n, false);
        let mss = self.eff_mss(n) as u16;
        if new > last && (last < mss || new - last >= size / 2) {
            self.tcp_ack_now(n);
        }
    }

    pub(crate) fn tcp_timers(&mut self, n: usize, now: Instant) {
        let t = self.sockets[n].tcp;
        if t.close_at.is_some_and(|c| c <= now) {
            self.sockets[n].tcp.close_at = None;
            self.close_socket(n, now, false);
            return;
        }
        if t.ack_due.is_some_and(|c| c <= now) {
            self.sockets[n].tcp.ack_due = None;
            self.tcp_ack_now(n);
        }
        if t.rto_at.is_some_and(|c| c <= now) {
            self.sockets[n].tcp.rto_at = None;
            if t.retries >= self.rcr() {
                self.sockets[n].ir |= sn_ir::TIMEOUT;
                self.close_socket(n, now, false);
                return;
            }
            let retries = t.retries.saturating_add(1);
            self.sockets[n].tcp.retries = retries;
            match self.sockets[n].sr {
                sr::SYNSENT => {
                    self.tcp_emit(n, t.iss, TcpFlags::SYN, Vec::new(), true);
                }
                sr::SYNRECV => {
                    self.tcp_emit(n, t.iss, TcpFlags::SYN | TcpFlags::ACK, Vec::new(), true);
                }
                _ if t.ka_probing => self.send_ka_probe(n),
                _ => {
                    let data_end = self.data_end(n);
                    if t.snd_una == t.snd_nxt && t.snd_nxt != data_end && t.snd_wnd == 0 {
                        // Zero-window probe: one byte beyond the window.
                        let byte = self.tx_read(n, t.snd_nxt as u16);
                        self.tcp_emit(n, t.snd_nxt, TcpFlags::ACK, alloc::vec![byte], false);
                    } else {
                        let tt = &mut self.sockets[n].tcp;
                        tt.snd_nxt = tt.snd_una;
                        if tt.fin_sent && !tt.fin_acked {
                            tt.fin_sent = false;
                        }
                        self.tcp_output(n, now);
                    }
                }
            }
            let rto = self.rto(retries);
            self.sockets[n].tcp.rto_at = Some(now + rto);
        }
        let t = self.sockets[n].tcp;
        if t.ka_at.is_some_and(|c| c <= now) {
            self.sockets[n].tcp.ka_at = None;
            if self.sockets[n].sr == sr::ESTABLISHED && self.sockets[n].kpalvtr() != 0 {
                self.sockets[n].tcp.ka_probing = true;
                self.sockets[n].tcp.retries = 0;
                self.send_ka_probe(n);
                let rto = self.rto(0);
                self.sockets[n].tcp.rto_at = Some(now + rto);
            }
        }
    }

    fn send_rst_for(&mut self, frame: &Frame, pkt: &Ipv4Packet, seg: &TcpSegment) {
        let (seq, ack, flags) = if seg.flags.contains(TcpFlags::ACK) {
            (seg.ack, 0, TcpFlags::RST)
        } else {
            (
                0,
                seg.seq.wrapping_add(seg.seq_len()),
                TcpFlags::RST | TcpFlags::ACK,
            )
        };
        let reply = TcpSegment {
            src_port: seg.dst_port,
            dst_port: seg.src_port,
            seq,
            ack,
            flags,
            window: 0,
            mss: None,
            payload: Vec::new(),
        };
        let ident = self.next_ident();
        self.outbox.push_back(Frame {
            dst: frame.src,
            src: self.shar(),
            body: crate::net::Body::Ipv4(Ipv4Packet {
                src: self.sipr(),
                dst: pkt.src,
                ttl: 0x80,
                tos: 0,
                ident,
                dont_fragment: true,
                payload: IpPayload::Tcp(reply),
            }),
        });
    }

    /// A TCP segment addressed to us. Returns true when the hardwired engine consumed it.
    pub(crate) fn tcp_input(
        &mut self,
        now: Instant,
        frame: &Frame,
        pkt: &Ipv4Packet,
        seg: &TcpSegment,
    ) -> bool {
        if pkt.dst != self.sipr() {
            return false;
        }
        let conn = (0..super::SOCKETS).find(|&n| {
            let s = &self.sockets[n];
            s.protocol() == sn_mr::TCP
                && (is_synchronized(s.sr) || s.sr == sr::SYNSENT || s.sr == sr::SYNRECV)
                && s.port() == seg.dst_port
                && s.dipr() == pkt.src
                && s.dport() == seg.src_port
        });
        if let Some(n) = conn {
            self.tcp_segment(n, now, seg);
            return true;
        }
        let f = seg.flags;
        if f.contains(TcpFlags::SYN) && !f.contains(TcpFlags::ACK) && !f.contains(TcpFlags::RST) {
            let listener = (0..super::SOCKETS).find(|&n| {
                let s = &self.sockets[n];
                s.protocol() == sn_mr::TCP && s.sr == sr::LISTEN && s.port() == seg.dst_port
            });
            if let Some(n) = listener {
                self.tcp_accept(n, now, frame, pkt, seg);
                return true;
            }
        }
        if self.sockets[0].sr == sr::MACRAW {
            return false;
        }
        if !f.contains(TcpFlags::RST) {
            self.send_rst_for(frame, pkt, seg);
        }
        true
    }

    fn tcp_accept(
        &mut self,
        n: usize,
        now: Instant,
        frame: &Frame,
        pkt: &Ipv4Packet,
        seg: &TcpSegment,
    ) {
        let iss = self.next_isn(now);
        let s = &mut self.sockets[n];
        s.set_ip(sn::DIPR, pkt.src);
        s.set_reg16(sn::DPORT, seg.src_port);
        s.set_dhar(frame.src);
        s.sr = sr::SYNRECV;
        s.tcp = Tcb {
            iss,
            snd_una: iss,
            snd_nxt: iss.wrapping_add(1),
            snd_max: iss.wrapping_add(1),
            snd_wnd: u32::from(seg.window),
            rcv_nxt: seg.seq.wrapping_add(1),
            peer_mss: seg.mss.unwrap_or(536),
            ..Tcb::default()
        };
        self.tcp_emit(n, iss, TcpFlags::SYN | TcpFlags::ACK, Vec::new(), true);
        let rto = self.rto(0);
        self.sockets[n].tcp.rto_at = Some(now + rto);
    }

    fn peer_closed(&mut self, n: usize, now: Instant) {
        self.sockets[n].ir |= sn_ir::DISCON;
        self.close_socket(n, now, false);
    }

    fn tcp_segment(&mut self, n: usize, now: Instant, seg: &TcpSegment) {
        let f = seg.flags;
        let t = self.sockets[n].tcp;
        match self.sockets[n].sr {
            sr::SYNSENT => {
                let iss1 = t.iss.wrapping_add(1);
                if f.contains(TcpFlags::ACK) && seg.ack != iss1 {
                    if !f.contains(TcpFlags::RST) {
                        self.tcp_emit_rst(n, seg.ack);
                    }
                    return;
                }
                if f.contains(TcpFlags::RST) {
                    if f.contains(TcpFlags::ACK) {
                        self.peer_closed(n, now);
                    }
                    return;
                }
                if f.contains(TcpFlags::SYN) {
                    let tt = &mut self.sockets[n].tcp;
                    tt.rcv_nxt = seg.seq.wrapping_add(1);
                    tt.snd_wnd = u32::from(seg.window);
                    tt.peer_mss = seg.mss.unwrap_or(536);
                    if f.contains(TcpFlags::ACK) {
                        tt.snd_una = seg.ack;
                        self.establish(n, now);
                        self.tcp_ack_now(n);
                    } else {
                        self.sockets[n].sr = sr::SYNRECV;
                        self.tcp_emit(n, t.iss, TcpFlags::SYN | TcpFlags::ACK, Vec::new(), true);
                    }
                }
                return;
            }
            sr::SYNRECV => {
                if f.contains(TcpFlags::RST) {
                    self.peer_closed(n, now);
                    return;
                }
                if f.contains(TcpFlags::SYN) && !f.contains(TcpFlags::ACK) {
                    self.tcp_emit(n, t.iss, TcpFlags::SYN | TcpFlags::ACK, Vec::new(), true);
                    return;
                }
                if !f.contains(TcpFlags::ACK) {
                    return;
                }
                if seg.ack != t.iss.wrapping_add(1) {
                    self.tcp_emit_rst(n, seg.ack);
                    return;
                }
                let tt = &mut self.sockets[n].tcp;
                tt.snd_una = seg.ack;
                tt.snd_wnd = u32::from(seg.window);
                self.establish(n, now);
            }
            _ => {}
        }
        self.tcp_synchronized(n, now, seg);
    }

    fn tcp_emit_rst(&mut self, n: usize, seq: u32) {
        self.tcp_emit(n, seq, TcpFlags::RST, Vec::new(), false);
    }

    fn tcp_synchronized(&mut self, n: usize, now: Instant, seg: &TcpSegment) {
        let f = seg.flags;
        let t = self.sockets[n].tcp;
        let wnd = u32::from(self.adv_window(n));
        let seg_len = seg.seq_len();
        let off = seg.seq.wrapping_sub(t.rcv_nxt);
        // Acceptable: starts at rcv_nxt, or inside the window, or overlaps rcv_nxt.
        let starts_in = off == 0 || (wnd > 0 && off < wnd);
        let overlaps =
            seg_len > 0 && lt(seg.seq, t.rcv_nxt) && lt(t.rcv_nxt, seg.seq.wrapping_add(seg_len));
        if !(starts_in || overlaps) {
            if !f.contains(TcpFlags::RST) {
                self.tcp_ack_now(n);
            }
            return;
        }
        if f.contains(TcpFlags::RST) {
            self.peer_closed(n, now);
            return;
        }
        if f.contains(TcpFlags::SYN) {
            self.tcp_ack_now(n);
            return;
        }
        if !f.contains(TcpFlags::ACK) {
            return;
        }
        // ACK processing.
        {
            let tt = &mut self.sockets[n].tcp;
            if lt(tt.snd_una, seg.ack) && le(seg.ack, tt.snd_max) {
                tt.snd_una = seg.ack;
                if lt(tt.snd_nxt, tt.snd_una) {
                    tt.snd_nxt = tt.snd_una;
                }
                if tt.fin_sent && seg.ack == tt.fin_seq.wrapping_add(1) {
                    tt.fin_acked = true;
                }
                tt.rto_at = None;
            } else if lt(tt.snd_max, seg.ack) {
                self.tcp_ack_now(n);
                return;
            }
            tt.snd_wnd = u32::from(seg.window);
            tt.retries = 0;
            tt.ka_probing = false;
        }
        let fin_acked = self.sockets[n].tcp.fin_acked;
        match self.sockets[n].sr {
            sr::FIN_WAIT if fin_acked && self.sockets[n].tcp.close_at.is_none() => {
                let to = self.tcpto();
                self.sockets[n].tcp.close_at = Some(now + to);
            }
            sr::CLOSING if fin_acked => {
                self.sockets[n].sr = sr::TIME_WAIT;
                let rtr = self.rtr();
                self.sockets[n].tcp.close_at = Some(now + rtr);
            }
            sr::LAST_ACK if fin_acked => {
                self.close_socket(n, now, false);
                return;
            }
            _ => {}
        }
        // Data, in order only.
        let mut all_taken = true;
        if !seg.payload.is_empty() {
            let status = self.sockets[n].sr;
            if status == sr::ESTABLISHED || status == sr::FIN_WAIT {
                let rcv_nxt = self.sockets[n].tcp.rcv_nxt;
                let skip = rcv_nxt.wrapping_sub(seg.seq);
                if lt(rcv_nxt, seg.seq) {
                    // Out of order: dropped, duplicate ACK at once.
                    self.tcp_ack_now(n);
                    return;
                }
                let data = seg.payload.get(skip as usize..).unwrap_or(&[]);
                let take = data.len().min(usize::from(self.rx_free(n)));
                if let Some(d) = data.get(..take) {
                    self.rx_push(n, d);
                }
                all_taken = take == data.len();
                let mss = self.eff_mss(n);
                let nd = self.sockets[n].mode() & sn_mr::ND_MC_MMB != 0;
                let rtr = self.rtr();
                let free = u32::from(self.rx_free(n));
                let tt = &mut self.sockets[n].tcp;
                tt.rcv_nxt = tt.rcv_nxt.wrapping_add(take as u32);
                if take > 0 {
                    self.sockets[n].ir |= sn_ir::RECV;
                    let tt = &mut self.sockets[n].tcp;
                    tt.data_exchanged = true;
                    tt.unacked_rx = tt.unacked_rx.saturating_add(take as u32);
                    if nd || tt.unacked_rx >= 2 * mss || free < mss || !all_taken {
                        self.tcp_ack_now(n);
                    } else if tt.ack_due.is_none() {
                        tt.ack_due = Some(now + rtr);
                    }
                } else {
                    // Window full: tell the peer.
                    self.tcp_ack_now(n);
                }
            }
        }
        // FIN, once everything before it was taken.
        if f.contains(TcpFlags::FIN) && all_taken {
            let fin_seq = seg.seq.wrapping_add(seg.payload.len() as u32);
            if fin_seq == self.sockets[n].tcp.rcv_nxt {
                let tt = &mut self.sockets[n].tcp;
                tt.rcv_nxt = tt.rcv_nxt.wrapping_add(1);
                tt.ka_at = None;
                self.sockets[n].ir |= sn_ir::DISCON;
                match self.sockets[n].sr {
                    sr::ESTABLISHED => self.sockets[n].sr = sr::CLOSE_WAIT,
                    sr::FIN_WAIT => {
                        if self.sockets[n].tcp.fin_acked {
                            self.sockets[n].sr = sr::TIME_WAIT;
                            let rtr = self.rtr();
                            self.sockets[n].tcp.close_at = Some(now + rtr);
                        } else {
                            self.sockets[n].sr = sr::CLOSING;
                        }
                    }
                    _ => {}
                }
                self.tcp_ack_now(n);
            }
        }
        self.ka_schedule(n, now);
        self.tcp_output(n, now);
    }
}
