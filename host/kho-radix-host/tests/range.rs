// SPDX-License-Identifier: GPL-2.0

//! Range preservation: `add_pfn_range()` / `del_pfn_range()` must leave
//! exactly the tree that one `add_key()` / `del_key()` per chunk of
//! `kho_preserve_pages()` leaves, byte for byte, and roll back like it.

use proptest::prelude::*;

/// Leaves `v` as it is (`order` 0), reverses it (1) or shuffles it with
/// `seed` (any other): Fisher-Yates with a xorshift generator.
fn reorder<T>(v: &mut [T], order: u32, seed: u64) {
    match order {
        0 => {}
        1 => v.reverse(),
        _ => {
            let mut x = seed | 1;
            for i in (1..v.len()).rev() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                v.swap(i, (x % (i as u64 + 1)) as usize);
            }
        }
    }
}

use kho_radix_host::{proptest_cases as cases, rounds};

macro_rules! range_tests {
    ($geom:ident, $cases:expr) => {
        mod $geom {
            use super::*;
            use kho_radix_host::$geom::kho_radix_abi::*;
            use kho_radix_host::$geom::kho_radix_tree::*;
            use kho_radix_host::$geom::{new_arena, PAGE_SHIFT};
            use kho_radix_host::Arena;
            use std::ptr::NonNull;

            /// A fake NUMA layout: nodes of `1 << node_shift` pages; a chunk
            /// must not cross a node boundary (like `pfn_to_nid()` checks).
            fn crosses(node_shift: u32) -> impl FnMut(u64, u32) -> bool {
                move |pfn, order| (pfn >> node_shift) != ((pfn + (1u64 << order) - 1) >> node_shift)
            }

            /// Independent transcription of the C chunking loop of
            /// `kho_preserve_pages()`: returns the chunk keys in order.
            fn c_chunks(start: u64, n: u64, max_order: u32, node_shift: u32) -> Vec<u64> {
                let (mut pfn, end) = (start, start + n);
                let mut keys = Vec::new();
                while pfn < end {
                    let mut order = pfn.trailing_zeros().min((end - pfn).ilog2()).min(max_order);
                    while (pfn >> node_shift) != ((pfn + (1u64 << order) - 1) >> node_shift) {
                        order -= 1;
                    }
                    keys.push(encode_key(pfn << PAGE_SHIFT, order));
                    pfn += 1u64 << order;
                }
                keys
            }

            fn keys_of(arena: &Arena, root: NonNull<RadixNode>) -> Vec<u64> {
                let mut keys = Vec::new();
                let mut leaf = |k: u64| {
                    keys.push(k);
                    0
                };
                // SAFETY: `root` is a valid tree in `arena`.
                unsafe { walk(arena, root, Some(&mut leaf), None) };
                keys
            }

            /// An empty tree, with its cache, in an arena whose freed pages
            /// fault on any access, so that a test sees a use after free.
            fn quarantined_tree() -> (Arena, NonNull<RadixNode>, TableCache) {
                let mut arena = new_arena();
                arena.quarantine_freed_pages();
                let Ok(root) = alloc_root(&mut arena) else { panic!("root") };
                (arena, root, TableCache::new())
            }

            /// Highest pfn whose order-0 key still fits the key width.
            const MAX_PFN: u64 = (1u64 << (KEY_WIDTH - 1)) - 1;

            fn pfn_strategy() -> impl Strategy<Value = u64> {
                prop_oneof![0u64..1 << 20, 0u64..MAX_PFN - (1 << 14), Just(MAX_PFN - 5000)]
            }

            proptest! {
                #![proptest_config(ProptestConfig::with_cases(cases($cases)))]

                /// Same tree, byte for byte, as one add_key()/del_key() per chunk.
                #[test]
                fn range_equals_chunked(
                    start in pfn_strategy(),
                    n in 1u64..5000,
                    max_order in prop_oneof![Just(63u32), 0u32..12],
                    node_shift in 9u32..40,
                    pre in proptest::collection::vec(0u64..1 << 20, 0..20),
                ) {
                    let mut a = new_arena();
                    let mut b = new_arena();
                    let ra = alloc_root(&mut a).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                    let rb = alloc_root(&mut b).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                    // `b`'s table cache lives across all calls, like the kernel's.
                    let mut cb = TableCache::new();
                    // Unrelated keys already in both trees.
                    for p in &pre {
                        let k = encode_key(p << PAGE_SHIFT, 0);
                        // SAFETY: valid trees in their arenas, `cb` is `b`'s.
                        let (x, y) = unsafe { (add_key(&mut a, ra, k), add_key_cached(&mut b, rb, &mut cb, k)) };
                        prop_assert!(x.is_ok() && y.is_ok());
                    }
                    let chunks = c_chunks(start, n, max_order, node_shift);
                    for &k in &chunks {
                        // SAFETY: valid tree in `a`.
                        let res = unsafe { add_key(&mut a, ra, k) };
                        prop_assert!(res.is_ok());
                    }
                    // SAFETY: valid tree in `b`.
                    let res = unsafe { add_pfn_range(&mut b, rb, &mut cb, start, n, max_order, &mut crosses(node_shift)) };
                    prop_assert!(res.is_ok());
                    prop_assert_eq!(a.snapshot(), b.snapshot());
                    prop_assert_eq!(keys_of(&a, ra), keys_of(&b, rb));

                    for &k in &chunks {
                        // SAFETY: valid tree in `a`.
                        let res = unsafe { del_key(&mut a, ra, k) };
                        prop_assert!(res.is_ok());
                    }
                    // SAFETY: valid tree in `b`.
                    let missing = unsafe { del_pfn_range(&mut b, rb, &mut cb, start, n, max_order, &mut crosses(node_shift)) };
                    prop_assert_eq!(missing, 0);
                    prop_assert_eq!(a.snapshot(), b.snapshot());

                    // The reclaiming delete leaves exactly the tree of the
                    // unrelated keys that are not chunks of the range: what
                    // building it afresh allocates, no empty node more.
                    let mut c = new_arena();
                    // A freed node must never be read again.
                    c.quarantine_freed_pages();
                    let rc = alloc_root(&mut c).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                    let mut cc = TableCache::new();
                    let mut fresh = new_arena();
                    let rf = alloc_root(&mut fresh).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                    for p in &pre {
                        let k = encode_key(p << PAGE_SHIFT, 0);
                        // SAFETY: valid tree in `c`, `cc` is its cache.
                        let res = unsafe { add_key_cached(&mut c, rc, &mut cc, k) };
                        prop_assert!(res.is_ok());
                        if !chunks.contains(&k) {
                            // SAFETY: valid tree in `fresh`.
                            let res = unsafe { add_key(&mut fresh, rf, k) };
                            prop_assert!(res.is_ok());
                        }
                    }
                    // SAFETY: valid tree in `c`, `cc` is its cache.
                    let res = unsafe { add_pfn_range(&mut c, rc, &mut cc, start, n, max_order, &mut crosses(node_shift)) };
                    prop_assert!(res.is_ok());
                    // SAFETY: valid tree in `c` whose nodes all come from `c`.
                    let missing = unsafe { del_pfn_range_reclaim(&mut c, rc, &mut cc, start, n, max_order, &mut crosses(node_shift)) };
                    prop_assert_eq!(missing, 0);
                    prop_assert_eq!(keys_of(&c, rc), keys_of(&fresh, rf));
                    prop_assert_eq!(c.live_pages(), fresh.live_pages());
                }

                /// Ranges deleted with freeing in address order, in reverse
                /// or in any order, several to a leaf, with the arena offering
                /// leaf words for witnesses or not: after each delete the
                /// tree holds the remaining ranges' keys in exactly the nodes
                /// a tree built afresh from them has, so no leaf that
                /// emptied is kept, and no node is read after it was freed.
                #[test]
                fn range_reclaim_in_any_order_frees_each_emptied_leaf(
                    base in 0u64..1 << 24,
                    shape in proptest::collection::vec((0u64..300, 1u64..400), 1..rounds(60, 8)),
                    order in 0u32..3,
                    seed in any::<u64>(),
                    leaf_words in any::<bool>(),
                ) {
                    let mut ranges = Vec::new();
                    let mut pfn = base;
                    for &(gap, n) in &shape {
                        ranges.push((pfn + gap, n));
                        pfn += gap + n;
                    }
                    let mut deletes: Vec<usize> = (0..ranges.len()).collect();
                    reorder(&mut deletes, order, seed);
                    let mut c = new_arena();
                    // A freed node must never be read again.
                    c.quarantine_freed_pages();
                    c.offer_leaf_words(leaf_words);
                    let rc = alloc_root(&mut c).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                    let mut cache = TableCache::new();
                    for &(start, n) in &ranges {
                        // SAFETY: valid tree in `c`, `cache` is its cache.
                        let res = unsafe { add_pfn_range(&mut c, rc, &mut cache, start, n, 63, &mut |_, _| false) };
                        prop_assert!(res.is_ok());
                    }
                    let mut left = vec![true; ranges.len()];
                    for &i in &deletes {
                        let (start, n) = ranges[i];
                        // SAFETY: valid tree in `c` whose nodes all come from
                        // `c`, `cache` is its cache.
                        let missing = unsafe { del_pfn_range_reclaim(&mut c, rc, &mut cache, start, n, 63, &mut |_, _| false) };
                        prop_assert_eq!(missing, 0);
                        left[i] = false;
                        let mut fresh = new_arena();
                        let rf = alloc_root(&mut fresh).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                        for (j, &(start, n)) in ranges.iter().enumerate().filter(|&(j, _)| left[j]) {
                            for k in c_chunks(start, n, 63, 63) {
                                // SAFETY: valid tree in `fresh`.
                                let res = unsafe { add_key(&mut fresh, rf, k) };
                                prop_assert!(res.is_ok(), "range {}", j);
                            }
                        }
                        let (mut got, mut want) = (keys_of(&c, rc), keys_of(&fresh, rf));
                        got.sort_unstable();
                        want.sort_unstable();
                        prop_assert_eq!(got, want);
                        prop_assert_eq!(c.live_pages(), fresh.live_pages());
                    }
                    prop_assert_eq!(c.live_pages(), 1);
                }

                /// Single keys of orders 0-3 over a few leaves, deleted with
                /// freeing in address order, in reverse or shuffled, some as
                /// one-chunk ranges through the same cache, on leaves with
                /// and without words, and with the arena offering them as
                /// leaf words or not: after each delete the tree has
                /// exactly the nodes a tree built afresh from the keys left
                /// has, so neither a witness from the cache nor one from a
                /// leaf's node word keeps an emptied leaf, and no freed node
                /// is read. Then the same again, once the keys are back.
                #[test]
                fn key_reclaim_in_any_order_frees_each_emptied_leaf(
                    base in 0u64..1 << 24,
                    picks in proptest::collection::vec((0u64..3 * BITMAP_BITS as u64, 0u32..4, any::<bool>()), 1..rounds(200, 24)),
                    order in 0u32..3,
                    seed in any::<u64>(),
                    words in any::<bool>(),
                    leaf_words in any::<bool>(),
                ) {
                    let mut keys: Vec<(u64, bool)> = Vec::new();
                    for &(off, o, by_range) in &picks {
                        let pfn = (base + off) & !((1u64 << o) - 1);
                        let key = encode_key(pfn << PAGE_SHIFT, o);
                        if !keys.iter().any(|&(k, _)| k == key) {
                            keys.push((key, by_range));
                        }
                    }
                    keys.sort_unstable();
                    reorder(&mut keys, order, seed);
                    let mut c = new_arena();
                    // A freed node must never be read again.
                    c.quarantine_freed_pages();
                    c.keep_words(words);
                    c.offer_leaf_words(leaf_words);
                    let rc = alloc_root(&mut c).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                    let mut cache = TableCache::new();
                    for round in 0..2 {
                        for &(k, _) in &keys {
                            // SAFETY: valid tree in `c`, `cache` is its cache.
                            let res = unsafe { add_key_cached(&mut c, rc, &mut cache, k) };
                            prop_assert!(res.is_ok());
                        }
                        if round == 1 {
                            keys.reverse();
                        }
                        for (i, &(k, by_range)) in keys.iter().enumerate() {
                            let Some((phys, o)) = decode_key(k) else {
                                return Err(TestCaseError::fail("bad key"));
                            };
                            if by_range {
                                // SAFETY: valid tree in `c` whose nodes all
                                // come from `c`, `cache` is its cache.
                                let missing = unsafe {
                                    del_pfn_range_reclaim(&mut c, rc, &mut cache, phys >> PAGE_SHIFT, 1 << o, 63, &mut |_, _| false)
                                };
                                prop_assert_eq!(missing, 0);
                            } else {
                                // SAFETY: as above.
                                let res = unsafe { del_key_reclaim_cached(&mut c, rc, &mut cache, k) };
                                prop_assert_eq!(res, Ok(()));
                            }
                            let mut fresh = new_arena();
                            let rf = alloc_root(&mut fresh).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                            for &(left, _) in &keys[i + 1..] {
                                // SAFETY: valid tree in `fresh`.
                                let res = unsafe { add_key(&mut fresh, rf, left) };
                                prop_assert!(res.is_ok());
                            }
                            let (mut got, mut want) = (keys_of(&c, rc), keys_of(&fresh, rf));
                            got.sort_unstable();
                            want.sort_unstable();
                            prop_assert_eq!(got, want);
                            prop_assert_eq!(c.live_pages(), fresh.live_pages(), "round {} delete {}", round, i);
                        }
                        prop_assert_eq!(c.live_pages(), 1);
                    }
                }

                /// An allocation failure anywhere removes what the call added,
                /// keeps what was there, and leaks nothing.
                #[test]
                fn range_failure_rolls_back(
                    start in 0u64..1 << 30,
                    n in 1u64..3000,
                    fail_at in 0usize..12,
                ) {
                    let mut arena = new_arena();
                    let root = alloc_root(&mut arena).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                    // A key far away from the range, in its own leaf.
                    let other = encode_key((1u64 << 40) << PAGE_SHIFT, 0);
                    // SAFETY: valid tree in `arena`.
                    let res = unsafe { add_key(&mut arena, root, other) };
                    prop_assert!(res.is_ok());
                    let before = keys_of(&arena, root);
                    let pages_before = arena.live_pages();
                    arena.fail_nth_alloc(Some(fail_at));
                    // SAFETY: valid tree in `arena`.
                    let res = unsafe { add_pfn_range(&mut arena, root, &mut TableCache::new(), start, n, 63, &mut |_, _| false) };
                    arena.fail_nth_alloc(None);
                    if res.is_err() {
                        prop_assert_eq!(res, Err(RadixError::NoMemory));
                        prop_assert_eq!(keys_of(&arena, root), before);
                        // The nodes the call allocated are freed again.
                        prop_assert_eq!(arena.live_pages(), pages_before);
                    }
                    // Every live page is a node of the tree: nothing leaked.
                    // SAFETY: valid tree in `arena`.
                    let (tables, leaves) = unsafe { count_nodes(&arena, root) };
                    prop_assert_eq!(tables + leaves, arena.live_pages());
                }
            }

            #[test]
            fn range_past_key_width_is_refused_and_rolled_back() {
                let mut arena = new_arena();
                let Ok(root) = alloc_root(&mut arena) else { panic!("root") };
                // SAFETY: valid tree in `arena`.
                let res = unsafe { add_pfn_range(&mut arena, root, &mut TableCache::new(), MAX_PFN - 3, 8, 63, &mut |_, _| false) };
                assert_eq!(res, Err(RadixError::Range));
                assert!(keys_of(&arena, root).is_empty());
            }

            /// A range that ends exactly at the last pfn with a key (where
            /// the range calls stop checking each chunk's key) is added as
            /// its chunks are; one page more is refused.
            #[test]
            fn range_up_to_key_width_matches_chunked() {
                let (start, n) = (MAX_PFN + 1 - 100, 100);
                let mut a = new_arena();
                let mut b = new_arena();
                let (Ok(ra), Ok(rb)) = (alloc_root(&mut a), alloc_root(&mut b)) else { panic!("root") };
                for k in c_chunks(start, n, 63, 63) {
                    // SAFETY: valid tree in `a`.
                    assert_eq!(unsafe { add_key(&mut a, ra, k) }, Ok(()));
                }
                let mut cache = TableCache::new();
                // SAFETY: valid tree in `b`, `cache` is its cache.
                let res = unsafe { add_pfn_range(&mut b, rb, &mut cache, start, n, 63, &mut |_, _| false) };
                assert_eq!(res, Ok(()));
                assert_eq!(keys_of(&a, ra), keys_of(&b, rb));
                // SAFETY: as above; every node of `b` comes from `b`.
                let missing = unsafe { del_pfn_range_reclaim(&mut b, rb, &mut cache, start, n, 63, &mut |_, _| false) };
                assert_eq!(missing, 0);
                assert_eq!(b.live_pages(), 1);
                // SAFETY: as above.
                let res = unsafe { add_pfn_range(&mut b, rb, &mut cache, start, n + 1, 63, &mut |_, _| false) };
                assert_eq!(res, Err(RadixError::Range));
                assert!(keys_of(&b, rb).is_empty());
                assert_eq!(b.live_pages(), 1);
                // All pfns with a key, from 0: one chunk of an order past
                // MAX_KEY_ORDER, which has none.
                // SAFETY: as above.
                let res = unsafe { add_pfn_range(&mut b, rb, &mut cache, 0, MAX_PFN + 1, 63, &mut |_, _| false) };
                assert_eq!(res, Err(RadixError::Range));
                assert!(keys_of(&b, rb).is_empty());
                assert_eq!(b.live_pages(), 1);
            }

            /// A range delete past the last pfn with a key counts the
            /// chunks without one as missing and touches no other key: the
            /// first pfn past it, encoded unchecked, has the key of pfn 0.
            #[test]
            fn range_delete_past_key_width_leaves_other_keys() {
                let mut a = new_arena();
                let Ok(root) = alloc_root(&mut a) else { panic!("root") };
                let mut cache = TableCache::new();
                for reclaim in [false, true] {
                    for pfn in [0, MAX_PFN] {
                        // SAFETY: valid tree in `a`.
                        let res = unsafe { add_key(&mut a, root, encode_key(pfn << PAGE_SHIFT, 0)) };
                        assert_eq!(res, Ok(()));
                    }
                    // SAFETY: valid tree in `a`, `cache` is its cache, every
                    // node of `a` comes from `a`.
                    let missing = unsafe {
                        if reclaim {
                            del_pfn_range_reclaim(&mut a, root, &mut cache, MAX_PFN, 2, 63, &mut |_, _| false)
                        } else {
                            del_pfn_range(&mut a, root, &mut cache, MAX_PFN, 2, 63, &mut |_, _| false)
                        }
                    };
                    assert_eq!(missing, 1);
                    assert_eq!(keys_of(&a, root), vec![encode_key(0, 0)]);
                }
            }

            /// A reclaiming range delete whose chunks share a leaf, in
            /// different words, frees it with the last of them and never
            /// reads a freed node: freed pages of this arena fault on any
            /// access.
            #[test]
            fn range_reclaim_frees_a_shared_leaf_once() {
                let (mut arena, root, mut cache) = quarantined_tree();
                // Chunks: order 0 at pfn 63, order 6 at 64, order 0 at 128.
                // The order-0 keys are in words 0 and 2 of one leaf.
                let (start, n) = (63, 66);
                // SAFETY: valid tree in `arena`, `cache` is its cache.
                let res = unsafe { add_pfn_range(&mut arena, root, &mut cache, start, n, 63, &mut |_, _| false) };
                assert_eq!(res, Ok(()));
                assert_eq!(keys_of(&arena, root).len(), 3);
                // SAFETY: as above; every node below the root comes from
                // `arena`.
                let missing = unsafe { del_pfn_range_reclaim(&mut arena, root, &mut cache, start, n, 63, &mut |_, _| false) };
                assert_eq!(missing, 0);
                assert!(keys_of(&arena, root).is_empty());
                assert_eq!(arena.live_pages(), 1);
            }

            /// A reclaiming range delete keeps a leaf whose only other key
            /// is at its far end, whichever end the deleted key is at: the
            /// search for a key left in the leaf has to reach every word.
            #[test]
            fn range_reclaim_keeps_a_leaf_with_a_key_at_its_far_end() {
                let first = 5 * BITMAP_BITS as u64;
                let last = first + BITMAP_BITS as u64 - 1;
                let key = |pfn: u64| encode_key(pfn << PAGE_SHIFT, 0);
                assert_eq!((bitmap_index(key(first)), bitmap_index(key(last))), (0, BITMAP_BITS - 1));
                for (gone, kept) in [(first, last), (last, first)] {
                    let (mut arena, root, mut cache) = quarantined_tree();
                    for pfn in [first, last] {
                        // SAFETY: valid tree in `arena`, `cache` is its cache.
                        let res = unsafe { add_pfn_range(&mut arena, root, &mut cache, pfn, 1, 63, &mut |_, _| false) };
                        assert_eq!(res, Ok(()));
                    }
                    let pages = arena.live_pages();
                    // A cache of its own for the deletes: the adds left the
                    // last key's word as the leaf's witness in theirs.
                    let mut cache = TableCache::new();
                    // SAFETY: as above; every node below the root comes from
                    // `arena`.
                    let missing = unsafe { del_pfn_range_reclaim(&mut arena, root, &mut cache, gone, 1, 63, &mut |_, _| false) };
                    assert_eq!(missing, 0);
                    assert_eq!(keys_of(&arena, root), vec![key(kept)]);
                    assert_eq!(arena.live_pages(), pages);
                    // SAFETY: as above.
                    let missing = unsafe { del_pfn_range_reclaim(&mut arena, root, &mut cache, kept, 1, 63, &mut |_, _| false) };
                    assert_eq!(missing, 0);
                    assert_eq!(arena.live_pages(), 1);
                }
            }

            /// A range that wraps past the end of the address space is
            /// refused by the add and deletes nothing, with or without
            /// freeing: it never splits a chunk (the kernel would look up
            /// the NUMA node of page frames that do not exist).
            #[test]
            fn wrapping_range_is_refused_and_deletes_nothing() {
                let (mut arena, root, mut cache) = quarantined_tree();
                // A key that a saturated range would reach: the top pfn.
                let top = MAX_PFN;
                // SAFETY: valid tree in `arena`, `cache` is its cache.
                let res = unsafe { add_pfn_range(&mut arena, root, &mut cache, top, 1, 63, &mut |_, _| false) };
                assert_eq!(res, Ok(()));
                let (keys, pages) = (keys_of(&arena, root), arena.live_pages());
                let (start, n) = (top - 1, u64::MAX);
                let mut splits = 0;
                let mut split = |_: u64, _: u32| {
                    splits += 1;
                    false
                };
                // SAFETY: as above.
                let res = unsafe { add_pfn_range(&mut arena, root, &mut cache, start, n, 63, &mut split) };
                assert_eq!(res, Err(RadixError::Range));
                // SAFETY: as above.
                let missing = unsafe { del_pfn_range(&mut arena, root, &mut cache, start, n, 63, &mut split) };
                assert_eq!(missing, 0);
                // SAFETY: as above; every node below the root comes from
                // `arena`.
                let missing = unsafe { del_pfn_range_reclaim(&mut arena, root, &mut cache, start, n, 63, &mut split) };
                assert_eq!(missing, 0);
                assert_eq!(splits, 0);
                assert_eq!(keys_of(&arena, root), keys);
                assert_eq!(arena.live_pages(), pages);
            }

            /// The range calls remember the leaf of each order in the cache;
            /// a leaf that a reclaiming delete frees, by range or by single
            /// key, must be forgotten there, or the next range call on the
            /// same pages writes or reads the freed page (which faults in
            /// this arena) instead of growing a new path. With leaf words
            /// only the adds use the chunk leaves; without, the range
            /// deletes too.
            #[test]
            fn range_calls_forget_freed_leaves() {
                for leaf_words in [true, false] {
                    range_calls_forget_freed_leaves_with(leaf_words);
                }
            }

            fn range_calls_forget_freed_leaves_with(leaf_words: bool) {
                let (mut arena, root, mut cache) = quarantined_tree();
                arena.offer_leaf_words(leaf_words);
                // Chunks of orders 0, 1, 2, 3 and back: several chunk leaves.
                let (start, n) = (1, 29);
                let want = c_chunks(start, n, 63, 63);
                for by_range in [true, false, true] {
                    // SAFETY: valid tree in `arena`, `cache` is its cache.
                    let res = unsafe { add_pfn_range(&mut arena, root, &mut cache, start, n, 63, &mut |_, _| false) };
                    assert_eq!(res, Ok(()));
                    let mut keys = keys_of(&arena, root);
                    keys.sort_unstable();
                    let mut sorted = want.clone();
                    sorted.sort_unstable();
                    assert_eq!(keys, sorted);
                    if by_range {
                        // SAFETY: as above; every node below the root comes
                        // from `arena`.
                        let missing = unsafe { del_pfn_range_reclaim(&mut arena, root, &mut cache, start, n, 63, &mut |_, _| false) };
                        assert_eq!(missing, 0);
                    } else {
                        for &key in &want {
                            // SAFETY: as above.
                            let res = unsafe { del_key_reclaim_cached(&mut arena, root, &mut cache, key) };
                            assert_eq!(res, Ok(()));
                        }
                    }
                    assert_eq!(arena.live_pages(), 1);
                    // Deleting again finds no path: no chunk leaf is left.
                    // SAFETY: as above.
                    let missing = unsafe { del_pfn_range(&mut arena, root, &mut cache, start, n, 63, &mut |_, _| false) };
                    assert_eq!(missing, want.len());
                }
            }
        }
    };
}

range_tests!(geom4k, 64);
range_tests!(geom16k, 32);
range_tests!(geom64k, 32);
