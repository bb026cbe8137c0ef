//! Set-up of the real-peer tests (realpeer_dnsmasq): the namespaces `scripts/realpeer-test.sh`
//! made (from the environment), dnsmasq instances and a DHCP sniffer in the lan namespace,
//! addresses added for as long as a guard lives, and the interface on a wall-clock simulated
//! chip whose sockets are host sockets in the dut namespace. Everything started is stopped by
//! PID when its guard drops.

use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant as WallInstant};

use w5500_driver::bsd::Os;
use w5500_driver::chip::Config;
use w5500_driver::stack::StackConfig;
use w5500_iface::{IfaceConfig, IfaceEvent};
use w5500_sim::hostnet::{HostNet, HostNetConfig};
use w5500_sim::sim::{ClockMode, Sim, SimConfig};
use w5500_testkit::{Rig, RigConfig};

use super::{os, TestIface};

pub const LAN_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
/// The second DHCP server's address (added to the lan veth by the rebinding test).
pub const SECOND_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 3);
pub const RANGE_LO: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 100);
pub const RANGE_HI: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 150);
pub const MASK: Ipv4Addr = Ipv4Addr::new(255, 255, 255, 0);
pub const LEASE_S: u32 = 120;
pub const T1_S: u32 = 5;
pub const T2_S: u32 = 10;

/// The tests share the veth and port 67: one at a time even without `--test-threads=1`.
pub static SERIAL: Mutex<()> = Mutex::new(());

pub struct Env {
    pub dut_if: String,
    pub lan_ns: String,
    pub lan_if: String,
    pub scratch: PathBuf,
}

pub fn env() -> Option<Env> {
    if std::env::var("W5K_REALPEER").ok().as_deref() != Some("1")
        || std::env::var("W5K_LAN_IF").is_err()
    {
        eprintln!(
            "skipped: not inside phase 2 of scripts/realpeer-test.sh (run it as root): \
             needs W5K_REALPEER=1 and W5K_LAN_IF"
        );
        return None;
    }
    Some(Env {
        dut_if: std::env::var("W5K_DUT_IF").ok()?,
        lan_ns: std::env::var("W5K_LAN_NS").ok()?,
        lan_if: std::env::var("W5K_LAN_IF").ok()?,
        scratch: std::env::var("W5K_SCRATCH")
            .map(PathBuf::from)
            .unwrap_or_else(|_| std::env::temp_dir()),
    })
}

pub fn in_lan(e: &Env, args: &[&str]) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", &e.lan_ns]).args(args);
    c
}

pub fn run(mut c: Command) {
    let out = c.output().expect("run");
    assert!(out.status.success(), "{c:?}: {out:?}");
}

/// Kills the child it holds (by PID) when dropped.
pub struct Reap(pub Child);
impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An address added (or removed) for as long as the guard lives (`ip addr add`/`del`, undone
/// on drop), in the dut namespace (where the test runs) or in the lan namespace.
pub struct AddrGuard {
    pub ns: Option<String>,
    pub cidr: String,
    pub dev: String,
    pub added: bool,
}

impl AddrGuard {
    pub fn add(ns: Option<&str>, ip: Ipv4Addr, prefix: u8, dev: &str) -> AddrGuard {
        Self::change(ns, ip, prefix, dev, true)
    }

    pub fn remove(ns: Option<&str>, ip: Ipv4Addr, prefix: u8, dev: &str) -> AddrGuard {
        Self::change(ns, ip, prefix, dev, false)
    }

    pub fn change(ns: Option<&str>, ip: Ipv4Addr, prefix: u8, dev: &str, added: bool) -> AddrGuard {
        let g = AddrGuard {
            ns: ns.map(str::to_string),
            cidr: format!("{ip}/{prefix}"),
            dev: dev.to_string(),
            added,
        };
        run(g.cmd(added));
        g
    }

    pub fn cmd(&self, add: bool) -> Command {
        let mut c = Command::new("ip");
        if let Some(ns) = &self.ns {
            c.args(["-n", ns]);
        }
        let verb = if add { "add" } else { "del" };
        c.args(["addr", verb, &self.cidr, "dev", &self.dev]);
        c
    }
}

impl Drop for AddrGuard {
    fn drop(&mut self) {
        let _ = self.cmd(!self.added).output();
    }
}

/// One dnsmasq in the lan namespace, stopped (by PID) when dropped.
pub struct Dnsmasq {
    pub _child: Reap,
    pub log: PathBuf,
    pub leases: PathBuf,
}

impl Dnsmasq {
    /// Start dnsmasq named `name` (for its files) with the common options and `extra`, and
    /// wait (at most 5 s) until it logs that DHCP is ready.
    pub fn start(e: &Env, name: &str, extra: &[String]) -> Dnsmasq {
        let dir = e.scratch.join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("dnsmasq.log");
        let leases = dir.join("leases");
        let mut args: Vec<String> = [
            "dnsmasq",
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--user=root",
            "--group=root",
            "--pid-file=",
            "--bind-interfaces",
            "--no-resolv",
            "--no-hosts",
            "--local=/test/",
            "--dhcp-broadcast",
            "--log-dhcp",
            "--log-queries",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(format!("--interface={}", e.lan_if));
        args.push(format!(
            "--dhcp-range={RANGE_LO},{RANGE_HI},{MASK},{}m",
            LEASE_S / 60
        ));
        args.push(format!("--dhcp-option=option:T1,{T1_S}"));
        args.push(format!("--dhcp-option=option:T2,{T2_S}"));
        args.push(format!("--dhcp-leasefile={}", leases.display()));
        args.push(format!("--log-facility={}", log.display()));
        args.extend(extra.iter().cloned());
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let child = in_lan(e, &argv)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dnsmasq");
        let d = Dnsmasq {
            _child: Reap(child),
            log,
            leases,
        };
        assert!(
            d.wait_log(|l| l.contains("DHCP, IP range"), Duration::from_secs(5)),
            "dnsmasq {name} did not start: {}",
            d.log()
        );
        d
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn lines(&self, pat: &str) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| l.contains(pat))
            .map(str::to_string)
            .collect()
    }

    pub fn wait_log(&self, pred: impl Fn(&str) -> bool, limit: Duration) -> bool {
        let end = WallInstant::now() + limit;
        while WallInstant::now() < end {
            if self.log().lines().any(&pred) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    pub fn leases(&self) -> String {
        std::fs::read_to_string(&self.leases).unwrap_or_default()
    }

    pub fn stop(self) {
        drop(self);
    }
}

/// A DHCP message as the sniffer on the lan veth saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub dport: u16,
    pub msg: u8,
    pub ciaddr: Ipv4Addr,
    pub yiaddr: Ipv4Addr,
    pub sid: Option<Ipv4Addr>,
    pub req: Option<Ipv4Addr>,
    pub chaddr: String,
}

pub const DISCOVER: u8 = 1;
pub const OFFER: u8 = 2;
pub const REQUEST: u8 = 3;
pub const ACK: u8 = 5;
pub const NAK: u8 = 6;
pub const RELEASE: u8 = 7;

/// Reads every frame on the lan veth (ETH_P_ALL: both directions) and prints the DHCP ones;
/// it sends nothing.
pub const SNIFFER: &str = r#"
import socket, struct, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
s.bind((sys.argv[1], 0))
print("ready", flush=True)
def a(b): return socket.inet_ntoa(bytes(b))
while True:
    f = s.recv(4096)
    if f[12:14] != b"\x08\x00":
        continue
    ip = f[14:]
    if len(ip) < 20 or ip[9] != 17:
        continue
    ihl = (ip[0] & 15) * 4
    udp = ip[ihl:]
    if len(udp) < 8 + 240:
        continue
    sp, dp = struct.unpack("!HH", udp[:4])
    if 67 not in (sp, dp):
        continue
    b = udp[8:]
    o = {}
    i = 240
    while i < len(b) and b[i] != 255:
        if b[i] == 0:
            i += 1
            continue
        if i + 1 >= len(b):
            break
        n = b[i + 1]
        o[b[i]] = b[i + 2:i + 2 + n]
        i += 2 + n
    t = o.get(53, b"\x00")[0]
    sid = a(o[54]) if len(o.get(54, b"")) == 4 else "-"
    req = a(o[50]) if len(o.get(50, b"")) == 4 else "-"
    print("src=%s dst=%s dport=%d msg=%d ciaddr=%s yiaddr=%s sid=%s req=%s chaddr=%s" % (
        a(ip[12:16]), a(ip[16:20]), dp, t, a(b[12:16]), a(b[16:20]), sid, req,
        b[28:34].hex(":")), flush=True)
"#;

pub struct Sniffer {
    pub _child: Reap,
    pub rx: std::sync::mpsc::Receiver<String>,
    pub seen: Vec<Seen>,
}

impl Sniffer {
    pub fn start(e: &Env) -> Sniffer {
        let mut child = in_lan(e, &["python3", "-u", "-c", SNIFFER, &e.lan_if])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 sniffer");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let first = rx.recv_timeout(Duration::from_secs(5));
        assert_eq!(first.as_deref(), Ok("ready"), "sniffer did not start");
        Sniffer {
            _child: Reap(child),
            rx,
            seen: Vec::new(),
        }
    }

    /// Everything seen so far, after a pause that lets the sniffer catch up (at most 5 s)
    /// until `pred` holds.
    pub fn wait(&mut self, pred: impl Fn(&[Seen]) -> bool) -> &[Seen] {
        let end = WallInstant::now() + Duration::from_secs(5);
        while !pred(self.seen()) && WallInstant::now() < end {
            std::thread::sleep(Duration::from_millis(20));
        }
        // Anything that was still on its way.
        std::thread::sleep(Duration::from_millis(100));
        self.seen()
    }

    /// Everything seen so far.
    pub fn seen(&mut self) -> &[Seen] {
        while let Ok(l) = self.rx.try_recv() {
            if let Some(s) = parse_seen(&l) {
                self.seen.push(s);
            }
        }
        &self.seen
    }

    /// Messages of type `msg` from our client (`chaddr` = `mac`).
    pub fn client_sent(&mut self, mac: [u8; 6], msg: u8) -> Vec<Seen> {
        let m = mac_str(&mac);
        self.seen()
            .iter()
            .filter(|s| s.chaddr == m && s.msg == msg && s.dport == 67)
            .cloned()
            .collect()
    }

    /// Messages of type `msg` to our client.
    pub fn server_sent(&mut self, mac: [u8; 6], msg: u8) -> Vec<Seen> {
        let m = mac_str(&mac);
        self.seen()
            .iter()
            .filter(|s| s.chaddr == m && s.msg == msg && s.dport == 68)
            .cloned()
            .collect()
    }
}

pub fn parse_seen(l: &str) -> Option<Seen> {
    let mut kv = std::collections::HashMap::new();
    for part in l.split_whitespace() {
        let (k, v) = part.split_once('=')?;
        kv.insert(k, v);
    }
    let ip = |k: &str| kv.get(k)?.parse::<Ipv4Addr>().ok();
    Some(Seen {
        src: ip("src")?,
        dst: ip("dst")?,
        dport: kv.get("dport")?.parse().ok()?,
        msg: kv.get("msg")?.parse().ok()?,
        ciaddr: ip("ciaddr")?,
        yiaddr: ip("yiaddr")?,
        sid: ip("sid"),
        req: ip("req"),
        chaddr: kv.get("chaddr")?.to_string(),
    })
}

pub fn mac_str(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

pub fn mac(n: u8) -> [u8; 6] {
    [0x02, 0x08, 0xdc, 0x77, 0x00, n]
}

/// The driver on a wall-clock simulated chip (no address yet) whose network is the dut
/// namespace.
pub fn rig(e: &Env, mac: [u8; 6]) -> Rig<HostNet> {
    let cfg = HostNetConfig {
        interface: Some(e.dut_if.clone()),
        ..HostNetConfig::default()
    };
    let sim = Sim::with_config(
        HostNet::new(cfg),
        SimConfig {
            clock: ClockMode::WallClock,
            ..SimConfig::default()
        },
    );
    let rc = RigConfig {
        chip: Config::new(mac),
        stack: StackConfig::default(),
        int_pin: true,
        poll_ms: 5,
    };
    Rig::new(sim, rc).expect("bring-up")
}

pub fn cfg(mac: [u8; 6]) -> IfaceConfig {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(7);
    IfaceConfig::new(mac, seed).with_hostname_template("w5500-{}")
}

/// The worker loop on the wall clock until `stop` says so for an event or `limit` passed;
/// returns the events with the (chip clock) ms they were seen at.
pub fn run_until(
    i: &mut TestIface<'_, HostNet>,
    limit: Duration,
    mut stop: impl FnMut(&IfaceEvent) -> bool,
) -> Vec<(u64, IfaceEvent)> {
    let os = os(i);
    let end = os.now_ms() + limit.as_millis() as u64;
    let wall_end = WallInstant::now() + limit + Duration::from_secs(2);
    let mut out = Vec::new();
    for _ in 0..10_000_000 {
        let now = os.now_ms();
        let next = i.poll(now);
        let mut done = false;
        while let Some(e) = i.take_event() {
            done |= stop(&e);
            out.push((now, e));
        }
        if done || now >= end || WallInstant::now() >= wall_end {
            return out;
        }
        let seen = os.epoch();
        let until = next.unwrap_or(end).min(end).min(now + 50).max(now + 1);
        os.wait(None, seen, until);
    }
    out
}

pub fn in_range(ip: Ipv4Addr) -> bool {
    (RANGE_LO..=RANGE_HI).contains(&ip)
}

/// Bring the interface up and wait (at most 30 s) for the lease; returns the events.
pub fn bound(i: &mut TestIface<'_, HostNet>) -> Vec<(u64, IfaceEvent)> {
    i.up().unwrap();
    let mut ev = run_until(i, Duration::from_secs(30), |e| *e == IfaceEvent::DhcpBound);
    assert!(
        ev.iter().any(|(_, e)| *e == IfaceEvent::DhcpBound),
        "no lease: {ev:?}"
    );
    ev.extend(run_until(i, Duration::from_millis(20), |_| false));
    ev
}

/// Runs `f` serialised with the other tests, when inside the namespaces; prints its wall time.
pub fn realpeer(name: &str, f: impl FnOnce(&Env)) {
    let Some(e) = env() else { return };
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let t0 = WallInstant::now();
    f(&e);
    eprintln!("{name}: {:.1} s wall", t0.elapsed().as_secs_f64());
}
