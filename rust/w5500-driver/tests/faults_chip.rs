//! Chip and peer faults in the middle of work (research notes §1.12 reset, §1.14 traps, §4):
//! brown-out, the chip vanishing, a command that never completes, the peer resetting or
//! closing while we send, and a receiver that stalls for a long time.
mod support;

use std::net::SocketAddrV4;
use support::*;
use w5500_driver::regs::{common as creg, Block};
use w5500_sim::lan::util::{pattern, Fnv1a};
use w5500_sim::lan::TcpRecorder;
use w5500_sim::ViolationKind;

/// DS §5.5.1 / research notes §1.12: a brown-out in the middle of work puts every register
/// back to its reset value. The next service pass sees SIMR at its reset value 0, confirms
/// with VERSIONR, programs SHAR/SIPR/SUBR/GAR/RTR/RCR/buffers/masks again; the open TCP
/// connection fails with ECONNRESET (then EOF), the UDP socket works again on its port, the
/// listener listens again, and every resource is back after close.
#[test]
fn ds_5_5_brown_out_mid_transfer_is_detected_and_the_chip_reinitialised() {
    let mut c = cfg();
    c.chip.retry_time = 1_000;
    c.chip.retry_count = 5;
    let rig = rig_with(c);
    let bsd = &rig.bsd;
    let t = tcp_connect(bsd, standard::ECHO, 7);
    bsd.send(t, &pattern(0, 1000), None, nf()).unwrap();
    assert_eq!(recv_exact(bsd, t, 1000), pattern(0, 1000));
    let u = bsd.socket(SockType::Datagram).unwrap();
    bsd.bind(u, any(5353)).unwrap();
    bsd.set_option(u, SockOpt::RcvTimeout(Some(2_000))).unwrap();
    let l = bsd.socket(SockType::Stream).unwrap();
    bsd.bind(l, any(8080)).unwrap();
    bsd.listen(l, 1).unwrap();
    // Data in flight when the power dips.
    bsd.send(t, &pattern(0, 1500), None, dontwait()).unwrap();
    let t_reset = rig.with_sim(|s| {
        s.inject_brown_out();
        s.now()
    });
    let regs = |rig: &Rig<Lan>| {
        rig.bsd.os().with_stack(|s| {
            let c = s.chip();
            (c.mac().unwrap(), c.ipv4().unwrap(), c.retry().unwrap())
        })
    };
    // The chip really lost its configuration.
    assert_eq!(regs(&rig).0, [0; 6]);
    let mut b = [0u8; 4096];
    let r = bsd.recv(t, &mut b, nf());
    assert_eq!(r, Err(Error::ConnectionReset));
    assert_eq!(r.unwrap_err().errno(), w5500_driver::Errno::ECONNRESET);
    assert_eq!(bsd.recv(t, &mut b, nf()).map(|(n, _)| n), Ok(0));
    assert_eq!(bsd.send(t, b"x", None, nf()), Err(Error::BrokenPipe));
    // The service routine (interrupt thread or poll) notices the reset once the chip answers
    // again (PLL lock, 1 ms).
    idle(&rig, 5);
    service(&rig);
    assert_eq!(bsd.os().with_stack(|s| s.chip_resets()), 1);
    let (mac, (ip, mask, gw), retry) = regs(&rig);
    assert_eq!(mac, cfg().chip.mac);
    assert_eq!((ip, mask, gw), (ME, standard::NETMASK, standard::GATEWAY));
    assert_eq!(retry, (1_000, 5));
    let simr = bsd
        .os()
        .with_stack(|s| s.chip().bus().read_u8(Block::Common, creg::SIMR))
        .unwrap();
    assert_eq!(simr, 0xff);
    // UDP works again on the same port (once the PHY, reset too, has its link back).
    idle(&rig, 50);
    service(&rig);
    let echo = SocketAddrV4::new(standard::ECHO, 7);
    bsd.send(u, b"after", Some(echo), nf()).unwrap();
    let (n, from) = bsd.recv(u, &mut b, nf()).unwrap();
    assert_eq!((&b[..n], from), (&b"after"[..], echo));
    assert_eq!(bsd.local_addr(u).unwrap().port(), 5353);
    // The listener listens again.
    let peer = host(&rig, standard::PEER);
    rig.with_sim(|s| {
        s.network_mut()
            .tcp_connect_recorder(peer, SocketAddrV4::new(ME, 8080))
    })
    .unwrap();
    let (a, addr) = bsd.accept(l).unwrap();
    assert_eq!(*addr.ip(), standard::PEER);
    // A new connection works.
    let t2 = tcp_connect(bsd, standard::ECHO, 7);
    bsd.send(t2, b"again", None, nf()).unwrap();
    assert_eq!(recv_exact(bsd, t2, 5), b"again");
    for s in [t, u, l, a, t2] {
        bsd.close(s).unwrap();
    }
    idle(&rig, 3_000);
    service(&rig);
    assert_eq!(free_hw(bsd), 8);
    assert!(
        open_hw_on_chip(&rig).is_empty(),
        "{:?}",
        open_hw_on_chip(&rig)
    );
    // The only thing the chip may complain about: accesses in the 1 ms after the reset
    // (PLL lock), which the driver cannot know about before it has seen the reset.
    let v = rig.with_sim(|s| s.violations().to_vec());
    assert!(
        v.iter()
            .all(|v| matches!(v.kind, ViolationKind::AccessDuringReset)
                && v.at.as_micros() - t_reset.as_micros() <= 1_000),
        "{v:?}"
    );
}

/// The chip stops answering (MISO stuck low: every read 0) while a recv() is blocked: the
/// recv returns ENODEV or ECONNRESET (never hangs) within a bounded time, and so does every
/// later call that touches the chip.
#[test]
fn ds_chip_vanishes_mid_operation_calls_fail_bounded() {
    for level in [0x00u8, 0xff] {
        let rig = rig();
        let bsd = &rig.bsd;
        let t = tcp_connect(bsd, standard::ECHO, 7);
        rig.with_sim(|s| s.faults_mut().chip_absent = Some(level));
        let t0 = now_ms(&rig);
        let wall = std::time::Instant::now();
        let mut b = [0u8; 16];
        bsd.set_option(t, SockOpt::RcvTimeout(Some(120_000)))
            .unwrap();
        let r = bsd.recv(t, &mut b, nf());
        let dt = now_ms(&rig) - t0;
        assert!(r.is_err(), "level {level:#x}: {r:?}");
        assert!(dt < 100_000, "level {level:#x}: {dt} ms");
        assert!(wall.elapsed().as_secs() < 30);
        let u = bsd.socket(SockType::Datagram).unwrap();
        let e = bsd
            .send(u, b"x", Some(SocketAddrV4::new(standard::ECHO, 7)), nf())
            .unwrap_err();
        println!("level {level:#x}: recv {r:?} after {dt} ms; sendto {e:?}");
        let _ = bsd.close(t);
        let _ = bsd.close(u);
    }
}

/// DS §4.2 Sn_CR never cleared on one socket (stuck command): that socket's calls fail with
/// EIO (CommandTimeout) at once, the other sockets keep working, and once the fault is gone
/// the hardware socket is usable again.
#[test]
fn ds_4_2_stuck_command_on_one_socket_others_keep_working() {
    let rig = rig();
    let bsd = &rig.bsd;
    let a = tcp_connect(bsd, standard::ECHO, 7);
    let b = tcp_connect(bsd, standard::ECHO, 7000);
    let sa = bsd.os().with_stack(|s| s.hw_socket(a)).unwrap().unwrap();
    rig.with_sim(|s| s.faults_mut().stuck_command = 1 << sa.index());
    // SEND is written without waiting for its acceptance, which is checked before the next
    // command on the socket (DS §3.2 Sn_CR): the stuck command shows at the latest on the
    // next call.
    let e = match bsd.send(a, b"stuck", None, nf()) {
        Err(e) => e,
        Ok(_) => bsd.send(a, b"stuck", None, nf()).unwrap_err(),
    };
    assert!(matches!(e, Error::CommandTimeout { .. }), "{e:?}");
    assert_eq!(e.errno(), w5500_driver::Errno::EIO);
    let data = pattern(7, 20_000);
    assert_eq!(bsd.send(b, &data, None, nf()).unwrap(), data.len());
    assert_eq!(Fnv1a::of(&recv_exact(bsd, b, data.len())), Fnv1a::of(&data));
    let _ = bsd.close(a);
    rig.with_sim(|s| s.faults_mut().stuck_command = 0);
    let c = tcp_connect(bsd, standard::ECHO, 7);
    bsd.send(c, b"fine", None, nf()).unwrap();
    assert_eq!(recv_exact(bsd, c, 4), b"fine");
    bsd.close(b).unwrap();
    bsd.close(c).unwrap();
    idle(&rig, 3_000);
    service(&rig);
    assert_eq!(free_hw(bsd), 8);
}

/// We listen, the LAN peer connects with a recorder the test drives.
fn pair(rig: &Rig<Lan>, port: u16) -> (SocketId, ConnHandle) {
    accepted_pair(rig, port, TcpRecorder::default())
}

/// The peer resets the connection while we are in the middle of a large send (its window is
/// closed so our send is blocked): send() returns ECONNRESET, the next one EPIPE, and the
/// socket is released on close (POSIX).
#[test]
fn posix_peer_reset_while_we_send_is_econnreset_then_epipe() {
    let rig = rig();
    let bsd = &rig.bsd;
    let (c, h) = pair(&rig, 7400);
    // The peer reads nothing: its window closes after 64 KiB or so.
    rig.with_sim(|s| s.network_mut().tcp_set_read_rate(h, Some(0)));
    bsd.set_option(c, SockOpt::SndTimeout(Some(2_000))).unwrap();
    let big = pattern(0, 256 * 1024);
    let n = bsd.send(c, &big, None, nf()).unwrap();
    assert!(n < big.len(), "the peer's window should have stopped us");
    rig.with_sim(|s| s.network_mut().tcp_abort(h));
    let e = bsd.send(c, &big[n..], None, nf()).unwrap_err();
    assert_eq!(e, Error::ConnectionReset);
    let e = bsd.send(c, b"x", None, nf()).unwrap_err();
    assert_eq!(e.errno(), w5500_driver::Errno::EPIPE);
    bsd.close(c).unwrap();
    idle(&rig, 10);
    service(&rig);
    assert_eq!(free_hw(bsd), 8);
    assert_no_violations(&rig);
}

/// The peer closes (FIN) while we send: our direction stays open (CLOSE_WAIT, RFC 793 half
/// close), what we send still arrives; once the peer is gone for good (RST) sends fail.
#[test]
fn rfc793_peer_fin_while_we_send_half_close_then_reset() {
    let rig = rig();
    let bsd = &rig.bsd;
    let (c, h) = pair(&rig, 7401);
    bsd.send(c, &pattern(0, 10_000), None, nf()).unwrap();
    assert!(rig.with_sim(|s| s.network_mut().tcp_close(h)));
    let data = pattern(10_000, 30_000);
    assert_eq!(bsd.send(c, &data, None, nf()).unwrap(), data.len());
    let mut b = [0u8; 8];
    assert_eq!(bsd.recv(c, &mut b, nf()).map(|(n, _)| n), Ok(0), "EOF");
    run_for(&rig, 100, 20);
    let got = rig.with_sim(|s| s.network().tcp_received(h).unwrap().to_vec());
    assert_eq!(got.len(), 40_000);
    assert_eq!(Fnv1a::of(&got), Fnv1a::of(&pattern(0, 40_000)));
    rig.with_sim(|s| s.network_mut().tcp_abort(h));
    let mut failed = None;
    for _ in 0..10 {
        if let Err(e) = bsd.send(c, b"more", None, nf()) {
            failed = Some(e);
            break;
        }
        idle(&rig, 100);
    }
    assert!(
        matches!(failed, Some(Error::ConnectionReset | Error::BrokenPipe)),
        "{failed:?}"
    );
    bsd.close(c).unwrap();
}

/// Our RX buffer stays full for a long time (the application does not read for 10 minutes of
/// simulated time while the byte source keeps its data coming): the chip's zero window holds
/// the sender (DS §5.2 RECV reopens the window), and when reading resumes every byte of the
/// 1 MiB stream arrives in order, nothing lost.
#[test]
fn ds_5_2_rx_buffer_full_for_a_long_time_nothing_lost() {
    let rig = rig();
    let bsd = &rig.bsd;
    let s = tcp_connect(bsd, standard::BULK, 19);
    let total = standard::SOURCE_BYTES as usize;
    let mut hash = Fnv1a::new();
    let mut got = 0usize;
    let mut buf = vec![0u8; 4096];
    let (n, _) = bsd.recv(s, &mut buf, nf()).unwrap();
    hash.update(&buf[..n]);
    got += n;
    // Ten minutes without reading, in 1 s steps, servicing the chip as the interrupt
    // thread would.
    run_for(&rig, 600, 1_000);
    assert_eq!(
        bsd.bytes_available(s).unwrap(),
        2048,
        "the 2 KiB RX ring is full"
    );
    for _ in 0..100_000 {
        let (n, _) = bsd.recv(s, &mut buf, nf()).unwrap();
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        got += n;
    }
    assert_eq!(got, total);
    assert_eq!(hash.0, Fnv1a::of(&pattern(0, total)));
    bsd.close(s).unwrap();
    assert_no_violations(&rig);
}
