//! Host-side harness for the driver: its [`Os`] interface implemented on the W5500 simulator,
//! and rigs that bring a simulated chip up on a network.
//!
//! [`SimOs`] reads time from the simulator. With the simulated clock, a wait that nobody ends
//! advances the simulator to its next event (or the deadline), so a 30 s timeout costs
//! microseconds; with the wall clock (real peers through `hostnet`), waits sleep. Either way
//! INTn is sampled after each advance and treated as the interrupt that ends waits.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use w5500_driver::bsd::{Bsd, Os};
use w5500_driver::chip::{Chip, Config};
use w5500_driver::stack::{Stack, StackConfig};
use w5500_sim::net::Network;
use w5500_sim::sim::{ClockMode, Sim};
use w5500_sim::spi::SimSpiDevice;
use w5500_sim::time::Instant;

/// A simulator shared between the SPI device, the OS binding and the test.
pub type SharedSim<N> = Arc<Mutex<Sim<N>>>;

/// The SPI device the driver sees.
pub type SimSpi<N> = SimSpiDevice<SharedSim<N>>;

/// Lock a mutex even if a panicking test thread poisoned it.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The driver's [`Os`] on the simulator.
pub struct SimOs<N: Network + Send + 'static> {
    sim: SharedSim<N>,
    stack: Mutex<Stack<SimSpi<N>>>,
    epoch: Mutex<u32>,
    cv: Condvar,
    int_pin: bool,
    poll_ms: u64,
    wall: bool,
}

impl<N: Network + Send + 'static> SimOs<N> {
    /// Bind `stack` (on `sim`) to this OS. `int_pin` says whether INTn is "wired"; without it
    /// every wait polls all sockets, as on a board without the pin.
    pub fn new(sim: SharedSim<N>, stack: Stack<SimSpi<N>>, int_pin: bool, poll_ms: u64) -> Self {
        let wall = lock(&sim).config().clock != ClockMode::Simulated;
        SimOs {
            sim,
            stack: Mutex::new(stack),
            epoch: Mutex::new(0),
            cv: Condvar::new(),
            int_pin,
            poll_ms,
            wall,
        }
    }

    /// The simulator.
    pub fn sim(&self) -> &SharedSim<N> {
        &self.sim
    }

    fn deadline_instant(deadline_ms: u64) -> Instant {
        Instant::from_millis(deadline_ms)
    }
}

impl<N: Network + Send + 'static> Os for SimOs<N> {
    type Spi = SimSpi<N>;

    fn with_stack<R>(&self, f: impl FnOnce(&mut Stack<Self::Spi>) -> R) -> R {
        f(&mut lock(&self.stack))
    }

    fn now_ms(&self) -> u64 {
        lock(&self.sim).now().as_millis()
    }

    fn epoch(&self) -> u32 {
        *lock(&self.epoch)
    }

    fn wait(&self, _socket: Option<w5500_driver::stack::SocketId>, seen: u32, deadline_ms: u64) {
        // Bounded: each pass either returns or moves the clock forward; the pass count is a
        // guard against a simulator that refuses to advance.
        for _ in 0..10_000 {
            {
                let e = lock(&self.epoch);
                if *e != seen {
                    return;
                }
                // Give other threads a moment to act before time moves on.
                let slice = if self.wall { 1_000 } else { 100 };
                let (e, _) = self
                    .cv
                    .wait_timeout(e, Duration::from_micros(slice))
                    .unwrap_or_else(|e| e.into_inner());
                if *e != seen {
                    return;
                }
            }
            let (asserted, now) = {
                let mut sim = lock(&self.sim);
                if !self.wall {
                    let deadline = Self::deadline_instant(deadline_ms);
                    let target = match sim.next_event() {
                        Some(t) if t < deadline => t,
                        _ => deadline,
                    };
                    if target > sim.now() {
                        sim.advance_to(target);
                    }
                }
                (sim.int_asserted(), sim.now().as_millis())
            };
            if self.int_pin && asserted {
                self.notify_all();
                return;
            }
            if now >= deadline_ms {
                return;
            }
        }
    }

    fn notify_all(&self) {
        let mut e = lock(&self.epoch);
        *e = e.wrapping_add(1);
        self.cv.notify_all();
    }

    fn has_interrupt_pin(&self) -> bool {
        self.int_pin
    }

    fn poll_interval_ms(&self) -> u64 {
        self.poll_ms
    }
}

/// How a rig sets the chip up.
#[derive(Clone, Debug)]
pub struct RigConfig {
    /// Chip configuration (MAC, addresses, buffer plan, retry timing).
    pub chip: Config,
    /// Stack configuration.
    pub stack: StackConfig,
    /// INTn wired.
    pub int_pin: bool,
    /// Poll interval of the OS layer.
    pub poll_ms: u64,
}

impl RigConfig {
    /// Static address `ip`/24 with gateway `gw`, default buffers, INTn wired.
    pub fn static_ip(ip: [u8; 4], gw: [u8; 4]) -> Self {
        let mut chip = Config::new([0x02, 0x08, 0xdc, 0x00, 0x00, 0x01]);
        chip.ip = ip.into();
        chip.netmask = [255, 255, 255, 0].into();
        chip.gateway = gw.into();
        RigConfig {
            chip,
            stack: StackConfig::default(),
            int_pin: true,
            poll_ms: 50,
        }
    }
}

/// A simulated chip on a network, brought up by the driver, with the blocking API on top.
pub struct Rig<N: Network + Send + 'static> {
    /// The simulator (for faults, accounting and time).
    pub sim: SharedSim<N>,
    /// The driver's blocking socket API.
    pub bsd: Arc<Bsd<SimOs<N>>>,
}

/// A delay that advances the simulated clock (or sleeps on the wall clock).
pub struct SimDelay<N: Network + Send + 'static>(pub SharedSim<N>);

impl<N: Network + Send + 'static> embedded_hal::delay::DelayNs for SimDelay<N> {
    fn delay_ns(&mut self, ns: u32) {
        let mut sim = lock(&self.0);
        if sim.config().clock == ClockMode::Simulated {
            sim.advance(Duration::from_nanos(u64::from(ns)));
        } else {
            drop(sim);
            std::thread::sleep(Duration::from_nanos(u64::from(ns)));
        }
    }
}

impl<N: Network + Send + 'static> Rig<N> {
    /// Bring the chip on `sim` up with `cfg` and wrap it in the blocking API.
    pub fn new(sim: Sim<N>, cfg: RigConfig) -> Result<Self, w5500_driver::Error> {
        let sim = Arc::new(Mutex::new(sim));
        let mut chip = Chip::new(SimSpiDevice::new(sim.clone()));
        chip.init(&mut SimDelay(sim.clone()), &cfg.chip)?;
        let stack = Stack::new(chip, cfg.stack)?;
        let os = SimOs::new(sim.clone(), stack, cfg.int_pin, cfg.poll_ms);
        Ok(Rig {
            sim,
            bsd: Arc::new(Bsd::new(os)),
        })
    }

    /// Run `f` on the simulator.
    pub fn with_sim<R>(&self, f: impl FnOnce(&mut Sim<N>) -> R) -> R {
        f(&mut lock(&self.sim))
    }
}
