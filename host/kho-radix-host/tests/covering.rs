// SPDX-License-Identifier: GPL-2.0

//! `covering_block()`: after validation, which preserved block holds a range
//! (the kernel asks it about the handover FDT). Fixed cases at the edges of
//! blocks and of the order limit, then random trees of non-overlapping
//! blocks against a search of the block list, with a bound on the nodes it
//! reads. Run for 4K, 16K and 64K pages.

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
            use kho_radix_host::$geom::{new_arena, PAGE_SHIFT};
            use kho_radix_host::Arena;
            use std::cell::Cell;
            use std::ptr::NonNull;

            const PAGE: u64 = PAGE_SIZE as u64;

            /// All addresses are RAM and none is scratch; nodes are the
            /// arena's live pages. Counts the nodes looked up.
            struct Layout<'a> {
                arena: &'a Arena,
                node_ptr_calls: Cell<usize>,
            }

            impl PhysLayout for Layout<'_> {
                fn is_ram(&self, _start: u64, _size: u64) -> bool {
                    true
                }

                fn in_scratch(&self, _start: u64, _size: u64) -> bool {
                    false
                }

                fn node_ptr(&self, phys: u64) -> Option<NonNull<RadixNode>> {
                    self.node_ptr_calls.set(self.node_ptr_calls.get() + 1);
                    self.arena
                        .is_live(phys)
                        .then(|| self.arena.virt_of(phys).cast())
                }
            }

            /// A validated tree of `blocks` (`(phys, order)`), its root
            /// address and its layout.
            fn validated(arena: &mut Arena, blocks: &[(u64, u32)]) -> u64 {
                let root = alloc_root(arena).expect("root");
                for &(p, o) in blocks {
                    // SAFETY: `root` is a valid tree in `arena`.
                    assert_eq!(unsafe { add_key(arena, root, encode_key(p, o)) }, Ok(()));
                }
                let root_phys = arena.phys_of(root.cast());
                let layout = Layout {
                    arena,
                    node_ptr_calls: Cell::new(0),
                };
                let limits = Limits {
                    max_nodes: 1 << 12,
                    max_order: MAX_ORDER,
                };
                let mut scratch = vec![MaybeUninit::new(0u64); limits.max_nodes];
                // SAFETY: `node_ptr` only returns live arena pages, which are
                // aligned, a page long and not written during the call.
                let r = unsafe { validate_tree(&layout, root_phys, &limits, &mut scratch) };
                assert!(r.is_ok(), "{blocks:x?}: {r:?}");
                root_phys
            }

            /// `covering_block()` on the tree at `root`, and the number of
            /// nodes it looked up.
            fn covering(
                arena: &Arena,
                root: u64,
                phys: u64,
                size: u64,
                max_order: u32,
            ) -> (Option<(u64, u32)>, usize) {
                let layout = Layout {
                    arena,
                    node_ptr_calls: Cell::new(0),
                };
                // SAFETY: `validated()` accepted the tree with this layout
                // and nothing wrote to it since.
                let r = unsafe { covering::covering_block(&layout, root, phys, size, max_order) };
                (r, layout.node_ptr_calls.get())
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
                let root = validated(&mut arena, &blocks);
                let cases: [(u64, u64, u32, Option<(u64, u32)>); 14] = [
                    (0, PAGE, MAX_ORDER, Some((0, 0))),
                    (0, 1, MAX_ORDER, Some((0, 0))),
                    (PAGE - 1, 2, MAX_ORDER, None),
                    (PAGE, PAGE, MAX_ORDER, None),
                    (64 * PAGE, 8 * PAGE, MAX_ORDER, Some((64 * PAGE, 3))),
                    (69 * PAGE + 3, 100, MAX_ORDER, Some((64 * PAGE, 3))),
                    (71 * PAGE, 2 * PAGE, MAX_ORDER, None),
                    (big + 100 * PAGE, 17, MAX_ORDER, Some((big, MAX_ORDER))),
                    (big + 100 * PAGE, 17, MAX_ORDER - 1, None),
                    (big, (PAGE << MAX_ORDER) + 1, MAX_ORDER, None),
                    (far(), PAGE, MAX_ORDER, Some((far(), 0))),
                    (far() + PAGE, PAGE, MAX_ORDER, None),
                    (0, 0, MAX_ORDER, None),
                    (u64::MAX - 10, 20, MAX_ORDER, None),
                ];
                for (phys, size, max_order, want) in cases {
                    let (got, _) = covering(&arena, root, phys, size, max_order);
                    assert_eq!(got, want, "[{phys:#x}, +{size:#x}) up to order {max_order}");
                }
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
                for _ in 0..40 {
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
                    let root = validated(&mut arena, &blocks);
                    for _ in 0..2000 {
                        let phys = next(&mut x) % (span * PAGE);
                        let size = 1 + next(&mut x) % (PAGE << (next(&mut x) % 4 * 3));
                        let want = blocks
                            .iter()
                            .copied()
                            .find(|&(p, o)| p <= phys && phys + size <= p + (PAGE << o));
                        let (got, calls) = covering(&arena, root, phys, size, MAX_ORDER);
                        assert_eq!(got, want, "[{phys:#x}, +{size:#x}) in {blocks:x?}");
                        // The root, then at most one path per order.
                        let bound = 1 + (MAX_ORDER as usize + 1) * (TREE_MAX_DEPTH as usize - 1);
                        assert!(calls <= bound, "{calls} node lookups, bound {bound}");
                        found += usize::from(got.is_some());
                    }
                }
                assert!(
                    found > 1000,
                    "only {found} queries were covered: the test is too weak"
                );
            }

            /// `range_preserved()` on the tree at `root`.
            fn preserved(arena: &Arena, root: u64, phys: u64, size: u64) -> bool {
                let layout = Layout {
                    arena,
                    node_ptr_calls: Cell::new(0),
                };
                // SAFETY: `validated()` accepted the tree with this layout
                // and nothing wrote to it since.
                unsafe { range_preserved(&layout, root, phys, size, MAX_ORDER) }
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
                let root = validated(&mut arena, &blocks);
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
                        preserved(&arena, root, phys, size),
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
                for _ in 0..40 {
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
                    let root = validated(&mut arena, &blocks);
                    for _ in 0..2000 {
                        let phys = next(&mut x) % (span * PAGE);
                        let size = 1 + next(&mut x) % (40 * PAGE);
                        let (first, last) = (phys / PAGE, (phys + size - 1) / PAGE);
                        let want =
                            (first..=last).all(|p| ranges.iter().any(|&(s, e)| s <= p && p < e));
                        let got = preserved(&arena, root, phys, size);
                        assert_eq!(got, want, "[{phys:#x}, +{size:#x}) in {ranges:x?}");
                        yes += usize::from(got);
                        multi += usize::from(
                            got && covering(&arena, root, phys, size, MAX_ORDER).0.is_none(),
                        );
                    }
                }
                assert!(
                    multi > 1000,
                    "only {multi} covered queries needed several blocks ({yes} covered)"
                );
            }
        }
    };
}

covering_tests!(geom4k);
covering_tests!(geom16k);
covering_tests!(geom64k);
