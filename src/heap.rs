//! The wasm heap: a small size-class allocator instead of std's dlmalloc.
//!
//! dlmalloc is about 5 KB of wasm (2.5 KB gzipped), a big share of a
//! package whose size target is 14 KB. tokenwarden's allocations are small
//! and short-lived (request bookkeeping, token strings, JSON), so a simpler
//! scheme does: every block is a power of two (8 B to 1 GiB); freed blocks go
//! on a free list per size and are reused by the next allocation of that
//! size. New blocks are carved from the end of the heap, which grows with
//! `memory.grow`, aligned to their size (up to 64 KiB), and the padding that
//! alignment skips is split into smaller blocks for the free lists, so
//! nothing is lost. Memory is never returned to the browser (a wasm memory
//! cannot shrink; dlmalloc keeps it too); steady-state use (the bench's
//! 100,000 fetches) reuses the same blocks.
//!
//! The logic ([`Heap`]) is plain code over addresses, tested on the host
//! against a buffer; only the wasm32 build installs it as the global
//! allocator. wasm32-unknown-unknown without the atomics feature is
//! single-threaded, so one `Heap` behind an `UnsafeCell` suffices.

#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

/// WebAssembly page size.
const PAGE: usize = 1 << 16;
/// Smallest block: 8 bytes (room for the free-list link, any alignment of
/// the types used here).
const MIN_SHIFT: u32 = 3;
/// Largest block: 1 GiB; larger requests fail (wasm32 has 4 GiB in all).
const MAX_SHIFT: u32 = 30;

/// The size class (log2 of the block size) for a request, or `None` when
/// it is too large.
fn class(size: usize, align: usize) -> Option<u32> {
    let n = size.max(align).max(1 << MIN_SHIFT);
    let k = usize::BITS - (n - 1).leading_zeros();
    (k <= MAX_SHIFT).then_some(k)
}

/// Free lists and the unused end of the heap. Addresses are plain `usize`s;
/// a free block holds the address of the next free block of its size (0
/// ends the list).
pub(crate) struct Heap {
    free: [usize; MAX_SHIFT as usize + 1],
    next: usize,
    end: usize,
}

impl Heap {
    /// An empty heap; the first allocation grows memory.
    pub(crate) const fn new() -> Self {
        Heap {
            free: [0; MAX_SHIFT as usize + 1],
            next: 0,
            end: 0,
        }
    }

    /// Puts block `at` of size `1 << k` on its free list.
    ///
    /// # Safety
    /// `at` is a writable, 8-aligned block of that size owned by the heap.
    unsafe fn push(&mut self, k: u32, at: usize) {
        let head = &mut self.free[k as usize];
        *(at as *mut usize) = *head;
        *head = at;
    }

    /// Splits `[from, to)` (both multiples of 8) into aligned power-of-two
    /// blocks for the free lists.
    ///
    /// # Safety
    /// The range is unused heap memory.
    unsafe fn fill(&mut self, mut from: usize, to: usize) {
        while to - from >= 1 << MIN_SHIFT {
            let mut k = from.trailing_zeros().min(MAX_SHIFT);
            while 1 << k > to - from {
                k -= 1;
            }
            self.push(k, from);
            from += 1 << k;
        }
    }

    /// A block for `size` bytes aligned to `align` (a power of two), or null.
    /// `grow(pages)` adds that many 64 KiB pages of memory and returns the
    /// address where they start (page-aligned), or `None`.
    ///
    /// # Safety
    /// `grow` hands out memory nobody else uses.
    pub(crate) unsafe fn alloc(
        &mut self,
        size: usize,
        align: usize,
        mut grow: impl FnMut(usize) -> Option<usize>,
    ) -> *mut u8 {
        let Some(k) = class(size, align) else {
            return core::ptr::null_mut();
        };
        let head = self.free[k as usize];
        if head != 0 {
            self.free[k as usize] = *(head as *const usize);
            return head as *mut u8;
        }
        let size = 1usize << k;
        let align = size.min(PAGE);
        loop {
            if let Some(start) = self.next.checked_add(align - 1).map(|a| a & !(align - 1)) {
                if start <= self.end && self.end - start >= size {
                    self.fill(self.next, start);
                    self.next = start + size;
                    return start as *mut u8;
                }
            }
            // New pages are page-aligned and follow the old end when nothing
            // else grew memory, so this many always make room.
            let pages = size.div_ceil(PAGE);
            let Some(base) = grow(pages) else {
                return core::ptr::null_mut();
            };
            if base != self.end {
                self.fill(self.next, self.end);
                self.next = base;
            }
            self.end = base + pages * PAGE;
        }
    }

    /// Returns a block from [`alloc`](Self::alloc) with the same `size` and
    /// `align`.
    ///
    /// # Safety
    /// As `GlobalAlloc::dealloc`.
    pub(crate) unsafe fn dealloc(&mut self, ptr: *mut u8, size: usize, align: usize) {
        if let Some(k) = class(size, align) {
            self.push(k, ptr as usize);
        }
    }

    /// Whether a block for (`size`, `align`) also holds `new_size` bytes
    /// (then `realloc` keeps it).
    pub(crate) fn fits(size: usize, align: usize, new_size: usize) -> bool {
        class(size, align) == class(new_size, align)
    }
}

#[cfg(target_arch = "wasm32")]
mod global {
    use core::alloc::{GlobalAlloc, Layout};
    use core::cell::UnsafeCell;

    use super::{Heap, PAGE};

    struct Global(UnsafeCell<Heap>);

    // SAFETY: wasm32-unknown-unknown (no atomics) runs one thread.
    unsafe impl Sync for Global {}

    fn grow(pages: usize) -> Option<usize> {
        let old = core::arch::wasm32::memory_grow(0, pages);
        (old != usize::MAX).then_some(old * PAGE)
    }

    unsafe impl GlobalAlloc for Global {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            (*self.0.get()).alloc(layout.size(), layout.align(), grow)
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            (*self.0.get()).dealloc(ptr, layout.size(), layout.align())
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            if Heap::fits(layout.size(), layout.align(), new_size) {
                return ptr;
            }
            let new = (*self.0.get()).alloc(new_size, layout.align(), grow);
            if !new.is_null() {
                core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }

    #[global_allocator]
    static HEAP: Global = Global(UnsafeCell::new(Heap::new()));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A heap over a host buffer, growing page by page from its start.
    struct Arena {
        heap: Heap,
        base: usize,
        pages: usize,
        max_pages: usize,
        _buf: Vec<u8>,
    }

    impl Arena {
        fn new(max_pages: usize) -> Arena {
            let buf = vec![0u8; (max_pages + 1) * PAGE];
            let base = (buf.as_ptr() as usize + PAGE - 1) & !(PAGE - 1);
            Arena {
                heap: Heap::new(),
                base,
                pages: 0,
                max_pages,
                _buf: buf,
            }
        }

        fn alloc(&mut self, size: usize, align: usize) -> *mut u8 {
            let (base, pages, max) = (self.base, &mut self.pages, self.max_pages);
            // SAFETY: the buffer outlives the heap; pages are handed out once.
            unsafe {
                self.heap.alloc(size, align, |n| {
                    if *pages + n > max {
                        return None;
                    }
                    let at = base + *pages * PAGE;
                    *pages += n;
                    Some(at)
                })
            }
        }

        fn in_bounds(&self, p: usize, size: usize) -> bool {
            p >= self.base && p + size <= self.base + self.pages * PAGE
        }
    }

    #[test]
    fn classes() {
        assert_eq!(class(0, 1), Some(3));
        assert_eq!(class(1, 1), Some(3));
        assert_eq!(class(8, 8), Some(3));
        assert_eq!(class(9, 1), Some(4));
        assert_eq!(class(16, 1), Some(4));
        assert_eq!(class(3, 64), Some(6));
        assert_eq!(class(1 << 30, 1), Some(30));
        assert_eq!(class((1 << 30) + 1, 1), None);
        assert!(Heap::fits(9, 1, 16));
        assert!(!Heap::fits(16, 1, 17));
    }

    /// Random allocations and frees: blocks are aligned, inside the memory
    /// handed out, never overlap (each is filled with its own byte and
    /// checked on free). Running the same workload again needs no new
    /// memory: freed blocks are reused.
    #[test]
    fn random_use_is_sound_and_reuses_memory() {
        let mut arena = Arena::new(512);
        let mut pages = Vec::new();
        for _round in 0..3 {
            let mut rng: u64 = 0x2545_f491_4f6c_dd1d;
            let mut next = || {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng
            };
            let mut live: Vec<(usize, usize, usize, u8)> = Vec::new();
            for step in 0..100_000u32 {
                let r = next();
                if live.len() < 300 && (r % 3 != 0 || live.is_empty()) {
                    let size = match r % 10 {
                        0 => (next() % 70_000) as usize,
                        1..=3 => (next() % 2_000) as usize,
                        _ => (next() % 64) as usize,
                    };
                    let align = 1usize << (next() % 7);
                    let p = arena.alloc(size, align) as usize;
                    assert_ne!(p, 0, "out of memory at step {step}");
                    assert_eq!(p % align, 0);
                    assert!(arena.in_bounds(p, size));
                    let tag = (step % 251) as u8;
                    // SAFETY: the block is ours and `size` bytes long.
                    unsafe { std::ptr::write_bytes(p as *mut u8, tag, size) };
                    live.push((p, size, align, tag));
                } else {
                    let i = (next() as usize) % live.len();
                    let (p, size, align, tag) = live.swap_remove(i);
                    free_checked(&mut arena, p, size, align, tag);
                }
            }
            for (p, size, align, tag) in live.drain(..) {
                free_checked(&mut arena, p, size, align, tag);
            }
            pages.push(arena.pages);
        }
        assert_eq!(pages[1], pages[0], "the second round grew the heap");
        assert_eq!(pages[2], pages[0], "the third round grew the heap");
    }

    fn free_checked(arena: &mut Arena, p: usize, size: usize, align: usize, tag: u8) {
        // SAFETY: a live block of ours, `size` bytes long.
        let bytes = unsafe { std::slice::from_raw_parts(p as *const u8, size) };
        assert!(bytes.iter().all(|&b| b == tag), "block overwritten");
        // SAFETY: allocated with this size and align, freed once.
        unsafe { arena.heap.dealloc(p as *mut u8, size, align) };
    }

    #[test]
    fn too_large_or_out_of_memory_is_null() {
        let mut arena = Arena::new(4);
        assert!(arena.alloc((1 << 30) + 1, 1).is_null());
        assert!(arena.alloc(5 * PAGE, 1).is_null());
        let p = arena.alloc(3 * PAGE, 8);
        assert!(!p.is_null());
        assert_eq!(p as usize % PAGE, 0);
    }

    #[test]
    fn alignment_padding_is_reused() {
        let mut arena = Arena::new(4);
        let small = arena.alloc(8, 8) as usize;
        // A 4 KiB block is aligned to 4 KiB: the 4 KiB - 16 bytes it skips
        // become free blocks, so the next small allocations fit before it.
        let big = arena.alloc(4096, 1) as usize;
        assert_eq!(big % 4096, 0);
        let after = arena.alloc(2048, 1) as usize;
        assert!(after > small && after < big, "padding not reused");
        assert_eq!(arena.pages, 1);
    }
}
