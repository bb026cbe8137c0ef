//! Fixtures that run on hosts: TCP and UDP echo, an HTTP/1.x server, a byte source and a
//! byte sink for throughput and integrity tests.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::net::SocketAddrV4;

use super::app::{InDatagram, TcpApp, TcpAppFactory, TcpIo, UdpApp, UdpCtx};
use super::util::{pattern, Fnv1a};
use crate::time::Instant;

/// TCP echo (RFC 862): sends back every byte, closes after the peer closes.
#[derive(Debug, Default)]
pub struct TcpEcho {
    /// Bytes echoed.
    pub echoed: u64,
}

impl TcpEcho {
    /// A factory for [`super::Lan::listen_tcp`].
    pub fn factory() -> TcpAppFactory {
        Box::new(|_| Box::new(TcpEcho::default()))
    }
}

impl TcpApp for TcpEcho {
    fn on_data(&mut self, _now: Instant, data: &[u8], io: &mut TcpIo) {
        self.echoed = self.echoed.saturating_add(data.len() as u64);
        io.send(data);
    }
    fn on_peer_fin(&mut self, _now: Instant, io: &mut TcpIo) {
        io.close();
    }
}

/// UDP echo (RFC 862): sends every datagram back to its sender, from the port it came to.
#[derive(Debug, Default)]
pub struct UdpEcho {
    /// Datagrams echoed.
    pub echoed: u64,
}

impl UdpApp for UdpEcho {
    fn on_datagram(&mut self, _now: Instant, d: &InDatagram, ctx: &mut UdpCtx) {
        self.echoed = self.echoed.saturating_add(1);
        ctx.send(d.dst.port(), d.src, d.payload.clone());
    }
}

/// One request the HTTP server answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequestLog {
    /// When the request was complete.
    pub at: Instant,
    /// Method (`GET`, `HEAD`, ...).
    pub method: String,
    /// Request target.
    pub path: String,
    /// Status code sent.
    pub status: u16,
}

/// The content an [`HttpServer`] serves: bodies by path.
#[derive(Clone, Debug, Default)]
pub struct HttpContent {
    routes: Vec<(String, Vec<u8>)>,
}

impl HttpContent {
    /// No routes (everything is 404).
    pub fn new() -> Self {
        Self::default()
    }

    /// Serve `body` at `path`.
    pub fn route(mut self, path: &str, body: Vec<u8>) -> Self {
        self.routes.push((String::from(path), body));
        self
    }

    fn get(&self, path: &str) -> Option<&[u8]> {
        self.routes
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, b)| b.as_slice())
    }
}

/// Longest request head the HTTP server accepts before answering 431.
const HTTP_MAX_HEAD: usize = 8192;

/// An HTTP/1.0 and 1.1 server (RFC 9112), one instance per connection: reads one request,
/// answers with `Content-Length` and `Connection: close`, then closes. 404 for unknown paths,
/// 405 for methods other than GET and HEAD, 400 for a malformed request line.
#[derive(Debug)]
pub struct HttpServer {
    content: Arc<HttpContent>,
    head: Vec<u8>,
    done: bool,
    /// The request this connection carried, once answered.
    pub request: Option<HttpRequestLog>,
}

impl HttpServer {
    /// A factory for [`super::Lan::listen_tcp`] serving `content`.
    pub fn factory(content: HttpContent) -> TcpAppFactory {
        let content = Arc::new(content);
        Box::new(move |_| {
            Box::new(HttpServer {
                content: content.clone(),
                head: Vec::new(),
                done: false,
                request: None,
            })
        })
    }

    fn respond(&mut self, now: Instant, io: &mut TcpIo) {
        let head_end = self
            .head
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or(self.head.len());
        let text = core::str::from_utf8(self.head.get(..head_end).unwrap_or(&[])).unwrap_or("");
        let line = text.lines().next().unwrap_or("");
        let mut parts = line.split(' ');
        let method = parts.next().unwrap_or("");
        let path = parts.next().unwrap_or("");
        let version = parts.next().unwrap_or("");
        let (status, reason, body): (u16, &str, Vec<u8>) =
            if method.is_empty() || path.is_empty() || !version.starts_with("HTTP/1.") {
                (400, "Bad Request", b"bad request\n".to_vec())
            } else if method != "GET" && method != "HEAD" {
                (405, "Method Not Allowed", b"method not allowed\n".to_vec())
            } else if let Some(b) = self.content.get(path) {
                (200, "OK", b.to_vec())
            } else {
                (404, "Not Found", b"not found\n".to_vec())
            };
        let mut resp = alloc::format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        if method != "HEAD" {
            resp.extend_from_slice(&body);
        }
        io.send(&resp);
        io.close();
        self.done = true;
        self.request = Some(HttpRequestLog {
            at: now,
            method: String::from(method),
            path: String::from(path),
            status,
        });
    }
}

impl TcpApp for HttpServer {
    fn on_data(&mut self, now: Instant, data: &[u8], io: &mut TcpIo) {
        if self.done {
            return;
        }
        self.head.extend_from_slice(data);
        if self.head.windows(4).any(|w| w == b"\r\n\r\n") {
            self.respond(now, io);
        } else if self.head.len() > HTTP_MAX_HEAD {
            io.send(b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            io.close();
            self.done = true;
        }
    }
    fn on_peer_fin(&mut self, now: Instant, io: &mut TcpIo) {
        if !self.done {
            // An HTTP/1.0-style request without the blank line: answer what we have.
            self.head.extend_from_slice(b"\r\n\r\n");
            self.respond(now, io);
        }
    }
}

/// What a byte source does once its bytes are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterSend {
    /// Send FIN.
    Close,
    /// Stay open (and keep reading).
    StayOpen,
}

/// Bytes a source keeps queued (unacknowledged) at most.
const SOURCE_QUEUE: usize = 64 * 1024;

/// On connect, sends `total` bytes of the deterministic [`super::util::pattern`] (as fast as
/// the peer's window allows), then closes or stays open. Incoming bytes are counted.
#[derive(Debug)]
pub struct ByteSource {
    /// Bytes to send.
    pub total: u64,
    /// Bytes handed to TCP so far.
    pub sent: u64,
    /// What to do at the end.
    pub after: AfterSend,
    /// Bytes received from the peer.
    pub received: u64,
    /// When the last byte was queued.
    pub finished_at: Option<Instant>,
    connected: bool,
}

impl ByteSource {
    /// A source of `total` bytes.
    pub fn new(total: u64, after: AfterSend) -> Self {
        ByteSource {
            total,
            sent: 0,
            after,
            received: 0,
            finished_at: None,
            connected: false,
        }
    }

    /// A factory for [`super::Lan::listen_tcp`].
    pub fn factory(total: u64, after: AfterSend) -> TcpAppFactory {
        Box::new(move |_| Box::new(ByteSource::new(total, after)))
    }

    fn fill(&mut self, now: Instant, io: &mut TcpIo) {
        if !self.connected || self.finished_at.is_some() {
            return;
        }
        let room = SOURCE_QUEUE.saturating_sub(io.queued());
        let left = self.total.saturating_sub(self.sent);
        let n = (room as u64).min(left) as usize;
        if n > 0 {
            io.send(&pattern(self.sent, n));
            self.sent = self.sent.saturating_add(n as u64);
        }
        if self.sent >= self.total {
            self.finished_at = Some(now);
            if self.after == AfterSend::Close {
                io.close();
            }
        }
    }
}

impl TcpApp for ByteSource {
    fn on_connect(&mut self, now: Instant, io: &mut TcpIo) {
        self.connected = true;
        self.fill(now, io);
    }
    fn on_data(&mut self, _now: Instant, data: &[u8], _io: &mut TcpIo) {
        self.received = self.received.saturating_add(data.len() as u64);
    }
    fn poll(&mut self, now: Instant, io: &mut TcpIo) {
        self.fill(now, io);
    }
    fn on_peer_fin(&mut self, _now: Instant, io: &mut TcpIo) {
        if self.after == AfterSend::StayOpen {
            io.close();
        }
    }
}

/// Counts received bytes and keeps an FNV-1a hash of them, checks them against the pattern,
/// and closes when the peer closes. Pair with [`super::TcpOptions`] to make it slow.
#[derive(Debug, Default)]
pub struct ByteSink {
    /// Bytes received.
    pub received: u64,
    /// FNV-1a 64 of every byte received, in order.
    pub hash: Fnv1a,
    /// True while every byte so far equals the pattern at its offset.
    pub matches_pattern: bool,
    /// When the first byte arrived.
    pub first_at: Option<Instant>,
    /// When the last byte arrived.
    pub last_at: Option<Instant>,
    /// When the peer's FIN arrived.
    pub peer_fin_at: Option<Instant>,
    /// When the connection was reset.
    pub reset_at: Option<Instant>,
}

impl ByteSink {
    /// A fresh sink.
    pub fn new() -> Self {
        ByteSink {
            matches_pattern: true,
            ..Default::default()
        }
    }

    /// A factory for [`super::Lan::listen_tcp`].
    pub fn factory() -> TcpAppFactory {
        Box::new(|_: SocketAddrV4| Box::new(ByteSink::new()))
    }
}

impl TcpApp for ByteSink {
    fn on_data(&mut self, now: Instant, data: &[u8], _io: &mut TcpIo) {
        if self.first_at.is_none() {
            self.first_at = Some(now);
        }
        self.last_at = Some(now);
        if self.matches_pattern {
            self.matches_pattern = data.iter().enumerate().all(|(i, &b)| {
                b == super::util::pattern_byte(self.received.wrapping_add(i as u64))
            });
        }
        self.hash.update(data);
        self.received = self.received.saturating_add(data.len() as u64);
    }
    fn on_peer_fin(&mut self, now: Instant, io: &mut TcpIo) {
        self.peer_fin_at = Some(now);
        io.close();
    }
    fn on_reset(&mut self, now: Instant) {
        self.reset_at = Some(now);
    }
}
