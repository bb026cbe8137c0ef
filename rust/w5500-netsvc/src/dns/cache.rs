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

/// One cache slot: addresses (none for a negative entry) and the canonical name when it
/// differs from the key's name. Plain arrays, so slots are overwritten in place.
#[derive(Clone, Copy, Debug)]
struct Entry {
    key: u64,
    /// 0: a free slot.
    expires_ms: u64,
    addrs: [Ipv4Addr; MAX_ADDRS],
    n_addrs: u8,
    /// Wire form; empty: the asked name.
    canon: [u8; CANON_MAX],
    canon_len: u8,
    /// For a negative entry (`n_addrs` 0): NXDOMAIN, else NODATA.
    no_such_name: bool,
}

impl Entry {
    const FREE: Entry = Entry {
        key: 0,
        expires_ms: 0,
        addrs: [Ipv4Addr::UNSPECIFIED; MAX_ADDRS],
        n_addrs: 0,
        canon: [0; CANON_MAX],
        canon_len: 0,
        no_such_name: false,
    };
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
    // Not inlined: one copy of the 64-bit arithmetic instead of four.
    #[inline(never)]
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
    entries: [Entry; N],
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
            entries: [Entry::FREE; N],
        }
    }

    /// The key `name` is stored under.
    pub fn key(&self, name: &Name) -> u64 {
        name_key(self.hash_key, name)
    }

    /// Free the slots that expired by `now_ms`.
    fn expire(&mut self, now_ms: u64) {
        for e in self.entries.iter_mut() {
            if e.expires_ms <= now_ms {
                e.expires_ms = 0;
            }
        }
    }

    /// Look `name` up at `now_ms`; expired entries are dropped. Returns the value and the
    /// seconds it has left.
    pub fn get(&mut self, name: &Name, now_ms: u64) -> Option<(Cached, u32)> {
        let key = self.key(name);
        self.expire(now_ms);
        let e = self
            .entries
            .iter()
            .find(|e| e.expires_ms != 0 && e.key == key)?;
        // At most MAX_TTL_S seconds (see `put_key`): 32 bits hold the milliseconds, and a
        // 32-bit division is one instruction on a Cortex-M (a 64-bit one a library routine).
        let left_ms = u32::try_from(e.expires_ms.saturating_sub(now_ms)).unwrap_or(u32::MAX);
        let left_s = left_ms / 1000;
        let addrs = e.addrs.get(..usize::from(e.n_addrs)).unwrap_or(&[]);
        let value = if !addrs.is_empty() {
            let canonical = match e.canon.get(..usize::from(e.canon_len)) {
                None | Some([]) => name.clone(),
                Some(wire) => Name::from_wire(wire)?,
            };
            Cached::Positive {
                addrs: Vec::from_slice(addrs).ok()?,
                canonical,
            }
        } else if e.no_such_name {
            Cached::NoSuchName
        } else {
            Cached::NoData
        };
        Some((value, left_s))
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
        let ttl_s = ttl_s.min(MAX_TTL_S);
        let mut new = Entry::FREE;
        match value {
            Cached::Positive { addrs, canonical } => {
                if addrs.is_empty() {
                    return;
                }
                for (d, a) in new.addrs.iter_mut().zip(&addrs) {
                    *d = *a;
                    new.n_addrs += 1;
                }
                if self.key(&canonical) != key {
                    let wire = canonical.as_wire();
                    let Some(d) = new.canon.get_mut(..wire.len()) else {
                        // Too long to keep: not cached.
                        return;
                    };
                    d.copy_from_slice(wire);
                    // At most CANON_MAX (64) bytes here.
                    new.canon_len = wire.len() as u8;
                }
            }
            Cached::NoSuchName => new.no_such_name = true,
            Cached::NoData => {}
        }
        new.key = key;
        new.expires_ms = now_ms
            .saturating_add(u64::from(ttl_s).saturating_mul(1000))
            .max(1);
        self.expire(now_ms);
        for e in self.entries.iter_mut() {
            if e.key == key {
                e.expires_ms = 0;
            }
        }
        // A free slot, else the one that expires first.
        let slot = self.entries.iter_mut().min_by_key(|e| e.expires_ms);
        if let Some(e) = slot {
            *e = new;
        }
    }

    /// Forget everything (e.g. when the DHCP lease changes the network).
    pub fn clear(&mut self) {
        for e in self.entries.iter_mut() {
            e.expires_ms = 0;
        }
    }

    /// Number of live-or-expired entries held (for tests and statistics).
    pub fn len(&self) -> usize {
        self.entries.iter().filter(|e| e.expires_ms != 0).count()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
