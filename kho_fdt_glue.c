// SPDX-License-Identifier: GPL-2.0-only
/*
 * Early boot helpers for the Rust preserved-memory map code (kho_fdt.rs)
 *
 * kho_fdt.rs validates the incoming KHO radix tree in early boot, before the
 * slab allocator is available. The memblock functions it needs are __init
 * (or __init_memblock) and some are inline, so it calls these small __ref
 * wrappers instead. They are only called from kho_memory_init_early().
 * The ones that say whether a block is RAM, kho_radix_rs_phys_is_ram(), and
 * on one NUMA node, kho_radix_rs_phys_one_node(), are in kho_fdt_ram.c,
 * where the host tests build them too.
 */

#include <linux/kho_radix_tree.h>
#include <linux/math64.h>
#include <linux/memblock.h>
#include <linux/sched/clock.h>
#include <linux/time64.h>

#ifdef CONFIG_X86_TSC
#include <asm/tsc.h>
#endif

/**
 * kho_radix_rs_phys_mem_size - Total size of system RAM known to memblock.
 *
 * Return: memblock_phys_mem_size().
 */
__ref phys_addr_t kho_radix_rs_phys_mem_size(void)
{
	return memblock_phys_mem_size();
}

/**
 * kho_radix_rs_early_alloc - Allocate memory from memblock, not cleared.
 * @size: Number of bytes.
 *
 * The validator writes every entry of its scratch buffer before reading
 * it, so clearing the buffer would only cost time on every KHO boot: for
 * a buffer sized for the largest tree the RAM allows, as it was before
 * the validator counted the tree first, most of the restore's fixed cost
 * under QEMU TCG.
 *
 * Return: The memory, aligned for u64, with unspecified contents, or %NULL
 * on failure.
 */
__ref void *kho_radix_rs_early_alloc(size_t size)
{
	return memblock_alloc_raw(size, SMP_CACHE_BYTES);
}

/**
 * kho_radix_rs_early_free - Free memory from kho_radix_rs_early_alloc().
 * @ptr: The memory.
 * @size: Its size in bytes, as passed to kho_radix_rs_early_alloc().
 */
__ref void kho_radix_rs_early_free(void *ptr, size_t size)
{
	memblock_free(ptr, size);
}

/**
 * kho_radix_rs_clock_ns - A nanosecond clock usable in early boot.
 *
 * local_clock() reads 0 until sched_clock_init(), and on x86 sched_clock()
 * counts jiffies, which do not tick yet, until tsc_init(); both run after
 * the validation. The TSC frequency is known from tsc_early_init() though.
 *
 * Return: Nanoseconds since an arbitrary point.
 */
u64 kho_radix_rs_clock_ns(void)
{
#ifdef CONFIG_X86_TSC
	if (tsc_khz)
		return mul_u64_u32_div(rdtsc_ordered(), NSEC_PER_MSEC, tsc_khz);
#endif
	return sched_clock();
}
