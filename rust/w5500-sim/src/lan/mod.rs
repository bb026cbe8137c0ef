//! The in-memory LAN behind the simulated chip's PHY.
//!
//! A [`Lan`] is a switch with hosts on it. It implements [`Network`]: the chip hands it
//! structured Ethernet [`Frame`]s and gets frames back, each at its own arrival time (a one-way
//! latency, 20 µs by default, plus serialization at 100 Mbit/s on the port towards the
//! receiver; frames to one receiver stay in order). Hosts run small applications over their
//! own ARP, ICMP echo, UDP and TCP ([`tcp`]), and everything is deterministic: the only
//! randomness comes from seeded xorshift generators ([`util::XorShift`]).
//!
//! The switch floods broadcast and multicast frames to every port (the chip included) and
//! sends a unicast frame to the host owning its destination MAC, or to the chip when no host
//! owns it. Ports belong to segments: the chip and ordinary hosts are on segment 0; a host
//! with [`Host::forwarding`] and an extra interface ([`host::Iface`]) routes to hosts on other
//! segments, which use it as their [`Host::gateway`]. Hosts answer ARP for their own address only, so an address without a host gets no
//! answer and the chip's ARP times out.
//!
//! # The standard topology ([`Lan::standard`])
//! Subnet 10.77.0.0/24 (these addresses exist only inside the simulator), MAC of a host
//! `02:00:` followed by its four address bytes (10.77.0.1 is `02:00:0a:4d:00:01`):
//!
//! | Address | Name | Runs |
//! |---|---|---|
//! | 10.77.0.1 | `gw` | gateway; DHCP server (UDP 67, pool .100–.199, lease 3600 s, T1 1800 s, T2 3150 s, router .1, DNS .1 and .2, domain `sim.lan`); DNS server (UDP/TCP 53) |
//! | 10.77.0.2 | `ns2` | second DNS server (same zone) |
//! | 10.77.0.10 | `http` | HTTP/1.1 on TCP 80: `/` (hello text), `/big` (100 000 pattern bytes), `/bytes/N` (N pattern bytes, any size, generated as sent), 404 otherwise |
//! | 10.77.0.11 | `echo` | TCP echo on 7 and 7000, UDP echo on 7 and 7000 |
//! | 10.77.0.12 | `bulk` | byte source on TCP 19 (1 MiB of the pattern, generated as sent, then FIN), byte sink on TCP 9 |
//! | 10.77.0.20 | `peer` | nothing: a host tests drive by hand |
//! | 10.77.99.10 | `remote` | on another subnet behind `gw` (which is 10.77.99.1 there and forwards): HTTP on 80 (`/`), TCP and UDP echo on 7. The chip reaches it only through its gateway (GAR = 10.77.0.1); ARP for it from 10.77.0.0/24 gets no answer |
//! | 10.77.0.50 | – | suggested static address for the chip (no host owns it) |
//! | 10.77.0.254 | – | nobody (ARP for it times out) |
//!
//! DNS zone `sim.lan`: `gw`, `ns2`, `http`, `echo`, `bulk`, `peer` (A records of the hosts
//! above, and `remote`), `www` CNAME `http`, `alias` CNAME `www` (a chain), `multi` with three A records
//! (.10, .11, .12); everything else is NXDOMAIN. See [`standard`] for the constants.
//!
//! # Applications
//! A host runs one [`UdpApp`] per bound UDP port and, per listening TCP port, a factory that
//! makes one [`TcpApp`] per accepted connection. Apps act through [`UdpCtx`] / [`TcpIo`]
//! (send, close, abort) and are `Any`, so tests downcast them ([`Lan::udp_app`],
//! [`Lan::tcp_app`]) to read what they recorded or to switch fault modes. Fixtures: [`dhcp`],
//! [`dns`], and [`apps`] (echo, HTTP, byte source and sink). For a test acting as the chip's
//! peer: [`Lan::tcp_connect_recorder`], [`Lan::tcp_send`], [`Lan::tcp_close`],
//! [`Lan::tcp_abort`], [`Lan::tcp_received`], [`Lan::udp_send`], [`Lan::bind_udp_recorder`],
//! [`Lan::udp_recorded`], [`Lan::ping`]. Actions happen at the LAN's current time (the latest
//! instant given to `poll` or `transmit`).
//!
//! # Clients that connect to the chip
//! [`clients`]: hosts open TCP connections and send UDP datagrams *to* the chip on a
//! schedule ([`Lan::add_client`], [`Lan::add_clients`] from text), check the echo or the HTTP
//! response, and report each exchange ([`Lan::client_reports`], and `log`).
//!
//! # Bounds
//! Bodies are streamed ([`stream`]); what the LAN holds is bounded by [`LanLimits`] and,
//! inside an image, guarded by a [`MemoryGuard`] ([`limits`]); [`Lan::footprint`] counts it.
//!
//! Faults: [`Lan::set_silent`], [`Lan::drop_next_rx`], [`Lan::drop_next_tx`],
//! [`Lan::tcp_abort`] (remote reset), [`Lan::remove_host`] / [`Lan::add_host`], and the fault
//! modes of the DHCP and DNS servers.
//!
//! ```
//! use w5500_sim::lan::{standard, Lan};
//! use w5500_sim::net::{Arp, ArpOp, Body, Frame, MacAddr, Network};
//! use w5500_sim::time::Instant;
//!
//! let mut lan = Lan::standard();
//! let chip = MacAddr([0x02, 0, 0, 0, 0, 0x99]);
//! lan.transmit(Instant::ZERO, Frame {
//!     dst: MacAddr::BROADCAST,
//!     src: chip,
//!     body: Body::Arp(Arp {
//!         op: ArpOp::Request,
//!         sender_mac: chip,
//!         sender_ip: standard::CHIP_STATIC,
//!         target_mac: MacAddr::ZERO,
//!         target_ip: standard::GATEWAY,
//!     }),
//! });
//! let t = lan.next_event().unwrap();
//! lan.poll(t);
//! let t = lan.next_event().unwrap();
//! lan.poll(t);
//! let reply = lan.receive(t).unwrap();
//! assert!(matches!(reply.body, Body::Arp(a) if a.op == ArpOp::Reply && a.sender_ip == standard::GATEWAY));
//! ```

pub mod app;
pub mod apps;
pub mod clients;
pub mod dhcp;
pub mod dns;
pub mod host;
pub mod limits;
pub mod stream;
pub mod tcp;
pub mod util;

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::any::Any;
use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;

pub use app::{
    InDatagram, OutDatagram, TcpApp, TcpAppFactory, TcpIo, TcpOptions, TcpRecorder, TcpState,
    UdpApp, UdpCtx, UdpRecorder,
};
pub use clients::{ClientId, ClientReport, ClientSpec, Outcome};
pub use host::Host;
pub use limits::{Footprint, HeapUse, LanLimits, MemoryGuard};
pub use tcp::TcpConn;

use crate::net::{Body, Frame, Igmp, IpPayload, MacAddr, Network};
use crate::time::Instant;

/// At most this many host events run in one [`Network::poll`] (the rest run on the next).
const MAX_EVENTS_PER_POLL: usize = 200_000;
/// IGMP messages from the chip kept (oldest dropped first).
const KEEP_IGMP: usize = 256;

/// Index of a host on a [`Lan`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostId(pub usize);

/// A TCP connection of a host: the host and the connection's id within it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConnHandle {
    /// The host.
    pub host: HostId,
    /// The connection id within the host.
    pub conn: u32,
}

/// Which way a traced frame crossed the chip's cable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// The chip transmitted it.
    FromChip,
    /// It was delivered to the chip.
    ToChip,
}

/// One frame on the chip's cable, for tests that inspect traffic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceEntry {
    /// When it was transmitted (from the chip) or delivered (to the chip).
    pub at: Instant,
    /// Which way.
    pub dir: Direction,
    /// The frame.
    pub frame: Frame,
}

/// The in-memory LAN: a switch, its hosts, and the chip's port.
pub struct Lan {
    hosts: Vec<Option<Host>>,
    latency_us: u64,
    bitrate: u64,
    to_chip: VecDeque<(Instant, Frame)>,
    chip_port_free_ns: u64,
    to_hosts: VecDeque<(Instant, usize, u32, Frame)>,
    now: Instant,
    igmp_from_chip: Vec<(Instant, Ipv4Addr, Igmp)>,
    trace: Option<Vec<TraceEntry>>,
    /// Frames the chip transmitted.
    pub frames_from_chip: u64,
    /// Frames delivered to the chip.
    pub frames_to_chip: u64,
    /// Frames the switch dropped: more than [`LanLimits::max_frames_in_flight`] in flight, or
    /// the heap short ([`MemoryGuard`]).
    pub frames_dropped: u64,
    seed: u64,
    pub(crate) limits: LanLimits,
    pub(crate) guard: Option<MemoryGuard>,
    pub(crate) chip_ip: Option<Ipv4Addr>,
    pub(crate) chip_sipr: Option<Ipv4Addr>,
    pub(crate) clients: clients::Clients,
}

impl core::fmt::Debug for Lan {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Lan")
            .field("hosts", &self.hosts)
            .field("now", &self.now)
            .field("to_chip", &self.to_chip.len())
            .field("to_hosts", &self.to_hosts.len())
            .finish_non_exhaustive()
    }
}

impl Default for Lan {
    fn default() -> Self {
        Lan::new(0x77)
    }
}

impl Lan {
    /// An empty LAN; `seed` seeds every host's PRNG.
    pub fn new(seed: u64) -> Self {
        Lan {
            hosts: Vec::new(),
            latency_us: 20,
            bitrate: 100_000_000,
            to_chip: VecDeque::new(),
            chip_port_free_ns: 0,
            to_hosts: VecDeque::new(),
            now: Instant::ZERO,
            igmp_from_chip: Vec::new(),
            trace: None,
            frames_from_chip: 0,
            frames_to_chip: 0,
            frames_dropped: 0,
            seed,
            limits: LanLimits::HOST,
            guard: None,
            chip_ip: None,
            chip_sipr: None,
            clients: clients::Clients::default(),
        }
    }

    /// Set the one-way latency added to every frame (default 20 µs).
    pub fn set_latency(&mut self, latency: Duration) {
        self.latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
    }

    /// Set the link bit rate (default 100 Mbit/s).
    pub fn set_bitrate(&mut self, bits_per_sec: u64) {
        self.bitrate = bits_per_sec.max(1);
    }

    /// The LAN's current time: the latest instant given to `poll` or `transmit`.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Record every frame that crosses the chip's cable from now on.
    pub fn enable_trace(&mut self) {
        if self.trace.is_none() {
            self.trace = Some(Vec::new());
        }
    }

    /// Take the recorded trace.
    pub fn take_trace(&mut self) -> Vec<TraceEntry> {
        self.trace.as_mut().map(core::mem::take).unwrap_or_default()
    }

    /// Take the recorded trace and stop recording (a long-running image must not keep every
    /// frame).
    ///
    /// ```
    /// let mut lan = w5500_sim::Lan::standard();
    /// lan.enable_trace();
    /// assert!(lan.stop_trace().is_empty());
    /// assert!(lan.take_trace().is_empty());
    /// ```
    pub fn stop_trace(&mut self) -> Vec<TraceEntry> {
        self.trace.take().unwrap_or_default()
    }

    /// IGMP messages the chip sent, with the source address it used.
    pub fn igmp_from_chip(&self) -> &[(Instant, Ipv4Addr, Igmp)] {
        &self.igmp_from_chip
    }

    // ------------------------------------------------------------ hosts

    /// Add a host; returns its id.
    pub fn add_host(&mut self, mut host: Host) -> HostId {
        let id = self.hosts.len();
        host.limits = self.limits;
        host.guard = self.guard;
        host.reseed(
            self.seed
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .wrapping_add(id as u64 + 1),
        );
        self.hosts.push(Some(host));
        HostId(id)
    }

    /// Add a host named `name` at `ip` (/24) with MAC `02:00:` followed by the address bytes.
    pub fn add_simple_host(&mut self, name: &str, ip: Ipv4Addr) -> HostId {
        let o = ip.octets();
        self.add_host(Host::new(
            name,
            ip,
            24,
            MacAddr([0x02, 0x00, o[0], o[1], o[2], o[3]]),
        ))
    }

    /// Remove a host (it vanishes from the switch; frames in flight to it are lost).
    pub fn remove_host(&mut self, id: HostId) -> Option<Host> {
        self.to_hosts.retain(|(_, h, _, _)| *h != id.0);
        self.hosts.get_mut(id.0).and_then(Option::take)
    }

    /// The host `id`.
    pub fn host(&self, id: HostId) -> Option<&Host> {
        self.hosts.get(id.0).and_then(Option::as_ref)
    }

    /// The host `id`, mutably (fault knobs, binding apps). Frames it queues are sent at the
    /// next `poll`.
    pub fn host_mut(&mut self, id: HostId) -> Option<&mut Host> {
        self.hosts.get_mut(id.0).and_then(Option::as_mut)
    }

    /// The host owning `ip`.
    pub fn host_by_ip(&self, ip: Ipv4Addr) -> Option<HostId> {
        self.hosts
            .iter()
            .position(|h| h.as_ref().is_some_and(|h| h.ip == ip))
            .map(HostId)
    }

    /// The host named `name`.
    pub fn host_by_name(&self, name: &str) -> Option<HostId> {
        self.hosts
            .iter()
            .position(|h| h.as_ref().is_some_and(|h| h.name == name))
            .map(HostId)
    }

    /// Run `f` on host `id` at the LAN's current time and route what it sent.
    fn act<R>(&mut self, id: HostId, f: impl FnOnce(&mut Host, Instant) -> R) -> Option<R> {
        let now = self.now;
        // Everything due before the action happens first.
        self.run_until(now);
        let h = self.hosts.get_mut(id.0)?.as_mut()?;
        let r = f(h, now);
        self.flush_host(id.0, now);
        Some(r)
    }

    /// Fault: make a host silent (answers nothing, sends nothing) or talkative again.
    pub fn set_silent(&mut self, id: HostId, silent: bool) {
        if let Some(h) = self.host_mut(id) {
            h.silent = silent;
        }
    }

    /// Fault: drop the next `n` frames that reach host `id`.
    pub fn drop_next_rx(&mut self, id: HostId, n: u32) {
        if let Some(h) = self.host_mut(id) {
            h.drop_rx = n;
        }
    }

    /// Fault: drop the next `n` frames host `id` sends.
    pub fn drop_next_tx(&mut self, id: HostId, n: u32) {
        if let Some(h) = self.host_mut(id) {
            h.drop_tx = n;
        }
    }

    /// Host `id` joins multicast `group`.
    pub fn join_group(&mut self, id: HostId, group: Ipv4Addr) {
        if let Some(h) = self.host_mut(id) {
            h.join_group(group);
        }
    }

    /// Host `id` sends an IGMP membership query (RFC 2236 §2).
    pub fn igmp_query(&mut self, id: HostId, group: Ipv4Addr, max_resp: u8) {
        self.act(id, |h, now| h.igmp_query(now, group, max_resp));
    }

    /// Host `id` pings `dst`; replies land in [`Host::icmp_received`].
    pub fn ping(&mut self, id: HostId, dst: Ipv4Addr, ident: u16, seq: u16, data: &[u8]) {
        self.act(id, |h, now| h.ping(now, dst, ident, seq, data.to_vec()));
    }

    // ------------------------------------------------------------ UDP

    /// Bind a UDP app on host `id`.
    pub fn bind_udp(&mut self, id: HostId, port: u16, app: Box<dyn UdpApp>) {
        if let Some(h) = self.host_mut(id) {
            h.bind_udp(port, app);
        }
    }

    /// Host `id` sends a datagram from `src_port` to `dst`.
    pub fn udp_send(&mut self, id: HostId, src_port: u16, dst: SocketAddrV4, payload: &[u8]) {
        self.act(id, |h, now| {
            h.send_udp(now, src_port, dst, payload.to_vec())
        });
    }

    /// The app of type `T` bound to UDP `port` on host `id`.
    pub fn udp_app<T: UdpApp>(&self, id: HostId, port: u16) -> Option<&T> {
        let app: &dyn Any = self.host(id)?.udp_app(port)?;
        app.downcast_ref::<T>()
    }

    /// Bind a [`UdpRecorder`] on UDP `port` of host `id` (a test peer that keeps what it gets).
    pub fn bind_udp_recorder(&mut self, id: HostId, port: u16) {
        self.bind_udp(id, port, Box::new(UdpRecorder::default()));
    }

    /// Payloads a [`UdpRecorder`] on `port` of host `id` received, oldest first.
    pub fn udp_recorded(&self, id: HostId, port: u16) -> Vec<InDatagram> {
        self.udp_app::<UdpRecorder>(id, port)
            .map(|r| r.received.iter().map(|(_, d)| d.clone()).collect())
            .unwrap_or_default()
    }

    /// The app of type `T` bound to UDP `port` on host `id`, mutably (fault modes).
    pub fn udp_app_mut<T: UdpApp>(&mut self, id: HostId, port: u16) -> Option<&mut T> {
        let app: &mut dyn Any = self.host_mut(id)?.udp_app_mut(port)?;
        app.downcast_mut::<T>()
    }

    // ------------------------------------------------------------ TCP

    /// Listen on TCP `port` of host `id`, one app from `factory` per connection.
    pub fn listen_tcp(&mut self, id: HostId, port: u16, opts: TcpOptions, factory: TcpAppFactory) {
        if let Some(h) = self.host_mut(id) {
            h.listen_tcp(port, opts, factory);
        }
    }

    /// Host `id` connects to `remote` (e.g. the chip's listening socket) with `app`.
    pub fn tcp_connect(
        &mut self,
        id: HostId,
        remote: SocketAddrV4,
        opts: TcpOptions,
        app: Box<dyn TcpApp>,
    ) -> Option<ConnHandle> {
        self.act(id, |h, now| h.tcp_connect(now, None, remote, opts, app))
            .map(|conn| ConnHandle { host: id, conn })
    }

    /// Host `id` connects to `remote` with a [`TcpRecorder`] (the test's hand-driven peer).
    pub fn tcp_connect_recorder(&mut self, id: HostId, remote: SocketAddrV4) -> Option<ConnHandle> {
        self.tcp_connect(
            id,
            remote,
            TcpOptions::default(),
            Box::new(TcpRecorder::default()),
        )
    }

    fn with_conn(
        &mut self,
        c: ConnHandle,
        f: impl FnOnce(&mut TcpConn, Instant, &mut Vec<crate::net::TcpSegment>),
    ) -> bool {
        self.act(c.host, |h, now| {
            h.with_conn(now, c.conn, |conn, out| f(conn, now, out))
        })
        .unwrap_or(false)
    }

    /// Queue bytes on a connection (sent as the peer's window allows).
    pub fn tcp_send(&mut self, c: ConnHandle, data: &[u8]) -> bool {
        self.with_conn(c, |conn, now, out| conn.queue(now, data, out))
    }

    /// Close a connection (FIN after queued data; receiving continues: half-close).
    pub fn tcp_close(&mut self, c: ConnHandle) -> bool {
        self.with_conn(c, |conn, now, out| conn.close(now, out))
    }

    /// Fault: the host resets the connection (RST).
    pub fn tcp_abort(&mut self, c: ConnHandle) -> bool {
        self.with_conn(c, |conn, now, out| conn.abort(now, out))
    }

    /// Change how fast the host's application reads (see [`TcpOptions::read_rate`]).
    pub fn tcp_set_read_rate(&mut self, c: ConnHandle, rate: Option<u32>) -> bool {
        self.with_conn(c, |conn, now, out| conn.set_read_rate(now, rate, out))
    }

    /// The connection behind a handle.
    pub fn tcp_conn(&self, c: ConnHandle) -> Option<&TcpConn> {
        self.host(c.host)?.conn(c.conn)
    }

    /// The connection's state (`None` once the host forgot it).
    pub fn tcp_state(&self, c: ConnHandle) -> Option<TcpState> {
        self.tcp_conn(c).map(|c| c.state)
    }

    /// The connection's app as `T`.
    pub fn tcp_app<T: TcpApp>(&self, c: ConnHandle) -> Option<&T> {
        let app: &dyn Any = self.tcp_conn(c)?.app();
        app.downcast_ref::<T>()
    }

    /// Bytes a [`TcpRecorder`] connection received so far.
    pub fn tcp_received(&self, c: ConnHandle) -> Option<&[u8]> {
        self.tcp_app::<TcpRecorder>(c)
            .map(|r| r.received.as_slice())
    }

    /// Handles of every connection host `id` has (open and recently closed), oldest first.
    pub fn tcp_handles(&self, id: HostId) -> Vec<ConnHandle> {
        self.host(id)
            .map(|h| {
                h.conns()
                    .iter()
                    .map(|c| ConnHandle {
                        host: id,
                        conn: c.id,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Handles of host `id`'s connections on local `port`, oldest first.
    pub fn tcp_handles_on_port(&self, id: HostId, port: u16) -> Vec<ConnHandle> {
        self.tcp_handles(id)
            .into_iter()
            .filter(|c| self.tcp_conn(*c).is_some_and(|t| t.local.port() == port))
            .collect()
    }

    // ------------------------------------------------------------ switching

    fn arrival(&self, sent: Instant, port_free_ns: u64, frame: &Frame) -> (Instant, u64) {
        let ser = util::wire_ns(frame, self.bitrate);
        let earliest = sent
            .as_micros()
            .saturating_add(self.latency_us)
            .saturating_mul(1000)
            .saturating_add(ser);
        let at_ns = earliest.max(port_free_ns.saturating_add(ser));
        let at_us = at_ns.div_ceil(1000);
        (Instant::from_micros(at_us), at_ns)
    }

    /// False (and the frame counted as dropped) when the switch may not take another frame.
    fn admit(&mut self, frame: &Frame) -> bool {
        let in_flight = self.to_chip.len().saturating_add(self.to_hosts.len());
        let full = in_flight >= self.limits.max_frames_in_flight;
        let len = util::frame_len(frame);
        let short = self.guard.and_then(|g| g.critical(len));
        if full || short.is_some() {
            if self.frames_dropped.is_multiple_of(100) {
                match short {
                    Some(u) => log::warn!(
                        "LAN switch: frame dropped, simulator heap short ({} of {} bytes used); {} dropped so far",
                        u.used,
                        u.capacity,
                        self.frames_dropped + 1
                    ),
                    None => log::warn!(
                        "LAN switch: frame dropped, {in_flight} in flight; {} dropped so far",
                        self.frames_dropped + 1
                    ),
                }
            }
            self.frames_dropped = self.frames_dropped.saturating_add(1);
            return false;
        }
        true
    }

    fn enqueue_host(&mut self, sent: Instant, idx: usize, segment: u32, frame: Frame) {
        if !self.admit(&frame) {
            return;
        }
        let Some(Some(h)) = self.hosts.get(idx) else {
            return;
        };
        let (at, ns) = self.arrival(sent, h.port_free_ns, &frame);
        if let Some(Some(h)) = self.hosts.get_mut(idx) {
            h.port_free_ns = ns;
        }
        let pos = self
            .to_hosts
            .iter()
            .rposition(|(t, _, _, _)| *t <= at)
            .map_or(0, |p| p + 1);
        self.to_hosts.insert(pos, (at, idx, segment, frame));
    }

    fn enqueue_chip(&mut self, sent: Instant, frame: Frame) {
        if !self.admit(&frame) {
            return;
        }
        let (at, ns) = self.arrival(sent, self.chip_port_free_ns, &frame);
        self.chip_port_free_ns = ns;
        let pos = self
            .to_chip
            .iter()
            .rposition(|(t, _)| *t <= at)
            .map_or(0, |p| p + 1);
        self.to_chip.insert(pos, (at, frame));
    }

    /// Forward `frame` sent at `sent` on `segment` by host `from` (or by the chip when `None`).
    /// Only endpoints on that segment see it; the chip is on segment 0.
    fn route(&mut self, from: Option<usize>, segment: u32, sent: Instant, frame: Frame) {
        let group = frame.dst.is_multicast();
        let mut owned = false;
        let targets: Vec<usize> = self
            .hosts
            .iter()
            .enumerate()
            .filter_map(|(i, h)| {
                let h = h.as_ref()?;
                if !h.on_segment(segment) {
                    return None;
                }
                if h.mac == frame.dst {
                    owned = true;
                }
                (Some(i) != from && (group || h.mac == frame.dst)).then_some(i)
            })
            .collect();
        let to_chip = from.is_some() && segment == 0 && (group || !owned);
        let n = targets.len();
        for (k, i) in targets.into_iter().enumerate() {
            if k + 1 == n && !to_chip {
                self.enqueue_host(sent, i, segment, frame);
                return;
            }
            self.enqueue_host(sent, i, segment, frame.clone());
        }
        if to_chip {
            self.enqueue_chip(sent, frame);
        }
    }

    fn flush_host(&mut self, idx: usize, at: Instant) {
        let out = match self.hosts.get_mut(idx) {
            Some(Some(h)) => core::mem::take(&mut h.outbox),
            _ => return,
        };
        for (segment, f) in out {
            self.route(Some(idx), segment, at, f);
        }
    }

    fn next_host_timer(&self) -> Option<(Instant, usize)> {
        self.hosts
            .iter()
            .enumerate()
            .filter_map(|(i, h)| h.as_ref()?.next_timer().map(|t| (t, i)))
            .min()
    }

    fn run_until(&mut self, now: Instant) {
        for _ in 0..MAX_EVENTS_PER_POLL {
            let frame_at = self.to_hosts.front().map(|(t, _, _, _)| *t);
            let timer = self.next_host_timer();
            let client_at = self.clients.next_event();
            // Frames first, then host timers, then clients, at equal instants.
            let mut next: Option<(Instant, u8)> = None;
            for (t, kind) in [(frame_at, 0u8), (timer.map(|(t, _)| t), 1), (client_at, 2)] {
                if let Some(t) = t {
                    if next.is_none_or(|(n, _)| t < n) {
                        next = Some((t, kind));
                    }
                }
            }
            let Some((at, kind)) = next else {
                return;
            };
            if at > now {
                return;
            }
            match kind {
                0 => {
                    if let Some((at, idx, segment, frame)) = self.to_hosts.pop_front() {
                        if let Some(Some(h)) = self.hosts.get_mut(idx) {
                            h.handle_frame(at, segment, frame);
                        }
                        self.flush_host(idx, at);
                    }
                }
                1 => {
                    if let Some((t, i)) = timer {
                        self.fire_timer(t, i);
                    }
                }
                _ => self.run_clients(at),
            }
        }
    }

    fn fire_timer(&mut self, t: Instant, idx: usize) {
        if let Some(Some(h)) = self.hosts.get_mut(idx) {
            h.on_timer(t);
        }
        self.flush_host(idx, t);
    }
}

impl Lan {
    /// The zone both DNS servers of [`Lan::standard`] serve (TTL 300 s).
    pub fn standard_zone() -> dns::Zone {
        use standard as s;
        dns::Zone::new()
            .a("gw.sim.lan", s::GATEWAY, 300)
            .a("ns2.sim.lan", s::NS2, 300)
            .a("http.sim.lan", s::HTTP, 300)
            .a("echo.sim.lan", s::ECHO, 300)
            .a("bulk.sim.lan", s::BULK, 300)
            .a("peer.sim.lan", s::PEER, 300)
            .a("remote.sim.lan", s::REMOTE, 300)
            .cname("www.sim.lan", "http.sim.lan", 60)
            .cname("alias.sim.lan", "www.sim.lan", 60)
            .a("multi.sim.lan", s::HTTP, 30)
            .a("multi.sim.lan", s::ECHO, 30)
            .a("multi.sim.lan", s::BULK, 30)
    }

    /// What the HTTP host of [`Lan::standard`] serves: `/` (a line of text), `/big`
    /// ([`standard::BIG_BODY`] pattern bytes) and `/bytes/N` (N pattern bytes, any N), all
    /// streamed ([`stream`]).
    pub fn standard_http_content() -> apps::HttpContent {
        apps::HttpContent::new()
            .route("/", b"Hello from the simulated LAN\n".to_vec())
            .route_pattern("/big", standard::BIG_BODY as u64)
            .sized_pattern("/bytes/")
    }

    /// The DHCP configuration of the gateway in [`Lan::standard`].
    pub fn standard_dhcp() -> dhcp::DhcpConfig {
        use standard as s;
        let mut c = dhcp::DhcpConfig::new(s::GATEWAY, s::POOL_START, s::POOL_SIZE);
        c.subnet_mask = s::NETMASK;
        c.router = Some(s::GATEWAY);
        c.dns = alloc::vec![s::GATEWAY, s::NS2];
        c.domain = Some(alloc::string::String::from(s::DOMAIN));
        c.broadcast = Some(s::BROADCAST);
        c.lease_secs = 3600;
        c.t1_secs = Some(1800);
        c.t2_secs = Some(3150);
        c
    }

    /// The standard topology (see the module docs): gateway with DHCP and DNS, a second DNS
    /// server, HTTP, echo, byte source/sink, and an idle peer, on 10.77.0.0/24.
    pub fn standard() -> Lan {
        use standard as s;
        let mut lan = Lan::default();
        let gw = lan.add_simple_host("gw", s::GATEWAY);
        lan.bind_udp(
            gw,
            dhcp::SERVER_PORT,
            Box::new(dhcp::DhcpServer::new(Self::standard_dhcp())),
        );
        dns::install(&mut lan, gw, Self::standard_zone(), dns::DnsFault::None);
        let ns2 = lan.add_simple_host("ns2", s::NS2);
        dns::install(&mut lan, ns2, Self::standard_zone(), dns::DnsFault::None);
        let http = lan.add_simple_host("http", s::HTTP);
        lan.listen_tcp(
            http,
            80,
            TcpOptions::default(),
            apps::HttpServer::factory(Self::standard_http_content()),
        );
        let echo = lan.add_simple_host("echo", s::ECHO);
        for port in [7, 7000] {
            lan.listen_tcp(echo, port, TcpOptions::default(), apps::TcpEcho::factory());
            lan.bind_udp(echo, port, Box::new(apps::UdpEcho::default()));
        }
        let bulk = lan.add_simple_host("bulk", s::BULK);
        lan.listen_tcp(
            bulk,
            19,
            TcpOptions::default(),
            apps::ByteSource::factory(s::SOURCE_BYTES, apps::AfterSend::Close),
        );
        lan.listen_tcp(bulk, 9, TcpOptions::default(), apps::ByteSink::factory());
        lan.add_simple_host("peer", s::PEER);
        // A remote subnet behind the gateway: reachable only through the router's MAC.
        if let Some(g) = lan.host_mut(gw) {
            g.forwarding = true;
            g.extra_ifaces.push(host::Iface {
                ip: s::REMOTE_GATEWAY,
                prefix_len: 24,
                segment: 1,
            });
        }
        let o = s::REMOTE.octets();
        let mut remote = Host::new(
            "remote",
            s::REMOTE,
            24,
            MacAddr([0x02, 0x00, o[0], o[1], o[2], o[3]]),
        );
        remote.segment = 1;
        remote.gateway = Some(s::REMOTE_GATEWAY);
        let remote = lan.add_host(remote);
        let content =
            apps::HttpContent::new().route("/", b"Hello from behind the gateway\n".to_vec());
        lan.listen_tcp(
            remote,
            80,
            TcpOptions::default(),
            apps::HttpServer::factory(content),
        );
        lan.listen_tcp(remote, 7, TcpOptions::default(), apps::TcpEcho::factory());
        lan.bind_udp(remote, 7, Box::new(apps::UdpEcho::default()));
        lan
    }
}

impl Network for Lan {
    fn transmit(&mut self, now: Instant, frame: Frame) {
        if now > self.now {
            self.now = now;
        }
        self.frames_from_chip = self.frames_from_chip.saturating_add(1);
        match &frame.body {
            Body::Ipv4(p) => {
                if !p.src.is_unspecified() {
                    self.chip_ip = Some(p.src);
                }
                if let IpPayload::Igmp(igmp) = &p.payload {
                    host::keep_last(&mut self.igmp_from_chip, KEEP_IGMP);
                    self.igmp_from_chip.push((now, p.src, *igmp));
                }
            }
            Body::Arp(a) if !a.sender_ip.is_unspecified() => self.chip_ip = Some(a.sender_ip),
            _ => {}
        }
        if let Some(t) = self.trace.as_mut() {
            t.push(TraceEntry {
                at: now,
                dir: Direction::FromChip,
                frame: frame.clone(),
            });
        }
        self.route(None, 0, now, frame);
    }

    fn receive(&mut self, now: Instant) -> Option<Frame> {
        match self.to_chip.front() {
            Some((t, _)) if *t <= now => {
                let (at, frame) = self.to_chip.pop_front()?;
                self.frames_to_chip = self.frames_to_chip.saturating_add(1);
                if let Some(t) = self.trace.as_mut() {
                    t.push(TraceEntry {
                        at,
                        dir: Direction::ToChip,
                        frame: frame.clone(),
                    });
                }
                Some(frame)
            }
            _ => None,
        }
    }

    fn poll(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
        self.run_until(now);
        // Frames queued through `host_mut` outside any event.
        for i in 0..self.hosts.len() {
            self.flush_host(i, self.now);
        }
        self.run_until(now);
        // Verdicts the clients' applications reached during these events.
        self.run_clients(self.now);
    }

    fn next_event(&self) -> Option<Instant> {
        let chip = self.to_chip.front().map(|(t, _)| *t);
        let hosts = self.to_hosts.front().map(|(t, _, _, _)| *t);
        let timers = self.next_host_timer().map(|(t, _)| t);
        let clients = self.clients.next_event();
        [chip, hosts, timers, clients].into_iter().flatten().min()
    }

    fn lan_mut(&mut self) -> Option<&mut Lan> {
        Some(self)
    }

    fn chip_address(&mut self, sipr: Ipv4Addr) {
        self.chip_sipr = (!sipr.is_unspecified()).then_some(sipr);
    }
}

/// Addresses of [`Lan::standard`].
pub mod standard {
    use core::net::Ipv4Addr;

    /// The subnet.
    pub const SUBNET: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 0);
    /// Its mask (/24).
    pub const NETMASK: Ipv4Addr = Ipv4Addr::new(255, 255, 255, 0);
    /// Directed broadcast.
    pub const BROADCAST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 255);
    /// Gateway, DHCP and DNS server.
    pub const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
    /// Second DNS server.
    pub const NS2: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
    /// HTTP server (TCP 80).
    pub const HTTP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 10);
    /// Echo servers (TCP and UDP 7 and 7000).
    pub const ECHO: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 11);
    /// Byte source (TCP 19) and byte sink (TCP 9).
    pub const BULK: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 12);
    /// A host with no services, for tests to drive.
    pub const PEER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 20);
    /// The gateway's address on the remote subnet 10.77.99.0/24 (segment 1).
    pub const REMOTE_GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 77, 99, 1);
    /// A host on the remote subnet, reachable only through the gateway (HTTP 80, echo 7).
    pub const REMOTE: Ipv4Addr = Ipv4Addr::new(10, 77, 99, 10);
    /// A static address for the chip (no host owns it).
    pub const CHIP_STATIC: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 50);
    /// An address nobody answers ARP for.
    pub const NOBODY: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 254);
    /// First address of the DHCP pool.
    pub const POOL_START: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 100);
    /// Addresses in the DHCP pool.
    pub const POOL_SIZE: u32 = 100;
    /// Domain name handed out by DHCP and served by DNS.
    pub const DOMAIN: &str = "sim.lan";
    /// Bytes the byte source on TCP 19 sends before FIN.
    pub const SOURCE_BYTES: u64 = 1 << 20;
    /// Size of `/big` on the HTTP server.
    pub const BIG_BODY: usize = 100_000;
}
