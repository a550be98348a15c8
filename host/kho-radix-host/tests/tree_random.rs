// SPDX-License-Identifier: GPL-2.0

//! Model-based property tests of the tree against a `BTreeSet<u64>`:
//! random sequences of adds, deletes, walks, reinits, injected allocation
//! failures and arena switches, with and without a `TableCache`, and dense
//! runs of keys added and deleted with reclamation. Run for 4K, 16K and 64K
//! pages.

use proptest::prelude::*;

use kho_radix_host::{proptest_cases as cases, rounds};

/// Which key an operation uses.
#[derive(Debug, Clone)]
enum Sel {
    /// A key from the strategy.
    Key(u64),
    /// The `n % len`-th key of the model (falls back to a fixed key).
    Existing(usize),
}

/// One step of a random test sequence.
#[derive(Debug, Clone)]
enum Op {
    Add(Sel),
    /// Add with a failure injected at each allocation point in turn.
    AddFailing(Sel),
    Del(Sel),
    DelReclaim(Sel),
    Walk,
    /// Walk whose leaf callback stops at the `n % (len + 1)`-th key.
    WalkStop(usize),
    /// Walk whose node callback stops at the `n % (nodes + 1)`-th node.
    WalkStopNode(usize),
    /// `destroy` plus a fresh root.
    Reinit,
    /// Whether the arena keeps words outside the pages it allocates from now
    /// on, where the tree counts table entries; without, as for the kernel's
    /// memblock pages, the tree reads a table to see whether it emptied.
    KeepWords(bool),
    /// Whether the arena offers leaf words from now on
    /// (`Arena::offer_leaf_words()`): with them, reclaiming deletes keep
    /// witnesses there; without, as for the kernel, they test the key's word.
    LeafWords(bool),
}

#[macro_use]
mod tree_support;
use tree_support::*;

macro_rules! tree_random {
    ($geom:ident, $cases:expr) => {
        mod $geom {
            use super::*;
            tree_support!($geom);

            fn key_strategy() -> impl Strategy<Value = u64> {
                prop_oneof![
                    // Any page of any order.
                    (0..=MAX_KEY_ORDER, any::<u64>()).prop_map(|(o, p)| encode_key(p, o)),
                    // Low memory, small orders: shared paths and leaves.
                    (0u32..4, 0u64..(1 << 26)).prop_map(|(o, p)| encode_key(p, o)),
                    // The highest encodable PFNs.
                    (0..=MAX_KEY_ORDER, 0u64..64).prop_map(|(o, i)| {
                        encode_key(u64::MAX - (i << (PAGE_SHIFT + o)), o)
                    }),
                    // Raw keys: in range (incl. 0 and 1), at and past the limit.
                    0..=MAX_KEY,
                    Just(MAX_KEY),
                    (MAX_KEY + 1)..=u64::MAX,
                ]
            }

            fn sel_strategy() -> impl Strategy<Value = Sel> {
                prop_oneof![
                    key_strategy().prop_map(Sel::Key),
                    any::<usize>().prop_map(Sel::Existing),
                ]
            }

            fn op_strategy() -> impl Strategy<Value = Op> {
                prop_oneof![
                    6 => sel_strategy().prop_map(Op::Add),
                    2 => sel_strategy().prop_map(Op::AddFailing),
                    3 => sel_strategy().prop_map(Op::Del),
                    3 => sel_strategy().prop_map(Op::DelReclaim),
                    2 => Just(Op::Walk),
                    1 => any::<usize>().prop_map(Op::WalkStop),
                    1 => any::<usize>().prop_map(Op::WalkStopNode),
                    1 => Just(Op::Reinit),
                    1 => any::<bool>().prop_map(Op::KeepWords),
                    1 => any::<bool>().prop_map(Op::LeafWords),
                ]
            }

            fn pick(sel: &Sel, model: &BTreeSet<u64>) -> u64 {
                match *sel {
                    Sel::Key(k) => k,
                    Sel::Existing(n) if !model.is_empty() => {
                        *model.iter().nth(n % model.len()).expect("in range")
                    }
                    Sel::Existing(_) => encode_key(0x10_0000, 0),
                }
            }

            /// Applies `ops`, checking every step against the model; with
            /// `cached`, adds and deletes go through one [`TableCache`] kept
            /// for the whole sequence, as in the kernel.
            fn run(ops: &[Op], cached: bool) {
                let (mut arena, mut root) = new_tree();
                let mut cache = TableCache::new();
                let mut model = BTreeSet::new();
                // Keys added since the last reinit; their paths may hold nodes.
                let mut touched = BTreeSet::new();

                for op in ops {
                    match op {
                        Op::Add(sel) => {
                            let k = pick(sel, &model);
                            // SAFETY: `root` is a valid tree in `arena`,
                            // `cache` is its.
                            let r = unsafe {
                                if cached {
                                    add_key_cached(&mut arena, root, &mut cache, k)
                                } else {
                                    add_key(&mut arena, root, k)
                                }
                            };
                            if key_in_range(k) {
                                assert_eq!(r, Ok(()));
                                model.insert(k);
                                touched.insert(k);
                            } else {
                                assert_eq!(r, Err(RadixError::Range));
                            }
                        }
                        Op::AddFailing(sel) => {
                            let k = pick(sel, &model);
                            let mut n = 0;
                            loop {
                                let before = arena.snapshot();
                                let attempts = arena.attempts();
                                arena.fail_nth_alloc(Some(n));
                                // SAFETY: `root` is a valid tree in `arena`,
                                // `cache` is its.
                                let r = unsafe {
                                    if cached {
                                        add_key_cached(&mut arena, root, &mut cache, k)
                                    } else {
                                        add_key(&mut arena, root, k)
                                    }
                                };
                                let used = arena.attempts() - attempts;
                                arena.fail_nth_alloc(None);
                                match r {
                                    Err(RadixError::NoMemory) => {
                                        assert_eq!(used, n + 1);
                                        assert!(arena.snapshot() == before, "failed add changed the tree");
                                    }
                                    Err(RadixError::Range) => {
                                        assert!(!key_in_range(k));
                                        break;
                                    }
                                    Ok(()) => {
                                        assert!(used <= n);
                                        model.insert(k);
                                        touched.insert(k);
                                        break;
                                    }
                                    Err(e) => panic!("unexpected {e:?}"),
                                }
                                n += 1;
                                assert!(n < TREE_MAX_DEPTH as usize);
                            }
                        }
                        Op::Del(sel) | Op::DelReclaim(sel) => {
                            let k = pick(sel, &model);
                            let reclaim = matches!(op, Op::DelReclaim(_));
                            // SAFETY: `root` is a valid tree in `arena`.
                            let r = unsafe {
                                match (reclaim, cached) {
                                    (true, true) => del_key_reclaim_cached(&mut arena, root, &mut cache, k),
                                    (true, false) => del_key_reclaim(&mut arena, root, k),
                                    (false, true) => del_key_cached(&mut arena, root, &mut cache, k),
                                    (false, false) => del_key(&mut arena, root, k),
                                }
                            };
                            if !key_in_range(k) {
                                assert_eq!(r, Err(RadixError::Range));
                            } else if model.contains(&k) {
                                assert_eq!(r, Ok(()));
                            } else {
                                assert!(r == Ok(()) || r == Err(RadixError::NotPresent));
                                if !touched.contains(&k) && touched.is_empty() {
                                    assert_eq!(r, Err(RadixError::NotPresent));
                                }
                            }
                            model.remove(&k);
                            if reclaim && model.is_empty() && touched.iter().all(|t| *t == k) {
                                assert_eq!(arena.live_pages(), 1, "reclaim left nodes");
                            }
                        }
                        Op::Walk => check(&arena, root, &model),
                        Op::WalkStop(n) => {
                            let stop = n % (model.len() + 1);
                            let mut seen = Vec::new();
                            let mut leaf = |k: u64| {
                                seen.push(k);
                                if seen.len() == stop { 42 } else { 0 }
                            };
                            // SAFETY: `root` is a valid tree in `arena`.
                            let r = unsafe { walk(&arena, root, Some(&mut leaf), None) };
                            let want = if stop == 0 { model.len() } else { stop };
                            assert_eq!(r, if stop == 0 { 0 } else { 42 });
                            assert_eq!(seen, model.iter().copied().take(want).collect::<Vec<_>>());
                        }
                        Op::WalkStopNode(n) => {
                            let stop = n % (arena.live_pages() + 1);
                            let mut seen = 0;
                            let mut node = |p: u64| {
                                assert!(arena.is_live(p));
                                seen += 1;
                                if seen == stop { -7 } else { 0 }
                            };
                            // SAFETY: `root` is a valid tree in `arena`.
                            let r = unsafe { walk(&arena, root, None, Some(&mut node)) };
                            assert_eq!(r, if stop == 0 { 0 } else { -7 });
                            assert_eq!(seen, if stop == 0 { arena.live_pages() } else { stop });
                        }
                        Op::Reinit => {
                            // SAFETY: `root` is a valid tree in `arena`, unused afterwards.
                            unsafe { destroy(&mut arena, root) };
                            assert_eq!(arena.live_pages(), 0, "destroy leaked");
                            root = alloc_root(&mut arena).expect("root");
                            cache.clear();
                            model.clear();
                            touched.clear();
                        }
                        Op::KeepWords(keep) => arena.keep_words(*keep),
                        Op::LeafWords(offer) => arena.offer_leaf_words(*offer),
                    }
                    // SAFETY: `root` is a valid tree in `arena`.
                    let wrong = unsafe { find_wrong_table_count(&arena, root) };
                    assert_eq!(wrong, None, "wrong table count after {op:?}");
                }

                check(&arena, root, &model);
                // Reclaiming every key ever added leaves just the root.
                for &k in &touched {
                    // SAFETY: `root` is a valid tree in `arena`, `cache` is its.
                    let r = unsafe {
                        if cached {
                            del_key_reclaim_cached(&mut arena, root, &mut cache, k)
                        } else {
                            del_key_reclaim(&mut arena, root, k)
                        }
                    };
                    assert!(r == Ok(()) || r == Err(RadixError::NotPresent));
                }
                assert_eq!(arena.live_pages(), 1, "reclaim of everything left nodes");
                // SAFETY: `root` is a valid tree in `arena`.
                assert_eq!(unsafe { count_nodes(&arena, root) }, (1, 0));
                check(&arena, root, &BTreeSet::new());
                // SAFETY: `root` is a valid tree in `arena`, unused afterwards.
                unsafe { destroy(&mut arena, root) };
                assert_eq!(arena.live_pages(), 0, "destroy leaked");
            }

            proptest! {
                #![proptest_config(ProptestConfig::with_cases(cases($cases)))]

                #[test]
                fn random_ops_match_model(ops in prop::collection::vec(op_strategy(), 1..rounds(48, 16))) {
                    run(&ops, false);
                }

                #[test]
                fn random_ops_with_table_cache_match_model(
                    ops in prop::collection::vec(op_strategy(), 1..rounds(48, 16)),
                ) {
                    run(&ops, true);
                }

                #[test]
                fn dense_keys_match_model(
                    base in 0..=MAX_KEY,
                    offs in prop::collection::vec(0u64..(4 * BITMAP_BITS as u64), 1..rounds(200, 40)),
                    del in prop::collection::vec(any::<usize>(), 0..100),
                ) {
                    let (mut arena, root) = new_tree();
                    let mut model = BTreeSet::new();
                    for o in offs {
                        let k = base.saturating_add(o).min(MAX_KEY);
                        // SAFETY: `root` is a valid tree in `arena`.
                        prop_assert_eq!(unsafe { add_key(&mut arena, root, k) }, Ok(()));
                        model.insert(k);
                    }
                    check(&arena, root, &model);
                    for d in del {
                        if model.is_empty() {
                            break;
                        }
                        let k = *model.iter().nth(d % model.len()).expect("in range");
                        // SAFETY: `root` is a valid tree in `arena`.
                        prop_assert_eq!(unsafe { del_key_reclaim(&mut arena, root, k) }, Ok(()));
                        model.remove(&k);
                    }
                    check(&arena, root, &model);
                    // SAFETY: `root` is a valid tree in `arena`, unused afterwards.
                    unsafe { destroy(&mut arena, root) };
                    prop_assert_eq!(arena.live_pages(), 0);
                }
            }
        }
    };
}

tree_random!(geom4k, 256);
tree_random!(geom16k, 128);
tree_random!(geom64k, 64);
