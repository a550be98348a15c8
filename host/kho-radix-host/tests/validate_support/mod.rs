// SPDX-License-Identifier: GPL-2.0

//! What the validator tests share: the simulated memory map (RAM, one
//! scratch area, where the random trees lie), and, per page size, the
//! helpers that build a tree, read and write its words, follow a key's
//! path and run the validator (`validate_support!`, expanded in each
//! test file's per-geometry module). Each test file uses some of them.

#![allow(dead_code)]

/// Simulated system RAM: `[0, RAM_END)`; the arena (at 4 GiB) is inside.
pub const RAM_END: u64 = 1 << 60;
/// Simulated KHO scratch area: `[SCRATCH_START, SCRATCH_END)`.
pub const SCRATCH_START: u64 = 0x8000_0000;
/// End of the scratch area.
pub const SCRATCH_END: u64 = 0x9000_0000;
/// Preserved ranges of the random trees lie in `[0, SCRATCH_START)`.
pub const PRESERVE_END: u64 = SCRATCH_START;
/// An aligned RAM address outside the arena and the scratch area.
pub const UNMAPPED: u64 = 0x4000_0000;
/// `MAX_PAGE_ORDER` of the simulated kernel.
pub const MAX_ORDER: u32 = 10;
/// Node limit of the tests.
pub const MAX_NODES: usize = 1 << 14;
/// What the scratch buffers hold before validation. The kernel passes memory
/// it did not clear (`memblock_alloc_raw()`), so the tests do too, with an
/// address inside the arena: an entry read before it is written would look
/// like a tree page and change the result.
pub const SCRATCH_FILL: u64 = 0x1_0001_0000;

/// The helpers of one page size, for the module `$geom` it is expanded in.
macro_rules! validate_support {
    ($geom:ident) => {
        #[allow(unused_imports)]
        use super::*;
        #[allow(unused_imports)]
        use kho_radix_host::$geom::kho_radix_abi::*;
        #[allow(unused_imports)]
        use kho_radix_host::$geom::kho_radix_tree::*;
        #[allow(unused_imports)]
        use kho_radix_host::$geom::kho_radix_validate::*;
        #[allow(unused_imports)]
        use kho_radix_host::$geom::{keys_and_nodes, new_arena, ArenaLayout, PAGE_SHIFT};
        #[allow(unused_imports)]
        use kho_radix_host::Arena;
        #[allow(unused_imports)]
        use std::cell::Cell;
        #[allow(unused_imports)]
        use std::mem::MaybeUninit;
        #[allow(unused_imports)]
        use std::ptr::NonNull;

        #[allow(dead_code)]
        const TOP: u32 = TREE_MAX_DEPTH - 1;
        #[allow(dead_code)]
        const PAGE: u64 = PAGE_SIZE as u64;

        /// RAM, scratch and the arena as the validator sees them.
        #[allow(dead_code)]
        type Layout<'a> = ArenaLayout<'a>;

        /// The tests' layout of `arena`.
        #[allow(dead_code)]
        fn layout(arena: &Arena) -> Layout<'_> {
            ArenaLayout::new(arena, RAM_END, (SCRATCH_START, SCRATCH_END))
        }

        #[allow(dead_code)]
        fn limits() -> Limits {
            Limits {
                max_nodes: MAX_NODES,
                max_order: MAX_ORDER,
            }
        }

        #[allow(dead_code)]
        fn validate_with(
            arena: &Arena,
            root: u64,
            limits: &Limits,
        ) -> Result<Stats, ValidationError> {
            let layout = layout(arena);
            let mut scratch = vec![MaybeUninit::new(SCRATCH_FILL); limits.max_nodes];
            // SAFETY: `node_ptr` only returns live arena pages, which are
            // aligned, `PAGE_SIZE` bytes and not written during the call.
            unsafe { validate_tree(&layout, root, limits, &mut scratch) }.map(|t| t.stats())
        }

        #[allow(dead_code)]
        fn validate(arena: &Arena, root: u64) -> Result<Stats, ValidationError> {
            validate_with(arena, root, &limits())
        }

        /// A tree holding `keys`, and its root address.
        #[allow(dead_code)]
        fn build_keys(keys: &[u64]) -> (Arena, u64) {
            let mut arena = new_arena();
            let root = alloc_root(&mut arena).expect("root");
            for &k in keys {
                // SAFETY: `root` is a valid tree in `arena`.
                assert_eq!(unsafe { add_key(&mut arena, root, k) }, Ok(()));
            }
            let root_phys = arena.phys_of(root.cast());
            (arena, root_phys)
        }

        /// A tree holding `(phys, order)` blocks, and its root address.
        #[allow(dead_code)]
        fn build(blocks: &[(u64, u32)]) -> (Arena, u64) {
            let keys: Vec<u64> = blocks.iter().map(|&(p, o)| encode_key(p, o)).collect();
            build_keys(&keys)
        }

        #[allow(dead_code)]
        fn word_ptr(arena: &Arena, page: u64, idx: usize) -> *mut u64 {
            assert!(idx < TABLE_ENTRIES);
            // SAFETY: `idx` is within the live page.
            unsafe { arena.virt_of(page).cast::<u64>().as_ptr().add(idx) }
        }

        #[allow(dead_code)]
        fn get(arena: &Arena, table: u64, idx: usize) -> u64 {
            // SAFETY: a word of a live page, nothing else accesses it.
            unsafe { word_ptr(arena, table, idx).read() }
        }

        #[allow(dead_code)]
        fn set(arena: &Arena, table: u64, idx: usize, val: u64) {
            // SAFETY: a word of a live page, nothing else accesses it.
            unsafe { word_ptr(arena, table, idx).write(val) }
        }

        /// Path of `key`: `(level, table, index)` from the root down; the
        /// entry at the last step is the leaf.
        #[allow(dead_code)]
        fn path(arena: &Arena, root: u64, key: u64) -> Vec<(u32, u64, usize)> {
            let mut out = Vec::new();
            let mut node = root;
            for level in (1..=TOP).rev() {
                let idx = table_index(key, level);
                out.push((level, node, idx));
                node = get(arena, node, idx);
                assert_ne!(node, 0, "key not in tree");
            }
            out
        }

        /// The `(level, table, index)` step of `key`'s path at `level`.
        #[allow(dead_code)]
        fn step(arena: &Arena, root: u64, key: u64, level: u32) -> (u32, u64, usize) {
            *path(arena, root, key)
                .iter()
                .find(|s| s.0 == level)
                .expect("level on path")
        }

        #[allow(dead_code)]
        fn err(
            level: u32,
            index: usize,
            value: u64,
            other: u64,
            kind: ErrorKind,
        ) -> ValidationError {
            ValidationError {
                level,
                index,
                value,
                other,
                kind,
            }
        }

        /// The error the key pass reports for the key of the `order` block
        /// at `phys`: in its leaf, at level 0, with the block's address.
        #[allow(dead_code)]
        fn key_err(phys: u64, order: u32, kind: ErrorKind) -> ValidationError {
            let key = encode_key(phys, order);
            err(0, bitmap_index(key), key, phys, kind)
        }

        /// The error the overlap pass reports for key `inner` inside the
        /// block of key `outer`.
        #[allow(dead_code)]
        fn overlap_err(inner: u64, outer: u64) -> ValidationError {
            err(0, bitmap_index(inner), inner, outer, ErrorKind::Overlap)
        }

        /// A page whose order-0 key takes another level-1 table than
        /// page 0's: its path leaves page 0's at level 2.
        #[allow(dead_code)]
        fn far_phys() -> u64 {
            (1u64 << level_shift(2)) << PAGE_SHIFT
        }

        /// `Layout` with one more hole in RAM, one more scratch area and a
        /// NUMA node boundary (`ArenaLayout`'s own), counting `is_ram()`
        /// calls.
        #[allow(dead_code)]
        struct Holes<'a> {
            inner: Layout<'a>,
            is_ram_calls: Cell<usize>,
        }

        /// Whether `[start, start + size)` meets the range `r`, for the
        /// tests' oracles.
        #[allow(dead_code)]
        fn hits(r: (u64, u64), start: u64, size: u64) -> bool {
            start < r.1 && r.0 < start.saturating_add(size)
        }

        impl PhysLayout for Holes<'_> {
            fn is_ram(&self, start: u64, size: u64) -> bool {
                self.is_ram_calls.set(self.is_ram_calls.get() + 1);
                self.inner.is_ram(start, size)
            }

            fn on_one_node(&self, start: u64, size: u64) -> bool {
                self.inner.on_one_node(start, size)
            }

            fn in_scratch(&self, start: u64, size: u64) -> bool {
                self.inner.in_scratch(start, size)
            }

            fn node_ptr(&self, phys: u64) -> Option<NonNull<RadixNode>> {
                self.inner.node_ptr(phys)
            }
        }

        /// Validates with `Holes`; also returns the number of `is_ram()`
        /// and `node_ptr()` calls.
        #[allow(dead_code)]
        fn validate_holes(
            arena: &Arena,
            root: u64,
            lim: &Limits,
            hole: (u64, u64),
            scratch: (u64, u64),
        ) -> (Result<Stats, ValidationError>, usize, usize) {
            validate_nodes(arena, root, lim, hole, scratch, 0)
        }

        /// [`validate_holes`] with a NUMA node boundary at `node_boundary`
        /// (0 for none).
        #[allow(dead_code)]
        fn validate_nodes(
            arena: &Arena,
            root: u64,
            lim: &Limits,
            hole: (u64, u64),
            scratch: (u64, u64),
            node_boundary: u64,
        ) -> (Result<Stats, ValidationError>, usize, usize) {
            let mut inner = layout(arena);
            inner.hole = hole;
            inner.scratch2 = scratch;
            inner.node_boundary = (node_boundary != 0).then_some(node_boundary);
            let layout = Holes {
                inner,
                is_ram_calls: Cell::new(0),
            };
            let mut buf = vec![MaybeUninit::new(SCRATCH_FILL); lim.max_nodes];
            // SAFETY: `node_ptr` only returns live arena pages.
            let r = unsafe { validate_tree(&layout, root, lim, &mut buf) }.map(|t| t.stats());
            (
                r,
                layout.is_ram_calls.get(),
                layout.inner.node_ptr_calls.get(),
            )
        }

        /// A page-aligned range of `n` pages from page `pfn`.
        #[allow(dead_code)]
        fn pages(pfn: u64, n: u64) -> (u64, u64) {
            (pfn * PAGE, (pfn + n) * PAGE)
        }

        /// Order-0 blocks at pages `base + i` for `i` in `offsets`.
        #[allow(dead_code)]
        fn run(base: u64, offsets: impl Iterator<Item = u64>) -> Vec<(u64, u32)> {
            offsets.map(|i| ((base + i) * PAGE, 0)).collect()
        }

        /// `Limits` allowing blocks of more than one leaf at order 0.
        #[allow(dead_code)]
        fn big_limits() -> Limits {
            Limits {
                max_nodes: MAX_NODES,
                max_order: BITMAP_SIZE_LOG2 + 2,
            }
        }

        /// A RAM address far from the arena and scratch, aligned to any
        /// block of `big_limits()`.
        #[allow(dead_code)]
        const FAR: u64 = 1 << 44;
    };
}
