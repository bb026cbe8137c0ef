//! The remote subnet behind the gateway (RFC 1812 forwarding): reachable only through the
//! router's MAC, so a chip that got its gateway (GAR) wrong cannot reach it.

mod support;

use std::net::SocketAddrV4;
use std::time::Duration;

use support::lan::*;
use w5500_sim::lan::standard as s;
use w5500_sim::net::{ArpOp, Body, IpPayload};

#[test]
fn rfc1812_remote_host_is_reached_through_the_gateway_mac() {
    let mut chip = FakeChip::standard();
    chip.gateway_mac = Some(chip.mac_of(s::GATEWAY));
    chip.send_udp(6000, SocketAddrV4::new(s::REMOTE, 7), b"far away");
    chip.run_for(Duration::from_millis(5));
    let (frame_src, ip_src, ttl, payload) = chip
        .inbox
        .iter()
        .find_map(|(_, f)| match &f.body {
            Body::Ipv4(p) => match &p.payload {
                IpPayload::Udp(u) => Some((f.src, p.src, p.ttl, u.payload.clone())),
                _ => None,
            },
            _ => None,
        })
        .expect("echo reply");
    assert_eq!(payload, b"far away");
    assert_eq!(ip_src, s::REMOTE);
    assert_eq!(frame_src, chip.mac_of(s::GATEWAY), "the router delivers it");
    assert_eq!(ttl, 63, "RFC 1812 §5.3.1: TTL decremented once");
    // The remote segment's own ARP traffic never reaches the chip.
    assert!(chip
        .inbox
        .iter()
        .all(|(_, f)| !matches!(&f.body, Body::Arp(a) if a.sender_ip.octets()[2] == 99)));
    let gw = chip.lan.host_by_ip(s::GATEWAY).unwrap();
    assert_eq!(chip.lan.host(gw).unwrap().packets_forwarded, 2);
}

#[test]
fn remote_host_does_not_answer_arp_from_the_chip_segment() {
    let mut chip = FakeChip::standard();
    chip.arp_request(s::REMOTE);
    chip.arp_request(s::REMOTE_GATEWAY);
    chip.run_for(Duration::from_secs(2));
    assert!(chip
        .inbox
        .iter()
        .all(|(_, f)| !matches!(&f.body, Body::Arp(a) if a.op == ArpOp::Reply)));
    // Sent to a MAC that is not the router's (a chip that used the wrong GAR): lost.
    chip.send_udp(6000, SocketAddrV4::new(s::REMOTE, 7), b"lost");
    chip.run_for(Duration::from_millis(5));
    assert!(chip.udp_received().is_empty());
}

#[test]
fn rfc9293_tcp_http_to_the_remote_host_via_gateway() {
    let mut chip = FakeChip::standard();
    chip.gateway_mac = Some(chip.mac_of(s::GATEWAY));
    let c = chip.connect(42000, SocketAddrV4::new(s::REMOTE, 80), 1, 4096);
    chip.run_for(Duration::from_millis(1));
    assert!(chip.conns[c].established);
    chip.send_data(c, b"GET / HTTP/1.0\r\n\r\n");
    for _ in 0..20 {
        chip.run_for(Duration::from_millis(1));
        chip.read_all(c);
    }
    let text = String::from_utf8(chip.conns[c].read.clone()).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(text.ends_with("Hello from behind the gateway\n"));
    assert!(chip.conns[c].peer_fin);
}
