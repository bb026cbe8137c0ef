//! What the driver's own services (DHCP, DNS, the address probe) and the interface
//! (`w5500-iface`) use: reserved hardware sockets, taking the interface down, retry timing
//! and the link.

use embedded_hal::spi::SpiDevice;
use w5500_regs::{Sn, SocketCommand, SocketStatus};

use super::{Hw, HwOwner, Phase, Slot, SockType, SocketId, Stack, Stamp};
use crate::error::{Error, Result};

/// Additions for the driver's own services (DHCP, DNS, the address probe) and for taking the
/// interface down; see `w5500-iface`.
impl<SPI: SpiDevice> Stack<SPI> {
    /// True for the hardware sockets [`StackConfig::reserved_for_services`](super::StackConfig::reserved_for_services) keeps back (the
    /// top ones, socket 7 down). Users never get them, even after a service closed its
    /// socket on one.
    pub(super) fn is_reserved_hw(&self, s: Sn) -> bool {
        s.index() >= Sn::ALL.len() - usize::from(self.config.reserved_for_services)
    }

    /// `socket()` for the driver's own services: prefers a reserved hardware socket
    /// ([`StackConfig::reserved_for_services`](super::StackConfig::reserved_for_services)), else borrows a free one, and never takes one
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
