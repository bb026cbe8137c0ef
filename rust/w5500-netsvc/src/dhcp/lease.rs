//! A lease ([`Lease`]: address, mask, gateway, DNS servers and times) and the lease-time
//! rules of RFC 2131 §4.4.5 ([`lease_times`]).

use core::net::Ipv4Addr;

use super::{DEFAULT_LEASE_SECS, DOMAIN_MAX, INFINITE, MAX_DNS, MIN_LEASE_SECS};

/// An IPv4 configuration: a DHCP lease, or a static configuration made with
/// [`Lease::manual`]. Times are in seconds from `acquired_ms`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The interface address (SIPR).
    pub address: Ipv4Addr,
    /// Subnet mask (SUBR): option 1, else the classful mask of the address.
    pub subnet_mask: Ipv4Addr,
    /// Default gateway (GAR): the first router of option 3. Never the server identifier.
    pub gateway: Option<Ipv4Addr>,
    /// DNS servers (option 6) in the server's order.
    pub dns_servers: heapless::Vec<Ipv4Addr, MAX_DNS>,
    /// Domain name (option 15).
    pub domain: Option<heapless::String<DOMAIN_MAX>>,
    /// Lease duration in seconds ([`INFINITE`] for a static or infinite lease).
    pub lease_secs: u32,
    /// Renewal time T1 in seconds.
    pub t1_secs: u32,
    /// Rebinding time T2 in seconds.
    pub t2_secs: u32,
    /// The DHCP server that granted it (option 54); `None` for a static configuration.
    pub server_id: Option<Ipv4Addr>,
    /// When the lease began: the time its REQUEST was first sent (RFC 2131 §4.4.1).
    pub acquired_ms: u64,
}

impl Lease {
    /// A static configuration (DHCP off): never expires.
    pub fn manual(
        address: Ipv4Addr,
        subnet_mask: Ipv4Addr,
        gateway: Option<Ipv4Addr>,
        dns: &[Ipv4Addr],
    ) -> Self {
        let mut dns_servers = heapless::Vec::new();
        for d in dns.iter().take(MAX_DNS) {
            let _ = dns_servers.push(*d);
        }
        Lease {
            address,
            subnet_mask,
            gateway,
            dns_servers,
            domain: None,
            lease_secs: INFINITE,
            t1_secs: INFINITE,
            t2_secs: INFINITE,
            server_id: None,
            acquired_ms: 0,
        }
    }

    /// True for a lease that never expires (static, or option 51 = 0xffffffff).
    pub fn is_infinite(&self) -> bool {
        self.lease_secs == INFINITE
    }

    fn at(&self, secs: u32) -> Option<u64> {
        (!self.is_infinite()).then(|| {
            self.acquired_ms
                .saturating_add(u64::from(secs).saturating_mul(1000))
        })
    }

    /// When the client starts renewing (T1), `None` for an infinite lease.
    pub fn renew_at_ms(&self) -> Option<u64> {
        self.at(self.t1_secs)
    }

    /// When the client starts rebinding (T2), `None` for an infinite lease.
    pub fn rebind_at_ms(&self) -> Option<u64> {
        self.at(self.t2_secs)
    }

    /// When the lease expires, `None` for an infinite lease.
    pub fn expires_at_ms(&self) -> Option<u64> {
        self.at(self.lease_secs)
    }

    /// Prefix length of the subnet mask.
    pub fn prefix_len(&self) -> u8 {
        u32::from(self.subnet_mask).leading_ones() as u8
    }

    /// The subnet's directed broadcast address.
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.address) | !u32::from(self.subnet_mask))
    }
}

/// Classful mask (RFC 791) for an address whose server sent no option 1.
pub(super) fn classful_mask(ip: Ipv4Addr) -> Ipv4Addr {
    match ip.octets()[0] {
        0..=127 => Ipv4Addr::new(255, 0, 0, 0),
        128..=191 => Ipv4Addr::new(255, 255, 0, 0),
        _ => Ipv4Addr::new(255, 255, 255, 0),
    }
}

pub(super) fn is_contiguous_mask(m: Ipv4Addr) -> bool {
    let v = u32::from(m);
    v != 0 && v.leading_ones() + v.trailing_zeros() == 32
}

/// Lease, T1 and T2 from the server's values with the RFC 2131 §4.4.5 defaults and sanity
/// rules: lease ≥ [`MIN_LEASE_SECS`] (infinite stays infinite), 0 < T1 < T2 < lease.
pub fn lease_times(lease: Option<u32>, t1: Option<u32>, t2: Option<u32>) -> (u32, u32, u32) {
    let lease = lease.unwrap_or(DEFAULT_LEASE_SECS);
    if lease == INFINITE {
        return (INFINITE, INFINITE, INFINITE);
    }
    let lease = lease.max(MIN_LEASE_SECS);
    let l = u64::from(lease);
    let t2 = match t2 {
        // At least 2 s, so that a whole T1 fits strictly between 0 and T2.
        Some(v) if v > 1 && v < lease => v,
        _ => (l * 7 / 8) as u32,
    };
    let t1 = match t1 {
        Some(v) if v > 0 && v < t2 => v,
        _ => {
            let d = lease / 2;
            if d < t2 {
                d
            } else {
                t2 / 2
            }
        }
    };
    (lease, t1, t2)
}
