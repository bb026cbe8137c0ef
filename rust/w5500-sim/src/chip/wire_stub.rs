//! STAND-IN for `crate::wire` while that module is still a placeholder in this branch.
//!
//! Same signatures as `crate::wire::encode` / `crate::wire::decode`, but it only knows the
//! Ethernet II header: bodies other than [`Body::Other`] encode as their EtherType with an
//! empty payload, and everything decodes to [`Body::Other`]. Once the real `wire.rs` is merged,
//! replace `use super::wire_stub as wire;` in `engine.rs` by `use crate::wire;` and delete this file.

use alloc::vec::Vec;

use crate::net::{Body, Frame, MacAddr};

/// Why bytes are not a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WireError;

/// The bytes of an Ethernet II frame (no FCS).
pub fn encode(frame: &Frame) -> Vec<u8> {
    let mut v = Vec::with_capacity(64);
    v.extend_from_slice(&frame.dst.0);
    v.extend_from_slice(&frame.src.0);
    match &frame.body {
        Body::Other { ethertype, payload } => {
            v.extend_from_slice(&ethertype.to_be_bytes());
            v.extend_from_slice(payload);
        }
        Body::Arp(_) => v.extend_from_slice(&0x0806u16.to_be_bytes()),
        Body::Ipv4(_) => v.extend_from_slice(&0x0800u16.to_be_bytes()),
    }
    v
}

/// Parse an Ethernet II frame (no FCS); the body is kept as bytes.
pub fn decode(data: &[u8]) -> Result<Frame, WireError> {
    let (Some(d), Some(s), Some(t)) = (data.get(0..6), data.get(6..12), data.get(12..14)) else {
        return Err(WireError);
    };
    let mut dst = [0u8; 6];
    dst.copy_from_slice(d);
    let mut src = [0u8; 6];
    src.copy_from_slice(s);
    Ok(Frame {
        dst: MacAddr(dst),
        src: MacAddr(src),
        body: Body::Other {
            ethertype: u16::from_be_bytes([t[0], t[1]]),
            payload: data.get(14..).unwrap_or(&[]).to_vec(),
        },
    })
}
