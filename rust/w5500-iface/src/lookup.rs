//! Blocking `getaddrinfo`: the resolver's messages carried by chip sockets.

use core::net::{Ipv4Addr, SocketAddrV4};

use w5500_driver::bsd::Os;
#[cfg(doc)]
use w5500_driver::stack::Stack;
use w5500_driver::stack::{RecvFlags, SockType, SocketId};
use w5500_driver::Error;
use w5500_netsvc::dns::{self, AddrInfoList, Answer, DnsError, GaiError, Hints};

use crate::Iface;

/// Upper bound on the wait loop of one lookup (each pass waits or makes progress; the
/// resolver's own timers end a lookup long before).
const MAX_LOOKUP_PASSES: u32 = 20_000;

/// The transport of the current try (kept inline: no heap).
#[allow(clippy::large_enum_variant)]
enum Transport {
    None,
    Udp {
        id: SocketId,
        port: u16,
    },
    /// Only with the `dns-tcp` feature (the resolver never asks for TCP without it).
    #[cfg(feature = "dns-tcp")]
    Tcp {
        id: SocketId,
        payload: heapless::Vec<u8, { dns::MAX_TX_LEN }>,
        sent: usize,
        connected: bool,
    },
}

/// Why a try could not start.
enum OpenError {
    /// No hardware socket free: the lookup ends with `EAI_AGAIN`.
    NoSocket,
    /// Anything else: the try counts as a transport failure.
    Other,
}

impl<O: Os, const C: usize> Iface<O, C> {
    /// `getaddrinfo` (IPv4; see [`dns::gai`] for the argument rules). Numeric hosts, cached
    /// names and `localhost` are answered without traffic. Otherwise the call blocks for the
    /// lookup, bounded by the resolver's timers (tries × servers × timeout, plus the TCP try of
    /// a truncated reply), while it keeps the interface running. Each UDP try uses a fresh
    /// chip socket bound to the resolver's random source port, a truncated reply is asked
    /// again over TCP, and a lookup that finds no free hardware socket fails at once with
    /// `EAI_AGAIN` (see the socket-sharing policy in the crate docs).
    ///
    /// # Example
    /// On the simulator's standard LAN, with a static address and its DNS server:
    /// ```
    /// use w5500_iface::dns::gai::flags;
    /// use w5500_iface::dns::SockType;
    /// use w5500_iface::{GaiError, Hints, Iface, IfaceConfig, Ipv4Config};
    /// # use w5500_driver::bsd::Bsd;
    /// # use w5500_driver::chip::Config;
    /// # use w5500_driver::stack::StackConfig;
    /// use w5500_sim::lan::{standard, Lan};
    /// # use w5500_sim::sim::Sim;
    /// # use w5500_testkit::{Rig, RigConfig};
    /// # let mac = [0x02, 0x08, 0xdc, 0x12, 0x34, 0x56];
    /// # let chip = RigConfig {
    /// #     chip: Config::new(mac),
    /// #     stack: StackConfig::default(),
    /// #     int_pin: true,
    /// #     poll_ms: 50,
    /// # };
    /// # let rig = Rig::new(Sim::new(Lan::standard()), chip)?;
    ///
    /// let static_ipv4 = Ipv4Config {
    ///     ip: standard::CHIP_STATIC,
    ///     netmask: standard::NETMASK,
    ///     gateway: Some(standard::GATEWAY),
    /// };
    /// let cfg = IfaceConfig::new(mac, 7)
    ///     .with_static(static_ipv4, true)
    ///     .with_dns_servers(&[standard::GATEWAY]);
    /// let mut iface = Iface::new(Bsd::new(rig.bsd.os()), cfg);
    /// iface.up()?;
    ///
    /// // A CNAME chain (www → http), TCP only, with the canonical name.
    /// let hints = Hints {
    ///     flags: flags::AI_CANONNAME,
    ///     socktype: SockType::Stream,
    ///     ..Hints::default()
    /// };
    /// let list = iface
    ///     .getaddrinfo(Some("www.sim.lan"), Some("80"), &hints)
    ///     .map_err(|e| format!("getaddrinfo: EAI {}", e.code()))?;
    /// assert_eq!(list.entries.len(), 1);
    /// assert_eq!(*list.entries[0].addr.ip(), standard::HTTP);
    /// assert_eq!(list.canonical.map(|n| n.to_string()).as_deref(), Some("http.sim.lan"));
    ///
    /// // A name the zone does not have: EAI_NONAME.
    /// let err = iface.getaddrinfo(Some("nobody.sim.lan"), None, &Hints::default());
    /// assert_eq!(err.err(), Some(GaiError::NoName));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn getaddrinfo(
        &mut self,
        node: Option<&str>,
        service: Option<&str>,
        hints: &Hints,
    ) -> Result<AddrInfoList, GaiError> {
        let mut list = AddrInfoList::empty();
        self.getaddrinfo_into(node, service, hints, &mut list)?;
        Ok(list)
    }

    /// [`Iface::getaddrinfo`] into the caller's list (emptied first): the list is made once,
    /// in place, not moved up the calls (an OS layer's lookup runs on a small stack).
    pub fn getaddrinfo_into(
        &mut self,
        node: Option<&str>,
        service: Option<&str>,
        hints: &Hints,
        list: &mut AddrInfoList,
    ) -> Result<(), GaiError> {
        let now = self.now();
        let Some(req) = self
            .resolver
            .getaddrinfo_into(node, service, hints, now, list)?
        else {
            return Ok(());
        };
        let result = self.run_lookup();
        req.finish_into(Some(result.as_ref().map_err(|e| *e)), list)
    }

    /// Resolve one name to its answer (the lower-level call behind
    /// [`Iface::getaddrinfo`]).
    pub fn resolve(&mut self, name: &str) -> Result<Answer, DnsError> {
        let now = self.now();
        match self.resolver.start(name, now)? {
            dns::Lookup::Ready(a) => Ok(a),
            dns::Lookup::Pending => self.run_lookup(),
        }
    }

    /// The lookup loop. Each pass moves what it can (a transmission, a reply); when nothing
    /// moved it waits for the chip (INTn) or the next deadline, then runs the interface step
    /// ([`Iface::poll`]), which services the chip, before it looks at the socket again. That
    /// order matters with INTn wired: the stack then answers a receive on a socket with
    /// nothing new since its last read from its own table, without SPI, trusting the service
    /// routine to have seen every event up to now ([`Stack::set_interrupt_driven`]). A look
    /// between the wake-up and the service finds nothing, and a service after that look takes
    /// the event (and INTn with it) before the wait, which then lasts a whole poll period.
    #[inline(never)]
    fn run_lookup(&mut self) -> Result<Answer, DnsError> {
        let mut t = Transport::None;
        let mut seen = self.os().epoch();
        for _ in 0..MAX_LOOKUP_PASSES {
            let now = self.now();
            if !self.resolver.is_busy() {
                self.close_transport(&mut t);
                return self
                    .resolver
                    .poll_result()
                    .unwrap_or(Err(DnsError::Timeout));
            }
            if let Some(tx) = self.resolver.poll_transmit(now) {
                self.close_transport(&mut t);
                match self.open_transport(tx) {
                    Ok(n) => t = n,
                    Err(OpenError::NoSocket) => {
                        w5500_log::debug!("iface: no socket free for DNS");
                        self.resolver.cancel();
                        return Err(DnsError::Busy);
                    }
                    Err(OpenError::Other) => self.resolver.handle_transport_error(now),
                }
                continue;
            }
            if self.pump(&mut t, now) || !self.resolver.is_busy() {
                continue;
            }
            // Nothing moved: wait for the chip, the try's deadline or the interface's next
            // timer, then keep the interface alive (this services the chip, so the next
            // pass's look at the socket sees what woke us).
            let mut until = self
                .resolver
                .poll_at()
                .unwrap_or(now)
                .min(now.saturating_add(self.os().poll_interval_ms().max(1)));
            if let Some(w) = self.next_wake(now) {
                until = until.min(w.max(now.saturating_add(1)));
            }
            if until > now {
                self.os().wait(None, seen, until);
            }
            let now = self.now();
            self.poll(now);
            // After the step's own wake-up of other waiters.
            seen = self.os().epoch();
        }
        self.close_transport(&mut t);
        self.resolver.cancel();
        Err(DnsError::Timeout)
    }

    fn open_transport(&mut self, tx: dns::Transmit) -> Result<Transport, OpenError> {
        let ty = match &tx {
            dns::Transmit::Udp { .. } => SockType::Datagram,
            dns::Transmit::Tcp { .. } => SockType::Stream,
        };
        let id = match self.with_stack(|s| s.socket_service(ty)) {
            Ok(id) => id,
            Err(Error::NoFreeSocket) => return Err(OpenError::NoSocket),
            Err(_) => return Err(OpenError::Other),
        };
        let r = match tx {
            dns::Transmit::Udp {
                server,
                src_port,
                payload,
            } => self
                .with_stack(|s| {
                    s.bind(id, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, src_port))?;
                    s.send(id, &payload, Some(server))
                })
                .map(|_| Transport::Udp { id, port: src_port }),
            #[cfg(not(feature = "dns-tcp"))]
            dns::Transmit::Tcp { .. } => Err(Error::InvalidArgument),
            #[cfg(feature = "dns-tcp")]
            dns::Transmit::Tcp {
                server,
                src_port,
                payload,
            } => self
                .with_stack(|s| {
                    s.bind(id, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, src_port))?;
                    match s.connect(id, server) {
                        Ok(()) | Err(Error::InProgress) => Ok(()),
                        Err(e) => Err(e),
                    }
                })
                .map(|()| Transport::Tcp {
                    id,
                    payload,
                    sent: 0,
                    connected: false,
                }),
        };
        r.map_err(|e| {
            w5500_log::debug!("iface: DNS try failed to start:", e);
            let _ = self.bsd.close(id);
            OpenError::Other
        })
    }

    fn close_transport(&mut self, t: &mut Transport) {
        match core::mem::replace(t, Transport::None) {
            Transport::None => {}
            Transport::Udp { id, .. } => {
                let _ = self.bsd.close(id);
            }
            #[cfg(feature = "dns-tcp")]
            Transport::Tcp { id, .. } => {
                let _ = self.bsd.close(id);
            }
        }
    }

    /// Move bytes between the chip and the resolver; true when something happened.
    fn pump(&mut self, t: &mut Transport, now: u64) -> bool {
        match t {
            Transport::None => false,
            Transport::Udp { id, port } => {
                let (id, port) = (*id, *port);
                let mut progressed = false;
                for _ in 0..8 {
                    let os = self.bsd.os();
                    let buf = &mut self.buf;
                    match os.with_stack(|s| s.recv_datagram(id, buf, RecvFlags::default())) {
                        Ok((n, _, from)) => {
                            let data = self.buf.get(..n).unwrap_or(&[]);
                            self.resolver.handle_udp(now, from, port, data);
                            progressed = true;
                            if !self.resolver.is_busy() {
                                break;
                            }
                        }
                        Err(Error::WouldBlock) => break,
                        Err(e) => {
                            // e.g. EHOSTUNREACH: the server's ARP timed out.
                            w5500_log::debug!("iface: DNS over UDP:", e);
                            self.resolver.handle_transport_error(now);
                            self.close_transport(t);
                            return true;
                        }
                    }
                }
                progressed
            }
            #[cfg(feature = "dns-tcp")]
            Transport::Tcp {
                id,
                payload,
                sent,
                connected,
            } => {
                let id = *id;
                if !*connected {
                    match self.with_stack(|s| s.connect_result(id)) {
                        Ok(()) => *connected = true,
                        Err(Error::WouldBlock) => return false,
                        Err(e) => {
                            w5500_log::debug!("iface: DNS over TCP: connect:", e);
                            self.resolver.handle_transport_error(now);
                            self.close_transport(t);
                            return true;
                        }
                    }
                }
                let mut progressed = false;
                if *sent < payload.len() {
                    let rest = payload.get(*sent..).unwrap_or(&[]);
                    match self.with_stack(|s| s.send(id, rest, None)) {
                        Ok(n) => {
                            *sent += n;
                            progressed = n > 0;
                        }
                        Err(Error::WouldBlock) => return false,
                        Err(e) => {
                            w5500_log::debug!("iface: DNS over TCP: send:", e);
                            self.resolver.handle_transport_error(now);
                            self.close_transport(t);
                            return true;
                        }
                    }
                }
                // The reply stays in the chip's socket buffer until all of it is there
                // (peek at the length prefix, RFC 1035 §4.2.2), then it is read in one go
                // into the shared buffer: no reassembly buffer on the host.
                let os = self.bsd.os();
                let buf = &mut self.buf;
                let peek = RecvFlags { peek: true };
                let r = os.with_stack(|s| {
                    let head = buf.get_mut(..2).unwrap_or(&mut []);
                    let (n, _) = s.recv(id, head, peek)?;
                    let Some(&[hi, lo]) = head.get(..n) else {
                        // EOF (0) or only one byte so far.
                        return Ok(n);
                    };
                    let len = usize::from(u16::from_be_bytes([hi, lo]));
                    if len > dns::TCP_REPLY_MAX {
                        // Only the prefix: the resolver rejects the length.
                        return Ok(2);
                    }
                    let whole = len.saturating_add(2);
                    if s.bytes_available(id)? < whole {
                        return Err(Error::WouldBlock);
                    }
                    let dst = buf.get_mut(..whole).unwrap_or(&mut []);
                    s.recv(id, dst, RecvFlags::default()).map(|(n, _)| n)
                });
                match r {
                    Ok(0) => {
                        // EOF before a whole reply.
                        if self.resolver.is_busy() {
                            self.resolver.handle_transport_error(now);
                        }
                        self.close_transport(t);
                        true
                    }
                    Ok(1) | Err(Error::WouldBlock) => progressed,
                    Ok(n) => {
                        let data = self.buf.get(..n).unwrap_or(&[]);
                        self.resolver.handle_tcp_reply(now, data);
                        true
                    }
                    Err(e) => {
                        w5500_log::debug!("iface: DNS over TCP: recv:", e);
                        self.resolver.handle_transport_error(now);
                        self.close_transport(t);
                        true
                    }
                }
            }
        }
    }
}
