// SPDX-License-Identifier: GPL-2.0
/*
 * C side of the benchmark: the kernel's radix tree (radix.c, cut from
 * kexec_handover.c by build.rs) driven by loops written like their kernel
 * callers. Compiled once per PAGE_SHIFT; each copy exports one
 * struct kb_ops named kb_ops_<KB_GEOM>.
 */
#include "shim.h"
#include "radix.c"

#define KB_CAT2(a, b) a##b
#define KB_CAT(a, b) KB_CAT2(a, b)

static struct kho_radix_tree tree;

static void kb_pool_init(void *base, unsigned long npages)
{
	pool.base = base;
	pool.cap = npages;
	pool.next = 0;
	pool.live = 0;
	pool.free = NULL;
}

static unsigned long kb_pool_live(void)
{
	return pool.live;
}

static int kb_tree_init(void)
{
	return kho_radix_init_tree(&tree, NULL);
}

static void kb_tree_destroy(void)
{
	kho_radix_destroy_tree(&tree);
}

static int kb_add_keys(const unsigned long *keys, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		int err = kho_radix_add_key(&tree, keys[i]);

		if (err)
			return err;
	}
	return 0;
}

static void kb_del_keys(const unsigned long *keys, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		kho_radix_del_key(&tree, keys[i]);
}

/* __kho_preserve_pages_order() without the NUMA node check. */
static unsigned int kb_preserve_order(unsigned long start_pfn, unsigned long end_pfn)
{
	unsigned int tz = __builtin_ctzl(start_pfn | (1UL << 63));
	unsigned int lg = 63 - __builtin_clzl(end_pfn - start_pfn);

	return tz < lg ? tz : lg;
}

/*
 * kho_preserve_pages() for each (start_pfn, nr_pages) pair of @ranges;
 * returns the number of keys added in *@nkeys.
 */
static int kb_preserve_ranges(const unsigned long *ranges, unsigned long nranges,
			      unsigned long *nkeys)
{
	unsigned long keys = 0;

	for (unsigned long r = 0; r < nranges; r++) {
		unsigned long pfn = ranges[2 * r];
		const unsigned long end_pfn = pfn + ranges[2 * r + 1];

		while (pfn < end_pfn) {
			unsigned int order = kb_preserve_order(pfn, end_pfn);
			int err = kho_radix_add_key(&tree,
				kho_encode_radix_key((phys_addr_t)pfn << PAGE_SHIFT, order));

			if (err)
				return err;
			keys++;
			pfn += 1UL << order;
		}
	}
	*nkeys = keys;
	return 0;
}

/*
 * kho_unpreserve_pages() of the C tracker on each range: the chunks of
 * kb_preserve_ranges(), one kho_radix_del_key() each (which frees nothing).
 */
static void kb_unpreserve_ranges(const unsigned long *ranges, unsigned long nranges)
{
	for (unsigned long r = 0; r < nranges; r++) {
		unsigned long pfn = ranges[2 * r];
		const unsigned long end_pfn = pfn + ranges[2 * r + 1];

		while (pfn < end_pfn) {
			unsigned int order = kb_preserve_order(pfn, end_pfn);

			phys_addr_t phys = (phys_addr_t)pfn << PAGE_SHIFT;

			kho_radix_del_key(&tree, kho_encode_radix_key(phys, order));
			pfn += 1UL << order;
		}
	}
}

struct kb_walk_acc {
	unsigned long count, sum;
};

static int kb_leaf_cb(unsigned long key, void *data)
{
	struct kb_walk_acc *acc = data;

	acc->count++;
	acc->sum += key;
	return 0;
}

static int kb_walk(unsigned long *count, unsigned long *sum)
{
	static const struct kho_radix_walk_cb cb = { .leaf = kb_leaf_cb };
	struct kb_walk_acc acc = { 0, 0 };
	int err = kho_radix_walk_tree(&tree, &cb, &acc);

	*count = acc.count;
	*sum = acc.sum;
	return err;
}

struct kb_ops {
	unsigned long page_shift;
	void (*pool_init)(void *base, unsigned long npages);
	unsigned long (*pool_live)(void);
	int (*tree_init)(void);
	void (*tree_destroy)(void);
	int (*add_keys)(const unsigned long *keys, unsigned long n);
	void (*del_keys)(const unsigned long *keys, unsigned long n);
	int (*preserve_ranges)(const unsigned long *ranges, unsigned long nranges,
			       unsigned long *nkeys);
	void (*unpreserve_ranges)(const unsigned long *ranges, unsigned long nranges);
	int (*walk)(unsigned long *count, unsigned long *sum);
};

const struct kb_ops KB_CAT(kb_ops_, KB_GEOM) = {
	.page_shift = PAGE_SHIFT,
	.pool_init = kb_pool_init,
	.pool_live = kb_pool_live,
	.tree_init = kb_tree_init,
	.tree_destroy = kb_tree_destroy,
	.add_keys = kb_add_keys,
	.del_keys = kb_del_keys,
	.preserve_ranges = kb_preserve_ranges,
	.unpreserve_ranges = kb_unpreserve_ranges,
	.walk = kb_walk,
};
