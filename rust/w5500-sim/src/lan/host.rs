//! One host on the LAN: its addresses, ARP, ICMP echo, UDP ports and TCP connections.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};

use super::app::{InDatagram, TcpApp, TcpAppFactory, TcpOptions, TcpState, UdpApp, UdpCtx};
use super::limits::{self, LanLimits, MemoryGuard};
use super::tcp::TcpConn;
use super::util::XorShift;
use crate::net::{
    Arp, ArpOp, Body, Frame, Icmp, Igmp, IpPayload, Ipv4Packet, MacAddr, TcpFlags, TcpSegment,
    UdpDatagram,
};
use crate::time::Instant;

/// ARP requests a host sends before giving up on an address (one per second).
const ARP_TRIES: u32 = 3;
/// Packets a host queues per unresolved address.
const ARP_QUEUE: usize = 64;
/// ICMP and IGMP messages a host keeps (oldest dropped first).
const KEEP_MESSAGES: usize = 64;

struct ArpWait {
    ip: Ipv4Addr,
    packets: Vec<Ipv4Packet>,
    tries: u32,
    next: Instant,
}

struct Listener {
    opts: TcpOptions,
    factory: TcpAppFactory,
}

/// An additional interface of a host (a router's leg on another segment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Iface {
    /// Address on that segment.
    pub ip: Ipv4Addr,
    /// Prefix length of that segment's subnet.
    pub prefix_len: u8,
    /// The segment (0 is the chip's).
    pub segment: u32,
}

impl Iface {
    fn mask(&self) -> u32 {
        if self.prefix_len == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.prefix_len.min(32)))
        }
    }

    fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.ip) & self.mask()
    }

    fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.ip) | !self.mask())
    }
}

/// A host: a MAC, an IPv4 address in the LAN's subnet, and the applications it runs.
pub struct Host {
    /// A name for logs and lookups.
    pub name: String,
    /// Its MAC.
    pub mac: MacAddr,
    /// Its IPv4 address.
    pub ip: Ipv4Addr,
    /// Its subnet prefix length (24 for 10.77.0.0/24).
    pub prefix_len: u8,
    /// The switch segment of its main interface (0, the chip's, unless it sits behind a router).
    pub segment: u32,
    /// Further interfaces (a router's legs on other segments).
    pub extra_ifaces: Vec<Iface>,
    /// Default gateway for destinations on none of its subnets.
    pub gateway: Option<Ipv4Addr>,
    /// Forward IP packets sent to its MAC for other addresses (a router).
    pub forwarding: bool,
    /// Packets forwarded.
    pub packets_forwarded: u64,
    /// Fault: a silent host neither answers nor sends anything (the chip's TCP times out).
    pub silent: bool,
    /// Fault: drop this many of the next frames that reach the host.
    pub drop_rx: u32,
    /// Fault: drop this many of the next frames the host sends.
    pub drop_tx: u32,
    /// Frames dropped by the two knobs above or by silence.
    pub frames_dropped: u64,
    arp_cache: BTreeMap<Ipv4Addr, MacAddr>,
    arp_wait: Vec<ArpWait>,
    udp: BTreeMap<u16, Box<dyn UdpApp>>,
    listeners: BTreeMap<u16, Listener>,
    conns: Vec<TcpConn>,
    groups: Vec<Ipv4Addr>,
    next_port: u16,
    next_conn_id: u32,
    ip_ident: u16,
    rng: XorShift,
    pub(crate) outbox: Vec<(u32, Frame)>,
    pub(crate) port_free_ns: u64,
    pub(crate) limits: LanLimits,
    pub(crate) guard: Option<MemoryGuard>,
    /// SYNs refused and connections reset because the heap was short (see [`super::limits`]).
    pub heap_refusals: u64,
    /// SYNs refused because [`LanLimits::max_open`] connections were open.
    pub syns_refused: u64,
    /// Connections dropped from TIME-WAIT early ([`LanLimits::max_time_wait`]).
    pub time_wait_dropped: u64,
    /// ICMP messages received (echo replies to this host's pings, unreachables), with sender;
    /// the last 64.
    pub icmp_received: Vec<(Instant, Ipv4Addr, Icmp)>,
    /// IGMP messages received (the chip's reports reach every host), with sender; the last 64.
    pub igmp_received: Vec<(Instant, Ipv4Addr, Igmp)>,
}

impl core::fmt::Debug for Host {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Host")
            .field("name", &self.name)
            .field("mac", &self.mac)
            .field("ip", &self.ip)
            .field("conns", &self.conns)
            .finish_non_exhaustive()
    }
}

impl Host {
    /// A host named `name` at `ip`/`prefix_len` with MAC `mac`.
    pub fn new(name: &str, ip: Ipv4Addr, prefix_len: u8, mac: MacAddr) -> Self {
        let seed = u64::from(u32::from(ip)) ^ (u64::from(mac.0[5]) << 40) ^ 0x5eed;
        Host {
            name: String::from(name),
            mac,
            ip,
            prefix_len: prefix_len.min(32),
            segment: 0,
            extra_ifaces: Vec::new(),
            gateway: None,
            forwarding: false,
            packets_forwarded: 0,
            silent: false,
            drop_rx: 0,
            drop_tx: 0,
            frames_dropped: 0,
            arp_cache: BTreeMap::new(),
            arp_wait: Vec::new(),
            udp: BTreeMap::new(),
            listeners: BTreeMap::new(),
            conns: Vec::new(),
            groups: Vec::new(),
            next_port: 49152,
            next_conn_id: 1,
            ip_ident: 1,
            rng: XorShift::new(seed),
            outbox: Vec::new(),
            port_free_ns: 0,
            limits: LanLimits::HOST,
            guard: None,
            heap_refusals: 0,
            syns_refused: 0,
            time_wait_dropped: 0,
            icmp_received: Vec::new(),
            igmp_received: Vec::new(),
        }
    }

    /// Re-seed the host's PRNG (initial sequence numbers, DHCP/DNS randomness).
    pub fn reseed(&mut self, seed: u64) {
        self.rng = XorShift::new(seed);
    }

    fn primary(&self) -> Iface {
        Iface {
            ip: self.ip,
            prefix_len: self.prefix_len,
            segment: self.segment,
        }
    }

    fn ifaces(&self) -> impl Iterator<Item = Iface> + '_ {
        core::iter::once(self.primary()).chain(self.extra_ifaces.iter().copied())
    }

    /// The interface whose subnet holds `ip`.
    fn iface_for(&self, ip: Ipv4Addr) -> Option<Iface> {
        self.ifaces().find(|i| i.contains(ip))
    }

    /// True when `ip` is one of the host's addresses.
    pub fn owns(&self, ip: Ipv4Addr) -> bool {
        self.ifaces().any(|i| i.ip == ip)
    }

    /// True when the host has an interface on `segment`.
    pub fn on_segment(&self, segment: u32) -> bool {
        self.ifaces().any(|i| i.segment == segment)
    }

    /// The main subnet's directed broadcast address.
    pub fn subnet_broadcast(&self) -> Ipv4Addr {
        self.primary().broadcast()
    }

    fn is_broadcast(&self, ip: Ipv4Addr) -> bool {
        ip == Ipv4Addr::BROADCAST || self.ifaces().any(|i| i.broadcast() == ip)
    }

    /// Groups this host has joined.
    pub fn groups(&self) -> &[Ipv4Addr] {
        &self.groups
    }

    /// Join a multicast group (datagrams to it are then delivered to this host's UDP apps).
    pub fn join_group(&mut self, group: Ipv4Addr) {
        if group.is_multicast() && !self.groups.contains(&group) {
            self.groups.push(group);
        }
    }

    /// Leave a multicast group.
    pub fn leave_group(&mut self, group: Ipv4Addr) {
        self.groups.retain(|g| *g != group);
    }

    /// The host's ARP cache entry for `ip`.
    pub fn arp_lookup(&self, ip: Ipv4Addr) -> Option<MacAddr> {
        self.arp_cache.get(&ip).copied()
    }

    /// Add a static ARP entry.
    pub fn arp_insert(&mut self, ip: Ipv4Addr, mac: MacAddr) {
        self.arp_cache.insert(ip, mac);
    }

    /// Forget every learned ARP entry.
    pub fn arp_flush(&mut self) {
        self.arp_cache.clear();
    }

    /// Bind `app` to UDP `port` (replacing any app there).
    pub fn bind_udp(&mut self, port: u16, app: Box<dyn UdpApp>) {
        self.udp.insert(port, app);
    }

    /// A UDP port from the dynamic range (RFC 6335 §6) that nothing is bound to.
    pub fn free_udp_port(&mut self) -> u16 {
        for _ in 0..16_384 {
            let p = self.next_port;
            self.next_port = if self.next_port == u16::MAX {
                49_152
            } else {
                self.next_port + 1
            };
            if !self.udp.contains_key(&p) {
                return p;
            }
        }
        self.next_port
    }

    /// Unbind UDP `port`, returning its app.
    pub fn unbind_udp(&mut self, port: u16) -> Option<Box<dyn UdpApp>> {
        self.udp.remove(&port)
    }

    /// The app bound to UDP `port`.
    pub fn udp_app(&self, port: u16) -> Option<&dyn UdpApp> {
        self.udp.get(&port).map(|b| &**b)
    }

    /// The app bound to UDP `port`, mutably.
    pub fn udp_app_mut(&mut self, port: u16) -> Option<&mut (dyn UdpApp + 'static)> {
        self.udp.get_mut(&port).map(|b| &mut **b)
    }

    /// Listen on TCP `port`: each SYN creates a connection with an app from `factory`.
    pub fn listen_tcp(&mut self, port: u16, opts: TcpOptions, factory: TcpAppFactory) {
        self.listeners.insert(port, Listener { opts, factory });
    }

    /// Stop listening on TCP `port` (existing connections stay).
    pub fn unlisten_tcp(&mut self, port: u16) -> bool {
        self.listeners.remove(&port).is_some()
    }

    /// True when something listens on TCP `port`.
    pub fn is_listening(&self, port: u16) -> bool {
        self.listeners.contains_key(&port)
    }

    /// All connections, open and recently closed.
    pub fn conns(&self) -> &[TcpConn] {
        &self.conns
    }

    /// All connections, mutably.
    pub(crate) fn conns_mut(&mut self) -> &mut [TcpConn] {
        &mut self.conns
    }

    /// The connection with identifier `id`.
    pub fn conn(&self, id: u32) -> Option<&TcpConn> {
        self.conns.iter().find(|c| c.id == id)
    }

    fn ephemeral_port(&mut self) -> u16 {
        for _ in 0..16_384 {
            let p = self.next_port;
            self.next_port = if self.next_port == u16::MAX {
                49_152
            } else {
                self.next_port + 1
            };
            if !self
                .conns
                .iter()
                .any(|c| c.local.port() == p && c.state != TcpState::Closed)
            {
                return p;
            }
        }
        self.next_port
    }

    // ---------------------------------------------------------------- sending

    fn emit(&mut self, segment: u32, frame: Frame) {
        if self.silent {
            self.frames_dropped = self.frames_dropped.saturating_add(1);
            return;
        }
        if self.drop_tx > 0 {
            self.drop_tx -= 1;
            self.frames_dropped = self.frames_dropped.saturating_add(1);
            return;
        }
        self.outbox.push((segment, frame));
    }

    fn arp_request(&mut self, ip: Ipv4Addr) {
        let iface = self.iface_for(ip).unwrap_or(self.primary());
        self.emit(
            iface.segment,
            Frame {
                dst: MacAddr::BROADCAST,
                src: self.mac,
                body: Body::Arp(Arp {
                    op: ArpOp::Request,
                    sender_mac: self.mac,
                    sender_ip: iface.ip,
                    target_mac: MacAddr::ZERO,
                    target_ip: ip,
                }),
            },
        );
    }

    fn packet(&mut self, src: Ipv4Addr, dst: Ipv4Addr, payload: IpPayload) -> Ipv4Packet {
        let ident = self.ip_ident;
        self.ip_ident = self.ip_ident.wrapping_add(1);
        Ipv4Packet {
            src,
            dst,
            ttl: 64,
            tos: 0,
            ident,
            dont_fragment: true,
            payload,
        }
    }

    /// Send an IP packet from `src` (default: the interface facing `dst`) to `dst`, resolving
    /// the next hop's MAC by ARP unless `dst_mac` is given.
    pub(crate) fn send_ip(
        &mut self,
        now: Instant,
        src: Option<Ipv4Addr>,
        dst: Ipv4Addr,
        dst_mac: Option<MacAddr>,
        payload: IpPayload,
    ) {
        let src = src.unwrap_or_else(|| self.iface_for(dst).unwrap_or(self.primary()).ip);
        let pkt = self.packet(src, dst, payload);
        self.send_packet(now, pkt, dst_mac);
    }

    /// Route a finished packet: broadcast, multicast, on-link, or via the gateway.
    fn send_packet(&mut self, now: Instant, pkt: Ipv4Packet, dst_mac: Option<MacAddr>) {
        let dst = pkt.dst;
        let (next_hop, iface) = if dst == Ipv4Addr::BROADCAST || dst.is_multicast() {
            (dst, self.primary())
        } else if let Some(i) = self.ifaces().find(|i| i.broadcast() == dst) {
            (dst, i)
        } else if let Some(i) = self.iface_for(dst) {
            (dst, i)
        } else if let Some((g, i)) = self.gateway.and_then(|g| Some((g, self.iface_for(g)?))) {
            (g, i)
        } else {
            (dst, self.primary())
        };
        let mac = if let Some(m) = dst_mac {
            Some(m)
        } else if self.is_broadcast(dst) {
            Some(MacAddr::BROADCAST)
        } else if dst.is_multicast() {
            Some(MacAddr::ipv4_multicast(dst))
        } else {
            self.arp_cache.get(&next_hop).copied()
        };
        match mac {
            Some(mac) => self.emit(
                iface.segment,
                Frame {
                    dst: mac,
                    src: self.mac,
                    body: Body::Ipv4(pkt),
                },
            ),
            None => {
                if let Some(w) = self.arp_wait.iter_mut().find(|w| w.ip == next_hop) {
                    if w.packets.len() < ARP_QUEUE {
                        w.packets.push(pkt);
                    }
                } else {
                    self.arp_wait.push(ArpWait {
                        ip: next_hop,
                        packets: alloc::vec![pkt],
                        tries: 1,
                        next: Instant::from_micros(now.as_micros().saturating_add(1_000_000)),
                    });
                    self.arp_request(next_hop);
                }
            }
        }
    }

    fn send_tcp(&mut self, now: Instant, local: Ipv4Addr, remote: Ipv4Addr, segs: Vec<TcpSegment>) {
        for s in segs {
            self.send_ip(now, Some(local), remote, None, IpPayload::Tcp(s));
        }
    }

    /// Send a UDP datagram.
    pub fn send_udp(&mut self, now: Instant, src_port: u16, dst: SocketAddrV4, payload: Vec<u8>) {
        self.send_ip(
            now,
            None,
            *dst.ip(),
            None,
            IpPayload::Udp(UdpDatagram {
                src_port,
                dst_port: dst.port(),
                payload,
            }),
        );
    }

    /// Send an ICMP echo request to `dst`.
    pub fn ping(&mut self, now: Instant, dst: Ipv4Addr, ident: u16, seq: u16, data: Vec<u8>) {
        self.send_ip(
            now,
            None,
            dst,
            None,
            IpPayload::Icmp(Icmp::EchoRequest { ident, seq, data }),
        );
    }

    /// Send an IGMP membership query (general when `group` is unspecified) to 224.0.0.1.
    pub fn igmp_query(&mut self, now: Instant, group: Ipv4Addr, max_resp: u8) {
        self.send_ip(
            now,
            None,
            Ipv4Addr::new(224, 0, 0, 1),
            None,
            IpPayload::Igmp(Igmp::Query { max_resp, group }),
        );
    }

    fn flush_udp_ctx(&mut self, now: Instant, ctx: UdpCtx) {
        for d in ctx.out {
            self.send_ip(
                now,
                None,
                *d.dst.ip(),
                d.dst_mac,
                IpPayload::Udp(UdpDatagram {
                    src_port: d.src_port,
                    dst_port: d.dst.port(),
                    payload: d.payload,
                }),
            );
        }
    }

    fn udp_ctx(&mut self) -> UdpCtx {
        let r = self.rng.next_u64();
        UdpCtx::new(self.ip, self.mac, r)
    }

    // ---------------------------------------------------------------- TCP API

    /// Active open to `remote`; returns the connection id.
    pub fn tcp_connect(
        &mut self,
        now: Instant,
        local_port: Option<u16>,
        remote: SocketAddrV4,
        opts: TcpOptions,
        app: Box<dyn TcpApp>,
    ) -> u32 {
        let port = local_port.unwrap_or_else(|| self.ephemeral_port());
        let id = self.next_conn_id;
        self.next_conn_id = self.next_conn_id.wrapping_add(1);
        let iss = self.rng.next_u32();
        let mut out = Vec::new();
        let local_ip = self.iface_for(*remote.ip()).unwrap_or(self.primary()).ip;
        let mut conn = TcpConn::connect(
            now,
            id,
            SocketAddrV4::new(local_ip, port),
            remote,
            iss,
            opts,
            app,
            &mut out,
        );
        conn.guard = self.guard;
        self.conns.push(conn);
        self.send_tcp(now, local_ip, *remote.ip(), out);
        self.gc_conns(now);
        id
    }

    /// Keep connection `id` from garbage collection (`true`) or release it.
    pub(crate) fn pin_conn(&mut self, id: u32, pinned: bool) {
        if let Some(c) = self.conns.iter_mut().find(|c| c.id == id) {
            c.pinned = pinned;
        }
    }

    /// Forget connection `id` now (it must be closed or in TIME-WAIT to be forgotten quietly;
    /// an open one is reset first).
    pub(crate) fn forget_conn(&mut self, now: Instant, id: u32) {
        self.with_conn(now, id, |c, out| c.abort(now, out));
        self.conns.retain(|c| c.id != id);
    }

    /// Run `f` on connection `id` and send what it produced.
    pub(crate) fn with_conn(
        &mut self,
        now: Instant,
        id: u32,
        f: impl FnOnce(&mut TcpConn, &mut Vec<TcpSegment>),
    ) -> bool {
        let mut out = Vec::new();
        let Some(c) = self.conns.iter_mut().find(|c| c.id == id) else {
            return false;
        };
        let before = c.state;
        f(c, &mut out);
        let after = c.state;
        if core::mem::take(&mut c.heap_reset) {
            self.heap_refusals = self.heap_refusals.saturating_add(1);
        }
        let (local, remote) = (*c.local.ip(), *c.remote.ip());
        self.send_tcp(now, local, remote, out);
        if before != after && matches!(after, TcpState::Closed | TcpState::TimeWait) {
            self.gc_conns(now);
        }
        true
    }

    /// Apply [`LanLimits`]: drop the oldest closed connections beyond `keep_closed` and end
    /// the oldest TIME-WAITs beyond `max_time_wait` (pinned ones stay), and give back the
    /// table's spare capacity.
    fn gc_conns(&mut self, now: Instant) {
        let time_wait = self
            .conns
            .iter()
            .filter(|c| c.state == TcpState::TimeWait && !c.pinned)
            .count();
        let mut extra_tw = time_wait.saturating_sub(self.limits.max_time_wait);
        for c in self.conns.iter_mut() {
            if extra_tw == 0 {
                break;
            }
            if c.state == TcpState::TimeWait && !c.pinned {
                c.expire_time_wait(now);
                extra_tw -= 1;
                self.time_wait_dropped = self.time_wait_dropped.saturating_add(1);
            }
        }
        let closed = self
            .conns
            .iter()
            .filter(|c| c.state == TcpState::Closed && !c.pinned)
            .count();
        let mut extra = closed.saturating_sub(self.limits.keep_closed);
        if extra > 0 {
            self.conns.retain(|c| {
                if extra > 0 && c.state == TcpState::Closed && !c.pinned {
                    extra -= 1;
                    false
                } else {
                    true
                }
            });
        }
        let len = self.conns.len();
        if self.conns.capacity() > len.saturating_mul(2).saturating_add(8) {
            self.conns.shrink_to(len.saturating_add(4));
        }
    }

    /// Connections neither closed nor in TIME-WAIT.
    pub fn open_conns(&self) -> usize {
        self.conns
            .iter()
            .filter(|c| !matches!(c.state, TcpState::Closed | TcpState::TimeWait))
            .count()
    }

    /// Bytes of heap the host's connections hold in buffers (capacity), for bounds checks.
    pub fn buffered_capacity(&self) -> usize {
        self.conns
            .iter()
            .map(TcpConn::buffered_capacity)
            .fold(0, usize::saturating_add)
    }

    // ---------------------------------------------------------------- timers

    /// The earliest timer of this host.
    pub fn next_timer(&self) -> Option<Instant> {
        let conns = self.conns.iter().filter_map(|c| c.next_timer()).min();
        let arp = self.arp_wait.iter().map(|w| w.next).min();
        let apps = self.udp.values().filter_map(|a| a.next_wakeup()).min();
        [conns, arp, apps].into_iter().flatten().min()
    }

    /// Run every timer due at or before `now`.
    pub fn on_timer(&mut self, now: Instant) {
        // ARP retries and give-ups.
        let mut retry = Vec::new();
        self.arp_wait.retain_mut(|w| {
            if w.next > now {
                return true;
            }
            if w.tries >= ARP_TRIES {
                return false;
            }
            w.tries += 1;
            w.next = Instant::from_micros(now.as_micros().saturating_add(1_000_000));
            retry.push(w.ip);
            true
        });
        for ip in retry {
            self.arp_request(ip);
        }
        // TCP.
        let due: Vec<u32> = self
            .conns
            .iter()
            .filter(|c| c.next_timer().is_some_and(|t| t <= now))
            .map(|c| c.id)
            .collect();
        for id in due {
            self.with_conn(now, id, |c, out| c.on_timer(now, out));
        }
        // UDP apps.
        let ports: Vec<u16> = self
            .udp
            .iter()
            .filter(|(_, a)| a.next_wakeup().is_some_and(|t| t <= now))
            .map(|(p, _)| *p)
            .collect();
        for p in ports {
            let mut ctx = self.udp_ctx();
            if let Some(app) = self.udp.get_mut(&p) {
                app.poll(now, &mut ctx);
            }
            self.flush_udp_ctx(now, ctx);
        }
    }

    // ---------------------------------------------------------------- receiving

    /// Process a frame the switch delivered to this host at `now`.
    pub fn handle_frame(&mut self, now: Instant, segment: u32, frame: Frame) {
        if self.silent {
            self.frames_dropped = self.frames_dropped.saturating_add(1);
            return;
        }
        if self.drop_rx > 0 {
            self.drop_rx -= 1;
            self.frames_dropped = self.frames_dropped.saturating_add(1);
            return;
        }
        match frame.body {
            Body::Arp(arp) => self.handle_arp(now, segment, arp),
            Body::Ipv4(pkt) => self.handle_ip(now, frame.dst, frame.src, pkt),
            Body::Other { .. } => {}
        }
    }

    fn learn(&mut self, ip: Ipv4Addr, mac: MacAddr) {
        if ip.is_unspecified() || mac.is_multicast() {
            return;
        }
        self.arp_cache.insert(ip, mac);
        if let Some(pos) = self.arp_wait.iter().position(|w| w.ip == ip) {
            let w = self.arp_wait.swap_remove(pos);
            let segment = self.iface_for(ip).unwrap_or(self.primary()).segment;
            for pkt in w.packets {
                self.emit(
                    segment,
                    Frame {
                        dst: mac,
                        src: self.mac,
                        body: Body::Ipv4(pkt),
                    },
                );
            }
        }
    }

    /// RFC 826 "packet reception": update an existing entry, add one when we are the target,
    /// answer requests for our address.
    fn handle_arp(&mut self, _now: Instant, segment: u32, arp: Arp) {
        let known = self.arp_cache.contains_key(&arp.sender_ip)
            || self.arp_wait.iter().any(|w| w.ip == arp.sender_ip);
        // Only the interface on the segment the request came from answers.
        let for_us = self
            .ifaces()
            .any(|i| i.ip == arp.target_ip && i.segment == segment);
        if known || for_us {
            self.learn(arp.sender_ip, arp.sender_mac);
        }
        if for_us && arp.op == ArpOp::Request {
            self.emit(
                segment,
                Frame {
                    dst: arp.sender_mac,
                    src: self.mac,
                    body: Body::Arp(Arp {
                        op: ArpOp::Reply,
                        sender_mac: self.mac,
                        sender_ip: arp.target_ip,
                        target_mac: arp.sender_mac,
                        target_ip: arp.sender_ip,
                    }),
                },
            );
        }
    }

    fn accepts(&self, dst: Ipv4Addr) -> bool {
        self.owns(dst)
            || self.is_broadcast(dst)
            || dst == Ipv4Addr::new(224, 0, 0, 1)
            || self.groups.contains(&dst)
    }

    fn handle_ip(&mut self, now: Instant, dst_mac: MacAddr, src_mac: MacAddr, mut pkt: Ipv4Packet) {
        if !self.accepts(pkt.dst) {
            // A router forwards what was sent to its MAC for someone else (RFC 1812 §5.3.1:
            // TTL decremented; expired packets are dropped here without ICMP).
            if self.forwarding && dst_mac == self.mac && !pkt.dst.is_multicast() && pkt.ttl > 1 {
                pkt.ttl -= 1;
                self.packets_forwarded = self.packets_forwarded.saturating_add(1);
                self.send_packet(now, pkt, None);
            }
            return;
        }
        let unicast = self.owns(pkt.dst);
        match pkt.payload {
            IpPayload::Icmp(Icmp::EchoRequest { ident, seq, data }) => {
                if unicast {
                    self.send_ip(
                        now,
                        Some(pkt.dst),
                        pkt.src,
                        None,
                        IpPayload::Icmp(Icmp::EchoReply { ident, seq, data }),
                    );
                }
            }
            IpPayload::Icmp(icmp) => {
                keep_last(&mut self.icmp_received, KEEP_MESSAGES);
                self.icmp_received.push((now, pkt.src, icmp));
            }
            IpPayload::Igmp(igmp) => {
                keep_last(&mut self.igmp_received, KEEP_MESSAGES);
                self.igmp_received.push((now, pkt.src, igmp));
            }
            IpPayload::Udp(udp) => {
                let dgram = InDatagram {
                    src: SocketAddrV4::new(pkt.src, udp.src_port),
                    dst: SocketAddrV4::new(pkt.dst, udp.dst_port),
                    src_mac,
                    payload: udp.payload,
                };
                if self.udp.contains_key(&udp.dst_port) {
                    let mut ctx = self.udp_ctx();
                    if let Some(app) = self.udp.get_mut(&udp.dst_port) {
                        app.on_datagram(now, &dgram, &mut ctx);
                    }
                    self.flush_udp_ctx(now, ctx);
                } else if unicast {
                    // RFC 1122 §3.2.2.1 / §4.1.3.1: port unreachable.
                    let original = ip_header_and_udp(&pkt.src, &pkt.dst, &dgram);
                    self.send_ip(
                        now,
                        Some(pkt.dst),
                        pkt.src,
                        None,
                        IpPayload::Icmp(Icmp::DestUnreachable { code: 3, original }),
                    );
                }
            }
            IpPayload::Tcp(seg) => {
                if unicast {
                    self.handle_tcp(now, pkt.src, pkt.dst, seg);
                }
            }
            IpPayload::Other { .. } => {}
        }
    }

    fn handle_tcp(&mut self, now: Instant, src: Ipv4Addr, local_ip: Ipv4Addr, seg: TcpSegment) {
        let remote = SocketAddrV4::new(src, seg.src_port);
        let syn_only = seg.flags.contains(TcpFlags::SYN) && !seg.flags.contains(TcpFlags::ACK);
        let found = self.conns.iter_mut().find(|c| {
            c.remote == remote
                && c.local.port() == seg.dst_port
                && *c.local.ip() == local_ip
                && c.state != TcpState::Closed
                && !(syn_only && c.state == TcpState::TimeWait)
        });
        if let Some(c) = found {
            let id = c.id;
            self.with_conn(now, id, |c, out| c.on_segment(now, &seg, out));
            return;
        }
        // A new SYN may reuse the ports of a connection in TIME-WAIT (RFC 9293 §3.10.7.4 note).
        if syn_only {
            for c in self.conns.iter_mut() {
                if c.remote == remote
                    && c.local.port() == seg.dst_port
                    && c.state == TcpState::TimeWait
                {
                    c.state = TcpState::Closed;
                }
            }
            let open = self.open_conns();
            let short = limits::short(self.guard, 0);
            if self.listeners.contains_key(&seg.dst_port)
                && (open >= self.limits.max_open || short.is_some())
            {
                if let Some(u) = short {
                    log::warn!(
                        "LAN {}: SYN from {remote} to port {} refused: simulator heap short ({} of {} bytes used)",
                        self.name,
                        seg.dst_port,
                        u.used,
                        u.capacity
                    );
                    self.heap_refusals = self.heap_refusals.saturating_add(1);
                } else {
                    log::warn!(
                        "LAN {}: SYN from {remote} to port {} refused: {open} connections open",
                        self.name,
                        seg.dst_port
                    );
                    self.syns_refused = self.syns_refused.saturating_add(1);
                }
                let rst = TcpSegment {
                    src_port: seg.dst_port,
                    dst_port: seg.src_port,
                    seq: 0,
                    ack: seg.seq.wrapping_add(seg.seq_len()),
                    flags: TcpFlags::RST | TcpFlags::ACK,
                    window: 0,
                    mss: None,
                    payload: Vec::new(),
                };
                self.send_tcp(now, local_ip, src, alloc::vec![rst]);
                return;
            }
            if let Some(l) = self.listeners.get_mut(&seg.dst_port) {
                let app = (l.factory)(remote);
                let opts = l.opts;
                let id = self.next_conn_id;
                self.next_conn_id = self.next_conn_id.wrapping_add(1);
                let iss = self.rng.next_u32();
                let mut out = Vec::new();
                let mut conn = TcpConn::accept(
                    now,
                    id,
                    SocketAddrV4::new(local_ip, seg.dst_port),
                    remote,
                    iss,
                    opts,
                    app,
                    &seg,
                    &mut out,
                );
                conn.guard = self.guard;
                self.conns.push(conn);
                self.send_tcp(now, local_ip, src, out);
                self.gc_conns(now);
                return;
            }
        }
        // RFC 9293 §3.10.7.1: a segment for a closed port gets RST (unless it is one).
        if seg.flags.contains(TcpFlags::RST) {
            return;
        }
        let rst = if seg.flags.contains(TcpFlags::ACK) {
            TcpSegment {
                src_port: seg.dst_port,
                dst_port: seg.src_port,
                seq: seg.ack,
                ack: 0,
                flags: TcpFlags::RST,
                window: 0,
                mss: None,
                payload: Vec::new(),
            }
        } else {
            TcpSegment {
                src_port: seg.dst_port,
                dst_port: seg.src_port,
                seq: 0,
                ack: seg.seq.wrapping_add(seg.seq_len()),
                flags: TcpFlags::RST | TcpFlags::ACK,
                window: 0,
                mss: None,
                payload: Vec::new(),
            }
        };
        self.send_tcp(now, local_ip, src, alloc::vec![rst]);
    }
}

/// Make room for one more entry in a log kept to its last `keep` entries.
pub(crate) fn keep_last<T>(log: &mut Vec<T>, keep: usize) {
    if log.len() >= keep {
        let extra = log.len() + 1 - keep.max(1);
        log.drain(..extra.min(log.len()));
    }
}

/// The IPv4 header and first 8 bytes of a UDP datagram, as quoted in ICMP errors (RFC 792).
fn ip_header_and_udp(src: &Ipv4Addr, dst: &Ipv4Addr, d: &InDatagram) -> Vec<u8> {
    let udp_len = 8u16.saturating_add(u16::try_from(d.payload.len()).unwrap_or(u16::MAX));
    let total = 20u16.saturating_add(udp_len);
    let mut h = alloc::vec![0x45, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    let ck = super::util::inet_checksum(&h);
    if let Some(s) = h.get_mut(10..12) {
        s.copy_from_slice(&ck.to_be_bytes());
    }
    h.extend_from_slice(&d.src.port().to_be_bytes());
    h.extend_from_slice(&d.dst.port().to_be_bytes());
    h.extend_from_slice(&udp_len.to_be_bytes());
    h.extend_from_slice(&[0, 0]);
    h
}
