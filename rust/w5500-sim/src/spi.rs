//! SPI framing (DS §2.2) and the embedded-hal 1.0 front ends: [`SimSpiDevice`] (one
//! `transaction` = one chip-select frame), [`SimSpiBus`] with a chip-select [`SimCsPin`], the
//! reset pin [`SimResetPin`] and the interrupt pin [`SimIntPin`].
//!
//! # Framing
//! Every chip-select frame starts with a 16-bit offset and a control byte
//! (`BSB[4:0] << 3 | RWB << 2 | OM[1:0]`). With OM = 00 (VDM) data bytes follow until chip
//! select is released, the offset auto-incrementing (wrapping at 16 bits; buffer blocks mask it
//! to the socket's ring). With OM = 01/10/11 (FDM) exactly 1/2/4 data bytes follow and the next
//! byte starts a new header within the same chip select.
//!
//! # What MISO carries (not verified against silicon)
//! - During the three header bytes: 0x00.
//! - During write data: 0x00.
//! - During read data: the addressed byte, sampled at the start of that byte's clocks.
//! - While the chip is held in reset or waits for its PLL: 0x00 (and a violation is recorded).
//! - With the "chip absent" fault: the configured level on every byte.
//! - Bytes clocked on [`SimSpiBus`] while chip select is high: 0xFF (MISO floats; not ours).

use core::cell::RefCell;
use core::fmt;

use embedded_hal::digital::{self, ErrorType as DigitalErrorType, InputPin, OutputPin};
use embedded_hal::spi::{self, ErrorType as SpiErrorType, Operation, SpiBus, SpiDevice};

use crate::chip::{Chip, ViolationKind};
use crate::net::Network;
use crate::regs::{ctrl, Block};
use crate::sim::Sim;
use crate::time::Instant;

/// Errors from the simulator's SPI and pin front ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimError {
    /// `select` while chip select was already asserted.
    AlreadySelected,
    /// The simulator is borrowed elsewhere (a `RefCell` handle used re-entrantly).
    Busy,
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::AlreadySelected => f.write_str("chip select already asserted"),
            SimError::Busy => f.write_str("simulator already borrowed"),
        }
    }
}

impl spi::Error for SimError {
    fn kind(&self) -> spi::ErrorKind {
        spi::ErrorKind::Other
    }
}

impl digital::Error for SimError {
    fn kind(&self) -> digital::ErrorKind {
        digital::ErrorKind::Other
    }
}

/// The areas SPI traffic is accounted to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    /// Common registers (BSB 0).
    Common = 0,
    /// Socket registers (BSB 4n+1).
    SocketRegs = 1,
    /// TX buffers (BSB 4n+2).
    TxBuffer = 2,
    /// RX buffers (BSB 4n+3).
    RxBuffer = 3,
    /// Reserved blocks and incomplete headers.
    Other = 4,
}

impl Area {
    fn of(block: Block) -> Area {
        match block {
            Block::Common => Area::Common,
            Block::SocketRegs(_) => Area::SocketRegs,
            Block::TxBuffer(_) => Area::TxBuffer,
            Block::RxBuffer(_) => Area::RxBuffer,
            Block::Reserved(_) => Area::Other,
        }
    }
}

/// Frames and bytes of one area.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AreaStats {
    /// SPI frames (headers) addressed to the area.
    pub frames: u64,
    /// Bytes including each frame's 3 header bytes.
    pub bytes: u64,
}

/// SPI accounting: transactions (chip-select frames) and bytes, total and by area.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpiStats {
    /// Chip-select assertions.
    pub transactions: u64,
    /// Bytes clocked while selected.
    pub bytes: u64,
    /// Per area, indexed by [`Area`] as usize.
    pub areas: [AreaStats; 5],
}

impl SpiStats {
    /// The counters of one area.
    pub fn area(&self, a: Area) -> AreaStats {
        self.areas[a as usize]
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Phase {
    #[default]
    AddrHi,
    AddrLo,
    Control,
    Data,
}

/// The SPI frame decoder of the chip.
#[derive(Clone, Debug, Default)]
pub(crate) struct Framer {
    phase: Phase,
    addr: u16,
    control: u8,
    data_in_frame: u32,
    header_bytes: u64,
    reset_violation_done: bool,
}

impl Framer {
    /// Chip select asserted.
    pub fn begin(&mut self) {
        *self = Framer::default();
    }

    fn fixed_len(&self) -> Option<u32> {
        match self.control & 0x03 {
            ctrl::OM_FDM1 => Some(1),
            ctrl::OM_FDM2 => Some(2),
            ctrl::OM_FDM4 => Some(4),
            _ => None,
        }
    }

    /// One byte clocked: MOSI in, MISO out.
    pub fn byte(&mut self, mosi: u8, chip: &mut Chip, stats: &mut SpiStats, now: Instant) -> u8 {
        stats.bytes = stats.bytes.saturating_add(1);
        let absent = chip.faults.chip_absent;
        let accessible = chip.accessible(now);
        if !accessible && absent.is_none() && !self.reset_violation_done {
            self.reset_violation_done = true;
            chip.violate(now, ViolationKind::AccessDuringReset);
        }
        let miso = match self.phase {
            Phase::AddrHi => {
                self.addr = u16::from(mosi) << 8;
                self.header_bytes = 1;
                self.phase = Phase::AddrLo;
                0
            }
            Phase::AddrLo => {
                self.addr |= u16::from(mosi);
                self.header_bytes = 2;
                self.phase = Phase::Control;
                0
            }
            Phase::Control => {
                self.control = mosi;
                self.phase = Phase::Data;
                self.data_in_frame = 0;
                let block = Block::from_bsb(mosi >> 3);
                let a = &mut stats.areas[Area::of(block) as usize];
                a.frames = a.frames.saturating_add(1);
                a.bytes = a.bytes.saturating_add(3);
                self.header_bytes = 0;
                if let Block::Reserved(bsb) = block {
                    if absent.is_none() && accessible {
                        chip.violate(now, ViolationKind::ReservedBlock { bsb });
                    }
                }
                0
            }
            Phase::Data => {
                let block = Block::from_bsb(self.control >> 3);
                let a = &mut stats.areas[Area::of(block) as usize];
                a.bytes = a.bytes.saturating_add(1);
                let bsb = self.control >> 3;
                let out = if absent.is_some() || !accessible {
                    0
                } else if self.control & ctrl::RWB_WRITE != 0 {
                    chip.write(bsb, self.addr, mosi, now);
                    0
                } else {
                    chip.read(bsb, self.addr, now)
                };
                self.addr = self.addr.wrapping_add(1);
                self.data_in_frame = self.data_in_frame.saturating_add(1);
                if self.fixed_len() == Some(self.data_in_frame) {
                    self.phase = Phase::AddrHi;
                    self.data_in_frame = 0;
                }
                out
            }
        };
        absent.unwrap_or(miso)
    }

    /// Chip select released.
    pub fn end(&mut self, chip: &mut Chip, stats: &mut SpiStats, now: Instant) {
        let absent = chip.faults.chip_absent.is_some();
        match self.phase {
            Phase::AddrHi => {}
            Phase::AddrLo | Phase::Control => {
                let a = &mut stats.areas[Area::Other as usize];
                a.bytes = a.bytes.saturating_add(self.header_bytes);
                if !absent {
                    chip.violate(now, ViolationKind::TruncatedHeader);
                }
            }
            Phase::Data => {
                if !absent {
                    if self.fixed_len().is_some() {
                        chip.violate(now, ViolationKind::TruncatedFixedFrame);
                    } else if self.data_in_frame == 0 {
                        chip.violate(now, ViolationKind::EmptyFrame);
                    }
                }
            }
        }
        *self = Framer::default();
    }
}

/// Something that gives access to a shared [`Sim`]: `&RefCell<Sim<N>>` (no_std, one thread)
/// or, with `std`, `Arc<Mutex<Sim<N>>>` (several threads).
pub trait SimHandle {
    /// The network behind the chip.
    type Net: Network;
    /// Run `f` with exclusive access to the simulator.
    fn with_sim<R>(&self, f: impl FnOnce(&mut Sim<Self::Net>) -> R) -> Result<R, SimError>;
}

impl<N: Network> SimHandle for &RefCell<Sim<N>> {
    type Net = N;
    fn with_sim<R>(&self, f: impl FnOnce(&mut Sim<N>) -> R) -> Result<R, SimError> {
        let mut s = self.try_borrow_mut().map_err(|_| SimError::Busy)?;
        Ok(f(&mut s))
    }
}

#[cfg(feature = "std")]
impl<N: Network> SimHandle for std::sync::Arc<std::sync::Mutex<Sim<N>>> {
    type Net = N;
    fn with_sim<R>(&self, f: impl FnOnce(&mut Sim<N>) -> R) -> Result<R, SimError> {
        let mut s = self.lock().unwrap_or_else(|e| e.into_inner());
        Ok(f(&mut s))
    }
}

#[cfg(feature = "std")]
impl<N: Network> SimHandle for &std::sync::Mutex<Sim<N>> {
    type Net = N;
    fn with_sim<R>(&self, f: impl FnOnce(&mut Sim<N>) -> R) -> Result<R, SimError> {
        let mut s = self.lock().unwrap_or_else(|e| e.into_inner());
        Ok(f(&mut s))
    }
}

/// embedded-hal [`SpiDevice`]: each `transaction` is one chip-select frame.
#[derive(Clone, Debug)]
pub struct SimSpiDevice<H> {
    handle: H,
}

impl<H: SimHandle> SimSpiDevice<H> {
    /// A device on the simulator behind `handle`.
    pub fn new(handle: H) -> Self {
        SimSpiDevice { handle }
    }
}

impl<H: SimHandle> SpiErrorType for SimSpiDevice<H> {
    type Error = SimError;
}

impl<H: SimHandle> SpiDevice<u8> for SimSpiDevice<H> {
    fn transaction(&mut self, operations: &mut [Operation<'_, u8>]) -> Result<(), SimError> {
        self.handle.with_sim(|s| s.transaction(operations))?
    }
}

/// embedded-hal [`SpiBus`]: bytes reach the chip only while [`SimCsPin`] is low.
#[derive(Clone, Debug)]
pub struct SimSpiBus<H> {
    handle: H,
}

impl<H: SimHandle> SimSpiBus<H> {
    /// A bus to the simulator behind `handle`.
    pub fn new(handle: H) -> Self {
        SimSpiBus { handle }
    }
}

impl<H: SimHandle> SpiErrorType for SimSpiBus<H> {
    type Error = SimError;
}

impl<H: SimHandle> SpiBus<u8> for SimSpiBus<H> {
    fn read(&mut self, words: &mut [u8]) -> Result<(), SimError> {
        words.fill(0);
        self.transfer_in_place(words)
    }

    fn write(&mut self, words: &[u8]) -> Result<(), SimError> {
        self.handle.with_sim(|s| {
            for &w in words {
                s.bus_byte(w);
            }
        })
    }

    fn transfer(&mut self, read: &mut [u8], write: &[u8]) -> Result<(), SimError> {
        self.handle.with_sim(|s| {
            let n = read.len().max(write.len());
            for i in 0..n {
                let m = s.bus_byte(write.get(i).copied().unwrap_or(0));
                if let Some(r) = read.get_mut(i) {
                    *r = m;
                }
            }
        })
    }

    fn transfer_in_place(&mut self, words: &mut [u8]) -> Result<(), SimError> {
        self.handle.with_sim(|s| {
            for w in words.iter_mut() {
                *w = s.bus_byte(*w);
            }
        })
    }

    fn flush(&mut self) -> Result<(), SimError> {
        Ok(())
    }
}

/// Chip-select pin for [`SimSpiBus`]: low selects, high deselects.
#[derive(Clone, Debug)]
pub struct SimCsPin<H> {
    handle: H,
}

impl<H: SimHandle> SimCsPin<H> {
    /// The chip-select pin of the simulator behind `handle`.
    pub fn new(handle: H) -> Self {
        SimCsPin { handle }
    }
}

impl<H: SimHandle> DigitalErrorType for SimCsPin<H> {
    type Error = SimError;
}

impl<H: SimHandle> OutputPin for SimCsPin<H> {
    fn set_low(&mut self) -> Result<(), SimError> {
        self.handle.with_sim(|s| {
            if !s.is_selected() {
                let _ = s.select();
            }
        })
    }
    fn set_high(&mut self) -> Result<(), SimError> {
        self.handle.with_sim(|s| s.deselect())
    }
}

/// RSTn: low for at least 500 µs resets the chip (DS §5.5.1).
#[derive(Clone, Debug)]
pub struct SimResetPin<H> {
    handle: H,
}

impl<H: SimHandle> SimResetPin<H> {
    /// The reset pin of the simulator behind `handle`.
    pub fn new(handle: H) -> Self {
        SimResetPin { handle }
    }
}

impl<H: SimHandle> DigitalErrorType for SimResetPin<H> {
    type Error = SimError;
}

impl<H: SimHandle> OutputPin for SimResetPin<H> {
    fn set_low(&mut self) -> Result<(), SimError> {
        self.handle.with_sim(|s| s.set_reset_pin(true))
    }
    fn set_high(&mut self) -> Result<(), SimError> {
        self.handle.with_sim(|s| s.set_reset_pin(false))
    }
}

/// INTn: reads low while the interrupt is asserted (DS §3.1 IR/SIR; a level, see crate docs).
#[derive(Clone, Debug)]
pub struct SimIntPin<H> {
    handle: H,
}

impl<H: SimHandle> SimIntPin<H> {
    /// The interrupt pin of the simulator behind `handle`.
    pub fn new(handle: H) -> Self {
        SimIntPin { handle }
    }
}

impl<H: SimHandle> DigitalErrorType for SimIntPin<H> {
    type Error = SimError;
}

impl<H: SimHandle> InputPin for SimIntPin<H> {
    fn is_high(&mut self) -> Result<bool, SimError> {
        self.handle.with_sim(|s| !s.int_asserted())
    }
    fn is_low(&mut self) -> Result<bool, SimError> {
        self.handle.with_sim(|s| s.int_asserted())
    }
}
