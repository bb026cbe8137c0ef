//! newAM's w5500-hl 0.12 (with w5500-ll 0.13's embedded-hal 1.0 VDM front end) on the same
//! simulated chip, through the spy. The harness plays a careful interrupt-driven application:
//! when a call has nothing to do, it waits for INTn, clears the socket's `Sn_IR` (one write,
//! counted) and tries again. Bring-up uses our driver's `Chip` (identical for every driver,
//! not measured); SIMR enables all sockets.

use std::net::SocketAddrV4;

use w5500_hl::ll::eh1::vdm::W5500;
use w5500_hl::ll::{net as llnet, Registers, Sn, SocketStatus};
use w5500_hl::{Error as HlError, Tcp, Udp};
use w5500_regs::{Interrupt, SocketSet};
use w5500_sim::lan::standard;

use crate::env::{self, BenchSpi, Env, CHIP_UDP_PORT, SINK_PORT, SOURCE_PORT};
use crate::mark::drv;
use crate::work::{Run, Work};

type Dev = W5500<BenchSpi>;
const SN: Sn = Sn::Sn0;
const LOCAL_PORT: u16 = 40000;
/// Longest wait for one event (simulated µs) before a run is declared stuck.
const STUCK_US: u64 = 5_000_000;

fn addr(a: SocketAddrV4) -> llnet::SocketAddrV4 {
    let o = a.ip().octets();
    llnet::SocketAddrV4::new(llnet::Ipv4Addr::new(o[0], o[1], o[2], o[3]), a.port())
}

fn e<T: std::fmt::Debug>(what: &str) -> impl Fn(T) -> String + '_ {
    move |err| format!("{what}: {err:?}")
}

thread_local! {
    /// A SEND was issued and its SEND_OK not yet seen (the application's bookkeeping:
    /// w5500-hl issues SEND without checking, and the chip refuses a SEND while busy).
    static BUSY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Wait for INTn, then read and clear the socket's interrupt bits (what an IRQ handler
/// does), noting SEND_OK.
fn wait(env: &Env, w: &mut Dev) -> Result<(), String> {
    if !env.wait_int(STUCK_US) {
        return Err("no interrupt within 5 s".into());
    }
    let ir = u8::from(drv(|| w.sn_ir(SN)).map_err(e("sn_ir"))?);
    if ir & 0x10 != 0 || ir & 0x08 != 0 {
        BUSY.with(|b| b.set(false));
    }
    drv(|| w.set_sn_ir(SN, ir)).map_err(e("set_sn_ir"))
}

/// Before a call that may SEND: wait for the previous SEND to finish.
fn ready_to_send(env: &Env, w: &mut Dev) -> Result<(), String> {
    while BUSY.with(|b| b.get()) {
        wait(env, w)?;
    }
    BUSY.with(|b| b.set(true));
    Ok(())
}

fn status(w: &mut Dev) -> Result<SocketStatus, String> {
    drv(|| w.sn_sr(SN))
        .map_err(e("sn_sr"))?
        .map_err(|v| format!("Sn_SR {v:#x}"))
}

fn connect(env: &Env, w: &mut Dev, to: SocketAddrV4, port: u16) -> Result<(), String> {
    drv(|| w.tcp_connect(SN, port, &addr(to))).map_err(e("tcp_connect"))?;
    loop {
        match status(w)? {
            SocketStatus::Established => return Ok(()),
            SocketStatus::Closed => return Err("connect failed".into()),
            _ => wait(env, w)?,
        }
    }
}

fn setup(env: &Env) -> Result<Dev, String> {
    BUSY.with(|b| b.set(false));
    let mut chip = env.bring_up(false)?;
    chip.set_interrupt_masks(Interrupt::empty(), SocketSet::all())
        .map_err(e("simr"))?;
    Ok(W5500::new(chip.release()))
}

fn echo_once(env: &Env, w: &mut Dev, i: u64) -> Result<(), String> {
    let p = env::payload(i, 64);
    let mut sent = 0;
    while sent < p.len() {
        ready_to_send(env, w)?;
        let k = drv(|| w.tcp_write(SN, &p[sent..])).map_err(e("tcp_write"))?;
        if k == 0 {
            BUSY.with(|b| b.set(false));
            wait(env, w)?;
        }
        sent += usize::from(k);
    }
    let mut buf = [0u8; 64];
    let mut got = 0;
    while got < 64 {
        let k = drv(|| w.tcp_read(SN, &mut buf[got..])).map_err(e("tcp_read"))?;
        if k == 0 {
            wait(env, w)?;
        }
        got += usize::from(k);
    }
    if buf != p[..] {
        return Err(format!("echo {i} corrupt"));
    }
    Ok(())
}

fn done(env: &Env, payload: u64, ops: u64, t0: u64) -> Result<Run, String> {
    let (spi, now) = env.stop()?;
    Ok(Run {
        payload,
        ops,
        spi,
        sim_us: now.saturating_sub(t0),
    })
}

/// Run `w` with w5500-hl.
/// (The DHCP and DNS workloads are [`crate::hlsvc`]'s.)
pub fn run(env: &Env, work: &Work) -> Result<Run, String> {
    let mut w = setup(env)?;
    let w = &mut w;
    match *work {
        Work::TcpRecv(n) => {
            connect(
                env,
                w,
                SocketAddrV4::new(standard::BULK, SOURCE_PORT),
                LOCAL_PORT,
            )?;
            env.start();
            let t0 = env.now_us();
            let mut buf = vec![0u8; 16 * 1024];
            let mut got = 0u64;
            loop {
                let k = usize::from(drv(|| w.tcp_read(SN, &mut buf)).map_err(e("tcp_read"))?);
                if k > 0 {
                    if buf[..k] != env::pattern(got, k)[..] {
                        let v = crate::env::lock(&env.sim).violations().to_vec();
                        return Err(format!("corrupt data at {got} (k={k}) {:?}", v.first()));
                    }
                    got += k as u64;
                    continue;
                }
                match status(w)? {
                    SocketStatus::Established => wait(env, w)?,
                    _ => break,
                }
            }
            if got != n {
                return Err(format!("received {got} of {n}"));
            }
            let r = done(env, n, n / 1024, t0);
            drv(|| w.tcp_disconnect(SN)).map_err(e("disconnect"))?;
            r
        }
        Work::TcpSend(n) => {
            connect(
                env,
                w,
                SocketAddrV4::new(standard::BULK, SINK_PORT),
                LOCAL_PORT,
            )?;
            env.start();
            let t0 = env.now_us();
            let mut off = 0u64;
            while off < n {
                let len = (16 * 1024u64).min(n - off) as usize;
                let data = env::pattern(off, len);
                let mut k = 0;
                while k < len {
                    ready_to_send(env, w)?;
                    let m = drv(|| w.tcp_write(SN, &data[k..])).map_err(e("tcp_write"))?;
                    if m == 0 {
                        BUSY.with(|b| b.set(false));
                        wait(env, w)?;
                    }
                    k += usize::from(m);
                }
                off += len as u64;
            }
            drv(|| w.tcp_disconnect(SN)).map_err(e("disconnect"))?;
            let r = done(env, n, n / 1024, t0);
            env.wait_sink(n)?;
            r
        }
        Work::UdpTx { size, count } => {
            drv(|| w.udp_bind(SN, CHIP_UDP_PORT)).map_err(e("udp_bind"))?;
            let to = addr(SocketAddrV4::new(standard::PEER, env::UDP_SINK_PORT));
            env.start();
            let t0 = env.now_us();
            for i in 0..count {
                let p = env::payload(u64::from(i), size);
                loop {
                    ready_to_send(env, w)?;
                    let k = drv(|| w.udp_send_to_if_free(SN, &p, &to))
                        .map_err(e("udp_send_to_if_free"))?;
                    if usize::from(k) == size {
                        break;
                    }
                    BUSY.with(|b| b.set(false));
                    wait(env, w)?;
                }
            }
            let r = done(env, size as u64 * u64::from(count), u64::from(count), t0);
            env.check_udp_tx(size, count)?;
            r
        }
        Work::UdpRx { size, count } => {
            drv(|| w.udp_bind(SN, CHIP_UDP_PORT)).map_err(e("udp_bind"))?;
            env.start();
            let t0 = env.now_us();
            let mut buf = vec![0u8; 2048];
            for i in 0..count {
                let p = env::payload(u64::from(i), size);
                env.udp_inject(standard::CHIP_STATIC, &p);
                loop {
                    match drv(|| w.udp_recv_from(SN, &mut buf)) {
                        Ok((k, _)) => {
                            if buf[..usize::from(k)] != p[..] {
                                return Err(format!("datagram {i} corrupt"));
                            }
                            break;
                        }
                        Err(HlError::WouldBlock) => wait(env, w)?,
                        Err(x) => return Err(format!("udp_recv_from: {x:?}")),
                    }
                }
            }
            done(env, size as u64 * u64::from(count), u64::from(count), t0)
        }
        Work::Echo { count } => {
            connect(env, w, SocketAddrV4::new(standard::ECHO, 7), LOCAL_PORT)?;
            env.start();
            let t0 = env.now_us();
            for i in 0..count {
                echo_once(env, w, u64::from(i))?;
            }
            done(env, 128 * u64::from(count), u64::from(count), t0)
        }
        Work::Cycles { count } => {
            env.start();
            let t0 = env.now_us();
            for i in 0..count {
                // A new local port per cycle, as a BSD stack would pick.
                let port = LOCAL_PORT.wrapping_add(i as u16 % 20_000);
                connect(env, w, SocketAddrV4::new(standard::ECHO, 7), port)?;
                echo_once(env, w, u64::from(i))?;
                drv(|| w.tcp_disconnect(SN)).map_err(e("disconnect"))?;
                loop {
                    let st = status(w)?;
                    if st == SocketStatus::Closed {
                        break;
                    }
                    if st == SocketStatus::TimeWait {
                        // The chip lingers in TIME_WAIT; free the socket as a BSD stack would.
                        drv(|| w.set_sn_cr(SN, w5500_hl::ll::SocketCommand::Close))
                            .map_err(e("close"))?;
                        continue;
                    }
                    wait(env, w).map_err(|x| format!("{x} (closing, Sn_SR {st:?})"))?;
                }
            }
            done(env, 128 * u64::from(count), u64::from(count), t0)
        }
        Work::Dhcp | Work::Dns => Err("unreachable".into()),
    }
}
