//! getaddrinfo (POSIX.1-2017, glibc conventions): every hint combination and EAI_* code.

mod support;

use std::net::{Ipv4Addr, SocketAddrV4};

use support::dns::*;
use w5500_netsvc::dns::gai::{flags::*, SERVICES};
use w5500_netsvc::dns::{
    AddrInfoList, DnsError, Family, GaiError, GaiLookup, GaiRequest, Hints, NameError, Protocol,
    SockType,
};

fn hints(flags: u32, family: Family, socktype: SockType, protocol: Protocol) -> Hints {
    Hints {
        flags,
        family,
        socktype,
        protocol,
    }
}

fn ready(
    h: &mut H,
    node: Option<&str>,
    service: Option<&str>,
    hints: &Hints,
) -> Result<AddrInfoList, GaiError> {
    match h.r.getaddrinfo(node, service, hints, h.now)? {
        GaiLookup::Ready(l) => Ok(l),
        GaiLookup::Pending(_) => panic!("unexpected query"),
    }
}

fn kinds(l: &AddrInfoList) -> Vec<(SocketAddrV4, SockType, Protocol)> {
    l.entries
        .iter()
        .map(|e| (e.addr, e.socktype, e.protocol))
        .collect()
}

const T: (SockType, Protocol) = (SockType::Stream, Protocol::Tcp);
const U: (SockType, Protocol) = (SockType::Dgram, Protocol::Udp);

#[test]
fn posix_socktype_protocol_matrix() {
    let ip = Ipv4Addr::new(10, 77, 0, 10);
    let sa = SocketAddrV4::new(ip, 80);
    let st = [
        SockType::Any,
        SockType::Stream,
        SockType::Dgram,
        SockType::Other(3),
    ];
    let pr = [
        Protocol::Any,
        Protocol::Tcp,
        Protocol::Udp,
        Protocol::Other(132),
    ];
    for s in st {
        for p in pr {
            let got = GaiRequest::new(
                Some("10.77.0.10"),
                Some("80"),
                &hints(0, Family::Unspec, s, p),
            )
            .and_then(|r| r.finish(None))
            .map(|l| kinds(&l));
            let expect: Result<Vec<(SockType, Protocol)>, GaiError> = match (s, p) {
                (SockType::Any, Protocol::Any) => Ok(vec![T, U]),
                (SockType::Any, Protocol::Tcp)
                | (SockType::Stream, Protocol::Any | Protocol::Tcp) => Ok(vec![T]),
                (SockType::Any, Protocol::Udp)
                | (SockType::Dgram, Protocol::Any | Protocol::Udp) => Ok(vec![U]),
                (SockType::Any, Protocol::Other(_)) => Err(GaiError::Service),
                _ => Err(GaiError::SockType),
            };
            let expect = expect.map(|v| v.into_iter().map(|(a, b)| (sa, a, b)).collect::<Vec<_>>());
            assert_eq!(got, expect, "socktype {s:?} protocol {p:?}");
        }
    }
}

#[test]
fn posix_family_only_unspec_and_inet() {
    let mut h = H::new(&[NS1]);
    for (f, ok) in [
        (Family::Unspec, true),
        (Family::Inet, true),
        (Family::Inet6, false),
        (Family::Other(17), false),
    ] {
        let r = ready(
            &mut h,
            Some("1.2.3.4"),
            None,
            &hints(0, f, SockType::Any, Protocol::Any),
        );
        assert_eq!(r.is_ok(), ok, "{f:?}");
        if !ok {
            assert_eq!(r, Err(GaiError::Family));
        }
    }
}

#[test]
fn posix_flags_badflags_and_canonname() {
    let mut h = H::new(&[NS1]);
    let d = Hints::default();
    assert_eq!(
        ready(&mut h, Some("1.2.3.4"), None, &Hints { flags: 0x8000, ..d }),
        Err(GaiError::BadFlags)
    );
    assert_eq!(
        ready(
            &mut h,
            None,
            Some("80"),
            &Hints {
                flags: AI_CANONNAME,
                ..d
            }
        ),
        Err(GaiError::BadFlags),
        "AI_CANONNAME needs a node"
    );
    // Accepted no-op flags.
    for f in [AI_ADDRCONFIG, AI_V4MAPPED, AI_ALL, AI_V4MAPPED | AI_ALL] {
        assert!(ready(&mut h, Some("1.2.3.4"), None, &Hints { flags: f, ..d }).is_ok());
    }
    let l = ready(
        &mut h,
        Some("1.2.3.4"),
        None,
        &Hints {
            flags: AI_CANONNAME,
            ..d
        },
    )
    .unwrap();
    assert_eq!(l.canonical.unwrap().to_string(), "1.2.3.4");
    let l = ready(&mut h, Some("1.2.3.4"), None, &d).unwrap();
    assert!(l.canonical.is_none(), "canonical name only on request");
}

#[test]
fn posix_null_node_passive_and_loopback() {
    let mut h = H::new(&[NS1]);
    let d = Hints::default();
    let l = ready(
        &mut h,
        None,
        Some("8080"),
        &Hints {
            flags: AI_PASSIVE,
            ..d
        },
    )
    .unwrap();
    assert_eq!(
        l.entries[0].addr,
        SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 8080)
    );
    let l = ready(&mut h, None, Some("8080"), &d).unwrap();
    assert_eq!(
        l.entries[0].addr,
        SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8080)
    );
    assert_eq!(ready(&mut h, None, None, &d), Err(GaiError::NoName));
    // AI_PASSIVE is ignored when a node is given.
    let l = ready(
        &mut h,
        Some("10.0.0.1"),
        None,
        &Hints {
            flags: AI_PASSIVE,
            ..d
        },
    )
    .unwrap();
    assert_eq!(*l.entries[0].addr.ip(), Ipv4Addr::new(10, 0, 0, 1));
}

#[test]
fn posix_services_numeric_table_and_numericserv() {
    let mut h = H::new(&[NS1]);
    let d = Hints::default();
    let port = |h: &mut H, s: &str, hints: &Hints| {
        ready(h, Some("1.2.3.4"), Some(s), hints).map(|l| l.entries[0].addr.port())
    };
    assert_eq!(port(&mut h, "0", &d), Ok(0));
    assert_eq!(port(&mut h, "65535", &d), Ok(65535));
    assert_eq!(port(&mut h, "00080", &d), Ok(80));
    assert_eq!(port(&mut h, "65536", &d), Err(GaiError::Service));
    assert_eq!(port(&mut h, "123456", &d), Err(GaiError::Service));
    for bad in ["+80", "-1", " 80", "80 ", "0x50", "", "gopher"] {
        assert_eq!(port(&mut h, bad, &d), Err(GaiError::Service), "{bad:?}");
        assert_eq!(
            port(
                &mut h,
                bad,
                &Hints {
                    flags: AI_NUMERICSERV,
                    ..d
                }
            ),
            Err(GaiError::NoName),
            "POSIX: AI_NUMERICSERV with a name → EAI_NONAME ({bad:?})"
        );
    }
    for &(name, p, tcp, udp) in SERVICES {
        let l = ready(&mut h, Some("1.2.3.4"), Some(name), &d).unwrap();
        assert!(l.entries.iter().all(|e| e.addr.port() == p));
        assert_eq!(
            l.entries.iter().any(|e| e.socktype == SockType::Stream),
            tcp,
            "{name}"
        );
        assert_eq!(
            l.entries.iter().any(|e| e.socktype == SockType::Dgram),
            udp,
            "{name}"
        );
    }
    assert_eq!(
        port(&mut h, "HTTP", &d),
        Ok(80),
        "service names are case-insensitive"
    );
    let dgram = Hints {
        socktype: SockType::Dgram,
        ..d
    };
    assert_eq!(
        port(&mut h, "https", &dgram),
        Err(GaiError::Service),
        "no https/udp"
    );
    let stream = Hints {
        socktype: SockType::Stream,
        ..d
    };
    assert_eq!(
        port(&mut h, "ntp", &stream),
        Err(GaiError::Service),
        "no ntp/tcp"
    );
    assert_eq!(port(&mut h, "ntp", &d), Ok(123));
}

#[test]
fn posix_numerichost() {
    let mut h = H::new(&[NS1]);
    let nh = Hints {
        flags: AI_NUMERICHOST,
        ..Hints::default()
    };
    assert!(ready(&mut h, Some("10.77.0.10"), Some("7"), &nh).is_ok());
    assert_eq!(
        ready(&mut h, Some("host.example"), Some("7"), &nh),
        Err(GaiError::NoName)
    );
    assert_eq!(
        ready(&mut h, Some("localhost"), Some("7"), &nh),
        Err(GaiError::NoName)
    );
    assert!(h.try_tx().is_none(), "no query");
    // Without the flag, bad numerics and empty names fail without a query too.
    let d = Hints::default();
    for bad in ["1.2.3", "300.1.1.1", ""] {
        assert_eq!(
            ready(&mut h, Some(bad), None, &d),
            Err(GaiError::NoName),
            "{bad:?}"
        );
    }
    assert!(h.try_tx().is_none());
}

#[test]
fn getaddrinfo_with_lookup_builds_entries_per_address() {
    let mut h = H::new(&[NS1]);
    let hints = Hints {
        flags: AI_CANONNAME,
        ..Hints::default()
    };
    let req = match h
        .r
        .getaddrinfo(Some("www.example"), Some("443"), &hints, h.now)
        .unwrap()
    {
        GaiLookup::Pending(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(req.port(), 443);
    let s = h.tx();
    let ips = [Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)];
    h.udp(
        &s,
        &reply(
            s.id,
            0,
            &s.qname,
            &[
                cname_rr("www.example", 60, "web.example"),
                a_rr("web.example", 60, ips[0]),
                a_rr("web.example", 60, ips[1]),
            ],
            &[],
        ),
    );
    let l = req.finish(h.r.poll_result()).unwrap();
    let expect: Vec<_> = ips
        .iter()
        .flat_map(|ip| {
            let sa = SocketAddrV4::new(*ip, 443);
            [(sa, T.0, T.1), (sa, U.0, U.1)]
        })
        .collect();
    assert_eq!(
        kinds(&l),
        expect,
        "per address STREAM then DGRAM, server order kept"
    );
    assert_eq!(l.canonical.unwrap().to_string(), "web.example");
    // Second time: from the cache, no query.
    match h
        .r
        .getaddrinfo(Some("www.example"), Some("443"), &hints, h.now)
        .unwrap()
    {
        GaiLookup::Ready(l2) => assert_eq!(l2.entries.len(), 4),
        other => panic!("{other:?}"),
    }
    // Four addresses × two types fit exactly.
    let mut h = H::new(&[NS1]);
    let req = match h
        .r
        .getaddrinfo(Some("many.example"), None, &Hints::default(), h.now)
        .unwrap()
    {
        GaiLookup::Pending(r) => r,
        other => panic!("{other:?}"),
    };
    let s = h.tx();
    let answers: Vec<_> = (1..=9)
        .map(|i| a_rr("many.example", 5, Ipv4Addr::new(10, 9, 0, i)))
        .collect();
    h.udp(&s, &reply(s.id, 0, &s.qname, &answers, &[]));
    assert_eq!(req.finish(h.r.poll_result()).unwrap().entries.len(), 8);
}

#[test]
fn eai_codes_for_resolver_errors() {
    let map = [
        (
            DnsError::InvalidName(NameError::TooLong),
            GaiError::NoName,
            -2,
        ),
        (DnsError::NoSuchName, GaiError::NoName, -2),
        (DnsError::NoData, GaiError::NoName, -2),
        (DnsError::NoServers, GaiError::Again, -3),
        (DnsError::Busy, GaiError::Again, -3),
        (DnsError::Timeout, GaiError::Again, -3),
        (DnsError::ServerFailure, GaiError::Again, -3),
        (DnsError::Refused, GaiError::Fail, -4),
        (DnsError::TooManyCnames, GaiError::Fail, -4),
        (DnsError::Transport, GaiError::System, -11),
    ];
    for (e, g, code) in map {
        assert_eq!(e.eai(), g, "{e:?}");
        assert_eq!(g.code(), code);
    }
    assert_eq!(GaiError::BadFlags.code(), -1);
    assert_eq!(GaiError::Family.code(), -6);
    assert_eq!(GaiError::SockType.code(), -7);
    assert_eq!(GaiError::Service.code(), -8);
    assert_eq!(GaiError::Memory.code(), -10);
}

#[test]
fn eai_codes_end_to_end() {
    let d = Hints::default();
    let start = |h: &mut H, name: &str| match h.r.getaddrinfo(Some(name), Some("80"), &d, h.now) {
        Ok(GaiLookup::Pending(r)) => r,
        other => panic!("{other:?}"),
    };
    // NXDOMAIN → EAI_NONAME.
    let mut h = H::new(&[NS1]);
    let req = start(&mut h, "nx.example");
    let s = h.tx();
    h.udp(&s, &reply(s.id, 3, &s.qname, &[], &[]));
    assert_eq!(req.finish(h.r.poll_result()), Err(GaiError::NoName));
    // Negative cache gives EAI_NONAME at once.
    assert_eq!(
        h.r.getaddrinfo(Some("nx.example"), None, &d, h.now),
        Err(GaiError::NoName)
    );
    // Silence everywhere → EAI_AGAIN.
    let mut h = H::new(&[NS1]);
    let req = start(&mut h, "quiet.example");
    for _ in 0..2 {
        h.tx();
        h.advance(2000);
    }
    h.r.poll(h.now);
    assert_eq!(req.finish(h.r.poll_result()), Err(GaiError::Again));
    // REFUSED everywhere → EAI_FAIL.
    let mut h = H::new(&[NS1, NS2]);
    let req = start(&mut h, "r.example");
    for _ in 0..2 {
        let s = h.tx();
        h.udp(&s, &reply(s.id, 5, &s.qname, &[], &[]));
    }
    assert_eq!(req.finish(h.r.poll_result()), Err(GaiError::Fail));
    // Busy → EAI_AGAIN; no servers → EAI_AGAIN.
    let _busy = start(&mut h, "one.example");
    assert_eq!(
        h.r.getaddrinfo(Some("two.example"), None, &d, h.now),
        Err(GaiError::Again)
    );
    let mut h = H::new(&[]);
    assert_eq!(
        h.r.getaddrinfo(Some("x.example"), None, &d, h.now),
        Err(GaiError::Again)
    );
    // Finish without a result (caller gave up) → EAI_AGAIN.
    let req = GaiRequest::new(Some("x.example"), None, &d).unwrap();
    assert_eq!(req.finish(None), Err(GaiError::Again));
}
