//! `w5500-demo`: the project's main job, on the simulated chip.
//!
//! Brings a simulated W5500 up with the driver (reset pulse, `VERSIONR` probe, soft reset),
//! waits for the link, takes an IPv4 address by DHCP (through the chip's own UDP socket,
//! `w5500-iface`), resolves the HTTP server's name (`http.sim.lan`) with the LAN's DNS server,
//! connects, fetches a page, and prints a short transcript: link, lease, DNS answer, connect,
//! bytes, simulated time and SPI traffic. Exit status 0 on success; a clear message and 1 otherwise.
//!
//! Usage: `w5500-demo [--path /big] [--spi-mhz 20] [--int-pin|--no-int-pin]`; `--help` prints
//! the usage with the paths the LAN's HTTP server serves (to stdout, exit status 0).

use std::process::ExitCode;

use w5500_driver::bsd::{Bsd, MsgFlags, Os};
use w5500_driver::chip::{Chip, Config};
use w5500_driver::stack::{SockType, Stack, StackConfig};
use w5500_iface::{Hints, Iface, IfaceConfig, IfaceEvent};
use w5500_sim::lan::Lan;
use w5500_sim::sim::{Sim, SimConfig};
use w5500_sim::spi::{Area, SimResetPin, SimSpiDevice, SpiStats};
use w5500_sim::time::SpiTiming;
use w5500_testkit::{lock, SharedSim, SimDelay, SimOs};

/// The demo chip's MAC address.
const MAC: [u8; 6] = [0x02, 0x08, 0xdc, 0x00, 0x00, 0x01];
/// The server the demo fetches from, by name.
const HOST: &str = "http.sim.lan";

/// Command-line options.
#[derive(Debug, PartialEq, Eq)]
struct Options {
    path: String,
    spi_mhz: u32,
    int_pin: bool,
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Request {
    /// Run the demo.
    Run(Options),
    /// Print the usage (`-h`, `--help`).
    Help,
}

/// The usage text, with the paths the LAN's HTTP server serves (read from
/// [`Lan::standard_http_content`], so the list stays true).
fn usage() -> String {
    let content = Lan::standard_http_content();
    let mut u = String::from(
        "usage: w5500-demo [--path PATH] [--spi-mhz N] [--int-pin|--no-int-pin]\n\n\
         Brings the driver up on a simulated W5500 on an in-memory LAN (10.77.0.0/24): DHCP,\n\
         DNS, then an HTTP GET of PATH from http.sim.lan, with the SPI traffic of the fetch.\n\n\
         \x20 --path PATH      the page to fetch (default /); the LAN serves:\n",
    );
    for (path, len) in content.routes() {
        u.push_str(&format!("                     {path:<12} {len} bytes\n"));
    }
    if let Some(prefix) = content.sized_prefix() {
        let pattern = format!("{prefix}N");
        u.push_str(&format!(
            "                     {pattern:<12} N bytes, any N (e.g. {prefix}1000000)\n"
        ));
    }
    u.push_str(
        "  --spi-mhz N      SPI clock, 1 to 80 MHz (default 20)\n\
         \x20 --int-pin        wait on the INTn pin (default)\n\
         \x20 --no-int-pin     poll the chip every 50 ms instead\n\
         \x20 -h, --help       this text\n",
    );
    u
}

fn parse_args(args: &[String]) -> Result<Request, String> {
    let mut o = Options {
        path: "/".to_string(),
        spi_mhz: 20,
        int_pin: true,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--path" => {
                let p = it.next().ok_or("--path needs a value")?;
                if !p.starts_with('/') || p.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(format!(
                        "--path must be an absolute path without spaces: {p:?}"
                    ));
                }
                o.path = p.clone();
            }
            "--spi-mhz" => {
                let v = it.next().ok_or("--spi-mhz needs a value")?;
                o.spi_mhz = v
                    .parse()
                    .ok()
                    .filter(|m| (1..=80).contains(m))
                    .ok_or(format!(
                        "--spi-mhz takes 1 to 80 (the W5500's limit), not {v:?}"
                    ))?;
            }
            "--int-pin" => o.int_pin = true,
            "--no-int-pin" => o.int_pin = false,
            "-h" | "--help" => return Ok(Request::Help),
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(Request::Run(o))
}

/// A transfer rate for people: Mbit/s from 1 Mbit/s up, kbit/s below (a polled fetch of a
/// small page moves a few kbit/s, which "0.0 Mbit/s" hid).
fn rate(bytes: usize, elapsed_ms: f64) -> String {
    let kbit_s = bytes as f64 * 8.0 / elapsed_ms.max(0.001);
    if kbit_s >= 1000.0 {
        format!("{:.1} Mbit/s", kbit_s / 1000.0)
    } else {
        format!("{kbit_s:.1} kbit/s")
    }
}

fn ms(sim: &SharedSim<Lan>) -> f64 {
    lock(sim).now().as_micros() as f64 / 1000.0
}

fn print_spi(stats: &SpiStats, payload: usize) {
    println!(
        "  spi      {} transactions, {} bytes clocked ({:.3} bytes per payload byte)",
        stats.transactions,
        stats.bytes,
        stats.bytes as f64 / payload.max(1) as f64
    );
    for (name, area) in [
        ("common registers", Area::Common),
        ("socket registers", Area::SocketRegs),
        ("TX buffers", Area::TxBuffer),
        ("RX buffers", Area::RxBuffer),
    ] {
        let a = stats.area(area);
        println!(
            "           {name:<17} {:>7} frames {:>9} bytes",
            a.frames, a.bytes
        );
    }
}

fn run(o: &Options) -> Result<(), String> {
    let config = SimConfig {
        timing: SpiTiming {
            sck_hz: o.spi_mhz * 1_000_000,
            ..SpiTiming::DEFAULT
        },
        ..SimConfig::default()
    };
    let sim: SharedSim<Lan> = std::sync::Arc::new(std::sync::Mutex::new(Sim::with_config(
        Lan::standard(),
        config,
    )));
    println!(
        "W5500 demo on the simulated chip (SPI {} MHz, in-memory LAN 10.77.0.0/24)",
        o.spi_mhz
    );

    let mut chip = Chip::new(SimSpiDevice::new(sim.clone()));
    let mut delay = SimDelay(sim.clone());
    chip.hardware_reset(&mut SimResetPin::new(sim.clone()), &mut delay)
        .map_err(|e| format!("reset failed: {e}"))?;
    let cfg = Config::new(MAC);
    chip.init(&mut delay, &cfg)
        .map_err(|e| format!("chip bring-up failed: {e}"))?;
    println!(
        "  chip     W5500 found (VERSIONR 0x04), reset done at {:.3} ms",
        ms(&sim)
    );

    let stack = Stack::new(
        chip,
        StackConfig {
            reserved_for_services: 1,
            ..StackConfig::default()
        },
    )
    .map_err(|e| e.to_string())?;
    let os = SimOs::new(sim.clone(), stack, o.int_pin, 50);
    let bsd = Bsd::new(&os);
    let mut iface = Iface::new(
        Bsd::new(&os),
        IfaceConfig::new(MAC, 0x00de_0005_eed0).with_hostname_template("w5500-{}"),
    );
    iface
        .up()
        .map_err(|e| format!("interface up failed: {e}"))?;
    let t0 = ms(&sim);
    let mut bound = false;
    for _ in 0..1_000_000 {
        let now = os.now_ms();
        let next = iface.poll(now);
        while let Some(ev) = iface.take_event() {
            match ev {
                IfaceEvent::LinkUp {
                    speed_100,
                    full_duplex,
                } => println!(
                    "  link     up, {} Mbit/s {} duplex at {:.3} ms",
                    if speed_100 { 100 } else { 10 },
                    if full_duplex { "full" } else { "half" },
                    ms(&sim)
                ),
                IfaceEvent::DhcpBound => bound = true,
                _ => {}
            }
        }
        if bound || now > 60_000 {
            break;
        }
        let seen = os.epoch();
        os.wait(None, seen, next.unwrap_or(now + 50).max(now + 1));
    }
    let lease = iface
        .lease()
        .filter(|_| bound)
        .ok_or("no DHCP lease within 60 s")?;
    println!(
        "  dhcp     {}/{} gateway {} from {} in {:.3} ms (host name {})",
        lease.address,
        lease.prefix_len(),
        lease.gateway.map_or("none".to_string(), |g| g.to_string()),
        lease.server_id.map_or("?".to_string(), |s| s.to_string()),
        ms(&sim) - t0,
        iface.hostname().unwrap_or("-"),
    );
    let dns: Vec<String> = lease.dns_servers.iter().map(|d| d.to_string()).collect();
    println!(
        "  lease    {} s (renew at {} s, rebind at {} s), DNS {}",
        lease.lease_secs,
        lease.t1_secs,
        lease.t2_secs,
        dns.join(", ")
    );

    let t0 = ms(&sim);
    let hints = Hints {
        socktype: w5500_iface::dns::SockType::Stream,
        ..Hints::default()
    };
    let list = iface
        .getaddrinfo(Some(HOST), Some("80"), &hints)
        .map_err(|e| format!("getaddrinfo({HOST}) failed: {e:?}"))?;
    let server = list
        .entries
        .first()
        .map(|e| e.addr)
        .ok_or("getaddrinfo gave an empty list")?;
    println!(
        "  dns      {HOST} -> {} in {:.3} ms",
        server.ip(),
        ms(&sim) - t0
    );

    let s = bsd.socket(SockType::Stream).map_err(|e| e.to_string())?;
    let t0 = ms(&sim);
    bsd.connect(s, server)
        .map_err(|e| format!("connect to {HOST} ({server}) failed: {e}"))?;
    println!("  connect  {HOST} ({server}) in {:.3} ms", ms(&sim) - t0);

    lock(&sim).reset_stats();
    let t0 = ms(&sim);
    let req = format!(
        "GET {} HTTP/1.1\r\nHost: http.sim.lan\r\nConnection: close\r\n\r\n",
        o.path
    );
    bsd.send(s, req.as_bytes(), None, MsgFlags::default())
        .map_err(|e| format!("send failed: {e}"))?;
    let mut response = Vec::new();
    let mut buf = [0u8; 2048];
    loop {
        let (n, _) = bsd
            .recv(s, &mut buf, MsgFlags::default())
            .map_err(|e| format!("recv failed: {e}"))?;
        if n == 0 {
            break;
        }
        response.extend_from_slice(&buf[..n]);
    }
    let elapsed = ms(&sim) - t0;
    bsd.close(s).map_err(|e| e.to_string())?;
    let stats = *lock(&sim).stats();

    let head_end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("the response has no header")?;
    let status = String::from_utf8_lossy(&response[..head_end]);
    let status_line = status.lines().next().unwrap_or("");
    let body = response.len() - head_end - 4;
    println!("  fetch    GET {} -> {status_line}", o.path);
    println!(
        "  bytes    {} received ({} body) in {:.3} ms simulated ({})",
        response.len(),
        body,
        elapsed,
        rate(response.len(), elapsed)
    );
    print_spi(&stats, response.len() + req.len());
    let violations = lock(&sim).violations().len();
    if violations > 0 {
        return Err(format!(
            "the simulator recorded {violations} datasheet violations"
        ));
    }
    if !status_line.contains(" 200 ") {
        return Err(format!("unexpected status: {status_line}"));
    }
    println!("ok");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match parse_args(&args) {
        Ok(Request::Help) => {
            print!("{}", usage());
            return ExitCode::SUCCESS;
        }
        Ok(Request::Run(o)) => run(&o),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("w5500-demo: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    fn options(a: &[&str]) -> Options {
        match parse_args(&args(a)).unwrap() {
            Request::Run(o) => o,
            Request::Help => panic!("{a:?} asked for help"),
        }
    }

    #[test]
    fn arguments_are_validated() {
        assert_eq!(options(&[]).path, "/");
        assert_eq!(options(&["--spi-mhz", "40"]).spi_mhz, 40);
        assert!(parse_args(&args(&["--spi-mhz", "81"])).is_err());
        assert!(parse_args(&args(&["--path", "no-slash"])).is_err());
        assert!(parse_args(&args(&["--path"])).is_err());
        assert!(parse_args(&args(&["--bogus"])).is_err());
        assert!(!options(&["--no-int-pin"]).int_pin);
    }

    #[test]
    fn help_is_a_request_and_lists_the_lans_paths() {
        assert_eq!(parse_args(&args(&["--help"])), Ok(Request::Help));
        assert_eq!(
            parse_args(&args(&["--path", "/big", "-h"])),
            Ok(Request::Help)
        );
        let u = usage();
        assert!(u.starts_with("usage: w5500-demo "), "{u}");
        for line in [
            "/            29 bytes",
            "/big         100000 bytes",
            "/bytes/N",
        ] {
            assert!(u.contains(line), "{line:?} missing from\n{u}");
        }
    }

    #[test]
    fn rates_keep_their_figures() {
        // The --no-int-pin fetch of `/`: 127 bytes in 50.082 ms.
        assert_eq!(rate(127, 50.082), "20.3 kbit/s");
        // The interrupt-driven fetch of `/big`: 100102 bytes in 41.495 ms.
        assert_eq!(rate(100_102, 41.495), "19.3 Mbit/s");
        assert_eq!(rate(125, 1.0), "1.0 Mbit/s");
        assert_eq!(rate(0, 0.0), "0.0 kbit/s");
    }

    #[test]
    fn demo_fetches_the_big_page() {
        let o = options(&["--path", "/big"]);
        run(&o).unwrap();
    }

    #[test]
    fn demo_fetches_without_the_int_pin() {
        run(&options(&["--no-int-pin"])).unwrap();
    }
}
