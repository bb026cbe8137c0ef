//! The host sink: records reach the `log` crate with the call site's module and the text
//! `"<message> <arg> ..."`.

extern crate std;

use std::string::{String, ToString};
use std::sync::Mutex;
use std::vec::Vec;

use core::net::Ipv4Addr;

use super::Arg;

/// (level, target, line text) of every record.
static SEEN: Mutex<Vec<(log::Level, String, String)>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, r: &log::Record<'_>) {
        SEEN.lock().unwrap_or_else(|e| e.into_inner()).push((
            r.level(),
            r.target().to_string(),
            r.args().to_string(),
        ));
    }

    fn flush(&self) {}
}

static CAPTURE: Capture = Capture;

/// All in one test: the `log` facade takes one logger per process.
#[test]
fn records_reach_the_log_crate_as_message_then_arguments() {
    let _ = log::set_logger(&CAPTURE);
    log::set_max_level(log::LevelFilter::Info);
    let ip = Ipv4Addr::new(10, 77, 0, 20);
    crate::info!("dhcp: bound to", ip);
    crate::warn!("stack: chip reset detected; SIMR", Arg::Hex(0xff));
    crate::error!("iface: programming failed:", ip, "EIO");
    crate::warn!("counts", 3u8, 70_000usize, -5i32);
    crate::info!("no arguments");
    // Below the `log` crate's runtime level: dropped before formatting.
    crate::debug!("not seen", 1u8);
    let seen = core::mem::take(&mut *SEEN.lock().unwrap_or_else(|e| e.into_inner()));
    let target = module_path!().to_string();
    let want = [
        (log::Level::Info, "dhcp: bound to 10.77.0.20"),
        (log::Level::Warn, "stack: chip reset detected; SIMR 0xff"),
        (
            log::Level::Error,
            "iface: programming failed: 10.77.0.20 EIO",
        ),
        (log::Level::Warn, "counts 3 70000 -5"),
        (log::Level::Info, "no arguments"),
    ];
    assert_eq!(
        seen,
        want.map(|(l, t)| (l, target.clone(), t.to_string()))
            .to_vec()
    );
}

#[test]
fn every_level_is_compiled_in_without_a_max_level_feature() {
    assert_eq!(super::MAX_LEVEL, 4);
    assert!(super::enabled(super::Level::Debug));
}

#[test]
fn lengths_saturate_and_numbers_keep_their_sign() {
    assert_eq!(Arg::from(usize::MAX), Arg::U32(u32::MAX));
    assert_eq!(Arg::from(-1i32), Arg::I32(-1));
    assert_eq!(Arg::from(7u16), Arg::U32(7));
}
