// SPDX-License-Identifier: GPL-2.0-only
/*
 * Floors of the side-by-side benchmark of the KHO radix trackers
 *
 * Work that no tracker can avoid, timed on its own: reading the leaves of
 * a sparse tree once, one uncontended lock and unlock of the tree mutex
 * per call of the per-page API, and allocating and freeing a tree page.
 * scripts/bench-kernel.sh sets the workloads of kho_radix_bench.c against
 * them.
 */

#define pr_fmt(fmt) fmt

#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/slab.h>

#include "kho_radix_bench.h"

/* The OR of the eight words from @w. */
static __always_inline unsigned long bench_or8(const unsigned long *w)
{
	return w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7];
}

#define BENCH_LEAF_WORDS	(PAGE_SIZE / sizeof(unsigned long))

/* The leaves of a tree in walk order, gathered through bench_leaves_cb. */
struct bench_leaves {
	const unsigned long **leaf;
	unsigned long nr, max;
	phys_addr_t last_node;
};

/* A leaf's node callback comes right before its keys' callbacks. */
static int bench_leaves_node(phys_addr_t phys, void *data)
{
	struct bench_leaves *l = data;

	l->last_node = phys;
	return 0;
}

static int bench_leaves_key(unsigned long key, void *data)
{
	struct bench_leaves *l = data;
	const unsigned long *leaf = __va(l->last_node);

	if (l->nr && l->leaf[l->nr - 1] == leaf)
		return 0;
	if (l->nr == l->max)
		return -E2BIG;
	l->leaf[l->nr++] = leaf;
	return 0;
}

static const struct kho_radix_walk_cb bench_leaves_cb = {
	.leaf = bench_leaves_key,
	.node = bench_leaves_node,
};

/**
 * kho_radix_bench_read_leaves() - Times reading the leaves of a tree once.
 * @t:     The tracker of @tree.
 * @tree:  A tree with one key per leaf.
 * @nkeys: The number of keys in @tree.
 * @desc:  Read the leaves in descending order, as the walk timed did.
 * @ns:    Where to store the time.
 *
 * A walk learns a leaf's keys only from its bitmap, so it reads every word
 * of every leaf at least once; with one key per leaf (walk_sparse), that
 * read is nearly all of its work. This gathers the leaves in walk order
 * (untimed) and then only reads them: 32 words per step, ORed into one
 * value, one test per leaf. No walk of @tree can do less, so it is the
 * floor that scripts/bench-kernel.sh compares the walk of the same tree
 * with: where its pages lie matters under TCG (the same keys in another
 * tree read up to a fifth faster or slower), hence the walked tree's own
 * leaves, right after its walk.
 *
 * Return: 0, or -ENOMEM, or -EIO if the leaves are not one per key.
 */
BENCH_OWN_PAGE int kho_radix_bench_read_leaves(enum bench_tracker t,
					       struct kho_radix_tree *tree,
					       unsigned long nkeys, bool desc,
					       u64 *ns)
{
	struct bench_leaves l = { .max = nkeys };
	unsigned long i, j, k, seen = 0;
	u64 start;
	int err;

	l.leaf = kvmalloc_array(nkeys, sizeof(*l.leaf), GFP_KERNEL);
	if (!l.leaf)
		return -ENOMEM;
	if (t == BENCH_RUST)
		err = kho_radix_walk_tree(tree, &bench_leaves_cb, &l);
	else
		err = kho_radix_cref_walk_tree(tree, &bench_leaves_cb, &l);
	if (err || l.nr != nkeys) {
		pr_err(BENCH "%lu keys gave %lu leaves (error %d)\n", nkeys,
		       l.nr, err);
		err = -EIO;
		goto out;
	}

	start = local_clock();
	for (j = 0; j < l.nr; j++) {
		const unsigned long *leaf;
		unsigned long or = 0;

		i = desc ? l.nr - 1 - j : j;
		leaf = l.leaf[i];

		for (k = 0; k < BENCH_LEAF_WORDS; k += 32)
			or |= bench_or8(leaf + k) | bench_or8(leaf + k + 8) |
			      bench_or8(leaf + k + 16) |
			      bench_or8(leaf + k + 24);
		seen += or != 0;
	}
	*ns = local_clock() - start;
	/* Every leaf has its key, so a read that missed one read too little. */
	if (seen != l.nr) {
		pr_err(BENCH "found keys in %lu of %lu leaves\n", seen, l.nr);
		err = -EIO;
	}
out:
	kvfree(l.leaf);
	return err;
}

/**
 * kho_radix_bench_lock_floor() - Prints the cost of the tree lock alone.
 * @n:    Lock and unlock pairs to time.
 * @reps: Runs, at most BENCH_MAX_REPS.
 *
 * Every call of the per-page API takes and releases the tree's mutex, so no
 * per-page preserve can be cheaper than one uncontended lock and unlock: the
 * floor that scripts/bench-kernel.sh compares the preserve rows with.
 */
BENCH_OWN_PAGE void kho_radix_bench_lock_floor(unsigned long n,
					       unsigned int reps)
{
	u64 ns[BENCH_MAX_REPS], min_ps, med_ps;
	struct kho_radix_tree *tree;
	unsigned long i;
	unsigned int r;
	u64 start;

	tree = kzalloc_obj(*tree);
	if (!tree || kho_radix_init_tree(tree, NULL)) {
		pr_err(BENCH "no memory for the lock floor\n");
		kfree(tree);
		return;
	}
	for (r = 0; r < reps; r++) {
		start = local_clock();
		for (i = 0; i < n; i++) {
			mutex_lock(&tree->lock);
			mutex_unlock(&tree->lock);
		}
		ns[r] = local_clock() - start;
		cond_resched();
	}
	kho_radix_destroy_tree(tree);
	kfree(tree);
	kho_radix_bench_stats(ns, reps, n, &min_ps, &med_ps);
	pr_info(BENCH "floor lock_unlock n=%lu min_ps=%llu med_ps=%llu\n", n,
		min_ps, med_ps);
}

#define BENCH_NODE_ALLOCS	1024

/**
 * kho_radix_bench_node_floor() - Prints the cost of allocating and of freeing
 * a tree page.
 * @reps: Runs, at most BENCH_MAX_REPS.
 *
 * Every tracker allocates and zeroes a page per new tree node: the part of
 * a preserve that no tree code can avoid, which bounds the range workload
 * (it adds many nodes per block). Freeing is timed on its own: a tracker
 * that frees the nodes an unpreserve empties pays it there, and C, which
 * keeps them, does not.
 */
BENCH_OWN_PAGE void kho_radix_bench_node_floor(unsigned int reps)
{
	u64 alloc_ns[BENCH_MAX_REPS], free_ns[BENCH_MAX_REPS];
	u64 min_ps, med_ps, start;
	struct kho_radix_node **nodes;
	unsigned int r, i, n;

	nodes = kvmalloc_array(BENCH_NODE_ALLOCS, sizeof(*nodes), GFP_KERNEL);
	if (!nodes)
		return;
	for (r = 0; r < reps; r++) {
		start = local_clock();
		for (n = 0; n < BENCH_NODE_ALLOCS; n++) {
			nodes[n] = kho_radix_rs_alloc_node();
			if (!nodes[n])
				break;
		}
		alloc_ns[r] = local_clock() - start;
		start = local_clock();
		for (i = 0; i < n; i++)
			kho_radix_rs_free_node(nodes[i]);
		free_ns[r] = local_clock() - start;
		cond_resched();
		if (n < BENCH_NODE_ALLOCS) {
			pr_err(BENCH "node allocation failed after %u pages\n", n);
			kvfree(nodes);
			return;
		}
	}
	kvfree(nodes);
	kho_radix_bench_stats(alloc_ns, reps, BENCH_NODE_ALLOCS, &min_ps, &med_ps);
	pr_info(BENCH "floor node_alloc n=%u min_ps=%llu med_ps=%llu\n",
		BENCH_NODE_ALLOCS, min_ps, med_ps);
	kho_radix_bench_stats(free_ns, reps, BENCH_NODE_ALLOCS, &min_ps, &med_ps);
	pr_info(BENCH "floor node_free n=%u min_ps=%llu med_ps=%llu\n",
		BENCH_NODE_ALLOCS, min_ps, med_ps);
}
