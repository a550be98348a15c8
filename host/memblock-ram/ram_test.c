// SPDX-License-Identifier: GPL-2.0
/*
 * kho_radix_rs_phys_is_ram() and kho_radix_rs_phys_one_node() (kho_fdt_ram.c)
 * on the real mm/memblock.c, built for user space with NUMA by the kernel's
 * memblock simulator (tools/testing/memblock): the validator's questions "is
 * this block RAM" for blocks that span regions memblock did not merge, NOMAP
 * memory, holes and the ends of memory, and "is it on one node" across a
 * node boundary, then both against page-by-page oracles on random layouts.
 *
 * Usage: ram_test [SEED]. Prints KTAP; exits 1 if a test failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kernel.h>
#include <linux/memblock.h>
#include <linux/kho_radix_tree.h>

/* Referenced by memblock.c; the simulator's tests define it too. */
bool movable_node_enabled;

#define PG	0x1000ULL	/* one page */
#define MIB	0x100000ULL
/* Memory starts at 4 GiB: no physical address below it is RAM. */
#define BASE	0x100000000ULL

static int test_nr, failed;

static void result(bool ok, const char *name, const char *why)
{
	test_nr++;
	if (!ok)
		failed++;
	printf("%sok %d %s%s%s\n", ok ? "" : "not ", test_nr, name,
	       why ? " # " : "", why ? why : "");
}

/* Empty memblock.memory and memblock.reserved, as at boot. */
static void reset_memblock(void)
{
	memset(memblock.memory.regions, 0,
	       memblock.memory.cnt * sizeof(struct memblock_region));
	memblock.memory.cnt = 0;
	memblock.memory.total_size = 0;
	memset(memblock.reserved.regions, 0,
	       memblock.reserved.cnt * sizeof(struct memblock_region));
	memblock.reserved.cnt = 0;
	memblock.reserved.total_size = 0;
}

struct range_case {
	const char *what;
	phys_addr_t base, size;
	bool ram;
};

/* Each case is checked against what it should be; returns the failures. */
static int check_cases(const struct range_case *c, int n, char *why, size_t len)
{
	int i, bad = 0;

	why[0] = '\0';
	for (i = 0; i < n; i++) {
		bool got = kho_radix_rs_phys_is_ram(c[i].base, c[i].size);

		if (got == c[i].ram)
			continue;
		if (!bad++)
			snprintf(why, len, "%s [%#llx, +%#llx): %d, want %d",
				 c[i].what, (unsigned long long)c[i].base,
				 (unsigned long long)c[i].size, got, c[i].ram);
	}
	return bad;
}

/*
 * [BASE, BASE + 64M) and [BASE + 128M, BASE + 192M), with the hole between,
 * split by flags: HOTPLUG on [16M, 24M), NOMAP on one page at 40M and
 * MIRROR on [160M, 164M). memblock_add() of one range then marking parts
 * of it is how firmware-described attributes reach memblock.
 */
static void fixed_layout(void)
{
	reset_memblock();
	memblock_add(BASE, 64 * MIB);
	memblock_add(BASE + 128 * MIB, 64 * MIB);
	memblock_mark_hotplug(BASE + 16 * MIB, 8 * MIB);
	memblock_mark_nomap(BASE + 40 * MIB, PG);
	memblock_mark_mirror(BASE + 160 * MIB, 4 * MIB);
}

static void test_split_regions(void)
{
	static const struct range_case cases[] = {
		{ "inside the first region", BASE + 8 * MIB, 4 * MIB, true },
		{ "exactly the HOTPLUG region", BASE + 16 * MIB, 8 * MIB, true },
		{ "across the HOTPLUG start", BASE + 8 * MIB, 16 * MIB, true },
		{ "across the HOTPLUG end", BASE + 16 * MIB, 16 * MIB, true },
		{ "across three regions", BASE, 32 * MIB, true },
		{ "across MIRROR", BASE + 128 * MIB, 64 * MIB, true },
	};
	char why[200];
	int bad;

	fixed_layout();
	/* Without the fix: one region must hold the whole block. */
	if (memblock.memory.cnt != 8) {
		snprintf(why, sizeof(why), "%lu memory regions, want 8",
			 (unsigned long)memblock.memory.cnt);
		result(false, "split_regions_are_ram", why);
		return;
	}
	if (memblock_is_region_memory(BASE + 8 * MIB, 16 * MIB)) {
		result(false, "split_regions_are_ram",
		       "memblock merged the HOTPLUG region: the case is not tested");
		return;
	}
	bad = check_cases(cases, ARRAY_SIZE(cases), why, sizeof(why));
	result(!bad, "split_regions_are_ram", bad ? why : NULL);
}

static void test_not_ram(void)
{
	static const struct range_case cases[] = {
		{ "the NOMAP page", BASE + 40 * MIB, PG, false },
		{ "across the NOMAP page", BASE + 32 * MIB, 16 * MIB, false },
		{ "just after the NOMAP page", BASE + 40 * MIB + PG, PG, true },
		{ "up to the end of memory", BASE + 60 * MIB, 4 * MIB, true },
		{ "past the end into the hole", BASE + 62 * MIB, 4 * MIB, false },
		{ "across the hole", BASE + 48 * MIB, 96 * MIB, false },
		{ "in the hole", BASE + 64 * MIB, PG, false },
		{ "below memory", 0, PG, false },
		{ "ending where memory starts", BASE - PG, PG, false },
		{ "across the start of memory", BASE - PG, 2 * PG, false },
		{ "past the last region", BASE + 190 * MIB, 4 * MIB, false },
		{ "above memory", BASE + 256 * MIB, PG, false },
		{ "empty", BASE, 0, false },
		{ "wrapping the address space", ~0ULL - PG + 1, 2 * PG, false },
		{ "to the top of the address space", ~0ULL - PG + 1, PG, false },
	};
	char why[200];
	int bad;

	fixed_layout();
	bad = check_cases(cases, ARRAY_SIZE(cases), why, sizeof(why));
	result(!bad, "holes_nomap_and_bounds_are_not_ram", bad ? why : NULL);
}

/*
 * Two nodes of 64 MiB, node 0 split by a HOTPLUG mark: a block is on one
 * node if the regions under it agree, whatever their flags.
 */
static void test_node_boundary(void)
{
	static const struct {
		const char *what;
		phys_addr_t base, size;
		bool one_node;
	} cases[] = {
		{ "inside node 0", BASE + 8 * MIB, 4 * MIB, true },
		{ "node 0 across its HOTPLUG mark", BASE, 32 * MIB, true },
		{ "all of node 0", BASE, 64 * MIB, true },
		{ "all of node 1", BASE + 64 * MIB, 64 * MIB, true },
		{ "across the boundary", BASE + 32 * MIB, 64 * MIB, false },
		{ "both nodes", BASE, 128 * MIB, false },
		{ "one page each side", BASE + 64 * MIB - PG, 2 * PG, false },
	};
	char why[200] = "";
	int i, bad = 0;

	reset_memblock();
	memblock_add_node(BASE, 64 * MIB, 0, MEMBLOCK_NONE);
	memblock_add_node(BASE + 64 * MIB, 64 * MIB, 1, MEMBLOCK_NONE);
	memblock_mark_hotplug(BASE + 16 * MIB, 8 * MIB);
	if (memblock.memory.cnt != 4) {
		snprintf(why, sizeof(why), "%lu memory regions, want 4",
			 (unsigned long)memblock.memory.cnt);
		result(false, "blocks_across_nodes_are_refused", why);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		bool ram = kho_radix_rs_phys_is_ram(cases[i].base, cases[i].size);
		bool one = kho_radix_rs_phys_one_node(cases[i].base, cases[i].size);

		if (ram && one == cases[i].one_node)
			continue;
		if (!bad++)
			snprintf(why, sizeof(why),
				 "%s [%#llx, +%#llx): RAM %d, one node %d, want 1, %d",
				 cases[i].what, (unsigned long long)cases[i].base,
				 (unsigned long long)cases[i].size, ram, one,
				 cases[i].one_node);
	}
	result(!bad, "blocks_across_nodes_are_refused", bad ? why : NULL);
}

/* xorshift64*: reproducible for a seed, on every libc. */
static u64 rng_state;

static u64 rnd(u64 n)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (rng_state * 0x2545f4914f6cdd1dULL) % n;
}

/* The oracle: every page in RAM and mapped, asked one page at a time. */
static bool oracle(phys_addr_t base, phys_addr_t size)
{
	phys_addr_t p;

	for (p = base; p < base + size; p += PG)
		if (!memblock_is_memory(p) || !memblock_is_map_memory(p))
			return false;
	return true;
}

/* The node of the memory region that holds @p, or -1. */
static int oracle_nid(phys_addr_t p)
{
	struct memblock_region *r;

	for_each_mem_region(r)
		if (p >= r->base && p < r->base + r->size)
			return memblock_get_region_node(r);
	return -1;
}

/* The oracle of one node: every page in the region of the same node. */
static bool oracle_one_node(phys_addr_t base, phys_addr_t size)
{
	int nid = oracle_nid(base);
	phys_addr_t p;

	for (p = base + PG; p < base + size; p += PG)
		if (oracle_nid(p) != nid)
			return false;
	return true;
}

/*
 * Random layouts in a 256 MiB window: up to 8 ranges of memory with holes
 * between, on node 0 below a random page and on node 1 above it, then up
 * to 12 HOTPLUG, MIRROR or NOMAP marks, all at page granularity; memblock
 * merges what it can. Blocks are naturally aligned, like the validator's
 * keys and nodes, of order 0 to 14 (64 MiB). Of the blocks in RAM, those
 * on one node must be told apart.
 */
static void test_random_layouts(u64 seed)
{
	const int layouts = 300, blocks = 400;
	unsigned long split = 0, accepted = 0, across = 0;
	phys_addr_t cut;
	char why[240] = "";
	int l, b, i, bad = 0;

	rng_state = seed ? seed : 1;
	for (l = 0; l < layouts && !bad; l++) {
		reset_memblock();
		/* Node 1 from a random page on: ranges are cut there. */
		cut = BASE + rnd(65536) * PG;
		for (i = 1 + rnd(8); i > 0; i--) {
			phys_addr_t start = BASE + rnd(65536) * PG;
			phys_addr_t end = start + (1 + rnd(16384)) * PG;

			if (start < cut)
				memblock_add_node(start, min(end, cut) - start, 0, MEMBLOCK_NONE);
			if (end > cut)
				memblock_add_node(max(start, cut), end - max(start, cut), 1,
						  MEMBLOCK_NONE);
		}
		for (i = rnd(13); i > 0; i--) {
			phys_addr_t base = BASE + rnd(65536) * PG;
			phys_addr_t size = (1 + rnd(4096)) * PG;

			switch (rnd(3)) {
			case 0:
				memblock_mark_hotplug(base, size);
				break;
			case 1:
				memblock_mark_mirror(base, size);
				break;
			default:
				memblock_mark_nomap(base, size);
			}
		}
		for (b = 0; b < blocks; b++) {
			int order = rnd(15);
			phys_addr_t size = PG << order;
			phys_addr_t base = BASE + (rnd(65536) * PG & ~(size - 1));
			bool want = oracle(base, size);
			bool got = kho_radix_rs_phys_is_ram(base, size);

			if (got != want && !bad++)
				snprintf(why, sizeof(why),
					 "seed %llu layout %d: order %d at %#llx is RAM: %d, oracle %d (%lu regions)",
					 (unsigned long long)seed, l, order,
					 (unsigned long long)base, got, want,
					 (unsigned long)memblock.memory.cnt);
			accepted += got;
			split += got && !memblock_is_region_memory(base, size);
			if (!got)
				continue;
			want = oracle_one_node(base, size);
			got = kho_radix_rs_phys_one_node(base, size);
			if (got != want && !bad++)
				snprintf(why, sizeof(why),
					 "seed %llu layout %d: order %d at %#llx on one node: %d, oracle %d",
					 (unsigned long long)seed, l, order,
					 (unsigned long long)base, got, want);
			across += !got;
		}
	}
	/* The layouts must have made the cases the code is for. */
	if (!bad && (!split || !across)) {
		bad = 1;
		snprintf(why, sizeof(why),
			 "of the blocks in RAM, %lu in several regions, %lu across nodes",
			 split, across);
	}
	if (!bad)
		snprintf(why, sizeof(why),
			 "%d layouts x %d blocks: %lu RAM, %lu of them in more than one region, %lu across nodes",
			 layouts, blocks, accepted, split, across);
	result(!bad, "random_layouts_match_a_page_by_page_oracle", why);
}

int main(int argc, char **argv)
{
	u64 seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 20261130;

	mirrored_kernelcore = true;

	printf("KTAP version 1\n1..4\n");
	test_split_regions();
	test_not_ram();
	test_node_boundary();
	test_random_layouts(seed);
	printf("# kho_fdt_ram: pass:%d fail:%d\n", test_nr - failed, failed);
	return failed ? 1 : 0;
}
