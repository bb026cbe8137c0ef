//! Many threads on one chip (8 hardware sockets, DS §1), and POSIX close() waking a thread
//! blocked on the same socket.
mod support;

use std::net::SocketAddrV4;
use std::sync::mpsc;
use std::time::Duration;
use support::*;
use w5500_sim::lan::util::{pattern, Fnv1a};

/// Wall-clock bound for a thread to report back.
const WALL: Duration = Duration::from_secs(60);

/// All 8 sockets busy from 8 threads at once, each a checksummed echo exchange.
#[test]
fn all_8_sockets_from_8_threads_checksummed_echo() {
    let rig = rig();
    let (tx, rx) = mpsc::channel();
    for t in 0..8u64 {
        let bsd = bsd(&rig);
        let tx = tx.clone();
        std::thread::spawn(move || {
            let r = (|| -> Result<(u64, u64), Error> {
                let s = bsd.socket(SockType::Stream)?;
                let port = if t % 2 == 0 { 7 } else { 7000 };
                bsd.connect(s, SocketAddrV4::new(standard::ECHO, port))?;
                let data = pattern(t * 100_000, 40_000 + t as usize * 1000);
                let mut got = Vec::with_capacity(data.len());
                let mut buf = vec![0u8; 1500];
                for chunk in data.chunks(3000) {
                    bsd.send(s, chunk, None, nf())?;
                    // Read back what is there so neither side's window stalls.
                    while got.len() + 3000 <= data.len() && got.len() < data.len() {
                        match bsd.recv(s, &mut buf, dontwait()) {
                            Ok((n, _)) if n > 0 => got.extend_from_slice(&buf[..n]),
                            _ => break,
                        }
                    }
                }
                while got.len() < data.len() {
                    let (n, _) = bsd.recv(s, &mut buf, nf())?;
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                bsd.close(s)?;
                Ok((Fnv1a::of(&data), Fnv1a::of(&got)))
            })();
            let _ = tx.send((t, r));
        });
    }
    drop(tx);
    for _ in 0..8 {
        let (t, r) = rx.recv_timeout(WALL).expect("a thread hung");
        let (want, got) = r.unwrap_or_else(|e| panic!("thread {t}: {e:?}"));
        assert_eq!(want, got, "thread {t}: echo corrupted");
    }
    assert_no_violations(&rig);
}

fn blocked_then_closed(
    setup: impl FnOnce(&LanBsd) -> SocketId,
    op: fn(&LanBsd, SocketId) -> Error,
) {
    let rig = rig();
    let s = setup(&rig.bsd);
    let (tx, rx) = mpsc::channel();
    let b = bsd(&rig);
    std::thread::spawn(move || {
        let _ = tx.send(op(&b, s));
    });
    // Let the other thread block.
    std::thread::sleep(Duration::from_millis(100));
    assert!(rx.try_recv().is_err(), "the call did not block");
    let t = std::time::Instant::now();
    rig.bsd.close(s).unwrap();
    let e = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("close did not wake the blocked call");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert_eq!(e, Error::BadDescriptor);
    assert_eq!(e.errno(), w5500_driver::Errno::EBADF);
    assert_no_violations(&rig);
}

/// POSIX close() from another thread while recv() is blocked: the recv returns EBADF at once.
#[test]
fn posix_close_wakes_blocked_recv_with_ebadf() {
    blocked_then_closed(
        |bsd| tcp_connect(bsd, standard::ECHO, 7),
        |bsd, s| {
            let mut b = [0u8; 8];
            bsd.recv(s, &mut b, nf()).unwrap_err()
        },
    );
}

/// POSIX close() while accept() is blocked.
#[test]
fn posix_close_wakes_blocked_accept_with_ebadf() {
    blocked_then_closed(
        |bsd| {
            let l = bsd.socket(SockType::Stream).unwrap();
            bsd.bind(l, SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, 8080))
                .unwrap();
            bsd.listen(l, 2).unwrap();
            l
        },
        |bsd, s| bsd.accept(s).unwrap_err(),
    );
}

/// POSIX close() while connect() is blocked (SYNs to an off-subnet host nobody answers).
#[test]
fn posix_close_wakes_blocked_connect_with_ebadf() {
    blocked_then_closed(
        |bsd| bsd.socket(SockType::Stream).unwrap(),
        |bsd, s| {
            bsd.connect(
                s,
                SocketAddrV4::new(std::net::Ipv4Addr::new(10, 99, 0, 1), 80),
            )
            .unwrap_err()
        },
    );
}
