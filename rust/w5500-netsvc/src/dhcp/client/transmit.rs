//! The messages the client sends: DISCOVER, REQUEST, DECLINE, RELEASE with their fields and
//! destinations (RFC 2131 §4.4.1 table 5, §4.4.5), and the retransmission schedule after
//! each (§4.1).

use core::net::{Ipv4Addr, SocketAddrV4};

use super::{backoff_base_ms, Client, Event, Pending, State, Transmit};
use crate::dhcp::wire::{self, SERVER_PORT};
#[cfg(doc)]
use crate::dhcp::MAX_REQUEST_LEN;
use crate::dhcp::{
    Lease, MessageType, DEFAULT_MAX_MESSAGE_SIZE, MAX_MAX_MESSAGE_SIZE, MIN_RENEW_RETRY_MS,
};

impl Client {
    /// Write the next datagram into `buf` (at least [`MAX_REQUEST_LEN`] bytes) and say where
    /// to send it. Runs [`Client::poll`] first. `None` when nothing is due (or `buf` is too
    /// small, which then counts as a lost datagram).
    pub fn poll_transmit(&mut self, now_ms: u64, buf: &mut [u8]) -> Option<Transmit> {
        self.poll(now_ms);
        let p = self.pending.take()?;
        let (len, dst, message_type) = match self.plan(p, now_ms) {
            Some((req, dst)) => (wire::build(&req, buf), dst, req.message_type),
            None => {
                // Inconsistent state (cannot happen); start over rather than stall.
                w5500_log::error!("dhcp: nothing to build the message from, restarting");
                self.enter_init(now_ms, 0);
                return None;
            }
        };
        if len.is_none() {
            w5500_log::error!("dhcp: transmit buffer too small; bytes", buf.len());
        }
        self.sent(p, now_ms);
        Some(Transmit {
            dst,
            len: len?,
            message_type,
        })
    }

    /// The message for `p` in the current state, and its destination (RFC 2131 §4.4.1
    /// table 5, §4.4.5).
    fn plan(&self, p: Pending, now: u64) -> Option<(wire::Request<'_>, SocketAddrV4)> {
        let bcast = SocketAddrV4::new(Ipv4Addr::BROADCAST, SERVER_PORT);
        let mms = self
            .cfg
            .max_message_size
            .clamp(DEFAULT_MAX_MESSAGE_SIZE, MAX_MAX_MESSAGE_SIZE);
        let mut req = wire::Request {
            message_type: MessageType::Discover,
            xid: self.xid,
            secs: self.secs(now),
            broadcast: true,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            mac: self.cfg.mac,
            client_id: &self.client_id,
            requested_ip: None,
            server_id: None,
            hostname: self.cfg.hostname.as_ref().map(|h| h.as_str()),
            max_message_size: Some(mms),
            parameter_request: true,
        };
        let dst = match p {
            Pending::Discover => {
                req.requested_ip = self.remembered;
                bcast
            }
            Pending::Request => {
                req.message_type = MessageType::Request;
                match self.state {
                    State::Requesting => {
                        let o = self.offer?;
                        req.secs = self.discover_secs;
                        req.requested_ip = Some(o.ip);
                        req.server_id = Some(o.server);
                        bcast
                    }
                    State::InitReboot | State::Rebooting => {
                        req.requested_ip = Some(self.reboot_ip?);
                        bcast
                    }
                    State::Renewing | State::Rebinding => {
                        let l = self.lease.as_ref()?;
                        req.ciaddr = l.address;
                        req.broadcast = false;
                        if self.state == State::Renewing {
                            SocketAddrV4::new(l.server_id?, SERVER_PORT)
                        } else {
                            bcast
                        }
                    }
                    _ => return None,
                }
            }
            Pending::Decline { ip, server } | Pending::Release { ip, server } => {
                let decline = matches!(p, Pending::Decline { .. });
                req.secs = 0;
                req.broadcast = false;
                req.hostname = None;
                req.max_message_size = None;
                req.parameter_request = false;
                req.server_id = Some(server);
                if decline {
                    // Broadcast: the client has no usable address (RFC 2131 §4.4.4).
                    req.message_type = MessageType::Decline;
                    req.requested_ip = Some(ip);
                    bcast
                } else {
                    // Unicast to the server, from the address being released (§4.4.6).
                    req.message_type = MessageType::Release;
                    req.ciaddr = ip;
                    SocketAddrV4::new(server, SERVER_PORT)
                }
            }
        };
        Some((req, dst))
    }

    /// Bookkeeping after a message left (or was lost to a short buffer): state change and
    /// the retransmission deadline.
    fn sent(&mut self, p: Pending, now: u64) {
        match p {
            Pending::Discover => {
                self.discover_secs = self.secs(now);
                self.state = State::Selecting;
                self.tx_count = self.tx_count.saturating_add(1);
                let base = backoff_base_ms(self.tx_count);
                self.deadline = Some(now.saturating_add(self.jittered(base)));
            }
            Pending::Request => {
                if self.tx_count == 0 {
                    self.request_sent_ms = now;
                }
                self.tx_count = self.tx_count.saturating_add(1);
                if self.state == State::InitReboot {
                    self.state = State::Rebooting;
                }
                let lease = self.lease.as_ref();
                self.deadline = match self.state {
                    State::Renewing => lease.and_then(Lease::rebind_at_ms).map(|t2| {
                        let half = t2.saturating_sub(now) / 2;
                        now.saturating_add(half.max(MIN_RENEW_RETRY_MS)).min(t2)
                    }),
                    State::Rebinding => lease.and_then(Lease::expires_at_ms).map(|exp| {
                        let half = exp.saturating_sub(now) / 2;
                        now.saturating_add(half.max(MIN_RENEW_RETRY_MS)).min(exp)
                    }),
                    _ => {
                        let base = backoff_base_ms(self.tx_count);
                        Some(now.saturating_add(self.jittered(base)))
                    }
                };
            }
            Pending::Decline { .. } => {}
            Pending::Release { .. } => {
                self.emit(Event::Released);
            }
        }
    }
}
