// SPDX-License-Identifier: GPL-2.0

//! Adding and deleting the chunks of a page range as `kho_preserve_pages()`
//! and `kho_unpreserve_pages()` chunk it, one descent per leaf.

use super::*;

/// The chunks `kho_preserve_pages()` makes of a page range: at each pfn the
/// largest order to which it is aligned that fits before the end, capped and
/// split as [`RangeChunks::next_chunk`] describes.
///
/// Each chunk's order comes from the pfn the chunk before it ends at, as in
/// C: a `tzcnt`, an `lzcnt` and a minimum on the chain from one chunk to
/// the next. Taking the orders from the set bits of the range's two halves
/// instead (below and above the highest power-of-two boundary inside it)
/// keeps them off that chain, but costs a mispredicted branch per range
/// between the halves. That took about a tenth off a chunk's time in the
/// host range loops on the machine where it was tried, and added a tenth on
/// the AMD EPYC host of the quoted benchmark run, in most range rows; in the
/// kernel under QEMU the range unpreserves took 0.46 (address order) and
/// 1.02 (random order) of C at 1048576 pages with this form against 0.53-0.55
/// and 1.08-1.12 with the halves (see design.rst).
struct RangeChunks {
    /// The first pfn of the next chunk.
    pfn: u64,
    /// The end of the range.
    end_pfn: u64,
}

impl RangeChunks {
    /// The chunks of `pfn..end_pfn`; none if `pfn >= end_pfn`.
    #[inline(always)]
    fn new(pfn: u64, end_pfn: u64) -> Self {
        Self { pfn, end_pfn }
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
        let pfn = self.pfn;
        if pfn >= self.end_pfn {
            return None;
        }
        // The largest order `pfn` is aligned to (63 at most, hence the top
        // bit), capped by the largest that fits before the end: `end_pfn -
        // pfn` is not zero, so the XOR is at most 63. Wrapping only to keep
        // panic paths out.
        let greedy = (pfn | 1 << 63)
            .trailing_zeros()
            .min(63 ^ self.end_pfn.wrapping_sub(pfn).leading_zeros());
        // The chunks end at `end_pfn` at the latest, so this cannot
        // overflow; wrapping, the exported functions have no panic path.
        self.pfn = pfn.wrapping_add(1u64 << greedy);
        let mut order = greedy.min(max_order);
        while order > 0 && split(pfn, order) {
            order -= 1;
        }
        if order != greedy {
            // `order < greedy <= 63`: the shift cannot overflow.
            self.end_chunk_at(pfn.wrapping_add(1u64 << order));
        }
        Some((pfn, order))
    }

    /// Ends the last chunk at `end`, short of its greedy order. Out of line,
    /// behind a branch: the cap and the splits are rare, and a conditional
    /// move of the next pfn would put them on the chain of dependent
    /// instructions from one chunk to the next (in the host range loops that
    /// took a chunk about a tenth longer).
    #[cold]
    #[inline(never)]
    fn end_chunk_at(&mut self, end: u64) {
        self.pfn = end;
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
/// failure the chunks before the failing one are deleted again, as
/// `kho_preserve_pages()` does, with [`del_pfn_range_reclaim`], so that the
/// nodes the call allocated are freed too, and the error of the failed chunk
/// is returned. Like C's rollback, this deletes a chunk's key even if it was
/// in the tree before the call.
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
/// missing, or whose key is wider than [`KEY_WIDTH`], are skipped; returns
/// how many were (with freeing, also those whose leaf could not be
/// reclaimed). A range that wraps past the
/// end of the address space, which [`add_pfn_range`] refuses, deletes
/// nothing.
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
/// After each chunk it reads a *witness* word of the chunk's leaf, one that
/// was last seen non-zero; only if that word is zero the eight words around
/// the chunk's key; and the rest of the leaf only if those are zero too.
/// Testing the eight words after every chunk made each chunk wait for the
/// cache line its clear had just fetched: on the host with 64 KiB pages,
/// where the tree outgrows the L2 cache, the range delete with freeing took
/// 1.02-1.27 times C's (which frees nothing), against 0.83-1.03 with the
/// witness, and 0.74-0.87 against 0.53-0.63 with 4 KiB pages.
///
/// Each chunk finds its leaf from the level-1 table that `cache` holds
/// (see `del_chunk_by_table`). The witness is kept in the leaf's word on
/// memory with leaf words ([`NodeMemory::has_leaf_words`]), and parked in
/// `cache` otherwise, as in the kernel (see [`TableCache`]).
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
    // A range that wraps past the end of the address space is no range, and
    // no page frame of it is valid: like C's loop, whose end wraps below its
    // start, delete nothing (and split nothing).
    let Some(end_pfn) = start_pfn.checked_add(nr_pages) else {
        return 0;
    };
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
        let deleted = match range_key(pfn, order, KEYS_FIT) {
            // SAFETY: guaranteed by the caller; `key` is in range.
            Some(key) => unsafe { del_chunk_by_table::<RECLAIM, M>(mem, root, cache, key, order) },
            None => false,
        };
        if !deleted {
            missing = missing.saturating_add(1);
        }
    }
    missing
}

/// Deletes the chunk `key` of order `order` of [`del_range`], finding its
/// leaf from the level-1 table `cache` holds for it; with `RECLAIM`, tests
/// the leaf's witness: kept in the leaf's word on memory with leaf words,
/// parked in `cache` otherwise. Returns whether the chunk's path was
/// there.
///
/// The chunk leaves of `cache` are not asked first: in random order, where
/// each range starts in leaves of its own, a range's chunks rise in order
/// and fall again, the falling ones in the leaves the rising ones have just
/// used, so whether the chunk leaf of an order holds the chunk's leaf is as
/// good as a coin toss, and the mispredicted branch cost more than the slot
/// hash and the load of the table entry it saves. On the host, without
/// freeing, ranges in random order took 1.05 / 1.06 / 1.02 times C with the
/// chunk leaves asked first and 0.54 / 0.67 / 0.82 without (4 / 16 /
/// 64 KiB pages); in address order 0.51 / 0.62 / 0.77 against 0.54 / 0.68
/// / 0.83. With freeing, in random order 1.18 / 1.13 / 1.12 against 0.71 /
/// 0.76 / 0.96, in address order 0.58 / 0.71 / 0.87 against 0.68 / 0.77 /
/// 0.97.
///
/// The kernel's memory, without leaf words, asked the chunk leaves first
/// too, with the witness kept there and parked in `cache` when the leaf
/// left: under QEMU TCG, which decides the in-kernel benchmark, a
/// mispredicted branch costs nothing and the chunk leaf saves the lookup's
/// instructions. Timed natively (the host benchmark's pool without its
/// leaf words), that path took 1.63 / 1.37 / 1.31 of C in random order
/// with freeing, and this one 0.89 / 0.75 / 0.92; in the kernel under TCG
/// this one costs about 10 ns more per chunk (at 1048576 pages 0.58 of C
/// in address order and 0.64 in random order, against 0.45 and 0.63).
///
/// # Safety
///
/// As for [`del_range`], and `key` is in range.
#[inline(always)]
unsafe fn del_chunk_by_table<const RECLAIM: bool, M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
    order: u32,
) -> bool {
    // SAFETY: guaranteed by the caller.
    let Some(leaf) = (unsafe { leaf_to_clear(mem, root, cache, key) }) else {
        return false;
    };
    // SAFETY: `leaf` is the leaf of `key`'s path in the tree.
    unsafe { clear_key_bit(leaf, key) };
    if !RECLAIM {
        return true;
    }
    // SAFETY: `leaf` is a leaf of the tree, which the caller may write;
    // `read_word` masks the index.
    let witnessed = unsafe { read_word(leaf, leaf_witness(mem, cache, leaf)) } != 0;
    if witnessed {
        return true;
    }
    // SAFETY: guaranteed by the caller; `leaf` is the leaf of `key`'s path.
    unsafe { rewitness_looked_up_leaf(mem, root, cache, key, order, leaf) }.is_ok()
}

/// For [`del_chunk_by_table`], whose leaf's witness word is zero: makes
/// `leaf` the chunk leaf of `order`, as [`rewitness_chunk_leaf`] needs, and
/// calls it. Out of line: a witness dies rarely.
///
/// # Safety
///
/// As for [`del_key_reclaim`], `cache` belongs to the tree and `leaf` is
/// the leaf of `key`'s path.
#[cold]
#[inline(never)]
unsafe fn rewitness_looked_up_leaf<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
    order: u32,
    leaf: NonNull<RadixLeaf>,
) -> Result<(), RadixError> {
    cache.set_chunk_leaf(key, order, leaf);
    // SAFETY: guaranteed by the caller; `leaf` is now the chunk leaf of
    // `order`.
    unsafe { rewitness_chunk_leaf(mem, root, cache, key, order, leaf) }
}
