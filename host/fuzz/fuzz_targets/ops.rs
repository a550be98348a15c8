// SPDX-License-Identifier: GPL-2.0

//! libFuzzer target: an arbitrary byte string as a sequence of radix tree
//! operations, checked against a model (see `src/ops.rs`).

#![no_main]

#[path = "../src/ops.rs"]
mod ops;

libfuzzer_sys::fuzz_target!(|data: &[u8]| ops::run(data));
