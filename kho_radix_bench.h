/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What kho_radix_bench.c needs besides <linux/kho_radix_tree.h>: the C
 * tracker built a second time under other names (kho_radix_cref.c) and a
 * walk of the Rust tracker through a Rust closure (kho_radix.rs).
 */
#ifndef _KHO_RADIX_BENCH_H
#define _KHO_RADIX_BENCH_H

#include <linux/kho_radix_tree.h>
#include <linux/types.h>

int kho_radix_cref_add_key(struct kho_radix_tree *tree, unsigned long key);
void kho_radix_cref_del_key(struct kho_radix_tree *tree, unsigned long key);
int kho_radix_cref_walk_tree(struct kho_radix_tree *tree,
			     const struct kho_radix_walk_cb *cb, void *data);
int kho_radix_cref_init_tree(struct kho_radix_tree *tree,
			     struct kho_radix_node *root);
void kho_radix_cref_destroy_tree(struct kho_radix_tree *tree);

int kho_radix_rs_bench_walk_closure(struct kho_radix_tree *tree, u64 *count,
				    u64 *sum);

#endif /* _KHO_RADIX_BENCH_H */
