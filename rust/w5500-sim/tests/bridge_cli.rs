//! The `w5500-sim` command line (hand-parsed) and the binary itself.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command as Proc;

use w5500_sim::bridge::{parse_args, ClockMode, Command, ListenAddr, Options};

fn run(args: &[&str]) -> Result<Options, String> {
    match parse_args(args.iter().copied())? {
        Command::Run(o) => Ok(o),
        Command::Help => Err("help".into()),
    }
}

#[test]
fn cli_defaults_and_every_option() {
    let d = run(&[]).unwrap();
    assert_eq!(d.listen, ListenAddr::Unix(PathBuf::from("w5500-sim.sock")));
    assert_eq!(
        (d.clock, d.spi_hz, d.selftest_target),
        (ClockMode::Sim, 20_000_000, false)
    );

    let o = run(&[
        "--listen",
        "tcp:127.0.0.1:7000",
        "--clock",
        "wall",
        "--spi-hz",
        "8000000",
        "--no-dhcp",
        "--dns-record",
        "a.test=10.0.0.1",
        "--dns-record",
        "b.test=10.0.0.2",
        "--http",
        "/index.html=www/index.html",
        "--selftest-target",
        "--max-clients",
        "3",
        "--client",
        "tcp port=7 send=pattern:100 expect=echo count=2",
        "--client",
        "udp port=7 send=text:hi expect=echo",
    ])
    .unwrap();
    assert_eq!(o.listen, ListenAddr::Tcp("127.0.0.1:7000".parse().unwrap()));
    assert_eq!(o.clock, ClockMode::Wall);
    assert_eq!(o.spi_hz, 8_000_000);
    assert!(o.no_dhcp && o.selftest_target);
    assert_eq!(o.dns_records.len(), 2);
    assert_eq!(
        o.dns_records[1],
        ("b.test".to_string(), Ipv4Addr::new(10, 0, 0, 2))
    );
    assert_eq!(
        o.http,
        vec![("/index.html".to_string(), PathBuf::from("www/index.html"))]
    );
    assert_eq!(o.max_clients, Some(3));
    assert_eq!(o.clients.len(), 2);
    assert_eq!(o.clients[1], "udp port=7 send=text:hi expect=echo");
    assert_eq!(
        run(&["--listen", "unix:/tmp/x.sock"]).unwrap().listen,
        ListenAddr::Unix("/tmp/x.sock".into())
    );
    assert_eq!(parse_args(["--help"]).unwrap(), Command::Help);
}

#[test]
fn cli_refuses_bad_input() {
    for bad in [
        &["--listen", "tcp:0.0.0.0:7000"][..],
        &["--listen", "tcp:10.1.2.3:7000"],
        &["--listen", "tcp:localhost:7000"],
        &["--listen", "unix:"],
        &["--listen", "udp:1"],
        &["--listen"],
        &["--clock", "fast"],
        &["--spi-hz", "0"],
        &["--spi-hz", "-1"],
        &["--dns-record", "noequals"],
        &["--dns-record", "=10.0.0.1"],
        &["--http", "index.html=x"],
        &["--max-clients", "many"],
        &["--client", "tcp"],
        &["--client", "tcp port=7 expect=echo"],
        &["--client"],
        &["--bogus"],
    ] {
        assert!(run(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn binary_refuses_a_non_loopback_listen_address() {
    let out = Proc::new(env!("CARGO_BIN_EXE_w5500-sim"))
        .args(["--listen", "tcp:0.0.0.0:7000"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
