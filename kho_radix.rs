// SPDX-License-Identifier: GPL-2.0

//! Rust implementation of the KHO preserved-memory radix tracker.
//!
//! C header: [include/linux/kho_radix_tree.h](srctree/include/linux/kho_radix_tree.h)
//!
//! Kexec HandOver (KHO) records every preserved page in a radix tree whose
//! pages are handed to the next kernel. With `CONFIG_KEXEC_HANDOVER_RADIX_RUST`
//! this object provides the `kho_radix_*()` functions of the C header instead
//! of `kernel/liveupdate/kexec_handover.c`, with the same prototypes (checked
//! by `#[export]`) and the same semantics.
//!
//! Where it runs and what it may not do:
//!
//! - It is called in early boot, before the slab allocator exists
//!   (`kho_memory_init_early()` restores the previous kernel's tree and builds
//!   a second one to extend the scratch areas). It therefore never uses the
//!   Rust `alloc` crate or `KBox`: node pages come from `memblock` until slab
//!   is up and from the page allocator afterwards, through the `__ref` C
//!   helpers in `kho_radix_glue.c`.
//! - Adding and deleting keys may sleep, and every change of the tree
//!   structure happens under the tree's `struct mutex`, which C owns and
//!   [`kho_radix_init_tree`] initialises, exactly as in C. Taking the mutex
//!   is the `might_sleep()` check: `mutex_lock()` makes it, so the hot paths
//!   do not pay for a second one.
//! - Walk callbacks are C function pointers; they run with the tree mutex held
//!   and must not modify the tree they walk.
//! - Nothing reachable from a caller's input panics: bad keys and missing
//!   paths are reported with the C error codes and `WARN`s.
//!
//! Where a C caller can tell the two trackers apart:
//!
//! - Unpreserving a block a second time warns once the first unpreserve
//!   has freed its leaf: the path is gone, as for a block never preserved,
//!   where C, which never frees nodes, clears a bit that is clear already.
//! - A page range whose end wraps around is `-ERANGE`; C's chunking loop
//!   would not run and return 0.
//! - A `struct kho_radix_tree` is zero-filled (static, or `kzalloc()`ed)
//!   or set up by [`kho_radix_init_tree`] before any other call: the table
//!   cache and the node memory's word live in it, and all zeroes is their
//!   empty state. C only reads `root` and `lock`.
//!
//! What the ABI freezes: the node layout (page-sized tables of `u64`
//! physical addresses, page-sized bitmap leaves), the tree depth and the key
//! encoding, all versioned by the `"kho-v4"` FDT compatible string. A kernel
//! using this tracker and one using the C tracker can kexec into each other;
//! the constants are checked against the C header at compile time below.
//!
//! The architecture-independent parts are `core`-only modules that the host
//! tests share: [`kho_radix_abi`] (layout and key encoding),
//! [`kho_radix_tree`] (the tree operations over a
//! [`NodeMemory`](kho_radix_tree::NodeMemory)) and [`kho_radix_validate`]
//! (the check of a handed-over tree); [`kho_radix_nodes`] is the node memory
//! of this kernel.

use core::ptr::NonNull;
use kernel::{
    bindings,
    prelude::*,
    static_lock_class,
    sync::{
        atomic::{
            AtomicFlag,
            Relaxed, //
        },
        lock::{
            mutex::MutexBackend,
            Backend,
            Lock, //
        },
    },
    warn_on_once, //
};

/// Prefix of this object's kernel messages, like `pr_fmt()` in the C tracker.
const __LOG_PREFIX: &[u8] = b"KHO\0";

/// log2 of the page size: the node size and the key encoding depend on it.
const PAGE_SHIFT: u32 = bindings::PAGE_SHIFT;

// These modules are shared verbatim with the host tests, which use all of
// their `pub` API; the kernel only needs part of it (and of the tree API
// that kho_radix_tree.rs re-exports from its own modules).
#[allow(dead_code, unreachable_pub)]
mod kho_radix_abi;
#[cfg(CONFIG_KEXEC_HANDOVER_RADIX_RUST_KUNIT)]
mod kho_radix_kunit;
#[allow(dead_code, unreachable_pub, unused_imports)]
mod kho_radix_tree;
#[allow(dead_code, unreachable_pub)]
mod kho_radix_validate;

// The preserved-memory map in the KHO FDT, and the incoming tree's validation.
mod kho_fdt;
// The tree nodes' memory in this kernel.
mod kho_radix_nodes;

use kho_radix_abi::RadixNode;
use kho_radix_nodes::KernelNodes;
use kho_radix_tree::{RadixError, TableCache};

// The Rust view of the ABI must match the C one.
/// Whether the C string constant `c` (with its NUL) spells `s`.
const fn c_str_is(c: &[u8], s: &str) -> bool {
    let s = s.as_bytes();
    if c.len() != s.len() + 1 || c[s.len()] != 0 {
        return false;
    }
    let mut i = 0;
    while i < s.len() {
        if c[i] != s[i] {
            return false;
        }
        i += 1;
    }
    true
}

const _: () = {
    // The FDT strings of the ABI, as the C header spells them.
    assert!(c_str_is(
        bindings::KHO_FDT_COMPATIBLE,
        kho_radix_abi::FDT_COMPATIBLE
    ));
    assert!(c_str_is(
        bindings::KHO_FDT_MEMORY_MAP_PROP_NAME,
        kho_radix_abi::FDT_MEMORY_MAP_PROP_NAME
    ));
    assert!(core::mem::size_of::<bindings::kho_radix_node>() == kho_radix_abi::PAGE_SIZE);
    assert!(core::mem::size_of::<bindings::kho_radix_leaf>() == kho_radix_abi::PAGE_SIZE);
    assert!(kho_radix_abi::PAGE_SIZE == kernel::page::PAGE_SIZE);
    assert!(kho_radix_abi::KEY_WIDTH == bindings::kho_radix_consts_KHO_RADIX_KEY_WIDTH);
    assert!(kho_radix_abi::TABLE_SIZE_LOG2 == bindings::kho_radix_consts_KHO_TABLE_SIZE_LOG2);
    assert!(kho_radix_abi::BITMAP_SIZE_LOG2 == bindings::kho_radix_consts_KHO_BITMAP_SIZE_LOG2);
    assert!(kho_radix_abi::TREE_MAX_DEPTH == bindings::kho_radix_consts_KHO_TREE_MAX_DEPTH);
    assert!(core::mem::size_of::<c_ulong>() == core::mem::size_of::<u64>());
    // `struct kho_radix_table_cache` is the C view of `TableCache`.
    assert!(kho_radix_tree::TABLE_CACHE_SLOTS == bindings::KHO_RADIX_TABLE_CACHE_SLOTS as usize);
    assert!(kho_radix_tree::LEAF_CACHE_SLOTS == bindings::KHO_RADIX_CHUNK_LEAF_SLOTS as usize);
    assert!(
        kho_radix_tree::PARKED_WITNESS_SLOTS == bindings::KHO_RADIX_PARKED_WITNESS_SLOTS as usize
    );
    assert!(
        core::mem::size_of::<bindings::kho_radix_table_cache>()
            == core::mem::size_of::<TableCache>()
    );
    assert!(
        core::mem::align_of::<bindings::kho_radix_table_cache>()
            == core::mem::align_of::<TableCache>()
    );
};

/// Set once the tracker has announced itself in the kernel log.
static ANNOUNCED: AtomicFlag = AtomicFlag::new(false);

/// Converts a tree error into the kernel error code C returns for it.
#[inline]
fn to_error(err: RadixError) -> Error {
    match err {
        RadixError::Range => ERANGE,
        RadixError::NoMemory => ENOMEM,
        RadixError::NotPresent => ENOENT,
    }
}

/// Returns the tree's C mutex as a Rust lock.
///
/// # Safety
///
/// `tree` points to a valid `struct kho_radix_tree` whose `lock` was
/// initialised by [`kho_radix_init_tree`] (or statically by C), and the tree
/// outlives `'a`.
#[inline]
unsafe fn tree_lock<'a>(tree: *mut bindings::kho_radix_tree) -> &'a Lock<(), MutexBackend> {
    // SAFETY: `tree` is valid, so `&raw mut (*tree).lock` points to its
    // initialised `struct mutex`, which lives as long as the tree.
    unsafe { Lock::from_raw(&raw mut (*tree).lock) }
}

/// Holds the tree's mutex, taken through the kernel mutex backend, until
/// dropped; for add, delete, the range calls and the walks.
///
/// [`tree_lock`]`(tree).lock()` takes the same mutex the same way, but its
/// guard also calls `lockdep_assert_held()` through an out-of-line C helper on
/// every acquisition, which costs about as much as a whole table-cache hit.
/// Destroy, the statistics and the benchmark's closure walk use it.
///
/// # Invariants
///
/// `mutex` is the initialised mutex of a valid tree, held by this guard.
#[must_use = "the tree is unlocked as soon as the guard is dropped"]
struct TreeGuard {
    mutex: *mut bindings::mutex,
    state: <MutexBackend as Backend>::GuardState,
}

impl TreeGuard {
    /// Locks the tree's mutex (which may sleep, and checks `might_sleep()`).
    ///
    /// # Safety
    ///
    /// As for [`tree_lock`], and the tree outlives the guard.
    #[inline]
    unsafe fn lock(tree: *mut bindings::kho_radix_tree) -> Self {
        // SAFETY: `tree` is valid and its mutex initialised (safety
        // requirements).
        let mutex = unsafe { &raw mut (*tree).lock };
        // INVARIANT: The mutex is taken here.
        Self {
            mutex,
            // SAFETY: As above.
            state: unsafe { MutexBackend::lock(mutex) },
        }
    }
}

impl Drop for TreeGuard {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: By the type invariant this guard holds the mutex, which is
        // initialised and still valid.
        unsafe { MutexBackend::unlock(self.mutex, &self.state) };
    }
}

/// Returns the root of the tree, or `None` for an uninitialised tree.
///
/// # Safety
///
/// `tree` points to a valid `struct kho_radix_tree`.
#[inline]
unsafe fn tree_root(tree: *mut bindings::kho_radix_tree) -> Option<NonNull<RadixNode>> {
    // SAFETY: `tree` is valid for reads.
    NonNull::new(unsafe { (*tree).root }.cast())
}

/// Returns the tree's table cache.
///
/// # Safety
///
/// `tree` points to a valid `struct kho_radix_tree` and the caller holds its
/// lock for `'a` (or otherwise has exclusive access to the tree).
#[inline]
unsafe fn tree_cache<'a>(tree: *mut bindings::kho_radix_tree) -> &'a mut TableCache {
    // SAFETY: `tree` is valid and its `table_cache` has the layout of
    // `TableCache` (checked at compile time), whose every bit pattern is
    // valid (integers, raw pointers); the lock makes this the only reference.
    // The cache belongs to the tree (see `TableCache`) because a valid tree
    // is zero-filled or set up by `kho_radix_init_tree()` (module
    // documentation), and all zeroes is the empty cache.
    unsafe { &mut *(&raw mut (*tree).table_cache).cast::<TableCache>() }
}

/// Runs `f` on the tree under its lock, with its root, node memory and table
/// cache: the common part of the per-page operations. Returns `None`, without
/// calling `f`, if the tree has no root.
///
/// # Safety
///
/// `tree` points to a valid `struct kho_radix_tree` whose lock is
/// initialised, and whose nodes, if its root is set, form a valid tree of
/// direct-mapped pages to which its table cache belongs.
#[inline(always)]
unsafe fn with_locked_tree<R>(
    tree: *mut bindings::kho_radix_tree,
    f: impl FnOnce(&mut KernelNodes, NonNull<RadixNode>, &mut TableCache) -> R,
) -> Option<R> {
    // SAFETY: The lock is initialised (safety requirements).
    let _guard = unsafe { TreeGuard::lock(tree) };
    // SAFETY: `tree` is valid; the root and the offset's word only change
    // under the lock (or in `kho_radix_init_tree()`, before use).
    let (root, word) = unsafe { ((*tree).root, (*tree).direct_map_offset) };
    // One compare for the two rare cases, no root and a tree that
    // `kho_radix_init_tree()` did not set up (see `KernelNodes::for_tree`),
    // where `&&` made two branches: under QEMU TCG each branch ends a
    // translation block, and this is on every per-page call.
    let root = if root.addr().min(word) != 0 {
        // SAFETY: `root` is not null, as the minimum of its address and
        // `word` is not zero.
        unsafe { NonNull::new_unchecked(root.cast::<RadixNode>()) }
    } else {
        // SAFETY: We hold the tree lock.
        unsafe { unusual_tree(tree) }?
    };
    // SAFETY: We hold the lock of `tree`, which outlives the operation;
    // `kho_radix_init_tree()` or `unusual_tree()` installed its node memory,
    // and nothing changes those fields after that.
    let mem = unsafe { KernelNodes::of_tree(tree) };
    // SAFETY: We hold the tree lock.
    let cache = unsafe { tree_cache(tree) };
    Some(f(mem, root, cache))
}

/// [`with_locked_tree`] with a copy of the tree's node memory on the stack,
/// for the range operations and the walks. Their loops read the node
/// memory's fields again after each node they write (the compiler cannot
/// tell a node from the fields), the same instructions with the tree's own
/// fields as with a copy, and yet under QEMU TCG the in-kernel benchmark's
/// range unpreserves took 0.57-0.60 of C at 1048576 pages with the tree's
/// fields and 0.51-0.56 with a copy (0.78-0.81 and 0.73-0.77 at 65536); the
/// walks gained a little too. Why was not measured: QEMU's software TLB,
/// in which two pages can evict each other (see performance.rst), is one
/// candidate. The copy costs two stores per call, spread over a range's
/// pages.
///
/// # Safety
///
/// As for [`with_locked_tree`].
#[inline(always)]
unsafe fn with_locked_tree_copy<R>(
    tree: *mut bindings::kho_radix_tree,
    f: impl FnOnce(&mut KernelNodes, NonNull<RadixNode>, &mut TableCache) -> R,
) -> Option<R> {
    let op = |mem: &mut KernelNodes, root, cache: &mut TableCache| f(&mut mem.clone(), root, cache);
    // SAFETY: guaranteed by the caller.
    unsafe { with_locked_tree(tree, op) }
}

/// The root of `tree` for [`with_locked_tree`] when it has no root or
/// `kho_radix_init_tree()` did not set it up, `None` without a root. A tree
/// with a root that it did not set up gets node memory that owns none of
/// its nodes ([`KernelNodes::for_tree`]), installed in the tree for
/// [`KernelNodes::of_tree`]. Out of line and cold, so that the common case
/// falls through into the operation (under QEMU TCG a jump over this case
/// ends a translation block on every per-page call), and returning the
/// root alone, in a register: each callee-saved register that the exported
/// function needs for this case, as it did for node memory returned
/// through the stack, costs a store and a load on every call.
///
/// # Safety
///
/// `tree` points to a valid `struct kho_radix_tree` and the caller holds
/// its lock.
#[cold]
#[inline(never)]
unsafe fn unusual_tree(tree: *mut bindings::kho_radix_tree) -> Option<NonNull<RadixNode>> {
    // SAFETY: `tree` is valid; the root only changes under the lock, which
    // the caller holds.
    let root = NonNull::new(unsafe { (*tree).root }.cast::<RadixNode>())?;
    // SAFETY: As above.
    if unsafe { (*tree).direct_map_offset } == 0 {
        // SAFETY: As above.
        let mem = unsafe { KernelNodes::for_tree(tree) }?;
        // SAFETY: `tree` is valid for writes, and the lock keeps everybody
        // else away from it; whose nodes the tree has is unknown, and
        // `mem` owns none.
        unsafe { mem.install(tree) };
    }
    Some(root)
}

/// Whether a per-page call on `tree` with `key` stops before it takes the
/// lock: the tree has no root, or the key is too wide. One test for the
/// two rare cases, where two made two branches: under QEMU TCG each branch
/// ends a translation block, and this is on every per-page call. The
/// minimum is 0 if either is; the compiler splits a `|` of the two tests
/// into two branches again. If it returns false, it tells the compiler
/// that the key is in range (`assert_unchecked()`), or the caller keeps the
/// shifted key in a callee-saved register across the lock for the core's
/// own test. In the in-kernel benchmark under TCG the preserves took
/// 0.53-0.58 of C instead of 0.53-0.59 at 65536 and 1048576 pages (four
/// boots each), and `kho_radix_add_key()` saves three registers instead of
/// four, with no push for the stack's alignment.
///
/// # Safety
///
/// `tree` points to a valid `struct kho_radix_tree`.
#[inline(always)]
unsafe fn rejects(tree: *mut bindings::kho_radix_tree, key: u64) -> bool {
    // SAFETY: `tree` is valid for reads.
    let root = unsafe { (*tree).root };
    let in_range = usize::from(kho_radix_tree::key_in_range(key));
    if root.addr().min(in_range) == 0 {
        return true;
    }
    // SAFETY: The minimum of the root's address and `key_in_range(key)` as
    // 0 or 1 was not 0: it was 1.
    unsafe { core::hint::assert_unchecked(kho_radix_tree::key_in_range(key)) };
    false
}

/// Adds a key to the radix tree.
///
/// Sets the key's bit in its leaf bitmap, allocating the missing tables and
/// leaf on its path; on allocation failure the tree is left unchanged.
///
/// Only keys of width up to `KHO_RADIX_KEY_WIDTH` are supported; wider ones
/// need a deeper tree, i.e. a new ABI version.
///
/// Returns 0 on success, `-EINVAL` (with a warning) for an uninitialised
/// tree, `-ERANGE` for a too-wide key and `-ENOMEM` on allocation failure.
///
/// # Safety
///
/// `tree` points to a valid `struct kho_radix_tree`; if its root is set, the
/// tree was initialised by [`kho_radix_init_tree`] and its nodes form a valid
/// tree.
#[export]
pub unsafe extern "C" fn kho_radix_add_key(
    tree: *mut bindings::kho_radix_tree,
    key: c_ulong,
) -> c_int {
    let key = key as u64;
    // SAFETY: `tree` is valid per the safety requirements.
    if unsafe { rejects(tree, key) } {
        // SAFETY: As above.
        let root = unsafe { tree_root(tree) };
        if warn_on_once!(root.is_none()) {
            return EINVAL.to_errno();
        }
        return ERANGE.to_errno();
    }

    let op = |mem: &mut KernelNodes, root: NonNull<RadixNode>, cache: &mut TableCache| {
        // SAFETY: `root` is a valid tree of direct-mapped pages from
        // `KernelNodes` (or the previous kernel), `cache` is its own (cleared
        // whenever the root is set), and the tree lock excludes all others.
        unsafe { kho_radix_tree::add_key_cached(mem, root, cache, key) }
    };
    // SAFETY: The tree is initialised (its root is set): its lock is, and
    // its nodes form a valid tree with its cache (safety requirements).
    let res = unsafe { with_locked_tree(tree, op) };
    match res {
        Some(Ok(())) => 0,
        Some(Err(err)) => to_error(err).to_errno(),
        None => EINVAL.to_errno(),
    }
}

/// Removes a key from the radix tree.
///
/// Clears the key's bit. Like C, it does not free nodes that become empty,
/// and it warns if the key's path was never created, i.e. the key was never
/// added. Too-wide keys cannot have been added and are ignored.
///
/// # Safety
///
/// Same as [`kho_radix_add_key`].
#[export]
pub unsafe extern "C" fn kho_radix_del_key(tree: *mut bindings::kho_radix_tree, key: c_ulong) {
    // SAFETY: Same requirements as this function's.
    unsafe { del_key::<false>(tree, key) }
}

/// The body of [`kho_radix_del_key`] and [`kho_radix_del_key_reclaim`]:
/// clears the key's bit under the tree lock, freeing the nodes that become
/// empty if `RECLAIM`, and warns on a key that was never added.
///
/// # Safety
///
/// Same as [`kho_radix_add_key`]; with `RECLAIM`, also that of
/// [`kho_radix_del_key_reclaim`].
unsafe fn del_key<const RECLAIM: bool>(tree: *mut bindings::kho_radix_tree, key: c_ulong) {
    let key = key as u64;
    // SAFETY: `tree` is valid per the safety requirements.
    if unsafe { rejects(tree, key) } {
        // SAFETY: As above.
        let root = unsafe { tree_root(tree) };
        // Too-wide keys cannot have been added.
        warn_on_once!(root.is_none());
        return;
    }

    let op = |mem: &mut KernelNodes, root: NonNull<RadixNode>, cache: &mut TableCache| {
        // SAFETY: As in `kho_radix_add_key()`; for `RECLAIM`, every node
        // below the root comes from `KernelNodes` (safety requirements).
        let res = unsafe {
            if RECLAIM {
                kho_radix_tree::del_key_reclaim_cached(mem, root, cache, key)
            } else {
                kho_radix_tree::del_key_cached(mem, root, cache, key)
            }
        };
        // Deleting a page that was never preserved. Under the lock, so that
        // nothing is left to do after the unlock, which is then a tail call.
        kernel::warn_on!(res == Err(RadixError::NotPresent));
    };
    // SAFETY: As in `kho_radix_add_key()`.
    unsafe { with_locked_tree(tree, op) };
}

/// Removes a key from the radix tree and frees the nodes that become empty.
///
/// Like [`kho_radix_del_key`], but a leaf whose last bit is cleared is
/// freed, and so is every table above it that becomes empty, up to but not
/// including the root; no half paths remain. KHO's unpreserve uses it, so
/// the outgoing tree shrinks back instead of keeping its high-water mark.
/// Warns like [`kho_radix_del_key`] if the key was never added.
///
/// # Safety
///
/// Same as [`kho_radix_add_key`]; in addition every node below the root was
/// allocated by this tracker (true for every tree but one handed over by
/// the previous kernel, which is only ever walked).
#[export]
pub unsafe extern "C" fn kho_radix_del_key_reclaim(
    tree: *mut bindings::kho_radix_tree,
    key: c_ulong,
) {
    // SAFETY: Same requirements as this function's.
    unsafe { del_key::<true>(tree, key) }
}

/// Adds the keys of `nr_pages` pages from `start_pfn`, chunked exactly as
/// `kho_preserve_pages()` chunks them (largest aligned blocks, never across
/// a NUMA node), descending the tree once per leaf instead of once per
/// block. The tree is the same as after one [`kho_radix_add_key`] per block.
///
/// On failure the blocks added by this call are removed again, as
/// `kho_preserve_pages()` does, and the nodes that leaves empty are freed,
/// as its unpreserve does with this tracker. Returns 0, `-EINVAL` (with a
/// warning) for an uninitialised tree, `-ERANGE` if a block does not fit the
/// key width or `-ENOMEM`.
///
/// # Safety
///
/// Same as [`kho_radix_del_key_reclaim`]; the page frames are valid.
#[export]
pub unsafe extern "C" fn kho_radix_add_pfn_range(
    tree: *mut bindings::kho_radix_tree,
    start_pfn: c_ulong,
    nr_pages: c_ulong,
) -> c_int {
    // SAFETY: `tree` is valid per the safety requirements.
    let root = unsafe { tree_root(tree) };
    if warn_on_once!(root.is_none()) {
        return EINVAL.to_errno();
    }

    let op = |mem: &mut KernelNodes, root: NonNull<RadixNode>, cache: &mut TableCache| {
        // 63 means no cap on the block order, like the C chunking.
        // SAFETY: As in `kho_radix_add_key()`; every node below the root
        // comes from `KernelNodes` (safety requirements), as the rollback
        // frees nodes.
        unsafe {
            kho_radix_tree::add_pfn_range(
                mem,
                root,
                cache,
                start_pfn as u64,
                nr_pages as u64,
                63,
                &mut crosses_nodes,
            )
        }
    };
    // SAFETY: As in `kho_radix_add_key()`.
    let res = unsafe { with_locked_tree_copy(tree, op) };
    match res {
        Some(Ok(())) => 0,
        Some(Err(err)) => to_error(err).to_errno(),
        None => EINVAL.to_errno(),
    }
}

/// Whether the block of `1 << order` pages from `pfn` spans two NUMA nodes,
/// which `kho_preserve_pages()` never lets a block do.
///
/// The range functions only call it for blocks inside the caller's range of
/// valid page frames. Without NUMA every page is on node 0 (C's
/// `pfn_to_nid()` is 0), so the two calls per block are skipped.
fn crosses_nodes(pfn: u64, order: u32) -> bool {
    if !cfg!(CONFIG_NUMA) {
        return false;
    }
    // Wrapping: a caller's range past the end of the address space is
    // refused before any block is split, but this must not panic either.
    let last = pfn.wrapping_add(1u64.wrapping_shl(order).wrapping_sub(1));
    // SAFETY: The helper only looks up the node of page frames, which are
    // valid: the block lies inside the caller's range.
    unsafe {
        bindings::kho_radix_rs_pfn_nid(pfn as c_ulong)
            != bindings::kho_radix_rs_pfn_nid(last as c_ulong)
    }
}

/// Removes the keys of `nr_pages` pages from `start_pfn`, chunked exactly as
/// [`kho_radix_add_pfn_range`] and `kho_preserve_pages()` chunk them, and
/// frees the nodes this leaves empty, as [`kho_radix_del_key_reclaim`] does
/// for one key; under one lock, descending the tree once per leaf instead of
/// once per block. `kho_unpreserve_pages()` uses it.
///
/// Warns (once per call) if a block was never added, like
/// [`kho_radix_del_key`].
///
/// # Safety
///
/// Same as [`kho_radix_del_key_reclaim`]; the page frames are valid.
#[export]
pub unsafe extern "C" fn kho_radix_del_pfn_range(
    tree: *mut bindings::kho_radix_tree,
    start_pfn: c_ulong,
    nr_pages: c_ulong,
) {
    // SAFETY: `tree` is valid per the safety requirements.
    let root = unsafe { tree_root(tree) };
    if warn_on_once!(root.is_none()) {
        return;
    }

    let op = |mem: &mut KernelNodes, root: NonNull<RadixNode>, cache: &mut TableCache| {
        // SAFETY: As in `kho_radix_add_key()`; every node below the root
        // comes from `KernelNodes` (safety requirements). 63: no cap on
        // the block order, as in `kho_radix_add_pfn_range()`.
        unsafe {
            kho_radix_tree::del_pfn_range_reclaim(
                mem,
                root,
                cache,
                start_pfn as u64,
                nr_pages as u64,
                63,
                &mut crosses_nodes,
            )
        }
    };
    // SAFETY: As in `kho_radix_add_key()`.
    let missing = unsafe { with_locked_tree_copy(tree, op) }.unwrap_or(0);
    // Unpreserving pages that were never preserved: say which, the warning's
    // backtrace says who.
    if missing != 0 {
        pr_warn!(
            "unpreserving {} pages from pfn {:#x}: {} blocks were not preserved\n",
            nr_pages,
            start_pfn,
            missing
        );
    }
    kernel::warn_on!(missing != 0);
}

/// Walks the radix tree and calls the callbacks of `cb` on it.
///
/// Calls `cb->node` with the physical address of each node, tables before
/// their children, and `cb->leaf` with each key, in ascending order. Either
/// callback may be null. A non-zero callback result stops the walk.
///
/// Returns 0 if the whole tree was walked, the non-zero callback result that
/// stopped it, or `-EINVAL` (with a warning) for an uninitialised tree.
///
/// # Safety
///
/// Same as [`kho_radix_add_key`]; in addition `cb` points to a valid
/// `struct kho_radix_walk_cb` whose callbacks accept `data` and do not modify
/// the walked tree.
#[export]
pub unsafe extern "C" fn kho_radix_walk_tree(
    tree: *mut bindings::kho_radix_tree,
    cb: *const bindings::kho_radix_walk_cb,
    data: *mut c_void,
) -> c_int {
    // SAFETY: `tree` is valid per the safety requirements.
    let root = unsafe { tree_root(tree) };
    if warn_on_once!(root.is_none()) {
        return EINVAL.to_errno();
    }
    // SAFETY: `cb` is valid for reads per the safety requirements.
    let (leaf_fn, node_fn) = unsafe { ((*cb).leaf, (*cb).node) };

    let mut leaf = |key: u64| -> i32 {
        match leaf_fn {
            // SAFETY: The caller provides a callback that accepts `data`;
            // keys are at most `KHO_RADIX_KEY_WIDTH` bits wide and fit in an
            // `unsigned long` (checked at compile time).
            Some(f) => unsafe { f(key as c_ulong, data) },
            None => 0,
        }
    };
    let mut node = |phys: u64| -> i32 {
        match node_fn {
            // SAFETY: The caller provides a callback that accepts `data`.
            Some(f) => unsafe { f(phys, data) },
            None => 0,
        }
    };
    let leaf_cb: Option<&mut dyn FnMut(u64) -> i32> = if leaf_fn.is_some() {
        Some(&mut leaf)
    } else {
        None
    };
    let node_cb: Option<&mut dyn FnMut(u64) -> i32> = if node_fn.is_some() {
        Some(&mut node)
    } else {
        None
    };

    let op = |mem: &mut KernelNodes, root, _: &mut TableCache| {
        // SAFETY: `root` is the root of a valid tree and the lock excludes
        // other writers; the callbacks do not modify the tree (safety
        // requirements).
        unsafe { kho_radix_tree::walk(mem, root, leaf_cb, node_cb) }
    };
    // SAFETY: The tree is initialised (its root is set), so is its lock.
    unsafe { with_locked_tree_copy(tree, op) }.unwrap_or(EINVAL.to_errno())
}

/// Walks the keys of the radix tree in descending order, calling
/// `cb->leaf` with each.
///
/// For the reservation walk of the next kernel (`kho_mem_retrieve()`):
/// memblock inserts blocks reserved from the top down without scanning the
/// blocks reserved before (see [`kho_radix_tree::walk_keys_desc`]). Nodes
/// are not reported: `cb->node` must be null. A non-zero result of
/// `cb->leaf` stops the walk.
///
/// Returns 0 if every key was visited, the non-zero callback result that
/// stopped the walk, or `-EINVAL` (with a warning) for an uninitialised tree,
/// a null `cb->leaf` or a non-null `cb->node`.
///
/// # Safety
///
/// Same as [`kho_radix_walk_tree`].
#[export]
pub unsafe extern "C" fn kho_radix_walk_tree_desc(
    tree: *mut bindings::kho_radix_tree,
    cb: *const bindings::kho_radix_walk_cb,
    data: *mut c_void,
) -> c_int {
    // SAFETY: `tree` is valid per the safety requirements.
    let root = unsafe { tree_root(tree) };
    // SAFETY: `cb` is valid for reads per the safety requirements.
    let (leaf_fn, node_fn) = unsafe { ((*cb).leaf, (*cb).node) };
    if warn_on_once!(root.is_none() || leaf_fn.is_none() || node_fn.is_some()) {
        return EINVAL.to_errno();
    }
    let Some(leaf_fn) = leaf_fn else {
        return EINVAL.to_errno();
    };
    let mut leaf = |key: u64| -> i32 {
        // SAFETY: The caller provides a callback that accepts `data`; keys
        // are at most `KHO_RADIX_KEY_WIDTH` bits wide and fit in an
        // `unsigned long` (checked at compile time).
        unsafe { leaf_fn(key as c_ulong, data) }
    };

    let op = |mem: &mut KernelNodes, root, _: &mut TableCache| {
        // SAFETY: `root` is the root of a valid tree and the lock excludes
        // other writers; the callback does not modify the tree (safety
        // requirements).
        unsafe { kho_radix_tree::walk_keys_desc(mem, root, &mut leaf) }
    };
    // SAFETY: The tree is initialised (its root is set), so is its lock.
    unsafe { with_locked_tree_copy(tree, op) }.unwrap_or(EINVAL.to_errno())
}

/// Initialises the radix tree.
///
/// Uses `root` as the root table, or allocates an empty one if `root` is
/// null, and initialises the tree's mutex. A non-null `root` must be a valid
/// tree in the KHO ABI format, e.g. the one handed over by the previous
/// kernel. Only a tree whose root it allocated is the tracker's own
/// (`KHO_RADIX_OWNS_NODES`): it keeps counts of table entries beside the
/// nodes of such a tree, and leaves the pages of an adopted one alone. If
/// that root came from the page allocator, it finds those words in the
/// memory map (`KHO_RADIX_PAGE_WORDS`, see `KernelNodes::page_word_anchor()`).
///
/// Returns 0 on success, `-ENOMEM` if the root cannot be allocated, or
/// `-EINVAL` if the direct map's offset is not page aligned.
///
/// # Safety
///
/// `tree` points to a `struct kho_radix_tree` valid for writes that nobody
/// else uses during the call; a non-null `root` is the root table of a valid
/// tree of direct-mapped pages that stays mapped while the tree is used.
#[export]
pub unsafe extern "C" fn kho_radix_init_tree(
    tree: *mut bindings::kho_radix_tree,
    root: *mut bindings::kho_radix_node,
) -> c_int {
    let Some(mut mem) = KernelNodes::new() else {
        // The direct map starts on a page boundary on every architecture
        // with KHO; this only guards the bits the tree's word borrows (see
        // `KernelNodes`).
        pr_err!(
            "direct map offset {:#x} is not page aligned\n",
            kho_radix_nodes::direct_map_offset()
        );
        return EINVAL.to_errno();
    };
    let root = match NonNull::new(root.cast::<RadixNode>()) {
        Some(root) => {
            mem.disown();
            root
        }
        None => match kho_radix_tree::alloc_root(&mut mem) {
            Ok(root) => {
                // SAFETY: `alloc_root()` has just allocated `root` from
                // `mem`, in the direct map.
                unsafe { mem.use_page_words(root) };
                root
            }
            Err(err) => return to_error(err).to_errno(),
        },
    };

    if !ANNOUNCED.xchg(true, Relaxed) {
        pr_info!("preserved-memory radix tracker: Rust\n");
    }

    // SAFETY: `tree` is valid for writes and not used concurrently.
    unsafe { (*tree).root = root.as_ptr().cast() };
    // INVARIANT: an empty cache belongs to any tree.
    // SAFETY: `tree` is valid for writes and nobody else uses it during the
    // call; the field has the layout of `TableCache` (checked at compile
    // time). It may be uninitialised, hence a write and not a reference.
    unsafe {
        (&raw mut (*tree).table_cache)
            .cast::<TableCache>()
            .write(TableCache::new())
    };
    // SAFETY: `tree` is valid for writes and not used concurrently; its
    // root is `mem`'s, allocated by it or adopted with `mem` disowned.
    unsafe { mem.install(tree) };
    // SAFETY: `(*tree).lock` is valid for writes and not in use; the name is
    // a static C string and the lock class key is static, as `mutex_init()`
    // does.
    unsafe {
        MutexBackend::init(
            &raw mut (*tree).lock,
            c"&tree->lock".as_char_ptr(),
            static_lock_class!().as_ptr(),
        )
    };
    0
}

/// Destroys the radix tree.
///
/// Frees every node, root included, and clears the root. Does nothing for an
/// uninitialised tree. Unlike C's, it takes the tree's lock, so the caller
/// must not hold it.
///
/// # Safety
///
/// `tree` points to a valid `struct kho_radix_tree`; if its root is set, the
/// tree was initialised by [`kho_radix_init_tree`], all its nodes were
/// allocated by this tracker, and nobody uses the tree afterwards.
#[export]
pub unsafe extern "C" fn kho_radix_destroy_tree(tree: *mut bindings::kho_radix_tree) {
    // SAFETY: `tree` is valid per the safety requirements.
    if unsafe { tree_root(tree) }.is_none() {
        return;
    }

    // SAFETY: The tree is initialised (its root is set), so is its lock.
    let _guard = unsafe { tree_lock(tree) }.lock();
    // SAFETY: `tree` is valid; the root only changes under the lock.
    let Some(root) = (unsafe { tree_root(tree) }) else {
        return;
    };
    // SAFETY: We hold the tree lock.
    let Some(mut mem) = (unsafe { KernelNodes::for_tree(tree) }) else {
        // Only with a direct map that is not page aligned, for a tree that
        // `kho_radix_init_tree()` refused to set up.
        warn_on_once!(true);
        return;
    };
    // SAFETY: All nodes were allocated by `KernelNodes` and nobody uses the
    // tree afterwards (safety requirements); the lock excludes concurrent
    // users during the call.
    unsafe { kho_radix_tree::destroy(&mut mem, root) };
    // SAFETY: `tree` is valid for writes and we hold its lock.
    unsafe { (*tree).root = core::ptr::null_mut() };
    // The cached tables were just freed.
    // SAFETY: We hold the tree lock.
    unsafe { tree_cache(tree) }.clear();
}

/// Fills `stats` with the number of preserved blocks per order and the
/// number of table and leaf nodes of the tree.
///
/// Used by the `radix_stats` debugfs file (`kho_radix_stats.c`). Takes the
/// tree lock, so the numbers are a consistent snapshot.
///
/// Returns 0, or `-EINVAL` for an uninitialised tree or a null `stats`.
///
/// # Safety
///
/// Same as [`kho_radix_add_key`]; `stats` is null or valid for writes.
#[export]
pub unsafe extern "C" fn kho_radix_rs_stats(
    tree: *mut bindings::kho_radix_tree,
    stats: *mut bindings::kho_radix_stats,
) -> c_int {
    if tree.is_null() || stats.is_null() {
        return EINVAL.to_errno();
    }
    // SAFETY: `tree` is valid per the safety requirements.
    if unsafe { tree_root(tree) }.is_none() {
        return EINVAL.to_errno();
    }

    let mut per_order = [0u64; 64];
    // SAFETY: The tree is initialised (its root is set), so is its lock.
    let _guard = unsafe { tree_lock(tree) }.lock();
    // SAFETY: `tree` is valid; the root only changes under the lock.
    let Some(root) = (unsafe { tree_root(tree) }) else {
        return EINVAL.to_errno();
    };
    // SAFETY: We hold the tree lock.
    let Some(mem) = (unsafe { KernelNodes::for_tree(tree) }) else {
        return EINVAL.to_errno();
    };
    let mut leaf = |key: u64| -> i32 {
        if let Some((_, order)) = kho_radix_abi::decode_key(key) {
            if let Some(n) = per_order.get_mut(order as usize) {
                // A count of keys in memory cannot reach `u64::MAX`;
                // wrapping keeps the overflow check's panic path out.
                *n = n.wrapping_add(1);
            }
        }
        0
    };
    // SAFETY: `root` is the root of a valid tree and we hold its lock; the
    // closure does not touch the tree.
    unsafe { kho_radix_tree::walk_keys(&mem, root, &mut leaf) };
    // SAFETY: As above.
    let (tables, leaves) = unsafe { kho_radix_tree::count_nodes(&mem, root) };

    // SAFETY: `stats` is valid for writes per the safety requirements.
    unsafe {
        (*stats).keys_per_order = per_order;
        (*stats).tables = tables as u64;
        (*stats).leaves = leaves as u64;
    }
    0
}

/// Counts and sums the keys of the tree through a Rust closure.
///
/// The in-kernel benchmark (`kho_radix_bench.c`) times this next to
/// [`kho_radix_walk_tree`] with a C callback: here the per-key call is
/// inlined, where a C callback costs an indirect call per key.
///
/// Returns 0, or `-EINVAL` (with a warning) for an uninitialised tree.
///
/// # Safety
///
/// Same as [`kho_radix_add_key`]; `count` and `sum` are valid for writes.
#[cfg(CONFIG_KEXEC_HANDOVER_RADIX_RUST_BENCH)]
#[export]
pub unsafe extern "C" fn kho_radix_rs_bench_walk_closure(
    tree: *mut bindings::kho_radix_tree,
    count: *mut u64,
    sum: *mut u64,
) -> c_int {
    // SAFETY: `tree` is valid per the safety requirements.
    let root = unsafe { tree_root(tree) };
    if warn_on_once!(root.is_none()) {
        return EINVAL.to_errno();
    }
    // SAFETY: The tree is initialised (its root is set), so is its lock.
    let _guard = unsafe { tree_lock(tree) }.lock();
    // SAFETY: `tree` is valid; the root only changes under the lock.
    let Some(root) = (unsafe { tree_root(tree) }) else {
        return EINVAL.to_errno();
    };
    // SAFETY: We hold the tree lock.
    let Some(mem) = (unsafe { KernelNodes::for_tree(tree) }) else {
        return EINVAL.to_errno();
    };
    let (mut n, mut total) = (0u64, 0u64);
    let mut leaf = |key: u64| -> i32 {
        n = n.wrapping_add(1);
        total = total.wrapping_add(key);
        0
    };
    // SAFETY: `root` is the root of a valid tree and we hold its lock; the
    // closure does not touch the tree.
    let err = unsafe { kho_radix_tree::walk_keys(&mem, root, &mut leaf) };
    // SAFETY: `count` and `sum` are valid for writes per the safety
    // requirements.
    unsafe {
        *count = n;
        *sum = total;
    }
    err
}
