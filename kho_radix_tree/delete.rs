// SPDX-License-Identifier: GPL-2.0

//! Deleting single keys without freeing nodes, as C does.

use super::*;

/// The path of [`leaf_to_clear`] when `cache` has no leaf for `key`:
/// [`find_leaf`], remembering the key's level-1 table in `cache`. Out of
/// line, as `add.rs`'s `grow_leaf_uncached()` is.
///
/// # Safety
///
/// `root` is a valid tree for `mem` and `cache` belongs to it.
#[cold]
#[inline(never)]
unsafe fn find_leaf_uncached<M: NodeMemory + ?Sized>(
    mem: &M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
) -> Option<NonNull<RadixLeaf>> {
    // SAFETY: guaranteed by the caller.
    let (table, leaf) = unsafe { find_leaf(mem, root, key) }?;
    cache.set(key, table);
    Some(leaf)
}

/// Clears the bit of `key` in `leaf`.
///
/// Whether the leaf emptied is not asked of the key's word: in random
/// order that branch mispredicts, and the reclaiming deletes read a witness
/// instead (see [`del_key_reclaim_cached`]).
///
/// # Safety
///
/// `leaf` is a leaf of a valid tree.
#[inline]
pub(super) unsafe fn clear_key_bit(leaf: NonNull<RadixLeaf>, key: u64) {
    let bit = bitmap_index(key);
    // SAFETY: guaranteed by the caller.
    unsafe {
        let w = read_word(leaf, bit / 64) & !(1u64 << (bit % 64));
        write_word(leaf, bit / 64, w);
    }
}

/// Removes `key` from the tree (`kho_radix_del_key()`).
///
/// Like C, it only clears the key's bit and never frees nodes, even if they
/// become empty; see [`del_key_reclaim`]. Deleting an absent key whose path
/// exists succeeds.
///
/// Returns [`RadixError::Range`] for keys wider than [`KEY_WIDTH`] (C returns
/// silently) and [`RadixError::NotPresent`] if a table on the key's path is
/// missing (C `WARN`s).
///
/// # Safety
///
/// `root` is a valid tree for `mem` (see the module documentation).
pub unsafe fn del_key<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    key: u64,
) -> Result<(), RadixError> {
    // SAFETY: guaranteed by the caller; a new cache belongs to any tree.
    unsafe { del_key_cached(mem, root, &mut TableCache::new(), key) }
}

/// [`del_key`] that starts from the level-1 table `cache` holds for the key,
/// if any, and remembers the key's table there.
///
/// # Safety
///
/// `root` is a valid tree for `mem` (see the module documentation) and
/// `cache` belongs to it.
// Inlined into the kernel's exported functions: a call costs as much as the
// cache hit it wraps.
#[inline(always)]
pub unsafe fn del_key_cached<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
) -> Result<(), RadixError> {
    if !key_in_range(key) {
        return Err(RadixError::Range);
    }
    // SAFETY: guaranteed by the caller; `key` is in range.
    let leaf = unsafe { leaf_to_clear(mem, root, cache, key) }.ok_or(RadixError::NotPresent)?;
    // SAFETY: `leaf` is the leaf of `key`'s path in the tree.
    unsafe { clear_key_bit(leaf, key) };
    Ok(())
}

/// The leaf in which a delete clears `key`'s bit: from the table `cache`
/// holds, or found from the root; `None` if `key`'s path is missing.
///
/// # Safety
///
/// `root` is a valid tree for `mem`, `cache` belongs to it and `key` is in
/// range.
#[inline(always)]
pub(super) unsafe fn leaf_to_clear<M: NodeMemory + ?Sized>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut TableCache,
    key: u64,
) -> Option<NonNull<RadixLeaf>> {
    // SAFETY: `cache` belongs to `root`'s tree, guaranteed by the caller.
    match unsafe { cache.leaf(mem, key) } {
        Some(leaf) => Some(leaf),
        // SAFETY: guaranteed by the caller.
        None => unsafe { find_leaf_uncached(mem, root, cache, key) },
    }
}
