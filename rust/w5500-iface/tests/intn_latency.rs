//! With INTn wired (DS §3.1, §4.2 Sn_IR/Sn_IMR), nothing the interface does waits for the
//! safety poll: the DNS lookup loop, every DHCP phase and `down()` move on the event that
//! completes their step. Each workload runs on fresh rigs with a 50 ms and a 10 s safety
//! poll. Steps shorter than the short poll must take exactly the same simulated time and SPI
//! transactions with both; longer ones (the address probe's ARP timeout, the DHCP timers) may
//! differ only by the SPI time of the safety polls themselves (well under a millisecond),
//! where a wait for the poll would cost 50 ms against 10 s. The figures of the 50 ms runs
//! are asserted exactly (the simulator is deterministic); they move only when the SPI
//! sequence changes, which is then looked at and the figure updated in the same commit.

mod support;

use support::*;
use w5500_driver::bsd::Os;
use w5500_driver::chip::Config;
use w5500_driver::stack::StackConfig;
use w5500_iface::dns::SockType as GaiSockType;
use w5500_iface::{Hints, IfaceEvent, Ipv4Config};
#[cfg(feature = "dhcp-probe")]
use w5500_sim::lan::dhcp::DhcpServer;
use w5500_sim::lan::dhcp::{msg, LogDir, RequestKind};
#[cfg(feature = "dns-tcp")]
use w5500_sim::lan::dns::{install, DnsFault};
use w5500_sim::lan::{standard, Lan};
use w5500_sim::sim::Sim;
use w5500_testkit::{Rig, RigConfig};

const SHORT_POLL_MS: u64 = 50;
const LONG_POLL_MS: u64 = 10_000;

/// (simulated µs, SPI transactions) of one measured step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cost {
    us: u64,
    txns: u64,
}

fn rig_polling(poll_ms: u64) -> Rig<Lan> {
    let cfg = RigConfig {
        chip: Config::new(MAC),
        stack: StackConfig::default(),
        int_pin: true,
        poll_ms,
    };
    Rig::new(Sim::new(Lan::standard()), cfg).unwrap()
}

fn us(rig: &Rig<Lan>) -> u64 {
    rig.with_sim(|s| s.now().as_micros())
}

fn start(rig: &Rig<Lan>) -> u64 {
    rig.with_sim(|s| {
        s.reset_stats();
        s.now().as_micros()
    })
}

fn stop(rig: &Rig<Lan>, t0: u64) -> Cost {
    rig.with_sim(|s| Cost {
        us: s.now().as_micros() - t0,
        txns: s.stats().transactions,
    })
}

fn assert_no_violations(rig: &Rig<Lan>) {
    let v = rig.with_sim(|s| s.violations().to_vec());
    assert!(v.is_empty(), "simulator recorded violations: {v:?}");
}

/// The static configuration of the benchmark's DNS workload: SIPR set at `up()`, DHCP off,
/// the gateway's DNS server.
fn static_cfg() -> w5500_iface::IfaceConfig {
    cfg()
        .with_static(
            Ipv4Config {
                ip: standard::CHIP_STATIC,
                netmask: standard::NETMASK,
                gateway: Some(standard::GATEWAY),
            },
            true,
        )
        .with_dns_servers(&[standard::GATEWAY])
}

/// The worker loop (as the OS layer runs it: `poll`, drain events, wait for INTn or the
/// time `poll` asked for) until `stop` says so; returns the events with the simulated µs at
/// which the worker saw them.
fn worker_until(
    rig: &Rig<Lan>,
    i: &mut TestIface<'_>,
    limit_ms: u64,
    mut stop: impl FnMut(&IfaceEvent) -> bool,
) -> Vec<(u64, IfaceEvent)> {
    let os = rig.bsd.os();
    let end = os.now_ms() + limit_ms;
    let mut out = Vec::new();
    for _ in 0..5_000_000 {
        let now = os.now_ms();
        let next = i.poll(now);
        let mut done = false;
        while let Some(e) = i.take_event() {
            done |= stop(&e);
            out.push((us(rig), e));
        }
        if done || now >= end {
            return out;
        }
        let seen = os.epoch();
        let until = next.unwrap_or(end).min(end).max(now + 1);
        os.wait(None, seen, until);
    }
    panic!("worker loop did not finish");
}

fn event_at(ev: &[(u64, IfaceEvent)], want: &IfaceEvent) -> u64 {
    ev.iter()
        .find(|(_, e)| e == want)
        .unwrap_or_else(|| panic!("no {want:?} in {ev:?}"))
        .0
}

/// Both poll periods must give exactly `Cost`; returns it.
fn exact_with_any_poll(work: impl Fn(&Rig<Lan>) -> Cost) -> Cost {
    let run = |poll| {
        let rig = rig_polling(poll);
        let c = work(&rig);
        assert_no_violations(&rig);
        c
    };
    let (short, long) = (run(SHORT_POLL_MS), run(LONG_POLL_MS));
    assert_eq!(
        short, long,
        "the step depends on the safety poll period ({SHORT_POLL_MS} ms vs {LONG_POLL_MS} ms)"
    );
    assert!(short.us < SHORT_POLL_MS * 1000, "{short:?}");
    short
}

/// Both poll periods must give the same µs figures, within the SPI time of the safety
/// polls (1 ms); returns those of the short poll.
fn close_with_any_poll<const N: usize>(work: impl Fn(&Rig<Lan>) -> [u64; N]) -> [u64; N] {
    let run = |poll| {
        let rig = rig_polling(poll);
        let c = work(&rig);
        assert_no_violations(&rig);
        c
    };
    let (short, long) = (run(SHORT_POLL_MS), run(LONG_POLL_MS));
    for (a, b) in short.iter().zip(long.iter()) {
        assert!(
            a.abs_diff(*b) < 1_000,
            "a step depends on the safety poll period: {short:?} (50 ms) vs {long:?} (10 s)"
        );
    }
    short
}

/// RFC 1035 §4.2.1 over the chip's UDP socket: the reply's RECV ends the lookup's wait and
/// the next look at the socket finds it (the regression of 15b4d22: the loop looked before
/// servicing the chip, then waited for the poll period, 49.8 ms instead of 0.2 ms).
#[test]
fn rfc1035_udp_lookup_ends_on_the_reply() {
    let c = exact_with_any_poll(|rig| {
        let mut i = iface(rig, static_cfg());
        i.up().unwrap();
        let t0 = start(rig);
        let a = i.resolve("http.sim.lan").unwrap();
        assert_eq!(a.addrs.as_slice(), &[standard::HTTP]);
        stop(rig, t0)
    });
    // Open, SEND, one look at the socket before the reply, INTn, Sn_IR and its clear, the
    // datagram (RSR, header, payload, RX_RD, RECV), CLOSE.
    assert_eq!(c, Cost { us: 215, txns: 23 });
}

/// `getaddrinfo` (the Zephyr offload's path) costs the same as the bare lookup plus nothing
/// that waits.
#[test]
fn rfc1035_getaddrinfo_ends_on_the_reply() {
    let c = exact_with_any_poll(|rig| {
        let mut i = iface(rig, static_cfg());
        i.up().unwrap();
        let hints = Hints {
            socktype: GaiSockType::Stream,
            ..Hints::default()
        };
        let t0 = start(rig);
        let l = i
            .getaddrinfo(Some("http.sim.lan"), Some("80"), &hints)
            .unwrap();
        assert_eq!(*l.entries[0].addr.ip(), standard::HTTP);
        stop(rig, t0)
    });
    assert_eq!(c, Cost { us: 215, txns: 23 });
}

/// RFC 7766 §5: a truncated UDP reply, then the TCP try (connect, send, the length-prefixed
/// reply, RFC 1035 §4.2.2): each step ends on its event (CON, RECV, SEND_OK).
// Needs DNS over TCP: feature `dns-tcp`.
#[cfg(feature = "dns-tcp")]
#[test]
fn rfc7766_tcp_retry_steps_end_on_their_events() {
    let c = exact_with_any_poll(|rig| {
        rig.with_sim(|s| {
            let lan = s.network_mut();
            let h = lan.host_by_ip(standard::GATEWAY).unwrap();
            install(lan, h, Lan::standard_zone(), DnsFault::TruncateUdp);
        });
        let mut i = iface(rig, static_cfg());
        i.up().unwrap();
        let t0 = start(rig);
        let a = i.resolve("peer.sim.lan").unwrap();
        assert_eq!(a.addrs.as_slice(), &[standard::PEER]);
        stop(rig, t0)
    });
    assert_eq!(c, Cost { us: 495, txns: 50 });
}

/// RFC 2131 §4.4.1 / §3.1: from `up()` to the lease: the link poll (the chip has no link
/// interrupt: PHYCFGR every LINK_POLL_MS), DISCOVER/OFFER, REQUEST/ACK, the address probe's
/// ARP timeout. Every reply is acted on when it arrives: OFFER → REQUEST and the probe's
/// TIMEOUT → bound take no poll period.
// Needs the address-conflict probe (its ARP steps are in the timeline): feature `dhcp-probe`.
#[cfg(feature = "dhcp-probe")]
#[test]
fn rfc2131_lease_steps_end_on_their_events() {
    let [offer_to_request, ack_to_bound, total] = close_with_any_poll(|rig| {
        let g = gw(rig);
        let mut i = iface(rig, cfg());
        let t0 = us(rig);
        i.up().unwrap();
        let ev = worker_until(rig, &mut i, 60_000, |e| *e == IfaceEvent::DhcpBound);
        let bound = event_at(&ev, &IfaceEvent::DhcpBound);
        let offer = with_dhcp(rig, g, |d| d.logged(LogDir::Sent, msg::OFFER)[0].at);
        let request = dhcp_received(rig, g, msg::REQUEST)[0].at;
        let ack = with_dhcp(rig, g, |d| d.logged(LogDir::Sent, msg::ACK)[0].at);
        [
            request.as_micros() - offer.as_micros(),
            bound - ack.as_micros(),
            bound - t0,
        ]
    });
    // OFFER -> REQUEST: the client's turn-around (no wait). ACK -> bound: the probe's
    // three ARP requests 200 ms apart and its TIMEOUT (PROBE_RTR/PROBE_RCR), then at once.
    assert_eq!(
        [offer_to_request, ack_to_bound, total],
        [382, 600_267, 600_863]
    );
}

/// RFC 2131 §4.4.5: the renewal at T1 (unicast REQUEST, ACK): the ACK is acted on when it
/// arrives.
#[test]
fn rfc2131_renewal_ends_on_the_ack() {
    let [ack_to_renewed] = close_with_any_poll(|rig| {
        let g = gw(rig);
        short_lease(rig, g);
        let mut i = iface(rig, cfg());
        i.up().unwrap();
        worker_until(rig, &mut i, 60_000, |e| *e == IfaceEvent::DhcpBound);
        let ev = worker_until(rig, &mut i, 70_000, |e| *e == IfaceEvent::DhcpRenewed);
        let renewed = event_at(&ev, &IfaceEvent::DhcpRenewed);
        let ack = with_dhcp(rig, g, |d| d.logged(LogDir::Sent, msg::ACK)[1].at);
        [renewed - ack.as_micros()]
    });
    assert_eq!(ack_to_renewed, 208);
}

/// RFC 2131 §3.2: after the cable comes back, INIT-REBOOT's ACK is acted on when it arrives.
#[test]
fn rfc2131_init_reboot_ends_on_the_ack() {
    let [request_after_link, ack_to_renewed] = close_with_any_poll(|rig| {
        let g = gw(rig);
        let mut i = iface(rig, cfg());
        i.up().unwrap();
        worker_until(rig, &mut i, 60_000, |e| *e == IfaceEvent::DhcpBound);
        rig.with_sim(|s| s.faults_mut().link_down = true);
        worker_until(rig, &mut i, 2_000, |e| *e == IfaceEvent::LinkDown);
        rig.with_sim(|s| s.faults_mut().link_down = false);
        let ev = worker_until(rig, &mut i, 30_000, |e| *e == IfaceEvent::DhcpRenewed);
        let link = ev
            .iter()
            .find(|(_, e)| matches!(e, IfaceEvent::LinkUp { .. }))
            .unwrap()
            .0;
        let renewed = event_at(&ev, &IfaceEvent::DhcpRenewed);
        let reboot = dhcp_received(rig, g, msg::REQUEST)
            .into_iter()
            .find(|r| r.kind == Some(RequestKind::InitReboot))
            .unwrap()
            .at;
        let ack = with_dhcp(rig, g, |d| {
            d.logged(LogDir::Sent, msg::ACK).last().unwrap().at
        });
        [reboot.as_micros() - link, renewed - ack.as_micros()]
    });
    assert_eq!([request_after_link, ack_to_renewed], [54, 208]);
}

/// RFC 2131 §4.4.6: `down()` sends DHCPRELEASE and waits (bounded) until it left the chip:
/// SEND_OK ends that wait.
// Needs the address-conflict probe (its ARP steps are in the timeline): feature `dhcp-probe`.
#[cfg(feature = "dhcp-probe")]
#[test]
fn rfc2131_release_on_down_ends_on_send_ok() {
    let c = exact_with_any_poll(|rig| {
        let g = gw(rig);
        let mut i = iface(rig, cfg());
        i.up().unwrap();
        worker_until(rig, &mut i, 60_000, |e| *e == IfaceEvent::DhcpBound);
        let t0 = start(rig);
        i.down().unwrap();
        let c = stop(rig, t0);
        assert_eq!(dhcp_received(rig, g, msg::RELEASE).len(), 1);
        c
    });
    assert_eq!(c, Cost { us: 926, txns: 22 });
}

/// `down()` with a TCP connection open: FIN, then the wait for the FIN exchange ends on
/// DISCON (the peer's FIN), not at a poll.
#[test]
fn rfc793_s3_5_down_linger_ends_on_discon() {
    let c = exact_with_any_poll(|rig| {
        let mut i = iface(rig, static_cfg());
        i.up().unwrap();
        let s = rig
            .bsd
            .socket(w5500_driver::stack::SockType::Stream)
            .unwrap();
        rig.bsd
            .connect(s, std::net::SocketAddrV4::new(standard::ECHO, 7))
            .unwrap();
        let t0 = start(rig);
        i.down().unwrap();
        stop(rig, t0)
    });
    assert_eq!(c, Cost { us: 632, txns: 16 });
}

/// RFC 2131 §4.4.1: the probe is answered (the address is taken): SEND_OK ends the probe,
/// DECLINE goes out, and the next lease is taken; no step waits for the poll.
// Needs the address-conflict probe (its ARP steps are in the timeline): feature `dhcp-probe`.
#[cfg(feature = "dhcp-probe")]
#[test]
fn rfc2131_declined_probe_ends_on_send_ok() {
    let run = |poll| {
        let mut lan = Lan::standard();
        lan.add_simple_host("squatter", standard::POOL_START);
        let rig = Rig::new(
            Sim::new(lan),
            RigConfig {
                chip: Config::new(MAC),
                stack: StackConfig::default(),
                int_pin: true,
                poll_ms: poll,
            },
        )
        .unwrap();
        let g = gw(&rig);
        let mut i = iface(&rig, cfg());
        i.up().unwrap();
        let ev = worker_until(&rig, &mut i, 60_000, |e| *e == IfaceEvent::DhcpBound);
        let declined = event_at(&ev, &IfaceEvent::DhcpDeclined(standard::POOL_START));
        let ack = with_dhcp(&rig, g, |d: &mut DhcpServer| {
            d.logged(LogDir::Sent, msg::ACK)[0].at
        });
        let decline = dhcp_received(&rig, g, msg::DECLINE)[0].at;
        assert_no_violations(&rig);
        [
            declined - ack.as_micros(),
            decline.as_micros() - ack.as_micros(),
        ]
    };
    let (short, long) = (run(SHORT_POLL_MS), run(LONG_POLL_MS));
    for (a, b) in short.iter().zip(long.iter()) {
        assert!(a.abs_diff(*b) < 1_000, "{short:?} vs {long:?}");
    }
    // The squatter answers the first ARP request: SEND_OK, DECLINE, all within 0.6 ms.
    assert_eq!(short, [479, 519]);
}

/// `down()` after the peer closed first (CLOSE_WAIT): our FIN, then LAST_ACK, which the
/// chip leaves without an interrupt when the ACK comes: the linger loop looks again after
/// 1, 2, 4 … ms rather than at the safety poll.
#[test]
fn rfc793_s3_5_down_after_the_peers_fin_ends_soon_after_last_ack() {
    let c = exact_with_any_poll(|rig| {
        let mut i = iface(rig, static_cfg());
        i.up().unwrap();
        let s = rig
            .bsd
            .socket(w5500_driver::stack::SockType::Stream)
            .unwrap();
        rig.bsd
            .connect(s, std::net::SocketAddrV4::new(standard::HTTP, 80))
            .unwrap();
        let req = b"GET / HTTP/1.1\r\nHost: http.sim.lan\r\nConnection: close\r\n\r\n";
        rig.bsd.send(s, req, None, Default::default()).unwrap();
        let mut buf = [0u8; 512];
        // Read until EOF: the server closed its side.
        for _ in 0..100 {
            let (n, _) = rig.bsd.recv(s, &mut buf, Default::default()).unwrap();
            if n == 0 {
                break;
            }
        }
        let t0 = start(rig);
        i.down().unwrap();
        stop(rig, t0)
    });
    assert_eq!(c, Cost { us: 1446, txns: 16 });
}
