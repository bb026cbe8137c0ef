//! Concurrency and soak on the simulated clock (research notes §4 "socket exhaustion / leaks",
//! §1.14 traps): many threads at once with checksummed data, and thousands of
//! connect/transfer/close cycles after which every resource is back where it started
//! (hardware sockets, the socket table, background closes, the chip's sockets).
mod support;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::mpsc;
use std::time::{Duration, Instant as Wall};
use support::*;
use w5500_sim::lan::util::{pattern, Fnv1a};

/// Rounds per client thread.
const ROUNDS: usize = 50;
/// Bytes per round.
const ROUND_BYTES: usize = 4_000;
/// Connect/transfer/close cycles.
const CYCLES: usize = 10_000;

/// Resources as the stack and the chip see them.
fn resources(rig: &Rig<Lan>) -> (usize, Option<u64>, Vec<(usize, u8)>, usize) {
    let bsd = &rig.bsd;
    let (free, deadline) = bsd
        .os()
        .with_stack(|s| (s.free_hw_sockets(), s.next_deadline_ms()));
    let valid = bsd.os().with_stack(|s| {
        (0..=0xffffu16)
            .step_by(1)
            .filter(|r| s.is_valid(SocketId::from_raw(*r)))
            .count()
    });
    (free, deadline, open_hw_on_chip(rig), valid)
}

/// Six client threads, each on its own socket, do ROUNDS checksummed echo exchanges with the
/// LAN echo server while one thread runs a poll()-driven server (listener + the accepted
/// connection, 8 hardware sockets in all) echoing a stream the LAN peer sends. No corruption,
/// no deadlock, bounded wall time.
#[test]
fn soak_six_client_threads_and_a_poll_driven_server() {
    let rig = rig();
    let wall = Wall::now();
    let t_sim0 = now_ms(&rig);
    let bsd0 = bsd(&rig);
    let l = bsd0.socket(SockType::Stream).unwrap();
    bsd0.bind(l, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 9100))
        .unwrap();
    bsd0.listen(l, 1).unwrap();
    let peer = host(&rig, standard::PEER);
    let h = rig
        .with_sim(|s| {
            s.network_mut()
                .tcp_connect_recorder(peer, SocketAddrV4::new(ME, 9100))
        })
        .unwrap();
    let (tx, rx) = mpsc::channel();
    // The poll-driven server: one thread, listener and connection in one poll set.
    let server = {
        let bsd = bsd(&rig);
        let tx = tx.clone();
        std::thread::spawn(move || {
            let r = (|| -> Result<usize, Error> {
                let mut conn: Option<SocketId> = None;
                let mut echoed = 0usize;
                let mut buf = vec![0u8; 2048];
                let mut pending: Vec<u8> = Vec::new();
                for _ in 0..200_000 {
                    let mut fds = vec![PollFd::new(l, true, false)];
                    if let Some(c) = conn {
                        fds.push(PollFd::new(c, true, !pending.is_empty()));
                    }
                    bsd.poll(&mut fds, Some(1_000))?;
                    if fds[0].ready.readable && conn.is_none() {
                        conn = Some(bsd.accept(l)?.0);
                        continue;
                    }
                    let Some(c) = conn else { continue };
                    if fds.len() > 1 && fds[1].ready.readable {
                        match bsd.recv(c, &mut buf, dontwait()) {
                            Ok((0, _)) => {
                                bsd.close(c)?;
                                bsd.close(l)?;
                                return Ok(echoed);
                            }
                            Ok((n, _)) => pending.extend_from_slice(&buf[..n]),
                            Err(Error::WouldBlock) => {}
                            Err(e) => return Err(e),
                        }
                    }
                    if !pending.is_empty() {
                        match bsd.send(c, &pending, None, dontwait()) {
                            Ok(n) => {
                                pending.drain(..n);
                                echoed += n;
                            }
                            Err(Error::WouldBlock) => {}
                            Err(e) => return Err(e),
                        }
                    }
                }
                Err(Error::TimedOut)
            })();
            let _ = tx.send((99, r.map(|n| (n as u64, n as u64))));
        })
    };
    // Wait until the server holds its connection (and re-armed its listener).
    for _ in 0..1_000 {
        if free_hw(&rig.bsd) <= 6 {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let stream = pattern(1 << 30, 64 * 1024);
    assert!(rig.with_sim(|s| s.network_mut().tcp_send(h, &stream)));
    for t in 0..6u64 {
        let bsd = bsd(&rig);
        let tx = tx.clone();
        std::thread::spawn(move || {
            let r = (|| -> Result<(u64, u64), Error> {
                let s = bsd.socket(SockType::Stream)?;
                bsd.connect(s, SocketAddrV4::new(standard::ECHO, 7))?;
                let mut sent = Fnv1a::new();
                let mut got = Fnv1a::new();
                let mut buf = vec![0u8; ROUND_BYTES];
                for round in 0..ROUNDS {
                    let data = pattern(t << 32 | (round as u64) << 16, ROUND_BYTES);
                    sent.update(&data);
                    bsd.send(s, &data, None, nf())?;
                    let (n, _) = bsd.recv(
                        s,
                        &mut buf,
                        MsgFlags {
                            waitall: true,
                            ..MsgFlags::default()
                        },
                    )?;
                    got.update(&buf[..n]);
                }
                bsd.close(s)?;
                Ok((sent.0, got.0))
            })();
            let _ = tx.send((t, r));
        });
    }
    drop(tx);
    for _ in 0..6 {
        let (t, r) = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("a client hung");
        let (want, got) = r.unwrap_or_else(|e| panic!("client {t}: {e:?}"));
        assert_eq!(want, got, "client {t}: echo corrupted");
    }
    // The LAN peer has its stream back; then it closes and the server ends.
    for _ in 0..10_000 {
        let n = rig.with_sim(|s| s.network().tcp_received(h).unwrap().len());
        if n >= stream.len() {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let back = rig.with_sim(|s| s.network().tcp_received(h).unwrap().to_vec());
    assert_eq!(
        Fnv1a::of(&back),
        Fnv1a::of(&stream),
        "server echo corrupted"
    );
    assert!(rig.with_sim(|s| s.network_mut().tcp_close(h)));
    let (_, r) = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("server hung");
    assert_eq!(r.unwrap().0, stream.len() as u64);
    server.join().unwrap();
    idle(&rig, 3_000);
    service(&rig);
    let (free, _, open, valid) = resources(&rig);
    assert_eq!((free, open.len(), valid), (8, 0, 0));
    println!(
        "6 clients x {ROUNDS} rounds x {ROUND_BYTES} B + server 64 KiB: sim {} ms, wall {:?}",
        now_ms(&rig) - t_sim0,
        wall.elapsed()
    );
    assert!(wall.elapsed() < Duration::from_secs(120));
    assert_no_violations(&rig);
}

/// 10,000 connect / 1 KiB echo / close cycles: every cycle's data intact, and afterwards the
/// hardware sockets (8 free), the socket table (no valid descriptor), background closes (no
/// deadline but the link poll) and the chip (every socket CLOSED) are as at the start.
#[test]
fn soak_10000_connect_transfer_close_cycles_leave_nothing_behind() {
    let rig = rig();
    let bsd = &rig.bsd;
    let before = resources(&rig);
    assert_eq!((before.0, before.2.len(), before.3), (8, 0, 0));
    let wall = Wall::now();
    let t0 = now_ms(&rig);
    let mut buf = vec![0u8; 1024];
    for i in 0..CYCLES {
        let s = bsd.socket(SockType::Stream).unwrap();
        let port = if i % 2 == 0 { 7 } else { 7000 };
        bsd.connect(s, SocketAddrV4::new(standard::ECHO, port))
            .unwrap_or_else(|e| panic!("cycle {i}: connect {e:?}"));
        let data = pattern(i as u64 * 1024, 1024);
        assert_eq!(bsd.send(s, &data, None, nf()).unwrap(), 1024);
        let (n, _) = bsd
            .recv(
                s,
                &mut buf,
                MsgFlags {
                    waitall: true,
                    ..MsgFlags::default()
                },
            )
            .unwrap();
        assert_eq!(&buf[..n], &data[..], "cycle {i}");
        bsd.close(s).unwrap();
    }
    idle(&rig, 3_000);
    service(&rig);
    let after = resources(&rig);
    let link_poll_only = after.1.is_some_and(|d| d <= now_ms(&rig) + 250);
    println!(
        "{CYCLES} cycles: sim {} ms, wall {:?}, before {before:?}, after {after:?}",
        now_ms(&rig) - t0,
        wall.elapsed()
    );
    assert_eq!((after.0, after.2.len(), after.3), (8, 0, 0));
    assert!(
        link_poll_only,
        "a background close is still pending: {after:?}"
    );
    assert_no_violations(&rig);
}
