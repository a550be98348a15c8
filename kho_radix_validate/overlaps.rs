// SPDX-License-Identifier: GPL-2.0

//! Pass 3, the overlaps: the keys of lower orders inside each block of a
//! higher order, searched only in leaves that exist.

use super::*;

/// Calls `f(bit, key)` for every set bit of the leaf `node` in ascending
/// order; stops at the first error.
///
/// # Safety
///
/// As for [`read_entry`].
pub(super) unsafe fn for_each_key(
    node: NonNull<RadixNode>,
    prefix: u64,
    f: &mut dyn FnMut(usize, u64) -> Result<(), ValidationError>,
) -> Result<(), ValidationError> {
    // SAFETY: `node` is aligned and readable for a page and not written
    // during the validation (caller); `RadixLeaf` has the layout of
    // `RadixNode`.
    unsafe {
        for_each_leaf_word(node.cast(), |w, mut bits| {
            while bits != 0 {
                let b = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let bit = w * 64 + b;
                f(bit, prefix | bit as u64)?;
            }
            Ok(())
        })
    }
}

/// The leaf of `key`'s path, or `None` if the path is missing or an entry on
/// it is refused by `node_ptr`.
///
/// # Safety
///
/// `root` came from `layout.node_ptr()`, and `layout` honours the contract of
/// [`validate_tree`].
pub(super) unsafe fn find_leaf<L: PhysLayout + ?Sized>(
    layout: &L,
    root: NonNull<RadixNode>,
    key: u64,
) -> Option<NonNull<RadixNode>> {
    let mut node = root;
    let mut level = TOP_LEVEL;
    while level > 0 {
        // SAFETY: `node` is `root` or came from `node_ptr` below.
        let e = unsafe { read_entry(node, table_index(key, level)) };
        if e == 0 {
            return None;
        }
        match layout.node_ptr(e) {
            Some(n) if is_node_aligned(n) => node = n,
            _ => return None,
        }
        level -= 1;
    }
    Some(node)
}

/// Lowest set bit of `leaf` in `from..=to`, if any.
///
/// # Safety
///
/// As for [`read_entry`].
unsafe fn first_bit(leaf: NonNull<RadixNode>, from: usize, to: usize) -> Option<usize> {
    let last = to / 64;
    let mut w = from / 64;
    let mut mask = u64::MAX << (from % 64);
    while w <= last {
        // SAFETY: guaranteed by the caller.
        let mut bits = unsafe { read_word(leaf, w) } & mask;
        if w == last {
            bits &= u64::MAX >> (63 - to % 64);
        }
        if bits != 0 {
            return Some(w * 64 + bits.trailing_zeros() as usize);
        }
        mask = u64::MAX;
        w += 1;
    }
    None
}

/// Finds set keys in key ranges of one order (pass 3), visiting only leaves
/// that exist.
///
/// `leaves` holds `key >> BITMAP_SIZE_LOG2` of every leaf of the tree, in
/// ascending order; per order, the last leaf looked up (or that it is
/// missing) is remembered, so that ranges searched in ascending order cost a
/// compare instead of a descent with a `node_ptr` call per level.
pub(super) struct RangeFinder<'a, L: PhysLayout + ?Sized> {
    layout: &'a L,
    root: NonNull<RadixNode>,
    leaves: &'a [u64],
    /// Per order: the leaf number of the cached lookup, and its leaf.
    last: [Option<(u64, Option<NonNull<RadixNode>>)>; ORDER_SLOTS],
}

impl<'a, L: PhysLayout + ?Sized> RangeFinder<'a, L> {
    /// # Safety
    ///
    /// `root` came from `layout.node_ptr()`, and `layout` honours the
    /// contract of [`validate_tree`].
    pub(super) unsafe fn new(layout: &'a L, root: NonNull<RadixNode>, leaves: &'a [u64]) -> Self {
        Self {
            layout,
            root,
            leaves,
            last: [None; ORDER_SLOTS],
        }
    }

    /// The leaf number `p`, looked up for a range of order `order`; `listed`
    /// tells that `p` is known to be in `leaves`.
    fn leaf(&mut self, order: u32, p: u64, listed: bool) -> Option<NonNull<RadixNode>> {
        let slot = self.last.get_mut(order as usize);
        if let Some(Some((q, leaf))) = slot.as_deref() {
            if *q == p {
                return *leaf;
            }
        }
        let leaf = if listed || self.leaves.binary_search(&p).is_ok() {
            // SAFETY: `root` and `layout` are as `new` requires.
            unsafe { find_leaf(self.layout, self.root, p << BITMAP_SIZE_LOG2) }
        } else {
            None
        };
        if let Some(slot) = slot {
            *slot = Some((p, leaf));
        }
        leaf
    }

    /// The lowest key of `lo..=hi` present in the tree; `lo` and `hi` are
    /// keys of order `order`.
    ///
    /// Reads only leaves that exist: `O(log N)` to find the first, then per
    /// leaf in the range a cached lookup (or a descent) and the bitmap words
    /// inside the range.
    pub(super) fn first_key(&mut self, order: u32, lo: u64, hi: u64) -> Option<u64> {
        let (p_lo, p_hi) = (lo >> BITMAP_SIZE_LOG2, hi >> BITMAP_SIZE_LOG2);
        let (from, to) = (bitmap_index(lo), bitmap_index(hi));
        if p_lo == p_hi {
            let leaf = self.leaf(order, p_lo, false)?;
            // SAFETY: `leaf` came from `node_ptr` (through `find_leaf`).
            let bit = unsafe { first_bit(leaf, from, to) }?;
            return Some((p_lo << BITMAP_SIZE_LOG2) | bit as u64);
        }
        let mut i = self.leaves.partition_point(|&p| p < p_lo);
        while let Some(&p) = self.leaves.get(i) {
            if p > p_hi {
                break;
            }
            if let Some(leaf) = self.leaf(order, p, true) {
                let f = if p == p_lo { from } else { 0 };
                let t = if p == p_hi { to } else { BITMAP_BITS - 1 };
                // SAFETY: `leaf` came from `node_ptr` (through `find_leaf`).
                if let Some(bit) = unsafe { first_bit(leaf, f, t) } {
                    return Some((p << BITMAP_SIZE_LOG2) | bit as u64);
                }
            }
            i += 1;
        }
        None
    }
}
