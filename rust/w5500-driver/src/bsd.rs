//! Blocking BSD socket calls, written once over a small OS interface.
//!
//! [`crate::stack::Stack`] never waits; this layer turns its [`Error::WouldBlock`] into the
//! POSIX behaviours: block until the chip has news, give up at `SO_RCVTIMEO`/`SO_SNDTIMEO`
//! (`EAGAIN`, as Zephyr and Linux report it), return at once for `O_NONBLOCK` and
//! `MSG_DONTWAIT`, loop for `MSG_WAITALL` and for whole-buffer blocking sends, and wait for
//! several sockets in [`Bsd::poll`].
//!
//! The OS provides [`Os`]: a lock around the stack, a monotonic clock, and a wait that a
//! [`Os::notify_all`] ends early. Waits use an *epoch* so a wake-up between "try" and "wait"
//! is never lost. Every wait is bounded by the poll interval: with no INTn pin, or a lost
//! interrupt, the chip is still serviced.
//!
//! Concurrency: any socket may be used from any thread; each stack call holds the lock only
//! for its SPI work, never while waiting. Closing a socket wakes everyone, so a thread blocked
//! on that socket returns [`Error::BadDescriptor`] at once.

use core::net::SocketAddrV4;

use embedded_hal::spi::SpiDevice;

use crate::error::{Error, Result};
use crate::stack::{Readiness, RecvFlags, SockOpt, SockType, SocketId, Stack};

/// The OS services the blocking layer needs.
///
/// A binding for a single-threaded superloop (no RTOS): the stack in a `RefCell`, and a wait
/// that lets time pass. On a board `now_ms` reads a timer and `wait` sleeps until INTn or the
/// deadline; here the simulator's clock stands in for both.
///
/// ```
/// use std::cell::{Cell, RefCell};
/// use std::net::SocketAddrV4;
/// use std::time::Duration;
///
/// use w5500_driver::bsd::{Bsd, MsgFlags, Os};
/// use w5500_driver::stack::{SockType, SocketId, Stack, StackConfig};
/// use w5500_sim::lan::{standard, Lan};
/// use w5500_testkit::{SharedSim, SimSpi};
/// # use std::sync::{Arc, Mutex};
/// # use w5500_driver::chip::{Chip, Config};
/// # use w5500_sim::sim::Sim;
/// # use w5500_sim::spi::SimSpiDevice;
/// # use w5500_testkit::SimDelay;
///
/// struct Superloop {
///     stack: RefCell<Stack<SimSpi<Lan>>>,
///     sim: SharedSim<Lan>,
///     epoch: Cell<u32>,
/// }
///
/// impl Os for Superloop {
///     type Spi = SimSpi<Lan>;
///
///     fn with_stack<R>(&self, f: impl FnOnce(&mut Stack<Self::Spi>) -> R) -> R {
///         f(&mut self.stack.borrow_mut())
///     }
///     fn now_ms(&self) -> u64 {
///         self.sim.lock().unwrap().now().as_millis()
///     }
///     fn epoch(&self) -> u32 {
///         self.epoch.get()
///     }
///     fn wait(&self, _socket: Option<SocketId>, _seen: u32, deadline_ms: u64) {
///         // Nobody else runs to notify us: let up to 10 ms pass, never past the deadline.
///         let mut sim = self.sim.lock().unwrap();
///         let step = deadline_ms.saturating_sub(sim.now().as_millis()).clamp(1, 10);
///         sim.advance(Duration::from_millis(step));
///     }
///     fn notify_all(&self) {
///         self.epoch.set(self.epoch.get().wrapping_add(1));
///     }
///     fn has_interrupt_pin(&self) -> bool {
///         false // every wake-up services all sockets
///     }
///     fn poll_interval_ms(&self) -> u64 {
///         10
///     }
/// }
///
/// # let sim = Arc::new(Mutex::new(Sim::new(Lan::standard())));
/// # let mut chip = Chip::new(SimSpiDevice::new(sim.clone()));
/// # let mut config = Config::new([0x02, 0x08, 0xdc, 0x00, 0x00, 0x01]);
/// # config.ip = standard::CHIP_STATIC;
/// # config.netmask = standard::NETMASK;
/// # config.gateway = standard::GATEWAY;
/// # chip.init(&mut SimDelay(sim.clone()), &config)?;
/// // `chip` brought up as in the crate example.
/// let os = Superloop {
///     stack: RefCell::new(Stack::new(chip, StackConfig::default())?),
///     sim: sim.clone(),
///     epoch: Cell::new(0),
/// };
/// let bsd = Bsd::new(os);
/// let s = bsd.socket(SockType::Stream)?;
/// bsd.connect(s, SocketAddrV4::new(standard::ECHO, 7))?;
/// bsd.send(s, b"ping", None, MsgFlags::default())?;
/// let mut buf = [0u8; 4];
/// assert_eq!(bsd.recv(s, &mut buf, MsgFlags::default())?.0, 4);
/// assert_eq!(&buf, b"ping");
/// # Ok::<(), w5500_driver::Error>(())
/// ```
pub trait Os {
    /// The SPI device the stack runs on.
    type Spi: SpiDevice;

    /// Run `f` with exclusive access to the stack (serialises SPI access).
    fn with_stack<R>(&self, f: impl FnOnce(&mut Stack<Self::Spi>) -> R) -> R;

    /// Monotonic time in milliseconds.
    fn now_ms(&self) -> u64;

    /// A counter that [`Os::notify_all`] increments.
    fn epoch(&self) -> u32;

    /// Wait until the epoch differs from `seen` or the clock reaches `deadline_ms`. May return
    /// early. Must not hold the stack lock. `socket` is the socket the caller waits on (`None`
    /// for `poll()` over several): an OS that holds a per-descriptor lock around each call
    /// (Zephyr's fd table does) must release that socket's lock while waiting, so that a
    /// `send()`, `poll()` or `close()` from another thread can proceed.
    fn wait(&self, socket: Option<SocketId>, seen: u32, deadline_ms: u64);

    /// Increment the epoch and wake every waiter.
    fn notify_all(&self);

    /// True when INTn is wired, so waits can rely on [`Bsd::on_interrupt`]; false makes every
    /// wake-up poll all sockets.
    fn has_interrupt_pin(&self) -> bool;

    /// Longest single wait: the poll period when no INTn pin is wired, and the safety poll
    /// otherwise.
    fn poll_interval_ms(&self) -> u64;
}

/// A shared reference to an OS binding is one too, so several [`Bsd`] handles (the
/// application's, the network interface's) can run over one OS object.
impl<T: Os> Os for &T {
    type Spi = T::Spi;

    fn with_stack<R>(&self, f: impl FnOnce(&mut Stack<Self::Spi>) -> R) -> R {
        (**self).with_stack(f)
    }

    fn now_ms(&self) -> u64 {
        (**self).now_ms()
    }

    fn epoch(&self) -> u32 {
        (**self).epoch()
    }

    fn wait(&self, socket: Option<SocketId>, seen: u32, deadline_ms: u64) {
        (**self).wait(socket, seen, deadline_ms)
    }

    fn notify_all(&self) {
        (**self).notify_all()
    }

    fn has_interrupt_pin(&self) -> bool {
        (**self).has_interrupt_pin()
    }

    fn poll_interval_ms(&self) -> u64 {
        (**self).poll_interval_ms()
    }
}

/// `MSG_*` flags a caller passes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MsgFlags {
    /// `MSG_PEEK`.
    pub peek: bool,
    /// `MSG_DONTWAIT`.
    pub dontwait: bool,
    /// `MSG_WAITALL`.
    pub waitall: bool,
    /// `MSG_TRUNC` on a datagram socket: return the datagram's full length even when the
    /// buffer took less (the rest is discarded either way). Ignored on TCP.
    pub trunc: bool,
}

/// One entry of [`Bsd::poll`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PollFd {
    /// The socket.
    pub id: SocketId,
    /// Wanted: readable.
    pub want_read: bool,
    /// Wanted: writable.
    pub want_write: bool,
    /// Result: what is ready (errors and hang-ups are always reported).
    pub ready: Readiness,
    /// Result: the socket is not valid (`POLLNVAL`).
    pub invalid: bool,
}

impl PollFd {
    /// An entry for `id`.
    pub fn new(id: SocketId, want_read: bool, want_write: bool) -> Self {
        PollFd {
            id,
            want_read,
            want_write,
            ready: Readiness::default(),
            invalid: false,
        }
    }

    fn is_ready(&self) -> bool {
        self.invalid
            || (self.want_read && self.ready.readable)
            || (self.want_write && self.ready.writable)
            || self.ready.error
            || self.ready.hangup
    }
}

/// Which timeout a call uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dir {
    Recv,
    Send,
}

/// The blocking socket API over an [`Os`].
///
/// Calls block as POSIX ones do, bounded by `SO_RCVTIMEO`/`SO_SNDTIMEO`; [`Bsd::poll`] waits
/// on several sockets. UDP on the simulated chip (`w5500_testkit::Rig` is the crate
/// example's bring-up in one call):
///
/// ```
/// use std::net::{Ipv4Addr, SocketAddrV4};
///
/// use w5500_driver::bsd::{MsgFlags, PollFd};
/// use w5500_driver::stack::{SockOpt, SockType};
/// use w5500_driver::Error;
/// use w5500_sim::lan::{standard, Lan};
/// use w5500_sim::sim::Sim;
/// use w5500_testkit::{Rig, RigConfig};
///
/// let cfg = RigConfig::static_ip(standard::CHIP_STATIC.octets(), standard::GATEWAY.octets());
/// let rig = Rig::new(Sim::new(Lan::standard()), cfg)?;
/// let bsd = &rig.bsd;
///
/// let u = bsd.socket(SockType::Datagram)?;
/// bsd.bind(u, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 5000))?;
/// let echo = SocketAddrV4::new(standard::ECHO, 7);
/// bsd.send(u, b"ping", Some(echo), MsgFlags::default())?;
///
/// // poll(): readable within a second.
/// let mut fds = [PollFd::new(u, true, false)];
/// assert_eq!(bsd.poll(&mut fds, Some(1_000))?, 1);
/// assert!(fds[0].ready.readable);
///
/// let mut buf = [0u8; 16];
/// let (n, from) = bsd.recv(u, &mut buf, MsgFlags::default())?;
/// assert_eq!((&buf[..n], from), (&b"ping"[..], echo));
///
/// // Nothing more comes: SO_RCVTIMEO ends the wait with EAGAIN.
/// bsd.set_option(u, SockOpt::RcvTimeout(Some(100)))?;
/// assert_eq!(bsd.recv(u, &mut buf, MsgFlags::default()), Err(Error::WouldBlock));
/// bsd.close(u)?;
/// # Ok::<(), w5500_driver::Error>(())
/// ```
#[derive(Debug)]
pub struct Bsd<O> {
    os: O,
}

impl<O: Os> Bsd<O> {
    /// The API over `os`. Tells the stack whether INTn is wired
    /// ([`Stack::set_interrupt_driven`]).
    pub fn new(os: O) -> Self {
        let wired = os.has_interrupt_pin();
        os.with_stack(|s| s.set_interrupt_driven(wired));
        Bsd { os }
    }

    /// The OS binding.
    pub fn os(&self) -> &O {
        &self.os
    }

    /// Service the chip after INTn asserted (or periodically) and wake waiters. Drains until
    /// nothing is pending: INTn is a level.
    pub fn on_interrupt(&self) -> Result<()> {
        let now = self.os.now_ms();
        let r = self.os.with_stack(|s| s.service(now, false));
        self.os.notify_all();
        r
    }

    /// Wait for the chip (bounded by the poll interval, `deadline` and the stack's own timed
    /// work), then service it, so the next try sees what ended the wait. Take `seen` from
    /// [`Os::epoch`] *before* the try that said [`Error::WouldBlock`].
    ///
    /// Every loop that waits on the chip and tries again must service the chip between the
    /// two, as this does: with INTn wired the stack answers a try from what the service
    /// routine has seen ([`Stack::set_interrupt_driven`]), so a try right after the wake-up
    /// finds nothing new, and the event that woke the loop (whose service also releases
    /// INTn) would wait for the next poll. The blocking calls of this layer use it; so does
    /// the network interface for its own waits.
    pub fn wait_for_news(
        &self,
        socket: Option<SocketId>,
        seen: u32,
        deadline: Option<u64>,
    ) -> Result<()> {
        let now = self.os.now_ms();
        let interval = self.os.poll_interval_ms().max(1);
        let housekeeping = self.os.with_stack(|s| s.next_deadline_ms());
        let mut until = now.saturating_add(interval);
        if let Some(d) = deadline {
            until = until.min(d);
        }
        if let Some(h) = housekeeping {
            until = until.min(h.max(now));
        }
        self.os.wait(socket, seen, until);
        let woke_by_event = self.os.epoch() != seen;
        let poll_all = !self.os.has_interrupt_pin() || !woke_by_event;
        let now = self.os.now_ms();
        self.os.with_stack(|s| s.service(now, poll_all))
    }

    /// Run `op` until it does not say `WouldBlock`, within the socket's timeout for `dir`.
    /// The loop itself is [`Bsd::block_on_dyn`], compiled once for every call site (a
    /// generic loop per operation would be copied into the image for each).
    fn block_on<T>(
        &self,
        id: SocketId,
        dir: Dir,
        dontwait: bool,
        mut op: impl FnMut(&mut Stack<O::Spi>) -> Result<T>,
    ) -> Result<T> {
        let mut out = None;
        self.block_on_dyn(id, dir, dontwait, &mut |s| {
            out = Some(op(s)?);
            Ok(())
        })?;
        // `Ok` from the loop means `op` gave a value.
        out.ok_or(Error::WouldBlock)
    }

    #[inline(never)]
    fn block_on_dyn(
        &self,
        id: SocketId,
        dir: Dir,
        dontwait: bool,
        op: &mut dyn FnMut(&mut Stack<O::Spi>) -> Result<()>,
    ) -> Result<()> {
        let b = self.os.with_stack(|s| s.blocking(id))?;
        let timeout = match dir {
            Dir::Recv => b.rcv_timeout_ms,
            Dir::Send => b.snd_timeout_ms,
        };
        let deadline = timeout.map(|t| self.os.now_ms().saturating_add(u64::from(t)));
        loop {
            let seen = self.os.epoch();
            match self.os.with_stack(|s| op(s)) {
                Err(Error::WouldBlock) => {}
                other => return other,
            }
            if b.nonblocking || dontwait {
                return Err(Error::WouldBlock);
            }
            if deadline.is_some_and(|d| self.os.now_ms() >= d) {
                return Err(Error::WouldBlock);
            }
            self.wait_for_news(Some(id), seen, deadline)?;
        }
    }

    /// `socket()`.
    pub fn socket(&self, ty: SockType) -> Result<SocketId> {
        self.os.with_stack(|s| s.socket(ty))
    }

    /// `bind()`.
    pub fn bind(&self, id: SocketId, addr: SocketAddrV4) -> Result<()> {
        self.os.with_stack(|s| s.bind(id, addr))
    }

    /// `listen()`.
    pub fn listen(&self, id: SocketId, backlog: u32) -> Result<()> {
        self.os.with_stack(|s| s.listen(id, backlog))
    }

    /// `connect()`. Blocking: waits for the handshake, bounded by `SO_SNDTIMEO` (then
    /// `ETIMEDOUT`) and by the chip's own retransmission timeout. Non-blocking: returns
    /// [`Error::InProgress`]; completion shows as writable in [`Bsd::poll`], and the outcome
    /// through [`Bsd::take_error`] or a second `connect()`.
    pub fn connect(&self, id: SocketId, peer: SocketAddrV4) -> Result<()> {
        match self.os.with_stack(|s| s.connect(id, peer)) {
            Err(Error::InProgress) => {}
            Err(Error::Already) => {
                // A second connect() on a non-blocking socket reports the outcome.
                return match self.os.with_stack(|s| s.connect_result(id)) {
                    Ok(()) => Err(Error::AlreadyConnected),
                    Err(Error::WouldBlock) => Err(Error::Already),
                    Err(e) => Err(e),
                };
            }
            other => return other,
        }
        let b = self.os.with_stack(|s| s.blocking(id))?;
        if b.nonblocking {
            return Err(Error::InProgress);
        }
        match self.block_on(id, Dir::Send, false, |s| s.connect_result(id)) {
            Err(Error::WouldBlock) => {
                self.os.with_stack(|s| s.abort_connect(id))?;
                Err(Error::TimedOut)
            }
            other => other,
        }
    }

    /// `accept()`.
    pub fn accept(&self, id: SocketId) -> Result<(SocketId, SocketAddrV4)> {
        self.block_on(id, Dir::Recv, false, |s| s.accept(id))
    }

    /// `send()`/`sendto()`. Blocking TCP sends everything (or what went before a timeout);
    /// non-blocking may be short. UDP waits for the chip to finish the datagram, so an ARP
    /// failure is reported here as `EHOSTUNREACH`.
    pub fn send(
        &self,
        id: SocketId,
        data: &[u8],
        to: Option<SocketAddrV4>,
        flags: MsgFlags,
    ) -> Result<usize> {
        let ty = self.os.with_stack(|s| s.socket_type(id))?;
        match ty {
            SockType::Datagram => {
                let n = self.block_on(id, Dir::Send, flags.dontwait, |s| s.send(id, data, to))?;
                let b = self.os.with_stack(|s| s.blocking(id))?;
                if !b.nonblocking && !flags.dontwait {
                    match self.block_on(id, Dir::Send, false, |s| {
                        s.send_done(id)
                            .and_then(|done| if done { Ok(()) } else { Err(Error::WouldBlock) })
                    }) {
                        Ok(()) | Err(Error::WouldBlock) => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(n)
            }
            SockType::Stream => {
                let mut sent = 0;
                while sent < data.len() {
                    let rest = data.get(sent..).unwrap_or_default();
                    match self.block_on(id, Dir::Send, flags.dontwait, |s| s.send(id, rest, None)) {
                        Ok(n) => sent += n,
                        Err(e) if sent > 0 && e == Error::WouldBlock => break,
                        Err(e) => return Err(e),
                    }
                    let b = self.os.with_stack(|s| s.blocking(id))?;
                    if b.nonblocking || flags.dontwait {
                        break;
                    }
                }
                Ok(sent)
            }
        }
    }

    /// `recv()`/`recvfrom()`. `MSG_WAITALL` on TCP fills the buffer unless EOF, an error or a
    /// timeout comes first (then what was read is returned). `MSG_TRUNC` on UDP returns the
    /// datagram's full length.
    pub fn recv(
        &self,
        id: SocketId,
        buf: &mut [u8],
        flags: MsgFlags,
    ) -> Result<(usize, SocketAddrV4)> {
        let rf = RecvFlags { peek: flags.peek };
        let ty = self.os.with_stack(|s| s.socket_type(id))?;
        if ty == SockType::Datagram && flags.trunc {
            let (_, len, from) = self.block_on(id, Dir::Recv, flags.dontwait, |s| {
                s.recv_datagram(id, buf, rf)
            })?;
            return Ok((len, from));
        }
        if !flags.waitall || ty == SockType::Datagram || flags.peek {
            return self.block_on(id, Dir::Recv, flags.dontwait, |s| s.recv(id, buf, rf));
        }
        let mut got = 0;
        let mut from = SocketAddrV4::new(core::net::Ipv4Addr::UNSPECIFIED, 0);
        while got < buf.len() {
            let rest = buf.get_mut(got..).unwrap_or_default();
            match self.block_on(id, Dir::Recv, flags.dontwait, |s| s.recv(id, rest, rf)) {
                Ok((0, a)) => {
                    from = a;
                    break;
                }
                Ok((n, a)) => {
                    got += n;
                    from = a;
                }
                Err(e) if got > 0 && e != Error::BadDescriptor => break,
                Err(e) => return Err(e),
            }
        }
        Ok((got, from))
    }

    /// `shutdown()`.
    pub fn shutdown(&self, id: SocketId, read: bool, write: bool) -> Result<()> {
        let r = self.os.with_stack(|s| s.shutdown(id, read, write));
        self.os.notify_all();
        r
    }

    /// `close()`: frees the socket and wakes every waiter, so a call blocked on it returns.
    pub fn close(&self, id: SocketId) -> Result<()> {
        let now = self.os.now_ms();
        let r = self.os.with_stack(|s| s.close(id, now));
        self.os.notify_all();
        r
    }

    /// `setsockopt()` for the options the stack knows.
    pub fn set_option(&self, id: SocketId, opt: SockOpt) -> Result<()> {
        self.os.with_stack(|s| s.set_option(id, opt))
    }

    /// `getsockopt()`: the current value of the option `opt` names ([`Stack::get_option`]).
    pub fn get_option(&self, id: SocketId, opt: SockOpt) -> Result<SockOpt> {
        self.os.with_stack(|s| s.get_option(id, opt))
    }

    /// `SO_ERROR`.
    pub fn take_error(&self, id: SocketId) -> Result<Option<Error>> {
        self.os.with_stack(|s| s.take_error(id))
    }

    /// `getsockname()`.
    pub fn local_addr(&self, id: SocketId) -> Result<SocketAddrV4> {
        self.os.with_stack(|s| s.local_addr(id))
    }

    /// `getpeername()`.
    pub fn peer_addr(&self, id: SocketId) -> Result<SocketAddrV4> {
        self.os.with_stack(|s| s.peer_addr(id))
    }

    /// `FIONREAD`.
    pub fn bytes_available(&self, id: SocketId) -> Result<usize> {
        self.os.with_stack(|s| s.bytes_available(id))
    }

    /// `poll()`: wait until one of `fds` is ready or `timeout_ms` passes (`None`: no limit,
    /// `Some(0)`: just look). Returns how many entries are ready.
    pub fn poll(&self, fds: &mut [PollFd], timeout_ms: Option<u32>) -> Result<usize> {
        let deadline = timeout_ms.map(|t| self.os.now_ms().saturating_add(u64::from(t)));
        loop {
            let seen = self.os.epoch();
            let mut ready = 0;
            self.os.with_stack(|s| {
                for fd in fds.iter_mut() {
                    match s.readiness(fd.id) {
                        Ok(r) => {
                            fd.ready = r;
                            fd.invalid = false;
                        }
                        Err(Error::BadDescriptor) => {
                            fd.ready = Readiness::default();
                            fd.invalid = true;
                        }
                        Err(e) => return Err(e),
                    }
                    if fd.is_ready() {
                        ready += 1;
                    }
                }
                Ok(())
            })?;
            if ready > 0 || deadline.is_some_and(|d| self.os.now_ms() >= d) {
                return Ok(ready);
            }
            self.wait_for_news(None, seen, deadline)?;
        }
    }
}
