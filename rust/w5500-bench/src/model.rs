//! The throughput model: SPI time from bytes and transactions, next to the bounds set by the
//! payload alone and by 100 Mbit/s Ethernet.

use crate::work::{Run, Work};

/// SPI clocks modelled, in MHz.
pub const CLOCKS_MHZ: [f64; 4] = [10.0, 20.0, 40.0, 80.0];

/// Chip-select cost per transaction (CS setup/hold, driver and DMA setup), in µs.
pub const CS_US: f64 = 1.0;

/// Modeled payload throughput in Mbit/s at `mhz`: payload bits over (clocked bits / f +
/// transactions × CS cost). Chip and network latency are not in the model: it is the SPI
/// bound of the driver's access pattern.
pub fn throughput(run: &Run, mhz: f64) -> f64 {
    let us = run.spi.bytes() as f64 * 8.0 / mhz + run.spi.txns() as f64 * CS_US;
    if us <= 0.0 {
        return 0.0;
    }
    run.payload as f64 * 8.0 / us
}

/// What 100 Mbit/s Ethernet allows for this workload's payload (Mbit/s): payload over the
/// bytes on the wire per frame (preamble 8, header 14, FCS 4, gap 12, IP 20, TCP 20 / UDP 8,
/// minimum frame 64).
pub fn ethernet_bound(w: &Work) -> f64 {
    let (payload, l4) = match *w {
        Work::UdpTx { size, .. } | Work::UdpRx { size, .. } => (size as f64, 8.0),
        Work::Echo { .. } | Work::Cycles { .. } => (64.0, 20.0),
        Work::Dhcp | Work::Dns => (300.0, 8.0),
        _ => (1460.0, 20.0),
    };
    let frame = (14.0 + 20.0 + l4 + payload + 4.0).max(64.0);
    100.0 * payload / (frame + 8.0 + 12.0)
}

/// The payload-only bound at `mhz`: SPI carrying nothing but payload, capped by Ethernet.
pub fn payload_bound(w: &Work, mhz: f64) -> f64 {
    mhz.min(ethernet_bound(w))
}
