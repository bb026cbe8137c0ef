//! Commands, ARP and UDP (DS §3.2 Sn_CR/Sn_SR/Sn_IR, DS p.38 ARPTO; RFC 826, RFC 768).

mod support;
use support::chip::*;

use core::net::Ipv4Addr;
use core::time::Duration;

use w5500_sim::chip::ViolationKind;
use w5500_sim::time::Instant;

fn udp_socket(port: u16) -> S {
    let mut s = setup();
    open(&mut s, 1, 0x02, port);
    assert_eq!(sr(&mut s, 1), 0x22, "DS §3.2 Sn_SR SOCK_UDP");
    s
}

#[test]
fn ds_3_2_udp_send_arps_first_then_sends_and_caches() {
    let mut s = udp_socket(4000);
    set_dest(&mut s, 1, PEER_IP, 7);
    send(&mut s, 1, b"hello");
    let sent = take_sent(&mut s);
    assert_eq!(sent.len(), 1);
    let a = arp_of(&sent[0]).unwrap();
    assert_eq!(
        (a.op, a.target_ip, sent[0].dst),
        (ArpOp::Request, PEER_IP, MacAddr::BROADCAST)
    );
    assert_eq!(
        sir(&mut s, 1) & 0x10,
        0,
        "no SEND_OK before the datagram left"
    );
    deliver(&mut s, arp_reply(PEER_IP, PEER_MAC));
    let sent = take_sent(&mut s);
    let (p, d) = udp_of(&sent[0]).unwrap();
    assert_eq!(
        (sent[0].dst, p.dst, d.src_port, d.dst_port),
        (PEER_MAC, PEER_IP, 4000, 7)
    );
    assert_eq!(d.payload, b"hello");
    assert_eq!(p.ttl, 0x80);
    assert!(p.dont_fragment, "Sn_FRAG reset 0x4000 sets DF");
    s.advance(Duration::from_micros(50));
    assert_eq!(sir(&mut s, 1) & 0x10, 0x10, "SEND_OK");
    assert_eq!(
        rd(&mut s, sreg(1), sn::DHAR, 6),
        PEER_MAC.0.to_vec(),
        "DHAR learned"
    );
    assert_eq!(rd16(&mut s, sreg(1), sn::TX_FSR), 2048);
    assert_eq!(rd16(&mut s, sreg(1), sn::TX_RD), 5);
    clear_ir(&mut s, 1, 0x10);
    // Second send to the same peer: no ARP.
    send(&mut s, 1, b"again");
    let sent = take_sent(&mut s);
    assert_eq!(sent.len(), 1);
    assert!(udp_of(&sent[0]).is_some());
}

#[test]
fn ds_3_1_mr_farp_forces_arp_every_send() {
    let mut s = udp_socket(4000);
    set_dest(&mut s, 1, PEER_IP, 7);
    send(&mut s, 1, b"a");
    deliver(&mut s, arp_reply(PEER_IP, PEER_MAC));
    s.advance(Duration::from_micros(50));
    take_sent(&mut s);
    wr(&mut s, 0, common::MR, &[0x02]);
    send(&mut s, 1, b"b");
    let sent = take_sent(&mut s);
    assert!(arp_of(&sent[0]).is_some());
}

#[test]
fn ds_p38_udp_arp_timeout_sets_timeout_socket_stays_udp() {
    let mut s = udp_socket(4000);
    set_dest(&mut s, 1, PEER_IP, 7);
    let t0 = s.now();
    send(&mut s, 1, b"x");
    // ARPTO = RTR * (RCR + 1) = 200 ms * 9 = 1.8 s, with RCR+1 = 9 requests.
    s.advance(Duration::from_millis(1790));
    assert_eq!(sir(&mut s, 1) & 0x08, 0);
    s.advance(Duration::from_millis(20));
    assert_eq!(sir(&mut s, 1) & 0x08, 0x08, "TIMEOUT");
    assert_eq!(sr(&mut s, 1), 0x22, "socket stays UDP");
    let sent = s.network_mut().take_sent();
    assert_eq!(sent.iter().filter(|(_, f)| arp_of(f).is_some()).count(), 9);
    let last = sent.last().unwrap().0;
    assert!(last - t0 >= Duration::from_millis(1600) && last - t0 < Duration::from_millis(1700));
    assert_eq!(rd16(&mut s, sreg(1), sn::TX_FSR), 2048, "TX space released");
}

#[test]
fn off_subnet_destination_arps_for_gateway() {
    let mut s = udp_socket(4000);
    set_dest(&mut s, 1, Ipv4Addr::new(8, 8, 8, 8), 53);
    send(&mut s, 1, b"q");
    let sent = take_sent(&mut s);
    assert_eq!(arp_of(&sent[0]).unwrap().target_ip, GW);
    deliver(&mut s, arp_reply(GW, GW_MAC));
    let sent = take_sent(&mut s);
    let (p, _) = udp_of(&sent[0]).unwrap();
    assert_eq!((sent[0].dst, p.dst), (GW_MAC, Ipv4Addr::new(8, 8, 8, 8)));
}

#[test]
fn udp_broadcast_send_uses_ff_mac_without_arp() {
    let mut s = udp_socket(68);
    for dst in [Ipv4Addr::BROADCAST, Ipv4Addr::new(10, 0, 0, 255)] {
        set_dest(&mut s, 1, dst, 67);
        send(&mut s, 1, b"discover");
        let sent = take_sent(&mut s);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].dst, MacAddr::BROADCAST);
        assert_eq!(udp_of(&sent[0]).unwrap().0.dst, dst);
        s.advance(Duration::from_micros(50));
        clear_ir(&mut s, 1, 0x10);
    }
}

#[test]
fn research_0_7_udp_larger_than_1472_is_split_not_fragmented() {
    let mut s = setup();
    wr(&mut s, sreg(1), sn::TXBUF_SIZE, &[4]);
    open(&mut s, 1, 0x02, 4000);
    set_dest(&mut s, 1, Ipv4Addr::BROADCAST, 9);
    let data: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
    send(&mut s, 1, &data);
    let sent = take_sent(&mut s);
    let lens: Vec<usize> = sent
        .iter()
        .map(|f| udp_of(f).unwrap().1.payload.len())
        .collect();
    assert_eq!(lens, vec![1472, 1472, 56]);
    let joined: Vec<u8> = sent
        .iter()
        .flat_map(|f| udp_of(f).unwrap().1.payload.clone())
        .collect();
    assert_eq!(joined, data);
}

#[test]
fn ds_3_2_udp_receive_stores_8_byte_header() {
    let mut s = udp_socket(5000);
    deliver(&mut s, udp_to_us(1234, 5000, b"abc"));
    deliver(&mut s, udp_to_us(1235, 5000, b"de"));
    assert_eq!(sir(&mut s, 1) & 0x04, 0x04, "RECV");
    let rx = recv_all(&mut s, 1);
    assert_eq!(
        rx,
        vec![
            10, 0, 0, 9, 0x04, 0xD2, 0, 3, b'a', b'b', b'c', 10, 0, 0, 9, 0x04, 0xD3, 0, 2, b'd',
            b'e'
        ]
    );
    assert_eq!(rd16(&mut s, sreg(1), sn::RX_RSR), 0);
    // Other ports and other IPs are not delivered.
    deliver(&mut s, udp_to_us(1, 5001, b"x"));
    assert_eq!(rd16(&mut s, sreg(1), sn::RX_RSR), 0);
}

#[test]
fn ds_3_2_udp_datagram_that_does_not_fit_is_dropped_whole() {
    let mut s = udp_socket(5000);
    deliver(&mut s, udp_to_us(1, 5000, &[7; 1472]));
    deliver(&mut s, udp_to_us(1, 5000, &[8; 600]));
    assert_eq!(
        rd16(&mut s, sreg(1), sn::RX_RSR),
        1480,
        "second datagram dropped"
    );
    deliver(&mut s, udp_to_us(1, 5000, &[9; 560]));
    assert_eq!(
        rd16(&mut s, sreg(1), sn::RX_RSR),
        2048,
        "exact fit accepted"
    );
}

#[test]
fn ds_3_2_sn_mr_bcastb_blocks_broadcast_receive() {
    for (mode, expect) in [(0x02u8, 12u16), (0x42, 0)] {
        let mut s = setup();
        open(&mut s, 1, mode, 68);
        let f = ip_frame(
            PEER_MAC,
            MacAddr::BROADCAST,
            PEER_IP,
            Ipv4Addr::BROADCAST,
            IpPayload::Udp(UdpDatagram {
                src_port: 67,
                dst_port: 68,
                payload: vec![0; 4],
            }),
        );
        deliver(&mut s, f);
        assert_eq!(rd16(&mut s, sreg(1), sn::RX_RSR), expect);
    }
}

#[test]
fn dhcp_unconfigured_ip_accepts_unicast_to_our_mac() {
    let mut s = setup();
    wr(&mut s, 0, common::SIPR, &[0, 0, 0, 0]);
    open(&mut s, 1, 0x02, 68);
    let f = ip_frame(
        PEER_MAC,
        MAC,
        PEER_IP,
        Ipv4Addr::new(10, 0, 0, 77),
        IpPayload::Udp(UdpDatagram {
            src_port: 67,
            dst_port: 68,
            payload: vec![1],
        }),
    );
    deliver(&mut s, f);
    assert_eq!(rd16(&mut s, sreg(1), sn::RX_RSR), 9);
}

#[test]
fn ds_3_2_send_mac_uses_dhar_without_arp() {
    let mut s = udp_socket(4000);
    set_dest(&mut s, 1, PEER_IP, 7);
    wr(&mut s, sreg(1), sn::DHAR, &[2, 0, 0, 0, 0, 0x42]);
    let wrp = rd16(&mut s, sreg(1), sn::TX_WR);
    wr(&mut s, txb(1), wrp, b"m");
    wr16(&mut s, sreg(1), sn::TX_WR, wrp + 1);
    command(&mut s, 1, cmd::SEND_MAC);
    let sent = take_sent(&mut s);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].dst, MacAddr([2, 0, 0, 0, 0, 0x42]));
}

#[test]
fn research_1_7_send_while_previous_send_busy_is_a_violation() {
    let mut s = udp_socket(4000);
    set_dest(&mut s, 1, PEER_IP, 7);
    send(&mut s, 1, b"one");
    send(&mut s, 1, b"two");
    assert!(s
        .violations()
        .iter()
        .any(|v| v.kind == ViolationKind::SendWhileBusy { socket: 1 }));
}

#[test]
fn ds_3_2_commands_in_wrong_state_are_ignored_not_panics() {
    let mut s = setup();
    for c in [
        cmd::LISTEN,
        cmd::CONNECT,
        cmd::DISCON,
        cmd::SEND,
        cmd::SEND_MAC,
        cmd::SEND_KEEP,
        cmd::RECV,
        0x77,
    ] {
        command(&mut s, 2, c);
        assert_eq!(sr(&mut s, 2), 0);
    }
    open(&mut s, 2, 0x02, 1);
    command(&mut s, 2, cmd::LISTEN);
    assert_eq!(sr(&mut s, 2), 0x22);
    command(&mut s, 2, cmd::CLOSE);
    assert_eq!(sr(&mut s, 2), 0);
    // MACRAW on socket 3 is refused.
    open(&mut s, 3, 0x04, 0);
    assert_eq!(sr(&mut s, 3), 0);
    assert!(s
        .violations()
        .iter()
        .any(|v| matches!(v.kind, ViolationKind::InvalidProtocol { socket: 3, .. })));
    assert!(s
        .violations()
        .iter()
        .any(|v| matches!(v.kind, ViolationKind::UnknownCommand { value: 0x77, .. })));
}

#[test]
fn ds_3_2_tx_overflow_beyond_fsr_is_recorded() {
    let mut s = udp_socket(4000);
    set_dest(&mut s, 1, Ipv4Addr::BROADCAST, 7);
    wr16(&mut s, sreg(1), sn::TX_WR, 3000);
    command(&mut s, 1, cmd::SEND);
    assert!(s.violations().iter().any(|v| v.kind
        == ViolationKind::TxOverflow {
            socket: 1,
            len: 3000
        }));
}

#[test]
fn ds_3_2_rx_pointer_wraps_with_16_bit_arithmetic() {
    let mut s = udp_socket(5000);
    // Move RX_RD/RX_WR near 0xFFFF by receiving and consuming 40 datagrams of 1600 bytes.
    let mut total: u32 = 0;
    for i in 0..45 {
        deliver(&mut s, udp_to_us(1, 5000, &[i as u8; 1592]));
        let rx = recv_all(&mut s, 1);
        assert_eq!(rx.len(), 1600);
        assert_eq!(
            &rx[8..],
            &[i as u8; 1592][..],
            "datagram {i} intact across the ring wrap"
        );
        total += 1600;
    }
    assert_eq!(rd16(&mut s, sreg(1), sn::RX_WR), (total % 65536) as u16);
    let _ = Instant::ZERO;
}
