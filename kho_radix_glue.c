// SPDX-License-Identifier: GPL-2.0-only
/*
 * C glue of the Rust KHO preserved-memory radix tracker
 *
 * The radix tree operations are implemented in Rust (kho_radix.rs). This
 * file holds what the Rust side cannot do itself: node page allocation
 * that falls back to the __init memblock allocator in early boot, the
 * virt_to_phys()/phys_to_virt() translations (macros or inline functions
 * in C) and the direct-map offset that replaces them on hot paths, and the
 * module exports of the Rust functions.
 */

#include <kunit/static_stub.h>
#include <kunit/visibility.h>
#include <linux/export.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/kho_radix_tree.h>
#include <linux/memblock.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "kho_radix_glue.h"

/**
 * kho_radix_rs_alloc_node - Allocate a zeroed page for a radix tree node.
 *
 * The KHO radix tree is used in early boot, before the slab allocator is
 * available. Until then the page comes from memblock, afterwards from the
 * page allocator. The __init memblock path is only taken in early boot,
 * hence __ref.
 *
 * Context: May sleep once the slab allocator is available.
 * Return: The zeroed, page-aligned node, or %NULL on allocation failure.
 */
__ref struct kho_radix_node *kho_radix_rs_alloc_node(void)
{
	KUNIT_STATIC_STUB_REDIRECT(kho_radix_rs_alloc_node);

	if (slab_is_available())
		return (struct kho_radix_node *)get_zeroed_page(GFP_KERNEL);

	return memblock_alloc(PAGE_SIZE, PAGE_SIZE);
}

/**
 * kho_radix_rs_alloc_bulk - Allocate zeroed pages for nodes in one call.
 * @nr: How many pages are wanted.
 * @pages: Where to store them; all %NULL on entry.
 *
 * One alloc_pages_bulk() once the slab allocator is up and more than one page
 * is wanted, nothing otherwise. The page allocator may fill fewer entries than
 * asked for; kho_radix_rs_alloc_nodes() allocates the rest one by one. That
 * is rare enough that its KUnit suite (kho_radix_glue_kunit.c) replaces this
 * function to make it happen.
 *
 * Context: May sleep once the slab allocator is available.
 * Return: How many pages were allocated, stored from @pages[0] on.
 */
VISIBLE_IF_KUNIT unsigned int kho_radix_rs_alloc_bulk(unsigned int nr,
						      struct page **pages)
{
	KUNIT_STATIC_STUB_REDIRECT(kho_radix_rs_alloc_bulk, nr, pages);

	if (nr < 2 || !slab_is_available())
		return 0;
	return alloc_pages_bulk(GFP_KERNEL | __GFP_ZERO, nr, pages);
}

/**
 * kho_radix_rs_alloc_nodes - Allocate zeroed pages for the nodes of a path.
 * @nodes: Where to store the nodes; all %NULL on entry.
 * @nr: How many, at most %KHO_RADIX_RS_MAX_BULK.
 *
 * A preserve whose key needs a new branch allocates all of its nodes at
 * once: a new order's first key needs a table at every level and a leaf.
 * Once the slab allocator is up, one alloc_pages_bulk() takes them from the
 * per-CPU free lists under one lock instead of one get_zeroed_page() each;
 * whatever it leaves unfilled comes from kho_radix_rs_alloc_node(). Unlike
 * get_zeroed_page(), alloc_pages_bulk() ignores the task's mempolicy and
 * takes the local memory node's pages; no tree page is hot enough for its
 * node to matter.
 *
 * All or nothing: on failure every page allocated here is freed again and
 * @nodes is all %NULL.
 *
 * Context: May sleep once the slab allocator is available.
 * Return: %true if all @nr nodes were allocated, %false otherwise.
 */
bool kho_radix_rs_alloc_nodes(struct kho_radix_node **nodes, unsigned int nr)
{
	struct page *pages[KHO_RADIX_RS_MAX_BULK] = {};
	unsigned int i, got;

	if (WARN_ON_ONCE(nr > ARRAY_SIZE(pages)))
		return false;
	got = kho_radix_rs_alloc_bulk(nr, pages);
	for (i = 0; i < nr; i++) {
		if (i < got)
			nodes[i] = page_address(pages[i]);
		else
			nodes[i] = kho_radix_rs_alloc_node();
		if (!nodes[i])
			goto undo;
	}
	return true;

undo:
	while (i--) {
		kho_radix_rs_free_node(nodes[i]);
		nodes[i] = NULL;
	}
	return false;
}

/**
 * kho_radix_rs_free_node - Free a radix tree node page.
 * @node: A page from kho_radix_rs_alloc_node() or kho_radix_rs_alloc_nodes().
 *
 * Uses the allocator that kho_radix_rs_alloc_node() would use at this point,
 * like the C tracker does.
 */
__ref void kho_radix_rs_free_node(struct kho_radix_node *node)
{
	KUNIT_STATIC_STUB_REDIRECT(kho_radix_rs_free_node, node);

	if (slab_is_available())
		free_page((unsigned long)node);
	else
		memblock_free(node, PAGE_SIZE);
}

/**
 * kho_radix_rs_node_word - Word kept for a radix tree node outside it.
 * @node: A node of a tree that the caller holds the lock of, in the direct
 *        map like every node.
 *
 * The Rust tracker counts the non-zero entries of each table it allocates
 * in this word, so that a delete that frees a node knows whether the table
 * above emptied too without reading all of it. The word is page->private of
 * the node's page, which belongs to whoever allocated the page from the page
 * allocator; the allocator clears it when it hands the page out
 * (post_alloc_hook()) and takes it back (free_pages_prepare()). The next
 * kernel never sees it.
 *
 * Nodes from memblock (early boot, then PageReserved) get no word; the
 * tracker then reads the table instead. Called each time the tracker links a
 * node into, or unlinks one from, a table other than the root, so it is kept
 * short: no virt_addr_valid() (which on x86 is a call that looks up the
 * memory section).
 *
 * Return: &page->private of @node's page, or %NULL.
 */
unsigned long *kho_radix_rs_node_word(struct kho_radix_node *node)
{
	struct page *page;

	if (!slab_is_available())
		return NULL;
	page = virt_to_page(node);
	if (PageReserved(page))
		return NULL;
	return &page->private;
}

/**
 * kho_radix_rs_struct_page_size - Size of struct page as C lays it out.
 *
 * The Rust tracker finds page->private of its own trees' nodes in the
 * memory map, by this stride from the root's (with
 * CONFIG_SPARSEMEM_VMEMMAP). It checks bindgen's size of struct page
 * against this once per tree, so that a build whose two views disagree
 * parks its witnesses instead of writing other pages' page->private.
 *
 * Return: sizeof(struct page).
 */
size_t kho_radix_rs_struct_page_size(void)
{
	KUNIT_STATIC_STUB_REDIRECT(kho_radix_rs_struct_page_size);

	return sizeof(struct page);
}

/**
 * kho_radix_rs_node_phys - Physical address of a radix tree node.
 * @node: A node in the kernel's direct map.
 *
 * Return: virt_to_phys() of @node, the value stored in the parent's table.
 */
u64 kho_radix_rs_node_phys(struct kho_radix_node *node)
{
	return virt_to_phys(node);
}

/**
 * kho_radix_rs_node_virt - Direct map address of a radix tree node.
 * @phys: A non-zero table entry of a radix tree node.
 *
 * Return: phys_to_virt() of @phys.
 */
struct kho_radix_node *kho_radix_rs_node_virt(u64 phys)
{
	return phys_to_virt(phys);
}

/**
 * kho_radix_rs_direct_map_offset - Offset of the kernel's direct map.
 *
 * The direct map is linear, so phys_to_virt(p) == p + offset for every
 * direct-mapped p, and node pages are always direct-mapped (from the page
 * allocator or memblock, or handed over and in RAM). The Rust tracker reads
 * the offset once and follows table entries with an addition instead of a
 * call per level. The zero page is in RAM, so direct-mapped, on every
 * architecture. Its address comes from __pa_symbol(), not from ZERO_PAGE():
 * that is only set up by mm_core_init(), and kho_memory_init_early() needs
 * the offset before, when ZERO_PAGE(0) is NULL (page_to_phys() of it WARNs
 * with CONFIG_DEBUG_VIRTUAL, and its address is not one phys_to_virt() is
 * linear for on every architecture).
 *
 * Return: phys_to_virt(p) - p for any direct-mapped p.
 */
unsigned long kho_radix_rs_direct_map_offset(void)
{
	phys_addr_t p = __pa_symbol(empty_zero_page);

	return (unsigned long)phys_to_virt(p) - (unsigned long)p;
}

/**
 * kho_radix_rs_pfn_nid - NUMA node of a page frame.
 * @pfn: A valid page frame number.
 *
 * kho_preserve_pages() never lets one preserved block span two nodes;
 * the Rust range preservation asks this to split blocks the same way.
 *
 * Return: pfn_to_nid() of @pfn.
 */
int kho_radix_rs_pfn_nid(unsigned long pfn)
{
	return pfn_to_nid(pfn);
}

/*
 * The functions below are implemented in Rust (kho_radix.rs). Symbols of a
 * built-in Rust object are not exported to modules by themselves.
 */
EXPORT_SYMBOL_GPL(kho_radix_add_key);
EXPORT_SYMBOL_GPL(kho_radix_del_key);
EXPORT_SYMBOL_GPL(kho_radix_del_key_reclaim);
EXPORT_SYMBOL_GPL(kho_radix_add_pfn_range);
EXPORT_SYMBOL_GPL(kho_radix_del_pfn_range);
EXPORT_SYMBOL_GPL(kho_radix_walk_tree);
EXPORT_SYMBOL_GPL(kho_radix_init_tree);
EXPORT_SYMBOL_GPL(kho_radix_destroy_tree);
