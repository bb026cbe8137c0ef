//! The DNS message parser against hand-built packets: names, compression limits, the answer
//! section, and strict numeric addresses.

mod support;

use std::net::Ipv4Addr;

use support::dns::*;
use w5500_netsvc::dns::name::{looks_numeric, parse_dotted_quad, Name, NameError};
use w5500_netsvc::dns::wire::{
    self, check_reply, extract, read_name, ExtractError, ParseError, Reject, MAX_CNAME_HOPS,
};

fn n(s: &str) -> Name {
    Name::from_text(s).unwrap()
}

#[test]
fn rfc1035_2_3_4_name_limits_from_text() {
    assert_eq!(
        n("www.example.org").as_wire(),
        &wname("www.example.org")[..]
    );
    assert_eq!(
        n("www.example.org."),
        n("WWW.Example.ORG"),
        "RFC 4343 case-insensitive"
    );
    assert_eq!(Name::from_text(""), Err(NameError::Empty));
    assert_eq!(Name::from_text("."), Err(NameError::Empty));
    assert_eq!(Name::from_text("a..b"), Err(NameError::EmptyLabel));
    assert_eq!(Name::from_text(".a"), Err(NameError::EmptyLabel));
    let l63 = "a".repeat(63);
    assert!(Name::from_text(&l63).is_ok());
    assert_eq!(
        Name::from_text(&"a".repeat(64)),
        Err(NameError::LabelTooLong)
    );
    // 4 labels of 63 = 4*64 + 1 = 257 bytes > 255.
    let long = [l63.as_str(); 4].join(".");
    assert_eq!(Name::from_text(&long), Err(NameError::TooLong));
    // 3*64 + 61 + 1 + 1 = 255 exactly: fits.
    let max = format!("{l63}.{l63}.{l63}.{}", "b".repeat(61));
    assert_eq!(Name::from_text(&max).unwrap().as_wire().len(), 255);
    let over = format!("{l63}.{l63}.{l63}.{}", "b".repeat(62));
    assert_eq!(Name::from_text(&over), Err(NameError::TooLong));
}

#[test]
fn rfc1035_5_1_display_escapes_odd_bytes() {
    let mut msg = header(0, 0, 0, 0, 0, 0);
    msg.extend_from_slice(&[3, b'a', b'.', 0x07, 2, b'o', b'k', 0]);
    let mut name = Name::root();
    read_name(&msg, 12, &mut name).unwrap();
    assert_eq!(name.to_string(), "a\\.\\007.ok");
    assert_eq!(n("Host.Example").to_string(), "Host.Example");
}

#[test]
fn dotted_quad_is_strict() {
    assert_eq!(
        parse_dotted_quad("10.77.0.10"),
        Some(Ipv4Addr::new(10, 77, 0, 10))
    );
    assert_eq!(parse_dotted_quad("0.0.0.0"), Some(Ipv4Addr::UNSPECIFIED));
    assert_eq!(
        parse_dotted_quad("255.255.255.255"),
        Some(Ipv4Addr::BROADCAST)
    );
    for bad in [
        "1.2.3",
        "1.2.3.4.5",
        "256.1.1.1",
        "+1.2.3.4",
        "1.2.3.-4",
        " 1.2.3.4",
        "1.2.3.4 ",
        "010.0.0.1",
        "1..3.4",
        "1.2.3.4.",
        "0x1.2.3.4",
        "1.2.3.1000",
        "",
        "....",
    ] {
        assert_eq!(parse_dotted_quad(bad), None, "{bad:?}");
    }
    assert!(looks_numeric("1.2.3"));
    assert!(looks_numeric("256.1.1.1"));
    assert!(!looks_numeric("1.2.3.example"));
}

#[test]
fn rfc1035_4_1_4_compression_pointer_backwards_is_followed() {
    // Question name at 12, answer owner is a pointer to it, CNAME target "www" + pointer
    // to the "example.org" suffix at 12+4.
    let qname = "www.example.org";
    let mut owner = vec![0xc0, 12];
    let mut target = vec![3, b'f', b'o', b'o', 0xc0, 16];
    let a = rr(&owner, 5, 60, &target);
    owner = vec![3, b'f', b'o', b'o', 0xc0, 16];
    target = vec![10, 0, 0, 1];
    let a2 = rr(&owner, 1, 30, &target);
    let msg = reply(7, 0, qname, &[a, a2], &[]);
    let hdr = check_reply(&msg, 7, &n(qname)).unwrap();
    let x = extract(&msg, &hdr, &n(qname), MAX_CNAME_HOPS).unwrap();
    assert_eq!(x.final_name, n("foo.example.org"));
    assert_eq!(x.addrs.as_slice(), &[Ipv4Addr::new(10, 0, 0, 1)]);
    assert_eq!(x.hops, 1);
    assert_eq!(x.min_ttl, 30, "RFC 2181 §5.2 smallest TTL of the chain");
}

#[test]
fn rfc1035_4_1_4_pointer_loops_and_forward_pointers_rejected() {
    let mut name = Name::root();
    // Self-pointer at 12.
    let mut msg = header(0, 0, 0, 0, 0, 0);
    msg.extend_from_slice(&[0xc0, 12]);
    assert_eq!(read_name(&msg, 12, &mut name), Err(ParseError::BadPointer));
    // Forward pointer.
    let mut msg = header(0, 0, 0, 0, 0, 0);
    msg.extend_from_slice(&[0xc0, 14, 1, b'a', 0]);
    assert_eq!(read_name(&msg, 12, &mut name), Err(ParseError::BadPointer));
    // Label then a pointer back into the same name (a two-step loop "a" -> 12 -> "a" ...).
    let mut msg = header(0, 0, 0, 0, 0, 0);
    msg.extend_from_slice(&[1, b'a', 0xc0, 12]);
    assert_eq!(read_name(&msg, 12, &mut name), Err(ParseError::BadPointer));
    // Two names pointing at each other: name at 12 -> 16, name at 16 -> 12.
    let mut msg = header(0, 0, 0, 0, 0, 0);
    msg.extend_from_slice(&[1, b'a', 0xc0, 16, 1, b'b', 0xc0, 12]);
    assert_eq!(read_name(&msg, 12, &mut name), Err(ParseError::BadPointer));
    assert_eq!(read_name(&msg, 16, &mut name), Err(ParseError::BadPointer));
    // Pointer past the end.
    let mut msg = header(0, 0, 0, 0, 0, 0);
    msg.push(0xc0);
    assert_eq!(read_name(&msg, 12, &mut name), Err(ParseError::Truncated));
    // Reserved label types 0x40 and 0x80.
    for t in [0x40u8, 0x80] {
        let mut msg = header(0, 0, 0, 0, 0, 0);
        msg.extend_from_slice(&[t | 1, b'a', 0]);
        assert_eq!(
            read_name(&msg, 12, &mut name),
            Err(ParseError::BadLabelType)
        );
    }
}

#[test]
fn rfc1035_4_1_4_long_backward_pointer_chain_is_capped() {
    // 30 one-label names each pointing to the previous: valid backwards pointers, but a
    // name built from them exceeds the pointer limit (and 255 bytes is not reached).
    let mut msg = header(0, 0, 0, 0, 0, 0);
    msg.extend_from_slice(&[1, b'x', 0]);
    let mut prev = 12u16;
    for _ in 0..30 {
        let here = msg.len() as u16;
        msg.extend_from_slice(&[1, b'y']);
        msg.extend_from_slice(&(0xc000 | prev).to_be_bytes());
        prev = here;
    }
    let mut name = Name::root();
    assert_eq!(
        read_name(&msg, prev as usize, &mut name),
        Err(ParseError::BadPointer),
        "more than MAX_POINTERS pointers"
    );
    // A chain of 10 is fine.
    let ten = 12 + 3 + 4 * 9;
    read_name(&msg, ten, &mut name).unwrap();
    assert_eq!(name.labels().count(), 11);
}

#[test]
fn rfc1035_2_3_4_decompressed_name_over_255_rejected() {
    // 4 labels of 63 written once, then a name that repeats them via a pointer + 1 label.
    let mut msg = header(0, 0, 0, 0, 0, 0);
    for _ in 0..3 {
        msg.push(63);
        msg.extend_from_slice(&[b'a'; 63]);
    }
    msg.push(0);
    let mut name = Name::root();
    read_name(&msg, 12, &mut name).unwrap();
    assert_eq!(name.as_wire().len(), 193);
    let at = msg.len();
    msg.push(63);
    msg.extend_from_slice(&[b'b'; 63]);
    msg.extend_from_slice(&[0xc0, 12]);
    assert_eq!(read_name(&msg, at, &mut name), Err(ParseError::NameTooLong));
    // Truncated label.
    let mut msg = header(0, 0, 0, 0, 0, 0);
    msg.extend_from_slice(&[5, b'a', b'b']);
    assert_eq!(read_name(&msg, 12, &mut name), Err(ParseError::Truncated));
}

#[test]
fn rfc5452_9_1_reply_must_match_id_qr_opcode_question() {
    let q = n("host.example");
    let good = reply(
        0x1234,
        0,
        "HOST.example",
        &[a_rr("host.example", 5, Ipv4Addr::new(1, 2, 3, 4))],
        &[],
    );
    assert!(
        check_reply(&good, 0x1234, &q).is_ok(),
        "case-insensitive question"
    );
    assert_eq!(check_reply(&good, 0x1235, &q), Err(Reject::WrongId));
    let mut query = good.clone();
    query[2] &= 0x7f;
    assert_eq!(check_reply(&query, 0x1234, &q), Err(Reject::NotResponse));
    let mut op = good.clone();
    op[2] |= 0x10; // opcode 2 (STATUS)
    assert_eq!(check_reply(&op, 0x1234, &q), Err(Reject::WrongOpcode));
    let other = reply(0x1234, 0, "other.example", &[], &[]);
    assert_eq!(check_reply(&other, 0x1234, &q), Err(Reject::WrongQuestion));
    let mut aaaa = good.clone();
    let t = 12 + wname("host.example").len();
    aaaa[t + 1] = 28;
    assert_eq!(check_reply(&aaaa, 0x1234, &q), Err(Reject::WrongQuestion));
    let mut chaos = good.clone();
    chaos[t + 3] = 3;
    assert_eq!(check_reply(&chaos, 0x1234, &q), Err(Reject::WrongQuestion));
    let mut two_q = good.clone();
    two_q[5] = 2;
    assert_eq!(check_reply(&two_q, 0x1234, &q), Err(Reject::WrongQuestion));
    let no_q = header(0x1234, 0x8181, 0, 0, 0, 0);
    assert_eq!(check_reply(&no_q, 0x1234, &q), Err(Reject::WrongQuestion));
    assert!(matches!(
        check_reply(&good[..11], 0x1234, &q),
        Err(Reject::Malformed(_))
    ));
}

#[test]
fn rfc1034_3_6_2_cname_chain_in_any_order_and_limit() {
    let q = "a.example";
    // Records out of order: A of the end first, then the links backwards.
    let msg = reply(
        1,
        0,
        q,
        &[
            a_rr("c.example", 100, Ipv4Addr::new(10, 0, 0, 3)),
            cname_rr("b.example", 50, "c.example"),
            cname_rr("a.example", 200, "b.example"),
            a_rr("unrelated.example", 1, Ipv4Addr::new(6, 6, 6, 6)),
        ],
        &[],
    );
    let hdr = check_reply(&msg, 1, &n(q)).unwrap();
    let x = extract(&msg, &hdr, &n(q), MAX_CNAME_HOPS).unwrap();
    assert_eq!(x.final_name, n("c.example"));
    assert_eq!(
        x.addrs.as_slice(),
        &[Ipv4Addr::new(10, 0, 0, 3)],
        "unrelated A ignored"
    );
    assert_eq!(x.hops, 2);
    assert_eq!(x.min_ttl, 50);
    // Budget of one link: too many.
    assert_eq!(
        extract(&msg, &hdr, &n(q), 1),
        Err(ExtractError::TooManyCnames)
    );
    // A loop a -> b -> a.
    let lp = reply(
        2,
        0,
        q,
        &[
            cname_rr("a.example", 5, "b.example"),
            cname_rr("b.example", 5, "a.example"),
        ],
        &[],
    );
    let hdr = check_reply(&lp, 2, &n(q)).unwrap();
    assert_eq!(
        extract(&lp, &hdr, &n(q), MAX_CNAME_HOPS),
        Err(ExtractError::TooManyCnames)
    );
}

#[test]
fn rfc1035_3_4_1_a_records_capped_deduplicated_and_checked() {
    let q = "many.example";
    let mut answers: Vec<Vec<u8>> = (1..=10)
        .map(|i| a_rr(q, 60, Ipv4Addr::new(10, 0, 0, i)))
        .collect();
    answers.insert(1, a_rr(q, 60, Ipv4Addr::new(10, 0, 0, 1)));
    let msg = reply(3, 0, q, &answers, &[]);
    let hdr = check_reply(&msg, 3, &n(q)).unwrap();
    let x = extract(&msg, &hdr, &n(q), MAX_CNAME_HOPS).unwrap();
    assert_eq!(
        x.addrs.as_slice(),
        &[1, 2, 3, 4].map(|i| Ipv4Addr::new(10, 0, 0, i)),
        "first MAX_ADDRS distinct addresses"
    );
    // A record with RDLENGTH 5.
    let bad = reply(4, 0, q, &[rr(&wname(q), 1, 60, &[1, 2, 3, 4, 5])], &[]);
    let hdr = check_reply(&bad, 4, &n(q)).unwrap();
    assert_eq!(
        extract(&bad, &hdr, &n(q), MAX_CNAME_HOPS),
        Err(ExtractError::Parse(ParseError::BadRecord))
    );
    // ANCOUNT larger than the records present.
    let mut short = reply(5, 0, q, &[a_rr(q, 60, Ipv4Addr::new(1, 1, 1, 1))], &[]);
    short[7] = 3;
    let hdr = check_reply(&short, 5, &n(q)).unwrap();
    assert_eq!(
        extract(&short, &hdr, &n(q), MAX_CNAME_HOPS),
        Err(ExtractError::Parse(ParseError::Truncated))
    );
    // RDLENGTH running past the end.
    let mut over = reply(6, 0, q, &[a_rr(q, 60, Ipv4Addr::new(1, 1, 1, 1))], &[]);
    let l = over.len();
    over[l - 5] = 200;
    let hdr = check_reply(&over, 6, &n(q)).unwrap();
    assert!(extract(&over, &hdr, &n(q), MAX_CNAME_HOPS).is_err());
    // Class CH records are ignored.
    let mut ch = a_rr(q, 60, Ipv4Addr::new(9, 9, 9, 9));
    let c = wname(q).len() + 3;
    ch[c] = 3;
    let msg = reply(7, 0, q, &[ch], &[]);
    let hdr = check_reply(&msg, 7, &n(q)).unwrap();
    assert!(extract(&msg, &hdr, &n(q), MAX_CNAME_HOPS)
        .unwrap()
        .addrs
        .is_empty());
}

#[test]
fn rfc2181_8_ttl_with_top_bit_is_zero() {
    let q = "t.example";
    let msg = reply(
        1,
        0,
        q,
        &[a_rr(q, 0x8000_0001, Ipv4Addr::new(1, 2, 3, 4))],
        &[],
    );
    let hdr = check_reply(&msg, 1, &n(q)).unwrap();
    assert_eq!(extract(&msg, &hdr, &n(q), 8).unwrap().min_ttl, 0);
}

#[test]
fn rfc2308_5_soa_gives_negative_ttl() {
    let q = "gone.example";
    let msg = reply(1, 3, q, &[], &[soa_rr("example", 900, 120)]);
    let hdr = check_reply(&msg, 1, &n(q)).unwrap();
    assert_eq!(hdr.rcode, 3);
    assert_eq!(
        extract(&msg, &hdr, &n(q), 8).unwrap().negative_ttl,
        Some(120)
    );
    let msg = reply(1, 3, q, &[], &[soa_rr("example", 30, 120)]);
    let hdr = check_reply(&msg, 1, &n(q)).unwrap();
    assert_eq!(
        extract(&msg, &hdr, &n(q), 8).unwrap().negative_ttl,
        Some(30),
        "min(SOA TTL, MINIMUM)"
    );
    let msg = reply(1, 3, q, &[], &[]);
    let hdr = check_reply(&msg, 1, &n(q)).unwrap();
    assert_eq!(extract(&msg, &hdr, &n(q), 8).unwrap().negative_ttl, None);
}

#[test]
fn rfc1035_4_1_1_query_format() {
    let mut out = heapless::Vec::new();
    wire::build_query(0xbeef, &n("Www.Example.org"), &mut out).unwrap();
    let mut expect = header(0xbeef, 0x0100, 1, 0, 0, 0);
    expect.extend_from_slice(&wname("Www.Example.org"));
    expect.extend_from_slice(&[0, 1, 0, 1]);
    assert_eq!(out.as_slice(), &expect[..]);
}

#[test]
fn fuzz_entry_point_survives_hostile_inputs() {
    // Deterministic pseudo-random bytes plus mutations of a valid reply; must not panic.
    let mut x: u64 = 0x1234_5678;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let base = reply(
        9,
        0,
        "a.example",
        &[
            cname_rr("a.example", 5, "b.example"),
            a_rr("b.example", 5, Ipv4Addr::new(1, 1, 1, 1)),
        ],
        &[soa_rr("example", 5, 5)],
    );
    for i in 0..3000 {
        let mut m = if i % 2 == 0 {
            base.clone()
        } else {
            (0..(next() % 300) as usize).map(|_| next() as u8).collect()
        };
        for _ in 0..(next() % 6) {
            if !m.is_empty() {
                let at = (next() as usize) % m.len();
                m[at] = next() as u8;
            }
        }
        w5500_netsvc::dns::fuzz_parse(&m);
    }
    w5500_netsvc::dns::fuzz_parse(&[]);
    w5500_netsvc::dns::fuzz_parse(&[0xc0; 600]);
}
