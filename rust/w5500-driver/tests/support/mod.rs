//! Shared set-up for the driver's integration tests on the simulated chip and the in-memory
//! LAN: rigs (simulator + LAN + the stack brought up under the blocking API), listeners and
//! accepted connections with a recording peer, the byte sink's view, and bounded pump loops
//! (simulated time passes, the chip is serviced as the interrupt thread would).
//!
//! Each test file includes it with `mod support;`; not every file uses every helper.
#![allow(dead_code, unused_imports)]

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

pub use w5500_driver::bsd::{Bsd, MsgFlags, Os, PollFd};
pub use w5500_driver::regs::BufferSize;
pub use w5500_driver::stack::{SockOpt, SockType, SocketId};
pub use w5500_driver::Error;
pub use w5500_sim::lan::apps::ByteSink;
pub use w5500_sim::lan::{standard, ConnHandle, HostId, Lan, TcpOptions, TcpRecorder};
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
    rig_on(Lan::standard(), c)
}

/// A rig on `lan` (a standard LAN the test added hosts, services or limits to) with `c`.
pub fn rig_on(lan: Lan, c: RigConfig) -> Rig<Lan> {
    Rig::new(Sim::new(lan), c).unwrap()
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

/// The wildcard address on `port` (`INADDR_ANY`), for `bind()`.
pub fn any(port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port)
}

/// `socket()` + `bind()` on `port`, and for TCP `listen()` with `backlog`.
pub fn listener(bsd: &LanBsd, ty: SockType, port: u16, backlog: u32) -> SocketId {
    let l = bsd.socket(ty).unwrap();
    bsd.bind(l, any(port)).unwrap();
    if ty == SockType::Stream {
        bsd.listen(l, backlog).unwrap();
    }
    l
}

/// The LAN's peer host connects to our `port` with `app` (a recorder the test drives).
pub fn peer_connect_with(rig: &Rig<Lan>, port: u16, app: TcpRecorder) -> ConnHandle {
    let peer = host(rig, standard::PEER);
    rig.with_sim(|s| {
        s.network_mut().tcp_connect(
            peer,
            SocketAddrV4::new(ME, port),
            TcpOptions::default(),
            Box::new(app),
        )
    })
    .unwrap()
}

/// We listen on `port` (backlog 1), the LAN's peer connects with `app`; returns our accepted
/// socket (the listener closed again) and the peer's handle.
pub fn accepted_pair(rig: &Rig<Lan>, port: u16, app: TcpRecorder) -> (SocketId, ConnHandle) {
    let bsd = &rig.bsd;
    let l = listener(bsd, SockType::Stream, port, 1);
    let h = peer_connect_with(rig, port, app);
    let (c, _) = bsd.accept(l).unwrap();
    bsd.close(l).unwrap();
    (c, h)
}

/// Let `steps` × `step_ms` of simulated time pass, servicing the chip after each step.
pub fn run_for(rig: &Rig<Lan>, steps: u64, step_ms: u64) {
    for _ in 0..steps {
        idle(rig, step_ms);
        service(rig);
    }
}

/// Like [`run_for`], but stop after the first step where `done` holds; returns whether it did.
pub fn run_until(
    rig: &Rig<Lan>,
    steps: u64,
    step_ms: u64,
    mut done: impl FnMut(&Rig<Lan>) -> bool,
) -> bool {
    for _ in 0..steps {
        idle(rig, step_ms);
        service(rig);
        if done(rig) {
            return true;
        }
    }
    false
}

/// The byte sink on the standard LAN's bulk host (TCP port 9), latest connection: bytes
/// received, their FNV-1a hash, whether they followed the pattern, and whether our FIN came.
pub fn sink_view(rig: &Rig<Lan>) -> (u64, u64, bool, bool) {
    let bulk = host(rig, standard::BULK);
    rig.with_sim(|sim| {
        let lan = sim.network();
        let h = *lan.tcp_handles_on_port(bulk, 9).last().unwrap();
        let a = lan.tcp_app::<ByteSink>(h).unwrap();
        (
            a.received,
            a.hash.0,
            a.matches_pattern,
            a.peer_fin_at.is_some(),
        )
    })
}

/// The bulk host's byte sink has seen our FIN.
pub fn sink_saw_fin(rig: &Rig<Lan>) -> bool {
    sink_view(rig).3
}
