//! The resolver's seedable PRNG (xorshift64*), for query IDs and source ports.
//!
//! Not cryptographic: RFC 5452 §9.2 asks for unpredictable IDs and ports, so the OS layer
//! must seed it from a hardware RNG (or at least the MAC and a free-running timer) and may
//! stir more entropy in with [`Rng::mix`].

/// xorshift64* (Vigna 2014): 64 bits of state, never zero.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator from `seed` (a zero seed is replaced by a fixed odd constant).
    pub fn new(seed: u64) -> Self {
        let mut r = Rng {
            state: if seed == 0 {
                0x9e37_79b9_7f4a_7c15
            } else {
                seed
            },
        };
        // Spread low-entropy seeds.
        for _ in 0..4 {
            r.next_u64();
        }
        r
    }

    /// Stir `entropy` into the state.
    pub fn mix(&mut self, entropy: u64) {
        self.state ^= entropy.wrapping_mul(0x2545_f491_4f6c_dd1d);
        if self.state == 0 {
            self.state = 0x9e37_79b9_7f4a_7c15;
        }
        self.next_u64();
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A random 16-bit value (the top bits, the best ones of xorshift*).
    pub fn next_u16(&mut self) -> u16 {
        (self.next_u64() >> 48) as u16
    }

    /// A random port in the IANA dynamic range 49152–65535 (RFC 6335 §6).
    pub fn ephemeral_port(&mut self) -> u16 {
        0xc000 | (self.next_u16() & 0x3fff)
    }
}
