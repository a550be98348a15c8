// SPDX-License-Identifier: GPL-2.0

//! Suite `kho_radix_alloc_failure`: an add whose node allocations fail
//! in turn leaves the tree unchanged and leaks nothing.

use super::*;

/// Keys, node addresses and node contents of a core tree, in walk order.
struct CoreSnapshot {
    keys: KVec<u64>,
    nodes: KVec<u64>,
    words: KVec<u64>,
}

/// Takes a [`CoreSnapshot`].
///
/// # Safety
///
/// `root` is a valid tree for `mem` that nothing else uses during the call.
unsafe fn core_snapshot(mem: &FailingNodes, root: NonNull<RadixNode>) -> Result<CoreSnapshot> {
    let mut keys = KVec::new();
    let mut nodes = KVec::new();
    let mut leaf = |k: u64| -> i32 {
        match keys.push(k, GFP_KERNEL) {
            Ok(()) => 0,
            Err(_) => ENOMEM.to_errno(),
        }
    };
    let mut node = |p: u64| -> i32 {
        match nodes.push(p, GFP_KERNEL) {
            Ok(()) => 0,
            Err(_) => ENOMEM.to_errno(),
        }
    };
    // SAFETY: `root` is a valid tree for `mem` used by nobody else.
    to_result(unsafe {
        kho_radix_tree::walk(
            mem,
            root,
            Some(&mut leaf as &mut dyn FnMut(u64) -> i32),
            Some(&mut node as &mut dyn FnMut(u64) -> i32),
        )
    })?;
    let mut words = KVec::with_capacity(nodes.len() * WORDS, GFP_KERNEL)?;
    for &p in nodes.iter() {
        // SAFETY: `p` is a node of the tree, which is not modified during
        // the call.
        words.extend_from_slice(unsafe { node_words(p) }, GFP_KERNEL)?;
    }
    Ok(CoreSnapshot { keys, nodes, words })
}

/// Fails each allocation of adding `key` in turn and checks that the tree is
/// unchanged and nothing leaked; then adds it for real. Returns whether all
/// held and `expect_allocs` allocations were needed.
///
/// # Safety
///
/// `root` is a valid tree for `mem` that nothing else uses during the call.
unsafe fn fail_every_alloc(
    mem: &mut FailingNodes,
    root: NonNull<RadixNode>,
    key: u64,
    expect_allocs: usize,
) -> Result<bool> {
    let who = "alloc_failure";
    // SAFETY: Guaranteed by the caller.
    let before = unsafe { core_snapshot(mem, root) }?;
    let live = mem.live;
    let mut fail_at = 1;
    loop {
        check!(who, fail_at <= TREE_MAX_DEPTH as usize + 1);
        mem.allocs = 0;
        mem.fail_at = fail_at;
        // SAFETY: Guaranteed by the caller.
        let res = unsafe { kho_radix_tree::add_key(mem, root, key) };
        if res.is_ok() {
            break;
        }
        check!(who, res == Err(RadixError::NoMemory));
        check!(who, mem.live == live);
        // SAFETY: Guaranteed by the caller.
        let after = unsafe { core_snapshot(mem, root) }?;
        check!(who, *after.keys == *before.keys);
        check!(who, *after.nodes == *before.nodes);
        check!(who, *after.words == *before.words);
        // The rollback also takes back the count of the table it unlinked
        // the new branch from.
        // SAFETY: Guaranteed by the caller.
        let wrong = unsafe { kho_radix_tree::find_wrong_table_count(mem, root) };
        check!(who, wrong.is_none());
        fail_at += 1;
    }
    mem.fail_at = 0;
    pr_info!(
        "kunit: alloc_failure: key {:#x}: failed each of {} allocations, tree unchanged\n",
        key,
        fail_at - 1
    );
    check!(who, fail_at - 1 == expect_allocs);
    check!(who, mem.allocs == expect_allocs);
    check!(who, mem.live == live + expect_allocs as isize);
    // SAFETY: Guaranteed by the caller.
    check!(who, unsafe { kho_radix_tree::contains_key(mem, root, key) });
    Ok(true)
}

#[kunit_tests(kho_radix_alloc_failure)]
mod tests {
    use super::*;

    /// Adds needing 5, 3, 1 and 0 new nodes, each allocation failing in turn.
    #[test]
    fn every_allocation_point() -> Result {
        let mut mem = FailingNodes::new()?;
        let root = kho_radix_tree::alloc_root(&mut mem).map_err(|_| ENOMEM)?;
        let k0 = key_of(0x4_0000, 0);
        // SAFETY: `root` is a fresh tree of `mem`, used only here.
        let mut ok = unsafe { kho_radix_tree::add_key(&mut mem, root, k0) }.is_ok();
        let cases = [
            // A new top-level branch: tables at levels 4..1 and a leaf.
            (key_of(highest_pfn(0), 0), TREE_MAX_DEPTH as usize - 1),
            // A new level-3 subtree: tables at levels 2 and 1 and a leaf.
            (k0 ^ (1u64 << (kho_radix_abi::level_shift(3))), 3),
            // The next leaf under the same level-1 table.
            (k0 + BITMAP_BITS as u64, 1),
            // The same leaf.
            (k0 + 1, 0),
        ];
        for (key, n) in cases {
            // SAFETY: As above.
            ok = ok && unsafe { fail_every_alloc(&mut mem, root, key, n) }?;
        }
        // Deleting every key again frees every node but the root: the
        // tables' entry counts kept up with the failures.
        // SAFETY: As above.
        ok = ok && unsafe { kho_radix_tree::del_key_reclaim(&mut mem, root, k0) }.is_ok();
        for (key, _) in cases {
            // SAFETY: As above.
            ok = ok && unsafe { kho_radix_tree::del_key_reclaim(&mut mem, root, key) }.is_ok();
        }
        ok = ok && mem.live == 1;
        if !ok {
            // A failed add may have left an entry pointing at a freed node:
            // leak the tree rather than free pages twice.
            pr_err!("kunit: alloc_failure: leaking the test tree\n");
        }
        assert!(ok);
        // SAFETY: Every node of the tree came from `mem`; it is not used
        // afterwards.
        unsafe { kho_radix_tree::destroy(&mut mem, root) };
        assert_eq!(mem.live, 0);
        Ok(())
    }
}
