//! Child processes in tests: whether a tool is there to run (else the test skips, saying so)
//! and a guard that kills a child by PID when the test ends, also on a failed assertion
//! (bridge_*, hostnet_realpeer).

use std::process::{Child, Command, Stdio};

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
