// SPDX-License-Identifier: GPL-2.0

//! What the tree tests share: the events of a walk and, per page size, the
//! helpers that make a tree and check it against a `BTreeSet<u64>` model,
//! the walk order against a reference recursive walk (`tree_support!`,
//! expanded in each test file's per-geometry module).

/// One event of a walk, in visit order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Node(u64),
    Key(u64),
}

/// The helpers of one page size, for the module `$geom` it is expanded in.
macro_rules! tree_support {
    ($geom:ident) => {
        #[allow(unused_imports)]
        use super::*;
        use kho_radix_host::$geom::kho_radix_abi::*;
        use kho_radix_host::$geom::kho_radix_tree::*;
        #[allow(unused_imports)]
        use kho_radix_host::$geom::{new_arena, PAGE_SHIFT};
        use kho_radix_host::Arena;
        use std::cell::RefCell;
        use std::collections::BTreeSet;
        use std::ptr::NonNull;

        const TOP: u32 = TREE_MAX_DEPTH - 1;
        #[allow(dead_code)]
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

            let (mut keys, mut nodes) = (Vec::new(), Vec::new());
            for e in &ev {
                match *e {
                    Event::Key(k) => keys.push(k),
                    Event::Node(p) => nodes.push(p),
                }
            }
            assert_eq!(keys, model.iter().copied().collect::<Vec<_>>());

            // The closure walk sees the same keys, and stops where told.
            let mut seen = Vec::new();
            let stop_at = keys.len() / 2;
            let mut f = |k: u64| {
                seen.push(k);
                if seen.len() == stop_at {
                    5
                } else {
                    0
                }
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
                if seen.len() == stop_at {
                    7
                } else {
                    0
                }
            };
            // SAFETY: `root` is a valid tree in `arena`.
            let r = unsafe { walk_keys_desc(arena, root, &mut f) };
            assert_eq!(r, if stop_at == 0 { 0 } else { 7 });
            assert_eq!(seen, reversed[..want]);

            let unique: BTreeSet<u64> = nodes.iter().copied().collect();
            assert_eq!(unique.len(), nodes.len(), "node reported twice");
            assert_eq!(
                unique,
                arena.live_set(),
                "walked nodes are not the live pages"
            );

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
    };
}
