#![no_main]
//! cargo-fuzz target `sim_spi`: see `w5500_fuzz::sim_spi::sim_spi`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = w5500_fuzz::sim_spi::sim_spi(data);
});
