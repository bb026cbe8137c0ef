//! The markers of the CPU measurement ([`crate::cpu`]): what counts as driver code.
//!
//! Every driver-facing call of every harness goes through [`drv`], and everything inside a
//! driver call that is not driver code (the spy and the simulated chip behind the SPI
//! device, the simulated clock and waits of the OS layer, the harness's own data checks)
//! goes through [`excl`]. Both end in an `#[inline(never)]` marker function
//! (`bench_cpu_driver`, `bench_cpu_outside`), and the callgrind run toggles collection on
//! entry and exit of both markers, starting with collection off:
//! `valgrind --tool=callgrind --collect-atstart=no --toggle-collect=*bench_cpu_driver*
//! --toggle-collect=*bench_cpu_outside*`. The toggles nest (on in the driver, off again in
//! the SPI device, on again when it returns), so the count is driver code only. Markers are
//! entered only while a measurement runs (between `Env::start` and `Env::stop`), only at
//! the outermost level, and `excl` only inside a driver call, so a toggle never fires in
//! the wrong state.
//!
//! The lowest layer of the bench: it imports no other module of it.

use std::cell::Cell;

thread_local! {
    static MEASURING: Cell<bool> = const { Cell::new(false) };
    static IN_DRIVER: Cell<bool> = const { Cell::new(false) };
    static OUTSIDE: Cell<bool> = const { Cell::new(false) };
}

/// Measurement on or off (called by `Env::start` / `Env::stop`).
pub fn set_measuring(on: bool) {
    MEASURING.with(|m| m.set(on));
}

/// The marker callgrind toggles on: driver code runs inside it.
#[inline(never)]
fn bench_cpu_driver<R>(f: impl FnOnce() -> R) -> R {
    std::hint::black_box(f())
}

/// The marker callgrind toggles off again: not driver code (SPI device, simulator, clock,
/// waits, harness checks) inside a driver call.
#[inline(never)]
fn bench_cpu_outside<R>(f: impl FnOnce() -> R) -> R {
    std::hint::black_box(f())
}

/// Run a driver-facing call (counted).
pub fn drv<R>(f: impl FnOnce() -> R) -> R {
    let enter =
        MEASURING.with(|m| m.get()) && !IN_DRIVER.with(|d| d.get()) && !OUTSIDE.with(|o| o.get());
    if !enter {
        return f();
    }
    IN_DRIVER.with(|d| d.set(true));
    let r = bench_cpu_driver(f);
    IN_DRIVER.with(|d| d.set(false));
    r
}

/// Run something that is not driver code from inside a driver call (not counted).
pub fn excl<R>(f: impl FnOnce() -> R) -> R {
    let enter = IN_DRIVER.with(|d| d.get()) && !OUTSIDE.with(|o| o.get());
    if !enter {
        return f();
    }
    OUTSIDE.with(|o| o.set(true));
    let r = bench_cpu_outside(f);
    OUTSIDE.with(|o| o.set(false));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Markers nest only when a measurement runs and never re-enter.
    #[test]
    fn markers_nest_once() {
        set_measuring(true);
        let inner = drv(|| {
            assert!(IN_DRIVER.with(|d| d.get()));
            let x = excl(|| {
                assert!(OUTSIDE.with(|o| o.get()));
                // A driver call from outside code does not re-enter.
                drv(|| IN_DRIVER.with(|d| d.get()))
            });
            assert!(!OUTSIDE.with(|o| o.get()));
            x
        });
        assert!(inner);
        set_measuring(false);
        assert!(!drv(|| IN_DRIVER.with(|d| d.get())));
    }
}
