//! `scripts/bridge_client.py` (standard library only) reads VERSIONR through the bridge: against
//! an in-process server and against the `w5500-sim` binary. Skips when python3 is missing.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use support::bridge::*;
use support::process::{have, wait_for_file};
use w5500_sim::bridge::{ClockMode, ListenAddr};

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/bridge_client.py")
}

fn python_reads_versionr(at: &ListenAddr) {
    let out = Command::new("python3")
        .arg(script())
        .arg(at.to_string())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(text.trim(), "VERSIONR=0x04");
}

#[test]
fn python_client_reads_versionr_unix_and_tcp() {
    if !have("python3", "--version") {
        return;
    }
    for addr in [unix_addr(), tcp_addr()] {
        let (at, server, target) = start(addr, ClockMode::Sim, 1);
        python_reads_versionr(&at);
        server.join().unwrap();
        let (sel, desel, _) = target.lock().unwrap().counts();
        assert_eq!((sel, desel), (1, 1));
    }
}

#[test]
fn python_client_against_binary() {
    if !have("python3", "--version") {
        return;
    }
    let ListenAddr::Unix(path) = unix_addr() else {
        unreachable!()
    };
    let listen = format!("unix:{}", path.display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_w5500-sim"))
        .args([
            "--selftest-target",
            "--max-clients",
            "1",
            "--listen",
            &listen,
        ])
        .spawn()
        .unwrap();
    wait_for_file(&path, Duration::from_secs(2));
    python_reads_versionr(&ListenAddr::Unix(path.clone()));
    let status = child.wait().unwrap();
    assert!(status.success());
    assert!(!path.exists(), "socket file removed on exit");
}

/// The bridge's inbound-connection request from Python: the script puts the chip's socket 0
/// in LISTEN (DS §4.2) through its registers, asks LAN_CLIENT for a LAN host that sends a line
/// and expects it echoed (RFC 862), echoes it through RX/TX buffers and SEND/RECV, and reads
/// the LAN's report back with LAN_REPORTS; the server is the `w5500-sim` binary.
#[test]
fn python_client_drives_an_inbound_lan_connection() {
    if !have("python3", "--version") {
        return;
    }
    let ListenAddr::Unix(path) = unix_addr() else {
        unreachable!()
    };
    let listen = format!("unix:{}", path.display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_w5500-sim"))
        .args(["--max-clients", "1", "--listen", &listen])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for_file(&path, Duration::from_secs(2));
    let out = Command::new("python3")
        .arg(script())
        .args([listen.as_str(), "inbound", "5000"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with("lan client py#1.1 ok: tcp 10.77.0.20:"),
        "{text}"
    );
    assert!(
        lines[0]
            .ends_with("-> 10.77.0.50:5000 sent 18 recv 18 in 1.079 ms: echo of 18 bytes intact"),
        "{text}"
    );
    assert_eq!(lines[1], "echoed 18 bytes through the chip");
    assert!(child.wait().unwrap().success());
}
