// SPDX-License-Identifier: GPL-2.0-only
/*
 * Whether a block of a handed-over tree is in RAM, and on one NUMA node,
 * for kho_fdt.rs
 *
 * The validator asks this for every tree node and every preserved block, in
 * early boot, while memblock still describes memory. It is a file of its own
 * so that host/memblock-ram builds it against the real mm/memblock.c in the
 * kernel's memblock simulator (tools/testing/memblock).
 */

#include <linux/kho_radix_tree.h>
#include <linux/memblock.h>

/*
 * Whether the regions from the one holding @base on cover [@base, @end)
 * without a hole and without NOMAP memory.
 */
static bool __init_memblock
kho_radix_rs_regions_cover(phys_addr_t base, phys_addr_t end)
{
	struct memblock_region *region;

	/* Sorted by address, not overlapping: one pass finds the run. */
	for_each_mem_region(region) {
		phys_addr_t region_end = region->base + region->size;

		if (region_end <= base)
			continue;
		if (region->base > base || memblock_is_nomap(region))
			return false;
		if (region_end >= end)
			return true;
		base = region_end;
	}
	return false;
}

/**
 * kho_radix_rs_phys_is_ram - Whether a physical range is mapped system RAM.
 * @base: Start of the range.
 * @size: Size of the range in bytes.
 *
 * memblock_add() merges adjacent memory only if node and flags agree, so
 * one block of RAM may lie in two regions: across a change of node, or of
 * MEMBLOCK_HOTPLUG or MEMBLOCK_MIRROR (firmware sets those at any page
 * boundary). memblock_is_region_memory() wants one region to hold the
 * whole range, and rejecting such a block would drop the whole handover, so
 * when it says no, consecutive regions are tried.
 *
 * Memory marked NOMAP (on arm64: EFI runtime services regions, no-map
 * reserved-memory carve-outs) is listed in memblock.memory but is not in the
 * direct map and never reaches the page allocator. A tree node there would
 * fault when read through phys_to_virt(), and no preserved block can be
 * there, so it does not count as RAM here.
 *
 * Return: %true if memblock memory regions without NOMAP cover
 * [@base, @base + @size) with no hole; %false for an empty range or one
 * that wraps around the address space.
 */
__ref bool kho_radix_rs_phys_is_ram(phys_addr_t base, phys_addr_t size)
{
	phys_addr_t end = base + size;

	if (!size || end < base)
		return false;
	/* The common case: one region (binary search), not NOMAP. */
	if (memblock_is_region_memory(base, size))
		return memblock_is_map_memory(base);
	return kho_radix_rs_regions_cover(base, end);
}

/**
 * kho_radix_rs_phys_one_node - Whether a range of RAM lies on one NUMA node.
 * @base: Start of the range.
 * @size: Size of the range in bytes.
 *
 * kho_preserve_pages() never lets a block span two nodes, and the next
 * kernel's kho_get_preserved_page() initialises every struct page of a
 * block for the node of its first page: past a node boundary that would be
 * a zone of the wrong node. A block can only span nodes in a kernel whose
 * nodes lie elsewhere than the previous kernel's, or in a corrupted tree.
 * memblock_add() does not merge regions of different nodes, so a range in
 * one region is on one node; otherwise the regions under it must agree.
 *
 * Return: %true if the regions that hold [@base, @base + @size), which
 * kho_radix_rs_phys_is_ram() accepted, have one node id.
 */
__ref bool kho_radix_rs_phys_one_node(phys_addr_t base, phys_addr_t size)
{
	phys_addr_t end = base + size;
	struct memblock_region *region;
	int nid = NUMA_NO_NODE;

	if (!IS_ENABLED(CONFIG_NUMA) || memblock_is_region_memory(base, size))
		return true;
	for_each_mem_region(region) {
		if (region->base + region->size <= base)
			continue;
		if (region->base >= end)
			break;
		if (nid == NUMA_NO_NODE)
			nid = memblock_get_region_node(region);
		else if (memblock_get_region_node(region) != nid)
			return false;
	}
	return true;
}
