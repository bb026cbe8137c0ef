//! The DNS server fixture (RFC 1035) over UDP and TCP, with its fault modes.

mod support;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use support::lan::*;
use w5500_sim::lan::dns::{
    self, build_query, parse_response, DnsFault, DnsServer, RecordData, Zone, RCODE_NXDOMAIN,
    RCODE_SERVFAIL, TYPE_A, TYPE_AAAA,
};
use w5500_sim::lan::{standard as s, Lan};

fn ask_udp(
    chip: &mut FakeChip,
    server: Ipv4Addr,
    sport: u16,
    id: u16,
    name: &str,
    qtype: u16,
) -> Option<Vec<u8>> {
    chip.take_inbox();
    chip.send_udp(
        sport,
        SocketAddrV4::new(server, 53),
        &build_query(id, name, qtype, true),
    );
    chip.run_for(Duration::from_millis(5));
    chip.udp_received()
        .into_iter()
        .find(|(_, _, _, d)| d.src_port == 53 && d.dst_port == sport)
        .map(|(_, _, _, d)| d.payload)
}

fn ask_tcp(chip: &mut FakeChip, server: Ipv4Addr, sport: u16, id: u16, name: &str) -> Vec<u8> {
    let c = chip.connect(sport, SocketAddrV4::new(server, 53), 77, 8192);
    chip.run_for(Duration::from_millis(1));
    let q = build_query(id, name, TYPE_A, true);
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&q);
    chip.send_data(c, &framed);
    chip.run_for(Duration::from_millis(5));
    let got = chip.read_all(c);
    let len = u16::from_be_bytes([got[0], got[1]]) as usize;
    assert_eq!(got.len(), len + 2, "RFC 1035 §4.2.2 two-byte length prefix");
    chip.fin(c);
    chip.run_for(Duration::from_millis(1));
    assert!(chip.conns[c].peer_fin, "server closes after the client");
    got[2..].to_vec()
}

fn a_records(r: &dns::Response) -> Vec<Ipv4Addr> {
    r.answers
        .iter()
        .filter_map(|(_, _, d)| match d {
            RecordData::A(ip) => Some(*ip),
            _ => None,
        })
        .collect()
}

#[test]
fn rfc1035_4_1_a_query_answers_several_records_with_ttl() {
    let mut chip = FakeChip::standard();
    let raw = ask_udp(
        &mut chip,
        s::GATEWAY,
        40000,
        0x4242,
        "multi.sim.lan",
        TYPE_A,
    )
    .unwrap();
    let r = parse_response(&raw).unwrap();
    assert_eq!(r.id, 0x4242);
    assert_eq!(r.flags & 0x8000, 0x8000, "QR");
    assert_eq!(r.flags & 0x0100, 0x0100, "RD copied");
    assert_eq!(r.rcode, 0);
    assert_eq!(a_records(&r), vec![s::HTTP, s::ECHO, s::BULK]);
    assert!(r
        .answers
        .iter()
        .all(|(n, ttl, _)| n == "multi.sim.lan" && *ttl == 30));
}

#[test]
fn rfc1035_4_1_4_cname_chain_with_compressed_names() {
    let mut chip = FakeChip::standard();
    let raw = ask_udp(&mut chip, s::NS2, 40001, 1, "ALIAS.sim.lan", TYPE_A).unwrap();
    let r = parse_response(&raw).unwrap();
    assert_eq!(
        r.answers,
        vec![
            (
                "ALIAS.sim.lan".into(),
                60,
                RecordData::Cname("www.sim.lan".into())
            ),
            (
                "www.sim.lan".into(),
                60,
                RecordData::Cname("http.sim.lan".into())
            ),
            ("http.sim.lan".into(), 300, RecordData::A(s::HTTP)),
        ]
    );
    // The first answer's owner is a pointer to the question name at offset 12 (so it keeps
    // the question's spelling; names compare case-insensitively, RFC 1035 §2.3.3).
    let qlen = build_query(1, "ALIAS.sim.lan", TYPE_A, true).len();
    assert_eq!(&raw[qlen..qlen + 2], &[0xc0, 0x0c]);
    // Compression keeps the message well under the uncompressed size.
    assert!(
        raw.len() < qlen + 3 * 12 + 4 + 2 * 14,
        "{} bytes",
        raw.len()
    );
}

#[test]
fn rfc1035_4_1_1_nxdomain_and_nodata() {
    let mut chip = FakeChip::standard();
    let r =
        parse_response(&ask_udp(&mut chip, s::GATEWAY, 40002, 2, "nope.sim.lan", TYPE_A).unwrap())
            .unwrap();
    assert_eq!(r.rcode, RCODE_NXDOMAIN);
    assert!(r.answers.is_empty());
    let r = parse_response(
        &ask_udp(&mut chip, s::GATEWAY, 40002, 3, "http.sim.lan", TYPE_AAAA).unwrap(),
    )
    .unwrap();
    assert_eq!(r.rcode, 0);
    assert!(r.answers.is_empty());
}

#[test]
fn fault_servfail_silence_garbage_and_wrong_id() {
    let mut chip = FakeChip::standard();
    let gw = chip.lan.host_by_ip(s::GATEWAY).unwrap();
    chip.lan.udp_app_mut::<DnsServer>(gw, 53).unwrap().fault = DnsFault::ServFail;
    let r =
        parse_response(&ask_udp(&mut chip, s::GATEWAY, 40003, 4, "http.sim.lan", TYPE_A).unwrap())
            .unwrap();
    assert_eq!(r.rcode, RCODE_SERVFAIL);
    chip.lan.udp_app_mut::<DnsServer>(gw, 53).unwrap().fault = DnsFault::Silent;
    assert!(ask_udp(&mut chip, s::GATEWAY, 40003, 5, "http.sim.lan", TYPE_A).is_none());
    chip.lan.udp_app_mut::<DnsServer>(gw, 53).unwrap().fault = DnsFault::Garbage;
    let g = ask_udp(&mut chip, s::GATEWAY, 40003, 6, "http.sim.lan", TYPE_A).unwrap();
    assert!(parse_response(&g).is_none_or(|r| r.id != 6 || a_records(&r) != vec![s::HTTP]));
    chip.lan.udp_app_mut::<DnsServer>(gw, 53).unwrap().fault = DnsFault::WrongId;
    let r =
        parse_response(&ask_udp(&mut chip, s::GATEWAY, 40003, 7, "http.sim.lan", TYPE_A).unwrap())
            .unwrap();
    assert_ne!(r.id, 7);
    assert_eq!(a_records(&r), vec![s::HTTP]);
    assert_eq!(chip.lan.udp_app::<DnsServer>(gw, 53).unwrap().log.len(), 4);
}

#[test]
fn rfc1035_4_2_1_truncated_over_udp_full_over_tcp() {
    let mut chip = FakeChip::standard();
    let gw = chip.lan.host_by_ip(s::GATEWAY).unwrap();
    dns::install(
        &mut chip.lan,
        gw,
        Lan::standard_zone(),
        DnsFault::TruncateUdp,
    );
    let r =
        parse_response(&ask_udp(&mut chip, s::GATEWAY, 40004, 8, "multi.sim.lan", TYPE_A).unwrap())
            .unwrap();
    assert!(r.truncated, "TC bit");
    assert!(r.answers.is_empty());
    let r = parse_response(&ask_tcp(&mut chip, s::GATEWAY, 40005, 9, "multi.sim.lan")).unwrap();
    assert!(!r.truncated);
    assert_eq!(a_records(&r).len(), 3);
}

#[test]
fn rfc1035_4_2_1_answers_over_512_bytes_are_truncated_naturally() {
    let mut zone = Zone::new();
    for i in 0..40 {
        zone = zone.a("big.test", Ipv4Addr::new(10, 77, 1, i), 5);
    }
    let mut lan = Lan::standard();
    let gw = lan.host_by_ip(s::GATEWAY).unwrap();
    dns::install(&mut lan, gw, zone, DnsFault::None);
    let mut chip = FakeChip::new(lan);
    let udp = ask_udp(&mut chip, s::GATEWAY, 40006, 10, "big.test", TYPE_A).unwrap();
    assert!(udp.len() <= 512);
    assert!(parse_response(&udp).unwrap().truncated);
    let tcp = ask_tcp(&mut chip, s::GATEWAY, 40007, 11, "big.test");
    assert!(tcp.len() > 512);
    assert_eq!(a_records(&parse_response(&tcp).unwrap()).len(), 40);
}

#[test]
fn query_log_records_source_ports_and_ids() {
    let mut chip = FakeChip::standard();
    ask_udp(&mut chip, s::GATEWAY, 50001, 0x1111, "gw.sim.lan", TYPE_A).unwrap();
    ask_udp(&mut chip, s::GATEWAY, 50002, 0x2222, "peer.sim.lan", TYPE_A).unwrap();
    let gw = chip.lan.host_by_ip(s::GATEWAY).unwrap();
    let log = &chip.lan.udp_app::<DnsServer>(gw, 53).unwrap().log;
    let seen: Vec<_> = log
        .iter()
        .map(|q| (q.src.port(), q.id, q.name.as_str(), q.tcp))
        .collect();
    assert_eq!(
        seen,
        vec![
            (50001, 0x1111, "gw.sim.lan", false),
            (50002, 0x2222, "peer.sim.lan", false)
        ]
    );
    assert!(log.iter().all(|q| *q.src.ip() == CHIP_IP));
}

#[test]
fn malformed_query_gets_formerr() {
    let mut chip = FakeChip::standard();
    chip.send_udp(
        40008,
        SocketAddrV4::new(s::GATEWAY, 53),
        &[0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xff],
    );
    chip.run_for(Duration::from_millis(5));
    let got = chip.udp_received();
    let r = parse_response(&got[0].3.payload).unwrap();
    assert_eq!(r.id, 0xabcd);
    assert_eq!(r.rcode, 1);
}
