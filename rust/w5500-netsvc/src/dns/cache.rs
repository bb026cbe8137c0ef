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

#[derive(Clone, Debug)]
struct Entry {
    name: Name,
    value: Cached,
    expires_ms: u64,
}

/// The cache: `N` entries (8 by default in [`super::Resolver`]).
#[derive(Clone, Debug)]
pub struct Cache<const N: usize> {
    entries: Vec<Entry, N>,
}

impl<const N: usize> Default for Cache<N> {
    fn default() -> Self {
        Cache {
            entries: Vec::new(),
        }
    }
}

impl<const N: usize> Cache<N> {
    /// Look `name` up at `now_ms`; expired entries are dropped. Returns the value and the
    /// seconds it has left.
    pub fn get(&mut self, name: &Name, now_ms: u64) -> Option<(Cached, u32)> {
        self.entries.retain(|e| e.expires_ms > now_ms);
        let e = self.entries.iter().find(|e| e.name.eq_ignore_case(name))?;
        let left_s = e.expires_ms.saturating_sub(now_ms) / 1000;
        Some((e.value.clone(), u32::try_from(left_s).unwrap_or(u32::MAX)))
    }

    /// Store `value` for `ttl_s` seconds (0: not stored), replacing an entry for the same name.
    pub fn put(&mut self, name: &Name, value: Cached, ttl_s: u32, now_ms: u64) {
        if ttl_s == 0 || N == 0 {
            return;
        }
        let expires_ms = now_ms.saturating_add(u64::from(ttl_s).saturating_mul(1000));
        self.entries
            .retain(|e| e.expires_ms > now_ms && !e.name.eq_ignore_case(name));
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
            name: name.clone(),
            value,
            expires_ms,
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
