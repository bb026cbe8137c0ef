//! newAM's `w5500-hl` VDM driver (a driver that works on real hardware) on the simulated chip
//! behind the in-memory LAN: the rig, bounded driving loops in simulated time ([`Budget`],
//! [`idle`], [`wait_status`]), the violation check the cross-check findings rely on, and
//! deterministic test data (crosscheck_newam).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use w5500_hl::ll::eh1::vdm::W5500;
use w5500_hl::ll::net::Eui48Addr;
use w5500_hl::ll::{BufferSize, Registers, Sn, SocketStatus, SOCKETS};
use w5500_sim::lan::{standard, Lan};
use w5500_sim::{Sim, SimConfig, SimSpiDevice, ViolationKind};

pub type Shared = Arc<Mutex<Sim<Lan>>>;
pub type Chip = W5500<SimSpiDevice<Shared>>;

pub const CHIP_MAC: Eui48Addr = Eui48Addr::new(0x02, 0x00, 0x00, 0x00, 0x00, 0x50);

pub fn lock(sim: &Shared) -> MutexGuard<'_, Sim<Lan>> {
    sim.lock().unwrap()
}

/// The simulated chip on the standard LAN, the PLL locked and the link up (DS §5.5.1), with
/// newAM's `w5500-ll` VDM driver over our `SpiDevice`. `static_ip`: configure SHAR, SIPR,
/// SUBR and GAR for 10.77.0.50 (else only SHAR, for DHCP). `torn`: run the engine between
/// the bytes of a burst (`SimConfig::torn_reads`, the default); the bulk tests turn it off
/// because it makes them about 50 times slower and they check the data path, not tearing.
pub fn rig_on(lan: Lan, static_ip: bool, torn: bool) -> (Shared, Chip) {
    rig_with(lan, static_ip, torn, SimConfig::default())
}

pub fn rig_with(lan: Lan, static_ip: bool, torn: bool, config: SimConfig) -> (Shared, Chip) {
    let sim: Shared = Arc::new(Mutex::new(Sim::with_config(lan, config)));
    lock(&sim).advance(Duration::from_millis(50));
    lock(&sim).set_torn_reads(torn);
    let mut w = W5500::new(SimSpiDevice::new(sim.clone()));
    assert_eq!(w.version().unwrap(), 0x04, "DS §3.1 VERSIONR");
    w.set_shar(&CHIP_MAC).unwrap();
    if static_ip {
        w.set_sipr(&standard::CHIP_STATIC).unwrap();
        w.set_subr(&standard::NETMASK).unwrap();
        w.set_gar(&standard::GATEWAY).unwrap();
    }
    (sim, w)
}

pub fn rig() -> (Shared, Chip) {
    rig_on(Lan::standard(), true, true)
}

pub fn rig_bulk() -> (Shared, Chip) {
    rig_on(Lan::standard(), true, false)
}

/// Hard bounds on a driving loop: iterations and simulated time.
pub struct Budget {
    what: &'static str,
    left: u32,
    deadline_us: u64,
}

impl Budget {
    pub fn new(sim: &Shared, what: &'static str, iterations: u32, sim_time: Duration) -> Self {
        let now = lock(sim).now().as_micros();
        Budget {
            what,
            left: iterations,
            deadline_us: now + sim_time.as_micros() as u64,
        }
    }

    pub fn tick(&mut self, sim: &Shared) {
        let now = lock(sim).now().as_micros();
        assert!(self.left > 0, "{}: iteration bound exceeded", self.what);
        assert!(
            now <= self.deadline_us,
            "{}: simulated-time bound exceeded",
            self.what
        );
        self.left -= 1;
    }
}

/// Nothing to do for the driver: let time pass up to the next chip or LAN event, at most `max`
/// (at least 1 µs, so a loop always makes progress).
pub fn idle(sim: &Shared, max: Duration) {
    let mut s = lock(sim);
    let now = s.now();
    let limit = now + max;
    match s.next_event() {
        Some(t) if t > now && t <= limit => s.advance_to(t),
        Some(t) if t <= now => s.advance(Duration::from_micros(1)),
        _ => s.advance(max),
    }
}

/// Wait (bounded) until `Sn_SR` reads `want` (DS §3.2 Sn_SR).
pub fn wait_status(sim: &Shared, w: &mut Chip, sn: Sn, want: SocketStatus, what: &'static str) {
    let mut b = Budget::new(sim, what, 100_000, Duration::from_secs(40));
    while w.sn_sr(sn).unwrap() != Ok(want) {
        b.tick(sim);
        idle(sim, Duration::from_millis(1));
    }
}

/// Harness adaptation (crate docs, cross-check): between two calls into w5500-hl, wait until
/// the command the first one issued was accepted, so that the second does not read `Sn_RX_RSR`
/// / `Sn_TX_FSR` from before it (DS §3.2 Sn_CR: accepted = reads 0; w5500-hl never checks).
pub fn settle(sim: &Shared, w: &mut Chip, sn: Sn) {
    wait_cr_zero(sim, w, sn);
}

/// Wait (bounded) until `Sn_CR` reads 0: the last command was accepted (DS §3.2 Sn_CR).
pub fn wait_cr_zero(sim: &Shared, w: &mut Chip, sn: Sn) {
    let mut b = Budget::new(sim, "Sn_CR", 1000, Duration::from_millis(10));
    while w.sn_cr(sn).unwrap() != 0 {
        b.tick(sim);
        idle(sim, Duration::from_micros(1));
    }
}

pub fn violations(sim: &Shared) -> Vec<ViolationKind> {
    lock(sim).violations().iter().map(|v| v.kind).collect()
}

/// The violations newAM's crates are documented (crate docs) to trigger: a SEND issued while
/// the previous SEND on the socket has not completed (`tcp_write` / `udp_send` never wait for
/// `Sn_IR.SEND_OK`), and a command written while the previous one still reads back in `Sn_CR`
/// (w5500-hl never waits for `Sn_CR` = 0). Anything else is unexpected and fails the test.
/// Returns how many documented ones there were (printed for the record).
pub fn assert_only_documented_violations(sim: &Shared) -> usize {
    let v = violations(sim);
    let unexpected: Vec<_> = v
        .iter()
        .filter(|k| {
            !matches!(
                k,
                ViolationKind::SendWhileBusy { .. } | ViolationKind::CommandWhilePending { .. }
            )
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "unexpected violations: {unexpected:?}"
    );
    eprintln!("documented violations: {v:?}");
    v.len()
}

/// Give socket `sn` `kb` KB of TX and RX memory. 16 KB needs every other socket at 0 KB
/// (DS §3.2 Sn_RXBUF_SIZE/Sn_TXBUF_SIZE: the sizes must add up to at most 16 KB).
pub fn set_buffers(w: &mut Chip, sn: Sn, kb: BufferSize) {
    let total = u8::from(kb);
    for other in SOCKETS.iter().copied() {
        let size = if other == sn {
            kb
        } else if total > 2 {
            BufferSize::KB0
        } else {
            BufferSize::KB2
        };
        w.set_sn_rxbuf_size(other, size).unwrap();
        w.set_sn_txbuf_size(other, size).unwrap();
    }
    assert_eq!(w.sn_rxbuf_size(sn).unwrap(), Ok(kb));
    assert_eq!(w.sn_txbuf_size(sn).unwrap(), Ok(kb));
}

pub fn fletcher(data: &[u8]) -> u32 {
    let (mut a, mut b) = (0u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65535;
        b = (b + a) % 65535;
    }
    (b << 16) | a
}

/// Deterministic test data (not periodic at any buffer size).
pub fn data(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}
