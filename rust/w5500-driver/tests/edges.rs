//! POSIX edges found by a hostile caller (issue 14), decided in docs/SEMANTICS.md
//! ("Hostile input" and the differences table) and checked here on the simulated chip:
//! destinations the chip cannot reach fail at once (RFC 1122 §3.2.1.3), empty datagrams are
//! refused (DS §4.2 Sn_CR SEND sends what lies between Sn_TX_RD and Sn_TX_WR), accept() on
//! UDP, poll() of an unconnected TCP socket, zero-length reads and option read-back.
mod support;

use std::net::{Ipv4Addr, SocketAddrV4};
use support::*;
use w5500_driver::stack::Readiness;
use w5500_driver::Errno;

/// Frames the chip has put on the wire since tracing began.
fn frames_from_chip(rig: &Rig<Lan>) -> usize {
    rig.with_sim(|s| s.network_mut().take_trace())
        .iter()
        .filter(|t| t.dir == w5500_sim::lan::Direction::FromChip)
        .count()
}

/// RFC 1122 §3.2.1.3: 0.0.0.0/8 and 127.0.0.0/8 name this host and never leave it; the chip
/// has no loopback, so connect() to them is ENETUNREACH at once, with nothing on the wire
/// (before, the SYN went to the gateway and the call waited for the chip's timeout). So is
/// a TCP connect() to broadcast and multicast addresses (as Linux's tcp_v4_connect). The
/// socket stays usable.
#[test]
fn rfc1122_3_2_1_3_connect_to_this_host_or_broadcast_is_enetunreach_at_once() {
    let rig = rig();
    let bsd = &rig.bsd;
    rig.with_sim(|s| s.network_mut().enable_trace());
    let s = bsd.socket(SockType::Stream).unwrap();
    let t0 = now_ms(&rig);
    for ip in [
        Ipv4Addr::LOCALHOST,
        Ipv4Addr::new(127, 1, 2, 3),
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::new(0, 1, 2, 3),
        Ipv4Addr::BROADCAST,
        standard::BROADCAST,
        Ipv4Addr::new(224, 0, 0, 1),
        Ipv4Addr::new(239, 1, 2, 3),
    ] {
        let e = bsd.connect(s, SocketAddrV4::new(ip, 7)).unwrap_err();
        assert_eq!(e.errno(), Errno::ENETUNREACH, "{ip}");
    }
    assert!(now_ms(&rig) - t0 < 5, "no waiting");
    assert_eq!(frames_from_chip(&rig), 0, "nothing was sent");
    // Port 0 is still EINVAL; the socket connects normally afterwards.
    assert_eq!(
        bsd.connect(s, SocketAddrV4::new(standard::ECHO, 0)),
        Err(Error::InvalidArgument)
    );
    bsd.connect(s, SocketAddrV4::new(standard::ECHO, 7))
        .unwrap();
    bsd.close(s).unwrap();
    // UDP: connect() and sendto() to this host likewise.
    let u = bsd.socket(SockType::Datagram).unwrap();
    for ip in [Ipv4Addr::LOCALHOST, Ipv4Addr::UNSPECIFIED] {
        let to = SocketAddrV4::new(ip, 7);
        assert_eq!(bsd.connect(u, to), Err(Error::NetworkUnreachable), "{ip}");
        assert_eq!(
            bsd.send(u, b"x", Some(to), nf()),
            Err(Error::NetworkUnreachable),
            "{ip}"
        );
    }
    bsd.close(u).unwrap();
    idle(&rig, 20);
    service(&rig);
    assert_eq!(free_hw(bsd), 8);
    assert_no_violations(&rig);
}

/// DS §4.2 Sn_CR SEND transmits the bytes between Sn_TX_RD and Sn_TX_WR: with none, no
/// datagram leaves, so sendto() of 0 bytes is EMSGSIZE (the same error as 1473) rather than
/// a success that sends nothing. 1 byte is the smallest datagram; it is echoed.
#[test]
fn ds_4_2_empty_datagram_is_emsgsize_not_a_silent_success() {
    let rig = rig();
    let bsd = &rig.bsd;
    let u = bsd.socket(SockType::Datagram).unwrap();
    bsd.bind(u, any(4100)).unwrap();
    bsd.set_option(u, SockOpt::RcvTimeout(Some(1_000))).unwrap();
    let echo = SocketAddrV4::new(standard::ECHO, 7);
    rig.with_sim(|s| s.network_mut().enable_trace());
    let e = bsd.send(u, &[], Some(echo), nf()).unwrap_err();
    assert_eq!(e.errno(), Errno::EMSGSIZE);
    bsd.connect(u, echo).unwrap();
    assert_eq!(
        bsd.send(u, &[], None, dontwait()),
        Err(Error::MessageTooLong)
    );
    assert_eq!(frames_from_chip(&rig), 0);
    assert_eq!(bsd.send(u, b"1", None, nf()).unwrap(), 1);
    let mut b = [0u8; 8];
    assert_eq!(bsd.recv(u, &mut b, nf()).unwrap(), (1, echo));
    // TCP: an empty send() is 0, as POSIX says for a stream.
    let t = tcp_connect(bsd, standard::ECHO, 7);
    assert_eq!(bsd.send(t, &[], None, nf()).unwrap(), 0);
    bsd.close(t).unwrap();
    bsd.close(u).unwrap();
    assert_no_violations(&rig);
}

/// POSIX accept(): EOPNOTSUPP when "the socket type of the specified socket does not support
/// accepting connections" (UDP), as listen() on UDP; EINVAL for a TCP socket not listening.
#[test]
fn posix_accept_on_udp_is_eopnotsupp() {
    let rig = rig();
    let bsd = &rig.bsd;
    let u = bsd.socket(SockType::Datagram).unwrap();
    assert_eq!(bsd.accept(u).unwrap_err().errno(), Errno::EOPNOTSUPP);
    bsd.bind(u, any(4101)).unwrap();
    assert_eq!(bsd.accept(u).unwrap_err().errno(), Errno::EOPNOTSUPP);
    assert_eq!(bsd.listen(u, 1).unwrap_err().errno(), Errno::EOPNOTSUPP);
    let t = bsd.socket(SockType::Stream).unwrap();
    assert_eq!(bsd.accept(t).unwrap_err().errno(), Errno::EINVAL);
    bsd.close(t).unwrap();
    bsd.close(u).unwrap();
}

/// poll() of a TCP socket that is not connected (new, bound, or after a refused connect):
/// POLLOUT|POLLHUP, as Linux's tcp_poll and lwIP (a write fails at once with ENOTCONN
/// instead of blocking); the refused one adds POLLERR until SO_ERROR is read.
#[test]
fn posix_unconnected_tcp_polls_out_and_hup() {
    let rig = rig();
    let bsd = &rig.bsd;
    let s = bsd.socket(SockType::Stream).unwrap();
    let out_hup = Readiness {
        readable: false,
        writable: true,
        error: false,
        hangup: true,
    };
    let mut fds = [PollFd::new(s, true, true)];
    assert_eq!(bsd.poll(&mut fds, Some(0)).unwrap(), 1);
    assert_eq!(fds[0].ready, out_hup);
    bsd.bind(s, any(4102)).unwrap();
    assert_eq!(bsd.poll(&mut fds, Some(0)).unwrap(), 1);
    assert_eq!(fds[0].ready, out_hup);
    assert_eq!(
        bsd.send(s, b"x", None, nf()).unwrap_err().errno(),
        Errno::ENOTCONN
    );
    // Refused (nobody listens on the peer's port 1).
    let r = bsd.socket(SockType::Stream).unwrap();
    assert_eq!(
        bsd.connect(r, SocketAddrV4::new(standard::PEER, 1)),
        Err(Error::ConnectionRefused)
    );
    let mut fds = [PollFd::new(r, false, true)];
    assert_eq!(bsd.poll(&mut fds, Some(0)).unwrap(), 1);
    assert!(fds[0].ready.writable && fds[0].ready.hangup);
    bsd.close(s).unwrap();
    bsd.close(r).unwrap();
    assert_no_violations(&rig);
}

/// A zero-length recv() on a connected TCP socket returns 0 at once, blocking or with
/// MSG_DONTWAIT, as Linux (its target of 0 bytes is met before any wait): before, it was
/// EAGAIN with MSG_DONTWAIT and a wait for data otherwise. Data waiting is left in place.
#[test]
fn posix_zero_length_tcp_recv_is_zero_at_once() {
    let rig = rig();
    let bsd = &rig.bsd;
    let s = tcp_connect(bsd, standard::ECHO, 7);
    let t0 = now_ms(&rig);
    assert_eq!(bsd.recv(s, &mut [], dontwait()).unwrap().0, 0);
    assert_eq!(bsd.recv(s, &mut [], nf()).unwrap().0, 0);
    assert_eq!(now_ms(&rig), t0, "no wait");
    bsd.send(s, b"kept", None, nf()).unwrap();
    idle(&rig, 5);
    service(&rig);
    assert_eq!(bsd.recv(s, &mut [], nf()).unwrap().0, 0);
    assert_eq!(recv_exact(bsd, s, 4), b"kept");
    // Not connected: ENOTCONN still.
    let n = bsd.socket(SockType::Stream).unwrap();
    assert_eq!(
        bsd.recv(n, &mut [], dontwait()).unwrap_err().errno(),
        Errno::ENOTCONN
    );
    bsd.close(n).unwrap();
    bsd.close(s).unwrap();
    assert_no_violations(&rig);
}

/// getsockopt(): every option setsockopt() takes reads back what was set. TCP_NODELAY reads
/// 1 whatever was set (the chip sends each SEND at once: it has no Nagle); it and
/// SO_KEEPALIVE are ENOPROTOOPT on UDP as their setters; the membership options are write-only (ENOPROTOOPT, as
/// Linux); a timeout of u32::MAX ms (the longest the driver holds) reads back as such.
#[test]
fn posix_options_read_back() {
    let rig = rig();
    let bsd = &rig.bsd;
    let t = bsd.socket(SockType::Stream).unwrap();
    let u = bsd.socket(SockType::Datagram).unwrap();
    for on in [true, false, true] {
        for s in [t, u] {
            bsd.set_option(s, SockOpt::ReuseAddr(on)).unwrap();
            bsd.set_option(s, SockOpt::Broadcast(on)).unwrap();
            bsd.set_option(s, SockOpt::NonBlocking(on)).unwrap();
            assert_eq!(
                bsd.get_option(s, SockOpt::ReuseAddr(!on)),
                Ok(SockOpt::ReuseAddr(on))
            );
            assert_eq!(
                bsd.get_option(s, SockOpt::Broadcast(!on)),
                Ok(SockOpt::Broadcast(on))
            );
            assert_eq!(
                bsd.get_option(s, SockOpt::NonBlocking(!on)),
                Ok(SockOpt::NonBlocking(on))
            );
        }
        bsd.set_option(t, SockOpt::KeepAlive(on)).unwrap();
        assert_eq!(
            bsd.get_option(t, SockOpt::KeepAlive(!on)),
            Ok(SockOpt::KeepAlive(on))
        );
        bsd.set_option(t, SockOpt::NoDelay(on)).unwrap();
        assert_eq!(
            bsd.get_option(t, SockOpt::NoDelay(false)),
            Ok(SockOpt::NoDelay(true))
        );
    }
    assert_eq!(
        bsd.get_option(u, SockOpt::NoDelay(false)),
        Err(Error::NoProtocolOption)
    );
    assert_eq!(
        bsd.get_option(u, SockOpt::KeepAlive(true)),
        Err(Error::NoProtocolOption)
    );
    let g = Ipv4Addr::new(239, 1, 2, 3);
    assert_eq!(
        bsd.get_option(u, SockOpt::AddMembership(g)),
        Err(Error::NoProtocolOption)
    );
    for (set, got) in [
        (Some(u32::MAX), Some(u32::MAX)),
        (Some(1), Some(1)),
        (Some(0), None),
        (None, None),
    ] {
        bsd.set_option(u, SockOpt::RcvTimeout(set)).unwrap();
        bsd.set_option(u, SockOpt::SndTimeout(set)).unwrap();
        assert_eq!(
            bsd.get_option(u, SockOpt::RcvTimeout(None)),
            Ok(SockOpt::RcvTimeout(got))
        );
        assert_eq!(
            bsd.get_option(u, SockOpt::SndTimeout(None)),
            Ok(SockOpt::SndTimeout(got))
        );
    }
    bsd.close(t).unwrap();
    bsd.close(u).unwrap();
    assert_eq!(
        bsd.get_option(u, SockOpt::ReuseAddr(false)),
        Err(Error::BadDescriptor)
    );
}

/// The longest timeout the driver holds, u32::MAX ms (49.7 days), is a real bound: a
/// recv() with it set on a quiet socket does not return early (checked for a simulated
/// minute) and a close() from elsewhere still ends it.
#[test]
fn posix_longest_timeout_waits() {
    let rig = rig();
    let bsd = &rig.bsd;
    let u = bsd.socket(SockType::Datagram).unwrap();
    bsd.bind(u, any(4103)).unwrap();
    bsd.set_option(u, SockOpt::RcvTimeout(Some(u32::MAX)))
        .unwrap();
    let b2 = bsd.clone();
    let sim = rig.sim.clone();
    let closer = std::thread::spawn(move || {
        // Wait until a simulated minute has passed, then close.
        for _ in 0..100_000 {
            let now = w5500_testkit::lock(&sim).now().as_millis();
            if now >= 60_000 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        b2.close(u).unwrap();
    });
    let mut b = [0u8; 4];
    assert_eq!(bsd.recv(u, &mut b, nf()), Err(Error::BadDescriptor));
    closer.join().unwrap();
    assert!(now_ms(&rig) >= 60_000);
}

/// MSG_TRUNC on a datagram socket (Linux udp(7), as Zephyr's own UDP sockets): recv()
/// returns the datagram's full length although the buffer took less; the rest is discarded
/// as without the flag (DS §5.2.2: the 8-byte header gives the length). With MSG_PEEK the
/// datagram stays. On TCP the flag changes nothing.
#[test]
fn posix_msg_trunc_returns_the_full_datagram_length() {
    let rig = rig();
    let bsd = &rig.bsd;
    let u = bsd.socket(SockType::Datagram).unwrap();
    bsd.bind(u, any(4104)).unwrap();
    bsd.set_option(u, SockOpt::RcvTimeout(Some(1_000))).unwrap();
    let echo = SocketAddrV4::new(standard::ECHO, 7);
    let trunc = MsgFlags {
        trunc: true,
        ..MsgFlags::default()
    };
    let peek_trunc = MsgFlags {
        peek: true,
        ..trunc
    };
    bsd.send(u, &[7u8; 300], Some(echo), nf()).unwrap();
    let mut b = [0u8; 10];
    assert_eq!(bsd.recv(u, &mut b, peek_trunc).unwrap(), (300, echo));
    assert_eq!(bsd.recv(u, &mut b, trunc).unwrap(), (300, echo));
    assert_eq!(b, [7u8; 10]);
    assert_eq!(bsd.recv(u, &mut b, dontwait()), Err(Error::WouldBlock));
    bsd.send(u, b"abc", Some(echo), nf()).unwrap();
    assert_eq!(bsd.recv(u, &mut b, trunc).unwrap(), (3, echo));
    let t = tcp_connect(bsd, standard::ECHO, 7);
    bsd.send(t, &[1u8; 30], None, nf()).unwrap();
    idle(&rig, 5);
    service(&rig);
    assert_eq!(bsd.recv(t, &mut b, trunc).unwrap().0, 10);
    bsd.close(t).unwrap();
    bsd.close(u).unwrap();
    assert_no_violations(&rig);
}

/// POSIX connect() on a listening socket: "The socket is listening and cannot be connected"
/// is EOPNOTSUPP. POSIX shutdown() of a socket that is not connected is ENOTCONN, for UDP
/// too (as Linux); a connected UDP socket shuts down.
#[test]
fn posix_connect_on_listener_and_shutdown_of_unconnected_udp() {
    let rig = rig();
    let bsd = &rig.bsd;
    let l = bsd.socket(SockType::Stream).unwrap();
    bsd.bind(l, any(4105)).unwrap();
    bsd.listen(l, 1).unwrap();
    let echo = SocketAddrV4::new(standard::ECHO, 7);
    assert_eq!(bsd.connect(l, echo).unwrap_err().errno(), Errno::EOPNOTSUPP);
    let u = bsd.socket(SockType::Datagram).unwrap();
    assert_eq!(
        bsd.shutdown(u, true, true).unwrap_err().errno(),
        Errno::ENOTCONN
    );
    bsd.connect(u, echo).unwrap();
    bsd.shutdown(u, true, false).unwrap();
    bsd.close(l).unwrap();
    bsd.close(u).unwrap();
    assert_eq!(free_hw(bsd), 8);
    assert_no_violations(&rig);
}
