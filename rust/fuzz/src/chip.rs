//! Target `hostile_chip`: the driver ([`Chip`], [`Stack`]) against a chip whose MISO bytes come
//! from the fuzz input.
//!
//! The [`HostileSpi`] answers every read from the input, one selector byte per transaction:
//! - `0x00..=0xBF`: *plausible*: the registers a bring-up or socket flow waits on are answered
//!   from a tiny model of the chip (`VERSIONR` = 0x04, `MR.RST` cleared, `Sn_CR` = 0 after a
//!   command, `Sn_SR`/`Sn_IR` following the last command, `PHYCFGR` link up, `Sn_TX_FSR` =
//!   2 KB); every other byte (sizes, pointers, buffer contents, peer addresses...) still comes
//!   raw from the input;
//! - `0xC0..=0xFE`: every byte raw from the input;
//! - `0xFF`: the SPI transfer fails (bus error).
//!
//! Input layout: `[n: u8][ops: n bytes][chip: the rest]`. The driving loop reads its op codes
//! and arguments from `ops` and stops when they run out (or after [`MAX_OPS`]); the chip
//! answers from `chip`. Past the end of `chip`, selectors and bytes read as zero: the plausible
//! chip with empty buffers, so a seed can be just a list of operations.
//!
//! Checked on every transaction: the frame is a 3-byte VDM header then data (§2.2), the block
//! select is valid, reads use RWB=0 and writes RWB=1, register accesses stay inside their
//! register file and buffer accesses inside 16 KB. Checked per driver call: at most
//! [`PER_CALL_SPI_LIMIT`] transactions and [`PER_CALL_DELAY_LIMIT_NS`] of delay, so nothing
//! read from the chip can make a call wait without bound; plus the results' own bounds (a
//! receive never reports more bytes than the buffer holds, a send never more than offered).

use core::cell::RefCell;
use core::net::{Ipv4Addr, SocketAddrV4};
use std::rc::Rc;

use embedded_hal::delay::DelayNs;
use embedded_hal::spi::{ErrorKind, ErrorType, Operation, SpiDevice};
use w5500_driver::chip::{self, Chip};
use w5500_driver::regs::{common, sn, Block};
use w5500_driver::stack::{RecvFlags, SockOpt, SockType, SocketId, Stack, StackConfig};

use crate::input::Input;

/// Most SPI transactions one driver call may make.
pub const PER_CALL_SPI_LIMIT: u32 = 10_000;
/// Most delay one driver call may ask for (the bring-up probes for about 0.2 s in total).
pub const PER_CALL_DELAY_LIMIT_NS: u64 = 2_000_000_000;
/// Driver calls made after bring-up.
pub const MAX_OPS: usize = 48;
/// Largest single buffer access (a whole 16 KB buffer memory).
pub const MAX_ACCESS: usize = 16 * 1024;
/// The chip's MAC.
pub const MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x02];

/// Size of the common register block (`VERSIONR` at 0x39 is the last register).
const COMMON_END: usize = 0x3a;
/// Size of a socket register block (`Sn_KPALVTR` at 0x2F is the last register).
const SOCKET_END: usize = 0x30;

#[derive(Clone, Copy, Debug, Default)]
struct SockModel {
    mr: u8,
    sr: u8,
    ir: u8,
}

/// What the hostile chip knows and counts; shared by the SPI device and the delay.
#[derive(Debug)]
pub struct ChipState<'a> {
    input: Input<'a>,
    mr: u8,
    phycfgr: u8,
    sock: [SockModel; 8],
    call_spi: u32,
    call_delay_ns: u64,
    /// Transactions since power-on.
    pub total_spi: u64,
    /// Driver calls that returned `Ok`.
    ok_calls: u32,
    /// Every read, when tracing (corpus generation).
    log: Option<Vec<ReadLog>>,
}

/// What a run achieved (for the seed tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChipSummary {
    /// Bring-up (`Chip::init` and `Stack::new`) succeeded.
    pub up: bool,
    /// Driver calls that returned `Ok`.
    pub ok_calls: u32,
    /// Bytes reported by successful `send` calls.
    pub sent: usize,
    /// Bytes reported by successful `recv`/`recv_datagram` calls.
    pub received: usize,
    /// SPI transactions in all.
    pub spi: u64,
}

/// One register or buffer read, as traced by [`trace_reads`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadLog {
    /// Block read.
    pub block: Block,
    /// Offset in the block.
    pub addr: u16,
    /// Bytes read.
    pub len: usize,
    /// Offset of this read's selector byte in the chip region.
    pub at: usize,
}

impl<'a> ChipState<'a> {
    fn new(data: &'a [u8]) -> Self {
        ChipState {
            input: Input::new(data),
            mr: 0,
            phycfgr: 0xbf,
            sock: [SockModel::default(); 8],
            call_spi: 0,
            call_delay_ns: 0,
            total_spi: 0,
            log: None,
            ok_calls: 0,
        }
    }

    fn model(&self, block: Block, reg: usize) -> Option<u8> {
        match block {
            Block::Common => match reg {
                r if r == usize::from(common::MR) => Some(self.mr & 0x7f),
                r if r == usize::from(common::VERSIONR) => Some(0x04),
                r if r == usize::from(common::PHYCFGR) => Some(self.phycfgr | 0x07),
                _ => None,
            },
            Block::Socket(s) => {
                let m = self.sock[s.index()];
                match reg {
                    r if r == usize::from(sn::CR) => Some(0),
                    r if r == usize::from(sn::SR) => Some(m.sr),
                    r if r == usize::from(sn::IR) => Some(m.ir),
                    r if r == usize::from(sn::TX_FSR) => Some(0x08),
                    r if r == usize::from(sn::TX_FSR) + 1 => Some(0x00),
                    _ => None,
                }
            }
            Block::TxBuf(_) | Block::RxBuf(_) => None,
        }
    }

    fn on_write(&mut self, block: Block, addr: u16, data: &[u8]) {
        for (i, &v) in data.iter().enumerate() {
            let reg = usize::from(addr) + i;
            match block {
                Block::Common if reg == usize::from(common::MR) => self.mr = v,
                Block::Common if reg == usize::from(common::PHYCFGR) => self.phycfgr = v,
                Block::Socket(s) => {
                    let m = &mut self.sock[s.index()];
                    if reg == usize::from(sn::MR) {
                        m.mr = v;
                    } else if reg == usize::from(sn::IR) {
                        m.ir &= !v;
                    } else if reg == usize::from(sn::CR) {
                        match v {
                            0x01 => {
                                m.sr = match m.mr & 0x0f {
                                    1 => 0x13,
                                    2 => 0x22,
                                    4 => 0x42,
                                    _ => 0x00,
                                }
                            }
                            0x02 if m.sr == 0x13 => m.sr = 0x14,
                            0x04 => {
                                m.sr = 0x17;
                                m.ir |= 0x01;
                            }
                            0x08 => {
                                m.sr = 0x00;
                                m.ir |= 0x02;
                            }
                            0x10 => {
                                m.sr = 0x00;
                                m.ir = 0;
                            }
                            0x20..=0x22 => m.ir |= 0x10,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn on_read(&mut self, block: Block, addr: u16, buf: &mut [u8]) -> Result<(), SpiFault> {
        let at = self.input.position();
        if let Some(log) = self.log.as_mut() {
            log.push(ReadLog {
                block,
                addr,
                len: buf.len(),
                at,
            });
        }
        let sel = self.input.u8();
        if sel == 0xff {
            return Err(SpiFault);
        }
        let plausible = sel < 0xc0;
        for (i, b) in buf.iter_mut().enumerate() {
            let reg = usize::from(addr) + i;
            *b = match self.model(block, reg) {
                Some(v) if plausible => v,
                _ => self.input.u8(),
            };
        }
        Ok(())
    }

    fn begin_call(&mut self) {
        self.call_spi = 0;
        self.call_delay_ns = 0;
    }
}

/// A bus error injected by the input.
#[derive(Clone, Copy, Debug)]
pub struct SpiFault;

impl embedded_hal::spi::Error for SpiFault {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Other
    }
}

/// The SPI device of the hostile chip.
#[derive(Debug)]
pub struct HostileSpi<'a> {
    st: Rc<RefCell<ChipState<'a>>>,
}

impl ErrorType for HostileSpi<'_> {
    type Error = SpiFault;
}

fn decode_header(h: &[u8]) -> (u16, Block, bool) {
    assert_eq!(h.len(), 3, "a frame starts with a 3-byte header (DS §2.2)");
    let addr = u16::from_be_bytes([h[0], h[1]]);
    let ctl = h[2];
    assert_eq!(ctl & 0x03, 0, "driver uses VDM only (OM = 00)");
    let block = Block::from_bsb(ctl >> 3)
        .unwrap_or_else(|| panic!("reserved block select {:#04x}", ctl >> 3));
    (addr, block, ctl & 0x04 != 0)
}

fn check_window(block: Block, addr: u16, len: usize) {
    let end = usize::from(addr) + len;
    match block {
        Block::Common => assert!(
            end <= COMMON_END,
            "common access {addr:#06x}+{len} past 0x39"
        ),
        Block::Socket(_) => assert!(
            end <= SOCKET_END,
            "socket access {addr:#06x}+{len} past 0x2F"
        ),
        Block::TxBuf(_) | Block::RxBuf(_) => {
            assert!(len <= MAX_ACCESS, "buffer access of {len} bytes")
        }
    }
}

impl SpiDevice for HostileSpi<'_> {
    fn transaction(&mut self, ops: &mut [Operation<'_, u8>]) -> Result<(), SpiFault> {
        let mut st = self.st.borrow_mut();
        st.call_spi += 1;
        st.total_spi += 1;
        assert!(
            st.call_spi <= PER_CALL_SPI_LIMIT,
            "unbounded wait: more than {PER_CALL_SPI_LIMIT} SPI transactions in one call"
        );
        let mut header: Option<(u16, Block, bool)> = None;
        let mut data_ops = 0;
        for op in ops.iter_mut() {
            match (op, header) {
                (Operation::Write(w), None) => header = Some(decode_header(w)),
                (Operation::Write(w), Some((addr, block, write))) => {
                    assert!(write, "data written in a read frame");
                    data_ops += 1;
                    check_window(block, addr, w.len());
                    st.on_write(block, addr, w);
                }
                (Operation::Read(r), Some((addr, block, write))) => {
                    assert!(!write, "data read in a write frame");
                    data_ops += 1;
                    check_window(block, addr, r.len());
                    st.on_read(block, addr, r)?;
                }
                (Operation::DelayNs(ns), _) => st.call_delay_ns += u64::from(*ns),
                (op, h) => panic!("unexpected SPI operation {op:?} after header {h:?}"),
            }
        }
        assert!(header.is_some(), "empty SPI transaction");
        assert!(data_ops <= 1, "one data phase per frame");
        Ok(())
    }
}

/// Delay that only counts (the chip never needs real time here).
#[derive(Debug)]
pub struct CountingDelay<'a> {
    st: Rc<RefCell<ChipState<'a>>>,
}

impl DelayNs for CountingDelay<'_> {
    fn delay_ns(&mut self, ns: u32) {
        let mut st = self.st.borrow_mut();
        st.call_delay_ns = st.call_delay_ns.saturating_add(u64::from(ns));
        assert!(
            st.call_delay_ns <= PER_CALL_DELAY_LIMIT_NS,
            "unbounded wait: more than {PER_CALL_DELAY_LIMIT_NS} ns of delay in one call"
        );
    }
}

/// One driver call, with the per-call counters reset before it.
fn call<T, E>(st: &Rc<RefCell<ChipState<'_>>>, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    st.borrow_mut().begin_call();
    let r = f();
    if r.is_ok() {
        st.borrow_mut().ok_calls += 1;
    }
    r
}

fn peer(ops: &mut Input<'_>) -> SocketAddrV4 {
    let sel = ops.u8();
    let ip = match sel & 3 {
        0 => Ipv4Addr::new(10, 0, 0, 9),
        1 => Ipv4Addr::BROADCAST,
        2 => Ipv4Addr::new(10, 0, 0, 255),
        _ => Ipv4Addr::new(224, 0, 0, 251),
    };
    let port = if sel & 4 != 0 { ops.u16() } else { 7 };
    SocketAddrV4::new(ip, port)
}

/// Split `data` into the op region and the chip region.
fn split(data: &[u8]) -> (&[u8], &[u8]) {
    let n = usize::from(data.first().copied().unwrap_or(0));
    let rest = data.get(1..).unwrap_or(&[]);
    rest.split_at(n.min(rest.len()))
}

/// Run the driver against the hostile chip described by `data`. Panics on a violated property.
pub fn hostile_chip(data: &[u8]) -> ChipSummary {
    run(data, false).1
}

/// Run like [`hostile_chip`] and return every read the driver made (for corpus generators:
/// where a given register's bytes sit in the chip region).
pub fn trace_reads(data: &[u8]) -> Vec<ReadLog> {
    run(data, true).0
}

fn run(data: &[u8], trace: bool) -> (Vec<ReadLog>, ChipSummary) {
    let (op_bytes, chip_bytes) = split(data);
    let mut ops = Input::new(op_bytes);
    let mut state = ChipState::new(chip_bytes);
    if trace {
        state.log = Some(Vec::new());
    }
    let st = Rc::new(RefCell::new(state));
    let mut sum = ChipSummary::default();
    let done = |st: &Rc<RefCell<ChipState<'_>>>, mut sum: ChipSummary| {
        let mut s = st.borrow_mut();
        sum.spi = s.total_spi;
        sum.ok_calls = s.ok_calls;
        (s.log.take().unwrap_or_default(), sum)
    };
    let mut chip = Chip::new(HostileSpi { st: st.clone() });
    let mut delay = CountingDelay { st: st.clone() };
    let cfg = chip::Config::new(MAC);
    if call(&st, || chip.init(&mut delay, &cfg)).is_err() {
        return done(&st, sum);
    }
    let reserved = ops.u8() % 3;
    let config = StackConfig {
        reserved_for_services: reserved,
        keepalive_units: 2,
    };
    let Ok(mut stack) = call(&st, || Stack::new(chip, config)) else {
        return done(&st, sum);
    };
    sum.up = true;
    let _ = call(&st, || {
        stack.set_ipv4(
            Ipv4Addr::new(10, 0, 0, 2),
            Ipv4Addr::new(255, 255, 255, 0),
            Ipv4Addr::new(10, 0, 0, 1),
        )
    });
    let mut ids: Vec<SocketId> = Vec::new();
    let mut now: u64 = 0;
    let mut buf = vec![0u8; 2048];
    let payload: Vec<u8> = (0..2048u32).map(|i| i as u8).collect();
    for _ in 0..MAX_OPS {
        if ops.is_empty() {
            break;
        }
        let op = ops.u8();
        let arg = ops.u8();
        now = now.saturating_add(u64::from(arg & 0x3f) * 10);
        // A handle: mostly a live one, sometimes a stale or forged one.
        let id = if arg & 0x80 != 0 || ids.is_empty() {
            SocketId::from_raw(u16::from(arg) << 4 | u16::from(arg & 7))
        } else {
            ids[usize::from(arg) % ids.len()]
        };
        let len = usize::from(ops.u16()) % (buf.len() + 1);
        let code = op % 24;
        match code {
            0 | 1 => {
                let ty = if code == 0 {
                    SockType::Stream
                } else {
                    SockType::Datagram
                };
                if let Ok(id) = call(&st, || stack.socket(ty)) {
                    ids.push(id);
                }
            }
            2 => {
                let port = ops.u16();
                let _ = call(&st, || {
                    stack.bind(id, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port))
                });
            }
            3 => {
                let p = peer(&mut ops);
                let _ = call(&st, || stack.connect(id, p));
            }
            4 => {
                let _ = call(&st, || stack.connect_result(id));
            }
            5 | 6 => {
                let to = (code == 6).then(|| peer(&mut ops));
                if let Ok(n) = call(&st, || stack.send(id, &payload[..len], to)) {
                    assert!(n <= len, "send took {n} of {len} bytes");
                    sum.sent += n;
                }
            }
            7 | 8 => {
                let flags = RecvFlags { peek: code == 8 };
                if let Ok((n, _)) = call(&st, || stack.recv(id, &mut buf[..len], flags)) {
                    assert!(n <= len, "recv reported {n} bytes into {len}");
                    sum.received += n;
                }
            }
            9 | 10 => {
                let flags = RecvFlags { peek: code == 10 };
                if let Ok((n, full, _)) =
                    call(&st, || stack.recv_datagram(id, &mut buf[..len], flags))
                {
                    assert!(
                        n <= len && n <= full,
                        "datagram: {n} copied, {full} long, {len} room"
                    );
                    sum.received += n;
                }
            }
            11 => {
                let _ = call(&st, || stack.readiness(id));
            }
            12 | 13 => {
                let poll_all = code == 13;
                if call(&st, || stack.service(now, poll_all)).is_ok() {
                    // After a successful service nothing timed is due: no busy loop.
                    if let Some(d) = stack.next_deadline_ms() {
                        assert!(d > now, "next_deadline_ms {d} <= now {now} after service");
                    }
                }
            }
            14 => {
                let backlog = u32::from(arg & 0x0f);
                let _ = call(&st, || stack.listen(id, backlog));
            }
            15 => {
                if let Ok((new, _)) = call(&st, || stack.accept(id)) {
                    ids.push(new);
                }
            }
            16 => {
                let _ = call(&st, || stack.close(id, now));
            }
            17 => {
                let opt = match arg & 7 {
                    0 => SockOpt::ReuseAddr(arg & 8 != 0),
                    1 => SockOpt::KeepAlive(arg & 8 != 0),
                    2 => SockOpt::Broadcast(arg & 8 != 0),
                    3 => SockOpt::NoDelay(true),
                    4 => SockOpt::AddMembership(Ipv4Addr::new(239, 1, 2, 3)),
                    5 => SockOpt::DropMembership(Ipv4Addr::new(239, 1, 2, 3)),
                    6 => SockOpt::NonBlocking(arg & 8 != 0),
                    _ => SockOpt::RcvTimeout(Some(u32::from(arg))),
                };
                let _ = call(&st, || stack.set_option(id, opt));
            }
            18 => {
                if let Ok(n) = call(&st, || stack.bytes_available(id)) {
                    assert!(n <= usize::from(u16::MAX), "FIONREAD {n}");
                }
            }
            19 => {
                let _ = call(&st, || stack.send_done(id));
            }
            20 => {
                let _ = call(&st, || stack.shutdown(id, arg & 1 != 0, arg & 2 != 0));
            }
            21 => {
                let _ = call(&st, || stack.abort_connect(id));
            }
            22 => {
                let _ = stack.take_error(id);
                let _ = stack.local_addr(id);
                let _ = stack.peer_addr(id);
                let _ = stack.blocking(id);
            }
            _ => {
                let c = stack.chip();
                let _ = call(&st, || c.phy_status());
                let _ = call(&st, || c.interrupts());
                let _ = call(&st, || c.ipv4());
                let _ = call(&st, || c.mac());
                let _ = call(&st, || c.retry());
            }
        }
    }
    // Orderly end: close everything, then let the background closes finish.
    for id in ids {
        let _ = call(&st, || stack.close(id, now));
    }
    for _ in 0..4 {
        now = now.saturating_add(w5500_driver::stack::CLOSE_LINGER_MS);
        let _ = call(&st, || stack.service(now, true));
    }
    done(&st, sum)
}
