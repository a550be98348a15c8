// SPDX-License-Identifier: GPL-2.0

//! The `ops` fuzz target on stable, for `make check`.
//!
//! Replays the seed corpus of `host/fuzz/seeds/ops` (and `host/fuzz/corpus/ops`,
//! the inputs a local `cargo fuzz` campaign found, if present), then
//! `$KHO_FUZZ_REPLAY_N` pseudo-random inputs (default 300, 3000 in release
//! builds), through the same decode-and-check function as the libFuzzer
//! target.

#[path = "../../fuzz/src/ops.rs"]
mod ops;

use std::path::Path;

/// splitmix64.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn replay_dir(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut n = 0;
    for e in entries.flatten() {
        let path = e.path();
        if path.is_file() {
            let data = std::fs::read(&path).expect("read corpus file");
            let r = std::panic::catch_unwind(|| ops::run(&data));
            assert!(r.is_ok(), "corpus input {} fails", path.display());
            n += 1;
        }
    }
    n
}

#[test]
fn seed_corpus() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let seeds = replay_dir(&fuzz.join("seeds/ops"));
    assert!(seeds > 0, "no seeds in host/fuzz/seeds/ops");
    replay_dir(&fuzz.join("corpus/ops"));
}

#[test]
fn random_inputs() {
    let n: u64 = std::env::var("KHO_FUZZ_REPLAY_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if cfg!(debug_assertions) { 300 } else { 3000 });
    let mut state = 0x6b68_6f2d_6675_7a7a;
    for i in 0..n {
        let seed = state;
        // Mostly short inputs, some long ones; bias opcodes towards adds so
        // that trees grow.
        let len = match next(&mut state) % 8 {
            0 => 2048,
            1..=3 => 512,
            _ => 64,
        };
        let data: Vec<u8> = (0..len)
            .map(|_| {
                let r = next(&mut state);
                if r.is_multiple_of(5) {
                    (r >> 8) as u8 & !7
                } else {
                    (r >> 8) as u8
                }
            })
            .collect();
        let r = std::panic::catch_unwind(|| ops::run(&data));
        assert!(
            r.is_ok(),
            "random input {i} (generator state {seed:#x}) fails"
        );
    }
}
