//! The simulator facade: one chip, the network behind its PHY, the clock, faults and SPI
//! accounting.
//!
//! # Time
//! In the default simulated mode the test owns the clock: each SPI byte advances it by its
//! wire time per [`SpiTiming`] (sub-µs remainders are kept in nanoseconds), plus the chip-select
//! overhead split before the first and after the last byte; [`Sim::advance`],
//! [`Sim::advance_to`] and [`Sim::advance_to_next_event`] move it explicitly. Every timer and
//! every frame is processed in time order. With [`SimConfig::torn_reads`] (on by default) the
//! engine also runs *between the bytes of one burst*, so a frame arriving between the two
//! bytes of `Sn_RX_RSR` changes the value mid-read exactly as DS p.54–55 warns; the outcome is
//! deterministic because it depends only on simulated time.
//!
//! With `std`, [`ClockMode::WallClock`] makes the clock the host's monotonic time since
//! creation; every transaction and every query steps the chip to that time.

use core::time::Duration;

use embedded_hal::spi::Operation;

use crate::chip::{Chip, ChipConfig, Faults, Violation};
use crate::net::Network;
use crate::spi::{Framer, SimError, SpiStats};
use crate::time::{Instant, SpiTiming};

/// Where the clock comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClockMode {
    /// The test owns time (deterministic).
    #[default]
    Simulated,
    /// Host monotonic time since the simulator was created.
    #[cfg(feature = "std")]
    WallClock,
}

/// Simulator settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimConfig {
    /// SPI clock and chip-select overhead (simulated clock only).
    pub timing: SpiTiming,
    /// The chip's timing choices.
    pub chip: ChipConfig,
    /// Run the engine between the bytes of a burst, so 16-bit reads can tear (default true).
    pub torn_reads: bool,
    /// Simulated or wall clock.
    pub clock: ClockMode,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            timing: SpiTiming::DEFAULT,
            chip: ChipConfig::default(),
            torn_reads: true,
            clock: ClockMode::Simulated,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Txn {
    start_ns: u64,
    bytes: u64,
    extra_ns: u64,
}

/// Most engine steps one call may take (a guard against a network that never settles).
const MAX_STEPS: usize = 1_000_000;

/// A simulated W5500 with its network.
pub struct Sim<N: Network> {
    chip: Chip,
    net: N,
    config: SimConfig,
    clock_ns: u64,
    engine_now: Instant,
    framer: Framer,
    txn: Option<Txn>,
    stats: SpiStats,
    #[cfg(feature = "std")]
    wall_start: std::time::Instant,
}

impl<N: Network> Sim<N> {
    /// A powered chip, out of reset, link up, on a simulated clock at 0.
    pub fn new(net: N) -> Self {
        Self::with_config(net, SimConfig::default())
    }

    /// As [`Sim::new`] with explicit settings.
    pub fn with_config(net: N, config: SimConfig) -> Self {
        Sim {
            chip: Chip::new(config.chip),
            net,
            config,
            clock_ns: 0,
            engine_now: Instant::ZERO,
            framer: Framer::default(),
            txn: None,
            stats: SpiStats::default(),
            #[cfg(feature = "std")]
            wall_start: std::time::Instant::now(),
        }
    }

    /// The settings in use.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// Turn the mid-burst engine steps (torn 16-bit reads) on or off.
    pub fn set_torn_reads(&mut self, on: bool) {
        self.config.torn_reads = on;
    }

    // ----- clock ------------------------------------------------------------------------

    fn wall(&self) -> bool {
        #[cfg(feature = "std")]
        {
            self.config.clock == ClockMode::WallClock
        }
        #[cfg(not(feature = "std"))]
        {
            false
        }
    }

    fn sync_wall(&mut self) {
        #[cfg(feature = "std")]
        if self.wall() {
            let ns = u64::try_from(self.wall_start.elapsed().as_nanos()).unwrap_or(u64::MAX);
            self.clock_ns = self.clock_ns.max(ns);
        }
    }

    /// The current instant (simulated, or host time since creation in wall-clock mode).
    pub fn now(&self) -> Instant {
        #[cfg(feature = "std")]
        if self.wall() {
            let ns = u64::try_from(self.wall_start.elapsed().as_nanos()).unwrap_or(u64::MAX);
            return Instant::from_micros(self.clock_ns.max(ns) / 1000);
        }
        Instant::from_micros(self.clock_ns / 1000)
    }

    fn clock_now(&self) -> Instant {
        Instant::from_micros(self.clock_ns / 1000)
    }

    /// The earlier of the chip's and the network's next event.
    pub fn next_event(&self) -> Option<Instant> {
        match (self.chip.next_event(), self.net.next_event()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Let `d` pass (in wall-clock mode: sleep for `d`), processing everything due.
    pub fn advance(&mut self, d: Duration) {
        #[cfg(feature = "std")]
        if self.wall() {
            std::thread::sleep(d);
            self.sync_wall();
            self.run_until(self.clock_now());
            return;
        }
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.clock_ns = self.clock_ns.saturating_add(ns);
        self.run_until(self.clock_now());
    }

    /// Move the clock to `t` (never backwards), processing everything due.
    pub fn advance_to(&mut self, t: Instant) {
        let ns = t.as_micros().saturating_mul(1000);
        if ns > self.clock_ns {
            self.advance(Duration::from_nanos(ns - self.clock_ns));
        } else {
            self.sync_wall();
            self.run_until(self.clock_now());
        }
    }

    /// Jump to the next chip or network event and process it; returns the new instant, or
    /// `None` when nothing is scheduled.
    pub fn advance_to_next_event(&mut self) -> Option<Instant> {
        let t = self.next_event()?;
        self.advance_to(t);
        Some(self.now())
    }

    /// Process chip timers and network frames in time order up to `target`.
    fn run_until(&mut self, target: Instant) {
        let mut stalls = 0u32;
        for _ in 0..MAX_STEPS {
            let Some(e) = self.next_event() else {
                break;
            };
            if e > target {
                break;
            }
            let at = e.max(self.engine_now);
            self.engine_now = at;
            let before = (self.chip.next_event(), self.net.next_event());
            self.process(at);
            if (self.chip.next_event(), self.net.next_event()) == before {
                stalls += 1;
                if stalls > 8 {
                    break;
                }
            } else {
                stalls = 0;
            }
        }
        self.engine_now = self.engine_now.max(target);
        self.process(self.engine_now);
    }

    fn process(&mut self, at: Instant) {
        self.net.chip_address(self.chip.sipr());
        self.net.poll(at);
        for _ in 0..100_000 {
            let Some(f) = self.net.receive(at) else {
                break;
            };
            if self.chip.link_up(at) && self.chip.accessible(at) {
                self.chip.on_frame(at, f);
                self.flush(at);
            }
        }
        self.chip.run_timers(at);
        self.flush(at);
    }

    fn flush(&mut self, at: Instant) {
        let up = self.chip.link_up(at);
        while let Some(f) = self.chip.outbox.pop_front() {
            if up {
                self.net.transmit(at, f);
            }
        }
    }

    // ----- SPI --------------------------------------------------------------------------

    /// True while chip select is asserted.
    pub fn is_selected(&self) -> bool {
        self.txn.is_some()
    }

    /// Assert chip select: a new SPI frame begins.
    pub fn select(&mut self) -> Result<(), SimError> {
        if self.txn.is_some() {
            return Err(SimError::AlreadySelected);
        }
        self.sync_wall();
        self.run_until(self.clock_now());
        self.txn = Some(Txn {
            start_ns: self.clock_ns,
            bytes: 0,
            extra_ns: 0,
        });
        self.framer.begin();
        self.stats.transactions = self.stats.transactions.saturating_add(1);
        Ok(())
    }

    /// Release chip select: the frame ends; the clock moves past the transaction's wire time.
    pub fn deselect(&mut self) {
        let Some(t) = self.txn.take() else {
            return;
        };
        if self.wall() {
            self.sync_wall();
        } else {
            let end = t
                .start_ns
                .saturating_add(t.extra_ns)
                .saturating_add(self.config.timing.transaction_ns(t.bytes as usize));
            self.clock_ns = self.clock_ns.max(end);
        }
        let now = self.clock_now();
        self.run_until(now);
        self.framer.end(&mut self.chip, &mut self.stats, now);
    }

    fn byte_ns(&self, i: u64) -> u64 {
        let hz = u64::from(self.config.timing.sck_hz.max(1));
        i.saturating_mul(8_000_000_000) / hz
    }

    /// Clock one byte while selected (MISO returned); while deselected MISO floats (0xFF).
    pub(crate) fn bus_byte(&mut self, mosi: u8) -> u8 {
        let Some(t) = self.txn else {
            return 0xFF;
        };
        if self.wall() {
            self.sync_wall();
        } else {
            let at = t
                .start_ns
                .saturating_add(u64::from(self.config.timing.cs_overhead_ns) / 2)
                .saturating_add(t.extra_ns)
                .saturating_add(self.byte_ns(t.bytes));
            self.clock_ns = self.clock_ns.max(at);
        }
        let now = self.clock_now();
        if self.config.torn_reads {
            self.run_until(now);
        }
        let miso = self.framer.byte(mosi, &mut self.chip, &mut self.stats, now);
        if let Some(t) = self.txn.as_mut() {
            t.bytes = t.bytes.saturating_add(1);
        }
        miso
    }

    /// Full-duplex transfer of `buf` within the current chip-select frame.
    pub fn transfer_in_place(&mut self, buf: &mut [u8]) {
        for b in buf.iter_mut() {
            *b = self.bus_byte(*b);
        }
    }

    fn delay_in_txn(&mut self, ns: u32) {
        #[cfg(feature = "std")]
        if self.wall() {
            std::thread::sleep(Duration::from_nanos(u64::from(ns)));
            self.sync_wall();
            return;
        }
        if let Some(t) = self.txn.as_mut() {
            t.extra_ns = t.extra_ns.saturating_add(u64::from(ns));
        } else {
            self.clock_ns = self.clock_ns.saturating_add(u64::from(ns));
        }
    }

    /// One chip-select frame running embedded-hal operations (Read clocks out 0x00; Transfer
    /// pads the shorter side with 0x00 / discards; DelayNs advances the clock).
    pub fn transaction(&mut self, ops: &mut [Operation<'_, u8>]) -> Result<(), SimError> {
        self.select()?;
        for op in ops.iter_mut() {
            match op {
                Operation::Read(buf) => {
                    for b in buf.iter_mut() {
                        *b = self.bus_byte(0);
                    }
                }
                Operation::Write(buf) => {
                    for &b in buf.iter() {
                        self.bus_byte(b);
                    }
                }
                Operation::Transfer(read, write) => {
                    let n = read.len().max(write.len());
                    for i in 0..n {
                        let m = self.bus_byte(write.get(i).copied().unwrap_or(0));
                        if let Some(r) = read.get_mut(i) {
                            *r = m;
                        }
                    }
                }
                Operation::TransferInPlace(buf) => self.transfer_in_place(buf),
                Operation::DelayNs(ns) => self.delay_in_txn(*ns),
            }
        }
        self.deselect();
        Ok(())
    }

    /// Convenience: read `buf.len()` bytes at `addr` of block `bsb` in one VDM frame.
    pub fn read_block(&mut self, bsb: u8, addr: u16, buf: &mut [u8]) -> Result<(), SimError> {
        let [h, l] = addr.to_be_bytes();
        let hdr = [h, l, (bsb & 0x1f) << 3];
        let mut ops = [Operation::Write(&hdr), Operation::Read(buf)];
        self.transaction(&mut ops)
    }

    /// Convenience: write `data` at `addr` of block `bsb` in one VDM frame.
    pub fn write_block(&mut self, bsb: u8, addr: u16, data: &[u8]) -> Result<(), SimError> {
        let [h, l] = addr.to_be_bytes();
        let hdr = [h, l, ((bsb & 0x1f) << 3) | 0x04];
        let mut ops = [Operation::Write(&hdr), Operation::Write(data)];
        self.transaction(&mut ops)
    }

    // ----- pins and faults --------------------------------------------------------------

    /// The INTn level: true while asserted (pin low).
    pub fn int_asserted(&mut self) -> bool {
        if self.wall() {
            self.sync_wall();
            self.run_until(self.clock_now());
        }
        self.chip.int_asserted()
    }

    /// Drive RSTn (`low = true` holds the chip in reset; ≥ 500 µs then release resets it).
    pub fn set_reset_pin(&mut self, low: bool) {
        self.sync_wall();
        let now = self.clock_now();
        self.run_until(now);
        self.chip.set_reset_pin(now, low);
    }

    /// A complete RSTn pulse at the current instant: every register back to its reset value,
    /// sockets closed, PHY restarted; SPI works again 1 ms later (PLL lock).
    pub fn hardware_reset(&mut self) {
        self.sync_wall();
        let now = self.clock_now();
        self.run_until(now);
        self.chip.hardware_reset(now);
    }

    /// Brown-out: same effect as [`Sim::hardware_reset`], injected as a fault.
    pub fn inject_brown_out(&mut self) {
        self.hardware_reset();
    }

    /// Set `Sn_IR` bits of socket `n` with no cause (spurious interrupt).
    pub fn inject_spurious_interrupt(&mut self, n: usize, bits: u8) {
        self.chip.spurious_interrupt(n, bits);
    }

    /// The injected faults.
    pub fn faults(&self) -> &Faults {
        &self.chip.faults
    }

    /// Change the injected faults.
    pub fn faults_mut(&mut self) -> &mut Faults {
        &mut self.chip.faults
    }

    // ----- accounting and inspection ----------------------------------------------------

    /// SPI accounting since creation or the last [`Sim::reset_stats`].
    pub fn stats(&self) -> &SpiStats {
        &self.stats
    }

    /// Zero the SPI accounting.
    pub fn reset_stats(&mut self) {
        self.stats = SpiStats::default();
    }

    /// Driver misuse recorded so far.
    pub fn violations(&self) -> &[Violation] {
        self.chip.violations()
    }

    /// Forget recorded violations.
    pub fn clear_violations(&mut self) {
        self.chip.clear_violations();
    }

    /// The network behind the PHY.
    pub fn network(&self) -> &N {
        &self.net
    }

    /// The network behind the PHY, mutably (to script peers).
    pub fn network_mut(&mut self) -> &mut N {
        &mut self.net
    }

    /// The chip, for inspection without SPI accounting.
    pub fn chip(&self) -> &Chip {
        &self.chip
    }

    /// Peek a common register byte (no accounting, no side effects).
    pub fn peek_common(&self, addr: u16) -> u8 {
        self.chip.peek_common(addr, self.clock_now())
    }

    /// Peek a socket register byte (no accounting, no side effects).
    pub fn peek_socket(&self, n: usize, off: u16) -> u8 {
        self.chip.peek_socket(n, off)
    }

    /// Peek a 16-bit socket register.
    pub fn peek_socket16(&self, n: usize, off: u16) -> u16 {
        self.chip.peek_socket16(n, off)
    }
}

impl<N: Network + core::fmt::Debug> core::fmt::Debug for Sim<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Sim")
            .field("now", &self.clock_now())
            .field("net", &self.net)
            .finish_non_exhaustive()
    }
}
