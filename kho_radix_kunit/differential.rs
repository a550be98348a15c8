// SPDX-License-Identifier: GPL-2.0

//! Suite `kho_radix_differential`: the same pseudo-random adds and deletes
//! on a C reference tree and a Rust tree leave identical trees.

use super::*;

#[kunit_tests(kho_radix_differential)]
mod tests {
    use super::*;

    /// 5000 random adds and deletes on both trees, compared every 1000 ops.
    #[test]
    fn random_ops_match_c() -> Result {
        const OPS: usize = 5000;
        let mut rng = Rng(0x6b68_6f5f_7261_6478);
        let mut clusters = [0u64; 8];
        for c in clusters.iter_mut() {
            *c = rng.next() >> (64 - PFN_BITS + 20);
        }
        let c = TestTree::new(&CREF)?;
        let r = TestTree::new(&RUST)?;
        let mut added: KVec<u64> = KVec::new();
        let (mut adds, mut dels, mut wide, mut rc_mismatch, mut same) = (0, 0, 0, 0, true);
        for op in 1..=OPS {
            let dice = rng.below(100);
            if dice < 55 || added.is_empty() {
                let key = random_key(&mut rng, &clusters);
                let (rc, rr) = (c.add(key), r.add(key));
                if rc != rr || rc != 0 {
                    rc_mismatch += 1;
                }
                added.push(key, GFP_KERNEL)?;
                adds += 1;
            } else if dice < 97 {
                // A key added before (maybe deleted already), or its
                // neighbour in the same leaf: the path exists either way,
                // as deleting never frees nodes.
                let mut key = added[rng.below(added.len() as u64) as usize];
                if dice >= 85 {
                    key ^= 1;
                }
                c.del(key);
                r.del(key);
                dels += 1;
            } else {
                let key = (1u64 << KEY_WIDTH) | rng.next();
                let (rc, rr) = (c.add(key), r.add(key));
                if rc != ERANGE_C || rr != ERANGE_C {
                    rc_mismatch += 1;
                }
                wide += 1;
            }
            if op % 1000 == 0 && !same_tree(&c, &r)? {
                pr_err!("kunit: trees differ after {} ops\n", op);
                same = false;
                break;
            }
        }
        let snap = r.snapshot()?;
        pr_info!(
            "kunit: differential: {} ops ({} adds, {} deletes, {} too wide), {} keys and {} nodes in each tree\n",
            adds + dels + wide,
            adds,
            dels,
            wide,
            snap.keys.len(),
            snap.nodes.len()
        );
        // The descending walk of the Rust tree (the next kernel's
        // reservation walk) gives the C tree's keys in reverse, and stops
        // where its callback says.
        let want = c.snapshot()?.keys;
        let desc = walk_desc(&r, 0)?;
        let desc_ok = desc.len() == want.len() && desc.iter().eq(want.iter().rev());
        if !desc_ok {
            pr_err!(
                "kunit: descending walk: {} keys, not the C tree's {} in reverse\n",
                desc.len(),
                want.len()
            );
        }
        let half = want.len() / 2;
        let stopped = walk_desc(&r, half)?;
        let stop_ok = stopped.len() == half && stopped.iter().eq(want.iter().rev().take(half));
        assert_eq!(rc_mismatch, 0);
        assert!(same);
        assert!(snap.keys.len() > 1000);
        assert!(desc_ok);
        assert!(stop_ok);
        Ok(())
    }

    /// Every order at PFN 0, the top PFN and a spread between, added and
    /// half deleted again, on both trees.
    #[test]
    fn every_order_match_c() -> Result {
        let ok = on_both(|t| {
            for order in 0..=MAX_ORDER {
                for i in 0..64u64 {
                    let pfn = (highest_pfn(0) / 63 * i) & !((1u64 << order) - 1);
                    check!(t.api.name, t.add(key_of(pfn, order)) == 0);
                }
            }
            for order in (0..=MAX_ORDER).step_by(2) {
                for i in (0..64u64).step_by(3) {
                    let pfn = (highest_pfn(0) / 63 * i) & !((1u64 << order) - 1);
                    t.del(key_of(pfn, order));
                }
            }
            Ok(true)
        })?;
        assert!(ok);
        Ok(())
    }
}
