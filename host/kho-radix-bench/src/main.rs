// SPDX-License-Identifier: GPL-2.0

//! Host benchmark: the Rust KHO radix tree core against the kernel's own C
//! radix tree code, side by side in one run.
//!
//! The C side is `kexec_handover.c`'s tree code, cut out of the kernel
//! source and compiled unchanged at `-O2` by `build.rs`; the Rust side is
//! `kho_radix_tree.rs` as built by the `kho-radix-host` crate. Both get their
//! nodes from the same page pool algorithm with an identity physical mapping
//! ([`pool`]), both are driven by loops in their own language shaped like the
//! kernel callers, and every workload runs on both sides with identical
//! inputs, alternating C and Rust each repetition so that background load
//! hits both alike. The two sides must end up with the same number of tree
//! pages and walk the same keys; the run aborts otherwise.
//!
//! Usage: `kho-radix-bench [--quick|--full] [-n N] [-r REPS]
//! [--page 4k|16k|64k|all] [--only TEXT] [--out FILE]`.
//!
//! This file runs the workloads, one driver per page size (`geometry!`);
//! [`config`] reads the command line, [`inputs`] draws the workloads'
//! keys and ranges, [`floor`] is the range rows' tree-less floor,
//! [`report`] writes the markdown, and [`c`] and [`pool`] are the C side
//! and the page pool both sides share.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(rust_2018_idioms, unreachable_pub)]
#![warn(
    clippy::all,
    clippy::cast_lossless,
    clippy::ptr_as_ptr,
    clippy::undocumented_unsafe_blocks,
    clippy::unnecessary_safety_comment
)]

use std::time::Instant;

mod c;
mod config;
mod floor;
mod inputs;
mod pool;
mod report;

use config::Config;
use floor::{FlatBitmaps, RANGE_FLOOR};
use inputs::{pool_pages, preserve_order, range_chunks, Inputs};
use report::{host_info, Row};

/// What a workload does; `prep` runs untimed before the timed part.
#[derive(Clone, Copy)]
enum Work<'a> {
    /// Adds the keys.
    Add(&'a [u64]),
    /// `kho_preserve_pages()` over the ranges.
    Ranges(&'a [u64]),
    /// The same ranges; Rust uses `add_pfn_range()` (one descent per leaf),
    /// C the same per-chunk loop as [`Work::Ranges`].
    RangesBulk(&'a [u64]),
    /// Rust only, no tree: the floor of the range rows. Sets each chunk's
    /// bit in a flat bitmap of its order, chunked as `add_pfn_range()`
    /// chunks, which is the least any tracker does per chunk.
    RangeFloor(&'a [u64]),
    /// Preserves the ranges untimed, then unpreserves them as each tracker's
    /// `kho_unpreserve_pages()` does: Rust with one call per range, as the
    /// [`RangeDelete`] says; C with one `kho_radix_del_key()` per chunk.
    UnpreserveRanges(&'a [u64], RangeDelete),
    /// Adds the keys untimed, then deletes them.
    Del(&'a [u64]),
    /// Adds the keys untimed, then deletes them as each tracker's KHO
    /// unpreserves a folio: Rust freeing the nodes that empty
    /// (`del_key_reclaim_cached()`), C with `kho_radix_del_key()`, as it
    /// has no such operation.
    DelReclaim(&'a [u64]),
    /// The same on the pool without its leaf words (see
    /// [`RangeDelete::ReclaimNoLeafWords`]).
    DelReclaimNoLeafWords(&'a [u64]),
    /// Adds the keys untimed, then walks the tree; Rust through `walk()`
    /// with a `dyn FnMut` callback, like a C callback.
    Walk(&'a [u64]),
    /// The same; Rust through `walk_keys()` with a closure type parameter.
    WalkClosure(&'a [u64]),
    /// Adds the keys untimed, then checks the tree as the next kernel checks
    /// the one it is handed (`validate_tree()`; Rust only, C trusts it).
    Validate(&'a [u64]),
}

/// How the Rust side of [`Work::UnpreserveRanges`] deletes a range.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeDelete {
    /// `del_pfn_range()`: frees nothing.
    Plain,
    /// `del_pfn_range_reclaim()`: frees the nodes it empties, as the kernel
    /// does, with the leaf words the pool offers for witnesses, as the
    /// kernel's `page->private` with `CONFIG_SPARSEMEM_VMEMMAP`.
    Reclaim,
    /// The same on the pool without its leaf words, as the kernel's node
    /// memory is without `CONFIG_SPARSEMEM_VMEMMAP`: the witnesses live in
    /// the table cache only (its chunk leaves and parked witnesses).
    ReclaimNoLeafWords,
}

/// Result of one timed run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Outcome {
    ns: u64,
    ops: u64,
    /// Tree pages after the (untimed or timed) adds.
    pages: u64,
    /// Keys seen by a walk, and their wrapping sum.
    walked: (u64, u64),
}

fn elapsed_ns(t: Instant) -> u64 {
    u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Generates the driver of one page size: runs the workloads on the C copy
/// `$cops` and on the Rust core `kho_radix_host::$geom`.
macro_rules! geometry {
    ($modname:ident, $geom:ident, $cops:ident, $label:literal) => {
        mod $modname {
            use super::{
                elapsed_ns, pool_pages, preserve_order, range_chunks, Config, FlatBitmaps, Inputs,
                Outcome, RangeDelete, Row, Work, RANGE_FLOOR,
            };
            use crate::c::{$cops, KbOps};
            use crate::pool::{Pool, Region};
            use kho_radix_host::$geom::{
                kho_radix_abi as abi, kho_radix_tree as tree, kho_radix_validate as validate,
                PAGE_SHIFT,
            };
            use std::ffi::c_ulong;
            use std::ptr::NonNull;
            use std::time::Instant;

            crate::pool::impl_pool_node_memory!();

            /// The pool without its leaf words: the node memory of a kernel
            /// without `CONFIG_SPARSEMEM_VMEMMAP` (`has_leaf_words()`
            /// false).
            struct NoLeafWords<'a>(&'a mut Pool);

            // SAFETY: every node operation is the pool's, whose
            // implementation above upholds the contract; only the leaf
            // words, which the contract lets a memory not have, are gone.
            unsafe impl tree::NodeMemory for NoLeafWords<'_> {
                #[inline]
                fn alloc_node(&mut self) -> Option<NonNull<abi::RadixNode>> {
                    self.0.alloc_node()
                }

                #[inline]
                unsafe fn free_node(&mut self, node: NonNull<abi::RadixNode>) {
                    // SAFETY: guaranteed by the caller.
                    unsafe { self.0.free_node(node) }
                }

                #[inline]
                fn virt_to_phys(&self, node: NonNull<abi::RadixNode>) -> u64 {
                    self.0.virt_to_phys(node)
                }

                #[inline]
                fn phys_to_virt(&self, phys: u64) -> NonNull<abi::RadixNode> {
                    self.0.phys_to_virt(phys)
                }

                #[inline]
                unsafe fn node_word(
                    &self,
                    node: NonNull<abi::RadixNode>,
                ) -> Option<&::std::cell::Cell<usize>> {
                    // SAFETY: guaranteed by the caller.
                    unsafe { self.0.node_word(node) }
                }
            }

            /// Physical memory as the validator sees it: every range is RAM,
            /// no scratch area, and the pool's pages are the only pages it
            /// may read (phys == virt).
            struct PoolLayout<'a>(&'a Pool);

            impl validate::PhysLayout for PoolLayout<'_> {
                fn is_ram(&self, start: u64, size: u64) -> bool {
                    start.checked_add(size).is_some()
                }

                fn in_scratch(&self, _start: u64, _size: u64) -> bool {
                    false
                }

                fn node_ptr(&self, phys: u64) -> Option<NonNull<abi::RadixNode>> {
                    self.0.page_at(phys).map(NonNull::cast)
                }
            }

            /// `kho_preserve_pages()` on each range; number of keys added.
            fn preserve_ranges(
                mem: &mut Pool,
                root: NonNull<abi::RadixNode>,
                cache: &mut tree::TableCache,
                ranges: &[u64],
            ) -> Result<u64, tree::RadixError> {
                let mut keys = 0;
                for r in ranges.chunks_exact(2) {
                    let (mut pfn, end_pfn) = (r[0], r[0] + r[1]);
                    while pfn < end_pfn {
                        let order = preserve_order(pfn, end_pfn);
                        let key = abi::encode_key(pfn << PAGE_SHIFT, order);
                        // SAFETY: `root` is a valid tree of `mem`.
                        unsafe { tree::add_key_cached(mem, root, cache, key) }?;
                        keys += 1;
                        pfn += 1 << order;
                    }
                }
                Ok(keys)
            }

            fn add_keys(
                mem: &mut Pool,
                root: NonNull<abi::RadixNode>,
                cache: &mut tree::TableCache,
                keys: &[u64],
            ) -> Result<(), tree::RadixError> {
                for &k in keys {
                    // SAFETY: `root` is a valid tree of `mem`, `cache` is its.
                    unsafe { tree::add_key_cached(mem, root, cache, k) }?;
                }
                Ok(())
            }

            fn run_rust(mem: &mut Pool, work: Work<'_>) -> Outcome {
                let root = tree::alloc_root(mem).expect("Rust: root allocation failed");
                // The kernel keeps one cache per tree, for all calls.
                let mut cache = tree::TableCache::new();
                let mut o = Outcome {
                    ns: 0,
                    ops: 0,
                    pages: 0,
                    walked: (0, 0),
                };
                match work {
                    Work::Add(keys) => {
                        let t = Instant::now();
                        let r = add_keys(mem, root, &mut cache, keys);
                        o.ns = elapsed_ns(t);
                        r.expect("Rust: add_key failed");
                        o.ops = keys.len() as u64;
                    }
                    Work::Ranges(ranges) => {
                        let t = Instant::now();
                        let r = preserve_ranges(mem, root, &mut cache, ranges);
                        o.ns = elapsed_ns(t);
                        o.ops = r.expect("Rust: add_key failed");
                    }
                    Work::RangesBulk(ranges) => {
                        let t = Instant::now();
                        for r in ranges.chunks_exact(2) {
                            // SAFETY: `root` is a valid tree of `mem`.
                            let res = unsafe {
                                tree::add_pfn_range(
                                    mem,
                                    root,
                                    &mut cache,
                                    r[0],
                                    r[1],
                                    63,
                                    &mut |_, _| false,
                                )
                            };
                            res.expect("Rust: add_pfn_range failed");
                        }
                        o.ns = elapsed_ns(t);
                        // Same op count as the per-chunk rows: one per chunk.
                        o.ops = range_chunks(ranges);
                    }
                    Work::RangeFloor(ranges) => {
                        let mut maps = FlatBitmaps::new(ranges);
                        let t = Instant::now();
                        for r in ranges.chunks_exact(2) {
                            maps.set_range(r[0], r[0] + r[1]);
                        }
                        o.ns = elapsed_ns(t);
                        o.ops = maps.bits();
                        assert_eq!(o.ops, range_chunks(ranges), "floor: chunk count");
                    }
                    Work::UnpreserveRanges(ranges, how) => {
                        preserve_ranges(mem, root, &mut cache, ranges)
                            .expect("Rust: add_key failed");
                        o.pages = mem.live() as u64;
                        let t = Instant::now();
                        for r in ranges.chunks_exact(2) {
                            let (start, len, split) = (r[0], r[1], &mut |_, _| false);
                            // SAFETY: `root` is a valid tree of `mem`, all of
                            // whose nodes come from `mem`.
                            let missing = unsafe {
                                match how {
                                    RangeDelete::Plain => tree::del_pfn_range(
                                        mem, root, &mut cache, start, len, 63, split,
                                    ),
                                    RangeDelete::Reclaim => tree::del_pfn_range_reclaim(
                                        mem, root, &mut cache, start, len, 63, split,
                                    ),
                                    RangeDelete::ReclaimNoLeafWords => {
                                        tree::del_pfn_range_reclaim(
                                            &mut NoLeafWords(mem),
                                            root,
                                            &mut cache,
                                            start,
                                            len,
                                            63,
                                            split,
                                        )
                                    }
                                }
                            };
                            assert_eq!(missing, 0, "Rust: del_pfn_range missed chunks");
                        }
                        o.ns = elapsed_ns(t);
                        o.ops = range_chunks(ranges);
                    }
                    Work::Del(keys) | Work::DelReclaim(keys) | Work::DelReclaimNoLeafWords(keys) => {
                        add_keys(mem, root, &mut cache, keys).expect("Rust: add_key failed");
                        o.pages = mem.live() as u64;
                        let t = Instant::now();
                        // One loop per kind, not a test per key: C's loop has
                        // none. The results are dropped like C's, which has
                        // nothing to report; each call writes the tree, so it
                        // stays.
                        if let Work::DelReclaim(_) = work {
                            for &k in keys {
                                // SAFETY: `root` is a valid tree of `mem`, all
                                // of whose nodes come from `mem`.
                                let _ = unsafe {
                                    tree::del_key_reclaim_cached(mem, root, &mut cache, k)
                                };
                            }
                        } else if let Work::DelReclaimNoLeafWords(_) = work {
                            let kmem = &mut NoLeafWords(mem);
                            for &k in keys {
                                // SAFETY: as above.
                                let _ = unsafe {
                                    tree::del_key_reclaim_cached(kmem, root, &mut cache, k)
                                };
                            }
                        } else {
                            for &k in keys {
                                // SAFETY: as above.
                                let _ = unsafe { tree::del_key_cached(mem, root, &mut cache, k) };
                            }
                        }
                        o.ns = elapsed_ns(t);
                        o.ops = keys.len() as u64;
                    }
                    Work::Walk(keys) => {
                        add_keys(mem, root, &mut cache, keys).expect("Rust: add_key failed");
                        let (mut count, mut sum) = (0u64, 0u64);
                        let mut leaf = |k: u64| {
                            count += 1;
                            sum = sum.wrapping_add(k);
                            0
                        };
                        let t = Instant::now();
                        // SAFETY: `root` is a valid tree of `mem`; the
                        // callback does not touch it.
                        let err = unsafe { tree::walk(&*mem, root, Some(&mut leaf), None) };
                        o.ns = elapsed_ns(t);
                        assert_eq!(err, 0);
                        o.ops = count;
                        o.walked = (count, sum);
                    }
                    Work::WalkClosure(keys) => {
                        add_keys(mem, root, &mut cache, keys).expect("Rust: add_key failed");
                        let (mut count, mut sum) = (0u64, 0u64);
                        let mut leaf = |k: u64| {
                            count += 1;
                            sum = sum.wrapping_add(k);
                            0
                        };
                        let t = Instant::now();
                        // SAFETY: `root` is a valid tree of `mem`; the
                        // closure does not touch it.
                        let err = unsafe { tree::walk_keys(&*mem, root, &mut leaf) };
                        o.ns = elapsed_ns(t);
                        assert_eq!(err, 0);
                        o.ops = count;
                        o.walked = (count, sum);
                    }
                    Work::Validate(keys) => {
                        add_keys(mem, root, &mut cache, keys).expect("Rust: add_key failed");
                        // Every page of the pool could be a node.
                        let limits = validate::Limits {
                            max_nodes: mem.capacity(),
                            max_order: abi::MAX_KEY_ORDER,
                        };
                        let mut scratch = vec![std::mem::MaybeUninit::new(0u64); limits.max_nodes];
                        let layout = PoolLayout(mem);
                        let t = Instant::now();
                        // SAFETY: `node_ptr` returns only pages of the pool,
                        // aligned and `PAGE_SIZE` long, which nothing writes
                        // during the call.
                        let r = unsafe {
                            validate::validate_tree(
                                &layout,
                                root.as_ptr() as u64,
                                &limits,
                                &mut scratch,
                            )
                        };
                        o.ns = elapsed_ns(t);
                        let stats = r.expect("Rust: the validator rejected the tree").stats();
                        let mut count = 0u64;
                        // SAFETY: `root` is a valid tree of `mem`; the
                        // closure does not touch it.
                        unsafe {
                            tree::walk_keys(&*mem, root, &mut |_| {
                                count += 1;
                                0
                            })
                        };
                        assert_eq!(stats.keys, count, "Rust: validator key count");
                        o.ops = stats.keys;
                        o.walked = (stats.keys, (stats.tables + stats.leaves) as u64);
                    }
                }
                if o.pages == 0 {
                    o.pages = mem.live() as u64;
                }
                // SAFETY: every node of the tree came from `mem`, nothing
                // uses it afterwards.
                unsafe { tree::destroy(mem, root) };
                assert_eq!(mem.live(), 0, "Rust: tree pages leaked");
                o
            }

            fn run_c(c: &KbOps, work: Work<'_>) -> Outcome {
                let mut o = Outcome {
                    ns: 0,
                    ops: 0,
                    pages: 0,
                    walked: (0, 0),
                };
                // SAFETY: for all calls below, the C tree is only used from this
                // thread, key and range arrays are valid for their lengths
                // (`c_ulong` is `u64` on the 64-bit hosts this runs on).
                unsafe {
                    assert_eq!((c.tree_init)(), 0, "C: root allocation failed");
                    let add = |keys: &[u64]| {
                        (c.add_keys)(keys.as_ptr().cast::<c_ulong>(), keys.len() as c_ulong)
                    };
                    match work {
                        Work::Add(keys) => {
                            let t = Instant::now();
                            let r = add(keys);
                            o.ns = elapsed_ns(t);
                            assert_eq!(r, 0, "C: kho_radix_add_key failed");
                            o.ops = keys.len() as u64;
                        }
                        Work::Ranges(ranges) | Work::RangesBulk(ranges) => {
                            let mut nkeys: c_ulong = 0;
                            let t = Instant::now();
                            let r = (c.preserve_ranges)(
                                ranges.as_ptr().cast::<c_ulong>(),
                                (ranges.len() / 2) as c_ulong,
                                &mut nkeys,
                            );
                            o.ns = elapsed_ns(t);
                            assert_eq!(r, 0, "C: kho_radix_add_key failed");
                            o.ops = nkeys;
                        }
                        Work::UnpreserveRanges(ranges, _) => {
                            let mut nkeys: c_ulong = 0;
                            let n = (ranges.len() / 2) as c_ulong;
                            let r = (c.preserve_ranges)(
                                ranges.as_ptr().cast::<c_ulong>(),
                                n,
                                &mut nkeys,
                            );
                            assert_eq!(r, 0, "C: kho_radix_add_key failed");
                            o.pages = (c.pool_live)();
                            let t = Instant::now();
                            (c.unpreserve_ranges)(ranges.as_ptr().cast::<c_ulong>(), n);
                            o.ns = elapsed_ns(t);
                            o.ops = nkeys;
                        }
                        Work::Del(keys)
                        | Work::DelReclaim(keys)
                        | Work::DelReclaimNoLeafWords(keys) => {
                            assert_eq!(add(keys), 0, "C: kho_radix_add_key failed");
                            o.pages = (c.pool_live)();
                            let t = Instant::now();
                            (c.del_keys)(keys.as_ptr().cast::<c_ulong>(), keys.len() as c_ulong);
                            o.ns = elapsed_ns(t);
                            o.ops = keys.len() as u64;
                        }
                        Work::Validate(_) | Work::RangeFloor(_) => {
                            unreachable!("no C equivalent")
                        }
                        Work::Walk(keys) | Work::WalkClosure(keys) => {
                            assert_eq!(add(keys), 0, "C: kho_radix_add_key failed");
                            let (mut count, mut sum): (c_ulong, c_ulong) = (0, 0);
                            let t = Instant::now();
                            let err = (c.walk)(&mut count, &mut sum);
                            o.ns = elapsed_ns(t);
                            assert_eq!(err, 0);
                            o.ops = count;
                            o.walked = (count, sum);
                        }
                    }
                    if o.pages == 0 {
                        o.pages = (c.pool_live)();
                    }
                    (c.tree_destroy)();
                    assert_eq!((c.pool_live)(), 0, "C: tree pages leaked");
                }
                o
            }

            /// Runs every workload for this page size.
            pub(crate) fn run(cfg: &Config) -> Vec<Row> {
                let ps = abi::PAGE_SIZE;
                let cap = pool_pages(ps, cfg.n);
                let mut mem = Pool::new(ps, cap);
                let region = Region::new(ps, cap);
                // SAFETY: the symbol is an initialised constant of `bench.c`.
                let c: &KbOps = unsafe { &$cops };
                assert_eq!(c.page_shift, c_ulong::from(PAGE_SHIFT));
                // SAFETY: `region` holds `cap` pages and outlives every use
                // of the C tree in this function.
                unsafe { (c.pool_init)(region.base().cast(), cap as c_ulong) };

                let inp = Inputs::new(cfg.n, PAGE_SHIFT, abi::encode_key);
                let works: [(&'static str, Work<'_>, bool); 26] = [
                    ("preserve order-0 sequential", Work::Add(&inp.seq), true),
                    ("preserve order-0 random", Work::Add(&inp.rand), true),
                    ("preserve mixed orders 0-9", Work::Add(&inp.mixed), true),
                    (
                        "preserve ranges (per add_key)",
                        Work::Ranges(&inp.ranges),
                        true,
                    ),
                    (
                        "preserve ranges (Rust add_pfn_range)",
                        Work::RangesBulk(&inp.ranges),
                        true,
                    ),
                    (RANGE_FLOOR, Work::RangeFloor(&inp.ranges), false),
                    (
                        "unpreserve ranges (Rust del_pfn_range, no freeing)",
                        Work::UnpreserveRanges(&inp.ranges, RangeDelete::Plain),
                        true,
                    ),
                    (
                        "unpreserve ranges (Rust del_pfn_range_reclaim)",
                        Work::UnpreserveRanges(&inp.ranges, RangeDelete::Reclaim),
                        true,
                    ),
                    (
                        "unpreserve ranges (Rust del_pfn_range_reclaim, no leaf words)",
                        Work::UnpreserveRanges(&inp.ranges, RangeDelete::ReclaimNoLeafWords),
                        true,
                    ),
                    (
                        "unpreserve ranges, random order (Rust del_pfn_range, no freeing)",
                        Work::UnpreserveRanges(&inp.ranges_rand, RangeDelete::Plain),
                        true,
                    ),
                    (
                        "unpreserve ranges, random order (Rust del_pfn_range_reclaim)",
                        Work::UnpreserveRanges(&inp.ranges_rand, RangeDelete::Reclaim),
                        true,
                    ),
                    (
                        "unpreserve ranges, random order (Rust del_pfn_range_reclaim, no leaf words)",
                        Work::UnpreserveRanges(&inp.ranges_rand, RangeDelete::ReclaimNoLeafWords),
                        true,
                    ),
                    ("unpreserve all, sequential", Work::Del(&inp.seq), true),
                    ("unpreserve all, random", Work::Del(&inp.rand), true),
                    (
                        "unpreserve all, sequential (Rust del_key_reclaim)",
                        Work::DelReclaim(&inp.seq),
                        true,
                    ),
                    (
                        "unpreserve all, random (Rust del_key_reclaim)",
                        Work::DelReclaim(&inp.rand),
                        true,
                    ),
                    (
                        "unpreserve all, sequential (Rust del_key_reclaim, no leaf words)",
                        Work::DelReclaimNoLeafWords(&inp.seq),
                        true,
                    ),
                    (
                        "unpreserve all, random (Rust del_key_reclaim, no leaf words)",
                        Work::DelReclaimNoLeafWords(&inp.rand),
                        true,
                    ),
                    ("walk all, sequential", Work::Walk(&inp.seq), true),
                    ("walk all, random", Work::Walk(&inp.rand), true),
                    ("walk all, 1 key per leaf", Work::Walk(&inp.sparse), true),
                    (
                        "walk all, sequential, Rust closure",
                        Work::WalkClosure(&inp.seq),
                        true,
                    ),
                    (
                        "walk all, 1 key per leaf, Rust closure",
                        Work::WalkClosure(&inp.sparse),
                        true,
                    ),
                    (
                        "validate handed-over tree, random",
                        Work::Validate(&inp.rand),
                        false,
                    ),
                    (
                        "validate handed-over tree, ranges",
                        Work::Validate(&inp.range_keys),
                        false,
                    ),
                    (
                        "validate handed-over tree, 1 key per leaf",
                        Work::Validate(&inp.sparse),
                        false,
                    ),
                ];
                let mut rows = Vec::new();
                for (name, work, has_c) in works {
                    if cfg.only.as_deref().is_some_and(|only| !name.contains(only)) {
                        continue;
                    }
                    eprintln!("  {} {name}", $label);
                    let (mut cs, mut rs) = (Vec::new(), Vec::new());
                    let mut first: Option<Outcome> = None;
                    for _ in 0..cfg.reps {
                        let mut outs = Vec::new();
                        if has_c {
                            let o = run_c(c, work);
                            cs.push(o.ns as f64 / o.ops.max(1) as f64);
                            outs.push(("C", o));
                        }
                        let o = run_rust(&mut mem, work);
                        rs.push(o.ns as f64 / o.ops.max(1) as f64);
                        outs.push(("Rust", o));
                        for (side, o) in outs {
                            let f = *first.get_or_insert(o);
                            assert_eq!(
                                (o.ops, o.pages, o.walked),
                                (f.ops, f.pages, f.walked),
                                "{} {name}: {side} differs from the first run",
                                $label
                            );
                        }
                    }
                    let f = first.expect("at least one repetition");
                    rows.push(Row {
                        page: $label,
                        page_size: ps,
                        name,
                        ops: f.ops,
                        pages: f.pages,
                        c: has_c.then_some(cs),
                        rust: rs,
                    });
                }
                if let Some(r) = rows.iter().find(|r| r.name.starts_with("preserve ranges")) {
                    eprintln!(
                        "  {} preserve ranges: {} pages in {} ranges, {} add_key calls",
                        $label,
                        inp.range_pages,
                        inp.ranges.len() / 2,
                        r.ops
                    );
                }
                rows
            }
        }
    };
}

geometry!(g4k, geom4k, kb_ops_4k, "4K");
geometry!(g16k, geom16k, kb_ops_16k, "16K");
geometry!(g64k, geom64k, kb_ops_64k, "64K");

fn main() {
    let cfg = Config::parse();
    let host = host_info();
    let mut rows = Vec::new();
    for p in &cfg.pages {
        eprintln!("==> {p} pages, n = {}, {} reps", cfg.n, cfg.reps);
        rows.extend(match *p {
            "4k" => g4k::run(&cfg),
            "16k" => g16k::run(&cfg),
            _ => g64k::run(&cfg),
        });
    }
    let s = report::markdown(&cfg, &rows, &host);
    print!("{s}");
    if let Some(path) = &cfg.out {
        if let Err(e) = std::fs::write(path, &s) {
            eprintln!("error: {path}: {e}");
            std::process::exit(1);
        }
    }
}
