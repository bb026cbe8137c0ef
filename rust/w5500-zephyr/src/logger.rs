//! Rust `log` records into Zephyr logging: each record is formatted into a fixed stack buffer
//! (no allocation) and handed to `w5500_shim_log`, which logs it with `"%s"` in the
//! `w5500_offload` log module.

use core::fmt::Write;

use log::{Level, LevelFilter, Log, Metadata, Record};

use crate::sys;

/// Longest message forwarded (longer ones are cut).
const LINE: usize = 120;

struct Line {
    buf: [u8; LINE + 1],
    len: usize,
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            // Keep room for the NUL; drop interior NULs so C sees the whole line.
            if self.len >= LINE {
                break;
            }
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = if b == 0 { b'?' } else { b };
                self.len += 1;
            }
        }
        Ok(())
    }
}

/// Format `args` and log them at `level` (1 error .. 4 debug).
pub fn emit(level: u8, args: core::fmt::Arguments<'_>) {
    let mut line = Line {
        buf: [0; LINE + 1],
        len: 0,
    };
    let _ = line.write_fmt(args);
    if let Some(nul) = line.buf.get_mut(line.len) {
        *nul = 0;
    }
    // SAFETY: `line.buf` is NUL-terminated and lives across the call.
    unsafe { sys::w5500_shim_log(level, line.buf.as_ptr().cast()) }
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

/// Install the logger with Zephyr's level (0 off, 1 error .. 4 debug).
///
/// # Safety
/// Must not run concurrently with any other `log` setup or logging call (the C layer calls
/// it once from device init, before the worker thread starts).
pub unsafe fn install(level: u8) {
    let filter = match level {
        0 => LevelFilter::Off,
        1 => LevelFilter::Error,
        2 => LevelFilter::Warn,
        3 => LevelFilter::Info,
        _ => LevelFilter::Debug,
    };
    // SAFETY: the caller guarantees no concurrent logger setup or use; the racy variants
    // exist for targets without compare-and-swap (thumbv6m).
    unsafe {
        let _ = log::set_logger_racy(&LOGGER);
        log::set_max_level_racy(filter);
    }
}
