// SPDX-License-Identifier: GPL-2.0

//! The inputs of the workloads, drawn once per page size, and the
//! sizes that follow from them.

/// First physical address used by the workloads: 4 GiB.
const PHYS_BASE: u64 = 1 << 32;
/// Highest order of the mixed-order workload.
const MIXED_MAX_ORDER: u64 = 9;
/// Random keys are spread over `SPREAD * n` pages.
const SPREAD: u64 = 64;

/// splitmix64, the generator of the golden tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Inputs of all workloads for one page size.
pub(crate) struct Inputs {
    pub(crate) seq: Vec<u64>,
    pub(crate) rand: Vec<u64>,
    pub(crate) mixed: Vec<u64>,
    /// `(start_pfn, nr_pages)` pairs, flattened.
    pub(crate) ranges: Vec<u64>,
    /// The same pairs in random order: the range deletes' worst case for
    /// the witness words of the table cache, which a sweep up or down
    /// keeps valid and a random order does not.
    pub(crate) ranges_rand: Vec<u64>,
    pub(crate) range_pages: u64,
    /// The keys `kho_preserve_pages()` adds for `ranges`: disjoint blocks of
    /// mixed orders.
    pub(crate) range_keys: Vec<u64>,
    pub(crate) sparse: Vec<u64>,
}

impl Inputs {
    pub(crate) fn new(n: usize, page_shift: u32, encode: fn(u64, u32) -> u64) -> Inputs {
        let base_pfn = PHYS_BASE >> page_shift;
        let span = SPREAD * n as u64;
        let mut rng = Rng(0x6b68_6f2d_6265_6e63);
        let seq = (0..n as u64)
            .map(|i| encode((base_pfn + i) << page_shift, 0))
            .collect();
        let rand = (0..n)
            .map(|_| encode((base_pfn + rng.next() % span) << page_shift, 0))
            .collect();
        let mixed = (0..n)
            .map(|_| {
                let order = rng.next() % (MIXED_MAX_ORDER + 1);
                let pfn = (base_pfn + rng.next() % span) & !((1u64 << order) - 1);
                encode(pfn << page_shift, order as u32)
            })
            .collect();
        // Ranges of 1..=256 pages with gaps of 0..=64 pages, like a series
        // of kho_preserve_pages() calls on unaligned buffers, until they
        // need `n` add_key() calls.
        let (mut ranges, mut pfn, mut range_pages) = (Vec::new(), base_pfn + 3, 0);
        let mut range_keys = Vec::new();
        while range_keys.len() < n {
            let len = 1 + rng.next() % 256;
            ranges.extend([pfn, len]);
            range_pages += len;
            let (mut p, end) = (pfn, pfn + len);
            while p < end {
                let order = preserve_order(p, end);
                range_keys.push(encode(p << page_shift, order));
                p += 1 << order;
            }
            pfn = end + rng.next() % 65;
        }
        // One key per leaf: the walk has to scan every bitmap word, the case
        // where memory bandwidth bounds it.
        let leaf_bits = 8 * (1u64 << page_shift);
        let leaf0 = base_pfn.next_multiple_of(leaf_bits);
        let sparse = (0..sparse_leaves(n, 1 << page_shift) as u64)
            .map(|i| {
                encode(
                    (leaf0 + i * leaf_bits + rng.next() % leaf_bits) << page_shift,
                    0,
                )
            })
            .collect();
        // Fisher-Yates over the pairs, after every other input is drawn so
        // that those stay as they were.
        let mut pairs: Vec<[u64; 2]> = ranges.chunks_exact(2).map(|r| [r[0], r[1]]).collect();
        for i in (1..pairs.len()).rev() {
            pairs.swap(i, (rng.next() % (i as u64 + 1)) as usize);
        }
        let ranges_rand = pairs.concat();
        Inputs {
            seq,
            rand,
            mixed,
            ranges,
            ranges_rand,
            range_pages,
            range_keys,
            sparse,
        }
    }
}

/// `__kho_preserve_pages_order()` without the NUMA check: the largest
/// order that `pfn` is aligned to and that fits before `end_pfn`.
#[inline]
pub(crate) fn preserve_order(pfn: u64, end_pfn: u64) -> u32 {
    (pfn | 1 << 63)
        .trailing_zeros()
        .min((end_pfn - pfn).ilog2())
}

/// Number of chunks `kho_preserve_pages()` makes of the `(start_pfn,
/// nr_pages)` pairs of `ranges`: the op count of the range rows.
pub(crate) fn range_chunks(ranges: &[u64]) -> u64 {
    ranges
        .chunks_exact(2)
        .map(|r| {
            let (mut pfn, mut n) = (r[0], 0);
            while pfn < r[0] + r[1] {
                pfn += 1 << preserve_order(pfn, r[0] + r[1]);
                n += 1;
            }
            n
        })
        .sum()
}

/// Number of leaves of the sparse walk: `n / 64`, at most 64 MiB of them.
fn sparse_leaves(n: usize, page_size: usize) -> usize {
    (n / 64).clamp(1, (64 << 20) / page_size)
}

/// Pool size per page size: enough for every workload up to `--full`
/// (the random keys of `--full` at 4K need about 4,600 pages).
pub(crate) fn pool_pages(page_size: usize, n: usize) -> usize {
    let per_page = (8 * page_size) as u64;
    let leaves = (SPREAD * n as u64).div_ceil(per_page) as usize;
    4 * leaves + 2 * sparse_leaves(n, page_size) + 1024
}
