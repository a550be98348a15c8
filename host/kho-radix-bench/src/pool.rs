// SPDX-License-Identifier: GPL-2.0

//! Page pools for the tree nodes of both sides.
//!
//! [`Region`] is one page-aligned block of virtual memory; the C side gets a
//! bare region and runs its own pool over it (`c/shim.h`), the Rust side runs
//! [`Pool`], the same algorithm: a LIFO free list threaded through the first
//! word of free pages, then a bump pointer, pages zeroed on allocation,
//! physical address == virtual address. Neither side pays for a map lookup,
//! so the timings compare the tree code.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::cell::Cell;
use std::ptr::{null_mut, NonNull};

/// A page-aligned block of `pages` pages of `page_size` bytes.
///
/// # Invariants
///
/// `base` was returned by `alloc_zeroed(layout)` and is freed on drop.
pub(crate) struct Region {
    base: NonNull<u8>,
    layout: Layout,
}

impl Region {
    /// Allocates `pages` zeroed pages; panics if that is impossible.
    pub(crate) fn new(page_size: usize, pages: usize) -> Self {
        let layout = Layout::from_size_align(page_size * pages, page_size).expect("region layout");
        assert!(layout.size() > 0);
        // SAFETY: the layout has a non-zero size.
        let p = unsafe { alloc_zeroed(layout) };
        // INVARIANT: `p` came from `alloc_zeroed(layout)`.
        Region {
            base: NonNull::new(p).expect("out of memory for the page pool"),
            layout,
        }
    }

    /// First byte of the region.
    pub(crate) fn base(&self) -> *mut u8 {
        self.base.as_ptr()
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: by the type invariant.
        unsafe { dealloc(self.base.as_ptr(), self.layout) };
    }
}

/// Entries of [`Pool`]'s `words` from one page's word to the next: eight, as
/// the kernel keeps the word in `page->private` of the 64-byte `struct
/// page`s of its memory map, so that each page's word sits on a cache line
/// of its own, as there. With one word per page, the words of 2048 leaves
/// (16 KiB) stayed in the L1 cache, as they do not in a kernel.
pub(crate) const PAGE_WORD_STRIDE: usize = 8;

/// The Rust side's node allocator over a [`Region`].
///
/// # Invariants
///
/// Pages `0..next` of the region have been handed out; `free` is null or a
/// page of the region that is not in use, whose first word links the next
/// free page; `live` counts pages in use; `words` has one entry every
/// [`PAGE_WORD_STRIDE`] per page of the region, 0 for the pages not in use.
pub(crate) struct Pool {
    region: Region,
    words: Vec<Cell<usize>>,
    page_size: usize,
    cap: usize,
    next: usize,
    live: usize,
    free: *mut u8,
}

impl Pool {
    /// A pool of `pages` pages of `page_size` bytes.
    pub(crate) fn new(page_size: usize, pages: usize) -> Self {
        Pool {
            region: Region::new(page_size, pages),
            words: (0..pages * PAGE_WORD_STRIDE)
                .map(|_| Cell::new(0))
                .collect(),
            page_size,
            cap: pages,
            next: 0,
            live: 0,
            free: null_mut(),
        }
    }

    /// Page size of the pool.
    #[inline]
    pub(crate) fn page_size(&self) -> usize {
        self.page_size
    }

    /// Number of pages in the pool.
    #[inline]
    pub(crate) fn capacity(&self) -> usize {
        self.cap
    }

    /// The page of the region at address `addr` (phys == virt), or `None`
    /// if `addr` is not the start of one: the pages with a [`Pool::word`],
    /// at a page-aligned address (the region is page-aligned).
    pub(crate) fn page_at(&self, addr: u64) -> Option<NonNull<u8>> {
        let p = NonNull::new(usize::try_from(addr).ok()? as *mut u8)?;
        (addr % self.page_size as u64 == 0 && self.word(p).is_some()).then_some(p)
    }

    /// Number of pages in use.
    #[inline]
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    /// A zeroed page, or `None` if the pool is exhausted.
    #[inline]
    pub(crate) fn alloc(&mut self) -> Option<NonNull<u8>> {
        let p = if !self.free.is_null() {
            let p = self.free;
            // SAFETY: by the type invariant `free` is an unused page of the
            // region whose first word holds the next free page.
            self.free = unsafe { p.cast::<*mut u8>().read() };
            p
        } else if self.next < self.cap {
            // SAFETY: `next < cap`, so the page lies inside the region.
            let p = unsafe { self.region.base().add(self.next * self.page_size) };
            self.next += 1;
            p
        } else {
            return None;
        };
        // SAFETY: `p` is an unused, page-aligned page of the region.
        unsafe { p.write_bytes(0, self.page_size) };
        self.live += 1;
        NonNull::new(p)
    }

    /// The word kept outside page `p` of the region for its user (the tree's
    /// `NodeMemory::node_word()`); `None` if `p` is not a page of the region.
    #[inline]
    pub(crate) fn word(&self, p: NonNull<u8>) -> Option<&Cell<usize>> {
        let offset = (p.as_ptr() as usize).wrapping_sub(self.region.base() as usize);
        // A shift, not a division: the page size is a power of two (the
        // region's alignment), and this runs on every count update and free.
        let page = offset >> self.page_size.trailing_zeros();
        self.words.get(page.checked_mul(PAGE_WORD_STRIDE)?)
    }

    /// [`Pool::word`] of a page of the pool, with the page shift a constant
    /// of the caller and no bounds check, as `virt_to_page()` has none: a
    /// reclaiming delete in random order reads a leaf's word on most calls.
    ///
    /// # Safety
    ///
    /// `p` is a page of the region and `1 << page_shift` its page size.
    #[inline(always)]
    pub(crate) unsafe fn page_word(&self, p: NonNull<u8>, page_shift: u32) -> &Cell<usize> {
        debug_assert_eq!(self.page_size, 1 << page_shift);
        let offset = (p.as_ptr() as usize).wrapping_sub(self.region.base() as usize);
        debug_assert!((offset >> page_shift) * PAGE_WORD_STRIDE < self.words.len());
        // SAFETY: `p` is a page of the region (caller), which has a word every
        // `PAGE_WORD_STRIDE` entries per page (type invariant).
        unsafe {
            self.words
                .get_unchecked((offset >> page_shift) * PAGE_WORD_STRIDE)
        }
    }

    /// Returns a page to the pool.
    ///
    /// # Safety
    ///
    /// `p` came from [`Pool::alloc`] on `self`, was not freed yet and nothing
    /// uses it any more.
    #[inline]
    pub(crate) unsafe fn free(&mut self, p: NonNull<u8>) {
        // SAFETY: the caller hands over an unused page of the region, which
        // is page-aligned and at least a pointer in size.
        unsafe { p.as_ptr().cast::<*mut u8>().write(self.free) };
        if let Some(word) = self.word(p) {
            word.set(0);
        }
        // INVARIANT: `p` is unused and links the previous free list.
        self.free = p.as_ptr();
        self.live -= 1;
    }
}

/// Implements the geometry's `NodeMemory` for [`Pool`] with the identity
/// physical mapping; invoked inside each geometry module.
macro_rules! impl_pool_node_memory {
    () => {
        // SAFETY: The pool hands out each zeroed, page-aligned page once,
        // with the identity as physical mapping, and keeps the node words
        // beside each page for the tracker alone, cleared when the page is
        // freed, so they read 0 when it is allocated again.
        unsafe impl tree::NodeMemory for $crate::pool::Pool {
            #[inline]
            fn alloc_node(&mut self) -> Option<NonNull<abi::RadixNode>> {
                debug_assert_eq!(self.page_size(), abi::PAGE_SIZE);
                self.alloc().map(NonNull::cast)
            }

            #[inline]
            unsafe fn free_node(&mut self, node: NonNull<abi::RadixNode>) {
                // SAFETY: the caller guarantees `node` came from `alloc_node`
                // and is no longer used.
                unsafe { self.free(node.cast()) }
            }

            #[inline]
            fn virt_to_phys(&self, node: NonNull<abi::RadixNode>) -> u64 {
                node.as_ptr() as u64
            }

            #[inline]
            fn phys_to_virt(&self, phys: u64) -> NonNull<abi::RadixNode> {
                // Table entries are never 0 (checked by `add_key`).
                NonNull::new(phys as usize as *mut abi::RadixNode).unwrap_or(NonNull::dangling())
            }

            #[inline]
            unsafe fn node_word(
                &self,
                node: NonNull<abi::RadixNode>,
            ) -> Option<&::std::cell::Cell<usize>> {
                self.word(node.cast())
            }

            #[inline]
            unsafe fn leaf_word(
                &self,
                leaf: NonNull<abi::RadixLeaf>,
            ) -> Option<&::std::cell::Cell<usize>> {
                // The page's word, as for tables: a leaf is not a table.
                // SAFETY: the caller passes a leaf of a tree whose nodes
                // come from this pool (`alloc_node()`), so one of its pages.
                Some(unsafe { self.page_word(leaf.cast(), PAGE_SHIFT) })
            }

            #[inline]
            fn has_leaf_words(&self) -> bool {
                true
            }
        }
    };
}
pub(crate) use impl_pool_node_memory;

#[cfg(test)]
mod tests {
    use super::Pool;

    /// Every page of the pool has a word of its own, cleared when the page
    /// is freed, and nothing outside the pool has one.
    #[test]
    fn each_page_has_its_own_word() {
        for page_size in [4096, 16384, 65536] {
            let mut pool = Pool::new(page_size, 3);
            let pages: Vec<_> = (0..3).filter_map(|_| pool.alloc()).collect();
            assert_eq!(pages.len(), 3);
            for (i, &p) in pages.iter().enumerate() {
                let word = pool.word(p).expect("a page of the pool has a word");
                assert_eq!(word.get(), 0, "a new page's word is clear");
                word.set(i + 1);
            }
            for (i, &p) in pages.iter().enumerate() {
                assert_eq!(pool.word(p).map(|w| w.get()), Some(i + 1));
            }
            for &p in &pages {
                let addr = p.as_ptr() as u64;
                assert_eq!(pool.page_at(addr), Some(p), "a page of the pool");
                assert_eq!(pool.page_at(addr + 8), None, "not a page start");
            }
            let outside = pages[2].as_ptr().wrapping_add(page_size);
            assert_eq!(pool.page_at(outside as u64), None, "past the pool");
            assert!(pool
                .word(std::ptr::NonNull::new(outside).expect("not null"))
                .is_none());
            // SAFETY: `pages[1]` came from `pool.alloc()` and is not used.
            unsafe { pool.free(pages[1]) };
            let again = pool.alloc().expect("the freed page comes back");
            assert_eq!(again, pages[1]);
            assert_eq!(pool.word(again).map(|w| w.get()), Some(0));
        }
    }
}
