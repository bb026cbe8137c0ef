//! Child processes in tests: whether a tool is there to run (else the test skips, saying so),
//! a guard that kills a child by PID when the test ends, also on a failed assertion, and
//! bounded waits for a child to exit or to create its socket file (bridge_*,
//! hostnet_realpeer).

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Kills the child it holds (by PID) when dropped.
pub struct Reap(pub Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether `cmd arg` runs and succeeds (e.g. `python3 --version`); prints why a test skips
/// when not.
pub fn have(cmd: &str, arg: &str) -> bool {
    let ok = Command::new(cmd)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: {cmd} not found");
    }
    ok
}

/// Wait at most `within` for `child` to exit; past that, kill it (by PID), reap it and
/// return `None`.
pub fn wait_bounded(child: &mut Child, within: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Wait at most `within` (polling every 10 ms) for `path` to exist, e.g. the Unix socket a
/// bridge binary binds; returns whether it does.
pub fn wait_for_file(path: &Path, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while !path.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    path.exists()
}
