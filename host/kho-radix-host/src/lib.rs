// SPDX-License-Identifier: GPL-2.0

//! Host build of the KHO radix tree core.
//!
//! Compiles `kho_radix_abi.rs` and `kho_radix_tree.rs` (with its modules in
//! `kho_radix_tree/`) from the repository root once per page size
//! ([`geom4k`], [`geom16k`], [`geom64k`]); each module defines the
//! `PAGE_SHIFT` the ABI file reads as `super::PAGE_SHIFT`.
//! [`Arena`] simulates physical memory for the tree nodes: page-aligned pages
//! with fake physical addresses, leak tracking and fault injection. Each
//! geometry's `ArenaLayout` is the validator's view of an arena (RAM bound,
//! one scratch area, counted node lookups), shared by the validation tests
//! and the `tree_image` fuzz target.

// The kernel's `rust_common_flags`, so that the shared files are checked
// with the lints they get in the kernel.
#![deny(unsafe_op_in_unsafe_fn, non_ascii_idents)]
#![warn(missing_docs, rust_2018_idioms, unreachable_pub)]
#![warn(
    clippy::all,
    clippy::as_ptr_cast_mut,
    clippy::as_underscore,
    clippy::cast_lossless,
    clippy::ignored_unit_patterns,
    clippy::mut_mut,
    clippy::needless_bitwise_bool,
    clippy::no_mangle_with_rust_abi,
    clippy::ptr_as_ptr,
    clippy::ptr_cast_constness,
    clippy::ref_as_ptr,
    clippy::undocumented_unsafe_blocks,
    clippy::unnecessary_safety_comment,
    clippy::unnecessary_safety_doc
)]
#![warn(rustdoc::missing_crate_level_docs, rustdoc::unescaped_backticks)]
// Loading the same files once per page size is the point of this crate.
#![allow(clippy::duplicate_mod)]

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ptr::NonNull;

pub mod geom16k;
pub mod geom4k;
pub mod geom64k;

/// Fake physical address of the first arena page.
pub const ARENA_BASE: u64 = 0x1_0000_0000;

/// Simulated physical memory: page-sized, page-aligned zeroed allocations
/// with fake physical addresses.
///
/// Physical addresses are never reused, so a stale table entry is caught by
/// [`Arena::virt_of`]. Every misuse (double free, unknown address) panics:
/// this is a test fixture.
pub struct Arena {
    page_size: usize,
    next_phys: u64,
    by_phys: BTreeMap<u64, NonNull<u8>>,
    by_virt: HashMap<usize, LivePage>,
    attempts: usize,
    fail_at: Option<usize>,
    quarantine: bool,
    free_log: Vec<u64>,
    no_words: bool,
    no_leaf_words: bool,
    lookups: Cell<usize>,
}

/// What the [`Arena`] knows of a live page besides its memory.
struct LivePage {
    /// Fake physical address.
    phys: u64,
    /// The word kept outside the page ([`Arena::word`]), unless it was
    /// allocated without one; boxed, so that its address stays put.
    word: Option<Box<Cell<usize>>>,
}

impl Arena {
    /// Creates an empty arena of `page_size`-byte pages.
    pub fn new(page_size: usize) -> Self {
        assert!(page_size.is_power_of_two() && page_size >= 4096);
        Arena {
            page_size,
            next_phys: ARENA_BASE,
            by_phys: BTreeMap::new(),
            by_virt: HashMap::new(),
            attempts: 0,
            fail_at: None,
            quarantine: false,
            free_log: Vec::new(),
            no_words: false,
            no_leaf_words: false,
            lookups: Cell::new(0),
        }
    }

    /// Number of table entries the tree has followed in this arena so far:
    /// its calls of `NodeMemory::phys_to_virt()`, which the tests count to
    /// tell a delete that found its leaf in the table cache's chunk leaves
    /// from one that looked it up.
    pub fn lookups(&self) -> usize {
        self.lookups.get()
    }

    /// Page size of this arena.
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    fn layout(&self) -> Layout {
        // The size is a power of two no smaller than 4096 (checked in `new`).
        Layout::from_size_align(self.page_size, self.page_size).expect("valid page layout")
    }

    /// Allocates a zeroed page, unless fault injection makes this attempt
    /// fail.
    pub fn alloc_page(&mut self) -> Option<NonNull<u8>> {
        let attempt = self.attempts;
        self.attempts += 1;
        if self.fail_at == Some(attempt) {
            self.fail_at = None;
            return None;
        }
        // SAFETY: the layout has a non-zero size.
        let p = NonNull::new(unsafe { alloc_zeroed(self.layout()) })?;
        let phys = self.next_phys;
        self.next_phys += self.page_size as u64;
        self.by_phys.insert(phys, p);
        let word = (!self.no_words).then(|| Box::new(Cell::new(0)));
        self.by_virt
            .insert(p.as_ptr() as usize, LivePage { phys, word });
        Some(p)
    }

    /// Whether pages allocated from now on get a word outside the page
    /// ([`Arena::word`], the tree's `NodeMemory::node_word()`); they do
    /// unless this was called with `false`, like the kernel's pages from
    /// memblock.
    pub fn keep_words(&mut self, keep: bool) {
        self.no_words = !keep;
    }

    /// Drops the word of every live page, as the next kernel sees none of
    /// a tree handed over to it: for a tree whose tables were written
    /// other than by the tracker, whose counts would no longer hold.
    pub fn forget_words(&mut self) {
        for page in self.by_virt.values_mut() {
            page.word = None;
        }
    }

    /// Whether the tree may keep witnesses in its leaves' words (its
    /// `NodeMemory::has_leaf_words()`): yes unless this was called with
    /// `false`, which makes the arena take the paths of a kernel without
    /// `CONFIG_SPARSEMEM_VMEMMAP` and of trees whose root came from
    /// `memblock`, whose node memory offers no leaf words. May change at
    /// any time: a leaf word is only a hint.
    pub fn offer_leaf_words(&mut self, offer: bool) {
        self.no_leaf_words = !offer;
    }

    /// See [`Arena::offer_leaf_words`].
    pub fn offers_leaf_words(&self) -> bool {
        !self.no_leaf_words
    }

    /// The word kept outside the live page `p`, if it has one.
    pub fn word(&self, p: NonNull<u8>) -> Option<&Cell<usize>> {
        self.by_virt.get(&(p.as_ptr() as usize))?.word.as_deref()
    }

    /// Frees a page.
    ///
    /// # Safety
    ///
    /// Nothing uses the page any more. Panics if `p` is not a live page.
    pub unsafe fn free_page(&mut self, p: NonNull<u8>) {
        let LivePage { phys, .. } = self
            .by_virt
            .remove(&(p.as_ptr() as usize))
            .expect("free of a page that is not live");
        self.by_phys.remove(&phys);
        self.free_log.push(phys);
        // Miri cannot call mprotect(); it reports any access to a page that
        // was deallocated below as undefined behaviour, which is stricter.
        if self.quarantine && !cfg!(miri) {
            // SAFETY: `p` is a live page of `page_size` bytes (a multiple of
            // the host page size) that nothing uses any more; it never goes
            // back to the allocator, so nothing else can map or use it.
            let res = unsafe {
                let addr = p.as_ptr().cast::<libc::c_void>();
                libc::madvise(addr, self.page_size, libc::MADV_DONTNEED);
                libc::mprotect(addr, self.page_size, libc::PROT_NONE)
            };
            assert_eq!(res, 0, "mprotect of a freed page failed");
            return;
        }
        // Scribble so that use after free shows up in the checks.
        // SAFETY: `p` is a live page of `page_size` bytes from `alloc_zeroed`
        // with this layout, and the caller no longer uses it.
        unsafe {
            p.as_ptr().write_bytes(0xa5, self.page_size);
            dealloc(p.as_ptr(), self.layout());
        }
    }

    /// Fake physical address of a live page; panics for anything else.
    pub fn phys_of(&self, p: NonNull<u8>) -> u64 {
        self.by_virt
            .get(&(p.as_ptr() as usize))
            .expect("virt_to_phys of a page that is not live")
            .phys
    }

    /// Page for a live fake physical address; panics for anything else.
    pub fn virt_of(&self, phys: u64) -> NonNull<u8> {
        *self
            .by_phys
            .get(&phys)
            .expect("phys_to_virt of an address that is not a live page")
    }

    /// Whether `phys` is a live page.
    pub fn is_live(&self, phys: u64) -> bool {
        self.by_phys.contains_key(&phys)
    }

    /// Number of live pages.
    pub fn live_pages(&self) -> usize {
        self.by_phys.len()
    }

    /// Physical addresses of the live pages.
    pub fn live_set(&self) -> BTreeSet<u64> {
        self.by_phys.keys().copied().collect()
    }

    /// Copy of every live page, by physical address.
    pub fn snapshot(&self) -> BTreeMap<u64, Vec<u8>> {
        self.by_phys
            .iter()
            .map(|(&phys, p)| {
                // SAFETY: `p` is a live page of `page_size` initialised bytes.
                let bytes = unsafe { std::slice::from_raw_parts(p.as_ptr(), self.page_size) };
                (phys, bytes.to_vec())
            })
            .collect()
    }

    /// Makes allocation attempt number `attempts() + n` fail (once); `None`
    /// disarms.
    pub fn fail_nth_alloc(&mut self, n: Option<usize>) {
        self.fail_at = n.map(|n| self.attempts + n);
    }

    /// Physical addresses of the pages freed since the last call, in order.
    pub fn take_free_log(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.free_log)
    }

    /// Makes pages freed from now on inaccessible instead of returning them
    /// to the allocator, so that any later access to a freed node faults
    /// (SIGSEGV) instead of reading whatever the allocator left there. The
    /// pages' memory is released, their addresses are never reused.
    pub fn quarantine_freed_pages(&mut self) {
        self.quarantine = true;
    }

    /// Number of allocation attempts so far, failed ones included.
    pub fn attempts(&self) -> usize {
        self.attempts
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        let layout = self.layout();
        for p in self.by_phys.values() {
            // SAFETY: every live page came from `alloc_zeroed(layout)`.
            unsafe { dealloc(p.as_ptr(), layout) };
        }
    }
}

/// Implements the geometry's `NodeMemory` for [`Arena`] and defines
/// `new_arena()`; invoked inside each geometry module.
#[macro_export]
macro_rules! impl_node_memory {
    () => {
        // SAFETY: The arena hands out each zeroed, page-aligned page once,
        // maps physical addresses of its pages to them and back, and keeps
        // the node and leaf words beside each page for the tracker alone,
        // cleared when the page is allocated.
        unsafe impl kho_radix_tree::NodeMemory for $crate::Arena {
            fn alloc_node(&mut self) -> Option<::std::ptr::NonNull<kho_radix_abi::RadixNode>> {
                assert_eq!(self.page_size(), kho_radix_abi::PAGE_SIZE);
                self.alloc_page().map(|p| p.cast())
            }

            unsafe fn free_node(&mut self, node: ::std::ptr::NonNull<kho_radix_abi::RadixNode>) {
                // SAFETY: the caller guarantees nothing uses `node` any more.
                unsafe { self.free_page(node.cast()) }
            }

            fn virt_to_phys(&self, node: ::std::ptr::NonNull<kho_radix_abi::RadixNode>) -> u64 {
                self.phys_of(node.cast())
            }

            fn phys_to_virt(&self, phys: u64) -> ::std::ptr::NonNull<kho_radix_abi::RadixNode> {
                self.lookups.set(self.lookups.get() + 1);
                self.virt_of(phys).cast()
            }

            unsafe fn node_word(
                &self,
                node: ::std::ptr::NonNull<kho_radix_abi::RadixNode>,
            ) -> Option<&::std::cell::Cell<usize>> {
                self.word(node.cast())
            }

            unsafe fn leaf_word(
                &self,
                leaf: ::std::ptr::NonNull<kho_radix_abi::RadixLeaf>,
            ) -> Option<&::std::cell::Cell<usize>> {
                // The page's word, as for tables: a leaf is not a table.
                self.word(leaf.cast())
            }

            fn has_leaf_words(&self) -> bool {
                self.offers_leaf_words()
            }
        }

        /// An empty arena with this geometry's page size.
        pub fn new_arena() -> $crate::Arena {
            $crate::Arena::new(kho_radix_abi::PAGE_SIZE)
        }

        /// The keys and the node addresses of the tree at `root`, in walk
        /// order (ascending keys; pre-order nodes).
        ///
        /// # Safety
        ///
        /// `root` is a valid tree for `arena`, as one the validator accepted
        /// is for reading.
        pub unsafe fn keys_and_nodes(
            arena: &$crate::Arena,
            root: ::std::ptr::NonNull<kho_radix_abi::RadixNode>,
        ) -> (Vec<u64>, Vec<u64>) {
            let (mut keys, mut nodes) = (Vec::new(), Vec::new());
            let mut leaf = |k: u64| {
                keys.push(k);
                0
            };
            let mut node = |p: u64| {
                nodes.push(p);
                0
            };
            // SAFETY: `root` is a valid tree for `arena` (caller); the
            // callbacks do not touch it, and return 0, so the walk is whole.
            unsafe { kho_radix_tree::walk(arena, root, Some(&mut leaf), Some(&mut node)) };
            (keys, nodes)
        }

        /// Physical memory as the validator sees it in the host tests: RAM
        /// is `[0, ram_end)` less an optional hole, one or two scratch
        /// areas, an optional NUMA node boundary, and the nodes are the
        /// arena's live pages. Counts the nodes looked up, so that tests can
        /// bound the validator's and the lookups' work.
        pub struct ArenaLayout<'a> {
            /// The pages of the tree.
            pub arena: &'a $crate::Arena,
            /// End of RAM (exclusive); ranges that wrap are never RAM.
            pub ram_end: u64,
            /// The scratch area `[start, end)`; empty if `start == end`.
            pub scratch: (u64, u64),
            /// A second scratch area, as `scratch`; empty from `new()`.
            pub scratch2: (u64, u64),
            /// A hole `[start, end)` in RAM; empty from `new()`.
            pub hole: (u64, u64),
            /// The first address of a second NUMA node, if any (none from
            /// `new()`).
            pub node_boundary: Option<u64>,
            /// Number of `node_ptr()` calls so far.
            pub node_ptr_calls: ::std::cell::Cell<usize>,
        }

        impl<'a> ArenaLayout<'a> {
            /// `arena`'s pages, with RAM `[0, ram_end)` and the scratch
            /// area `scratch`; no hole, one node, no lookups counted yet.
            pub fn new(arena: &'a $crate::Arena, ram_end: u64, scratch: (u64, u64)) -> Self {
                ArenaLayout {
                    arena,
                    ram_end,
                    scratch,
                    scratch2: (0, 0),
                    hole: (0, 0),
                    node_boundary: None,
                    node_ptr_calls: ::std::cell::Cell::new(0),
                }
            }
        }

        /// Whether `[start, end)` and `area` overlap (an empty one never
        /// does).
        fn overlaps(start: u64, end: u64, area: (u64, u64)) -> bool {
            start < area.1 && area.0 < end && start < end && area.0 < area.1
        }

        impl kho_radix_validate::PhysLayout for ArenaLayout<'_> {
            fn is_ram(&self, start: u64, size: u64) -> bool {
                start
                    .checked_add(size)
                    .is_some_and(|end| end <= self.ram_end && !overlaps(start, end, self.hole))
            }

            fn on_one_node(&self, start: u64, size: u64) -> bool {
                let end = start.saturating_add(size);
                self.node_boundary.is_none_or(|b| b <= start || end <= b)
            }

            fn in_scratch(&self, start: u64, size: u64) -> bool {
                let end = start.saturating_add(size);
                overlaps(start, end, self.scratch) || overlaps(start, end, self.scratch2)
            }

            fn node_ptr(&self, phys: u64) -> Option<::std::ptr::NonNull<kho_radix_abi::RadixNode>> {
                self.node_ptr_calls.set(self.node_ptr_calls.get() + 1);
                self.arena
                    .is_live(phys)
                    .then(|| self.arena.virt_of(phys).cast())
            }
        }
    };
}

/// Number of cases of the host proptests: `$PROPTEST_CASES` if set (`make
/// check` does not set it; a longer local run may), else `default`.
pub fn proptest_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `native` normally, `miri` under Miri (`make check-miri`), which
/// interprets the tests thousands of times slower than they run: for the
/// loop counts of the hand-made random tests. Under Miri the tests look for
/// undefined behaviour in the shared sources, not for coverage, so a few
/// rounds of each loop do.
pub const fn rounds(native: usize, miri: usize) -> usize {
    if cfg!(miri) {
        miri
    } else {
        native
    }
}
