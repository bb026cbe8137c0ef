//! Soak on the simulated clock: 1,000 DHCP renewals (RFC 2131 §4.4.5) through the chip, with
//! DNS lookups in between; afterwards the client is BOUND, the resolver idle, every hardware
//! socket free and the chip's sockets CLOSED.

mod support;

use std::time::Instant as Wall;

use support::*;
use w5500_driver::bsd::Os;
use w5500_iface::{dhcp, Hints, IfaceEvent};
use w5500_sim::lan::dhcp::msg;
use w5500_sim::lan::standard;

const RENEWALS: usize = 1_000;

#[test]
fn rfc2131_s4_4_5_soak_1000_renewals_leave_nothing_behind() {
    let rig = rig(0);
    let g = gw(&rig);
    with_dhcp(&rig, g, |d| {
        d.config.lease_secs = 60;
        d.config.t1_secs = Some(30);
        d.config.t2_secs = Some(52);
    });
    let mut i = iface(&rig, cfg());
    bound(&mut i);
    let wall = Wall::now();
    let t0 = now(&i);
    let mut renewed = 0;
    let mut lookups = 0;
    for k in 0..RENEWALS {
        let ev = run_until(&mut i, 40_000, |e| *e == IfaceEvent::DhcpRenewed);
        let ks = kinds(&ev);
        assert!(ks.contains(&IfaceEvent::DhcpRenewed), "renewal {k}: {ks:?}");
        assert!(
            !ks.iter()
                .any(|e| matches!(e, IfaceEvent::AddressRemoved { .. } | IfaceEvent::DhcpLost)),
            "renewal {k}: {ks:?}"
        );
        renewed += 1;
        if k % 100 == 0 {
            // A DNS lookup now and then (the cache holds answers for 300 s: distinct names).
            let name = if k % 200 == 0 {
                "echo.sim.lan"
            } else {
                "bulk.sim.lan"
            };
            i.getaddrinfo(Some(name), None, &Hints::default()).unwrap();
            lookups += 1;
        }
    }
    let sim_ms = now(&i) - t0;
    let reqs = dhcp_received(&rig, g, msg::REQUEST).len();
    let free = rig.bsd.os().with_stack(|s| s.free_hw_sockets());
    let open: Vec<u8> = rig.with_sim(|s| (0..8).map(|n| s.chip().socket_status(n)).collect());
    println!(
        "{renewed} renewals, {lookups} lookups, {reqs} REQUESTs: sim {sim_ms} ms, wall {:?}, \
         free hw sockets {free}, chip Sn_SR {open:?}, state {:?}, dns busy {}",
        wall.elapsed(),
        i.dhcp_state(),
        i.dns_busy()
    );
    assert_eq!(renewed, RENEWALS);
    // One REQUEST per renewal (plus the first lease's); no retransmissions were needed.
    assert_eq!(reqs, RENEWALS + 1);
    assert!((29_000_000..31_500_000).contains(&sim_ms), "{sim_ms}");
    assert_eq!(i.dhcp_state(), dhcp::State::Bound);
    assert!(!i.dns_busy());
    assert_eq!(free, 8);
    assert!(open.iter().all(|&sr| sr == 0), "{open:?}");
    assert_eq!(chip_ipv4(&rig).0, standard::POOL_START);
}
