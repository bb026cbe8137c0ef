//! Cross-check with drivers that work on real hardware: newAM's `w5500-hl` 0.12,
//! `w5500-dhcp` 0.7 and `w5500-dns` 0.5 (MIT, crates.io, dev-dependencies only) run
//! unchanged on the simulated chip behind the in-memory LAN of [`Lan::standard`].
//!
//! Their calls never block: each test calls the crate, and when there is nothing to do lets
//! simulated time pass up to the next chip or LAN event, with a hard bound on iterations and
//! on simulated time ([`Budget`]). What they do that the datasheet does not promise, and what
//! the simulator reports as driver misuse (`Sim::violations`), is written down in the crate
//! docs, section "Cross-check with newAM's w5500-rs" (`src/lib.rs`); the tests check those
//! findings so that a change on either side shows up here.

mod support;

use std::time::Duration;

use w5500_dhcp::Hostname;
use w5500_hl::io::Read as _;
use w5500_hl::ll::net::{Ipv4Addr, SocketAddrV4};
use w5500_hl::ll::{BufferSize, Registers, Sn, SocketStatus};
use w5500_hl::{Error as HlError, Tcp, Udp};
use w5500_sim::lan::{dhcp, standard, util, HostId, Lan};
use w5500_sim::{SimConfig, SimIntPin, ViolationKind};

use embedded_hal::digital::InputPin;
use support::newam::*;

// ------------------------------------------------------------------------------ TCP client

/// `tcp_connect` + `tcp_write`/`tcp_read` through the LAN's TCP echo server (10.77.0.11:7):
/// `total` bytes, several 16-bit pointer wraps (DS §3.2 Sn_TX_WR/Sn_RX_RD are free-running),
/// every byte compared. Returns the number of SEND-while-busy violations.
fn echo_exchange(kb: BufferSize, total: usize, chunk: usize, torn: bool) -> usize {
    let (sim, mut w) = rig_on(Lan::standard(), true, torn);
    let sn = Sn::Sn0;
    set_buffers(&mut w, sn, kb);
    w.tcp_connect(sn, 40_000, &SocketAddrV4::new(standard::ECHO, 7))
        .unwrap();
    wait_status(&sim, &mut w, sn, SocketStatus::Established, "connect");
    assert!(w.sn_ir(sn).unwrap().con_raised(), "DS §3.2 Sn_IR.CON");
    w.set_sn_ir(sn, 0xFFu8).unwrap();

    let out = data(u64::from(u8::from(kb)) + 7, total);
    let mut back = Vec::with_capacity(total);
    let mut buf = vec![0u8; chunk];
    let mut sent = 0;
    let mut b = Budget::new(&sim, "echo exchange", 2_000_000, Duration::from_secs(30));
    while back.len() < total {
        b.tick(&sim);
        let mut progress = false;
        if sent < total {
            let end = (sent + chunk).min(total);
            let n = usize::from(w.tcp_write(sn, &out[sent..end]).unwrap());
            settle(&sim, &mut w, sn);
            sent += n;
            progress |= n > 0;
        }
        let n = usize::from(w.tcp_read(sn, &mut buf).unwrap());
        settle(&sim, &mut w, sn);
        back.extend_from_slice(&buf[..n]);
        progress |= n > 0;
        if !progress {
            idle(&sim, Duration::from_millis(1));
        }
    }
    assert_eq!(back.len(), total);
    assert_eq!(fletcher(&back), fletcher(&out), "checksum of the echo");
    assert!(back == out, "every echoed byte in order");

    // Graceful close (DS §3.2 Sn_CR DISCON): FIN exchange, then SOCK_CLOSED.
    w.tcp_disconnect(sn).unwrap();
    wait_status(&sim, &mut w, sn, SocketStatus::Closed, "disconnect");
    assert_only_documented_violations(&sim)
}

#[test]
fn hl_tcp_client_echo_256k_2kb_buffers_ds_3_2_sn_tx_wr_rx_rd_wrap() {
    echo_exchange(BufferSize::KB2, 256 * 1024, 1460, false);
}

#[test]
fn hl_tcp_client_echo_256k_16kb_buffers_ds_3_2_sn_txbuf_size() {
    echo_exchange(BufferSize::KB16, 256 * 1024, 4096, false);
}

#[test]
fn hl_tcp_client_echo_64k_4kb_buffers_odd_chunks() {
    echo_exchange(BufferSize::KB4, 64 * 1024, 1000, true);
}

/// The byte source (10.77.0.12:19) sends 1 MiB of the LAN pattern, then FIN: `tcp_reader`
/// (streaming reads, `done` = RX_RD + RECV) gets every byte, then the socket reads
/// SOCK_CLOSE_WAIT with RSR 0 (DS §3.2 Sn_SR 0x1C), and DISCON closes it.
#[test]
fn hl_tcp_client_byte_source_1mib_ds_3_2_sn_sr_close_wait() {
    let (sim, mut w) = rig_bulk();
    let sn = Sn::Sn3;
    set_buffers(&mut w, sn, BufferSize::KB8);
    w.tcp_connect(sn, 40_019, &SocketAddrV4::new(standard::BULK, 19))
        .unwrap();
    wait_status(&sim, &mut w, sn, SocketStatus::Established, "connect");
    let total = standard::SOURCE_BYTES as usize;
    let mut got = 0usize;
    let mut buf = vec![0u8; 2048];
    let mut b = Budget::new(&sim, "byte source", 2_000_000, Duration::from_secs(30));
    loop {
        b.tick(&sim);
        match w.tcp_reader(sn) {
            Ok(mut r) => {
                loop {
                    let n = usize::from(r.read(&mut buf).unwrap());
                    if n == 0 {
                        break;
                    }
                    for (i, &x) in buf[..n].iter().enumerate() {
                        assert_eq!(
                            x,
                            util::pattern_byte((got + i) as u64),
                            "byte {} of the source",
                            got + i
                        );
                    }
                    got += n;
                }
                r.done().unwrap();
                settle(&sim, &mut w, sn);
            }
            Err(HlError::WouldBlock) => {
                if w.sn_sr(sn).unwrap() == Ok(SocketStatus::CloseWait)
                    && w.sn_rx_rsr(sn).unwrap() == 0
                {
                    break;
                }
                idle(&sim, Duration::from_millis(1));
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(got, total, "the whole 1 MiB, then FIN");
    assert!(
        w.sn_ir(sn).unwrap().discon_raised(),
        "DS §3.2 Sn_IR.DISCON on FIN"
    );
    w.tcp_disconnect(sn).unwrap();
    wait_status(&sim, &mut w, sn, SocketStatus::Closed, "last ack");
    assert_only_documented_violations(&sim);
}

// ------------------------------------------------------------------------------ TCP server

/// `tcp_listen` on the chip; the LAN's test peer connects, both sides send 64 KiB and each
/// checks every byte; the peer closes first (DS §3.2 Sn_SR LISTEN → ESTABLISHED → CLOSE_WAIT).
#[test]
fn hl_tcp_server_peer_connects_both_directions_ds_3_2_listen() {
    let (sim, mut w) = rig();
    let sn = Sn::Sn1;
    w.tcp_listen(sn, 8080).unwrap();
    wait_status(&sim, &mut w, sn, SocketStatus::Listen, "listen");
    let peer: HostId = lock(&sim).network().host_by_ip(standard::PEER).unwrap();
    let conn = lock(&sim)
        .network_mut()
        .tcp_connect_recorder(peer, SocketAddrV4::new(standard::CHIP_STATIC, 8080))
        .unwrap();
    wait_status(&sim, &mut w, sn, SocketStatus::Established, "accept");
    assert!(w.sn_ir(sn).unwrap().con_raised(), "DS §3.2 Sn_IR.CON");
    assert_eq!(
        w.sn_dest(sn).unwrap(),
        SocketAddrV4::new(
            standard::PEER,
            lock(&sim).network().tcp_conn(conn).unwrap().local.port()
        ),
        "DS §3.2 Sn_DIPR/Sn_DPORT hold the peer after a passive open"
    );

    const N: usize = 64 * 1024;
    let to_chip = data(11, N);
    let from_chip = data(12, N);
    assert!(lock(&sim).network_mut().tcp_send(conn, &to_chip));
    let mut got = Vec::with_capacity(N);
    let mut sent = 0;
    let mut buf = [0u8; 1500];
    let mut b = Budget::new(&sim, "server exchange", 1_000_000, Duration::from_secs(30));
    while got.len() < N || lock(&sim).network().tcp_received(conn).unwrap().len() < N {
        b.tick(&sim);
        let mut progress = false;
        if sent < N {
            let n = usize::from(
                w.tcp_write(sn, &from_chip[sent..(sent + 1460).min(N)])
                    .unwrap(),
            );
            settle(&sim, &mut w, sn);
            sent += n;
            progress |= n > 0;
        }
        let n = usize::from(w.tcp_read(sn, &mut buf).unwrap());
        settle(&sim, &mut w, sn);
        got.extend_from_slice(&buf[..n]);
        progress |= n > 0;
        if !progress {
            idle(&sim, Duration::from_millis(1));
        }
    }
    assert!(got == to_chip, "peer → chip, every byte");
    assert!(
        lock(&sim).network().tcp_received(conn).unwrap() == from_chip.as_slice(),
        "chip → peer, every byte"
    );
    // The peer closes: the chip goes to CLOSE_WAIT with DISCON; DISCON from there closes.
    assert!(lock(&sim).network_mut().tcp_close(conn));
    wait_status(&sim, &mut w, sn, SocketStatus::CloseWait, "peer FIN");
    assert!(w.sn_ir(sn).unwrap().discon_raised());
    w.tcp_disconnect(sn).unwrap();
    wait_status(&sim, &mut w, sn, SocketStatus::Closed, "last ack");
    assert_only_documented_violations(&sim);
}

// ------------------------------------------------------------------------------ UDP

/// `udp_bind`, `udp_send_to` the LAN's UDP echo (10.77.0.11:7) and `udp_recv_from` the
/// reply (DS §3.2 Sn_MR UDP; the 8-byte RX header of DS §4.2), several sizes up to the
/// 1472-byte UDP MSS; then a datagram from a LAN host, and one from the chip to that host.
#[test]
fn hl_udp_echo_and_lan_host_ds_4_2_udp_header() {
    let (sim, mut w) = rig();
    let sn = Sn::Sn2;
    w.udp_bind(sn, 5555).unwrap();
    assert_eq!(w.sn_sr(sn).unwrap(), Ok(SocketStatus::Udp));
    let echo = SocketAddrV4::new(standard::ECHO, 7);
    let mut buf = vec![0u8; 2048];
    for (i, len) in [1usize, 8, 100, 512, 1000, 1472].into_iter().enumerate() {
        let payload = data(100 + i as u64, len);
        let n = w.udp_send_to(sn, &payload, &echo).unwrap();
        assert_eq!(usize::from(n), len);
        let mut b = Budget::new(&sim, "udp echo", 100_000, Duration::from_secs(5));
        let (n, from) = loop {
            b.tick(&sim);
            match w.udp_recv_from(sn, &mut buf) {
                Ok(r) => break r,
                Err(HlError::WouldBlock) => idle(&sim, Duration::from_millis(1)),
                Err(e) => panic!("{e:?}"),
            }
        };
        assert_eq!(from, echo, "origin from the RX header");
        assert_eq!(
            &buf[..usize::from(n)],
            payload.as_slice(),
            "echo of {len} bytes"
        );
    }
    // The last RECV must be accepted before RSR reflects it (see crate docs, cross-check).
    wait_cr_zero(&sim, &mut w, sn);
    assert_eq!(w.sn_rx_rsr(sn).unwrap(), 0, "nothing else arrived");

    // A LAN host sends to the chip; the chip answers it.
    let peer = lock(&sim).network().host_by_ip(standard::PEER).unwrap();
    lock(&sim).network_mut().bind_udp_recorder(peer, 6000);
    lock(&sim).network_mut().udp_send(
        peer,
        6000,
        SocketAddrV4::new(standard::CHIP_STATIC, 5555),
        b"hello chip",
    );
    let mut b = Budget::new(&sim, "udp from host", 100_000, Duration::from_secs(5));
    let (n, from) = loop {
        b.tick(&sim);
        match w.udp_recv_from(sn, &mut buf) {
            Ok(r) => break r,
            Err(HlError::WouldBlock) => idle(&sim, Duration::from_millis(1)),
            Err(e) => panic!("{e:?}"),
        }
    };
    assert_eq!(from, SocketAddrV4::new(standard::PEER, 6000));
    assert_eq!(&buf[..usize::from(n)], b"hello chip");
    w.udp_send_to(sn, b"hello host", &from).unwrap();
    let mut b = Budget::new(&sim, "udp to host", 100_000, Duration::from_secs(5));
    while lock(&sim).network().udp_recorded(peer, 6000).is_empty() {
        b.tick(&sim);
        idle(&sim, Duration::from_millis(1));
    }
    let rec = lock(&sim).network().udp_recorded(peer, 6000);
    assert_eq!(rec.len(), 1);
    assert_eq!(rec[0].payload, b"hello host");
    assert_eq!(rec[0].src, SocketAddrV4::new(standard::CHIP_STATIC, 5555));
    assert_only_documented_violations(&sim);
}

// ------------------------------------------------------------------------------ DHCP

fn secs(sim: &Shared) -> u32 {
    (lock(sim).now().as_micros() / 1_000_000) as u32
}

/// Drive `Client::process` from the simulated clock until `done`: call it, then let time pass
/// until INTn asserts (the client unmasks RECV on its socket) or its next-call time comes.
fn drive_dhcp(
    sim: &Shared,
    w: &mut Chip,
    client: &mut w5500_dhcp::Client<'_>,
    limit: Duration,
    done: impl Fn(&w5500_dhcp::Client<'_>) -> bool,
) {
    let mut int = SimIntPin::new(sim.clone());
    let mut b = Budget::new(sim, "dhcp", 200_000, limit);
    loop {
        b.tick(sim);
        let now = secs(sim);
        let next = client.process(w, now).unwrap();
        if done(client) {
            return;
        }
        let wake = now.saturating_add(next.max(1));
        while !int.is_low().unwrap() && secs(sim) < wake {
            b.tick(sim);
            idle(sim, Duration::from_millis(100));
        }
    }
}

/// How many messages of `msg_type` the DHCP server on `host` logged in direction `dir`.
fn dhcp_logged(sim: &Shared, host: HostId, dir: dhcp::LogDir, msg_type: u8) -> usize {
    lock(sim)
        .network()
        .udp_app::<dhcp::DhcpServer>(host, dhcp::SERVER_PORT)
        .unwrap()
        .logged(dir, msg_type)
        .len()
}

/// w5500-dhcp gets a lease from the LAN's DHCP server (RFC 2131 §3.1), with SIPR = 0.0.0.0
/// while it has no address (DS §3.1 SIPR); the lease, mask, DNS and times match the server's
/// configuration; at T1 it renews.
#[test]
fn dhcp_client_lease_from_lan_server_rfc2131_3_1() {
    let (sim, mut w) = rig_on(Lan::standard(), false, true);
    let cfg = Lan::standard_dhcp();
    let mut client = w5500_dhcp::Client::new(
        Sn::Sn0,
        0x1234_5678,
        CHIP_MAC,
        Hostname::new_unwrapped("xcheck"),
    );
    client.setup_socket(&mut w).unwrap();
    drive_dhcp(&sim, &mut w, &mut client, Duration::from_secs(30), |c| {
        c.has_lease()
    });
    let ip = client.leased_ip().unwrap();
    let start = u32::from(cfg.pool_start);
    assert!(
        (start..start + cfg.pool_size).contains(&u32::from(ip)),
        "{ip} in the pool"
    );
    assert_eq!(w.sipr().unwrap(), ip, "the client wrote SIPR");
    assert_eq!(w.subr().unwrap(), cfg.subnet_mask);
    assert_eq!(client.dns(), cfg.dns.first().copied(), "first DNS server");
    // The crate de-rates the server's times by 1/8.
    let derate = |t: u32| t - t / 8;
    assert_eq!(client.lease_time(), Some(derate(cfg.lease_secs)));
    assert_eq!(client.t1(), cfg.t1_secs.map(derate));
    assert_eq!(client.t2(), cfg.t2_secs.map(derate));
    // Known defect: GAR comes from the server identifier (option 54), not the router option
    // (3). On the standard LAN both are 10.77.0.1, so GAR happens to be right.
    assert_eq!(cfg.router, Some(cfg.server_id));
    assert_eq!(w.gar().unwrap(), cfg.server_id);

    let gw = lock(&sim).network().host_by_ip(standard::GATEWAY).unwrap();
    assert!(
        lock(&sim)
            .network()
            .udp_app::<dhcp::DhcpServer>(gw, dhcp::SERVER_PORT)
            .unwrap()
            .leases()
            .iter()
            .any(|l| l.ip == ip),
        "the server holds the lease"
    );
    assert_eq!(
        dhcp_logged(&sim, gw, dhcp::LogDir::Received, dhcp::msg::DISCOVER),
        1
    );
    assert_eq!(dhcp_logged(&sim, gw, dhcp::LogDir::Sent, dhcp::msg::ACK), 1);

    // The chip can now use the address: ping-free check, a DNS-free UDP echo.
    w.udp_bind(Sn::Sn1, 5000).unwrap();
    w.udp_send_to(Sn::Sn1, b"leased", &SocketAddrV4::new(standard::ECHO, 7))
        .unwrap();
    let mut buf = [0u8; 16];
    let mut b = Budget::new(&sim, "udp after lease", 100_000, Duration::from_secs(5));
    let (n, _) = loop {
        b.tick(&sim);
        match w.udp_recv_from(Sn::Sn1, &mut buf) {
            Ok(r) => break r,
            Err(HlError::WouldBlock) => idle(&sim, Duration::from_millis(1)),
            Err(e) => panic!("{e:?}"),
        }
    };
    assert_eq!(&buf[..usize::from(n)], b"leased");
    w5500_hl::Common::close(&mut w, Sn::Sn1).unwrap();

    // Renewal at the de-rated T1 (RFC 2131 §4.4.5).
    let t1 = client.t1().unwrap();
    let acks_before = dhcp_logged(&sim, gw, dhcp::LogDir::Sent, dhcp::msg::ACK);
    lock(&sim).advance(Duration::from_secs(u64::from(t1)));
    drive_dhcp(&sim, &mut w, &mut client, Duration::from_secs(60), |c| {
        c.state() == w5500_dhcp::State::Renewing
    });
    drive_dhcp(&sim, &mut w, &mut client, Duration::from_secs(60), |c| {
        c.state() == w5500_dhcp::State::Bound
    });
    assert_eq!(
        dhcp_logged(&sim, gw, dhcp::LogDir::Sent, dhcp::msg::ACK),
        acks_before + 1,
        "renewed"
    );
    assert_eq!(client.leased_ip(), Some(ip), "same address after renewal");
    // RFC 2131 §4.3.2 / §4.4.5: a RENEWING client unicasts its REQUEST with `ciaddr` set and
    // no server identifier. w5500-dhcp 0.7 instead repeats a SELECTING-style REQUEST
    // (broadcast, `ciaddr` 0, options 50 and 54); the server still ACKs it.
    let renewal = {
        let s = lock(&sim);
        let srv = s
            .network()
            .udp_app::<dhcp::DhcpServer>(gw, dhcp::SERVER_PORT)
            .unwrap();
        let reqs = srv.logged(dhcp::LogDir::Received, dhcp::msg::REQUEST);
        assert_eq!(reqs.len(), 2, "one REQUEST for the lease, one at T1");
        reqs[1].clone()
    };
    assert_eq!(renewal.kind, Some(dhcp::RequestKind::Selecting));
    assert_eq!(renewal.ciaddr, Ipv4Addr::UNSPECIFIED);
    assert_eq!(*renewal.dst.ip(), Ipv4Addr::BROADCAST);
    assert_eq!(renewal.server_id, Some(cfg.server_id));
    assert_only_documented_violations(&sim);
}

/// The known w5500-dhcp defect, made visible: with a DHCP server (10.77.0.3) that is not the
/// router (10.77.0.1, option 3), the crate still writes the server identifier into GAR.
#[test]
fn dhcp_client_gateway_comes_from_server_id_not_router_option_rfc2132_3_5() {
    let server_ip = Ipv4Addr::new(10, 77, 0, 3);
    let mut lan = Lan::default();
    lan.add_simple_host("gw", standard::GATEWAY);
    let srv = lan.add_simple_host("dhcp", server_ip);
    let mut cfg = Lan::standard_dhcp();
    cfg.server_id = server_ip;
    cfg.router = Some(standard::GATEWAY);
    lan.bind_udp(srv, dhcp::SERVER_PORT, Box::new(dhcp::DhcpServer::new(cfg)));
    let (sim, mut w) = rig_on(lan, false, true);
    let mut client =
        w5500_dhcp::Client::new(Sn::Sn0, 42, CHIP_MAC, Hostname::new_unwrapped("xcheck"));
    client.setup_socket(&mut w).unwrap();
    drive_dhcp(&sim, &mut w, &mut client, Duration::from_secs(30), |c| {
        c.has_lease()
    });
    assert!(client.leased_ip().is_some());
    assert_eq!(
        w.gar().unwrap(),
        server_ip,
        "w5500-dhcp 0.7 sets GAR from option 54 (the router option says 10.77.0.1)"
    );
    assert_only_documented_violations(&sim);
}

// ------------------------------------------------------------------------------ DNS

/// A DNS answer as the crate decoded it: response code, then (name, data) of every record.
type Answer = (
    Result<w5500_dns::ResponseCode, u8>,
    Vec<(Option<String>, w5500_dns::RData)>,
);

/// w5500-dns resolves names of the LAN's zone through 10.77.0.1 (RFC 1035 §4.1).
fn resolve(sim: &Shared, w: &mut Chip, client: &mut w5500_dns::Client, name: &str) -> Answer {
    let id = client.a_question(w, &Hostname::new(name).unwrap()).unwrap();
    let mut buf = [0u8; 256];
    let mut b = Budget::new(sim, "dns", 100_000, Duration::from_secs(5));
    loop {
        b.tick(sim);
        match client.response(w, &mut buf, id) {
            Ok(mut resp) => {
                let rcode = resp.response_code();
                let mut rrs = Vec::new();
                while let Some(rr) = resp.next_rr().unwrap() {
                    rrs.push((rr.name.map(str::to_owned), rr.rdata));
                }
                resp.done().unwrap();
                return (rcode, rrs);
            }
            Err(HlError::WouldBlock) => idle(sim, Duration::from_millis(1)),
            Err(e) => panic!("{e:?}"),
        }
    }
}

#[test]
fn dns_client_resolves_and_nxdomain_rfc1035_4_1_1() {
    let (sim, mut w) = rig();
    let mut client = w5500_dns::Client::new(Sn::Sn4, 53_053, standard::GATEWAY, 0xD15);
    let (rcode, rrs) = resolve(&sim, &mut w, &mut client, "http.sim.lan");
    assert_eq!(rcode, Ok(w5500_dns::ResponseCode::NoError));
    assert!(
        rrs.contains(&(
            Some("http.sim.lan".to_owned()),
            w5500_dns::RData::A(standard::HTTP)
        )),
        "{rrs:?}"
    );
    // A CNAME chain: the crate skips the CNAMEs (Unsupported) and reaches the A record.
    let (rcode, rrs) = resolve(&sim, &mut w, &mut client, "alias.sim.lan");
    assert_eq!(rcode, Ok(w5500_dns::ResponseCode::NoError));
    assert!(
        rrs.iter()
            .any(|(_, d)| *d == w5500_dns::RData::A(standard::HTTP)),
        "{rrs:?}"
    );
    let (rcode, rrs) = resolve(&sim, &mut w, &mut client, "nosuch.sim.lan");
    assert_eq!(rcode, Ok(w5500_dns::ResponseCode::NameError), "NXDOMAIN");
    assert!(
        rrs.iter()
            .all(|(_, d)| !matches!(d, w5500_dns::RData::A(_))),
        "{rrs:?}"
    );
    assert_only_documented_violations(&sim);
}

// ------------------------------------------------------------------------------ disagreements

/// Disagreement 1 (crate docs): w5500-hl returns right after writing RECV and never waits
/// for `Sn_CR` = 0, but the datasheet only promises that a command has been *accepted* once
/// `Sn_CR` reads 0 (DS §3.2 Sn_CR), and `Sn_RX_RSR` reflects a new `Sn_RX_RD` only through
/// RECV (DS §3.2 Sn_RX_RD). A second `tcp_read` issued at once reads the old `Sn_RX_RSR`
/// with the new `Sn_RX_RD` and hands back bytes that were never received; its RECV then
/// commits a read pointer beyond `Sn_RX_WR`, which the simulator reports as `RxOverRead`.
#[test]
fn hl_tcp_read_twice_without_waiting_for_recv_acceptance_ds_3_2_sn_cr() {
    // The DS gives no bound on how long a command takes to be accepted; with the default 5 µs
    // the second read's RSR bytes straddle the acceptance (a torn read), with 20 µs both are
    // stale. Either way the crate's result depends on a timing the DS does not promise.
    let mut config = SimConfig::default();
    config.chip.command_delay = Duration::from_micros(20);
    let (sim, mut w) = rig_with(Lan::standard(), true, true, config);
    let sn = Sn::Sn1;
    w.tcp_listen(sn, 8081).unwrap();
    wait_status(&sim, &mut w, sn, SocketStatus::Listen, "listen");
    let peer = lock(&sim).network().host_by_ip(standard::PEER).unwrap();
    let conn = lock(&sim)
        .network_mut()
        .tcp_connect_recorder(peer, SocketAddrV4::new(standard::CHIP_STATIC, 8081))
        .unwrap();
    wait_status(&sim, &mut w, sn, SocketStatus::Established, "accept");
    let msg = data(99, 100);
    assert!(lock(&sim).network_mut().tcp_send(conn, &msg));
    let mut b = Budget::new(&sim, "rx", 10_000, Duration::from_secs(5));
    while w.sn_rx_rsr(sn).unwrap() < 100 {
        b.tick(&sim);
        idle(&sim, Duration::from_millis(1));
    }
    let mut buf = [0u8; 1000];
    assert_eq!(w.tcp_read(sn, &mut buf).unwrap(), 100);
    assert_eq!(&buf[..100], msg.as_slice());
    // Called again at once (as a read loop does), the crate reads RSR while its RECV is
    // still pending and gets 100 bytes that were never received.
    let phantom = w.tcp_read(sn, &mut buf).unwrap();
    wait_cr_zero(&sim, &mut w, sn);
    assert_eq!(phantom, 100, "stale RSR with the new RX_RD");
    assert!(
        violations(&sim)
            .iter()
            .any(|k| matches!(k, ViolationKind::RxOverRead { .. })),
        "the phantom read committed RX_RD beyond RX_WR: {:?}",
        violations(&sim)
    );
    // Control: the same sequence on a fresh chip, with the harness waiting for Sn_CR = 0
    // between the calls (`settle`), reads nothing the second time.
    let (sim, mut w) = rig_with(Lan::standard(), true, true, config);
    w.tcp_listen(sn, 8081).unwrap();
    wait_status(&sim, &mut w, sn, SocketStatus::Listen, "listen");
    let conn = lock(&sim)
        .network_mut()
        .tcp_connect_recorder(peer, SocketAddrV4::new(standard::CHIP_STATIC, 8081))
        .unwrap();
    wait_status(&sim, &mut w, sn, SocketStatus::Established, "accept");
    assert!(lock(&sim).network_mut().tcp_send(conn, &msg));
    let mut b = Budget::new(&sim, "rx", 10_000, Duration::from_secs(5));
    while w.sn_rx_rsr(sn).unwrap() < 100 {
        b.tick(&sim);
        idle(&sim, Duration::from_millis(1));
    }
    assert_eq!(w.tcp_read(sn, &mut buf).unwrap(), 100);
    settle(&sim, &mut w, sn);
    assert_eq!(w.tcp_read(sn, &mut buf).unwrap(), 0);
    // With a 20 µs acceptance time `tcp_listen` on an already closed socket also writes OPEN
    // over its still pending CLOSE (it waits for Sn_SR = CLOSED, which is already true):
    // CommandWhilePending, documented; no over-read this time.
    assert_eq!(assert_only_documented_violations(&sim), 1);
}

/// The same missing wait seen from `Sn_RX_RSR` right after `udp_recv_from` returned: the
/// datagram is consumed (RX_RD = RX_WR) but RSR still counts it until RECV is accepted.
#[test]
fn hl_udp_recv_from_returns_before_recv_is_accepted_ds_3_2_sn_rx_rsr() {
    let (sim, mut w) = rig();
    let sn = Sn::Sn2;
    w.udp_bind(sn, 5556).unwrap();
    let peer = lock(&sim).network().host_by_ip(standard::PEER).unwrap();
    lock(&sim).network_mut().udp_send(
        peer,
        6001,
        SocketAddrV4::new(standard::CHIP_STATIC, 5556),
        &[7u8; 40],
    );
    let mut buf = [0u8; 64];
    let mut b = Budget::new(&sim, "udp", 10_000, Duration::from_secs(5));
    let (n, _) = loop {
        b.tick(&sim);
        match w.udp_recv_from(sn, &mut buf) {
            Ok(r) => break r,
            Err(HlError::WouldBlock) => idle(&sim, Duration::from_millis(1)),
            Err(e) => panic!("{e:?}"),
        }
    };
    assert_eq!(n, 40);
    let stale = w.sn_rx_rsr(sn).unwrap();
    let (rd, wr) = (w.sn_rx_rd(sn).unwrap(), w.sn_rx_wr(sn).unwrap());
    assert_eq!(rd, wr, "the crate moved RX_RD past the datagram");
    assert_eq!(
        stale, 48,
        "RSR still counts header + 40 bytes while RECV is pending"
    );
    wait_cr_zero(&sim, &mut w, sn);
    assert_eq!(w.sn_rx_rsr(sn).unwrap(), 0, "RECV accepted: RSR = WR - RD");
}
