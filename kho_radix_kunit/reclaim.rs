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
    /// range: the witness kept in each leaf's `page->private`, the one parked
    /// in the table cache (without leaf words, as `KernelNodes`), and the one
    /// kept with the cached chunk leaf, never keep a leaf that emptied.
    #[test]
    fn leaf_witnesses_free_each_emptied_leaf() -> Result {
        const KEYS: usize = 600;
        let mut rng = Rng(0x7769_746e_6573_7300);
        let base = (rng.next() >> (64 - PFN_BITS + 8)) & !(BITMAP_BITS as u64 - 1);
        let mut keys: KVec<u64> = KVec::new();
        while keys.len() < KEYS {
            let key = key_of(base + rng.next() % (LEAVES * BITMAP_BITS) as u64, 0);
            if !keys.contains(&key) {
                keys.push(key, GFP_KERNEL)?;
            }
        }
        // Fisher-Yates.
        for i in (1..keys.len()).rev() {
            keys.swap(i, (rng.next() % (i as u64 + 1)) as usize);
        }
        let verdict = |ok: bool| if ok { "ok" } else { "FAILED" };
        let mut all_ok = true;
        for sorted in [false, true] {
            if sorted {
                keys.sort_unstable();
            }
            for leaf_words in [true, false] {
                let singly = reclaim_each_leaf_in_order(&keys, leaf_words, false)?;
                let with_ranges = reclaim_each_leaf_in_order(&keys, leaf_words, true)?;
                pr_info!(
                    "kunit: reclaim: {} keys in {} leaves, {} order, {}: singly {}, with ranges {}\n",
                    KEYS,
                    LEAVES,
                    if sorted { "address" } else { "random" },
                    if leaf_words { "leaf words" } else { "parked witnesses" },
                    verdict(singly),
                    verdict(with_ranges)
                );
                all_ok &= singly && with_ranges;
            }
        }
        assert!(all_ok);
        Ok(())
    }
}

/// Leaves that the keys of `leaf_witnesses_free_each_emptied_leaf()` fill.
const LEAVES: usize = 3;

/// A core tree of [`FailingNodes`], whose leaves have words if
/// `leaf_words` (otherwise their witnesses are parked in the table cache),
/// with `keys` (of order 0) added: deletes them in the order given, with
/// freeing and the cache kept across calls, singly or, `with_ranges`, every
/// third as a one-page range, and checks after each that the tree has
/// exactly one leaf per leaf-sized block of pfns that still holds a key.
/// `keys` lie in at most [`LEAVES`] consecutive blocks. Returns whether all
/// checks held.
///
/// Both ways: with ranges, the leaves of `leaf_witnesses_free_each_emptied_leaf()`
/// happen to lose their last keys to range deletes, and a single-key delete
/// that never freed a leaf went unnoticed.
fn reclaim_each_leaf_in_order(keys: &[u64], leaf_words: bool, with_ranges: bool) -> Result<bool> {
    let mut mem = FailingNodes::new();
    mem.leaf_words = leaf_words;
    let root = kho_radix_tree::alloc_root(&mut mem).map_err(|_| ENOMEM)?;
    let mut cache = kho_radix_tree::TableCache::new();
    // Keys per leaf-sized block of pfns, from the lowest block of `keys`.
    let first = keys
        .iter()
        .map(|k| k >> BITMAP_SIZE_LOG2)
        .min()
        .unwrap_or(0);
    let mut per_leaf = [0usize; LEAVES];
    let mut ok = true;
    for &key in keys {
        // SAFETY: `root` is a tree of `mem`, used only here; `cache` is its.
        ok &= unsafe { kho_radix_tree::add_key_cached(&mut mem, root, &mut cache, key) }.is_ok();
        match per_leaf.get_mut(((key >> BITMAP_SIZE_LOG2) - first) as usize) {
            Some(n) => *n += 1,
            None => ok = false,
        }
    }
    for (i, &key) in keys.iter().enumerate() {
        if with_ranges && i % 3 == 2 {
            // Every third as a range of one page, through the same cache.
            let pfn = kho_radix_abi::decode_key(key).map_or(0, |(phys, _)| phys >> PAGE_SHIFT);
            // SAFETY: As above; every node below the root came from `mem`.
            let missing = unsafe {
                kho_radix_tree::del_pfn_range_reclaim(
                    &mut mem,
                    root,
                    &mut cache,
                    pfn,
                    1,
                    0,
                    &mut |_, _| false,
                )
            };
            ok &= missing == 0;
        } else {
            // SAFETY: As above.
            ok &=
                unsafe { kho_radix_tree::del_key_reclaim_cached(&mut mem, root, &mut cache, key) }
                    .is_ok();
        }
        if let Some(n) = per_leaf.get_mut(((key >> BITMAP_SIZE_LOG2) - first) as usize) {
            *n -= 1;
        }
        let want = per_leaf.iter().filter(|&&n| n > 0).count();
        // SAFETY: As above.
        let (_, leaves) = unsafe { kho_radix_tree::count_nodes(&mem, root) };
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
    ok &= mem.live == 1;
    // SAFETY: Every node of the tree came from `mem`; it is not used
    // afterwards.
    unsafe { kho_radix_tree::destroy(&mut mem, root) };
    Ok(ok && mem.live == 0)
}
