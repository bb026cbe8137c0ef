//! A stand-in bridge target: W5500 SPI framing over plain memory, no chip behind it.

use core::time::Duration;

use super::{BridgeTarget, ClockMode};
use crate::time::{Instant, SpiTiming};

const BLOCKS: usize = 32;
const BLOCK_SIZE: usize = 0x1_0000;

/// A register file that speaks the W5500 SPI frame format (DS §2.2: 16-bit address, control
/// byte with BSB/RWB/OM, then data with address auto-increment) over plain memory, for testing
/// the bridge and its clients before or without the real chip. It is not a W5500: only
/// VERSIONR (0x0039 = 0x04, read-only) is special, and INTn is asserted while
/// `(IR & IMR) | (SIR & SIMR)` (common registers 0x15/0x16, 0x17/0x18) is non-zero.
/// During the 3 header bytes MISO carries 0x00. Fixed-length data mode is treated like
/// variable-length mode.
#[derive(Debug)]
pub struct RegisterFile {
    blocks: Vec<Option<Box<[u8]>>>,
    selected: bool,
    /// Bytes clocked in the current frame.
    pos: usize,
    addr: u16,
    control: u8,
    reset_low: bool,
    clock: ClockMode,
    sim_now: Instant,
    t0: std::time::Instant,
    timing: SpiTiming,
    selects: u64,
    deselects: u64,
    resets: u64,
}

impl RegisterFile {
    /// Common-block address of VERSIONR.
    pub const VERSIONR: u16 = 0x0039;

    /// A powered-on register file on `clock`; simulated transfers cost `spi_hz` wire time.
    pub fn new(clock: ClockMode, spi_hz: u32) -> Self {
        RegisterFile {
            blocks: (0..BLOCKS).map(|_| None).collect(),
            selected: false,
            pos: 0,
            addr: 0,
            control: 0,
            reset_low: false,
            clock,
            sim_now: Instant::ZERO,
            t0: std::time::Instant::now(),
            timing: SpiTiming {
                sck_hz: spi_hz,
                cs_overhead_ns: 1_000,
            },
            selects: 0,
            deselects: 0,
            resets: 0,
        }
    }

    /// A byte of block `bsb` at `addr` (what a read frame would return).
    pub fn peek(&self, bsb: u8, addr: u16) -> u8 {
        if bsb == 0 && addr == Self::VERSIONR {
            return 0x04;
        }
        self.blocks
            .get(usize::from(bsb))
            .and_then(|b| b.as_ref())
            .and_then(|b| b.get(usize::from(addr)).copied())
            .unwrap_or(0)
    }

    /// Set a byte of block `bsb` at `addr` (as a write frame would).
    pub fn poke(&mut self, bsb: u8, addr: u16, value: u8) {
        if bsb == 0 && addr == Self::VERSIONR {
            return;
        }
        if let Some(slot) = self.blocks.get_mut(usize::from(bsb)) {
            let block = slot.get_or_insert_with(|| vec![0u8; BLOCK_SIZE].into_boxed_slice());
            if let Some(b) = block.get_mut(usize::from(addr)) {
                *b = value;
            }
        }
    }

    /// True while chip select is low.
    pub fn is_selected(&self) -> bool {
        self.selected
    }

    /// How many times chip select went low and high, and hardware resets happened.
    pub fn counts(&self) -> (u64, u64, u64) {
        (self.selects, self.deselects, self.resets)
    }

    /// True while RSTn is held low.
    pub fn in_reset(&self) -> bool {
        self.reset_low
    }

    fn clear(&mut self) {
        for b in &mut self.blocks {
            *b = None;
        }
        self.resets = self.resets.saturating_add(1);
    }
}

impl BridgeTarget for RegisterFile {
    fn select(&mut self) {
        self.selected = true;
        self.pos = 0;
        self.selects = self.selects.saturating_add(1);
    }

    fn transfer_in_place(&mut self, buf: &mut [u8]) {
        if self.clock == ClockMode::Sim {
            self.sim_now += Duration::from_nanos(self.timing.transaction_ns(buf.len()));
        }
        if !self.selected || self.reset_low {
            // Nobody is listening: MISO floats (reads as 0).
            buf.fill(0);
            return;
        }
        for b in buf.iter_mut() {
            let mosi = *b;
            *b = match self.pos {
                0 => {
                    self.addr = u16::from(mosi) << 8;
                    0
                }
                1 => {
                    self.addr |= u16::from(mosi);
                    0
                }
                2 => {
                    self.control = mosi;
                    0
                }
                _ => {
                    let bsb = self.control >> 3;
                    let write = self.control & 0x04 != 0;
                    let out = if write {
                        self.poke(bsb, self.addr, mosi);
                        0
                    } else {
                        self.peek(bsb, self.addr)
                    };
                    self.addr = self.addr.wrapping_add(1);
                    out
                }
            };
            self.pos = self.pos.saturating_add(1);
        }
    }

    fn deselect(&mut self) {
        self.selected = false;
        self.pos = 0;
        self.deselects = self.deselects.saturating_add(1);
    }

    fn hardware_reset(&mut self) {
        self.reset_low = false;
        self.clear();
    }

    fn set_reset_pin(&mut self, low: bool) {
        if self.reset_low && !low {
            self.clear();
        }
        self.reset_low = low;
    }

    fn int_asserted(&mut self) -> bool {
        if self.reset_low {
            return false;
        }
        (self.peek(0, 0x15) & self.peek(0, 0x16)) | (self.peek(0, 0x17) & self.peek(0, 0x18)) != 0
    }

    fn now(&self) -> Instant {
        match self.clock {
            ClockMode::Sim => self.sim_now,
            ClockMode::Wall => Instant::from_micros(
                u64::try_from(self.t0.elapsed().as_micros()).unwrap_or(u64::MAX),
            ),
        }
    }

    fn advance(&mut self, d: Duration) {
        if self.clock == ClockMode::Sim {
            self.sim_now += d;
        }
    }
}
