//! The worker step ([`Iface::poll`]): service the chip, follow chip resets and the PHY link,
//! run DHCP, and say when to come back.

use w5500_driver::bsd::Os;

use crate::config::dhcp_config;
use crate::{Iface, IfaceEvent};

impl<O: Os, const C: usize> Iface<O, C> {
    /// The worker step: service the chip, follow the link, run DHCP and the probe. Returns
    /// when it next needs to run (ms on the [`Os`] clock); call it earlier when INTn fires.
    ///
    /// After a failed service pass (a chip that stopped answering, an SPI bus error) the
    /// answer is a poll period on at the earliest: the deadlines the pass could not serve are
    /// in the past, and "now" would make the caller spin for as long as the chip is gone.
    ///
    /// # Example
    /// DHCP on the simulator's standard LAN: the events the worker hands to the OS layer
    /// (RFC 2131 §3.1), with the lease's address programmed into the chip.
    /// ```
    /// # use w5500_driver::bsd::{Bsd, Os};
    /// # use w5500_driver::chip::Config;
    /// # use w5500_driver::stack::StackConfig;
    /// # use w5500_iface::{dhcp, Iface, IfaceConfig, IfaceEvent};
    /// # use w5500_sim::lan::{standard, Lan};
    /// # use w5500_sim::sim::Sim;
    /// # use w5500_testkit::{Rig, RigConfig};
    /// # let mac = [0x02, 0x08, 0xdc, 0x12, 0x34, 0x56];
    /// # let chip = RigConfig {
    /// #     chip: Config::new(mac),
    /// #     stack: StackConfig::default(),
    /// #     int_pin: true,
    /// #     poll_ms: 50,
    /// # };
    /// # let rig = Rig::new(Sim::new(Lan::standard()), chip)?;
    /// # let os = rig.bsd.os();
    /// let mut iface = Iface::new(Bsd::new(os), IfaceConfig::new(mac, 7));
    /// iface.up()?;
    /// let mut events = Vec::new();
    /// while !events.contains(&IfaceEvent::DnsServers(iface.dns_servers())) && events.len() < 8 {
    ///     let now = os.now_ms();
    ///     let next = iface.poll(now);
    ///     events.extend(std::iter::from_fn(|| iface.take_event()));
    ///     os.wait(None, os.epoch(), next.unwrap_or(now + 50).max(now + 1));
    /// }
    /// let lease = iface.lease().expect("a lease");
    /// assert_eq!(
    ///     events,
    ///     [
    ///         IfaceEvent::LinkUp { speed_100: true, full_duplex: true },
    ///         IfaceEvent::AddressAdded {
    ///             ip: lease.address,
    ///             mask: lease.subnet_mask,
    ///             gw: lease.gateway,
    ///             from_dhcp: true,
    ///         },
    ///         IfaceEvent::DhcpBound,
    ///         IfaceEvent::DnsServers(iface.dns_servers()),
    ///     ]
    /// );
    /// assert_eq!(lease.address, standard::POOL_START);
    /// assert_eq!(iface.dhcp_state(), dhcp::State::Bound);
    /// // SIPR as the chip holds it.
    /// assert_eq!(os.with_stack(|s| s.chip().ipv4())?.0, lease.address);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn poll(&mut self, now: u64) -> Option<u64> {
        let poll_all = !self.os().has_interrupt_pin();
        let failed = match self.with_stack(|s| s.service(now, poll_all)) {
            Ok(()) => {
                if core::mem::take(&mut self.service_failing) {
                    w5500_log::info!("iface: the chip answers again");
                }
                false
            }
            Err(e) => {
                if !core::mem::replace(&mut self.service_failing, true) {
                    w5500_log::warn!("iface: service failed:", e);
                }
                true
            }
        };
        self.os().notify_all();
        self.check_chip_reset(now);
        self.check_link(now);
        self.run_dhcp(now);
        let next = self.next_wake(now);
        if failed {
            let later = now.saturating_add(self.os().poll_interval_ms().max(1));
            return Some(next.map_or(later, |n| n.max(later)));
        }
        next
    }

    /// After the stack recovered from a chip reset: tell the OS layer, drop a probe whose
    /// socket the reset ended, and confirm the lease with INIT-REBOOT (the stack has already
    /// programmed the address back into SIPR).
    fn check_chip_reset(&mut self, now: u64) {
        let n = self.with_stack(|s| s.chip_resets());
        if n == self.chip_resets_seen {
            return;
        }
        self.chip_resets_seen = n;
        self.emit(IfaceEvent::ChipReset);
        self.cancel_probe();
        self.pending_probe = None;
        if self.dhcp_active() && self.dhcp_started {
            self.dhcp.link_changed(true, now);
        }
    }

    fn check_link(&mut self, now: u64) {
        if self.phy_off {
            return;
        }
        let l = self.with_stack(|s| s.link());
        let was_up = self.link.is_some_and(|p| p.link_up);
        self.link = Some(l);
        if l.link_up && !was_up {
            self.emit(IfaceEvent::LinkUp {
                speed_100: l.speed_100,
                full_duplex: l.full_duplex,
            });
            if self.dhcp_active() && self.dhcp_started {
                // RFC 2131 §3.2: confirm the address with INIT-REBOOT.
                self.dhcp.link_changed(true, now);
            }
        } else if !l.link_up && was_up {
            self.emit(IfaceEvent::LinkDown);
            if self.dhcp_active() && self.dhcp_started {
                self.dhcp.link_changed(false, now);
            }
        }
        if l.link_up && self.dhcp_active() && !self.dhcp_started {
            if self.dhcp.config().hostname != self.cfg.hostname {
                // A host name set since the client was made: it starts afresh with it.
                let remembered = self.dhcp.remembered_address();
                self.dhcp.reset(dhcp_config(&self.cfg, remembered));
            }
            self.dhcp.start(now);
            self.dhcp_started = true;
        }
    }

    pub(crate) fn next_wake(&self, now: u64) -> Option<u64> {
        let mut t = self.with_stack(|s| s.next_deadline_ms());
        let mut min = |v: Option<u64>| {
            if let Some(v) = v {
                t = Some(t.map_or(v, |x| x.min(v)));
            }
        };
        if self.dhcp_active() && self.dhcp_started {
            if self.dhcp.needs_socket() && self.dhcp_sock.is_none() {
                min(self.socket_wait_until);
            } else {
                min(self.dhcp.poll_at());
            }
            if self.dhcp_sock.is_some() || self.probe.is_some() || self.pending_probe.is_some() {
                min(Some(
                    now.saturating_add(self.os().poll_interval_ms().max(1)),
                ));
            }
        }
        t.map(|v| v.max(now))
    }
}
