// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Rust KHO radix tracker's exports, called from a loadable module
 *
 * Test only (CONFIG_KEXEC_HANDOVER_RADIX_RUST_MODTEST=m). The tracker's
 * functions are defined in Rust and exported by kho_radix_glue.c; a driver
 * built as a module reaches them only through those exports, with the C
 * signatures of <linux/kho_radix_tree.h>. Loading this module checks that
 * modpost and the module loader resolve them, and that they work on a
 * private tree: single keys, a page range chunked as kho_preserve_pages()
 * chunks it, reclaiming deletes back to the root alone, and a folio
 * preserved and unpreserved through the KHO API. It prints KTAP lines and
 * "kho_radix_modtest: pass:N fail:M" to the kernel log; its init succeeds
 * either way, so that the log, not the loader, carries the verdict.
 */

#define pr_fmt(fmt) "kho_radix_modtest: " fmt

#include <linux/gfp.h>
#include <linux/kexec_handover.h>
#include <linux/kho_radix_tree.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "../../kho_radix_keys.h"

#define NR_SINGLE_KEYS	64
/* Far above any RAM of the test, so no leaf is shared with the range. */
#define SINGLE_BASE_PFN	BIT(32)
#define RANGE_ORDER	4
#define MAX_CHUNKS	16

/* What a walk saw: keys in order, and the number of nodes. */
struct walk_seen {
	unsigned long keys[NR_SINGLE_KEYS + MAX_CHUNKS];
	unsigned int nr_keys;
	unsigned int nr_nodes;
	bool ascending;
};

static int seen_key(unsigned long key, void *data)
{
	struct walk_seen *s = data;

	if (s->nr_keys && key <= s->keys[s->nr_keys - 1])
		s->ascending = false;
	if (s->nr_keys == ARRAY_SIZE(s->keys))
		return -ENOSPC;
	s->keys[s->nr_keys++] = key;
	return 0;
}

static int seen_node(phys_addr_t phys, void *data)
{
	struct walk_seen *s = data;

	s->nr_nodes++;
	return 0;
}

static const struct kho_radix_walk_cb seen_cb = {
	.leaf = seen_key,
	.node = seen_node,
};

static int walk(struct kho_radix_tree *tree, struct walk_seen *s)
{
	memset(s, 0, sizeof(*s));
	s->ascending = true;
	return kho_radix_walk_tree(tree, &seen_cb, s);
}

static bool seen_has(const struct walk_seen *s, unsigned long key)
{
	unsigned int i;

	for (i = 0; i < s->nr_keys; i++)
		if (s->keys[i] == key)
			return true;
	return false;
}

static unsigned int tests_run, tests_failed;

static void report(bool ok, const char *name, const char *why)
{
	tests_run++;
	if (ok) {
		pr_info("ok %u %s\n", tests_run, name);
		return;
	}
	tests_failed++;
	pr_err("not ok %u %s # %s\n", tests_run, name, why);
}

static unsigned long single_key(unsigned int i)
{
	return kho_block_key(SINGLE_BASE_PFN + 3 * i, 0);
}

/* Single keys at pfns that need not exist: the tree is private. */
static void test_single_keys(struct kho_radix_tree *tree, struct walk_seen *s)
{
	unsigned int i;

	for (i = 0; i < NR_SINGLE_KEYS; i++) {
		if (kho_radix_add_key(tree, single_key(i))) {
			report(false, "single_keys", "kho_radix_add_key() failed");
			return;
		}
	}
	if (walk(tree, s) || s->nr_keys != NR_SINGLE_KEYS || !s->ascending) {
		report(false, "single_keys", "the walk did not see the keys in order");
		return;
	}
	for (i = 0; i < NR_SINGLE_KEYS; i++) {
		if (s->keys[i] != single_key(i)) {
			report(false, "single_keys", "the walk saw another key");
			return;
		}
	}
	report(true, "single_keys", NULL);
}

/*
 * A range inside pages of our own (kho_block_order() asks for their node),
 * unaligned at both ends so that it makes blocks of several orders.
 */
static void test_range(struct kho_radix_tree *tree, struct walk_seen *s,
		       unsigned long start, unsigned long end)
{
	unsigned long pfn, chunks = 0;
	unsigned int order;

	if (kho_radix_add_pfn_range(tree, start, end - start)) {
		report(false, "range", "kho_radix_add_pfn_range() failed");
		return;
	}
	if (walk(tree, s)) {
		report(false, "range", "the walk failed");
		return;
	}
	for (pfn = start; pfn < end; pfn += 1UL << order) {
		order = kho_block_order(pfn, end);
		if (!seen_has(s, kho_block_key(pfn, order))) {
			report(false, "range", "a block of the range is missing");
			return;
		}
		chunks++;
	}
	if (s->nr_keys != NR_SINGLE_KEYS + chunks || chunks < 3) {
		report(false, "range", "the walk saw other keys");
		return;
	}
	report(true, "range", NULL);
}

/* Deleting every key with reclamation leaves the root alone. */
static void test_reclaim(struct kho_radix_tree *tree, struct walk_seen *s,
			 unsigned long start, unsigned long end)
{
	unsigned int i;

	for (i = 0; i < NR_SINGLE_KEYS; i++)
		kho_radix_del_key_reclaim(tree, single_key(i));
	kho_radix_del_pfn_range(tree, start, end - start);
	if (walk(tree, s) || s->nr_keys) {
		report(false, "reclaim", "keys are left");
		return;
	}
	if (s->nr_nodes != 1) {
		report(false, "reclaim", "nodes other than the root are left");
		return;
	}
	report(true, "reclaim", NULL);
}

/* The KHO API, which preserves through the tracker's exports too. */
static void test_kho_folio(void)
{
	struct folio *folio = folio_alloc(GFP_KERNEL, 2);
	int err;

	if (!folio) {
		report(false, "kho_folio", "no memory");
		return;
	}
	err = kho_preserve_folio(folio);
	if (!err)
		kho_unpreserve_folio(folio);
	folio_put(folio);
	report(!err, "kho_folio", "kho_preserve_folio() failed");
}

static int __init kho_radix_modtest_init(void)
{
	struct kho_radix_tree *tree;
	struct walk_seen *seen;
	unsigned long start, end;
	struct page *pages;

	tree = kzalloc_obj(*tree);
	seen = kzalloc_obj(*seen);
	pages = alloc_pages(GFP_KERNEL, RANGE_ORDER);
	if (!tree || !seen || !pages || kho_radix_init_tree(tree, NULL)) {
		pr_err("cannot set up: no memory\n");
		goto out;
	}
	start = page_to_pfn(pages) + 1;
	end = page_to_pfn(pages) + (1UL << RANGE_ORDER) - 2;

	pr_info("KTAP version 1\n");
	pr_info("1..4\n");
	test_single_keys(tree, seen);
	test_range(tree, seen, start, end);
	test_reclaim(tree, seen, start, end);
	test_kho_folio();
	pr_info("pass:%u fail:%u\n", tests_run - tests_failed, tests_failed);
	kho_radix_destroy_tree(tree);
out:
	if (pages)
		__free_pages(pages, RANGE_ORDER);
	kfree(seen);
	kfree(tree);
	return 0;
}
module_init(kho_radix_modtest_init);

static void __exit kho_radix_modtest_exit(void)
{
}
module_exit(kho_radix_modtest_exit);

MODULE_DESCRIPTION("The Rust KHO radix tracker's exports from a module");
MODULE_LICENSE("GPL");
