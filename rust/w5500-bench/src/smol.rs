//! smoltcp 0.14 over socket 0 of the simulated chip in MACRAW mode (the design of Zephyr's
//! in-tree driver and embassy-net-wiznet), through the spy.
//!
//! The frame mover is written here, INTn-driven like embassy-net-wiznet: on INTn it reads and
//! clears `S0_IR` (RECV: frames may be waiting; SEND_OK: the TX ring is free again). Receive
//! reads `S0_RX_RSR`/`RD`/`WR` in one frame, the 2-byte length header, the frame, then writes
//! `S0_RX_RD` and issues RECV, and keeps reading until the ring is empty. Transmit writes the
//! frame at the known `S0_TX_WR`, publishes `S0_TX_WR` and issues SEND; one frame is in flight
//! at a time (the chip refuses SEND while busy), so smoltcp is told "no token" until SEND_OK.
//! The chip's own IP address stays 0.0.0.0; smoltcp owns 10.77.0.50.

use std::cell::RefCell;
use std::net::SocketAddrV4;
use std::rc::Rc;

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{Device, DeviceCapabilities, Medium, RxToken, TxToken};
use smoltcp::socket::{tcp, udp};
use smoltcp::time::Instant as SInstant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, IpEndpoint, Ipv4Address};
use w5500_driver::chip::Chip;
use w5500_regs::{
    Interrupt, Protocol, Sn, SocketCommand, SocketInterrupt, SocketMode, SocketSet as Ss,
};
use w5500_sim::lan::standard;

use crate::env::{self, BenchSpi, Env, CHIP_UDP_PORT, SINK_PORT, SOURCE_PORT};
use crate::mark::{drv, excl};
use crate::work::{Run, Work};

const S0: Sn = Sn::Sn0;
/// Host-side TCP socket buffers (RAM smoltcp needs on top of the chip's rings).
const TCP_BUF: usize = 16 * 1024;

/// The MACRAW port on socket 0.
pub struct Port {
    chip: Chip<BenchSpi>,
    tx_wr: u16,
    busy: bool,
    rx_hint: bool,
    err: Option<String>,
}

impl Port {
    fn open(mut chip: Chip<BenchSpi>) -> Result<Port, String> {
        let mode = SocketMode::new(Protocol::Macraw).with(SocketMode::MULTI_MFEN, true);
        chip.open_socket(S0, mode, 0).map_err(|e| e.to_string())?;
        chip.set_socket_interrupt_mask(S0, SocketInterrupt::RECV | SocketInterrupt::SEND_OK)
            .map_err(|e| e.to_string())?;
        chip.set_interrupt_masks(Interrupt::empty(), Ss::from_bits_retain(1))
            .map_err(|e| e.to_string())?;
        let (_, wr) = chip.tx_state(S0).map_err(|e| e.to_string())?;
        Ok(Port {
            chip,
            tx_wr: wr,
            busy: false,
            rx_hint: true,
            err: None,
        })
    }

    /// INTn asserted: read and clear S0_IR.
    fn service(&mut self) {
        match self.chip.socket_events(S0) {
            Ok((ir, _)) => {
                if ir.intersects(SocketInterrupt::SEND_OK | SocketInterrupt::TIMEOUT) {
                    self.busy = false;
                }
                if ir.contains(SocketInterrupt::RECV) {
                    self.rx_hint = true;
                }
                if let Err(e) = self.chip.clear_socket_events(S0, ir) {
                    self.err = Some(e.to_string());
                }
            }
            Err(e) => self.err = Some(e.to_string()),
        }
    }

    fn recv_frame(&mut self) -> Option<Vec<u8>> {
        if !self.rx_hint {
            return None;
        }
        let r = (|| -> Result<Option<Vec<u8>>, w5500_driver::Error> {
            let rx = self.chip.rx_state(S0)?;
            if rx.received < 2 {
                self.rx_hint = false;
                return Ok(None);
            }
            let mut head = [0u8; 2];
            self.chip.read_rx(S0, rx.read_ptr, &mut head)?;
            let total = u16::from_be_bytes(head);
            if total < 2 || total > rx.received {
                // Corrupt ring: drop everything.
                self.chip
                    .consume_rx(S0, rx.read_ptr.wrapping_add(rx.received))?;
                return Ok(None);
            }
            let mut frame = vec![0u8; usize::from(total - 2)];
            self.chip
                .read_rx(S0, rx.read_ptr.wrapping_add(2), &mut frame)?;
            self.chip.consume_rx(S0, rx.read_ptr.wrapping_add(total))?;
            if total == rx.received {
                // The ring is empty now; the next frame raises RECV again.
                self.rx_hint = false;
            }
            Ok(Some(frame))
        })();
        match r {
            Ok(f) => f,
            Err(e) => {
                self.err = Some(e.to_string());
                None
            }
        }
    }

    fn send_frame(&mut self, frame: &[u8]) {
        let r = (|| -> Result<(), w5500_driver::Error> {
            self.tx_wr = self.chip.write_tx(S0, self.tx_wr, frame)?;
            self.chip.command(S0, SocketCommand::Send)?;
            Ok(())
        })();
        self.busy = true;
        if let Err(e) = r {
            self.err = Some(e.to_string());
        }
    }
}

/// smoltcp's view of the port.
pub struct Dev(Rc<RefCell<Port>>);

/// A received frame.
pub struct Rx(Vec<u8>);
/// Permission to send one frame.
pub struct Tx(Rc<RefCell<Port>>);

impl RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl TxToken for Tx {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = vec![0u8; len];
        let r = f(&mut buf);
        self.0.borrow_mut().send_frame(&buf);
        r
    }
}

impl Device for Dev {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx;

    fn receive(&mut self, _t: SInstant) -> Option<(Rx, Tx)> {
        let f = self.0.borrow_mut().recv_frame()?;
        Some((Rx(f), Tx(self.0.clone())))
    }

    fn transmit(&mut self, _t: SInstant) -> Option<Tx> {
        if self.0.borrow().busy {
            return None;
        }
        Some(Tx(self.0.clone()))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut c = DeviceCapabilities::default();
        c.medium = Medium::Ethernet;
        c.max_transmission_unit = 1514;
        c
    }
}

fn ep(a: SocketAddrV4) -> IpEndpoint {
    let o = a.ip().octets();
    IpEndpoint::new(IpAddress::v4(o[0], o[1], o[2], o[3]), a.port())
}

fn now(env: &Env) -> SInstant {
    SInstant::from_micros(env.now_us() as i64)
}

/// The stack: interface, device, sockets.
pub struct Net {
    /// The interface.
    pub iface: Interface,
    dev: Dev,
    port: Rc<RefCell<Port>>,
    /// The sockets.
    pub sockets: SocketSet<'static>,
}

/// What the application did in one step.
pub enum Step {
    /// Finished.
    Done,
    /// Did something: poll again at once.
    Progress,
    /// Nothing to do until the network moves.
    Idle,
}

impl Net {
    /// smoltcp on a chip brought up on `env` (`with_ip`: the static address; else none, for
    /// DHCP).
    pub fn new(env: &Env, with_ip: bool) -> Result<Net, String> {
        let chip = env.bring_up(true)?;
        let port = Rc::new(RefCell::new(Port::open(chip)?));
        let mut dev = Dev(port.clone());
        let mut cfg = Config::new(HardwareAddress::Ethernet(EthernetAddress(env::MAC)));
        cfg.random_seed = 0x5eed;
        let mut iface = Interface::new(cfg, &mut dev, now(env));
        if with_ip {
            let o = standard::CHIP_STATIC.octets();
            iface.update_ip_addrs(|a| {
                let _ = a.push(IpCidr::new(IpAddress::v4(o[0], o[1], o[2], o[3]), 24));
            });
            let g = standard::GATEWAY.octets();
            let _ = iface
                .routes_mut()
                .add_default_ipv4_route(Ipv4Address::new(g[0], g[1], g[2], g[3]));
        }
        Ok(Net {
            iface,
            dev,
            port,
            sockets: SocketSet::new(vec![]),
        })
    }

    /// Poll the stack and run `app` until it says Done; between, wait for INTn or smoltcp's
    /// next timer.
    pub fn drive(
        &mut self,
        env: &Env,
        mut app: impl FnMut(&mut Interface, &mut SocketSet<'static>) -> Result<Step, String>,
    ) -> Result<(), String> {
        for _ in 0..50_000_000u64 {
            let t = now(env);
            drv(|| self.iface.poll(t, &mut self.dev, &mut self.sockets));
            if let Some(e) = self.port.borrow_mut().err.take() {
                return Err(format!("MACRAW port: {e}"));
            }
            match drv(|| app(&mut self.iface, &mut self.sockets))? {
                Step::Done => return Ok(()),
                Step::Progress => continue,
                Step::Idle => {}
            }
            let t = now(env);
            drv(|| self.iface.poll(t, &mut self.dev, &mut self.sockets));
            let t = now(env);
            let delay = drv(|| self.iface.poll_delay(t, &self.sockets))
                .map(|d| d.total_micros())
                .unwrap_or(1_000_000);
            let rx_pending = self.port.borrow().rx_hint;
            if rx_pending {
                continue;
            }
            // With a frame in flight the chip refuses the next SEND, so when smoltcp only
            // wants to transmit (delay 0) the next thing to wait for is SEND_OK on INTn, as
            // the INTn-driven runner of embassy-net-wiznet does (not a 1 µs poll loop).
            let busy = self.port.borrow().busy;
            let wait = if delay == 0 && busy {
                1_000_000
            } else {
                delay.clamp(1, 1_000_000)
            };
            if env.wait_int(wait) {
                drv(|| self.port.borrow_mut().service());
            }
        }
        Err("the smoltcp loop did not finish".into())
    }
}

fn tcp_socket(net: &mut Net) -> SocketHandle {
    let s = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; TCP_BUF]),
        tcp::SocketBuffer::new(vec![0; TCP_BUF]),
    );
    net.sockets.add(s)
}

fn connect(env: &Env, net: &mut Net, to: SocketAddrV4, local: u16) -> Result<SocketHandle, String> {
    let h = drv(|| {
        let h = tcp_socket(net);
        let cx = net.iface.context();
        net.sockets
            .get_mut::<tcp::Socket>(h)
            .connect(cx, ep(to), local)
            .map(|_| h)
    })
    .map_err(|e| format!("connect: {e:?}"))?;
    net.drive(env, |_, s| {
        let sock = s.get_mut::<tcp::Socket>(h);
        Ok(match sock.state() {
            tcp::State::Established => Step::Done,
            tcp::State::Closed => return Err("connect refused".into()),
            _ => Step::Idle,
        })
    })?;
    Ok(h)
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

fn echo_once(env: &Env, net: &mut Net, h: SocketHandle, i: u64) -> Result<(), String> {
    let p = env::payload(i, 64);
    let mut sent = 0;
    let mut got = Vec::new();
    net.drive(env, |_, s| {
        let sock = s.get_mut::<tcp::Socket>(h);
        let mut progress = false;
        if sent < p.len() && sock.can_send() {
            sent += sock.send_slice(&p[sent..]).map_err(|e| format!("{e:?}"))?;
            progress = true;
        }
        if sock.can_recv() {
            let mut b = [0u8; 64];
            let k = sock.recv_slice(&mut b).map_err(|e| format!("{e:?}"))?;
            got.extend_from_slice(&b[..k]);
        }
        if got.len() >= 64 {
            return Ok(Step::Done);
        }
        if !sock.is_open() {
            return Err("echo connection closed".into());
        }
        Ok(if progress { Step::Progress } else { Step::Idle })
    })?;
    if got != p {
        return Err(format!("echo {i} corrupt"));
    }
    Ok(())
}

/// Run `w` with smoltcp over MACRAW.
/// (The DHCP and DNS workloads are [`crate::smolsvc`]'s.)
pub fn run(env: &Env, w: &Work) -> Result<Run, String> {
    let mut net = Net::new(env, true)?;
    let net = &mut net;
    match *w {
        Work::TcpRecv(n) => {
            let h = connect(
                env,
                net,
                SocketAddrV4::new(standard::BULK, SOURCE_PORT),
                40000,
            )?;
            env.start();
            let t0 = env.now_us();
            let mut got = 0u64;
            let mut buf = vec![0u8; TCP_BUF];
            let mut bad = None;
            net.drive(env, |_, s| {
                let sock = s.get_mut::<tcp::Socket>(h);
                let mut progress = false;
                while sock.can_recv() {
                    let k = sock.recv_slice(&mut buf).map_err(|e| format!("{e:?}"))?;
                    if k == 0 {
                        break;
                    }
                    if bad.is_none() && !excl(|| buf[..k] == env::pattern(got, k)[..]) {
                        bad = Some(got);
                    }
                    got += k as u64;
                    progress = true;
                }
                if !sock.may_recv() && got > 0 {
                    sock.close();
                    return Ok(Step::Done);
                }
                Ok(if progress { Step::Progress } else { Step::Idle })
            })?;
            if let Some(at) = bad {
                return Err(format!("corrupt data at {at}"));
            }
            if got != n {
                return Err(format!("received {got} of {n}"));
            }
            done(env, n, n / 1024, t0)
        }
        Work::TcpSend(n) => {
            let h = connect(
                env,
                net,
                SocketAddrV4::new(standard::BULK, SINK_PORT),
                40000,
            )?;
            env.start();
            let t0 = env.now_us();
            let mut off = 0u64;
            net.drive(env, |_, s| {
                let sock = s.get_mut::<tcp::Socket>(h);
                let mut progress = false;
                while off < n && sock.can_send() {
                    let len = (n - off).min(4096) as usize;
                    let data = excl(|| env::pattern(off, len));
                    let k = sock.send_slice(&data).map_err(|e| format!("{e:?}"))?;
                    if k == 0 {
                        break;
                    }
                    off += k as u64;
                    progress = true;
                }
                if off == n && sock.send_queue() == 0 {
                    sock.close();
                    return Ok(Step::Done);
                }
                Ok(if progress { Step::Progress } else { Step::Idle })
            })?;
            let r = done(env, n, n / 1024, t0);
            // Keep the stack running until the sink has everything (not measured).
            let mut left = 2_000u32;
            net.drive(env, |_, _| {
                left = left.saturating_sub(1);
                Ok(if env.sink_result().0 >= n || left == 0 {
                    Step::Done
                } else {
                    Step::Idle
                })
            })?;
            env.wait_sink(n)?;
            r
        }
        Work::UdpTx { size, count } => {
            let h = udp_socket(net)?;
            let to = ep(SocketAddrV4::new(standard::PEER, env::UDP_SINK_PORT));
            env.start();
            let t0 = env.now_us();
            let mut i = 0u32;
            net.drive(env, |_, s| {
                let sock = s.get_mut::<udp::Socket>(h);
                let mut progress = false;
                while i < count && sock.can_send() {
                    let p = excl(|| env::payload(u64::from(i), size));
                    match sock.send_slice(&p, to) {
                        Ok(()) => {
                            i += 1;
                            progress = true;
                        }
                        Err(udp::SendError::BufferFull) => break,
                        Err(e) => return Err(format!("{e:?}")),
                    }
                }
                if i == count && sock.send_queue() == 0 {
                    return Ok(Step::Done);
                }
                Ok(if progress { Step::Progress } else { Step::Idle })
            })?;
            let r = done(env, size as u64 * u64::from(count), u64::from(count), t0);
            let mut left = 200u32;
            net.drive(env, |_, _| {
                left = left.saturating_sub(1);
                Ok(if left == 0 { Step::Done } else { Step::Idle })
            })?;
            env.check_udp_tx(size, count)?;
            r
        }
        Work::UdpRx { size, count } => {
            let h = udp_socket(net)?;
            env.start();
            let t0 = env.now_us();
            for i in 0..count {
                let p = env::payload(u64::from(i), size);
                env.udp_inject(standard::CHIP_STATIC, &p);
                let mut got = None;
                net.drive(env, |_, s| {
                    let sock = s.get_mut::<udp::Socket>(h);
                    let mut b = [0u8; 2048];
                    if let Ok((k, _)) = sock.recv_slice(&mut b) {
                        got = Some(excl(|| b[..k].to_vec()));
                        return Ok(Step::Done);
                    }
                    Ok(Step::Idle)
                })?;
                if got.as_deref() != Some(&p[..]) {
                    return Err(format!("datagram {i} corrupt"));
                }
            }
            done(env, size as u64 * u64::from(count), u64::from(count), t0)
        }
        Work::Echo { count } => {
            let h = connect(env, net, SocketAddrV4::new(standard::ECHO, 7), 40000)?;
            env.start();
            let t0 = env.now_us();
            for i in 0..count {
                echo_once(env, net, h, u64::from(i))?;
            }
            done(env, 128 * u64::from(count), u64::from(count), t0)
        }
        Work::Cycles { count } => {
            env.start();
            let t0 = env.now_us();
            for i in 0..count {
                let port = 40000u16.wrapping_add(i as u16 % 20_000);
                let h = connect(env, net, SocketAddrV4::new(standard::ECHO, 7), port)?;
                echo_once(env, net, h, u64::from(i))?;
                drv(|| net.sockets.get_mut::<tcp::Socket>(h).close());
                let mut left = 100_000u32;
                net.drive(env, |_, s| {
                    left = left.saturating_sub(1);
                    let st = s.get_mut::<tcp::Socket>(h).state();
                    Ok(match st {
                        tcp::State::Closed | tcp::State::TimeWait => Step::Done,
                        _ if left == 0 => return Err(format!("close stuck in {st}")),
                        _ => Step::Idle,
                    })
                })?;
                drv(|| net.sockets.remove(h));
            }
            done(env, 128 * u64::from(count), u64::from(count), t0)
        }
        Work::Dhcp | Work::Dns => Err("unreachable".into()),
    }
}

fn udp_socket(net: &mut Net) -> Result<SocketHandle, String> {
    let mut s = udp::Socket::new(
        udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 8], vec![0; 8 * 1536]),
        udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 8], vec![0; 8 * 1536]),
    );
    s.bind(CHIP_UDP_PORT).map_err(|e| format!("bind: {e:?}"))?;
    Ok(net.sockets.add(s))
}
