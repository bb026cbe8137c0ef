//! The DHCP client's messages carried by a chip UDP socket on port 68, held only while the
//! client exchanges messages (see the socket-sharing policy in the crate docs), and its
//! events turned into interface events.

use core::net::{Ipv4Addr, SocketAddrV4};

use w5500_driver::bsd::Os;
use w5500_driver::stack::{RecvFlags, SockOpt, SockType, SocketId};
use w5500_driver::Error;

use crate::config::list;
use crate::{dhcp, Iface, IfaceEvent, DHCP_CLIENT_PORT, SOCKET_RETRY_MS};

impl<O: Os, const C: usize> Iface<O, C> {
    pub(crate) fn open_dhcp_socket(&mut self) -> Result<SocketId, Error> {
        let any = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, DHCP_CLIENT_PORT);
        let id = self.with_stack(|s| s.socket_service(SockType::Datagram))?;
        let r = self.with_stack(|s| {
            s.set_option(id, SockOpt::Broadcast(true))?;
            s.bind(id, any)
        });
        match r {
            Ok(()) => Ok(id),
            Err(e) => {
                let _ = self.bsd.close(id);
                Err(e)
            }
        }
    }

    pub(crate) fn run_dhcp(&mut self, now: u64) {
        if !(self.dhcp_active() && self.dhcp_started) {
            if self.dhcp_sock.is_some() && !self.dhcp.needs_socket() {
                self.close_dhcp_socket();
            }
            return;
        }
        self.dhcp.poll(now);
        self.handle_dhcp_events();
        self.drive_probe(now);
        if self.dhcp.needs_socket() {
            if self.dhcp_sock.is_none() && self.socket_wait_until.is_none_or(|t| now >= t) {
                match self.open_dhcp_socket() {
                    Ok(id) => {
                        self.dhcp_sock = Some(id);
                        self.socket_wait_until = None;
                    }
                    Err(e) => {
                        w5500_log::debug!("iface: no socket for DHCP, waiting:", e);
                        self.socket_wait_until = Some(now.saturating_add(SOCKET_RETRY_MS));
                    }
                }
            }
            if let Some(id) = self.dhcp_sock {
                self.dhcp_io(id, now);
            }
        }
        self.handle_dhcp_events();
        self.drive_probe(now);
        if !self.dhcp.needs_socket() && self.dhcp_sock.is_some() {
            self.close_dhcp_socket();
        }
    }

    fn dhcp_io(&mut self, id: SocketId, now: u64) {
        for _ in 0..16 {
            let os = self.bsd.os();
            let buf = &mut self.buf;
            match os.with_stack(|s| s.recv_datagram(id, buf, RecvFlags::default())) {
                Ok((n, _, from)) => {
                    let data = self.buf.get(..n).unwrap_or(&[]);
                    self.dhcp.handle(now, from, data);
                }
                Err(Error::WouldBlock) => break,
                Err(e) => {
                    w5500_log::debug!("iface: DHCP socket:", e);
                    break;
                }
            }
        }
        for _ in 0..4 {
            let Some(t) = self.dhcp.poll_transmit(now, &mut self.buf) else {
                break;
            };
            let data = self.buf.get(..t.len).unwrap_or(&[]);
            let r = self.bsd.os().with_stack(|s| s.send(id, data, Some(t.dst)));
            match r {
                Ok(_) => w5500_log::debug!(
                    "iface: DHCP message sent; type, to",
                    t.message_type as u8,
                    *t.dst.ip()
                ),
                // Lost like a datagram on the wire: the client retransmits.
                Err(e) => w5500_log::debug!(
                    "iface: DHCP message not sent; type",
                    t.message_type as u8,
                    e
                ),
            }
        }
    }

    pub(crate) fn handle_dhcp_events(&mut self) {
        for _ in 0..dhcp::EVENT_QUEUE * 2 {
            let Some(ev) = self.dhcp.poll_event() else {
                break;
            };
            match ev {
                dhcp::Event::Bound => self.on_lease(IfaceEvent::DhcpBound),
                dhcp::Event::Renewed => self.on_lease(IfaceEvent::DhcpRenewed),
                dhcp::Event::Rebound => self.on_lease(IfaceEvent::DhcpRebound),
                dhcp::Event::Lost => {
                    self.remove_address();
                    self.emit(IfaceEvent::DhcpLost);
                    self.dhcp_dns.clear();
                    self.update_dns();
                }
                dhcp::Event::Probe(ip) => self.pending_probe = Some(ip),
                dhcp::Event::Declined(ip) => self.emit(IfaceEvent::DhcpDeclined(ip)),
                dhcp::Event::Released => self.remove_address(),
            }
        }
    }

    /// A lease from the client: program it (AddressAdded when the address is new, e.g. an
    /// INIT-REBOOT after `down()` reports the lease as Bound), then the DHCP event, then DNS.
    fn on_lease(&mut self, kind: IfaceEvent) {
        // The client's lease as the event is taken (events are drained right after each
        // client call, so it is the one the event announced).
        let Some(l) = self.dhcp.lease().cloned() else {
            return;
        };
        self.dhcp_dns = list(&l.dns_servers);
        self.apply(l, true);
        self.emit(kind);
        self.update_dns();
    }
}
