// SPDX-License-Identifier: GPL-2.0

//! Suite `kho_radix_range`: page ranges as `kho_preserve_pages()` and
//! `kho_unpreserve_pages()` chunk them, against one C add or delete per
//! block.

use super::*;

/// Preserves `n` pages from `start` in both trees: one C add per block of
/// `kho_preserve_pages()`'s chunking in `c`, one `kho_radix_add_pfn_range()`
/// in `r`. Returns the number of blocks.
fn add_range_both(c: &TestTree, r: &TestTree, start: u64, n: u64) -> Result<u64> {
    let (mut pfn, end, mut blocks) = (start, start + n, 0);
    while pfn < end {
        let order = pfn.trailing_zeros().min((end - pfn).ilog2());
        to_result(c.add(kho_radix_abi::encode_key(pfn << PAGE_SHIFT, order)))?;
        pfn += 1u64 << order;
        blocks += 1;
    }
    // SAFETY: `r.tree` is initialised (type invariant of `TestTree`).
    let ret = unsafe { bindings::kho_radix_add_pfn_range(r.tree, start as c_ulong, n as c_ulong) };
    to_result(ret)?;
    Ok(blocks)
}

#[kunit_tests(kho_radix_range)]
mod tests {
    use super::*;

    /// `kho_radix_add_pfn_range()` builds the same tree, node for node, as
    /// the C tracker fed one block at a time the way `kho_preserve_pages()`
    /// chunks a range (the test kernel has one NUMA node).
    #[test]
    fn range_matches_chunked_c() -> Result {
        let c = TestTree::new(&CREF)?;
        let r = TestTree::new(&RUST)?;
        let mut rng = Rng(0x7261_6e67_6500_0001);
        let (mut ranges, mut blocks) = (0u64, 0u64);
        for i in 0..200u64 {
            let start = match i % 4 {
                0 => rng.below(1 << 20),
                1 => (rng.below(1 << 12)) << 18,
                2 => rng.below(1 << 36),
                _ => i * 4096,
            };
            let n = 1 + rng.below(if i % 8 == 0 { 1 << 20 } else { 3000 });
            blocks += add_range_both(&c, &r, start, n)?;
            ranges += 1;
        }
        let same = same_tree(&c, &r)?;
        pr_info!(
            "kunit: range: {} ranges, {} blocks: Rust tree {} C tree\n",
            ranges,
            blocks,
            if same {
                "identical to"
            } else {
                "DIFFERENT from"
            }
        );
        assert!(same);
        Ok(())
    }

    /// Ranges at the top of the pfns with a key: the range calls skip the
    /// per-block key checks only below it. A range that ends at the last
    /// such pfn is preserved block for block as C chunks it; one page more,
    /// and every pfn from 0 (one block of an order without a key), fail
    /// with `-ERANGE` and leave the tree as it was.
    #[test]
    fn range_at_the_key_width() -> Result {
        let c = TestTree::new(&CREF)?;
        let r = TestTree::new(&RUST)?;
        let (start, n) = (highest_pfn(0) - 99, 100);
        let blocks = add_range_both(&c, &r, start, n)?;
        let same = r.snapshot()?.keys == c.snapshot()?.keys;
        let before = r.snapshot()?;
        // SAFETY: `r.tree` is initialised (type invariant of `TestTree`).
        let (past_top, all) = unsafe {
            (
                bindings::kho_radix_add_pfn_range(r.tree, start as c_ulong, (n + 1) as c_ulong),
                bindings::kho_radix_add_pfn_range(r.tree, 0, (1u64 << PFN_BITS) as c_ulong),
            )
        };
        // The first failed call rolled back, with reclamation, the blocks
        // it had added: those of the first range, which it covers. So the
        // tree is back to its root page, with nothing to delete.
        let left = r.snapshot()?;
        pr_info!(
            "kunit: range: {} blocks up to the last pfn {} C's; one page more {}, all pfns {}; {} keys left, tree {} pages\n",
            blocks,
            if same { "equal to" } else { "DIFFERENT from" },
            past_top,
            all,
            left.keys.len(),
            left.nodes.len()
        );
        assert!(same && before.keys.len() as u64 == blocks);
        assert!(past_top == ERANGE_C && all == ERANGE_C);
        assert!(left.keys.is_empty() && left.nodes.len() == 1);
        Ok(())
    }

    /// `kho_radix_del_pfn_range()` removes the same blocks as C's per-block
    /// deletes and frees what it empties. The ranges
    /// are disjoint, as `kho_unpreserve_pages()` requires: a range is only
    /// unpreserved as it was preserved.
    #[test]
    fn range_delete_matches_chunked_c() -> Result {
        let c = TestTree::new(&CREF)?;
        let r = TestTree::new(&RUST)?;
        let mut rng = Rng(0x7261_6e67_6500_0002);
        let mut ranges: KVec<(u64, u64)> = KVec::new();
        for i in 0..64u64 {
            // Range `i` lies in its own 2^21-page window.
            let start = (i << 21) + rng.below(1 << 20);
            let n = 1 + rng.below(if i % 8 == 0 { 1 << 20 } else { 3000 });
            add_range_both(&c, &r, start, n)?;
            ranges.push((start, n), GFP_KERNEL)?;
        }
        let peak = r.snapshot()?.nodes.len();
        // Every other range first, then the rest: the keys left must agree
        // after each pass, and the Rust tree ends with its root page only.
        let mut keys_agree = true;
        for pass in 0..2 {
            for (i, &(start, n)) in ranges.iter().enumerate() {
                if i % 2 != pass {
                    continue;
                }
                let (mut pfn, end) = (start, start + n);
                while pfn < end {
                    let order = pfn.trailing_zeros().min((end - pfn).ilog2());
                    c.del(kho_radix_abi::encode_key(pfn << PAGE_SHIFT, order));
                    pfn += 1u64 << order;
                }
                // SAFETY: `r.tree` is initialised and the Rust tracker
                // allocated all its nodes.
                unsafe {
                    bindings::kho_radix_del_pfn_range(r.tree, start as c_ulong, n as c_ulong)
                };
            }
            keys_agree &= r.snapshot()?.keys == c.snapshot()?.keys;
        }
        let left = r.snapshot()?;
        pr_info!(
            "kunit: range: {} ranges deleted by range: keys {} C's, Rust tree {} -> {} pages\n",
            ranges.len(),
            if keys_agree {
                "equal to"
            } else {
                "DIFFERENT from"
            },
            peak,
            left.nodes.len()
        );
        assert!(keys_agree && left.keys.is_empty() && left.nodes.len() == 1);

        // Again on the emptied trees, starting with the range deleted last:
        // the range calls keep the last leaf of each order, so a leaf freed
        // above must have left them, or these adds set bits in freed pages
        // instead of the tree.
        for &(start, n) in ranges.iter().rev() {
            add_range_both(&c, &r, start, n)?;
        }
        let readded_agree = r.snapshot()?.keys == c.snapshot()?.keys;
        for &(start, n) in ranges.iter() {
            // SAFETY: as above, and the Rust tracker allocated all its nodes.
            unsafe { bindings::kho_radix_del_pfn_range(r.tree, start as c_ulong, n as c_ulong) };
        }
        let left = r.snapshot()?;
        pr_info!(
            "kunit: range: re-added after freeing: keys {} C's, Rust tree back to {} pages\n",
            if readded_agree {
                "equal to"
            } else {
                "DIFFERENT from"
            },
            left.nodes.len()
        );
        assert!(readded_agree && left.keys.is_empty() && left.nodes.len() == 1);
        Ok(())
    }
}
