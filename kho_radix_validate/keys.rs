// SPDX-License-Identifier: GPL-2.0

//! Pass 2, the keys: a bitmap word at a time, each key's block in RAM,
//! outside the scratch areas and clear of the tree's own pages.

use super::*;

/// The sorted addresses of the tree pages, searched from where the last
/// search ended.
///
/// Pass 2 asks about the keys' ranges in key order, which within one order
/// is ascending address order, so most searches move on by a few nodes or
/// none. A binary search for every key was most of pass 2's time on a tree
/// of scattered keys (host, 4K pages: 20.8 ns per key for the range tree).
///
/// # Invariants
///
/// `next <= nodes.len()`, and every node before `next` is below the `start`
/// of the last search (0 and any `next` before the first).
pub(super) struct NodeFinder<'a> {
    nodes: &'a [u64],
    next: usize,
}

impl<'a> NodeFinder<'a> {
    /// A finder over `nodes`, which is sorted.
    pub(super) fn new(nodes: &'a [u64]) -> Self {
        // INVARIANT: no search yet.
        Self { nodes, next: 0 }
    }

    /// The address of a tree page in `[start, end)`, if any.
    #[inline]
    fn node_in(&mut self, start: u64, end: u64) -> Option<u64> {
        let nodes = self.nodes;
        let mut i = self.next;
        if i.checked_sub(1)
            .and_then(|p| nodes.get(p))
            .is_some_and(|&a| a >= start)
        {
            // Behind the last search (a new order): search what lies before.
            i = nodes
                .get(..i)
                .map_or(0, |s| s.partition_point(|&a| a < start));
        } else {
            // A few steps forward, then a binary search of the rest. `i`
            // stays within `nodes.len()`: wrapping adds only keep overflow
            // checks, which are panic paths, out of the object code.
            let mut steps = 0u32;
            while let Some(&a) = nodes.get(i) {
                if a >= start {
                    break;
                }
                if steps == 4 {
                    i = i.wrapping_add(
                        nodes
                            .get(i..)
                            .map_or(0, |s| s.partition_point(|&a| a < start)),
                    );
                    break;
                }
                i = i.wrapping_add(1);
                steps = steps.wrapping_add(1);
            }
        }
        // INVARIANT: `i` is the first node at or above `start`, or the end.
        self.next = i;
        nodes.get(i).copied().filter(|&a| a < end)
    }
}

/// Checks one key on its own (pass 2): it decodes, its order is at most
/// `max_order`, and its range is in RAM, outside the scratch areas and free
/// of tree pages (looked up in `nodes`). Returns its order.
pub(super) fn check_key<L: PhysLayout + ?Sized>(
    layout: &L,
    nodes: &mut NodeFinder<'_>,
    max_order: u32,
    bit: usize,
    key: u64,
) -> Result<u32, ValidationError> {
    let err = |kind: ErrorKind, other: u64| ValidationError {
        level: 0,
        index: bit,
        value: key,
        other,
        kind,
    };
    let (phys, order) = decode_key(key).ok_or(err(ErrorKind::BadKey, 0))?;
    if order > max_order {
        return Err(err(ErrorKind::OrderTooLarge, u64::from(order)));
    }
    // `PAGE_SHIFT + order <= 63` as `order <= MAX_KEY_ORDER`, so the shift
    // loses no bit.
    let size = PAGE_BYTES << order;
    let Some(end) = phys.checked_add(size) else {
        return Err(err(ErrorKind::RangeNotRam, phys));
    };
    if !layout.is_ram(phys, size) {
        return Err(err(ErrorKind::RangeNotRam, phys));
    }
    if !layout.on_one_node(phys, size) {
        return Err(err(ErrorKind::RangeAcrossNodes, phys));
    }
    if layout.in_scratch(phys, size) {
        return Err(err(ErrorKind::RangeInScratch, phys));
    }
    if let Some(node) = nodes.node_in(phys, end) {
        return Err(err(ErrorKind::CoversNode, node));
    }
    Ok(order)
}

/// Fast path of pass 2 for the bitmap word `bits` whose bit 0 is key `base`:
/// returns the order of its keys if [`check_key`] would accept every one of
/// them, as shown by checking their whole span at once; `None` means "check
/// them one by one", not that one is faulty.
///
/// Within one order, keys increase with the address, and a key's order is
/// given by its highest bit; so if the first and the last key of the word
/// have the same order, all keys between have it too, and their ranges lie
/// in `[first's address, end of last's range)`. If that span is RAM of one
/// node, outside the scratch areas and free of tree pages, so is every part
/// of it.
pub(super) fn word_in_bounds<L: PhysLayout + ?Sized>(
    layout: &L,
    nodes: &mut NodeFinder<'_>,
    max_order: u32,
    base: u64,
    bits: u64,
) -> Option<u32> {
    // One key: the span is its range, nothing to gain.
    if bits.count_ones() < 2 {
        return None;
    }
    let (start, order) = decode_key(base | u64::from(bits.trailing_zeros()))?;
    let (last, last_order) = decode_key(base | u64::from(63 - bits.leading_zeros()))?;
    if order != last_order || order > max_order {
        return None;
    }
    let end = last.checked_add(PAGE_BYTES << order)?;
    let len = end.checked_sub(start)?;
    let ok = layout.is_ram(start, len)
        && layout.on_one_node(start, len)
        && !layout.in_scratch(start, len)
        && nodes.node_in(start, end).is_none();
    ok.then_some(order)
}
