//! `getaddrinfo` for the DNS offload: the C ABI's hints and results around
//! [`w5500_iface::Iface::getaddrinfo`], which answers numeric hosts and services itself
//! (RFC 3493 §6.1: `AI_PASSIVE`, `AI_NUMERICHOST`, `AI_NUMERICSERV`), and resolves names with
//! the driver's DNS client over the chip (RFC 1035: A records, CNAME chains, NXDOMAIN).

use w5500_iface::dns::gai::{flags, Protocol, SockType};
use w5500_iface::{AddrInfoList, GaiError, Hints};

use crate::abi::{
    W5500RsAddrinfo, W5500RsAiHints, W5500RsEai, W5500RsSockType, W5500RsSockaddr,
    W5500_RS_AI_CANONNAME, W5500_RS_AI_NUMERICHOST, W5500_RS_AI_NUMERICSERV, W5500_RS_AI_PASSIVE,
};

/// The resolver's hints from the C ABI's (the family was checked in C).
pub fn hints(h: W5500RsAiHints) -> Result<Hints, W5500RsEai> {
    const KNOWN: u32 = W5500_RS_AI_PASSIVE
        | W5500_RS_AI_NUMERICHOST
        | W5500_RS_AI_NUMERICSERV
        | W5500_RS_AI_CANONNAME;
    if h.flags & !KNOWN != 0 {
        return Err(W5500RsEai::BadFlags);
    }
    let mut f = 0;
    for (ours, theirs) in [
        (W5500_RS_AI_PASSIVE, flags::AI_PASSIVE),
        (W5500_RS_AI_NUMERICHOST, flags::AI_NUMERICHOST),
        (W5500_RS_AI_NUMERICSERV, flags::AI_NUMERICSERV),
        (W5500_RS_AI_CANONNAME, flags::AI_CANONNAME),
    ] {
        if h.flags & ours != 0 {
            f |= theirs;
        }
    }
    let socktype = match h.socktype {
        0 => SockType::Any,
        1 => SockType::Stream,
        2 => SockType::Dgram,
        _ => return Err(W5500RsEai::Socktype),
    };
    let protocol = match h.protocol {
        0 => Protocol::Any,
        6 => Protocol::Tcp,
        17 => Protocol::Udp,
        _ => return Err(W5500RsEai::Socktype),
    };
    Ok(Hints {
        flags: f,
        socktype,
        protocol,
        ..Hints::default()
    })
}

/// The C ABI's name for a resolver error.
pub fn eai(e: GaiError) -> W5500RsEai {
    match e {
        GaiError::BadFlags => W5500RsEai::BadFlags,
        GaiError::NoName => W5500RsEai::NoName,
        GaiError::Again => W5500RsEai::Again,
        GaiError::Fail => W5500RsEai::Fail,
        GaiError::Family => W5500RsEai::Family,
        GaiError::SockType => W5500RsEai::Socktype,
        GaiError::Service => W5500RsEai::Service,
        GaiError::Memory => W5500RsEai::Memory,
        GaiError::System => W5500RsEai::System,
    }
}

/// Copy `list` into `out`; returns how many were written (the rest is cut off: `out` is
/// sized for the resolver's maximum, so nothing is lost in practice).
pub fn fill(list: &AddrInfoList, out: &mut [W5500RsAddrinfo]) -> usize {
    let mut n = 0;
    for (slot, e) in out.iter_mut().zip(list.entries.iter()) {
        let socktype = match e.socktype {
            SockType::Dgram => W5500RsSockType::Datagram,
            _ => W5500RsSockType::Stream,
        };
        *slot = W5500RsAddrinfo {
            addr: W5500RsSockaddr {
                addr: e.addr.ip().octets(),
                port: e.addr.port(),
            },
            socktype: socktype as u8,
        };
        n += 1;
    }
    n
}

/// Turn C strings into the resolver's `&str` arguments (`None` for NULL; invalid UTF-8 is
/// a name that cannot exist).
pub fn text(b: Option<&[u8]>) -> Result<Option<&str>, W5500RsEai> {
    b.map(|b| core::str::from_utf8(b).map_err(|_| W5500RsEai::NoName))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3493_hint_flags_map_and_unknown_bits_are_badflags() {
        let h = hints(W5500RsAiHints {
            socktype: 2,
            flags: W5500_RS_AI_PASSIVE | W5500_RS_AI_NUMERICSERV,
            protocol: 17,
        })
        .unwrap();
        assert_eq!(h.flags, flags::AI_PASSIVE | flags::AI_NUMERICSERV);
        assert_eq!(h.socktype, SockType::Dgram);
        assert_eq!(h.protocol, Protocol::Udp);
        assert_eq!(
            hints(W5500RsAiHints {
                flags: 0x100,
                ..Default::default()
            }),
            Err(W5500RsEai::BadFlags)
        );
        assert_eq!(
            hints(W5500RsAiHints {
                socktype: 3,
                ..Default::default()
            }),
            Err(W5500RsEai::Socktype)
        );
        assert_eq!(
            hints(W5500RsAiHints {
                protocol: 1,
                ..Default::default()
            }),
            Err(W5500RsEai::Socktype)
        );
    }

    #[test]
    fn every_gai_error_has_a_distinct_abi_name() {
        let all = [
            GaiError::BadFlags,
            GaiError::NoName,
            GaiError::Again,
            GaiError::Fail,
            GaiError::Family,
            GaiError::SockType,
            GaiError::Service,
            GaiError::Memory,
            GaiError::System,
        ];
        let mut names: Vec<i32> = all.iter().map(|e| eai(*e) as i32).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
        assert_eq!(eai(GaiError::NoName), W5500RsEai::NoName);
    }
}
