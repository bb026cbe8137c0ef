//! Shared helpers for the driver's tests on the simulated chip and the in-memory LAN.
#![allow(dead_code, unused_imports)]

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

pub use w5500_driver::bsd::{Bsd, MsgFlags, Os, PollFd};
pub use w5500_driver::regs::BufferSize;
pub use w5500_driver::stack::{SockOpt, SockType, SocketId};
pub use w5500_driver::Error;
pub use w5500_sim::lan::{standard, ConnHandle, HostId, Lan};
pub use w5500_sim::sim::Sim;
pub use w5500_testkit::{Rig, RigConfig, SimOs};

/// The blocking API on the standard LAN.
pub type LanBsd = Bsd<SimOs<Lan>>;

/// The chip's static address on the standard LAN.
pub const ME: Ipv4Addr = standard::CHIP_STATIC;

/// A rig config: static address on the standard LAN.
pub fn cfg() -> RigConfig {
    RigConfig::static_ip(standard::CHIP_STATIC.octets(), standard::GATEWAY.octets())
}

/// A rig config with `kb` KB per socket for the first `8 / ...` sockets each way.
pub fn cfg_buffers(kb: BufferSize) -> RigConfig {
    let mut c = cfg();
    let n = match kb {
        BufferSize::K16 => 1,
        BufferSize::K8 => 2,
        BufferSize::K4 => 4,
        _ => 8,
    };
    let mut plan = [BufferSize::K0; 8];
    for p in plan.iter_mut().take(n) {
        *p = kb;
    }
    c.chip.tx_buf = plan;
    c.chip.rx_buf = plan;
    c
}

/// A rig on the standard LAN.
pub fn rig() -> Rig<Lan> {
    rig_with(cfg())
}

/// A rig on the standard LAN with `c`.
pub fn rig_with(c: RigConfig) -> Rig<Lan> {
    Rig::new(Sim::new(Lan::standard()), c).unwrap()
}

/// Simulated time in ms.
pub fn now_ms(rig: &Rig<Lan>) -> u64 {
    rig.with_sim(|s| s.now().as_millis())
}

/// Let `ms` of simulated time pass without the driver doing anything.
pub fn idle(rig: &Rig<Lan>, ms: u64) {
    rig.with_sim(|s| s.advance(std::time::Duration::from_millis(ms)));
}

/// Service the chip (as the interrupt thread would).
pub fn service(rig: &Rig<Lan>) {
    rig.bsd.on_interrupt().unwrap();
}

/// Every violation the simulated chip recorded is a driver bug (or a simulator bug).
pub fn assert_no_violations(rig: &Rig<Lan>) {
    let v = rig.with_sim(|s| s.violations().to_vec());
    assert!(v.is_empty(), "simulator recorded violations: {v:?}");
}

/// The standard LAN's host at `ip`.
pub fn host(rig: &Rig<Lan>, ip: Ipv4Addr) -> HostId {
    rig.with_sim(|s| s.network().host_by_ip(ip)).unwrap()
}

/// `socket()` + `connect()` (blocking) to `ip:port`.
pub fn tcp_connect(bsd: &LanBsd, ip: Ipv4Addr, port: u16) -> SocketId {
    let s = bsd.socket(SockType::Stream).unwrap();
    bsd.connect(s, SocketAddrV4::new(ip, port)).unwrap();
    s
}

/// Default flags.
pub fn nf() -> MsgFlags {
    MsgFlags::default()
}

/// `MSG_DONTWAIT`.
pub fn dontwait() -> MsgFlags {
    MsgFlags {
        dontwait: true,
        ..MsgFlags::default()
    }
}

/// Free hardware sockets as the stack sees them.
pub fn free_hw(bsd: &LanBsd) -> usize {
    bsd.os().with_stack(|s| s.free_hw_sockets())
}

/// Hardware sockets not CLOSED on the chip.
pub fn open_hw_on_chip(rig: &Rig<Lan>) -> Vec<(usize, u8)> {
    rig.with_sim(|s| {
        (0..8)
            .map(|n| (n, s.chip().socket_status(n)))
            .filter(|&(_, sr)| sr != 0)
            .collect()
    })
}

/// Receive until `n` bytes arrived or EOF, with a bound on calls.
pub fn recv_exact(bsd: &LanBsd, s: SocketId, n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n);
    let mut buf = vec![0u8; 4096];
    for _ in 0..1_000_000 {
        if out.len() >= n {
            break;
        }
        let want = (n - out.len()).min(buf.len());
        let (k, _) = bsd.recv(s, &mut buf[..want], nf()).unwrap();
        if k == 0 {
            break;
        }
        out.extend_from_slice(&buf[..k]);
    }
    out
}

/// Keep the rig's bsd handle for threads.
pub fn bsd(rig: &Rig<Lan>) -> Arc<LanBsd> {
    rig.bsd.clone()
}
