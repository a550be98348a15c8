// SPDX-License-Identifier: GPL-2.0
/*
 * Golden data generator: runs the C radix tree (included as radix.c, cut
 * from kexec_handover.c by gen.sh) on a fixed pseudo-random workload and
 * prints every result, every page word and the walk and free orders.
 */
#include "radix.c"

static u64 state = 0x6b686f2d7261646eULL;

static u64 rnd(void)
{
	/* splitmix64 */
	u64 z = (state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int leaf_cb(unsigned long key, void *data)
{
	fprintf(out, "key %lx\n", key);
	return 0;
}

static int node_cb(phys_addr_t phys, void *data)
{
	fprintf(out, "node %llx\n", (unsigned long long)phys);
	return 0;
}

#define MAX_ORDER (63 - PAGE_SHIFT)
#define NKEYS 160

int main(void)
{
	static const struct kho_radix_walk_cb cb = { leaf_cb, node_cb };
	struct kho_radix_tree tree;
	unsigned long keys[NKEYS + 4];
	unsigned int order, n = 0;
	u64 top;

	out = stdout;
	fprintf(out, "consts %d %d %d %d\n", KHO_RADIX_KEY_WIDTH,
		KHO_TABLE_SIZE_LOG2, KHO_BITMAP_SIZE_LOG2, KHO_TREE_MAX_DEPTH);

	for (order = 0; order <= MAX_ORDER; order++) {
		for (int i = 0; i < 4; i++) {
			phys_addr_t phys = i == 0 ? 0 : i == 1 ? ~0ULL : rnd();
			unsigned long key = kho_encode_radix_key(phys, order);
			unsigned int dorder;
			phys_addr_t dphys = kho_decode_radix_key(key, &dorder);

			fprintf(out, "enc %llx %u %lx\n", (unsigned long long)phys,
				order, key);
			fprintf(out, "dec %lx %llx %u\n", key,
				(unsigned long long)dphys, dorder);
		}
	}

	if (kho_radix_init_tree(&tree, NULL))
		abort();

	keys[n++] = 0;
	keys[n++] = (1UL << KHO_RADIX_KEY_WIDTH) - 1;
	keys[n++] = 1UL << KHO_RADIX_KEY_WIDTH;
	while (n < NKEYS) {
		u64 r = rnd();

		switch (r % 4) {
		case 0: /* any page of any order */
			keys[n++] = kho_encode_radix_key(rnd(), rnd() % (MAX_ORDER + 1));
			break;
		case 1: /* low memory, small orders */
			keys[n++] = kho_encode_radix_key(rnd() % (1ULL << 30), rnd() % 4);
			break;
		case 2: /* highest PFNs */
			order = rnd() % (MAX_ORDER + 1);
			top = ~0ULL - ((rnd() % 64) << (PAGE_SHIFT + order));
			keys[n++] = kho_encode_radix_key(top, order);
			break;
		default: /* neighbour of an earlier key */
			keys[n] = keys[rnd() % n] + rnd() % 3000;
			n++;
			break;
		}
	}

	for (unsigned int i = 0; i < n; i++)
		fprintf(out, "add %lx %d\n", keys[i], kho_radix_add_key(&tree, keys[i]));
	for (unsigned int i = 0; i < n; i += 3) {
		/* Only keys whose path exists: C WARNs otherwise. */
		if (fls64(keys[i]) <= KHO_RADIX_KEY_WIDTH) {
			kho_radix_del_key(&tree, keys[i]);
			fprintf(out, "del %lx\n", keys[i]);
		}
	}

	for (unsigned long i = 0; i < npages; i++) {
		u64 *w = pages[i];

		for (unsigned long j = 0; j < PAGE_SIZE / 8; j++)
			if (w[j])
				fprintf(out, "word %llx %lx %llx\n",
					ARENA_BASE + i * PAGE_SIZE, j,
					(unsigned long long)w[j]);
	}
	fprintf(out, "pages %lu\n", npages);
	fprintf(out, "walk %d\n", kho_radix_walk_tree(&tree, &cb, NULL));
	kho_radix_destroy_tree(&tree);
	fprintf(out, "end\n");
	return 0;
}
