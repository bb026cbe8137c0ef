//! A socket just closed is available again (issue 14): `close()` on a connected TCP socket
//! finishes the FIN exchange in the background (RFC 793 §3.5), holding its hardware socket;
//! when none is free, `socket()` takes that one over with CLOSE (DS §4.2 Sn_CR CLOSE: no
//! segment is sent) instead of failing with ENFILE. What that costs the peer is measured here
//! on the simulated LAN, and written in docs/SEMANTICS.md and docs/RELIABILITY.md.
mod support;

use std::net::{Ipv4Addr, SocketAddrV4};
use support::*;
use w5500_sim::lan::{TcpOptions, TcpRecorder, TcpState};

const PORT: u16 = 7300;

/// What the peer's side of the connection saw.
#[derive(Debug, PartialEq, Eq)]
struct PeerView {
    bytes: usize,
    fin: bool,
    reset: bool,
    state: Option<TcpState>,
}

/// The LAN peer listens on `port` with recorders (`close_on_fin`: close when our FIN arrives,
/// as a typical server does).
fn peer_listens(rig: &Rig<Lan>, port: u16, opts: TcpOptions, close_on_fin: bool) {
    let peer = host(rig, standard::PEER);
    rig.with_sim(|s| {
        s.network_mut().listen_tcp(
            peer,
            port,
            opts,
            Box::new(move |_| {
                Box::new(TcpRecorder {
                    close_on_peer_fin: close_on_fin,
                    ..TcpRecorder::default()
                })
            }),
        )
    });
}

/// The peer's newest connection on `port`.
fn peer_conn(rig: &Rig<Lan>, port: u16) -> ConnHandle {
    let peer = host(rig, standard::PEER);
    let hs = rig.with_sim(|s| s.network().tcp_handles_on_port(peer, port));
    *hs.last().unwrap()
}

fn peer_view(rig: &Rig<Lan>, h: ConnHandle) -> PeerView {
    rig.with_sim(|s| {
        let lan = s.network();
        let r = lan.tcp_app::<TcpRecorder>(h).unwrap();
        PeerView {
            bytes: r.received.len(),
            fin: r.peer_fin_at.is_some(),
            reset: r.reset_at.is_some(),
            state: lan.tcp_state(h),
        }
    })
}

/// `n` UDP sockets, bound, each holding a hardware socket.
fn hold(bsd: &LanBsd, n: usize) -> Vec<SocketId> {
    (0..n)
        .map(|_| {
            let s = bsd.socket(SockType::Datagram).unwrap();
            bsd.bind(s, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))
                .unwrap();
            s
        })
        .collect()
}

fn takeovers(bsd: &LanBsd) -> u32 {
    bsd.os().with_stack(|s| s.abortive_takeovers())
}

/// Everything closed and given time: every hardware socket is free and CLOSED again.
fn assert_all_back(rig: &Rig<Lan>, socks: Vec<SocketId>) {
    for s in socks {
        rig.bsd.close(s).unwrap();
    }
    idle(rig, 2_500);
    service(rig);
    assert_eq!(free_hw(&rig.bsd), 8);
    assert_eq!(open_hw_on_chip(rig), vec![]);
    assert_no_violations(rig);
}

/// One request/response exchange with the peer on `port`, then close(); returns the peer's
/// handle. Everything sent has been acknowledged when close() is called.
fn exchange_and_close(rig: &Rig<Lan>, port: u16) -> ConnHandle {
    let bsd = &rig.bsd;
    let c = tcp_connect(bsd, standard::PEER, port);
    let h = peer_conn(rig, port);
    assert_eq!(bsd.send(c, &[0x5a; 100], None, nf()).unwrap(), 100);
    idle(rig, 5);
    service(rig);
    assert_eq!(peer_view(rig, h).bytes, 100);
    bsd.close(c).unwrap();
    h
}

/// POSIX socket() after close(): with every other hardware socket held, the one still in
/// its background close (RFC 793 §3.5, FIN exchange) is taken over at once instead of
/// ENFILE, and the new socket works (echo through it). Without a lingering close, the ninth
/// socket is still ENFILE.
#[test]
fn rfc793_3_5_socket_right_after_close_takes_over_the_lingering_close() {
    let rig = rig();
    let bsd = &rig.bsd;
    peer_listens(&rig, PORT, TcpOptions::default(), true);
    let mut socks = hold(bsd, 7);
    exchange_and_close(&rig, PORT);
    // No simulated time has passed since close(): the FIN exchange is still on the wire.
    assert_eq!(free_hw(bsd), 0);
    let before = now_ms(&rig);
    let s = bsd.socket(SockType::Stream).unwrap();
    assert_eq!(now_ms(&rig), before, "no wait for the FIN exchange");
    assert_eq!(takeovers(bsd), 1);
    // Nothing else is closing: the next one is ENFILE as before.
    assert_eq!(bsd.socket(SockType::Stream), Err(Error::NoFreeSocket));
    bsd.connect(s, SocketAddrV4::new(standard::ECHO, 7))
        .unwrap();
    assert_eq!(bsd.send(s, b"again", None, nf()).unwrap(), 5);
    assert_eq!(recv_exact(bsd, s, 5), b"again");
    socks.push(s);
    assert_all_back(&rig, socks);
}

/// What the takeover costs a peer after a completed request/response (all data
/// acknowledged): it still gets every byte and our FIN (DISCON was accepted before CLOSE),
/// but its own FIN is answered with an RST (RFC 793 §3.4: a segment for a closed connection)
/// instead of an ACK, so its connection ends reset, not in order. Without the takeover the
/// same exchange ends in order. A peer that keeps its side open (half-close) is reset as
/// soon as it acknowledges our FIN.
#[test]
fn rfc793_3_4_takeover_after_a_finished_exchange_costs_the_peer_an_rst() {
    for (held, close_on_fin, taken) in [(6, true, false), (7, true, true), (7, false, true)] {
        let rig = rig();
        let bsd = &rig.bsd;
        peer_listens(&rig, PORT, TcpOptions::default(), close_on_fin);
        let mut socks = hold(bsd, held);
        let h = exchange_and_close(&rig, PORT);
        socks.push(bsd.socket(SockType::Stream).unwrap());
        assert_eq!(takeovers(bsd), u32::from(taken));
        idle(&rig, 3_000);
        service(&rig);
        let v = peer_view(&rig, h);
        let case = (held, close_on_fin);
        assert_eq!(v.bytes, 100, "{case:?}");
        assert!(v.fin, "{case:?}: our FIN reached the peer");
        assert_eq!(v.reset, taken, "{case:?}: {v:?}");
        assert_eq!(v.state, Some(TcpState::Closed), "{case:?}");
        assert_all_back(&rig, socks);
    }
}

/// What the takeover costs when our data has not all left: the peer's window is closed
/// (it stopped reading, 2048-byte buffer), so part of what send() accepted still sits in the
/// chip's TX buffer (DS §4.2 Sn_TX_FSR). CLOSE discards it: the peer gets only the 2048
/// bytes already on the wire, never our FIN, and an RST once it reads again (its window
/// update meets the closed port).
#[test]
fn rfc793_3_4_takeover_loses_bytes_still_in_the_chip() {
    let rig = rig();
    let bsd = &rig.bsd;
    let slow = TcpOptions {
        recv_buffer: 2048,
        read_rate: Some(0),
        ..TcpOptions::default()
    };
    peer_listens(&rig, PORT, slow, true);
    let mut socks = hold(bsd, 7);
    let c = tcp_connect(bsd, standard::PEER, PORT);
    let h = peer_conn(&rig, PORT);
    bsd.set_option(c, SockOpt::SndTimeout(Some(500))).unwrap();
    // Blocking send until SO_SNDTIMEO: the peer's window plus the chip's 2 KB buffer.
    let sent = bsd.send(c, &[0x5a; 6000], None, nf()).unwrap();
    assert_eq!(sent, 3508);
    bsd.close(c).unwrap();
    socks.push(bsd.socket(SockType::Stream).unwrap());
    assert_eq!(takeovers(bsd), 1);
    idle(&rig, 3_000);
    service(&rig);
    let v = peer_view(&rig, h);
    assert_eq!((v.bytes, v.fin, v.reset), (0, false, false), "{v:?}");
    assert_eq!(
        v.state,
        Some(TcpState::Established),
        "the peer knows nothing yet"
    );
    rig.with_sim(|s| s.network_mut().tcp_set_read_rate(h, None));
    idle(&rig, 3_000);
    service(&rig);
    let v = peer_view(&rig, h);
    assert_eq!(v.bytes, 2048, "{} bytes lost", sent - v.bytes);
    assert!(!v.fin && v.reset, "{v:?}");
    assert_all_back(&rig, socks);
}

/// Of two lingering closes, the takeover cuts the one that loses nothing: a finished
/// exchange rather than an older close whose peer has not taken all its data yet. The
/// spared one then finishes in order once its peer reads: every byte and the FIN arrive.
#[test]
fn rfc793_3_5_takeover_spares_the_close_with_bytes_outstanding() {
    let rig = rig();
    let bsd = &rig.bsd;
    let slow = TcpOptions {
        recv_buffer: 2048,
        read_rate: Some(0),
        ..TcpOptions::default()
    };
    peer_listens(&rig, PORT, slow, true);
    peer_listens(&rig, PORT + 1, TcpOptions::default(), true);
    let mut socks = hold(bsd, 6);
    let a = tcp_connect(bsd, standard::PEER, PORT);
    let ha = peer_conn(&rig, PORT);
    bsd.set_option(a, SockOpt::SndTimeout(Some(500))).unwrap();
    let sent = bsd.send(a, &[0x33; 3000], None, nf()).unwrap();
    assert_eq!(sent, 3000);
    bsd.close(a).unwrap();
    let hb = exchange_and_close(&rig, PORT + 1);
    socks.push(bsd.socket(SockType::Stream).unwrap());
    assert_eq!(takeovers(bsd), 1);
    // The older close (a) is still lingering; its peer reads now.
    rig.with_sim(|s| s.network_mut().tcp_set_read_rate(ha, None));
    idle(&rig, 1_000);
    service(&rig);
    let va = peer_view(&rig, ha);
    assert_eq!((va.bytes, va.fin, va.reset), (3000, true, false), "{va:?}");
    let vb = peer_view(&rig, hb);
    assert_eq!((vb.bytes, vb.fin, vb.reset), (100, true, true), "{vb:?}");
    assert_all_back(&rig, socks);
}

/// The driver's own services (DNS over the chip's sockets) take over a lingering close the
/// same way when no hardware socket is left, reserved or free.
#[test]
fn rfc793_3_5_service_socket_takes_over_a_lingering_close() {
    let rig = rig();
    let bsd = &rig.bsd;
    peer_listens(&rig, PORT, TcpOptions::default(), true);
    let mut socks = hold(bsd, 7);
    exchange_and_close(&rig, PORT);
    let svc = bsd
        .os()
        .with_stack(|s| s.socket_service(SockType::Datagram))
        .unwrap();
    assert_eq!(takeovers(bsd), 1);
    socks.push(svc);
    assert_all_back(&rig, socks);
}
