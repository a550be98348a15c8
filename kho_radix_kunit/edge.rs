// SPDX-License-Identifier: GPL-2.0

//! Suite `kho_radix_edge`: named edge cases of the key encoding and the
//! walk, on both implementations.

use super::*;

#[kunit_tests(kho_radix_edge)]
mod tests {
    use super::*;

    #[test]
    fn order_0_and_max_order() -> Result {
        let ok = on_both(|t| {
            let pfn = 1u64 << 20;
            let (k0, kmax) = (key_of(pfn, 0), key_of(pfn, MAX_ORDER));
            check!(t.api.name, t.add(k0) == 0 && t.add(kmax) == 0);
            let s = t.snapshot()?;
            check!(t.api.name, *s.keys == [kmax, k0]);
            let phys = pfn << PAGE_SHIFT;
            check!(t.api.name, kho_radix_abi::decode_key(k0) == Some((phys, 0)));
            check!(
                t.api.name,
                kho_radix_abi::decode_key(kmax) == Some((phys, MAX_ORDER))
            );
            Ok(true)
        })?;
        assert!(ok);
        Ok(())
    }

    #[test]
    fn pfn_zero() -> Result {
        let ok = on_both(|t| {
            for order in 0..=MAX_ORDER {
                check!(t.api.name, t.add(key_of(0, order)) == 0);
            }
            let s = t.snapshot()?;
            check!(t.api.name, s.keys.len() == MAX_ORDER as usize + 1);
            for (i, &k) in s.keys.iter().enumerate() {
                // Higher orders have lower keys.
                let order = MAX_ORDER - i as u32;
                check!(t.api.name, kho_radix_abi::decode_key(k) == Some((0, order)));
            }
            Ok(true)
        })?;
        assert!(ok);
        Ok(())
    }

    #[test]
    fn highest_encodable_pfn() -> Result {
        let ok = on_both(|t| {
            // The order-0 key of the top PFN uses all `KEY_WIDTH` bits.
            check!(
                t.api.name,
                key_of(highest_pfn(0), 0) == (1u64 << KEY_WIDTH) - 1
            );
            for order in 0..=MAX_ORDER {
                let key = key_of(highest_pfn(order), order);
                check!(t.api.name, t.add(key) == 0);
                let phys = highest_pfn(order) << PAGE_SHIFT;
                check!(
                    t.api.name,
                    kho_radix_abi::decode_key(key) == Some((phys, order))
                );
            }
            let s = t.snapshot()?;
            check!(t.api.name, s.keys.len() == MAX_ORDER as usize + 1);
            check!(
                t.api.name,
                s.keys.last() == Some(&((1u64 << KEY_WIDTH) - 1))
            );
            Ok(true)
        })?;
        assert!(ok);
        Ok(())
    }

    #[test]
    fn adjacent_leaves() -> Result {
        let ok = on_both(|t| {
            let k = key_of(0, 0) + 5 * BITMAP_BITS as u64;
            check!(t.api.name, t.add(k - 1) == 0 && t.add(k) == 0);
            let s = t.snapshot()?;
            check!(t.api.name, *s.keys == [k - 1, k]);
            // The root, one table per lower level, two leaves.
            check!(t.api.name, s.nodes.len() == TREE_MAX_DEPTH as usize + 1);
            Ok(true)
        })?;
        assert!(ok);
        Ok(())
    }

    #[test]
    fn leaf_boundary() -> Result {
        let ok = on_both(|t| {
            let first = key_of(0, 0) + 7 * BITMAP_BITS as u64;
            let keys = [
                first,
                first + 63,
                first + 64,
                first + BITMAP_BITS as u64 - 1,
            ];
            for k in keys {
                check!(t.api.name, t.add(k) == 0);
            }
            let s = t.snapshot()?;
            check!(t.api.name, *s.keys == keys);
            // One leaf holds the first and the last bit.
            check!(t.api.name, s.nodes.len() == TREE_MAX_DEPTH as usize);
            Ok(true)
        })?;
        assert!(ok);
        Ok(())
    }

    #[test]
    fn delete_last_bit_of_leaf() -> Result {
        let ok = on_both(|t| {
            let k = key_of(0x12345, 0);
            check!(t.api.name, t.add(k) == 0);
            t.del(k);
            let s = t.snapshot()?;
            check!(t.api.name, s.keys.is_empty());
            // Like C, the empty leaf and its tables stay.
            check!(t.api.name, s.nodes.len() == TREE_MAX_DEPTH as usize);
            if let Some(&leaf) = s.nodes.last() {
                // SAFETY: `leaf` is a node of the live tree `t`, not modified
                // while the slice is used.
                let words = unsafe { node_words(leaf) };
                check!(t.api.name, words.iter().all(|&w| w == 0));
            }
            check!(t.api.name, t.add(k) == 0);
            check!(t.api.name, *t.snapshot()?.keys == [k]);
            Ok(true)
        })?;
        assert!(ok);
        Ok(())
    }

    #[test]
    fn walk_stops_early() -> Result {
        let ok = on_both(|t| {
            for i in 0..10u64 {
                check!(t.api.name, t.add(key_of(i * 4096, 0)) == 0);
            }
            let mut c = Collect::new();
            c.stop_leaf_at = 3;
            c.ret = 42;
            check!(t.api.name, t.walk(&mut c) == 42);
            check!(t.api.name, c.keys.len() == 3);
            let mut c = Collect::new();
            c.stop_node_at = 1;
            c.ret = -7;
            check!(t.api.name, t.walk(&mut c) == -7);
            check!(t.api.name, c.keys.is_empty() && c.nodes.len() == 1);
            Ok(true)
        })?;
        assert!(ok);
        Ok(())
    }

    #[test]
    fn walk_empty_tree() -> Result {
        let ok = on_both(|t| {
            let mut c = Collect::new();
            check!(t.api.name, t.walk(&mut c) == 0);
            check!(t.api.name, c.keys.is_empty() && c.nodes.len() == 1);
            Ok(true)
        })?;
        assert!(ok);
        Ok(())
    }

    /// The direct-map offset that `KernelNodes` adds instead of calling
    /// `phys_to_virt()` must agree with C for real node pages.
    #[test]
    fn direct_map_offset_matches_c() -> Result {
        let mut mem = KernelNodes::new().ok_or(EINVAL)?;
        let mut nodes = KVec::new();
        for _ in 0..8 {
            let node = mem.alloc_node().ok_or(ENOMEM)?;
            nodes.push(node, GFP_KERNEL)?;
        }
        let mut ok = true;
        for &node in nodes.iter() {
            // SAFETY: The helpers only compute addresses.
            let (phys, virt) = unsafe {
                let phys = bindings::kho_radix_rs_node_phys(node.as_ptr().cast());
                (phys, bindings::kho_radix_rs_node_virt(phys))
            };
            ok &= mem.virt_to_phys(node) == phys;
            ok &= mem.phys_to_virt(phys).as_ptr().cast() == virt;
        }
        for node in nodes.drain_all() {
            // SAFETY: `node` came from `mem.alloc_node()` and is not used
            // any more.
            unsafe { mem.free_node(node) };
        }
        assert!(ok);
        Ok(())
    }

    /// `scratch_areas()` gives the handed-over scratch array as a slice only
    /// where it can be one and `kho_memory_init()` will reserve what the
    /// tree preserves: aligned, and not at physical address 0.
    #[test]
    fn scratch_array_placement() -> Result {
        use crate::kho_fdt::scratch_areas;
        type Scratch = bindings::kho_scratch;

        let mut mem = KernelNodes::new().ok_or(EINVAL)?;
        let page = mem.alloc_node().ok_or(ENOMEM)?;
        let array = page.as_ptr().cast::<Scratch>().cast_const();
        let misaligned = array.cast::<u8>().wrapping_add(4).cast::<Scratch>();
        // SAFETY: The helper only computes an address.
        let at_zero = unsafe { bindings::kho_radix_rs_node_virt(0) }
            .cast::<Scratch>()
            .cast_const();
        let mut ok = true;
        // SAFETY: `array` is a zeroed page of the direct map, which holds
        // two valid entries, aligned; the others are refused before any
        // read, or null.
        unsafe {
            ok &= matches!(scratch_areas(array, 2), Ok(a) if a.len() == 2 && a.as_ptr() == array);
            ok &= matches!(scratch_areas(array, 0), Ok(a) if a.is_empty());
            ok &= matches!(scratch_areas(core::ptr::null(), 2), Ok(a) if a.is_empty());
            ok &= matches!(scratch_areas(misaligned, 2), Err("misaligned"));
            ok &= scratch_areas(at_zero, 2).is_err();
            ok &= scratch_areas(at_zero, 0).is_err();
        }
        // SAFETY: `page` came from `mem.alloc_node()` and is not used any
        // more.
        unsafe { mem.free_node(page) };
        assert!(ok);
        Ok(())
    }

    /// The `page->private` that `KernelNodes` finds in the memory map from
    /// a tree's page word anchor must be the one C gives, for every node of
    /// a tree of the kernel's API, tables and leaves.
    #[test]
    fn page_words_match_c() -> Result {
        let t = TestTree::new(&RUST)?;
        for i in 0..40u64 {
            // Leaves 32768 pages apart, and level-1 tables 2^24 apart.
            to_result(t.add(key_of((i << BITMAP_SIZE_LOG2) + ((i % 4) << 24), 0)))?;
        }
        let nodes = t.snapshot()?.nodes;
        // SAFETY: `t.tree` is initialised (type invariant of `TestTree`) and
        // only this thread uses it; `mem` is dropped before `t`.
        let mem = unsafe { KernelNodes::for_tree(t.tree) }.ok_or(EINVAL)?;
        let (mut ok, mut found) = (true, 0);
        for &phys in nodes.iter() {
            let node = mem.phys_to_virt(phys);
            // SAFETY: `node` is a node of the tree of `mem`, which nobody
            // else uses.
            let rust = unsafe { mem.node_word(node) }.map(|w| core::ptr::from_ref(w).addr());
            // SAFETY: The helper only checks and converts the address.
            let c = unsafe { bindings::kho_radix_rs_node_word(node.as_ptr().cast()) }.addr();
            ok &= rust == Some(c);
            // SAFETY: As above.
            found += usize::from(unsafe { mem.leaf_word(node.cast()) }.is_some());
        }
        // The leaf words come from the memory map only, so only with a
        // contiguous one.
        let want = if cfg!(CONFIG_SPARSEMEM_VMEMMAP) {
            nodes.len()
        } else {
            0
        };
        if !ok || found != want {
            pr_err!(
                "kunit: edge: {} nodes, words as C's: {}, found in the memory map: {}\n",
                nodes.len(),
                ok,
                found
            );
        }
        assert!(ok && found == want && nodes.len() > 40);
        Ok(())
    }

    /// A branch from `kho_radix_rs_alloc_nodes()` (one `alloc_pages_bulk()`)
    /// is as `alloc_node()` would give it: distinct, page-aligned pages at
    /// non-zero physical addresses, all zero, even when the allocator hands
    /// back pages that were just dirtied and freed.
    #[test]
    fn branch_pages_are_zeroed() -> Result {
        let mut mem = KernelNodes::new().ok_or(EINVAL)?;
        let n = TREE_MAX_DEPTH as usize - 1;
        let mut dirty = KVec::new();
        for _ in 0..n {
            dirty.push(mem.alloc_node().ok_or(ENOMEM)?, GFP_KERNEL)?;
        }
        for node in dirty.drain_all() {
            // SAFETY: `node` came from `mem.alloc_node()`: a page nobody
            // else uses, which is freed right after.
            unsafe {
                core::ptr::write_bytes(node.as_ptr().cast::<u8>(), 0xa5, PAGE_SIZE);
                mem.free_node(node);
            }
        }
        let mut branch = [None; TREE_MAX_DEPTH as usize];
        let slots = branch.get_mut(..n).ok_or(EINVAL)?;
        let mut ok = mem.alloc_nodes(slots);
        for (i, node) in slots.iter().enumerate() {
            let Some(node) = *node else {
                ok = false;
                continue;
            };
            ok &= node.as_ptr().addr() % PAGE_SIZE == 0 && mem.virt_to_phys(node) != 0;
            ok &= slots.iter().skip(i + 1).all(|other| *other != Some(node));
            // SAFETY: `node` is a page from `alloc_nodes()`, readable for
            // `PAGE_SIZE` bytes and not written by anyone else.
            let words = unsafe { core::slice::from_raw_parts(node.as_ptr().cast::<u64>(), WORDS) };
            ok &= words.iter().all(|&w| w == 0);
        }
        for node in slots.iter_mut().filter_map(Option::take) {
            // SAFETY: `node` came from `mem.alloc_nodes()`, which allocates
            // as `alloc_node()` does, and is not used any more.
            unsafe { mem.free_node(node) };
        }
        assert!(ok);
        Ok(())
    }

    #[test]
    fn too_wide_key_is_erange() -> Result {
        let ok = on_both(|t| {
            check!(t.api.name, t.add(1u64 << KEY_WIDTH) == ERANGE_C);
            check!(t.api.name, t.add(u64::MAX) == ERANGE_C);
            // Ignored without a warning.
            t.del(1u64 << KEY_WIDTH);
            let s = t.snapshot()?;
            check!(t.api.name, s.keys.is_empty() && s.nodes.len() == 1);
            check!(t.api.name, t.add((1u64 << KEY_WIDTH) - 1) == 0);
            Ok(true)
        })?;
        assert!(ok);
        Ok(())
    }

    /// `kernel::folio::Folio::{read, write}` (the accessors drivers use for
    /// the memory they preserve): a range across a page boundary round
    /// trips, ranges that end past the folio or overflow `usize` are
    /// `EINVAL`, and nothing outside the written range changes.
    #[test]
    fn folio_read_write_ranges() -> Result {
        const MSG: &[u8] = b"kexec handover";
        let mut folio = kernel::folio::Folio::alloc(GFP_KERNEL, 1)?;
        let size = folio.size();
        let across = PAGE_SIZE - 6;
        folio.write(across, MSG)?;
        let mut back = [0u8; MSG.len()];
        folio.read(across, &mut back)?;
        let round_trip = back == *MSG;
        let mut before = [0xffu8; 1];
        folio.read(across - 1, &mut before)?;
        let untouched = before[0] == 0;
        let mut tail = [0u8; 4];
        folio.read(size - 4, &mut tail)?;
        let rejected = [
            folio.write(size - 3, MSG),
            folio.read(size - 3, &mut back),
            folio.write(usize::MAX - 1, MSG),
            folio.read(usize::MAX, &mut back),
            folio.write(size + 1, &[]),
        ]
        .iter()
        .all(|r| *r == Err(EINVAL));
        let empty_ok = folio.write(size, &[]).is_ok();
        pr_info!(
            "kunit: folio: round trip {}, neighbour untouched {}, bad ranges rejected {}\n",
            round_trip,
            untouched,
            rejected
        );
        assert!(round_trip);
        assert!(untouched);
        assert!(rejected);
        assert!(empty_ok);
        Ok(())
    }
}
