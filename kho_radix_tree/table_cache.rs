// SPDX-License-Identifier: GPL-2.0

//! The cache of level-1 tables and chunk leaves that lets most keys
//! skip the descent from the root.

use super::*;

/// Number of level-1 tables a [`TableCache`] remembers: 512 bytes per tree,
/// 1416 with the chunk leaves, their witnesses, the parked witnesses and
/// the count of leaves.
/// The cache lives in every `struct kho_radix_tree`; no tree is kept on a
/// C stack since patch 0059, but a one-shot call still builds a cache on
/// the Rust stack.
pub const TABLE_CACHE_SLOTS: usize = 32;

// The size the docs above give, on 64-bit.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(core::mem::size_of::<TableCache>() == 1416);

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
/// The range functions ([`add_pfn_range`], and [`del_pfn_range_reclaim`]
/// when it looks for a new witness) also keep the leaf they used last for
/// each order: the chunks of a range have one order each, so each lands in
/// a leaf of its own, and from one range to the next the chunks of an
/// order move through that leaf in address order. Their hit is
/// predictable, one compare finds the leaf, and it saves the slot hash and
/// the load of the table entry. Not so for ranges deleted in random order,
/// so range deletes never look there first (see `del_chunk_by_table`).
/// Single-key reclaiming deletes use them the same way, after a delete
/// that had to search its leaf (see [`del_key_reclaim_cached`]), and a
/// single-key add that misses the cache in a tree of one leaf leaves that
/// leaf there for them (see `add_key_uncached()`); other single-key calls
/// do not.
///
/// With each of those leaves the cache keeps a *witness*, the index of a
/// word of the leaf last seen non-zero. While that word is non-zero the leaf
/// cannot have emptied, so a delete that frees empty nodes reads one word,
/// mostly in the cache, instead of the eight around the key's own, which it
/// has just written and the processor may still be fetching (see
/// [`del_pfn_range_reclaim`]). The witness is only a hint: any index is
/// safe to read, and a zero word makes the delete find a new one, in the
/// eight words around the key's or else by searching the leaf
/// (`rewitness_or_reclaim()`), which also finds it empty. Deletes read
/// the witness of a leaf they looked up: *parked* in the cache, in a slot
/// picked by the leaf's address, while the tree has at most as many leaves
/// as the cache has slots (the cache counts them, see
/// [`TableCache::has_many_leaves`]); another leaf's witness in the same
/// slot is a hint like any other. Beyond, kept in the leaf's word
/// ([`NodeMemory::leaf_word`]) if the memory has one, as the kernel has
/// with `CONFIG_SPARSEMEM_VMEMMAP` (see `leaf_witness()`). Before, the
/// kernel's deletes kept a witness only
/// with a chunk leaf, and a leaf that came back to the chunk leaves had
/// only the word of the chunk just deleted, mostly emptied: in random
/// order over many leaves of an order, they searched the leaf for another
/// non-zero word after most deletes of a low-order chunk.
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
/// zero `leaf_tag`. A parked witness and the count of leaves may be any
/// value. The tree functions
/// keep this when they free tables and leaves; whoever replaces or destroys
/// the tree must [`clear`](TableCache::clear) its cache.
#[repr(C)]
pub struct TableCache {
    prefix: [u64; TABLE_CACHE_SLOTS],
    table: [*mut RadixNode; TABLE_CACHE_SLOTS],
    leaf_tag: [u64; LEAF_CACHE_SLOTS],
    leaf: [*mut RadixLeaf; LEAF_CACHE_SLOTS],
    leaf_witness: [usize; LEAF_CACHE_SLOTS],
    parked_witness: [u16; PARKED_WITNESS_SLOTS],
    leaves: usize,
}

/// Number of witnesses a [`TableCache`] parks for the leaves of a tree of
/// at most this many leaves, or of more on memory without leaf words, in
/// slot `(leaf address / leaf size) %
/// PARKED_WITNESS_SLOTS`: by the leaf's page frame number, as tree pages
/// are mostly allocated one after the other, so that up to this many
/// leaves mostly have slots of their own (the in-kernel benchmark's ranges
/// over 4 GiB have 68 leaves, the host benchmark's random keys at 4 KiB
/// pages 128).
///
/// 512 bytes. With 64 slots, natively at 4 KiB pages, those random keys'
/// single-key deletes took 1.57 of C without leaf words and its random
/// ranges 0.82; with 256, 0.93 and 0.69. 128 slots had first taken the
/// frame of `kho_extend_scratch()`, which kept a tree on its stack, past
/// `CONFIG_FRAME_WARN` (1280 bytes) with lockdep; since patch 0059 that
/// tree is static.
pub const PARKED_WITNESS_SLOTS: usize = 256;

// A witness, a word index of a leaf, fits a parked slot.
const _: () = assert!(BITMAP_WORDS <= 1 << u16::BITS);

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
            parked_witness: [0; PARKED_WITNESS_SLOTS],
            leaves: 0,
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
    pub(super) unsafe fn leaf<M: NodeMemory + ?Sized>(
        &self,
        mem: &M,
        key: u64,
    ) -> Option<NonNull<RadixLeaf>> {
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
    pub(super) fn set(&mut self, key: u64, table: NonNull<RadixNode>) {
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
    pub(super) fn chunk_leaf(&self, key: u64, order: u32) -> Option<NonNull<RadixLeaf>> {
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
    pub(super) fn set_chunk_leaf(&mut self, key: u64, order: u32, leaf: NonNull<RadixLeaf>) {
        let slot = order as usize % LEAF_CACHE_SLOTS;
        if let (Some(tag), Some(cached)) = (self.leaf_tag.get_mut(slot), self.leaf.get_mut(slot)) {
            // INVARIANT: the caller passes the leaf of `key`'s path, which
            // is not null, and the tag of `key`.
            *tag = leaf_tag(key);
            *cached = leaf.as_ptr();
        }
        self.set_witness(order, bitmap_index(key) / 64);
    }

    /// The witness parked for `leaf` (or for another leaf in its slot).
    #[inline(always)]
    pub(super) fn parked_witness(&self, leaf: NonNull<RadixLeaf>) -> usize {
        usize::from(
            self.parked_witness
                .get(parked_slot(leaf.as_ptr()))
                .copied()
                .unwrap_or(0),
        )
    }

    /// Parks word `w` of `leaf` as its witness.
    #[inline(always)]
    pub(super) fn park_witness(&mut self, leaf: NonNull<RadixLeaf>, w: usize) {
        if let Some(parked) = self.parked_witness.get_mut(parked_slot(leaf.as_ptr())) {
            // No truncation: a word index is below `BITMAP_WORDS`, which
            // fits (see the assertion by `PARKED_WITNESS_SLOTS`).
            *parked = (w % BITMAP_WORDS) as u16;
        }
    }

    /// The word of the chunk leaf of order `order` that was last seen
    /// non-zero: a hint, any word index is safe to read.
    #[inline(always)]
    pub(super) fn witness(&self, order: u32) -> usize {
        let slot = order as usize % LEAF_CACHE_SLOTS;
        self.leaf_witness.get(slot).copied().unwrap_or(0) % BITMAP_WORDS
    }

    /// Remembers word `w` of the chunk leaf of order `order` as non-zero.
    #[inline(always)]
    pub(super) fn set_witness(&mut self, order: u32, w: usize) {
        let slot = order as usize % LEAF_CACHE_SLOTS;
        if let Some(witness) = self.leaf_witness.get_mut(slot) {
            *witness = w;
        }
    }

    /// Counts a leaf that the tree grew (see [`TableCache::has_many_leaves`]).
    #[inline(always)]
    pub(super) fn count_new_leaf(&mut self) {
        self.leaves = self.leaves.saturating_add(1);
    }

    /// Counts a leaf that the tree freed.
    #[inline(always)]
    pub(super) fn count_freed_leaf(&mut self) {
        self.leaves = self.leaves.saturating_sub(1);
    }

    /// Whether the tree has grown more leaves through this cache, less those
    /// it freed, than it has [`PARKED_WITNESS_SLOTS`], so that its leaves
    /// cannot all park their witnesses in slots of their own: then deletes
    /// keep them in the leaves' words, if the memory has them (see
    /// `leaf_witness()`). Only a hint: the count starts from 0 with a new
    /// cache, whatever the tree it is given.
    #[inline(always)]
    pub fn has_many_leaves(&self) -> bool {
        self.leaves > PARKED_WITNESS_SLOTS
    }

    /// Whether the tree has grown exactly one leaf through this cache, less
    /// those it freed. Only a hint, as for [`TableCache::has_many_leaves`].
    #[inline(always)]
    pub(super) fn has_one_leaf(&self) -> bool {
        self.leaves == 1
    }

    /// Forgets `leaf`, which is about to be freed. Rare enough (a leaf
    /// emptied) to look at every slot rather than work out the order's.
    pub(super) fn forget_leaf(&mut self, leaf: NonNull<RadixLeaf>) {
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
    pub(super) fn forget(&mut self, key: u64, table: NonNull<RadixNode>) {
        let slot = Self::slot(key >> TABLE_PREFIX_SHIFT);
        if let Some(cached) = self.table.get_mut(slot) {
            if *cached == table.as_ptr() {
                // INVARIANT: an empty slot describes nothing.
                *cached = core::ptr::null_mut();
            }
        }
    }
}

/// The slot of the parked witness of `leaf` in a [`TableCache`].
#[inline(always)]
fn parked_slot(leaf: *mut RadixLeaf) -> usize {
    (leaf as usize / core::mem::size_of::<RadixLeaf>()) % PARKED_WITNESS_SLOTS
}

impl Default for TableCache {
    fn default() -> Self {
        Self::new()
    }
}
