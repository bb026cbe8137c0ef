//! The one `#[panic_handler]` of a C application's image (feature `panic-handler`): log where
//! it happened (file and line, no message: formatting it would link `core::fmt`), then
//! `k_panic()`. The driver is written so that this is dead code.

use core::panic::PanicInfo;

use crate::sys;

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    match info.location() {
        Some(at) => w5500_log::error!("Rust panic at", at.file(), at.line()),
        None => w5500_log::error!("Rust panic"),
    }
    // SAFETY: `w5500_shim_panic` calls `k_panic()` and does not return.
    unsafe { sys::w5500_shim_panic() }
}

/// The precompiled `core` of hosted targets (the `x86_64-unknown-linux-gnu` archive linked
/// into `native_posix_64`/`native_sim` executables) refers to the unwinding personality even
/// with `panic = "abort"`; nothing ever unwinds, so an empty one satisfies the linker.
#[cfg(target_os = "linux")]
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}
