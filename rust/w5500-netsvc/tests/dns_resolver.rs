//! The resolver state machine against hand-built replies: validation, RCODEs, failover,
//! retries and timing, TCP fallback, CNAME re-queries, the cache.

mod support;

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddrV4};

use support::dns::*;
use w5500_netsvc::dns::{
    Config, DnsError, Lookup, NameError, Resolver, Source, Transmit, MAX_SERVERS,
};

const IP1: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const IP2: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn ok_reply(s: &Sent, ip: Ipv4Addr, ttl: u32) -> Vec<u8> {
    reply(s.id, 0, &s.qname, &[a_rr(&s.qname, ttl, ip)], &[])
}

fn pending(h: &mut H, name: &str) {
    assert_eq!(h.r.start(name, h.now), Ok(Lookup::Pending));
}

#[test]
fn rfc1035_4_1_simple_a_lookup_and_query_fields() {
    let mut h = H::new(&[NS1]);
    pending(&mut h, "host.example");
    let s = h.tx();
    assert!(!s.tcp);
    assert_eq!(s.server, SocketAddrV4::new(NS1, 53));
    assert!(s.src_port >= 49152, "RFC 6335 dynamic range");
    assert_eq!(s.qname, "host.example");
    assert_eq!(&s.msg[2..4], &[0x01, 0x00], "RD=1, opcode QUERY");
    assert!(h.try_tx().is_none(), "one transmit per try");
    assert_eq!(h.r.poll_at(), Some(h.now + 2000));
    assert!(h.udp(&s, &ok_reply(&s, IP1, 60)));
    let a = h.r.poll_result().unwrap().unwrap();
    assert_eq!(a.addrs.as_slice(), &[IP1]);
    assert_eq!(a.canonical.to_string(), "host.example");
    assert_eq!(a.ttl_s, 60);
    assert_eq!(a.source, Source::Network);
    assert!(!h.r.is_busy());
    assert_eq!(h.r.poll_at(), None);
    assert!(h.r.poll_result().is_none(), "result given once");
}

#[test]
fn rfc5452_9_2_random_id_and_port_per_query() {
    let mut h = H::new(&[NS1, NS2]);
    let mut ids = HashSet::new();
    let mut ports = HashSet::new();
    for i in 0..40 {
        pending(&mut h, &format!("h{i}.example"));
        // Two tries per lookup (the first times out).
        for _ in 0..2 {
            let s = h.tx();
            ids.insert(s.id);
            ports.insert(s.src_port);
            assert!(s.src_port >= 49152);
            h.advance(2000);
        }
        let s = h.tx();
        ids.insert(s.id);
        ports.insert(s.src_port);
        h.udp(&s, &ok_reply(&s, IP1, 0));
        h.r.poll_result().unwrap().unwrap();
    }
    assert!(ids.len() >= 115, "ids differ: {}", ids.len());
    assert!(ports.len() >= 115, "ports differ: {}", ports.len());
    // Different seeds give different sequences.
    let mut a = H::with(Config::new(1).with_servers(&[NS1]));
    let mut b = H::with(Config::new(2).with_servers(&[NS1]));
    pending(&mut a, "x.example");
    pending(&mut b, "x.example");
    let (sa, sb) = (a.tx(), b.tx());
    assert!(sa.id != sb.id || sa.src_port != sb.src_port);
}

#[test]
fn rfc5452_9_1_spoofed_and_stray_replies_are_ignored() {
    let mut h = H::new(&[NS1]);
    pending(&mut h, "host.example");
    let s = h.tx();
    let good = ok_reply(&s, IP1, 60);
    // Wrong source address, wrong source port, wrong destination port.
    assert!(!h
        .r
        .handle_udp(h.now, SocketAddrV4::new(NS2, 53), s.src_port, &good));
    assert!(!h
        .r
        .handle_udp(h.now, SocketAddrV4::new(NS1, 5353), s.src_port, &good));
    assert!(!h.r.handle_udp(h.now, s.server, s.src_port ^ 1, &good));
    // Wrong ID, wrong question, a query, garbage, empty.
    let wrong_id = reply(s.id ^ 0x8000, 0, &s.qname, &[a_rr(&s.qname, 60, IP2)], &[]);
    assert!(!h.udp(&s, &wrong_id));
    let wrong_q = reply(
        s.id,
        0,
        "evil.example",
        &[a_rr("evil.example", 60, IP2)],
        &[],
    );
    assert!(!h.udp(&s, &wrong_q));
    let mut as_query = good.clone();
    as_query[2] &= 0x7f;
    assert!(!h.udp(&s, &as_query));
    assert!(!h.udp(&s, &[0xff; 7]));
    assert!(!h.udp(&s, &[]));
    // A spoofed NXDOMAIN with a wrong ID cannot end the lookup either.
    assert!(!h.udp(&s, &reply(s.id.wrapping_add(1), 3, &s.qname, &[], &[])));
    assert!(h.r.poll_result().is_none());
    assert!(h.r.is_busy());
    // The genuine reply is still taken.
    assert!(h.udp(&s, &good));
    assert_eq!(h.r.poll_result().unwrap().unwrap().addrs.as_slice(), &[IP1]);
    // After the result, even the genuine reply is ignored.
    assert!(!h.udp(&s, &good));
}

#[test]
fn rfc1035_4_1_1_nxdomain_is_final_no_other_server() {
    let mut h = H::new(&[NS1, NS2]);
    pending(&mut h, "nope.example");
    let s = h.tx();
    assert!(h.udp(&s, &reply(s.id, 3, &s.qname, &[], &[])));
    assert_eq!(h.r.poll_result(), Some(Err(DnsError::NoSuchName)));
    assert!(h.try_tx().is_none());
}

#[test]
fn rfc1035_4_1_1_servfail_refused_formerr_go_to_next_server() {
    for (rcode, expect) in [
        (2u8, DnsError::ServerFailure),
        (5, DnsError::Refused),
        (1, DnsError::Refused),
        (4, DnsError::Refused),
        (9, DnsError::Refused),
    ] {
        let mut h = H::new(&[NS1, NS2]);
        pending(&mut h, "x.example");
        let s1 = h.tx();
        assert_eq!(*s1.server.ip(), NS1);
        assert!(h.udp(&s1, &reply(s1.id, rcode, &s1.qname, &[], &[])));
        let s2 = h.tx();
        assert_eq!(*s2.server.ip(), NS2, "rcode {rcode}: next server");
        assert!(h.udp(&s2, &reply(s2.id, rcode, &s2.qname, &[], &[])));
        // Second round: SERVFAIL servers are asked again, refusing ones are not.
        if rcode == 2 {
            for ns in [NS1, NS2] {
                let s = h.tx();
                assert_eq!(*s.server.ip(), ns);
                h.udp(&s, &reply(s.id, rcode, &s.qname, &[], &[]));
            }
        }
        assert!(h.try_tx().is_none());
        assert_eq!(h.r.poll_result(), Some(Err(expect)), "rcode {rcode}");
    }
    // Failover succeeds when the second server answers.
    let mut h = H::new(&[NS1, NS2]);
    pending(&mut h, "x.example");
    let s1 = h.tx();
    h.udp(&s1, &reply(s1.id, 5, &s1.qname, &[], &[]));
    let s2 = h.tx();
    h.udp(&s2, &ok_reply(&s2, IP2, 10));
    assert_eq!(h.r.poll_result().unwrap().unwrap().addrs.as_slice(), &[IP2]);
}

#[test]
fn rfc1035_4_2_1_timeouts_rotate_servers_per_round_with_bounded_total_time() {
    let cfg = Config {
        timeout_ms: 1500,
        attempts: 3,
        ..Config::new(7).with_servers(&[NS1, NS2, NS3])
    };
    let mut h = H::with(cfg);
    let t0 = h.now;
    pending(&mut h, "silent.example");
    let mut order = Vec::new();
    for _ in 0..20 {
        if let Some(s) = h.try_tx() {
            order.push((*s.server.ip(), h.now - t0));
        }
        if h.r.poll_result().is_some() {
            break;
        }
        let next = h.r.poll_at().unwrap();
        assert!(next > h.now, "no busy loop");
        h.now = next;
        h.r.poll(h.now);
        if let Some(res) = h.r.poll_result() {
            assert_eq!(res, Err(DnsError::Timeout));
            break;
        }
    }
    let expect: Vec<_> = (0..3)
        .flat_map(|round| {
            [NS1, NS2, NS3]
                .into_iter()
                .enumerate()
                .map(move |(i, ns)| (ns, (round * 3 + i as u64) * 1500))
        })
        .collect();
    assert_eq!(
        order, expect,
        "glibc-style rounds: each server once per round"
    );
    assert_eq!(
        h.now - t0,
        3 * 3 * 1500,
        "total time = attempts x servers x timeout"
    );
    assert!(!h.r.is_busy());
}

#[test]
fn late_reply_of_a_previous_try_is_ignored() {
    let mut h = H::new(&[NS1, NS2]);
    pending(&mut h, "x.example");
    let s1 = h.tx();
    h.advance(2000);
    let s2 = h.tx();
    assert_ne!((s1.id, s1.src_port), (s2.id, s2.src_port));
    assert!(
        !h.udp(&s1, &ok_reply(&s1, IP1, 5)),
        "socket of the old try is closed"
    );
    assert!(h.udp(&s2, &ok_reply(&s2, IP2, 5)));
    assert_eq!(h.r.poll_result().unwrap().unwrap().addrs.as_slice(), &[IP2]);
}

#[test]
#[cfg(feature = "dns-tcp")]
fn rfc7766_5_truncated_reply_retried_over_tcp_in_pieces() {
    let mut h = H::new(&[NS1, NS2]);
    pending(&mut h, "big.example");
    let s = h.tx();
    let tc = reply_flags(s.id, 0x8380, &s.qname, &[], &[]);
    assert!(h.udp(&s, &tc));
    let t = h.tx();
    assert!(t.tcp);
    assert_eq!(t.server, SocketAddrV4::new(NS1, 53), "same server over TCP");
    assert_eq!(t.qname, "big.example");
    assert_eq!(h.r.poll_at(), Some(h.now + 4000), "TCP timeout");
    // UDP datagrams are not taken while on TCP.
    assert!(!h.udp(&s, &ok_reply(&s, IP2, 5)));
    let answers: Vec<_> = (1..=6)
        .map(|i| a_rr("big.example", 77, Ipv4Addr::new(10, 1, 0, i)))
        .collect();
    let msg = reply(t.id, 0, &t.qname, &answers, &[]);
    let mut framed = (msg.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&msg);
    // One byte, then the rest of the prefix and some, then the remainder.
    assert!(h.r.handle_tcp(h.now, &framed[..1]));
    assert!(h.r.handle_tcp(h.now, &framed[1..20]));
    assert!(h.r.poll_result().is_none());
    assert!(h.r.handle_tcp(h.now, &framed[20..]));
    let a = h.r.poll_result().unwrap().unwrap();
    assert_eq!(a.addrs.len(), 4, "MAX_ADDRS kept");
    assert_eq!(a.ttl_s, 77);
}

/// Without the `dns-tcp` feature (like Zephyr's own resolver) a truncated reply (RFC 1035
/// §4.2.1, TC=1) is read for what it holds: its addresses are the answer, but it is not
/// cached (RFC 2181 §9: more may have been cut off); one holding no address is a broken
/// reply from that server, and the next server is asked. No TCP try is ever made.
#[test]
#[cfg(not(feature = "dns-tcp"))]
fn rfc1035_4_2_1_without_tcp_a_truncated_reply_gives_what_it_holds_uncached() {
    const { assert!(!w5500_netsvc::dns::TCP) };
    let mut h = H::new(&[NS1, NS2]);
    pending(&mut h, "big.example");
    let s = h.tx();
    let answers: Vec<_> = (1..=2)
        .map(|i| a_rr("big.example", 77, Ipv4Addr::new(10, 1, 0, i)))
        .collect();
    let tc = reply_flags(s.id, 0x8380, &s.qname, &answers, &[]);
    assert!(h.udp(&s, &tc));
    let a = h.r.poll_result().unwrap().unwrap();
    assert_eq!(
        a.addrs.as_slice(),
        &[Ipv4Addr::new(10, 1, 0, 1), Ipv4Addr::new(10, 1, 0, 2)]
    );
    assert_eq!(a.ttl_s, 0, "not to be cached");
    assert!(h.try_tx().is_none(), "no TCP try");
    // Not cached: the next lookup of the name asks again.
    pending(&mut h, "big.example");
    let s = h.tx();
    assert!(!s.tcp);
    // A truncated reply without addresses: the next server (over UDP again).
    let empty = reply_flags(s.id, 0x8380, &s.qname, &[], &[]);
    assert!(h.udp(&s, &empty));
    assert!(h.r.poll_result().is_none());
    let s2 = h.tx();
    assert!(!s2.tcp);
    assert_eq!(s2.server, SocketAddrV4::new(NS2, 53));
    assert!(!h.r.handle_tcp(h.now, &[0, 0]), "TCP bytes are never taken");
    assert!(h.udp(&s2, &ok_reply(&s2, IP1, 5)));
    assert_eq!(h.r.poll_result().unwrap().unwrap().addrs.as_slice(), &[IP1]);
}

#[test]
#[cfg(feature = "dns-tcp")]
fn rfc7766_tcp_failures_move_on() {
    // Reset by the server → next server over UDP.
    let mut h = H::new(&[NS1, NS2]);
    pending(&mut h, "big.example");
    let s = h.tx();
    h.udp(&s, &reply_flags(s.id, 0x8380, &s.qname, &[], &[]));
    let t = h.tx();
    assert!(t.tcp);
    h.r.handle_transport_error(h.now);
    let s2 = h.tx();
    assert!(!s2.tcp);
    assert_eq!(*s2.server.ip(), NS2);
    // Wrong ID over TCP: broken server, next.
    h.udp(&s2, &reply_flags(s2.id, 0x8380, &s2.qname, &[], &[]));
    let t2 = h.tx();
    let msg = reply(t2.id ^ 1, 0, &t2.qname, &[a_rr(&t2.qname, 5, IP1)], &[]);
    let mut framed = (msg.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&msg);
    assert!(h.r.handle_tcp(h.now, &framed));
    // Round 2: NS1 (transport error is retried), then NS2 is dead (broken reply).
    let s3 = h.tx();
    assert_eq!(*s3.server.ip(), NS1);
    h.r.handle_transport_error(h.now);
    assert!(h.try_tx().is_none());
    assert_eq!(h.r.poll_result(), Some(Err(DnsError::Transport)));
    // Oversized TCP reply (length prefix > TCP_REPLY_MAX).
    let mut h = H::new(&[NS1]);
    pending(&mut h, "big.example");
    let s = h.tx();
    h.udp(&s, &reply_flags(s.id, 0x8380, &s.qname, &[], &[]));
    h.tx();
    h.r.handle_tcp(h.now, &[0xff, 0xff, 0, 0]);
    assert_eq!(h.r.poll_result(), Some(Err(DnsError::Refused)));
    // TCP timeout.
    let mut h = H::new(&[NS1]);
    pending(&mut h, "big.example");
    let s = h.tx();
    h.udp(&s, &reply_flags(s.id, 0x8380, &s.qname, &[], &[]));
    h.tx();
    h.advance(4000);
    let s = h.tx();
    assert!(!s.tcp, "round 2 starts over UDP");
}

#[test]
fn rfc1034_5_3_3_cname_without_address_is_queried_again() {
    let mut h = H::new(&[NS1]);
    pending(&mut h, "alias.example");
    let s = h.tx();
    h.udp(
        &s,
        &reply(
            s.id,
            0,
            &s.qname,
            &[
                cname_rr("alias.example", 300, "mid.example"),
                cname_rr("mid.example", 40, "target.other"),
            ],
            &[],
        ),
    );
    assert!(h.r.poll_result().is_none());
    let s2 = h.tx();
    assert_eq!(s2.qname, "target.other");
    assert_ne!(s2.id, s.id);
    h.udp(&s2, &ok_reply(&s2, IP2, 100));
    let a = h.r.poll_result().unwrap().unwrap();
    assert_eq!(a.addrs.as_slice(), &[IP2]);
    assert_eq!(a.canonical.to_string(), "target.other");
    assert_eq!(a.ttl_s, 40, "min TTL over the chain");
    // Cached under the asked name.
    assert!(
        matches!(h.r.start("ALIAS.example", h.now), Ok(Lookup::Ready(a)) if a.source == Source::Cache)
    );
}

#[test]
fn cname_requeries_are_bounded() {
    let mut h = H::new(&[NS1]);
    pending(&mut h, "c0.example");
    let mut queries = 0;
    for i in 0..20 {
        let Some(s) = h.try_tx() else { break };
        queries += 1;
        let next = format!("c{}.example", i + 1);
        h.udp(
            &s,
            &reply(s.id, 0, &s.qname, &[cname_rr(&s.qname, 5, &next)], &[]),
        );
    }
    assert_eq!(queries, 8, "one hop per query, 8 hops in all");
    assert_eq!(h.r.poll_result(), Some(Err(DnsError::TooManyCnames)));
}

#[test]
fn rfc2308_2_2_nodata() {
    let mut h = H::new(&[NS1, NS2]);
    pending(&mut h, "mx-only.example");
    let s = h.tx();
    h.udp(
        &s,
        &reply(s.id, 0, &s.qname, &[], &[soa_rr("example", 60, 60)]),
    );
    assert_eq!(h.r.poll_result(), Some(Err(DnsError::NoData)));
    assert_eq!(
        h.r.start("mx-only.example", h.now + 59_000),
        Err(DnsError::NoData)
    );
    assert_eq!(
        h.r.start("mx-only.example", h.now + 60_000),
        Ok(Lookup::Pending)
    );
}

#[test]
fn rfc1035_3_2_1_cache_honours_ttl_and_ttl_zero_is_not_cached() {
    let mut h = H::new(&[NS1]);
    pending(&mut h, "ttl.example");
    let s = h.tx();
    h.udp(&s, &ok_reply(&s, IP1, 30));
    h.r.poll_result().unwrap().unwrap();
    h.advance(29_000);
    match h.r.start("ttl.example", h.now) {
        Ok(Lookup::Ready(a)) => {
            assert_eq!(a.source, Source::Cache);
            assert_eq!(a.ttl_s, 1, "remaining TTL");
        }
        other => panic!("{other:?}"),
    }
    h.advance(1_000);
    pending(&mut h, "ttl.example");
    let s = h.tx();
    h.udp(&s, &ok_reply(&s, IP2, 0));
    assert_eq!(h.r.poll_result().unwrap().unwrap().addrs.as_slice(), &[IP2]);
    pending(&mut h, "ttl.example");
    assert_eq!(h.r.cache_len(), 0);
}

#[test]
fn cache_ttl_is_capped_at_one_day() {
    let mut h = H::new(&[NS1]);
    pending(&mut h, "long.example");
    let s = h.tx();
    h.udp(&s, &ok_reply(&s, IP1, 7 * 86_400));
    assert_eq!(h.r.poll_result().unwrap().unwrap().ttl_s, 86_400);
    h.advance(86_400_000 - 1);
    assert!(matches!(
        h.r.start("long.example", h.now),
        Ok(Lookup::Ready(_))
    ));
    h.advance(1);
    pending(&mut h, "long.example");
}

#[test]
fn cache_keeps_eight_entries_evicting_the_soonest_to_expire() {
    let mut h = H::new(&[NS1]);
    for i in 0..9u32 {
        pending(&mut h, &format!("n{i}.example"));
        let s = h.tx();
        // n3 expires first.
        let ttl = if i == 3 { 10 } else { 1000 + i };
        h.udp(&s, &ok_reply(&s, IP1, ttl));
        h.r.poll_result().unwrap().unwrap();
    }
    assert_eq!(h.r.cache_len(), 8);
    pending(&mut h, "n3.example");
    h.r.cancel();
    for i in [0, 1, 2, 4, 5, 6, 7, 8] {
        assert!(
            matches!(
                h.r.start(&format!("n{i}.example"), h.now),
                Ok(Lookup::Ready(_))
            ),
            "n{i}"
        );
    }
    h.r.flush_cache();
    pending(&mut h, "n0.example");
}

#[test]
fn rfc2308_5_negative_caching_soa_minimum_else_short_default() {
    let mut h = H::new(&[NS1]);
    pending(&mut h, "gone.example");
    let s = h.tx();
    h.udp(
        &s,
        &reply(s.id, 3, &s.qname, &[], &[soa_rr("example", 3600, 300)]),
    );
    assert_eq!(h.r.poll_result(), Some(Err(DnsError::NoSuchName)));
    h.advance(299_999);
    assert_eq!(h.r.start("GONE.example.", h.now), Err(DnsError::NoSuchName));
    assert!(h.try_tx().is_none(), "answered from the negative cache");
    h.advance(1);
    pending(&mut h, "gone.example");
    let s = h.tx();
    h.udp(&s, &reply(s.id, 3, &s.qname, &[], &[]));
    h.r.poll_result();
    h.advance(4_999);
    assert_eq!(h.r.start("gone.example", h.now), Err(DnsError::NoSuchName));
    h.advance(1);
    pending(&mut h, "gone.example");
    // Huge SOA minimum is capped at 3 hours.
    let s = h.tx();
    h.udp(
        &s,
        &reply(
            s.id,
            3,
            &s.qname,
            &[],
            &[soa_rr("example", 999_999, 999_999)],
        ),
    );
    h.r.poll_result();
    h.advance(10_800_000);
    pending(&mut h, "gone.example");
}

#[test]
fn literals_localhost_and_bad_names_need_no_query() {
    let mut h = H::new(&[NS1]);
    match h.r.start("10.77.0.10", h.now) {
        Ok(Lookup::Ready(a)) => {
            assert_eq!(a.addrs.as_slice(), &[Ipv4Addr::new(10, 77, 0, 10)]);
            assert_eq!(a.source, Source::Literal);
        }
        other => panic!("{other:?}"),
    }
    for lh in ["localhost", "LOCALHOST.", "my.localhost"] {
        assert!(
            matches!(h.r.start(lh, h.now), Ok(Lookup::Ready(a)) if a.addrs.as_slice() == [Ipv4Addr::LOCALHOST]),
            "RFC 6761 §6.3 {lh}"
        );
    }
    for (bad, e) in [
        ("1.2.3", NameError::BadNumeric),
        ("256.0.0.1", NameError::BadNumeric),
        ("010.0.0.1", NameError::BadNumeric),
        ("", NameError::Empty),
        ("a..b", NameError::EmptyLabel),
    ] {
        assert_eq!(
            h.r.start(bad, h.now),
            Err(DnsError::InvalidName(e)),
            "{bad:?}"
        );
    }
    assert!(h.try_tx().is_none());
    assert!(!h.r.is_busy());
}

#[test]
fn one_lookup_at_a_time_and_no_servers() {
    let mut h = H::new(&[]);
    assert_eq!(h.r.start("a.example", h.now), Err(DnsError::NoServers));
    h.r.set_servers(&[
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::BROADCAST,
        Ipv4Addr::new(224, 0, 0, 251),
    ]);
    assert_eq!(
        h.r.start("a.example", h.now),
        Err(DnsError::NoServers),
        "non-unicast skipped"
    );
    h.r.set_servers(&[NS2]);
    pending(&mut h, "a.example");
    assert_eq!(h.r.start("b.example", h.now), Err(DnsError::Busy));
    // Literals still work while busy.
    assert!(matches!(h.r.start("1.2.3.4", h.now), Ok(Lookup::Ready(_))));
    let s = h.tx();
    assert_eq!(*s.server.ip(), NS2);
}

#[test]
fn servers_dhcp_first_then_configured_deduplicated_max_four() {
    let cfg = Config::new(3).with_servers(&[NS3, NS1]);
    let mut r: Resolver = Resolver::new(cfg);
    assert_eq!(r.servers().as_slice(), &[NS3, NS1]);
    let d = [
        NS1,
        NS2,
        Ipv4Addr::new(192, 0, 2, 9),
        Ipv4Addr::new(192, 0, 2, 10),
    ];
    r.set_servers(&d);
    assert_eq!(r.servers().len(), MAX_SERVERS);
    assert_eq!(r.servers().as_slice(), &d[..]);
    r.set_servers(&[NS2]);
    assert_eq!(r.servers().as_slice(), &[NS2, NS3, NS1]);
    // A running lookup keeps its list.
    let mut h = H::new(&[NS1]);
    pending(&mut h, "a.example");
    h.r.set_servers(&[NS2]);
    let s = h.tx();
    assert_eq!(*s.server.ip(), NS1);
}

#[test]
fn transport_error_on_udp_send_moves_on_and_maps_to_system() {
    let mut h = H::with(Config {
        attempts: 1,
        ..Config::new(9).with_servers(&[NS1])
    });
    pending(&mut h, "a.example");
    let _ = h.tx();
    h.r.handle_transport_error(h.now);
    assert_eq!(h.r.poll_result(), Some(Err(DnsError::Transport)));
    assert_eq!(DnsError::Transport.eai().code(), -11);
}

#[test]
fn malformed_answer_counts_as_broken_server() {
    let mut h = H::new(&[NS1, NS2]);
    pending(&mut h, "m.example");
    let s = h.tx();
    let mut bad = reply(s.id, 0, &s.qname, &[a_rr(&s.qname, 5, IP1)], &[]);
    bad[7] = 5; // ANCOUNT beyond the data
    assert!(h.udp(&s, &bad));
    let s2 = h.tx();
    assert_eq!(*s2.server.ip(), NS2);
    h.advance(2000);
    // Round 2: NS1 is skipped, NS2 again.
    let s3 = h.tx();
    assert_eq!(*s3.server.ip(), NS2);
    h.advance(2000);
    h.r.poll(h.now);
    assert_eq!(
        h.r.poll_result(),
        Some(Err(DnsError::Timeout)),
        "a timeout outranks refusal"
    );
}

#[test]
fn transmit_kinds_carry_server_and_port() {
    let mut h = H::new(&[NS1]);
    pending(&mut h, "k.example");
    match h.r.poll_transmit(h.now).unwrap() {
        Transmit::Udp {
            server,
            src_port,
            payload,
        } => {
            assert_eq!(server.port(), 53);
            assert!(src_port >= 49152);
            assert_eq!(payload.len(), 12 + wname("k.example").len() + 4);
        }
        t => panic!("{t:?}"),
    }
}

#[test]
fn footprint_is_bounded_for_small_targets() {
    // No heap: everything is in the struct. Keep it well under 8 KiB.
    let size = std::mem::size_of::<Resolver>();
    println!("Resolver<8>: {size} bytes");
    assert!(size < 8 * 1024, "{size}");
    assert!(std::mem::size_of::<Resolver<0>>() < size);
    // As w5500-iface holds it: 4 cache entries, no TCP buffer of its own.
    let small = std::mem::size_of::<Resolver<4, 0>>();
    println!("Resolver<4, 0>: {small} bytes");
    assert!(small < 1536, "{small}");
}

/// The compact cache (see `dns::cache`): a CNAME chain's canonical name is kept and given
/// back on a hit under the asked name in any case (RFC 4343); an answer whose canonical name
/// is longer than `CANON_MAX` is not cached (asked again); without a CNAME the hit carries
/// the name as asked.
#[test]
fn cache_keeps_short_canonical_names_only() {
    use w5500_netsvc::dns::cache::CANON_MAX;
    let mut h = H::new(&[NS1]);
    pending(&mut h, "www.example");
    let s = h.tx();
    h.udp(
        &s,
        &reply(
            s.id,
            0,
            &s.qname,
            &[
                cname_rr("www.example", 300, "edge.cdn.other"),
                a_rr("edge.cdn.other", 300, IP1),
            ],
            &[],
        ),
    );
    assert_eq!(
        h.r.poll_result().unwrap().unwrap().canonical.to_string(),
        "edge.cdn.other"
    );
    match h.r.start("WWW.Example", h.now) {
        Ok(Lookup::Ready(a)) => {
            assert_eq!(a.source, Source::Cache);
            assert_eq!(a.canonical.to_string(), "edge.cdn.other");
            assert_eq!(a.addrs.as_slice(), &[IP1]);
        }
        other => panic!("{other:?}"),
    }
    // No CNAME: the name as asked this time.
    pending(&mut h, "plain.example");
    let s = h.tx();
    h.udp(&s, &ok_reply(&s, IP2, 300));
    h.r.poll_result().unwrap().unwrap();
    match h.r.start("PLAIN.example", h.now) {
        Ok(Lookup::Ready(a)) => assert_eq!(a.canonical.to_string(), "PLAIN.example"),
        other => panic!("{other:?}"),
    }
    // A canonical name longer than CANON_MAX bytes in wire form: answered, not cached.
    let long = format!("{}.{}.example", "a".repeat(40), "b".repeat(CANON_MAX - 40));
    assert!(long.len() + 2 > CANON_MAX);
    pending(&mut h, "far.example");
    let s = h.tx();
    h.udp(
        &s,
        &reply(
            s.id,
            0,
            &s.qname,
            &[cname_rr("far.example", 300, &long), a_rr(&long, 300, IP1)],
            &[],
        ),
    );
    assert_eq!(
        h.r.poll_result().unwrap().unwrap().canonical.to_string(),
        long
    );
    pending(&mut h, "far.example");
}

/// RFC 1035 §4.2.2 / RFC 7766: a resolver without its own TCP buffer (`Resolver<C, 0>`, the
/// OS layer gathers the reply) takes a whole framed reply through `handle_tcp_reply`; a
/// prefix above TCP_REPLY_MAX or a reply shorter than its prefix is a broken server.
#[test]
#[cfg(feature = "dns-tcp")]
fn rfc7766_whole_tcp_reply_without_a_resolver_buffer() {
    let mut r: Resolver<4, 0> = Resolver::new(Config::new(7).with_servers(&[NS1]));
    assert_eq!(r.start("big.example", 0), Ok(Lookup::Pending));
    let s = decode_sent(&r.poll_transmit(0).unwrap());
    let trunc = reply_flags(s.id, 0x8380, &s.qname, &[], &[]);
    assert!(r.handle_udp(0, s.server, s.src_port, &trunc));
    let t = decode_sent(&r.poll_transmit(0).unwrap());
    assert!(t.tcp);
    let msg = reply(t.id, 0, &t.qname, &[a_rr(&t.qname, 60, IP1)], &[]);
    let mut framed = (msg.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&msg);
    // Short of its prefix: broken; the single server is then done.
    assert!(r.handle_tcp_reply(0, &framed[..framed.len() - 1]));
    assert_eq!(r.poll_result(), Some(Err(DnsError::Refused)));
    // Whole: answered.
    assert_eq!(r.start("big2.example", 0), Ok(Lookup::Pending));
    let s = decode_sent(&r.poll_transmit(0).unwrap());
    let trunc = reply_flags(s.id, 0x8380, &s.qname, &[], &[]);
    r.handle_udp(0, s.server, s.src_port, &trunc);
    let t = decode_sent(&r.poll_transmit(0).unwrap());
    let msg = reply(t.id, 0, &t.qname, &[a_rr(&t.qname, 60, IP2)], &[]);
    let mut framed = (msg.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&msg);
    assert!(r.handle_tcp_reply(0, &framed));
    assert_eq!(r.poll_result().unwrap().unwrap().addrs.as_slice(), &[IP2]);
    // Too long a prefix: the prefix alone fails the try.
    assert_eq!(r.start("big3.example", 0), Ok(Lookup::Pending));
    let s = decode_sent(&r.poll_transmit(0).unwrap());
    let trunc = reply_flags(s.id, 0x8380, &s.qname, &[], &[]);
    r.handle_udp(0, s.server, s.src_port, &trunc);
    r.poll_transmit(0).unwrap();
    assert!(r.handle_tcp_reply(0, &[0xff, 0xff]));
    assert_eq!(r.poll_result(), Some(Err(DnsError::Refused)));
}
