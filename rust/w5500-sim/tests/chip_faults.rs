//! INTn level, injected faults and the wall clock (DS §3.1 IR/IMR/SIR/SIMR, research notes §1.10).

mod support;
use support::chip::*;

use core::net::Ipv4Addr;
use core::time::Duration;

use w5500_sim::sim::{Sim, SimConfig};

#[test]
fn ds_3_1_intn_asserted_by_ir_and_imr() {
    let mut s = setup();
    // An ARP claiming our IP from another MAC sets IR.CONFLICT.
    let claim = Frame {
        dst: MacAddr::BROADCAST,
        src: PEER_MAC,
        body: Body::Arp(Arp {
            op: ArpOp::Request,
            sender_mac: PEER_MAC,
            sender_ip: IP,
            target_mac: MacAddr::ZERO,
            target_ip: IP,
        }),
    };
    deliver(&mut s, claim);
    assert_eq!(rd8(&mut s, 0, common::IR), 0x80);
    assert!(!s.int_asserted(), "IMR masks it");
    wr(&mut s, 0, common::IMR, &[0x80]);
    assert!(s.int_asserted());
    wr(&mut s, 0, common::IR, &[0x80]);
    assert!(!s.int_asserted());
}

#[test]
fn ds_3_1_intn_level_from_socket_recv_until_cleared() {
    let mut s = setup();
    wr(&mut s, 0, common::SIMR, &[0x02]);
    open(&mut s, 1, 0x02, 5000);
    assert!(!s.int_asserted());
    deliver(&mut s, udp_to_us(1, 5000, b"a"));
    assert!(s.int_asserted());
    assert_eq!(rd8(&mut s, 0, common::SIR), 0x02);
    deliver(&mut s, udp_to_us(1, 5000, b"b"));
    assert!(s.int_asserted(), "still a level");
    clear_ir(&mut s, 1, 0x04);
    assert!(!s.int_asserted());
}

#[test]
fn fault_link_down_drops_frames_both_ways_and_lnk_reads_0() {
    let mut s = setup();
    open(&mut s, 1, 0x02, 5000);
    s.faults_mut().link_down = true;
    assert_eq!(rd8(&mut s, 0, common::PHYCFGR) & 0x01, 0);
    deliver(&mut s, udp_to_us(1, 5000, b"lost"));
    assert_eq!(rd16(&mut s, sreg(1), sn::RX_RSR), 0);
    set_dest(&mut s, 1, Ipv4Addr::BROADCAST, 9);
    send(&mut s, 1, b"lost too");
    assert!(take_sent(&mut s).is_empty());
    s.faults_mut().link_down = false;
    assert_eq!(rd8(&mut s, 0, common::PHYCFGR) & 0x01, 1);
    deliver(&mut s, udp_to_us(1, 5000, b"ok"));
    assert_eq!(rd16(&mut s, sreg(1), sn::RX_RSR), 10);
}

#[test]
fn fault_chip_absent_miso_level() {
    for level in [0x00u8, 0xFF] {
        let mut s = setup();
        s.faults_mut().chip_absent = Some(level);
        assert_eq!(rd(&mut s, 0, common::VERSIONR, 2), vec![level; 2]);
        let mut raw = [0x00, 0x39, 0x00, 0x00];
        s.select().unwrap();
        s.transfer_in_place(&mut raw);
        s.deselect();
        assert_eq!(raw, [level; 4]);
        wr(&mut s, 0, common::SIPR, &[1, 1, 1, 1]);
        s.faults_mut().chip_absent = None;
        assert_eq!(
            rd(&mut s, 0, common::SIPR, 4),
            IP.octets().to_vec(),
            "writes were lost"
        );
    }
}

#[test]
fn fault_brown_out_resets_everything_and_closes_sockets() {
    let mut s = setup();
    open(&mut s, 1, 0x02, 5000);
    s.inject_brown_out();
    s.advance(Duration::from_millis(2));
    assert_eq!(sr(&mut s, 1), 0);
    assert_eq!(rd(&mut s, 0, common::SHAR, 6), vec![0; 6]);
    assert_eq!(rd16(&mut s, 0, common::RTR), 0x07D0);
}

#[test]
fn fault_stuck_command_never_reads_zero() {
    let mut s = setup();
    s.faults_mut().stuck_command = 1 << 4;
    wr(&mut s, sreg(4), sn::MR, &[0x02]);
    wr(&mut s, sreg(4), sn::CR, &[cmd::OPEN]);
    s.advance(Duration::from_secs(1));
    assert_eq!(rd8(&mut s, sreg(4), sn::CR), cmd::OPEN);
    assert_eq!(sr(&mut s, 4), 0);
    // Other sockets are unaffected.
    open(&mut s, 5, 0x02, 1);
    assert_eq!(sr(&mut s, 5), 0x22);
    // next_event does not spin on the stuck command.
    assert!(s.next_event().is_none());
}

#[test]
fn fault_spurious_and_stuck_interrupts() {
    let mut s = setup();
    wr(&mut s, 0, common::SIMR, &[0xFF]);
    s.inject_spurious_interrupt(6, 0x04);
    assert_eq!(sir(&mut s, 6), 0x04);
    assert_eq!(rd16(&mut s, sreg(6), sn::RX_RSR), 0, "no cause behind it");
    assert!(s.int_asserted());
    s.faults_mut().int_never_asserted = true;
    assert!(!s.int_asserted());
    s.faults_mut().int_never_asserted = false;
    clear_ir(&mut s, 6, 0xFF);
    s.faults_mut().int_stuck_asserted = true;
    assert!(s.int_asserted());
}

#[test]
fn advance_to_next_event_jumps_to_chip_timers() {
    let mut s = setup();
    open(&mut s, 1, 0x02, 5000);
    set_dest(&mut s, 1, PEER_IP, 7);
    send(&mut s, 1, b"x");
    let t = s.next_event().unwrap();
    let got = s.advance_to_next_event().unwrap();
    assert_eq!(got, t);
    // Ten jumps bring the ARP timeout.
    for _ in 0..20 {
        if s.advance_to_next_event().is_none() {
            break;
        }
    }
    assert_eq!(sir(&mut s, 1) & 0x08, 0x08);
}

#[cfg(feature = "std")]
#[test]
fn wall_clock_mode_follows_host_time() {
    use w5500_sim::sim::ClockMode;
    let cfg = SimConfig {
        clock: ClockMode::WallClock,
        ..SimConfig::default()
    };
    let mut s = Sim::with_config(ScriptedNetwork::default(), cfg);
    let a = s.now();
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(rd8(&mut s, 0, common::VERSIONR), 0x04);
    let b = s.now();
    assert!(b - a >= Duration::from_millis(20));
    s.advance(Duration::from_millis(5));
    assert!(s.now() - b >= Duration::from_millis(5));
}

#[test]
fn common_brief_sim_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<Sim<ScriptedNetwork>>();
    assert_send::<w5500_sim::chip::Chip>();
    #[cfg(feature = "std")]
    assert_send::<
        w5500_sim::spi::SimSpiDevice<std::sync::Arc<std::sync::Mutex<Sim<ScriptedNetwork>>>>,
    >();
}

#[test]
fn fault_chip_absent_keeps_intn_high() {
    let mut s = setup();
    wr(&mut s, 0, common::SIMR, &[0xFF]);
    s.inject_spurious_interrupt(0, 0x01);
    assert!(s.int_asserted());
    s.faults_mut().chip_absent = Some(0xFF);
    assert!(!s.int_asserted());
}
