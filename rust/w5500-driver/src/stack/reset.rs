//! Chip-reset recovery.
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

use embedded_hal::spi::SpiDevice;
use w5500_regs::{Sn, SocketInterrupt};

use super::{Hw, HwOwner, Phase, SockType, SocketId, Stack, MAX_SOCKETS};
use crate::error::{Error, Result};

/// How long [`Stack::service`] tolerates a chip that shows the reset signature but does not
/// answer `VERSIONR` (PLL lock, slow parts) before it reports [`Error::ChipNotFound`].
pub const CHIP_ABSENT_GRACE_MS: u64 = 100;

impl<SPI: SpiDevice> Stack<SPI> {
    /// How many chip resets (brown-outs) [`Stack::service`] has detected and recovered from.
    pub fn chip_resets(&self) -> u32 {
        self.chip_resets
    }

    /// `SIMR` read back differs from what the stack wrote: confirm a chip reset and recover
    /// (see the module docs). `Ok(false)` when it was not one.
    pub(super) fn recover_from_chip_reset(&mut self) -> Result<bool> {
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
}
