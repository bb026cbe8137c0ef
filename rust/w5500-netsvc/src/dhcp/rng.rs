//! The client's PRNG for `xid`s (RFC 2131 §4.1: random per exchange) and jitter.

/// xorshift64* PRNG (Vigna), for `xid`s and jitter.
#[derive(Clone, Debug)]
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64, mac: [u8; 6]) -> Self {
        let mut m = [0u8; 8];
        if let Some(d) = m.get_mut(..6) {
            d.copy_from_slice(&mac);
        }
        let s = seed ^ u64::from_le_bytes(m).rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15;
        Rng(if s == 0 { 0x2545_f491_4f6c_dd1d } else { s })
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub(super) fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform-ish in 0..n (n > 0): `next_u64() % n`, worked out in 32 bits for the small
    /// `n` used here (a 64-bit division is a library routine on a Cortex-M).
    pub(super) fn below(&mut self, n: u16) -> u64 {
        let n = u32::from(n.max(1));
        let x = self.next_u64();
        let (hi, lo) = ((x >> 32) as u32, x as u32);
        // x = hi * 2^32 + lo, and 2^32 mod n = (u32::MAX mod n + 1) mod n; every product
        // stays below n^2 < 2^32.
        let r32 = (u32::MAX % n + 1) % n;
        u64::from(((hi % n) * r32 % n + lo % n) % n)
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    /// The jitter of RFC 2131 §4.1 (±1 s) and the DECLINE wait draw `below(n)`: worked out
    /// in 32 bits, it must equal the plain 64-bit `x % n` for every draw.
    #[test]
    fn rfc2131_4_1_jitter_draw_equals_64_bit_modulo() {
        for seed in [1u64, 0xdead_beef, u64::MAX] {
            let mut a = Rng::new(seed, [2, 0, 0, 0, 0, 1]);
            let mut b = a.clone();
            for n in [1u16, 2, 3, 7, 1000, 1001, 2001, u16::MAX] {
                for _ in 0..200 {
                    assert_eq!(a.below(n), b.next_u64() % u64::from(n));
                }
            }
        }
    }
}
