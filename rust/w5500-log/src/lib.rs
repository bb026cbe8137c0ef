//! The driver's log records, without Rust formatting on the target.
//!
//! Every driver crate logs through this crate's macros ([`error!`], [`warn!`], [`info!`],
//! [`debug!`]): a message that is a string literal, and up to three arguments that are
//! integers, IPv4 addresses or strings ([`Arg`]). Where a record goes is chosen once, for the
//! whole build, by this crate's features:
//!
//! - default (host builds, tests, zephyr-lang-rust applications): forwarded to the `log`
//!   crate, formatted as `"<message> <arg> <arg>"`, with the call site's module as target;
//! - `c-sink` (the C application's static library): handed to the C shim's
//!   `w5500_shim_log_rec`, which prints the arguments with `%u`/`%d`/`%s` and logs the line in
//!   the `w5500_offload` Zephyr log module. No `core::fmt` is reached, and none is linked
//!   (`scripts/check-no-fmt.sh` fails an image that has it).
//!
//! Records more detailed than the `max-level-*` feature (the Kconfig log level) are removed
//! at compile time, strings and all.
//!
//! ```
//! use core::net::Ipv4Addr;
//! w5500_log::info!("dhcp: bound to", Ipv4Addr::new(10, 77, 0, 20));
//! w5500_log::warn!("stack: SEND never completed; socket", 3u8);
//! w5500_log::debug!("dns: ignored datagram");
//! ```
#![no_std]
#![cfg_attr(not(feature = "c-sink"), forbid(unsafe_code))]

use core::ffi::CStr;
use core::net::Ipv4Addr;

#[cfg(feature = "c-sink")]
mod c_sink;
#[cfg(not(feature = "c-sink"))]
mod log_sink;

#[cfg(feature = "c-sink")]
pub use c_sink::{emit, Site};
#[cfg(not(feature = "c-sink"))]
pub use log_sink::{emit, Site};

/// A record's severity, numbered as Zephyr's `LOG_LEVEL_ERR` .. `LOG_LEVEL_DBG`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    /// Something failed and was given up.
    Error = 1,
    /// Something went wrong and was worked around.
    Warn = 2,
    /// A state change a user wants to see (lease bound, chip up).
    Info = 3,
    /// Details for whoever debugs the driver.
    Debug = 4,
}

/// The most detailed level compiled in: 0 (none) .. 4 (debug), from the `max-level-*`
/// features (the most restrictive one wins).
pub const MAX_LEVEL: u8 = if cfg!(feature = "max-level-off") {
    0
} else if cfg!(feature = "max-level-error") {
    1
} else if cfg!(feature = "max-level-warn") {
    2
} else if cfg!(feature = "max-level-info") {
    3
} else {
    4
};

/// Whether records at `level` are compiled in (see [`MAX_LEVEL`]).
pub const fn enabled(level: Level) -> bool {
    level as u8 <= MAX_LEVEL
}

/// One argument of a record: what C's `printf` prints without Rust's help.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg<'a> {
    /// Unsigned decimal (`%u`).
    U32(u32),
    /// Signed decimal (`%d`).
    I32(i32),
    /// Hexadecimal with `0x` (`0x%x`): register values.
    Hex(u32),
    /// Dotted-quad IPv4 address.
    Ipv4(Ipv4Addr),
    /// Text, copied when the record is made (need not outlive the call).
    Str(&'a str),
}

impl From<u8> for Arg<'_> {
    fn from(v: u8) -> Self {
        Arg::U32(v.into())
    }
}

impl From<u16> for Arg<'_> {
    fn from(v: u16) -> Self {
        Arg::U32(v.into())
    }
}

impl From<u32> for Arg<'_> {
    fn from(v: u32) -> Self {
        Arg::U32(v)
    }
}

/// Saturates at `u32::MAX` (lengths and counts).
impl From<usize> for Arg<'_> {
    fn from(v: usize) -> Self {
        Arg::U32(u32::try_from(v).unwrap_or(u32::MAX))
    }
}

impl From<i32> for Arg<'_> {
    fn from(v: i32) -> Self {
        Arg::I32(v)
    }
}

impl From<Ipv4Addr> for Arg<'_> {
    fn from(v: Ipv4Addr) -> Self {
        Arg::Ipv4(v)
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Str(v)
    }
}

/// How C prints a log argument (`W5500RsLogArgKind` in `w5500_rs.h`, feature `c-sink`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum LogArgKind {
    /// `%u` of `value`.
    U32 = 1,
    /// `%d` of `value` as a signed number.
    I32,
    /// `0x%x` of `value`.
    Hex,
    /// `value` as an IPv4 address, first octet in the low byte.
    Ipv4,
    /// `value` bytes of text at `str` (not NUL-terminated).
    Str,
}

/// One log argument as C receives it (`W5500RsLogArg` in `w5500_rs.h`, feature `c-sink`).
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub struct LogArg {
    /// How to print it.
    pub kind: LogArgKind,
    /// The number, or the text's length.
    pub value: u32,
    /// The text (kind `Str`), else null.
    pub str: *const core::ffi::c_char,
}

impl From<&Arg<'_>> for LogArg {
    fn from(a: &Arg<'_>) -> Self {
        let (kind, value, str) = match *a {
            Arg::U32(v) => (LogArgKind::U32, v, core::ptr::null()),
            Arg::I32(v) => (LogArgKind::I32, v as u32, core::ptr::null()),
            Arg::Hex(v) => (LogArgKind::Hex, v, core::ptr::null()),
            Arg::Ipv4(v) => (
                LogArgKind::Ipv4,
                u32::from_le_bytes(v.octets()),
                core::ptr::null(),
            ),
            Arg::Str(s) => (
                LogArgKind::Str,
                u32::try_from(s.len()).unwrap_or(u32::MAX),
                s.as_ptr().cast(),
            ),
        };
        LogArg { kind, value, str }
    }
}

/// `concat!(msg, "\0")` as a `&'static CStr`, checked at compile time.
#[doc(hidden)]
pub const fn __cstr(with_nul: &'static str) -> &'static CStr {
    match CStr::from_bytes_with_nul(with_nul.as_bytes()) {
        Ok(c) => c,
        Err(_) => panic!("a log message must not contain NUL"),
    }
}

/// Log a record at `level`: a string literal, then up to three arguments (anything with
/// `Into<Arg>`). Below [`MAX_LEVEL`] the call compiles to nothing.
#[macro_export]
macro_rules! log {
    ($level:expr, $msg:literal $(, $arg:expr)* $(,)?) => {{
        const LEVEL: $crate::Level = $level;
        if $crate::enabled(LEVEL) {
            const MSG: &::core::ffi::CStr = $crate::__cstr(::core::concat!($msg, "\0"));
            $crate::emit(
                $crate::__site!(),
                LEVEL,
                MSG,
                &[$($crate::Arg::from($arg)),*],
            );
        }
    }};
}

/// [`log!`] at [`Level::Error`].
#[macro_export]
macro_rules! error {
    ($($t:tt)*) => { $crate::log!($crate::Level::Error, $($t)*) };
}

/// [`log!`] at [`Level::Warn`].
#[macro_export]
macro_rules! warn {
    ($($t:tt)*) => { $crate::log!($crate::Level::Warn, $($t)*) };
}

/// [`log!`] at [`Level::Info`].
#[macro_export]
macro_rules! info {
    ($($t:tt)*) => { $crate::log!($crate::Level::Info, $($t)*) };
}

/// [`log!`] at [`Level::Debug`].
#[macro_export]
macro_rules! debug {
    ($($t:tt)*) => { $crate::log!($crate::Level::Debug, $($t)*) };
}

#[cfg(all(test, not(feature = "c-sink")))]
mod tests;
