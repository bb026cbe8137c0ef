//! HostNet against real peers in network namespaces. These tests only do something when run
//! by `scripts/realpeer-test.sh`, which creates the namespaces, starts the peers (python
//! http.server, a UDP echo, dnsmasq) and runs this binary inside the dut namespace with
//! `W5K_REALPEER=1`. Otherwise every test prints why it skipped and passes.

mod support;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::hostnet::*;
use support::process::Reap;
use w5500_sim::hostnet::{HostNet, HostNetConfig};
use w5500_sim::net::{ArpOp, MacAddr, TcpFlags};

const CHIP_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 50);

struct Env {
    dut_if: String,
    dut_ip: Ipv4Addr,
    lan_ip: Ipv4Addr,
    lan_ns: String,
}

fn env() -> Option<Env> {
    if std::env::var("W5K_REALPEER").ok().as_deref() != Some("1") {
        eprintln!("skipped: not inside the dut namespace; run scripts/realpeer-test.sh as root");
        return None;
    }
    Some(Env {
        dut_if: std::env::var("W5K_DUT_IF").ok()?,
        dut_ip: std::env::var("W5K_DUT_IP").ok()?.parse().ok()?,
        lan_ip: std::env::var("W5K_LAN_IP").ok()?.parse().ok()?,
        lan_ns: std::env::var("W5K_LAN_NS").ok()?,
    })
}

fn chip(e: &Env, chip_ip: Option<Ipv4Addr>) -> Chip {
    let cfg = HostNetConfig {
        interface: Some(e.dut_if.clone()),
        chip_ip,
        ..HostNetConfig::default()
    };
    Chip::new(HostNet::new(cfg), CHIP_IP)
}

/// RFC 9293 + RFC 1945: the chip (10.77.0.50, a small 1024-byte window) fetches a page from
/// `python3 -m http.server` in the lan namespace through HostNet.
#[test]
fn realpeer_tcp_http_get_from_lan() {
    let Some(e) = env() else { return };
    let mut c = chip(&e, None);
    let remote = SocketAddrV4::new(e.lan_ip, 8080);
    let (mut conn, _) = chip_connect(&mut c, 41000, remote, 1024).expect("SYN-ACK");
    conn.send(&mut c, b"GET /index.html HTTP/1.0\r\nHost: lan\r\n\r\n");
    let resp = conn.recv_to_fin(&mut c, Duration::from_secs(10));
    let text = String::from_utf8_lossy(&resp);
    assert!(text.starts_with("HTTP/1.0 200"), "{text}");
    assert!(text.contains("hello from w5k-lan"), "{text}");
    conn.send_fin(&mut c);
    let (_, ack) = c.wait_tcp(41000, T).expect("ACK of FIN");
    assert_eq!(ack.ack, conn.snd_nxt);
}

/// RFC 768: a datagram to the lan's UDP echo comes back to the chip's own IP and port.
#[test]
fn realpeer_udp_echo_in_lan() {
    let Some(e) = env() else { return };
    let mut c = chip(&e, None);
    c.send_udp(
        CHIP_IP,
        41001,
        SocketAddrV4::new(e.lan_ip, 7777),
        b"echo me",
    );
    let f = c.wait_for(T, |f| udp_of(f).is_some()).expect("echo");
    assert_eq!(udp_of(&f).unwrap().payload, b"echo me");
    assert_eq!(udp_of(&f).unwrap().dst_port, 41001);
    assert_eq!(ipv4_of(&f).unwrap().dst, CHIP_IP);
    assert_eq!(ipv4_of(&f).unwrap().src, e.lan_ip);
}

/// RFC 2131 §4.1: a DISCOVER broadcast from 0.0.0.0:68 (chip without an address) reaches
/// dnsmasq through SO_BINDTODEVICE + SO_BROADCAST and the OFFER comes back broadcast.
#[test]
fn realpeer_dhcp_discover_gets_offer() {
    let Some(e) = env() else { return };
    let mut c = chip(&e, None);
    let xid: u32 = 0x5a5a_0000 | (std::process::id() & 0xffff);
    let mut p = vec![1u8, 1, 6, 0];
    p.extend_from_slice(&xid.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0x80, 0]); // secs, flags = BROADCAST
    p.extend_from_slice(&[0; 16]); // ciaddr, yiaddr, siaddr, giaddr
    p.extend_from_slice(&c.mac.0);
    p.extend_from_slice(&[0; 10 + 64 + 128]);
    p.extend_from_slice(&[0x63, 0x82, 0x53, 0x63, 53, 1, 1, 55, 3, 1, 3, 6, 255]);
    c.send_udp(
        Ipv4Addr::UNSPECIFIED,
        68,
        SocketAddrV4::new(Ipv4Addr::BROADCAST, 67),
        &p,
    );
    let f = c
        .wait_for(T, |f| udp_of(f).is_some_and(|d| d.dst_port == 68))
        .expect("OFFER");
    let d = udp_of(&f).unwrap();
    assert_eq!(d.src_port, 67);
    assert_eq!(d.payload[0], 2, "BOOTREPLY");
    assert_eq!(d.payload[4..8], xid.to_be_bytes());
    assert_eq!(ipv4_of(&f).unwrap().dst, Ipv4Addr::BROADCAST);
    assert_eq!(f.dst, MacAddr::BROADCAST);
    let yiaddr = Ipv4Addr::new(d.payload[16], d.payload[17], d.payload[18], d.payload[19]);
    assert!(
        yiaddr.octets()[3] >= 100 && yiaddr.octets()[3] <= 150,
        "{yiaddr}"
    );
    // Option 53 = 2 (OFFER) right after the magic cookie.
    let opts = &d.payload[240..];
    let pos = opts.windows(3).position(|w| w == [53, 1, 2]);
    assert!(pos.is_some(), "DHCPOFFER option");
}

/// hostfwd-like: a python client in the lan namespace connects to the dut's forwarded port;
/// HostNet ARPs for the chip, sends it SYN, and relays "ping"/"pong" and both FINs.
#[test]
fn realpeer_forwarded_port_from_lan_client() {
    let Some(e) = env() else { return };
    let mut c = chip(&e, Some(CHIP_IP));
    let port = 41002;
    c.net.forward_tcp(port).unwrap();
    let script = format!(
        "import socket\ns=socket.create_connection(('{}',{}),timeout=5)\ns.sendall(b'ping')\n\
         s.shutdown(socket.SHUT_WR)\nr=b''\nwhile True:\n    d=s.recv(100)\n    if not d: break\n    r+=d\n\
         print(r.decode())",
        e.dut_ip, port
    );
    let child = Command::new("ip")
        .args(["netns", "exec", &e.lan_ns, "python3", "-c", &script])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Reap(child);

    let f = c
        .wait_for(T, |f| arp_of(f).is_some())
        .expect("ARP who-has chip");
    let a = *arp_of(&f).unwrap();
    assert_eq!((a.op, a.target_ip), (ArpOp::Request, CHIP_IP));
    c.send_arp_reply(a.sender_ip, a.sender_mac);
    let (f, syn) = c.wait_tcp(port, T).expect("SYN");
    let src = ipv4_of(&f).unwrap().src;
    assert_eq!(src, e.lan_ip, "the chip sees the real peer's address");
    let remote = SocketAddrV4::new(src, syn.src_port);
    let isn = 0x2222_0000u32;
    c.send_tcp(
        port,
        remote,
        isn,
        syn.seq.wrapping_add(1),
        TcpFlags::SYN | TcpFlags::ACK,
        2048,
        &[],
    );
    let mut conn = ChipConn {
        sport: port,
        remote,
        snd_nxt: isn.wrapping_add(1),
        rcv_nxt: syn.seq.wrapping_add(1),
        window: 2048,
    };
    let got = conn.recv_to_fin(&mut c, T); // "ping" then the client's FIN (SHUT_WR)
    assert_eq!(got, b"ping");
    conn.send(&mut c, b"pong");
    conn.send_fin(&mut c);
    let deadline = std::time::Instant::now() + T;
    let status = loop {
        c.pump();
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "client did not finish"
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    assert!(status.success());
    let mut out = String::new();
    std::io::Read::read_to_string(child.0.stdout.as_mut().unwrap(), &mut out).unwrap();
    assert_eq!(out.trim(), "pong");
}
