//! Target `dhcp_dns_session`: a DHCP client and a DNS resolver through a short exchange in
//! which every datagram they receive comes from the fuzz input.
//!
//! Input layout (every field optional: reads past the end are zeros):
//! ```text
//! flags: u8      bit0 probe on, bit1 INIT-REBOOT with 10.0.0.50, bit2 configured DNS server
//!                10.0.0.53 and a lookup from the start, bit3 first probe answers "in use"
//! seed:  u16     PRNG seed of both clients
//! then up to SESSION_STEPS steps:
//!   kind: u8     bits 0-1: 0 DHCP datagram, 1 DNS over UDP, 2 DNS over TCP, 3 other event
//!   ...          per kind, see `Session::step`
//!   dt:   u8     time advance: 0xff = to the next wake-up, else dt × 50 ms
//! ```
//! "Patch" bits make a datagram match what the client waits for (DHCP `xid`/`chaddr`, DNS ID
//! and question), so the fuzzer reaches the answer parsers without guessing 32 random bits.
//!
//! Checked after every step, once the clients have been serviced (transmits drained, events
//! handled): `poll_at()` is `None` or strictly later than now (a due timer that servicing does
//! not consume would be a busy loop), at most a few transmits per service, and a successful
//! lookup carries at least one address. After the input ends, the timers alone are followed
//! for [`IDLE_STEPS`] wake-ups, each strictly later than the previous one.

use core::net::{Ipv4Addr, SocketAddrV4};

use w5500_netsvc::dhcp::{self, Event};
use w5500_netsvc::dns::{self, Lookup, Resolver, Transmit};

use crate::input::Input;

/// Most input-driven steps.
pub const SESSION_STEPS: usize = 64;
/// Timer-only wake-ups followed after the input ends.
pub const IDLE_STEPS: usize = 32;
/// Most datagrams one client may emit in one service round.
pub const MAX_TX_PER_SERVICE: usize = 4;
/// The client's MAC.
pub const MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x01];
/// The simulated DHCP server.
pub const DHCP_SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// The configured DNS server (flag bit 2).
pub const DNS_SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 53);
/// The name looked up.
pub const NAME: &str = "www.example.org";
/// Lookups started in one session (each result may start the next).
pub const MAX_LOOKUPS: u32 = 4;

/// Flag bits of the first input byte.
pub mod flag {
    /// Ask for address probes (`Event::Probe`).
    pub const PROBE: u8 = 1;
    /// Start with INIT-REBOOT of 10.0.0.50.
    pub const REBOOT: u8 = 2;
    /// A configured DNS server and a lookup from the start.
    pub const DNS: u8 = 4;
    /// The first probe reports the address in use (DECLINE).
    pub const IN_USE: u8 = 8;
}

/// Bits of the `kind` byte.
pub mod kind {
    /// DHCP datagram.
    pub const DHCP: u8 = 0;
    /// DNS over UDP.
    pub const DNS_UDP: u8 = 1;
    /// DNS over TCP.
    pub const DNS_TCP: u8 = 2;
    /// Link change, transport error, cancel, release.
    pub const OTHER: u8 = 3;
    /// DHCP: patch `xid` and `chaddr`. DNS: patch the ID.
    pub const PATCH: u8 = 4;
    /// DHCP: source port from the input (u16 before the chunk). DNS: replace the question by
    /// ours (QR set, opcode 0, QDCOUNT 1, the rest of the chunk follows it).
    pub const PATCH2: u8 = 8;
    /// DNS: wrong source/destination (from the input, u16 port before the chunk). DNS TCP:
    /// prefix the correct length instead.
    pub const ALT: u8 = 16;
}

/// What a session achieved (for the seed tests: a seed must reach the state it was written for).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// `Bound`, `Renewed` and `Rebound` events.
    pub leases: u32,
    /// `Declined` events.
    pub declines: u32,
    /// `Lost` events.
    pub losses: u32,
    /// Lookups that ended with addresses from the network.
    pub answers: u32,
    /// Lookups that ended with an error.
    pub dns_errors: u32,
    /// DNS queries sent over TCP.
    pub tcp_queries: u32,
}

/// The DNS transmit last handed out: what a reply must match.
#[derive(Clone, Debug)]
struct LastDns {
    server: SocketAddrV4,
    src_port: u16,
    /// DNS message without the TCP length prefix.
    query: Vec<u8>,
}

struct Session {
    now: u64,
    dhcp: dhcp::Client,
    dns: Resolver<2>,
    last_dns: Option<LastDns>,
    lookups: u32,
    probes: u32,
    in_use_first: bool,
    summary: Summary,
    buf: [u8; dhcp::MAX_REQUEST_LEN],
}

/// Run one session over `data`. Panics on a violated property.
pub fn dhcp_dns_session(data: &[u8]) -> Summary {
    let mut inp = Input::new(data);
    let flags = inp.u8();
    let seed = u64::from(inp.u16());
    let mut cfg = dhcp::Config::new(MAC, seed);
    cfg.probe = flags & flag::PROBE != 0;
    if flags & flag::REBOOT != 0 {
        cfg.requested_ip = Some(Ipv4Addr::new(10, 0, 0, 50));
    }
    let mut dns_cfg = dns::Config::new(seed ^ 0x5eed);
    if flags & flag::DNS != 0 {
        dns_cfg = dns_cfg.with_servers(&[DNS_SERVER]);
    }
    let mut s = Session {
        now: 0,
        dhcp: dhcp::Client::new(cfg),
        dns: Resolver::new(dns_cfg),
        last_dns: None,
        lookups: 0,
        probes: 0,
        in_use_first: flags & flag::IN_USE != 0,
        summary: Summary::default(),
        buf: [0; dhcp::MAX_REQUEST_LEN],
    };
    s.dhcp.start(0);
    if flags & flag::DNS != 0 {
        s.start_lookup();
    }
    s.service();
    for _ in 0..SESSION_STEPS {
        if inp.is_empty() {
            break;
        }
        s.step(&mut inp);
        let dt = inp.u8();
        let next = if dt == 0xff {
            s.next_wake().unwrap_or(s.now.saturating_add(1))
        } else {
            s.now.saturating_add(u64::from(dt) * 50)
        };
        s.now = next.max(s.now);
        s.service();
    }
    for _ in 0..IDLE_STEPS {
        let Some(t) = s.next_wake() else { break };
        assert!(t > s.now, "idle wake-up at {t} not after now {}", s.now);
        s.now = t;
        s.service();
    }
    s.summary
}

impl Session {
    fn next_wake(&self) -> Option<u64> {
        match (self.dhcp.poll_at(), self.dns.poll_at()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn start_lookup(&mut self) {
        if self.lookups >= MAX_LOOKUPS || self.dns.is_busy() {
            return;
        }
        self.lookups += 1;
        match self.dns.start(NAME, self.now) {
            Ok(Lookup::Ready(a)) => assert!(!a.addrs.is_empty(), "ready answer without address"),
            Ok(Lookup::Pending) | Err(_) => {}
        }
    }

    /// Drain events and transmits until nothing changes (bounded), then check the timers.
    fn service(&mut self) {
        for _round in 0..8 {
            let mut busy = false;
            for _ in 0..16 {
                let Some(ev) = self.dhcp.poll_event() else {
                    break;
                };
                busy = true;
                match ev {
                    Event::Probe(_) => {
                        self.probes += 1;
                        let in_use = self.in_use_first && self.probes == 1;
                        self.dhcp.probe_result(in_use, self.now);
                    }
                    Event::Bound | Event::Renewed | Event::Rebound => {
                        // The lease events carry none: the client's current one.
                        let Some(l) = self.dhcp.lease().cloned() else {
                            panic!("a lease event without a lease");
                        };
                        self.summary.leases += 1;
                        // RFC 2131 §4.4.5 as `lease_times` documents it: 0 < T1 < T2 < lease,
                        // or all infinite.
                        let inf = dhcp::INFINITE;
                        let all_inf = l.lease_secs == inf && l.t1_secs == inf && l.t2_secs == inf;
                        assert!(
                            all_inf
                                || (0 < l.t1_secs
                                    && l.t1_secs < l.t2_secs
                                    && l.t2_secs < l.lease_secs),
                            "lease times {} {} {}",
                            l.t1_secs,
                            l.t2_secs,
                            l.lease_secs
                        );
                        self.dns.set_servers(&l.dns_servers);
                        self.start_lookup();
                    }
                    Event::Lost => {
                        self.summary.losses += 1;
                        self.dns.set_servers(&[]);
                    }
                    Event::Declined(_) => self.summary.declines += 1,
                    Event::Released => {}
                }
            }
            let mut n = 0;
            while let Some(tx) = self.dhcp.poll_transmit(self.now, &mut self.buf) {
                n += 1;
                busy = true;
                assert!(
                    n <= MAX_TX_PER_SERVICE,
                    "DHCP transmit storm at {}",
                    self.now
                );
                assert!(tx.len <= self.buf.len() && tx.len >= dhcp::wire::FIXED_LEN);
                assert_eq!(tx.dst.port(), 67);
            }
            let mut n = 0;
            while let Some(tx) = self.dns.poll_transmit(self.now) {
                n += 1;
                busy = true;
                assert!(
                    n <= MAX_TX_PER_SERVICE,
                    "DNS transmit storm at {}",
                    self.now
                );
                self.last_dns = Some(match tx {
                    Transmit::Udp {
                        server,
                        src_port,
                        payload,
                    } => LastDns {
                        server,
                        src_port,
                        query: payload.to_vec(),
                    },
                    Transmit::Tcp {
                        server,
                        src_port,
                        payload,
                    } => {
                        self.summary.tcp_queries += 1;
                        let len = usize::from(u16::from_be_bytes([payload[0], payload[1]]));
                        assert_eq!(len + 2, payload.len(), "DNS TCP length prefix");
                        LastDns {
                            server,
                            src_port,
                            query: payload[2..].to_vec(),
                        }
                    }
                });
            }
            if let Some(res) = self.dns.poll_result() {
                busy = true;
                match &res {
                    Ok(a) => {
                        assert!(!a.addrs.is_empty(), "lookup succeeded without an address");
                        self.summary.answers += 1;
                    }
                    Err(_) => self.summary.dns_errors += 1,
                }
                self.start_lookup();
            }
            if !busy {
                break;
            }
        }
        if let Some(t) = self.dhcp.poll_at() {
            assert!(
                t > self.now,
                "DHCP busy loop: poll_at {t} <= now {} in {:?}",
                self.now,
                self.dhcp.state()
            );
        }
        if let Some(t) = self.dns.poll_at() {
            assert!(
                t > self.now,
                "DNS busy loop: poll_at {t} <= now {}",
                self.now
            );
        }
    }

    /// Build a DNS reply from `chunk`, patched per `k`.
    fn dns_reply(&self, k: u8, chunk: &[u8]) -> Vec<u8> {
        let mut msg = chunk.to_vec();
        let Some(q) = &self.last_dns else {
            return msg;
        };
        if k & kind::PATCH2 != 0 && q.query.len() >= 12 {
            // Header from the chunk, our question, then the rest of the chunk.
            let mut head = [0u8; 12];
            for (i, h) in head.iter_mut().enumerate() {
                *h = chunk.get(i).copied().unwrap_or(0);
            }
            head[2] = (head[2] | 0x80) & !0x78;
            head[4] = 0;
            head[5] = 1;
            msg = head.to_vec();
            msg.extend_from_slice(&q.query[12..]);
            msg.extend_from_slice(chunk.get(12..).unwrap_or(&[]));
        }
        if k & kind::PATCH != 0 && msg.len() >= 2 {
            msg[..2].copy_from_slice(&q.query[..2]);
        }
        msg
    }

    fn step(&mut self, inp: &mut Input<'_>) {
        let k = inp.u8();
        let now = self.now;
        match k & 3 {
            kind::DHCP => {
                let port = if k & kind::PATCH2 != 0 { inp.u16() } else { 67 };
                let mut msg = inp.chunk().to_vec();
                if k & kind::PATCH != 0 {
                    if let Some(x) = msg.get_mut(4..8) {
                        x.copy_from_slice(&self.dhcp.xid().to_be_bytes());
                    }
                    if let Some(c) = msg.get_mut(28..34) {
                        c.copy_from_slice(&MAC);
                    }
                }
                let from = SocketAddrV4::new(DHCP_SERVER, port);
                let _ = self.dhcp.handle(now, from, &msg);
            }
            kind::DNS_UDP => {
                let alt = (k & kind::ALT != 0).then(|| inp.u16());
                let chunk = inp.chunk();
                let msg = self.dns_reply(k, chunk);
                let (from, to) = match (&self.last_dns, alt) {
                    (Some(q), None) => (q.server, q.src_port),
                    (_, p) => (
                        SocketAddrV4::new(DNS_SERVER, p.unwrap_or(53)),
                        p.unwrap_or(0),
                    ),
                };
                let _ = self.dns.handle_udp(now, from, to, &msg);
            }
            kind::DNS_TCP => {
                let cut1 = usize::from(inp.u8());
                let cut2 = usize::from(inp.u8());
                let chunk = inp.chunk();
                let mut msg = self.dns_reply(k, chunk);
                if k & kind::ALT != 0 {
                    let len = u16::try_from(msg.len()).unwrap_or(u16::MAX);
                    msg.splice(0..0, len.to_be_bytes());
                }
                // Up to three pieces, as a TCP stream may deliver them.
                let a = cut1.min(msg.len());
                let b = a.saturating_add(cut2).min(msg.len());
                for piece in [&msg[..a], &msg[a..b], &msg[b..]] {
                    if !piece.is_empty() {
                        let _ = self.dns.handle_tcp(now, piece);
                    }
                }
            }
            _ => {
                if k & 0x04 != 0 {
                    self.dhcp.link_changed(k & 0x08 != 0, now);
                }
                if k & 0x10 != 0 {
                    self.dns.handle_transport_error(now);
                }
                if k & 0x20 != 0 {
                    self.dns.cancel();
                }
                if k & 0x40 != 0 {
                    self.start_lookup();
                }
                if k & 0x80 != 0 {
                    self.dhcp.release(now);
                }
            }
        }
    }
}
