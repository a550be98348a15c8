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
                let r = unsafe { covering_block(&layout, root, phys, size, max_order) };
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
        }
    };
}

covering_tests!(geom4k);
covering_tests!(geom16k);
covering_tests!(geom64k);
