//! The address probe (RFC 2131 §4.4.1, RFC 5227 style; see the crate docs): a one-byte UDP
//! datagram to the offered address with RTR/RCR lowered, whose ARP answers "in use".

use core::net::{Ipv4Addr, SocketAddrV4};

use w5500_driver::bsd::Os;
use w5500_driver::stack::{SockType, SocketId};
use w5500_driver::Error;

use crate::{dhcp, Iface, PROBE_GUARD_MS, PROBE_PORT, PROBE_RCR, PROBE_RTR};

#[derive(Clone, Copy, Debug)]
pub(crate) struct Probe {
    sock: SocketId,
    saved_retry: (u16, u8),
    deadline: u64,
}

impl<O: Os, const C: usize> Iface<O, C> {
    pub(crate) fn drive_probe(&mut self, now: u64) {
        if !dhcp::PROBE {
            // Compiled out (no `dhcp-probe`): the client never asks for a probe.
            return;
        }
        if self.probe.is_none() {
            if let Some(ip) = self.pending_probe {
                match self.start_probe(ip, now) {
                    Ok(p) => {
                        self.probe = Some(p);
                        self.pending_probe = None;
                    }
                    Err(Error::NoFreeSocket) => {
                        // Retried on the next poll; the client counts "no answer" as free
                        // after its own timeout.
                        if self.dhcp.state() != dhcp::State::Probing {
                            self.pending_probe = None;
                        }
                    }
                    Err(e) => {
                        w5500_log::warn!(
                            "iface: probe failed to start, taking the address as free:",
                            ip,
                            e
                        );
                        self.pending_probe = None;
                        self.dhcp.probe_result(false, now);
                    }
                }
            }
        }
        let Some(p) = self.probe else { return };
        let verdict = match self.with_stack(|s| s.send_done(p.sock)) {
            // SEND_OK: the ARP request was answered, the address is taken.
            Ok(true) => Some(true),
            Ok(false) if now < p.deadline => None,
            Ok(false) => Some(false),
            // TIMEOUT (ARPTO): nobody has the address.
            Err(Error::HostUnreachable) => Some(false),
            Err(e) => {
                w5500_log::warn!("iface: probe error, taking the address as free:", e);
                Some(false)
            }
        };
        if let Some(in_use) = verdict {
            self.cancel_probe();
            self.dhcp.probe_result(in_use, now);
            self.handle_dhcp_events();
        }
    }

    fn start_probe(&mut self, ip: Ipv4Addr, now: u64) -> Result<Probe, Error> {
        let sock = self.with_stack(|s| s.socket_service(SockType::Datagram))?;
        let r = self.with_stack(|s| -> Result<(u16, u8), Error> {
            s.bind(sock, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))?;
            let saved = s.retry()?;
            s.set_retry(PROBE_RTR, PROBE_RCR)?;
            if let Err(e) = s.send(sock, &[0], Some(SocketAddrV4::new(ip, PROBE_PORT))) {
                let _ = s.set_retry(saved.0, saved.1);
                return Err(e);
            }
            Ok(saved)
        });
        match r {
            Ok(saved_retry) => Ok(Probe {
                sock,
                saved_retry,
                deadline: now.saturating_add(PROBE_GUARD_MS),
            }),
            Err(e) => {
                let _ = self.bsd.close(sock);
                Err(e)
            }
        }
    }

    pub(crate) fn cancel_probe(&mut self) {
        if !dhcp::PROBE {
            return;
        }
        if let Some(p) = self.probe.take() {
            let (t, c) = p.saved_retry;
            if let Err(e) = self.with_stack(|s| s.set_retry(t, c)) {
                w5500_log::error!("iface: restoring RTR/RCR failed:", e);
            }
            let _ = self.bsd.close(p.sock);
        }
    }
}
