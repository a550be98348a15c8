// SPDX-License-Identifier: GPL-2.0

//! Lookups in an [`AcceptedTree`]: which preserved block, if any, holds a
//! given range.
//!
//! The kernel asks it about the handover FDT, which the next kernel keeps
//! using after the page allocator takes over free memory.

use super::*;

impl<L: PhysLayout + ?Sized> AcceptedTree<'_, L> {
    /// The preserved block `(start, order)` that holds all of
    /// `[phys, phys + size)`, or `None` if no block does (or `size` is 0, or
    /// the range wraps).
    ///
    /// Looks up the one aligned block of each order from 0 to
    /// [`AcceptedTree::max_order`] that could hold the range: at most one
    /// descent per order, no walk of the tree. Blocks never overlap in an
    /// accepted tree, so at most one of them is preserved.
    pub fn covering_block(&self, phys: u64, size: u64) -> Option<(u64, u32)> {
        let last = phys.checked_add(size.checked_sub(1)?)?;
        (0..=self.max_order).find_map(|order| {
            // Wrapping operations keep overflow checks (panic paths) out:
            // `block` is not zero and `start <= phys <= last`.
            let block = PAGE_BYTES.checked_shl(order)?;
            let start = phys & !block.wrapping_sub(1);
            if last.wrapping_sub(start) >= block {
                return None;
            }
            let key = encode_key(start, order);
            // SAFETY: `self.root` came from `self.layout.node_ptr()`, whose
            // contract holds while `self` lives (type invariants).
            let leaf = unsafe { find_leaf(self.layout, self.root, key) }?;
            let bit = bitmap_index(key);
            // SAFETY: `leaf` came from `node_ptr` (through `find_leaf`).
            let word = unsafe { read_word(leaf, bit / 64) };
            (word & (1u64 << (bit % 64)) != 0).then_some((start, order))
        })
    }

    /// Whether preserved blocks cover all of `[phys, phys + size)`, one
    /// after the other (a range preserved with `kho_preserve_pages()` is
    /// split into blocks of several orders); `false` for an empty or
    /// wrapping range.
    ///
    /// One [`AcceptedTree::covering_block`] lookup per block of the range:
    /// it stops at the first page no block holds, so a huge `size` costs no
    /// more than the blocks that exist.
    pub fn range_preserved(&self, phys: u64, size: u64) -> bool {
        let Some(last) = size.checked_sub(1).and_then(|s| phys.checked_add(s)) else {
            return false;
        };
        let mut at = phys;
        loop {
            let Some((start, order)) = self.covering_block(at, 1) else {
                return false;
            };
            let Some(block) = PAGE_BYTES.checked_shl(order) else {
                return false;
            };
            // The block is aligned to its size, so its last byte does not
            // wrap, and `block_last < last` below: the wrapping operations
            // only keep overflow checks (panic paths) out.
            let block_last = start | block.wrapping_sub(1);
            if block_last >= last {
                return true;
            }
            at = block_last.wrapping_add(1);
        }
    }
}
