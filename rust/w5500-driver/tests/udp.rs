//! UDP through the chip (DS §4.2 Sn_MR UDP/MULTI, §5.2.2 UDP data path with the 8-byte RX
//! header, Sn_IR TIMEOUT on ARP failure, Sn_MSSR 1472) with POSIX datagram semantics.
mod support;

use std::net::{Ipv4Addr, SocketAddrV4};
use support::*;
use w5500_sim::net::Igmp;

fn udp_bound(bsd: &LanBsd, port: u16) -> SocketId {
    let u = bsd.socket(SockType::Datagram).unwrap();
    bsd.bind(u, any(port)).unwrap();
    u
}

/// The peer host sends a datagram from `src_port` to our `port`.
fn peer_udp(rig: &Rig<Lan>, src_port: u16, dst: SocketAddrV4, payload: &[u8]) {
    let peer = host(rig, standard::PEER);
    rig.with_sim(|s| s.network_mut().udp_send(peer, src_port, dst, payload));
}

fn with_timeout(bsd: &LanBsd, u: SocketId) {
    bsd.set_option(u, SockOpt::RcvTimeout(Some(1_000))).unwrap();
}

/// POSIX bind/sendto/recvfrom with the echo server: the datagram and the sender come back.
#[test]
fn posix_sendto_recvfrom_echo() {
    let rig = rig();
    let bsd = &rig.bsd;
    let u = udp_bound(bsd, 4000);
    with_timeout(bsd, u);
    assert_eq!(bsd.local_addr(u).unwrap(), SocketAddrV4::new(ME, 4000));
    let echo = SocketAddrV4::new(standard::ECHO, 7);
    for i in 0..20u8 {
        let msg = vec![i; 10 + usize::from(i) * 50];
        assert_eq!(bsd.send(u, &msg, Some(echo), nf()).unwrap(), msg.len());
        let mut b = [0u8; 1500];
        let (n, from) = bsd.recv(u, &mut b, nf()).unwrap();
        assert_eq!(from, echo);
        assert_eq!(&b[..n], &msg[..]);
    }
    bsd.close(u).unwrap();
    assert_eq!(free_hw(bsd), 8);
    assert_no_violations(&rig);
}

/// POSIX connect() on UDP: send() without an address goes to the peer, and datagrams from
/// anyone else are filtered out.
#[test]
fn posix_udp_connect_filters_other_senders() {
    let rig = rig();
    let bsd = &rig.bsd;
    let u = udp_bound(bsd, 4001);
    with_timeout(bsd, u);
    let echo = SocketAddrV4::new(standard::ECHO, 7);
    bsd.connect(u, echo).unwrap();
    assert_eq!(bsd.peer_addr(u).unwrap(), echo);
    peer_udp(&rig, 5555, SocketAddrV4::new(ME, 4001), b"intruder");
    idle(&rig, 2);
    bsd.send(u, b"legit", None, nf()).unwrap();
    let mut b = [0u8; 64];
    let (n, from) = bsd.recv(u, &mut b, nf()).unwrap();
    assert_eq!((from, &b[..n]), (echo, &b"legit"[..]));
    assert_eq!(bsd.recv(u, &mut b, dontwait()), Err(Error::WouldBlock));
    // Unconnected UDP without an address: EDESTADDRREQ.
    let v = bsd.socket(SockType::Datagram).unwrap();
    assert_eq!(
        bsd.send(v, b"x", None, nf()),
        Err(Error::DestinationRequired)
    );
    assert_no_violations(&rig);
}

/// POSIX SO_BROADCAST: sending to 255.255.255.255 or the directed broadcast is EACCES
/// without it, and goes out (every host receives it) with it.
#[test]
fn posix_broadcast_needs_so_broadcast() {
    let rig = rig();
    let bsd = &rig.bsd;
    let peer = host(&rig, standard::PEER);
    rig.with_sim(|s| s.network_mut().bind_udp_recorder(peer, 9999));
    let u = udp_bound(bsd, 4002);
    for dst in [Ipv4Addr::BROADCAST, standard::BROADCAST] {
        let e = bsd
            .send(u, b"all", Some(SocketAddrV4::new(dst, 9999)), nf())
            .unwrap_err();
        assert_eq!(e.errno(), w5500_driver::Errno::EACCES, "{dst}");
    }
    bsd.set_option(u, SockOpt::Broadcast(true)).unwrap();
    for dst in [Ipv4Addr::BROADCAST, standard::BROADCAST] {
        bsd.send(u, b"all", Some(SocketAddrV4::new(dst, 9999)), nf())
            .unwrap();
    }
    idle(&rig, 5);
    let got = rig.with_sim(|s| s.network().udp_recorded(peer, 9999));
    assert_eq!(got.len(), 2);
    assert!(got
        .iter()
        .all(|d| d.payload == b"all" && d.src == SocketAddrV4::new(ME, 4002)));
    assert_no_violations(&rig);
}

/// DS Sn_MSSR (UDP 1472) and no IP fragmentation: 1472 bytes go as one datagram, 1473 is
/// EMSGSIZE (the chip would split it into two datagrams).
#[test]
fn ds_no_fragmentation_datagram_over_1472_is_emsgsize() {
    let rig = rig();
    let bsd = &rig.bsd;
    let u = udp_bound(bsd, 4003);
    with_timeout(bsd, u);
    let echo = SocketAddrV4::new(standard::ECHO, 7);
    let e = bsd.send(u, &[1u8; 1473], Some(echo), nf()).unwrap_err();
    assert_eq!(e.errno(), w5500_driver::Errno::EMSGSIZE);
    assert_eq!(bsd.send(u, &[2u8; 1472], Some(echo), nf()).unwrap(), 1472);
    let mut b = [0u8; 2000];
    let (n, _) = bsd.recv(u, &mut b, nf()).unwrap();
    assert_eq!(n, 1472);
    assert!(b[..n].iter().all(|&x| x == 2));
    assert_eq!(bsd.recv(u, &mut b, dontwait()), Err(Error::WouldBlock));
    assert_no_violations(&rig);
}

/// POSIX recvfrom(): a datagram larger than the buffer is truncated and the rest discarded
/// (DS §5.2.2: the 8-byte header's length says how far to skip); the next datagram is intact.
#[test]
fn posix_long_datagram_truncated_rest_discarded() {
    let rig = rig();
    let bsd = &rig.bsd;
    let u = udp_bound(bsd, 4004);
    with_timeout(bsd, u);
    let big: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
    peer_udp(&rig, 6000, SocketAddrV4::new(ME, 4004), &big);
    peer_udp(&rig, 6000, SocketAddrV4::new(ME, 4004), b"second");
    idle(&rig, 2);
    assert_eq!(
        bsd.bytes_available(u).unwrap(),
        1000,
        "FIONREAD: next datagram"
    );
    let mut b = [0u8; 100];
    let (n, from) = bsd.recv(u, &mut b, nf()).unwrap();
    assert_eq!(n, 100);
    assert_eq!(&b[..], &big[..100]);
    assert_eq!(from, SocketAddrV4::new(standard::PEER, 6000));
    let (n, _) = bsd.recv(u, &mut b, nf()).unwrap();
    assert_eq!(&b[..n], b"second");
    // MSG_PEEK on UDP leaves the datagram.
    peer_udp(&rig, 6000, SocketAddrV4::new(ME, 4004), b"peeked");
    let peek = MsgFlags {
        peek: true,
        ..MsgFlags::default()
    };
    let (n, _) = bsd.recv(u, &mut b, peek).unwrap();
    assert_eq!(&b[..n], b"peeked");
    let (n, _) = bsd.recv(u, &mut b, nf()).unwrap();
    assert_eq!(&b[..n], b"peeked");
    assert_no_violations(&rig);
}

/// DS §4.2 Sn_IR TIMEOUT: UDP SEND to an address nobody answers ARP for ends in TIMEOUT after
/// ARPTO (1.8 s) -> EHOSTUNREACH; the socket stays usable.
#[test]
fn ds_udp_arp_timeout_is_ehostunreach() {
    let rig = rig();
    let bsd = &rig.bsd;
    let u = udp_bound(bsd, 4005);
    with_timeout(bsd, u);
    let t0 = now_ms(&rig);
    let e = bsd
        .send(
            u,
            b"hello?",
            Some(SocketAddrV4::new(standard::NOBODY, 7)),
            nf(),
        )
        .unwrap_err();
    assert_eq!(e.errno(), w5500_driver::Errno::EHOSTUNREACH);
    let dt = now_ms(&rig) - t0;
    assert!((1_700..=2_500).contains(&dt), "{dt} ms");
    let echo = SocketAddrV4::new(standard::ECHO, 7);
    bsd.send(u, b"again", Some(echo), nf()).unwrap();
    let mut b = [0u8; 16];
    let (n, _) = bsd.recv(u, &mut b, nf()).unwrap();
    assert_eq!(&b[..n], b"again");
    assert_no_violations(&rig);
}

/// DS §4.2 Sn_MR MULTI: IP_ADD_MEMBERSHIP sends an IGMP report and the socket receives the
/// group's datagrams.
#[test]
fn ds_multicast_join_reports_and_receives() {
    let rig = rig();
    let bsd = &rig.bsd;
    let group = Ipv4Addr::new(239, 1, 2, 3);
    let u = udp_bound(bsd, 4006);
    with_timeout(bsd, u);
    bsd.set_option(u, SockOpt::AddMembership(group)).unwrap();
    idle(&rig, 5);
    let reports = rig.with_sim(|s| s.network().igmp_from_chip().to_vec());
    assert!(
        reports.iter().any(|(_, _, m)| matches!(m,
            Igmp::V2Report { group: g } | Igmp::V1Report { group: g } if *g == group)),
        "{reports:?}"
    );
    peer_udp(&rig, 7777, SocketAddrV4::new(group, 4006), b"to the group");
    let mut b = [0u8; 64];
    let (n, from) = bsd.recv(u, &mut b, nf()).unwrap();
    assert_eq!(&b[..n], b"to the group");
    assert_eq!(from, SocketAddrV4::new(standard::PEER, 7777));
    // A second group on the same hardware socket is not possible on this chip.
    assert_eq!(
        bsd.set_option(u, SockOpt::AddMembership(Ipv4Addr::new(239, 1, 2, 4))),
        Err(Error::NoBufferSpace)
    );
    assert_no_violations(&rig);
}
