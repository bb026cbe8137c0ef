//! Register map and access rules (DS §3.1 common registers, §3.2 socket registers).

mod support;
use support::chip::*;

use core::time::Duration;
use w5500_sim::chip::ViolationKind;
use w5500_sim::net::ScriptedNetwork;
use w5500_sim::regs::{common, sn, Block};
use w5500_sim::sim::Sim;

#[test]
fn ds_3_1_common_reset_values() {
    let mut s = Sim::new(ScriptedNetwork::default());
    let all = rd(&mut s, 0, 0, 0x3A);
    assert_eq!(all[0x00], 0x00, "MR");
    assert_eq!(&all[0x01..0x13], &[0u8; 0x12], "GAR SUBR SHAR SIPR");
    assert_eq!(&all[0x13..0x19], &[0u8; 6], "INTLEVEL IR IMR SIR SIMR");
    assert_eq!(&all[0x19..0x1B], &[0x07, 0xD0], "RTR");
    assert_eq!(all[0x1B], 0x08, "RCR");
    assert_eq!(all[0x1C], 0x28, "PTIMER");
    assert_eq!(all[0x1D], 0x00, "PMAGIC");
    assert_eq!(&all[0x26..0x28], &[0xFF, 0xFF], "PMRU");
    assert_eq!(&all[0x28..0x2E], &[0u8; 6], "UIPR UPORTR");
    // PHYCFGR 0b1011_1xxx with link up, 100 Mbit/s, full duplex.
    assert_eq!(all[0x2E], 0b1011_1111, "PHYCFGR");
    assert_eq!(&all[0x2F..0x39], &[0u8; 10], "reserved");
    assert_eq!(all[0x39], 0x04, "VERSIONR");
}

#[test]
fn ds_3_2_socket_reset_values() {
    let mut s = Sim::new(ScriptedNetwork::default());
    for n in 0..8u8 {
        let r = rd(&mut s, sreg(n), 0, 0x30);
        assert_eq!(&r[0..6], &[0u8; 6], "MR CR IR SR PORT");
        assert_eq!(&r[6..12], &[0xFF; 6], "DHAR");
        assert_eq!(&r[12..0x15], &[0u8; 9], "DIPR DPORT MSSR");
        assert_eq!(r[0x15], 0, "TOS");
        assert_eq!(r[0x16], 0x80, "TTL");
        assert_eq!((r[0x1E], r[0x1F]), (2, 2), "buffer sizes");
        assert_eq!(&r[0x20..0x22], &[0x08, 0x00], "TX_FSR");
        assert_eq!(&r[0x22..0x2C], &[0u8; 10], "pointers and RSR");
        assert_eq!(r[0x2C], 0xFF, "IMR");
        assert_eq!(&r[0x2D..0x2F], &[0x40, 0x00], "FRAG");
        assert_eq!(r[0x2F], 0, "KPALVTR");
    }
}

#[test]
fn ds_3_1_read_only_registers_ignore_writes_and_record() {
    let mut s = Sim::new(ScriptedNetwork::default());
    wr(&mut s, 0, common::VERSIONR, &[0x55]);
    assert_eq!(rd8(&mut s, 0, common::VERSIONR), 0x04);
    wr(&mut s, 0, common::UIPR, &[1, 2, 3, 4]);
    assert_eq!(rd(&mut s, 0, common::UIPR, 4), vec![0; 4]);
    wr(&mut s, sreg(3), sn::SR, &[0x17]);
    assert_eq!(rd8(&mut s, sreg(3), sn::SR), 0);
    wr16(&mut s, sreg(3), sn::TX_FSR, 0x1234);
    assert_eq!(rd16(&mut s, sreg(3), sn::TX_FSR), 0x0800);
    let v = s.violations();
    assert!(v.iter().any(|v| v.kind
        == ViolationKind::WriteReadOnly {
            block: Block::Common,
            addr: common::VERSIONR
        }));
    assert!(v.iter().any(|v| v.kind
        == ViolationKind::WriteReadOnly {
            block: Block::SocketRegs(3),
            addr: sn::SR
        }));
}

#[test]
fn ds_3_reserved_addresses_read_zero() {
    let mut s = Sim::new(ScriptedNetwork::default());
    wr(&mut s, 0, 0x0030, &[0xAA]);
    assert_eq!(rd8(&mut s, 0, 0x0030), 0);
    assert_eq!(rd(&mut s, 0, 0x003A, 4), vec![0; 4]);
    wr(&mut s, sreg(0), 0x14, &[0xAA]);
    assert_eq!(rd8(&mut s, sreg(0), 0x14), 0);
    assert_eq!(rd8(&mut s, sreg(0), 0x30), 0);
    assert!(s
        .violations()
        .iter()
        .any(|v| matches!(v.kind, ViolationKind::WriteReserved { .. })));
}

#[test]
fn ds_3_1_rw_registers_hold_values() {
    let mut s = Sim::new(ScriptedNetwork::default());
    let pattern: Vec<u8> = (1..=0x12).collect();
    wr(&mut s, 0, 0x01, &pattern);
    assert_eq!(rd(&mut s, 0, 0x01, 0x12), pattern);
    wr(&mut s, 0, common::INTLEVEL, &[0x12, 0x34]);
    assert_eq!(rd16(&mut s, 0, common::INTLEVEL), 0x1234);
    wr(&mut s, 0, common::RTR, &[0x0F, 0xA0, 0x03]);
    assert_eq!(rd(&mut s, 0, common::RTR, 3), vec![0x0F, 0xA0, 0x03]);
}

#[test]
fn ds_3_1_ir_and_ds_3_2_sn_ir_are_write_one_to_clear() {
    let mut s = Sim::new(ScriptedNetwork::default());
    s.inject_spurious_interrupt(2, 0x1F);
    assert_eq!(sir(&mut s, 2), 0x1F);
    clear_ir(&mut s, 2, 0x05);
    assert_eq!(sir(&mut s, 2), 0x1A);
    clear_ir(&mut s, 2, 0x00);
    assert_eq!(sir(&mut s, 2), 0x1A);
    // SIR follows Sn_IR and is read-only.
    assert_eq!(rd8(&mut s, 0, common::SIR), 0x04);
    wr(&mut s, 0, common::SIR, &[0xFF]);
    assert_eq!(rd8(&mut s, 0, common::SIR), 0x04);
    clear_ir(&mut s, 2, 0xFF);
    assert_eq!(rd8(&mut s, 0, common::SIR), 0x00);
}

#[test]
fn ds_3_1_mr_rst_soft_reset_self_clears() {
    let mut s = setup();
    wr(&mut s, sreg(1), sn::TTL, &[0x10]);
    wr(&mut s, 0, common::MR, &[0x80]);
    // Registers are back at reset values; MR reads 0 once the reset completed.
    for _ in 0..10 {
        if rd8(&mut s, 0, common::MR) == 0 {
            break;
        }
    }
    assert_eq!(rd8(&mut s, 0, common::MR), 0);
    assert_eq!(rd(&mut s, 0, common::SIPR, 4), vec![0; 4]);
    assert_eq!(rd8(&mut s, sreg(1), sn::TTL), 0x80);
}

#[test]
fn ds_3_1_phycfgr_rst_zero_drops_link_then_returns() {
    let mut s = Sim::new(ScriptedNetwork::default());
    assert_eq!(rd8(&mut s, 0, common::PHYCFGR) & 1, 1);
    wr(&mut s, 0, common::PHYCFGR, &[0x38]);
    let v = rd8(&mut s, 0, common::PHYCFGR);
    assert_eq!(v & 0x01, 0, "link down during PHY reset");
    assert_eq!(v & 0x80, 0x80, "RST reads 1");
    s.advance(Duration::from_millis(20));
    assert_eq!(rd8(&mut s, 0, common::PHYCFGR) & 0x07, 0x07);
}

#[test]
fn ds_3_1_phycfgr_opmdc_modes_and_power_down() {
    let mut s = Sim::new(ScriptedNetwork::default());
    // OPMD=1, OPMDC=001 (10BT full duplex), with a PHY reset to latch it.
    wr(&mut s, 0, common::PHYCFGR, &[0b0100_1000]);
    wr(&mut s, 0, common::PHYCFGR, &[0b1100_1000]);
    s.advance(Duration::from_millis(20));
    assert_eq!(rd8(&mut s, 0, common::PHYCFGR), 0b1100_1101);
    // Power-down: link stays down.
    wr(&mut s, 0, common::PHYCFGR, &[0b0111_0000]);
    s.advance(Duration::from_millis(50));
    assert_eq!(rd8(&mut s, 0, common::PHYCFGR) & 0x07, 0);
    assert!(!s.chip().link_up(s.now()));
}

#[test]
fn ds_3_2_invalid_buffer_size_recorded_and_layout() {
    let mut s = Sim::new(ScriptedNetwork::default());
    wr(&mut s, sreg(0), sn::TXBUF_SIZE, &[3]);
    assert!(s.violations().iter().any(|v| v.kind
        == ViolationKind::InvalidBufferSize {
            socket: 0,
            tx: true,
            kb: 3
        }));
    // Invalid counts as 0 KB: socket 1 starts at 0.
    assert_eq!(s.chip().buffer_region(1, true), (0, 2048));
    // 16 KB on socket 0 leaves nothing for the others.
    wr(&mut s, sreg(0), sn::TXBUF_SIZE, &[16]);
    assert_eq!(s.chip().buffer_region(0, true), (0, 16384));
    assert_eq!(s.chip().buffer_region(1, true), (16384, 0));
    wr(&mut s, sreg(1), sn::MR, &[0x02]);
    wr16(&mut s, sreg(1), sn::PORT, 5000);
    command(&mut s, 1, 0x01);
    assert!(s.violations().iter().any(|v| v.kind
        == ViolationKind::BufferLayout {
            socket: 1,
            tx: true
        }));
}

#[test]
fn ds_3_2_tx_buffer_burst_wraps_in_ring() {
    let mut s = Sim::new(ScriptedNetwork::default());
    // Socket 1 TX ring is 2 KB at 2048..4096; a burst at raw pointer 0xFFFE wraps.
    wr(&mut s, txb(1), 0xFFFE, &[1, 2, 3, 4]);
    assert_eq!(rd(&mut s, txb(1), 0x07FE, 2), vec![1, 2]);
    assert_eq!(rd(&mut s, txb(1), 0x0000, 2), vec![3, 4]);
    assert_eq!(
        rd(&mut s, txb(1), 0x0800, 2),
        vec![3, 4],
        "masked to the 2 KB ring"
    );
    // Socket 0's ring is untouched.
    assert_eq!(rd(&mut s, txb(0), 0, 2), vec![0, 0]);
}

#[test]
fn ds_3_2_sn_cr_reads_back_until_accepted() {
    let mut s = setup();
    wr(&mut s, sreg(0), sn::MR, &[0x02]);
    wr16(&mut s, sreg(0), sn::PORT, 1000);
    wr(&mut s, sreg(0), sn::CR, &[0x01]);
    // Accepted only after command_delay (5 µs): an immediate read-back sees the command.
    let first = rd8(&mut s, sreg(0), sn::CR);
    assert_eq!(first, 0x01);
    s.advance(Duration::from_micros(10));
    assert_eq!(rd8(&mut s, sreg(0), sn::CR), 0);
    assert_eq!(sr(&mut s, 0), 0x22);
}
