//! The `w5500-sim` command line (hand-parsed) and the binary itself.

mod support;

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command as Proc;

use support::process::{wait_bounded, wait_for_file};

use w5500_sim::bridge::{
    parse_args, Backend, ClockMode, Command, HostNetOptions, ListenAddr, Options,
};

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
        &["--backend", "qemu"],
        &["--backend", "hostnet", "--forward-tcp", "0"],
        &["--backend", "hostnet", "--forward-udp", "65536"],
        &["--backend", "hostnet", "--chip-ip", "10.77.0"],
        &[
            "--backend",
            "hostnet",
            "--interface",
            "a-name-longer-than-15",
        ],
        &["--backend", "hostnet", "--interface", ""],
    ] {
        assert!(run(bad).is_err(), "{bad:?} accepted");
    }
}

/// Stopped by SIGTERM, SIGINT or SIGHUP, the binary removes its Unix socket file and ends
/// with that signal; each wait is bounded (5 s), and a bridge that outlives it is killed.
#[test]
fn binary_removes_its_socket_file_when_stopped_by_a_signal() {
    use std::os::unix::process::ExitStatusExt;
    use std::time::Duration;
    let dir = std::env::temp_dir().join(format!("w5500-sim-signal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, number) in [("TERM", 15), ("INT", 2), ("HUP", 1)] {
        let path = dir.join(format!("{name}.sock"));
        let mut child = Proc::new(env!("CARGO_BIN_EXE_w5500-sim"))
            .args(["--listen", &format!("unix:{}", path.display())])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        assert!(
            wait_for_file(&path, Duration::from_secs(5)),
            "SIG{name}: no socket file within 5 s"
        );
        let sent = Proc::new("kill")
            .args(["-s", name, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -s {name}");
        let Some(status) = wait_bounded(&mut child, Duration::from_secs(5)) else {
            panic!("SIG{name}: the bridge still ran 5 s after the signal");
        };
        assert_eq!(status.signal(), Some(number), "SIG{name}: {status:?}");
        assert!(!path.exists(), "SIG{name}: socket file left behind");
    }
    std::fs::remove_dir(&dir).unwrap();
}

#[test]
fn binary_refuses_a_non_loopback_listen_address() {
    let out = Proc::new(env!("CARGO_BIN_EXE_w5500-sim"))
        .args(["--listen", "tcp:0.0.0.0:7000"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `--backend hostnet` takes the host-network options, runs on the wall clock (real peers
/// run on real time), and refuses the in-memory LAN's options; the host-network options
/// need `--backend hostnet`.
#[test]
fn cli_hostnet_backend_and_its_options() {
    assert_eq!(run(&[]).unwrap().backend, Backend::Lan);
    let o = run(&[
        "--backend",
        "hostnet",
        "--interface",
        "w5f-d0",
        "--forward-tcp",
        "4242",
        "--forward-tcp",
        "8080",
        "--forward-udp",
        "4242",
        "--chip-ip",
        "10.77.0.50",
    ])
    .unwrap();
    assert_eq!(
        o.clock,
        ClockMode::Wall,
        "hostnet defaults to the wall clock"
    );
    assert_eq!(
        o.backend,
        Backend::HostNet(HostNetOptions {
            interface: Some("w5f-d0".into()),
            forward_tcp: vec![4242, 8080],
            forward_udp: vec![4242],
            chip_ip: Some(Ipv4Addr::new(10, 77, 0, 50)),
        })
    );
    let o = run(&["--clock", "wall", "--backend", "hostnet"]).unwrap();
    assert_eq!(o.backend, Backend::HostNet(HostNetOptions::default()));

    for (bad, says) in [
        (
            &["--backend", "hostnet", "--clock", "sim"][..],
            "--clock wall",
        ),
        (&["--clock", "sim", "--backend", "hostnet"], "--clock wall"),
        (&["--backend", "hostnet", "--no-dhcp"], "--no-dhcp"),
        (
            &["--backend", "hostnet", "--dns-record", "a.test=10.0.0.1"],
            "--dns-record",
        ),
        (&["--backend", "hostnet", "--http", "/a=b"], "--http"),
        (
            &["--backend", "hostnet", "--selftest-target"],
            "--selftest-target",
        ),
        (&["--forward-tcp", "80"], "needs --backend hostnet"),
        (
            &["--backend", "lan", "--forward-udp", "53"],
            "needs --backend hostnet",
        ),
        (&["--interface", "eth0"], "needs --backend hostnet"),
        (&["--chip-ip", "10.0.0.1"], "needs --backend hostnet"),
    ] {
        let e = run(bad).expect_err(&format!("{bad:?} accepted"));
        assert!(e.contains(says), "{bad:?}: {e}");
    }
}
