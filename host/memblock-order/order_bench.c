// SPDX-License-Identifier: GPL-2.0
/*
 * The next kernel's KHO reservation pattern on the real mm/memblock.c, built
 * for user space by the kernel's memblock simulator (tools/testing/memblock):
 * N scattered order-0 blocks, one page in every four, each reserved with
 * memblock_reserve() and memblock_reserved_mark_noinit() as
 * kho_preserved_memory_reserve() does, in ascending address order (the C
 * tracker's walk) or descending (the Rust tracker's, patch 0052).
 *
 * Usage: order_bench N asc|desc
 * Prints: "N ORDER NS REGIONS", the time of the N reservations in ns and
 * the number of reserved regions afterwards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/memblock.h>

/* Referenced by memblock.c; the simulator's tests define it too. */
bool movable_node_enabled;

static unsigned long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000ULL + t.tv_nsec;
}

int main(int argc, char **argv)
{
	/*
	 * Room for the blocks and for memblock's doubled region arrays; only
	 * the arrays are ever written, so only their pages get allocated.
	 */
	const size_t mem_size = 2UL << 30;
	unsigned long n, i, k;
	unsigned long long t0, t1;
	phys_addr_t base, blocks;
	char *mem;
	int desc;

	if (argc != 3 || (strcmp(argv[2], "asc") && strcmp(argv[2], "desc"))) {
		fprintf(stderr, "usage: %s N asc|desc\n", argv[0]);
		return 2;
	}
	n = strtoul(argv[1], NULL, 0);
	desc = !strcmp(argv[2], "desc");
	if (n == 0 || n > (mem_size / 2) / (4 * 4096)) {
		fprintf(stderr, "%s: N must be 1..%lu\n", argv[0],
			(mem_size / 2) / (4 * 4096));
		return 2;
	}
	mem = aligned_alloc(4096, mem_size);
	if (!mem) {
		perror("aligned_alloc");
		return 1;
	}
	/* The simulator's physical addresses are host addresses. */
	base = (phys_addr_t)(unsigned long)mem;
	memblock_add(base, mem_size);
	memblock_allow_resize();
	/* Stand-ins for the kernel's own reservations, below and above. */
	memblock_reserve(base, 16 << 20);
	memblock_reserve(base + mem_size - (16 << 20), 16 << 20);
	blocks = base + (32 << 20);

	t0 = now_ns();
	for (k = 0; k < n; k++) {
		i = desc ? n - 1 - k : k;
		memblock_reserve(blocks + i * 4 * 4096, 4096);
		memblock_reserved_mark_noinit(blocks + i * 4 * 4096, 4096);
	}
	t1 = now_ns();
	printf("%lu %s %llu %lu\n", n, argv[2], t1 - t0,
	       (unsigned long)memblock.reserved.cnt);
	return 0;
}
