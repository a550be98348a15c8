// SPDX-License-Identifier: GPL-2.0

//! Finding the path of a key from the root, and whether the tree holds a
//! key.

use super::*;

/// Path of a key: `path[l]` is the table at level `l` and the index taken
/// there (`path[0]` unused), plus the leaf.
pub(super) struct KeyPath {
    pub(super) path: [(NonNull<RadixNode>, usize); DEPTH],
    pub(super) leaf: NonNull<RadixLeaf>,
}

/// Finds the path of `key`, or `None` if a table entry on it is zero.
///
/// # Safety
///
/// `root` is a valid tree for `mem`.
pub(super) unsafe fn find_path<M: NodeMemory + ?Sized>(
    mem: &M,
    root: NonNull<RadixNode>,
    key: u64,
) -> Option<KeyPath> {
    let mut path = [(root, 0usize); DEPTH];
    let mut node = root;
    let mut level = TOP_LEVEL;
    while level > 0 {
        let idx = table_index(key, level);
        if let Some(slot) = path.get_mut(level as usize) {
            *slot = (node, idx);
        }
        // SAFETY: `node` is the root or was reached through valid entries.
        let entry = unsafe { read_entry(node, idx) };
        if entry == 0 {
            return None;
        }
        node = mem.phys_to_virt(entry);
        level -= 1;
    }
    Some(KeyPath {
        path,
        leaf: node.cast(),
    })
}

/// Finds the level-1 table and the leaf of `key`'s path, or `None` if a
/// table entry on it is zero: [`find_path`] without recording the path.
///
/// # Safety
///
/// `root` is a valid tree for `mem`.
#[inline(always)]
pub(super) unsafe fn find_leaf<M: NodeMemory + ?Sized>(
    mem: &M,
    root: NonNull<RadixNode>,
    key: u64,
) -> Option<(NonNull<RadixNode>, NonNull<RadixLeaf>)> {
    let mut node = root;
    let mut level = TOP_LEVEL;
    loop {
        // SAFETY: `node` is the root or was reached through valid entries.
        let entry = unsafe { read_entry(node, table_index(key, level)) };
        if entry == 0 {
            return None;
        }
        if level == 1 {
            // An entry of a level-1 table is a leaf.
            return Some((node, mem.phys_to_virt(entry).cast()));
        }
        node = mem.phys_to_virt(entry);
        level -= 1;
    }
}

/// Whether `key` is in the tree.
///
/// # Safety
///
/// `root` is a valid tree for `mem` (see the module documentation).
pub unsafe fn contains_key<M: NodeMemory + ?Sized>(
    mem: &M,
    root: NonNull<RadixNode>,
    key: u64,
) -> bool {
    if !key_in_range(key) {
        return false;
    }
    // SAFETY: `root` is a valid tree, guaranteed by the caller.
    let Some(kp) = (unsafe { find_path(mem, root, key) }) else {
        return false;
    };
    let bit = bitmap_index(key);
    // SAFETY: `kp.leaf` is a leaf of the tree.
    let w = unsafe { read_word(kp.leaf, bit / 64) };
    w & (1u64 << (bit % 64)) != 0
}
