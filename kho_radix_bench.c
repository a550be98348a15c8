// SPDX-License-Identifier: GPL-2.0-only
/*
 * Side-by-side benchmark of the C and the Rust KHO radix trackers
 *
 * With "kho_radix_bench.run=1" on the command line of a boot without a KHO
 * handover, this runs the same workloads on private trees of both trackers
 * in one boot: the Rust tracker through its exported C API (what every C
 * caller gets), and the C tracker of kexec_handover.c built a second time as
 * kho_radix_cref_*() (kho_radix_cref.c). The trees only record numbers, so
 * the pages behind the keys need not exist.
 *
 * Every workload runs "reps" times per tracker, C and Rust alternating in
 * ABBA order (C first in even repetitions, Rust first in odd ones), each
 * time on a fresh tree, for 1024, 65536 and 1048576 pages (up to "max_n").
 * The output is KTAP: one test per workload and size, "not ok" when the two
 * trees disagree (number and sum of the keys walked, keys left after a
 * delete) or an operation fails. A "# row" diagnostic line per test gives
 * the minimum and median time per operation of each tracker in picoseconds
 * and the tree pages after the workload; scripts/bench-kernel.sh turns them
 * into a table. The times themselves are not a pass/fail criterion.
 *
 * Times come from local_clock(): at late_initcall the timekeeping clocksource
 * may still be jiffies (a 4 ms tick), while sched_clock() already reads the
 * TSC on x86.
 */

/* Every line is KTAP: results, or "# " diagnostics naming the benchmark. */
#define pr_fmt(fmt) fmt
#define BENCH "# kho_radix_bench: "

#include <linux/bitops.h>
#include <linux/count_zeros.h>
#include <linux/init.h>
#include <linux/kexec_handover.h>
#include <linux/kho/abi/kexec_handover.h>
#include <linux/log2.h>
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/prandom.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/sizes.h>

#include "kho_radix_bench.h"

static bool run;
module_param(run, bool, 0444);
MODULE_PARM_DESC(run, "Run the benchmark at boot (default: no)");

static unsigned long max_n = 1UL << 20;
module_param(max_n, ulong, 0444);
MODULE_PARM_DESC(max_n, "Largest number of pages per workload (default: 1048576)");

static unsigned int reps = 5;
module_param(reps, uint, 0444);
MODULE_PARM_DESC(reps, "Runs per workload, size and tracker (default: 5, at most 31)");

#define BENCH_MAX_REPS		31
/* All workloads start at 4 GiB; the trees never touch the pages. */
#define BENCH_BASE_PFN		(SZ_4G >> PAGE_SHIFT)
/* Range lengths are 1..BENCH_RANGE_MAX pages, with gaps below BENCH_GAP. */
#define BENCH_RANGE_MAX		1024
#define BENCH_GAP		8
/* The sparse walk has one key per leaf and this many fewer keys than n. */
#define BENCH_SPARSE_DIV	256

static const unsigned long bench_sizes[] = { 1024, 65536, 1UL << 20 };

enum bench_tracker {
	BENCH_C,
	BENCH_RUST,
};

enum bench_op {
	OP_ADD,			/* kho_radix_add_key() per key */
	OP_RANGES,		/* kho_preserve_pages() per range */
	OP_UNPRESERVE_RANGES,	/* kho_unpreserve_pages() per range */
	OP_DEL,			/* kho_radix_del_key() per key */
	OP_UNPRESERVE,		/* what KHO's unpreserve does per key */
	OP_WALK,		/* walk with a C callback */
	OP_WALK_CLOSURE,	/* C: walk with a C callback; Rust: a closure */
	OP_WALK_RESTORE,	/* the next kernel's reservation walk */
};

enum bench_input {
	IN_SEQ,
	IN_RAND,
	IN_MIXED,
	IN_RANGES,
	IN_RANGES_RAND,
	IN_SPARSE,
	IN_NR,
};

struct bench_workload {
	const char *name;
	enum bench_op op;
	enum bench_input input;
};

static const struct bench_workload bench_workloads[] = {
	{ "preserve_seq", OP_ADD, IN_SEQ },
	{ "preserve_random", OP_ADD, IN_RAND },
	{ "preserve_mixed_orders", OP_ADD, IN_MIXED },
	{ "preserve_ranges", OP_RANGES, IN_RANGES },
	{ "unpreserve_ranges", OP_UNPRESERVE_RANGES, IN_RANGES },
	{ "unpreserve_ranges_random", OP_UNPRESERVE_RANGES, IN_RANGES_RAND },
	{ "unpreserve_seq", OP_UNPRESERVE, IN_SEQ },
	{ "unpreserve_random", OP_UNPRESERVE, IN_RAND },
	{ "del_key_random", OP_DEL, IN_RAND },
	{ "walk_dense", OP_WALK, IN_SEQ },
	{ "walk_dense_closure", OP_WALK_CLOSURE, IN_SEQ },
	{ "walk_sparse", OP_WALK, IN_SPARSE },
	{ "walk_sparse_closure", OP_WALK_CLOSURE, IN_SPARSE },
	{ "walk_sparse_restore", OP_WALK_RESTORE, IN_SPARSE },
};

/*
 * The inputs of one size. For IN_RANGES, vals holds (first pfn, pages)
 * pairs and chunks the number of blocks kho_preserve_pages() makes of them;
 * IN_RANGES_RAND holds the same pairs in random order; the others hold keys.
 */
struct bench_inputs {
	unsigned long *vals[IN_NR];
	unsigned long len[IN_NR];
	unsigned long chunks;
};

struct bench_result {
	u64 ns;
	u64 read_ns;	/* bench_read_leaves() of a sparse walk's tree, or 0 */
	u64 ops;
	u64 keys;
	u64 sum;
	u64 pages;
};

struct bench_walk {
	u64 keys;
	u64 sum;
	u64 nodes;
};

/* kho_encode_radix_key() of kexec_handover.c, which is static there. */
static unsigned long bench_key(unsigned long pfn, unsigned int order)
{
	unsigned int shift = PAGE_SHIFT + order;

	return (1UL << (64 - shift)) | (PFN_PHYS(pfn) >> shift);
}

/* __kho_preserve_pages_order() of kexec_handover.c, which is static there. */
static unsigned int bench_chunk_order(unsigned long pfn, unsigned long end_pfn)
{
	unsigned int order = min(count_trailing_zeros(pfn),
				 ilog2(end_pfn - pfn));

	while (pfn_to_nid(pfn) != pfn_to_nid(pfn + (1UL << order) - 1))
		order--;
	return order;
}

/*
 * The timed loops and the walk callbacks each start a page of their own.
 * QEMU TCG chains translated blocks directly only within one guest page;
 * a call or jump to another page goes through a lookup. Linked next to
 * kho_radix_cref.o, the loops would share a page with the C tracker and
 * call it (and be called back by it) without that lookup, while every call
 * into the Rust tracker paid it. On their own pages, every call between
 * the benchmark and either tracker crosses a page. Costs a few pages of
 * padding in this opt-in code only.
 */
#define BENCH_OWN_PAGE __aligned(PAGE_SIZE)

static BENCH_OWN_PAGE int bench_count_key(unsigned long key, void *data)
{
	struct bench_walk *w = data;

	w->keys++;
	w->sum += key;
	return 0;
}

static BENCH_OWN_PAGE int bench_count_node(phys_addr_t phys, void *data)
{
	struct bench_walk *w = data;

	w->nodes++;
	return 0;
}

static const struct kho_radix_walk_cb bench_key_cb = {
	.leaf = bench_count_key,
};

static const struct kho_radix_walk_cb bench_all_cb = {
	.leaf = bench_count_key,
	.node = bench_count_node,
};

static BENCH_OWN_PAGE int bench_add(enum bench_tracker t,
				    struct kho_radix_tree *tree,
				    const unsigned long *keys, unsigned long n)
{
	unsigned long i;
	int err = 0;

	if (t == BENCH_RUST) {
		for (i = 0; i < n && !err; i++)
			err = kho_radix_add_key(tree, keys[i]);
	} else {
		for (i = 0; i < n && !err; i++)
			err = kho_radix_cref_add_key(tree, keys[i]);
	}
	return err;
}

/* kho_preserve_pages() on each range, as each tracker's KHO does it. */
static BENCH_OWN_PAGE int bench_ranges(enum bench_tracker t,
				       struct kho_radix_tree *tree,
				       const unsigned long *ranges,
				       unsigned long nr)
{
	unsigned long i, pfn, end_pfn;
	unsigned int order;
	int err = 0;

	for (i = 0; i < nr && !err; i++) {
		pfn = ranges[2 * i];
		end_pfn = pfn + ranges[2 * i + 1];
		if (t == BENCH_RUST) {
			err = kho_radix_add_pfn_range(tree, pfn, end_pfn - pfn);
			continue;
		}
		while (pfn < end_pfn && !err) {
			order = bench_chunk_order(pfn, end_pfn);
			err = kho_radix_cref_add_key(tree, bench_key(pfn, order));
			pfn += 1UL << order;
		}
	}
	return err;
}

/* kho_unpreserve_pages() on each range, as each tracker's KHO does it. */
static BENCH_OWN_PAGE void bench_unpreserve_ranges(enum bench_tracker t,
						   struct kho_radix_tree *tree,
						   const unsigned long *ranges,
						   unsigned long nr)
{
	unsigned long i, pfn, end_pfn;
	unsigned int order;

	for (i = 0; i < nr; i++) {
		pfn = ranges[2 * i];
		end_pfn = pfn + ranges[2 * i + 1];
		if (t == BENCH_RUST) {
			kho_radix_del_pfn_range(tree, pfn, end_pfn - pfn);
			continue;
		}
		while (pfn < end_pfn) {
			order = bench_chunk_order(pfn, end_pfn);
			kho_radix_cref_del_key(tree, bench_key(pfn, order));
			pfn += 1UL << order;
		}
	}
}

static BENCH_OWN_PAGE void bench_del(enum bench_tracker t, enum bench_op op,
				     struct kho_radix_tree *tree,
				     const unsigned long *keys, unsigned long n)
{
	unsigned long i;

	if (t == BENCH_C) {
		for (i = 0; i < n; i++)
			kho_radix_cref_del_key(tree, keys[i]);
	} else if (op == OP_UNPRESERVE) {
		for (i = 0; i < n; i++)
			kho_radix_del_key_reclaim(tree, keys[i]);
	} else {
		for (i = 0; i < n; i++)
			kho_radix_del_key(tree, keys[i]);
	}
}

static BENCH_OWN_PAGE int bench_walk(enum bench_tracker t,
				     struct kho_radix_tree *tree,
				     const struct kho_radix_walk_cb *cb,
				     struct bench_walk *w)
{
	if (t == BENCH_RUST)
		return kho_radix_walk_tree(tree, cb, w);
	return kho_radix_cref_walk_tree(tree, cb, w);
}

/*
 * The walk of kho_mem_retrieve() in the next kernel: C's tracker walks in
 * ascending order, Rust's in descending order (patch 0052), both with a C
 * callback per key.
 */
static BENCH_OWN_PAGE int bench_walk_restore(enum bench_tracker t,
					     struct kho_radix_tree *tree,
					     struct bench_walk *w)
{
	if (t == BENCH_RUST)
		return kho_radix_walk_tree_desc(tree, &bench_key_cb, w);
	return kho_radix_cref_walk_tree(tree, &bench_key_cb, w);
}

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
 * bench_read_leaves() - Times reading the leaves of a tree once.
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
static BENCH_OWN_PAGE int bench_read_leaves(enum bench_tracker t,
					    struct kho_radix_tree *tree,
					    unsigned long nkeys, bool desc, u64 *ns)
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
 * bench_run() - Runs one workload once on a fresh tree of one tracker.
 * @t:   The tracker.
 * @wl:  The workload.
 * @in:  The inputs of the current size.
 * @res: Where to store the time, the operation count and the final tree.
 *
 * Return: 0, or the first error of the tracker.
 */
static int bench_run(enum bench_tracker t, const struct bench_workload *wl,
		     const struct bench_inputs *in, struct bench_result *res)
{
	const unsigned long *vals = in->vals[wl->input];
	unsigned long len = in->len[wl->input];
	struct bench_walk w = { };
	struct kho_radix_tree *tree;
	u64 start;
	int err;

	tree = kzalloc_obj(*tree);
	if (!tree)
		return -ENOMEM;
	if (t == BENCH_RUST)
		err = kho_radix_init_tree(tree, NULL);
	else
		err = kho_radix_cref_init_tree(tree, NULL);
	if (err)
		goto out_free;

	/* Untimed set-up: the deletes and walks need a populated tree. */
	if (wl->op == OP_UNPRESERVE_RANGES)
		err = bench_ranges(t, tree, vals, len);
	else if (wl->op != OP_ADD && wl->op != OP_RANGES)
		err = bench_add(t, tree, vals, len);
	if (err)
		goto out_destroy;

	res->ops = len;
	start = local_clock();
	switch (wl->op) {
	case OP_ADD:
		err = bench_add(t, tree, vals, len);
		break;
	case OP_RANGES:
		err = bench_ranges(t, tree, vals, len);
		res->ops = in->chunks;
		break;
	case OP_UNPRESERVE_RANGES:
		bench_unpreserve_ranges(t, tree, vals, len);
		res->ops = in->chunks;
		break;
	case OP_DEL:
	case OP_UNPRESERVE:
		bench_del(t, wl->op, tree, vals, len);
		break;
	case OP_WALK:
		err = bench_walk(t, tree, &bench_key_cb, &w);
		break;
	case OP_WALK_RESTORE:
		err = bench_walk_restore(t, tree, &w);
		break;
	case OP_WALK_CLOSURE:
		if (t == BENCH_RUST)
			err = kho_radix_rs_bench_walk_closure(tree, &w.keys,
							      &w.sum);
		else
			err = bench_walk(t, tree, &bench_key_cb, &w);
		break;
	}
	res->ns = local_clock() - start;
	if (!err && wl->input == IN_SPARSE &&
	    (wl->op == OP_WALK || wl->op == OP_WALK_CLOSURE ||
	     wl->op == OP_WALK_RESTORE))
		err = bench_read_leaves(t, tree, len,
					t == BENCH_RUST && wl->op == OP_WALK_RESTORE,
					&res->read_ns);
	if (err)
		goto out_destroy;

	/* What is in the tree now, and how many pages it takes. */
	memset(&w, 0, sizeof(w));
	err = bench_walk(t, tree, &bench_all_cb, &w);
	res->keys = w.keys;
	res->sum = w.sum;
	res->pages = w.nodes;

out_destroy:
	if (t == BENCH_RUST)
		kho_radix_destroy_tree(tree);
	else
		kho_radix_cref_destroy_tree(tree);
out_free:
	kfree(tree);
	return err;
}

static int bench_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* Picoseconds per operation: minimum and median over the runs. */
static void bench_stats(u64 *ns, unsigned int nr, u64 ops, u64 *min_ps,
			u64 *med_ps)
{
	sort(ns, nr, sizeof(*ns), bench_cmp_u64, NULL);
	*min_ps = div64_u64(ns[0] * 1000, max_t(u64, ops, 1));
	*med_ps = div64_u64(ns[nr / 2] * 1000, max_t(u64, ops, 1));
}

/*
 * Each run's times of the workload in progress, per tracker. They are not on
 * bench_workload()'s stack: clang inlines it into kho_radix_bench_init(),
 * whose frame then grew past CONFIG_FRAME_WARN. Only that initcall runs
 * workloads, one at a time.
 */
static u64 bench_run_ns[2][BENCH_MAX_REPS];
static u64 bench_read_ns[2][BENCH_MAX_REPS];

/**
 * bench_workload() - Runs one workload for one size on both trackers.
 * @wl:   The workload.
 * @in:   The inputs of the size.
 * @n:    The size, in pages.
 * @test: The KTAP test number.
 *
 * Return: true if both trackers succeeded and ended with the same keys.
 */
static bool bench_workload(const struct bench_workload *wl,
			   const struct bench_inputs *in, unsigned long n,
			   unsigned int test)
{
	u64 (*ns)[BENCH_MAX_REPS] = bench_run_ns;
	u64 (*read_ns)[BENCH_MAX_REPS] = bench_read_ns;
	u64 min_ps[2], med_ps[2], read_ps[2], unused;
	struct bench_result res[2], first[2];
	unsigned int r, i;
	int t, err;

	if ((wl->op == OP_RANGES || wl->op == OP_UNPRESERVE_RANGES) &&
	    IS_ENABLED(CONFIG_NUMA)) {
		/* bench_chunk_order() would look up pages that do not exist. */
		pr_info("ok %u %s_%lu # SKIP needs !CONFIG_NUMA\n",
			test, wl->name, n);
		return true;
	}

	for (r = 0; r < reps; r++) {
		/*
		 * ABBA: a tree gets the pages that the one before it freed,
		 * and the page allocator hands back the last freed first, so
		 * each tree's pages lie in the reverse order of the previous
		 * tree's. With C always first, every Rust tree had its leaves
		 * in descending addresses and every C tree in ascending ones,
		 * which at 1048576 pages made reading Rust's leaves a third
		 * slower under TCG. Alternating who goes first gives each
		 * tracker both orders.
		 */
		for (i = 0; i < 2; i++) {
			t = r % 2 ? BENCH_RUST - i : BENCH_C + i;
			memset(&res[t], 0, sizeof(res[t]));
			err = bench_run(t, wl, in, &res[t]);
			if (err) {
				pr_err(BENCH "%s n=%lu: the %s tracker failed: %d\n",
				       wl->name, n, t == BENCH_C ? "C" : "Rust",
				       err);
				goto fail;
			}
			ns[t][r] = res[t].ns;
			read_ns[t][r] = res[t].read_ns;
			if (!r)
				first[t] = res[t];
			cond_resched();
		}
		if (res[BENCH_C].keys != res[BENCH_RUST].keys ||
		    res[BENCH_C].sum != res[BENCH_RUST].sum) {
			pr_err(BENCH "%s n=%lu: the trees differ: C %llu keys (sum %llx), Rust %llu keys (sum %llx)\n",
			       wl->name, n, res[BENCH_C].keys,
			       res[BENCH_C].sum, res[BENCH_RUST].keys,
			       res[BENCH_RUST].sum);
			goto fail;
		}
	}
	if ((wl->op == OP_DEL || wl->op == OP_UNPRESERVE ||
	     wl->op == OP_UNPRESERVE_RANGES) && first[BENCH_RUST].keys) {
		pr_err(BENCH "%s n=%lu: %llu keys left after deleting all\n",
		       wl->name, n, first[BENCH_RUST].keys);
		goto fail;
	}

	for (t = BENCH_C; t <= BENCH_RUST; t++) {
		bench_stats(ns[t], reps, first[t].ops, &min_ps[t], &med_ps[t]);
		bench_stats(read_ns[t], reps, first[t].ops, &read_ps[t],
			    &unused);
	}
	pr_info(BENCH "row %s n=%lu ops=%llu c_min_ps=%llu c_med_ps=%llu rs_min_ps=%llu rs_med_ps=%llu c_pages=%llu rs_pages=%llu c_read_ps=%llu rs_read_ps=%llu\n",
		wl->name, n, first[BENCH_C].ops, min_ps[BENCH_C],
		med_ps[BENCH_C], min_ps[BENCH_RUST], med_ps[BENCH_RUST],
		first[BENCH_C].pages, first[BENCH_RUST].pages,
		read_ps[BENCH_C], read_ps[BENCH_RUST]);
	pr_info("ok %u %s_%lu\n", test, wl->name, n);
	return true;

fail:
	pr_info("not ok %u %s_%lu\n", test, wl->name, n);
	return false;
}

/**
 * bench_lock_floor() - Prints the cost of the tree lock alone.
 * @n: Lock and unlock pairs to time.
 *
 * Every call of the per-page API takes and releases the tree's mutex, so no
 * per-page preserve can be cheaper than one uncontended lock and unlock: the
 * floor that scripts/bench-kernel.sh compares the preserve rows with.
 */
static BENCH_OWN_PAGE void bench_lock_floor(unsigned long n)
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
	bench_stats(ns, reps, n, &min_ps, &med_ps);
	pr_info(BENCH "floor lock_unlock n=%lu min_ps=%llu med_ps=%llu\n", n,
		min_ps, med_ps);
}

#define BENCH_NODE_ALLOCS	1024

/**
 * bench_node_floor() - Prints the cost of allocating and of freeing a tree
 * page.
 *
 * Every tracker allocates and zeroes a page per new tree node: the part of
 * a preserve that no tree code can avoid, which bounds the range workload
 * (it adds many nodes per block). Freeing is timed on its own: a tracker
 * that frees the nodes an unpreserve empties pays it there, and C, which
 * keeps them, does not.
 */
static BENCH_OWN_PAGE void bench_node_floor(void)
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
	bench_stats(alloc_ns, reps, BENCH_NODE_ALLOCS, &min_ps, &med_ps);
	pr_info(BENCH "floor node_alloc n=%u min_ps=%llu med_ps=%llu\n",
		BENCH_NODE_ALLOCS, min_ps, med_ps);
	bench_stats(free_ns, reps, BENCH_NODE_ALLOCS, &min_ps, &med_ps);
	pr_info(BENCH "floor node_free n=%u min_ps=%llu med_ps=%llu\n",
		BENCH_NODE_ALLOCS, min_ps, med_ps);
}

/* Fisher-Yates with a fixed seed: the same order on every boot. */
static void bench_shuffle(unsigned long *v, unsigned long n,
			  struct rnd_state *rnd)
{
	unsigned long i, j;

	for (i = n; i > 1; i--) {
		j = prandom_u32_state(rnd) % i;
		swap(v[i - 1], v[j]);
	}
}

/* Fisher-Yates over the n (first pfn, pages) pairs of v. */
static void bench_shuffle_pairs(unsigned long *v, unsigned long n,
				struct rnd_state *rnd)
{
	unsigned long i, j;

	for (i = n; i > 1; i--) {
		j = prandom_u32_state(rnd) % i;
		swap(v[2 * (i - 1)], v[2 * j]);
		swap(v[2 * (i - 1) + 1], v[2 * j + 1]);
	}
}

static void bench_free_inputs(struct bench_inputs *in)
{
	int i;

	for (i = 0; i < IN_NR; i++)
		kvfree(in->vals[i]);
	memset(in, 0, sizeof(*in));
}

/**
 * bench_make_inputs() - Generates the inputs of one size.
 * @in: Where to store them.
 * @n:  The size, in pages.
 *
 * Return: 0 or -ENOMEM.
 */
static int bench_make_inputs(struct bench_inputs *in, unsigned long n)
{
	unsigned long i, pfn, end_pfn = BENCH_BASE_PFN + n, len;
	unsigned long nsparse = max(n / BENCH_SPARSE_DIV, 1UL);
	struct rnd_state rnd;
	unsigned int order;

	prandom_seed_state(&rnd, 0x6b686f);
	memset(in, 0, sizeof(*in));
	for (i = 0; i < IN_NR; i++) {
		/* Ranges need two values each, at most one range per page. */
		in->vals[i] = kvmalloc_array(i == IN_RANGES || i == IN_RANGES_RAND ?
					     2 * n : n,
					     sizeof(unsigned long), GFP_KERNEL);
		if (!in->vals[i]) {
			bench_free_inputs(in);
			return -ENOMEM;
		}
	}

	for (i = 0; i < n; i++)
		in->vals[IN_SEQ][i] = bench_key(BENCH_BASE_PFN + i, 0);
	in->len[IN_SEQ] = n;

	memcpy(in->vals[IN_RAND], in->vals[IN_SEQ], n * sizeof(unsigned long));
	bench_shuffle(in->vals[IN_RAND], n, &rnd);
	in->len[IN_RAND] = n;

	/* Aligned blocks of orders 0-9 covering the n pages. */
	for (pfn = BENCH_BASE_PFN; pfn < end_pfn; pfn += 1UL << order) {
		order = prandom_u32_state(&rnd) % 10;
		while (order && ((pfn & ((1UL << order) - 1)) ||
				 pfn + (1UL << order) > end_pfn))
			order--;
		in->vals[IN_MIXED][in->len[IN_MIXED]++] = bench_key(pfn, order);
	}

	/* Ranges of 1-1024 pages with small gaps, up to the n pages. */
	for (pfn = BENCH_BASE_PFN; pfn < end_pfn;) {
		len = min_t(unsigned long,
			    1 + prandom_u32_state(&rnd) % BENCH_RANGE_MAX,
			    end_pfn - pfn);
		in->vals[IN_RANGES][2 * in->len[IN_RANGES]] = pfn;
		in->vals[IN_RANGES][2 * in->len[IN_RANGES] + 1] = len;
		in->len[IN_RANGES]++;
		for (i = pfn; i < pfn + len; i += 1UL << order) {
			order = bench_chunk_order(i, pfn + len);
			in->chunks++;
		}
		pfn += len + prandom_u32_state(&rnd) % BENCH_GAP;
	}

	/*
	 * The same ranges in random order, as drivers unpreserve folios that
	 * the page allocator handed out scattered.
	 */
	memcpy(in->vals[IN_RANGES_RAND], in->vals[IN_RANGES],
	       2 * in->len[IN_RANGES] * sizeof(unsigned long));
	bench_shuffle_pairs(in->vals[IN_RANGES_RAND], in->len[IN_RANGES], &rnd);
	in->len[IN_RANGES_RAND] = in->len[IN_RANGES];

	/* One key per leaf: the leaf bitmap covers this many order-0 pages. */
	for (i = 0; i < nsparse; i++)
		in->vals[IN_SPARSE][i] =
			bench_key(BENCH_BASE_PFN + (i << KHO_BITMAP_SIZE_LOG2), 0);
	in->len[IN_SPARSE] = nsparse;
	return 0;
}

static int __init kho_radix_bench_init(void)
{
	unsigned int s, w, test = 0, nsizes = 0, failed = 0;
	struct bench_inputs in;
	unsigned long n;

	if (!run)
		return 0;
	if (is_kho_boot()) {
		pr_info(BENCH "not run on a boot with a KHO handover\n");
		return 0;
	}
	if (!reps || reps > BENCH_MAX_REPS) {
		pr_err(BENCH "reps=%u is out of range 1..%d, not run\n", reps,
		       BENCH_MAX_REPS);
		return 0;
	}

	for (s = 0; s < ARRAY_SIZE(bench_sizes); s++)
		nsizes += bench_sizes[s] <= max_n;
	if (!nsizes) {
		pr_err(BENCH "max_n=%lu is below the smallest size %lu, not run\n",
		       max_n, bench_sizes[0]);
		return 0;
	}

	pr_info(BENCH "C and Rust radix trackers on private trees, %u runs each\n",
		reps);
	pr_info("KTAP version 1\n");
	pr_info("1..%zu\n", nsizes * ARRAY_SIZE(bench_workloads));
	for (s = 0; s < nsizes; s++) {
		n = bench_sizes[s];
		if (bench_make_inputs(&in, n)) {
			pr_err(BENCH "no memory for the inputs of n=%lu\n", n);
			for (w = 0; w < ARRAY_SIZE(bench_workloads); w++)
				pr_info("not ok %u %s_%lu\n", ++test,
					bench_workloads[w].name, n);
			failed += ARRAY_SIZE(bench_workloads);
			continue;
		}
		pr_info(BENCH "n=%lu: %lu mixed-order blocks, %lu ranges in %lu blocks, %lu sparse keys\n",
			n, in.len[IN_MIXED], in.len[IN_RANGES], in.chunks,
			in.len[IN_SPARSE]);
		for (w = 0; w < ARRAY_SIZE(bench_workloads); w++)
			failed += !bench_workload(&bench_workloads[w], &in, n,
						  ++test);
		bench_free_inputs(&in);
	}
	bench_lock_floor(bench_sizes[nsizes - 1]);
	bench_node_floor();
	pr_info(BENCH "done: %u of %u tests failed\n", failed, test);
	return 0;
}
late_initcall(kho_radix_bench_init);
