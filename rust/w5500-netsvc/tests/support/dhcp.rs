//! Shared helpers for the DHCP client tests: hand-built server replies (encoded with the
//! simulator's independent DHCP codec) and a harness that runs the client on the simulator's
//! LAN through its `Network` trait, acting as the chip (UDP port 68, ARP, address filter).
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddrV4};

use w5500_netsvc::dhcp::{Client, Config, Event, Lease, Transmit, MAX_REQUEST_LEN};
use w5500_sim::lan::dhcp::{msg, opt, DhcpMessage, DhcpServer, CLIENT_PORT, SERVER_PORT};
use w5500_sim::lan::{HostId, Lan};
use w5500_sim::net::{
    Arp, ArpOp, Body, Frame, IpPayload, Ipv4Packet, MacAddr, Network, UdpDatagram,
};
use w5500_sim::time::Instant;

pub const MAC: [u8; 6] = [0x02, 0xc0, 0xff, 0xee, 0x00, 0x01];
pub const S1: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
pub const S2: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 3);
pub const ROUTER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 254);
pub const IP1: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 100);
pub const IP2: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 200);

pub fn from(ip: Ipv4Addr) -> SocketAddrV4 {
    SocketAddrV4::new(ip, SERVER_PORT)
}

pub fn client() -> Client {
    Client::new(Config::new(MAC, 42))
}

/// The next datagram, decoded with the simulator's codec.
pub fn tx(c: &mut Client, now: u64) -> Option<(Transmit, DhcpMessage)> {
    let mut buf = [0u8; MAX_REQUEST_LEN];
    let t = c.poll_transmit(now, &mut buf)?;
    let m = DhcpMessage::decode(&buf[..t.len]).expect("our message decodes");
    Some((t, m))
}

/// A client event as the tests look at it: the lease events carry the client's lease at the
/// moment the event was taken (the client's own events carry no copy; RAM, issue 12).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ev {
    Bound(Lease),
    Renewed(Lease),
    Rebound(Lease),
    Lost,
    Probe(Ipv4Addr),
    Declined(Ipv4Addr),
    Released,
}

/// The next event, with the lease for the lease events.
pub fn next_event(c: &mut Client) -> Option<Ev> {
    let e = c.poll_event()?;
    let lease = || c.lease().cloned().expect("a lease event with a lease");
    Some(match e {
        Event::Bound => Ev::Bound(lease()),
        Event::Renewed => Ev::Renewed(lease()),
        Event::Rebound => Ev::Rebound(lease()),
        Event::Lost => Ev::Lost,
        Event::Probe(ip) => Ev::Probe(ip),
        Event::Declined(ip) => Ev::Declined(ip),
        Event::Released => Ev::Released,
    })
}

pub fn events(c: &mut Client) -> Vec<Ev> {
    std::iter::from_fn(|| next_event(c)).collect()
}

/// A server message of `kind` for our MAC: mask /24, router ROUTER (deliberately not the
/// server), two DNS servers, domain, lease 3600 s, and the server id.
pub fn reply(kind: u8, xid: u32, yiaddr: Ipv4Addr, server: Ipv4Addr) -> DhcpMessage {
    let mut m = DhcpMessage::request(kind, xid, MacAddr(MAC))
        .with_option(opt::SERVER_ID, &server.octets())
        .with_option(opt::SUBNET_MASK, &[255, 255, 255, 0])
        .with_option(opt::ROUTER, &ROUTER.octets())
        .with_option(opt::DNS, &[10, 77, 0, 1, 10, 77, 0, 2])
        .with_option(opt::DOMAIN_NAME, b"sim.lan")
        .with_option(opt::LEASE_TIME, &3600u32.to_be_bytes());
    m.op = 2;
    m.yiaddr = yiaddr;
    m
}

/// A NAK from `server`.
pub fn nak(xid: u32, server: Ipv4Addr) -> DhcpMessage {
    let mut m = DhcpMessage::request(msg::NAK, xid, MacAddr(MAC))
        .with_option(opt::SERVER_ID, &server.octets());
    m.op = 2;
    m
}

/// Drive a fresh client from `start` through DISCOVER, OFFER, REQUEST, ACK and a "free"
/// probe, all at `now`; returns the bound lease.
pub fn bind_at(c: &mut Client, now: u64) -> Lease {
    c.start(now);
    let (_, d) = tx(c, now).unwrap();
    assert!(c.handle(now, from(S1), &reply(msg::OFFER, d.xid, IP1, S1).encode()));
    let (_, r) = tx(c, now).unwrap();
    assert!(c.handle(now, from(S1), &reply(msg::ACK, r.xid, IP1, S1).encode()));
    bound_after_ack(c, IP1, now)
}

/// After the ACK of a new address `ip`: with the probe compiled in (`dhcp-probe`), the client
/// asks for the probe of `ip`, which is answered "free" at `now`; then (in either build) it
/// announces Bound. Returns the lease.
pub fn bound_after_ack(c: &mut Client, ip: Ipv4Addr, now: u64) -> Lease {
    if w5500_netsvc::dhcp::PROBE {
        assert_eq!(events(c), vec![Ev::Probe(ip)]);
        c.probe_result(false, now);
    }
    match events(c).as_slice() {
        [Ev::Bound(l)] => l.clone(),
        e => panic!("expected Bound, got {e:?}"),
    }
}

// ------------------------------------------------------------------------- LAN harness

/// The client on the simulated LAN, with the test playing the chip.
pub struct Harness {
    pub lan: Lan,
    pub now: Instant,
    pub client: Client,
    /// SIPR: 0.0.0.0 until Bound.
    pub ip: Ipv4Addr,
    pub mac: MacAddr,
    /// Every event with its time (ms).
    pub events: Vec<(u64, Ev)>,
    /// Every datagram the client sent (time in ms).
    pub sent: Vec<(u64, Transmit, DhcpMessage)>,
    /// Outstanding ARP probe: address and deadline.
    probe: Option<(Ipv4Addr, Instant)>,
    /// Answer the client's probes ("in use" when an ARP reply arrives).
    pub probe_window: std::time::Duration,
    ident: u16,
}

impl Harness {
    pub fn new(lan: Lan, cfg: Config) -> Self {
        Harness {
            lan,
            now: Instant::ZERO,
            client: Client::new(cfg),
            ip: Ipv4Addr::UNSPECIFIED,
            mac: MacAddr(MAC),
            events: Vec::new(),
            sent: Vec::new(),
            probe: None,
            probe_window: std::time::Duration::from_millis(300),
            ident: 0,
        }
    }

    pub fn standard() -> Self {
        Self::new(Lan::standard(), Config::new(MAC, 7))
    }

    pub fn now_ms(&self) -> u64 {
        self.now.as_millis()
    }

    pub fn server(&mut self, ip: Ipv4Addr) -> &mut DhcpServer {
        let h = self.lan.host_by_ip(ip).unwrap();
        self.lan.udp_app_mut::<DhcpServer>(h, SERVER_PORT).unwrap()
    }

    /// Add a second DHCP server at `ip` with `cfg` (several may coexist).
    pub fn add_server(lan: &mut Lan, cfg: w5500_sim::lan::dhcp::DhcpConfig) -> HostId {
        let h = lan.add_simple_host("dhcp2", cfg.server_id);
        lan.bind_udp(h, SERVER_PORT, Box::new(DhcpServer::new(cfg)));
        h
    }

    fn send_frame(&mut self, dst_mac: MacAddr, body: Body) {
        let f = Frame {
            dst: dst_mac,
            src: self.mac,
            body,
        };
        self.lan.transmit(self.now, f);
    }

    fn transmit(&mut self, t: Transmit, bytes: Vec<u8>) {
        let dst = *t.dst.ip();
        // The chip ARPs for unicast destinations; the LAN's hosts have MAC 02:00 + address.
        let mac = if dst == Ipv4Addr::BROADCAST {
            MacAddr::BROADCAST
        } else {
            let o = dst.octets();
            MacAddr([0x02, 0x00, o[0], o[1], o[2], o[3]])
        };
        self.ident = self.ident.wrapping_add(1);
        let pkt = Ipv4Packet {
            src: self.ip,
            dst,
            ttl: 128,
            tos: 0,
            ident: self.ident,
            dont_fragment: false,
            payload: IpPayload::Udp(UdpDatagram {
                src_port: CLIENT_PORT,
                dst_port: t.dst.port(),
                payload: bytes,
            }),
        };
        self.send_frame(mac, Body::Ipv4(pkt));
    }

    /// Let the client transmit and report, and the LAN deliver, at the current time, until
    /// nothing more happens at this instant.
    fn pump(&mut self) {
        for _ in 0..64 {
            if !self.pump_once() {
                break;
            }
        }
    }

    fn pump_once(&mut self) -> bool {
        let now = self.now_ms();
        if let Some((_, dl)) = self.probe {
            if self.now >= dl {
                self.probe = None;
                self.client.probe_result(false, now);
            }
        }
        let mut buf = [0u8; MAX_REQUEST_LEN];
        for _ in 0..16 {
            let Some(t) = self.client.poll_transmit(now, &mut buf) else {
                break;
            };
            let bytes = buf[..t.len].to_vec();
            let m = DhcpMessage::decode(&bytes).unwrap();
            self.sent.push((now, t, m));
            self.transmit(t, bytes);
        }
        while let Some(e) = next_event(&mut self.client) {
            match &e {
                Ev::Bound(l) | Ev::Renewed(l) | Ev::Rebound(l) => self.ip = l.address,
                Ev::Lost | Ev::Released => self.ip = Ipv4Addr::UNSPECIFIED,
                Ev::Probe(ip) => {
                    // RFC 5227-style probe: sender address 0.0.0.0.
                    let body = Body::Arp(Arp {
                        op: ArpOp::Request,
                        sender_mac: self.mac,
                        sender_ip: Ipv4Addr::UNSPECIFIED,
                        target_mac: MacAddr::ZERO,
                        target_ip: *ip,
                    });
                    self.send_frame(MacAddr::BROADCAST, body);
                    self.probe = Some((*ip, self.now + self.probe_window));
                }
                Ev::Declined(_) => {}
            }
            self.events.push((now, e));
        }
        self.lan.poll(self.now);
        let mut any = false;
        while let Some(f) = self.lan.receive(self.now) {
            self.on_frame(f);
            any = true;
        }
        any
    }

    fn on_frame(&mut self, f: Frame) {
        let now = self.now_ms();
        match f.body {
            Body::Arp(a) => {
                if a.op == ArpOp::Request && a.target_ip == self.ip && !self.ip.is_unspecified() {
                    let body = Body::Arp(Arp {
                        op: ArpOp::Reply,
                        sender_mac: self.mac,
                        sender_ip: self.ip,
                        target_mac: a.sender_mac,
                        target_ip: a.sender_ip,
                    });
                    self.send_frame(a.sender_mac, body);
                }
                if a.op == ArpOp::Reply && f.dst == self.mac {
                    if let Some((ip, _)) = self.probe {
                        if a.sender_ip == ip {
                            self.probe = None;
                            self.client.probe_result(true, now);
                        }
                    }
                }
            }
            Body::Ipv4(p) => {
                // The chip's UDP socket: broadcast, or unicast to SIPR once it has one.
                let for_us =
                    p.dst == Ipv4Addr::BROADCAST || (!self.ip.is_unspecified() && p.dst == self.ip);
                if let IpPayload::Udp(u) = p.payload {
                    if for_us && u.dst_port == CLIENT_PORT {
                        let src = SocketAddrV4::new(p.src, u.src_port);
                        self.client.handle(now, src, &u.payload);
                    }
                }
            }
            _ => {}
        }
    }

    /// Run until `t` (ms), jumping from event to event.
    pub fn run_until_ms(&mut self, t_ms: u64) {
        let t = Instant::from_millis(t_ms);
        for _ in 0..1_000_000 {
            self.pump();
            let mut next = t;
            if let Some(e) = self.lan.next_event() {
                next = next.min(e);
            }
            if let Some(ms) = self.client.poll_at() {
                next = next.min(Instant::from_millis(ms));
            }
            if let Some((_, dl)) = self.probe {
                next = next.min(dl);
            }
            if next <= self.now {
                if self.now >= t {
                    break;
                }
                // Due now but already handled: make progress.
                next = (self.now + std::time::Duration::from_millis(1)).min(t);
            }
            self.now = next;
        }
        self.pump();
    }

    pub fn run_for_ms(&mut self, d: u64) {
        let t = self.now_ms() + d;
        self.run_until_ms(t);
    }

    /// Datagrams the client sent of `kind` (option 53).
    pub fn sent_of(&self, kind: u8) -> Vec<&(u64, Transmit, DhcpMessage)> {
        self.sent
            .iter()
            .filter(|(_, _, m)| m.msg_type() == Some(kind))
            .collect()
    }

    pub fn last_event(&self) -> Option<&Ev> {
        self.events.last().map(|(_, e)| e)
    }
}
