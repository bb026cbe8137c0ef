//! The C shim functions Rust calls (`zephyr/src/w5500_shim.c`, prototypes in
//! `zephyr/include/w5500_offload/w5500_shim.h`). Direction is in the name: Rust exports
//! `w5500_rs_*`, C exports `w5500_shim_*`.
//!
//! In host unit tests the same names are provided by [`fake`], whose SPI reaches the W5500
//! simulator, so the exported C ABI is exercised without Zephyr.

#[cfg(not(test))]
mod imports {
    use core::ffi::{c_char, c_void};

    use crate::abi::W5500RsSpiBuf;

    extern "C" {
        /// One `spi_transceive` for `n` pieces, chip select held for the whole frame. Returns
        /// 0 or a negative errno.
        pub fn w5500_shim_spi_transceive(
            ctx: *mut c_void,
            bufs: *const W5500RsSpiBuf,
            n: usize,
        ) -> i32;
        /// Drive RSTn (`low`: held in reset). Returns 0 or a negative errno.
        pub fn w5500_shim_reset_pin(ctx: *mut c_void, low: bool) -> i32;
        /// Wait `us` microseconds (busy-wait below 1 ms, sleep above).
        pub fn w5500_shim_delay_us(us: u32);
        /// `k_uptime_get()`.
        pub fn w5500_shim_uptime_ms() -> u64;
        /// Lock the per-chip stack mutex.
        pub fn w5500_shim_stack_lock(ctx: *mut c_void);
        /// Unlock it.
        pub fn w5500_shim_stack_unlock(ctx: *mut c_void);
        /// Lock the interface mutex (DHCP/DNS state). Lock order: interface, then stack,
        /// then the wait lock; never the interface lock while holding the stack lock.
        pub fn w5500_shim_iface_lock(ctx: *mut c_void);
        /// Unlock it.
        pub fn w5500_shim_iface_unlock(ctx: *mut c_void);
        /// Wake the worker thread so it polls the interface now (after a runtime change).
        pub fn w5500_shim_kick_worker(ctx: *mut c_void);
        /// The wake-up epoch.
        pub fn w5500_shim_epoch(ctx: *mut c_void) -> u32;
        /// Wait until the epoch differs from `seen` or uptime reaches `deadline_ms`,
        /// releasing the fd lock of socket `socket_index` (-1: none) while waiting.
        pub fn w5500_shim_wait(ctx: *mut c_void, socket_index: i32, seen: u32, deadline_ms: u64);
        /// Bump the epoch, wake waiters and raise every socket's poll signal.
        pub fn w5500_shim_notify_all(ctx: *mut c_void);
        /// Log `msg` (NUL-terminated) at `level` (1 error .. 4 debug) in the driver's log module.
        pub fn w5500_shim_log(level: u8, msg: *const c_char);
        /// Log `msg` (NUL-terminated, static) followed by the `n` arguments (each printed by
        /// C after a blank) at `level` (1 error .. 4 debug) in the driver's log module. Called
        /// by w5500-log's `c-sink` (feature `c-log`): no Rust formatting on the target.
        pub fn w5500_shim_log_rec(
            level: u8,
            msg: *const c_char,
            args: *const w5500_log::LogArg,
            n: usize,
        );
        /// `k_panic()`; never returns.
        pub fn w5500_shim_panic() -> !;
        /// `k_aligned_alloc(align, size)`.
        pub fn w5500_shim_malloc(size: usize, align: usize) -> *mut c_void;
        /// `k_free(p)`.
        pub fn w5500_shim_free(p: *mut c_void);
        /// The emulator heap's bytes in use and free (`sys_heap_runtime_stats_get`). Returns 0,
        /// or a negative errno when there are no statistics. Only with the emulator.
        pub fn w5500_shim_emul_heap_stats(used: *mut usize, free_bytes: *mut usize) -> i32;
    }
}

#[cfg(not(test))]
pub use imports::*;

#[cfg(test)]
pub use fake::*;

/// A host stand-in for the C shim: the chip is the W5500 simulator on the standard LAN, with
/// a simulated clock that waits advance.
#[cfg(test)]
#[allow(missing_docs, clippy::missing_safety_doc, clippy::unwrap_used)]
pub mod fake {
    use core::ffi::{c_char, c_void};
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::sync::Mutex;
    use std::time::Duration;

    use w5500_sim::{Lan, Sim};

    use crate::abi::W5500RsSpiBuf;

    /// The simulated chip behind the fake SPI.
    pub static SIM: Mutex<Option<Sim<Lan>>> = Mutex::new(None);
    static STACK_LOCK: AtomicBool = AtomicBool::new(false);
    static EPOCH: AtomicU32 = AtomicU32::new(0);

    /// Run `f` on the simulator (created on first use).
    pub fn with_sim<R>(f: impl FnOnce(&mut Sim<Lan>) -> R) -> R {
        let mut g = SIM.lock().unwrap_or_else(|e| e.into_inner());
        let sim = g.get_or_insert_with(|| Sim::new(Lan::standard()));
        f(sim)
    }

    pub unsafe fn w5500_shim_spi_transceive(
        _ctx: *mut c_void,
        bufs: *const W5500RsSpiBuf,
        n: usize,
    ) -> i32 {
        // SAFETY: the caller passes `n` valid pieces.
        let bufs = unsafe { std::slice::from_raw_parts(bufs, n) };
        with_sim(|s| {
            if s.select().is_err() {
                return -5;
            }
            for b in bufs {
                let mut tmp = vec![0u8; b.len];
                if !b.tx.is_null() {
                    // SAFETY: `tx` points at `len` readable bytes.
                    tmp.copy_from_slice(unsafe { std::slice::from_raw_parts(b.tx, b.len) });
                }
                s.transfer_in_place(&mut tmp);
                if !b.rx.is_null() {
                    // SAFETY: `rx` points at `len` writable bytes.
                    unsafe { std::slice::from_raw_parts_mut(b.rx, b.len) }.copy_from_slice(&tmp);
                }
            }
            s.deselect();
            0
        })
    }

    pub unsafe fn w5500_shim_reset_pin(_ctx: *mut c_void, low: bool) -> i32 {
        with_sim(|s| s.set_reset_pin(low));
        0
    }

    pub unsafe fn w5500_shim_delay_us(us: u32) {
        with_sim(|s| s.advance(Duration::from_micros(u64::from(us))));
    }

    pub unsafe fn w5500_shim_uptime_ms() -> u64 {
        with_sim(|s| s.now().as_millis())
    }

    pub unsafe fn w5500_shim_stack_lock(_ctx: *mut c_void) {
        while STACK_LOCK
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::thread::yield_now();
        }
    }

    pub unsafe fn w5500_shim_stack_unlock(_ctx: *mut c_void) {
        STACK_LOCK.store(false, Ordering::Release);
    }

    static IFACE_LOCK: AtomicBool = AtomicBool::new(false);

    pub unsafe fn w5500_shim_iface_lock(_ctx: *mut c_void) {
        while IFACE_LOCK
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::thread::yield_now();
        }
    }

    pub unsafe fn w5500_shim_iface_unlock(_ctx: *mut c_void) {
        IFACE_LOCK.store(false, Ordering::Release);
    }

    pub unsafe fn w5500_shim_kick_worker(_ctx: *mut c_void) {}

    pub unsafe fn w5500_shim_epoch(_ctx: *mut c_void) -> u32 {
        EPOCH.load(Ordering::Acquire)
    }

    pub unsafe fn w5500_shim_wait(_ctx: *mut c_void, _socket: i32, seen: u32, deadline_ms: u64) {
        for _ in 0..10_000 {
            if EPOCH.load(Ordering::Acquire) != seen {
                return;
            }
            let now = with_sim(|s| {
                let deadline = w5500_sim::time::Instant::from_millis(deadline_ms);
                let target = match s.next_event() {
                    Some(t) if t < deadline => t,
                    _ => deadline,
                };
                if target > s.now() {
                    s.advance_to(target);
                }
                s.now().as_millis()
            });
            if now >= deadline_ms {
                return;
            }
        }
    }

    pub unsafe fn w5500_shim_notify_all(_ctx: *mut c_void) {
        EPOCH.fetch_add(1, Ordering::AcqRel);
    }

    thread_local! {
        /// Lines this thread logged through the shim (the last 1000), for tests.
        static LOGGED: std::cell::RefCell<Vec<(u8, String)>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }

    /// Take the lines this thread logged so far.
    pub fn take_logged() -> Vec<(u8, String)> {
        LOGGED.with(|l| std::mem::take(&mut *l.borrow_mut()))
    }

    pub unsafe fn w5500_shim_log(level: u8, msg: *const c_char) {
        // SAFETY: the logger passes a NUL-terminated buffer.
        let s = unsafe { std::ffi::CStr::from_ptr(msg) }.to_string_lossy();
        eprintln!("[w5500 {level}] {s}");
        let _ = LOGGED.try_with(|l| {
            let mut l = l.borrow_mut();
            if l.len() >= 1000 {
                l.remove(0);
            }
            l.push((level, s.into_owned()));
        });
    }

    pub unsafe fn w5500_shim_panic() -> ! {
        panic!("w5500_shim_panic")
    }

    pub unsafe fn w5500_shim_malloc(_size: usize, _align: usize) -> *mut c_void {
        std::ptr::null_mut()
    }

    pub unsafe fn w5500_shim_free(_p: *mut c_void) {}

    pub unsafe fn w5500_shim_emul_heap_stats(_used: *mut usize, _free: *mut usize) -> i32 {
        -38
    }
}
