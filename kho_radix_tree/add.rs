// SPDX-License-Identifier: GPL-2.0

//! Adding single keys, allocating a missing branch of the tree in one go.

use super::*;

/// Adds `key` to the tree (`kho_radix_add_key()`).
///
/// Allocates the missing tables and leaf on the key's path, all before any of
/// them is linked: if an allocation fails, the nodes this call allocated are
/// freed unlinked, so the tree is exactly as before.
///
/// Returns [`RadixError::Range`] for keys wider than [`KEY_WIDTH`] and
/// [`RadixError::NoMemory`] on allocation failure.
///
/// # Safety
///
/// `root` is a valid tree for `mem` (see the module documentation).
pub unsafe fn add_key<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    key: u64,
) -> Result<(), RadixError> {
    // SAFETY: guaranteed by the caller; a new cache belongs to any tree.
    unsafe { add_key_cached(mem, root, &mut TableCache::new(), key) }
}

/// [`add_key`] that starts from the level-1 table `cache` holds for the key,
/// if any, and remembers the key's table there.
///
/// # Safety
///
/// `root` is a valid tree for `mem` (see the module documentation) and
/// `cache` belongs to it.
// Inlined into the kernel's exported functions: a call costs as much as the
// cache hit it wraps.
#[inline(always)]
pub unsafe fn add_key_cached<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
) -> Result<(), RadixError> {
    if !key_in_range(key) {
        return Err(RadixError::Range);
    }
    // SAFETY: `cache` belongs to `root`'s tree, guaranteed by the caller.
    match unsafe { cache.leaf(mem, key) } {
        Some(leaf) => {
            // SAFETY: `leaf` is the leaf of `key`'s path, from the cached
            // table, which the caller lets us access.
            unsafe { set_key_bit(leaf, key) };
            Ok(())
        }
        // SAFETY: guaranteed by the caller; `key` is in range.
        None => unsafe { add_key_uncached(mem, root, cache, key) },
    }
}

/// [`add_key_cached`] when `cache` has no leaf for `key`: finds or grows
/// the leaf ([`grow_leaf_uncached`]), then sets the key's bit. Everything
/// after that call is here rather than in the caller, so that the kernel's
/// exported function keeps fewer values across its calls: under QEMU TCG
/// each callee-saved register it uses costs a store and a load on every
/// call.
///
/// In a tree of one leaf, the leaf also goes to the chunk-leaf slot of the
/// single-key reclaiming deletes (see [`del_key_reclaim_cached`]), which
/// then all find it with one compare instead of only after a first witness
/// died. With more leaves, which one later deletes want is not known here,
/// and a slot that hits now and then is a branch that mispredicts on
/// hardware. Under TCG, the in-kernel benchmark's `unpreserve_random` at
/// 1024 pages (one leaf) took 0.86-0.92 of C instead of 0.90-1.07 (six
/// boots each); at 65536 pages (two leaves) filling the slot for any tree
/// took 1.01-1.05 instead of 0.99-1.04.
///
/// # Safety
///
/// As for [`add_key_cached`], and `key` is in range.
#[cold]
#[inline(never)]
unsafe fn add_key_uncached<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
) -> Result<(), RadixError> {
    // SAFETY: guaranteed by the caller.
    let leaf = unsafe { grow_leaf_uncached(mem, root, cache, key) }?;
    if cache.has_one_leaf() {
        // `leaf` is the leaf of `key`'s path, as the slot's invariant needs.
        cache.set_chunk_leaf(key, KEY_LEAF_SLOT_ORDER, leaf);
    }
    // SAFETY: `leaf` is the leaf of `key`'s path, just found or grown,
    // which the caller lets us access.
    unsafe { set_key_bit(leaf, key) };
    Ok(())
}

/// The leaf in which a range add sets `key`'s bit: from the table `cache`
/// holds, or found or grown from the root. [`add_key_cached`] does the same
/// with the bit set inside each branch (see [`add_key_uncached`]).
///
/// # Safety
///
/// As for [`add_key_cached`].
#[inline(always)]
pub(super) unsafe fn leaf_to_add<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
) -> Result<NonNull<RadixLeaf>, RadixError> {
    if !key_in_range(key) {
        return Err(RadixError::Range);
    }
    // SAFETY: `cache` belongs to `root`'s tree, guaranteed by the caller.
    match unsafe { cache.leaf(mem, key) } {
        Some(leaf) => Ok(leaf),
        // SAFETY: guaranteed by the caller.
        None => unsafe { grow_leaf_uncached(mem, root, cache, key) },
    }
}

/// The path of [`leaf_to_add`] and [`add_key_uncached`] when `cache` has no
/// leaf for `key`:
/// descends from the root, allocating what is missing, and remembers the
/// key's level-1 table in `cache`.
///
/// Out of line: the cache misses only for the first key of a level-1 table
/// and of a new leaf, and under QEMU TCG a shorter exported function more
/// rarely straddles a page, which costs on every call.
///
/// # Safety
///
/// As for [`add_key_cached`], and `key` is in range.
#[cold]
#[inline(never)]
unsafe fn grow_leaf_uncached<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
) -> Result<NonNull<RadixLeaf>, RadixError> {
    // SAFETY: guaranteed by the caller.
    let (table, leaf) = unsafe { leaf_for_key(mem, root, cache, key) }?;
    cache.set(key, table);
    Ok(leaf)
}

/// Sets `key`'s bit in `leaf`.
///
/// # Safety
///
/// `leaf` is the leaf of `key`'s path in a valid tree that the caller may
/// write.
#[inline]
pub(super) unsafe fn set_key_bit(leaf: NonNull<RadixLeaf>, key: u64) {
    let bit = bitmap_index(key);
    // SAFETY: guaranteed by the caller.
    unsafe {
        let w = read_word(leaf, bit / 64);
        write_word(leaf, bit / 64, w | (1u64 << (bit % 64)));
    }
}

/// Returns the level-1 table and the leaf of `key`'s path, allocating the
/// missing tables and leaf.
///
/// On allocation failure everything allocated by this call is freed and the
/// tree is exactly as before.
///
/// # Safety
///
/// `root` is a valid tree for `mem` and `key` is in range.
#[inline(always)]
unsafe fn leaf_for_key<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
) -> Result<(NonNull<RadixNode>, NonNull<RadixLeaf>), RadixError> {
    // Fast path: descend as far as the path exists; nothing to undo here.
    let mut node = root;
    let mut level = TOP_LEVEL;
    loop {
        // SAFETY: `node` is the root or was reached through valid entries,
        // so it is a table of the tree, which the caller lets us access.
        let entry = unsafe { read_entry(node, table_index(key, level)) };
        if entry == 0 {
            break;
        }
        if level == 1 {
            // An entry of a level-1 table is a leaf.
            return Ok((node, mem.phys_to_virt(entry).cast::<RadixLeaf>()));
        }
        node = mem.phys_to_virt(entry);
        level -= 1;
    }
    // SAFETY: `node` is a table of the tree at `level` on `key`'s path.
    let grown = unsafe { grow_path(mem, node, level, key) }?;
    // The new branch ends in a new leaf.
    cache.count_new_leaf();
    Ok(grown)
}

/// Allocates the missing part of `key`'s path below the table `node` at
/// `level`, whose entry for `key` is zero, and returns the level-1 table and
/// the new leaf.
///
/// All nodes of the new branch come from one [`NodeMemory::alloc_nodes`]
/// call before any is linked, so on allocation failure the tree is exactly
/// as before and nothing needs undoing.
///
/// # Safety
///
/// `node` is a table at `level >= 1` on `key`'s path in a valid tree for
/// `mem` that the caller may write.
#[cold]
unsafe fn grow_path<M: NodeMemory + ?Sized>(
    mem: &mut M,
    mut node: NonNull<RadixNode>,
    mut level: u32,
    key: u64,
) -> Result<(NonNull<RadixNode>, NonNull<RadixLeaf>), RadixError> {
    // The new branch, one node per level below `level`, top down as C
    // allocates them (so that a memory handing out addresses in order gives
    // both trees the same): `branch[i]` becomes the child of the table at
    // level `level - i`.
    let mut branch: [Option<NonNull<RadixNode>>; DEPTH] = [None; DEPTH];
    // `level <= TOP_LEVEL < DEPTH`, so this is never `None`.
    let new_nodes = branch
        .get_mut(..level as usize)
        .ok_or(RadixError::NoMemory)?;
    if !mem.alloc_nodes(new_nodes) {
        return Err(RadixError::NoMemory);
    }
    // A node at physical address 0 cannot be linked: 0 marks an empty entry.
    // (A slot left `None` would break `NodeMemory`'s contract; it is caught
    // here for the price of the same loop.)
    if new_nodes
        .iter()
        .any(|new| !matches!(*new, Some(new) if mem.virt_to_phys(new) != 0))
    {
        // SAFETY: the nodes came from `mem.alloc_nodes()` above and are not
        // linked anywhere.
        unsafe { free_unlinked(mem, new_nodes) };
        return Err(RadixError::NoMemory);
    }

    // The level-1 table of the path, once the loop gets there.
    let mut table = node;
    let mut anchored = false;
    // `alloc_nodes()` filled every slot, and there are `level` of them, so
    // `level >= 1` in each round.
    for &new in new_nodes.iter().flatten() {
        let idx = table_index(key, level);
        // INVARIANT: `new` is zeroed, i.e. an empty table at `level - 1` (or
        // an empty leaf when `level == 1`), so linking it keeps the tree valid.
        // SAFETY: `node` is the caller's table or one this call linked into
        // the tree.
        unsafe { write_entry(node, idx, mem.virt_to_phys(new)) };
        // One count update per table, as in the kernel each is a call: the
        // caller's table (not the root, whose count is never kept) has one
        // entry more, a table this call linked its first.
        if !anchored {
            anchored = true;
            if level != TOP_LEVEL {
                // SAFETY: as above.
                unsafe { TableCount::linked(mem, node) };
            }
        } else {
            // SAFETY: `node` came from `mem.alloc_nodes()` in this call, was
            // zeroed and is linked into the tree; `idx` is its only entry.
            unsafe { TableCount::first_entry(mem, node) };
        }
        if level == 1 {
            table = node;
        }
        node = new;
        level = level.wrapping_sub(1);
    }

    // `node` was reached from a level-1 entry of `table`, so it is a leaf.
    Ok((table, node.cast::<RadixLeaf>()))
}
