//! DHCP lease and DNS lookup with our driver: `w5500-iface`'s `Iface` (the sans-IO DHCP
//! client and resolver of `w5500-netsvc` carried by chip sockets) over `Stack` + `Bsd`.

use w5500_driver::bsd::Os;
use w5500_iface::{Iface, IfaceConfig, IfaceEvent, Ipv4Config};
use w5500_sim::lan::standard;

use crate::env::{Env, MAC};
use crate::mark::drv;
use crate::ours::{setup, BenchOs};
use crate::work::{Run, Work, DNS_NAME};

/// Seed for DHCP xids and DNS ids/ports.
const SEED: u64 = 0x5eed_0001;

fn done(env: &Env, t0: u64) -> Result<Run, String> {
    let (spi, now) = env.stop()?;
    Ok(Run {
        payload: 0,
        ops: 1,
        spi,
        sim_us: now.saturating_sub(t0),
    })
}

/// Run the DHCP or DNS workload with our driver.
pub fn run(env: &Env, w: &Work) -> Result<Run, String> {
    match w {
        Work::Dhcp => {
            let bsd = setup(env, true)?;
            let cfg = IfaceConfig::new(MAC, SEED).with_hostname_template("w5500-{}");
            let mut i: Iface<BenchOs> = Iface::new(bsd, cfg);
            env.start();
            let t0 = env.now_us();
            drv(|| i.up()).map_err(|e| format!("up: {e}"))?;
            let mut bound = false;
            for _ in 0..100_000 {
                let now = i.bsd().os().now_ms();
                if now > 60_000 + t0 / 1000 {
                    break;
                }
                let next = drv(|| i.poll(now));
                while let Some(e) = drv(|| i.take_event()) {
                    bound |= e == IfaceEvent::DhcpBound;
                }
                if bound {
                    break;
                }
                let os = i.bsd().os();
                let seen = os.epoch();
                os.wait(None, seen, next.unwrap_or(now + 1000).max(now + 1));
            }
            let r = done(env, t0)?;
            let lease = i.lease().ok_or("no lease within 60 s")?;
            if lease.address.octets()[..3] != standard::POOL_START.octets()[..3] {
                return Err(format!("leased {} outside the pool", lease.address));
            }
            Ok(r)
        }
        Work::Dns => {
            let bsd = setup(env, false)?;
            let cfg = IfaceConfig::new(MAC, SEED)
                .with_static(
                    Ipv4Config {
                        ip: standard::CHIP_STATIC,
                        netmask: standard::NETMASK,
                        gateway: Some(standard::GATEWAY),
                    },
                    true,
                )
                .with_dns_servers(&[standard::GATEWAY]);
            let mut i: Iface<BenchOs> = Iface::new(bsd, cfg);
            i.up().map_err(|e| format!("up: {e}"))?;
            env.start();
            let t0 = env.now_us();
            let a = drv(|| i.resolve(DNS_NAME)).map_err(|e| format!("resolve: {e:?}"))?;
            let r = done(env, t0)?;
            if !a.addrs.contains(&standard::HTTP) {
                return Err(format!("wrong answer {:?}", a.addrs));
            }
            Ok(r)
        }
        _ => Err("not a service workload".into()),
    }
}
