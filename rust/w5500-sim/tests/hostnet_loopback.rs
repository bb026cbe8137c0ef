//! HostNet against real host sockets on loopback (no namespace, no root needed): the test
//! plays the chip through the `Network` trait and real peers run in threads.

mod support;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::sync::mpsc;
use std::time::Duration;

use support::hostnet::*;
use w5500_sim::hostnet::{HostNet, HostNetConfig, DEFAULT_PEER_MAC};
use w5500_sim::net::{ArpOp, MacAddr, TcpFlags};

const CHIP_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 9, 50);
const LO: Ipv4Addr = Ipv4Addr::LOCALHOST;

fn chip_with(cfg: HostNetConfig) -> Chip {
    Chip::new(HostNet::new(cfg), CHIP_IP)
}

fn chip() -> Chip {
    chip_with(HostNetConfig::default())
}

fn free_port() -> u16 {
    TcpListener::bind((LO, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// RFC 826: every ARP request is answered with the synthetic MAC; a gratuitous ARP for the
/// chip's own address is not (it would make the chip raise IR.CONFLICT, DS §3.1 IR).
#[test]
fn rfc826_arp_request_answered_with_synthetic_mac() {
    let mut c = chip();
    c.send_arp_request(Ipv4Addr::new(10, 77, 9, 1));
    let f = c.wait_for(T, |f| arp_of(f).is_some()).expect("ARP reply");
    let a = *arp_of(&f).unwrap();
    assert_eq!(a.op, ArpOp::Reply);
    assert_eq!(a.sender_mac, DEFAULT_PEER_MAC);
    assert_eq!(a.sender_ip, Ipv4Addr::new(10, 77, 9, 1));
    assert_eq!(a.target_mac, c.mac);
    assert_eq!(a.target_ip, CHIP_IP);
    assert_eq!(f.dst, c.mac);

    c.send_arp_request(CHIP_IP); // gratuitous
    assert!(c
        .wait_for(Duration::from_millis(50), |f| arp_of(f).is_some())
        .is_none());
    assert_eq!(c.net.stats().arp_replies, 1);
}

/// RFC 5227 §2.1.1 (and RFC 2131 §4.4.1): an ARP probe (sender IP 0.0.0.0) for an address
/// nobody in the namespace uses gets no answer, so a DHCP client's conflict check passes; a
/// probe for one of the namespace's own addresses (127.0.0.1 here) is answered: in use.
#[test]
fn rfc5227_arp_probe_answered_only_for_addresses_in_use() {
    let mut c = chip();
    c.ip = Ipv4Addr::UNSPECIFIED;
    // 192.0.2.0/24 (TEST-NET-1) is never a local address.
    c.send_arp_request(Ipv4Addr::new(192, 0, 2, 77));
    assert!(c
        .wait_for(Duration::from_millis(50), |f| arp_of(f).is_some())
        .is_none());
    assert_eq!(c.net.stats().arp_replies, 0);
    c.send_arp_request(LO);
    let f = c.wait_for(T, |f| arp_of(f).is_some()).expect("ARP reply");
    let a = *arp_of(&f).unwrap();
    assert_eq!(a.op, ArpOp::Reply);
    assert_eq!(a.sender_ip, LO);
    assert_eq!(a.target_ip, Ipv4Addr::UNSPECIFIED);
    assert_eq!(c.net.stats().arp_replies, 1);
}

/// RFC 9293 §3.5/§3.8.6: the chip's SYN becomes a host connect; data flows both ways with
/// correct seq/ack; HostNet never sends beyond the chip's window; host EOF becomes FIN; the
/// chip's FIN becomes shutdown(Write) on the host socket.
#[test]
fn rfc9293_tcp_client_exchange_respects_window_and_closes() {
    let listener = TcpListener::bind((LO, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let body: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let expect = body.clone();
    let (tx, rx) = mpsc::channel();
    let server = std::thread::spawn(move || {
        let (mut s, peer) = listener.accept().unwrap();
        let mut line = [0u8; 6];
        s.read_exact(&mut line).unwrap();
        s.write_all(&body).unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).unwrap(); // returns at the chip's FIN
        tx.send((line.to_vec(), rest, peer)).unwrap();
    });

    let mut c = chip();
    let remote = SocketAddrV4::new(LO, port);
    let (mut conn, synack) = chip_connect(&mut c, 40001, remote, 1024).expect("SYN-ACK");
    assert_eq!(synack.mss, Some(1460));
    assert_eq!(synack.window, 16 * 1024, "HostNet advertises its buffer");
    conn.send(&mut c, b"hello\n");
    let got = conn.recv_to_fin(&mut c, Duration::from_secs(10));
    assert_eq!(got.len(), expect.len());
    assert!(got == expect, "byte stream intact");
    conn.send_fin(&mut c);
    let (_, ack) = c.wait_tcp(40001, T).expect("ACK of our FIN");
    assert_eq!(
        ack.ack, conn.snd_nxt,
        "FIN acknowledged once the host socket is shut"
    );

    let (line, rest, _peer) = rx.recv_timeout(T).unwrap();
    assert_eq!(line, b"hello\n");
    assert!(rest.is_empty());
    server.join().unwrap();
    for _ in 0..100 {
        c.pump();
        if c.net.tcp_connections() == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(c.net.tcp_connections(), 0, "closed connection forgotten");
}

/// RFC 9293 §3.10.7.1: a connect the host refuses answers the chip's SYN with RST|ACK.
#[test]
fn rfc9293_syn_to_closed_port_gets_rst_ack() {
    let port = free_port();
    let mut c = chip();
    let err = chip_connect(&mut c, 40002, SocketAddrV4::new(LO, port), 2048)
        .err()
        .expect("RST");
    assert!(err.flags.contains(TcpFlags::RST | TcpFlags::ACK));
    assert_eq!(err.ack, 0x1000_0001);
}

/// A host reset (SO_LINGER 0 close) becomes RST to the chip.
#[test]
fn rfc9293_host_reset_becomes_rst() {
    let listener = TcpListener::bind((LO, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        let s = socket2::Socket::from(s);
        std::thread::sleep(Duration::from_millis(100));
        s.set_linger(Some(Duration::ZERO)).unwrap();
        drop(s);
    });
    let mut c = chip();
    let (_conn, _) = chip_connect(&mut c, 40003, SocketAddrV4::new(LO, port), 2048).unwrap();
    let f = c
        .wait_for(T, |f| {
            tcp_of(f).is_some_and(|s| s.flags.contains(TcpFlags::RST))
        })
        .expect("RST after host reset");
    assert_eq!(tcp_of(&f).unwrap().dst_port, 40003);
    server.join().unwrap();
}

/// The chip's RST closes the host socket abortively: the host peer sees a reset.
#[test]
fn rfc9293_chip_rst_resets_host_peer() {
    let listener = TcpListener::bind((LO, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(T)).unwrap();
        let mut buf = [0u8; 16];
        tx.send(s.read(&mut buf).map_err(|e| e.kind())).unwrap();
    });
    let mut c = chip();
    let (conn, _) = chip_connect(&mut c, 40004, SocketAddrV4::new(LO, port), 2048).unwrap();
    c.pump();
    std::thread::sleep(Duration::from_millis(50));
    c.send_tcp(
        40004,
        conn.remote,
        conn.snd_nxt,
        conn.rcv_nxt,
        TcpFlags::RST | TcpFlags::ACK,
        0,
        &[],
    );
    let r = rx.recv_timeout(T).unwrap();
    assert_eq!(r, Err(std::io::ErrorKind::ConnectionReset));
    assert_eq!(c.net.tcp_connections(), 0);
    server.join().unwrap();
}

/// Data HostNet sent and the chip did not acknowledge is retransmitted from snd_una after the
/// retransmission timeout (RFC 9293 §3.8.1), so nothing read from the host is lost.
#[test]
fn rfc9293_unacked_data_is_retransmitted() {
    let listener = TcpListener::bind((LO, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"abc").unwrap();
        let mut b = Vec::new();
        let _ = s.read_to_end(&mut b);
    });
    let cfg = HostNetConfig {
        rto: Duration::from_millis(30),
        ..HostNetConfig::default()
    };
    let mut c = chip_with(cfg);
    let (mut conn, _) = chip_connect(&mut c, 40005, SocketAddrV4::new(LO, port), 2048).unwrap();
    let (_, first) = c.wait_tcp(40005, T).expect("data");
    assert_eq!(first.payload, b"abc");
    // Do not acknowledge: the same bytes come again at the same sequence number.
    let (_, again) = c.wait_tcp(40005, T).expect("retransmission");
    assert_eq!(again.seq, first.seq);
    assert_eq!(again.payload, b"abc");
    assert!(c.net.stats().retransmits >= 1);
    conn.rcv_nxt = first.seq.wrapping_add(3);
    conn.ack(&mut c);
    conn.send_fin(&mut c);
    c.pump();
    server.join().unwrap();
}

/// A zero window stops the data (only 1-byte probes, RFC 9293 §3.8.6.1); opening the window
/// lets everything through in order.
#[test]
fn rfc9293_zero_window_holds_data_back() {
    let listener = TcpListener::bind((LO, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(&[0x5a; 3000]).unwrap();
    });
    let cfg = HostNetConfig {
        rto: Duration::from_millis(20),
        ..HostNetConfig::default()
    };
    let mut c = chip_with(cfg);
    let remote = SocketAddrV4::new(LO, port);
    let (mut conn, _) = chip_connect(&mut c, 40006, remote, 0).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_millis(150);
    while std::time::Instant::now() < deadline {
        if let Some((_, s)) = c.wait_tcp(40006, Duration::from_millis(10)) {
            assert!(s.payload.len() <= 1, "only probes while the window is 0");
        }
    }
    conn.window = 4096;
    conn.ack(&mut c);
    let data = conn.recv_to_fin(&mut c, Duration::from_secs(10));
    // The probe byte (if any) was not acknowledged, so it is sent again: all 3000 arrive.
    assert_eq!(data.len(), 3000);
    server.join().unwrap();
}

/// UDP: the chip's datagram leaves from its own source port; the answer comes back to the
/// chip's IP (not the host's) and port.
#[test]
fn udp_roundtrip_keeps_port_and_rewrites_address() {
    let echo = UdpSocket::bind((LO, 0)).unwrap();
    let eport = echo.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    let server = std::thread::spawn(move || {
        echo.set_read_timeout(Some(T)).unwrap();
        let mut b = [0u8; 64];
        let (n, from) = echo.recv_from(&mut b).unwrap();
        echo.send_to(&b[..n], from).unwrap();
        tx.send(from).unwrap();
    });
    let mut c = chip();
    let sport = free_port();
    c.send_udp(CHIP_IP, sport, SocketAddrV4::new(LO, eport), b"marco");
    let f = c.wait_for(T, |f| udp_of(f).is_some()).expect("echo");
    let d = udp_of(&f).unwrap();
    let ip = ipv4_of(&f).unwrap();
    assert_eq!(d.payload, b"marco");
    assert_eq!(d.dst_port, sport);
    assert_eq!(d.src_port, eport);
    assert_eq!(ip.dst, CHIP_IP);
    assert_eq!(ip.src, LO);
    assert_eq!(f.dst, c.mac);
    assert_eq!(f.src, DEFAULT_PEER_MAC);
    let from = rx.recv_timeout(T).unwrap();
    assert_eq!(
        from.port(),
        sport,
        "host socket bound to the chip's source port"
    );
    server.join().unwrap();
}

/// hostfwd-like incoming connection: HostNet resolves the chip's MAC with ARP, sends SYN to
/// the chip's IP, and relays both directions and both FINs.
#[test]
fn forward_tcp_accepts_host_connection_for_chip() {
    let port = free_port();
    let cfg = HostNetConfig {
        chip_ip: Some(CHIP_IP),
        ..HostNetConfig::default()
    };
    let mut c = chip_with(cfg);
    c.net.forward_tcp(port).unwrap();
    let client = std::thread::spawn(move || {
        let mut s = TcpStream::connect((LO, port)).unwrap();
        s.set_read_timeout(Some(T)).unwrap();
        s.write_all(b"ping").unwrap();
        let mut r = Vec::new();
        s.read_to_end(&mut r).unwrap();
        s.shutdown(std::net::Shutdown::Both).ok();
        r
    });
    // RFC 826: who-has the chip's IP?
    let f = c.wait_for(T, |f| arp_of(f).is_some()).expect("ARP request");
    let a = *arp_of(&f).unwrap();
    assert_eq!(a.op, ArpOp::Request);
    assert_eq!(a.target_ip, CHIP_IP);
    assert_eq!(f.dst, MacAddr::BROADCAST);
    c.send_arp_reply(a.sender_ip, a.sender_mac);
    let (f, syn) = c.wait_tcp(port, T).expect("SYN");
    assert_eq!(syn.flags, TcpFlags::SYN);
    assert_eq!(ipv4_of(&f).unwrap().dst, CHIP_IP);
    assert_eq!(f.dst, c.mac);
    let remote = SocketAddrV4::new(ipv4_of(&f).unwrap().src, syn.src_port);
    let isn = 0x7000_0000u32;
    c.send_tcp(
        port,
        remote,
        isn,
        syn.seq.wrapping_add(1),
        TcpFlags::SYN | TcpFlags::ACK,
        4096,
        &[],
    );
    let mut conn = ChipConn {
        sport: port,
        remote,
        snd_nxt: isn.wrapping_add(1),
        rcv_nxt: syn.seq.wrapping_add(1),
        window: 4096,
    };
    let (_, ack) = c.wait_tcp(port, T).expect("handshake ACK");
    assert_eq!(ack.ack, conn.snd_nxt);
    let (_, data) = c.wait_tcp(port, T).expect("data");
    assert_eq!(data.payload, b"ping");
    assert_eq!(data.seq, conn.rcv_nxt);
    conn.rcv_nxt = conn.rcv_nxt.wrapping_add(4);
    conn.send(&mut c, b"pong");
    conn.send_fin(&mut c);
    let got = conn.recv_to_fin(&mut c, T);
    assert!(got.is_empty());
    assert_eq!(client.join().unwrap(), b"pong");
}

/// Everything is bounded: a full connection table answers further SYNs with RST.
#[test]
fn connection_table_is_bounded() {
    let listener = TcpListener::bind((LO, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let cfg = HostNetConfig {
        max_tcp: 1,
        ..HostNetConfig::default()
    };
    let mut c = chip_with(cfg);
    let remote = SocketAddrV4::new(LO, port);
    chip_connect(&mut c, 40010, remote, 2048).expect("first connection");
    let err = chip_connect(&mut c, 40011, remote, 2048)
        .err()
        .expect("RST");
    assert!(err.flags.contains(TcpFlags::RST));
    drop(listener);
}

/// Go-back-N on a duplicate ACK: the W5500 keeps no out-of-order data, so when it drops a
/// segment it drops everything after it and answers with a duplicate ACK (RFC 9293 §3.10.7.4:
/// an unacceptable segment gets an ACK). HostNet sends again from SND.UNA at once, not one
/// segment per retransmission timeout (here 10 s: no timer fires in this test).
#[test]
fn rfc9293_duplicate_ack_sends_again_from_snd_una() {
    let listener = TcpListener::bind((LO, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let payload: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    let p2 = payload.clone();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(&p2).unwrap();
    });
    let cfg = HostNetConfig {
        rto: Duration::from_secs(10),
        ..HostNetConfig::default()
    };
    let mut c = chip_with(cfg);
    let (mut conn, _) = chip_connect(&mut c, 40011, SocketAddrV4::new(LO, port), 4096).unwrap();
    let start = conn.rcv_nxt;
    // The first segment is "lost"; the next one arrives out of order: duplicate ACK.
    let (_, lost) = c.wait_tcp(40011, T).expect("first segment");
    assert_eq!(lost.seq, start);
    let (_, ooo) = c.wait_tcp(40011, T).expect("second segment");
    assert_eq!(ooo.seq, start.wrapping_add(lost.payload.len() as u32));
    // Whatever else is in flight reaches the chip (and is dropped there, out of order).
    while c.wait_tcp(40011, Duration::from_millis(100)).is_some() {}
    conn.ack(&mut c);
    // Everything comes again from SND.UNA; the receiver keeps only in-order data.
    let mut data = Vec::new();
    while data.len() < payload.len() {
        let (_, seg) = c.wait_tcp(40011, T).expect("data after the duplicate ACK");
        if seg.seq != conn.rcv_nxt {
            continue;
        }
        data.extend_from_slice(&seg.payload);
        conn.rcv_nxt = conn.rcv_nxt.wrapping_add(seg.payload.len() as u32);
        conn.ack(&mut c);
    }
    assert_eq!(data, payload);
    let st = c.net.stats();
    assert!(st.go_back >= 1, "{st:?}");
    assert_eq!(
        st.retransmits, 0,
        "no retransmission timer was needed: {st:?}"
    );
    server.join().unwrap();
}

/// A zero-window probe byte the chip had no room for (RFC 9293 §3.8.6.1) is sent again, first,
/// as soon as the window opens: the data that follows it is not sent ahead of it.
#[test]
fn rfc9293_probe_byte_not_taken_is_sent_again_first() {
    let listener = TcpListener::bind((LO, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(&[0x5a; 3000]).unwrap();
    });
    // The probe comes one retransmission timeout after the window closed; the timer is long
    // enough that nothing else is retransmitted while the test acts.
    let cfg = HostNetConfig {
        rto: Duration::from_millis(1000),
        ..HostNetConfig::default()
    };
    let mut c = chip_with(cfg);
    let (mut conn, _) = chip_connect(&mut c, 40012, SocketAddrV4::new(LO, port), 0).unwrap();
    let start = conn.rcv_nxt;
    let (_, probe) = c.wait_tcp(40012, T).expect("a zero-window probe");
    assert_eq!((probe.seq, probe.payload.len()), (start, 1));
    // Not taken (window still 0), then the window opens with the probe byte still unacked.
    conn.ack(&mut c);
    conn.window = 4096;
    conn.ack(&mut c);
    let (_, first) = c.wait_tcp(40012, T).expect("data once the window is open");
    assert_eq!(
        first.seq, start,
        "the probe byte's sequence number comes first"
    );
    conn.rcv_nxt = first.seq.wrapping_add(first.payload.len() as u32);
    conn.ack(&mut c);
    let rest = conn.recv_to_fin(&mut c, Duration::from_secs(10));
    assert_eq!(first.payload.len() + rest.len(), 3000);
    assert!(c.net.stats().go_back >= 1);
    server.join().unwrap();
}
