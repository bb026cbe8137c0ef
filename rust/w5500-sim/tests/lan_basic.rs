//! The LAN's link layer, ARP, ICMP, UDP, broadcast, multicast, timing and faults, driven
//! through the `Network` trait as the chip would.

mod support;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use support::lan::*;
use w5500_sim::lan::{standard as s, Lan, UdpRecorder};
use w5500_sim::net::{ArpOp, Body, Icmp, Igmp, IpPayload, MacAddr, Network, UdpDatagram};
use w5500_sim::time::Instant;

#[test]
fn rfc826_host_answers_arp_for_its_address_after_latency() {
    let mut chip = FakeChip::standard();
    chip.arp_request(s::HTTP);
    chip.run_for(Duration::from_millis(1));
    let inbox = chip.take_inbox();
    assert_eq!(inbox.len(), 1, "{inbox:?}");
    let (at, f) = &inbox[0];
    let Body::Arp(a) = &f.body else {
        panic!("{f:?}")
    };
    assert_eq!(a.op, ArpOp::Reply);
    assert_eq!(a.sender_ip, s::HTTP);
    assert_eq!(a.sender_mac, MacAddr([0x02, 0x00, 10, 77, 0, 10]));
    assert_eq!(f.dst, CHIP_MAC);
    // Two hops of 20 µs latency plus two 60-byte frames at 100 Mbit/s (6.72 µs each).
    assert!(at.as_micros() >= 53, "{at}");
    assert!(at.as_micros() <= 60, "{at}");
}

#[test]
fn rfc826_no_host_no_arp_answer() {
    let mut chip = FakeChip::standard();
    chip.arp_request(s::NOBODY);
    chip.arp_request(s::CHIP_STATIC);
    chip.run_for(Duration::from_secs(3));
    assert!(chip.take_inbox().is_empty());
}

#[test]
fn rfc792_host_answers_echo_request() {
    let mut chip = FakeChip::standard();
    chip.send_ip(
        s::ECHO,
        IpPayload::Icmp(Icmp::EchoRequest {
            ident: 7,
            seq: 3,
            data: b"ping".to_vec(),
        }),
    );
    chip.run_for(Duration::from_millis(5));
    // The host first resolves the chip by ARP (answered by the fake chip), then replies.
    let replies: Vec<_> = chip
        .inbox
        .iter()
        .filter_map(|(_, f)| match &f.body {
            Body::Ipv4(p) => match &p.payload {
                IpPayload::Icmp(Icmp::EchoReply { ident, seq, data }) => {
                    Some((p.src, *ident, *seq, data.clone()))
                }
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(replies, vec![(s::ECHO, 7, 3, b"ping".to_vec())]);
}

#[test]
fn host_pings_chip_and_records_reply() {
    let mut chip = FakeChip::standard();
    let peer = chip.lan.host_by_ip(s::PEER).unwrap();
    chip.lan.ping(peer, CHIP_IP, 1, 1, b"x");
    chip.run_for(Duration::from_millis(1));
    let req = chip.inbox.iter().find_map(|(_, f)| match &f.body {
        Body::Ipv4(p) => match &p.payload {
            IpPayload::Icmp(Icmp::EchoRequest { ident, seq, data }) => {
                Some((*ident, *seq, data.clone()))
            }
            _ => None,
        },
        _ => None,
    });
    assert_eq!(req, Some((1, 1, b"x".to_vec())));
    chip.send_ip(
        s::PEER,
        IpPayload::Icmp(Icmp::EchoReply {
            ident: 1,
            seq: 1,
            data: b"x".to_vec(),
        }),
    );
    chip.run_for(Duration::from_millis(1));
    let h = chip.lan.host(peer).unwrap();
    assert!(
        matches!(h.icmp_received.as_slice(), [(_, ip, Icmp::EchoReply { .. })] if *ip == CHIP_IP)
    );
}

#[test]
fn rfc862_udp_echo_round_trip() {
    let mut chip = FakeChip::standard();
    chip.send_udp(5000, SocketAddrV4::new(s::ECHO, 7), b"hello");
    chip.run_for(Duration::from_millis(5));
    let got = chip.udp_received();
    assert_eq!(got.len(), 1);
    let (_, src, dst, d) = &got[0];
    assert_eq!((*src, *dst), (s::ECHO, CHIP_IP));
    assert_eq!(
        d,
        &UdpDatagram {
            src_port: 7,
            dst_port: 5000,
            payload: b"hello".to_vec()
        }
    );
}

#[test]
fn rfc1122_3_2_2_1_udp_to_closed_port_gets_port_unreachable() {
    let mut chip = FakeChip::standard();
    chip.send_udp(5000, SocketAddrV4::new(s::HTTP, 9999), b"anyone?");
    chip.run_for(Duration::from_millis(5));
    let unreach = chip.inbox.iter().find_map(|(_, f)| match &f.body {
        Body::Ipv4(p) => match &p.payload {
            IpPayload::Icmp(Icmp::DestUnreachable { code, original }) => {
                Some((*code, original.clone()))
            }
            _ => None,
        },
        _ => None,
    });
    let (code, original) = unreach.expect("port unreachable");
    assert_eq!(code, 3);
    assert_eq!(original.len(), 28, "IP header + 8 bytes");
    assert_eq!(&original[12..16], &CHIP_IP.octets());
    assert_eq!(&original[20..22], &5000u16.to_be_bytes());
    assert_eq!(&original[22..24], &9999u16.to_be_bytes());
}

#[test]
fn rfc919_broadcasts_reach_every_host_and_the_chip() {
    let mut chip = FakeChip::standard();
    let a = chip.lan.host_by_ip(s::PEER).unwrap();
    let b = chip.lan.host_by_ip(s::HTTP).unwrap();
    chip.lan.bind_udp(a, 4444, Box::new(UdpRecorder::default()));
    chip.lan.bind_udp(b, 4444, Box::new(UdpRecorder::default()));
    chip.send_udp(
        4444,
        SocketAddrV4::new(Ipv4Addr::BROADCAST, 4444),
        b"limited",
    );
    chip.send_udp(4444, SocketAddrV4::new(s::BROADCAST, 4444), b"directed");
    chip.run_for(Duration::from_millis(1));
    for h in [a, b] {
        let r = chip.lan.udp_app::<UdpRecorder>(h, 4444).unwrap();
        let payloads: Vec<_> = r.received.iter().map(|(_, d)| d.payload.clone()).collect();
        assert_eq!(payloads, vec![b"limited".to_vec(), b"directed".to_vec()]);
    }
    // A host's broadcast reaches the chip (and no ICMP comes back from hosts without the port).
    chip.lan.udp_send(
        a,
        4444,
        SocketAddrV4::new(Ipv4Addr::BROADCAST, 9),
        b"to all",
    );
    chip.run_for(Duration::from_millis(1));
    let got = chip.udp_received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].2, Ipv4Addr::BROADCAST);
    assert_eq!(got[0].3.payload, b"to all");
    assert!(chip.inbox.iter().all(
        |(_, f)| !matches!(&f.body, Body::Ipv4(p) if matches!(p.payload, IpPayload::Icmp(_)))
    ));
}

#[test]
fn rfc1112_multicast_reaches_members_only_and_chip_igmp_is_observed() {
    let group = Ipv4Addr::new(239, 1, 2, 3);
    let mut chip = FakeChip::standard();
    let a = chip.lan.host_by_ip(s::PEER).unwrap();
    let b = chip.lan.host_by_ip(s::HTTP).unwrap();
    chip.lan.bind_udp(a, 5353, Box::new(UdpRecorder::default()));
    chip.lan.bind_udp(b, 5353, Box::new(UdpRecorder::default()));
    chip.lan.join_group(a, group);
    // The chip reports membership (RFC 2236 §3) and sends to the group.
    chip.send_ip(group, IpPayload::Igmp(Igmp::V2Report { group }));
    chip.send_udp(5353, SocketAddrV4::new(group, 5353), b"mc");
    chip.run_for(Duration::from_millis(1));
    assert_eq!(
        chip.lan.igmp_from_chip(),
        &[(Instant::ZERO, CHIP_IP, Igmp::V2Report { group })]
    );
    assert_eq!(
        chip.lan
            .udp_app::<UdpRecorder>(a, 5353)
            .unwrap()
            .received
            .len(),
        1
    );
    assert_eq!(
        chip.lan
            .udp_app::<UdpRecorder>(b, 5353)
            .unwrap()
            .received
            .len(),
        0
    );
    // A member host sends to the group: the chip gets it at the mapped MAC.
    chip.lan
        .udp_send(a, 5353, SocketAddrV4::new(group, 5353), b"back");
    chip.lan.igmp_query(a, Ipv4Addr::UNSPECIFIED, 100);
    chip.run_for(Duration::from_millis(1));
    let mc: Vec<_> = chip
        .inbox
        .iter()
        .filter(|(_, f)| f.dst == MacAddr::ipv4_multicast(group))
        .collect();
    assert_eq!(mc.len(), 1);
    assert!(chip.inbox.iter().any(|(_, f)| matches!(&f.body, Body::Ipv4(p) if matches!(p.payload, IpPayload::Igmp(Igmp::Query { .. })))));
}

#[test]
fn frames_arrive_in_order_at_100_mbit_and_next_event_points_at_them() {
    let mut lan = Lan::standard();
    let echo = lan.host_by_ip(s::ECHO).unwrap();
    lan.host_mut(echo).unwrap().arp_insert(CHIP_IP, CHIP_MAC);
    let mut chip = FakeChip::new(lan);
    for i in 0..10u8 {
        chip.send_udp(6000, SocketAddrV4::new(s::ECHO, 7), &vec![i; 1400]);
    }
    // Nothing is due yet; the next event is the first frame reaching the echo host.
    let first = chip.lan.next_event().unwrap();
    // 1400 + 8 + 20 + 14 = 1442 bytes + 24 overhead = 1466 bytes = 117.28 µs; + 20 µs.
    assert_eq!(first.as_micros(), 138);
    chip.run_for(Duration::from_millis(10));
    let got = chip.udp_received();
    assert_eq!(got.len(), 10);
    for (i, w) in got.windows(2).enumerate() {
        assert_eq!(w[0].3.payload[0], i as u8, "in order");
        let gap = w[1].0.as_micros() - w[0].0.as_micros();
        assert!(gap >= 117, "serialization spacing {gap} µs");
    }
    assert!(chip.lan.next_event().is_none());
}

#[test]
fn configurable_latency_is_applied() {
    let mut lan = Lan::standard();
    lan.set_latency(Duration::from_millis(5));
    let mut chip = FakeChip::new(lan);
    chip.arp_request(s::GATEWAY);
    chip.run_for(Duration::from_millis(20));
    let (at, _) = chip.inbox[0];
    assert!(at.as_micros() >= 10_000 && at.as_micros() < 10_100, "{at}");
}

#[test]
fn fault_drop_next_rx_loses_exactly_n_frames() {
    let mut chip = FakeChip::standard();
    let http = chip.lan.host_by_ip(s::HTTP).unwrap();
    chip.lan.drop_next_rx(http, 2);
    for _ in 0..3 {
        chip.arp_request(s::HTTP);
    }
    chip.run_for(Duration::from_millis(1));
    assert_eq!(chip.take_inbox().len(), 1);
    assert_eq!(chip.lan.host(http).unwrap().frames_dropped, 2);
}

#[test]
fn fault_silent_host_and_remove_add_host() {
    let mut chip = FakeChip::standard();
    let http = chip.lan.host_by_ip(s::HTTP).unwrap();
    chip.lan.set_silent(http, true);
    chip.arp_request(s::HTTP);
    chip.run_for(Duration::from_millis(1));
    assert!(chip.take_inbox().is_empty());
    chip.lan.set_silent(http, false);
    let removed = chip.lan.remove_host(http).unwrap();
    chip.arp_request(s::HTTP);
    chip.run_for(Duration::from_millis(1));
    assert!(chip.take_inbox().is_empty(), "removed host is gone");
    chip.lan.add_host(removed);
    chip.arp_request(s::HTTP);
    chip.run_for(Duration::from_millis(1));
    assert_eq!(chip.take_inbox().len(), 1, "re-added host answers");
}

#[test]
fn host_arp_gives_up_after_three_requests() {
    let mut chip = FakeChip::standard();
    chip.answer_arp = false;
    let peer = chip.lan.host_by_ip(s::PEER).unwrap();
    chip.lan
        .udp_send(peer, 1, SocketAddrV4::new(CHIP_IP, 2), b"x");
    chip.run_for(Duration::from_secs(10));
    let reqs = chip
        .inbox
        .iter()
        .filter(|(_, f)| matches!(f.body, Body::Arp(_)))
        .count();
    assert_eq!(reqs, 3);
    assert!(chip.udp_received().is_empty());
    assert!(chip.lan.next_event().is_none());
}

#[test]
fn every_public_lan_type_is_send() {
    fn send<T: Send>() {}
    send::<Lan>();
    send::<w5500_sim::lan::Host>();
    send::<w5500_sim::lan::TcpConn>();
    send::<w5500_sim::lan::dhcp::DhcpServer>();
    send::<w5500_sim::lan::dns::DnsServer>();
    send::<w5500_sim::lan::dns::DnsTcpConn>();
    send::<w5500_sim::lan::apps::HttpServer>();
    send::<Box<dyn Network + Send>>();
    let b: Box<dyn Network + Send> = Box::new(Lan::standard());
    drop(b);
}

#[test]
fn test_peer_helpers_udp_recorder_and_tcp_received() {
    let mut chip = FakeChip::standard();
    let peer = chip.lan.host_by_ip(s::PEER).unwrap();
    chip.lan.bind_udp_recorder(peer, 1234);
    chip.send_udp(999, SocketAddrV4::new(s::PEER, 1234), b"to peer");
    chip.run_for(Duration::from_millis(1));
    let got = chip.lan.udp_recorded(peer, 1234);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].payload, b"to peer");
    assert_eq!(got[0].src, SocketAddrV4::new(CHIP_IP, 999));
    assert_eq!(got[0].src_mac, CHIP_MAC);
}

#[test]
fn network_contract_receive_only_returns_due_frames() {
    let mut lan = Lan::standard();
    let mut chip = FakeChip::new(Lan::default());
    chip.arp_request(s::GATEWAY); // on an empty LAN: nothing happens
    chip.run_for(Duration::from_millis(1));
    assert!(chip.inbox.is_empty());
    let f = chip.inbox.pop();
    assert!(f.is_none());
    // On the standard LAN the ARP reply is not available before its arrival time.
    let req = w5500_sim::net::Frame {
        dst: MacAddr::BROADCAST,
        src: CHIP_MAC,
        body: Body::Arp(w5500_sim::net::Arp {
            op: ArpOp::Request,
            sender_mac: CHIP_MAC,
            sender_ip: CHIP_IP,
            target_mac: MacAddr::ZERO,
            target_ip: s::GATEWAY,
        }),
    };
    lan.transmit(Instant::ZERO, req);
    lan.poll(Instant::from_micros(100));
    assert!(lan.receive(Instant::from_micros(10)).is_none());
    let due = lan.next_event().unwrap();
    assert!(due <= Instant::from_micros(100));
    assert!(lan.receive(due).is_some());
    assert!(lan.receive(Instant::from_micros(100)).is_none());
}
