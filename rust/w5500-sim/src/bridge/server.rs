//! The bridge server: one client at a time, one reply per request.

use core::time::Duration;
use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpListener;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;

use super::{
    encode_reports, op, status, BridgeTarget, ClockMode, LanError, ListenAddr, MAGIC, MAX_PAYLOAD,
    MAX_REPORTS_PER_REPLY, MAX_WAIT, VERSION,
};

/// How a [`Server`] presents itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// The clock the target runs on (reported by HELLO; ADVANCE needs [`ClockMode::Sim`]).
    pub clock: ClockMode,
    /// The SPI clock the target models, in Hz (reported by HELLO).
    pub spi_hz: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            clock: ClockMode::Sim,
            spi_hz: 20_000_000,
        }
    }
}

/// A bound listening socket: Unix (the file is removed again on drop) or loopback TCP.
#[derive(Debug)]
pub enum Listener {
    /// A Unix stream socket at a path.
    Unix(UnixListener, PathBuf),
    /// A TCP socket on 127.0.0.1.
    Tcp(TcpListener),
}

/// A connected client stream.
pub(crate) trait Stream: Read + Write + Send {}
impl<S: Read + Write + Send> Stream for S {}

impl Listener {
    /// Bind `addr`. A stale Unix socket file at the path is replaced; any other file is not.
    /// TCP addresses other than 127.0.0.1 are refused.
    pub fn bind(addr: &ListenAddr) -> io::Result<Listener> {
        match addr {
            ListenAddr::Unix(path) => {
                use std::os::unix::fs::FileTypeExt;
                if let Ok(meta) = std::fs::symlink_metadata(path) {
                    if meta.file_type().is_socket() {
                        std::fs::remove_file(path)?;
                    }
                }
                Ok(Listener::Unix(UnixListener::bind(path)?, path.clone()))
            }
            ListenAddr::Tcp(a) => {
                if !a.ip().is_loopback() || *a.ip() != std::net::Ipv4Addr::LOCALHOST {
                    return Err(io::Error::new(
                        ErrorKind::InvalidInput,
                        "the bridge only listens on 127.0.0.1",
                    ));
                }
                Ok(Listener::Tcp(TcpListener::bind(a)?))
            }
        }
    }

    /// Where clients connect (with the port the OS picked for `tcp:127.0.0.1:0`).
    pub fn local_addr(&self) -> io::Result<ListenAddr> {
        match self {
            Listener::Unix(_, p) => Ok(ListenAddr::Unix(p.clone())),
            Listener::Tcp(l) => match l.local_addr()? {
                std::net::SocketAddr::V4(a) => Ok(ListenAddr::Tcp(a)),
                std::net::SocketAddr::V6(_) => Err(io::Error::other("IPv6 listener")),
            },
        }
    }

    fn accept(&self) -> io::Result<Box<dyn Stream>> {
        match self {
            Listener::Unix(l, _) => Ok(Box::new(l.accept()?.0)),
            Listener::Tcp(l) => {
                let (s, _) = l.accept()?;
                let _ = s.set_nodelay(true);
                Ok(Box::new(s))
            }
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Serves a [`BridgeTarget`] to bridge clients (protocol in the [module docs](super)).
#[derive(Debug)]
pub struct Server<T: BridgeTarget> {
    target: T,
    config: ServerConfig,
}

/// Per-connection state.
#[derive(Default)]
struct Session {
    hello: bool,
    selected: bool,
    reset_held: bool,
}

/// What to do after a reply.
enum After {
    Continue,
    Close,
}

impl<T: BridgeTarget> Server<T> {
    /// A server for `target`.
    pub fn new(target: T, config: ServerConfig) -> Self {
        Server { target, config }
    }

    /// The target.
    pub fn target(&self) -> &T {
        &self.target
    }

    /// The target, mutably.
    pub fn target_mut(&mut self) -> &mut T {
        &mut self.target
    }

    /// Give the target back.
    pub fn into_target(self) -> T {
        self.target
    }

    /// Accept and serve clients one after another; stop after `max_clients` when given.
    /// Errors of single connections end that connection, not the server.
    pub fn serve(&mut self, listener: &Listener, max_clients: Option<usize>) -> io::Result<()> {
        let mut served = 0usize;
        while max_clients.is_none_or(|m| served < m) {
            let stream = listener.accept()?;
            served = served.saturating_add(1);
            if let Err(e) = self.serve_stream(stream) {
                log::debug!("bridge: client ended with {e}");
            }
        }
        Ok(())
    }

    /// Serve one connected client until it leaves; then deselect and release RSTn if it left
    /// them active.
    pub fn serve_stream<S: Read + Write>(&mut self, mut stream: S) -> io::Result<()> {
        let mut session = Session::default();
        let result = self.session_loop(&mut stream, &mut session);
        if session.selected {
            self.target.deselect();
        }
        if session.reset_held {
            self.target.set_reset_pin(false);
        }
        result
    }

    fn session_loop<S: Read + Write>(
        &mut self,
        s: &mut S,
        session: &mut Session,
    ) -> io::Result<()> {
        loop {
            let mut header = [0u8; 5];
            match read_full(s, &mut header)? {
                0 => return Ok(()),
                n if n < header.len() => return Ok(()),
                _ => {}
            }
            let [opcode, l0, l1, l2, l3] = header;
            let len = u32::from_be_bytes([l0, l1, l2, l3]);
            if len > MAX_PAYLOAD {
                reply(s, status::TOO_LARGE, b"payload length above 1 MiB")?;
                return Ok(());
            }
            let mut payload = vec![0u8; len as usize];
            if read_full(s, &mut payload)? < payload.len() {
                return Ok(());
            }
            let (st, body, after) = self.handle(session, opcode, payload);
            reply(s, st, &body)?;
            if let After::Close = after {
                return Ok(());
            }
        }
    }

    fn handle(&mut self, ss: &mut Session, opcode: u8, mut p: Vec<u8>) -> (u8, Vec<u8>, After) {
        use After::*;
        let err = |st: u8, msg: &str| (st, msg.as_bytes().to_vec(), Continue);
        if opcode == op::HELLO {
            if ss.hello {
                return err(status::BAD_STATE, "HELLO already done");
            }
            let (Some(magic), Some(v)) = (p.get(0..4), p.get(4..6)) else {
                return err(status::BAD_REQUEST, "HELLO needs magic and version");
            };
            if magic != MAGIC || p.len() != 6 {
                return err(status::BAD_REQUEST, "bad HELLO magic");
            }
            let version = u16::from_be_bytes([
                v.first().copied().unwrap_or(0),
                v.get(1).copied().unwrap_or(0),
            ]);
            if version != VERSION {
                return (
                    status::VERSION,
                    b"this server speaks version 1".to_vec(),
                    Close,
                );
            }
            ss.hello = true;
            let mut r = MAGIC.to_vec();
            r.extend_from_slice(&VERSION.to_be_bytes());
            r.push(self.config.clock.to_wire());
            r.extend_from_slice(&self.config.spi_hz.to_be_bytes());
            return (status::OK, r, Continue);
        }
        if !ss.hello {
            return err(status::BAD_STATE, "HELLO first");
        }
        let empty = p.is_empty();
        let ok = |body: Vec<u8>| (status::OK, body, Continue);
        match opcode {
            op::BYE if empty => (status::OK, Vec::new(), Close),
            op::SELECT if empty => {
                if ss.selected {
                    return err(status::BAD_STATE, "already selected");
                }
                self.target.select();
                ss.selected = true;
                ok(Vec::new())
            }
            op::TRANSFER => {
                if !ss.selected {
                    return err(status::BAD_STATE, "TRANSFER outside SELECT..DESELECT");
                }
                self.target.transfer_in_place(&mut p);
                ok(p)
            }
            op::DESELECT if empty => {
                if !ss.selected {
                    return err(status::BAD_STATE, "not selected");
                }
                self.target.deselect();
                ss.selected = false;
                ok(Vec::new())
            }
            op::RESET_PULSE if empty => {
                if ss.selected {
                    return err(status::BAD_STATE, "deselect before reset");
                }
                self.target.hardware_reset();
                ok(Vec::new())
            }
            op::SET_RESET_PIN => match p.as_slice() {
                [v @ (0 | 1)] => {
                    let low = *v == 1;
                    self.target.set_reset_pin(low);
                    ss.reset_held = low;
                    ok(Vec::new())
                }
                _ => err(status::BAD_REQUEST, "SET_RESET_PIN takes one byte, 0 or 1"),
            },
            op::GET_INT if empty => ok(vec![u8::from(self.target.int_asserted())]),
            op::WAIT_INT => match p.as_slice() {
                [a, b, c, d] => {
                    let us = u32::from_be_bytes([*a, *b, *c, *d]);
                    let got = self.wait_int(Duration::from_micros(u64::from(us)).min(MAX_WAIT));
                    ok(vec![u8::from(got)])
                }
                _ => err(status::BAD_REQUEST, "WAIT_INT takes a u32"),
            },
            op::GET_TIME if empty => ok(self.target.now().as_micros().to_be_bytes().to_vec()),
            op::ADVANCE => match <[u8; 8]>::try_from(p.as_slice()) {
                Ok(b) => {
                    if self.config.clock != ClockMode::Sim {
                        return err(status::UNSUPPORTED, "ADVANCE needs the simulated clock");
                    }
                    self.target
                        .advance(Duration::from_micros(u64::from_be_bytes(b)));
                    ok(self.target.now().as_micros().to_be_bytes().to_vec())
                }
                Err(_) => err(status::BAD_REQUEST, "ADVANCE takes a u64"),
            },
            op::LAN_CLIENT => {
                let Ok(text) = std::str::from_utf8(&p) else {
                    return err(status::BAD_REQUEST, "LAN_CLIENT text must be UTF-8");
                };
                match self.target.lan_clients(text) {
                    Ok(ids) => {
                        let n = u16::try_from(ids.len()).unwrap_or(u16::MAX);
                        let mut r = n.to_be_bytes().to_vec();
                        for id in ids.iter().take(usize::from(n)) {
                            r.extend_from_slice(&id.to_be_bytes());
                        }
                        ok(r)
                    }
                    Err(e) => lan_err(e),
                }
            }
            op::LAN_REPORTS if empty => match self.target.lan_reports(MAX_REPORTS_PER_REPLY) {
                Ok((pending, reports)) => ok(encode_reports(pending, &reports)),
                Err(e) => lan_err(e),
            },
            op::BYE
            | op::SELECT
            | op::DESELECT
            | op::RESET_PULSE
            | op::GET_INT
            | op::GET_TIME
            | op::LAN_REPORTS => err(status::BAD_REQUEST, "this request takes no payload"),
            _ => err(status::BAD_REQUEST, "unknown op"),
        }
    }

    /// Wait until INTn is asserted or `timeout` passed: in 1 ms steps of simulated time on the
    /// simulated clock, of real time on the wall clock.
    fn wait_int(&mut self, timeout: Duration) -> bool {
        let step = Duration::from_millis(1);
        let mut waited = Duration::ZERO;
        let start = std::time::Instant::now();
        loop {
            if self.target.int_asserted() {
                return true;
            }
            if waited >= timeout {
                return false;
            }
            let d = step.min(timeout.saturating_sub(waited));
            match self.config.clock {
                ClockMode::Sim => {
                    self.target.advance(d);
                    waited = waited.saturating_add(d);
                }
                ClockMode::Wall => {
                    std::thread::sleep(d);
                    waited = start.elapsed();
                }
            }
        }
    }
}

fn lan_err(e: LanError) -> (u8, Vec<u8>, After) {
    match e {
        LanError::Unsupported => (
            status::UNSUPPORTED,
            b"the chip is not on the in-memory LAN".to_vec(),
            After::Continue,
        ),
        LanError::Bad(m) => (status::BAD_REQUEST, m.into_bytes(), After::Continue),
    }
}

/// Read until `buf` is full or EOF; returns how many bytes were read.
fn read_full<S: Read>(s: &mut S, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        let Some(rest) = buf.get_mut(got..) else {
            break;
        };
        match s.read(rest) {
            Ok(0) => break,
            Ok(n) => got = got.saturating_add(n),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

fn reply<S: Write>(s: &mut S, st: u8, body: &[u8]) -> io::Result<()> {
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
    let mut msg = Vec::with_capacity(body.len().saturating_add(5));
    msg.push(st);
    msg.extend_from_slice(&len.to_be_bytes());
    msg.extend_from_slice(body);
    s.write_all(&msg)?;
    s.flush()
}
