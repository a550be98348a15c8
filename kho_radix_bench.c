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

#include <linux/init.h>
#include <linux/kexec_handover.h>
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/slab.h>
#include <linux/sort.h>

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

static const unsigned long bench_sizes[] = { 1024, 65536, 1UL << 20 };

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
	{ "unpreserve_scattered", OP_UNPRESERVE, IN_SCATTERED },
	{ "del_key_random", OP_DEL, IN_RAND },
	{ "walk_dense", OP_WALK, IN_SEQ },
	{ "walk_dense_closure", OP_WALK_CLOSURE, IN_SEQ },
	{ "walk_sparse", OP_WALK, IN_SPARSE },
	{ "walk_sparse_closure", OP_WALK_CLOSURE, IN_SPARSE },
	{ "walk_sparse_restore", OP_WALK_RESTORE, IN_SPARSE },
};

struct bench_result {
	u64 ns;
	u64 read_ns;	/* kho_radix_bench_read_leaves() of a sparse walk's tree, or 0 */
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
			order = kho_block_order(pfn, end_pfn);
			err = kho_radix_cref_add_key(tree, kho_block_key(pfn, order));
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
			order = kho_block_order(pfn, end_pfn);
			kho_radix_cref_del_key(tree, kho_block_key(pfn, order));
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
		err = kho_radix_bench_read_leaves(t, tree, len,
						  t == BENCH_RUST &&
						  wl->op == OP_WALK_RESTORE,
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

/**
 * kho_radix_bench_stats() - Picoseconds per operation of a set of runs.
 * @ns:     The time of each run, sorted in place.
 * @nr:     The number of runs.
 * @ops:    Operations per run.
 * @min_ps: Where to store the minimum.
 * @med_ps: Where to store the median.
 */
void kho_radix_bench_stats(u64 *ns, unsigned int nr, u64 ops, u64 *min_ps,
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
		/* kho_block_order() would look up pages that do not exist. */
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
		kho_radix_bench_stats(ns[t], reps, first[t].ops, &min_ps[t],
				      &med_ps[t]);
		kho_radix_bench_stats(read_ns[t], reps, first[t].ops,
				      &read_ps[t], &unused);
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
		if (kho_radix_bench_make_inputs(&in, n)) {
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
		/*
		 * After the inputs, whose kvfree() of the size before may
		 * have shrunk it: nothing flushes the TLB from here to the
		 * kvfree() below.
		 */
		if (kho_radix_bench_grow_tlb())
			pr_warn(BENCH "n=%lu: no memory to grow QEMU's TLB, rows may vary more from boot to boot\n",
				n);
		for (w = 0; w < ARRAY_SIZE(bench_workloads); w++)
			failed += !bench_workload(&bench_workloads[w], &in, n,
						  ++test);
		kho_radix_bench_free_inputs(&in);
	}
	kho_radix_bench_lock_floor(bench_sizes[nsizes - 1], reps);
	kho_radix_bench_node_floor(reps);
	pr_info(BENCH "done: %u of %u tests failed\n", failed, test);
	return 0;
}
late_initcall(kho_radix_bench_init);
