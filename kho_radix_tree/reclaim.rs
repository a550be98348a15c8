// SPDX-License-Identifier: GPL-2.0

//! Deletes that free the nodes they empty, and the witnesses that let
//! them tell a leaf emptied without reading it whole.

use super::*;

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
/// It learns whether the leaf emptied from a witness, a word of the leaf
/// last seen non-zero: while that word is non-zero, the leaf holds a key.
/// A delete in the leaf the previous reclaiming delete used finds it as a
/// range delete finds its chunk's: in the chunk leaves of `cache` (in the
/// slot of `KEY_LEAF_SLOT_ORDER`), with one compare, and reads that
/// leaf's witness there (see [`TableCache`]). Otherwise it descends from
/// the key's cached level-1 table, and reads the witness `leaf_witness()`
/// gives. Only if the witness word is zero does it look further, out of
/// line, and then the leaf goes to that slot, so that deletes in address
/// order stay on the first path. In a tree of one leaf, the add that grew
/// it has put it there already (`add_key_uncached()`).
///
/// Testing first whether the key's own word emptied, as the kernel's
/// memory, without leaf words, did until 755eae4, mispredicts in random
/// order: in the host benchmark the word emptied in 64% of the deletes,
/// and the branch waited for the cache line that the clear had just
/// fetched. The witness word is mostly in the cache and mostly non-zero.
/// Timed natively on the host's pool without leaf words, the word test
/// took random order to 2.93 / 2.57 / 3.48 of C and address order to 0.56
/// / 0.63 / 0.88, the witness 1.57 / 1.10 / 1.56 and 0.42 / 0.47 / 0.62 (4
/// / 16 / 64 KiB pages; 1.03 in random order at 4 KiB pages with 256
/// parked slots). Under QEMU TCG, where a mispredicted branch costs
/// nothing and the in-kernel benchmark's keys are dense (64 to a word, so
/// the word rarely empties), the witness costs about 5 ns more per delete
/// in random order: 1.04-1.11 of C instead of 0.91-0.98.
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
    // SAFETY: `cache` belongs to the tree, which is valid (caller).
    match unsafe { cache.leaf(mem, key) } {
        // SAFETY: guaranteed by the caller; `leaf` is the leaf of `key`'s
        // path.
        Some(leaf) => unsafe { del_key_in_leaf(mem, root, cache, key, leaf) },
        // SAFETY: guaranteed by the caller; `key` is in range.
        None => unsafe { del_key_reclaim_uncached(mem, root, cache, key) },
    }
}

/// The end of [`del_key_reclaim_cached`] once it has looked `leaf` up, not
/// found it as the chunk leaf: clears the key and reads the leaf's witness
/// ([`leaf_witness`]); only if that word is zero does it look further, out
/// of line, and then the leaf goes to the chunk leaf slot.
///
/// Everything after a call is in the called function, here and in
/// [`del_key_reclaim_uncached`], so that the exported function keeps only
/// the tree, the key and the result across its calls: under QEMU TCG each
/// callee-saved register it uses costs a store and a load on every call.
///
/// # Safety
///
/// As for [`del_key_reclaim`], `cache` belongs to the tree, and `leaf` is
/// the leaf of `key`'s path.
#[inline(always)]
unsafe fn del_key_in_leaf<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
    leaf: NonNull<RadixLeaf>,
) -> Result<(), RadixError> {
    // SAFETY: `leaf` is the leaf of `key`'s path in the tree.
    unsafe { clear_key_bit(leaf, key) };
    // SAFETY: `leaf` is a leaf of the tree, which the caller may write;
    // `read_word` masks the index.
    if unsafe { read_word(leaf, leaf_witness(mem, cache, leaf)) } != 0 {
        return Ok(());
    }
    // SAFETY: guaranteed by the caller.
    unsafe { rewitness_looked_up_key_leaf(mem, root, cache, key, leaf) }
}

/// [`del_key_reclaim_cached`] for a key whose level-1 table `cache` does
/// not hold: [`find_leaf`], remembering the table in `cache`, then
/// [`del_key_in_leaf`].
///
/// # Safety
///
/// As for [`del_key_reclaim`], `cache` belongs to the tree, and `key` is in
/// range.
#[cold]
#[inline(never)]
unsafe fn del_key_reclaim_uncached<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
) -> Result<(), RadixError> {
    // SAFETY: guaranteed by the caller.
    let (table, leaf) = unsafe { find_leaf(mem, root, key) }.ok_or(RadixError::NotPresent)?;
    cache.set(key, table);
    // SAFETY: guaranteed by the caller; `leaf` is the leaf of `key`'s path.
    unsafe { del_key_in_leaf(mem, root, cache, key, leaf) }
}

/// For [`del_key_in_leaf`] whose witness word is zero: makes `leaf` the
/// chunk leaf of the single keys' slot, then [`rewitness_chunk_leaf`]. Out of
/// line: a witness dies rarely.
///
/// # Safety
///
/// As for [`del_key_in_leaf`].
#[cold]
#[inline(never)]
unsafe fn rewitness_looked_up_key_leaf<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
    leaf: NonNull<RadixLeaf>,
) -> Result<(), RadixError> {
    cache.set_chunk_leaf(key, KEY_LEAF_SLOT_ORDER, leaf);
    // SAFETY: guaranteed by the caller; `leaf` is the leaf of `key`'s path
    // and now the chunk leaf of the slot.
    unsafe { rewitness_chunk_leaf(mem, root, cache, key, KEY_LEAF_SLOT_ORDER, leaf) }
}

/// The witness of `leaf` for a delete that has just looked it up: the word
/// kept in the leaf's [`NodeMemory::leaf_word`] if the tree has more leaves
/// than `cache` has parked slots ([`TableCache::has_many_leaves`]) and the
/// memory has a word for the leaf, else the word parked in `cache` (see
/// [`TableCache`]). A hint: any index is safe to read, and a wrong one
/// only makes the delete search.
///
/// Parked while each leaf can have a slot of its own: the slots are in
/// `cache`, mostly in the L1 cache, while the kernel's leaf word is
/// `page->private`, a cache line per page, and from there the witness word
/// is a second dependent load. Beyond, a leaf mostly finds another leaf's
/// witness in its slot. Natively, on the host benchmark's pool with its
/// words 64 bytes apart as in a `struct page`, single-key deletes with
/// freeing in random order at 4 KiB pages took, with the leaf's word and
/// with the parked witness: 4.15 and 2.5 ns over 133 leaves, 3.9 and 5.2
/// ns over 518, 4.9 and 14.5 ns over 2057.
///
/// # Safety
///
/// `leaf` is a leaf of a valid tree for `mem` that the caller may write.
#[inline(always)]
pub(super) unsafe fn leaf_witness<M: NodeMemory + ?Sized>(
    mem: &M,
    cache: &TableCache,
    leaf: NonNull<RadixLeaf>,
) -> usize {
    // SAFETY: guaranteed by the caller.
    match unsafe { witness_word(mem, cache, leaf) } {
        Some(witness) => witness.get(),
        None => cache.parked_witness(leaf),
    }
}

/// The leaf's word that [`leaf_witness`] reads and [`set_leaf_witness`]
/// writes, or `None` if the witness of `leaf` is parked in `cache`: the one
/// place that decides between the two.
///
/// # Safety
///
/// As for [`leaf_witness`].
#[inline(always)]
unsafe fn witness_word<'a, M: NodeMemory + ?Sized>(
    mem: &'a M,
    cache: &TableCache,
    leaf: NonNull<RadixLeaf>,
) -> Option<&'a core::cell::Cell<usize>> {
    // The first test is a constant once `M` is known.
    if !(mem.has_leaf_words() && cache.has_many_leaves()) {
        return None;
    }
    // SAFETY: guaranteed by the caller.
    unsafe { mem.leaf_word(leaf) }
}

/// The order whose chunk-leaf slot of a [`TableCache`] single-key
/// reclaiming deletes use, whatever the order of their keys: a range has a
/// chunk of order 15 only if it covers 32768 aligned pages, so they rarely
/// meet. Working the key's order out takes a `leading_zeros()`, a BSR on
/// x86-64 without LZCNT: in the host benchmark, on AMD, deletes with
/// freeing in address order took 0.55 / 0.69 / 0.83 of C with it and 0.42
/// / 0.43 / 0.55 without (4 / 16 / 64 KiB pages).
pub(super) const KEY_LEAF_SLOT_ORDER: u32 = LEAF_CACHE_SLOTS as u32 - 1;

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
pub(super) unsafe fn rewitness_chunk_leaf<M: NodeMemory + ?Sized>(
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
/// its witness: in `cache`, and for the next delete that has to look the
/// leaf up, where [`leaf_witness`] will look.
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
    // SAFETY: guaranteed by the caller.
    match unsafe { witness_word(mem, cache, leaf) } {
        Some(witness) => witness.set(w),
        None => cache.park_witness(leaf, w),
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
/// As for [`del_key_reclaim`], `cache` belongs to the tree, and `leaf` is
/// the leaf of `key`'s path and the chunk leaf of `order` in `cache`.
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
/// As for `block_or()` (`node.rs`).
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
/// As for `block_or()` (`node.rs`).
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
                return Some(unsafe { far_word_of_span(leaf, s, blocks, true) });
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
                return Some(unsafe { far_word_of_span(leaf, s, blocks, false) });
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
/// [`span_blocks_with_keys`]). If `blocks` was wrong and the block has no
/// key, its first word: any index is a valid witness, which a later delete
/// checks before it trusts it, while no witness would make the caller free
/// a leaf that holds keys.
///
/// # Safety
///
/// As for `block_or()` (`node.rs`).
#[inline(always)]
unsafe fn far_word_of_span(leaf: NonNull<RadixLeaf>, s: usize, blocks: u32, up: bool) -> usize {
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
        return first;
    }
    let word = if up {
        31 ^ words.leading_zeros()
    } else {
        words.trailing_zeros()
    } as usize;
    first + word % BLOCK
}

/// How many spans past the nearest one with keys
/// [`nearest_nonzero_span_word`] follows a run of spans with keys: a
/// witness for 256 more words of a sweep, for up to eight more span reads,
/// which a sweep reads anyway.
const WITNESS_RUN: usize = 8;

/// Frees the leaf of `key`'s path, which has no key left, and each table
/// above it that this empties, up to but not including the root, and drops
/// what it frees from `cache`.
///
/// # Safety
///
/// As for [`del_key_reclaim`], `cache` belongs to the tree, and the leaf of
/// `key`'s path is empty.
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
    cache.count_freed_leaf();
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
        if !emptied.unwrap_or_else(|| unsafe { node_is_empty(parent, idx) }) {
            break;
        }
        child = parent;
        level += 1;
    }
    Ok(())
}
