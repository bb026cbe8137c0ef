//! "Every wait in the driver has a bound": the driver on a chip whose registers never change
//! (research notes §1.14 trap 2: unbounded waits on `Sn_CR`, SEND_OK and `Sn_SR`
//! transitions are the hang every peer driver had). The SPI device below answers every read
//! from a fixed table (VERSIONR 0x04 so bring-up passes) and ignores every write; each
//! entry point of the blocking API must come back with an error within a bounded number of
//! SPI transactions and bounded (manual) time, with and without socket timeouts.
//!
//! Calls that wait for a *peer* (recv on a quiet socket, accept) wait as POSIX says when no
//! timeout is set; for those the test shows the wait is interruptible (close() from another
//! thread ends it at once) and bounded with SO_RCVTIMEO.

mod support;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use embedded_hal::spi::{ErrorType, Operation, SpiDevice};
use w5500_driver::bsd::{Bsd, Os, PollFd};
use w5500_driver::chip::{Chip, Config};
use w5500_driver::stack::{SockOpt, SockType, SocketId, Stack, StackConfig};
use w5500_driver::Error;

use support::{any, nf};

/// What the frozen chip's registers read (shared, so a test can change the picture between
/// steps, as a chip that froze at some moment would).
#[derive(Default)]
struct Frozen {
    /// `Sn_SR` of every socket.
    sr: AtomicU8,
    /// `Sn_CR` of every socket (0: every command "accepted").
    cr: AtomicU8,
    /// `PHYCFGR`.
    phy: AtomicU8,
    /// `SIMR` (0xFF: what the stack programs; 0: looks like a chip just reset).
    simr: AtomicU8,
    /// SPI transactions so far.
    transactions: AtomicU64,
}

impl Frozen {
    fn read(&self, bsb: u8, addr: u16) -> u8 {
        if bsb == 0 {
            return match addr {
                0x0001..=0x0004 => [10, 77, 0, 1][usize::from(addr - 1)],
                0x0005..=0x0008 => [255, 255, 255, 0][usize::from(addr - 5)],
                0x0009..=0x000e => [0x02, 0x08, 0xdc, 0, 0, 1][usize::from(addr - 9)],
                0x000f..=0x0012 => [10, 77, 0, 50][usize::from(addr - 0x0f)],
                0x0018 => self.simr.load(Ordering::Relaxed),
                0x0019 => 0x07,
                0x001a => 0xd0,
                0x001b => 8,
                0x002e => self.phy.load(Ordering::Relaxed),
                0x0039 => 0x04,
                _ => 0,
            };
        }
        if bsb % 4 == 1 {
            return match addr {
                0x0001 => self.cr.load(Ordering::Relaxed),
                0x0003 => self.sr.load(Ordering::Relaxed),
                0x001e | 0x001f => 2,
                // TX_FSR 0x0800: room for a full 2 KB send, never more, never less.
                0x0020 => 0x08,
                _ => 0,
            };
        }
        0
    }
}

#[derive(Clone)]
struct FrozenSpi(Arc<Frozen>);

impl ErrorType for FrozenSpi {
    type Error = core::convert::Infallible;
}

impl SpiDevice for FrozenSpi {
    fn transaction(&mut self, ops: &mut [Operation<'_, u8>]) -> Result<(), Self::Error> {
        self.0.transactions.fetch_add(1, Ordering::Relaxed);
        let mut header: Vec<u8> = Vec::new();
        for op in ops.iter_mut() {
            match op {
                Operation::Write(w) if header.len() < 3 => header.extend_from_slice(w),
                Operation::Read(buf) if header.len() >= 3 => {
                    let addr = u16::from_be_bytes([header[0], header[1]]);
                    let bsb = header[2] >> 3;
                    for (i, b) in buf.iter_mut().enumerate() {
                        *b = self.0.read(bsb, addr.wrapping_add(i as u16));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// A manual clock: a wait nobody ends jumps the clock to its deadline.
struct ManualOs {
    stack: Mutex<Stack<FrozenSpi>>,
    now: AtomicU64,
    epoch: AtomicU32,
    int_pin: bool,
}

impl Os for ManualOs {
    type Spi = FrozenSpi;

    fn with_stack<R>(&self, f: impl FnOnce(&mut Stack<FrozenSpi>) -> R) -> R {
        f(&mut self.stack.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn now_ms(&self) -> u64 {
        self.now.load(Ordering::SeqCst)
    }

    fn epoch(&self) -> u32 {
        self.epoch.load(Ordering::SeqCst)
    }

    fn wait(&self, _socket: Option<SocketId>, seen: u32, deadline_ms: u64) {
        // Let another thread (a close()) act first; then time moves on.
        std::thread::sleep(Duration::from_micros(50));
        if self.epoch.load(Ordering::SeqCst) != seen {
            return;
        }
        self.now.fetch_max(deadline_ms, Ordering::SeqCst);
    }

    fn notify_all(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    fn has_interrupt_pin(&self) -> bool {
        self.int_pin
    }

    fn poll_interval_ms(&self) -> u64 {
        50
    }
}

struct Rig {
    regs: Arc<Frozen>,
    bsd: Arc<Bsd<ManualOs>>,
}

/// A frozen chip that first looks alive: link up, sockets "open" in `sr`.
fn rig(sr: u8, int_pin: bool) -> Rig {
    let regs = Arc::new(Frozen::default());
    regs.phy.store(0x07, Ordering::Relaxed);
    regs.simr.store(0xff, Ordering::Relaxed);
    let mut chip = Chip::new(FrozenSpi(regs.clone()));
    let mut cfg = Config::new([0x02, 0x08, 0xdc, 0, 0, 1]);
    cfg.ip = Ipv4Addr::new(10, 77, 0, 50);
    cfg.netmask = Ipv4Addr::new(255, 255, 255, 0);
    cfg.gateway = Ipv4Addr::new(10, 77, 0, 1);
    chip.init(&mut embedded_hal_mock::eh1::delay::NoopDelay, &cfg)
        .unwrap();
    let stack = Stack::new(chip, StackConfig::default()).unwrap();
    regs.sr.store(sr, Ordering::Relaxed);
    let os = ManualOs {
        stack: Mutex::new(stack),
        now: AtomicU64::new(0),
        epoch: AtomicU32::new(0),
        int_pin,
    };
    Rig {
        regs,
        bsd: Arc::new(Bsd::new(os)),
    }
}

/// Most SPI transactions one call may take (the driver's longest bounded wait is the stall
/// guard: ~65 s of 50 ms poll passes, a few transactions each).
const MAX_TRANSACTIONS: u64 = 100_000;
/// Most (manual) time one call may take: the stall guard is 2 × TCPTO (31.8 s) + 1 s; a TCP
/// SEND needs two such periods without progress.
const MAX_MS: u64 = 140_000;

/// Run `f`, check it came back within the bounds, return its result.
fn bounded<T>(rig: &Rig, what: &str, f: impl FnOnce(&Bsd<ManualOs>) -> T) -> T {
    let t0 = rig.bsd.os().now_ms();
    let n0 = rig.regs.transactions.load(Ordering::Relaxed);
    let r = f(&rig.bsd);
    let dt = rig.bsd.os().now_ms() - t0;
    let dn = rig.regs.transactions.load(Ordering::Relaxed) - n0;
    assert!(dt <= MAX_MS, "{what}: took {dt} ms");
    assert!(dn <= MAX_TRANSACTIONS, "{what}: took {dn} SPI transactions");
    println!("{what}: {dt} ms, {dn} SPI transactions");
    r
}

const PEER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 11), 7);

/// DS §4.2 Sn_SR stuck at CLOSED (0x00) for every socket: OPEN never takes, so bind (UDP),
/// listen and connect fail with EIO (CommandTimeout) after a bounded number of reads.
#[test]
fn ds_4_2_sn_sr_frozen_closed_every_entry_point_fails_bounded() {
    for int_pin in [true, false] {
        let rig = rig(0x00, int_pin);
        let u = rig.bsd.socket(SockType::Datagram).unwrap();
        let e = bounded(&rig, "bind udp", |b| b.bind(u, any(5000))).unwrap_err();
        assert!(matches!(e, Error::CommandTimeout { .. }), "{e:?}");
        let e = bounded(&rig, "sendto", |b| b.send(u, b"x", Some(PEER), nf())).unwrap_err();
        assert!(matches!(e, Error::CommandTimeout { .. }), "{e:?}");
        let t = rig.bsd.socket(SockType::Stream).unwrap();
        let e = bounded(&rig, "connect", |b| b.connect(t, PEER)).unwrap_err();
        assert!(matches!(e, Error::CommandTimeout { .. }), "{e:?}");
        let mut buf = [0u8; 16];
        let e = bounded(&rig, "recv unconnected", |b| b.recv(t, &mut buf, nf())).unwrap_err();
        assert_eq!(e, Error::NotConnected);
        let e = bounded(&rig, "send unconnected", |b| b.send(t, b"x", None, nf())).unwrap_err();
        assert_eq!(e, Error::NotConnected);
        let l = rig.bsd.socket(SockType::Stream).unwrap();
        rig.bsd.bind(l, any(8080)).unwrap();
        let e = bounded(&rig, "listen", |b| b.listen(l, 2)).unwrap_err();
        assert!(matches!(e, Error::CommandTimeout { .. }), "{e:?}");
        let mut fds = [PollFd::new(t, true, true)];
        let n = bounded(&rig, "poll 1 s", |b| b.poll(&mut fds, Some(1_000))).unwrap();
        assert_eq!(n, 1, "an unconnected TCP socket is a hang-up: {fds:?}");
        for s in [u, t, l] {
            bounded(&rig, "close", |b| b.close(s)).unwrap();
        }
        assert_eq!(rig.bsd.os().with_stack(|s| s.free_hw_sockets()), 8);
    }
}

/// DS §4.2 Sn_CR never reads 0 (the chip never accepts a command): every command is EIO
/// (CommandTimeout) after COMMAND_POLL_TRIES reads, and close() still frees the descriptor.
#[test]
fn ds_4_2_sn_cr_never_clears_every_command_is_eio_bounded() {
    let rig = rig(0x00, true);
    rig.regs.cr.store(0x01, Ordering::Relaxed);
    let u = rig.bsd.socket(SockType::Datagram).unwrap();
    let e = bounded(&rig, "bind udp", |b| b.bind(u, any(5000))).unwrap_err();
    assert!(matches!(e, Error::CommandTimeout { .. }), "{e:?}");
    assert_eq!(e.errno(), w5500_driver::Errno::EIO);
    let t = rig.bsd.socket(SockType::Stream).unwrap();
    let e = bounded(&rig, "connect", |b| b.connect(t, PEER)).unwrap_err();
    assert!(matches!(e, Error::CommandTimeout { .. }), "{e:?}");
    let e = bounded(&rig, "close", |b| b.close(t)).unwrap_err();
    assert!(matches!(e, Error::CommandTimeout { .. }), "{e:?}");
    // The descriptor is gone even though the chip did not take the CLOSE.
    assert_eq!(rig.bsd.take_error(t), Err(Error::BadDescriptor));
    let _ = rig.bsd.close(u);
    assert_eq!(rig.bsd.os().with_stack(|s| s.free_hw_sockets()), 8);
}

/// DS §4.2 Sn_SR frozen at INIT (0x13): CONNECT is accepted but SYNSENT/ESTABLISHED never
/// come, and neither does TIMEOUT. Without SO_SNDTIMEO the stall guard ends the connect with
/// ETIMEDOUT after 2 × TCPTO + 1 s; with it, at the timeout.
#[test]
fn ds_4_2_connect_on_a_frozen_chip_is_etimedout_with_or_without_timeout() {
    for int_pin in [true, false] {
        let rig = rig(0x13, int_pin);
        let t = rig.bsd.socket(SockType::Stream).unwrap();
        let e = bounded(&rig, "connect, no timeout", |b| b.connect(t, PEER)).unwrap_err();
        assert_eq!(e, Error::TimedOut);
        let limit = rig.bsd.os().with_stack(|s| s.stall_limit_ms());
        assert_eq!(limit, 2 * 31_800 + 1_000);
        let t0 = rig.bsd.os().now_ms();
        let t2 = rig.bsd.socket(SockType::Stream).unwrap();
        rig.bsd
            .set_option(t2, SockOpt::SndTimeout(Some(3_000)))
            .unwrap();
        let e = bounded(&rig, "connect, SO_SNDTIMEO 3 s", |b| b.connect(t2, PEER)).unwrap_err();
        assert_eq!(e, Error::TimedOut);
        let dt = rig.bsd.os().now_ms() - t0;
        assert!((3_000..3_200).contains(&dt), "{dt}");
        // Non-blocking connect: EINPROGRESS, then poll reports the failure once the guard
        // fires.
        let t3 = rig.bsd.socket(SockType::Stream).unwrap();
        rig.bsd.set_option(t3, SockOpt::NonBlocking(true)).unwrap();
        assert_eq!(rig.bsd.connect(t3, PEER), Err(Error::InProgress));
        let mut fds = [PollFd::new(t3, false, true)];
        let n = bounded(&rig, "poll for connect", |b| b.poll(&mut fds, None)).unwrap();
        assert_eq!(n, 1);
        assert!(fds[0].ready.error, "{fds:?}");
        assert_eq!(rig.bsd.take_error(t3), Ok(Some(Error::TimedOut)));
        for s in [t, t2, t3] {
            rig.bsd.close(s).unwrap();
        }
        assert_eq!(rig.bsd.os().with_stack(|s| s.free_hw_sockets()), 8);
    }
}

/// DS §4.2 Sn_SR frozen at UDP (0x22): the datagram goes into TX memory and SEND is accepted,
/// but SEND_OK/TIMEOUT never come. A blocking sendto returns EIO (ChipState) after the stall
/// guard; recvfrom waits as POSIX says (no datagram), ends with EAGAIN at SO_RCVTIMEO, and at
/// once with EBADF when another thread closes the socket.
#[test]
fn ds_4_2_udp_on_a_frozen_chip_send_is_eio_and_recv_is_interruptible() {
    let rig = rig(0x22, true);
    let u = rig.bsd.socket(SockType::Datagram).unwrap();
    rig.bsd.bind(u, any(5000)).unwrap();
    let e = bounded(&rig, "sendto, no timeout", |b| {
        b.send(u, b"hello", Some(PEER), nf())
    })
    .unwrap_err();
    assert_eq!(e, Error::ChipState);
    assert_eq!(e.errno(), w5500_driver::Errno::EIO);
    rig.bsd
        .set_option(u, SockOpt::RcvTimeout(Some(2_000)))
        .unwrap();
    let mut buf = [0u8; 64];
    let e = bounded(&rig, "recvfrom, SO_RCVTIMEO", |b| b.recv(u, &mut buf, nf())).unwrap_err();
    assert_eq!(e, Error::WouldBlock);
    rig.bsd.set_option(u, SockOpt::RcvTimeout(None)).unwrap();
    let bsd = rig.bsd.clone();
    let h = std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        bsd.recv(u, &mut buf, nf())
    });
    std::thread::sleep(Duration::from_millis(50));
    rig.bsd.close(u).unwrap();
    let r = h.join().unwrap();
    assert_eq!(r, Err(Error::BadDescriptor));
}

/// DS §4.2: the chip freezes with a connection ESTABLISHED: the first SEND is accepted, SEND_OK
/// never comes and TX_FSR never moves. A blocking send with SO_SNDTIMEO returns at the
/// timeout (EAGAIN); without one, the stall guard drops the connection (ETIMEDOUT) after two
/// guard periods without progress, and recv then reports the same.
#[test]
fn ds_4_2_tcp_send_on_a_frozen_established_chip_ends() {
    let rig = rig(0x13, true);
    let t = rig.bsd.socket(SockType::Stream).unwrap();
    rig.bsd.set_option(t, SockOpt::NonBlocking(true)).unwrap();
    assert_eq!(rig.bsd.connect(t, PEER), Err(Error::InProgress));
    // The chip "completes" the handshake and then freezes.
    rig.regs.sr.store(0x17, Ordering::Relaxed);
    let mut fds = [PollFd::new(t, false, true)];
    rig.bsd.poll(&mut fds, Some(1_000)).unwrap();
    assert!(fds[0].ready.writable, "{fds:?}");
    rig.bsd.set_option(t, SockOpt::NonBlocking(false)).unwrap();
    let data = vec![0x5au8; 4096];
    rig.bsd
        .set_option(t, SockOpt::SndTimeout(Some(5_000)))
        .unwrap();
    let n = bounded(&rig, "send, SO_SNDTIMEO", |b| b.send(t, &data, None, nf())).unwrap();
    assert_eq!(n, 2048, "one ring's worth went in, then the timeout");
    rig.bsd.set_option(t, SockOpt::SndTimeout(None)).unwrap();
    let e = bounded(&rig, "send, no timeout", |b| b.send(t, &data, None, nf())).unwrap_err();
    assert_eq!(e, Error::TimedOut);
    let mut buf = [0u8; 16];
    let r = bounded(&rig, "recv after", |b| b.recv(t, &mut buf, nf()));
    assert_eq!(
        r,
        Ok((0, SocketAddrV4::new(PEER.ip().to_owned(), PEER.port())))
    );
    let e = bounded(&rig, "send after", |b| b.send(t, b"x", None, nf())).unwrap_err();
    assert_eq!(e, Error::BrokenPipe);
    rig.bsd.close(t).unwrap();
    // The background close ends within its linger time.
    bounded(&rig, "poll 3 s", |b| b.poll(&mut [], Some(3_000))).unwrap();
    assert_eq!(rig.bsd.os().with_stack(|s| s.free_hw_sockets()), 8);
}

/// Every register reads 0 (VERSIONR aside) after bring-up: SIMR 0 looks like a chip reset at
/// every service pass, so the stack re-programs the chip each time (its writes are lost);
/// nothing hangs and every call comes back bounded.
#[test]
fn all_zero_registers_after_bring_up_nothing_hangs() {
    let rig = rig(0x00, true);
    rig.regs.simr.store(0, Ordering::Relaxed);
    rig.regs.phy.store(0, Ordering::Relaxed);
    let t = rig.bsd.socket(SockType::Stream).unwrap();
    let e = bounded(&rig, "connect, link down", |b| b.connect(t, PEER)).unwrap_err();
    assert_eq!(e, Error::NetworkDown);
    let u = rig.bsd.socket(SockType::Datagram).unwrap();
    let e = bounded(&rig, "sendto, link down", |b| {
        b.send(u, b"x", Some(PEER), nf())
    })
    .unwrap_err();
    assert_eq!(e, Error::NetworkDown);
    let mut fds = [PollFd::new(u, true, false)];
    let n = bounded(&rig, "poll 2 s", |b| b.poll(&mut fds, Some(2_000))).unwrap();
    assert_eq!(n, 0);
    assert!(rig.bsd.os().with_stack(|s| s.chip_resets()) > 0);
    rig.bsd.close(t).unwrap();
    rig.bsd.close(u).unwrap();
}
