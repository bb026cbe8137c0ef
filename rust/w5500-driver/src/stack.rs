//! BSD socket semantics on the chip's 8 hardware sockets, without blocking.
//!
//! [`Stack`] owns the chip and a table of user sockets. Every call either completes or returns
//! [`Error::WouldBlock`]; waiting, deadlines and wake-ups belong to [`crate::bsd`], which is
//! written once over a small OS interface. The chip's interrupt state is drained by
//! [`Stack::service`], which the OS layer calls when INTn is low (or periodically when no pin is
//! wired); the stack acts on the chip's *state* (`Sn_SR`, sizes), not on which interrupt bits
//! were set, so a lost or merged interrupt costs latency, never correctness.
//!
//! # Hardware socket policy
//! - `socket()` reserves one hardware socket, so exhaustion is reported where POSIX reports it
//!   (`ENFILE` from `socket()`), not later from `connect()`.
//! - A listener keeps up to `backlog` hardware sockets in LISTEN on its port. When one of them
//!   takes a connection, [`Stack::service`] arms another free socket at once, so the listener
//!   keeps listening while connections wait for `accept()`. `accept()` hands the connected
//!   hardware socket to a new user socket and re-arms. When no hardware socket is free, SYNs
//!   are refused by the chip (RST) until one frees up.
//! - Sockets reserved for the driver's own services (DHCP, DNS) are never given to users.
//! - `close()` on a connected TCP socket sends FIN (DISCON) and lets the stack finish the
//!   close in the background, then issues CLOSE: no hardware socket is ever parked in
//!   TIME_WAIT, and the user's descriptor is free at once.
//!
//! # Chip reset (brown-out) detection
//! A brown-out or a stray RSTn pulse puts every register back to its reset value while the
//! driver runs (research notes §1.12). [`Stack::service`] reads `SIMR` in the same frame as
//! `IR`/`SIR` (one byte more); its reset value is 0 and the stack keeps it at 0xFF, so a
//! `SIMR` that differs from what the stack wrote is the signature (as is an `IMR` other than
//! the 0 the stack writes: a chip whose MISO floats high). It is confirmed by
//! `VERSIONR` == 0x04 (otherwise the chip is absent: [`Error::ChipNotFound`]) and a second read
//! of `SIMR`. Then the stack re-programs what it took from the chip at [`Stack::new`] and what
//! was set through it since (`MR`, `SHAR`, `SIPR`/`SUBR`/`GAR`, buffer plan, `RTR`/`RCR`,
//! masks), every TCP connection and connect in progress fails with [`Error::ConnectionReset`],
//! UDP sockets are opened again on their ports (datagrams in the chip are lost, as on a
//! wire), listeners listen again (connections not yet accepted are lost), and
//! [`Stack::chip_resets`] counts up so the interface re-confirms its DHCP lease. `SIMR` belongs
//! to the stack: do not change it through [`Stack::chip`].
//!
//! # Every wait has a bound
//! The chip ends a connect (SYN/ACK, RST or TCPTO) and a SEND (SEND_OK or TIMEOUT) by itself
//! within its retransmission budget (`RTR`/`RCR`, §1.9). A chip that stops doing so (wedged,
//! frozen registers) would leave a blocking call waiting forever, so [`Stack::service`] also
//! watches each connect and each SEND in flight: after [`Stack::stall_limit_ms`] (twice the
//! chip's own TCP timeout plus a second) a connect fails with [`Error::TimedOut`]; a TCP SEND
//! that made no progress (`Sn_TX_FSR` unchanged) over two such periods ends the connection
//! with [`Error::TimedOut`]; a UDP SEND fails with [`Error::ChipState`]. A healthy chip always
//! finishes first, so these never change what an application sees from a working chip.

use core::net::{Ipv4Addr, SocketAddrV4};

use embedded_hal::spi::SpiDevice;
use w5500_regs::{
    Protocol, Sn, SocketCommand, SocketInterrupt, SocketMode, SocketSet, SocketStatus,
    UDP_MAX_PAYLOAD, UDP_RX_HEADER_LEN,
};

use crate::chip::{Chip, PhyStatus};
use crate::error::{Error, Result};

/// Number of user sockets the table holds: one per hardware socket.
pub const MAX_SOCKETS: usize = 8;

/// First port handed out for ephemeral binds (RFC 6335 dynamic range).
pub const EPHEMERAL_FIRST: u16 = 49152;

/// How long a closing TCP socket may wait for the FIN exchange before it is closed hard.
pub const CLOSE_LINGER_MS: u64 = 2_000;

/// A TCP read of at most this many bytes that empties the receive buffer is taken for a
/// message, not part of a stream (see `copy_tcp`): the IPv4 default MSS.
const MESSAGE_READ_MAX: usize = 536;

/// How often [`Stack::service`] re-reads `PHYCFGR` for the link state (there is no link
/// interrupt on this chip).
pub const LINK_POLL_MS: u64 = 250;

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

/// The chip's TCP retransmission timeout for `RTR` (units of 100 µs) and `RCR`, in ms
/// (datasheet §4.2 `RTR`/`RCR`: the interval doubles per retry while it stays within
/// 65535 units; with the reset values 0.2 + 0.4 + 0.8 + 1.6 + 3.2 + 4 × 6.4 = 31.8 s).
pub fn tcp_timeout_ms(retry_time: u16, retry_count: u8) -> u64 {
    // At most 256 steps of at most 65535 units: 32 bits hold it (and a 32-bit division is
    // one instruction on a Cortex-M, a 64-bit one a library routine).
    let rtr = u32::from(retry_time.max(1));
    let mut cap = rtr;
    while cap.saturating_mul(2) <= 0xffff {
        cap = cap.saturating_mul(2);
    }
    let mut total: u32 = 0;
    let mut step = rtr;
    for _ in 0..=u32::from(retry_count) {
        total = total.saturating_add(step);
        step = step.saturating_mul(2).min(cap);
    }
    u64::from(total / 10)
}

/// Destinations that name this host: `0.0.0.0/8` ("this network", a source address only,
/// RFC 1122 §3.2.1.3) and `127.0.0.0/8` (loopback, which never leaves a host). The chip has
/// no loopback interface, so nothing there is reachable through it.
fn is_this_host(ip: Ipv4Addr) -> bool {
    ip.octets()[0] == 0 || ip.is_loopback()
}

/// The socket table over one chip.
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

/// How long [`Stack::service`] tolerates a chip that shows the reset signature but does not
/// answer `VERSIONR` (PLL lock, slow parts) before it reports [`Error::ChipNotFound`].
pub const CHIP_ABSENT_GRACE_MS: u64 = 100;

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

impl<SPI: SpiDevice> Stack<SPI> {
    /// A stack over a chip that [`Chip::init`] has brought up. Closes every hardware socket
    /// and enables the interrupts of all of them.
    pub fn new(mut chip: Chip<SPI>, config: StackConfig) -> Result<Self> {
        if usize::from(config.reserved_for_services) >= Sn::ALL.len() {
            return Err(Error::InvalidArgument);
        }
        for s in Sn::ALL {
            chip.close_socket(s)?;
            // Sn_IMR and Sn_KPALVTR keep their values across OPEN and CLOSE: set them once.
            chip.set_socket_interrupt_mask(s, SOCKET_IMR_LAZY)?;
            chip.set_keepalive(s, 0)?;
        }
        chip.set_interrupt_masks(w5500_regs::Interrupt::empty(), SocketSet::all())?;
        let (ip, netmask, gateway) = chip.ipv4()?;
        let link = chip.phy_status()?;
        let (retry_time, retry_count) = chip.retry()?;
        let (tx, rx) = chip.buffer_sizes()?;
        let programmed = Programmed {
            mac: chip.mac()?,
            gateway,
            mode: chip.mode()?,
            retry_time,
            retry_count,
            tx,
            rx,
        };
        let mut hw = [Hw::FREE; 8];
        for i in 0..usize::from(config.reserved_for_services) {
            hw[7 - i].owner = HwOwner::Service;
        }
        Ok(Stack {
            chip,
            hw,
            slots: [Slot::EMPTY; MAX_SOCKETS],
            config,
            next_port: EPHEMERAL_FIRST,
            accept_counter: 0,
            link,
            last_link_poll_ms: Stamp::NONE,
            ip,
            netmask,
            intn: false,
            keepalive_reg: [0; 8],
            imr_reg: [SOCKET_IMR_LAZY; 8],
            programmed,
            simr: SocketSet::all(),
            chip_resets: 0,
            takeovers: 0,
            absent_since_ms: Stamp::NONE,
            closing_look_ms: Stamp::NONE,
        })
    }

    /// Tell the stack that INTn is wired and [`Stack::service`] runs whenever it is asserted
    /// (the blocking layer does this from [`crate::bsd::Os::has_interrupt_pin`]). The stack
    /// then trusts the events the service routine saw: a receive on a socket with nothing new
    /// since its last read, a send waiting for SEND_OK, or a connect waiting for CON, returns
    /// [`Error::WouldBlock`] without touching the chip. Without it every call reads the
    /// chip's state.
    ///
    /// The contract that comes with it: whoever waits for INTn runs [`Stack::service`] after
    /// the wait and before it tries the socket again ([`crate::bsd::Bsd::wait_for_news`]
    /// does both). A try between the wake-up and the service finds nothing; if the service
    /// then comes before the next wait, it takes the event (and releases INTn) and the wait
    /// lasts until the safety poll.
    pub fn set_interrupt_driven(&mut self, wired: bool) {
        self.intn = wired;
    }

    /// The chip, for configuration and for the services that own reserved sockets.
    pub fn chip(&mut self) -> &mut Chip<SPI> {
        &mut self.chip
    }

    /// The hardware sockets reserved for services, lowest first.
    pub fn service_sockets(&self) -> impl Iterator<Item = Sn> + '_ {
        Sn::ALL.into_iter().filter(|s| {
            let o = self.hw[s.index()].owner;
            o == HwOwner::Service || (o == HwOwner::Free && self.is_reserved_hw(*s))
        })
    }

    /// Hardware sockets neither in use nor reserved (Adafruit's "remaining sockets").
    pub fn free_hw_sockets(&self) -> usize {
        Sn::ALL
            .into_iter()
            .filter(|s| self.hw[s.index()].owner == HwOwner::Free && !self.is_reserved_hw(*s))
            .count()
    }

    /// The link as last read.
    pub fn link(&self) -> PhyStatus {
        self.link
    }

    /// Program a new IPv4 configuration (from DHCP or the application).
    pub fn set_ipv4(&mut self, ip: Ipv4Addr, netmask: Ipv4Addr, gateway: Ipv4Addr) -> Result<()> {
        self.chip.set_ipv4(ip, netmask, gateway)?;
        self.ip = ip;
        self.netmask = netmask;
        self.programmed.gateway = gateway;
        Ok(())
    }

    /// How many chip resets (brown-outs) [`Stack::service`] has detected and recovered from.
    pub fn chip_resets(&self) -> u32 {
        self.chip_resets
    }

    /// How long a connect or a SEND may wait on the chip before the stall guard ends it:
    /// twice the chip's TCP timeout for the programmed `RTR`/`RCR`, plus one second.
    pub fn stall_limit_ms(&self) -> u64 {
        tcp_timeout_ms(self.programmed.retry_time, self.programmed.retry_count)
            .saturating_mul(2)
            .saturating_add(1_000)
    }

    /// The IPv4 address programmed in the chip.
    pub fn ipv4(&self) -> Ipv4Addr {
        self.ip
    }

    fn slot(&self, id: SocketId) -> Result<&Slot> {
        match self.slots.get(id.index()) {
            Some(s) if s.in_use && s.generation == id.generation => Ok(s),
            _ => Err(Error::BadDescriptor),
        }
    }

    fn slot_mut(&mut self, id: SocketId) -> Result<&mut Slot> {
        match self.slots.get_mut(id.index()) {
            Some(s) if s.in_use && s.generation == id.generation => Ok(s),
            _ => Err(Error::BadDescriptor),
        }
    }

    /// True while `id` names an open socket.
    pub fn is_valid(&self, id: SocketId) -> bool {
        self.slot(id).is_ok()
    }

    fn take_free_hw(&mut self, owner: HwOwner) -> Option<Sn> {
        let s = Sn::ALL
            .into_iter()
            .find(|s| self.hw[s.index()].owner == HwOwner::Free && !self.is_reserved_hw(*s))?;
        self.hw[s.index()] = Hw { owner, ..Hw::FREE };
        Some(s)
    }

    /// `socket()`: a new socket of type `ty`, holding one hardware socket. When none is free
    /// but one is only finishing a `close()` in the background, that one is taken over with an
    /// abortive close (see [`Stack::abortive_takeovers`]); [`Error::NoFreeSocket`] only when
    /// every hardware socket belongs to an open socket.
    pub fn socket(&mut self, ty: SockType) -> Result<SocketId> {
        let index = self
            .slots
            .iter()
            .position(|s| !s.in_use)
            .ok_or(Error::NoFreeSocket)?;
        if self.free_hw_sockets() == 0 {
            // A socket finishing a close in the background may be done by now; if none is,
            // the one furthest along is cut short.
            self.reap_closing()?;
            self.take_over_closing(false)?;
        }
        let sn = self
            .take_free_hw(HwOwner::User(index as u8))
            .ok_or(Error::NoFreeSocket)?;
        let generation = self.slots[index].generation.wrapping_add(1);
        self.slots[index] = Slot {
            in_use: true,
            generation,
            ty,
            hw: Some(sn),
            ..Slot::EMPTY
        };
        Ok(SocketId {
            index: index as u8,
            generation,
        })
    }

    /// Look at every hardware socket finishing a close; free those that are done.
    fn reap_closing(&mut self) -> Result<()> {
        for s in Sn::ALL {
            if matches!(self.hw[s.index()].owner, HwOwner::Closing) {
                self.refresh(s)?;
            }
        }
        Ok(())
    }

    /// No hardware socket is free: end the background close that is furthest along with
    /// CLOSE, so its hardware socket can serve a new socket at once (Linux would have a new
    /// socket too; its old connection would linger in the kernel instead). `reserved`
    /// allows a hardware socket kept for the services. Does nothing when a usable one is free
    /// or none is closing.
    ///
    /// The choice is what it costs the peer (measured in `tests/reuse.rs`): first the fewest
    /// bytes not yet acknowledged (`Sn_TX_FSR` below the buffer size, DS §4.2: they are lost,
    /// CLOSE retransmits nothing), then the state furthest along (`Sn_SR`: LAST_ACK, where
    /// only the final ACK is missing, before CLOSING, FIN_WAIT, and a socket whose FIN is not
    /// out yet), then the oldest close. CLOSE sends nothing: the peer learns of it from the
    /// RST the chip answers its next segment with.
    fn take_over_closing(&mut self, reserved: bool) -> Result<()> {
        let usable = |st: &Self, s: Sn| reserved || !st.is_reserved_hw(s);
        if Sn::ALL
            .into_iter()
            .any(|s| self.hw[s.index()].owner == HwOwner::Free && usable(self, s))
        {
            return Ok(());
        }
        let stage = |sr: SocketStatus| match sr {
            SocketStatus::Closed | SocketStatus::TimeWait => 0u8,
            SocketStatus::LastAck => 1,
            SocketStatus::Closing => 2,
            SocketStatus::FinWait => 3,
            _ => 4,
        };
        let mut victim: Option<(Sn, (u16, u8, u64))> = None;
        for s in Sn::ALL {
            if self.hw[s.index()].owner != HwOwner::Closing || !usable(self, s) {
                continue;
            }
            let h = self.hw[s.index()];
            // tx_cap is 0 when nothing was ever written: then nothing is outstanding.
            let outstanding = match h.tx_cap {
                0 => 0,
                cap => cap.saturating_sub(self.chip.tx_free(s)?),
            };
            let key = (outstanding, stage(h.status), h.close_deadline_ms);
            if victim.is_none_or(|(_, k)| key < k) {
                victim = Some((s, key));
            }
        }
        if let Some((sn, _)) = victim {
            w5500_log::debug!("stack: hardware socket taken over from a background close");
            self.chip.close_socket(sn)?;
            self.hw[sn.index()] = Hw::FREE;
            self.takeovers = self.takeovers.wrapping_add(1);
        }
        Ok(())
    }

    /// How many background closes [`Stack::socket`] has cut short (CLOSE before the FIN
    /// exchange ended) because no hardware socket was free.
    pub fn abortive_takeovers(&self) -> u32 {
        self.takeovers
    }

    fn port_in_use(&self, port: u16, ty: SockType, except: usize) -> bool {
        self.slots
            .iter()
            .enumerate()
            .any(|(i, s)| i != except && s.in_use && s.ty == ty && s.port == port && !s.reuse_addr)
    }

    fn ephemeral_port(&mut self, ty: SockType, except: usize) -> u16 {
        for _ in 0..(u16::MAX - EPHEMERAL_FIRST) {
            let p = self.next_port;
            self.next_port = if p == u16::MAX {
                EPHEMERAL_FIRST
            } else {
                p + 1
            };
            if !self.port_in_use(p, ty, except) {
                return p;
            }
        }
        self.next_port
    }

    /// `bind()`: choose the local port (0 = ephemeral). The address must be unspecified or
    /// ours. A UDP socket opens on the chip at once, so it can receive.
    pub fn bind(&mut self, id: SocketId, addr: SocketAddrV4) -> Result<()> {
        let ip = self.ip;
        let slot = *self.slot(id)?;
        if slot.phase != Phase::Fresh {
            return Err(Error::InvalidArgument);
        }
        if !addr.ip().is_unspecified() && *addr.ip() != ip {
            return Err(Error::AddrNotAvailable);
        }
        let port = if addr.port() == 0 {
            self.ephemeral_port(slot.ty, id.index())
        } else {
            if !slot.reuse_addr && self.port_in_use(addr.port(), slot.ty, id.index()) {
                return Err(Error::AddrInUse);
            }
            addr.port()
        };
        self.slot_mut(id)?.port = port;
        if slot.ty == SockType::Datagram {
            self.open_udp(id)?;
        }
        self.slot_mut(id)?.phase = Phase::Bound;
        Ok(())
    }

    fn open_udp(&mut self, id: SocketId) -> Result<()> {
        let slot = *self.slot(id)?;
        let sn = slot.hw.ok_or(Error::BadDescriptor)?;
        let mut mode = SocketMode::new(Protocol::Udp);
        if let Some(group) = slot.group {
            // Multicast: Sn_DIPR/Sn_DPORT hold the group before OPEN (§3.2 Sn_MR MULTI).
            mode = mode.with(SocketMode::MULTI_MFEN, true);
            self.chip
                .set_peer(sn, SocketAddrV4::new(group, slot.port))?;
        }
        self.chip.open_socket(sn, mode, slot.port)?;
        self.hw[sn.index()].reset_data_path();
        self.hw[sn.index()].status = SocketStatus::Udp;
        // OPEN empties the RX buffer: the first datagram will raise RECV (as after
        // establishment, see `apply_events`), so a receive before it needs no RSR read.
        self.hw[sn.index()].rx_idle = self.intn;
        self.hw[sn.index()].udp_dest = slot.group.map(|g| SocketAddrV4::new(g, slot.port));
        Ok(())
    }

    fn ensure_bound(&mut self, id: SocketId) -> Result<()> {
        if self.slot(id)?.phase == Phase::Fresh {
            self.bind(id, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))?;
        }
        Ok(())
    }

    fn open_tcp(&mut self, sn: Sn, port: u16, keepalive: bool) -> Result<()> {
        self.open_tcp_to(sn, port, keepalive, None)
    }

    /// Open a TCP socket; `peer` (for CONNECT) is written while OPEN is being accepted.
    fn open_tcp_to(
        &mut self,
        sn: Sn,
        port: u16,
        keepalive: bool,
        peer: Option<SocketAddrV4>,
    ) -> Result<()> {
        // ND: no delayed ACK, for request/response latency (§3.2 Sn_MR).
        let mode = SocketMode::new(Protocol::Tcp).with(SocketMode::ND_MC_MMB, true);
        self.chip.open_socket_to(sn, mode, port, peer)?;
        let units = if keepalive {
            self.config.keepalive_units
        } else {
            0
        };
        self.write_keepalive(sn, units)?;
        let h = &mut self.hw[sn.index()];
        h.status = SocketStatus::Init;
        h.reset_data_path();
        Ok(())
    }

    /// `Sn_IMR`, written only when it changes.
    fn write_imr(&mut self, sn: Sn, mask: SocketInterrupt) -> Result<()> {
        if self.imr_reg[sn.index()] != mask {
            self.chip.set_socket_interrupt_mask(sn, mask)?;
            self.imr_reg[sn.index()] = mask;
        }
        Ok(())
    }

    /// With INTn wired: is the SEND on `sn` still in flight? When SEND_OK is routed to INTn
    /// the service routine will say; otherwise look (`Sn_CR` and `Sn_IR` in one frame), and if
    /// it is still in flight route SEND_OK to INTn so the caller's wait ends when it comes
    /// (the mask gates a level: a SEND_OK set meanwhile asserts INTn at once). A SEND_OK
    /// found is left set for the caller's next SEND to clear.
    fn send_pending(&mut self, sn: Sn) -> Result<bool> {
        let i = sn.index();
        if !self.hw[i].send_in_flight {
            return Ok(false);
        }
        self.hw[i].send_waiter = true;
        if self.imr_reg[i].contains(SocketInterrupt::SEND_OK) {
            return Ok(true);
        }
        let ir = self.chip.command_and_events(sn)?;
        if self.chip.command_pending(sn) {
            // Still not taken (or stuck): wait for it, bounded; a stuck Sn_CR is EIO here.
            self.chip.await_accepted(sn)?;
        }
        self.take_events(sn, ir)?;
        if self.hw[i].send_in_flight {
            self.write_imr(sn, SOCKET_IMR)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// `Sn_KPALVTR`, written only when it changes.
    fn write_keepalive(&mut self, sn: Sn, units: u8) -> Result<()> {
        if self.keepalive_reg[sn.index()] != units {
            self.chip.set_keepalive(sn, units)?;
            self.keepalive_reg[sn.index()] = units;
        }
        Ok(())
    }

    /// Re-read `PHYCFGR` (one SPI frame) so a pulled cable is reported now, not at the next
    /// periodic link poll.
    fn refresh_link(&mut self) -> Result<()> {
        self.link = self.chip.phy_status()?;
        Ok(())
    }

    fn require_link_and_address(&mut self) -> Result<()> {
        self.refresh_link()?;
        if !self.link.link_up {
            return Err(Error::NetworkDown);
        }
        if self.ip.is_unspecified() {
            return Err(Error::NetworkUnreachable);
        }
        Ok(())
    }

    /// `connect()`: TCP starts the handshake and returns [`Error::InProgress`] (the blocking
    /// layer waits for [`Stack::connect_result`]); UDP records the default peer at once.
    ///
    /// Destinations the chip cannot reach fail at once, before any traffic: this host
    /// (`0.0.0.0/8`, `127.0.0.0/8`; the chip has no loopback) is [`Error::NetworkUnreachable`]
    /// for both types, and so are broadcast and multicast addresses for TCP (as Linux's
    /// `tcp_v4_connect`); port 0 is [`Error::InvalidArgument`].
    pub fn connect(&mut self, id: SocketId, peer: SocketAddrV4) -> Result<()> {
        let slot = *self.slot(id)?;
        if peer.port() == 0 {
            return Err(Error::InvalidArgument);
        }
        if is_this_host(*peer.ip()) {
            return Err(Error::NetworkUnreachable);
        }
        match slot.ty {
            SockType::Datagram => {
                self.check_broadcast(&slot, *peer.ip())?;
                self.ensure_bound(id)?;
                self.slot_mut(id)?.peer = Some(peer);
                Ok(())
            }
            SockType::Stream => {
                match slot.phase {
                    Phase::Connecting => return Err(Error::Already),
                    Phase::Connected => return Err(Error::AlreadyConnected),
                    // POSIX connect(): "The socket is listening and cannot be connected."
                    Phase::Listening { .. } => return Err(Error::Unsupported),
                    Phase::Fresh | Phase::Bound => {}
                }
                if self.is_broadcast_dst(*peer.ip()) || peer.ip().is_multicast() {
                    return Err(Error::NetworkUnreachable);
                }
                self.require_link_and_address()?;
                self.ensure_bound(id)?;
                let slot = *self.slot(id)?;
                let sn = slot.hw.ok_or(Error::BadDescriptor)?;
                self.open_tcp_to(sn, slot.port, slot.keepalive, Some(peer))?;
                // Acceptance shows as the state leaving INIT (or at the next command).
                self.chip.issue(sn, SocketCommand::Connect)?;
                self.hw[sn.index()].status = SocketStatus::SynSent;
                let s = self.slot_mut(id)?;
                s.phase = Phase::Connecting;
                s.peer = Some(peer);
                s.error = None;
                Err(Error::InProgress)
            }
        }
    }

    /// Outcome of a TCP connect: `Ok(())` once connected, [`Error::WouldBlock`] while the
    /// handshake runs, or why it failed (refused, timed out, host unreachable).
    pub fn connect_result(&mut self, id: SocketId) -> Result<()> {
        let slot = *self.slot(id)?;
        match slot.phase {
            Phase::Connected => Ok(()),
            Phase::Connecting => {
                let sn = slot.hw.ok_or(Error::BadDescriptor)?;
                // With INTn wired, CON, DISCON or TIMEOUT reaches the service routine.
                if !self.intn {
                    self.refresh(sn)?;
                }
                match self.slot(id)?.phase {
                    Phase::Connected => Ok(()),
                    Phase::Connecting => Err(Error::WouldBlock),
                    _ => Err(self
                        .slot_mut(id)?
                        .error
                        .take()
                        .unwrap_or(Error::ConnectionRefused)),
                }
            }
            _ => Err(slot.error.unwrap_or(Error::NotConnected)),
        }
    }

    /// Read the socket's events and state from the chip and update the table. Cheap enough to
    /// call before each operation that depends on state: one SPI frame, two when there were
    /// events to clear. Returns the events seen.
    fn refresh(&mut self, sn: Sn) -> Result<SocketInterrupt> {
        if self.quiet(sn) {
            let ir = self.chip.socket_interrupt(sn)?;
            return self.take_events(sn, ir);
        }
        let (ir, sr) = self.chip.socket_events(sn)?;
        self.handle_events(sn, ir, sr)
    }

    /// ESTABLISHED and UDP are only left with an event (CON, DISCON or TIMEOUT comes with
    /// every change), so there `Sn_IR` alone says whether `Sn_SR` needs reading.
    fn quiet(&self, sn: Sn) -> bool {
        let h = &self.hw[sn.index()];
        matches!(h.owner, HwOwner::User(_))
            && matches!(h.status, SocketStatus::Established | SocketStatus::Udp)
    }

    /// Act on `Sn_IR` bits read from a socket in a quiet state (ESTABLISHED, UDP): `Sn_SR`
    /// is read only when CON, DISCON or TIMEOUT says it changed.
    fn take_events(&mut self, sn: Sn, ir: SocketInterrupt) -> Result<SocketInterrupt> {
        let changes = SocketInterrupt::CON | SocketInterrupt::DISCON | SocketInterrupt::TIMEOUT;
        let sr = if ir.intersects(changes) {
            self.chip.socket_status(sn)?
        } else {
            self.hw[sn.index()].status
        };
        self.handle_events(sn, ir, sr)
    }

    /// Clear what was read (except a SEND_OK kept for a waiting sender's SEND) and update
    /// the table.
    fn handle_events(
        &mut self,
        sn: Sn,
        ir: SocketInterrupt,
        sr: SocketStatus,
    ) -> Result<SocketInterrupt> {
        let h = self.hw[sn.index()];
        let mut clear = ir;
        if ir.contains(SocketInterrupt::SEND_OK) {
            if h.send_ok_latched && !h.send_in_flight {
                // Left set for a SEND that did not come: clear it now so INTn can rise.
                self.hw[sn.index()].send_ok_latched = false;
            } else if h.send_in_flight && h.send_waiter {
                // The blocked sender's SEND will clear it in its own frame.
                clear.remove(SocketInterrupt::SEND_OK);
                self.hw[sn.index()].send_ok_latched = true;
            } else if self.intn && self.imr_reg[sn.index()].contains(SocketInterrupt::SEND_OK) {
                // Nobody waited for this SEND_OK: let the next send find it instead.
                self.write_imr(sn, SOCKET_IMR_LAZY)?;
            }
        }
        self.chip.clear_socket_events(sn, clear)?;
        self.apply_events(sn, ir, sr)?;
        Ok(ir)
    }

    fn apply_events(&mut self, sn: Sn, ir: SocketInterrupt, sr: SocketStatus) -> Result<()> {
        let h = &mut self.hw[sn.index()];
        let prev = h.status;
        h.events |= ir;
        h.status = sr;
        if ir.intersects(SocketInterrupt::SEND_OK | SocketInterrupt::TIMEOUT) {
            if h.send_in_flight {
                // A SEND cannot complete before the chip took it from Sn_CR.
                self.chip.note_accepted(sn, SocketCommand::Send);
            }
            h.send_in_flight = false;
            if ir.contains(SocketInterrupt::SEND_OK) && sr == SocketStatus::Udp {
                // UDP: SEND_OK means the datagram left the buffer (TX_RD = TX_WR).
                h.tx_free = h.tx_free.max(h.tx_cap);
            }
        }
        if ir.contains(SocketInterrupt::RECV) {
            // Only an arrival adds data; a FIN, RST or timeout does not.
            h.rx_idle = false;
        }
        if sr == SocketStatus::Established
            && prev != SocketStatus::Established
            && !ir.contains(SocketInterrupt::RECV)
        {
            // Just connected and nothing received yet: the first data will raise RECV.
            h.rx_idle = self.intn;
        }
        // States only a command leads to prove that command was accepted: INIT is left only
        // by a command (CONNECT, LISTEN, CLOSE), and only DISCON leads to FIN_WAIT/LAST_ACK.
        if !matches!(sr, SocketStatus::Init | SocketStatus::Unknown(_)) {
            self.chip.note_accepted(sn, SocketCommand::Connect);
            self.chip.note_accepted(sn, SocketCommand::Listen);
        }
        if matches!(
            sr,
            SocketStatus::FinWait
                | SocketStatus::Closing
                | SocketStatus::TimeWait
                | SocketStatus::LastAck
        ) {
            self.chip.note_accepted(sn, SocketCommand::Discon);
        }
        let owner = h.owner;
        match owner {
            HwOwner::User(i) => self.update_user(usize::from(i), sn, ir, prev, sr),
            HwOwner::Listener(i) => self.update_listener_socket(usize::from(i), sn, sr),
            HwOwner::Closing => {
                if matches!(
                    sr,
                    SocketStatus::Closed | SocketStatus::TimeWait | SocketStatus::Unknown(_)
                ) {
                    self.chip.close_socket(sn)?;
                    self.hw[sn.index()] = Hw::FREE;
                }
                Ok(())
            }
            HwOwner::Free | HwOwner::Service => Ok(()),
        }
    }

    fn update_user(
        &mut self,
        index: usize,
        sn: Sn,
        ir: SocketInterrupt,
        prev: SocketStatus,
        sr: SocketStatus,
    ) -> Result<()> {
        let Some(slot) = self.slots.get_mut(index) else {
            return Ok(());
        };
        if slot.ty == SockType::Datagram {
            if ir.contains(SocketInterrupt::TIMEOUT) {
                // A UDP SEND whose ARP got no answer (§3.2 Sn_IR TIMEOUT); the socket stays open.
                slot.error = Some(Error::HostUnreachable);
            }
            if sr == SocketStatus::Closed && slot.phase == Phase::Bound {
                slot.error = Some(Error::ConnectionAborted);
            }
            return Ok(());
        }
        match slot.phase {
            Phase::Connecting => match sr {
                SocketStatus::Established | SocketStatus::CloseWait => {
                    slot.phase = Phase::Connected;
                }
                SocketStatus::Closed => {
                    let timed_out = self.hw[sn.index()]
                        .events
                        .contains(SocketInterrupt::TIMEOUT);
                    let err = if timed_out {
                        // ARP timeout vs SYN timeout: the chip fills Sn_DHAR when ARP resolves.
                        match self.chip_peer_mac_resolved(sn)? {
                            true => Error::TimedOut,
                            false => Error::HostUnreachable,
                        }
                    } else {
                        Error::ConnectionRefused
                    };
                    if let Some(slot) = self.slots.get_mut(index) {
                        slot.error = Some(err);
                        slot.phase = Phase::Bound;
                    }
                }
                _ => {}
            },
            Phase::Connected if sr == SocketStatus::Closed && slot.error.is_none() && !slot.eof => {
                let timed_out = ir.contains(SocketInterrupt::TIMEOUT)
                    || self.hw[sn.index()]
                        .events
                        .contains(SocketInterrupt::TIMEOUT);
                // Our FIN went out (shutdown(SHUT_WR)) or the FIN exchange was under way: the
                // chip reaching CLOSED by itself (via TIME_WAIT or LAST_ACK) is an orderly end,
                // not a reset. Data still waiting stays readable; then recv() returns 0.
                let orderly = slot.shut_wr
                    || matches!(
                        prev,
                        SocketStatus::FinWait
                            | SocketStatus::Closing
                            | SocketStatus::TimeWait
                            | SocketStatus::LastAck
                    );
                if orderly && !timed_out {
                    return Ok(());
                }
                if let Some(slot) = self.slots.get_mut(index) {
                    slot.error = Some(if timed_out {
                        Error::TimedOut
                    } else {
                        Error::ConnectionReset
                    });
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn chip_peer_mac_resolved(&mut self, sn: Sn) -> Result<bool> {
        let mut mac = [0u8; 6];
        self.chip.bus().read(
            w5500_regs::Block::Socket(sn),
            w5500_regs::sn::DHAR,
            &mut mac,
        )?;
        Ok(mac != [0xff; 6] && mac != [0; 6])
    }

    fn update_listener_socket(&mut self, index: usize, sn: Sn, sr: SocketStatus) -> Result<()> {
        match sr {
            SocketStatus::Established | SocketStatus::CloseWait
                if self.hw[sn.index()].accept_seq == 0 =>
            {
                self.accept_counter = self.accept_counter.wrapping_add(1).max(1);
                self.hw[sn.index()].accept_seq = self.accept_counter;
                // Keep listening while this connection waits for accept().
                self.arm_listeners(index)?;
            }
            SocketStatus::Closed | SocketStatus::Unknown(_) => {
                // A pending connection was reset before accept(), or LISTEN failed: re-arm.
                let Some(slot) = self.slots.get(index) else {
                    return Ok(());
                };
                let port = slot.port;
                self.hw[sn.index()].accept_seq = 0;
                self.open_tcp(sn, port, slot.keepalive)?;
                self.chip.command(sn, SocketCommand::Listen)?;
                self.hw[sn.index()].status = SocketStatus::Listen;
            }
            _ => {}
        }
        Ok(())
    }

    /// Sockets of listener `index`: (listening, pending connections).
    fn listener_counts(&self, index: usize) -> (usize, usize) {
        let mut listening = 0;
        let mut pending = 0;
        for h in &self.hw {
            if h.owner == HwOwner::Listener(index as u8) {
                if h.accept_seq != 0 {
                    pending += 1;
                } else {
                    listening += 1;
                }
            }
        }
        (listening, pending)
    }

    /// Arm free hardware sockets in LISTEN until listener `index` has its backlog covered.
    fn arm_listeners(&mut self, index: usize) -> Result<()> {
        let Some(slot) = self.slots.get(index).copied() else {
            return Ok(());
        };
        let Phase::Listening { backlog } = slot.phase else {
            return Ok(());
        };
        loop {
            let (listening, pending) = self.listener_counts(index);
            if listening >= 1 && listening + pending >= usize::from(backlog) {
                return Ok(());
            }
            let Some(sn) = self.take_free_hw(HwOwner::Listener(index as u8)) else {
                return Ok(());
            };
            self.open_tcp(sn, slot.port, slot.keepalive)?;
            self.chip.command(sn, SocketCommand::Listen)?;
            self.hw[sn.index()].status = SocketStatus::Listen;
        }
    }

    /// `listen()`: the socket's hardware socket and up to `backlog - 1` more listen on its
    /// port. A backlog of 0 counts as 1; more than the free sockets is capped by what is free.
    pub fn listen(&mut self, id: SocketId, backlog: u32) -> Result<()> {
        let slot = *self.slot(id)?;
        if slot.ty != SockType::Stream {
            return Err(Error::Unsupported);
        }
        match slot.phase {
            Phase::Fresh | Phase::Bound => {}
            Phase::Listening { .. } => return Ok(()),
            _ => return Err(Error::InvalidArgument),
        }
        self.ensure_bound(id)?;
        let backlog = backlog.clamp(1, Sn::ALL.len() as u32) as u8;
        let sn = slot.hw.ok_or(Error::BadDescriptor)?;
        self.hw[sn.index()].owner = HwOwner::Listener(id.index);
        {
            let s = self.slot_mut(id)?;
            s.hw = None;
            s.phase = Phase::Listening { backlog };
        }
        let port = self.slot(id)?.port;
        self.open_tcp(sn, port, slot.keepalive)?;
        self.chip.command(sn, SocketCommand::Listen)?;
        self.hw[sn.index()].status = SocketStatus::Listen;
        self.arm_listeners(id.index())
    }

    /// `accept()`: the oldest pending connection as a new socket, with its peer address.
    pub fn accept(&mut self, id: SocketId) -> Result<(SocketId, SocketAddrV4)> {
        let slot = *self.slot(id)?;
        if slot.ty != SockType::Stream {
            // POSIX accept(): "The socket type of the specified socket does not support
            // accepting connections" is EOPNOTSUPP (as listen() on UDP).
            return Err(Error::Unsupported);
        }
        if !matches!(slot.phase, Phase::Listening { .. }) {
            return Err(Error::InvalidArgument);
        }
        // Refresh listener sockets so connections that arrived are seen even without INTn.
        for s in Sn::ALL {
            if self.hw[s.index()].owner == HwOwner::Listener(id.index) {
                self.refresh(s)?;
            }
        }
        let pending = Sn::ALL
            .into_iter()
            .filter(|s| {
                let h = &self.hw[s.index()];
                h.owner == HwOwner::Listener(id.index) && h.accept_seq != 0
            })
            .min_by_key(|s| self.hw[s.index()].accept_seq);
        let Some(sn) = pending else {
            return Err(Error::WouldBlock);
        };
        let new_index = self
            .slots
            .iter()
            .position(|s| !s.in_use)
            .ok_or(Error::NoFreeSocket)?;
        let peer = self.chip.peer(sn)?;
        let generation = self.slots[new_index].generation.wrapping_add(1);
        self.slots[new_index] = Slot {
            in_use: true,
            generation,
            ty: SockType::Stream,
            hw: Some(sn),
            phase: Phase::Connected,
            port: slot.port,
            peer: Some(peer),
            reuse_addr: true,
            keepalive: slot.keepalive,
            ..Slot::EMPTY
        };
        let h = &mut self.hw[sn.index()];
        h.owner = HwOwner::User(new_index as u8);
        h.accept_seq = 0;
        self.arm_listeners(id.index())?;
        Ok((
            SocketId {
                index: new_index as u8,
                generation,
            },
            peer,
        ))
    }

    /// The limited broadcast, or the directed broadcast of our own subnet.
    fn is_broadcast_dst(&self, dst: Ipv4Addr) -> bool {
        let directed = !self.netmask.is_unspecified()
            && u32::from(dst) | u32::from(self.netmask) == u32::MAX
            && u32::from(dst) & u32::from(self.netmask)
                == u32::from(self.ip) & u32::from(self.netmask);
        dst.is_broadcast() || directed
    }

    fn check_broadcast(&self, slot: &Slot, dst: Ipv4Addr) -> Result<()> {
        if self.is_broadcast_dst(dst) && !slot.broadcast {
            return Err(Error::PermissionDenied);
        }
        Ok(())
    }

    /// `send()` on a TCP socket or a connected UDP socket; `sendto()` with `to` on UDP.
    /// TCP may take fewer bytes than offered (a short write); UDP takes all or nothing and
    /// refuses datagrams over 1472 bytes with [`Error::MessageTooLong`].
    pub fn send(&mut self, id: SocketId, data: &[u8], to: Option<SocketAddrV4>) -> Result<usize> {
        let slot = *self.slot(id)?;
        if let Some(e) = slot.error {
            if slot.ty == SockType::Datagram || slot.phase != Phase::Connecting {
                let s = self.slot_mut(id)?;
                s.error = None;
                if s.ty == SockType::Stream && s.phase == Phase::Connected {
                    // A connection's error is terminal: reported once, then EOF / EPIPE.
                    s.eof = true;
                }
                return Err(e);
            }
        }
        if slot.shut_wr {
            return Err(Error::BrokenPipe);
        }
        match slot.ty {
            SockType::Stream => self.send_tcp(id, data),
            SockType::Datagram => self.send_udp(id, data, to),
        }
    }

    fn send_tcp(&mut self, id: SocketId, data: &[u8]) -> Result<usize> {
        let slot = *self.slot(id)?;
        match slot.phase {
            Phase::Connected => {}
            Phase::Connecting => return Err(Error::WouldBlock),
            _ => return Err(Error::NotConnected),
        }
        let sn = slot.hw.ok_or(Error::BadDescriptor)?;
        if data.is_empty() {
            return Ok(0);
        }
        // With INTn wired the service routine reports SEND_OK; without it, look.
        if self.hw[sn.index()].send_in_flight && !self.intn {
            self.refresh(sn)?;
        }
        let status = self.hw[sn.index()].status;
        if !matches!(status, SocketStatus::Established | SocketStatus::CloseWait) {
            self.refresh(sn)?;
            let slot = self.slot_mut(id)?;
            return Err(match slot.error.take() {
                Some(e) => {
                    // Reported once (ECONNRESET, ETIMEDOUT); from now on the connection is
                    // over: reads are EOF, writes EPIPE, as on Linux.
                    slot.eof = true;
                    e
                }
                None => Error::BrokenPipe,
            });
        }
        let in_flight = if self.intn {
            self.send_pending(sn)?
        } else {
            self.hw[sn.index()].send_in_flight
        };
        if in_flight {
            self.hw[sn.index()].send_waiter = true;
            return Err(Error::WouldBlock);
        }
        self.hw[sn.index()].send_waiter = false;
        let (free, wr) = self.tx_room(sn, data.len())?;
        let n = data.len().min(usize::from(free));
        let Some(chunk) = data.get(..n).filter(|c| !c.is_empty()) else {
            return Err(Error::WouldBlock);
        };
        self.transmit(sn, wr, chunk)?;
        Ok(n)
    }

    /// Free TX space (a lower bound, read from the chip only when `want` does not fit in what
    /// is already known to be free) and the write pointer.
    fn tx_room(&mut self, sn: Sn, want: usize) -> Result<(u16, u16)> {
        let h = self.hw[sn.index()];
        let (free, wr) = match h.tx_wr {
            Some(wr) => {
                let mut free = h.tx_free;
                if usize::from(free) < want {
                    free = free.max(self.chip.tx_free(sn)?);
                }
                (free, wr)
            }
            None => {
                // First look since OPEN or establishment: nothing is queued, so FSR is the
                // buffer size.
                let (fsr, wr) = self.chip.tx_first_look(sn)?;
                self.hw[sn.index()].tx_cap = fsr;
                (fsr, wr)
            }
        };
        let h = &mut self.hw[sn.index()];
        h.tx_wr = Some(wr);
        h.tx_free = free;
        Ok((free, wr))
    }

    /// Write `data` at `wr`, publish `Sn_TX_WR` and issue SEND (clearing a SEND_OK left set
    /// for it in the same frame). The caller checked the room and that no SEND is in flight.
    fn transmit(&mut self, sn: Sn, wr: u16, data: &[u8]) -> Result<()> {
        let next = self.chip.write_tx(sn, wr, data)?;
        let h = &mut self.hw[sn.index()];
        h.tx_wr = Some(next);
        h.tx_free = h.tx_free.saturating_sub(data.len() as u16);
        let clear = if h.send_ok_latched {
            SocketInterrupt::SEND_OK
        } else {
            SocketInterrupt::empty()
        };
        self.chip.issue_and_clear(sn, SocketCommand::Send, clear)?;
        let h = &mut self.hw[sn.index()];
        h.send_ok_latched = false;
        h.send_in_flight = true;
        Ok(())
    }

    fn send_udp(&mut self, id: SocketId, data: &[u8], to: Option<SocketAddrV4>) -> Result<usize> {
        // SEND transmits what lies between Sn_TX_RD and Sn_TX_WR (DS §4.2 Sn_CR): with
        // nothing there the chip sends no datagram, so an empty one cannot be sent. Refused
        // rather than reported as sent (Linux would send it; docs/SEMANTICS.md).
        if data.is_empty() || data.len() > UDP_MAX_PAYLOAD {
            return Err(Error::MessageTooLong);
        }
        let slot = *self.slot(id)?;
        let dest = to.or(slot.peer).ok_or(Error::DestinationRequired)?;
        if dest.port() == 0 {
            return Err(Error::InvalidArgument);
        }
        if is_this_host(*dest.ip()) {
            return Err(Error::NetworkUnreachable);
        }
        self.check_broadcast(&slot, *dest.ip())?;
        self.refresh_link()?;
        if !self.link.link_up {
            return Err(Error::NetworkDown);
        }
        self.ensure_bound(id)?;
        let sn = self.slot(id)?.hw.ok_or(Error::BadDescriptor)?;
        if self.hw[sn.index()].send_in_flight {
            if self.intn {
                self.send_pending(sn)?;
            } else {
                self.refresh(sn)?;
            }
            if let Some(e) = self.slot_mut(id)?.error.take() {
                return Err(e);
            }
            if self.hw[sn.index()].send_in_flight {
                self.hw[sn.index()].send_waiter = true;
                return Err(Error::WouldBlock);
            }
        }
        self.hw[sn.index()].send_waiter = false;
        let (free, wr) = self.tx_room(sn, data.len())?;
        if usize::from(free) < data.len() {
            return Err(Error::WouldBlock);
        }
        if self.hw[sn.index()].udp_dest != Some(dest) {
            self.chip.set_peer(sn, dest)?;
            self.hw[sn.index()].udp_dest = Some(dest);
        }
        self.transmit(sn, wr, data)?;
        Ok(data.len())
    }

    /// Whether the last SEND on this socket has completed: `Ok(true)` when done (or none),
    /// `Ok(false)` while in flight, or the error it ended with (UDP: ARP timeout).
    pub fn send_done(&mut self, id: SocketId) -> Result<bool> {
        let sn = self.slot(id)?.hw.ok_or(Error::BadDescriptor)?;
        if self.hw[sn.index()].send_in_flight {
            if self.intn {
                self.send_pending(sn)?;
            } else {
                self.refresh(sn)?;
            }
        }
        if self.slot(id)?.ty == SockType::Datagram {
            if let Some(e) = self.slot_mut(id)?.error.take() {
                return Err(e);
            }
        }
        Ok(!self.hw[sn.index()].send_in_flight)
    }

    /// `recv()`/`recvfrom()`: bytes into `buf` and the sender. TCP returns `Ok((0, _))` at end
    /// of stream. A UDP datagram larger than `buf` is truncated and its rest discarded
    /// (returned length is what was copied; see [`Stack::recv_datagram`] for the full size).
    pub fn recv(
        &mut self,
        id: SocketId,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> Result<(usize, SocketAddrV4)> {
        let slot = *self.slot(id)?;
        match slot.ty {
            SockType::Stream => self.recv_tcp(id, buf, flags),
            SockType::Datagram => {
                let (n, _, from) = self.recv_datagram(id, buf, flags)?;
                Ok((n, from))
            }
        }
    }

    fn recv_tcp(
        &mut self,
        id: SocketId,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> Result<(usize, SocketAddrV4)> {
        let slot = *self.slot(id)?;
        let peer = slot
            .peer
            .unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
        match slot.phase {
            Phase::Connected => {}
            Phase::Connecting => return Err(Error::WouldBlock),
            _ => return Err(slot.error.unwrap_or(Error::NotConnected)),
        }
        if slot.shut_rd || slot.eof || buf.is_empty() {
            // A zero-length read asks for nothing: 0 at once, as Linux's tcp_recvmsg (its
            // target of 0 bytes is met before any wait or error check).
            return Ok((0, peer));
        }
        let sn = slot.hw.ok_or(Error::BadDescriptor)?;
        let idle = self.intn && self.hw[sn.index()].rx_idle;
        if idle
            && matches!(
                self.hw[sn.index()].status,
                SocketStatus::Established | SocketStatus::FinWait
            )
        {
            return Err(Error::WouldBlock);
        }
        if let Some(rx) = self.hw[sn.index()].rx_ahead {
            // Known to be waiting since the last read (at least this much).
            return self.copy_tcp(sn, rx, buf, flags).map(|n| (n, peer));
        }
        let rx = if idle {
            // Nothing left and nothing arrived since; the connection ended (see below).
            crate::hw::RxState {
                received: 0,
                read_ptr: 0,
            }
        } else {
            self.chip.rx_state(sn)?
        };
        if rx.received == 0 {
            // With INTn wired the service routine has seen every event up to now (or INTn is
            // still asserted and it will), so the state on record is current.
            if !self.intn {
                self.refresh(sn)?;
            }
            let status = self.hw[sn.index()].status;
            // Data may have arrived between the two reads; look again before deciding.
            let rx = if self.intn {
                rx
            } else {
                self.chip.rx_state(sn)?
            };
            if rx.received == 0 {
                self.mark_rx_idle(sn);
                return match status {
                    // FIN_WAIT: our FIN is out (shutdown(SHUT_WR)), the peer's is not in yet;
                    // it may still send, so this is not EOF.
                    SocketStatus::Established | SocketStatus::FinWait => Err(Error::WouldBlock),
                    SocketStatus::CloseWait
                    | SocketStatus::LastAck
                    | SocketStatus::TimeWait
                    | SocketStatus::Closing => {
                        self.slot_mut(id)?.eof = true;
                        Ok((0, peer))
                    }
                    SocketStatus::Unknown(_) if slot.error.is_none() => {
                        // Not a state the chip has (an absent chip reads 0xFF): not EOF.
                        Err(Error::ChipState)
                    }
                    _ => {
                        let s = self.slot_mut(id)?;
                        match s.error.take() {
                            Some(e) => {
                                s.eof = true;
                                Err(e)
                            }
                            None => {
                                s.eof = true;
                                Ok((0, peer))
                            }
                        }
                    }
                };
            }
            return self.copy_tcp(sn, rx, buf, flags).map(|n| (n, peer));
        }
        self.copy_tcp(sn, rx, buf, flags).map(|n| (n, peer))
    }

    fn copy_tcp(
        &mut self,
        sn: Sn,
        rx: crate::hw::RxState,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> Result<usize> {
        let n = buf.len().min(usize::from(rx.received));
        let Some(dst) = buf.get_mut(..n) else {
            return Ok(0);
        };
        self.chip.read_rx(sn, rx.read_ptr, dst)?;
        if !flags.peek && n > 0 {
            // A short read that emptied the buffer looks like a message: the peer is likely
            // waiting for us, so the next receive can wait for RECV without looking. After a
            // long one (a stream), more has probably arrived while it was read, and reading
            // RSR is cheaper than a pass through the service routine.
            if n == usize::from(rx.received) && n <= MESSAGE_READ_MAX {
                self.mark_rx_idle(sn);
            }
            let new_rd = rx.read_ptr.wrapping_add(n as u16);
            self.hw[sn.index()].rx_ahead = None;
            if self.hw[sn.index()].status == SocketStatus::Closed {
                // The connection is over but data was left: RECV is not carried out on a
                // CLOSED socket (DS §4.2 Sn_CR), so only the pointer moves; `rx_state` then
                // counts from the pointers.
                self.chip.set_rx_read_ptr(sn, new_rd)?;
            } else if n < usize::from(rx.received) {
                self.chip.consume_rx(sn, new_rd)?;
                self.hw[sn.index()].rx_ahead = Some(crate::hw::RxState {
                    received: rx.received - n as u16,
                    read_ptr: new_rd,
                });
            } else if n > MESSAGE_READ_MAX {
                // A stream: before the RECV, look at what arrived during this read. The same
                // frame proves the previous RECV accepted, so this RECV needs no Sn_CR read,
                // and the next receive needs no RSR read when something is waiting.
                self.chip.set_rx_read_ptr(sn, new_rd)?;
                let ahead = self.chip.rx_lookahead(sn, rx.read_ptr, new_rd)?;
                self.chip.issue(sn, SocketCommand::Recv)?;
                match ahead {
                    Some(0) => self.mark_rx_idle(sn),
                    Some(more) => {
                        self.hw[sn.index()].rx_ahead = Some(crate::hw::RxState {
                            received: more,
                            read_ptr: new_rd,
                        })
                    }
                    None => {}
                }
            } else {
                self.chip.consume_rx(sn, new_rd)?;
            }
        }
        Ok(n)
    }

    /// Everything received on `sn` has been read: until the service routine sees an event
    /// on it, a receive need not look (INTn wired only; see [`Hw::rx_idle`]). Only in states
    /// that end with an event (a FIN or RST sets DISCON).
    fn mark_rx_idle(&mut self, sn: Sn) {
        let h = &mut self.hw[sn.index()];
        h.rx_idle = self.intn
            && matches!(
                h.status,
                SocketStatus::Established | SocketStatus::FinWait | SocketStatus::Udp
            );
    }

    /// Receive one UDP datagram: (bytes copied, full datagram length, sender). Reads the
    /// chip's 8-byte header and as much payload as fits in one frame, then discards the rest
    /// of the datagram (unless `peek`). A header whose length exceeds the bytes waiting is
    /// chip corruption: the buffer is flushed and [`Error::ChipState`] returned, never an
    /// over-read.
    pub fn recv_datagram(
        &mut self,
        id: SocketId,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> Result<(usize, usize, SocketAddrV4)> {
        let slot = *self.slot(id)?;
        if slot.ty != SockType::Datagram {
            return Err(Error::Unsupported);
        }
        if let Some(e) = slot.error {
            self.slot_mut(id)?.error = None;
            return Err(e);
        }
        if slot.phase == Phase::Fresh {
            return Err(Error::WouldBlock);
        }
        let sn = slot.hw.ok_or(Error::BadDescriptor)?;
        if self.intn && self.hw[sn.index()].rx_idle {
            return Err(Error::WouldBlock);
        }
        let rx = self.chip.rx_state(sn)?;
        if usize::from(rx.received) < UDP_RX_HEADER_LEN {
            if rx.received == 0 {
                self.mark_rx_idle(sn);
            }
            return Err(Error::WouldBlock);
        }
        let want = buf.len().min(usize::from(rx.received) - UDP_RX_HEADER_LEN);
        let mut head = [0u8; UDP_RX_HEADER_LEN];
        // The header first, then only as much payload as it declares: a header whose length
        // lies (DS §5.2.2) must not lead to any read of the payload.
        let (n, len, from) = {
            self.chip.read_rx(sn, rx.read_ptr, &mut head)?;
            let len = usize::from(u16::from_be_bytes([head[6], head[7]]));
            let from = SocketAddrV4::new(
                Ipv4Addr::new(head[0], head[1], head[2], head[3]),
                u16::from_be_bytes([head[4], head[5]]),
            );
            if UDP_RX_HEADER_LEN + len > usize::from(rx.received) {
                // Impossible on a healthy chip: drop everything waiting rather than trust it.
                self.chip
                    .consume_rx(sn, rx.read_ptr.wrapping_add(rx.received))?;
                return Err(Error::ChipState);
            }
            let n = want.min(len);
            if let Some(dst) = buf.get_mut(..n) {
                self.chip
                    .read_rx(sn, rx.read_ptr.wrapping_add(UDP_RX_HEADER_LEN as u16), dst)?;
            }
            (n, len, from)
        };
        if !flags.peek && UDP_RX_HEADER_LEN + len == usize::from(rx.received) {
            self.mark_rx_idle(sn);
        }
        if let Some(peer) = slot.peer {
            if from != peer {
                // Connected UDP: datagrams from others are dropped (POSIX connect() filter).
                self.chip.consume_rx(
                    sn,
                    rx.read_ptr.wrapping_add((UDP_RX_HEADER_LEN + len) as u16),
                )?;
                return Err(Error::WouldBlock);
            }
        }
        if !flags.peek {
            self.chip.consume_rx(
                sn,
                rx.read_ptr.wrapping_add((UDP_RX_HEADER_LEN + len) as u16),
            )?;
        }
        Ok((n, len, from))
    }

    /// `FIONREAD`: TCP bytes waiting, or the payload length of the next UDP datagram.
    pub fn bytes_available(&mut self, id: SocketId) -> Result<usize> {
        let slot = *self.slot(id)?;
        let Some(sn) = slot.hw else { return Ok(0) };
        if slot.phase == Phase::Fresh {
            return Ok(0);
        }
        let rx = self.chip.rx_state(sn)?;
        match slot.ty {
            SockType::Stream => Ok(usize::from(rx.received)),
            SockType::Datagram => {
                if usize::from(rx.received) < UDP_RX_HEADER_LEN {
                    return Ok(0);
                }
                let mut head = [0u8; UDP_RX_HEADER_LEN];
                self.chip.read_rx(sn, rx.read_ptr, &mut head)?;
                Ok(usize::from(u16::from_be_bytes([head[6], head[7]])))
            }
        }
    }

    /// `shutdown()`: `read` stops further reads (they return 0); `write` sends FIN after the
    /// data already queued (DISCON).
    pub fn shutdown(&mut self, id: SocketId, read: bool, write: bool) -> Result<()> {
        let slot = *self.slot(id)?;
        let connected = match slot.ty {
            SockType::Stream => slot.phase == Phase::Connected,
            SockType::Datagram => slot.peer.is_some(),
        };
        if !connected {
            // POSIX shutdown(): "The socket is not connected", for UDP too (as Linux).
            return Err(Error::NotConnected);
        }
        if write && !slot.shut_wr && slot.ty == SockType::Stream {
            if let Some(sn) = slot.hw {
                self.chip.command(sn, SocketCommand::Discon)?;
            }
        }
        let s = self.slot_mut(id)?;
        s.shut_rd |= read;
        s.shut_wr |= write;
        Ok(())
    }

    /// `close()`: the descriptor is free at once. A connected TCP socket sends FIN and is
    /// closed (CLOSE) by [`Stack::service`] once the FIN exchange ends or after
    /// [`CLOSE_LINGER_MS`]; a listener closes all its hardware sockets.
    pub fn close(&mut self, id: SocketId, now_ms: u64) -> Result<()> {
        let slot = *self.slot(id)?;
        self.slots[id.index()].in_use = false;
        self.slots[id.index()].hw = None;
        let mut result = Ok(());
        if let Phase::Listening { .. } = slot.phase {
            for s in Sn::ALL {
                if self.hw[s.index()].owner == HwOwner::Listener(id.index) {
                    if let Err(e) = self.chip.close_socket(s) {
                        result = Err(e);
                    }
                    self.hw[s.index()] = Hw::FREE;
                }
            }
            return result;
        }
        let Some(sn) = slot.hw else { return Ok(()) };
        let status = self.hw[sn.index()].status;
        let graceful = slot.ty == SockType::Stream
            && slot.phase == Phase::Connected
            && matches!(status, SocketStatus::Established | SocketStatus::CloseWait);
        if graceful {
            if !slot.shut_wr {
                result = self.chip.issue(sn, SocketCommand::Discon);
            }
            if result.is_ok() {
                let h = &mut self.hw[sn.index()];
                h.owner = HwOwner::Closing;
                h.close_deadline_ms = now_ms.saturating_add(CLOSE_LINGER_MS);
                if status == SocketStatus::CloseWait {
                    // The peer's FIN is in: ours leads to LAST_ACK, which ends silently.
                    self.closing_look_ms = Stamp::at(now_ms.saturating_add(1));
                }
                return Ok(());
            }
        }
        let closed = self.chip.close_socket(sn);
        self.hw[sn.index()] = Hw::FREE;
        result.and(closed)
    }

    /// Set a socket option.
    pub fn set_option(&mut self, id: SocketId, opt: SockOpt) -> Result<()> {
        let slot = *self.slot(id)?;
        match opt {
            SockOpt::ReuseAddr(on) => self.slot_mut(id)?.reuse_addr = on,
            SockOpt::NonBlocking(on) => self.slot_mut(id)?.nonblocking = on,
            SockOpt::RcvTimeout(t) => self.slot_mut(id)?.rcv_timeout_ms = t.unwrap_or(0),
            SockOpt::SndTimeout(t) => self.slot_mut(id)?.snd_timeout_ms = t.unwrap_or(0),
            SockOpt::Broadcast(on) => self.slot_mut(id)?.broadcast = on,
            SockOpt::NoDelay(_) => {
                if slot.ty != SockType::Stream {
                    return Err(Error::NoProtocolOption);
                }
            }
            SockOpt::KeepAlive(on) => {
                if slot.ty != SockType::Stream {
                    return Err(Error::NoProtocolOption);
                }
                self.slot_mut(id)?.keepalive = on;
                if let (Some(sn), Phase::Connected | Phase::Connecting) = (slot.hw, slot.phase) {
                    let units = if on { self.config.keepalive_units } else { 0 };
                    self.write_keepalive(sn, units)?;
                }
            }
            SockOpt::AddMembership(group) => {
                if slot.ty != SockType::Datagram || !group.is_multicast() {
                    return Err(Error::InvalidArgument);
                }
                if slot.group.is_some_and(|g| g != group) {
                    // One group per hardware socket: Sn_DIPR holds it.
                    return Err(Error::NoBufferSpace);
                }
                self.slot_mut(id)?.group = Some(group);
                if slot.phase == Phase::Bound {
                    self.open_udp(id)?;
                }
            }
            SockOpt::DropMembership(group) => {
                if slot.ty != SockType::Datagram {
                    return Err(Error::InvalidArgument);
                }
                if slot.group != Some(group) {
                    return Err(Error::AddrNotAvailable);
                }
                self.slot_mut(id)?.group = None;
                if slot.phase == Phase::Bound {
                    self.open_udp(id)?;
                }
            }
        }
        Ok(())
    }

    /// `getsockopt()`: `opt` names the option (its value is ignored) and comes back with the
    /// socket's current value. Every option [`Stack::set_option`] takes reads back, with
    /// these rules: `TCP_NODELAY` is always on for TCP (the chip sends each SEND at once, it
    /// has no Nagle); `TCP_NODELAY` and `SO_KEEPALIVE` are [`Error::NoProtocolOption`] on
    /// UDP, as their setters; the timeouts read
    /// `None` for "no limit"; the membership options are write-only
    /// ([`Error::NoProtocolOption`], as on Linux).
    pub fn get_option(&self, id: SocketId, opt: SockOpt) -> Result<SockOpt> {
        let s = self.slot(id)?;
        Ok(match opt {
            SockOpt::ReuseAddr(_) => SockOpt::ReuseAddr(s.reuse_addr),
            SockOpt::KeepAlive(_) => {
                if s.ty != SockType::Stream {
                    // As its setter: keep-alive is a TCP feature of the chip (Sn_KPALVTR).
                    return Err(Error::NoProtocolOption);
                }
                SockOpt::KeepAlive(s.keepalive)
            }
            SockOpt::Broadcast(_) => SockOpt::Broadcast(s.broadcast),
            SockOpt::NoDelay(_) => {
                if s.ty != SockType::Stream {
                    return Err(Error::NoProtocolOption);
                }
                SockOpt::NoDelay(true)
            }
            SockOpt::NonBlocking(_) => SockOpt::NonBlocking(s.nonblocking),
            SockOpt::RcvTimeout(_) => {
                SockOpt::RcvTimeout(Some(s.rcv_timeout_ms).filter(|&v| v > 0))
            }
            SockOpt::SndTimeout(_) => {
                SockOpt::SndTimeout(Some(s.snd_timeout_ms).filter(|&v| v > 0))
            }
            SockOpt::AddMembership(_) | SockOpt::DropMembership(_) => {
                return Err(Error::NoProtocolOption)
            }
        })
    }

    /// The socket's blocking parameters.
    pub fn blocking(&self, id: SocketId) -> Result<Blocking> {
        let s = self.slot(id)?;
        Ok(Blocking {
            nonblocking: s.nonblocking,
            rcv_timeout_ms: Some(s.rcv_timeout_ms).filter(|&v| v > 0),
            snd_timeout_ms: Some(s.snd_timeout_ms).filter(|&v| v > 0),
        })
    }

    /// Abandon a connect that took too long: close the attempt, keep the socket.
    pub fn abort_connect(&mut self, id: SocketId) -> Result<()> {
        let slot = *self.slot(id)?;
        if slot.phase != Phase::Connecting {
            return Ok(());
        }
        if let Some(sn) = slot.hw {
            self.chip.close_socket(sn)?;
            self.hw[sn.index()].status = SocketStatus::Closed;
        }
        let s = self.slot_mut(id)?;
        s.phase = Phase::Bound;
        s.error = None;
        Ok(())
    }

    /// `SO_ERROR`: the pending error, cleared by reading it.
    pub fn take_error(&mut self, id: SocketId) -> Result<Option<Error>> {
        Ok(self.slot_mut(id)?.error.take())
    }

    /// `SO_TYPE`.
    pub fn socket_type(&self, id: SocketId) -> Result<SockType> {
        Ok(self.slot(id)?.ty)
    }

    /// `getsockname()`.
    pub fn local_addr(&self, id: SocketId) -> Result<SocketAddrV4> {
        let slot = self.slot(id)?;
        Ok(SocketAddrV4::new(self.ip, slot.port))
    }

    /// `getpeername()`.
    pub fn peer_addr(&self, id: SocketId) -> Result<SocketAddrV4> {
        let slot = self.slot(id)?;
        match (slot.ty, slot.phase, slot.peer) {
            (SockType::Stream, Phase::Connected, Some(p)) => Ok(p),
            (SockType::Datagram, _, Some(p)) => Ok(p),
            _ => Err(Error::NotConnected),
        }
    }

    /// Readiness for `poll()`, read from the chip's state.
    pub fn readiness(&mut self, id: SocketId) -> Result<Readiness> {
        let slot = *self.slot(id)?;
        let mut r = Readiness {
            error: slot.error.is_some(),
            ..Readiness::default()
        };
        match (slot.ty, slot.phase) {
            (SockType::Stream, Phase::Listening { .. }) => {
                for s in Sn::ALL {
                    if self.hw[s.index()].owner == HwOwner::Listener(id.index) {
                        self.refresh(s)?;
                    }
                }
                r.readable = self
                    .hw
                    .iter()
                    .any(|h| h.owner == HwOwner::Listener(id.index) && h.accept_seq != 0);
            }
            (SockType::Stream, Phase::Connecting) => {
                if let Some(sn) = slot.hw {
                    self.refresh(sn)?;
                }
                let s = *self.slot(id)?;
                r.writable = s.phase == Phase::Connected;
                r.error = s.error.is_some();
                r.hangup = r.error;
            }
            (SockType::Stream, Phase::Connected) => {
                let sn = slot.hw.ok_or(Error::BadDescriptor)?;
                self.refresh(sn)?;
                let rx = self.chip.rx_state(sn)?;
                let status = self.hw[sn.index()].status;
                let open = matches!(status, SocketStatus::Established | SocketStatus::CloseWait);
                // Still receiving: ESTABLISHED, or FIN_WAIT after shutdown(SHUT_WR).
                let receiving = matches!(status, SocketStatus::Established | SocketStatus::FinWait);
                r.readable = rx.received > 0 || !receiving;
                if self.intn && self.hw[sn.index()].send_in_flight {
                    // Route SEND_OK to INTn so a poll() for POLLOUT is woken.
                    self.write_imr(sn, SOCKET_IMR)?;
                }
                if open && !slot.shut_wr && !self.hw[sn.index()].send_in_flight {
                    let (free, _) = self.chip.tx_state(sn)?;
                    r.writable = free > 0;
                }
                let s = self.slot(id)?;
                r.error = s.error.is_some();
                r.hangup = !open && !receiving && rx.received == 0;
            }
            (SockType::Stream, _) => {
                // Not connected (new, bound, or a connect that failed): POLLOUT|POLLHUP, as
                // Linux's tcp_poll and lwIP report it; a write would fail at once (ENOTCONN)
                // rather than block.
                r.writable = true;
                r.hangup = true;
            }
            (SockType::Datagram, Phase::Fresh) => {
                r.writable = true;
            }
            (SockType::Datagram, _) => {
                let sn = slot.hw.ok_or(Error::BadDescriptor)?;
                self.refresh(sn)?;
                let rx = self.chip.rx_state(sn)?;
                r.readable = usize::from(rx.received) >= UDP_RX_HEADER_LEN;
                if self.intn && self.hw[sn.index()].send_in_flight {
                    self.write_imr(sn, SOCKET_IMR)?;
                }
                r.writable = !self.hw[sn.index()].send_in_flight;
                r.error = self.slot(id)?.error.is_some();
            }
        }
        Ok(r)
    }

    /// Drain the chip's interrupt state: read `IR`/`SIR`, then each flagged socket's `Sn_IR`
    /// and `Sn_SR`, clear what was read (so INTn can assert again) and update the table.
    /// With `poll_all` every socket in use is read whether flagged or not: the fallback when
    /// no INTn pin is wired or an interrupt may have been lost. Also re-reads the link state
    /// every [`LINK_POLL_MS`] and finishes background closes.
    ///
    /// When a single hardware socket is in use (ESTABLISHED or UDP), INTn can only come from
    /// it (free sockets are closed and raise nothing; `IMR` is 0), so its `Sn_IR` is read
    /// straight away, and `IR`..`SIMR` (with the chip-reset signature) only when that finds
    /// nothing.
    pub fn service(&mut self, now_ms: u64, poll_all: bool) -> Result<()> {
        // One socket in use and in a quiet state: INTn can only come from it, so read its
        // Sn_IR first. A chip that was reset has every Sn_IR at 0, so finding an event
        // there also says the reset signature below needs no look this pass.
        let mut in_use = Sn::ALL
            .into_iter()
            .filter(|s| !matches!(self.hw[s.index()].owner, HwOwner::Free | HwOwner::Service));
        let only = match (in_use.next(), in_use.next()) {
            (Some(s), None) if !poll_all && self.quiet(s) => Some(s),
            _ => None,
        };
        let mut found = false;
        if let Some(s) = only {
            found = !self.refresh(s)?.is_empty();
            if found {
                self.absent_since_ms = Stamp::NONE;
            }
        }
        let sir = if found {
            SocketSet::empty()
        } else {
            let (_ir, imr, sir, simr) = self.chip.interrupt_state()?;
            if simr == self.simr && imr.is_empty() {
                // The chip answers as configured: any earlier silence is over.
                self.absent_since_ms = Stamp::NONE;
            }
            if simr != self.simr || !imr.is_empty() {
                match self.recover_from_chip_reset() {
                    Ok(recovered) => {
                        self.absent_since_ms = Stamp::NONE;
                        if recovered {
                            self.last_link_poll_ms = Stamp::NONE;
                        }
                    }
                    Err(Error::ChipNotFound { version }) => {
                        // Right after a reset the chip reads 0 until its PLL locks (§5.5.1), and
                        // some parts read VERSIONR 0 for a while: skip this pass, and report the
                        // chip absent only when it stays silent.
                        let since = self.absent_since_ms.get().unwrap_or(now_ms);
                        self.absent_since_ms = Stamp::at(since);
                        if now_ms.saturating_sub(since) >= CHIP_ABSENT_GRACE_MS {
                            return Err(Error::ChipNotFound { version });
                        }
                        return Ok(());
                    }
                    Err(e) => return Err(e),
                }
            }
            sir
        };
        // The latest close deadline among background closes that end without an interrupt.
        let mut silent_close = 0u64;
        for s in Sn::ALL {
            let h = self.hw[s.index()];
            if only == Some(s) {
                if h.owner == HwOwner::Closing && now_ms >= h.close_deadline_ms {
                    self.chip.close_socket(s)?;
                    self.hw[s.index()] = Hw::FREE;
                }
                continue;
            }
            let flagged = sir.contains(s.bit());
            let in_use = !matches!(h.owner, HwOwner::Free | HwOwner::Service);
            if flagged && !in_use {
                // Nobody owns it: clear whatever is latched so INTn de-asserts.
                if h.owner == HwOwner::Free {
                    self.chip.clear_socket_events(s, SocketInterrupt::all())?;
                }
                continue;
            }
            // A background close has no interrupt of its own when it ends (LAST_ACK -> CLOSED
            // raises nothing new), so closing sockets are always looked at.
            let closing = matches!(h.owner, HwOwner::Closing);
            if flagged || closing || (poll_all && in_use) {
                self.refresh(s)?;
            }
            let h = &self.hw[s.index()];
            if h.owner == HwOwner::Closing {
                if now_ms >= h.close_deadline_ms {
                    self.chip.close_socket(s)?;
                    self.hw[s.index()] = Hw::FREE;
                } else if matches!(h.status, SocketStatus::LastAck | SocketStatus::Closing) {
                    silent_close = silent_close.max(h.close_deadline_ms);
                }
            }
        }
        // Background closes in LAST_ACK or CLOSING end when the ACK of our FIN comes, and
        // the chip raises no interrupt for that: look at them again after twice the time the
        // latest of them has been closing (1, 2, 4 … ms: a handful of reads within
        // CLOSE_LINGER_MS), so the hardware socket is free soon after, not at the next
        // safety poll. (Every close deadline is at least CLOSE_LINGER_MS, so 0 means none.)
        self.closing_look_ms = if silent_close == 0 {
            Stamp::NONE
        } else {
            let since = silent_close.saturating_sub(CLOSE_LINGER_MS);
            Stamp::at(now_ms.saturating_add(now_ms.saturating_sub(since).max(1)))
        };
        // A hardware socket freed by a finished close may be what a listener has been
        // waiting for to listen again (all 8 were busy): re-arm every listener.
        if self.free_hw_sockets() > 0 {
            for i in 0..MAX_SOCKETS {
                if self.slots[i].in_use {
                    self.arm_listeners(i)?;
                }
            }
        }
        let due = self
            .last_link_poll_ms
            .get()
            .is_none_or(|t| now_ms.saturating_sub(t) >= LINK_POLL_MS);
        if due {
            self.link = self.chip.phy_status()?;
            self.last_link_poll_ms = Stamp::at(now_ms);
        }
        self.stall_guard(now_ms)
    }

    /// True when hardware socket `s` waits on the chip: a connect, or a SEND in flight.
    fn waits_on_chip(&self, s: Sn) -> bool {
        let h = &self.hw[s.index()];
        match h.owner {
            HwOwner::User(i) => {
                h.send_in_flight
                    || self
                        .slots
                        .get(usize::from(i))
                        .is_some_and(|sl| sl.phase == Phase::Connecting)
            }
            _ => false,
        }
    }

    /// The bound on waits for the chip (see the module docs, "Every wait has a bound").
    fn stall_guard(&mut self, now_ms: u64) -> Result<()> {
        let limit = self.stall_limit_ms();
        for s in Sn::ALL {
            if !self.waits_on_chip(s) {
                let h = &mut self.hw[s.index()];
                h.stall_since_ms = Stamp::NONE;
                h.stall_fsr = None;
                continue;
            }
            let Some(since) = self.hw[s.index()].stall_since_ms.get() else {
                self.hw[s.index()].stall_since_ms = Stamp::at(now_ms);
                continue;
            };
            if now_ms.saturating_sub(since) < limit {
                continue;
            }
            // Due: look at the chip once more before deciding. Whatever is decided, the
            // deadline is either re-armed or cleared: it never stays in the past (a waiter
            // would spin on it).
            self.refresh(s)?;
            let owner = self.hw[s.index()].owner;
            let slot = match owner {
                HwOwner::User(i) if self.waits_on_chip(s) => self
                    .slots
                    .get(usize::from(i))
                    .copied()
                    .map(|sl| (usize::from(i), sl)),
                _ => None,
            };
            let Some((index, slot)) = slot else {
                let h = &mut self.hw[s.index()];
                h.stall_since_ms = Stamp::NONE;
                h.stall_fsr = None;
                continue;
            };
            if slot.phase == Phase::Connecting {
                w5500_log::warn!(
                    "stack: connect not ended by the chip, giving up; socket",
                    s.index()
                );
                self.chip.close_socket(s)?;
                self.hw[s.index()].status = SocketStatus::Closed;
                self.hw[s.index()].send_in_flight = false;
                if let Some(sl) = self.slots.get_mut(index) {
                    sl.phase = Phase::Bound;
                    sl.error = Some(Error::TimedOut);
                }
            } else if slot.ty == SockType::Datagram {
                w5500_log::warn!("stack: UDP SEND never completed; socket", s.index());
                self.hw[s.index()].send_in_flight = false;
                if let Some(sl) = self.slots.get_mut(index) {
                    sl.error = Some(Error::ChipState);
                }
            } else {
                let (free, _) = self.chip.tx_state(s)?;
                if self.hw[s.index()].stall_fsr != Some(free) {
                    // First look, or the peer acknowledged something: measure again.
                    let h = &mut self.hw[s.index()];
                    h.stall_fsr = Some(free);
                    h.stall_since_ms = Stamp::at(now_ms);
                    continue;
                }
                w5500_log::warn!(
                    "stack: TCP SEND made no progress, dropping the connection; socket",
                    s.index()
                );
                self.chip.close_socket(s)?;
                self.hw[s.index()].status = SocketStatus::Closed;
                self.hw[s.index()].send_in_flight = false;
                if let Some(sl) = self.slots.get_mut(index) {
                    // As after a TCP timeout on Linux: the error once, then reads are EOF and
                    // writes EPIPE, whatever a wedged chip's registers claim.
                    sl.error = Some(Error::TimedOut);
                    sl.eof = true;
                    sl.shut_wr = true;
                }
            }
            let h = &mut self.hw[s.index()];
            h.stall_since_ms = Stamp::NONE;
            h.stall_fsr = None;
        }
        Ok(())
    }

    /// `SIMR` read back differs from what the stack wrote: confirm a chip reset and recover
    /// (see the module docs). `Ok(false)` when it was not one.
    fn recover_from_chip_reset(&mut self) -> Result<bool> {
        let version = self.chip.version()?;
        if version != w5500_regs::CHIP_VERSION {
            return Err(Error::ChipNotFound { version });
        }
        let (_, imr, _, simr) = self.chip.interrupt_state()?;
        if simr == self.simr && imr.is_empty() {
            return Ok(false);
        }
        w5500_log::warn!(
            "stack: chip reset detected, re-initialising; SIMR",
            w5500_log::Arg::Hex(simr.bits().into())
        );
        self.chip_resets = self.chip_resets.wrapping_add(1);
        // Sn_IMR and Sn_KPALVTR are back at their reset values (0xFF, 0).
        self.imr_reg = [SocketInterrupt::from_bits_retain(0xFF); 8];
        self.keepalive_reg = [0; 8];
        let p = self.programmed;
        self.chip.set_mode(p.mode)?;
        self.chip.set_mac(p.mac)?;
        self.chip.set_ipv4(self.ip, self.netmask, p.gateway)?;
        self.chip.set_buffer_sizes(&p.tx, &p.rx)?;
        self.chip.set_retry(p.retry_time, p.retry_count)?;
        self.chip
            .set_interrupt_masks(w5500_regs::Interrupt::empty(), self.simr)?;
        let mut reopen_udp = [false; MAX_SOCKETS];
        for s in Sn::ALL {
            let owner = self.hw[s.index()].owner;
            match owner {
                HwOwner::User(i) => {
                    let h = &mut self.hw[s.index()];
                    *h = Hw { owner, ..Hw::FREE };
                    let Some(slot) = self.slots.get_mut(usize::from(i)) else {
                        continue;
                    };
                    match (slot.ty, slot.phase) {
                        (SockType::Stream, Phase::Connected) if !slot.eof => {
                            slot.error = Some(Error::ConnectionReset);
                        }
                        (SockType::Stream, Phase::Connecting) => {
                            slot.phase = Phase::Bound;
                            slot.error = Some(Error::ConnectionReset);
                        }
                        (SockType::Datagram, Phase::Bound) => {
                            reopen_udp[usize::from(i)] = true;
                        }
                        _ => {}
                    }
                }
                HwOwner::Service => {}
                // Closing sockets are gone with the reset; listeners are re-armed below.
                _ => self.hw[s.index()] = Hw::FREE,
            }
        }
        for (i, reopen) in reopen_udp.into_iter().enumerate() {
            let slot = self.slots[i];
            if !(reopen && slot.in_use) {
                continue;
            }
            let id = SocketId {
                index: i as u8,
                generation: slot.generation,
            };
            if let Err(e) = self.open_udp(id) {
                w5500_log::warn!(
                    "stack: re-opening a UDP socket after a chip reset failed:",
                    i,
                    e
                );
                self.slots[i].error = Some(e);
            }
        }
        for i in 0..MAX_SOCKETS {
            if self.slots[i].in_use {
                self.arm_listeners(i)?;
            }
        }
        Ok(true)
    }

    /// The earliest time [`Stack::service`] has timed work to do (a background close
    /// deadline or its next look, the next link poll, the stall guard), so the OS layer can
    /// bound its waits.
    pub fn next_deadline_ms(&self) -> Option<u64> {
        if let Some(since) = self.absent_since_ms.get() {
            // The chip stopped answering: until it is back or declared absent, that decision
            // is the only timed work (other deadlines wait for a chip that answers).
            return Some(since.saturating_add(CHIP_ABSENT_GRACE_MS));
        }
        let closing = self
            .hw
            .iter()
            .filter(|h| h.owner == HwOwner::Closing)
            .map(|h| h.close_deadline_ms)
            .min();
        let closing_look = self.closing_look_ms.get().filter(|_| closing.is_some());
        let link = self.last_link_poll_ms.get().map(|t| t + LINK_POLL_MS);
        let limit = self.stall_limit_ms();
        let stall = self
            .hw
            .iter()
            .filter_map(|h| h.stall_since_ms.get().map(|t| t.saturating_add(limit)))
            .min();
        // Pairwise, not through an array iterator (that one costs a memcpy on the target).
        let earliest = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        earliest(earliest(closing, closing_look), earliest(link, stall))
    }
}

/// Additions for the driver's own services (DHCP, DNS, the address probe) and for taking the
/// interface down; see `w5500-iface`.
impl<SPI: SpiDevice> Stack<SPI> {
    /// True for the hardware sockets [`StackConfig::reserved_for_services`] keeps back (the
    /// top ones, socket 7 down). Users never get them, even after a service closed its
    /// socket on one.
    fn is_reserved_hw(&self, s: Sn) -> bool {
        s.index() >= Sn::ALL.len() - usize::from(self.config.reserved_for_services)
    }

    /// `socket()` for the driver's own services: prefers a reserved hardware socket
    /// ([`StackConfig::reserved_for_services`]), else borrows a free one, and never takes one
    /// an application holds. [`Error::NoFreeSocket`] when neither is available. The result is
    /// an ordinary socket (bind, send, recv, close as usual); closing it returns a reserved
    /// hardware socket to the reserve.
    pub fn socket_service(&mut self, ty: SockType) -> Result<SocketId> {
        let index = self
            .slots
            .iter()
            .position(|s| !s.in_use)
            .ok_or(Error::NoFreeSocket)?;
        let mut reserved = Sn::ALL.into_iter().rev().find(|s| {
            let o = self.hw[s.index()].owner;
            self.is_reserved_hw(*s) && (o == HwOwner::Service || o == HwOwner::Free)
        });
        if reserved.is_none() && self.free_hw_sockets() == 0 {
            // As for `socket()`: a background close may be done, or can be cut short.
            self.reap_closing()?;
            self.take_over_closing(true)?;
            reserved = Sn::ALL
                .into_iter()
                .rev()
                .find(|s| self.is_reserved_hw(*s) && self.hw[s.index()].owner == HwOwner::Free);
        }
        let sn = match reserved {
            Some(sn) => sn,
            None => Sn::ALL
                .into_iter()
                .find(|s| self.hw[s.index()].owner == HwOwner::Free && !self.is_reserved_hw(*s))
                .ok_or(Error::NoFreeSocket)?,
        };
        self.hw[sn.index()] = Hw {
            owner: HwOwner::User(index as u8),
            ..Hw::FREE
        };
        let generation = self.slots[index].generation.wrapping_add(1);
        self.slots[index] = Slot {
            in_use: true,
            generation,
            ty,
            hw: Some(sn),
            ..Slot::EMPTY
        };
        Ok(SocketId {
            index: index as u8,
            generation,
        })
    }

    /// Reserved hardware sockets not in use by a service right now.
    pub fn idle_service_sockets(&self) -> usize {
        self.service_sockets().count()
    }

    /// The hardware socket behind `id` (for tests and diagnostics).
    pub fn hw_socket(&self, id: SocketId) -> Result<Option<Sn>> {
        Ok(self.slot(id)?.hw)
    }

    /// First step of taking the interface down: send FIN (DISCON) on every established TCP
    /// connection (application sockets, connections waiting for `accept()`, background
    /// closes). Returns how many connections were asked to close; wait a little (bounded)
    /// for them, then call [`Stack::abort_all`].
    pub fn disconnect_all(&mut self) -> Result<usize> {
        let mut n = 0;
        for s in Sn::ALL {
            let h = self.hw[s.index()];
            if matches!(h.owner, HwOwner::Free | HwOwner::Service) {
                continue;
            }
            let sr = self.chip.socket_status(s)?;
            self.hw[s.index()].status = sr;
            if matches!(sr, SocketStatus::Established | SocketStatus::CloseWait) {
                self.chip.command(s, SocketCommand::Discon)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// True while some hardware socket is still in a TCP closing state (FIN_WAIT, CLOSING,
    /// LAST_ACK) or established: [`Stack::disconnect_all`] has not finished yet. TIME_WAIT
    /// counts as finished, as for a background close: both FINs were exchanged and
    /// acknowledged, and the chip leaves TIME_WAIT by its own timer without an interrupt.
    pub fn any_connection_open(&mut self) -> Result<bool> {
        for s in Sn::ALL {
            if matches!(self.hw[s.index()].owner, HwOwner::Free | HwOwner::Service) {
                continue;
            }
            let sr = self.chip.socket_status(s)?;
            if matches!(
                sr,
                SocketStatus::Established
                    | SocketStatus::CloseWait
                    | SocketStatus::FinWait
                    | SocketStatus::Closing
                    | SocketStatus::LastAck
                    | SocketStatus::SynSent
                    | SocketStatus::SynRecv
            ) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Close every hardware socket on the chip (CLOSE) because the interface goes down.
    /// Application sockets stay allocated (their descriptors remain valid until `close()`),
    /// but every one of them gets `err` as its pending error, so blocked and later calls
    /// fail with it (e.g. [`Error::NetworkDown`]); listeners lose their listening sockets.
    /// Background closes are finished at once.
    pub fn abort_all(&mut self, err: Error) -> Result<()> {
        let mut result = Ok(());
        for s in Sn::ALL {
            let owner = self.hw[s.index()].owner;
            if matches!(owner, HwOwner::Free | HwOwner::Service) {
                continue;
            }
            if let Err(e) = self.chip.close_socket(s) {
                result = Err(e);
            }
            match owner {
                HwOwner::User(i) => {
                    let h = &mut self.hw[s.index()];
                    h.status = SocketStatus::Closed;
                    h.send_in_flight = false;
                    h.udp_dest = None;
                    if let Some(slot) = self.slots.get_mut(usize::from(i)) {
                        slot.error = Some(err);
                        if slot.phase == Phase::Connecting {
                            slot.phase = Phase::Bound;
                        }
                    }
                }
                HwOwner::Listener(i) => {
                    self.hw[s.index()] = Hw::FREE;
                    if let Some(slot) = self.slots.get_mut(usize::from(i)) {
                        slot.error = Some(err);
                    }
                }
                _ => self.hw[s.index()] = Hw::FREE,
            }
        }
        result
    }

    /// `RTR`/`RCR` passthrough (units of 100 µs, count): the address probe lowers them for a
    /// short ARP timeout and restores them.
    pub fn set_retry(&mut self, retry_time: u16, retry_count: u8) -> Result<()> {
        self.chip.set_retry(retry_time, retry_count)?;
        self.programmed.retry_time = retry_time;
        self.programmed.retry_count = retry_count;
        Ok(())
    }

    /// (`RTR`, `RCR`) as programmed.
    pub fn retry(&mut self) -> Result<(u16, u8)> {
        self.chip.retry()
    }

    /// Forget the last link reading so the next [`Stack::service`] reads `PHYCFGR` at once
    /// (after a PHY power-down or power-up).
    pub fn refresh_link_now(&mut self) {
        self.last_link_poll_ms = Stamp::NONE;
    }
}
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
