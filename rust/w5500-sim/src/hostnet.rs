//! The chip's sockets as host sockets: a [`Network`] backed by the host's IP stack (`std`, Linux).
//!
//! [`HostNet`] plays the *whole* network for the simulated chip. It is meant to run inside a
//! network namespace that a test created (veth pair, addresses such as 10.77.x.0/24 that exist
//! only there), with real peers (dnsmasq, `python3 -m http.server`, socat, ...) on the other end:
//!
//! - **ARP**: every ARP request from the chip is answered with one synthetic MAC
//!   ([`HostNetConfig::peer_mac`]), as if every address sat behind one router. Requests for the
//!   chip's own address (gratuitous or conflict probes) are not answered, and an RFC 5227 probe
//!   (sender 0.0.0.0, as a DHCP client sends before it uses an offered address) is answered only
//!   when the probed address is one of the namespace's own. When HostNet needs the
//!   chip's MAC (an incoming connection before the chip has sent anything) it asks for it with an
//!   ARP request, as a real peer would.
//! - **UDP**: a datagram from the chip's port `p` goes out through a host UDP socket bound to
//!   `0.0.0.0:p` with `SO_REUSEADDR`, `SO_BROADCAST` and (when configured) `SO_BINDTODEVICE`, so
//!   DHCP from `0.0.0.0:68` to `255.255.255.255:67` works. Datagrams that arrive on that host
//!   socket come back to the chip addressed to the chip's IP (or to 255.255.255.255 while the chip
//!   has no address). [`HostNet::forward_udp`] opens such a socket before the chip sends anything.
//! - **TCP, chip as client**: a SYN from the chip becomes a non-blocking host `connect()`. When it
//!   completes HostNet answers SYN-ACK (or RST|ACK when it fails) and from then on translates both
//!   ways with its own sequence numbers: it reads from the host socket only as much as the chip's
//!   advertised window allows (keeping every unacknowledged byte for retransmission, so nothing is
//!   lost; as the W5500 keeps no out-of-order data, a duplicate ACK or a retransmission timeout
//!   sends everything again from the first unacknowledged byte: go-back-N), acknowledges the chip's data once it has been written to the host socket, turns host
//!   EOF into FIN and host resets into RST, the chip's FIN into `shutdown(Write)` and the chip's
//!   RST into closing the host socket (with `SO_LINGER` 0, so the host peer sees a reset).
//! - **TCP, chip as server**: like QEMU's `hostfwd`, [`HostNet::forward_tcp`] listens on a port in
//!   the namespace; every accepted host connection becomes a SYN to the chip's IP on that port.
//!
//! **Addresses are rewritten (NAT-like)**: the chip's IP (its SIPR) is not the namespace's own
//! address. Host sockets use the namespace's addresses; frames to the chip always carry the
//! chip's IP as destination. HostNet learns the chip's MAC and IP from the frames it sends, from
//! a DHCPACK it delivers to the chip's port 68 ([`dhcp_ack_yiaddr`]: a DHCP-configured server on
//! the chip may send nothing before the first forwarded connection), or from
//! [`HostNetConfig::chip_ip`].
//!
//! Time: HostNet runs its timers (retransmission, connect timeout) on the `now` it is given; the
//! simulator runs in wall-clock mode with it. Sockets are non-blocking and polled in
//! [`Network::poll`]; [`Network::next_event`] returns a short poll interval while anything is
//! open. Everything is bounded: connections, UDP sockets, queued frames, buffered bytes, retries.
//!
//! Not modelled: ICMP (echo requests from the chip are ignored, host ICMP errors are not turned
//! into ICMP to the chip), IGMP/multicast, IP options, MACRAW frames that are neither ARP nor
//! UDP/TCP over IPv4.

mod snoop;

pub use snoop::dhcp_ack_yiaddr;

use std::collections::VecDeque;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4};
use std::time::Duration;

use socket2::{Domain, SockAddr, Socket, Type};

use crate::net::{
    Arp, ArpOp, Body, Frame, IpPayload, Ipv4Packet, MacAddr, Network, TcpFlags, TcpSegment,
    UdpDatagram,
};
use crate::time::Instant;

/// The synthetic MAC HostNet answers every ARP request with (locally administered).
pub const DEFAULT_PEER_MAC: MacAddr = MacAddr([0x02, 0x48, 0x4e, 0x45, 0x54, 0x01]);

/// Largest UDP payload delivered to the chip: the chip never reassembles fragments (DS §1.7).
pub const MAX_UDP_TO_CHIP: usize = 1472;

/// `EINPROGRESS` on Linux: what a non-blocking `connect()` returns while it runs.
const EINPROGRESS: i32 = 115;

/// How [`HostNet`] is set up.
#[derive(Clone, Debug)]
pub struct HostNetConfig {
    /// Interface for `SO_BINDTODEVICE` on every host socket (e.g. the dut side of a veth pair).
    /// Needed for broadcasts such as DHCP when the namespace has no default route.
    pub interface: Option<String>,
    /// The MAC every ARP request from the chip is answered with, and the source of every frame
    /// HostNet sends to the chip.
    pub peer_mac: MacAddr,
    /// The chip's IP before it has sent anything (needed for forwarded ports); later learned
    /// from the source address of the chip's frames.
    pub chip_ip: Option<Ipv4Addr>,
    /// Maximum simultaneous TCP connections.
    pub max_tcp: usize,
    /// Maximum host UDP sockets (one per chip source port); the least recently used is closed.
    pub max_udp: usize,
    /// Maximum frames waiting for the chip; more are dropped (and counted).
    pub max_queue: usize,
    /// Bytes from the chip buffered per connection before they are written to the host socket;
    /// also the window HostNet advertises to the chip (at most 65535).
    pub tcp_buffer: usize,
    /// Retransmission timeout for segments to the chip (doubled per retry, at most 16x).
    pub rto: Duration,
    /// Retransmissions before a connection to the chip is given up (RST).
    pub max_retries: u8,
    /// How long a host `connect()` may take before the chip gets an RST.
    pub connect_timeout: Duration,
    /// Interval [`Network::next_event`] asks to be polled at while anything is open.
    pub poll_interval: Duration,
}

impl Default for HostNetConfig {
    fn default() -> Self {
        HostNetConfig {
            interface: None,
            peer_mac: DEFAULT_PEER_MAC,
            chip_ip: None,
            max_tcp: 16,
            max_udp: 16,
            max_queue: 1024,
            tcp_buffer: 16 * 1024,
            rto: Duration::from_millis(200),
            max_retries: 10,
            connect_timeout: Duration::from_secs(10),
            poll_interval: Duration::from_millis(2),
        }
    }
}

/// Counters of what HostNet did, for tests and diagnostics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HostNetStats {
    /// ARP replies sent to the chip.
    pub arp_replies: u64,
    /// UDP datagrams sent to the host.
    pub udp_out: u64,
    /// UDP datagrams delivered to the chip.
    pub udp_in: u64,
    /// TCP connections opened (both directions).
    pub tcp_opened: u64,
    /// TCP segments retransmitted to the chip.
    pub retransmits: u64,
    /// Duplicate ACKs from the chip that made HostNet send again from SND.UNA (go-back-N).
    pub go_back: u64,
    /// Resets sent to the chip.
    pub resets_to_chip: u64,
    /// Frames dropped (queue full, oversized, unsupported).
    pub dropped: u64,
}

/// Sequence-number comparison `a < b` modulo 2^32 (RFC 9293 §3.4).
fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

fn seq_le(a: u32, b: u32) -> bool {
    a == b || seq_lt(a, b)
}

fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// The chip sent SYN; the host `connect()` is running.
    Connecting,
    /// We answered the chip's SYN with SYN-ACK and wait for its ACK.
    SynAckSent,
    /// We sent SYN to the chip (forwarded port) and wait for its SYN-ACK.
    SynSent,
    /// Data flows (including the half-closed phases).
    Established,
}

struct Conn {
    state: State,
    sock: Socket,
    chip_port: u16,
    /// The peer as the chip sees it.
    remote: SocketAddrV4,
    /// Our initial sequence number.
    isn: u32,
    snd_una: u32,
    /// Next sequence number to send (moved back to `snd_una` by go-back-N).
    snd_nxt: u32,
    /// Highest sequence number sent so far: ACKs up to here are acceptable.
    snd_max: u32,
    /// Bytes read from the host and not yet acknowledged by the chip, starting at `snd_una`;
    /// those from `snd_nxt` on are not (or no longer: go-back-N) in flight and are sent next.
    unacked: VecDeque<u8>,
    chip_wnd: u16,
    chip_mss: u16,
    /// Next sequence number expected from the chip (end of what was accepted).
    rcv_nxt: u32,
    /// Accepted from the chip, not yet written to the host socket.
    to_host: VecDeque<u8>,
    chip_fin: bool,
    host_shut: bool,
    host_eof: bool,
    fin_sent: bool,
    fin_acked: bool,
    last_ack_sent: u32,
    rto_at: Option<Instant>,
    retries: u8,
    probe_at: Option<Instant>,
    created: Instant,
}

impl Conn {
    /// What we acknowledge: data written to the host, and the chip's FIN once shut down.
    fn ack_point(&self) -> u32 {
        let fin = u32::from(self.chip_fin && !self.host_shut);
        self.rcv_nxt
            .wrapping_sub(len32(self.to_host.len()))
            .wrapping_sub(fin)
    }

    /// Account for `k` more bytes (or a FIN) sent from `snd_nxt`; returns their sequence number.
    fn take_seq(&mut self, k: usize) -> u32 {
        let seq = self.snd_nxt;
        self.snd_nxt = seq.wrapping_add(len32(k));
        if seq_lt(self.snd_max, self.snd_nxt) {
            self.snd_max = self.snd_nxt;
        }
        seq
    }

    fn done(&self) -> bool {
        self.fin_sent && self.fin_acked && self.chip_fin && self.host_shut
    }
}

struct UdpPort {
    port: u16,
    sock: std::net::UdpSocket,
    /// The address the chip last sent from on this port (0.0.0.0 before it has one).
    chip_ip: Ipv4Addr,
    last_used: Instant,
    /// Opened by `forward_udp`: never evicted.
    pinned: bool,
}

struct Forward {
    port: u16,
    listener: std::net::TcpListener,
}

/// A [`Network`] that turns the chip's traffic into host sockets (see the module docs).
pub struct HostNet {
    cfg: HostNetConfig,
    chip_mac: Option<MacAddr>,
    chip_ip: Option<Ipv4Addr>,
    to_chip: VecDeque<Frame>,
    /// Unicast frames waiting for the chip's MAC.
    awaiting_mac: VecDeque<Frame>,
    arp_sent_at: Option<Instant>,
    tcp: Vec<Conn>,
    udp: Vec<UdpPort>,
    forwards: Vec<Forward>,
    ident: u16,
    isn_counter: u32,
    last_now: Instant,
    stats: HostNetStats,
}

impl core::fmt::Debug for HostNet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HostNet")
            .field("chip_mac", &self.chip_mac)
            .field("chip_ip", &self.chip_ip)
            .field("tcp", &self.tcp.len())
            .field("udp", &self.udp.len())
            .field("forwards", &self.forwards.len())
            .field("stats", &self.stats)
            .finish()
    }
}

impl HostNet {
    /// A HostNet with `config`; it opens no socket until the chip (or a forward) needs one.
    pub fn new(config: HostNetConfig) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0x1234_5678);
        HostNet {
            chip_ip: config.chip_ip,
            cfg: config,
            chip_mac: None,
            to_chip: VecDeque::new(),
            awaiting_mac: VecDeque::new(),
            arp_sent_at: None,
            tcp: Vec::new(),
            udp: Vec::new(),
            forwards: Vec::new(),
            ident: 1,
            isn_counter: seed,
            last_now: Instant::ZERO,
            stats: HostNetStats::default(),
        }
    }

    /// Listen on TCP `port` (all addresses of the namespace) and hand every accepted
    /// connection to the chip's IP on the same port, like QEMU's `hostfwd`. Connections that
    /// arrive while the chip's IP is unknown (no [`HostNetConfig::chip_ip`], nothing sent yet,
    /// no DHCPACK delivered) or while the connection table is full are reset.
    pub fn forward_tcp(&mut self, port: u16) -> io::Result<()> {
        let sock = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        sock.set_reuse_address(true)?;
        sock.set_nonblocking(true)?;
        let addr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port));
        sock.bind(&SockAddr::from(addr))?;
        sock.listen(16)?;
        self.forwards.push(Forward {
            port,
            listener: sock.into(),
        });
        Ok(())
    }

    /// Open the host UDP socket for the chip's port `port` now, so datagrams sent to it reach
    /// the chip before the chip has sent anything from that port.
    pub fn forward_udp(&mut self, port: u16) -> io::Result<()> {
        let now = self.last_now;
        let idx = self.udp_socket(port, now)?;
        if let Some(u) = self.udp.get_mut(idx) {
            u.pinned = true;
        }
        Ok(())
    }

    /// Set the chip's IP (for example after the test configured SIPR).
    pub fn set_chip_ip(&mut self, ip: Ipv4Addr) {
        self.chip_ip = Some(ip);
    }

    /// The chip's MAC and IP as learned so far.
    pub fn chip_addr(&self) -> (Option<MacAddr>, Option<Ipv4Addr>) {
        (self.chip_mac, self.chip_ip)
    }

    /// What HostNet has done so far.
    pub fn stats(&self) -> HostNetStats {
        self.stats
    }

    /// Number of open TCP connections.
    pub fn tcp_connections(&self) -> usize {
        self.tcp.len()
    }

    // ---------------------------------------------------------------- frames to the chip

    fn next_ident(&mut self) -> u16 {
        self.ident = self.ident.wrapping_add(1);
        self.ident
    }

    fn push_frame(&mut self, frame: Frame) {
        if self.to_chip.len() >= self.cfg.max_queue {
            self.stats.dropped = self.stats.dropped.saturating_add(1);
            return;
        }
        self.to_chip.push_back(frame);
    }

    /// Queue an IPv4 packet for the chip; a unicast one waits for the chip's MAC.
    fn send_ip(&mut self, src: Ipv4Addr, dst: Ipv4Addr, payload: IpPayload) {
        let ident = self.next_ident();
        let pkt = Ipv4Packet {
            src,
            dst,
            ttl: 64,
            tos: 0,
            ident,
            dont_fragment: true,
            payload,
        };
        let broadcast = dst == Ipv4Addr::BROADCAST;
        let frame = Frame {
            dst: if broadcast {
                MacAddr::BROADCAST
            } else {
                self.chip_mac.unwrap_or(MacAddr::ZERO)
            },
            src: self.cfg.peer_mac,
            body: Body::Ipv4(pkt),
        };
        if broadcast || self.chip_mac.is_some() {
            self.push_frame(frame);
        } else if self.awaiting_mac.len() < self.cfg.max_queue {
            self.awaiting_mac.push_back(frame);
            self.request_chip_mac(src, self.last_now);
        } else {
            self.stats.dropped = self.stats.dropped.saturating_add(1);
        }
    }

    fn request_chip_mac(&mut self, sender_ip: Ipv4Addr, now: Instant) {
        let Some(target_ip) = self.chip_ip else {
            return;
        };
        if let Some(t) = self.arp_sent_at {
            if now.saturating_since(t) < self.cfg.rto {
                return;
            }
        }
        self.arp_sent_at = Some(now);
        let frame = Frame {
            dst: MacAddr::BROADCAST,
            src: self.cfg.peer_mac,
            body: Body::Arp(Arp {
                op: ArpOp::Request,
                sender_mac: self.cfg.peer_mac,
                sender_ip,
                target_mac: MacAddr::ZERO,
                target_ip,
            }),
        };
        self.push_frame(frame);
    }

    fn learn_chip_mac(&mut self, mac: MacAddr) {
        if mac.is_multicast() || mac == MacAddr::ZERO {
            return;
        }
        self.chip_mac = Some(mac);
        while let Some(mut f) = self.awaiting_mac.pop_front() {
            f.dst = mac;
            self.push_frame(f);
        }
    }

    fn send_tcp_to_chip(&mut self, idx: usize, flags: TcpFlags, seq: u32, data: Vec<u8>) {
        let Some(c) = self.tcp.get_mut(idx) else {
            return;
        };
        let ack = c.ack_point();
        let with_ack = flags.union(TcpFlags::ACK);
        let syn = flags.contains(TcpFlags::SYN);
        let window = u16::try_from(self.cfg.tcp_buffer).unwrap_or(u16::MAX);
        let seg = TcpSegment {
            src_port: c.remote.port(),
            dst_port: c.chip_port,
            seq,
            ack: if with_ack.contains(TcpFlags::ACK) && !(syn && c.state == State::SynSent) {
                ack
            } else {
                0
            },
            flags: if syn && c.state == State::SynSent {
                flags
            } else {
                with_ack
            },
            window,
            mss: if syn { Some(1460) } else { None },
            payload: data,
        };
        c.last_ack_sent = ack;
        let src = *c.remote.ip();
        let dst = self.chip_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
        self.send_ip(src, dst, IpPayload::Tcp(seg));
    }

    /// An RST that answers `seg` (RFC 9293 §3.10.7.1), from `src` to the chip.
    fn reset_reply(&mut self, src: Ipv4Addr, dst: Ipv4Addr, seg: &TcpSegment) {
        let (seq, ack, flags) = if seg.flags.contains(TcpFlags::ACK) {
            (seg.ack, 0, TcpFlags::RST)
        } else {
            (
                0,
                seg.seq.wrapping_add(seg.seq_len()),
                TcpFlags::RST | TcpFlags::ACK,
            )
        };
        let rst = TcpSegment {
            src_port: seg.dst_port,
            dst_port: seg.src_port,
            seq,
            ack,
            flags,
            window: 0,
            mss: None,
            payload: Vec::new(),
        };
        self.stats.resets_to_chip = self.stats.resets_to_chip.saturating_add(1);
        self.send_ip(src, dst, IpPayload::Tcp(rst));
    }

    fn new_isn(&mut self) -> u32 {
        self.isn_counter = self
            .isn_counter
            .wrapping_mul(1_103_515_245)
            .wrapping_add(12_345);
        self.isn_counter
    }

    // ---------------------------------------------------------------- frames from the chip

    fn on_arp(&mut self, arp: Arp) {
        if arp.sender_ip != Ipv4Addr::UNSPECIFIED {
            self.chip_ip = Some(arp.sender_ip);
        }
        self.learn_chip_mac(arp.sender_mac);
        if arp.op != ArpOp::Request
            || arp.target_ip == arp.sender_ip
            || Some(arp.target_ip) == self.chip_ip
        {
            return;
        }
        // RFC 5227 §2.1.1: a probe (sender 0.0.0.0) asks whether anyone already uses the
        // address, e.g. a DHCP client checking an offered lease (RFC 2131 §4.4.1). Answering it
        // like any other request would make every address look taken. Behind HostNet the only
        // users HostNet can know of are the namespace's own addresses.
        if arp.sender_ip == Ipv4Addr::UNSPECIFIED && !Self::is_local_address(arp.target_ip) {
            return;
        }
        let reply = Frame {
            dst: arp.sender_mac,
            src: self.cfg.peer_mac,
            body: Body::Arp(Arp {
                op: ArpOp::Reply,
                sender_mac: self.cfg.peer_mac,
                sender_ip: arp.target_ip,
                target_mac: arp.sender_mac,
                target_ip: arp.sender_ip,
            }),
        };
        self.stats.arp_replies = self.stats.arp_replies.saturating_add(1);
        self.push_frame(reply);
    }

    /// True when `ip` is an address of this network namespace (a socket can be bound to it).
    fn is_local_address(ip: Ipv4Addr) -> bool {
        if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() {
            return false;
        }
        std::net::UdpSocket::bind(SocketAddrV4::new(ip, 0)).is_ok()
    }

    fn udp_socket(&mut self, port: u16, now: Instant) -> io::Result<usize> {
        if let Some(i) = self.udp.iter().position(|u| u.port == port) {
            return Ok(i);
        }
        if self.udp.len() >= self.cfg.max_udp.max(1) {
            // Close the least recently used socket that was not pinned by forward_udp.
            let victim = self
                .udp
                .iter()
                .enumerate()
                .filter(|(_, u)| !u.pinned)
                .min_by_key(|(_, u)| u.last_used)
                .map(|(i, _)| i);
            match victim {
                Some(i) => {
                    self.udp.swap_remove(i);
                }
                None => return Err(io::Error::other("too many UDP sockets")),
            }
        }
        let sock = Socket::new(Domain::IPV4, Type::DGRAM, None)?;
        sock.set_reuse_address(true)?;
        sock.set_broadcast(true)?;
        if let Some(ifname) = &self.cfg.interface {
            sock.bind_device(Some(ifname.as_bytes()))?;
        }
        sock.set_nonblocking(true)?;
        let addr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port));
        sock.bind(&SockAddr::from(addr))?;
        self.udp.push(UdpPort {
            port,
            sock: sock.into(),
            chip_ip: self.chip_ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
            last_used: now,
            pinned: false,
        });
        Ok(self.udp.len().saturating_sub(1))
    }

    fn on_udp(&mut self, now: Instant, src: Ipv4Addr, dst: Ipv4Addr, d: UdpDatagram) {
        let idx = match self.udp_socket(d.src_port, now) {
            Ok(i) => i,
            Err(e) => {
                log::warn!("hostnet: UDP socket for port {}: {e}", d.src_port);
                self.stats.dropped = self.stats.dropped.saturating_add(1);
                return;
            }
        };
        let Some(u) = self.udp.get_mut(idx) else {
            return;
        };
        u.chip_ip = src;
        u.last_used = now;
        let to = SocketAddrV4::new(dst, d.dst_port);
        match u.sock.send_to(&d.payload, to) {
            Ok(_) => self.stats.udp_out = self.stats.udp_out.saturating_add(1),
            Err(e) => {
                log::debug!("hostnet: UDP send to {dst}:{}: {e}", d.dst_port);
                self.stats.dropped = self.stats.dropped.saturating_add(1);
            }
        }
    }

    fn find_conn(&self, chip_port: u16, remote: SocketAddrV4) -> Option<usize> {
        self.tcp
            .iter()
            .position(|c| c.chip_port == chip_port && c.remote == remote)
    }

    fn on_tcp(&mut self, now: Instant, src: Ipv4Addr, dst: Ipv4Addr, seg: TcpSegment) {
        let remote = SocketAddrV4::new(dst, seg.dst_port);
        let Some(idx) = self.find_conn(seg.src_port, remote) else {
            if seg.flags.contains(TcpFlags::RST) {
                return;
            }
            if seg.flags.contains(TcpFlags::SYN) && !seg.flags.contains(TcpFlags::ACK) {
                self.open_outgoing(now, src, dst, seg);
            } else {
                self.reset_reply(dst, src, &seg);
            }
            return;
        };
        self.on_conn_segment(now, idx, seg);
    }

    fn open_outgoing(&mut self, now: Instant, src: Ipv4Addr, dst: Ipv4Addr, seg: TcpSegment) {
        if self.tcp.len() >= self.cfg.max_tcp {
            self.reset_reply(dst, src, &seg);
            return;
        }
        let sock = match self.start_connect(SocketAddrV4::new(dst, seg.dst_port)) {
            Ok(s) => s,
            Err(e) => {
                log::debug!("hostnet: connect {dst}:{}: {e}", seg.dst_port);
                self.reset_reply(dst, src, &seg);
                return;
            }
        };
        let isn = self.new_isn();
        self.stats.tcp_opened = self.stats.tcp_opened.saturating_add(1);
        self.tcp.push(Conn {
            state: State::Connecting,
            sock,
            chip_port: seg.src_port,
            remote: SocketAddrV4::new(dst, seg.dst_port),
            isn,
            snd_una: isn,
            snd_nxt: isn,
            snd_max: isn,
            unacked: VecDeque::new(),
            chip_wnd: seg.window,
            chip_mss: seg.mss.unwrap_or(536).clamp(1, 1460),
            rcv_nxt: seg.seq.wrapping_add(1),
            to_host: VecDeque::new(),
            chip_fin: false,
            host_shut: false,
            host_eof: false,
            fin_sent: false,
            fin_acked: false,
            last_ack_sent: seg.seq.wrapping_add(1),
            rto_at: None,
            retries: 0,
            probe_at: None,
            created: now,
        });
    }

    fn start_connect(&self, to: SocketAddrV4) -> io::Result<Socket> {
        let sock = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        if let Some(ifname) = &self.cfg.interface {
            sock.bind_device(Some(ifname.as_bytes()))?;
        }
        sock.set_nonblocking(true)?;
        sock.set_nodelay(true)?;
        match sock.connect(&SockAddr::from(SocketAddr::V4(to))) {
            Ok(()) => Ok(sock),
            Err(e)
                if e.raw_os_error() == Some(EINPROGRESS) || e.kind() == ErrorKind::WouldBlock =>
            {
                Ok(sock)
            }
            Err(e) => Err(e),
        }
    }

    fn drop_conn(&mut self, idx: usize, reset_host: bool) {
        if idx < self.tcp.len() {
            let c = self.tcp.swap_remove(idx);
            if reset_host {
                let _ = c.sock.set_linger(Some(Duration::ZERO));
            }
            drop(c);
        }
    }

    fn reset_chip_conn(&mut self, idx: usize) {
        if let Some(c) = self.tcp.get(idx) {
            let seq = c.snd_nxt;
            self.stats.resets_to_chip = self.stats.resets_to_chip.saturating_add(1);
            self.send_tcp_to_chip(idx, TcpFlags::RST, seq, Vec::new());
        }
        self.drop_conn(idx, true);
    }

    fn on_conn_segment(&mut self, now: Instant, idx: usize, seg: TcpSegment) {
        let rto = self.cfg.rto;
        // Nothing of ours is still queued for the chip: every segment we sent has reached it.
        let delivered = self.to_chip.is_empty();
        let Some(c) = self.tcp.get_mut(idx) else {
            return;
        };
        if seg.flags.contains(TcpFlags::RST) {
            // The chip aborted (or refused a forwarded connection): reset the host side.
            self.drop_conn(idx, true);
            return;
        }
        if seg.flags.contains(TcpFlags::SYN) {
            match c.state {
                State::SynSent
                    if seg.flags.contains(TcpFlags::ACK) && seg.ack == c.isn.wrapping_add(1) =>
                {
                    c.rcv_nxt = seg.seq.wrapping_add(1);
                    c.snd_una = seg.ack;
                    c.snd_nxt = seg.ack;
                    c.snd_max = seg.ack;
                    c.chip_wnd = seg.window;
                    c.chip_mss = seg.mss.unwrap_or(536).clamp(1, 1460);
                    c.state = State::Established;
                    c.rto_at = None;
                    c.retries = 0;
                    let seq = c.snd_nxt;
                    self.send_tcp_to_chip(idx, TcpFlags::ACK, seq, Vec::new());
                }
                State::SynSent => {
                    let (src, dst) = (
                        *c.remote.ip(),
                        self.chip_ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
                    );
                    self.reset_reply(src, dst, &seg);
                }
                State::SynAckSent => {
                    let isn = c.isn;
                    self.send_tcp_to_chip(idx, TcpFlags::SYN, isn, Vec::new());
                }
                State::Connecting => {}
                State::Established => {
                    // A SYN in a synchronized state gets a challenge ACK (RFC 5961 §4).
                    let seq = c.snd_nxt;
                    self.send_tcp_to_chip(idx, TcpFlags::ACK, seq, Vec::new());
                }
            }
            return;
        }
        if !seg.flags.contains(TcpFlags::ACK) {
            return;
        }
        match c.state {
            State::Connecting | State::SynSent => return,
            State::SynAckSent => {
                if seg.ack != c.isn.wrapping_add(1) {
                    let (src, dst) = (
                        *c.remote.ip(),
                        self.chip_ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
                    );
                    self.reset_reply(src, dst, &seg);
                    return;
                }
                c.snd_una = seg.ack;
                c.snd_nxt = seg.ack;
                c.snd_max = seg.ack;
                c.state = State::Established;
                c.rto_at = None;
                c.retries = 0;
            }
            State::Established => {}
        }
        // A duplicate ACK: nothing new acknowledged while data is outstanding.
        let dup_ack = seg.ack == c.snd_una && c.snd_max != c.snd_una;
        // ACK processing (RFC 9293 §3.10.7.4); anything up to SND.MAX was sent at some point.
        if seq_lt(c.snd_una, seg.ack) && seq_le(seg.ack, c.snd_max) {
            let n = seg.ack.wrapping_sub(c.snd_una) as usize;
            let data = n.min(c.unacked.len());
            c.unacked.drain(..data);
            if c.fin_sent && seg.ack == c.snd_max {
                c.fin_acked = true;
            }
            c.snd_una = seg.ack;
            if seq_lt(c.snd_nxt, c.snd_una) {
                c.snd_nxt = c.snd_una;
            }
            c.retries = 0;
            let outstanding = !c.unacked.is_empty() || (c.fin_sent && !c.fin_acked);
            c.rto_at = if outstanding { Some(now + rto) } else { None };
        }
        if seq_le(c.snd_una, seg.ack) && seq_le(seg.ack, c.snd_max) {
            c.chip_wnd = seg.window;
            if seg.window > 0 {
                c.probe_at = None;
            }
        }
        // Go-back-N: the W5500 keeps no out-of-order data (a segment beyond its RCV.NXT is
        // dropped and answered with a duplicate ACK), so an ACK that stops at SND.UNA, with the
        // window open, after everything sent has been delivered, means the chip dropped all
        // of it (a lost segment, or a zero-window probe byte it had no room for). Send again
        // from SND.UNA at once instead of one segment per retransmission timeout.
        if delivered
            && dup_ack
            && seg.payload.is_empty()
            && !seg.flags.contains(TcpFlags::FIN)
            && !c.unacked.is_empty()
            && seg.window > 0
        {
            c.snd_nxt = c.snd_una;
            c.rto_at = Some(now + rto);
            self.stats.go_back = self.stats.go_back.saturating_add(1);
        }
        // Data and FIN (RFC 9293 §3.10.7.4, seventh and eighth steps).
        let has_fin = seg.flags.contains(TcpFlags::FIN);
        if seg.payload.is_empty() && !has_fin {
            return;
        }
        if seq_lt(c.rcv_nxt, seg.seq) {
            // Out of order (a segment was lost on the chip's side): ask again.
            let seq = c.snd_nxt;
            self.send_tcp_to_chip(idx, TcpFlags::ACK, seq, Vec::new());
            return;
        }
        let skip = c.rcv_nxt.wrapping_sub(seg.seq) as usize;
        let fresh = seg.payload.get(skip..).unwrap_or(&[]);
        let old_fin = skip > seg.payload.len();
        let space = self.cfg.tcp_buffer.saturating_sub(c.to_host.len());
        let take = fresh.len().min(space);
        c.to_host.extend(fresh.iter().take(take));
        c.rcv_nxt = c.rcv_nxt.wrapping_add(len32(take));
        if has_fin && !old_fin && take == fresh.len() && !c.chip_fin {
            c.chip_fin = true;
            c.rcv_nxt = c.rcv_nxt.wrapping_add(1);
        }
        self.flush_to_host(idx);
        if let Some(c) = self.tcp.get(idx) {
            let seq = c.snd_nxt;
            self.send_tcp_to_chip(idx, TcpFlags::ACK, seq, Vec::new());
        }
    }

    /// Write buffered chip data to the host socket; shut the host side down after the chip's
    /// FIN. Returns false when the connection was reset.
    fn flush_to_host(&mut self, idx: usize) -> bool {
        let Some(c) = self.tcp.get_mut(idx) else {
            return false;
        };
        let mut rounds = 0;
        while !c.to_host.is_empty() && rounds < 8 {
            rounds += 1;
            let (a, b) = c.to_host.as_slices();
            let chunk = if a.is_empty() { b } else { a };
            match c.sock.write(chunk) {
                Ok(0) => break,
                Ok(n) => {
                    c.to_host.drain(..n.min(c.to_host.len()));
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::debug!("hostnet: write to host: {e}");
                    self.reset_chip_conn(idx);
                    return false;
                }
            }
        }
        if c.chip_fin && c.to_host.is_empty() && !c.host_shut {
            let _ = c.sock.shutdown(Shutdown::Write);
            c.host_shut = true;
        }
        true
    }

    // ---------------------------------------------------------------- polling the host

    fn poll_forwards(&mut self, now: Instant) {
        let mut accepted = Vec::new();
        for f in &self.forwards {
            for _ in 0..8 {
                match f.listener.accept() {
                    Ok((s, SocketAddr::V4(addr))) => accepted.push((f.port, Socket::from(s), addr)),
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        }
        for (port, sock, remote) in accepted {
            if self.tcp.len() >= self.cfg.max_tcp || self.chip_ip.is_none() {
                let _ = sock.set_linger(Some(Duration::ZERO));
                continue;
            }
            if sock.set_nonblocking(true).is_err() {
                continue;
            }
            let _ = sock.set_nodelay(true);
            let isn = self.new_isn();
            self.stats.tcp_opened = self.stats.tcp_opened.saturating_add(1);
            self.tcp.push(Conn {
                state: State::SynSent,
                sock,
                chip_port: port,
                remote,
                isn,
                snd_una: isn,
                snd_nxt: isn.wrapping_add(1),
                snd_max: isn.wrapping_add(1),
                unacked: VecDeque::new(),
                chip_wnd: 0,
                chip_mss: 536,
                rcv_nxt: 0,
                to_host: VecDeque::new(),
                chip_fin: false,
                host_shut: false,
                host_eof: false,
                fin_sent: false,
                fin_acked: false,
                last_ack_sent: 0,
                rto_at: Some(now + self.cfg.rto),
                retries: 0,
                probe_at: None,
                created: now,
            });
            let idx = self.tcp.len().saturating_sub(1);
            self.send_tcp_to_chip(idx, TcpFlags::SYN, isn, Vec::new());
        }
    }

    fn poll_udp(&mut self) {
        let mut got = Vec::new();
        let mut buf = [0u8; 2048];
        for u in &self.udp {
            for _ in 0..16 {
                match u.sock.recv_from(&mut buf) {
                    Ok((n, SocketAddr::V4(from))) => {
                        let data = buf.get(..n).unwrap_or(&[]).to_vec();
                        got.push((u.port, u.chip_ip, from, data));
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        }
        for (port, chip_ip, from, data) in got {
            if data.len() > MAX_UDP_TO_CHIP {
                self.stats.dropped = self.stats.dropped.saturating_add(1);
                continue;
            }
            // A DHCPACK from a server (67) to the chip's client port (68) names its address.
            let learned = (port == 68 && from.port() == 67)
                .then(|| dhcp_ack_yiaddr(&data))
                .flatten();
            let dst = if chip_ip == Ipv4Addr::UNSPECIFIED {
                self.chip_ip.unwrap_or(Ipv4Addr::BROADCAST)
            } else {
                chip_ip
            };
            let dst = if dst == Ipv4Addr::UNSPECIFIED {
                Ipv4Addr::BROADCAST
            } else {
                dst
            };
            if let Some(ip) = learned {
                self.chip_ip = Some(ip);
            }
            self.stats.udp_in = self.stats.udp_in.saturating_add(1);
            self.send_ip(
                *from.ip(),
                dst,
                IpPayload::Udp(UdpDatagram {
                    src_port: from.port(),
                    dst_port: port,
                    payload: data,
                }),
            );
        }
    }

    fn poll_conn(&mut self, now: Instant, idx: usize) {
        let cfg_rto = self.cfg.rto;
        let Some(c) = self.tcp.get_mut(idx) else {
            return;
        };
        match c.state {
            State::Connecting => {
                if let Ok(Some(e)) | Err(e) = c.sock.take_error() {
                    log::debug!("hostnet: connect to {}: {e}", c.remote);
                    self.refuse_connecting(idx);
                    return;
                }
                if c.sock.peer_addr().is_ok() {
                    c.state = State::SynAckSent;
                    c.snd_nxt = c.isn.wrapping_add(1);
                    c.snd_max = c.snd_nxt;
                    c.rto_at = Some(now + cfg_rto);
                    let isn = c.isn;
                    self.send_tcp_to_chip(idx, TcpFlags::SYN, isn, Vec::new());
                } else if now.saturating_since(c.created) > self.cfg.connect_timeout {
                    self.refuse_connecting(idx);
                }
                return;
            }
            State::SynSent | State::SynAckSent => {
                self.retransmit_if_due(now, idx);
                return;
            }
            State::Established => {}
        }
        if !self.flush_to_host(idx) {
            return;
        }
        let Some(c) = self.tcp.get(idx) else {
            return;
        };
        if c.ack_point() != c.last_ack_sent {
            let seq = c.snd_nxt;
            self.send_tcp_to_chip(idx, TcpFlags::ACK, seq, Vec::new());
        }
        if !self.read_from_host(now, idx) {
            return;
        }
        if !self.retransmit_if_due(now, idx) {
            return;
        }
        if self.tcp.get(idx).is_some_and(Conn::done) {
            self.drop_conn(idx, false);
        }
    }

    /// The host connect failed: RST|ACK to the chip's SYN.
    fn refuse_connecting(&mut self, idx: usize) {
        self.stats.resets_to_chip = self.stats.resets_to_chip.saturating_add(1);
        self.send_tcp_to_chip(idx, TcpFlags::RST, 0, Vec::new());
        self.drop_conn(idx, false);
    }

    /// Read from the host as far as the chip's window allows and send it. False when the
    /// connection was reset.
    fn read_from_host(&mut self, now: Instant, idx: usize) -> bool {
        let rto = self.cfg.rto;
        let mut buf = [0u8; 1460];
        for _ in 0..16 {
            let Some(c) = self.tcp.get_mut(idx) else {
                return false;
            };
            let inflight = c.snd_nxt.wrapping_sub(c.snd_una) as usize;
            // Bytes already read but not in flight (after a go-back) go first, even after the
            // host's EOF; nothing new is read after it.
            let pending = c.unacked.len().saturating_sub(inflight);
            if (c.host_eof || c.fin_sent) && pending == 0 {
                break;
            }
            let mut allowed = usize::from(c.chip_wnd).saturating_sub(inflight);
            if c.chip_wnd == 0 && inflight == 0 {
                // Zero-window probe (RFC 9293 §3.8.6.1): one byte, then the retransmission
                // timer keeps probing until the chip opens its window.
                match c.probe_at {
                    Some(t) if now >= t => allowed = 1,
                    Some(_) => {}
                    None => c.probe_at = Some(now + rto),
                }
            }
            let n = allowed.min(usize::from(c.chip_mss)).min(buf.len());
            if n == 0 {
                break;
            }
            if pending > 0 {
                let k = n.min(pending);
                let data: Vec<u8> = c.unacked.iter().skip(inflight).take(k).copied().collect();
                let seq = c.take_seq(k);
                if c.rto_at.is_none() {
                    c.rto_at = Some(now + rto);
                }
                if c.chip_wnd == 0 {
                    c.probe_at = Some(now + rto);
                }
                self.send_tcp_to_chip(idx, TcpFlags::PSH, seq, data);
                continue;
            }
            let Some(chunk) = buf.get_mut(..n) else {
                break;
            };
            match c.sock.read(chunk) {
                Ok(0) => c.host_eof = true,
                Ok(k) => {
                    let data = chunk.get(..k).unwrap_or(&[]).to_vec();
                    c.unacked.extend(data.iter());
                    let seq = c.take_seq(k);
                    if c.rto_at.is_none() {
                        c.rto_at = Some(now + rto);
                    }
                    if c.chip_wnd == 0 {
                        c.probe_at = Some(now + rto);
                    }
                    self.send_tcp_to_chip(idx, TcpFlags::PSH, seq, data);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    // ECONNRESET and friends: the host peer reset, so reset the chip.
                    log::debug!("hostnet: read from host {}: {e}", c.remote);
                    self.reset_chip_conn(idx);
                    return false;
                }
            }
        }
        let Some(c) = self.tcp.get_mut(idx) else {
            return false;
        };
        if c.host_eof && !c.fin_sent && c.unacked.is_empty() {
            let seq = c.take_seq(1);
            c.fin_sent = true;
            if c.rto_at.is_none() {
                c.rto_at = Some(now + rto);
            }
            self.send_tcp_to_chip(idx, TcpFlags::FIN, seq, Vec::new());
        }
        true
    }

    /// Retransmit the oldest outstanding segment when its timer ran out. False when the
    /// connection was given up.
    fn retransmit_if_due(&mut self, now: Instant, idx: usize) -> bool {
        let (rto, max_retries) = (self.cfg.rto, self.cfg.max_retries);
        let Some(c) = self.tcp.get_mut(idx) else {
            return false;
        };
        let Some(at) = c.rto_at else {
            return true;
        };
        if now < at {
            return true;
        }
        if c.retries >= max_retries {
            self.reset_chip_conn(idx);
            return false;
        }
        if self.chip_mac.is_none() {
            // Still resolving the chip's MAC: the first copy waits in `awaiting_mac`.
            c.rto_at = Some(now + rto);
            return true;
        }
        c.retries = c.retries.saturating_add(1);
        let backoff = 1u32 << c.retries.min(4);
        c.rto_at = Some(now + rto.saturating_mul(backoff));
        self.stats.retransmits = self.stats.retransmits.saturating_add(1);
        match c.state {
            State::SynSent | State::SynAckSent => {
                let isn = c.isn;
                self.send_tcp_to_chip(idx, TcpFlags::SYN, isn, Vec::new());
            }
            State::Established if !c.unacked.is_empty() => {
                let n = usize::from(c.chip_mss)
                    .min(usize::from(c.chip_wnd).max(1))
                    .min(c.unacked.len());
                let data: Vec<u8> = c.unacked.iter().take(n).copied().collect();
                let seq = c.snd_una;
                // Go-back-N (the chip dropped whatever followed the lost segment): the rest
                // is sent again by `read_from_host` as the window allows.
                c.snd_nxt = seq.wrapping_add(len32(n));
                self.send_tcp_to_chip(idx, TcpFlags::PSH, seq, data);
            }
            State::Established if c.fin_sent && !c.fin_acked => {
                let seq = c.snd_max.wrapping_sub(1);
                self.send_tcp_to_chip(idx, TcpFlags::FIN, seq, Vec::new());
            }
            _ => c.rto_at = None,
        }
        true
    }
}

impl Network for HostNet {
    fn transmit(&mut self, now: Instant, frame: Frame) {
        self.last_now = now;
        match frame.body {
            Body::Arp(arp) => self.on_arp(arp),
            Body::Ipv4(pkt) => {
                self.learn_chip_mac(frame.src);
                if pkt.src != Ipv4Addr::UNSPECIFIED {
                    self.chip_ip = Some(pkt.src);
                }
                match pkt.payload {
                    IpPayload::Udp(d) => self.on_udp(now, pkt.src, pkt.dst, d),
                    IpPayload::Tcp(s) => self.on_tcp(now, pkt.src, pkt.dst, s),
                    _ => self.stats.dropped = self.stats.dropped.saturating_add(1),
                }
            }
            Body::Other { .. } => self.stats.dropped = self.stats.dropped.saturating_add(1),
        }
    }

    fn receive(&mut self, _now: Instant) -> Option<Frame> {
        self.to_chip.pop_front()
    }

    fn poll(&mut self, now: Instant) {
        self.last_now = now;
        self.poll_forwards(now);
        self.poll_udp();
        let mut i = self.tcp.len();
        while i > 0 {
            i -= 1;
            self.poll_conn(now, i);
        }
        if !self.awaiting_mac.is_empty() {
            let sender = match self.awaiting_mac.front().map(|f| &f.body) {
                Some(Body::Ipv4(p)) => p.src,
                _ => Ipv4Addr::UNSPECIFIED,
            };
            self.request_chip_mac(sender, now);
        }
    }

    fn next_event(&self) -> Option<Instant> {
        if !self.to_chip.is_empty() {
            return Some(self.last_now);
        }
        let busy = !self.tcp.is_empty()
            || !self.udp.is_empty()
            || !self.forwards.is_empty()
            || !self.awaiting_mac.is_empty();
        busy.then(|| self.last_now + self.cfg.poll_interval)
    }
}
