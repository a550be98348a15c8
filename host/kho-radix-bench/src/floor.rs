// SPDX-License-Identifier: GPL-2.0

//! The floor of the range rows: a range's chunks set in flat bitmaps,
//! without a tree.

use std::hint::black_box;

/// Name of the row of [`crate::Work::RangeFloor`].
pub(crate) const RANGE_FLOOR: &str = "floor: range chunks into flat bitmaps (no tree)";

/// One bitmap per order over the pfns that a list of ranges spans, bit `i`
/// of order `o` for the chunk at pfn `((first >> o) + i) << o`: the keys'
/// bitmaps without the tree around them.
pub(crate) struct FlatBitmaps {
    /// The first pfn of the ranges.
    first: u64,
    /// The bitmap of each order; its length is a power of two.
    maps: Vec<Vec<u64>>,
}

impl FlatBitmaps {
    /// Empty bitmaps for the `(start_pfn, nr_pages)` pairs of `ranges`,
    /// which ascend.
    pub(crate) fn new(ranges: &[u64]) -> Self {
        let first = ranges.first().copied().unwrap_or(0);
        let end = ranges.chunks_exact(2).last().map_or(first, |r| r[0] + r[1]);
        let maps = (0..64)
            .map(|o: u32| {
                let bits = (end >> o) - (first >> o) + 1;
                let mut map = vec![0u64; (bits.div_ceil(64) as usize).next_power_of_two()];
                // Fault the pages in now, as the tree's pool is, not in the
                // timed loop.
                map.iter_mut().for_each(|w| *w = black_box(0));
                map
            })
            .collect();
        Self { first, maps }
    }

    /// Sets the bit of each chunk of `pfn..end_pfn`, found as
    /// `RangeChunks` in `kho_radix_tree/range.rs` finds them: at each pfn
    /// the largest order it is aligned to that fits before the end.
    #[inline(always)]
    pub(crate) fn set_range(&mut self, mut pfn: u64, end_pfn: u64) {
        while pfn < end_pfn {
            let order = (pfn | 1 << 63)
                .trailing_zeros()
                .min(63 ^ (end_pfn - pfn).leading_zeros());
            self.set(pfn, order);
            pfn += 1 << order;
        }
    }

    #[inline(always)]
    fn set(&mut self, pfn: u64, order: u32) {
        let bit = (pfn >> order) - (self.first >> order);
        let map = &mut self.maps[order as usize];
        // The length is a power of two: the mask keeps the bounds check
        // out of the loop, and every bit of the ranges is in bounds.
        let word = (bit / 64) as usize & (map.len() - 1);
        map[word] |= 1 << (bit % 64);
    }

    /// Number of bits set.
    pub(crate) fn bits(&self) -> u64 {
        self.maps
            .iter()
            .flatten()
            .map(|w| u64::from(w.count_ones()))
            .sum()
    }
}
