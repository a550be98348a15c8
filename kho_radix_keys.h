/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The keys kexec_handover.c gives preserved blocks, for the objects of this
 * directory that make such keys themselves: the benchmark, the corrupt
 * handover test and the glue's KUnit suites. kho_encode_radix_key() and
 * __kho_preserve_pages_order() are static there.
 */
#ifndef _KHO_RADIX_KEYS_H
#define _KHO_RADIX_KEYS_H

#include <linux/bits.h>
#include <linux/count_zeros.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/pfn.h>

/**
 * kho_block_key - The key of a preserved block.
 * @pfn: The first page frame of the block.
 * @order: The block has 1 << @order pages.
 *
 * Return: kho_encode_radix_key(PFN_PHYS(@pfn), @order).
 */
static inline unsigned long kho_block_key(unsigned long pfn, unsigned int order)
{
	unsigned int shift = PAGE_SHIFT + order;

	return BIT(64 - shift) | (PFN_PHYS(pfn) >> shift);
}

/**
 * kho_block_order - The order of the next block when preserving a range.
 * @pfn: The first page frame of the block.
 * @end_pfn: The page frame after the range.
 *
 * As large as the alignment of @pfn and the rest of the range allow, and on
 * one NUMA node, as __kho_preserve_pages_order() chunks kho_preserve_pages().
 * The pages must exist, as their nodes are looked up.
 *
 * Return: The order of the block at @pfn.
 */
static inline unsigned int kho_block_order(unsigned long pfn,
					   unsigned long end_pfn)
{
	unsigned int order = min(count_trailing_zeros(pfn),
				 ilog2(end_pfn - pfn));

	while (pfn_to_nid(pfn) != pfn_to_nid(pfn + (1UL << order) - 1))
		order--;
	return order;
}

#endif /* _KHO_RADIX_KEYS_H */
