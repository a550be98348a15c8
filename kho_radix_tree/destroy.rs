// SPDX-License-Identifier: GPL-2.0

//! Freeing a whole tree.

use super::*;

/// Frees every node of the tree, root included (`kho_radix_destroy_tree()`).
///
/// Children are freed before their table, like C.
///
/// # Safety
///
/// `root` is a valid tree for `mem` whose nodes, root included, all come from
/// `mem.alloc_node()` or `mem.alloc_nodes()`; nothing uses the tree
/// afterwards.
pub unsafe fn destroy<M: NodeMemory + ?Sized>(mem: &mut M, root: NonNull<RadixNode>) {
    // Throughout the loop, `stack[l]` for `level <= l <= TOP_LEVEL` is the
    // table at level `l` being emptied and the next index to look at.
    let mut stack = [(root, 0usize); DEPTH];
    let mut level = TOP_LEVEL;
    loop {
        let Some(frame) = stack.get_mut(level as usize) else {
            return;
        };
        let (node, next) = *frame;
        // SAFETY: `node` is a table of the tree that is not freed yet: tables
        // are freed only once all their entries were visited.
        match unsafe { next_entry(node, next) } {
            None => {
                // SAFETY: every child of `node` was freed already and its
                // parent's scan has moved past it, so nothing uses it.
                unsafe { mem.free_node(node) };
                if level == TOP_LEVEL {
                    return;
                }
                level += 1;
            }
            Some((i, entry)) => {
                frame.1 = i + 1;
                let child = mem.phys_to_virt(entry);
                // `level` is never 0 here (a level-1 table's children are
                // freed, not descended into); `<=` lets the compiler see
                // that the `-= 1` below cannot underflow.
                if level <= 1 {
                    // SAFETY: `child` is a leaf reached exactly once; its
                    // parent's scan moves past it and it is never read again.
                    unsafe { mem.free_node(child) };
                } else {
                    level -= 1;
                    if let Some(slot) = stack.get_mut(level as usize) {
                        *slot = (child, 0);
                    }
                }
            }
        }
    }
}
