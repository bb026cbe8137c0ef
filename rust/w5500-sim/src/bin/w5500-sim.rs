//! `w5500-sim`: serves the simulated W5500 to programs in other languages (and to Zephyr
//! images on the native boards) over a Unix socket or loopback TCP, on the simulator's standard
//! in-memory LAN or, with `--backend hostnet`, on the host network of the namespace it runs in.
//! The wire protocol is documented in `w5500_sim::bridge`.
//!
//! Stopped by SIGTERM, SIGINT or SIGHUP, it removes its Unix socket file before it ends (with
//! that signal, as the signal's default action would).

use std::path::Path;
use std::process::ExitCode;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use w5500_sim::bridge::{
    parse_args, Backend, ClockMode, Command, HostNetOptions, ListenAddr, Listener, Options,
    RegisterFile, Server, ServerConfig, USAGE,
};
use w5500_sim::hostnet::{HostNet, HostNetConfig};
use w5500_sim::lan::stream::FileBody;
use w5500_sim::lan::{apps, dhcp, dns, standard, Lan, TcpOptions};
use w5500_sim::sim::{Sim, SimConfig};
use w5500_sim::time::SpiTiming;

/// Prints log records at INFO and above (the LAN clients' reports) on stdout, warnings and
/// errors on stderr.
struct Printer;

impl log::Log for Printer {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::Level::Info
    }
    fn log(&self, r: &log::Record<'_>) {
        if !self.enabled(r.metadata()) {
            return;
        }
        if r.level() <= log::Level::Warn {
            eprintln!("w5500-sim: {}", r.args());
        } else {
            println!("w5500-sim: {}", r.args());
        }
    }
    fn flush(&self) {}
}

static PRINTER: Printer = Printer;

fn main() -> ExitCode {
    if log::set_logger(&PRINTER).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
    let opts = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Run(o)) => o,
        Err(e) => {
            eprintln!("w5500-sim: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("w5500-sim: {e}");
            ExitCode::from(1)
        }
    }
}

/// The standard LAN with the command line's changes.
fn build_lan(opts: &Options) -> Result<Lan, String> {
    let mut lan = Lan::standard();
    let gw = lan.host_by_ip(standard::GATEWAY).ok_or("no gateway host")?;
    if opts.no_dhcp {
        if let Some(server) = lan.udp_app_mut::<dhcp::DhcpServer>(gw, dhcp::SERVER_PORT) {
            server.fault = dhcp::DhcpFault::Silent;
        }
    }
    if !opts.dns_records.is_empty() {
        let mut zone = Lan::standard_zone();
        for (name, ip) in &opts.dns_records {
            zone = zone.a(name, *ip, 300);
        }
        for host in [standard::GATEWAY, standard::NS2] {
            let id = lan.host_by_ip(host).ok_or("no DNS host")?;
            dns::install(&mut lan, id, zone.clone(), dns::DnsFault::None);
        }
    }
    if !opts.http.is_empty() {
        let mut content = Lan::standard_http_content();
        for (path, file) in &opts.http {
            let body =
                FileBody::open(file).map_err(|e| format!("--http {}: {e}", file.display()))?;
            content = content.route_body(path, std::sync::Arc::new(body));
        }
        let http = lan.host_by_ip(standard::HTTP).ok_or("no HTTP host")?;
        lan.listen_tcp(
            http,
            80,
            TcpOptions::default(),
            apps::HttpServer::factory(content),
        );
    }
    for text in &opts.clients {
        lan.add_clients(text).map_err(|e| e.to_string())?;
    }
    Ok(lan)
}

/// Removes the Unix socket file at `path` when a stop signal (SIGTERM, SIGINT, SIGHUP) comes:
/// their default action ends the process at once, without the [`Listener`]'s drop that
/// removes it on a normal exit. `signals` are registered before the socket is bound, so none
/// is missed; a thread waits for the first, removes the file if it is still the one this
/// process bound (same device and inode: another bridge may have replaced it since), then ends
/// the process with that signal's default action. Nothing waits on the serving thread, so the
/// stop takes as long as one unlink.
fn remove_socket_on_signal(mut signals: Signals, path: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let bound = (meta.dev(), meta.ino());
    let path = path.to_path_buf();
    std::thread::Builder::new()
        .name("stop-signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                let same =
                    std::fs::symlink_metadata(&path).is_ok_and(|m| (m.dev(), m.ino()) == bound);
                if same {
                    let _ = std::fs::remove_file(&path);
                }
                let _ = signal_hook::low_level::emulate_default_handler(sig);
                // Not reached: the default action of these signals ends the process.
                std::process::exit(128 + sig);
            }
        })
        .map(drop)
        .map_err(|e| format!("signal thread: {e}"))
}

fn run(opts: &Options) -> Result<(), String> {
    let stop_signals = match &opts.listen {
        ListenAddr::Unix(_) => Some(
            Signals::new([SIGTERM, SIGINT, SIGHUP]).map_err(|e| format!("signal handlers: {e}"))?,
        ),
        ListenAddr::Tcp(_) => None,
    };
    let listener = Listener::bind(&opts.listen).map_err(|e| format!("{}: {e}", opts.listen))?;
    if let (Some(signals), ListenAddr::Unix(path)) = (stop_signals, &opts.listen) {
        remove_socket_on_signal(signals, path)?;
    }
    let shown = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| opts.listen.to_string());
    let config = ServerConfig {
        clock: opts.clock,
        spi_hz: opts.spi_hz,
    };
    if opts.selftest_target {
        println!("w5500-sim: serving a register file on {shown}");
        let mut server = Server::new(RegisterFile::new(opts.clock, opts.spi_hz), config);
        return server
            .serve(&listener, opts.max_clients)
            .map_err(|e| format!("serving: {e}"));
    }
    let sim_config = SimConfig {
        timing: SpiTiming {
            sck_hz: opts.spi_hz,
            ..SpiTiming::DEFAULT
        },
        clock: match opts.clock {
            ClockMode::Sim => w5500_sim::sim::ClockMode::Simulated,
            ClockMode::Wall => w5500_sim::sim::ClockMode::WallClock,
        },
        ..SimConfig::default()
    };
    match &opts.backend {
        Backend::Lan => {
            let sim = Sim::with_config(build_lan(opts)?, sim_config);
            println!(
                "w5500-sim: serving a simulated W5500 on {shown} (LAN 10.77.0.0/24, DHCP {})",
                if opts.no_dhcp { "off" } else { "on" }
            );
            let mut server = Server::new(sim, config);
            server
                .serve(&listener, opts.max_clients)
                .map_err(|e| format!("serving: {e}"))
        }
        Backend::HostNet(hn) => {
            // No mid-burst engine steps (torn 16-bit reads): on the wall clock each step
            // would poll every host socket, once per SPI byte, and a 2 KB read would cost
            // thousands of system calls. Frames still see the network between them.
            let sim_config = SimConfig {
                torn_reads: false,
                ..sim_config
            };
            let sim = Sim::with_config(build_hostnet(hn)?, sim_config);
            println!(
                "w5500-sim: serving a simulated W5500 on {shown} (host network{})",
                describe_hostnet(hn)
            );
            let mut server = Server::new(sim, config);
            server
                .serve(&listener, opts.max_clients)
                .map_err(|e| format!("serving: {e}"))
        }
    }
}

/// The host-socket network with the command line's forwards opened.
fn build_hostnet(hn: &HostNetOptions) -> Result<HostNet, String> {
    let mut net = HostNet::new(HostNetConfig {
        interface: hn.interface.clone(),
        chip_ip: hn.chip_ip,
        ..HostNetConfig::default()
    });
    for &port in &hn.forward_tcp {
        net.forward_tcp(port)
            .map_err(|e| format!("--forward-tcp {port}: {e}"))?;
    }
    for &port in &hn.forward_udp {
        net.forward_udp(port)
            .map_err(|e| format!("--forward-udp {port}: {e}"))?;
    }
    Ok(net)
}

fn describe_hostnet(hn: &HostNetOptions) -> String {
    let mut s = String::new();
    if let Some(i) = &hn.interface {
        s.push_str(&format!(", interface {i}"));
    }
    if let Some(ip) = hn.chip_ip {
        s.push_str(&format!(", chip {ip}"));
    }
    let list = |v: &[u16]| {
        v.iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    if !hn.forward_tcp.is_empty() {
        s.push_str(&format!(", TCP {} forwarded", list(&hn.forward_tcp)));
    }
    if !hn.forward_udp.is_empty() {
        s.push_str(&format!(", UDP {} forwarded", list(&hn.forward_udp)));
    }
    s
}
