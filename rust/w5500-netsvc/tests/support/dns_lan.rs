//! The resolver on the simulator's in-memory LAN, with the fake-chip helper of the
//! simulator's own tests carrying its UDP and TCP frames (used by dns_lan).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use super::lan::{FakeChip, CHIP_IP};
use w5500_netsvc::dns::{Answer, Config, DnsError, Lookup, Resolver, Transmit};
use w5500_sim::lan::dns::{DnsFault, DnsServer, QueryLog};
use w5500_sim::lan::{standard as s, Lan};
use w5500_sim::net::{Body, IpPayload};
use w5500_sim::time::Instant;
/// Resolver + fake chip: the glue the OS layer will be (one UDP socket per try, a TCP
/// connection for truncated answers).
pub struct Rig {
    pub chip: FakeChip,
    pub r: Resolver,
    pub tcp: Option<usize>,
    pub tcp_connects: usize,
}

impl Rig {
    pub fn new(lan: Lan) -> Self {
        let mut r = Resolver::new(Config::new(0xfeed_f00d));
        // As a DHCP lease of the standard LAN would deliver them.
        r.set_servers(&[s::GATEWAY, s::NS2]);
        Rig {
            chip: FakeChip::new(lan),
            r,
            tcp: None,
            tcp_connects: 0,
        }
    }

    pub fn standard() -> Self {
        Self::new(Lan::standard())
    }

    pub fn now(&self) -> u64 {
        self.chip.now.as_millis()
    }

    pub fn flush_tx(&mut self) {
        while let Some(t) = self.r.poll_transmit(self.now()) {
            match t {
                Transmit::Udp {
                    server,
                    src_port,
                    payload,
                } => {
                    self.tcp = None;
                    self.chip.send_udp(src_port, server, &payload);
                }
                Transmit::Tcp {
                    server,
                    src_port,
                    payload,
                } => {
                    let c = self.chip.connect(src_port, server, 0x4000_0000, 8192);
                    self.chip.send_data(c, &payload);
                    self.tcp = Some(c);
                    self.tcp_connects += 1;
                }
            }
        }
    }

    pub fn deliver(&mut self) {
        let now = self.now();
        for (_, f) in self.chip.take_inbox() {
            if let Body::Ipv4(p) = f.body {
                if let IpPayload::Udp(u) = p.payload {
                    if p.dst == CHIP_IP {
                        self.r.handle_udp(
                            now,
                            SocketAddrV4::new(p.src, u.src_port),
                            u.dst_port,
                            &u.payload,
                        );
                    }
                }
            }
        }
        if let Some(c) = self.tcp {
            let data = self.chip.read_all(c);
            if !data.is_empty() {
                // Hand the bytes over in two pieces, as a socket read might.
                let (a, b) = data.split_at(data.len() / 3);
                self.r.handle_tcp(now, a);
                self.r.handle_tcp(now, b);
            }
            if self.chip.conns[c].reset {
                self.tcp = None;
                self.r.handle_transport_error(now);
            }
        }
    }

    /// Drive one lookup to its end; bounded.
    pub fn drive(&mut self) -> Result<Answer, DnsError> {
        for _ in 0..1000 {
            self.flush_tx();
            self.chip.run_for(Duration::from_millis(5));
            self.deliver();
            if let Some(res) = self.r.poll_result() {
                return res;
            }
            if let Some(at) = self.r.poll_at() {
                if at > self.now() {
                    self.chip.run_until(Instant::from_millis(at));
                    self.deliver();
                }
                self.r.poll(self.now());
                if let Some(res) = self.r.poll_result() {
                    return res;
                }
            }
        }
        panic!("lookup did not end");
    }

    pub fn resolve(&mut self, name: &str) -> Result<Answer, DnsError> {
        match self.r.start(name, self.now())? {
            Lookup::Ready(a) => Ok(a),
            Lookup::Pending => self.drive(),
        }
    }

    pub fn server(&mut self, ip: Ipv4Addr) -> &mut DnsServer {
        let id = self.chip.lan.host_by_ip(ip).unwrap();
        self.chip.lan.udp_app_mut::<DnsServer>(id, 53).unwrap()
    }

    pub fn log(&mut self, ip: Ipv4Addr) -> Vec<QueryLog> {
        self.server(ip).log.clone()
    }

    pub fn fault(&mut self, ip: Ipv4Addr, f: DnsFault) {
        self.server(ip).fault = f;
    }
}

pub fn addrs(a: &Answer) -> Vec<Ipv4Addr> {
    a.addrs.to_vec()
}
