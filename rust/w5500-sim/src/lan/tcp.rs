//! A host's end of one TCP connection (RFC 9293), as a small state machine.
//!
//! No congestion control (the LAN is lossless and in order), but everything that matters to
//! the chip on the other end: the MSS option, sending limited by the peer's window with
//! zero-window probes (§3.8.6.1), a receive window that closes when the application reads
//! slowly and re-opens with a window update, immediate ACKs, re-ACK and discard of duplicates,
//! FIN in either direction (half-close), RST, and a go-back-N retransmission timer for frames a
//! fault knob dropped.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::net::SocketAddrV4;

use super::app::{TcpApp, TcpIo, TcpOptions, TcpState};
use super::limits::{self, MemoryGuard};
use super::util::{seq_le, seq_lt};
use crate::net::{TcpFlags, TcpSegment};
use crate::time::Instant;

/// Initial retransmission timeout (µs).
const RTO_INITIAL_US: u64 = 200_000;
/// Retransmission timeout cap (µs).
const RTO_MAX_US: u64 = 6_400_000;
/// Retransmissions before the host gives up and resets.
const MAX_RETRIES: u32 = 10;
/// Zero-window probe interval cap (µs).
const PERSIST_MAX_US: u64 = 5_000_000;
/// 2·MSL in TIME-WAIT (short: this is a simulator).
const TIME_WAIT_US: u64 = 1_000_000;
/// Application read tick while reading at a limited rate (µs).
const READ_TICK_US: u64 = 1_000;
/// Default MSS when the peer sends no option (RFC 9293 §3.7.1).
const DEFAULT_MSS: u16 = 536;
/// At most this many segments leave in one output pass (bounds the work per event).
const MAX_SEGMENTS_PER_PASS: usize = 256;

fn after(now: Instant, us: u64) -> Instant {
    Instant::from_micros(now.as_micros().saturating_add(us))
}

/// A host-side TCP connection.
pub struct TcpConn {
    /// Identifier within the host.
    pub id: u32,
    /// This host's address and port.
    pub local: SocketAddrV4,
    /// The peer's address and port.
    pub remote: SocketAddrV4,
    /// Current state.
    pub state: TcpState,
    iss: u32,
    snd_una: u32,
    snd_nxt: u32,
    snd_max: u32,
    snd_wnd: u32,
    snd_wl1: u32,
    snd_wl2: u32,
    syn_acked: bool,
    snd_buf: VecDeque<u8>,
    fin_queued: bool,
    fin_sent: bool,
    fin_acked: bool,
    peer_mss: u16,
    opts: TcpOptions,
    irs: u32,
    rcv_nxt: u32,
    rcv_pending: VecDeque<u8>,
    peer_fin_pending: bool,
    last_adv_wnd: u16,
    ack_now: bool,
    rto_us: u64,
    retries: u32,
    rtx_deadline: Option<Instant>,
    persist_us: u64,
    persist_deadline: Option<Instant>,
    tw_deadline: Option<Instant>,
    read_deadline: Option<Instant>,
    app: Box<dyn TcpApp>,
    /// Bytes delivered to the application.
    pub bytes_received: u64,
    /// Bytes acknowledged by the peer.
    pub bytes_acked: u64,
    /// Zero-window probes sent.
    pub probes_sent: u32,
    /// Segments retransmitted after a timeout.
    pub retransmissions: u32,
    /// Duplicate or out-of-window segments re-ACKed and discarded.
    pub duplicates: u32,
    /// The heap guard of the LAN (see [`super::limits`]).
    pub(crate) guard: Option<MemoryGuard>,
    /// Kept by the host's garbage collection until a LAN client collected its outcome.
    pub(crate) pinned: bool,
    /// Set when the connection was reset because the heap was short (taken by the host).
    pub(crate) heap_reset: bool,
}

impl core::fmt::Debug for TcpConn {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TcpConn")
            .field("id", &self.id)
            .field("local", &self.local)
            .field("remote", &self.remote)
            .field("state", &self.state)
            .field("snd_una", &self.snd_una)
            .field("snd_nxt", &self.snd_nxt)
            .field("snd_wnd", &self.snd_wnd)
            .field("rcv_nxt", &self.rcv_nxt)
            .finish_non_exhaustive()
    }
}

impl TcpConn {
    #[allow(clippy::too_many_arguments)]
    fn new(
        id: u32,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        state: TcpState,
        iss: u32,
        opts: TcpOptions,
        app: Box<dyn TcpApp>,
    ) -> Self {
        TcpConn {
            id,
            local,
            remote,
            state,
            iss,
            snd_una: iss,
            snd_nxt: iss,
            snd_max: iss,
            snd_wnd: 0,
            snd_wl1: 0,
            snd_wl2: 0,
            syn_acked: false,
            snd_buf: VecDeque::new(),
            fin_queued: false,
            fin_sent: false,
            fin_acked: false,
            peer_mss: DEFAULT_MSS,
            opts,
            irs: 0,
            rcv_nxt: 0,
            rcv_pending: VecDeque::new(),
            peer_fin_pending: false,
            last_adv_wnd: 0,
            ack_now: false,
            rto_us: RTO_INITIAL_US,
            retries: 0,
            rtx_deadline: None,
            persist_us: RTO_INITIAL_US,
            persist_deadline: None,
            tw_deadline: None,
            read_deadline: None,
            app,
            bytes_received: 0,
            bytes_acked: 0,
            probes_sent: 0,
            retransmissions: 0,
            duplicates: 0,
            guard: None,
            pinned: false,
            heap_reset: false,
        }
    }

    /// Active open: returns the connection and its SYN.
    #[allow(clippy::too_many_arguments)]
    pub fn connect(
        now: Instant,
        id: u32,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        iss: u32,
        opts: TcpOptions,
        app: Box<dyn TcpApp>,
        out: &mut Vec<TcpSegment>,
    ) -> Self {
        let mut c = TcpConn::new(id, local, remote, TcpState::SynSent, iss, opts, app);
        c.send_syn(now, out);
        c
    }

    /// Passive open from a SYN that reached a listening port: returns the connection after
    /// sending SYN-ACK.
    #[allow(clippy::too_many_arguments)]
    pub fn accept(
        now: Instant,
        id: u32,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        iss: u32,
        opts: TcpOptions,
        app: Box<dyn TcpApp>,
        syn: &TcpSegment,
        out: &mut Vec<TcpSegment>,
    ) -> Self {
        let mut c = TcpConn::new(id, local, remote, TcpState::SynReceived, iss, opts, app);
        c.irs = syn.seq;
        c.rcv_nxt = syn.seq.wrapping_add(1);
        c.peer_mss = syn.mss.unwrap_or(DEFAULT_MSS);
        c.snd_wnd = u32::from(syn.window);
        c.snd_wl1 = syn.seq;
        c.send_syn(now, out);
        c
    }

    /// The application, for downcasting by tests.
    pub fn app(&self) -> &dyn TcpApp {
        &*self.app
    }

    /// The application, mutably.
    pub fn app_mut(&mut self) -> &mut dyn TcpApp {
        &mut *self.app
    }

    /// Bytes queued but not yet acknowledged by the peer.
    pub fn send_queued(&self) -> usize {
        self.snd_buf.len()
    }

    /// The window the peer last advertised.
    pub fn peer_window(&self) -> u32 {
        self.snd_wnd
    }

    /// The MSS the peer announced (536 when it sent none).
    pub fn peer_mss(&self) -> u16 {
        self.peer_mss
    }

    /// Bytes received but not yet read by the application.
    pub fn recv_pending(&self) -> usize {
        self.rcv_pending.len()
    }

    /// The window this host advertises now.
    pub fn recv_window(&self) -> u16 {
        let used = u16::try_from(self.rcv_pending.len()).unwrap_or(u16::MAX);
        self.opts.recv_buffer.saturating_sub(used)
    }

    fn mss(&self) -> usize {
        usize::from(self.peer_mss.min(self.opts.mss).max(1))
    }

    fn seg(&self, seq: u32, flags: TcpFlags, payload: Vec<u8>) -> TcpSegment {
        TcpSegment {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq,
            ack: if flags.contains(TcpFlags::ACK) {
                self.rcv_nxt
            } else {
                0
            },
            flags,
            window: self.recv_window(),
            mss: None,
            payload,
        }
    }

    fn send_syn(&mut self, now: Instant, out: &mut Vec<TcpSegment>) {
        let flags = if self.state == TcpState::SynReceived {
            TcpFlags::SYN | TcpFlags::ACK
        } else {
            TcpFlags::SYN
        };
        let mut s = self.seg(self.iss, flags, Vec::new());
        s.mss = Some(self.opts.mss);
        self.last_adv_wnd = s.window;
        out.push(s);
        self.snd_nxt = self.iss.wrapping_add(1);
        if seq_lt(self.snd_max, self.snd_nxt) || self.snd_max == self.iss {
            self.snd_max = self.snd_nxt;
        }
        self.rtx_deadline = Some(after(now, self.rto_us));
    }

    fn push_ack(&mut self, out: &mut Vec<TcpSegment>) {
        let s = self.seg(self.snd_nxt, TcpFlags::ACK, Vec::new());
        self.last_adv_wnd = s.window;
        out.push(s);
        self.ack_now = false;
    }

    /// The earliest timer of this connection.
    pub fn next_timer(&self) -> Option<Instant> {
        [
            self.rtx_deadline,
            self.persist_deadline,
            self.tw_deadline,
            self.read_deadline,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Abort: send RST (unless already closed) and go to CLOSED.
    pub fn abort(&mut self, now: Instant, out: &mut Vec<TcpSegment>) {
        if !matches!(self.state, TcpState::Closed | TcpState::TimeWait) {
            let mut s = self.seg(self.snd_nxt, TcpFlags::RST | TcpFlags::ACK, Vec::new());
            if self.state == TcpState::SynSent {
                s.flags = TcpFlags::RST;
                s.ack = 0;
            }
            out.push(s);
        }
        self.enter_closed();
        let _ = now;
    }

    /// CLOSED: no timers, and the buffers are given back (a closed connection kept for
    /// inspection holds only its counters and its application).
    fn enter_closed(&mut self) {
        self.state = TcpState::Closed;
        self.rtx_deadline = None;
        self.persist_deadline = None;
        self.tw_deadline = None;
        self.read_deadline = None;
        self.snd_buf = VecDeque::new();
        self.rcv_pending = VecDeque::new();
    }

    /// Bytes of heap this connection's buffers hold (their capacity).
    pub fn buffered_capacity(&self) -> usize {
        self.snd_buf
            .capacity()
            .saturating_add(self.rcv_pending.capacity())
    }

    /// Drop out of TIME-WAIT before 2·MSL (the host holds too many, see
    /// [`super::LanLimits::max_time_wait`]).
    pub(crate) fn expire_time_wait(&mut self, now: Instant) {
        if self.state == TcpState::TimeWait {
            self.enter_closed();
            self.app.on_closed(now);
        }
    }

    fn can_receive(&self) -> bool {
        matches!(
            self.state,
            TcpState::Established | TcpState::FinWait1 | TcpState::FinWait2
        )
    }

    fn can_send(&self) -> bool {
        matches!(self.state, TcpState::Established | TcpState::CloseWait)
    }

    /// Queue bytes from outside an app callback (tests driving a connection by hand).
    pub fn queue(&mut self, now: Instant, data: &[u8], out: &mut Vec<TcpSegment>) {
        if !self.fin_queued && !matches!(self.state, TcpState::Closed) {
            self.snd_buf.extend(data.iter().copied());
        }
        self.output(now, out);
    }

    /// Close from outside an app callback: FIN after the queued data.
    pub fn close(&mut self, now: Instant, out: &mut Vec<TcpSegment>) {
        self.fin_queued = true;
        self.output(now, out);
    }

    /// Change the read rate from outside (tests).
    pub fn set_read_rate(&mut self, now: Instant, rate: Option<u32>, out: &mut Vec<TcpSegment>) {
        self.opts.read_rate = rate;
        self.read_tick(now, out);
        self.output(now, out);
    }

    fn apply_io(&mut self, now: Instant, io: TcpIo, out: &mut Vec<TcpSegment>) {
        if io.abort {
            self.abort(now, out);
            return;
        }
        if !self.fin_queued && !matches!(self.state, TcpState::Closed) && !io.out.is_empty() {
            let short = limits::short(self.guard, io.out.len());
            if short.is_some() || self.snd_buf.try_reserve(io.out.len()).is_err() {
                let (used, cap) = short.map_or((0, 0), |u| (u.used, u.capacity));
                log::error!(
                    "LAN {} -> {}: simulator heap short ({used} of {cap} bytes used), connection reset",
                    self.local,
                    self.remote
                );
                self.heap_reset = true;
                self.abort(now, out);
                self.app.on_reset(now);
                return;
            }
            self.snd_buf.extend(io.out);
        }
        if io.close {
            self.fin_queued = true;
        }
        if let Some(rate) = io.read_rate {
            self.opts.read_rate = rate;
            if rate != Some(0) && !self.rcv_pending.is_empty() && self.read_deadline.is_none() {
                self.read_deadline = Some(after(now, READ_TICK_US));
            }
        }
    }

    fn io(&self) -> TcpIo {
        TcpIo::new(self.snd_buf.len(), self.local, self.remote)
    }

    fn call_poll(&mut self, now: Instant, out: &mut Vec<TcpSegment>) {
        if self.can_send() && !self.fin_queued {
            let mut io = self.io();
            self.app.poll(now, &mut io);
            self.apply_io(now, io, out);
        }
    }

    fn established(&mut self, now: Instant, out: &mut Vec<TcpSegment>) {
        self.state = TcpState::Established;
        let mut io = self.io();
        self.app.on_connect(now, &mut io);
        self.apply_io(now, io, out);
    }

    /// Deliver received bytes to the app, now or at the read rate.
    fn deliver(&mut self, now: Instant, data: &[u8], out: &mut Vec<TcpSegment>) {
        if self.opts.read_rate.is_none() && self.rcv_pending.is_empty() {
            self.bytes_received = self.bytes_received.saturating_add(data.len() as u64);
            let mut io = self.io();
            self.app.on_data(now, data, &mut io);
            self.apply_io(now, io, out);
        } else {
            self.rcv_pending.extend(data.iter().copied());
            if self.read_deadline.is_none() {
                self.read_deadline = Some(after(now, READ_TICK_US));
            }
        }
    }

    fn deliver_fin(&mut self, now: Instant, out: &mut Vec<TcpSegment>) {
        if self.rcv_pending.is_empty() {
            self.peer_fin_pending = false;
            let mut io = self.io();
            self.app.on_peer_fin(now, &mut io);
            self.apply_io(now, io, out);
        } else {
            self.peer_fin_pending = true;
        }
    }

    /// Let the application read up to its rate; sends a window update when the window grows
    /// by at least one MSS or opens from zero (RFC 9293 §3.8.6.2.2).
    fn read_tick(&mut self, now: Instant, out: &mut Vec<TcpSegment>) {
        if self.rcv_pending.is_empty() {
            self.read_deadline = None;
            return;
        }
        let n = match self.opts.read_rate {
            None => self.rcv_pending.len(),
            Some(0) => 0,
            Some(rate) => (rate as usize / 1000).max(1).min(self.rcv_pending.len()),
        };
        if n > 0 {
            let chunk: Vec<u8> = self.rcv_pending.drain(..n).collect();
            self.bytes_received = self.bytes_received.saturating_add(chunk.len() as u64);
            let mut io = self.io();
            self.app.on_data(now, &chunk, &mut io);
            self.apply_io(now, io, out);
            let wnd = self.recv_window();
            let grew = wnd.saturating_sub(self.last_adv_wnd);
            if (self.last_adv_wnd == 0 && wnd > 0)
                || usize::from(grew) >= self.mss().min(usize::from(self.opts.recv_buffer / 2))
            {
                self.ack_now = true;
            }
        }
        if self.rcv_pending.is_empty() {
            self.read_deadline = None;
            if self.peer_fin_pending {
                self.deliver_fin(now, out);
            }
        } else if self.opts.read_rate == Some(0) {
            self.read_deadline = None;
        } else {
            self.read_deadline = Some(after(now, READ_TICK_US));
        }
    }

    /// Run timers due at or before `now`.
    pub fn on_timer(&mut self, now: Instant, out: &mut Vec<TcpSegment>) {
        if self.read_deadline.is_some_and(|t| t <= now) {
            self.read_tick(now, out);
        }
        if self.tw_deadline.is_some_and(|t| t <= now) {
            self.enter_closed();
            self.app.on_closed(now);
            return;
        }
        if self.rtx_deadline.is_some_and(|t| t <= now) {
            self.rtx_deadline = None;
            self.retries = self.retries.saturating_add(1);
            if self.retries > MAX_RETRIES {
                self.abort(now, out);
                self.app.on_reset(now);
                return;
            }
            self.retransmissions = self.retransmissions.saturating_add(1);
            self.rto_us = self.rto_us.saturating_mul(2).min(RTO_MAX_US);
            match self.state {
                TcpState::SynSent | TcpState::SynReceived => self.send_syn(now, out),
                _ => {
                    // Go back N: resend from the oldest unacknowledged byte.
                    self.snd_nxt = self.snd_una;
                    if self.fin_sent && !self.fin_acked {
                        self.fin_sent = false;
                    }
                }
            }
        }
        if self.persist_deadline.is_some_and(|t| t <= now) {
            self.persist_deadline = None;
            let off = self.snd_nxt.wrapping_sub(self.snd_una) as usize;
            if self.snd_wnd == 0 && self.snd_nxt == self.snd_una {
                if let Some(&b) = self.snd_buf.get(off) {
                    // Zero-window probe: one byte beyond the window (RFC 9293 §3.8.6.1).
                    let s = self.seg(self.snd_nxt, TcpFlags::ACK, alloc::vec![b]);
                    self.last_adv_wnd = s.window;
                    out.push(s);
                    self.ack_now = false;
                    self.probes_sent = self.probes_sent.saturating_add(1);
                    let end = self.snd_nxt.wrapping_add(1);
                    if seq_lt(self.snd_max, end) {
                        self.snd_max = end;
                    }
                    self.persist_us = self.persist_us.saturating_mul(2).min(PERSIST_MAX_US);
                    self.persist_deadline = Some(after(now, self.persist_us));
                }
            }
        }
        self.output(now, out);
    }

    /// Process a segment addressed to this connection (RFC 9293 §3.10.7).
    pub fn on_segment(&mut self, now: Instant, seg: &TcpSegment, out: &mut Vec<TcpSegment>) {
        match self.state {
            TcpState::Closed => return,
            TcpState::SynSent => {
                self.on_segment_syn_sent(now, seg, out);
                self.output(now, out);
                return;
            }
            _ => {}
        }
        let rst = seg.flags.contains(TcpFlags::RST);
        let wnd = u32::from(self.recv_window());
        let len = seg.seq_len();
        let in_wnd = |s: u32| seq_le(self.rcv_nxt, s) && seq_lt(s, self.rcv_nxt.wrapping_add(wnd));
        let acceptable = if len == 0 {
            if wnd == 0 {
                seg.seq == self.rcv_nxt
            } else {
                in_wnd(seg.seq)
            }
        } else if wnd == 0 {
            false
        } else {
            in_wnd(seg.seq) || in_wnd(seg.seq.wrapping_add(len).wrapping_sub(1))
        };
        // With a zero window a segment at RCV.NXT still carries a valid ACK (§3.10.7.4).
        let ack_only = !acceptable && wnd == 0 && seg.seq == self.rcv_nxt;
        if !acceptable && !ack_only {
            if !rst {
                self.duplicates = self.duplicates.saturating_add(1);
                self.push_ack(out);
            }
            return;
        }
        if rst {
            if seg.seq == self.rcv_nxt {
                let notify = self.state != TcpState::SynReceived;
                self.enter_closed();
                if notify {
                    self.app.on_reset(now);
                }
            } else {
                // RFC 5961 §3.2: in window but not exact: challenge ACK.
                self.push_ack(out);
            }
            return;
        }
        if seg.flags.contains(TcpFlags::SYN) {
            if self.state == TcpState::SynReceived && seg.seq == self.irs {
                // Our SYN-ACK was lost: the peer retransmitted its SYN.
                self.send_syn(now, out);
            } else {
                // RFC 5961 §4.2: SYN in a synchronized state gets a challenge ACK.
                self.push_ack(out);
            }
            return;
        }
        if !seg.flags.contains(TcpFlags::ACK) {
            return;
        }
        if self.state == TcpState::SynReceived {
            if seq_lt(self.snd_una, seg.ack) && seq_le(seg.ack, self.snd_max) {
                self.snd_una = seg.ack;
                self.syn_acked = true;
                self.snd_wnd = u32::from(seg.window);
                self.snd_wl1 = seg.seq;
                self.snd_wl2 = seg.ack;
                self.rtx_deadline = None;
                self.retries = 0;
                self.rto_us = RTO_INITIAL_US;
                self.established(now, out);
            } else {
                out.push(TcpSegment {
                    src_port: self.local.port(),
                    dst_port: self.remote.port(),
                    seq: seg.ack,
                    ack: 0,
                    flags: TcpFlags::RST,
                    window: 0,
                    mss: None,
                    payload: Vec::new(),
                });
                return;
            }
        }
        if !self.process_ack(now, seg, out) {
            return;
        }
        if ack_only {
            self.duplicates = self.duplicates.saturating_add(u32::from(len > 0));
            self.ack_now = true;
            self.output(now, out);
            return;
        }
        // Data.
        let mut fin_ok = seg.flags.contains(TcpFlags::FIN);
        if !seg.payload.is_empty() {
            if self.can_receive() {
                let skip = self.rcv_nxt.wrapping_sub(seg.seq) as usize;
                let data = seg.payload.get(skip..).unwrap_or(&[]);
                let room = usize::from(self.recv_window());
                let take = data.len().min(room);
                if take < data.len() {
                    fin_ok = false;
                }
                if skip > 0 {
                    self.duplicates = self.duplicates.saturating_add(1);
                }
                let chunk = data.get(..take).unwrap_or(&[]);
                self.rcv_nxt = self.rcv_nxt.wrapping_add(take as u32);
                self.ack_now = true;
                if !chunk.is_empty() {
                    let chunk = chunk.to_vec();
                    self.deliver(now, &chunk, out);
                }
            } else {
                fin_ok = false;
                self.ack_now = true;
            }
        }
        // FIN: only when it sits exactly at RCV.NXT after the data.
        let fin_seq = seg.seq.wrapping_add(seg.payload.len() as u32);
        if fin_ok && fin_seq == self.rcv_nxt {
            self.rcv_nxt = self.rcv_nxt.wrapping_add(1);
            self.ack_now = true;
            match self.state {
                TcpState::Established | TcpState::SynReceived => self.state = TcpState::CloseWait,
                TcpState::FinWait1 => {
                    if self.fin_acked {
                        self.enter_time_wait(now);
                    } else {
                        self.state = TcpState::Closing;
                    }
                }
                TcpState::FinWait2 => self.enter_time_wait(now),
                TcpState::TimeWait => self.enter_time_wait(now),
                _ => {}
            }
            self.deliver_fin(now, out);
        }
        self.output(now, out);
    }

    fn enter_time_wait(&mut self, now: Instant) {
        self.state = TcpState::TimeWait;
        self.rtx_deadline = None;
        self.persist_deadline = None;
        self.tw_deadline = Some(after(now, TIME_WAIT_US));
        // Everything we sent is acknowledged: the send buffer is not needed any more.
        self.snd_buf = VecDeque::new();
    }

    /// The ACK field and window of a segment in a synchronized state; false to drop it.
    fn process_ack(&mut self, now: Instant, seg: &TcpSegment, out: &mut Vec<TcpSegment>) -> bool {
        if seq_lt(self.snd_max, seg.ack) {
            // Acknowledges something never sent.
            self.push_ack(out);
            return false;
        }
        if seq_lt(self.snd_una, seg.ack) {
            let n = seg.ack.wrapping_sub(self.snd_una) as usize;
            let data = n.min(self.snd_buf.len());
            self.snd_buf.drain(..data);
            self.bytes_acked = self.bytes_acked.saturating_add(data as u64);
            if n > data && self.fin_sent {
                self.fin_acked = true;
            }
            self.snd_una = seg.ack;
            if seq_lt(self.snd_nxt, self.snd_una) {
                self.snd_nxt = self.snd_una;
            }
            self.retries = 0;
            self.rto_us = RTO_INITIAL_US;
            self.rtx_deadline = if self.snd_nxt != self.snd_una {
                Some(after(now, self.rto_us))
            } else {
                None
            };
        }
        // Window update (RFC 9293 §3.10.7.4, SND.WL1/SND.WL2 rule).
        if seq_lt(self.snd_wl1, seg.seq)
            || (self.snd_wl1 == seg.seq && seq_le(self.snd_wl2, seg.ack))
        {
            self.snd_wnd = u32::from(seg.window);
            self.snd_wl1 = seg.seq;
            self.snd_wl2 = seg.ack;
            if self.snd_wnd > 0 {
                self.persist_deadline = None;
                self.persist_us = RTO_INITIAL_US;
            }
        }
        if self.fin_acked {
            match self.state {
                TcpState::FinWait1 => self.state = TcpState::FinWait2,
                TcpState::Closing => self.enter_time_wait(now),
                TcpState::LastAck => {
                    self.enter_closed();
                    self.app.on_closed(now);
                    return false;
                }
                _ => {}
            }
        }
        true
    }

    fn on_segment_syn_sent(&mut self, now: Instant, seg: &TcpSegment, out: &mut Vec<TcpSegment>) {
        let has_ack = seg.flags.contains(TcpFlags::ACK);
        let rst = seg.flags.contains(TcpFlags::RST);
        if has_ack && !(seq_lt(self.iss, seg.ack) && seq_le(seg.ack, self.snd_max)) {
            if !rst {
                out.push(TcpSegment {
                    src_port: self.local.port(),
                    dst_port: self.remote.port(),
                    seq: seg.ack,
                    ack: 0,
                    flags: TcpFlags::RST,
                    window: 0,
                    mss: None,
                    payload: Vec::new(),
                });
            }
            return;
        }
        if rst {
            if has_ack {
                // Connection refused.
                self.enter_closed();
                self.app.on_reset(now);
            }
            return;
        }
        if !seg.flags.contains(TcpFlags::SYN) {
            return;
        }
        self.irs = seg.seq;
        self.rcv_nxt = seg.seq.wrapping_add(1);
        self.peer_mss = seg.mss.unwrap_or(DEFAULT_MSS);
        self.snd_wnd = u32::from(seg.window);
        self.snd_wl1 = seg.seq;
        self.snd_wl2 = seg.ack;
        self.ack_now = true;
        if has_ack {
            self.snd_una = seg.ack;
            self.syn_acked = true;
            self.rtx_deadline = None;
            self.retries = 0;
            self.rto_us = RTO_INITIAL_US;
            self.established(now, out);
        } else {
            // Simultaneous open (RFC 9293 §3.5 figure 7).
            self.state = TcpState::SynReceived;
            self.ack_now = false;
            self.send_syn(now, out);
        }
    }

    /// Send what the window allows, then FIN if queued, then a pure ACK if one is owed.
    pub fn output(&mut self, now: Instant, out: &mut Vec<TcpSegment>) {
        self.call_poll(now, out);
        let mut sent = 0usize;
        let sending = self.syn_acked
            && matches!(
                self.state,
                TcpState::Established
                    | TcpState::CloseWait
                    | TcpState::FinWait1
                    | TcpState::Closing
                    | TcpState::LastAck
            );
        while sending && sent < MAX_SEGMENTS_PER_PASS {
            let off = self.snd_nxt.wrapping_sub(self.snd_una) as usize;
            let unsent = self.snd_buf.len().saturating_sub(off);
            let wnd_end = self.snd_una.wrapping_add(self.snd_wnd);
            let usable = if seq_lt(self.snd_nxt, wnd_end) {
                wnd_end.wrapping_sub(self.snd_nxt) as usize
            } else {
                0
            };
            if unsent > 0 && usable > 0 && off <= self.snd_buf.len() {
                let n = unsent.min(usable).min(self.mss());
                let payload: Vec<u8> = self.snd_buf.range(off..off + n).copied().collect();
                let mut flags = TcpFlags::ACK;
                if n == unsent {
                    flags = flags | TcpFlags::PSH;
                }
                let s = self.seg(self.snd_nxt, flags, payload);
                self.last_adv_wnd = s.window;
                out.push(s);
                self.snd_nxt = self.snd_nxt.wrapping_add(n as u32);
                if seq_lt(self.snd_max, self.snd_nxt) {
                    self.snd_max = self.snd_nxt;
                }
                self.ack_now = false;
                sent += 1;
                continue;
            }
            if unsent == 0 && self.fin_queued && !self.fin_sent {
                let s = self.seg(self.snd_nxt, TcpFlags::FIN | TcpFlags::ACK, Vec::new());
                self.last_adv_wnd = s.window;
                out.push(s);
                self.snd_nxt = self.snd_nxt.wrapping_add(1);
                if seq_lt(self.snd_max, self.snd_nxt) {
                    self.snd_max = self.snd_nxt;
                }
                self.fin_sent = true;
                self.ack_now = false;
                match self.state {
                    TcpState::Established => self.state = TcpState::FinWait1,
                    TcpState::CloseWait => self.state = TcpState::LastAck,
                    _ => {}
                }
            }
            break;
        }
        if self.ack_now && !matches!(self.state, TcpState::Closed | TcpState::SynSent) {
            self.push_ack(out);
        }
        if self.snd_nxt != self.snd_una
            && self.rtx_deadline.is_none()
            && self.state != TcpState::Closed
        {
            self.rtx_deadline = Some(after(now, self.rto_us));
        }
        let off = self.snd_nxt.wrapping_sub(self.snd_una) as usize;
        let unsent = self.snd_buf.len().saturating_sub(off);
        if sending
            && unsent > 0
            && self.snd_wnd == 0
            && self.snd_nxt == self.snd_una
            && self.persist_deadline.is_none()
        {
            self.persist_deadline = Some(after(now, self.persist_us));
        }
    }
}
