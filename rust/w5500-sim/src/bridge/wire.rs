//! The LAN_REPORTS payload (layout in the [module docs](super)), both ways.

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::lan::clients::{ClientId, ClientReport, Outcome, Proto};
use crate::time::Instant;

fn addr(a: Option<SocketAddrV4>) -> ([u8; 4], u16) {
    a.map_or(([0; 4], 0), |a| (a.ip().octets(), a.port()))
}

/// `pending:u32 count:u16` and the reports, as a LAN_REPORTS reply carries them.
pub fn encode_reports(pending: u64, reports: &[ClientReport]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&u32::try_from(pending).unwrap_or(u32::MAX).to_be_bytes());
    let n = u16::try_from(reports.len()).unwrap_or(u16::MAX);
    b.extend_from_slice(&n.to_be_bytes());
    for r in reports.iter().take(usize::from(n)) {
        b.extend_from_slice(&r.client.0.to_be_bytes());
        b.extend_from_slice(&r.round.to_be_bytes());
        b.extend_from_slice(&r.index.to_be_bytes());
        b.push(r.outcome as u8);
        b.push(match r.proto {
            Proto::Tcp => 0,
            Proto::Udp => 1,
        });
        b.extend_from_slice(&r.attempts.to_be_bytes());
        b.extend_from_slice(&r.sent.to_be_bytes());
        b.extend_from_slice(&r.received.to_be_bytes());
        b.extend_from_slice(&r.started.as_micros().to_be_bytes());
        b.extend_from_slice(&r.finished.as_micros().to_be_bytes());
        for a in [r.local, r.remote] {
            let (ip, port) = addr(a);
            b.extend_from_slice(&ip);
            b.extend_from_slice(&port.to_be_bytes());
        }
        let text = r.to_string();
        let text = text.as_bytes();
        let len = u16::try_from(text.len()).unwrap_or(u16::MAX);
        b.extend_from_slice(&len.to_be_bytes());
        b.extend_from_slice(text.get(..usize::from(len)).unwrap_or(text));
    }
    b
}

/// A LAN_REPORTS reply read back: `(pending, [(report, text line)])`. The report's `name`
/// and `detail` are not on the wire (the text line carries them); they come back empty.
/// `None` when the payload is malformed.
#[allow(clippy::type_complexity)]
pub fn decode_reports(p: &[u8]) -> Option<(u64, Vec<(ClientReport, String)>)> {
    let mut r = Reader { p, at: 0 };
    let pending = u64::from(r.u32()?);
    let n = r.u16()?;
    let mut out = Vec::with_capacity(usize::from(n));
    for _ in 0..n {
        let client = ClientId(r.u32()?);
        let round = r.u32()?;
        let index = r.u32()?;
        let outcome = outcome_from(r.u8()?)?;
        let proto = match r.u8()? {
            0 => Proto::Tcp,
            1 => Proto::Udp,
            _ => return None,
        };
        let attempts = r.u32()?;
        let sent = r.u64()?;
        let received = r.u64()?;
        let started = Instant::from_micros(r.u64()?);
        let finished = Instant::from_micros(r.u64()?);
        let mut ends = [None, None];
        for e in ends.iter_mut() {
            let ip = Ipv4Addr::from(r.u32()?);
            let port = r.u16()?;
            *e = (port != 0 || !ip.is_unspecified()).then(|| SocketAddrV4::new(ip, port));
        }
        let len = usize::from(r.u16()?);
        let text = String::from_utf8(r.bytes(len)?.to_vec()).ok()?;
        out.push((
            ClientReport {
                client,
                name: String::new(),
                round,
                index,
                proto,
                local: ends[0],
                remote: ends[1],
                outcome,
                attempts,
                sent,
                received,
                started,
                finished,
                detail: String::new(),
            },
            text,
        ));
    }
    (r.at == p.len()).then_some((pending, out))
}

fn outcome_from(b: u8) -> Option<Outcome> {
    Some(match b {
        0 => Outcome::Ok,
        1 => Outcome::Refused,
        2 => Outcome::Reset,
        3 => Outcome::ClosedEarly,
        4 => Outcome::Mismatch,
        5 => Outcome::BadResponse,
        6 => Outcome::Timeout,
        7 => Outcome::NoAddress,
        8 => Outcome::HeapShort,
        9 => Outcome::Accepted,
        _ => return None,
    })
}

struct Reader<'a> {
    p: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.p.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.bytes(1)?.first().copied()
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.bytes(2)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.bytes(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.bytes(8)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_round_trip_and_truncation_is_refused() {
        let r = ClientReport {
            client: ClientId(7),
            name: "echo".into(),
            round: 2,
            index: 3,
            proto: Proto::Udp,
            local: Some(SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 20), 49152)),
            remote: None,
            outcome: Outcome::Mismatch,
            attempts: 4,
            sent: 1 << 40,
            received: 5,
            started: Instant::from_micros(10),
            finished: Instant::from_micros(20),
            detail: "differs".into(),
        };
        let b = encode_reports(9, core::slice::from_ref(&r));
        let (pending, got) = decode_reports(&b).unwrap();
        assert_eq!(pending, 9);
        let (g, text) = &got[0];
        assert_eq!(text, &r.to_string());
        assert_eq!(
            (g.client, g.round, g.index, g.proto, g.outcome, g.attempts),
            (r.client, 2, 3, Proto::Udp, Outcome::Mismatch, 4)
        );
        assert_eq!(
            (g.sent, g.received, g.local, g.remote),
            (r.sent, 5, r.local, None)
        );
        assert_eq!((g.started, g.finished), (r.started, r.finished));
        for cut in 0..b.len() {
            assert!(decode_reports(&b[..cut]).is_none(), "cut {cut}");
        }
    }
}
