// SPDX-License-Identifier: GPL-2.0-only
/*
 * Statistics of the KHO preserved-memory radix tree in debugfs
 *
 * /sys/kernel/debug/kho/radix_stats describes the tree of the memory
 * preserved for the next kernel, one "name value" pair per line:
 *
 *   tracker rust
 *   order <n> <blocks>      one line per order that has preserved blocks
 *   preserved_pages <n>     pages covered by all preserved blocks
 *   preserved_bytes <n>
 *   tables <n>              table nodes, the root included
 *   leaves <n>              bitmap nodes
 *   metadata_bytes <n>      (tables + leaves) * PAGE_SIZE
 *
 * The numbers are a consistent snapshot taken under the tree lock.
 */

#include <linux/debugfs.h>
#include <linux/init.h>
#include <linux/kho_radix_tree.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

static int kho_radix_stats_show(struct seq_file *m, void *v)
{
	struct kho_radix_tree *tree = kho_out_radix_tree();
	struct kho_radix_stats *stats;
	u64 pages = 0;
	int order, err;

	if (!tree)
		return -ENODEV;

	stats = kzalloc_obj(*stats, GFP_KERNEL);
	if (!stats)
		return -ENOMEM;

	err = kho_radix_rs_stats(tree, stats);
	if (err)
		goto out;

	seq_puts(m, "tracker rust\n");
	for (order = 0; order < ARRAY_SIZE(stats->keys_per_order); order++) {
		if (!stats->keys_per_order[order])
			continue;
		seq_printf(m, "order %d %llu\n", order,
			   stats->keys_per_order[order]);
		pages += stats->keys_per_order[order] << order;
	}
	seq_printf(m, "preserved_pages %llu\n", pages);
	seq_printf(m, "preserved_bytes %llu\n", pages << PAGE_SHIFT);
	seq_printf(m, "tables %llu\n", stats->tables);
	seq_printf(m, "leaves %llu\n", stats->leaves);
	seq_printf(m, "metadata_bytes %llu\n",
		   (stats->tables + stats->leaves) << PAGE_SHIFT);
out:
	kfree(stats);
	return err;
}
DEFINE_SHOW_ATTRIBUTE(kho_radix_stats);

static int __init kho_radix_stats_init(void)
{
	struct dentry *dir;

	if (!IS_ENABLED(CONFIG_KEXEC_HANDOVER_DEBUGFS) || !kho_out_radix_tree())
		return 0;

	dir = debugfs_lookup("kho", NULL);
	if (IS_ERR_OR_NULL(dir)) {
		pr_warn("KHO: no kho debugfs directory, radix_stats not created\n");
		return 0;
	}
	debugfs_create_file("radix_stats", 0444, dir, NULL,
			    &kho_radix_stats_fops);
	dput(dir);
	return 0;
}
late_initcall(kho_radix_stats_init);
