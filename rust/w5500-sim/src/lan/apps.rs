//! Fixtures that run on hosts: TCP and UDP echo, an HTTP/1.x server, a byte source and a
//! byte sink for throughput and integrity tests.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::net::SocketAddrV4;

use super::app::{InDatagram, TcpApp, TcpAppFactory, TcpIo, UdpApp, UdpCtx};
use super::limits::STREAM_QUEUE;
use super::stream::{Body, BytesBody, Fill, Outgoing, PatternBody};
use super::util::Fnv1a;
use crate::time::Instant;

/// TCP echo (RFC 862): sends back every byte, closes after the peer closes. It stops reading
/// while more than [`STREAM_QUEUE`] bytes wait to be echoed (so a peer that sends without
/// reading sees the window close instead of the echo host buffering without bound).
#[derive(Debug, Default)]
pub struct TcpEcho {
    /// Bytes echoed.
    pub echoed: u64,
    paused: bool,
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
        if io.queued() > STREAM_QUEUE && !self.paused {
            self.paused = true;
            io.set_read_rate(Some(0));
        }
    }
    fn poll(&mut self, _now: Instant, io: &mut TcpIo) {
        if self.paused && io.queued() <= STREAM_QUEUE / 2 {
            self.paused = false;
            io.set_read_rate(None);
        }
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

/// The content an [`HttpServer`] serves: bodies by path, each read as it is sent
/// ([`super::stream`]), so a body of any size costs no memory per connection.
#[derive(Clone, Debug, Default)]
pub struct HttpContent {
    routes: Vec<(String, Body)>,
    sized_prefix: Option<String>,
}

impl HttpContent {
    /// No routes (everything is 404).
    pub fn new() -> Self {
        Self::default()
    }

    /// Serve `body` at `path` (stored once, shared by every connection).
    pub fn route(self, path: &str, body: Vec<u8>) -> Self {
        self.route_body(path, Arc::new(BytesBody(body)))
    }

    /// Serve `len` bytes of the pattern ([`super::util::pattern`]) at `path`, generated as
    /// they are sent.
    pub fn route_pattern(self, path: &str, len: u64) -> Self {
        self.route_body(path, Arc::new(PatternBody { len }))
    }

    /// Serve any [`super::stream::BodySource`] at `path`.
    pub fn route_body(mut self, path: &str, body: Body) -> Self {
        self.routes.retain(|(p, _)| p != path);
        self.routes.push((String::from(path), body));
        self
    }

    /// Serve `N` pattern bytes at `<prefix><N>` for any decimal `N` up to `u64::MAX` (e.g.
    /// `/bytes/1000000`), generated as they are sent.
    pub fn sized_pattern(mut self, prefix: &str) -> Self {
        self.sized_prefix = Some(String::from(prefix));
        self
    }

    /// The fixed routes, in the order they were added: each path and its body's length in
    /// bytes (what a usage text or a test lists).
    pub fn routes(&self) -> impl Iterator<Item = (&str, u64)> + '_ {
        self.routes.iter().map(|(p, b)| (p.as_str(), b.len()))
    }

    /// The prefix of [`HttpContent::sized_pattern`], if set (`/bytes/` in [`super::Lan::standard`]).
    pub fn sized_prefix(&self) -> Option<&str> {
        self.sized_prefix.as_deref()
    }

    fn get(&self, path: &str) -> Option<Body> {
        if let Some((_, b)) = self.routes.iter().find(|(p, _)| p == path) {
            return Some(b.clone());
        }
        let n = path.strip_prefix(self.sized_prefix.as_deref()?)?;
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let len: u64 = n.parse().ok()?;
        Some(Arc::new(PatternBody { len }))
    }
}

/// Longest request head the HTTP server accepts before answering 431.
const HTTP_MAX_HEAD: usize = 8192;

/// An HTTP/1.0 and 1.1 server (RFC 9112), one instance per connection: reads one request,
/// answers with `Content-Length` and `Connection: close`, then closes. 404 for unknown paths,
/// 405 for methods other than GET and HEAD, 400 for a malformed request line. The body is
/// streamed ([`Outgoing`]): generated or copied as the peer's window opens.
#[derive(Debug)]
pub struct HttpServer {
    content: Arc<HttpContent>,
    head: Vec<u8>,
    done: bool,
    body: Option<Outgoing>,
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
                body: None,
                request: None,
            })
        })
    }

    fn respond(&mut self, now: Instant, io: &mut TcpIo) {
        let head = core::mem::take(&mut self.head);
        let head_end = head
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or(head.len());
        let text = core::str::from_utf8(head.get(..head_end).unwrap_or(&[])).unwrap_or("");
        let line = text.lines().next().unwrap_or("");
        let mut parts = line.split(' ');
        let method = parts.next().unwrap_or("");
        let path = parts.next().unwrap_or("");
        let version = parts.next().unwrap_or("");
        let fixed = |t: &'static [u8]| -> Body { Arc::new(BytesBody(t.to_vec())) };
        let (status, reason, body): (u16, &str, Body) =
            if method.is_empty() || path.is_empty() || !version.starts_with("HTTP/1.") {
                (400, "Bad Request", fixed(b"bad request\n"))
            } else if method != "GET" && method != "HEAD" {
                (405, "Method Not Allowed", fixed(b"method not allowed\n"))
            } else if let Some(b) = self.content.get(path) {
                (200, "OK", b)
            } else {
                (404, "Not Found", fixed(b"not found\n"))
            };
        let resp = alloc::format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        io.send(resp.as_bytes());
        self.done = true;
        self.request = Some(HttpRequestLog {
            at: now,
            method: String::from(method),
            path: String::from(path),
            status,
        });
        if method == "HEAD" {
            io.close();
        } else {
            self.body = Some(Outgoing::new(body));
            self.stream(io);
        }
    }

    fn stream(&mut self, io: &mut TcpIo) {
        if let Some(b) = self.body.as_mut() {
            match b.fill(io, u64::MAX) {
                Fill::More => {}
                Fill::Done => {
                    self.body = None;
                    io.close();
                }
                Fill::Failed => self.body = None,
            }
        }
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
            self.head = Vec::new();
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
    fn poll(&mut self, _now: Instant, io: &mut TcpIo) {
        self.stream(io);
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

/// On connect, sends `total` bytes of the deterministic [`super::util::pattern`] (as fast as
/// the peer's window allows, generated as sent: [`Outgoing`]), then closes or stays open.
/// Incoming bytes are counted.
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
    out: Outgoing,
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
            out: Outgoing::new(Arc::new(PatternBody { len: total })),
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
        let r = self.out.fill(io, u64::MAX);
        self.sent = self.out.sent();
        match r {
            Fill::More => {}
            Fill::Done => {
                self.finished_at = Some(now);
                if self.after == AfterSend::Close {
                    io.close();
                }
            }
            Fill::Failed => self.finished_at = Some(now),
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
