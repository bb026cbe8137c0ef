//! The hardwired TCP engine (DS §3.2 Sn_CR/Sn_SR/Sn_IR, DS p.38–39 timeouts) against a
//! scripted peer (RFC 9293 on the wire).

mod support;
use support::chip::*;

use core::time::Duration;

use w5500_sim::chip::ViolationKind;

const PEER_ISS: u32 = 0x5000_0000;
const A: TcpFlags = TcpFlags::ACK;

/// Socket 1 connected to PEER_IP:80 from port 3000. Returns (sim, our ISS).
fn connected(mode: u8, peer_mss: u16, peer_wnd: u16) -> (S, u32) {
    let mut s = setup();
    open(&mut s, 1, mode, 3000);
    assert_eq!(sr(&mut s, 1), 0x13, "SOCK_INIT");
    set_dest(&mut s, 1, PEER_IP, 80);
    command(&mut s, 1, cmd::CONNECT);
    assert_eq!(sr(&mut s, 1), 0x15, "SOCK_SYNSENT");
    let sent = take_sent(&mut s);
    assert_eq!(arp_of(&sent[0]).unwrap().target_ip, PEER_IP);
    deliver(&mut s, arp_reply(PEER_IP, PEER_MAC));
    let syn = segs(&mut s).pop().unwrap();
    assert_eq!(syn.flags, TcpFlags::SYN);
    assert_eq!(syn.mss, Some(1460), "Sn_MSSR 0 = 1460");
    assert_eq!(syn.window, 2048, "window = free RX space");
    assert_eq!((syn.src_port, syn.dst_port), (3000, 80));
    let iss = syn.seq;
    let mut synack = tcp_to_us(
        80,
        3000,
        PEER_ISS,
        iss + 1,
        TcpFlags::SYN | A,
        peer_wnd,
        &[],
    );
    if let Body::Ipv4(p) = &mut synack.body {
        if let IpPayload::Tcp(t) = &mut p.payload {
            t.mss = Some(peer_mss);
        }
    }
    deliver(&mut s, synack);
    let ack = segs(&mut s).pop().unwrap();
    assert_eq!((ack.flags, ack.seq, ack.ack), (A, iss + 1, PEER_ISS + 1));
    assert_eq!(sr(&mut s, 1), 0x17, "SOCK_ESTABLISHED");
    assert_eq!(sir(&mut s, 1) & 0x01, 0x01, "Sn_IR CON");
    clear_ir(&mut s, 1, 0xFF);
    (s, iss)
}

#[test]
fn ds_3_2_connect_establishes_and_reinitialises_tx_pointers() {
    let (mut s, iss) = connected(0x21, 1460, 8192);
    let p = (iss + 1) as u16;
    assert_eq!(
        rd16(&mut s, sreg(1), sn::TX_WR),
        p,
        "TX_WR = ISS+1 mod 2^16"
    );
    assert_eq!(rd16(&mut s, sreg(1), sn::TX_RD), p);
    assert_eq!(rd16(&mut s, sreg(1), sn::TX_FSR), 2048);
    assert_ne!(p, 0, "differs from the value OPEN set");
}

#[test]
fn ds_3_2_send_segments_by_mss_and_peer_window_fsr_follows_ack() {
    let (mut s, iss) = connected(0x21, 536, 1000);
    let data: Vec<u8> = (0..2000u32).map(|i| (i * 7) as u8).collect();
    send(&mut s, 1, &data);
    let out = segs(&mut s);
    let lens: Vec<usize> = out.iter().map(|t| t.payload.len()).collect();
    assert_eq!(lens, vec![536, 464], "MSS 536 and a 1000-byte window");
    assert_eq!(out[0].seq, iss + 1);
    assert_eq!(
        rd16(&mut s, sreg(1), sn::TX_FSR),
        48,
        "nothing acknowledged yet"
    );
    s.advance(Duration::from_micros(500));
    assert_eq!(
        sir(&mut s, 1) & 0x10,
        0,
        "SEND_OK only when all of the SEND left"
    );
    // Peer acknowledges 1000 and opens its window.
    deliver(
        &mut s,
        tcp_to_us(80, 3000, PEER_ISS + 1, iss + 1001, A, 4000, &[]),
    );
    assert_eq!(rd16(&mut s, sreg(1), sn::TX_FSR), 1048);
    let out2 = segs(&mut s);
    let lens: Vec<usize> = out2.iter().map(|t| t.payload.len()).collect();
    assert_eq!(lens, vec![536, 464]);
    let mut all: Vec<u8> = out
        .iter()
        .chain(out2.iter())
        .flat_map(|t| t.payload.clone())
        .collect();
    all.truncate(2000);
    assert_eq!(all, data);
    s.advance(Duration::from_micros(500));
    assert_eq!(sir(&mut s, 1) & 0x10, 0x10, "SEND_OK");
    deliver(
        &mut s,
        tcp_to_us(80, 3000, PEER_ISS + 1, iss + 2001, A, 4000, &[]),
    );
    assert_eq!(
        rd16(&mut s, sreg(1), sn::TX_FSR),
        2048,
        "FSR == size <=> all acked"
    );
}

#[test]
fn ds_3_2_receive_window_and_update_after_recv() {
    let (mut s, iss) = connected(0x21, 1460, 8192);
    deliver(
        &mut s,
        tcp_to_us(80, 3000, PEER_ISS + 1, iss + 1, A, 8192, &[5; 1000]),
    );
    let ack = segs(&mut s).pop().unwrap();
    assert_eq!(
        (ack.ack, ack.window),
        (PEER_ISS + 1001, 1048),
        "ND: immediate ACK"
    );
    assert_eq!(sir(&mut s, 1) & 0x04, 0x04);
    deliver(
        &mut s,
        tcp_to_us(80, 3000, PEER_ISS + 1001, iss + 1, A, 8192, &[6; 1048]),
    );
    let ack = segs(&mut s).pop().unwrap();
    assert_eq!((ack.ack, ack.window), (PEER_ISS + 2049, 0), "zero window");
    // Beyond the window: not accepted.
    deliver(
        &mut s,
        tcp_to_us(80, 3000, PEER_ISS + 2049, iss + 1, A, 8192, &[7; 10]),
    );
    assert_eq!(rd16(&mut s, sreg(1), sn::RX_RSR), 2048);
    let rx = recv_all(&mut s, 1);
    assert_eq!(&rx[..1000], &[5; 1000][..]);
    assert_eq!(&rx[1000..], &[6; 1048][..]);
    let upd = segs(&mut s).pop().unwrap();
    assert_eq!(
        (upd.ack, upd.window),
        (PEER_ISS + 2049, 2048),
        "window update after RECV"
    );
}

#[test]
fn ds_3_2_out_of_order_segment_dropped_with_duplicate_ack() {
    let (mut s, iss) = connected(0x21, 1460, 8192);
    deliver(
        &mut s,
        tcp_to_us(80, 3000, PEER_ISS + 101, iss + 1, A, 8192, &[1; 10]),
    );
    assert_eq!(rd16(&mut s, sreg(1), sn::RX_RSR), 0);
    assert_eq!(segs(&mut s).pop().unwrap().ack, PEER_ISS + 1);
}

#[test]
fn research_1_5_delayed_ack_waits_rtr_unless_nd() {
    let (mut s, iss) = connected(0x01, 1460, 8192);
    deliver(
        &mut s,
        tcp_to_us(80, 3000, PEER_ISS + 1, iss + 1, A, 8192, &[1; 100]),
    );
    assert!(segs(&mut s).is_empty(), "ACK delayed");
    s.advance(Duration::from_millis(150));
    assert!(segs(&mut s).is_empty());
    s.advance(Duration::from_millis(60));
    let ack = segs(&mut s).pop().unwrap();
    assert_eq!(ack.ack, PEER_ISS + 101);
}

#[test]
fn ds_3_2_peer_fin_close_wait_data_readable_then_discon_last_ack() {
    let (mut s, iss) = connected(0x21, 1460, 8192);
    deliver(
        &mut s,
        tcp_to_us(
            80,
            3000,
            PEER_ISS + 1,
            iss + 1,
            A | TcpFlags::FIN,
            8192,
            b"bye",
        ),
    );
    assert_eq!(sr(&mut s, 1), 0x1C, "SOCK_CLOSE_WAIT");
    assert_eq!(sir(&mut s, 1) & 0x06, 0x06, "RECV and DISCON");
    assert_eq!(segs(&mut s).pop().unwrap().ack, PEER_ISS + 5);
    assert_eq!(recv_all(&mut s, 1), b"bye");
    // Can still send in CLOSE_WAIT.
    send(&mut s, 1, b"ok");
    assert_eq!(segs(&mut s).pop().unwrap().payload, b"ok");
    command(&mut s, 1, cmd::DISCON);
    assert_eq!(sr(&mut s, 1), 0x1D, "SOCK_LAST_ACK");
    let fin = segs(&mut s).pop().unwrap();
    assert!(fin.flags.contains(TcpFlags::FIN));
    assert_eq!(fin.seq, iss + 3);
    deliver(
        &mut s,
        tcp_to_us(80, 3000, PEER_ISS + 5, iss + 4, A, 8192, &[]),
    );
    assert_eq!(sr(&mut s, 1), 0x00);
}

#[test]
fn ds_3_2_active_close_fin_wait_time_wait_closed() {
    let (mut s, iss) = connected(0x21, 1460, 8192);
    command(&mut s, 1, cmd::DISCON);
    assert_eq!(sr(&mut s, 1), 0x18, "SOCK_FIN_WAIT");
    let fin = segs(&mut s).pop().unwrap();
    assert_eq!((fin.flags, fin.seq), (TcpFlags::FIN | A, iss + 1));
    deliver(
        &mut s,
        tcp_to_us(80, 3000, PEER_ISS + 1, iss + 2, A, 8192, &[]),
    );
    assert_eq!(sr(&mut s, 1), 0x18);
    deliver(
        &mut s,
        tcp_to_us(
            80,
            3000,
            PEER_ISS + 1,
            iss + 2,
            A | TcpFlags::FIN,
            8192,
            &[],
        ),
    );
    assert_eq!(sr(&mut s, 1), 0x1B, "SOCK_TIME_WAIT");
    assert_eq!(segs(&mut s).pop().unwrap().ack, PEER_ISS + 2);
    s.advance(Duration::from_millis(250));
    assert_eq!(sr(&mut s, 1), 0x00);
}

#[test]
fn ds_3_2_simultaneous_close_goes_through_closing() {
    let (mut s, iss) = connected(0x21, 1460, 8192);
    command(&mut s, 1, cmd::DISCON);
    segs(&mut s);
    deliver(
        &mut s,
        tcp_to_us(
            80,
            3000,
            PEER_ISS + 1,
            iss + 1,
            A | TcpFlags::FIN,
            8192,
            &[],
        ),
    );
    assert_eq!(sr(&mut s, 1), 0x1A, "SOCK_CLOSING");
    deliver(
        &mut s,
        tcp_to_us(80, 3000, PEER_ISS + 2, iss + 2, A, 8192, &[]),
    );
    assert_eq!(sr(&mut s, 1), 0x1B);
}

#[test]
fn ds_3_2_close_is_immediate_and_sends_nothing() {
    let (mut s, _) = connected(0x21, 1460, 8192);
    command(&mut s, 1, cmd::CLOSE);
    assert_eq!(sr(&mut s, 1), 0x00);
    s.advance(Duration::from_secs(40));
    assert!(take_sent(&mut s).is_empty());
}

#[test]
fn rfc9293_rst_closes_with_discon() {
    let (mut s, iss) = connected(0x21, 1460, 8192);
    deliver(
        &mut s,
        tcp_to_us(80, 3000, PEER_ISS + 1, iss + 1, TcpFlags::RST, 0, &[]),
    );
    assert_eq!(sr(&mut s, 1), 0x00);
    assert_eq!(sir(&mut s, 1) & 0x02, 0x02);
}

#[test]
fn rfc9293_segment_for_no_socket_gets_rst() {
    let mut s = setup();
    deliver(
        &mut s,
        tcp_to_us(5555, 81, 1000, 0, TcpFlags::SYN, 1000, &[]),
    );
    let rst = segs(&mut s).pop().unwrap();
    assert_eq!((rst.flags, rst.ack, rst.seq), (TcpFlags::RST | A, 1001, 0));
    deliver(&mut s, tcp_to_us(5555, 81, 1000, 777, A, 1000, &[]));
    let rst = segs(&mut s).pop().unwrap();
    assert_eq!((rst.flags, rst.seq), (TcpFlags::RST, 777));
}

#[test]
fn research_1_8_listen_socket_becomes_the_connection_lowest_first() {
    let mut s = setup();
    for n in [3u8, 2] {
        open(&mut s, n, 0x21, 80);
        command(&mut s, n, cmd::LISTEN);
        assert_eq!(sr(&mut s, n), 0x14);
    }
    deliver(
        &mut s,
        tcp_to_us(4444, 80, 9000, 0, TcpFlags::SYN, 4000, &[]),
    );
    assert_eq!(
        sr(&mut s, 2),
        0x16,
        "SOCK_SYNRECV on the lowest-numbered listener"
    );
    assert_eq!(sr(&mut s, 3), 0x14);
    let sa = segs(&mut s).pop().unwrap();
    assert_eq!(
        (sa.flags, sa.ack, sa.mss),
        (TcpFlags::SYN | A, 9001, Some(1460))
    );
    deliver(
        &mut s,
        tcp_to_us(4444, 80, 9001, sa.seq + 1, A, 4000, b"GET"),
    );
    assert_eq!(sr(&mut s, 2), 0x17);
    assert_eq!(sir(&mut s, 2) & 0x05, 0x05, "CON and RECV");
    assert_eq!(
        rd(&mut s, sreg(2), sn::DIPR, 6),
        vec![10, 0, 0, 9, 0x11, 0x5C]
    );
    assert_eq!(recv_all(&mut s, 2), b"GET");
    assert_eq!(rd16(&mut s, sreg(2), sn::TX_WR), (sa.seq + 1) as u16);
}

#[test]
fn ds_p38_retransmission_doubles_rtr_and_times_out_after_31_8_s() {
    let (mut s, _) = connected(0x21, 1460, 8192);
    let t0 = s.now();
    send(&mut s, 1, b"data");
    s.advance(Duration::from_secs(40));
    let sent = s.network_mut().take_sent();
    let times: Vec<u64> = sent
        .iter()
        .filter(|(_, f)| tcp_of(f).is_some_and(|t| t.payload == b"data"))
        .map(|(t, _)| (*t - t0).as_millis() as u64)
        .collect();
    // First send, then 8 retransmissions at +0.2, +0.6, +1.4, +3.0, +6.2, +12.6, +19.0, +25.4.
    assert_eq!(
        times,
        vec![0, 200, 600, 1400, 3000, 6200, 12600, 19000, 25400]
    );
    assert_eq!(sr(&mut s, 1), 0x00);
    assert_eq!(sir(&mut s, 1) & 0x08, 0x08, "TIMEOUT");
}

#[test]
fn ds_p38_timeout_at_tcpto_not_before() {
    let (mut s, _) = connected(0x21, 1460, 8192);
    send(&mut s, 1, b"x");
    s.advance(Duration::from_millis(31_700));
    assert_eq!(sr(&mut s, 1), 0x17);
    s.advance(Duration::from_millis(200));
    assert_eq!(sr(&mut s, 1), 0x00);
}

#[test]
fn ds_p38_connect_arp_timeout_closes_with_timeout() {
    let mut s = setup();
    open(&mut s, 1, 0x01, 3000);
    set_dest(&mut s, 1, PEER_IP, 80);
    command(&mut s, 1, cmd::CONNECT);
    s.advance(Duration::from_millis(1790));
    assert_eq!(sr(&mut s, 1), 0x15);
    s.advance(Duration::from_millis(20));
    assert_eq!(sr(&mut s, 1), 0x00);
    assert_eq!(sir(&mut s, 1) & 0x08, 0x08);
}

#[test]
fn ds_3_2_connect_refused_by_rst() {
    let mut s = setup();
    open(&mut s, 1, 0x01, 3000);
    set_dest(&mut s, 1, PEER_IP, 80);
    command(&mut s, 1, cmd::CONNECT);
    deliver(&mut s, arp_reply(PEER_IP, PEER_MAC));
    let syn = segs(&mut s).pop().unwrap();
    deliver(
        &mut s,
        tcp_to_us(80, 3000, 0, syn.seq + 1, TcpFlags::RST | A, 0, &[]),
    );
    assert_eq!(sr(&mut s, 1), 0x00);
}

#[test]
fn ds_3_2_kpalvtr_keepalive_after_data_and_dead_peer_timeout() {
    let (mut s, iss) = connected(0x21, 1460, 8192);
    wr(&mut s, sreg(1), sn::KPALVTR, &[1]);
    deliver(
        &mut s,
        tcp_to_us(80, 3000, PEER_ISS + 1, iss + 1, A, 8192, b"hi"),
    );
    segs(&mut s);
    s.advance(Duration::from_millis(4900));
    assert!(segs(&mut s).is_empty());
    s.advance(Duration::from_millis(200));
    let ka = segs(&mut s).pop().unwrap();
    assert_eq!(
        (ka.seq, ka.payload.len()),
        (iss, 1),
        "probe at SND.UNA-1 with one byte"
    );
    // Peer answers: connection stays; next probe 5 s later.
    deliver(
        &mut s,
        tcp_to_us(80, 3000, PEER_ISS + 3, iss + 1, A, 8192, &[]),
    );
    s.advance(Duration::from_secs(2));
    assert_eq!(sr(&mut s, 1), 0x17);
    // Peer dies: TIMEOUT after the retries.
    s.advance(Duration::from_secs(60));
    assert_eq!(sr(&mut s, 1), 0x00);
    assert_eq!(sir(&mut s, 1) & 0x08, 0x08);
}

#[test]
fn ds_3_2_send_keep_manual_probe_only_when_kpalvtr_zero() {
    let (mut s, iss) = connected(0x21, 1460, 8192);
    command(&mut s, 1, cmd::SEND_KEEP);
    let ka = segs(&mut s).pop().unwrap();
    assert_eq!(ka.seq, iss);
    deliver(
        &mut s,
        tcp_to_us(80, 3000, PEER_ISS + 1, iss + 1, A, 8192, &[]),
    );
    wr(&mut s, sreg(1), sn::KPALVTR, &[2]);
    command(&mut s, 1, cmd::SEND_KEEP);
    assert!(s
        .violations()
        .iter()
        .any(|v| v.kind == ViolationKind::SendKeepWithAutoKeepAlive { socket: 1 }));
}

#[test]
fn ds_3_1_rtr_rcr_shorten_the_timeout() {
    let mut s = setup();
    wr(&mut s, 0, common::RTR, &[0x03, 0xE8]); // 100 ms
    wr(&mut s, 0, common::RCR, &[2]);
    open(&mut s, 1, 0x01, 3000);
    set_dest(&mut s, 1, PEER_IP, 80);
    command(&mut s, 1, cmd::CONNECT);
    deliver(&mut s, arp_reply(PEER_IP, PEER_MAC));
    // SYN at 0, retries at 0.1 and 0.3, TIMEOUT at 0.7 s.
    s.advance(Duration::from_millis(690));
    assert_eq!(sr(&mut s, 1), 0x15);
    s.advance(Duration::from_millis(20));
    assert_eq!(sr(&mut s, 1), 0x00);
    let syns = take_sent(&mut s)
        .iter()
        .filter(|f| tcp_of(f).is_some())
        .count();
    assert_eq!(syns, 3);
}
