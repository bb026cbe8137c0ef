//! The `w5500-sim` binary with `--backend hostnet`: a bridge client (newAM's `w5500-hl`, an
//! independent driver, over [`Client`]) drives the chip, whose TCP socket becomes a host
//! socket. Only loopback is used (a listener on 127.0.0.1 in this test), so no namespace or
//! root is needed; the runs in network namespaces are in `scripts/realpeer-test.sh`.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use support::bridge::{sock_path, start_binary, wait_sr};
use w5500_hl::io::{Read as _, Write as _};
use w5500_hl::ll::eh1::vdm::W5500;
use w5500_hl::ll::net::{Eui48Addr, Ipv4Addr, SocketAddrV4};
use w5500_hl::ll::{Registers, Sn, SocketStatus};
use w5500_hl::Tcp;
use w5500_sim::bridge::ClockMode;

/// RFC 9293 through HostNet: the chip connects out (to 127.0.0.1, via the synthetic gateway
/// HostNet answers ARP for), sends, and gets the host peer's reply; the HELLO reply says the
/// server runs on the wall clock (hostnet implies it).
#[test]
fn hostnet_backend_carries_a_tcp_exchange_to_a_loopback_peer() {
    let peer = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = peer.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = peer.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hello");
        s.write_all(b"HELLO BACK").unwrap();
    });

    let (_reap, client) = start_binary("tcp", &["--backend", "hostnet", "--chip-ip", "10.77.9.50"]);
    assert_eq!(client.info().clock, ClockMode::Wall);
    let mut w = W5500::new(client);
    assert_eq!(w.version().unwrap(), 0x04, "DS §3.1 VERSIONR");
    w.set_shar(&Eui48Addr::new(0x02, 0x08, 0xdc, 0x77, 0x09, 0x50))
        .unwrap();
    w.set_sipr(&Ipv4Addr::new(10, 77, 9, 50)).unwrap();
    w.set_subr(&Ipv4Addr::new(255, 255, 255, 0)).unwrap();
    w.set_gar(&Ipv4Addr::new(10, 77, 9, 1)).unwrap();

    let to = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
    w.tcp_connect(Sn::Sn0, 40001, &to).unwrap();
    wait_sr(&mut w, Sn::Sn0, SocketStatus::Established);
    let mut writer = w.tcp_writer(Sn::Sn0).unwrap();
    writer.write_all(b"hello").unwrap();
    writer.send().unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    while got.len() < 10 {
        assert!(Instant::now() < deadline, "reply incomplete: {got:?}");
        let mut buf = [0u8; 32];
        match w.tcp_reader(Sn::Sn0) {
            Ok(mut r) => {
                let n = r.read(&mut buf).unwrap();
                got.extend_from_slice(&buf[..usize::from(n)]);
                r.done().unwrap();
            }
            Err(w5500_hl::Error::WouldBlock) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => panic!("tcp_reader: {e:?}"),
        }
    }
    assert_eq!(got, b"HELLO BACK");
    server.join().unwrap();
}

/// A bad `--forward-tcp` (a port another socket holds without SO_REUSEADDR) is a clear error
/// and exit status 1, not a hang.
#[test]
fn hostnet_backend_reports_a_port_it_cannot_forward() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port().to_string();
    let path = sock_path("busy");
    let out = Command::new(env!("CARGO_BIN_EXE_w5500-sim"))
        .args(["--listen", &format!("unix:{}", path.display())])
        .args([
            "--backend",
            "hostnet",
            "--forward-tcp",
            &port,
            "--max-clients",
            "0",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("--forward-tcp {port}")), "{err}");
}
