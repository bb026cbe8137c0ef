//! TCP data transfer with POSIX send()/recv() semantics on the chip's rings (DS §5.2.1 TCP
//! data path, §4.2 Sn_TX_FSR / Sn_RX_RSR, Sn_SR CLOSE_WAIT, Sn_CR DISCON/CLOSE).
mod support;

use support::*;
use w5500_sim::lan::{TcpRecorder, TcpState};

const PORT: u16 = 7100;

/// We listen, the LAN peer connects (a recorder the test drives by hand); returns our
/// connected socket and the peer's handle.
fn pair(rig: &Rig<Lan>, close_on_fin: bool) -> (SocketId, ConnHandle) {
    accepted_pair(
        rig,
        PORT,
        TcpRecorder {
            close_on_peer_fin: close_on_fin,
            ..TcpRecorder::default()
        },
    )
}

fn peer_send(rig: &Rig<Lan>, h: ConnHandle, data: &[u8]) {
    assert!(rig.with_sim(|s| s.network_mut().tcp_send(h, data)));
}

fn peer_got(rig: &Rig<Lan>, h: ConnHandle) -> Vec<u8> {
    rig.with_sim(|s| s.network().tcp_received(h).unwrap().to_vec())
}

fn peer_rec(rig: &Rig<Lan>, h: ConnHandle) -> (Option<u64>, Option<TcpState>) {
    rig.with_sim(|s| {
        let lan = s.network();
        (
            lan.tcp_app::<TcpRecorder>(h)
                .and_then(|r| r.peer_fin_at.map(|t| t.as_millis())),
            lan.tcp_state(h),
        )
    })
}

/// Wait (bounded) until the socket is readable.
fn wait_readable(bsd: &LanBsd, s: SocketId) {
    let mut fds = [PollFd::new(s, true, false)];
    assert_eq!(bsd.poll(&mut fds, Some(2_000)).unwrap(), 1);
}

/// POSIX send() on a non-blocking socket may be short (DS §4.2 Sn_TX_FSR bounds what fits);
/// then EAGAIN until the peer acknowledges; a peer that stops reading closes the window.
#[test]
fn posix_nonblocking_send_is_short_then_eagain() {
    let rig = rig();
    let bsd = &rig.bsd;
    let (c, h) = pair(&rig, false);
    rig.with_sim(|s| s.network_mut().tcp_set_read_rate(h, Some(0)));
    bsd.set_option(c, SockOpt::NonBlocking(true)).unwrap();
    let big = vec![0xa5u8; 200_000];
    let mut total = 0;
    let mut short_seen = false;
    let mut stalled = 0;
    for _ in 0..10_000 {
        match bsd.send(c, &big, None, nf()) {
            Ok(n) => {
                assert!(n > 0 && n <= 2048, "{n}");
                short_seen |= n < big.len();
                total += n;
                stalled = 0;
            }
            Err(Error::WouldBlock) => {
                stalled += 1;
                if stalled > 20 {
                    break;
                }
                idle(&rig, 5);
                service(&rig);
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!(short_seen);
    // The peer buffers up to its 64 KB window, then the window closes and we stall.
    assert!(
        (60_000..big.len()).contains(&total),
        "a stalled peer must stop the sender ({total})"
    );
    assert_eq!(bsd.send(c, &big, None, nf()), Err(Error::WouldBlock));
    // Reading resumes: the rest flows; what the peer got is what we sent.
    rig.with_sim(|s| s.network_mut().tcp_set_read_rate(h, None));
    bsd.set_option(c, SockOpt::NonBlocking(false)).unwrap();
    let more = bsd.send(c, &big[..10_000], None, nf()).unwrap();
    assert_eq!(more, 10_000);
    idle(&rig, 100);
    let got = peer_got(&rig, h);
    assert_eq!(got.len(), total + 10_000);
    assert_no_violations(&rig);
}

/// POSIX MSG_PEEK leaves the data; the next recv() returns the same bytes.
#[test]
fn posix_msg_peek_does_not_consume() {
    let rig = rig();
    let bsd = &rig.bsd;
    let (c, h) = pair(&rig, false);
    peer_send(&rig, h, b"hello world");
    wait_readable(bsd, c);
    let mut b = [0u8; 32];
    let peek = MsgFlags {
        peek: true,
        ..MsgFlags::default()
    };
    let (n, _) = bsd.recv(c, &mut b, peek).unwrap();
    assert_eq!(&b[..n], b"hello world");
    let (n, _) = bsd.recv(c, &mut b[..5], peek).unwrap();
    assert_eq!(&b[..n], b"hello");
    assert_eq!(bsd.bytes_available(c).unwrap(), 11);
    let (n, _) = bsd.recv(c, &mut b, nf()).unwrap();
    assert_eq!(&b[..n], b"hello world");
    assert_eq!(bsd.bytes_available(c).unwrap(), 0);
    assert_no_violations(&rig);
}

/// POSIX MSG_DONTWAIT: EAGAIN at once on a blocking socket with nothing to read.
#[test]
fn posix_msg_dontwait_is_eagain_without_waiting() {
    let rig = rig();
    let bsd = &rig.bsd;
    let (c, _h) = pair(&rig, false);
    let t0 = now_ms(&rig);
    let mut b = [0u8; 8];
    assert_eq!(bsd.recv(c, &mut b, dontwait()), Err(Error::WouldBlock));
    assert!(now_ms(&rig) - t0 < 2);
    assert_no_violations(&rig);
}

/// POSIX MSG_WAITALL: fills the whole buffer across several segments (the echo server returns
/// them piecemeal); returns short only at EOF.
#[test]
fn posix_msg_waitall_fills_the_buffer_or_stops_at_eof() {
    let rig = rig();
    let bsd = &rig.bsd;
    let s = tcp_connect(bsd, standard::ECHO, 7);
    let data: Vec<u8> = (0..6000u32).map(|i| (i * 7) as u8).collect();
    assert_eq!(bsd.send(s, &data, None, nf()).unwrap(), data.len());
    let mut b = vec![0u8; 6000];
    let wa = MsgFlags {
        waitall: true,
        ..MsgFlags::default()
    };
    let (n, _) = bsd.recv(s, &mut b, wa).unwrap();
    assert_eq!(n, 6000);
    assert_eq!(b, data);
    bsd.close(s).unwrap();

    let (c, h) = pair(&rig, false);
    peer_send(&rig, h, &[1u8; 100]);
    rig.with_sim(|s| s.network_mut().tcp_close(h));
    let (n, _) = bsd.recv(c, &mut b[..1000], wa).unwrap();
    assert_eq!(n, 100, "WAITALL returns what came before EOF");
    assert_no_violations(&rig);
}

/// POSIX FIONREAD: bytes waiting (DS §4.2 Sn_RX_RSR).
#[test]
fn posix_fionread_counts_waiting_bytes() {
    let rig = rig();
    let bsd = &rig.bsd;
    let (c, h) = pair(&rig, false);
    assert_eq!(bsd.bytes_available(c).unwrap(), 0);
    peer_send(&rig, h, &[9u8; 123]);
    wait_readable(bsd, c);
    assert_eq!(bsd.bytes_available(c).unwrap(), 123);
    let mut b = [0u8; 23];
    bsd.recv(c, &mut b, nf()).unwrap();
    assert_eq!(bsd.bytes_available(c).unwrap(), 100);
    assert_no_violations(&rig);
}

/// POSIX SO_RCVTIMEO: a blocking recv gives up with EAGAIN after the timeout (simulated time).
#[test]
fn posix_so_rcvtimeo_is_eagain_after_the_timeout() {
    let rig = rig();
    let bsd = &rig.bsd;
    let (c, _h) = pair(&rig, false);
    bsd.set_option(c, SockOpt::RcvTimeout(Some(300))).unwrap();
    let t0 = now_ms(&rig);
    let mut b = [0u8; 8];
    assert_eq!(bsd.recv(c, &mut b, nf()), Err(Error::WouldBlock));
    let dt = now_ms(&rig) - t0;
    assert!((300..=400).contains(&dt), "SO_RCVTIMEO 300 ms took {dt} ms");
    assert_no_violations(&rig);
}

/// POSIX EOF: after the peer's FIN (DS §4.2 SOCK_CLOSE_WAIT) the remaining data is still
/// delivered, then recv() returns 0, and keeps returning 0.
#[test]
fn posix_peer_fin_delivers_remaining_data_then_eof() {
    let rig = rig();
    let bsd = &rig.bsd;
    let (c, h) = pair(&rig, false);
    peer_send(&rig, h, b"last words");
    rig.with_sim(|s| s.network_mut().tcp_close(h));
    idle(&rig, 5);
    service(&rig);
    let mut b = [0u8; 4];
    let mut got = Vec::new();
    for _ in 0..10 {
        let (n, _) = bsd.recv(c, &mut b, nf()).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&b[..n]);
    }
    assert_eq!(got, b"last words");
    assert_eq!(bsd.recv(c, &mut b, nf()).unwrap().0, 0);
    assert_eq!(bsd.recv(c, &mut b, dontwait()).unwrap().0, 0);
    // We can still send in CLOSE_WAIT (half-close).
    assert_eq!(bsd.send(c, b"bye", None, nf()).unwrap(), 3);
    idle(&rig, 5);
    assert_eq!(peer_got(&rig, h), b"bye");
    bsd.close(c).unwrap();
    assert_no_violations(&rig);
}

/// POSIX ECONNRESET: the peer's RST (DS §4.2: ESTABLISHED -> CLOSED without TIMEOUT) fails the
/// next recv() and send().
#[test]
fn posix_remote_reset_is_econnreset() {
    let rig = rig();
    let bsd = &rig.bsd;
    let (c, h) = pair(&rig, false);
    rig.with_sim(|s| s.network_mut().tcp_abort(h));
    let mut b = [0u8; 8];
    assert_eq!(bsd.recv(c, &mut b, nf()), Err(Error::ConnectionReset));
    assert!(bsd.send(c, b"x", None, nf()).is_err());
    bsd.close(c).unwrap();
    idle(&rig, 5);
    service(&rig);
    assert_eq!(free_hw(bsd), 8);
    assert_no_violations(&rig);
}

/// POSIX shutdown(SHUT_WR): the peer sees EOF (our FIN, DS §4.2 Sn_CR DISCON) while we can
/// still read what it sends afterwards; reading before it sends is EAGAIN, not EOF; writing is
/// EPIPE.
#[test]
fn posix_shutdown_wr_peer_sees_eof_we_still_read() {
    let rig = rig();
    let bsd = &rig.bsd;
    let (c, h) = pair(&rig, false);
    bsd.send(c, b"request", None, nf()).unwrap();
    bsd.shutdown(c, false, true).unwrap();
    idle(&rig, 5);
    service(&rig);
    let (fin, state) = peer_rec(&rig, h);
    assert!(fin.is_some(), "peer did not see our FIN");
    assert_eq!(state, Some(TcpState::CloseWait));
    assert_eq!(peer_got(&rig, h), b"request");
    let mut b = [0u8; 16];
    assert_eq!(
        bsd.recv(c, &mut b, dontwait()),
        Err(Error::WouldBlock),
        "half-closed (FIN_WAIT) with nothing received is not EOF"
    );
    assert_eq!(bsd.send(c, b"more", None, nf()), Err(Error::BrokenPipe));
    peer_send(&rig, h, b"response");
    let (n, _) = bsd.recv(c, &mut b, nf()).unwrap();
    assert_eq!(&b[..n], b"response");
    rig.with_sim(|s| s.network_mut().tcp_close(h));
    assert_eq!(bsd.recv(c, &mut b, nf()).unwrap().0, 0);
    bsd.close(c).unwrap();
    idle(&rig, 5);
    service(&rig);
    assert_eq!(free_hw(bsd), 8);
    assert_eq!(open_hw_on_chip(&rig), vec![]);
    assert_no_violations(&rig);
}

/// POSIX close(): the peer sees FIN; once the exchange ends the hardware socket is CLOSED and
/// free at once — never parked in TIME_WAIT (DS §4.2 SOCK_TIME_WAIT).
#[test]
fn posix_close_sends_fin_and_frees_the_socket_without_time_wait() {
    let rig = rig();
    let bsd = &rig.bsd;
    let (c, h) = pair(&rig, true);
    bsd.send(c, b"data before close", None, nf()).unwrap();
    bsd.close(c).unwrap();
    assert_eq!(bsd.send(c, b"x", None, nf()), Err(Error::BadDescriptor));
    idle(&rig, 5);
    service(&rig);
    let (fin, _) = peer_rec(&rig, h);
    assert!(fin.is_some(), "peer did not see FIN");
    assert_eq!(peer_got(&rig, h), b"data before close");
    assert_eq!(free_hw(bsd), 8);
    assert_eq!(
        open_hw_on_chip(&rig),
        vec![],
        "a hardware socket was left open (TIME_WAIT?)"
    );
    assert_no_violations(&rig);
}

/// Blocking send of more than the TX ring: everything goes out, in order.
#[test]
fn posix_blocking_send_larger_than_the_ring_sends_everything() {
    let rig = rig();
    let bsd = &rig.bsd;
    let (c, h) = pair(&rig, false);
    let data: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(bsd.send(c, &data, None, nf()).unwrap(), data.len());
    idle(&rig, 50);
    assert_eq!(peer_got(&rig, h), data);
    assert_no_violations(&rig);
}

/// POSIX: after shutdown(SHUT_WR) and the peer's FIN, the chip passes TIME_WAIT and reaches
/// CLOSED on its own (DS §4.2); that is an orderly end (recv() 0), not ECONNRESET, even when
/// nobody looked at the socket in between.
#[test]
fn posix_orderly_close_after_shutdown_wr_is_eof_not_reset() {
    let rig = rig();
    let bsd = &rig.bsd;
    let (c, h) = pair(&rig, true);
    peer_send(&rig, h, b"tail");
    bsd.shutdown(c, false, true).unwrap();
    // The peer closes on our FIN; let the chip run through TIME_WAIT unobserved.
    idle(&rig, 5_000);
    service(&rig);
    let mut b = [0u8; 16];
    let (n, _) = bsd.recv(c, &mut b, nf()).unwrap();
    assert_eq!(&b[..n], b"tail");
    assert_eq!(bsd.recv(c, &mut b, nf()).unwrap().0, 0);
    bsd.close(c).unwrap();
    assert_eq!(free_hw(bsd), 8);
    assert_no_violations(&rig);
}
