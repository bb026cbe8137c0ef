//! The socket table: the stack over a chip that is up, socket lookup and allocation (with
//! the background closes a new socket may take over), ports and `bind()`, options,
//! `shutdown()` and `close()`.
//!
//! # Hardware socket policy
//! - `socket()` reserves one hardware socket, so exhaustion is reported where POSIX reports it
//!   (`ENFILE` from `socket()`), not later from `connect()`.
//! - Sockets reserved for the driver's own services (DHCP, DNS) are never given to users.
//! - `close()` on a connected TCP socket sends FIN (DISCON) and lets the stack finish the
//!   close in the background, then issues CLOSE: no hardware socket is ever parked in
//!   TIME_WAIT, and the user's descriptor is free at once.
//!
//! Listeners are in `listen.rs`.

use core::net::{Ipv4Addr, SocketAddrV4};

use embedded_hal::spi::SpiDevice;
use w5500_regs::{Sn, SocketCommand, SocketInterrupt, SocketSet, SocketStatus};

use super::{
    Blocking, Hw, HwOwner, Phase, Programmed, Slot, SockOpt, SockType, SocketId, Stack,
    StackConfig, Stamp, CLOSE_LINGER_MS, EPHEMERAL_FIRST, MAX_SOCKETS, SOCKET_IMR_LAZY,
};
use crate::chip::{Chip, PhyStatus};
use crate::error::{Error, Result};

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

    /// The IPv4 address programmed in the chip.
    pub fn ipv4(&self) -> Ipv4Addr {
        self.ip
    }

    pub(super) fn slot(&self, id: SocketId) -> Result<&Slot> {
        match self.slots.get(id.index()) {
            Some(s) if s.in_use && s.generation == id.generation => Ok(s),
            _ => Err(Error::BadDescriptor),
        }
    }

    pub(super) fn slot_mut(&mut self, id: SocketId) -> Result<&mut Slot> {
        match self.slots.get_mut(id.index()) {
            Some(s) if s.in_use && s.generation == id.generation => Ok(s),
            _ => Err(Error::BadDescriptor),
        }
    }

    /// True while `id` names an open socket.
    pub fn is_valid(&self, id: SocketId) -> bool {
        self.slot(id).is_ok()
    }

    pub(super) fn take_free_hw(&mut self, owner: HwOwner) -> Option<Sn> {
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
    pub(super) fn reap_closing(&mut self) -> Result<()> {
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
    pub(super) fn take_over_closing(&mut self, reserved: bool) -> Result<()> {
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

    pub(super) fn ensure_bound(&mut self, id: SocketId) -> Result<()> {
        if self.slot(id)?.phase == Phase::Fresh {
            self.bind(id, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))?;
        }
        Ok(())
    }

    /// `Sn_IMR`, written only when it changes.
    pub(super) fn write_imr(&mut self, sn: Sn, mask: SocketInterrupt) -> Result<()> {
        if self.imr_reg[sn.index()] != mask {
            self.chip.set_socket_interrupt_mask(sn, mask)?;
            self.imr_reg[sn.index()] = mask;
        }
        Ok(())
    }

    /// `Sn_KPALVTR`, written only when it changes.
    pub(super) fn write_keepalive(&mut self, sn: Sn, units: u8) -> Result<()> {
        if self.keepalive_reg[sn.index()] != units {
            self.chip.set_keepalive(sn, units)?;
            self.keepalive_reg[sn.index()] = units;
        }
        Ok(())
    }

    /// Re-read `PHYCFGR` (one SPI frame) so a pulled cable is reported now, not at the next
    /// periodic link poll.
    pub(super) fn refresh_link(&mut self) -> Result<()> {
        self.link = self.chip.phy_status()?;
        Ok(())
    }

    pub(super) fn require_link_and_address(&mut self) -> Result<()> {
        self.refresh_link()?;
        if !self.link.link_up {
            return Err(Error::NetworkDown);
        }
        if self.ip.is_unspecified() {
            return Err(Error::NetworkUnreachable);
        }
        Ok(())
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
}
