// SPDX-License-Identifier: GPL-2.0-only
/*
 * Inputs of the side-by-side benchmark of the KHO radix trackers
 *
 * The same keys and ranges for both trackers, from a fixed seed, so that
 * every boot runs the same workloads (see kho_radix_bench.c).
 */

#include <linux/kho/abi/kexec_handover.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/prandom.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "kho_radix_bench.h"

/* All workloads start at 4 GiB; the trees never touch the pages. */
#define BENCH_BASE_PFN		(SZ_4G >> PAGE_SHIFT)
/* Range lengths are 1..BENCH_RANGE_MAX pages, with gaps below BENCH_GAP. */
#define BENCH_RANGE_MAX		1024
#define BENCH_GAP		8
/* The sparse walk has one key per leaf and this many fewer keys than n. */
#define BENCH_SPARSE_DIV	256
/*
 * The scattered unpreserve has one key every this many pages: with 4 KiB
 * pages 512 keys per leaf, so 2048 leaves at 1048576 keys, more than the
 * Rust tracker's table cache parks witnesses for (256), and 128 at 65536.
 */
#define BENCH_SCATTER_STRIDE	64

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

/**
 * kho_radix_bench_free_inputs() - Frees the inputs of one size.
 * @in: The inputs, from kho_radix_bench_make_inputs().
 */
void kho_radix_bench_free_inputs(struct bench_inputs *in)
{
	int i;

	for (i = 0; i < IN_NR; i++)
		kvfree(in->vals[i]);
	memset(in, 0, sizeof(*in));
}

/**
 * kho_radix_bench_make_inputs() - Generates the inputs of one size.
 * @in: Where to store them.
 * @n:  The size, in pages.
 *
 * Return: 0 or -ENOMEM.
 */
int kho_radix_bench_make_inputs(struct bench_inputs *in, unsigned long n)
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
			kho_radix_bench_free_inputs(in);
			return -ENOMEM;
		}
	}

	for (i = 0; i < n; i++)
		in->vals[IN_SEQ][i] = kho_block_key(BENCH_BASE_PFN + i, 0);
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
		in->vals[IN_MIXED][in->len[IN_MIXED]++] = kho_block_key(pfn, order);
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
			order = kho_block_order(i, pfn + len);
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
			kho_block_key(BENCH_BASE_PFN + (i << KHO_BITMAP_SIZE_LOG2), 0);
	in->len[IN_SPARSE] = nsparse;

	/*
	 * Last, so that the inputs above keep their random orders: a preserved
	 * set scattered over 64 times the pages, in random order.
	 */
	for (i = 0; i < n; i++)
		in->vals[IN_SCATTERED][i] =
			kho_block_key(BENCH_BASE_PFN + i * BENCH_SCATTER_STRIDE, 0);
	bench_shuffle(in->vals[IN_SCATTERED], n, &rnd);
	in->len[IN_SCATTERED] = n;
	return 0;
}
