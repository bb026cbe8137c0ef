//! The data path both socket types share: `send()`/`recv()` entry points, TX room and SEND,
//! SEND completion, and `FIONREAD`.

use core::net::SocketAddrV4;

use embedded_hal::spi::SpiDevice;
use w5500_regs::{Sn, SocketCommand, SocketInterrupt, UDP_RX_HEADER_LEN};

use super::{Phase, RecvFlags, SockType, SocketId, Stack, SOCKET_IMR};
use crate::error::{Error, Result};

impl<SPI: SpiDevice> Stack<SPI> {
    /// With INTn wired: is the SEND on `sn` still in flight? When SEND_OK is routed to INTn
    /// the service routine will say; otherwise look (`Sn_CR` and `Sn_IR` in one frame), and if
    /// it is still in flight route SEND_OK to INTn so the caller's wait ends when it comes
    /// (the mask gates a level: a SEND_OK set meanwhile asserts INTn at once). A SEND_OK
    /// found is left set for the caller's next SEND to clear.
    pub(super) fn send_pending(&mut self, sn: Sn) -> Result<bool> {
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

    /// Free TX space (a lower bound, read from the chip only when `want` does not fit in what
    /// is already known to be free) and the write pointer.
    pub(super) fn tx_room(&mut self, sn: Sn, want: usize) -> Result<(u16, u16)> {
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
    pub(super) fn transmit(&mut self, sn: Sn, wr: u16, data: &[u8]) -> Result<()> {
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
}
