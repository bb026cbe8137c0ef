//! The Rust bridge client: embedded-hal 1.0 SPI device, INTn input pin, RSTn output pin.

use core::fmt;
use core::time::Duration;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex, MutexGuard};

use embedded_hal::spi::Operation;

use super::server::Stream;
use super::{op, status, ClockMode, ListenAddr, MAGIC, MAX_PAYLOAD, VERSION};
use crate::lan::ClientReport;
use crate::time::Instant;

/// What went wrong talking to a bridge server.
#[derive(Debug)]
pub enum ClientError {
    /// The connection failed or closed.
    Io(io::Error),
    /// The server answered with an error status (see the protocol's status table).
    Remote {
        /// The status byte.
        status: u8,
        /// The server's message.
        message: String,
    },
    /// The server's reply did not follow the protocol.
    Protocol(&'static str),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Io(e) => write!(f, "bridge I/O: {e}"),
            ClientError::Remote { status, message } => {
                write!(f, "bridge error status {status}: {message}")
            }
            ClientError::Protocol(m) => write!(f, "bridge protocol: {m}"),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<io::Error> for ClientError {
    fn from(e: io::Error) -> Self {
        ClientError::Io(e)
    }
}

impl embedded_hal::spi::Error for ClientError {
    fn kind(&self) -> embedded_hal::spi::ErrorKind {
        embedded_hal::spi::ErrorKind::Other
    }
}

impl embedded_hal::digital::Error for ClientError {
    fn kind(&self) -> embedded_hal::digital::ErrorKind {
        embedded_hal::digital::ErrorKind::Other
    }
}

/// What the server said in its HELLO reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerInfo {
    /// Protocol version.
    pub version: u16,
    /// The server's clock.
    pub clock: ClockMode,
    /// The SPI clock the server models, in Hz.
    pub spi_hz: u32,
}

struct Conn {
    stream: Box<dyn Stream>,
}

impl Conn {
    fn request(&mut self, opcode: u8, payload: &[u8]) -> Result<(u8, Vec<u8>), ClientError> {
        let len = u32::try_from(payload.len()).map_err(|_| ClientError::Protocol("too long"))?;
        let mut msg = Vec::with_capacity(payload.len().saturating_add(5));
        msg.push(opcode);
        msg.extend_from_slice(&len.to_be_bytes());
        msg.extend_from_slice(payload);
        self.stream.write_all(&msg)?;
        self.stream.flush()?;
        let mut h = [0u8; 5];
        self.stream.read_exact(&mut h)?;
        let [st, a, b, c, d] = h;
        let n = u32::from_be_bytes([a, b, c, d]);
        if n > MAX_PAYLOAD {
            return Err(ClientError::Protocol("reply too long"));
        }
        let mut body = vec![0u8; n as usize];
        self.stream.read_exact(&mut body)?;
        Ok((st, body))
    }

    fn call(&mut self, opcode: u8, payload: &[u8]) -> Result<Vec<u8>, ClientError> {
        let (st, body) = self.request(opcode, payload)?;
        if st == status::OK {
            Ok(body)
        } else {
            Err(ClientError::Remote {
                status: st,
                message: String::from_utf8_lossy(&body).into_owned(),
            })
        }
    }
}

/// A connection to a bridge server. One [`SpiDevice`](embedded_hal::spi::SpiDevice)
/// transaction is one SELECT .. DESELECT on the server; pins are handed out with
/// [`Client::int_pin`] and [`Client::reset_pin`] and share the connection.
#[derive(Clone)]
pub struct Client {
    conn: Arc<Mutex<Conn>>,
    info: ServerInfo,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").field("info", &self.info).finish()
    }
}

fn lock(m: &Mutex<Conn>) -> MutexGuard<'_, Conn> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn u64_of(body: &[u8]) -> Result<u64, ClientError> {
    <[u8; 8]>::try_from(body)
        .map(u64::from_be_bytes)
        .map_err(|_| ClientError::Protocol("expected a u64"))
}

fn flag_of(body: &[u8]) -> Result<bool, ClientError> {
    match body {
        [0] => Ok(false),
        [1] => Ok(true),
        _ => Err(ClientError::Protocol("expected a 0/1 byte")),
    }
}

impl Client {
    /// Connect to a server and say HELLO.
    pub fn connect(addr: &ListenAddr) -> Result<Client, ClientError> {
        let stream: Box<dyn Stream> = match addr {
            ListenAddr::Unix(p) => Box::new(UnixStream::connect(p)?),
            ListenAddr::Tcp(a) => {
                let s = TcpStream::connect(a)?;
                let _ = s.set_nodelay(true);
                Box::new(s)
            }
        };
        Self::from_stream(stream)
    }

    /// Say HELLO over an already connected stream.
    pub fn from_stream<S: Read + Write + Send + 'static>(stream: S) -> Result<Client, ClientError> {
        let mut conn = Conn {
            stream: Box::new(stream),
        };
        let mut hello = MAGIC.to_vec();
        hello.extend_from_slice(&VERSION.to_be_bytes());
        let r = conn.call(op::HELLO, &hello)?;
        let info = match r.as_slice() {
            [m0, m1, m2, m3, v0, v1, c, h0, h1, h2, h3] if [*m0, *m1, *m2, *m3] == MAGIC => {
                ServerInfo {
                    version: u16::from_be_bytes([*v0, *v1]),
                    clock: ClockMode::from_wire(*c).ok_or(ClientError::Protocol("clock"))?,
                    spi_hz: u32::from_be_bytes([*h0, *h1, *h2, *h3]),
                }
            }
            _ => return Err(ClientError::Protocol("bad HELLO reply")),
        };
        Ok(Client {
            conn: Arc::new(Mutex::new(conn)),
            info,
        })
    }

    /// What the server said in HELLO.
    pub fn info(&self) -> ServerInfo {
        self.info
    }

    /// Send any request and return the raw status and payload (for tests and extensions).
    pub fn raw_request(&self, opcode: u8, payload: &[u8]) -> Result<(u8, Vec<u8>), ClientError> {
        lock(&self.conn).request(opcode, payload)
    }

    /// Chip select low.
    pub fn select(&self) -> Result<(), ClientError> {
        lock(&self.conn).call(op::SELECT, &[]).map(drop)
    }

    /// Clock `buf` out and replace it with what came back (full duplex).
    pub fn transfer_in_place(&self, buf: &mut [u8]) -> Result<(), ClientError> {
        let r = lock(&self.conn).call(op::TRANSFER, buf)?;
        if r.len() != buf.len() {
            return Err(ClientError::Protocol("TRANSFER reply length"));
        }
        buf.copy_from_slice(&r);
        Ok(())
    }

    /// Chip select high.
    pub fn deselect(&self) -> Result<(), ClientError> {
        lock(&self.conn).call(op::DESELECT, &[]).map(drop)
    }

    /// Pulse RSTn (hardware reset).
    pub fn hardware_reset(&self) -> Result<(), ClientError> {
        lock(&self.conn).call(op::RESET_PULSE, &[]).map(drop)
    }

    /// Drive RSTn low (`true`) or release it.
    pub fn set_reset_pin(&self, low: bool) -> Result<(), ClientError> {
        lock(&self.conn)
            .call(op::SET_RESET_PIN, &[u8::from(low)])
            .map(drop)
    }

    /// True while INTn is low.
    pub fn int_asserted(&self) -> Result<bool, ClientError> {
        flag_of(&lock(&self.conn).call(op::GET_INT, &[])?)
    }

    /// Wait until INTn is low or `timeout` passed (clamped to 60 s by the server); returns the
    /// level at return.
    pub fn wait_int(&self, timeout: Duration) -> Result<bool, ClientError> {
        let us = u32::try_from(timeout.as_micros()).unwrap_or(u32::MAX);
        flag_of(&lock(&self.conn).call(op::WAIT_INT, &us.to_be_bytes())?)
    }

    /// The chip's clock.
    pub fn now(&self) -> Result<Instant, ClientError> {
        u64_of(&lock(&self.conn).call(op::GET_TIME, &[])?).map(Instant::from_micros)
    }

    /// Advance the simulated clock by `d`; returns the new time.
    pub fn advance(&self, d: Duration) -> Result<Instant, ClientError> {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        u64_of(&lock(&self.conn).call(op::ADVANCE, &us.to_be_bytes())?).map(Instant::from_micros)
    }

    /// Schedule clients on the simulated LAN that connect to the chip (`LAN_CLIENT`; text in
    /// [`crate::lan::clients::spec`]); returns their ids.
    pub fn lan_clients(&self, spec: &str) -> Result<Vec<u32>, ClientError> {
        let b = lock(&self.conn).call(op::LAN_CLIENT, spec.as_bytes())?;
        let n = b
            .get(..2)
            .map(|c| usize::from(u16::from_be_bytes([c[0], c[1]])))
            .ok_or(ClientError::Protocol("LAN_CLIENT reply"))?;
        let ids: Vec<u32> = b
            .get(2..)
            .unwrap_or(&[])
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if ids.len() != n || b.len() != 2 + 4 * n {
            return Err(ClientError::Protocol("LAN_CLIENT reply"));
        }
        Ok(ids)
    }

    /// Take the reports of finished LAN-client exchanges (`LAN_REPORTS`): the count still
    /// pending, and each report with its text line.
    #[allow(clippy::type_complexity)]
    pub fn lan_reports(&self) -> Result<(u64, Vec<(ClientReport, String)>), ClientError> {
        let b = lock(&self.conn).call(op::LAN_REPORTS, &[])?;
        super::decode_reports(&b).ok_or(ClientError::Protocol("LAN_REPORTS reply"))
    }

    /// Say BYE (the server closes the connection).
    pub fn bye(self) -> Result<(), ClientError> {
        lock(&self.conn).call(op::BYE, &[]).map(drop)
    }

    /// The INTn pin, sharing this connection.
    pub fn int_pin(&self) -> IntPin {
        IntPin {
            client: self.clone(),
        }
    }

    /// The RSTn pin, sharing this connection.
    pub fn reset_pin(&self) -> ResetPin {
        ResetPin {
            client: self.clone(),
        }
    }

    fn run_ops(&self, ops: &mut [Operation<'_, u8>]) -> Result<(), ClientError> {
        for o in ops.iter_mut() {
            match o {
                Operation::Read(buf) => {
                    buf.fill(0);
                    self.transfer_in_place(buf)?;
                }
                Operation::Write(buf) => {
                    let mut tmp = buf.to_vec();
                    self.transfer_in_place(&mut tmp)?;
                }
                Operation::Transfer(read, write) => {
                    // Clock max(len) bytes; the shorter side is padded with 0x00 / discarded.
                    let n = read.len().max(write.len());
                    let mut tmp = vec![0u8; n];
                    if let Some(dst) = tmp.get_mut(..write.len()) {
                        dst.copy_from_slice(write);
                    }
                    self.transfer_in_place(&mut tmp)?;
                    let k = read.len();
                    if let Some(src) = tmp.get(..k) {
                        read.copy_from_slice(src);
                    }
                }
                Operation::TransferInPlace(buf) => self.transfer_in_place(buf)?,
                Operation::DelayNs(ns) => {
                    let d = Duration::from_nanos(u64::from(*ns));
                    match self.info.clock {
                        ClockMode::Sim => {
                            self.advance(d)?;
                        }
                        ClockMode::Wall => std::thread::sleep(d),
                    }
                }
            }
        }
        Ok(())
    }
}

impl embedded_hal::spi::ErrorType for Client {
    type Error = ClientError;
}

impl embedded_hal::spi::SpiDevice for Client {
    fn transaction(&mut self, operations: &mut [Operation<'_, u8>]) -> Result<(), ClientError> {
        self.select()?;
        let r = self.run_ops(operations);
        let d = self.deselect();
        r.and(d)
    }
}

/// The chip's INTn pin (active low) over the bridge.
#[derive(Clone, Debug)]
pub struct IntPin {
    client: Client,
}

impl IntPin {
    /// Wait until INTn is low or `timeout` passed.
    pub fn wait_low(&mut self, timeout: Duration) -> Result<bool, ClientError> {
        self.client.wait_int(timeout)
    }
}

impl embedded_hal::digital::ErrorType for IntPin {
    type Error = ClientError;
}

impl embedded_hal::digital::InputPin for IntPin {
    fn is_high(&mut self) -> Result<bool, ClientError> {
        self.client.int_asserted().map(|a| !a)
    }
    fn is_low(&mut self) -> Result<bool, ClientError> {
        self.client.int_asserted()
    }
}

/// The chip's RSTn pin (active low) over the bridge: `set_low` holds the chip in reset.
#[derive(Clone, Debug)]
pub struct ResetPin {
    client: Client,
}

impl ResetPin {
    /// Pulse the pin: a complete hardware reset.
    pub fn pulse(&mut self) -> Result<(), ClientError> {
        self.client.hardware_reset()
    }
}

impl embedded_hal::digital::ErrorType for ResetPin {
    type Error = ClientError;
}

impl embedded_hal::digital::OutputPin for ResetPin {
    fn set_low(&mut self) -> Result<(), ClientError> {
        self.client.set_reset_pin(true)
    }
    fn set_high(&mut self) -> Result<(), ClientError> {
        self.client.set_reset_pin(false)
    }
}
