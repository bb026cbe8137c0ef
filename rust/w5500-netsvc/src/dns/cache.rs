//! A small fixed-size answer cache with TTLs and negative entries.
//!
//! Policy (kept simple on purpose):
//! - Positive answers are kept for the smallest TTL of the records used (the CNAME links and
//!   the A records, RFC 2181 §5.2 for one RRset, extended to the chain), capped at
//!   [`MAX_TTL_S`]. A TTL of 0 means "use once" (RFC 1035 §3.2.1): not cached.
//! - NXDOMAIN and NODATA answers are cached (RFC 2308 §5) for min(SOA TTL, SOA MINIMUM) when
//!   the authority section carries an SOA, else for [`DEFAULT_NEGATIVE_TTL_S`]; capped at
//!   [`MAX_NEGATIVE_TTL_S`]. (RFC 2308 §5 says answers without SOA should not be cached to
//!   stop loops between caching servers; a stub forwards nothing, and a few seconds spare the
//!   server from an application retrying in a tight loop.)
//! - Entries are keyed by the name the application asked for (case-insensitive). When full,
//!   an expired entry, else the one that expires first, is replaced.
//!
//! Storage (kept small for microcontrollers, about 100 bytes per entry): an entry holds a
//! 64-bit keyed hash of the lowercased name, not the name ([`name_key`]: SipHash-1-3 with a
//! key drawn from the resolver's seeded generator, so nobody who does not know the seed can
//! make two names collide on purpose; by chance two of the cached names collide with
//! probability about 2^-64). The canonical name is stored only when it differs from the
//! asked name (a CNAME chain), in wire form of at most [`CANON_MAX`] bytes; an answer whose
//! canonical name is longer is not cached. A hit without a stored canonical name gives the
//! name as asked this time.

use core::net::Ipv4Addr;

use heapless::Vec;

use super::name::Name;
use super::wire::MAX_ADDRS;

/// Longest time a positive answer is kept, seconds (one day).
pub const MAX_TTL_S: u32 = 86_400;
/// Negative TTL when the reply carries no SOA, seconds.
pub const DEFAULT_NEGATIVE_TTL_S: u32 = 5;
/// Longest time a negative answer is kept, seconds (RFC 2308 §5 suggests 1–3 hours).
pub const MAX_NEGATIVE_TTL_S: u32 = 10_800;
/// Longest canonical name (wire form, root byte included) a cache entry keeps when it
/// differs from the asked name; answers with longer ones are not cached.
pub const CANON_MAX: usize = 64;

/// What a cache entry says.
// No heap (no_std, no alloc): variants stay inline on purpose.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cached {
    /// Addresses and the canonical name.
    Positive {
        /// The addresses (at least one).
        addrs: Vec<Ipv4Addr, MAX_ADDRS>,
        /// The end of the CNAME chain.
        canonical: Name,
    },
    /// NXDOMAIN.
    NoSuchName,
    /// The name exists but has no A record (NODATA).
    NoData,
}

/// What an entry stores: addresses (none for a negative entry) and the canonical name when
/// it differs from the key's name.
#[derive(Clone, Debug)]
struct Entry {
    key: u64,
    expires_ms: u64,
    addrs: Vec<Ipv4Addr, MAX_ADDRS>,
    /// Wire form; empty: the asked name.
    canon: Vec<u8, CANON_MAX>,
    /// For a negative entry (`addrs` empty): NXDOMAIN, else NODATA.
    no_such_name: bool,
}

/// The 64-bit cache key of `name`: SipHash-1-3 (Aumasson and Bernstein) keyed with `k`, over
/// the lowercased wire form (RFC 4343: names compare case-insensitively).
pub fn name_key(k: (u64, u64), name: &Name) -> u64 {
    let mut v = [
        k.0 ^ 0x736f_6d65_7073_6575,
        k.1 ^ 0x646f_7261_6e64_6f6d,
        k.0 ^ 0x6c79_6765_6e65_7261,
        k.1 ^ 0x7465_6462_7974_6573,
    ];
    fn round(v: &mut [u64; 4]) {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }
    fn word(v: &mut [u64; 4], m: u64) {
        v[3] ^= m;
        round(v);
        v[0] ^= m;
    }
    let wire = name.as_wire();
    let mut chunks = wire.chunks_exact(8);
    for c in &mut chunks {
        let mut b = [0u8; 8];
        for (d, s) in b.iter_mut().zip(c) {
            *d = s.to_ascii_lowercase();
        }
        word(&mut v, u64::from_le_bytes(b));
    }
    let mut last = [0u8; 8];
    for (d, s) in last.iter_mut().zip(chunks.remainder()) {
        *d = s.to_ascii_lowercase();
    }
    // The length byte (wire forms are at most 255 bytes).
    last[7] = wire.len() as u8;
    word(&mut v, u64::from_le_bytes(last));
    v[2] ^= 0xff;
    for _ in 0..3 {
        round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

/// The cache: `N` entries (8 by default in [`super::Resolver`]).
#[derive(Clone, Debug)]
pub struct Cache<const N: usize> {
    hash_key: (u64, u64),
    entries: Vec<Entry, N>,
}

impl<const N: usize> Default for Cache<N> {
    fn default() -> Self {
        Cache::with_key((0, 0))
    }
}

impl<const N: usize> Cache<N> {
    /// An empty cache whose name hash ([`name_key`]) uses `hash_key` (random, from the
    /// resolver's seeded generator).
    pub fn with_key(hash_key: (u64, u64)) -> Self {
        Cache {
            hash_key,
            entries: Vec::new(),
        }
    }

    /// The key `name` is stored under.
    pub fn key(&self, name: &Name) -> u64 {
        name_key(self.hash_key, name)
    }

    /// Look `name` up at `now_ms`; expired entries are dropped. Returns the value and the
    /// seconds it has left.
    pub fn get(&mut self, name: &Name, now_ms: u64) -> Option<(Cached, u32)> {
        if N == 0 {
            return None;
        }
        let key = self.key(name);
        self.entries.retain(|e| e.expires_ms > now_ms);
        let e = self.entries.iter().find(|e| e.key == key)?;
        let left_s = e.expires_ms.saturating_sub(now_ms) / 1000;
        let value = if !e.addrs.is_empty() {
            let canonical = if e.canon.is_empty() {
                name.clone()
            } else {
                Name::from_wire(&e.canon)?
            };
            Cached::Positive {
                addrs: e.addrs.clone(),
                canonical,
            }
        } else if e.no_such_name {
            Cached::NoSuchName
        } else {
            Cached::NoData
        };
        Some((value, u32::try_from(left_s).unwrap_or(u32::MAX)))
    }

    /// Store `value` for `ttl_s` seconds (0: not stored), replacing an entry for the same name.
    pub fn put(&mut self, name: &Name, value: Cached, ttl_s: u32, now_ms: u64) {
        let key = self.key(name);
        self.put_key(key, value, ttl_s, now_ms);
    }

    /// [`Cache::put`] for a name known by its [`Cache::key`].
    pub fn put_key(&mut self, key: u64, value: Cached, ttl_s: u32, now_ms: u64) {
        if ttl_s == 0 || N == 0 {
            return;
        }
        let (addrs, canon, no_such_name) = match value {
            Cached::Positive { addrs, canonical } => {
                let mut canon = Vec::new();
                if self.key(&canonical) != key
                    && canon.extend_from_slice(canonical.as_wire()).is_err()
                {
                    // Too long to keep: not cached.
                    return;
                }
                if addrs.is_empty() {
                    return;
                }
                (addrs, canon, false)
            }
            Cached::NoSuchName => (Vec::new(), Vec::new(), true),
            Cached::NoData => (Vec::new(), Vec::new(), false),
        };
        let expires_ms = now_ms.saturating_add(u64::from(ttl_s).saturating_mul(1000));
        self.entries
            .retain(|e| e.expires_ms > now_ms && e.key != key);
        if self.entries.is_full() {
            let victim = self
                .entries
                .iter()
                .enumerate()
                .min_by_key(|(_, e)| e.expires_ms)
                .map(|(i, _)| i);
            if let Some(i) = victim {
                self.entries.swap_remove(i);
            }
        }
        let _ = self.entries.push(Entry {
            key,
            expires_ms,
            addrs,
            canon,
            no_such_name,
        });
    }

    /// Forget everything (e.g. when the DHCP lease changes the network).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Number of live-or-expired entries held (for tests and statistics).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
