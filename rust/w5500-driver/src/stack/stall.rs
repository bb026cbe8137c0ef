//! The stall guard.
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

use embedded_hal::spi::SpiDevice;
use w5500_regs::{Sn, SocketStatus};

use super::{HwOwner, Phase, SockType, Stack, Stamp};
use crate::error::{Error, Result};

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

impl<SPI: SpiDevice> Stack<SPI> {
    /// How long a connect or a SEND may wait on the chip before the stall guard ends it:
    /// twice the chip's TCP timeout for the programmed `RTR`/`RCR`, plus one second.
    pub fn stall_limit_ms(&self) -> u64 {
        tcp_timeout_ms(self.programmed.retry_time, self.programmed.retry_count)
            .saturating_mul(2)
            .saturating_add(1_000)
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
    pub(super) fn stall_guard(&mut self, now_ms: u64) -> Result<()> {
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
}
