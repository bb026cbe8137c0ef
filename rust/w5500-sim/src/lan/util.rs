//! Small deterministic helpers: a seeded PRNG, FNV-1a, the byte pattern, TCP sequence
//! arithmetic and frame sizes for the wire-time model.

use crate::net::{Body, Frame, Icmp, IpPayload};

/// A xorshift64* pseudo-random generator: the only source of "randomness" in the LAN, so every
/// run with the same seed is identical.
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator seeded with `seed` (zero is replaced by a fixed non-zero constant).
    pub fn new(seed: u64) -> Self {
        XorShift(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
}

/// FNV-1a (64-bit) running hash, used by the byte sink to check integrity cheaply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fnv1a(pub u64);

impl Fnv1a {
    /// The FNV-1a offset basis.
    pub const fn new() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }

    /// Feed `data` into the hash.
    pub fn update(&mut self, data: &[u8]) {
        for &b in data {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// The hash of `data` alone.
    pub fn of(data: &[u8]) -> u64 {
        let mut h = Fnv1a::new();
        h.update(data);
        h.0
    }
}

impl Default for Fnv1a {
    fn default() -> Self {
        Self::new()
    }
}

/// Byte `index` of the deterministic pattern the byte source sends (not periodic at 256, so
/// a lost or duplicated block shows up in the checksum).
pub fn pattern_byte(index: u64) -> u8 {
    (index.wrapping_mul(31) ^ (index >> 8) ^ (index >> 16)) as u8
}

/// `len` bytes of the pattern starting at `offset`.
pub fn pattern(offset: u64, len: usize) -> alloc::vec::Vec<u8> {
    (0..len as u64)
        .map(|i| pattern_byte(offset.wrapping_add(i)))
        .collect()
}

/// `a < b` in 32-bit sequence space (RFC 9293 §3.4).
pub fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// `a <= b` in 32-bit sequence space.
pub fn seq_le(a: u32, b: u32) -> bool {
    a == b || seq_lt(a, b)
}

/// Length in bytes of the Ethernet frame (header, body, padding to 60; no FCS).
pub fn frame_len(frame: &Frame) -> usize {
    let body = match &frame.body {
        Body::Arp(_) => 28,
        Body::Other { payload, .. } => payload.len(),
        Body::Ipv4(p) => {
            20 + match &p.payload {
                IpPayload::Udp(u) => 8 + u.payload.len(),
                IpPayload::Tcp(t) => 20 + if t.mss.is_some() { 4 } else { 0 } + t.payload.len(),
                IpPayload::Icmp(Icmp::EchoRequest { data, .. })
                | IpPayload::Icmp(Icmp::EchoReply { data, .. })
                | IpPayload::Icmp(Icmp::Other { data, .. }) => 8 + data.len(),
                IpPayload::Icmp(Icmp::DestUnreachable { original, .. }) => 8 + original.len(),
                IpPayload::Igmp(_) => 8,
                IpPayload::Other { data, .. } => data.len(),
            }
        }
    };
    (14 + body).max(60)
}

/// Time in nanoseconds `frame` occupies a link of `bitrate` bit/s, counting preamble, FCS and
/// the inter-frame gap (24 bytes).
pub fn wire_ns(frame: &Frame, bitrate: u64) -> u64 {
    let bits = ((frame_len(frame) + 24) as u64).saturating_mul(8);
    bits.saturating_mul(1_000_000_000) / bitrate.max(1)
}

/// The Internet checksum (RFC 1071) of `data`.
pub fn inet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        if let [a, b] = c {
            sum = sum.wrapping_add(u32::from(u16::from_be_bytes([*a, *b])));
        }
    }
    if let [a] = chunks.remainder() {
        sum = sum.wrapping_add(u32::from(*a) << 8);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_compare_wraps() {
        assert!(seq_lt(0xffff_fff0, 5));
        assert!(!seq_lt(5, 0xffff_fff0));
        assert!(seq_le(7, 7));
    }

    #[test]
    fn fnv_known_vector() {
        // FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c (draft-eastlake-fnv test vectors).
        assert_eq!(Fnv1a::of(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn xorshift_is_deterministic() {
        let mut a = XorShift::new(1);
        let mut b = XorShift::new(1);
        assert_eq!(a.next_u64(), b.next_u64());
        assert_ne!(a.next_u64(), XorShift::new(2).next_u64());
    }
}
