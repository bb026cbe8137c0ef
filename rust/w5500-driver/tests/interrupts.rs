//! INTn handling (DS §3.1 IR/SIR/SIMR, §4.2 Sn_IR/Sn_IMR; INTn is a level): polling without a
//! pin, spurious interrupts, INTn stuck asserted and never asserted must not hang anything.
mod support;

use std::net::SocketAddrV4;
use std::time::{Duration, Instant as Wall};
use support::*;

/// A workload touching every wait: TCP connect + echo, UDP echo, listen/accept, recv timeout.
fn workload(rig: &Rig<Lan>) {
    let bsd = &rig.bsd;
    let s = tcp_connect(bsd, standard::ECHO, 7);
    let data: Vec<u8> = (0..20_000u32).map(|i| (i % 253) as u8).collect();
    assert_eq!(bsd.send(s, &data, None, nf()).unwrap(), data.len());
    assert_eq!(recv_exact(bsd, s, data.len()), data);
    bsd.set_option(s, SockOpt::RcvTimeout(Some(200))).unwrap();
    let t0 = now_ms(rig);
    let mut b = [0u8; 4];
    assert_eq!(bsd.recv(s, &mut b, nf()), Err(Error::WouldBlock));
    let dt = now_ms(rig) - t0;
    assert!((200..=300).contains(&dt), "SO_RCVTIMEO took {dt} ms");
    bsd.close(s).unwrap();

    let u = bsd.socket(SockType::Datagram).unwrap();
    bsd.set_option(u, SockOpt::RcvTimeout(Some(1_000))).unwrap();
    let echo = SocketAddrV4::new(standard::ECHO, 7);
    bsd.send(u, b"udp", Some(echo), nf()).unwrap();
    let mut b = [0u8; 8];
    let (n, _) = bsd.recv(u, &mut b, nf()).unwrap();
    assert_eq!(&b[..n], b"udp");
    bsd.close(u).unwrap();

    let l = bsd.socket(SockType::Stream).unwrap();
    bsd.bind(l, SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, 7300))
        .unwrap();
    bsd.listen(l, 1).unwrap();
    let peer = host(rig, standard::PEER);
    rig.with_sim(|s| {
        s.network_mut()
            .tcp_connect_recorder(peer, SocketAddrV4::new(ME, 7300))
    })
    .unwrap();
    let (c, addr) = bsd.accept(l).unwrap();
    assert_eq!(*addr.ip(), standard::PEER);
    bsd.close(c).unwrap();
    bsd.close(l).unwrap();
}

fn run_bounded(rig: &Rig<Lan>) {
    let t = Wall::now();
    workload(rig);
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
    assert_no_violations(rig);
}

/// No INTn pin (polling every poll interval): everything still works.
#[test]
fn ds_int_polling_without_pin_works() {
    let mut c = cfg();
    c.int_pin = false;
    run_bounded(&rig_with(c));
}

/// DS §3.1: INTn never asserts (broken wire) while the driver believes it is wired: the safety
/// poll keeps everything working.
#[test]
fn ds_int_never_asserted_falls_back_to_the_safety_poll() {
    let rig = rig();
    rig.with_sim(|s| s.faults_mut().int_never_asserted = true);
    run_bounded(&rig);
}

/// DS §3.1: INTn stuck asserted: waits must not spin forever, timeouts still expire.
#[test]
fn ds_int_stuck_asserted_does_not_hang() {
    let rig = rig();
    rig.with_sim(|s| s.faults_mut().int_stuck_asserted = true);
    run_bounded(&rig);
}

/// Spurious Sn_IR bits on every socket (in use, listening, free) between operations: nothing
/// is mistaken for a connection, data or an error, and INTn is drained.
#[test]
fn ds_spurious_interrupts_are_harmless() {
    let rig = rig();
    let bsd = &rig.bsd;
    let inject = |rig: &Rig<Lan>| {
        rig.with_sim(|s| {
            for n in 0..8 {
                s.inject_spurious_interrupt(n, 0x1f);
            }
        })
    };
    inject(&rig);
    service(&rig);
    assert!(!rig.with_sim(|s| s.int_asserted()), "INTn not drained");
    let l = bsd.socket(SockType::Stream).unwrap();
    bsd.bind(l, SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, 7301))
        .unwrap();
    bsd.listen(l, 2).unwrap();
    bsd.set_option(l, SockOpt::NonBlocking(true)).unwrap();
    inject(&rig);
    service(&rig);
    assert_eq!(
        bsd.accept(l).unwrap_err(),
        Error::WouldBlock,
        "CON was spurious"
    );
    let s = tcp_connect(bsd, standard::ECHO, 7);
    inject(&rig);
    let mut b = [0u8; 8];
    assert_eq!(
        bsd.recv(s, &mut b, dontwait()),
        Err(Error::WouldBlock),
        "RECV/DISCON/TIMEOUT were spurious"
    );
    bsd.send(s, b"still ok", None, nf()).unwrap();
    inject(&rig);
    assert_eq!(recv_exact(bsd, s, 8), b"still ok");
    inject(&rig);
    service(&rig);
    assert!(!rig.with_sim(|s| s.int_asserted()), "INTn not drained");
    bsd.close(s).unwrap();
    bsd.close(l).unwrap();
    run_bounded(&rig);
}
