//! The DHCP client on the simulator's LAN, against its `DhcpServer` fixtures (RFC 2131).
//! Simulated time: a whole lease lifecycle runs in milliseconds of test time.

mod support;

use std::net::{Ipv4Addr, SocketAddrV4};

use support::dhcp::*;
use w5500_netsvc::dhcp::{Config, State};
use w5500_sim::lan::dhcp::{msg, DhcpConfig, DhcpFault, LogDir, RequestKind};
use w5500_sim::lan::{standard as s, Lan};

fn bound_lease(h: &Harness) -> w5500_netsvc::dhcp::Lease {
    h.events
        .iter()
        .rev()
        .find_map(|(_, e)| match e {
            Ev::Bound(l) => Some(l.clone()),
            _ => None,
        })
        .expect("bound")
}

#[test]
fn rfc2131_3_1_acquires_the_standard_lease() {
    let mut h = Harness::standard();
    h.client.start(0);
    h.run_for_ms(2_000);
    assert_eq!(h.client.state(), State::Bound);
    let l = bound_lease(&h);
    assert_eq!(l.address, s::POOL_START);
    assert_eq!(l.subnet_mask, s::NETMASK);
    assert_eq!(l.gateway, Some(s::GATEWAY));
    assert_eq!(l.dns_servers.as_slice(), &[s::GATEWAY, s::NS2]);
    assert_eq!(l.domain.as_deref(), Some(s::DOMAIN));
    assert_eq!((l.lease_secs, l.t1_secs, l.t2_secs), (3600, 1800, 3150));
    assert_eq!(l.server_id, Some(s::GATEWAY));
    assert_eq!(
        h.ip,
        s::POOL_START,
        "the harness programmed SIPR from Bound"
    );
    // Probed (ARP, nobody answered) before binding, when the probe is compiled in.
    if w5500_netsvc::dhcp::PROBE {
        assert!(matches!(h.events[0].1, Ev::Probe(ip) if ip == s::POOL_START));
    } else {
        assert!(matches!(h.events[0].1, Ev::Bound(_)));
    }
    let srv = h.server(s::GATEWAY);
    let disc = srv.logged(LogDir::Received, msg::DISCOVER);
    assert_eq!(disc.len(), 1);
    assert!(disc[0].broadcast_flag);
    assert_eq!(disc[0].src, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68));
    let req = srv.logged(LogDir::Received, msg::REQUEST);
    assert_eq!(req[0].kind, Some(RequestKind::Selecting));
    assert_eq!(*req[0].dst.ip(), Ipv4Addr::BROADCAST);
    assert!(srv.leases()[0].bound);
}

#[test]
fn rfc2131_4_4_5_whole_lifecycle_renew_rebind_to_second_server_expire() {
    // A second server sharing the pool (failover pair) at .3, with its own server id, the
    // same router, and a long lease so its record of the client survives.
    let mut lan = Lan::standard();
    let mut cfg2 = DhcpConfig::new(S2, s::POOL_START, 10);
    cfg2.router = Some(s::GATEWAY);
    cfg2.lease_secs = 7200;
    Harness::add_server(&mut lan, cfg2);
    let mut h = Harness::new(lan, Config::new(MAC, 11));
    // Server 2 learns the client (same client id) while the gateway is quiet.
    h.server(s::GATEWAY).fault = DhcpFault::Silent;
    h.client.start(0);
    h.run_for_ms(3_000);
    assert_eq!(bound_lease(&h).server_id, Some(S2));
    // Give the address back to nobody in particular: restart against the gateway only.
    h.server(S2).fault = DhcpFault::Silent;
    h.server(s::GATEWAY).fault = DhcpFault::None;
    h.client.link_changed(false, h.now_ms());
    h.client = w5500_netsvc::dhcp::Client::new(Config::new(MAC, 12));
    h.ip = Ipv4Addr::UNSPECIFIED;
    h.events.clear();
    h.sent.clear();
    let t0 = h.now_ms();
    h.client.start(t0);
    h.run_for_ms(3_000);
    let l = bound_lease(&h);
    assert_eq!(l.server_id, Some(s::GATEWAY));
    assert_eq!(l.address, s::POOL_START);
    // T1: unicast renewal to the gateway, ACKed.
    let t1 = l.renew_at_ms().unwrap();
    h.run_until_ms(t1 + 1_000);
    assert!(
        matches!(h.last_event(), Some(Ev::Renewed(_))),
        "{:?}",
        h.last_event()
    );
    let renew = h.server(s::GATEWAY).logged(LogDir::Received, msg::REQUEST);
    let last = renew.last().unwrap();
    assert_eq!(last.kind, Some(RequestKind::Renewing));
    assert_eq!(*last.dst.ip(), s::GATEWAY, "renewal is unicast");
    assert_eq!(last.ciaddr, s::POOL_START);
    let l = match h.last_event() {
        Some(Ev::Renewed(l)) => l.clone(),
        _ => unreachable!(),
    };
    // The gateway's server dies; server 2 comes back.
    h.server(s::GATEWAY).fault = DhcpFault::Silent;
    h.server(S2).fault = DhcpFault::None;
    let t2 = l.rebind_at_ms().unwrap();
    h.run_until_ms(t2 - 1);
    assert_eq!(h.client.state(), State::Renewing);
    let unanswered = h
        .sent_of(msg::REQUEST)
        .into_iter()
        .filter(|(t, tx, _)| *t > l.renew_at_ms().unwrap() && *tx.dst.ip() == s::GATEWAY)
        .count();
    assert!(unanswered >= 3, "renewals retried by unicast: {unanswered}");
    assert!(
        !h.server(S2)
            .logged(LogDir::Received, msg::REQUEST)
            .is_empty(),
        "server 2 saw the earlier exchange"
    );
    let seen_by_2 = h.server(S2).logged(LogDir::Received, msg::REQUEST).len();
    h.run_until_ms(t2 + 1_000);
    let ev = h.last_event().cloned();
    let Some(Ev::Rebound(nl)) = ev else {
        panic!("expected Rebound, got {ev:?}")
    };
    assert_eq!(nl.server_id, Some(S2), "rebound to the second server");
    assert_eq!(
        nl.gateway,
        Some(s::GATEWAY),
        "gateway from option 3, not server id .3"
    );
    assert_eq!(nl.address, s::POOL_START);
    let reqs = h.server(S2).logged(LogDir::Received, msg::REQUEST);
    assert_eq!(reqs.len(), seen_by_2 + 1);
    let rb = reqs.last().unwrap();
    assert_eq!(rb.kind, Some(RequestKind::Rebinding));
    assert_eq!(*rb.dst.ip(), Ipv4Addr::BROADCAST, "rebinding is broadcast");
    // Server 2 goes quiet as well: renew to .3 by unicast, rebind, expire.
    h.server(S2).fault = DhcpFault::Silent;
    let exp = nl.expires_at_ms().unwrap();
    h.run_until_ms(nl.renew_at_ms().unwrap() + 10);
    let (_, tx, _) = h.sent.last().unwrap();
    assert_eq!(*tx.dst.ip(), S2, "renewal now goes to the new server");
    h.run_until_ms(exp - 1);
    assert_eq!(h.client.state(), State::Rebinding);
    assert_ne!(h.ip, Ipv4Addr::UNSPECIFIED, "still usable until expiry");
    h.run_until_ms(exp + 10);
    assert_eq!(h.events.iter().filter(|(_, e)| *e == Ev::Lost).count(), 1);
    let lost_at = h.events.iter().find(|(_, e)| *e == Ev::Lost).unwrap().0;
    assert_eq!(lost_at, exp, "lost exactly at expiry");
    assert_eq!(h.ip, Ipv4Addr::UNSPECIFIED);
    assert_eq!(h.client.state(), State::Selecting);
    assert!(h.client.lease().is_none());
    let (_, tx, m) = h.sent.last().unwrap();
    assert_eq!(m.msg_type(), Some(msg::DISCOVER));
    assert_eq!(*tx.dst.ip(), Ipv4Addr::BROADCAST);
}

#[test]
fn rfc2131_4_1_silent_server_discover_backoff_on_the_wire() {
    let mut h = Harness::standard();
    h.server(s::GATEWAY).fault = DhcpFault::Silent;
    h.client.start(0);
    h.run_until_ms(200_000);
    let times: Vec<u64> = h
        .server(s::GATEWAY)
        .logged(LogDir::Received, msg::DISCOVER)
        .iter()
        .map(|e| e.at.as_millis())
        .collect();
    let gaps: Vec<u64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    for (gap, base) in gaps.iter().zip([4u64, 8, 16, 32, 64, 64]) {
        assert!(
            (base * 1000 - 1000..=base * 1000 + 1000).contains(gap),
            "gaps {gaps:?}"
        );
    }
    assert!(gaps.len() >= 5, "{gaps:?}");
    assert_eq!(
        h.client.state(),
        State::Selecting,
        "keeps trying, never blocks"
    );
}

#[test]
fn rfc2131_3_1_nak_everything_server_no_storm() {
    let mut h = Harness::standard();
    h.server(s::GATEWAY).fault = DhcpFault::NakAll;
    h.client.start(0);
    h.run_until_ms(120_000);
    let n = h.sent_of(msg::REQUEST).len();
    assert!(n >= 3, "kept trying: {n}");
    assert!(
        n <= 10,
        "NAK backoff limits the loop: {n} REQUESTs in 2 min"
    );
    assert!(h.events.is_empty(), "never bound: {:?}", h.events);
}

#[test]
fn rfc2131_4_3_2_two_servers_bind_to_one_and_the_other_withdraws() {
    let mut lan = Lan::standard();
    let mut cfg2 = DhcpConfig::new(S2, IP2, 10);
    cfg2.router = Some(s::GATEWAY);
    Harness::add_server(&mut lan, cfg2);
    let mut h = Harness::new(lan, Config::new(MAC, 5));
    h.client.start(0);
    h.run_for_ms(2_000);
    let l = bound_lease(&h);
    let (mine, other) = if l.server_id == Some(S2) {
        (S2, s::GATEWAY)
    } else {
        (s::GATEWAY, S2)
    };
    assert_eq!(
        h.server(other).logged(LogDir::Sent, msg::OFFER).len(),
        1,
        "both offered"
    );
    assert!(
        h.server(other).leases().is_empty(),
        "the other server withdrew its offer"
    );
    assert_eq!(h.server(mine).leases().len(), 1);
    assert!(h.server(other).logged(LogDir::Sent, msg::ACK).is_empty());
}

#[test]
#[cfg(feature = "dhcp-probe")]
fn rfc2131_3_1_5_address_in_use_is_declined_and_another_obtained() {
    let mut lan = Lan::standard();
    // Someone uses the first pool address without a lease.
    lan.add_simple_host("squatter", s::POOL_START);
    let mut h = Harness::new(lan, Config::new(MAC, 8));
    h.client.start(0);
    h.run_for_ms(5_000);
    assert!(h
        .events
        .iter()
        .any(|(_, e)| *e == Ev::Declined(s::POOL_START)));
    assert_eq!(h.server(s::GATEWAY).declined(), vec![s::POOL_START]);
    assert_eq!(
        h.client.state(),
        State::Init,
        "waiting before starting over"
    );
    let dec = h.sent_of(msg::DECLINE);
    assert_eq!(dec.len(), 1);
    let decline_at = dec[0].0;
    h.run_for_ms(15_000);
    let l = bound_lease(&h);
    assert_ne!(l.address, s::POOL_START);
    let second_discover = h.sent_of(msg::DISCOVER)[1].0;
    assert!(
        second_discover - decline_at >= 10_000,
        "RFC 2131 §3.1.5: ≥ 10 s"
    );
}

#[test]
fn rfc2131_4_4_6_release_frees_the_lease_on_the_server() {
    let mut h = Harness::standard();
    h.client.start(0);
    h.run_for_ms(2_000);
    assert_eq!(h.server(s::GATEWAY).leases().len(), 1);
    let now = h.now_ms();
    h.client.release(now);
    h.run_for_ms(100);
    assert_eq!(h.last_event(), Some(&Ev::Released));
    let rel = h.server(s::GATEWAY).logged(LogDir::Received, msg::RELEASE);
    assert_eq!(rel.len(), 1);
    assert_eq!(*rel[0].dst.ip(), s::GATEWAY, "unicast to the server");
    assert_eq!(
        *rel[0].src.ip(),
        s::POOL_START,
        "sent from the leased address"
    );
    assert!(h.server(s::GATEWAY).leases().is_empty());
    assert_eq!(h.ip, Ipv4Addr::UNSPECIFIED);
    h.run_for_ms(10_000_000);
    assert_eq!(h.client.state(), State::Stopped);
}

#[test]
fn rfc2131_3_2_init_reboot_after_restart_and_on_a_foreign_network() {
    let mut h = Harness::standard();
    h.client.start(0);
    h.run_for_ms(2_000);
    let addr = bound_lease(&h).address;
    // "Reboot": a new client that remembers the address.
    let mut cfg = Config::new(MAC, 99);
    cfg.requested_ip = Some(addr);
    h.client = w5500_netsvc::dhcp::Client::new(cfg);
    h.ip = Ipv4Addr::UNSPECIFIED;
    h.events.clear();
    let now = h.now_ms();
    h.client.start(now);
    h.run_for_ms(2_000);
    assert_eq!(bound_lease(&h).address, addr);
    assert!(
        h.sent_of(msg::DISCOVER).len() == 1,
        "no new DISCOVER after reboot"
    );
    let last = h.server(s::GATEWAY).logged(LogDir::Received, msg::REQUEST);
    assert_eq!(last.last().unwrap().kind, Some(RequestKind::InitReboot));
    // Remembered address from another network: NAK, then a fresh DISCOVER.
    let mut cfg = Config::new(MAC, 100);
    cfg.requested_ip = Some(Ipv4Addr::new(192, 168, 1, 77));
    let mut h = Harness::new(Lan::standard(), cfg);
    h.client.start(0);
    h.run_for_ms(3_000);
    assert_eq!(h.server(s::GATEWAY).logged(LogDir::Sent, msg::NAK).len(), 1);
    assert_eq!(bound_lease(&h).address, s::POOL_START);
    assert!(!h.events.iter().any(|(_, e)| *e == Ev::Lost));
}

#[test]
fn rfc2131_3_2_link_flap_confirms_the_lease() {
    let mut h = Harness::standard();
    h.client.start(0);
    h.run_for_ms(2_000);
    let now = h.now_ms();
    h.client.link_changed(false, now);
    h.run_for_ms(5_000);
    assert_eq!(h.client.state(), State::LinkDown);
    let now = h.now_ms();
    h.client.link_changed(true, now);
    h.run_for_ms(1_000);
    assert!(matches!(h.last_event(), Some(Ev::Renewed(l)) if l.address == s::POOL_START));
    let r = h.server(s::GATEWAY).logged(LogDir::Received, msg::REQUEST);
    assert_eq!(r.last().unwrap().kind, Some(RequestKind::InitReboot));
}

#[test]
fn rfc2132_9_3_overloaded_and_sparse_replies_still_configure() {
    let mut h = Harness::standard();
    h.server(s::GATEWAY).overload = true;
    h.client.start(0);
    h.run_for_ms(2_000);
    let l = bound_lease(&h);
    assert_eq!(
        l.gateway,
        Some(s::GATEWAY),
        "router read from the file field"
    );
    assert_eq!(
        l.domain.as_deref(),
        Some(s::DOMAIN),
        "domain read from sname"
    );
    // Omitted router, DNS, T1, T2: no gateway, no DNS, default timers.
    let mut h = Harness::standard();
    h.server(s::GATEWAY).omit_options = vec![3, 6, 58, 59];
    h.client.start(0);
    h.run_for_ms(2_000);
    let l = bound_lease(&h);
    assert_eq!(l.gateway, None, "never the server id");
    assert!(l.dns_servers.is_empty());
    assert_eq!((l.t1_secs, l.t2_secs), (1800, 3150));
}
