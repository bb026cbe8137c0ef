//! Simulated time.
//!
//! Everything inside the simulator runs on [`Instant`], a count of microseconds since the
//! simulated chip was powered. In the default *simulated* clock mode the test owns time: it
//! advances only when SPI transactions are clocked (each one costs its wire time, see
//! [`SpiTiming`]) or when the test asks for it, so a 31.8 s TCP retransmission timeout costs
//! microseconds of test time and every run is deterministic. In *wall-clock* mode (`std`) the
//! simulator reads the host's monotonic clock instead, which is what the host-socket backend and
//! the bridge need.

use core::fmt;
use core::ops::{Add, AddAssign, Sub};
use core::time::Duration;

/// A point in simulated time: microseconds since power-on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// Power-on.
    pub const ZERO: Instant = Instant(0);

    /// An instant `us` microseconds after power-on.
    pub const fn from_micros(us: u64) -> Self {
        Instant(us)
    }

    /// An instant `ms` milliseconds after power-on.
    pub const fn from_millis(ms: u64) -> Self {
        Instant(ms.saturating_mul(1000))
    }

    /// Microseconds since power-on.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// Milliseconds since power-on (rounded down).
    pub const fn as_millis(self) -> u64 {
        self.0 / 1000
    }

    /// Time from `earlier` to `self`, or zero when `earlier` is later.
    pub fn saturating_since(self, earlier: Instant) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(micros(d)))
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_since(earlier)
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}s", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

/// What one SPI transaction costs in simulated time: `bytes * 8 / sck_hz` plus a fixed
/// chip-select overhead. Only used by the simulated clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpiTiming {
    /// SPI clock in Hz (the W5500 is specified up to 80 MHz).
    pub sck_hz: u32,
    /// Time between chip-select edges and the first/after the last clock, in nanoseconds.
    pub cs_overhead_ns: u32,
}

impl SpiTiming {
    /// 20 MHz with 1 µs of chip-select overhead: a typical Cortex-M setup.
    pub const DEFAULT: SpiTiming = SpiTiming {
        sck_hz: 20_000_000,
        cs_overhead_ns: 1_000,
    };

    /// Simulated duration of a transaction that clocks `bytes` bytes, in nanoseconds.
    pub fn transaction_ns(&self, bytes: usize) -> u64 {
        let bits = (bytes as u64).saturating_mul(8);
        let hz = u64::from(self.sck_hz.max(1));
        bits.saturating_mul(1_000_000_000) / hz + u64::from(self.cs_overhead_ns)
    }
}

impl Default for SpiTiming {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instant_arithmetic_saturates() {
        let t = Instant::from_millis(5);
        assert_eq!(t.as_micros(), 5000);
        assert_eq!((t + Duration::from_micros(7)).as_micros(), 5007);
        assert_eq!(Instant::ZERO - t, Duration::ZERO);
        assert_eq!(t - Instant::ZERO, Duration::from_millis(5));
        assert_eq!(format!("{}", Instant::from_micros(1_500_002)), "1.500002s");
    }

    #[test]
    fn transaction_cost_follows_clock() {
        let t = SpiTiming {
            sck_hz: 8_000_000,
            cs_overhead_ns: 0,
        };
        // 4 bytes = 32 bits at 8 MHz = 4 µs.
        assert_eq!(t.transaction_ns(4), 4_000);
        assert_eq!(SpiTiming::DEFAULT.transaction_ns(0), 1_000);
    }
}
