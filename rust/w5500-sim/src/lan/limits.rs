//! What a [`super::Lan`] may hold, and how it learns that the heap is short.
//!
//! A LAN on a host has memory to spare; a LAN inside a Zephyr image (the SPI emulator,
//! `CONFIG_W5500_OFFLOAD_EMUL`) lives in a fixed heap of a few hundred KiB next to the chip's
//! 32 KB of buffer memory. Two mechanisms keep it there:
//!
//! - **Bounds** ([`LanLimits`]): how many finished connections a host keeps for inspection,
//!   how many may sit in TIME-WAIT, how many may be open, how many frames may be in flight
//!   in the switch, how many reports are kept. What a connection buffers is bounded by the
//!   fixtures themselves: a stream is generated as it is sent, never more than
//!   [`STREAM_QUEUE`] ahead of the peer's acknowledgements, and the buffers of a connection
//!   are released when it closes or enters TIME-WAIT.
//! - **A guard** ([`MemoryGuard`]): a probe that reports the heap's use. When less than the
//!   reserve would stay free, new work is refused: a SYN to a listening port gets RST, a
//!   fixture that wants to queue more bytes resets its connection, a LAN client's exchange
//!   fails with [`super::clients::Outcome::HeapShort`]; only when three quarters of the
//!   reserve are gone too does the switch drop frames (TCP retransmits them). Each refusal is logged (`log::error!`/`warn!`, on the console inside an
//!   image) and counted in [`super::Lan::refusals`]; the LAN and the chip keep running.

/// Bytes a streaming fixture keeps queued beyond what the peer has acknowledged. The chip's
/// largest receive window is its largest socket buffer, 16 KB (DS §4.2 `Sn_RXBUF_SIZE`), so a
/// longer queue could never be on the wire at once.
pub const STREAM_QUEUE: usize = 16 * 1024;

/// Bytes a streaming fixture generates per step (bounds the transient allocation).
pub const STREAM_CHUNK: usize = 4 * 1024;

/// Bounds on what a [`super::Lan`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LanLimits {
    /// Closed connections each host keeps for inspection by tests (oldest dropped first).
    pub keep_closed: usize,
    /// Connections a host keeps in TIME-WAIT; beyond this the oldest is dropped early, as
    /// Linux does when `tcp_max_tw_buckets` overflows.
    pub max_time_wait: usize,
    /// Connections a host may have that are neither closed nor in TIME-WAIT; a SYN beyond
    /// this gets RST.
    pub max_open: usize,
    /// Frames in flight in the switch (both directions); further frames are dropped.
    pub max_frames_in_flight: usize,
    /// Finished LAN-client reports kept ([`super::Lan::client_reports`]).
    pub max_reports: usize,
}

impl LanLimits {
    /// Generous bounds for host tests (nothing a test of ordinary length reaches).
    pub const HOST: LanLimits = LanLimits {
        keep_closed: 64,
        max_time_wait: 1024,
        max_open: 1024,
        max_frames_in_flight: 1 << 16,
        max_reports: 4096,
    };

    /// Tight bounds for a LAN inside a Zephyr image (the SPI emulator's default heap).
    pub const EMBEDDED: LanLimits = LanLimits {
        keep_closed: 2,
        max_time_wait: 8,
        max_open: 24,
        max_frames_in_flight: 128,
        max_reports: 16,
    };
}

impl Default for LanLimits {
    fn default() -> Self {
        Self::HOST
    }
}

/// The heap's state as a [`MemoryGuard`] probe reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeapUse {
    /// Bytes allocated now.
    pub used: usize,
    /// Bytes the heap holds in all.
    pub capacity: usize,
}

/// Tells a LAN when the heap is too short for new work (see the module docs).
#[derive(Clone, Copy, Debug)]
pub struct MemoryGuard {
    /// Reads the heap's use (inside an image: the simulator's allocator).
    pub probe: fn() -> HeapUse,
    /// New work is refused when fewer than this many bytes would stay free.
    pub reserve: usize,
}

impl MemoryGuard {
    /// `Some(heap use)` when taking `extra` more bytes would leave less than the reserve free.
    pub fn short(&self, extra: usize) -> Option<HeapUse> {
        let u = (self.probe)();
        let after = u.used.saturating_add(extra).saturating_add(self.reserve);
        (after > u.capacity).then_some(u)
    }

    /// As [`MemoryGuard::short`] against a quarter of the reserve: the switch keeps carrying
    /// frames (ARP, ACKs, the RSTs of refusals) until the heap is nearly gone.
    pub fn critical(&self, extra: usize) -> Option<HeapUse> {
        let u = (self.probe)();
        let after = u
            .used
            .saturating_add(extra)
            .saturating_add(self.reserve / 4);
        (after > u.capacity).then_some(u)
    }
}

/// `Some(heap use)` when `guard` exists and says the heap is short for `extra` bytes.
pub(crate) fn short(guard: Option<MemoryGuard>, extra: usize) -> Option<HeapUse> {
    guard.and_then(|g| g.short(extra))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn half() -> HeapUse {
        HeapUse {
            used: 500,
            capacity: 1000,
        }
    }

    #[test]
    fn guard_refuses_when_the_reserve_would_be_eaten() {
        let g = MemoryGuard {
            probe: half,
            reserve: 300,
        };
        assert_eq!(g.short(0), None);
        assert_eq!(g.short(200), None);
        assert_eq!(g.short(201), Some(half()));
        assert_eq!(short(None, usize::MAX), None);
    }
}
