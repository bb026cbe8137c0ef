//! LAN clients (`w5500_sim::lan::clients`) against servers that run on the chip through the
//! driver: hosts on the simulated LAN connect *to* the chip on a schedule, as Zephyr's
//! `echo_server` and `dumb_http_server` samples would be driven inside an image. The accept
//! path (DS §4.2 `Sn_CR` LISTEN, `SOCK_LISTEN` → `SOCK_ESTABLISHED`) is what they exercise.
mod support;

use std::net::SocketAddrV4;
use std::time::Duration;
use support::*;
use w5500_sim::lan::clients::{Outcome, Proto};
use w5500_sim::lan::ClientReport;

fn add(rig: &Rig<Lan>, spec: &str) {
    rig.with_sim(|s| s.network_mut().add_clients(spec)).unwrap();
}

/// Send all of `data` (the blocking send may take it in parts).
fn send_all(bsd: &LanBsd, c: SocketId, data: &[u8]) -> Result<(), Error> {
    let mut off = 0;
    for _ in 0..100_000 {
        if off >= data.len() {
            return Ok(());
        }
        off += bsd.send(c, &data[off..], None, nf())?;
    }
    Ok(())
}

/// Echo on one accepted connection until the peer closes (RFC 862); returns the bytes echoed
/// and how it ended (`None`: orderly close).
fn echo_one(bsd: &LanBsd, c: SocketId) -> (u64, Option<Error>) {
    let mut buf = [0u8; 2048];
    let mut total = 0u64;
    for _ in 0..1_000_000 {
        match bsd.recv(c, &mut buf, nf()) {
            Ok((0, _)) => return (total, None),
            Ok((n, _)) => {
                if let Err(e) = send_all(bsd, c, &buf[..n]) {
                    return (total, Some(e));
                }
                total += n as u64;
            }
            Err(e) => return (total, Some(e)),
        }
    }
    (total, None)
}

/// Let the LAN finish: simulated time passes until no exchange is pending (bounded).
fn settle(rig: &Rig<Lan>) -> Vec<ClientReport> {
    for _ in 0..600 {
        if rig.with_sim(|s| s.network().clients_pending()) == 0 {
            break;
        }
        idle(rig, 100);
        service(rig);
    }
    assert_eq!(rig.with_sim(|s| s.network().clients_pending()), 0);
    rig.with_sim(|s| s.network_mut().take_client_reports())
}

/// RFC 862 echo on the chip, three LAN clients at once with backlog 3: every one is accepted
/// and served in turn, each echo compared byte for byte as it streams (100 000 pattern bytes
/// apiece, never held in memory on the LAN).
#[test]
fn rfc862_echo_on_the_chip_serves_three_lan_clients_at_once() {
    let rig = rig();
    let bsd = &rig.bsd;
    let l = listener(bsd, SockType::Stream, 4242, 3);
    add(
        &rig,
        "tcp name=echo port=4242 count=3 send=pattern:100000 expect=echo timeout=60s",
    );
    for _ in 0..3 {
        let (c, peer) = bsd.accept(l).unwrap();
        assert_eq!(*peer.ip(), standard::PEER);
        assert_eq!(echo_one(bsd, c), (100_000, None));
        bsd.close(c).unwrap();
    }
    let r = settle(&rig);
    assert_eq!(r.len(), 3, "{r:#?}");
    for (i, x) in r.iter().enumerate() {
        assert_eq!(x.outcome, Outcome::Ok, "{x}");
        assert_eq!((x.round, x.proto), (1, Proto::Tcp));
        assert_eq!((x.sent, x.received), (100_000, 100_000), "{x}");
        assert_eq!(x.remote, Some(SocketAddrV4::new(ME, 4242)));
        assert_eq!(x.detail, "echo of 100000 bytes intact");
        assert!(x.to_string().starts_with("lan client echo#1."), "{x}");
        let _ = i;
    }
    let mut idx: Vec<u32> = r.iter().map(|x| x.index).collect();
    idx.sort_unstable();
    assert_eq!(idx, [1, 2, 3]);
    assert_no_violations(&rig);
}

/// A client that connects while the backlog is full: the W5500 has no SYN queue, a listening
/// socket itself becomes the connection (DS §4.2 `SOCK_LISTEN` → `SOCK_ESTABLISHED`), so with
/// backlog 1 the first of three simultaneous SYNs takes the only LISTEN socket and the chip
/// answers the other two with RST (no socket listens on the port until the driver re-arms
/// one); the queued connection is there for accept().
#[test]
fn ds4_2_clients_connecting_while_the_backlog_is_full_get_rst() {
    let rig = rig();
    let bsd = &rig.bsd;
    let l = listener(bsd, SockType::Stream, 4242, 1);
    add(
        &rig,
        "tcp name=burst port=4242 count=3 send=text:x expect=none hold=1s timeout=10s",
    );
    let r = settle(&rig);
    let ok: Vec<&ClientReport> = r.iter().filter(|x| x.outcome == Outcome::Ok).collect();
    let refused: Vec<&ClientReport> = r.iter().filter(|x| x.outcome == Outcome::Refused).collect();
    assert_eq!((ok.len(), refused.len()), (1, 2), "{r:#?}");
    assert_eq!(ok[0].index, 1, "{r:#?}");
    assert!(refused.iter().all(|x| x.detail == "RST to the SYN"));
    let (c, peer) = bsd.accept(l).unwrap();
    assert_eq!(Some(peer), ok[0].local);
    let mut b = [0u8; 4];
    assert_eq!(
        bsd.recv(c, &mut b, nf()).map(|(n, _)| (n, b[0])),
        Ok((1, b'x'))
    );
    bsd.close(c).unwrap();
    assert_no_violations(&rig);
}

/// Spaced out, connections keep landing while the driver re-arms free hardware sockets in
/// LISTEN (driver policy: a listener keeps listening while connections wait for accept());
/// when no socket is left, the next SYN gets RST.
#[test]
fn ds4_2_client_connecting_when_every_socket_is_taken_is_refused_with_rst() {
    let rig = rig();
    let bsd = &rig.bsd;
    let l = listener(bsd, SockType::Stream, 4242, 1);
    // The listener's own socket plus every free one.
    let fits = free_hw(bsd) + 1;
    add(
        &rig,
        &format!(
            "tcp name=fill port=4242 rounds={} every=300ms send=text:x expect=none hold=20s timeout=10s",
            fits + 1
        ),
    );
    let r = settle(&rig);
    let ok = r.iter().filter(|x| x.outcome == Outcome::Ok).count();
    let refused: Vec<&ClientReport> = r.iter().filter(|x| x.outcome == Outcome::Refused).collect();
    assert_eq!((ok, refused.len()), (fits, 1), "{r:#?}");
    assert_eq!(refused[0].round, fits as u32 + 1, "{r:#?}");
    for _ in 0..fits {
        let (c, _) = bsd.accept(l).unwrap();
        bsd.close(c).unwrap();
    }
    assert_no_violations(&rig);
}

/// A client that resets mid-stream (RFC 9293 §3.10.7.4: RST in a synchronized state): the
/// chip's socket sees the reset, the server's recv() reports ECONNRESET after the bytes that
/// came before it, and the listener keeps serving the next client.
#[test]
fn rfc9293_3_10_7_4_client_reset_mid_stream_gives_the_server_econnreset() {
    let rig = rig();
    let bsd = &rig.bsd;
    let l = listener(bsd, SockType::Stream, 4242, 1);
    add(
        &rig,
        "tcp name=rst port=4242 send=pattern:8192 reset-after=4096 timeout=20s; \
         tcp name=after port=4242 send=text:still%20here expect=echo start=2s timeout=20s",
    );
    let (c, _) = bsd.accept(l).unwrap();
    // Read (without echoing) until the reset.
    let mut got = 0usize;
    let mut buf = [0u8; 1024];
    let end = loop {
        match bsd.recv(c, &mut buf, nf()) {
            Ok((0, _)) => break None,
            Ok((n, _)) => got += n,
            Err(e) => break Some(e),
        }
    };
    assert_eq!(end, Some(Error::ConnectionReset));
    assert_eq!(got, 4096);
    bsd.close(c).unwrap();
    let (c, _) = bsd.accept(l).unwrap();
    assert_eq!(echo_one(bsd, c), (10, None));
    bsd.close(c).unwrap();
    let r = settle(&rig);
    assert_eq!(r.len(), 2, "{r:#?}");
    assert_eq!(r[0].outcome, Outcome::Ok, "{}", r[0]);
    assert_eq!(r[0].detail, "reset after 4096 bytes, as scripted");
    assert_eq!(r[1].outcome, Outcome::Ok, "{}", r[1]);
    // The driver drains what the chip had buffered before the RST, and its RECV commands
    // reach a socket the RST already closed (ignored by the chip, no data lost): the only
    // thing the simulator notes.
    let v = rig.with_sim(|s| s.violations().to_vec());
    assert!(
        v.iter().all(|v| matches!(
            v.kind,
            w5500_sim::ViolationKind::CommandIgnored {
                command: 0x40,
                status: 0,
                ..
            }
        )),
        "{v:?}"
    );
}

/// HTTP/1.1 (RFC 9112 §4 status line, §6.3 Content-Length) from a server on the chip: a
/// client expecting 200 gets it with the whole body; one expecting 404 reports the mismatch.
#[test]
fn rfc9112_http_server_on_the_chip_is_checked_by_status_and_length() {
    let rig = rig();
    let bsd = &rig.bsd;
    let l = listener(bsd, SockType::Stream, 8080, 2);
    add(
        &rig,
        "tcp name=get port=8080 send=http-get:/ expect=http:200; \
         tcp name=want404 port=8080 send=http-get:/nothing expect=http:404 start=1s",
    );
    let body = b"<html>hello</html>\n";
    for _ in 0..2 {
        let (c, _) = bsd.accept(l).unwrap();
        let mut req = Vec::new();
        let mut buf = [0u8; 512];
        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
            let (n, _) = bsd.recv(c, &mut buf, nf()).unwrap();
            assert!(n > 0);
            req.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&req);
        assert!(
            text.starts_with("GET / HTTP/1.1\r\nHost: 10.77.0.50\r\n")
                || text.starts_with("GET /nothing HTTP/1.1\r\n"),
            "{text}"
        );
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        send_all(bsd, c, head.as_bytes()).unwrap();
        send_all(bsd, c, body).unwrap();
        bsd.close(c).unwrap();
    }
    let r = settle(&rig);
    assert_eq!(r.len(), 2, "{r:#?}");
    assert_eq!(r[0].outcome, Outcome::Ok, "{}", r[0]);
    assert_eq!(r[0].detail, "HTTP 200, body 19 bytes");
    assert_eq!(r[1].outcome, Outcome::BadResponse, "{}", r[1]);
    assert_eq!(r[1].detail, "status 200, expected 404");
    assert_no_violations(&rig);
}

/// UDP echo (RFC 862 §3, RFC 768) on the chip, two clients at once; a third whose datagram
/// goes to a port nothing listens on gets no answer and times out after its retries.
#[test]
fn rfc862_udp_echo_on_the_chip_and_an_unanswered_datagram() {
    let rig = rig();
    let bsd = &rig.bsd;
    let u = listener(bsd, SockType::Datagram, 4242, 0);
    add(
        &rig,
        "udp name=ping port=4242 count=2 send=text:ping expect=echo timeout=5s; \
         udp name=void port=4243 send=pattern:100 expect=echo retry=2 retry-gap=200ms timeout=2s",
    );
    let mut buf = [0u8; 1500];
    for _ in 0..2 {
        let (n, from) = bsd.recv(u, &mut buf, nf()).unwrap();
        assert_eq!(*from.ip(), standard::PEER);
        assert_eq!(bsd.send(u, &buf[..n], Some(from), nf()).unwrap(), n);
    }
    let r = settle(&rig);
    assert_eq!(r.len(), 3, "{r:#?}");
    let ping: Vec<_> = r.iter().filter(|x| x.name == "ping").collect();
    assert!(
        ping.iter()
            .all(|x| x.outcome == Outcome::Ok && x.received == 4),
        "{r:#?}"
    );
    let void = r.iter().find(|x| x.name == "void").unwrap();
    assert_eq!(void.outcome, Outcome::Timeout, "{void}");
    assert_eq!((void.attempts, void.sent), (3, 300), "{void}");
    assert_no_violations(&rig);
}

/// Nothing listens (RFC 9293 §3.10.7.1: a SYN to a closed port gets RST): `expect=refused`
/// is satisfied; an echo client retries its refused connection, and once the server starts
/// listening between attempts, the exchange succeeds on a later attempt.
#[test]
fn rfc9293_3_10_7_1_refused_connections_are_retried_until_the_server_listens() {
    let rig = rig();
    let bsd = &rig.bsd;
    add(
        &rig,
        "tcp name=closed port=9 expect=refused; \
         tcp name=patient port=4242 send=text:hi expect=echo retry=10 retry-gap=500ms timeout=20s",
    );
    idle(&rig, 1200);
    let l = listener(bsd, SockType::Stream, 4242, 1);
    let (c, _) = bsd.accept(l).unwrap();
    assert_eq!(echo_one(bsd, c), (2, None));
    bsd.close(c).unwrap();
    let r = settle(&rig);
    let closed = r.iter().find(|x| x.name == "closed").unwrap();
    assert_eq!(closed.outcome, Outcome::Ok, "{closed}");
    assert_eq!(closed.detail, "refused, as expected");
    let patient = r.iter().find(|x| x.name == "patient").unwrap();
    assert_eq!(patient.outcome, Outcome::Ok, "{patient}");
    assert!(patient.attempts >= 3, "{patient}");
    assert!(patient.to_string().contains("attempts"), "{patient}");
    assert_no_violations(&rig);
}

/// Rounds on a schedule: 5 rounds 1 s apart, one exchange each, against a server that
/// accepts them one by one; reports carry the round and the start times are 1 s apart.
#[test]
fn rounds_run_on_the_schedule() {
    let rig = rig();
    let bsd = &rig.bsd;
    let l = listener(bsd, SockType::Stream, 7777, 1);
    add(
        &rig,
        "tcp name=tick port=7777 send=text:t expect=echo rounds=5 every=1s start=500ms",
    );
    for _ in 0..5 {
        let (c, _) = bsd.accept(l).unwrap();
        assert_eq!(echo_one(bsd, c), (1, None));
        bsd.close(c).unwrap();
    }
    let r = settle(&rig);
    assert_eq!(r.len(), 5);
    let rounds: Vec<u32> = r.iter().map(|x| x.round).collect();
    assert_eq!(rounds, [1, 2, 3, 4, 5]);
    for w in r.windows(2) {
        assert_eq!(
            w[1].started.saturating_since(w[0].started),
            Duration::from_secs(1)
        );
    }
    assert!(r.iter().all(|x| x.outcome == Outcome::Ok));
}
