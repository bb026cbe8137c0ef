//! Address bookkeeping: what is programmed into SIPR/SUBR/GAR, the `AddressAdded`/`AddressRemoved`
//! events that go with it, and the DNS server list (DHCP's first, then configured ones).

use core::net::Ipv4Addr;

use w5500_driver::bsd::Os;

use crate::{DnsList, Iface, IfaceEvent, Lease};

impl<O: Os, const C: usize> Iface<O, C> {
    fn program(&self, ip: Ipv4Addr, mask: Ipv4Addr, gw: Option<Ipv4Addr>) {
        let gw = gw.unwrap_or(Ipv4Addr::UNSPECIFIED);
        if let Err(e) = self.with_stack(|s| s.set_ipv4(ip, mask, gw)) {
            w5500_log::error!("iface: programming the address failed:", ip, e);
        }
    }

    pub(crate) fn apply(&mut self, lease: Lease, from_dhcp: bool) {
        let same = self.addr.as_ref().is_some_and(|(l, _)| {
            l.address == lease.address
                && l.subnet_mask == lease.subnet_mask
                && l.gateway == lease.gateway
        });
        if !same {
            self.remove_address();
            self.program(lease.address, lease.subnet_mask, lease.gateway);
            self.emit(IfaceEvent::AddressAdded {
                ip: lease.address,
                mask: lease.subnet_mask,
                gw: lease.gateway,
                from_dhcp,
            });
        }
        self.addr = Some((lease, from_dhcp));
    }

    pub(crate) fn remove_address(&mut self) {
        if let Some((l, _)) = self.addr.take() {
            self.program(
                Ipv4Addr::UNSPECIFIED,
                Ipv4Addr::UNSPECIFIED,
                Some(Ipv4Addr::UNSPECIFIED),
            );
            self.emit(IfaceEvent::AddressRemoved { ip: l.address });
        }
    }

    pub(crate) fn update_dns(&mut self) {
        let mut merged = DnsList::new();
        for s in self.dhcp_dns.iter().chain(self.manual_dns.iter()) {
            if !s.is_unspecified() && !s.is_broadcast() && !merged.contains(s) {
                let _ = merged.push(*s);
            }
        }
        self.resolver.set_servers(&merged);
        if merged != self.reported_dns {
            self.reported_dns = merged.clone();
            self.emit(IfaceEvent::DnsServers(merged));
        }
    }

    pub(crate) fn apply_static(&mut self) {
        if let Some(c) = self.static_ip {
            if self.admin_up {
                let lease = Lease::manual(c.ip, c.netmask, c.gateway, &[]);
                self.apply(lease, false);
            }
        }
    }
}
