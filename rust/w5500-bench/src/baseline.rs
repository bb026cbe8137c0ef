//! The committed baseline of our driver's deterministic figures, and the check against it.
//!
//! The simulator is deterministic, so for the `--quick` workload set the SPI bytes, SPI
//! transactions and simulated time of every workload repeat exactly from run to run and from
//! machine to machine. `baseline.tsv` (next to this crate's `Cargo.toml`) holds them for our
//! driver; `w5500-bench --quick --check-baseline` (run by `scripts/test-all`, so by CI) fails
//! when a figure is worse than its baseline by more than [`MARGIN_PCT`] percent, or when a
//! workload is missing or moves a different payload (the baseline is then stale). Better
//! figures pass and are listed, with the command that records them:
//! `w5500-bench --quick --update-baseline` rewrites the file, and the commit that carries it
//! says why the figures moved. Wall-clock times are never compared.

use std::fmt::Write as _;
use std::path::Path;

use crate::work::{Driver, Row};

/// How much worse than the baseline a figure may get before the check fails, in percent of
/// the baseline figure. The figures are exact, so this only lets through trade-offs too small
/// to matter; on small counts (the 23 transactions of a DNS lookup) any increase fails.
pub const MARGIN_PCT: f64 = 1.0;

/// The baseline file's name, in this crate's directory.
pub const FILE: &str = "baseline.tsv";

/// One workload's figures (our driver, one buffer plan).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Workload name (as in the report, e.g. `tcp-recv-64KiB`).
    pub workload: String,
    /// Socket buffer plan in KB (2 or 16).
    pub buf_kb: usize,
    /// Payload bytes moved (must match exactly: otherwise the workload itself changed).
    pub payload: u64,
    /// SPI bytes clocked (3-byte headers included).
    pub spi_bytes: u64,
    /// SPI transactions (chip-select frames).
    pub txns: u64,
    /// Simulated time of the measured part, µs.
    pub sim_us: u64,
}

impl Entry {
    fn key(&self) -> (String, usize) {
        (self.workload.clone(), self.buf_kb)
    }

    /// The compared figures: (name, value).
    fn figures(&self) -> [(&'static str, u64); 3] {
        [
            ("SPI bytes", self.spi_bytes),
            ("SPI transactions", self.txns),
            ("simulated µs", self.sim_us),
        ]
    }
}

/// Our driver's successful rows as baseline entries.
pub fn entries(rows: &[Row]) -> Vec<Entry> {
    rows.iter()
        .filter(|r| r.driver == Driver::Ours)
        .filter_map(|r| {
            r.run.as_ref().ok().map(|run| Entry {
                workload: r.work.name(),
                buf_kb: r.buffers.kb(),
                payload: run.payload,
                spi_bytes: run.spi.bytes(),
                txns: run.spi.txns(),
                sim_us: run.sim_us,
            })
        })
        .collect()
}

const HEADER: &str = "workload\tbuf_kb\tpayload\tspi_bytes\ttxns\tsim_us";

/// The file's text.
pub fn format(entries: &[Entry]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Our driver's figures from `w5500-bench --quick` (deterministic simulator). Checked by\n\
         # `scripts/bench --quick --no-write --check-baseline` (CI: scripts/test-all), which fails when a\n\
         # figure is more than {MARGIN_PCT}% worse. Rewritten only on purpose, by\n\
         # `scripts/bench --quick --no-write --update-baseline`; the commit says why the figures moved."
    );
    let _ = writeln!(s, "{HEADER}");
    for e in entries {
        let _ = writeln!(
            s,
            "{}\t{}\t{}\t{}\t{}\t{}",
            e.workload, e.buf_kb, e.payload, e.spi_bytes, e.txns, e.sim_us
        );
    }
    s
}

/// Parse the file's text.
pub fn parse(text: &str) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line == HEADER {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        let bad = || format!("{FILE} line {}: expected 6 tab-separated fields", n + 1);
        let [w, b, p, bytes, t, us] = f.as_slice() else {
            return Err(bad());
        };
        let num = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{FILE} line {}: {v:?} is not a number", n + 1))
        };
        out.push(Entry {
            workload: (*w).to_string(),
            buf_kb: num(b)? as usize,
            payload: num(p)?,
            spi_bytes: num(bytes)?,
            txns: num(t)?,
            sim_us: num(us)?,
        });
    }
    Ok(out)
}

/// Load the baseline from `dir/FILE`.
pub fn load(dir: &Path) -> Result<Vec<Entry>, String> {
    let path = dir.join(FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&text)
}

/// The outcome of a check.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Figures worse than the baseline beyond the margin, missing workloads, changed payloads.
    pub failures: Vec<String>,
    /// Figures better than the baseline (record them with `--update-baseline`).
    pub better: Vec<String>,
    /// Figures worse, but within the margin.
    pub within: Vec<String>,
}

impl Outcome {
    /// True when nothing failed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Compare `current` with `baseline`, figure by figure.
pub fn check(baseline: &[Entry], current: &[Entry], margin_pct: f64) -> Outcome {
    let mut o = Outcome::default();
    for b in baseline {
        let name = format!("{} {}K", b.workload, b.buf_kb);
        let Some(c) = current.iter().find(|c| c.key() == b.key()) else {
            o.failures.push(format!(
                "{name}: no figure (the run failed or the workload is gone)"
            ));
            continue;
        };
        if c.payload != b.payload {
            o.failures.push(format!(
                "{name}: payload {} B, baseline {} B: the workload changed, update the baseline",
                c.payload, b.payload
            ));
            continue;
        }
        for ((what, base), (_, now)) in b.figures().into_iter().zip(c.figures()) {
            let delta = now as f64 - base as f64;
            let pct = 100.0 * delta / (base.max(1) as f64);
            let line = format!("{name}: {what} {now} (baseline {base}, {pct:+.2}%)");
            if now > base && pct > margin_pct {
                o.failures.push(line);
            } else if now > base {
                o.within.push(line);
            } else if now < base {
                o.better.push(line);
            }
        }
    }
    for c in current {
        if !baseline.iter().any(|b| b.key() == c.key()) {
            o.failures.push(format!(
                "{} {}K: not in the baseline (new workload: update the baseline)",
                c.workload, c.buf_kb
            ));
        }
    }
    o
}

/// Print the outcome for a person.
pub fn print(o: &Outcome, margin_pct: f64) {
    println!("\nbaseline check ({FILE}, margin {margin_pct}%):");
    for l in &o.better {
        println!("  better:  {l}");
    }
    for l in &o.within {
        println!("  within:  {l}");
    }
    for l in &o.failures {
        println!("  WORSE:   {l}");
    }
    if o.passed() {
        println!("  passed");
        if !o.better.is_empty() {
            println!(
                "  (to record the better figures: scripts/bench --quick --no-write --update-baseline, and say why in the commit)"
            );
        }
    } else {
        println!(
            "  FAILED: {} figure(s) worse than the baseline by more than {margin_pct}%",
            o.failures.len()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Buffers;
    use crate::work::{workloads, Work};

    fn entry(txns: u64) -> Entry {
        Entry {
            workload: "dns-lookup".into(),
            buf_kb: 2,
            payload: 0,
            spi_bytes: 1000,
            txns,
            sim_us: 215,
        }
    }

    #[test]
    fn format_and_parse_round_trip() {
        let e = vec![
            entry(23),
            Entry {
                workload: "tcp-recv-64KiB".into(),
                buf_kb: 16,
                payload: 65536,
                spi_bytes: 65800,
                txns: 40,
                sim_us: 6000,
            },
        ];
        assert_eq!(parse(&format(&e)).unwrap(), e);
        assert!(parse("dns-lookup\t2\t0\t1\t2").is_err());
        assert!(parse("dns-lookup\t2\t0\t1\t2\tx").is_err());
    }

    #[test]
    fn same_and_better_figures_pass() {
        let base = vec![entry(23)];
        assert!(check(&base, &base, MARGIN_PCT).passed());
        let o = check(&base, &[entry(20)], MARGIN_PCT);
        assert!(o.passed());
        assert_eq!(o.better.len(), 1);
    }

    #[test]
    fn a_worse_figure_beyond_the_margin_fails() {
        let base = vec![entry(100)];
        // 1% worse: within the margin.
        let o = check(&base, &[entry(101)], MARGIN_PCT);
        assert!(o.passed(), "{o:?}");
        assert_eq!(o.within.len(), 1);
        // 2% worse: fails, and says which figure.
        let o = check(&base, &[entry(102)], MARGIN_PCT);
        assert!(!o.passed());
        assert!(
            o.failures[0].contains("SPI transactions 102 (baseline 100"),
            "{o:?}"
        );
        // Simulated time: the DNS regression of 15b4d22 (0.2 ms -> 49.8 ms) fails.
        let mut slow = entry(100);
        slow.sim_us = 49_821;
        let o = check(&base, &[slow], MARGIN_PCT);
        assert!(o.failures.iter().any(|f| f.contains("simulated µs")));
    }

    #[test]
    fn missing_new_and_changed_workloads_fail() {
        let base = vec![entry(23)];
        assert!(!check(&base, &[], MARGIN_PCT).passed());
        let mut other = entry(23);
        other.workload = "echo-64".into();
        assert!(!check(&base, &[entry(23), other], MARGIN_PCT).passed());
        let mut changed = entry(23);
        changed.payload = 1;
        assert!(!check(&base, &[changed], MARGIN_PCT).passed());
    }

    /// End to end on a real measurement: the DNS workload's figures checked against a
    /// baseline 2% better than them fail; against themselves they pass.
    #[test]
    fn a_real_run_worse_than_its_baseline_fails() {
        let row = crate::measure::measure(Driver::Ours, Work::Dns, Buffers::K2);
        let now = entries(std::slice::from_ref(&row));
        assert_eq!(now.len(), 1, "{:?}", row.run);
        assert!(check(&now, &now, MARGIN_PCT).passed());
        let mut base = now.clone();
        base[0].spi_bytes = base[0].spi_bytes * 98 / 100;
        let o = check(&base, &now, MARGIN_PCT);
        assert!(!o.passed());
        assert!(o.failures[0].contains("SPI bytes"), "{o:?}");
    }

    /// The committed file parses and covers every quick workload and buffer plan of ours.
    #[test]
    fn the_committed_baseline_covers_the_quick_workloads() {
        let base = load(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
        for w in workloads(true) {
            for b in w.buffer_plans() {
                assert!(
                    base.iter()
                        .any(|e| e.workload == w.name() && e.buf_kb == b.kb()),
                    "{} {}K missing from {FILE}",
                    w.name(),
                    b.kb()
                );
            }
        }
        assert_eq!(
            base.len(),
            workloads(true).iter().map(|w| w.buffer_plans().len()).sum()
        );
    }
}
