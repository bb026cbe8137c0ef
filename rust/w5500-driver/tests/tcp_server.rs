//! TCP passive open (DS §4.2 Sn_CR LISTEN, Sn_SR SOCK_LISTEN -> SOCK_ESTABLISHED: the listening
//! socket itself becomes the connection) with POSIX listen()/accept() semantics: a backlog of
//! hardware sockets kept in LISTEN, FIFO accept, the listener still listening after accept.
mod support;

use std::net::SocketAddrV4;
use support::*;
use w5500_sim::lan::{TcpRecorder, TcpState};

fn tcp_listener(bsd: &LanBsd, port: u16, backlog: u32) -> SocketId {
    listener(bsd, SockType::Stream, port, backlog)
}

/// The peer host connects to our `port`; it closes its side when we close ours.
fn peer_connect(rig: &Rig<Lan>, port: u16) -> ConnHandle {
    peer_connect_with(
        rig,
        port,
        TcpRecorder {
            close_on_peer_fin: true,
            ..TcpRecorder::default()
        },
    )
}

fn peer_port(rig: &Rig<Lan>, h: ConnHandle) -> u16 {
    rig.with_sim(|s| s.network().tcp_conn(h).unwrap().local.port())
}

fn peer_state(rig: &Rig<Lan>, h: ConnHandle) -> Option<TcpState> {
    rig.with_sim(|s| s.network().tcp_state(h))
}

/// POSIX listen(backlog): `clients` connect at the same instant; every one is accepted, in the
/// order they connected, each with the right getpeername(), and data flows on each.
fn backlog_case(backlog: u32, clients: usize) {
    let rig = rig();
    let bsd = &rig.bsd;
    let port = 5000 + backlog as u16;
    let l = tcp_listener(bsd, port, backlog);
    let hs: Vec<ConnHandle> = (0..clients).map(|_| peer_connect(&rig, port)).collect();
    let mut accepted = Vec::new();
    for (i, h) in hs.iter().enumerate() {
        let (c, addr) = bsd.accept(l).unwrap();
        assert_eq!(
            addr,
            SocketAddrV4::new(standard::PEER, peer_port(&rig, *h)),
            "backlog {backlog}: accept #{i} out of order"
        );
        assert_eq!(bsd.peer_addr(c).unwrap(), addr);
        assert_eq!(bsd.local_addr(c).unwrap().port(), port);
        accepted.push(c);
    }
    for (c, h) in accepted.iter().zip(&hs) {
        let msg = format!("hello {}", c.index());
        assert_eq!(bsd.send(*c, msg.as_bytes(), None, nf()).unwrap(), msg.len());
        let _ = h;
    }
    idle(&rig, 5);
    for (c, h) in accepted.iter().zip(&hs) {
        let got = rig.with_sim(|s| s.network().tcp_received(*h).unwrap().to_vec());
        assert_eq!(got, format!("hello {}", c.index()).into_bytes());
        assert_eq!(peer_state(&rig, *h), Some(TcpState::Established));
    }
    for c in accepted {
        bsd.close(c).unwrap();
    }
    bsd.close(l).unwrap();
    idle(&rig, 50);
    service(&rig);
    assert_eq!(
        free_hw(bsd),
        8,
        "backlog {backlog}: hardware sockets leaked"
    );
    assert_no_violations(&rig);
}

/// POSIX listen(0): at least one connection can wait (backlog 0 counts as 1).
#[test]
fn posix_listen_backlog_0() {
    backlog_case(0, 1);
}

/// POSIX listen(1).
#[test]
fn posix_listen_backlog_1() {
    backlog_case(1, 1);
}

/// POSIX listen(3): three simultaneous clients.
#[test]
fn posix_listen_backlog_3_three_clients_at_once() {
    backlog_case(3, 3);
}

/// POSIX listen(20): capped by the 8 hardware sockets (DS §1: 8 sockets); seven clients at once
/// (the eighth socket is the listener's own turned connection... all 8 may be used).
#[test]
fn posix_listen_backlog_20_seven_clients_at_once() {
    backlog_case(20, 7);
}

/// DS §4.2 LISTEN -> ESTABLISHED consumes the listening socket: after each accept() the
/// listener must listen again, so a client connecting right after an accept gets in.
#[test]
fn posix_listener_keeps_listening_after_each_accept() {
    let rig = rig();
    let bsd = &rig.bsd;
    let l = tcp_listener(bsd, 6000, 1);
    for round in 0..5 {
        let h = peer_connect(&rig, 6000);
        let (c, addr) = bsd.accept(l).unwrap();
        assert_eq!(addr.port(), peer_port(&rig, h), "round {round}");
        // Right after the accept: the next client connects and must not be refused.
        let h2 = peer_connect(&rig, 6000);
        let (c2, addr2) = bsd.accept(l).unwrap();
        assert_eq!(addr2.port(), peer_port(&rig, h2), "round {round}");
        assert_eq!(peer_state(&rig, h2), Some(TcpState::Established));
        bsd.close(c).unwrap();
        bsd.close(c2).unwrap();
    }
    bsd.close(l).unwrap();
    idle(&rig, 50);
    service(&rig);
    assert_eq!(free_hw(bsd), 8);
    assert_no_violations(&rig);
}

/// FIFO accept: clients connecting at different times are accepted oldest first.
#[test]
fn posix_accept_order_is_arrival_order() {
    let rig = rig();
    let bsd = &rig.bsd;
    let l = tcp_listener(bsd, 6001, 4);
    let mut hs = Vec::new();
    for _ in 0..4 {
        hs.push(peer_connect(&rig, 6001));
        idle(&rig, 3);
        service(&rig);
    }
    for h in hs {
        let (_, addr) = bsd.accept(l).unwrap();
        assert_eq!(addr.port(), peer_port(&rig, h));
    }
    assert_no_violations(&rig);
}

/// POSIX accept() on a non-blocking listener with nothing pending: EAGAIN at once; readable in
/// poll() once a client connected.
#[test]
fn posix_accept_nonblocking_eagain_then_poll_readable() {
    let rig = rig();
    let bsd = &rig.bsd;
    let l = tcp_listener(bsd, 6002, 2);
    bsd.set_option(l, SockOpt::NonBlocking(true)).unwrap();
    let t0 = now_ms(&rig);
    assert_eq!(bsd.accept(l).unwrap_err(), Error::WouldBlock);
    assert!(now_ms(&rig) - t0 < 5);
    let mut fds = [PollFd::new(l, true, false)];
    assert_eq!(bsd.poll(&mut fds, Some(0)).unwrap(), 0);
    let h = peer_connect(&rig, 6002);
    assert_eq!(bsd.poll(&mut fds, Some(1_000)).unwrap(), 1);
    assert!(fds[0].ready.readable);
    let (c, addr) = bsd.accept(l).unwrap();
    assert_eq!(addr, SocketAddrV4::new(standard::PEER, peer_port(&rig, h)));
    assert_eq!(bsd.accept(l).unwrap_err(), Error::WouldBlock);
    bsd.close(c).unwrap();
    assert_no_violations(&rig);
}

/// POSIX: a connection reset before accept() is not handed out; the listener re-arms.
#[test]
fn posix_connection_reset_before_accept_is_skipped() {
    let rig = rig();
    let bsd = &rig.bsd;
    let l = tcp_listener(bsd, 6003, 2);
    bsd.set_option(l, SockOpt::NonBlocking(true)).unwrap();
    let h = peer_connect(&rig, 6003);
    idle(&rig, 2);
    service(&rig);
    rig.with_sim(|s| s.network_mut().tcp_abort(h));
    idle(&rig, 2);
    service(&rig);
    match bsd.accept(l) {
        Err(Error::WouldBlock) => {}
        Ok((c, _)) => {
            // Accepted before the reset was seen: the reset must show on the socket.
            let mut b = [0u8; 4];
            assert_eq!(
                bsd.recv(c, &mut b, dontwait()).unwrap_err(),
                Error::ConnectionReset
            );
        }
        Err(e) => panic!("{e:?}"),
    }
    let h2 = peer_connect(&rig, 6003);
    bsd.set_option(l, SockOpt::NonBlocking(false)).unwrap();
    let (_, addr) = bsd.accept(l).unwrap();
    assert_eq!(addr.port(), peer_port(&rig, h2));
    assert_no_violations(&rig);
}

/// POSIX bind(): EADDRINUSE for a second listener on the same port; getsockname on a listener.
#[test]
fn posix_bind_same_port_twice_is_eaddrinuse() {
    let rig = rig();
    let bsd = &rig.bsd;
    let l = tcp_listener(bsd, 6004, 1);
    assert_eq!(bsd.local_addr(l).unwrap(), SocketAddrV4::new(ME, 6004));
    let l2 = bsd.socket(SockType::Stream).unwrap();
    assert_eq!(
        bsd.bind(l2, SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, 6004)),
        Err(Error::AddrInUse)
    );
    assert_no_violations(&rig);
}

/// When every hardware socket is busy a listener cannot listen (DS §4.2: one socket per
/// connection); once a socket frees up (here: lingering closes end after CLOSE_LINGER_MS
/// because the peers never close), the listener must listen again by itself.
#[test]
fn posix_listener_rearms_when_a_hardware_socket_frees_up() {
    let rig = rig();
    let bsd = &rig.bsd;
    let l = tcp_listener(bsd, 6005, 1);
    let peer = host(&rig, standard::PEER);
    // Peers that never close: our closes linger in FIN_WAIT.
    let mut conns = Vec::new();
    for _ in 0..8 {
        let h = rig.with_sim(|s| {
            s.network_mut()
                .tcp_connect_recorder(peer, SocketAddrV4::new(ME, 6005))
        });
        conns.push(h.unwrap());
        match bsd.accept(l) {
            Ok((c, _)) => bsd.close(c).unwrap(),
            Err(e) => panic!("{e:?}"),
        }
        if free_hw(bsd) == 0 {
            break;
        }
    }
    // Let the lingering closes expire; the listener must be listening again.
    let linger = w5500_driver::stack::CLOSE_LINGER_MS;
    run_for(&rig, linger / 50 + 20, 50);
    let h = peer_connect(&rig, 6005);
    let (_, addr) = bsd.accept(l).unwrap();
    assert_eq!(addr.port(), peer_port(&rig, h));
    assert_no_violations(&rig);
}

/// A close whose peer never answers our FIN still frees the hardware socket, after
/// CLOSE_LINGER_MS, with CLOSE (never left in FIN_WAIT/TIME_WAIT).
#[test]
fn posix_close_linger_is_bounded_when_the_peer_never_closes() {
    let rig = rig();
    let bsd = &rig.bsd;
    let l = tcp_listener(bsd, 6006, 1);
    let peer = host(&rig, standard::PEER);
    let h = rig
        .with_sim(|s| {
            s.network_mut()
                .tcp_connect_recorder(peer, SocketAddrV4::new(ME, 6006))
        })
        .unwrap();
    let (c, _) = bsd.accept(l).unwrap();
    bsd.close(l).unwrap();
    bsd.close(c).unwrap();
    let t0 = now_ms(&rig);
    run_until(&rig, 200, 50, |r| free_hw(&r.bsd) == 8);
    let dt = now_ms(&rig) - t0;
    assert_eq!(free_hw(bsd), 8);
    assert!(dt <= w5500_driver::stack::CLOSE_LINGER_MS + 300, "{dt} ms");
    assert_eq!(open_hw_on_chip(&rig), vec![]);
    let fin = rig.with_sim(|s| {
        s.network()
            .tcp_app::<TcpRecorder>(h)
            .and_then(|r| r.peer_fin_at)
    });
    assert!(fin.is_some(), "the peer never saw our FIN");
    assert_no_violations(&rig);
}
