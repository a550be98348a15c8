// SPDX-License-Identifier: GPL-2.0

//! Byte-for-byte comparison with the C implementation.
//!
//! `host/golden/gen.sh` compiles the radix tree code of
//! `kernel/liveupdate/kexec_handover.c`, unchanged, in user space with a node
//! allocator that hands out the same fake physical addresses as [`Arena`], and
//! records a fixed workload: key encodings and decodings, `add`/`del` results,
//! every non-zero word of every node page, the walk callbacks and the order in
//! which `kho_radix_destroy_tree()` frees pages. These tests replay the
//! workload and require identical output.

use std::collections::BTreeMap;

/// The walk callbacks of C, in order.
#[derive(Debug, PartialEq, Eq)]
enum Event {
    Node(u64),
    Key(u64),
}

fn hex(s: &str) -> u64 {
    u64::from_str_radix(s, 16).unwrap_or_else(|_| panic!("bad hex {s}"))
}

macro_rules! golden_tests {
    ($geom:ident, $file:literal) => {
        mod $geom {
            use super::*;
            use kho_radix_host::$geom::kho_radix_abi::*;
            use kho_radix_host::$geom::kho_radix_tree::*;
            use kho_radix_host::$geom::new_arena;
            use kho_radix_host::Arena;

            fn nonzero_words(arena: &Arena) -> BTreeMap<(u64, u64), u64> {
                let mut words = BTreeMap::new();
                for (phys, bytes) in arena.snapshot() {
                    for (j, w) in bytes.chunks_exact(8).enumerate() {
                        let w = u64::from_le_bytes(w.try_into().expect("8 bytes"));
                        if w != 0 {
                            words.insert((phys, j as u64), w);
                        }
                    }
                }
                words
            }

            #[test]
            fn matches_c() {
                let golden = include_str!($file);
                let mut arena = new_arena();
                let root = alloc_root(&mut arena).expect("root");
                let mut words = BTreeMap::new();
                let mut events = Vec::new();
                let mut frees = Vec::new();
                let (mut n_enc, mut n_add, mut n_del) = (0, 0, 0);
                let (mut saw_pages, mut saw_end) = (false, false);

                for line in golden.lines() {
                    let f: Vec<&str> = line.split(' ').collect();
                    match f.as_slice() {
                        ["consts", w, t, b, d] => {
                            assert_eq!(KEY_WIDTH, w.parse::<u32>().unwrap());
                            assert_eq!(TABLE_SIZE_LOG2, t.parse::<u32>().unwrap());
                            assert_eq!(BITMAP_SIZE_LOG2, b.parse::<u32>().unwrap());
                            assert_eq!(TREE_MAX_DEPTH, d.parse::<u32>().unwrap());
                        }
                        ["enc", phys, order, key] => {
                            let order = order.parse().unwrap();
                            assert_eq!(encode_key(hex(phys), order), hex(key), "{line}");
                            n_enc += 1;
                        }
                        ["dec", key, phys, order] => {
                            let want = Some((hex(phys), order.parse().unwrap()));
                            assert_eq!(decode_key(hex(key)), want, "{line}");
                        }
                        ["add", key, ret] => {
                            // SAFETY: `root` is a valid tree in `arena`.
                            let r = unsafe { add_key(&mut arena, root, hex(key)) };
                            let r = r.map_or_else(|e| e.to_errno(), |()| 0);
                            assert_eq!(r, ret.parse::<i32>().unwrap(), "{line}");
                            n_add += 1;
                        }
                        ["del", key] => {
                            // SAFETY: `root` is a valid tree in `arena`.
                            let r = unsafe { del_key(&mut arena, root, hex(key)) };
                            assert_eq!(r, Ok(()), "{line}");
                            n_del += 1;
                        }
                        ["word", phys, j, w] => {
                            words.insert((hex(phys), hex(j)), hex(w));
                        }
                        ["pages", n] => {
                            let n: usize = n.parse().unwrap();
                            assert_eq!(arena.attempts(), n);
                            assert_eq!(arena.live_pages(), n);
                            assert!(nonzero_words(&arena) == words, "node pages differ from C");
                            saw_pages = true;
                        }
                        ["node", phys] => events.push(Event::Node(hex(phys))),
                        ["key", key] => events.push(Event::Key(hex(key))),
                        ["walk", ret] => {
                            let mut ours = Vec::new();
                            let ours_cell = std::cell::RefCell::new(&mut ours);
                            let mut leaf = |k: u64| {
                                ours_cell.borrow_mut().push(Event::Key(k));
                                0
                            };
                            let mut node = |p: u64| {
                                ours_cell.borrow_mut().push(Event::Node(p));
                                0
                            };
                            // SAFETY: `root` is a valid tree in `arena`.
                            let r = unsafe { walk(&arena, root, Some(&mut leaf), Some(&mut node)) };
                            assert_eq!(r, ret.parse::<i32>().unwrap());
                            assert!(ours == events, "walk differs from C");
                        }
                        ["free", phys] => frees.push(hex(phys)),
                        ["end"] => {
                            // SAFETY: `root` is a valid tree in `arena`, unused afterwards.
                            unsafe { destroy(&mut arena, root) };
                            assert_eq!(arena.take_free_log(), frees, "free order differs from C");
                            assert_eq!(arena.live_pages(), 0);
                            saw_end = true;
                        }
                        _ => panic!("bad golden line {line:?}"),
                    }
                }
                assert!(
                    n_enc > 0 && n_add > 100 && n_del > 30,
                    "golden file incomplete"
                );
                assert!(
                    !events.is_empty() && !frees.is_empty(),
                    "golden file incomplete"
                );
                assert!(saw_pages && saw_end, "golden file incomplete");
            }
        }
    };
}

golden_tests!(geom4k, "golden/4k.txt");
golden_tests!(geom16k, "golden/16k.txt");
golden_tests!(geom64k, "golden/64k.txt");
