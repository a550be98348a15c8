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
///
/// The layout of the `direct_map_offset` and `page_word_anchor` fields of
/// `struct kho_radix_tree`, which sit side by side, so that the per-page
/// operations use a tree's own fields as its node memory
/// ([`KernelNodes::of_tree`]): a pointer into the tree, which they already
/// hold, rather than a value built on the stack in every call. Under QEMU
/// TCG the stack stores of such a value are what the in-kernel benchmark
/// pays for: a third field in it took `del_key_random`, which never asks
/// for a node's word, from 0.88-0.96 to 1.04-1.11 of C, and taking the
/// tree's fields instead of a copy of the two took it from 0.90-0.98 to
/// 0.81-0.92, and `unpreserve_random` from 1.05-1.14 to 0.92-1.12 (five
/// boots each, 1024 to 1048576 pages). The range operations and the walks
/// take a copy still (see `with_locked_tree_copy()`).
///
/// # Invariants
///
/// `word & !TREE_FLAGS` is the offset of the direct map, page aligned.
/// [`PAGE_WORDS`] is set only with [`OWNS_NODES`], and then `anchor` is
/// not 0 and is what [`KernelNodes::page_word_anchor`] gave for the root of
/// the tree whose nodes these are; without [`PAGE_WORDS`], `anchor` is 0.
#[derive(Clone)]
#[repr(C)]
pub(crate) struct KernelNodes {
    /// `phys_to_virt(p) - p`, the same for every direct-mapped `p`, with
    /// flags in its low bits, which the page alignment leaves free:
    /// [`OWNS_NODES`] if every node of the tree is this tracker's, so that
    /// it may keep counts in their `page->private` (not for a tree it
    /// adopted, whose pages belong to others), and [`PAGE_WORDS`] if
    /// [`KernelNodes::page_word`] finds those words in the memory map from
    /// `anchor`, without a call. A tree's `direct_map_offset`.
    word: usize,
    /// Where `page->private` of page frame 0 would be, by the memory map's
    /// stride (see [`KernelNodes::page_word_anchor`]), or 0. A tree's
    /// `page_word_anchor`.
    anchor: usize,
}

// The two fields of `struct kho_radix_tree` that `KernelNodes::of_tree()`
// takes for a `KernelNodes` are next to each other, each a `usize`.
const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    assert!(size_of::<c_ulong>() == size_of::<usize>());
    assert!(
        offset_of!(bindings::kho_radix_tree, page_word_anchor)
            == offset_of!(bindings::kho_radix_tree, direct_map_offset) + size_of::<usize>()
    );
    assert!(
        offset_of!(bindings::kho_radix_tree, direct_map_offset) % align_of::<KernelNodes>() == 0
    );
};

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

/// The flags of a tree's `direct_map_offset` word.
const TREE_FLAGS: usize = OWNS_NODES | PAGE_WORDS;

// The flags fit below the page-aligned offset.
const _: () = assert!(TREE_FLAGS < kernel::page::PAGE_SIZE);

/// Bytes between the `struct page`s of consecutive page frames in the
/// memory map: bindgen's size of `struct page`, which is C's, as every field
/// this tracker reads through `bindings` relies on. Get it wrong and the
/// tracker writes `page->private` of the wrong pages: a stride eight bytes
/// too long crashed the page allocator in early boot. So
/// [`KernelNodes::page_word_anchor`] compares it with C's
/// (`kho_radix_rs_struct_page_size()`) for every tree, and KUnit's
/// `page_words_match_c` checks the words it gives.
const STRUCT_PAGE_STRIDE: usize = core::mem::size_of::<bindings::page>();

/// [`direct_map_offset`]'s answer, read from C on first use; 0 until then.
/// It holds a boot-time constant, stored (always the same value) before its
/// first use on each CPU, so relaxed ordering suffices. Trees carry a copy
/// (`direct_map_offset`, set by [`super::kho_radix_init_tree`]), so the
/// per-page paths read that instead.
static DIRECT_MAP_OFFSET: Atomic<usize> = Atomic::new(0);

/// `phys_to_virt(p) - p` for the kernel's direct map.
pub(crate) fn direct_map_offset() -> usize {
    let mut offset = DIRECT_MAP_OFFSET.load(Relaxed);
    if offset == 0 {
        // SAFETY: The helper has no preconditions. The direct map does not
        // move once C and Rust code that reaches here runs (KASLR places it
        // in `setup_arch()`), so caching it is fine.
        offset = unsafe { bindings::kho_radix_rs_direct_map_offset() } as usize;
        DIRECT_MAP_OFFSET.store(offset, Relaxed);
    }
    offset
}

impl KernelNodes {
    /// Node memory of this kernel, for nodes it allocates, without page
    /// words; `None` if the direct map's offset is not page aligned, which
    /// it is on every architecture with KHO: its low bits hold the flags.
    pub(crate) fn new() -> Option<Self> {
        let offset = direct_map_offset();
        if offset % kernel::page::PAGE_SIZE != 0 {
            return None;
        }
        // INVARIANT: the offset is page aligned; no `PAGE_WORDS`, anchor 0.
        Some(Self {
            word: offset | OWNS_NODES,
            anchor: 0,
        })
    }

    /// The node memory of `tree`: the tree's own `direct_map_offset` and
    /// `page_word_anchor`, which [`KernelNodes::install`] wrote. The
    /// per-page operations take this, a pointer into the tree; the other
    /// calls take a copy ([`KernelNodes::for_tree`]).
    ///
    /// # Safety
    ///
    /// `tree` points to a valid `struct kho_radix_tree` whose two fields
    /// [`KernelNodes::install`] wrote (as `kho_radix_init_tree()` does),
    /// the caller holds its lock for `'a`, and nobody changes the two
    /// fields meanwhile.
    #[inline(always)]
    pub(crate) unsafe fn of_tree<'a>(tree: *mut bindings::kho_radix_tree) -> &'a mut Self {
        let at = core::mem::offset_of!(bindings::kho_radix_tree, direct_map_offset);
        // From `at` the tree holds the two fields, which have the layout of
        // `Self` (assertions above) and a value of it with its invariant,
        // as `install()` wrote it.
        // SAFETY: `tree` is valid (caller), see above; the lock makes this
        // the only reference to the fields for `'a`.
        unsafe { &mut *tree.cast::<u8>().add(at).cast::<Self>() }
    }

    /// A copy of the node memory of `tree` ([`KernelNodes::of_tree`]), or,
    /// for a tree that `kho_radix_init_tree()` did not set up, node memory
    /// that owns none of its nodes; `None` as for [`KernelNodes::new`].
    ///
    /// # Safety
    ///
    /// `tree` points to a valid `struct kho_radix_tree`, the caller holds
    /// its lock (or otherwise has exclusive access to it), and the tree
    /// outlives the returned value.
    #[inline]
    pub(crate) unsafe fn for_tree(tree: *mut bindings::kho_radix_tree) -> Option<Self> {
        // SAFETY: `tree` is valid for reads; the fields only change in
        // `kho_radix_init_tree()`, which nobody runs concurrently.
        let word: usize = unsafe { (*tree).direct_map_offset };
        if word == 0 {
            // A tree that `kho_radix_init_tree()` did not set up: whose
            // nodes they are is unknown.
            let mut mem = Self::new()?;
            mem.disown();
            return Some(mem);
        }
        // SAFETY: As above; only `install()` writes a word that is not 0,
        // and `kho_radix_init_tree()` set the tree up with it.
        let mem = unsafe { Self::of_tree(tree) };
        Some(Self {
            word: mem.word,
            anchor: mem.anchor,
        })
    }

    /// Writes this node memory into `tree`'s `direct_map_offset` and
    /// `page_word_anchor`, for [`KernelNodes::of_tree`].
    ///
    /// # Safety
    ///
    /// `tree` points to a `struct kho_radix_tree` valid for writes that
    /// nobody else uses during the call, and the nodes of its tree are
    /// those of this memory.
    pub(crate) unsafe fn install(self, tree: *mut bindings::kho_radix_tree) {
        // SAFETY: `tree` is valid for writes and not used concurrently
        // (caller).
        unsafe {
            (*tree).page_word_anchor = self.anchor as c_ulong;
            (*tree).direct_map_offset = self.word as c_ulong;
        }
    }

    /// The offset of the direct map.
    #[inline(always)]
    fn offset(&self) -> usize {
        self.word & !TREE_FLAGS
    }

    /// Whether every node of the tree is this tracker's ([`OWNS_NODES`]).
    #[inline(always)]
    pub(crate) fn owns_nodes(&self) -> bool {
        self.word & OWNS_NODES != 0
    }

    /// Makes this the memory of a tree whose nodes are not this tracker's.
    pub(crate) fn disown(&mut self) {
        // INVARIANT: no flags and no anchor is always allowed.
        self.word &= !TREE_FLAGS;
        self.anchor = 0;
    }

    /// Lets the memory of a tree whose nodes this tracker owns find the
    /// nodes' words in the memory map, if [`KernelNodes::page_word_anchor`]
    /// gives an anchor for `root`; else the tree goes without page words.
    ///
    /// # Safety
    ///
    /// `root` is the root of the tree, just allocated by this memory
    /// (`alloc_node()`), in the direct map.
    pub(crate) unsafe fn use_page_words(&mut self, root: NonNull<RadixNode>) {
        // SAFETY: `root` is a node of this memory in the direct map (caller).
        let anchor = unsafe { self.page_word_anchor(root) };
        if self.owns_nodes() && anchor != 0 {
            // INVARIANT: with `OWNS_NODES` and an anchor that
            // `page_word_anchor()` gave for the tree's root (caller).
            self.anchor = anchor;
            self.word |= PAGE_WORDS;
        }
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
    ///
    /// # Safety
    ///
    /// `root` is a node that this memory has allocated, in the direct map.
    unsafe fn page_word_anchor(&self, root: NonNull<RadixNode>) -> usize {
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
        // is a node in the direct map (caller).
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
        node.addr().wrapping_sub(self.offset()) >> PAGE_SHIFT
    }

    /// `page->private` of the page of `node`, found in the memory map if
    /// the tree has a page word anchor ([`PAGE_WORDS`], see
    /// [`KernelNodes::page_word_anchor`]),
    /// else `None`: a test, a mask, a subtraction, a shift, a
    /// multiplication and an addition, where `kho_radix_rs_node_word()`
    /// costs a call.
    ///
    /// It tests the anchor, not [`PAGE_WORDS`], which by the type invariant
    /// says the same: the flag sits in `word`, which the caller has loaded
    /// already, and the compiler then tested it before the reclaiming
    /// delete's count of leaves (`TableCache::has_many_leaves()`), so that
    /// the common case, few leaves and the witness parked, took two
    /// branches where the anchor's load, needed only with many leaves,
    /// leaves one. Under QEMU TCG each branch ends a translation block: the
    /// in-kernel benchmark's `unpreserve_random` at 1048576 pages took 0.94-0.95
    /// of C instead of 0.97-0.98 (four boots each).
    ///
    /// # Safety
    ///
    /// `node` is a node of a tree whose node memory this is.
    #[inline(always)]
    unsafe fn page_word(&self, node: *mut u8) -> Option<&Cell<usize>> {
        if self.anchor == 0 {
            return None;
        }
        let word = self
            .anchor
            .wrapping_add(self.page_frame(node).wrapping_mul(STRUCT_PAGE_STRIDE));
        // Why `word` is `page->private` of `node`'s page: by the type
        // invariant, a non-zero anchor comes with `PAGE_WORDS` and came from
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
        node.as_ptr().addr().wrapping_sub(self.offset()) as u64
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
            .wrapping_add(self.offset())
            .max(core::mem::align_of::<RadixNode>());
        NonNull::new(core::ptr::with_exposed_provenance_mut(virt)).unwrap_or(NonNull::dangling())
    }

    /// `page->private` of the node's page: found in the memory map if the
    /// tree's nodes all came from the page allocator
    /// ([`KernelNodes::page_word`]), else from `kho_radix_rs_node_word()`.
    /// The page allocator leaves the word to whoever allocated the page, and
    /// clears it on allocation. Nodes from memblock get none.
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
