//! The driver instance: the chip brought up, the blocking socket API over [`ZephyrOs`] for
//! application sockets, and the network interface ([`Iface`]: link, DHCP, static IPv4, DNS)
//! whose events the C layer mirrors into `struct net_if`.
//!
//! One instance per image ([`W5500_RS_MAX_INSTANCES`]). [`init`] creates the OS binding and
//! then the driver, each once, in statics; afterwards every export reaches them through
//! shared references.
//!
//! # Locks and their order
//! - the **fd lock** (C, per socket; held by Zephyr around every socket op),
//! - the **interface lock** (`w5500_shim_iface_lock`, a `k_mutex`): around every use of the
//!   [`Iface`] (worker step, event queue, `getaddrinfo`, up/down, status),
//! - the **stack lock** (`w5500_shim_stack_lock`): around every SPI transaction batch
//!   ([`w5500_driver::bsd::Os::with_stack`]),
//! - the **wait lock** (C, the condvar's mutex in `w5500_shim_wait`/`notify_all`).
//!
//! Always taken in that order and never backwards: application socket calls take fd lock →
//! stack lock, and release both before they sleep on the condvar (the fd lock explicitly,
//! the stack lock because `with_stack` closures never wait); the interface takes interface
//! lock → stack lock / wait lock; nothing holding the stack or wait lock asks for the
//! interface lock, and no socket op touches the interface lock. So there is no cycle.
//!
//! # getaddrinfo and the worker
//! The C layer runs [`init`] and every `getaddrinfo` on the worker thread (the caller hands
//! the call over and waits), so that only the worker's stack is sized for the driver's
//! deepest paths. [`Iface::getaddrinfo`] holds the interface lock for the whole lookup
//! (seconds at worst: tries × servers × timeout) and keeps the interface running itself (it
//! calls [`Iface::poll`] while it waits, which services the chip and wakes blocked
//! sockets), so nothing is missed meanwhile: events queue up (8 deep) and the worker drains
//! them after the lookup. Concurrent `getaddrinfo` callers are served in turn. Application
//! sockets never need the interface lock, so they keep running during a lookup.

use core::cell::UnsafeCell;
use core::ffi::CStr;
use core::mem::MaybeUninit;
use core::net::Ipv4Addr;
use core::ptr::{addr_of, addr_of_mut};
use core::sync::atomic::{AtomicBool, Ordering};

use w5500_driver::bsd::{Bsd, Os};
use w5500_driver::chip::{Chip, Config};
use w5500_driver::regs::BufferSize;
use w5500_driver::stack::{Stack, StackConfig};
use w5500_driver::{Error, Result};
use w5500_iface::{Iface, IfaceConfig, IfaceEvent, Ipv4Config};

#[cfg(doc)]
use crate::abi::W5500_RS_MAX_INSTANCES;
use crate::abi::{W5500RsConfig, W5500RsEvent, W5500RsEventKind, W5500RsIpv4, W5500_RS_DNS_MAX};
use crate::os::{Ctx, ZephyrDelay, ZephyrOs, ZephyrResetPin, ZephyrSpi};
use crate::sys;

/// The OS binding the driver and its interface share.
pub type SharedOs = &'static ZephyrOs;

/// DNS cache entries: [`w5500_iface::DNS_CACHE`] with the `dns-cache` feature, none without.
pub const DNS_CACHE: usize = if cfg!(feature = "dns-cache") {
    w5500_iface::DNS_CACHE
} else {
    0
};

/// The interface of this image.
pub type DriverIface = Iface<SharedOs, DNS_CACHE>;

/// A value written once (by [`init`]) and then only read.
struct Once<T> {
    ready: AtomicBool,
    cell: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: `cell` is written once by `set` before `ready` is published with Release, and only
// read (shared) after `ready` is seen with Acquire; `T` itself is `Sync`.
unsafe impl<T: Sync> Sync for Once<T> {}

impl<T> Once<T> {
    const fn new() -> Self {
        Once {
            ready: AtomicBool::new(false),
            cell: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    fn get(&'static self) -> Option<&'static T> {
        if self.ready.load(Ordering::Acquire) {
            // SAFETY: `ready` is only set after the cell was fully written, and never cleared.
            Some(unsafe { (*self.cell.get()).assume_init_ref() })
        } else {
            None
        }
    }

    /// Initialise the value in place: `init` gets the uninitialised slot and writes every
    /// field of it, so that the kilobytes of driver state are built in the static and never
    /// on the calling thread's stack (device init runs on the main thread).
    ///
    /// # Safety
    /// Called at most once, with no concurrent call; `init` initialises all of `*slot`.
    unsafe fn set_with(&'static self, init: impl FnOnce(*mut T)) -> &'static T {
        // SAFETY: not ready yet, so nobody reads the cell; the contract rules out a
        // concurrent call.
        init(unsafe { (*self.cell.get()).as_mut_ptr() });
        self.ready.store(true, Ordering::Release);
        // SAFETY: `init` initialised the value (the contract).
        unsafe { (*self.cell.get()).assume_init_ref() }
    }
}

static OS: Once<ZephyrOs> = Once::new();
static INSTANCE: Once<Driver> = Once::new();

/// State of the glue kept next to the [`Iface`], under the same lock (no 64-bit or
/// read-modify-write atomics: Cortex-M0 has neither).
#[derive(Debug, Default)]
pub struct Extra {
    /// When the static configuration replaces a DHCP that got no lease (ms uptime).
    fallback_at: Option<u64>,
    /// The static fallback has happened (DHCP restarts at the next `net_if_up`).
    fell_back: bool,
    /// DHCP renewals and rebinds seen so far.
    renewals: u32,
}

/// The [`Iface`] behind the C interface mutex.
pub struct IfaceLock {
    ctx: Ctx,
    cell: UnsafeCell<(DriverIface, Extra)>,
}

// SAFETY: `cell` is only reached through `with`, which holds the C interface mutex for the
// whole closure; the context pointer is `Sync` (see `Ctx`).
unsafe impl Sync for IfaceLock {}

impl IfaceLock {
    /// Run `f` on the interface with the interface lock held. `f` must not call `with`
    /// again (the `k_mutex` is recursive, which would alias the `&mut`).
    pub fn with<R>(&self, f: impl FnOnce(&mut DriverIface) -> R) -> R {
        self.with_extra(|i, _| f(i))
    }

    /// As [`IfaceLock::with`], with the glue's own state too.
    pub fn with_extra<R>(&self, f: impl FnOnce(&mut DriverIface, &mut Extra) -> R) -> R {
        // SAFETY: plain call into the shim.
        unsafe { sys::w5500_shim_iface_lock(self.ctx.0) };
        // SAFETY: the interface mutex is held and no code in this crate calls `with` from
        // inside a closure, so this is the only live reference.
        let (i, e) = unsafe { &mut *self.cell.get() };
        let r = f(i, e);
        // SAFETY: plain call into the shim.
        unsafe { sys::w5500_shim_iface_unlock(self.ctx.0) };
        r
    }
}

/// The running driver.
pub struct Driver {
    /// The blocking BSD socket API for application sockets (no interface lock needed).
    pub bsd: Bsd<SharedOs>,
    /// The network interface (link, DHCP, DNS) behind its lock.
    pub iface: IfaceLock,
    /// Hardware sockets reserved for DHCP/DNS.
    pub reserved: u8,
    /// DHCP was asked for.
    pub dhcp: bool,
    ctx: Ctx,
    /// Seconds without a lease before the static fallback (0: never).
    fallback_s: u32,
}

/// The driver, once [`init`] succeeded.
pub fn get() -> Option<&'static Driver> {
    INSTANCE.get()
}

fn buffers(kb: &[u8; 8]) -> Result<[BufferSize; 8]> {
    let mut out = [BufferSize::K2; 8];
    for (o, k) in out.iter_mut().zip(kb) {
        *o = BufferSize::from_kb(*k).ok_or(Error::InvalidArgument)?;
    }
    Ok(out)
}

fn nonzero(ip: &W5500RsIpv4) -> Option<Ipv4Config> {
    (ip.addr != [0; 4]).then(|| Ipv4Config {
        ip: Ipv4Addr::from(ip.addr),
        netmask: Ipv4Addr::from(ip.netmask),
        gateway: (ip.gateway != [0; 4]).then(|| Ipv4Addr::from(ip.gateway)),
    })
}

/// The interface configuration from the C layer's config.
///
/// # Safety
/// `cfg.hostname` is NULL or NUL-terminated.
pub unsafe fn iface_config(cfg: &W5500RsConfig) -> IfaceConfig {
    let mut ic = IfaceConfig::new(cfg.mac, cfg.seed);
    if !cfg.hostname.is_null() {
        // SAFETY: the caller passes a NUL-terminated string.
        let t = unsafe { CStr::from_ptr(cfg.hostname) };
        if let Ok(t) = t.to_str() {
            if !t.is_empty() {
                ic = ic.with_hostname_template(t);
            }
        }
    }
    if let Some(s) = nonzero(&cfg.static_ipv4) {
        ic = ic.with_static(s, !cfg.dhcp);
    } else if !cfg.dhcp {
        ic.dhcp = false;
    }
    let mut dns = [Ipv4Addr::UNSPECIFIED; W5500_RS_DNS_MAX];
    let mut n = 0;
    for (slot, s) in dns
        .iter_mut()
        .zip(cfg.dns_servers.iter().filter(|s| **s != [0; 4]))
    {
        *slot = Ipv4Addr::from(*s);
        n += 1;
    }
    ic.with_dns_servers(dns.get(..n).unwrap_or(&[]))
}

/// Build the interface straight into `slot`. Not inlined, and `slot` a `&mut`: LLVM then
/// passes `slot` itself as the constructor's return slot, where a raw pointer into a static
/// made it build the 4 KB on the stack first (measured: a 6 KB frame in `w5500_rs_init`).
#[inline(never)]
fn emplace_iface(slot: &mut MaybeUninit<DriverIface>, bsd: Bsd<SharedOs>, ic: IfaceConfig) {
    Iface::init_in(slot, bsd, ic);
}

/// Bring the chip up and create the instance.
///
/// # Safety
/// Called once, from the C device init function, before any other export and before the
/// worker thread starts (no concurrent caller). `cfg.hostname` is NULL or NUL-terminated.
pub unsafe fn init(cfg: &W5500RsConfig) -> Result<()> {
    if OS.get().is_some() {
        return Err(Error::AlreadyConnected);
    }
    // The `log` crate's logger: for the driver's records when they go to `log` (no `c-log`:
    // host builds) and for the in-image simulator's (w5500-sim logs through `log`). With
    // `c-log` and no simulator nothing in the image logs through `log`: no logger, and no
    // `core::fmt`, is linked.
    #[cfg(any(w5500_emul, not(feature = "c-log")))]
    // SAFETY: forwarded from this function's contract.
    unsafe {
        crate::logger::install(cfg.log_level)
    };
    let ctx = Ctx(cfg.ctx);
    let mut delay = ZephyrDelay;
    let mut chip = Chip::new(ZephyrSpi::new(ctx));
    if cfg.has_reset_pin {
        chip.hardware_reset(&mut ZephyrResetPin::new(ctx), &mut delay)?;
    }
    let mut config = Config::new(cfg.mac);
    config.tx_buf = buffers(&cfg.tx_buf_kb)?;
    config.rx_buf = buffers(&cfg.rx_buf_kb)?;
    // The address is programmed by the interface (static at up(), or the DHCP lease).
    chip.init(&mut delay, &config)?;
    let reserved = cfg.reserved_sockets.min(2);
    let stack = Stack::new(
        chip,
        StackConfig {
            reserved_for_services: reserved,
            ..StackConfig::default()
        },
    )?;
    let poll_ms = u64::from(cfg.poll_interval_ms.max(1));
    // SAFETY: the contract makes this the only `init`, with no concurrent caller; the
    // closure writes the whole value.
    let os: SharedOs =
        unsafe { OS.set_with(|p| p.write(ZephyrOs::new(ctx, stack, cfg.has_int_pin, poll_ms))) };
    // SAFETY: forwarded from this function's contract.
    let ic = unsafe { iface_config(cfg) };
    let fallback_s = if cfg.dhcp && ic.static_ipv4.is_some() {
        cfg.dhcp_fallback_s
    } else {
        0
    };
    // SAFETY: as above; every field of `Driver` is written, the interface (4 KB) straight
    // into its place.
    let driver = unsafe {
        INSTANCE.set_with(|p| {
            addr_of_mut!((*p).bsd).write(Bsd::new(os));
            addr_of_mut!((*p).reserved).write(reserved);
            addr_of_mut!((*p).dhcp).write(cfg.dhcp);
            addr_of_mut!((*p).ctx).write(ctx);
            addr_of_mut!((*p).fallback_s).write(fallback_s);
            addr_of_mut!((*p).iface.ctx).write(ctx);
            let cell = UnsafeCell::raw_get(addr_of!((*p).iface.cell));
            addr_of_mut!((*cell).1).write(Extra::default());
            emplace_iface(
                core::hint::black_box(
                    &mut *addr_of_mut!((*cell).0).cast::<MaybeUninit<DriverIface>>(),
                ),
                Bsd::new(os),
                ic,
            );
        })
    };
    driver.iface.with(|i| {
        if let Some(h) = i.hostname() {
            w5500_log::info!("DHCP host name", h);
        }
    });
    // "W5500 up, MAC ..." is logged by the C caller (w5500_offload.c), which prints bytes
    // with %02x.
    Ok(())
}

fn ipv4(ip: Ipv4Addr, mask: Ipv4Addr, gw: Option<Ipv4Addr>) -> W5500RsIpv4 {
    W5500RsIpv4 {
        addr: ip.octets(),
        netmask: mask.octets(),
        gateway: gw.unwrap_or(Ipv4Addr::UNSPECIFIED).octets(),
    }
}

/// An [`IfaceEvent`] as the C ABI's event (`lease_s` filled for DHCP lease events).
pub fn to_abi(e: &IfaceEvent, lease_s: u32) -> W5500RsEvent {
    use W5500RsEventKind as K;
    let bare = W5500RsEvent::bare;
    match e {
        IfaceEvent::LinkUp {
            speed_100,
            full_duplex,
        } => W5500RsEvent {
            speed_100: *speed_100,
            full_duplex: *full_duplex,
            ..bare(K::LinkUp)
        },
        IfaceEvent::LinkDown => bare(K::LinkDown),
        IfaceEvent::AddressAdded {
            ip,
            mask,
            gw,
            from_dhcp,
        } => W5500RsEvent {
            ipv4: ipv4(*ip, *mask, *gw),
            dhcp: *from_dhcp,
            ..bare(K::AddressAdded)
        },
        IfaceEvent::AddressRemoved { ip } => W5500RsEvent {
            ipv4: ipv4(*ip, Ipv4Addr::UNSPECIFIED, None),
            ..bare(K::AddressRemoved)
        },
        IfaceEvent::DhcpBound => W5500RsEvent {
            lease_s,
            ..bare(K::DhcpBound)
        },
        IfaceEvent::DhcpRenewed => W5500RsEvent {
            lease_s,
            ..bare(K::DhcpRenewed)
        },
        IfaceEvent::DhcpRebound => W5500RsEvent {
            lease_s,
            ..bare(K::DhcpRebound)
        },
        IfaceEvent::DhcpLost => bare(K::DhcpLost),
        IfaceEvent::DhcpDeclined(ip) => W5500RsEvent {
            ipv4: ipv4(*ip, Ipv4Addr::UNSPECIFIED, None),
            ..bare(K::DhcpDeclined)
        },
        IfaceEvent::DnsServers(list) => {
            let mut ev = bare(K::DnsServers);
            for (slot, s) in ev.dns.iter_mut().zip(list.iter()) {
                *slot = s.octets();
                ev.n_dns = ev.n_dns.saturating_add(1);
            }
            ev
        }
        IfaceEvent::ChipReset => bare(K::ChipReset),
    }
}

impl Driver {
    /// The worker step: the interface's [`Iface::poll`] (chip service, link, DHCP timers and
    /// messages, the address probe), plus the timed static fallback. Returns when it next
    /// needs to run (ms uptime).
    pub fn poll(&self) -> Option<u64> {
        self.iface.with_extra(|i, x| {
            let now = self.bsd.os().now_ms();
            let next = i.poll(now);
            match x.fallback_at {
                None => next,
                Some(_) if i.lease().is_some() => {
                    // A lease arrived in time: no fallback.
                    x.fallback_at = None;
                    next
                }
                Some(at) if now >= at => {
                    w5500_log::warn!("DHCP: no lease in time; using the static configuration");
                    x.fallback_at = None;
                    x.fell_back = true;
                    i.dhcp_stop();
                    Some(now)
                }
                Some(at) => Some(next.map_or(at, |n| n.min(at))),
            }
        })
    }

    /// `net_if_up` / `net_if_down`. Up (re)starts DHCP after a static fallback and arms the
    /// fallback timer again.
    pub fn set_enabled(&self, up: bool) -> Result<()> {
        let r = self.iface.with_extra(|i, x| {
            if !up {
                x.fallback_at = None;
                return i.down();
            }
            if i.is_up() {
                return Ok(());
            }
            if core::mem::take(&mut x.fell_back) {
                i.dhcp_start();
            }
            if self.fallback_s > 0 {
                let at = self
                    .bsd
                    .os()
                    .now_ms()
                    .saturating_add(u64::from(self.fallback_s) * 1000);
                x.fallback_at = Some(at);
            }
            i.up()
        });
        self.kick();
        r
    }

    /// The next interface event for the C layer. Single consumer: the worker.
    pub fn next_event(&self) -> Option<W5500RsEvent> {
        self.iface.with_extra(|i, x| {
            let e = i.take_event()?;
            if matches!(e, IfaceEvent::DhcpRenewed | IfaceEvent::DhcpRebound) {
                x.renewals = x.renewals.wrapping_add(1);
            }
            let lease_s = i
                .lease()
                .filter(|l| l.server_id.is_some())
                .map_or(0, |l| l.lease_secs);
            Some(to_abi(&e, lease_s))
        })
    }

    /// DHCP renewals and rebinds seen so far.
    pub fn renewals(&self) -> u32 {
        self.iface.with_extra(|_, x| x.renewals)
    }

    /// Wake the worker so it polls now (after a runtime change from another thread).
    pub fn kick(&self) {
        // SAFETY: plain call into the shim.
        unsafe { sys::w5500_shim_kick_worker(self.ctx.0) }
    }
}
