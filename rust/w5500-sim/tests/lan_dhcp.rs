//! The DHCP server fixture (RFC 2131, RFC 2132) driven by hand-built client messages.

mod support;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use support::lan::*;
use w5500_sim::lan::dhcp::{
    msg, opt, DhcpConfig, DhcpFault, DhcpMessage, DhcpServer, LogDir, RequestKind, CLIENT_PORT,
    FLAG_BROADCAST, SERVER_PORT,
};
use w5500_sim::lan::{standard as s, Lan};
use w5500_sim::net::{Body, IpPayload, MacAddr};
use w5500_sim::time::Instant;

const CLIENT: MacAddr = CHIP_MAC;

/// A chip with no address yet (SIPR = 0.0.0.0).
fn unconfigured() -> FakeChip {
    let mut chip = FakeChip::standard();
    chip.ip = Ipv4Addr::UNSPECIFIED;
    chip
}

/// Broadcast `m` from 0.0.0.0:68 (or from the chip's address when it has one).
fn send(chip: &mut FakeChip, m: &DhcpMessage, dst: Ipv4Addr) {
    chip.send_udp(
        CLIENT_PORT,
        SocketAddrV4::new(dst, SERVER_PORT),
        &m.encode(),
    );
}

/// DHCP replies the chip received since the last call, with their IP destination and MAC.
fn replies(chip: &mut FakeChip) -> Vec<(Ipv4Addr, Ipv4Addr, MacAddr, DhcpMessage)> {
    chip.take_inbox()
        .into_iter()
        .filter_map(|(_, f)| match f.body {
            Body::Ipv4(p) => match p.payload {
                IpPayload::Udp(u) if u.dst_port == CLIENT_PORT => {
                    DhcpMessage::decode(&u.payload).map(|m| (p.src, p.dst, f.dst, m))
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn gw(chip: &FakeChip) -> w5500_sim::lan::HostId {
    chip.lan.host_by_ip(s::GATEWAY).unwrap()
}

fn server(chip: &mut FakeChip) -> &mut DhcpServer {
    let id = gw(chip);
    chip.lan.udp_app_mut::<DhcpServer>(id, SERVER_PORT).unwrap()
}

/// DISCOVER + REQUEST (SELECTING); returns the bound address.
fn dora(chip: &mut FakeChip, xid: u32) -> Ipv4Addr {
    send(
        chip,
        &DhcpMessage::request(msg::DISCOVER, xid, CLIENT),
        Ipv4Addr::BROADCAST,
    );
    chip.run_for(Duration::from_millis(1));
    let offer = replies(chip).pop().unwrap().3;
    let req = DhcpMessage::request(msg::REQUEST, xid, CLIENT)
        .with_option(opt::REQUESTED_IP, &offer.yiaddr.octets())
        .with_option(opt::SERVER_ID, &s::GATEWAY.octets());
    send(chip, &req, Ipv4Addr::BROADCAST);
    chip.run_for(Duration::from_millis(1));
    let ack = replies(chip).pop().unwrap().3;
    assert_eq!(ack.msg_type(), Some(msg::ACK));
    ack.yiaddr
}

#[test]
fn rfc2131_4_3_1_discover_gets_offer_with_rfc2132_options() {
    let mut chip = unconfigured();
    send(
        &mut chip,
        &DhcpMessage::request(msg::DISCOVER, 0x1234, CLIENT),
        Ipv4Addr::BROADCAST,
    );
    chip.run_for(Duration::from_millis(1));
    let r = replies(&mut chip);
    assert_eq!(r.len(), 1);
    let (src, dst, mac, m) = &r[0];
    assert_eq!(
        (*src, *dst, *mac),
        (s::GATEWAY, Ipv4Addr::BROADCAST, MacAddr::BROADCAST),
        "no address yet: broadcast"
    );
    assert_eq!(m.op, 2);
    assert_eq!(m.xid, 0x1234);
    assert_eq!(m.msg_type(), Some(msg::OFFER));
    assert_eq!(m.yiaddr, s::POOL_START);
    assert_eq!(m.ciaddr, Ipv4Addr::UNSPECIFIED);
    assert_eq!(m.mac(), CLIENT);
    assert_eq!(m.option_ip(opt::SERVER_ID), Some(s::GATEWAY));
    assert_eq!(m.option_ip(opt::SUBNET_MASK), Some(s::NETMASK));
    assert_eq!(m.option_ip(opt::ROUTER), Some(s::GATEWAY));
    assert_eq!(m.option_ips(opt::DNS), vec![s::GATEWAY, s::NS2]);
    assert_eq!(m.option(opt::DOMAIN_NAME), Some(&b"sim.lan"[..]));
    assert_eq!(m.option_u32(opt::LEASE_TIME), Some(3600));
    assert_eq!(m.option_u32(opt::T1), Some(1800));
    assert_eq!(m.option_u32(opt::T2), Some(3150));
    assert_eq!(m.option_ip(opt::BROADCAST), Some(s::BROADCAST));
}

#[test]
fn rfc2131_4_3_2_selecting_request_gets_ack_and_lease_is_recorded() {
    let mut chip = unconfigured();
    let ip = dora(&mut chip, 1);
    assert_eq!(ip, s::POOL_START);
    let leases = server(&mut chip).leases().to_vec();
    assert_eq!(leases.len(), 1);
    assert!(leases[0].bound);
    assert_eq!(leases[0].mac, CLIENT);
    let log = &server(&mut chip).log;
    let req = log
        .iter()
        .find(|e| e.dir == LogDir::Received && e.msg_type == msg::REQUEST)
        .unwrap();
    assert_eq!(req.kind, Some(RequestKind::Selecting));
    assert_eq!(
        req.src,
        SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, CLIENT_PORT)
    );
}

#[test]
fn rfc2131_4_1_broadcast_flag_or_unicast_offers() {
    let mut chip = unconfigured();
    server(&mut chip).config.unicast_offers = true;
    // Without the flag: unicast to yiaddr at chaddr, no ARP (RFC 2131 §4.1).
    send(
        &mut chip,
        &DhcpMessage::request(msg::DISCOVER, 1, CLIENT),
        Ipv4Addr::BROADCAST,
    );
    chip.run_for(Duration::from_millis(1));
    let (_, dst, mac, m) = replies(&mut chip).pop().unwrap();
    assert_eq!((dst, mac), (m.yiaddr, CLIENT));
    // With the BROADCAST flag: broadcast.
    let mut d = DhcpMessage::request(msg::DISCOVER, 2, CLIENT);
    d.flags = FLAG_BROADCAST;
    send(&mut chip, &d, Ipv4Addr::BROADCAST);
    chip.run_for(Duration::from_millis(1));
    let (_, dst, mac, m) = replies(&mut chip).pop().unwrap();
    assert_eq!((dst, mac), (Ipv4Addr::BROADCAST, MacAddr::BROADCAST));
    assert!(m.broadcast_flag());
}

#[test]
fn rfc2131_4_3_2_renewing_is_unicast_and_rebinding_is_broadcast() {
    let mut chip = unconfigured();
    let ip = dora(&mut chip, 1);
    chip.ip = ip;
    // RENEWING: unicast to the server, ciaddr set, no server id / requested address.
    let mut renew = DhcpMessage::request(msg::REQUEST, 2, CLIENT);
    renew.ciaddr = ip;
    chip.run_for(Duration::from_secs(1800));
    send(&mut chip, &renew, s::GATEWAY);
    chip.run_for(Duration::from_millis(5));
    let (_, dst, _, ack) = replies(&mut chip).pop().unwrap();
    assert_eq!(ack.msg_type(), Some(msg::ACK));
    assert_eq!(dst, ip, "ACK to a bound client is unicast to ciaddr");
    assert_eq!(ack.ciaddr, ip);
    // REBINDING: broadcast.
    let mut rebind = DhcpMessage::request(msg::REQUEST, 3, CLIENT);
    rebind.ciaddr = ip;
    send(&mut chip, &rebind, Ipv4Addr::BROADCAST);
    chip.run_for(Duration::from_millis(5));
    assert_eq!(
        replies(&mut chip).pop().unwrap().3.msg_type(),
        Some(msg::ACK)
    );
    let log = &server(&mut chip).log;
    let kinds: Vec<_> = log
        .iter()
        .filter(|e| e.dir == LogDir::Received && e.msg_type == msg::REQUEST)
        .map(|e| (e.kind, *e.dst.ip()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (Some(RequestKind::Selecting), Ipv4Addr::BROADCAST),
            (Some(RequestKind::Renewing), s::GATEWAY),
            (Some(RequestKind::Rebinding), Ipv4Addr::BROADCAST),
        ]
    );
    // The renewal moved the expiry: 1800 s + 3600 s from the start.
    let l = server(&mut chip).leases()[0].clone();
    assert!(l.expires.as_micros() >= 5_400_000_000);
}

#[test]
fn rfc2131_4_3_2_init_reboot_wrong_address_gets_broadcast_nak() {
    let mut chip = unconfigured();
    let ip = dora(&mut chip, 1);
    let wrong = Ipv4Addr::new(192, 168, 1, 77);
    let req = DhcpMessage::request(msg::REQUEST, 5, CLIENT)
        .with_option(opt::REQUESTED_IP, &wrong.octets());
    send(&mut chip, &req, Ipv4Addr::BROADCAST);
    chip.run_for(Duration::from_millis(1));
    let (_, dst, _, nak) = replies(&mut chip).pop().unwrap();
    assert_eq!(nak.msg_type(), Some(msg::NAK));
    assert_eq!(dst, Ipv4Addr::BROADCAST);
    assert_eq!(nak.yiaddr, Ipv4Addr::UNSPECIFIED);
    // INIT-REBOOT with the right address: ACK.
    let req =
        DhcpMessage::request(msg::REQUEST, 6, CLIENT).with_option(opt::REQUESTED_IP, &ip.octets());
    send(&mut chip, &req, Ipv4Addr::BROADCAST);
    chip.run_for(Duration::from_millis(1));
    let (_, _, _, ack) = replies(&mut chip).pop().unwrap();
    assert_eq!(ack.msg_type(), Some(msg::ACK));
    assert_eq!(ack.yiaddr, ip);
    let kinds: Vec<_> = server(&mut chip)
        .log
        .iter()
        .filter_map(|e| e.kind)
        .collect();
    assert_eq!(kinds.last(), Some(&RequestKind::InitReboot));
}

#[test]
fn rfc2131_4_3_2_init_reboot_unknown_client_gets_silence() {
    let mut chip = unconfigured();
    let req = DhcpMessage::request(msg::REQUEST, 5, CLIENT)
        .with_option(opt::REQUESTED_IP, &s::POOL_START.octets());
    send(&mut chip, &req, Ipv4Addr::BROADCAST);
    chip.run_for(Duration::from_millis(1));
    assert!(replies(&mut chip).is_empty());
}

#[test]
fn rfc2131_4_3_4_release_frees_and_decline_blocks_the_address() {
    let mut chip = unconfigured();
    let ip = dora(&mut chip, 1);
    let mut rel = DhcpMessage::request(msg::RELEASE, 2, CLIENT)
        .with_option(opt::SERVER_ID, &s::GATEWAY.octets());
    rel.ciaddr = ip;
    chip.ip = ip;
    send(&mut chip, &rel, s::GATEWAY);
    chip.run_for(Duration::from_millis(5));
    assert!(server(&mut chip).leases().is_empty());
    chip.ip = Ipv4Addr::UNSPECIFIED;
    chip.take_inbox();
    // Bound again, then DECLINE (address in use, RFC 2131 §4.4.1): the server skips it.
    let ip = dora(&mut chip, 3);
    let dec = DhcpMessage::request(msg::DECLINE, 4, CLIENT)
        .with_option(opt::REQUESTED_IP, &ip.octets())
        .with_option(opt::SERVER_ID, &s::GATEWAY.octets());
    send(&mut chip, &dec, Ipv4Addr::BROADCAST);
    chip.run_for(Duration::from_millis(1));
    assert_eq!(server(&mut chip).declined(), vec![ip]);
    send(
        &mut chip,
        &DhcpMessage::request(msg::DISCOVER, 5, CLIENT),
        Ipv4Addr::BROADCAST,
    );
    chip.run_for(Duration::from_millis(1));
    let offer = replies(&mut chip).pop().unwrap().3;
    assert_ne!(offer.yiaddr, ip);
}

#[test]
fn rfc2131_lease_expiry_frees_the_address_and_renewal_is_naked() {
    let mut chip = unconfigured();
    server(&mut chip).config.lease_secs = 60;
    let ip = dora(&mut chip, 1);
    chip.run_for(Duration::from_secs(61));
    // Another client now gets the same address.
    let other = MacAddr([2, 9, 9, 9, 9, 9]);
    send(
        &mut chip,
        &DhcpMessage::request(msg::DISCOVER, 2, other),
        Ipv4Addr::BROADCAST,
    );
    chip.run_for(Duration::from_millis(1));
    let offer = replies(&mut chip).pop().unwrap().3;
    assert_eq!(offer.yiaddr, ip);
    // The first client's late renewal is refused.
    chip.ip = ip;
    let mut renew = DhcpMessage::request(msg::REQUEST, 3, CLIENT);
    renew.ciaddr = ip;
    send(&mut chip, &renew, s::GATEWAY);
    chip.run_for(Duration::from_millis(5));
    let r = replies(&mut chip);
    assert_eq!(r.last().unwrap().3.msg_type(), Some(msg::NAK));
}

#[test]
fn fault_nak_everything_and_silence() {
    let mut chip = unconfigured();
    server(&mut chip).fault = DhcpFault::NakAll;
    send(
        &mut chip,
        &DhcpMessage::request(msg::DISCOVER, 1, CLIENT),
        Ipv4Addr::BROADCAST,
    );
    chip.run_for(Duration::from_millis(1));
    let offer = replies(&mut chip).pop().unwrap().3;
    let req = DhcpMessage::request(msg::REQUEST, 1, CLIENT)
        .with_option(opt::REQUESTED_IP, &offer.yiaddr.octets())
        .with_option(opt::SERVER_ID, &s::GATEWAY.octets());
    send(&mut chip, &req, Ipv4Addr::BROADCAST);
    chip.run_for(Duration::from_millis(1));
    assert_eq!(
        replies(&mut chip).pop().unwrap().3.msg_type(),
        Some(msg::NAK)
    );
    server(&mut chip).fault = DhcpFault::Silent;
    send(
        &mut chip,
        &DhcpMessage::request(msg::DISCOVER, 2, CLIENT),
        Ipv4Addr::BROADCAST,
    );
    chip.run_for(Duration::from_secs(5));
    assert!(replies(&mut chip).is_empty());
    assert_eq!(
        server(&mut chip)
            .logged(LogDir::Received, msg::DISCOVER)
            .len(),
        2,
        "silence still logs"
    );
}

#[test]
fn fault_omitted_options_are_absent() {
    let mut chip = unconfigured();
    server(&mut chip).omit_options = vec![opt::ROUTER, opt::DNS, opt::T1, opt::T2];
    send(
        &mut chip,
        &DhcpMessage::request(msg::DISCOVER, 1, CLIENT),
        Ipv4Addr::BROADCAST,
    );
    chip.run_for(Duration::from_millis(1));
    let m = replies(&mut chip).pop().unwrap().3;
    assert!(m.option(opt::ROUTER).is_none());
    assert!(m.option(opt::DNS).is_none());
    assert!(m.option(opt::T1).is_none() && m.option(opt::T2).is_none());
    assert_eq!(m.option_u32(opt::LEASE_TIME), Some(3600));
}

#[test]
fn rfc2132_9_3_option_overload_puts_options_in_file_and_sname() {
    let mut chip = unconfigured();
    server(&mut chip).overload = true;
    send(
        &mut chip,
        &DhcpMessage::request(msg::DISCOVER, 1, CLIENT),
        Ipv4Addr::BROADCAST,
    );
    chip.run_for(Duration::from_millis(1));
    let m = replies(&mut chip).pop().unwrap().3;
    assert_eq!(m.option(opt::OVERLOAD), Some(&[3u8][..]));
    // The router lives in `file`, the domain in `sname`; the decoder finds both.
    assert_ne!(m.file[0], 0, "file carries options");
    let pos = |c: u8| m.options.iter().position(|(k, _)| *k == c).unwrap();
    assert!(
        pos(opt::ROUTER) > pos(opt::LEASE_TIME),
        "router decoded from the file field"
    );
    assert_eq!(m.sname[0], opt::DOMAIN_NAME);
    assert_eq!(m.option_ip(opt::ROUTER), Some(s::GATEWAY));
    assert_eq!(m.option(opt::DOMAIN_NAME), Some(&b"sim.lan"[..]));
}

#[test]
fn rfc2131_4_3_2_two_servers_client_selects_the_second() {
    let mut lan = Lan::standard();
    let second = Ipv4Addr::new(10, 77, 0, 3);
    let h = lan.add_simple_host("dhcp2", second);
    let mut cfg = DhcpConfig::new(second, Ipv4Addr::new(10, 77, 0, 200), 10);
    cfg.lease_secs = 120;
    lan.bind_udp(h, SERVER_PORT, Box::new(DhcpServer::new(cfg)));
    let mut chip = FakeChip::new(lan);
    chip.ip = Ipv4Addr::UNSPECIFIED;
    send(
        &mut chip,
        &DhcpMessage::request(msg::DISCOVER, 9, CLIENT),
        Ipv4Addr::BROADCAST,
    );
    chip.run_for(Duration::from_millis(1));
    let offers = replies(&mut chip);
    let ids: Vec<_> = offers
        .iter()
        .map(|o| o.3.option_ip(opt::SERVER_ID).unwrap())
        .collect();
    assert_eq!(offers.len(), 2);
    assert!(ids.contains(&s::GATEWAY) && ids.contains(&second));
    let req = DhcpMessage::request(msg::REQUEST, 9, CLIENT)
        .with_option(opt::REQUESTED_IP, &[10, 77, 0, 200])
        .with_option(opt::SERVER_ID, &second.octets());
    send(&mut chip, &req, Ipv4Addr::BROADCAST);
    chip.run_for(Duration::from_millis(1));
    let r = replies(&mut chip);
    assert_eq!(r.len(), 1, "only the selected server answers");
    assert_eq!(r[0].3.msg_type(), Some(msg::ACK));
    assert_eq!(r[0].3.option_u32(opt::LEASE_TIME), Some(120));
    let gw = chip.lan.host_by_ip(s::GATEWAY).unwrap();
    assert!(
        chip.lan
            .udp_app::<DhcpServer>(gw, SERVER_PORT)
            .unwrap()
            .leases()
            .is_empty(),
        "the first server withdrew its offer"
    );
}

#[test]
fn rfc2131_4_3_5_inform_gets_ack_without_lease_time() {
    let mut chip = FakeChip::standard();
    let mut inf = DhcpMessage::request(msg::INFORM, 7, CLIENT);
    inf.ciaddr = CHIP_IP;
    send(&mut chip, &inf, s::GATEWAY);
    chip.run_for(Duration::from_millis(5));
    let (_, dst, _, ack) = replies(&mut chip).pop().unwrap();
    assert_eq!(dst, CHIP_IP);
    assert_eq!(ack.msg_type(), Some(msg::ACK));
    assert!(ack.option(opt::LEASE_TIME).is_none());
    assert_eq!(ack.option_ips(opt::DNS).len(), 2);
    let _ = Instant::ZERO;
}

#[test]
fn codec_round_trips_and_rejects_garbage() {
    let m = DhcpMessage::request(msg::DISCOVER, 0xdead_beef, CLIENT)
        .with_option(opt::HOST_NAME, b"w5500");
    let d = DhcpMessage::decode(&m.encode()).unwrap();
    assert_eq!(d.xid, 0xdead_beef);
    assert_eq!(d.option(opt::HOST_NAME), Some(&b"w5500"[..]));
    assert!(DhcpMessage::decode(&[0u8; 100]).is_none());
    let mut bad = m.encode();
    bad.truncate(243);
    bad.push(50); // option with a length byte missing
    assert!(DhcpMessage::decode(&bad).is_some());
}
