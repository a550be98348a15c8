// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suite kho_radix_misuse: what the Rust tracker's C entry points do
 * when a caller gets them wrong
 *
 * A call on a tree that kho_radix_init_tree() never set up, a walk without
 * a leaf callback, and the deletion of a key that was never added are bugs
 * of the caller. The tracker refuses them and warns, as the C tracker does.
 * It refuses without a warning a key too wide for the tree, which comes
 * from the page frame the caller was handed, and the statistics of a tree
 * that is not set up or into a null buffer (kho_radix_rs_stats()), which
 * the debugfs file asks of the outgoing tree whenever it is read. The
 * warnings are suppressed here (kunit_warning_suppress()) and counted: a
 * WARNING in the log fails every boot of make check, so without
 * suppression no test could reach these paths.
 *
 * The once-only warnings are C WARN_ON_ONCE()s (kernel::warn_on_once!,
 * patch 0064: BUGFLAG_ONCE), whose budget a suppressed warning does not
 * use up: each call below that warns must warn again.
 */

#include <kunit/test.h>
#include <linux/kho/abi/kexec_handover.h>
#include <linux/kho_radix_tree.h>

#include "kho_radix_keys.h"

static int count_leaf(unsigned long key, void *data)
{
	(*(unsigned int *)data)++;
	return 0;
}

static int count_node(phys_addr_t phys, void *data)
{
	return 0;
}

/*
 * A tree whose root is not set: every call fails with -EINVAL, and each
 * but the statistics warns.
 */
static void rootless_tree_warns_and_fails(struct kunit *test)
{
	const struct kho_radix_walk_cb cb = { .leaf = count_leaf };
	unsigned long key = kho_block_key(1UL << 20, 0);
	struct kho_radix_stats *stats;
	struct kho_radix_tree *tree;
	unsigned int leaves = 0;
	int round;

	tree = kunit_kzalloc(test, sizeof(*tree), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, tree);
	stats = kunit_kzalloc(test, sizeof(*stats), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, stats);

	kunit_warning_suppress(test) {
		for (round = 1; round <= 2; round++) {
			int before = KUNIT_SUPPRESSED_WARNING_COUNT();

			KUNIT_EXPECT_EQ(test, kho_radix_add_key(tree, key), -EINVAL);
			/* Rootless comes first: not -ERANGE. */
			KUNIT_EXPECT_EQ(test, kho_radix_add_key(tree, ~0UL), -EINVAL);
			kho_radix_del_key(tree, key);
			kho_radix_del_key_reclaim(tree, key);
			KUNIT_EXPECT_EQ(test, kho_radix_add_pfn_range(tree, 1UL << 20, 4),
					-EINVAL);
			kho_radix_del_pfn_range(tree, 1UL << 20, 4);
			KUNIT_EXPECT_EQ(test, kho_radix_walk_tree(tree, &cb, &leaves),
					-EINVAL);
			KUNIT_EXPECT_EQ(test, kho_radix_walk_tree_desc(tree, &cb, &leaves),
					-EINVAL);
			/* Statistics are asked for at any time: no warning. */
			KUNIT_EXPECT_EQ(test, kho_radix_rs_stats(tree, stats), -EINVAL);
			/* One warning per call but the last, in either round. */
			KUNIT_EXPECT_EQ_MSG(test, KUNIT_SUPPRESSED_WARNING_COUNT() - before, 8,
					    "round %d", round);
		}
	}
	KUNIT_EXPECT_EQ(test, leaves, 0);
	KUNIT_EXPECT_NULL(test, tree->root);
}

/*
 * A tree that is set up: a too-wide key is -ERANGE without a warning, and a
 * walk without a leaf callback, or with a node callback where none can be
 * served, is -EINVAL with one.
 */
static void bad_arguments_on_a_tree(struct kunit *test)
{
	const struct kho_radix_walk_cb no_leaf = {};
	const struct kho_radix_walk_cb with_node = {
		.leaf = count_leaf, .node = count_node,
	};
	const struct kho_radix_walk_cb cb = { .leaf = count_leaf };
	unsigned long too_wide = 1UL << KHO_RADIX_KEY_WIDTH;
	unsigned long key = kho_block_key(1UL << 20, 0);
	struct kho_radix_stats *stats;
	struct kho_radix_tree *tree;
	unsigned int leaves = 0;

	tree = kunit_kzalloc(test, sizeof(*tree), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, tree);
	stats = kunit_kzalloc(test, sizeof(*stats), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, stats);
	KUNIT_ASSERT_EQ(test, kho_radix_init_tree(tree, NULL), 0);
	KUNIT_ASSERT_EQ(test, kho_radix_add_key(tree, key), 0);

	kunit_warning_suppress(test) {
		KUNIT_EXPECT_EQ(test, kho_radix_add_key(tree, too_wide), -ERANGE);
		KUNIT_EXPECT_EQ(test, kho_radix_add_key(tree, ~0UL), -ERANGE);
		kho_radix_del_key(tree, too_wide);
		kho_radix_del_key_reclaim(tree, ~0UL);
		/* Null arguments of the statistics are refused quietly. */
		KUNIT_EXPECT_EQ(test, kho_radix_rs_stats(tree, NULL), -EINVAL);
		KUNIT_EXPECT_EQ(test, kho_radix_rs_stats(NULL, stats), -EINVAL);
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 0);

		KUNIT_EXPECT_EQ(test, kho_radix_walk_tree_desc(tree, &no_leaf, &leaves),
				-EINVAL);
		KUNIT_EXPECT_EQ(test, kho_radix_walk_tree_desc(tree, &with_node, &leaves),
				-EINVAL);
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 2);
	}
	/* Nothing was walked, and the tree still works. */
	KUNIT_EXPECT_EQ(test, leaves, 0);
	KUNIT_EXPECT_EQ(test, kho_radix_walk_tree(tree, &cb, &leaves), 0);
	KUNIT_EXPECT_EQ(test, leaves, 1);
	KUNIT_EXPECT_EQ(test, kho_radix_rs_stats(tree, stats), 0);
	KUNIT_EXPECT_EQ(test, stats->keys_per_order[0], 1);
	KUNIT_EXPECT_EQ(test, stats->leaves, 1);
	kho_radix_del_key_reclaim(tree, key);
	kho_radix_destroy_tree(tree);
}

/*
 * Deleting a key whose path was never built warns, with or without
 * reclaim; deleting a preserved key, or one whose leaf exists, does not.
 */
static void deleting_a_key_never_added_warns(struct kunit *test)
{
	unsigned long key = kho_block_key(1UL << 20, 0);
	unsigned long far = kho_block_key(1UL << 30, 0);
	unsigned long near = kho_block_key((1UL << 20) + 1, 0);
	struct kho_radix_tree *tree;

	tree = kunit_kzalloc(test, sizeof(*tree), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, tree);
	KUNIT_ASSERT_EQ(test, kho_radix_init_tree(tree, NULL), 0);

	kunit_warning_suppress(test) {
		kho_radix_del_key(tree, far);
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 1);
		kho_radix_del_key_reclaim(tree, far);
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 2);

		KUNIT_EXPECT_EQ(test, kho_radix_add_key(tree, key), 0);
		/* Same leaf, bit clear: C clears it silently too. */
		kho_radix_del_key(tree, near);
		kho_radix_del_key_reclaim(tree, key);
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 2);
		/* The leaf was freed with its last key: the path is gone. */
		kho_radix_del_key_reclaim(tree, key);
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 3);
	}
	kho_radix_destroy_tree(tree);
}

static struct kunit_case kho_radix_misuse_cases[] = {
	KUNIT_CASE(rootless_tree_warns_and_fails),
	KUNIT_CASE(bad_arguments_on_a_tree),
	KUNIT_CASE(deleting_a_key_never_added_warns),
	{}
};

static struct kunit_suite kho_radix_misuse_suite = {
	.name = "kho_radix_misuse",
	.test_cases = kho_radix_misuse_cases,
};

kunit_test_suite(kho_radix_misuse_suite);
