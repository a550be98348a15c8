// SPDX-License-Identifier: GPL-2.0

//! The `ops` fuzz target's logic, shared by the libFuzzer target
//! (`fuzz_targets/ops.rs`, nightly) and the stable replay test of
//! `kho-radix-bench` (`tests/fuzz_replay.rs`), which both include this file
//! with `#[path]`.
//!
//! [`run`] decodes an arbitrary byte string into a sequence of tree
//! operations and runs it against the Rust core on the host `Arena`, with a
//! `BTreeSet<u64>` as the model. The first byte picks the page size; then
//! each operation is an opcode byte followed by its operands:
//!
//! | opcode % 8 | operation |
//! |---|---|
//! | 0 | `add_key(key)` |
//! | 1 | `add_pfn_range()`, `del_pfn_range()` or `del_pfn_range_reclaim()` |
//! | 2 | `del_key(key)` |
//! | 3 | `del_key_reclaim(key)` |
//! | 4 | `walk`, optionally stopping after `n` keys or `n` nodes; or, with 4 or 16 KiB pages while the model has fewer keys than `PARKED_WITNESS_SLOTS`, one key in each of `PARKED_WITNESS_SLOTS + 1 + n` consecutive leaves (up to 64 more), so that the tree has more leaves than its table cache parks witnesses for and its reclaiming deletes keep them in the leaves' words |
//! | 5 | `destroy` + a fresh root (`alloc_root`) |
//! | 6 | make allocation attempt `n % 4` from now fail; pages allocated from now on get no word outside them (`NodeMemory::node_word()`, where the tree counts table entries) if bit 2 of `n` is set, one if it is clear; the arena offers leaf words for witnesses (`NodeMemory::has_leaf_words()`) from now on if bit 3 is clear, none if it is set |
//! | 7 | `contains_key(key)` |
//!
//! Every operation goes through one `TableCache` kept for the whole input,
//! as the kernel keeps one per tree, so the range calls' leaf slots and the
//! single-key deletes that free leaves meet.
//!
//! A range is a selector byte, a start pfn (small, near the last pfn with
//! a key, at a key of the model, or raw), a length, an order cap and a fake
//! NUMA node size whose boundaries no chunk may cross. The model of a range
//! call chunks it independently (as `kho_preserve_pages()` does); a failed
//! add must have removed the chunks before the failing one (its rollback
//! deletes them, even those that were there before), and a delete's count
//! of missing chunks is exact while the tree is minimal.
//!
//! A key is a selector byte and operands: a key of the model, an encoded
//! `(phys, order)` pair with orders past the encodable maximum, a raw `u64`
//! (mostly out of range), a boundary value around `KEY_WIDTH`, a small
//! clustered key, or the previous key with one bit flipped (so that paths
//! share nodes at every level).
//!
//! After every operation the result is checked against the model, then the
//! whole tree: a full walk must produce exactly the model's keys in
//! ascending order (and the descending walk in descending order), the tree's node count must equal the arena's live pages
//! (no leak, no dangling node), and while no plain `del_key` has removed a
//! key, the node count must be exactly the minimum the model needs
//! (which checks `del_key_reclaim` frees every empty node and that a failed
//! `add_key` leaves nothing behind). The arena panics on any access to a
//! freed or unknown page through `phys_to_virt()` and scribbles over freed
//! pages, so that a bit set or cleared through a pointer kept to one is
//! missing from the next walk.

use std::collections::BTreeSet;

/// Upper bound on the operations of one input, to keep each run fast.
pub const MAX_OPS: usize = 512;

/// Range operations with more chunks than this are skipped, for the same
/// reason.
pub const MAX_RANGE_CHUNKS: usize = 4096;

/// Reads operands from the input; past its end every read yields zeros.
struct Input<'a> {
    data: &'a [u8],
}

impl Input<'_> {
    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        let n = self.data.len().min(8);
        b[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        u64::from_le_bytes(b)
    }
}

/// Runs one input; panics if the tree and the model disagree.
pub fn run(data: &[u8]) {
    let Some((&geom, rest)) = data.split_first() else {
        return;
    };
    match geom % 3 {
        0 => g4k::run(rest),
        1 => g16k::run(rest),
        _ => g64k::run(rest),
    }
}

macro_rules! fuzz_geometry {
    ($modname:ident, $geom:ident) => {
        mod $modname {
            use super::{BTreeSet, Input, MAX_OPS, MAX_RANGE_CHUNKS};
            use kho_radix_host::$geom::kho_radix_abi::*;
            use kho_radix_host::$geom::kho_radix_tree::*;
            use kho_radix_host::$geom::{new_arena, PAGE_SHIFT};
            use kho_radix_host::Arena;
            use std::ptr::NonNull;

            const TOP: u32 = TREE_MAX_DEPTH - 1;

            /// The oracle's own range check, independent of `key_in_range()`:
            /// C's `fls64(key) <= KHO_RADIX_KEY_WIDTH`.
            fn in_range(key: u64) -> bool {
                key >> KEY_WIDTH == 0
            }

            /// Number of nodes a tree holding exactly `keys` needs, root
            /// included.
            fn min_nodes(keys: &BTreeSet<u64>) -> usize {
                let distinct = |shift: u32| {
                    keys.iter()
                        .map(|k| k >> shift)
                        .collect::<BTreeSet<_>>()
                        .len()
                };
                // Leaves, then one table per distinct prefix above each level
                // below the root.
                let mut n = 1 + distinct(BITMAP_SIZE_LOG2);
                for level in 1..TOP {
                    n += distinct(BITMAP_SIZE_LOG2 + level * TABLE_SIZE_LOG2);
                }
                n
            }

            struct State {
                arena: Arena,
                root: NonNull<RadixNode>,
                model: BTreeSet<u64>,
                /// No plain `del_key` removed a key since the last fresh
                /// root, so the tree has no empty node.
                minimal: bool,
                /// Absolute allocation attempt armed to fail, if any.
                fail_at: Option<usize>,
                last_key: u64,
                cache: TableCache,
            }

            /// A chunk of a page range: its key, or `None` if it has none.
            type Chunk = Option<u64>;

            /// The oracle's chunking of `start..end`, transcribed from
            /// `kho_preserve_pages()`: the largest aligned order that fits,
            /// capped at `max_order`, lowered while the block crosses a
            /// boundary of `1 << node_shift` pages. Stops after
            /// `MAX_RANGE_CHUNKS + 1` chunks.
            fn chunks(start: u64, end: u64, max_order: u32, node_shift: u32) -> Vec<Chunk> {
                let mut out = Vec::new();
                let mut pfn = start;
                while pfn < end && out.len() <= MAX_RANGE_CHUNKS {
                    let mut order = pfn.trailing_zeros().min((end - pfn).ilog2()).min(max_order);
                    while order > 0
                        && (pfn >> node_shift) != ((pfn + (1u64 << order) - 1) >> node_shift)
                    {
                        order -= 1;
                    }
                    let key = (pfn >> (64 - PAGE_SHIFT) == 0 && order <= MAX_KEY_ORDER)
                        .then(|| encode_key(pfn << PAGE_SHIFT, order))
                        .filter(|&k| k != 0 && in_range(k));
                    out.push(key);
                    pfn += 1u64 << order;
                }
                out
            }

            impl State {
                fn key(&mut self, inp: &mut Input<'_>) -> u64 {
                    let sel = inp.u8();
                    let key = match sel % 6 {
                        0 if !self.model.is_empty() => {
                            let i = usize::from(inp.u8()) % self.model.len();
                            self.model.iter().nth(i).copied().unwrap_or(0)
                        }
                        0 | 1 => {
                            let phys = inp.u64();
                            encode_key(phys, u32::from(inp.u8() % 64))
                        }
                        2 => inp.u64(),
                        3 => {
                            let w = 1u64 << KEY_WIDTH;
                            [0, 1, w - 1, w, w | 1, w >> 1, u64::MAX, (w >> 1) - 1]
                                [usize::from(inp.u8() % 8)]
                        }
                        4 => {
                            let pfn = u64::from(inp.u8()) << 8 | u64::from(inp.u8());
                            encode_key(pfn << PAGE_SHIFT, u32::from(inp.u8() % 4))
                        }
                        _ => self.last_key ^ (1u64 << (inp.u8() % 64)),
                    };
                    self.last_key = key;
                    key
                }

                /// Whether the armed failure fired during the attempts since
                /// `before`; disarms it if so.
                fn fired(&mut self, before: usize) -> bool {
                    match self.fail_at {
                        Some(at) if at >= before && at < self.arena.attempts() => {
                            self.fail_at = None;
                            true
                        }
                        _ => false,
                    }
                }

                /// Whether a table on `key`'s path may be missing; exact only
                /// for minimal trees.
                fn path_missing(&self, key: u64) -> Option<bool> {
                    let leaf = key >> BITMAP_SIZE_LOG2;
                    self.minimal
                        .then(|| !self.model.iter().any(|k| k >> BITMAP_SIZE_LOG2 == leaf))
                }

                fn add(&mut self, key: u64) {
                    let before = self.arena.attempts();
                    let live = self.fail_at.map(|_| self.arena.live_set());
                    // SAFETY: `root` is a valid tree of `arena`.
                    let r =
                        unsafe { add_key_cached(&mut self.arena, self.root, &mut self.cache, key) };
                    let fired = self.fired(before);
                    if !in_range(key) {
                        assert_eq!(r, Err(RadixError::Range), "add {key:#x}");
                    } else if fired {
                        assert_eq!(r, Err(RadixError::NoMemory), "add {key:#x}");
                        let now = Some(self.arena.live_set());
                        assert_eq!(now, live, "failed add {key:#x} changed pages");
                    } else {
                        assert_eq!(r, Ok(()), "add {key:#x}");
                        self.model.insert(key);
                    }
                }

                fn del(&mut self, key: u64, reclaim: bool) {
                    let missing = self.path_missing(key);
                    let present = self.model.contains(&key);
                    // SAFETY: `root` is a valid tree of `arena`, all of whose
                    // nodes come from it, and `cache` is its cache.
                    let r = unsafe {
                        if reclaim {
                            del_key_reclaim_cached(&mut self.arena, self.root, &mut self.cache, key)
                        } else {
                            del_key_cached(&mut self.arena, self.root, &mut self.cache, key)
                        }
                    };
                    if !in_range(key) {
                        assert_eq!(r, Err(RadixError::Range), "del {key:#x}");
                        return;
                    }
                    if present || missing == Some(false) {
                        assert_eq!(r, Ok(()), "del {key:#x}");
                    } else if missing == Some(true) {
                        assert_eq!(r, Err(RadixError::NotPresent), "del {key:#x}");
                    } else {
                        assert!(
                            r.is_ok() || r == Err(RadixError::NotPresent),
                            "del {key:#x}: {r:?}"
                        );
                    }
                    if present {
                        self.model.remove(&key);
                        if !reclaim {
                            self.minimal = false;
                        }
                    }
                }

                /// Whether `key`'s leaf exists, given that the tree is minimal
                /// and holds `keys`.
                fn leaf_of(keys: &BTreeSet<u64>, key: u64) -> bool {
                    let first = key >> BITMAP_SIZE_LOG2 << BITMAP_SIZE_LOG2;
                    keys.range(first..=first | ((1u64 << BITMAP_SIZE_LOG2) - 1))
                        .next()
                        .is_some()
                }

                fn range(&mut self, inp: &mut Input<'_>) {
                    let sel = inp.u8();
                    let max_pfn = (1u64 << (64 - PAGE_SHIFT)) - 1;
                    let start = match sel / 4 % 4 {
                        0 => u64::from(inp.u8()) << 8 | u64::from(inp.u8()),
                        1 => max_pfn - (u64::from(inp.u8()) << (inp.u8() % 12)),
                        2 if !self.model.is_empty() => {
                            let i = usize::from(inp.u8()) % self.model.len();
                            let k = self.model.iter().nth(i).copied().unwrap_or(0);
                            decode_key(k).map_or(0, |(phys, _)| phys >> PAGE_SHIFT)
                        }
                        _ => inp.u64() >> (inp.u8() % 64),
                    };
                    let mut n = 1 + (u64::from(inp.u8()) << (inp.u8() % 13));
                    if sel & 64 != 0 {
                        // Ends within a page or two of the last pfn with a
                        // key, on either side.
                        n = (max_pfn + 1)
                            .wrapping_sub(start)
                            .wrapping_add(u64::from(inp.u8() % 4))
                            .max(2)
                            - 1;
                    }
                    let max_order = if sel & 16 == 0 {
                        63
                    } else {
                        u32::from(inp.u8() % 12)
                    };
                    let node_shift = if sel & 32 == 0 {
                        63
                    } else {
                        9 + u32::from(inp.u8() % 31)
                    };
                    let split = &mut |pfn: u64, order: u32| {
                        (pfn >> node_shift) != ((pfn + (1u64 << order) - 1) >> node_shift)
                    };
                    // A range that wraps past the end of the address space
                    // has no chunk: the add refuses it, the deletes do nothing.
                    let want = match start.checked_add(n) {
                        Some(end) => chunks(start, end, max_order, node_shift),
                        None => Vec::new(),
                    };
                    if want.len() > MAX_RANGE_CHUNKS {
                        // Keeps each input fast; the op is skipped.
                        return;
                    }
                    match sel % 3 {
                        0 => self.add_range(start, n, max_order, want, split),
                        op => self.del_range(start, n, max_order, want, split, op == 2),
                    }
                }

                fn add_range(
                    &mut self,
                    start: u64,
                    n: u64,
                    max_order: u32,
                    want: Vec<Chunk>,
                    split: &mut dyn FnMut(u64, u32) -> bool,
                ) {
                    let before = self.arena.attempts();
                    // SAFETY: `root` is a valid tree of `arena`, all of whose
                    // nodes come from it, and `cache` is its cache.
                    let r = unsafe {
                        add_pfn_range(
                            &mut self.arena,
                            self.root,
                            &mut self.cache,
                            start,
                            n,
                            max_order,
                            split,
                        )
                    };
                    let fired = self.fired(before);
                    if start.checked_add(n).is_none() {
                        assert_eq!(r, Err(RadixError::Range), "add range {start:#x}+{n:#x}");
                        return;
                    }
                    let invalid = want.iter().position(Option::is_none);
                    // The chunks before the failing one are deleted again.
                    let removed = |model: &BTreeSet<u64>, upto: usize| -> BTreeSet<u64> {
                        let mut m = model.clone();
                        for k in want[..upto].iter().flatten() {
                            m.remove(k);
                        }
                        m
                    };
                    match r {
                        Ok(()) => {
                            assert!(
                                invalid.is_none() && !fired,
                                "add range {start:#x}+{n:#x}: Ok"
                            );
                            self.model.extend(want.iter().flatten());
                        }
                        Err(RadixError::Range) => {
                            let f = invalid.expect("ERANGE without a chunk out of range");
                            self.model = removed(&self.model, f);
                        }
                        Err(RadixError::NoMemory) => {
                            assert!(fired, "add range {start:#x}+{n:#x}: ENOMEM unprompted");
                            // The chunks up to the failed one are gone, the
                            // rest untouched: the leading chunks missing from
                            // the tree reach at least to the failed one, and
                            // those past it were missing before too.
                            let mut keys = BTreeSet::new();
                            let mut leaf = |k: u64| {
                                keys.insert(k);
                                0
                            };
                            // SAFETY: `root` is a valid tree of `arena`.
                            unsafe { walk(&self.arena, self.root, Some(&mut leaf), None) };
                            let last = invalid.unwrap_or(want.len());
                            let g = want[..last]
                                .iter()
                                .take_while(|c| c.is_some_and(|k| !keys.contains(&k)))
                                .count();
                            let expect = removed(&self.model, g);
                            assert!(
                                expect == keys,
                                "failed add range left keys no rollback explains"
                            );
                            self.model = expect;
                        }
                        Err(e) => panic!("add range {start:#x}+{n:#x}: {e:?}"),
                    }
                }

                fn del_range(
                    &mut self,
                    start: u64,
                    n: u64,
                    max_order: u32,
                    want: Vec<Chunk>,
                    split: &mut dyn FnMut(u64, u32) -> bool,
                    reclaim: bool,
                ) {
                    let del: unsafe fn(_, _, _, _, _, _, _) -> usize = if reclaim {
                        del_pfn_range_reclaim
                    } else {
                        del_pfn_range
                    };
                    // SAFETY: `root` is a valid tree of `arena`, all of whose
                    // nodes come from it, and `cache` is its cache.
                    let missing = unsafe {
                        del(
                            &mut self.arena,
                            self.root,
                            &mut self.cache,
                            start,
                            n,
                            max_order,
                            split,
                        )
                    };
                    let invalid = want.iter().filter(|c| c.is_none()).count();
                    let at_start = self.model.clone();
                    let mut expect = invalid;
                    let mut removed_present = false;
                    for k in want.iter().flatten() {
                        // A minimal tree has a leaf exactly where a key is;
                        // a reclaiming delete keeps it minimal, a plain one
                        // keeps the leaves of the call's start.
                        let seen = if reclaim { &self.model } else { &at_start };
                        if self.minimal && !Self::leaf_of(seen, *k) {
                            expect += 1;
                        }
                        removed_present |= self.model.remove(k);
                    }
                    if self.minimal {
                        assert_eq!(
                            missing, expect,
                            "del range {start:#x}+{n:#x}: missing chunks"
                        );
                    } else {
                        assert!(
                            missing >= invalid && missing <= want.len(),
                            "del range {start:#x}+{n:#x}"
                        );
                    }
                    if removed_present && !reclaim {
                        self.minimal = false;
                    }
                }

                /// Adds one order-0 key in each of `n` consecutive
                /// leaf-sized blocks of pfns from one the input picks, at
                /// offsets that vary from leaf to leaf.
                fn spread(&mut self, inp: &mut Input<'_>, n: u64) {
                    // Low enough that `n` blocks more stay below the
                    // largest pfn.
                    let first =
                        inp.u64() >> (PAGE_SHIFT + BITMAP_SIZE_LOG2 + 10) << BITMAP_SIZE_LOG2;
                    let step = u64::from(inp.u8()) | 1;
                    for i in 0..n {
                        let pfn = first + (i << BITMAP_SIZE_LOG2) + (step * i) % BITMAP_BITS as u64;
                        self.add(encode_key(pfn << PAGE_SHIFT, 0));
                    }
                }

                fn walk(&mut self, stop_key: Option<usize>, stop_node: Option<usize>) {
                    let (mut keys, mut nodes) = (Vec::new(), 0usize);
                    let mut leaf = |k: u64| {
                        keys.push(k);
                        if Some(keys.len()) == stop_key {
                            7
                        } else {
                            0
                        }
                    };
                    let arena = &self.arena;
                    let mut node = |phys: u64| {
                        assert!(arena.is_live(phys), "walk: node {phys:#x} not live");
                        nodes += 1;
                        if Some(nodes) == stop_node {
                            -3
                        } else {
                            0
                        }
                    };
                    // SAFETY: `root` is a valid tree of `arena`; the callbacks
                    // do not touch it.
                    let r = unsafe { walk(arena, self.root, Some(&mut leaf), Some(&mut node)) };
                    let want: Vec<u64> = self.model.iter().copied().collect();
                    match r {
                        0 => {
                            assert_eq!(keys, want, "walk keys");
                            assert_eq!(nodes, arena.live_pages(), "walk nodes");
                        }
                        7 => {
                            assert_eq!(Some(keys.len()), stop_key);
                            assert_eq!(keys[..], want[..keys.len()], "stopped walk keys");
                        }
                        -3 => {
                            assert_eq!(Some(nodes), stop_node);
                            assert!(want.starts_with(&keys), "stopped walk keys");
                        }
                        _ => panic!("walk returned {r}"),
                    }
                }

                fn reinit(&mut self) {
                    // SAFETY: `root` is a valid tree all of whose nodes come
                    // from `arena`; it is replaced right below.
                    unsafe { destroy(&mut self.arena, self.root) };
                    self.cache.clear();
                    assert_eq!(self.arena.live_pages(), 0, "destroy leaked pages");
                    let before = self.arena.attempts();
                    self.root = match alloc_root(&mut self.arena) {
                        Ok(root) => {
                            assert!(!self.fired(before), "alloc_root ignored a failure");
                            root
                        }
                        Err(e) => {
                            assert_eq!(e, RadixError::NoMemory);
                            assert!(self.fired(before), "alloc_root failed unprompted");
                            alloc_root(&mut self.arena).expect("second alloc_root")
                        }
                    };
                    self.model.clear();
                    self.minimal = true;
                }

                fn check(&self) {
                    // SAFETY: `root` is a valid tree of `arena`.
                    let (tables, leaves) = unsafe { count_nodes(&self.arena, self.root) };
                    assert_eq!(
                        tables + leaves,
                        self.arena.live_pages(),
                        "nodes vs live pages"
                    );
                    let need = min_nodes(&self.model);
                    if self.minimal {
                        assert_eq!(tables + leaves, need, "tree is not minimal");
                    } else {
                        assert!(tables + leaves >= need, "tree lacks nodes");
                    }
                    let mut keys = Vec::new();
                    let mut leaf = |k: u64| {
                        keys.push(k);
                        0
                    };
                    // SAFETY: as above; the callback does not touch the tree.
                    assert_eq!(
                        unsafe { walk(&self.arena, self.root, Some(&mut leaf), None) },
                        0
                    );
                    assert!(
                        keys.iter().copied().eq(self.model.iter().copied()),
                        "walk != model"
                    );
                    let mut desc = Vec::new();
                    let mut f = |k: u64| {
                        desc.push(k);
                        0
                    };
                    // SAFETY: as above.
                    assert_eq!(unsafe { walk_keys_desc(&self.arena, self.root, &mut f) }, 0);
                    assert!(
                        desc.iter().copied().eq(self.model.iter().rev().copied()),
                        "descending walk != model reversed"
                    );
                    // SAFETY: as above.
                    let wrong = unsafe { find_wrong_table_count(&self.arena, self.root) };
                    assert_eq!(wrong, None, "table count");
                }
            }

            pub(super) fn run(data: &[u8]) {
                let mut inp = Input { data };
                let mut arena = new_arena();
                let root = alloc_root(&mut arena).expect("first root");
                let mut st = State {
                    arena,
                    root,
                    model: BTreeSet::new(),
                    minimal: true,
                    fail_at: None,
                    last_key: 0,
                    cache: TableCache::new(),
                };
                for _ in 0..MAX_OPS {
                    if inp.is_empty() {
                        break;
                    }
                    match inp.u8() % 8 {
                        0 => {
                            let k = st.key(&mut inp);
                            st.add(k);
                        }
                        1 => st.range(&mut inp),
                        op @ (2 | 3) => {
                            let k = st.key(&mut inp);
                            st.del(k, op == 3);
                        }
                        4 => {
                            let b = inp.u8();
                            let n = usize::from(b >> 2);
                            match b % 4 {
                                0 => st.walk(None, None),
                                // One spread at a time, and not of 64 KiB
                                // leaves: the walk of every check after it
                                // would read megabytes.
                                1 if st.model.len() < PARKED_WITNESS_SLOTS
                                    && BITMAP_WORDS <= 2048 =>
                                {
                                    st.spread(&mut inp, (PARKED_WITNESS_SLOTS + 1 + n) as u64)
                                }
                                1 => st.walk(None, None),
                                2 => st.walk(Some(n + 1), None),
                                _ => st.walk(None, Some(n + 1)),
                            }
                        }
                        5 => st.reinit(),
                        6 => {
                            let b = inp.u8();
                            st.arena.keep_words(b & 4 == 0);
                            st.arena.offer_leaf_words(b & 8 == 0);
                            let n = usize::from(b % 4);
                            st.arena.fail_nth_alloc(Some(n));
                            st.fail_at = Some(st.arena.attempts() + n);
                        }
                        _ => {
                            let k = st.key(&mut inp);
                            // SAFETY: `root` is a valid tree of `arena`.
                            let c = unsafe { contains_key(&st.arena, st.root, k) };
                            assert_eq!(c, st.model.contains(&k), "contains {k:#x}");
                        }
                    }
                    st.check();
                }
                // SAFETY: `root` is a valid tree all of whose nodes come from
                // `arena`; it is not used afterwards.
                unsafe { destroy(&mut st.arena, st.root) };
                assert_eq!(st.arena.live_pages(), 0, "destroy leaked pages");
            }
        }
    };
}

fuzz_geometry!(g4k, geom4k);
fuzz_geometry!(g16k, geom16k);
fuzz_geometry!(g64k, geom64k);
