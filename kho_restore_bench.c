// SPDX-License-Identifier: GPL-2.0-only
/*
 * Preserve many scattered pages for timing the KHO restore
 *
 * Test only (CONFIG_KEXEC_HANDOVER_RESTORE_BENCH). With
 * "kho_restore_bench.pages=K" on the command line of a boot without a KHO
 * handover, a late initcall preserves K order-0 pages spread over memory
 * with kho_preserve_pages(), so that the next kernel, booted by kexec with
 * KHO, has K blocks to retrieve and reserve. The next kernel prints how long
 * that took (the "KHO: restore:" line of kexec_handover.c), with either
 * radix tracker.
 *
 * The pages come from MAX_PAGE_ORDER blocks allocated with GFP_KERNEL: such
 * allocations are never served from the CMA-backed KHO scratch areas, which
 * must not be preserved. One page in every "stride" pages of a block is
 * preserved, each with its own kho_preserve_pages() call, so each one is a
 * separate order-0 key in the tree. With the default stride of 4 no two
 * preserved pages are adjacent, so each one is also a separate memblock
 * reservation in the next kernel; with stride=1 the pages of a block are
 * adjacent and the next kernel's memblock merges their reservations, which
 * takes memblock's cost, quadratic in the number of reserved regions, out
 * of the measurement. The blocks are deliberately kept allocated: they are
 * handed over.
 *
 * The command line is passed on to the next kernel, which ignores the
 * parameter: it acts only on a boot without a KHO handover.
 */

#define pr_fmt(fmt) "kho_restore_bench: " fmt

#include <linux/gfp.h>
#include <linux/init.h>
#include <linux/kexec_handover.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>

static unsigned long pages;
module_param(pages, ulong, 0444);
MODULE_PARM_DESC(pages, "Number of order-0 pages to preserve (0: do nothing)");

static unsigned int stride = 4;
module_param(stride, uint, 0444);
MODULE_PARM_DESC(stride, "Preserve one page in every stride pages (default 4)");

#define KHO_RESTORE_BENCH_ORDER	MAX_PAGE_ORDER
#define KHO_RESTORE_BENCH_PROGRESS	16384

/**
 * kho_restore_bench_block - Preserve one page in every stride of a block.
 * @block: First page of a block of 2^KHO_RESTORE_BENCH_ORDER pages.
 * @want: Number of pages still to preserve.
 * @done: Number of pages preserved so far; advanced for each page preserved.
 *
 * Prints a progress line every KHO_RESTORE_BENCH_PROGRESS pages.
 *
 * Return: 0 on success, or the error of kho_preserve_pages(), after a
 * pr_err() naming the page. The pages preserved before it stay preserved.
 */
static int __init kho_restore_bench_block(struct page *block,
					  unsigned long want,
					  unsigned long *done)
{
	unsigned long i, nr = 1UL << KHO_RESTORE_BENCH_ORDER;
	int err;

	for (i = 0; i < nr && want; i += stride, want--) {
		err = kho_preserve_pages(block + i, 1);
		if (err) {
			pr_err("kho_preserve_pages(pfn %#lx) failed: %d; stopping after %lu pages\n",
			       page_to_pfn(block + i), err, *done);
			return err;
		}
		++*done;
		if (*done % KHO_RESTORE_BENCH_PROGRESS == 0)
			pr_info("%lu of %lu pages preserved\n", *done, pages);
	}
	return 0;
}

/**
 * kho_restore_bench_init - Preserve the requested pages at boot.
 *
 * Does nothing without "kho_restore_bench.pages=K", on a KHO boot, or when
 * KHO is disabled (the last two with a pr_info()/pr_err() saying so).
 * Allocation or preservation failures are reported with pr_err() and stop
 * the preservation; the boot goes on, and what was preserved until then is
 * handed over.
 *
 * Return: 0 always; failures are only reported.
 */
static int __init kho_restore_bench_init(void)
{
	unsigned long nr_blocks = 0, done = 0;
	struct page *block;

	if (!pages)
		return 0;
	if (is_kho_boot()) {
		pr_info("KHO boot: nothing to preserve, the restore timing is printed by KHO\n");
		return 0;
	}
	if (!kho_is_enabled()) {
		pr_err("KHO is disabled (boot with kho=on); not preserving %lu pages\n",
		       pages);
		return 0;
	}
	if (!stride || stride > (1U << KHO_RESTORE_BENCH_ORDER)) {
		pr_err("stride %u out of range [1, %u]; not preserving anything\n",
		       stride, 1U << KHO_RESTORE_BENCH_ORDER);
		return 0;
	}

	pr_info("preserving %lu order-0 pages, one in every %u of order-%u blocks\n",
		pages, stride, KHO_RESTORE_BENCH_ORDER);
	while (done < pages) {
		block = alloc_pages(GFP_KERNEL | __GFP_NORETRY | __GFP_NOWARN,
				    KHO_RESTORE_BENCH_ORDER);
		if (!block) {
			pr_err("cannot allocate an order-%u block after %lu blocks; stopping after %lu of %lu pages\n",
			       KHO_RESTORE_BENCH_ORDER, nr_blocks, done, pages);
			return 0;
		}
		nr_blocks++;
		/* On failure the block stays allocated: part of it may be preserved. */
		if (kho_restore_bench_block(block, pages - done, &done))
			return 0;
		cond_resched();
	}

	pr_info("preserved %lu order-0 pages (stride %u, %lu MiB allocated)\n",
		done, stride,
		(nr_blocks << (KHO_RESTORE_BENCH_ORDER + PAGE_SHIFT)) >> 20);
	return 0;
}
late_initcall(kho_restore_bench_init);
