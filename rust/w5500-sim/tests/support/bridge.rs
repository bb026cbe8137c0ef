//! The bridge in tests: a server in a thread on a fresh address serving a shared register
//! file ([`start`]; bridge_roundtrip, bridge_python), and the `w5500-sim` binary started on a
//! fresh Unix socket with a client connected to it ([`start_binary`]; bridge_hostnet).
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use w5500_hl::ll::eh1::vdm::W5500;
use w5500_hl::ll::{Registers, Sn, SocketStatus};
use w5500_sim::bridge::{
    Client, ClockMode, ListenAddr, Listener, RegisterFile, Server, ServerConfig,
};

use super::process::Reap;

pub type Shared = Arc<Mutex<RegisterFile>>;

static N: AtomicUsize = AtomicUsize::new(0);

pub fn unix_addr() -> ListenAddr {
    let n = N.fetch_add(1, Ordering::Relaxed);
    ListenAddr::Unix(
        std::env::temp_dir().join(format!("w5k-bridge-{}-{n}.sock", std::process::id())),
    )
}

pub fn tcp_addr() -> ListenAddr {
    ListenAddr::parse("tcp:127.0.0.1:0").unwrap()
}

/// Start a server on `addr` for `clients` clients; returns where to connect, the server
/// thread and the target.
pub fn start(
    addr: ListenAddr,
    clock: ClockMode,
    clients: usize,
) -> (ListenAddr, JoinHandle<()>, Shared) {
    let target: Shared = Arc::new(Mutex::new(RegisterFile::new(clock, 8_000_000)));
    let listener = Listener::bind(&addr).unwrap();
    let at = listener.local_addr().unwrap();
    let t = target.clone();
    let h = std::thread::spawn(move || {
        let mut server = Server::new(
            t,
            ServerConfig {
                clock,
                spi_hz: 8_000_000,
            },
        );
        server.serve(&listener, Some(clients)).unwrap();
    });
    (at, h, target)
}

/// A Unix socket path for the binary, unique to this test process and `tag`.
pub fn sock_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("w5k-hn-{tag}-{}.sock", std::process::id()))
}

/// Start the binary with `args` on a fresh Unix socket and connect to it (bounded wait).
pub fn start_binary(tag: &str, args: &[&str]) -> (Reap, Client) {
    let path = sock_path(tag);
    let listen = format!("unix:{}", path.display());
    let child = Command::new(env!("CARGO_BIN_EXE_w5500-sim"))
        .args(["--listen", &listen, "--max-clients", "1"])
        .args(args)
        .spawn()
        .unwrap();
    let reap = Reap(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(c) = Client::connect(&ListenAddr::Unix(path.clone())) {
            return (reap, c);
        }
        assert!(Instant::now() < deadline, "w5500-sim did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Poll (bounded, in real time: the chip runs on the wall clock) until `Sn_SR` is `want`.
pub fn wait_sr(w: &mut W5500<Client>, sn: Sn, want: SocketStatus) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while w.sn_sr(sn).unwrap() != Ok(want) {
        assert!(Instant::now() < deadline, "{sn:?} never reached {want:?}");
        std::thread::sleep(Duration::from_millis(2));
    }
}
