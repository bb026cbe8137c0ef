//! Faults seen through the interface (research notes §4: link loss, DHCP lease maintenance,
//! DNS robustness, chip reset): link loss during DHCP, a brown-out with a lease and an open
//! connection, two DHCP servers, DNS wrong-id and garbage replies through the chip, and the
//! DNS id / source-port distribution over many queries (RFC 5452 §9.2).

mod support;

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddrV4};

use support::*;
use w5500_driver::bsd::{Bsd, MsgFlags, Os};
use w5500_driver::stack::SockType;
use w5500_driver::Error;
use w5500_iface::{dhcp, Hints, IfaceEvent};
use w5500_sim::lan::dhcp::{msg, DhcpConfig, DhcpServer, RequestKind};
use w5500_sim::lan::dns::{install, DnsFault, DnsServer};
use w5500_sim::lan::{standard, Lan};

const POOL0: Ipv4Addr = standard::POOL_START;

fn set_fault(rig: &w5500_testkit::Rig<Lan>, ip: Ipv4Addr, fault: DnsFault) {
    rig.with_sim(|s| {
        let lan = s.network_mut();
        let h = lan.host_by_ip(ip).unwrap();
        install(lan, h, Lan::standard_zone(), fault);
    });
}

fn dns_log(rig: &w5500_testkit::Rig<Lan>, ip: Ipv4Addr) -> Vec<w5500_sim::lan::dns::QueryLog> {
    rig.with_sim(|s| {
        let lan = s.network();
        let h = lan.host_by_ip(ip).unwrap();
        lan.udp_app::<DnsServer>(h, 53).unwrap().log.clone()
    })
}

/// RFC 2131 §4.1 / research notes §4 (RP2040-HAT #1 "init blocks without cable"): the
/// interface comes up with the cable pulled: no DHCP traffic, no hang; the cable is plugged in
/// during the exchange's retransmissions and later pulled again mid-exchange: the lease is
/// still obtained once the link is back.
#[test]
fn rfc2131_link_loss_during_dhcp_then_bound() {
    let rig = rig(0);
    let g = gw(&rig);
    rig.with_sim(|s| s.faults_mut().link_down = true);
    let mut i = iface(&rig, cfg());
    i.up().unwrap();
    let ev = run_for(&mut i, 5_000);
    assert!(ev.is_empty(), "{ev:?}");
    assert_eq!(dhcp_received(&rig, g, msg::DISCOVER).len(), 0);
    rig.with_sim(|s| s.faults_mut().link_down = false);
    // Pull it again right after the first DISCOVER went out (before the OFFER is taken).
    let ev = run_until(&mut i, 5_000, |e| matches!(e, IfaceEvent::LinkUp { .. }));
    assert!(matches!(ev[0].1, IfaceEvent::LinkUp { .. }));
    // With the address probe compiled in, the exchange is still in its 0.6 s probe 1 ms later;
    // without it the whole exchange takes well under 1 ms on the LAN, so the link goes at once.
    if dhcp::PROBE {
        run_for(&mut i, 1);
    }
    rig.with_sim(|s| s.faults_mut().link_down = true);
    let ev = run_for(&mut i, 20_000);
    assert!(kinds(&ev).contains(&IfaceEvent::LinkDown), "{ev:?}");
    assert!(!kinds(&ev).contains(&IfaceEvent::DhcpBound));
    rig.with_sim(|s| s.faults_mut().link_down = false);
    let ev = run_until(&mut i, 120_000, |e| *e == IfaceEvent::DhcpBound);
    assert!(kinds(&ev).contains(&IfaceEvent::DhcpBound), "{ev:?}");
    assert_eq!(chip_ipv4(&rig).0, POOL0);
    assert_eq!(i.dhcp_state(), dhcp::State::Bound);
    assert_eq!(rig.bsd.os().with_stack(|s| s.free_hw_sockets()), 8);
}

/// Research notes §1.12: a brown-out while bound with an application connection open. The
/// stack detects it (SIMR back to 0), programs the chip again; the interface reports
/// ChipReset and confirms the lease with INIT-REBOOT (RFC 2131 §3.2: REQUEST with option 50,
/// no server id); SIPR holds the leased address again; the application's connection fails
/// with ECONNRESET and a new one works.
#[test]
fn rfc2131_s3_2_brown_out_reinitialises_and_reconfirms_the_lease() {
    let rig = rig(0);
    let g = gw(&rig);
    let mut i = iface(&rig, cfg());
    bound(&mut i);
    let app = Bsd::new(rig.bsd.os());
    let t = app.socket(SockType::Stream).unwrap();
    app.connect(t, SocketAddrV4::new(standard::ECHO, 7))
        .unwrap();
    app.send(t, b"before", None, MsgFlags::default()).unwrap();
    rig.with_sim(|s| s.inject_brown_out());
    rig.with_sim(|s| s.advance(std::time::Duration::from_millis(2)));
    let ev = run_until(&mut i, 30_000, |e| *e == IfaceEvent::DhcpRenewed);
    let k = kinds(&ev);
    assert!(k.contains(&IfaceEvent::ChipReset), "{k:?}");
    assert!(k.contains(&IfaceEvent::DhcpRenewed), "{k:?}");
    assert!(
        !k.iter()
            .any(|e| matches!(e, IfaceEvent::AddressRemoved { .. })),
        "{k:?}"
    );
    assert_eq!(
        chip_ipv4(&rig),
        (POOL0, standard::NETMASK, standard::GATEWAY)
    );
    let reboot: Vec<_> = dhcp_received(&rig, g, msg::REQUEST)
        .into_iter()
        .filter(|r| r.kind == Some(RequestKind::InitReboot))
        .collect();
    assert_eq!(reboot.len(), 1, "one INIT-REBOOT REQUEST");
    assert_eq!(reboot[0].requested_ip, Some(POOL0));
    let mut b = [0u8; 16];
    assert_eq!(
        app.recv(t, &mut b, MsgFlags::default()),
        Err(Error::ConnectionReset)
    );
    app.close(t).unwrap();
    let t2 = app.socket(SockType::Stream).unwrap();
    app.connect(t2, SocketAddrV4::new(standard::ECHO, 7))
        .unwrap();
    app.send(t2, b"after", None, MsgFlags::default()).unwrap();
    let (n, _) = app.recv(t2, &mut b, MsgFlags::default()).unwrap();
    assert_eq!(&b[..n], b"after");
    app.close(t2).unwrap();
    assert_eq!(rig.bsd.os().with_stack(|s| s.chip_resets()), 1);
    // DNS still works on the re-initialised chip.
    let l = i
        .getaddrinfo(Some("echo.sim.lan"), None, &Hints::default())
        .unwrap();
    assert_eq!(*l.entries[0].addr.ip(), standard::ECHO);
    run_for(&mut i, 3_000);
    assert_eq!(rig.bsd.os().with_stack(|s| s.free_hw_sockets()), 8);
}

/// RFC 2131 §4.3.2 / §4.4.1: two DHCP servers on the LAN both offer; the client takes one
/// lease (its server id in the REQUEST), and the chip holds exactly that address.
#[test]
fn rfc2131_s4_4_1_two_servers_one_lease() {
    let mut lan = Lan::standard();
    let ns3 = Ipv4Addr::new(10, 77, 0, 3);
    let h3 = lan.add_simple_host("dhcp2", ns3);
    let mut c = DhcpConfig::new(ns3, Ipv4Addr::new(10, 77, 0, 200), 20);
    c.router = Some(standard::GATEWAY);
    c.subnet_mask = standard::NETMASK;
    lan.bind_udp(h3, 67, Box::new(DhcpServer::new(c)));
    let rig = rig_on(lan, 0);
    let g = gw(&rig);
    let mut i = iface(&rig, cfg());
    bound(&mut i);
    let lease = i.lease().unwrap();
    let req1 = dhcp_received(&rig, g, msg::REQUEST);
    let req2 = dhcp_received(&rig, h3, msg::REQUEST);
    // The REQUEST is broadcast: both see it, and it names one server.
    assert_eq!(req1.len(), 1);
    assert_eq!(req2.len(), 1);
    let chosen = req1[0].server_id.unwrap();
    assert!(chosen == standard::GATEWAY || chosen == ns3, "{chosen}");
    assert_eq!(lease.server_id, Some(chosen));
    assert_eq!(chip_ipv4(&rig).0, lease.address);
    if chosen == standard::GATEWAY {
        assert_eq!(lease.address, POOL0);
    } else {
        assert_eq!(lease.address, Ipv4Addr::new(10, 77, 0, 200));
    }
}

/// RFC 5452 §9.1: replies with the wrong message id and garbage replies from the first server
/// are ignored through the chip; the lookup gets its answer from the second server.
#[test]
fn rfc5452_9_1_wrong_id_and_garbage_replies_are_ignored_through_the_chip() {
    for fault in [DnsFault::WrongId, DnsFault::Garbage] {
        let rig = rig(0);
        let mut i = iface(&rig, cfg());
        bound(&mut i);
        set_fault(&rig, standard::GATEWAY, fault);
        let l = i
            .getaddrinfo(Some("bulk.sim.lan"), None, &Hints::default())
            .unwrap();
        assert_eq!(*l.entries[0].addr.ip(), standard::BULK, "{fault:?}");
        assert_eq!(dns_log(&rig, standard::GATEWAY).len(), 1, "{fault:?}");
        assert_eq!(dns_log(&rig, standard::NS2).len(), 1, "{fault:?}");
        assert_eq!(rig.bsd.os().with_stack(|s| s.free_hw_sockets()), 8);
    }
}

/// RFC 5452 §9.2: over 600 lookups through the chip, the DNS message ids and UDP source ports
/// look random: no more repeats than the birthday bound allows (16-bit ids: expected
/// collisions n²/2·65536 ≈ 2.7; ports over 16384 values ≈ 11), all ports in the dynamic
/// range, and ids spread over the whole 16-bit space.
#[test]
fn rfc5452_9_2_dns_ids_and_source_ports_are_random_over_many_queries() {
    let rig = rig(0);
    let mut i = iface(&rig, cfg());
    bound(&mut i);
    let n = 600;
    for k in 0..n {
        // Distinct names: no cache hits; NXDOMAIN answers come back at once.
        let name = format!("n{k}.sim.lan");
        let _ = i.getaddrinfo(Some(&name), None, &Hints::default());
    }
    let log = dns_log(&rig, standard::GATEWAY);
    assert_eq!(log.len(), n);
    let ids: Vec<u16> = log.iter().map(|q| q.id).collect();
    let ports: Vec<u16> = log.iter().map(|q| q.src.port()).collect();
    let dup = |v: &[u16]| v.len() - v.iter().collect::<HashSet<_>>().len();
    let id_dups = dup(&ids);
    let port_dups = dup(&ports);
    println!("{n} queries: {id_dups} repeated ids, {port_dups} repeated ports");
    // Birthday expectation ≈ 2.7 (ids) and ≈ 11 (ports); a fixed or sequential generator
    // gives hundreds. Bounds at about 4× the expectation.
    assert!(id_dups <= 12, "{id_dups} repeated ids");
    assert!(port_dups <= 45, "{port_dups} repeated ports");
    assert!(ports.iter().all(|&p| p >= 49152));
    // Spread: every 1/8 of the id space and of the port range is used.
    let mut id_oct = [0u32; 8];
    let mut port_oct = [0u32; 8];
    for (&id, &p) in ids.iter().zip(&ports) {
        id_oct[usize::from(id >> 13)] += 1;
        port_oct[usize::from((p - 49152) >> 11)] += 1;
    }
    assert!(id_oct.iter().all(|&c| c > 30), "{id_oct:?}");
    assert!(port_oct.iter().all(|&c| c > 30), "{port_oct:?}");
    // Consecutive ids are not sequential.
    let seq = ids
        .windows(2)
        .filter(|w| w[1] == w[0].wrapping_add(1))
        .count();
    assert!(seq < 5, "{seq} sequential ids");
    assert_eq!(rig.bsd.os().with_stack(|s| s.free_hw_sockets()), 8);
}

/// A chip that stops answering for good (MISO stuck at 0xFF: unplugged, or a bridge process
/// that went away) must not turn the worker into a busy loop: after the failed service pass
/// every `poll()` asks to run again strictly later (at least a poll period on), never "now".
/// Found with Zephyr's native boards, whose clock stands still while a thread spins (the image
/// froze); on a microcontroller the worker would starve every lower-priority thread.
#[test]
fn chip_gone_for_good_never_busy_loops_the_worker() {
    let rig = rig(0);
    let mut i = iface(&rig, cfg());
    bound(&mut i);
    rig.with_sim(|s| s.faults_mut().chip_absent = Some(0xFF));
    let os = os(&i);
    let start = os.now_ms();
    let mut polls = 0u32;
    while os.now_ms() < start + 2_000 {
        let now = os.now_ms();
        let next = i.poll(now);
        polls += 1;
        assert!(polls < 10_000, "the worker loop does not advance");
        if let Some(n) = next {
            assert!(n > now, "poll at {now} ms asks to run again at {n} ms");
        }
        os.wait(None, os.epoch(), next.unwrap_or(now + 1_000));
    }
    // One pass per poll period (50 ms in this rig) or slower.
    assert!(polls <= 2_000 / 50 + 2, "{polls} polls in 2 s");
}
