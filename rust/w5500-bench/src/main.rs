//! `w5500-bench`: SPI efficiency, modeled throughput, CPU cost and footprint of our W5500
//! driver, side by side with newAM's w5500-hl and with smoltcp over MACRAW, all on the
//! simulated chip and the in-memory LAN (deterministic, simulated clock).
//!
//! Usage: `w5500-bench [--quick] [--no-cpu] [--no-footprint] [--no-write]
//! [--check-baseline | --update-baseline]`
//! and, for the CPU measurement, `w5500-bench --callgrind-one <driver> <workload-spec>`
//! runs one measurement (the process callgrind counts; see `cpu`).
//!
//! `--check-baseline` compares our driver's figures with the committed `baseline.tsv` and
//! fails when one got worse by more than [`baseline::MARGIN_PCT`] percent;
//! `--update-baseline` rewrites that file (see [`baseline`]). Both imply `--quick`: the
//! baseline holds the quick workload set's figures.

//!
//! # Layers
//! Each module imports only modules of the layers below its own (checked by a test,
//! `modules_import_only_lower_layers`), from the bottom:
//! 1. [`mark`]: the CPU measurement's markers (what counts as driver code);
//! 2. [`spy`]: the SPI device between a driver and the simulated chip;
//! 3. [`env`](mod@env): one simulated chip on the LAN per measurement, its fixtures and checks;
//! 4. [`work`]: the workloads and what a run yields;
//! 5. [`model`]: the throughput model of a run;
//! 6. the harnesses of the three drivers: [`ours`], [`hl`], [`smol`];
//! 7. their DHCP and DNS harnesses, on top of the driver's: [`ourssvc`], [`hlsvc`], [`smolsvc`];
//! 8. [`measure`](mod@measure): one measurement of one driver and workload;
//! 9. what is made of measurements: [`cpu`] (callgrind), [`footprint`] (probe binaries),
//!    [`baseline`], [`report`];
//! 10. `main`: the command line.

mod baseline;
mod cpu;
mod env;
mod footprint;
mod hl;
mod hlsvc;
mod mark;
mod measure;
mod model;
mod ours;
mod ourssvc;
mod report;
mod smol;
mod smolsvc;
mod spy;
mod work;

use std::process::ExitCode;

use measure::{measure, measure_with};
use work::{Driver, Work};

const USAGE: &str = "\
usage: w5500-bench [--quick] [--no-cpu] [--no-footprint] [--no-write] [--check-baseline | --update-baseline]
  (no option)        full run: every workload at full size, CPU (callgrind) and footprint; writes
                     docs/BENCHMARKS.md and docs/bench-throughput.svg (15 to 18 minutes on a 2-core VM)
  --quick            reduced sizes, no CPU or footprint; writes docs/BENCHMARKS-quick.md (a minute)
  --no-cpu           skip the callgrind measurement
  --no-footprint     skip the thumbv7em footprint probes
  --no-write         print only, write no report
  --check-baseline   (implies --quick) fail when one of our figures (SPI bytes, transactions,
                     simulated time) is worse than rust/w5500-bench/baseline.tsv by more than 1%
  --update-baseline  (implies --quick) rewrite rust/w5500-bench/baseline.tsv from this run;
                     commit it with a message that says why the figures moved
  --callgrind-one <driver> <workload-spec>   one CPU measurement (used by the full run)";

fn sh(cmd: &str, args: &[&str]) -> String {
    std::process::Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// The repository root (two levels above this crate).
fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| std::path::PathBuf::from("."))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--callgrind-one") {
        let (Some(d), Some(w)) = (args.get(i + 1), args.get(i + 2)) else {
            eprintln!("usage: w5500-bench --callgrind-one <driver> <workload-spec>");
            return ExitCode::FAILURE;
        };
        return match cpu::child(d, w) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                println!("failed: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let check_baseline = args.iter().any(|a| a == "--check-baseline");
    let update_baseline = args.iter().any(|a| a == "--update-baseline");
    if check_baseline && update_baseline {
        eprintln!("w5500-bench: --check-baseline and --update-baseline exclude each other");
        return ExitCode::FAILURE;
    }
    if let Some(a) = args.iter().find(|a| {
        !matches!(
            a.as_str(),
            "--quick"
                | "--no-write"
                | "--no-cpu"
                | "--no-footprint"
                | "--check-baseline"
                | "--update-baseline"
        )
    }) {
        eprintln!("w5500-bench: unknown argument {a:?}\n{USAGE}");
        return ExitCode::FAILURE;
    }
    let quick = args.iter().any(|a| a == "--quick") || check_baseline || update_baseline;
    let write = !args.iter().any(|a| a == "--no-write");
    let no_cpu = args.iter().any(|a| a == "--no-cpu");
    let no_footprint = args.iter().any(|a| a == "--no-footprint");
    let works = work::workloads(quick);
    println!(
        "{:<15} {:<16} {:>3} {:>9} {:>13}{:>11} {:>10}  modeled at 10/20/40/80 MHz",
        "driver", "workload", "buf", "beyond", "txn/op", "", "polling"
    );
    let mut rows = Vec::new();
    for work in &works {
        for &buffers in work.buffer_plans() {
            for driver in Driver::ALL {
                let r = measure(driver, *work, buffers);
                report::print_row(&r);
                rows.push(r);
            }
        }
    }
    let mut hl_strict = Vec::new();
    for work in &works {
        for &buffers in work.buffer_plans() {
            let r = measure_with(Driver::Hl, *work, buffers, true);
            let outcome = match &r.run {
                Ok(_) => "passes".to_string(),
                Err(e) => format!("fails: {e}"),
            };
            hl_strict.push((work.name(), buffers.kb(), outcome));
        }
    }
    let failed = rows.iter().filter(|r| r.run.is_err()).count();
    // CPU cost under callgrind: one child process per driver and workload.
    let cpu_skip = if quick {
        Some("skipped in `--quick` runs (CI); `scripts/bench` measures it".to_string())
    } else if no_cpu {
        Some("skipped (`--no-cpu`)".to_string())
    } else if !cpu::valgrind_available() {
        Some("valgrind is not installed (`apt-get install valgrind`)".to_string())
    } else {
        None
    };
    let mut cpu_rows = Vec::new();
    if let Some(why) = &cpu_skip {
        println!("\ncpu: {why}");
    } else {
        println!(
            "\ncpu (callgrind Ir of driver code, {} KB buffers):",
            cpu::BUFFERS.kb()
        );
        let dir = std::env::temp_dir().join(format!("w5500-bench-cg-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        for work in cpu::workloads(quick) {
            for driver in Driver::ALL {
                let r = cpu::measure(driver, work, &dir);
                match &r.result {
                    Ok((ir, payload, ops)) => println!(
                        "{:<15} {:<16} {:>12} Ir {:>10.0} Ir/{}{}",
                        driver.name(),
                        work.name(),
                        ir,
                        *ir as f64 / (*ops).max(1) as f64,
                        work.op_name(),
                        if *payload > 0 && !work.is_bulk() {
                            format!(" {:>8.0} Ir/KiB", *ir as f64 * 1024.0 / *payload as f64)
                        } else {
                            String::new()
                        }
                    ),
                    Err(e) => println!("{:<15} {:<16} FAILED: {e}", driver.name(), work.name()),
                }
                cpu_rows.push(r);
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    let cpu_failed = cpu_rows.iter().filter(|r| r.result.is_err()).count();
    // Footprint: the no_std probes built for thumbv7em-none-eabihf at opt-level "s".
    let fp = if quick {
        Err("skipped in `--quick` runs (CI); `scripts/bench` measures it".to_string())
    } else if no_footprint {
        Err("skipped (`--no-footprint`)".to_string())
    } else {
        println!("\nfootprint: building the probes for thumbv7em-none-eabihf (opt-level \"s\")");
        footprint::measure(&repo_root().join("rust"))
    };
    let (footprint_md, footprint_goals) = footprint::markdown(&fp);
    match &fp {
        Ok(f) => footprint::print(f),
        Err(e) => println!("footprint: {e}"),
    }
    let extra = report::Extra {
        uname: sh("uname", &["-a"]),
        cpu: cpu_model(),
        commit: sh("git", &["rev-parse", "--short", "HEAD"]),
        quick,
        hl_strict,
        cpu_md: Some(cpu::markdown(&cpu_rows, cpu_skip.as_deref())),
        footprint_md: Some(footprint_md),
        footprint_goals,
    };
    println!();
    for g in report::goals(&rows, &works)
        .iter()
        .chain(extra.footprint_goals.iter())
    {
        println!("goal: {g}");
    }
    if write {
        let docs = repo_root().join("docs");
        let _ = std::fs::create_dir_all(&docs);
        let md = report::markdown(&rows, &works, &extra);
        let bulk = works
            .iter()
            .find(|w| matches!(w, Work::TcpRecv(_)))
            .copied()
            .unwrap_or(Work::TcpRecv(1));
        let svg = report::svg(&rows, &bulk);
        let (mdp, svgp) = if quick {
            (
                docs.join("BENCHMARKS-quick.md"),
                docs.join("bench-throughput-quick.svg"),
            )
        } else {
            (
                docs.join("BENCHMARKS.md"),
                docs.join("bench-throughput.svg"),
            )
        };
        let md = if quick {
            md.replace("bench-throughput.svg", "bench-throughput-quick.svg")
        } else {
            md
        };
        if let Err(e) = std::fs::write(&mdp, md).and_then(|_| std::fs::write(&svgp, svg)) {
            eprintln!("w5500-bench: cannot write the report: {e}");
            return ExitCode::FAILURE;
        }
        println!("wrote {} and {}", mdp.display(), svgp.display());
    }
    if failed > 0 || cpu_failed > 0 {
        eprintln!("w5500-bench: {failed} runs and {cpu_failed} CPU runs failed");
        return ExitCode::FAILURE;
    }
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    if update_baseline {
        let path = here.join(baseline::FILE);
        let text = baseline::format(&baseline::entries(&rows));
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("w5500-bench: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!(
            "wrote {} (commit it with a message that says why the figures moved)",
            path.display()
        );
    }
    if check_baseline {
        let base = match baseline::load(here) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("w5500-bench: {e}");
                return ExitCode::FAILURE;
            }
        };
        let outcome = baseline::check(&base, &baseline::entries(&rows), baseline::MARGIN_PCT);
        baseline::print(&outcome, baseline::MARGIN_PCT);
        if !outcome.passed() {
            eprintln!("w5500-bench: figures worse than the committed baseline");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    /// The layers of the module docs, bottom first: a module may use `crate::<module>` only
    /// for modules of a lower layer (the bench's modules once imported each other in circles).
    const LAYERS: &[&[&str]] = &[
        &["mark"],
        &["spy"],
        &["env"],
        &["work"],
        &["model"],
        &["ours", "hl", "smol"],
        &["ourssvc", "hlsvc", "smolsvc"],
        &["measure"],
        &["cpu", "footprint", "baseline", "report"],
        &["main"],
    ];

    /// Each source file of the crate, by module name.
    const SOURCES: &[(&str, &str)] = &[
        ("baseline", include_str!("baseline.rs")),
        ("cpu", include_str!("cpu.rs")),
        ("env", include_str!("env.rs")),
        ("footprint", include_str!("footprint.rs")),
        ("hl", include_str!("hl.rs")),
        ("hlsvc", include_str!("hlsvc.rs")),
        ("main", include_str!("main.rs")),
        ("mark", include_str!("mark.rs")),
        ("measure", include_str!("measure.rs")),
        ("model", include_str!("model.rs")),
        ("ours", include_str!("ours.rs")),
        ("ourssvc", include_str!("ourssvc.rs")),
        ("report", include_str!("report.rs")),
        ("smol", include_str!("smol.rs")),
        ("smolsvc", include_str!("smolsvc.rs")),
        ("spy", include_str!("spy.rs")),
        ("work", include_str!("work.rs")),
    ];

    fn layer(module: &str) -> usize {
        LAYERS
            .iter()
            .position(|l| l.contains(&module))
            .unwrap_or_else(|| panic!("module {module} is in no layer"))
    }

    /// The modules a source's code names as `crate::x` or `crate::{x, y::z}` (comments, and
    /// so doc links, are not imports).
    fn uses(source: &str) -> Vec<String> {
        let code: String = source
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut found = Vec::new();
        let mut rest = code.as_str();
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let list = if let Some(inner) = rest.strip_prefix('{') {
                &inner[..inner.find('}').unwrap_or(inner.len())]
            } else {
                rest
            };
            for item in list.split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.push(name);
                }
                if !rest.starts_with('{') {
                    break;
                }
            }
        }
        found
    }

    /// Lower modules never import higher ones (and nothing imports `main`).
    #[test]
    fn modules_import_only_lower_layers() {
        for (module, source) in SOURCES {
            let own = layer(module);
            for used in uses(source) {
                if used == *module || !SOURCES.iter().any(|(m, _)| *m == used) {
                    continue;
                }
                assert!(
                    layer(&used) < own,
                    "{module} (layer {}) uses {used} (layer {})",
                    own + 1,
                    layer(&used) + 1
                );
            }
        }
        // `main` declares the modules and is the top: every module is in a layer, once.
        let mut listed: Vec<&str> = LAYERS.iter().flat_map(|l| l.iter().copied()).collect();
        listed.sort_unstable();
        let mut sources: Vec<&str> = SOURCES.iter().map(|(m, _)| *m).collect();
        sources.sort_unstable();
        assert_eq!(listed, sources);
    }

    /// The check sees the imports it is for.
    #[test]
    fn imports_are_found() {
        assert_eq!(
            uses(
                "use crate::env::{Buffers, Env};\nuse crate::{hl, ours::x};\n/// [`crate::cpu`]\n\
                 crate::mark::drv(f)"
            ),
            ["env", "hl", "ours", "mark"]
        );
    }
}
