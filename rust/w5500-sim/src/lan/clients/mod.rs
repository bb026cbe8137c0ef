//! Clients on the LAN: hosts that connect *to* the chip on a schedule.
//!
//! A [`ClientSpec`] says which LAN host opens a TCP connection (or sends a UDP datagram) to
//! which port of the chip, what it sends ([`Script`]), what it expects back ([`Expect`]),
//! how many exchanges run at once (`count`), how many rounds, and when. [`crate::Lan::add_client`]
//! schedules it; the LAN then runs every exchange on its own simulated time, retries refused
//! connections when asked to, ends each exchange with an [`Outcome`], and keeps a
//! [`ClientReport`] per exchange ([`crate::Lan::client_reports`]). Every report is also logged
//! (`log::info!` when it went as expected, `log::warn!` otherwise), which inside a Zephyr
//! image puts it on the console.
//!
//! The same clients can be given as text ([`parse_clients`], grammar in [`spec`]) on the
//! `w5500-sim` command line (`--client`), over the bridge (`LAN_CLIENT`), or in Kconfig for
//! the simulator inside an image.
//!
//! The destination is the chip's address unless the spec names one: its `SIPR` register as
//! the simulator reports it (a test bench knows its device's address), or for a LAN driven
//! without a simulated chip the source address of the chip's last frame
//! ([`crate::Lan::chip_ip`]). An exchange that finds no address (DHCP not done yet) waits for
//! one until its timeout.
//!
//! Scripts are streamed ([`crate::lan::stream`]): `pattern:N` is generated as it is sent and
//! an echo is compared as it arrives, so an exchange of any size holds no copy of its bytes.
//!
//! ```
//! use core::time::Duration;
//! use w5500_sim::lan::clients::Outcome;
//! use w5500_sim::lan::{standard, Lan};
//! use w5500_sim::net::Network;
//! use w5500_sim::time::Instant;
//!
//! // Nothing listens at 10.77.0.11 port 9999 (the echo host): the SYN gets RST.
//! let mut lan = Lan::standard();
//! lan.add_clients("tcp name=probe port=9999 to=10.77.0.11 expect=refused").unwrap();
//! let mut t = Instant::ZERO;
//! for _ in 0..100 {
//!     lan.poll(t);
//!     t = t + Duration::from_millis(10);
//! }
//! let r = lan.client_reports();
//! assert_eq!(r.len(), 1);
//! assert_eq!(r[0].outcome, Outcome::Ok);
//! assert_eq!(r[0].detail, "refused, as expected");
//! ```

mod exchange;
pub mod spec;

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::net::{Ipv4Addr, SocketAddrV4};

pub use spec::{parse_clients, ClientSpec, Expect, Proto, Script, SpecError};

use self::exchange::{script_body, TcpExchange, UdpExchange, Verdict};
use super::app::TcpOptions;
use super::limits;
use super::{HostId, Lan};
use crate::time::Instant;

/// How often an exchange that waits for the chip's address looks again.
const ADDRESS_POLL_US: u64 = 100_000;

/// Identifies a client added to a LAN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientId(pub u32);

/// How an exchange ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Outcome {
    /// As expected.
    Ok = 0,
    /// RST to the SYN on every attempt (nothing listened, or no socket was free).
    Refused = 1,
    /// The chip reset the connection after accepting it.
    Reset = 2,
    /// The chip closed the connection before the expectation was met.
    ClosedEarly = 3,
    /// The echo differed from what was sent (or was longer).
    Mismatch = 4,
    /// The HTTP response was not the expected one.
    BadResponse = 5,
    /// The expectation was not met within the timeout.
    Timeout = 6,
    /// The chip had no address (the LAN never saw one) within the timeout.
    NoAddress = 7,
    /// The simulator's heap was short: the exchange was not started or was reset.
    HeapShort = 8,
    /// A refusal was expected but the chip accepted.
    Accepted = 9,
}

impl Outcome {
    /// Short lowercase name (reports, the bridge).
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
            Outcome::Reset => "reset",
            Outcome::ClosedEarly => "closed-early",
            Outcome::Mismatch => "mismatch",
            Outcome::BadResponse => "bad-response",
            Outcome::Timeout => "timeout",
            Outcome::NoAddress => "no-address",
            Outcome::HeapShort => "heap-short",
            Outcome::Accepted => "accepted",
        }
    }
}

/// One finished exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientReport {
    /// The client.
    pub client: ClientId,
    /// Its name.
    pub name: String,
    /// Round (from 1).
    pub round: u32,
    /// Exchange within the round (from 1).
    pub index: u32,
    /// TCP or UDP.
    pub proto: Proto,
    /// The host's end (address and port), once it had one.
    pub local: Option<SocketAddrV4>,
    /// The chip's end, once known.
    pub remote: Option<SocketAddrV4>,
    /// How it ended.
    pub outcome: Outcome,
    /// Attempts made (1 unless refusals were retried).
    pub attempts: u32,
    /// Script bytes handed to TCP (or sent in datagrams).
    pub sent: u64,
    /// Bytes received from the chip.
    pub received: u64,
    /// First attempt.
    pub started: Instant,
    /// When the outcome was decided.
    pub finished: Instant,
    /// What happened, for people.
    pub detail: String,
}

impl fmt::Display for ClientReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = match self.proto {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        };
        let us = self
            .finished
            .as_micros()
            .saturating_sub(self.started.as_micros());
        write!(
            f,
            "lan client {}#{}.{} {}: {p}",
            self.name,
            self.round,
            self.index,
            self.outcome.name()
        )?;
        if let Some(l) = self.local {
            write!(f, " {l}")?;
        }
        if let Some(r) = self.remote {
            write!(f, " -> {r}")?;
        }
        write!(
            f,
            " sent {} recv {} in {}.{:03} ms",
            self.sent,
            self.received,
            us / 1000,
            us % 1000
        )?;
        if self.attempts > 1 {
            write!(f, " ({} attempts)", self.attempts)?;
        }
        write!(f, ": {}", self.detail)
    }
}

/// Totals of one client.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientSummary {
    /// Exchanges the client will run in all (`count` × `rounds`).
    pub total: u64,
    /// Exchanges finished.
    pub finished: u64,
    /// Of those, as expected.
    pub ok: u64,
}

#[derive(Debug)]
struct ClientState {
    id: ClientId,
    spec: Arc<ClientSpec>,
    rounds_started: u32,
    next_round: Option<Instant>,
    summary: ClientSummary,
}

#[derive(Debug)]
enum State {
    /// Next attempt at this instant.
    Pending(Instant),
    /// A TCP connection of host `host`.
    Tcp { host: HostId, conn: u32 },
    /// A UDP port of host `host`; the next datagram at `resend`.
    Udp {
        host: HostId,
        port: u16,
        resend: Instant,
        sends: u32,
    },
}

#[derive(Debug)]
struct Exchange {
    client: ClientId,
    round: u32,
    index: u32,
    attempts: u32,
    first: Instant,
    deadline: Instant,
    local: Option<SocketAddrV4>,
    remote: Option<SocketAddrV4>,
    state: State,
}

/// The LAN's clients, their running exchanges and the reports.
#[derive(Debug, Default)]
pub(crate) struct Clients {
    list: Vec<ClientState>,
    running: Vec<Exchange>,
    /// Connections to close (FIN) at an instant: the `hold` of exchanges that succeeded.
    closing: Vec<(HostId, u32, Instant)>,
    reports: VecDeque<ClientReport>,
    next_id: u32,
    ok: u64,
    failed: u64,
}

impl Clients {
    /// The earliest instant a client needs the LAN's attention.
    pub(crate) fn next_event(&self) -> Option<Instant> {
        let rounds = self.list.iter().filter_map(|c| c.next_round);
        let ex = self.running.iter().map(|x| match x.state {
            State::Pending(t) => t.min(x.deadline),
            State::Tcp { .. } => x.deadline,
            State::Udp { resend, .. } => resend.min(x.deadline),
        });
        let closing = self.closing.iter().map(|c| c.2);
        rounds.chain(ex).chain(closing).min()
    }
}

fn after(t: Instant, d: core::time::Duration) -> Instant {
    Instant::from_micros(
        t.as_micros()
            .saturating_add(u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
    )
}

impl Lan {
    /// Schedule a client (its first round `spec.start` from now). Fails when the spec does
    /// not validate or `spec.from` is not a host of this LAN.
    pub fn add_client(&mut self, spec: ClientSpec) -> Result<ClientId, SpecError> {
        spec.validate()?;
        if self.host_by_ip(spec.from).is_none() {
            return Err(SpecError {
                client: spec.name.clone(),
                message: alloc::format!("no LAN host at {}", spec.from),
            });
        }
        let c = &mut self.clients;
        let id = ClientId(c.next_id);
        c.next_id = c.next_id.wrapping_add(1);
        let total = u64::from(spec.count).saturating_mul(u64::from(spec.rounds));
        c.list.push(ClientState {
            id,
            next_round: Some(after(self.now, spec.start)),
            spec: Arc::new(spec),
            rounds_started: 0,
            summary: ClientSummary {
                total,
                ..ClientSummary::default()
            },
        });
        Ok(id)
    }

    /// Parse `text` ([`spec`]) and schedule every client in it; nothing is added when any
    /// of them is wrong.
    pub fn add_clients(&mut self, text: &str) -> Result<Vec<ClientId>, SpecError> {
        let specs = parse_clients(text)?;
        for s in &specs {
            if self.host_by_ip(s.from).is_none() {
                return Err(SpecError {
                    client: s.name.clone(),
                    message: alloc::format!("no LAN host at {}", s.from),
                });
            }
        }
        specs.into_iter().map(|s| self.add_client(s)).collect()
    }

    /// Reports of finished exchanges, oldest first (the last [`super::LanLimits::max_reports`]).
    pub fn client_reports(&self) -> Vec<ClientReport> {
        self.clients.reports.iter().cloned().collect()
    }

    /// Take the reports kept so far (the bridge hands them out this way).
    pub fn take_client_reports(&mut self) -> Vec<ClientReport> {
        self.clients.reports.drain(..).collect()
    }

    /// Put reports back at the front (oldest first), e.g. those a reply had no room for.
    pub fn requeue_client_reports(&mut self, reports: Vec<ClientReport>) {
        for r in reports.into_iter().rev() {
            self.clients.reports.push_front(r);
        }
    }

    /// Totals of client `id`.
    pub fn client_summary(&self, id: ClientId) -> Option<ClientSummary> {
        self.clients
            .list
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.summary)
    }

    /// Exchanges of every client that have not finished yet (running or still to start).
    pub fn clients_pending(&self) -> u64 {
        self.clients
            .list
            .iter()
            .map(|c| c.summary.total.saturating_sub(c.summary.finished))
            .fold(0, u64::saturating_add)
    }

    /// Exchanges that ended as expected and otherwise, over all clients.
    pub fn client_totals(&self) -> (u64, u64) {
        (self.clients.ok, self.clients.failed)
    }

    /// The chip's address: its `SIPR` as the simulator reports it ([`crate::net::Network::chip_address`]),
    /// or else the source address of the chip's last frame on the wire.
    pub fn chip_ip(&self) -> Option<Ipv4Addr> {
        self.chip_sipr.or(self.chip_ip)
    }

    /// Run client timers due at `now` and collect decided exchanges.
    pub(crate) fn run_clients(&mut self, now: Instant) {
        if self.clients.list.is_empty() {
            return;
        }
        self.collect_clients(now);
        // Holds that expired: close (FIN).
        let mut closing = core::mem::take(&mut self.clients.closing);
        closing.retain(|&(host, conn, at)| {
            if at > now {
                return true;
            }
            if let Some(Some(h)) = self.hosts.get_mut(host.0) {
                h.with_conn(now, conn, |c, out| c.close(now, out));
            }
            self.flush_host(host.0, now);
            false
        });
        self.clients.closing.append(&mut closing);
        // New rounds.
        let mut new = Vec::new();
        for c in self.clients.list.iter_mut() {
            let Some(t) = c.next_round else { continue };
            if t > now {
                continue;
            }
            c.rounds_started = c.rounds_started.saturating_add(1);
            c.next_round = (c.rounds_started < c.spec.rounds).then(|| after(t, c.spec.every));
            for index in 1..=c.spec.count {
                new.push(Exchange {
                    client: c.id,
                    round: c.rounds_started,
                    index,
                    attempts: 0,
                    first: now,
                    deadline: after(now, c.spec.timeout),
                    local: None,
                    remote: None,
                    state: State::Pending(now),
                });
            }
        }
        self.clients.running.append(&mut new);
        // Attempts, resends and timeouts.
        let running = core::mem::take(&mut self.clients.running);
        let mut keep = Vec::with_capacity(running.len());
        for x in running {
            if let Some(x) = self.step_exchange(now, x) {
                keep.push(x);
            }
        }
        keep.append(&mut self.clients.running);
        self.clients.running = keep;
    }

    /// Turn the verdicts the exchanges' applications recorded into reports, retries or holds.
    pub(crate) fn collect_clients(&mut self, now: Instant) {
        if self.clients.running.is_empty() {
            return;
        }
        let running = core::mem::take(&mut self.clients.running);
        let mut keep = Vec::with_capacity(running.len());
        for mut x in running {
            let Some((v, sent, received)) = self.verdict_of(&x) else {
                keep.push(x);
                continue;
            };
            let Some(spec) = self.spec(x.client) else {
                continue;
            };
            let retry = v.outcome == Outcome::Refused && x.attempts <= spec.retry;
            if let State::Tcp { host, conn } = x.state {
                if let Some(Some(h)) = self.hosts.get_mut(host.0) {
                    h.pin_conn(conn, false);
                }
                if v.outcome == Outcome::Ok && !spec.hold.is_zero() {
                    self.clients
                        .closing
                        .push((host, conn, after(v.at, spec.hold)));
                }
            }
            if let State::Udp { host, port, .. } = x.state {
                self.unbind_udp(host, port);
            }
            if retry && v.at < x.deadline {
                x.state = State::Pending(after(v.at, spec.retry_gap).max(now));
                keep.push(x);
                continue;
            }
            self.report(&x, v, sent, received);
        }
        keep.append(&mut self.clients.running);
        self.clients.running = keep;
    }

    /// The spec of client `id` (shared: no copy per step).
    fn spec(&self, id: ClientId) -> Option<Arc<ClientSpec>> {
        self.clients
            .list
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.spec.clone())
    }

    /// The verdict an exchange's application recorded, with its byte counts.
    fn verdict_of(&self, x: &Exchange) -> Option<(Verdict, u64, u64)> {
        match x.state {
            State::Pending(_) => None,
            State::Tcp { host, conn } => {
                let c = self.host(host)?.conn(conn)?;
                let app: &dyn core::any::Any = c.app();
                let app = app.downcast_ref::<TcpExchange>()?;
                let v = app.verdict.clone()?;
                Some((v, app.sent(), app.received))
            }
            State::Udp {
                host, port, sends, ..
            } => {
                let app: &dyn core::any::Any = self.host(host)?.udp_app(port)?;
                let app = app.downcast_ref::<UdpExchange>()?;
                let v = app.verdict.clone()?;
                let sent = (app.payload.len() as u64).saturating_mul(u64::from(sends));
                Some((v, sent, app.received))
            }
        }
    }

    fn unbind_udp(&mut self, host: HostId, port: u16) {
        if let Some(h) = self.host_mut(host) {
            h.unbind_udp(port);
        }
    }

    /// One exchange at `now`: start an attempt, resend, or time out. `None` when it ended.
    fn step_exchange(&mut self, now: Instant, mut x: Exchange) -> Option<Exchange> {
        let spec = self.spec(x.client)?;
        if now >= x.deadline {
            let (sent, received) = self.abandon(now, &x);
            let (outcome, detail) = match x.state {
                State::Pending(_) if x.remote.is_none() => (
                    Outcome::NoAddress,
                    String::from("the LAN never saw the chip's address"),
                ),
                State::Pending(_) => (
                    Outcome::Refused,
                    alloc::format!("refused on all {} attempts", x.attempts),
                ),
                State::Tcp { .. } | State::Udp { .. } => (
                    Outcome::Timeout,
                    alloc::format!("no complete answer within {} ms", spec.timeout.as_millis()),
                ),
            };
            let v = Verdict {
                outcome,
                at: now,
                detail,
            };
            self.report(&x, v, sent, received);
            return None;
        }
        match x.state {
            State::Pending(t) if t <= now => self.attempt(now, x, &spec),
            State::Udp {
                host,
                port,
                resend,
                sends,
            } if resend <= now => {
                if sends <= spec.retry {
                    let payload = self
                        .host(host)
                        .and_then(|h| h.udp_app(port))
                        .and_then(|a| (a as &dyn core::any::Any).downcast_ref::<UdpExchange>())
                        .map(|a| (a.payload.clone(), a.to));
                    if let Some((p, to)) = payload {
                        self.host_send_udp(now, host, port, to, p);
                    }
                    x.attempts = x.attempts.saturating_add(1);
                    x.state = State::Udp {
                        host,
                        port,
                        resend: after(now, spec.retry_gap),
                        sends: sends.saturating_add(1),
                    };
                } else if spec.expect == Expect::Nothing {
                    let v = Verdict {
                        outcome: Outcome::Ok,
                        at: now,
                        detail: String::from("sent"),
                    };
                    self.unbind_udp(host, port);
                    let sent = (self.payload_len(host, port)).saturating_mul(u64::from(sends));
                    self.report(&x, v, sent, 0);
                    return None;
                } else {
                    x.state = State::Udp {
                        host,
                        port,
                        resend: x.deadline,
                        sends,
                    };
                }
                Some(x)
            }
            _ => Some(x),
        }
    }

    fn payload_len(&self, host: HostId, port: u16) -> u64 {
        self.host(host)
            .and_then(|h| h.udp_app(port))
            .and_then(|a| (a as &dyn core::any::Any).downcast_ref::<UdpExchange>())
            .map_or(0, |a| a.payload.len() as u64)
    }

    /// Start an attempt of exchange `x`.
    fn attempt(&mut self, now: Instant, mut x: Exchange, spec: &ClientSpec) -> Option<Exchange> {
        let Some(to_ip) = spec.to.or(self.chip_ip()) else {
            x.state = State::Pending(Instant::from_micros(
                now.as_micros().saturating_add(ADDRESS_POLL_US),
            ));
            return Some(x);
        };
        let remote = SocketAddrV4::new(to_ip, spec.port);
        x.remote = Some(remote);
        let Some(host) = self.host_by_ip(spec.from) else {
            let v = Verdict {
                outcome: Outcome::NoAddress,
                at: now,
                detail: alloc::format!("no LAN host at {}", spec.from),
            };
            self.report(&x, v, 0, 0);
            return None;
        };
        if let Some(u) = limits::short(self.guard, 0) {
            let v = Verdict {
                outcome: Outcome::HeapShort,
                at: now,
                detail: alloc::format!(
                    "not started: simulator heap short ({} of {} bytes used)",
                    u.used,
                    u.capacity
                ),
            };
            self.report(&x, v, 0, 0);
            return None;
        }
        x.attempts = x.attempts.saturating_add(1);
        let host_text = alloc::format!("{to_ip}");
        let body = script_body(&spec.send, &host_text);
        match spec.proto {
            Proto::Tcp => {
                let app =
                    TcpExchange::new(body, spec.expect, spec.reset_after, !spec.hold.is_zero());
                let h = self.hosts.get_mut(host.0)?.as_mut()?;
                let conn = h.tcp_connect(
                    now,
                    None,
                    remote,
                    TcpOptions::default(),
                    alloc::boxed::Box::new(app),
                );
                h.pin_conn(conn, true);
                x.local = h.conn(conn).map(|c| c.local);
                self.flush_host(host.0, now);
                x.state = State::Tcp { host, conn };
            }
            Proto::Udp => {
                let mut payload = alloc::vec![0u8; usize::try_from(body.len()).unwrap_or(0)];
                let n = body.read_at(0, &mut payload).unwrap_or(0);
                payload.truncate(n);
                let h = self.hosts.get_mut(host.0)?.as_mut()?;
                let port = h.free_udp_port();
                x.local = Some(SocketAddrV4::new(h.ip, port));
                h.bind_udp(
                    port,
                    alloc::boxed::Box::new(UdpExchange::new(payload.clone(), remote, spec.expect)),
                );
                self.host_send_udp(now, host, port, remote, payload);
                x.state = State::Udp {
                    host,
                    port,
                    resend: after(now, spec.retry_gap),
                    sends: 1,
                };
            }
        }
        Some(x)
    }

    fn host_send_udp(
        &mut self,
        now: Instant,
        host: HostId,
        port: u16,
        to: SocketAddrV4,
        payload: Vec<u8>,
    ) {
        if let Some(Some(h)) = self.hosts.get_mut(host.0) {
            h.send_udp(now, port, to, payload);
        }
        self.flush_host(host.0, now);
    }

    /// Stop exchange `x` (timed out): reset its connection or unbind its port. Returns what
    /// it had sent and received.
    fn abandon(&mut self, now: Instant, x: &Exchange) -> (u64, u64) {
        let counts = self.verdict_counts(x);
        match x.state {
            State::Tcp { host, conn } => {
                if let Some(Some(h)) = self.hosts.get_mut(host.0) {
                    h.forget_conn(now, conn);
                }
                self.flush_host(host.0, now);
            }
            State::Udp { host, port, .. } => self.unbind_udp(host, port),
            State::Pending(_) => {}
        }
        counts
    }

    fn verdict_counts(&self, x: &Exchange) -> (u64, u64) {
        match x.state {
            State::Tcp { host, conn } => self
                .host(host)
                .and_then(|h| h.conn(conn))
                .and_then(|c| (c.app() as &dyn core::any::Any).downcast_ref::<TcpExchange>())
                .map_or((0, 0), |a| (a.sent(), a.received)),
            State::Udp {
                host, port, sends, ..
            } => {
                let got = self
                    .host(host)
                    .and_then(|h| h.udp_app(port))
                    .and_then(|a| (a as &dyn core::any::Any).downcast_ref::<UdpExchange>())
                    .map_or(0, |a| a.received);
                (
                    self.payload_len(host, port)
                        .saturating_mul(u64::from(sends)),
                    got,
                )
            }
            State::Pending(_) => (0, 0),
        }
    }

    fn report(&mut self, x: &Exchange, v: Verdict, sent: u64, received: u64) {
        let Some(c) = self.clients.list.iter_mut().find(|c| c.id == x.client) else {
            return;
        };
        let ok = v.outcome == Outcome::Ok;
        c.summary.finished = c.summary.finished.saturating_add(1);
        if ok {
            c.summary.ok = c.summary.ok.saturating_add(1);
        }
        let r = ClientReport {
            client: x.client,
            name: c.spec.name.clone(),
            round: x.round,
            index: x.index,
            proto: c.spec.proto,
            local: x.local,
            remote: x.remote,
            outcome: v.outcome,
            attempts: x.attempts.max(1),
            sent,
            received,
            started: x.first,
            finished: v.at,
            detail: v.detail,
        };
        if ok {
            self.clients.ok = self.clients.ok.saturating_add(1);
            log::info!("{r}");
        } else {
            self.clients.failed = self.clients.failed.saturating_add(1);
            log::warn!("{r}");
        }
        let summary = (c.summary.finished == c.summary.total).then_some(c.summary);
        if let Some(s) = summary {
            log::info!(
                "lan client {}: done, {} of {} as expected",
                r.name,
                s.ok,
                s.total
            );
        }
        let keep = self.limits.max_reports;
        while self.clients.reports.len() >= keep.max(1) {
            self.clients.reports.pop_front();
        }
        self.clients.reports.push_back(r);
    }
}
