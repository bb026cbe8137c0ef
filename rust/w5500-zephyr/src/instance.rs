//! The driver instance: the chip brought up, the blocking socket API over [`ZephyrOs`], and
//! the interface state the C layer mirrors into `struct net_if` (carrier, IPv4 address).
//!
//! One instance per image ([`W5500_RS_MAX_INSTANCES`]). It is created once by
//! [`init`] from the C device init function and then only read, so every export can reach it
//! through a shared reference; the mutable parts are behind the stack mutex or atomics with
//! a single writer (the worker thread).
//!
//! The interface part is the seam for `w5500-iface`: without it the driver knows the PHY link
//! and a static IPv4 configuration. TODO(iface): replace [`Driver::next_event`] and
//! [`Driver::service`] with `Iface::poll(now)` and its event queue (DHCP lease, DNS servers),
//! and hand `Iface::getaddrinfo` to `w5500_rs_getaddrinfo`.

use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::net::Ipv4Addr;
use core::sync::atomic::{AtomicBool, Ordering};

use w5500_driver::bsd::Bsd;
use w5500_driver::chip::{Chip, Config};
use w5500_driver::regs::BufferSize;
use w5500_driver::stack::{Stack, StackConfig};
use w5500_driver::{Error, Result};

#[cfg(doc)]
use crate::abi::W5500_RS_MAX_INSTANCES;
use crate::abi::{W5500RsConfig, W5500RsEvent, W5500RsEventKind, W5500RsIpv4};
use crate::os::{Ctx, ZephyrDelay, ZephyrOs, ZephyrResetPin, ZephyrSpi};

/// The running driver.
pub struct Driver {
    /// The blocking BSD socket API.
    pub bsd: Bsd<ZephyrOs>,
    /// Hardware sockets reserved for DHCP/DNS.
    pub reserved: u8,
    /// DHCP was asked for (needs the interface layer; see the module docs).
    pub dhcp: bool,
    /// The static configuration, if any.
    pub static_ipv4: Option<W5500RsIpv4>,
    link_reported: AtomicBool,
    addr_reported: AtomicBool,
}

struct Slot {
    ready: AtomicBool,
    cell: UnsafeCell<MaybeUninit<Driver>>,
}

// SAFETY: `cell` is written once by `init` before `ready` is published with Release, and
// only read (shared) after `ready` is seen with Acquire; `Driver` itself is `Sync`.
unsafe impl Sync for Slot {}

static INSTANCE: Slot = Slot {
    ready: AtomicBool::new(false),
    cell: UnsafeCell::new(MaybeUninit::uninit()),
};

/// The driver, once [`init`] succeeded.
pub fn get() -> Option<&'static Driver> {
    if INSTANCE.ready.load(Ordering::Acquire) {
        // SAFETY: `ready` is only set after the cell was fully written, and never cleared.
        Some(unsafe { (*INSTANCE.cell.get()).assume_init_ref() })
    } else {
        None
    }
}

fn buffers(kb: &[u8; 8]) -> Result<[BufferSize; 8]> {
    let mut out = [BufferSize::K2; 8];
    for (o, k) in out.iter_mut().zip(kb) {
        *o = BufferSize::from_kb(*k).ok_or(Error::InvalidArgument)?;
    }
    Ok(out)
}

fn nonzero(ip: &W5500RsIpv4) -> Option<W5500RsIpv4> {
    (ip.addr != [0; 4]).then_some(*ip)
}

/// Bring the chip up and create the instance.
///
/// # Safety
/// Called once, from the C device init function, before any other export and before the
/// worker thread starts (no concurrent caller).
pub unsafe fn init(cfg: &W5500RsConfig) -> Result<()> {
    if INSTANCE.ready.load(Ordering::Acquire) {
        return Err(Error::AlreadyConnected);
    }
    // SAFETY: forwarded from this function's contract.
    unsafe { crate::logger::install(cfg.log_level) };
    let ctx = Ctx(cfg.ctx);
    let mut delay = ZephyrDelay;
    let mut chip = Chip::new(ZephyrSpi::new(ctx));
    if cfg.has_reset_pin {
        chip.hardware_reset(&mut ZephyrResetPin::new(ctx), &mut delay)?;
    }
    let static_ipv4 = nonzero(&cfg.static_ipv4);
    let mut config = Config::new(cfg.mac);
    config.tx_buf = buffers(&cfg.tx_buf_kb)?;
    config.rx_buf = buffers(&cfg.rx_buf_kb)?;
    if cfg.dhcp {
        // TODO(iface): start the DHCP client; the static configuration is only the fallback
        // after a failed DISCOVER. Until the interface layer is merged it applies at once.
        log::warn!("DHCP needs the interface layer; using the static IPv4 fallback");
    }
    if let Some(ip) = static_ipv4 {
        config.ip = Ipv4Addr::from(ip.addr);
        config.netmask = Ipv4Addr::from(ip.netmask);
        config.gateway = Ipv4Addr::from(ip.gateway);
    }
    chip.init(&mut delay, &config)?;
    let stack = Stack::new(
        chip,
        StackConfig {
            reserved_for_services: cfg.reserved_sockets,
            ..StackConfig::default()
        },
    )?;
    let os = ZephyrOs::new(
        ctx,
        stack,
        cfg.has_int_pin,
        u64::from(cfg.poll_interval_ms.max(1)),
    );
    let driver = Driver {
        bsd: Bsd::new(os),
        reserved: cfg.reserved_sockets,
        dhcp: cfg.dhcp,
        static_ipv4,
        link_reported: AtomicBool::new(false),
        addr_reported: AtomicBool::new(false),
    };
    // SAFETY: not ready yet, so nobody else reads the cell; the contract rules out a
    // concurrent `init`.
    unsafe { (*INSTANCE.cell.get()).write(driver) };
    INSTANCE.ready.store(true, Ordering::Release);
    log::info!(
        "W5500 up, MAC {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        cfg.mac[0],
        cfg.mac[1],
        cfg.mac[2],
        cfg.mac[3],
        cfg.mac[4],
        cfg.mac[5]
    );
    Ok(())
}

impl Driver {
    /// One worker step: drain the chip's interrupt state and wake waiters.
    pub fn service(&self) -> Result<()> {
        self.bsd.on_interrupt()
    }

    /// The next interface change the C layer has not seen yet. Single consumer: the worker.
    pub fn next_event(&self) -> W5500RsEvent {
        let link = self.bsd.os_link_up();
        if link != self.link_reported.load(Ordering::Relaxed) {
            self.link_reported.store(link, Ordering::Relaxed);
            return W5500RsEvent::bare(if link {
                W5500RsEventKind::LinkUp
            } else {
                W5500RsEventKind::LinkDown
            });
        }
        if link && !self.addr_reported.load(Ordering::Relaxed) {
            if let Some(ip) = self.static_ipv4 {
                self.addr_reported.store(true, Ordering::Relaxed);
                return W5500RsEvent {
                    ipv4: ip,
                    ..W5500RsEvent::bare(W5500RsEventKind::AddressAdded)
                };
            }
        }
        W5500RsEvent::bare(W5500RsEventKind::None)
    }
}

/// Link state through the OS binding.
trait LinkUp {
    fn os_link_up(&self) -> bool;
}

impl LinkUp for Bsd<ZephyrOs> {
    fn os_link_up(&self) -> bool {
        use w5500_driver::bsd::Os;
        self.os().with_stack(|s| s.link().link_up)
    }
}
