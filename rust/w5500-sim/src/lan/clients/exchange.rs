//! One exchange of a LAN client: the application on the host's end of the TCP connection
//! ([`TcpExchange`]) or the UDP port ([`UdpExchange`]). They only observe and record an
//! [`Outcome`]; the LAN ([`super`]) starts, retries, times out and reports them.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::net::SocketAddrV4;

use super::spec::{Expect, Script};
use super::Outcome;
use crate::lan::app::{InDatagram, TcpApp, TcpIo, UdpApp, UdpCtx};
use crate::lan::stream::{Body, BytesBody, Fill, Outgoing, PatternBody};
use crate::time::Instant;

/// Longest HTTP response head a client keeps while looking for its end.
const HTTP_HEAD_MAX: usize = 2048;

/// What an exchange decided, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub outcome: Outcome,
    pub at: Instant,
    pub detail: String,
}

/// The body a script sends (`host` fills the HTTP `Host` header).
pub(crate) fn script_body(script: &Script, host: &str) -> Body {
    match script {
        Script::None => Arc::new(BytesBody(Vec::new())),
        Script::Text(t) => Arc::new(BytesBody(t.clone())),
        Script::Pattern(n) => Arc::new(PatternBody { len: *n }),
        Script::HttpGet(path) => Arc::new(BytesBody(
            alloc::format!(
                "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: w5500-sim-lan-client\r\nConnection: close\r\n\r\n"
            )
            .into_bytes(),
        )),
    }
}

/// An HTTP/1.x response as it arrives (RFC 9112 §4 status line, §6.3 message length).
#[derive(Debug, Default)]
struct HttpCheck {
    head: Vec<u8>,
    head_done: bool,
    status: Option<u16>,
    content_length: Option<u64>,
    body: u64,
    bad: Option<&'static str>,
}

impl HttpCheck {
    fn feed(&mut self, data: &[u8]) {
        if self.bad.is_some() {
            return;
        }
        if self.head_done {
            self.body = self.body.saturating_add(data.len() as u64);
            return;
        }
        let room = HTTP_HEAD_MAX.saturating_sub(self.head.len());
        let before = self.head.len();
        self.head
            .extend_from_slice(data.get(..data.len().min(room)).unwrap_or(&[]));
        let Some(end) = self.head.windows(4).position(|w| w == b"\r\n\r\n") else {
            if self.head.len() >= HTTP_HEAD_MAX {
                self.bad = Some("response head longer than 2 KiB");
            }
            return;
        };
        self.head_done = true;
        // Bytes of `data` past the head are body.
        let used = (end + 4).saturating_sub(before);
        self.body = data.len().saturating_sub(used) as u64;
        let text = core::str::from_utf8(self.head.get(..end).unwrap_or(&[])).unwrap_or("");
        let mut lines = text.split("\r\n");
        let status_line = lines.next().unwrap_or("");
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or("");
        self.status = parts.next().and_then(|c| c.parse().ok());
        if !version.starts_with("HTTP/1.") || self.status.is_none() {
            self.bad = Some("no HTTP/1.x status line");
        }
        for l in lines {
            if let Some((k, v)) = l.split_once(':') {
                if k.trim().eq_ignore_ascii_case("content-length") {
                    self.content_length = v.trim().parse().ok();
                }
            }
        }
        self.head = Vec::new();
    }

    /// Complete by `Content-Length` (without waiting for the close).
    fn complete(&self) -> bool {
        self.head_done && self.content_length.is_some_and(|n| self.body >= n)
    }

    fn verdict(&self, want: u16, at_close: bool) -> Option<(Outcome, String)> {
        if let Some(b) = self.bad {
            return Some((Outcome::BadResponse, String::from(b)));
        }
        if !self.head_done {
            return at_close.then(|| (Outcome::BadResponse, String::from("no response head")));
        }
        let status = self.status.unwrap_or(0);
        if status != want {
            return Some((
                Outcome::BadResponse,
                alloc::format!("status {status}, expected {want}"),
            ));
        }
        match self.content_length {
            Some(n) if self.body > n => Some((
                Outcome::BadResponse,
                alloc::format!("body {} bytes, Content-Length {n}", self.body),
            )),
            Some(n) if self.body == n => {
                Some((Outcome::Ok, alloc::format!("HTTP {status}, body {n} bytes")))
            }
            Some(n) => at_close.then(|| {
                (
                    Outcome::BadResponse,
                    alloc::format!("closed after {} of {n} body bytes", self.body),
                )
            }),
            None => at_close.then(|| {
                (
                    Outcome::Ok,
                    alloc::format!("HTTP {status}, body {} bytes (to close)", self.body),
                )
            }),
        }
    }
}

/// The host's application on one client connection.
#[derive(Debug)]
pub(crate) struct TcpExchange {
    out: Outgoing,
    echo: Body,
    expect: Expect,
    reset_after: Option<u64>,
    hold: bool,
    http: HttpCheck,
    connected: bool,
    pub received: u64,
    pub verdict: Option<Verdict>,
}

impl TcpExchange {
    pub fn new(body: Body, expect: Expect, reset_after: Option<u64>, hold: bool) -> Self {
        TcpExchange {
            out: Outgoing::new(body.clone()),
            echo: body,
            expect,
            reset_after,
            hold,
            http: HttpCheck::default(),
            connected: false,
            received: 0,
            verdict: None,
        }
    }

    /// Bytes handed to TCP so far.
    pub fn sent(&self) -> u64 {
        self.out.sent()
    }

    fn decide(&mut self, now: Instant, outcome: Outcome, detail: String, io: &mut TcpIo) {
        if self.verdict.is_some() {
            return;
        }
        match outcome {
            Outcome::Ok if !self.hold => io.close(),
            Outcome::Ok => {}
            _ => io.abort(),
        }
        self.verdict = Some(Verdict {
            outcome,
            at: now,
            detail,
        });
    }

    fn progress(&mut self, now: Instant, io: &mut TcpIo) {
        if self.verdict.is_some() || !self.connected {
            return;
        }
        let limit = self.reset_after.unwrap_or(u64::MAX);
        if self.out.fill(io, limit) == Fill::Failed {
            self.verdict = Some(Verdict {
                outcome: Outcome::HeapShort,
                at: now,
                detail: String::from("could not queue the script"),
            });
            return;
        }
        let all_acked = io.queued() == 0;
        if let Some(n) = self.reset_after {
            if self.out.sent() >= n.min(self.out.len()) && all_acked {
                // A client that resets mid-stream: RST once its bytes are acknowledged.
                io.abort();
                self.verdict = Some(Verdict {
                    outcome: Outcome::Ok,
                    at: now,
                    detail: alloc::format!("reset after {} bytes, as scripted", self.out.sent()),
                });
            }
            return;
        }
        let sent_all = self.out.done() && all_acked;
        match self.expect {
            Expect::Nothing if sent_all => {
                self.decide(now, Outcome::Ok, String::from("sent and acknowledged"), io)
            }
            Expect::Echo if sent_all && self.received == self.out.len() => self.decide(
                now,
                Outcome::Ok,
                alloc::format!("echo of {} bytes intact", self.received),
                io,
            ),
            Expect::Http(code) if self.http.complete() => {
                if let Some((o, d)) = self.http.verdict(code, false) {
                    self.decide(now, o, d, io);
                }
            }
            _ => {}
        }
    }

    fn check_echo(&mut self, data: &[u8]) -> Option<u64> {
        let mut tmp = [0u8; 64];
        let mut at = self.received;
        for chunk in data.chunks(tmp.len()) {
            let want = tmp.get_mut(..chunk.len())?;
            let got = self.echo.read_at(at, want).unwrap_or(0);
            if got < chunk.len() {
                return Some(at.saturating_add(got as u64));
            }
            if let Some(i) = chunk.iter().zip(want.iter()).position(|(a, b)| a != b) {
                return Some(at.saturating_add(i as u64));
            }
            at = at.saturating_add(chunk.len() as u64);
        }
        None
    }
}

impl TcpApp for TcpExchange {
    fn on_connect(&mut self, now: Instant, io: &mut TcpIo) {
        self.connected = true;
        if self.expect == Expect::Refused {
            self.decide(
                now,
                Outcome::Accepted,
                String::from("accepted, expected a refusal"),
                io,
            );
            return;
        }
        self.progress(now, io);
    }

    fn on_data(&mut self, now: Instant, data: &[u8], io: &mut TcpIo) {
        if self.verdict.is_some() {
            self.received = self.received.saturating_add(data.len() as u64);
            return;
        }
        match self.expect {
            Expect::Echo => {
                if let Some(at) = self.check_echo(data) {
                    self.received = self.received.saturating_add(data.len() as u64);
                    let what = if at >= self.out.len() {
                        alloc::format!(
                            "{} bytes more than were sent",
                            self.received.saturating_sub(at)
                        )
                    } else {
                        alloc::format!("echo differs at byte {at}")
                    };
                    self.decide(now, Outcome::Mismatch, what, io);
                    return;
                }
            }
            Expect::Http(_) => self.http.feed(data),
            _ => {}
        }
        self.received = self.received.saturating_add(data.len() as u64);
        self.progress(now, io);
    }

    fn on_peer_fin(&mut self, now: Instant, io: &mut TcpIo) {
        if self.verdict.is_some() {
            io.close();
            return;
        }
        let (o, d) = match self.expect {
            Expect::Close => (
                Outcome::Ok,
                alloc::format!("closed by the chip after {} bytes", self.received),
            ),
            Expect::Http(code) => self
                .http
                .verdict(code, true)
                .unwrap_or((Outcome::BadResponse, String::from("incomplete response"))),
            _ => (
                Outcome::ClosedEarly,
                alloc::format!("closed by the chip after {} bytes", self.received),
            ),
        };
        if o == Outcome::Ok {
            // Answer the FIN with ours at once (the expectation is met).
            io.close();
        }
        self.decide(now, o, d, io);
    }

    fn on_reset(&mut self, now: Instant) {
        if self.verdict.is_some() {
            return;
        }
        let (outcome, detail) = if !self.connected {
            if self.expect == Expect::Refused {
                (Outcome::Ok, String::from("refused, as expected"))
            } else {
                (Outcome::Refused, String::from("RST to the SYN"))
            }
        } else {
            (
                Outcome::Reset,
                alloc::format!("reset by the chip after {} bytes", self.received),
            )
        };
        self.verdict = Some(Verdict {
            outcome,
            at: now,
            detail,
        });
    }

    fn poll(&mut self, now: Instant, io: &mut TcpIo) {
        self.progress(now, io);
    }
}

/// The host's application on one client UDP port.
#[derive(Debug)]
pub(crate) struct UdpExchange {
    pub payload: Vec<u8>,
    pub to: SocketAddrV4,
    expect: Expect,
    pub received: u64,
    pub verdict: Option<Verdict>,
}

impl UdpExchange {
    pub fn new(payload: Vec<u8>, to: SocketAddrV4, expect: Expect) -> Self {
        UdpExchange {
            payload,
            to,
            expect,
            received: 0,
            verdict: None,
        }
    }
}

impl UdpApp for UdpExchange {
    fn on_datagram(&mut self, now: Instant, d: &InDatagram, _ctx: &mut UdpCtx) {
        if d.src != self.to || self.verdict.is_some() || self.expect != Expect::Echo {
            return;
        }
        self.received = self.received.saturating_add(d.payload.len() as u64);
        let (outcome, detail) = if d.payload == self.payload {
            (
                Outcome::Ok,
                alloc::format!("echo of {} bytes intact", d.payload.len()),
            )
        } else {
            let at = d
                .payload
                .iter()
                .zip(self.payload.iter())
                .position(|(a, b)| a != b)
                .unwrap_or(d.payload.len().min(self.payload.len()));
            (
                Outcome::Mismatch,
                alloc::format!(
                    "echo of {} bytes differs at byte {at} (sent {})",
                    d.payload.len(),
                    self.payload.len()
                ),
            )
        };
        self.verdict = Some(Verdict {
            outcome,
            at: now,
            detail,
        });
    }
}
