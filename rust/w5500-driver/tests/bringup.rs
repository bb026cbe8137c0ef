//! Bring-up on the simulated chip: probe, buffer plan, PHY status (DS §3.1 common registers,
//! §3.2 Sn_RXBUF_SIZE/Sn_TXBUF_SIZE, §3.1 PHYCFGR; DS §5.5 reset timing).
mod support;

use std::net::SocketAddrV4;
use std::time::{Duration, Instant as Wall};
use support::*;
use w5500_driver::chip::{PROBE_INTERVAL_US, PROBE_TRIES};
use w5500_driver::regs::{sn, CHIP_VERSION};

fn absent(level: u8) {
    let mut sim = Sim::new(Lan::standard());
    sim.faults_mut().chip_absent = Some(level);
    let wall = Wall::now();
    let err = match Rig::new(sim, cfg()) {
        Err(e) => e,
        Ok(_) => panic!("an absent chip (MISO {level:#04x}) was brought up"),
    };
    assert_eq!(err, Error::ChipNotFound { version: level });
    assert_eq!(err.errno(), w5500_driver::Errno::ENODEV);
    // Bounded probe: at most PROBE_TRIES reads, PROBE_INTERVAL_US apart, in simulated time;
    // and no real-time hang either.
    assert!(wall.elapsed() < Duration::from_secs(5));
    assert_ne!(level, CHIP_VERSION);
}

/// DS §3.1 VERSIONR: MISO stuck low (no chip, pulled down) reads 0x00 forever.
#[test]
fn ds_3_1_versionr_absent_chip_miso_low_is_chip_not_found() {
    absent(0x00);
}

/// DS §3.1 VERSIONR: MISO floating high reads 0xFF forever.
#[test]
fn ds_3_1_versionr_absent_chip_miso_high_is_chip_not_found() {
    absent(0xFF);
}

/// The probe is bounded in simulated time too: PROBE_TRIES × PROBE_INTERVAL_US plus SPI time.
#[test]
fn ds_3_1_absent_chip_probe_is_bounded_in_simulated_time() {
    let mut sim = Sim::new(Lan::standard());
    sim.faults_mut().chip_absent = Some(0xFF);
    let shared = std::sync::Arc::new(std::sync::Mutex::new(sim));
    let mut chip = w5500_driver::chip::Chip::new(w5500_sim::spi::SimSpiDevice::new(shared.clone()));
    let r = chip.init(&mut w5500_testkit::SimDelay(shared.clone()), &cfg().chip);
    assert_eq!(r, Err(Error::ChipNotFound { version: 0xFF }));
    let t = shared.lock().unwrap().now().as_micros();
    let bound = u64::from(PROBE_TRIES) * u64::from(PROBE_INTERVAL_US) * 2;
    assert!(t <= bound, "probe took {t} µs (bound {bound})");
}

fn check_plan(kb: BufferSize) {
    let c = cfg_buffers(kb);
    let rig = rig_with(c.clone());
    for n in 0..8 {
        let (rx, tx) = rig.with_sim(|s| {
            (
                s.peek_socket(n, sn::RXBUF_SIZE),
                s.peek_socket(n, sn::TXBUF_SIZE),
            )
        });
        assert_eq!(rx, c.chip.rx_buf[n].kb(), "{kb:?} socket {n} RX");
        assert_eq!(tx, c.chip.tx_buf[n].kb(), "{kb:?} socket {n} TX");
    }
    // The socket with buffers works end to end.
    let bsd = &rig.bsd;
    let s = tcp_connect(bsd, standard::ECHO, 7);
    let msg = vec![0x5a; 3000];
    assert_eq!(bsd.send(s, &msg, None, nf()).unwrap(), msg.len());
    assert_eq!(recv_exact(bsd, s, msg.len()), msg);
    bsd.close(s).unwrap();
    assert_no_violations(&rig);
}

/// DS §3.2 Sn_RXBUF_SIZE/Sn_TXBUF_SIZE: 16 KB, 8 KB, 4 KB, 2 KB, 1 KB plans are programmed.
#[test]
fn ds_3_2_buffer_plans_1_2_4_8_16_kb() {
    for kb in [
        BufferSize::K1,
        BufferSize::K2,
        BufferSize::K4,
        BufferSize::K8,
        BufferSize::K16,
    ] {
        check_plan(kb);
    }
}

/// DS §3.2: a plan over 16 KB in one direction is refused before any write.
#[test]
fn ds_3_2_oversized_plan_is_refused() {
    let mut c = cfg();
    c.chip.tx_buf = [BufferSize::K4; 8];
    assert_eq!(
        Rig::new(Sim::new(Lan::standard()), c).err(),
        Some(Error::InvalidArgument)
    );
}

/// DS §3.1 PHYCFGR: LNK/SPD/DPX reported; with the cable pulled, LNK reads 0.
#[test]
fn ds_3_1_phycfgr_link_speed_duplex() {
    let rig = rig();
    let st = rig.bsd.os().with_stack(|s| s.chip().phy_status()).unwrap();
    assert!(st.link_up && st.speed_100 && st.full_duplex, "{st:?}");
    rig.with_sim(|s| s.faults_mut().link_down = true);
    let st = rig.bsd.os().with_stack(|s| s.chip().phy_status()).unwrap();
    assert!(!st.link_up, "{st:?}");
    assert_no_violations(&rig);
}

/// POSIX connect(): ENETDOWN while the link is down, at once, without waiting for the next
/// periodic link poll; and connect works again once the cable is back.
#[test]
fn ds_3_1_link_down_connect_is_enetdown() {
    let rig = rig();
    let bsd = &rig.bsd;
    rig.with_sim(|s| s.faults_mut().link_down = true);
    let s = bsd.socket(SockType::Stream).unwrap();
    let t0 = now_ms(&rig);
    let r = bsd.connect(s, SocketAddrV4::new(standard::ECHO, 7));
    assert_eq!(r, Err(Error::NetworkDown));
    assert_eq!(r.unwrap_err().errno(), w5500_driver::Errno::ENETDOWN);
    assert!(now_ms(&rig) - t0 < 50);
    // UDP sendto also refuses.
    let u = bsd.socket(SockType::Datagram).unwrap();
    assert_eq!(
        bsd.send(u, b"x", Some(SocketAddrV4::new(standard::ECHO, 7)), nf()),
        Err(Error::NetworkDown)
    );
    rig.with_sim(|s| s.faults_mut().link_down = false);
    bsd.connect(s, SocketAddrV4::new(standard::ECHO, 7))
        .unwrap();
    bsd.close(s).unwrap();
    bsd.close(u).unwrap();
    assert_no_violations(&rig);
}
