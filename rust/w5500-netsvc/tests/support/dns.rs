//! Hand-built DNS messages and a small driver for the resolver, shared by the dns_* tests.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddrV4};

use w5500_netsvc::dns::{Config, Resolver, Transmit};

pub const NS1: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
pub const NS2: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
pub const NS3: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 3);

/// Uncompressed wire name.
pub fn wname(s: &str) -> Vec<u8> {
    let mut b = Vec::new();
    for l in s.trim_end_matches('.').split('.').filter(|l| !l.is_empty()) {
        b.push(l.len() as u8);
        b.extend_from_slice(l.as_bytes());
    }
    b.push(0);
    b
}

pub fn header(id: u16, flags: u16, qd: u16, an: u16, ns: u16, ar: u16) -> Vec<u8> {
    let mut b = Vec::new();
    for v in [id, flags, qd, an, ns, ar] {
        b.extend_from_slice(&v.to_be_bytes());
    }
    b
}

/// Resource record, class IN.
pub fn rr(owner: &[u8], rtype: u16, ttl: u32, rdata: &[u8]) -> Vec<u8> {
    let mut b = owner.to_vec();
    b.extend_from_slice(&rtype.to_be_bytes());
    b.extend_from_slice(&1u16.to_be_bytes());
    b.extend_from_slice(&ttl.to_be_bytes());
    b.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    b.extend_from_slice(rdata);
    b
}

pub fn a_rr(owner: &str, ttl: u32, ip: Ipv4Addr) -> Vec<u8> {
    rr(&wname(owner), 1, ttl, &ip.octets())
}

pub fn cname_rr(owner: &str, ttl: u32, target: &str) -> Vec<u8> {
    rr(&wname(owner), 5, ttl, &wname(target))
}

pub fn soa_rr(owner: &str, ttl: u32, minimum: u32) -> Vec<u8> {
    let mut d = wname("ns.example");
    d.extend_from_slice(&wname("hostmaster.example"));
    for v in [1u32, 7200, 900, 1_209_600, minimum] {
        d.extend_from_slice(&v.to_be_bytes());
    }
    rr(&wname(owner), 6, ttl, &d)
}

/// A response: QR, RD, RA, the given rcode, question (qname, A, IN), answers and authority.
pub fn reply(
    id: u16,
    rcode: u8,
    qname: &str,
    answers: &[Vec<u8>],
    authority: &[Vec<u8>],
) -> Vec<u8> {
    reply_flags(id, 0x8180 | u16::from(rcode), qname, answers, authority)
}

pub fn reply_flags(
    id: u16,
    flags: u16,
    qname: &str,
    answers: &[Vec<u8>],
    authority: &[Vec<u8>],
) -> Vec<u8> {
    let mut b = header(
        id,
        flags,
        1,
        answers.len() as u16,
        authority.len() as u16,
        0,
    );
    b.extend_from_slice(&wname(qname));
    b.extend_from_slice(&[0, 1, 0, 1]);
    for r in answers.iter().chain(authority) {
        b.extend_from_slice(r);
    }
    b
}

/// Fields of a query the resolver sent.
#[derive(Debug, Clone)]
pub struct Sent {
    pub tcp: bool,
    pub server: SocketAddrV4,
    pub src_port: u16,
    pub id: u16,
    pub qname: String,
    pub msg: Vec<u8>,
}

pub fn decode_sent(t: &Transmit) -> Sent {
    let (tcp, server, src_port, payload) = match t {
        Transmit::Udp {
            server,
            src_port,
            payload,
        } => (false, *server, *src_port, payload.to_vec()),
        Transmit::Tcp {
            server,
            src_port,
            payload,
        } => (true, *server, *src_port, payload.to_vec()),
    };
    let msg = if tcp {
        let len = u16::from_be_bytes([payload[0], payload[1]]) as usize;
        assert_eq!(len + 2, payload.len(), "RFC 1035 §4.2.2 length prefix");
        payload[2..].to_vec()
    } else {
        payload
    };
    let id = u16::from_be_bytes([msg[0], msg[1]]);
    let mut p = 12;
    let mut labels = Vec::new();
    while msg[p] != 0 {
        let l = msg[p] as usize;
        labels.push(String::from_utf8(msg[p + 1..p + 1 + l].to_vec()).unwrap());
        p += 1 + l;
    }
    Sent {
        tcp,
        server,
        src_port,
        id,
        qname: labels.join("."),
        msg,
    }
}

/// Resolver plus a clock.
pub struct H {
    pub r: Resolver,
    pub now: u64,
}

impl H {
    pub fn new(servers: &[Ipv4Addr]) -> Self {
        Self::with(Config::new(0x5eed).with_servers(servers))
    }
    pub fn with(cfg: Config) -> Self {
        H {
            r: Resolver::new(cfg),
            now: 1_000,
        }
    }
    /// The next transmit, which must exist.
    pub fn tx(&mut self) -> Sent {
        let t = self.r.poll_transmit(self.now).expect("a transmit");
        decode_sent(&t)
    }
    pub fn try_tx(&mut self) -> Option<Sent> {
        self.r.poll_transmit(self.now).map(|t| decode_sent(&t))
    }
    /// Answer `s` over UDP from its server with `msg`.
    pub fn udp(&mut self, s: &Sent, msg: &[u8]) -> bool {
        self.r.handle_udp(self.now, s.server, s.src_port, msg)
    }
    pub fn advance(&mut self, ms: u64) {
        self.now += ms;
    }
}
