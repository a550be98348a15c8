// SPDX-License-Identifier: GPL-2.0

//! KUnit suites of the Rust KHO radix tracker, run in the booted kernel.
//!
//! C reference: [kernel/liveupdate/kho_radix_c.h](srctree/kernel/liveupdate/kho_radix_c.h),
//! built a second time as `kho_radix_cref_*()` by `kho_radix_cref.c`.
//!
//! - `kho_radix_differential`: thousands of deterministic pseudo-random adds
//!   and deletes on a C reference tree and a Rust tree; afterwards both trees
//!   must have the same shape node by node, the same leaf bytes and the same
//!   walk.
//! - `kho_radix_alloc_failure`: every node allocation of an add fails in
//!   turn, through a test-only [`NodeMemory`] that wraps the kernel's; the
//!   tree must stay byte for byte unchanged and no page may leak.
//! - `kho_radix_concurrency`: kthreads add and delete disjoint and
//!   overlapping key ranges on one tree through the exported C API.
//! - `kho_radix_edge`: named edge cases of the key encoding and the walk, on
//!   both implementations, which must also end up identical.
//!
//! Only private trees are used; the tree handed over at kexec is not touched.
//! A failed KUnit assertion ends the test thread at once, so the checks
//! below report mismatches with `pr_err!` and return `false`, and the tests
//! assert only after cleaning up.

use super::kho_radix_abi::{
    self, RadixLeaf, RadixNode, BITMAP_BITS, BITMAP_SIZE_LOG2, KEY_WIDTH, PAGE_SIZE, TREE_MAX_DEPTH,
};
use super::kho_radix_tree::{self, NodeMemory, RadixError};
use super::{KernelNodes, PAGE_SHIFT};
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
    let node = KernelNodes::new().phys_to_virt(phys);
    // SAFETY: Tree nodes are page-sized, page-aligned, direct-mapped pages,
    // valid and unchanged for `'a` by the safety requirements.
    unsafe { core::slice::from_raw_parts(node.as_ptr().cast::<u64>(), WORDS) }
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

#[kunit_tests(kho_radix_differential)]
mod differential {
    use super::*;

    /// 5000 random adds and deletes on both trees, compared every 1000 ops.
    #[test]
    fn random_ops_match_c() -> Result {
        const OPS: usize = 5000;
        let mut rng = Rng(0x6b68_6f5f_7261_6478);
        let mut clusters = [0u64; 8];
        for c in clusters.iter_mut() {
            *c = rng.next() >> (64 - PFN_BITS + 20);
        }
        let c = TestTree::new(&CREF)?;
        let r = TestTree::new(&RUST)?;
        let mut added: KVec<u64> = KVec::new();
        let (mut adds, mut dels, mut wide, mut rc_mismatch, mut same) = (0, 0, 0, 0, true);
        for op in 1..=OPS {
            let dice = rng.below(100);
            if dice < 55 || added.is_empty() {
                let key = random_key(&mut rng, &clusters);
                let (rc, rr) = (c.add(key), r.add(key));
                if rc != rr || rc != 0 {
                    rc_mismatch += 1;
                }
                added.push(key, GFP_KERNEL)?;
                adds += 1;
            } else if dice < 97 {
                // A key added before (maybe deleted already), or its
                // neighbour in the same leaf: the path exists either way,
                // as deleting never frees nodes.
                let mut key = added[rng.below(added.len() as u64) as usize];
                if dice >= 85 {
                    key ^= 1;
                }
                c.del(key);
                r.del(key);
                dels += 1;
            } else {
                let key = (1u64 << KEY_WIDTH) | rng.next();
                let (rc, rr) = (c.add(key), r.add(key));
                if rc != ERANGE_C || rr != ERANGE_C {
                    rc_mismatch += 1;
                }
                wide += 1;
            }
            if op % 1000 == 0 && !same_tree(&c, &r)? {
                pr_err!("kunit: trees differ after {} ops\n", op);
                same = false;
                break;
            }
        }
        let snap = r.snapshot()?;
        pr_info!(
            "kunit: differential: {} ops ({} adds, {} deletes, {} too wide), {} keys and {} nodes in each tree\n",
            adds + dels + wide,
            adds,
            dels,
            wide,
            snap.keys.len(),
            snap.nodes.len()
        );
        // The descending walk of the Rust tree (the next kernel's
        // reservation walk) gives the C tree's keys in reverse, and stops
        // where its callback says.
        let want = c.snapshot()?.keys;
        let desc = walk_desc(&r, 0)?;
        let desc_ok = desc.len() == want.len() && desc.iter().eq(want.iter().rev());
        if !desc_ok {
            pr_err!(
                "kunit: descending walk: {} keys, not the C tree's {} in reverse\n",
                desc.len(),
                want.len()
            );
        }
        let half = want.len() / 2;
        let stopped = walk_desc(&r, half)?;
        let stop_ok = stopped.len() == half && stopped.iter().eq(want.iter().rev().take(half));
        assert_eq!(rc_mismatch, 0);
        assert!(same);
        assert!(snap.keys.len() > 1000);
        assert!(desc_ok);
        assert!(stop_ok);
        Ok(())
    }

    /// Every order at PFN 0, the top PFN and a spread between, added and
    /// half deleted again, on both trees.
    #[test]
    fn every_order_match_c() -> Result {
        let ok = on_both(|t| {
            for order in 0..=MAX_ORDER {
                for i in 0..64u64 {
                    let pfn = (highest_pfn(0) / 63 * i) & !((1u64 << order) - 1);
                    check!(t.api.name, t.add(key_of(pfn, order)) == 0);
                }
            }
            for order in (0..=MAX_ORDER).step_by(2) {
                for i in (0..64u64).step_by(3) {
                    let pfn = (highest_pfn(0) / 63 * i) & !((1u64 << order) - 1);
                    t.del(key_of(pfn, order));
                }
            }
            Ok(true)
        })?;
        assert!(ok);
        Ok(())
    }
}

/// Kernel node memory that fails a chosen allocation and counts live nodes.
struct FailingNodes {
    /// Allocations so far.
    allocs: usize,
    /// The allocation number that fails (counting from 1); 0 for none.
    fail_at: usize,
    /// Nodes allocated and not freed.
    live: isize,
    /// Where the nodes come from.
    nodes: KernelNodes,
}

impl FailingNodes {
    /// Node memory of this kernel in which no allocation fails yet.
    fn new() -> Self {
        Self {
            allocs: 0,
            fail_at: 0,
            live: 0,
            nodes: KernelNodes::new(),
        }
    }
}

impl NodeMemory for FailingNodes {
    fn alloc_node(&mut self) -> Option<NonNull<RadixNode>> {
        self.allocs += 1;
        if self.allocs == self.fail_at {
            return None;
        }
        let node = self.nodes.alloc_node()?;
        self.live += 1;
        Some(node)
    }

    unsafe fn free_node(&mut self, node: NonNull<RadixNode>) {
        self.live -= 1;
        // SAFETY: `node` came from `alloc_node()`, i.e. from `KernelNodes`,
        // and is no longer used (safety requirements).
        unsafe { self.nodes.free_node(node) }
    }

    fn virt_to_phys(&self, node: NonNull<RadixNode>) -> u64 {
        self.nodes.virt_to_phys(node)
    }

    fn phys_to_virt(&self, phys: u64) -> NonNull<RadixNode> {
        self.nodes.phys_to_virt(phys)
    }

    unsafe fn node_word(&self, node: NonNull<RadixNode>) -> Option<&Cell<usize>> {
        // SAFETY: The nodes came from `KernelNodes`; the caller's guarantees
        // carry over.
        unsafe { self.nodes.node_word(node) }
    }

    /// `page->private` of the leaf's page, which `KernelNodes` does not
    /// offer, as a call per delete costs more under TCG than it saves: so
    /// that the witnesses kept there run in a booted kernel too.
    unsafe fn leaf_word(&self, leaf: NonNull<RadixLeaf>) -> Option<&Cell<usize>> {
        // SAFETY: The leaf is a node from `KernelNodes` of a tree the caller
        // may write (caller's guarantees); only the tracker uses its word.
        unsafe { self.nodes.node_word(leaf.cast()) }
    }

    fn has_leaf_words(&self) -> bool {
        true
    }
}

/// Keys, node addresses and node contents of a core tree, in walk order.
struct CoreSnapshot {
    keys: KVec<u64>,
    nodes: KVec<u64>,
    words: KVec<u64>,
}

/// Takes a [`CoreSnapshot`].
///
/// # Safety
///
/// `root` is a valid tree for `mem` that nothing else uses during the call.
unsafe fn core_snapshot(mem: &FailingNodes, root: NonNull<RadixNode>) -> Result<CoreSnapshot> {
    let mut keys = KVec::new();
    let mut nodes = KVec::new();
    let mut leaf = |k: u64| -> i32 {
        match keys.push(k, GFP_KERNEL) {
            Ok(()) => 0,
            Err(_) => ENOMEM.to_errno(),
        }
    };
    let mut node = |p: u64| -> i32 {
        match nodes.push(p, GFP_KERNEL) {
            Ok(()) => 0,
            Err(_) => ENOMEM.to_errno(),
        }
    };
    // SAFETY: `root` is a valid tree for `mem` used by nobody else.
    to_result(unsafe {
        kho_radix_tree::walk(
            mem,
            root,
            Some(&mut leaf as &mut dyn FnMut(u64) -> i32),
            Some(&mut node as &mut dyn FnMut(u64) -> i32),
        )
    })?;
    let mut words = KVec::with_capacity(nodes.len() * WORDS, GFP_KERNEL)?;
    for &p in nodes.iter() {
        // SAFETY: `p` is a node of the tree, which is not modified during
        // the call.
        words.extend_from_slice(unsafe { node_words(p) }, GFP_KERNEL)?;
    }
    Ok(CoreSnapshot { keys, nodes, words })
}

/// Fails each allocation of adding `key` in turn and checks that the tree is
/// unchanged and nothing leaked; then adds it for real. Returns whether all
/// held and `expect_allocs` allocations were needed.
///
/// # Safety
///
/// `root` is a valid tree for `mem` that nothing else uses during the call.
unsafe fn fail_every_alloc(
    mem: &mut FailingNodes,
    root: NonNull<RadixNode>,
    key: u64,
    expect_allocs: usize,
) -> Result<bool> {
    let who = "alloc_failure";
    // SAFETY: Guaranteed by the caller.
    let before = unsafe { core_snapshot(mem, root) }?;
    let live = mem.live;
    let mut fail_at = 1;
    loop {
        check!(who, fail_at <= TREE_MAX_DEPTH as usize + 1);
        mem.allocs = 0;
        mem.fail_at = fail_at;
        // SAFETY: Guaranteed by the caller.
        let res = unsafe { kho_radix_tree::add_key(mem, root, key) };
        if res.is_ok() {
            break;
        }
        check!(who, res == Err(RadixError::NoMemory));
        check!(who, mem.live == live);
        // SAFETY: Guaranteed by the caller.
        let after = unsafe { core_snapshot(mem, root) }?;
        check!(who, *after.keys == *before.keys);
        check!(who, *after.nodes == *before.nodes);
        check!(who, *after.words == *before.words);
        // The rollback also takes back the count of the table it unlinked
        // the new branch from.
        // SAFETY: Guaranteed by the caller.
        let wrong = unsafe { kho_radix_tree::find_wrong_table_count(mem, root) };
        check!(who, wrong.is_none());
        fail_at += 1;
    }
    mem.fail_at = 0;
    pr_info!(
        "kunit: alloc_failure: key {:#x}: failed each of {} allocations, tree unchanged\n",
        key,
        fail_at - 1
    );
    check!(who, fail_at - 1 == expect_allocs);
    check!(who, mem.allocs == expect_allocs);
    check!(who, mem.live == live + expect_allocs as isize);
    // SAFETY: Guaranteed by the caller.
    check!(who, unsafe { kho_radix_tree::contains_key(mem, root, key) });
    Ok(true)
}

#[kunit_tests(kho_radix_alloc_failure)]
mod alloc_failure {
    use super::*;

    /// Adds needing 5, 3, 1 and 0 new nodes, each allocation failing in turn.
    #[test]
    fn every_allocation_point() -> Result {
        let mut mem = FailingNodes::new();
        let root = kho_radix_tree::alloc_root(&mut mem).map_err(|_| ENOMEM)?;
        let k0 = key_of(0x4_0000, 0);
        // SAFETY: `root` is a fresh tree of `mem`, used only here.
        let mut ok = unsafe { kho_radix_tree::add_key(&mut mem, root, k0) }.is_ok();
        let cases = [
            // A new top-level branch: tables at levels 4..1 and a leaf.
            (key_of(highest_pfn(0), 0), TREE_MAX_DEPTH as usize - 1),
            // A new level-3 subtree: tables at levels 2 and 1 and a leaf.
            (k0 ^ (1u64 << (kho_radix_abi::level_shift(3))), 3),
            // The next leaf under the same level-1 table.
            (k0 + BITMAP_BITS as u64, 1),
            // The same leaf.
            (k0 + 1, 0),
        ];
        for (key, n) in cases {
            // SAFETY: As above.
            ok = ok && unsafe { fail_every_alloc(&mut mem, root, key, n) }?;
        }
        // Deleting every key again frees every node but the root: the
        // tables' entry counts kept up with the failures.
        // SAFETY: As above.
        ok = ok && unsafe { kho_radix_tree::del_key_reclaim(&mut mem, root, k0) }.is_ok();
        for (key, _) in cases {
            // SAFETY: As above.
            ok = ok && unsafe { kho_radix_tree::del_key_reclaim(&mut mem, root, key) }.is_ok();
        }
        ok = ok && mem.live == 1;
        if !ok {
            // A failed add may have left an entry pointing at a freed node:
            // leak the tree rather than free pages twice.
            pr_err!("kunit: alloc_failure: leaking the test tree\n");
        }
        assert!(ok);
        // SAFETY: Every node of the tree came from `mem`; it is not used
        // afterwards.
        unsafe { kho_radix_tree::destroy(&mut mem, root) };
        assert_eq!(mem.live, 0);
        Ok(())
    }
}

/// Number of concurrent workers.
const WORKERS: usize = 4;
/// Keys per worker in the interleaved range; they straddle leaf boundaries.
const INTERLEAVED: u64 = 3000;
/// Keys every worker adds and deletes again.
const CHURN: u64 = 1024;
/// Keys every worker adds.
const SHARED: u64 = 512;
/// Keys per worker in its own level-3 subtree.
const OWN: u64 = 64;

/// Base keys of the ranges of the concurrency test.
const INTERLEAVED_BASE: u64 = key_of(0x10_0000, 0) + 3 * BITMAP_BITS as u64 - 5000;
const CHURN_BASE: u64 = key_of(0x80_0000, 0) - 300;
const SHARED_BASE: u64 = key_of(0x40_0000, 3);

/// Key `j` of worker `id` in the interleaved range: workers share bitmap
/// words.
const fn interleaved_key(id: usize, j: u64) -> u64 {
    INTERLEAVED_BASE + j * WORKERS as u64 + id as u64
}

/// Key `j` of worker `id` in its own level-3 subtree.
const fn own_key(id: usize, j: u64) -> u64 {
    key_of(((id as u64 + 1) << 36) | (j * 977), 0)
}

/// One kthread of the concurrency test.
struct Worker {
    tree: *mut Tree,
    id: usize,
    errors: u32,
    done: bindings::completion,
}

/// Thread function of a [`Worker`].
///
/// # Safety
///
/// `data` points to a [`Worker`] with an initialised `tree` and `done`, that
/// stays valid until `done` is completed and that nothing else accesses
/// until then.
unsafe extern "C" fn worker_fn(data: *mut c_void) -> c_int {
    let w = data.cast::<Worker>();
    // SAFETY: Guaranteed by the caller; `tree` is an initialised Rust tree,
    // whose API takes its mutex.
    let (tree, id) = unsafe { ((*w).tree, (*w).id) };
    let add = |key: u64| -> u32 {
        // SAFETY: See above.
        u32::from(unsafe { bindings::kho_radix_add_key(tree, key as c_ulong) } != 0)
    };
    let del = |key: u64| {
        // SAFETY: See above.
        unsafe { bindings::kho_radix_del_key(tree, key as c_ulong) }
    };
    let mut errors = 0;
    for j in 0..INTERLEAVED {
        errors += add(interleaved_key(id, j));
        if j < CHURN {
            // Every worker adds a churn key and then deletes it, so the last
            // operation on it is a delete whatever the interleaving.
            let k = CHURN_BASE + (j + id as u64 * 257) % CHURN;
            errors += add(k);
            del(k);
        }
        if j < SHARED {
            errors += add(SHARED_BASE + (j + id as u64 * 131) % SHARED);
        }
        if j < OWN {
            errors += add(own_key(id, j));
        }
    }
    for j in (1..INTERLEAVED).step_by(2) {
        del(interleaved_key(id, j));
    }
    // SAFETY: As above; `w` is not touched after `complete()`.
    unsafe {
        (*w).errors = errors;
        bindings::complete(&raw mut (*w).done);
    }
    0
}

/// Runs the workers on `tree` and returns the number of failed adds.
fn run_workers(tree: &TestTree) -> Result<u32> {
    let mut workers = KVec::with_capacity(WORKERS, GFP_KERNEL)?;
    for id in 0..WORKERS {
        workers.push(
            Worker {
                tree: tree.tree,
                id,
                errors: 0,
                // SAFETY: All zeroes is a valid value for a `struct
                // completion`; `init_completion()` below initialises it.
                done: unsafe { core::mem::zeroed() },
            },
            GFP_KERNEL,
        )?;
    }
    // The vector does not grow any more, so the workers stay in place.
    let base = workers.as_mut_ptr();
    let mut started = 0;
    let mut res = Ok(());
    for id in 0..WORKERS {
        // SAFETY: `id < WORKERS == workers.len()`.
        let w = unsafe { base.add(id) };
        // SAFETY: `w` is valid and no thread uses it yet.
        unsafe { bindings::init_completion(&raw mut (*w).done) };
        // SAFETY: `worker_fn` gets a `Worker` that is initialised, outlives
        // the thread's use of it (we wait for `done` below) and is not
        // accessed by us until then; the format takes one `int`.
        let task = unsafe {
            bindings::kthread_create_on_node(
                Some(worker_fn),
                w.cast(),
                bindings::NUMA_NO_NODE,
                c"kho_radix_kunit/%d".as_char_ptr(),
                id as c_int,
            )
        };
        match from_err_ptr(task) {
            Ok(task) => {
                // SAFETY: `task` is a new kthread that was not started yet.
                unsafe { bindings::wake_up_process(task) };
                started += 1;
            }
            Err(e) => {
                res = Err(e);
                break;
            }
        }
    }
    let mut errors = 0;
    for id in 0..started {
        // SAFETY: `id < started <= workers.len()`, and the completion was
        // initialised before the worker started.
        unsafe { bindings::wait_for_completion(&raw mut (*base.add(id)).done) };
        // SAFETY: The worker completed `done`, after which it does not
        // access its `Worker` any more.
        errors += unsafe { (*base.add(id)).errors };
    }
    res.map(|()| errors)
}

#[kunit_tests(kho_radix_concurrency)]
mod concurrency {
    use super::*;

    /// Four kthreads on one tree: interleaved disjoint keys sharing bitmap
    /// words, own branches, keys all add and delete, keys all add.
    #[test]
    fn disjoint_and_overlapping_ranges() -> Result {
        let tree = TestTree::new(&RUST)?;
        let errors = run_workers(&tree)?;
        let mut expect = KVec::new();
        for id in 0..WORKERS {
            for j in (0..INTERLEAVED).step_by(2) {
                expect.push(interleaved_key(id, j), GFP_KERNEL)?;
            }
            for j in 0..OWN {
                expect.push(own_key(id, j), GFP_KERNEL)?;
            }
        }
        for j in 0..SHARED {
            expect.push(SHARED_BASE + j, GFP_KERNEL)?;
        }
        expect.sort_unstable();
        let mut unique: KVec<u64> = KVec::with_capacity(expect.len(), GFP_KERNEL)?;
        for &k in expect.iter() {
            if unique.last() != Some(&k) {
                unique.push(k, GFP_KERNEL)?;
            }
        }
        let expect = unique;
        let snap = tree.snapshot()?;
        pr_info!(
            "kunit: concurrency: {} workers, {} keys expected, {} in the tree\n",
            WORKERS,
            expect.len(),
            snap.keys.len()
        );
        assert_eq!(errors, 0);
        assert!(*snap.keys == *expect);
        Ok(())
    }
}

#[kunit_tests(kho_radix_edge)]
mod edge {
    use super::*;

    #[test]
    fn order_0_and_max_order() -> Result {
        let ok = on_both(|t| {
            let pfn = 1u64 << 20;
            let (k0, kmax) = (key_of(pfn, 0), key_of(pfn, MAX_ORDER));
            check!(t.api.name, t.add(k0) == 0 && t.add(kmax) == 0);
            let s = t.snapshot()?;
            check!(t.api.name, *s.keys == [kmax, k0]);
            let phys = pfn << PAGE_SHIFT;
            check!(t.api.name, kho_radix_abi::decode_key(k0) == Some((phys, 0)));
            check!(
                t.api.name,
                kho_radix_abi::decode_key(kmax) == Some((phys, MAX_ORDER))
            );
            Ok(true)
        })?;
        assert!(ok);
        Ok(())
    }

    #[test]
    fn pfn_zero() -> Result {
        let ok = on_both(|t| {
            for order in 0..=MAX_ORDER {
                check!(t.api.name, t.add(key_of(0, order)) == 0);
            }
            let s = t.snapshot()?;
            check!(t.api.name, s.keys.len() == MAX_ORDER as usize + 1);
            for (i, &k) in s.keys.iter().enumerate() {
                // Higher orders have lower keys.
                let order = MAX_ORDER - i as u32;
                check!(t.api.name, kho_radix_abi::decode_key(k) == Some((0, order)));
            }
            Ok(true)
        })?;
        assert!(ok);
        Ok(())
    }

    #[test]
    fn highest_encodable_pfn() -> Result {
        let ok = on_both(|t| {
            // The order-0 key of the top PFN uses all `KEY_WIDTH` bits.
            check!(
                t.api.name,
                key_of(highest_pfn(0), 0) == (1u64 << KEY_WIDTH) - 1
            );
            for order in 0..=MAX_ORDER {
                let key = key_of(highest_pfn(order), order);
                check!(t.api.name, t.add(key) == 0);
                let phys = highest_pfn(order) << PAGE_SHIFT;
                check!(
                    t.api.name,
                    kho_radix_abi::decode_key(key) == Some((phys, order))
                );
            }
            let s = t.snapshot()?;
            check!(t.api.name, s.keys.len() == MAX_ORDER as usize + 1);
            check!(
                t.api.name,
                s.keys.last() == Some(&((1u64 << KEY_WIDTH) - 1))
            );
            Ok(true)
        })?;
        assert!(ok);
        Ok(())
    }

    #[test]
    fn adjacent_leaves() -> Result {
        let ok = on_both(|t| {
            let k = key_of(0, 0) + 5 * BITMAP_BITS as u64;
            check!(t.api.name, t.add(k - 1) == 0 && t.add(k) == 0);
            let s = t.snapshot()?;
            check!(t.api.name, *s.keys == [k - 1, k]);
            // The root, one table per lower level, two leaves.
            check!(t.api.name, s.nodes.len() == TREE_MAX_DEPTH as usize + 1);
            Ok(true)
        })?;
        assert!(ok);
        Ok(())
    }

    #[test]
    fn leaf_boundary() -> Result {
        let ok = on_both(|t| {
            let first = key_of(0, 0) + 7 * BITMAP_BITS as u64;
            let keys = [
                first,
                first + 63,
                first + 64,
                first + BITMAP_BITS as u64 - 1,
            ];
            for k in keys {
                check!(t.api.name, t.add(k) == 0);
            }
            let s = t.snapshot()?;
            check!(t.api.name, *s.keys == keys);
            // One leaf holds the first and the last bit.
            check!(t.api.name, s.nodes.len() == TREE_MAX_DEPTH as usize);
            Ok(true)
        })?;
        assert!(ok);
        Ok(())
    }

    #[test]
    fn delete_last_bit_of_leaf() -> Result {
        let ok = on_both(|t| {
            let k = key_of(0x12345, 0);
            check!(t.api.name, t.add(k) == 0);
            t.del(k);
            let s = t.snapshot()?;
            check!(t.api.name, s.keys.is_empty());
            // Like C, the empty leaf and its tables stay.
            check!(t.api.name, s.nodes.len() == TREE_MAX_DEPTH as usize);
            if let Some(&leaf) = s.nodes.last() {
                // SAFETY: `leaf` is a node of the live tree `t`, not modified
                // while the slice is used.
                let words = unsafe { node_words(leaf) };
                check!(t.api.name, words.iter().all(|&w| w == 0));
            }
            check!(t.api.name, t.add(k) == 0);
            check!(t.api.name, *t.snapshot()?.keys == [k]);
            Ok(true)
        })?;
        assert!(ok);
        Ok(())
    }

    #[test]
    fn walk_stops_early() -> Result {
        let ok = on_both(|t| {
            for i in 0..10u64 {
                check!(t.api.name, t.add(key_of(i * 4096, 0)) == 0);
            }
            let mut c = Collect::new();
            c.stop_leaf_at = 3;
            c.ret = 42;
            check!(t.api.name, t.walk(&mut c) == 42);
            check!(t.api.name, c.keys.len() == 3);
            let mut c = Collect::new();
            c.stop_node_at = 1;
            c.ret = -7;
            check!(t.api.name, t.walk(&mut c) == -7);
            check!(t.api.name, c.keys.is_empty() && c.nodes.len() == 1);
            Ok(true)
        })?;
        assert!(ok);
        Ok(())
    }

    #[test]
    fn walk_empty_tree() -> Result {
        let ok = on_both(|t| {
            let mut c = Collect::new();
            check!(t.api.name, t.walk(&mut c) == 0);
            check!(t.api.name, c.keys.is_empty() && c.nodes.len() == 1);
            Ok(true)
        })?;
        assert!(ok);
        Ok(())
    }

    /// The direct-map offset that `KernelNodes` adds instead of calling
    /// `phys_to_virt()` must agree with C for real node pages.
    #[test]
    fn direct_map_offset_matches_c() -> Result {
        let mut mem = KernelNodes::new();
        let mut nodes = KVec::new();
        for _ in 0..8 {
            let node = mem.alloc_node().ok_or(ENOMEM)?;
            nodes.push(node, GFP_KERNEL)?;
        }
        let mut ok = true;
        for &node in nodes.iter() {
            // SAFETY: The helpers only compute addresses.
            let (phys, virt) = unsafe {
                let phys = bindings::kho_radix_rs_node_phys(node.as_ptr().cast());
                (phys, bindings::kho_radix_rs_node_virt(phys))
            };
            ok &= mem.virt_to_phys(node) == phys;
            ok &= mem.phys_to_virt(phys).as_ptr().cast() == virt;
        }
        for node in nodes.drain_all() {
            // SAFETY: `node` came from `mem.alloc_node()` and is not used
            // any more.
            unsafe { mem.free_node(node) };
        }
        assert!(ok);
        Ok(())
    }

    /// A branch from `kho_radix_rs_alloc_nodes()` (one `alloc_pages_bulk()`)
    /// is as `alloc_node()` would give it: distinct, page-aligned pages at
    /// non-zero physical addresses, all zero, even when the allocator hands
    /// back pages that were just dirtied and freed.
    #[test]
    fn branch_pages_are_zeroed() -> Result {
        let mut mem = KernelNodes::new();
        let n = TREE_MAX_DEPTH as usize - 1;
        let mut dirty = KVec::new();
        for _ in 0..n {
            dirty.push(mem.alloc_node().ok_or(ENOMEM)?, GFP_KERNEL)?;
        }
        for node in dirty.drain_all() {
            // SAFETY: `node` came from `mem.alloc_node()`: a page nobody
            // else uses, which is freed right after.
            unsafe {
                core::ptr::write_bytes(node.as_ptr().cast::<u8>(), 0xa5, PAGE_SIZE);
                mem.free_node(node);
            }
        }
        let mut branch = [None; TREE_MAX_DEPTH as usize];
        let slots = branch.get_mut(..n).ok_or(EINVAL)?;
        let mut ok = mem.alloc_nodes(slots);
        for (i, node) in slots.iter().enumerate() {
            let Some(node) = *node else {
                ok = false;
                continue;
            };
            ok &= node.as_ptr().addr() % PAGE_SIZE == 0 && mem.virt_to_phys(node) != 0;
            ok &= slots.iter().skip(i + 1).all(|other| *other != Some(node));
            // SAFETY: `node` is a page from `alloc_nodes()`, readable for
            // `PAGE_SIZE` bytes and not written by anyone else.
            let words = unsafe { core::slice::from_raw_parts(node.as_ptr().cast::<u64>(), WORDS) };
            ok &= words.iter().all(|&w| w == 0);
        }
        for node in slots.iter_mut().filter_map(Option::take) {
            // SAFETY: `node` came from `mem.alloc_nodes()`, which allocates
            // as `alloc_node()` does, and is not used any more.
            unsafe { mem.free_node(node) };
        }
        assert!(ok);
        Ok(())
    }

    #[test]
    fn too_wide_key_is_erange() -> Result {
        let ok = on_both(|t| {
            check!(t.api.name, t.add(1u64 << KEY_WIDTH) == ERANGE_C);
            check!(t.api.name, t.add(u64::MAX) == ERANGE_C);
            // Ignored without a warning.
            t.del(1u64 << KEY_WIDTH);
            let s = t.snapshot()?;
            check!(t.api.name, s.keys.is_empty() && s.nodes.len() == 1);
            check!(t.api.name, t.add((1u64 << KEY_WIDTH) - 1) == 0);
            Ok(true)
        })?;
        assert!(ok);
        Ok(())
    }

    /// `kernel::folio::Folio::{read, write}` (the accessors drivers use for
    /// the memory they preserve): a range across a page boundary round
    /// trips, ranges that end past the folio or overflow `usize` are
    /// `EINVAL`, and nothing outside the written range changes.
    #[test]
    fn folio_read_write_ranges() -> Result {
        const MSG: &[u8] = b"kexec handover";
        let mut folio = kernel::folio::Folio::alloc(GFP_KERNEL, 1)?;
        let size = folio.size();
        let across = PAGE_SIZE - 6;
        folio.write(across, MSG)?;
        let mut back = [0u8; MSG.len()];
        folio.read(across, &mut back)?;
        let round_trip = back == *MSG;
        let mut before = [0xffu8; 1];
        folio.read(across - 1, &mut before)?;
        let untouched = before[0] == 0;
        let mut tail = [0u8; 4];
        folio.read(size - 4, &mut tail)?;
        let rejected = [
            folio.write(size - 3, MSG),
            folio.read(size - 3, &mut back),
            folio.write(usize::MAX - 1, MSG),
            folio.read(usize::MAX, &mut back),
            folio.write(size + 1, &[]),
        ]
        .iter()
        .all(|r| *r == Err(EINVAL));
        let empty_ok = folio.write(size, &[]).is_ok();
        pr_info!(
            "kunit: folio: round trip {}, neighbour untouched {}, bad ranges rejected {}\n",
            round_trip,
            untouched,
            rejected
        );
        assert!(round_trip);
        assert!(untouched);
        assert!(rejected);
        assert!(empty_ok);
        Ok(())
    }
}

#[kunit_tests(kho_radix_reclaim)]
mod reclaim {
    use super::*;

    /// Preserve/unpreserve cycles over scattered keys: the C tree keeps
    /// every node it ever allocated, the reclaiming Rust tree returns to its
    /// root page after every cycle.
    #[test]
    fn cycles_return_to_root() -> Result {
        const CYCLES: usize = 6;
        const KEYS: usize = 400;
        let mut rng = Rng(0x7265_636c_6169_6d00);
        let mut clusters = [0u64; 8];
        for c in clusters.iter_mut() {
            *c = rng.next() >> (64 - PFN_BITS + 20);
        }
        let c = TestTree::new(&CREF)?;
        let r = TestTree::new(&RUST_RECLAIM)?;
        let mut keys: KVec<u64> = KVec::new();
        let (mut c_prev, mut ok) = (0, true);
        for cycle in 1..=CYCLES {
            keys.clear();
            while keys.len() < KEYS {
                let key = random_key(&mut rng, &clusters);
                // Each key once per cycle: a second delete of a key whose
                // path was reclaimed would be a delete of an absent key.
                if keys.contains(&key) {
                    continue;
                }
                to_result(c.add(key))?;
                to_result(r.add(key))?;
                keys.push(key, GFP_KERNEL)?;
            }
            let peak = r.snapshot()?;
            ok &= peak.keys == c.snapshot()?.keys;
            for &key in keys.iter() {
                c.del(key);
                r.del(key);
            }
            let (cn, rn) = (c.snapshot()?.nodes.len(), r.snapshot()?.nodes.len());
            pr_info!(
                "kunit: reclaim: cycle {}: {} keys, Rust tree {} -> {} pages, C tree {} pages\n",
                cycle,
                KEYS,
                peak.nodes.len(),
                rn,
                cn
            );
            ok &= rn == 1 && cn > 1 && cn >= c_prev;
            c_prev = cn;
        }
        assert!(ok);
        Ok(())
    }

    /// Single keys over [`LEAVES`] leaves, deleted with freeing in random order,
    /// then in address order, singly and as one-page ranges: the witness
    /// kept in each leaf's `page->private`, and the one kept with the cached
    /// chunk leaf, never keep a leaf that emptied.
    #[test]
    fn leaf_witnesses_free_each_emptied_leaf() -> Result {
        const KEYS: usize = 600;
        let mut rng = Rng(0x7769_746e_6573_7300);
        let base = (rng.next() >> (64 - PFN_BITS + 8)) & !(BITMAP_BITS as u64 - 1);
        let mut keys: KVec<u64> = KVec::new();
        while keys.len() < KEYS {
            let key = key_of(base + rng.next() % (LEAVES * BITMAP_BITS) as u64, 0);
            if !keys.contains(&key) {
                keys.push(key, GFP_KERNEL)?;
            }
        }
        // Fisher-Yates.
        for i in (1..keys.len()).rev() {
            keys.swap(i, (rng.next() % (i as u64 + 1)) as usize);
        }
        let shuffled_ok = reclaim_each_leaf_in_order(&keys)?;
        keys.sort_unstable();
        let sorted_ok = reclaim_each_leaf_in_order(&keys)?;
        pr_info!(
            "kunit: reclaim: {} keys in {} leaves, random order {}, address order {}\n",
            KEYS,
            LEAVES,
            if shuffled_ok { "ok" } else { "FAILED" },
            if sorted_ok { "ok" } else { "FAILED" }
        );
        assert!(shuffled_ok && sorted_ok);
        Ok(())
    }
}

/// Leaves that the keys of `leaf_witnesses_free_each_emptied_leaf()` fill.
const LEAVES: usize = 3;

/// A core tree of [`FailingNodes`], whose leaves have words, with `keys`
/// (of order 0) added: deletes them in the order given, with freeing and
/// the cache kept across calls, every third as a one-page range and the
/// others singly, and checks after each that the tree has exactly one leaf
/// per leaf-sized block of pfns that still holds a key. `keys` lie in at
/// most [`LEAVES`] consecutive blocks. Returns whether all checks held.
fn reclaim_each_leaf_in_order(keys: &[u64]) -> Result<bool> {
    let mut mem = FailingNodes::new();
    let root = kho_radix_tree::alloc_root(&mut mem).map_err(|_| ENOMEM)?;
    let mut cache = kho_radix_tree::TableCache::new();
    // Keys per leaf-sized block of pfns, from the lowest block of `keys`.
    let first = keys
        .iter()
        .map(|k| k >> BITMAP_SIZE_LOG2)
        .min()
        .unwrap_or(0);
    let mut per_leaf = [0usize; LEAVES];
    let mut ok = true;
    for &key in keys {
        // SAFETY: `root` is a tree of `mem`, used only here; `cache` is its.
        ok &= unsafe { kho_radix_tree::add_key_cached(&mut mem, root, &mut cache, key) }.is_ok();
        match per_leaf.get_mut(((key >> BITMAP_SIZE_LOG2) - first) as usize) {
            Some(n) => *n += 1,
            None => ok = false,
        }
    }
    for (i, &key) in keys.iter().enumerate() {
        if i % 3 == 2 {
            // Every third as a range of one page, through the same cache.
            let pfn = kho_radix_abi::decode_key(key).map_or(0, |(phys, _)| phys >> PAGE_SHIFT);
            // SAFETY: As above; every node below the root came from `mem`.
            let missing = unsafe {
                kho_radix_tree::del_pfn_range_reclaim(
                    &mut mem,
                    root,
                    &mut cache,
                    pfn,
                    1,
                    0,
                    &mut |_, _| false,
                )
            };
            ok &= missing == 0;
        } else {
            // SAFETY: As above.
            ok &=
                unsafe { kho_radix_tree::del_key_reclaim_cached(&mut mem, root, &mut cache, key) }
                    .is_ok();
        }
        if let Some(n) = per_leaf.get_mut(((key >> BITMAP_SIZE_LOG2) - first) as usize) {
            *n -= 1;
        }
        let want = per_leaf.iter().filter(|&&n| n > 0).count();
        // SAFETY: As above.
        let (_, leaves) = unsafe { kho_radix_tree::count_nodes(&mem, root) };
        if leaves != want {
            pr_err!(
                "kunit: reclaim: after delete {} of {}: {} leaves, want {}\n",
                i + 1,
                keys.len(),
                leaves,
                want
            );
            ok = false;
            break;
        }
    }
    ok &= mem.live == 1;
    // SAFETY: Every node of the tree came from `mem`; it is not used
    // afterwards.
    unsafe { kho_radix_tree::destroy(&mut mem, root) };
    Ok(ok && mem.live == 0)
}

/// Preserves `n` pages from `start` in both trees: one C add per block of
/// `kho_preserve_pages()`'s chunking in `c`, one `kho_radix_add_pfn_range()`
/// in `r`. Returns the number of blocks.
fn add_range_both(c: &TestTree, r: &TestTree, start: u64, n: u64) -> Result<u64> {
    let (mut pfn, end, mut blocks) = (start, start + n, 0);
    while pfn < end {
        let order = pfn.trailing_zeros().min((end - pfn).ilog2());
        to_result(c.add(kho_radix_abi::encode_key(pfn << PAGE_SHIFT, order)))?;
        pfn += 1u64 << order;
        blocks += 1;
    }
    // SAFETY: `r.tree` is initialised (type invariant of `TestTree`).
    let ret = unsafe { bindings::kho_radix_add_pfn_range(r.tree, start as c_ulong, n as c_ulong) };
    to_result(ret)?;
    Ok(blocks)
}

#[kunit_tests(kho_radix_range)]
mod range {
    use super::*;

    /// `kho_radix_add_pfn_range()` builds the same tree, node for node, as
    /// the C tracker fed one block at a time the way `kho_preserve_pages()`
    /// chunks a range (the test kernel has one NUMA node).
    #[test]
    fn range_matches_chunked_c() -> Result {
        let c = TestTree::new(&CREF)?;
        let r = TestTree::new(&RUST)?;
        let mut rng = Rng(0x7261_6e67_6500_0001);
        let (mut ranges, mut blocks) = (0u64, 0u64);
        for i in 0..200u64 {
            let start = match i % 4 {
                0 => rng.below(1 << 20),
                1 => (rng.below(1 << 12)) << 18,
                2 => rng.below(1 << 36),
                _ => i * 4096,
            };
            let n = 1 + rng.below(if i % 8 == 0 { 1 << 20 } else { 3000 });
            blocks += add_range_both(&c, &r, start, n)?;
            ranges += 1;
        }
        let same = same_tree(&c, &r)?;
        pr_info!(
            "kunit: range: {} ranges, {} blocks: Rust tree {} C tree\n",
            ranges,
            blocks,
            if same {
                "identical to"
            } else {
                "DIFFERENT from"
            }
        );
        assert!(same);
        Ok(())
    }

    /// Ranges at the top of the pfns with a key: the range calls skip the
    /// per-block key checks only below it. A range that ends at the last
    /// such pfn is preserved block for block as C chunks it; one page more,
    /// and every pfn from 0 (one block of an order without a key), fail
    /// with `-ERANGE` and leave the tree as it was.
    #[test]
    fn range_at_the_key_width() -> Result {
        let c = TestTree::new(&CREF)?;
        let r = TestTree::new(&RUST)?;
        let (start, n) = (highest_pfn(0) - 99, 100);
        let blocks = add_range_both(&c, &r, start, n)?;
        let same = r.snapshot()?.keys == c.snapshot()?.keys;
        let before = r.snapshot()?;
        // SAFETY: `r.tree` is initialised (type invariant of `TestTree`).
        let (past_top, all) = unsafe {
            (
                bindings::kho_radix_add_pfn_range(r.tree, start as c_ulong, (n + 1) as c_ulong),
                bindings::kho_radix_add_pfn_range(r.tree, 0, (1u64 << PFN_BITS) as c_ulong),
            )
        };
        // The first failed call rolled back, with reclamation, the blocks
        // it had added: those of the first range, which it covers. So the
        // tree is back to its root page, with nothing to delete.
        let left = r.snapshot()?;
        pr_info!(
            "kunit: range: {} blocks up to the last pfn {} C's; one page more {}, all pfns {}; {} keys left, tree {} pages\n",
            blocks,
            if same { "equal to" } else { "DIFFERENT from" },
            past_top,
            all,
            left.keys.len(),
            left.nodes.len()
        );
        assert!(same && before.keys.len() as u64 == blocks);
        assert!(past_top == ERANGE_C && all == ERANGE_C);
        assert!(left.keys.is_empty() && left.nodes.len() == 1);
        Ok(())
    }

    /// `kho_radix_del_pfn_range()` removes the same blocks as C's per-block
    /// deletes and frees what it empties. The ranges
    /// are disjoint, as `kho_unpreserve_pages()` requires: a range is only
    /// unpreserved as it was preserved.
    #[test]
    fn range_delete_matches_chunked_c() -> Result {
        let c = TestTree::new(&CREF)?;
        let r = TestTree::new(&RUST)?;
        let mut rng = Rng(0x7261_6e67_6500_0002);
        let mut ranges: KVec<(u64, u64)> = KVec::new();
        for i in 0..64u64 {
            // Range `i` lies in its own 2^21-page window.
            let start = (i << 21) + rng.below(1 << 20);
            let n = 1 + rng.below(if i % 8 == 0 { 1 << 20 } else { 3000 });
            add_range_both(&c, &r, start, n)?;
            ranges.push((start, n), GFP_KERNEL)?;
        }
        let peak = r.snapshot()?.nodes.len();
        // Every other range first, then the rest: the keys left must agree
        // after each pass, and the Rust tree ends with its root page only.
        let mut keys_agree = true;
        for pass in 0..2 {
            for (i, &(start, n)) in ranges.iter().enumerate() {
                if i % 2 != pass {
                    continue;
                }
                let (mut pfn, end) = (start, start + n);
                while pfn < end {
                    let order = pfn.trailing_zeros().min((end - pfn).ilog2());
                    c.del(kho_radix_abi::encode_key(pfn << PAGE_SHIFT, order));
                    pfn += 1u64 << order;
                }
                // SAFETY: `r.tree` is initialised and the Rust tracker
                // allocated all its nodes.
                unsafe {
                    bindings::kho_radix_del_pfn_range(r.tree, start as c_ulong, n as c_ulong)
                };
            }
            keys_agree &= r.snapshot()?.keys == c.snapshot()?.keys;
        }
        let left = r.snapshot()?;
        pr_info!(
            "kunit: range: {} ranges deleted by range: keys {} C's, Rust tree {} -> {} pages\n",
            ranges.len(),
            if keys_agree {
                "equal to"
            } else {
                "DIFFERENT from"
            },
            peak,
            left.nodes.len()
        );
        assert!(keys_agree && left.keys.is_empty() && left.nodes.len() == 1);

        // Again on the emptied trees, starting with the range deleted last:
        // the range calls keep the last leaf of each order, so a leaf freed
        // above must have left them, or these adds set bits in freed pages
        // instead of the tree.
        for &(start, n) in ranges.iter().rev() {
            add_range_both(&c, &r, start, n)?;
        }
        let readded_agree = r.snapshot()?.keys == c.snapshot()?.keys;
        for &(start, n) in ranges.iter() {
            // SAFETY: as above, and the Rust tracker allocated all its nodes.
            unsafe { bindings::kho_radix_del_pfn_range(r.tree, start as c_ulong, n as c_ulong) };
        }
        let left = r.snapshot()?;
        pr_info!(
            "kunit: range: re-added after freeing: keys {} C's, Rust tree back to {} pages\n",
            if readded_agree {
                "equal to"
            } else {
                "DIFFERENT from"
            },
            left.nodes.len()
        );
        assert!(readded_agree && left.keys.is_empty() && left.nodes.len() == 1);
        Ok(())
    }
}
