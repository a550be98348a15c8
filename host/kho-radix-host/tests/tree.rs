// SPDX-License-Identifier: GPL-2.0

//! Tree tests: unit tests and model-based property tests against a
//! `BTreeSet<u64>`, run for 4K, 16K and 64K pages.

use proptest::prelude::*;
use std::cell::RefCell;
use std::collections::BTreeSet;

/// One event of a walk, in visit order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    Node(u64),
    Key(u64),
}

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

macro_rules! tree_tests {
    ($geom:ident, $cases:expr) => {
        mod $geom {
            use super::*;
            use kho_radix_host::$geom::kho_radix_abi::*;
            use kho_radix_host::$geom::kho_radix_tree::*;
            use kho_radix_host::$geom::{new_arena, PAGE_SHIFT};
            use kho_radix_host::Arena;
            use std::ptr::NonNull;

            const TOP: u32 = TREE_MAX_DEPTH - 1;
            const MAX_KEY: u64 = (1u64 << KEY_WIDTH) - 1;

            /// Independent recursive transcription of C `__kho_radix_walk_tree()`.
            fn reference_walk(arena: &Arena, phys: u64, level: u32, start: u64, out: &mut Vec<Event>) {
                out.push(Event::Node(phys));
                let page = arena.virt_of(phys).cast::<u64>();
                for i in 0..TABLE_ENTRIES {
                    // SAFETY: `page` is a live arena page of TABLE_ENTRIES words.
                    let e = unsafe { page.as_ptr().add(i).read() };
                    if e == 0 {
                        continue;
                    }
                    let shift = (level - 1) * TABLE_SIZE_LOG2 + BITMAP_SIZE_LOG2;
                    let key = start | ((i as u64) << shift);
                    if level == 1 {
                        out.push(Event::Node(e));
                        let leaf = arena.virt_of(e).cast::<u64>();
                        for bit in 0..BITMAP_BITS {
                            // SAFETY: `leaf` is a live arena page of BITMAP_WORDS words.
                            let w = unsafe { leaf.as_ptr().add(bit / 64).read() };
                            if w & (1u64 << (bit % 64)) != 0 {
                                out.push(Event::Key(key | bit as u64));
                            }
                        }
                    } else {
                        reference_walk(arena, e, level - 1, key, out);
                    }
                }
            }

            /// Our walk, recorded as events.
            fn events(arena: &Arena, root: NonNull<RadixNode>) -> (i32, Vec<Event>) {
                let ev = RefCell::new(Vec::new());
                let mut leaf = |k: u64| {
                    ev.borrow_mut().push(Event::Key(k));
                    0
                };
                let mut node = |p: u64| {
                    ev.borrow_mut().push(Event::Node(p));
                    0
                };
                // SAFETY: `root` is a valid tree in `arena`.
                let r = unsafe { walk(arena, root, Some(&mut leaf), Some(&mut node)) };
                (r, ev.into_inner())
            }

            /// Checks walk output, node accounting and membership against the model.
            fn check(arena: &Arena, root: NonNull<RadixNode>, model: &BTreeSet<u64>) {
                let (r, ev) = events(arena, root);
                assert_eq!(r, 0);
                let mut reference = Vec::new();
                reference_walk(arena, arena.phys_of(root.cast()), TOP, 0, &mut reference);
                assert_eq!(ev, reference, "walk order differs from C");

                let keys: Vec<u64> = ev.iter().filter_map(|e| match e {
                    Event::Key(k) => Some(*k),
                    Event::Node(_) => None,
                }).collect();
                assert_eq!(keys, model.iter().copied().collect::<Vec<_>>());

                // The closure walk sees the same keys, and stops where told.
                let mut seen = Vec::new();
                let stop_at = keys.len() / 2;
                let mut f = |k: u64| {
                    seen.push(k);
                    if seen.len() == stop_at { 5 } else { 0 }
                };
                // SAFETY: `root` is a valid tree in `arena`.
                let r = unsafe { walk_keys(arena, root, &mut f) };
                let want = if stop_at == 0 { keys.len() } else { stop_at };
                assert_eq!(r, if stop_at == 0 { 0 } else { 5 });
                assert_eq!(seen, keys[..want]);

                // The descending walk sees them in reverse, and stops too.
                let mut desc = Vec::new();
                let mut f = |k: u64| {
                    desc.push(k);
                    0
                };
                // SAFETY: `root` is a valid tree in `arena`.
                assert_eq!(unsafe { walk_keys_desc(arena, root, &mut f) }, 0);
                let reversed: Vec<u64> = keys.iter().rev().copied().collect();
                assert_eq!(desc, reversed, "descending walk is not the reverse");
                let mut seen = Vec::new();
                let mut f = |k: u64| {
                    seen.push(k);
                    if seen.len() == stop_at { 7 } else { 0 }
                };
                // SAFETY: `root` is a valid tree in `arena`.
                let r = unsafe { walk_keys_desc(arena, root, &mut f) };
                assert_eq!(r, if stop_at == 0 { 0 } else { 7 });
                assert_eq!(seen, reversed[..want]);

                let nodes: Vec<u64> = ev.iter().filter_map(|e| match e {
                    Event::Node(p) => Some(*p),
                    Event::Key(_) => None,
                }).collect();
                let unique: BTreeSet<u64> = nodes.iter().copied().collect();
                assert_eq!(unique.len(), nodes.len(), "node reported twice");
                assert_eq!(unique, arena.live_set(), "walked nodes are not the live pages");

                // SAFETY: `root` is a valid tree in `arena`.
                let (tables, leaves) = unsafe { count_nodes(arena, root) };
                assert_eq!(tables + leaves, arena.live_pages());
                // SAFETY: `root` is a valid tree in `arena`.
                assert_eq!(unsafe { find_wrong_table_count(arena, root) }, None);

                // Keys only through the leaf callback; nodes only.
                let mut only = Vec::new();
                let mut leaf = |k: u64| {
                    only.push(k);
                    0
                };
                // SAFETY: `root` is a valid tree in `arena`.
                assert_eq!(unsafe { walk(arena, root, Some(&mut leaf), None) }, 0);
                assert_eq!(only, keys);
                let mut n = 0usize;
                let mut node = |_: u64| {
                    n += 1;
                    0
                };
                // SAFETY: `root` is a valid tree in `arena`.
                assert_eq!(unsafe { walk(arena, root, None, Some(&mut node)) }, 0);
                assert_eq!(n, nodes.len());

                for &k in model.iter().take(16) {
                    // SAFETY: `root` is a valid tree in `arena`.
                    assert!(unsafe { contains_key(arena, root, k) });
                    for k2 in [k ^ 1, k.wrapping_add(BITMAP_BITS as u64)] {
                        // SAFETY: `root` is a valid tree in `arena`.
                        let c = unsafe { contains_key(arena, root, k2) };
                        assert_eq!(c, model.contains(&k2));
                    }
                }
            }

            fn new_tree() -> (Arena, NonNull<RadixNode>) {
                let mut arena = new_arena();
                let root = alloc_root(&mut arena).expect("root");
                (arena, root)
            }

            /// Adds the `n` keys from `first` through `cache`.
            fn add_run(arena: &mut Arena, root: NonNull<RadixNode>, cache: &mut TableCache, first: u64, n: u64) {
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
                    assert_eq!(unsafe { del_key_reclaim_cached(&mut arena, root, &mut cache, k) }, Ok(()));
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
                    let key = (table << (BITMAP_SIZE_LOG2 + TABLE_SIZE_LOG2)) | (leaf << BITMAP_SIZE_LOG2) | i;
                    // SAFETY: `root` is a valid tree in `arena`; `cache` belongs to it.
                    assert_eq!(unsafe { add_key_cached(&mut arena, root, &mut cache, key) }, Ok(()));
                    model.insert(key);
                }
                for &k in model.iter().rev().take(deletes) {
                    // SAFETY: as above.
                    assert_eq!(unsafe { del_key_cached(&mut arena, root, &mut cache, k) }, Ok(()));
                }
                let model: BTreeSet<u64> = model.iter().rev().skip(deletes).copied().collect();
                check(&arena, root, &model);
                // SAFETY: `root` is a valid tree in `arena`, unused afterwards.
                unsafe { destroy(&mut arena, root) };
            }

            #[test]
            fn key_width_limit() {
                let (mut arena, root) = new_tree();
                // SAFETY (all calls below): `root` is a valid tree in `arena`.
                unsafe {
                    assert_eq!(add_key(&mut arena, root, MAX_KEY), Ok(()));
                    assert_eq!(add_key(&mut arena, root, MAX_KEY + 1), Err(RadixError::Range));
                    assert_eq!(add_key(&mut arena, root, u64::MAX), Err(RadixError::Range));
                    assert_eq!(del_key(&mut arena, root, MAX_KEY + 1), Err(RadixError::Range));
                    assert_eq!(del_key_reclaim(&mut arena, root, u64::MAX), Err(RadixError::Range));
                    assert!(!contains_key(&arena, root, MAX_KEY + 1));
                    assert_eq!(add_key(&mut arena, root, 0), Ok(()));
                    // One path per key: the root plus TOP - 1 tables and a leaf each.
                    assert_eq!(count_nodes(&arena, root), (1 + 2 * (TOP as usize - 1), 2));
                    check(&arena, root, &BTreeSet::from([0, MAX_KEY]));
                    destroy(&mut arena, root);
                }
                assert_eq!(arena.live_pages(), 0);
            }

            #[test]
            fn errno_values() {
                assert_eq!(RadixError::Range.to_errno(), -34);
                assert_eq!(RadixError::NoMemory.to_errno(), -12);
                assert_eq!(RadixError::NotPresent.to_errno(), -2);
            }

            #[test]
            fn del_missing_path_and_reclaim() {
                let (mut arena, root) = new_tree();
                let k = encode_key(0x4000_0000, 0);
                // SAFETY (all calls below): `root` is a valid tree in `arena`.
                unsafe {
                    assert_eq!(del_key(&mut arena, root, k), Err(RadixError::NotPresent));
                    assert_eq!(del_key_reclaim(&mut arena, root, k), Err(RadixError::NotPresent));
                    add_key(&mut arena, root, k).unwrap();
                    add_key(&mut arena, root, k + 1).unwrap();
                    assert_eq!(arena.live_pages(), TREE_MAX_DEPTH as usize);
                    // Plain delete keeps the nodes, like C.
                    del_key(&mut arena, root, k).unwrap();
                    del_key(&mut arena, root, k + 1).unwrap();
                    assert_eq!(arena.live_pages(), TREE_MAX_DEPTH as usize);
                    check(&arena, root, &BTreeSet::new());
                    // Deleting an absent key on an existing path succeeds.
                    del_key(&mut arena, root, k).unwrap();
                    // Reclaim frees the empty branch, never the root.
                    del_key_reclaim(&mut arena, root, k).unwrap();
                    assert_eq!(arena.live_pages(), 1);
                    assert_eq!(count_nodes(&arena, root), (1, 0));
                    check(&arena, root, &BTreeSet::new());
                    destroy(&mut arena, root);
                }
                assert_eq!(arena.live_pages(), 0);
            }

            #[test]
            fn walk_stops_and_returns_value() {
                let (mut arena, root) = new_tree();
                let keys = [encode_key(0, 0), encode_key(1 << PAGE_SHIFT, 0), encode_key(0, 3), MAX_KEY];
                // SAFETY (all calls below): `root` is a valid tree in `arena`.
                unsafe {
                    for k in keys {
                        add_key(&mut arena, root, k).unwrap();
                    }
                    let sorted: BTreeSet<u64> = keys.into_iter().collect();
                    let mut seen = Vec::new();
                    let mut leaf = |k: u64| {
                        seen.push(k);
                        if seen.len() == 2 { -5 } else { 0 }
                    };
                    assert_eq!(walk(&arena, root, Some(&mut leaf), None), -5);
                    assert_eq!(seen, sorted.iter().copied().take(2).collect::<Vec<_>>());
                    let mut node = |p: u64| if p == arena.phys_of(root.cast()) { 9 } else { 0 };
                    let mut never = |_: u64| -> i32 { panic!("leaf visited after root stop") };
                    assert_eq!(walk(&arena, root, Some(&mut never), Some(&mut node)), 9);
                    destroy(&mut arena, root);
                }
                assert_eq!(arena.live_pages(), 0);
            }

            #[test]
            fn failed_root_allocation() {
                let mut arena = new_arena();
                arena.fail_nth_alloc(Some(0));
                assert_eq!(alloc_root(&mut arena), Err(RadixError::NoMemory));
                assert_eq!(arena.live_pages(), 0);
            }

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

tree_tests!(geom4k, 256);
tree_tests!(geom16k, 128);
tree_tests!(geom64k, 64);
