// SPDX-License-Identifier: GPL-2.0

//! Where the kernel keeps the tracker's tree nodes: whole pages in the
//! direct map, from `memblock` in early boot and from the page allocator
//! afterwards, through the `__ref` C helpers of `kho_radix_glue.c`.

use super::kho_radix_abi::{self, RadixNode};
use super::kho_radix_tree::NodeMemory;
use core::cell::Cell;
use core::ptr::NonNull;
use kernel::{
    bindings,
    prelude::*,
    sync::atomic::{
        Atomic,
        Relaxed, //
    }, //
};

/// Tree nodes in the kernel's direct map.
///
/// Pages come from `memblock` before the slab allocator is up and from the
/// page allocator afterwards, like the C tracker's `kho_radix_alloc_node()`.
/// Table entries are physical addresses; since the direct map is linear, they
/// convert to and from node addresses with one addition (C's `phys_to_virt()`
/// and `virt_to_phys()` for direct-mapped pages).
pub(crate) struct KernelNodes {
    /// `phys_to_virt(p) - p`, the same for every direct-mapped `p`.
    pub(crate) offset: usize,
    /// Whether every node of the tree is this tracker's, so that it may keep
    /// counts in their `page->private` (`KHO_RADIX_OWNS_NODES` of the tree,
    /// see [`super::kho_radix_init_tree`]). Not for a tree it adopted, whose
    /// pages belong to others.
    pub(crate) owns_nodes: bool,
}

/// The bit of a tree's `direct_map_offset` word that says it owns its nodes
/// (`KHO_RADIX_OWNS_NODES`). The offset is page aligned, so the bit is
/// free. One word for both, because under QEMU TCG a load of a flag of its
/// own, beside the offset, took the per-page preserve of the in-kernel
/// benchmark from 0.67 to 1.12 times C's, with the code otherwise the same.
const OWNS_NODES: usize = bindings::KHO_RADIX_OWNS_NODES as usize;

/// [`KernelNodes::offset`], read from C on first use; 0 until then. It holds
/// a boot-time constant, stored (always the same value) before its first use
/// on each CPU, so relaxed ordering suffices. Trees carry a copy
/// (`direct_map_offset`, set by [`super::kho_radix_init_tree`]), so the
/// per-page paths read that instead.
static DIRECT_MAP_OFFSET: Atomic<usize> = Atomic::new(0);

impl KernelNodes {
    /// Node memory of this kernel, for nodes it allocates.
    pub(crate) fn new() -> Self {
        let mut offset = DIRECT_MAP_OFFSET.load(Relaxed);
        if offset == 0 {
            // SAFETY: The helper has no preconditions. The direct map does
            // not move once C and Rust code that reaches here runs (KASLR
            // places it in `setup_arch()`), so caching it is fine.
            offset = unsafe { bindings::kho_radix_rs_direct_map_offset() } as usize;
            DIRECT_MAP_OFFSET.store(offset, Relaxed);
        }
        Self {
            offset,
            owns_nodes: true,
        }
    }

    /// Node memory of `tree`, with the offset the tree carries: one plain
    /// load, where [`KernelNodes::new`] costs a call.
    ///
    /// # Safety
    ///
    /// `tree` points to a valid `struct kho_radix_tree` and the caller holds
    /// its lock (or otherwise has exclusive access to it).
    #[inline]
    pub(crate) unsafe fn for_tree(tree: *mut bindings::kho_radix_tree) -> Self {
        // SAFETY: `tree` is valid for reads; the field only changes in
        // `kho_radix_init_tree()`, which nobody runs concurrently.
        let word = unsafe { (*tree).direct_map_offset };
        if word == 0 {
            // A tree that `kho_radix_init_tree()` did not set up: whose
            // nodes they are is unknown.
            return Self {
                owns_nodes: false,
                ..Self::new()
            };
        }
        Self::from_tree_word(word)
    }

    /// Node memory of a tree whose `direct_map_offset` word, as
    /// [`KernelNodes::tree_word`] made it, is `word`.
    #[inline(always)]
    pub(crate) fn from_tree_word(word: usize) -> Self {
        Self {
            offset: word & !OWNS_NODES,
            owns_nodes: word & OWNS_NODES != 0,
        }
    }

    /// Whether the offset is page aligned, as the direct map's is, so that
    /// [`KernelNodes::tree_word`] can borrow its bit 0.
    pub(crate) fn offset_is_page_aligned(&self) -> bool {
        self.offset % kernel::page::PAGE_SIZE == 0
    }

    /// The `direct_map_offset` word of a tree with this node memory: the
    /// offset, with `KHO_RADIX_OWNS_NODES` if the tree owns its nodes. Only
    /// meaningful if [`KernelNodes::offset_is_page_aligned`].
    pub(crate) fn tree_word(&self) -> usize {
        self.offset | if self.owns_nodes { OWNS_NODES } else { 0 }
    }
}

// `kho_radix_rs_alloc_nodes()` allocates a whole new branch in one call.
const _: () = assert!(kho_radix_abi::TREE_MAX_DEPTH - 1 <= bindings::KHO_RADIX_RS_MAX_BULK);

// SAFETY: Nodes are zeroed pages of the direct map from the page allocator
// (or memblock before it is up), each handed out once and used only by the
// tree until freed; the direct map is linear, so `phys_to_virt()` inverts
// `virt_to_phys()` with the same offset; `node_word()` is the page's
// `page->private`, only for the nodes of a tree the tracker owns, which it
// allocated itself: the page allocator clears the word on allocation and
// nothing else uses it for a tree page.
unsafe impl NodeMemory for KernelNodes {
    #[inline]
    fn alloc_node(&mut self) -> Option<NonNull<RadixNode>> {
        // SAFETY: The helper has no preconditions. It may sleep once slab is
        // up, which every caller allows (they hold the tree mutex, a sleeping
        // lock, or run in early boot).
        NonNull::new(unsafe { bindings::kho_radix_rs_alloc_node() }.cast())
    }

    // A new branch has at most `TREE_MAX_DEPTH - 1` nodes, which the
    // helper takes (see the assertion above the `impl`).
    fn alloc_nodes(&mut self, nodes: &mut [Option<NonNull<RadixNode>>]) -> bool {
        let Ok(nr) = c_uint::try_from(nodes.len()) else {
            return false;
        };
        // Every page the helper stores is allocated as by
        // `kho_radix_rs_alloc_node()`, so `free_node()` frees it.
        // SAFETY: `nodes` is valid for writes of `nr` entries, and
        // `Option<NonNull<T>>` has the layout of a nullable `*mut T`; the
        // helper checks `nr` and may sleep, as `alloc_node()` may.
        unsafe {
            bindings::kho_radix_rs_alloc_nodes(
                nodes.as_mut_ptr().cast::<*mut bindings::kho_radix_node>(),
                nr,
            )
        }
    }

    #[inline]
    unsafe fn free_node(&mut self, node: NonNull<RadixNode>) {
        // SAFETY: By the safety requirements, `node` came from `alloc_node()`
        // or `alloc_nodes()`, whose glue pages `kho_radix_rs_free_node()`
        // frees, and is no longer used.
        unsafe { bindings::kho_radix_rs_free_node(node.as_ptr().cast()) }
    }

    #[inline]
    fn virt_to_phys(&self, node: NonNull<RadixNode>) -> u64 {
        node.as_ptr().addr().wrapping_sub(self.offset) as u64
    }

    #[inline]
    fn phys_to_virt(&self, phys: u64) -> NonNull<RadixNode> {
        // Table entries are non-zero physical addresses of direct-mapped
        // pages, whose virtual addresses are never null. Should that ever be
        // violated, clamping to the alignment gives a dangling pointer rather
        // than a panic, and it does so without a branch, as the compiler
        // then knows the address is not null (every descent and cache hit
        // converts an entry).
        let virt = (phys as usize)
            .wrapping_add(self.offset)
            .max(core::mem::align_of::<RadixNode>());
        NonNull::new(core::ptr::with_exposed_provenance_mut(virt)).unwrap_or(NonNull::dangling())
    }

    /// `page->private` of the node's page, from `kho_radix_rs_node_word()`:
    /// the page allocator leaves it to whoever allocated the page, and clears
    /// it on allocation. Nodes from memblock get none.
    ///
    /// Only for the nodes of a tree the tracker owns ([`Self::owns_nodes`]):
    /// it allocated each of them, so nobody else uses the word while the node
    /// lives, and it has kept the count there since. The pages of a tree it
    /// adopted, such as the one handed over by the previous kernel, belong
    /// to others, whose `page->private` it must neither trust nor write.
    /// The tree lock, which the caller holds, keeps other threads away from
    /// the word.
    #[inline]
    unsafe fn node_word(&self, node: NonNull<RadixNode>) -> Option<&Cell<usize>> {
        if !self.owns_nodes {
            return None;
        }
        // SAFETY: The helper only checks and converts the address.
        let word = NonNull::new(unsafe { bindings::kho_radix_rs_node_word(node.as_ptr().cast()) })?;
        // SAFETY: `word` is `page->private` of a page this tracker allocated
        // (see above); `struct page`s are never freed, and `Cell<usize>` has
        // the layout of `unsigned long`.
        Some(unsafe { &*word.as_ptr().cast::<Cell<usize>>() })
    }

    // `leaf_word()` and `has_leaf_words()` keep their defaults: no leaf
    // words. `page->private` of the leaf would cost a call to
    // `kho_radix_rs_node_word()` in each reclaiming delete in random order;
    // under TCG that took `unpreserve_random` of the in-kernel benchmark
    // from 0.88 to 1.28 of C at 65536 pages, and even just looking among
    // the chunk leaves first, without the call, took it to 0.99. So the
    // witnesses of the leaves are parked in the table cache instead, which
    // costs no call. The KUnit suite's node memory has leaf words.
}
