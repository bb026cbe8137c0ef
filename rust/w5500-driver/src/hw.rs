//! Hardware socket primitives: one method per thing the chip does for a socket (datasheet §3.2,
//! §5.2). No blocking, no policy: the socket layer above decides when to call what.
//!
//! Frames are batched where registers are adjacent, so common operations cost few SPI
//! transactions: `Sn_IR`+`Sn_SR` in one read, `Sn_DIPR`+`Sn_DPORT` in one write,
//! `Sn_RX_RSR`+`Sn_RX_RD`+`Sn_RX_WR` in one read.

use core::net::{Ipv4Addr, SocketAddrV4};

use embedded_hal::spi::SpiDevice;
use w5500_regs::{sn, Block, Sn, SocketCommand, SocketInterrupt, SocketMode, SocketStatus};

use crate::chip::Chip;
use crate::error::{Error, Result};

/// `Sn_CR` is read back at most this many times after a command before the command is declared
/// lost ([`Error::CommandTimeout`]). The chip accepts a command within a few of its clock
/// cycles, far less than one SPI transaction, so one read normally suffices.
pub const COMMAND_POLL_TRIES: usize = 64;

/// After OPEN, `Sn_SR` is read at most this many times for the new state.
pub const OPEN_POLL_TRIES: usize = 16;

/// What the RX pointers say, read in one frame (§3.2 `Sn_RX_RSR`, `Sn_RX_RD`, `Sn_RX_WR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxState {
    /// Bytes waiting (`Sn_RX_RSR`), checked against the pointers.
    pub received: u16,
    /// The host's read pointer (`Sn_RX_RD`), a free-running 16-bit counter.
    pub read_ptr: u16,
}

impl<SPI: SpiDevice> Chip<SPI> {
    /// Write `Sn_CR` and wait, bounded, until the chip accepts it (reads back 0). Acceptance is
    /// not completion: the outcome shows later in `Sn_SR` and `Sn_IR` (§3.2 `Sn_CR`). A command
    /// still pending on the socket (see [`Chip::issue`]) is waited for first.
    pub fn command(&mut self, s: Sn, cmd: SocketCommand) -> Result<()> {
        self.issue(s, cmd)?;
        self.await_accepted(s)
    }

    /// Write `Sn_CR` without waiting for this command's acceptance: the datasheet only asks
    /// that a command be accepted before the next one on the socket is written (§3.2 `Sn_CR`),
    /// so the read-back is deferred to then ([`Chip::await_accepted`]), or skipped when the
    /// command's own effect proves it was accepted ([`Chip::note_accepted`]). A command
    /// still pending from before is waited for first.
    pub fn issue(&mut self, s: Sn, cmd: SocketCommand) -> Result<()> {
        self.await_accepted(s)?;
        self.bus().write_u8(Block::Socket(s), sn::CR, cmd as u8)?;
        self.set_pending_command(s, cmd as u8);
        Ok(())
    }

    /// [`Chip::issue`], and in the same frame clear `clear` in `Sn_IR` (write 1 to clear;
    /// `Sn_IR` follows `Sn_CR`). Used to issue SEND and clear the previous SEND's SEND_OK at
    /// once: the new SEND cannot raise its own SEND_OK before the chip has even accepted it,
    /// let alone put its data on the wire, so the clear only ever hits the old bit.
    pub fn issue_and_clear(
        &mut self,
        s: Sn,
        cmd: SocketCommand,
        clear: SocketInterrupt,
    ) -> Result<()> {
        if clear.is_empty() {
            return self.issue(s, cmd);
        }
        self.await_accepted(s)?;
        self.bus()
            .write(Block::Socket(s), sn::CR, &[cmd as u8, clear.bits()])?;
        self.set_pending_command(s, cmd as u8);
        Ok(())
    }

    /// Wait, bounded, until the command last written to `s` has been accepted (`Sn_CR` reads
    /// 0). Costs nothing when its acceptance was already seen. After
    /// [`COMMAND_POLL_TRIES`] reads the command is declared lost ([`Error::CommandTimeout`])
    /// and forgotten, so the next command is not held up by it again.
    pub fn await_accepted(&mut self, s: Sn) -> Result<()> {
        if self.pending_command(s) == 0 {
            return Ok(());
        }
        for _ in 0..COMMAND_POLL_TRIES {
            if self.bus().read_u8(Block::Socket(s), sn::CR)? == 0 {
                self.set_pending_command(s, 0);
                return Ok(());
            }
        }
        self.set_pending_command(s, 0);
        Err(Error::CommandTimeout { sn: s })
    }

    /// Record that the command pending on `s` was accepted, because its effect was seen:
    /// SEND_OK/TIMEOUT for SEND, `Sn_RX_RSR` recomputed from the new `Sn_RX_RD` for RECV. A
    /// command cannot take effect before the chip has taken it from `Sn_CR`.
    pub fn note_accepted(&mut self, s: Sn, cmd: SocketCommand) {
        if self.pending_command(s) == cmd as u8 {
            self.set_pending_command(s, 0);
        }
    }

    /// True while a command written to `s` has not been seen accepted.
    pub fn command_pending(&self, s: Sn) -> bool {
        self.pending_command(s) != 0
    }

    /// `Sn_SR`.
    pub fn socket_status(&mut self, s: Sn) -> Result<SocketStatus> {
        Ok(SocketStatus::from_u8(
            self.bus().read_u8(Block::Socket(s), sn::SR)?,
        ))
    }

    /// `Sn_IR` and `Sn_SR`, adjacent, in one frame.
    pub fn socket_events(&mut self, s: Sn) -> Result<(SocketInterrupt, SocketStatus)> {
        let mut b = [0u8; 2];
        self.bus().read(Block::Socket(s), sn::IR, &mut b)?;
        Ok((
            SocketInterrupt::from_bits_retain(b[0]),
            SocketStatus::from_u8(b[1]),
        ))
    }

    /// `Sn_IR` alone (one byte): enough while the socket is in a state it only leaves with an
    /// event (ESTABLISHED, UDP), since CON, DISCON and TIMEOUT accompany every change.
    pub fn socket_interrupt(&mut self, s: Sn) -> Result<SocketInterrupt> {
        Ok(SocketInterrupt::from_bits_retain(
            self.bus().read_u8(Block::Socket(s), sn::IR)?,
        ))
    }

    /// `Sn_CR` and `Sn_IR` in one frame. A zero `Sn_CR` settles a pending command's
    /// acceptance at the same time.
    pub fn command_and_events(&mut self, s: Sn) -> Result<SocketInterrupt> {
        let mut b = [0u8; 2];
        self.bus().read(Block::Socket(s), sn::CR, &mut b)?;
        if b[0] == 0 {
            self.set_pending_command(s, 0);
        }
        Ok(SocketInterrupt::from_bits_retain(b[1]))
    }

    /// Clear `Sn_IR` bits (write 1 to clear), which also clears the socket's `SIR` bit once
    /// nothing is left, so INTn can assert again for the next event.
    pub fn clear_socket_events(&mut self, s: Sn, bits: SocketInterrupt) -> Result<()> {
        if bits.is_empty() {
            return Ok(());
        }
        self.bus().write_u8(Block::Socket(s), sn::IR, bits.bits())
    }

    /// `Sn_IMR`: which of this socket's events reach `SIR` and INTn.
    pub fn set_socket_interrupt_mask(&mut self, s: Sn, mask: SocketInterrupt) -> Result<()> {
        self.bus().write_u8(Block::Socket(s), sn::IMR, mask.bits())
    }

    /// Close `s` at once (CLOSE: no FIN), then open it with `mode` on local `port`, and check it
    /// reached the state the protocol implies (INIT, UDP or MACRAW).
    pub fn open_socket(&mut self, s: Sn, mode: SocketMode, port: u16) -> Result<()> {
        self.open_socket_to(s, mode, port, None)
    }

    /// [`Chip::open_socket`], writing `peer` to `Sn_DIPR`/`Sn_DPORT` while OPEN is being
    /// accepted (for a CONNECT to follow). The CLOSE is skipped when this driver closed the
    /// socket last (nothing reopens a closed socket but OPEN). `Sn_IR` is cleared in OPEN's
    /// own frame: events of the new socket cannot exist before the chip has taken OPEN. The
    /// state poll that follows proves OPEN accepted, so `Sn_CR` is not read back.
    pub fn open_socket_to(
        &mut self,
        s: Sn,
        mode: SocketMode,
        port: u16,
        peer: Option<SocketAddrV4>,
    ) -> Result<()> {
        let want = match mode.protocol() {
            w5500_regs::Protocol::Tcp => SocketStatus::Init,
            w5500_regs::Protocol::Udp => SocketStatus::Udp,
            w5500_regs::Protocol::Macraw => SocketStatus::Macraw,
            _ => return Err(Error::InvalidArgument),
        };
        if self.closed_by_us(s) {
            // Our CLOSE must have been taken before the mode changes under it.
            self.await_accepted(s)?;
        } else {
            self.command(s, SocketCommand::Close)?;
        }
        self.bus().write_u8(Block::Socket(s), sn::MR, mode.0)?;
        self.bus().write_u16(Block::Socket(s), sn::PORT, port)?;
        self.issue_and_clear(s, SocketCommand::Open, SocketInterrupt::all())?;
        self.set_closed_by_us(s, false);
        if let Some(peer) = peer {
            self.set_peer(s, peer)?;
        }
        for _ in 0..OPEN_POLL_TRIES {
            if self.socket_status(s)? == want {
                self.note_accepted(s, SocketCommand::Open);
                return Ok(());
            }
        }
        // Not there yet: wait for OPEN's acceptance the usual way, then look once more.
        self.await_accepted(s)?;
        if self.socket_status(s)? == want {
            return Ok(());
        }
        Err(Error::CommandTimeout { sn: s })
    }

    /// Close `s` (CLOSE): no FIN, no TIME_WAIT; the socket is free at once (CLOSE accepted on
    /// return). `Sn_IR` is cleared in the CLOSE's own frame, so INTn can rise again.
    pub fn close_socket(&mut self, s: Sn) -> Result<()> {
        self.issue_and_clear(s, SocketCommand::Close, SocketInterrupt::all())?;
        self.set_closed_by_us(s, true);
        self.await_accepted(s)
    }

    /// `Sn_DIPR` and `Sn_DPORT` in one frame.
    pub fn set_peer(&mut self, s: Sn, peer: SocketAddrV4) -> Result<()> {
        let mut b = [0u8; 6];
        b[..4].copy_from_slice(&peer.ip().octets());
        b[4..].copy_from_slice(&peer.port().to_be_bytes());
        self.bus().write(Block::Socket(s), sn::DIPR, &b)
    }

    /// `Sn_DIPR` and `Sn_DPORT`: the peer of a connected TCP socket (filled in by the chip on
    /// accept) or the destination of a UDP socket.
    pub fn peer(&mut self, s: Sn) -> Result<SocketAddrV4> {
        let mut b = [0u8; 6];
        self.bus().read(Block::Socket(s), sn::DIPR, &mut b)?;
        Ok(SocketAddrV4::new(
            Ipv4Addr::new(b[0], b[1], b[2], b[3]),
            u16::from_be_bytes([b[4], b[5]]),
        ))
    }

    /// `Sn_PORT`.
    pub fn local_port(&mut self, s: Sn) -> Result<u16> {
        self.bus().read_u16(Block::Socket(s), sn::PORT)
    }

    /// `Sn_KPALVTR`: automatic keep-alive every `units` × 5 s (0 = off).
    pub fn set_keepalive(&mut self, s: Sn, units: u8) -> Result<()> {
        self.bus().write_u8(Block::Socket(s), sn::KPALVTR, units)
    }

    /// `Sn_TX_FSR`, read until two reads agree (§3.2). In TCP the free space is counted
    /// against the peer's acknowledgements, so no pointer in the chip gives an independent
    /// copy of it and the double read is the cross-check.
    pub fn tx_free(&mut self, s: Sn) -> Result<u16> {
        self.bus().read_u16_stable(Block::Socket(s), sn::TX_FSR)
    }

    /// `Sn_TX_WR`: the host's write pointer (re-initialised by the chip at OPEN and at TCP
    /// establishment; otherwise only the host moves it).
    pub fn tx_write_ptr(&mut self, s: Sn) -> Result<u16> {
        self.bus().read_u16(Block::Socket(s), sn::TX_WR)
    }

    /// First look at the TX side after OPEN or TCP establishment: `Sn_TX_FSR`, `Sn_TX_RD`
    /// and `Sn_TX_WR` in one frame. When `TX_RD == TX_WR` nothing is queued or in flight, so
    /// FSR (the whole buffer) cannot change during the read and needs no second one;
    /// otherwise FSR is re-read until stable. Returns (free, write pointer).
    pub fn tx_first_look(&mut self, s: Sn) -> Result<(u16, u16)> {
        let mut b = [0u8; 6];
        self.bus().read(Block::Socket(s), sn::TX_FSR, &mut b)?;
        let fsr = u16::from_be_bytes([b[0], b[1]]);
        let rd = u16::from_be_bytes([b[2], b[3]]);
        let wr = u16::from_be_bytes([b[4], b[5]]);
        if rd == wr {
            return Ok((fsr, wr));
        }
        Ok((self.tx_free(s)?, wr))
    }

    /// `Sn_TX_FSR` (read until stable) and `Sn_TX_WR`.
    pub fn tx_state(&mut self, s: Sn) -> Result<(u16, u16)> {
        let free = self.bus().read_u16_stable(Block::Socket(s), sn::TX_FSR)?;
        let wr = self.bus().read_u16(Block::Socket(s), sn::TX_WR)?;
        Ok((free, wr))
    }

    /// Copy `data` into the TX ring at pointer `wr` (the chip wraps it inside the socket's
    /// ring) and publish the new `Sn_TX_WR`. The caller has checked the free space; SEND is
    /// a separate step. Returns the new write pointer.
    pub fn write_tx(&mut self, s: Sn, wr: u16, data: &[u8]) -> Result<u16> {
        let len = u16::try_from(data.len()).map_err(|_| Error::InvalidArgument)?;
        if !data.is_empty() {
            self.bus().write(Block::TxBuf(s), wr, data)?;
        }
        let next = wr.wrapping_add(len);
        self.bus().write_u16(Block::Socket(s), sn::TX_WR, next)?;
        Ok(next)
    }

    /// Read `Sn_RX_RSR`, `Sn_RX_RD` and `Sn_RX_WR` in one frame. The size register can change
    /// between its two bytes (§3.2); the pointers give an independent copy of it
    /// (`RX_WR - RX_RD`), so a read whose two agree is stable. Otherwise the frame is re-read,
    /// bounded, until two consecutive reads agree.
    pub fn rx_state(&mut self, s: Sn) -> Result<RxState> {
        let mut prev: Option<[u8; 6]> = None;
        let mut last = (0u16, 0u16);
        for _ in 0..crate::bus::STABLE_READ_TRIES {
            let mut b = [0u8; 6];
            self.bus().read(Block::Socket(s), sn::RX_RSR, &mut b)?;
            let rsr = u16::from_be_bytes([b[0], b[1]]);
            let rd = u16::from_be_bytes([b[2], b[3]]);
            let wr = u16::from_be_bytes([b[4], b[5]]);
            if wr.wrapping_sub(rd) == rsr {
                // Before a pending RECV is carried out, RSR still counts from the old read
                // pointer, which differs from the `Sn_RX_RD` we wrote with it (every RECV we
                // issue moves the pointer): agreement proves the RECV was accepted.
                self.note_accepted(s, SocketCommand::Recv);
                return Ok(RxState {
                    received: rsr,
                    read_ptr: rd,
                });
            }
            if prev == Some(b) {
                // Stable but inconsistent: RSR was not recomputed after the last RX_RD write
                // (RECV is not carried out once the socket is CLOSED). The pointers are the
                // truth; trusting RSR would re-read consumed bytes.
                return Ok(RxState {
                    received: wr.wrapping_sub(rd).min(rsr),
                    read_ptr: rd,
                });
            }
            prev = Some(b);
            last = (rsr, rd);
        }
        Ok(RxState {
            received: last.0,
            read_ptr: last.1,
        })
    }

    /// After `Sn_RX_RD` was moved from `committed` to `new_rd` and before the RECV that
    /// publishes it: one read of `Sn_RX_RSR`/`Sn_RX_RD`/`Sn_RX_WR`. RSR still counts from
    /// `committed` then, which gives the cross-check (RSR = WR - `committed`, §3.2). When it
    /// holds, returns how many bytes lie beyond `new_rd`; it also proves that the RECV which
    /// published `committed` was accepted (before that RSR counted from an older pointer).
    /// `None` when the read does not check out (torn, or that RECV still pending).
    pub fn rx_lookahead(&mut self, s: Sn, committed: u16, new_rd: u16) -> Result<Option<u16>> {
        let mut b = [0u8; 6];
        self.bus().read(Block::Socket(s), sn::RX_RSR, &mut b)?;
        let rsr = u16::from_be_bytes([b[0], b[1]]);
        let rd = u16::from_be_bytes([b[2], b[3]]);
        let wr = u16::from_be_bytes([b[4], b[5]]);
        if rd != new_rd || wr.wrapping_sub(committed) != rsr {
            return Ok(None);
        }
        self.note_accepted(s, SocketCommand::Recv);
        Ok(Some(wr.wrapping_sub(new_rd)))
    }

    /// Copy bytes from the RX ring at pointer `rd` into `buf`. Does not move `Sn_RX_RD`.
    pub fn read_rx(&mut self, s: Sn, rd: u16, buf: &mut [u8]) -> Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        self.bus().read(Block::RxBuf(s), rd, buf)
    }

    /// Move `Sn_RX_RD` without RECV: for a socket that is already CLOSED, where RECV would be
    /// ignored, so the host's own pointer is what marks data as consumed.
    pub fn set_rx_read_ptr(&mut self, s: Sn, new_rd: u16) -> Result<()> {
        self.bus().write_u16(Block::Socket(s), sn::RX_RD, new_rd)
    }

    /// Publish a new `Sn_RX_RD` and issue RECV, which frees the space (and reopens the TCP
    /// window).
    pub fn consume_rx(&mut self, s: Sn, new_rd: u16) -> Result<()> {
        self.bus().write_u16(Block::Socket(s), sn::RX_RD, new_rd)?;
        self.issue(s, SocketCommand::Recv)
    }

    /// Copy the RX ring at `rd` into `head` then `body` in one SPI frame (a UDP header and
    /// its payload). Does not move `Sn_RX_RD`.
    pub fn read_rx2(&mut self, s: Sn, rd: u16, head: &mut [u8], body: &mut [u8]) -> Result<()> {
        self.bus().read2(Block::RxBuf(s), rd, head, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_hal_mock::eh1::spi::{Mock, Transaction as T};

    fn frame_read(h: [u8; 3], data: &[u8]) -> [T<u8>; 4] {
        [
            T::transaction_start(),
            T::write_vec(h.to_vec()),
            T::read_vec(data.to_vec()),
            T::transaction_end(),
        ]
    }

    fn frame_write(h: [u8; 3], data: &[u8]) -> [T<u8>; 4] {
        [
            T::transaction_start(),
            T::write_vec(h.to_vec()),
            T::write_vec(data.to_vec()),
            T::transaction_end(),
        ]
    }

    #[test]
    fn ds_3_2_command_waits_for_sn_cr_zero_with_a_bound() {
        // Socket 1 register block: read 0x28, write 0x2C.
        let mut s = Vec::new();
        s.extend(frame_write([0, 0x01, 0x2c], &[0x40]));
        s.extend(frame_read([0, 0x01, 0x28], &[0x40]));
        s.extend(frame_read([0, 0x01, 0x28], &[0x00]));
        let mut spi = Mock::new(&s);
        let mut chip = Chip::new(spi.clone());
        chip.command(Sn::Sn1, SocketCommand::Recv).unwrap();
        spi.done();

        let mut s = Vec::new();
        s.extend(frame_write([0, 0x01, 0x2c], &[0x20]));
        for _ in 0..COMMAND_POLL_TRIES {
            s.extend(frame_read([0, 0x01, 0x28], &[0x20]));
        }
        let mut spi = Mock::new(&s);
        let mut chip = Chip::new(spi.clone());
        assert_eq!(
            chip.command(Sn::Sn1, SocketCommand::Send),
            Err(Error::CommandTimeout { sn: Sn::Sn1 })
        );
        spi.done();
    }

    #[test]
    fn ds_3_2_issue_defers_the_sn_cr_read_back_to_the_next_command() {
        // RECV is written without a read-back; SEND first reads Sn_CR (accepted) then writes.
        let mut s = Vec::new();
        s.extend(frame_write([0, 0x01, 0x2c], &[0x40]));
        s.extend(frame_read([0, 0x01, 0x28], &[0x40]));
        s.extend(frame_read([0, 0x01, 0x28], &[0x00]));
        s.extend(frame_write([0, 0x01, 0x2c], &[0x20]));
        let mut spi = Mock::new(&s);
        let mut chip = Chip::new(spi.clone());
        chip.issue(Sn::Sn1, SocketCommand::Recv).unwrap();
        assert!(chip.command_pending(Sn::Sn1));
        chip.issue(Sn::Sn1, SocketCommand::Send).unwrap();
        spi.done();
    }

    #[test]
    fn ds_3_2_rsr_counted_from_the_new_rx_rd_proves_recv_accepted() {
        // RECV pending; RSR/RD/WR agree (RSR = WR - RD with RD the value RECV published), so
        // the next command needs no Sn_CR read.
        let mut s = Vec::new();
        s.extend(frame_write([0, 0x01, 0x0c], &[0x40]));
        s.extend(frame_read(
            [0, 0x26, 0x08],
            &[0x00, 0x20, 0x01, 0x00, 0x01, 0x20],
        ));
        s.extend(frame_write([0, 0x01, 0x0c], &[0x40]));
        let mut spi = Mock::new(&s);
        let mut chip = Chip::new(spi.clone());
        chip.issue(Sn::Sn0, SocketCommand::Recv).unwrap();
        assert_eq!(chip.rx_state(Sn::Sn0).unwrap().received, 0x20);
        assert!(!chip.command_pending(Sn::Sn0));
        chip.issue(Sn::Sn0, SocketCommand::Recv).unwrap();
        spi.done();
    }

    #[test]
    fn ds_3_2_send_and_send_ok_clear_share_one_frame() {
        // Sn_CR = SEND, then Sn_IR = SEND_OK (write 1 to clear) in the same burst.
        let s = frame_write([0, 0x01, 0x0c], &[0x20, 0x10]);
        let mut spi = Mock::new(&s);
        let mut chip = Chip::new(spi.clone());
        chip.issue_and_clear(Sn::Sn0, SocketCommand::Send, SocketInterrupt::SEND_OK)
            .unwrap();
        spi.done();
    }

    #[test]
    fn ds_3_2_rx_state_accepts_a_read_whose_size_matches_the_pointers() {
        // RSR 0x0010, RD 0xfff8, WR 0x0008: WR - RD wraps to 0x0010.
        let mut s = Vec::new();
        s.extend(frame_read(
            [0, 0x26, 0x08],
            &[0x00, 0x10, 0xff, 0xf8, 0x00, 0x08],
        ));
        let mut spi = Mock::new(&s);
        let mut chip = Chip::new(spi.clone());
        assert_eq!(
            chip.rx_state(Sn::Sn0).unwrap(),
            RxState {
                received: 0x10,
                read_ptr: 0xfff8
            }
        );
        spi.done();
    }

    #[test]
    fn ds_3_2_rx_state_rereads_a_torn_size() {
        // First read is torn (RSR disagrees with WR - RD); the next two agree.
        let mut s = Vec::new();
        s.extend(frame_read(
            [0, 0x26, 0x08],
            &[0x00, 0x00, 0x00, 0x00, 0x01, 0x00],
        ));
        s.extend(frame_read(
            [0, 0x26, 0x08],
            &[0x01, 0x00, 0x00, 0x00, 0x01, 0x04],
        ));
        s.extend(frame_read(
            [0, 0x26, 0x08],
            &[0x01, 0x04, 0x00, 0x00, 0x01, 0x04],
        ));
        let mut spi = Mock::new(&s);
        let mut chip = Chip::new(spi.clone());
        assert_eq!(chip.rx_state(Sn::Sn0).unwrap().received, 0x0104);
        spi.done();
    }

    #[test]
    fn ds_5_2_tx_write_wraps_the_free_running_pointer() {
        // TX_WR 0xfffe + 4 bytes -> 0x0002; the data goes in one burst at offset 0xfffe.
        let mut s = Vec::new();
        s.extend(frame_write([0xff, 0xfe, 0x14], &[1, 2, 3, 4]));
        s.extend(frame_write([0x00, 0x24, 0x0c], &[0x00, 0x02]));
        let mut spi = Mock::new(&s);
        let mut chip = Chip::new(spi.clone());
        assert_eq!(chip.write_tx(Sn::Sn0, 0xfffe, &[1, 2, 3, 4]).unwrap(), 2);
        spi.done();
    }
}
