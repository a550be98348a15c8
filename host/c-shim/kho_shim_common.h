/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Just enough of the kernel environment to compile the radix tree code of
 * kernel/liveupdate/kexec_handover.c unchanged in user space: the part that
 * both host shims need identically.
 *
 * - host/golden/shim.h, for host/golden/gen.sh, which records the golden
 *   files in host/kho-radix-host/tests/golden/;
 * - host/kho-radix-bench/c/shim.h, for the C side of the benchmark.
 *
 * Each shim includes this file and adds what it must do differently:
 *
 * - unlikely(), also behind WARN_ON() and WARN_ON_ONCE() here: a plain (x)
 *   in the golden shim, __builtin_expect() as in include/linux/compiler.h
 *   in the benchmark's. A branch hint changes the code layout, which the
 *   benchmark times, and no result, which is all the golden files record.
 * - for_each_set_bit(): the golden shim tests one bit after the other, the
 *   obvious reading; the benchmark's is the kernel's find_next_bit(), which
 *   skips zero words, since the walk over sparse leaves is part of what it
 *   times.
 * - kho_radix_alloc_node(), kho_radix_free_node(), virt_to_phys() and
 *   phys_to_virt(): the golden shim gives nodes the fake physical addresses
 *   of the host Arena and logs each free, so that the files are the same on
 *   every machine and record the order in which destroy frees pages; the
 *   benchmark's is a page pool with an identity mapping, the algorithm of
 *   the Rust side's (host/kho-radix-bench/src/pool.rs), so that the two
 *   sides differ only in the tree code.
 *
 * No locking: guard(mutex) expands to nothing, and the Rust core does not
 * lock either (the kernel glue does).
 */
#ifndef KHO_SHIM_COMMON_H
#define KHO_SHIM_COMMON_H

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
#define WARN_ON_ONCE(x) unlikely(x)
#define WARN_ON(x) unlikely(x)
#define might_sleep() do { } while (0)
#define guard(x) (void)
#define EXPORT_SYMBOL_GPL(x) extern int __export_##x
#define mutex_init(x) do { } while (0)
#define __ref
#define noinline __attribute__((noinline))
#define EINVAL 22
#define ENOMEM 12
#define ERANGE 34

static inline int fls64(u64 x)
{
	return x ? 64 - __builtin_clzll(x) : 0;
}

/* include/linux/kho_radix_tree.h, with an int for the mutex. */
struct kho_radix_node;

struct kho_radix_tree {
	struct kho_radix_node *root;
	int lock;
};

struct kho_radix_walk_cb {
	int (*leaf)(unsigned long key, void *data);
	int (*node)(phys_addr_t phys, void *data);
};

#endif /* KHO_SHIM_COMMON_H */
