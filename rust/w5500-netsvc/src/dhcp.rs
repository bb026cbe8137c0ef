//! DHCP client (RFC 2131, options from RFC 2132), sans-IO, `no_std`, no allocation.
//!
//! [`Client`] is a state machine. It owns no socket and no clock: the caller hands it the
//! current time (`now_ms`, monotonic milliseconds), the datagrams that arrived on UDP port 68,
//! and the results of address probes; it answers with datagrams to send
//! ([`Client::poll_transmit`], written into the caller's buffer), events for the OS layer
//! ([`Client::poll_event`]) and the time it next needs to run ([`Client::poll_at`]).
//!
//! ```text
//! loop {
//!     client.poll(now);                                   // timers (also done by poll_transmit)
//!     while let Some(t) = client.poll_transmit(now, &mut buf) {
//!         udp.send_to(&buf[..t.len], t.dst);              // from port 68
//!     }
//!     while let Some(ev) = client.poll_event() { /* Bound/Renewed/Rebound: program the chip
//!         with client.lease(); Lost: clear it; Probe(ip): check ip, then probe_result() */ }
//!     // wait for a datagram on port 68 (→ client.handle) or until client.poll_at()
//! }
//! ```
//!
//! # Socket sharing
//! DHCP needs one UDP socket bound to port 68 (with broadcast enabled) only while it exchanges
//! messages: from the DISCOVER until the ACK, and during a renewal or rebinding.
//! [`Client::needs_socket`] says when; in BOUND (the long stretch between T0 and T1), while an
//! address is probed, while waiting after a DECLINE, and when stopped, the socket can be closed
//! and used for something else. The chip sends from its SIPR, so the OS layer keeps SIPR at
//! 0.0.0.0 until [`Event::Bound`] and programs the address, mask and gateway from the client's
//! [`Lease`]. A static configuration is the same [`Lease`] made with [`Lease::manual`]: the
//! client is simply not run, and the chip is programmed the same way.
//!
//! # RFC behaviour covered
//! - States INIT, SELECTING, REQUESTING, BOUND, RENEWING, REBINDING, INIT-REBOOT, REBOOTING
//!   (RFC 2131 §4.4, figure 5), plus PROBING (the §4.4.1 address check), LINK-DOWN and STOPPED.
//! - DISCOVER and the SELECTING/INIT-REBOOT REQUESTs are broadcast with the BROADCAST flag set
//!   (§4.1: the chip cannot receive unicast to an address it does not have yet). The
//!   SELECTING REQUEST carries options 50 + 54 and the `secs` of the DISCOVER (§4.4.1);
//!   INIT-REBOOT carries option 50 and no server id (§3.2, §4.3.2).
//! - Renewal at T1 by unicast to the server with `ciaddr` set; rebinding at T2 by broadcast;
//!   expiry removes the address ([`Event::Lost`]) and restarts from INIT (§4.4.5). The
//!   gateway comes from the router option (3), never from the server identifier.
//! - Retransmission (§4.1): 4, 8, 16, 32, then 64 s, each ±1 s of jitter. SELECTING keeps
//!   trying at 64 s; REQUESTING and REBOOTING give up after four transmissions (back to INIT,
//!   or, when rebooting with an unexpired lease, back to BOUND with it, §3.2). In RENEWING and
//!   REBINDING a retransmission waits half the time left until T2 or expiry, at least 60 s
//!   (§4.4.5).
//! - A fresh random `xid` for each exchange (acquisition, reboot, renewal, rebinding, decline,
//!   release); retransmissions keep it.
//! - Replies are accepted only from port 67 with `op` = BOOTREPLY, the current `xid`, our
//!   `chaddr`, the magic cookie, a message type that fits the state and a server identifier:
//!   in REQUESTING the selected server's, in RENEWING the lease's, in REBINDING and REBOOTING
//!   any. The first valid OFFER is selected.
//! - DHCPNAK restarts from INIT (§3.1, §3.2, §4.4.5); repeated NAKs without a binding back
//!   off (4 s … 64 s) so a server that NAKs everything cannot cause a storm.
//! - Lease times in seconds: defaults T1 = 0.5 · lease and T2 = 0.875 · lease (§4.4.5); the
//!   lease is clamped to at least [`MIN_LEASE_SECS`]; T1 and T2 from the server are used
//!   only when 0 < T1 < T2 < lease; 0xffffffff is an infinite lease (never renewed, never
//!   expires). The lease starts when the REQUEST was first sent (§4.4.1).
//! - Address check (§4.4.1, §3.1.5): after an ACK for a new address the caller is asked to
//!   probe it ([`Event::Probe`]); "in use" sends a broadcast DECLINE, waits 10 s (+ up to 1 s)
//!   and restarts. No answer within [`PROBE_TIMEOUT_MS`] counts as "free".
//! - RELEASE (unicast to the server, `ciaddr` set) on orderly shutdown ([`Client::release`]).
//! - Link up with an unexpired lease (or a remembered address): INIT-REBOOT to confirm it.
//! - Options sent: 53, 61 (type 1 + MAC unless configured), 50, 54, 57, 55, 12. Options read:
//!   1, 3, 6 (up to [`MAX_DNS`]), 15, 51, 52, 53, 54, 58, 59. Option overload (52) is
//!   **handled**: options in `file` and then `sname` are read. Unknown options are skipped,
//!   malformed ones (wrong length, running past their area) are ignored; pad and end are
//!   honoured.
//!
//! Not done: DHCPINFORM, collecting several OFFERs to compare them, the optional 1–10 s
//! start-up delay of §4.4.1 (the caller may delay [`Client::start`]), and the gratuitous ARP
//! after binding (the chip has no command for it).

pub mod wire;

use core::net::{Ipv4Addr, SocketAddrV4};

use wire::{is_unicast, SERVER_PORT};
pub use wire::{MessageType, CLIENT_ID_MAX, DOMAIN_MAX, HOSTNAME_MAX, MAX_DNS, MAX_REQUEST_LEN};

/// The smallest lease the client believes (seconds); shorter ones are raised to this, so a
/// server sending 0 cannot make the client renew in a tight loop.
pub const MIN_LEASE_SECS: u32 = 60;
/// Lease assumed when an ACK carries no lease time (option 51) and its OFFER had none.
pub const DEFAULT_LEASE_SECS: u32 = 3600;
/// The value of option 51 meaning "infinite" (RFC 2131 §3.3).
pub const INFINITE: u32 = u32::MAX;
/// The address probe is compiled in (the cargo feature `dhcp-probe`, default). Without it
/// [`Config::probe`] has no effect: an ACKed address is bound at once, no [`Event::Probe`]
/// and so no DHCPDECLINE.
pub const PROBE: bool = cfg!(feature = "dhcp-probe");

/// How long the client waits for [`Client::probe_result`] before treating the address as free.
pub const PROBE_TIMEOUT_MS: u64 = 4_000;
/// Wait after a DECLINE before starting over (RFC 2131 §3.1.5: at least ten seconds).
pub const DECLINE_WAIT_MS: u64 = 10_000;
/// Transmissions of a REQUEST in REQUESTING or REBOOTING before giving up.
pub const MAX_REQUEST_TRANSMISSIONS: u8 = 4;
/// The smallest wait between retransmissions in RENEWING and REBINDING (RFC 2131 §4.4.5).
pub const MIN_RENEW_RETRY_MS: u64 = 60_000;
/// Default of [`Config::max_message_size`]: the DHCP minimum (RFC 2131 §2), so a receive
/// buffer of 548 bytes (576 − 28 for the IP and UDP headers) always holds a reply.
pub const DEFAULT_MAX_MESSAGE_SIZE: u16 = 576;
/// Largest useful [`Config::max_message_size`]: an Ethernet MTU, i.e. a 1472-byte UDP
/// payload, the most the W5500 receives in one datagram.
pub const MAX_MAX_MESSAGE_SIZE: u16 = 1500;
/// Events kept until [`Client::poll_event`] takes them; on overflow the oldest is dropped.
pub const EVENT_QUEUE: usize = 4;

/// A host name for option 12 (one DNS label).
pub type Hostname = heapless::String<HOSTNAME_MAX>;
/// A client identifier for option 61.
pub type ClientId = heapless::Vec<u8, CLIENT_ID_MAX>;

/// Make a host name from a template, the way Adafruit's `set_dhcp(hostname)` does: only the
/// part before the first `.` is used, and `{}` is replaced by the last three MAC bytes in
/// upper-case hex (`"WIZnet{}"` with MAC `..:12:34:56` gives `"WIZnet123456"`, also the
/// WIZnet ioLibrary's default name). Characters other than letters, digits and `-` become `-`
/// (RFC 1123 §2.1); the result is cut to [`HOSTNAME_MAX`] bytes. `None` if it comes out empty.
pub fn hostname_from_template(template: &str, mac: [u8; 6]) -> Option<Hostname> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    // Byte-wise (smaller than char iteration): every output char is ASCII. A non-ASCII char
    // becomes one `-`: its lead byte does, its continuation bytes (0b10xx_xxxx) are skipped.
    let label = template
        .as_bytes()
        .split(|&c| c == b'.')
        .next()
        .unwrap_or(&[]);
    let mut out = Hostname::new();
    let mut push = |c: u8| {
        let c = if c.is_ascii_alphanumeric() || c == b'-' {
            c
        } else {
            b'-'
        };
        // Full: the rest is cut off on purpose.
        let _ = out.push(char::from(c));
    };
    let mut rest = label;
    while let Some((&c, tail)) = rest.split_first() {
        if let Some(tail) = rest.strip_prefix(b"{}") {
            for b in mac.iter().skip(3) {
                for nib in [b >> 4, b & 0xf] {
                    push(HEX.get(usize::from(nib)).copied().unwrap_or(b'0'));
                }
            }
            rest = tail;
        } else {
            if c & 0xc0 != 0x80 {
                push(c);
            }
            rest = tail;
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Client configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The chip's MAC address (`chaddr`, and the default client identifier).
    pub mac: [u8; 6],
    /// Host name sent in option 12 (see [`hostname_from_template`]); `None` sends none.
    pub hostname: Option<Hostname>,
    /// Client identifier (option 61); `None` (or fewer than 2 bytes) uses type 1 + MAC.
    pub client_id: Option<ClientId>,
    /// An address to confirm with INIT-REBOOT at start (e.g. the last lease, kept in flash).
    pub requested_ip: Option<Ipv4Addr>,
    /// Seed of the PRNG for `xid`s and jitter (the OS layer seeds it from a hardware RNG).
    pub seed: u64,
    /// Ask the caller to probe a new address before using it ([`Event::Probe`]); only with
    /// [`PROBE`].
    pub probe: bool,
    /// Option 57, clamped to 576..=[`MAX_MAX_MESSAGE_SIZE`]. The caller's receive buffer
    /// must hold `max_message_size - 28` bytes.
    pub max_message_size: u16,
}

impl Config {
    /// Defaults for `mac`: no host name, client id 1 + MAC, no remembered address, probing on,
    /// option 57 = 576.
    pub fn new(mac: [u8; 6], seed: u64) -> Self {
        Config {
            mac,
            hostname: None,
            client_id: None,
            requested_ip: None,
            seed,
            probe: true,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
        }
    }
}

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
fn classful_mask(ip: Ipv4Addr) -> Ipv4Addr {
    match ip.octets()[0] {
        0..=127 => Ipv4Addr::new(255, 0, 0, 0),
        128..=191 => Ipv4Addr::new(255, 255, 0, 0),
        _ => Ipv4Addr::new(255, 255, 255, 0),
    }
}

fn is_contiguous_mask(m: Ipv4Addr) -> bool {
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

/// Client states (RFC 2131 §4.4, figure 5, plus the client's own).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Not running: before [`Client::start`], after [`Client::release`].
    Stopped,
    /// About to send DISCOVER (or waiting after a DECLINE or repeated NAKs).
    Init,
    /// DISCOVER sent, waiting for an OFFER.
    Selecting,
    /// REQUEST for an offer sent, waiting for ACK/NAK.
    Requesting,
    /// ACKed; waiting for the caller's address probe (RFC 2131 §4.4.1).
    Probing,
    /// The address is in use; waiting for T1.
    Bound,
    /// Past T1: unicast REQUESTs to the lease's server.
    Renewing,
    /// Past T2: broadcast REQUESTs to any server.
    Rebinding,
    /// About to confirm a known address (REQUEST with option 50, no server id).
    InitReboot,
    /// INIT-REBOOT REQUEST sent, waiting for ACK/NAK.
    Rebooting,
    /// The link is down: nothing is sent; an active lease still expires.
    LinkDown,
}

/// What the OS layer must act on.
///
/// The lease events carry no copy of the lease (a lease is over a hundred bytes and the queue
/// holds [`EVENT_QUEUE`] events): read it with [`Client::lease`] when the event is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A new address is ready: program SIPR, SUBR, GAR and DNS from [`Client::lease`].
    Bound,
    /// The lease was extended by its server (RENEWING, or INIT-REBOOT of the same address);
    /// [`Client::lease`] has the new times.
    Renewed,
    /// The lease was extended by any server while rebinding; the server id may have changed
    /// ([`Client::lease`]).
    Rebound,
    /// The address must no longer be used (lease expired, or NAK): set SIPR to 0.0.0.0.
    Lost,
    /// Check whether this address is already in use (e.g. ARP it with a short retry) and
    /// answer with [`Client::probe_result`].
    Probe(Ipv4Addr),
    /// The offered address was in use; a DECLINE was sent and the client starts over.
    Declined(Ipv4Addr),
    /// The RELEASE has been handed out; the client is stopped. Clear the address after
    /// sending it.
    Released,
}

/// A datagram to send from UDP port 68.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Destination: 255.255.255.255:67 or the server's address, port 67.
    pub dst: SocketAddrV4,
    /// Bytes written at the start of the caller's buffer.
    pub len: usize,
    /// The message type (for logs and tests).
    pub message_type: MessageType,
}

/// xorshift64* PRNG (Vigna), for `xid`s and jitter.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64, mac: [u8; 6]) -> Self {
        let mut m = [0u8; 8];
        if let Some(d) = m.get_mut(..6) {
            d.copy_from_slice(&mac);
        }
        let s = seed ^ u64::from_le_bytes(m).rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15;
        Rng(if s == 0 { 0x2545_f491_4f6c_dd1d } else { s })
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform-ish in 0..n (n > 0): `next_u64() % n`, worked out in 32 bits for the small
    /// `n` used here (a 64-bit division is a library routine on a Cortex-M).
    fn below(&mut self, n: u16) -> u64 {
        let n = u32::from(n.max(1));
        let x = self.next_u64();
        let (hi, lo) = ((x >> 32) as u32, x as u32);
        // x = hi * 2^32 + lo, and 2^32 mod n = (u32::MAX mod n + 1) mod n; every product
        // stays below n^2 < 2^32.
        let r32 = (u32::MAX % n + 1) % n;
        u64::from(((hi % n) * r32 % n + lo % n) % n)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pending {
    Discover,
    Request,
    Decline { ip: Ipv4Addr, server: Ipv4Addr },
    Release { ip: Ipv4Addr, server: Ipv4Addr },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Offer {
    ip: Ipv4Addr,
    server: Ipv4Addr,
    lease_secs: Option<u32>,
}

/// The DHCP client. See the module docs for the driving loop.
#[derive(Clone, Debug)]
pub struct Client {
    cfg: Config,
    client_id: ClientId,
    rng: Rng,
    state: State,
    xid: u32,
    /// Start of the current exchange (for `secs`).
    exchange_start_ms: u64,
    /// `secs` of the last DISCOVER, repeated in the SELECTING REQUEST (§4.4.1).
    discover_secs: u16,
    /// First transmission of the current REQUEST exchange (the lease's start).
    request_sent_ms: u64,
    /// Transmissions in the current exchange.
    tx_count: u8,
    pending: Option<Pending>,
    pending_since_ms: u64,
    /// Retransmission or state timeout.
    deadline: Option<u64>,
    offer: Option<Offer>,
    /// Address being confirmed in INIT-REBOOT/REBOOTING.
    reboot_ip: Option<Ipv4Addr>,
    /// ACKed lease awaiting the probe result.
    candidate: Option<Lease>,
    /// The lease in use by the OS layer (announced with Bound).
    lease: Option<Lease>,
    /// Last address held, asked for again in DISCOVER (option 50) or INIT-REBOOT.
    remembered: Option<Ipv4Addr>,
    naks: u8,
    events: heapless::Deque<Event, EVENT_QUEUE>,
}

/// Option 61: the configured identifier, or hardware type 1 and the MAC.
fn fill_client_id(id: &mut ClientId, cfg: &Config) {
    id.clear();
    match &cfg.client_id {
        Some(c) if c.len() >= 2 => id.clone_from(c),
        _ => {
            let _ = id.push(1);
            let _ = id.extend_from_slice(&cfg.mac);
        }
    }
}

fn backoff_base_ms(tx_count: u8) -> u64 {
    // 4, 8, 16, 32, then 64 s (RFC 2131 §4.1).
    let shift = u32::from(tx_count.saturating_sub(1).min(4));
    4_000u64 << shift
}

impl Client {
    /// A stopped client; call [`Client::start`].
    pub fn new(cfg: Config) -> Self {
        let mut client_id = ClientId::new();
        fill_client_id(&mut client_id, &cfg);
        let rng = Rng::new(cfg.seed, cfg.mac);
        let remembered = cfg.requested_ip.filter(|ip| is_unicast(*ip));
        Client {
            cfg,
            client_id,
            rng,
            state: State::Stopped,
            xid: 0,
            exchange_start_ms: 0,
            discover_secs: 0,
            request_sent_ms: 0,
            tx_count: 0,
            pending: None,
            pending_since_ms: 0,
            deadline: None,
            offer: None,
            reboot_ip: None,
            candidate: None,
            lease: None,
            remembered,
            naks: 0,
            events: heapless::Deque::new(),
        }
    }

    /// Make this client what [`Client::new`] with `cfg` makes, in place: field by field, so
    /// that no second client (over a kilobyte with its event queue) is assembled on the
    /// stack, as `*client = Client::new(cfg)` does.
    pub fn reset(&mut self, cfg: Config) {
        fill_client_id(&mut self.client_id, &cfg);
        self.rng = Rng::new(cfg.seed, cfg.mac);
        self.remembered = cfg.requested_ip.filter(|ip| is_unicast(*ip));
        self.cfg = cfg;
        self.state = State::Stopped;
        self.xid = 0;
        self.exchange_start_ms = 0;
        self.discover_secs = 0;
        self.request_sent_ms = 0;
        self.tx_count = 0;
        self.pending = None;
        self.pending_since_ms = 0;
        self.deadline = None;
        self.offer = None;
        self.reboot_ip = None;
        self.candidate = None;
        self.lease = None;
        self.naks = 0;
        self.events.clear();
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The lease in use (announced with [`Event::Bound`] and not yet lost or released).
    pub fn lease(&self) -> Option<&Lease> {
        self.lease.as_ref()
    }

    /// The address the client will ask for next (e.g. to keep in flash for
    /// [`Config::requested_ip`] after a reboot).
    pub fn remembered_address(&self) -> Option<Ipv4Addr> {
        self.remembered
    }

    /// Transaction id of the current exchange.
    pub fn xid(&self) -> u32 {
        self.xid
    }

    /// True while the client exchanges messages and needs its UDP socket on port 68; false
    /// in BOUND, PROBING, LINK-DOWN, STOPPED and while waiting in INIT, when the socket can
    /// be closed (see the module docs).
    pub fn needs_socket(&self) -> bool {
        self.pending.is_some()
            || matches!(
                self.state,
                State::Selecting
                    | State::Requesting
                    | State::Rebooting
                    | State::Renewing
                    | State::Rebinding
                    | State::InitReboot
            )
    }

    /// Start (or restart) acquisition: with an unexpired lease or a remembered address,
    /// confirm it with INIT-REBOOT; otherwise DISCOVER.
    pub fn start(&mut self, now_ms: u64) {
        self.offer = None;
        self.candidate = None;
        self.naks = 0;
        self.begin(now_ms);
    }

    fn begin(&mut self, now: u64) {
        let known = self.lease.as_ref().map(|l| l.address).or(self.remembered);
        match known {
            Some(ip) => self.enter_init_reboot(now, ip),
            None => self.enter_init(now, 0),
        }
    }

    /// Report a link change. Down: stop sending (an active lease keeps running and may
    /// expire). Up: confirm the current address with INIT-REBOOT, or DISCOVER. Ignored while
    /// stopped.
    pub fn link_changed(&mut self, up: bool, now_ms: u64) {
        self.poll(now_ms);
        if self.state == State::Stopped {
            return;
        }
        self.pending = None;
        self.deadline = None;
        self.offer = None;
        self.candidate = None;
        if up {
            self.begin(now_ms);
        } else {
            self.state = State::LinkDown;
        }
    }

    /// Give the address back: a RELEASE is queued (unicast to the server) when a DHCP lease
    /// is held, and the client stops; [`Event::Released`] follows once the RELEASE is taken
    /// by [`Client::poll_transmit`]. Without a lease the client just stops.
    pub fn release(&mut self, now_ms: u64) {
        self.poll(now_ms);
        self.offer = None;
        self.candidate = None;
        self.deadline = None;
        self.pending = None;
        self.state = State::Stopped;
        if let Some(l) = self.lease.take() {
            if let Some(server) = l.server_id {
                self.new_exchange(now_ms);
                self.pending = Some(Pending::Release {
                    ip: l.address,
                    server,
                });
                self.pending_since_ms = now_ms;
            }
        }
        self.remembered = None;
    }

    /// The caller's answer to [`Event::Probe`]: `in_use` = something answered for the address.
    pub fn probe_result(&mut self, in_use: bool, now_ms: u64) {
        if !PROBE || self.state != State::Probing {
            return;
        }
        let Some(cand) = self.candidate.take() else {
            return;
        };
        if in_use {
            self.decline(cand, now_ms);
        } else {
            self.bind(cand, now_ms);
        }
    }

    /// When the client next needs [`Client::poll`] (or [`Client::poll_transmit`]); `None`
    /// when it waits for nothing but datagrams or calls (stopped, infinite lease).
    pub fn poll_at(&self) -> Option<u64> {
        let mut t: Option<u64> = None;
        let mut min = |v: Option<u64>| {
            if let Some(v) = v {
                t = Some(t.map_or(v, |x| x.min(v)));
            }
        };
        if self.pending.is_some() {
            min(Some(self.pending_since_ms));
        }
        min(self.deadline);
        if let Some(l) = &self.lease {
            if self.state != State::Stopped {
                min(l.expires_at_ms());
            }
            match self.state {
                State::Bound => min(l.renew_at_ms()),
                State::Renewing => min(l.rebind_at_ms()),
                _ => {}
            }
        }
        t
    }

    /// Run the timers up to `now_ms`: retransmissions, T1, T2, expiry, timeouts.
    pub fn poll(&mut self, now_ms: u64) {
        // A state change can make the next one due at once (e.g. T1 and T2 both past);
        // a handful of rounds is always enough.
        for _ in 0..6 {
            if !self.step(now_ms) {
                break;
            }
        }
    }

    fn deadline_due(&self, now: u64) -> bool {
        self.deadline.is_some_and(|d| now >= d)
    }

    /// One timer transition; true if something changed.
    fn step(&mut self, now: u64) -> bool {
        if self.state != State::Stopped {
            if let Some(exp) = self.lease.as_ref().and_then(Lease::expires_at_ms) {
                if now >= exp {
                    w5500_log::warn!("dhcp: lease expired");
                    self.lose();
                    if self.state != State::LinkDown {
                        self.enter_init(now, 0);
                    }
                    return true;
                }
            }
        }
        match self.state {
            State::Bound => {
                let t1 = self.lease.as_ref().and_then(Lease::renew_at_ms);
                if t1.is_some_and(|t| now >= t) {
                    w5500_log::info!("dhcp: T1, renewing");
                    self.state = State::Renewing;
                    self.new_exchange(now);
                    self.queue(Pending::Request, now);
                    return true;
                }
            }
            State::Renewing => {
                let t2 = self.lease.as_ref().and_then(Lease::rebind_at_ms);
                if t2.is_some_and(|t| now >= t) {
                    w5500_log::info!("dhcp: T2, rebinding");
                    self.state = State::Rebinding;
                    self.new_exchange(now);
                    self.queue(Pending::Request, now);
                    return true;
                }
                if self.deadline_due(now) {
                    self.queue(Pending::Request, now);
                    return true;
                }
            }
            State::Rebinding => {
                if self.deadline_due(now) {
                    self.queue(Pending::Request, now);
                    return true;
                }
            }
            State::Init => {
                if self.pending.is_none() && self.deadline_due(now) {
                    self.start_discover(now);
                    return true;
                }
            }
            State::Selecting => {
                if self.deadline_due(now) {
                    self.queue(Pending::Discover, now);
                    return true;
                }
            }
            State::Requesting => {
                if self.deadline_due(now) {
                    if self.tx_count >= MAX_REQUEST_TRANSMISSIONS {
                        w5500_log::warn!("dhcp: no answer to REQUEST, restarting");
                        self.offer = None;
                        self.enter_init(now, 0);
                    } else {
                        self.queue(Pending::Request, now);
                    }
                    return true;
                }
            }
            State::Rebooting => {
                if self.deadline_due(now) {
                    if self.tx_count >= MAX_REQUEST_TRANSMISSIONS {
                        self.reboot_ip = None;
                        if self.lease.is_some() {
                            // RFC 2131 §3.2: keep using the unexpired lease.
                            w5500_log::warn!("dhcp: no answer to INIT-REBOOT, keeping the lease");
                            self.deadline = None;
                            self.state = State::Bound;
                        } else {
                            self.enter_init(now, 0);
                        }
                    } else {
                        self.queue(Pending::Request, now);
                    }
                    return true;
                }
            }
            State::Probing if PROBE => {
                if self.deadline_due(now) {
                    w5500_log::warn!("dhcp: no probe result, assuming the address is free");
                    if let Some(c) = self.candidate.take() {
                        self.bind(c, now);
                    } else {
                        self.enter_init(now, 0);
                    }
                    return true;
                }
            }
            // Probing without PROBE: never entered.
            State::Probing | State::InitReboot | State::Stopped | State::LinkDown => {}
        }
        false
    }

    /// The next event for the OS layer.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn emit(&mut self, e: Event) {
        if self.events.is_full() {
            w5500_log::warn!("dhcp: event queue full, dropping the oldest");
            let _ = self.events.pop_front();
        }
        let _ = self.events.push_back(e);
    }

    fn new_exchange(&mut self, now: u64) {
        self.xid = self.rng.next_u32();
        self.exchange_start_ms = now;
        self.tx_count = 0;
        self.deadline = None;
    }

    fn queue(&mut self, p: Pending, now: u64) {
        self.pending = Some(p);
        self.pending_since_ms = now;
        self.deadline = None;
    }

    fn jitter(&mut self) -> i64 {
        self.rng.below(2001) as i64 - 1000
    }

    fn jittered(&mut self, base_ms: u64) -> u64 {
        let j = self.jitter();
        base_ms.saturating_add_signed(j)
    }

    fn enter_init(&mut self, now: u64, delay_ms: u64) {
        self.state = State::Init;
        self.pending = None;
        self.offer = None;
        self.candidate = None;
        self.reboot_ip = None;
        if delay_ms == 0 {
            self.start_discover(now);
        } else {
            self.deadline = Some(now.saturating_add(delay_ms));
        }
    }

    fn start_discover(&mut self, now: u64) {
        self.state = State::Init;
        self.new_exchange(now);
        self.queue(Pending::Discover, now);
    }

    fn enter_init_reboot(&mut self, now: u64, ip: Ipv4Addr) {
        self.state = State::InitReboot;
        self.reboot_ip = Some(ip);
        self.new_exchange(now);
        self.queue(Pending::Request, now);
    }

    fn lose(&mut self) {
        if self.lease.take().is_some() {
            self.emit(Event::Lost);
        }
    }

    fn decline(&mut self, cand: Lease, now: u64) {
        w5500_log::warn!("dhcp: address in use, declining:", cand.address);
        self.remembered = None;
        self.emit(Event::Declined(cand.address));
        self.offer = None;
        self.reboot_ip = None;
        self.state = State::Init;
        self.new_exchange(now);
        let wait = DECLINE_WAIT_MS.saturating_add(self.rng.below(1001));
        match cand.server_id {
            Some(server) => self.queue(
                Pending::Decline {
                    ip: cand.address,
                    server,
                },
                now,
            ),
            None => self.pending = None,
        }
        self.deadline = Some(now.saturating_add(wait));
    }

    fn bind(&mut self, lease: Lease, _now: u64) {
        w5500_log::info!("dhcp: bound to", lease.address);
        self.remembered = Some(lease.address);
        self.lease = Some(lease);
        self.naks = 0;
        self.offer = None;
        self.reboot_ip = None;
        self.deadline = None;
        self.pending = None;
        self.state = State::Bound;
        self.emit(Event::Bound);
    }

    fn secs(&self, now: u64) -> u16 {
        // In 32 bits (no 64-bit division): anything past u32::MAX ms saturates anyway.
        let ms = u32::try_from(now.saturating_sub(self.exchange_start_ms)).unwrap_or(u32::MAX);
        u16::try_from(ms / 1000).unwrap_or(u16::MAX)
    }

    /// Write the next datagram into `buf` (at least [`MAX_REQUEST_LEN`] bytes) and say where
    /// to send it. Runs [`Client::poll`] first. `None` when nothing is due (or `buf` is too
    /// small, which then counts as a lost datagram).
    pub fn poll_transmit(&mut self, now_ms: u64, buf: &mut [u8]) -> Option<Transmit> {
        self.poll(now_ms);
        let p = self.pending.take()?;
        let (len, dst, message_type) = match self.plan(p, now_ms) {
            Some((req, dst)) => (wire::build(&req, buf), dst, req.message_type),
            None => {
                // Inconsistent state (cannot happen); start over rather than stall.
                w5500_log::error!("dhcp: nothing to build the message from, restarting");
                self.enter_init(now_ms, 0);
                return None;
            }
        };
        if len.is_none() {
            w5500_log::error!("dhcp: transmit buffer too small; bytes", buf.len());
        }
        self.sent(p, now_ms);
        Some(Transmit {
            dst,
            len: len?,
            message_type,
        })
    }

    /// The message for `p` in the current state, and its destination (RFC 2131 §4.4.1
    /// table 5, §4.4.5).
    fn plan(&self, p: Pending, now: u64) -> Option<(wire::Request<'_>, SocketAddrV4)> {
        let bcast = SocketAddrV4::new(Ipv4Addr::BROADCAST, SERVER_PORT);
        let mms = self
            .cfg
            .max_message_size
            .clamp(DEFAULT_MAX_MESSAGE_SIZE, MAX_MAX_MESSAGE_SIZE);
        let mut req = wire::Request {
            message_type: MessageType::Discover,
            xid: self.xid,
            secs: self.secs(now),
            broadcast: true,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            mac: self.cfg.mac,
            client_id: &self.client_id,
            requested_ip: None,
            server_id: None,
            hostname: self.cfg.hostname.as_ref().map(|h| h.as_str()),
            max_message_size: Some(mms),
            parameter_request: true,
        };
        let dst = match p {
            Pending::Discover => {
                req.requested_ip = self.remembered;
                bcast
            }
            Pending::Request => {
                req.message_type = MessageType::Request;
                match self.state {
                    State::Requesting => {
                        let o = self.offer?;
                        req.secs = self.discover_secs;
                        req.requested_ip = Some(o.ip);
                        req.server_id = Some(o.server);
                        bcast
                    }
                    State::InitReboot | State::Rebooting => {
                        req.requested_ip = Some(self.reboot_ip?);
                        bcast
                    }
                    State::Renewing | State::Rebinding => {
                        let l = self.lease.as_ref()?;
                        req.ciaddr = l.address;
                        req.broadcast = false;
                        if self.state == State::Renewing {
                            SocketAddrV4::new(l.server_id?, SERVER_PORT)
                        } else {
                            bcast
                        }
                    }
                    _ => return None,
                }
            }
            Pending::Decline { ip, server } | Pending::Release { ip, server } => {
                let decline = matches!(p, Pending::Decline { .. });
                req.secs = 0;
                req.broadcast = false;
                req.hostname = None;
                req.max_message_size = None;
                req.parameter_request = false;
                req.server_id = Some(server);
                if decline {
                    // Broadcast: the client has no usable address (RFC 2131 §4.4.4).
                    req.message_type = MessageType::Decline;
                    req.requested_ip = Some(ip);
                    bcast
                } else {
                    // Unicast to the server, from the address being released (§4.4.6).
                    req.message_type = MessageType::Release;
                    req.ciaddr = ip;
                    SocketAddrV4::new(server, SERVER_PORT)
                }
            }
        };
        Some((req, dst))
    }

    /// Bookkeeping after a message left (or was lost to a short buffer): state change and
    /// the retransmission deadline.
    fn sent(&mut self, p: Pending, now: u64) {
        match p {
            Pending::Discover => {
                self.discover_secs = self.secs(now);
                self.state = State::Selecting;
                self.tx_count = self.tx_count.saturating_add(1);
                let base = backoff_base_ms(self.tx_count);
                self.deadline = Some(now.saturating_add(self.jittered(base)));
            }
            Pending::Request => {
                if self.tx_count == 0 {
                    self.request_sent_ms = now;
                }
                self.tx_count = self.tx_count.saturating_add(1);
                if self.state == State::InitReboot {
                    self.state = State::Rebooting;
                }
                let lease = self.lease.as_ref();
                self.deadline = match self.state {
                    State::Renewing => lease.and_then(Lease::rebind_at_ms).map(|t2| {
                        let half = t2.saturating_sub(now) / 2;
                        now.saturating_add(half.max(MIN_RENEW_RETRY_MS)).min(t2)
                    }),
                    State::Rebinding => lease.and_then(Lease::expires_at_ms).map(|exp| {
                        let half = exp.saturating_sub(now) / 2;
                        now.saturating_add(half.max(MIN_RENEW_RETRY_MS)).min(exp)
                    }),
                    _ => {
                        let base = backoff_base_ms(self.tx_count);
                        Some(now.saturating_add(self.jittered(base)))
                    }
                };
            }
            Pending::Decline { .. } => {}
            Pending::Release { .. } => {
                self.emit(Event::Released);
            }
        }
    }

    /// Feed a datagram received on port 68 from `from`. Returns true when it was accepted as
    /// the answer the current state waits for; anything else (wrong port, `op`, `xid`,
    /// `chaddr`, cookie, type or server id; stray or malformed) is ignored and returns false.
    pub fn handle(&mut self, now_ms: u64, from: SocketAddrV4, datagram: &[u8]) -> bool {
        self.poll(now_ms);
        let waiting = matches!(
            self.state,
            State::Selecting
                | State::Requesting
                | State::Rebooting
                | State::Renewing
                | State::Rebinding
        );
        if !waiting || from.port() != SERVER_PORT {
            return false;
        }
        let Ok(r) = wire::parse(datagram) else {
            return false;
        };
        if r.op != wire::BOOTREPLY
            || r.xid != self.xid
            || r.chaddr.get(..6) != Some(&self.cfg.mac[..])
        {
            return false;
        }
        let Some(t) = r.message_type else {
            return false;
        };
        let Some(server) = r.server_id else {
            w5500_log::debug!("dhcp: reply without server identifier ignored");
            return false;
        };
        let now = now_ms;
        match (self.state, t) {
            (State::Selecting, MessageType::Offer) => {
                if !is_unicast(r.yiaddr) || !is_unicast(server) {
                    return false;
                }
                w5500_log::info!("dhcp: offer of", r.yiaddr, "from", server);
                self.offer = Some(Offer {
                    ip: r.yiaddr,
                    server,
                    lease_secs: r.lease_secs,
                });
                self.state = State::Requesting;
                self.tx_count = 0;
                self.queue(Pending::Request, now);
                true
            }
            (State::Requesting, MessageType::Ack) => {
                let Some(o) = self.offer else { return false };
                if server != o.server || r.yiaddr != o.ip {
                    return false;
                }
                let lease = self.lease_from(&r, o.ip, o.lease_secs);
                self.acquired(lease, now);
                true
            }
            (State::Requesting, MessageType::Nak) => {
                if self.offer.is_none_or(|o| o.server != server) {
                    return false;
                }
                self.nak(now);
                true
            }
            (State::Rebooting, MessageType::Ack) => {
                let Some(ip) = self.reboot_ip else {
                    return false;
                };
                if r.yiaddr != ip {
                    return false;
                }
                let lease = self.lease_from(&r, ip, None);
                if self.lease.as_ref().is_some_and(|l| l.address == ip) {
                    self.extended(lease, Event::Renewed);
                } else {
                    self.acquired(lease, now);
                }
                true
            }
            (State::Rebooting, MessageType::Nak) => {
                self.nak(now);
                true
            }
            (State::Renewing | State::Rebinding, MessageType::Ack | MessageType::Nak) => {
                let Some(cur) = self.lease.as_ref() else {
                    return false;
                };
                if self.state == State::Renewing && cur.server_id != Some(server) {
                    return false;
                }
                let ip = cur.address;
                if t == MessageType::Nak {
                    self.nak(now);
                    return true;
                }
                if r.yiaddr != ip && !r.yiaddr.is_unspecified() {
                    w5500_log::warn!("dhcp: renewal ACK for another address ignored");
                    return false;
                }
                let lease = self.lease_from(&r, ip, None);
                let ev = if self.state == State::Renewing {
                    Event::Renewed
                } else {
                    Event::Rebound
                };
                self.extended(lease, ev);
                true
            }
            _ => false,
        }
    }

    fn nak(&mut self, now: u64) {
        w5500_log::warn!("dhcp: NAK");
        self.lose();
        self.remembered = None;
        self.naks = self.naks.saturating_add(1);
        let delay = if self.naks <= 1 {
            0
        } else {
            let base = backoff_base_ms(self.naks - 1);
            self.jittered(base)
        };
        self.enter_init(now, delay);
    }

    /// A new address was ACKed (REQUESTING, or REBOOTING without a lease): probe, then bind.
    fn acquired(&mut self, lease: Lease, now: u64) {
        self.offer = None;
        self.reboot_ip = None;
        self.pending = None;
        if PROBE && self.cfg.probe {
            self.state = State::Probing;
            self.deadline = Some(now.saturating_add(PROBE_TIMEOUT_MS));
            self.emit(Event::Probe(lease.address));
            self.candidate = Some(lease);
        } else {
            self.bind(lease, now);
        }
    }

    /// The current lease was extended.
    fn extended(&mut self, lease: Lease, ev: Event) {
        w5500_log::info!("dhcp: lease extended:", lease.address);
        self.remembered = Some(lease.address);
        self.lease = Some(lease);
        self.naks = 0;
        self.reboot_ip = None;
        self.deadline = None;
        self.pending = None;
        self.state = State::Bound;
        self.emit(ev);
    }

    fn lease_from(&self, r: &wire::Reply, ip: Ipv4Addr, offered: Option<u32>) -> Lease {
        let (lease_secs, t1_secs, t2_secs) =
            lease_times(r.lease_secs.or(offered), r.t1_secs, r.t2_secs);
        Lease {
            address: ip,
            subnet_mask: r
                .subnet_mask
                .filter(|m| is_contiguous_mask(*m))
                .unwrap_or_else(|| classful_mask(ip)),
            gateway: r.router,
            dns_servers: r.dns.clone(),
            domain: r.domain.clone(),
            lease_secs,
            t1_secs,
            t2_secs,
            server_id: r.server_id,
            acquired_ms: self.request_sent_ms,
        }
    }
}

/// Fuzz entry point for the reply parser and the client's reply handling: parses `data`,
/// then feeds it (with the `xid` and `chaddr` patched to match) to a client waiting in
/// SELECTING and to one in REQUESTING. Must never panic.
pub fn fuzz_parse(data: &[u8]) {
    let _ = wire::parse(data);
    let mac = [2, 0, 0, 0, 0, 1];
    let mut buf = [0u8; MAX_REQUEST_LEN];
    let mut patched = [0u8; 1500];
    let n = data.len().min(patched.len());
    if let (Some(dst), Some(src)) = (patched.get_mut(..n), data.get(..n)) {
        dst.copy_from_slice(src);
    }
    let from = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), SERVER_PORT);
    let mut c = Client::new(Config::new(mac, 1));
    c.start(0);
    let _ = c.poll_transmit(0, &mut buf);
    let xid = c.xid().to_be_bytes();
    if let Some(x) = patched.get_mut(4..8) {
        x.copy_from_slice(&xid);
    }
    if let Some(ch) = patched.get_mut(28..34) {
        ch.copy_from_slice(&mac);
    }
    let msg = patched.get(..n).unwrap_or(&[]);
    let _ = c.handle(1, from, msg);
    let _ = c.poll_transmit(1, &mut buf);
    let _ = c.handle(2, from, msg);
    let _ = c.poll_transmit(2, &mut buf);
    while c.poll_event().is_some() {}
    let _ = c.poll_at();
}

#[cfg(test)]
mod tests {
    use super::Rng;

    /// The jitter of RFC 2131 §4.1 (±1 s) and the DECLINE wait draw `below(n)`: worked out
    /// in 32 bits, it must equal the plain 64-bit `x % n` for every draw.
    #[test]
    fn rfc2131_4_1_jitter_draw_equals_64_bit_modulo() {
        for seed in [1u64, 0xdead_beef, u64::MAX] {
            let mut a = Rng::new(seed, [2, 0, 0, 0, 0, 1]);
            let mut b = a.clone();
            for n in [1u16, 2, 3, 7, 1000, 1001, 2001, u16::MAX] {
                for _ in 0..200 {
                    assert_eq!(a.below(n), b.next_u64() % u64::from(n));
                }
            }
        }
    }
}
