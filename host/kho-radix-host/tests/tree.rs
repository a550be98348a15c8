// SPDX-License-Identifier: GPL-2.0

//! Hand-made unit tests of the tree: the key width limit, the errno values,
//! deleting along a missing path and reclamation, early-stopped walks and a
//! failed root allocation. Run for 4K, 16K and 64K pages.

#[macro_use]
mod tree_support;
use tree_support::*;

macro_rules! tree_tests {
    ($geom:ident) => {
        mod $geom {
            use super::*;
            tree_support!($geom);

            #[test]
            fn key_width_limit() {
                let (mut arena, root) = new_tree();
                // SAFETY (all calls below): `root` is a valid tree in `arena`.
                unsafe {
                    assert_eq!(add_key(&mut arena, root, MAX_KEY), Ok(()));
                    assert_eq!(
                        add_key(&mut arena, root, MAX_KEY + 1),
                        Err(RadixError::Range)
                    );
                    assert_eq!(add_key(&mut arena, root, u64::MAX), Err(RadixError::Range));
                    assert_eq!(
                        del_key(&mut arena, root, MAX_KEY + 1),
                        Err(RadixError::Range)
                    );
                    assert_eq!(
                        del_key_reclaim(&mut arena, root, u64::MAX),
                        Err(RadixError::Range)
                    );
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
                    assert_eq!(
                        del_key_reclaim(&mut arena, root, k),
                        Err(RadixError::NotPresent)
                    );
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
                let keys = [
                    encode_key(0, 0),
                    encode_key(1 << PAGE_SHIFT, 0),
                    encode_key(0, 3),
                    MAX_KEY,
                ];
                // SAFETY (all calls below): `root` is a valid tree in `arena`.
                unsafe {
                    for k in keys {
                        add_key(&mut arena, root, k).unwrap();
                    }
                    let sorted: BTreeSet<u64> = keys.into_iter().collect();
                    let mut seen = Vec::new();
                    let mut leaf = |k: u64| {
                        seen.push(k);
                        if seen.len() == 2 {
                            -5
                        } else {
                            0
                        }
                    };
                    assert_eq!(walk(&arena, root, Some(&mut leaf), None), -5);
                    assert_eq!(seen, sorted.iter().copied().take(2).collect::<Vec<_>>());
                    let mut node = |p: u64| {
                        if p == arena.phys_of(root.cast()) {
                            9
                        } else {
                            0
                        }
                    };
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
        }
    };
}

tree_tests!(geom4k);
tree_tests!(geom16k);
tree_tests!(geom64k);
