// SPDX-License-Identifier: GPL-2.0

//! The `tree_image` fuzz target on stable, for `make check`: a fixed set of
//! hand-made images, then `$KHO_FUZZ_REPLAY_N` pseudo-random ones (default
//! 300, 3000 in release builds), through the same function as the
//! libFuzzer target, for 4K, 16K and 64K pages in turn.

#[path = "../../fuzz/src/tree_image.rs"]
mod tree_image;

/// splitmix64.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Bits of the first byte that pick the page size: 4K, 16K and 64K.
const GEOMETRIES: [u8; 3] = [0, 1 << 5, 2 << 5];

/// Bit of the first byte that gives the image a memory map of its own.
const MEMORY_MAP: u8 = 1 << 7;

/// Three keys, then a mutation that writes `1 << 63` into a tree page.
const HUGE_ENTRIES: [u8; 17] = [
    3, 0x01, 0x10, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f,
];

/// Found by the fuzzer (minimized; its first byte was 191 before bit 7
/// took a meaning): 31 keys at 64K pages, then mutations
/// that move entries between tables, so that a table holds more entries
/// than the tracker counted beside it. The validator accepts the tree; the
/// walk that checks it stopped at the counts and saw 5 of 12 keys, until
/// the target dropped the words as a handover does.
const MOVED_ENTRIES: [u8; 109] = [
    95, 32, 199, 197, 197, 197, 197, 69, 41, 255, 69, 175, 27, 197, 98, 197, 175, 199, 28, 175,
    175, 175, 197, 197, 197, 197, 41, 255, 69, 114, 106, 199, 197, 197, 41, 255, 69, 114, 106, 48,
    96, 96, 96, 96, 96, 96, 96, 96, 96, 93, 96, 96, 1, 0, 0, 5, 96, 96, 96, 96, 96, 199, 41, 41,
    54, 96, 96, 96, 96, 96, 96, 11, 0, 0, 96, 96, 54, 96, 96, 96, 96, 96, 96, 11, 0, 0, 5, 96, 96,
    96, 54, 11, 0, 0, 5, 96, 96, 96, 54, 96, 54, 11, 0, 0, 5, 96, 96, 96, 54,
];

#[test]
fn hand_made_images() {
    tree_image::run(&MOVED_ENTRIES);
    // Empty tree, a self-cycle at the root, a chain through all pages, and
    // misaligned / huge entries; for each page size.
    for g in GEOMETRIES {
        tree_image::run(&[g]);
        tree_image::run(&[g, 1, 0, 0, 0, 0, 0, 0, 0]);
        let mut chain = vec![g | 6];
        for p in 1..7u8 {
            chain.extend_from_slice(&[p, 0, 0, 0, 0, 0, 0, 0]);
        }
        tree_image::run(&chain);
        let mut huge = HUGE_ENTRIES;
        huge[0] |= g;
        tree_image::run(&huge);
    }
}

#[test]
fn random_images() {
    let n: u64 = std::env::var("KHO_FUZZ_REPLAY_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if cfg!(debug_assertions) { 300 } else { 3000 });
    let mut state = 0x7472_6565_2d69_6d67;
    for i in 0..n {
        let seed = state;
        // A tree of up to 31 keys, then 0 to 3 mutations of it; every
        // other round of the page sizes with a hole in RAM, a second
        // scratch area and a node boundary.
        let nkeys = next(&mut state) % 32;
        let nmuts = next(&mut state) % 4;
        let map = (i / 3) % 2 == 1;
        let len = 1 + if map { 9 } else { 0 } + 3 * nkeys + 4 * nmuts;
        let mut data: Vec<u8> = (0..len).map(|_| next(&mut state) as u8).collect();
        data[0] = nkeys as u8 | GEOMETRIES[(i % 3) as usize] | if map { MEMORY_MAP } else { 0 };
        if map && nkeys >= 3 && next(&mut state) % 2 == 0 {
            // Random places rarely fall inside a block: put the hole at the
            // first key's pfn, the scratch area at the second's and the
            // node boundary just after the third's (inside its block if
            // its order is not 0).
            data.copy_within(10..13, 1);
            data.copy_within(13..16, 4);
            data.copy_within(16..19, 7);
            data[9] |= 1;
        }
        let r = std::panic::catch_unwind(|| tree_image::run(&data));
        assert!(r.is_ok(), "random image {i} (seed {seed:#x}) fails");
    }
}
