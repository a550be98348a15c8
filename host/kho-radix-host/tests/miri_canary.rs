// SPDX-License-Identifier: GPL-2.0

//! A use after free on purpose, for `make check-miri` to show that Miri
//! reports one in the tree's pages: the check runs this test on its own and
//! requires Miri to stop it with "Undefined Behavior". It reads the leaf that
//! a reclaiming delete has just freed, the bug the reclaiming deletes must
//! never have.
//!
//! Compiled only under Miri, and ignored unless asked for by name: natively
//! the read would be undefined behaviour with nothing to catch it.

#[cfg(miri)]
#[test]
#[ignore = "undefined behaviour on purpose; make check-miri runs it and requires Miri to report it"]
fn read_of_a_reclaimed_leaf_is_reported() {
    use kho_radix_host::geom4k::kho_radix_abi::encode_key;
    use kho_radix_host::geom4k::kho_radix_tree::{add_key, alloc_root, del_key_reclaim, walk};
    use kho_radix_host::geom4k::new_arena;

    let mut arena = new_arena();
    let root = alloc_root(&mut arena).expect("root");
    let key = encode_key(0, 0);
    // SAFETY: `root` is a valid tree in `arena`.
    unsafe { add_key(&mut arena, root, key) }.expect("add");
    let mut nodes = Vec::new();
    let mut node = |phys: u64| {
        nodes.push(phys);
        0
    };
    // SAFETY: as above; the callback does not touch the tree.
    unsafe { walk(&arena, root, None, Some(&mut node)) };
    // Pre-order: the leaf is the last node of the only path.
    let leaf = arena.virt_of(*nodes.last().expect("a leaf"));
    // SAFETY: as above; every node below the root came from `arena`.
    unsafe { del_key_reclaim(&mut arena, root, key) }.expect("delete");
    // The leaf emptied, so the delete freed it.
    assert_eq!(arena.live_pages(), 1);
    // SAFETY: none: `leaf` was freed above. Miri must report this read.
    let word = unsafe { leaf.cast::<u64>().as_ptr().read_volatile() };
    println!("read {word:#x} from a freed leaf: Miri did not report it");
}
