// SPDX-License-Identifier: GPL-2.0

//! KUnit suites of the Rust KHO radix tracker, run in the booted kernel.
//!
//! C reference: [kernel/liveupdate/kho_radix_c.h](srctree/kernel/liveupdate/kho_radix_c.h),
//! built a second time as `kho_radix_cref_*()` by `kho_radix_cref.c`.
//!
//! One file per suite in `kho_radix_kunit/`; this file holds what they share:
//! the C API of both trackers as [`Api`], private trees, the comparison of
//! two trees node by node, and a deterministic pseudo-random generator.
//!
//! - `kho_radix_differential` (`differential.rs`): thousands of
//!   deterministic pseudo-random adds and deletes on a C reference tree and
//!   a Rust tree; afterwards both trees must have the same shape node by
//!   node, the same leaf bytes and the same walk, in both orders.
//! - `kho_radix_alloc_failure` (`alloc_failure.rs`): every node allocation
//!   of an add fails in turn, through a test-only [`NodeMemory`] that wraps
//!   the kernel's (`failing_nodes.rs`); the tree must stay byte for byte
//!   unchanged and no page may leak.
//! - `kho_radix_concurrency` (`concurrency.rs`): kthreads add and delete
//!   disjoint and overlapping key ranges on one tree through the exported C
//!   API.
//! - `kho_radix_edge` (`edge.rs`): named edge cases of the key encoding and
//!   the walk, on both implementations, which must also end up identical.
//! - `kho_radix_reclaim` (`reclaim.rs`): deletes that free the nodes they
//!   empty return the tree to its root, and free each leaf as it empties.
//! - `kho_radix_range` (`range.rs`): a page range preserved or unpreserved
//!   in one call leaves the tree of one C add or delete per block of
//!   `kho_preserve_pages()`'s chunking, up to the widest key.
//!
//! Only private trees are used; the tree handed over at kexec is not touched.
//! A failed KUnit assertion ends the test thread at once, so the checks
//! below report mismatches with `pr_err!` and return `false`, and the tests
//! assert only after cleaning up.

use super::kho_radix_abi::{
    self, RadixNode, BITMAP_BITS, BITMAP_SIZE_LOG2, KEY_WIDTH, PAGE_SIZE, TREE_MAX_DEPTH,
};
use super::kho_radix_tree::{self, NodeMemory, RadixError};
use super::{tree_cache, tree_root, KernelNodes, PAGE_SHIFT};
use core::cell::Cell;
use core::ptr::NonNull;
use kernel::{
    bindings,
    error::{from_err_ptr, to_result},
    prelude::*,
};

type Tree = bindings::kho_radix_tree;

unsafe extern "C" {
    // The C tracker under other names, from kho_radix_cref.c; same
    // prototypes as <linux/kho_radix_tree.h>.
    fn kho_radix_cref_add_key(tree: *mut Tree, key: c_ulong) -> c_int;
    fn kho_radix_cref_del_key(tree: *mut Tree, key: c_ulong);
    fn kho_radix_cref_walk_tree(
        tree: *mut Tree,
        cb: *const bindings::kho_radix_walk_cb,
        data: *mut c_void,
    ) -> c_int;
    fn kho_radix_cref_init_tree(tree: *mut Tree, root: *mut bindings::kho_radix_node) -> c_int;
    fn kho_radix_cref_destroy_tree(tree: *mut Tree);
}

/// Highest page order of this kernel's buddy allocator.
const MAX_ORDER: u32 = bindings::MAX_PAGE_ORDER;

/// Words in a node page.
const WORDS: usize = PAGE_SIZE / 8;

/// Level of the root table.
const TOP_LEVEL: u32 = TREE_MAX_DEPTH - 1;

/// `-ERANGE`, as the C API returns it.
const ERANGE_C: c_int = -(bindings::ERANGE as c_int);

/// One implementation of the C API of <linux/kho_radix_tree.h>.
struct Api {
    name: &'static str,
    add: unsafe extern "C" fn(*mut Tree, c_ulong) -> c_int,
    del: unsafe extern "C" fn(*mut Tree, c_ulong),
    walk: unsafe extern "C" fn(*mut Tree, *const bindings::kho_radix_walk_cb, *mut c_void) -> c_int,
    init: unsafe extern "C" fn(*mut Tree, *mut bindings::kho_radix_node) -> c_int,
    destroy: unsafe extern "C" fn(*mut Tree),
}

/// The Rust tracker, through the kernel's exported C API.
static RUST: Api = Api {
    name: "rust",
    add: bindings::kho_radix_add_key,
    del: bindings::kho_radix_del_key,
    walk: bindings::kho_radix_walk_tree,
    init: bindings::kho_radix_init_tree,
    destroy: bindings::kho_radix_destroy_tree,
};

/// The Rust tracker with node reclamation on delete, as KHO's unpreserve
/// uses it.
static RUST_RECLAIM: Api = Api {
    name: "rust (reclaim)",
    add: bindings::kho_radix_add_key,
    del: bindings::kho_radix_del_key_reclaim,
    walk: bindings::kho_radix_walk_tree,
    init: bindings::kho_radix_init_tree,
    destroy: bindings::kho_radix_destroy_tree,
};

/// The C tracker, built again under other names.
static CREF: Api = Api {
    name: "C",
    add: kho_radix_cref_add_key,
    del: kho_radix_cref_del_key,
    walk: kho_radix_cref_walk_tree,
    init: kho_radix_cref_init_tree,
    destroy: kho_radix_cref_destroy_tree,
};

/// A private tree of one implementation, destroyed and freed on drop.
///
/// # Invariants
///
/// `tree` came from `KBox::into_raw()` and was initialised by `api.init`; it
/// is only used through `api` and freed in `drop()`.
struct TestTree {
    api: &'static Api,
    tree: *mut Tree,
}

impl TestTree {
    fn new(api: &'static Api) -> Result<Self> {
        // SAFETY: `struct kho_radix_tree` is a pointer and a `struct mutex`,
        // plain integers and pointers for which all zeroes is a valid
        // (uninitialised) value; `init` initialises it below.
        let tree = KBox::new(unsafe { core::mem::zeroed::<Tree>() }, GFP_KERNEL)?;
        let tree = KBox::into_raw(tree);
        // SAFETY: `tree` is valid for writes and used by nobody else; a null
        // root makes `init` allocate an empty one.
        let ret = unsafe { (api.init)(tree, core::ptr::null_mut()) };
        if let Err(e) = to_result(ret) {
            // SAFETY: `tree` came from `KBox::into_raw()` above and `init`
            // failed, so nothing refers to it.
            drop(unsafe { KBox::from_raw(tree) });
            return Err(e);
        }
        // INVARIANT: allocated and initialised above.
        Ok(Self { api, tree })
    }

    fn add(&self, key: u64) -> c_int {
        // SAFETY: The tree is initialised (type invariant); the API takes
        // its mutex, so shared use from several threads is fine.
        unsafe { (self.api.add)(self.tree, key as c_ulong) }
    }

    fn del(&self, key: u64) {
        // SAFETY: As in `add()`.
        unsafe { (self.api.del)(self.tree, key as c_ulong) }
    }

    /// Walks the tree, collecting into `c` and stopping as `c` says.
    fn walk(&self, c: &mut Collect) -> c_int {
        let cb = bindings::kho_radix_walk_cb {
            leaf: Some(collect_leaf),
            node: Some(collect_node),
        };
        // SAFETY: The tree is initialised (type invariant); both callbacks
        // take a `*mut Collect`, which `c` is, and do not touch the tree.
        unsafe { (self.api.walk)(self.tree, &cb, core::ptr::from_mut(c).cast()) }
    }

    /// All keys and node addresses of the tree, in walk order.
    fn snapshot(&self) -> Result<Collect> {
        let mut c = Collect::new();
        to_result(self.walk(&mut c))?;
        Ok(c)
    }
}

impl Drop for TestTree {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the tree is initialised, all its
        // nodes come from this implementation and nobody uses it afterwards.
        unsafe { (self.api.destroy)(self.tree) };
        // SAFETY: `tree` came from `KBox::into_raw()` and is no longer used.
        drop(unsafe { KBox::from_raw(self.tree) });
    }
}

/// What a walk collected, and when its callbacks stop it.
struct Collect {
    keys: KVec<u64>,
    nodes: KVec<u64>,
    /// Stop after this many keys (0: never), returning `ret`.
    stop_leaf_at: usize,
    /// Stop after this many nodes (0: never), returning `ret`.
    stop_node_at: usize,
    ret: c_int,
}

impl Collect {
    fn new() -> Self {
        Self {
            keys: KVec::new(),
            nodes: KVec::new(),
            stop_leaf_at: 0,
            stop_node_at: 0,
            ret: 0,
        }
    }
}

/// Walk leaf callback.
///
/// # Safety
///
/// `data` points to a [`Collect`] that nothing else accesses during the walk.
unsafe extern "C" fn collect_leaf(key: c_ulong, data: *mut c_void) -> c_int {
    // SAFETY: Guaranteed by the caller.
    let c = unsafe { &mut *data.cast::<Collect>() };
    if c.keys.push(key as u64, GFP_KERNEL).is_err() {
        return ENOMEM.to_errno();
    }
    if c.keys.len() == c.stop_leaf_at {
        return c.ret;
    }
    0
}

/// Walk node callback.
///
/// # Safety
///
/// As for [`collect_leaf`].
unsafe extern "C" fn collect_node(phys: bindings::phys_addr_t, data: *mut c_void) -> c_int {
    // SAFETY: Guaranteed by the caller.
    let c = unsafe { &mut *data.cast::<Collect>() };
    if c.nodes.push(phys, GFP_KERNEL).is_err() {
        return ENOMEM.to_errno();
    }
    if c.nodes.len() == c.stop_node_at {
        return c.ret;
    }
    0
}

/// The words of the node page at `phys`.
///
/// # Safety
///
/// `phys` is the address of a node of a live tree that is neither modified
/// nor destroyed while the returned slice is used.
unsafe fn node_words<'a>(phys: u64) -> &'a [u64] {
    let node = (phys as usize).wrapping_add(super::kho_radix_nodes::direct_map_offset());
    // SAFETY: Tree nodes are page-sized, page-aligned, direct-mapped pages,
    // valid and unchanged for `'a` by the safety requirements.
    unsafe { core::slice::from_raw_parts(core::ptr::with_exposed_provenance::<u64>(node), WORDS) }
}

/// Sorted `(address, position in walk)` of the nodes, for lookups.
fn node_index(nodes: &[u64]) -> Result<KVec<(u64, usize)>> {
    let mut idx = KVec::with_capacity(nodes.len(), GFP_KERNEL)?;
    for (pos, &phys) in nodes.iter().enumerate() {
        idx.push((phys, pos), GFP_KERNEL)?;
    }
    idx.sort_unstable();
    Ok(idx)
}

fn lookup(idx: &[(u64, usize)], phys: u64) -> Option<usize> {
    idx.binary_search_by_key(&phys, |&(p, _)| p)
        .ok()
        .map(|i| idx[i].1)
}

/// Checks that two live trees are identical: the same keys in the same walk
/// order and, node by node in walk order, the same level, non-zero table
/// entries at the same indices pointing at the nodes at the same walk
/// positions, and byte-identical leaves. Reports the first difference.
///
/// Neither tree may be modified during the call.
fn same_tree(a: &TestTree, b: &TestTree) -> Result<bool> {
    let sa = a.snapshot()?;
    let sb = b.snapshot()?;
    let (na, nb) = (a.api.name, b.api.name);
    if *sa.keys != *sb.keys {
        pr_err!(
            "kunit: walks differ: {} has {} keys, {} has {}\n",
            na,
            sa.keys.len(),
            nb,
            sb.keys.len()
        );
        for (i, (ka, kb)) in sa.keys.iter().zip(sb.keys.iter()).enumerate() {
            if ka != kb {
                pr_err!(
                    "kunit: first difference at key #{}: {:#x} vs {:#x}\n",
                    i,
                    ka,
                    kb
                );
                break;
            }
        }
        return Ok(false);
    }
    let n = sa.nodes.len();
    if n != sb.nodes.len() {
        pr_err!(
            "kunit: {} has {} nodes, {} has {}\n",
            na,
            n,
            nb,
            sb.nodes.len()
        );
        return Ok(false);
    }
    let ia = node_index(&sa.nodes)?;
    let ib = node_index(&sb.nodes)?;
    let mut levels = KVec::from_elem(u32::MAX, n, GFP_KERNEL)?;
    if let Some(l) = levels.first_mut() {
        *l = TOP_LEVEL;
    }
    for pos in 0..n {
        let level = levels[pos];
        if level == u32::MAX {
            pr_err!("kunit: node #{} is not reached from an earlier node\n", pos);
            return Ok(false);
        }
        // SAFETY: The addresses come from walks of the two live trees,
        // which are not modified during this call.
        let (wa, wb) = unsafe { (node_words(sa.nodes[pos]), node_words(sb.nodes[pos])) };
        if level == 0 {
            if wa != wb {
                pr_err!("kunit: leaf #{} differs between {} and {}\n", pos, na, nb);
                return Ok(false);
            }
            continue;
        }
        for (i, (&ea, &eb)) in wa.iter().zip(wb.iter()).enumerate() {
            if ea == 0 && eb == 0 {
                continue;
            }
            let (pa, pb) = (lookup(&ia, ea), lookup(&ib, eb));
            match (pa, pb) {
                (Some(pa), Some(pb)) if pa == pb && pa > pos => levels[pa] = level - 1,
                _ => {
                    pr_err!(
                        "kunit: node #{} (level {}) entry {}: {} -> {:?}, {} -> {:?}\n",
                        pos,
                        level,
                        i,
                        na,
                        pa,
                        nb,
                        pb
                    );
                    return Ok(false);
                }
            }
        }
    }
    Ok(true)
}

/// Deterministic xorshift64* generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Page frame numbers the key encoding can hold: `PAGE_SHIFT + pfn` bits.
const PFN_BITS: u32 = 64 - PAGE_SHIFT;

/// Highest PFN whose pages of `order` are encodable (aligned to `order`).
const fn highest_pfn(order: u32) -> u64 {
    (u64::MAX >> (PAGE_SHIFT + order)) << order
}

/// The key of the page of `order` at `pfn`.
const fn key_of(pfn: u64, order: u32) -> u64 {
    kho_radix_abi::encode_key(pfn << PAGE_SHIFT, order)
}

/// A random key: random order, PFN near 0, near the top of the encodable
/// range, in one of a few clusters, or anywhere.
fn random_key(rng: &mut Rng, clusters: &[u64]) -> u64 {
    let order = rng.below(u64::from(MAX_ORDER) + 1) as u32;
    let pfn = match rng.below(4) {
        0 => rng.below(1 << 16),
        1 => highest_pfn(0) - rng.below(1 << 16),
        2 => clusters[rng.below(clusters.len() as u64) as usize] + rng.below(1 << 20),
        _ => rng.next() >> (64 - PFN_BITS),
    };
    key_of(pfn & !((1u64 << order) - 1), order)
}

/// Reports a failed check of scenario `$who` and makes the enclosing
/// function return `Ok(false)`.
macro_rules! check {
    ($who:expr, $cond:expr) => {
        if !$cond {
            pr_err!(
                "kunit: {}: check failed at line {}: {}\n",
                $who,
                line!(),
                stringify!($cond)
            );
            return Ok(false);
        }
    };
}

/// Runs `scenario` on a fresh C reference tree and a fresh Rust tree; both
/// runs must pass and leave identical trees.
fn on_both(scenario: impl Fn(&TestTree) -> Result<bool>) -> Result<bool> {
    let c = TestTree::new(&CREF)?;
    let r = TestTree::new(&RUST)?;
    let ok_c = scenario(&c)?;
    let ok_r = scenario(&r)?;
    Ok(ok_c && ok_r && same_tree(&c, &r)?)
}

/// The keys of `t` (a Rust tracker tree) from `kho_radix_walk_tree_desc()`,
/// stopping after `stop` keys if that is not 0; a stopped walk must return
/// the callback's result, and a full one 0.
fn walk_desc(t: &TestTree, stop: usize) -> Result<KVec<u64>> {
    const STOP: c_int = 7;
    let mut c = Collect::new();
    c.stop_leaf_at = stop;
    c.ret = STOP;
    let cb = bindings::kho_radix_walk_cb {
        leaf: Some(collect_leaf),
        node: None,
    };
    let data = core::ptr::from_mut(&mut c).cast();
    // SAFETY: The tree is initialised (type invariant of `TestTree`) and
    // belongs to the Rust tracker; `collect_leaf` takes a `*mut Collect`,
    // which `data` is, and does not touch the tree.
    let ret = unsafe { super::kho_radix_walk_tree_desc(t.tree, &cb, data) };
    let want = if stop == 0 { 0 } else { STOP };
    if ret != want {
        pr_err!("kunit: descending walk returned {}, not {}\n", ret, want);
        return Err(EINVAL);
    }
    Ok(c.keys)
}

// The suites, one file each. Declared last so that the `check!` macro above
// is in scope in them.
mod alloc_failure;
mod concurrency;
mod differential;
mod edge;
mod failing_nodes;
// The range suite preserves page frames that need not exist, from 0 up to
// the last pfn with a key, and compares with C blocks that no node boundary
// splits. With NUMA the range calls ask `pfn_to_nid()` about each block,
// which cannot look up a page frame without memory (KUNIT_ALL_TESTS on a
// NUMA config would oops), so the suite is only built without NUMA, as in
// the test kernels.
#[cfg(not(CONFIG_NUMA))]
mod range;
mod reclaim;

use failing_nodes::FailingNodes;
