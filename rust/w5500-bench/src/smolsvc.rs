//! DHCP lease and DNS lookup with smoltcp 0.14's DHCPv4 and DNS sockets over MACRAW.

use smoltcp::socket::{dhcpv4, dns};
use smoltcp::wire::{DnsQueryType, IpAddress};
use w5500_sim::lan::standard;

use crate::env::Env;
use crate::mark::drv;
use crate::smol::{Net, Step};
use crate::work::{Run, Work};

fn done(env: &Env, t0: u64) -> Result<Run, String> {
    let (spi, now) = env.stop()?;
    Ok(Run {
        payload: 0,
        ops: 1,
        spi,
        sim_us: now.saturating_sub(t0),
    })
}

fn v4(a: std::net::Ipv4Addr) -> IpAddress {
    let o = a.octets();
    IpAddress::v4(o[0], o[1], o[2], o[3])
}

/// Run the DHCP or DNS workload with smoltcp.
pub fn run(env: &Env, w: &Work) -> Result<Run, String> {
    match w {
        Work::Dhcp => {
            let mut net = Net::new(env, false)?;
            env.start();
            let t0 = env.now_us();
            let h = drv(|| net.sockets.add(dhcpv4::Socket::new()));
            let mut got = None;
            let deadline = t0 + 60_000_000;
            net.drive(env, |_, s| {
                if let Some(dhcpv4::Event::Configured(c)) = s.get_mut::<dhcpv4::Socket>(h).poll() {
                    got = Some(c.address.address());
                    return Ok(Step::Done);
                }
                if crate::mark::excl(|| env.now_us()) > deadline {
                    return Err("no lease within 60 s".into());
                }
                Ok(Step::Idle)
            })?;
            let r = done(env, t0)?;
            let a = got.ok_or("no lease")?;
            if a.octets()[..3] != standard::POOL_START.octets()[..3] {
                return Err(format!("leased {a} outside the pool"));
            }
            Ok(r)
        }
        Work::Dns => {
            let mut net = Net::new(env, true)?;
            env.start();
            let t0 = env.now_us();
            let h = drv(|| {
                net.sockets
                    .add(dns::Socket::new(&[v4(standard::GATEWAY)], vec![None]))
            });
            let q = drv(|| {
                let cx = net.iface.context();
                net.sockets.get_mut::<dns::Socket>(h).start_query(
                    cx,
                    crate::work::DNS_NAME,
                    DnsQueryType::A,
                )
            })
            .map_err(|e| format!("start_query: {e:?}"))?;
            let mut got = None;
            let deadline = t0 + 10_000_000;
            net.drive(env, |_, s| {
                match s.get_mut::<dns::Socket>(h).get_query_result(q) {
                    Ok(addrs) => {
                        got = Some(addrs.iter().copied().collect::<Vec<_>>());
                        return Ok(Step::Done);
                    }
                    Err(dns::GetQueryResultError::Pending) => {}
                    Err(e) => return Err(format!("dns: {e:?}")),
                }
                if crate::mark::excl(|| env.now_us()) > deadline {
                    return Err("no answer within 10 s".into());
                }
                Ok(Step::Idle)
            })?;
            let r = done(env, t0)?;
            let addrs = got.ok_or("no answer")?;
            if !addrs.contains(&v4(standard::HTTP)) {
                return Err(format!("wrong answer {addrs:?}"));
            }
            Ok(r)
        }
        _ => Err("not a service workload".into()),
    }
}
