//! Data integrity through the chip's TX/RX rings (DS §5.2 data path: free-running 16-bit
//! pointers, hardware wrap, RECV reopening the TCP window), over every buffer plan
//! (DS §4.2 Sn_RXBUF_SIZE/Sn_TXBUF_SIZE: 1, 2, 4, 8, 16 KB per socket).
//!
//! The default run moves 1 MiB each way per plan; `cargo test --release -- --ignored` runs the
//! 16 MiB versions.
mod support;

use std::net::SocketAddrV4;
use support::*;
use w5500_sim::lan::apps::{AfterSend, ByteSource};
use w5500_sim::lan::util::{pattern, Fnv1a};

const SOURCE_PORT: u16 = 1900;

fn lan_with_source(total: u64) -> Lan {
    let mut lan = Lan::standard();
    let bulk = lan.host_by_ip(standard::BULK).unwrap();
    lan.listen_tcp(
        bulk,
        SOURCE_PORT,
        TcpOptions::default(),
        ByteSource::factory(total, AfterSend::Close),
    );
    lan
}

/// Upload `total` bytes to the byte sink; the sink's checksum must match ours.
fn upload(kb: BufferSize, total: usize) {
    let rig = rig_with(cfg_buffers(kb));
    let bsd = &rig.bsd;
    let s = tcp_connect(bsd, standard::BULK, 9);
    let mut hash = Fnv1a::new();
    let chunk = 7_919; // prime: chunks straddle the ring's end at ever-changing offsets
    let mut off = 0usize;
    while off < total {
        let n = chunk.min(total - off);
        let data = pattern(off as u64, n);
        hash.update(&data);
        assert_eq!(bsd.send(s, &data, None, nf()).unwrap(), n);
        off += n;
    }
    bsd.close(s).unwrap();
    // Let the FIN exchange finish.
    run_until(&rig, 200, 50, sink_saw_fin);
    let (received, sink_hash, matches, _) = sink_view(&rig);
    assert_eq!(received, total as u64, "{kb:?}");
    assert!(matches, "{kb:?}: sink saw bytes out of pattern");
    assert_eq!(sink_hash, hash.0, "{kb:?}");
    assert_eq!(free_hw(bsd), 8, "{kb:?}: socket not released after close");
    assert_no_violations(&rig);
}

/// Download `total` bytes from a byte source; every byte must equal the pattern.
fn download(kb: BufferSize, total: u64) {
    let rig = rig_on(lan_with_source(total), cfg_buffers(kb));
    let bsd = &rig.bsd;
    let s = bsd.socket(SockType::Stream).unwrap();
    bsd.connect(s, SocketAddrV4::new(standard::BULK, SOURCE_PORT))
        .unwrap();
    let mut got: u64 = 0;
    let mut ours = Fnv1a::new();
    let mut buf = vec![0u8; 3_001];
    let mut calls = 0u64;
    loop {
        calls += 1;
        assert!(calls < 100_000_000);
        let (n, _) = bsd.recv(s, &mut buf, nf()).unwrap();
        if n == 0 {
            break;
        }
        let want = pattern(got, n);
        assert_eq!(&buf[..n], &want[..], "{kb:?}: corrupt at offset {got}");
        ours.update(&buf[..n]);
        got += n as u64;
    }
    assert_eq!(got, total, "{kb:?}");
    assert_eq!(ours.0, Fnv1a::of(&pattern(0, total as usize)), "{kb:?}");
    bsd.close(s).unwrap();
    // CLOSE_WAIT -> DISCON -> LAST_ACK -> CLOSED takes one round trip; then the socket is free.
    idle(&rig, 10);
    service(&rig);
    assert_eq!(free_hw(bsd), 8, "{kb:?}: socket not released after close");
    assert_eq!(open_hw_on_chip(&rig), vec![], "{kb:?}");
    assert_no_violations(&rig);
}

const MIB: usize = 1 << 20;

macro_rules! plan_tests {
    ($($kb:ident: $up:ident, $down:ident, $up16:ident, $down16:ident;)*) => {$(
        #[test]
        fn $up() {
            upload(BufferSize::$kb, MIB);
        }
        #[test]
        fn $down() {
            download(BufferSize::$kb, MIB as u64);
        }
        /// 16 MiB: run with `cargo test --release -- --ignored`.
        #[test]
        #[ignore = "16 MiB: run with cargo test --release -- --ignored"]
        fn $up16() {
            upload(BufferSize::$kb, 16 * MIB);
        }
        /// 16 MiB: run with `cargo test --release -- --ignored`.
        #[test]
        #[ignore = "16 MiB: run with cargo test --release -- --ignored"]
        fn $down16() {
            download(BufferSize::$kb, 16 * MIB as u64);
        }
    )*};
}

plan_tests! {
    K1: ds_5_2_upload_1mib_1k_buffers, ds_5_2_download_1mib_1k_buffers,
        ds_5_2_upload_16mib_1k_buffers, ds_5_2_download_16mib_1k_buffers;
    K2: ds_5_2_upload_1mib_2k_buffers, ds_5_2_download_1mib_2k_buffers,
        ds_5_2_upload_16mib_2k_buffers, ds_5_2_download_16mib_2k_buffers;
    K4: ds_5_2_upload_1mib_4k_buffers, ds_5_2_download_1mib_4k_buffers,
        ds_5_2_upload_16mib_4k_buffers, ds_5_2_download_16mib_4k_buffers;
    K8: ds_5_2_upload_1mib_8k_buffers, ds_5_2_download_1mib_8k_buffers,
        ds_5_2_upload_16mib_8k_buffers, ds_5_2_download_16mib_8k_buffers;
    K16: ds_5_2_upload_1mib_16k_buffers, ds_5_2_download_1mib_16k_buffers,
        ds_5_2_upload_16mib_16k_buffers, ds_5_2_download_16mib_16k_buffers;
}

/// Both directions at once on one connection through the echo server, 2 KB buffers: what
/// goes out must come back unchanged (the echo returns it in order).
#[test]
fn ds_5_2_echo_1mib_full_duplex_checksummed() {
    let rig = rig();
    let bsd = &rig.bsd;
    let s = tcp_connect(bsd, standard::ECHO, 7);
    bsd.set_option(s, SockOpt::NonBlocking(true)).unwrap();
    let total = MIB;
    let data = pattern(12_345, total);
    let (mut sent, mut got) = (0usize, Vec::with_capacity(total));
    let mut buf = vec![0u8; 4096];
    for _ in 0..10_000_000 {
        if got.len() >= total {
            break;
        }
        if sent < total {
            match bsd.send(s, &data[sent..(sent + 5000).min(total)], None, nf()) {
                Ok(n) => sent += n,
                Err(Error::WouldBlock) => {}
                Err(e) => panic!("{e:?}"),
            }
        }
        match bsd.recv(s, &mut buf, nf()) {
            Ok((n, _)) => got.extend_from_slice(&buf[..n]),
            Err(Error::WouldBlock) => {
                let mut fds = [PollFd::new(s, true, sent < total)];
                bsd.poll(&mut fds, Some(1000)).unwrap();
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(got.len(), total);
    assert_eq!(Fnv1a::of(&got), Fnv1a::of(&data));
    bsd.close(s).unwrap();
    assert_no_violations(&rig);
}
