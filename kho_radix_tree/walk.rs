// SPDX-License-Identifier: GPL-2.0

//! Visiting the nodes and the keys of the tree, in ascending or
//! descending order, and counting its nodes.

use super::*;

/// Visits every node in pre-order, tables by ascending index, calling
/// `f(level, node, key_prefix)`; level 0 is a leaf. Stops at and returns the
/// first non-zero result.
///
/// # Safety
///
/// `root` is a valid tree for `mem` and `f` does not modify it.
unsafe fn visit_preorder<M, F>(mem: &M, root: NonNull<RadixNode>, f: &mut F) -> i32
where
    M: NodeMemory + ?Sized,
    F: FnMut(u32, NonNull<RadixNode>, u64) -> i32,
{
    // SAFETY: guaranteed by the caller.
    unsafe { visit_tree::<false, true, M, F>(mem, root, f) }
}

/// [`visit_preorder`], with tables scanned by descending index if
/// `DESCENDING` (every table still before its children).
///
/// With `COUNTED`, the scan of a table whose count of entries is known
/// ([`NodeMemory::node_word`], see `TableCount`) stops once it has found
/// that many, instead of reading the rest of the table: in a sparse tree of
/// a few leaves, the tables are most of what a walk reads (the root's count
/// is not kept).
///
/// # Safety
///
/// As for [`visit_preorder`].
unsafe fn visit_tree<const DESCENDING: bool, const COUNTED: bool, M, F>(
    mem: &M,
    root: NonNull<RadixNode>,
    f: &mut F,
) -> i32
where
    M: NodeMemory + ?Sized,
    F: FnMut(u32, NonNull<RadixNode>, u64) -> i32,
{
    #[derive(Clone, Copy)]
    struct Frame {
        node: NonNull<RadixNode>,
        cursor: usize,
        prefix: u64,
        // Entries of `node` not yet found, or `usize::MAX` if unknown.
        left: usize,
    }
    // Where the scan of a table starts.
    const fn first_cursor(descending: bool) -> usize {
        if descending {
            TABLE_ENTRIES
        } else {
            0
        }
    }

    let err = f(TOP_LEVEL, root, 0);
    if err != 0 {
        return err;
    }

    // Throughout the loop, `stack[l]` for `level <= l <= TOP_LEVEL` is the
    // table being scanned at level `l`, its cursor (ascending: the next
    // index to look at; descending: the index below which entries remain),
    // its key prefix and how many of its entries are left to find.
    let mut stack = [Frame {
        node: root,
        cursor: first_cursor(DESCENDING),
        prefix: 0,
        left: usize::MAX,
    }; DEPTH];
    let mut level = TOP_LEVEL;
    loop {
        let Some(frame) = stack.get_mut(level as usize) else {
            return 0;
        };
        // SAFETY: `frame.node` is a table of the tree; `f` does not modify it.
        let next = unsafe {
            if frame.left == 0 {
                None
            } else if DESCENDING {
                prev_entry(frame.node, frame.cursor)
            } else {
                next_entry(frame.node, frame.cursor)
            }
        };
        let Some((i, entry)) = next else {
            if level == TOP_LEVEL {
                return 0;
            }
            level += 1;
            continue;
        };
        frame.cursor = if DESCENDING { i } else { i + 1 };
        // A known count reaches 0 at the table's last entry; an unknown one
        // (`usize::MAX`) never does. Saturating, so no panic path.
        frame.left = frame.left.saturating_sub(1);
        // `level_shift(level) < 64` for table levels (checked in the ABI).
        let prefix = frame.prefix | ((i as u64) << level_shift(level));
        let child = mem.phys_to_virt(entry);

        // `level >= 1`: the stack holds tables only. Saturating rather than
        // checked, so that the walk has no panic path.
        let err = f(level.saturating_sub(1), child, prefix);
        if err != 0 {
            return err;
        }
        if level > 1 {
            level -= 1;
            let left = if COUNTED {
                // SAFETY: `child` is a table of the tree, at level `level`.
                unsafe { TableCount::entries(mem, child) }.unwrap_or(usize::MAX)
            } else {
                usize::MAX
            };
            if let Some(slot) = stack.get_mut(level as usize) {
                *slot = Frame {
                    node: child,
                    cursor: first_cursor(DESCENDING),
                    prefix,
                    left,
                };
            }
        }
    }
}

/// Calls `f(w, bits)` for every non-zero word `w` of `leaf`, `bits` being
/// its value, in ascending order, skipping the all-zero spans as
/// [`walk_leaf_bits`] does; stops at and returns the first error.
///
/// For [`super::super::kho_radix_validate`], which checks the keys of a handed-over
/// tree a word at a time. Reading every word in turn made checking a tree of
/// one key per leaf 2-4 times as slow as walking it on the host (4K pages:
/// 350 ns per leaf, now 150-185). A span with keys is read again whole, not
/// only its blocks with keys as in the walk: the validator's work per word
/// outweighs the loads, and the block test cost a tenth on dense leaves.
///
/// # Safety
///
/// `leaf` is valid for reads of a page and not written during the call.
#[inline]
pub(crate) unsafe fn for_each_leaf_word<E>(
    leaf: NonNull<RadixLeaf>,
    mut f: impl FnMut(usize, u64) -> Result<(), E>,
) -> Result<(), E> {
    for span in 0..BITMAP_WORDS / WALK_SPAN {
        let first = span * WALK_SPAN;
        // SAFETY: guaranteed by the caller.
        if unsafe { span_blocks_with_keys(leaf, first) }.is_none() {
            continue;
        }
        for w in first..first + WALK_SPAN {
            // SAFETY: guaranteed by the caller.
            let bits = unsafe { read_word(leaf, w) };
            if bits != 0 {
                f(w, bits)?;
            }
        }
    }
    Ok(())
}

/// Calls `cb(prefix | bit)` for every set bit of `leaf` in ascending order;
/// stops at and returns the first non-zero result.
///
/// # Safety
///
/// `leaf` is a leaf of a valid tree and `cb` does not modify the tree.
#[inline]
unsafe fn walk_leaf_bits<F: FnMut(u64) -> i32 + ?Sized>(
    leaf: NonNull<RadixLeaf>,
    prefix: u64,
    cb: &mut F,
) -> i32 {
    // Sparse leaves are common (one preserved folio per leaf), so skip
    // all-zero spans of words with one OR over the span; only spans with a
    // key are read a second time. Reading every word once is the floor: the
    // bitmap is the only record of the keys.
    for span in 0..BITMAP_WORDS / WALK_SPAN {
        let first = span * WALK_SPAN;
        // SAFETY: guaranteed by the caller.
        let Some(nonzero) = (unsafe { span_blocks_with_keys(leaf, first) }) else {
            continue;
        };
        for b in 0..WALK_SPAN / BLOCK {
            if nonzero & (1 << b) == 0 {
                continue;
            }
            // SAFETY: guaranteed by the caller.
            let err = unsafe { walk_block_bits(leaf, first + b * BLOCK, prefix, cb) };
            if err != 0 {
                return err;
            }
        }
    }
    0
}

/// Calls `cb(prefix | bit)` for every set bit of the eight words of `leaf`
/// from `first` in ascending order; stops at and returns the first non-zero
/// result.
///
/// # Safety
///
/// As for [`walk_leaf_bits`].
#[inline(always)]
unsafe fn walk_block_bits<F: FnMut(u64) -> i32 + ?Sized>(
    leaf: NonNull<RadixLeaf>,
    first: usize,
    prefix: u64,
    cb: &mut F,
) -> i32 {
    for i in first..first + BLOCK {
        // SAFETY: guaranteed by the caller.
        let mut bits = unsafe { read_word(leaf, i) };
        while bits != 0 {
            let b = bits.trailing_zeros();
            bits &= bits - 1;
            let err = cb(prefix | ((i as u64) * 64 + u64::from(b)));
            if err != 0 {
                return err;
            }
        }
    }
    0
}

/// Walks the tree (`kho_radix_walk_tree()`).
///
/// Visits in exactly the C order: `node(phys)` for a table before its
/// children, `node(phys)` for a leaf before its keys, then `leaf(key)` for
/// each key of the leaf; keys come in ascending order. Either callback may be
/// absent. The walk stops at the first non-zero callback result and returns
/// it; 0 means the whole tree was visited.
///
/// # Safety
///
/// `root` is a valid tree for `mem` (see the module documentation) and the
/// callbacks do not modify it.
pub unsafe fn walk<M: NodeMemory + ?Sized>(
    mem: &M,
    root: NonNull<RadixNode>,
    mut leaf: Option<&mut dyn FnMut(u64) -> i32>,
    mut node: Option<&mut dyn FnMut(u64) -> i32>,
) -> i32 {
    let mut visit = |level: u32, n: NonNull<RadixNode>, prefix: u64| -> i32 {
        if let Some(cb) = node.as_deref_mut() {
            let err = cb(mem.virt_to_phys(n));
            if err != 0 {
                return err;
            }
        }
        match leaf.as_deref_mut() {
            // SAFETY: level 0 nodes are leaves of the tree; the callbacks do
            // not modify the tree (guaranteed by the caller).
            Some(cb) if level == 0 => unsafe { walk_leaf_bits(n.cast(), prefix, cb) },
            _ => 0,
        }
    };
    // SAFETY: `root` is a valid tree; `visit` only reads it and calls the
    // callbacks, which do not modify it.
    unsafe { visit_preorder(mem, root, &mut visit) }
}

/// Calls `f(key)` for every key of the tree in ascending order; stops at and
/// returns the first non-zero result, 0 means every key was visited.
///
/// [`walk()`] without the node callback, for Rust callers: `f` is a type
/// parameter, so the call per key is direct and inlined, where [`walk()`] (and
/// C) make an indirect call per key.
///
/// # Safety
///
/// `root` is a valid tree for `mem` (see the module documentation) and `f`
/// does not modify it.
pub unsafe fn walk_keys<M, F>(mem: &M, root: NonNull<RadixNode>, f: &mut F) -> i32
where
    M: NodeMemory + ?Sized,
    F: FnMut(u64) -> i32,
{
    // SAFETY: guaranteed by the caller.
    unsafe { walk_keys_in::<false, M, F>(mem, root, f) }
}

/// Calls `f(key)` for every key of the tree in *descending* order; stops at
/// and returns the first non-zero result, 0 means every key was visited.
///
/// The keys of one order, in descending order, are blocks in descending
/// physical address order. The next kernel reserves the preserved blocks in
/// memblock in this order: `memblock_reserve()` and the flag update after it
/// scan `memblock.reserved` from its lowest region up to the new block, so
/// blocks reserved from the top down each stop the scan at once, where in
/// ascending order every scan crosses all blocks reserved before. For 4096
/// scattered blocks under QEMU TCG that took the reservation walk from 166
/// to 45 ms (see Documentation/performance.rst).
///
/// # Safety
///
/// `root` is a valid tree for `mem` (see the module documentation) and `f`
/// does not modify it.
pub unsafe fn walk_keys_desc<M, F>(mem: &M, root: NonNull<RadixNode>, f: &mut F) -> i32
where
    M: NodeMemory + ?Sized,
    F: FnMut(u64) -> i32,
{
    // SAFETY: guaranteed by the caller.
    unsafe { walk_keys_in::<true, M, F>(mem, root, f) }
}

/// The body of [`walk_keys`] and, with `DESCENDING`, [`walk_keys_desc`].
///
/// # Safety
///
/// As for [`walk_keys`].
unsafe fn walk_keys_in<const DESCENDING: bool, M, F>(
    mem: &M,
    root: NonNull<RadixNode>,
    f: &mut F,
) -> i32
where
    M: NodeMemory + ?Sized,
    F: FnMut(u64) -> i32,
{
    let mut visit = |level: u32, n: NonNull<RadixNode>, prefix: u64| -> i32 {
        if level != 0 {
            return 0;
        }
        // SAFETY: level 0 nodes are leaves of the tree; `f` does not modify
        // the tree (guaranteed by the caller).
        unsafe {
            if DESCENDING {
                walk_leaf_bits_desc(n.cast(), prefix, f)
            } else {
                walk_leaf_bits(n.cast(), prefix, f)
            }
        }
    };
    // The descending walk is the next kernel's reservation walk, of a
    // handed-over tree whose tables carry no counts: it does not look for
    // them, so the benchmark times what that kernel does.
    // SAFETY: `root` is a valid tree; `visit` only reads it and calls `f`.
    unsafe {
        if DESCENDING {
            visit_tree::<true, false, M, _>(mem, root, &mut visit)
        } else {
            visit_tree::<false, true, M, _>(mem, root, &mut visit)
        }
    }
}

/// The highest index `i < end` of a non-zero entry of `node`, and the entry.
///
/// # Safety
///
/// As for [`read_entry`].
unsafe fn prev_entry(node: NonNull<RadixNode>, end: usize) -> Option<(usize, u64)> {
    let mut i = end.min(TABLE_ENTRIES);
    while i > 0 {
        // Skip all-zero blocks of eight aligned entries at a time. (A
        // non-zero multiple of `BLOCK` is at least `BLOCK`; the test says
        // so to the compiler, which then needs no underflow check.)
        if i % BLOCK == 0 && i >= BLOCK {
            // SAFETY: guaranteed by the caller.
            if unsafe { block_is_zero(node.cast(), i - BLOCK) } {
                i -= BLOCK;
                continue;
            }
        }
        i -= 1;
        // SAFETY: guaranteed by the caller.
        let e = unsafe { read_entry(node, i) };
        if e != 0 {
            return Some((i, e));
        }
    }
    None
}

/// Calls `cb(prefix | bit)` for every set bit of `leaf` in descending order;
/// stops at and returns the first non-zero result.
///
/// The mirror of [`walk_leaf_bits`], spans of [`WALK_SPAN`] words included:
/// this is the next kernel's reservation walk (patch 0052), which reads
/// leaves the previous kernel left, sparse ones too. The two share the span
/// test ([`span_blocks_with_keys`]) but not their loops: one body with a
/// `DESCENDING` parameter, the span and block indices counted down, made
/// this walk 799 instead of 631 ns per leaf at 65536 pages in the kernel
/// (1162 instead of 751 at 1048576), the ascending one unchanged.
///
/// # Safety
///
/// As for [`walk_leaf_bits`].
unsafe fn walk_leaf_bits_desc<F: FnMut(u64) -> i32 + ?Sized>(
    leaf: NonNull<RadixLeaf>,
    prefix: u64,
    cb: &mut F,
) -> i32 {
    for span in (0..BITMAP_WORDS / WALK_SPAN).rev() {
        let first = span * WALK_SPAN;
        // SAFETY: guaranteed by the caller.
        let Some(nonzero) = (unsafe { span_blocks_with_keys(leaf, first) }) else {
            continue;
        };
        for b in (0..WALK_SPAN / BLOCK).rev() {
            if nonzero & (1 << b) == 0 {
                continue;
            }
            // SAFETY: guaranteed by the caller.
            let err = unsafe { walk_block_bits_desc(leaf, first + b * BLOCK, prefix, cb) };
            if err != 0 {
                return err;
            }
        }
    }
    0
}

/// Calls `cb(prefix | bit)` for every set bit of the eight words of `leaf`
/// from `first` in descending order; stops at and returns the first non-zero
/// result.
///
/// # Safety
///
/// As for [`walk_leaf_bits`].
#[inline(always)]
unsafe fn walk_block_bits_desc<F: FnMut(u64) -> i32 + ?Sized>(
    leaf: NonNull<RadixLeaf>,
    first: usize,
    prefix: u64,
    cb: &mut F,
) -> i32 {
    for i in (first..first + BLOCK).rev() {
        // SAFETY: guaranteed by the caller.
        let mut bits = unsafe { read_word(leaf, i) };
        while bits != 0 {
            // The highest set bit: `63 - leading_zeros()` for the non-zero
            // `bits`, written so that no underflow check (a panic path) is
            // generated for the zero it never is.
            let b = 63 ^ bits.leading_zeros();
            bits &= !(1u64 << b);
            // `i * 64 + b`, as a shift: `i < BITMAP_WORDS`, but the compiler
            // does not see it here and would check a product.
            let err = cb(prefix | ((i as u64) << 6 | u64::from(b)));
            if err != 0 {
                return err;
            }
        }
    }
    0
}

/// Counts the nodes of the tree as `(tables, leaves)`; the root counts as a
/// table.
///
/// # Safety
///
/// `root` is a valid tree for `mem` (see the module documentation).
pub unsafe fn count_nodes<M: NodeMemory + ?Sized>(
    mem: &M,
    root: NonNull<RadixNode>,
) -> (usize, usize) {
    let (mut tables, mut leaves) = (0usize, 0usize);
    let mut count = |level: u32, _: NonNull<RadixNode>, _: u64| -> i32 {
        // Bounded by the nodes in memory; wrapping keeps the overflow
        // check's panic path out of the object code.
        if level == 0 {
            leaves = leaves.wrapping_add(1);
        } else {
            tables = tables.wrapping_add(1);
        }
        0
    };
    // SAFETY: `root` is a valid tree; `count` does not touch it.
    unsafe { visit_preorder(mem, root, &mut count) };
    (tables, leaves)
}

/// Checks the counts the tracker keeps in [`NodeMemory::node_word`]: returns
/// the first table (in preorder) whose known count is not its number of
/// non-zero entries, or `None` if all are right. For tests.
///
/// # Safety
///
/// `root` is a valid tree for `mem`, which the caller may write.
pub unsafe fn find_wrong_table_count<M: NodeMemory + ?Sized>(
    mem: &M,
    root: NonNull<RadixNode>,
) -> Option<NonNull<RadixNode>> {
    let mut wrong = None;
    let mut check = |level: u32, node: NonNull<RadixNode>, _: u64| -> i32 {
        if level == 0 {
            return 0;
        }
        // SAFETY: `node` is a table of the tree, which the caller may write.
        let known = match unsafe { mem.node_word(node) } {
            Some(word) if word.get() != 0 => word.get() - 1,
            _ => return 0,
        };
        let mut entries = 0;
        let mut from = 0;
        // SAFETY: as above.
        while let Some((i, _)) = unsafe { next_entry(node, from) } {
            entries += 1;
            from = i + 1;
        }
        if known == entries {
            return 0;
        }
        wrong = Some(node);
        1
    };
    // SAFETY: `root` is a valid tree; `check` does not modify it.
    unsafe { visit_preorder(mem, root, &mut check) };
    wrong
}
