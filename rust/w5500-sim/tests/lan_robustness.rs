//! Hostile input: random TCP segments, random UDP payloads to the DHCP/DNS/HTTP servers and
//! random ARP, at random times. Nothing may panic, and the LAN must go quiet (bounded work).

mod support;

use std::net::SocketAddrV4;
use std::time::Duration;

use support::lan::*;
use w5500_sim::lan::standard as s;
use w5500_sim::lan::util::XorShift;
use w5500_sim::net::{IpPayload, Network, TcpFlags, TcpSegment};

fn bytes(rng: &mut XorShift, max: usize) -> Vec<u8> {
    let n = (rng.next_u32() as usize) % (max + 1);
    (0..n).map(|_| rng.next_u32() as u8).collect()
}

#[test]
fn random_segments_and_datagrams_never_panic_and_work_stays_bounded() {
    let mut chip = FakeChip::standard();
    chip.auto_tcp = false;
    let mut rng = XorShift::new(2024);
    let targets = [s::GATEWAY, s::NS2, s::HTTP, s::ECHO, s::BULK, s::PEER];
    let ports = [7u16, 9, 19, 53, 67, 80, 7000, 1234];
    for i in 0..5000u32 {
        let dst = targets[(rng.next_u32() as usize) % targets.len()];
        let port = ports[(rng.next_u32() as usize) % ports.len()];
        if i % 3 == 0 {
            chip.send_udp(
                rng.next_u32() as u16,
                SocketAddrV4::new(dst, port),
                &bytes(&mut rng, 600),
            );
        } else {
            let seg = TcpSegment {
                src_port: 40000 + (rng.next_u32() % 4) as u16,
                dst_port: port,
                seq: if rng.next_u32().is_multiple_of(2) {
                    rng.next_u32()
                } else {
                    rng.next_u32() % 4000
                },
                ack: rng.next_u32(),
                flags: TcpFlags((rng.next_u32() % 64) as u8),
                window: rng.next_u32() as u16,
                mss: rng
                    .next_u32()
                    .is_multiple_of(3)
                    .then(|| rng.next_u32() as u16),
                payload: bytes(&mut rng, 1460),
            };
            chip.send_ip(dst, IpPayload::Tcp(seg));
        }
        if i % 50 == 0 {
            chip.run_for(Duration::from_micros(u64::from(rng.next_u32() % 300_000)));
        }
    }
    // Let every host timer run out (retransmissions give up, TIME-WAIT ends).
    chip.run_for(Duration::from_secs(600));
    chip.take_inbox();
    chip.run_for(Duration::from_secs(600));
    assert!(
        chip.lan.next_event().is_none(),
        "LAN went quiet: {:?}",
        chip.lan.next_event()
    );
    // The standard services still work afterwards.
    chip.auto_tcp = true;
    let c = chip.connect(45000, SocketAddrV4::new(s::ECHO, 7), 9, 4096);
    chip.run_for(Duration::from_millis(1));
    chip.send_data(c, b"still alive");
    chip.run_for(Duration::from_millis(1));
    assert_eq!(chip.read_all(c), b"still alive");
}
