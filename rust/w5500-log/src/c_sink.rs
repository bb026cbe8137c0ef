//! With `c-sink`: records go to the C shim, `w5500_shim_log_rec` in
//! `zephyr/src/w5500_shim.c`, which prints the arguments with `%u`/`%d`/`0x%x`/`%.*s` and
//! logs `"%s%s"` (message, arguments) at the record's level in the `w5500_offload` log
//! module. Nothing here formats: the message is a NUL-terminated static string, the
//! arguments are integers and (pointer, length) pairs ([`LogArg`]).
#![allow(unsafe_code)]

use core::ffi::{c_char, CStr};

use crate::{Arg, Level, LogArg, LogArgKind};

/// Where a record was made: nothing on the target (no module paths or file names in flash).
pub type Site = ();

/// The call site: `()` on the target.
#[doc(hidden)]
#[macro_export]
macro_rules! __site {
    () => {
        ()
    };
}

/// The most arguments C prints (the rest are dropped).
const MAX_ARGS: usize = 3;

extern "C" {
    /// Log `msg` and the `n` arguments at `level` (1 error .. 4 debug). Declared for the
    /// header in `rust/w5500-zephyr/src/sys.rs`.
    fn w5500_shim_log_rec(level: u8, msg: *const c_char, args: *const LogArg, n: usize);
}

/// Hand one record to the C shim (what the macros call).
pub fn emit(_site: Site, level: Level, msg: &'static CStr, args: &[Arg<'_>]) {
    let mut c = [LogArg {
        kind: LogArgKind::U32,
        value: 0,
        str: core::ptr::null(),
    }; MAX_ARGS];
    for (d, a) in c.iter_mut().zip(args) {
        *d = a.into();
    }
    let n = args.len().min(MAX_ARGS);
    // SAFETY: `msg` is NUL-terminated and static; `c` holds `n` initialised arguments, each
    // text one pointing at `value` readable bytes that outlive the call (C copies them
    // before it returns).
    unsafe { w5500_shim_log_rec(level as u8, msg.as_ptr(), c.as_ptr(), n) }
}
