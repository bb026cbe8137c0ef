//! A getaddrinfo-shaped front end (POSIX.1-2017 `getaddrinfo`, following glibc where POSIX
//! leaves room), IPv4 only, sans-IO: [`GaiRequest::new`] checks the hints and the service
//! and tells whether a DNS lookup is needed; [`GaiRequest::finish`] turns the lookup's result
//! into the address list. [`super::Resolver::getaddrinfo`] combines both with the resolver.
//!
//! Decisions (all documented here so the OS layer can mirror them):
//! - **Family**: `Unspec` and `Inet` are served; `Inet6` and anything else → `EAI_FAMILY`
//!   (the W5500 has no IPv6).
//! - **Socket type / protocol** (glibc's rule): socktype 0 with protocol 0 gives two entries
//!   per address, `STREAM/TCP` then `DGRAM/UDP` (glibc also adds `RAW`; the chip's raw
//!   sockets are not offered); `TCP` or `UDP` with socktype 0 gives only the matching one; a
//!   protocol that does not fit a given socktype, or a socktype other than STREAM/DGRAM →
//!   `EAI_SOCKTYPE`; an unknown protocol with socktype 0 → `EAI_SERVICE`.
//! - **Service**: `None` → port 0; decimal digits only (at most 5, value ≤ 65535, no sign or
//!   spaces; larger → `EAI_SERVICE`); a name only from the tiny table [`SERVICES`] (no
//!   `/etc/services` here), unknown → `EAI_SERVICE`, or `EAI_NONAME` with `AI_NUMERICSERV`
//!   (POSIX). A named service that does not exist for the requested socktype (e.g. `ntp`
//!   over STREAM) → `EAI_SERVICE`.
//! - **Node**: `None` with `AI_PASSIVE` → 0.0.0.0 (bind to any), `None` without it →
//!   127.0.0.1 as POSIX requires, although the chip has no loopback (connecting there fails
//!   at the socket layer, ECONNREFUSED); `None` and no service → `EAI_NONAME`; `""` →
//!   `EAI_NONAME`; a strict dotted quad → no query; `AI_NUMERICHOST` with anything else →
//!   `EAI_NONAME`; otherwise the resolver (see [`super::DnsError::eai`] for the error map).
//! - **Flags**: `AI_PASSIVE`, `AI_CANONNAME`, `AI_NUMERICHOST`, `AI_NUMERICSERV`;
//!   `AI_ADDRCONFIG`, `AI_V4MAPPED` and `AI_ALL` are accepted and have no effect (IPv4 only);
//!   other bits → `EAI_BADFLAGS`; `AI_CANONNAME` without a node → `EAI_BADFLAGS`.
//!   With `AI_CANONNAME` the list carries the canonical name (end of the CNAME chain; the
//!   text itself for a numeric node).
//! - **Sizes**: at most [`super::wire::MAX_ADDRS`] addresses × 2 socket types = [`MAX_RESULTS`]
//!   entries, so a list always fits; `EAI_MEMORY` is kept for the OS layer (e.g. when it
//!   cannot allocate its C `struct addrinfo` chain).

use core::net::{Ipv4Addr, SocketAddrV4};

use heapless::Vec;

use super::name::{self, Name};
use super::wire::MAX_ADDRS;
use super::{Answer, DnsError, Lookup, Resolver};

/// getaddrinfo flag values (the same numbers in glibc and Zephyr).
pub mod flags {
    /// Socket address for `bind` (node `None` gives 0.0.0.0).
    pub const AI_PASSIVE: u32 = 0x1;
    /// Return the canonical name.
    pub const AI_CANONNAME: u32 = 0x2;
    /// The node must be numeric: no lookup.
    pub const AI_NUMERICHOST: u32 = 0x4;
    /// IPv4-mapped IPv6 (accepted, no effect: IPv4 only).
    pub const AI_V4MAPPED: u32 = 0x8;
    /// With AI_V4MAPPED (accepted, no effect).
    pub const AI_ALL: u32 = 0x10;
    /// Only families configured on the host (accepted, no effect: IPv4 only).
    pub const AI_ADDRCONFIG: u32 = 0x20;
    /// The service must be numeric.
    pub const AI_NUMERICSERV: u32 = 0x400;
    /// All flags understood.
    pub const ALL: u32 = AI_PASSIVE
        | AI_CANONNAME
        | AI_NUMERICHOST
        | AI_V4MAPPED
        | AI_ALL
        | AI_ADDRCONFIG
        | AI_NUMERICSERV;
}

/// Most entries in one result list.
pub const MAX_RESULTS: usize = MAX_ADDRS * 2;

/// Address family of the hints (the OS layer maps its `AF_*` numbers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Family {
    /// `AF_UNSPEC`.
    #[default]
    Unspec,
    /// `AF_INET`.
    Inet,
    /// `AF_INET6` (not supported: `EAI_FAMILY`).
    Inet6,
    /// Any other family number.
    Other(i32),
}

/// Socket type (hints and results).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SockType {
    /// 0: any.
    #[default]
    Any,
    /// `SOCK_STREAM`.
    Stream,
    /// `SOCK_DGRAM`.
    Dgram,
    /// Any other type (e.g. `SOCK_RAW`).
    Other(i32),
}

/// Protocol (hints and results).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Protocol {
    /// 0: any.
    #[default]
    Any,
    /// `IPPROTO_TCP`.
    Tcp,
    /// `IPPROTO_UDP`.
    Udp,
    /// Any other protocol number.
    Other(i32),
}

/// The `hints` argument (all zero = `Default` = like a NULL hints pointer, minus glibc's
/// default `AI_V4MAPPED | AI_ADDRCONFIG`, which have no effect here).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hints {
    /// `AI_*` bits ([`flags`]).
    pub flags: u32,
    /// Address family.
    pub family: Family,
    /// Socket type.
    pub socktype: SockType,
    /// Protocol.
    pub protocol: Protocol,
}

/// getaddrinfo errors, named after POSIX's `EAI_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GaiError {
    /// `EAI_BADFLAGS`: unknown flags, or AI_CANONNAME without a node.
    BadFlags,
    /// `EAI_NONAME`: the name does not exist or is invalid, both node and service are
    /// missing, or a numeric-only flag was not honoured.
    NoName,
    /// `EAI_AGAIN`: temporary failure (timeouts, SERVFAIL, no server yet, resolver busy).
    Again,
    /// `EAI_FAIL`: non-recoverable failure (servers refused, malformed replies, CNAME loop).
    Fail,
    /// `EAI_FAMILY`: family not supported (anything but AF_UNSPEC / AF_INET).
    Family,
    /// `EAI_SOCKTYPE`: socket type not supported or not matching the protocol.
    SockType,
    /// `EAI_SERVICE`: service unknown or not available for the socket type.
    Service,
    /// `EAI_MEMORY`: out of memory (for the OS layer; see the module docs).
    Memory,
    /// `EAI_SYSTEM`: socket errors while querying.
    System,
}

impl GaiError {
    /// The numeric code (glibc and Zephyr use the same negative values).
    pub fn code(self) -> i32 {
        match self {
            GaiError::BadFlags => -1,
            GaiError::NoName => -2,
            GaiError::Again => -3,
            GaiError::Fail => -4,
            GaiError::Family => -6,
            GaiError::SockType => -7,
            GaiError::Service => -8,
            GaiError::Memory => -10,
            GaiError::System => -11,
        }
    }
}

/// One result: what to pass to `socket()` and `connect()`/`bind()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddrInfo {
    /// Address and port.
    pub addr: SocketAddrV4,
    /// `Stream` or `Dgram`.
    pub socktype: SockType,
    /// `Tcp` or `Udp`.
    pub protocol: Protocol,
}

/// The result list (family is always AF_INET).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddrInfoList {
    /// Entries: per address, STREAM then DGRAM.
    pub entries: Vec<AddrInfo, MAX_RESULTS>,
    /// The canonical name, with `AI_CANONNAME` (glibc puts it in the first entry).
    pub canonical: Option<Name>,
}

impl AddrInfoList {
    /// No entries, no canonical name (for [`GaiRequest::finish_into`]).
    pub const fn empty() -> Self {
        AddrInfoList {
            entries: Vec::new(),
            canonical: None,
        }
    }
}

/// Service names known without `/etc/services`: name, port, offered over TCP, over UDP.
pub const SERVICES: &[(&str, u16, bool, bool)] = &[
    ("echo", 7, true, true),
    ("domain", 53, true, true),
    ("http", 80, true, false),
    ("ntp", 123, false, true),
    ("https", 443, true, false),
    ("mqtt", 1883, true, false),
];

// No heap (no_std, no alloc): variants stay inline on purpose.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
enum Host {
    /// No node: the wildcard or loopback address (no canonical name).
    Fixed(Ipv4Addr),
    /// A numeric node (a strict dotted quad, so its text is the address's own: the canonical
    /// name is made again from the address, not kept).
    Numeric(Ipv4Addr),
    Lookup(Name),
}

/// A checked getaddrinfo request: what the host part needs, and how to build the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GaiRequest {
    host: Host,
    port: u16,
    tcp: bool,
    udp: bool,
    canon: bool,
}

/// What [`Resolver::getaddrinfo`] did.
// No heap (no_std, no alloc): variants stay inline on purpose.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GaiLookup {
    /// The list, without a query (numeric node, localhost, cache, or no node).
    Ready(AddrInfoList),
    /// A query runs: when [`Resolver::poll_result`] gives a result, pass it to
    /// [`GaiRequest::finish`].
    Pending(GaiRequest),
}

fn parse_port(s: &str) -> Option<Result<u16, GaiError>> {
    let b = s.as_bytes();
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if b.len() > 5 {
        return Some(Err(GaiError::Service));
    }
    let v = b.iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    Some(u16::try_from(v).map_err(|_| GaiError::Service))
}

impl GaiRequest {
    /// Check `node`, `service` and `hints` (in glibc's order: missing both, flags, family,
    /// socktype/protocol, service, node).
    pub fn new(node: Option<&str>, service: Option<&str>, hints: &Hints) -> Result<Self, GaiError> {
        if node.is_none() && service.is_none() {
            return Err(GaiError::NoName);
        }
        let f = hints.flags;
        if f & !flags::ALL != 0 || (f & flags::AI_CANONNAME != 0 && node.is_none()) {
            return Err(GaiError::BadFlags);
        }
        match hints.family {
            Family::Unspec | Family::Inet => {}
            Family::Inet6 | Family::Other(_) => return Err(GaiError::Family),
        }
        let (mut tcp, mut udp) =
            match (hints.socktype, hints.protocol) {
                (SockType::Any, Protocol::Any) => (true, true),
                (SockType::Any, Protocol::Tcp)
                | (SockType::Stream, Protocol::Any | Protocol::Tcp) => (true, false),
                (SockType::Any, Protocol::Udp)
                | (SockType::Dgram, Protocol::Any | Protocol::Udp) => (false, true),
                (SockType::Any, Protocol::Other(_)) => return Err(GaiError::Service),
                _ => return Err(GaiError::SockType),
            };
        let port = match service {
            None => 0,
            Some(s) => match parse_port(s) {
                Some(p) => p?,
                None if f & flags::AI_NUMERICSERV != 0 => return Err(GaiError::NoName),
                None => {
                    let &(_, port, t, u) = SERVICES
                        .iter()
                        .find(|(n, ..)| n.eq_ignore_ascii_case(s))
                        .ok_or(GaiError::Service)?;
                    tcp &= t;
                    udp &= u;
                    if !tcp && !udp {
                        return Err(GaiError::Service);
                    }
                    port
                }
            },
        };
        let host = match node {
            None if f & flags::AI_PASSIVE != 0 => Host::Fixed(Ipv4Addr::UNSPECIFIED),
            None => Host::Fixed(Ipv4Addr::LOCALHOST),
            Some(n) => match name::parse_dotted_quad(n) {
                Some(ip) => Host::Numeric(ip),
                None if f & flags::AI_NUMERICHOST != 0 || name::looks_numeric(n) => {
                    return Err(GaiError::NoName)
                }
                None => Host::Lookup(Name::from_text(n).map_err(|_| GaiError::NoName)?),
            },
        };
        Ok(GaiRequest {
            host,
            port,
            tcp,
            udp,
            canon: f & flags::AI_CANONNAME != 0,
        })
    }

    /// The name to resolve, or `None` when the node needs no lookup.
    pub fn lookup_name(&self) -> Option<&Name> {
        match &self.host {
            Host::Lookup(n) => Some(n),
            Host::Fixed(_) | Host::Numeric(_) => None,
        }
    }

    /// The port the entries will carry.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Build the list from the resolver's result (or, for a node needing no lookup, from
    /// nothing: pass `None`).
    pub fn finish(
        &self,
        result: Option<Result<Answer, DnsError>>,
    ) -> Result<AddrInfoList, GaiError> {
        let mut list = AddrInfoList::empty();
        self.finish_into(
            result.as_ref().map(|r| r.as_ref().map_err(|e| *e)),
            &mut list,
        )?;
        Ok(list)
    }

    /// [`GaiRequest::finish`] into the caller's list (emptied first), from a borrowed result:
    /// no list or answer is moved on the stack (an OS layer calls this on a small stack).
    pub fn finish_into(
        &self,
        result: Option<Result<&Answer, DnsError>>,
        list: &mut AddrInfoList,
    ) -> Result<(), GaiError> {
        list.entries.clear();
        list.canonical = None;
        let entries = &mut list.entries;
        let mut push = |ip: Ipv4Addr| -> Result<(), GaiError> {
            let addr = SocketAddrV4::new(ip, self.port);
            if self.tcp {
                entries
                    .push(AddrInfo {
                        addr,
                        socktype: SockType::Stream,
                        protocol: Protocol::Tcp,
                    })
                    .map_err(|_| GaiError::Memory)?;
            }
            if self.udp {
                entries
                    .push(AddrInfo {
                        addr,
                        socktype: SockType::Dgram,
                        protocol: Protocol::Udp,
                    })
                    .map_err(|_| GaiError::Memory)?;
            }
            Ok(())
        };
        match (&self.host, result) {
            (Host::Fixed(ip), _) => push(*ip)?,
            (Host::Numeric(ip), _) => {
                push(*ip)?;
                if self.canon {
                    list.canonical = Some(Name::from_ipv4(*ip));
                }
            }
            (Host::Lookup(_), Some(Ok(a))) => {
                for ip in &a.addrs {
                    push(*ip)?;
                }
                if self.canon {
                    list.canonical = Some(a.canonical.clone());
                }
            }
            (Host::Lookup(_), Some(Err(e))) => return Err(e.eai()),
            (Host::Lookup(_), None) => return Err(GaiError::Again),
        }
        if list.entries.is_empty() {
            list.canonical = None;
            return Err(GaiError::NoName);
        }
        Ok(())
    }
}

impl<const C: usize, const T: usize> Resolver<C, T> {
    /// getaddrinfo: check the arguments, answer at once when possible, else start the lookup
    /// ([`GaiLookup::Pending`]; finish with [`GaiRequest::finish`] on
    /// [`Resolver::poll_result`]'s value).
    ///
    /// # Example
    /// A numeric host needs no lookup; a name does (driven as in the [`Resolver`] example).
    /// ```
    /// use std::net::{Ipv4Addr, SocketAddrV4};
    ///
    /// use w5500_netsvc::dns::gai::flags;
    /// use w5500_netsvc::dns::{Config, GaiError, GaiLookup, Hints, Protocol, Resolver, SockType};
    ///
    /// let mut resolver: Resolver = Resolver::new(Config::new(7));
    /// resolver.set_servers(&[Ipv4Addr::new(10, 77, 0, 1)]);
    /// let tcp = Hints { socktype: SockType::Stream, ..Hints::default() };
    ///
    /// // "10.77.0.10", "http": one TCP entry, no traffic.
    /// match resolver.getaddrinfo(Some("10.77.0.10"), Some("http"), &tcp, 0) {
    ///     Ok(GaiLookup::Ready(list)) => {
    ///         assert_eq!(list.entries.len(), 1);
    ///         let http = SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 10), 80);
    ///         assert_eq!(list.entries[0].addr, http);
    ///         assert_eq!(list.entries[0].protocol, Protocol::Tcp);
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// // AI_NUMERICHOST with a name: EAI_NONAME, also without traffic.
    /// let numeric = Hints { flags: flags::AI_NUMERICHOST, ..Hints::default() };
    /// assert_eq!(
    ///     resolver.getaddrinfo(Some("http.sim.lan"), None, &numeric, 0).err(),
    ///     Some(GaiError::NoName)
    /// );
    /// // A name: the lookup runs; its answer becomes the list.
    /// let GaiLookup::Pending(request) =
    ///     resolver.getaddrinfo(Some("http.sim.lan"), Some("80"), &tcp, 0)?
    /// else {
    ///     panic!("a name needs a lookup");
    /// };
    /// assert!(resolver.poll_transmit(0).is_some()); // the query, for the OS layer to send
    /// resolver.cancel();
    /// // Without an answer (here: cancelled), the request ends in an EAI_* error.
    /// assert!(request.finish(None).is_err());
    /// # Ok::<(), GaiError>(())
    /// ```
    pub fn getaddrinfo(
        &mut self,
        node: Option<&str>,
        service: Option<&str>,
        hints: &Hints,
        now_ms: u64,
    ) -> Result<GaiLookup, GaiError> {
        let mut list = AddrInfoList::empty();
        Ok(
            match self.getaddrinfo_into(node, service, hints, now_ms, &mut list)? {
                None => GaiLookup::Ready(list),
                Some(req) => GaiLookup::Pending(req),
            },
        )
    }

    /// [`Resolver::getaddrinfo`] into the caller's list: `Ok(None)` when `list` holds the
    /// answer, `Ok(Some(request))` when a lookup runs (finish it with
    /// [`GaiRequest::finish_into`]). Moves no list or answer around on the stack, and is
    /// never inlined, so that its frame (a cached answer) is gone while the lookup runs.
    #[inline(never)]
    pub fn getaddrinfo_into(
        &mut self,
        node: Option<&str>,
        service: Option<&str>,
        hints: &Hints,
        now_ms: u64,
        list: &mut AddrInfoList,
    ) -> Result<Option<GaiRequest>, GaiError> {
        let req = GaiRequest::new(node, service, hints)?;
        let Some(name) = req.lookup_name() else {
            req.finish_into(None, list)?;
            return Ok(None);
        };
        match self.start_name(name, now_ms) {
            Ok(Lookup::Ready(a)) => {
                req.finish_into(Some(Ok(&a)), list)?;
                Ok(None)
            }
            Ok(Lookup::Pending) => Ok(Some(req)),
            Err(e) => Err(e.eai()),
        }
    }
}
