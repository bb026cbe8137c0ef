//! With INTn wired (DS §3.1 IR/SIR/SIMR, §4.2 Sn_IR/Sn_IMR: INTn is asserted while an
//! enabled event is latched), no blocking call may wait for the safety poll: every wait ends
//! on the event that completes it. Each workload runs twice on fresh rigs, with a 50 ms and
//! with a 10 s safety poll; the simulated time and the SPI transactions it takes must be the
//! same (a wait that only the poll period ends shows up as 50 ms against 10 s). The figures
//! of the 50 ms run are asserted exactly too (the simulator is deterministic): they change
//! only when the driver's SPI sequence changes, which then has to be looked at and the
//! figure updated in the same commit.
mod support;

use std::net::{Ipv4Addr, SocketAddrV4};
use support::*;

/// (simulated µs, SPI transactions) of one measured step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cost {
    us: u64,
    txns: u64,
}

/// Safety poll periods compared.
const SHORT_POLL_MS: u64 = 50;
const LONG_POLL_MS: u64 = 10_000;

fn rig_polling(poll_ms: u64) -> Rig<Lan> {
    let mut c = cfg();
    c.int_pin = true;
    c.poll_ms = poll_ms;
    rig_with(c)
}

/// Start measuring: SPI counters zeroed, the clock read.
fn start(rig: &Rig<Lan>) -> u64 {
    rig.with_sim(|s| {
        s.reset_stats();
        s.now().as_micros()
    })
}

fn stop(rig: &Rig<Lan>, t0: u64) -> Cost {
    rig.with_sim(|s| Cost {
        us: s.now().as_micros() - t0,
        txns: s.stats().transactions,
    })
}

/// Run `work` (which returns the cost of its measured step) with both poll periods; the two
/// must agree. Returns the figure.
fn same_with_any_poll(work: impl Fn(&Rig<Lan>) -> Cost) -> Cost {
    let short = {
        let rig = rig_polling(SHORT_POLL_MS);
        let c = work(&rig);
        assert_no_violations(&rig);
        c
    };
    let long = {
        let rig = rig_polling(LONG_POLL_MS);
        let c = work(&rig);
        assert_no_violations(&rig);
        c
    };
    assert_eq!(
        short, long,
        "the step depends on the safety poll period ({SHORT_POLL_MS} ms vs {LONG_POLL_MS} ms)"
    );
    assert!(short.us < SHORT_POLL_MS * 1000, "{short:?}");
    short
}

/// TCP connect (CON, DS §4.2 Sn_IR) to the echo server.
#[test]
fn ds_sn_ir_con_ends_a_blocking_connect() {
    let c = same_with_any_poll(|rig| {
        let s = rig.bsd.socket(SockType::Stream).unwrap();
        let t0 = start(rig);
        rig.bsd
            .connect(s, SocketAddrV4::new(standard::ECHO, 7))
            .unwrap();
        stop(rig, t0)
    });
    assert_eq!(c, Cost { us: 145, txns: 11 });
}

/// A refused connect (RST: DISCON then CLOSED) returns ECONNREFUSED on the event.
#[test]
fn ds_sn_ir_discon_ends_a_refused_connect() {
    let c = same_with_any_poll(|rig| {
        let s = rig.bsd.socket(SockType::Stream).unwrap();
        let t0 = start(rig);
        let r = rig.bsd.connect(s, SocketAddrV4::new(standard::ECHO, 9999));
        assert_eq!(r, Err(Error::ConnectionRefused));
        stop(rig, t0)
    });
    assert_eq!(c, Cost { us: 145, txns: 11 });
}

/// TCP echo round trip: the blocking recv ends on RECV.
#[test]
fn ds_sn_ir_recv_ends_a_blocking_tcp_recv() {
    let c = same_with_any_poll(|rig| {
        let s = tcp_connect(&rig.bsd, standard::ECHO, 7);
        let t0 = start(rig);
        rig.bsd.send(s, b"ping", None, nf()).unwrap();
        assert_eq!(recv_exact(&rig.bsd, s, 4), b"ping");
        stop(rig, t0)
    });
    assert_eq!(c, Cost { us: 91, txns: 10 });
}

/// The peer's FIN (DISCON) ends a blocking recv with EOF.
#[test]
fn ds_sn_ir_discon_ends_a_blocking_recv_with_eof() {
    let c = same_with_any_poll(|rig| {
        let s = tcp_connect(&rig.bsd, standard::HTTP, 80);
        let req = b"GET / HTTP/1.1\r\nHost: http.sim.lan\r\nConnection: close\r\n\r\n";
        rig.bsd.send(s, req, None, nf()).unwrap();
        let t0 = start(rig);
        let body = recv_exact(&rig.bsd, s, 1 << 20);
        assert!(body.starts_with(b"HTTP/1.1 200"));
        stop(rig, t0)
    });
    assert_eq!(c, Cost { us: 151, txns: 9 });
}

/// accept() returns when the peer's handshake completes (CON on the listening socket).
#[test]
fn ds_sn_ir_con_ends_a_blocking_accept() {
    let c = same_with_any_poll(|rig| {
        let l = rig.bsd.socket(SockType::Stream).unwrap();
        rig.bsd
            .bind(l, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 7300))
            .unwrap();
        rig.bsd.listen(l, 1).unwrap();
        let peer = host(rig, standard::PEER);
        let t0 = start(rig);
        rig.with_sim(|s| {
            s.network_mut()
                .tcp_connect_recorder(peer, SocketAddrV4::new(ME, 7300))
        })
        .unwrap();
        let (_c, from) = rig.bsd.accept(l).unwrap();
        assert_eq!(*from.ip(), standard::PEER);
        stop(rig, t0)
    });
    assert_eq!(c, Cost { us: 179, txns: 16 });
}

/// UDP: the blocking sendto waits for SEND_OK, the blocking recvfrom for RECV.
#[test]
fn ds_sn_ir_send_ok_and_recv_end_blocking_udp_calls() {
    let c = same_with_any_poll(|rig| {
        let u = rig.bsd.socket(SockType::Datagram).unwrap();
        rig.bsd
            .bind(u, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 5000))
            .unwrap();
        let echo = SocketAddrV4::new(standard::ECHO, 7);
        let t0 = start(rig);
        for i in 0..3u8 {
            rig.bsd.send(u, &[i; 32], Some(echo), nf()).unwrap();
            let mut b = [0u8; 64];
            let (n, from) = rig.bsd.recv(u, &mut b, nf()).unwrap();
            assert_eq!((n, from, b[0]), (32, echo, i));
        }
        stop(rig, t0)
    });
    assert_eq!(c, Cost { us: 423, txns: 50 });
}

/// UDP to an address nobody answers ARP for: TIMEOUT (ARPTO, DS §4.2 Sn_IR) ends the
/// blocking sendto with EHOSTUNREACH, at the chip's ARP timeout, not at a poll.
#[test]
fn ds_sn_ir_timeout_ends_a_blocking_udp_send() {
    // The ARP timeout (RTR 200 ms x (RCR 8 + 1)) is longer than the short poll: compare the
    // time the call takes with both, allowing the safety polls' SPI time.
    let run = |poll| {
        let rig = rig_polling(poll);
        let u = rig.bsd.socket(SockType::Datagram).unwrap();
        let t0 = start(&rig);
        let r = rig
            .bsd
            .send(u, b"x", Some(SocketAddrV4::new(standard::NOBODY, 9)), nf());
        assert_eq!(r, Err(Error::HostUnreachable));
        stop(&rig, t0)
    };
    let (short, long) = (run(SHORT_POLL_MS), run(LONG_POLL_MS));
    assert!(short.us.abs_diff(long.us) < 1_000, "{short:?} {long:?}");
    // 9 ARP requests 200 ms apart, then TIMEOUT; the 50 ms safety poll adds its reads.
    assert_eq!(
        long,
        Cost {
            us: 1_800_048,
            txns: 18
        }
    );
    assert_eq!(
        short,
        Cost {
            us: 1_800_045,
            txns: 97
        }
    );
}

/// poll() for POLLIN ends on RECV.
#[test]
fn ds_sn_ir_recv_ends_poll() {
    let c = same_with_any_poll(|rig| {
        let s = tcp_connect(&rig.bsd, standard::ECHO, 7);
        let t0 = start(rig);
        rig.bsd.send(s, b"ping", None, nf()).unwrap();
        let mut fds = [PollFd::new(s, true, false)];
        assert_eq!(rig.bsd.poll(&mut fds, None).unwrap(), 1);
        assert!(fds[0].ready.readable);
        stop(rig, t0)
    });
    assert_eq!(c, Cost { us: 93, txns: 22 });
}

/// close() of a connection: the FIN exchange ends on DISCON and the service routine frees
/// the hardware socket then (a worker that services on INTn and at the stack's deadlines).
#[test]
fn ds_sn_ir_discon_frees_a_closed_socket() {
    let c = same_with_any_poll(|rig| {
        let s = tcp_connect(&rig.bsd, standard::ECHO, 7);
        let t0 = start(rig);
        rig.bsd.close(s).unwrap();
        let os = rig.bsd.os();
        for _ in 0..1_000 {
            if free_hw(&rig.bsd) == 8 {
                break;
            }
            let seen = os.epoch();
            let now = os.now_ms();
            let next = os.with_stack(|st| st.next_deadline_ms());
            let until = next
                .unwrap_or(u64::MAX)
                .min(now + os.poll_interval_ms())
                .max(now + 1);
            os.wait(None, seen, until);
            rig.bsd.on_interrupt().unwrap();
        }
        assert_eq!(free_hw(&rig.bsd), 8);
        stop(rig, t0)
    });
    assert_eq!(c, Cost { us: 77, txns: 7 });
}

/// close() after the peer's FIN (CLOSE_WAIT): our FIN, LAST_ACK, then CLOSED when the ACK
/// comes, which raises no interrupt. Measures until the hardware socket is free again.
#[test]
fn rfc793_s3_5_close_after_the_peers_fin_frees_the_socket_soon() {
    let c = same_with_any_poll(|rig| {
        let s = tcp_connect(&rig.bsd, standard::HTTP, 80);
        let req = b"GET / HTTP/1.1\r\nHost: http.sim.lan\r\nConnection: close\r\n\r\n";
        rig.bsd.send(s, req, None, nf()).unwrap();
        recv_exact(&rig.bsd, s, 1 << 20);
        let t0 = start(rig);
        rig.bsd.close(s).unwrap();
        let os = rig.bsd.os();
        for _ in 0..1_000 {
            if free_hw(&rig.bsd) == 8 {
                break;
            }
            let seen = os.epoch();
            let now = os.now_ms();
            let next = os.with_stack(|st| st.next_deadline_ms());
            let until = next
                .unwrap_or(u64::MAX)
                .min(now + os.poll_interval_ms())
                .max(now + 1);
            os.wait(None, seen, until);
            rig.bsd.on_interrupt().unwrap();
        }
        assert_eq!(free_hw(&rig.bsd), 8);
        stop(rig, t0)
    });
    assert_eq!(c, Cost { us: 473, txns: 8 });
}
