//! The resolver against the simulator's DNS server fixture (`w5500_sim::lan::dns`) on the
//! in-memory LAN: UDP and TCP frames go through the LAN's `Network` trait via the fake-chip
//! helper of the simulator's own tests, exactly as the chip would carry them.

mod support;

use std::collections::HashSet;
#[cfg(feature = "dns-tcp")]
use std::net::Ipv4Addr;
use std::net::SocketAddrV4;
use std::time::Duration;

use support::dns_lan::{addrs, Rig};
use support::lan::CHIP_IP;
use w5500_netsvc::dns::{DnsError, GaiLookup, Hints, Protocol, SockType, Source};
use w5500_sim::lan::dns::{self as fixture, DnsFault};
use w5500_sim::lan::{standard as s, Lan};

#[test]
fn rfc1035_4_1_a_lookup_through_the_lan() {
    let mut rig = Rig::standard();
    let a = rig.resolve("http.sim.lan").unwrap();
    assert_eq!(addrs(&a), vec![s::HTTP]);
    assert_eq!(a.ttl_s, 300, "zone TTL");
    assert_eq!(a.source, Source::Network);
    let log = rig.log(s::GATEWAY);
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].name, "http.sim.lan");
    assert_eq!(log[0].qtype, fixture::TYPE_A);
    assert!(!log[0].tcp);
    assert_eq!(*log[0].src.ip(), CHIP_IP);
    assert!(log[0].src.port() >= 49152, "RFC 6335 dynamic port");
    assert!(rig.log(s::NS2).is_empty(), "first server answered");
}

#[test]
fn rfc1034_3_6_2_cname_chain_from_the_fixture() {
    let mut rig = Rig::standard();
    let a = rig.resolve("ALIAS.sim.lan").unwrap();
    assert_eq!(addrs(&a), vec![s::HTTP]);
    assert_eq!(a.canonical.to_string(), "http.sim.lan");
    assert_eq!(a.ttl_s, 60, "min of CNAME TTL 60 and A TTL 300");
    assert_eq!(rig.log(s::GATEWAY).len(), 1, "chain complete in one answer");
}

#[test]
fn rfc1035_3_2_1_ttl_cache_expiry_on_the_lan() {
    let mut rig = Rig::standard();
    let a = rig.resolve("multi.sim.lan").unwrap();
    assert_eq!(addrs(&a), vec![s::HTTP, s::ECHO, s::BULK]);
    assert_eq!(a.ttl_s, 30);
    rig.chip.run_for(Duration::from_secs(29));
    let b = rig.resolve("multi.sim.lan").unwrap();
    assert_eq!(b.source, Source::Cache);
    assert_eq!(rig.log(s::GATEWAY).len(), 1);
    rig.chip.run_for(Duration::from_secs(1));
    let c = rig.resolve("multi.sim.lan").unwrap();
    assert_eq!(c.source, Source::Network);
    assert_eq!(rig.log(s::GATEWAY).len(), 2, "expired entry queried again");
}

#[test]
fn rfc1035_4_1_1_nxdomain_final_and_negatively_cached() {
    let mut rig = Rig::standard();
    assert_eq!(rig.resolve("nope.sim.lan"), Err(DnsError::NoSuchName));
    assert_eq!(rig.log(s::GATEWAY).len(), 1);
    assert!(
        rig.log(s::NS2).is_empty(),
        "NXDOMAIN is not retried elsewhere"
    );
    // No SOA from the fixture: the short default (5 s) applies (RFC 2308 §5).
    rig.chip.run_for(Duration::from_secs(4));
    assert_eq!(rig.resolve("nope.sim.lan"), Err(DnsError::NoSuchName));
    assert_eq!(rig.log(s::GATEWAY).len(), 1);
    rig.chip.run_for(Duration::from_secs(1));
    assert_eq!(rig.resolve("nope.sim.lan"), Err(DnsError::NoSuchName));
    assert_eq!(rig.log(s::GATEWAY).len(), 2);
}

#[test]
fn rfc1035_4_1_1_servfail_fails_over_to_second_server() {
    let mut rig = Rig::standard();
    rig.fault(s::GATEWAY, DnsFault::ServFail);
    let t0 = rig.now();
    assert_eq!(addrs(&rig.resolve("echo.sim.lan").unwrap()), vec![s::ECHO]);
    assert!(rig.now() - t0 < 100, "no timeout needed");
    assert_eq!(rig.log(s::GATEWAY).len(), 1);
    assert_eq!(rig.log(s::NS2).len(), 1);
    // Both failing: SERVFAIL is retried next round, then EAI_AGAIN-class error.
    rig.fault(s::NS2, DnsFault::ServFail);
    assert_eq!(rig.resolve("bulk.sim.lan"), Err(DnsError::ServerFailure));
    assert_eq!(rig.log(s::GATEWAY).len(), 3);
    assert_eq!(rig.log(s::NS2).len(), 3);
}

#[test]
fn rfc1035_4_2_1_silent_server_times_out_then_next() {
    let mut rig = Rig::standard();
    rig.fault(s::GATEWAY, DnsFault::Silent);
    let t0 = rig.now();
    assert_eq!(addrs(&rig.resolve("peer.sim.lan").unwrap()), vec![s::PEER]);
    let dt = rig.now() - t0;
    assert!((2000..2100).contains(&dt), "one 2 s timeout, took {dt} ms");
    assert_eq!(rig.log(s::GATEWAY).len(), 1);
    assert_eq!(rig.log(s::NS2).len(), 1);
}

#[test]
fn all_silent_gives_timeout_within_the_bound_with_fresh_ids_and_ports() {
    let mut rig = Rig::standard();
    rig.fault(s::GATEWAY, DnsFault::Silent);
    rig.fault(s::NS2, DnsFault::Silent);
    let t0 = rig.now();
    assert_eq!(rig.resolve("gw.sim.lan"), Err(DnsError::Timeout));
    let dt = rig.now() - t0;
    assert!(
        (8000..8100).contains(&dt),
        "2 rounds x 2 servers x 2 s, took {dt} ms"
    );
    let mut all = rig.log(s::GATEWAY);
    all.extend(rig.log(s::NS2));
    assert_eq!(all.len(), 4, "two tries per server");
    let ids: HashSet<_> = all.iter().map(|q| q.id).collect();
    let ports: HashSet<_> = all.iter().map(|q| q.src.port()).collect();
    assert_eq!(ids.len(), 4, "RFC 5452 §9.2 a new ID per try");
    assert_eq!(ports.len(), 4, "RFC 5452 §9.2 a new port per try");
    // Order: gw, ns2, gw, ns2, two seconds apart.
    let mut by_time: Vec<_> = all.iter().map(|q| (q.at.as_millis() - t0, q.src)).collect();
    by_time.sort();
    let steps: Vec<_> = by_time.iter().map(|(t, _)| t / 1000 * 1000).collect();
    assert_eq!(steps, vec![0, 2000, 4000, 6000]);
}

#[test]
fn rfc5452_9_1_garbage_and_wrong_id_replies_are_ignored() {
    for fault in [DnsFault::Garbage, DnsFault::WrongId] {
        let mut rig = Rig::standard();
        rig.fault(s::GATEWAY, fault);
        let t0 = rig.now();
        let a = rig.resolve("http.sim.lan").unwrap();
        assert_eq!(addrs(&a), vec![s::HTTP], "{fault:?}");
        assert!(
            rig.now() - t0 >= 2000,
            "{fault:?}: the bad reply did not end the try"
        );
        assert_eq!(rig.log(s::NS2).len(), 1);
    }
    let mut rig = Rig::standard();
    rig.fault(s::GATEWAY, DnsFault::WrongId);
    rig.fault(s::NS2, DnsFault::WrongId);
    assert_eq!(rig.resolve("http.sim.lan"), Err(DnsError::Timeout));
}

#[test]
#[cfg(feature = "dns-tcp")]
fn rfc7766_truncated_udp_answer_is_fetched_over_tcp() {
    let mut rig = Rig::standard();
    let gw = rig.chip.lan.host_by_ip(s::GATEWAY).unwrap();
    fixture::install(
        &mut rig.chip.lan,
        gw,
        Lan::standard_zone(),
        DnsFault::TruncateUdp,
    );
    let a = rig.resolve("multi.sim.lan").unwrap();
    assert_eq!(addrs(&a), vec![s::HTTP, s::ECHO, s::BULK]);
    assert_eq!(rig.tcp_connects, 1);
    let c = &rig.chip.conns[0];
    assert_eq!(c.remote, SocketAddrV4::new(s::GATEWAY, 53));
    assert!(c.established);
    assert!(rig.log(s::NS2).is_empty());
}

#[test]
#[cfg(feature = "dns-tcp")]
fn rfc1035_4_2_1_large_answer_truncates_naturally_and_tcp_carries_it() {
    let mut zone = fixture::Zone::new();
    for i in 0..40 {
        zone = zone.a("big.test", Ipv4Addr::new(10, 77, 1, i), 45);
    }
    let mut lan = Lan::standard();
    let gw = lan.host_by_ip(s::GATEWAY).unwrap();
    fixture::install(&mut lan, gw, zone, DnsFault::None);
    let mut rig = Rig::new(lan);
    let a = rig.resolve("big.test").unwrap();
    assert_eq!(
        addrs(&a),
        (0..4)
            .map(|i| Ipv4Addr::new(10, 77, 1, i))
            .collect::<Vec<_>>(),
        "the first MAX_ADDRS of the full TCP answer"
    );
    assert_eq!(a.ttl_s, 45);
    assert_eq!(rig.tcp_connects, 1);
}

/// Without `dns-tcp`: a server that truncates without records (TC=1, as the LAN's servers
/// do) gives no answer; the next server is asked over UDP, and no TCP connection is made.
#[test]
#[cfg(not(feature = "dns-tcp"))]
fn rfc1035_4_2_1_without_tcp_an_empty_truncated_answer_moves_to_the_next_server() {
    let mut rig = Rig::standard();
    let gw = rig.chip.lan.host_by_ip(s::GATEWAY).unwrap();
    fixture::install(
        &mut rig.chip.lan,
        gw,
        Lan::standard_zone(),
        DnsFault::TruncateUdp,
    );
    let a = rig.resolve("multi.sim.lan").unwrap();
    assert_eq!(addrs(&a), vec![s::HTTP, s::ECHO, s::BULK]);
    assert_eq!(rig.tcp_connects, 0);
    assert!(!rig.log(s::NS2).is_empty(), "answered by the second server");
}

#[test]
fn rfc5452_9_2_ids_and_ports_differ_across_lookups() {
    let mut rig = Rig::standard();
    let names = [
        "gw", "ns2", "http", "echo", "bulk", "peer", "remote", "www", "alias", "multi",
    ];
    for n in names {
        rig.resolve(&format!("{n}.sim.lan")).unwrap();
    }
    rig.r.flush_cache();
    for n in names {
        rig.resolve(&format!("{n}.sim.lan")).unwrap();
    }
    let log = rig.log(s::GATEWAY);
    assert_eq!(log.len(), 20);
    let ids: HashSet<_> = log.iter().map(|q| q.id).collect();
    let ports: HashSet<_> = log.iter().map(|q| q.src.port()).collect();
    assert!(ids.len() >= 19, "ids: {ids:?}");
    assert!(ports.len() >= 19, "ports: {ports:?}");
    assert!(log.iter().all(|q| q.src.port() >= 49152));
}

#[test]
fn getaddrinfo_end_to_end_on_the_lan() {
    let mut rig = Rig::standard();
    let hints = Hints {
        socktype: SockType::Stream,
        ..Hints::default()
    };
    let now = rig.now();
    let req = match rig
        .r
        .getaddrinfo(Some("www.sim.lan"), Some("80"), &hints, now)
        .unwrap()
    {
        GaiLookup::Pending(r) => r,
        other => panic!("{other:?}"),
    };
    let res = rig.drive();
    let l = req.finish(Some(res)).unwrap();
    assert_eq!(l.entries.len(), 1);
    assert_eq!(l.entries[0].addr, SocketAddrV4::new(s::HTTP, 80));
    assert_eq!(l.entries[0].protocol, Protocol::Tcp);
    // Numeric host: no traffic.
    let before = rig.log(s::GATEWAY).len();
    let now = rig.now();
    match rig
        .r
        .getaddrinfo(Some("10.77.0.11"), Some("7"), &Hints::default(), now)
        .unwrap()
    {
        GaiLookup::Ready(l) => assert_eq!(l.entries.len(), 2),
        other => panic!("{other:?}"),
    }
    assert_eq!(rig.log(s::GATEWAY).len(), before);
}
