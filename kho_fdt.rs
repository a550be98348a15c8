// SPDX-License-Identifier: GPL-2.0

//! The preserved-memory map in the KHO root FDT, and its validation at boot.
//!
//! C header: [include/linux/kho_radix_tree.h](srctree/include/linux/kho_radix_tree.h)
//!
//! The KHO root FDT carries the physical address of the radix tree's root
//! table as the `preserved-memory-map` property: eight bytes, the native
//! `u64` as C writes it (`fdt_property()` of a `u64`), frozen by the
//! `"kho-v4"` ABI. With `CONFIG_KEXEC_HANDOVER_RADIX_RUST`,
//! `kernel/liveupdate/kexec_handover.c` publishes and retrieves it here:
//!
//! - [`kho_radix_fdt_put_root`] writes it while the outgoing FDT is built.
//! - [`kho_radix_fdt_get_root`] reads it from the incoming FDT in
//!   `kho_populate()` and `kho_memory_init_early()`, and rejects a missing,
//!   short, zero or misaligned value with a message naming the problem.
//! - [`kho_radix_validate_root`] checks the whole incoming tree with
//!   [`validate_tree`] before anything is reserved or the scratch areas are
//!   extended from it, and that it preserves the handover FDT itself. The
//!   caller drops the handover on any error, so a corrupt tree costs the
//!   preserved memory, never the boot. A subtree whose blob the tree does
//!   not preserve is removed from the FDT, so that only its owner misses it.
//!
//! Everything here runs in early boot, before the slab allocator exists:
//! the validator's scratch buffer comes from memblock through the `__ref`
//! helpers of `kho_fdt_glue.c`, which also wrap the `__init` memblock
//! queries. Nothing here panics on the contents of the FDT or the tree.

use super::kho_radix_abi::{decode_key, RadixNode};
use super::kho_radix_validate::{
    count_checked_nodes, validate_tree, AcceptedTree, ErrorKind, Limits, PhysLayout,
    ValidationError, ROOT_LEVEL,
};
use core::{mem::MaybeUninit, ptr::NonNull};
use kernel::{bindings, fmt, prelude::*, str::BStr};

/// Size of the property's value: one native-endian `u64`.
const ROOT_PROP_LEN: usize = core::mem::size_of::<u64>();

/// Page size as a physical address quantity.
const PAGE_BYTES: u64 = kernel::page::PAGE_SIZE as u64;

/// Name of the property, NUL-terminated, as the ABI header spells it.
#[inline]
fn prop_name() -> *const c_char {
    bindings::KHO_FDT_MEMORY_MAP_PROP_NAME.as_ptr().cast()
}

/// Publishes the physical address of `tree`'s root as the
/// `preserved-memory-map` property of the node being written in `fdt`.
///
/// Returns 0 on success, `-EINVAL` for a tree without a root, or the
/// (negative) libfdt error of `fdt_property()`.
///
/// # Safety
///
/// `fdt` is an FDT under construction with the sequential-write API
/// (`fdt_create()`, inside `fdt_begin_node()`), and `tree` points to a valid
/// `struct kho_radix_tree`.
#[export]
pub(crate) unsafe extern "C" fn kho_radix_fdt_put_root(
    fdt: *mut c_void,
    tree: *mut bindings::kho_radix_tree,
) -> c_int {
    // SAFETY: `tree` is valid for reads per the safety requirements.
    let root = unsafe { (*tree).root };
    if root.is_null() {
        pr_err!("no preserved-memory tree to publish\n");
        return EINVAL.to_errno();
    }
    // SAFETY: The helper only computes the address of a direct-map page.
    let phys: u64 = unsafe { bindings::kho_radix_rs_node_phys(root) };
    let bytes = phys.to_ne_bytes();
    // SAFETY: `fdt` is in sequential-write mode per the safety requirements,
    // the name is NUL-terminated, and `bytes` is valid for `ROOT_PROP_LEN`
    // bytes, which libfdt copies.
    unsafe {
        bindings::fdt_property(
            fdt,
            prop_name(),
            bytes.as_ptr().cast(),
            ROOT_PROP_LEN as c_int,
        )
    }
}

/// Returns the physical address of the incoming preserved-memory tree's root
/// from the handover FDT, or 0 (after a `pr_err`) when the property is
/// missing, not exactly 8 bytes long, zero, or not page aligned.
///
/// # Safety
///
/// `fdt` points to a mapped FDT whose header was checked by
/// `fdt_check_header()`.
#[export]
pub(crate) unsafe extern "C" fn kho_radix_fdt_get_root(
    fdt: *const c_void,
) -> bindings::phys_addr_t {
    // SAFETY: `fdt` is a checked FDT per the safety requirements.
    let phys = match unsafe { prop_u64(fdt, 0, bindings::KHO_FDT_MEMORY_MAP_PROP_NAME) } {
        Ok(phys) => phys,
        Err(PropError::Missing(err)) => {
            pr_err!(
                "preserved-memory-map: property missing from the handover FDT (libfdt error {})\n",
                err
            );
            return 0;
        }
        Err(PropError::Length(len)) => {
            pr_err!(
                "preserved-memory-map: property is {} bytes long, expected {}\n",
                len,
                ROOT_PROP_LEN
            );
            return 0;
        }
    };
    if phys == 0 {
        pr_err!("preserved-memory-map: root address is zero\n");
        return 0;
    }
    if phys % PAGE_BYTES != 0 {
        pr_err!(
            "preserved-memory-map: root address {:#x} is not page aligned\n",
            phys
        );
        return 0;
    }
    phys
}

/// Why a property is not one `u64`.
enum PropError {
    /// libfdt did not find it; the libfdt error code.
    Missing(c_int),
    /// It has this many bytes, not eight.
    Length(c_int),
}

/// Reads the property `name` of `node` in `fdt`, which must be exactly one
/// native-endian `u64` (how KHO writes addresses and sizes).
///
/// # Safety
///
/// `fdt` points to an FDT whose header was checked by `fdt_check_header()`.
unsafe fn prop_u64(fdt: *const c_void, node: c_int, name: &[u8]) -> Result<u64, PropError> {
    let mut len: c_int = 0;
    // SAFETY: `fdt` is a checked FDT (caller), `name` a NUL-terminated
    // ABI constant; libfdt bounds every access by the FDT's header.
    let val = unsafe { bindings::fdt_getprop(fdt, node, name.as_ptr().cast(), &mut len) };
    if val.is_null() {
        return Err(PropError::Missing(len));
    }
    if len != ROOT_PROP_LEN as c_int {
        return Err(PropError::Length(len));
    }
    // SAFETY: libfdt returned a pointer to `len` == 8 bytes inside the FDT;
    // FDT properties are only 4-byte aligned, hence the unaligned read.
    Ok(unsafe { core::ptr::read_unaligned(val.cast::<u64>()) })
}

/// Removes from the handover FDT every subtree (`kho_add_subtree()`) whose
/// blob the accepted tree does not preserve, and says which.
///
/// The blob's owner reads it after the page allocator has taken all memory
/// that was not reserved, so such a blob would be free memory in use.
/// `kho_add_subtree()` requires the caller to preserve the blob; removing
/// the node makes `kho_retrieve_subtree()` report it missing to that owner
/// alone, and the rest of the handover stays. Nodes without both
/// properties are left to `kho_retrieve_subtree()`, which refuses them. A
/// blob of size 0 is checked as one byte: `kho_retrieve_subtree()` hands
/// out its address all the same, and owners that ask for no size (such as
/// `test_kho` and memblock's `reserve_mem`) read an FDT there.
///
/// Returns `Err(())` if a subtree could not be removed (the caller then
/// drops the whole handover).
///
/// # Safety
///
/// `fdt` points to the handover FDT, whose header was checked by
/// `fdt_check_header()`, writable, and used by nothing else during the call.
/// `tree` preserves all of it, so the NOPs written into it touch no page of
/// the tree (an accepted tree preserves none of its own pages).
unsafe fn drop_unpreserved_subtrees(
    tree: &AcceptedTree<'_, MemblockLayout<'_>>,
    fdt: *mut c_void,
) -> Result<(), ()> {
    // SAFETY: `fdt` is a checked FDT (safety requirements).
    let mut node = unsafe { bindings::fdt_first_subnode(fdt, 0) };
    while node >= 0 {
        // Taken before NOPs overwrite `node`; they do not move what follows.
        // SAFETY: As above.
        let next = unsafe { bindings::fdt_next_subnode(fdt, node) };
        // SAFETY: As above.
        let blob = unsafe { prop_u64(fdt, node, bindings::KHO_SUB_TREE_PROP_NAME) }.ok();
        // SAFETY: As above.
        let size = unsafe { prop_u64(fdt, node, bindings::KHO_SUB_TREE_SIZE_PROP_NAME) }.ok();
        if let (Some(phys), Some(size)) = (blob, size) {
            if !tree.range_preserved(phys, size.max(1)) {
                let mut len: c_int = 0;
                // SAFETY: As for `fdt_first_subnode()`.
                let name = unsafe { bindings::fdt_get_name(fdt, node, &mut len) };
                let name: &[u8] = match usize::try_from(len) {
                    // SAFETY: libfdt returned `len` bytes of name inside the
                    // FDT, which nothing writes until the NOPs below.
                    Ok(len) if !name.is_null() => unsafe {
                        core::slice::from_raw_parts(name.cast::<u8>(), len)
                    },
                    _ => b"?",
                };
                pr_err!(
                    "handover subtree '{}' not preserved: blob {:#x}, {} bytes; removed from the handover\n",
                    BStr::from_bytes(name),
                    phys,
                    size
                );
                // SAFETY: `fdt` is writable and used by nothing else (safety
                // requirements); `name` is not used any more.
                let err = unsafe { bindings::fdt_nop_node(fdt, node) };
                if err < 0 {
                    pr_err!("cannot remove the subtree: libfdt error {}\n", err);
                    return Err(());
                }
            }
        }
        node = next;
    }
    Ok(())
}

/// Reads the CPU's cycle counter, or 0 where there is none to read directly.
///
/// The validation runs before any clock is calibrated on some machines (an
/// x86 guest without HPET or PIT learns its TSC frequency only later, and
/// until then the nanosecond clock stands still), so the cycle count is
/// reported too.
#[inline]
fn cycles() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `rdtsc` has no preconditions; every x86-64 CPU has it.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        0
    }
}

/// Physical memory as memblock sees it in early boot, and the scratch areas
/// the previous kernel handed over.
struct MemblockLayout<'a> {
    scratch: &'a [bindings::kho_scratch],
}

impl PhysLayout for MemblockLayout<'_> {
    #[inline]
    fn is_ram(&self, start: u64, size: u64) -> bool {
        // SAFETY: The helper only queries memblock, which is set up (and kept
        // until the caller, `kho_memory_init_early()`, is done).
        unsafe { bindings::kho_radix_rs_phys_is_ram(start, size) }
    }

    #[inline]
    fn on_one_node(&self, start: u64, size: u64) -> bool {
        // SAFETY: As for `is_ram()`.
        unsafe { bindings::kho_radix_rs_phys_one_node(start, size) }
    }

    fn in_scratch(&self, start: u64, size: u64) -> bool {
        let end = start.saturating_add(size);
        self.scratch.iter().any(|area| {
            let a_end = area.addr.saturating_add(area.size);
            area.size != 0 && start < a_end && area.addr < end
        })
    }

    fn node_ptr(&self, phys: u64) -> Option<NonNull<RadixNode>> {
        // Every page of system RAM is in the direct map, except NOMAP
        // memory, which `is_ram()` does not count as RAM.
        if phys % PAGE_BYTES != 0 || !self.is_ram(phys, PAGE_BYTES) {
            return None;
        }
        // SAFETY: The helper only computes an address.
        NonNull::new(unsafe { bindings::kho_radix_rs_node_virt(phys) }.cast())
    }
}

/// Where a [`ValidationError`] was found and its context, as the kernel log
/// shows it: the root address, a table entry with its level and index, or a
/// key with the block it decodes to.
struct ErrorSite<'a>(&'a ValidationError);

impl fmt::Display for ErrorSite<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.0;
        match (e.level, decode_key(e.value)) {
            (ROOT_LEVEL, _) => write!(f, "root address {:#x}", e.value)?,
            (0, Some((phys, order))) => write!(
                f,
                "key {:#x} (address {:#x}, order {}) at bit {} of a leaf",
                e.value, phys, order, e.index
            )?,
            (0, None) => write!(f, "key {:#x} at bit {} of a leaf", e.value, e.index)?,
            (level, _) => write!(
                f,
                "entry {:#x} at level {} index {}",
                e.value, level, e.index
            )?,
        }
        // A level and the limits are counts; the other contexts are
        // addresses or keys.
        let count = matches!(
            e.kind,
            ErrorKind::Cycle | ErrorKind::TooManyNodes | ErrorKind::ScratchTooSmall
        );
        match e.kind.context() {
            Some(label) if count => write!(f, ", {} {}", label, e.other),
            Some(label) => write!(f, ", {} {:#x}", label, e.other),
            None => Ok(()),
        }
    }
}

/// The `scratch_cnt` scratch areas of the handover at `scratch`, as a slice.
///
/// The previous kernel chose where the array lies (Linux 7.3 puts it in a
/// kexec segment aligned to 64 KiB) and `kho_populate()` takes it wherever
/// it is, so two placements are refused here, with the reason:
///
/// - an array not aligned for `struct kho_scratch`, which cannot be a
///   slice (undefined behaviour; with `CONFIG_RUST_DEBUG_ASSERTIONS` a
///   panic in early boot instead of a dropped handover);
/// - an array at physical address 0, which `kho_memory_init()` takes for
///   "no handover" (`kho_in.scratch_phys`): it would not reserve what the
///   tree accepted here preserves, and the page allocator would get it.
///
/// A null `scratch` or a `scratch_cnt` of 0 gives no areas.
///
/// # Safety
///
/// `scratch` is null or a direct-map address. If it is aligned for
/// `struct kho_scratch` and not the direct-map address of physical address
/// 0, it points to `scratch_cnt` valid entries that nothing writes during
/// `'a`.
pub(crate) unsafe fn scratch_areas<'a>(
    scratch: *const bindings::kho_scratch,
    scratch_cnt: c_uint,
) -> Result<&'a [bindings::kho_scratch], &'static str> {
    if scratch.is_null() {
        return Ok(&[]);
    }
    // SAFETY: The helper only computes the physical address of `scratch`,
    // a direct-map address (safety requirements).
    if unsafe { bindings::kho_radix_rs_node_phys(scratch.cast_mut().cast()) } == 0 {
        return Err("at physical address 0, taken for no handover");
    }
    if !scratch.is_aligned() {
        return Err("misaligned");
    }
    if scratch_cnt == 0 {
        return Ok(&[]);
    }
    // SAFETY: `scratch` is aligned, not null and not at physical address
    // 0, so it points to `scratch_cnt` valid entries not written during
    // `'a` (safety requirements).
    Ok(unsafe { core::slice::from_raw_parts(scratch, scratch_cnt as usize) })
}

/// Validates the preserved-memory tree handed over at `root_phys` before any
/// of it is used, and checks that it preserves the handover FDT, the
/// `fdt_size` bytes at `fdt_phys`, and the blob of each of the FDT's
/// subtrees.
///
/// The FDT must be preserved because the kernel keeps reading it
/// (`kho_retrieve_subtree()`) after memblock hands all memory it did not
/// reserve to the page allocator; every kernel with this ABI preserves it
/// (`kho_alloc_preserve()`), so only a damaged handover lacks it. A subtree
/// whose blob is not preserved is removed from the FDT, with a message (see
/// `drop_unpreserved_subtrees()`).
///
/// Prints the statistics and the time taken on success, and the first fault
/// found (see [`validate_tree`]) on error.
///
/// Returns 0 if the tree is sound, `-ENOMEM` if the validator's buffer could
/// not be allocated and `-EINVAL` for a faulty tree, one without the FDT,
/// or a scratch array that [`scratch_areas`] refuses.
///
/// # Safety
///
/// Early boot, before the slab allocator is up: memblock describes the
/// system RAM and RAM is in the direct map. `scratch` is null or the
/// direct-map address of the handover's array of `scratch_cnt` `struct
/// kho_scratch` entries, valid wherever [`scratch_areas`] reads them, and
/// nothing writes to physical memory while this runs. `fdt_phys` is the
/// handover FDT, in the direct map, whose header `fdt_check_header()`
/// accepted; nothing else uses it during the call, which may overwrite
/// subtree nodes of it with NOPs.
#[export]
pub(crate) unsafe extern "C" fn kho_radix_validate_root(
    root_phys: bindings::phys_addr_t,
    fdt_phys: bindings::phys_addr_t,
    fdt_size: usize,
    scratch: *const bindings::kho_scratch,
    scratch_cnt: c_uint,
) -> c_int {
    // SAFETY: `scratch` is null or a direct-map address whose `scratch_cnt`
    // entries are valid where `scratch_areas()` reads them, and nothing
    // writes them while we run (safety requirements).
    let scratch = match unsafe { scratch_areas(scratch, scratch_cnt) } {
        Ok(areas) => areas,
        Err(why) => {
            pr_err!("invalid KHO scratch array at {:p}: {}\n", scratch, why);
            return EINVAL.to_errno();
        }
    };
    let layout = MemblockLayout { scratch };

    // SAFETY: The helper only reads memblock.
    let ram_pages = unsafe { bindings::kho_radix_rs_phys_mem_size() } / PAGE_BYTES;
    // A leaf holds the keys of one order over a whole aligned range (with 4K
    // pages, 32768 order-0 pages), so a sound tree describing this RAM has
    // far fewer nodes than `ram_pages / 64`. The bound only keeps the walk of
    // a corrupt tree (or its cycles) finite; the slack covers the tables.
    let max_nodes = usize::try_from((ram_pages / 64).saturating_add(64)).unwrap_or(usize::MAX / 16);
    // kho_preserve_pages() preserves a page range in the largest aligned
    // blocks that fit, which can be above MAX_PAGE_ORDER; no block can be
    // larger than the whole RAM, though.
    let ram_order = 63u32.saturating_sub(ram_pages.max(1).leading_zeros());
    let max_order = ram_order.max(bindings::MAX_PAGE_ORDER);

    let start_cycles = cycles();
    // SAFETY: The helper has no preconditions.
    let start = unsafe { bindings::kho_radix_rs_clock_ns() };
    // Size the buffer for this tree, not for the largest one the RAM allows:
    // with 4 TiB that would be 128 MiB, which memblock has to find in the
    // scratch areas (not yet extended), and the C tracker needs no buffer
    // at all. A faulty tree gets the bound, so that `validate_tree()` can
    // report a node shared by two parents as such.
    // SAFETY: As for `validate_tree()` below.
    let counted = unsafe { count_checked_nodes(&layout, root_phys, max_nodes) };
    let nodes_len = *counted.as_ref().unwrap_or(&max_nodes);
    let limits = Limits {
        max_nodes: nodes_len,
        max_order,
    };

    let Some(bytes) = nodes_len.checked_mul(core::mem::size_of::<u64>()) else {
        pr_err!(
            "{} pages of RAM: too many to validate the preserved-memory tree\n",
            ram_pages
        );
        return ENOMEM.to_errno();
    };
    // SAFETY: The helper has no preconditions; the memory is not cleared,
    // which `validate_tree()` allows (it writes each entry before reading it).
    let buf = unsafe { bindings::kho_radix_rs_early_alloc(bytes) }.cast::<MaybeUninit<u64>>();
    if buf.is_null() {
        return match counted {
            Ok(_) => {
                pr_err!(
                    "cannot allocate {} bytes to validate the preserved-memory tree\n",
                    bytes
                );
                ENOMEM.to_errno()
            }
            // The tree is refused either way.
            Err(e) => report_invalid(&e),
        };
    }
    // SAFETY: `buf` is a fresh, suitably aligned allocation of `nodes_len`
    // `u64`s that only this slice uses until it is freed below; its
    // contents are uninitialised, which `MaybeUninit` allows.
    let nodes = unsafe { core::slice::from_raw_parts_mut(buf, nodes_len) };

    // The accepted tree (`res`) does not outlive this call. The one write
    // while it lives, `drop_unpreserved_subtrees()`'s NOPs, goes to the FDT
    // only once the tree is known to preserve it, and an accepted tree
    // preserves none of its own pages.
    // SAFETY: `node_ptr()` only returns direct-map addresses of RAM pages,
    // valid for reads of a page, which nothing writes while `res` lives.
    let res = unsafe { validate_tree(&layout, root_phys, &limits, nodes) };
    // SAFETY: As above.
    let ns = unsafe { bindings::kho_radix_rs_clock_ns() }.saturating_sub(start);
    let cycles = cycles().wrapping_sub(start_cycles);

    // SAFETY: `buf` came from `kho_radix_rs_early_alloc(bytes)` and `nodes`
    // is not used any more.
    unsafe { bindings::kho_radix_rs_early_free(buf.cast(), bytes) };

    match res {
        Ok(tree) if !tree.range_preserved(fdt_phys, fdt_size as u64) => {
            pr_err!(
                "invalid preserved-memory tree: handover FDT not preserved: {:#x}, {} bytes\n",
                fdt_phys,
                fdt_size
            );
            EINVAL.to_errno()
        }
        Ok(tree) => {
            // SAFETY: The helper only computes the direct-map address of
            // `fdt_phys`.
            let fdt = unsafe { bindings::kho_radix_rs_node_virt(fdt_phys) }.cast::<c_void>();
            if !fdt.is_null() {
                // SAFETY: `fdt` is the checked handover FDT, ours to write
                // (safety requirements).
                if unsafe { drop_unpreserved_subtrees(&tree, fdt) }.is_err() {
                    return EINVAL.to_errno();
                }
            }
            let stats = tree.stats();
            pr_info!(
                "preserved-memory tree validated: {} tables, {} leaves, {} keys in {} us ({} ns, {} cycles)\n",
                stats.tables,
                stats.leaves,
                stats.keys,
                ns / 1000,
                ns,
                cycles
            );
            0
        }
        Err(e) => report_invalid(&e),
    }
}

/// Logs why the handed-over tree is refused; returns `-EINVAL`.
fn report_invalid(e: &ValidationError) -> c_int {
    pr_err!(
        "invalid preserved-memory tree: {}: {}\n",
        e.kind.name(),
        ErrorSite(e)
    );
    EINVAL.to_errno()
}
