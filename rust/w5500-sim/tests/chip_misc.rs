//! ICMP (RFC 792, DS §3.1 MR.PB, IR.UNREACH, UIPR/UPORTR), IGMP (RFC 1112/2236, DS §3.2
//! Sn_MR.MULTI/MC) and MACRAW (DS §3.2 Sn_MR P=0100, MFEN).

mod support;
use support::chip::*;

use core::net::Ipv4Addr;

fn ping() -> Frame {
    ip_frame(
        PEER_MAC,
        MAC,
        PEER_IP,
        IP,
        IpPayload::Icmp(Icmp::EchoRequest {
            ident: 7,
            seq: 3,
            data: vec![1, 2, 3],
        }),
    )
}

#[test]
fn rfc792_echo_reply_unless_mr_pb() {
    let mut s = setup();
    deliver(&mut s, ping());
    let sent = take_sent(&mut s);
    match &sent[0].body {
        Body::Ipv4(p) => {
            assert_eq!((p.src, p.dst, sent[0].dst), (IP, PEER_IP, PEER_MAC));
            assert_eq!(
                p.payload,
                IpPayload::Icmp(Icmp::EchoReply {
                    ident: 7,
                    seq: 3,
                    data: vec![1, 2, 3]
                })
            );
        }
        b => panic!("{b:?}"),
    }
    wr(&mut s, 0, common::MR, &[0x10]);
    deliver(&mut s, ping());
    assert!(take_sent(&mut s).is_empty());
}

#[test]
fn ds_3_1_port_unreachable_sets_ir_unreach_uipr_uportr() {
    let mut s = setup();
    // Original: IPv4 header (20 bytes) to 10.0.0.9, then UDP header with dst port 9999.
    let mut original = vec![
        0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 2, 10, 0, 0, 9,
    ];
    original.extend_from_slice(&[0x0F, 0xA0, 0x27, 0x0F, 0, 8, 0, 0]);
    let f = ip_frame(
        PEER_MAC,
        MAC,
        PEER_IP,
        IP,
        IpPayload::Icmp(Icmp::DestUnreachable { code: 3, original }),
    );
    deliver(&mut s, f);
    assert_eq!(rd8(&mut s, 0, common::IR) & 0x40, 0x40);
    assert_eq!(rd(&mut s, 0, common::UIPR, 4), vec![10, 0, 0, 9]);
    assert_eq!(rd16(&mut s, 0, common::UPORTR), 9999);
}

#[test]
fn arp_request_for_sipr_is_answered() {
    let mut s = setup();
    let req = Frame {
        dst: MacAddr::BROADCAST,
        src: PEER_MAC,
        body: Body::Arp(Arp {
            op: ArpOp::Request,
            sender_mac: PEER_MAC,
            sender_ip: PEER_IP,
            target_mac: MacAddr::ZERO,
            target_ip: IP,
        }),
    };
    deliver(&mut s, req);
    let sent = take_sent(&mut s);
    let a = arp_of(&sent[0]).unwrap();
    assert_eq!(
        (a.op, a.sender_mac, a.sender_ip, a.target_ip),
        (ArpOp::Reply, MAC, IP, PEER_IP)
    );
    assert_eq!(sent[0].dst, PEER_MAC);
}

fn igmp_of(f: &Frame) -> Option<(Ipv4Addr, u8, Igmp)> {
    match &f.body {
        Body::Ipv4(p) => match p.payload {
            IpPayload::Igmp(m) => Some((p.dst, p.ttl, m)),
            _ => None,
        },
        _ => None,
    }
}

#[test]
fn rfc2236_multicast_join_query_leave() {
    let group = Ipv4Addr::new(239, 1, 2, 3);
    let mut s = setup();
    set_dest(&mut s, 1, group, 5353);
    open(&mut s, 1, 0x82, 5353);
    let sent = take_sent(&mut s);
    let (dst, ttl, m) = igmp_of(&sent[0]).unwrap();
    assert_eq!((dst, ttl, m), (group, 1, Igmp::V2Report { group }));
    assert_eq!(sent[0].dst, MacAddr::ipv4_multicast(group));
    // Datagrams to the group arrive; a general query is answered.
    let to_group = ip_frame(
        PEER_MAC,
        MacAddr::ipv4_multicast(group),
        PEER_IP,
        group,
        IpPayload::Udp(UdpDatagram {
            src_port: 5353,
            dst_port: 5353,
            payload: vec![9],
        }),
    );
    deliver(&mut s, to_group);
    assert_eq!(rd16(&mut s, sreg(1), sn::RX_RSR), 9);
    let q = ip_frame(
        PEER_MAC,
        MacAddr::ipv4_multicast(Ipv4Addr::new(224, 0, 0, 1)),
        PEER_IP,
        Ipv4Addr::new(224, 0, 0, 1),
        IpPayload::Igmp(Igmp::Query {
            max_resp: 100,
            group: Ipv4Addr::UNSPECIFIED,
        }),
    );
    deliver(&mut s, q);
    assert_eq!(
        igmp_of(&take_sent(&mut s)[0]).unwrap().2,
        Igmp::V2Report { group }
    );
    command(&mut s, 1, cmd::CLOSE);
    let (dst, _, m) = igmp_of(&take_sent(&mut s)[0]).unwrap();
    assert_eq!(
        (dst, m),
        (Ipv4Addr::new(224, 0, 0, 2), Igmp::Leave { group })
    );
}

#[test]
fn rfc1112_mc_flag_selects_igmp_v1_and_no_leave() {
    let group = Ipv4Addr::new(239, 9, 9, 9);
    let mut s = setup();
    set_dest(&mut s, 2, group, 4000);
    open(&mut s, 2, 0xA2, 4000);
    assert_eq!(
        igmp_of(&take_sent(&mut s)[0]).unwrap().2,
        Igmp::V1Report { group }
    );
    command(&mut s, 2, cmd::CLOSE);
    assert!(take_sent(&mut s).is_empty());
}

fn other_frame(dst: MacAddr, ethertype: u16) -> Frame {
    Frame {
        dst,
        src: PEER_MAC,
        body: Body::Other {
            ethertype,
            payload: vec![0xAB; 46],
        },
    }
}

#[test]
fn ds_3_2_macraw_receives_unconsumed_frames_with_length_header() {
    let mut s = setup();
    open(&mut s, 0, 0x04, 0);
    assert_eq!(sr(&mut s, 0), 0x42, "SOCK_MACRAW");
    deliver(&mut s, other_frame(MAC, 0x88B5));
    let rsr = rd16(&mut s, sreg(0), sn::RX_RSR);
    let rx = recv_all(&mut s, 0);
    assert_eq!(rx.len(), rsr as usize);
    let len = u16::from_be_bytes([rx[0], rx[1]]) as usize;
    assert_eq!(len, rx.len(), "length includes its own 2 bytes");
    assert_eq!(
        &rx[2..8],
        &MAC.0,
        "frame starts with the destination MAC, no FCS"
    );
    // Hybrid: a UDP datagram for an open hardwired socket is consumed there, not by MACRAW.
    open(&mut s, 1, 0x02, 5000);
    deliver(&mut s, udp_to_us(1, 5000, b"x"));
    assert_eq!(rd16(&mut s, sreg(0), sn::RX_RSR), 0);
    assert_eq!(rd16(&mut s, sreg(1), sn::RX_RSR), 9);
    // A TCP SYN for a port nobody listens on goes to MACRAW and gets no RST.
    deliver(&mut s, tcp_to_us(1, 81, 5, 0, TcpFlags::SYN, 100, &[]));
    assert!(rd16(&mut s, sreg(0), sn::RX_RSR) > 0);
    assert!(take_sent(&mut s).is_empty());
}

#[test]
fn ds_3_2_macraw_mfen_filters_other_unicast() {
    for (mode, expect_frames) in [(0x04u8, 1), (0x84, 0)] {
        let mut s = setup();
        open(&mut s, 0, mode, 0);
        deliver(&mut s, other_frame(MacAddr([2, 9, 9, 9, 9, 9]), 0x88B5));
        let got = rd16(&mut s, sreg(0), sn::RX_RSR) > 0;
        assert_eq!(got, expect_frames == 1, "mode {mode:#x}");
    }
}

#[test]
fn ds_3_2_macraw_send_transmits_raw_frame() {
    let mut s = setup();
    open(&mut s, 0, 0x04, 0);
    let mut raw = Vec::new();
    raw.extend_from_slice(&PEER_MAC.0);
    raw.extend_from_slice(&MAC.0);
    raw.extend_from_slice(&[0x88, 0xB5]);
    raw.extend_from_slice(&[0x42; 50]);
    send(&mut s, 0, &raw);
    let sent = take_sent(&mut s);
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].dst, sent[0].src), (PEER_MAC, MAC));
    match &sent[0].body {
        Body::Other { ethertype, payload } => {
            assert_eq!(*ethertype, 0x88B5);
            assert_eq!(payload, &vec![0x42; 50]);
        }
        b => panic!("{b:?}"),
    }
}
