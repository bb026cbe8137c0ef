//! DHCP message codec: the reply parser and the request builder (RFC 2131 §2, RFC 2132).
//!
//! Nothing here allocates. The parser reads only what the client needs into a fixed-size
//! [`Reply`]; every length comes from the datagram and is bounds-checked, every loop advances
//! by at least one byte, and malformed options are skipped (counted in
//! [`Reply::malformed_options`]) instead of failing the whole message.

use core::net::Ipv4Addr;

/// UDP port of DHCP servers (and relay agents).
pub const SERVER_PORT: u16 = 67;
/// UDP port of DHCP clients.
pub const CLIENT_PORT: u16 = 68;
/// The magic cookie that starts the options area (RFC 2131 §3, RFC 2132 §2).
pub const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
/// `op` of a client message.
pub const BOOTREQUEST: u8 = 1;
/// `op` of a server message.
pub const BOOTREPLY: u8 = 2;
/// The BROADCAST bit of `flags` (RFC 2131 §2, figure 2).
pub const FLAG_BROADCAST: u16 = 0x8000;
/// Length of the fixed BOOTP header, up to and including `file` (RFC 2131 figure 1).
pub const FIXED_LEN: usize = 236;
/// Offset of the options area (fixed header plus magic cookie).
pub const OPTIONS_OFFSET: usize = FIXED_LEN + 4;
/// Messages the client builds are zero-padded to this length, the BOOTP minimum that
/// relay agents expect (RFC 1542 §2.1).
pub const MIN_MESSAGE_LEN: usize = 300;

/// Longest host name the client sends (one DNS label, RFC 1035 §2.3.4).
pub const HOSTNAME_MAX: usize = 63;
/// Longest client identifier (option 61) the client sends.
pub const CLIENT_ID_MAX: usize = 32;
/// DNS servers kept from option 6; further ones are dropped.
pub const MAX_DNS: usize = 4;
/// Longest domain name (option 15) kept; a longer one is dropped, not truncated.
pub const DOMAIN_MAX: usize = 64;

/// The parameter request list (option 55) the client sends: mask, router, DNS servers,
/// domain name, lease time, T1, T2.
pub const PARAMETER_REQUEST_LIST: [u8; 7] = [
    opt::SUBNET_MASK,
    opt::ROUTER,
    opt::DNS,
    opt::DOMAIN_NAME,
    opt::LEASE_TIME,
    opt::T1,
    opt::T2,
];

/// Longest message the client ever builds; a transmit buffer of this size always suffices.
pub const MAX_REQUEST_LEN: usize = OPTIONS_OFFSET
    + 3 // 53 message type
    + 2 + CLIENT_ID_MAX // 61 client identifier
    + 6 // 50 requested address
    + 6 // 54 server identifier
    + 4 // 57 maximum message size
    + 2 + PARAMETER_REQUEST_LIST.len() // 55
    + 2 + HOSTNAME_MAX // 12 host name
    + 1; // end

/// Option codes (RFC 2132).
pub mod opt {
    /// Pad (§3.1): a single byte, no length.
    pub const PAD: u8 = 0;
    /// Subnet mask (§3.3).
    pub const SUBNET_MASK: u8 = 1;
    /// Router list (§3.5); the first entry is the default gateway.
    pub const ROUTER: u8 = 3;
    /// DNS server list (§3.8).
    pub const DNS: u8 = 6;
    /// Host name (§3.14).
    pub const HOST_NAME: u8 = 12;
    /// Domain name (§3.17).
    pub const DOMAIN_NAME: u8 = 15;
    /// Requested IP address (§9.1).
    pub const REQUESTED_IP: u8 = 50;
    /// IP address lease time in seconds (§9.2).
    pub const LEASE_TIME: u8 = 51;
    /// Option overload (§9.3): 1 = `file`, 2 = `sname`, 3 = both carry options.
    pub const OVERLOAD: u8 = 52;
    /// DHCP message type (§9.6).
    pub const MESSAGE_TYPE: u8 = 53;
    /// Server identifier (§9.7).
    pub const SERVER_ID: u8 = 54;
    /// Parameter request list (§9.8).
    pub const PARAMETER_REQUEST: u8 = 55;
    /// Maximum DHCP message size (§9.10).
    pub const MAX_MESSAGE_SIZE: u8 = 57;
    /// Renewal (T1) time in seconds (§9.11).
    pub const T1: u8 = 58;
    /// Rebinding (T2) time in seconds (§9.12).
    pub const T2: u8 = 59;
    /// Client identifier (§9.14).
    pub const CLIENT_ID: u8 = 61;
    /// End (§3.2): no length; ends an options area.
    pub const END: u8 = 255;
}

/// DHCP message types (option 53, RFC 2132 §9.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageType {
    /// Client broadcast to locate servers.
    Discover = 1,
    /// Server's answer to a DISCOVER with an address.
    Offer = 2,
    /// Client asks for (or confirms, renews, rebinds) an address.
    Request = 3,
    /// Client says the address is already in use.
    Decline = 4,
    /// Server grants the lease.
    Ack = 5,
    /// Server refuses: the client's notion of its address is wrong.
    Nak = 6,
    /// Client gives the address back.
    Release = 7,
    /// Client with an address asks for configuration only.
    Inform = 8,
}

impl MessageType {
    /// The type for an option 53 value, `None` for unknown values.
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => MessageType::Discover,
            2 => MessageType::Offer,
            3 => MessageType::Request,
            4 => MessageType::Decline,
            5 => MessageType::Ack,
            6 => MessageType::Nak,
            7 => MessageType::Release,
            8 => MessageType::Inform,
            _ => return None,
        })
    }
}

/// Why a datagram is not a DHCP message at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Shorter than the fixed header plus magic cookie (240 bytes).
    TooShort,
    /// The magic cookie is wrong (a plain BOOTP message or garbage).
    BadCookie,
}

/// What the client reads from a server message. Options the client does not use are skipped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// `op`: 2 (BOOTREPLY) for server messages.
    pub op: u8,
    /// Hardware address type (1 = Ethernet).
    pub htype: u8,
    /// Hardware address length.
    pub hlen: u8,
    /// Transaction id.
    pub xid: u32,
    /// Flags (bit 15 = BROADCAST).
    pub flags: u16,
    /// `ciaddr`.
    pub ciaddr: Ipv4Addr,
    /// `yiaddr`: the address offered or granted.
    pub yiaddr: Ipv4Addr,
    /// `siaddr`: next server (not used by the client).
    pub siaddr: Ipv4Addr,
    /// `giaddr`: relay agent.
    pub giaddr: Ipv4Addr,
    /// `chaddr` (16 bytes; the first `hlen` are the hardware address).
    pub chaddr: [u8; 16],
    /// Option 53, `None` when absent or not a known type.
    pub message_type: Option<MessageType>,
    /// Option 54.
    pub server_id: Option<Ipv4Addr>,
    /// Option 1.
    pub subnet_mask: Option<Ipv4Addr>,
    /// First address of option 3 (the default gateway).
    pub router: Option<Ipv4Addr>,
    /// Option 6, up to [`MAX_DNS`] usable addresses in the server's order.
    pub dns: heapless::Vec<Ipv4Addr, MAX_DNS>,
    /// Option 15 when it is a plausible domain name of at most [`DOMAIN_MAX`] bytes.
    pub domain: Option<heapless::String<DOMAIN_MAX>>,
    /// Option 51 in seconds (`u32::MAX` = infinite).
    pub lease_secs: Option<u32>,
    /// Option 58 in seconds.
    pub t1_secs: Option<u32>,
    /// Option 59 in seconds.
    pub t2_secs: Option<u32>,
    /// Option 52 as found in the main options area (0 = no overload).
    pub overload: u8,
    /// Options skipped because their length was wrong or they ran past the end of their area.
    pub malformed_options: u16,
}

fn ip_at(b: &[u8], off: usize) -> Option<Ipv4Addr> {
    let a: [u8; 4] = b.get(off..off.checked_add(4)?)?.try_into().ok()?;
    Some(Ipv4Addr::from(a))
}

fn ip4(d: &[u8]) -> Option<Ipv4Addr> {
    let a: [u8; 4] = d.try_into().ok()?;
    Some(Ipv4Addr::from(a))
}

fn u32_of(d: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(d.try_into().ok()?))
}

/// True for an address a host may use as a unicast address (not 0.0.0.0/8, loopback,
/// multicast, class E or broadcast).
pub fn is_unicast(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(o[0] == 0 || o[0] == 127 || o[0] >= 224)
}

/// Walk one options area, calling `f(code, data)` for each well-formed option. Returns the
/// number of malformed options (an option whose length runs past the area ends the walk).
fn walk(area: &[u8], f: &mut impl FnMut(u8, &[u8])) -> u16 {
    let mut rest = area;
    // Each iteration consumes at least one byte, so this ends after `area.len()` rounds.
    while let Some((&code, tail)) = rest.split_first() {
        match code {
            opt::PAD => rest = tail,
            opt::END => return 0,
            _ => {
                let Some((&len, tail)) = tail.split_first() else {
                    return 1;
                };
                let len = usize::from(len);
                let (Some(data), Some(after)) = (tail.get(..len), tail.get(len..)) else {
                    return 1;
                };
                f(code, data);
                rest = after;
            }
        }
    }
    0
}

/// Accumulates option 15 across instances (RFC 3396 concatenation), bounded.
#[derive(Default)]
struct DomainAcc {
    bytes: heapless::Vec<u8, DOMAIN_MAX>,
    overflow: bool,
    seen: bool,
}

impl DomainAcc {
    fn push(&mut self, d: &[u8]) {
        self.seen = true;
        if self.bytes.extend_from_slice(d).is_err() {
            self.overflow = true;
        }
    }

    fn finish(self) -> Option<heapless::String<DOMAIN_MAX>> {
        if !self.seen || self.overflow {
            return None;
        }
        let mut s: &[u8] = &self.bytes;
        // Some servers add a NUL terminator or a trailing dot.
        while let Some((&last, head)) = s.split_last() {
            if last == 0 || last == b'.' {
                s = head;
            } else {
                break;
            }
        }
        if s.is_empty()
            || !s
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'))
        {
            return None;
        }
        // ASCII only (checked above): each byte is one char.
        let mut out = heapless::String::new();
        for &c in s {
            out.push(char::from(c)).ok()?;
        }
        Some(out)
    }
}

/// Parse a DHCP message (RFC 2131 §2) and the options the client uses (RFC 2132), following
/// option overload into `file` and then `sname` (RFC 2131 §4.1, RFC 2132 §9.3).
///
/// Never panics. Only the fixed header and the magic cookie are required; every option is
/// optional, and a malformed one is skipped. A scalar option (mask, lease time, T1, T2,
/// server id) counts when its length is exactly 4; the first well-formed instance wins.
/// Address lists (router, DNS) need a non-zero multiple of 4. Repeated DNS and domain options
/// are concatenated (RFC 3396).
pub fn parse(data: &[u8]) -> Result<Reply, ParseError> {
    if data.len() < OPTIONS_OFFSET {
        return Err(ParseError::TooShort);
    }
    if data.get(FIXED_LEN..OPTIONS_OFFSET) != Some(&MAGIC_COOKIE[..]) {
        return Err(ParseError::BadCookie);
    }
    let mut r = Reply {
        op: data.first().copied().unwrap_or(0),
        htype: data.get(1).copied().unwrap_or(0),
        hlen: data.get(2).copied().unwrap_or(0),
        xid: data
            .get(4..8)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_be_bytes)
            .unwrap_or(0),
        flags: data
            .get(10..12)
            .and_then(|b| b.try_into().ok())
            .map(u16::from_be_bytes)
            .unwrap_or(0),
        ciaddr: ip_at(data, 12).unwrap_or(Ipv4Addr::UNSPECIFIED),
        yiaddr: ip_at(data, 16).unwrap_or(Ipv4Addr::UNSPECIFIED),
        siaddr: ip_at(data, 20).unwrap_or(Ipv4Addr::UNSPECIFIED),
        giaddr: ip_at(data, 24).unwrap_or(Ipv4Addr::UNSPECIFIED),
        chaddr: [0; 16],
        message_type: None,
        server_id: None,
        subnet_mask: None,
        router: None,
        dns: heapless::Vec::new(),
        domain: None,
        lease_secs: None,
        t1_secs: None,
        t2_secs: None,
        overload: 0,
        malformed_options: 0,
    };
    if let Some(c) = data.get(28..44) {
        r.chaddr.copy_from_slice(c);
    }
    let main = data.get(OPTIONS_OFFSET..).unwrap_or(&[]);
    // Option 52 counts only in the main area (RFC 2132 §9.3); find it first.
    let mut overload: u8 = 0;
    walk(main, &mut |code, d| {
        if let (opt::OVERLOAD, [v]) = (code, d) {
            if overload == 0 && (1..=3).contains(v) {
                overload = *v;
            }
        }
    });
    let mut domain = DomainAcc::default();
    let mut malformed: u16 = 0;
    {
        let mut take = |code: u8, d: &[u8]| {
            let bad = match code {
                opt::MESSAGE_TYPE => match d {
                    [t] => {
                        if r.message_type.is_none() {
                            r.message_type = MessageType::from_u8(*t);
                        }
                        false
                    }
                    _ => true,
                },
                opt::SERVER_ID => set_ip(&mut r.server_id, d),
                opt::SUBNET_MASK => set_ip(&mut r.subnet_mask, d),
                opt::LEASE_TIME => set_u32(&mut r.lease_secs, d),
                opt::T1 => set_u32(&mut r.t1_secs, d),
                opt::T2 => set_u32(&mut r.t2_secs, d),
                opt::ROUTER => {
                    if d.is_empty() || !d.len().is_multiple_of(4) {
                        true
                    } else {
                        if r.router.is_none() {
                            r.router = d.chunks_exact(4).filter_map(ip4).find(|a| is_unicast(*a));
                        }
                        false
                    }
                }
                opt::DNS => {
                    if d.is_empty() || !d.len().is_multiple_of(4) {
                        true
                    } else {
                        for a in d.chunks_exact(4).filter_map(ip4) {
                            if is_unicast(a) && !r.dns.contains(&a) {
                                // Full: further servers are dropped on purpose.
                                let _ = r.dns.push(a);
                            }
                        }
                        false
                    }
                }
                opt::DOMAIN_NAME => {
                    domain.push(d);
                    false
                }
                opt::OVERLOAD => d.len() != 1,
                _ => false,
            };
            if bad {
                malformed = malformed.saturating_add(1);
            }
        };
        let mut truncated = walk(main, &mut take);
        // RFC 2131 §4.1: the `file` field first, then `sname`.
        if overload & 1 != 0 {
            truncated += walk(data.get(108..236).unwrap_or(&[]), &mut take);
        }
        if overload & 2 != 0 {
            truncated += walk(data.get(44..108).unwrap_or(&[]), &mut take);
        }
        malformed = malformed.saturating_add(truncated);
    }
    r.overload = overload;
    r.domain = domain.finish();
    r.malformed_options = malformed;
    Ok(r)
}

/// Store a 4-byte address option unless one is already set; returns true when malformed.
fn set_ip(slot: &mut Option<Ipv4Addr>, d: &[u8]) -> bool {
    match ip4(d) {
        Some(a) => {
            if slot.is_none() {
                *slot = Some(a);
            }
            false
        }
        None => true,
    }
}

/// Store a 4-byte number option unless one is already set; returns true when malformed.
fn set_u32(slot: &mut Option<u32>, d: &[u8]) -> bool {
    match u32_of(d) {
        Some(v) => {
            if slot.is_none() {
                *slot = Some(v);
            }
            false
        }
        None => true,
    }
}

/// A client message to build (RFC 2131 §4.4.1 table 5 says which fields each carries).
#[derive(Clone, Debug)]
pub struct Request<'a> {
    /// Message type (option 53).
    pub message_type: MessageType,
    /// Transaction id.
    pub xid: u32,
    /// Seconds since the exchange began.
    pub secs: u16,
    /// Set the BROADCAST flag (the chip cannot receive unicast before it has the address).
    pub broadcast: bool,
    /// `ciaddr` (only in BOUND, RENEWING, REBINDING and RELEASE).
    pub ciaddr: Ipv4Addr,
    /// Client hardware address.
    pub mac: [u8; 6],
    /// Client identifier (option 61).
    pub client_id: &'a [u8],
    /// Requested address (option 50).
    pub requested_ip: Option<Ipv4Addr>,
    /// Server identifier (option 54).
    pub server_id: Option<Ipv4Addr>,
    /// Host name (option 12).
    pub hostname: Option<&'a str>,
    /// Maximum message size (option 57).
    pub max_message_size: Option<u16>,
    /// Send the parameter request list (option 55).
    pub parameter_request: bool,
}

struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl Writer<'_> {
    fn put(&mut self, b: &[u8]) -> Option<()> {
        let end = self.pos.checked_add(b.len())?;
        self.buf.get_mut(self.pos..end)?.copy_from_slice(b);
        self.pos = end;
        Some(())
    }

    fn option(&mut self, code: u8, data: &[u8]) -> Option<()> {
        let len = u8::try_from(data.len()).ok()?;
        self.put(&[code, len])?;
        self.put(data)
    }
}

/// Write `req` into `buf`; returns the message length, or `None` when `buf` is too small
/// (at most [`MAX_REQUEST_LEN`] bytes are needed).
pub fn build(req: &Request<'_>, buf: &mut [u8]) -> Option<usize> {
    let mut w = Writer { buf, pos: 0 };
    let flags = if req.broadcast { FLAG_BROADCAST } else { 0 };
    w.put(&[BOOTREQUEST, 1, 6, 0])?;
    w.put(&req.xid.to_be_bytes())?;
    w.put(&req.secs.to_be_bytes())?;
    w.put(&flags.to_be_bytes())?;
    w.put(&req.ciaddr.octets())?;
    w.put(&[0; 12])?; // yiaddr, siaddr, giaddr
    w.put(&req.mac)?;
    w.put(&[0; 10])?; // rest of chaddr
    w.put(&[0; 192])?; // sname, file
    w.put(&MAGIC_COOKIE)?;
    w.option(opt::MESSAGE_TYPE, &[req.message_type as u8])?;
    if !req.client_id.is_empty() {
        let n = req.client_id.len().min(CLIENT_ID_MAX);
        w.option(opt::CLIENT_ID, req.client_id.get(..n)?)?;
    }
    if let Some(ip) = req.requested_ip {
        w.option(opt::REQUESTED_IP, &ip.octets())?;
    }
    if let Some(ip) = req.server_id {
        w.option(opt::SERVER_ID, &ip.octets())?;
    }
    if let Some(m) = req.max_message_size {
        w.option(opt::MAX_MESSAGE_SIZE, &m.to_be_bytes())?;
    }
    if req.parameter_request {
        w.option(opt::PARAMETER_REQUEST, &PARAMETER_REQUEST_LIST)?;
    }
    if let Some(h) = req.hostname.filter(|h| !h.is_empty()) {
        let b = h.as_bytes();
        w.option(opt::HOST_NAME, b.get(..b.len().min(HOSTNAME_MAX))?)?;
    }
    w.put(&[opt::END])?;
    while w.pos < MIN_MESSAGE_LEN {
        w.put(&[0])?;
    }
    Some(w.pos)
}
