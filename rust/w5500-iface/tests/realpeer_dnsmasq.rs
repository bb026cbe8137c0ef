//! The interface (DHCP and DNS over the chip's sockets) on a wall-clock simulated chip whose
//! sockets are host sockets in a network namespace (`hostnet`), against real dnsmasq
//! instances (RFC 2131 DHCP, RFC 1034/1035 DNS).
//!
//! These tests only do something when run by `scripts/realpeer-test.sh` (as root), whose
//! phase 2 creates fresh namespaces WITHOUT any peer and runs this binary inside the dut
//! namespace with `W5K_REALPEER=1`, `W5K_LAN_NS`, `W5K_LAN_IF` and `W5K_SCRATCH`; otherwise
//! each test says why it skipped and passes.
//!
//! Each test starts its own dnsmasq (inside the lan namespace, `--keep-in-foreground`, its own
//! lease and log files) and stops it by PID, plus a small Python sniffer (an `AF_PACKET`
//! socket on the lan veth that only reads) that records every DHCP message with its IP
//! addresses, so the tests can see what went unicast and what went broadcast. dnsmasq's
//! minimum lease is 2 minutes; T1 and T2 are shortened with options 58/59 (5 s and 10 s),
//! which dnsmasq sends as configured and our client honours (0 < T1 < T2 < lease).
//!
//! One thing the setup must do by hand: dnsmasq sends a reply to a client that has an address
//! (RENEWING, REBINDING: `ciaddr` set) by unicast to that address, and HostNet's host sockets
//! live on the namespace's own addresses. So once the chip is bound, the tests add the leased
//! address to the dut veth (/32, inside the dut namespace only), as the chip itself would own
//! it on a real LAN, and remove it at the end.

use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant as WallInstant};

use w5500_driver::bsd::{Bsd, Os};
use w5500_driver::chip::Config;
use w5500_driver::stack::StackConfig;
use w5500_iface::dns::{gai::flags, DnsError};
use w5500_iface::{dhcp, AddrInfoList, GaiError, Hints, Iface, IfaceConfig, IfaceEvent};
use w5500_sim::hostnet::{HostNet, HostNetConfig};
use w5500_sim::sim::{ClockMode, Sim, SimConfig};
use w5500_testkit::{Rig, RigConfig, SimOs};

const LAN_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
/// The second DHCP server's address (added to the lan veth by the rebinding test).
const SECOND_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 3);
const RANGE_LO: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 100);
const RANGE_HI: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 150);
const MASK: Ipv4Addr = Ipv4Addr::new(255, 255, 255, 0);
const LEASE_S: u32 = 120;
const T1_S: u32 = 5;
const T2_S: u32 = 10;

/// The tests share the veth and port 67: one at a time even without `--test-threads=1`.
static SERIAL: Mutex<()> = Mutex::new(());

struct Env {
    dut_if: String,
    lan_ns: String,
    lan_if: String,
    scratch: PathBuf,
}

fn env() -> Option<Env> {
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

fn in_lan(e: &Env, args: &[&str]) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", &e.lan_ns]).args(args);
    c
}

fn run(mut c: Command) {
    let out = c.output().expect("run");
    assert!(out.status.success(), "{c:?}: {out:?}");
}

/// Kills the child it holds (by PID) when dropped.
struct Reap(Child);
impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An address added (or removed) for as long as the guard lives (`ip addr add`/`del`, undone
/// on drop), in the dut namespace (where the test runs) or in the lan namespace.
struct AddrGuard {
    ns: Option<String>,
    cidr: String,
    dev: String,
    added: bool,
}

impl AddrGuard {
    fn add(ns: Option<&str>, ip: Ipv4Addr, prefix: u8, dev: &str) -> AddrGuard {
        Self::change(ns, ip, prefix, dev, true)
    }

    fn remove(ns: Option<&str>, ip: Ipv4Addr, prefix: u8, dev: &str) -> AddrGuard {
        Self::change(ns, ip, prefix, dev, false)
    }

    fn change(ns: Option<&str>, ip: Ipv4Addr, prefix: u8, dev: &str, added: bool) -> AddrGuard {
        let g = AddrGuard {
            ns: ns.map(str::to_string),
            cidr: format!("{ip}/{prefix}"),
            dev: dev.to_string(),
            added,
        };
        run(g.cmd(added));
        g
    }

    fn cmd(&self, add: bool) -> Command {
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
struct Dnsmasq {
    _child: Reap,
    log: PathBuf,
    leases: PathBuf,
}

impl Dnsmasq {
    /// Start dnsmasq named `name` (for its files) with the common options and `extra`, and
    /// wait (at most 5 s) until it logs that DHCP is ready.
    fn start(e: &Env, name: &str, extra: &[String]) -> Dnsmasq {
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

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn lines(&self, pat: &str) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| l.contains(pat))
            .map(str::to_string)
            .collect()
    }

    fn wait_log(&self, pred: impl Fn(&str) -> bool, limit: Duration) -> bool {
        let end = WallInstant::now() + limit;
        while WallInstant::now() < end {
            if self.log().lines().any(&pred) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn leases(&self) -> String {
        std::fs::read_to_string(&self.leases).unwrap_or_default()
    }

    fn stop(self) {
        drop(self);
    }
}

/// A DHCP message as the sniffer on the lan veth saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Seen {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    dport: u16,
    msg: u8,
    ciaddr: Ipv4Addr,
    yiaddr: Ipv4Addr,
    sid: Option<Ipv4Addr>,
    req: Option<Ipv4Addr>,
    chaddr: String,
}

const DISCOVER: u8 = 1;
const OFFER: u8 = 2;
const REQUEST: u8 = 3;
const ACK: u8 = 5;
const NAK: u8 = 6;
const RELEASE: u8 = 7;

/// Reads every frame on the lan veth (ETH_P_ALL: both directions) and prints the DHCP ones;
/// it sends nothing.
const SNIFFER: &str = r#"
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

struct Sniffer {
    _child: Reap,
    rx: std::sync::mpsc::Receiver<String>,
    seen: Vec<Seen>,
}

impl Sniffer {
    fn start(e: &Env) -> Sniffer {
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
    fn wait(&mut self, pred: impl Fn(&[Seen]) -> bool) -> &[Seen] {
        let end = WallInstant::now() + Duration::from_secs(5);
        while !pred(self.seen()) && WallInstant::now() < end {
            std::thread::sleep(Duration::from_millis(20));
        }
        // Anything that was still on its way.
        std::thread::sleep(Duration::from_millis(100));
        self.seen()
    }

    /// Everything seen so far.
    fn seen(&mut self) -> &[Seen] {
        while let Ok(l) = self.rx.try_recv() {
            if let Some(s) = parse_seen(&l) {
                self.seen.push(s);
            }
        }
        &self.seen
    }

    /// Messages of type `msg` from our client (`chaddr` = `mac`).
    fn client_sent(&mut self, mac: [u8; 6], msg: u8) -> Vec<Seen> {
        let m = mac_str(&mac);
        self.seen()
            .iter()
            .filter(|s| s.chaddr == m && s.msg == msg && s.dport == 67)
            .cloned()
            .collect()
    }

    /// Messages of type `msg` to our client.
    fn server_sent(&mut self, mac: [u8; 6], msg: u8) -> Vec<Seen> {
        let m = mac_str(&mac);
        self.seen()
            .iter()
            .filter(|s| s.chaddr == m && s.msg == msg && s.dport == 68)
            .cloned()
            .collect()
    }
}

fn parse_seen(l: &str) -> Option<Seen> {
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

fn mac_str(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn mac(n: u8) -> [u8; 6] {
    [0x02, 0x08, 0xdc, 0x77, 0x00, n]
}

/// The driver on a wall-clock simulated chip (no address yet) whose network is the dut
/// namespace.
fn rig(e: &Env, mac: [u8; 6]) -> Rig<HostNet> {
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

type TestIface<'a> = Iface<&'a SimOs<HostNet>>;

fn iface<'a>(rig: &'a Rig<HostNet>, cfg: IfaceConfig) -> TestIface<'a> {
    Iface::new(Bsd::new(rig.bsd.os()), cfg)
}

fn cfg(mac: [u8; 6]) -> IfaceConfig {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(7);
    IfaceConfig::new(mac, seed).with_hostname_template("w5500-{}")
}

fn os<'a>(i: &TestIface<'a>) -> &'a SimOs<HostNet> {
    i.bsd().os()
}

/// SIPR, SUBR, GAR as the chip holds them.
fn chip_ipv4(rig: &Rig<HostNet>) -> (Ipv4Addr, Ipv4Addr, Ipv4Addr) {
    rig.bsd.os().with_stack(|s| s.chip().ipv4().unwrap())
}

/// The worker loop on the wall clock until `stop` says so for an event or `limit` passed;
/// returns the events with the (chip clock) ms they were seen at.
fn run_until(
    i: &mut TestIface<'_>,
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

fn kinds(ev: &[(u64, IfaceEvent)]) -> Vec<IfaceEvent> {
    ev.iter().map(|(_, e)| e.clone()).collect()
}

fn in_range(ip: Ipv4Addr) -> bool {
    (RANGE_LO..=RANGE_HI).contains(&ip)
}

/// Bring the interface up and wait (at most 30 s) for the lease; returns the events.
fn bound(i: &mut TestIface<'_>) -> Vec<(u64, IfaceEvent)> {
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
fn realpeer(name: &str, f: impl FnOnce(&Env)) {
    let Some(e) = env() else { return };
    let _g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let t0 = WallInstant::now();
    f(&e);
    eprintln!("{name}: {:.1} s wall", t0.elapsed().as_secs_f64());
}

/// RFC 2131 §3.1 / §4.3.1 / §4.4.1: DISCOVER, OFFER, REQUEST, ACK with dnsmasq; the address
/// from its range, the router and DNS server from its options, T1/T2 from options 58/59, SIPR,
/// SUBR, GAR programmed, the events in order, the host name in dnsmasq's lease file. Then
/// RFC 2131 §4.4.6: `down()` sends a DHCPRELEASE (unicast, ciaddr set) and dnsmasq frees the
/// lease; `up()` gets a new one from INIT.
#[test]
fn realpeer_dnsmasq_rfc2131_s3_1_lease_then_release() {
    realpeer("lease_then_release", |e| {
        let d = Dnsmasq::start(
            e,
            "lease",
            &[
                format!("--dhcp-option=option:router,{LAN_IP}"),
                format!("--dhcp-option=option:dns-server,{LAN_IP}"),
            ],
        );
        let mut sn = Sniffer::start(e);
        let m = mac(1);
        let rig = rig(e, m);
        let mut i = iface(&rig, cfg(m));
        assert_eq!(chip_ipv4(&rig).0, Ipv4Addr::UNSPECIFIED);
        let ev = kinds(&bound(&mut i));
        let l = i.lease().expect("lease");
        let ip = l.address;
        assert!(in_range(ip), "{ip}");
        let want = vec![
            IfaceEvent::LinkUp {
                speed_100: true,
                full_duplex: true,
            },
            IfaceEvent::AddressAdded {
                ip,
                mask: MASK,
                gw: Some(LAN_IP),
                from_dhcp: true,
            },
            IfaceEvent::DhcpBound,
            IfaceEvent::DnsServers([LAN_IP].into_iter().collect()),
        ];
        assert_eq!(ev, want);
        assert_eq!(chip_ipv4(&rig), (ip, MASK, LAN_IP));
        assert_eq!(l.server_id, Some(LAN_IP));
        assert_eq!(l.lease_secs, LEASE_S);
        assert_eq!((l.t1_secs, l.t2_secs), (T1_S, T2_S));
        assert_eq!(i.dhcp_state(), dhcp::State::Bound);
        // What dnsmasq saw and logged, and what went over the veth.
        let ms = mac_str(&m);
        for what in ["DHCPDISCOVER", "DHCPOFFER", "DHCPREQUEST", "DHCPACK"] {
            assert!(
                !d.lines(&format!("{what}({}) ", e.lan_if)).is_empty()
                    && d.lines(what).iter().any(|l| l.contains(&ms)),
                "{what} not in dnsmasq's log:\n{}",
                d.log()
            );
        }
        assert!(d
            .lines("DHCPACK")
            .iter()
            .any(|l| l.contains(&ip.to_string()) && l.contains("w5500-770001")));
        assert!(d.leases().contains(&ms) && d.leases().contains(&ip.to_string()));
        sn.wait(|s| s.iter().any(|x| x.msg == ACK));
        assert_eq!(sn.client_sent(m, DISCOVER).len(), 1);
        let req = sn.client_sent(m, REQUEST);
        assert_eq!(req.len(), 1, "{req:?}");
        assert_eq!(req[0].dst, Ipv4Addr::BROADCAST);
        assert_eq!((req[0].sid, req[0].req), (Some(LAN_IP), Some(ip)));
        assert_eq!(sn.server_sent(m, OFFER)[0].yiaddr, ip);
        assert_eq!(sn.server_sent(m, ACK)[0].yiaddr, ip);
        // RFC 2131 §4.4.6: RELEASE.
        i.down().unwrap();
        let k: Vec<_> = std::iter::from_fn(|| i.take_event()).collect();
        assert!(k.contains(&IfaceEvent::AddressRemoved { ip }), "{k:?}");
        assert_eq!(chip_ipv4(&rig).0, Ipv4Addr::UNSPECIFIED);
        assert!(
            d.wait_log(
                |l| l.contains("DHCPRELEASE") && l.contains(&ms),
                Duration::from_secs(3)
            ),
            "{}",
            d.log()
        );
        sn.wait(|s| s.iter().any(|x| x.msg == RELEASE));
        let rel = sn.client_sent(m, RELEASE);
        assert_eq!(rel.len(), 1, "{rel:?}");
        assert_eq!(
            (rel[0].dst, rel[0].ciaddr),
            (LAN_IP, ip),
            "unicast, ciaddr set"
        );
        assert!(!d.leases().contains(&ms), "lease freed: {}", d.leases());
        // `up()` again: released, so the client starts over from INIT (a second DISCOVER),
        // with the chip back at 0.0.0.0 until the new ACK.
        i.up().unwrap();
        let ev = run_until(&mut i, Duration::from_secs(30), |e| {
            *e == IfaceEvent::DhcpBound
        });
        assert!(kinds(&ev).contains(&IfaceEvent::DhcpBound), "{ev:?}");
        let again = i.lease().unwrap().address;
        assert!(in_range(again), "{again}");
        assert_eq!(chip_ipv4(&rig), (again, MASK, LAN_IP));
        sn.wait(|s| s.iter().filter(|x| x.msg == ACK).count() >= 2);
        assert_eq!(sn.client_sent(m, DISCOVER).len(), 2);
        d.stop();
    });
}

/// RFC 2131 §4.4.5: at T1 (5 s, option 58) the client renews by unicast to the server that
/// gave the lease (ciaddr set, no server id, no requested address); dnsmasq ACKs it and the
/// address stays (DhcpRenewed, no address churn).
#[test]
fn realpeer_dnsmasq_rfc2131_s4_4_5_renewal_at_t1_by_unicast() {
    realpeer("renewal_at_t1", |e| {
        let d = Dnsmasq::start(
            e,
            "renew",
            &[format!("--dhcp-option=option:router,{LAN_IP}")],
        );
        let mut sn = Sniffer::start(e);
        let m = mac(2);
        let rig = rig(e, m);
        let mut i = iface(&rig, cfg(m));
        let ev = bound(&mut i);
        let t_bound = ev
            .iter()
            .find(|(_, e)| *e == IfaceEvent::DhcpBound)
            .unwrap()
            .0;
        let ip = i.lease().unwrap().address;
        let _own = AddrGuard::add(None, ip, 32, &e.dut_if);
        let ev = run_until(&mut i, Duration::from_secs(u64::from(T1_S) + 5), |e| {
            *e == IfaceEvent::DhcpRenewed
        });
        let (t_renew, _) = ev
            .iter()
            .find(|(_, e)| *e == IfaceEvent::DhcpRenewed)
            .unwrap_or_else(|| panic!("not renewed: {ev:?}\n{}", d.log()));
        let dt = t_renew - t_bound;
        assert!(
            (u64::from(T1_S) * 1000 - 1_000..u64::from(T1_S) * 1000 + 2_000).contains(&dt),
            "renewed {dt} ms after binding"
        );
        assert!(!ev
            .iter()
            .any(|(_, e)| matches!(e, IfaceEvent::AddressRemoved { .. })));
        sn.wait(|s| s.iter().filter(|x| x.msg == ACK).count() >= 2);
        let req = sn.client_sent(m, REQUEST);
        assert_eq!(req.len(), 2, "{req:?}");
        let renew = &req[1];
        assert_eq!(renew.dst, LAN_IP, "RENEWING is unicast to the server");
        assert_eq!(renew.ciaddr, ip);
        assert_eq!((renew.sid, renew.req), (None, None));
        let acks = sn.server_sent(m, ACK);
        assert_eq!(acks.len(), 2, "{acks:?}");
        assert_eq!(
            (acks[1].dst, acks[1].yiaddr),
            (ip, ip),
            "ACK unicast to ciaddr"
        );
        // dnsmasq's log: a second DHCPREQUEST and DHCPACK for the same address and MAC.
        let ms = mac_str(&m);
        let mine = |what: &str| {
            d.lines(what)
                .iter()
                .filter(|l| l.contains(&ms) && l.contains(&format!(" {ip} ")))
                .count()
        };
        assert_eq!(mine("DHCPREQUEST"), 2, "{}", d.log());
        assert_eq!(mine("DHCPACK"), 2, "{}", d.log());
        assert_eq!(i.lease().unwrap().address, ip);
        assert_eq!(chip_ipv4(&rig).0, ip);
        assert_eq!(i.dhcp_state(), dhcp::State::Bound);
        d.stop();
    });
}

/// RFC 2131 §4.4.5: the server that gave the lease stops; the unicast renewal at T1 gets no
/// answer; at T2 (10 s, option 59) the client broadcasts its REQUEST (REBINDING: ciaddr set,
/// no server id) and a second, authoritative dnsmasq with another server identity (10.77.0.3)
/// ACKs it: DhcpRebound, same address, the lease now from the second server.
#[test]
fn realpeer_dnsmasq_rfc2131_s4_4_5_rebind_at_t2_with_a_second_server() {
    realpeer("rebind_at_t2", |e| {
        let d1 = Dnsmasq::start(
            e,
            "rebind1",
            &[format!("--dhcp-option=option:router,{LAN_IP}")],
        );
        let mut sn = Sniffer::start(e);
        let m = mac(3);
        let rig = rig(e, m);
        let mut i = iface(&rig, cfg(m));
        let ev = bound(&mut i);
        let t_bound = ev
            .iter()
            .find(|(_, e)| *e == IfaceEvent::DhcpBound)
            .unwrap()
            .0;
        let ip = i.lease().unwrap().address;
        assert_eq!(i.lease().unwrap().server_id, Some(LAN_IP));
        let _own = AddrGuard::add(None, ip, 32, &e.dut_if);
        // The first server leaves the network, address and all (so the renewal unicast to
        // it goes unanswered); the second one has only 10.77.0.3 on the lan veth, which
        // dnsmasq uses as its server identifier.
        d1.stop();
        let _first_gone = AddrGuard::remove(Some(&e.lan_ns), LAN_IP, 24, &e.lan_if);
        let _second = AddrGuard::add(Some(&e.lan_ns), SECOND_IP, 24, &e.lan_if);
        let d2 = Dnsmasq::start(
            e,
            "rebind2",
            &[
                "--dhcp-authoritative".to_string(),
                format!("--dhcp-option=option:router,{LAN_IP}"),
            ],
        );
        let ev = run_until(&mut i, Duration::from_secs(u64::from(T2_S) + 5), |e| {
            *e == IfaceEvent::DhcpRebound
        });
        let (t_rebound, _) = ev
            .iter()
            .find(|(_, e)| *e == IfaceEvent::DhcpRebound)
            .unwrap_or_else(|| panic!("not rebound: {ev:?}\n{}", d2.log()));
        let dt = t_rebound - t_bound;
        assert!(
            (u64::from(T2_S) * 1000 - 1_000..u64::from(T2_S) * 1000 + 2_000).contains(&dt),
            "rebound {dt} ms after binding"
        );
        let k = kinds(&ev);
        assert!(
            !k.iter()
                .any(|e| matches!(e, IfaceEvent::AddressRemoved { .. } | IfaceEvent::DhcpLost)),
            "{k:?}"
        );
        sn.wait(|s| s.iter().any(|x| x.msg == ACK && x.sid == Some(SECOND_IP)));
        let req = sn.client_sent(m, REQUEST);
        // SELECTING, then RENEWING (unicast to the stopped server, unanswered), then REBINDING.
        assert!(req.len() >= 3, "{req:?}");
        assert!(req[1..]
            .iter()
            .any(|r| r.dst == LAN_IP && r.ciaddr == ip && r.sid.is_none()));
        let rebind = req.last().unwrap();
        assert_eq!(rebind.dst, Ipv4Addr::BROADCAST, "REBINDING is broadcast");
        assert_eq!((rebind.ciaddr, rebind.sid, rebind.req), (ip, None, None));
        let ms = mac_str(&m);
        assert!(
            d2.lines("DHCPACK")
                .iter()
                .any(|l| l.contains(&ms) && l.contains(&format!(" {ip} "))),
            "{}",
            d2.log()
        );
        let acks = sn.server_sent(m, ACK);
        let last = acks.last().unwrap();
        assert_eq!((last.yiaddr, last.sid), (ip, Some(SECOND_IP)), "{acks:?}");
        let l = i.lease().unwrap();
        assert_eq!((l.address, l.server_id), (ip, Some(SECOND_IP)));
        assert_eq!(chip_ipv4(&rig).0, ip);
        d2.stop();
    });
}

/// RFC 2131 §3.2 / §4.3.2: INIT-REBOOT for a remembered address outside dnsmasq's range
/// (10.77.0.200) gets a DHCPNAK from the authoritative dnsmasq; the client restarts from INIT
/// (DISCOVER) and gets a fresh lease in the range; 10.77.0.200 is never configured.
#[test]
fn realpeer_dnsmasq_rfc2131_s3_2_nak_then_fresh_lease() {
    realpeer("nak_then_fresh_lease", |e| {
        let d = Dnsmasq::start(
            e,
            "nak",
            &[
                "--dhcp-authoritative".to_string(),
                format!("--dhcp-option=option:router,{LAN_IP}"),
            ],
        );
        let mut sn = Sniffer::start(e);
        let m = mac(4);
        let old = Ipv4Addr::new(10, 77, 0, 200);
        let rig = rig(e, m);
        let mut c = cfg(m);
        c.requested_ip = Some(old);
        let mut i = iface(&rig, c);
        let ev = kinds(&bound(&mut i));
        let ip = i.lease().unwrap().address;
        assert!(in_range(ip), "{ip}");
        assert!(
            !ev.iter()
                .any(|e| matches!(e, IfaceEvent::AddressAdded { ip, .. } if *ip == old)),
            "{ev:?}"
        );
        sn.wait(|s| s.iter().any(|x| x.msg == ACK));
        let req = sn.client_sent(m, REQUEST);
        assert!(req.len() >= 2, "{req:?}");
        // INIT-REBOOT: broadcast, requested address, no server id, no ciaddr.
        assert_eq!(req[0].dst, Ipv4Addr::BROADCAST);
        assert_eq!(
            (req[0].req, req[0].sid, req[0].ciaddr),
            (Some(old), None, Ipv4Addr::UNSPECIFIED)
        );
        let naks = sn.server_sent(m, NAK);
        assert_eq!(naks.len(), 1, "{naks:?}");
        let ms = mac_str(&m);
        assert!(
            d.lines("DHCPNAK")
                .iter()
                .any(|l| l.contains(&ms) && l.contains(&old.to_string())),
            "{}",
            d.log()
        );
        assert_eq!(sn.client_sent(m, DISCOVER).len(), 1);
        let last = req.last().unwrap();
        assert_eq!((last.req, last.sid), (Some(ip), Some(LAN_IP)));
        assert_eq!(chip_ipv4(&rig).0, ip);
        d.stop();
    });
}

fn addrs(l: &AddrInfoList) -> Vec<Ipv4Addr> {
    let mut v: Vec<Ipv4Addr> = l.entries.iter().map(|a| *a.addr.ip()).collect();
    v.dedup();
    v
}

/// RFC 1034 §3.6.2 / RFC 1035 §4.1.1: names from dnsmasq through the DNS server the lease
/// named: a `--host-record` name, a name under an `--address` domain, a CNAME (`--cname`)
/// followed to its target (AI_CANONNAME gives the target), and NXDOMAIN for an unknown name
/// under `--local=/test/` (EAI_NONAME; `resolve` reports NoSuchName).
#[test]
fn realpeer_dnsmasq_rfc1035_names_cname_and_nxdomain() {
    realpeer("names_cname_nxdomain", |e| {
        let d = Dnsmasq::start(
            e,
            "dns",
            &[
                format!("--dhcp-option=option:router,{LAN_IP}"),
                format!("--dhcp-option=option:dns-server,{LAN_IP}"),
                "--host-record=w5k-host.test,10.77.0.42".to_string(),
                "--address=/example.test/10.77.0.1".to_string(),
                "--host-record=target.test,10.77.0.43".to_string(),
                "--cname=alias.test,target.test".to_string(),
            ],
        );
        let m = mac(5);
        let rig = rig(e, m);
        let mut i = iface(&rig, cfg(m));
        bound(&mut i);
        assert_eq!(i.dns_servers().as_slice(), &[LAN_IP]);
        let l = i
            .getaddrinfo(Some("w5k-host.test"), Some("80"), &Hints::default())
            .unwrap();
        assert_eq!(addrs(&l), vec![Ipv4Addr::new(10, 77, 0, 42)]);
        assert!(l.entries.iter().all(|a| a.addr.port() == 80));
        let l = i
            .getaddrinfo(Some("foo.example.test"), None, &Hints::default())
            .unwrap();
        assert_eq!(addrs(&l), vec![LAN_IP]);
        let hints = Hints {
            flags: flags::AI_CANONNAME,
            ..Hints::default()
        };
        let l = i.getaddrinfo(Some("alias.test"), None, &hints).unwrap();
        assert_eq!(addrs(&l), vec![Ipv4Addr::new(10, 77, 0, 43)]);
        assert_eq!(l.canonical.unwrap().to_string(), "target.test");
        let r = i.getaddrinfo(Some("nosuch.test"), None, &Hints::default());
        assert_eq!(r.unwrap_err(), GaiError::NoName);
        assert_eq!(
            i.resolve("other-nosuch.test").unwrap_err(),
            DnsError::NoSuchName
        );
        // dnsmasq answered each of them (and not from elsewhere).
        for name in [
            "w5k-host.test",
            "foo.example.test",
            "alias.test",
            "nosuch.test",
            "other-nosuch.test",
        ] {
            assert!(
                d.lines(&format!("query[A] {name} from")).len() == 1,
                "{name}:\n{}",
                d.log()
            );
        }
        assert!(d.lines("nosuch.test is NXDOMAIN").len() >= 2, "{}", d.log());
        assert!(!d.lines("alias.test is <CNAME>").is_empty(), "{}", d.log());
        d.stop();
    });
}
