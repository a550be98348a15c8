// SPDX-License-Identifier: GPL-2.0

//! Validation of the KHO radix tree handed over by the previous kernel.
//!
//! C implementation being hardened: [kernel/liveupdate/kexec_handover.c](srctree/kernel/liveupdate/kexec_handover.c)
//! (`kho_get_mem_map_phys()`, `kho_preserved_memory_reserve()`), which walks
//! the incoming tree and `memblock_reserve()`s whatever it lists, trusting
//! every pointer and key.
//!
//! [`validate_tree`] checks the incoming tree *before* anything is reserved:
//!
//! - the root and every table entry is a page-aligned address of a page in
//!   system RAM, outside the KHO scratch areas, that [`PhysLayout::node_ptr`]
//!   agrees to map;
//! - no node is reached twice: no cycle (an entry naming the table holding it
//!   or one of its ancestors) and no node shared by two parents;
//! - no table entry leads only to keys wider than [`KEY_WIDTH`];
//! - every key decodes ([`decode_key`]) to an order no higher than the
//!   caller's `max_order` (the kernel passes the larger of `MAX_PAGE_ORDER`
//!   and the order of all of RAM, as `kho_preserve_pages()` may preserve
//!   blocks above `MAX_PAGE_ORDER`), and to a
//!   range that lies in RAM, outside the scratch areas, overlaps no other
//!   preserved range (of any order) and no page of the tree itself;
//! - the number of nodes visited is bounded by the caller's `max_nodes`.
//!
//! Like [`super::kho_radix_tree`] it runs in early boot, before the slab
//! allocator exists, so it uses `core` only: no `alloc`, no `std`, no
//! `kernel` crate, no recursion, no panics reachable from the tree contents.
//! Memory for duplicate and overlap detection comes from the caller as a
//! `&mut [MaybeUninit<u64>]` of at least `max_nodes` entries (the kernel
//! counts the tree's nodes first with [`count_checked_nodes`], then
//! `memblock_alloc()`s that many and frees them afterwards). It never writes to the tree
//! and never dereferences an address [`PhysLayout::node_ptr`] did not return.
//!
//! # API
//!
//! ```text
//! pub trait PhysLayout {
//!     fn is_ram(&self, start: u64, size: u64) -> bool;
//!     fn on_one_node(&self, start: u64, size: u64) -> bool { true }
//!     fn in_scratch(&self, start: u64, size: u64) -> bool;
//!     fn node_ptr(&self, phys: u64) -> Option<NonNull<RadixNode>>;
//! }
//! pub struct Limits { pub max_nodes: usize, pub max_order: u32 }
//! pub struct Stats { pub tables: usize, pub leaves: usize, pub keys: u64,
//!                    pub keys_per_order: [u64; ORDER_SLOTS] }
//! pub struct ValidationError { pub level: u32, pub index: usize, pub value: u64,
//!                              pub other: u64, pub kind: ErrorKind }
//! pub enum ErrorKind { ... }                 // .name() -> &'static str
//! pub const ROOT_LEVEL: u32;                 // `level` of errors about the root pointer
//! pub unsafe fn validate_tree<'a, L>(layout: &'a L, root_phys: u64, limits: &Limits,
//!     scratch: &mut [MaybeUninit<u64>]) -> Result<AcceptedTree<'a, L>, ValidationError>;
//! pub unsafe fn count_checked_nodes<L>(layout: &L, root_phys: u64, max_nodes: usize)
//!     -> Result<usize, ValidationError>;       // to size `scratch` for the tree
//! // The lookups only sound on an accepted tree are its methods:
//! impl AcceptedTree<'_, L> {
//!     pub fn stats(&self) -> Stats;
//!     pub fn covering_block(&self, phys: u64, size: u64) -> Option<(u64, u32)>;
//!     pub fn range_preserved(&self, phys: u64, size: u64) -> bool;
//! }
//! ```
//!
//! # Files
//!
//! This file holds the API and [`validate_tree`], which runs the three
//! passes below; each pass is a file in `kho_radix_validate/`:
//! `structure.rs` (pass 1), `keys.rs` (pass 2) and `overlaps.rs` (pass 3).
//! `covering.rs` answers, for an [`AcceptedTree`], which blocks hold a range.
//!
//! # Algorithm and complexity
//!
//! Let `N` be the number of nodes (at most `max_nodes`), `L` the number of
//! leaves, `E` the words per node ([`TABLE_ENTRIES`], which equals
//! [`BITMAP_WORDS`]), `K` the number of keys, `W` the number of non-zero
//! bitmap words, `D` the tree depth ([`TREE_MAX_DEPTH`]) and `P` the number
//! of distinct orders present (at most `max_order + 1`).
//!
//! 1. *Structure*: an iterative pre-order walk checks every non-zero table
//!    entry (alignment, RAM, scratch, key range, mapping, cycle against the
//!    at most `D` ancestors, node budget) and records each node's address in
//!    `scratch`. `O(N * (E + D))`. The addresses are then sorted in place
//!    (heapsort, no allocation) and a duplicate means a node shared by
//!    two parents; a second, identical walk finds the entry that reaches it
//!    the second time, to report it. `O(N log N)`. A walk that exceeds the
//!    node budget looks for a duplicate among the nodes it recorded the
//!    same way, and reports it instead of the budget if there is one. So
//!    that a few pages whose entries lead to one page are rejected before
//!    a walk as long as the budget, the walk also looks for a duplicate
//!    when it has recorded 64K nodes, 1M and 16M (`DUP_CHECK_FIRST`).
//! 2. *Keys*, a bitmap word at a time: keys increase with the address within
//!    one order, and a key's order is given by its highest bit, so if the
//!    first and last key of a word have the same order (not above
//!    `max_order`), so do all keys between, and their blocks lie in the span
//!    from the first key's address to the end of the last key's block. If
//!    that span is RAM of one NUMA node, outside the scratch areas and holds
//!    no tree page (a search in the sorted node addresses from where the
//!    last one ended: within one order the spans ascend), every key of the
//!    word passes: one `is_ram()`, one `on_one_node()`, one `in_scratch()`
//!    and one search per word. A word with one key, or one whose span fails
//!    the checks, is checked key by key (decode, order, then the same four
//!    checks on the key's block),
//!    which finds the first faulty key, if any; a failing span alone rejects
//!    nothing. `O(N * E + (W + K_w) * log N)`, where `K_w` counts the keys of
//!    the words checked key by key. In a valid tree, a word with several
//!    keys goes key by key only if it mixes orders (leaf 0 only), or if a tree
//!    page, a scratch area, a node boundary or a gap in RAM (for memblock, a
//!    boundary between two regions) lies between two of its keys. The spans of the words of
//!    one order are disjoint, so that happens in at most `(N + scratch
//!    areas + RAM regions) * P` words. All-zero spans of 32 words are
//!    skipped with one test, as in the tree's walks (`for_each_leaf_word()`).
//! 3. *Overlaps*, only if two orders are present: blocks of one order are
//!    aligned and distinct (every node is reached once, so every key is
//!    listed once), so they never overlap each other, and two aligned
//!    power-of-two blocks overlap only if one contains the other. A walk
//!    records every leaf's number (`key >> BITMAP_SIZE_LOG2`, ascending) in
//!    `scratch`, which no longer needs the node addresses. Then every key
//!    `outer` of an order `h` above the lowest present order is checked from
//!    the bigger side. For every present order `o < h`, nearest first, the
//!    keys of order `o` inside `outer`'s block form one contiguous key range,
//!    from `encode_key(phys, o)` to `encode_key(phys + size - (PAGE_SIZE <<
//!    o), o)`, which is searched for a set key. The search looks only at
//!    leaves that exist: a binary search among the leaf numbers, then each
//!    listed leaf in the range. Per order it remembers the last leaf looked up
//!    (`RangeFinder`), so it costs a compare and the bitmap words inside the
//!    range when consecutive blocks fall into one leaf, and a descent
//!    (`D` `node_ptr()` calls) otherwise. Keys of the lowest present order are
//!    never outer keys, and their leaves are not even read (except leaf 0,
//!    the one leaf that can mix orders). Up to the first overlap found, the
//!    ranges searched for one order `o` are disjoint: outer keys come in key
//!    order, which puts higher orders first, so a block nested in a bigger
//!    one is reported before its own turn. Every leaf therefore lies wholly
//!    inside at most one of them, and each search has at most two partial
//!    leaves at its ends. With `K'` the keys of the orders above the lowest,
//!    `O(K' * P * (log L + D) + L * (E + D + log L))` at worst, whatever the
//!    orders (no loop over leaf numbers that have no leaf). On real trees,
//!    most keys are of the lowest order, and a higher-order key costs a
//!    compare and a few words per lower order (an order-9 block reads 8
//!    words of order-0 keys).
//!
//! Total `O(N * (E + D + log N) + (W + K_w) * log N + K' * P * (log L + D))`:
//! no step is quadratic. Every walk is bounded by `max_nodes` on its own,
//! whatever the memory holds.
//!
//! The error returned is the first fault in that order: a faulty table entry
//! in walk order, else a shared node, else a faulty key in key order, else an
//! overlap: that of the first key in key order whose block holds another key,
//! reported at the inner key of the nearest lower order (the lowest one, if
//! several).

use super::kho_radix_abi::*;
use super::kho_radix_tree::{for_each_leaf_word, key_in_range, next_entry};
use core::mem::MaybeUninit;
use core::ptr::NonNull;

// One file per pass, under kho_radix_validate/; the paths are spelled out
// for the host crates, which include this file with `#[path]` (see
// kho_radix_tree.rs). Each takes what it needs from here (`use super::*`).
#[path = "kho_radix_validate/covering.rs"]
mod covering;
#[path = "kho_radix_validate/keys.rs"]
mod keys;
#[path = "kho_radix_validate/overlaps.rs"]
mod overlaps;
#[path = "kho_radix_validate/structure.rs"]
mod structure;

use {keys::*, overlaps::*, structure::*};

/// What the validator needs to know about physical memory.
///
/// The kernel implements it with memblock queries (`memblock_is_region_memory()`,
/// the `kho_scratch` array) and `phys_to_virt()`; the host tests with a
/// simulated memory arena.
pub trait PhysLayout {
    /// Whether `[start, start + size)` lies entirely in system RAM.
    fn is_ram(&self, start: u64, size: u64) -> bool;

    /// Whether `[start, start + size)`, which [`PhysLayout::is_ram`] accepted,
    /// lies on one NUMA node. Both trackers split preserved blocks at node
    /// boundaries, and the next kernel initialises the pages of a block for
    /// the node of its first page. Without NUMA (the default) every range
    /// does.
    fn on_one_node(&self, _start: u64, _size: u64) -> bool {
        true
    }

    /// Whether `[start, start + size)` overlaps any KHO scratch area.
    fn in_scratch(&self, start: u64, size: u64) -> bool;

    /// Virtual address of the tree page at physical address `phys`, or `None`
    /// for any address the implementation will not let the validator read.
    ///
    /// A `Some(p)` is a promise that `p` is aligned for [`RadixNode`] and valid
    /// for reads of [`PAGE_SIZE`] bytes, and that nothing writes those bytes
    /// for the duration of [`validate_tree`] (see its safety section).
    fn node_ptr(&self, phys: u64) -> Option<NonNull<RadixNode>>;
}

/// Caller-given bounds of a validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Highest number of nodes (tables, root included, plus leaves) to visit;
    /// more is [`ErrorKind::TooManyNodes`]. The scratch buffer passed to
    /// [`validate_tree`] needs this many entries.
    pub max_nodes: usize,
    /// Highest page order a key may have (the kernel passes the larger of
    /// `MAX_PAGE_ORDER` and the order of all of RAM); values above
    /// [`MAX_KEY_ORDER`] act as [`MAX_KEY_ORDER`].
    pub max_order: u32,
}

/// Number of slots in [`Stats::keys_per_order`]: one per order
/// `0..=MAX_KEY_ORDER`.
pub const ORDER_SLOTS: usize = MAX_KEY_ORDER as usize + 1;

/// What a successful validation found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Number of tables, the root included.
    pub tables: usize,
    /// Number of bitmap leaves (empty ones included).
    pub leaves: usize,
    /// Number of keys, i.e. preserved blocks.
    pub keys: u64,
    /// Number of keys of each order; orders above the limit are always 0.
    pub keys_per_order: [u64; ORDER_SLOTS],
}

/// A tree [`validate_tree`] accepted, with the layout it was accepted with.
///
/// Only [`validate_tree`] makes one, so the lookups that are sound only on an
/// accepted tree ([`AcceptedTree::covering_block`],
/// [`AcceptedTree::range_preserved`]) are safe methods: the caller of
/// [`validate_tree`] promised, once, that the tree's memory stays readable
/// and unchanged for as long as this value borrows `layout`.
///
/// # Invariants
///
/// - `root` is what `layout.node_ptr()` returned for the root address of a
///   tree that [`validate_tree`] accepted with `layout` and `max_order`.
/// - The contract of [`validate_tree`]'s `# Safety` section holds for every
///   `node_ptr()` call made through this value, for as long as it lives.
/// - `max_order` is at most [`MAX_KEY_ORDER`].
pub struct AcceptedTree<'a, L: ?Sized> {
    layout: &'a L,
    root: NonNull<RadixNode>,
    max_order: u32,
    stats: Stats,
}

impl<L: ?Sized> AcceptedTree<'_, L> {
    /// What the validation found: node and key counts.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The highest order a key of this tree may have (the validation's
    /// limit, capped at [`MAX_KEY_ORDER`]).
    pub fn max_order(&self) -> u32 {
        self.max_order
    }
}

/// `ValidationError::level` of errors about the root pointer itself (the
/// FDT property) or the call as a whole; one above the root table's level.
pub const ROOT_LEVEL: u32 = TREE_MAX_DEPTH;

/// What is wrong; see [`ValidationError`] for what `value` and `other` hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The root address is zero (no tree).
    RootZero,
    /// The scratch buffer is shorter than [`Limits::max_nodes`]; `value` is its
    /// length, `other` the limit. A caller bug.
    ScratchTooSmall,
    /// A node address is not page-aligned.
    Misaligned,
    /// A node page is not (entirely) in system RAM.
    NotRam,
    /// A node page overlaps a KHO scratch area.
    InScratch,
    /// [`PhysLayout::node_ptr`] refused a node address (or returned a
    /// misaligned pointer).
    Unmapped,
    /// A table entry at an index whose keys would be wider than [`KEY_WIDTH`].
    KeyOutOfRange,
    /// An entry names the table holding it or one of its ancestors; `other`
    /// is the level of that table.
    Cycle,
    /// A node is reached from two table entries; this is the second one.
    SharedNode,
    /// Visiting this entry's node would exceed [`Limits::max_nodes`]; `other`
    /// is the limit.
    TooManyNodes,
    /// A set leaf bit whose key does not decode (no order bit in range).
    BadKey,
    /// A key of an order above [`Limits::max_order`]; `other` is the order.
    OrderTooLarge,
    /// A preserved range that is not (entirely) in system RAM; `other` is its
    /// physical address.
    RangeNotRam,
    /// A preserved range in RAM of two NUMA nodes; `other` is its physical
    /// address.
    RangeAcrossNodes,
    /// A preserved range that overlaps a KHO scratch area; `other` is its
    /// physical address.
    RangeInScratch,
    /// A preserved range inside the block of another key; `other` is that
    /// (higher-order) key. Reported for the first such outer key in key order,
    /// at its inner key of the nearest lower order (the lowest of them).
    Overlap,
    /// A preserved range that covers a page of the tree; `other` is the
    /// physical address of that page.
    CoversNode,
}

impl ErrorKind {
    /// Short lower-case description, for `pr_err()`.
    pub const fn name(self) -> &'static str {
        match self {
            ErrorKind::RootZero => "root address is zero",
            ErrorKind::ScratchTooSmall => "scratch buffer smaller than node limit",
            ErrorKind::Misaligned => "node address not page aligned",
            ErrorKind::NotRam => "node outside system RAM",
            ErrorKind::InScratch => "node inside a scratch area",
            ErrorKind::Unmapped => "node address not mappable",
            ErrorKind::KeyOutOfRange => "table entry beyond key width",
            ErrorKind::Cycle => "cycle in tree",
            ErrorKind::SharedNode => "node shared by two parents",
            ErrorKind::TooManyNodes => "node limit exceeded",
            ErrorKind::BadKey => "key does not decode",
            ErrorKind::OrderTooLarge => "order above maximum",
            ErrorKind::RangeNotRam => "preserved range outside system RAM",
            ErrorKind::RangeAcrossNodes => "preserved range spans NUMA nodes",
            ErrorKind::RangeInScratch => "preserved range inside a scratch area",
            ErrorKind::Overlap => "preserved ranges overlap",
            ErrorKind::CoversNode => "preserved range covers a tree node",
        }
    }

    /// What [`ValidationError::other`] holds for this kind, for `pr_err()`,
    /// or `None` if it holds nothing the key or entry does not already tell
    /// (the order and address of a key's block decode from the key).
    pub const fn context(self) -> Option<&'static str> {
        match self {
            ErrorKind::ScratchTooSmall | ErrorKind::TooManyNodes => Some("limit"),
            ErrorKind::Cycle => Some("ancestor at level"),
            ErrorKind::Overlap => Some("inside key"),
            ErrorKind::CoversNode => Some("tree page"),
            ErrorKind::RootZero
            | ErrorKind::Misaligned
            | ErrorKind::NotRam
            | ErrorKind::InScratch
            | ErrorKind::Unmapped
            | ErrorKind::KeyOutOfRange
            | ErrorKind::SharedNode
            | ErrorKind::BadKey
            | ErrorKind::OrderTooLarge
            | ErrorKind::RangeNotRam
            | ErrorKind::RangeAcrossNodes
            | ErrorKind::RangeInScratch => None,
        }
    }
}

/// Where and why validation failed.
///
/// For table entries, `level` is the level of the table holding the entry
/// (`1..TREE_MAX_DEPTH`, the root table is `TREE_MAX_DEPTH - 1`), `index` the
/// entry's index and `value` the entry. For keys, `level` is 0, `index` the
/// bit in the leaf and `value` the key. For the root pointer and whole-call
/// errors, `level` is [`ROOT_LEVEL`], `index` 0 and `value` the root address.
/// `other` is kind-specific context (see [`ErrorKind`]), else 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidationError {
    /// Tree level of the fault (see above).
    pub level: u32,
    /// Index within the node.
    pub index: usize,
    /// Value at fault: table entry, key or root address.
    pub value: u64,
    /// Kind-specific context, or 0.
    pub other: u64,
    /// What is wrong.
    pub kind: ErrorKind,
}

impl ValidationError {
    /// The negative kernel error code for a rejected tree (`-EINVAL`).
    #[inline]
    pub const fn to_errno(self) -> i32 {
        -22
    }
}

/// Level of the root table.
const TOP_LEVEL: u32 = TREE_MAX_DEPTH - 1;

/// Number of levels, as an array length.
const DEPTH: usize = TREE_MAX_DEPTH as usize;

/// [`PAGE_SIZE`] as `u64`.
const PAGE_BYTES: u64 = PAGE_SIZE as u64;

// Keys rebuilt below the root table's shift always fit in `KEY_WIDTH`, so the
// key-range check is needed at the root table only (done everywhere anyway).
const _: () = assert!(level_shift(TOP_LEVEL) < KEY_WIDTH);
const _: () = assert!(TREE_MAX_DEPTH >= 2);

/// Reads entry `idx` (masked to the table) of `node`.
///
/// # Safety
///
/// `node` came from [`PhysLayout::node_ptr`] under the contract of
/// [`validate_tree`].
#[inline]
unsafe fn read_entry(node: NonNull<RadixNode>, idx: usize) -> u64 {
    // SAFETY: `node` is aligned and readable for `PAGE_SIZE` bytes, which is
    // the size of `RadixNode`; the masked index is within the table.
    unsafe { (*node.as_ptr()).table[idx % TABLE_ENTRIES] }
}

/// Reads word `w` (masked to the bitmap) of the leaf at `node`.
///
/// # Safety
///
/// As for [`read_entry`].
#[inline]
unsafe fn read_word(node: NonNull<RadixNode>, w: usize) -> u64 {
    let leaf = node.cast::<RadixLeaf>();
    // SAFETY: `RadixLeaf` has the size and alignment of `RadixNode`, so the
    // caller's guarantee covers it; the masked index is within the bitmap.
    unsafe { (*leaf.as_ptr()).bitmap[w % BITMAP_WORDS] }
}

/// Whether `p` is aligned for [`RadixNode`] (a power of two).
#[inline]
fn is_node_aligned(p: NonNull<RadixNode>) -> bool {
    (p.as_ptr() as usize) & (core::mem::align_of::<RadixNode>() - 1) == 0
}

/// The first `n` entries of `scratch` as the values written there, or `None`
/// if `scratch` is shorter.
///
/// # Safety
///
/// Each of the first `n` entries of `scratch` was written.
unsafe fn written(scratch: &mut [MaybeUninit<u64>], n: usize) -> Option<&mut [u64]> {
    let s = scratch.get_mut(..n)?;
    // SAFETY: `MaybeUninit<u64>` has the layout of `u64`, and every element
    // of `s` was written (safety requirements), so it holds a valid `u64`.
    Some(unsafe { &mut *(core::ptr::from_mut(s) as *mut [u64]) })
}

/// How many nodes the structure walk records before it first looks for a
/// node recorded twice, and by how much that count grows to the next look.
///
/// A few pages whose entries all lead to one page make a walk as long as
/// the node budget, 4M nodes for 1 TiB of RAM. Looking at 64K nodes, then
/// at 1M and 16M, stops such a walk early. A valid tree pays only if it
/// has more than 64K nodes (256 MiB of tree pages with 4 KiB pages), and
/// then at most about one more sort of its node addresses, 8 bytes per
/// page that the walk reads.
const DUP_CHECK_FIRST: usize = 1 << 16;

/// See [`DUP_CHECK_FIRST`].
const DUP_CHECK_STEP: usize = 16;

/// Sorts `nodes` and returns an address it holds twice, if any.
fn sorted_duplicate(nodes: &mut [u64]) -> Option<u64> {
    heapsort(nodes);
    nodes.windows(2).find_map(|w| match *w {
        [a, b] if a == b => Some(a),
        _ => None,
    })
}

/// The number of nodes (the root, the tables and the leaves) of the tree at
/// `root_phys`, as the structure walk of [`validate_tree`] visits them, or
/// the first fault that walk meets: [`ErrorKind::TooManyNodes`] past
/// `max_nodes`.
///
/// Lets the caller size `scratch` for the tree at hand rather than for the
/// largest tree `max_nodes` allows (the kernel's bound is 1/32768 of RAM,
/// 128 MiB with 4 TiB, which may not fit in the scratch areas while a
/// typical tree has a few dozen nodes). With `Ok(n)`, [`validate_tree`]
/// with [`Limits::max_nodes`] set to `n` and `n` entries of `scratch`
/// returns what it returns with the larger bound, as long as the memory
/// does not change in between. With an error, [`validate_tree`] may report
/// another one first: a node shared by two parents, which only it looks
/// for.
///
/// The walk reads every table entry, as pass 1 does, but no leaf.
///
/// # Safety
///
/// As for [`validate_tree`], until the call returns.
pub unsafe fn count_checked_nodes<L: PhysLayout + ?Sized>(
    layout: &L,
    root_phys: u64,
    max_nodes: usize,
) -> Result<usize, ValidationError> {
    let root = checked_root(layout, root_phys, max_nodes)?;
    // SAFETY: `root` came from `layout.node_ptr(root_phys)`; the caller
    // guarantees the `node_ptr` contract.
    let counts = unsafe { walk_checked(layout, root_phys, root, max_nodes, &mut |_| Ok(())) }?;
    // Both are at most `max_nodes` (the walk's bound): no wrap.
    Ok(counts.tables.wrapping_add(counts.leaves))
}

/// The root at `root_phys`, mapped by `layout.node_ptr()`, if it passes the
/// checks of a node and the walk may visit it.
fn checked_root<L: PhysLayout + ?Sized>(
    layout: &L,
    root_phys: u64,
    max_nodes: usize,
) -> Result<NonNull<RadixNode>, ValidationError> {
    if root_phys == 0 {
        return Err(root_error(ErrorKind::RootZero, 0, 0));
    }
    if max_nodes == 0 {
        return Err(root_error(ErrorKind::TooManyNodes, root_phys, 0));
    }
    check_node(layout, root_phys).map_err(|k| root_error(k, root_phys, 0))
}

/// A [`ValidationError`] about the root pointer.
fn root_error(kind: ErrorKind, value: u64, other: u64) -> ValidationError {
    ValidationError {
        level: ROOT_LEVEL,
        index: 0,
        value,
        other,
        kind,
    }
}

/// Validates the radix tree at physical address `root_phys` handed over by
/// the previous kernel; see the module documentation for what is checked
/// and at what cost.
///
/// `scratch` must hold at least `limits.max_nodes` entries, which need not be
/// initialised (the kernel passes memory it did not clear): the validator
/// writes each entry before it reads it. Its contents on return are
/// unspecified (the sorted node addresses or the leaf numbers, in
/// practice). Returns
/// the [`AcceptedTree`] (its node and key counts, and its lookups), or the
/// first fault found.
///
/// A tree accepted here is a valid tree, in the sense of
/// [`super::kho_radix_tree`], for any `NodeMemory` whose `phys_to_virt()`
/// agrees with `layout.node_ptr()`, and its keys can be reserved without
/// overlap.
///
/// # Safety
///
/// Every `Some(p)` that `layout.node_ptr()` returns during the call, or
/// through the returned [`AcceptedTree`] while it lives, is aligned for
/// [`RadixNode`], valid for reads of [`PAGE_SIZE`] bytes, and not written to
/// until the call returns or, if it returns `Ok`, until that
/// [`AcceptedTree`] is dropped. Nothing else is assumed about the memory:
/// its contents may be arbitrary.
pub unsafe fn validate_tree<'a, L: PhysLayout + ?Sized>(
    layout: &'a L,
    root_phys: u64,
    limits: &Limits,
    scratch: &mut [MaybeUninit<u64>],
) -> Result<AcceptedTree<'a, L>, ValidationError> {
    let max_nodes = limits.max_nodes;
    let max_order = if limits.max_order > MAX_KEY_ORDER {
        MAX_KEY_ORDER
    } else {
        limits.max_order
    };
    if scratch.len() < max_nodes {
        return Err(root_error(
            ErrorKind::ScratchTooSmall,
            scratch.len() as u64,
            max_nodes as u64,
        ));
    }
    let root = checked_root(layout, root_phys, max_nodes)?;

    // Pass 1: structure; record every node address.
    let mut n = 0usize;
    if let Some(slot) = scratch.get_mut(n) {
        slot.write(root_phys);
        n += 1;
    }
    let mut next_check = DUP_CHECK_FIRST;
    let mut record = |v: &Visit| {
        push(scratch, &mut n, v.phys, v, max_nodes)?;
        if n < next_check {
            return Ok(());
        }
        next_check = next_check.saturating_mul(DUP_CHECK_STEP);
        // SAFETY: The root's slot and `push()` wrote each of `scratch[..n]`.
        match unsafe { written(scratch, n) }.and_then(sorted_duplicate) {
            // Stop the walk; the search below finds this node again.
            Some(_) => Err(ValidationError {
                level: v.level,
                index: v.index,
                value: v.phys,
                other: 0,
                kind: ErrorKind::SharedNode,
            }),
            None => Ok(()),
        }
    };
    // SAFETY: `root` came from `layout.node_ptr(root_phys)`; the caller
    // guarantees the `node_ptr` contract.
    let counts = match unsafe { walk_checked(layout, root_phys, root, max_nodes, &mut record) } {
        Ok(counts) => Ok(counts),
        // Past the bound, a node recorded twice is the better report: a
        // few pages whose entries lead to the same page again and again
        // exceed any bound. The search below tells, as it does for the
        // duplicate that stopped the walk at a check.
        Err(e) if matches!(e.kind, ErrorKind::TooManyNodes | ErrorKind::SharedNode) => Err(e),
        Err(e) => return Err(e),
    };

    // SAFETY: The root's slot and `push()` wrote each of `scratch[..n]`.
    let nodes: &mut [u64] = match unsafe { written(scratch, n) } {
        Some(s) => s,
        None => {
            return Err(root_error(
                ErrorKind::TooManyNodes,
                root_phys,
                max_nodes as u64,
            ))
        }
    };
    if let Some(dup) = sorted_duplicate(nodes) {
        // Find and report the entry that reaches `dup` the second time; the
        // root is the first sighting if it is `dup`.
        let mut seen = u32::from(root_phys == dup);
        let mut find = |v: &Visit| -> Result<(), ValidationError> {
            if v.phys == dup {
                seen = seen.saturating_add(1);
                if seen >= 2 {
                    return Err(ValidationError {
                        level: v.level,
                        index: v.index,
                        value: v.phys,
                        other: 0,
                        kind: ErrorKind::SharedNode,
                    });
                }
            }
            Ok(())
        };
        // SAFETY: as for the first walk. It meets the second sighting
        // before the bound, as the first walk recorded both.
        unsafe { walk_checked(layout, root_phys, root, max_nodes, &mut find) }?;
        // Only reachable if `layout` answers differently the second time.
        return Err(root_error(ErrorKind::SharedNode, dup, 0));
    }
    let counts = counts?;
    let nodes: &[u64] = nodes;

    // Pass 2: decode and check every key on its own, a bitmap word at a
    // time where its span allows.
    let mut stats = Stats {
        tables: counts.tables,
        leaves: counts.leaves,
        keys: 0,
        keys_per_order: [0; ORDER_SLOTS],
    };
    let mut finder = NodeFinder::new(nodes);
    let mut check_keys = |v: &Visit| -> Result<(), ValidationError> {
        if v.level != 1 {
            return Ok(());
        }
        let mut check_word = |w: usize, mut bits: u64| -> Result<(), ValidationError> {
            let base = v.prefix | (w * 64) as u64;
            if let Some(order) = word_in_bounds(layout, &mut finder, max_order, base, bits) {
                // Key counts are bounded by `max_nodes * BITMAP_BITS`, far
                // below `u64::MAX`: wrapping adds keep panic paths out.
                let n = u64::from(bits.count_ones());
                if let Some(c) = stats.keys_per_order.get_mut(order as usize) {
                    *c = c.wrapping_add(n);
                }
                stats.keys = stats.keys.wrapping_add(n);
                return Ok(());
            }
            // Key by key: finds the first faulty one, if any.
            while bits != 0 {
                let b = bits.trailing_zeros();
                bits &= bits - 1;
                let bit = w * 64 + b as usize;
                let order = check_key(layout, &mut finder, max_order, bit, base | u64::from(b))?;
                if let Some(c) = stats.keys_per_order.get_mut(order as usize) {
                    *c = c.wrapping_add(1);
                }
                stats.keys = stats.keys.wrapping_add(1);
            }
            Ok(())
        };
        // SAFETY: `v.node` came from `node_ptr`, so it is aligned and
        // readable for a page and not written during the validation
        // (caller); `RadixLeaf` has the layout of `RadixNode`.
        unsafe { for_each_leaf_word(v.node.cast(), &mut check_word) }
    };
    // SAFETY: as for the first walk.
    unsafe { walk_checked(layout, root_phys, root, max_nodes, &mut check_keys) }?;

    // Pass 3: overlaps across orders. Only needed if two orders are present.
    let per_order = stats.keys_per_order;
    let present = |o: u32| per_order.get(o as usize).is_some_and(|&c| c != 0);
    let mut orders = (0..=max_order).filter(|&o| present(o));
    // INVARIANT: `root` is `layout.node_ptr(root_phys)` of the tree accepted
    // here, `max_order` is capped at `MAX_KEY_ORDER` above, and the caller's
    // contract covers the lifetime of the returned value (`# Safety`).
    let accepted = AcceptedTree {
        layout,
        root,
        max_order,
        stats,
    };
    let (Some(lowest), Some(_)) = (orders.next(), orders.next()) else {
        return Ok(accepted);
    };

    // Record the leaf numbers (`key >> BITMAP_SIZE_LOG2`) in `scratch`, in
    // walk order, which is ascending; the node addresses are not needed any
    // more.
    let mut nl = 0usize;
    let mut record_leaf = |v: &Visit| -> Result<(), ValidationError> {
        if v.level != 1 {
            return Ok(());
        }
        push(scratch, &mut nl, v.prefix >> BITMAP_SIZE_LOG2, v, max_nodes)
    };
    // SAFETY: as for the first walk.
    unsafe { walk_checked(layout, root_phys, root, max_nodes, &mut record_leaf) }?;
    // SAFETY: `push()` wrote each of `scratch[..nl]`.
    let leaves: &[u64] = unsafe { written(scratch, nl) }.map_or(&[], |s| &*s);

    // Two aligned power-of-two blocks overlap only if one contains the other,
    // and blocks of one order never overlap (every key is listed once). So
    // for every key `outer` of an order `h` above the lowest present one,
    // look for a key of each present order `o < h` inside its block: those
    // form the contiguous key range `encode_key(phys, o)` to
    // `encode_key(phys + size - (PAGE_BYTES << o), o)`.
    //
    // SAFETY: `root` came from `layout.node_ptr(root_phys)`; the caller
    // guarantees the `node_ptr` contract.
    let mut finder = unsafe { RangeFinder::new(layout, root, leaves) };
    for &p in leaves {
        let base = p << BITMAP_SIZE_LOG2;
        // The keys of a leaf other than leaf 0 all have the order of the
        // leaf's highest key bit; skip leaves with nothing below them.
        if p != 0 {
            if let Some((_, o)) = decode_key(base) {
                if o <= lowest || !present(o) {
                    continue;
                }
            }
        }
        // SAFETY: `root` came from `node_ptr`; the caller guarantees the
        // `node_ptr` contract.
        let Some(leaf) = (unsafe { find_leaf(layout, root, base) }) else {
            continue;
        };
        let mut check_outer = |_bit: usize, outer: u64| -> Result<(), ValidationError> {
            // Pass 2 accepted every key.
            let Some((phys, h)) = decode_key(outer) else {
                return Ok(());
            };
            let mut o = h;
            while o > lowest {
                o -= 1;
                if !present(o) {
                    continue;
                }
                // `phys` is aligned to the block, so the range starts at a
                // key whose low `h - o` bits are zero.
                // `o < h`: saturating only keeps the compiler's overflow
                // check (a panic path) out.
                let lo = encode_key(phys, o);
                let hi = lo
                    | 1u64
                        .checked_shl(h.saturating_sub(o))
                        .map_or(u64::MAX, |b| b - 1);
                if let Some(inner) = finder.first_key(o, lo, hi) {
                    return Err(ValidationError {
                        level: 0,
                        index: bitmap_index(inner),
                        value: inner,
                        other: outer,
                        kind: ErrorKind::Overlap,
                    });
                }
            }
            Ok(())
        };
        // SAFETY: `leaf` came from `node_ptr` (through `find_leaf`).
        unsafe { for_each_key(leaf, base, &mut check_outer) }?;
    }

    Ok(accepted)
}
