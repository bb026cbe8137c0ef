//! The client's configuration ([`Config`]) and the host name (option 12, RFC 2132 §3.14)
//! and client identifier (option 61, RFC 2132 §9.14) it sends.

use core::net::Ipv4Addr;

#[cfg(doc)]
use super::{Event, MAX_MAX_MESSAGE_SIZE, PROBE};
use super::{CLIENT_ID_MAX, DEFAULT_MAX_MESSAGE_SIZE, HOSTNAME_MAX};

/// A host name for option 12 (one DNS label).
pub type Hostname = heapless::String<HOSTNAME_MAX>;
/// A client identifier for option 61.
pub type ClientId = heapless::Vec<u8, CLIENT_ID_MAX>;

/// Make a host name from a template, the way Adafruit's `set_dhcp(hostname)` does: only the
/// part before the first `.` is used, and `{}` is replaced by the last three MAC bytes in
/// upper-case hex (`"WIZnet{}"` with MAC `..:12:34:56` gives `"WIZnet123456"`, also the
/// WIZnet ioLibrary's default name). Characters other than letters, digits and `-` become `-`
/// (RFC 1123 §2.1); the result is cut to [`HOSTNAME_MAX`] bytes. `None` if it comes out empty.
pub fn hostname_from_template(template: &str, mac: [u8; 6]) -> Option<Hostname> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    // Byte-wise (smaller than char iteration): every output char is ASCII. A non-ASCII char
    // becomes one `-`: its lead byte does, its continuation bytes (0b10xx_xxxx) are skipped.
    let label = template
        .as_bytes()
        .split(|&c| c == b'.')
        .next()
        .unwrap_or(&[]);
    let mut out = Hostname::new();
    let mut push = |c: u8| {
        let c = if c.is_ascii_alphanumeric() || c == b'-' {
            c
        } else {
            b'-'
        };
        // Full: the rest is cut off on purpose.
        let _ = out.push(char::from(c));
    };
    let mut rest = label;
    while let Some((&c, tail)) = rest.split_first() {
        if let Some(tail) = rest.strip_prefix(b"{}") {
            for b in mac.iter().skip(3) {
                for nib in [b >> 4, b & 0xf] {
                    push(HEX.get(usize::from(nib)).copied().unwrap_or(b'0'));
                }
            }
            rest = tail;
        } else {
            if c & 0xc0 != 0x80 {
                push(c);
            }
            rest = tail;
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Client configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The chip's MAC address (`chaddr`, and the default client identifier).
    pub mac: [u8; 6],
    /// Host name sent in option 12 (see [`hostname_from_template`]); `None` sends none.
    pub hostname: Option<Hostname>,
    /// Client identifier (option 61); `None` (or fewer than 2 bytes) uses type 1 + MAC.
    pub client_id: Option<ClientId>,
    /// An address to confirm with INIT-REBOOT at start (e.g. the last lease, kept in flash).
    pub requested_ip: Option<Ipv4Addr>,
    /// Seed of the PRNG for `xid`s and jitter (the OS layer seeds it from a hardware RNG).
    pub seed: u64,
    /// Ask the caller to probe a new address before using it ([`Event::Probe`]); only with
    /// [`PROBE`].
    pub probe: bool,
    /// Option 57, clamped to 576..=[`MAX_MAX_MESSAGE_SIZE`]. The caller's receive buffer
    /// must hold `max_message_size - 28` bytes.
    pub max_message_size: u16,
}

impl Config {
    /// Defaults for `mac`: no host name, client id 1 + MAC, no remembered address, probing on,
    /// option 57 = 576.
    pub fn new(mac: [u8; 6], seed: u64) -> Self {
        Config {
            mac,
            hostname: None,
            client_id: None,
            requested_ip: None,
            seed,
            probe: true,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
        }
    }
}
