//! DHCP client state machine against hand-built server messages (RFC 2131, RFC 2132).

mod support;

use std::net::{Ipv4Addr, SocketAddrV4};

use support::dhcp::*;
use w5500_netsvc::dhcp::wire::MessageType;
use w5500_netsvc::dhcp::{
    hostname_from_template, lease_times, Client, Config, Lease, State, INFINITE, MAX_REQUEST_LEN,
    MIN_LEASE_SECS,
};
use w5500_sim::lan::dhcp::{msg, opt};

const BCAST: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::BROADCAST, 67);

#[test]
fn rfc2131_4_4_1_discover_is_broadcast_with_flag_and_options() {
    let mut cfg = Config::new(MAC, 1);
    cfg.hostname = hostname_from_template("WIZnet{}", MAC);
    let mut c = Client::new(cfg);
    assert_eq!(c.state(), State::Stopped);
    assert_eq!(c.poll_at(), None, "stopped: nothing to do");
    c.start(1000);
    assert_eq!(c.state(), State::Init);
    assert!(c.needs_socket());
    let (t, d) = tx(&mut c, 1000).unwrap();
    assert_eq!(c.state(), State::Selecting);
    assert_eq!(t.dst, BCAST);
    assert_eq!(t.message_type, MessageType::Discover);
    assert!(t.len >= 300, "BOOTP minimum length (RFC 1542)");
    assert!(t.len <= MAX_REQUEST_LEN);
    assert_eq!(d.op, 1);
    assert_eq!((d.htype, d.hlen), (1, 6));
    assert!(
        d.broadcast_flag(),
        "RFC 2131 §4.1: chip cannot receive unicast yet"
    );
    assert_eq!(d.ciaddr, Ipv4Addr::UNSPECIFIED);
    assert_eq!(&d.chaddr[..6], &MAC);
    assert_eq!(d.msg_type(), Some(msg::DISCOVER));
    let mut cid = vec![1u8];
    cid.extend_from_slice(&MAC);
    assert_eq!(
        d.option(opt::CLIENT_ID),
        Some(&cid[..]),
        "RFC 2132 §9.14 type 1 + MAC"
    );
    assert_eq!(d.option(57), Some(&576u16.to_be_bytes()[..]));
    let prl = d.option(opt::PARAM_REQUEST).unwrap();
    for code in [1, 3, 6, 15, 51, 58, 59] {
        assert!(prl.contains(&code), "requests option {code}");
    }
    assert_eq!(d.option(opt::HOST_NAME), Some(&b"WIZnetEE0001"[..]));
    assert!(d.option(opt::REQUESTED_IP).is_none());
    assert!(d.option(opt::SERVER_ID).is_none());
    assert_eq!(c.xid(), d.xid);
}

#[test]
#[cfg(feature = "dhcp-probe")]
fn rfc2131_3_1_whole_acquisition_selecting_requesting_probing_bound() {
    let mut c = client();
    c.start(0);
    let (_, d) = tx(&mut c, 0).unwrap();
    // OFFER 2.5 s later.
    assert!(c.handle(2500, from(S1), &reply(msg::OFFER, d.xid, IP1, S1).encode()));
    assert_eq!(c.state(), State::Requesting);
    let (t, r) = tx(&mut c, 2500).unwrap();
    assert_eq!(t.dst, BCAST, "SELECTING REQUEST is broadcast");
    assert_eq!(r.msg_type(), Some(msg::REQUEST));
    assert_eq!(r.xid, d.xid, "same xid as the DISCOVER/OFFER");
    assert_eq!(r.secs, d.secs, "RFC 2131 §4.4.1: secs of the DISCOVER");
    assert!(r.broadcast_flag());
    assert_eq!(r.ciaddr, Ipv4Addr::UNSPECIFIED);
    assert_eq!(r.option_ip(opt::REQUESTED_IP), Some(IP1));
    assert_eq!(r.option_ip(opt::SERVER_ID), Some(S1));
    assert!(c.handle(2600, from(S1), &reply(msg::ACK, r.xid, IP1, S1).encode()));
    assert_eq!(c.state(), State::Probing);
    assert!(!c.needs_socket(), "socket not needed while probing");
    assert!(c.lease().is_none(), "not in use before the probe");
    assert_eq!(events(&mut c), vec![Ev::Probe(IP1)]);
    c.probe_result(false, 3000);
    assert_eq!(c.state(), State::Bound);
    assert!(!c.needs_socket(), "socket can be released in BOUND");
    let ev = events(&mut c);
    let [Ev::Bound(l)] = ev.as_slice() else {
        panic!("{ev:?}")
    };
    assert_eq!(l.address, IP1);
    assert_eq!(l.subnet_mask, Ipv4Addr::new(255, 255, 255, 0));
    assert_eq!(l.prefix_len(), 24);
    assert_eq!(
        l.gateway,
        Some(ROUTER),
        "gateway from option 3, not option 54"
    );
    assert_ne!(l.gateway, l.server_id);
    assert_eq!(l.server_id, Some(S1));
    assert_eq!(
        l.dns_servers.as_slice(),
        &[Ipv4Addr::new(10, 77, 0, 1), Ipv4Addr::new(10, 77, 0, 2)]
    );
    assert_eq!(l.domain.as_deref(), Some("sim.lan"));
    assert_eq!((l.lease_secs, l.t1_secs, l.t2_secs), (3600, 1800, 3150));
    assert_eq!(
        l.acquired_ms, 2500,
        "RFC 2131 §4.4.1: lease starts when REQUEST was sent"
    );
    assert_eq!(c.lease(), Some(l));
    assert_eq!(c.poll_at(), Some(2500 + 1_800_000), "next: T1");
    assert_eq!(c.remembered_address(), Some(IP1));
}

#[test]
fn rfc2132_3_5_no_router_option_means_no_gateway_even_with_server_id() {
    let mut c = client();
    c.start(0);
    let (_, d) = tx(&mut c, 0).unwrap();
    c.handle(0, from(S1), &reply(msg::OFFER, d.xid, IP1, S1).encode());
    let (_, r) = tx(&mut c, 0).unwrap();
    let mut ack = reply(msg::ACK, r.xid, IP1, S1);
    ack.options
        .retain(|(code, _)| *code != opt::ROUTER && *code != opt::SUBNET_MASK);
    assert!(c.handle(0, from(S1), &ack.encode()));
    c.probe_result(false, 0);
    let l = c.lease().unwrap();
    assert_eq!(
        l.gateway, None,
        "w5500-dhcp bug: gateway must not come from option 54"
    );
    assert_eq!(
        l.subnet_mask,
        Ipv4Addr::new(255, 0, 0, 0),
        "classful default for 10/8"
    );
}

#[test]
fn rfc2131_4_1_discover_backoff_4_8_16_32_64_with_jitter() {
    let mut seen_jitter = std::collections::HashSet::new();
    for seed in 0..20u64 {
        let mut c = Client::new(Config::new(MAC, seed));
        c.start(0);
        let (_, first) = tx(&mut c, 0).unwrap();
        let mut now = 0;
        for (i, base) in [4u64, 8, 16, 32, 64, 64, 64].iter().enumerate() {
            let at = c.poll_at().unwrap();
            let wait = at - now;
            assert!(
                (base * 1000 - 1000..=base * 1000 + 1000).contains(&wait),
                "retransmission {i}: waited {wait} ms, expected {base} s ± 1 s"
            );
            seen_jitter.insert(wait as i64 - *base as i64 * 1000);
            assert!(tx(&mut c, at - 1).is_none(), "nothing before the deadline");
            now = at;
            let (_, d) = tx(&mut c, now).unwrap();
            assert_eq!(d.msg_type(), Some(msg::DISCOVER));
            assert_eq!(d.xid, first.xid, "retransmissions keep the xid");
            assert_eq!(u64::from(d.secs), now / 1000, "secs since the start");
            assert_eq!(c.state(), State::Selecting);
        }
    }
    assert!(seen_jitter.len() > 10, "jitter varies: {seen_jitter:?}");
}

#[test]
fn rfc2131_4_1_random_xid_per_exchange_and_per_seed() {
    let xids: std::collections::HashSet<u32> = (0..50u64)
        .map(|s| {
            let mut c = Client::new(Config::new(MAC, s));
            c.start(0);
            tx(&mut c, 0).unwrap().1.xid
        })
        .collect();
    assert_eq!(xids.len(), 50);
    // A NAK starts a new exchange with a new xid.
    let mut c = client();
    c.start(0);
    let (_, d) = tx(&mut c, 0).unwrap();
    c.handle(0, from(S1), &reply(msg::OFFER, d.xid, IP1, S1).encode());
    let (_, r) = tx(&mut c, 0).unwrap();
    c.handle(0, from(S1), &nak(r.xid, S1).encode());
    let (_, d2) = tx(&mut c, 0).unwrap();
    assert_ne!(d2.xid, d.xid);
}

#[test]
fn rfc2131_4_4_1_requesting_retransmits_then_gives_up_to_init() {
    let mut c = client();
    c.start(0);
    let (_, d) = tx(&mut c, 0).unwrap();
    c.handle(100, from(S1), &reply(msg::OFFER, d.xid, IP1, S1).encode());
    let mut now = 100;
    tx(&mut c, now).unwrap();
    for base in [4u64, 8, 16] {
        let at = c.poll_at().unwrap();
        assert!((base * 1000 - 1000..=base * 1000 + 1000).contains(&(at - now)));
        now = at;
        let (_, r) = tx(&mut c, now).unwrap();
        assert_eq!(r.msg_type(), Some(msg::REQUEST));
        assert_eq!(r.xid, d.xid);
    }
    let at = c.poll_at().unwrap();
    assert!((31_000..=33_000).contains(&(at - now)));
    let (_, again) = tx(&mut c, at).unwrap();
    assert_eq!(again.msg_type(), Some(msg::DISCOVER), "back to INIT");
    assert_ne!(again.xid, d.xid);
    assert_eq!(c.state(), State::Selecting);
}

#[test]
fn rfc2131_3_1_nak_in_requesting_restarts_and_repeated_naks_back_off() {
    let mut c = client();
    c.start(0);
    let (_, d) = tx(&mut c, 0).unwrap();
    c.handle(0, from(S1), &reply(msg::OFFER, d.xid, IP1, S1).encode());
    let (_, r) = tx(&mut c, 0).unwrap();
    // A NAK from a server we did not select is ignored.
    assert!(!c.handle(0, from(S2), &nak(r.xid, S2).encode()));
    assert_eq!(c.state(), State::Requesting);
    assert!(c.handle(10, from(S1), &nak(r.xid, S1).encode()));
    assert_eq!(c.state(), State::Init);
    assert!(events(&mut c).is_empty(), "no Lost: nothing was in use");
    let (_, d2) = tx(&mut c, 10).unwrap();
    assert_eq!(
        d2.msg_type(),
        Some(msg::DISCOVER),
        "first NAK: restart at once"
    );
    // Second NAK in a row: wait 4 s ± 1 s before the DISCOVER.
    c.handle(20, from(S1), &reply(msg::OFFER, d2.xid, IP1, S1).encode());
    let (_, r2) = tx(&mut c, 20).unwrap();
    c.handle(30, from(S1), &nak(r2.xid, S1).encode());
    assert_eq!(c.state(), State::Init);
    assert!(tx(&mut c, 30).is_none());
    assert!(!c.needs_socket(), "waiting in INIT");
    let at = c.poll_at().unwrap();
    assert!((3030..=5030).contains(&at), "{at}");
    assert_eq!(tx(&mut c, at).unwrap().1.msg_type(), Some(msg::DISCOVER));
}

#[test]
fn rfc2131_4_4_5_renew_at_t1_unicast_then_renewed() {
    let mut c = client();
    let l = bind_at(&mut c, 0);
    let t1 = l.renew_at_ms().unwrap();
    assert!(tx(&mut c, t1 - 1).is_none());
    assert_eq!(c.state(), State::Bound);
    let (t, r) = tx(&mut c, t1).unwrap();
    assert_eq!(c.state(), State::Renewing);
    assert!(c.needs_socket());
    assert_eq!(
        t.dst,
        SocketAddrV4::new(S1, 67),
        "RENEWING: unicast to the server"
    );
    assert_eq!(r.ciaddr, IP1, "ciaddr set");
    assert!(!r.broadcast_flag());
    assert!(
        r.option(opt::REQUESTED_IP).is_none(),
        "no option 50 when renewing"
    );
    assert!(
        r.option(opt::SERVER_ID).is_none(),
        "no option 54 when renewing"
    );
    let mut ack = reply(msg::ACK, r.xid, IP1, S1);
    ack.options.push((opt::T1, 1000u32.to_be_bytes().to_vec()));
    assert!(c.handle(t1 + 5, from(S1), &ack.encode()));
    assert_eq!(c.state(), State::Bound);
    let ev = events(&mut c);
    let [Ev::Renewed(n)] = ev.as_slice() else {
        panic!("{ev:?}")
    };
    assert_eq!(n.acquired_ms, t1);
    assert_eq!(n.t1_secs, 1000);
    assert_eq!(c.poll_at(), Some(t1 + 1_000_000));
}

#[test]
fn rfc2131_4_4_5_renewing_retransmits_at_half_time_to_t2_min_60s() {
    let mut c = client();
    let l = bind_at(&mut c, 0);
    let (t1, t2) = (l.renew_at_ms().unwrap(), l.rebind_at_ms().unwrap());
    let (_, first) = tx(&mut c, t1).unwrap();
    let mut now = t1;
    let mut sends = 1;
    while c.state() == State::Renewing {
        let at = c.poll_at().unwrap();
        let expect = (now + ((t2 - now) / 2).max(60_000)).min(t2);
        assert_eq!(at, expect, "RFC 2131 §4.4.5 retransmission time");
        now = at;
        let (t, r) = tx(&mut c, now).unwrap();
        if now < t2 {
            assert_eq!(t.dst, SocketAddrV4::new(S1, 67));
            assert_eq!(r.xid, first.xid);
            sends += 1;
        } else {
            assert_eq!(t.dst, BCAST, "T2: rebinding is broadcast");
            assert_ne!(r.xid, first.xid, "new exchange");
            assert_eq!(r.ciaddr, IP1);
            assert!(r.option(opt::SERVER_ID).is_none());
        }
    }
    assert_eq!(c.state(), State::Rebinding);
    assert!(sends >= 4, "several renewal attempts ({sends})");
    // Rebinding retransmits at half the remaining lease, min 60 s, until expiry.
    let exp = l.expires_at_ms().unwrap();
    let mut last = now;
    let mut last_msg = None;
    while c.state() == State::Rebinding {
        let at = c.poll_at().unwrap();
        assert_eq!(at, (last + ((exp - last) / 2).max(60_000)).min(exp));
        last = at;
        last_msg = tx(&mut c, at).map(|(_, m)| m);
    }
    assert_eq!(last, exp);
    assert_eq!(events(&mut c), vec![Ev::Lost], "expiry removes the address");
    assert!(c.lease().is_none());
    assert_eq!(c.state(), State::Selecting, "restarted from INIT");
    assert_eq!(last_msg.unwrap().msg_type(), Some(msg::DISCOVER));
}

#[test]
fn rfc2131_4_4_5_expiry_discover_asks_for_the_old_address() {
    let mut c = client();
    let l = bind_at(&mut c, 0);
    let exp = l.expires_at_ms().unwrap();
    // Nothing answers; jump straight past expiry.
    c.poll(exp);
    assert_eq!(events(&mut c), vec![Ev::Lost]);
    let (t, d) = tx(&mut c, exp).unwrap();
    assert_eq!(t.dst, BCAST);
    assert_eq!(d.msg_type(), Some(msg::DISCOVER));
    assert_eq!(
        d.option_ip(opt::REQUESTED_IP),
        Some(IP1),
        "RFC 2131 §4.4.1 option 50 hint"
    );
}

#[test]
fn rfc2131_4_4_5_rebind_ack_from_a_second_server_is_rebound() {
    let mut c = client();
    let l = bind_at(&mut c, 0);
    let t2 = l.rebind_at_ms().unwrap();
    c.poll(t2);
    assert_eq!(c.state(), State::Rebinding);
    let (t, r) = tx(&mut c, t2).unwrap();
    assert_eq!(t.dst, BCAST);
    let mut ack = reply(msg::ACK, r.xid, IP1, S2);
    ack.options.retain(|(code, _)| *code != opt::ROUTER);
    ack.options.push((opt::ROUTER, S1.octets().to_vec()));
    assert!(c.handle(t2 + 1, from(S2), &ack.encode()));
    let ev = events(&mut c);
    let [Ev::Rebound(n)] = ev.as_slice() else {
        panic!("{ev:?}")
    };
    assert_eq!(n.server_id, Some(S2), "new server id");
    assert_eq!(n.gateway, Some(S1), "gateway from option 3");
    // The next renewal goes to the new server.
    let (t, _) = tx(&mut c, n.renew_at_ms().unwrap()).unwrap();
    assert_eq!(t.dst, SocketAddrV4::new(S2, 67));
}

#[test]
fn rfc2131_4_4_5_renewing_ack_from_another_server_is_ignored() {
    let mut c = client();
    let l = bind_at(&mut c, 0);
    let (_, r) = tx(&mut c, l.renew_at_ms().unwrap()).unwrap();
    assert!(!c.handle(
        l.renew_at_ms().unwrap() + 1,
        from(S2),
        &reply(msg::ACK, r.xid, IP1, S2).encode()
    ));
    assert_eq!(c.state(), State::Renewing);
    // An ACK for a different address is ignored too.
    assert!(!c.handle(
        l.renew_at_ms().unwrap() + 1,
        from(S1),
        &reply(msg::ACK, r.xid, IP2, S1).encode()
    ));
    assert!(events(&mut c).is_empty());
}

#[test]
fn rfc2131_4_4_5_nak_in_renewing_and_rebinding_loses_the_address() {
    for rebinding in [false, true] {
        let mut c = client();
        let l = bind_at(&mut c, 0);
        let at = if rebinding {
            l.rebind_at_ms().unwrap()
        } else {
            l.renew_at_ms().unwrap()
        };
        let (_, r) = tx(&mut c, at).unwrap();
        let server = if rebinding { S2 } else { S1 };
        assert!(c.handle(at + 1, from(server), &nak(r.xid, server).encode()));
        assert_eq!(events(&mut c), vec![Ev::Lost]);
        assert!(c.lease().is_none());
        let (_, d) = tx(&mut c, at + 1).unwrap();
        assert_eq!(d.msg_type(), Some(msg::DISCOVER));
        assert!(
            d.option(opt::REQUESTED_IP).is_none(),
            "NAKed address forgotten"
        );
    }
}

#[test]
fn rfc2131_3_2_init_reboot_request_then_ack() {
    let mut cfg = Config::new(MAC, 3);
    cfg.requested_ip = Some(IP1);
    let mut c = Client::new(cfg);
    c.start(0);
    assert_eq!(c.state(), State::InitReboot);
    let (t, r) = tx(&mut c, 0).unwrap();
    assert_eq!(c.state(), State::Rebooting);
    assert_eq!(t.dst, BCAST);
    assert_eq!(r.msg_type(), Some(msg::REQUEST));
    assert_eq!(r.option_ip(opt::REQUESTED_IP), Some(IP1));
    assert!(
        r.option(opt::SERVER_ID).is_none(),
        "INIT-REBOOT: no server id"
    );
    assert_eq!(r.ciaddr, Ipv4Addr::UNSPECIFIED);
    assert!(r.broadcast_flag());
    // Any server may answer; the ACK must be for the requested address.
    assert!(!c.handle(5, from(S2), &reply(msg::ACK, r.xid, IP2, S2).encode()));
    assert!(c.handle(5, from(S2), &reply(msg::ACK, r.xid, IP1, S2).encode()));
    let l = bound_after_ack(&mut c, IP1, 10);
    assert!(l.server_id == Some(S2));
}

#[test]
fn rfc2131_3_2_init_reboot_nak_restarts_with_discover() {
    let mut cfg = Config::new(MAC, 3);
    cfg.requested_ip = Some(IP2);
    let mut c = Client::new(cfg);
    c.start(0);
    let (_, r) = tx(&mut c, 0).unwrap();
    assert!(c.handle(5, from(S1), &nak(r.xid, S1).encode()));
    assert!(events(&mut c).is_empty(), "no lease was in use: no Lost");
    assert_eq!(c.remembered_address(), None);
    let (_, d) = tx(&mut c, 5).unwrap();
    assert_eq!(d.msg_type(), Some(msg::DISCOVER));
    assert!(d.option(opt::REQUESTED_IP).is_none());
}

#[test]
fn rfc2131_3_2_rebooting_without_answer_keeps_unexpired_lease_or_discovers() {
    // Link flap with a lease: INIT-REBOOT, no answer, keep the lease (RFC 2131 §3.2).
    let mut c = client();
    let l = bind_at(&mut c, 0);
    c.link_changed(false, 1000);
    assert_eq!(c.state(), State::LinkDown);
    assert!(tx(&mut c, 1000).is_none());
    c.link_changed(true, 2000);
    assert_eq!(c.state(), State::InitReboot);
    let (_, r) = tx(&mut c, 2000).unwrap();
    assert_eq!(r.option_ip(opt::REQUESTED_IP), Some(IP1));
    let mut now = 2000;
    for _ in 0..10 {
        if c.state() != State::Rebooting {
            break;
        }
        now = c.poll_at().unwrap();
        let _ = tx(&mut c, now);
    }
    assert_eq!(c.state(), State::Bound);
    assert_eq!(c.lease(), Some(&l), "old lease kept");
    assert!(events(&mut c).is_empty(), "no Lost, no Bound");
    assert!(now < 70_000);
    // Without a lease (remembered address only): back to INIT.
    let mut cfg = Config::new(MAC, 3);
    cfg.requested_ip = Some(IP1);
    let mut c = Client::new(cfg);
    c.start(0);
    let mut now = 0;
    let mut kinds = vec![];
    for _ in 0..10 {
        if let Some((_, m)) = tx(&mut c, now) {
            kinds.push(m.msg_type().unwrap());
        }
        if kinds.last() == Some(&msg::DISCOVER) {
            break;
        }
        now = c.poll_at().unwrap();
    }
    assert_eq!(kinds, vec![3, 3, 3, 3, 1], "four REQUESTs then DISCOVER");
}

#[test]
fn rfc2131_3_2_link_up_reboot_ack_renews_and_nak_loses() {
    let mut c = client();
    let _ = bind_at(&mut c, 0);
    c.link_changed(false, 100);
    c.link_changed(true, 200);
    let (_, r) = tx(&mut c, 200).unwrap();
    assert!(c.handle(201, from(S1), &reply(msg::ACK, r.xid, IP1, S1).encode()));
    let ev = events(&mut c);
    assert!(
        matches!(ev.as_slice(), [Ev::Renewed(l)] if l.acquired_ms == 200),
        "{ev:?}"
    );
    assert_eq!(c.state(), State::Bound);
    // Moved to another network: NAK.
    c.link_changed(false, 300);
    c.link_changed(true, 400);
    let (_, r) = tx(&mut c, 400).unwrap();
    assert!(c.handle(401, from(S2), &nak(r.xid, S2).encode()));
    assert_eq!(events(&mut c), vec![Ev::Lost]);
    assert_eq!(tx(&mut c, 401).unwrap().1.msg_type(), Some(msg::DISCOVER));
}

#[test]
fn rfc2131_4_4_5_lease_expires_while_link_down() {
    let mut c = client();
    let l = bind_at(&mut c, 0);
    c.link_changed(false, 10);
    assert_eq!(
        c.poll_at(),
        l.expires_at_ms(),
        "only expiry matters while down"
    );
    c.poll(l.expires_at_ms().unwrap());
    assert_eq!(events(&mut c), vec![Ev::Lost]);
    assert_eq!(c.state(), State::LinkDown);
    assert!(tx(&mut c, l.expires_at_ms().unwrap()).is_none());
    c.link_changed(true, l.expires_at_ms().unwrap() + 5);
    // Lease gone, address remembered: confirm it with INIT-REBOOT.
    assert_eq!(c.state(), State::InitReboot);
}

#[test]
fn rfc2131_4_3_2_two_offers_first_selected_other_ack_ignored() {
    let mut c = client();
    c.start(0);
    let (_, d) = tx(&mut c, 0).unwrap();
    assert!(c.handle(1, from(S2), &reply(msg::OFFER, d.xid, IP2, S2).encode()));
    assert!(!c.handle(2, from(S1), &reply(msg::OFFER, d.xid, IP1, S1).encode()));
    let (_, r) = tx(&mut c, 2).unwrap();
    assert_eq!(r.option_ip(opt::SERVER_ID), Some(S2));
    assert_eq!(r.option_ip(opt::REQUESTED_IP), Some(IP2));
    assert!(!c.handle(3, from(S1), &reply(msg::ACK, r.xid, IP1, S1).encode()));
    assert!(!c.handle(3, from(S1), &nak(r.xid, S1).encode()));
    assert_eq!(c.state(), State::Requesting);
    assert!(c.handle(4, from(S2), &reply(msg::ACK, r.xid, IP2, S2).encode()));
    // The ACK of the selected server is taken (then probed, when the probe is compiled in).
    let taken = if w5500_netsvc::dhcp::PROBE {
        State::Probing
    } else {
        State::Bound
    };
    assert_eq!(c.state(), taken);
}

#[test]
fn rfc2131_4_1_replies_failing_validation_are_ignored() {
    let mut c = client();
    c.start(0);
    let (_, d) = tx(&mut c, 0).unwrap();
    let good = reply(msg::OFFER, d.xid, IP1, S1);
    let mut cases: Vec<(&str, Vec<u8>, SocketAddrV4)> = vec![];
    let mut m = good.clone();
    m.xid ^= 1;
    cases.push(("wrong xid", m.encode(), from(S1)));
    let mut m = good.clone();
    m.chaddr[5] ^= 1;
    cases.push(("wrong chaddr", m.encode(), from(S1)));
    let mut b = good.encode();
    b[236] = 0;
    cases.push(("bad magic cookie", b, from(S1)));
    let mut m = good.clone();
    m.options.retain(|(code, _)| *code != opt::MSG_TYPE);
    cases.push(("missing message type", m.encode(), from(S1)));
    let mut m = good.clone();
    m.options.retain(|(code, _)| *code != opt::SERVER_ID);
    cases.push(("missing server id", m.encode(), from(S1)));
    let mut m = good.clone();
    m.op = 1;
    cases.push(("BOOTREQUEST op", m.encode(), from(S1)));
    cases.push((
        "wrong source port",
        good.encode(),
        SocketAddrV4::new(S1, 68),
    ));
    let mut m = good.clone();
    m.options[0].1 = vec![msg::ACK];
    cases.push(("ACK while selecting", m.encode(), from(S1)));
    let m = reply(msg::OFFER, d.xid, Ipv4Addr::UNSPECIFIED, S1);
    cases.push(("offer of 0.0.0.0", m.encode(), from(S1)));
    let m = reply(msg::OFFER, d.xid, Ipv4Addr::new(224, 0, 0, 1), S1);
    cases.push(("offer of a multicast address", m.encode(), from(S1)));
    cases.push(("truncated", good.encode()[..200].to_vec(), from(S1)));
    cases.push(("empty", vec![], from(S1)));
    for (what, bytes, src) in cases {
        assert!(!c.handle(1, src, &bytes), "{what} accepted");
        assert_eq!(c.state(), State::Selecting, "{what}");
    }
    assert!(
        c.handle(1, from(S1), &good.encode()),
        "the valid one passes"
    );
    // In REQUESTING, the wrong server id is ignored.
    let (_, r) = tx(&mut c, 1).unwrap();
    assert!(!c.handle(2, from(S2), &reply(msg::ACK, r.xid, IP1, S2).encode()));
    // Replies in states that expect none are ignored.
    let mut b = client();
    let l = bind_at(&mut b, 0);
    assert!(!b.handle(
        5,
        from(S1),
        &reply(msg::ACK, b.xid(), l.address, S1).encode()
    ));
    assert!(!b.handle(5, from(S1), &nak(b.xid(), S1).encode()));
    assert_eq!(b.state(), State::Bound);
    assert!(events(&mut b).is_empty());
}

#[test]
#[cfg(feature = "dhcp-probe")]
fn rfc2131_3_1_5_decline_when_address_in_use_then_wait_10s() {
    let mut c = client();
    c.start(0);
    let (_, d) = tx(&mut c, 0).unwrap();
    c.handle(0, from(S1), &reply(msg::OFFER, d.xid, IP1, S1).encode());
    let (_, r) = tx(&mut c, 0).unwrap();
    c.handle(50, from(S1), &reply(msg::ACK, r.xid, IP1, S1).encode());
    assert_eq!(events(&mut c), vec![Ev::Probe(IP1)]);
    c.probe_result(true, 500);
    assert_eq!(events(&mut c), vec![Ev::Declined(IP1)]);
    assert!(c.lease().is_none());
    assert_eq!(c.state(), State::Init);
    let (t, dec) = tx(&mut c, 500).unwrap();
    assert_eq!(t.dst, BCAST, "RFC 2131 §4.4.4: DECLINE is broadcast");
    assert_eq!(dec.msg_type(), Some(msg::DECLINE));
    assert_eq!(dec.option_ip(opt::REQUESTED_IP), Some(IP1));
    assert_eq!(dec.option_ip(opt::SERVER_ID), Some(S1));
    assert_eq!(dec.ciaddr, Ipv4Addr::UNSPECIFIED);
    assert_ne!(dec.xid, r.xid);
    assert!(dec.option(opt::HOST_NAME).is_none() && dec.option(opt::PARAM_REQUEST).is_none());
    assert!(!c.needs_socket(), "socket free during the wait");
    let at = c.poll_at().unwrap();
    assert!((10_500..=11_500).contains(&at), "waits >= 10 s: {at}");
    assert!(tx(&mut c, at - 1).is_none());
    let (_, d2) = tx(&mut c, at).unwrap();
    assert_eq!(d2.msg_type(), Some(msg::DISCOVER));
    assert!(
        d2.option(opt::REQUESTED_IP).is_none(),
        "declined address not asked for"
    );
}

#[test]
#[cfg(feature = "dhcp-probe")]
fn rfc2131_4_4_1_probe_timeout_counts_as_free_and_probing_can_be_disabled() {
    let mut c = client();
    c.start(0);
    let (_, d) = tx(&mut c, 0).unwrap();
    c.handle(0, from(S1), &reply(msg::OFFER, d.xid, IP1, S1).encode());
    let (_, r) = tx(&mut c, 0).unwrap();
    c.handle(0, from(S1), &reply(msg::ACK, r.xid, IP1, S1).encode());
    let at = c.poll_at().unwrap();
    assert_eq!(at, w5500_netsvc::dhcp::PROBE_TIMEOUT_MS);
    c.poll(at);
    assert_eq!(c.state(), State::Bound);
    assert!(matches!(
        events(&mut c).as_slice(),
        [Ev::Probe(_), Ev::Bound(_)]
    ));
    let mut cfg = Config::new(MAC, 5);
    cfg.probe = false;
    let mut c = Client::new(cfg);
    c.start(0);
    let (_, d) = tx(&mut c, 0).unwrap();
    c.handle(0, from(S1), &reply(msg::OFFER, d.xid, IP1, S1).encode());
    let (_, r) = tx(&mut c, 0).unwrap();
    c.handle(0, from(S1), &reply(msg::ACK, r.xid, IP1, S1).encode());
    assert!(matches!(events(&mut c).as_slice(), [Ev::Bound(_)]));
}

/// Without the `dhcp-probe` feature (RFC 2131 §4.4.1's check left out, as in Zephyr's own
/// client): the ACKed address is bound at once, even with `Config::probe` set, and a late
/// probe result changes nothing (no DECLINE).
#[test]
#[cfg(not(feature = "dhcp-probe"))]
fn rfc2131_4_4_1_without_the_probe_feature_an_ack_binds_at_once() {
    const { assert!(!w5500_netsvc::dhcp::PROBE) };
    let mut c = client();
    assert!(c.config().probe, "the setting is on, the code is not there");
    c.start(0);
    let (_, d) = tx(&mut c, 0).unwrap();
    c.handle(0, from(S1), &reply(msg::OFFER, d.xid, IP1, S1).encode());
    let (_, r) = tx(&mut c, 0).unwrap();
    c.handle(0, from(S1), &reply(msg::ACK, r.xid, IP1, S1).encode());
    assert_eq!(c.state(), State::Bound);
    assert!(matches!(events(&mut c).as_slice(), [Ev::Bound(l)] if l.address == IP1));
    c.probe_result(true, 10);
    assert_eq!(c.state(), State::Bound);
    assert!(events(&mut c).is_empty());
    assert!(tx(&mut c, 10).is_none(), "no DECLINE");
    assert_eq!(c.lease().map(|l| l.address), Some(IP1));
}

#[test]
fn rfc2131_4_4_6_release_is_unicast_and_stops() {
    let mut c = client();
    let _ = bind_at(&mut c, 0);
    c.release(5000);
    assert_eq!(c.state(), State::Stopped);
    assert!(c.lease().is_none());
    assert!(c.needs_socket(), "the RELEASE still has to go out");
    let (t, m) = tx(&mut c, 5000).unwrap();
    assert_eq!(t.dst, SocketAddrV4::new(S1, 67));
    assert_eq!(m.msg_type(), Some(msg::RELEASE));
    assert_eq!(m.ciaddr, IP1);
    assert_eq!(m.option_ip(opt::SERVER_ID), Some(S1));
    assert!(
        m.option(opt::REQUESTED_IP).is_none(),
        "table 5: option 50 MUST NOT"
    );
    assert!(!m.broadcast_flag());
    assert_eq!(events(&mut c), vec![Ev::Released]);
    assert_eq!(c.poll_at(), None);
    assert!(tx(&mut c, 10_000_000).is_none());
    assert!(!c.needs_socket());
    assert_eq!(c.remembered_address(), None);
    // Released while selecting: nothing to send.
    let mut c = client();
    c.start(0);
    tx(&mut c, 0).unwrap();
    c.release(1);
    assert!(tx(&mut c, 1).is_none());
    assert!(events(&mut c).is_empty());
    assert_eq!(c.state(), State::Stopped);
}

#[test]
fn rfc2131_4_4_5_lease_time_defaults() {
    assert_eq!(
        lease_times(Some(3600), None, None),
        (3600, 1800, 3150),
        "0.5 and 0.875"
    );
    assert_eq!(
        lease_times(Some(3600), Some(100), Some(200)),
        (3600, 100, 200)
    );
    assert_eq!(lease_times(Some(1000), Some(600), None), (1000, 600, 875));
}

/// Found by the `dhcp_dns_session` fuzz target: an ACK with T2 = 1 s (and any T1) gave
/// T1 = 0 (T2 / 2 rounded down), breaking the documented 0 < T1 < T2 < lease: the client
/// would start renewing the moment it bound. RFC 2131 §4.4.5: T1 < T2 < lease.
#[test]
fn lease_times_t2_of_one_second_gave_t1_zero() {
    for t1 in [None, Some(0), Some(1), Some(5)] {
        let (l, t1, t2) = lease_times(Some(120), t1, Some(1));
        assert!(0 < t1 && t1 < t2 && t2 < l, "{t1} {t2} {l}");
    }
    // T2 = 2 s is still honoured, with T1 = 1 s.
    assert_eq!(lease_times(Some(120), None, Some(2)), (120, 1, 2));
}

#[test]
fn rfc2131_4_4_5_lease_time_clamps() {
    // T1 >= T2: T1 falls back; the default 1800 is past T2 = 200, so T1 = T2 / 2.
    assert_eq!(
        lease_times(Some(3600), Some(300), Some(200)),
        (3600, 100, 200)
    );
    // T2 >= lease: default T2.
    assert_eq!(
        lease_times(Some(3600), Some(100), Some(3600)),
        (3600, 100, 3150)
    );
    // Zero T1/T2: defaults.
    assert_eq!(
        lease_times(Some(3600), Some(0), Some(0)),
        (3600, 1800, 3150)
    );
    // Zero or tiny lease: clamped.
    let (l, t1, t2) = lease_times(Some(0), None, None);
    assert_eq!(l, MIN_LEASE_SECS);
    assert!(0 < t1 && t1 < t2 && t2 < l);
    // No lease option: default.
    assert_eq!(lease_times(None, None, None).0, 3600);
    // Infinite.
    assert_eq!(
        lease_times(Some(INFINITE), Some(10), Some(20)),
        (INFINITE, INFINITE, INFINITE)
    );
    // Huge finite lease: no overflow, order kept.
    let (l, t1, t2) = lease_times(Some(u32::MAX - 1), None, None);
    assert!(t1 < t2 && t2 < l);
}

#[test]
fn rfc2131_3_3_infinite_lease_never_renews() {
    let mut c = client();
    c.start(0);
    let (_, d) = tx(&mut c, 0).unwrap();
    c.handle(0, from(S1), &reply(msg::OFFER, d.xid, IP1, S1).encode());
    let (_, r) = tx(&mut c, 0).unwrap();
    let mut ack = reply(msg::ACK, r.xid, IP1, S1);
    for o in ack.options.iter_mut() {
        if o.0 == opt::LEASE_TIME {
            o.1 = INFINITE.to_be_bytes().to_vec();
        }
    }
    c.handle(0, from(S1), &ack.encode());
    c.probe_result(false, 0);
    assert!(c.lease().unwrap().is_infinite());
    assert_eq!(c.poll_at(), None);
    assert!(tx(&mut c, u64::MAX / 2).is_none());
    assert_eq!(c.state(), State::Bound);
}

#[test]
fn rfc2131_zero_lease_is_clamped_and_does_not_storm() {
    let mut c = client();
    c.start(0);
    let (_, d) = tx(&mut c, 0).unwrap();
    c.handle(0, from(S1), &reply(msg::OFFER, d.xid, IP1, S1).encode());
    let (_, r) = tx(&mut c, 0).unwrap();
    let mut ack = reply(msg::ACK, r.xid, IP1, S1);
    for o in ack.options.iter_mut() {
        if o.0 == opt::LEASE_TIME {
            o.1 = 0u32.to_be_bytes().to_vec();
        }
    }
    c.handle(0, from(S1), &ack.encode());
    c.probe_result(false, 0);
    // Over ten minutes with no server answering: a bounded number of messages.
    let mut sent = 0;
    let mut now = 0;
    while now < 600_000 {
        now = c.poll_at().unwrap();
        while tx(&mut c, now).is_some() {
            sent += 1;
        }
    }
    assert!(sent < 40, "{sent} messages in 10 min");
}

#[test]
fn hostname_template_like_adafruit() {
    let mac = [0xde, 0xad, 0xbe, 0x12, 0x34, 0x56];
    assert_eq!(
        hostname_from_template("WIZnet{}", mac).unwrap().as_str(),
        "WIZnet123456"
    );
    assert_eq!(
        hostname_from_template("dev{}.local", mac).unwrap().as_str(),
        "dev123456"
    );
    assert_eq!(
        hostname_from_template("my box", mac).unwrap().as_str(),
        "my-box"
    );
    assert_eq!(
        hostname_from_template("plain", mac).unwrap().as_str(),
        "plain"
    );
    // RFC 1123 §2.1: one `-` per character that is not a letter, digit or `-`, multi-byte
    // ones included.
    assert_eq!(
        hostname_from_template("café-ü{}", mac).unwrap().as_str(),
        "caf---123456"
    );
    assert!(hostname_from_template("", mac).is_none());
    assert!(hostname_from_template(".x", mac).is_none());
    let long = "a".repeat(100);
    assert_eq!(hostname_from_template(&long, mac).unwrap().len(), 63);
}

#[test]
fn static_configuration_is_an_infinite_lease() {
    let l = Lease::manual(
        Ipv4Addr::new(10, 77, 0, 50),
        Ipv4Addr::new(255, 255, 255, 0),
        Some(S1),
        &[S1, Ipv4Addr::new(8, 8, 8, 8)],
    );
    assert!(l.is_infinite());
    assert_eq!(l.server_id, None);
    assert_eq!(l.prefix_len(), 24);
    assert_eq!(l.broadcast(), Ipv4Addr::new(10, 77, 0, 255));
    assert_eq!(l.renew_at_ms(), None);
    assert_eq!(l.dns_servers.len(), 2);
}

#[test]
fn rfc2132_9_14_custom_client_id_and_max_message_size() {
    let mut cfg = Config::new(MAC, 9);
    cfg.client_id = Some(w5500_netsvc::dhcp::ClientId::from_slice(b"\x00my-device").unwrap());
    cfg.max_message_size = 9000;
    let mut c = Client::new(cfg);
    c.start(0);
    let (_, d) = tx(&mut c, 0).unwrap();
    assert_eq!(d.option(opt::CLIENT_ID), Some(&b"\x00my-device"[..]));
    assert_eq!(
        d.option(57),
        Some(&1500u16.to_be_bytes()[..]),
        "clamped to the MTU"
    );
}

#[test]
fn short_transmit_buffer_counts_as_lost_and_is_retried() {
    let mut c = client();
    c.start(0);
    let mut small = [0u8; 100];
    assert!(c.poll_transmit(0, &mut small).is_none());
    assert_eq!(c.state(), State::Selecting);
    let at = c.poll_at().unwrap();
    assert!((3000..=5000).contains(&at));
    assert!(tx(&mut c, at).is_some());
}

#[test]
fn fuzz_entry_point_survives_garbage() {
    let mut x: u64 = 0x1234_5678;
    let base = reply(msg::OFFER, 1, IP1, S1).encode();
    for i in 0..3000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut b = base.clone();
        let n = (x as usize) % (b.len() + 1);
        b.truncate(n.max(240));
        for k in 0..8 {
            let pos = ((x >> (k * 8)) as usize) % b.len();
            b[pos] = (x >> k) as u8;
        }
        if i % 3 == 0 {
            b.truncate((x as usize >> 3) % b.len());
        }
        w5500_netsvc::dhcp::fuzz_parse(&b);
    }
}

#[test]
fn client_and_events_are_send_for_the_os_layer() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<Client>();
    assert_send::<w5500_netsvc::dhcp::Event>();
    assert_send::<Lease>();
    // No allocation: everything lives in the struct; keep it small for MCUs.
    let size = std::mem::size_of::<Client>();
    eprintln!("size_of::<Client>() = {size}");
    assert!(size < 2048, "{size} bytes");
}
