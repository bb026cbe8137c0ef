//! UDP: opening on the bound port, broadcast rules, and the datagram data path (the chip's
//! 8-byte receive header, truncation, all-or-nothing sends).

use core::net::{Ipv4Addr, SocketAddrV4};

use embedded_hal::spi::SpiDevice;
use w5500_regs::{Protocol, SocketMode, SocketStatus, UDP_MAX_PAYLOAD, UDP_RX_HEADER_LEN};

use super::{is_this_host, Phase, RecvFlags, Slot, SockType, SocketId, Stack};
use crate::error::{Error, Result};

impl<SPI: SpiDevice> Stack<SPI> {
    pub(super) fn open_udp(&mut self, id: SocketId) -> Result<()> {
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

    /// The limited broadcast, or the directed broadcast of our own subnet.
    pub(super) fn is_broadcast_dst(&self, dst: Ipv4Addr) -> bool {
        let directed = !self.netmask.is_unspecified()
            && u32::from(dst) | u32::from(self.netmask) == u32::MAX
            && u32::from(dst) & u32::from(self.netmask)
                == u32::from(self.ip) & u32::from(self.netmask);
        dst.is_broadcast() || directed
    }

    pub(super) fn check_broadcast(&self, slot: &Slot, dst: Ipv4Addr) -> Result<()> {
        if self.is_broadcast_dst(dst) && !slot.broadcast {
            return Err(Error::PermissionDenied);
        }
        Ok(())
    }

    pub(super) fn send_udp(
        &mut self,
        id: SocketId,
        data: &[u8],
        to: Option<SocketAddrV4>,
    ) -> Result<usize> {
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
}
