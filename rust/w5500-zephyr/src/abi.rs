//! Plain `#[repr(C)]` types of the C ABI (`zephyr/include/w5500_offload/w5500_rs.h` is
//! generated from this file and `exports.rs` by cbindgen).
//!
//! Nothing here is a Zephyr type: the C layer converts `net_sockaddr`, `zsock_timeval`,
//! `zsock_addrinfo`, `MSG_*`/`SO_*` numbers and errno values at its edge, so this ABI is the
//! same for every Zephyr version and every libc.

use core::ffi::{c_char, c_void};

/// Most chips the glue serves (the socket-offload handler has no device argument, so one
/// W5500 per image; the C layer checks the devicetree instance count against this).
pub const W5500_RS_MAX_INSTANCES: u32 = 1;

/// Poll bit: readable (data, EOF, or a connection to accept).
pub const W5500_RS_POLLIN: u32 = 0x01;
/// Poll bit: writable (room to send, or a connect finished).
pub const W5500_RS_POLLOUT: u32 = 0x04;
/// Poll bit: an error is pending (`SO_ERROR`).
pub const W5500_RS_POLLERR: u32 = 0x08;
/// Poll bit: the connection is gone both ways.
pub const W5500_RS_POLLHUP: u32 = 0x10;

/// `send`/`recv` flag: `MSG_PEEK`.
pub const W5500_RS_MSG_PEEK: u32 = 0x01;
/// `send`/`recv` flag: `MSG_DONTWAIT`.
pub const W5500_RS_MSG_DONTWAIT: u32 = 0x02;
/// `send`/`recv` flag: `MSG_WAITALL`.
pub const W5500_RS_MSG_WAITALL: u32 = 0x04;
/// `recv` flag: `MSG_TRUNC` (UDP: the datagram's full length is returned).
pub const W5500_RS_MSG_TRUNC: u32 = 0x08;

/// `getaddrinfo` hint flag `AI_PASSIVE`. The `W5500_RS_AI_*` values are POSIX's (glibc's and
/// Zephyr's): the C layer passes `ai_flags` through unchanged (it checks the equality at
/// compile time) and the flags are checked once, in Rust.
pub const W5500_RS_AI_PASSIVE: u32 = 0x01;
/// `getaddrinfo` hint flag: `AI_CANONNAME` (accepted; the C layer leaves `ai_canonname`
/// NULL).
pub const W5500_RS_AI_CANONNAME: u32 = 0x02;
/// `getaddrinfo` hint flag: `AI_NUMERICHOST`.
pub const W5500_RS_AI_NUMERICHOST: u32 = 0x04;
/// `getaddrinfo` hint flag: `AI_V4MAPPED` (no effect: IPv4 only).
pub const W5500_RS_AI_V4MAPPED: u32 = 0x08;
/// `getaddrinfo` hint flag: `AI_ALL` (no effect).
pub const W5500_RS_AI_ALL: u32 = 0x10;
/// `getaddrinfo` hint flag: `AI_ADDRCONFIG` (no effect).
pub const W5500_RS_AI_ADDRCONFIG: u32 = 0x20;
/// `getaddrinfo` hint flag: `AI_NUMERICSERV`.
pub const W5500_RS_AI_NUMERICSERV: u32 = 0x400;
const _: () = assert!(
    W5500_RS_AI_PASSIVE == w5500_iface::dns::gai::flags::AI_PASSIVE
        && W5500_RS_AI_CANONNAME == w5500_iface::dns::gai::flags::AI_CANONNAME
        && W5500_RS_AI_NUMERICHOST == w5500_iface::dns::gai::flags::AI_NUMERICHOST
        && W5500_RS_AI_V4MAPPED == w5500_iface::dns::gai::flags::AI_V4MAPPED
        && W5500_RS_AI_ALL == w5500_iface::dns::gai::flags::AI_ALL
        && W5500_RS_AI_ADDRCONFIG == w5500_iface::dns::gai::flags::AI_ADDRCONFIG
        && W5500_RS_AI_NUMERICSERV == w5500_iface::dns::gai::flags::AI_NUMERICSERV
);

/// Most results one `getaddrinfo` call gives (4 addresses x stream and datagram).
pub const W5500_RS_GAI_MAX: usize = 8;
const _: () = assert!(W5500_RS_GAI_MAX == w5500_iface::dns::gai::MAX_RESULTS);

/// Most DNS servers an event carries.
pub const W5500_RS_DNS_MAX: usize = 2;

/// Socket type across the ABI.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum W5500RsSockType {
    /// `SOCK_STREAM` (TCP).
    Stream = 1,
    /// `SOCK_DGRAM` (UDP).
    Datagram = 2,
}

/// An IPv4 socket address: address bytes in network order, port in host order.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct W5500RsSockaddr {
    /// IPv4 address, most significant byte first.
    pub addr: [u8; 4],
    /// Port, host byte order.
    pub port: u16,
}

/// A static IPv4 configuration (all zero: none).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct W5500RsIpv4 {
    /// Address.
    pub addr: [u8; 4],
    /// Netmask.
    pub netmask: [u8; 4],
    /// Default gateway.
    pub gateway: [u8; 4],
}

/// Everything the C layer knows from devicetree and Kconfig, passed once to
/// [`crate::exports::w5500_rs_init`] (Kconfig values are arguments, never Rust `cfg`s, so the
/// Rust build does not depend on `.config`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct W5500RsConfig {
    /// Opaque pointer handed back to every `w5500_shim_*` call (the C device data).
    pub ctx: *mut c_void,
    /// MAC address (`local-mac-address`, or random).
    pub mac: [u8; 6],
    /// INTn is wired (`int-gpios`); otherwise the chip is polled.
    pub has_int_pin: bool,
    /// RSTn is wired (`reset-gpios`): pulse it before probing.
    pub has_reset_pin: bool,
    /// Poll period when INTn is absent, and the safety poll otherwise (ms).
    pub poll_interval_ms: u32,
    /// Hardware sockets kept for the driver's DHCP and DNS clients (0..=2; more are
    /// clamped to 2).
    pub reserved_sockets: u8,
    /// Run the DHCP client (`CONFIG_W5500_OFFLOAD_DHCP`).
    pub dhcp: bool,
    /// Static IPv4 configuration (all zero: none): used at once without DHCP, else as the
    /// fallback when DHCP has no lease `dhcp_fallback_s` seconds after start.
    pub static_ipv4: W5500RsIpv4,
    /// Seconds without a lease before the static configuration takes over (0: never).
    pub dhcp_fallback_s: u32,
    /// Fallback DNS servers, asked after the ones DHCP gives (all zero: none).
    pub dns_servers: [[u8; 4]; W5500_RS_DNS_MAX],
    /// DHCP host name template (NUL-terminated, may be NULL): `{}` becomes the last three
    /// MAC bytes in upper-case hex; sent as option 12.
    pub hostname: *const c_char,
    /// Random seed for DHCP `xid`s and DNS ids and source ports.
    pub seed: u64,
    /// `Sn_TXBUF_SIZE` per socket in KB (0, 1, 2, 4, 8, 16; at most 16 in total).
    pub tx_buf_kb: [u8; 8],
    /// `Sn_RXBUF_SIZE` per socket in KB (same rule).
    pub rx_buf_kb: [u8; 8],
    /// Highest log level forwarded to Zephyr logging (0 off, 1 error .. 4 debug).
    pub log_level: u8,
}

/// What changed on the interface (see [`crate::exports::w5500_rs_poll_events`]).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum W5500RsEventKind {
    /// No event.
    None = 0,
    /// The PHY reports a link: carrier on.
    LinkUp = 1,
    /// The PHY lost the link: carrier off (an address and its lease are kept).
    LinkDown = 2,
    /// An IPv4 address is configured on the chip (static or leased):
    /// `net_if_ipv4_addr_add` with netmask and gateway in `ipv4`.
    AddressAdded = 3,
    /// The address in `ipv4.addr` is gone (lease lost, released, replaced, interface down):
    /// `net_if_ipv4_addr_rm`.
    AddressRemoved = 4,
    /// A DHCP lease was bound (after `AddressAdded`): `NET_EVENT_IPV4_DHCP_BOUND`.
    DhcpBound = 5,
    /// The lease was renewed by its server (or confirmed by INIT-REBOOT after a link loss).
    DhcpRenewed = 6,
    /// The lease was extended by some server while rebinding.
    DhcpRebound = 7,
    /// The lease expired or was refused (after its `AddressRemoved`).
    DhcpLost = 8,
    /// The offered address (in `ipv4.addr`) answered the probe: DHCPDECLINE sent.
    DhcpDeclined = 9,
    /// The DNS servers in use changed: `dns[..n_dns]` (the first ones, in order).
    DnsServers = 10,
    /// The chip lost its registers (brown-out) and was programmed again; TCP connections
    /// failed with `ECONNRESET`, a lease is being confirmed.
    ChipReset = 11,
}

/// One interface event.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct W5500RsEvent {
    /// What happened.
    pub kind: W5500RsEventKind,
    /// For address events: the configuration.
    pub ipv4: W5500RsIpv4,
    /// For address events: true when leased by DHCP (else static).
    pub dhcp: bool,
    /// For DHCP lease events: lease time in seconds.
    pub lease_s: u32,
    /// For `DnsServers`: the servers.
    pub dns: [[u8; 4]; W5500_RS_DNS_MAX],
    /// For `DnsServers`: how many of `dns` are valid.
    pub n_dns: u8,
    /// For `LinkUp`: 100 Mbit/s (else 10).
    pub speed_100: bool,
    /// For `LinkUp`: full duplex.
    pub full_duplex: bool,
}

impl W5500RsEvent {
    /// An event of `kind` with no payload.
    pub const fn bare(kind: W5500RsEventKind) -> Self {
        W5500RsEvent {
            kind,
            ipv4: W5500RsIpv4 {
                addr: [0; 4],
                netmask: [0; 4],
                gateway: [0; 4],
            },
            dhcp: false,
            lease_s: 0,
            dns: [[0; 4]; W5500_RS_DNS_MAX],
            n_dns: 0,
            speed_100: false,
            full_duplex: false,
        }
    }
}

/// Socket options the chip honours, as the C layer decoded them.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum W5500RsOpt {
    /// `SO_REUSEADDR` (value 0/1).
    ReuseAddr = 1,
    /// `SO_KEEPALIVE` (value 0/1).
    KeepAlive = 2,
    /// `SO_BROADCAST` (value 0/1).
    Broadcast = 3,
    /// `TCP_NODELAY` (value 0/1).
    NoDelay = 4,
    /// `IP_ADD_MEMBERSHIP` (the group in `addr`).
    AddMembership = 5,
    /// `IP_DROP_MEMBERSHIP` (the group in `addr`).
    DropMembership = 6,
    /// `O_NONBLOCK`/`FIONBIO` (value 0/1).
    NonBlocking = 7,
    /// `SO_RCVTIMEO` in ms (0: forever).
    RcvTimeoutMs = 8,
    /// `SO_SNDTIMEO` in ms (0: forever).
    SndTimeoutMs = 9,
}

/// A socket's blocking settings (for `F_GETFL` and the timeout getters).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct W5500RsBlocking {
    /// `O_NONBLOCK` is set.
    pub nonblocking: bool,
    /// `SO_RCVTIMEO` in ms (0: forever).
    pub rcv_timeout_ms: u32,
    /// `SO_SNDTIMEO` in ms (0: forever).
    pub snd_timeout_ms: u32,
}

/// `getaddrinfo` error names; the C layer maps each to its `DNS_EAI_*` number.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum W5500RsEai {
    /// `EAI_NONAME`: the node or service is not known (or not numeric when it must be).
    NoName = 1,
    /// `EAI_AGAIN`: temporary failure (no DNS server reachable yet).
    Again = 2,
    /// `EAI_FAIL`: the name cannot be resolved.
    Fail = 3,
    /// `EAI_SERVICE`: the service is not a port number.
    Service = 4,
    /// `EAI_SOCKTYPE`: the socket type hint is not stream or datagram.
    Socktype = 5,
    /// `EAI_BADFLAGS`: invalid flags.
    BadFlags = 6,
    /// `EAI_MEMORY`: the result array is too small.
    Memory = 7,
    /// `EAI_FAMILY`: the family is not IPv4.
    Family = 8,
    /// `EAI_SYSTEM`: socket errors while querying.
    System = 9,
}

/// The address family of `getaddrinfo` hints (C maps its `AF_*` numbers, which differ
/// between libcs, onto these).
#[repr(u8)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum W5500RsFamily {
    /// `AF_UNSPEC`.
    #[default]
    Unspec = 0,
    /// `AF_INET`.
    Inet = 1,
    /// `AF_INET6` (refused: `EAI_FAMILY`).
    Inet6 = 2,
    /// Any other family (refused: `EAI_FAMILY`).
    Other = 3,
}

/// `getaddrinfo` hints as the application gave them: the C layer only maps the family and
/// passes the rest through; every check is made once, in Rust, by the resolver's
/// getaddrinfo front end (`w5500_netsvc::dns::gai`, POSIX and glibc's rules). All zero is
/// like NULL hints.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct W5500RsAiHints {
    /// A [`W5500RsFamily`] value.
    pub family: u8,
    /// `ai_socktype` as given: 0 (any), 1 (stream) and 2 (datagram) are served.
    pub socktype: i32,
    /// `ai_protocol` as given: 0 (any), 6 (TCP) and 17 (UDP) are served.
    pub protocol: i32,
    /// `ai_flags` as given (`W5500_RS_AI_*`, POSIX's values); unknown bits are
    /// `EAI_BADFLAGS`.
    pub flags: u32,
}

/// One `getaddrinfo` result; C turns it into a `zsock_addrinfo` node.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct W5500RsAddrinfo {
    /// The address and port.
    pub addr: W5500RsSockaddr,
    /// A [`W5500RsSockType`] value.
    pub socktype: u8,
}

/// Chip and interface state, for `w5500 status`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct W5500RsStatus {
    /// `PHYCFGR.LNK`.
    pub link_up: bool,
    /// `PHYCFGR.SPD`: 100 Mbit/s.
    pub speed_100: bool,
    /// `PHYCFGR.DPX`: full duplex.
    pub full_duplex: bool,
    /// IPv4 configuration programmed in the chip.
    pub ipv4: W5500RsIpv4,
    /// Hardware sockets neither in use nor reserved.
    pub free_hw_sockets: u8,
    /// Sockets reserved for DHCP/DNS.
    pub reserved_sockets: u8,
    /// A DHCP lease is held (else static or no address).
    pub dhcp_bound: bool,
    /// Lease time in seconds (0 without a lease).
    pub lease_s: u32,
    /// DHCP renewals and rebinds since boot.
    pub dhcp_renewals: u32,
    /// DNS servers in use (`n_dns` valid).
    pub dns: [[u8; 4]; W5500_RS_DNS_MAX],
    /// How many of `dns` are valid.
    pub n_dns: u8,
}

/// One socket, for `w5500 sockets`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct W5500RsSocketInfo {
    /// A [`W5500RsSockType`] value.
    pub socktype: u8,
    /// Local address (port 0 while unbound).
    pub local: W5500RsSockaddr,
    /// Peer address; valid when `has_peer`.
    pub peer: W5500RsSockaddr,
    /// The socket has a peer.
    pub has_peer: bool,
    /// `W5500_RS_POLL*` bits now.
    pub readiness: u32,
}

/// One piece of an SPI frame handed to `w5500_shim_spi_transceive`: `len` bytes clocked,
/// sent from `tx` (NULL: zeros) and stored to `rx` (NULL: discarded). All pieces of one call
/// form one chip-select frame.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct W5500RsSpiBuf {
    /// Bytes to send, or NULL.
    pub tx: *const u8,
    /// Where to store received bytes, or NULL.
    pub rx: *mut u8,
    /// Length in bytes.
    pub len: usize,
}

impl W5500RsSpiBuf {
    /// An empty piece.
    pub const EMPTY: W5500RsSpiBuf = W5500RsSpiBuf {
        tx: core::ptr::null(),
        rx: core::ptr::null_mut(),
        len: 0,
    };
}
