//! Rust `log` records into Zephyr logging: each record is formatted into a fixed stack buffer
//! (no allocation) and handed to `w5500_shim_log`, which logs it with `"%s"` in the
//! `w5500_offload` log module.

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

#[cfg(test)]
mod tests {
    use super::*;

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
