//! The client's state machine ([`Client`]): its states and events, how it is made, started,
//! stopped and told about the link and the probe, and the transitions the timers, transmits
//! and replies share. The timers (T1, T2, expiry, retransmissions) are in `timers`, the
//! messages it sends in `transmit`, the replies it accepts in `receive`.

mod receive;
mod timers;
mod transmit;

use core::net::{Ipv4Addr, SocketAddrV4};

use super::rng::Rng;
use super::wire::is_unicast;
#[cfg(doc)]
use super::PROBE_TIMEOUT_MS;
use super::{ClientId, Config, Lease, MessageType, DECLINE_WAIT_MS, EVENT_QUEUE, PROBE};

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
///
/// # Example
/// A lease from the DHCP server of the simulator's standard LAN (`w5500-sim`): a host of
/// the LAN stands in for the chip's UDP socket on port 68.
/// ```
/// use std::net::Ipv4Addr;
///
/// use w5500_netsvc::dhcp::{Client, Config, Event, State, MAX_REQUEST_LEN};
/// use w5500_sim::lan::{standard, Lan};
/// use w5500_sim::net::Network;
/// use w5500_sim::time::Instant;
///
/// let mut lan = Lan::standard();
/// let port68 = lan.add_simple_host("dut", Ipv4Addr::new(10, 77, 0, 60));
/// lan.bind_udp_recorder(port68, 68);
///
/// let mac = [0x02, 0x08, 0xdc, 0x12, 0x34, 0x56];
/// let mut client = Client::new(Config::new(mac, 42));
/// let mut buf = [0u8; MAX_REQUEST_LEN];
/// let mut taken = 0;
/// client.start(lan.now().as_millis());
/// for _ in 0..100 {
///     let now = lan.now().as_millis();
///     // DISCOVER, then REQUEST: broadcast from port 68 to port 67.
///     while let Some(t) = client.poll_transmit(now, &mut buf) {
///         lan.udp_send(port68, 68, t.dst, &buf[..t.len]);
///     }
///     while let Some(event) = client.poll_event() {
///         match event {
///             // RFC 2131 §4.4.1: nobody answered the ARP probe, the address is free.
///             Event::Probe(_) => client.probe_result(false, now),
///             Event::Bound => println!("bound: {:?}", client.lease()),
///             _ => {}
///         }
///     }
///     if client.state() == State::Bound {
///         break;
///     }
///     // 10 ms of the LAN, then the datagrams that came in (OFFER, then ACK).
///     lan.poll(Instant::from_millis(now + 10));
///     let arrived = lan.udp_recorded(port68, 68);
///     for d in arrived.iter().skip(taken) {
///         client.handle(lan.now().as_millis(), d.src, &d.payload);
///     }
///     taken = arrived.len();
/// }
/// let lease = client.lease().expect("a lease");
/// assert_eq!(lease.address, standard::POOL_START);
/// assert_eq!(lease.gateway, Some(standard::GATEWAY));
/// assert_eq!(lease.dns_servers[0], standard::GATEWAY);
/// // Bound until T1: the socket on port 68 may be closed and used for something else.
/// assert!(!client.needs_socket());
/// ```
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
}
