//! DHCP codec: reply parsing edge cases (RFC 2131 §2/§4.1, RFC 2132 §2–§9) and request
//! building, cross-checked with the simulator's independent codec.

mod support;

use std::net::Ipv4Addr;

use support::dhcp::*;
use w5500_netsvc::dhcp::wire::{self, parse, MessageType, ParseError, Request, MAX_REQUEST_LEN};
use w5500_sim::lan::dhcp::{msg, opt, DhcpMessage};

/// A reply with only the fixed header, the cookie and `options` as raw bytes.
fn raw(options: &[u8]) -> Vec<u8> {
    let mut b = DhcpMessage::request(msg::ACK, 7, w5500_sim::net::MacAddr(MAC)).encode();
    b[0] = 2;
    b.truncate(240);
    b.extend_from_slice(options);
    b
}

#[test]
fn rfc2131_2_too_short_and_bad_cookie_are_errors() {
    assert_eq!(parse(&[]), Err(ParseError::TooShort));
    assert_eq!(parse(&[0u8; 239]), Err(ParseError::TooShort));
    let mut b = raw(&[53, 1, 5, 255]);
    assert!(parse(&b).is_ok());
    b[239] ^= 1;
    assert_eq!(parse(&b), Err(ParseError::BadCookie));
}

#[test]
fn rfc2132_reads_all_client_options() {
    let b = reply(msg::ACK, 0x0102_0304, IP1, S1)
        .with_option(opt::T1, &100u32.to_be_bytes())
        .with_option(opt::T2, &200u32.to_be_bytes())
        .encode();
    let r = parse(&b).unwrap();
    assert_eq!(r.op, 2);
    assert_eq!(r.xid, 0x0102_0304);
    assert_eq!(r.yiaddr, IP1);
    assert_eq!(&r.chaddr[..6], &MAC);
    assert_eq!(r.message_type, Some(MessageType::Ack));
    assert_eq!(r.server_id, Some(S1));
    assert_eq!(r.subnet_mask, Some(Ipv4Addr::new(255, 255, 255, 0)));
    assert_eq!(r.router, Some(ROUTER));
    assert_eq!(r.dns.len(), 2);
    assert_eq!(r.domain.as_deref(), Some("sim.lan"));
    assert_eq!(
        (r.lease_secs, r.t1_secs, r.t2_secs),
        (Some(3600), Some(100), Some(200))
    );
    assert_eq!(r.malformed_options, 0);
}

#[test]
fn rfc2132_2_pad_end_and_unknown_options() {
    // pad, unknown 200 (len 3), pad, type, end, then a server id after END (ignored).
    let r = parse(&raw(&[
        0, 0, 200, 3, 9, 9, 9, 0, 53, 1, 2, 255, 54, 4, 1, 2, 3, 4,
    ]))
    .unwrap();
    assert_eq!(r.message_type, Some(MessageType::Offer));
    assert_eq!(r.server_id, None, "options after END are not read");
    assert_eq!(r.malformed_options, 0);
    // No END at all: the area simply ends.
    let r = parse(&raw(&[53, 1, 6, 54, 4, 10, 0, 0, 1])).unwrap();
    assert_eq!(r.message_type, Some(MessageType::Nak));
    assert_eq!(r.server_id, Some(Ipv4Addr::new(10, 0, 0, 1)));
    // Zero-length unknown option is fine.
    let r = parse(&raw(&[77, 0, 53, 1, 5, 255])).unwrap();
    assert_eq!(r.message_type, Some(MessageType::Ack));
    assert_eq!(r.malformed_options, 0);
}

#[test]
fn rfc2132_truncated_and_malformed_options_are_skipped() {
    // Length running past the end: earlier options kept, the broken one counted.
    let r = parse(&raw(&[53, 1, 5, 51, 4, 0, 0, 14, 16, 54, 200, 1, 2])).unwrap();
    assert_eq!(r.message_type, Some(MessageType::Ack));
    assert_eq!(r.lease_secs, Some(3600));
    assert_eq!(r.server_id, None);
    assert_eq!(r.malformed_options, 1);
    // A code with no length byte at the very end.
    let r = parse(&raw(&[53, 1, 5, 54])).unwrap();
    assert_eq!(r.message_type, Some(MessageType::Ack));
    assert_eq!(r.malformed_options, 1);
    // Wrong lengths: zero-length router, 3-byte mask, 2-byte lease, 2-byte type, 5-byte DNS.
    let r = parse(&raw(&[
        3, 0, 1, 3, 255, 255, 0, 51, 2, 1, 1, 53, 2, 5, 5, 6, 5, 1, 2, 3, 4, 5, 255,
    ]))
    .unwrap();
    assert_eq!(r.router, None);
    assert_eq!(r.subnet_mask, None);
    assert_eq!(r.lease_secs, None);
    assert_eq!(r.message_type, None, "a 2-byte message type is not trusted");
    assert!(r.dns.is_empty());
    assert_eq!(r.malformed_options, 5);
    // Unknown message type value.
    assert_eq!(parse(&raw(&[53, 1, 99, 255])).unwrap().message_type, None);
}

#[test]
fn rfc2132_first_well_formed_scalar_wins() {
    let r = parse(&raw(&[
        54, 3, 1, 1, 1, 54, 4, 10, 0, 0, 9, 54, 4, 10, 0, 0, 8, 255,
    ]))
    .unwrap();
    assert_eq!(r.server_id, Some(Ipv4Addr::new(10, 0, 0, 9)));
    assert_eq!(r.malformed_options, 1);
}

#[test]
fn rfc2132_3_8_dns_list_bounded_filtered_and_concatenated() {
    let mut o = vec![6, 24];
    for i in 1..=6u8 {
        o.extend_from_slice(&[10, 0, 0, i]);
    }
    let r = parse(&raw(&o)).unwrap();
    assert_eq!(r.dns.len(), 4, "kept up to MAX_DNS");
    assert_eq!(r.dns[3], Ipv4Addr::new(10, 0, 0, 4));
    // 0.0.0.0 and broadcast entries skipped; split over two instances (RFC 3396).
    let r = parse(&raw(&[
        6, 8, 0, 0, 0, 0, 1, 1, 1, 1, 6, 8, 255, 255, 255, 255, 9, 9, 9, 9,
    ]))
    .unwrap();
    assert_eq!(
        r.dns.as_slice(),
        &[Ipv4Addr::new(1, 1, 1, 1), Ipv4Addr::new(9, 9, 9, 9)]
    );
    // Router: the first usable entry.
    let r = parse(&raw(&[3, 8, 0, 0, 0, 0, 10, 0, 0, 1])).unwrap();
    assert_eq!(r.router, Some(Ipv4Addr::new(10, 0, 0, 1)));
}

#[test]
fn rfc2132_3_17_domain_name_cleanup_and_limits() {
    let r = parse(&raw(&[
        15, 9, b's', b'i', b'm', b'.', b'l', b'a', b'n', b'.', 0,
    ]))
    .unwrap();
    assert_eq!(
        r.domain.as_deref(),
        Some("sim.lan"),
        "trailing dot and NUL removed"
    );
    let r = parse(&raw(&[15, 3, b'e', b'x', b'.', 15, 3, b'o', b'r', b'g'])).unwrap();
    assert_eq!(
        r.domain.as_deref(),
        Some("ex.org"),
        "concatenated (RFC 3396)"
    );
    let mut o = vec![15, 100];
    o.extend(std::iter::repeat_n(b'a', 100));
    assert_eq!(
        parse(&raw(&o)).unwrap().domain,
        None,
        "too long: dropped, not cut"
    );
    assert_eq!(
        parse(&raw(&[15, 3, b'a', b' ', b'b'])).unwrap().domain,
        None
    );
    assert_eq!(parse(&raw(&[15, 0])).unwrap().domain, None);
}

#[test]
fn rfc2132_9_3_option_overload_reads_file_then_sname() {
    let mut b = raw(&[53, 1, 5, 52, 1, 3, 54, 4, 10, 77, 0, 1, 255]);
    // file (108..236): router and lease; sname (44..108): domain and a second router.
    let file = [3, 4, 10, 77, 0, 9, 51, 4, 0, 0, 0, 120, 255];
    b[108..108 + file.len()].copy_from_slice(&file);
    let sname = [15, 3, b'l', b'a', b'n', 3, 4, 10, 77, 0, 8, 255];
    b[44..44 + sname.len()].copy_from_slice(&sname);
    let r = parse(&b).unwrap();
    assert_eq!(r.overload, 3);
    assert_eq!(
        r.router,
        Some(Ipv4Addr::new(10, 77, 0, 9)),
        "file is read before sname"
    );
    assert_eq!(r.lease_secs, Some(120));
    assert_eq!(r.domain.as_deref(), Some("lan"));
    // Overload = 1: sname is a plain server name and is not parsed.
    b[245] = 1;
    let r = parse(&b).unwrap();
    assert_eq!(r.overload, 1);
    assert_eq!(r.domain, None);
    // No overload option: neither field is parsed.
    let mut c = raw(&[53, 1, 5, 255]);
    c[108..108 + file.len()].copy_from_slice(&file);
    let r = parse(&c).unwrap();
    assert_eq!((r.overload, r.router), (0, None));
    // Overload found only inside the file field is ignored (RFC 2132 §9.3: main area).
    let mut d = raw(&[53, 1, 5, 52, 1, 1, 255]);
    d[108..114].copy_from_slice(&[52, 1, 2, 15, 1, b'x']);
    d[44..49].copy_from_slice(&[15, 3, b'b', b'a', b'd']);
    let r = parse(&d).unwrap();
    assert_eq!(r.domain.as_deref(), Some("x"));
    // Invalid overload value: ignored.
    assert_eq!(parse(&raw(&[52, 1, 7])).unwrap().overload, 0);
}

#[test]
fn rfc2131_build_requests_decode_with_an_independent_codec() {
    let cid = [1, 2, 3, 4, 5, 6, 7];
    let host = "h".repeat(wire::HOSTNAME_MAX);
    let long_cid = [9u8; wire::CLIENT_ID_MAX];
    let req = Request {
        message_type: MessageType::Request,
        xid: 0xdead_beef,
        secs: 7,
        broadcast: true,
        ciaddr: Ipv4Addr::new(10, 0, 0, 5),
        mac: MAC,
        client_id: &long_cid,
        requested_ip: Some(IP1),
        server_id: Some(S1),
        hostname: Some(&host),
        max_message_size: Some(576),
        parameter_request: true,
    };
    let mut buf = [0u8; MAX_REQUEST_LEN];
    let n = wire::build(&req, &mut buf).unwrap();
    assert_eq!(
        n, MAX_REQUEST_LEN,
        "the largest message fills the documented bound exactly"
    );
    assert!(
        wire::build(&req, &mut buf[..n - 1]).is_none(),
        "short buffer: None, no panic"
    );
    let m = DhcpMessage::decode(&buf[..n]).unwrap();
    assert_eq!((m.op, m.xid, m.secs), (1, 0xdead_beef, 7));
    assert!(m.broadcast_flag());
    assert_eq!(m.ciaddr, Ipv4Addr::new(10, 0, 0, 5));
    assert_eq!(m.option(opt::HOST_NAME).unwrap().len(), 63);
    assert_eq!(m.option(opt::CLIENT_ID), Some(&long_cid[..]));
    assert_eq!(m.option_ip(opt::REQUESTED_IP), Some(IP1));
    assert_eq!(m.options[0].0, opt::MSG_TYPE, "message type first");
    // Minimal message is padded to 300 bytes.
    let small = Request {
        hostname: None,
        client_id: &cid,
        requested_ip: None,
        server_id: None,
        parameter_request: false,
        max_message_size: None,
        ..req
    };
    let n = wire::build(&small, &mut buf).unwrap();
    assert_eq!(n, 300);
    assert_eq!(buf[236..240], wire::MAGIC_COOKIE);
}
