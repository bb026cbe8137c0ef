//! Test support: a bridge server on a fresh address serving a shared register file.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use w5500_sim::bridge::{ClockMode, ListenAddr, Listener, RegisterFile, Server, ServerConfig};

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
