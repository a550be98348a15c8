// SPDX-License-Identifier: GPL-2.0

//! `AcceptedTree::covering_block()`: after validation, which preserved block
//! holds a range (the kernel asks it about the handover FDT). Fixed cases at
//! the edges of blocks and of the order limit, then random trees of
//! non-overlapping blocks against a search of the block list, with a bound
//! on the nodes it reads; `AcceptedTree::range_preserved()` likewise. Run
//! for 4K, 16K and 64K pages.

use std::mem::MaybeUninit;

/// Highest order of the tests (`MAX_PAGE_ORDER` of the simulated kernel).
const MAX_ORDER: u32 = 10;

macro_rules! covering_tests {
    ($geom:ident) => {
        mod $geom {
            use super::*;
            use kho_radix_host::$geom::kho_radix_abi::*;
            use kho_radix_host::$geom::kho_radix_tree::*;
            use kho_radix_host::$geom::kho_radix_validate::*;
            use kho_radix_host::$geom::{new_arena, ArenaLayout, PAGE_SHIFT};
            use kho_radix_host::{rounds, Arena};

            const PAGE: u64 = PAGE_SIZE as u64;

            /// All addresses are RAM and none is scratch; nodes are the
            /// arena's live pages. Counts the nodes looked up.
            type Layout<'a> = ArenaLayout<'a>;

            /// The tests' layout of `arena`.
            fn layout(arena: &Arena) -> Layout<'_> {
                ArenaLayout::new(arena, u64::MAX, (0, 0))
            }

            /// A tree of `blocks` (`(phys, order)`) in `arena`, and its
            /// root address.
            fn build(arena: &mut Arena, blocks: &[(u64, u32)]) -> u64 {
                let root = alloc_root(arena).expect("root");
                for &(p, o) in blocks {
                    // SAFETY: `root` is a valid tree in `arena`.
                    assert_eq!(unsafe { add_key(arena, root, encode_key(p, o)) }, Ok(()));
                }
                arena.phys_of(root.cast())
            }

            /// The tree at `root`, validated with `layout` and keys up to
            /// `max_order`; panics if it is rejected.
            fn accept<'a>(
                layout: &'a Layout<'a>,
                root: u64,
                max_order: u32,
            ) -> AcceptedTree<'a, Layout<'a>> {
                let limits = Limits {
                    max_nodes: 1 << 12,
                    max_order,
                };
                let mut scratch = vec![MaybeUninit::new(0u64); limits.max_nodes];
                // SAFETY: `node_ptr` only returns live arena pages, which are
                // aligned, a page long, and not written while the arena is
                // borrowed by `layout`.
                let r = unsafe { validate_tree(layout, root, &limits, &mut scratch) };
                match r {
                    Ok(tree) => tree,
                    Err(e) => panic!("tree at {root:#x} rejected: {e:?}"),
                }
            }

            /// `covering_block()` on `tree`, and the number of nodes it
            /// looked up.
            fn covering(
                layout: &Layout<'_>,
                tree: &AcceptedTree<'_, Layout<'_>>,
                phys: u64,
                size: u64,
            ) -> (Option<(u64, u32)>, usize) {
                layout.node_ptr_calls.set(0);
                let r = tree.covering_block(phys, size);
                (r, layout.node_ptr_calls.get())
            }

            /// Node lookups one `covering_block()` may make on a tree
            /// accepted with `max_order`: a path below the root per order.
            fn lookup_bound(max_order: u32) -> usize {
                (max_order as usize + 1) * (TREE_MAX_DEPTH as usize - 1)
            }

            /// The first page whose path leaves page 0's at level 2.
            fn far() -> u64 {
                (1u64 << level_shift(2)) << PAGE_SHIFT
            }

            #[test]
            fn fixed_cases() {
                let big = 1024 * PAGE;
                let blocks = [(0, 0), (64 * PAGE, 3), (big, MAX_ORDER), (far(), 0)];
                let mut arena = new_arena();
                let root = build(&mut arena, &blocks);
                let layout = layout(&arena);
                let tree = accept(&layout, root, MAX_ORDER);
                assert_eq!(tree.max_order(), MAX_ORDER);
                let cases: [(u64, u64, Option<(u64, u32)>); 13] = [
                    (0, PAGE, Some((0, 0))),
                    (0, 1, Some((0, 0))),
                    (PAGE - 1, 2, None),
                    (PAGE, PAGE, None),
                    (64 * PAGE, 8 * PAGE, Some((64 * PAGE, 3))),
                    (69 * PAGE + 3, 100, Some((64 * PAGE, 3))),
                    (71 * PAGE, 2 * PAGE, None),
                    (big + 100 * PAGE, 17, Some((big, MAX_ORDER))),
                    (big, (PAGE << MAX_ORDER) + 1, None),
                    (far(), PAGE, Some((far(), 0))),
                    (far() + PAGE, PAGE, None),
                    (0, 0, None),
                    (u64::MAX - 10, 20, None),
                ];
                for (phys, size, want) in cases {
                    let (got, calls) = covering(&layout, &tree, phys, size);
                    assert_eq!(got, want, "[{phys:#x}, +{size:#x})");
                    assert!(calls <= lookup_bound(MAX_ORDER), "{calls} node lookups");
                }
            }

            #[test]
            fn lookups_stop_at_the_accepted_order() {
                // Accepted with keys up to order 3 only: a range that only a
                // bigger block could hold costs four descents, not eleven.
                let blocks = [(0, 3), (64 * PAGE, 0)];
                let mut arena = new_arena();
                let root = build(&mut arena, &blocks);
                let layout = layout(&arena);
                let tree = accept(&layout, root, 3);
                assert_eq!(tree.max_order(), 3);
                let (got, calls) = covering(&layout, &tree, 0, 16 * PAGE);
                assert_eq!(got, None);
                assert!(calls <= lookup_bound(3), "{calls} node lookups");
                assert_eq!(covering(&layout, &tree, 5 * PAGE, PAGE).0, Some((0, 3)));
                // The cap never goes above what a key can encode.
                let wide = accept(&layout, root, u32::MAX);
                assert_eq!(wide.max_order(), MAX_KEY_ORDER);
                assert_eq!(covering(&layout, &wide, 5 * PAGE, PAGE).0, Some((0, 3)));
            }

            /// xorshift64: reproducible per seed.
            fn next(x: &mut u64) -> u64 {
                *x ^= *x << 13;
                *x ^= *x >> 7;
                *x ^= *x << 17;
                *x
            }

            #[test]
            fn random_trees_match_a_search_of_the_blocks() {
                let span = 1u64 << 16; // pages
                let mut x = 0x9e37_79b9_7f4a_7c15u64;
                let mut found = 0;
                for _ in 0..rounds(40, 2) {
                    let mut blocks: Vec<(u64, u32)> = Vec::new();
                    while blocks.len() < 64 {
                        let o = (next(&mut x) % u64::from(MAX_ORDER + 1)) as u32;
                        let pfn = next(&mut x) % span >> o << o;
                        let (s, e) = (pfn * PAGE, (pfn + (1 << o)) * PAGE);
                        if blocks.iter().all(|&(p, q)| e <= p || p + (PAGE << q) <= s) {
                            blocks.push((s, o));
                        }
                    }
                    let mut arena = new_arena();
                    let root = build(&mut arena, &blocks);
                    let layout = layout(&arena);
                    let tree = accept(&layout, root, MAX_ORDER);
                    for _ in 0..rounds(2000, 40) {
                        let phys = next(&mut x) % (span * PAGE);
                        let size = 1 + next(&mut x) % (PAGE << (next(&mut x) % 4 * 3));
                        let want = blocks
                            .iter()
                            .copied()
                            .find(|&(p, o)| p <= phys && phys + size <= p + (PAGE << o));
                        let (got, calls) = covering(&layout, &tree, phys, size);
                        assert_eq!(got, want, "[{phys:#x}, +{size:#x}) in {blocks:x?}");
                        // At most one path below the root per order.
                        let bound = lookup_bound(MAX_ORDER);
                        assert!(calls <= bound, "{calls} node lookups, bound {bound}");
                        found += usize::from(got.is_some());
                    }
                }
                // Under Miri the few rounds look for undefined behaviour only.
                assert!(
                    cfg!(miri) || found > 1000,
                    "only {found} queries were covered: the test is too weak"
                );
            }

            /// The blocks `kho_preserve_pages()` splits `n` pages at `pfn`
            /// into: the largest aligned block that fits, up to `MAX_ORDER`.
            fn chunks(mut pfn: u64, n: u64) -> Vec<(u64, u32)> {
                let end = pfn + n;
                let mut blocks = Vec::new();
                while pfn < end {
                    let o = pfn.trailing_zeros().min((end - pfn).ilog2()).min(MAX_ORDER);
                    blocks.push((pfn * PAGE, o));
                    pfn += 1 << o;
                }
                blocks
            }

            #[test]
            fn ranges_across_blocks() {
                // 1 + 2 + 4 pages from pfn 1, a gap at pfn 8, then 8 pages.
                let mut blocks = chunks(1, 7);
                assert_eq!(blocks, [(PAGE, 0), (2 * PAGE, 1), (4 * PAGE, 2)]);
                blocks.extend(chunks(9, 8));
                let mut arena = new_arena();
                let root = build(&mut arena, &blocks);
                let layout = layout(&arena);
                let tree = accept(&layout, root, MAX_ORDER);
                let cases = [
                    (PAGE, 7 * PAGE, true),
                    (PAGE + 5, 6 * PAGE, true),
                    (3 * PAGE, 2 * PAGE, true),
                    (PAGE, 8 * PAGE, false),
                    (7 * PAGE, 2 * PAGE, false),
                    (9 * PAGE, 8 * PAGE, true),
                    (0, PAGE + 1, false),
                    (PAGE, 0, false),
                    (u64::MAX - 1, 3, false),
                    (9 * PAGE, u64::MAX - 9 * PAGE, false),
                ];
                for (phys, size, want) in cases {
                    assert_eq!(
                        tree.range_preserved(phys, size),
                        want,
                        "[{phys:#x}, +{size:#x})"
                    );
                }
            }

            #[test]
            fn random_ranges_match_a_page_by_page_search() {
                let span = 1u64 << 14; // pages
                let mut x = 0x2545_f491_4f6c_dd1du64;
                let (mut yes, mut multi) = (0, 0);
                for _ in 0..rounds(40, 1) {
                    // Ranges of 1 to 64 pages with gaps, chunked like
                    // kho_preserve_pages().
                    let mut ranges: Vec<(u64, u64)> = Vec::new();
                    let mut pfn = next(&mut x) % 16;
                    while pfn < span {
                        let n = 1 + next(&mut x) % 64;
                        ranges.push((pfn, pfn + n));
                        pfn += n + next(&mut x) % 32;
                    }
                    let blocks: Vec<(u64, u32)> =
                        ranges.iter().flat_map(|&(s, e)| chunks(s, e - s)).collect();
                    let mut arena = new_arena();
                    let root = build(&mut arena, &blocks);
                    let layout = layout(&arena);
                    let tree = accept(&layout, root, MAX_ORDER);
                    for _ in 0..rounds(2000, 40) {
                        let phys = next(&mut x) % (span * PAGE);
                        let size = 1 + next(&mut x) % (40 * PAGE);
                        let (first, last) = (phys / PAGE, (phys + size - 1) / PAGE);
                        let want =
                            (first..=last).all(|p| ranges.iter().any(|&(s, e)| s <= p && p < e));
                        let got = tree.range_preserved(phys, size);
                        assert_eq!(got, want, "[{phys:#x}, +{size:#x}) in {ranges:x?}");
                        yes += usize::from(got);
                        multi += usize::from(got && tree.covering_block(phys, size).is_none());
                    }
                }
                assert!(
                    cfg!(miri) || multi > 1000,
                    "only {multi} covered queries needed several blocks ({yes} covered)"
                );
            }
        }
    };
}

covering_tests!(geom4k);
covering_tests!(geom16k);
covering_tests!(geom64k);
