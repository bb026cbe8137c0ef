//! The bounds the simulator's LAN keeps inside an image (`emul`), shared with the host tests
//! that check them against a counting allocator.

use w5500_sim::lan::{dhcp, dns, standard, Lan, LanLimits};

/// Entries the LAN's DHCP server keeps in its log (its counts by message type are complete).
pub(crate) const DHCP_LOG: usize = 32;
/// Queries each LAN DNS server keeps in its log.
pub(crate) const DNS_LOG: usize = 16;

/// Put `lan` (built by `Lan::standard`) under the bounds of an image: [`LanLimits::EMBEDDED`]
/// and short DHCP and DNS logs.
pub(crate) fn bound_for_image(lan: &mut Lan) {
    lan.set_limits(LanLimits::EMBEDDED);
    if let Some(gw) = lan.host_by_ip(standard::GATEWAY) {
        if let Some(d) = lan.udp_app_mut::<dhcp::DhcpServer>(gw, dhcp::SERVER_PORT) {
            d.log_limit = DHCP_LOG;
        }
    }
    for ns in [standard::GATEWAY, standard::NS2] {
        if let Some(id) = lan.host_by_ip(ns) {
            if let Some(d) = lan.udp_app_mut::<dns::DnsServer>(id, dns::PORT) {
                d.log_limit = DNS_LOG;
            }
        }
    }
}
