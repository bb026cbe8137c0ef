//! How the interface starts ([`IfaceConfig`]), the static IPv4 configuration
//! ([`Ipv4Config`]), and the DHCP client's configuration made from them.

use core::net::Ipv4Addr;

use heapless::Vec;

#[cfg(doc)]
use crate::Iface;
use crate::{dhcp, Hostname, MAX_SERVERS};

/// A list of DNS servers.
pub type DnsList = Vec<Ipv4Addr, MAX_SERVERS>;

/// An IPv4 configuration for the chip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Config {
    /// Address (SIPR).
    pub ip: Ipv4Addr,
    /// Subnet mask (SUBR).
    pub netmask: Ipv4Addr,
    /// Default gateway (GAR); `None` programs 0.0.0.0.
    pub gateway: Option<Ipv4Addr>,
}

/// How the interface starts.
///
/// # Example
/// ```
/// use std::net::Ipv4Addr;
///
/// use w5500_iface::{IfaceConfig, Ipv4Config};
///
/// let mac = [0x02, 0x08, 0xdc, 0x12, 0x34, 0x56];
/// // DHCP (the default) with a host name from the MAC, and a fallback DNS server.
/// let cfg = IfaceConfig::new(mac, 0x1234_5678)
///     .with_hostname_template("w5500-{}")
///     .with_dns_servers(&[Ipv4Addr::new(9, 9, 9, 9)]);
/// assert!(cfg.dhcp);
/// assert_eq!(cfg.hostname.as_deref(), Some("w5500-123456"));
///
/// // A static address instead of DHCP.
/// let fixed = Ipv4Config {
///     ip: Ipv4Addr::new(192, 168, 1, 50),
///     netmask: Ipv4Addr::new(255, 255, 255, 0),
///     gateway: Some(Ipv4Addr::new(192, 168, 1, 1)),
/// };
/// let cfg = IfaceConfig::new(mac, 0x1234_5678).with_static(fixed, true);
/// assert!(!cfg.dhcp);
/// assert_eq!(cfg.static_ipv4, Some(fixed));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfaceConfig {
    /// The chip's MAC address (also DHCP `chaddr` and client identifier).
    pub mac: [u8; 6],
    /// Host name sent in DHCP option 12 (see [`IfaceConfig::with_hostname_template`]).
    pub hostname: Option<Hostname>,
    /// Run DHCP. When false the static configuration is used.
    pub dhcp: bool,
    /// Static configuration used when DHCP is off (at start or after [`Iface::dhcp_stop`]).
    pub static_ipv4: Option<Ipv4Config>,
    /// DNS servers asked after the ones DHCP gives (or alone, with a static configuration).
    pub dns_servers: DnsList,
    /// An address to confirm with INIT-REBOOT at the first start (e.g. kept in flash).
    pub requested_ip: Option<Ipv4Addr>,
    /// Seed for DHCP `xid`s and jitter and for DNS ids and ports (from a hardware RNG).
    pub seed: u64,
    /// Probe a new DHCP address before using it (RFC 2131 §4.4.1; only with the `dhcp-probe`
    /// feature).
    pub probe: bool,
    /// Send DHCPRELEASE in [`Iface::down`]. Without it the address is remembered and
    /// confirmed with INIT-REBOOT at the next [`Iface::up`].
    pub release_on_down: bool,
    /// DNS: wait per UDP try, ms.
    pub dns_timeout_ms: u32,
    /// DNS: time for one TCP try, ms.
    pub dns_tcp_timeout_ms: u32,
    /// DNS: rounds over the server list.
    pub dns_attempts: u8,
}

impl IfaceConfig {
    /// DHCP on, no host name, no static fallback, probe on, RELEASE on down, DNS 2 s per try,
    /// 4 s per TCP try, 2 rounds.
    pub fn new(mac: [u8; 6], seed: u64) -> Self {
        IfaceConfig {
            mac,
            hostname: None,
            dhcp: true,
            static_ipv4: None,
            dns_servers: Vec::new(),
            requested_ip: None,
            seed,
            probe: true,
            release_on_down: true,
            dns_timeout_ms: 2_000,
            dns_tcp_timeout_ms: 4_000,
            dns_attempts: 2,
        }
    }

    /// Builder: host name from a template (`"w5500-{}"`: `{}` becomes the last three MAC
    /// bytes in hex; see [`dhcp::hostname_from_template`]).
    pub fn with_hostname_template(mut self, template: &str) -> Self {
        self.hostname = dhcp::hostname_from_template(template, self.mac);
        self
    }

    /// Builder: a static configuration; with `dhcp_off` it is used at once.
    pub fn with_static(mut self, cfg: Ipv4Config, dhcp_off: bool) -> Self {
        self.static_ipv4 = Some(cfg);
        if dhcp_off {
            self.dhcp = false;
        }
        self
    }

    /// Builder: fallback DNS servers (at most [`MAX_SERVERS`]).
    pub fn with_dns_servers(mut self, servers: &[Ipv4Addr]) -> Self {
        self.dns_servers = list(servers);
        self
    }
}

pub(crate) fn list(servers: &[Ipv4Addr]) -> DnsList {
    let mut v = DnsList::new();
    for s in servers.iter().take(MAX_SERVERS) {
        let _ = v.push(*s);
    }
    v
}

pub(crate) fn dhcp_config(cfg: &IfaceConfig, requested: Option<Ipv4Addr>) -> dhcp::Config {
    let mut c = dhcp::Config::new(cfg.mac, cfg.seed);
    c.hostname = cfg.hostname.clone();
    c.requested_ip = requested;
    c.probe = cfg.probe;
    c
}
