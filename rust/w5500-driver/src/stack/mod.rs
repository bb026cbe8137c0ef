//! BSD socket semantics on the chip's 8 hardware sockets, without blocking.
//!
//! [`Stack`] owns the chip and a table of user sockets. Every call either completes or returns
//! [`Error::WouldBlock`]; waiting, deadlines and wake-ups belong to [`crate::bsd`], which is
//! written once over a small OS interface. The chip's interrupt state is drained by
//! [`Stack::service`], which the OS layer calls when INTn is low (or periodically when no pin is
//! wired); the stack acts on the chip's *state* (`Sn_SR`, sizes), not on which interrupt bits
//! were set, so a lost or merged interrupt costs latency, never correctness.
//!
//! # What an application sees
//! The sections named here are in the source files' module docs.
//! - Hardware socket policy (`table.rs`, `listen.rs`): `socket()` takes one hardware socket
//!   (exhaustion is `ENFILE` there), a listener keeps up to `backlog` of them listening, and
//!   `close()` frees the descriptor at once while the FIN exchange ends in the background.
//! - Every wait has a bound (`stall.rs`): a connect or SEND the chip never ends fails after
//!   [`Stack::stall_limit_ms`] with [`Error::TimedOut`] (a UDP SEND with
//!   [`Error::ChipState`]); a healthy chip always finishes first.
//! - Chip reset (`reset.rs`): [`Stack::service`] detects a brown-out and programs the chip
//!   again; TCP connections fail with [`Error::ConnectionReset`], UDP sockets and listeners
//!   come back, and [`Stack::chip_resets`] counts it.
//!
//! # Where things are
//! - this file: the socket types, the table ([`Stack`] and what it keeps per hardware and per
//!   user socket);
//! - `table.rs`: building the stack, socket allocation, `bind()`, options, `shutdown()`,
//!   `close()`, and the hardware socket policy;
//! - `tcp.rs`, `udp.rs`, `data.rs`: connect and the data paths;
//! - `listen.rs`: listeners and `accept()`;
//! - `service.rs`: the service routine, `poll()` readiness and deadlines;
//! - `stall.rs`: the bound on every wait for the chip;
//! - `reset.rs`: chip-reset (brown-out) detection and recovery;
//! - `iface.rs`: what the driver's own services and the interface use.

use core::net::{Ipv4Addr, SocketAddrV4};

use w5500_regs::{Sn, SocketInterrupt, SocketSet, SocketStatus};

use crate::chip::{Chip, PhyStatus};
use crate::error::Error;

mod data;
mod iface;
mod listen;
mod reset;
mod service;
mod stall;
mod table;
mod tcp;
mod udp;

pub use reset::CHIP_ABSENT_GRACE_MS;
pub use service::LINK_POLL_MS;
pub use stall::tcp_timeout_ms;

/// Number of user sockets the table holds: one per hardware socket.
pub const MAX_SOCKETS: usize = 8;

/// First port handed out for ephemeral binds (RFC 6335 dynamic range).
pub const EPHEMERAL_FIRST: u16 = 49152;

/// How long a closing TCP socket may wait for the FIN exchange before it is closed hard.
pub const CLOSE_LINGER_MS: u64 = 2_000;

/// Socket type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockType {
    /// `SOCK_STREAM`: TCP.
    Stream,
    /// `SOCK_DGRAM`: UDP.
    Datagram,
}

/// A user socket: index into the table plus a generation, so a handle used after `close()`
/// (even if the slot was reused) is [`Error::BadDescriptor`], never another socket.
///
/// ```
/// # use w5500_driver::bsd::MsgFlags;
/// # use w5500_driver::stack::{SockType, SocketId};
/// # use w5500_driver::Error;
/// # use w5500_sim::lan::{standard, Lan};
/// # use w5500_sim::sim::Sim;
/// # use w5500_testkit::{Rig, RigConfig};
/// # let cfg = RigConfig::static_ip(standard::CHIP_STATIC.octets(), standard::GATEWAY.octets());
/// # let rig = Rig::new(Sim::new(Lan::standard()), cfg)?;
/// # let bsd = &rig.bsd;
/// let old = bsd.socket(SockType::Datagram)?;
/// // 16 bits through FFI (the C glue keeps them in Zephyr's fd table) and back.
/// assert_eq!(SocketId::from_raw(old.to_raw()), old);
/// bsd.close(old)?;
///
/// // The next socket takes the same slot, with a new generation: the old handle is dead.
/// let new = bsd.socket(SockType::Datagram)?;
/// assert_eq!(new.index(), old.index());
/// assert_ne!(new, old);
/// assert_eq!(bsd.send(old, b"x", None, MsgFlags::default()), Err(Error::BadDescriptor));
/// # Ok::<(), w5500_driver::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SocketId {
    index: u8,
    generation: u8,
}

impl SocketId {
    /// Table index (0..[`MAX_SOCKETS`]).
    pub const fn index(self) -> usize {
        self.index as usize
    }

    /// Pack into 16 bits (for FFI): generation in the high byte.
    pub const fn to_raw(self) -> u16 {
        ((self.generation as u16) << 8) | self.index as u16
    }

    /// Unpack from [`SocketId::to_raw`]; validity is checked on use.
    pub const fn from_raw(raw: u16) -> Self {
        SocketId {
            index: (raw & 0xff) as u8,
            generation: (raw >> 8) as u8,
        }
    }
}

/// Flags for `send`/`recv` the stack itself acts on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecvFlags {
    /// `MSG_PEEK`: leave the data in the buffer.
    pub peek: bool,
}

/// Options settable per socket (the `SO_*`/`TCP_*`/`IP_*` a W5500 can honour).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockOpt {
    /// `SO_REUSEADDR`.
    ReuseAddr(bool),
    /// `SO_KEEPALIVE`: the chip sends keep-alives every `keepalive_units` × 5 s.
    KeepAlive(bool),
    /// `SO_BROADCAST`: allow sending to broadcast addresses.
    Broadcast(bool),
    /// `TCP_NODELAY`: accepted; the chip has no Nagle, and ND (no delayed ACK) is always set.
    NoDelay(bool),
    /// `IP_ADD_MEMBERSHIP`: join an IPv4 multicast group (one per socket on this chip).
    AddMembership(Ipv4Addr),
    /// `IP_DROP_MEMBERSHIP`.
    DropMembership(Ipv4Addr),
    /// `O_NONBLOCK` (through `fcntl` or `FIONBIO`).
    NonBlocking(bool),
    /// `SO_RCVTIMEO` in ms; `None` or `Some(0)` waits forever, as POSIX says.
    RcvTimeout(Option<u32>),
    /// `SO_SNDTIMEO` in ms; same rule.
    SndTimeout(Option<u32>),
}

/// How a blocking call on a socket may wait, from its options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blocking {
    /// `O_NONBLOCK` is set: never wait.
    pub nonblocking: bool,
    /// Longest wait for reads, in ms (`None`: no limit).
    pub rcv_timeout_ms: Option<u32>,
    /// Longest wait for writes and connect, in ms (`None`: no limit).
    pub snd_timeout_ms: Option<u32>,
}

/// Readiness of a socket, for `poll()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Readiness {
    /// `POLLIN`: data, EOF, or a connection to accept.
    pub readable: bool,
    /// `POLLOUT`: room to send (or a connect finished).
    pub writable: bool,
    /// `POLLERR`: an error is pending (see [`Stack::take_error`]).
    pub error: bool,
    /// `POLLHUP`: the connection is gone both ways.
    pub hangup: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HwOwner {
    Free,
    /// Reserved for the driver's own services.
    Service,
    /// The hardware socket behind user socket `index`.
    User(u8),
    /// One of the listening (or connected, not yet accepted) sockets of listener `index`.
    Listener(u8),
    /// Finishing a close in the background; CLOSE after [`Hw::close_deadline_ms`].
    Closing,
}

/// An optional millisecond time in 8 bytes (an `Option<u64>` takes 16 on a 32-bit target),
/// stored inverted so that "none" is all zero bits: tables of them start zeroed like the
/// `Option`s they replace. `u64::MAX` ms cannot be stored (no clock reaches it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp(u64);

impl Stamp {
    const NONE: Stamp = Stamp(0);

    fn at(ms: u64) -> Stamp {
        Stamp(!ms)
    }

    fn get(self) -> Option<u64> {
        (self.0 != 0).then_some(!self.0)
    }
}

#[derive(Clone, Copy, Debug)]
struct Hw {
    owner: HwOwner,
    /// `Sn_IR` bits latched by `service` and not yet acted on.
    events: SocketInterrupt,
    /// Last `Sn_SR` seen.
    status: SocketStatus,
    /// A SEND was issued and neither SEND_OK nor TIMEOUT has been seen.
    send_in_flight: bool,
    /// Destination last written to `Sn_DIPR`/`Sn_DPORT` (UDP), to skip rewriting it.
    udp_dest: Option<SocketAddrV4>,
    /// Order in which a listener's socket got its connection (for FIFO accept).
    accept_seq: u32,
    /// `Sn_TX_WR` as last written (the host owns it); `None` until read after OPEN or TCP
    /// establishment, both of which re-initialise it in the chip.
    tx_wr: Option<u16>,
    /// A lower bound on `Sn_TX_FSR`: the last stable read minus what was written since. Free
    /// space only grows between our own writes (ACKs in TCP, SEND_OK in UDP), so data that
    /// fits needs no new read.
    tx_free: u16,
    /// The TX buffer size, learnt from the first `Sn_TX_FSR` read after OPEN or establishment
    /// (nothing queued then); 0 while unknown. A UDP SEND_OK frees all of it.
    tx_cap: u16,
    /// INTn is wired, everything received has been read and no event has come since: a
    /// receive has nothing to find on the chip (the next arrival sets RECV, which the service
    /// routine sees and which clears this).
    rx_idle: bool,
    /// A sender is blocked until SEND_OK: the service routine leaves SEND_OK set for the
    /// next SEND to clear in its own frame.
    send_waiter: bool,
    /// SEND_OK is set in `Sn_IR` and already acted on; the next SEND clears it.
    send_ok_latched: bool,
    /// TCP bytes known to be waiting at a known `Sn_RX_RD` (from the last read), so the next
    /// receive needs no `Sn_RX_RSR` read. `None`: read the chip.
    rx_ahead: Option<crate::hw::RxState>,
    /// When [`Stack::service`] first saw this socket waiting on the chip (a connect or a
    /// SEND in flight); the stall guard measures from here.
    stall_since_ms: Stamp,
    /// [`HwOwner::Closing`]: when the background close gives up and CLOSEs.
    close_deadline_ms: u64,
    /// `Sn_TX_FSR` when the stall guard last looked at a TCP SEND in flight (progress check).
    stall_fsr: Option<u16>,
}

impl Hw {
    const FREE: Hw = Hw {
        owner: HwOwner::Free,
        events: SocketInterrupt::empty(),
        status: SocketStatus::Closed,
        send_in_flight: false,
        udp_dest: None,
        accept_seq: 0,
        tx_wr: None,
        tx_free: 0,
        tx_cap: 0,
        rx_idle: false,
        send_waiter: false,
        send_ok_latched: false,
        rx_ahead: None,
        stall_since_ms: Stamp::NONE,
        close_deadline_ms: 0,
        stall_fsr: None,
    };

    /// Forget everything known about the data path (after OPEN).
    fn reset_data_path(&mut self) {
        self.events = SocketInterrupt::empty();
        self.send_in_flight = false;
        self.tx_wr = None;
        self.tx_free = 0;
        self.tx_cap = 0;
        self.rx_idle = false;
        self.send_waiter = false;
        self.send_ok_latched = false;
        self.rx_ahead = None;
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Created; hardware socket reserved, not opened.
    Fresh,
    /// UDP socket opened on its port, or TCP socket bound (port chosen, not opened).
    Bound,
    /// TCP: CONNECT issued.
    Connecting,
    /// TCP: connected (ESTABLISHED or later).
    Connected,
    /// TCP: listening (hardware sockets owned by the listener).
    Listening { backlog: u8 },
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    in_use: bool,
    generation: u8,
    ty: SockType,
    hw: Option<Sn>,
    phase: Phase,
    port: u16,
    peer: Option<SocketAddrV4>,
    reuse_addr: bool,
    keepalive: bool,
    broadcast: bool,
    group: Option<Ipv4Addr>,
    shut_rd: bool,
    shut_wr: bool,
    error: Option<Error>,
    /// The peer sent FIN (TCP) and all its data has been read: reads return 0.
    eof: bool,
    /// `O_NONBLOCK`.
    nonblocking: bool,
    /// `SO_RCVTIMEO` in ms (0: wait forever).
    rcv_timeout_ms: u32,
    /// `SO_SNDTIMEO` in ms (0: wait forever); also bounds a blocking connect.
    snd_timeout_ms: u32,
}

impl Slot {
    const EMPTY: Slot = Slot {
        in_use: false,
        generation: 0,
        ty: SockType::Stream,
        hw: None,
        phase: Phase::Fresh,
        port: 0,
        peer: None,
        reuse_addr: false,
        keepalive: false,
        broadcast: false,
        group: None,
        shut_rd: false,
        shut_wr: false,
        error: None,
        eof: false,
        nonblocking: false,
        rcv_timeout_ms: 0,
        snd_timeout_ms: 0,
    };
}

/// Stack-wide settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackConfig {
    /// Hardware sockets kept for the driver's own services (DHCP, DNS), taken from the top
    /// (socket 7 down).
    pub reserved_for_services: u8,
    /// `Sn_KPALVTR` used for `SO_KEEPALIVE` (units of 5 s).
    pub keepalive_units: u8,
}

impl Default for StackConfig {
    fn default() -> Self {
        StackConfig {
            reserved_for_services: 0,
            keepalive_units: 2,
        }
    }
}

/// What the stack keeps of the chip's configuration, to program it again after a chip reset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Programmed {
    mac: [u8; 6],
    gateway: Ipv4Addr,
    mode: u8,
    retry_time: u16,
    retry_count: u8,
    tx: [w5500_regs::BufferSize; 8],
    rx: [w5500_regs::BufferSize; 8],
}

/// Destinations that name this host: `0.0.0.0/8` ("this network", a source address only,
/// RFC 1122 §3.2.1.3) and `127.0.0.0/8` (loopback, which never leaves a host). The chip has
/// no loopback interface, so nothing there is reachable through it.
fn is_this_host(ip: Ipv4Addr) -> bool {
    ip.octets()[0] == 0 || ip.is_loopback()
}

/// The socket table over one chip.
///
/// Nothing here waits: a call that cannot finish yet returns [`Error::WouldBlock`] (a TCP
/// connect [`Error::InProgress`]), and whoever drives the stack runs [`Stack::service`] when
/// INTn asserts (or on a timer) before trying again; [`crate::bsd::Bsd`] does that for you.
/// Driven by hand, on the simulated chip (`chip` brought up as in the crate example):
///
/// ```
/// # use std::net::SocketAddrV4;
/// # use std::time::Duration;
/// # use w5500_driver::stack::{RecvFlags, SockType, Stack, StackConfig};
/// # use w5500_driver::Error;
/// # use std::sync::{Arc, Mutex};
/// # use w5500_driver::chip::{Chip, Config};
/// # use w5500_sim::lan::{standard, Lan};
/// # use w5500_sim::sim::Sim;
/// # use w5500_sim::spi::SimSpiDevice;
/// # use w5500_testkit::SimDelay;
/// # let sim = Arc::new(Mutex::new(Sim::new(Lan::standard())));
/// # let mut chip = Chip::new(SimSpiDevice::new(sim.clone()));
/// # let mut config = Config::new([0x02, 0x08, 0xdc, 0x00, 0x00, 0x01]);
/// # config.ip = standard::CHIP_STATIC;
/// # config.netmask = standard::NETMASK;
/// # config.gateway = standard::GATEWAY;
/// # chip.init(&mut SimDelay(sim.clone()), &config)?;
/// let mut stack = Stack::new(chip, StackConfig::default())?;
///
/// // The OS layer's part: let time pass (1 ms of simulated time), then service the chip.
/// let tick = |stack: &mut Stack<_>| {
///     let now = {
///         let mut s = sim.lock().unwrap();
///         s.advance(Duration::from_millis(1));
///         s.now().as_millis()
///     };
///     stack.service(now, true)
/// };
///
/// let s = stack.socket(SockType::Stream)?;
/// let echo = SocketAddrV4::new(standard::ECHO, 7);
/// assert_eq!(stack.connect(s, echo), Err(Error::InProgress));
/// for _ in 0..1_000 {
///     if stack.connect_result(s) != Err(Error::WouldBlock) {
///         break;
///     }
///     tick(&mut stack)?;
/// }
/// stack.connect_result(s)?;
/// assert_eq!(stack.peer_addr(s)?, echo);
///
/// assert_eq!(stack.send(s, b"ping", None)?, 4);
/// let mut buf = [0u8; 4];
/// let mut got = Err(Error::WouldBlock);
/// for _ in 0..1_000 {
///     got = stack.recv(s, &mut buf, RecvFlags::default());
///     if got != Err(Error::WouldBlock) {
///         break;
///     }
///     tick(&mut stack)?;
/// }
/// assert_eq!(got?, (4, echo));
/// assert_eq!(&buf, b"ping");
/// let now = sim.lock().unwrap().now().as_millis();
/// stack.close(s, now)?;
/// # Ok::<(), w5500_driver::Error>(())
/// ```
#[derive(Debug)]
pub struct Stack<SPI> {
    chip: Chip<SPI>,
    hw: [Hw; 8],
    slots: [Slot; MAX_SOCKETS],
    config: StackConfig,
    next_port: u16,
    accept_counter: u32,
    link: PhyStatus,
    /// When `PHYCFGR` was last read.
    last_link_poll_ms: Stamp,
    ip: Ipv4Addr,
    netmask: Ipv4Addr,
    /// INTn is wired and serviced ([`Stack::set_interrupt_driven`]).
    intn: bool,
    /// `Sn_KPALVTR` as last written, per hardware socket (it survives OPEN and CLOSE).
    keepalive_reg: [u8; 8],
    /// `Sn_IMR` as last written, per hardware socket (it survives OPEN and CLOSE).
    imr_reg: [SocketInterrupt; 8],
    programmed: Programmed,
    /// `SIMR` as the stack programmed it (the chip-reset signature).
    simr: SocketSet,
    chip_resets: u32,
    /// Background closes cut short by [`Stack::socket`] ([`Stack::abortive_takeovers`]).
    takeovers: u32,
    /// Since when the chip has not answered (VERSIONR) after its reset signature showed.
    absent_since_ms: Stamp,
    /// When [`Stack::service`] should look again at background closes that end without an
    /// interrupt (LAST_ACK and CLOSING end with the ACK of our FIN, which raises nothing).
    closing_look_ms: Stamp,
}

/// The socket-interrupt mask every open hardware socket uses: every event, so INTn wakes
/// whoever waits.
const SOCKET_IMR: SocketInterrupt = SocketInterrupt::all();

/// The mask while nobody waits for SEND_OK: a completed SEND is then found by the next send
/// (which reads `Sn_CR` and `Sn_IR` in one frame anyway), not by an interrupt of its own. A
/// caller that has to wait for SEND_OK switches the socket to [`SOCKET_IMR`].
const SOCKET_IMR_LAZY: SocketInterrupt = SocketInterrupt::CON
    .union(SocketInterrupt::DISCON)
    .union(SocketInterrupt::RECV)
    .union(SocketInterrupt::TIMEOUT);

#[cfg(test)]
mod size_budget {
    use super::*;

    /// A zero-sized SPI device: the stack's own state is what is measured.
    struct NoSpi;

    /// The static-RAM budget: at most 128 bytes per socket (one hardware-socket entry and one
    /// user slot), the socket buffers being in the chip (DS §2.1, 16 KB TX + 16 KB RX).
    #[test]
    fn per_socket_state_fits_128_bytes() {
        use core::mem::size_of;
        let per_socket = size_of::<Hw>() + size_of::<Slot>();
        assert!(per_socket <= 128, "Hw + Slot = {per_socket} B");
        // The whole table with its fixed fields, spread over the sockets, as the footprint
        // bench counts it.
        let table = size_of::<Stack<NoSpi>>() - size_of::<Chip<NoSpi>>();
        assert!(table <= 128 * MAX_SOCKETS, "Stack without Chip = {table} B");
    }

    /// The compact optional time keeps every time a clock gives, 0 ms (power-on) included,
    /// and its "none" is all zero bits (zeroed tables start empty).
    #[test]
    fn stamp_round_trips_and_none_is_zero() {
        for t in [0, 1, 250, u64::from(u32::MAX) + 7, u64::MAX - 1] {
            assert_eq!(Stamp::at(t).get(), Some(t));
        }
        assert_eq!(Stamp::NONE.get(), None);
        assert_eq!(Stamp::NONE.0, 0);
        assert_eq!(core::mem::size_of::<Stamp>(), 8);
    }
}
