//! `getaddrinfo` for the DNS offload: numeric hosts and services, the `AI_PASSIVE` and
//! `AI_NUMERIC*` rules (RFC 3493 §6.1), one result per socket type asked for.
//!
//! Name lookups need the driver's DNS client, which lives in the interface layer
//! (`w5500-iface`); until it is plugged in, a name that is not numeric fails with
//! [`W5500RsEai::Fail`]. TODO(iface): resolve names with `Iface::getaddrinfo`.

use core::net::Ipv4Addr;
use core::str::FromStr;

use crate::abi::{
    W5500RsAddrinfo, W5500RsAiHints, W5500RsEai, W5500RsSockType, W5500RsSockaddr,
    W5500_RS_AI_NUMERICHOST, W5500_RS_AI_NUMERICSERV, W5500_RS_AI_PASSIVE,
};

/// Parse `service` as a port: decimal 0..=65535. Names are not supported (there is no
/// services database on the chip).
fn port(service: Option<&[u8]>, flags: u32) -> Result<u16, W5500RsEai> {
    let Some(s) = service else {
        return Ok(0);
    };
    let text = core::str::from_utf8(s).map_err(|_| W5500RsEai::Service)?;
    match u16::from_str(text) {
        Ok(p) if !text.starts_with('+') => Ok(p),
        _ if flags & W5500_RS_AI_NUMERICSERV != 0 => Err(W5500RsEai::NoName),
        _ => Err(W5500RsEai::Service),
    }
}

/// What `node` names, if it can be known without DNS.
fn host(node: Option<&[u8]>, flags: u32) -> Result<Option<Ipv4Addr>, W5500RsEai> {
    let Some(n) = node else {
        return Ok(Some(if flags & W5500_RS_AI_PASSIVE != 0 {
            Ipv4Addr::UNSPECIFIED
        } else {
            Ipv4Addr::LOCALHOST
        }));
    };
    let text = core::str::from_utf8(n).map_err(|_| W5500RsEai::NoName)?;
    match Ipv4Addr::from_str(text) {
        Ok(a) => Ok(Some(a)),
        Err(_) if flags & W5500_RS_AI_NUMERICHOST != 0 => Err(W5500RsEai::NoName),
        Err(_) if text.is_empty() => Err(W5500RsEai::NoName),
        Err(_) => Ok(None),
    }
}

/// Resolve without the network. `Ok(n)`: `out[..n]` filled. A name that needs DNS gives
/// [`W5500RsEai::Fail`] (see the module docs).
pub fn resolve_numeric(
    node: Option<&[u8]>,
    service: Option<&[u8]>,
    hints: W5500RsAiHints,
    out: &mut [W5500RsAddrinfo],
) -> Result<usize, W5500RsEai> {
    const KNOWN: u32 = W5500_RS_AI_PASSIVE | W5500_RS_AI_NUMERICHOST | W5500_RS_AI_NUMERICSERV;
    if hints.flags & !KNOWN != 0 {
        return Err(W5500RsEai::BadFlags);
    }
    if node.is_none() && service.is_none() {
        return Err(W5500RsEai::NoName);
    }
    let socktype = match hints.socktype {
        0 => W5500RsSockType::Stream,
        1 => W5500RsSockType::Stream,
        2 => W5500RsSockType::Datagram,
        _ => return Err(W5500RsEai::Socktype),
    };
    let port = port(service, hints.flags)?;
    let addr = host(node, hints.flags)?.ok_or(W5500RsEai::Fail)?;
    let slot = out.first_mut().ok_or(W5500RsEai::Memory)?;
    *slot = W5500RsAddrinfo {
        addr: W5500RsSockaddr {
            addr: addr.octets(),
            port,
        },
        socktype: socktype as u8,
    };
    Ok(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(
        node: Option<&str>,
        svc: Option<&str>,
        socktype: u8,
        flags: u32,
    ) -> Result<W5500RsAddrinfo, W5500RsEai> {
        let mut out = [W5500RsAddrinfo::default(); 2];
        let n = resolve_numeric(
            node.map(str::as_bytes),
            svc.map(str::as_bytes),
            W5500RsAiHints { socktype, flags },
            &mut out,
        )?;
        assert_eq!(n, 1);
        Ok(out[0])
    }

    #[test]
    fn rfc3493_numeric_host_and_service() {
        let r = one(Some("10.77.0.11"), Some("7"), 2, 0).unwrap();
        assert_eq!(
            r.addr,
            W5500RsSockaddr {
                addr: [10, 77, 0, 11],
                port: 7
            }
        );
        assert_eq!(r.socktype, W5500RsSockType::Datagram as u8);
        // Unspecified socket type: stream, as Zephyr's own resolver answers.
        assert_eq!(one(Some("1.2.3.4"), None, 0, 0).unwrap().socktype, 1);
    }

    #[test]
    fn rfc3493_null_node_passive_is_any_else_loopback() {
        let r = one(None, Some("80"), 1, W5500_RS_AI_PASSIVE).unwrap();
        assert_eq!(r.addr.addr, [0, 0, 0, 0]);
        let r = one(None, Some("80"), 1, 0).unwrap();
        assert_eq!(r.addr.addr, [127, 0, 0, 1]);
        assert_eq!(one(None, None, 0, 0), Err(W5500RsEai::NoName));
    }

    #[test]
    fn rfc3493_service_and_flag_errors() {
        assert_eq!(
            one(Some("1.2.3.4"), Some("http"), 0, 0),
            Err(W5500RsEai::Service)
        );
        assert_eq!(
            one(Some("1.2.3.4"), Some("70000"), 0, 0),
            Err(W5500RsEai::Service)
        );
        assert_eq!(
            one(Some("1.2.3.4"), Some("http"), 0, W5500_RS_AI_NUMERICSERV),
            Err(W5500RsEai::NoName)
        );
        assert_eq!(
            one(Some("www.sim.lan"), None, 0, W5500_RS_AI_NUMERICHOST),
            Err(W5500RsEai::NoName)
        );
        assert_eq!(one(Some("1.2.3.4"), None, 3, 0), Err(W5500RsEai::Socktype));
        assert_eq!(
            one(Some("1.2.3.4"), None, 0, 0x100),
            Err(W5500RsEai::BadFlags)
        );
        // A real name needs the DNS client (TODO(iface)).
        assert_eq!(
            one(Some("www.sim.lan"), Some("80"), 0, 0),
            Err(W5500RsEai::Fail)
        );
    }
}
