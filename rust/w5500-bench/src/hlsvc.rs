//! DHCP lease and DNS lookup with newAM's w5500-dhcp 0.7 and w5500-dns 0.5 (on w5500-hl 0.12)
//! on the simulated chip, through the spy. The application around them is INTn-driven like
//! the w5500-hl harness: `process`/`response` run when INTn fires or their timer is due.

use w5500_dhcp::Client as Dhcp;
use w5500_dns::{Client as Dns, RData};
use w5500_hl::ll::eh1::vdm::W5500;
use w5500_hl::ll::{net as llnet, Sn};
use w5500_hl::{Error as HlError, Hostname};
use w5500_regs::{Interrupt, SocketSet};
use w5500_sim::lan::standard;

use crate::env::{BenchSpi, Env, MAC};
use crate::mark::drv;
use crate::work::{Run, Work};

const SN: Sn = Sn::Sn0;
const SEED: u64 = 0x5eed_0001;

fn ip(a: std::net::Ipv4Addr) -> llnet::Ipv4Addr {
    let o = a.octets();
    llnet::Ipv4Addr::new(o[0], o[1], o[2], o[3])
}

fn setup(env: &Env, dhcp: bool) -> Result<W5500<BenchSpi>, String> {
    let mut chip = env.bring_up(dhcp)?;
    chip.set_interrupt_masks(Interrupt::empty(), SocketSet::all())
        .map_err(|e| format!("simr: {e}"))?;
    Ok(W5500::new(chip.release()))
}

fn done(env: &Env, t0: u64) -> Result<Run, String> {
    let (spi, now) = env.stop()?;
    Ok(Run {
        payload: 0,
        ops: 1,
        spi,
        sim_us: now.saturating_sub(t0),
    })
}

/// Run the DHCP or DNS workload with newAM's clients.
pub fn run(env: &Env, w: &Work) -> Result<Run, String> {
    match w {
        Work::Dhcp => {
            let mut w = setup(env, true)?;
            let mac = llnet::Eui48Addr::new(MAC[0], MAC[1], MAC[2], MAC[3], MAC[4], MAC[5]);
            let mut c = Dhcp::new(SN, SEED, mac, Hostname::new_unwrapped("w5500-bench"));
            env.start();
            let t0 = env.now_us();
            drv(|| c.setup_socket(&mut w)).map_err(|e| format!("setup_socket: {e:?}"))?;
            for _ in 0..10_000 {
                let secs = (env.now_us() / 1_000_000) as u32;
                if env.now_us() > t0 + 60_000_000 {
                    break;
                }
                let next =
                    drv(|| c.process(&mut w, secs)).map_err(|e| format!("process: {e:?}"))?;
                if c.has_lease() {
                    break;
                }
                // Until INTn, or the second the client asked to be called again.
                let wake = (u64::from(secs) + u64::from(next.max(1))) * 1_000_000;
                env.wait_int(wake.saturating_sub(env.now_us()).max(1));
            }
            let r = done(env, t0)?;
            let got = c.leased_ip().ok_or("no lease within 60 s")?;
            if got.octets()[..3] != standard::POOL_START.octets()[..3] {
                return Err(format!("leased {got} outside the pool"));
            }
            Ok(r)
        }
        Work::Dns => {
            let mut w = setup(env, false)?;
            let mut d = Dns::new(SN, 40000, ip(standard::GATEWAY), SEED);
            let host = Hostname::new_unwrapped(crate::work::DNS_NAME);
            env.start();
            let t0 = env.now_us();
            let id = drv(|| d.a_question(&mut w, &host)).map_err(|e| format!("query: {e:?}"))?;
            let mut buf = [0u8; 256];
            let mut answer = None;
            for _ in 0..10_000 {
                let r = drv(|| match d.response(&mut w, &mut buf, id) {
                    Ok(mut resp) => {
                        let mut a = None;
                        while let Ok(Some(rr)) = resp.next_rr() {
                            if let RData::A(x) = rr.rdata {
                                a = Some(x);
                            }
                        }
                        resp.done().map(|_| a).map_err(HlError::Other)
                    }
                    Err(e) => Err(e),
                });
                match r {
                    Ok(a) => {
                        answer = Some(a);
                        break;
                    }
                    Err(HlError::WouldBlock) => {
                        if !env.wait_int(3_000_000) {
                            break;
                        }
                        // The application's interrupt handler: read and clear Sn_IR.
                        let ir = drv(|| w5500_hl::ll::Registers::sn_ir(&mut w, SN))
                            .map_err(|e| format!("sn_ir: {e:?}"))?;
                        drv(|| w5500_hl::ll::Registers::set_sn_ir(&mut w, SN, ir))
                            .map_err(|e| format!("set_sn_ir: {e:?}"))?;
                    }
                    Err(e) => return Err(format!("response: {e:?}")),
                }
            }
            let r = done(env, t0)?;
            match answer {
                Some(Some(a)) if a == ip(standard::HTTP) => Ok(r),
                other => Err(format!("wrong or no answer: {other:?}")),
            }
        }
        _ => Err("not a service workload".into()),
    }
}
