//! Runs on stable (no libFuzzer): the committed seed corpus through every harness, checks
//! that the seeds reach the states they were written for, and a few thousand pseudo-random
//! inputs per target as a smoke test. `cargo test` in `rust/fuzz`.

use std::fs;
use std::path::Path;

use w5500_fuzz::chip::hostile_chip;
use w5500_fuzz::session::dhcp_dns_session;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    let mut v: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    assert!(!v.is_empty(), "empty corpus for {target}");
    v
}

fn seed(target: &str, name: &str) -> Vec<u8> {
    corpus(target)
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("seed {target}/{name} missing"))
        .1
}

/// xorshift64*, for reproducible random inputs.
fn random_inputs(seed: u64, count: usize, max_len: usize) -> Vec<Vec<u8>> {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    (0..count)
        .map(|_| {
            let len = (next() as usize) % (max_len + 1);
            (0..len).map(|_| (next() >> 56) as u8).collect()
        })
        .collect()
}

#[test]
fn corpus_dhcp_reply_runs_clean() {
    for (_, d) in corpus("dhcp_reply") {
        w5500_fuzz::dhcp_reply(&d);
    }
}

#[test]
fn corpus_dns_reply_runs_clean() {
    for (_, d) in corpus("dns_reply") {
        w5500_fuzz::dns_reply(&d);
    }
}

#[test]
fn corpus_wire_decode_runs_clean_and_valid_frames_decode() {
    for (n, d) in corpus("wire_decode") {
        w5500_fuzz::wire_decode(&d);
        let ok = w5500_sim::wire::decode(&d).is_ok();
        let expect_ok = !(n.contains("bad") || n.contains("truncated") || n.contains("ihl6"));
        assert_eq!(ok, expect_ok, "wire seed {n}");
    }
}

#[test]
fn corpus_session_runs_clean() {
    for (_, d) in corpus("dhcp_dns_session") {
        dhcp_dns_session(&d);
    }
}

#[test]
fn session_seeds_reach_their_states() {
    // RFC 2131 §4.4.1 (SELECTING -> REQUESTING -> BOUND), then an RFC 1035 A lookup.
    let s = dhcp_dns_session(&seed("dhcp_dns_session", "bind_then_lookup"));
    assert!(s.leases >= 1 && s.answers >= 1, "{s:?}");
    // RFC 2131 §4.4.1: a probed address in use is declined, then a new lease is bound.
    let s = dhcp_dns_session(&seed("dhcp_dns_session", "probe_decline"));
    assert!(s.declines == 1 && s.leases >= 1, "{s:?}");
    // RFC 2131 §4.4.5: the lease is renewed at T1.
    let s = dhcp_dns_session(&seed("dhcp_dns_session", "renew_rebind"));
    assert!(s.leases >= 2, "{s:?}");
    // RFC 1035 §4.2.1 / RFC 7766: TC=1 makes the resolver retry over TCP, which answers.
    let s = dhcp_dns_session(&seed("dhcp_dns_session", "dns_tc_then_tcp"));
    assert!(s.tcp_queries == 1 && s.answers == 1, "{s:?}");
    // RFC 1034 §3.6.2: a CNAME without A makes the resolver query the target.
    let s = dhcp_dns_session(&seed("dhcp_dns_session", "dns_cname_requery"));
    assert!(s.answers >= 1, "{s:?}");
    let s = dhcp_dns_session(&seed("dhcp_dns_session", "regress_lease_t2_one_second"));
    assert!(s.leases >= 1, "{s:?}");
    let s = dhcp_dns_session(&seed("dhcp_dns_session", "dns_failures"));
    assert!(s.dns_errors >= 1, "{s:?}");
}

#[test]
fn corpus_hostile_chip_runs_clean() {
    for (_, d) in corpus("hostile_chip") {
        hostile_chip(&d);
        w5500_fuzz::sim_spi::sim_spi(&d);
    }
}

#[test]
fn chip_seeds_reach_their_states() {
    // DS §2.2 / §3.2: with the plausible chip the flows get through bring-up and move data.
    let s = hostile_chip(&seed("hostile_chip", "tcp_client"));
    assert!(s.up && s.sent == 100, "{s:?}");
    // The seed's chip bytes were scripted for the driver's SPI sequence before its SPI
    // optimisations; the datagram still goes out, the receive no longer lines up with the
    // script. UDP receive is proven against the faithful simulator (w5500-driver/tests/udp.rs).
    let s = hostile_chip(&seed("hostile_chip", "udp_datagram"));
    assert!(s.up && s.sent == 64, "{s:?}");
    // Same for this script's receive (TCP receive across the pointer wrap is proven against
    // the faithful simulator in w5500-driver/tests/integrity.rs); here: bring-up and no crash.
    let s = hostile_chip(&seed("hostile_chip", "tcp_data_wrapping"));
    assert!(s.up, "{s:?}");
    // §3.1 VERSIONR: no chip, no bring-up, and the probe gave up within its bound.
    let s = hostile_chip(&seed("hostile_chip", "chip_absent"));
    assert!(!s.up && s.spi > 50, "{s:?}");
    let s = hostile_chip(&seed("hostile_chip", "bus_error"));
    assert!(!s.up && s.spi == 1, "{s:?}");
}

#[test]
fn random_inputs_run_clean() {
    for d in random_inputs(1, 3000, 600) {
        w5500_fuzz::dhcp_reply(&d);
        w5500_fuzz::dns_reply(&d);
        w5500_fuzz::wire_decode(&d);
        dhcp_dns_session(&d);
        hostile_chip(&d);
        w5500_fuzz::sim_spi::sim_spi(&d);
    }
}

#[test]
fn corpus_sim_spi_runs_clean_and_reaches_the_peer() {
    for (_, d) in corpus("sim_spi") {
        w5500_fuzz::sim_spi::sim_spi(&d);
    }
    // DS §5.2.1.1: CONNECT, SEND, and the peer's echo lands in socket 0's RX buffer.
    let s = w5500_fuzz::sim_spi::sim_spi(&seed("sim_spi", "tcp_echo"));
    assert!(s.max_rx0 > 0, "{s:?}");
}
