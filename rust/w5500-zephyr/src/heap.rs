//! `#[global_allocator]` on the kernel heap (`k_aligned_alloc`/`k_free` through the shim),
//! for the simulator core (feature `global-alloc`, part of `emul`). The driver itself never
//! allocates.

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
