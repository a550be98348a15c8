// SPDX-License-Identifier: GPL-2.0

//! Reading and writing the entries of tables and the words of leaves,
//! always masked to the node, and the block scans that skip zero words.

use super::*;

/// Reads entry `idx` (masked to the table) of `node`.
///
/// # Safety
///
/// `node` is valid for reads and not written concurrently.
#[inline]
pub(super) unsafe fn read_entry(node: NonNull<RadixNode>, idx: usize) -> u64 {
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
pub(super) unsafe fn write_entry(node: NonNull<RadixNode>, idx: usize, val: u64) {
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
pub(super) unsafe fn read_word(leaf: NonNull<RadixLeaf>, w: usize) -> u64 {
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
pub(super) unsafe fn write_word(leaf: NonNull<RadixLeaf>, w: usize, val: u64) {
    // SAFETY: the caller guarantees exclusive access to `leaf`; the masked
    // index is within the bitmap.
    unsafe { (*leaf.as_ptr()).bitmap[w % BITMAP_WORDS] = val }
}

/// First non-zero entry of `node` at index `from` or later, as
/// `(index, entry)`. Also scans the tables of a handed-over tree in
/// [`super::super::kho_radix_validate`], where most entries are zero.
///
/// # Safety
///
/// `node` is valid for reads and not written concurrently.
#[inline]
pub(crate) unsafe fn next_entry(node: NonNull<RadixNode>, from: usize) -> Option<(usize, u64)> {
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
pub(super) const BLOCK: usize = 8;
const _: () = assert!(TABLE_ENTRIES % BLOCK == 0 && BITMAP_WORDS % BLOCK == 0);

/// Whether the eight words of `node` (a table or a leaf) from `first` are
/// all zero.
///
/// # Safety
///
/// `node` is valid for reads and not written concurrently.
#[inline(always)]
pub(super) unsafe fn block_is_zero(node: NonNull<RadixLeaf>, first: usize) -> bool {
    // SAFETY: guaranteed by the caller.
    unsafe { block_or(node, first) == 0 }
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
/// A reclaiming delete asks this of each table it has just unlinked a freed
/// child from, if the memory keeps no count of the table's entries
/// ([`NodeMemory::node_word`]). The entries that remain are usually next to
/// the one just cleared: deletes in address order leave them right after
/// it, in reverse order right before it. (Leaves no longer come here: a
/// delete learns a leaf emptied from its witness, see `reclaim.rs`.) So
/// the blocks of eight words on either side of `near`'s are checked first,
/// then the spans of 32 words ([`span_blocks_with_keys`], the walks' test)
/// outward from `near`'s, alternately after and before it, which finds a
/// remaining key after as many spans as it is away; a scan from the start
/// would cross the emptied part every time, quadratic in the words of the
/// node. Spans rather than blocks all the way: an empty leaf has to be read
/// whole, and a quarter of the steps made that faster under TCG.
///
/// # Safety
///
/// `node` is valid for reads and not written concurrently.
#[inline]
pub(super) unsafe fn node_is_empty(node: NonNull<RadixNode>, near: usize) -> bool {
    const BLOCKS: usize = TABLE_ENTRIES / BLOCK;
    const SPANS: usize = TABLE_ENTRIES / WALK_SPAN;
    let near = near % TABLE_ENTRIES;
    let home = near / BLOCK;
    let block_nonzero = |block: usize| {
        // SAFETY: guaranteed by the caller. `block < BLOCKS` already; the
        // modulo shows the compiler that the product cannot overflow.
        !unsafe { block_is_zero(node.cast(), (block % BLOCKS) * BLOCK) }
    };
    if block_nonzero(home)
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
pub(super) const WALK_SPAN: usize = 4 * BLOCK;
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
pub(super) unsafe fn span_blocks_with_keys(leaf: NonNull<RadixLeaf>, first: usize) -> Option<u32> {
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
