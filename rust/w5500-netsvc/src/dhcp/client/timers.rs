//! The client's timers: T1 (renewing), T2 (rebinding), expiry, retransmission deadlines and
//! the probe timeout (RFC 2131 §4.1, §4.4.5).

use super::{Client, Pending, State};
use crate::dhcp::{Lease, MAX_REQUEST_TRANSMISSIONS, PROBE};

impl Client {
    /// When the client next needs [`Client::poll`] (or [`Client::poll_transmit`]); `None`
    /// when it waits for nothing but datagrams or calls (stopped, infinite lease).
    pub fn poll_at(&self) -> Option<u64> {
        let mut t: Option<u64> = None;
        let mut min = |v: Option<u64>| {
            if let Some(v) = v {
                t = Some(t.map_or(v, |x| x.min(v)));
            }
        };
        if self.pending.is_some() {
            min(Some(self.pending_since_ms));
        }
        min(self.deadline);
        if let Some(l) = &self.lease {
            if self.state != State::Stopped {
                min(l.expires_at_ms());
            }
            match self.state {
                State::Bound => min(l.renew_at_ms()),
                State::Renewing => min(l.rebind_at_ms()),
                _ => {}
            }
        }
        t
    }

    /// Run the timers up to `now_ms`: retransmissions, T1, T2, expiry, timeouts.
    pub fn poll(&mut self, now_ms: u64) {
        // A state change can make the next one due at once (e.g. T1 and T2 both past);
        // a handful of rounds is always enough.
        for _ in 0..6 {
            if !self.step(now_ms) {
                break;
            }
        }
    }

    fn deadline_due(&self, now: u64) -> bool {
        self.deadline.is_some_and(|d| now >= d)
    }

    /// One timer transition; true if something changed.
    fn step(&mut self, now: u64) -> bool {
        if self.state != State::Stopped {
            if let Some(exp) = self.lease.as_ref().and_then(Lease::expires_at_ms) {
                if now >= exp {
                    w5500_log::warn!("dhcp: lease expired");
                    self.lose();
                    if self.state != State::LinkDown {
                        self.enter_init(now, 0);
                    }
                    return true;
                }
            }
        }
        match self.state {
            State::Bound => {
                let t1 = self.lease.as_ref().and_then(Lease::renew_at_ms);
                if t1.is_some_and(|t| now >= t) {
                    w5500_log::info!("dhcp: T1, renewing");
                    self.state = State::Renewing;
                    self.new_exchange(now);
                    self.queue(Pending::Request, now);
                    return true;
                }
            }
            State::Renewing => {
                let t2 = self.lease.as_ref().and_then(Lease::rebind_at_ms);
                if t2.is_some_and(|t| now >= t) {
                    w5500_log::info!("dhcp: T2, rebinding");
                    self.state = State::Rebinding;
                    self.new_exchange(now);
                    self.queue(Pending::Request, now);
                    return true;
                }
                if self.deadline_due(now) {
                    self.queue(Pending::Request, now);
                    return true;
                }
            }
            State::Rebinding => {
                if self.deadline_due(now) {
                    self.queue(Pending::Request, now);
                    return true;
                }
            }
            State::Init => {
                if self.pending.is_none() && self.deadline_due(now) {
                    self.start_discover(now);
                    return true;
                }
            }
            State::Selecting => {
                if self.deadline_due(now) {
                    self.queue(Pending::Discover, now);
                    return true;
                }
            }
            State::Requesting => {
                if self.deadline_due(now) {
                    if self.tx_count >= MAX_REQUEST_TRANSMISSIONS {
                        w5500_log::warn!("dhcp: no answer to REQUEST, restarting");
                        self.offer = None;
                        self.enter_init(now, 0);
                    } else {
                        self.queue(Pending::Request, now);
                    }
                    return true;
                }
            }
            State::Rebooting => {
                if self.deadline_due(now) {
                    if self.tx_count >= MAX_REQUEST_TRANSMISSIONS {
                        self.reboot_ip = None;
                        if self.lease.is_some() {
                            // RFC 2131 §3.2: keep using the unexpired lease.
                            w5500_log::warn!("dhcp: no answer to INIT-REBOOT, keeping the lease");
                            self.deadline = None;
                            self.state = State::Bound;
                        } else {
                            self.enter_init(now, 0);
                        }
                    } else {
                        self.queue(Pending::Request, now);
                    }
                    return true;
                }
            }
            State::Probing if PROBE => {
                if self.deadline_due(now) {
                    w5500_log::warn!("dhcp: no probe result, assuming the address is free");
                    if let Some(c) = self.candidate.take() {
                        self.bind(c, now);
                    } else {
                        self.enter_init(now, 0);
                    }
                    return true;
                }
            }
            // Probing without PROBE: never entered.
            State::Probing | State::InitReboot | State::Stopped | State::LinkDown => {}
        }
        false
    }
}
