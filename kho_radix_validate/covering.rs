// SPDX-License-Identifier: GPL-2.0

//! After validation: which preserved block, if any, holds a given range.
//!
//! The kernel asks it about the handover FDT, which the next kernel keeps
//! using after the page allocator takes over free memory.

use super::*;

/// The preserved block `(start, order)` that holds all of
/// `[phys, phys + size)`, or `None` if no block does (or `size` is 0, or the
/// range wraps).
///
/// Looks up the one aligned block of each order from 0 to `max_order`
/// (capped at [`MAX_KEY_ORDER`]) that could hold the range: at most one
/// descent per order, no walk of the tree. Blocks never overlap in a tree
/// [`validate_tree`] accepted, so at most one of them is preserved.
///
/// # Safety
///
/// The tree at `root_phys` was accepted by [`validate_tree`] with this
/// `layout`, which still honours the contract given there, and the tree has
/// not been written to since.
pub unsafe fn covering_block<L: PhysLayout + ?Sized>(
    layout: &L,
    root_phys: u64,
    phys: u64,
    size: u64,
    max_order: u32,
) -> Option<(u64, u32)> {
    let root = layout.node_ptr(root_phys).filter(|&n| is_node_aligned(n))?;
    // SAFETY: `root` came from `layout.node_ptr()`; the rest is the caller's.
    unsafe { block_holding(layout, root, phys, size, max_order) }
}

/// [`covering_block`] below a root already looked up.
///
/// # Safety
///
/// As for [`covering_block`], and `root` came from `layout.node_ptr()` of
/// the tree's root address.
unsafe fn block_holding<L: PhysLayout + ?Sized>(
    layout: &L,
    root: NonNull<RadixNode>,
    phys: u64,
    size: u64,
    max_order: u32,
) -> Option<(u64, u32)> {
    let last = phys.checked_add(size.checked_sub(1)?)?;
    (0..=max_order.min(MAX_KEY_ORDER)).find_map(|order| {
        // Wrapping operations keep overflow checks (panic paths) out:
        // `block` is not zero and `start <= phys <= last`.
        let block = PAGE_BYTES.checked_shl(order)?;
        let start = phys & !block.wrapping_sub(1);
        if last.wrapping_sub(start) >= block {
            return None;
        }
        let key = encode_key(start, order);
        // SAFETY: `root` came from `layout.node_ptr()`, which honours the
        // contract of `validate_tree()` (caller).
        let leaf = unsafe { find_leaf(layout, root, key) }?;
        let bit = bitmap_index(key);
        // SAFETY: `leaf` came from `node_ptr` (through `find_leaf`).
        let word = unsafe { read_word(leaf, bit / 64) };
        (word & (1u64 << (bit % 64)) != 0).then_some((start, order))
    })
}

/// Whether preserved blocks cover all of `[phys, phys + size)`, one after
/// the other (a range preserved with `kho_preserve_pages()` is split into
/// blocks of several orders); `false` for an empty or wrapping range.
///
/// One lookup of the root, then one of [`covering_block`]'s per block of
/// the range: it stops at the first page no block holds, so a huge `size`
/// costs no more than the blocks that exist.
///
/// # Safety
///
/// As for [`covering_block`].
pub unsafe fn range_preserved<L: PhysLayout + ?Sized>(
    layout: &L,
    root_phys: u64,
    phys: u64,
    size: u64,
    max_order: u32,
) -> bool {
    let Some(last) = size.checked_sub(1).and_then(|s| phys.checked_add(s)) else {
        return false;
    };
    let Some(root) = layout.node_ptr(root_phys).filter(|&n| is_node_aligned(n)) else {
        return false;
    };
    let mut at = phys;
    loop {
        // SAFETY: `root` came from `layout.node_ptr()`; the rest is
        // guaranteed by the caller.
        let Some((start, order)) = (unsafe { block_holding(layout, root, at, 1, max_order) })
        else {
            return false;
        };
        let Some(block) = PAGE_BYTES.checked_shl(order) else {
            return false;
        };
        // The block is aligned to its size, so its last byte does not wrap,
        // and `block_last < last` below: the wrapping operations only keep
        // overflow checks (panic paths) out.
        let block_last = start | block.wrapping_sub(1);
        if block_last >= last {
            return true;
        }
        at = block_last.wrapping_add(1);
    }
}
