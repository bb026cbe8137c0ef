//! `net_if_up` / `net_if_down`: PHY power, DHCPRELEASE, the bounded FIN linger and the
//! closing of every chip socket.

use w5500_driver::bsd::Os;
use w5500_driver::regs::PhyMode;
use w5500_driver::Error;

#[cfg(doc)]
use crate::IfaceConfig;
use crate::{Iface, IfaceEvent, DOWN_LINGER_MS, RELEASE_WAIT_MS};

/// A [`embedded_hal::delay::DelayNs`] on the [`Os`] clock (for the PHY mode change).
struct OsDelay<'a, O: Os>(&'a O);

impl<O: Os> embedded_hal::delay::DelayNs for OsDelay<'_, O> {
    fn delay_ns(&mut self, ns: u32) {
        let ms = u64::from(ns).div_ceil(1_000_000).max(1);
        let end = self.0.now_ms().saturating_add(ms);
        for _ in 0..1_000 {
            if self.0.now_ms() >= end {
                break;
            }
            self.0.wait(None, self.0.epoch(), end);
        }
    }
}

impl<O: Os, const C: usize> Iface<O, C> {
    /// `net_if_up`: power the PHY up again if [`Iface::down`] powered it down, program a
    /// static configuration, and let DHCP start once the link is up.
    pub fn up(&mut self) -> Result<(), Error> {
        if self.admin_up {
            return Ok(());
        }
        self.admin_up = true;
        if self.phy_off {
            let os = self.bsd.os();
            os.with_stack(|s| {
                s.refresh_link_now();
                s.chip().set_phy_mode(PhyMode::Auto, &mut OsDelay(os))
            })?;
            self.phy_off = false;
        }
        self.dhcp_started = false;
        self.apply_static();
        self.update_dns();
        let now = self.now();
        self.poll(now);
        Ok(())
    }

    /// `net_if_down`: DHCPRELEASE when bound (unless [`IfaceConfig::release_on_down`] is
    /// off), FIN on every TCP connection (waiting at most [`DOWN_LINGER_MS`]), then CLOSE on
    /// every chip socket (application sockets get `ENETDOWN`), the address cleared, and the
    /// PHY powered down.
    pub fn down(&mut self) -> Result<(), Error> {
        if !self.admin_up {
            return Ok(());
        }
        let releasing = self.cfg.release_on_down
            && self.addr.as_ref().is_some_and(|(_, d)| *d)
            && self.dhcp.lease().is_some();
        if releasing {
            self.stop_client(true);
            self.send_release();
        } else {
            self.stop_client(false);
        }
        self.close_dhcp_socket();
        self.cancel_probe();
        // FIN on every connection, bounded wait, then CLOSE everything.
        let n = self.with_stack(|s| s.disconnect_all()).unwrap_or(0);
        if n > 0 {
            let end = self.now().saturating_add(DOWN_LINGER_MS);
            // LAST_ACK ends without an interrupt (the ACK of our FIN raises nothing), so
            // besides INTn the loop looks again after 1, 2, 4 … ms (a handful of reads
            // within the linger), not only at the safety poll.
            let mut step = 1u64;
            for _ in 0..10_000 {
                let seen = self.os().epoch();
                let now = self.now();
                let open = self
                    .with_stack(|s| s.any_connection_open())
                    .unwrap_or(false);
                if !open || now >= end {
                    break;
                }
                let until = end.min(now.saturating_add(step));
                step = step.saturating_mul(2);
                let _ = self.bsd.wait_for_news(None, seen, Some(until));
            }
        }
        let r = self.with_stack(|s| s.abort_all(Error::NetworkDown));
        self.os().notify_all();
        self.remove_address();
        self.dhcp_dns.clear();
        self.update_dns();
        let os = self.bsd.os();
        let phy = os.with_stack(|s| s.chip().set_phy_mode(PhyMode::PowerDown, &mut OsDelay(os)));
        self.phy_off = phy.is_ok();
        if self.link.is_some_and(|l| l.link_up) {
            self.emit(IfaceEvent::LinkDown);
        }
        self.link = None;
        self.admin_up = false;
        r.and(phy)
    }

    /// Send the RELEASE the client queued, and wait (bounded) until it left the chip.
    fn send_release(&mut self) {
        let sock = match self.dhcp_sock {
            Some(s) => Some(s),
            None => self.open_dhcp_socket().ok(),
        };
        let Some(sock) = sock else {
            w5500_log::warn!("iface: no socket free for DHCPRELEASE; the lease will time out");
            while self.dhcp.poll_event().is_some() {}
            return;
        };
        self.dhcp_sock = Some(sock);
        let now = self.now();
        if let Some(t) = self.dhcp.poll_transmit(now, &mut self.buf) {
            let data = self.buf.get(..t.len).unwrap_or(&[]);
            let sent = self
                .bsd
                .os()
                .with_stack(|s| s.send(sock, data, Some(t.dst)));
            if sent.is_ok() {
                // SEND_OK (or TIMEOUT) reaches the stack through the service routine, which
                // `wait_for_news` runs after each wait.
                let end = now.saturating_add(RELEASE_WAIT_MS);
                for _ in 0..1_000 {
                    let seen = self.os().epoch();
                    match self.with_stack(|s| s.send_done(sock)) {
                        Ok(false) if self.now() < end => {}
                        _ => break,
                    }
                    let _ = self.bsd.wait_for_news(Some(sock), seen, Some(end));
                }
            }
        }
        self.handle_dhcp_events();
    }
}
