//! SPI framing (DS §2.2), embedded-hal front ends, accounting, clock and torn reads.

mod support;
use support::chip::*;

use core::cell::RefCell;
use core::time::Duration;

use embedded_hal::digital::{InputPin, OutputPin};
use embedded_hal::spi::{Operation, SpiBus, SpiDevice};
use w5500_sim::chip::ViolationKind;
use w5500_sim::net::ScriptedNetwork;
use w5500_sim::regs::{common, sn};
use w5500_sim::sim::{Sim, SimConfig};
use w5500_sim::spi::{Area, SimCsPin, SimIntPin, SimResetPin, SimSpiBus, SimSpiDevice};
use w5500_sim::time::{Instant, SpiTiming};

#[test]
fn ds_2_2_vdm_read_versionr_miso_header_zero() {
    let mut s = Sim::new(ScriptedNetwork::default());
    let mut buf = [0x00, 0x39, 0x00, 0x00];
    s.select().unwrap();
    s.transfer_in_place(&mut buf);
    s.deselect();
    // Header bytes return 0x00 (documented choice), then VERSIONR.
    assert_eq!(buf, [0, 0, 0, 0x04]);
}

#[test]
fn ds_2_2_vdm_burst_auto_increments() {
    let mut s = Sim::new(ScriptedNetwork::default());
    // Write SHAR+SIPR in one burst, read back GAR..SIPR in one burst.
    let data = [2, 0, 0, 0, 0, 1, 10, 0, 0, 2];
    wr(&mut s, 0, common::SHAR, &data);
    let back = rd(&mut s, 0, common::GAR, 18);
    assert_eq!(&back[8..18], &data);
}

#[test]
fn ds_2_2_fdm_frames_back_to_back_in_one_select() {
    let mut s = Sim::new(ScriptedNetwork::default());
    // FDM 4-byte write of SIPR, FDM 2-byte write of RTR, FDM 1-byte read of VERSIONR.
    let mut bytes = vec![0x00, 0x0F, 0x04 | 0x03, 10, 0, 0, 7];
    bytes.extend_from_slice(&[0x00, 0x19, 0x04 | 0x02, 0x12, 0x34]);
    bytes.extend_from_slice(&[0x00, 0x39, 0x01, 0x00]);
    s.select().unwrap();
    s.transfer_in_place(&mut bytes);
    s.deselect();
    assert_eq!(*bytes.last().unwrap(), 0x04);
    assert_eq!(rd(&mut s, 0, common::SIPR, 4), vec![10, 0, 0, 7]);
    assert_eq!(rd16(&mut s, 0, common::RTR), 0x1234);
    assert!(s.violations().is_empty(), "{:?}", s.violations());
    // Chip select released inside an FDM frame is recorded.
    s.select().unwrap();
    s.transfer_in_place(&mut [0x00, 0x19, 0x02, 0x00]);
    s.deselect();
    assert!(s
        .violations()
        .iter()
        .any(|v| v.kind == ViolationKind::TruncatedFixedFrame));
}

#[test]
fn ds_2_2_2_reserved_bsb_reads_zero_writes_ignored() {
    let mut s = Sim::new(ScriptedNetwork::default());
    wr(&mut s, 0x04, 0x0000, &[0xAB]);
    assert_eq!(rd8(&mut s, 0x04, 0x0000), 0);
    assert!(s
        .violations()
        .iter()
        .any(|v| v.kind == ViolationKind::ReservedBlock { bsb: 0x04 }));
    assert_eq!(s.stats().area(Area::Other).frames, 2);
}

#[test]
fn ds_2_2_truncated_header_and_empty_frame_recorded() {
    let mut s = Sim::new(ScriptedNetwork::default());
    s.select().unwrap();
    s.transfer_in_place(&mut [0x00, 0x39]);
    s.deselect();
    s.select().unwrap();
    s.transfer_in_place(&mut [0x00, 0x39, 0x00]);
    s.deselect();
    let kinds: Vec<_> = s.violations().iter().map(|v| v.kind).collect();
    assert!(kinds.contains(&ViolationKind::TruncatedHeader));
    assert!(kinds.contains(&ViolationKind::EmptyFrame));
}

#[test]
fn eh1_spi_device_all_operations_on_refcell() {
    let cell = RefCell::new(Sim::new(ScriptedNetwork::default()));
    let mut dev = SimSpiDevice::new(&cell);
    // Write SIPR with Write ops split across operations.
    dev.transaction(&mut [
        Operation::Write(&[0x00, 0x0F, 0x04]),
        Operation::DelayNs(1000),
        Operation::Write(&[192, 168]),
        Operation::Write(&[1, 50]),
    ])
    .unwrap();
    let mut r = [0u8; 4];
    let mut t = [0u8; 2];
    let mut tip = [0u8; 1];
    dev.transaction(&mut [
        Operation::Transfer(&mut t, &[0x00, 0x0F]),
        Operation::TransferInPlace(&mut [0x00]),
        Operation::Read(&mut r[..3]),
        Operation::TransferInPlace(&mut tip),
    ])
    .unwrap();
    assert_eq!(&r[..3], &[192, 168, 1]);
    assert_eq!(tip, [50]);
    assert_eq!(t, [0, 0]);
    assert_eq!(cell.borrow().stats().transactions, 2);
    // The DelayNs counted in simulated time: 1 µs more than two plain frames.
    assert!(cell.borrow().now() >= Instant::from_micros(1));
}

#[test]
fn eh1_spi_bus_with_cs_pin() {
    let cell = RefCell::new(Sim::new(ScriptedNetwork::default()));
    let mut bus = SimSpiBus::new(&cell);
    let mut cs = SimCsPin::new(&cell);
    // Bytes while CS is high do not reach the chip.
    let mut junk = [0x00, 0x39, 0x00, 0x00];
    bus.transfer_in_place(&mut junk).unwrap();
    assert_eq!(junk, [0xFF; 4]);
    cs.set_low().unwrap();
    bus.write(&[0x00, 0x39, 0x00]).unwrap();
    let mut v = [0u8; 1];
    bus.read(&mut v).unwrap();
    cs.set_high().unwrap();
    assert_eq!(v, [0x04]);
    cs.set_low().unwrap();
    let mut rd2 = [0u8; 5];
    bus.transfer(&mut rd2, &[0x00, 0x19, 0x00]).unwrap();
    cs.set_high().unwrap();
    assert_eq!(&rd2[3..], &[0x07, 0xD0]);
}

#[cfg(feature = "std")]
#[test]
fn eh1_spi_device_on_arc_mutex() {
    use std::sync::{Arc, Mutex};
    let sim = Arc::new(Mutex::new(Sim::new(ScriptedNetwork::default())));
    let mut dev = SimSpiDevice::new(sim.clone());
    let mut v = [0u8; 1];
    dev.transaction(&mut [
        Operation::Write(&[0x00, 0x39, 0x00]),
        Operation::Read(&mut v),
    ])
    .unwrap();
    assert_eq!(v, [0x04]);
    let h = std::thread::spawn(move || {
        let mut dev = SimSpiDevice::new(sim);
        let mut v = [0u8; 1];
        dev.transaction(&mut [
            Operation::Write(&[0x00, 0x1B, 0x00]),
            Operation::Read(&mut v),
        ])
        .unwrap();
        v[0]
    });
    assert_eq!(h.join().unwrap(), 8);
}

#[test]
fn ds_5_5_1_reset_pin_pulse_and_pll_lock() {
    let cell = RefCell::new(setup());
    let mut rst = SimResetPin::new(&cell);
    // Too short: ignored, recorded.
    rst.set_low().unwrap();
    cell.borrow_mut().advance(Duration::from_micros(100));
    rst.set_high().unwrap();
    assert_eq!(
        rd(&mut cell.borrow_mut(), 0, common::SIPR, 4),
        IP.octets().to_vec()
    );
    assert!(cell
        .borrow()
        .violations()
        .iter()
        .any(|v| matches!(v.kind, ViolationKind::ShortResetPulse { micros: 100 })));
    // 500 µs: reset; inaccessible for 1 ms after release.
    rst.set_low().unwrap();
    cell.borrow_mut().advance(Duration::from_micros(500));
    rst.set_high().unwrap();
    assert_eq!(rd8(&mut cell.borrow_mut(), 0, common::VERSIONR), 0x00);
    assert!(cell
        .borrow()
        .violations()
        .iter()
        .any(|v| v.kind == ViolationKind::AccessDuringReset));
    cell.borrow_mut().advance(Duration::from_millis(1));
    assert_eq!(rd8(&mut cell.borrow_mut(), 0, common::VERSIONR), 0x04);
    assert_eq!(rd(&mut cell.borrow_mut(), 0, common::SIPR, 4), vec![0; 4]);
}

#[test]
fn ds_3_1_int_pin_is_level_of_sir_and_simr() {
    let cell = RefCell::new(Sim::new(ScriptedNetwork::default()));
    let mut int = SimIntPin::new(&cell);
    assert!(int.is_high().unwrap());
    cell.borrow_mut().inject_spurious_interrupt(1, 0x04);
    assert!(int.is_high().unwrap(), "SIMR masks socket 1");
    wr(&mut cell.borrow_mut(), 0, common::SIMR, &[0x02]);
    assert!(int.is_low().unwrap());
    // Sn_IMR gates SIR (and so INTn) but not Sn_IR.
    wr(&mut cell.borrow_mut(), sreg(1), sn::IMR, &[0x00]);
    assert!(int.is_high().unwrap());
    assert_eq!(sir(&mut cell.borrow_mut(), 1), 0x04);
    wr(&mut cell.borrow_mut(), sreg(1), sn::IMR, &[0xFF]);
    assert!(int.is_low().unwrap());
    // Level: stays asserted until the Sn_IR bit is cleared.
    cell.borrow_mut().advance(Duration::from_secs(1));
    assert!(int.is_low().unwrap());
    clear_ir(&mut cell.borrow_mut(), 1, 0x04);
    assert!(int.is_high().unwrap());
}

#[test]
fn spi_accounting_by_area() {
    let mut s = Sim::new(ScriptedNetwork::default());
    rd(&mut s, 0, 0x39, 1);
    rd(&mut s, sreg(0), 0x20, 2);
    wr(&mut s, txb(0), 0, &[0; 10]);
    rd(&mut s, rxb(0), 0, 5);
    let st = *s.stats();
    assert_eq!(st.transactions, 4);
    assert_eq!(st.bytes, 4 + 5 + 13 + 8);
    assert_eq!(st.area(Area::Common).bytes, 4);
    assert_eq!(st.area(Area::SocketRegs).bytes, 5);
    assert_eq!(st.area(Area::TxBuffer).bytes, 13);
    assert_eq!(st.area(Area::RxBuffer).bytes, 8);
    assert_eq!(st.area(Area::RxBuffer).frames, 1);
    s.reset_stats();
    assert_eq!(s.stats().bytes, 0);
}

#[test]
fn spi_transaction_costs_wire_time() {
    let cfg = SimConfig {
        timing: SpiTiming {
            sck_hz: 8_000_000,
            cs_overhead_ns: 500,
        },
        ..SimConfig::default()
    };
    let mut s = Sim::with_config(ScriptedNetwork::default(), cfg);
    // 4 bytes at 8 MHz = 4 µs + 0.5 µs; three of them = 13.5 µs (remainders accumulate).
    for _ in 0..3 {
        rd(&mut s, 0, 0x39, 1);
    }
    assert_eq!(s.now(), Instant::from_micros(13));
    rd(&mut s, 0, 0x39, 1);
    assert_eq!(s.now(), Instant::from_micros(18));
}

/// DS p.54–55: Sn_RX_RSR may change between its two bytes. A datagram landing between the
/// two bytes of one burst read gives a torn value; with the knob off it cannot.
#[test]
fn ds_3_2_rx_rsr_torn_read_between_bytes() {
    for torn in [true, false] {
        // 1 MHz SPI: each byte takes 8 µs, so the instant between two bytes is easy to hit.
        let cfg = SimConfig {
            timing: SpiTiming {
                sck_hz: 1_000_000,
                cs_overhead_ns: 0,
            },
            torn_reads: torn,
            ..SimConfig::default()
        };
        let mut s = Sim::with_config(ScriptedNetwork::default(), cfg);
        wr(&mut s, 0, common::SUBR, &[255, 255, 255, 0]);
        wr(&mut s, 0, common::SHAR, &MAC.0);
        wr(&mut s, 0, common::SIPR, &IP.octets());
        open(&mut s, 0, 0x02, 5000);
        // 8 + 242 = 250 = 0x00FA stored.
        deliver(&mut s, udp_to_us(7, 5000, &[1; 242]));
        assert_eq!(rd16(&mut s, sreg(0), sn::RX_RSR), 0x00FA);
        // Next read: data byte 0 (high) at +24 µs, byte 1 (low) at +32 µs. A 2-byte datagram
        // (10 bytes stored) arrives at +28 µs: RSR goes 0x00FA -> 0x0104.
        let t0 = s.now();
        deliver_at(
            &mut s,
            Instant::from_micros(t0.as_micros() + 28),
            udp_to_us(7, 5000, &[2; 2]),
        );
        let v = rd16(&mut s, sreg(0), sn::RX_RSR);
        if torn {
            assert_eq!(v, 0x0004, "high byte from before, low byte from after");
        } else {
            assert_eq!(v, 0x00FA, "engine ran only between transactions");
        }
        assert_eq!(rd16(&mut s, sreg(0), sn::RX_RSR), 0x0104);
    }
}
