//! Run-time control of the interface for the public driver API
//! (`zephyr/include/w5500_offload/w5500_offload.h`, `zephyr/src/w5500_ctl.c`): what
//! MicroPython's `network` NIC (`ipconfig`, `ifconfig`, `hostname`, `status`) and Adafruit's
//! `WIZNET5K` (`rtr`, `rcr`, `max_sockets`, `link_status`) offer and Zephyr 3.4's `net_if`
//! calls cannot reach on an offloaded interface. Every call takes the interface lock, makes
//! its change and wakes the worker, which then reports the address and DNS changes as
//! interface events (`NET_EVENT_IPV4_ADDR_ADD`/`DEL`).

use core::ffi::{c_char, CStr};
use core::net::Ipv4Addr;

use w5500_driver::bsd::Os;
use w5500_driver::Errno;

use crate::abi::{W5500RsIpv4, W5500_RS_DNS_MAX};
use crate::instance::{self, Driver};

/// Longest host name (option 12) the driver keeps, without the NUL.
pub const W5500_RS_HOSTNAME_MAX: usize = 63;

/// The IPv4 configuration, how it was obtained, and the DHCP lease times.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct W5500RsLease {
    /// Address, netmask and gateway programmed in the chip (all zero: none).
    pub ipv4: W5500RsIpv4,
    /// The address came from DHCP (else static, or none).
    pub from_dhcp: bool,
    /// DHCP is enabled (it runs while the interface is up and no static address is set).
    pub dhcp_enabled: bool,
    /// A static address is set (it stops DHCP until removed).
    pub has_static: bool,
    /// The DHCP server that granted the lease (option 54; zero without a lease).
    pub server: [u8; 4],
    /// Lease time in seconds (0 without a lease, `u32::MAX` for an infinite one).
    pub lease_s: u32,
    /// Renewal time T1 in seconds (0 without a lease).
    pub t1_s: u32,
    /// Rebinding time T2 in seconds (0 without a lease).
    pub t2_s: u32,
    /// Seconds until the lease expires (0 without a lease).
    pub remaining_s: u32,
}

fn errno(n: Errno) -> i32 {
    -(n as i32)
}

fn with_driver(f: impl FnOnce(&'static Driver) -> Result<i32, i32>) -> i32 {
    match instance::get().ok_or(errno(Errno::ENODEV)).and_then(f) {
        Ok(v) | Err(v) => v,
    }
}

/// Set a static IPv4 configuration: programmed into the chip at once (when the interface
/// is up) and DHCP stops (its address is removed first, no RELEASE). `cfg` NULL or an
/// all-zero address removes the static configuration; DHCP then starts again if it is
/// enabled. Returns 0, or `-EINVAL` (a multicast, broadcast or loopback address).
///
/// # Safety
/// `cfg` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_set_ipv4(cfg: *const W5500RsIpv4) -> i32 {
    // SAFETY: the caller passes NULL or a valid configuration.
    let cfg = unsafe { cfg.as_ref() }.copied().unwrap_or_default();
    with_driver(|d| {
        let ip = Ipv4Addr::from(cfg.addr);
        if ip.is_unspecified() {
            d.iface.with(|i| i.clear_static_ipv4());
        } else {
            if ip.is_multicast() || ip.is_broadcast() || ip.is_loopback() {
                return Err(errno(Errno::EINVAL));
            }
            let gw = Ipv4Addr::from(cfg.gateway);
            d.iface.with(|i| {
                i.set_static_ipv4(
                    ip,
                    Ipv4Addr::from(cfg.netmask),
                    (!gw.is_unspecified()).then_some(gw),
                )
            });
        }
        d.kick();
        Ok(0)
    })
}

/// Enable (`on`) or disable DHCP. Enabling replaces a static address and starts the client
/// (once the link is up); disabling removes the leased address without a RELEASE (as
/// Zephyr's `net_dhcpv4_stop`) and the configured static address, if any, takes over.
#[no_mangle]
pub extern "C" fn w5500_rs_set_dhcp(on: bool) -> i32 {
    with_driver(|d| {
        d.iface.with(|i| {
            if on {
                i.dhcp_start();
            } else {
                i.dhcp_stop();
            }
        });
        d.kick();
        Ok(0)
    })
}

/// Replace the configured DNS servers (asked after the ones DHCP gives): `n` entries of
/// `servers` (at most `W5500_RS_DNS_MAX` are kept; zero entries are skipped). `n` 0 clears
/// them. Returns 0 or `-EINVAL` (NULL with `n` > 0).
///
/// # Safety
/// `servers` has `n` readable entries (may be NULL when `n` is 0).
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_set_dns_servers(servers: *const [u8; 4], n: usize) -> i32 {
    let list: &[[u8; 4]] = if n == 0 {
        &[]
    } else if servers.is_null() {
        return errno(Errno::EINVAL);
    } else {
        // SAFETY: the caller passes `n` readable entries.
        unsafe { core::slice::from_raw_parts(servers, n) }
    };
    let mut out = [Ipv4Addr::UNSPECIFIED; W5500_RS_DNS_MAX];
    let mut k = 0;
    for (slot, s) in out.iter_mut().zip(list.iter().filter(|s| **s != [0; 4])) {
        *slot = Ipv4Addr::from(*s);
        k += 1;
    }
    with_driver(|d| {
        d.iface
            .with(|i| i.set_dns_servers(out.get(..k).unwrap_or(&[])));
        d.kick();
        Ok(0)
    })
}

/// Set the DHCP host name (option 12) from a template (`{}` becomes the last three MAC bytes
/// in upper-case hex, Adafruit's `set_dhcp(hostname)`; only the part before the first `.`;
/// other characters than letters, digits and `-` become `-`). NULL or empty: no option 12.
/// Applied when DHCP next starts (as MicroPython's `network.hostname()`): set it before
/// `net_if_up`, or take the interface down and up. Returns 0 or `-EINVAL` (not UTF-8).
///
/// # Safety
/// `template` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_set_hostname(template: *const c_char) -> i32 {
    let t = if template.is_null() {
        ""
    } else {
        // SAFETY: the caller passes a NUL-terminated string.
        match unsafe { CStr::from_ptr(template) }.to_str() {
            Ok(t) => t,
            Err(_) => return errno(Errno::EINVAL),
        }
    };
    with_driver(|d| {
        d.iface.with(|i| i.set_hostname_template(t));
        Ok(0)
    })
}

/// The host name DHCP sends, NUL-terminated into `buf` (`len` bytes). Returns its length
/// (0: none), or `-EMSGSIZE` when `buf` is too small.
///
/// # Safety
/// `buf` has `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_hostname(buf: *mut c_char, len: usize) -> i32 {
    with_driver(|d| {
        let mut tmp = [0u8; W5500_RS_HOSTNAME_MAX + 1];
        let n = d.iface.with(|i| {
            let h = i.hostname().unwrap_or("").as_bytes();
            let n = h.len().min(W5500_RS_HOSTNAME_MAX);
            if let (Some(dst), Some(src)) = (tmp.get_mut(..n), h.get(..n)) {
                dst.copy_from_slice(src);
            }
            n
        });
        if buf.is_null() || len <= n {
            return Err(errno(Errno::EMSGSIZE));
        }
        // SAFETY: the caller passes `len` writable bytes and `n + 1 <= len`.
        let out = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), len) };
        if let (Some(dst), Some(src)) = (out.get_mut(..n), tmp.get(..n)) {
            dst.copy_from_slice(src);
        }
        if let Some(z) = out.get_mut(n) {
            *z = 0;
        }
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    })
}

/// The IPv4 configuration and lease into `*out`. Returns 0.
///
/// # Safety
/// `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_lease(out: *mut W5500RsLease) -> i32 {
    with_driver(|d| {
        let now = d.bsd.os().now_ms();
        let (lease, dhcp_enabled, has_static) = d
            .iface
            .with(|i| (i.lease(), i.dhcp_enabled(), i.static_ipv4().is_some()));
        // SAFETY: the caller passes writable storage (or NULL, refused).
        let o = unsafe { out.as_mut() }.ok_or(errno(Errno::EINVAL))?;
        *o = W5500RsLease {
            dhcp_enabled,
            has_static,
            ..W5500RsLease::default()
        };
        if let Some(l) = lease {
            o.ipv4 = W5500RsIpv4 {
                addr: l.address.octets(),
                netmask: l.subnet_mask.octets(),
                gateway: l.gateway.unwrap_or(Ipv4Addr::UNSPECIFIED).octets(),
            };
            if let Some(server) = l.server_id {
                o.from_dhcp = true;
                o.server = server.octets();
                o.lease_s = l.lease_secs;
                o.t1_s = l.t1_secs;
                o.t2_s = l.t2_secs;
                o.remaining_s = l.expires_at_ms().map_or(u32::MAX, |t| {
                    u32::try_from(t.saturating_sub(now) / 1000).unwrap_or(u32::MAX)
                });
            }
        }
        Ok(0)
    })
}

/// Set the chip's retransmission timing (Adafruit's `rtr`/`rcr`, datasheet `RTR`/`RCR`):
/// `time_100us` in units of 100 µs (1..=65535), `count` retries. A TCP connect or send then
/// fails with `ETIMEDOUT` (ARP: `EHOSTUNREACH`) after about `time × (count + 1)` with the
/// chip's doubling. Returns 0 or `-EINVAL` (time 0).
#[no_mangle]
pub extern "C" fn w5500_rs_set_retry(time_100us: u16, count: u8) -> i32 {
    if time_100us == 0 {
        return errno(Errno::EINVAL);
    }
    with_driver(|d| {
        d.bsd
            .os()
            .with_stack(|s| s.set_retry(time_100us, count))
            .map(|()| 0)
            .map_err(|e| -(e.errno() as i32))
    })
}

/// The chip's retransmission timing as programmed (`RTR` in 100 µs units, `RCR`). Returns 0.
///
/// # Safety
/// `time_100us` and `count` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_retry(time_100us: *mut u16, count: *mut u8) -> i32 {
    with_driver(|d| {
        let (t, c) = d
            .bsd
            .os()
            .with_stack(|s| s.retry())
            .map_err(|e| -(e.errno() as i32))?;
        // SAFETY: the caller passes NULL or writable storage.
        if let Some(o) = unsafe { time_100us.as_mut() } {
            *o = t;
        }
        // SAFETY: as above.
        if let Some(o) = unsafe { count.as_mut() } {
            *o = c;
        }
        Ok(0)
    })
}

/// The PHY link as the interface sees it (down while the interface is down and the PHY
/// powered off, whatever the last `PHYCFGR` reading said): `*up`, `*speed_100`,
/// `*full_duplex`. Returns 0.
///
/// # Safety
/// Each pointer is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn w5500_rs_link(
    up: *mut bool,
    speed_100: *mut bool,
    full_duplex: *mut bool,
) -> i32 {
    with_driver(|d| {
        let l = d.iface.with(|i| i.link());
        for (p, v) in [
            (up, l.link_up),
            (speed_100, l.speed_100),
            (full_duplex, l.full_duplex),
        ] {
            // SAFETY: the caller passes NULL or writable storage.
            if let Some(o) = unsafe { p.as_mut() } {
                *o = v;
            }
        }
        Ok(0)
    })
}
