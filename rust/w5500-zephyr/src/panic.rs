//! The one `#[panic_handler]` of a C application's image (feature `panic-handler`): log the
//! message, then `k_panic()`. The driver is written so that this is dead code.

use core::panic::PanicInfo;

use crate::sys;

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    crate::logger::emit(1, format_args!("Rust panic: {info}"));
    // SAFETY: `w5500_shim_panic` calls `k_panic()` and does not return.
    unsafe { sys::w5500_shim_panic() }
}

/// The precompiled `core` of hosted targets (the `x86_64-unknown-linux-gnu` archive linked
/// into `native_posix_64`/`native_sim` executables) refers to the unwinding personality even
/// with `panic = "abort"`; nothing ever unwinds, so an empty one satisfies the linker.
#[cfg(target_os = "linux")]
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}
