//! Link loss (DS §4.1 PHYCFGR.LNK; research notes §4 "link loss handling") during a bulk
//! transfer and during a connect, and what POSIX would show: a short outage is invisible to
//! TCP (the chip retransmits), a long one ends the connection with ETIMEDOUT after the chip's
//! retransmission timeout (DS §4.2 RTR/RCR: 31.8 s with the reset values), and a connect
//! while the link is down is ENETDOWN at once (see bringup.rs `ds_3_1_link_down_connect_is_enetdown`).
mod support;

use std::net::SocketAddrV4;
use support::*;
use w5500_sim::lan::util::{pattern, Fnv1a};

fn link(rig: &Rig<Lan>, up: bool) {
    rig.with_sim(|s| s.faults_mut().link_down = !up);
}

/// Upload `total` bytes to the byte sink, pulling the cable at `down_at` bytes for
/// `outage_ms`. Returns the bytes sent and the error that ended the upload, if any.
fn upload_with_outage(
    rig: &Rig<Lan>,
    total: usize,
    down_at: usize,
    outage_ms: u64,
) -> (usize, Option<Error>) {
    let bsd = &rig.bsd;
    let s = tcp_connect(bsd, standard::BULK, 9);
    bsd.set_option(s, SockOpt::SndTimeout(Some(500))).unwrap();
    let mut off = 0;
    let mut up_at: Option<u64> = None;
    let mut err = None;
    for _ in 0..100_000 {
        if off >= total {
            break;
        }
        if up_at.is_none() && off >= down_at {
            link(rig, false);
            up_at = Some(now_ms(rig) + outage_ms);
        }
        if up_at.is_some_and(|t| now_ms(rig) >= t) {
            link(rig, true);
        }
        let n = (total - off).min(4096);
        match bsd.send(s, &pattern(off as u64, n), None, nf()) {
            Ok(k) => off += k,
            Err(Error::WouldBlock) => {}
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    link(rig, true);
    if err.is_none() {
        bsd.close(s).unwrap();
        // Let the sink see everything and our FIN.
        run_until(rig, 2_000, 50, sink_saw_fin);
    } else {
        bsd.close(s).unwrap();
    }
    (off, err)
}

fn sink(rig: &Rig<Lan>) -> (u64, u64, bool) {
    let (received, hash, matches, _) = sink_view(rig);
    (received, hash, matches)
}

/// A 5 s outage in the middle of a 256 KiB upload: the chip retransmits, TCP survives, every
/// byte arrives in order (checksum) and the application saw no error (EAGAIN from
/// SO_SNDTIMEO only).
#[test]
fn ds_4_1_short_link_outage_during_bulk_upload_is_survived() {
    let rig = rig();
    let total = 256 * 1024;
    let (sent, err) = upload_with_outage(&rig, total, 64 * 1024, 5_000);
    assert_eq!(err, None);
    assert_eq!(sent, total);
    let (received, hash, ok) = sink(&rig);
    assert_eq!(received, total as u64);
    assert!(ok, "bytes out of order or corrupted");
    assert_eq!(hash, Fnv1a::of(&pattern(0, total)));
    assert_eq!(free_hw(&rig.bsd), 8);
    assert_no_violations(&rig);
}

/// A 60 s outage during an upload: the chip's TCP timeout (31.8 s, DS §4.2 RTR/RCR) ends the
/// connection; send() reports ETIMEDOUT, nothing leaks.
#[test]
fn ds_4_2_long_link_outage_during_bulk_upload_is_etimedout() {
    let rig = rig();
    let t0 = now_ms(&rig);
    let (sent, err) = upload_with_outage(&rig, 1 << 20, 64 * 1024, 60_000);
    assert_eq!(err, Some(Error::TimedOut), "sent {sent}");
    assert_eq!(err.unwrap().errno(), w5500_driver::Errno::ETIMEDOUT);
    let dt = now_ms(&rig) - t0;
    assert!((31_000..45_000).contains(&dt), "ended after {dt} ms");
    idle(&rig, 10);
    service(&rig);
    assert_eq!(free_hw(&rig.bsd), 8);
    assert!(
        open_hw_on_chip(&rig).is_empty(),
        "{:?}",
        open_hw_on_chip(&rig)
    );
    assert_no_violations(&rig);
}

/// A short outage in the middle of a download: nothing is lost, the stream is complete.
#[test]
fn ds_4_1_short_link_outage_during_download_loses_nothing() {
    let rig = rig();
    let bsd = &rig.bsd;
    let s = tcp_connect(bsd, standard::BULK, 19);
    bsd.set_option(s, SockOpt::RcvTimeout(Some(500))).unwrap();
    let total = standard::SOURCE_BYTES as usize;
    let mut hash = Fnv1a::new();
    let mut got = 0usize;
    let mut buf = vec![0u8; 4096];
    let mut up_at = None;
    for _ in 0..100_000 {
        if up_at.is_none() && got >= 100_000 {
            link(&rig, false);
            up_at = Some(now_ms(&rig) + 3_000);
        }
        if up_at.is_some_and(|t| now_ms(&rig) >= t) {
            link(&rig, true);
        }
        match bsd.recv(s, &mut buf, nf()) {
            Ok((0, _)) => break,
            Ok((n, _)) => {
                hash.update(&buf[..n]);
                got += n;
            }
            Err(Error::WouldBlock) => {}
            Err(e) => panic!("recv: {e:?}"),
        }
    }
    assert_eq!(got, total);
    assert_eq!(hash.0, Fnv1a::of(&pattern(0, total)));
    bsd.close(s).unwrap();
    assert_no_violations(&rig);
}

/// The cable is pulled right after CONNECT: a 1 s outage is covered by the chip's ARP/SYN
/// retries and the connect succeeds; a long outage ends it with EHOSTUNREACH (ARP timeout,
/// 1.8 s) or ETIMEDOUT (SYN timeout), within the chip's timeout, and nothing leaks.
#[test]
fn ds_4_2_link_loss_during_connect() {
    let rig = rig();
    let bsd = &rig.bsd;
    for (outage, want_ok) in [(1_000u64, true), (120_000, false)] {
        let s = bsd.socket(SockType::Stream).unwrap();
        bsd.set_option(s, SockOpt::NonBlocking(true)).unwrap();
        assert_eq!(
            bsd.connect(s, SocketAddrV4::new(standard::ECHO, 7)),
            Err(Error::InProgress)
        );
        link(&rig, false);
        let t0 = now_ms(&rig);
        let mut fds = [PollFd::new(s, false, true)];
        let mut done = false;
        for _ in 0..1_000 {
            if now_ms(&rig) - t0 >= outage {
                link(&rig, true);
            }
            if bsd.poll(&mut fds, Some(200)).unwrap() == 1 {
                done = true;
                break;
            }
        }
        link(&rig, true);
        assert!(done);
        let dt = now_ms(&rig) - t0;
        let err = bsd.take_error(s).unwrap();
        if want_ok {
            assert_eq!(err, None, "after {dt} ms");
            assert!(fds[0].ready.writable);
            bsd.send(s, b"ping", None, nf()).unwrap();
            bsd.set_option(s, SockOpt::NonBlocking(false)).unwrap();
            assert_eq!(recv_exact(bsd, s, 4), b"ping");
        } else {
            assert!(
                matches!(err, Some(Error::HostUnreachable | Error::TimedOut)),
                "{err:?}"
            );
            assert!(dt <= 32_000, "ended after {dt} ms");
        }
        bsd.close(s).unwrap();
    }
    idle(&rig, 3_000);
    service(&rig);
    assert_eq!(free_hw(bsd), 8);
    assert_no_violations(&rig);
}
