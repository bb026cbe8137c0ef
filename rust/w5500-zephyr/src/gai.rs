//! `getaddrinfo` for the DNS offload: the C ABI's hints and results around
//! [`w5500_iface::Iface::getaddrinfo`], which answers numeric hosts and services itself
//! (RFC 3493 §6.1: `AI_PASSIVE`, `AI_NUMERICHOST`, `AI_NUMERICSERV`), and resolves names with
//! the driver's DNS client over the chip (RFC 1035: A records, CNAME chains, NXDOMAIN).

use w5500_iface::dns::gai::{Family, Protocol, SockType};
use w5500_iface::{AddrInfoList, GaiError, Hints};

use crate::abi::{
    W5500RsAddrinfo, W5500RsAiHints, W5500RsEai, W5500RsFamily, W5500RsSockType, W5500RsSockaddr,
};

/// The resolver's hints from the C ABI's: a plain conversion (the values are checked once,
/// by `GaiRequest::new`).
pub fn hints(h: W5500RsAiHints) -> Hints {
    let family = match h.family {
        f if f == W5500RsFamily::Unspec as u8 => Family::Unspec,
        f if f == W5500RsFamily::Inet as u8 => Family::Inet,
        f if f == W5500RsFamily::Inet6 as u8 => Family::Inet6,
        f => Family::Other(i32::from(f)),
    };
    let socktype = match h.socktype {
        0 => SockType::Any,
        1 => SockType::Stream,
        2 => SockType::Dgram,
        n => SockType::Other(n),
    };
    let protocol = match h.protocol {
        0 => Protocol::Any,
        6 => Protocol::Tcp,
        17 => Protocol::Udp,
        n => Protocol::Other(n),
    };
    Hints {
        flags: h.flags,
        family,
        socktype,
        protocol,
    }
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
    use crate::abi::{W5500_RS_AI_NUMERICSERV, W5500_RS_AI_PASSIVE};
    use w5500_iface::dns::gai::flags;

    /// The C ABI's hints become the resolver's unchanged (RFC 3493 §6.1 values): nothing is
    /// decided here, so an unknown type or protocol reaches the resolver's checks as is.
    #[test]
    fn rfc3493_hints_are_passed_through_for_one_check() {
        let h = hints(W5500RsAiHints {
            family: W5500RsFamily::Inet as u8,
            socktype: 2,
            flags: W5500_RS_AI_PASSIVE | W5500_RS_AI_NUMERICSERV | 0x1000,
            protocol: 17,
        });
        assert_eq!(h.flags, flags::AI_PASSIVE | flags::AI_NUMERICSERV | 0x1000);
        assert_eq!(h.family, Family::Inet);
        assert_eq!(h.socktype, SockType::Dgram);
        assert_eq!(h.protocol, Protocol::Udp);
        let h = hints(W5500RsAiHints {
            family: W5500RsFamily::Other as u8,
            socktype: 3,
            flags: 0,
            protocol: 1,
        });
        assert_eq!(h.family, Family::Other(3));
        assert_eq!(h.socktype, SockType::Other(3));
        assert_eq!(h.protocol, Protocol::Other(1));
        assert_eq!(hints(W5500RsAiHints::default()), Hints::default());
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
