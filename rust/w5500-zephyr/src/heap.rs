//! `#[global_allocator]` on the kernel heap (`k_aligned_alloc`/`k_free` through the shim),
//! for the simulator core (feature `global-alloc`, part of `emul`). The driver itself never
//! allocates. [`guard`] lets the simulator's LAN see how full that heap is.

use core::alloc::{GlobalAlloc, Layout};

use crate::sys;

struct KernelHeap;

// SAFETY: the shim returns blocks of at least `size` bytes aligned to `align` (or NULL), and
// `k_free` accepts exactly the pointers `k_aligned_alloc` returned.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: plain call into the shim.
        unsafe { sys::w5500_shim_malloc(layout.size(), layout.align()).cast() }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above.
        unsafe { sys::w5500_shim_free(ptr.cast()) }
    }
}

#[global_allocator]
static HEAP: KernelHeap = KernelHeap;

/// The heap's use as the kernel counts it (chunks in use, headers included).
#[cfg(w5500_emul)]
fn heap_use() -> w5500_sim::lan::HeapUse {
    let (mut used, mut free) = (0usize, 0usize);
    // SAFETY: plain call into the shim with two writable outs.
    let r = unsafe { sys::w5500_shim_emul_heap_stats(&mut used, &mut free) };
    if r < 0 {
        // No statistics: claim nothing is short (the allocation itself still fails cleanly
        // where the simulator uses fallible allocation).
        return w5500_sim::lan::HeapUse {
            used: 0,
            capacity: usize::MAX,
        };
    }
    w5500_sim::lan::HeapUse {
        used,
        capacity: used.saturating_add(free),
    }
}

/// The LAN's heap guard: refuse new work when less than an eighth of the heap (at least
/// 16 KiB) would stay free.
#[cfg(w5500_emul)]
pub(crate) fn guard() -> w5500_sim::lan::MemoryGuard {
    let cap = heap_use().capacity;
    w5500_sim::lan::MemoryGuard {
        probe: heap_use,
        reserve: (cap / 8).max(16 * 1024),
    }
}
