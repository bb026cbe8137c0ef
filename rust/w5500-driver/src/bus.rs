//! SPI framing: every register and buffer access is one chip-select frame in variable-length
//! mode (datasheet §2.2): 16-bit offset, control byte, then the data phase.

use embedded_hal::spi::{Operation, SpiDevice};
use w5500_regs::{header, Access, Block};

use crate::error::{Error, Result};

/// How many times a 16-bit size register is re-read before giving up on two equal reads.
pub const STABLE_READ_TRIES: usize = 8;

/// The chip at the end of an SPI device, addressed by block and offset.
///
/// One register read is one SPI frame: the 3-byte header (datasheet §2.2) and the data.
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// use w5500_driver::bus::Bus;
/// use w5500_driver::regs::{common, Block, CHIP_VERSION};
/// use w5500_sim::lan::Lan;
/// use w5500_sim::sim::Sim;
/// use w5500_sim::spi::SimSpiDevice;
///
/// let sim = Arc::new(Mutex::new(Sim::new(Lan::standard())));
/// let mut bus = Bus::new(SimSpiDevice::new(sim.clone()));
/// assert_eq!(bus.read_u8(Block::Common, common::VERSIONR)?, CHIP_VERSION);
/// // RTR (retry time, 100 µs units) after reset: 2000 = 200 ms.
/// assert_eq!(bus.read_u16(Block::Common, common::RTR)?, 2000);
/// # Ok::<(), w5500_driver::Error>(())
/// ```
#[derive(Debug)]
pub struct Bus<SPI> {
    spi: SPI,
}

impl<SPI: SpiDevice> Bus<SPI> {
    /// Wrap an SPI device whose chip select frames one transaction.
    pub fn new(spi: SPI) -> Self {
        Bus { spi }
    }

    /// Give the SPI device back.
    pub fn release(self) -> SPI {
        self.spi
    }

    /// Read `buf.len()` bytes from `addr` in `block` (burst, auto-increment).
    pub fn read(&mut self, block: Block, addr: u16, buf: &mut [u8]) -> Result<()> {
        let h = header(addr, block, Access::Read);
        self.spi
            .transaction(&mut [Operation::Write(&h), Operation::Read(buf)])
            .map_err(Error::from)
    }

    /// Read `a.len()` then `b.len()` bytes from `addr` in `block`, in one frame.
    pub fn read2(&mut self, block: Block, addr: u16, a: &mut [u8], b: &mut [u8]) -> Result<()> {
        let h = header(addr, block, Access::Read);
        self.spi
            .transaction(&mut [Operation::Write(&h), Operation::Read(a), Operation::Read(b)])
            .map_err(Error::from)
    }

    /// Write `data` at `addr` in `block` (burst, auto-increment).
    pub fn write(&mut self, block: Block, addr: u16, data: &[u8]) -> Result<()> {
        let h = header(addr, block, Access::Write);
        self.spi
            .transaction(&mut [Operation::Write(&h), Operation::Write(data)])
            .map_err(Error::from)
    }

    /// Read one byte.
    pub fn read_u8(&mut self, block: Block, addr: u16) -> Result<u8> {
        let mut b = [0u8; 1];
        self.read(block, addr, &mut b)?;
        Ok(b[0])
    }

    /// Write one byte.
    pub fn write_u8(&mut self, block: Block, addr: u16, v: u8) -> Result<()> {
        self.write(block, addr, &[v])
    }

    /// Read a big-endian 16-bit register.
    pub fn read_u16(&mut self, block: Block, addr: u16) -> Result<u16> {
        let mut b = [0u8; 2];
        self.read(block, addr, &mut b)?;
        Ok(u16::from_be_bytes(b))
    }

    /// Write a big-endian 16-bit register.
    pub fn write_u16(&mut self, block: Block, addr: u16, v: u16) -> Result<()> {
        self.write(block, addr, &v.to_be_bytes())
    }

    /// Read a 16-bit register the chip may update between its two bytes (`Sn_TX_FSR`,
    /// `Sn_RX_RSR`): re-read until two consecutive reads agree, as datasheet §3.2 asks. After
    /// [`STABLE_READ_TRIES`] reads without agreement, the last value is returned: for these
    /// registers, which only grow between the host's own commands, a torn value is smaller
    /// than the true one, so using it is safe (the host moves fewer bytes, never too many).
    pub fn read_u16_stable(&mut self, block: Block, addr: u16) -> Result<u16> {
        let mut prev = self.read_u16(block, addr)?;
        for _ in 1..STABLE_READ_TRIES {
            let next = self.read_u16(block, addr)?;
            if next == prev {
                return Ok(next);
            }
            prev = next;
        }
        Ok(prev)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_hal_mock::eh1::spi::{Mock, Transaction as T};
    use w5500_regs::{common, sn, Sn};

    #[test]
    fn ds_2_2_vdm_read_is_header_then_data() {
        let mut spi = Mock::new(&[
            T::transaction_start(),
            T::write_vec(vec![0x00, 0x39, 0x00]),
            T::read(0x04),
            T::transaction_end(),
        ]);
        let mut bus = Bus::new(spi.clone());
        assert_eq!(bus.read_u8(Block::Common, common::VERSIONR).unwrap(), 0x04);
        spi.done();
    }

    #[test]
    fn ds_2_2_vdm_write_socket_register() {
        // Write Sn_PORT of socket 2: control byte 0x0C + 0x20*2 = 0x4C.
        let mut spi = Mock::new(&[
            T::transaction_start(),
            T::write_vec(vec![0x00, 0x04, 0x4c]),
            T::write_vec(vec![0x1f, 0x90]),
            T::transaction_end(),
        ]);
        let mut bus = Bus::new(spi.clone());
        bus.write_u16(Block::Socket(Sn::Sn2), sn::PORT, 8080)
            .unwrap();
        spi.done();
    }

    fn read16(value: u16) -> [T<u8>; 4] {
        [
            T::transaction_start(),
            T::write_vec(vec![0x00, 0x26, 0x08]),
            T::read_vec(value.to_be_bytes().to_vec()),
            T::transaction_end(),
        ]
    }

    #[test]
    fn ds_3_2_rsr_is_read_until_two_reads_agree() {
        // First read is torn (0x0100 -> 0x00ff seen as 0x0000... then settles): three reads.
        let mut script = Vec::new();
        script.extend(read16(0x0000));
        script.extend(read16(0x0100));
        script.extend(read16(0x0100));
        let mut spi = Mock::new(&script);
        let mut bus = Bus::new(spi.clone());
        let v = bus
            .read_u16_stable(Block::Socket(Sn::Sn0), sn::RX_RSR)
            .unwrap();
        assert_eq!(v, 0x0100);
        spi.done();
    }

    #[test]
    fn stable_read_is_bounded_when_value_never_settles() {
        let mut script = Vec::new();
        for i in 0..STABLE_READ_TRIES as u16 {
            script.extend(read16(i));
        }
        let mut spi = Mock::new(&script);
        let mut bus = Bus::new(spi.clone());
        let v = bus
            .read_u16_stable(Block::Socket(Sn::Sn0), sn::RX_RSR)
            .unwrap();
        assert_eq!(v, STABLE_READ_TRIES as u16 - 1);
        spi.done();
    }
}
