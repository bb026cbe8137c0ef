//! A DNS server (RFC 1035) over UDP 53 and TCP 53 with switchable faults, and a small codec
//! tests use to build queries and read answers.
//!
//! It serves A and CNAME records (several A records per name, CNAME chains followed up to 8
//! links), NXDOMAIN for unknown names, compresses names in answers (§4.1.4), truncates UDP
//! answers over 512 bytes with TC set (§4.2.1) while TCP carries the full answer (§4.2.2,
//! two-byte length prefix), and logs every query (source port and id) so tests can check that
//! a resolver randomises them.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};

use super::app::{InDatagram, TcpApp, TcpAppFactory, TcpIo, UdpApp, UdpCtx};
use super::util::XorShift;
use crate::time::Instant;

/// The DNS port.
pub const PORT: u16 = 53;
/// Type A.
pub const TYPE_A: u16 = 1;
/// Type CNAME.
pub const TYPE_CNAME: u16 = 5;
/// Type AAAA.
pub const TYPE_AAAA: u16 = 28;
/// Type ANY (QTYPE `*`).
pub const TYPE_ANY: u16 = 255;
/// RCODE: no error.
pub const RCODE_NOERROR: u8 = 0;
/// RCODE: format error.
pub const RCODE_FORMERR: u8 = 1;
/// RCODE: server failure.
pub const RCODE_SERVFAIL: u8 = 2;
/// RCODE: name error (NXDOMAIN).
pub const RCODE_NXDOMAIN: u8 = 3;
/// RCODE: not implemented.
pub const RCODE_NOTIMP: u8 = 4;
/// Largest UDP answer without EDNS (RFC 1035 §4.2.1).
pub const UDP_MAX: usize = 512;
/// CNAME links followed at most.
const MAX_CHAIN: usize = 8;

/// Record data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordData {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An alias for another name.
    Cname(String),
}

/// One resource record of the zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Owner name, lower case, without the trailing dot.
    pub name: String,
    /// Time to live in seconds.
    pub ttl: u32,
    /// Data.
    pub data: RecordData,
}

/// The records a server answers from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Zone {
    /// All records.
    pub records: Vec<Record>,
}

fn norm(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl Zone {
    /// An empty zone.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add an A record (builder style; call again for more addresses).
    pub fn a(mut self, name: &str, ip: Ipv4Addr, ttl: u32) -> Self {
        self.records.push(Record {
            name: norm(name),
            ttl,
            data: RecordData::A(ip),
        });
        self
    }

    /// Add a CNAME record.
    pub fn cname(mut self, name: &str, target: &str, ttl: u32) -> Self {
        self.records.push(Record {
            name: norm(name),
            ttl,
            data: RecordData::Cname(norm(target)),
        });
        self
    }

    fn exists(&self, name: &str) -> bool {
        self.records.iter().any(|r| r.name == name)
    }

    fn cname_of(&self, name: &str) -> Option<&Record> {
        self.records
            .iter()
            .find(|r| r.name == name && matches!(r.data, RecordData::Cname(_)))
    }
}

/// Switchable misbehaviour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DnsFault {
    /// Behave.
    #[default]
    None,
    /// Answer SERVFAIL.
    ServFail,
    /// Never answer.
    Silent,
    /// Answer with random bytes.
    Garbage,
    /// Answer correctly but with a different message id.
    WrongId,
    /// Over UDP always answer with TC set and no records (TCP answers in full).
    TruncateUdp,
}

/// One query the server saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryLog {
    /// When.
    pub at: Instant,
    /// Client address and source port.
    pub src: SocketAddrV4,
    /// Message id.
    pub id: u16,
    /// Question name (as sent, without trailing dot).
    pub name: String,
    /// Question type.
    pub qtype: u16,
    /// True over TCP.
    pub tcp: bool,
}

/// A parsed question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    /// Message id.
    pub id: u16,
    /// Header flags as received.
    pub flags: u16,
    /// Question name (without trailing dot).
    pub name: String,
    /// Question type.
    pub qtype: u16,
    /// Question class.
    pub qclass: u16,
}

/// Read a possibly compressed name at `pos`; returns it and the offset after it in place.
pub fn read_name(msg: &[u8], mut pos: usize) -> Option<(String, usize)> {
    let mut name = String::new();
    let mut end = None;
    for _ in 0..128 {
        let len = *msg.get(pos)?;
        match len & 0xc0 {
            0x00 => {
                if len == 0 {
                    return Some((name, end.unwrap_or(pos + 1)));
                }
                let label = msg.get(pos + 1..pos + 1 + usize::from(len))?;
                if !name.is_empty() {
                    name.push('.');
                }
                name.push_str(core::str::from_utf8(label).ok()?);
                if name.len() > 255 {
                    return None;
                }
                pos += 1 + usize::from(len);
            }
            0xc0 => {
                let lo = *msg.get(pos + 1)?;
                if end.is_none() {
                    end = Some(pos + 2);
                }
                pos = usize::from(u16::from_be_bytes([len & 0x3f, lo]));
            }
            _ => return None,
        }
    }
    None
}

fn u16_at(b: &[u8], p: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(p..p + 2)?.try_into().ok()?))
}

/// Parse the header and first question of a query.
pub fn parse_question(b: &[u8]) -> Option<Question> {
    let id = u16_at(b, 0)?;
    let flags = u16_at(b, 2)?;
    if u16_at(b, 4)? == 0 {
        return None;
    }
    let (name, p) = read_name(b, 12)?;
    Some(Question {
        id,
        flags,
        name,
        qtype: u16_at(b, p)?,
        qclass: u16_at(b, p + 2)?,
    })
}

/// Build a standard query (RD set when `recursion_desired`).
pub fn build_query(id: u16, name: &str, qtype: u16, recursion_desired: bool) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&id.to_be_bytes());
    b.extend_from_slice(&(if recursion_desired { 0x0100u16 } else { 0 }).to_be_bytes());
    b.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        b.push(label.len().min(63) as u8);
        b.extend_from_slice(label.as_bytes().get(..label.len().min(63)).unwrap_or(&[]));
    }
    b.push(0);
    b.extend_from_slice(&qtype.to_be_bytes());
    b.extend_from_slice(&1u16.to_be_bytes());
    b
}

/// A parsed answer (for tests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Message id.
    pub id: u16,
    /// Header flags.
    pub flags: u16,
    /// Response code.
    pub rcode: u8,
    /// TC bit.
    pub truncated: bool,
    /// Answer records: owner name, TTL and data (A and CNAME only).
    pub answers: Vec<(String, u32, RecordData)>,
}

/// Parse a response (answer section; A and CNAME records).
pub fn parse_response(b: &[u8]) -> Option<Response> {
    let id = u16_at(b, 0)?;
    let flags = u16_at(b, 2)?;
    let qd = u16_at(b, 4)?;
    let an = u16_at(b, 6)?;
    let mut p = 12;
    for _ in 0..qd {
        let (_, q) = read_name(b, p)?;
        p = q + 4;
    }
    let mut answers = Vec::new();
    for _ in 0..an {
        let (name, q) = read_name(b, p)?;
        let rtype = u16_at(b, q)?;
        let ttl = u32::from_be_bytes(b.get(q + 4..q + 8)?.try_into().ok()?);
        let rdlen = usize::from(u16_at(b, q + 8)?);
        let rd = q + 10;
        let data = b.get(rd..rd + rdlen)?;
        match rtype {
            TYPE_A => {
                let a: [u8; 4] = data.try_into().ok()?;
                answers.push((name, ttl, RecordData::A(Ipv4Addr::from(a))));
            }
            TYPE_CNAME => {
                let (t, _) = read_name(b, rd)?;
                answers.push((name, ttl, RecordData::Cname(t)));
            }
            _ => {}
        }
        p = rd + rdlen;
    }
    Some(Response {
        id,
        flags,
        rcode: (flags & 0x000f) as u8,
        truncated: flags & 0x0200 != 0,
        answers,
    })
}

/// Writes names with compression pointers to suffixes written before (RFC 1035 §4.1.4).
struct NameWriter {
    seen: Vec<(String, u16)>,
}

impl NameWriter {
    fn write(&mut self, b: &mut Vec<u8>, name: &str) {
        let labels: Vec<&str> = name.split('.').filter(|l| !l.is_empty()).collect();
        for i in 0..labels.len() {
            let suffix = labels
                .get(i..)
                .unwrap_or(&[])
                .join(".")
                .to_ascii_lowercase();
            if let Some((_, off)) = self.seen.iter().find(|(s, _)| *s == suffix) {
                b.extend_from_slice(&(0xc000 | *off).to_be_bytes());
                return;
            }
            if let Ok(off) = u16::try_from(b.len()) {
                if off < 0x3fff {
                    self.seen.push((suffix, off));
                }
            }
            let l = labels.get(i).copied().unwrap_or("");
            let l = l.as_bytes().get(..l.len().min(63)).unwrap_or(&[]);
            b.push(l.len() as u8);
            b.extend_from_slice(l);
        }
        b.push(0);
    }
}

/// Build the answer to `q` from `zone`; `udp_limit` truncates (TC) above that size.
fn answer(
    zone: &Zone,
    q: &Question,
    rcode_override: Option<u8>,
    force_tc: bool,
    udp_limit: Option<usize>,
) -> Vec<u8> {
    let opcode = (q.flags >> 11) & 0xf;
    let mut rrs: Vec<Record> = Vec::new();
    let mut rcode = RCODE_NOERROR;
    if opcode != 0 {
        rcode = RCODE_NOTIMP;
    } else if let Some(r) = rcode_override {
        rcode = r;
    } else {
        let mut name = norm(&q.name);
        for _ in 0..MAX_CHAIN {
            if q.qtype == TYPE_CNAME {
                break;
            }
            match zone.cname_of(&name) {
                Some(r) => {
                    rrs.push(r.clone());
                    if let RecordData::Cname(t) = &r.data {
                        name = t.clone();
                    }
                }
                None => break,
            }
        }
        if q.qtype == TYPE_CNAME {
            rrs.extend(zone.cname_of(&name).cloned());
        }
        if q.qtype == TYPE_A || q.qtype == TYPE_ANY {
            rrs.extend(
                zone.records
                    .iter()
                    .filter(|r| r.name == name && matches!(r.data, RecordData::A(_)))
                    .cloned(),
            );
        }
        if !zone.exists(&name) {
            rcode = RCODE_NXDOMAIN;
        }
    }
    let encode = |rrs: &[Record], tc: bool| -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&q.id.to_be_bytes());
        // QR, opcode copied, AA, TC, RD copied, RA.
        let mut flags: u16 = 0x8000 | (q.flags & 0x7800) | 0x0400 | (q.flags & 0x0100) | 0x0080;
        if tc {
            flags |= 0x0200;
        }
        flags |= u16::from(rcode);
        b.extend_from_slice(&flags.to_be_bytes());
        b.extend_from_slice(&1u16.to_be_bytes());
        b.extend_from_slice(&(rrs.len() as u16).to_be_bytes());
        b.extend_from_slice(&[0, 0, 0, 0]);
        let mut w = NameWriter { seen: Vec::new() };
        w.write(&mut b, &q.name);
        b.extend_from_slice(&q.qtype.to_be_bytes());
        b.extend_from_slice(&q.qclass.to_be_bytes());
        for r in rrs {
            w.write(&mut b, &r.name);
            let rtype = match r.data {
                RecordData::A(_) => TYPE_A,
                RecordData::Cname(_) => TYPE_CNAME,
            };
            b.extend_from_slice(&rtype.to_be_bytes());
            b.extend_from_slice(&1u16.to_be_bytes());
            b.extend_from_slice(&r.ttl.to_be_bytes());
            let len_at = b.len();
            b.extend_from_slice(&[0, 0]);
            match &r.data {
                RecordData::A(ip) => b.extend_from_slice(&ip.octets()),
                RecordData::Cname(t) => w.write(&mut b, t),
            }
            let rdlen = (b.len() - len_at - 2) as u16;
            if let Some(s) = b.get_mut(len_at..len_at + 2) {
                s.copy_from_slice(&rdlen.to_be_bytes());
            }
        }
        b
    };
    let full = encode(&rrs, false);
    match udp_limit {
        Some(_) if force_tc => encode(&[], true),
        Some(limit) if full.len() > limit => encode(&[], true),
        _ => full,
    }
}

/// Apply the fault mode to a query; `None` means stay silent.
fn respond(
    zone: &Zone,
    fault: DnsFault,
    q: &Question,
    tcp: bool,
    rng: &mut XorShift,
) -> Option<Vec<u8>> {
    let limit = (!tcp).then_some(UDP_MAX);
    match fault {
        DnsFault::Silent => None,
        DnsFault::Garbage => {
            let n = 8 + (rng.next_u32() % 40) as usize;
            Some((0..n).map(|_| rng.next_u32() as u8).collect())
        }
        DnsFault::ServFail => Some(answer(zone, q, Some(RCODE_SERVFAIL), false, limit)),
        DnsFault::TruncateUdp => Some(answer(zone, q, None, !tcp, limit)),
        DnsFault::WrongId => {
            let mut q2 = q.clone();
            q2.id = q.id ^ 0x5a5a;
            Some(answer(zone, &q2, None, false, limit))
        }
        DnsFault::None => Some(answer(zone, q, None, false, limit)),
    }
}

fn formerr(b: &[u8]) -> Option<Vec<u8>> {
    let id = b.get(..2)?;
    let mut r = id.to_vec();
    r.extend_from_slice(&[0x80, RCODE_FORMERR, 0, 0, 0, 0, 0, 0, 0, 0]);
    Some(r)
}

/// The UDP side of the DNS server (bind it to port 53); see [`install`] for both sides.
#[derive(Debug)]
pub struct DnsServer {
    /// The records served.
    pub zone: Zone,
    /// The fault mode.
    pub fault: DnsFault,
    /// Queries seen over UDP (the last [`DnsServer::log_limit`]).
    pub log: Vec<QueryLog>,
    /// Most entries kept in [`DnsServer::log`] (oldest dropped first).
    pub log_limit: usize,
    /// Queries seen over UDP in all.
    pub queries: u64,
    rng: XorShift,
}

impl DnsServer {
    /// A server for `zone`.
    pub fn new(zone: Zone) -> Self {
        DnsServer {
            zone,
            fault: DnsFault::None,
            log: Vec::new(),
            log_limit: usize::MAX,
            queries: 0,
            rng: XorShift::new(0xd45),
        }
    }
}

impl UdpApp for DnsServer {
    fn on_datagram(&mut self, now: Instant, d: &InDatagram, ctx: &mut UdpCtx) {
        let reply = match parse_question(&d.payload) {
            Some(q) => {
                self.queries = self.queries.saturating_add(1);
                super::host::keep_last(&mut self.log, self.log_limit);
                self.log.push(QueryLog {
                    at: now,
                    src: d.src,
                    id: q.id,
                    name: q.name.clone(),
                    qtype: q.qtype,
                    tcp: false,
                });
                if q.flags & 0x8000 != 0 {
                    None
                } else {
                    respond(&self.zone, self.fault, &q, false, &mut self.rng)
                }
            }
            None => formerr(&d.payload),
        };
        if let Some(r) = reply {
            ctx.send(d.dst.port(), d.src, r);
        }
    }
}

/// The TCP side of the DNS server: one per connection, answering length-prefixed queries
/// until the client closes.
#[derive(Debug)]
pub struct DnsTcpConn {
    zone: Zone,
    fault: DnsFault,
    buf: Vec<u8>,
    rng: XorShift,
    remote: Option<SocketAddrV4>,
    /// Queries seen on this connection.
    pub log: Vec<QueryLog>,
}

impl DnsTcpConn {
    /// A factory for TCP 53 serving `zone` with `fault`.
    pub fn factory(zone: Zone, fault: DnsFault) -> TcpAppFactory {
        Box::new(move |remote| {
            Box::new(DnsTcpConn {
                zone: zone.clone(),
                fault,
                buf: Vec::new(),
                rng: XorShift::new(0x7c9),
                remote: Some(remote),
                log: Vec::new(),
            })
        })
    }
}

impl TcpApp for DnsTcpConn {
    fn on_data(&mut self, now: Instant, data: &[u8], io: &mut TcpIo) {
        self.buf.extend_from_slice(data);
        for _ in 0..64 {
            let Some(len) = u16_at(&self.buf, 0) else {
                return;
            };
            let len = usize::from(len);
            let Some(m) = self.buf.get(2..2 + len).map(<[u8]>::to_vec) else {
                return;
            };
            self.buf.drain(..2 + len);
            let reply = match parse_question(&m) {
                Some(q) => {
                    self.log.push(QueryLog {
                        at: now,
                        src: self
                            .remote
                            .unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)),
                        id: q.id,
                        name: q.name.clone(),
                        qtype: q.qtype,
                        tcp: true,
                    });
                    respond(&self.zone, self.fault, &q, true, &mut self.rng)
                }
                None => formerr(&m),
            };
            if let Some(r) = reply {
                io.send(&(r.len() as u16).to_be_bytes());
                io.send(&r);
            }
        }
    }
    fn on_peer_fin(&mut self, _now: Instant, io: &mut TcpIo) {
        io.close();
    }
}

/// Serve `zone` on UDP and TCP port 53 of host `id` with `fault` (call again to change it).
pub fn install(lan: &mut super::Lan, id: super::HostId, zone: Zone, fault: DnsFault) {
    let mut udp = DnsServer::new(zone.clone());
    udp.fault = fault;
    if let Some(old) = lan.udp_app::<DnsServer>(id, PORT) {
        udp.log = old.log.clone();
        udp.log_limit = old.log_limit;
        udp.queries = old.queries;
    }
    lan.bind_udp(id, PORT, Box::new(udp));
    lan.listen_tcp(
        id,
        PORT,
        super::TcpOptions::default(),
        DnsTcpConn::factory(zone, fault),
    );
}
