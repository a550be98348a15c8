/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the objects of the in-kernel benchmark share (kho_radix_bench.c: the
 * workloads and their KTAP output; kho_radix_bench_inputs.c: the inputs;
 * kho_radix_bench_floors.c: the floors the workloads are compared with;
 * kho_radix_bench_tlb.c: QEMU TCG's software TLB grown before timing),
 * and what they need besides <linux/kho_radix_tree.h> and the keys of
 * kho_radix_keys.h: the C tracker built a second time under other names
 * (kho_radix_cref.c) and a walk of the Rust tracker through a Rust closure
 * (kho_radix.rs).
 */
#ifndef _KHO_RADIX_BENCH_H
#define _KHO_RADIX_BENCH_H

#include <linux/compiler.h>
#include <linux/kho_radix_tree.h>
#include <linux/mm.h>
#include <linux/types.h>

#include "kho_radix_keys.h"

int kho_radix_cref_add_key(struct kho_radix_tree *tree, unsigned long key);
void kho_radix_cref_del_key(struct kho_radix_tree *tree, unsigned long key);
int kho_radix_cref_walk_tree(struct kho_radix_tree *tree,
			     const struct kho_radix_walk_cb *cb, void *data);
int kho_radix_cref_init_tree(struct kho_radix_tree *tree,
			     struct kho_radix_node *root);
void kho_radix_cref_destroy_tree(struct kho_radix_tree *tree);

/* The prefix of the benchmark's KTAP diagnostics. */
#define BENCH "# kho_radix_bench: "

/* At most this many runs per workload, size and tracker ("reps"). */
#define BENCH_MAX_REPS		31

/*
 * The timed loops and the walk callbacks each start a page of their own.
 * QEMU TCG chains translated blocks directly only within one guest page;
 * a call or jump to another page goes through a lookup. Linked next to
 * kho_radix_cref.o, the loops would share a page with the C tracker and
 * call it (and be called back by it) without that lookup, while every call
 * into the Rust tracker paid it. On their own pages, every call between
 * the benchmark and either tracker crosses a page. Costs a few pages of
 * padding in this opt-in code only.
 */
#define BENCH_OWN_PAGE __aligned(PAGE_SIZE)

enum bench_tracker {
	BENCH_C,
	BENCH_RUST,
};

enum bench_input {
	IN_SEQ,
	IN_RAND,
	IN_MIXED,
	IN_RANGES,
	IN_RANGES_RAND,
	IN_SPARSE,
	IN_SCATTERED,
	IN_NR,
};

/*
 * The inputs of one size. For IN_RANGES, vals holds (first pfn, pages)
 * pairs and chunks the number of blocks kho_preserve_pages() makes of them;
 * IN_RANGES_RAND holds the same pairs in random order; the others hold keys.
 */
struct bench_inputs {
	unsigned long *vals[IN_NR];
	unsigned long len[IN_NR];
	unsigned long chunks;
};

/* kho_radix_bench_inputs.c */
int kho_radix_bench_make_inputs(struct bench_inputs *in, unsigned long n);
void kho_radix_bench_free_inputs(struct bench_inputs *in);

/* kho_radix_bench_tlb.c */
int kho_radix_bench_grow_tlb(void);

/* kho_radix_bench.c */
void kho_radix_bench_stats(u64 *ns, unsigned int nr, u64 ops, u64 *min_ps,
			   u64 *med_ps);

/* kho_radix_bench_floors.c */
int kho_radix_bench_read_leaves(enum bench_tracker t,
				struct kho_radix_tree *tree,
				unsigned long nkeys, bool desc, u64 *ns);
void kho_radix_bench_lock_floor(unsigned long n, unsigned int reps);
void kho_radix_bench_node_floor(unsigned int reps);

#endif /* _KHO_RADIX_BENCH_H */
