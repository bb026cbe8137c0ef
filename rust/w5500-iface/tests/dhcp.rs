//! DHCP through the chip on the simulated LAN (RFC 2131), on the simulated clock.

mod support;

use std::net::Ipv4Addr;

use support::*;
use w5500_driver::bsd::Os;
use w5500_iface::{dhcp, IfaceEvent};
use w5500_sim::lan::dhcp::{msg, DhcpConfig, DhcpFault, DhcpServer, Lease, RequestKind};
use w5500_sim::lan::standard;
use w5500_sim::net::MacAddr;
use w5500_sim::time::Instant;

const POOL0: Ipv4Addr = standard::POOL_START;

/// RFC 2131 §3.1 / §4.4.1: DISCOVER, OFFER, REQUEST, ACK through the chip's UDP socket on
/// port 68; the address lands in SIPR/SUBR/GAR and the events come in order.
#[test]
fn rfc2131_s3_1_lease_end_to_end_programs_the_chip() {
    let rig = rig(0);
    let mut i = iface(&rig, cfg());
    assert_eq!(chip_ipv4(&rig).0, Ipv4Addr::UNSPECIFIED);
    let ev = kinds(&bound(&mut i));
    let want = vec![
        IfaceEvent::LinkUp {
            speed_100: true,
            full_duplex: true,
        },
        IfaceEvent::AddressAdded {
            ip: POOL0,
            mask: standard::NETMASK,
            gw: Some(standard::GATEWAY),
            from_dhcp: true,
        },
        IfaceEvent::DhcpBound,
        IfaceEvent::DnsServers([standard::GATEWAY, standard::NS2].into_iter().collect()),
    ];
    assert_eq!(ev, want);
    assert_eq!(
        chip_ipv4(&rig),
        (POOL0, standard::NETMASK, standard::GATEWAY)
    );
    let l = i.lease().unwrap();
    assert_eq!(l.lease_secs, 3600);
    assert_eq!((l.t1_secs, l.t2_secs), (1800, 3150));
    assert_eq!(i.dhcp_state(), dhcp::State::Bound);
    assert_eq!(i.hostname(), Some("w5500-123456"));
    let g = gw(&rig);
    assert_eq!(dhcp_received(&rig, g, msg::DISCOVER).len(), 1);
    let req = dhcp_received(&rig, g, msg::REQUEST);
    assert_eq!(req.len(), 1);
    assert_eq!(req[0].kind, Some(RequestKind::Selecting));
    // The socket policy: in BOUND, DHCP holds no hardware socket.
    assert_eq!(rig.bsd.os().with_stack(|s| s.free_hw_sockets()), 8);
}

/// RFC 2131 §4.4.5: at T1 the client renews by unicast to its server (ciaddr set), and the
/// lease is extended.
#[test]
fn rfc2131_s4_4_5_renewal_at_t1_is_unicast() {
    let rig = rig(0);
    let g = gw(&rig);
    short_lease(&rig, g);
    let mut i = iface(&rig, cfg());
    let ev = bound(&mut i);
    let t_bound = ev.last().unwrap().0;
    let ev = run_until(&mut i, 70_000, |e| *e == IfaceEvent::DhcpRenewed);
    let (t_renew, _) = ev
        .iter()
        .find(|(_, e)| *e == IfaceEvent::DhcpRenewed)
        .expect("renewed");
    // T1 = 60 s after the lease began.
    assert!(
        (59_000..62_000).contains(&(t_renew - t_bound)),
        "{t_renew} {t_bound}"
    );
    // No address churn on a renewal.
    assert!(!ev
        .iter()
        .any(|(_, e)| matches!(e, IfaceEvent::AddressRemoved { .. })));
    let renew: Vec<_> = dhcp_received(&rig, g, msg::REQUEST)
        .into_iter()
        .filter(|r| r.kind == Some(RequestKind::Renewing))
        .collect();
    assert_eq!(renew.len(), 1);
    assert_eq!(
        renew[0].dst.ip(),
        &standard::GATEWAY,
        "unicast to the server"
    );
    assert_eq!(renew[0].src.ip(), &POOL0);
    assert_eq!(renew[0].src.port(), 68);
    assert_eq!(renew[0].ciaddr, POOL0);
    assert_eq!(chip_ipv4(&rig).0, POOL0);
}

/// RFC 2131 §4.4.5: the server goes silent; at T2 the client broadcasts (REBINDING) and a
/// second server that knows the binding extends it (DhcpRebound); when that one goes silent
/// too, the lease expires: DhcpLost, the address is removed and SIPR cleared.
#[test]
fn rfc2131_s4_4_5_rebind_at_t2_then_expiry() {
    let mut lan = w5500_sim::lan::Lan::standard();
    let ns3_ip = Ipv4Addr::new(10, 77, 0, 3);
    let h3 = lan.add_simple_host("dhcp2", ns3_ip);
    let mut c = DhcpConfig::new(ns3_ip, standard::POOL_START, standard::POOL_SIZE);
    c.router = Some(standard::GATEWAY);
    c.dns = vec![standard::GATEWAY];
    c.lease_secs = 120;
    c.t1_secs = Some(60);
    c.t2_secs = Some(105);
    let mut second = DhcpServer::new(c);
    second.fault = DhcpFault::Silent;
    lan.bind_udp(h3, 67, Box::new(second));
    let rig = rig_on(lan, 0);
    let g = gw(&rig);
    short_lease(&rig, g);
    let mut i = iface(&rig, cfg());
    bound(&mut i);
    // The first server disappears; the second learns the binding (a failover partner).
    with_dhcp(&rig, g, |d| d.fault = DhcpFault::Silent);
    let mut client = vec![1u8];
    client.extend_from_slice(&MAC);
    with_dhcp(&rig, h3, |d| {
        d.fault = DhcpFault::None;
        d.insert_lease(Lease {
            client,
            mac: MacAddr(MAC),
            ip: POOL0,
            expires: Instant::from_millis(10_000_000),
            bound: true,
        });
    });
    let ev = run_until(&mut i, 120_000, |e| *e == IfaceEvent::DhcpRebound);
    assert!(
        ev.iter().any(|(_, e)| *e == IfaceEvent::DhcpRebound),
        "{ev:?}"
    );
    assert!(!ev.iter().any(|(_, e)| *e == IfaceEvent::DhcpLost));
    let rebinding: Vec<_> = dhcp_received(&rig, h3, msg::REQUEST)
        .into_iter()
        .filter(|r| r.kind == Some(RequestKind::Rebinding))
        .collect();
    assert!(!rebinding.is_empty());
    assert!(
        rebinding[0].dst.ip().is_broadcast(),
        "REBINDING is broadcast"
    );
    // Renewing requests went to the silent first server before T2.
    assert!(dhcp_received(&rig, g, msg::REQUEST)
        .iter()
        .any(|r| r.kind == Some(RequestKind::Renewing)));
    assert_eq!(i.lease().unwrap().server_id, Some(ns3_ip));
    // Now both are silent: the lease runs out.
    with_dhcp(&rig, h3, |d| d.fault = DhcpFault::Silent);
    let ev = run_until(&mut i, 200_000, |e| *e == IfaceEvent::DhcpLost);
    let k = kinds(&ev);
    let lost = k
        .iter()
        .position(|e| *e == IfaceEvent::DhcpLost)
        .expect("lost");
    let removed = k
        .iter()
        .position(|e| *e == IfaceEvent::AddressRemoved { ip: POOL0 })
        .expect("removed");
    assert!(removed < lost);
    assert_eq!(chip_ipv4(&rig).0, Ipv4Addr::UNSPECIFIED);
    assert!(i.lease().is_none());
}

/// RFC 2131 §3.2 / §4.3.2: INIT-REBOOT for an address on the wrong network gets a NAK; the
/// client restarts from INIT (DISCOVER) and gets a lease.
#[test]
fn rfc2131_s3_2_nak_on_init_reboot_restarts_from_init() {
    let rig = rig(0);
    let g = gw(&rig);
    let mut c = cfg();
    c.requested_ip = Some(Ipv4Addr::new(192, 168, 1, 5));
    let mut i = iface(&rig, c);
    bound(&mut i);
    let req = dhcp_received(&rig, g, msg::REQUEST);
    assert_eq!(req[0].kind, Some(RequestKind::InitReboot));
    assert_eq!(req[0].requested_ip, Some(Ipv4Addr::new(192, 168, 1, 5)));
    assert!(!with_dhcp(&rig, g, |d| d
        .logged(w5500_sim::lan::dhcp::LogDir::Sent, msg::NAK)
        .is_empty()));
    assert_eq!(dhcp_received(&rig, g, msg::DISCOVER).len(), 1);
    assert_eq!(i.lease().unwrap().address, POOL0);
}

/// RFC 2131 §3.2: after the cable comes back, the client confirms its address with
/// INIT-REBOOT (REQUEST with option 50, no server id) and keeps it.
#[test]
fn rfc2131_s3_2_init_reboot_after_link_down_up() {
    let rig = rig(0);
    let g = gw(&rig);
    let mut i = iface(&rig, cfg());
    bound(&mut i);
    rig.with_sim(|s| s.faults_mut().link_down = true);
    let ev = run_until(&mut i, 2_000, |e| *e == IfaceEvent::LinkDown);
    assert!(kinds(&ev).contains(&IfaceEvent::LinkDown));
    assert_eq!(
        chip_ipv4(&rig).0,
        POOL0,
        "the address stays while the lease runs"
    );
    rig.with_sim(|s| s.faults_mut().link_down = false);
    let ev = run_until(&mut i, 30_000, |e| *e == IfaceEvent::DhcpRenewed);
    let k = kinds(&ev);
    assert!(matches!(k[0], IfaceEvent::LinkUp { .. }), "{k:?}");
    assert!(k.contains(&IfaceEvent::DhcpRenewed), "{k:?}");
    let reboot: Vec<_> = dhcp_received(&rig, g, msg::REQUEST)
        .into_iter()
        .filter(|r| r.kind == Some(RequestKind::InitReboot))
        .collect();
    assert_eq!(reboot.len(), 1);
    assert_eq!(reboot[0].requested_ip, Some(POOL0));
    assert_eq!(reboot[0].server_id, None);
}

/// RFC 2131 §4.4.6: `down()` sends DHCPRELEASE (unicast, ciaddr set), clears the address
/// and powers the PHY down; application sockets get ENETDOWN. `up()` takes a new lease.
#[test]
fn rfc2131_s4_4_6_release_on_down_then_up_again() {
    let rig = rig(0);
    let g = gw(&rig);
    let mut i = iface(&rig, cfg());
    bound(&mut i);
    let app = rig
        .bsd
        .socket(w5500_driver::stack::SockType::Stream)
        .unwrap();
    rig.bsd
        .connect(app, std::net::SocketAddrV4::new(standard::ECHO, 7))
        .unwrap();
    i.down().unwrap();
    let k: Vec<_> = std::iter::from_fn(|| i.take_event()).collect();
    assert_eq!(
        k,
        vec![
            IfaceEvent::AddressRemoved { ip: POOL0 },
            IfaceEvent::DnsServers(Default::default()),
            IfaceEvent::LinkDown
        ]
    );
    let rel = dhcp_received(&rig, g, msg::RELEASE);
    assert_eq!(rel.len(), 1);
    assert_eq!(rel[0].ciaddr, POOL0);
    assert_eq!(rel[0].dst.ip(), &standard::GATEWAY);
    assert!(
        with_dhcp(&rig, g, |d| d.leases().is_empty()),
        "server freed it"
    );
    assert_eq!(chip_ipv4(&rig).0, Ipv4Addr::UNSPECIFIED);
    assert!(!i.link().link_up);
    let mut buf = [0u8; 8];
    let r = rig
        .bsd
        .recv(app, &mut buf, w5500_driver::bsd::MsgFlags::default());
    assert_eq!(r.unwrap_err(), w5500_driver::Error::NetworkDown);
    // The PHY is powered down: the link stays down while the interface is down.
    run_for(&mut i, 1_000);
    assert!(!rig.with_sim(|s| s.chip().link_up(s.now())));
    rig.bsd.close(app).unwrap();
    i.up().unwrap();
    let ev = run_until(&mut i, 60_000, |e| *e == IfaceEvent::DhcpBound);
    assert!(kinds(&ev).contains(&IfaceEvent::DhcpBound));
    // Released: the client starts from INIT (a DISCOVER), not INIT-REBOOT.
    assert_eq!(dhcp_received(&rig, g, msg::DISCOVER).len(), 2);
}

/// RFC 2131 §3.2: with `release_on_down` off, `down()`/`up()` keeps the address in mind
/// and confirms it with INIT-REBOOT.
#[test]
fn rfc2131_s3_2_init_reboot_after_down_up_without_release() {
    let rig = rig(0);
    let g = gw(&rig);
    let mut c = cfg();
    c.release_on_down = false;
    let mut i = iface(&rig, c);
    bound(&mut i);
    i.down().unwrap();
    assert!(dhcp_received(&rig, g, msg::RELEASE).is_empty());
    i.up().unwrap();
    let ev = run_until(&mut i, 60_000, |e| *e == IfaceEvent::DhcpBound);
    assert!(kinds(&ev).contains(&IfaceEvent::AddressAdded {
        ip: POOL0,
        mask: standard::NETMASK,
        gw: Some(standard::GATEWAY),
        from_dhcp: true
    }));
    let req = dhcp_received(&rig, g, msg::REQUEST);
    assert_eq!(req.last().unwrap().kind, Some(RequestKind::InitReboot));
    assert_eq!(dhcp_received(&rig, g, msg::DISCOVER).len(), 1);
}

/// RFC 2131 §4.4.1 / §3.1.5: a host on the LAN already owns the offered address; the ARP
/// probe (short RTR/RCR) is answered, the client DECLINEs and gets another address. RTR/RCR
/// are restored afterwards.
#[test]
#[cfg(feature = "dhcp-probe")]
fn rfc2131_s4_4_1_conflict_probe_declines_and_takes_another_address() {
    let mut lan = w5500_sim::lan::Lan::standard();
    lan.add_simple_host("squatter", POOL0);
    let rig = rig_on(lan, 0);
    let g = gw(&rig);
    let retry_before = rig.bsd.os().with_stack(|s| s.retry().unwrap());
    let mut i = iface(&rig, cfg());
    let ev = bound(&mut i);
    let k = kinds(&ev);
    assert!(k.contains(&IfaceEvent::DhcpDeclined(POOL0)), "{k:?}");
    let next = Ipv4Addr::new(10, 77, 0, 101);
    assert_eq!(i.lease().unwrap().address, next);
    assert!(!k.contains(&IfaceEvent::AddressAdded {
        ip: POOL0,
        mask: standard::NETMASK,
        gw: Some(standard::GATEWAY),
        from_dhcp: true
    }));
    let dec = dhcp_received(&rig, g, msg::DECLINE);
    assert_eq!(dec.len(), 1);
    assert_eq!(dec[0].requested_ip, Some(POOL0));
    assert_eq!(chip_ipv4(&rig).0, next);
    assert_eq!(
        rig.bsd.os().with_stack(|s| s.retry().unwrap()),
        retry_before
    );
}

/// RFC 2131 §4.4.1: no host owns the address: the probe's ARP times out (short RTR/RCR,
/// about 0.6 s) and the address is used.
#[test]
#[cfg(feature = "dhcp-probe")]
fn rfc2131_s4_4_1_probe_timeout_means_free() {
    let rig = rig(0);
    rig.with_sim(|s| s.network_mut().enable_trace());
    let mut i = iface(&rig, cfg());
    bound(&mut i);
    let trace = rig.with_sim(|s| s.network_mut().take_trace());
    let probes: Vec<_> = trace
        .iter()
        .filter(|t| {
            matches!(&t.frame.body, w5500_sim::net::Body::Arp(a)
                if a.target_ip == POOL0 && a.sender_ip.is_unspecified())
        })
        .collect();
    // PROBE_RCR + 1 ARP requests with sender 0.0.0.0, 200 ms apart.
    assert_eq!(probes.len(), 3, "{probes:?}");
    let gap = probes[1].at.as_millis() - probes[0].at.as_millis();
    assert!((190..=210).contains(&gap), "{gap}");
}

/// Without the `dhcp-probe` feature (RFC 2131 §4.4.1's check left out, as in Zephyr's own
/// client): no ARP probe from 0.0.0.0 is sent and the offered address is used even when a
/// host on the LAN owns it (no DECLINE).
#[test]
#[cfg(not(feature = "dhcp-probe"))]
fn rfc2131_s4_4_1_without_the_probe_feature_the_offered_address_is_used() {
    let mut lan = w5500_sim::lan::Lan::standard();
    lan.add_simple_host("squatter", POOL0);
    let rig = rig_on(lan, 0);
    rig.with_sim(|s| s.network_mut().enable_trace());
    let g = gw(&rig);
    let mut i = iface(&rig, cfg());
    let ev = bound(&mut i);
    assert!(!kinds(&ev).contains(&IfaceEvent::DhcpDeclined(POOL0)));
    assert_eq!(i.lease().unwrap().address, POOL0);
    assert!(dhcp_received(&rig, g, msg::DECLINE).is_empty());
    let trace = rig.with_sim(|s| s.network_mut().take_trace());
    let probes = trace.iter().any(|t| {
        matches!(&t.frame.body, w5500_sim::net::Body::Arp(a)
            if a.target_ip == POOL0 && a.sender_ip.is_unspecified())
    });
    assert!(!probes, "no ARP probe");
}
