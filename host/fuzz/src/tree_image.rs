// SPDX-License-Identifier: GPL-2.0

//! Fuzz logic shared by the `tree_image` libFuzzer target and its stable
//! replay: arbitrary bytes become the pages of a handed-over tree, which the
//! validator must judge without crashing, looping or reading outside the
//! pages it is allowed to see; whatever it accepts must then be safe to walk
//! and free of overlaps.
//!
//! Input layout: byte 0 selects the page size (bits 5 and 6: 0 for 4K, 1
//! for 16K, more for 64K), whether the memory map has more than one RAM
//! range and one scratch area (bit 7) and how many keys (0..=31) the
//! starting tree holds. With bit 7, the next 9 bytes place a hole in RAM, a
//! second scratch area and a NUMA node boundary, 3 bytes each on the scale
//! of the keys' pfns. Each key takes 3 bytes (order, pfn bits), so valid
//! trees of every shape appear. The remaining bytes are mutations, 4 bytes each: page; the
//! word's low 8 bits; the word's high 5 bits and a value mode (another
//! page's address, a near miss of one, a raw small value, a key-like value
//! or zero) in its low 3; and the value's byte. Every word of a page can be
//! hit, up to the 8192 of a 64K page. Mutated trees are what a broken or
//! malicious previous kernel could hand over.

/// One copy of the target per page size.
macro_rules! tree_image_for {
    ($geom:ident) => {
        mod $geom {
            use kho_radix_host::$geom::kho_radix_abi::*;
            use kho_radix_host::$geom::kho_radix_tree::{add_key, alloc_root};
            use kho_radix_host::$geom::kho_radix_validate::*;
            use kho_radix_host::$geom::{keys_and_nodes, new_arena, ArenaLayout};
            use std::mem::MaybeUninit;

            /// RAM is `[0, RAM_END)`; one scratch area inside it.
            const RAM_END: u64 = 1 << 60;
            const SCRATCH: (u64, u64) = (0x4000_0000, 0x5000_0000);
            const MAX_NODES: usize = 64;
            /// Bound on `node_ptr()` calls: each of the validator's walks may look at
            /// every entry of at most `MAX_NODES` nodes.
            const MAX_LOOKUPS: usize = 4 * MAX_NODES * (TABLE_ENTRIES + 1);

            /// The pfn and the page count that the 3 bytes `b` give: pfn
            /// bits from the last two, shifted by up to 45 as the first
            /// one's high nibble says, and a power of two up to 32768 from
            /// its low one.
            fn pfn_and_pages(b: &[u8]) -> (u64, u64) {
                let (s, hi, lo) = (b[0], u64::from(b[1]), u64::from(b[2]));
                ((hi << 8 | lo) << (u32::from(s >> 4) * 3), 1 << (s % 16))
            }

            /// Runs one input, whose first byte is `n`; panics on a finding.
            pub(super) fn run(n: u8, rest: &[u8]) {
                let mut arena = new_arena();
                let Ok(root) = alloc_root(&mut arena) else {
                    return;
                };
                let (map, rest) = rest.split_at(if n & 0x80 != 0 { 9.min(rest.len()) } else { 0 });
                let nkeys = usize::from(n % 32);
                let (keys, muts) = rest.split_at((nkeys * 3).min(rest.len()));
                for k in keys.chunks_exact(3) {
                    let order = u32::from(k[0] % 12);
                    let (pfn, _) = pfn_and_pages(k);
                    let key = encode_key(pfn << PAGE_SHIFT_OF << order >> order, order);
                    // SAFETY: `root` is a valid tree in `arena`.
                    let _ = unsafe { add_key(&mut arena, root, key) };
                }
                let phys: Vec<u64> = arena.live_set().into_iter().collect();
                let root_phys = arena.phys_of(root.cast());
                for m in muts.chunks_exact(4) {
                    let Some(&target) = phys.get(usize::from(m[0]) % phys.len()) else {
                        break;
                    };
                    let word = (usize::from(m[2] >> 3) << 8 | usize::from(m[1])) % (PAGE_SIZE / 8);
                    let other = phys[usize::from(m[3]) % phys.len()];
                    let value = match (m[2] & 7) % 6 {
                        0 => other,
                        1 => other + 8,
                        2 => u64::from(m[3]),
                        3 => 1u64 << (u64::from(m[3]) % 64),
                        4 => encode_key(u64::from(m[3]) << 30, u32::from(m[3]) % 20),
                        _ => 0,
                    };
                    let page = arena.virt_of(target).cast::<u64>();
                    // SAFETY: `page` is a live arena page of PAGE_SIZE bytes.
                    unsafe { page.as_ptr().add(word).write(value) };
                }

                // What the next kernel gets: the pages, not the tracker's
                // counts of their entries, which the mutations falsified.
                arena.forget_words();
                let mut layout = ArenaLayout::new(&arena, RAM_END, SCRATCH);
                let area = |b: &[u8]| {
                    let (pfn, pages) = pfn_and_pages(b);
                    let start = pfn << PAGE_SHIFT_OF;
                    (start, start.saturating_add(pages << PAGE_SHIFT_OF))
                };
                if let [h0, h1, h2, s0, s1, s2, b0, b1, b2] = *map {
                    layout.hole = area(&[h0, h1, h2]);
                    layout.scratch2 = area(&[s0, s1, s2]);
                    layout.node_boundary = Some(area(&[b0, b1, b2]).0);
                }
                let limits = Limits {
                    max_nodes: MAX_NODES,
                    max_order: 10,
                };
                // Not cleared, as in the kernel: filled with a tree page's address, so
                // that reading an entry before writing it would change the result.
                let mut scratch = [MaybeUninit::new(root_phys); MAX_NODES];
                // SAFETY: `node_ptr` only returns live arena pages, aligned and
                // PAGE_SIZE bytes long, not written while `layout` borrows the
                // arena, which outlives the accepted tree.
                let res = unsafe { validate_tree(&layout, root_phys, &limits, &mut scratch) };
                assert!(
                    layout.node_ptr_calls.get() <= MAX_LOOKUPS,
                    "validator looked up {} nodes",
                    layout.node_ptr_calls.get()
                );
                let Ok(tree) = res else {
                    return;
                };
                let stats = tree.stats();

                // Accepted: the walk must see exactly the keys the validator counted,
                // in ascending order; every preserved range must be of an allowed order,
                // in RAM, outside the scratch area and off the tree's own pages, and no
                // two may overlap.
                // SAFETY: the validator accepted the tree: every entry leads to a live
                // arena page, each reached once, so it is a valid tree for reading.
                let (keys, nodes) = unsafe { keys_and_nodes(&arena, root) };
                assert_eq!(keys.len() as u64, stats.keys, "walk and validator disagree");
                assert!(keys.windows(2).all(|w| w[0] < w[1]), "walk not ascending");
                let mut ranges: Vec<(u64, u64)> = keys
                    .iter()
                    .filter_map(|&k| decode_key(k))
                    .map(|(p, o)| (p, p + (1u64 << (PAGE_SHIFT_OF + o))))
                    .collect();
                assert_eq!(
                    ranges.len(),
                    keys.len(),
                    "accepted a key that does not decode"
                );
                for &k in &keys {
                    let order = decode_key(k).map_or(u32::MAX, |(_, o)| o);
                    assert!(order <= limits.max_order, "accepted order {order}");
                }
                for &(start, end) in &ranges {
                    assert!(
                        layout.is_ram(start, end - start),
                        "accepted a range outside RAM"
                    );
                    assert!(
                        layout.on_one_node(start, end - start),
                        "accepted a range across NUMA nodes"
                    );
                    assert!(
                        !layout.in_scratch(start, end - start),
                        "accepted a range in the scratch area"
                    );
                    assert!(
                        !nodes.iter().any(|&n| start <= n && n < end),
                        "accepted a range covering a tree page"
                    );
                }
                ranges.sort_unstable();
                assert!(
                    ranges.windows(2).all(|w| w[0].1 <= w[1].0),
                    "accepted overlapping ranges"
                );

                // The lookups the kernel makes in an accepted tree (the handover FDT,
                // subtree blobs) must agree with the keys: each block is found as
                // itself, and a range one byte longer is preserved exactly when another
                // block starts where it ends.
                for &(start, end) in &ranges {
                    let got = tree.covering_block(start, end - start);
                    assert_eq!(
                        got.map(|(s, o)| (s, s + (1u64 << (PAGE_SHIFT_OF + o)))),
                        Some((start, end)),
                        "covering_block() of a preserved block"
                    );
                    let adjacent = ranges.iter().any(|&(s, _)| s == end);
                    let longer = tree.range_preserved(start, end - start + 1);
                    assert_eq!(longer, adjacent, "range_preserved() one byte past a block");
                }
            }

            /// Page shift of the geometry under test.
            const PAGE_SHIFT_OF: u32 = kho_radix_host::$geom::PAGE_SHIFT;
        }
    };
}

tree_image_for!(geom4k);
tree_image_for!(geom16k);
tree_image_for!(geom64k);

/// Runs one input; panics on a finding. Bits 5 and 6 of the first byte
/// pick the page size (0: 4K, 1: 16K, other: 64K).
pub fn run(data: &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    match (n >> 5) & 3 {
        0 => geom4k::run(n, rest),
        1 => geom16k::run(n, rest),
        _ => geom64k::run(n, rest),
    }
}
