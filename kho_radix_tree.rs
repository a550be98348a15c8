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
//! [`super::kho_radix_abi`]; this module only implements the operations on
//! it, one job per file (see *Files*). It runs in early boot (before the
//! slab allocator exists) as well as later, so it uses `core` only: no
//! `alloc`, no `std`, no `kernel` crate, no recursion (the depth is bounded
//! by [`TREE_MAX_DEPTH`] and every walk keeps an explicit array of that size
//! on the stack) and no panics reachable from keys: every index is masked to
//! its table or bitmap.
//!
//! Locking is the caller's job: the kernel glue wraps each call in the tree
//! mutex, exactly like C.
//!
//! # Files
//!
//! This file holds what every operation needs: the [`NodeMemory`] trait,
//! the table counts, [`RadixError`] and [`alloc_root`]. The operations are
//! in `kho_radix_tree/`:
//!
//! - `node.rs`: entries and bitmap words read and written masked to their
//!   node, the block scans that skip zero words, whether a node is empty;
//! - `table_cache.rs`: [`TableCache`];
//! - `add.rs`, `lookup.rs`, `delete.rs`: adding, finding and deleting single
//!   keys;
//! - `reclaim.rs`: deletes that free the nodes they empty;
//! - `range.rs`: page ranges, added and deleted one descent per leaf;
//! - `walk.rs`, `destroy.rs`: visiting, counting and freeing the whole tree.
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
//! - the [`NodeMemory::node_word`] of every table below the root (the
//!   root's is never read) is 0 or the table's number of non-zero entries
//!   plus one (see `TableCount`): the reclaiming deletes
//!   free a table when its count drops to none, and the ascending walks stop
//!   scanning a table once they have visited that many entries;
//! - functions that free tree nodes (the reclaiming deletes
//!   [`del_key_reclaim`], [`del_key_reclaim_cached`] and
//!   [`del_pfn_range_reclaim`], [`add_pfn_range`] when it rolls back, and
//!   [`destroy()`]) additionally need every node below the root, and for
//!   [`destroy()`] the root itself, to come from `mem.alloc_node()` or
//!   `mem.alloc_nodes()`. ([`add_key`] only ever frees nodes it allocated
//!   itself in the same call.)
//! - a tree has one [`TableCache`] at a time: those functions update the
//!   cache they are passed (the uncached ones a fresh one) and no other, so
//!   another cache of the same tree must be [`TableCache::clear`]ed before
//!   it is used again after any of them.
//!
//! A tree restored from the previous kernel is valid for reading once its
//! pages are mapped and `mem` keeps no words for them (or only words that
//! read 0); it only satisfies the point on freeing if `mem` can free pages
//! it did not allocate itself.

use super::kho_radix_abi::*;
use super::PAGE_SHIFT;
use core::ptr::NonNull;

// One file per job, under kho_radix_tree/. The paths are spelled out because
// the host crates include this file with `#[path]`, which would otherwise
// look for its modules next to it rather than in kho_radix_tree/. Each
// module takes what it needs from here (`use super::*`), where the glob
// imports below make the items the modules share visible to each other.
#[path = "kho_radix_tree/add.rs"]
mod add;
#[path = "kho_radix_tree/delete.rs"]
mod delete;
#[path = "kho_radix_tree/destroy.rs"]
mod destroy;
#[path = "kho_radix_tree/lookup.rs"]
mod lookup;
#[path = "kho_radix_tree/node.rs"]
mod node;
#[path = "kho_radix_tree/range.rs"]
mod range;
#[path = "kho_radix_tree/reclaim.rs"]
mod reclaim;
#[path = "kho_radix_tree/table_cache.rs"]
mod table_cache;
#[path = "kho_radix_tree/walk.rs"]
mod walk;

use {add::*, delete::*, lookup::*, node::*, reclaim::*};

pub use add::{add_key, add_key_cached};
pub use delete::{del_key, del_key_cached};
pub use destroy::destroy;
pub use lookup::contains_key;
pub use range::{add_pfn_range, del_pfn_range, del_pfn_range_reclaim};
pub use reclaim::{del_key_reclaim, del_key_reclaim_cached};
pub use table_cache::{TableCache, LEAF_CACHE_SLOTS, PARKED_WITNESS_SLOTS, TABLE_CACHE_SLOTS};
pub use walk::{count_nodes, find_wrong_table_count, walk, walk_keys, walk_keys_desc};

// For the validator of a handed-over tree, kho_radix_validate.rs.
pub(super) use node::next_entry;
pub(super) use walk::for_each_leaf_word;

/// Where tree nodes live.
///
/// The kernel implements this with `get_zeroed_page()`/`memblock_alloc()`,
/// `alloc_pages_bulk()` for a new branch, and `phys_to_virt()`/
/// `virt_to_phys()`; the host tests with a simulated physical memory arena.
///
/// # Safety
///
/// The tree functions' `unsafe` code relies on what the methods below
/// promise, so an implementation must keep it:
///
/// - a node from [`NodeMemory::alloc_node`], or from
///   [`NodeMemory::alloc_nodes`] when it returns `true` (with every slot
///   `Some`), is a zeroed, page-aligned page of `PAGE_SIZE` bytes, valid for
///   reads and writes until it is freed and used by nothing else;
/// - [`NodeMemory::phys_to_virt`] maps [`NodeMemory::virt_to_phys`] of such
///   a node back to it;
/// - the words of [`NodeMemory::node_word`] and [`NodeMemory::leaf_word`]
///   are as their documentation says: `node_word()` of a freshly allocated
///   node reads 0, and nobody but the tracker uses either word.
pub unsafe trait NodeMemory {
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
        let mut got = 0;
        for slot in nodes.iter_mut() {
            *slot = self.alloc_node();
            if slot.is_none() {
                break;
            }
            got += 1;
        }
        if got == nodes.len() {
            return true;
        }
        // Only the slots filled above: a caller that broke the contract
        // with a node in a later slot keeps it.
        if let Some(allocated) = nodes.get_mut(..got) {
            // SAFETY: the nodes in `allocated` came from `alloc_node()`
            // above and nothing else has seen them.
            unsafe { free_unlinked(self, allocated) };
        }
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
    /// result must be `None`, or a word that nobody else uses and that holds
    /// 0 or the count the tracker keeps (see *Tree validity* in the module
    /// documentation). The next kernel never sees the word, as it is not
    /// part of the node.
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
    /// Only asked for if [`NodeMemory::has_leaf_words`], and only for a tree
    /// with more leaves than its [`TableCache`] parks witnesses for
    /// ([`TableCache::has_many_leaves`]): then a reclaiming range delete
    /// asks for it after each chunk, a single-key one each time it does not
    /// find its leaf among the chunk leaves of its cache, as in random
    /// order. The word may be [`NodeMemory::node_word`] of the leaf. Any
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
    /// With leaf words, reclaiming deletes in a tree of more leaves than its
    /// cache has parked slots keep each leaf's witness in its word, where
    /// it stays the leaf's own; without, leaves share the parked slots, and
    /// a leaf mostly finds another leaf's witness, a word of its own that
    /// is zero, so that the delete searches (see `leaf_witness()`). It
    /// should be a constant: it is asked on every such delete.
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
/// `memblock` pages) and of tables not allocated by `grow_path()` (`add.rs`).
///
/// Entries are only written when a node is linked (allocated) or unlinked
/// (freed), so counting costs nothing on the per-key paths, and a reclaiming
/// delete that frees a leaf no longer reads each table above it whole to see
/// whether it emptied too.
///
/// # Invariants
///
/// The [`NodeMemory::node_word`] of every table of the tree is 0 or its
/// number of non-zero entries plus one. Every write of a table entry that
/// links or unlinks a node goes through these functions, and a table that
/// memory keeps no word for has no count.
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

    /// The number of non-zero entries of `table`, or `None` if unknown.
    ///
    /// # Safety
    ///
    /// `table` is a table of a valid tree for `mem` (see the module
    /// documentation).
    #[inline]
    unsafe fn entries<M: NodeMemory + ?Sized>(mem: &M, table: NonNull<RadixNode>) -> Option<usize> {
        // SAFETY: nothing else accesses a valid tree during the call (module
        // documentation), so the caller has the access `node_word()` asks
        // for; the word is only read.
        let word = unsafe { mem.node_word(table) }?.get();
        // A count above a full table cannot be right: unknown, as 0 is.
        (1..=TABLE_ENTRIES + 1).contains(&word).then(|| word - 1)
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
    /// A node allocation failed (`-ENOMEM`). After a single-key add the tree
    /// is unchanged; after a range add, the chunks before the failing one
    /// are deleted again, whether or not this call added them, as
    /// `kho_preserve_pages()` does.
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
/// The result is a valid tree on its own; release it with [`destroy()`].
pub fn alloc_root<M: NodeMemory + ?Sized>(mem: &mut M) -> Result<NonNull<RadixNode>, RadixError> {
    // INVARIANT: a zeroed table has no children, which is a valid tree.
    mem.alloc_node().ok_or(RadixError::NoMemory)
}
