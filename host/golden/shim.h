/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Just enough of the kernel environment to compile the radix tree code of
 * kernel/liveupdate/kexec_handover.c unchanged in user space. The node
 * allocator mirrors the host Arena: zeroed page-aligned pages at fake
 * physical addresses 0x100000000 + n * PAGE_SIZE, never reused.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t u64;
typedef u64 phys_addr_t;

#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define BITS_PER_BYTE 8
#define const_ilog2(n) (63 - __builtin_clzll(n))
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#define DECLARE_BITMAP(name, bits) unsigned long name[(bits) / 64]
#define __set_bit(nr, addr) ((addr)[(nr) / 64] |= 1UL << ((nr) % 64))
#define __clear_bit(nr, addr) ((addr)[(nr) / 64] &= ~(1UL << ((nr) % 64)))
#define for_each_set_bit(bit, addr, size) \
	for ((bit) = 0; (bit) < (size); (bit)++) \
		if ((addr)[(bit) / 64] & (1UL << ((bit) % 64)))
#define WARN_ON_ONCE(x) (x)
#define WARN_ON(x) (x)
#define unlikely(x) (x)
#define might_sleep() do { } while (0)
#define guard(x) (void)
#define EXPORT_SYMBOL_GPL(x) extern int __export_##x
#define mutex_init(x) do { } while (0)
#define __ref
#define EINVAL 22
#define ENOMEM 12
#define ERANGE 34

static inline int fls64(u64 x)
{
	return x ? 64 - __builtin_clzll(x) : 0;
}

struct kho_radix_node;

struct kho_radix_tree {
	struct kho_radix_node *root;
	int lock;
};

struct kho_radix_walk_cb {
	int (*leaf)(unsigned long key, void *data);
	int (*node)(phys_addr_t phys, void *data);
};

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
