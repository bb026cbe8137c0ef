//! What the simulated LAN holds under load stays bounded (issue 14, finding 1: inside an image
//! the simulator's heap peaked ~30 cycles into a connect/echo/close soak and the image died).
//! These count what the LAN holds ([`Lan::footprint`]) with the bounds an image uses
//! ([`LanLimits::EMBEDDED`]); `rust/w5500-zephyr` checks the heap bytes themselves.
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use support::*;
use w5500_sim::lan::clients::Outcome;
use w5500_sim::lan::limits::{STREAM_CHUNK, STREAM_QUEUE};
use w5500_sim::lan::{Footprint, HeapUse, LanLimits, MemoryGuard};

fn embedded_rig() -> Rig<Lan> {
    let mut lan = Lan::standard();
    lan.set_limits(LanLimits::EMBEDDED);
    rig_on(lan, cfg())
}

fn footprint(rig: &Rig<Lan>) -> Footprint {
    rig.with_sim(|s| s.network().footprint())
}

/// One connect/echo/close cycle to the echo host (RFC 862), `len` bytes.
fn echo_cycle(bsd: &LanBsd, len: usize, seed: u64) {
    let s = tcp_connect(bsd, standard::ECHO, 7);
    let data = w5500_sim::lan::util::pattern(seed, len);
    assert_eq!(bsd.send(s, &data, None, nf()).unwrap(), len);
    assert_eq!(recv_exact(bsd, s, len), data);
    bsd.close(s).unwrap();
}

/// 200 connect/echo/close cycles (RFC 9293 §3.6 close by the chip, the echo host closes
/// after it): the LAN keeps at most `keep_closed` finished connections per host and at most
/// `max_time_wait` in TIME-WAIT, closed connections hold no buffer, and what it holds after
/// cycle 50 is what it holds after cycle 200 (bounded, not merely slow to grow).
#[test]
fn rfc9293_200_echo_cycles_leave_a_bounded_lan() {
    let rig = embedded_rig();
    let bsd = &rig.bsd;
    let limits = LanLimits::EMBEDDED;
    let mut at_50 = None;
    let mut most = Footprint::default();
    for i in 0..200u64 {
        echo_cycle(bsd, 1000 + (i as usize % 7) * 300, i * 977);
        // The close handshake finishes in the background (driver's linger).
        idle(&rig, 20);
        service(&rig);
        let f = footprint(&rig);
        most.connections = most.connections.max(f.connections);
        most.time_wait = most.time_wait.max(f.time_wait);
        most.buffered = most.buffered.max(f.buffered);
        most.frames_in_flight = most.frames_in_flight.max(f.frames_in_flight);
        if i == 49 {
            at_50 = Some(f);
        }
    }
    idle(&rig, 3000);
    service(&rig);
    let end = footprint(&rig);
    // Only the echo host serves here; every finished connection it keeps is closed, and a
    // closed connection's buffers are given back.
    assert!(most.connections <= limits.keep_closed + 2, "{most:?}");
    assert!(most.time_wait <= limits.max_time_wait, "{most:?}");
    assert!(most.buffered <= 2 * STREAM_QUEUE, "{most:?}");
    assert_eq!(end.buffered, 0, "{end:?}");
    assert_eq!(end.frames_in_flight, 0, "{end:?}");
    assert_eq!(
        at_50.map(|f| f.connections),
        Some(end.connections),
        "{at_50:?} {end:?}"
    );
    assert_eq!(end.connections, limits.keep_closed);
    assert_no_violations(&rig);
}

/// A body of any size costs the HTTP host a bounded send queue (RFC 9112 §6.3: a
/// Content-Length body, generated as it is sent): 4 MiB of `/bytes/4194304` arrive intact
/// while the LAN never buffers more than one stream queue plus one chunk.
#[test]
fn rfc9112_streamed_body_of_4_mib_holds_one_queue_at_most() {
    let rig = embedded_rig();
    let bsd = &rig.bsd;
    let s = tcp_connect(bsd, standard::HTTP, 80);
    let req = b"GET /bytes/4194304 HTTP/1.1\r\nHost: http\r\n\r\n";
    assert_eq!(bsd.send(s, req, None, nf()).unwrap(), req.len());
    let mut head = Vec::new();
    let mut buf = vec![0u8; 4096];
    let mut body = 0u64;
    let mut hash = w5500_sim::lan::util::Fnv1a::new();
    let mut most = 0usize;
    for _ in 0..1_000_000 {
        let (n, _) = bsd.recv(s, &mut buf, nf()).unwrap();
        if n == 0 {
            break;
        }
        let mut data = &buf[..n];
        if !head.windows(4).any(|w| w == b"\r\n\r\n") {
            head.extend_from_slice(data);
            let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let extra = head.split_off(end + 4);
            hash.update(&extra);
            body += extra.len() as u64;
            data = &[];
        }
        hash.update(data);
        body += data.len() as u64;
        most = most.max(footprint(&rig).buffered);
    }
    bsd.close(s).unwrap();
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("Content-Length: 4194304\r\n"), "{head}");
    assert_eq!(body, 4_194_304);
    let want = w5500_sim::lan::util::Fnv1a::of(&w5500_sim::lan::util::pattern(0, 4_194_304));
    assert_eq!(hash.0, want);
    assert!(most <= STREAM_QUEUE + STREAM_CHUNK, "buffered {most}");
    assert_no_violations(&rig);
}

static USED: AtomicUsize = AtomicUsize::new(0);

fn probe() -> HeapUse {
    HeapUse {
        used: USED.load(Ordering::SeqCst),
        capacity: 256 * 1024,
    }
}

/// When the heap is short (the guard's probe says so), the LAN refuses new work instead of
/// failing: the chip's SYN to the echo host gets RST (RFC 9293 §3.10.7.1, as for a port
/// nothing listens on: ECONNREFUSED), a LAN client's exchange ends `HeapShort`, each counted;
/// once memory is back the same connection works.
#[test]
fn rfc9293_3_10_7_1_heap_short_refuses_the_one_exchange_and_the_lan_lives_on() {
    let mut lan = Lan::standard();
    lan.set_limits(LanLimits::EMBEDDED);
    lan.set_memory_guard(Some(MemoryGuard {
        probe,
        reserve: 32 * 1024,
    }));
    let rig = rig_on(lan, cfg());
    let bsd = &rig.bsd;
    USED.store(240 * 1024, Ordering::SeqCst);
    let s = bsd.socket(SockType::Stream).unwrap();
    let r = bsd.connect(s, std::net::SocketAddrV4::new(standard::ECHO, 7));
    assert_eq!(r, Err(Error::ConnectionRefused));
    bsd.close(s).unwrap();
    rig.with_sim(|s| {
        s.network_mut()
            .add_clients("tcp name=starved port=4242 send=text:x expect=echo")
    })
    .unwrap();
    idle(&rig, 100);
    let reports = rig.with_sim(|s| s.network_mut().take_client_reports());
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].outcome, Outcome::HeapShort, "{}", reports[0]);
    assert!(reports[0]
        .detail
        .starts_with("not started: simulator heap short"));
    assert_eq!(rig.with_sim(|s| s.network().refusals()), 1);
    USED.store(10 * 1024, Ordering::SeqCst);
    echo_cycle(bsd, 3000, 1);
    assert_no_violations(&rig);
}
