//! The service routine: [`Stack::service`] drains the chip's interrupt state, which the OS
//! layer calls when INTn is low (or periodically when no pin is wired); the stack acts on the
//! chip's *state* (`Sn_SR`, sizes), not on which interrupt bits were set, so a lost or merged
//! interrupt costs latency, never correctness. Also `poll()` readiness and the next deadline
//! the OS layer must wake up for.

use embedded_hal::spi::SpiDevice;
use w5500_regs::{Sn, SocketCommand, SocketInterrupt, SocketSet, SocketStatus, UDP_RX_HEADER_LEN};

use super::{
    Hw, HwOwner, Phase, Readiness, SockType, SocketId, Stack, Stamp, CHIP_ABSENT_GRACE_MS,
    CLOSE_LINGER_MS, MAX_SOCKETS, SOCKET_IMR, SOCKET_IMR_LAZY,
};
use crate::error::{Error, Result};

/// How often [`Stack::service`] re-reads `PHYCFGR` for the link state (there is no link
/// interrupt on this chip).
pub const LINK_POLL_MS: u64 = 250;

impl<SPI: SpiDevice> Stack<SPI> {
    /// Read the socket's events and state from the chip and update the table. Cheap enough to
    /// call before each operation that depends on state: one SPI frame, two when there were
    /// events to clear. Returns the events seen.
    pub(super) fn refresh(&mut self, sn: Sn) -> Result<SocketInterrupt> {
        if self.quiet(sn) {
            let ir = self.chip.socket_interrupt(sn)?;
            return self.take_events(sn, ir);
        }
        let (ir, sr) = self.chip.socket_events(sn)?;
        self.handle_events(sn, ir, sr)
    }

    /// ESTABLISHED and UDP are only left with an event (CON, DISCON or TIMEOUT comes with
    /// every change), so there `Sn_IR` alone says whether `Sn_SR` needs reading.
    fn quiet(&self, sn: Sn) -> bool {
        let h = &self.hw[sn.index()];
        matches!(h.owner, HwOwner::User(_))
            && matches!(h.status, SocketStatus::Established | SocketStatus::Udp)
    }

    /// Act on `Sn_IR` bits read from a socket in a quiet state (ESTABLISHED, UDP): `Sn_SR`
    /// is read only when CON, DISCON or TIMEOUT says it changed.
    pub(super) fn take_events(&mut self, sn: Sn, ir: SocketInterrupt) -> Result<SocketInterrupt> {
        let changes = SocketInterrupt::CON | SocketInterrupt::DISCON | SocketInterrupt::TIMEOUT;
        let sr = if ir.intersects(changes) {
            self.chip.socket_status(sn)?
        } else {
            self.hw[sn.index()].status
        };
        self.handle_events(sn, ir, sr)
    }

    /// Clear what was read (except a SEND_OK kept for a waiting sender's SEND) and update
    /// the table.
    fn handle_events(
        &mut self,
        sn: Sn,
        ir: SocketInterrupt,
        sr: SocketStatus,
    ) -> Result<SocketInterrupt> {
        let h = self.hw[sn.index()];
        let mut clear = ir;
        if ir.contains(SocketInterrupt::SEND_OK) {
            if h.send_ok_latched && !h.send_in_flight {
                // Left set for a SEND that did not come: clear it now so INTn can rise.
                self.hw[sn.index()].send_ok_latched = false;
            } else if h.send_in_flight && h.send_waiter {
                // The blocked sender's SEND will clear it in its own frame.
                clear.remove(SocketInterrupt::SEND_OK);
                self.hw[sn.index()].send_ok_latched = true;
            } else if self.intn && self.imr_reg[sn.index()].contains(SocketInterrupt::SEND_OK) {
                // Nobody waited for this SEND_OK: let the next send find it instead.
                self.write_imr(sn, SOCKET_IMR_LAZY)?;
            }
        }
        self.chip.clear_socket_events(sn, clear)?;
        self.apply_events(sn, ir, sr)?;
        Ok(ir)
    }

    fn apply_events(&mut self, sn: Sn, ir: SocketInterrupt, sr: SocketStatus) -> Result<()> {
        let h = &mut self.hw[sn.index()];
        let prev = h.status;
        h.events |= ir;
        h.status = sr;
        if ir.intersects(SocketInterrupt::SEND_OK | SocketInterrupt::TIMEOUT) {
            if h.send_in_flight {
                // A SEND cannot complete before the chip took it from Sn_CR.
                self.chip.note_accepted(sn, SocketCommand::Send);
            }
            h.send_in_flight = false;
            if ir.contains(SocketInterrupt::SEND_OK) && sr == SocketStatus::Udp {
                // UDP: SEND_OK means the datagram left the buffer (TX_RD = TX_WR).
                h.tx_free = h.tx_free.max(h.tx_cap);
            }
        }
        if ir.contains(SocketInterrupt::RECV) {
            // Only an arrival adds data; a FIN, RST or timeout does not.
            h.rx_idle = false;
        }
        if sr == SocketStatus::Established
            && prev != SocketStatus::Established
            && !ir.contains(SocketInterrupt::RECV)
        {
            // Just connected and nothing received yet: the first data will raise RECV.
            h.rx_idle = self.intn;
        }
        // States only a command leads to prove that command was accepted: INIT is left only
        // by a command (CONNECT, LISTEN, CLOSE), and only DISCON leads to FIN_WAIT/LAST_ACK.
        if !matches!(sr, SocketStatus::Init | SocketStatus::Unknown(_)) {
            self.chip.note_accepted(sn, SocketCommand::Connect);
            self.chip.note_accepted(sn, SocketCommand::Listen);
        }
        if matches!(
            sr,
            SocketStatus::FinWait
                | SocketStatus::Closing
                | SocketStatus::TimeWait
                | SocketStatus::LastAck
        ) {
            self.chip.note_accepted(sn, SocketCommand::Discon);
        }
        let owner = h.owner;
        match owner {
            HwOwner::User(i) => self.update_user(usize::from(i), sn, ir, prev, sr),
            HwOwner::Listener(i) => self.update_listener_socket(usize::from(i), sn, sr),
            HwOwner::Closing => {
                if matches!(
                    sr,
                    SocketStatus::Closed | SocketStatus::TimeWait | SocketStatus::Unknown(_)
                ) {
                    self.chip.close_socket(sn)?;
                    self.hw[sn.index()] = Hw::FREE;
                }
                Ok(())
            }
            HwOwner::Free | HwOwner::Service => Ok(()),
        }
    }

    fn update_user(
        &mut self,
        index: usize,
        sn: Sn,
        ir: SocketInterrupt,
        prev: SocketStatus,
        sr: SocketStatus,
    ) -> Result<()> {
        let Some(slot) = self.slots.get_mut(index) else {
            return Ok(());
        };
        if slot.ty == SockType::Datagram {
            if ir.contains(SocketInterrupt::TIMEOUT) {
                // A UDP SEND whose ARP got no answer (§3.2 Sn_IR TIMEOUT); the socket stays open.
                slot.error = Some(Error::HostUnreachable);
            }
            if sr == SocketStatus::Closed && slot.phase == Phase::Bound {
                slot.error = Some(Error::ConnectionAborted);
            }
            return Ok(());
        }
        match slot.phase {
            Phase::Connecting => match sr {
                SocketStatus::Established | SocketStatus::CloseWait => {
                    slot.phase = Phase::Connected;
                }
                SocketStatus::Closed => {
                    let timed_out = self.hw[sn.index()]
                        .events
                        .contains(SocketInterrupt::TIMEOUT);
                    let err = if timed_out {
                        // ARP timeout vs SYN timeout: the chip fills Sn_DHAR when ARP resolves.
                        match self.chip_peer_mac_resolved(sn)? {
                            true => Error::TimedOut,
                            false => Error::HostUnreachable,
                        }
                    } else {
                        Error::ConnectionRefused
                    };
                    if let Some(slot) = self.slots.get_mut(index) {
                        slot.error = Some(err);
                        slot.phase = Phase::Bound;
                    }
                }
                _ => {}
            },
            Phase::Connected if sr == SocketStatus::Closed && slot.error.is_none() && !slot.eof => {
                let timed_out = ir.contains(SocketInterrupt::TIMEOUT)
                    || self.hw[sn.index()]
                        .events
                        .contains(SocketInterrupt::TIMEOUT);
                // Our FIN went out (shutdown(SHUT_WR)) or the FIN exchange was under way: the
                // chip reaching CLOSED by itself (via TIME_WAIT or LAST_ACK) is an orderly end,
                // not a reset. Data still waiting stays readable; then recv() returns 0.
                let orderly = slot.shut_wr
                    || matches!(
                        prev,
                        SocketStatus::FinWait
                            | SocketStatus::Closing
                            | SocketStatus::TimeWait
                            | SocketStatus::LastAck
                    );
                if orderly && !timed_out {
                    return Ok(());
                }
                if let Some(slot) = self.slots.get_mut(index) {
                    slot.error = Some(if timed_out {
                        Error::TimedOut
                    } else {
                        Error::ConnectionReset
                    });
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn chip_peer_mac_resolved(&mut self, sn: Sn) -> Result<bool> {
        let mut mac = [0u8; 6];
        self.chip.bus().read(
            w5500_regs::Block::Socket(sn),
            w5500_regs::sn::DHAR,
            &mut mac,
        )?;
        Ok(mac != [0xff; 6] && mac != [0; 6])
    }

    /// Readiness for `poll()`, read from the chip's state.
    pub fn readiness(&mut self, id: SocketId) -> Result<Readiness> {
        let slot = *self.slot(id)?;
        let mut r = Readiness {
            error: slot.error.is_some(),
            ..Readiness::default()
        };
        match (slot.ty, slot.phase) {
            (SockType::Stream, Phase::Listening { .. }) => {
                for s in Sn::ALL {
                    if self.hw[s.index()].owner == HwOwner::Listener(id.index) {
                        self.refresh(s)?;
                    }
                }
                r.readable = self
                    .hw
                    .iter()
                    .any(|h| h.owner == HwOwner::Listener(id.index) && h.accept_seq != 0);
            }
            (SockType::Stream, Phase::Connecting) => {
                if let Some(sn) = slot.hw {
                    self.refresh(sn)?;
                }
                let s = *self.slot(id)?;
                r.writable = s.phase == Phase::Connected;
                r.error = s.error.is_some();
                r.hangup = r.error;
            }
            (SockType::Stream, Phase::Connected) => {
                let sn = slot.hw.ok_or(Error::BadDescriptor)?;
                self.refresh(sn)?;
                let rx = self.chip.rx_state(sn)?;
                let status = self.hw[sn.index()].status;
                let open = matches!(status, SocketStatus::Established | SocketStatus::CloseWait);
                // Still receiving: ESTABLISHED, or FIN_WAIT after shutdown(SHUT_WR).
                let receiving = matches!(status, SocketStatus::Established | SocketStatus::FinWait);
                r.readable = rx.received > 0 || !receiving;
                if self.intn && self.hw[sn.index()].send_in_flight {
                    // Route SEND_OK to INTn so a poll() for POLLOUT is woken.
                    self.write_imr(sn, SOCKET_IMR)?;
                }
                if open && !slot.shut_wr && !self.hw[sn.index()].send_in_flight {
                    let (free, _) = self.chip.tx_state(sn)?;
                    r.writable = free > 0;
                }
                let s = self.slot(id)?;
                r.error = s.error.is_some();
                r.hangup = !open && !receiving && rx.received == 0;
            }
            (SockType::Stream, _) => {
                // Not connected (new, bound, or a connect that failed): POLLOUT|POLLHUP, as
                // Linux's tcp_poll and lwIP report it; a write would fail at once (ENOTCONN)
                // rather than block.
                r.writable = true;
                r.hangup = true;
            }
            (SockType::Datagram, Phase::Fresh) => {
                r.writable = true;
            }
            (SockType::Datagram, _) => {
                let sn = slot.hw.ok_or(Error::BadDescriptor)?;
                self.refresh(sn)?;
                let rx = self.chip.rx_state(sn)?;
                r.readable = usize::from(rx.received) >= UDP_RX_HEADER_LEN;
                if self.intn && self.hw[sn.index()].send_in_flight {
                    self.write_imr(sn, SOCKET_IMR)?;
                }
                r.writable = !self.hw[sn.index()].send_in_flight;
                r.error = self.slot(id)?.error.is_some();
            }
        }
        Ok(r)
    }

    /// Drain the chip's interrupt state: read `IR`/`SIR`, then each flagged socket's `Sn_IR`
    /// and `Sn_SR`, clear what was read (so INTn can assert again) and update the table.
    /// With `poll_all` every socket in use is read whether flagged or not: the fallback when
    /// no INTn pin is wired or an interrupt may have been lost. Also re-reads the link state
    /// every [`LINK_POLL_MS`] and finishes background closes.
    ///
    /// When a single hardware socket is in use (ESTABLISHED or UDP), INTn can only come from
    /// it (free sockets are closed and raise nothing; `IMR` is 0), so its `Sn_IR` is read
    /// straight away, and `IR`..`SIMR` (with the chip-reset signature) only when that finds
    /// nothing.
    pub fn service(&mut self, now_ms: u64, poll_all: bool) -> Result<()> {
        // One socket in use and in a quiet state: INTn can only come from it, so read its
        // Sn_IR first. A chip that was reset has every Sn_IR at 0, so finding an event
        // there also says the reset signature below needs no look this pass.
        let mut in_use = Sn::ALL
            .into_iter()
            .filter(|s| !matches!(self.hw[s.index()].owner, HwOwner::Free | HwOwner::Service));
        let only = match (in_use.next(), in_use.next()) {
            (Some(s), None) if !poll_all && self.quiet(s) => Some(s),
            _ => None,
        };
        let mut found = false;
        if let Some(s) = only {
            found = !self.refresh(s)?.is_empty();
            if found {
                self.absent_since_ms = Stamp::NONE;
            }
        }
        let sir = if found {
            SocketSet::empty()
        } else {
            let (_ir, imr, sir, simr) = self.chip.interrupt_state()?;
            if simr == self.simr && imr.is_empty() {
                // The chip answers as configured: any earlier silence is over.
                self.absent_since_ms = Stamp::NONE;
            }
            if simr != self.simr || !imr.is_empty() {
                match self.recover_from_chip_reset() {
                    Ok(recovered) => {
                        self.absent_since_ms = Stamp::NONE;
                        if recovered {
                            self.last_link_poll_ms = Stamp::NONE;
                        }
                    }
                    Err(Error::ChipNotFound { version }) => {
                        // Right after a reset the chip reads 0 until its PLL locks (§5.5.1), and
                        // some parts read VERSIONR 0 for a while: skip this pass, and report the
                        // chip absent only when it stays silent.
                        let since = self.absent_since_ms.get().unwrap_or(now_ms);
                        self.absent_since_ms = Stamp::at(since);
                        if now_ms.saturating_sub(since) >= CHIP_ABSENT_GRACE_MS {
                            return Err(Error::ChipNotFound { version });
                        }
                        return Ok(());
                    }
                    Err(e) => return Err(e),
                }
            }
            sir
        };
        // The latest close deadline among background closes that end without an interrupt.
        let mut silent_close = 0u64;
        for s in Sn::ALL {
            let h = self.hw[s.index()];
            if only == Some(s) {
                if h.owner == HwOwner::Closing && now_ms >= h.close_deadline_ms {
                    self.chip.close_socket(s)?;
                    self.hw[s.index()] = Hw::FREE;
                }
                continue;
            }
            let flagged = sir.contains(s.bit());
            let in_use = !matches!(h.owner, HwOwner::Free | HwOwner::Service);
            if flagged && !in_use {
                // Nobody owns it: clear whatever is latched so INTn de-asserts.
                if h.owner == HwOwner::Free {
                    self.chip.clear_socket_events(s, SocketInterrupt::all())?;
                }
                continue;
            }
            // A background close has no interrupt of its own when it ends (LAST_ACK -> CLOSED
            // raises nothing new), so closing sockets are always looked at.
            let closing = matches!(h.owner, HwOwner::Closing);
            if flagged || closing || (poll_all && in_use) {
                self.refresh(s)?;
            }
            let h = &self.hw[s.index()];
            if h.owner == HwOwner::Closing {
                if now_ms >= h.close_deadline_ms {
                    self.chip.close_socket(s)?;
                    self.hw[s.index()] = Hw::FREE;
                } else if matches!(h.status, SocketStatus::LastAck | SocketStatus::Closing) {
                    silent_close = silent_close.max(h.close_deadline_ms);
                }
            }
        }
        // Background closes in LAST_ACK or CLOSING end when the ACK of our FIN comes, and
        // the chip raises no interrupt for that: look at them again after twice the time the
        // latest of them has been closing (1, 2, 4 … ms: a handful of reads within
        // CLOSE_LINGER_MS), so the hardware socket is free soon after, not at the next
        // safety poll. (Every close deadline is at least CLOSE_LINGER_MS, so 0 means none.)
        self.closing_look_ms = if silent_close == 0 {
            Stamp::NONE
        } else {
            let since = silent_close.saturating_sub(CLOSE_LINGER_MS);
            Stamp::at(now_ms.saturating_add(now_ms.saturating_sub(since).max(1)))
        };
        // A hardware socket freed by a finished close may be what a listener has been
        // waiting for to listen again (all 8 were busy): re-arm every listener.
        if self.free_hw_sockets() > 0 {
            for i in 0..MAX_SOCKETS {
                if self.slots[i].in_use {
                    self.arm_listeners(i)?;
                }
            }
        }
        let due = self
            .last_link_poll_ms
            .get()
            .is_none_or(|t| now_ms.saturating_sub(t) >= LINK_POLL_MS);
        if due {
            self.link = self.chip.phy_status()?;
            self.last_link_poll_ms = Stamp::at(now_ms);
        }
        self.stall_guard(now_ms)
    }

    /// The earliest time [`Stack::service`] has timed work to do (a background close
    /// deadline or its next look, the next link poll, the stall guard), so the OS layer can
    /// bound its waits.
    pub fn next_deadline_ms(&self) -> Option<u64> {
        if let Some(since) = self.absent_since_ms.get() {
            // The chip stopped answering: until it is back or declared absent, that decision
            // is the only timed work (other deadlines wait for a chip that answers).
            return Some(since.saturating_add(CHIP_ABSENT_GRACE_MS));
        }
        let closing = self
            .hw
            .iter()
            .filter(|h| h.owner == HwOwner::Closing)
            .map(|h| h.close_deadline_ms)
            .min();
        let closing_look = self.closing_look_ms.get().filter(|_| closing.is_some());
        let link = self.last_link_poll_ms.get().map(|t| t + LINK_POLL_MS);
        let limit = self.stall_limit_ms();
        let stall = self
            .hw
            .iter()
            .filter_map(|h| h.stall_since_ms.get().map(|t| t.saturating_add(limit)))
            .min();
        // Pairwise, not through an array iterator (that one costs a memcpy on the target).
        let earliest = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        earliest(earliest(closing, closing_look), earliest(link, stall))
    }
}
