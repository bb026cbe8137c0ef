//! One fresh simulated chip on the in-memory LAN per measurement, and what a measurement
//! records.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::{Arc, Mutex, MutexGuard};

use w5500_driver::chip::{Chip, Config};
use w5500_regs::BufferSize;
use w5500_sim::lan::{apps, standard, Lan, TcpOptions};
use w5500_sim::sim::{Sim, SimConfig};
use w5500_sim::spi::SimSpiDevice;

use crate::spy::{Counts, Meter, Spy};

/// A simulator shared between the SPI device and the harness.
pub type SharedSim = Arc<Mutex<Sim<Lan>>>;
/// The SPI device every driver gets: the spy over the simulator.
pub type BenchSpi = Spy<SimSpiDevice<SharedSim>>;

/// Lock a mutex even if poisoned.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Byte source port for the bulk receive workload (sized per run).
pub const SOURCE_PORT: u16 = 1919;
/// Byte sink on the bulk host (TCP 9 in the standard LAN).
pub const SINK_PORT: u16 = 9;
/// UDP recorder on the peer host.
pub const UDP_SINK_PORT: u16 = 9000;
/// UDP source port on the peer host for the receive stream.
pub const UDP_SRC_PORT: u16 = 5000;
/// The chip's local UDP port in the UDP workloads.
pub const CHIP_UDP_PORT: u16 = 6000;
/// The chip's MAC address.
pub const MAC: [u8; 6] = [0x02, 0x08, 0xdc, 0x00, 0x00, 0x01];

/// The socket buffer plan of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Buffers {
    /// 2 KB per socket each way (the chip's reset plan).
    K2,
    /// 16 KB each way for socket 0 (the whole buffer memory), 0 for the others.
    K16,
}

impl Buffers {
    /// Size in KB.
    pub fn kb(self) -> usize {
        match self {
            Buffers::K2 => 2,
            Buffers::K16 => 16,
        }
    }
    /// Per-socket sizes.
    pub fn plan(self) -> [BufferSize; 8] {
        match self {
            Buffers::K2 => [BufferSize::K2; 8],
            Buffers::K16 => {
                let mut p = [BufferSize::K0; 8];
                p[0] = BufferSize::K16;
                p
            }
        }
    }
}

/// A fresh chip on a fresh LAN.
pub struct Env {
    /// The simulator.
    pub sim: SharedSim,
    /// The spy's counters.
    pub meter: Meter,
    /// The buffer plan.
    pub buffers: Buffers,
}

impl Env {
    /// A chip on `Lan::standard()` plus a byte source of `source_bytes` on TCP 1919 of the
    /// bulk host and a UDP recorder on UDP 9000 of the peer host.
    #[cfg(test)]
    pub fn new(buffers: Buffers, source_bytes: u64) -> Env {
        Self::with_torn_reads(buffers, source_bytes, true, true)
    }

    /// As [`Env::new`], choosing whether the simulator may tear 16-bit reads (datasheet
    /// §3.2: `Sn_TX_FSR`/`Sn_RX_RSR` change while being read; drivers must read twice).
    /// `command_delay` false makes the chip accept commands at once (`Sn_CR` never reads back
    /// non-zero), for drivers that do not wait for it.
    pub fn with_torn_reads(
        buffers: Buffers,
        source_bytes: u64,
        torn_reads: bool,
        command_delay: bool,
    ) -> Env {
        let mut lan = Lan::standard();
        if let Some(bulk) = lan.host_by_ip(standard::BULK) {
            lan.listen_tcp(
                bulk,
                SOURCE_PORT,
                TcpOptions::default(),
                apps::ByteSource::factory(source_bytes, apps::AfterSend::Close),
            );
        }
        if let Some(peer) = lan.host_by_ip(standard::PEER) {
            lan.bind_udp_recorder(peer, UDP_SINK_PORT);
        }
        let sim = Arc::new(Mutex::new(Sim::with_config(
            lan,
            SimConfig {
                torn_reads,
                chip: w5500_sim::ChipConfig {
                    command_delay: if command_delay {
                        w5500_sim::ChipConfig::default().command_delay
                    } else {
                        std::time::Duration::ZERO
                    },
                    ..w5500_sim::ChipConfig::default()
                },
                ..SimConfig::default()
            },
        )));
        Env {
            sim,
            meter: Meter::default(),
            buffers,
        }
    }

    /// A new spying SPI device on this chip.
    pub fn spi(&self) -> BenchSpi {
        Spy::new(SimSpiDevice::new(self.sim.clone()), self.meter.clone())
    }

    /// The chip configuration (static address unless `dhcp`).
    pub fn chip_config(&self, dhcp: bool) -> Config {
        let mut c = Config::new(MAC);
        if !dhcp {
            c.ip = standard::CHIP_STATIC;
            c.netmask = standard::NETMASK;
            c.gateway = standard::GATEWAY;
        }
        c.tx_buf = self.buffers.plan();
        c.rx_buf = self.buffers.plan();
        c
    }

    /// Bring the chip up with our driver's `Chip` (used by every driver's harness for the
    /// common registers, so bring-up is identical; it is not measured).
    pub fn bring_up(&self, dhcp: bool) -> Result<Chip<BenchSpi>, String> {
        let mut chip = Chip::new(self.spi());
        let mut delay = Delay(self.sim.clone());
        chip.init(&mut delay, &self.chip_config(dhcp))
            .map_err(|e| format!("bring-up: {e}"))?;
        for _ in 0..1000 {
            if chip.phy_status().map_err(|e| e.to_string())?.link_up {
                break;
            }
            lock(&self.sim).advance(std::time::Duration::from_millis(1));
        }
        Ok(chip)
    }

    /// Start measuring.
    pub fn start(&self) {
        crate::mark::set_measuring(true);
        self.meter.reset();
        lock(&self.sim).reset_stats();
    }

    /// Stop measuring: the spy's counts (checked against the simulator's) and simulated µs.
    pub fn stop(&self) -> Result<(Counts, u64), String> {
        crate::mark::set_measuring(false);
        let c = self.meter.counts();
        let sim = lock(&self.sim);
        let st = sim.stats();
        if st.bytes != c.bytes() || st.transactions != c.txns() {
            return Err(format!(
                "spy and simulator disagree: {}/{} vs {}/{}",
                c.txns(),
                c.bytes(),
                st.transactions,
                st.bytes
            ));
        }
        if !sim.violations().is_empty() {
            return Err(format!(
                "{} datasheet violations, first: {:?}",
                sim.violations().len(),
                sim.violations().first()
            ));
        }
        Ok((c, sim.now().as_micros()))
    }

    /// Simulated time in µs.
    pub fn now_us(&self) -> u64 {
        lock(&self.sim).now().as_micros()
    }

    /// Advance the simulator to its next event (or by `max_us`), whichever is first.
    pub fn step(&self, max_us: u64) {
        let mut sim = lock(&self.sim);
        let limit = w5500_sim::time::Instant::from_micros(sim.now().as_micros() + max_us);
        let target = match sim.next_event() {
            Some(t) if t < limit => t,
            _ => limit,
        };
        if target > sim.now() {
            sim.advance_to(target);
        } else {
            sim.advance(std::time::Duration::from_micros(1));
        }
    }

    /// Advance the simulator until INTn is asserted (true) or `max_us` passed (false).
    pub fn wait_int(&self, max_us: u64) -> bool {
        let deadline = self.now_us() + max_us;
        for _ in 0..1_000_000 {
            let mut sim = lock(&self.sim);
            if sim.int_asserted() {
                return true;
            }
            let now = sim.now().as_micros();
            if now >= deadline {
                return false;
            }
            let limit = w5500_sim::time::Instant::from_micros(deadline);
            let target = match sim.next_event() {
                Some(t) if t < limit => t,
                _ => limit,
            };
            if target > sim.now() {
                sim.advance_to(target);
            } else {
                sim.advance(std::time::Duration::from_micros(1));
            }
        }
        false
    }

    /// Run `f` on the LAN.
    pub fn lan<R>(&self, f: impl FnOnce(&mut Lan) -> R) -> R {
        f(lock(&self.sim).network_mut())
    }

    /// Bytes the sink on TCP 9 received and whether they match the pattern.
    pub fn sink_result(&self) -> (u64, bool) {
        self.lan(|lan| {
            let Some(bulk) = lan.host_by_ip(standard::BULK) else {
                return (0, false);
            };
            let mut got = (0, true);
            for h in lan.tcp_handles_on_port(bulk, SINK_PORT) {
                if let Some(s) = lan.tcp_app::<apps::ByteSink>(h) {
                    got.0 += s.received;
                    got.1 &= s.matches_pattern;
                }
            }
            got
        })
    }

    /// Payloads the UDP recorder got.
    pub fn udp_recorded(&self) -> Vec<Vec<u8>> {
        self.lan(|lan| {
            let Some(peer) = lan.host_by_ip(standard::PEER) else {
                return Vec::new();
            };
            lan.udp_recorded(peer, UDP_SINK_PORT)
                .into_iter()
                .map(|d| d.payload)
                .collect()
        })
    }

    /// The peer host sends `payload` to the chip's UDP port.
    pub fn udp_inject(&self, chip_ip: Ipv4Addr, payload: &[u8]) {
        self.lan(|lan| {
            if let Some(peer) = lan.host_by_ip(standard::PEER) {
                lan.udp_send(
                    peer,
                    UDP_SRC_PORT,
                    SocketAddrV4::new(chip_ip, CHIP_UDP_PORT),
                    payload,
                );
            }
        });
    }

    /// Step the simulator until the sink has `n` bytes; check them.
    pub fn wait_sink(&self, n: u64) -> Result<(), String> {
        for _ in 0..1_000_000 {
            let (got, ok) = self.sink_result();
            if !ok {
                return Err("the sink saw corrupt data".into());
            }
            if got >= n {
                return if got == n {
                    Ok(())
                } else {
                    Err(format!("sink got {got} of {n}"))
                };
            }
            self.step(10_000);
        }
        Err("the sink never got everything".into())
    }

    /// Step a little, then check the recorder got `count` datagrams of `size` in order.
    pub fn check_udp_tx(&self, size: usize, count: u32) -> Result<(), String> {
        for _ in 0..1000 {
            if self.udp_recorded().len() >= count as usize {
                break;
            }
            self.step(10_000);
        }
        let got = self.udp_recorded();
        if got.len() != count as usize {
            return Err(format!("recorder got {} of {count} datagrams", got.len()));
        }
        for (i, d) in got.iter().enumerate() {
            if *d != payload(i as u64, size) {
                return Err(format!("datagram {i} corrupt"));
            }
        }
        Ok(())
    }
}

/// A delay on the simulated clock.
pub struct Delay(pub SharedSim);

impl embedded_hal::delay::DelayNs for Delay {
    fn delay_ns(&mut self, ns: u32) {
        crate::mark::excl(|| lock(&self.0).advance(std::time::Duration::from_nanos(u64::from(ns))));
    }
}

/// The deterministic byte pattern the LAN's source and sink use.
pub fn pattern(offset: u64, len: usize) -> Vec<u8> {
    w5500_sim::lan::util::pattern(offset, len)
}

/// A payload for request/response and datagram workloads: `len` bytes derived from `seq`.
pub fn payload(seq: u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (seq.wrapping_mul(31).wrapping_add(i as u64 * 7) & 0xff) as u8)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spy's status-read classification (DS §3.2 Sn_IR/Sn_SR, Sn_RX_RSR) is only applied to
    /// reads inside the status ranges: a freshly created environment is not failed.
    #[test]
    fn env_accounting_matches_the_simulator() {
        let env = Env::new(Buffers::K16, 1);
        env.start();
        assert!(env.stop().is_ok());
    }
}
