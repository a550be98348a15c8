// SPDX-License-Identifier: GPL-2.0

//! Property tests of `kho_radix_validate`: random valid trees are accepted
//! with the right statistics, and random mutations of a tree image never
//! panic or hang, and whatever is accepted really is a valid, overlap-free
//! tree. Run for 4K, 16K and 64K pages.

use proptest::prelude::*;

use kho_radix_host::proptest_cases as cases;

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

#[macro_use]
mod validate_support;
use validate_support::*;

macro_rules! validate_random {
    ($geom:ident, $cases:expr) => {
        mod $geom {
            use super::*;
            validate_support!($geom);

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
                // SAFETY: the validator accepted the tree: every reachable
                // entry is a live arena page, each reached once.
                let (keys, nodes) = unsafe { keys_and_nodes(arena, r) };
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

            /// What the kernel does: `count_checked_nodes()` first, then
            /// `validate_tree()` with the count as its bound (and a buffer
            /// of that many entries) if it succeeded, else with `lim`.
            /// Must return what `validate_tree()` returns with `lim`; an
            /// error of the count must be the walk's, which only a node
            /// shared by two parents may precede.
            fn count_then_validate_agrees(arena: &Arena, root: u64, lim: &Limits) {
                let layout = layout(arena);
                // SAFETY: `node_ptr` only returns live arena pages, not
                // written during the calls.
                let counted = unsafe { count_checked_nodes(&layout, root, lim.max_nodes) };
                let direct = validate_with(arena, root, lim);
                match counted {
                    Ok(n) => {
                        assert!(n >= 1 && n <= lim.max_nodes);
                        let small = Limits { max_nodes: n, max_order: lim.max_order };
                        assert_eq!(validate_with(arena, root, &small), direct);
                        if let Ok(s) = direct {
                            assert_eq!(s.tables + s.leaves, n);
                        }
                    }
                    Err(e) => {
                        let d = direct.expect_err("count failed, validation passed");
                        assert!(d == e || d.kind == ErrorKind::SharedNode, "count {:?}, validation {:?}", e, d);
                    }
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
                    count_then_validate_agrees(&arena, root, &limits());
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
                        count_then_validate_agrees(&arena, root, &lim);
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

validate_random!(geom4k, 64);
validate_random!(geom16k, 32);
validate_random!(geom64k, 16);
