// SPDX-License-Identifier: GPL-2.0

//! Pass 1, the structure: a bounded walk that checks every table entry and
//! records every node, and the sort that finds a node reached twice.

use super::*;

/// Checks the address of a tree page and maps it.
pub(super) fn check_node<L: PhysLayout + ?Sized>(
    layout: &L,
    phys: u64,
) -> Result<NonNull<RadixNode>, ErrorKind> {
    if phys & (PAGE_BYTES - 1) != 0 {
        return Err(ErrorKind::Misaligned);
    }
    if !layout.is_ram(phys, PAGE_BYTES) {
        return Err(ErrorKind::NotRam);
    }
    if layout.in_scratch(phys, PAGE_BYTES) {
        return Err(ErrorKind::InScratch);
    }
    let p = layout.node_ptr(phys).ok_or(ErrorKind::Unmapped)?;
    if !is_node_aligned(p) {
        return Err(ErrorKind::Unmapped);
    }
    Ok(p)
}

/// A node reached through a table entry, as seen by a walk callback.
pub(super) struct Visit {
    /// Level of the table holding the entry; the node is at `level - 1`, a
    /// leaf if `level == 1`.
    pub(super) level: u32,
    /// Index of the entry.
    pub(super) index: usize,
    /// The entry: the node's physical address.
    pub(super) phys: u64,
    /// The node, as mapped by [`PhysLayout::node_ptr`].
    pub(super) node: NonNull<RadixNode>,
    /// Key bits decoded by the tables above and including the entry.
    pub(super) prefix: u64,
}

/// Node counts of a walk.
pub(super) struct Counts {
    pub(super) tables: usize,
    pub(super) leaves: usize,
}

/// Walks the tree below the (already checked) root in pre-order, checking
/// every non-zero table entry before following it, and calls `visit` for each
/// node reached; stops at the first error.
///
/// At most `max_nodes` nodes, the root included, are visited; the walk does
/// `O(max_nodes * (TABLE_ENTRIES + TREE_MAX_DEPTH))` work whatever the pages
/// hold.
///
/// # Safety
///
/// `root` came from `layout.node_ptr(root_phys)`, and `layout` honours the
/// contract of [`validate_tree`].
pub(super) unsafe fn walk_checked<L: PhysLayout + ?Sized>(
    layout: &L,
    root_phys: u64,
    root: NonNull<RadixNode>,
    max_nodes: usize,
    visit: &mut dyn FnMut(&Visit) -> Result<(), ValidationError>,
) -> Result<Counts, ValidationError> {
    #[derive(Clone, Copy)]
    struct Frame {
        node: NonNull<RadixNode>,
        phys: u64,
        next: usize,
        prefix: u64,
    }

    let mut counts = Counts {
        tables: 1,
        leaves: 0,
    };
    // Throughout the loop, `stack[l]` for `level <= l <= TOP_LEVEL` is the
    // table being scanned at level `l` (mapped by `node_ptr`), its address,
    // the next index to look at and its key prefix; they are the current
    // table and its ancestors.
    let mut stack = [Frame {
        node: root,
        phys: root_phys,
        next: 0,
        prefix: 0,
    }; DEPTH];
    let mut level = TOP_LEVEL;
    loop {
        let Some(frame) = stack.get_mut(level as usize) else {
            return Ok(counts);
        };
        // SAFETY: `frame.node` came from `node_ptr` (the root, or a child
        // pushed below), as the caller's contract requires.
        let Some((i, entry)) = (unsafe { next_entry(frame.node, frame.next) }) else {
            if level == TOP_LEVEL {
                return Ok(counts);
            }
            level += 1;
            continue;
        };
        frame.next = i + 1;
        let parent_prefix = frame.prefix;
        let err = |kind: ErrorKind, other: u64| ValidationError {
            level,
            index: i,
            value: entry,
            other,
            kind,
        };

        // `level_shift(level) < 64` for table levels; bits shifted out or
        // above `KEY_WIDTH` mean no key below this entry can be encoded.
        let shift = level_shift(level);
        let bits = (i as u64) << shift;
        let prefix = parent_prefix | bits;
        if bits >> shift != i as u64 || !key_in_range(prefix) {
            return Err(err(ErrorKind::KeyOutOfRange, 0));
        }

        let mut l = level;
        while l <= TOP_LEVEL {
            if let Some(anc) = stack.get(l as usize) {
                if anc.phys == entry {
                    return Err(err(ErrorKind::Cycle, u64::from(l)));
                }
            }
            l += 1;
        }

        // Both counts grow by one per node visited and stop at `max_nodes`
        // (checked here), so neither the sum nor the increments below can
        // wrap; wrapping arithmetic keeps overflow checks, which are panic
        // paths, out of code that reads an untrusted tree.
        let visited = counts.tables.wrapping_add(counts.leaves);
        if visited >= max_nodes {
            return Err(err(ErrorKind::TooManyNodes, max_nodes as u64));
        }
        let node = check_node(layout, entry).map_err(|k| err(k, 0))?;
        visit(&Visit {
            level,
            index: i,
            phys: entry,
            node,
            prefix,
        })?;

        // `level` is a table level, never 0; `<=` shows the compiler that
        // the `-= 1` below cannot underflow.
        if level <= 1 {
            counts.leaves = counts.leaves.wrapping_add(1);
        } else {
            counts.tables = counts.tables.wrapping_add(1);
            level -= 1;
            // Keeps the loop's rule on `stack`: `node` came from `node_ptr`
            // and `entry` is neither the current table nor one of its
            // ancestors.
            if let Some(slot) = stack.get_mut(level as usize) {
                *slot = Frame {
                    node,
                    phys: entry,
                    next: 0,
                    prefix,
                };
            }
        }
    }
}

/// Sorts `a` in place with heapsort, as the kernel's `sort()` does:
/// `O(n log n)` with no recursion or allocation, in little code.
///
/// `sort_unstable()` brings in kilobytes of sorting networks, and this pass
/// runs once per boot with cold caches (under QEMU TCG, translating code the
/// first time it runs is most of the validation's time).
pub(super) fn heapsort(a: &mut [u64]) {
    for start in (0..a.len() / 2).rev() {
        sift_down(a, start, a.len());
    }
    // Move the top to the end and shrink the heap; splitting off the last
    // element instead of `a.swap(0, end)` needs no bounds check.
    let mut heap = a;
    while let Some((last, rest)) = core::mem::take(&mut heap).split_last_mut() {
        if let Some(top) = rest.first_mut() {
            core::mem::swap(top, last);
        }
        let end = rest.len();
        sift_down(rest, 0, end);
        heap = rest;
    }
}

/// Moves `a[root]` down the max-heap `a[..end]` to its place.
fn sift_down(a: &mut [u64], mut root: usize, end: usize) {
    loop {
        // `root < end <= a.len() <= isize::MAX`, so this cannot wrap.
        let left = root.wrapping_mul(2).wrapping_add(1);
        if left >= end {
            return;
        }
        let right = left + 1;
        let child = match (a.get(left), a.get(right)) {
            (Some(&l), Some(&r)) if right < end && r > l => right,
            (Some(_), _) => left,
            (None, _) => return,
        };
        match (a.get(root), a.get(child)) {
            (Some(&parent), Some(&larger)) if parent < larger => a.swap(root, child),
            _ => return,
        }
        root = child;
    }
}

/// Stores `value` at `scratch[*n]` for the visit `v` and advances `*n`; a full
/// buffer is [`ErrorKind::TooManyNodes`] (unreachable: a walk visits at most
/// `max_nodes <= scratch.len()` nodes).
pub(super) fn push(
    scratch: &mut [MaybeUninit<u64>],
    n: &mut usize,
    value: u64,
    v: &Visit,
    max_nodes: usize,
) -> Result<(), ValidationError> {
    let slot = scratch.get_mut(*n).ok_or(ValidationError {
        level: v.level,
        index: v.index,
        value: v.phys,
        other: max_nodes as u64,
        kind: ErrorKind::TooManyNodes,
    })?;
    slot.write(value);
    // `*n < scratch.len()`, checked just above.
    *n = n.wrapping_add(1);
    Ok(())
}
