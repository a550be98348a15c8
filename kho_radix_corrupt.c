// SPDX-License-Identifier: GPL-2.0-only
/*
 * Corrupt the outgoing KHO state just before kexec, for testing
 *
 * Test only (CONFIG_KEXEC_HANDOVER_RADIX_RUST_CORRUPT_TEST). With
 * "khotest_corrupt=KIND" on the command line, a reboot notifier damages the
 * preserved-memory tree or the preserved-memory-map property of the KHO
 * root FDT in a chosen way, after kexec_file_load() and just before the
 * kexec reboot, so that the next kernel must detect it, say what is wrong
 * and boot on without the handover:
 *
 *   misaligned      a root table entry is not page aligned
 *   outside_ram     a root table entry points outside system RAM
 *   scratch         a root table entry points into a KHO scratch area
 *   shared          a leaf is referenced by two entries of its parent
 *   order           a key's block is larger than all of RAM
 *   overlap         a page is preserved at order 0 and inside an order-1 block
 *   cycle           a table below the root points back at the root
 *   key_out_of_range
 *                   the root's last entry, whose keys would be wider than
 *                   KHO_RADIX_KEY_WIDTH, points at a table
 *   bad_key         a leaf holds bit 0 of the leaf of key 0, which encodes
 *                   no order
 *   range_not_ram   a page just past the end of RAM (max_pfn) is preserved
 *   range_in_scratch
 *                   the first page of a KHO scratch area is preserved
 *   covers_node     the root table's own page is preserved
 *   too_many_nodes  one order-0 key per leaf in more leaves than the next
 *                   kernel's node bound (RAM pages / 64 + 64) allows; the
 *                   keys lie far beyond RAM, but the bound stops the walk
 *                   before any key is checked
 *   across_nodes    a block spans the first boundary between two NUMA
 *                   nodes with memory on both sides (the NUMA test kernel,
 *                   booted with a boundary off a page pair)
 *   fdt_zero        the property holds 0
 *   fdt_short       the property is 4 bytes long
 *   fdt_misaligned  the property holds a misaligned address
 *   fdt_outside_ram the property holds an address above any physical
 *                   address width (CONFIG_DEBUG_VIRTUAL BUGs on
 *                   virt_to_phys() of its direct-map address)
 *   fdt_totalsize   the FDT's header claims twice the page handed over
 *   fdt_unpreserved the FDT's own page is unpreserved (the next kernel
 *                   reads it after the page allocator takes free memory)
 *   subtree_unpreserved
 *                   the blob of test_kho's subtree is unpreserved (the
 *                   next kernel removes that subtree and keeps the rest)
 *   subtree_empty   the same, and the subtree's blob-size says 0 (which
 *                   kho_retrieve_subtree() does not refuse)
 *
 * The command line is passed on to the next kernel, which ignores the
 * parameter: it acts only on a kexec reboot with a loaded image, and only in
 * a kernel that was not itself booted with a KHO handover.
 *
 * Every boot with the parameter also reports how many pageblocks are
 * MIGRATE_CMA outside its own scratch areas: none may be. A kernel that
 * drops a handover must forget the incoming scratch areas before
 * free_area_init(), which would otherwise make them CMA for the whole boot.
 */

#define pr_fmt(fmt) "khotest_corrupt: " fmt

#include <linux/gfp.h>
#include <linux/init.h>
#include <linux/io.h>
#include <linux/kexec.h>
#include <linux/kexec_handover.h>
#include <linux/kho/abi/kexec_handover.h>
#include <linux/kho_radix_tree.h>
#include <linux/libfdt.h>
#include <linux/memblock.h>
#include <linux/memory_hotplug.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/moduleparam.h>
#include <linux/nodemask.h>
#include <linux/notifier.h>
#include <linux/reboot.h>
#include <linux/string.h>
#include <linux/unaligned.h>

#include "../kexec_handover_internal.h"
#include "kho_radix_keys.h"

static char *corrupt_kind;
core_param(khotest_corrupt, corrupt_kind, charp, 0);

static int first_entry(struct kho_radix_node *node)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(node->table); i++)
		if (node->table[i])
			return i;
	return -1;
}

/*
 * The smallest naturally aligned block that holds the first pfn of a node
 * and the pfn before it, on another node, both in memory, as a key; 0 if
 * no node starts there.
 */
static unsigned long across_nodes_key(void)
{
	unsigned long b, order;
	int nid;

	for_each_online_node(nid) {
		b = node_start_pfn(nid);
		if (!b || !pfn_valid(b - 1) || !pfn_valid(b) ||
		    pfn_to_nid(b - 1) == pfn_to_nid(b))
			continue;
		/* One above the highest bit in which b - 1 and b differ. */
		order = ilog2(b ^ (b - 1)) + 1;
		return kho_block_key(b & ~((1UL << order) - 1), order);
	}
	return 0;
}

/*
 * The leaf of the path of @key in the tree at @root_phys, or NULL if a table
 * on it is missing.
 */
static struct kho_radix_leaf *corrupt_leaf_of(phys_addr_t root_phys,
					      unsigned long key)
{
	struct kho_radix_node *node = phys_to_virt(root_phys);
	unsigned int shift, idx;
	int level;

	for (level = KHO_TREE_MAX_DEPTH - 1; level > 0; level--) {
		shift = KHO_BITMAP_SIZE_LOG2 + (level - 1) * KHO_TABLE_SIZE_LOG2;
		idx = (key >> shift) & (ARRAY_SIZE(node->table) - 1);
		if (!node->table[idx])
			return NULL;
		node = phys_to_virt(node->table[idx]);
	}
	return (struct kho_radix_leaf *)node;
}

/* Adds @key to the tree at @root_phys, allocating nodes as needed. */
static int corrupt_add_key(phys_addr_t root_phys, unsigned long key)
{
	/*
	 * Static: the Rust tracker's table cache would take this frame past
	 * CONFIG_FRAME_WARN. Only the reboot notifier calls this.
	 */
	static struct kho_radix_tree tree;
	int err;

	err = kho_radix_init_tree(&tree, phys_to_virt(root_phys));
	if (err)
		return err;
	return kho_radix_add_key(&tree, key);
}

static int corrupt_tree(phys_addr_t root_phys)
{
	struct kho_radix_node *node = phys_to_virt(root_phys);
	struct kho_radix_leaf *leaf;
	int level, i, j, err;
	struct page *page;
	phys_addr_t phys;
	unsigned long key, n;
	unsigned int order;

	i = first_entry(node);
	if (i < 0)
		return -ENOENT;

	if (!strcmp(corrupt_kind, "misaligned")) {
		node->table[i] |= 0x800;
	} else if (!strcmp(corrupt_kind, "outside_ram")) {
		node->table[i] = 1ULL << 46;
	} else if (!strcmp(corrupt_kind, "scratch")) {
		if (!kho_scratch_cnt)
			return -ENOENT;
		node->table[i] = PAGE_ALIGN(kho_scratch[0].addr);
	} else if (!strcmp(corrupt_kind, "shared")) {
		/* Descend to a table of leaves, then point a sibling at a leaf. */
		for (level = KHO_TREE_MAX_DEPTH - 1; level > 1; level--) {
			node = phys_to_virt(node->table[i]);
			i = first_entry(node);
			if (i < 0)
				return -ENOENT;
		}
		for (j = 0; j < ARRAY_SIZE(node->table); j++)
			if (!node->table[j])
				break;
		if (j == ARRAY_SIZE(node->table))
			return -ENOSPC;
		node->table[j] = node->table[i];
	} else if (!strcmp(corrupt_kind, "order")) {
		/* A 4 PiB block at 0: larger than any RAM this test runs on. */
		order = 52 - PAGE_SHIFT;
		return corrupt_add_key(root_phys, kho_block_key(0, order));
	} else if (!strcmp(corrupt_kind, "overlap")) {
		page = alloc_pages(GFP_KERNEL, 1);
		if (!page)
			return -ENOMEM;
		phys = page_to_phys(page);
		return corrupt_add_key(root_phys, kho_block_key(PHYS_PFN(phys), 1)) ?:
			corrupt_add_key(root_phys, kho_block_key(PHYS_PFN(phys), 0));
	} else if (!strcmp(corrupt_kind, "cycle")) {
		/* A child table's first free entry names the root. */
		node = phys_to_virt(node->table[i]);
		for (j = 0; j < ARRAY_SIZE(node->table); j++)
			if (!node->table[j])
				break;
		if (j == ARRAY_SIZE(node->table))
			return -ENOSPC;
		node->table[j] = root_phys;
	} else if (!strcmp(corrupt_kind, "key_out_of_range")) {
		/* Only the first few root entries can hold keys of the width. */
		j = ARRAY_SIZE(node->table) - 1;
		if (j == i)
			return -ENOSPC;
		node->table[j] = node->table[i];
	} else if (!strcmp(corrupt_kind, "bad_key")) {
		/*
		 * Adding key 1, the block of order 64 - PAGE_SHIFT at 0, makes
		 * the leaf that key 0 would be in; then only key 0's bit is set.
		 */
		err = corrupt_add_key(root_phys, 1);
		if (err)
			return err;
		leaf = corrupt_leaf_of(root_phys, 0);
		if (!leaf)
			return -ENOENT;
		leaf->bitmap[0] = 1;
	} else if (!strcmp(corrupt_kind, "range_not_ram")) {
		/* max_pfn is one past the last page of RAM. */
		return corrupt_add_key(root_phys, kho_block_key(max_pfn, 0));
	} else if (!strcmp(corrupt_kind, "range_in_scratch")) {
		if (!kho_scratch_cnt)
			return -ENOENT;
		phys = PAGE_ALIGN(kho_scratch[0].addr);
		return corrupt_add_key(root_phys, kho_block_key(PHYS_PFN(phys), 0));
	} else if (!strcmp(corrupt_kind, "covers_node")) {
		return corrupt_add_key(root_phys,
				       kho_block_key(PHYS_PFN(root_phys), 0));
	} else if (!strcmp(corrupt_kind, "too_many_nodes")) {
		/* max_pfn bounds the pages of RAM the next kernel counts. */
		for (n = 0; n <= max_pfn / 64 + 64; n++) {
			key = kho_block_key((n + 1) << KHO_BITMAP_SIZE_LOG2, 0);
			err = corrupt_add_key(root_phys, key);
			if (err)
				return err;
		}
	} else if (!strcmp(corrupt_kind, "across_nodes")) {
		key = across_nodes_key();
		if (!key)
			return -ENOENT;
		return corrupt_add_key(root_phys, key);
	} else {
		return -EINVAL;
	}
	return 0;
}

static int corrupt_fdt(void *fdt, phys_addr_t root_phys)
{
	const char *name = KHO_FDT_MEMORY_MAP_PROP_NAME;
	const void *blob;
	int off, len;
	u64 val;
	u32 short_val;

	if (!strcmp(corrupt_kind, "fdt_zero")) {
		val = 0;
		return fdt_setprop_inplace(fdt, 0, name, &val, sizeof(val));
	}
	if (!strcmp(corrupt_kind, "fdt_short")) {
		short_val = lower_32_bits(root_phys);
		return fdt_setprop(fdt, 0, name, &short_val, sizeof(short_val));
	}
	if (!strcmp(corrupt_kind, "fdt_misaligned")) {
		val = root_phys | 0x100;
		return fdt_setprop_inplace(fdt, 0, name, &val, sizeof(val));
	}
	if (!strcmp(corrupt_kind, "fdt_outside_ram")) {
		val = BIT_ULL(52);
		return fdt_setprop_inplace(fdt, 0, name, &val, sizeof(val));
	}
	if (!strcmp(corrupt_kind, "fdt_totalsize")) {
		/* The FDT is one page; libfdt would read up to the claimed size. */
		fdt_set_totalsize(fdt, 2 * PAGE_SIZE);
		return 0;
	}
	if (!strcmp(corrupt_kind, "fdt_unpreserved")) {
		/* kho_alloc_preserve() preserved it as one order-0 page. */
		kho_unpreserve_pages(virt_to_page(fdt), 1);
		return 0;
	}
	if (!strcmp(corrupt_kind, "subtree_unpreserved") ||
	    !strcmp(corrupt_kind, "subtree_empty")) {
		/* lib/test_kho.c preserves its blob as one folio. */
		off = fdt_subnode_offset(fdt, 0, "kho_test");
		if (off < 0)
			return -ENOENT;
		blob = fdt_getprop(fdt, off, KHO_SUB_TREE_PROP_NAME, &len);
		if (!blob || len != sizeof(u64))
			return -ENOENT;
		val = get_unaligned((const u64 *)blob);
		kho_unpreserve_folio(page_folio(pfn_to_page(PHYS_PFN(val))));
		if (!strcmp(corrupt_kind, "subtree_empty")) {
			val = 0;
			return fdt_setprop_inplace(fdt, off,
						   KHO_SUB_TREE_SIZE_PROP_NAME,
						   &val, sizeof(val));
		}
		return 0;
	}
	return -EINVAL;
}

static int khotest_corrupt_notify(struct notifier_block *nb,
				  unsigned long action, void *unused)
{
	phys_addr_t root_phys;
	const void *prop;
	void *fdt;
	int len, err;

	if (!kexec_in_progress || !kexec_image || !kexec_image->kho.fdt)
		return NOTIFY_DONE;

	fdt = phys_to_virt(kexec_image->kho.fdt);
	prop = fdt_getprop(fdt, 0, KHO_FDT_MEMORY_MAP_PROP_NAME, &len);
	if (!prop || len != sizeof(u64)) {
		pr_err("no preserved-memory-map in the outgoing FDT\n");
		return NOTIFY_DONE;
	}
	root_phys = get_unaligned((const u64 *)prop);

	if (!strncmp(corrupt_kind, "fdt_", 4) ||
	    !strncmp(corrupt_kind, "subtree_", 8))
		err = corrupt_fdt(fdt, root_phys);
	else
		err = corrupt_tree(root_phys);
	if (err)
		pr_err("could not corrupt '%s': %d\n", corrupt_kind, err);
	else
		pr_info("corrupted the outgoing KHO state: %s\n", corrupt_kind);
	return NOTIFY_DONE;
}

static struct notifier_block khotest_corrupt_nb = {
	.notifier_call = khotest_corrupt_notify,
	/* Last, after anything else that might still preserve memory. */
	.priority = INT_MIN,
};

/*
 * Pageblocks of online memory that are MIGRATE_CMA but in none of this
 * kernel's scratch areas (the test kernels declare no CMA area).
 */
static unsigned long __init cma_blocks_outside_scratch(void)
{
	unsigned long pfn, count = 0;
	struct zone *zone;

	for_each_populated_zone(zone) {
		/* From the zone's first pfn: the zone must span the pfn. */
		for (pfn = zone->zone_start_pfn; pfn < zone_end_pfn(zone);
		     pfn = pageblock_end_pfn(pfn)) {
			struct page *page = pfn_to_online_page(pfn);

			if (!page || page_zone(page) != zone ||
			    !is_migrate_cma(get_pageblock_migratetype(page)))
				continue;
			if (!kho_scratch_overlap(PFN_PHYS(pfn),
						 PFN_PHYS(pageblock_end_pfn(pfn) - pfn)))
				count++;
		}
	}
	return count;
}

static int __init khotest_corrupt_init(void)
{
	if (!corrupt_kind)
		return 0;
	pr_info("%lu CMA pageblocks outside the scratch areas\n",
		cma_blocks_outside_scratch());
	if (is_kho_boot()) {
		pr_info("ignored in a kernel booted with a KHO handover\n");
		return 0;
	}
	pr_info("will corrupt the outgoing KHO state at kexec: %s\n",
		corrupt_kind);
	return register_reboot_notifier(&khotest_corrupt_nb);
}
late_initcall(khotest_corrupt_init);
