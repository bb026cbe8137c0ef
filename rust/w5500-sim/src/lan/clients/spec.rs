//! The text form of LAN clients: one grammar for the `w5500-sim` command line (`--client`),
//! the bridge (`LAN_CLIENT`) and Kconfig (`CONFIG_W5500_OFFLOAD_EMUL_LAN_CLIENTS_SPEC`).
//!
//! ```text
//! spec   = client { ";" client }          (empty clients are skipped)
//! client = ("tcp" | "udp") { field }      (fields separated by blanks)
//! field  = key "=" value
//! ```
//!
//! | key | value | default |
//! |---|---|---|
//! | `name` | label in reports (letters, digits, `-`, `_`; at most 16) | `tcp<port>` / `udp<port>` |
//! | `port` | the chip's port (1–65535) | required |
//! | `to` | `A.B.C.D`: another address instead of the chip's | the chip's address as the LAN last saw it |
//! | `from` | `A.B.C.D` of a LAN host | 10.77.0.20 (`peer`) |
//! | `send` | `text:BYTES` (`%XX` escapes, e.g. `%0D%0A`), `pattern:N` (N pattern bytes generated as sent), `http-get:/PATH` (an HTTP/1.1 GET with `Host` and `Connection: close`), `none` | `none` |
//! | `expect` | `echo` (the bytes sent come back, compared as they arrive), `http:CODE` (status line with CODE, and a body of `Content-Length` bytes if given), `close` (the chip closes), `refused` (RST to the SYN), `none` (everything sent and acknowledged) | `none` |
//! | `count` | exchanges at once per round (1–64) | 1 |
//! | `rounds` | rounds (1–1000000) | 1 |
//! | `every` | time between round starts | 1s |
//! | `start` | first round, after the client was added | 0 |
//! | `retry` | new attempts after a refused connection (TCP) or an unanswered datagram (UDP) (0–1000) | 0 |
//! | `retry-gap` | time between attempts | 500ms |
//! | `timeout` | per exchange, from its first attempt | 10s |
//! | `reset-after` | TCP: send RST once N bytes are sent and acknowledged (a client that resets mid-stream) | — |
//! | `hold` | TCP: keep the connection open this long after the expectation is met, then close | 0 |
//!
//! Durations are a number with `us`, `ms` or `s`. A UDP client sends one datagram (at most
//! 1472 bytes: `text:` or `pattern:`) and expects `echo` or `none`.
//!
//! ```
//! use w5500_sim::lan::clients::{parse_clients, Expect, Proto, Script};
//! let c = parse_clients("tcp port=4242 send=text:hi%0A expect=echo count=2; udp port=7 send=pattern:64 expect=echo").unwrap();
//! assert_eq!(c.len(), 2);
//! assert_eq!((c[0].proto, c[0].port, c[0].count), (Proto::Tcp, 4242, 2));
//! assert_eq!(c[0].send, Script::Text(b"hi\n".to_vec()));
//! assert_eq!(c[1].expect, Expect::Echo);
//! assert!(parse_clients("tcp send=none").is_err()); // no port
//! ```

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::net::Ipv4Addr;
use core::time::Duration;

use super::super::standard;

/// Transport of a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    /// A TCP connection to the chip.
    Tcp,
    /// UDP datagrams to the chip.
    Udp,
}

/// What a client sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Script {
    /// Nothing.
    None,
    /// These bytes.
    Text(Vec<u8>),
    /// This many bytes of the pattern ([`crate::lan::util::pattern`]), generated as sent.
    Pattern(u64),
    /// `GET <path> HTTP/1.1` with `Host: <the chip's address>` and `Connection: close`.
    HttpGet(String),
}

/// What a client expects back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Nothing: success once everything was sent (and, on TCP, acknowledged).
    Nothing,
    /// The bytes sent, in order (RFC 862).
    Echo,
    /// An HTTP response with this status code (RFC 9112 §4), and a body as long as its
    /// `Content-Length` when it has one.
    Http(u16),
    /// The chip closes the connection (FIN).
    Close,
    /// The chip answers the SYN with RST (RFC 9293 §3.10.7.1: nothing listens).
    Refused,
}

/// One LAN client: who connects where, what it sends and expects, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientSpec {
    /// Label in reports.
    pub name: String,
    /// TCP or UDP.
    pub proto: Proto,
    /// The chip's port.
    pub port: u16,
    /// Destination; `None`: the chip's current address.
    pub to: Option<Ipv4Addr>,
    /// The LAN host that connects.
    pub from: Ipv4Addr,
    /// What it sends.
    pub send: Script,
    /// What it expects.
    pub expect: Expect,
    /// Exchanges at once per round.
    pub count: u32,
    /// Rounds.
    pub rounds: u32,
    /// Time between round starts.
    pub every: Duration,
    /// First round, after the client was added.
    pub start: Duration,
    /// New attempts after a refusal (TCP) or no answer (UDP).
    pub retry: u32,
    /// Time between attempts.
    pub retry_gap: Duration,
    /// Per exchange, from its first attempt.
    pub timeout: Duration,
    /// TCP: RST once this many bytes are sent and acknowledged.
    pub reset_after: Option<u64>,
    /// TCP: stay connected this long after the expectation is met.
    pub hold: Duration,
}

impl ClientSpec {
    /// A client of `proto` to the chip's `port` with every other field at its default.
    pub fn new(proto: Proto, port: u16) -> Self {
        let p = match proto {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        };
        ClientSpec {
            name: alloc::format!("{p}{port}"),
            proto,
            port,
            to: None,
            from: standard::PEER,
            send: Script::None,
            expect: Expect::Nothing,
            count: 1,
            rounds: 1,
            every: Duration::from_secs(1),
            start: Duration::ZERO,
            retry: 0,
            retry_gap: Duration::from_millis(500),
            timeout: Duration::from_secs(10),
            reset_after: None,
            hold: Duration::ZERO,
        }
    }

    /// Check the combination of fields (the parser calls it; so does [`crate::Lan`] for
    /// specs built in code).
    pub fn validate(&self) -> Result<(), SpecError> {
        let e = |m: &'static str| Err(SpecError::new(&self.name, m));
        if self.port == 0 {
            return e("port must be 1-65535");
        }
        if self.count == 0 || self.count > MAX_COUNT {
            return e("count must be 1-64");
        }
        if self.rounds == 0 || self.rounds > MAX_ROUNDS {
            return e("rounds must be 1-1000000");
        }
        if self.retry > MAX_RETRY {
            return e("retry must be 0-1000");
        }
        if self.timeout.is_zero() {
            return e("timeout must be above 0");
        }
        if self.expect == Expect::Echo && matches!(self.send, Script::None) {
            return e("expect=echo needs something to send");
        }
        if self.proto == Proto::Udp {
            let len = match &self.send {
                Script::Text(t) => t.len() as u64,
                Script::Pattern(n) => *n,
                Script::None => 0,
                Script::HttpGet(_) => return e("udp sends text: or pattern:"),
            };
            if len > MAX_DATAGRAM {
                return e("a udp datagram holds at most 1472 bytes");
            }
            if !matches!(self.expect, Expect::Echo | Expect::Nothing) {
                return e("udp expects echo or none");
            }
            if self.reset_after.is_some() || !self.hold.is_zero() {
                return e("reset-after and hold are tcp only");
            }
        }
        Ok(())
    }
}

/// Largest UDP payload a client sends (1500 − 20 − 8: one unfragmented datagram).
pub const MAX_DATAGRAM: u64 = 1472;
const MAX_COUNT: u32 = 64;
const MAX_ROUNDS: u32 = 1_000_000;
const MAX_RETRY: u32 = 1000;
const MAX_NAME: usize = 16;

/// A client spec that does not parse or does not make sense.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError {
    /// The client it concerns (its name, or its position).
    pub client: String,
    /// What is wrong.
    pub message: String,
}

impl SpecError {
    fn new(client: &str, message: &str) -> Self {
        SpecError {
            client: String::from(client),
            message: String::from(message),
        }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LAN client {}: {}", self.client, self.message)
    }
}

/// Parse `text` (see the module docs) into client specs.
pub fn parse_clients(text: &str) -> Result<Vec<ClientSpec>, SpecError> {
    let mut out = Vec::new();
    for (i, part) in text.split(';').enumerate() {
        if part.trim().is_empty() {
            continue;
        }
        out.push(parse_one(part, i + 1)?);
    }
    Ok(out)
}

fn parse_one(text: &str, position: usize) -> Result<ClientSpec, SpecError> {
    let pos = alloc::format!("#{position}");
    let mut words = text.split_whitespace();
    let proto = match words.next() {
        Some("tcp") => Proto::Tcp,
        Some("udp") => Proto::Udp,
        _ => return Err(SpecError::new(&pos, "must start with tcp or udp")),
    };
    let mut spec = ClientSpec::new(proto, 0);
    let mut named = false;
    for w in words {
        let (key, value) = w
            .split_once('=')
            .ok_or_else(|| SpecError::new(&pos, "fields are key=value"))?;
        let bad = |what: &str| SpecError::new(&pos, &alloc::format!("bad {key} value: {what}"));
        match key {
            "name" => {
                let ok = !value.is_empty()
                    && value.len() <= MAX_NAME
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !ok {
                    return Err(bad("letters, digits, - and _, at most 16"));
                }
                spec.name = value.to_string();
                named = true;
            }
            "port" => spec.port = value.parse().map_err(|_| bad("1-65535"))?,
            "to" => spec.to = Some(value.parse().map_err(|_| bad("A.B.C.D"))?),
            "from" => spec.from = value.parse().map_err(|_| bad("A.B.C.D"))?,
            "send" => spec.send = parse_script(value).ok_or_else(|| bad(value))?,
            "expect" => spec.expect = parse_expect(value).ok_or_else(|| bad(value))?,
            "count" => spec.count = value.parse().map_err(|_| bad("1-64"))?,
            "rounds" => spec.rounds = value.parse().map_err(|_| bad("a count"))?,
            "every" => spec.every = parse_duration(value).ok_or_else(|| bad("N(us|ms|s)"))?,
            "start" => spec.start = parse_duration(value).ok_or_else(|| bad("N(us|ms|s)"))?,
            "retry" => spec.retry = value.parse().map_err(|_| bad("0-1000"))?,
            "retry-gap" => {
                spec.retry_gap = parse_duration(value).ok_or_else(|| bad("N(us|ms|s)"))?
            }
            "timeout" => spec.timeout = parse_duration(value).ok_or_else(|| bad("N(us|ms|s)"))?,
            "reset-after" => spec.reset_after = Some(value.parse().map_err(|_| bad("a count"))?),
            "hold" => spec.hold = parse_duration(value).ok_or_else(|| bad("N(us|ms|s)"))?,
            _ => {
                return Err(SpecError::new(
                    &pos,
                    &alloc::format!("unknown field {key:?}"),
                ))
            }
        }
    }
    if spec.port == 0 {
        return Err(SpecError::new(&pos, "needs port=P"));
    }
    if !named {
        spec.name = ClientSpec::new(proto, spec.port).name;
    }
    spec.validate()?;
    Ok(spec)
}

fn parse_script(v: &str) -> Option<Script> {
    if v == "none" {
        return Some(Script::None);
    }
    if let Some(t) = v.strip_prefix("text:") {
        return unescape(t).map(Script::Text);
    }
    if let Some(n) = v.strip_prefix("pattern:") {
        return n.parse().ok().map(Script::Pattern);
    }
    if let Some(p) = v.strip_prefix("http-get:") {
        let ok = p.starts_with('/') && p.bytes().all(|b| b.is_ascii_graphic());
        return ok.then(|| Script::HttpGet(p.to_string()));
    }
    None
}

fn parse_expect(v: &str) -> Option<Expect> {
    Some(match v {
        "none" => Expect::Nothing,
        "echo" => Expect::Echo,
        "close" => Expect::Close,
        "refused" => Expect::Refused,
        "http" => Expect::Http(200),
        _ => {
            let code: u16 = v.strip_prefix("http:")?.parse().ok()?;
            if !(100..=599).contains(&code) {
                return None;
            }
            Expect::Http(code)
        }
    })
}

/// `N` followed by `us`, `ms` or `s`.
pub fn parse_duration(v: &str) -> Option<Duration> {
    let (num, scale) = if let Some(n) = v.strip_suffix("us") {
        (n, 1)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1_000)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1_000_000)
    } else {
        return None;
    };
    let n: u64 = num.parse().ok()?;
    Some(Duration::from_micros(n.checked_mul(scale)?))
}

/// `%XX` escapes to bytes; other bytes stand for themselves.
fn unescape(t: &str) -> Option<Vec<u8>> {
    let b = t.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = core::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_parses() {
        let c = parse_clients(
            "tcp name=big port=4242 to=10.77.0.50 from=10.77.0.11 send=pattern:100000 expect=echo \
             count=3 rounds=2 every=2s start=500ms retry=5 retry-gap=250ms timeout=30s hold=1s",
        )
        .unwrap();
        let c = &c[0];
        assert_eq!(c.name, "big");
        assert_eq!(c.to, Some(Ipv4Addr::new(10, 77, 0, 50)));
        assert_eq!(c.from, Ipv4Addr::new(10, 77, 0, 11));
        assert_eq!(c.send, Script::Pattern(100_000));
        assert_eq!((c.count, c.rounds, c.retry), (3, 2, 5));
        assert_eq!(c.every, Duration::from_secs(2));
        assert_eq!(c.start, Duration::from_millis(500));
        assert_eq!(c.retry_gap, Duration::from_millis(250));
        assert_eq!(c.timeout, Duration::from_secs(30));
        assert_eq!(c.hold, Duration::from_secs(1));
        let r = parse_clients("tcp port=80 send=http-get:/x?y=1 expect=http:404 reset-after=10")
            .unwrap();
        assert_eq!(r[0].send, Script::HttpGet("/x?y=1".into()));
        assert_eq!(r[0].expect, Expect::Http(404));
        assert_eq!(r[0].reset_after, Some(10));
        assert_eq!(r[0].name, "tcp80");
    }

    #[test]
    fn errors_name_the_client_and_the_problem() {
        let e = parse_clients("tcp port=1; udp port=7 send=pattern:1473").unwrap_err();
        assert_eq!(e.client, "udp7");
        assert!(e.message.contains("1472"), "{e}");
        for bad in [
            "icmp port=1",
            "tcp port=0",
            "tcp port=70000",
            "tcp port=1 send=text:%4",
            "tcp port=1 send=text:%zz",
            "tcp port=1 count=0",
            "tcp port=1 count=65",
            "tcp port=1 every=5",
            "tcp port=1 start=1h",
            "tcp port=1 expect=echo",
            "tcp port=1 expect=http:99",
            "tcp port=1 bogus=1",
            "tcp port=1 name=a.b",
            "tcp port=1 timeout=0s",
            "udp port=1 send=http-get:/",
            "udp port=1 expect=close",
            "udp port=1 hold=1s",
            "tcp port=1 port",
        ] {
            assert!(parse_clients(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_clients(" ; ;").unwrap(), Vec::new());
    }

    #[test]
    fn escapes_and_durations() {
        assert_eq!(unescape("a%0D%0Ab%25").unwrap(), b"a\r\nb%");
        assert_eq!(parse_duration("7us"), Some(Duration::from_micros(7)));
        assert_eq!(parse_duration("18446744073709551615s"), None);
    }
}
