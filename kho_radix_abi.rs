// SPDX-License-Identifier: GPL-2.0

//! Kexec HandOver (KHO) preserved-memory radix tree ABI.
//!
//! C header: [include/linux/kho/abi/kexec_handover.h](srctree/include/linux/kho/abi/kexec_handover.h)
//!
//! Everything in this file is frozen by the `"kho-v4"` FDT compatible string:
//! the outgoing kernel writes the tree, the incoming kernel (possibly a C
//! kernel, possibly a different release) reads it back. Any change to the
//! constants, the key encoding or the node layout needs a compatible bump.
//!
//! The tree is a set of 64-bit keys. A key combines a physical address and a
//! page order (see [`encode_key`]). The low [`BITMAP_SIZE_LOG2`] bits of a key
//! select a bit in a page-sized bitmap leaf ([`RadixLeaf`]); each further group
//! of [`TABLE_SIZE_LOG2`] bits selects an entry in a page-sized table of
//! physical addresses ([`RadixNode`]). The root is a table at level
//! `TREE_MAX_DEPTH - 1`, leaves are at level 0.
//!
//! This file uses `core` only. The page geometry comes from the including
//! module, which must define `pub const PAGE_SHIFT: u32` next to the `mod`
//! declaration of this file; that way the same source serves the kernel and
//! host tests for 4K, 16K and 64K pages.

use super::PAGE_SHIFT;

/// Compatible string of the KHO FDT root node (`KHO_FDT_COMPATIBLE`).
pub const FDT_COMPATIBLE: &str = "kho-v4";

/// FDT property holding the physical address of the radix tree root
/// (`KHO_FDT_MEMORY_MAP_PROP_NAME`).
pub const FDT_MEMORY_MAP_PROP_NAME: &str = "preserved-memory-map";

/// Size of a page, and of every tree node, in bytes.
pub const PAGE_SIZE: usize = 1 << PAGE_SHIFT;

/// Width of a key in bits: the PFN plus one bit for the order
/// (`KHO_RADIX_KEY_WIDTH`).
pub const KEY_WIDTH: u32 = 64 - PAGE_SHIFT + 1;

/// log2 of the number of `u64` entries in a [`RadixNode`] table
/// (`KHO_TABLE_SIZE_LOG2`).
pub const TABLE_SIZE_LOG2: u32 = (PAGE_SIZE / core::mem::size_of::<u64>()).ilog2();

/// log2 of the number of bits in a [`RadixLeaf`] bitmap
/// (`KHO_BITMAP_SIZE_LOG2`).
pub const BITMAP_SIZE_LOG2: u32 = PAGE_SHIFT + 8u32.ilog2();

/// Number of tree levels: the table levels plus one bitmap level
/// (`KHO_TREE_MAX_DEPTH`).
pub const TREE_MAX_DEPTH: u32 = (KEY_WIDTH - BITMAP_SIZE_LOG2).div_ceil(TABLE_SIZE_LOG2) + 1;

/// Number of entries in a [`RadixNode`] table.
pub const TABLE_ENTRIES: usize = 1 << TABLE_SIZE_LOG2;

/// Number of bits in a [`RadixLeaf`] bitmap.
pub const BITMAP_BITS: usize = 1 << BITMAP_SIZE_LOG2;

/// Number of 64-bit words in a [`RadixLeaf`] bitmap.
pub const BITMAP_WORDS: usize = BITMAP_BITS / 64;

/// Highest page order [`encode_key`] accepts.
///
/// The C encoder computes `1UL << (64 - (PAGE_SHIFT + order))` and
/// `phys >> (PAGE_SHIFT + order)`, which is only defined while
/// `PAGE_SHIFT + order < 64`.
pub const MAX_KEY_ORDER: u32 = 63 - PAGE_SHIFT;

/// A table node of the radix tree (`struct kho_radix_node`).
///
/// Each non-zero entry is the physical address of the page holding the next
/// lower level: another [`RadixNode`], or a [`RadixLeaf`] for entries of a
/// level-1 node. Zero means "no subtree".
#[repr(C)]
pub struct RadixNode {
    /// Physical addresses of the child nodes, indexed by [`table_index`].
    pub table: [u64; TABLE_ENTRIES],
}

/// A bitmap leaf of the radix tree (`struct kho_radix_leaf`).
///
/// C declares the bitmap as `unsigned long` words; on the 64-bit
/// architectures KHO supports, bit `i` is bit `i % 64` of word `i / 64`.
#[repr(C)]
pub struct RadixLeaf {
    /// One bit per key, indexed by [`bitmap_index`].
    pub bitmap: [u64; BITMAP_WORDS],
}

const _: () = assert!(core::mem::size_of::<RadixNode>() == PAGE_SIZE);
const _: () = assert!(core::mem::size_of::<RadixLeaf>() == PAGE_SIZE);
const _: () = assert!(core::mem::align_of::<RadixNode>() == core::mem::align_of::<u64>());
const _: () = assert!(core::mem::align_of::<RadixLeaf>() == core::mem::align_of::<u64>());
// The top level must cover the key: the walk rebuilds keys as `i << shift`.
const _: () = assert!(
    (TREE_MAX_DEPTH - 1) * TABLE_SIZE_LOG2 + BITMAP_SIZE_LOG2 >= KEY_WIDTH
        && (TREE_MAX_DEPTH - 2) * TABLE_SIZE_LOG2 + BITMAP_SIZE_LOG2 < 64
);

/// Encodes a physical address and a page order into a radix key
/// (`kho_encode_radix_key()`).
///
/// The PFN is shifted right by `order` and a marker bit is placed right above
/// it, so pages of every order share one key space without colliding. The
/// bits of `phys` below `PAGE_SHIFT + order` are dropped.
///
/// Returns 0, which no order produces, if `order` exceeds [`MAX_KEY_ORDER`]
/// (undefined behaviour in C).
#[inline]
pub const fn encode_key(phys: u64, order: u32) -> u64 {
    if order > MAX_KEY_ORDER {
        return 0;
    }
    // `shift` is in `PAGE_SHIFT..=63`, so both shifts below are in range.
    let shift = PAGE_SHIFT + order;
    let h = 1u64 << (64 - shift);
    let l = phys >> shift;
    h | l
}

/// Decodes a radix key back into `(phys, order)` (`kho_decode_radix_key()`).
///
/// Returns `None` for keys [`encode_key`] cannot produce: key 0, key 1
/// (order `64 - PAGE_SHIFT`) and keys wider than [`KEY_WIDTH`]; C has
/// undefined behaviour or a wrapped order for those.
#[inline]
pub const fn decode_key(key: u64) -> Option<(u64, u32)> {
    if key == 0 {
        return None;
    }
    // fls64(key) - 1.
    let order_bit = 63 - key.leading_zeros();
    if order_bit == 0 || order_bit > 64 - PAGE_SHIFT {
        return None;
    }
    let order = 64 - (PAGE_SHIFT + order_bit);
    // `PAGE_SHIFT + order == 64 - order_bit` is in `PAGE_SHIFT..=63`; the
    // marker bit is shifted out.
    let phys = key << (PAGE_SHIFT + order);
    Some((phys, order))
}

/// Index of `key`'s bit in its [`RadixLeaf`] (`kho_radix_get_bitmap_index()`).
///
/// Always below [`BITMAP_BITS`].
#[inline]
pub const fn bitmap_index(key: u64) -> usize {
    (key % (1u64 << BITMAP_SIZE_LOG2)) as usize
}

/// Index of `key`'s entry in the [`RadixNode`] at `level`
/// (`kho_radix_get_table_index()`).
///
/// Table levels are `1..TREE_MAX_DEPTH`; level 1 points at leaves. Always
/// below [`TABLE_ENTRIES`]; 0 for levels outside the tree.
#[inline]
pub const fn table_index(key: u64, level: u32) -> usize {
    if level == 0 || level >= TREE_MAX_DEPTH {
        return 0;
    }
    // Plain arithmetic on the hot path (add and del descend through every
    // level): for levels inside the tree the shift is below 64, as checked
    // at compile time just below.
    let s = (level - 1) * TABLE_SIZE_LOG2 + BITMAP_SIZE_LOG2;
    ((key >> s) & (TABLE_ENTRIES as u64 - 1)) as usize
}

// The shift of the top table level fits a `u64` shift.
const _: () = assert!((TREE_MAX_DEPTH - 2) * TABLE_SIZE_LOG2 + BITMAP_SIZE_LOG2 < 64);

/// Bit position of the lowest key bit decoded by a table at `level`, i.e.
/// `((level - 1) * TABLE_SIZE_LOG2) + BITMAP_SIZE_LOG2`.
///
/// For `level` in `1..TREE_MAX_DEPTH` this is below 64 (checked at compile
/// time). Saturates instead of overflowing for absurd levels; level 0 gives
/// the same value as level 1.
#[inline]
pub const fn level_shift(level: u32) -> u32 {
    level
        .saturating_sub(1)
        .saturating_mul(TABLE_SIZE_LOG2)
        .saturating_add(BITMAP_SIZE_LOG2)
}
