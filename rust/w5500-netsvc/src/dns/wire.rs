//! DNS message encoding and the hostile-input reply parser (RFC 1035 §4).
//!
//! Nothing here trusts a length or an offset from the message: every read is bounds-checked,
//! names are decompressed with the limits of [`read_name`], and every loop is bounded by the
//! message length or by a small constant.

use core::net::Ipv4Addr;

use heapless::Vec;

use super::name::{Name, NameError, MAX_NAME_LEN};

/// Fixed header length (RFC 1035 §4.1.1).
pub const HEADER_LEN: usize = 12;
/// Longest query we build: header, a 255-byte name, QTYPE and QCLASS.
pub const MAX_QUERY_LEN: usize = HEADER_LEN + MAX_NAME_LEN + 4;
/// Type A (RFC 1035 §3.2.2).
pub const TYPE_A: u16 = 1;
/// Type CNAME.
pub const TYPE_CNAME: u16 = 5;
/// Type SOA.
pub const TYPE_SOA: u16 = 6;
/// Class IN (RFC 1035 §3.2.4).
pub const CLASS_IN: u16 = 1;
/// Compression pointers followed at most in one name (real messages need one or two; the
/// "pointers go strictly backwards" rule already guarantees termination).
pub const MAX_POINTERS: usize = 16;
/// CNAME links followed at most in one lookup, over all queries of it.
pub const MAX_CNAME_HOPS: u8 = 8;
/// Most addresses kept from one answer; further A records are ignored.
pub const MAX_ADDRS: usize = 4;

/// RCODE values (RFC 1035 §4.1.1, RFC 2136 for REFUSED's name).
pub mod rcode {
    /// No error.
    pub const NOERROR: u8 = 0;
    /// Format error: the server could not interpret the query.
    pub const FORMERR: u8 = 1;
    /// Server failure.
    pub const SERVFAIL: u8 = 2;
    /// Name error (NXDOMAIN): the name does not exist.
    pub const NXDOMAIN: u8 = 3;
    /// Not implemented.
    pub const NOTIMP: u8 = 4;
    /// Refused by policy.
    pub const REFUSED: u8 = 5;
}

/// Why a message (or part of it) could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The message ends inside a field.
    Truncated,
    /// A label type 0x40 or 0x80 (reserved, RFC 1035 §4.1.4 / RFC 6891 §5).
    BadLabelType,
    /// A compression pointer that does not point strictly before the part of the name that
    /// contains it, or too many pointers.
    BadPointer,
    /// A decompressed name over 255 bytes or a label over 63.
    NameTooLong,
    /// A record whose data does not match its type (A with RDLENGTH ≠ 4, CNAME data longer
    /// than RDLENGTH, …).
    BadRecord,
}

impl From<NameError> for ParseError {
    fn from(_: NameError) -> Self {
        ParseError::NameTooLong
    }
}

fn u16_at(m: &[u8], p: usize) -> Result<u16, ParseError> {
    let b = m.get(p..p.saturating_add(2)).ok_or(ParseError::Truncated)?;
    Ok(u16::from_be_bytes([
        *b.first().ok_or(ParseError::Truncated)?,
        *b.get(1).ok_or(ParseError::Truncated)?,
    ]))
}

fn u32_at(m: &[u8], p: usize) -> Result<u32, ParseError> {
    let hi = u16_at(m, p)?;
    let lo = u16_at(m, p.saturating_add(2))?;
    Ok((u32::from(hi) << 16) | u32::from(lo))
}

/// Read a possibly compressed name starting at `pos` into `out`; returns the offset just after
/// the name as it appears at `pos` (after the first pointer, if any).
///
/// Limits (RFC 1035 §4.1.4 and common hardening): a pointer must point strictly before the
/// start of the run of labels that contains it, so each jump goes further back and loops are
/// impossible; at most [`MAX_POINTERS`] pointers; the decompressed name must fit in 255 bytes
/// with labels of at most 63; label types 0x40 and 0x80 are rejected.
pub fn read_name(msg: &[u8], pos: usize, out: &mut Name) -> Result<usize, ParseError> {
    out.clear();
    let mut p = pos;
    let mut run_start = pos;
    let mut end: Option<usize> = None;
    let mut pointers = 0usize;
    // Each iteration consumes at least one byte moving forward, or a pointer (bounded).
    for _ in 0..(msg.len().saturating_add(MAX_POINTERS).saturating_add(1)) {
        let len = *msg.get(p).ok_or(ParseError::Truncated)?;
        match len & 0xc0 {
            0x00 => {
                if len == 0 {
                    out.finish()?;
                    return Ok(end.unwrap_or(p.saturating_add(1)));
                }
                let start = p.saturating_add(1);
                let label = msg
                    .get(start..start.saturating_add(usize::from(len)))
                    .ok_or(ParseError::Truncated)?;
                out.push_label(label)?;
                p = start.saturating_add(usize::from(len));
            }
            0xc0 => {
                let lo = *msg.get(p.saturating_add(1)).ok_or(ParseError::Truncated)?;
                let target = usize::from(u16::from_be_bytes([len & 0x3f, lo]));
                pointers = pointers.saturating_add(1);
                if pointers > MAX_POINTERS || target >= run_start {
                    return Err(ParseError::BadPointer);
                }
                if end.is_none() {
                    end = Some(p.saturating_add(2));
                }
                p = target;
                run_start = target;
            }
            _ => return Err(ParseError::BadLabelType),
        }
    }
    Err(ParseError::BadPointer)
}

/// Skip a name without keeping it (same checks as [`read_name`]).
fn skip_name(msg: &[u8], pos: usize) -> Result<usize, ParseError> {
    let mut scratch = Name::root();
    read_name(msg, pos, &mut scratch)
}

/// Write a standard query for `name`, type A, class IN, RD set (RFC 1035 §4.1.1–4.1.2).
pub fn build_query(
    id: u16,
    name: &Name,
    out: &mut Vec<u8, MAX_QUERY_LEN>,
) -> Result<(), heapless::CapacityError> {
    out.clear();
    out.extend_from_slice(&id.to_be_bytes())?;
    // QR=0, opcode 0 (QUERY), RD=1.
    out.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0])?;
    out.extend_from_slice(name.as_wire())?;
    out.extend_from_slice(&TYPE_A.to_be_bytes())?;
    out.extend_from_slice(&CLASS_IN.to_be_bytes())?;
    Ok(())
}

/// The header fields of a reply that passed [`check_reply`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplyHeader {
    /// RCODE (low 4 bits of the flags).
    pub rcode: u8,
    /// TC: truncated, retry over TCP (RFC 1035 §4.2.1).
    pub truncated: bool,
    /// ANCOUNT.
    pub answers: u16,
    /// NSCOUNT.
    pub authority: u16,
    /// Offset of the first answer record (after the question).
    pub records_at: usize,
}

/// Why a datagram is not the reply to our query (it is then ignored, RFC 5452 §9.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reject {
    /// Shorter than a header or the question does not parse.
    Malformed(ParseError),
    /// Different message ID.
    WrongId,
    /// QR=0: a query, not a response.
    NotResponse,
    /// OPCODE other than 0 (QUERY).
    WrongOpcode,
    /// QDCOUNT ≠ 1, or the question differs from ours (name, type A, class IN).
    WrongQuestion,
}

/// Check that `msg` is the reply to our query `id` for `qname`, type A, class IN: ID, QR=1,
/// opcode 0, exactly one question equal to ours (name compared case-insensitively).
pub fn check_reply(msg: &[u8], id: u16, qname: &Name) -> Result<ReplyHeader, Reject> {
    let m = Reject::Malformed;
    if msg.len() < HEADER_LEN {
        return Err(m(ParseError::Truncated));
    }
    if u16_at(msg, 0).map_err(m)? != id {
        return Err(Reject::WrongId);
    }
    let flags = u16_at(msg, 2).map_err(m)?;
    if flags & 0x8000 == 0 {
        return Err(Reject::NotResponse);
    }
    if (flags >> 11) & 0xf != 0 {
        return Err(Reject::WrongOpcode);
    }
    if u16_at(msg, 4).map_err(m)? != 1 {
        return Err(Reject::WrongQuestion);
    }
    let mut name = Name::root();
    let p = read_name(msg, HEADER_LEN, &mut name).map_err(m)?;
    let qtype = u16_at(msg, p).map_err(m)?;
    let qclass = u16_at(msg, p.saturating_add(2)).map_err(m)?;
    if !name.eq_ignore_case(qname) || qtype != TYPE_A || qclass != CLASS_IN {
        return Err(Reject::WrongQuestion);
    }
    Ok(ReplyHeader {
        rcode: (flags & 0x000f) as u8,
        truncated: flags & 0x0200 != 0,
        answers: u16_at(msg, 6).map_err(m)?,
        authority: u16_at(msg, 8).map_err(m)?,
        records_at: p.saturating_add(4),
    })
}

/// One resource record's fixed fields (RFC 1035 §4.1.3); the owner name is read on demand.
#[derive(Clone, Copy, Debug)]
struct Rr {
    owner_at: usize,
    rtype: u16,
    class: u16,
    ttl: u32,
    rdata_at: usize,
    rdlen: usize,
    next: usize,
}

fn rr_at(msg: &[u8], pos: usize) -> Result<Rr, ParseError> {
    let p = skip_name(msg, pos)?;
    let rtype = u16_at(msg, p)?;
    let class = u16_at(msg, p.saturating_add(2))?;
    let ttl = u32_at(msg, p.saturating_add(4))?;
    let rdlen = usize::from(u16_at(msg, p.saturating_add(8))?);
    let rdata_at = p.saturating_add(10);
    let next = rdata_at.saturating_add(rdlen);
    if next > msg.len() {
        return Err(ParseError::Truncated);
    }
    Ok(Rr {
        owner_at: pos,
        rtype,
        class,
        ttl: clamp_ttl(ttl),
        rdata_at,
        rdlen,
        next,
    })
}

/// RFC 2181 §8: a TTL with the top bit set is treated as zero.
fn clamp_ttl(ttl: u32) -> u32 {
    if ttl & 0x8000_0000 != 0 {
        0
    } else {
        ttl
    }
}

/// What an answer section says about the name we asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extracted {
    /// A records (class IN) owned by `final_name`, duplicates removed, at most [`MAX_ADDRS`].
    pub addrs: Vec<Ipv4Addr, MAX_ADDRS>,
    /// The end of the CNAME chain that starts at the question name (the question name itself
    /// when there is no CNAME).
    pub final_name: Name,
    /// CNAME links followed in this message.
    pub hops: u8,
    /// Smallest TTL of the records used (CNAMEs of the chain and the A records), seconds.
    pub min_ttl: u32,
    /// For negative answers: min(SOA TTL, SOA MINIMUM) of an SOA in the authority section
    /// (RFC 2308 §5), if there is one.
    pub negative_ttl: Option<u32>,
}

/// Read the answer (and, for negative caching, the authority) section of a checked reply.
///
/// The CNAME chain starting at `qname` is followed through the answer section in any record
/// order (RFC 1034 §3.6.2, §4.3.2 step 3.c), at most `hop_budget` links; each link is a fresh
/// pass over the section, so the work is bounded by `hop_budget` × message length. Records
/// for other names are ignored (they would be out of the chain, RFC 2181 §5.4.1 spirit).
pub fn extract(
    msg: &[u8],
    hdr: &ReplyHeader,
    qname: &Name,
    hop_budget: u8,
) -> Result<Extracted, ExtractError> {
    let mut current = qname.clone();
    let mut owner = Name::root();
    let mut min_ttl = u32::MAX;
    let mut hops = 0u8;
    // Offset just past the answer section; validates every answer record once.
    let mut p = hdr.records_at;
    for _ in 0..hdr.answers {
        p = rr_at(msg, p).map_err(ExtractError::Parse)?.next;
    }
    let answers_end = p;
    // Follow the chain: one pass per link.
    'links: loop {
        let mut p = hdr.records_at;
        for _ in 0..hdr.answers {
            let rr = rr_at(msg, p).map_err(ExtractError::Parse)?;
            p = rr.next;
            if rr.rtype != TYPE_CNAME || rr.class != CLASS_IN {
                continue;
            }
            read_name(msg, rr.owner_at, &mut owner).map_err(ExtractError::Parse)?;
            if !owner.eq_ignore_case(&current) {
                continue;
            }
            if hops >= hop_budget {
                return Err(ExtractError::TooManyCnames);
            }
            // The target replaces the name being chased in place (no second 255-byte name
            // on the stack); on an error `current` is dropped anyway.
            let end = read_name(msg, rr.rdata_at, &mut current).map_err(ExtractError::Parse)?;
            if end != rr.next {
                return Err(ExtractError::Parse(ParseError::BadRecord));
            }
            hops = hops.saturating_add(1);
            min_ttl = min_ttl.min(rr.ttl);
            continue 'links;
        }
        break;
    }
    // Collect the A records of the chain's end.
    let mut addrs: Vec<Ipv4Addr, MAX_ADDRS> = Vec::new();
    let mut p = hdr.records_at;
    for _ in 0..hdr.answers {
        let rr = rr_at(msg, p).map_err(ExtractError::Parse)?;
        p = rr.next;
        if rr.rtype != TYPE_A || rr.class != CLASS_IN {
            continue;
        }
        read_name(msg, rr.owner_at, &mut owner).map_err(ExtractError::Parse)?;
        if !owner.eq_ignore_case(&current) {
            continue;
        }
        let d = msg
            .get(rr.rdata_at..rr.next)
            .ok_or(ExtractError::Parse(ParseError::Truncated))?;
        let o: [u8; 4] = d
            .try_into()
            .map_err(|_| ExtractError::Parse(ParseError::BadRecord))?;
        let ip = Ipv4Addr::from(o);
        min_ttl = min_ttl.min(rr.ttl);
        if !addrs.contains(&ip) {
            // Past MAX_ADDRS further addresses are dropped on purpose.
            let _ = addrs.push(ip);
        }
    }
    if addrs.is_empty() && hops == 0 {
        min_ttl = 0;
    }
    // Authority section: an SOA gives the negative-caching TTL (RFC 2308 §5).
    let mut negative_ttl = None;
    let mut p = answers_end;
    for _ in 0..hdr.authority {
        let Ok(rr) = rr_at(msg, p) else { break };
        p = rr.next;
        if rr.rtype == TYPE_SOA && rr.class == CLASS_IN {
            if let Ok(minimum) = soa_minimum(msg, &rr) {
                negative_ttl = Some(rr.ttl.min(minimum));
                break;
            }
        }
    }
    Ok(Extracted {
        addrs,
        final_name: current,
        hops,
        min_ttl: if min_ttl == u32::MAX { 0 } else { min_ttl },
        negative_ttl,
    })
}

/// The MINIMUM field of an SOA record (RFC 1035 §3.3.13): after MNAME, RNAME and four
/// 32-bit fields.
fn soa_minimum(msg: &[u8], rr: &Rr) -> Result<u32, ParseError> {
    let p = skip_name(msg, rr.rdata_at)?;
    let p = skip_name(msg, p)?;
    let min_at = p.saturating_add(16);
    if min_at.saturating_add(4) != rr.next || rr.rdlen < 22 {
        return Err(ParseError::BadRecord);
    }
    Ok(clamp_ttl(u32_at(msg, min_at)?))
}

/// Why [`extract`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtractError {
    /// A record does not parse.
    Parse(ParseError),
    /// The CNAME chain is longer than the budget (or loops).
    TooManyCnames,
}

/// Fuzz entry point for the reply parser (cargo-fuzz calls this with arbitrary bytes): the
/// message is checked against the question it carries itself (so the fuzzer reaches the
/// record parser) and against a fixed question, and every offset is tried as a name start.
/// It must never panic or loop without bound.
pub fn fuzz_parse(data: &[u8]) {
    let mut qname = Name::root();
    let id = u16_at(data, 0).unwrap_or(0);
    if read_name(data, HEADER_LEN, &mut qname).is_ok() {
        if let Ok(hdr) = check_reply(data, id, &qname) {
            let _ = extract(data, &hdr, &qname, MAX_CNAME_HOPS);
        }
    }
    if let Ok(fixed) = Name::from_text("example.org") {
        if let Ok(hdr) = check_reply(data, id, &fixed) {
            let _ = extract(data, &hdr, &fixed, MAX_CNAME_HOPS);
        }
    }
    let mut n = Name::root();
    for pos in 0..data.len().min(512) {
        let _ = read_name(data, pos, &mut n);
    }
}
