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

use super::{util, Lan, TcpState};

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

/// What a [`Lan`] holds at one instant ([`Lan::footprint`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Footprint {
    /// TCP connections of every host, in any state (closed ones kept for inspection too).
    pub connections: usize,
    /// Of those, in TIME-WAIT.
    pub time_wait: usize,
    /// Bytes of heap the connections' send and receive buffers hold (capacity).
    pub buffered: usize,
    /// Frames in flight in the switch.
    pub frames_in_flight: usize,
    /// Their bytes on the wire.
    pub frame_bytes: usize,
}

impl Lan {
    /// Set what the LAN may hold ([`LanLimits`]); applies to every host, present and future.
    pub fn set_limits(&mut self, limits: LanLimits) {
        self.limits = limits;
        for h in self.hosts.iter_mut().flatten() {
            h.limits = limits;
        }
    }

    /// The bounds in force.
    pub fn limits(&self) -> LanLimits {
        self.limits
    }

    /// Refuse new work when the heap is short (see [`limits`]); `None` turns the guard off.
    pub fn set_memory_guard(&mut self, guard: Option<MemoryGuard>) {
        self.guard = guard;
        for h in self.hosts.iter_mut().flatten() {
            h.guard = guard;
            for c in h.conns_mut() {
                c.guard = guard;
            }
        }
    }

    /// SYNs refused and connections reset because the heap was short, on every host, plus
    /// frames dropped for that reason are in [`Lan::frames_dropped`].
    pub fn refusals(&self) -> u64 {
        self.hosts
            .iter()
            .flatten()
            .map(|h| h.heap_refusals)
            .fold(0, u64::saturating_add)
    }

    /// What the LAN holds now, for bounds checks: connections (all states) and the bytes
    /// of their buffers, frames in flight and their payload bytes.
    pub fn footprint(&self) -> Footprint {
        let mut f = Footprint {
            frames_in_flight: self.to_chip.len().saturating_add(self.to_hosts.len()),
            ..Footprint::default()
        };
        for h in self.hosts.iter().flatten() {
            f.connections = f.connections.saturating_add(h.conns().len());
            f.time_wait = f.time_wait.saturating_add(
                h.conns()
                    .iter()
                    .filter(|c| c.state == TcpState::TimeWait)
                    .count(),
            );
            f.buffered = f.buffered.saturating_add(h.buffered_capacity());
        }
        let payloads = self
            .to_chip
            .iter()
            .map(|(_, fr)| util::frame_len(fr))
            .chain(
                self.to_hosts
                    .iter()
                    .map(|(_, _, _, fr)| util::frame_len(fr)),
            );
        f.frame_bytes = payloads.fold(0, usize::saturating_add);
        f
    }
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
