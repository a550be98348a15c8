// SPDX-License-Identifier: GPL-2.0

//! Node memory for the core-level suites: the kernel's, with a chosen
//! allocation failing and the live nodes counted.

use super::*;

/// Kernel node memory that fails a chosen allocation and counts live nodes.
pub(super) struct FailingNodes {
    /// Allocations so far.
    pub(super) allocs: usize,
    /// The allocation number that fails (counting from 1); 0 for none.
    pub(super) fail_at: usize,
    /// Nodes allocated and not freed.
    pub(super) live: isize,
    /// Where the nodes come from: not a tree's, so without leaf words
    /// ([`NodeMemory::leaf_word`]); `reclaim.rs` tests those on a tree.
    pub(super) nodes: KernelNodes,
}

impl FailingNodes {
    /// Node memory of this kernel in which no allocation fails yet.
    pub(super) fn new() -> Result<Self> {
        Ok(Self {
            allocs: 0,
            fail_at: 0,
            live: 0,
            nodes: KernelNodes::new().ok_or(EINVAL)?,
        })
    }
}

// SAFETY: Every node, mapping and word comes from `KernelNodes`, whose
// implementation keeps the contract; failing an allocation returns `None`,
// which the contract allows.
unsafe impl NodeMemory for FailingNodes {
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
}
