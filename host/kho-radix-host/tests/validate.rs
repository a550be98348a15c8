// SPDX-License-Identifier: GPL-2.0

//! Tests of `kho_radix_validate`, one per corruption kind: each checks that
//! the tree is accepted before the corruption and rejected with the expected
//! error, level, index and value after it; plus the root checks, the node
//! bound and the statistics of valid trees. Run for 4K, 16K and 64K pages.

#[macro_use]
mod validate_support;
use validate_support::*;

macro_rules! validate_kinds {
    ($geom:ident) => {
        mod $geom {
            use super::*;
            validate_support!($geom);

            #[test]
            fn valid_tree_stats() {
                let blocks = [
                    (0, 0),
                    (PAGE, 0),
                    (64 * PAGE, 3),
                    (1024 * PAGE, MAX_ORDER),
                    (far_phys(), 0),
                ];
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
                assert_eq!(
                    validate(&arena, root).map(|s| (s.tables, s.leaves, s.keys)),
                    Ok((1, 0, 0))
                );
                let (mut arena, root) = build(&[(0, 0)]);
                let r =
                    NonNull::new(arena.virt_of(root).cast::<RadixNode>().as_ptr()).expect("root");
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
                assert_eq!(
                    validate(&arena, 0),
                    Err(err(rl, 0, 0, 0, ErrorKind::RootZero))
                );
                assert_eq!(
                    validate(&arena, root + 8),
                    Err(err(rl, 0, root + 8, 0, ErrorKind::Misaligned))
                );
                assert_eq!(
                    validate(&arena, RAM_END),
                    Err(err(rl, 0, RAM_END, 0, ErrorKind::NotRam))
                );
                assert_eq!(
                    validate(&arena, SCRATCH_START),
                    Err(err(rl, 0, SCRATCH_START, 0, ErrorKind::InScratch))
                );
                assert_eq!(
                    validate(&arena, UNMAPPED),
                    Err(err(rl, 0, UNMAPPED, 0, ErrorKind::Unmapped))
                );
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
                assert_eq!(
                    validate(&arena, root),
                    Err(err(1, idx, v, 0, ErrorKind::Misaligned))
                );
                let (arena, root, idx, v) = corrupt_leaf_link(|leaf| leaf + PAGE / 2);
                assert_eq!(
                    validate(&arena, root),
                    Err(err(1, idx, v, 0, ErrorKind::Misaligned))
                );
            }

            #[test]
            fn pointer_outside_ram() {
                let (arena, root, idx, v) = corrupt_leaf_link(|_| RAM_END);
                assert_eq!(
                    validate(&arena, root),
                    Err(err(1, idx, v, 0, ErrorKind::NotRam))
                );
                let (arena, root, idx, v) = corrupt_leaf_link(|_| u64::MAX & !(PAGE - 1));
                assert_eq!(
                    validate(&arena, root),
                    Err(err(1, idx, v, 0, ErrorKind::NotRam))
                );
            }

            #[test]
            fn pointer_into_scratch() {
                let (arena, root, idx, v) = corrupt_leaf_link(|_| SCRATCH_START);
                assert_eq!(
                    validate(&arena, root),
                    Err(err(1, idx, v, 0, ErrorKind::InScratch))
                );
                let (arena, root, idx, v) = corrupt_leaf_link(|_| SCRATCH_END - PAGE);
                assert_eq!(
                    validate(&arena, root),
                    Err(err(1, idx, v, 0, ErrorKind::InScratch))
                );
            }

            #[test]
            fn pointer_unmapped() {
                let (arena, root, idx, v) = corrupt_leaf_link(|_| UNMAPPED);
                assert_eq!(
                    validate(&arena, root),
                    Err(err(1, idx, v, 0, ErrorKind::Unmapped))
                );
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
                    let layout = Skewed {
                        inner: layout(&arena),
                        bad,
                    };
                    let mut scratch = vec![MaybeUninit::new(SCRATCH_FILL); MAX_NODES];
                    // SAFETY: `node_ptr` returns live arena pages, or for
                    // `bad` a pointer the contract does not allow, which the
                    // validator must refuse before reading.
                    let r = unsafe { validate_tree(&layout, root, &limits(), &mut scratch) }
                        .map(|t| t.stats());
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
                assert_eq!(
                    validate(&arena, root),
                    Err(err(1, ib, leaf_a, 0, ErrorKind::SharedNode))
                );
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
                assert_eq!(
                    validate(&arena, root),
                    Err(err(1, second, leaf, 0, ErrorKind::SharedNode))
                );
            }

            #[test]
            fn shared_leaf_past_the_node_bound() {
                // Every entry of a level-1 table leads to its one leaf: the
                // walk meets the leaf more often than the bound allows, and
                // the report says why rather than that the bound was hit.
                let a = encode_key(0, 0);
                let (arena, root) = build_keys(&[a]);
                let n = validate(&arena, root)
                    .map(|s| s.tables + s.leaves)
                    .expect("valid");
                let (_, t, i) = step(&arena, root, a, 1);
                let leaf = get(&arena, t, i);
                for j in 0..TABLE_ENTRIES {
                    set(&arena, t, j, leaf);
                }
                let lim = Limits {
                    max_nodes: n + 2,
                    max_order: MAX_ORDER,
                };
                // Pre-order: entry 0 is the first sighting, entry 1 the second.
                assert_eq!(
                    validate_with(&arena, root, &lim),
                    Err(err(1, 1, leaf, 0, ErrorKind::SharedNode))
                );
            }

            // 64K node visits at the least: minutes under Miri, which
            // meets the same sort and slice code in the other tests.
            #[test]
            #[cfg_attr(miri, ignore)]
            fn shared_nodes_stop_the_walk_early() {
                // Every entry of a level-2 table leads to one level-1 table,
                // every entry of which leads to one leaf: a walk of
                // `TABLE_ENTRIES` squared nodes, far past the first
                // duplicate check but within the bound. The walk must stop
                // at that check, not at the bound.
                const FIRST_CHECK: usize = 1 << 16;
                let a = encode_key(0, 0);
                let (arena, root) = build_keys(&[a]);
                let (_, t1, i1) = step(&arena, root, a, 1);
                let (_, t2, i2) = step(&arena, root, a, 2);
                let leaf = get(&arena, t1, i1);
                let table = get(&arena, t2, i2);
                for j in 0..TABLE_ENTRIES {
                    set(&arena, t1, j, leaf);
                    set(&arena, t2, j, table);
                }
                let layout = layout(&arena);
                let lim = Limits {
                    max_nodes: 16 * FIRST_CHECK,
                    max_order: MAX_ORDER,
                };
                let mut scratch = vec![MaybeUninit::new(SCRATCH_FILL); lim.max_nodes];
                // SAFETY: `node_ptr` only returns live arena pages, which are
                // aligned, `PAGE_SIZE` bytes and not written during the call.
                let res = unsafe { validate_tree(&layout, root, &lim, &mut scratch) };
                // The lower address of the two is the duplicate found; each
                // is reported at its second sighting in pre-order.
                let expected = if leaf < table {
                    err(1, 1, leaf, 0, ErrorKind::SharedNode)
                } else {
                    err(2, 1, table, 0, ErrorKind::SharedNode)
                };
                assert_eq!(res.map(|t| t.stats()), Err(expected));
                // The first walk up to the check, the second one to the
                // second sighting (within the first table's entries).
                let visited = layout.node_ptr_calls.get();
                assert!(
                    visited <= FIRST_CHECK + 2 * TABLE_ENTRIES + 16,
                    "walked {visited} nodes"
                );
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
                assert_eq!(
                    validate(&arena, root),
                    Err(err(2, ib, t1, 0, ErrorKind::SharedNode))
                );
            }

            #[test]
            fn cycle() {
                let a = encode_key(0, 0);
                let (arena, root) = build_keys(&[a]);
                // A level-2 table pointing back at the root.
                let (_, t2, i2) = step(&arena, root, a, 2);
                let j = (i2 + 1) % TABLE_ENTRIES;
                set(&arena, t2, j, root);
                assert_eq!(
                    validate(&arena, root),
                    Err(err(2, j, root, u64::from(TOP), ErrorKind::Cycle))
                );
                // A table pointing at itself.
                set(&arena, t2, j, t2);
                assert_eq!(
                    validate(&arena, root),
                    Err(err(2, j, t2, 2, ErrorKind::Cycle))
                );
                // A leaf link pointing at the root.
                set(&arena, t2, j, 0);
                assert!(validate(&arena, root).is_ok());
                let (_, t1, i1) = step(&arena, root, a, 1);
                let k = (i1 + 1) % TABLE_ENTRIES;
                set(&arena, t1, k, root);
                assert_eq!(
                    validate(&arena, root),
                    Err(err(1, k, root, u64::from(TOP), ErrorKind::Cycle))
                );
            }

            #[test]
            fn order_too_large() {
                let big = MAX_ORDER + 1;
                let key = encode_key(0, big);
                let (arena, root) = build_keys(&[key]);
                let lim = Limits {
                    max_nodes: MAX_NODES,
                    max_order: big,
                };
                assert!(validate_with(&arena, root, &lim).is_ok());
                let e = validate(&arena, root).expect_err("order above limit");
                assert_eq!(
                    (e.level, e.value, e.other, e.kind),
                    (0, key, u64::from(big), ErrorKind::OrderTooLarge)
                );
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
                assert_eq!(
                    validate(&arena, root),
                    Err(err(TOP, idx, phys, 0, ErrorKind::KeyOutOfRange))
                );
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
                        Err(err(
                            0,
                            bitmap_index(inner),
                            inner,
                            outer,
                            ErrorKind::Overlap
                        ))
                    );
                }
                // Three levels of nesting; reported at the first inner key
                // in walk order (higher orders first).
                let (a, b, c) = (
                    encode_key(0, MAX_ORDER),
                    encode_key(16 * PAGE, 4),
                    encode_key(17 * PAGE, 0),
                );
                let (arena, root) = build_keys(&[a, b, c]);
                assert_eq!(
                    validate(&arena, root),
                    Err(err(0, bitmap_index(b), b, a, ErrorKind::Overlap))
                );
                let (arena, root) = build_keys(&[b, c]);
                assert_eq!(
                    validate(&arena, root),
                    Err(err(0, bitmap_index(c), c, b, ErrorKind::Overlap))
                );
            }

            #[test]
            fn range_covers_tree_node() {
                let (arena, root) = build(&[(0, 0)]);
                let (_, t1, i1) = step(&arena, root, encode_key(0, 0), 1);
                let leaf = get(&arena, t1, i1);
                // Preserve the root page, then a block around the leaf.
                for (phys, order, node) in [(root, 0, root), (leaf & !((PAGE << 2) - 1), 2, leaf)] {
                    let (mut arena, r) = build(&[(0, 0)]);
                    assert_eq!(
                        (r, leaf),
                        (root, get(&arena, t1, i1)),
                        "arena layout is deterministic"
                    );
                    let rp =
                        NonNull::new(arena.virt_of(r).cast::<RadixNode>().as_ptr()).expect("root");
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
                let rp =
                    NonNull::new(arena.virt_of(root).cast::<RadixNode>().as_ptr()).expect("root");
                let key = encode_key(root, 0);
                assert!(
                    encode_key(high, 1) < key,
                    "the order-1 key is checked first"
                );
                // SAFETY: `rp` is a valid tree in `arena`.
                assert_eq!(unsafe { add_key(&mut arena, rp, key) }, Ok(()));
                let e = validate(&arena, root).expect_err("covers the root page");
                assert_eq!(
                    (e.level, e.value, e.other, e.kind),
                    (0, key, root, ErrorKind::CoversNode)
                );
            }

            #[test]
            fn range_outside_ram_or_in_scratch() {
                let key = encode_key(RAM_END, 0);
                let (arena, root) = build_keys(&[key]);
                assert_eq!(
                    validate(&arena, root),
                    Err(err(
                        0,
                        bitmap_index(key),
                        key,
                        RAM_END,
                        ErrorKind::RangeNotRam
                    ))
                );
                let key = encode_key(SCRATCH_START + PAGE, 0);
                let (arena, root) = build_keys(&[key]);
                assert_eq!(
                    validate(&arena, root),
                    Err(err(
                        0,
                        bitmap_index(key),
                        key,
                        SCRATCH_START + PAGE,
                        ErrorKind::RangeInScratch
                    ))
                );
                // The last block of the address space does not fit.
                let top = u64::MAX & !(PAGE - 1);
                let key = encode_key(top, 0);
                let (arena, root) = build_keys(&[key]);
                assert_eq!(
                    validate(&arena, root),
                    Err(err(0, bitmap_index(key), key, top, ErrorKind::RangeNotRam))
                );
            }

            #[test]
            fn node_bound() {
                let (arena, root) = build(&[(0, 0), (far_phys(), 0)]);
                let s = validate(&arena, root).expect("valid");
                let n = s.tables + s.leaves;
                let exact = Limits {
                    max_nodes: n,
                    max_order: MAX_ORDER,
                };
                assert_eq!(validate_with(&arena, root, &exact), Ok(s));
                let short = Limits {
                    max_nodes: n - 1,
                    max_order: MAX_ORDER,
                };
                let e = validate_with(&arena, root, &short).expect_err("bound");
                assert_eq!((e.kind, e.other), (ErrorKind::TooManyNodes, (n - 1) as u64));
                let none = Limits {
                    max_nodes: 0,
                    max_order: MAX_ORDER,
                };
                assert_eq!(
                    validate_with(&arena, root, &none),
                    Err(err(ROOT_LEVEL, 0, root, 0, ErrorKind::TooManyNodes))
                );
                // A scratch buffer shorter than the bound is refused.
                let layout = layout(&arena);
                let mut scratch = vec![MaybeUninit::new(SCRATCH_FILL); n - 1];
                // SAFETY: `node_ptr` only returns live arena pages.
                let r = unsafe { validate_tree(&layout, root, &exact, &mut scratch) }
                    .map(|t| t.stats());
                assert_eq!(
                    r,
                    Err(err(
                        ROOT_LEVEL,
                        0,
                        (n - 1) as u64,
                        n as u64,
                        ErrorKind::ScratchTooSmall
                    ))
                );
                assert_eq!(layout.node_ptr_calls.get(), 0);
                // A longer scratch buffer does not raise the bound.
                let mut scratch = vec![MaybeUninit::new(SCRATCH_FILL); 2 * n];
                // SAFETY: `node_ptr` only returns live arena pages.
                let r = unsafe { validate_tree(&layout, root, &short, &mut scratch) }
                    .map(|t| t.stats());
                assert_eq!(
                    r.map_err(|e| (e.kind, e.other)),
                    Err((ErrorKind::TooManyNodes, (n - 1) as u64))
                );
            }

            #[test]
            fn error_kind_names() {
                assert_eq!(ErrorKind::Overlap.name(), "preserved ranges overlap");
                assert_eq!(err(0, 0, 0, 0, ErrorKind::Cycle).to_errno(), -22);
            }
        }
    };
}

validate_kinds!(geom4k);
validate_kinds!(geom16k);
validate_kinds!(geom64k);
