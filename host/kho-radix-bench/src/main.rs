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
//! [--page 4k|16k|64k|all] [--out FILE]`.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(rust_2018_idioms, unreachable_pub)]
#![warn(
    clippy::all,
    clippy::cast_lossless,
    clippy::ptr_as_ptr,
    clippy::undocumented_unsafe_blocks,
    clippy::unnecessary_safety_comment
)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Instant;

mod c;
mod pool;

/// Default number of operations per workload.
const N_DEFAULT: usize = 262_144;
/// Number of operations with `--full`.
const N_FULL: usize = 1_048_576;
/// Number of operations with `--quick`.
const N_QUICK: usize = 65_536;
/// First physical address used by the workloads: 4 GiB.
const PHYS_BASE: u64 = 1 << 32;
/// Highest order of the mixed-order workload.
const MIXED_MAX_ORDER: u64 = 9;
/// Random keys are spread over `SPREAD * n` pages.
const SPREAD: u64 = 64;

/// Command line settings.
struct Config {
    n: usize,
    reps: usize,
    pages: Vec<&'static str>,
    /// Only the workloads whose name contains this (for profiling one).
    only: Option<String>,
    out: Option<String>,
}

fn usage() -> ! {
    eprintln!(
        "usage: kho-radix-bench [--quick|--full] [-n N] [-r REPS] [--page 4k|16k|64k|all] [--only TEXT] [--out FILE]"
    );
    std::process::exit(2)
}

impl Config {
    fn parse() -> Config {
        let mut cfg = Config {
            n: N_DEFAULT,
            reps: 11,
            pages: vec!["4k", "16k", "64k"],
            only: None,
            out: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            let mut val = || args.next().unwrap_or_else(|| usage());
            match a.as_str() {
                "--quick" => {
                    cfg.n = N_QUICK;
                    cfg.reps = 5;
                }
                "--full" => cfg.n = N_FULL,
                "-n" | "--n" => cfg.n = val().parse().unwrap_or_else(|_| usage()),
                "-r" | "--reps" => cfg.reps = val().parse().unwrap_or_else(|_| usage()),
                "--out" => cfg.out = Some(val()),
                "--only" => cfg.only = Some(val()),
                "--page" => {
                    cfg.pages = match val().as_str() {
                        "4k" => vec!["4k"],
                        "16k" => vec!["16k"],
                        "64k" => vec!["64k"],
                        "all" => vec!["4k", "16k", "64k"],
                        _ => usage(),
                    }
                }
                // `cargo bench` passes this.
                "--bench" => {}
                _ => usage(),
            }
        }
        if cfg.n == 0 || cfg.reps == 0 {
            usage();
        }
        cfg
    }
}

/// splitmix64, the generator of the golden tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Inputs of all workloads for one page size.
struct Inputs {
    seq: Vec<u64>,
    rand: Vec<u64>,
    mixed: Vec<u64>,
    /// `(start_pfn, nr_pages)` pairs, flattened.
    ranges: Vec<u64>,
    /// The same pairs in random order: the range deletes' worst case for
    /// the witness words of the table cache, which a sweep up or down
    /// keeps valid and a random order does not.
    ranges_rand: Vec<u64>,
    range_pages: u64,
    /// The keys `kho_preserve_pages()` adds for `ranges`: disjoint blocks of
    /// mixed orders.
    range_keys: Vec<u64>,
    sparse: Vec<u64>,
}

impl Inputs {
    fn new(n: usize, page_shift: u32, encode: fn(u64, u32) -> u64) -> Inputs {
        let base_pfn = PHYS_BASE >> page_shift;
        let span = SPREAD * n as u64;
        let mut rng = Rng(0x6b68_6f2d_6265_6e63);
        let seq = (0..n as u64)
            .map(|i| encode((base_pfn + i) << page_shift, 0))
            .collect();
        let rand = (0..n)
            .map(|_| encode((base_pfn + rng.next() % span) << page_shift, 0))
            .collect();
        let mixed = (0..n)
            .map(|_| {
                let order = rng.next() % (MIXED_MAX_ORDER + 1);
                let pfn = (base_pfn + rng.next() % span) & !((1u64 << order) - 1);
                encode(pfn << page_shift, order as u32)
            })
            .collect();
        // Ranges of 1..=256 pages with gaps of 0..=64 pages, like a series
        // of kho_preserve_pages() calls on unaligned buffers, until they
        // need `n` add_key() calls.
        let (mut ranges, mut pfn, mut range_pages) = (Vec::new(), base_pfn + 3, 0);
        let mut range_keys = Vec::new();
        while range_keys.len() < n {
            let len = 1 + rng.next() % 256;
            ranges.extend([pfn, len]);
            range_pages += len;
            let (mut p, end) = (pfn, pfn + len);
            while p < end {
                let order = preserve_order(p, end);
                range_keys.push(encode(p << page_shift, order));
                p += 1 << order;
            }
            pfn = end + rng.next() % 65;
        }
        // One key per leaf: the walk has to scan every bitmap word, the case
        // where memory bandwidth bounds it.
        let leaf_bits = 8 * (1u64 << page_shift);
        let leaf0 = base_pfn.next_multiple_of(leaf_bits);
        let sparse = (0..sparse_leaves(n, 1 << page_shift) as u64)
            .map(|i| {
                encode(
                    (leaf0 + i * leaf_bits + rng.next() % leaf_bits) << page_shift,
                    0,
                )
            })
            .collect();
        // Fisher-Yates over the pairs, after every other input is drawn so
        // that those stay as they were.
        let mut pairs: Vec<[u64; 2]> = ranges.chunks_exact(2).map(|r| [r[0], r[1]]).collect();
        for i in (1..pairs.len()).rev() {
            pairs.swap(i, (rng.next() % (i as u64 + 1)) as usize);
        }
        let ranges_rand = pairs.concat();
        Inputs {
            seq,
            rand,
            mixed,
            ranges,
            ranges_rand,
            range_pages,
            range_keys,
            sparse,
        }
    }
}

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
    /// `kho_unpreserve_pages()` does: Rust with one call per range, of
    /// `del_pfn_range_reclaim()` (freeing the nodes it empties, as the
    /// kernel does) if the flag is set, else of `del_pfn_range()`; C with
    /// one `kho_radix_del_key()` per chunk.
    UnpreserveRanges(&'a [u64], bool),
    /// Adds the keys untimed, then deletes them.
    Del(&'a [u64]),
    /// Adds the keys untimed, then deletes them as each tracker's KHO
    /// unpreserves a folio: Rust freeing the nodes that empty
    /// (`del_key_reclaim_cached()`), C with `kho_radix_del_key()`, as it
    /// has no such operation.
    DelReclaim(&'a [u64]),
    /// Adds the keys untimed, then walks the tree; Rust through `walk()`
    /// with a `dyn FnMut` callback, like a C callback.
    Walk(&'a [u64]),
    /// The same; Rust through `walk_keys()` with a closure type parameter.
    WalkClosure(&'a [u64]),
    /// Adds the keys untimed, then checks the tree as the next kernel checks
    /// the one it is handed (`validate_tree()`; Rust only, C trusts it).
    Validate(&'a [u64]),
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

/// One line of the report.
struct Row {
    page: &'static str,
    page_size: usize,
    name: &'static str,
    ops: u64,
    pages: u64,
    c: Option<Vec<f64>>,
    rust: Vec<f64>,
}

fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    }
}

fn elapsed_ns(t: Instant) -> u64 {
    u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// `__kho_preserve_pages_order()` without the NUMA check: the largest
/// order that `pfn` is aligned to and that fits before `end_pfn`.
#[inline]
fn preserve_order(pfn: u64, end_pfn: u64) -> u32 {
    (pfn | 1 << 63)
        .trailing_zeros()
        .min((end_pfn - pfn).ilog2())
}

/// Name of the row of [`Work::RangeFloor`].
const RANGE_FLOOR: &str = "floor: range chunks into flat bitmaps (no tree)";

/// One bitmap per order over the pfns that a list of ranges spans, bit `i`
/// of order `o` for the chunk at pfn `((first >> o) + i) << o`: the keys'
/// bitmaps without the tree around them.
struct FlatBitmaps {
    /// The first pfn of the ranges.
    first: u64,
    /// The bitmap of each order; its length is a power of two.
    maps: Vec<Vec<u64>>,
}

impl FlatBitmaps {
    /// Empty bitmaps for the `(start_pfn, nr_pages)` pairs of `ranges`,
    /// which ascend.
    fn new(ranges: &[u64]) -> Self {
        let first = ranges.first().copied().unwrap_or(0);
        let end = ranges.chunks_exact(2).last().map_or(first, |r| r[0] + r[1]);
        let maps = (0..64)
            .map(|o: u32| {
                let bits = (end >> o) - (first >> o) + 1;
                let mut map = vec![0u64; (bits.div_ceil(64) as usize).next_power_of_two()];
                // Fault the pages in now, as the tree's pool is, not in the
                // timed loop.
                map.iter_mut().for_each(|w| *w = black_box(0));
                map
            })
            .collect();
        Self { first, maps }
    }

    /// Sets the bit of each chunk of `pfn..end_pfn`, found as
    /// `RangeChunks` in `kho_radix_tree/range.rs` finds them: the set bits of
    /// `mid - pfn` upwards, then those of `end_pfn - mid` downwards.
    #[inline(always)]
    fn set_range(&mut self, mut pfn: u64, end_pfn: u64) {
        if pfn >= end_pfn {
            return;
        }
        let h = 63 ^ (pfn ^ end_pfn).leading_zeros();
        let mid = end_pfn >> h << h;
        let (mut up, mut down) = (mid - pfn, end_pfn - mid);
        while up != 0 {
            let order = up.trailing_zeros();
            up &= up - 1;
            self.set(pfn, order);
            pfn += 1 << order;
        }
        while down != 0 {
            let order = 63 ^ down.leading_zeros();
            down ^= 1 << order;
            self.set(pfn, order);
            pfn += 1 << order;
        }
    }

    #[inline(always)]
    fn set(&mut self, pfn: u64, order: u32) {
        let bit = (pfn >> order) - (self.first >> order);
        let map = &mut self.maps[order as usize];
        // The length is a power of two: the mask keeps the bounds check
        // out of the loop, and every bit of the ranges is in bounds.
        let word = (bit / 64) as usize & (map.len() - 1);
        map[word] |= 1 << (bit % 64);
    }

    /// Number of bits set.
    fn bits(&self) -> u64 {
        self.maps
            .iter()
            .flatten()
            .map(|w| u64::from(w.count_ones()))
            .sum()
    }
}

/// Number of chunks `kho_preserve_pages()` makes of the `(start_pfn,
/// nr_pages)` pairs of `ranges`: the op count of the range rows.
fn range_chunks(ranges: &[u64]) -> u64 {
    ranges
        .chunks_exact(2)
        .map(|r| {
            let (mut pfn, mut n) = (r[0], 0);
            while pfn < r[0] + r[1] {
                pfn += 1 << preserve_order(pfn, r[0] + r[1]);
                n += 1;
            }
            n
        })
        .sum()
}

/// Number of leaves of the sparse walk: `n / 64`, at most 64 MiB of them.
fn sparse_leaves(n: usize, page_size: usize) -> usize {
    (n / 64).clamp(1, (64 << 20) / page_size)
}

/// Pool size per page size: enough for every workload up to `--full`
/// (the random keys of `--full` at 4K need about 4,600 pages).
fn pool_pages(page_size: usize, n: usize) -> usize {
    let per_page = (8 * page_size) as u64;
    let leaves = (SPREAD * n as u64).div_ceil(per_page) as usize;
    4 * leaves + 2 * sparse_leaves(n, page_size) + 1024
}

/// Generates the driver of one page size: runs the workloads on the C copy
/// `$cops` and on the Rust core `kho_radix_host::$geom`.
macro_rules! geometry {
    ($modname:ident, $geom:ident, $cops:ident, $label:literal) => {
        mod $modname {
            use super::{
                elapsed_ns, pool_pages, preserve_order, range_chunks, Config, FlatBitmaps, Inputs,
                Outcome, Row, Work, RANGE_FLOOR,
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
                    Work::UnpreserveRanges(ranges, reclaim) => {
                        preserve_ranges(mem, root, &mut cache, ranges)
                            .expect("Rust: add_key failed");
                        o.pages = mem.live() as u64;
                        let t = Instant::now();
                        for r in ranges.chunks_exact(2) {
                            let (start, len, split) = (r[0], r[1], &mut |_, _| false);
                            // SAFETY: `root` is a valid tree of `mem`, all of
                            // whose nodes come from `mem`.
                            let missing = unsafe {
                                if reclaim {
                                    tree::del_pfn_range_reclaim(
                                        mem, root, &mut cache, start, len, 63, split,
                                    )
                                } else {
                                    tree::del_pfn_range(
                                        mem, root, &mut cache, start, len, 63, split,
                                    )
                                }
                            };
                            assert_eq!(missing, 0, "Rust: del_pfn_range missed chunks");
                        }
                        o.ns = elapsed_ns(t);
                        o.ops = range_chunks(ranges);
                    }
                    Work::Del(keys) | Work::DelReclaim(keys) => {
                        add_keys(mem, root, &mut cache, keys).expect("Rust: add_key failed");
                        o.pages = mem.live() as u64;
                        let reclaim = matches!(work, Work::DelReclaim(_));
                        let t = Instant::now();
                        // Two loops, not a test per key: C's loop has none.
                        // The results are dropped like C's, which has nothing
                        // to report; each call writes the tree, so it stays.
                        if reclaim {
                            for &k in keys {
                                // SAFETY: `root` is a valid tree of `mem`, all
                                // of whose nodes come from `mem`.
                                let _ = unsafe {
                                    tree::del_key_reclaim_cached(mem, root, &mut cache, k)
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
                        let mut scratch = vec![0u64; limits.max_nodes];
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
                        let stats = r.expect("Rust: the validator rejected the tree");
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
                        Work::Del(keys) | Work::DelReclaim(keys) => {
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
                let works: [(&'static str, Work<'_>, bool); 22] = [
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
                        Work::UnpreserveRanges(&inp.ranges, false),
                        true,
                    ),
                    (
                        "unpreserve ranges (Rust del_pfn_range_reclaim)",
                        Work::UnpreserveRanges(&inp.ranges, true),
                        true,
                    ),
                    (
                        "unpreserve ranges, random order (Rust del_pfn_range, no freeing)",
                        Work::UnpreserveRanges(&inp.ranges_rand, false),
                        true,
                    ),
                    (
                        "unpreserve ranges, random order (Rust del_pfn_range_reclaim)",
                        Work::UnpreserveRanges(&inp.ranges_rand, true),
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

/// Best read bandwidth of a sum over `bytes` bytes, in bytes per second.
fn sum_bandwidth(bytes: usize, reps: usize) -> f64 {
    let buf: Vec<u64> = (0..bytes / 8).map(|i| i as u64).collect();
    let mut best = f64::INFINITY;
    // Enough passes for at least ~64 MiB per timing.
    let passes = (64 << 20) / bytes.max(1) + 1;
    for _ in 0..reps {
        let t = Instant::now();
        for _ in 0..passes {
            // A plain fold: LLVM vectorises and unrolls it, so the loads
            // are the limit.
            black_box(black_box(&buf).iter().fold(0u64, |a, v| a.wrapping_add(*v)));
        }
        best = best.min(elapsed_ns(t) as f64 / passes as f64);
    }
    bytes as f64 / best * 1e9
}

/// Best memcpy rate over `bytes` bytes (bytes copied per second).
fn memcpy_bandwidth(bytes: usize, reps: usize) -> f64 {
    let src = vec![1u8; bytes];
    let mut dst = vec![0u8; bytes];
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        dst.copy_from_slice(black_box(&src));
        black_box(&mut dst);
        best = best.min(elapsed_ns(t) as f64);
    }
    bytes as f64 / best * 1e9
}

fn host_info() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let threads = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    format!("{cpu}, {threads} threads, load average {load}")
}

fn gb(bps: f64) -> String {
    format!("{:.1} GB/s", bps / 1e9)
}

fn report(cfg: &Config, rows: &[Row], load_before: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# KHO radix tree: Rust core vs kernel C, host benchmark\n"
    );
    let _ = writeln!(
        s,
        "N = {} ops per workload, {} repetitions (C and Rust alternating), ns/op.  ",
        cfg.n, cfg.reps
    );
    let _ = writeln!(
        s,
        "C: kexec_handover.c radix code, unchanged, gcc/cc -O2 -fno-strict-aliasing; \
         Rust: kho_radix_tree.rs, opt-level {}.  ",
        env!("KHO_BENCH_RUST_OPT_LEVEL")
    );
    let _ = writeln!(
        s,
        "Both sides allocate nodes from the same page-pool algorithm, phys == virt.  "
    );
    let _ = writeln!(s, "Host: {load_before}.");
    if cfg!(debug_assertions) {
        let _ = writeln!(
            s,
            "\n**Debug build: timings are meaningless, use --release.**"
        );
    } else if env!("KHO_BENCH_RUST_OPT_LEVEL") != "2" {
        // At opt-level 3 the vectorizer turns the reclaiming deletes' test
        // of eight bitmap words into 16-byte loads right after the 8-byte
        // store that cleared the key's bit, and perf puts the time on those
        // loads: a store is not forwarded to a wider load that overlaps it.
        // The range unpreserve with freeing took 12.3 ns per chunk against
        // 5.9 at opt-level 2, which the kernel builds Rust with (and
        // without SIMD).
        let _ = writeln!(
            s,
            "\n**Rust built at opt-level {}, not at the kernel's 2: the rows with freeing \
             can be twice as slow (store forwarding); use scripts/bench-host.sh.**",
            env!("KHO_BENCH_RUST_OPT_LEVEL")
        );
    }
    let _ = writeln!(
        s,
        "\n| page | workload | ops | C min | C median | Rust min | Rust median | Rust/C min | Rust/C median | tree pages |"
    );
    let _ = writeln!(s, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|");
    for r in rows {
        let (rmin, rmed) = (min(&r.rust), median(&r.rust));
        let (cmin, cmed, qmin, qmed) = match &r.c {
            Some(c) => {
                let (cmin, cmed) = (min(c), median(c));
                (
                    format!("{cmin:.2}"),
                    format!("{cmed:.2}"),
                    format!("{:.2}", rmin / cmin),
                    format!("{:.2}", rmed / cmed),
                )
            }
            None => ("n/a".into(), "n/a".into(), "n/a".into(), "n/a".into()),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {cmin} | {cmed} | {rmin:.2} | {rmed:.2} | {qmin} | {qmed} | {} |",
            r.page, r.name, r.ops, r.pages
        );
    }

    // Floor of the range rows: setting one bit per chunk, with no tree.
    let find = |page: &str, name: &str| rows.iter().find(|r| r.page == page && r.name == name);
    let floors: Vec<_> = rows.iter().filter(|r| r.name == RANGE_FLOOR).collect();
    if !floors.is_empty() {
        let _ = writeln!(
            s,
            "\nRange floor: `{RANGE_FLOOR}` enumerates the chunks as `add_pfn_range()` \
             does and sets each one's bit in a flat bitmap of its order, the least a tracker \
             of this chunking does per chunk. A Rust/C ratio below floor/C would need a \
             faster way to find the chunks, not a faster tree.\n"
        );
    }
    for f in floors {
        let bulk = find(f.page, "preserve ranges (Rust add_pfn_range)");
        if let Some((r, c)) = bulk.and_then(|r| r.c.as_deref().map(|c| (r, c))) {
            let (fmin, rmin, cmin) = (min(&f.rust), min(&r.rust), min(c));
            let _ = writeln!(
                s,
                "- {}: floor {fmin:.2} ns per chunk = {:.2} of C's {cmin:.2}; \
                 Rust `add_pfn_range()` {rmin:.2} = {:.2}x the floor.",
                f.page,
                fmin / cmin,
                rmin / fmin
            );
        }
    }

    // Physical bound of the walk: it has to read every tree page once.
    let big = if cfg.n <= N_QUICK {
        64 << 20
    } else {
        256 << 20
    };
    eprintln!("==> memory bandwidth");
    let dram = sum_bandwidth(big, cfg.reps);
    let copy = memcpy_bandwidth(big, cfg.reps);
    let _ = writeln!(
        s,
        "\nMemory: sum loop over {} MiB {}, memcpy of {} MiB {}.\n",
        big >> 20,
        gb(dram),
        big >> 20,
        gb(copy)
    );
    let _ = writeln!(
        s,
        "Walk bound: a walk reads each tree page once, and a validation at \
         least once, so neither can beat tree bytes / read bandwidth. `cached` is the sum loop over a buffer \
         of the tree's size (the tree is cache resident after the untimed adds), \
         `DRAM` the big sum loop. % = bound time / measured min time.\n"
    );
    let _ = writeln!(
        s,
        "| page | walk or validation | tree bytes | cached bw | C scan rate | C % of cached | C % of DRAM | Rust scan rate | Rust % of cached | Rust % of DRAM |"
    );
    let _ = writeln!(s, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|");
    let reads_whole_tree = |r: &&Row| r.name.starts_with("walk") || r.name.starts_with("validate");
    for r in rows.iter().filter(reads_whole_tree) {
        let bytes = r.pages as f64 * r.page_size as f64;
        let cached = sum_bandwidth(r.pages as usize * r.page_size, cfg.reps);
        let rate = |v: &[f64]| bytes / (min(v) * r.ops as f64) * 1e9;
        let cell = |v: &[f64]| {
            let x = rate(v);
            format!(
                "{} | {:.1}% | {:.1}%",
                gb(x),
                100.0 * x / cached,
                100.0 * x / dram
            )
        };
        let c = r.c.as_deref().map_or("n/a | n/a | n/a".into(), cell);
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {c} | {} |",
            r.page,
            r.name,
            bytes as u64,
            gb(cached),
            cell(&r.rust)
        );
    }
    s
}

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
    let s = report(&cfg, &rows, &host);
    print!("{s}");
    if let Some(path) = &cfg.out {
        if let Err(e) = std::fs::write(path, &s) {
            eprintln!("error: {path}: {e}");
            std::process::exit(1);
        }
    }
}
