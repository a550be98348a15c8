// SPDX-License-Identifier: GPL-2.0

//! Suite `kho_radix_reclaim`: deletes that free the nodes they empty
//! return the tree to its root.

use super::*;

#[kunit_tests(kho_radix_reclaim)]
mod tests {
    use super::*;

    /// Preserve/unpreserve cycles over scattered keys: the C tree keeps
    /// every node it ever allocated, the reclaiming Rust tree returns to its
    /// root page after every cycle.
    #[test]
    fn cycles_return_to_root() -> Result {
        const CYCLES: usize = 6;
        const KEYS: usize = 400;
        let mut rng = Rng(0x7265_636c_6169_6d00);
        let mut clusters = [0u64; 8];
        for c in clusters.iter_mut() {
            *c = rng.next() >> (64 - PFN_BITS + 20);
        }
        let c = TestTree::new(&CREF)?;
        let r = TestTree::new(&RUST_RECLAIM)?;
        let mut keys: KVec<u64> = KVec::new();
        let (mut c_prev, mut ok) = (0, true);
        for cycle in 1..=CYCLES {
            keys.clear();
            while keys.len() < KEYS {
                let key = random_key(&mut rng, &clusters);
                // Each key once per cycle: a second delete of a key whose
                // path was reclaimed would be a delete of an absent key.
                if keys.contains(&key) {
                    continue;
                }
                to_result(c.add(key))?;
                to_result(r.add(key))?;
                keys.push(key, GFP_KERNEL)?;
            }
            let peak = r.snapshot()?;
            ok &= peak.keys == c.snapshot()?.keys;
            for &key in keys.iter() {
                c.del(key);
                r.del(key);
            }
            let (cn, rn) = (c.snapshot()?.nodes.len(), r.snapshot()?.nodes.len());
            pr_info!(
                "kunit: reclaim: cycle {}: {} keys, Rust tree {} -> {} pages, C tree {} pages\n",
                cycle,
                KEYS,
                peak.nodes.len(),
                rn,
                cn
            );
            ok &= rn == 1 && cn > 1 && cn >= c_prev;
            c_prev = cn;
        }
        assert!(ok);
        Ok(())
    }

    /// Single keys over [`LEAVES`] leaves, deleted with freeing in random order,
    /// then in address order, all singly and then every third as a one-page
    /// range: the witness parked in the table cache and the one kept with
    /// the cached chunk leaf never keep a leaf that emptied.
    #[test]
    fn leaf_witnesses_free_each_emptied_leaf() -> Result {
        const KEYS: usize = 600;
        let mut rng = Rng(0x7769_746e_6573_7300);
        let mut keys = keys_in_leaves(&mut rng, KEYS, LEAVES)?;
        let verdict = |ok: bool| if ok { "ok" } else { "FAILED" };
        let mut all_ok = true;
        for sorted in [false, true] {
            if sorted {
                keys.sort_unstable();
            }
            let singly = reclaim_each_leaf_in_order(&keys, false)?;
            let with_ranges = reclaim_each_leaf_in_order(&keys, true)?;
            pr_info!(
                "kunit: reclaim: {} keys in {} leaves, {} order: singly {}, with ranges {}\n",
                KEYS,
                LEAVES,
                if sorted { "address" } else { "random" },
                verdict(singly),
                verdict(with_ranges)
            );
            all_ok &= singly && with_ranges;
        }
        assert!(all_ok);
        Ok(())
    }

    /// Keys over [`MANY_LEAVES`] leaves, more than the table cache has
    /// parked slots, on a tree of the kernel's API, deleted with freeing in
    /// random order, singly and with every third as a one-page range: the
    /// witnesses kept in the leaves' `page->private` while the leaves
    /// outnumber the slots (found from the tree's page word anchor), and
    /// parked once enough have been freed, never keep a leaf that emptied,
    /// and the tree returns to its root.
    #[test]
    fn page_word_witnesses_free_each_emptied_leaf() -> Result {
        let mut rng = Rng(0x7061_6765_776f_7264);
        let keys = keys_in_leaves(&mut rng, 3 * MANY_LEAVES, MANY_LEAVES)?;
        let singly = reclaim_each_leaf_on_tree(&keys, false)?;
        let with_ranges = reclaim_each_leaf_on_tree(&keys, true)?;
        pr_info!(
            "kunit: reclaim: {} keys in up to {} leaves, random order, page words: singly {}, with ranges {}\n",
            keys.len(),
            MANY_LEAVES,
            if singly { "ok" } else { "FAILED" },
            if with_ranges { "ok" } else { "FAILED" }
        );
        assert!(singly && with_ranges);
        Ok(())
    }
}

/// Leaves that the keys of `leaf_witnesses_free_each_emptied_leaf()` fill.
const LEAVES: usize = 3;

/// Leaves that the keys of `page_word_witnesses_free_each_emptied_leaf()`
/// fill: more than a table cache parks witnesses for, so that its deletes
/// keep them in the leaves' `page->private` until enough leaves are freed.
const MANY_LEAVES: usize = kho_radix_tree::PARKED_WITNESS_SLOTS + 64;

/// `count` distinct keys of order 0 in the `leaves` leaf-sized blocks of
/// pfns from a random one, shuffled.
fn keys_in_leaves(rng: &mut Rng, count: usize, leaves: usize) -> Result<KVec<u64>> {
    let base = (rng.next() >> (64 - PFN_BITS + 8)) & !(BITMAP_BITS as u64 - 1);
    let mut keys: KVec<u64> = KVec::new();
    while keys.len() < count {
        let key = key_of(base + rng.next() % (leaves * BITMAP_BITS) as u64, 0);
        if !keys.contains(&key) {
            keys.push(key, GFP_KERNEL)?;
        }
    }
    shuffle(rng, &mut keys);
    Ok(keys)
}

/// Fisher-Yates.
fn shuffle(rng: &mut Rng, keys: &mut [u64]) {
    for i in (1..keys.len()).rev() {
        keys.swap(i, (rng.next() % (i as u64 + 1)) as usize);
    }
}

/// A core tree of [`FailingNodes`], without leaf words (so the witnesses
/// are parked in the table cache), with `keys` (of order 0) added, checked
/// by [`delete_checking_leaves`], and without a page left over. Returns
/// whether all checks held.
///
/// Both ways: with ranges, the leaves of `leaf_witnesses_free_each_emptied_leaf()`
/// happen to lose their last keys to range deletes, and a single-key delete
/// that never freed a leaf went unnoticed.
fn reclaim_each_leaf_in_order(keys: &[u64], with_ranges: bool) -> Result<bool> {
    let mut mem = FailingNodes::new()?;
    let root = kho_radix_tree::alloc_root(&mut mem).map_err(|_| ENOMEM)?;
    let mut cache = kho_radix_tree::TableCache::new();
    // SAFETY: `root` is a tree of `mem`, used only here, and `cache` is its.
    let mut ok = unsafe { delete_checking_leaves(&mut mem, root, &mut cache, keys, with_ranges) }?;
    ok &= mem.live == 1;
    // SAFETY: Every node of the tree came from `mem`; it is not used
    // afterwards.
    unsafe { kho_radix_tree::destroy(&mut mem, root) };
    Ok(ok && mem.live == 0)
}

/// [`delete_checking_leaves`] on a tree of the kernel's API
/// (`kho_radix_init_tree()`), with its own node memory and table cache, so
/// with the leaves' words where the kernel has them, and checks that the
/// tree offers them, that the cache counted more leaves than it has parked
/// slots after the adds, and that the deletes leave only the root.
fn reclaim_each_leaf_on_tree(keys: &[u64], with_ranges: bool) -> Result<bool> {
    let t = TestTree::new(&RUST_RECLAIM)?;
    // SAFETY: `t.tree` is initialised (type invariant of `TestTree`) and only
    // used by this thread, so nobody else holds its lock.
    let (word, root) = unsafe { ((*t.tree).direct_map_offset, tree_root(t.tree)) };
    let root = root.ok_or(EINVAL)?;
    let page_words = word & bindings::KHO_RADIX_PAGE_WORDS as usize != 0;
    // SAFETY: As above; `mem` and `cache` are dropped before `t`.
    let (mem, cache) = unsafe { (KernelNodes::for_tree(t.tree), tree_cache(t.tree)) };
    let mut mem = mem.ok_or(EINVAL)?;
    // SAFETY: As above: `root` is the tree's, of `mem`, and `cache` is its.
    let mut ok = unsafe { delete_checking_leaves(&mut mem, root, cache, keys, with_ranges) }?;
    // SAFETY: As above.
    let (tables, leaves) = unsafe { kho_radix_tree::count_nodes(&mem, root) };
    ok &= tables == 1 && leaves == 0;
    if page_words != cfg!(CONFIG_SPARSEMEM_VMEMMAP) {
        pr_err!("kunit: reclaim: page words of a new tree: {}\n", page_words);
        ok = false;
    }
    Ok(ok)
}

/// Adds `keys` (of order 0) to the tree at `root`, then deletes them in the
/// order given, with freeing and the cache kept across calls, singly or,
/// `with_ranges`, every third as a one-page range, and checks after each
/// that the tree has exactly one leaf per leaf-sized block of pfns that
/// still holds a key. Returns whether all checks held; without a key, that
/// the tree's cache counted more leaves than it parks witnesses for if
/// `keys` fill that many.
///
/// # Safety
///
/// `root` is a valid tree of `mem`, whose nodes below the root all come
/// from `mem`, that nobody else uses; `cache` is its.
unsafe fn delete_checking_leaves<M: NodeMemory>(
    mem: &mut M,
    root: NonNull<RadixNode>,
    cache: &mut kho_radix_tree::TableCache,
    keys: &[u64],
    with_ranges: bool,
) -> Result<bool> {
    // Keys per leaf-sized block of pfns, from the lowest block of `keys`.
    let first = keys
        .iter()
        .map(|k| k >> BITMAP_SIZE_LOG2)
        .min()
        .unwrap_or(0);
    let last = keys
        .iter()
        .map(|k| k >> BITMAP_SIZE_LOG2)
        .max()
        .unwrap_or(0);
    let mut per_leaf: KVec<usize> = KVec::new();
    per_leaf.resize((last - first + 1) as usize, 0, GFP_KERNEL)?;
    let mut ok = true;
    for &key in keys {
        // SAFETY: guaranteed by the caller.
        ok &= unsafe { kho_radix_tree::add_key_cached(mem, root, cache, key) }.is_ok();
        if let Some(n) = per_leaf.get_mut(((key >> BITMAP_SIZE_LOG2) - first) as usize) {
            *n += 1;
        }
    }
    let filled = per_leaf.iter().filter(|&&n| n > 0).count();
    if filled > kho_radix_tree::PARKED_WITNESS_SLOTS && !cache.has_many_leaves() {
        pr_err!("kunit: reclaim: {} leaves, not counted as many\n", filled);
        ok = false;
    }
    for (i, &key) in keys.iter().enumerate() {
        if with_ranges && i % 3 == 2 {
            // Every third as a range of one page, through the same cache.
            let pfn = kho_radix_abi::decode_key(key).map_or(0, |(phys, _)| phys >> PAGE_SHIFT);
            // SAFETY: guaranteed by the caller.
            let missing = unsafe {
                kho_radix_tree::del_pfn_range_reclaim(mem, root, cache, pfn, 1, 0, &mut |_, _| {
                    false
                })
            };
            ok &= missing == 0;
        } else {
            // SAFETY: guaranteed by the caller.
            ok &= unsafe { kho_radix_tree::del_key_reclaim_cached(mem, root, cache, key) }.is_ok();
        }
        if let Some(n) = per_leaf.get_mut(((key >> BITMAP_SIZE_LOG2) - first) as usize) {
            *n -= 1;
        }
        let want = per_leaf.iter().filter(|&&n| n > 0).count();
        // SAFETY: guaranteed by the caller.
        let (_, leaves) = unsafe { kho_radix_tree::count_nodes(mem, root) };
        if leaves != want {
            pr_err!(
                "kunit: reclaim: after delete {} of {}: {} leaves, want {}\n",
                i + 1,
                keys.len(),
                leaves,
                want
            );
            ok = false;
            break;
        }
    }
    Ok(ok)
}
