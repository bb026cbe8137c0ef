//! Host tests of the C ABI: the exports run against the fake shim (`sys::fake`), whose SPI
//! reaches the W5500 simulator on the standard LAN (10.77.0.0/24, echo host 10.77.0.11).

use std::ffi::CStr;
use std::sync::{Mutex, MutexGuard, OnceLock};

use w5500_driver::Errno;

use crate::abi::*;
use crate::exports::*;

static SERIAL: Mutex<()> = Mutex::new(());

/// The one driver instance of the test process, brought up on the simulator with the
/// standard static address 10.77.0.50/24 and no INTn pin (poll mode).
pub(crate) fn up() -> MutexGuard<'static, ()> {
    static INIT: OnceLock<i32> = OnceLock::new();
    let g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let r = *INIT.get_or_init(|| {
        let cfg = W5500RsConfig {
            ctx: std::ptr::null_mut(),
            mac: [0x02, 0x08, 0xdc, 0x00, 0x00, 0x01],
            has_int_pin: false,
            has_reset_pin: true,
            poll_interval_ms: 10,
            reserved_sockets: 0,
            dhcp: false,
            static_ipv4: W5500RsIpv4 {
                addr: [10, 77, 0, 50],
                netmask: [255, 255, 255, 0],
                gateway: [10, 77, 0, 1],
            },
            dhcp_fallback_s: 0,
            // The standard LAN's DNS server (no DHCP here to announce it).
            dns_servers: [[10, 77, 0, 1], [0; 4]],
            hostname: c"WIZnet{}".as_ptr(),
            seed: 0x5eed,
            tx_buf_kb: [2; 8],
            rx_buf_kb: [2; 8],
            log_level: 3,
        };
        // SAFETY: valid config; first and only init.
        let r = unsafe { w5500_rs_init(&cfg) };
        if r == 0 {
            // net_if_up at boot: the static address is programmed.
            assert_eq!(w5500_rs_set_enabled(true), 0);
        }
        r
    });
    assert_eq!(r, 0, "init");
    // The PHY reports a link some time after reset; the stack re-reads it every 250 ms of
    // chip time, as the worker thread would make it do.
    for _ in 0..100 {
        poll();
        let up = crate::instance::get().is_some_and(|d| {
            use w5500_driver::bsd::Os;
            d.bsd.os().with_stack(|s| s.link().link_up)
        });
        if up {
            break;
        }
        crate::sys::fake::with_sim(|s| s.advance(std::time::Duration::from_millis(50)));
    }
    g
}

/// One worker step.
pub(crate) fn poll() {
    let mut next = 0u64;
    // SAFETY: writable out.
    assert!(unsafe { w5500_rs_poll(&mut next) } >= 0);
}

pub(crate) const ECHO: W5500RsSockaddr = W5500RsSockaddr {
    addr: [10, 77, 0, 11],
    port: 7,
};

pub(crate) fn send(s: i32, data: &[u8], to: Option<&W5500RsSockaddr>) -> isize {
    let to = to.map_or(std::ptr::null(), |t| t as *const _);
    // SAFETY: valid buffer and address.
    unsafe { w5500_rs_send(s, data.as_ptr(), data.len(), to, 0) }
}

fn setopt(s: i32, opt: W5500RsOpt, value: u32) -> i32 {
    // SAFETY: no group pointer is needed for these options.
    unsafe { w5500_rs_setsockopt(s, opt, value, std::ptr::null()) }
}

pub(crate) fn recv(s: i32, buf: &mut [u8], flags: u32) -> isize {
    // SAFETY: valid buffer.
    unsafe { w5500_rs_recv(s, buf.as_mut_ptr(), buf.len(), std::ptr::null_mut(), flags) }
}

#[test]
fn init_twice_is_refused_and_bad_ids_are_ebadf() {
    let _g = up();
    // A stale or impossible id is EBADF, as a name code.
    assert_eq!(w5500_rs_close(0x7f07), -(Errno::EBADF as i32));
    assert_eq!(w5500_rs_close(-1), -(Errno::EBADF as i32));
    assert_eq!(w5500_rs_socket(9), -(Errno::EPROTOTYPE as i32));
}

#[test]
fn tcp_echo_through_the_c_abi() {
    let _g = up();
    let s = w5500_rs_socket(W5500RsSockType::Stream as u8);
    assert!(s >= 0, "socket {s}");
    // SAFETY: valid address.
    assert_eq!(unsafe { w5500_rs_connect(s, &ECHO) }, 0);
    assert_ne!(w5500_rs_readiness(s) as u32 & W5500_RS_POLLOUT, 0);
    assert_eq!(send(s, b"hello w5500", None), 11);
    let mut buf = [0u8; 32];
    let n = recv(s, &mut buf, 0);
    assert!(n > 0, "recv {n}");
    assert_eq!(&buf[..n as usize], &b"hello w5500"[..n as usize]);
    let mut peer = W5500RsSockaddr::default();
    // SAFETY: writable out.
    assert_eq!(unsafe { w5500_rs_addr(s, true, &mut peer) }, 0);
    assert_eq!(peer, ECHO);
    assert_eq!(w5500_rs_take_error(s), 0);
    assert_eq!(w5500_rs_close(s), 0);
    assert_eq!(w5500_rs_close(s), -(Errno::EBADF as i32));
}

#[test]
fn udp_echo_and_nonblocking_eagain() {
    let _g = up();
    let s = w5500_rs_socket(W5500RsSockType::Datagram as u8);
    assert!(s >= 0);
    assert_eq!(setopt(s, W5500RsOpt::NonBlocking, 1), 0);
    let mut b = W5500RsBlocking::default();
    // SAFETY: writable out.
    assert_eq!(unsafe { w5500_rs_blocking(s, &mut b) }, 0);
    assert!(b.nonblocking);
    let mut buf = [0u8; 16];
    assert_eq!(recv(s, &mut buf, 0), -(Errno::EAGAIN as isize));
    assert_eq!(setopt(s, W5500RsOpt::NonBlocking, 0), 0);
    assert_eq!(setopt(s, W5500RsOpt::RcvTimeoutMs, 2000), 0);
    assert_eq!(send(s, b"ping", Some(&ECHO)), 4);
    let mut from = W5500RsSockaddr::default();
    // SAFETY: valid buffers.
    let n = unsafe { w5500_rs_recv(s, buf.as_mut_ptr(), buf.len(), &mut from, 0) };
    assert_eq!(n, 4);
    assert_eq!(&buf[..4], b"ping");
    assert_eq!(from, ECHO);
    assert_eq!(w5500_rs_socket_type(s), W5500RsSockType::Datagram as i32);
    assert_eq!(w5500_rs_close(s), 0);
}

#[test]
fn connect_to_a_silent_address_times_out_with_sndtimeo() {
    let _g = up();
    let s = w5500_rs_socket(W5500RsSockType::Stream as u8);
    assert!(s >= 0);
    assert_eq!(setopt(s, W5500RsOpt::SndTimeoutMs, 300), 0);
    let nobody = W5500RsSockaddr {
        addr: [10, 77, 0, 254],
        port: 80,
    };
    // SAFETY: valid address.
    let r = unsafe { w5500_rs_connect(s, &nobody) };
    assert!(
        r == -(Errno::ETIMEDOUT as i32) || r == -(Errno::EHOSTUNREACH as i32),
        "connect {r}"
    );
    assert_eq!(w5500_rs_close(s), 0);
}

#[test]
fn events_report_link_then_static_address_then_link_loss() {
    let _g = up();
    // Drain whatever earlier tests left, then check the state machine from where it is.
    let mut ev = W5500RsEvent::bare(W5500RsEventKind::None);
    let mut seen = Vec::new();
    for _ in 0..4 {
        poll();
        // SAFETY: writable out.
        while unsafe { w5500_rs_poll_events(&mut ev) } == 1 {
            seen.push(ev.kind);
        }
    }
    let mut st = W5500RsStatus::default();
    // SAFETY: writable out.
    assert_eq!(unsafe { w5500_rs_status(&mut st) }, 0);
    assert!(st.link_up);
    assert_eq!(st.ipv4.addr, [10, 77, 0, 50]);
    if !seen.is_empty() {
        // The static address is programmed at net_if_up, before the PHY reports a link.
        assert_eq!(
            seen,
            [
                W5500RsEventKind::AddressAdded,
                W5500RsEventKind::DnsServers,
                W5500RsEventKind::LinkUp
            ]
        );
    }
    crate::sys::fake::with_sim(|s| s.faults_mut().link_down = true);
    // The link is re-read every LINK_POLL_MS of chip time.
    crate::sys::fake::with_sim(|s| s.advance(std::time::Duration::from_millis(300)));
    poll();
    // SAFETY: writable out.
    assert_eq!(unsafe { w5500_rs_poll_events(&mut ev) }, 1);
    assert_eq!(ev.kind, W5500RsEventKind::LinkDown);
    crate::sys::fake::with_sim(|s| s.faults_mut().link_down = false);
    crate::sys::fake::with_sim(|s| s.advance(std::time::Duration::from_millis(300)));
    poll();
    // SAFETY: writable out.
    assert_eq!(unsafe { w5500_rs_poll_events(&mut ev) }, 1);
    assert_eq!(ev.kind, W5500RsEventKind::LinkUp);
}

fn gai(
    node: &CStr,
    service: Option<&CStr>,
    hints: Option<&W5500RsAiHints>,
) -> (i32, Vec<W5500RsAddrinfo>) {
    let mut out = [W5500RsAddrinfo::default(); W5500_RS_GAI_MAX];
    let mut n = 0usize;
    // SAFETY: NUL-terminated strings, room for W5500_RS_GAI_MAX results.
    let r = unsafe {
        w5500_rs_getaddrinfo(
            node.as_ptr(),
            service.map_or(std::ptr::null(), CStr::as_ptr),
            hints.map_or(std::ptr::null(), |h| h as *const _),
            out.as_mut_ptr(),
            out.len(),
            &mut n,
        )
    };
    (r, out[..n].to_vec())
}

/// RFC 3493 §6.1 through the C ABI: numeric host and service, a service name the resolver
/// knows ("echo" is port 7), and one that is not a number with AI_NUMERICSERV.
#[test]
fn getaddrinfo_abi_numeric_and_errors() {
    let _g = up();
    let hints = W5500RsAiHints {
        socktype: 2,
        ..Default::default()
    };
    let (r, l) = gai(c"10.77.0.11", Some(c"7"), Some(&hints));
    assert_eq!((r, l.len()), (0, 1));
    assert_eq!(l[0].addr, ECHO);
    assert_eq!(l[0].socktype, W5500RsSockType::Datagram as u8);
    let (r, l) = gai(c"10.77.0.11", Some(c"echo"), Some(&hints));
    assert_eq!((r, l.first().map(|a| a.addr)), (0, Some(ECHO)));
    let strict = W5500RsAiHints {
        flags: W5500_RS_AI_NUMERICSERV,
        ..Default::default()
    };
    assert_eq!(
        gai(c"10.77.0.11", Some(c"echo"), Some(&strict)).0,
        -(W5500RsEai::NoName as i32)
    );
    let numeric = W5500RsAiHints {
        flags: W5500_RS_AI_NUMERICHOST,
        ..Default::default()
    };
    assert_eq!(
        gai(c"http.sim.lan", None, Some(&numeric)).0,
        -(W5500RsEai::NoName as i32)
    );
}

/// RFC 1035 through the chip: an A record, a CNAME chain, several A records, NXDOMAIN
/// (EAI_NONAME), all from the standard LAN's DNS server.
#[test]
fn getaddrinfo_abi_names_through_the_chip() {
    let _g = up();
    let stream = W5500RsAiHints {
        socktype: 1,
        ..Default::default()
    };
    let http = [10, 77, 0, 10];
    let (r, l) = gai(c"http.sim.lan", Some(c"80"), Some(&stream));
    assert_eq!(r, 0);
    assert_eq!(l.len(), 1);
    assert_eq!(
        l[0].addr,
        W5500RsSockaddr {
            addr: http,
            port: 80
        }
    );
    let (r, l) = gai(c"alias.sim.lan", Some(c"80"), Some(&stream));
    assert_eq!((r, l.first().map(|a| a.addr.addr)), (0, Some(http)));
    let (r, l) = gai(c"multi.sim.lan", None, Some(&stream));
    assert_eq!(r, 0);
    assert_eq!(l.len(), 3);
    // Without a socket type: each address once per type.
    let (r, l) = gai(c"http.sim.lan", None, None);
    assert_eq!((r, l.len()), (0, 2));
    assert_eq!(
        gai(c"nosuch.sim.lan", None, None).0,
        -(W5500RsEai::NoName as i32)
    );
    // The lookups' sockets are closed again.
    let mut st = W5500RsStatus::default();
    // SAFETY: writable out.
    assert_eq!(unsafe { w5500_rs_status(&mut st) }, 0);
    assert_eq!(st.free_hw_sockets, 8);
    assert_eq!((st.n_dns, st.dns[0]), (1, [10, 77, 0, 1]));
}

/// Every pending interface event (after a worker step).
fn drain_events() -> Vec<W5500RsEvent> {
    let mut ev = W5500RsEvent::bare(W5500RsEventKind::None);
    let mut out = Vec::new();
    poll();
    // SAFETY: writable out.
    while unsafe { w5500_rs_poll_events(&mut ev) } == 1 {
        out.push(ev);
    }
    out
}

fn lease() -> crate::ctl::W5500RsLease {
    let mut l = crate::ctl::W5500RsLease::default();
    // SAFETY: writable out.
    assert_eq!(unsafe { crate::ctl::w5500_rs_lease(&mut l) }, 0);
    l
}

/// docs/SEMANTICS.md "hostname": the Kconfig default template `WIZnet{}` (Adafruit's `{}`
/// = last three MAC bytes, upper-case hex) is what DHCP option 12 carries; run-time changes
/// follow the same template rules; a too-small buffer is refused.
#[test]
fn ctl_hostname_template_and_buffer() {
    use crate::ctl::*;
    let _g = up();
    let mut buf = [0 as std::ffi::c_char; 64];
    // SAFETY: 64 writable bytes.
    let n = unsafe { w5500_rs_hostname(buf.as_mut_ptr(), buf.len()) };
    // SAFETY: NUL-terminated by the export.
    let name = unsafe { CStr::from_ptr(buf.as_ptr()) };
    assert_eq!(name.to_str().unwrap(), "WIZnet000001");
    assert_eq!(n, 12);
    // SAFETY: NUL-terminated template.
    assert_eq!(
        // SAFETY: NUL-terminated template.
        unsafe { w5500_rs_set_hostname(c"node {}.example".as_ptr()) },
        0
    );
    // SAFETY: as above.
    assert_eq!(
        // SAFETY: as above.
        unsafe { w5500_rs_hostname(buf.as_mut_ptr(), buf.len()) },
        11
    );
    // SAFETY: NUL-terminated by the export.
    let name = unsafe { CStr::from_ptr(buf.as_ptr()) };
    assert_eq!(name.to_str().unwrap(), "node-000001");
    // SAFETY: 5 writable bytes.
    assert_eq!(
        // SAFETY: 5 writable bytes.
        unsafe { w5500_rs_hostname(buf.as_mut_ptr(), 5) },
        -(Errno::EMSGSIZE as i32)
    );
    // SAFETY: NULL is allowed: no option 12.
    assert_eq!(unsafe { w5500_rs_set_hostname(std::ptr::null()) }, 0);
    // SAFETY: 64 writable bytes.
    assert_eq!(unsafe { w5500_rs_hostname(buf.as_mut_ptr(), buf.len()) }, 0);
    // SAFETY: NUL-terminated template.
    assert_eq!(unsafe { w5500_rs_set_hostname(c"WIZnet{}".as_ptr()) }, 0);
}

/// docs/SEMANTICS.md "ipconfig(addr4=)": a static address replaces the configured one on
/// the chip (SIPR/SUBR/GAR) with AddressRemoved then AddressAdded; multicast is refused;
/// with DHCP off, removing it leaves no address.
#[test]
fn ctl_static_ipv4_replaces_and_removes() {
    use crate::ctl::*;
    let _g = up();
    let _ = drain_events();
    let cfg = |a: [u8; 4], gw: [u8; 4]| W5500RsIpv4 {
        addr: a,
        netmask: [255, 255, 255, 0],
        gateway: gw,
    };
    // SAFETY: valid config.
    assert_eq!(
        // SAFETY: valid config.
        unsafe { w5500_rs_set_ipv4(&cfg([10, 77, 0, 60], [0; 4])) },
        0
    );
    let kinds: Vec<_> = drain_events()
        .iter()
        .map(|e| (e.kind, e.ipv4.addr))
        .collect();
    assert_eq!(
        kinds,
        [
            (W5500RsEventKind::AddressRemoved, [10, 77, 0, 50]),
            (W5500RsEventKind::AddressAdded, [10, 77, 0, 60])
        ]
    );
    let mut st = W5500RsStatus::default();
    // SAFETY: writable out.
    assert_eq!(unsafe { w5500_rs_status(&mut st) }, 0);
    assert_eq!(st.ipv4.addr, [10, 77, 0, 60]);
    assert_eq!(st.ipv4.gateway, [0; 4]);
    let l = lease();
    assert!(l.has_static && !l.from_dhcp && !l.dhcp_enabled);
    // SAFETY: valid config.
    assert_eq!(
        // SAFETY: valid config.
        unsafe { w5500_rs_set_ipv4(&cfg([224, 0, 0, 1], [0; 4])) },
        -(Errno::EINVAL as i32)
    );
    // SAFETY: NULL removes it.
    assert_eq!(unsafe { w5500_rs_set_ipv4(std::ptr::null()) }, 0);
    let _ = drain_events();
    assert_eq!(lease().ipv4.addr, [0; 4]);
    // Back to the standard configuration for the other tests.
    // SAFETY: valid config.
    assert_eq!(
        // SAFETY: valid config.
        unsafe { w5500_rs_set_ipv4(&cfg([10, 77, 0, 50], [10, 77, 0, 1])) },
        0
    );
    let _ = drain_events();
    assert_eq!(lease().ipv4.addr, [10, 77, 0, 50]);
}

/// docs/SEMANTICS.md "rtr/rcr" and "ipconfig(dns=)": RTR/RCR read back as set (time 0
/// refused); DNS servers replaced at run time and read back through the status.
#[test]
fn ctl_retry_and_dns_servers() {
    use crate::ctl::*;
    let _g = up();
    let (mut t, mut c) = (0u16, 0u8);
    assert_eq!(w5500_rs_set_retry(0, 3), -(Errno::EINVAL as i32));
    assert_eq!(w5500_rs_set_retry(1234, 3), 0);
    // SAFETY: writable outs.
    assert_eq!(unsafe { w5500_rs_retry(&mut t, &mut c) }, 0);
    assert_eq!((t, c), (1234, 3));
    assert_eq!(w5500_rs_set_retry(2000, 8), 0);

    let servers = [[10, 77, 0, 2], [0, 0, 0, 0], [10, 77, 0, 1]];
    // SAFETY: 3 readable entries.
    assert_eq!(unsafe { w5500_rs_set_dns_servers(servers.as_ptr(), 3) }, 0);
    let mut st = W5500RsStatus::default();
    // SAFETY: writable out.
    assert_eq!(unsafe { w5500_rs_status(&mut st) }, 0);
    assert_eq!(st.n_dns, 2);
    assert_eq!(st.dns, [[10, 77, 0, 2], [10, 77, 0, 1]]);
    // SAFETY: NULL with n > 0 is refused.
    assert_eq!(
        // SAFETY: NULL with n > 0 is refused.
        unsafe { w5500_rs_set_dns_servers(std::ptr::null(), 1) },
        -(Errno::EINVAL as i32)
    );
    // SAFETY: one readable entry.
    assert_eq!(
        // SAFETY: one readable entry.
        unsafe { w5500_rs_set_dns_servers([[10, 77, 0, 1]].as_ptr(), 1) },
        0
    );
    let _ = drain_events();
}

/// Pointers that point nowhere are `-EFAULT` at the ABI (issue 14): a NULL buffer with a
/// length, and a length no buffer can have (over `isize::MAX`), for send and receive alike;
/// NULL with length 0 is an empty call. Nothing is dereferenced.
#[test]
fn null_and_impossible_buffers_are_efault() {
    let _g = up();
    let efault = -(Errno::EFAULT as isize);
    let u = w5500_rs_socket(W5500RsSockType::Datagram as u8);
    assert!(u >= 0);
    setopt(u, W5500RsOpt::RcvTimeoutMs, 50);
    // SAFETY: NULL buffers are what is tested; the lengths say how the ABI must treat them.
    unsafe {
        assert_eq!(w5500_rs_send(u, std::ptr::null(), 10, &ECHO, 0), efault);
        assert_eq!(
            w5500_rs_recv(u, std::ptr::null_mut(), 10, std::ptr::null_mut(), 0),
            efault
        );
        // A real buffer with an impossible length: refused before any slice is made.
        let b = [0u8; 4];
        assert_eq!(w5500_rs_send(u, b.as_ptr(), usize::MAX, &ECHO, 0), efault);
        let mut r = [0u8; 4];
        assert_eq!(
            w5500_rs_recv(u, r.as_mut_ptr(), usize::MAX, std::ptr::null_mut(), 0),
            efault
        );
        // NULL with length 0: an empty datagram, which the chip cannot send (EMSGSIZE).
        assert_eq!(
            w5500_rs_send(u, std::ptr::null(), 0, &ECHO, 0),
            -(Errno::EMSGSIZE as isize)
        );
        // NULL out-pointers of the getters.
        assert_eq!(
            w5500_rs_getsockopt(u, W5500RsOpt::ReuseAddr, std::ptr::null_mut()),
            -(Errno::EFAULT as i32)
        );
    }
    assert_eq!(w5500_rs_close(u), 0);
}

/// `getsockopt()` through the ABI reads back every option `setsockopt()` takes (issue 14):
/// flags as 0/1, timeouts in ms up to `u32::MAX` (the longest the driver holds; the C layer
/// clamps a longer `timeval` to it), TCP_NODELAY 1 on TCP and ENOPROTOOPT on UDP, the
/// membership options write-only.
#[test]
fn getsockopt_reads_back_what_setsockopt_set() {
    let _g = up();
    let get = |s: i32, o: W5500RsOpt| -> Result<u32, i32> {
        let mut v = 0xdead_beef_u32;
        // SAFETY: writable out.
        match unsafe { w5500_rs_getsockopt(s, o, &mut v) } {
            0 => Ok(v),
            e => Err(e),
        }
    };
    let t = w5500_rs_socket(W5500RsSockType::Stream as u8);
    let u = w5500_rs_socket(W5500RsSockType::Datagram as u8);
    assert!(t >= 0 && u >= 0);
    for o in [
        W5500RsOpt::ReuseAddr,
        W5500RsOpt::Broadcast,
        W5500RsOpt::KeepAlive,
    ] {
        assert_eq!(get(t, o), Ok(0), "{o:?} default");
        assert_eq!(setopt(t, o, 7), 0);
        assert_eq!(get(t, o), Ok(1), "{o:?} set");
        assert_eq!(setopt(t, o, 0), 0);
        assert_eq!(get(t, o), Ok(0), "{o:?} cleared");
    }
    assert_eq!(setopt(t, W5500RsOpt::NoDelay, 0), 0);
    assert_eq!(get(t, W5500RsOpt::NoDelay), Ok(1));
    let enoprotoopt = -(Errno::ENOPROTOOPT as i32);
    assert_eq!(get(u, W5500RsOpt::NoDelay), Err(enoprotoopt));
    assert_eq!(get(u, W5500RsOpt::AddMembership), Err(enoprotoopt));
    assert_eq!(get(u, W5500RsOpt::DropMembership), Err(enoprotoopt));
    for ms in [u32::MAX, 1, 0] {
        assert_eq!(setopt(u, W5500RsOpt::RcvTimeoutMs, ms), 0);
        assert_eq!(setopt(u, W5500RsOpt::SndTimeoutMs, ms), 0);
        assert_eq!(get(u, W5500RsOpt::RcvTimeoutMs), Ok(ms));
        assert_eq!(get(u, W5500RsOpt::SndTimeoutMs), Ok(ms));
    }
    assert_eq!(w5500_rs_close(t), 0);
    assert_eq!(w5500_rs_close(u), 0);
    assert_eq!(get(u, W5500RsOpt::ReuseAddr), Err(-(Errno::EBADF as i32)));
}
