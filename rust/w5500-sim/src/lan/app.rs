//! The application interfaces of LAN hosts: [`TcpApp`] (one instance per connection) and
//! [`UdpApp`] (one instance per bound port), with the small "I/O handles" they act through.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::any::Any;
use core::net::{Ipv4Addr, SocketAddrV4};

use crate::net::MacAddr;
use crate::time::Instant;

/// TCP connection states of a host (RFC 9293 §3.3.2); LISTEN lives in the host's listener table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpState {
    /// Active open: SYN sent.
    SynSent,
    /// Passive open: SYN received, SYN-ACK sent.
    SynReceived,
    /// Data flows both ways.
    Established,
    /// Our FIN sent, not yet acknowledged.
    FinWait1,
    /// Our FIN acknowledged, waiting for the peer's.
    FinWait2,
    /// Peer's FIN received; we may still send.
    CloseWait,
    /// Both FINs sent, ours not yet acknowledged.
    Closing,
    /// Peer closed first, our FIN sent.
    LastAck,
    /// Both sides closed; waiting 2·MSL.
    TimeWait,
    /// Gone (reset, timed out or fully closed).
    Closed,
}

/// How a host's side of a TCP connection receives: its buffer size (the window it advertises)
/// and how fast its application reads, so a slow sink makes the sender stall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpOptions {
    /// Receive buffer in bytes; the advertised window is its free part.
    pub recv_buffer: u16,
    /// Application read rate in bytes per second; `None` reads everything at once, `Some(0)`
    /// stops reading (the window closes once the buffer is full).
    pub read_rate: Option<u32>,
    /// The MSS this host announces in its SYN.
    pub mss: u16,
}

impl Default for TcpOptions {
    fn default() -> Self {
        TcpOptions {
            recv_buffer: 65_535,
            read_rate: None,
            mss: 1460,
        }
    }
}

/// What a [`TcpApp`] callback may do: queue bytes, close (FIN after the queued data), abort
/// (RST), or change how fast it reads.
#[derive(Debug, Default)]
pub struct TcpIo {
    pub(crate) out: Vec<u8>,
    pub(crate) close: bool,
    pub(crate) abort: bool,
    pub(crate) queued: usize,
    pub(crate) read_rate: Option<Option<u32>>,
    pub(crate) local: Option<SocketAddrV4>,
    pub(crate) remote: Option<SocketAddrV4>,
}

impl TcpIo {
    pub(crate) fn new(queued: usize, local: SocketAddrV4, remote: SocketAddrV4) -> Self {
        TcpIo {
            queued,
            local: Some(local),
            remote: Some(remote),
            ..Default::default()
        }
    }

    /// Queue `data` for sending (after everything queued before).
    pub fn send(&mut self, data: &[u8]) {
        self.out.extend_from_slice(data);
    }

    /// Queue up to `n` bytes that `fill` writes into a buffer of `n` bytes (it returns how
    /// many it wrote): a body generated as it is sent, without an intermediate copy. Returns
    /// the count queued, or the error of `fill` (or of the allocation: nothing is queued).
    pub fn send_from(
        &mut self,
        n: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<usize, &'static str>,
    ) -> Result<usize, &'static str> {
        let start = self.out.len();
        if self.out.try_reserve(n).is_err() {
            return Err("simulator heap short");
        }
        self.out.resize(start.saturating_add(n), 0);
        let r = match self.out.get_mut(start..) {
            Some(buf) => fill(buf),
            None => Ok(0),
        };
        match r {
            Ok(k) => {
                self.out.truncate(start.saturating_add(k.min(n)));
                Ok(k.min(n))
            }
            Err(e) => {
                self.out.truncate(start);
                Err(e)
            }
        }
    }

    /// Send FIN once everything queued is sent (half-close: receiving continues).
    pub fn close(&mut self) {
        self.close = true;
    }

    /// Reset the connection now (RST), dropping unsent data.
    pub fn abort(&mut self) {
        self.abort = true;
    }

    /// Bytes queued earlier that the peer has not acknowledged yet (plus those queued in this
    /// callback), so a source can keep a bounded amount in flight.
    pub fn queued(&self) -> usize {
        self.queued.saturating_add(self.out.len())
    }

    /// Change the application read rate (see [`TcpOptions::read_rate`]).
    pub fn set_read_rate(&mut self, rate: Option<u32>) {
        self.read_rate = Some(rate);
    }

    /// This host's end of the connection.
    pub fn local(&self) -> Option<SocketAddrV4> {
        self.local
    }

    /// The peer's end of the connection.
    pub fn remote(&self) -> Option<SocketAddrV4> {
        self.remote
    }
}

/// An application on one TCP connection of a host. Every callback may act through [`TcpIo`].
/// Apps are `Any`, so tests can downcast them to read what they recorded.
pub trait TcpApp: Any + Send {
    /// The three-way handshake completed.
    fn on_connect(&mut self, _now: Instant, _io: &mut TcpIo) {}
    /// In-order bytes arrived (already acknowledged by the host).
    fn on_data(&mut self, now: Instant, data: &[u8], io: &mut TcpIo);
    /// The peer sent FIN (after all its data was delivered).
    fn on_peer_fin(&mut self, _now: Instant, _io: &mut TcpIo) {}
    /// The connection was reset by the peer or timed out.
    fn on_reset(&mut self, _now: Instant) {}
    /// The connection reached CLOSED after an orderly close.
    fn on_closed(&mut self, _now: Instant) {}
    /// Called after every event on this connection while it can send.
    fn poll(&mut self, _now: Instant, _io: &mut TcpIo) {}
}

/// Makes one [`TcpApp`] per accepted connection on a listening port.
pub type TcpAppFactory = Box<dyn FnMut(SocketAddrV4) -> Box<dyn TcpApp> + Send>;

/// A datagram a [`UdpApp`] wants sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutDatagram {
    /// Source port on this host.
    pub src_port: u16,
    /// Destination address and port (broadcast and multicast allowed).
    pub dst: SocketAddrV4,
    /// Send to this MAC without ARP (a DHCP server answering a client that has no address yet).
    pub dst_mac: Option<MacAddr>,
    /// Payload.
    pub payload: Vec<u8>,
}

/// What a [`UdpApp`] callback may do: send datagrams, and learn about its host.
#[derive(Debug)]
pub struct UdpCtx {
    pub(crate) out: Vec<OutDatagram>,
    pub(crate) host_ip: Ipv4Addr,
    pub(crate) host_mac: MacAddr,
    pub(crate) random: u64,
}

impl UdpCtx {
    pub(crate) fn new(host_ip: Ipv4Addr, host_mac: MacAddr, random: u64) -> Self {
        UdpCtx {
            out: Vec::new(),
            host_ip,
            host_mac,
            random,
        }
    }

    /// Send `payload` from `src_port` to `dst`.
    pub fn send(&mut self, src_port: u16, dst: SocketAddrV4, payload: Vec<u8>) {
        self.out.push(OutDatagram {
            src_port,
            dst,
            dst_mac: None,
            payload,
        });
    }

    /// Send to `dst` at MAC `mac` without resolving it by ARP.
    pub fn send_to_mac(
        &mut self,
        src_port: u16,
        dst: SocketAddrV4,
        mac: MacAddr,
        payload: Vec<u8>,
    ) {
        self.out.push(OutDatagram {
            src_port,
            dst,
            dst_mac: Some(mac),
            payload,
        });
    }

    /// The host's IPv4 address.
    pub fn host_ip(&self) -> Ipv4Addr {
        self.host_ip
    }

    /// The host's MAC.
    pub fn host_mac(&self) -> MacAddr {
        self.host_mac
    }

    /// 64 bits from the host's seeded PRNG (fresh for each callback).
    pub fn random(&self) -> u64 {
        self.random
    }
}

/// A datagram as a [`UdpApp`] sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InDatagram {
    /// Sender address and port.
    pub src: SocketAddrV4,
    /// Destination address (this host, a broadcast or a multicast group) and port.
    pub dst: SocketAddrV4,
    /// Sender MAC.
    pub src_mac: MacAddr,
    /// Payload.
    pub payload: Vec<u8>,
}

/// An application bound to one UDP port of a host. `Any`, so tests can downcast it.
pub trait UdpApp: Any + Send {
    /// A datagram arrived for this port.
    fn on_datagram(&mut self, now: Instant, dgram: &InDatagram, ctx: &mut UdpCtx);
    /// Timers: called when `now` reaches [`UdpApp::next_wakeup`].
    fn poll(&mut self, _now: Instant, _ctx: &mut UdpCtx) {}
    /// When this app next wants [`UdpApp::poll`].
    fn next_wakeup(&self) -> Option<Instant> {
        None
    }
}

/// A [`TcpApp`] that records everything and sends what a test queues: the default peer a test
/// drives by hand (see `Lan::tcp_send`).
#[derive(Debug, Default)]
pub struct TcpRecorder {
    /// Every byte received, in order.
    pub received: Vec<u8>,
    /// When the handshake completed.
    pub connected_at: Option<Instant>,
    /// When the peer's FIN arrived.
    pub peer_fin_at: Option<Instant>,
    /// When the connection was reset or timed out.
    pub reset_at: Option<Instant>,
    /// When the connection closed in order.
    pub closed_at: Option<Instant>,
    /// Echo received data back (the recorder then behaves as an echo server).
    pub echo: bool,
    /// Close (FIN) once the peer's FIN arrives.
    pub close_on_peer_fin: bool,
}

impl TcpApp for TcpRecorder {
    fn on_connect(&mut self, now: Instant, _io: &mut TcpIo) {
        self.connected_at = Some(now);
    }
    fn on_data(&mut self, _now: Instant, data: &[u8], io: &mut TcpIo) {
        self.received.extend_from_slice(data);
        if self.echo {
            io.send(data);
        }
    }
    fn on_peer_fin(&mut self, now: Instant, io: &mut TcpIo) {
        self.peer_fin_at = Some(now);
        if self.close_on_peer_fin {
            io.close();
        }
    }
    fn on_reset(&mut self, now: Instant) {
        self.reset_at = Some(now);
    }
    fn on_closed(&mut self, now: Instant) {
        self.closed_at = Some(now);
    }
}

/// A [`UdpApp`] that records every datagram it receives (the default UDP peer of tests).
#[derive(Debug, Default)]
pub struct UdpRecorder {
    /// Datagrams received, with their arrival time.
    pub received: Vec<(Instant, InDatagram)>,
}

impl UdpApp for UdpRecorder {
    fn on_datagram(&mut self, now: Instant, dgram: &InDatagram, _ctx: &mut UdpCtx) {
        self.received.push((now, dgram.clone()));
    }
}
