//! Baseline probe: runtime and SPI device only.
#![no_std]
#![no_main]

/// The probe.
#[no_mangle]
pub extern "C" fn probe_main() -> ! {
    loop {
        probe_rt::exercise_spi();
    }
}
