//! `w5500-bench`: SPI efficiency, modeled throughput, CPU cost and footprint of our W5500
//! driver, side by side with newAM's w5500-hl and with smoltcp over MACRAW, all on the
//! simulated chip and the in-memory LAN (deterministic, simulated clock).
//!
//! Usage: `w5500-bench [--quick] [--no-cpu] [--no-footprint] [--no-write]`
//! and, for the CPU measurement, `w5500-bench --one <driver> <workload> <2|16> [--quick]`
//! runs one measurement (the process callgrind counts).

mod env;
mod hl;
mod hlsvc;
mod model;
mod ours;
mod spy;
mod work;

use std::process::ExitCode;

use env::{Buffers, Env};
use work::{Driver, Row, Run, Work};

fn measure(driver: Driver, work: Work, buffers: Buffers) -> Row {
    // w5500-hl reads Sn_TX_FSR / Sn_RX_RSR once (no double read) and never waits for Sn_CR
    // to clear after a command, so on the datasheet-faithful simulator it moves wrong byte
    // counts. Its figures are taken with torn reads off and instant command acceptance
    // (`BENCH_HL_STRICT=1` runs it on the faithful model; the report shows both).
    let strict = driver != Driver::Hl || std::env::var_os("BENCH_HL_STRICT").is_some();
    let env = Env::with_torn_reads(buffers, work.source_bytes(), strict, strict);
    let run: Result<Run, String> = match driver {
        Driver::Ours => ours::run(&env, &work),
        Driver::Hl => hl::run(&env, &work),
        _ => Err("not implemented".into()),
    };
    Row {
        driver,
        work,
        buffers,
        run,
    }
}

fn print_row(r: &Row) {
    match &r.run {
        Ok(run) => {
            let per = run.spi.bytes() as f64 / run.payload.max(1) as f64;
            println!(
                "{:<15} {:<16} {:>2}K  {:>9.4} B/B  {:>8.2} txn/{:<10} regs {:>5.1}% bufs {:>5.1}% poll {:>5.1}%  {:>6.1} {:>6.1} {:>6.1} {:>6.1} Mbit/s",
                r.driver.name(),
                r.work.name(),
                r.buffers.kb(),
                per,
                run.spi.txns() as f64 / run.ops.max(1) as f64,
                r.work.op_name(),
                100.0 * run.spi.regs.bytes as f64 / run.spi.bytes().max(1) as f64,
                100.0 * run.spi.bufs.bytes as f64 / run.spi.bytes().max(1) as f64,
                100.0 * run.spi.poll.bytes as f64 / run.spi.bytes().max(1) as f64,
                model::throughput(run, 10.0),
                model::throughput(run, 20.0),
                model::throughput(run, 40.0),
                model::throughput(run, 80.0),
            );
        }
        Err(e) => println!(
            "{:<15} {:<16} {:>2}K  FAILED: {e}",
            r.driver.name(),
            r.work.name(),
            r.buffers.kb()
        ),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let mut rows = Vec::new();
    for work in work::workloads(quick) {
        for buffers in [Buffers::K2, Buffers::K16] {
            for driver in Driver::ALL {
                let r = measure(driver, work, buffers);
                print_row(&r);
                rows.push(r);
            }
        }
    }
    ExitCode::SUCCESS
}
