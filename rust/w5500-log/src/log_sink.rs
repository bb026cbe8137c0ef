//! Without `c-sink`: records go to the `log` crate (host builds, tests, zephyr-lang-rust
//! applications, whose logger formats them anyway).

use core::ffi::CStr;
use core::fmt;

use crate::{Arg, Level};

/// Where a record was made: the `log` crate's target, module, file and line.
#[derive(Clone, Copy, Debug)]
pub struct Site {
    /// `module_path!()` of the call (also the record's target).
    pub module: &'static str,
    /// `file!()`.
    pub file: &'static str,
    /// `line!()`.
    pub line: u32,
}

/// The call site, as [`Site`].
#[doc(hidden)]
#[macro_export]
macro_rules! __site {
    () => {
        $crate::Site {
            module: ::core::module_path!(),
            file: ::core::file!(),
            line: ::core::line!(),
        }
    };
}

impl fmt::Display for Arg<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::U32(v) => write!(f, "{v}"),
            Arg::I32(v) => write!(f, "{v}"),
            Arg::Hex(v) => write!(f, "{v:#x}"),
            Arg::Ipv4(v) => write!(f, "{v}"),
            Arg::Str(v) => f.write_str(v),
        }
    }
}

/// The record's text: the message, then each argument after a blank.
pub(crate) struct Text<'a, 'b>(pub(crate) &'a CStr, pub(crate) &'a [Arg<'b>]);

impl fmt::Display for Text<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.to_str().unwrap_or("?"))?;
        for a in self.1 {
            write!(f, " {a}")?;
        }
        Ok(())
    }
}

/// Hand one record to the `log` crate's logger (what the macros call).
pub fn emit(site: Site, level: Level, msg: &'static CStr, args: &[Arg<'_>]) {
    let level = match level {
        Level::Error => log::Level::Error,
        Level::Warn => log::Level::Warn,
        Level::Info => log::Level::Info,
        Level::Debug => log::Level::Debug,
    };
    if level > log::max_level() {
        return;
    }
    log::logger().log(
        &log::Record::builder()
            .level(level)
            .target(site.module)
            .module_path_static(Some(site.module))
            .file_static(Some(site.file))
            .line(Some(site.line))
            .args(format_args!("{}", Text(msg, args)))
            .build(),
    );
}
