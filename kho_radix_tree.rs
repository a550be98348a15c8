// SPDX-License-Identifier: GPL-2.0

//! Algorithmic core of the KHO radix tree.
//!
//! C header: [include/linux/kho_radix_tree.h](srctree/include/linux/kho_radix_tree.h)
//!
//! C implementation: [kernel/liveupdate/kexec_handover.c](srctree/kernel/liveupdate/kexec_handover.c)
//! (`kho_radix_add_key()`, `kho_radix_del_key()`, `kho_radix_walk_tree()`,
//! `kho_radix_destroy_tree()`).
//!
//! The tree is shared with the next kernel, so its layout is fixed by
//! [`super::kho_radix_abi`]; this file only implements the operations on it.
//! It runs in early boot (before the slab allocator exists) as well as later,
//! so it uses `core` only: no `alloc`, no `std`, no `kernel` crate, no
//! recursion (the depth is bounded by [`TREE_MAX_DEPTH`] and every walk keeps
//! an explicit array of that size on the stack) and no panics reachable from
//! keys: every index is masked to its table or bitmap.
//!
//! Locking is the caller's job: the kernel glue wraps each call in the tree
//! mutex, exactly like C.
//!
//! # API
//!
//! ```text
//! pub trait NodeMemory {
//!     fn alloc_node(&mut self) -> Option<NonNull<RadixNode>>;
//!     fn alloc_nodes(&mut self, nodes: &mut [Option<NonNull<RadixNode>>]) -> bool;
//!     unsafe fn free_node(&mut self, node: NonNull<RadixNode>);
//!     fn virt_to_phys(&self, node: NonNull<RadixNode>) -> u64;
//!     fn phys_to_virt(&self, phys: u64) -> NonNull<RadixNode>;
//!     unsafe fn node_word(&self, node: NonNull<RadixNode>) -> Option<&Cell<usize>>;
//!     unsafe fn leaf_word(&self, leaf: NonNull<RadixLeaf>) -> Option<&Cell<usize>>;
//!     fn has_leaf_words(&self) -> bool;
//! }
//! pub enum RadixError { Range, NoMemory, NotPresent }     // .to_errno() -> i32
//! pub const fn key_in_range(key: u64) -> bool;
//! pub fn alloc_root<M>(mem: &mut M) -> Result<NonNull<RadixNode>, RadixError>;
//! pub unsafe fn add_key<M>(mem: &mut M, root: NonNull<RadixNode>, key: u64)
//!     -> Result<(), RadixError>;
//! pub unsafe fn del_key<M>(mem: &mut M, root: NonNull<RadixNode>, key: u64)
//!     -> Result<(), RadixError>;
//! pub unsafe fn del_key_reclaim<M>(mem: &mut M, root: NonNull<RadixNode>, key: u64)
//!     -> Result<(), RadixError>;
//! // The same three with a `cache: &mut TableCache` after `root`, which
//! // remembers the level-1 tables used last across calls:
//! // add_key_cached(), del_key_cached(), del_key_reclaim_cached().
//! pub unsafe fn add_pfn_range<M, F>(mem: &mut M, root: NonNull<RadixNode>,
//!     cache: &mut TableCache, start_pfn: u64, nr_pages: u64, max_order: u32,
//!     split: &mut F) -> Result<(), RadixError>;      // F: FnMut(u64, u32) -> bool
//! pub unsafe fn del_pfn_range<M, F>(/* same */) -> usize;
//! pub unsafe fn del_pfn_range_reclaim<M, F>(/* same */) -> usize;
//! pub unsafe fn contains_key<M>(mem: &M, root: NonNull<RadixNode>, key: u64) -> bool;
//! pub unsafe fn walk<M>(mem: &M, root: NonNull<RadixNode>,
//!     leaf: Option<&mut dyn FnMut(u64) -> i32>,
//!     node: Option<&mut dyn FnMut(u64) -> i32>) -> i32;
//! pub unsafe fn walk_keys<M, F: FnMut(u64) -> i32>(mem: &M, root: NonNull<RadixNode>,
//!     f: &mut F) -> i32;
//! pub unsafe fn walk_keys_desc<M, F: FnMut(u64) -> i32>(/* same, keys descending */) -> i32;
//! pub unsafe fn destroy<M>(mem: &mut M, root: NonNull<RadixNode>);
//! pub unsafe fn count_nodes<M>(mem: &M, root: NonNull<RadixNode>) -> (usize, usize);
//! pub unsafe fn find_wrong_table_count<M>(mem: &M, root: NonNull<RadixNode>)
//!     -> Option<NonNull<RadixNode>>;
//! ```
//!
//! (`M: NodeMemory + ?Sized` everywhere.)
//!
//! # Tree validity
//!
//! The `unsafe` functions take the root of a *valid tree* for `mem`:
//!
//! - `root` points to a [`RadixNode`] at level `TREE_MAX_DEPTH - 1`;
//! - every non-zero entry of a table at level `l >= 2` is an address that
//!   `mem.phys_to_virt()` maps to a [`RadixNode`] at level `l - 1`, and every
//!   non-zero entry of a level-1 table maps to a [`RadixLeaf`];
//! - those pages are valid for reads and writes of `PAGE_SIZE` bytes,
//!   suitably aligned, reachable from the root exactly once, and nothing else
//!   reads or writes them for the duration of the call (the tree lock is held;
//!   walk callbacks do not touch the tree);
//! - functions that free tree nodes ([`del_key_reclaim`], [`destroy`])
//!   additionally need every node below the root, and for [`destroy`] the
//!   root itself, to come from `mem.alloc_node()` or `mem.alloc_nodes()`.
//!   ([`add_key`] only ever frees nodes it allocated itself in the same
//!   call.)
//!
//! A tree restored from the previous kernel is valid for reading once its
//! pages are mapped; it only satisfies the last point if `mem` can free
//! pages it did not allocate itself.

use super::kho_radix_abi::*;
use super::PAGE_SHIFT;
use core::ptr::NonNull;

/// Where tree nodes live.
///
/// The kernel implements this with `get_zeroed_page()`/`memblock_alloc()`,
/// `alloc_pages_bulk()` for a new branch, and `phys_to_virt()`/
/// `virt_to_phys()`; the host tests with a simulated physical memory arena.
pub trait NodeMemory {
    /// Allocates one zeroed, page-aligned, page-sized node; `None` on failure.
    ///
    /// The node must have a non-zero physical address (zero marks an empty
    /// table entry); [`add_key`] treats a node at physical address 0 as an
    /// allocation failure.
    fn alloc_node(&mut self) -> Option<NonNull<RadixNode>>;

    /// Allocates a node, as [`NodeMemory::alloc_node`] does, for each slot
    /// of `nodes`, which are all `None`: all of them, or none.
    ///
    /// Returns `true` with every slot `Some`, or `false` with every slot
    /// `None` and every node allocated here freed again. A new branch of
    /// the tree takes all its nodes from one call, so that memory which
    /// can hand out several pages at the price of one (the kernel's
    /// `alloc_pages_bulk()`) does. The default calls `alloc_node()` for
    /// each slot.
    fn alloc_nodes(&mut self, nodes: &mut [Option<NonNull<RadixNode>>]) -> bool {
        // `all()` stops at the first failure, leaving the slots after it
        // `None`.
        if nodes.iter_mut().all(|slot| {
            *slot = self.alloc_node();
            slot.is_some()
        }) {
            return true;
        }
        // SAFETY: the nodes in `nodes` came from `alloc_node()` above and
        // nothing else has seen them.
        unsafe { free_unlinked(self, nodes) };
        false
    }

    /// Frees a node.
    ///
    /// # Safety
    ///
    /// `node` came from [`NodeMemory::alloc_node`] or
    /// [`NodeMemory::alloc_nodes`] on `self`, was not freed yet, and nothing
    /// references it any more.
    unsafe fn free_node(&mut self, node: NonNull<RadixNode>);

    /// Physical address of a node.
    fn virt_to_phys(&self, node: NonNull<RadixNode>) -> u64;

    /// Node for a physical address stored in a table entry.
    ///
    /// Only computes the address; the tree functions dereference the result
    /// under their own safety contract.
    fn phys_to_virt(&self, phys: u64) -> NonNull<RadixNode>;

    /// A word kept outside the tree for `node`, or `None` if this memory
    /// keeps none for it (the default).
    ///
    /// The tracker keeps the number of non-zero entries of a table there (see
    /// `TableCount`), so that a reclaiming delete knows a table emptied
    /// without reading all of it. For a node from `alloc_node()` or
    /// `alloc_nodes()` the word must read 0 right after it, and nobody but
    /// the tracker may use it until `free_node()`; for any other node the
    /// result must be `None` or a word that nobody else uses. The next kernel
    /// never sees the word, as it is not part of the node.
    ///
    /// # Safety
    ///
    /// `node` is a node of a valid tree for `self` (see the module
    /// documentation) that the caller may write.
    unsafe fn node_word(&self, _node: NonNull<RadixNode>) -> Option<&core::cell::Cell<usize>> {
        None
    }

    /// A word kept outside the tree for `leaf`, in which the tracker keeps
    /// the leaf's witness (see [`del_key_reclaim_cached`]), or `None` if
    /// this memory keeps none for it (the default).
    ///
    /// Only asked for if [`NodeMemory::has_leaf_words`]: a reclaiming delete
    /// (single key or range chunk) that does not find its leaf among the
    /// chunk leaves of its [`TableCache`], as in random order, asks for it
    /// each time. The word may be [`NodeMemory::node_word`] of the leaf. Any
    /// value is safe: the tracker only reads the bitmap word it names,
    /// masked to the leaf, so a word that nobody else writes suffices, and
    /// it need not be cleared.
    ///
    /// # Safety
    ///
    /// `leaf` is a leaf of a valid tree for `self` (see the module
    /// documentation) that the caller may write.
    unsafe fn leaf_word(&self, _leaf: NonNull<RadixLeaf>) -> Option<&core::cell::Cell<usize>> {
        None
    }

    /// Whether [`NodeMemory::leaf_word`] may return words, at the cost of a
    /// few loads; `false` (the default) if it never does, or only at the
    /// cost of a call.
    ///
    /// With leaf words, reclaiming deletes keep each leaf's witness there,
    /// which pays off on hardware, where the tests it replaces mispredict or
    /// wait for the line just written in random order; without, they test
    /// the key's word or the words around the key, which costs fewer
    /// instructions (see [`del_key_reclaim_cached`] and
    /// [`del_pfn_range_reclaim`]). It should be a constant: it is asked on
    /// every such delete.
    fn has_leaf_words(&self) -> bool {
        false
    }
}

/// Frees every node in `nodes` and leaves each slot `None`.
///
/// # Safety
///
/// Every node in `nodes` came from `mem.alloc_node()` or
/// `mem.alloc_nodes()`, was not freed yet, and nothing references it.
unsafe fn free_unlinked<M: NodeMemory + ?Sized>(
    mem: &mut M,
    nodes: &mut [Option<NonNull<RadixNode>>],
) {
    for node in nodes.iter_mut().filter_map(Option::take) {
        // SAFETY: guaranteed by the caller; `take()` frees each once.
        unsafe { mem.free_node(node) };
    }
}

/// The number of non-zero entries of a table, kept in its
/// [`NodeMemory::node_word`]: `n + 1` for `n` entries, or 0 if unknown, in
/// which case only reading the table tells. Unknown are the counts of the
/// root, of tables that memory keeps no word for (the kernel's early-boot
/// `memblock` pages) and of tables not allocated by [`grow_path`].
///
/// Entries are only written when a node is linked (allocated) or unlinked
/// (freed), so counting costs nothing on the per-key paths, and a reclaiming
/// delete that frees a leaf no longer reads each table above it whole to see
/// whether it emptied too.
struct TableCount;

impl TableCount {
    /// Starts counting the entries of `table`, which was just allocated and
    /// has had its first entry written.
    ///
    /// # Safety
    ///
    /// `table` came from `mem.alloc_nodes()` or `mem.alloc_node()`, is linked
    /// into a valid tree for `mem` that the caller may write and has exactly
    /// one non-zero entry.
    unsafe fn first_entry<M: NodeMemory + ?Sized>(mem: &M, table: NonNull<RadixNode>) {
        // SAFETY: guaranteed by the caller.
        if let Some(word) = unsafe { mem.node_word(table) } {
            // INVARIANT: one entry, stored as 2.
            word.set(2);
        }
    }

    /// Records that an entry of `table` just became non-zero.
    ///
    /// # Safety
    ///
    /// `table` is a table of a valid tree for `mem` that the caller may
    /// write.
    unsafe fn linked<M: NodeMemory + ?Sized>(mem: &M, table: NonNull<RadixNode>) {
        // SAFETY: guaranteed by the caller.
        if let Some(word) = unsafe { mem.node_word(table) } {
            if word.get() != 0 {
                // INVARIANT: one more non-zero entry. The count is at most
                // `TABLE_ENTRIES + 1`; wrapping keeps the overflow check, a
                // panic path, out of the object code.
                word.set(word.get().wrapping_add(1));
            }
        }
    }

    /// Records that an entry of `table` was just cleared; returns whether
    /// `table` is now empty, or `None` if its count is unknown.
    ///
    /// # Safety
    ///
    /// As for [`TableCount::linked`].
    unsafe fn unlinked<M: NodeMemory + ?Sized>(mem: &M, table: NonNull<RadixNode>) -> Option<bool> {
        // SAFETY: guaranteed by the caller.
        let word = unsafe { mem.node_word(table) }?;
        if word.get() <= 1 {
            // Unknown, or a count of no entries that cannot be right here:
            // read the table instead.
            return None;
        }
        // INVARIANT: one non-zero entry fewer.
        word.set(word.get() - 1);
        Some(word.get() == 1)
    }
}

/// Errors of the tree operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RadixError {
    /// The key is wider than [`KEY_WIDTH`] bits (`-ERANGE`).
    Range,
    /// A node allocation failed; the tree is unchanged (`-ENOMEM`).
    NoMemory,
    /// A node on the path of the key to delete is missing; C `WARN`s here
    /// (`-ENOENT`).
    NotPresent,
}

impl RadixError {
    /// The negative kernel error code for this error: `-ERANGE`, `-ENOMEM`
    /// or `-ENOENT`.
    #[inline]
    pub const fn to_errno(self) -> i32 {
        match self {
            RadixError::Range => -34,
            RadixError::NoMemory => -12,
            RadixError::NotPresent => -2,
        }
    }
}

/// Level of the root table.
const TOP_LEVEL: u32 = TREE_MAX_DEPTH - 1;

/// Number of levels, as an array length.
const DEPTH: usize = TREE_MAX_DEPTH as usize;

const _: () = assert!(TREE_MAX_DEPTH >= 2);

/// Whether the tree can hold `key`: C's `fls64(key) <= KHO_RADIX_KEY_WIDTH`.
#[inline]
pub const fn key_in_range(key: u64) -> bool {
    64 - key.leading_zeros() <= KEY_WIDTH
}

/// Allocates an empty root table (`kho_radix_init_tree()` with a `NULL` root).
///
/// The result is a valid tree on its own; release it with [`destroy`].
pub fn alloc_root<M: NodeMemory + ?Sized>(mem: &mut M) -> Result<NonNull<RadixNode>, RadixError> {
    // INVARIANT: a zeroed table has no children, which is a valid tree.
    mem.alloc_node().ok_or(RadixError::NoMemory)
}

/// Number of level-1 tables a [`TableCache`] remembers: 512 bytes per tree,
/// 896 with the chunk leaves and their witnesses (C keeps a tree on the
/// stack in `kho_extend_scratch()`, so not much more).
pub const TABLE_CACHE_SLOTS: usize = 32;

/// Multiplier of the slot hash of [`TableCache`]: a de Bruijn sequence of
/// order 5 (`0x077cb531`) in the top half, so that the top five bits of
/// `(1 << b) * TABLE_CACHE_SLOT_MULTIPLIER` differ for each `b` below 32.
const TABLE_CACHE_SLOT_MULTIPLIER: u64 = 0x077c_b531 << 32;

/// Keys with equal bits from here up have their leaves in one level-1 table.
const TABLE_PREFIX_SHIFT: u32 = BITMAP_SIZE_LOG2 + TABLE_SIZE_LOG2;

/// The tag of `key`'s leaf in the chunk leaves of a [`TableCache`]: the
/// complement of `key >> BITMAP_SIZE_LOG2`, never zero (its top
/// `BITMAP_SIZE_LOG2` bits are set), so that a zero tag marks an empty
/// slot and all zeroes stays the empty cache.
#[inline(always)]
const fn leaf_tag(key: u64) -> u64 {
    !(key >> BITMAP_SIZE_LOG2)
}

/// The level-1 tables used last, so that most keys skip the descent.
///
/// A level-1 table points at the leaves of [`TABLE_ENTRIES`] consecutive
/// ranges of [`BITMAP_BITS`] keys of one order: with 4 KiB pages, the
/// order-0 pages of 64 GiB. So pages preserved one after the other, and
/// pages preserved in random order over any realistic range, find their
/// leaf from a cached table: one compare and one load of the table entry
/// instead of `TREE_MAX_DEPTH - 1` dependent loads. Caching the tables
/// rather than the leaves keeps the branch on the hit predictable: a cache
/// of 32 leaves, in random order over 128 leaves, hit a quarter of the
/// time, unpredictably, and the mispredicted branch made random deletes
/// slower than C's full descent on real hardware.
///
/// The cache is direct-mapped on the table's *prefix*, the key bits above
/// the level-1 index (`key >> TABLE_PREFIX_SHIFT`), which names exactly one
/// table of the tree: slot `(prefix + (prefix * M >> 59)) %
/// TABLE_CACHE_SLOTS`, with `M` the `TABLE_CACHE_SLOT_MULTIPLIER`. The
/// order fixes the position of the prefix's top bit (see [`encode_key`]),
/// and the product's top five bits differ for each position (a de Bruijn
/// sequence), so each order's first table has a slot of its own and mixed
/// orders stay cached too; the next tables of an order take the slots after
/// it.
///
/// The range functions ([`add_pfn_range`], [`del_pfn_range`]) also keep the
/// leaf they used last for each order: the chunks of a range have one order
/// each, so each lands in a leaf of its own, and from one range to the next
/// the chunks of an order move through that leaf in address order. Their
/// hit is predictable, one compare finds the leaf, and it saves the slot
/// hash and the load of the table entry. Single-key reclaiming deletes on
/// memory with leaf words use them the same way, after a delete that had
/// to search its leaf (see `del_key_reclaim_by_witness`); other
/// single-key calls do not.
///
/// With each of those leaves the cache keeps a *witness*, the index of a
/// word of the leaf last seen non-zero. While that word is non-zero the leaf
/// cannot have emptied, so a range delete that frees empty nodes reads one
/// word, mostly in the cache, after each chunk, instead of the eight around
/// the chunk's own, which it has just written and the processor may still
/// be fetching (see [`del_pfn_range_reclaim`]). The witness is only a hint:
/// any index is safe to read, and a zero word makes the delete find a new
/// one, in the eight words around the chunk's or else by searching the
/// leaf (`rewitness_or_reclaim()`), which also finds it empty.
///
/// The layout is the C `struct kho_radix_table_cache` that the kernel keeps
/// in `struct kho_radix_tree`, under the tree lock; all zeroes is the empty
/// cache.
///
/// # Invariants
///
/// A cache belongs to one tree. Each slot whose `table` is not null holds
/// the level-1 table on the path of the keys `k` with
/// `k >> TABLE_PREFIX_SHIFT == prefix`, in the slot of that prefix. Each
/// slot whose `leaf_tag` is not zero holds the leaf, not null, of the keys
/// `k` with `leaf_tag(k) == leaf_tag`, and a slot with a null `leaf` has a
/// zero `leaf_tag`. The tree functions keep this when
/// they free tables and leaves; whoever replaces or destroys the tree must
/// [`clear`](TableCache::clear) its cache.
#[repr(C)]
pub struct TableCache {
    prefix: [u64; TABLE_CACHE_SLOTS],
    table: [*mut RadixNode; TABLE_CACHE_SLOTS],
    leaf_tag: [u64; LEAF_CACHE_SLOTS],
    leaf: [*mut RadixLeaf; LEAF_CACHE_SLOTS],
    leaf_witness: [usize; LEAF_CACHE_SLOTS],
}

/// Number of chunk leaves a [`TableCache`] remembers for the range functions:
/// the last leaf of each order, in slot `order % LEAF_CACHE_SLOTS` (single-key
/// reclaiming deletes use the last slot, see `KEY_LEAF_SLOT_ORDER`). A range of
/// fewer than 65536 pages has chunks of orders 0-15 only. With eight slots,
/// the chunks of orders 8-10 of the in-kernel benchmark's ranges of up to
/// 1024 pages evicted those of orders 0-2 in every range, and each eviction
/// restarted the evicted leaf's witness from a word about to be cleared,
/// so that the next chunk looked at the whole leaf: the range unpreserve
/// went from 0.74 to 1.10 of C at 65536 pages under TCG.
pub const LEAF_CACHE_SLOTS: usize = 16;

impl TableCache {
    /// An empty cache.
    pub const fn new() -> Self {
        Self {
            prefix: [0; TABLE_CACHE_SLOTS],
            table: [core::ptr::null_mut(); TABLE_CACHE_SLOTS],
            leaf_tag: [0; LEAF_CACHE_SLOTS],
            leaf: [core::ptr::null_mut(); LEAF_CACHE_SLOTS],
            leaf_witness: [0; LEAF_CACHE_SLOTS],
        }
    }

    /// Forgets every table, for a tree that is replaced or destroyed.
    pub fn clear(&mut self) {
        *self = Self::new();
    }

    /// The slot of the table of prefix `prefix`.
    ///
    /// A multiply, not `prefix.leading_zeros()`: without LZCNT, which the
    /// kernel cannot assume on x86-64, that is a BSR, slow on the AMD host
    /// of the benchmark. With the multiply, random-order deletes with
    /// freeing went from 1.50 to 1.30 of C at 64 KiB pages there, and
    /// preserves in address order from 0.38 to 0.22 at 4 KiB.
    #[inline(always)]
    fn slot(prefix: u64) -> usize {
        let order_offset = prefix.wrapping_mul(TABLE_CACHE_SLOT_MULTIPLIER) >> 59;
        (prefix.wrapping_add(order_offset) % TABLE_CACHE_SLOTS as u64) as usize
    }

    /// The leaf of `key`'s path, if its level-1 table is cached and the leaf
    /// exists.
    ///
    /// # Safety
    ///
    /// The cache belongs to a valid tree for `mem`.
    #[inline]
    unsafe fn leaf<M: NodeMemory + ?Sized>(&self, mem: &M, key: u64) -> Option<NonNull<RadixLeaf>> {
        let prefix = key >> TABLE_PREFIX_SHIFT;
        let slot = Self::slot(prefix);
        let table = match (self.prefix.get(slot), self.table.get(slot)) {
            (Some(&cached), Some(&table)) if cached == prefix => NonNull::new(table)?,
            _ => return None,
        };
        // SAFETY: by the invariant, `table` is the level-1 table of `key`'s
        // path in the cache's tree, which is valid (guaranteed by the caller).
        let entry = unsafe { read_entry(table, table_index(key, 1)) };
        // An entry of a level-1 table is a leaf.
        (entry != 0).then(|| mem.phys_to_virt(entry).cast())
    }

    /// Remembers `table` as the level-1 table of `key`'s path.
    #[inline]
    fn set(&mut self, key: u64, table: NonNull<RadixNode>) {
        let prefix = key >> TABLE_PREFIX_SHIFT;
        let slot = Self::slot(prefix);
        if let (Some(cached_prefix), Some(cached)) =
            (self.prefix.get_mut(slot), self.table.get_mut(slot))
        {
            // INVARIANT: the caller passes the level-1 table of `key`'s path,
            // which goes to the slot of its prefix.
            *cached_prefix = prefix;
            *cached = table.as_ptr();
        }
    }

    /// The leaf of the chunk `key` of order `order`, if the range functions
    /// used it last for that order (empty slots hold a null leaf).
    #[inline(always)]
    fn chunk_leaf(&self, key: u64, order: u32) -> Option<NonNull<RadixLeaf>> {
        let slot = order as usize % LEAF_CACHE_SLOTS;
        if self.leaf_tag.get(slot) != Some(&leaf_tag(key)) {
            return None;
        }
        let leaf = self.leaf.get(slot).copied()?;
        // Not `NonNull::new()`: its test, merged with the tag compare into
        // one branch, took four more instructions on every delete.
        // SAFETY: by the invariant, a slot with a non-zero `leaf_tag`, as
        // `leaf_tag(key)` is, holds a leaf, which is not null.
        Some(unsafe { NonNull::new_unchecked(leaf) })
    }

    /// Remembers `leaf`, the leaf of `key`'s path, as the chunk leaf of
    /// order `order`, with `key`'s word as its witness: after an add that
    /// word holds the key, so a later range delete starts from a good one;
    /// a reclaiming delete that has just cleared the key replaces it at
    /// once from the words around it (see [`del_pfn_range_reclaim`]).
    #[inline(always)]
    fn set_chunk_leaf(&mut self, key: u64, order: u32, leaf: NonNull<RadixLeaf>) {
        let slot = order as usize % LEAF_CACHE_SLOTS;
        if let (Some(tag), Some(cached)) = (self.leaf_tag.get_mut(slot), self.leaf.get_mut(slot)) {
            // INVARIANT: the caller passes the leaf of `key`'s path, which
            // is not null, and the tag of `key`.
            *tag = leaf_tag(key);
            *cached = leaf.as_ptr();
        }
        self.set_witness(order, bitmap_index(key) / 64);
    }

    /// The word of the chunk leaf of order `order` that was last seen
    /// non-zero: a hint, any word index is safe to read.
    #[inline(always)]
    fn witness(&self, order: u32) -> usize {
        let slot = order as usize % LEAF_CACHE_SLOTS;
        self.leaf_witness.get(slot).copied().unwrap_or(0) % BITMAP_WORDS
    }

    /// Remembers word `w` of the chunk leaf of order `order` as non-zero.
    #[inline(always)]
    fn set_witness(&mut self, order: u32, w: usize) {
        let slot = order as usize % LEAF_CACHE_SLOTS;
        if let Some(witness) = self.leaf_witness.get_mut(slot) {
            *witness = w;
        }
    }

    /// Forgets `leaf`, which is about to be freed. Rare enough (a leaf
    /// emptied) to look at every slot rather than work out the order's.
    fn forget_leaf(&mut self, leaf: NonNull<RadixLeaf>) {
        for (tag, cached) in self.leaf_tag.iter_mut().zip(self.leaf.iter_mut()) {
            if *cached == leaf.as_ptr() {
                // INVARIANT: an empty slot, with a zero tag, describes
                // nothing.
                *tag = 0;
                *cached = core::ptr::null_mut();
            }
        }
    }

    /// Forgets `table`, the level-1 table of `key`'s path, which is about to
    /// be freed. A table has one prefix, so it can only sit in that slot.
    fn forget(&mut self, key: u64, table: NonNull<RadixNode>) {
        let slot = Self::slot(key >> TABLE_PREFIX_SHIFT);
        if let Some(cached) = self.table.get_mut(slot) {
            if *cached == table.as_ptr() {
                // INVARIANT: an empty slot describes nothing.
                *cached = core::ptr::null_mut();
            }
        }
    }
}

impl Default for TableCache {
    fn default() -> Self {
        Self::new()
    }
}

/// Reads entry `idx` (masked to the table) of `node`.
///
/// # Safety
///
/// `node` is valid for reads and not written concurrently.
#[inline]
unsafe fn read_entry(node: NonNull<RadixNode>, idx: usize) -> u64 {
    // SAFETY: the caller guarantees `node` is readable; the masked index is
    // within the table, so the place expression does not go out of bounds.
    unsafe { (*node.as_ptr()).table[idx % TABLE_ENTRIES] }
}

/// Writes entry `idx` (masked to the table) of `node`.
///
/// # Safety
///
/// `node` is valid for writes and not accessed concurrently.
#[inline]
unsafe fn write_entry(node: NonNull<RadixNode>, idx: usize, val: u64) {
    // SAFETY: the caller guarantees exclusive access to `node`; the masked
    // index is within the table.
    unsafe { (*node.as_ptr()).table[idx % TABLE_ENTRIES] = val }
}

/// Reads bitmap word `w` (masked to the bitmap) of `leaf`.
///
/// # Safety
///
/// `leaf` is valid for reads and not written concurrently.
#[inline]
unsafe fn read_word(leaf: NonNull<RadixLeaf>, w: usize) -> u64 {
    // SAFETY: the caller guarantees `leaf` is readable; the masked index is
    // within the bitmap.
    unsafe { (*leaf.as_ptr()).bitmap[w % BITMAP_WORDS] }
}

/// Writes bitmap word `w` (masked to the bitmap) of `leaf`.
///
/// # Safety
///
/// `leaf` is valid for writes and not accessed concurrently.
#[inline]
unsafe fn write_word(leaf: NonNull<RadixLeaf>, w: usize, val: u64) {
    // SAFETY: the caller guarantees exclusive access to `leaf`; the masked
    // index is within the bitmap.
    unsafe { (*leaf.as_ptr()).bitmap[w % BITMAP_WORDS] = val }
}

/// First non-zero entry of `node` at index `from` or later, as
/// `(index, entry)`. Also scans the tables of a handed-over tree in
/// [`super::kho_radix_validate`], where most entries are zero.
///
/// # Safety
///
/// `node` is valid for reads and not written concurrently.
#[inline]
pub(super) unsafe fn next_entry(node: NonNull<RadixNode>, from: usize) -> Option<(usize, u64)> {
    let mut i = from;
    while i < TABLE_ENTRIES {
        // Skip all-zero blocks of eight aligned entries at a time.
        if i % BLOCK == 0 && i + BLOCK <= TABLE_ENTRIES {
            // SAFETY: guaranteed by the caller.
            if unsafe { block_is_zero(node.cast(), i) } {
                i += BLOCK;
                continue;
            }
        }
        // SAFETY: guaranteed by the caller.
        let e = unsafe { read_entry(node, i) };
        if e != 0 {
            return Some((i, e));
        }
        i += 1;
    }
    None
}

/// Words per block in the scans that skip all-zero blocks.
const BLOCK: usize = 8;
const _: () = assert!(TABLE_ENTRIES % BLOCK == 0 && BITMAP_WORDS % BLOCK == 0);

/// Whether the eight words of `node` (a table or a leaf) from `first` are
/// all zero.
///
/// # Safety
///
/// `node` is valid for reads and not written concurrently.
#[inline(always)]
unsafe fn block_is_zero(node: NonNull<RadixLeaf>, first: usize) -> bool {
    // SAFETY: guaranteed by the caller.
    unsafe { block_or(node, first) == 0 }
}

/// Whether the eight bitmap words of `leaf` around `key`'s (its aligned
/// block, the one [`node_is_empty`] starts from for `key`'s word) are all
/// zero: the test a single-key reclaiming delete makes before
/// `reclaim_if_empty()`, whose scan then skips that block.
///
/// # Safety
///
/// As for [`block_is_zero`].
#[inline(always)]
unsafe fn key_block_is_zero(leaf: NonNull<RadixLeaf>, key: u64) -> bool {
    // SAFETY: guaranteed by the caller.
    unsafe { block_is_zero(leaf, bitmap_index(key) / 64 / BLOCK * BLOCK) }
}

/// The OR of the eight words of `node` (a table or a leaf) from `first`.
///
/// Written out rather than looped: one straight run of loads and ORs per
/// block instead of a branch per word, which also keeps the scan fast under
/// an emulator that translates code in blocks ending at branches (QEMU TCG).
/// The kernel builds without SIMD, so a loop would stay a loop.
///
/// # Safety
///
/// As for [`block_is_zero`].
#[inline(always)]
unsafe fn block_or(node: NonNull<RadixLeaf>, first: usize) -> u64 {
    // SAFETY: guaranteed by the caller; `read_word` masks the index.
    let w = |i: usize| unsafe { read_word(node, first + i) };
    w(0) | w(1) | w(2) | w(3) | w(4) | w(5) | w(6) | w(7)
}

/// Whether every entry of `node` is zero, looking near entry `near` first.
/// Tables and leaves are both arrays of `PAGE_SIZE / 8` words, so this works
/// for either (for a leaf, `near` is a bitmap word index).
///
/// A reclaiming delete asks this each time it clears a word, and the keys
/// that remain are usually next to the one just deleted: deletes in address
/// order leave them right after it, in reverse order right before it. So
/// the blocks of eight words on either side of `near`'s are checked first,
/// then the spans of 32 words ([`span_blocks_with_keys`], the walks' test)
/// outward from `near`'s, alternately after and before it, which finds a
/// remaining key after as many spans as it is away; a scan from the start
/// would cross the emptied part every time, quadratic in the words of the
/// node. Spans rather than blocks all the way: an empty leaf has to be read
/// whole, and a quarter of the steps made that faster under TCG.
///
/// With `HOME_ZERO`, the caller has just found `near`'s block zero (the
/// single-key reclaiming delete tests it before calling for a leaf), so it
/// is not read on its own again.
///
/// # Safety
///
/// `node` is valid for reads and not written concurrently; with
/// `HOME_ZERO`, `near`'s block of eight entries is zero.
#[inline]
unsafe fn node_is_empty<const HOME_ZERO: bool>(node: NonNull<RadixNode>, near: usize) -> bool {
    const BLOCKS: usize = TABLE_ENTRIES / BLOCK;
    const SPANS: usize = TABLE_ENTRIES / WALK_SPAN;
    let near = near % TABLE_ENTRIES;
    let home = near / BLOCK;
    let block_nonzero = |block: usize| {
        // SAFETY: guaranteed by the caller. `block < BLOCKS` already; the
        // modulo shows the compiler that the product cannot overflow.
        !unsafe { block_is_zero(node.cast(), (block % BLOCKS) * BLOCK) }
    };
    if (!HOME_ZERO && block_nonzero(home))
        || (home + 1 < BLOCKS && block_nonzero(home + 1))
        || (home > 0 && block_nonzero(home - 1))
    {
        return false;
    }
    let home = near / WALK_SPAN;
    let span_nonzero = |span: usize| {
        // SAFETY: guaranteed by the caller. `span < SPANS` already; the
        // modulo shows the compiler that the product cannot overflow.
        unsafe { span_blocks_with_keys(node.cast(), (span % SPANS) * WALK_SPAN) }.is_some()
    };
    for d in 0..SPANS {
        let after = home + d;
        if after < SPANS && span_nonzero(after) {
            return false;
        }
        if d > 0 && d <= home && span_nonzero(home - d) {
            return false;
        }
        if after >= SPANS && d >= home {
            break;
        }
    }
    true
}

/// Adds `key` to the tree (`kho_radix_add_key()`).
///
/// Allocates the missing tables and leaf on the key's path, all before any of
/// them is linked: if an allocation fails, the nodes this call allocated are
/// freed unlinked, so the tree is exactly as before.
///
/// Returns [`RadixError::Range`] for keys wider than [`KEY_WIDTH`] and
/// [`RadixError::NoMemory`] on allocation failure.
///
/// # Safety
///
/// `root` is a valid tree for `mem` (see the module documentation).
pub unsafe fn add_key<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    key: u64,
) -> Result<(), RadixError> {
    // SAFETY: guaranteed by the caller; a new cache belongs to any tree.
    unsafe { add_key_cached(mem, root, &mut TableCache::new(), key) }
}

/// [`add_key`] that starts from the level-1 table `cache` holds for the key,
/// if any, and remembers the key's table there.
///
/// # Safety
///
/// `root` is a valid tree for `mem` (see the module documentation) and
/// `cache` belongs to it.
// Inlined into the kernel's exported functions: a call costs as much as the
// cache hit it wraps.
#[inline(always)]
pub unsafe fn add_key_cached<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
) -> Result<(), RadixError> {
    // SAFETY: guaranteed by the caller.
    let leaf = unsafe { leaf_to_add(mem, root, cache, key) }?;
    // SAFETY: `leaf` is the leaf of `key`'s path (from the cached table, or
    // just found), which the caller lets us access.
    unsafe { set_key_bit(leaf, key) };
    Ok(())
}

/// The leaf in which [`add_key_cached`] sets `key`'s bit: from the table
/// `cache` holds, or found or grown from the root.
///
/// # Safety
///
/// As for [`add_key_cached`].
#[inline(always)]
unsafe fn leaf_to_add<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
) -> Result<NonNull<RadixLeaf>, RadixError> {
    if !key_in_range(key) {
        return Err(RadixError::Range);
    }
    // SAFETY: `cache` belongs to `root`'s tree, guaranteed by the caller.
    match unsafe { cache.leaf(mem, key) } {
        Some(leaf) => Ok(leaf),
        // SAFETY: guaranteed by the caller.
        None => unsafe { grow_leaf_uncached(mem, root, cache, key) },
    }
}

/// The path of [`add_key_cached`] when `cache` has no leaf for `key`:
/// descends from the root, allocating what is missing, and remembers the
/// key's level-1 table in `cache`.
///
/// Out of line: the cache misses only for the first key of a level-1 table
/// and of a new leaf, and under QEMU TCG a shorter exported function more
/// rarely straddles a page, which costs on every call.
///
/// # Safety
///
/// As for [`add_key_cached`], and `key` is in range.
#[cold]
#[inline(never)]
unsafe fn grow_leaf_uncached<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
) -> Result<NonNull<RadixLeaf>, RadixError> {
    // SAFETY: guaranteed by the caller.
    let (table, leaf) = unsafe { leaf_for_key(mem, root, key) }?;
    cache.set(key, table);
    Ok(leaf)
}

/// Sets `key`'s bit in `leaf`.
///
/// # Safety
///
/// `leaf` is the leaf of `key`'s path in a valid tree that the caller may
/// write.
#[inline]
unsafe fn set_key_bit(leaf: NonNull<RadixLeaf>, key: u64) {
    let bit = bitmap_index(key);
    // SAFETY: guaranteed by the caller.
    unsafe {
        let w = read_word(leaf, bit / 64);
        write_word(leaf, bit / 64, w | (1u64 << (bit % 64)));
    }
}

/// Returns the level-1 table and the leaf of `key`'s path, allocating the
/// missing tables and leaf.
///
/// On allocation failure everything allocated by this call is freed and the
/// tree is exactly as before.
///
/// # Safety
///
/// `root` is a valid tree for `mem` and `key` is in range.
#[inline(always)]
unsafe fn leaf_for_key<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    key: u64,
) -> Result<(NonNull<RadixNode>, NonNull<RadixLeaf>), RadixError> {
    // Fast path: descend as far as the path exists; nothing to undo here.
    let mut node = root;
    let mut level = TOP_LEVEL;
    loop {
        // SAFETY: `node` is the root or was reached through valid entries,
        // so it is a table of the tree, which the caller lets us access.
        let entry = unsafe { read_entry(node, table_index(key, level)) };
        if entry == 0 {
            break;
        }
        if level == 1 {
            // An entry of a level-1 table is a leaf.
            return Ok((node, mem.phys_to_virt(entry).cast::<RadixLeaf>()));
        }
        node = mem.phys_to_virt(entry);
        level -= 1;
    }
    // SAFETY: `node` is a table of the tree at `level` on `key`'s path.
    unsafe { grow_path(mem, node, level, key) }
}

/// Allocates the missing part of `key`'s path below the table `node` at
/// `level`, whose entry for `key` is zero, and returns the level-1 table and
/// the new leaf.
///
/// All nodes of the new branch come from one [`NodeMemory::alloc_nodes`]
/// call before any is linked, so on allocation failure the tree is exactly
/// as before and nothing needs undoing.
///
/// # Safety
///
/// `node` is a table at `level >= 1` on `key`'s path in a valid tree for
/// `mem` that the caller may write.
#[cold]
unsafe fn grow_path<M: NodeMemory + ?Sized>(
    mem: &mut M,
    mut node: NonNull<RadixNode>,
    mut level: u32,
    key: u64,
) -> Result<(NonNull<RadixNode>, NonNull<RadixLeaf>), RadixError> {
    // The new branch, one node per level below `level`, top down as C
    // allocates them (so that a memory handing out addresses in order gives
    // both trees the same): `branch[i]` becomes the child of the table at
    // level `level - i`.
    let mut branch: [Option<NonNull<RadixNode>>; DEPTH] = [None; DEPTH];
    // `level <= TOP_LEVEL < DEPTH`, so this is never `None`.
    let new_nodes = branch
        .get_mut(..level as usize)
        .ok_or(RadixError::NoMemory)?;
    if !mem.alloc_nodes(new_nodes) {
        return Err(RadixError::NoMemory);
    }
    // A node at physical address 0 cannot be linked: 0 marks an empty entry.
    if new_nodes
        .iter()
        .flatten()
        .any(|&new| mem.virt_to_phys(new) == 0)
    {
        // SAFETY: the nodes came from `mem.alloc_nodes()` above and are not
        // linked anywhere.
        unsafe { free_unlinked(mem, new_nodes) };
        return Err(RadixError::NoMemory);
    }

    // The level-1 table of the path, once the loop gets there.
    let mut table = node;
    let mut anchored = false;
    // `alloc_nodes()` filled every slot, and there are `level` of them, so
    // `level >= 1` in each round.
    for &new in new_nodes.iter().flatten() {
        let idx = table_index(key, level);
        // INVARIANT: `new` is zeroed, i.e. an empty table at `level - 1` (or
        // an empty leaf when `level == 1`), so linking it keeps the tree valid.
        // SAFETY: `node` is the caller's table or one this call linked into
        // the tree.
        unsafe { write_entry(node, idx, mem.virt_to_phys(new)) };
        // One count update per table, as in the kernel each is a call: the
        // caller's table (not the root, whose count is never kept) has one
        // entry more, a table this call linked its first.
        if !anchored {
            anchored = true;
            if level != TOP_LEVEL {
                // SAFETY: as above.
                unsafe { TableCount::linked(mem, node) };
            }
        } else {
            // SAFETY: `node` came from `mem.alloc_nodes()` in this call, was
            // zeroed and is linked into the tree; `idx` is its only entry.
            unsafe { TableCount::first_entry(mem, node) };
        }
        if level == 1 {
            table = node;
        }
        node = new;
        level = level.wrapping_sub(1);
    }

    // `node` was reached from a level-1 entry of `table`, so it is a leaf.
    Ok((table, node.cast::<RadixLeaf>()))
}

/// The chunks `kho_preserve_pages()` makes of a page range: at each pfn the
/// largest order to which it is aligned that fits before the end, capped and
/// split as [`RangeChunks::next_chunk`] describes.
///
/// Those greedy chunks follow from the range's bits, which lets a chunk's
/// order not wait for the last chunk's: with `h` the highest bit in which
/// `start` and `end` differ, `mid` (`end` with the bits below `h` cleared) is
/// aligned to `1 << h` and `start < mid <= end`. Up to `mid` each chunk is
/// the lowest set bit of what is left of `mid - start` (the pfn stays aligned
/// to it and `mid` is aligned beyond it); from `mid` on it is the highest set
/// bit of what is left of `end - mid` (the pfn is aligned to every bit
/// already taken, each above the rest). Before, the loops chained a `tzcnt`,
/// an `lzcnt` and a compare from one chunk to the next; this took about a
/// tenth off a chunk's time in the host range loops.
struct RangeChunks {
    /// The first pfn of the next chunk.
    pfn: u64,
    /// The end of the range.
    end_pfn: u64,
    /// The sizes of the greedy chunks before `mid` still to come, one bit
    /// each.
    up: u64,
    /// The sizes of the greedy chunks from `mid` on still to come, one bit
    /// each.
    down: u64,
}

impl RangeChunks {
    /// The chunks of `pfn..end_pfn`; none if `pfn >= end_pfn`.
    #[inline(always)]
    fn new(pfn: u64, end_pfn: u64) -> Self {
        if pfn >= end_pfn {
            return Self {
                pfn,
                end_pfn,
                up: 0,
                down: 0,
            };
        }
        // `pfn != end_pfn`, so the XOR has a set bit and `h <= 63`.
        let h = 63 ^ (pfn ^ end_pfn).leading_zeros();
        let mid = end_pfn >> h << h;
        // `pfn < mid <= end_pfn` (see above): wrapping only to keep panic
        // paths out.
        Self {
            pfn,
            end_pfn,
            up: mid.wrapping_sub(pfn),
            down: end_pfn.wrapping_sub(mid),
        }
    }

    /// The first pfn and the order of the next chunk, or `None` after the
    /// last: the greedy order capped at `max_order` and reduced while
    /// `split(pfn, order)` asks for it (the kernel splits chunks that would
    /// cross NUMA nodes), as `kho_preserve_pages()` does.
    #[inline(always)]
    fn next_chunk<F: FnMut(u64, u32) -> bool + ?Sized>(
        &mut self,
        max_order: u32,
        split: &mut F,
    ) -> Option<(u64, u32)> {
        let greedy = if self.up != 0 {
            let order = self.up.trailing_zeros();
            self.up &= self.up.wrapping_sub(1);
            order
        } else if self.down != 0 {
            // `down != 0`: the XOR is `63 - leading_zeros`, at most 63.
            let order = 63 ^ self.down.leading_zeros();
            self.down ^= 1u64 << order;
            order
        } else {
            return None;
        };
        let pfn = self.pfn;
        // The chunks end at `end_pfn` at the latest, so this cannot
        // overflow; wrapping, the exported functions have no panic path.
        self.pfn = pfn.wrapping_add(1u64 << greedy);
        let mut order = greedy.min(max_order);
        while order > 0 && split(pfn, order) {
            order -= 1;
        }
        if order != greedy {
            self.restart(pfn.wrapping_add(1u64 << order));
        }
        Some((pfn, order))
    }

    /// Starts the greedy chunking over at `pfn`, after a chunk smaller than
    /// its greedy order.
    #[cold]
    fn restart(&mut self, pfn: u64) {
        *self = Self::new(pfn, self.end_pfn);
    }
}

/// Calls `f` out of line: for the rare copies of the range loops, which
/// would otherwise be inlined into their exported callers.
#[cold]
#[inline(never)]
fn out_of_line<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// The key of the `order` chunk at `pfn`, or `None` if it cannot be encoded
/// in [`KEY_WIDTH`] bits.
fn pfn_key(pfn: u64, order: u32) -> Option<u64> {
    if pfn >> (64 - PAGE_SHIFT) != 0 {
        return None;
    }
    let key = encode_key(pfn << PAGE_SHIFT, order);
    (key != 0 && key_in_range(key)).then_some(key)
}

/// Whether every chunk of a range that ends before `end_pfn` has a key: if
/// `end_pfn < 1 << (64 - PAGE_SHIFT)`, each chunk's pfn fits an address and
/// its order, at most the log of the range's length, is at most
/// `63 - PAGE_SHIFT` ([`MAX_KEY_ORDER`]), so [`encode_key`] gives a non-zero
/// key in range. (A range of exactly `1 << (64 - PAGE_SHIFT)` pages from pfn
/// 0 is one chunk of order `64 - PAGE_SHIFT`, which has no key.)
#[inline(always)]
fn range_keys_fit(end_pfn: u64) -> bool {
    end_pfn < 1u64 << (64 - PAGE_SHIFT)
}

/// [`pfn_key`] for the chunks of a range; with `keys_fit` (from
/// [`range_keys_fit`]) without its checks, which cost about a tenth of a chunk's
/// time in the range loops on the host.
#[inline(always)]
fn range_key(pfn: u64, order: u32, keys_fit: bool) -> Option<u64> {
    if keys_fit {
        // `encode_key(pfn << PAGE_SHIFT, order)`, which needs no check
        // here; wrapping only to keep panic paths out, the shifts are in
        // range.
        let h = 1u64.wrapping_shl((64 - PAGE_SHIFT).wrapping_sub(order));
        Some(h | pfn.wrapping_shr(order))
    } else {
        pfn_key(pfn, order)
    }
}

/// Adds the keys of the page range `start_pfn..start_pfn + nr_pages`, chunked
/// exactly as `kho_preserve_pages()` chunks it (so the tree is the same as
/// after one [`add_key`] per chunk), descending the tree once per level-1
/// table instead of once per chunk: `cache` keeps the tables of each order,
/// also across calls.
///
/// Chunks are at most `max_order` (63, i.e. no cap, gives exactly the C
/// chunking) and `split` may shrink a chunk, see `RangeChunks::next_chunk()`. On
/// failure the chunks added by this call are deleted again, as
/// `kho_preserve_pages()` does, with [`del_pfn_range_reclaim`], so that the
/// nodes the call allocated are freed too, and the error of the failed chunk
/// is returned.
///
/// # Safety
///
/// As for [`del_key_reclaim`] (a valid tree for `mem` whose nodes below the
/// root all come from `mem.alloc_node()` or `mem.alloc_nodes()`), and `cache`
/// belongs to the tree.
pub unsafe fn add_pfn_range<M: NodeMemory + ?Sized, F: FnMut(u64, u32) -> bool + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    start_pfn: u64,
    nr_pages: u64,
    max_order: u32,
    split: &mut F,
) -> Result<(), RadixError> {
    let end_pfn = start_pfn.checked_add(nr_pages).ok_or(RadixError::Range)?;
    if range_keys_fit(end_pfn) {
        // SAFETY: guaranteed by the caller.
        unsafe { add_chunks::<true, M, F>(mem, root, cache, start_pfn, end_pfn, max_order, split) }
    } else {
        // The rare range that ends at or past the last pfn with a key, in a
        // copy of the loop that checks each chunk's key.
        out_of_line(move || {
            // SAFETY: guaranteed by the caller.
            unsafe {
                add_chunks::<false, M, F>(mem, root, cache, start_pfn, end_pfn, max_order, split)
            }
        })
    }
}

/// The loop of [`add_pfn_range`] over the chunks of `start_pfn..end_pfn`;
/// `KEYS_FIT` is [`range_keys_fit`] of `end_pfn`.
///
/// # Safety
///
/// As for [`add_pfn_range`].
#[inline(always)]
unsafe fn add_chunks<
    const KEYS_FIT: bool,
    M: NodeMemory + ?Sized,
    F: FnMut(u64, u32) -> bool + ?Sized,
>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    start_pfn: u64,
    end_pfn: u64,
    max_order: u32,
    split: &mut F,
) -> Result<(), RadixError> {
    let mut chunks = RangeChunks::new(start_pfn, end_pfn);
    while let Some((pfn, order)) = chunks.next_chunk(max_order, split) {
        let res = match range_key(pfn, order, KEYS_FIT) {
            Some(key) => match cache.chunk_leaf(key, order) {
                Some(leaf) => {
                    // SAFETY: a cached leaf is the leaf of `key`'s path.
                    unsafe { set_key_bit(leaf, key) };
                    Ok(())
                }
                // SAFETY: guaranteed by the caller.
                None => unsafe { add_chunk_uncached(mem, root, cache, key, order) },
            },
            None => Err(RadixError::Range),
        };
        if let Err(err) = res {
            // SAFETY: guaranteed by the caller.
            unsafe {
                del_pfn_range_reclaim(
                    mem,
                    root,
                    cache,
                    start_pfn,
                    // `pfn >= start_pfn`: it only grows from there.
                    pfn.wrapping_sub(start_pfn),
                    max_order,
                    split,
                )
            };
            return Err(err);
        }
    }
    Ok(())
}

/// [`add_key_cached`] for a chunk of [`add_pfn_range`] whose leaf is not in
/// the chunk leaves of `cache`; remembers it there.
///
/// # Safety
///
/// As for [`add_key_cached`].
#[inline(never)]
unsafe fn add_chunk_uncached<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
    order: u32,
) -> Result<(), RadixError> {
    // SAFETY: guaranteed by the caller.
    let leaf = unsafe { leaf_to_add(mem, root, cache, key) }?;
    cache.set_chunk_leaf(key, order, leaf);
    // SAFETY: `leaf` is the leaf of `key`'s path.
    unsafe { set_key_bit(leaf, key) };
    Ok(())
}

/// Deletes the keys [`add_pfn_range`] adds for the same arguments, one
/// descent per leaf. Like [`del_key`], it frees no node. Chunks whose path is
/// missing are skipped; returns how many were.
///
/// # Safety
///
/// `root` is a valid tree for `mem` (see the module documentation) and
/// `cache` belongs to it.
pub unsafe fn del_pfn_range<M: NodeMemory + ?Sized, F: FnMut(u64, u32) -> bool + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    start_pfn: u64,
    nr_pages: u64,
    max_order: u32,
    split: &mut F,
) -> usize {
    // SAFETY: guaranteed by the caller.
    unsafe { del_range::<false, M, F>(mem, root, cache, start_pfn, nr_pages, max_order, split) }
}

/// [`del_pfn_range`] that frees the nodes it empties, as
/// [`del_key_reclaim`] does (`kho_unpreserve_pages()`).
///
/// After each chunk it reads the witness word that `cache` keeps for the
/// chunk's leaf (see [`TableCache`]); only if that word is zero, or the
/// leaf was just looked up, the eight words around the chunk's key; and
/// the rest of the leaf only if those are zero too. Testing the eight words
/// after every chunk made each chunk wait for the cache line its clear had
/// just fetched: on the host with 64 KiB pages, where the tree outgrows the
/// L2 cache, the range delete with freeing took 1.02-1.27 times C's (which
/// frees nothing), against 0.83-1.03 with the witness, and 0.74-0.87
/// against 0.53-0.63 with 4 KiB pages.
///
/// On memory with leaf words ([`NodeMemory::has_leaf_words`]) a leaf just
/// looked up brings the witness kept in its word, and each new witness is
/// kept there too. Ranges deleted in random order mostly look their leaves
/// up, and testing the eight words for each of those kept that case at
/// 1.5-1.7 times C on the host.
///
/// # Safety
///
/// As for [`del_key_reclaim`], and `cache` belongs to the tree.
pub unsafe fn del_pfn_range_reclaim<M: NodeMemory + ?Sized, F: FnMut(u64, u32) -> bool + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    start_pfn: u64,
    nr_pages: u64,
    max_order: u32,
    split: &mut F,
) -> usize {
    // SAFETY: guaranteed by the caller.
    unsafe { del_range::<true, M, F>(mem, root, cache, start_pfn, nr_pages, max_order, split) }
}

/// The body of [`del_pfn_range`] and, with `RECLAIM`,
/// [`del_pfn_range_reclaim`].
///
/// # Safety
///
/// As for [`del_pfn_range`]; with `RECLAIM`, as for
/// [`del_pfn_range_reclaim`].
unsafe fn del_range<
    const RECLAIM: bool,
    M: NodeMemory + ?Sized,
    F: FnMut(u64, u32) -> bool + ?Sized,
>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    start_pfn: u64,
    nr_pages: u64,
    max_order: u32,
    split: &mut F,
) -> usize {
    let end_pfn = start_pfn.saturating_add(nr_pages);
    if range_keys_fit(end_pfn) {
        // SAFETY: guaranteed by the caller.
        unsafe {
            del_chunks::<RECLAIM, true, M, F>(
                mem, root, cache, start_pfn, end_pfn, max_order, split,
            )
        }
    } else {
        // As in `add_pfn_range()`.
        out_of_line(move || {
            // SAFETY: guaranteed by the caller.
            unsafe {
                del_chunks::<RECLAIM, false, M, F>(
                    mem, root, cache, start_pfn, end_pfn, max_order, split,
                )
            }
        })
    }
}

/// The loop of [`del_range`] over the chunks of `start_pfn..end_pfn`;
/// `KEYS_FIT` is [`range_keys_fit`] of `end_pfn`.
///
/// # Safety
///
/// As for [`del_range`].
#[inline(always)]
unsafe fn del_chunks<
    const RECLAIM: bool,
    const KEYS_FIT: bool,
    M: NodeMemory + ?Sized,
    F: FnMut(u64, u32) -> bool + ?Sized,
>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    start_pfn: u64,
    end_pfn: u64,
    max_order: u32,
    split: &mut F,
) -> usize {
    // At most one per chunk, and there are fewer chunks than pfns, so it
    // never saturates; saturating rather than `+=` keeps an overflow check
    // (a panic path) out of the object code.
    let mut missing = 0usize;
    let mut chunks = RangeChunks::new(start_pfn, end_pfn);
    while let Some((pfn, order)) = chunks.next_chunk(max_order, split) {
        let Some(key) = range_key(pfn, order, KEYS_FIT) else {
            missing = missing.saturating_add(1);
            continue;
        };
        let (leaf, looked_up) = match cache.chunk_leaf(key, order) {
            Some(leaf) => (leaf, false),
            // SAFETY: guaranteed by the caller.
            None => match unsafe { find_chunk_leaf_uncached(mem, root, cache, key, order) } {
                Some(leaf) => (leaf, true),
                None => {
                    missing = missing.saturating_add(1);
                    continue;
                }
            },
        };
        // SAFETY: `leaf` is the leaf of `key`'s path in the tree.
        unsafe { clear_key_bit(leaf, key) };
        // The leaf is the chunk leaf of `order` in `cache` now (found there
        // or put there). While its witness word is non-zero, it cannot have
        // emptied. A leaf just looked up has the witness of its leaf word,
        // or none yet without leaf words, and for one whose witness
        // emptied, the words around the key, in the cache line just
        // written, mostly hold a new one.
        if RECLAIM
            && ((looked_up && !mem.has_leaf_words())
                // SAFETY: as above; `read_word` masks the index.
                || unsafe { read_word(leaf, cache.witness(order)) } == 0)
            // SAFETY: guaranteed by the caller; `leaf` is the leaf of
            // `key`'s path and the chunk leaf of `order`.
            && unsafe { rewitness_chunk_leaf(mem, root, cache, key, order, leaf) }.is_err()
        {
            missing = missing.saturating_add(1);
        }
    }
    missing
}

/// The leaf of the chunk `key` of order `order` of [`del_range`] when it is
/// not in the chunk leaves of `cache`, or `None` if `key`'s path is missing;
/// remembers it there, with the witness kept in its leaf word if the memory
/// keeps leaf words, else with `key`'s word.
///
/// # Safety
///
/// `root` is a valid tree for `mem`, `cache` belongs to it and `key` is in
/// range.
#[inline(never)]
unsafe fn find_chunk_leaf_uncached<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
    order: u32,
) -> Option<NonNull<RadixLeaf>> {
    // SAFETY: guaranteed by the caller.
    let leaf = unsafe { leaf_to_clear(mem, root, cache, key) }?;
    cache.set_chunk_leaf(key, order, leaf);
    if mem.has_leaf_words() {
        // SAFETY: `leaf` is a leaf of the tree, which the caller may write.
        if let Some(witness) = unsafe { mem.leaf_word(leaf) } {
            cache.set_witness(order, witness.get());
        }
    }
    Some(leaf)
}

/// Path of a key: `path[l]` is the table at level `l` and the index taken
/// there (`path[0]` unused), plus the leaf.
struct KeyPath {
    path: [(NonNull<RadixNode>, usize); DEPTH],
    leaf: NonNull<RadixLeaf>,
}

/// Finds the path of `key`, or `None` if a table entry on it is zero.
///
/// # Safety
///
/// `root` is a valid tree for `mem`.
unsafe fn find_path<M: NodeMemory + ?Sized>(
    mem: &M,
    root: NonNull<RadixNode>,
    key: u64,
) -> Option<KeyPath> {
    let mut path = [(root, 0usize); DEPTH];
    let mut node = root;
    let mut level = TOP_LEVEL;
    while level > 0 {
        let idx = table_index(key, level);
        if let Some(slot) = path.get_mut(level as usize) {
            *slot = (node, idx);
        }
        // SAFETY: `node` is the root or was reached through valid entries.
        let entry = unsafe { read_entry(node, idx) };
        if entry == 0 {
            return None;
        }
        node = mem.phys_to_virt(entry);
        level -= 1;
    }
    Some(KeyPath {
        path,
        leaf: node.cast(),
    })
}

/// Finds the level-1 table and the leaf of `key`'s path, or `None` if a
/// table entry on it is zero: [`find_path`] without recording the path.
///
/// # Safety
///
/// `root` is a valid tree for `mem`.
#[inline(always)]
unsafe fn find_leaf<M: NodeMemory + ?Sized>(
    mem: &M,
    root: NonNull<RadixNode>,
    key: u64,
) -> Option<(NonNull<RadixNode>, NonNull<RadixLeaf>)> {
    let mut node = root;
    let mut level = TOP_LEVEL;
    loop {
        // SAFETY: `node` is the root or was reached through valid entries.
        let entry = unsafe { read_entry(node, table_index(key, level)) };
        if entry == 0 {
            return None;
        }
        if level == 1 {
            // An entry of a level-1 table is a leaf.
            return Some((node, mem.phys_to_virt(entry).cast()));
        }
        node = mem.phys_to_virt(entry);
        level -= 1;
    }
}

/// The path of [`clear_key_cached`] when `cache` has no leaf for `key`:
/// [`find_leaf`], remembering the key's level-1 table in `cache`. Out of
/// line, as [`grow_leaf_uncached`] is.
///
/// # Safety
///
/// `root` is a valid tree for `mem` and `cache` belongs to it.
#[cold]
#[inline(never)]
unsafe fn find_leaf_uncached<M: NodeMemory + ?Sized>(
    mem: &M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
) -> Option<NonNull<RadixLeaf>> {
    // SAFETY: guaranteed by the caller.
    let (table, leaf) = unsafe { find_leaf(mem, root, key) }?;
    cache.set(key, table);
    Some(leaf)
}

/// Clears the bit of `key` in `leaf`; returns whether the leaf's word became
/// zero.
///
/// # Safety
///
/// `leaf` is a leaf of a valid tree.
#[inline]
unsafe fn clear_key_bit(leaf: NonNull<RadixLeaf>, key: u64) -> bool {
    let bit = bitmap_index(key);
    // SAFETY: guaranteed by the caller.
    unsafe {
        let w = read_word(leaf, bit / 64) & !(1u64 << (bit % 64));
        write_word(leaf, bit / 64, w);
        w == 0
    }
}

/// Removes `key` from the tree (`kho_radix_del_key()`).
///
/// Like C, it only clears the key's bit and never frees nodes, even if they
/// become empty; see [`del_key_reclaim`]. Deleting an absent key whose path
/// exists succeeds.
///
/// Returns [`RadixError::Range`] for keys wider than [`KEY_WIDTH`] (C returns
/// silently) and [`RadixError::NotPresent`] if a table on the key's path is
/// missing (C `WARN`s).
///
/// # Safety
///
/// `root` is a valid tree for `mem` (see the module documentation).
pub unsafe fn del_key<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    key: u64,
) -> Result<(), RadixError> {
    // SAFETY: guaranteed by the caller; a new cache belongs to any tree.
    unsafe { del_key_cached(mem, root, &mut TableCache::new(), key) }
}

/// [`del_key`] that starts from the level-1 table `cache` holds for the key,
/// if any, and remembers the key's table there.
///
/// # Safety
///
/// `root` is a valid tree for `mem` (see the module documentation) and
/// `cache` belongs to it.
// Inlined into the kernel's exported functions: a call costs as much as the
// cache hit it wraps.
#[inline(always)]
pub unsafe fn del_key_cached<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
) -> Result<(), RadixError> {
    // SAFETY: guaranteed by the caller.
    unsafe { clear_key_cached(mem, root, cache, key) }.map(|_| ())
}

/// [`del_key_cached`] that returns `key`'s leaf and whether `key`'s bitmap
/// word emptied, the only case in which the leaf can have emptied.
///
/// # Safety
///
/// As for [`del_key_cached`].
#[inline(always)]
unsafe fn clear_key_cached<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
) -> Result<(NonNull<RadixLeaf>, bool), RadixError> {
    if !key_in_range(key) {
        return Err(RadixError::Range);
    }
    // SAFETY: guaranteed by the caller; `key` is in range.
    let leaf = unsafe { leaf_to_clear(mem, root, cache, key) }.ok_or(RadixError::NotPresent)?;
    // SAFETY: `leaf` is the leaf of `key`'s path in the tree.
    let word_emptied = unsafe { clear_key_bit(leaf, key) };
    Ok((leaf, word_emptied))
}

/// The leaf in which a delete clears `key`'s bit: from the table `cache`
/// holds, or found from the root; `None` if `key`'s path is missing.
///
/// # Safety
///
/// `root` is a valid tree for `mem`, `cache` belongs to it and `key` is in
/// range.
#[inline(always)]
unsafe fn leaf_to_clear<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
) -> Option<NonNull<RadixLeaf>> {
    // SAFETY: `cache` belongs to `root`'s tree, guaranteed by the caller.
    match unsafe { cache.leaf(mem, key) } {
        Some(leaf) => Some(leaf),
        // SAFETY: guaranteed by the caller.
        None => unsafe { find_leaf_uncached(mem, root, cache, key) },
    }
}

/// Removes `key` and frees the nodes this leaves empty.
///
/// Same as [`del_key`], then frees the leaf if it holds no key any more and
/// each table above it that becomes empty, up to but not including the root.
///
/// # Safety
///
/// `root` is a valid tree for `mem` whose nodes below the root all come from
/// `mem.alloc_node()` or `mem.alloc_nodes()` (see the module documentation).
pub unsafe fn del_key_reclaim<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    key: u64,
) -> Result<(), RadixError> {
    // SAFETY: guaranteed by the caller; a new cache belongs to any tree.
    unsafe { del_key_reclaim_cached(mem, root, &mut TableCache::new(), key) }
}

/// [`del_key_reclaim`] that remembers where it was, across calls, in
/// `cache`. Freed level-1 tables and leaves are dropped from `cache`.
///
/// How it learns whether the leaf emptied depends on the memory: with leaf
/// words ([`NodeMemory::has_leaf_words`]) from witnesses, see
/// `del_key_reclaim_by_witness`; otherwise from the key's word, see
/// `del_key_reclaim_by_word`.
///
/// # Safety
///
/// As for [`del_key_reclaim`], and `cache` belongs to the tree.
// Inlined into the kernel's exported functions: a call costs as much as the
// cache hit it wraps.
#[inline(always)]
pub unsafe fn del_key_reclaim_cached<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
) -> Result<(), RadixError> {
    // A constant once `M` is known: each memory compiles one of the two.
    if mem.has_leaf_words() {
        // SAFETY: guaranteed by the caller.
        unsafe { del_key_reclaim_by_witness(mem, root, cache, key) }
    } else {
        // SAFETY: guaranteed by the caller.
        unsafe { del_key_reclaim_by_word(mem, root, cache, key) }
    }
}

/// [`del_key_reclaim_cached`] for memory without leaf words: starts from
/// the level-1 table `cache` holds for the key, and as long as the key's
/// bitmap word keeps another key, nothing can have emptied.
///
/// # Safety
///
/// As for [`del_key_reclaim_cached`].
#[inline(always)]
unsafe fn del_key_reclaim_by_word<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
) -> Result<(), RadixError> {
    // SAFETY: guaranteed by the caller.
    let (leaf, word_emptied) = unsafe { clear_key_cached(mem, root, cache, key) }?;
    // SAFETY: guaranteed by the caller; `leaf` is the leaf of `key`'s path.
    unsafe { reclaim_if_word_emptied(mem, root, cache, key, leaf, word_emptied) }
}

/// After `key`'s bit was cleared in `leaf`, the leaf of its path: frees the
/// leaf if it emptied, and the tables above it that this empties.
///
/// Only a leaf whose word just emptied can have emptied, and mostly another
/// key is in the same eight words, the cache line just written: only if
/// not, check the whole leaf, out of line. Single keys in address order
/// empty their word once in 64 deletes, so the word test is a predictable
/// branch that saves the eight loads. In random order it is not (see
/// [`del_key_reclaim_by_witness`]), but under QEMU TCG, which decides the
/// in-kernel benchmark, a mispredicted branch costs nothing.
///
/// # Safety
///
/// As for [`del_key_reclaim_cached`], `leaf` is the leaf of `key`'s path
/// and `word_emptied` says whether `key`'s word in it is zero.
#[inline(always)]
unsafe fn reclaim_if_word_emptied<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
    leaf: NonNull<RadixLeaf>,
    word_emptied: bool,
) -> Result<(), RadixError> {
    if word_emptied
        // SAFETY: `leaf` is the leaf of `key`'s path in the tree.
        && unsafe { key_block_is_zero(leaf, key) }
    {
        // SAFETY: guaranteed by the caller; `leaf` is the leaf of `key`'s
        // path.
        unsafe { reclaim_if_empty(mem, root, cache, key, leaf) }?;
    }
    Ok(())
}

/// [`del_key_reclaim_cached`] for memory with leaf words.
///
/// A delete in the leaf the previous reclaiming delete used finds it as a
/// range delete finds its chunk's: in the chunk leaves of `cache` (in the
/// slot of [`KEY_LEAF_SLOT_ORDER`]), with one compare, and reads that
/// leaf's witness word there (see [`TableCache`]); while it is non-zero,
/// the leaf holds a key. Otherwise it descends from the key's cached
/// level-1 table, and reads the witness kept for the leaf in its
/// [`NodeMemory::leaf_word`]. Only if the witness word is zero does it look
/// further, out of line, and then the leaf goes to that slot, so that
/// deletes in address order stay on the first path.
///
/// The word test of [`del_key_reclaim_by_word`] mispredicts in random
/// order: in the host benchmark the word emptied in 64% of the deletes,
/// and the branch waited for the cache line that the clear had just
/// fetched. The witness word is mostly in the cache and mostly non-zero.
///
/// # Safety
///
/// As for [`del_key_reclaim_cached`].
#[inline(always)]
unsafe fn del_key_reclaim_by_witness<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
) -> Result<(), RadixError> {
    if !key_in_range(key) {
        return Err(RadixError::Range);
    }
    // Not the key's order: the slot single keys use (see the constant).
    let slot_order = KEY_LEAF_SLOT_ORDER;
    if let Some(leaf) = cache.chunk_leaf(key, slot_order) {
        // SAFETY: by the invariant of `cache`, which belongs to the tree
        // (caller), `leaf` is the leaf of `key`'s path.
        unsafe { clear_key_bit(leaf, key) };
        // SAFETY: as above; `read_word` masks the index.
        if unsafe { read_word(leaf, cache.witness(slot_order)) } != 0 {
            return Ok(());
        }
        // SAFETY: guaranteed by the caller; `leaf` is the leaf of `key`'s
        // path and the chunk leaf of `slot_order`.
        return unsafe { rewitness_key_leaf(mem, root, cache, key, slot_order, leaf) };
    }
    // SAFETY: guaranteed by the caller; `key` is in range.
    let leaf = unsafe { leaf_to_clear(mem, root, cache, key) }.ok_or(RadixError::NotPresent)?;
    // SAFETY: `leaf` is the leaf of `key`'s path in the tree.
    let word_emptied = unsafe { clear_key_bit(leaf, key) };
    // SAFETY: `leaf` is a leaf of the tree, which the caller may write.
    let Some(witness) = (unsafe { mem.leaf_word(leaf) }) else {
        // SAFETY: guaranteed by the caller; `leaf` is the leaf of `key`'s
        // path.
        return unsafe { reclaim_if_word_emptied(mem, root, cache, key, leaf, word_emptied) };
    };
    // SAFETY: as above; `read_word` masks the index.
    if unsafe { read_word(leaf, witness.get()) } != 0 {
        return Ok(());
    }
    cache.set_chunk_leaf(key, slot_order, leaf);
    // SAFETY: guaranteed by the caller; `leaf` is the leaf of `key`'s path
    // and now the chunk leaf of `slot_order`.
    unsafe { rewitness_key_leaf(mem, root, cache, key, slot_order, leaf) }
}

/// The order whose chunk-leaf slot of a [`TableCache`] single-key
/// reclaiming deletes use, whatever the order of their keys: a range has a
/// chunk of order 15 only if it covers 32768 aligned pages, so they rarely
/// meet. Working the key's order out takes a `leading_zeros()`, a BSR on
/// x86-64 without LZCNT: in the host benchmark, on AMD, deletes with
/// freeing in address order took 0.55 / 0.69 / 0.83 of C with it and 0.42
/// / 0.43 / 0.55 without (4 / 16 / 64 KiB pages).
const KEY_LEAF_SLOT_ORDER: u32 = LEAF_CACHE_SLOTS as u32 - 1;

/// [`rewitness_chunk_leaf`] for a single-key delete, out of line: a
/// witness dies rarely.
///
/// # Safety
///
/// As for [`rewitness_chunk_leaf`].
#[cold]
#[inline(never)]
unsafe fn rewitness_key_leaf<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
    order: u32,
    leaf: NonNull<RadixLeaf>,
) -> Result<(), RadixError> {
    // SAFETY: guaranteed by the caller.
    unsafe { rewitness_chunk_leaf(mem, root, cache, key, order, leaf) }
}

/// For a reclaiming delete that has just cleared `key` in `leaf`, the chunk
/// leaf of `order` in `cache`, while the leaf's witness is not known to be
/// non-zero: takes the new witness from the eight words around `key`'s, the
/// cache line the delete has just written, tested without a branch per
/// word; only if they are zero, [`rewitness_or_reclaim`] searches the leaf.
///
/// # Safety
///
/// As for [`del_key_reclaim`], `cache` belongs to the tree, and `leaf` is
/// the leaf of `key`'s path and the chunk leaf of `order` in `cache`.
#[inline(always)]
unsafe fn rewitness_chunk_leaf<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
    order: u32,
    leaf: NonNull<RadixLeaf>,
) -> Result<(), RadixError> {
    let near = bitmap_index(key) / 64;
    let first = near / BLOCK * BLOCK;
    // SAFETY: the leaf is a node of the tree (caller).
    let words = unsafe { block_nonzero_words(leaf, first) };
    if words == 0 {
        // SAFETY: guaranteed by the caller; the eight words of `key`'s block
        // are zero.
        return unsafe { rewitness_or_reclaim(mem, root, cache, key, order, leaf) };
    }
    // SAFETY: as above; the caller may write the tree.
    unsafe {
        set_leaf_witness(
            mem,
            cache,
            order,
            leaf,
            first + farthest_bit(words, near % BLOCK),
        )
    };
    Ok(())
}

/// Remembers word `w` of `leaf`, the chunk leaf of `order` in `cache`, as
/// its witness: in `cache`, and in the leaf's word if the memory keeps
/// leaf words, for the next delete that has to look the leaf up.
///
/// # Safety
///
/// `leaf` is a leaf of a valid tree for `mem` that the caller may write.
#[inline(always)]
unsafe fn set_leaf_witness<M: NodeMemory + ?Sized>(
    mem: &M,
    cache: &mut TableCache,
    order: u32,
    leaf: NonNull<RadixLeaf>,
    w: usize,
) {
    cache.set_witness(order, w);
    if mem.has_leaf_words() {
        // SAFETY: guaranteed by the caller.
        if let Some(witness) = unsafe { mem.leaf_word(leaf) } {
            witness.set(w);
        }
    }
}

/// For a reclaiming delete whose chunk leaf has neither a non-zero witness
/// word nor a non-zero word among the eight around the deleted key's: finds
/// the leaf a new witness, or frees it (and the tables it empties) if it has
/// no non-zero word left.
///
/// The new witness comes from [`nearest_nonzero_span_word`], which reads
/// the fewest words to find the keys nearest to the deleted one, and from
/// there follows a run of spans with keys, so that a delete sweeping the
/// leaf up or down keeps its witness for that run. Taking the farther of
/// the leaf's first and last non-zero words instead kept a sweep's witness
/// to its end, but with ranges deleted in random order each search read the
/// emptied ends of the leaf.
///
/// # Safety
///
/// As for [`reclaim_if_empty`], and `leaf` is the chunk leaf of `order` in
/// `cache`.
#[inline(never)]
unsafe fn rewitness_or_reclaim<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
    order: u32,
    leaf: NonNull<RadixLeaf>,
) -> Result<(), RadixError> {
    // SAFETY: the leaf is a node of the tree (caller).
    let Some(w) = (unsafe { nearest_nonzero_span_word(leaf, bitmap_index(key) / 64) }) else {
        // SAFETY: guaranteed by the caller; the leaf is empty.
        return unsafe { reclaim_empty_leaf(mem, root, cache, key) };
    };
    // SAFETY: as above; the caller may write the tree.
    unsafe { set_leaf_witness(mem, cache, order, leaf, w) };
    Ok(())
}

/// Bit `i` set for each non-zero word `first + i` of the eight of `leaf`
/// from `first`: written out, without a branch per word.
///
/// # Safety
///
/// As for [`block_or`].
#[inline(always)]
unsafe fn block_nonzero_words(leaf: NonNull<RadixLeaf>, first: usize) -> u32 {
    // SAFETY: guaranteed by the caller; `read_word` masks the index.
    let w = |i: usize| u32::from(unsafe { read_word(leaf, first + i) } != 0) << i;
    w(0) | w(1) | w(2) | w(3) | w(4) | w(5) | w(6) | w(7)
}

/// Of the set bits of `mask` (not zero), the one farthest from bit `pos`.
#[inline(always)]
fn farthest_bit(mask: u32, pos: usize) -> usize {
    let (high, low) = (
        (31 ^ mask.leading_zeros()) as usize,
        mask.trailing_zeros() as usize,
    );
    if high.abs_diff(pos) >= low.abs_diff(pos) {
        high
    } else {
        low
    }
}

/// A non-zero word of `leaf` near word `near`, or `None` if `leaf` is
/// empty.
///
/// Searches outward from `near`'s span by spans of [`WALK_SPAN`] words,
/// alternately after and before it, after first. From the first span with
/// keys it goes on in the same direction while the next span has keys too,
/// for up to [`WITNESS_RUN`] more spans, and returns the word farthest from
/// `near` it has seen non-zero: the last of the span it stops at when going
/// up, the first when going down.
///
/// # Safety
///
/// As for [`block_or`].
unsafe fn nearest_nonzero_span_word(leaf: NonNull<RadixLeaf>, near: usize) -> Option<usize> {
    let home = (near % BITMAP_WORDS) / WALK_SPAN;
    // SAFETY: guaranteed by the caller; the modulo keeps the span in `leaf`.
    let blocks_of = |s: usize| unsafe { span_blocks_with_keys(leaf, (s % LEAF_SPANS) * WALK_SPAN) };
    for d in 0..LEAF_SPANS {
        let after = home + d;
        if after < LEAF_SPANS {
            if let Some(blocks) = blocks_of(after) {
                // Follow the run only if what lies before `near` is empty,
                // as it is in a sweep up: with keys on both sides, the
                // deletes are not sweeping, and the run would only cost
                // reads. Up to `d = 1`, the span before `near`'s is not
                // read yet.
                let sweeping = d >= 2 || home == 0 || blocks_of(home - 1).is_none();
                let (mut s, mut blocks) = (after, blocks);
                let last = if sweeping {
                    after.saturating_add(WITNESS_RUN).min(LEAF_SPANS - 1)
                } else {
                    after
                };
                while s < last {
                    let Some(b) = blocks_of(s + 1) else { break };
                    (s, blocks) = (s + 1, b);
                }
                // SAFETY: as above.
                return unsafe { far_word_of_span(leaf, s, blocks, true) };
            }
        }
        if d > 0 && d <= home {
            let before = home - d;
            if let Some(blocks) = blocks_of(before) {
                // The spans from `near`'s to `home + d` were read empty, as
                // in a sweep down: follow the run.
                let (mut s, mut blocks) = (before, blocks);
                let last = before.saturating_sub(WITNESS_RUN);
                while s > last {
                    let Some(b) = blocks_of(s - 1) else { break };
                    (s, blocks) = (s - 1, b);
                }
                // SAFETY: as above.
                return unsafe { far_word_of_span(leaf, s, blocks, false) };
            }
        }
        if after >= LEAF_SPANS && d >= home {
            break;
        }
    }
    None
}

/// Spans of [`WALK_SPAN`] words in a leaf.
const LEAF_SPANS: usize = BITMAP_WORDS / WALK_SPAN;

/// The last non-zero word of span `s` of `leaf` if `up`, else the first,
/// given the blocks of the span with keys (`blocks`, from
/// [`span_blocks_with_keys`]); `None` only if `blocks` was wrong.
///
/// # Safety
///
/// As for [`block_or`].
#[inline(always)]
unsafe fn far_word_of_span(
    leaf: NonNull<RadixLeaf>,
    s: usize,
    blocks: u32,
    up: bool,
) -> Option<usize> {
    const SPAN_BLOCKS: usize = WALK_SPAN / BLOCK;
    let block = if up {
        31 ^ blocks.leading_zeros()
    } else {
        blocks.trailing_zeros()
    } as usize;
    // The modulos only show the compiler what holds anyway (`s` is a span
    // of the leaf and `blocks` has a bit per block of it), which keeps the
    // overflow checks, panic paths, out of the object code.
    let first = (s % LEAF_SPANS) * WALK_SPAN + (block % SPAN_BLOCKS) * BLOCK;
    // SAFETY: guaranteed by the caller.
    let words = unsafe { block_nonzero_words(leaf, first) };
    if words == 0 {
        return None;
    }
    let word = if up {
        31 ^ words.leading_zeros()
    } else {
        words.trailing_zeros()
    } as usize;
    Some(first + word % BLOCK)
}

/// How many spans past the nearest one with keys
/// [`nearest_nonzero_span_word`] follows a run of spans with keys: a
/// witness for 256 more words of a sweep, for up to eight more span reads,
/// which a sweep reads anyway.
const WITNESS_RUN: usize = 8;

/// The rest of a reclaiming delete once the eight bitmap words around
/// `key`'s emptied: frees `key`'s leaf if it holds no key any more, and each
/// table above it that this empties, up to but not including the root, and
/// drops what it frees from `cache`.
///
/// Out of line, so that the common path of a delete stays short: the words
/// empty once in 512 sequential deletes, and under QEMU TCG a longer
/// function more often straddles a page, which costs on every call.
///
/// # Safety
///
/// As for [`del_key_reclaim`], `cache` belongs to the tree, `leaf` is the
/// leaf of `key`'s path and the eight words of `key`'s block in it are zero.
#[cold]
#[inline(never)]
unsafe fn reclaim_if_empty<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
    leaf: NonNull<RadixLeaf>,
) -> Result<(), RadixError> {
    // SAFETY: the leaf is a node of the tree and `key`'s block in it is
    // zero (caller).
    if !unsafe { node_is_empty::<true>(leaf.cast(), bitmap_index(key) / 64) } {
        // Another key keeps the leaf, so nothing is freed.
        return Ok(());
    }
    // SAFETY: guaranteed by the caller; the leaf is empty.
    unsafe { reclaim_empty_leaf(mem, root, cache, key) }
}

/// Frees the leaf of `key`'s path, which has no key left, and each table
/// above it that this empties, up to but not including the root, and drops
/// what it frees from `cache`.
///
/// # Safety
///
/// As for [`reclaim_if_empty`], and the leaf of `key`'s path is empty.
unsafe fn reclaim_empty_leaf<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
) -> Result<(), RadixError> {
    // Find the tables above the leaf, which may empty too.
    // SAFETY: `root` is a valid tree, guaranteed by the caller.
    let kp = unsafe { find_path(mem, root, key) }.ok_or(RadixError::NotPresent)?;

    cache.forget_leaf(kp.leaf);
    // `child` is empty: unlink it from its parent at `level` and free it.
    let mut child = kp.leaf.cast::<RadixNode>();
    let mut level = 1;
    while level <= TOP_LEVEL {
        let Some(&(parent, idx)) = kp.path.get(level as usize) else {
            break;
        };
        // INVARIANT: `child` holds no keys, so dropping it keeps the set of
        // keys and the validity of the tree.
        // SAFETY: `parent` is a table of the tree on the key's path.
        unsafe { write_entry(parent, idx, 0) };
        if level == 2 {
            // `child` is the key's level-1 table; `cache` holds only tables
            // of that level.
            cache.forget(key, child);
        }
        // SAFETY: `child` is below the root, so it came from
        // `mem.alloc_node()` or `mem.alloc_nodes()`; its only link was just
        // cleared and `cache` no longer holds it.
        unsafe { mem.free_node(child) };
        if level == TOP_LEVEL {
            // The root stays, and its count is not kept.
            break;
        }
        // SAFETY: `parent` is a table of the tree.
        let emptied = unsafe { TableCount::unlinked(mem, parent) };
        // Read the table only if its count is unknown.
        // SAFETY: `parent` is a table of the tree.
        if !emptied.unwrap_or_else(|| unsafe { node_is_empty::<false>(parent, idx) }) {
            break;
        }
        child = parent;
        level += 1;
    }
    Ok(())
}

/// Whether `key` is in the tree.
///
/// # Safety
///
/// `root` is a valid tree for `mem` (see the module documentation).
pub unsafe fn contains_key<M: NodeMemory + ?Sized>(
    mem: &M,
    root: NonNull<RadixNode>,
    key: u64,
) -> bool {
    if !key_in_range(key) {
        return false;
    }
    // SAFETY: `root` is a valid tree, guaranteed by the caller.
    let Some(kp) = (unsafe { find_path(mem, root, key) }) else {
        return false;
    };
    let bit = bitmap_index(key);
    // SAFETY: `kp.leaf` is a leaf of the tree.
    let w = unsafe { read_word(kp.leaf, bit / 64) };
    w & (1u64 << (bit % 64)) != 0
}

/// Visits every node in pre-order, tables by ascending index, calling
/// `f(level, node, key_prefix)`; level 0 is a leaf. Stops at and returns the
/// first non-zero result.
///
/// # Safety
///
/// `root` is a valid tree for `mem` and `f` does not modify it.
unsafe fn visit_preorder<M, F>(mem: &M, root: NonNull<RadixNode>, f: &mut F) -> i32
where
    M: NodeMemory + ?Sized,
    F: FnMut(u32, NonNull<RadixNode>, u64) -> i32,
{
    // SAFETY: guaranteed by the caller.
    unsafe { visit_tree::<false, M, F>(mem, root, f) }
}

/// [`visit_preorder`], with tables scanned by descending index if
/// `DESCENDING` (every table still before its children).
///
/// # Safety
///
/// As for [`visit_preorder`].
unsafe fn visit_tree<const DESCENDING: bool, M, F>(
    mem: &M,
    root: NonNull<RadixNode>,
    f: &mut F,
) -> i32
where
    M: NodeMemory + ?Sized,
    F: FnMut(u32, NonNull<RadixNode>, u64) -> i32,
{
    #[derive(Clone, Copy)]
    struct Frame {
        node: NonNull<RadixNode>,
        cursor: usize,
        prefix: u64,
    }
    // Where the scan of a table starts.
    const fn first_cursor(descending: bool) -> usize {
        if descending {
            TABLE_ENTRIES
        } else {
            0
        }
    }

    let err = f(TOP_LEVEL, root, 0);
    if err != 0 {
        return err;
    }

    // INVARIANT: `stack[l]` for `level <= l <= TOP_LEVEL` is the table being
    // scanned at level `l`, its cursor (ascending: the next index to look
    // at; descending: the index below which entries remain) and its key
    // prefix.
    let mut stack = [Frame {
        node: root,
        cursor: first_cursor(DESCENDING),
        prefix: 0,
    }; DEPTH];
    let mut level = TOP_LEVEL;
    loop {
        let Some(frame) = stack.get_mut(level as usize) else {
            return 0;
        };
        // SAFETY: `frame.node` is a table of the tree; `f` does not modify it.
        let next = unsafe {
            if DESCENDING {
                prev_entry(frame.node, frame.cursor)
            } else {
                next_entry(frame.node, frame.cursor)
            }
        };
        let Some((i, entry)) = next else {
            if level == TOP_LEVEL {
                return 0;
            }
            level += 1;
            continue;
        };
        frame.cursor = if DESCENDING { i } else { i + 1 };
        // `level_shift(level) < 64` for table levels (checked in the ABI).
        let prefix = frame.prefix | ((i as u64) << level_shift(level));
        let child = mem.phys_to_virt(entry);

        // `level >= 1`: the stack holds tables only. Saturating rather than
        // checked, so that the walk has no panic path.
        let err = f(level.saturating_sub(1), child, prefix);
        if err != 0 {
            return err;
        }
        if level > 1 {
            level -= 1;
            if let Some(slot) = stack.get_mut(level as usize) {
                *slot = Frame {
                    node: child,
                    cursor: first_cursor(DESCENDING),
                    prefix,
                };
            }
        }
    }
}

/// Words of a leaf the walk tests for keys at once: four blocks, whose ORs
/// are one straight run of 32 loads. Against one block at a time, this
/// took the sparse walks (one key per leaf) from 133-149 to 110-113 ns per
/// leaf on the host, and from 0.60 to 0.46-0.54 of C in the kernel under
/// TCG. 64 words measured slower on both.
///
/// The four ORs are kept apart so that a span with a key re-reads only the
/// blocks that have one: 8 words per key of a sparse leaf instead of 32.
/// That took the host's sparse walk from 110 to 92-98 ns per leaf and its
/// random walk from 6.8 to 6.3 ns per key.
const WALK_SPAN: usize = 4 * BLOCK;
const _: () = assert!(BITMAP_WORDS % WALK_SPAN == 0);

/// Which of the four blocks of the span of `leaf` from `first` have keys, as
/// bits 0-3, or `None` if none has: the test both leaf walks make per span.
///
/// The four ORs stay in registers: an array of them was stored on the stack
/// for every span, keys or not, four stores against the span's 32 loads
/// (under TCG a store costs what a load does). Without them the kernel's
/// sparse walk through a closure went from 615-620 to 570-580 ns per leaf at
/// 65536 pages. Looping over the set bits instead of the four blocks made
/// the host's random walk a quarter slower.
///
/// # Safety
///
/// As for [`block_or`].
#[inline(always)]
unsafe fn span_blocks_with_keys(leaf: NonNull<RadixLeaf>, first: usize) -> Option<u32> {
    // SAFETY: guaranteed by the caller.
    let (b0, b1, b2, b3) = unsafe {
        (
            block_or(leaf, first),
            block_or(leaf, first + BLOCK),
            block_or(leaf, first + 2 * BLOCK),
            block_or(leaf, first + 3 * BLOCK),
        )
    };
    if b0 | b1 | b2 | b3 == 0 {
        return None;
    }
    Some(
        u32::from(b0 != 0)
            | u32::from(b1 != 0) << 1
            | u32::from(b2 != 0) << 2
            | u32::from(b3 != 0) << 3,
    )
}

/// Calls `f(w, bits)` for every non-zero word `w` of `leaf`, `bits` being
/// its value, in ascending order, skipping the all-zero spans as
/// [`walk_leaf_bits`] does; stops at and returns the first error.
///
/// For [`super::kho_radix_validate`], which checks the keys of a handed-over
/// tree a word at a time. Reading every word in turn made checking a tree of
/// one key per leaf 2-4 times as slow as walking it on the host (4K pages:
/// 350 ns per leaf, now 150-185). A span with keys is read again whole, not
/// only its blocks with keys as in the walk: the validator's work per word
/// outweighs the loads, and the block test cost a tenth on dense leaves.
///
/// # Safety
///
/// `leaf` is valid for reads of a page and not written during the call.
#[inline]
pub(super) unsafe fn for_each_leaf_word<E>(
    leaf: NonNull<RadixLeaf>,
    mut f: impl FnMut(usize, u64) -> Result<(), E>,
) -> Result<(), E> {
    for span in 0..BITMAP_WORDS / WALK_SPAN {
        let first = span * WALK_SPAN;
        // SAFETY: guaranteed by the caller.
        if unsafe { span_blocks_with_keys(leaf, first) }.is_none() {
            continue;
        }
        for w in first..first + WALK_SPAN {
            // SAFETY: guaranteed by the caller.
            let bits = unsafe { read_word(leaf, w) };
            if bits != 0 {
                f(w, bits)?;
            }
        }
    }
    Ok(())
}

/// Calls `cb(prefix | bit)` for every set bit of `leaf` in ascending order;
/// stops at and returns the first non-zero result.
///
/// # Safety
///
/// `leaf` is a leaf of a valid tree and `cb` does not modify the tree.
#[inline]
unsafe fn walk_leaf_bits<F: FnMut(u64) -> i32 + ?Sized>(
    leaf: NonNull<RadixLeaf>,
    prefix: u64,
    cb: &mut F,
) -> i32 {
    // Sparse leaves are common (one preserved folio per leaf), so skip
    // all-zero spans of words with one OR over the span; only spans with a
    // key are read a second time. Reading every word once is the floor: the
    // bitmap is the only record of the keys.
    for span in 0..BITMAP_WORDS / WALK_SPAN {
        let first = span * WALK_SPAN;
        // SAFETY: guaranteed by the caller.
        let Some(nonzero) = (unsafe { span_blocks_with_keys(leaf, first) }) else {
            continue;
        };
        for b in 0..WALK_SPAN / BLOCK {
            if nonzero & (1 << b) == 0 {
                continue;
            }
            // SAFETY: guaranteed by the caller.
            let err = unsafe { walk_block_bits(leaf, first + b * BLOCK, prefix, cb) };
            if err != 0 {
                return err;
            }
        }
    }
    0
}

/// Calls `cb(prefix | bit)` for every set bit of the eight words of `leaf`
/// from `first` in ascending order; stops at and returns the first non-zero
/// result.
///
/// # Safety
///
/// As for [`walk_leaf_bits`].
#[inline(always)]
unsafe fn walk_block_bits<F: FnMut(u64) -> i32 + ?Sized>(
    leaf: NonNull<RadixLeaf>,
    first: usize,
    prefix: u64,
    cb: &mut F,
) -> i32 {
    for i in first..first + BLOCK {
        // SAFETY: guaranteed by the caller.
        let mut bits = unsafe { read_word(leaf, i) };
        while bits != 0 {
            let b = bits.trailing_zeros();
            bits &= bits - 1;
            let err = cb(prefix | ((i as u64) * 64 + u64::from(b)));
            if err != 0 {
                return err;
            }
        }
    }
    0
}

/// Walks the tree (`kho_radix_walk_tree()`).
///
/// Visits in exactly the C order: `node(phys)` for a table before its
/// children, `node(phys)` for a leaf before its keys, then `leaf(key)` for
/// each key of the leaf; keys come in ascending order. Either callback may be
/// absent. The walk stops at the first non-zero callback result and returns
/// it; 0 means the whole tree was visited.
///
/// # Safety
///
/// `root` is a valid tree for `mem` (see the module documentation) and the
/// callbacks do not modify it.
pub unsafe fn walk<M: NodeMemory + ?Sized>(
    mem: &M,
    root: NonNull<RadixNode>,
    mut leaf: Option<&mut dyn FnMut(u64) -> i32>,
    mut node: Option<&mut dyn FnMut(u64) -> i32>,
) -> i32 {
    let mut visit = |level: u32, n: NonNull<RadixNode>, prefix: u64| -> i32 {
        if let Some(cb) = node.as_deref_mut() {
            let err = cb(mem.virt_to_phys(n));
            if err != 0 {
                return err;
            }
        }
        match leaf.as_deref_mut() {
            // SAFETY: level 0 nodes are leaves of the tree; the callbacks do
            // not modify the tree (guaranteed by the caller).
            Some(cb) if level == 0 => unsafe { walk_leaf_bits(n.cast(), prefix, cb) },
            _ => 0,
        }
    };
    // SAFETY: `root` is a valid tree; `visit` only reads it and calls the
    // callbacks, which do not modify it.
    unsafe { visit_preorder(mem, root, &mut visit) }
}

/// Calls `f(key)` for every key of the tree in ascending order; stops at and
/// returns the first non-zero result, 0 means every key was visited.
///
/// [`walk`] without the node callback, for Rust callers: `f` is a type
/// parameter, so the call per key is direct and inlined, where [`walk`] (and
/// C) make an indirect call per key.
///
/// # Safety
///
/// `root` is a valid tree for `mem` (see the module documentation) and `f`
/// does not modify it.
pub unsafe fn walk_keys<M, F>(mem: &M, root: NonNull<RadixNode>, f: &mut F) -> i32
where
    M: NodeMemory + ?Sized,
    F: FnMut(u64) -> i32,
{
    // SAFETY: guaranteed by the caller.
    unsafe { walk_keys_in::<false, M, F>(mem, root, f) }
}

/// Calls `f(key)` for every key of the tree in *descending* order; stops at
/// and returns the first non-zero result, 0 means every key was visited.
///
/// The keys of one order, in descending order, are blocks in descending
/// physical address order. The next kernel reserves the preserved blocks in
/// memblock in this order: `memblock_reserve()` and the flag update after it
/// scan `memblock.reserved` from its lowest region up to the new block, so
/// blocks reserved from the top down each stop the scan at once, where in
/// ascending order every scan crosses all blocks reserved before. For 4096
/// scattered blocks under QEMU TCG that took the reservation walk from 166
/// to 45 ms (see Documentation/performance.rst).
///
/// # Safety
///
/// `root` is a valid tree for `mem` (see the module documentation) and `f`
/// does not modify it.
pub unsafe fn walk_keys_desc<M, F>(mem: &M, root: NonNull<RadixNode>, f: &mut F) -> i32
where
    M: NodeMemory + ?Sized,
    F: FnMut(u64) -> i32,
{
    // SAFETY: guaranteed by the caller.
    unsafe { walk_keys_in::<true, M, F>(mem, root, f) }
}

/// The body of [`walk_keys`] and, with `DESCENDING`, [`walk_keys_desc`].
///
/// # Safety
///
/// As for [`walk_keys`].
unsafe fn walk_keys_in<const DESCENDING: bool, M, F>(
    mem: &M,
    root: NonNull<RadixNode>,
    f: &mut F,
) -> i32
where
    M: NodeMemory + ?Sized,
    F: FnMut(u64) -> i32,
{
    let mut visit = |level: u32, n: NonNull<RadixNode>, prefix: u64| -> i32 {
        if level != 0 {
            return 0;
        }
        // SAFETY: level 0 nodes are leaves of the tree; `f` does not modify
        // the tree (guaranteed by the caller).
        unsafe {
            if DESCENDING {
                walk_leaf_bits_desc(n.cast(), prefix, f)
            } else {
                walk_leaf_bits(n.cast(), prefix, f)
            }
        }
    };
    // SAFETY: `root` is a valid tree; `visit` only reads it and calls `f`.
    unsafe { visit_tree::<DESCENDING, M, _>(mem, root, &mut visit) }
}

/// The highest index `i < end` of a non-zero entry of `node`, and the entry.
///
/// # Safety
///
/// As for [`read_entry`].
unsafe fn prev_entry(node: NonNull<RadixNode>, end: usize) -> Option<(usize, u64)> {
    let mut i = end.min(TABLE_ENTRIES);
    while i > 0 {
        // Skip all-zero blocks of eight aligned entries at a time. (A
        // non-zero multiple of `BLOCK` is at least `BLOCK`; the test says
        // so to the compiler, which then needs no underflow check.)
        if i % BLOCK == 0 && i >= BLOCK {
            // SAFETY: guaranteed by the caller.
            if unsafe { block_is_zero(node.cast(), i - BLOCK) } {
                i -= BLOCK;
                continue;
            }
        }
        i -= 1;
        // SAFETY: guaranteed by the caller.
        let e = unsafe { read_entry(node, i) };
        if e != 0 {
            return Some((i, e));
        }
    }
    None
}

/// Calls `cb(prefix | bit)` for every set bit of `leaf` in descending order;
/// stops at and returns the first non-zero result.
///
/// The mirror of [`walk_leaf_bits`], spans of [`WALK_SPAN`] words included:
/// this is the next kernel's reservation walk (patch 0052), which reads
/// leaves the previous kernel left, sparse ones too. The two share the span
/// test ([`span_blocks_with_keys`]) but not their loops: one body with a
/// `DESCENDING` parameter, the span and block indices counted down, made
/// this walk 799 instead of 631 ns per leaf at 65536 pages in the kernel
/// (1162 instead of 751 at 1048576), the ascending one unchanged.
///
/// # Safety
///
/// As for [`walk_leaf_bits`].
unsafe fn walk_leaf_bits_desc<F: FnMut(u64) -> i32 + ?Sized>(
    leaf: NonNull<RadixLeaf>,
    prefix: u64,
    cb: &mut F,
) -> i32 {
    for span in (0..BITMAP_WORDS / WALK_SPAN).rev() {
        let first = span * WALK_SPAN;
        // SAFETY: guaranteed by the caller.
        let Some(nonzero) = (unsafe { span_blocks_with_keys(leaf, first) }) else {
            continue;
        };
        for b in (0..WALK_SPAN / BLOCK).rev() {
            if nonzero & (1 << b) == 0 {
                continue;
            }
            // SAFETY: guaranteed by the caller.
            let err = unsafe { walk_block_bits_desc(leaf, first + b * BLOCK, prefix, cb) };
            if err != 0 {
                return err;
            }
        }
    }
    0
}

/// Calls `cb(prefix | bit)` for every set bit of the eight words of `leaf`
/// from `first` in descending order; stops at and returns the first non-zero
/// result.
///
/// # Safety
///
/// As for [`walk_leaf_bits`].
#[inline(always)]
unsafe fn walk_block_bits_desc<F: FnMut(u64) -> i32 + ?Sized>(
    leaf: NonNull<RadixLeaf>,
    first: usize,
    prefix: u64,
    cb: &mut F,
) -> i32 {
    for i in (first..first + BLOCK).rev() {
        // SAFETY: guaranteed by the caller.
        let mut bits = unsafe { read_word(leaf, i) };
        while bits != 0 {
            // The highest set bit: `63 - leading_zeros()` for the non-zero
            // `bits`, written so that no underflow check (a panic path) is
            // generated for the zero it never is.
            let b = 63 ^ bits.leading_zeros();
            bits &= !(1u64 << b);
            // `i * 64 + b`, as a shift: `i < BITMAP_WORDS`, but the compiler
            // does not see it here and would check a product.
            let err = cb(prefix | ((i as u64) << 6 | u64::from(b)));
            if err != 0 {
                return err;
            }
        }
    }
    0
}

/// Counts the nodes of the tree as `(tables, leaves)`; the root counts as a
/// table.
///
/// # Safety
///
/// `root` is a valid tree for `mem` (see the module documentation).
pub unsafe fn count_nodes<M: NodeMemory + ?Sized>(
    mem: &M,
    root: NonNull<RadixNode>,
) -> (usize, usize) {
    let (mut tables, mut leaves) = (0usize, 0usize);
    let mut count = |level: u32, _: NonNull<RadixNode>, _: u64| -> i32 {
        // Bounded by the nodes in memory; wrapping keeps the overflow
        // check's panic path out of the object code.
        if level == 0 {
            leaves = leaves.wrapping_add(1);
        } else {
            tables = tables.wrapping_add(1);
        }
        0
    };
    // SAFETY: `root` is a valid tree; `count` does not touch it.
    unsafe { visit_preorder(mem, root, &mut count) };
    (tables, leaves)
}

/// Checks the counts the tracker keeps in [`NodeMemory::node_word`]: returns
/// the first table (in preorder) whose known count is not its number of
/// non-zero entries, or `None` if all are right. For tests.
///
/// # Safety
///
/// `root` is a valid tree for `mem`, which the caller may write.
pub unsafe fn find_wrong_table_count<M: NodeMemory + ?Sized>(
    mem: &M,
    root: NonNull<RadixNode>,
) -> Option<NonNull<RadixNode>> {
    let mut wrong = None;
    let mut check = |level: u32, node: NonNull<RadixNode>, _: u64| -> i32 {
        if level == 0 {
            return 0;
        }
        // SAFETY: `node` is a table of the tree, which the caller may write.
        let known = match unsafe { mem.node_word(node) } {
            Some(word) if word.get() != 0 => word.get() - 1,
            _ => return 0,
        };
        let mut entries = 0;
        let mut from = 0;
        // SAFETY: as above.
        while let Some((i, _)) = unsafe { next_entry(node, from) } {
            entries += 1;
            from = i + 1;
        }
        if known == entries {
            return 0;
        }
        wrong = Some(node);
        1
    };
    // SAFETY: `root` is a valid tree; `check` does not modify it.
    unsafe { visit_preorder(mem, root, &mut check) };
    wrong
}

/// Frees every node of the tree, root included (`kho_radix_destroy_tree()`).
///
/// Children are freed before their table, like C.
///
/// # Safety
///
/// `root` is a valid tree for `mem` whose nodes, root included, all come from
/// `mem.alloc_node()` or `mem.alloc_nodes()`; nothing uses the tree
/// afterwards.
pub unsafe fn destroy<M: NodeMemory + ?Sized>(mem: &mut M, root: NonNull<RadixNode>) {
    // INVARIANT: `stack[l]` for `level <= l <= TOP_LEVEL` is the table at
    // level `l` being emptied and the next index to look at.
    let mut stack = [(root, 0usize); DEPTH];
    let mut level = TOP_LEVEL;
    loop {
        let Some(frame) = stack.get_mut(level as usize) else {
            return;
        };
        let (node, next) = *frame;
        // SAFETY: `node` is a table of the tree that is not freed yet: tables
        // are freed only once all their entries were visited.
        match unsafe { next_entry(node, next) } {
            None => {
                // SAFETY: every child of `node` was freed already and its
                // parent's scan has moved past it, so nothing uses it.
                unsafe { mem.free_node(node) };
                if level == TOP_LEVEL {
                    return;
                }
                level += 1;
            }
            Some((i, entry)) => {
                frame.1 = i + 1;
                let child = mem.phys_to_virt(entry);
                // `level` is never 0 here (a level-1 table's children are
                // freed, not descended into); `<=` lets the compiler see
                // that the `-= 1` below cannot underflow.
                if level <= 1 {
                    // SAFETY: `child` is a leaf reached exactly once; its
                    // parent's scan moves past it and it is never read again.
                    unsafe { mem.free_node(child) };
                } else {
                    level -= 1;
                    if let Some(slot) = stack.get_mut(level as usize) {
                        *slot = (child, 0);
                    }
                }
            }
        }
    }
}
