//! A DHCP server (RFC 2131, options from RFC 2132) with switchable faults, and the message
//! codec tests use to act as a client.
//!
//! The server keeps leases keyed by client identifier (option 61, else `chaddr`), answers
//! DISCOVER with OFFER, REQUEST with ACK or NAK for each client state of RFC 2131 §4.3.2
//! (SELECTING, INIT-REBOOT, RENEWING by unicast, REBINDING by broadcast), handles DECLINE,
//! RELEASE and INFORM, and frees an address once its lease expired. Every message it sees and
//! sends is logged ([`DhcpServer::log`]) so tests can check, e.g., that a renewal was unicast.

use alloc::string::String;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};

use super::app::{InDatagram, UdpApp, UdpCtx};
use crate::net::MacAddr;
use crate::time::Instant;

/// UDP port of DHCP servers.
pub const SERVER_PORT: u16 = 67;
/// UDP port of DHCP clients.
pub const CLIENT_PORT: u16 = 68;
/// The options magic cookie (RFC 2131 §3).
pub const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];

/// DHCP message types (option 53, RFC 2132 §9.6).
pub mod msg {
    /// DHCPDISCOVER.
    pub const DISCOVER: u8 = 1;
    /// DHCPOFFER.
    pub const OFFER: u8 = 2;
    /// DHCPREQUEST.
    pub const REQUEST: u8 = 3;
    /// DHCPDECLINE.
    pub const DECLINE: u8 = 4;
    /// DHCPACK.
    pub const ACK: u8 = 5;
    /// DHCPNAK.
    pub const NAK: u8 = 6;
    /// DHCPRELEASE.
    pub const RELEASE: u8 = 7;
    /// DHCPINFORM.
    pub const INFORM: u8 = 8;
}

/// Option codes used here (RFC 2132).
pub mod opt {
    /// Subnet mask (§3.3).
    pub const SUBNET_MASK: u8 = 1;
    /// Router (§3.5).
    pub const ROUTER: u8 = 3;
    /// Domain name servers (§3.8).
    pub const DNS: u8 = 6;
    /// Host name (§3.14).
    pub const HOST_NAME: u8 = 12;
    /// Domain name (§3.17).
    pub const DOMAIN_NAME: u8 = 15;
    /// Broadcast address (§5.3).
    pub const BROADCAST: u8 = 28;
    /// Requested IP address (§9.1).
    pub const REQUESTED_IP: u8 = 50;
    /// Lease time (§9.2).
    pub const LEASE_TIME: u8 = 51;
    /// Option overload (§9.3).
    pub const OVERLOAD: u8 = 52;
    /// Message type (§9.6).
    pub const MSG_TYPE: u8 = 53;
    /// Server identifier (§9.7).
    pub const SERVER_ID: u8 = 54;
    /// Parameter request list (§9.8).
    pub const PARAM_REQUEST: u8 = 55;
    /// Message (§9.9).
    pub const MESSAGE: u8 = 56;
    /// Renewal (T1) time (§9.11).
    pub const T1: u8 = 58;
    /// Rebinding (T2) time (§9.12).
    pub const T2: u8 = 59;
    /// Client identifier (§9.14).
    pub const CLIENT_ID: u8 = 61;
}

/// A DHCP message (RFC 2131 §2, figure 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DhcpMessage {
    /// 1 = BOOTREQUEST, 2 = BOOTREPLY.
    pub op: u8,
    /// Hardware type (1 = Ethernet).
    pub htype: u8,
    /// Hardware address length (6).
    pub hlen: u8,
    /// Relay hops.
    pub hops: u8,
    /// Transaction id.
    pub xid: u32,
    /// Seconds since the client began.
    pub secs: u16,
    /// Flags (bit 15 = BROADCAST).
    pub flags: u16,
    /// Client address (only in BOUND, RENEW, REBINDING).
    pub ciaddr: Ipv4Addr,
    /// "Your" address.
    pub yiaddr: Ipv4Addr,
    /// Next server.
    pub siaddr: Ipv4Addr,
    /// Relay agent.
    pub giaddr: Ipv4Addr,
    /// Client hardware address (16 bytes).
    pub chaddr: [u8; 16],
    /// Server host name field (64 bytes; options when overloaded).
    pub sname: Vec<u8>,
    /// Boot file field (128 bytes; options when overloaded).
    pub file: Vec<u8>,
    /// Options in order (pad and end excluded), from all three areas after decoding.
    pub options: Vec<(u8, Vec<u8>)>,
}

/// The BROADCAST flag (RFC 2131 §2, figure 2).
pub const FLAG_BROADCAST: u16 = 0x8000;

impl DhcpMessage {
    /// A client request of type `msg_type` from `mac` with transaction `xid`.
    pub fn request(msg_type: u8, xid: u32, mac: MacAddr) -> Self {
        let mut chaddr = [0u8; 16];
        if let Some(c) = chaddr.get_mut(..6) {
            c.copy_from_slice(&mac.0);
        }
        DhcpMessage {
            op: 1,
            htype: 1,
            hlen: 6,
            hops: 0,
            xid,
            secs: 0,
            flags: 0,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: Ipv4Addr::UNSPECIFIED,
            chaddr,
            sname: Vec::new(),
            file: Vec::new(),
            options: alloc::vec![(opt::MSG_TYPE, alloc::vec![msg_type])],
        }
    }

    /// Add an option (builder style).
    pub fn with_option(mut self, code: u8, data: &[u8]) -> Self {
        self.options.push((code, data.to_vec()));
        self
    }

    /// The first option `code`.
    pub fn option(&self, code: u8) -> Option<&[u8]> {
        self.options
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, d)| d.as_slice())
    }

    /// An option holding one IPv4 address.
    pub fn option_ip(&self, code: u8) -> Option<Ipv4Addr> {
        let d = self.option(code)?;
        let b: [u8; 4] = d.get(..4)?.try_into().ok()?;
        Some(Ipv4Addr::from(b))
    }

    /// An option holding a list of IPv4 addresses.
    pub fn option_ips(&self, code: u8) -> Vec<Ipv4Addr> {
        self.option(code)
            .map(|d| {
                d.chunks_exact(4)
                    .filter_map(|c| <[u8; 4]>::try_from(c).ok().map(Ipv4Addr::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// An option holding a 32-bit number (lease times).
    pub fn option_u32(&self, code: u8) -> Option<u32> {
        let d = self.option(code)?;
        Some(u32::from_be_bytes(d.get(..4)?.try_into().ok()?))
    }

    /// The message type (option 53).
    pub fn msg_type(&self) -> Option<u8> {
        self.option(opt::MSG_TYPE)?.first().copied()
    }

    /// The client MAC from `chaddr`.
    pub fn mac(&self) -> MacAddr {
        let mut m = [0u8; 6];
        if let Some(s) = self.chaddr.get(..6) {
            m.copy_from_slice(s);
        }
        MacAddr(m)
    }

    /// True when the BROADCAST flag is set.
    pub fn broadcast_flag(&self) -> bool {
        self.flags & FLAG_BROADCAST != 0
    }

    /// Encode (options area only; `sname`/`file` as given, padded).
    pub fn encode(&self) -> Vec<u8> {
        self.encode_with(&self.options, &[], &[])
    }

    fn encode_with(
        &self,
        main: &[(u8, Vec<u8>)],
        in_file: &[(u8, Vec<u8>)],
        in_sname: &[(u8, Vec<u8>)],
    ) -> Vec<u8> {
        let mut b = Vec::with_capacity(548);
        b.extend_from_slice(&[self.op, self.htype, self.hlen, self.hops]);
        b.extend_from_slice(&self.xid.to_be_bytes());
        b.extend_from_slice(&self.secs.to_be_bytes());
        b.extend_from_slice(&self.flags.to_be_bytes());
        for a in [self.ciaddr, self.yiaddr, self.siaddr, self.giaddr] {
            b.extend_from_slice(&a.octets());
        }
        b.extend_from_slice(&self.chaddr);
        let area = |fixed: &[u8], opts: &[(u8, Vec<u8>)], len: usize| -> Vec<u8> {
            let mut v = if opts.is_empty() {
                fixed.iter().copied().take(len).collect()
            } else {
                let mut v = Vec::new();
                put_options(&mut v, opts);
                v.push(255);
                v.truncate(len);
                v
            };
            v.resize(len, 0);
            v
        };
        b.extend_from_slice(&area(&self.sname, in_sname, 64));
        b.extend_from_slice(&area(&self.file, in_file, 128));
        b.extend_from_slice(&MAGIC_COOKIE);
        put_options(&mut b, main);
        b.push(255);
        b
    }

    /// Decode a DHCP message, following option overload (RFC 2132 §9.3).
    pub fn decode(b: &[u8]) -> Option<Self> {
        if b.len() < 240 || b.get(236..240)? != MAGIC_COOKIE {
            return None;
        }
        let ip = |o: usize| -> Option<Ipv4Addr> {
            let a: [u8; 4] = b.get(o..o + 4)?.try_into().ok()?;
            Some(Ipv4Addr::from(a))
        };
        let mut chaddr = [0u8; 16];
        chaddr.copy_from_slice(b.get(28..44)?);
        let mut m = DhcpMessage {
            op: *b.first()?,
            htype: *b.get(1)?,
            hlen: *b.get(2)?,
            hops: *b.get(3)?,
            xid: u32::from_be_bytes(b.get(4..8)?.try_into().ok()?),
            secs: u16::from_be_bytes(b.get(8..10)?.try_into().ok()?),
            flags: u16::from_be_bytes(b.get(10..12)?.try_into().ok()?),
            ciaddr: ip(12)?,
            yiaddr: ip(16)?,
            siaddr: ip(20)?,
            giaddr: ip(24)?,
            chaddr,
            sname: b.get(44..108)?.to_vec(),
            file: b.get(108..236)?.to_vec(),
            options: Vec::new(),
        };
        m.options = parse_options(b.get(240..)?);
        let overload = m
            .option(opt::OVERLOAD)
            .and_then(|d| d.first().copied())
            .unwrap_or(0);
        if overload & 1 != 0 {
            let extra = parse_options(&m.file);
            m.options.extend(extra);
        }
        if overload & 2 != 0 {
            let extra = parse_options(&m.sname);
            m.options.extend(extra);
        }
        Some(m)
    }
}

fn put_options(b: &mut Vec<u8>, opts: &[(u8, Vec<u8>)]) {
    for (code, data) in opts {
        // Long options are split into several instances (RFC 3396 style); ours never are.
        for chunk in data.chunks(255) {
            b.push(*code);
            b.push(chunk.len() as u8);
            b.extend_from_slice(chunk);
        }
        if data.is_empty() {
            b.push(*code);
            b.push(0);
        }
    }
}

fn parse_options(mut b: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while let Some((&code, rest)) = b.split_first() {
        match code {
            0 => b = rest,
            255 => break,
            _ => {
                let Some((&len, rest)) = rest.split_first() else {
                    break;
                };
                let Some(data) = rest.get(..usize::from(len)) else {
                    break;
                };
                out.push((code, data.to_vec()));
                b = rest.get(usize::from(len)..).unwrap_or(&[]);
            }
        }
    }
    out
}

/// Server configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DhcpConfig {
    /// Server identifier (option 54), normally the server host's address.
    pub server_id: Ipv4Addr,
    /// First address of the pool.
    pub pool_start: Ipv4Addr,
    /// Number of addresses in the pool.
    pub pool_size: u32,
    /// Subnet mask (option 1).
    pub subnet_mask: Ipv4Addr,
    /// Router (option 3).
    pub router: Option<Ipv4Addr>,
    /// DNS servers (option 6), in order.
    pub dns: Vec<Ipv4Addr>,
    /// Domain name (option 15).
    pub domain: Option<String>,
    /// Broadcast address (option 28).
    pub broadcast: Option<Ipv4Addr>,
    /// Lease time in seconds (option 51).
    pub lease_secs: u32,
    /// T1 in seconds (option 58); `None` omits it (the client then uses 0.5 · lease).
    pub t1_secs: Option<u32>,
    /// T2 in seconds (option 59); `None` omits it (the client then uses 0.875 · lease).
    pub t2_secs: Option<u32>,
    /// How long an offered address stays reserved for the client.
    pub offer_hold_secs: u32,
    /// Answer clients without an address by unicast to `yiaddr`/`chaddr` (RFC 2131 §4.1)
    /// instead of broadcast (the default here, which every client can receive).
    pub unicast_offers: bool,
}

impl DhcpConfig {
    /// A server at `server_id` handing out `pool_size` addresses from `pool_start` on a /24.
    pub fn new(server_id: Ipv4Addr, pool_start: Ipv4Addr, pool_size: u32) -> Self {
        DhcpConfig {
            server_id,
            pool_start,
            pool_size,
            subnet_mask: Ipv4Addr::new(255, 255, 255, 0),
            router: Some(server_id),
            dns: alloc::vec![server_id],
            domain: None,
            broadcast: None,
            lease_secs: 3600,
            t1_secs: None,
            t2_secs: None,
            offer_hold_secs: 60,
            unicast_offers: false,
        }
    }
}

/// Switchable misbehaviour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DhcpFault {
    /// Behave.
    #[default]
    None,
    /// Answer every REQUEST with NAK (DISCOVERs still get offers).
    NakAll,
    /// Drop every message.
    Silent,
}

/// The client state a REQUEST reveals (RFC 2131 §4.3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestKind {
    /// Server identifier present: answering an offer.
    Selecting,
    /// Requested-address present, no server id, `ciaddr` zero: rebooting with a known address.
    InitReboot,
    /// `ciaddr` set, unicast to the server: T1 renewal.
    Renewing,
    /// `ciaddr` set, broadcast: T2 rebinding.
    Rebinding,
}

/// Direction of a logged message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogDir {
    /// The server received it.
    Received,
    /// The server sent it.
    Sent,
}

/// One message the server saw or sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DhcpLogEntry {
    /// When.
    pub at: Instant,
    /// Received or sent.
    pub dir: LogDir,
    /// Message type (option 53).
    pub msg_type: u8,
    /// Transaction id.
    pub xid: u32,
    /// Source address and port.
    pub src: SocketAddrV4,
    /// Destination address and port (shows unicast vs broadcast).
    pub dst: SocketAddrV4,
    /// Client MAC.
    pub mac: MacAddr,
    /// `ciaddr`.
    pub ciaddr: Ipv4Addr,
    /// `yiaddr`.
    pub yiaddr: Ipv4Addr,
    /// Option 50.
    pub requested_ip: Option<Ipv4Addr>,
    /// Option 54.
    pub server_id: Option<Ipv4Addr>,
    /// BROADCAST flag.
    pub broadcast_flag: bool,
    /// For received REQUESTs: the client state.
    pub kind: Option<RequestKind>,
}

/// A lease (or an outstanding offer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// Client identifier (option 61, else the hardware address).
    pub client: Vec<u8>,
    /// Client MAC.
    pub mac: MacAddr,
    /// Leased address.
    pub ip: Ipv4Addr,
    /// When it expires (an offer expires after `offer_hold_secs`).
    pub expires: Instant,
    /// True once ACKed; false while only offered.
    pub bound: bool,
}

/// The DHCP server (a [`UdpApp`] for port 67).
#[derive(Debug)]
pub struct DhcpServer {
    /// Configuration (may be changed at run time).
    pub config: DhcpConfig,
    /// Current fault mode.
    pub fault: DhcpFault,
    /// Option codes to leave out of OFFER/ACK (53 is always sent).
    pub omit_options: Vec<u8>,
    /// Put options into the `file` and `sname` fields (option 52 = 3, RFC 2132 §9.3).
    pub overload: bool,
    /// Every message seen and sent (the last [`DhcpServer::log_limit`]).
    pub log: Vec<DhcpLogEntry>,
    /// Most entries kept in [`DhcpServer::log`] (oldest dropped first).
    pub log_limit: usize,
    /// Messages received in all, by DHCP message type (option 53: index 1 DISCOVER .. 8
    /// INFORM; 0 counts messages without a known type).
    pub received_by_type: [u64; 9],
    /// Host name (option 12, RFC 2132 §3.14) of the last received message that carried
    /// one: what the client calls itself.
    pub last_hostname: Option<Vec<u8>>,
    leases: Vec<Lease>,
    declined: Vec<(Ipv4Addr, Instant)>,
}

fn after_secs(now: Instant, s: u32) -> Instant {
    Instant::from_micros(
        now.as_micros()
            .saturating_add(u64::from(s).saturating_mul(1_000_000)),
    )
}

impl DhcpServer {
    /// A well-behaved server.
    pub fn new(config: DhcpConfig) -> Self {
        DhcpServer {
            config,
            fault: DhcpFault::None,
            omit_options: Vec::new(),
            overload: false,
            log: Vec::new(),
            log_limit: usize::MAX,
            received_by_type: [0; 9],
            last_hostname: None,
            leases: Vec::new(),
            declined: Vec::new(),
        }
    }

    /// Current leases and offers.
    pub fn leases(&self) -> &[Lease] {
        &self.leases
    }

    /// Record a lease as if this server had granted it: a failover partner that knows the
    /// client's binding answers its REBINDING broadcast (RFC 2131 §4.3.2) in tests.
    pub fn insert_lease(&mut self, lease: Lease) {
        self.leases.push(lease);
    }

    /// Addresses marked unusable by DECLINE.
    pub fn declined(&self) -> Vec<Ipv4Addr> {
        self.declined.iter().map(|(ip, _)| *ip).collect()
    }

    /// Logged messages of type `msg_type` in direction `dir`.
    pub fn logged(&self, dir: LogDir, msg_type: u8) -> Vec<&DhcpLogEntry> {
        self.log
            .iter()
            .filter(|e| e.dir == dir && e.msg_type == msg_type)
            .collect()
    }

    fn in_pool(&self, ip: Ipv4Addr) -> bool {
        let start = u32::from(self.config.pool_start);
        let n = u32::from(ip);
        n >= start && n - start < self.config.pool_size
    }

    fn on_subnet(&self, ip: Ipv4Addr) -> bool {
        let m = u32::from(self.config.subnet_mask);
        u32::from(ip) & m == u32::from(self.config.server_id) & m
    }

    fn is_free(&self, ip: Ipv4Addr, client: &[u8]) -> bool {
        ip != self.config.server_id
            && self.in_pool(ip)
            && !self.declined.iter().any(|(d, _)| *d == ip)
            && !self.leases.iter().any(|l| l.ip == ip && l.client != client)
    }

    fn expire(&mut self, now: Instant) {
        self.leases.retain(|l| l.expires > now);
        self.declined.retain(|(_, t)| *t > now);
    }

    fn client_id(m: &DhcpMessage) -> Vec<u8> {
        match m.option(opt::CLIENT_ID) {
            Some(id) => id.to_vec(),
            None => m
                .chaddr
                .get(..usize::from(m.hlen.min(16)))
                .unwrap_or(&[])
                .to_vec(),
        }
    }

    fn config_options(&self, with_lease: bool) -> Vec<(u8, Vec<u8>)> {
        let c = &self.config;
        let mut o: Vec<(u8, Vec<u8>)> = Vec::new();
        o.push((opt::SERVER_ID, c.server_id.octets().to_vec()));
        if with_lease {
            o.push((opt::LEASE_TIME, c.lease_secs.to_be_bytes().to_vec()));
            if let Some(t1) = c.t1_secs {
                o.push((opt::T1, t1.to_be_bytes().to_vec()));
            }
            if let Some(t2) = c.t2_secs {
                o.push((opt::T2, t2.to_be_bytes().to_vec()));
            }
        }
        o.push((opt::SUBNET_MASK, c.subnet_mask.octets().to_vec()));
        if let Some(r) = c.router {
            o.push((opt::ROUTER, r.octets().to_vec()));
        }
        if !c.dns.is_empty() {
            o.push((opt::DNS, c.dns.iter().flat_map(|a| a.octets()).collect()));
        }
        if let Some(d) = &c.domain {
            o.push((opt::DOMAIN_NAME, d.as_bytes().to_vec()));
        }
        if let Some(b) = c.broadcast {
            o.push((opt::BROADCAST, b.octets().to_vec()));
        }
        o.retain(|(code, _)| !self.omit_options.contains(code));
        o
    }

    fn reply_base(req: &DhcpMessage) -> DhcpMessage {
        DhcpMessage {
            op: 2,
            htype: req.htype,
            hlen: req.hlen,
            hops: 0,
            xid: req.xid,
            secs: 0,
            flags: req.flags,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: req.giaddr,
            chaddr: req.chaddr,
            sname: Vec::new(),
            file: Vec::new(),
            options: Vec::new(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn send(
        &mut self,
        now: Instant,
        ctx: &mut UdpCtx,
        req: &DhcpMessage,
        msg_type: u8,
        yiaddr: Ipv4Addr,
        ciaddr: Ipv4Addr,
        with_lease: bool,
    ) {
        let mut m = Self::reply_base(req);
        m.yiaddr = yiaddr;
        m.ciaddr = ciaddr;
        let mut main = alloc::vec![(opt::MSG_TYPE, alloc::vec![msg_type])];
        let mut in_file = Vec::new();
        let mut in_sname = Vec::new();
        if msg_type == msg::NAK {
            main.push((opt::SERVER_ID, self.config.server_id.octets().to_vec()));
            main.push((opt::MESSAGE, b"address not available".to_vec()));
        } else {
            let o = self.config_options(with_lease);
            if self.overload {
                main.push((opt::OVERLOAD, alloc::vec![3]));
                for (code, data) in o {
                    match code {
                        opt::SERVER_ID | opt::LEASE_TIME => main.push((code, data)),
                        opt::DOMAIN_NAME => in_sname.push((code, data)),
                        _ => in_file.push((code, data)),
                    }
                }
            } else {
                main.extend(o);
            }
        }
        m.options = main.clone();
        let bytes = m.encode_with(&main, &in_file, &in_sname);
        // RFC 2131 §4.1 destination rules.
        let (dst, mac) = if !req.giaddr.is_unspecified() {
            (SocketAddrV4::new(req.giaddr, SERVER_PORT), None)
        } else if msg_type == msg::NAK {
            (SocketAddrV4::new(Ipv4Addr::BROADCAST, CLIENT_PORT), None)
        } else if !req.ciaddr.is_unspecified() {
            (SocketAddrV4::new(req.ciaddr, CLIENT_PORT), None)
        } else if req.broadcast_flag() || !self.config.unicast_offers {
            (SocketAddrV4::new(Ipv4Addr::BROADCAST, CLIENT_PORT), None)
        } else {
            (SocketAddrV4::new(yiaddr, CLIENT_PORT), Some(req.mac()))
        };
        super::host::keep_last(&mut self.log, self.log_limit);
        self.log.push(DhcpLogEntry {
            at: now,
            dir: LogDir::Sent,
            msg_type,
            xid: m.xid,
            src: SocketAddrV4::new(ctx.host_ip(), SERVER_PORT),
            dst,
            mac: req.mac(),
            ciaddr: m.ciaddr,
            yiaddr: m.yiaddr,
            requested_ip: None,
            server_id: Some(self.config.server_id),
            broadcast_flag: m.broadcast_flag(),
            kind: None,
        });
        match mac {
            Some(mac) => ctx.send_to_mac(SERVER_PORT, dst, mac, bytes),
            None => ctx.send(SERVER_PORT, dst, bytes),
        }
    }

    fn request_kind(req: &DhcpMessage, dst: Ipv4Addr) -> RequestKind {
        if req.option(opt::SERVER_ID).is_some() {
            RequestKind::Selecting
        } else if req.option(opt::REQUESTED_IP).is_some() && req.ciaddr.is_unspecified() {
            RequestKind::InitReboot
        } else if dst == Ipv4Addr::BROADCAST || dst.octets()[3] == 255 {
            RequestKind::Rebinding
        } else {
            RequestKind::Renewing
        }
    }

    fn handle(&mut self, now: Instant, d: &InDatagram, req: &DhcpMessage, ctx: &mut UdpCtx) {
        let Some(t) = req.msg_type() else { return };
        let client = Self::client_id(req);
        let kind = (t == msg::REQUEST).then(|| Self::request_kind(req, *d.dst.ip()));
        if let Some(h) = req.option(opt::HOST_NAME) {
            self.last_hostname = Some(h.to_vec());
        }
        let slot = usize::from(t);
        let slot = if slot < self.received_by_type.len() {
            slot
        } else {
            0
        };
        if let Some(n) = self.received_by_type.get_mut(slot) {
            *n = n.saturating_add(1);
        }
        super::host::keep_last(&mut self.log, self.log_limit);
        self.log.push(DhcpLogEntry {
            at: now,
            dir: LogDir::Received,
            msg_type: t,
            xid: req.xid,
            src: d.src,
            dst: d.dst,
            mac: req.mac(),
            ciaddr: req.ciaddr,
            yiaddr: req.yiaddr,
            requested_ip: req.option_ip(opt::REQUESTED_IP),
            server_id: req.option_ip(opt::SERVER_ID),
            broadcast_flag: req.broadcast_flag(),
            kind,
        });
        if self.fault == DhcpFault::Silent || req.op != 1 {
            return;
        }
        self.expire(now);
        let requested = req.option_ip(opt::REQUESTED_IP);
        let mine = self.leases.iter().position(|l| l.client == client);
        match t {
            msg::DISCOVER => {
                let ip = match mine {
                    Some(i) => self.leases.get(i).map(|l| l.ip),
                    None => None,
                }
                .or_else(|| requested.filter(|r| self.is_free(*r, &client)))
                .or_else(|| {
                    let start = u32::from(self.config.pool_start);
                    (0..self.config.pool_size)
                        .map(|k| Ipv4Addr::from(start.wrapping_add(k)))
                        .find(|ip| self.is_free(*ip, &client))
                });
                let Some(ip) = ip else { return };
                let hold = after_secs(now, self.config.offer_hold_secs);
                match mine.and_then(|i| self.leases.get_mut(i)) {
                    Some(l) => {
                        if !l.bound {
                            l.expires = hold;
                        }
                    }
                    None => self.leases.push(Lease {
                        client: client.clone(),
                        mac: req.mac(),
                        ip,
                        expires: hold,
                        bound: false,
                    }),
                }
                self.send(now, ctx, req, msg::OFFER, ip, Ipv4Addr::UNSPECIFIED, true);
            }
            msg::REQUEST => {
                let kind = kind.unwrap_or(RequestKind::Selecting);
                if kind == RequestKind::Selecting
                    && req.option_ip(opt::SERVER_ID) != Some(self.config.server_id)
                {
                    // The client chose another server: withdraw our offer.
                    self.leases.retain(|l| l.client != client || l.bound);
                    return;
                }
                if self.fault == DhcpFault::NakAll {
                    self.send(
                        now,
                        ctx,
                        req,
                        msg::NAK,
                        Ipv4Addr::UNSPECIFIED,
                        Ipv4Addr::UNSPECIFIED,
                        false,
                    );
                    return;
                }
                let want = match kind {
                    RequestKind::Selecting | RequestKind::InitReboot => requested,
                    RequestKind::Renewing | RequestKind::Rebinding => Some(req.ciaddr),
                };
                let lease_ip = mine.and_then(|i| self.leases.get(i)).map(|l| l.ip);
                let verdict = match (want, lease_ip) {
                    (Some(w), Some(l)) if w == l => Some(true),
                    (Some(_), Some(_)) => Some(false),
                    (None, _) => Some(false),
                    (Some(w), None) => match kind {
                        RequestKind::Selecting => Some(false),
                        // RFC 2131 §4.3.2: no record of the client: NAK only when the address
                        // is wrong for this network or belongs to someone else, else silence.
                        RequestKind::InitReboot => {
                            if !self.on_subnet(w) || !self.is_free(w, &client) {
                                Some(false)
                            } else {
                                None
                            }
                        }
                        RequestKind::Renewing => Some(false),
                        RequestKind::Rebinding => None,
                    },
                };
                match verdict {
                    Some(true) => {
                        let lease = after_secs(now, self.config.lease_secs);
                        if let Some(l) = mine.and_then(|i| self.leases.get_mut(i)) {
                            l.bound = true;
                            l.expires = lease;
                            l.mac = req.mac();
                        }
                        let ip = lease_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
                        self.send(now, ctx, req, msg::ACK, ip, req.ciaddr, true);
                    }
                    Some(false) => {
                        if kind == RequestKind::Selecting {
                            self.leases.retain(|l| l.client != client || l.bound);
                        }
                        self.send(
                            now,
                            ctx,
                            req,
                            msg::NAK,
                            Ipv4Addr::UNSPECIFIED,
                            Ipv4Addr::UNSPECIFIED,
                            false,
                        );
                    }
                    None => {}
                }
            }
            msg::DECLINE => {
                if req
                    .option_ip(opt::SERVER_ID)
                    .is_some_and(|s| s != self.config.server_id)
                {
                    return;
                }
                if let Some(ip) = requested {
                    self.leases.retain(|l| !(l.client == client && l.ip == ip));
                    let until = after_secs(now, self.config.lease_secs);
                    self.declined.push((ip, until));
                }
            }
            msg::RELEASE => {
                self.leases
                    .retain(|l| !(l.client == client && l.ip == req.ciaddr));
            }
            msg::INFORM => {
                // RFC 2131 §4.3.5: ACK with configuration, no lease time, unicast to ciaddr.
                self.send(
                    now,
                    ctx,
                    req,
                    msg::ACK,
                    Ipv4Addr::UNSPECIFIED,
                    req.ciaddr,
                    false,
                );
            }
            _ => {}
        }
    }
}

impl UdpApp for DhcpServer {
    fn on_datagram(&mut self, now: Instant, d: &InDatagram, ctx: &mut UdpCtx) {
        if let Some(m) = DhcpMessage::decode(&d.payload) {
            self.handle(now, d, &m, ctx);
        }
    }
}
