/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The benchmark's shim: host/c-shim/kho_shim_common.h plus what differs from
 * the golden data generator's (that header says why): the kernel's likely()
 * and unlikely(), for_each_set_bit() on the kernel's find_next_bit(), the
 * search itself out of line like lib/find_bit.c, and nodes from a page pool
 * with an identity virt/phys mapping, the same algorithm as src/pool.rs.
 */
#include "kho_shim_common.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

static inline unsigned long __ffs(unsigned long x)
{
	return __builtin_ctzl(x);
}

#define BITMAP_FIRST_WORD_MASK(start) (~0UL << ((start) & (BITS_PER_LONG - 1)))

/* lib/find_bit.c: FIND_NEXT_BIT(addr[idx], , size, start), out of line. */
static noinline unsigned long
_find_next_bit(const unsigned long *addr, unsigned long size, unsigned long start)
{
	unsigned long mask, idx, tmp, sz = size;

	if (unlikely(start >= sz))
		return sz;
	mask = BITMAP_FIRST_WORD_MASK(start);
	idx = start / BITS_PER_LONG;
	for (tmp = addr[idx] & mask; !tmp; tmp = addr[idx]) {
		if ((idx + 1) * BITS_PER_LONG >= sz)
			return sz;
		idx++;
	}
	tmp = idx * BITS_PER_LONG + __ffs(tmp);
	return tmp < sz ? tmp : sz;
}

/* include/linux/find.h, for sizes that are not small constants. */
#define find_next_bit(addr, size, offset) _find_next_bit(addr, size, offset)
#define for_each_set_bit(bit, addr, size) \
	for ((bit) = 0; (bit) = find_next_bit((addr), (size), (bit)), (bit) < (size); (bit)++)

/*
 * Page pool: LIFO free list threaded through the first word of free pages,
 * then a bump pointer; pages are zeroed on allocation like
 * get_zeroed_page(). Physical address == virtual address.
 */
static struct {
	char *base;
	unsigned long cap, next, live;
	void *free;
} pool;

static void *kho_radix_alloc_node(void)
{
	void *p;

	if (pool.free) {
		p = pool.free;
		pool.free = *(void **)p;
	} else if (pool.next < pool.cap) {
		p = pool.base + pool.next++ * PAGE_SIZE;
	} else {
		return NULL;
	}
	memset(p, 0, PAGE_SIZE);
	pool.live++;
	return p;
}

static void kho_radix_free_node(struct kho_radix_node *node)
{
	*(void **)node = pool.free;
	pool.free = node;
	pool.live--;
}

#define virt_to_phys(v) ((phys_addr_t)(uintptr_t)(v))
#define phys_to_virt(p) ((void *)(uintptr_t)(p))
