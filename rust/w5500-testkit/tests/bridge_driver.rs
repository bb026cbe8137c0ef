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

/// The bridge's LAN_CLIENT request (the inbound-connection command): a program driving the
/// chip over the bridge makes LAN hosts connect *to* it. Two clients at once send 3000
/// pattern bytes to an echo served through the driver (RFC 862; DS §4.2 LISTEN →
/// ESTABLISHED on the accepted socket), and LAN_REPORTS hands back both reports, once.
#[test]
fn driver_over_the_bridge_serves_the_lan_clients_it_asked_for() {
    let dir = std::env::temp_dir().join(format!("w5k-bridge-lan-{}", std::process::id()));
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
    let ctl = client.clone();
    let mut chip = Chip::new(client);
    let mut cfg = Config::new([0x02, 0x08, 0xdc, 0, 0, 8]);
    cfg.ip = standard::CHIP_STATIC;
    cfg.netmask = [255, 255, 255, 0].into();
    cfg.gateway = standard::GATEWAY;
    chip.init(&mut NoDelay, &cfg).unwrap();
    let mut stack = Stack::new(chip, StackConfig::default()).unwrap();
    let l = stack.socket(SockType::Stream).unwrap();
    stack
        .bind(l, SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, 5000))
        .unwrap();
    stack.listen(l, 2).unwrap();

    // A wrong text is refused with the reason, and nothing is scheduled.
    match ctl.lan_clients("tcp port=5000 count=0") {
        Err(w5500_sim::bridge::ClientError::Remote { status, message }) => {
            assert_eq!(status, w5500_sim::bridge::status::BAD_REQUEST);
            assert!(message.contains("count"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let ids = ctl
        .lan_clients("tcp name=bridged port=5000 count=2 send=pattern:3000 expect=echo")
        .unwrap();
    assert_eq!(ids.len(), 1);

    let mut conns: Vec<w5500_driver::stack::SocketId> = Vec::new();
    let mut done = 0;
    let mut buf = [0u8; 1024];
    let mut reports = Vec::new();
    for _ in 0..20_000 {
        let now_ms = ctl.now().unwrap().as_millis();
        stack.service(now_ms, true).unwrap();
        match stack.accept(l) {
            Ok((c, peer)) => {
                assert_eq!(*peer.ip(), standard::PEER);
                conns.push(c);
            }
            Err(Error::WouldBlock) => {}
            Err(e) => panic!("accept: {e}"),
        }
        conns.retain(|&c| match stack.recv(c, &mut buf, RecvFlags::default()) {
            Ok((0, _)) => {
                stack.close(c, now_ms).unwrap();
                done += 1;
                false
            }
            Ok((n, _)) => {
                assert_eq!(stack.send(c, &buf[..n], None).unwrap(), n);
                true
            }
            Err(Error::WouldBlock) => true,
            Err(e) => panic!("recv: {e}"),
        });
        ctl.advance(std::time::Duration::from_millis(1)).unwrap();
        let (pending, mut got) = ctl.lan_reports().unwrap();
        reports.append(&mut got);
        if done == 2 && pending == 0 {
            break;
        }
    }
    assert_eq!(done, 2);
    assert_eq!(reports.len(), 2, "{reports:?}");
    for (r, text) in &reports {
        assert_eq!(r.outcome, w5500_sim::lan::Outcome::Ok, "{text}");
        assert_eq!(
            (r.client.0, r.sent, r.received),
            (ids[0], 3000, 3000),
            "{text}"
        );
        assert!(text.starts_with("lan client bridged#1."), "{text}");
        assert!(text.ends_with(": echo of 3000 bytes intact"), "{text}");
    }
    // Handed out once.
    assert_eq!(ctl.lan_reports().unwrap(), (0, Vec::new()));
    drop(stack);
    drop(ctl);
    server.join().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
