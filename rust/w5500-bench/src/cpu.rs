//! CPU cost: instructions the driver itself executes, counted by callgrind between the
//! markers of [`crate::mark`] (`bench_cpu_driver` on, `bench_cpu_outside` off again).
//!
//! The parent process runs one workload per child (`w5500-bench --callgrind-one <driver>
//! <workload>`) under valgrind with a time bound, and reads the `totals:`/`summary:` line of
//! the callgrind output file. The simulation is deterministic, so the counts repeat exactly.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::env::Buffers;
use crate::measure::measure as measure_row;
use crate::work::{Driver, Work};

/// The workloads measured under callgrind (small, so the set takes a few minutes), all with
/// 2 KB socket buffers (the chip's reset plan).
pub fn workloads(quick: bool) -> Vec<Work> {
    if quick {
        return vec![Work::TcpRecv(32 << 10), Work::Echo { count: 10 }];
    }
    vec![
        Work::TcpRecv(256 << 10),
        Work::TcpSend(256 << 10),
        Work::UdpTx {
            size: 512,
            count: 100,
        },
        Work::UdpRx {
            size: 512,
            count: 100,
        },
        Work::Echo { count: 100 },
        Work::Cycles { count: 20 },
        Work::Dhcp,
        Work::Dns,
    ]
}

/// The buffer plan of the CPU runs.
pub const BUFFERS: Buffers = Buffers::K2;

/// One CPU measurement.
#[derive(Clone, Debug)]
pub struct CpuRow {
    /// Driver.
    pub driver: Driver,
    /// Workload.
    pub work: Work,
    /// Instructions counted (Ir), payload bytes, operations; or why not.
    pub result: Result<(u64, u64, u64), String>,
}

/// Is valgrind there?
pub fn valgrind_available() -> bool {
    Command::new("valgrind")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Find the `totals:` (or `summary:`) count in a callgrind output file.
pub fn parse_callgrind(text: &str) -> Option<u64> {
    let mut summary = None;
    for l in text.lines() {
        if let Some(v) = l.strip_prefix("totals:") {
            return v.split_whitespace().next().and_then(|n| n.parse().ok());
        }
        if let Some(v) = l.strip_prefix("summary:") {
            summary = v.split_whitespace().next().and_then(|n| n.parse().ok());
        }
    }
    summary
}

/// Longest one callgrind child may run.
const CHILD_LIMIT: Duration = Duration::from_secs(240);

/// Run one workload of one driver under callgrind (a child process) and read its count.
pub fn measure(driver: Driver, work: Work, dir: &Path) -> CpuRow {
    let result = (|| -> Result<(u64, u64, u64), String> {
        let exe = std::env::current_exe().map_err(|e| format!("own path: {e}"))?;
        let out = dir.join(format!("cg-{}-{}.out", driver.name(), work.name()));
        let _ = std::fs::remove_file(&out);
        let mut child = Command::new("valgrind")
            .arg("--tool=callgrind")
            .arg(format!("--callgrind-out-file={}", out.display()))
            .arg("--collect-atstart=no")
            .arg("--toggle-collect=*bench_cpu_driver*")
            .arg("--toggle-collect=*bench_cpu_outside*")
            .arg("--dump-instr=no")
            .arg(&exe)
            .arg("--callgrind-one")
            .arg(driver.name())
            .arg(work.spec())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("valgrind: {e}"))?;
        let t0 = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) if t0.elapsed() > CHILD_LIMIT => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("over {} s", CHILD_LIMIT.as_secs()));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                Err(e) => return Err(format!("wait: {e}")),
            }
        };
        let mut stdout = String::new();
        if let Some(mut o) = child.stdout.take() {
            use std::io::Read as _;
            let _ = o.read_to_string(&mut stdout);
        }
        if !status.success() {
            return Err(format!(
                "child failed: {}",
                stdout.lines().last().unwrap_or("")
            ));
        }
        let (payload, ops) = stdout
            .lines()
            .find_map(|l| {
                let l = l.strip_prefix("cpu-run ")?;
                let mut it = l.split_whitespace();
                let p = it.next()?.strip_prefix("payload=")?.parse().ok()?;
                let o = it.next()?.strip_prefix("ops=")?.parse().ok()?;
                Some((p, o))
            })
            .ok_or("the child reported no run")?;
        let text = std::fs::read_to_string(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        let _ = std::fs::remove_file(&out);
        let ir = parse_callgrind(&text).ok_or("no totals in the callgrind output")?;
        Ok((ir, payload, ops))
    })();
    CpuRow {
        driver,
        work,
        result,
    }
}

/// The child side: run one workload and print what the parent needs.
pub fn child(driver: &str, work: &str) -> Result<(), String> {
    let d = Driver::ALL
        .into_iter()
        .find(|d| d.name() == driver)
        .ok_or_else(|| format!("unknown driver {driver}"))?;
    let w = Work::parse_spec(work).ok_or_else(|| format!("unknown workload {work}"))?;
    let row = measure_row(d, w, BUFFERS);
    let run = row.run?;
    println!("cpu-run payload={} ops={}", run.payload, run.ops);
    Ok(())
}

/// The markdown section.
pub fn markdown(rows: &[CpuRow], skipped: Option<&str>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## CPU cost (callgrind)\n");
    if let Some(why) = skipped {
        let _ = writeln!(s, "Not measured in this run: {why}.\n");
        return s;
    }
    let _ = writeln!(
        s,
        "Instructions executed by driver code (valgrind callgrind `Ir`, x86-64 release build of the bench, so a relative measure; exact and repeatable), per operation and per KiB of payload, {} KB socket buffers. Counted: every driver-facing call (ours: `Bsd`/`Iface` calls and the interrupt service; w5500-hl/-dhcp/-dns: their calls and the application's `Sn_IR` handling; smoltcp: `Interface::poll`, socket calls, and the MACRAW frame mover with its frame copies). Not counted: the SPI device (spy and simulated chip), the simulated clock and waits, the harness's data checks. Bring-up and, for TCP workloads, the connect before the measured part are not counted (as for the SPI figures).\n",
        BUFFERS.kb()
    );
    let _ = writeln!(
        s,
        "| workload | op | driver | Ir | ops | Ir/op | Ir/KiB payload |\n|---|---|---|---:|---:|---:|---:|"
    );
    for r in rows {
        match &r.result {
            Ok((ir, payload, ops)) => {
                let per_kib = if *payload > 0 {
                    format!("{:.0}", *ir as f64 * 1024.0 / *payload as f64)
                } else {
                    "—".into()
                };
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} | {:.0} | {} |",
                    r.work.name(),
                    r.work.op_name(),
                    r.driver.name(),
                    ir,
                    ops,
                    *ir as f64 / (*ops).max(1) as f64,
                    per_kib
                );
            }
            Err(e) => {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | failed: {} | | | |",
                    r.work.name(),
                    r.work.op_name(),
                    r.driver.name(),
                    e.replace('|', "/")
                );
            }
        }
    }
    let _ = writeln!(s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The callgrind output parser takes `totals:` and falls back to `summary:`.
    #[test]
    fn callgrind_totals_are_parsed() {
        assert_eq!(
            parse_callgrind("events: Ir\nsummary: 77\ntotals: 1234\n"),
            Some(1234)
        );
        assert_eq!(parse_callgrind("events: Ir\nsummary: 77\n"), Some(77));
        assert_eq!(parse_callgrind("events: Ir\n"), None);
    }
}
