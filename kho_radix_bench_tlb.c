// SPDX-License-Identifier: GPL-2.0-only
/*
 * QEMU TCG's software TLB, grown before the benchmark times anything
 *
 * Under QEMU TCG every data access of the guest goes through a software
 * TLB that is direct mapped: a page's entry is its virtual page number
 * modulo the TLB's size. Two pages of one timed loop whose numbers are
 * equal modulo that size evict each other, and every access to them then
 * swaps the victim TLB, about 9 ns. QEMU sizes the TLB at each full flush:
 * it doubles it when more than 70% of the entries were used since the
 * flush before, and shrinks it after 100 ms in which fewer than 30% were.
 * At late_initcall it has 256 or 512 entries (1 or 2 MiB of address
 * space). So a row paid for conflicts between its tree nodes, inputs,
 * stack and tree struct, which depend on where those were allocated, and
 * for capacity misses once it touched more pages than that: the sparse
 * walks at 1048576 pages, 4096 leaf pages, took about 160 ns more per leaf
 * for either tracker. Hardware, whose direct map uses huge pages, pays
 * for neither at this scale.
 *
 * kho_radix_bench_grow_tlb() touches 128 Ki distinct pages, all aliases of
 * one page mapped with vmap(), before each of a series of full flushes:
 * each flush doubles the TLB, to 128 Ki entries (512 MiB) and more. On
 * hardware or KVM it costs a few milliseconds and changes nothing. (It
 * does not remove the boots in which a row or two of one tracker run
 * 10-50 ns per operation slower than in other boots of the same image;
 * see Documentation/performance.rst.)
 */

#define pr_fmt(fmt) fmt

#include <linux/bits.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <asm/tlbflush.h>

#include "kho_radix_bench.h"

/* The virtual pages touched before each flush, and the flushes: 256 << 9. */
#define BENCH_TLB_PAGES		BIT(17)
#define BENCH_TLB_FLUSHES	9

/**
 * kho_radix_bench_grow_tlb() - Grows QEMU TCG's software TLB.
 *
 * Maps one page BENCH_TLB_PAGES times, reads each mapping once before each
 * of BENCH_TLB_FLUSHES full TLB flushes, and unmaps it again.
 *
 * Return: 0, or -ENOMEM with nothing changed.
 */
int kho_radix_bench_grow_tlb(void)
{
	unsigned long i, sum = 0;
	struct page **pages;
	struct page *page;
	unsigned int f;
	u8 *va;

	page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!page)
		return -ENOMEM;
	pages = kvmalloc_array(BENCH_TLB_PAGES, sizeof(*pages), GFP_KERNEL);
	if (!pages) {
		__free_page(page);
		return -ENOMEM;
	}
	for (i = 0; i < BENCH_TLB_PAGES; i++)
		pages[i] = page;
	va = vmap(pages, BENCH_TLB_PAGES, VM_MAP, PAGE_KERNEL_RO);
	if (!va) {
		kvfree(pages);
		__free_page(page);
		return -ENOMEM;
	}

	for (f = 0; f < BENCH_TLB_FLUSHES; f++) {
		for (i = 0; i < BENCH_TLB_PAGES; i++)
			sum += READ_ONCE(va[i << PAGE_SHIFT]);
		flush_tlb_all();
	}
	/* The page is zeroed: a non-zero sum is a mapping gone wrong. */
	WARN_ON_ONCE(sum);

	vunmap(va);
	kvfree(pages);
	__free_page(page);
	return 0;
}
