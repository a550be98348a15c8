// SPDX-License-Identifier: GPL-2.0

//! Where the kernel keeps the tracker's tree nodes: whole pages in the
//! direct map, from `memblock` in early boot and from the page allocator
//! afterwards, through the `__ref` C helpers of `kho_radix_glue.c`.

use super::kho_radix_abi::{self, RadixLeaf, RadixNode};
use super::kho_radix_tree::NodeMemory;
use core::cell::Cell;
use core::ptr::NonNull;
use kernel::{
    bindings,
    page::PAGE_SHIFT,
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
    /// The tree's `page_word_anchor` (see [`KernelNodes::page_word_anchor`]),
    /// with the flags of its `direct_map_offset` word in the low bits, which
    /// the field's alignment leaves free: [`OWNS_NODES`] if every node of
    /// the tree is this tracker's, so that it may keep counts in their
    /// `page->private` (not for a tree it adopted, whose pages belong to
    /// others), and [`PAGE_WORDS`] if [`KernelNodes::page_word`] finds
    /// those words in the memory map from the anchor, without a call. The
    /// anchor is read only there, so that the per-page calls load nothing
    /// more than the tree's word.
    ///
    /// One pointer for all, rather than flags beside it: the operations
    /// keep the node memory on the stack, and under QEMU TCG the stores of
    /// a third field (and the padding copied with a flag) took the
    /// in-kernel benchmark's `del_key_random`, which never asks for a word,
    /// from 0.88-0.96 to 1.04-1.11 of C.
    ///
    /// # Invariants
    ///
    /// Without its flags, points to a value valid for reads while this value
    /// lives: [`NO_PAGE_WORDS`], or the anchor of a tree whose nodes these
    /// are. [`PAGE_WORDS`] only with [`OWNS_NODES`] and an anchor that
    /// [`KernelNodes::page_word_anchor`] gave, not 0.
    owner: *const usize,
}

/// The page word anchor of node memory that is not a tree's, such as
/// [`KernelNodes::new`]'s, which has no page words.
static NO_PAGE_WORDS: usize = 0;

/// The bit of a tree's `direct_map_offset` word that says it owns its nodes
/// (`KHO_RADIX_OWNS_NODES`). The offset is page aligned, so the bit is
/// free. One word for both, because under QEMU TCG a load of a flag of its
/// own, beside the offset, took the per-page preserve of the in-kernel
/// benchmark from 0.67 to 1.12 times C's, with the code otherwise the same.
const OWNS_NODES: usize = bindings::KHO_RADIX_OWNS_NODES as usize;

/// The bit of a tree's `direct_map_offset` word that says its nodes'
/// `page->private` are found in the memory map from its anchor
/// (`KHO_RADIX_PAGE_WORDS`), beside [`OWNS_NODES`] and for the same reason.
const PAGE_WORDS: usize = bindings::KHO_RADIX_PAGE_WORDS as usize;

/// The flags of a tree's `direct_map_offset` word and of
/// [`KernelNodes::owner`].
const TREE_FLAGS: usize = OWNS_NODES | PAGE_WORDS;

// The flags fit below a page-aligned offset and the anchor's alignment.
const _: () = assert!(TREE_FLAGS < core::mem::align_of::<usize>());

/// Bytes between the `struct page`s of consecutive page frames in the
/// memory map: bindgen's size of `struct page`, which is C's, as every field
/// this tracker reads through `bindings` relies on. Get it wrong and the
/// tracker writes `page->private` of the wrong pages: a stride eight bytes
/// too long crashed the page allocator in early boot. So
/// [`KernelNodes::page_word_anchor`] compares it with C's
/// (`kho_radix_rs_struct_page_size()`) for every tree, and KUnit's
/// `page_words_match_c` checks the words it gives.
const STRUCT_PAGE_STRIDE: usize = core::mem::size_of::<bindings::page>();

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
        // INVARIANT: `NO_PAGE_WORDS` is static; no `PAGE_WORDS`.
        Self {
            offset,
            owner: (&raw const NO_PAGE_WORDS).map_addr(|a| a | OWNS_NODES),
        }
    }

    /// Node memory of `tree`, with the offset the tree carries: one plain
    /// load, where [`KernelNodes::new`] costs a call.
    ///
    /// # Safety
    ///
    /// `tree` points to a valid `struct kho_radix_tree`, the caller holds
    /// its lock (or otherwise has exclusive access to it), and the tree
    /// outlives the returned value.
    #[inline]
    pub(crate) unsafe fn for_tree(tree: *mut bindings::kho_radix_tree) -> Self {
        // SAFETY: `tree` is valid for reads; the field only changes in
        // `kho_radix_init_tree()`, which nobody runs concurrently.
        let word = unsafe { (*tree).direct_map_offset };
        if word == 0 {
            // A tree that `kho_radix_init_tree()` did not set up: whose
            // nodes they are is unknown.
            let mut mem = Self::new();
            mem.disown();
            return mem;
        }
        // SAFETY: As above.
        unsafe { Self::from_tree_word(tree, word) }
    }

    /// Node memory of `tree`, whose `direct_map_offset` word, as
    /// [`KernelNodes::tree_word`] made it, is `word`.
    ///
    /// # Safety
    ///
    /// As for [`KernelNodes::for_tree`], and `kho_radix_init_tree()` set
    /// `tree` up.
    #[inline(always)]
    pub(crate) unsafe fn from_tree_word(tree: *mut bindings::kho_radix_tree, word: usize) -> Self {
        // SAFETY: `tree` is valid (caller); this only takes the field's
        // address.
        let anchor = unsafe { &raw const (*tree).page_word_anchor }.cast::<usize>();
        // INVARIANT: `kho_radix_init_tree()` set the anchor of `tree`, whose
        // nodes these are, from `page_word_anchor()`, and `PAGE_WORDS` only
        // with `OWNS_NODES` and an anchor; the tree outlives this value
        // (caller).
        Self {
            offset: word & !TREE_FLAGS,
            owner: anchor.map_addr(|a| a | (word & TREE_FLAGS)),
        }
    }

    /// Whether every node of the tree is this tracker's (see
    /// [`KernelNodes::owner`]).
    #[inline(always)]
    pub(crate) fn owns_nodes(&self) -> bool {
        self.owner.addr() & OWNS_NODES != 0
    }

    /// Makes this the memory of a tree whose nodes are not this tracker's.
    pub(crate) fn disown(&mut self) {
        // INVARIANT: no flags is always allowed.
        self.owner = self.owner.map_addr(|a| a & !TREE_FLAGS);
    }

    /// Whether the offset is page aligned, as the direct map's is, so that
    /// [`KernelNodes::tree_word`] can borrow its low bits.
    pub(crate) fn offset_is_page_aligned(&self) -> bool {
        self.offset % kernel::page::PAGE_SIZE == 0
    }

    /// The `direct_map_offset` word of a tree with this node memory: the
    /// offset, with `KHO_RADIX_OWNS_NODES` if the tree owns its nodes, and
    /// with `KHO_RADIX_PAGE_WORDS` too if `anchor`, the tree's
    /// `page_word_anchor`, is not 0. Only meaningful if
    /// [`KernelNodes::offset_is_page_aligned`].
    pub(crate) fn tree_word(&self, anchor: usize) -> usize {
        if !self.owns_nodes() {
            return self.offset;
        }
        self.offset | OWNS_NODES | if anchor != 0 { PAGE_WORDS } else { 0 }
    }

    /// The `page_word_anchor` of a tree whose root `root` this memory has
    /// just allocated: where `page->private` of page frame 0 would be, by
    /// the memory map's stride from `root`'s, if `root` came from the page
    /// allocator and the memory map is virtually contiguous
    /// (`CONFIG_SPARSEMEM_VMEMMAP`), else 0. With an anchor, all the nodes
    /// it allocates for the tree come from the page allocator too: that is
    /// up for good, and nodes only come from `memblock` before (see
    /// `kho_radix_rs_alloc_node()`), when `kho_radix_rs_node_word()` gives
    /// none.
    ///
    /// The anchor comes from the helper's answer for `root`, so it holds
    /// whatever the offset of `private` in `struct page` is; the stride
    /// must be C's size of `struct page`, or there is no anchor (with an
    /// error in the log).
    pub(crate) fn page_word_anchor(&self, root: NonNull<RadixNode>) -> usize {
        if !cfg!(CONFIG_SPARSEMEM_VMEMMAP) || !self.owns_nodes() {
            return 0;
        }
        // SAFETY: The helper has no preconditions.
        let c_stride = unsafe { bindings::kho_radix_rs_struct_page_size() };
        if c_stride != STRUCT_PAGE_STRIDE {
            pr_err!(
                "struct page is {} bytes in C and {} in Rust: no page words\n",
                c_stride,
                STRUCT_PAGE_STRIDE
            );
            return 0;
        }
        // SAFETY: The helper only checks and converts the address; `root`
        // is a node in the direct map.
        let word = unsafe { bindings::kho_radix_rs_node_word(root.as_ptr().cast()) };
        if word.is_null() {
            return 0;
        }
        word.addr().wrapping_sub(
            self.page_frame(root.as_ptr().cast())
                .wrapping_mul(STRUCT_PAGE_STRIDE),
        )
    }

    /// The page frame number of the direct-mapped `node`.
    #[inline(always)]
    fn page_frame(&self, node: *mut u8) -> usize {
        node.addr().wrapping_sub(self.offset) >> PAGE_SHIFT
    }

    /// `page->private` of the page of `node`, found in the memory map if
    /// the tree has a page word anchor ([`KernelNodes::page_word_anchor`]),
    /// else `None`: a test, a mask, a subtraction, a shift, a multiplication
    /// and two loads, where `kho_radix_rs_node_word()` costs a call.
    ///
    /// # Safety
    ///
    /// `node` is a node of a tree whose node memory this is.
    #[inline(always)]
    unsafe fn page_word(&self, node: *mut u8) -> Option<&Cell<usize>> {
        if self.owner.addr() & PAGE_WORDS == 0 {
            return None;
        }
        // SAFETY: By the type invariant, the pointer without its flags
        // points to the tree's anchor, valid for reads.
        let anchor = unsafe { *self.owner.map_addr(|a| a & !TREE_FLAGS) };
        let word = anchor.wrapping_add(self.page_frame(node).wrapping_mul(STRUCT_PAGE_STRIDE));
        // Why `word` is `page->private` of `node`'s page: by the type
        // invariant, with `PAGE_WORDS` the anchor came from
        // `page_word_anchor()` for this tree, which this tracker owns, so the
        // memory map is virtually contiguous with C's stride, and the anchor
        // is where that stride from the root's own word puts page frame 0's;
        // the tree's nodes, `node` among them (caller), all came from the
        // page allocator, as the root did.
        // SAFETY: `word` is `page->private` of an allocated page (above); its
        // `struct page` is not freed while the page is in use, and
        // `Cell<usize>` has the layout of `unsigned long`.
        Some(unsafe { &*core::ptr::with_exposed_provenance::<Cell<usize>>(word) })
    }
}

// `kho_radix_rs_alloc_nodes()` allocates a whole new branch in one call.
const _: () = assert!(kho_radix_abi::TREE_MAX_DEPTH - 1 <= bindings::KHO_RADIX_RS_MAX_BULK);

// SAFETY: Nodes are zeroed pages of the direct map from the page allocator
// (or memblock before it is up), each handed out once and used only by the
// tree until freed; the direct map is linear, so `phys_to_virt()` inverts
// `virt_to_phys()` with the same offset; `node_word()` and `leaf_word()`
// are the page's `page->private`, only for the nodes of a tree the tracker
// owns, which it allocated itself: the page allocator clears the word on
// allocation and nothing else uses it for a tree page; a leaf is never a
// table, so no count shares its word with the witness.
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

    /// `page->private` of the node's page: found in the memory map if the
    /// tree's nodes all came from the page allocator
    /// ([`KernelNodes::page_word`]), else from `kho_radix_rs_node_word()`.
    /// The page allocator leaves the word to whoever allocated the page, and
    /// clears it on allocation. Nodes from memblock get none.
    ///
    /// Only for the nodes of a tree the tracker owns ([`Self::owner`]):
    /// it allocated each of them, so nobody else uses the word while the node
    /// lives, and it has kept the count there since. The pages of a tree it
    /// adopted, such as the one handed over by the previous kernel, belong
    /// to others, whose `page->private` it must neither trust nor write.
    /// The tree lock, which the caller holds, keeps other threads away from
    /// the word.
    #[inline]
    unsafe fn node_word(&self, node: NonNull<RadixNode>) -> Option<&Cell<usize>> {
        if !self.owns_nodes() {
            return None;
        }
        // SAFETY: `node` is a node of a tree of this memory (caller).
        if let Some(word) = unsafe { self.page_word(node.as_ptr().cast()) } {
            return Some(word);
        }
        // SAFETY: The helper only checks and converts the address.
        let word = NonNull::new(unsafe { bindings::kho_radix_rs_node_word(node.as_ptr().cast()) })?;
        // SAFETY: `word` is `page->private` of a page this tracker allocated
        // (see above); `struct page`s are never freed, and `Cell<usize>` has
        // the layout of `unsigned long`.
        Some(unsafe { &*word.as_ptr().cast::<Cell<usize>>() })
    }

    /// `page->private` of the leaf's page, as [`KernelNodes::node_word`]
    /// gives it (a leaf is not a table, so its word is free for the
    /// witness), but only if it is found in the memory map
    /// ([`KernelNodes::page_word`]): the call of `kho_radix_rs_node_word()`
    /// in each reclaiming delete in random order took `unpreserve_random`
    /// of the in-kernel benchmark from 0.88 to 1.28 of C at 65536 pages
    /// under TCG. Without, the witnesses are parked in the table cache,
    /// which costs no call but is shared by the leaves of a slot. The tree
    /// asks for leaf words only beyond the parked slots' leaves (see
    /// `TableCache::has_many_leaves()`): natively, over 2057 leaves, the
    /// host benchmark's single-key deletes in random order took 13.6 ns
    /// (3.5 times C) with parked witnesses and 4.8-5.0 ns with leaf words
    /// 64 bytes apart, as these are.
    #[inline(always)]
    unsafe fn leaf_word(&self, leaf: NonNull<RadixLeaf>) -> Option<&Cell<usize>> {
        // SAFETY: `leaf` is a node of a tree of this memory (caller); only
        // a tree the tracker owns has an anchor (type invariant).
        unsafe { self.page_word(leaf.as_ptr().cast()) }
    }

    #[inline(always)]
    fn has_leaf_words(&self) -> bool {
        cfg!(CONFIG_SPARSEMEM_VMEMMAP)
    }
}
