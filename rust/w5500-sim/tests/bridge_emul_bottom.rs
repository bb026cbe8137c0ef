//! The frame-forwarding core of the bridge SPI emulator (`zephyr/src/w5500_emul_bridge_bottom.c`,
//! the host side the native boards link) against this crate's bridge, without Zephyr:
//! `scripts/emul_bridge_bottom_test.py` compiles the C file with the host compiler, loads it
//! with ctypes and drives it against the `w5500-sim` binary and against fake bridges (missing,
//! late, silent, stalling, hanging up, not a bridge, wrong version, refusing). Skips when
//! python3 or a C compiler is missing.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use support::process::{have, wait_bounded};

#[test]
fn c_bridge_client_against_w5500_sim_and_fake_bridges() {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    if !have("python3", "--version") || !have(&cc, "--version") {
        return;
    }
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/emul_bridge_bottom_test.py");
    let scratch = std::env::temp_dir().join(format!("w5k-bottom-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let out_path = scratch.join("out.txt");
    let out = std::fs::File::create(&out_path).unwrap();
    let mut child = Command::new("python3")
        .arg(&script)
        .arg(env!("CARGO_BIN_EXE_w5500-sim"))
        .arg(&scratch)
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    // Every wait inside the script is bounded; this bound only keeps a broken build from
    // stalling the test run.
    let status = wait_bounded(&mut child, Duration::from_secs(120));
    let text = std::fs::read_to_string(&out_path).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&scratch);
    println!("{text}");
    let status = status.expect("the C client test did not finish within 120 s");
    assert!(status.success(), "{text}");
    assert!(
        text.contains("ok registers_and_a_tcp_echo_through_w5500_sim"),
        "{text}"
    );
    assert!(text.contains("9 checks passed"), "{text}");
}
