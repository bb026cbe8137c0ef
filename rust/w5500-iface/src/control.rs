//! Runtime control behind the net-mgmt requests: static address, DHCP on/off, host name, DNS
//! servers.

use core::net::Ipv4Addr;

use w5500_driver::bsd::Os;

use crate::config::{dhcp_config, list};
#[cfg(doc)]
use crate::IfaceConfig;
use crate::{dhcp, Iface, Ipv4Config};

impl<O: Os, const C: usize> Iface<O, C> {
    /// Use a static address: programs the chip at once (when up) and stops DHCP (without
    /// RELEASE; the DHCP address, if any, is removed first).
    pub fn set_static_ipv4(&mut self, ip: Ipv4Addr, netmask: Ipv4Addr, gateway: Option<Ipv4Addr>) {
        self.stop_client(false);
        self.static_ip = Some(Ipv4Config {
            ip,
            netmask,
            gateway,
        });
        if self.addr.as_ref().is_some_and(|(_, dhcp)| *dhcp) {
            self.remove_address();
        }
        self.dhcp_dns.clear();
        self.update_dns();
        self.apply_static();
    }

    /// Drop the static address; DHCP starts again if it is enabled.
    pub fn clear_static_ipv4(&mut self) {
        if self.static_ip.take().is_some() && self.addr.as_ref().is_some_and(|(_, d)| !*d) {
            self.remove_address();
        }
        self.dhcp_started = false;
    }

    /// Enable DHCP (it replaces a static configuration and starts at the next
    /// [`Iface::poll`] once the link is up).
    pub fn dhcp_start(&mut self) {
        if self.static_ip.take().is_some() {
            self.remove_address();
        }
        if !self.dhcp_on {
            self.dhcp_on = true;
            self.dhcp_started = false;
        }
    }

    /// Disable DHCP without a RELEASE (like Zephyr's `net_dhcpv4_stop`): the DHCP address is
    /// removed and the configured static address, if any, takes over.
    pub fn dhcp_stop(&mut self) {
        self.dhcp_on = false;
        self.stop_client(false);
        if self.addr.as_ref().is_some_and(|(_, d)| *d) {
            self.remove_address();
        }
        self.dhcp_dns.clear();
        self.update_dns();
        if self.static_ip.is_none() {
            self.static_ip = self.cfg.static_ipv4;
        }
        self.apply_static();
    }

    /// Set the host name sent in DHCP option 12 from a template (as
    /// [`IfaceConfig::with_hostname_template`]; empty: no option 12). Like MicroPython's
    /// `network.hostname(name)`, it is applied when DHCP next starts (at once if it has not
    /// started yet, else after [`Iface::down`]/[`Iface::up`] or [`Iface::dhcp_start`]).
    pub fn set_hostname_template(&mut self, template: &str) {
        self.cfg.hostname = if template.is_empty() {
            None
        } else {
            dhcp::hostname_from_template(template, self.cfg.mac)
        };
    }

    /// Replace the configured DNS servers (asked after the DHCP ones).
    pub fn set_dns_servers(&mut self, servers: &[Ipv4Addr]) {
        self.manual_dns = list(servers);
        self.update_dns();
    }

    /// Stop the DHCP client: with `release`, a RELEASE is queued when a lease is held (and
    /// the address forgotten); without, the client is made anew, remembering the address
    /// for INIT-REBOOT.
    pub(crate) fn stop_client(&mut self, release: bool) {
        if release {
            let now = self.now();
            self.dhcp.release(now);
        } else {
            let remembered = self.dhcp.remembered_address();
            self.dhcp.reset(dhcp_config(&self.cfg, remembered));
        }
        self.dhcp_started = false;
        self.cancel_probe();
        self.pending_probe = None;
        if !release {
            self.close_dhcp_socket();
        }
    }

    pub(crate) fn close_dhcp_socket(&mut self) {
        if let Some(id) = self.dhcp_sock.take() {
            let _ = self.bsd.close(id);
        }
        self.socket_wait_until = None;
    }
}
