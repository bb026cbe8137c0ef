//! DNS through the chip (RFC 1035), the socket-sharing policy, and the static path.

mod support;

use std::net::{Ipv4Addr, SocketAddrV4};

use support::*;
use w5500_driver::bsd::Os;
use w5500_driver::stack::SockType;
use w5500_driver::Error;
use w5500_iface::dns::gai::flags;
use w5500_iface::{GaiError, Hints, IfaceEvent, Ipv4Config};
use w5500_sim::lan::dhcp::{msg, RequestKind};
use w5500_sim::lan::dns::{install, DnsFault, DnsServer};
use w5500_sim::lan::{standard, Lan};

fn addrs(l: &w5500_iface::AddrInfoList) -> Vec<Ipv4Addr> {
    let mut v: Vec<Ipv4Addr> = l.entries.iter().map(|e| *e.addr.ip()).collect();
    v.dedup();
    v
}

fn dns_log(rig: &w5500_testkit::Rig<Lan>, ip: Ipv4Addr) -> Vec<w5500_sim::lan::dns::QueryLog> {
    rig.with_sim(|s| {
        let lan = s.network();
        let h = lan.host_by_ip(ip).unwrap();
        lan.udp_app::<DnsServer>(h, 53).unwrap().log.clone()
    })
}

fn set_fault(rig: &w5500_testkit::Rig<Lan>, ip: Ipv4Addr, fault: DnsFault) {
    rig.with_sim(|s| {
        let lan = s.network_mut();
        let h = lan.host_by_ip(ip).unwrap();
        install(lan, h, Lan::standard_zone(), fault);
    });
}

/// RFC 1035 §4.2.1: an A query over UDP from a random source port to the first DHCP DNS
/// server; the answer comes through the chip; port 80 on both socket types.
#[test]
fn rfc1035_a_record_through_the_chip() {
    let rig = rig(0);
    let mut i = iface(&rig, cfg());
    bound(&mut i);
    let l = i
        .getaddrinfo(Some("http.sim.lan"), Some("80"), &Hints::default())
        .unwrap();
    assert_eq!(l.entries.len(), 2);
    assert!(l
        .entries
        .iter()
        .all(|e| e.addr == SocketAddrV4::new(standard::HTTP, 80)));
    let log = dns_log(&rig, standard::GATEWAY);
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].src.ip(), &standard::POOL_START);
    assert!(log[0].src.port() >= 49152, "RFC 5452 random port");
    // The try's socket is gone again.
    assert_eq!(rig.bsd.os().with_stack(|s| s.free_hw_sockets()), 8);
    // Cached now: no second query.
    i.getaddrinfo(Some("http.sim.lan"), None, &Hints::default())
        .unwrap();
    assert_eq!(dns_log(&rig, standard::GATEWAY).len(), 1);
}

/// RFC 1034 §3.6.2: a CNAME chain (alias → www → http) is followed; AI_CANONNAME gives the
/// end of the chain.
#[test]
fn rfc1034_cname_chain_and_canonical_name() {
    let rig = rig(0);
    let mut i = iface(&rig, cfg());
    bound(&mut i);
    let hints = Hints {
        flags: flags::AI_CANONNAME,
        ..Hints::default()
    };
    let l = i.getaddrinfo(Some("alias.sim.lan"), None, &hints).unwrap();
    assert_eq!(addrs(&l), vec![standard::HTTP]);
    assert_eq!(l.canonical.unwrap().to_string(), "http.sim.lan");
}

/// RFC 1035 §3.4.1: several A records give several addresses, in the server's order.
#[test]
fn rfc1035_multiple_a_records() {
    let rig = rig(0);
    let mut i = iface(&rig, cfg());
    bound(&mut i);
    let hints = Hints {
        socktype: w5500_iface::dns::SockType::Stream,
        ..Hints::default()
    };
    let l = i.getaddrinfo(Some("multi.sim.lan"), None, &hints).unwrap();
    assert_eq!(
        addrs(&l),
        vec![standard::HTTP, standard::ECHO, standard::BULK]
    );
}

/// RFC 1035 §4.1.1 RCODE 3 (NXDOMAIN) → EAI_NONAME, authoritative: the second server is not
/// asked (RFC 1034 §5.3.3).
#[test]
fn rfc1035_nxdomain_is_eai_noname() {
    let rig = rig(0);
    let mut i = iface(&rig, cfg());
    bound(&mut i);
    let r = i.getaddrinfo(Some("nosuch.sim.lan"), None, &Hints::default());
    assert_eq!(r.unwrap_err(), GaiError::NoName);
    assert!(dns_log(&rig, standard::NS2).is_empty());
}

/// RFC 1035 §4.1.1 RCODE 2 (SERVFAIL) on the first server: the second one answers.
#[test]
fn rfc1035_servfail_moves_to_the_second_server() {
    let rig = rig(0);
    let mut i = iface(&rig, cfg());
    bound(&mut i);
    set_fault(&rig, standard::GATEWAY, DnsFault::ServFail);
    let l = i
        .getaddrinfo(Some("echo.sim.lan"), None, &Hints::default())
        .unwrap();
    assert_eq!(addrs(&l), vec![standard::ECHO]);
    assert_eq!(dns_log(&rig, standard::GATEWAY).len(), 1);
    assert_eq!(dns_log(&rig, standard::NS2).len(), 1);
}

/// Silent servers: EAI_AGAIN once the resolver's bounded time is over (2 rounds × 2 servers
/// × 2 s), not later.
#[test]
fn silence_gives_eai_again_within_the_bounded_time() {
    let rig = rig(0);
    let mut i = iface(&rig, cfg());
    bound(&mut i);
    set_fault(&rig, standard::GATEWAY, DnsFault::Silent);
    set_fault(&rig, standard::NS2, DnsFault::Silent);
    let t0 = now(&i);
    let r = i.getaddrinfo(Some("bulk.sim.lan"), None, &Hints::default());
    let took = now(&i) - t0;
    assert_eq!(r.unwrap_err(), GaiError::Again);
    assert!((8_000..8_500).contains(&took), "{took} ms");
    assert_eq!(dns_log(&rig, standard::GATEWAY).len(), 2);
    assert_eq!(dns_log(&rig, standard::NS2).len(), 2);
    assert_eq!(rig.bsd.os().with_stack(|s| s.free_hw_sockets()), 8);
}

/// RFC 1035 §4.2.1 / RFC 7766 §5: a truncated UDP reply (TC=1) is asked again over TCP
/// (two-byte length prefix, §4.2.2) through a chip TCP socket.
#[test]
#[cfg(feature = "dns-tcp")]
fn rfc7766_truncation_falls_back_to_tcp() {
    let rig = rig(0);
    let mut i = iface(&rig, cfg());
    bound(&mut i);
    set_fault(&rig, standard::GATEWAY, DnsFault::TruncateUdp);
    rig.with_sim(|s| s.network_mut().enable_trace());
    let l = i
        .getaddrinfo(Some("peer.sim.lan"), None, &Hints::default())
        .unwrap();
    assert_eq!(addrs(&l), vec![standard::PEER]);
    let trace = rig.with_sim(|s| s.network_mut().take_trace());
    let tcp53 = trace.iter().any(|t| {
        matches!(&t.frame.body, w5500_sim::net::Body::Ipv4(p)
            if p.dst == standard::GATEWAY
            && matches!(&p.payload, w5500_sim::net::IpPayload::Tcp(s) if s.dst_port == 53))
    });
    assert!(tcp53, "a TCP segment to port 53");
    assert!(dns_log(&rig, standard::NS2).is_empty());
}

/// Without the `dns-tcp` feature: a truncated UDP reply without records (TC=1) is no answer
/// from that server; the next server is asked over UDP and no TCP segment leaves the chip.
#[test]
#[cfg(not(feature = "dns-tcp"))]
fn rfc1035_4_2_1_without_tcp_truncation_moves_to_the_next_server() {
    let rig = rig(0);
    let mut i = iface(&rig, cfg());
    bound(&mut i);
    set_fault(&rig, standard::GATEWAY, DnsFault::TruncateUdp);
    rig.with_sim(|s| s.network_mut().enable_trace());
    let l = i
        .getaddrinfo(Some("peer.sim.lan"), None, &Hints::default())
        .unwrap();
    assert_eq!(addrs(&l), vec![standard::PEER]);
    let trace = rig.with_sim(|s| s.network_mut().take_trace());
    let tcp = trace.iter().any(|t| {
        matches!(&t.frame.body, w5500_sim::net::Body::Ipv4(p)
            if matches!(&p.payload, w5500_sim::net::IpPayload::Tcp(_)))
    });
    assert!(!tcp, "no TCP segment");
    assert_eq!(dns_log(&rig, standard::NS2).len(), 1);
}

/// Numeric hosts (Zephyr hands them to the offload, socket_offload.c) are answered without
/// any frame on the wire.
#[test]
fn numeric_host_needs_no_traffic() {
    let rig = rig(0);
    let mut i = iface(&rig, cfg());
    bound(&mut i);
    let before = rig.with_sim(|s| s.network().frames_from_chip);
    let l = i
        .getaddrinfo(Some("10.77.0.11"), Some("7"), &Hints::default())
        .unwrap();
    assert_eq!(addrs(&l), vec![standard::ECHO]);
    let hints = Hints {
        flags: flags::AI_NUMERICHOST,
        ..Hints::default()
    };
    assert_eq!(
        i.getaddrinfo(Some("http.sim.lan"), None, &hints)
            .unwrap_err(),
        GaiError::NoName
    );
    assert_eq!(rig.with_sim(|s| s.network().frames_from_chip), before);
}

/// Policy, 0 reserved: all 8 hardware sockets held by the application. The T1 renewal waits
/// (no REQUEST leaves), DNS fails at once with EAI_AGAIN; once the application frees one
/// socket, the renewal goes out and succeeds. The application's sockets are never touched.
#[test]
fn policy_zero_reserved_services_wait_and_never_take_app_sockets() {
    let rig = rig(0);
    let g = gw(&rig);
    short_lease(&rig, g);
    let mut i = iface(&rig, cfg());
    bound(&mut i);
    let app: Vec<_> = (0..8)
        .map(|_| rig.bsd.socket(SockType::Datagram).unwrap())
        .collect();
    assert_eq!(
        rig.bsd.socket(SockType::Datagram).unwrap_err(),
        Error::NoFreeSocket
    );
    let t0 = now(&i);
    assert_eq!(
        i.getaddrinfo(Some("http.sim.lan"), None, &Hints::default())
            .unwrap_err(),
        GaiError::Again
    );
    assert_eq!(now(&i), t0, "fails at once");
    // Past T1 (60 s): renewing, but no REQUEST could leave.
    let ev = run_for(&mut i, 65_000);
    assert!(!kinds(&ev).contains(&IfaceEvent::DhcpRenewed));
    assert_eq!(i.dhcp_state(), w5500_iface::dhcp::State::Renewing);
    let renew = |rig| {
        dhcp_received(rig, g, msg::REQUEST)
            .into_iter()
            .filter(|r| r.kind == Some(RequestKind::Renewing))
            .count()
    };
    assert_eq!(renew(&rig), 0);
    for id in &app {
        assert!(rig.bsd.os().with_stack(|s| s.is_valid(*id)));
    }
    rig.bsd.close(app[0]).unwrap();
    let ev = run_until(&mut i, 5_000, |e| *e == IfaceEvent::DhcpRenewed);
    assert!(kinds(&ev).contains(&IfaceEvent::DhcpRenewed), "{ev:?}");
    assert_eq!(renew(&rig), 1);
}

/// Policy, 1 reserved: the application gets ENFILE for its 8th socket, while DHCP (a whole
/// acquisition) and DNS work on the reserved one.
#[test]
fn policy_one_reserved_keeps_services_running() {
    let rig = rig(1);
    let app: Vec<_> = (0..7)
        .map(|_| rig.bsd.socket(SockType::Datagram).unwrap())
        .collect();
    assert_eq!(
        rig.bsd.socket(SockType::Stream).unwrap_err(),
        Error::NoFreeSocket
    );
    let mut i = iface(&rig, cfg());
    bound(&mut i);
    let l = i
        .getaddrinfo(Some("http.sim.lan"), None, &Hints::default())
        .unwrap();
    assert_eq!(addrs(&l), vec![standard::HTTP]);
    // The reserve is back and still not for applications.
    assert_eq!(
        rig.bsd.socket(SockType::Datagram).unwrap_err(),
        Error::NoFreeSocket
    );
    assert_eq!(rig.bsd.os().with_stack(|s| s.idle_service_sockets()), 1);
    assert_eq!(app.len(), 7);
}

/// Static configuration (DHCP off): programmed at `up()`, announced as a manual address, no
/// DHCP traffic; DNS uses the configured servers. Runtime changes replace it, and
/// `dhcp_start()` takes a lease instead.
#[test]
fn static_configuration_path() {
    let rig = rig(0);
    let g = gw(&rig);
    let c = cfg()
        .with_static(
            Ipv4Config {
                ip: standard::CHIP_STATIC,
                netmask: standard::NETMASK,
                gateway: Some(standard::GATEWAY),
            },
            true,
        )
        .with_dns_servers(&[standard::NS2]);
    let mut i = iface(&rig, c);
    i.up().unwrap();
    let ev = kinds(&run_for(&mut i, 1_000));
    assert!(ev.contains(&IfaceEvent::AddressAdded {
        ip: standard::CHIP_STATIC,
        mask: standard::NETMASK,
        gw: Some(standard::GATEWAY),
        from_dhcp: false
    }));
    assert!(ev.contains(&IfaceEvent::DnsServers(
        [standard::NS2].into_iter().collect()
    )));
    assert_eq!(
        chip_ipv4(&rig),
        (standard::CHIP_STATIC, standard::NETMASK, standard::GATEWAY)
    );
    assert!(with_dhcp(&rig, g, |d| d.log.is_empty()));
    let l = i
        .getaddrinfo(Some("echo.sim.lan"), None, &Hints::default())
        .unwrap();
    assert_eq!(addrs(&l), vec![standard::ECHO]);
    assert_eq!(dns_log(&rig, standard::NS2).len(), 1);
    // Runtime change.
    let other = Ipv4Addr::new(10, 77, 0, 60);
    i.set_static_ipv4(other, standard::NETMASK, None);
    let ev: Vec<_> = std::iter::from_fn(|| i.take_event()).collect();
    assert_eq!(
        ev,
        vec![
            IfaceEvent::AddressRemoved {
                ip: standard::CHIP_STATIC
            },
            IfaceEvent::AddressAdded {
                ip: other,
                mask: standard::NETMASK,
                gw: None,
                from_dhcp: false
            }
        ]
    );
    assert_eq!(chip_ipv4(&rig).2, Ipv4Addr::UNSPECIFIED);
    // Back to DHCP.
    i.dhcp_start();
    let ev = run_until(&mut i, 60_000, |e| *e == IfaceEvent::DhcpBound);
    let k = kinds(&ev);
    assert_eq!(k[0], IfaceEvent::AddressRemoved { ip: other });
    assert!(k.contains(&IfaceEvent::DhcpBound));
    assert_eq!(chip_ipv4(&rig).0, standard::POOL_START);
}
