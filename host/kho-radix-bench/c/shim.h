/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Just enough of the kernel environment to compile the radix tree code of
 * kernel/liveupdate/kexec_handover.c unchanged in user space, for timing.
 *
 * Adapted from host/golden/shim.h, with two differences that matter for a
 * benchmark:
 *
 * - for_each_set_bit() is the kernel's: find_next_bit() skipping zero words
 *   with __ffs(), the search itself out of line like lib/find_bit.c;
 * - nodes come from a page pool with an identity virt/phys mapping, the
 *   same algorithm as the Rust side's pool in src/pool.rs, so that the two
 *   sides differ only in the tree code.
 *
 * No locking: guard(mutex) expands to nothing, and the Rust core does not
 * lock either (the kernel glue does).
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

typedef uint64_t u64;
typedef u64 phys_addr_t;

#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define BITS_PER_BYTE 8
#define BITS_PER_LONG 64
#define const_ilog2(n) (63 - __builtin_clzll(n))
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#define DECLARE_BITMAP(name, bits) unsigned long name[(bits) / BITS_PER_LONG]
#define __set_bit(nr, addr) ((addr)[(nr) / BITS_PER_LONG] |= 1UL << ((nr) % BITS_PER_LONG))
#define __clear_bit(nr, addr) ((addr)[(nr) / BITS_PER_LONG] &= ~(1UL << ((nr) % BITS_PER_LONG)))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define WARN_ON_ONCE(x) unlikely(x)
#define WARN_ON(x) unlikely(x)
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

static inline unsigned long __ffs(unsigned long x)
{
	return __builtin_ctzl(x);
}

#define BITMAP_FIRST_WORD_MASK(start) (~0UL << ((start) & (BITS_PER_LONG - 1)))

/* lib/find_bit.c: FIND_NEXT_BIT(addr[idx], , size, start), out of line. */
static __attribute__((noinline)) unsigned long
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

struct kho_radix_node;

struct kho_radix_tree {
	struct kho_radix_node *root;
	int lock;
};

struct kho_radix_walk_cb {
	int (*leaf)(unsigned long key, void *data);
	int (*node)(phys_addr_t phys, void *data);
};

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
