//! RFC 1035 stub resolver for IPv4 (A records), sans-IO, `no_std`, no allocation, with a
//! getaddrinfo-shaped front end ([`gai`]).
//!
//! # How the OS layer drives it
//! ```text
//! match resolver.start("www.example.org", now)? {
//!     Lookup::Ready(answer) => …,              // numeric, localhost or cached
//!     Lookup::Pending => loop {
//!         while let Some(tx) = resolver.poll_transmit(now) {
//!             match tx {
//!                 // bind a FRESH UDP socket on src_port (close the previous one), send payload
//!                 Transmit::Udp { server, src_port, payload } => …,
//!                 // connect a TCP socket (from src_port) to server, send payload (it already
//!                 // carries the two-byte length prefix), feed what arrives to handle_tcp
//!                 Transmit::Tcp { server, src_port, payload } => …,
//!             }
//!         }
//!         // datagrams on the query's socket: resolver.handle_udp(now, from, to_port, bytes)
//!         // TCP bytes: resolver.handle_tcp(now, bytes); socket errors: handle_transport_error
//!         if let Some(result) = resolver.poll_result() { break result }
//!         // sleep until resolver.poll_at() or a socket event
//!     },
//! }
//! ```
//! When a result is out, or a new transmit replaces the previous one, the OS layer closes the
//! sockets of the previous try: only the current try's replies are accepted.
//!
//! # Behaviour
//! - **One lookup at a time** ([`Resolver::start`] answers [`DnsError::Busy`] otherwise): the
//!   OS layer serialises getaddrinfo callers.
//! - **Servers**: those learnt from DHCP ([`Resolver::set_servers`]) first, then the
//!   configured ones ([`Config::servers`]), duplicates and non-unicast addresses removed, at
//!   most [`MAX_SERVERS`]. Each lookup makes up to [`Config::attempts`] rounds over the list in
//!   order (like glibc's resolver: a dead first server costs one timeout per round, not all
//!   tries), waiting [`Config::timeout_ms`] per try. A server that answered REFUSED, FORMERR,
//!   NOTIMP (or another error RCODE) or a malformed reply is skipped for the rest of the
//!   lookup; one that timed out or answered SERVFAIL is tried again next round. The time of
//!   one query name is bounded by `attempts × servers × timeout_ms`, plus
//!   [`Config::tcp_timeout_ms`] for each truncated reply; a CNAME re-query starts a new
//!   query (at most [`wire::MAX_CNAME_HOPS`] in all).
//! - **Every try** uses a fresh random 16-bit ID and a random source port in 49152–65535
//!   (RFC 5452 §9.2), from a seeded xorshift64* ([`rng::Rng`]).
//! - **Replies** are accepted only from `server:53` of the current try, to the current source
//!   port, with our ID, QR=1, opcode 0, and exactly our question (name case-insensitive, type A,
//!   class IN; RFC 5452 §9.1). Anything else is ignored and the try keeps waiting (spoofed or
//!   stray datagrams cannot end a lookup). RCODE: NOERROR → read the answer; NXDOMAIN → no
//!   such name, final (no other server is asked: RFC 1034 §5.3.3 treats a name error as
//!   authoritative); SERVFAIL → next server, transient; FORMERR/NOTIMP/REFUSED/others → next
//!   server, non-recoverable for that server.
//! - **TC=1** (RFC 1035 §4.2.1, RFC 7766 §5), with the cargo feature `dns-tcp` (default):
//!   the same server is asked again over TCP with a
//!   two-byte length prefix (§4.2.2); the reply may arrive in pieces ([`Resolver::handle_tcp`]
//!   gathers them in a `T`-byte buffer) or whole ([`Resolver::handle_tcp_reply`], for an OS
//!   layer that lets the reply gather in the chip) and may be up to [`TCP_REPLY_MAX`] bytes
//!   (longer: treated as a malformed reply from that server). Without `dns-tcp` ([`TCP`]
//!   false) no TCP try is ever made, as in Zephyr's own resolver: the truncated reply is read
//!   like any other, and the addresses it holds are the answer (never cached, since more may
//!   have been cut off: RFC 2181 §9); one without addresses fails the try like a broken reply
//!   (the next server is asked).
//! - **Answers**: names decompressed with loop protection ([`wire::read_name`]), the CNAME
//!   chain followed in the answer section, and when it ends at a name without A records the
//!   target is queried anew; up to [`wire::MAX_ADDRS`] addresses (duplicates removed, the rest
//!   dropped). No A record and no CNAME with NOERROR is NODATA.
//! - **Cache**: `C` entries (default 8), keyed by a keyed 64-bit hash of the name, with the
//!   canonical name kept only when it differs (up to [`cache::CANON_MAX`] bytes); see
//!   [`cache`] for TTL and negative-caching rules.
//! - **Names that need no query**: a strict dotted quad ([`name::parse_dotted_quad`]) is
//!   answered as is; `localhost` and `*.localhost` give 127.0.0.1 (RFC 6761 §6.3; note the
//!   W5500 has no loopback interface, so connecting there fails at the socket layer); other
//!   digits-and-dots strings are rejected ([`name::NameError::BadNumeric`]).
//!
//! - **Footprint**: no heap; `Resolver<8>` is about 2.8 KiB: the TCP reassembly buffer of
//!   [`Resolver::handle_tcp`] is 1.5 KiB (`Resolver<C, 0>` has none: the OS layer hands
//!   whole replies to [`Resolver::handle_tcp_reply`]), each cache entry about 100 bytes (see
//!   [`cache`]); `Resolver<0>` has no cache.
//!
//! Errors map to getaddrinfo codes in [`DnsError::eai`]. Fuzz entry point: [`fuzz_parse`].

pub mod cache;
pub mod gai;
pub mod name;
pub mod rng;
pub mod wire;

use core::net::{Ipv4Addr, SocketAddrV4};

use heapless::Vec;

pub use gai::{
    AddrInfo, AddrInfoList, Family, GaiError, GaiLookup, GaiRequest, Hints, Protocol, SockType,
};
pub use name::{Name, NameError};

use cache::{Cache, Cached};
use rng::Rng;
use wire::{ExtractError, ReplyHeader, MAX_ADDRS, MAX_CNAME_HOPS, MAX_QUERY_LEN};

/// Most DNS servers used (DHCP and configured together).
pub const MAX_SERVERS: usize = 4;
/// The DNS port.
pub const DNS_PORT: u16 = 53;
/// Longest DNS-over-TCP reply accepted (message without the length prefix).
pub const TCP_REPLY_MAX: usize = 1536;
/// The default size of the resolver's own TCP reassembly buffer ([`Resolver::handle_tcp`]):
/// a whole reply with its length prefix.
pub const TCP_BUF: usize = TCP_REPLY_MAX + 2;
/// Longest transmit payload: a query plus the TCP length prefix.
pub const MAX_TX_LEN: usize = MAX_QUERY_LEN + 2;
/// Truncated replies are asked again over TCP (the cargo feature `dns-tcp`); when false the
/// resolver never makes a TCP try ([`Transmit::Tcp`] never comes, the TCP handlers take
/// nothing) and the OS layer needs no TCP transport for DNS.
pub const TCP: bool = cfg!(feature = "dns-tcp");
/// Longest DNS reply over UDP without EDNS(0) (RFC 1035 §4.2.1): what an OS layer without
/// [`TCP`] must be able to receive.
pub const UDP_REPLY_MAX: usize = 512;

/// Resolver settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Configured servers, asked after the ones from DHCP.
    pub servers: Vec<Ipv4Addr, MAX_SERVERS>,
    /// How long one UDP try waits for its reply, ms (at least 1).
    pub timeout_ms: u32,
    /// How long one TCP try (connect, query, reply) may take, ms (at least 1).
    pub tcp_timeout_ms: u32,
    /// Rounds over the server list (at least 1).
    pub attempts: u8,
    /// PRNG seed for IDs and ports; seed it from a hardware RNG.
    pub seed: u64,
}

impl Config {
    /// Defaults: no configured servers, 2 s per try, 4 s per TCP try, 2 rounds.
    pub fn new(seed: u64) -> Self {
        Config {
            servers: Vec::new(),
            timeout_ms: 2000,
            tcp_timeout_ms: 4000,
            attempts: 2,
            seed,
        }
    }

    /// Builder: set the configured servers (those past [`MAX_SERVERS`] are ignored).
    pub fn with_servers(mut self, servers: &[Ipv4Addr]) -> Self {
        self.servers.clear();
        for s in servers.iter().take(MAX_SERVERS) {
            let _ = self.servers.push(*s);
        }
        self
    }
}

/// Where an answer came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The name was a numeric address (or `localhost`): no query.
    Literal,
    /// From the cache.
    Cache,
    /// From a server.
    Network,
}

/// A successful lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The addresses, in the server's order (at least one).
    pub addrs: Vec<Ipv4Addr, MAX_ADDRS>,
    /// The canonical name (end of the CNAME chain; the name itself without CNAMEs).
    pub canonical: Name,
    /// Seconds the answer stays valid (0 for literals).
    pub ttl_s: u32,
    /// Where it came from.
    pub source: Source,
}

/// Why a lookup failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnsError {
    /// The name is not a valid domain name ([`NameError`]).
    InvalidName(NameError),
    /// NXDOMAIN: the name does not exist.
    NoSuchName,
    /// NODATA: the name exists but has no A record.
    NoData,
    /// No server is known (no DHCP lease with the DNS option and none configured).
    NoServers,
    /// Another lookup is running.
    Busy,
    /// No server answered in time.
    Timeout,
    /// Servers answered SERVFAIL (and others, if any, timed out or failed).
    ServerFailure,
    /// Every server refused or could not serve the query (REFUSED, FORMERR, NOTIMP, other
    /// error codes) or sent a reply that could not be parsed.
    Refused,
    /// A CNAME chain longer than [`wire::MAX_CNAME_HOPS`] (or a loop).
    TooManyCnames,
    /// The OS layer reported socket failures ([`Resolver::handle_transport_error`]) on every
    /// try that did not otherwise fail.
    Transport,
}

impl DnsError {
    /// The getaddrinfo code, following glibc: name errors, NXDOMAIN and NODATA →
    /// `EAI_NONAME` (glibc has a non-POSIX `EAI_NODATA` for NODATA; POSIX does not); timeouts,
    /// SERVFAIL, no servers yet, busy → `EAI_AGAIN` (try later); REFUSED/FORMERR/NOTIMP,
    /// malformed replies, CNAME loops → `EAI_FAIL`; socket errors → `EAI_SYSTEM`.
    pub fn eai(self) -> GaiError {
        match self {
            DnsError::InvalidName(_) | DnsError::NoSuchName | DnsError::NoData => GaiError::NoName,
            DnsError::NoServers | DnsError::Busy | DnsError::Timeout | DnsError::ServerFailure => {
                GaiError::Again
            }
            DnsError::Refused | DnsError::TooManyCnames => GaiError::Fail,
            DnsError::Transport => GaiError::System,
        }
    }
}

/// What [`Resolver::start`] did.
// No heap (no_std, no alloc): variants stay inline on purpose.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Answered at once (literal or cache).
    Ready(Answer),
    /// A query runs: drive [`Resolver::poll_transmit`] and wait for [`Resolver::poll_result`].
    Pending,
}

/// Something for the OS layer to send.
// No heap (no_std, no alloc): variants stay inline on purpose.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transmit {
    /// Send `payload` as one UDP datagram to `server` from a fresh socket bound to `src_port`.
    Udp {
        /// The server, port 53.
        server: SocketAddrV4,
        /// Local port to bind (random, 49152–65535).
        src_port: u16,
        /// The DNS message.
        payload: Vec<u8, MAX_TX_LEN>,
    },
    /// Connect to `server` over TCP (local port `src_port`) and send `payload`, which already
    /// starts with the two-byte length (RFC 1035 §4.2.2).
    Tcp {
        /// The server, port 53.
        server: SocketAddrV4,
        /// Local port to bind (random, 49152–65535).
        src_port: u16,
        /// Length prefix and DNS message.
        payload: Vec<u8, MAX_TX_LEN>,
    },
}

/// What went wrong on one try (aggregated into the lookup's error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TryFail {
    Timeout,
    ServFail,
    Refused,
    Transport,
}

/// The running lookup.
#[derive(Clone, Debug)]
struct Query {
    /// The cache key ([`cache::Cache::key`]) of the name the application asked for.
    qkey: u64,
    hops: u8,
    /// Smallest TTL seen along the chain, seconds.
    ttl: u32,
    servers: Vec<Ipv4Addr, MAX_SERVERS>,
    /// Servers skipped for the rest of this question (bit per index).
    dead: u8,
    round: u8,
    idx: usize,
    id: u16,
    port: u16,
    tcp: bool,
    sent: bool,
    deadline: u64,
    /// Bit set of [`TryFail`] seen (1 << variant).
    fails: u8,
}

impl Query {
    fn server(&self) -> Ipv4Addr {
        self.servers
            .get(self.idx)
            .copied()
            .unwrap_or(Ipv4Addr::UNSPECIFIED)
    }
}

/// The stub resolver; `C` is the number of cache entries, `T` the size of its TCP
/// reassembly buffer for [`Resolver::handle_tcp`] (0 when the OS layer reassembles the
/// reply itself, e.g. in the chip's socket buffer, and hands it to
/// [`Resolver::handle_tcp_reply`] whole).
///
/// # Example
/// A name looked up at the DNS server of the simulator's standard LAN (`w5500-sim`): a host
/// of the LAN stands in for the chip's UDP socket on the query's random port.
/// ```
/// use std::net::Ipv4Addr;
///
/// use w5500_netsvc::dns::{Config, Lookup, Resolver, Source, Transmit};
/// use w5500_sim::lan::{standard, Lan};
/// use w5500_sim::net::Network;
/// use w5500_sim::time::Instant;
///
/// let mut lan = Lan::standard();
/// let host = lan.add_simple_host("dut", Ipv4Addr::new(10, 77, 0, 60));
///
/// let mut resolver: Resolver = Resolver::new(Config::new(0x5eed));
/// resolver.set_servers(&[standard::GATEWAY]); // e.g. from the DHCP lease
/// let now = lan.now().as_millis();
/// assert_eq!(resolver.start("www.sim.lan", now), Ok(Lookup::Pending));
/// let mut port = 0;
/// let answer = loop {
///     let now = lan.now().as_millis();
///     // One UDP try: a fresh socket bound to `src_port`, the query to the server.
///     while let Some(t) = resolver.poll_transmit(now) {
///         if let Transmit::Udp { server, src_port, payload } = t {
///             port = src_port;
///             lan.bind_udp_recorder(host, port);
///             lan.udp_send(host, port, server, &payload);
///         }
///     }
///     if let Some(result) = resolver.poll_result() {
///         break result;
///     }
///     // 10 ms of the LAN, then what came in on the try's port.
///     lan.poll(Instant::from_millis(now + 10));
///     for d in lan.udp_recorded(host, port) {
///         resolver.handle_udp(lan.now().as_millis(), d.src, port, &d.payload);
///     }
///     resolver.poll(lan.now().as_millis());
/// };
/// let answer = answer.expect("an answer");
/// // www.sim.lan is a CNAME of http.sim.lan (RFC 1034 §3.6.2).
/// assert_eq!(answer.addrs[0], standard::HTTP);
/// assert_eq!(answer.canonical.to_string(), "http.sim.lan");
/// assert_eq!(answer.source, Source::Network);
/// // Asked again: from the cache, no traffic.
/// let now = lan.now().as_millis();
/// assert!(matches!(
///     resolver.start("www.sim.lan", now),
///     Ok(Lookup::Ready(a)) if a.source == Source::Cache
/// ));
/// ```
#[derive(Clone, Debug)]
pub struct Resolver<const C: usize = 8, const T: usize = TCP_BUF> {
    cfg: Config,
    dhcp: Vec<Ipv4Addr, MAX_SERVERS>,
    rng: Rng,
    cache: Cache<C>,
    query: Option<Query>,
    /// The running lookup's current question (a CNAME target after a re-query); once it
    /// has ended well, the answer's canonical name (one name buffer for both).
    cur: Name,
    result: Option<Result<Done, DnsError>>,
    tcp_buf: Vec<u8, T>,
}

/// A finished lookup's answer without its canonical name (that is [`Resolver::cur`]).
#[derive(Clone, Debug)]
struct Done {
    addrs: Vec<Ipv4Addr, MAX_ADDRS>,
    ttl_s: u32,
    source: Source,
}

fn usable_server(ip: &Ipv4Addr) -> bool {
    !(ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast())
}

impl<const C: usize, const T: usize> Resolver<C, T> {
    /// A resolver with `cfg` and an empty cache.
    pub fn new(cfg: Config) -> Self {
        let mut rng = Rng::new(cfg.seed);
        let hash_key = (rng.next_u64(), rng.next_u64());
        Resolver {
            rng,
            cfg,
            dhcp: Vec::new(),
            cache: Cache::with_key(hash_key),
            query: None,
            cur: Name::root(),
            result: None,
            tcp_buf: Vec::new(),
        }
    }

    /// Replace the servers learnt from DHCP (option 6), e.g. on every new lease; an empty
    /// slice forgets them. A running lookup keeps the list it started with.
    pub fn set_servers(&mut self, servers: &[Ipv4Addr]) {
        self.dhcp.clear();
        for s in servers.iter().take(MAX_SERVERS) {
            let _ = self.dhcp.push(*s);
        }
    }

    /// The servers a lookup would use now, in order.
    pub fn servers(&self) -> Vec<Ipv4Addr, MAX_SERVERS> {
        let mut out: Vec<Ipv4Addr, MAX_SERVERS> = Vec::new();
        for s in self.dhcp.iter().chain(self.cfg.servers.iter()) {
            if usable_server(s) && !out.contains(s) {
                let _ = out.push(*s);
            }
        }
        out
    }

    /// Stir entropy (e.g. a timer value at each network event) into the ID/port generator.
    pub fn mix_entropy(&mut self, entropy: u64) {
        self.rng.mix(entropy);
    }

    /// Forget all cached answers.
    pub fn flush_cache(&mut self) {
        self.cache.clear();
    }

    /// True while a lookup runs.
    pub fn is_busy(&self) -> bool {
        self.query.is_some()
    }

    /// Abandon the running lookup (no result is produced for it).
    pub fn cancel(&mut self) {
        self.query = None;
        self.result = None;
    }

    /// Resolve `name` (text, e.g. `"www.example.org"` or `"10.77.0.10"`): answered at once
    /// when it is a literal or cached, else a query starts ([`Lookup::Pending`]).
    pub fn start(&mut self, name: &str, now_ms: u64) -> Result<Lookup, DnsError> {
        if let Some(ip) = name::parse_dotted_quad(name) {
            return Ok(Lookup::Ready(literal(ip, name)));
        }
        if name::looks_numeric(name) {
            return Err(DnsError::InvalidName(NameError::BadNumeric));
        }
        let qname = Name::from_text(name).map_err(DnsError::InvalidName)?;
        self.start_name(&qname, now_ms)
    }

    /// [`Resolver::start`] for a name already in wire form.
    pub fn start_name(&mut self, qname: &Name, now_ms: u64) -> Result<Lookup, DnsError> {
        if qname.is_root() {
            return Err(DnsError::InvalidName(NameError::Empty));
        }
        if qname.is_localhost() {
            let mut addrs = Vec::new();
            let _ = addrs.push(Ipv4Addr::LOCALHOST);
            return Ok(Lookup::Ready(Answer {
                addrs,
                canonical: qname.clone(),
                ttl_s: 0,
                source: Source::Literal,
            }));
        }
        if self.query.is_some() {
            return Err(DnsError::Busy);
        }
        if let Some((hit, left)) = self.cache.get(qname, now_ms) {
            return match hit {
                Cached::Positive { addrs, canonical } => Ok(Lookup::Ready(Answer {
                    addrs,
                    canonical,
                    ttl_s: left,
                    source: Source::Cache,
                })),
                Cached::NoSuchName => Err(DnsError::NoSuchName),
                Cached::NoData => Err(DnsError::NoData),
            };
        }
        let servers = self.servers();
        if servers.is_empty() {
            return Err(DnsError::NoServers);
        }
        self.result = None;
        let mut q = Query {
            qkey: self.cache.key(qname),
            hops: 0,
            ttl: u32::MAX,
            servers,
            dead: 0,
            round: 0,
            idx: 0,
            id: 0,
            port: 0,
            tcp: false,
            sent: false,
            deadline: now_ms,
            fails: 0,
        };
        self.cur = qname.clone();
        self.new_try(&mut q);
        self.query = Some(q);
        Ok(Lookup::Pending)
    }

    fn new_try(&mut self, q: &mut Query) {
        q.id = self.rng.next_u16();
        q.port = self.rng.ephemeral_port();
        q.tcp = false;
        q.sent = false;
        self.tcp_buf.clear();
    }

    /// When [`Resolver::poll_transmit`] should run next (ms; a value ≤ now means at once);
    /// `None` when idle.
    pub fn poll_at(&self) -> Option<u64> {
        let q = self.query.as_ref()?;
        Some(if q.sent { q.deadline } else { 0 })
    }

    /// Advance timers (a try whose time is up fails as a timeout and the next one starts).
    pub fn poll(&mut self, now_ms: u64) {
        let expired = self
            .query
            .as_ref()
            .is_some_and(|q| q.sent && now_ms >= q.deadline);
        if expired {
            self.fail_try(TryFail::Timeout, now_ms);
        }
    }

    /// Advance timers, then return the next message to send, if any.
    pub fn poll_transmit(&mut self, now_ms: u64) -> Option<Transmit> {
        self.poll(now_ms);
        let q = self.query.as_mut()?;
        if q.sent {
            return None;
        }
        let mut msg = Vec::<u8, MAX_QUERY_LEN>::new();
        if wire::build_query(q.id, &self.cur, &mut msg).is_err() {
            // Cannot happen: a Name is at most 255 bytes.
            self.finish(Err(DnsError::InvalidName(NameError::TooLong)), now_ms, None);
            return None;
        }
        let mut payload = Vec::<u8, MAX_TX_LEN>::new();
        let server = SocketAddrV4::new(q.server(), DNS_PORT);
        q.sent = true;
        if TCP && q.tcp {
            let len = u16::try_from(msg.len()).unwrap_or(u16::MAX);
            let _ = payload.extend_from_slice(&len.to_be_bytes());
            let _ = payload.extend_from_slice(&msg);
            q.deadline = now_ms.saturating_add(u64::from(self.cfg.tcp_timeout_ms.max(1)));
            Some(Transmit::Tcp {
                server,
                src_port: q.port,
                payload,
            })
        } else {
            let _ = payload.extend_from_slice(&msg);
            q.deadline = now_ms.saturating_add(u64::from(self.cfg.timeout_ms.max(1)));
            Some(Transmit::Udp {
                server,
                src_port: q.port,
                payload,
            })
        }
    }

    /// The result of the finished lookup, once.
    pub fn poll_result(&mut self) -> Option<Result<Answer, DnsError>> {
        let r = self.result.take()?;
        Some(r.map(|d| Answer {
            addrs: d.addrs,
            canonical: self.cur.clone(),
            ttl_s: d.ttl_s,
            source: d.source,
        }))
    }

    /// A UDP datagram arrived from `from` on local port `to_port`. Returns true if it was
    /// taken as the reply of the current try; everything else is ignored (RFC 5452 §9.1).
    pub fn handle_udp(
        &mut self,
        now_ms: u64,
        from: SocketAddrV4,
        to_port: u16,
        data: &[u8],
    ) -> bool {
        let Some(q) = self.query.as_ref() else {
            return false;
        };
        if q.tcp || !q.sent || to_port != q.port || from != SocketAddrV4::new(q.server(), DNS_PORT)
        {
            return false;
        }
        match wire::check_reply(data, q.id, &self.cur) {
            Ok(hdr) => {
                self.on_reply(&hdr, data, now_ms);
                true
            }
            Err(_) => {
                w5500_log::debug!("dns: ignored datagram from", *from.ip(), from.port());
                false
            }
        }
    }

    /// Bytes arrived on the TCP connection of the current try (any split), gathered in the
    /// resolver's own buffer of `T` bytes (a reply that does not fit counts as a broken one).
    /// Returns true if the bytes belonged to the current try.
    pub fn handle_tcp(&mut self, now_ms: u64, data: &[u8]) -> bool {
        let Some(q) = self.query.as_ref() else {
            return false;
        };
        if !TCP || !q.tcp || !q.sent {
            return false;
        }
        if self.tcp_buf.extend_from_slice(data).is_err() {
            self.fail_try(TryFail::Refused, now_ms);
            return true;
        }
        match tcp_frame(&self.tcp_buf) {
            Frame::Partial => true,
            _ => {
                let buf = core::mem::take(&mut self.tcp_buf);
                self.handle_tcp_reply(now_ms, &buf)
            }
        }
    }

    /// A whole reply arrived on the TCP connection of the current try: `framed` is the
    /// two-byte length prefix and the message (RFC 1035 §4.2.2), as read from the stream,
    /// for an OS layer that gathers the reply itself (the W5500 keeps it in the socket's
    /// buffer until all of it is there). A prefix above [`TCP_REPLY_MAX`] alone is enough to
    /// fail the try, as is a reply shorter than its prefix says. Returns true if the reply
    /// belonged to the current try.
    pub fn handle_tcp_reply(&mut self, now_ms: u64, framed: &[u8]) -> bool {
        let Some(q) = self.query.as_ref() else {
            return false;
        };
        if !TCP || !q.tcp || !q.sent {
            return false;
        }
        let msg = match tcp_frame(framed) {
            Frame::Whole(msg) => msg,
            Frame::Partial | Frame::TooLong => {
                self.fail_try(TryFail::Refused, now_ms);
                return true;
            }
        };
        match wire::check_reply(msg, q.id, &self.cur) {
            // TC over TCP makes no sense (RFC 7766 §8): count it as a broken reply.
            Ok(hdr) if hdr.truncated => self.fail_try(TryFail::Refused, now_ms),
            Ok(hdr) => self.on_reply(&hdr, msg, now_ms),
            // The connection goes to the server itself: a wrong reply is a broken server.
            Err(_) => self.fail_try(TryFail::Refused, now_ms),
        }
        true
    }

    /// The OS layer could not carry the current try: the UDP socket could not be opened or
    /// the datagram not sent, or the TCP connection was refused, reset or closed before the
    /// whole reply. The next try starts.
    pub fn handle_transport_error(&mut self, now_ms: u64) {
        if self.query.is_some() {
            self.fail_try(TryFail::Transport, now_ms);
        }
    }

    fn on_reply(&mut self, hdr: &ReplyHeader, msg: &[u8], now_ms: u64) {
        let Some(mut q) = self.query.take() else {
            return;
        };
        // Without TCP a truncated reply is used for what it holds (see the module docs).
        let cut = !TCP && hdr.truncated;
        if TCP && hdr.truncated && !q.tcp {
            // RFC 1035 §4.2.1 / RFC 7766 §5: ask the same server over TCP.
            q.id = self.rng.next_u16();
            q.port = self.rng.ephemeral_port();
            q.tcp = true;
            q.sent = false;
            self.tcp_buf.clear();
            self.query = Some(q);
            return;
        }
        match hdr.rcode {
            wire::rcode::NOERROR => {}
            wire::rcode::NXDOMAIN => {
                let neg = wire::extract(msg, hdr, &self.cur, MAX_CNAME_HOPS)
                    .ok()
                    .and_then(|x| x.negative_ttl);
                self.query = Some(q);
                self.finish(Err(DnsError::NoSuchName), now_ms, neg);
                return;
            }
            wire::rcode::SERVFAIL => {
                self.query = Some(q);
                self.fail_try(TryFail::ServFail, now_ms);
                return;
            }
            _ => {
                self.query = Some(q);
                self.fail_try(TryFail::Refused, now_ms);
                return;
            }
        }
        let budget = MAX_CNAME_HOPS.saturating_sub(q.hops);
        let x = match wire::extract(msg, hdr, &self.cur, budget) {
            Ok(x) => x,
            Err(ExtractError::TooManyCnames) => {
                self.query = Some(q);
                self.finish(Err(DnsError::TooManyCnames), now_ms, None);
                return;
            }
            Err(ExtractError::Parse(_)) => {
                w5500_log::debug!("dns: malformed answer");
                self.query = Some(q);
                self.fail_try(TryFail::Refused, now_ms);
                return;
            }
        };
        q.hops = q.hops.saturating_add(x.hops);
        if x.hops > 0 || !x.addrs.is_empty() {
            q.ttl = q.ttl.min(x.min_ttl);
        }
        if !x.addrs.is_empty() {
            let answer = Answer {
                addrs: x.addrs,
                canonical: x.final_name,
                // A cut reply is never cached (TTL 0): more addresses may exist.
                ttl_s: if cut { 0 } else { q.ttl.min(cache::MAX_TTL_S) },
                source: Source::Network,
            };
            self.query = Some(q);
            self.finish(Ok(answer), now_ms, None);
        } else if x.hops > 0 {
            // The chain ends at a name without addresses here: ask for the target
            // (RFC 1034 §5.3.3 step 3.c / §3.6.2).
            if q.hops >= MAX_CNAME_HOPS {
                self.query = Some(q);
                self.finish(Err(DnsError::TooManyCnames), now_ms, None);
                return;
            }
            self.cur = x.final_name;
            q.round = 0;
            q.idx = 0;
            q.dead = 0;
            q.fails = 0;
            self.new_try(&mut q);
            self.query = Some(q);
        } else if cut {
            // No address in what fitted: no answer from this server over UDP.
            self.query = Some(q);
            self.fail_try(TryFail::Refused, now_ms);
        } else {
            self.query = Some(q);
            self.finish(Err(DnsError::NoData), now_ms, x.negative_ttl);
        }
    }

    fn fail_try(&mut self, why: TryFail, now_ms: u64) {
        let Some(mut q) = self.query.take() else {
            return;
        };
        q.fails |= 1 << (why as u8);
        if why == TryFail::Refused {
            q.dead |= 1u8.checked_shl(q.idx as u32).unwrap_or(0);
        }
        let n = q.servers.len();
        let attempts = self.cfg.attempts.max(1);
        for _ in 0..=(n.saturating_mul(usize::from(attempts))) {
            q.idx = q.idx.saturating_add(1);
            if q.idx >= n {
                q.idx = 0;
                q.round = q.round.saturating_add(1);
            }
            if q.round >= attempts {
                break;
            }
            if q.dead & 1u8.checked_shl(q.idx as u32).unwrap_or(0) == 0 {
                self.new_try(&mut q);
                self.query = Some(q);
                return;
            }
        }
        let has = |f: TryFail| q.fails & (1 << (f as u8)) != 0;
        let err = if has(TryFail::Timeout) {
            DnsError::Timeout
        } else if has(TryFail::ServFail) {
            DnsError::ServerFailure
        } else if has(TryFail::Transport) {
            DnsError::Transport
        } else {
            DnsError::Refused
        };
        self.query = Some(q);
        self.finish(Err(err), now_ms, None);
    }

    fn finish(&mut self, result: Result<Answer, DnsError>, now_ms: u64, neg_ttl: Option<u32>) {
        let Some(q) = self.query.take() else {
            return;
        };
        match &result {
            Ok(a) => self.cache.put_key(
                q.qkey,
                Cached::Positive {
                    addrs: a.addrs.clone(),
                    canonical: a.canonical.clone(),
                },
                a.ttl_s,
                now_ms,
            ),
            Err(e @ (DnsError::NoSuchName | DnsError::NoData)) => {
                let ttl = neg_ttl
                    .unwrap_or(cache::DEFAULT_NEGATIVE_TTL_S)
                    .min(cache::MAX_NEGATIVE_TTL_S);
                let v = if *e == DnsError::NoSuchName {
                    Cached::NoSuchName
                } else {
                    Cached::NoData
                };
                self.cache.put_key(q.qkey, v, ttl, now_ms);
            }
            Err(_) => {}
        }
        self.result = Some(match result {
            Ok(a) => {
                self.cur = a.canonical;
                Ok(Done {
                    addrs: a.addrs,
                    ttl_s: a.ttl_s,
                    source: a.source,
                })
            }
            Err(e) => Err(e),
        });
    }

    /// Number of cache entries held (expired ones included until next touched).
    pub fn cache_len(&self) -> usize {
        self.cache.len()
    }
}

/// What the start of a TCP stream holds (RFC 1035 §4.2.2 framing).
enum Frame<'a> {
    /// Less than the prefix says (or not even the prefix).
    Partial,
    /// The prefix says more than [`TCP_REPLY_MAX`].
    TooLong,
    /// The message, without its prefix (bytes after it are ignored).
    Whole(&'a [u8]),
}

fn tcp_frame(b: &[u8]) -> Frame<'_> {
    let Some(&[hi, lo]) = b.get(..2) else {
        return Frame::Partial;
    };
    let len = usize::from(u16::from_be_bytes([hi, lo]));
    if len > TCP_REPLY_MAX {
        return Frame::TooLong;
    }
    match b.get(2..len.saturating_add(2)) {
        Some(msg) => Frame::Whole(msg),
        None => Frame::Partial,
    }
}

fn literal(ip: Ipv4Addr, text: &str) -> Answer {
    let mut addrs = Vec::new();
    let _ = addrs.push(ip);
    Answer {
        addrs,
        canonical: Name::from_text(text).unwrap_or_default(),
        ttl_s: 0,
        source: Source::Literal,
    }
}

/// Fuzz entry point: the reply parser ([`wire::fuzz_parse`]) plus a resolver fed `data` as
/// the reply of a pending query, over UDP and over TCP in two pieces.
pub fn fuzz_parse(data: &[u8]) {
    wire::fuzz_parse(data);
    let server = Ipv4Addr::new(192, 0, 2, 53);
    let mut r: Resolver<2> = Resolver::new(Config::new(1).with_servers(&[server]));
    if let Ok(Lookup::Pending) = r.start("example.org", 0) {
        if let Some(Transmit::Udp {
            src_port, payload, ..
        }) = r.poll_transmit(0)
        {
            // Make the ID match so that the body parser is reached.
            let mut msg = heapless::Vec::<u8, 1024>::new();
            let _ = msg.extend_from_slice(data.get(..data.len().min(1024)).unwrap_or(&[]));
            if let (Some(d), Some(s)) = (msg.get_mut(..2), payload.get(..2)) {
                d.copy_from_slice(s);
            }
            r.handle_udp(1, SocketAddrV4::new(server, DNS_PORT), src_port, &msg);
            if let Some(Transmit::Tcp { payload, .. }) = r.poll_transmit(2) {
                let _ = payload;
                let (a, b) = data.split_at(data.len() / 2);
                r.handle_tcp(3, a);
                r.handle_tcp(3, b);
            }
            let _ = r.poll_result();
        }
    }
}
