//! The W5500 network interface that the OS layer (Zephyr's offloaded `net_if`) drives: link
//! state, IPv4 configuration by DHCP or statically, and DNS (`getaddrinfo`), all carried by
//! the chip's own hardware sockets.
//!
//! [`Iface`] wraps the blocking socket API ([`Bsd`]) of `w5500-driver` together with the
//! sans-IO [`dhcp::Client`] and [`dns::Resolver`] of `w5500-netsvc`, and moves their messages
//! through chip sockets.
//!
//! # How the OS layer drives it
//! - A worker calls [`Iface::poll`] whenever INTn fired or the time it returned has come. It
//!   services the chip, follows the PHY link, runs the DHCP timers, moves DHCP datagrams
//!   through a UDP socket on port 68, runs the address probe, and programs SIPR/SUBR/GAR.
//! - The worker then drains [`Iface::take_event`]; each [`IfaceEvent`] maps to Zephyr:
//!   `LinkUp`/`LinkDown` → `net_if_carrier_on/off`; `AddressAdded` →
//!   `net_if_ipv4_addr_add` (+ netmask, gateway; `NET_ADDR_DHCP` or `NET_ADDR_MANUAL`),
//!   which raises `NET_EVENT_IPV4_ADDR_ADD`; `AddressRemoved` → `net_if_ipv4_addr_rm`
//!   (`NET_EVENT_IPV4_ADDR_DEL`); `DhcpBound` → `NET_EVENT_IPV4_DHCP_BOUND` (no info
//!   payload); `DnsServers` → the DNS configuration that Zephyr shows.
//! - `net_if_up/down` → [`Iface::up`] / [`Iface::down`]; the runtime controls
//!   ([`Iface::set_static_ipv4`], [`Iface::dhcp_start`], [`Iface::set_dns_servers`], …) back
//!   the net-mgmt requests.
//! - The DNS offload's `getaddrinfo` calls [`Iface::getaddrinfo`], which blocks.
//!
//! Concurrency: all of [`Iface`] takes `&mut self`, so the OS layer keeps it behind one mutex.
//! [`Iface::getaddrinfo`] holds it for the whole lookup and keeps the interface running
//! (it calls [`Iface::poll`] itself while it waits), so the worker blocked on the mutex loses
//! nothing; callers of `getaddrinfo` are serialised. Application sockets do not need that
//! mutex: they use their own [`Bsd`] handle over the same [`Os`] (the driver implements
//! [`Os`] for `&T`), whose stack lock is taken only for SPI work.
//!
//! # Socket sharing (the 8 hardware sockets)
//! - DHCP holds a hardware socket only while it exchanges messages
//!   ([`dhcp::Client::needs_socket`]: from DISCOVER to ACK, during renewing, rebinding and
//!   rebooting, and for a DECLINE or RELEASE). In BOUND, the long stretch up to T1, it holds
//!   none. The address probe holds one for well under a second.
//! - DNS holds one socket for the duration of one try: each UDP try opens a fresh socket bound
//!   to the resolver's random source port and closes it when the try ends; a truncated reply
//!   opens one TCP socket for the TCP try. Its reply stays in the chip's socket buffer until
//!   all of it has arrived (the two-byte length prefix is peeked, RFC 1035 §4.2.2), then it is
//!   read at once into the interface's one shared buffer: the host keeps no reassembly
//!   buffer. So the service socket's RX buffer must hold a whole reply (at most
//!   [`dns::TCP_REPLY_MAX`] + 2 bytes; the default 2 KB plan does), and a reply the server
//!   cuts short with FIN ends its try at the TCP timeout rather than at once.
//!
//! # RAM
//! No heap. [`Iface`] holds the [`Stack`] (about 107 bytes per socket), the DNS resolver
//! (a [`DNS_CACHE`]-entry cache of about 100 bytes per entry, `Iface<O, C>` /
//! [`Iface::with_dns_cache`] for another size), the DHCP client, one [`BUF_LEN`]-byte buffer
//! shared by DHCP and DNS, and an event queue of [`EVENT_QUEUE`] entries.
//! - `StackConfig::reserved_for_services` (0, 1 or 2) keeps that many hardware sockets back
//!   from applications (`socket()` never hands them out, an application sees `ENFILE`
//!   first), and the services take a reserved one first ([`Stack::socket_service`]). With 1
//!   reserved, DHCP and DNS never starve, but a DNS try during a DHCP exchange borrows a free
//!   socket if there is one; with 2 they never wait for each other.
//! - With 0 reserved (or the reserve in use), a service borrows a free hardware socket; if
//!   none is free, DHCP waits and tries again every [`SOCKET_RETRY_MS`] (its timers keep
//!   running: a renewal delayed past T2 becomes a rebinding, past expiry the address is
//!   lost), the probe counts as "no answer" after the DHCP client's own timeout, and DNS fails
//!   at once with `EAI_AGAIN`. A service never takes a socket an application holds.
//!
//! # Address probe (RFC 2131 §4.4.1, RFC 5227 style)
//! When the DHCP client asks ([`dhcp::Event::Probe`]), the interface sends a one-byte UDP
//! datagram to the offered address (port 9, discard) from a service socket while SIPR is
//! still 0.0.0.0, so the chip's ARP request carries sender address 0.0.0.0 like an RFC 5227
//! probe. RTR/RCR are lowered to [`PROBE_RTR`]/[`PROBE_RCR`] for it (three ARP requests,
//! 200 ms apart) and restored afterwards: SEND_OK means someone answered the ARP (in use),
//! TIMEOUT means nobody did (free). RTR/RCR are chip-wide, so TCP retransmissions of
//! applications run with the short timing during that ~0.6 s.
//!
//! # Cargo features
//! - `dns-tcp` (default): truncated DNS replies are asked again over a chip TCP socket, and
//!   the shared buffer holds a whole TCP reply ([`BUF_LEN`] 1538 bytes; 548 without). Without
//!   it a truncated reply is used for the addresses it holds (see [`dns`]).
//! - `dhcp-probe` (default): the address probe above. Without it an ACKed address is used at
//!   once ([`IfaceConfig::probe`] has no effect).
//!
//! # Not done
//! DHCPINFORM, IPv4 link-local (RFC 3927) when DHCP fails, a timed fallback from DHCP to the
//! static configuration, re-opening application sockets after [`Iface::up`] (they keep the
//! error [`Iface::down`] gave them and must be closed).
#![cfg_attr(not(test), no_std)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod lookup;

use core::net::{Ipv4Addr, SocketAddrV4};

use heapless::{Deque, Vec};
use w5500_driver::bsd::{Bsd, Os};
use w5500_driver::chip::PhyStatus;
use w5500_driver::regs::PhyMode;
use w5500_driver::stack::{RecvFlags, SockOpt, SockType, SocketId, Stack};
use w5500_driver::Error;

pub use w5500_netsvc::dhcp;
pub use w5500_netsvc::dhcp::{Hostname, Lease};
pub use w5500_netsvc::dns;
pub use w5500_netsvc::dns::{AddrInfo, AddrInfoList, GaiError, Hints, MAX_SERVERS};

/// Events kept for the OS layer; on overflow the oldest is dropped (and logged).
pub const EVENT_QUEUE: usize = 8;
/// How long DHCP waits before it tries again to get a hardware socket.
pub const SOCKET_RETRY_MS: u64 = 1_000;
/// `RTR` during the address probe (units of 100 µs: 200 ms).
pub const PROBE_RTR: u16 = 2_000;
/// `RCR` during the address probe: the chip sends RCR + 1 = 3 ARP requests.
pub const PROBE_RCR: u8 = 2;
/// Longest the probe waits for SEND_OK or TIMEOUT before it counts as "free".
pub const PROBE_GUARD_MS: u64 = 2_000;
/// UDP port the probe datagram goes to (discard).
pub const PROBE_PORT: u16 = 9;
/// Longest [`Iface::down`] waits for TCP connections to finish their FIN exchange.
pub const DOWN_LINGER_MS: u64 = 1_000;
/// Longest [`Iface::down`] waits for the RELEASE to leave the chip.
pub const RELEASE_WAIT_MS: u64 = 500;
/// DHCP client port.
pub const DHCP_CLIENT_PORT: u16 = 68;
/// DNS cache entries of an [`Iface`] unless its second parameter says otherwise (about 100
/// bytes each; see [`dns::cache`]).
pub const DNS_CACHE: usize = 4;
/// Scratch buffer size, shared by every service. With DNS over TCP ([`dns::TCP`]): a whole
/// DNS-over-TCP reply with its length prefix (read from the chip's socket buffer at once),
/// which also holds any Ethernet-sized UDP payload. Without: the largest datagram a service
/// asks for, a DHCP message of option 57's 576 bytes less the IP and UDP headers (RFC 2131
/// §2; DNS over UDP needs at most 512, RFC 1035 §4.2.1).
pub const BUF_LEN: usize = if dns::TCP {
    if dns::TCP_BUF > 1_500 {
        dns::TCP_BUF
    } else {
        1_500
    }
} else if DHCP_MAX_DATAGRAM > dns::UDP_REPLY_MAX {
    DHCP_MAX_DATAGRAM
} else {
    dns::UDP_REPLY_MAX
};
/// The largest DHCP message the client asks servers for (option 57 less 28 bytes of IP and
/// UDP headers).
const DHCP_MAX_DATAGRAM: usize = dhcp::DEFAULT_MAX_MESSAGE_SIZE as usize - 28;
// The client builds its messages in the same buffer.
const _: () = assert!(BUF_LEN >= dhcp::MAX_REQUEST_LEN);

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

fn list(servers: &[Ipv4Addr]) -> DnsList {
    let mut v = DnsList::new();
    for s in servers.iter().take(MAX_SERVERS) {
        let _ = v.push(*s);
    }
    v
}

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

#[derive(Clone, Copy, Debug)]
struct Probe {
    sock: SocketId,
    saved_retry: (u16, u8),
    deadline: u64,
}

/// The network interface. See the crate docs. `C` is the number of DNS cache entries.
pub struct Iface<O: Os, const C: usize = DNS_CACHE> {
    bsd: Bsd<O>,
    cfg: IfaceConfig,
    dhcp: dhcp::Client,
    /// DHCP enabled (it runs when also admin up, no static configuration, link seen up).
    dhcp_on: bool,
    /// The client was started since it was last (re)created.
    dhcp_started: bool,
    admin_up: bool,
    phy_off: bool,
    static_ip: Option<Ipv4Config>,
    /// What is programmed in the chip: configuration and whether it came from DHCP.
    addr: Option<(Lease, bool)>,
    link: Option<PhyStatus>,
    /// No TCP buffer of its own: DNS-over-TCP replies wait in the chip until whole, then
    /// pass through `buf`.
    resolver: dns::Resolver<C, 0>,
    dhcp_dns: DnsList,
    manual_dns: DnsList,
    reported_dns: DnsList,
    events: Deque<IfaceEvent, EVENT_QUEUE>,
    dhcp_sock: Option<SocketId>,
    socket_wait_until: Option<u64>,
    probe: Option<Probe>,
    pending_probe: Option<Ipv4Addr>,
    /// [`Stack::chip_resets`] as last seen.
    chip_resets_seen: u32,
    /// The last service pass failed (chip silent, bus error): logged once per outage, and
    /// the worker comes back a poll period later instead of at once.
    service_failing: bool,
    buf: [u8; BUF_LEN],
}

fn dhcp_config(cfg: &IfaceConfig, requested: Option<Ipv4Addr>) -> dhcp::Config {
    let mut c = dhcp::Config::new(cfg.mac, cfg.seed);
    c.hostname = cfg.hostname.clone();
    c.requested_ip = requested;
    c.probe = cfg.probe;
    c
}

impl<O: Os> Iface<O> {
    /// An interface over `bsd` (whose stack runs on a chip already brought up), with a
    /// [`DNS_CACHE`]-entry DNS cache. Nothing happens until [`Iface::up`].
    pub fn new(bsd: Bsd<O>, cfg: IfaceConfig) -> Self {
        Iface::with_dns_cache(bsd, cfg)
    }
}

impl<O: Os, const C: usize> Iface<O, C> {
    /// [`Iface::new`] with a DNS cache of `C` entries (0: none), e.g.
    /// `Iface::<_, 8>::with_dns_cache(bsd, cfg)`.
    #[inline(always)]
    pub fn with_dns_cache(bsd: Bsd<O>, cfg: IfaceConfig) -> Self {
        let mut dcfg = dns::Config::new(cfg.seed.rotate_left(29) ^ 0x5eed_d115);
        dcfg.timeout_ms = cfg.dns_timeout_ms;
        dcfg.tcp_timeout_ms = cfg.dns_tcp_timeout_ms;
        dcfg.attempts = cfg.dns_attempts;
        Iface {
            dhcp: dhcp::Client::new(dhcp_config(&cfg, cfg.requested_ip)),
            dhcp_on: cfg.dhcp,
            dhcp_started: false,
            admin_up: false,
            phy_off: false,
            static_ip: if cfg.dhcp { None } else { cfg.static_ipv4 },
            addr: None,
            link: None,
            resolver: dns::Resolver::new(dcfg),
            dhcp_dns: Vec::new(),
            manual_dns: cfg.dns_servers.clone(),
            reported_dns: Vec::new(),
            events: Deque::new(),
            dhcp_sock: None,
            socket_wait_until: None,
            probe: None,
            pending_probe: None,
            chip_resets_seen: bsd.os().with_stack(|s| s.chip_resets()),
            service_failing: false,
            buf: [0; BUF_LEN],
            bsd,
            cfg,
        }
    }

    /// [`Iface::with_dns_cache`] built straight into `slot` (e.g. a static's storage), so
    /// that the kilobytes of the interface never sit on the caller's stack: an OS layer
    /// creating it during device init runs on a small main-thread stack.
    #[inline(never)]
    pub fn init_in(
        slot: &mut core::mem::MaybeUninit<Self>,
        bsd: Bsd<O>,
        cfg: IfaceConfig,
    ) -> &mut Self {
        slot.write(Self::with_dns_cache(bsd, cfg))
    }

    /// The blocking socket API the interface runs on.
    pub fn bsd(&self) -> &Bsd<O> {
        &self.bsd
    }

    fn os(&self) -> &O {
        self.bsd.os()
    }

    fn now(&self) -> u64 {
        self.os().now_ms()
    }

    fn with_stack<R>(&self, f: impl FnOnce(&mut Stack<O::Spi>) -> R) -> R {
        self.bsd.os().with_stack(f)
    }

    /// The next event for the OS layer.
    pub fn take_event(&mut self) -> Option<IfaceEvent> {
        self.events.pop_front()
    }

    fn emit(&mut self, e: IfaceEvent) {
        if self.events.is_full() {
            w5500_log::warn!("iface: event queue full, dropping the oldest");
            let _ = self.events.pop_front();
        }
        let _ = self.events.push_back(e);
    }

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

    fn dhcp_active(&self) -> bool {
        self.dhcp_on && self.admin_up && self.static_ip.is_none()
    }

    // ---- address bookkeeping ------------------------------------------------------------

    fn program(&self, ip: Ipv4Addr, mask: Ipv4Addr, gw: Option<Ipv4Addr>) {
        let gw = gw.unwrap_or(Ipv4Addr::UNSPECIFIED);
        if let Err(e) = self.with_stack(|s| s.set_ipv4(ip, mask, gw)) {
            w5500_log::error!("iface: programming the address failed:", ip, e);
        }
    }

    fn apply(&mut self, lease: Lease, from_dhcp: bool) {
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

    fn remove_address(&mut self) {
        if let Some((l, _)) = self.addr.take() {
            self.program(
                Ipv4Addr::UNSPECIFIED,
                Ipv4Addr::UNSPECIFIED,
                Some(Ipv4Addr::UNSPECIFIED),
            );
            self.emit(IfaceEvent::AddressRemoved { ip: l.address });
        }
    }

    fn update_dns(&mut self) {
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

    fn apply_static(&mut self) {
        if let Some(c) = self.static_ip {
            if self.admin_up {
                let lease = Lease::manual(c.ip, c.netmask, c.gateway, &[]);
                self.apply(lease, false);
            }
        }
    }

    // ---- runtime control -------------------------------------------------------------------

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
    fn stop_client(&mut self, release: bool) {
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

    fn close_dhcp_socket(&mut self) {
        if let Some(id) = self.dhcp_sock.take() {
            let _ = self.bsd.close(id);
        }
        self.socket_wait_until = None;
    }

    // ---- up / down ---------------------------------------------------------------------------

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

    // ---- the worker step ----------------------------------------------------------------

    /// The worker step: service the chip, follow the link, run DHCP and the probe. Returns
    /// when it next needs to run (ms on the [`Os`] clock); call it earlier when INTn fires.
    ///
    /// After a failed service pass (a chip that stopped answering, an SPI bus error) the
    /// answer is a poll period on at the earliest: the deadlines the pass could not serve are
    /// in the past, and "now" would make the caller spin for as long as the chip is gone.
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

    fn open_dhcp_socket(&mut self) -> Result<SocketId, Error> {
        let any = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, DHCP_CLIENT_PORT);
        let id = self.with_stack(|s| s.socket_service(SockType::Datagram))?;
        let r = self.with_stack(|s| {
            s.set_option(id, SockOpt::Broadcast(true))?;
            s.bind(id, any)
        });
        match r {
            Ok(()) => Ok(id),
            Err(e) => {
                let _ = self.bsd.close(id);
                Err(e)
            }
        }
    }

    fn run_dhcp(&mut self, now: u64) {
        if !(self.dhcp_active() && self.dhcp_started) {
            if self.dhcp_sock.is_some() && !self.dhcp.needs_socket() {
                self.close_dhcp_socket();
            }
            return;
        }
        self.dhcp.poll(now);
        self.handle_dhcp_events();
        self.drive_probe(now);
        if self.dhcp.needs_socket() {
            if self.dhcp_sock.is_none() && self.socket_wait_until.is_none_or(|t| now >= t) {
                match self.open_dhcp_socket() {
                    Ok(id) => {
                        self.dhcp_sock = Some(id);
                        self.socket_wait_until = None;
                    }
                    Err(e) => {
                        w5500_log::debug!("iface: no socket for DHCP, waiting:", e);
                        self.socket_wait_until = Some(now.saturating_add(SOCKET_RETRY_MS));
                    }
                }
            }
            if let Some(id) = self.dhcp_sock {
                self.dhcp_io(id, now);
            }
        }
        self.handle_dhcp_events();
        self.drive_probe(now);
        if !self.dhcp.needs_socket() && self.dhcp_sock.is_some() {
            self.close_dhcp_socket();
        }
    }

    fn dhcp_io(&mut self, id: SocketId, now: u64) {
        for _ in 0..16 {
            let os = self.bsd.os();
            let buf = &mut self.buf;
            match os.with_stack(|s| s.recv_datagram(id, buf, RecvFlags::default())) {
                Ok((n, _, from)) => {
                    let data = self.buf.get(..n).unwrap_or(&[]);
                    self.dhcp.handle(now, from, data);
                }
                Err(Error::WouldBlock) => break,
                Err(e) => {
                    w5500_log::debug!("iface: DHCP socket:", e);
                    break;
                }
            }
        }
        for _ in 0..4 {
            let Some(t) = self.dhcp.poll_transmit(now, &mut self.buf) else {
                break;
            };
            let data = self.buf.get(..t.len).unwrap_or(&[]);
            let r = self.bsd.os().with_stack(|s| s.send(id, data, Some(t.dst)));
            match r {
                Ok(_) => w5500_log::debug!(
                    "iface: DHCP message sent; type, to",
                    t.message_type as u8,
                    *t.dst.ip()
                ),
                // Lost like a datagram on the wire: the client retransmits.
                Err(e) => w5500_log::debug!(
                    "iface: DHCP message not sent; type",
                    t.message_type as u8,
                    e
                ),
            }
        }
    }

    fn handle_dhcp_events(&mut self) {
        for _ in 0..dhcp::EVENT_QUEUE * 2 {
            let Some(ev) = self.dhcp.poll_event() else {
                break;
            };
            match ev {
                dhcp::Event::Bound => self.on_lease(IfaceEvent::DhcpBound),
                dhcp::Event::Renewed => self.on_lease(IfaceEvent::DhcpRenewed),
                dhcp::Event::Rebound => self.on_lease(IfaceEvent::DhcpRebound),
                dhcp::Event::Lost => {
                    self.remove_address();
                    self.emit(IfaceEvent::DhcpLost);
                    self.dhcp_dns.clear();
                    self.update_dns();
                }
                dhcp::Event::Probe(ip) => self.pending_probe = Some(ip),
                dhcp::Event::Declined(ip) => self.emit(IfaceEvent::DhcpDeclined(ip)),
                dhcp::Event::Released => self.remove_address(),
            }
        }
    }

    /// A lease from the client: program it (AddressAdded when the address is new, e.g. an
    /// INIT-REBOOT after `down()` reports the lease as Bound), then the DHCP event, then DNS.
    fn on_lease(&mut self, kind: IfaceEvent) {
        // The client's lease as the event is taken (events are drained right after each
        // client call, so it is the one the event announced).
        let Some(l) = self.dhcp.lease().cloned() else {
            return;
        };
        self.dhcp_dns = list(&l.dns_servers);
        self.apply(l, true);
        self.emit(kind);
        self.update_dns();
    }

    // ---- the address probe ------------------------------------------------------------------

    fn drive_probe(&mut self, now: u64) {
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

    fn cancel_probe(&mut self) {
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

    fn next_wake(&self, now: u64) -> Option<u64> {
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
