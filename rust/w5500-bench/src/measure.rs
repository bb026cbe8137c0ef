//! One measurement: a fresh environment, and the workload run by the driver's harness (the
//! bulk, request/response and cycle workloads by [`ours`], [`hl`], [`smol`]; DHCP and DNS by
//! [`ourssvc`], [`hlsvc`], [`smolsvc`]).

use crate::env::{Buffers, Env};
use crate::work::{Driver, Row, Run, Work};
use crate::{hl, hlsvc, ours, ourssvc, smol, smolsvc};

/// One run of `work` by `driver` on a fresh simulated chip with `buffers`.
pub fn measure(driver: Driver, work: Work, buffers: Buffers) -> Row {
    measure_with(driver, work, buffers, false)
}

/// [`measure`], with w5500-hl on the datasheet-faithful model when `hl_strict`.
pub fn measure_with(driver: Driver, work: Work, buffers: Buffers, hl_strict: bool) -> Row {
    // w5500-hl reads Sn_TX_FSR / Sn_RX_RSR once (no double read) and never waits for Sn_CR
    // to clear after a command, so on the datasheet-faithful simulator it moves wrong byte
    // counts. Its figures are taken with torn reads off and instant command acceptance
    // (`BENCH_HL_STRICT=1` runs it on the faithful model; the report shows both).
    let strict = driver != Driver::Hl || hl_strict;
    let env = Env::with_torn_reads(buffers, work.source_bytes(), strict, strict);
    let run: Result<Run, String> = match (driver, work.is_service()) {
        (Driver::Ours, false) => ours::run(&env, &work),
        (Driver::Ours, true) => ourssvc::run(&env, &work),
        (Driver::Hl, false) => hl::run(&env, &work),
        (Driver::Hl, true) => hlsvc::run(&env, &work),
        (Driver::Smoltcp, false) => smol::run(&env, &work),
        (Driver::Smoltcp, true) => smolsvc::run(&env, &work),
    };
    Row {
        driver,
        work,
        buffers,
        run,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smoke test of the harness: each driver moves verified data and the spy agrees with the
    /// simulator's accounting (no timings asserted).
    #[test]
    fn every_driver_runs_small_workloads_with_verified_data() {
        for driver in Driver::ALL {
            for work in [
                Work::TcpRecv(16 * 1024),
                Work::Echo { count: 3 },
                Work::Dhcp,
                Work::Dns,
            ] {
                let r = measure(driver, work, Buffers::K2);
                let run = r
                    .run
                    .unwrap_or_else(|e| panic!("{} {}: {e}", driver.name(), work.name()));
                assert!(run.payload > 0 || work.is_service());
                assert!(
                    run.spi.bytes() >= run.payload,
                    "SPI carries at least the payload"
                );
                assert!(run.spi.bufs.bytes > 0);
                assert_eq!(run.ops, if work.is_service() { 1 } else { run.ops });
            }
        }
        assert_eq!(Driver::parse("ours"), Some(Driver::Ours));
    }
}
