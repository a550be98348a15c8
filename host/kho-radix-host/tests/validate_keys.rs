// SPDX-License-Identifier: GPL-2.0

//! Tests of `kho_radix_validate`'s key and overlap passes: the
//! word-at-a-time key pass (spans over RAM holes, scratch areas and tree
//! pages, and that its fast path is taken), the overlap search across
//! leaves and orders, and a differential test of the verdict against a
//! brute-force model on 200 random trees. Run for 4K, 16K and 64K pages.

#[macro_use]
mod validate_support;
use kho_radix_host::rounds;
use validate_support::*;

macro_rules! validate_keys {
    ($geom:ident) => {
        mod $geom {
            use super::*;
            validate_support!($geom);

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
                let (r, _, _) = validate_holes(&arena, root, &limits(), pages(base + 5, 1), (0, 0));
                assert_eq!(
                    r,
                    Err(key_err((base + 5) * PAGE, 0, ErrorKind::RangeNotRam))
                );
                // Two holes' worth of faults: the first key in key order.
                let (r, _, _) = validate_holes(
                    &arena,
                    root,
                    &limits(),
                    pages(base + 9, 1),
                    pages(base + 3, 1),
                );
                assert_eq!(
                    r,
                    Err(key_err((base + 3) * PAGE, 0, ErrorKind::RangeInScratch))
                );
                // A hole right after the last key or before the first one
                // does not matter.
                let (arena, root) = build(&run(base, 1..63));
                for hole in [pages(base, 1), pages(base + 63, 1)] {
                    let (r, _, _) = validate_holes(&arena, root, &limits(), hole, (0, 0));
                    assert_eq!(r.map(|s| s.keys), Ok(62));
                }
            }

            #[test]
            fn word_span_across_node_boundary() {
                // One bitmap word: 64 pages from a multiple of 64.
                let base = 64 * 11;
                let (arena, root) = build(&run(base, 0..64));
                // The word's span crosses the boundary, none of its keys
                // does: all accepted, key by key.
                let (r, _, _) =
                    validate_nodes(&arena, root, &limits(), (0, 0), (0, 0), (base + 32) * PAGE);
                assert_eq!(r.map(|s| s.keys), Ok(64));
                // A block of 8 pages with the boundary in its middle, among
                // order-0 keys that do not cross it.
                let (arena, root) = build(&[
                    ((base - 8) * PAGE, 0),
                    (base * PAGE, 3),
                    ((base + 8) * PAGE, 0),
                ]);
                let (r, _, _) =
                    validate_nodes(&arena, root, &limits(), (0, 0), (0, 0), (base + 4) * PAGE);
                assert_eq!(r, Err(key_err(base * PAGE, 3, ErrorKind::RangeAcrossNodes)));
                // The same block with the boundary at its end.
                let (r, _, _) =
                    validate_nodes(&arena, root, &limits(), (0, 0), (0, 0), (base + 8) * PAGE);
                assert_eq!(r.map(|s| s.keys), Ok(3));
                // One word of 64 blocks of order 3, the boundary inside the
                // eleventh: the word's span must not pass it at once.
                let base = 512 * 5;
                let blocks: Vec<_> = (0..64).map(|i| ((base + 8 * i) * PAGE, 3)).collect();
                let (arena, root) = build(&blocks);
                let cut = (base + 8 * 10 + 4) * PAGE;
                let (r, _, _) = validate_nodes(&arena, root, &limits(), (0, 0), (0, 0), cut);
                assert_eq!(
                    r,
                    Err(key_err((base + 80) * PAGE, 3, ErrorKind::RangeAcrossNodes))
                );
            }

            #[test]
            fn word_span_over_scratch() {
                let base = 64 * 9;
                let (arena, root) = build(&run(base, (0..64).filter(|&i| !(20..30).contains(&i))));
                let (r, _, _) =
                    validate_holes(&arena, root, &limits(), (0, 0), pages(base + 20, 10));
                assert_eq!(r.map(|s| s.keys), Ok(54));
                // Scratch reaching one key.
                let (r, _, _) =
                    validate_holes(&arena, root, &limits(), (0, 0), pages(base + 20, 11));
                assert_eq!(
                    r,
                    Err(key_err((base + 30) * PAGE, 0, ErrorKind::RangeInScratch))
                );
                // Higher orders: 8 blocks of order 3 in one word, the
                // middle one missing and in scratch, then one in scratch.
                let blocks: Vec<(u64, u32)> = (0..8)
                    .filter(|&i| i != 4)
                    .map(|i| ((base * 64 + i * 8) * PAGE, 3))
                    .collect();
                let (arena, root) = build(&blocks);
                let gap = pages(base * 64 + 32, 8);
                let (r, _, _) = validate_holes(&arena, root, &limits(), (0, 0), gap);
                assert_eq!(r.map(|s| s.keys_per_order[3]), Ok(7));
                let (r, _, _) = validate_holes(&arena, root, &limits(), (0, 0), (gap.0, gap.1 + 1));
                assert_eq!(
                    r,
                    Err(key_err(
                        (base * 64 + 40) * PAGE,
                        3,
                        ErrorKind::RangeInScratch
                    ))
                );
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
                    assert_eq!(
                        unsafe { add_key(arena, r, encode_key(pfn * PAGE, 0)) },
                        Ok(())
                    );
                };
                add(&mut arena, first + 63);
                let nodes: Vec<u64> = arena
                    .live_set()
                    .into_iter()
                    .filter(|&p| p != first * PAGE)
                    .collect();
                let end = first + 1 + nodes.len() as u64;
                assert!(nodes
                    .iter()
                    .all(|&p| p >= (first + 1) * PAGE && p < end * PAGE));
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
                    Err(err(
                        0,
                        bitmap_index(key),
                        key,
                        (end - 1) * PAGE,
                        ErrorKind::CoversNode
                    ))
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
                assert!(
                    calls <= 3 * (s.tables + s.leaves + 1) + 8,
                    "{calls} is_ram calls"
                );
            }

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
                for pfn in [
                    2 * bits + 5,
                    4 * bits - 1,
                    2 * bits - 1,
                    3 * bits - 1,
                    bits,
                    0,
                ] {
                    let inner = encode_key(FAR + pfn * PAGE, 0);
                    let (arena, root) = build_keys(&[outer, inner, encode_key(FAR - PAGE, 0)]);
                    assert_eq!(
                        validate_with(&arena, root, &big_limits()),
                        Err(overlap_err(inner, outer)),
                        "pfn {pfn:#x}"
                    );
                }
                // The lowest key is reported, in a leaf after empty ones.
                let (a, b) = (
                    encode_key(FAR + (3 * bits + 7) * PAGE, 0),
                    encode_key(FAR + (3 * bits + 9) * PAGE, 0),
                );
                let (mut arena, root) = build_keys(&[outer, b, a]);
                let rp =
                    NonNull::new(arena.virt_of(root).cast::<RadixNode>().as_ptr()).expect("root");
                // An empty leaf in the range, ahead of the one with keys.
                let c = encode_key(FAR + (bits + 1) * PAGE, 0);
                // SAFETY: `rp` is a valid tree in `arena`.
                unsafe {
                    assert_eq!(add_key(&mut arena, rp, c), Ok(()));
                    assert_eq!(del_key(&mut arena, rp, c), Ok(()));
                }
                assert_eq!(
                    validate_with(&arena, root, &big_limits()),
                    Err(overlap_err(a, outer))
                );
                // Order 1 in the last two pages.
                let inner = encode_key(FAR + (PAGE << h) - 2 * PAGE, 1);
                let (arena, root) = build_keys(&[outer, inner]);
                assert_eq!(
                    validate_with(&arena, root, &big_limits()),
                    Err(overlap_err(inner, outer))
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
                assert_eq!(validate(&arena, root), Err(overlap_err(o5, outer)));
                let (arena, root) = build_keys(&[outer, o3, o0]);
                assert_eq!(validate(&arena, root), Err(overlap_err(o3, outer)));
                // Outer blocks are taken in key order (higher orders first):
                // an order-5 block holding a page, beside an order-10 block
                // holding nothing.
                let beside = encode_key(FAR + (PAGE << MAX_ORDER), MAX_ORDER);
                let (arena, root) = build_keys(&[beside, o5, o0]);
                assert!(validate(&arena, root).is_ok());
                let p = encode_key(FAR + (PAGE << MAX_ORDER) - PAGE, 0);
                let (arena, root) = build_keys(&[beside, o5, o0, o3]);
                assert_eq!(validate(&arena, root), Err(overlap_err(o0, o3)));
                // With `p` inside `o5` too, `o5` comes first (a lower key).
                let (arena, root) = build_keys(&[beside, o5, o0, p, o3]);
                assert_eq!(validate(&arena, root), Err(overlap_err(p, o5)));
                // Orders 0 and 1 only: the order-1 leaf is searched.
                let o1 = encode_key(FAR + 2 * PAGE, 1);
                let (arena, root) =
                    build_keys(&[o1, encode_key(FAR + PAGE, 0), encode_key(FAR + 4 * PAGE, 0)]);
                assert!(validate(&arena, root).is_ok());
                let inner = encode_key(FAR + 3 * PAGE, 0);
                let (arena, root) = build_keys(&[o1, encode_key(FAR + PAGE, 0), inner]);
                assert_eq!(validate(&arena, root), Err(overlap_err(inner, o1)));
                // Many orders present, none nested.
                let blocks: Vec<(u64, u32)> = (0..=MAX_ORDER)
                    .map(|o| (FAR + (PAGE << MAX_ORDER) * u64::from(o + 1), o))
                    .collect();
                let (arena, root) = build(&blocks);
                assert!(validate(&arena, root).is_ok());
            }

            #[test]
            fn overlap_huge_orders_bounded() {
                // Blocks spanning 2^30 and more leaves: the search visits the
                // leaves that exist, not every leaf number in the range.
                let h = 59 - PAGE_SHIFT;
                let base = 1u64 << 59;
                let lim = Limits {
                    max_nodes: MAX_NODES,
                    max_order: MAX_KEY_ORDER,
                };
                let outer = encode_key(base, h);
                let below = encode_key(base - PAGE, 0);
                let (arena, root) = build_keys(&[outer, below, encode_key(base - (PAGE << 6), 5)]);
                let (r, _, calls) = validate_holes(&arena, root, &lim, (0, 0), (0, 0));
                let s = r.expect("valid");
                assert!(calls <= 4 * (s.tables + s.leaves), "{calls} node_ptr calls");
                let inner = encode_key(base + (PAGE << h) - (PAGE << 5), 5);
                let (arena, root) =
                    build_keys(&[outer, below, inner, encode_key(base + (PAGE << (h - 1)), 0)]);
                assert_eq!(
                    validate_with(&arena, root, &lim),
                    Err(overlap_err(inner, outer))
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
            fn model(
                keys: &[u64],
                hole: (u64, u64),
                scratch: (u64, u64),
            ) -> Result<(), ValidationError> {
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
                        return Err(overlap_err(k, outer));
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
                for case in 0..rounds(200, 20) {
                    let n = 1 + rng.below(12);
                    let mut keys: Vec<u64> = Vec::new();
                    for _ in 0..n {
                        let o = orders[rng.below(orders.len() as u64) as usize];
                        // Mostly small offsets, so that small blocks meet.
                        let span = if rng.below(2) == 0 {
                            1u64 << (b + 1)
                        } else {
                            window
                        };
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
                            assert_eq!(
                                *e, w,
                                "case {case}: keys {keys:x?}, hole {hole:x?}, scratch {scratch:x?}"
                            );
                            if e.kind == ErrorKind::Overlap {
                                overlaps += 1;
                            } else {
                                faults += 1;
                            }
                        }
                        _ => panic!("case {case}: got {r:?}, want {want:?}, keys {keys:x?}"),
                    }
                }
                // Under Miri the few cases look for undefined behaviour only.
                assert!(
                    cfg!(miri) || (ok >= 20 && overlaps >= 20 && faults >= 10),
                    "ok {ok}, overlaps {overlaps}, faults {faults}"
                );
            }
        }
    };
}

validate_keys!(geom4k);
validate_keys!(geom16k);
validate_keys!(geom64k);
