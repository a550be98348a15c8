// SPDX-License-Identifier: GPL-2.0

//! Tests of `kho_radix_validate`: one test per corruption kind (each checks
//! that the tree is accepted before the corruption and rejected with the
//! expected error after it), tests of the word-at-a-time key pass (spans over
//! RAM holes, scratch areas and tree pages) and of the overlap search across
//! leaves and orders, a differential test of the verdict against a brute-force
//! model on 200 random trees, a property test that random valid trees are
//! accepted with the right statistics, and a fuzz-style test that random
//! mutations of a tree image never panic or hang and that whatever is
//! accepted really is a valid, overlap-free tree. Run for 4K, 16K and 64K
//! pages.

use proptest::prelude::*;
use std::mem::MaybeUninit;

/// Number of cases: `$PROPTEST_CASES` if set, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Simulated system RAM: `[0, RAM_END)`; the arena (at 4 GiB) is inside.
const RAM_END: u64 = 1 << 60;
/// Simulated KHO scratch area: `[SCRATCH_START, SCRATCH_END)`.
const SCRATCH_START: u64 = 0x8000_0000;
/// End of the scratch area.
const SCRATCH_END: u64 = 0x9000_0000;
/// Preserved ranges of the random trees lie in `[0, SCRATCH_START)`.
const PRESERVE_END: u64 = SCRATCH_START;
/// An aligned RAM address outside the arena and the scratch area.
const UNMAPPED: u64 = 0x4000_0000;
/// `MAX_PAGE_ORDER` of the simulated kernel.
const MAX_ORDER: u32 = 10;
/// Node limit of the tests.
const MAX_NODES: usize = 1 << 14;
/// What the scratch buffers hold before validation. The kernel passes memory
/// it did not clear (`memblock_alloc_raw()`), so the tests do too, with an
/// address inside the arena: an entry read before it is written would look
/// like a tree page and change the result.
const SCRATCH_FILL: u64 = 0x1_0001_0000;

/// One mutation of a tree image.
#[derive(Debug, Clone)]
enum Mutation {
    /// XOR a byte of a live page.
    Xor { page: usize, byte: usize, val: u8 },
    /// Store the address of a live page into a word of a live page.
    Link {
        page: usize,
        word: usize,
        target: usize,
    },
    /// Store an arbitrary value into a word of a live page.
    Raw { page: usize, word: usize, val: u64 },
    /// Store a near-miss of a live page's address (misaligned or next page).
    Near {
        page: usize,
        word: usize,
        target: usize,
        delta: i8,
    },
}

fn mutation_strategy() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<usize>(), 1u8..).prop_map(|(page, byte, val)| Mutation::Xor {
            page,
            byte,
            val
        }),
        (any::<usize>(), any::<usize>(), any::<usize>())
            .prop_map(|(page, word, target)| { Mutation::Link { page, word, target } }),
        (any::<usize>(), any::<usize>(), any::<u64>())
            .prop_map(|(page, word, val)| Mutation::Raw { page, word, val }),
        (any::<usize>(), any::<usize>(), any::<usize>(), any::<i8>()).prop_map(
            |(page, word, target, delta)| Mutation::Near {
                page,
                word,
                target,
                delta
            }
        ),
    ]
}

macro_rules! validate_tests {
    ($geom:ident, $cases:expr) => {
        mod $geom {
            use super::*;
            use kho_radix_host::$geom::kho_radix_abi::*;
            use kho_radix_host::$geom::kho_radix_tree::*;
            use kho_radix_host::$geom::kho_radix_validate::*;
            use kho_radix_host::$geom::{new_arena, ArenaLayout, PAGE_SHIFT};
            use kho_radix_host::Arena;
            use std::cell::Cell;
            use std::ptr::NonNull;

            const TOP: u32 = TREE_MAX_DEPTH - 1;
            const PAGE: u64 = PAGE_SIZE as u64;

            /// RAM, scratch and the arena as the validator sees them.
            type Layout<'a> = ArenaLayout<'a>;

            /// The tests' layout of `arena`.
            fn layout(arena: &Arena) -> Layout<'_> {
                ArenaLayout::new(arena, RAM_END, (SCRATCH_START, SCRATCH_END))
            }

            fn limits() -> Limits {
                Limits { max_nodes: MAX_NODES, max_order: MAX_ORDER }
            }

            fn validate_with(arena: &Arena, root: u64, limits: &Limits) -> Result<Stats, ValidationError> {
                let layout = layout(arena);
                let mut scratch = vec![MaybeUninit::new(SCRATCH_FILL); limits.max_nodes];
                // SAFETY: `node_ptr` only returns live arena pages, which are
                // aligned, `PAGE_SIZE` bytes and not written during the call.
                unsafe { validate_tree(&layout, root, limits, &mut scratch) }.map(|t| t.stats())
            }

            fn validate(arena: &Arena, root: u64) -> Result<Stats, ValidationError> {
                validate_with(arena, root, &limits())
            }

            /// A tree holding `keys`, and its root address.
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
            fn build(blocks: &[(u64, u32)]) -> (Arena, u64) {
                let keys: Vec<u64> = blocks.iter().map(|&(p, o)| encode_key(p, o)).collect();
                build_keys(&keys)
            }

            fn word_ptr(arena: &Arena, page: u64, idx: usize) -> *mut u64 {
                assert!(idx < TABLE_ENTRIES);
                // SAFETY: `idx` is within the live page.
                unsafe { arena.virt_of(page).cast::<u64>().as_ptr().add(idx) }
            }

            fn get(arena: &Arena, table: u64, idx: usize) -> u64 {
                // SAFETY: a word of a live page, nothing else accesses it.
                unsafe { word_ptr(arena, table, idx).read() }
            }

            fn set(arena: &Arena, table: u64, idx: usize, val: u64) {
                // SAFETY: a word of a live page, nothing else accesses it.
                unsafe { word_ptr(arena, table, idx).write(val) }
            }

            /// Path of `key`: `(level, table, index)` from the root down; the
            /// entry at the last step is the leaf.
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
            fn step(arena: &Arena, root: u64, key: u64, level: u32) -> (u32, u64, usize) {
                *path(arena, root, key).iter().find(|s| s.0 == level).expect("level on path")
            }

            fn err(level: u32, index: usize, value: u64, other: u64, kind: ErrorKind) -> ValidationError {
                ValidationError { level, index, value, other, kind }
            }

            /// A page whose order-0 key takes another level-1 table than
            /// page 0's: its path leaves page 0's at level 2.
            fn far_phys() -> u64 {
                (1u64 << level_shift(2)) << PAGE_SHIFT
            }

            #[test]
            fn valid_tree_stats() {
                let blocks = [(0, 0), (PAGE, 0), (64 * PAGE, 3), (1024 * PAGE, MAX_ORDER), (far_phys(), 0)];
                let (arena, root) = build(&blocks);
                let s = validate(&arena, root).expect("valid");
                let mut per = [0u64; ORDER_SLOTS];
                per[0] = 3;
                per[3] = 1;
                per[MAX_ORDER as usize] = 1;
                assert_eq!(s.keys, 5);
                assert_eq!(s.keys_per_order, per);
                assert_eq!(s.tables + s.leaves, arena.live_pages());
                // Adjacent blocks of different orders do not overlap.
                let (arena, root) = build(&[(0, 3), (8 * PAGE, 0), (16 * PAGE, 4), (15 * PAGE, 0)]);
                assert!(validate(&arena, root).is_ok());
                // An empty tree, and one with an empty leaf, are valid.
                let (arena, root) = build(&[]);
                assert_eq!(validate(&arena, root).map(|s| (s.tables, s.leaves, s.keys)), Ok((1, 0, 0)));
                let (mut arena, root) = build(&[(0, 0)]);
                let r = NonNull::new(arena.virt_of(root).cast::<RadixNode>().as_ptr()).expect("root");
                // SAFETY: `r` is a valid tree in `arena`.
                assert_eq!(unsafe { del_key(&mut arena, r, encode_key(0, 0)) }, Ok(()));
                assert_eq!(
                    validate(&arena, root).map(|s| (s.tables, s.leaves, s.keys)),
                    Ok((TOP as usize, 1, 0))
                );
            }

            #[test]
            fn root_checks() {
                let (arena, root) = build(&[(0, 0)]);
                assert!(validate(&arena, root).is_ok());
                let rl = ROOT_LEVEL;
                assert_eq!(validate(&arena, 0), Err(err(rl, 0, 0, 0, ErrorKind::RootZero)));
                assert_eq!(validate(&arena, root + 8), Err(err(rl, 0, root + 8, 0, ErrorKind::Misaligned)));
                assert_eq!(validate(&arena, RAM_END), Err(err(rl, 0, RAM_END, 0, ErrorKind::NotRam)));
                assert_eq!(
                    validate(&arena, SCRATCH_START),
                    Err(err(rl, 0, SCRATCH_START, 0, ErrorKind::InScratch))
                );
                assert_eq!(validate(&arena, UNMAPPED), Err(err(rl, 0, UNMAPPED, 0, ErrorKind::Unmapped)));
            }

            /// Replaces the level-1 entry of key 0's path by `val`; returns
            /// the tree and the `(level, index)` of the entry.
            fn corrupt_leaf_link(val: impl Fn(u64) -> u64) -> (Arena, u64, usize, u64) {
                let (arena, root) = build(&[(0, 0), (far_phys(), 0)]);
                assert!(validate(&arena, root).is_ok());
                let (_, table, idx) = step(&arena, root, encode_key(0, 0), 1);
                let v = val(get(&arena, table, idx));
                set(&arena, table, idx, v);
                (arena, root, idx, v)
            }

            #[test]
            fn misaligned_pointer() {
                let (arena, root, idx, v) = corrupt_leaf_link(|leaf| leaf + 8);
                assert_eq!(validate(&arena, root), Err(err(1, idx, v, 0, ErrorKind::Misaligned)));
                let (arena, root, idx, v) = corrupt_leaf_link(|leaf| leaf + PAGE / 2);
                assert_eq!(validate(&arena, root), Err(err(1, idx, v, 0, ErrorKind::Misaligned)));
            }

            #[test]
            fn pointer_outside_ram() {
                let (arena, root, idx, v) = corrupt_leaf_link(|_| RAM_END);
                assert_eq!(validate(&arena, root), Err(err(1, idx, v, 0, ErrorKind::NotRam)));
                let (arena, root, idx, v) = corrupt_leaf_link(|_| u64::MAX & !(PAGE - 1));
                assert_eq!(validate(&arena, root), Err(err(1, idx, v, 0, ErrorKind::NotRam)));
            }

            #[test]
            fn pointer_into_scratch() {
                let (arena, root, idx, v) = corrupt_leaf_link(|_| SCRATCH_START);
                assert_eq!(validate(&arena, root), Err(err(1, idx, v, 0, ErrorKind::InScratch)));
                let (arena, root, idx, v) = corrupt_leaf_link(|_| SCRATCH_END - PAGE);
                assert_eq!(validate(&arena, root), Err(err(1, idx, v, 0, ErrorKind::InScratch)));
            }

            #[test]
            fn pointer_unmapped() {
                let (arena, root, idx, v) = corrupt_leaf_link(|_| UNMAPPED);
                assert_eq!(validate(&arena, root), Err(err(1, idx, v, 0, ErrorKind::Unmapped)));
            }

            /// A layout that maps one node to a misaligned pointer.
            struct Skewed<'a> {
                inner: Layout<'a>,
                bad: u64,
            }

            impl PhysLayout for Skewed<'_> {
                fn is_ram(&self, start: u64, size: u64) -> bool {
                    self.inner.is_ram(start, size)
                }

                fn in_scratch(&self, start: u64, size: u64) -> bool {
                    self.inner.in_scratch(start, size)
                }

                fn node_ptr(&self, phys: u64) -> Option<NonNull<RadixNode>> {
                    let p = self.inner.node_ptr(phys)?;
                    if phys != self.bad {
                        return Some(p);
                    }
                    // Still inside the page; never dereferenced by the
                    // validator.
                    NonNull::new(p.as_ptr().cast::<u8>().wrapping_add(4).cast())
                }
            }

            #[test]
            fn misaligned_mapping_refused() {
                let (arena, root) = build(&[(0, 0)]);
                let (_, t1, i1) = step(&arena, root, encode_key(0, 0), 1);
                let leaf = get(&arena, t1, i1);
                for (bad, expect) in [
                    (leaf, err(1, i1, leaf, 0, ErrorKind::Unmapped)),
                    (root, err(ROOT_LEVEL, 0, root, 0, ErrorKind::Unmapped)),
                ] {
                    let layout = Skewed { inner: layout(&arena), bad };
                    let mut scratch = vec![MaybeUninit::new(SCRATCH_FILL); MAX_NODES];
                    // SAFETY: `node_ptr` returns live arena pages, or for
                    // `bad` a pointer the contract does not allow, which the
                    // validator must refuse before reading.
                    let r = unsafe { validate_tree(&layout, root, &limits(), &mut scratch) }.map(|t| t.stats());
                    assert_eq!(r, Err(expect));
                }
            }

            #[test]
            fn shared_leaf() {
                let (a, b) = (encode_key(0, 0), encode_key(far_phys(), 0));
                let (arena, root) = build_keys(&[a, b]);
                assert!(validate(&arena, root).is_ok());
                let (_, ta, ia) = step(&arena, root, a, 1);
                let (_, tb, ib) = step(&arena, root, b, 1);
                assert_ne!(ta, tb, "keys must use different level-1 tables");
                let leaf_a = get(&arena, ta, ia);
                set(&arena, tb, ib, leaf_a);
                assert_eq!(validate(&arena, root), Err(err(1, ib, leaf_a, 0, ErrorKind::SharedNode)));
            }

            #[test]
            fn shared_leaf_same_parent() {
                let a = encode_key(0, 0);
                let (arena, root) = build_keys(&[a]);
                let (_, t, i) = step(&arena, root, a, 1);
                let leaf = get(&arena, t, i);
                let j = (i + 1) % TABLE_ENTRIES;
                set(&arena, t, j, leaf);
                // Pre-order: the lower index is the first sighting.
                let second = i.max(j);
                assert_eq!(validate(&arena, root), Err(err(1, second, leaf, 0, ErrorKind::SharedNode)));
            }

            #[test]
            fn shared_table() {
                let (a, b) = (encode_key(0, 0), encode_key(far_phys(), 0));
                let (arena, root) = build_keys(&[a, b]);
                let (_, ta, ia) = step(&arena, root, a, 2);
                let (_, tb, ib) = step(&arena, root, b, 2);
                let t1 = get(&arena, ta, ia);
                if ta == tb {
                    assert_ne!(ia, ib);
                }
                set(&arena, tb, ib, t1);
                assert_eq!(validate(&arena, root), Err(err(2, ib, t1, 0, ErrorKind::SharedNode)));
            }

            #[test]
            fn cycle() {
                let a = encode_key(0, 0);
                let (arena, root) = build_keys(&[a]);
                // A level-2 table pointing back at the root.
                let (_, t2, i2) = step(&arena, root, a, 2);
                let j = (i2 + 1) % TABLE_ENTRIES;
                set(&arena, t2, j, root);
                assert_eq!(validate(&arena, root), Err(err(2, j, root, u64::from(TOP), ErrorKind::Cycle)));
                // A table pointing at itself.
                set(&arena, t2, j, t2);
                assert_eq!(validate(&arena, root), Err(err(2, j, t2, 2, ErrorKind::Cycle)));
                // A leaf link pointing at the root.
                set(&arena, t2, j, 0);
                assert!(validate(&arena, root).is_ok());
                let (_, t1, i1) = step(&arena, root, a, 1);
                let k = (i1 + 1) % TABLE_ENTRIES;
                set(&arena, t1, k, root);
                assert_eq!(validate(&arena, root), Err(err(1, k, root, u64::from(TOP), ErrorKind::Cycle)));
            }

            #[test]
            fn order_too_large() {
                let big = MAX_ORDER + 1;
                let key = encode_key(0, big);
                let (arena, root) = build_keys(&[key]);
                let lim = Limits { max_nodes: MAX_NODES, max_order: big };
                assert!(validate_with(&arena, root, &lim).is_ok());
                let e = validate(&arena, root).expect_err("order above limit");
                assert_eq!((e.level, e.value, e.other, e.kind), (0, key, u64::from(big), ErrorKind::OrderTooLarge));
                assert_eq!(e.index, bitmap_index(key));
                // The highest order the encoding has.
                let key = encode_key(0, MAX_KEY_ORDER);
                assert_eq!(key, 2);
                let (arena, root) = build_keys(&[key]);
                let e = validate(&arena, root).expect_err("order above limit");
                assert_eq!((e.index, e.value, e.kind), (2, 2, ErrorKind::OrderTooLarge));
            }

            #[test]
            fn undecodable_keys() {
                for key in [0u64, 1] {
                    let (arena, root) = build_keys(&[key]);
                    assert_eq!(
                        validate(&arena, root),
                        Err(err(0, key as usize, key, 0, ErrorKind::BadKey))
                    );
                }
            }

            #[test]
            fn key_out_of_range() {
                let (mut arena, root) = build(&[(0, 0)]);
                assert!(validate(&arena, root).is_ok());
                // A root entry whose index puts bits above KEY_WIDTH.
                let page = arena.alloc_page().expect("page");
                let phys = arena.phys_of(page);
                let idx = TABLE_ENTRIES - 1;
                assert!(!key_in_range((idx as u64) << level_shift(TOP)));
                set(&arena, root, idx, phys);
                assert_eq!(validate(&arena, root), Err(err(TOP, idx, phys, 0, ErrorKind::KeyOutOfRange)));
            }

            #[test]
            fn overlap_across_orders() {
                let (arena, root) = build(&[(0, 3)]);
                assert!(validate(&arena, root).is_ok());
                let outer = encode_key(0, 3);
                for p in [0, PAGE, 7 * PAGE] {
                    let inner = encode_key(p, 0);
                    let (arena, root) = build_keys(&[outer, inner]);
                    assert_eq!(
                        validate(&arena, root),
                        Err(err(0, bitmap_index(inner), inner, outer, ErrorKind::Overlap))
                    );
                }
                // Three levels of nesting; reported at the first inner key
                // in walk order (higher orders first).
                let (a, b, c) = (encode_key(0, MAX_ORDER), encode_key(16 * PAGE, 4), encode_key(17 * PAGE, 0));
                let (arena, root) = build_keys(&[a, b, c]);
                assert_eq!(validate(&arena, root), Err(err(0, bitmap_index(b), b, a, ErrorKind::Overlap)));
                let (arena, root) = build_keys(&[b, c]);
                assert_eq!(validate(&arena, root), Err(err(0, bitmap_index(c), c, b, ErrorKind::Overlap)));
            }

            #[test]
            fn range_covers_tree_node() {
                let (arena, root) = build(&[(0, 0)]);
                let (_, t1, i1) = step(&arena, root, encode_key(0, 0), 1);
                let leaf = get(&arena, t1, i1);
                // Preserve the root page, then a block around the leaf.
                for (phys, order, node) in [(root, 0, root), (leaf & !((PAGE << 2) - 1), 2, leaf)] {
                    let (mut arena, r) = build(&[(0, 0)]);
                    assert_eq!((r, leaf), (root, get(&arena, t1, i1)), "arena layout is deterministic");
                    let rp = NonNull::new(arena.virt_of(r).cast::<RadixNode>().as_ptr()).expect("root");
                    let key = encode_key(phys, order);
                    // SAFETY: `rp` is a valid tree in `arena`.
                    assert_eq!(unsafe { add_key(&mut arena, rp, key) }, Ok(()));
                    let e = validate(&arena, r).expect_err("covers a node");
                    assert_eq!((e.level, e.value, e.kind), (0, key, ErrorKind::CoversNode));
                    assert!(e.other >= phys && e.other < phys + (PAGE << order));
                    let _ = node;
                }
            }

            /// The key pass looks for tree pages from where its last search
            /// ended; keys come in key order, higher orders first, so a
            /// lower order's key can lie below everything searched before.
            #[test]
            fn covered_node_found_after_a_higher_order_key() {
                // An order-1 key above every arena page moves the search
                // past all nodes; the order-0 key on the root page comes
                // after it in key order.
                let high = 1u64 << 40;
                let (mut arena, root) = build(&[(high, 1)]);
                let rp = NonNull::new(arena.virt_of(root).cast::<RadixNode>().as_ptr()).expect("root");
                let key = encode_key(root, 0);
                assert!(encode_key(high, 1) < key, "the order-1 key is checked first");
                // SAFETY: `rp` is a valid tree in `arena`.
                assert_eq!(unsafe { add_key(&mut arena, rp, key) }, Ok(()));
                let e = validate(&arena, root).expect_err("covers the root page");
                assert_eq!((e.level, e.value, e.other, e.kind), (0, key, root, ErrorKind::CoversNode));
            }

            #[test]
            fn range_outside_ram_or_in_scratch() {
                let key = encode_key(RAM_END, 0);
                let (arena, root) = build_keys(&[key]);
                assert_eq!(
                    validate(&arena, root),
                    Err(err(0, bitmap_index(key), key, RAM_END, ErrorKind::RangeNotRam))
                );
                let key = encode_key(SCRATCH_START + PAGE, 0);
                let (arena, root) = build_keys(&[key]);
                assert_eq!(
                    validate(&arena, root),
                    Err(err(0, bitmap_index(key), key, SCRATCH_START + PAGE, ErrorKind::RangeInScratch))
                );
                // The last block of the address space does not fit.
                let top = u64::MAX & !(PAGE - 1);
                let key = encode_key(top, 0);
                let (arena, root) = build_keys(&[key]);
                assert_eq!(validate(&arena, root), Err(err(0, bitmap_index(key), key, top, ErrorKind::RangeNotRam)));
            }

            /// `Layout` with one more hole in RAM and one more scratch area
            /// (empty ranges for none), counting `is_ram()` calls.
            struct Holes<'a> {
                inner: Layout<'a>,
                hole: (u64, u64),
                scratch: (u64, u64),
                is_ram_calls: Cell<usize>,
            }

            fn hits(r: (u64, u64), start: u64, size: u64) -> bool {
                start < r.1 && r.0 < start.saturating_add(size)
            }

            impl PhysLayout for Holes<'_> {
                fn is_ram(&self, start: u64, size: u64) -> bool {
                    self.is_ram_calls.set(self.is_ram_calls.get() + 1);
                    self.inner.is_ram(start, size) && !hits(self.hole, start, size)
                }

                fn in_scratch(&self, start: u64, size: u64) -> bool {
                    self.inner.in_scratch(start, size) || hits(self.scratch, start, size)
                }

                fn node_ptr(&self, phys: u64) -> Option<NonNull<RadixNode>> {
                    self.inner.node_ptr(phys)
                }
            }

            /// Validates with `Holes`; also returns the number of `is_ram()`
            /// and `node_ptr()` calls.
            fn validate_holes(
                arena: &Arena,
                root: u64,
                lim: &Limits,
                hole: (u64, u64),
                scratch: (u64, u64),
            ) -> (Result<Stats, ValidationError>, usize, usize) {
                let inner = layout(arena);
                let layout = Holes { inner, hole, scratch, is_ram_calls: Cell::new(0) };
                let mut buf = vec![MaybeUninit::new(SCRATCH_FILL); lim.max_nodes];
                // SAFETY: `node_ptr` only returns live arena pages.
                let r = unsafe { validate_tree(&layout, root, lim, &mut buf) }.map(|t| t.stats());
                (r, layout.is_ram_calls.get(), layout.inner.node_ptr_calls.get())
            }

            /// A page-aligned range of `n` pages from page `pfn`.
            fn pages(pfn: u64, n: u64) -> (u64, u64) {
                (pfn * PAGE, (pfn + n) * PAGE)
            }

            /// Order-0 blocks at pages `base + i` for `i` in `offsets`.
            fn run(base: u64, offsets: impl Iterator<Item = u64>) -> Vec<(u64, u32)> {
                offsets.map(|i| ((base + i) * PAGE, 0)).collect()
            }

            #[test]
            fn word_span_over_ram_hole() {
                // One bitmap word: 64 pages from a multiple of 64.
                let base = 64 * 7;
                let (arena, root) = build(&run(base, (0..64).filter(|&i| i != 5)));
                // All keys fine, but the span of the word crosses the hole.
                let (r, _, _) = validate_holes(&arena, root, &limits(), pages(base + 5, 1), (0, 0));
                assert_eq!(r.map(|s| s.keys), Ok(63));
                // A hole under one key: exactly that key is reported.
                let (arena, root) = build(&run(base, 0..64));
                let key = encode_key((base + 5) * PAGE, 0);
                let (r, _, _) = validate_holes(&arena, root, &limits(), pages(base + 5, 1), (0, 0));
                assert_eq!(r, Err(err(0, bitmap_index(key), key, (base + 5) * PAGE, ErrorKind::RangeNotRam)));
                // Two holes' worth of faults: the first key in key order.
                let (r, _, _) = validate_holes(&arena, root, &limits(), pages(base + 9, 1), pages(base + 3, 1));
                let key = encode_key((base + 3) * PAGE, 0);
                assert_eq!(r, Err(err(0, bitmap_index(key), key, (base + 3) * PAGE, ErrorKind::RangeInScratch)));
                // A hole right after the last key or before the first one
                // does not matter.
                let (arena, root) = build(&run(base, 1..63));
                for hole in [pages(base, 1), pages(base + 63, 1)] {
                    let (r, _, _) = validate_holes(&arena, root, &limits(), hole, (0, 0));
                    assert_eq!(r.map(|s| s.keys), Ok(62));
                }
            }

            #[test]
            fn word_span_over_scratch() {
                let base = 64 * 9;
                let (arena, root) = build(&run(base, (0..64).filter(|&i| !(20..30).contains(&i))));
                let (r, _, _) = validate_holes(&arena, root, &limits(), (0, 0), pages(base + 20, 10));
                assert_eq!(r.map(|s| s.keys), Ok(54));
                // Scratch reaching one key.
                let (r, _, _) = validate_holes(&arena, root, &limits(), (0, 0), pages(base + 20, 11));
                let key = encode_key((base + 30) * PAGE, 0);
                assert_eq!(r, Err(err(0, bitmap_index(key), key, (base + 30) * PAGE, ErrorKind::RangeInScratch)));
                // Higher orders: 8 blocks of order 3 in one word, the
                // middle one missing and in scratch, then one in scratch.
                let blocks: Vec<(u64, u32)> =
                    (0..8).filter(|&i| i != 4).map(|i| ((base * 64 + i * 8) * PAGE, 3)).collect();
                let (arena, root) = build(&blocks);
                let gap = pages(base * 64 + 32, 8);
                let (r, _, _) = validate_holes(&arena, root, &limits(), (0, 0), gap);
                assert_eq!(r.map(|s| s.keys_per_order[3]), Ok(7));
                let (r, _, _) = validate_holes(&arena, root, &limits(), (0, 0), (gap.0, gap.1 + 1));
                let key = encode_key((base * 64 + 40) * PAGE, 3);
                assert_eq!(r, Err(err(0, bitmap_index(key), key, (base * 64 + 40) * PAGE, ErrorKind::RangeInScratch)));
            }

            #[test]
            fn word_span_over_tree_page() {
                // A page ahead of the root, so that the tree pages (root and
                // the tables of the first path) are in the middle of a word.
                let mut arena = new_arena();
                let pad = arena.alloc_page().expect("page");
                let first = arena.phys_of(pad) / PAGE;
                assert_eq!(first % 64, 0, "arena starts at a word boundary");
                let r = alloc_root(&mut arena).expect("root");
                let root = arena.phys_of(r.cast());
                let add = |arena: &mut Arena, pfn: u64| {
                    // SAFETY: `r` is a valid tree in `arena`.
                    assert_eq!(unsafe { add_key(arena, r, encode_key(pfn * PAGE, 0)) }, Ok(()));
                };
                add(&mut arena, first + 63);
                let nodes: Vec<u64> = arena.live_set().into_iter().filter(|&p| p != first * PAGE).collect();
                let end = first + 1 + nodes.len() as u64;
                assert!(nodes.iter().all(|&p| p >= (first + 1) * PAGE && p < end * PAGE));
                assert!(end < first + 63);
                // The padding page and every page after the tree pages.
                add(&mut arena, first);
                for pfn in end..first + 63 {
                    add(&mut arena, pfn);
                }
                assert_eq!(arena.live_pages(), nodes.len() + 1, "no new tree page");
                let s = validate(&arena, root).expect("valid");
                assert_eq!(s.keys, 64 - nodes.len() as u64);
                // Now one key on the last tree page.
                let key = encode_key((end - 1) * PAGE, 0);
                // SAFETY: `r` is a valid tree in `arena`.
                assert_eq!(unsafe { add_key(&mut arena, r, key) }, Ok(()));
                assert_eq!(
                    validate(&arena, root),
                    Err(err(0, bitmap_index(key), key, (end - 1) * PAGE, ErrorKind::CoversNode))
                );
            }

            #[test]
            fn word_fast_path_is_used() {
                // 8 full words: pass 2 needs one `is_ram` per word, not per
                // key, on top of one per node for each walk.
                let (arena, root) = build(&run(64 * 3, 0..512));
                let (r, calls, _) = validate_holes(&arena, root, &limits(), (0, 0), (0, 0));
                let s = r.expect("valid");
                assert_eq!(s.keys, 512);
                assert!(calls <= 3 * (s.tables + s.leaves + 1) + 8, "{calls} is_ram calls");
            }

            /// `Limits` allowing blocks of more than one leaf at order 0.
            fn big_limits() -> Limits {
                Limits { max_nodes: MAX_NODES, max_order: BITMAP_SIZE_LOG2 + 2 }
            }

            /// A RAM address far from the arena and scratch, aligned to any
            /// block of `big_limits()`.
            const FAR: u64 = 1 << 44;

            #[test]
            fn overlap_in_other_leaf() {
                let h = BITMAP_SIZE_LOG2 + 2;
                let outer = encode_key(FAR, h);
                let bits = BITMAP_BITS as u64;
                // Outside the block, before and after it: fine.
                let (arena, root) = build(&[(FAR, h), (FAR - PAGE, 0), (FAR + (PAGE << h), 0)]);
                assert!(validate_with(&arena, root, &big_limits()).is_ok());
                // Inside, in the third leaf of the range, and in the last
                // page of the block (the last leaf).
                for pfn in [2 * bits + 5, 4 * bits - 1, 2 * bits - 1, 3 * bits - 1, bits, 0] {
                    let inner = encode_key(FAR + pfn * PAGE, 0);
                    let (arena, root) = build_keys(&[outer, inner, encode_key(FAR - PAGE, 0)]);
                    assert_eq!(
                        validate_with(&arena, root, &big_limits()),
                        Err(err(0, bitmap_index(inner), inner, outer, ErrorKind::Overlap)),
                        "pfn {pfn:#x}"
                    );
                }
                // The lowest key is reported, in a leaf after empty ones.
                let (a, b) = (encode_key(FAR + (3 * bits + 7) * PAGE, 0), encode_key(FAR + (3 * bits + 9) * PAGE, 0));
                let (mut arena, root) = build_keys(&[outer, b, a]);
                let rp = NonNull::new(arena.virt_of(root).cast::<RadixNode>().as_ptr()).expect("root");
                // An empty leaf in the range, ahead of the one with keys.
                let c = encode_key(FAR + (bits + 1) * PAGE, 0);
                // SAFETY: `rp` is a valid tree in `arena`.
                unsafe {
                    assert_eq!(add_key(&mut arena, rp, c), Ok(()));
                    assert_eq!(del_key(&mut arena, rp, c), Ok(()));
                }
                assert_eq!(
                    validate_with(&arena, root, &big_limits()),
                    Err(err(0, bitmap_index(a), a, outer, ErrorKind::Overlap))
                );
                // Order 1 in the last two pages.
                let inner = encode_key(FAR + (PAGE << h) - 2 * PAGE, 1);
                let (arena, root) = build_keys(&[outer, inner]);
                assert_eq!(
                    validate_with(&arena, root, &big_limits()),
                    Err(err(0, bitmap_index(inner), inner, outer, ErrorKind::Overlap))
                );
            }

            #[test]
            fn overlap_several_orders() {
                let outer = encode_key(FAR, MAX_ORDER);
                let o5 = encode_key(FAR + (PAGE << MAX_ORDER) - (PAGE << 5), 5);
                let o3 = encode_key(FAR + 8 * PAGE, 3);
                let o0 = encode_key(FAR + 9 * PAGE, 0);
                // The nearest lower order is reported first, whatever the
                // addresses.
                let (arena, root) = build_keys(&[outer, o5, o3, o0]);
                assert_eq!(validate(&arena, root), Err(err(0, bitmap_index(o5), o5, outer, ErrorKind::Overlap)));
                let (arena, root) = build_keys(&[outer, o3, o0]);
                assert_eq!(validate(&arena, root), Err(err(0, bitmap_index(o3), o3, outer, ErrorKind::Overlap)));
                // Outer blocks are taken in key order (higher orders first):
                // an order-5 block holding a page, beside an order-10 block
                // holding nothing.
                let beside = encode_key(FAR + (PAGE << MAX_ORDER), MAX_ORDER);
                let (arena, root) = build_keys(&[beside, o5, o0]);
                assert!(validate(&arena, root).is_ok());
                let p = encode_key(FAR + (PAGE << MAX_ORDER) - PAGE, 0);
                let (arena, root) = build_keys(&[beside, o5, o0, o3]);
                assert_eq!(validate(&arena, root), Err(err(0, bitmap_index(o0), o0, o3, ErrorKind::Overlap)));
                // With `p` inside `o5` too, `o5` comes first (a lower key).
                let (arena, root) = build_keys(&[beside, o5, o0, p, o3]);
                assert_eq!(validate(&arena, root), Err(err(0, bitmap_index(p), p, o5, ErrorKind::Overlap)));
                // Orders 0 and 1 only: the order-1 leaf is searched.
                let o1 = encode_key(FAR + 2 * PAGE, 1);
                let (arena, root) = build_keys(&[o1, encode_key(FAR + PAGE, 0), encode_key(FAR + 4 * PAGE, 0)]);
                assert!(validate(&arena, root).is_ok());
                let inner = encode_key(FAR + 3 * PAGE, 0);
                let (arena, root) = build_keys(&[o1, encode_key(FAR + PAGE, 0), inner]);
                assert_eq!(validate(&arena, root), Err(err(0, bitmap_index(inner), inner, o1, ErrorKind::Overlap)));
                // Many orders present, none nested.
                let blocks: Vec<(u64, u32)> = (0..=MAX_ORDER).map(|o| (FAR + (PAGE << MAX_ORDER) * u64::from(o + 1), o)).collect();
                let (arena, root) = build(&blocks);
                assert!(validate(&arena, root).is_ok());
            }

            #[test]
            fn overlap_huge_orders_bounded() {
                // Blocks spanning 2^30 and more leaves: the search visits the
                // leaves that exist, not every leaf number in the range.
                let h = 59 - PAGE_SHIFT;
                let base = 1u64 << 59;
                let lim = Limits { max_nodes: MAX_NODES, max_order: MAX_KEY_ORDER };
                let outer = encode_key(base, h);
                let below = encode_key(base - PAGE, 0);
                let (arena, root) = build_keys(&[outer, below, encode_key(base - (PAGE << 6), 5)]);
                let (r, _, calls) = validate_holes(&arena, root, &lim, (0, 0), (0, 0));
                let s = r.expect("valid");
                assert!(calls <= 4 * (s.tables + s.leaves), "{calls} node_ptr calls");
                let inner = encode_key(base + (PAGE << h) - (PAGE << 5), 5);
                let (arena, root) = build_keys(&[outer, below, inner, encode_key(base + (PAGE << (h - 1)), 0)]);
                assert_eq!(
                    validate_with(&arena, root, &lim),
                    Err(err(0, bitmap_index(inner), inner, outer, ErrorKind::Overlap))
                );
            }

            /// xorshift64*: a fixed-seed generator for the differential test.
            struct Rng(u64);

            impl Rng {
                fn next(&mut self) -> u64 {
                    self.0 ^= self.0 >> 12;
                    self.0 ^= self.0 << 25;
                    self.0 ^= self.0 >> 27;
                    self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
                }

                fn below(&mut self, n: u64) -> u64 {
                    self.next() % n
                }
            }

            /// What the validator must report for `keys` (distinct, in RAM
            /// outside the arena), by brute force: the first key in key
            /// order in the hole or the scratch area, else the first key in
            /// key order whose block holds another key, with the one of the
            /// highest order inside it, lowest first.
            fn model(keys: &[u64], hole: (u64, u64), scratch: (u64, u64)) -> Result<(), ValidationError> {
                let mut keys = keys.to_vec();
                keys.sort_unstable();
                let range = |k: u64| {
                    let (p, o) = decode_key(k).expect("decodes");
                    (p, PAGE << o, o)
                };
                for &k in &keys {
                    let (p, size, _) = range(k);
                    if hits(hole, p, size) {
                        return Err(err(0, bitmap_index(k), k, p, ErrorKind::RangeNotRam));
                    }
                    if hits(scratch, p, size) {
                        return Err(err(0, bitmap_index(k), k, p, ErrorKind::RangeInScratch));
                    }
                }
                for &outer in &keys {
                    let (p, size, h) = range(outer);
                    let inner = keys
                        .iter()
                        .filter(|&&k| k != outer)
                        .map(|&k| (k, range(k)))
                        .filter(|&(_, (q, qs, _))| q < p + size && p < q + qs)
                        .inspect(|&(_, (_, _, o))| assert_ne!(o, h, "same order cannot overlap"))
                        .filter(|&(_, (_, _, o))| o < h)
                        .max_by_key(|&(k, (_, _, o))| (o, std::cmp::Reverse(k)));
                    if let Some((k, _)) = inner {
                        return Err(err(0, bitmap_index(k), k, outer, ErrorKind::Overlap));
                    }
                }
                Ok(())
            }

            #[test]
            fn differential_against_brute_force() {
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
                let lim = big_limits();
                // Orders around 0, MAX_ORDER and one leaf of order-0 keys.
                let b = BITMAP_SIZE_LOG2;
                let orders = [0, 0, 0, 1, 2, 3, 5, 9, MAX_ORDER, b - 1, b, b + 1, b + 2];
                // The window: 8 blocks of the largest order.
                let window = 8u64 << (b + 2);
                let (mut ok, mut overlaps, mut faults) = (0, 0, 0);
                for case in 0..200 {
                    let n = 1 + rng.below(12);
                    let mut keys: Vec<u64> = Vec::new();
                    for _ in 0..n {
                        let o = orders[rng.below(orders.len() as u64) as usize];
                        // Mostly small offsets, so that small blocks meet.
                        let span = if rng.below(2) == 0 { 1u64 << (b + 1) } else { window };
                        let pfn = rng.below(span) >> o << o;
                        let k = encode_key(FAR + pfn * PAGE, o);
                        if !keys.contains(&k) {
                            keys.push(k);
                        }
                    }
                    let pick = |rng: &mut Rng| {
                        if rng.below(3) == 0 {
                            let at = rng.below(1 << (b + 1));
                            pages(FAR / PAGE + at, 1 + rng.below(3))
                        } else {
                            (0, 0)
                        }
                    };
                    let hole = pick(&mut rng);
                    let scratch = pick(&mut rng);
                    let (arena, root) = build_keys(&keys);
                    let (r, _, _) = validate_holes(&arena, root, &lim, hole, scratch);
                    let want = model(&keys, hole, scratch);
                    match (&r, want) {
                        (Ok(s), Ok(())) => {
                            assert_eq!(s.keys, keys.len() as u64);
                            ok += 1;
                        }
                        (Err(e), Err(w)) => {
                            assert_eq!(*e, w, "case {case}: keys {keys:x?}, hole {hole:x?}, scratch {scratch:x?}");
                            if e.kind == ErrorKind::Overlap {
                                overlaps += 1;
                            } else {
                                faults += 1;
                            }
                        }
                        _ => panic!("case {case}: got {r:?}, want {want:?}, keys {keys:x?}"),
                    }
                }
                assert!(ok >= 20 && overlaps >= 20 && faults >= 10, "ok {ok}, overlaps {overlaps}, faults {faults}");
            }

            #[test]
            fn node_bound() {
                let (arena, root) = build(&[(0, 0), (far_phys(), 0)]);
                let s = validate(&arena, root).expect("valid");
                let n = s.tables + s.leaves;
                let exact = Limits { max_nodes: n, max_order: MAX_ORDER };
                assert_eq!(validate_with(&arena, root, &exact), Ok(s));
                let short = Limits { max_nodes: n - 1, max_order: MAX_ORDER };
                let e = validate_with(&arena, root, &short).expect_err("bound");
                assert_eq!((e.kind, e.other), (ErrorKind::TooManyNodes, (n - 1) as u64));
                let none = Limits { max_nodes: 0, max_order: MAX_ORDER };
                assert_eq!(
                    validate_with(&arena, root, &none),
                    Err(err(ROOT_LEVEL, 0, root, 0, ErrorKind::TooManyNodes))
                );
                // A scratch buffer shorter than the bound is refused.
                let layout = layout(&arena);
                let mut scratch = vec![MaybeUninit::new(SCRATCH_FILL); n - 1];
                // SAFETY: `node_ptr` only returns live arena pages.
                let r = unsafe { validate_tree(&layout, root, &exact, &mut scratch) }.map(|t| t.stats());
                assert_eq!(r, Err(err(ROOT_LEVEL, 0, (n - 1) as u64, n as u64, ErrorKind::ScratchTooSmall)));
                assert_eq!(layout.node_ptr_calls.get(), 0);
                // A longer scratch buffer does not raise the bound.
                let mut scratch = vec![MaybeUninit::new(SCRATCH_FILL); 2 * n];
                // SAFETY: `node_ptr` only returns live arena pages.
                let r = unsafe { validate_tree(&layout, root, &short, &mut scratch) }.map(|t| t.stats());
                assert_eq!(r.map_err(|e| (e.kind, e.other)), Err((ErrorKind::TooManyNodes, (n - 1) as u64)));
            }

            #[test]
            fn error_kind_names() {
                assert_eq!(ErrorKind::Overlap.name(), "preserved ranges overlap");
                assert_eq!(err(0, 0, 0, 0, ErrorKind::Cycle).to_errno(), -22);
            }

            /// Non-overlapping `(phys, order)` blocks in `[0, PRESERVE_END)`
            /// from random `(slot, order)` picks.
            fn blocks_from(picks: &[(u64, u32)]) -> Vec<(u64, u32)> {
                let mut out: Vec<(u64, u32)> = Vec::new();
                for &(slot, order) in picks {
                    let size = PAGE << order;
                    let phys = (slot % (PRESERVE_END / size)) * size;
                    let overlaps = out.iter().any(|&(p, o)| phys < p + (PAGE << o) && p < phys + size);
                    if !overlaps {
                        out.push((phys, order));
                    }
                }
                out
            }

            /// Independent check of an accepted tree: the tree core walks it
            /// without touching anything but live pages, agrees on the
            /// counts, and its ranges are in RAM, outside scratch, disjoint
            /// from each other and from the tree pages.
            fn check_accepted(arena: &Arena, root: u64, s: &Stats) {
                let r = NonNull::new(arena.virt_of(root).cast::<RadixNode>().as_ptr()).expect("root");
                let mut keys = Vec::new();
                let mut nodes = Vec::new();
                let mut leaf = |k: u64| {
                    keys.push(k);
                    0
                };
                let mut node = |p: u64| {
                    nodes.push(p);
                    0
                };
                // SAFETY: the validator accepted the tree: every reachable
                // entry is a live arena page, each reached once.
                assert_eq!(unsafe { walk(arena, r, Some(&mut leaf), Some(&mut node)) }, 0);
                // SAFETY: as above.
                assert_eq!(unsafe { count_nodes(arena, r) }, (s.tables, s.leaves));
                assert_eq!(keys.len() as u64, s.keys);
                let mut per = [0u64; ORDER_SLOTS];
                let mut ranges: Vec<(u64, u64)> = nodes.iter().map(|&p| (p, p + PAGE)).collect();
                for &k in &keys {
                    let (phys, order) = decode_key(k).expect("accepted key decodes");
                    assert!(order <= MAX_ORDER);
                    per[order as usize] += 1;
                    let end = phys + (PAGE << order);
                    assert!(end <= RAM_END && (end <= SCRATCH_START || phys >= SCRATCH_END));
                    ranges.push((phys, end));
                }
                assert_eq!(per, s.keys_per_order);
                ranges.sort_unstable();
                for w in ranges.windows(2) {
                    assert!(w[0].1 <= w[1].0, "accepted overlapping ranges {:x?}", w);
                }
            }

            fn pick_strategy() -> impl Strategy<Value = Vec<(u64, u32)>> {
                prop::collection::vec((any::<u64>(), 0..=MAX_ORDER), 0..120)
            }

            proptest! {
                #![proptest_config(ProptestConfig::with_cases(cases($cases)))]

                #[test]
                fn random_valid_trees_validate(
                    picks in pick_strategy(),
                    dense in prop::collection::vec(0u64..4096, 0..200),
                    del in prop::collection::vec(any::<usize>(), 0..40),
                ) {
                    // Random blocks, plus a dense run of pages after them.
                    let mut blocks = blocks_from(&picks);
                    let dense: Vec<(u64, u32)> = dense.iter().map(|&d| (d, 0)).collect();
                    let base = PRESERVE_END / 2;
                    for (d, _) in dense {
                        let phys = base + d * PAGE;
                        if !blocks.iter().any(|&(p, o)| phys < p + (PAGE << o) && p < phys + PAGE) {
                            blocks.push((phys, 0));
                        }
                    }
                    let (mut arena, root) = build(&blocks);
                    // Delete some, leaving empty leaves and tables behind.
                    let r = NonNull::new(arena.virt_of(root).cast::<RadixNode>().as_ptr()).expect("root");
                    for d in del {
                        if blocks.is_empty() {
                            break;
                        }
                        let (p, o) = blocks.swap_remove(d % blocks.len());
                        // SAFETY: `r` is a valid tree in `arena`.
                        prop_assert_eq!(unsafe { del_key(&mut arena, r, encode_key(p, o)) }, Ok(()));
                    }
                    let s = validate(&arena, root);
                    prop_assert!(s.is_ok(), "valid tree rejected: {:?}", s);
                    let s = s.expect("checked");
                    let mut per = [0u64; ORDER_SLOTS];
                    for &(_, o) in &blocks {
                        per[o as usize] += 1;
                    }
                    prop_assert_eq!(s.keys_per_order, per);
                    prop_assert_eq!(s.keys, blocks.len() as u64);
                    // SAFETY: `r` is a valid tree in `arena`.
                    prop_assert_eq!(unsafe { count_nodes(&arena, r) }, (s.tables, s.leaves));
                    prop_assert_eq!(s.tables + s.leaves, arena.live_pages());
                    check_accepted(&arena, root, &s);
                }

                #[test]
                fn mutated_images_never_panic(
                    picks in pick_strategy(),
                    muts in prop::collection::vec(mutation_strategy(), 1..12),
                    max_nodes in 1usize..64,
                ) {
                    let (arena, root) = build(&blocks_from(&picks));
                    let live: Vec<u64> = arena.live_set().into_iter().collect();
                    let words = TABLE_ENTRIES;
                    for m in &muts {
                        match *m {
                            Mutation::Xor { page, byte, val } => {
                                let p = live[page % live.len()];
                                let b = byte % PAGE_SIZE;
                                let v = get(&arena, p, b / 8) ^ (u64::from(val) << (8 * (b % 8)));
                                set(&arena, p, b / 8, v);
                            }
                            Mutation::Link { page, word, target } => {
                                set(&arena, live[page % live.len()], word % words, live[target % live.len()]);
                            }
                            Mutation::Raw { page, word, val } => {
                                set(&arena, live[page % live.len()], word % words, val);
                            }
                            Mutation::Near { page, word, target, delta } => {
                                let t = live[target % live.len()].wrapping_add_signed(i64::from(delta) * 8);
                                set(&arena, live[page % live.len()], word % words, t);
                            }
                        }
                    }
                    for lim in [limits(), Limits { max_nodes, max_order: MAX_ORDER }] {
                        let layout = layout(&arena);
                        let mut scratch = vec![MaybeUninit::new(SCRATCH_FILL); lim.max_nodes];
                        // SAFETY: `node_ptr` only returns live arena pages.
                        let r = unsafe { validate_tree(&layout, root, &lim, &mut scratch) }.map(|t| t.stats());
                        if let Ok(s) = r {
                            prop_assert!(s.tables + s.leaves <= lim.max_nodes);
                            check_accepted(&arena, root, &s);
                        }
                        // Bounded work: four walks of at most `max_nodes`
                        // nodes, plus at most `P * D` lookups per key.
                        let keys_bound = lim.max_nodes.min(live.len()) * BITMAP_BITS;
                        let calls_bound = 4 * (lim.max_nodes + 1)
                            + keys_bound * (MAX_ORDER as usize + 1) * TREE_MAX_DEPTH as usize;
                        prop_assert!(layout.node_ptr_calls.get() <= calls_bound);
                    }
                }
            }
        }
    };
}

validate_tests!(geom4k, 64);
validate_tests!(geom16k, 32);
validate_tests!(geom64k, 16);
