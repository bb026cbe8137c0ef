//! TCP active open through the chip (DS §4.2 Sn_SR SOCK_SYNSENT -> ESTABLISHED / CLOSED,
//! Sn_IR CON/TIMEOUT, DS §3.1 RTR/RCR timeouts) with POSIX connect() semantics.
mod support;

use std::net::{Ipv4Addr, SocketAddrV4};
use support::*;
use w5500_driver::Errno;

/// POSIX connect(): success; getsockname has an ephemeral port, getpeername the peer.
#[test]
fn posix_connect_ok_sets_local_and_peer_names() {
    let rig = rig();
    let bsd = &rig.bsd;
    let s = tcp_connect(bsd, standard::ECHO, 7);
    assert_eq!(
        bsd.peer_addr(s).unwrap(),
        SocketAddrV4::new(standard::ECHO, 7)
    );
    let local = bsd.local_addr(s).unwrap();
    assert_eq!(*local.ip(), ME);
    assert!(local.port() >= 49152, "{local}");
    assert_eq!(rig.with_sim(|sim| sim.chip().socket_status(0)), 0x17);
    bsd.close(s).unwrap();
    assert_no_violations(&rig);
}

/// POSIX ECONNREFUSED: the peer answers the SYN with RST (DS §4.2: SYNSENT -> CLOSED, no
/// TIMEOUT).
#[test]
fn posix_connect_refused_is_econnrefused() {
    let rig = rig();
    let bsd = &rig.bsd;
    let s = bsd.socket(SockType::Stream).unwrap();
    let t0 = now_ms(&rig);
    let e = bsd
        .connect(s, SocketAddrV4::new(standard::PEER, 4321))
        .unwrap_err();
    assert_eq!(e.errno(), Errno::ECONNREFUSED);
    assert!(now_ms(&rig) - t0 < 100, "refusal should be one round trip");
    // The socket can try again (POSIX leaves it unspecified; we allow it).
    let e = bsd
        .connect(s, SocketAddrV4::new(standard::PEER, 4321))
        .unwrap_err();
    assert_eq!(e, Error::ConnectionRefused);
    bsd.close(s).unwrap();
    assert_eq!(free_hw(bsd), 8);
    assert_no_violations(&rig);
}

/// DS §3.1 RTR/RCR: a SYN nobody answers ends in TIMEOUT after TCPTO (31.8 s with the reset
/// values 200 ms × 8 retries) -> ETIMEDOUT, in simulated time. The destination is off-subnet
/// so ARP resolves (the gateway answers) and only the SYNs go unanswered.
#[test]
fn ds_3_1_syn_timeout_is_etimedout_after_tcpto() {
    let rig = rig();
    let bsd = &rig.bsd;
    let s = bsd.socket(SockType::Stream).unwrap();
    let t0 = now_ms(&rig);
    let e = bsd
        .connect(s, SocketAddrV4::new(Ipv4Addr::new(10, 99, 0, 1), 80))
        .unwrap_err();
    let dt = now_ms(&rig) - t0;
    assert_eq!(e.errno(), Errno::ETIMEDOUT);
    assert!((31_000..=33_500).contains(&dt), "TCPTO took {dt} ms");
    bsd.close(s).unwrap();
    assert_eq!(free_hw(bsd), 8);
    assert_no_violations(&rig);
}

/// DS §3.1 ARPTO: no ARP answer for 10.77.0.254 -> EHOSTUNREACH after RTR × (RCR+1) = 1.8 s.
#[test]
fn ds_3_1_arp_timeout_is_ehostunreach() {
    let rig = rig();
    let bsd = &rig.bsd;
    let s = bsd.socket(SockType::Stream).unwrap();
    let t0 = now_ms(&rig);
    let e = bsd
        .connect(s, SocketAddrV4::new(standard::NOBODY, 80))
        .unwrap_err();
    let dt = now_ms(&rig) - t0;
    assert_eq!(e.errno(), Errno::EHOSTUNREACH);
    assert!((1_700..=2_500).contains(&dt), "ARPTO took {dt} ms");
    bsd.close(s).unwrap();
    assert_no_violations(&rig);
}

/// POSIX SO_SNDTIMEO bounds a blocking connect: ETIMEDOUT at the timeout, long before the
/// chip's own TCPTO; the socket is usable afterwards.
#[test]
fn posix_connect_timeout_via_so_sndtimeo() {
    let rig = rig();
    let bsd = &rig.bsd;
    let s = bsd.socket(SockType::Stream).unwrap();
    bsd.set_option(s, SockOpt::SndTimeout(Some(500))).unwrap();
    let t0 = now_ms(&rig);
    let e = bsd
        .connect(s, SocketAddrV4::new(Ipv4Addr::new(10, 99, 0, 1), 80))
        .unwrap_err();
    let dt = now_ms(&rig) - t0;
    assert_eq!(e, Error::TimedOut);
    assert!((500..=700).contains(&dt), "SO_SNDTIMEO 500 ms took {dt} ms");
    // The attempt was abandoned on the chip (no SYN still going out).
    assert_eq!(rig.with_sim(|sim| sim.chip().socket_status(0)), 0x00);
    bsd.connect(s, SocketAddrV4::new(standard::ECHO, 7))
        .unwrap();
    bsd.close(s).unwrap();
    assert_no_violations(&rig);
}

/// POSIX non-blocking connect: EINPROGRESS, then writable in poll(), SO_ERROR 0, and a second
/// connect() says EISCONN.
#[test]
fn posix_nonblocking_connect_einprogress_then_writable() {
    let rig = rig();
    let bsd = &rig.bsd;
    let s = bsd.socket(SockType::Stream).unwrap();
    bsd.set_option(s, SockOpt::NonBlocking(true)).unwrap();
    let e = bsd
        .connect(s, SocketAddrV4::new(standard::ECHO, 7))
        .unwrap_err();
    assert_eq!(e.errno(), Errno::EINPROGRESS);
    let mut fds = [PollFd::new(s, false, true)];
    let n = bsd.poll(&mut fds, Some(2_000)).unwrap();
    assert_eq!(n, 1);
    assert!(fds[0].ready.writable && !fds[0].ready.error, "{:?}", fds[0]);
    assert_eq!(bsd.take_error(s).unwrap(), None);
    assert_eq!(
        bsd.connect(s, SocketAddrV4::new(standard::ECHO, 7)),
        Err(Error::AlreadyConnected)
    );
    assert_eq!(bsd.send(s, b"ping", None, nf()).unwrap(), 4);
    bsd.close(s).unwrap();
    assert_no_violations(&rig);
}

/// POSIX: a second connect() while the first is in progress is EALREADY (ARP to nobody keeps
/// it pending for 1.8 s); the failure then shows as POLLERR and SO_ERROR EHOSTUNREACH.
#[test]
fn posix_second_connect_in_progress_is_ealready_then_so_error() {
    let rig = rig();
    let bsd = &rig.bsd;
    let s = bsd.socket(SockType::Stream).unwrap();
    bsd.set_option(s, SockOpt::NonBlocking(true)).unwrap();
    let dst = SocketAddrV4::new(standard::NOBODY, 80);
    assert_eq!(bsd.connect(s, dst), Err(Error::InProgress));
    assert_eq!(bsd.connect(s, dst), Err(Error::Already));
    let mut fds = [PollFd::new(s, false, true)];
    assert_eq!(bsd.poll(&mut fds, Some(5_000)).unwrap(), 1);
    assert!(fds[0].ready.error, "{:?}", fds[0]);
    assert!(!fds[0].ready.writable || fds[0].ready.error);
    assert_eq!(bsd.take_error(s).unwrap(), Some(Error::HostUnreachable));
    assert_eq!(bsd.take_error(s).unwrap(), None, "SO_ERROR clears on read");
    bsd.close(s).unwrap();
    assert_no_violations(&rig);
}

/// POSIX non-blocking connect refused: POLLERR/POLLHUP, SO_ERROR ECONNREFUSED.
#[test]
fn posix_nonblocking_connect_refused_reports_so_error() {
    let rig = rig();
    let bsd = &rig.bsd;
    let s = bsd.socket(SockType::Stream).unwrap();
    bsd.set_option(s, SockOpt::NonBlocking(true)).unwrap();
    assert_eq!(
        bsd.connect(s, SocketAddrV4::new(standard::PEER, 1)),
        Err(Error::InProgress)
    );
    let mut fds = [PollFd::new(s, true, true)];
    assert_eq!(bsd.poll(&mut fds, Some(1_000)).unwrap(), 1);
    assert!(fds[0].ready.error);
    assert_eq!(bsd.take_error(s).unwrap(), Some(Error::ConnectionRefused));
    bsd.close(s).unwrap();
    assert_no_violations(&rig);
}

/// POSIX connect() on a listening socket is EINVAL... and on a connected one EISCONN.
#[test]
fn posix_blocking_connect_twice_is_eisconn() {
    let rig = rig();
    let bsd = &rig.bsd;
    let s = tcp_connect(bsd, standard::ECHO, 7);
    assert_eq!(
        bsd.connect(s, SocketAddrV4::new(standard::ECHO, 7)),
        Err(Error::AlreadyConnected)
    );
    bsd.close(s).unwrap();
    assert_no_violations(&rig);
}
