//! TCP: OPEN and CONNECT, the outcome of a connect, and the stream data path (send with
//! short writes, receive with end of stream).

use core::net::{Ipv4Addr, SocketAddrV4};

use embedded_hal::spi::SpiDevice;
use w5500_regs::{Protocol, Sn, SocketCommand, SocketMode, SocketStatus};

use super::{is_this_host, Phase, RecvFlags, SockType, SocketId, Stack};
use crate::error::{Error, Result};

/// A TCP read of at most this many bytes that empties the receive buffer is taken for a
/// message, not part of a stream (see `copy_tcp`): the IPv4 default MSS.
const MESSAGE_READ_MAX: usize = 536;

impl<SPI: SpiDevice> Stack<SPI> {
    pub(super) fn open_tcp(&mut self, sn: Sn, port: u16, keepalive: bool) -> Result<()> {
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

    pub(super) fn send_tcp(&mut self, id: SocketId, data: &[u8]) -> Result<usize> {
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

    pub(super) fn recv_tcp(
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
    /// on it, a receive need not look (INTn wired only; see [`Hw::rx_idle`](super::Hw::rx_idle)). Only in states
    /// that end with an event (a FIN or RST sets DISCON).
    pub(super) fn mark_rx_idle(&mut self, sn: Sn) {
        let h = &mut self.hw[sn.index()];
        h.rx_idle = self.intn
            && matches!(
                h.status,
                SocketStatus::Established | SocketStatus::FinWait | SocketStatus::Udp
            );
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
}
