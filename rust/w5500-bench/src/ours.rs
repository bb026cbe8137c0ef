//! Our driver (`Stack` + `Bsd`) on the simulator, INTn wired, through the spy.

use std::cell::{Cell, RefCell};
use std::net::{Ipv4Addr, SocketAddrV4};

use w5500_driver::bsd::{Bsd, MsgFlags, Os};
use w5500_driver::stack::{SockOpt, SockType, SocketId, Stack, StackConfig};
use w5500_driver::Error;
use w5500_sim::lan::standard;
use w5500_sim::time::Instant;

use crate::env::{self, lock, BenchSpi, Env, SharedSim, CHIP_UDP_PORT, SINK_PORT, SOURCE_PORT};
use crate::mark::drv;
use crate::work::{Run, Work};

/// The driver's OS interface for a single-threaded benchmark on the simulated clock: a wait
/// advances the simulator to its next event (or the deadline) and ends when INTn is low.
pub struct BenchOs {
    sim: SharedSim,
    stack: RefCell<Stack<BenchSpi>>,
    epoch: Cell<u32>,
}

impl Os for BenchOs {
    type Spi = BenchSpi;

    fn with_stack<R>(&self, f: impl FnOnce(&mut Stack<Self::Spi>) -> R) -> R {
        f(&mut self.stack.borrow_mut())
    }
    fn now_ms(&self) -> u64 {
        crate::mark::excl(|| lock(&self.sim).now().as_millis())
    }
    fn epoch(&self) -> u32 {
        self.epoch.get()
    }
    fn wait(&self, _socket: Option<w5500_driver::stack::SocketId>, seen: u32, deadline_ms: u64) {
        crate::mark::excl(|| self.wait_sim(seen, deadline_ms))
    }
    fn notify_all(&self) {
        self.epoch.set(self.epoch.get().wrapping_add(1));
    }
    fn has_interrupt_pin(&self) -> bool {
        true
    }
    fn poll_interval_ms(&self) -> u64 {
        50
    }
}

impl BenchOs {
    /// The wait on the simulated clock (the platform's part, not the driver's).
    fn wait_sim(&self, seen: u32, deadline_ms: u64) {
        for _ in 0..100_000 {
            if self.epoch.get() != seen {
                return;
            }
            let (asserted, now) = {
                let mut sim = lock(&self.sim);
                let deadline = Instant::from_millis(deadline_ms);
                let target = match sim.next_event() {
                    Some(t) if t < deadline => t,
                    _ => deadline,
                };
                if target > sim.now() {
                    sim.advance_to(target);
                }
                (sim.int_asserted(), sim.now().as_millis())
            };
            if asserted {
                self.notify_all();
                return;
            }
            if now >= deadline_ms {
                return;
            }
        }
    }
}

/// Our blocking socket API with every call counted as driver code (CPU measurement).
pub struct Counted<'a>(pub &'a Bsd<BenchOs>);

#[allow(missing_docs)]
impl Counted<'_> {
    pub fn socket(&self, ty: SockType) -> Result<SocketId, Error> {
        drv(|| self.0.socket(ty))
    }
    pub fn connect(&self, s: SocketId, to: SocketAddrV4) -> Result<(), Error> {
        drv(|| self.0.connect(s, to))
    }
    pub fn bind(&self, s: SocketId, a: SocketAddrV4) -> Result<(), Error> {
        drv(|| self.0.bind(s, a))
    }
    pub fn set_option(&self, s: SocketId, o: SockOpt) -> Result<(), Error> {
        drv(|| self.0.set_option(s, o))
    }
    pub fn send(
        &self,
        s: SocketId,
        data: &[u8],
        to: Option<SocketAddrV4>,
        f: MsgFlags,
    ) -> Result<usize, Error> {
        drv(|| self.0.send(s, data, to, f))
    }
    pub fn recv(
        &self,
        s: SocketId,
        buf: &mut [u8],
        f: MsgFlags,
    ) -> Result<(usize, SocketAddrV4), Error> {
        drv(|| self.0.recv(s, buf, f))
    }
    pub fn close(&self, s: SocketId) -> Result<(), Error> {
        drv(|| self.0.close(s))
    }
    pub fn on_interrupt(&self) -> Result<(), Error> {
        drv(|| self.0.on_interrupt())
    }
    pub fn os(&self) -> &BenchOs {
        self.0.os()
    }
}

fn e<T: std::fmt::Display>(what: &str) -> impl Fn(T) -> String + '_ {
    move |err| format!("{what}: {err}")
}

/// Our driver brought up on `env`.
pub fn setup(env: &Env, dhcp: bool) -> Result<Bsd<BenchOs>, String> {
    let chip = env.bring_up(dhcp)?;
    let stack = Stack::new(chip, StackConfig::default()).map_err(e("stack"))?;
    Ok(Bsd::new(BenchOs {
        sim: env.sim.clone(),
        stack: RefCell::new(stack),
        epoch: Cell::new(0),
    }))
}

fn measured(env: &Env, payload: u64, ops: u64) -> Result<Run, String> {
    let (spi, _) = env.stop()?;
    Ok(Run {
        payload,
        ops,
        spi,
        sim_us: 0,
    })
}

/// Run `w` with our driver.
/// (The DHCP and DNS workloads are [`crate::ourssvc`]'s.)
pub fn run(env: &Env, w: &Work) -> Result<Run, String> {
    let raw = setup(env, false)?;
    let bsd = &Counted(&raw);
    let flags = MsgFlags::default();
    let t0;
    let mut run = match *w {
        Work::TcpRecv(n) => {
            let s = bsd.socket(SockType::Stream).map_err(e("socket"))?;
            bsd.connect(s, SocketAddrV4::new(standard::BULK, SOURCE_PORT))
                .map_err(e("connect"))?;
            env.start();
            t0 = env.now_us();
            let mut buf = vec![0u8; 16 * 1024];
            let mut got = 0u64;
            loop {
                let (k, _) = bsd.recv(s, &mut buf, flags).map_err(e("recv"))?;
                if k == 0 {
                    break;
                }
                if !crate::mark::excl(|| buf[..k] == env::pattern(got, k)[..]) {
                    return Err(format!("corrupt data at offset {got}"));
                }
                got += k as u64;
            }
            bsd.close(s).map_err(e("close"))?;
            if got != n {
                return Err(format!("received {got} of {n} bytes"));
            }
            measured(env, n, n / 1024)?
        }
        Work::TcpSend(n) => {
            let s = bsd.socket(SockType::Stream).map_err(e("socket"))?;
            bsd.connect(s, SocketAddrV4::new(standard::BULK, SINK_PORT))
                .map_err(e("connect"))?;
            env.start();
            t0 = env.now_us();
            let chunk = 16 * 1024u64;
            let mut off = 0u64;
            while off < n {
                let len = chunk.min(n - off) as usize;
                let data = env::pattern(off, len);
                let k = bsd.send(s, &data, None, flags).map_err(e("send"))?;
                off += k as u64;
            }
            bsd.close(s).map_err(e("close"))?;
            let r = measured(env, n, n / 1024)?;
            env.wait_sink(n)?;
            r
        }
        Work::UdpTx { size, count } => {
            let s = udp_socket(bsd)?;
            let to = SocketAddrV4::new(standard::PEER, env::UDP_SINK_PORT);
            env.start();
            t0 = env.now_us();
            for i in 0..count {
                let p = env::payload(u64::from(i), size);
                bsd.send(s, &p, Some(to), flags).map_err(e("sendto"))?;
            }
            let r = measured(env, size as u64 * u64::from(count), u64::from(count))?;
            env.check_udp_tx(size, count)?;
            r
        }
        Work::UdpRx { size, count } => {
            let s = udp_socket(bsd)?;
            env.start();
            t0 = env.now_us();
            let mut buf = vec![0u8; 2048];
            for i in 0..count {
                let p = env::payload(u64::from(i), size);
                env.udp_inject(standard::CHIP_STATIC, &p);
                let (k, _) = bsd.recv(s, &mut buf, flags).map_err(e("recvfrom"))?;
                if buf[..k] != p[..] {
                    return Err(format!("datagram {i} corrupt"));
                }
            }
            measured(env, size as u64 * u64::from(count), u64::from(count))?
        }
        Work::Echo { count } => {
            let s = bsd.socket(SockType::Stream).map_err(e("socket"))?;
            bsd.connect(s, SocketAddrV4::new(standard::ECHO, 7))
                .map_err(e("connect"))?;
            env.start();
            t0 = env.now_us();
            for i in 0..count {
                echo_once(bsd, s, u64::from(i))?;
            }
            let r = measured(env, 128 * u64::from(count), u64::from(count))?;
            bsd.close(s).map_err(e("close"))?;
            r
        }
        Work::Cycles { count } => {
            env.start();
            t0 = env.now_us();
            for i in 0..count {
                let s = bsd.socket(SockType::Stream).map_err(e("socket"))?;
                bsd.connect(s, SocketAddrV4::new(standard::ECHO, 7))
                    .map_err(e("connect"))?;
                echo_once(bsd, s, u64::from(i))?;
                bsd.close(s).map_err(e("close"))?;
                // Until the hardware socket has finished closing and is free again.
                for _ in 0..10_000 {
                    if bsd.os().with_stack(|st| st.free_hw_sockets()) == 8 {
                        break;
                    }
                    let seen = bsd.os().epoch();
                    bsd.os().wait(None, seen, bsd.os().now_ms() + 50);
                    bsd.on_interrupt().map_err(e("service"))?;
                }
            }
            measured(env, 128 * u64::from(count), u64::from(count))?
        }
        Work::Dhcp | Work::Dns => return Err("unreachable".into()),
    };
    run.sim_us = env.now_us().saturating_sub(t0);
    Ok(run)
}

fn udp_socket(bsd: &Counted<'_>) -> Result<SocketId, String> {
    let s = bsd.socket(SockType::Datagram).map_err(e("socket"))?;
    bsd.bind(s, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, CHIP_UDP_PORT))
        .map_err(e("bind"))?;
    bsd.set_option(s, SockOpt::RcvTimeout(Some(5_000)))
        .map_err(e("setsockopt"))?;
    Ok(s)
}

fn echo_once(bsd: &Counted<'_>, s: SocketId, i: u64) -> Result<(), String> {
    let p = env::payload(i, 64);
    bsd.send(s, &p, None, MsgFlags::default())
        .map_err(e("send"))?;
    let mut buf = [0u8; 64];
    let (k, _) = bsd
        .recv(
            s,
            &mut buf,
            MsgFlags {
                waitall: true,
                ..MsgFlags::default()
            },
        )
        .map_err(e("recv"))?;
    if buf[..k] != p[..] {
        return Err(format!("echo {i} corrupt ({k} bytes)"));
    }
    Ok(())
}
