// SPDX-License-Identifier: GPL-2.0

//! The C side: one `struct kb_ops` per page size from `c/bench.c`, which
//! wraps the kernel's radix tree code compiled by `build.rs`.

use std::ffi::{c_int, c_ulong, c_void};

/// `struct kb_ops` of `c/bench.c`.
#[repr(C)]
pub(crate) struct KbOps {
    /// `PAGE_SHIFT` this copy was compiled with.
    pub page_shift: c_ulong,
    /// Hands a region of `npages` pages to the C page pool and empties it.
    pub pool_init: unsafe extern "C" fn(base: *mut c_void, npages: c_ulong),
    /// Pages of the pool in use.
    pub pool_live: unsafe extern "C" fn() -> c_ulong,
    /// `kho_radix_init_tree(&tree, NULL)`.
    pub tree_init: unsafe extern "C" fn() -> c_int,
    /// `kho_radix_destroy_tree(&tree)`.
    pub tree_destroy: unsafe extern "C" fn(),
    /// `kho_radix_add_key()` for each key; stops at the first error.
    pub add_keys: unsafe extern "C" fn(keys: *const c_ulong, n: c_ulong) -> c_int,
    /// `kho_radix_del_key()` for each key.
    pub del_keys: unsafe extern "C" fn(keys: *const c_ulong, n: c_ulong),
    /// `kho_preserve_pages()` for each `(start_pfn, nr_pages)` pair.
    pub preserve_ranges: unsafe extern "C" fn(
        ranges: *const c_ulong,
        nranges: c_ulong,
        nkeys: *mut c_ulong,
    ) -> c_int,
    /// `kho_unpreserve_pages()` of the C tracker for each `(start_pfn,
    /// nr_pages)` pair: one `kho_radix_del_key()` per chunk.
    pub unpreserve_ranges: unsafe extern "C" fn(ranges: *const c_ulong, nranges: c_ulong),
    /// `kho_radix_walk_tree()` with a leaf callback counting and summing keys.
    pub walk: unsafe extern "C" fn(count: *mut c_ulong, sum: *mut c_ulong) -> c_int,
}

extern "C" {
    /// The C tree for 4K pages.
    pub(crate) static kb_ops_4k: KbOps;
    /// The C tree for 16K pages.
    pub(crate) static kb_ops_16k: KbOps;
    /// The C tree for 64K pages.
    pub(crate) static kb_ops_64k: KbOps;
}
