//! Rust `log` records into Zephyr logging, and who owns the image's one `log` logger.
//!
//! The driver crates log through `w5500-log`. In the C application's static library (feature
//! `c-log`) their records go straight to the C shim as static strings and integers and never
//! reach this logger; there it serves only the in-image simulator (w5500-sim logs through
//! `log`), and without the simulator it is not installed and not linked, so the image has no
//! `core::fmt`. Without `c-log` (host builds, zephyr-lang-rust applications) `w5500-log`
//! forwards to `log`, and what follows applies to every record.
//!
//! The `log` facade holds one logger per image, and only the first `set_logger` wins.
//! - **C application**: the driver is the image's only Rust code, so at device init it
//!   installs its forwarding logger (each record formatted into a fixed stack
//!   buffer, no allocation, handed to `w5500_shim_log`, which logs it with `"%s"` in the
//!   `w5500_offload` log module) with `CONFIG_W5500_OFFLOAD_LOG_LEVEL`, but only if no logger
//!   is installed yet; if one is, it keeps that logger and its level.
//! - **zephyr-lang-rust application** (`CONFIG_RUST`, cfg `w5500_app_logger`): the
//!   application's logger is the image's. The driver installs none and never touches the
//!   level, so the application's `zephyr::set_logger()` succeeds whenever it runs, and the
//!   driver's records (from every driver crate) go through that logger at its level (Zephyr
//!   module `rust` for zephyr-lang-rust's). Until the application installs one, the `log`
//!   facade drops them, as for any library crate; the C layer's own `LOG_*` lines (module
//!   `w5500_offload`) are not affected.

use core::fmt::Write;

use log::{Level, LevelFilter, Log, Metadata, Record};

use crate::sys;

/// Longest log line; a longer message continues on further lines (indented by two spaces).
const LINE: usize = 120;
/// Most lines one message may take (the rest is cut).
const MAX_LINES: usize = 4;

struct Line {
    buf: [u8; LINE + 1],
    len: usize,
    level: u8,
    lines: usize,
}

impl Line {
    /// Hand the buffered line to Zephyr logging and start the next one.
    fn flush(&mut self) {
        if let Some(nul) = self.buf.get_mut(self.len) {
            *nul = 0;
        }
        // SAFETY: `buf` is NUL-terminated and lives across the call.
        unsafe { sys::w5500_shim_log(self.level, self.buf.as_ptr().cast()) }
        self.lines += 1;
        self.len = 0;
    }
}

impl Line {
    /// The line is full: log it up to its last blank (if that leaves at least half a line),
    /// and carry the rest over to the next line, indented by two spaces.
    fn wrap(&mut self) {
        let full = self.buf.get(..self.len).unwrap_or(&[]);
        let cut = full
            .iter()
            .rposition(|&b| b == b' ')
            .filter(|&i| i >= LINE / 2)
            .unwrap_or(self.len);
        let mut carry = [0u8; LINE];
        let rest = self.len.saturating_sub(cut.saturating_add(1)).min(LINE - 2);
        if let (Some(dst), Some(src)) = (
            carry.get_mut(..rest),
            self.buf
                .get(cut.saturating_add(1)..cut.saturating_add(1) + rest),
        ) {
            dst.copy_from_slice(src);
        }
        self.len = cut;
        self.flush();
        if let Some(indent) = self.buf.get_mut(..2) {
            indent.copy_from_slice(b"  ");
        }
        if let (Some(dst), Some(src)) = (self.buf.get_mut(2..2 + rest), carry.get(..rest)) {
            dst.copy_from_slice(src);
        }
        self.len = 2 + rest;
    }
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            if self.len >= LINE {
                if self.lines + 1 >= MAX_LINES {
                    break;
                }
                self.wrap();
            }
            // Drop interior NULs so C sees the whole line.
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = if b == 0 { b'?' } else { b };
                self.len += 1;
            }
        }
        Ok(())
    }
}

/// Format `args` and log them at `level` (1 error .. 4 debug), in lines of at most
/// [`LINE`] bytes (no allocation).
pub fn emit(level: u8, args: core::fmt::Arguments<'_>) {
    let mut line = Line {
        buf: [0; LINE + 1],
        len: 0,
        level,
        lines: 0,
    };
    let _ = line.write_fmt(args);
    if line.len > 0 || line.lines == 0 {
        line.flush();
    }
}

struct ZephyrLogger;

impl Log for ZephyrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = match record.level() {
            Level::Error => 1,
            Level::Warn => 2,
            Level::Info => 3,
            Level::Debug | Level::Trace => 4,
        };
        emit(level, *record.args());
    }

    fn flush(&self) {}
}

static LOGGER: ZephyrLogger = ZephyrLogger;

/// Who owns the image's `log` logger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// A C application: the driver installs its logger unless one is installed already.
    Driver,
    /// A zephyr-lang-rust application (`CONFIG_RUST`): the application's logger is the one;
    /// the driver installs none.
    Application,
}

/// This build's owner (`CONFIG_RUST` read by `build.rs`).
pub const OWNER: Owner = if cfg!(w5500_app_logger) {
    Owner::Application
} else {
    Owner::Driver
};

/// What [`install`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Installed {
    /// The driver's logger is the image's, at the given level.
    Driver(LevelFilter),
    /// Another logger was installed first; it and its level are left alone.
    Kept,
    /// The application owns the logger; nothing was done.
    LeftToApplication,
}

/// The two global setters of the `log` facade that [`install`] uses.
pub trait Facade {
    /// `log::set_logger`: false when a logger is installed already.
    fn set_logger(&mut self, logger: &'static dyn Log) -> bool;
    /// `log::set_max_level`.
    fn set_max_level(&mut self, level: LevelFilter);
}

/// Zephyr's level (0 off, 1 error .. 4 debug) as a `log` filter.
pub fn level_filter(level: u8) -> LevelFilter {
    match level {
        0 => LevelFilter::Off,
        1 => LevelFilter::Error,
        2 => LevelFilter::Warn,
        3 => LevelFilter::Info,
        _ => LevelFilter::Debug,
    }
}

/// The policy of [`install`], on any [`Facade`].
pub fn install_with(facade: &mut impl Facade, owner: Owner, level: u8) -> Installed {
    match owner {
        Owner::Application => Installed::LeftToApplication,
        Owner::Driver => {
            if facade.set_logger(&LOGGER) {
                let filter = level_filter(level);
                facade.set_max_level(filter);
                Installed::Driver(filter)
            } else {
                Installed::Kept
            }
        }
    }
}

/// The `log` crate's global state.
struct Global;

impl Facade for Global {
    fn set_logger(&mut self, logger: &'static dyn Log) -> bool {
        // SAFETY: `install`'s caller guarantees no concurrent logger setup or use; the racy
        // variants exist for targets without compare-and-swap (thumbv6m).
        unsafe { log::set_logger_racy(logger) }.is_ok()
    }

    fn set_max_level(&mut self, level: LevelFilter) {
        // SAFETY: as above.
        unsafe { log::set_max_level_racy(level) }
    }
}

/// Install the driver's logger with Zephyr's level (0 off, 1 error .. 4 debug) if this build
/// owns it ([`OWNER`]) and no logger is installed yet.
///
/// # Safety
/// Must not run concurrently with any other `log` setup or logging call (the C layer calls
/// it once from device init, before the worker thread starts).
pub unsafe fn install(level: u8) -> Installed {
    install_with(&mut Global, OWNER, level)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `log` facade in a test: `installed` says whether a logger is set.
    struct FakeFacade {
        installed: bool,
        set_calls: usize,
        level: Option<LevelFilter>,
    }

    impl FakeFacade {
        fn new(installed: bool) -> Self {
            Self {
                installed,
                set_calls: 0,
                level: None,
            }
        }
    }

    impl Facade for FakeFacade {
        fn set_logger(&mut self, _logger: &'static dyn Log) -> bool {
            self.set_calls += 1;
            !core::mem::replace(&mut self.installed, true)
        }

        fn set_max_level(&mut self, level: LevelFilter) {
            self.level = Some(level);
        }
    }

    #[test]
    fn c_application_installs_the_drivers_logger_at_the_kconfig_level() {
        let mut f = FakeFacade::new(false);
        assert_eq!(
            install_with(&mut f, Owner::Driver, 3),
            Installed::Driver(LevelFilter::Info)
        );
        assert!(f.installed);
        assert_eq!(f.level, Some(LevelFilter::Info));
    }

    #[test]
    fn an_installed_logger_and_its_level_are_kept() {
        let mut f = FakeFacade::new(true);
        assert_eq!(install_with(&mut f, Owner::Driver, 4), Installed::Kept);
        assert_eq!(f.set_calls, 1);
        // The other logger's level is not overwritten with the driver's.
        assert_eq!(f.level, None);
    }

    #[test]
    fn rust_application_owns_the_logger_before_and_after_it_installs_one() {
        for installed in [false, true] {
            let mut f = FakeFacade::new(installed);
            assert_eq!(
                install_with(&mut f, Owner::Application, 4),
                Installed::LeftToApplication
            );
            // Nothing installed and no level set: the application's later
            // zephyr::set_logger() finds the facade empty and succeeds.
            assert_eq!(f.set_calls, 0);
            assert_eq!(f.installed, installed);
            assert_eq!(f.level, None);
        }
    }

    #[test]
    fn zephyr_levels_map_to_filters() {
        let got: [LevelFilter; 6] = [0, 1, 2, 3, 4, 9].map(level_filter);
        assert_eq!(
            got,
            [
                LevelFilter::Off,
                LevelFilter::Error,
                LevelFilter::Warn,
                LevelFilter::Info,
                LevelFilter::Debug,
                LevelFilter::Debug
            ]
        );
    }

    #[test]
    fn host_builds_are_c_application_builds() {
        // No DOTCONFIG in a host build: the C application's policy.
        assert_eq!(OWNER, Owner::Driver);
    }

    /// A message longer than a line continues on indented lines, in order and complete, up
    /// to four lines; a short one is one line.
    #[test]
    fn long_messages_continue_on_further_lines() {
        crate::sys::fake::take_logged();
        let long: String = (0..250)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        emit(3, format_args!("{long}"));
        emit(2, format_args!("short"));
        let huge = "x".repeat(1000);
        emit(3, format_args!("{huge}"));
        let words = "lan client echo-64k#1.1 ok: tcp 10.77.0.20:49160 -> 10.77.0.100:4242 sent 65536 recv 65536 in 85.308 ms: echo of 65536 bytes intact";
        emit(3, format_args!("{words}"));
        let got = crate::sys::fake::take_logged();
        assert_eq!(got.len(), 3 + 1 + MAX_LINES + 2, "{got:?}");
        assert_eq!(got[0], (3, long[..120].to_string()));
        assert_eq!(got[1], (3, format!("  {}", &long[120..238])));
        assert_eq!(got[2], (3, format!("  {}", &long[238..])));
        assert_eq!(got[3], (2, "short".to_string()));
        assert!(got[4..].iter().all(|(_, l)| l.len() <= LINE));
        // Words stay whole: the cut is at the last blank.
        let (a, b) = (&got[8].1, &got[9].1);
        assert!(words.starts_with(a.as_str()) && a.len() <= LINE, "{a}");
        assert_eq!(format!("{a} {}", &b[2..]), words);
        assert!(
            b.starts_with("  bytes intact") || b.starts_with("  intact"),
            "{b}"
        );
    }
}
