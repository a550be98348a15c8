// SPDX-License-Identifier: GPL-2.0

//! Tests of the tree's `TableCache`: it forgets the tables a reclaiming
//! delete frees, and adds and deletes through it match a `BTreeSet<u64>`
//! model while its slots are replaced all the time, and a tree of one leaf
//! keeps it where single-key deletes find it first. Run for 4K, 16K and
//! 64K pages.

#[macro_use]
mod tree_support;
use kho_radix_host::rounds;
use tree_support::*;

macro_rules! tree_cache {
    ($geom:ident) => {
        mod $geom {
            use super::*;
            tree_support!($geom);

            /// Adds the `n` keys from `first` through `cache`.
            fn add_run(
                arena: &mut Arena,
                root: NonNull<RadixNode>,
                cache: &mut TableCache,
                first: u64,
                n: u64,
            ) {
                for k in first..first + n {
                    // SAFETY: `root` is a valid tree in `arena`; `cache` belongs to it.
                    assert_eq!(unsafe { add_key_cached(arena, root, cache, k) }, Ok(()));
                }
            }

            #[test]
            fn table_cache_forgets_freed_tables() {
                let (mut arena, root) = new_tree();
                let mut cache = TableCache::new();
                let first = encode_key(1u64 << 32, 0);
                add_run(&mut arena, root, &mut cache, first, 64);

                // Emptying the leaf frees it and its tables; the cache must
                // not hand the freed level-1 table out again.
                for k in first..first + 64 {
                    // SAFETY: as above.
                    assert_eq!(
                        unsafe { del_key_reclaim_cached(&mut arena, root, &mut cache, k) },
                        Ok(())
                    );
                }
                assert_eq!(arena.live_pages(), 1);
                add_run(&mut arena, root, &mut cache, first, 1);
                check(&arena, root, &BTreeSet::from([first]));
                assert_eq!(arena.live_pages(), TREE_MAX_DEPTH as usize);
                // SAFETY: `root` is a valid tree in `arena`, unused afterwards.
                unsafe { destroy(&mut arena, root) };
            }

            #[test]
            fn table_cache_under_conflicts_matches_model() {
                let (mut arena, root) = new_tree();
                let mut cache = TableCache::new();
                let first = encode_key(0, 0);
                add_run(&mut arena, root, &mut cache, first, 64);
                // Keys under 4 * TABLE_CACHE_SLOTS level-1 tables, in a
                // scrambled order: at most a quarter of the tables can be
                // cached at a time, so slots are replaced all the time.
                // Under Miri twice as many tables as slots, one key each.
                let tables = rounds(4, 2) as u64 * TABLE_CACHE_SLOTS as u64;
                let deletes = rounds(200, 40);
                let mut model = BTreeSet::from_iter(first..first + 64);
                for i in 0..rounds(4, 1) as u64 * tables {
                    let table = (i * 37) % tables + 1;
                    // Three leaves per table, so that a table mistaken for
                    // another has the leaf asked for.
                    let leaf = i % 3;
                    let key = (table << (BITMAP_SIZE_LOG2 + TABLE_SIZE_LOG2))
                        | (leaf << BITMAP_SIZE_LOG2)
                        | i;
                    // SAFETY: `root` is a valid tree in `arena`; `cache` belongs to it.
                    assert_eq!(
                        unsafe { add_key_cached(&mut arena, root, &mut cache, key) },
                        Ok(())
                    );
                    model.insert(key);
                }
                for &k in model.iter().rev().take(deletes) {
                    // SAFETY: as above.
                    assert_eq!(
                        unsafe { del_key_cached(&mut arena, root, &mut cache, k) },
                        Ok(())
                    );
                }
                let model: BTreeSet<u64> = model.iter().rev().skip(deletes).copied().collect();
                check(&arena, root, &model);
                // SAFETY: `root` is a valid tree in `arena`, unused afterwards.
                unsafe { destroy(&mut arena, root) };
            }

            /// Keys over more leaves than the cache parks witnesses for,
            /// deleted with freeing in a scrambled order, with and without
            /// leaf words: once the cache counts that many leaves the
            /// witnesses are kept in the leaves' words, if the memory has
            /// them, and each leaf is freed as its last key goes.
            #[test]
            #[cfg_attr(miri, ignore = "hundreds of leaves")]
            fn many_leaves_free_each_emptied_leaf() {
                let leaves = PARKED_WITNESS_SLOTS as u64 + 64;
                for leaf_words in [true, false] {
                    let (mut arena, root) = new_tree();
                    arena.offer_leaf_words(leaf_words);
                    let mut cache = TableCache::new();
                    // Three keys per leaf, in a scrambled order of leaves.
                    let keys: Vec<u64> = (0..3 * leaves)
                        .map(|i| {
                            let leaf = (i * 97) % leaves;
                            encode_key(0, 0)
                                + (leaf << BITMAP_SIZE_LOG2)
                                + (i * 7919) % BITMAP_BITS as u64
                        })
                        .collect();
                    let mut per_leaf = vec![0usize; leaves as usize];
                    for &k in &keys {
                        // SAFETY: `root` is a valid tree in `arena`; `cache` belongs to it.
                        assert_eq!(
                            unsafe { add_key_cached(&mut arena, root, &mut cache, k) },
                            Ok(())
                        );
                        per_leaf[((k - encode_key(0, 0)) >> BITMAP_SIZE_LOG2) as usize] += 1;
                    }
                    assert!(cache.has_many_leaves());
                    for (i, &k) in keys.iter().enumerate() {
                        // SAFETY: as above.
                        assert_eq!(
                            unsafe { del_key_reclaim_cached(&mut arena, root, &mut cache, k) },
                            Ok(())
                        );
                        per_leaf[((k - encode_key(0, 0)) >> BITMAP_SIZE_LOG2) as usize] -= 1;
                        let want = per_leaf.iter().filter(|&&n| n > 0).count();
                        // SAFETY: as above.
                        let (_, got) = unsafe { count_nodes(&arena, root) };
                        assert_eq!(got, want, "after delete {i}, leaf words {leaf_words}");
                    }
                    assert!(!cache.has_many_leaves());
                    assert_eq!(arena.live_pages(), 1);
                    // SAFETY: `root` is a valid tree in `arena`, unused afterwards.
                    unsafe { destroy(&mut arena, root) };
                }
            }

            /// The keys of the tree, by its walk, which skips zero words (the
            /// reference walk of `check()` tests every bit, too slow for
            /// hundreds of leaves of 64 KiB pages in a debug build).
            fn keys_of(arena: &Arena, root: NonNull<RadixNode>) -> BTreeSet<u64> {
                let mut keys = BTreeSet::new();
                let mut f = |k: u64| {
                    keys.insert(k);
                    0
                };
                // SAFETY: `root` is a valid tree in `arena`.
                assert_eq!(unsafe { walk_keys(arena, root, &mut f) }, 0);
                keys
            }

            /// In a tree of one leaf, the add that grew the leaf leaves it
            /// in the chunk-leaf slot of the single-key deletes: every
            /// reclaiming delete in random order but the last, which
            /// empties the leaf, then finds it there without following a
            /// table entry. Without that, most of them looked it up until
            /// a witness died (30554 of 32767 at 4 KiB pages).
            #[test]
            fn one_leaf_tree_keeps_its_leaf_in_the_key_slot() {
                let (mut arena, root) = new_tree();
                let mut cache = TableCache::new();
                let base = encode_key(1u64 << (BITMAP_SIZE_LOG2 + PAGE_SHIFT + 4), 0);
                let n = rounds(BITMAP_BITS, 600) as u64;
                // Spread over the leaf (7919 is odd, so these are distinct).
                let mut keys: Vec<u64> = (0..n)
                    .map(|i| base + (i * 7919) % BITMAP_BITS as u64)
                    .collect();
                for &k in &keys {
                    // SAFETY: `root` is a valid tree in `arena`; `cache` belongs to it.
                    assert_eq!(
                        unsafe { add_key_cached(&mut arena, root, &mut cache, k) },
                        Ok(())
                    );
                }
                // A scrambled order, one key kept back.
                let last = keys.pop().expect("n > 0");
                let m = keys.len();
                for i in 0..m {
                    keys.swap(i, (i * 613 + 17) % m);
                }
                let before = arena.lookups();
                for &k in &keys {
                    // SAFETY: as above.
                    assert_eq!(
                        unsafe { del_key_reclaim_cached(&mut arena, root, &mut cache, k) },
                        Ok(())
                    );
                }
                assert_eq!(arena.lookups() - before, 0, "{m} deletes");
                assert_eq!(keys_of(&arena, root), BTreeSet::from([last]));
                // SAFETY: as above.
                assert_eq!(
                    unsafe { del_key_reclaim_cached(&mut arena, root, &mut cache, last) },
                    Ok(())
                );
                assert_eq!(arena.live_pages(), 1);
                // SAFETY: `root` is a valid tree in `arena`, unused afterwards.
                unsafe { destroy(&mut arena, root) };
            }

            /// A tree whose leaves outnumber the parked slots, then fall
            /// below, then outnumber them again and empty, with single-key
            /// and one-page range deletes mixed, with and without leaf
            /// words: the witnesses move between the parked slots and the
            /// leaves' words, stale in both, and after every phase the
            /// tree holds the model's keys, one leaf per leaf-sized block
            /// with a key, and at the end only its root.
            #[test]
            #[cfg_attr(miri, ignore = "hundreds of leaves")]
            fn many_leaves_cross_the_slots_both_ways() {
                let leaves = PARKED_WITNESS_SLOTS as u64 + 64;
                let base = encode_key(0, 0);
                let key = |leaf: u64, i: u64| {
                    base + (leaf << BITMAP_SIZE_LOG2) + (i * 7919 + leaf * 31) % BITMAP_BITS as u64
                };
                for leaf_words in [true, false] {
                    let (mut arena, root) = new_tree();
                    arena.offer_leaf_words(leaf_words);
                    let mut cache = TableCache::new();
                    let mut model = BTreeSet::new();
                    let mut round = 0u64;
                    let add = |arena: &mut Arena,
                               cache: &mut TableCache,
                               model: &mut BTreeSet<u64>,
                               lo: u64,
                               hi: u64,
                               i: u64| {
                        for leaf in lo..hi {
                            for j in 0..2 {
                                let k = key(leaf, i + j);
                                // SAFETY: `root` is a valid tree in `arena`; `cache` belongs to it.
                                assert_eq!(
                                    unsafe { add_key_cached(arena, root, cache, k) },
                                    Ok(())
                                );
                                model.insert(k);
                            }
                        }
                    };
                    let mut delete = |arena: &mut Arena,
                                      cache: &mut TableCache,
                                      model: &mut BTreeSet<u64>,
                                      lo: u64,
                                      hi: u64| {
                        let range =
                            base + (lo << BITMAP_SIZE_LOG2)..base + (hi << BITMAP_SIZE_LOG2);
                        let mut doomed: Vec<u64> = model.range(range).copied().collect();
                        // A scrambled order.
                        let n = doomed.len();
                        for i in 0..n {
                            doomed.swap(i, (i * 613 + 17) % n);
                        }
                        for (i, &k) in doomed.iter().enumerate() {
                            round += 1;
                            if i % 3 == 2 {
                                let pfn =
                                    decode_key(k).map(|(phys, _)| phys >> PAGE_SHIFT).unwrap();
                                // SAFETY: as above.
                                let missing = unsafe {
                                    del_pfn_range_reclaim(
                                        arena,
                                        root,
                                        cache,
                                        pfn,
                                        1,
                                        0,
                                        &mut |_, _| false,
                                    )
                                };
                                assert_eq!(missing, 0, "round {round}");
                            } else {
                                // SAFETY: as above.
                                assert_eq!(
                                    unsafe { del_key_reclaim_cached(arena, root, cache, k) },
                                    Ok(()),
                                    "round {round}"
                                );
                            }
                            model.remove(&k);
                        }
                    };
                    let verify = |arena: &Arena, model: &BTreeSet<u64>, phase: &str| {
                        assert_eq!(
                            &keys_of(arena, root),
                            model,
                            "{phase}, leaf words {leaf_words}"
                        );
                        let blocks: BTreeSet<u64> =
                            model.iter().map(|k| k >> BITMAP_SIZE_LOG2).collect();
                        // SAFETY: `root` is a valid tree in `arena`.
                        let (_, got) = unsafe { count_nodes(arena, root) };
                        assert_eq!(got, blocks.len(), "{phase}, leaf words {leaf_words}");
                    };
                    add(&mut arena, &mut cache, &mut model, 0, leaves, 0);
                    assert!(cache.has_many_leaves());
                    verify(&arena, &model, "filled");
                    delete(&mut arena, &mut cache, &mut model, 0, leaves / 2);
                    assert!(!cache.has_many_leaves());
                    verify(&arena, &model, "half emptied");
                    add(&mut arena, &mut cache, &mut model, 0, leaves / 2, 5);
                    assert!(cache.has_many_leaves());
                    verify(&arena, &model, "refilled");
                    delete(&mut arena, &mut cache, &mut model, 0, leaves);
                    verify(&arena, &model, "emptied");
                    assert_eq!(arena.live_pages(), 1);
                    // SAFETY: `root` is a valid tree in `arena`, unused afterwards.
                    unsafe { destroy(&mut arena, root) };
                }
            }
        }
    };
}

tree_cache!(geom4k);
tree_cache!(geom16k);
tree_cache!(geom64k);
