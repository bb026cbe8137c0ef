//! The replies the client accepts (OFFER, ACK, NAK: port, `op`, `xid`, `chaddr`, cookie,
//! type and server id checked, RFC 2131 §4.4) and what each does to the state.

use core::net::{Ipv4Addr, SocketAddrV4};

use super::{backoff_base_ms, Client, Event, Offer, Pending, State};
use crate::dhcp::lease::{classful_mask, is_contiguous_mask};
use crate::dhcp::wire::{self, is_unicast, SERVER_PORT};
use crate::dhcp::{lease_times, Lease, MessageType, PROBE, PROBE_TIMEOUT_MS};

impl Client {
    /// Feed a datagram received on port 68 from `from`. Returns true when it was accepted as
    /// the answer the current state waits for; anything else (wrong port, `op`, `xid`,
    /// `chaddr`, cookie, type or server id; stray or malformed) is ignored and returns false.
    pub fn handle(&mut self, now_ms: u64, from: SocketAddrV4, datagram: &[u8]) -> bool {
        self.poll(now_ms);
        let waiting = matches!(
            self.state,
            State::Selecting
                | State::Requesting
                | State::Rebooting
                | State::Renewing
                | State::Rebinding
        );
        if !waiting || from.port() != SERVER_PORT {
            return false;
        }
        let Ok(r) = wire::parse(datagram) else {
            return false;
        };
        if r.op != wire::BOOTREPLY
            || r.xid != self.xid
            || r.chaddr.get(..6) != Some(&self.cfg.mac[..])
        {
            return false;
        }
        let Some(t) = r.message_type else {
            return false;
        };
        let Some(server) = r.server_id else {
            w5500_log::debug!("dhcp: reply without server identifier ignored");
            return false;
        };
        let now = now_ms;
        match (self.state, t) {
            (State::Selecting, MessageType::Offer) => {
                if !is_unicast(r.yiaddr) || !is_unicast(server) {
                    return false;
                }
                w5500_log::info!("dhcp: offer of", r.yiaddr, "from", server);
                self.offer = Some(Offer {
                    ip: r.yiaddr,
                    server,
                    lease_secs: r.lease_secs,
                });
                self.state = State::Requesting;
                self.tx_count = 0;
                self.queue(Pending::Request, now);
                true
            }
            (State::Requesting, MessageType::Ack) => {
                let Some(o) = self.offer else { return false };
                if server != o.server || r.yiaddr != o.ip {
                    return false;
                }
                let lease = self.lease_from(&r, o.ip, o.lease_secs);
                self.acquired(lease, now);
                true
            }
            (State::Requesting, MessageType::Nak) => {
                if self.offer.is_none_or(|o| o.server != server) {
                    return false;
                }
                self.nak(now);
                true
            }
            (State::Rebooting, MessageType::Ack) => {
                let Some(ip) = self.reboot_ip else {
                    return false;
                };
                if r.yiaddr != ip {
                    return false;
                }
                let lease = self.lease_from(&r, ip, None);
                if self.lease.as_ref().is_some_and(|l| l.address == ip) {
                    self.extended(lease, Event::Renewed);
                } else {
                    self.acquired(lease, now);
                }
                true
            }
            (State::Rebooting, MessageType::Nak) => {
                self.nak(now);
                true
            }
            (State::Renewing | State::Rebinding, MessageType::Ack | MessageType::Nak) => {
                let Some(cur) = self.lease.as_ref() else {
                    return false;
                };
                if self.state == State::Renewing && cur.server_id != Some(server) {
                    return false;
                }
                let ip = cur.address;
                if t == MessageType::Nak {
                    self.nak(now);
                    return true;
                }
                if r.yiaddr != ip && !r.yiaddr.is_unspecified() {
                    w5500_log::warn!("dhcp: renewal ACK for another address ignored");
                    return false;
                }
                let lease = self.lease_from(&r, ip, None);
                let ev = if self.state == State::Renewing {
                    Event::Renewed
                } else {
                    Event::Rebound
                };
                self.extended(lease, ev);
                true
            }
            _ => false,
        }
    }

    fn nak(&mut self, now: u64) {
        w5500_log::warn!("dhcp: NAK");
        self.lose();
        self.remembered = None;
        self.naks = self.naks.saturating_add(1);
        let delay = if self.naks <= 1 {
            0
        } else {
            let base = backoff_base_ms(self.naks - 1);
            self.jittered(base)
        };
        self.enter_init(now, delay);
    }

    /// A new address was ACKed (REQUESTING, or REBOOTING without a lease): probe, then bind.
    fn acquired(&mut self, lease: Lease, now: u64) {
        self.offer = None;
        self.reboot_ip = None;
        self.pending = None;
        if PROBE && self.cfg.probe {
            self.state = State::Probing;
            self.deadline = Some(now.saturating_add(PROBE_TIMEOUT_MS));
            self.emit(Event::Probe(lease.address));
            self.candidate = Some(lease);
        } else {
            self.bind(lease, now);
        }
    }

    /// The current lease was extended.
    fn extended(&mut self, lease: Lease, ev: Event) {
        w5500_log::info!("dhcp: lease extended:", lease.address);
        self.remembered = Some(lease.address);
        self.lease = Some(lease);
        self.naks = 0;
        self.reboot_ip = None;
        self.deadline = None;
        self.pending = None;
        self.state = State::Bound;
        self.emit(ev);
    }

    fn lease_from(&self, r: &wire::Reply, ip: Ipv4Addr, offered: Option<u32>) -> Lease {
        let (lease_secs, t1_secs, t2_secs) =
            lease_times(r.lease_secs.or(offered), r.t1_secs, r.t2_secs);
        Lease {
            address: ip,
            subnet_mask: r
                .subnet_mask
                .filter(|m| is_contiguous_mask(*m))
                .unwrap_or_else(|| classful_mask(ip)),
            gateway: r.router,
            dns_servers: r.dns.clone(),
            domain: r.domain.clone(),
            lease_secs,
            t1_secs,
            t2_secs,
            server_id: r.server_id,
            acquired_ms: self.request_sent_ms,
        }
    }
}
