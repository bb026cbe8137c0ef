//! The driver's OS interface ([`w5500_driver::bsd::Os`]) and embedded-hal devices on the C
//! shim: SPI through Zephyr's SPI API, RSTn through GPIO, delays, the stack mutex, the
//! wake-up epoch and the wait that releases the caller's fd lock.

use core::cell::UnsafeCell;
use core::ffi::c_void;

use embedded_hal::delay::DelayNs;
use embedded_hal::digital::{ErrorType as PinErrorType, OutputPin};
use embedded_hal::spi::{ErrorKind, ErrorType, Operation, SpiDevice};
use w5500_driver::bsd::Os;
use w5500_driver::stack::{SocketId, Stack};

use crate::abi::W5500RsSpiBuf;
use crate::sys;

/// The C device context handed to every shim call.
#[derive(Clone, Copy, Debug)]
pub struct Ctx(pub *mut c_void);

// SAFETY: the context is the C driver's static per-device data; every shim that receives it
// does its own locking, so it may be used from any thread.
unsafe impl Send for Ctx {}
// SAFETY: as above; the pointer is never dereferenced in Rust.
unsafe impl Sync for Ctx {}

/// Most pieces one SPI frame may have (the driver uses two: header, then data).
const MAX_PIECES: usize = 8;

/// An SPI failure reported by Zephyr's SPI driver (negative errno kept for logs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpiError(pub i32);

impl embedded_hal::spi::Error for SpiError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Other
    }
}

/// The W5500's SPI device: one `spi_transceive` per embedded-hal transaction.
#[derive(Debug)]
pub struct ZephyrSpi {
    ctx: Ctx,
}

impl ZephyrSpi {
    /// The device behind `ctx`.
    pub fn new(ctx: Ctx) -> Self {
        ZephyrSpi { ctx }
    }
}

impl ErrorType for ZephyrSpi {
    type Error = SpiError;
}

fn push(bufs: &mut [W5500RsSpiBuf; MAX_PIECES], n: &mut usize, b: W5500RsSpiBuf) -> bool {
    if b.len == 0 {
        return true;
    }
    match bufs.get_mut(*n) {
        Some(slot) => {
            *slot = b;
            *n += 1;
            true
        }
        None => false,
    }
}

impl SpiDevice<u8> for ZephyrSpi {
    fn transaction(&mut self, operations: &mut [Operation<'_, u8>]) -> Result<(), SpiError> {
        let mut bufs = [W5500RsSpiBuf::EMPTY; MAX_PIECES];
        let mut n = 0;
        for op in operations.iter_mut() {
            let ok = match op {
                Operation::Read(b) => push(
                    &mut bufs,
                    &mut n,
                    W5500RsSpiBuf {
                        tx: core::ptr::null(),
                        rx: b.as_mut_ptr(),
                        len: b.len(),
                    },
                ),
                Operation::Write(b) => push(
                    &mut bufs,
                    &mut n,
                    W5500RsSpiBuf {
                        tx: b.as_ptr(),
                        rx: core::ptr::null_mut(),
                        len: b.len(),
                    },
                ),
                Operation::Transfer(r, w) => {
                    // Common part both ways, then the longer side alone.
                    let common = r.len().min(w.len());
                    let (r0, r1) = r.split_at_mut(common);
                    let (w0, w1) = w.split_at(common);
                    push(
                        &mut bufs,
                        &mut n,
                        W5500RsSpiBuf {
                            tx: w0.as_ptr(),
                            rx: r0.as_mut_ptr(),
                            len: common,
                        },
                    ) && push(
                        &mut bufs,
                        &mut n,
                        W5500RsSpiBuf {
                            tx: w1.as_ptr(),
                            rx: core::ptr::null_mut(),
                            len: w1.len(),
                        },
                    ) && push(
                        &mut bufs,
                        &mut n,
                        W5500RsSpiBuf {
                            tx: core::ptr::null(),
                            rx: r1.as_mut_ptr(),
                            len: r1.len(),
                        },
                    )
                }
                Operation::TransferInPlace(b) => push(
                    &mut bufs,
                    &mut n,
                    W5500RsSpiBuf {
                        tx: b.as_ptr(),
                        rx: b.as_mut_ptr(),
                        len: b.len(),
                    },
                ),
                // A delay inside a frame cannot be one spi_transceive; the driver never asks.
                Operation::DelayNs(_) => false,
            };
            if !ok {
                return Err(SpiError(-22));
            }
        }
        // SAFETY: `bufs[..n]` point into the operations' buffers, which outlive this call;
        // the shim only reads `tx` and writes `rx` within `len`.
        let r = unsafe { sys::w5500_shim_spi_transceive(self.ctx.0, bufs.as_ptr(), n) };
        if r < 0 {
            Err(SpiError(r))
        } else {
            Ok(())
        }
    }
}

/// RSTn through the shim.
#[derive(Debug)]
pub struct ZephyrResetPin {
    ctx: Ctx,
}

impl ZephyrResetPin {
    /// The reset pin of the chip behind `ctx`.
    pub fn new(ctx: Ctx) -> Self {
        ZephyrResetPin { ctx }
    }
}

/// A GPIO failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PinError;

impl embedded_hal::digital::Error for PinError {
    fn kind(&self) -> embedded_hal::digital::ErrorKind {
        embedded_hal::digital::ErrorKind::Other
    }
}

impl PinErrorType for ZephyrResetPin {
    type Error = PinError;
}

impl OutputPin for ZephyrResetPin {
    fn set_low(&mut self) -> Result<(), PinError> {
        // SAFETY: plain call into the shim with the device context.
        match unsafe { sys::w5500_shim_reset_pin(self.ctx.0, true) } {
            0 => Ok(()),
            _ => Err(PinError),
        }
    }

    fn set_high(&mut self) -> Result<(), PinError> {
        // SAFETY: as above.
        match unsafe { sys::w5500_shim_reset_pin(self.ctx.0, false) } {
            0 => Ok(()),
            _ => Err(PinError),
        }
    }
}

/// Delays through the kernel.
#[derive(Debug, Default)]
pub struct ZephyrDelay;

impl DelayNs for ZephyrDelay {
    fn delay_ns(&mut self, ns: u32) {
        // SAFETY: plain call into the shim.
        unsafe { sys::w5500_shim_delay_us(ns.div_ceil(1000)) }
    }

    fn delay_us(&mut self, us: u32) {
        // SAFETY: plain call into the shim.
        unsafe { sys::w5500_shim_delay_us(us) }
    }
}

/// [`Os`] on Zephyr: the stack behind a `k_mutex`, uptime as the clock, and waits on a
/// `k_condvar` that release the waiting socket's fd lock.
pub struct ZephyrOs {
    ctx: Ctx,
    stack: UnsafeCell<Stack<ZephyrSpi>>,
    int_pin: bool,
    poll_ms: u64,
}

// SAFETY: `stack` is only reached through `with_stack`, which holds the C stack mutex for the
// whole closure; everything else is immutable.
unsafe impl Sync for ZephyrOs {}
// SAFETY: the stack owns only plain data and the context pointer (see `Ctx`).
unsafe impl Send for ZephyrOs {}

impl ZephyrOs {
    /// Bind `stack` to the C device `ctx`.
    pub fn new(ctx: Ctx, stack: Stack<ZephyrSpi>, int_pin: bool, poll_ms: u64) -> Self {
        ZephyrOs {
            ctx,
            stack: UnsafeCell::new(stack),
            int_pin,
            poll_ms,
        }
    }
}

impl Os for ZephyrOs {
    type Spi = ZephyrSpi;

    fn with_stack<R>(&self, f: impl FnOnce(&mut Stack<ZephyrSpi>) -> R) -> R {
        // SAFETY: plain call into the shim.
        unsafe { sys::w5500_shim_stack_lock(self.ctx.0) };
        // SAFETY: the stack mutex is held, so no other thread holds a reference; `k_mutex`
        // is recursive, but neither the driver's closures nor this crate call `with_stack`
        // from inside one, so this is the only live reference.
        let r = f(unsafe { &mut *self.stack.get() });
        // SAFETY: plain call into the shim.
        unsafe { sys::w5500_shim_stack_unlock(self.ctx.0) };
        r
    }

    fn now_ms(&self) -> u64 {
        // SAFETY: plain call into the shim.
        unsafe { sys::w5500_shim_uptime_ms() }
    }

    fn epoch(&self) -> u32 {
        // SAFETY: plain call into the shim.
        unsafe { sys::w5500_shim_epoch(self.ctx.0) }
    }

    fn wait(&self, socket: Option<SocketId>, seen: u32, deadline_ms: u64) {
        let index = socket.map_or(-1, |s| i32::try_from(s.index()).unwrap_or(-1));
        // SAFETY: plain call into the shim; it unlocks and relocks the fd mutex itself.
        unsafe { sys::w5500_shim_wait(self.ctx.0, index, seen, deadline_ms) }
    }

    fn notify_all(&self) {
        // SAFETY: plain call into the shim.
        unsafe { sys::w5500_shim_notify_all(self.ctx.0) }
    }

    fn has_interrupt_pin(&self) -> bool {
        self.int_pin
    }

    fn poll_interval_ms(&self) -> u64 {
        self.poll_ms
    }
}
