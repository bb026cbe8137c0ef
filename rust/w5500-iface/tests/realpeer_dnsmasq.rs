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

mod support;

use std::net::Ipv4Addr;
use std::time::Duration;

use support::realpeer::*;
use support::{chip_ipv4, iface, kinds};
use w5500_iface::dns::{gai::flags, DnsError};
use w5500_iface::{dhcp, AddrInfoList, GaiError, Hints, IfaceEvent};

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
