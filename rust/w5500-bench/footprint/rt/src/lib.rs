//! Runtime of the footprint probes: a reset vector that calls the probe's `probe_main`, a
//! panic handler that halts, a polled SPI device on a memory-mapped data register (volatile,
//! so nothing the driver reads can be constant-folded) and a busy-wait delay. The probes
//! are only linked and measured, never run.
#![no_std]

use core::convert::Infallible;
use core::ptr::{read_volatile, write_volatile};

use embedded_hal::delay::DelayNs;
use embedded_hal::spi::{ErrorType, Operation, SpiDevice};

/// An SPI data register (STM32-style; any address works for a link-only probe).
const SPI_DR: *mut u32 = 0x4001_300C as *mut u32;
/// A free-running millisecond counter (a timer register).
const TIMER: *const u32 = 0x4000_0024 as *const u32;

extern "C" {
    fn probe_main() -> !;
}

/// Reset handler: straight into the probe.
///
/// # Safety
/// Called by the hardware only.
#[no_mangle]
pub unsafe extern "C" fn Reset() -> ! {
    // SAFETY: `probe_main` is the probe binary's entry point (`#[no_mangle]`, never returns);
    // this is its only caller.
    unsafe { probe_main() }
}

#[link_section = ".vector_table.sp"]
#[used]
static INITIAL_SP: u32 = 0x2004_0000;

#[link_section = ".vector_table.reset"]
#[used]
static RESET: unsafe extern "C" fn() -> ! = Reset;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {
        // SAFETY: a volatile read of a device register keeps the loop alive.
        unsafe {
            read_volatile(TIMER);
        }
    }
}

/// A polled SPI device: every byte through the data register.
pub struct Spi;

impl ErrorType for Spi {
    type Error = Infallible;
}

fn xfer(b: u8) -> u8 {
    // SAFETY: device registers of a link-only probe.
    unsafe {
        write_volatile(SPI_DR, u32::from(b));
        read_volatile(SPI_DR) as u8
    }
}

impl SpiDevice for Spi {
    fn transaction(&mut self, ops: &mut [Operation<'_, u8>]) -> Result<(), Infallible> {
        for op in ops {
            match op {
                Operation::Write(w) => w.iter().for_each(|&b| {
                    xfer(b);
                }),
                Operation::Read(r) => r.iter_mut().for_each(|b| *b = xfer(0)),
                Operation::Transfer(r, w) => {
                    for i in 0..r.len().max(w.len()) {
                        let x = xfer(w.get(i).copied().unwrap_or(0));
                        if let Some(d) = r.get_mut(i) {
                            *d = x;
                        }
                    }
                }
                Operation::TransferInPlace(b) => b.iter_mut().for_each(|x| *x = xfer(*x)),
                Operation::DelayNs(ns) => Delay.delay_ns(*ns),
            }
        }
        Ok(())
    }
}

/// The millisecond clock.
pub fn now_ms() -> u64 {
    // SAFETY: a timer register of a link-only probe.
    u64::from(unsafe { read_volatile(TIMER) })
}

/// A busy-wait delay on the timer register.
pub struct Delay;

impl DelayNs for Delay {
    fn delay_ns(&mut self, ns: u32) {
        let end = now_ms().wrapping_add(u64::from(ns / 1_000_000) + 1);
        while now_ms() < end {}
    }
}

/// A value from the outside world (so the probe's control flow is not known at build time).
pub fn input() -> u32 {
    // SAFETY: a device register of a link-only probe.
    unsafe { read_volatile(SPI_DR) }
}

/// Use the SPI device and delay the way a stack does (so the baseline holds their code).
pub fn exercise_spi() {
    let mut buf = [0u8; 4];
    let mut out = [1u8; 4];
    let mut io = [2u8; 4];
    let _ = Spi.transaction(&mut [
        Operation::Write(&[0, 1, 2]),
        Operation::Read(&mut buf),
        Operation::Transfer(&mut out, &[3]),
        Operation::TransferInPlace(&mut io),
        Operation::DelayNs(input()),
    ]);
    core::hint::black_box((buf, out, io));
}
