//! Our driver on the simulated chip, whose sockets become host sockets in a network namespace
//! (`hostnet`), against real peers from Debian's packages. These tests only do something when
//! run by `scripts/realpeer-test.sh` (root: it creates the namespaces and starts the peers, then
//! runs this binary inside the dut namespace with `W5K_REALPEER=1`); otherwise each test says
//! why it skipped and passes.
//!
//! Peers in the lan namespace (10.77.0.1): python3 http.server on 8080, a UDP echo on 7777, and
//! socat started by the tests themselves.

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use w5500_driver::bsd::MsgFlags;
use w5500_driver::stack::{SockOpt, SockType};
use w5500_sim::hostnet::{HostNet, HostNetConfig};
use w5500_sim::sim::{ClockMode, Sim, SimConfig};
use w5500_testkit::{Rig, RigConfig};

const CHIP_IP: [u8; 4] = [10, 77, 0, 50];

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

/// The driver on a wall-clock simulated chip whose network is the dut namespace.
fn rig(e: &Env) -> (Rig<HostNet>, HostNetConfig) {
    let cfg = HostNetConfig {
        interface: Some(e.dut_if.clone()),
        chip_ip: Some(CHIP_IP.into()),
        ..HostNetConfig::default()
    };
    let sim = Sim::with_config(
        HostNet::new(cfg.clone()),
        SimConfig {
            clock: ClockMode::WallClock,
            ..SimConfig::default()
        },
    );
    let mut rc = RigConfig::static_ip(CHIP_IP, e.lan_ip.octets());
    rc.poll_ms = 5;
    (Rig::new(sim, rc).expect("bring-up"), cfg)
}

/// Kills the child it holds (by PID) when dropped.
struct Reap(Child);
impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn in_lan(e: &Env, args: &[&str]) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", &e.lan_ns]).args(args);
    c
}

fn timeouts(rig: &Rig<HostNet>, s: w5500_driver::stack::SocketId) {
    rig.bsd
        .set_option(s, SockOpt::RcvTimeout(Some(10_000)))
        .unwrap();
    rig.bsd
        .set_option(s, SockOpt::SndTimeout(Some(10_000)))
        .unwrap();
}

/// RFC 9293 client side and RFC 1945: GET from python3's http.server.
#[test]
fn realpeer_driver_fetches_from_python_http_server() {
    let Some(e) = env() else { return };
    let (rig, _) = rig(&e);
    let bsd = &rig.bsd;
    let s = bsd.socket(SockType::Stream).unwrap();
    timeouts(&rig, s);
    bsd.connect(s, SocketAddrV4::new(e.lan_ip, 8080)).unwrap();
    let req = b"GET /index.html HTTP/1.0\r\n\r\n";
    bsd.send(s, req, None, MsgFlags::default()).unwrap();
    let mut resp = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let (n, _) = bsd.recv(s, &mut buf, MsgFlags::default()).unwrap();
        if n == 0 {
            break;
        }
        resp.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&resp);
    assert!(text.starts_with("HTTP/1.0 200"), "{text}");
    assert!(text.contains("hello from w5k-lan"), "{text}");
    bsd.close(s).unwrap();
}

/// 256 KiB through socat's TCP echo, every byte compared (RFC 9293 §3.8 flow control both ways).
#[test]
fn realpeer_driver_tcp_echo_through_socat_integrity() {
    let Some(e) = env() else { return };
    let port = "40007";
    let _srv = Reap(
        in_lan(
            &e,
            &[
                "socat",
                &format!("TCP-LISTEN:{port},bind={},reuseaddr", e.lan_ip),
                "EXEC:cat",
            ],
        )
        .spawn()
        .expect("socat"),
    );
    std::thread::sleep(Duration::from_millis(300));
    let (rig, _) = rig(&e);
    let bsd = &rig.bsd;
    let s = bsd.socket(SockType::Stream).unwrap();
    timeouts(&rig, s);
    bsd.connect(s, SocketAddrV4::new(e.lan_ip, port.parse().unwrap()))
        .unwrap();
    let data: Vec<u8> = (0..256 * 1024u32)
        .map(|i| (i * 7 + i / 251) as u8)
        .collect();
    let mut got = Vec::with_capacity(data.len());
    let mut buf = [0u8; 2048];
    for chunk in data.chunks(4096) {
        assert_eq!(
            bsd.send(s, chunk, None, MsgFlags::default()).unwrap(),
            chunk.len()
        );
        // Drain what has come back so neither side's window stays shut.
        loop {
            let dontwait = MsgFlags {
                dontwait: true,
                ..MsgFlags::default()
            };
            match bsd.recv(s, &mut buf, dontwait) {
                Ok((n, _)) if n > 0 => got.extend_from_slice(&buf[..n]),
                _ => break,
            }
        }
    }
    while got.len() < data.len() {
        let (n, _) = bsd.recv(s, &mut buf, MsgFlags::default()).unwrap();
        assert!(n > 0, "EOF after {} bytes", got.len());
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got == data, "echoed bytes differ");
    bsd.close(s).unwrap();
}

/// UDP (RFC 768) round trips through a real UDP echo.
#[test]
fn realpeer_driver_udp_echo() {
    let Some(e) = env() else { return };
    let (rig, _) = rig(&e);
    let bsd = &rig.bsd;
    let s = bsd.socket(SockType::Datagram).unwrap();
    timeouts(&rig, s);
    let to = SocketAddrV4::new(e.lan_ip, 7777);
    for i in 0..20u32 {
        let msg = format!("datagram {i} {}", "x".repeat(i as usize * 50));
        bsd.send(s, msg.as_bytes(), Some(to), MsgFlags::default())
            .unwrap();
        let mut buf = [0u8; 1500];
        let (n, from) = bsd.recv(s, &mut buf, MsgFlags::default()).unwrap();
        assert_eq!(from, to);
        assert_eq!(&buf[..n], msg.as_bytes());
    }
    bsd.close(s).unwrap();
}

/// The driver as a TCP server (listen/accept, RFC 9293 passive open) accepting a real client
/// (socat in the lan namespace) through a forwarded port, and echoing what it gets.
#[test]
fn realpeer_driver_accepts_a_real_client() {
    let Some(e) = env() else { return };
    let port = 41005u16;
    let (rig, _) = rig(&e);
    rig.with_sim(|s| s.network_mut().forward_tcp(port)).unwrap();
    let bsd = &rig.bsd;
    let l = bsd.socket(SockType::Stream).unwrap();
    bsd.bind(l, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port))
        .unwrap();
    bsd.listen(l, 2).unwrap();
    timeouts(&rig, l);
    let mut client = Reap(
        in_lan(
            &e,
            &[
                "socat",
                "-t",
                "5",
                "-",
                &format!("TCP:{}:{port},connect-timeout=5", e.dut_ip),
            ],
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("socat client"),
    );
    let (c, peer) = bsd.accept(l).unwrap();
    assert_eq!(*peer.ip(), e.lan_ip, "the accepted peer is the real client");
    timeouts(&rig, c);
    {
        use std::io::Write;
        let mut stdin = client.0.stdin.take().unwrap();
        stdin.write_all(b"hello w5500\n").unwrap();
    } // stdin closed: socat half-closes its side
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        let (n, _) = bsd.recv(c, &mut buf, MsgFlags::default()).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, b"hello w5500\n");
    bsd.send(c, b"HELLO BACK\n", None, MsgFlags::default())
        .unwrap();
    bsd.close(c).unwrap();
    let mut out = String::new();
    client
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out, "HELLO BACK\n");
    bsd.close(l).unwrap();
}
