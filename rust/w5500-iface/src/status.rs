//! What the interface reports at any time: lease, address, link, DHCP state, DNS servers.

use core::net::Ipv4Addr;

use w5500_driver::bsd::Os;
use w5500_driver::chip::PhyStatus;

#[cfg(doc)]
use crate::IfaceConfig;
use crate::{dhcp, DnsList, Iface, Ipv4Config, Lease};

impl<O: Os, const C: usize> Iface<O, C> {
    /// The lease (DHCP) or static configuration in use, readable at any time.
    pub fn lease(&self) -> Option<Lease> {
        self.addr.as_ref().map(|(l, _)| l.clone())
    }

    /// The address configured on the chip, if any.
    pub fn ipv4(&self) -> Option<Ipv4Config> {
        self.addr.as_ref().map(|(l, _)| Ipv4Config {
            ip: l.address,
            netmask: l.subnet_mask,
            gateway: l.gateway,
        })
    }

    /// The link as last reported (down before the first reading and while down).
    pub fn link(&self) -> PhyStatus {
        match self.link {
            Some(l) if !self.phy_off => l,
            _ => PhyStatus {
                link_up: false,
                speed_100: false,
                full_duplex: false,
            },
        }
    }

    /// The host name sent to DHCP.
    pub fn hostname(&self) -> Option<&str> {
        self.cfg.hostname.as_ref().map(|h| h.as_str())
    }

    /// The DHCP client's state.
    pub fn dhcp_state(&self) -> dhcp::State {
        self.dhcp.state()
    }

    /// The address DHCP would ask for next (keep it in flash for
    /// [`IfaceConfig::requested_ip`]).
    pub fn remembered_address(&self) -> Option<Ipv4Addr> {
        self.dhcp.remembered_address()
    }

    /// The DNS servers in use, in order.
    pub fn dns_servers(&self) -> DnsList {
        self.resolver.servers()
    }

    /// True while a DNS lookup is in progress (for diagnostics and the soak tests: the
    /// resolver must be idle between lookups).
    pub fn dns_busy(&self) -> bool {
        self.resolver.is_busy()
    }

    /// True when DHCP is enabled (it runs while the interface is up and no static address
    /// is set).
    pub fn dhcp_enabled(&self) -> bool {
        self.dhcp_on
    }

    /// The static configuration set (at run time or by configuration), if any; while one is
    /// set DHCP does not run.
    pub fn static_ipv4(&self) -> Option<Ipv4Config> {
        self.static_ip
    }

    /// True when the interface is administratively up.
    pub fn is_up(&self) -> bool {
        self.admin_up
    }

    pub(crate) fn dhcp_active(&self) -> bool {
        self.dhcp_on && self.admin_up && self.static_ip.is_none()
    }
}
