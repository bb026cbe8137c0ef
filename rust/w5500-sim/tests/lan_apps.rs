//! HTTP, echo, byte source and sink fixtures, and the standard topology.

mod support;

use std::net::SocketAddrV4;
use std::time::Duration;

use support::lan::*;
use w5500_sim::lan::apps::TcpEcho;
use w5500_sim::lan::apps::{ByteSink, ByteSource, HttpServer};
use w5500_sim::lan::standard as s;
use w5500_sim::lan::util::{pattern, Fnv1a};

fn http_get(chip: &mut FakeChip, sport: u16, request: &str) -> (String, Vec<u8>) {
    let c = chip.connect(sport, SocketAddrV4::new(s::HTTP, 80), 1, 16384);
    chip.run_for(Duration::from_millis(1));
    chip.send_data(c, request.as_bytes());
    for _ in 0..500 {
        chip.run_for(Duration::from_millis(1));
        chip.read_all(c);
        if chip.conns[c].peer_fin {
            break;
        }
    }
    assert!(
        chip.conns[c].peer_fin,
        "Connection: close means the server sends FIN"
    );
    let all = chip.conns[c].read.clone();
    let split = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    (
        String::from_utf8(all[..split].to_vec()).unwrap(),
        all[split + 4..].to_vec(),
    )
}

#[test]
fn rfc9112_get_known_path_returns_body_with_content_length() {
    let mut chip = FakeChip::standard();
    let (head, body) = http_get(
        &mut chip,
        41000,
        "GET / HTTP/1.1\r\nHost: http.sim.lan\r\n\r\n",
    );
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains(&format!("Content-Length: {}", body.len())));
    assert!(head.contains("Connection: close"));
    assert_eq!(body, b"Hello from the simulated LAN\n");
    let host = chip.lan.host_by_ip(s::HTTP).unwrap();
    let h = chip.lan.tcp_handles_on_port(host, 80)[0];
    let req = chip
        .lan
        .tcp_app::<HttpServer>(h)
        .unwrap()
        .request
        .clone()
        .unwrap();
    assert_eq!(
        (req.method.as_str(), req.path.as_str(), req.status),
        ("GET", "/", 200)
    );
}

#[test]
fn rfc9112_big_body_and_404_and_http10() {
    let mut chip = FakeChip::standard();
    let (head, body) = http_get(&mut chip, 41001, "GET /big HTTP/1.0\r\n\r\n");
    assert!(head.contains("Content-Length: 100000"));
    assert_eq!(body, pattern(0, s::BIG_BODY));
    let (head, _) = http_get(&mut chip, 41002, "GET /missing HTTP/1.1\r\n\r\n");
    assert!(head.starts_with("HTTP/1.1 404 "), "{head}");
    let (head, body) = http_get(&mut chip, 41003, "HEAD / HTTP/1.1\r\n\r\n");
    assert!(head.starts_with("HTTP/1.1 200 "));
    assert!(body.is_empty());
    let (head, _) = http_get(&mut chip, 41004, "POST / HTTP/1.1\r\n\r\n");
    assert!(head.starts_with("HTTP/1.1 405 "));
}

#[test]
fn byte_source_sends_pattern_then_fin() {
    let mut chip = FakeChip::standard();
    let c = chip.connect(41005, SocketAddrV4::new(s::BULK, 19), 1, 16384);
    for _ in 0..3000 {
        chip.run_for(Duration::from_micros(500));
        chip.read_all(c);
        if chip.conns[c].peer_fin {
            break;
        }
    }
    let got = &chip.conns[c].read;
    assert_eq!(got.len() as u64, s::SOURCE_BYTES);
    assert_eq!(Fnv1a::of(got), Fnv1a::of(&pattern(0, got.len())));
    let host = chip.lan.host_by_ip(s::BULK).unwrap();
    let h = chip.lan.tcp_handles_on_port(host, 19)[0];
    assert_eq!(
        chip.lan.tcp_app::<ByteSource>(h).unwrap().sent,
        s::SOURCE_BYTES
    );
    // Throughput is bounded by the 16 KB window and the 100 Mbit/s link: a 1 MiB transfer
    // takes at least 1 MiB * 8 / 100 Mbit/s = 84 ms of simulated time.
    assert!(chip.now.as_micros() >= 84_000, "{}", chip.now);
}

#[test]
fn byte_sink_counts_and_hashes() {
    let mut chip = FakeChip::standard();
    let c = chip.connect(41006, SocketAddrV4::new(s::BULK, 9), 1, 2048);
    chip.run_for(Duration::from_millis(1));
    let data = pattern(0, 300_000);
    chip.send_data(c, &data);
    for _ in 0..2000 {
        chip.run_for(Duration::from_micros(200));
        chip.pump(c);
        if chip.conns[c].send_buf.is_empty() && chip.conns[c].snd_una == chip.conns[c].snd_nxt {
            break;
        }
    }
    chip.fin(c);
    chip.run_for(Duration::from_millis(1));
    let host = chip.lan.host_by_ip(s::BULK).unwrap();
    let h = chip.lan.tcp_handles_on_port(host, 9)[0];
    let sink = chip.lan.tcp_app::<ByteSink>(h).unwrap();
    assert_eq!(sink.received, 300_000);
    assert_eq!(sink.hash.0, Fnv1a::of(&data));
    assert!(sink.matches_pattern);
    assert!(sink.peer_fin_at.is_some());
    assert!(chip.conns[c].peer_fin, "sink closes after the peer");
}

#[test]
fn tcp_echo_on_second_port_and_standard_topology_names() {
    let mut chip = FakeChip::standard();
    for (name, ip) in [
        ("gw", s::GATEWAY),
        ("ns2", s::NS2),
        ("http", s::HTTP),
        ("echo", s::ECHO),
        ("bulk", s::BULK),
        ("peer", s::PEER),
    ] {
        assert_eq!(chip.lan.host_by_name(name), chip.lan.host_by_ip(ip));
        assert!(chip.lan.host_by_ip(ip).is_some());
    }
    let c = chip.connect(41007, SocketAddrV4::new(s::ECHO, 7000), 1, 4096);
    chip.run_for(Duration::from_millis(1));
    chip.send_data(c, &pattern(5, 3000));
    for _ in 0..10 {
        chip.run_for(Duration::from_millis(1));
        chip.read_all(c);
    }
    assert_eq!(chip.conns[c].read, pattern(5, 3000));
    let host = chip.lan.host_by_ip(s::ECHO).unwrap();
    let h = chip.lan.tcp_handles_on_port(host, 7000)[0];
    assert_eq!(chip.lan.tcp_app::<TcpEcho>(h).unwrap().echoed, 3000);
}
