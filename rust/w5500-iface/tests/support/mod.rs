//! Shared rig: the simulated chip on the standard LAN, an [`Iface`] over it, and loops that
//! run the interface on the simulated clock.
//!
//! [`realpeer`]: the set-up of the tests against real peers in network namespaces.
#![allow(dead_code)]

pub mod realpeer;

use std::net::Ipv4Addr;

use w5500_driver::bsd::{Bsd, Os};
use w5500_driver::chip::Config;
use w5500_driver::stack::StackConfig;
use w5500_iface::{Iface, IfaceConfig, IfaceEvent};
use w5500_sim::lan::dhcp::{DhcpServer, LogDir};
use w5500_sim::lan::{standard, HostId, Lan};
use w5500_sim::net::Network;
use w5500_sim::sim::Sim;
use w5500_testkit::{Rig, RigConfig, SimOs};

pub const MAC: [u8; 6] = [0x02, 0x08, 0xdc, 0x12, 0x34, 0x56];

/// The interface on the simulated chip of a [`Rig`] (on the in-memory LAN unless said
/// otherwise).
pub type TestIface<'a, N = Lan> = Iface<&'a SimOs<N>>;

/// The chip on `lan` with no address (DHCP will give one).
pub fn rig_on(lan: Lan, reserved: u8) -> Rig<Lan> {
    let cfg = RigConfig {
        chip: Config::new(MAC),
        stack: StackConfig {
            reserved_for_services: reserved,
            ..StackConfig::default()
        },
        int_pin: true,
        poll_ms: 50,
    };
    Rig::new(Sim::new(lan), cfg).unwrap()
}

pub fn rig(reserved: u8) -> Rig<Lan> {
    rig_on(Lan::standard(), reserved)
}

pub fn iface<'a, N: Network + Send>(rig: &'a Rig<N>, cfg: IfaceConfig) -> TestIface<'a, N> {
    Iface::new(Bsd::new(rig.bsd.os()), cfg)
}

pub fn cfg() -> IfaceConfig {
    IfaceConfig::new(MAC, 0x1234_5678).with_hostname_template("w5500-{}")
}

pub fn os<'a, N: Network + Send>(i: &TestIface<'a, N>) -> &'a SimOs<N> {
    i.bsd().os()
}

pub fn now(i: &TestIface<'_>) -> u64 {
    os(i).now_ms()
}

/// Run the worker loop until `stop` says so for an event or `limit_ms` of simulated time
/// passed; returns the events with the time they were seen.
pub fn run_until(
    i: &mut TestIface<'_>,
    limit_ms: u64,
    mut stop: impl FnMut(&IfaceEvent) -> bool,
) -> Vec<(u64, IfaceEvent)> {
    let os = os(i);
    let end = os.now_ms() + limit_ms;
    let mut out = Vec::new();
    for _ in 0..5_000_000 {
        let now = os.now_ms();
        let next = i.poll(now);
        let mut done = false;
        while let Some(e) = i.take_event() {
            done |= stop(&e);
            out.push((now, e));
        }
        if done || now >= end {
            return out;
        }
        let seen = os.epoch();
        let until = next.unwrap_or(end).min(end).max(now + 1);
        os.wait(None, seen, until);
    }
    panic!("run_until did not finish");
}

pub fn run_for(i: &mut TestIface<'_>, ms: u64) -> Vec<(u64, IfaceEvent)> {
    run_until(i, ms, |_| false)
}

/// Bring the interface up and wait for the lease.
pub fn bound(i: &mut TestIface<'_>) -> Vec<(u64, IfaceEvent)> {
    i.up().unwrap();
    let ev = run_until(i, 60_000, |e| *e == IfaceEvent::DhcpBound);
    assert!(
        ev.iter().any(|(_, e)| *e == IfaceEvent::DhcpBound),
        "no lease: {ev:?}"
    );
    // Let the DnsServers event that follows come out too.
    let mut more = run_for(i, 10);
    let mut ev = ev;
    ev.append(&mut more);
    ev
}

pub fn kinds(ev: &[(u64, IfaceEvent)]) -> Vec<IfaceEvent> {
    ev.iter().map(|(_, e)| e.clone()).collect()
}

pub fn gw(rig: &Rig<Lan>) -> HostId {
    rig.with_sim(|s| s.network().host_by_ip(standard::GATEWAY).unwrap())
}

pub fn with_dhcp<R>(rig: &Rig<Lan>, host: HostId, f: impl FnOnce(&mut DhcpServer) -> R) -> R {
    rig.with_sim(|s| f(s.network_mut().udp_app_mut::<DhcpServer>(host, 67).unwrap()))
}

/// Messages of `msg_type` the server at `host` received.
pub fn dhcp_received(
    rig: &Rig<Lan>,
    host: HostId,
    msg_type: u8,
) -> Vec<w5500_sim::lan::dhcp::DhcpLogEntry> {
    with_dhcp(rig, host, |d| {
        d.logged(LogDir::Received, msg_type)
            .into_iter()
            .cloned()
            .collect()
    })
}

/// SIPR, SUBR, GAR as the chip holds them.
pub fn chip_ipv4<N: Network + Send>(rig: &Rig<N>) -> (Ipv4Addr, Ipv4Addr, Ipv4Addr) {
    rig.bsd.os().with_stack(|s| s.chip().ipv4().unwrap())
}

/// Shorter lease times on the gateway's server, so renewals come sooner.
pub fn short_lease(rig: &Rig<Lan>, host: HostId) {
    with_dhcp(rig, host, |d| {
        d.config.lease_secs = 120;
        d.config.t1_secs = Some(60);
        d.config.t2_secs = Some(105);
    });
}
