//! Listeners and `accept()`.
//!
//! A listener keeps up to `backlog` hardware sockets in LISTEN on its port. When one of them
//! takes a connection, [`Stack::service`] arms another free socket at once, so the listener
//! keeps listening while connections wait for `accept()`. `accept()` hands the connected
//! hardware socket to a new user socket and re-arms. When no hardware socket is free, SYNs
//! are refused by the chip (RST) until one frees up.

use core::net::SocketAddrV4;

use embedded_hal::spi::SpiDevice;
use w5500_regs::{Sn, SocketCommand, SocketStatus};

use super::{HwOwner, Phase, Slot, SockType, SocketId, Stack};
use crate::error::{Error, Result};

impl<SPI: SpiDevice> Stack<SPI> {
    pub(super) fn update_listener_socket(
        &mut self,
        index: usize,
        sn: Sn,
        sr: SocketStatus,
    ) -> Result<()> {
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
    pub(super) fn arm_listeners(&mut self, index: usize) -> Result<()> {
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
}
