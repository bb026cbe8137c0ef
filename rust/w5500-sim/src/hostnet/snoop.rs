//! What HostNet learns from the DHCP replies it hands to the chip.
//!
//! A chip configured by DHCP may stay silent after its lease is bound (a server waiting for
//! connections), so HostNet cannot learn the chip's address from the chip's own frames before
//! the first forwarded connection arrives. The address is in the DHCPACK that HostNet itself
//! delivered: `yiaddr` of a BOOTREPLY carrying DHCP message type 5 (RFC 2131 §3.1, §4.3.1;
//! RFC 2132 §9.6).

use std::net::Ipv4Addr;

/// The DHCP magic cookie (RFC 2131 §3).
const MAGIC: [u8; 4] = [99, 130, 83, 99];
/// Offset of `yiaddr` in the BOOTP header (RFC 2131 §2, figure 1).
const YIADDR: usize = 16;
/// Offset of the magic cookie, right after the 236-byte fixed header.
const COOKIE: usize = 236;

/// The address a DHCPACK assigns: `yiaddr` when `payload` is a BOOTREPLY (op 2) with the magic
/// cookie, a non-zero `yiaddr` and option 53 (message type) = 5 (ACK); `None` for anything
/// else, including truncated or malformed options (never a panic).
///
/// ```
/// use std::net::Ipv4Addr;
/// use w5500_sim::hostnet::dhcp_ack_yiaddr;
///
/// let mut ack = vec![0u8; 240];
/// ack[0] = 2; // BOOTREPLY
/// ack[16..20].copy_from_slice(&[10, 77, 0, 115]);
/// ack[236..240].copy_from_slice(&[99, 130, 83, 99]);
/// ack.extend_from_slice(&[53, 1, 5, 255]); // DHCPACK
/// assert_eq!(dhcp_ack_yiaddr(&ack), Some(Ipv4Addr::new(10, 77, 0, 115)));
/// ack[242] = 2; // DHCPOFFER: nothing assigned yet
/// assert_eq!(dhcp_ack_yiaddr(&ack), None);
/// ```
pub fn dhcp_ack_yiaddr(payload: &[u8]) -> Option<Ipv4Addr> {
    if payload.first() != Some(&2) || payload.get(COOKIE..COOKIE + 4)? != MAGIC {
        return None;
    }
    let y = payload.get(YIADDR..YIADDR + 4)?;
    let ip = Ipv4Addr::new(*y.first()?, *y.get(1)?, *y.get(2)?, *y.get(3)?);
    if ip.is_unspecified() || ip.is_broadcast() {
        return None;
    }
    // Options (RFC 2132 §2): pad 0, end 255, else code, length, value. The index only grows.
    let mut i = COOKIE + 4;
    while let Some(&code) = payload.get(i) {
        match code {
            0 => i += 1,
            255 => return None,
            _ => {
                let len = usize::from(*payload.get(i + 1)?);
                let value = payload.get(i + 2..i + 2 + len)?;
                if code == 53 {
                    return (value == [5]).then_some(ip);
                }
                i += 2 + len;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(op: u8, yiaddr: [u8; 4], options: &[u8]) -> Vec<u8> {
        let mut p = vec![0u8; 240];
        p[0] = op;
        p[YIADDR..YIADDR + 4].copy_from_slice(&yiaddr);
        p[COOKIE..COOKIE + 4].copy_from_slice(&MAGIC);
        p.extend_from_slice(options);
        p
    }

    /// RFC 2131 §3.1 step 5: the DHCPACK carries the committed address in `yiaddr`; padding
    /// and other options before option 53 are skipped (RFC 2132 §3.1 pad, §9.6 type).
    #[test]
    fn rfc2131_ack_gives_yiaddr() {
        let ack = reply(
            2,
            [10, 77, 0, 115],
            &[0, 0, 1, 4, 255, 255, 255, 0, 53, 1, 5, 255],
        );
        assert_eq!(dhcp_ack_yiaddr(&ack), Some(Ipv4Addr::new(10, 77, 0, 115)));
    }

    /// Only an ACK assigns: OFFER (2), NAK (6), a BOOTREQUEST, no type, no cookie, a zero or
    /// broadcast yiaddr, truncated headers and options all give None.
    #[test]
    fn rfc2131_anything_else_gives_none() {
        let ip = [10, 77, 0, 115];
        for p in [
            reply(2, ip, &[53, 1, 2, 255]),
            reply(2, ip, &[53, 1, 6, 255]),
            reply(1, ip, &[53, 1, 5, 255]),
            reply(2, ip, &[1, 4, 255, 255, 255, 0, 255]),
            reply(2, ip, &[255, 53, 1, 5]),
            reply(2, [0, 0, 0, 0], &[53, 1, 5, 255]),
            reply(2, [255, 255, 255, 255], &[53, 1, 5, 255]),
            reply(2, ip, &[53, 2, 5, 5, 255]),
            reply(2, ip, &[53]),
            reply(2, ip, &[53, 9, 5]),
            reply(2, ip, &[]),
        ] {
            assert_eq!(dhcp_ack_yiaddr(&p), None, "{:?}", &p[240..]);
        }
        let mut no_cookie = reply(2, ip, &[53, 1, 5, 255]);
        no_cookie[COOKIE] = 0;
        assert_eq!(dhcp_ack_yiaddr(&no_cookie), None);
        assert_eq!(dhcp_ack_yiaddr(&[2; 100]), None);
        assert_eq!(dhcp_ack_yiaddr(&[]), None);
    }
}
