/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The golden data generator's shim: host/c-shim/kho_shim_common.h plus what
 * differs from the benchmark's (that header says why). The node allocator
 * mirrors the host Arena: zeroed page-aligned pages at fake physical
 * addresses 0x100000000 + n * PAGE_SIZE, never reused; each free is logged
 * to out.
 */
#include <stdio.h>
#include <stdlib.h>

#include "kho_shim_common.h"

#define unlikely(x) (x)

/* The first set bit of @addr from @bit on, one bit after the other. */
static inline unsigned long next_set_bit(const unsigned long *addr,
					 unsigned long size, unsigned long bit)
{
	while (bit < size && !(addr[bit / BITS_PER_LONG] & (1UL << (bit % BITS_PER_LONG))))
		bit++;
	return bit;
}

#define for_each_set_bit(bit, addr, size) \
	for ((bit) = 0; (bit) = next_set_bit((addr), (size), (bit)), (bit) < (size); (bit)++)

#define ARENA_BASE 0x100000000ULL
#define MAX_PAGES 65536
static void *pages[MAX_PAGES];
static unsigned long npages;
FILE *out;

static void *kho_radix_alloc_node(void)
{
	void *p = aligned_alloc(PAGE_SIZE, PAGE_SIZE);

	if (!p || npages == MAX_PAGES)
		abort();
	memset(p, 0, PAGE_SIZE);
	pages[npages++] = p;
	return p;
}

static void kho_radix_free_node(struct kho_radix_node *node)
{
	for (unsigned long i = 0; i < npages; i++)
		if (pages[i] == (void *)node) {
			fprintf(out, "free %llx\n", ARENA_BASE + i * PAGE_SIZE);
			pages[i] = NULL;
			free(node);
			return;
		}
	abort();
}

static phys_addr_t virt_to_phys(const void *v)
{
	for (unsigned long i = 0; i < npages; i++)
		if (pages[i] == v)
			return ARENA_BASE + i * PAGE_SIZE;
	abort();
}

static void *phys_to_virt(phys_addr_t p)
{
	unsigned long i = (p - ARENA_BASE) / PAGE_SIZE;

	if (p < ARENA_BASE || i >= npages || !pages[i])
		abort();
	return pages[i];
}
