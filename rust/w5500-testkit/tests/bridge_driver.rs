//! The bridge serves the real simulated chip: our driver, as a remote client would, talks to it
//! over a Unix socket, brings it up and fetches a page from the LAN's HTTP server.
use std::net::SocketAddrV4;

use embedded_hal::delay::DelayNs;
use w5500_driver::chip::{Chip, Config};
use w5500_driver::stack::{RecvFlags, SockType, Stack, StackConfig};
use w5500_driver::Error;
use w5500_sim::bridge::{Client, ClockMode, ListenAddr, Listener, Server, ServerConfig};
use w5500_sim::lan::{standard, Lan};
use w5500_sim::sim::Sim;

/// SPI transactions already advance simulated time; waits just advance a little more.
struct NoDelay;
impl DelayNs for NoDelay {
    fn delay_ns(&mut self, _ns: u32) {}
}

#[test]
fn driver_over_the_bridge_fetches_a_page() {
    let dir = std::env::temp_dir().join(format!("w5k-bridge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let addr = ListenAddr::Unix(dir.join("sim.sock"));
    let listener = Listener::bind(&addr).unwrap();
    let server = std::thread::spawn(move || {
        let config = ServerConfig {
            clock: ClockMode::Sim,
            spi_hz: 20_000_000,
        };
        let mut server = Server::new(Sim::new(Lan::standard()), config);
        server.serve(&listener, Some(1)).unwrap();
    });

    let client = Client::connect(&addr).unwrap();
    let mut chip = Chip::new(client);
    let mut cfg = Config::new([0x02, 0x08, 0xdc, 0, 0, 7]);
    cfg.ip = standard::CHIP_STATIC;
    cfg.netmask = [255, 255, 255, 0].into();
    cfg.gateway = standard::GATEWAY;
    chip.init(&mut NoDelay, &cfg).unwrap();
    let mut stack = Stack::new(chip, StackConfig::default()).unwrap();

    let s = stack.socket(SockType::Stream).unwrap();
    assert_eq!(
        stack.connect(s, SocketAddrV4::new(standard::HTTP, 80)),
        Err(Error::InProgress)
    );
    let mut connected = false;
    for _ in 0..1000 {
        match stack.connect_result(s) {
            Ok(()) => {
                connected = true;
                break;
            }
            Err(Error::WouldBlock) => {}
            Err(e) => panic!("connect: {e}"),
        }
    }
    assert!(connected, "no connection after 1000 polls");
    let req = b"GET / HTTP/1.0\r\n\r\n";
    assert_eq!(stack.send(s, req, None).unwrap(), req.len());
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    for _ in 0..10_000 {
        match stack.recv(s, &mut buf, RecvFlags::default()) {
            Ok((0, _)) => break,
            Ok((n, _)) => got.extend_from_slice(&buf[..n]),
            Err(Error::WouldBlock) => {}
            Err(e) => panic!("recv: {e}"),
        }
    }
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.ends_with("Hello from the simulated LAN\n"), "{text}");
    stack.close(s, 0).unwrap();
    // Dropping the stack drops the client: the server sees the disconnect and, having served
    // its one client, returns.
    drop(stack);
    server.join().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
