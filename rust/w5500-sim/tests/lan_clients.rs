//! LAN clients and the LAN's bounds, with a test-side stand-in for the chip (`support::lan`):
//! where clients aim, what they do without an address, how the hosts bound what they hold.
//! The clients against a real server on the simulated chip are in
//! `rust/w5500-driver/tests/lan_clients.rs`.
mod support;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use support::lan::*;
use w5500_sim::lan::clients::{ClientSpec, Expect, Outcome, Proto, Script};
use w5500_sim::lan::{standard as s, LanLimits, TcpState};

/// Without a simulator to report `SIPR`, the LAN learns the chip's address from the source
/// of its frames (here an ARP request, RFC 826); a client added before that waits for it and
/// then connects to the chip's listening port, its bytes arriving there in order.
#[test]
fn rfc826_client_waits_for_the_chips_address_then_connects() {
    let mut chip = FakeChip::standard();
    chip.listening.push(4242);
    let mut spec = ClientSpec::new(Proto::Tcp, 4242);
    spec.send = Script::Text(b"hello chip".to_vec());
    spec.timeout = Duration::from_secs(5);
    chip.lan.add_client(spec).unwrap();
    chip.run_for(Duration::from_millis(500));
    assert!(chip.conns.is_empty(), "no address yet, no SYN");
    assert_eq!(chip.lan.chip_ip(), None);
    chip.arp_request(s::GATEWAY);
    chip.run_for(Duration::from_millis(300));
    assert_eq!(chip.lan.chip_ip(), Some(CHIP_IP));
    assert_eq!(chip.conns.len(), 1);
    let c = &chip.conns[0];
    assert_eq!((c.local_port, *c.remote.ip()), (4242, s::PEER));
    assert_eq!(c.rx_buf, b"hello chip");
    let r = chip.lan.client_reports();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].outcome, Outcome::Ok, "{}", r[0]);
    assert_eq!(r[0].detail, "sent and acknowledged");
}

/// An address that never comes: the exchange ends at its timeout as `NoAddress`, reported
/// once, and the client's summary counts it.
#[test]
fn client_without_an_address_reports_no_address_at_its_timeout() {
    let mut chip = FakeChip::standard();
    let id = chip
        .lan
        .add_clients("udp name=lost port=7 send=text:x expect=echo timeout=2s")
        .unwrap()[0];
    chip.run_for(Duration::from_millis(1999));
    assert_eq!(chip.lan.clients_pending(), 1);
    chip.run_for(Duration::from_millis(2));
    let r = chip.lan.take_client_reports();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].outcome, Outcome::NoAddress);
    assert_eq!(r[0].finished.as_millis(), 2000);
    let sum = chip.lan.client_summary(id).unwrap();
    assert_eq!((sum.total, sum.finished, sum.ok), (1, 1, 0));
    assert!(chip.lan.take_client_reports().is_empty());
}

/// A client may only start from a host of the LAN; a spec built in code is validated as the
/// parser validates text.
#[test]
fn clients_must_come_from_a_lan_host_and_make_sense() {
    let mut lan = w5500_sim::Lan::standard();
    let mut spec = ClientSpec::new(Proto::Tcp, 80);
    spec.from = Ipv4Addr::new(10, 77, 0, 99);
    let e = lan.add_client(spec).unwrap_err();
    assert!(e.message.contains("no LAN host at 10.77.0.99"), "{e}");
    let mut spec = ClientSpec::new(Proto::Udp, 80);
    spec.expect = Expect::Close;
    assert!(lan.add_client(spec).is_err());
    assert!(lan
        .add_clients("tcp port=1; tcp port=2 from=10.77.0.99")
        .is_err());
    assert_eq!(lan.clients_pending(), 0, "nothing added when one is wrong");
}

/// RFC 9293 §3.10.7.1 refusal as admission control: with `max_open` 2 the echo host answers a
/// third simultaneous SYN with RST and counts it, while the two admitted connections work.
#[test]
fn rfc9293_3_10_7_1_host_refuses_syns_beyond_max_open_with_rst() {
    let mut lan = w5500_sim::Lan::standard();
    lan.set_limits(LanLimits {
        max_open: 2,
        ..LanLimits::HOST
    });
    let mut chip = FakeChip::new(lan);
    let echo = SocketAddrV4::new(s::ECHO, 7);
    let cs: Vec<usize> = (0..3)
        .map(|i| chip.connect(41000 + i, echo, 100 * u32::from(i), 2048))
        .collect();
    chip.run_for(Duration::from_millis(5));
    assert!(chip.conns[cs[0]].established && chip.conns[cs[1]].established);
    assert!(chip.conns[cs[2]].reset && !chip.conns[cs[2]].established);
    let h = chip.lan.host_by_ip(s::ECHO).unwrap();
    assert_eq!(chip.lan.host(h).unwrap().syns_refused, 1);
    chip.send_data(cs[1], b"still fine");
    chip.run_for(Duration::from_millis(5));
    assert_eq!(chip.read_all(cs[1]), b"still fine");
}

/// The HTTP host closes first, so each fetch leaves a TIME-WAIT there (RFC 9293 §3.6); with
/// `max_time_wait` 2, five fetches leave two, the other three ended early and counted, and the
/// finished connections kept are `keep_closed` at most, their buffers given back.
#[test]
fn rfc9293_time_wait_and_closed_connections_are_bounded_per_host() {
    let mut lan = w5500_sim::Lan::standard();
    lan.set_limits(LanLimits {
        keep_closed: 1,
        max_time_wait: 2,
        ..LanLimits::HOST
    });
    let mut chip = FakeChip::new(lan);
    let http = SocketAddrV4::new(s::HTTP, 80);
    for i in 0..5u16 {
        let c = chip.connect(42000 + i, http, 7, 65535);
        chip.run_for(Duration::from_millis(2));
        chip.send_data(c, b"GET /bytes/3000 HTTP/1.0\r\n\r\n");
        chip.run_for(Duration::from_millis(5));
        let got = chip.read_all(c);
        assert!(got.starts_with(b"HTTP/1.1 200 OK"), "fetch {i}");
        assert!(got.ends_with(&w5500_sim::lan::util::pattern(2990, 10)));
        assert!(chip.conns[c].peer_fin);
        chip.fin(c);
        chip.run_for(Duration::from_millis(2));
    }
    let h = chip.lan.host_by_ip(s::HTTP).unwrap();
    let host = chip.lan.host(h).unwrap();
    let states: Vec<TcpState> = host.conns().iter().map(|c| c.state).collect();
    let tw = states.iter().filter(|s| **s == TcpState::TimeWait).count();
    let closed = states.iter().filter(|s| **s == TcpState::Closed).count();
    assert_eq!((tw, closed), (2, 1), "{states:?}");
    assert_eq!(host.time_wait_dropped, 3);
    assert_eq!(host.buffered_capacity(), 0);
    // 2·MSL later nothing is in TIME-WAIT and one closed connection is kept.
    chip.run_for(Duration::from_secs(2));
    let host = chip.lan.host(h).unwrap();
    assert_eq!(host.conns().len(), 1);
    assert_eq!(chip.lan.footprint().time_wait, 0);
}

/// The switch holds at most `max_frames_in_flight` frames; the rest are dropped and counted
/// (the chip's TCP would retransmit them).
#[test]
fn switch_drops_frames_beyond_its_bound() {
    let mut lan = w5500_sim::Lan::standard();
    lan.set_limits(LanLimits {
        max_frames_in_flight: 12,
        ..LanLimits::HOST
    });
    let mut chip = FakeChip::new(lan);
    for i in 0..20u16 {
        chip.send_udp(40000 + i, SocketAddrV4::new(s::ECHO, 7), b"x");
    }
    assert_eq!(chip.lan.frames_dropped, 8);
    // The twelve admitted datagrams are echoed (after the echo host's ARP for the chip, a
    // broadcast that fits once the burst has drained).
    chip.run_for(Duration::from_secs(3));
    let echoed = chip
        .udp_received()
        .iter()
        .filter(|(_, src, _, d)| *src == s::ECHO && d.payload == b"x")
        .count();
    assert_eq!(echoed, 12);
}
