// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suite of kho_radix_glue.c: kho_radix_rs_alloc_nodes() when the bulk
 * allocation comes back short
 *
 * kho_radix_rs_alloc_nodes() takes a new branch's pages from one bulk
 * allocation and the rest, if the bulk allocation came back short, one by
 * one; if one of those fails, it frees every page it has and fails as a
 * whole. The page allocator rarely fills a bulk request only in part, and a
 * GFP_KERNEL page allocation rarely fails, so static stubs stand in for both
 * (KUNIT_STATIC_STUB_REDIRECT() in the glue): the bulk allocation hands out
 * a chosen number of real pages, the page-by-page allocation fails after a
 * chosen number of them, and every page is counted out and back in.
 *
 * A second suite checks that the nodes the Rust tracker frees leave the
 * direct map at once, which debug_pagealloc does in the test kernel
 * (configs/rust-tracker.config): that is what makes any use of a freed node
 * in the other suites and boots a page fault instead of a silent read.
 *
 * A third, kho_radix_numa, preserves a range across a node boundary with
 * kho_radix_add_pfn_range() and requires the blocks kho_preserve_pages()
 * makes there, split at the boundary. It skips without NUMA or without a
 * boundary inside memory; make check's numa_roundtrip boots the NUMA test
 * kernel with such a boundary and requires the suite's ok line.
 *
 * A fourth, kho_radix_adopt, checks that the tracker neither trusts nor
 * writes page->private of an adopted tree's pages and finds no words of
 * them in the memory map, and that it finds none for its own trees either
 * when C's size of struct page is not bindgen's (a static stub).
 */

#include <kunit/static_stub.h>
#include <kunit/test.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/kho/abi/kexec_handover.h>
#include <linux/kho_radix_tree.h>
#include <linux/count_zeros.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/nodemask.h>
#include <linux/set_memory.h>
#include <linux/sort.h>

#include "kho_radix_glue.h"
#include "kho_radix_keys.h"

/**
 * struct glue_alloc_plan - What the stubs hand out, and what they counted.
 * @bulk_pages: Pages the bulk allocation fills at most.
 * @node_allocs_left: Page-by-page allocations that succeed before one fails.
 * @allocated: Pages either stub handed out.
 * @freed: Pages given back through kho_radix_rs_free_node().
 */
struct glue_alloc_plan {
	unsigned int bulk_pages;
	unsigned int node_allocs_left;
	unsigned int allocated;
	unsigned int freed;
};

static struct glue_alloc_plan *current_plan(void)
{
	return kunit_get_current_test()->priv;
}

static unsigned int stub_alloc_bulk(unsigned int nr, struct page **pages)
{
	struct glue_alloc_plan *plan = current_plan();
	unsigned int i;

	for (i = 0; i < min(nr, plan->bulk_pages); i++) {
		pages[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!pages[i])
			break;
		plan->allocated++;
	}
	return i;
}

static struct kho_radix_node *stub_alloc_node(void)
{
	struct glue_alloc_plan *plan = current_plan();
	struct kho_radix_node *node;

	if (!plan->node_allocs_left)
		return NULL;
	node = (struct kho_radix_node *)get_zeroed_page(GFP_KERNEL);
	if (node) {
		plan->node_allocs_left--;
		plan->allocated++;
	}
	return node;
}

static void stub_free_node(struct kho_radix_node *node)
{
	current_plan()->freed++;
	free_page((unsigned long)node);
}

static int glue_alloc_init(struct kunit *test)
{
	test->priv = kunit_kzalloc(test, sizeof(struct glue_alloc_plan),
				   GFP_KERNEL);
	if (!test->priv)
		return -ENOMEM;
	kunit_activate_static_stub(test, kho_radix_rs_alloc_bulk,
				   stub_alloc_bulk);
	kunit_activate_static_stub(test, kho_radix_rs_alloc_node,
				   stub_alloc_node);
	kunit_activate_static_stub(test, kho_radix_rs_free_node,
				   stub_free_node);
	return 0;
}

/*
 * A branch of @nr nodes for which the bulk allocation fills @bulk < @nr
 * pages and the page-by-page allocation fails after @left more: every page
 * is freed again and @nodes is left all %NULL.
 */
static void check_alloc_fails(struct kunit *test, unsigned int nr,
			      unsigned int bulk, unsigned int left)
{
	struct glue_alloc_plan *plan = test->priv;
	struct kho_radix_node *nodes[KHO_RADIX_RS_MAX_BULK] = {};
	unsigned int i;

	*plan = (struct glue_alloc_plan) {
		.bulk_pages = bulk,
		.node_allocs_left = left,
	};
	KUNIT_EXPECT_FALSE_MSG(test, kho_radix_rs_alloc_nodes(nodes, nr),
			       "nr %u bulk %u left %u", nr, bulk, left);
	KUNIT_EXPECT_EQ_MSG(test, plan->allocated, bulk + left,
			    "nr %u bulk %u left %u", nr, bulk, left);
	KUNIT_EXPECT_EQ_MSG(test, plan->freed, plan->allocated,
			    "nr %u bulk %u left %u", nr, bulk, left);
	for (i = 0; i < nr; i++)
		KUNIT_EXPECT_NULL_MSG(test, nodes[i], "nr %u bulk %u left %u",
				      nr, bulk, left);
}

/* Every way the allocation of a branch can fail. */
static void alloc_nodes_failure_frees_all(struct kunit *test)
{
	unsigned int nr, bulk, left;

	for (nr = 1; nr <= KHO_RADIX_RS_MAX_BULK; nr++)
		for (bulk = 0; bulk < nr; bulk++)
			for (left = 0; bulk + left < nr; left++)
				check_alloc_fails(test, nr, bulk, left);
}

/*
 * A branch of @nr nodes for which the bulk allocation fills @bulk <= @nr
 * pages and the page-by-page allocation the rest: @nr distinct,
 * page-aligned, zeroed nodes.
 */
static void check_alloc_completes(struct kunit *test, unsigned int nr,
				  unsigned int bulk)
{
	struct glue_alloc_plan *plan = test->priv;
	struct kho_radix_node *nodes[KHO_RADIX_RS_MAX_BULK] = {};
	unsigned int i, j;

	*plan = (struct glue_alloc_plan) {
		.bulk_pages = bulk,
		.node_allocs_left = nr - bulk,
	};
	KUNIT_ASSERT_TRUE_MSG(test, kho_radix_rs_alloc_nodes(nodes, nr),
			      "nr %u bulk %u", nr, bulk);
	KUNIT_EXPECT_EQ(test, plan->allocated, nr);
	KUNIT_EXPECT_EQ(test, plan->node_allocs_left, 0);
	for (i = 0; i < nr; i++) {
		KUNIT_EXPECT_NOT_NULL(test, nodes[i]);
		if (!nodes[i])
			continue;
		KUNIT_EXPECT_TRUE(test, PAGE_ALIGNED(nodes[i]));
		KUNIT_EXPECT_TRUE(test, mem_is_zero(nodes[i], PAGE_SIZE));
		for (j = 0; j < i; j++)
			KUNIT_EXPECT_PTR_NE(test, nodes[i], nodes[j]);
		kho_radix_rs_free_node(nodes[i]);
	}
	KUNIT_EXPECT_EQ(test, plan->freed, nr);
}

/* Every split of a branch between the two allocations that succeeds. */
static void alloc_nodes_completes_short_bulk(struct kunit *test)
{
	unsigned int nr, bulk;

	for (nr = 1; nr <= KHO_RADIX_RS_MAX_BULK; nr++)
		for (bulk = 0; bulk <= nr; bulk++)
			check_alloc_completes(test, nr, bulk);
}

static struct kunit_case kho_radix_glue_cases[] = {
	KUNIT_CASE(alloc_nodes_failure_frees_all),
	KUNIT_CASE(alloc_nodes_completes_short_bulk),
	{}
};

static struct kunit_suite kho_radix_glue_suite = {
	.name = "kho_radix_glue",
	.init = glue_alloc_init,
	.test_cases = kho_radix_glue_cases,
};

/**
 * struct glue_free_count - What the free stub of the unmap suite saw.
 * @freed: Nodes freed.
 * @still_mapped: Of those, nodes still in the direct map right after.
 */
struct glue_free_count {
	unsigned int freed;
	unsigned int still_mapped;
};

/*
 * Frees @node for real and looks up its direct-map entry before anything
 * else can run on this CPU: the page goes to the head of this CPU's free
 * list, so the next allocation here, even from an interrupt, would take
 * it and map it again.
 */
static void stub_free_node_unmapped(struct kho_radix_node *node)
{
	struct glue_free_count *count = kunit_get_current_test()->priv;
	struct page *page = virt_to_page(node);
	unsigned long flags;
	bool mapped;

	local_irq_save(flags);
	free_page((unsigned long)node);
	mapped = kernel_page_present(page);
	local_irq_restore(flags);
	count->freed++;
	if (mapped)
		count->still_mapped++;
}

static int count_node(phys_addr_t phys, void *data)
{
	(*(unsigned int *)data)++;
	return 0;
}

#define UNMAP_KEYS 64

/*
 * The pfn of key @i: eight leaves under each of eight level-1 tables, so
 * that the deletes free leaves and tables.
 */
static unsigned long unmap_pfn(unsigned int i)
{
	return ((unsigned long)(i / 8) << 40) | ((unsigned long)(i % 8) << 16) | i;
}

/*
 * Deleting every key of a private tree with freeing, then destroying it:
 * every node comes back through kho_radix_rs_free_node(), all but the
 * root on the deletes, and none is still mapped once freed.
 */
static void freed_nodes_leave_direct_map(struct kunit *test)
{
	const struct kho_radix_walk_cb cb = { .node = count_node };
	struct glue_free_count *count;
	struct kho_radix_tree *tree;
	unsigned int nodes = 0, i;

	if (!debug_pagealloc_enabled())
		kunit_skip(test, "debug_pagealloc is off: freed pages stay mapped");
	count = kunit_kzalloc(test, sizeof(*count), GFP_KERNEL);
	tree = kunit_kzalloc(test, sizeof(*tree), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, count);
	KUNIT_ASSERT_NOT_NULL(test, tree);
	test->priv = count;
	KUNIT_ASSERT_EQ(test, kho_radix_init_tree(tree, NULL), 0);
	for (i = 0; i < UNMAP_KEYS; i++)
		KUNIT_ASSERT_EQ(test, kho_radix_add_key(tree, kho_block_key(unmap_pfn(i), 0)), 0);
	KUNIT_ASSERT_EQ(test, kho_radix_walk_tree(tree, &cb, &nodes), 0);
	/* At least the root, the eight level-1 tables and the 64 leaves. */
	KUNIT_EXPECT_GE(test, nodes, 1 + 8 + UNMAP_KEYS);

	kunit_activate_static_stub(test, kho_radix_rs_free_node,
				   stub_free_node_unmapped);
	for (i = 0; i < UNMAP_KEYS; i++)
		kho_radix_del_key_reclaim(tree, kho_block_key(unmap_pfn(i), 0));
	KUNIT_EXPECT_EQ(test, count->freed, nodes - 1);
	kho_radix_destroy_tree(tree);
	KUNIT_EXPECT_EQ(test, count->freed, nodes);
	KUNIT_EXPECT_EQ(test, count->still_mapped, 0);
	kunit_info(test, "%u nodes freed, %u still mapped", count->freed,
		   count->still_mapped);
}

static struct kunit_case kho_radix_unmap_cases[] = {
	KUNIT_CASE(freed_nodes_leave_direct_map),
	{}
};

static struct kunit_suite kho_radix_unmap_suite = {
	.name = "kho_radix_unmap",
	.test_cases = kho_radix_unmap_cases,
};

/* Half the length of the range the NUMA suite preserves around a boundary. */
#define NUMA_HALF_RANGE	8

/*
 * The first pfn of a node whose previous pfn is on another node, both in
 * memory and with NUMA_HALF_RANGE pages of memory on either side, or 0.
 */
static unsigned long node_boundary_in_memory(void)
{
	unsigned long b, p;
	int nid;

	for_each_online_node(nid) {
		b = node_start_pfn(nid);
		if (b < NUMA_HALF_RANGE)
			continue;
		for (p = b - NUMA_HALF_RANGE; p < b + NUMA_HALF_RANGE; p++)
			if (!pfn_valid(p))
				break;
		if (p == b + NUMA_HALF_RANGE && pfn_to_nid(b - 1) != pfn_to_nid(b))
			return b;
	}
	return 0;
}

/* Collects the keys of a walk, in walk order, into a struct numa_keys. */
struct numa_keys {
	unsigned long key[2 * NUMA_HALF_RANGE];
	unsigned int nr;
};

static int collect_key(unsigned long key, void *data)
{
	struct numa_keys *k = data;

	if (k->nr == ARRAY_SIZE(k->key))
		return -E2BIG;
	k->key[k->nr++] = key;
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a;
	unsigned long y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

/*
 * kho_preserve_pages() never lets a block span two nodes, and
 * kho_radix_add_pfn_range() asks kho_radix_rs_pfn_nid() to split its
 * blocks the same way. Across a node boundary inside memory, the range
 * call's keys must be those of kho_preserve_pages()'s chunking, node check
 * included, and that check must have split a block. Needs two nodes with
 * memory on both sides of their boundary, e.g. the NUMA test kernel
 * (configs/rust-numa.config) with 6 GiB and numa=fake=2560M, whose boundary
 * at pfn 0xa2001 is not on an order-1 block boundary.
 */
static void range_splits_at_node_boundary(struct kunit *test)
{
	const struct kho_radix_walk_cb cb = { .leaf = collect_key };
	unsigned long b, start, end, pfn;
	unsigned int order, greedy = 0, i;
	struct kho_radix_tree *tree;
	struct numa_keys *want, *got;

	if (!IS_ENABLED(CONFIG_NUMA))
		kunit_skip(test, "no NUMA");
	b = node_boundary_in_memory();
	if (!b)
		kunit_skip(test, "no node boundary with memory on both sides");
	start = b - NUMA_HALF_RANGE;
	end = b + NUMA_HALF_RANGE;

	want = kunit_kzalloc(test, sizeof(*want), GFP_KERNEL);
	got = kunit_kzalloc(test, sizeof(*got), GFP_KERNEL);
	tree = kunit_kzalloc(test, sizeof(*tree), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, want);
	KUNIT_ASSERT_NOT_NULL(test, got);
	KUNIT_ASSERT_NOT_NULL(test, tree);

	for (pfn = start; pfn < end; pfn += 1UL << order) {
		order = kho_block_order(pfn, end);
		KUNIT_ASSERT_LT(test, want->nr, ARRAY_SIZE(want->key));
		want->key[want->nr++] = kho_block_key(pfn, order);
	}
	/* The same range without the node check: fewer, larger blocks. */
	for (pfn = start; pfn < end; pfn += 1UL << order, greedy++)
		order = min(count_trailing_zeros(pfn), ilog2(end - pfn));
	KUNIT_EXPECT_GT(test, want->nr, greedy);

	KUNIT_ASSERT_EQ(test, kho_radix_init_tree(tree, NULL), 0);
	KUNIT_EXPECT_EQ(test, kho_radix_add_pfn_range(tree, start, end - start), 0);
	KUNIT_EXPECT_EQ(test, kho_radix_walk_tree(tree, &cb, got), 0);
	kho_radix_destroy_tree(tree);

	sort(want->key, want->nr, sizeof(want->key[0]), cmp_key, NULL);
	KUNIT_ASSERT_EQ(test, got->nr, want->nr);
	for (i = 0; i < want->nr; i++)
		KUNIT_EXPECT_EQ(test, got->key[i], want->key[i]);
	kunit_info(test, "pfns %#lx..%#lx across nodes %d/%d: %u blocks (%u without the node check)",
		   start, end, pfn_to_nid(b - 1), pfn_to_nid(b), want->nr, greedy);
}

static struct kunit_case kho_radix_numa_cases[] = {
	KUNIT_CASE(range_splits_at_node_boundary),
	{}
};

static struct kunit_suite kho_radix_numa_suite = {
	.name = "kho_radix_numa",
	.test_cases = kho_radix_numa_cases,
};

/* Leaves of the tree the adopt suite builds, all under one level-1 table. */
#define ADOPT_LEAVES	8
/* Its nodes: the leaves, one more, and the tables above them. */
#define ADOPT_MAX_NODES	(ADOPT_LEAVES + 1 + KHO_TREE_MAX_DEPTH)

/**
 * struct adopt_nodes - The nodes of the adopt suite's tree, in walk order.
 * @phys: Physical address of each node; the root comes first.
 * @nr: Number of nodes.
 */
struct adopt_nodes {
	phys_addr_t phys[ADOPT_MAX_NODES];
	unsigned int nr;
};

static int collect_node(phys_addr_t phys, void *data)
{
	struct adopt_nodes *n = data;

	if (n->nr == ARRAY_SIZE(n->phys))
		return -E2BIG;
	n->phys[n->nr++] = phys;
	return 0;
}

static int count_key(unsigned long key, void *data)
{
	(*(unsigned int *)data)++;
	return 0;
}

/* The key of leaf @i's only page: leaves are 32768 order-0 pages apart. */
static unsigned long adopt_key(unsigned int i)
{
	return kho_block_key((unsigned long)i << KHO_BITMAP_SIZE_LOG2, 0);
}

/*
 * kho_radix_init_tree() with a root adopts a tree whose pages may belong
 * to others, page->private included: in KHO, the tree the previous kernel
 * handed over. The tracker keeps its count of a table's entries in that
 * word for its own trees only, and its walks stop scanning a table after
 * that many entries. So it must neither trust nor write the word of an
 * adopted tree: here every node but the root claims one entry, which
 * would hide seven of the eight leaves from a walk.
 *
 * With @by_hand, the tree is not given to kho_radix_init_tree() but set up
 * as C code could: its root set and its mutex initialised, every other
 * field zero. The tracker must treat it as adopted too, and it installs
 * node memory that owns no node in the tree's fields on the first call.
 */
static void check_adopted_tree(struct kunit *test, bool by_hand)
{
	const struct kho_radix_walk_cb node_cb = { .node = collect_node };
	const struct kho_radix_walk_cb key_cb = { .leaf = count_key };
	struct kho_radix_tree *own, *adopted;
	unsigned long *saved;
	struct adopt_nodes *n;
	unsigned int keys = 0, changed = 0, i;

	own = kunit_kzalloc(test, sizeof(*own), GFP_KERNEL);
	adopted = kunit_kzalloc(test, sizeof(*adopted), GFP_KERNEL);
	n = kunit_kzalloc(test, sizeof(*n), GFP_KERNEL);
	saved = kunit_kcalloc(test, ADOPT_MAX_NODES, sizeof(*saved), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, own);
	KUNIT_ASSERT_NOT_NULL(test, adopted);
	KUNIT_ASSERT_NOT_NULL(test, n);
	KUNIT_ASSERT_NOT_NULL(test, saved);

	KUNIT_ASSERT_EQ(test, kho_radix_init_tree(own, NULL), 0);
	for (i = 0; i < ADOPT_LEAVES; i++)
		KUNIT_ASSERT_EQ(test, kho_radix_add_key(own, adopt_key(i)), 0);
	KUNIT_ASSERT_EQ(test, kho_radix_walk_tree(own, &node_cb, n), 0);
	KUNIT_ASSERT_GE(test, n->nr, ADOPT_LEAVES + 2);
	for (i = 1; i < n->nr; i++) {
		struct page *page = virt_to_page(phys_to_virt(n->phys[i]));

		saved[i] = page_private(page);
		set_page_private(page, 2);
	}

	if (by_hand) {
		adopted->root = phys_to_virt(n->phys[0]);
		mutex_init(&adopted->lock);
		/* The first call installs the tree's node memory. */
		KUNIT_EXPECT_EQ(test, kho_radix_add_key(adopted, adopt_key(0)), 0);
	} else {
		KUNIT_ASSERT_EQ(test,
				kho_radix_init_tree(adopted, phys_to_virt(n->phys[0])), 0);
	}
	/* Nor find words of the adopted tree's pages in the memory map. */
	KUNIT_EXPECT_EQ(test, adopted->page_word_anchor, 0);
	KUNIT_EXPECT_EQ(test, adopted->direct_map_offset,
			own->direct_map_offset &
			~(KHO_RADIX_OWNS_NODES | KHO_RADIX_PAGE_WORDS));
	KUNIT_EXPECT_EQ(test, !!(own->direct_map_offset & KHO_RADIX_PAGE_WORDS),
			IS_ENABLED(CONFIG_SPARSEMEM_VMEMMAP));
	KUNIT_EXPECT_EQ(test, kho_radix_walk_tree(adopted, &key_cb, &keys), 0);
	KUNIT_EXPECT_EQ(test, keys, ADOPT_LEAVES);
	/* Links a ninth leaf into the level-1 table, whose word says 2. */
	KUNIT_EXPECT_EQ(test, kho_radix_add_key(adopted, adopt_key(ADOPT_LEAVES)), 0);
	keys = 0;
	KUNIT_EXPECT_EQ(test, kho_radix_walk_tree(adopted, &key_cb, &keys), 0);
	KUNIT_EXPECT_EQ(test, keys, ADOPT_LEAVES + 1);

	for (i = 1; i < n->nr; i++) {
		struct page *page = virt_to_page(phys_to_virt(n->phys[i]));

		if (page_private(page) != 2)
			changed++;
		set_page_private(page, saved[i]);
	}
	KUNIT_EXPECT_EQ(test, changed, 0);
	/* Frees the ninth leaf too: destroy follows the entries. */
	kho_radix_destroy_tree(own);
	kunit_info(test, "%u nodes, %u keys walked in the adopted tree, %u words changed",
		   n->nr, keys, changed);
}

static void adopted_tree_words_left_alone(struct kunit *test)
{
	check_adopted_tree(test, false);
}

static void tree_set_up_by_hand_is_adopted(struct kunit *test)
{
	check_adopted_tree(test, true);
}

static size_t struct_page_size_off_by_8(void)
{
	return sizeof(struct page) + 8;
}

/*
 * The Rust tracker finds page->private of its own nodes in the memory map
 * by bindgen's size of struct page. Should C's differ, it must not: a tree
 * it sets up then has no page word anchor, and keeps its witnesses parked.
 */
static void struct_page_mismatch_means_no_page_words(struct kunit *test)
{
	struct kho_radix_tree *tree;

	tree = kunit_kzalloc(test, sizeof(*tree), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, tree);
	kunit_activate_static_stub(test, kho_radix_rs_struct_page_size,
				   struct_page_size_off_by_8);
	KUNIT_ASSERT_EQ(test, kho_radix_init_tree(tree, NULL), 0);
	kunit_deactivate_static_stub(test, kho_radix_rs_struct_page_size);
	KUNIT_EXPECT_EQ(test, tree->page_word_anchor, 0);
	KUNIT_EXPECT_EQ(test, tree->direct_map_offset & KHO_RADIX_PAGE_WORDS, 0);
	KUNIT_EXPECT_NE(test, tree->direct_map_offset & KHO_RADIX_OWNS_NODES, 0);
	/* Still a working tree, on the helper's words. */
	KUNIT_EXPECT_EQ(test, kho_radix_add_key(tree, adopt_key(0)), 0);
	kho_radix_del_key_reclaim(tree, adopt_key(0));
	kho_radix_destroy_tree(tree);

	KUNIT_ASSERT_EQ(test, kho_radix_init_tree(tree, NULL), 0);
	KUNIT_EXPECT_EQ(test, !!tree->page_word_anchor,
			IS_ENABLED(CONFIG_SPARSEMEM_VMEMMAP));
	kho_radix_destroy_tree(tree);
}

static struct kunit_case kho_radix_adopt_cases[] = {
	KUNIT_CASE(adopted_tree_words_left_alone),
	KUNIT_CASE(tree_set_up_by_hand_is_adopted),
	KUNIT_CASE(struct_page_mismatch_means_no_page_words),
	{}
};

static struct kunit_suite kho_radix_adopt_suite = {
	.name = "kho_radix_adopt",
	.test_cases = kho_radix_adopt_cases,
};

kunit_test_suites(&kho_radix_glue_suite, &kho_radix_unmap_suite,
		  &kho_radix_numa_suite, &kho_radix_adopt_suite);
