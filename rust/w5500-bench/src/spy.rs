//! An SPI device that sits between a driver and the simulated chip and sorts every
//! chip-select frame into registers, buffers or polling.
//!
//! "Polling" is a read of a status register (`IR`, `SIR`, `PHYCFGR`, `Sn_CR`, `Sn_IR`,
//! `Sn_SR`, `Sn_TX_FSR`, `Sn_TX_RD`, `Sn_RX_RSR`, `Sn_RX_RD`, `Sn_RX_WR`) that found nothing
//! new: the same bytes as the previous read of the same registers, or, for `Sn_CR`, a
//! command not yet accepted (non-zero). The same rule applies to every driver, so the
//! split is comparable. The spy also keeps the simulator's own totals honest: its byte and
//! frame counts must equal the simulator's (checked by the harness).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use embedded_hal::spi::{ErrorType, Operation, SpiDevice};

/// Frames and bytes (header included) of one category.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bucket {
    /// Chip-select frames.
    pub txns: u64,
    /// Bytes clocked, 3 header bytes included.
    pub bytes: u64,
}

impl Bucket {
    fn add(&mut self, bytes: u64) {
        self.txns += 1;
        self.bytes += bytes;
    }
}

/// SPI traffic of a run, sorted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Register reads and writes that are not polling (configuration, pointers, commands,
    /// status reads that found news).
    pub regs: Bucket,
    /// TX and RX buffer memory.
    pub bufs: Bucket,
    /// Status reads that found nothing new.
    pub poll: Bucket,
}

impl Counts {
    /// All frames.
    pub fn txns(&self) -> u64 {
        self.regs.txns + self.bufs.txns + self.poll.txns
    }
    /// All bytes.
    pub fn bytes(&self) -> u64 {
        self.regs.bytes + self.bufs.bytes + self.poll.bytes
    }
}

#[derive(Debug, Default)]
struct State {
    counts: Counts,
    last: HashMap<(u8, u16, usize), Vec<u8>>,
}

/// Shared counters of a [`Spy`].
#[derive(Clone, Debug, Default)]
pub struct Meter(Arc<Mutex<State>>);

impl Meter {
    /// The counts so far.
    pub fn counts(&self) -> Counts {
        self.0.lock().map(|s| s.counts).unwrap_or_default()
    }
    /// Start counting afresh (the memory of previous status values is kept).
    pub fn reset(&self) {
        if let Ok(mut s) = self.0.lock() {
            s.counts = Counts::default();
        }
    }
}

/// The spying SPI device.
#[derive(Debug)]
pub struct Spy<D> {
    inner: D,
    meter: Meter,
}

impl<D> Spy<D> {
    /// Wrap `inner`; counts go to `meter`.
    pub fn new(inner: D, meter: Meter) -> Self {
        Spy { inner, meter }
    }
}

impl<D: ErrorType> ErrorType for Spy<D> {
    type Error = D::Error;
}

/// Is a read of `len` bytes at `addr` of block `bsb` a status read?
fn is_status(bsb: u8, addr: u16, len: usize) -> bool {
    let end = addr.saturating_add(len as u16);
    let within = |lo: u16, hi: u16| addr >= lo && end <= hi;
    if bsb == 0 {
        // IR, IMR, SIR, SIMR / PHYCFGR.
        within(0x15, 0x19) || within(0x2E, 0x2F)
    } else if bsb & 3 == 1 {
        // Sn_CR, Sn_IR, Sn_SR / Sn_TX_FSR .. Sn_RX_WR.
        within(0x01, 0x04) || within(0x20, 0x2C)
    } else {
        false
    }
}

impl<D: SpiDevice> SpiDevice for Spy<D> {
    fn transaction(&mut self, ops: &mut [Operation<'_, u8>]) -> Result<(), Self::Error> {
        // The SPI device and the simulated chip are not driver code (CPU measurement).
        crate::mark::excl(|| self.account(ops))
    }
}

impl<D: SpiDevice> Spy<D> {
    fn account(&mut self, ops: &mut [Operation<'_, u8>]) -> Result<(), D::Error> {
        self.inner.transaction(ops)?;
        // Rebuild the frame: header from the first bytes written, then the data phase.
        let mut header = Vec::with_capacity(3);
        let mut total = 0u64;
        let mut read: Vec<u8> = Vec::new();
        for op in ops.iter() {
            match op {
                Operation::Write(w) => {
                    for &b in w.iter() {
                        if header.len() < 3 {
                            header.push(b);
                        }
                    }
                    total += w.len() as u64;
                }
                Operation::Read(r) => {
                    total += r.len() as u64;
                    read.extend_from_slice(r);
                }
                Operation::Transfer(r, w) => {
                    total += r.len().max(w.len()) as u64;
                    read.extend_from_slice(r);
                }
                Operation::TransferInPlace(b) => {
                    total += b.len() as u64;
                    read.extend_from_slice(b);
                }
                Operation::DelayNs(_) => {}
            }
        }
        let Ok(mut st) = self.meter.0.lock() else {
            return Ok(());
        };
        if header.len() < 3 {
            st.counts.regs.add(total);
            return Ok(());
        }
        let addr = u16::from_be_bytes([header[0], header[1]]);
        let bsb = header[2] >> 3;
        let write = header[2] & 0x04 != 0;
        if bsb != 0 && bsb & 3 != 1 {
            st.counts.bufs.add(total);
            return Ok(());
        }
        if write || !is_status(bsb, addr, read.len()) {
            if write && bsb & 3 == 1 && addr == 0x01 {
                // A command: the next Sn_CR read that finds 0 is its acceptance.
                st.last.insert((bsb, 0x01, 1), vec![0xFF]);
            }
            st.counts.regs.add(total);
            return Ok(());
        }
        let key = (bsb, addr, read.len());
        let nothing_new = if bsb & 3 == 1 && addr == 0x01 && read.len() == 1 {
            read[0] != 0 || st.last.get(&key).is_some_and(|v| v == &read)
        } else {
            st.last.get(&key).is_some_and(|v| v == &read)
        };
        st.last.insert(key, read);
        if nothing_new {
            st.counts.poll.add(total);
        } else {
            st.counts.regs.add(total);
        }
        Ok(())
    }
}
