// SPDX-License-Identifier: GPL-2.0

//! libFuzzer target: arbitrary bytes as the pages of a handed-over tree, fed
//! to the validator and, when accepted, to the walk (see `src/tree_image.rs`).

#![no_main]

#[path = "../src/tree_image.rs"]
mod tree_image;

libfuzzer_sys::fuzz_target!(|data: &[u8]| tree_image::run(data));
