//! The W5500 network interface that the OS layer (Zephyr's offloaded `net_if`) drives: link
//! state, IPv4 configuration by DHCP or statically, and DNS (`getaddrinfo`), all carried by
//! the chip's own hardware sockets.
//!
//! [`Iface`] wraps the blocking socket API ([`Bsd`]) of `w5500-driver` together with the
//! sans-IO [`dhcp::Client`] and [`dns::Resolver`] of `w5500-netsvc`, and moves their messages
//! through chip sockets.
//!
//! # Example
//! The interface on a simulated W5500 (`w5500-sim`, with `w5500-testkit` as the OS layer):
//! DHCP on the simulator's standard LAN, a name resolved through the DNS server the lease
//! names, and an application socket to it.
//! ```
//! use w5500_driver::bsd::{Bsd, MsgFlags, Os};
//! use w5500_driver::chip::Config;
//! use w5500_driver::stack::{SockType, StackConfig};
//! use w5500_iface::{Hints, Iface, IfaceConfig, IfaceEvent};
//! use w5500_sim::lan::{standard, Lan};
//! use w5500_sim::sim::Sim;
//! use w5500_testkit::{Rig, RigConfig};
//!
//! // The chip, brought up with no address, on a LAN with a DHCP and a DNS server.
//! let mac = [0x02, 0x08, 0xdc, 0x12, 0x34, 0x56];
//! let chip = RigConfig {
//!     chip: Config::new(mac),
//!     stack: StackConfig::default(),
//!     int_pin: true,
//!     poll_ms: 50,
//! };
//! let rig = Rig::new(Sim::new(Lan::standard()), chip)?;
//! let os = rig.bsd.os();
//!
//! // The interface over the chip's sockets; `up()` is `net_if_up`.
//! let mut iface = Iface::new(Bsd::new(os), IfaceConfig::new(mac, 0x1234_5678));
//! iface.up()?;
//!
//! // The worker: poll, hand the events to the OS, sleep until INTn or the time poll named.
//! let mut bound = false;
//! for _ in 0..1_000 {
//!     let now = os.now_ms();
//!     let next = iface.poll(now);
//!     while let Some(event) = iface.take_event() {
//!         bound |= event == IfaceEvent::DhcpBound;
//!     }
//!     if bound {
//!         break;
//!     }
//!     let seen = os.epoch();
//!     os.wait(None, seen, next.unwrap_or(now + 50).max(now + 1));
//! }
//! assert!(bound);
//! assert_eq!(iface.ipv4().map(|c| c.ip), Some(standard::POOL_START));
//!
//! // getaddrinfo (blocks, keeps the interface running) through the lease's DNS server.
//! let list = iface
//!     .getaddrinfo(Some("http.sim.lan"), Some("80"), &Hints::default())
//!     .map_err(|e| format!("getaddrinfo: EAI {}", e.code()))?;
//! let server = list.entries[0].addr;
//! assert_eq!(*server.ip(), standard::HTTP);
//!
//! // An application socket on its own handle over the same OS: an HTTP GET.
//! let bsd = &rig.bsd;
//! let s = bsd.socket(SockType::Stream)?;
//! bsd.connect(s, server)?;
//! bsd.send(s, b"GET / HTTP/1.0\r\n\r\n", None, MsgFlags::default())?;
//! let mut reply = [0u8; 64];
//! let (n, _) = bsd.recv(s, &mut reply, MsgFlags::default())?;
//! assert!(reply[..n].starts_with(b"HTTP/1.1 200"));
//! bsd.close(s)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
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

mod address;
mod config;
mod control;
mod dhcp_io;
mod event;
mod lookup;
mod probe;
mod status;
mod updown;
mod worker;

use core::net::Ipv4Addr;

use heapless::{Deque, Vec};
use w5500_driver::bsd::{Bsd, Os};
use w5500_driver::chip::PhyStatus;
use w5500_driver::stack::{SocketId, Stack};

use config::dhcp_config;
use probe::Probe;

pub use config::{DnsList, IfaceConfig, Ipv4Config};
pub use event::IfaceEvent;
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
}
