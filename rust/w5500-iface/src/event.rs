//! What the OS layer learns about ([`IfaceEvent`], mapped to Zephyr in the crate docs), and
//! the queue of [`EVENT_QUEUE`] events it drains with [`Iface::take_event`].

use core::net::Ipv4Addr;

use w5500_driver::bsd::Os;

#[cfg(doc)]
use crate::EVENT_QUEUE;
use crate::{DnsList, Iface};

/// What the OS layer must learn about (see the crate docs for the Zephyr mapping).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IfaceEvent {
    /// The PHY reports a link (carrier on).
    LinkUp {
        /// 100 Mbit/s, else 10.
        speed_100: bool,
        /// Full duplex.
        full_duplex: bool,
    },
    /// The link went away (carrier off); an address and its lease are kept.
    LinkDown,
    /// An address is configured on the chip.
    AddressAdded {
        /// The address.
        ip: Ipv4Addr,
        /// Its subnet mask.
        mask: Ipv4Addr,
        /// The default gateway.
        gw: Option<Ipv4Addr>,
        /// From a DHCP lease (`NET_ADDR_DHCP`), else static (`NET_ADDR_MANUAL`).
        from_dhcp: bool,
    },
    /// The address is no longer configured (lease lost, released, replaced, interface down).
    AddressRemoved {
        /// The address.
        ip: Ipv4Addr,
    },
    /// DHCP bound a new lease (after its `AddressAdded`).
    DhcpBound,
    /// The lease was renewed by its server (or confirmed by INIT-REBOOT).
    DhcpRenewed,
    /// The lease was extended by some server while rebinding.
    DhcpRebound,
    /// The lease expired or was refused (after its `AddressRemoved`).
    DhcpLost,
    /// The offered address was in use (probe answered): DHCPDECLINE sent, starting over.
    DhcpDeclined(Ipv4Addr),
    /// The DNS servers in use changed (DHCP first, then configured ones).
    DnsServers(DnsList),
    /// The chip lost its registers (brown-out, reset pulse) and the driver programmed it
    /// again: TCP connections failed with `ECONNRESET`, UDP sockets were opened again, and a
    /// DHCP lease is being confirmed with INIT-REBOOT (RFC 2131 §3.2).
    ChipReset,
}

impl<O: Os, const C: usize> Iface<O, C> {
    /// The next event for the OS layer.
    pub fn take_event(&mut self) -> Option<IfaceEvent> {
        self.events.pop_front()
    }

    pub(crate) fn emit(&mut self, e: IfaceEvent) {
        if self.events.is_full() {
            w5500_log::warn!("iface: event queue full, dropping the oldest");
            let _ = self.events.pop_front();
        }
        let _ = self.events.push_back(e);
    }
}
