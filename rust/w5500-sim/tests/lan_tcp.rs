//! Host TCP (RFC 9293) as the chip sees it: handshakes, MSS, flow control in both directions,
//! zero-window probes, duplicates, half-close, RST, and the host's own retransmission.

mod support;

use std::net::SocketAddrV4;
use std::time::Duration;

use support::lan::*;
use w5500_sim::lan::apps::{ByteSink, TcpEcho};
use w5500_sim::lan::util::{pattern, Fnv1a};
use w5500_sim::lan::{standard as s, Lan, TcpOptions, TcpRecorder, TcpState};
use w5500_sim::net::TcpFlags;

#[test]
fn rfc9293_3_5_passive_open_syn_ack_carries_mss_then_echo_and_close() {
    let mut chip = FakeChip::standard();
    let echo = SocketAddrV4::new(s::ECHO, 7);
    let c = chip.connect(40000, echo, 1000, 2048);
    chip.run_for(Duration::from_millis(1));
    let segs = segs_from(&chip, 7);
    let synack = &segs[0];
    assert_eq!(synack.flags, TcpFlags::SYN | TcpFlags::ACK);
    assert_eq!(synack.ack, 1001);
    assert_eq!(synack.mss, Some(1460), "RFC 9293 §3.7.1 MSS option in SYN");
    assert!(chip.conns[c].established);
    chip.send_data(c, b"hello world");
    chip.run_for(Duration::from_millis(1));
    assert_eq!(chip.read_all(c), b"hello world");
    // Chip closes; echo closes back (FIN in both directions, RFC 9293 §3.6).
    chip.fin(c);
    chip.run_for(Duration::from_millis(1));
    assert!(chip.conns[c].peer_fin);
    let host = chip.lan.host_by_ip(s::ECHO).unwrap();
    let h = chip.lan.tcp_handles_on_port(host, 7)[0];
    assert_eq!(chip.lan.tcp_state(h), Some(TcpState::Closed));
    assert_eq!(chip.lan.tcp_app::<TcpEcho>(h).unwrap().echoed, 11);
}

#[test]
fn rfc9293_3_10_7_1_segment_to_closed_port_gets_rst() {
    let mut chip = FakeChip::standard();
    chip.connect(40001, SocketAddrV4::new(s::HTTP, 81), 5000, 2048);
    chip.run_for(Duration::from_millis(1));
    let segs = segs_from(&chip, 81);
    assert_eq!(segs.len(), 1);
    assert_eq!(segs[0].flags, TcpFlags::RST | TcpFlags::ACK);
    assert_eq!((segs[0].seq, segs[0].ack), (0, 5001));
    // An ACK-bearing segment to a closed port: RST with SEQ = SEG.ACK, no ACK.
    let c = chip.conns.len() - 1;
    chip.tcp_raw(c, 7, 0xabcd, TcpFlags::ACK, 100, b"x".to_vec());
    chip.run_for(Duration::from_millis(1));
    let segs = segs_from(&chip, 81);
    assert_eq!(segs[1].flags, TcpFlags::RST);
    assert_eq!(segs[1].seq, 0xabcd);
}

#[test]
fn rfc9293_3_10_7_4_duplicates_are_reacked_and_discarded() {
    let mut chip = FakeChip::standard();
    let c = chip.connect(40002, SocketAddrV4::new(s::ECHO, 7), 7, 4096);
    chip.run_for(Duration::from_millis(1));
    chip.send_data(c, b"abc");
    chip.run_for(Duration::from_millis(1));
    // The chip retransmits the same segment (as after a lost ACK).
    let rcv = chip.conns[c].rcv_nxt;
    chip.tcp_raw(
        c,
        8,
        rcv,
        TcpFlags::ACK | TcpFlags::PSH,
        4096,
        b"abc".to_vec(),
    );
    // And a partially overlapping one: "bcdef" at seq 9 (only "def" is new).
    chip.run_for(Duration::from_millis(1));
    chip.tcp_raw(
        c,
        9,
        rcv,
        TcpFlags::ACK | TcpFlags::PSH,
        4096,
        b"bcdef".to_vec(),
    );
    chip.conns[c].snd_nxt = 14;
    chip.run_for(Duration::from_millis(1));
    assert_eq!(chip.read_all(c), b"abcdef");
    let host = chip.lan.host_by_ip(s::ECHO).unwrap();
    let h = chip.lan.tcp_handles_on_port(host, 7)[0];
    let conn = chip.lan.tcp_conn(h).unwrap();
    assert_eq!(conn.duplicates, 2);
    // The duplicate produced a pure ACK acknowledging everything so far.
    let acks: Vec<_> = segs_from(&chip, 7)
        .into_iter()
        .filter(|s| s.payload.is_empty() && s.flags == TcpFlags::ACK)
        .collect();
    assert!(acks.iter().any(|s| s.ack == 11));
}

#[test]
fn rfc9293_3_8_6_1_zero_window_only_probes_then_everything_arrives() {
    let mut chip = FakeChip::standard();
    // Chip connects to the byte source with a 0-byte receive buffer: window 0 from the start.
    let c = chip.connect(40003, SocketAddrV4::new(s::BULK, 19), 100, 0);
    chip.run_for(Duration::from_secs(20));
    let data_segs: Vec<_> = segs_from(&chip, 19)
        .into_iter()
        .filter(|s| !s.payload.is_empty())
        .collect();
    assert!(!data_segs.is_empty(), "probes are sent");
    assert!(data_segs.len() < 12, "probes back off: {}", data_segs.len());
    let first_seq = data_segs[0].seq;
    for p in &data_segs {
        assert_eq!(p.payload.len(), 1, "only one-byte probes");
        assert_eq!(p.seq, first_seq, "probes do not advance");
    }
    assert_eq!(chip.conns[c].dropped_over_window, data_segs.len());
    // Open the window: the whole MiB arrives in order, nothing lost.
    chip.conns[c].rx_cap = 4096;
    chip.read_all(c);
    chip.tcp_seg(c, TcpFlags::ACK, Vec::new());
    for _ in 0..2000 {
        chip.run_for(Duration::from_millis(1));
        chip.read_all(c);
        if chip.conns[c].peer_fin {
            break;
        }
    }
    let got = &chip.conns[c].read;
    assert_eq!(got.len() as u64, s::SOURCE_BYTES);
    assert_eq!(Fnv1a::of(got), Fnv1a::of(&pattern(0, got.len())));
    assert!(chip.conns[c].peer_fin);
    // Every data segment respected the advertised window of 4096.
    assert!(segs_from(&chip, 19).iter().all(|s| s.payload.len() <= 1460));
}

#[test]
fn rfc9293_3_8_6_2_slow_sink_closes_its_window_and_reopens_it() {
    let mut lan = Lan::standard();
    let peer = lan.host_by_ip(s::PEER).unwrap();
    lan.listen_tcp(
        peer,
        9000,
        TcpOptions {
            recv_buffer: 4096,
            read_rate: Some(0),
            mss: 1460,
        },
        ByteSink::factory(),
    );
    let mut chip = FakeChip::new(lan);
    let c = chip.connect(40004, SocketAddrV4::new(s::PEER, 9000), 0xffff_f000, 2048);
    chip.run_for(Duration::from_millis(1));
    let data = pattern(0, 20_000);
    chip.send_data(c, &data);
    chip.run_for(Duration::from_millis(50));
    // The sink reads nothing: exactly its 4096-byte buffer is in flight and acked; window 0.
    assert_eq!(chip.conns[c].snd_una.wrapping_sub(0xffff_f001), 4096);
    assert_eq!(chip.conns[c].peer_wnd, 0);
    let h = chip.lan.tcp_handles_on_port(peer, 9000)[0];
    assert_eq!(chip.lan.tcp_conn(h).unwrap().recv_pending(), 4096);
    // The sink starts reading at 1 MB/s: window updates let the rest through.
    chip.lan.tcp_set_read_rate(h, Some(1_000_000));
    for _ in 0..200 {
        chip.run_for(Duration::from_millis(1));
        chip.pump(c);
    }
    let sink = chip.lan.tcp_app::<ByteSink>(h).unwrap();
    assert_eq!(sink.received, 20_000);
    assert!(
        sink.matches_pattern,
        "sequence numbers wrapped past 2^32 without loss"
    );
    assert_eq!(sink.hash, {
        let mut f = Fnv1a::new();
        f.update(&data);
        f
    });
}

#[test]
fn rfc9293_3_5_active_open_host_respects_chip_window_and_half_close() {
    let mut chip = FakeChip::standard();
    chip.listening.push(5000);
    let peer = chip.lan.host_by_ip(s::PEER).unwrap();
    let h = chip
        .lan
        .tcp_connect_recorder(peer, SocketAddrV4::new(CHIP_IP, 5000))
        .unwrap();
    chip.run_for(Duration::from_millis(1));
    let syn = segs_from(&chip, chip.lan.tcp_conn(h).unwrap().local.port())[0].clone();
    assert_eq!(syn.flags, TcpFlags::SYN);
    assert_eq!(syn.mss, Some(1460));
    assert_eq!(chip.lan.tcp_state(h), Some(TcpState::Established));
    assert!(chip
        .lan
        .tcp_app::<TcpRecorder>(h)
        .unwrap()
        .connected_at
        .is_some());
    let c = 0;
    // Host queues 5000 bytes; the chip's 2048-byte buffer is never overrun.
    chip.lan.tcp_send(h, &pattern(0, 5000));
    chip.run_for(Duration::from_millis(5));
    assert_eq!(chip.conns[c].rx_buf.len(), 2048);
    assert_eq!(chip.conns[c].dropped_over_window, 0);
    // Host half-closes after its data; the chip keeps sending and the host keeps receiving.
    chip.lan.tcp_close(h);
    for _ in 0..20 {
        chip.read_all(c);
        chip.run_for(Duration::from_millis(1));
    }
    assert_eq!(chip.conns[c].read, pattern(0, 5000));
    assert!(chip.conns[c].peer_fin);
    assert_eq!(chip.lan.tcp_state(h), Some(TcpState::FinWait2));
    chip.send_data(c, b"still talking");
    chip.run_for(Duration::from_millis(1));
    assert_eq!(
        chip.lan.tcp_app::<TcpRecorder>(h).unwrap().received,
        b"still talking"
    );
    chip.fin(c);
    chip.run_for(Duration::from_millis(1));
    assert_eq!(chip.lan.tcp_state(h), Some(TcpState::TimeWait));
    chip.run_for(Duration::from_secs(2));
    assert_eq!(chip.lan.tcp_state(h), Some(TcpState::Closed));
}

#[test]
fn rfc9293_3_6_peer_fin_first_host_keeps_sending_in_close_wait() {
    let mut chip = FakeChip::standard();
    chip.listening.push(5001);
    let peer = chip.lan.host_by_ip(s::PEER).unwrap();
    let h = chip
        .lan
        .tcp_connect_recorder(peer, SocketAddrV4::new(CHIP_IP, 5001))
        .unwrap();
    chip.run_for(Duration::from_millis(1));
    chip.fin(0);
    chip.run_for(Duration::from_millis(1));
    assert_eq!(chip.lan.tcp_state(h), Some(TcpState::CloseWait));
    assert!(chip
        .lan
        .tcp_app::<TcpRecorder>(h)
        .unwrap()
        .peer_fin_at
        .is_some());
    chip.lan.tcp_send(h, b"late data");
    chip.lan.tcp_close(h);
    chip.run_for(Duration::from_millis(1));
    assert_eq!(chip.read_all(0), b"late data");
    assert!(chip.conns[0].peer_fin);
    assert_eq!(chip.lan.tcp_state(h), Some(TcpState::Closed));
    assert!(chip
        .lan
        .tcp_app::<TcpRecorder>(h)
        .unwrap()
        .closed_at
        .is_some());
}

#[test]
fn fault_remote_reset_sends_rst_at_the_right_sequence() {
    let mut chip = FakeChip::standard();
    let c = chip.connect(40005, SocketAddrV4::new(s::ECHO, 7), 1, 2048);
    chip.run_for(Duration::from_millis(1));
    let host = chip.lan.host_by_ip(s::ECHO).unwrap();
    let h = chip.lan.tcp_handles_on_port(host, 7)[0];
    assert!(chip.lan.tcp_abort(h));
    chip.run_for(Duration::from_millis(1));
    assert!(chip.conns[c].reset);
    let rst = segs_from(&chip, 7).pop().unwrap();
    assert!(rst.flags.contains(TcpFlags::RST));
    assert_eq!(
        rst.seq, chip.conns[c].rcv_nxt,
        "RFC 9293 §3.10.7.4: RST in window"
    );
    assert_eq!(chip.lan.tcp_state(h), Some(TcpState::Closed));
}

#[test]
fn rfc9293_3_10_7_4_chip_rst_closes_host_connection() {
    let mut chip = FakeChip::standard();
    chip.listening.push(5002);
    let peer = chip.lan.host_by_ip(s::PEER).unwrap();
    let h = chip
        .lan
        .tcp_connect_recorder(peer, SocketAddrV4::new(CHIP_IP, 5002))
        .unwrap();
    chip.run_for(Duration::from_millis(1));
    // An RST with a wrong sequence number only earns a challenge ACK (RFC 5961 §3.2).
    let nxt = chip.conns[0].snd_nxt;
    chip.tcp_raw(0, nxt.wrapping_add(10), 0, TcpFlags::RST, 0, vec![]);
    chip.run_for(Duration::from_millis(1));
    assert_eq!(chip.lan.tcp_state(h), Some(TcpState::Established));
    chip.tcp_raw(0, nxt, 0, TcpFlags::RST, 0, vec![]);
    chip.run_for(Duration::from_millis(1));
    assert_eq!(chip.lan.tcp_state(h), Some(TcpState::Closed));
    assert!(chip
        .lan
        .tcp_app::<TcpRecorder>(h)
        .unwrap()
        .reset_at
        .is_some());
}

#[test]
fn rfc9293_3_10_7_3_connection_refused_reports_reset() {
    let mut chip = FakeChip::standard();
    let peer = chip.lan.host_by_ip(s::PEER).unwrap();
    let h = chip
        .lan
        .tcp_connect_recorder(peer, SocketAddrV4::new(CHIP_IP, 5003))
        .unwrap();
    chip.run_for(Duration::from_millis(1));
    let syn = chip.tcp_received()[0].2.clone();
    // The chip refuses: RST|ACK acknowledging the SYN.
    chip.conns.push(ChipConn {
        local_port: 5003,
        remote: SocketAddrV4::new(s::PEER, syn.src_port),
        iss: 0,
        snd_una: 0,
        snd_nxt: 0,
        rcv_nxt: 0,
        rx_cap: 0,
        rx_buf: vec![],
        read: vec![],
        peer_wnd: 0,
        peer_mss: None,
        established: false,
        peer_fin: false,
        reset: false,
        send_buf: vec![],
        dropped_over_window: 0,
    });
    chip.tcp_raw(
        0,
        0,
        syn.seq.wrapping_add(1),
        TcpFlags::RST | TcpFlags::ACK,
        0,
        vec![],
    );
    chip.run_for(Duration::from_millis(1));
    assert_eq!(chip.lan.tcp_state(h), Some(TcpState::Closed));
    assert!(chip
        .lan
        .tcp_app::<TcpRecorder>(h)
        .unwrap()
        .reset_at
        .is_some());
}

#[test]
fn host_retransmits_syn_ack_lost_by_fault_knob() {
    let mut chip = FakeChip::standard();
    let host = chip.lan.host_by_ip(s::ECHO).unwrap();
    // Learn the chip's MAC first so the only frame the host sends is the SYN-ACK.
    chip.arp_request(s::ECHO);
    chip.run_for(Duration::from_millis(1));
    chip.lan.drop_next_tx(host, 1);
    let c = chip.connect(40006, SocketAddrV4::new(s::ECHO, 7), 1, 2048);
    chip.run_for(Duration::from_millis(100));
    assert!(!chip.conns[c].established);
    chip.run_for(Duration::from_millis(200));
    assert!(
        chip.conns[c].established,
        "SYN-ACK retransmitted after the 200 ms RTO"
    );
    let synacks: Vec<_> = chip
        .tcp_received()
        .into_iter()
        .filter(|(_, _, s)| s.flags.contains(TcpFlags::SYN))
        .collect();
    assert_eq!(synacks.len(), 1);
    assert!(synacks[0].0.as_micros() >= 200_000);
}

#[test]
fn host_retransmits_data_lost_by_fault_knob_go_back_n() {
    let mut chip = FakeChip::standard();
    chip.listening.push(5004);
    let peer = chip.lan.host_by_ip(s::PEER).unwrap();
    let h = chip
        .lan
        .tcp_connect_recorder(peer, SocketAddrV4::new(CHIP_IP, 5004))
        .unwrap();
    chip.run_for(Duration::from_millis(1));
    chip.lan.drop_next_tx(peer, 1);
    chip.lan.tcp_send(h, &pattern(0, 1500));
    chip.run_for(Duration::from_millis(1));
    assert_eq!(
        chip.conns[0].rx_buf.len(),
        0,
        "first segment lost, second out of order"
    );
    chip.run_for(Duration::from_millis(300));
    assert_eq!(chip.read_all(0), pattern(0, 1500));
    assert!(chip.lan.tcp_conn(h).unwrap().retransmissions >= 1);
}

#[test]
fn silent_host_never_answers_syn() {
    let mut chip = FakeChip::standard();
    let host = chip.lan.host_by_ip(s::HTTP).unwrap();
    chip.lan.set_silent(host, true);
    chip.connect(40007, SocketAddrV4::new(s::HTTP, 80), 1, 2048);
    chip.run_for(Duration::from_secs(40));
    assert!(chip.inbox.is_empty());
}

#[test]
fn silent_host_mid_connection_stops_acking() {
    let mut chip = FakeChip::standard();
    let c = chip.connect(40008, SocketAddrV4::new(s::ECHO, 7), 1, 2048);
    chip.run_for(Duration::from_millis(1));
    let host = chip.lan.host_by_ip(s::ECHO).unwrap();
    chip.lan.set_silent(host, true);
    let before = chip.inbox.len();
    chip.send_data(c, b"anyone there?");
    chip.run_for(Duration::from_secs(5));
    assert_eq!(chip.inbox.len(), before);
    assert_eq!(chip.conns[c].snd_una, 2, "nothing acknowledged");
}

#[test]
fn rfc9293_3_10_7_4_fin_retransmission_is_reacked_in_time_wait() {
    let mut chip = FakeChip::standard();
    chip.listening.push(5005);
    let peer = chip.lan.host_by_ip(s::PEER).unwrap();
    let h = chip
        .lan
        .tcp_connect_recorder(peer, SocketAddrV4::new(CHIP_IP, 5005))
        .unwrap();
    chip.run_for(Duration::from_millis(1));
    chip.lan.tcp_close(h);
    chip.run_for(Duration::from_millis(1));
    chip.fin(0);
    chip.run_for(Duration::from_millis(1));
    assert_eq!(chip.lan.tcp_state(h), Some(TcpState::TimeWait));
    let port = chip.lan.tcp_conn(h).unwrap().local.port();
    let n = segs_from(&chip, port).len();
    // The chip retransmits its FIN (as if the host's ACK were lost): the host re-ACKs it.
    let (una, rcv) = (chip.conns[0].snd_nxt.wrapping_sub(1), chip.conns[0].rcv_nxt);
    chip.tcp_raw(0, una, rcv, TcpFlags::FIN | TcpFlags::ACK, 2048, vec![]);
    chip.run_for(Duration::from_millis(1));
    let segs = segs_from(&chip, port);
    assert_eq!(segs.len(), n + 1);
    assert_eq!(segs[n].flags, TcpFlags::ACK);
    assert_eq!(segs[n].ack, una.wrapping_add(1));
    assert_eq!(chip.lan.tcp_state(h), Some(TcpState::TimeWait));
}
