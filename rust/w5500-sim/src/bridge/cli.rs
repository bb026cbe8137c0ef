//! The `w5500-sim` command line, parsed by hand so it can be tested.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;

use super::ClockMode;

/// Where the bridge listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListenAddr {
    /// `unix:PATH`: a Unix stream socket.
    Unix(PathBuf),
    /// `tcp:127.0.0.1:PORT`: loopback TCP only.
    Tcp(SocketAddrV4),
}

impl ListenAddr {
    /// Parse `unix:PATH` or `tcp:127.0.0.1:PORT` (any other TCP address is refused).
    pub fn parse(s: &str) -> Result<ListenAddr, String> {
        if let Some(p) = s.strip_prefix("unix:") {
            if p.is_empty() {
                return Err("unix: needs a path".into());
            }
            return Ok(ListenAddr::Unix(PathBuf::from(p)));
        }
        if let Some(a) = s.strip_prefix("tcp:") {
            let addr: SocketAddrV4 = a
                .parse()
                .map_err(|_| format!("bad TCP address {a:?} (want 127.0.0.1:PORT)"))?;
            if *addr.ip() != Ipv4Addr::LOCALHOST {
                return Err(format!(
                    "refusing {a}: the bridge listens on 127.0.0.1 only"
                ));
            }
            return Ok(ListenAddr::Tcp(addr));
        }
        Err(format!(
            "bad listen address {s:?} (want unix:PATH or tcp:127.0.0.1:PORT)"
        ))
    }
}

impl core::fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ListenAddr::Unix(p) => write!(f, "unix:{}", p.display()),
            ListenAddr::Tcp(a) => write!(f, "tcp:{a}"),
        }
    }
}

/// What plays the network around the served chip.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// `--backend lan` (default): the simulator's standard in-memory LAN.
    #[default]
    Lan,
    /// `--backend hostnet`: the chip's sockets become host sockets
    /// ([`crate::hostnet::HostNet`]) in the network namespace the process runs in; needs the
    /// wall clock.
    HostNet(HostNetOptions),
}

/// The `--backend hostnet` settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostNetOptions {
    /// `--interface IF`: `SO_BINDTODEVICE` on every host socket (the namespace's veth end), so
    /// that broadcasts such as DHCP leave without a default route.
    pub interface: Option<String>,
    /// `--forward-tcp PORT`, repeatable: connections to this port of the namespace become
    /// connections to the chip's IP on the same port (for servers on the chip).
    pub forward_tcp: Vec<u16>,
    /// `--forward-udp PORT`, repeatable: datagrams to this port of the namespace reach the
    /// chip's port before the chip has sent anything from it.
    pub forward_udp: Vec<u16>,
    /// `--chip-ip A.B.C.D`: the chip's address before it has sent anything (forwarded
    /// connections need it); later learned from the chip's frames (e.g. after DHCP).
    pub chip_ip: Option<Ipv4Addr>,
}

/// Everything the command line can say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// `--listen`; default `unix:w5500-sim.sock`.
    pub listen: ListenAddr,
    /// `--clock wall|sim`; default `sim`.
    pub clock: ClockMode,
    /// `--spi-hz N`; default 20 MHz.
    pub spi_hz: u32,
    /// `--no-dhcp`: the LAN's DHCP server stays silent (the chip needs a static address).
    pub no_dhcp: bool,
    /// `--dns-record name=ip`, repeatable: extra A records in the LAN's DNS zone.
    pub dns_records: Vec<(String, Ipv4Addr)>,
    /// `--http path=file`, repeatable: extra resources on the LAN's HTTP server.
    pub http: Vec<(String, PathBuf)>,
    /// `--selftest-target`: serve a plain register file instead of the chip.
    pub selftest_target: bool,
    /// `--max-clients N`: exit after serving N clients (default: serve forever).
    pub max_clients: Option<usize>,
    /// `--client SPEC`, repeatable: LAN clients that connect to the chip
    /// ([`crate::lan::clients::spec`]), checked when parsed.
    pub clients: Vec<String>,
    /// `--backend lan|hostnet` and the host-network settings.
    pub backend: Backend,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            listen: ListenAddr::Unix(PathBuf::from("w5500-sim.sock")),
            clock: ClockMode::Sim,
            spi_hz: 20_000_000,
            no_dhcp: false,
            dns_records: Vec::new(),
            http: Vec::new(),
            selftest_target: false,
            max_clients: None,
            clients: Vec::new(),
            backend: Backend::Lan,
        }
    }
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Serve with these options.
    Run(Options),
    /// `--help`: print [`USAGE`].
    Help,
}

/// The `--help` text.
pub const USAGE: &str = "\
usage: w5500-sim [options]
  --listen unix:PATH | tcp:127.0.0.1:PORT   where to serve the bridge (default unix:w5500-sim.sock)
  --clock wall|sim                          the chip's clock (default sim; wall with hostnet)
  --spi-hz N                                modelled SPI clock in Hz (default 20000000)
  --no-dhcp                                 keep the LAN's DHCP server silent (use a static address)
  --dns-record NAME=A.B.C.D                 extra DNS A record on the LAN, repeatable
  --http PATH=FILE                          extra resource on the LAN's HTTP server, repeatable
  --selftest-target                         serve a plain register file instead of the chip
  --max-clients N                           exit after N bridge clients
  --client SPEC                             LAN hosts that connect to the chip, repeatable, e.g.
                                            'tcp port=7 send=pattern:1000 expect=echo count=3'
                                            (grammar: w5500_sim::lan::clients::spec); reports on stdout
  --backend lan|hostnet                     the chip's network (default lan)
  --interface IF                            hostnet: SO_BINDTODEVICE on every host socket
  --forward-tcp PORT                        hostnet: connections to PORT go to the chip, repeatable
  --forward-udp PORT                        hostnet: datagrams to PORT go to the chip, repeatable
  --chip-ip A.B.C.D                         hostnet: the chip's address before it sends anything
  --help                                    this text
With --backend lan the chip sits on the simulator's standard in-memory LAN (10.77.0.0/24:
DHCP and DNS at .1, HTTP at .10 with /, /big and /bytes/N, echo at .11, byte source/sink at
.12; see w5500_sim::lan).
With --backend hostnet its sockets are host sockets of the network namespace this process
runs in (run it inside a namespace made for the purpose; see w5500_sim::hostnet), on the
wall clock and without mid-burst engine steps (SimConfig::torn_reads).
The wire protocol is documented in the w5500_sim::bridge module.";

/// Parse the arguments after the program name.
pub fn parse_args<I, S>(args: I) -> Result<Command, String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut o = Options::default();
    let mut clock_given = false;
    let mut hostnet = false;
    let mut hn = HostNetOptions::default();
    // Options that only make sense with one backend, for the check after the loop.
    let mut lan_only: Option<&'static str> = None;
    let mut hostnet_only: Option<&'static str> = None;
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let arg = arg.as_ref();
        let mut value = |name: &str| -> Result<String, String> {
            it.next()
                .map(|v| v.as_ref().to_owned())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg {
            "--help" | "-h" => return Ok(Command::Help),
            "--listen" => o.listen = ListenAddr::parse(&value(arg)?)?,
            "--clock" => {
                clock_given = true;
                o.clock = match value(arg)?.as_str() {
                    "wall" => ClockMode::Wall,
                    "sim" => ClockMode::Sim,
                    v => return Err(format!("--clock wall|sim, not {v:?}")),
                }
            }
            "--spi-hz" => {
                let v = value(arg)?;
                o.spi_hz = v
                    .parse()
                    .ok()
                    .filter(|&hz: &u32| hz > 0)
                    .ok_or_else(|| format!("--spi-hz needs a positive integer, not {v:?}"))?;
            }
            "--no-dhcp" => {
                o.no_dhcp = true;
                lan_only = Some("--no-dhcp");
            }
            "--dns-record" => {
                let v = value(arg)?;
                let (name, ip) = v
                    .split_once('=')
                    .ok_or_else(|| format!("--dns-record NAME=IP, not {v:?}"))?;
                let ip = ip
                    .parse()
                    .map_err(|_| format!("--dns-record: bad address {ip:?}"))?;
                if name.is_empty() {
                    return Err("--dns-record: empty name".into());
                }
                o.dns_records.push((name.to_owned(), ip));
                lan_only = Some("--dns-record");
            }
            "--http" => {
                let v = value(arg)?;
                let (path, file) = v
                    .split_once('=')
                    .filter(|(p, f)| p.starts_with('/') && !f.is_empty())
                    .ok_or_else(|| format!("--http /PATH=FILE, not {v:?}"))?;
                o.http.push((path.to_owned(), PathBuf::from(file)));
                lan_only = Some("--http");
            }
            "--selftest-target" => o.selftest_target = true,
            "--client" => {
                let v = value(arg)?;
                crate::lan::clients::parse_clients(&v).map_err(|e| e.to_string())?;
                o.clients.push(v);
                lan_only = Some("--client");
            }
            "--max-clients" => {
                let v = value(arg)?;
                o.max_clients = Some(
                    v.parse()
                        .map_err(|_| format!("--max-clients needs a count, not {v:?}"))?,
                );
            }
            "--backend" => {
                hostnet = match value(arg)?.as_str() {
                    "lan" => false,
                    "hostnet" => true,
                    v => return Err(format!("--backend lan|hostnet, not {v:?}")),
                }
            }
            "--interface" => {
                let v = value(arg)?;
                // IFNAMSIZ is 16 with the terminating NUL.
                if v.is_empty() || v.len() > 15 || v.contains('/') {
                    return Err(format!("--interface: bad interface name {v:?}"));
                }
                hn.interface = Some(v);
                hostnet_only = Some("--interface");
            }
            "--forward-tcp" | "--forward-udp" => {
                let v = value(arg)?;
                let port: u16 = v
                    .parse()
                    .ok()
                    .filter(|&p| p != 0)
                    .ok_or_else(|| format!("{arg} needs a port 1-65535, not {v:?}"))?;
                if arg == "--forward-tcp" {
                    hn.forward_tcp.push(port);
                    hostnet_only = Some("--forward-tcp");
                } else {
                    hn.forward_udp.push(port);
                    hostnet_only = Some("--forward-udp");
                }
            }
            "--chip-ip" => {
                let v = value(arg)?;
                hn.chip_ip = Some(
                    v.parse()
                        .map_err(|_| format!("--chip-ip: bad address {v:?}"))?,
                );
                hostnet_only = Some("--chip-ip");
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if hostnet {
        if let Some(opt) = lan_only {
            return Err(format!(
                "{opt} configures the in-memory LAN, not --backend hostnet"
            ));
        }
        if o.selftest_target {
            return Err("--selftest-target serves no network: drop --backend hostnet".into());
        }
        // Real peers run on real time: the simulated clock would stand still between requests.
        if clock_given && o.clock == ClockMode::Sim {
            return Err("--backend hostnet needs --clock wall".into());
        }
        o.clock = ClockMode::Wall;
        o.backend = Backend::HostNet(hn);
    } else if let Some(opt) = hostnet_only {
        return Err(format!("{opt} needs --backend hostnet"));
    }
    Ok(Command::Run(o))
}
