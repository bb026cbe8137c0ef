//! Chip bring-up and configuration: reset, the `VERSIONR` probe, soft reset, addresses, the
//! PHY, the socket buffer plan, retry timing and interrupt masks (datasheet §3.1, §5.5).

use core::net::Ipv4Addr;

use embedded_hal::delay::DelayNs;
use embedded_hal::digital::OutputPin;
use embedded_hal::spi::SpiDevice;
use w5500_regs::{
    check_buffer_plan, common, sn, Block, BufferSize, Interrupt, Mode, PhyCfg, PhyMode, Sn,
    SocketSet, CHIP_VERSION,
};

use crate::bus::Bus;
use crate::error::{Error, Result};

/// RSTn is held low this long (the datasheet's minimum is 500 µs, §5.5.1 `Trc`).
pub const RESET_PULSE_US: u32 = 1_000;
/// Wait after RSTn rises before the first access (PLL lock, §5.5.1 `Tpl` = 1 ms).
pub const PLL_LOCK_US: u32 = 1_000;
/// `VERSIONR` is polled this many times, [`PROBE_INTERVAL_US`] apart, before the chip is
/// declared absent: some parts read 0x00 for a while after reset.
pub const PROBE_TRIES: u32 = 100;
/// Interval between `VERSIONR` polls.
pub const PROBE_INTERVAL_US: u32 = 1_000;
/// `MR.RST` is polled this many times, 1 ms apart, after a soft reset.
pub const SOFT_RESET_TRIES: u32 = 20;

/// How the chip is set up at start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `SHAR`: the MAC address (the chip has none of its own).
    pub mac: [u8; 6],
    /// `SIPR`: our IPv4 address (0.0.0.0 until DHCP or static configuration sets one).
    pub ip: Ipv4Addr,
    /// `SUBR`.
    pub netmask: Ipv4Addr,
    /// `GAR`.
    pub gateway: Ipv4Addr,
    /// `Sn_TXBUF_SIZE` for each socket; valid sizes, at most 16 KB in total.
    pub tx_buf: [BufferSize; 8],
    /// `Sn_RXBUF_SIZE` for each socket; same rule.
    pub rx_buf: [BufferSize; 8],
    /// `RTR`: retry time in units of 100 µs (reset 2000 = 200 ms).
    pub retry_time: u16,
    /// `RCR`: retry count (reset 8).
    pub retry_count: u8,
    /// `MR.PB`: do not answer ping.
    pub ping_block: bool,
}

impl Config {
    /// The chip's reset configuration with `mac` as its address: 2 KB per socket each way,
    /// 200 ms retry time, 8 retries, no IPv4 address yet.
    pub const fn new(mac: [u8; 6]) -> Self {
        Config {
            mac,
            ip: Ipv4Addr::UNSPECIFIED,
            netmask: Ipv4Addr::UNSPECIFIED,
            gateway: Ipv4Addr::UNSPECIFIED,
            tx_buf: [BufferSize::K2; 8],
            rx_buf: [BufferSize::K2; 8],
            retry_time: w5500_regs::reset::RTR,
            retry_count: w5500_regs::reset::RCR,
            ping_block: false,
        }
    }

    /// Checks what the chip would silently misbehave on: buffer sizes (§3.2: only 0/1/2/4/8/16
    /// KB, at most 16 KB per direction), a zero retry time, and a group MAC address.
    pub fn validate(&self) -> Result<()> {
        if check_buffer_plan(&self.tx_buf).is_none() || check_buffer_plan(&self.rx_buf).is_none() {
            return Err(Error::InvalidArgument);
        }
        if self.retry_time == 0 || self.mac[0] & 0x01 != 0 {
            return Err(Error::InvalidArgument);
        }
        Ok(())
    }
}

/// Link state from `PHYCFGR` (§3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhyStatus {
    /// `LNK`.
    pub link_up: bool,
    /// `SPD`: 100 Mbit/s, else 10.
    pub speed_100: bool,
    /// `DPX`: full duplex.
    pub full_duplex: bool,
}

/// The chip: its SPI bus plus bring-up and configuration.
///
/// Bring-up on the simulated chip, and what it programmed read back (datasheet §3.1):
///
/// ```
/// use std::net::Ipv4Addr;
/// use std::sync::{Arc, Mutex};
///
/// use w5500_driver::chip::{Chip, Config};
/// use w5500_driver::regs::CHIP_VERSION;
/// use w5500_sim::lan::{standard, Lan};
/// use w5500_sim::sim::Sim;
/// use w5500_sim::spi::SimSpiDevice;
/// use w5500_testkit::SimDelay;
///
/// let sim = Arc::new(Mutex::new(Sim::new(Lan::standard())));
/// let mut chip = Chip::new(SimSpiDevice::new(sim.clone()));
/// let mut config = Config::new([0x02, 0x08, 0xdc, 0x00, 0x00, 0x01]);
/// config.ip = Ipv4Addr::new(10, 77, 0, 50);
/// config.netmask = Ipv4Addr::new(255, 255, 255, 0);
/// config.gateway = standard::GATEWAY;
/// chip.init(&mut SimDelay(sim.clone()), &config)?;
///
/// assert_eq!(chip.version()?, CHIP_VERSION);
/// assert_eq!(chip.mac()?, config.mac);
/// assert_eq!(chip.ipv4()?, (config.ip, config.netmask, config.gateway));
/// assert!(chip.phy_status()?.link_up);
/// # Ok::<(), w5500_driver::Error>(())
/// ```
#[derive(Debug)]
pub struct Chip<SPI> {
    bus: Bus<SPI>,
    /// Per socket: the last command written to `Sn_CR` whose acceptance has not been seen
    /// yet (0: none). A new command on that socket waits for it first (see `crate::hw`).
    pending: [u8; 8],
    /// Sockets this driver closed last (CLOSE written, no OPEN since).
    closed: u8,
}

impl<SPI: SpiDevice> Chip<SPI> {
    /// A chip on `spi`. Nothing is sent until a method is called.
    pub fn new(spi: SPI) -> Self {
        Chip {
            bus: Bus::new(spi),
            pending: [0; 8],
            closed: 0,
        }
    }

    /// Register-level access, for the socket engine.
    pub fn bus(&mut self) -> &mut Bus<SPI> {
        &mut self.bus
    }

    /// The command written to socket `s` whose acceptance has not been seen yet (0: none).
    pub(crate) fn pending_command(&self, s: w5500_regs::Sn) -> u8 {
        self.pending.get(s.index()).copied().unwrap_or(0)
    }

    pub(crate) fn closed_by_us(&self, s: w5500_regs::Sn) -> bool {
        self.closed & (1 << s.index()) != 0
    }

    pub(crate) fn set_closed_by_us(&mut self, s: w5500_regs::Sn, closed: bool) {
        if closed {
            self.closed |= 1 << s.index();
        } else {
            self.closed &= !(1 << s.index());
        }
    }

    pub(crate) fn set_pending_command(&mut self, s: w5500_regs::Sn, cmd: u8) {
        if let Some(p) = self.pending.get_mut(s.index()) {
            *p = cmd;
        }
    }

    /// Give the SPI device back.
    pub fn release(self) -> SPI {
        self.bus.release()
    }

    /// Pulse RSTn low for [`RESET_PULSE_US`], release it and wait [`PLL_LOCK_US`].
    pub fn hardware_reset<P: OutputPin, D: DelayNs>(
        &mut self,
        rst: &mut P,
        delay: &mut D,
    ) -> Result<()> {
        rst.set_low().map_err(|_| Error::Pin)?;
        delay.delay_us(RESET_PULSE_US);
        rst.set_high().map_err(|_| Error::Pin)?;
        delay.delay_us(PLL_LOCK_US);
        Ok(())
    }

    /// Poll `VERSIONR` until it reads 0x04, at most [`PROBE_TRIES`] times.
    pub fn probe<D: DelayNs>(&mut self, delay: &mut D) -> Result<()> {
        let mut version = 0;
        for attempt in 0..PROBE_TRIES {
            if attempt > 0 {
                delay.delay_us(PROBE_INTERVAL_US);
            }
            version = self.bus.read_u8(Block::Common, common::VERSIONR)?;
            if version == CHIP_VERSION {
                return Ok(());
            }
        }
        Err(Error::ChipNotFound { version })
    }

    /// Soft reset (`MR.RST`): every register back to its reset value. Waits, bounded, for the
    /// bit to clear.
    pub fn soft_reset<D: DelayNs>(&mut self, delay: &mut D) -> Result<()> {
        self.bus
            .write_u8(Block::Common, common::MR, Mode::RST.bits())?;
        for _ in 0..SOFT_RESET_TRIES {
            delay.delay_us(1_000);
            let mr = self.bus.read_u8(Block::Common, common::MR)?;
            if mr & Mode::RST.bits() == 0 {
                return Ok(());
            }
        }
        Err(Error::ResetTimeout)
    }

    /// Bring the chip up: probe, soft reset, probe again, then program `config`. Call
    /// [`Chip::hardware_reset`] first when a reset pin is wired.
    pub fn init<D: DelayNs>(&mut self, delay: &mut D, config: &Config) -> Result<()> {
        config.validate()?;
        self.probe(delay)?;
        self.soft_reset(delay)?;
        self.probe(delay)?;
        self.configure(config)
    }

    /// Program addresses, buffer plan, retry timing and mode from `config`.
    pub fn configure(&mut self, config: &Config) -> Result<()> {
        config.validate()?;
        let mode = if config.ping_block {
            Mode::PB
        } else {
            Mode::empty()
        };
        self.bus.write_u8(Block::Common, common::MR, mode.bits())?;
        self.set_mac(config.mac)?;
        self.set_ipv4(config.ip, config.netmask, config.gateway)?;
        self.set_buffer_sizes(&config.tx_buf, &config.rx_buf)?;
        self.set_retry(config.retry_time, config.retry_count)
    }

    /// `SHAR`.
    pub fn set_mac(&mut self, mac: [u8; 6]) -> Result<()> {
        if mac[0] & 0x01 != 0 {
            return Err(Error::InvalidArgument);
        }
        self.bus.write(Block::Common, common::SHAR, &mac)
    }

    /// `SHAR` as the chip holds it.
    pub fn mac(&mut self) -> Result<[u8; 6]> {
        let mut m = [0u8; 6];
        self.bus.read(Block::Common, common::SHAR, &mut m)?;
        Ok(m)
    }

    /// `SIPR`, `SUBR` and `GAR`. `GAR` and `SUBR` are adjacent and go in one frame.
    pub fn set_ipv4(&mut self, ip: Ipv4Addr, netmask: Ipv4Addr, gateway: Ipv4Addr) -> Result<()> {
        let mut gs = [0u8; 8];
        gs[..4].copy_from_slice(&gateway.octets());
        gs[4..].copy_from_slice(&netmask.octets());
        self.bus.write(Block::Common, common::GAR, &gs)?;
        self.bus.write(Block::Common, common::SIPR, &ip.octets())
    }

    /// (`SIPR`, `SUBR`, `GAR`) as the chip holds them, read in one frame.
    pub fn ipv4(&mut self) -> Result<(Ipv4Addr, Ipv4Addr, Ipv4Addr)> {
        let mut b = [0u8; 18];
        self.bus.read(Block::Common, common::GAR, &mut b)?;
        let ip4 = |o: usize| Ipv4Addr::new(b[o], b[o + 1], b[o + 2], b[o + 3]);
        Ok((ip4(14), ip4(4), ip4(0)))
    }

    /// `Sn_TXBUF_SIZE` and `Sn_RXBUF_SIZE` for every socket, after checking the plan (§3.2).
    pub fn set_buffer_sizes(&mut self, tx: &[BufferSize; 8], rx: &[BufferSize; 8]) -> Result<()> {
        if check_buffer_plan(tx).is_none() || check_buffer_plan(rx).is_none() {
            return Err(Error::InvalidArgument);
        }
        for s in Sn::ALL {
            // RXBUF_SIZE (0x1E) and TXBUF_SIZE (0x1F) are adjacent.
            let sizes = [rx[s.index()].kb(), tx[s.index()].kb()];
            self.bus.write(Block::Socket(s), sn::RXBUF_SIZE, &sizes)?;
        }
        Ok(())
    }

    /// `RTR` (units of 100 µs) and `RCR`, in one frame.
    pub fn set_retry(&mut self, retry_time: u16, retry_count: u8) -> Result<()> {
        if retry_time == 0 {
            return Err(Error::InvalidArgument);
        }
        let t = retry_time.to_be_bytes();
        self.bus
            .write(Block::Common, common::RTR, &[t[0], t[1], retry_count])
    }

    /// (`RTR`, `RCR`).
    pub fn retry(&mut self) -> Result<(u16, u8)> {
        let mut b = [0u8; 3];
        self.bus.read(Block::Common, common::RTR, &mut b)?;
        Ok((u16::from_be_bytes([b[0], b[1]]), b[2]))
    }

    /// Link, speed and duplex from `PHYCFGR`.
    pub fn phy_status(&mut self) -> Result<PhyStatus> {
        let p = PhyCfg(self.bus.read_u8(Block::Common, common::PHYCFGR)?);
        Ok(PhyStatus {
            link_up: p.link_up(),
            speed_100: p.speed_100(),
            full_duplex: p.full_duplex(),
        })
    }

    /// Select a PHY mode through `OPMDC` (power-down included), then reset the PHY so it
    /// takes effect.
    pub fn set_phy_mode<D: DelayNs>(&mut self, mode: PhyMode, delay: &mut D) -> Result<()> {
        let cfg = PhyCfg::configure(mode);
        self.bus
            .write_u8(Block::Common, common::PHYCFGR, cfg.with_reset().0)?;
        delay.delay_us(1_000);
        self.bus.write_u8(Block::Common, common::PHYCFGR, cfg.0)
    }

    /// Reset the PHY, keeping its configuration: `RST` low, then high (§3.1 `PHYCFGR`).
    pub fn phy_reset<D: DelayNs>(&mut self, delay: &mut D) -> Result<()> {
        let cur = PhyCfg(self.bus.read_u8(Block::Common, common::PHYCFGR)?);
        let cfg = PhyCfg((cur.0 & 0x78) | 0x80);
        self.bus
            .write_u8(Block::Common, common::PHYCFGR, cfg.with_reset().0)?;
        delay.delay_us(1_000);
        self.bus.write_u8(Block::Common, common::PHYCFGR, cfg.0)
    }

    /// `IMR` and `SIMR`: which common and socket interrupts drive INTn.
    pub fn set_interrupt_masks(&mut self, imr: Interrupt, simr: SocketSet) -> Result<()> {
        self.bus.write_u8(Block::Common, common::IMR, imr.bits())?;
        self.bus.write_u8(Block::Common, common::SIMR, simr.bits())
    }

    /// `SIR` alone: which sockets have an event pending (one byte, for the service routine).
    pub fn socket_interrupts(&mut self) -> Result<SocketSet> {
        Ok(SocketSet::from_bits_retain(
            self.bus.read_u8(Block::Common, common::SIR)?,
        ))
    }

    /// `IR` and `SIR`, read in one frame (`IR`, `IMR`, `SIR` are adjacent).
    pub fn interrupts(&mut self) -> Result<(Interrupt, SocketSet)> {
        let mut b = [0u8; 3];
        self.bus.read(Block::Common, common::IR, &mut b)?;
        Ok((
            Interrupt::from_bits_retain(b[0]),
            SocketSet::from_bits_retain(b[2]),
        ))
    }

    /// `IR`, `IMR`, `SIR` and `SIMR`, read in one frame (`IR`, `IMR`, `SIR`, `SIMR` are adjacent):
    /// the service routine's per-pass read. `SIMR` comes along for one more byte and is the
    /// stack's chip-reset signature (its reset value is 0; the stack programs it non-zero).
    pub fn interrupt_state(&mut self) -> Result<(Interrupt, Interrupt, SocketSet, SocketSet)> {
        let mut b = [0u8; 4];
        self.bus.read(Block::Common, common::IR, &mut b)?;
        Ok((
            Interrupt::from_bits_retain(b[0]),
            Interrupt::from_bits_retain(b[1]),
            SocketSet::from_bits_retain(b[2]),
            SocketSet::from_bits_retain(b[3]),
        ))
    }

    /// `VERSIONR`, read once (no polling).
    pub fn version(&mut self) -> Result<u8> {
        self.bus.read_u8(Block::Common, common::VERSIONR)
    }

    /// `MR` as the chip holds it.
    pub fn mode(&mut self) -> Result<u8> {
        self.bus.read_u8(Block::Common, common::MR)
    }

    /// `MR`: written whole (the stack re-programs it after a chip reset).
    pub fn set_mode(&mut self, mode: u8) -> Result<()> {
        self.bus
            .write_u8(Block::Common, common::MR, mode & !Mode::RST.bits())
    }

    /// (`Sn_TXBUF_SIZE`, `Sn_RXBUF_SIZE`) of every socket as the chip holds them; a value the
    /// chip would not accept reads as 0 KB.
    pub fn buffer_sizes(&mut self) -> Result<([BufferSize; 8], [BufferSize; 8])> {
        let mut tx = [BufferSize::K0; 8];
        let mut rx = [BufferSize::K0; 8];
        for s in Sn::ALL {
            let mut b = [0u8; 2];
            self.bus.read(Block::Socket(s), sn::RXBUF_SIZE, &mut b)?;
            rx[s.index()] = BufferSize::from_kb(b[0]).unwrap_or(BufferSize::K0);
            tx[s.index()] = BufferSize::from_kb(b[1]).unwrap_or(BufferSize::K0);
        }
        Ok((tx, rx))
    }

    /// Clear `IR` bits (write 1 to clear).
    pub fn clear_interrupts(&mut self, bits: Interrupt) -> Result<()> {
        self.bus.write_u8(Block::Common, common::IR, bits.bits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_hal_mock::eh1::delay::NoopDelay;
    use embedded_hal_mock::eh1::spi::{Mock, Transaction as T};

    fn read(h: [u8; 3], data: &[u8]) -> [T<u8>; 4] {
        [
            T::transaction_start(),
            T::write_vec(h.to_vec()),
            T::read_vec(data.to_vec()),
            T::transaction_end(),
        ]
    }

    fn write(h: [u8; 3], data: &[u8]) -> [T<u8>; 4] {
        [
            T::transaction_start(),
            T::write_vec(h.to_vec()),
            T::write_vec(data.to_vec()),
            T::transaction_end(),
        ]
    }

    #[test]
    fn ds_3_1_versionr_polled_until_0x04() {
        // Some parts read 0x00 right after reset; the probe must not fail on the first read.
        let mut s = Vec::new();
        s.extend(read([0, 0x39, 0], &[0x00]));
        s.extend(read([0, 0x39, 0], &[0x00]));
        s.extend(read([0, 0x39, 0], &[0x04]));
        let mut spi = Mock::new(&s);
        let mut chip = Chip::new(spi.clone());
        chip.probe(&mut NoopDelay).unwrap();
        spi.done();
    }

    #[test]
    fn ds_3_1_absent_chip_is_a_clear_error_after_a_bounded_probe() {
        let mut s = Vec::new();
        for _ in 0..PROBE_TRIES {
            s.extend(read([0, 0x39, 0], &[0xff]));
        }
        let mut spi = Mock::new(&s);
        let mut chip = Chip::new(spi.clone());
        assert_eq!(
            chip.probe(&mut NoopDelay),
            Err(Error::ChipNotFound { version: 0xff })
        );
        spi.done();
    }

    #[test]
    fn ds_3_1_soft_reset_waits_for_rst_to_clear_with_a_bound() {
        let mut s = Vec::new();
        s.extend(write([0, 0, 0x04], &[0x80]));
        for _ in 0..SOFT_RESET_TRIES {
            s.extend(read([0, 0, 0], &[0x80]));
        }
        let mut spi = Mock::new(&s);
        let mut chip = Chip::new(spi.clone());
        assert_eq!(chip.soft_reset(&mut NoopDelay), Err(Error::ResetTimeout));
        spi.done();
    }

    #[test]
    fn ds_3_2_invalid_buffer_plans_are_refused_before_any_write() {
        let mut spi = Mock::new(&[]);
        let mut chip = Chip::new(spi.clone());
        let big = [BufferSize::K4; 8];
        assert_eq!(
            chip.set_buffer_sizes(&big, &[BufferSize::K2; 8]),
            Err(Error::InvalidArgument)
        );
        let mut c = Config::new([0x02, 0, 0, 0, 0, 1]);
        c.retry_time = 0;
        assert_eq!(c.validate(), Err(Error::InvalidArgument));
        assert_eq!(
            Config::new([0x01, 0, 0, 0, 0, 1]).validate(),
            Err(Error::InvalidArgument)
        );
        spi.done();
    }

    #[test]
    fn ds_3_1_ipv4_setup_batches_gar_and_subr() {
        let mut s = Vec::new();
        s.extend(write([0, 0x01, 0x04], &[10, 77, 0, 1, 255, 255, 255, 0]));
        s.extend(write([0, 0x0f, 0x04], &[10, 77, 0, 2]));
        let mut spi = Mock::new(&s);
        let mut chip = Chip::new(spi.clone());
        chip.set_ipv4(
            Ipv4Addr::new(10, 77, 0, 2),
            Ipv4Addr::new(255, 255, 255, 0),
            Ipv4Addr::new(10, 77, 0, 1),
        )
        .unwrap();
        spi.done();
    }

    #[test]
    fn ds_3_1_phy_reset_never_writes_reserved_status_bits() {
        let mut s = Vec::new();
        s.extend(read([0, 0x2e, 0], &[0b1011_1111]));
        s.extend(write([0, 0x2e, 0x04], &[0b0011_1000]));
        s.extend(write([0, 0x2e, 0x04], &[0b1011_1000]));
        let mut spi = Mock::new(&s);
        let mut chip = Chip::new(spi.clone());
        chip.phy_reset(&mut NoopDelay).unwrap();
        spi.done();
    }
}
