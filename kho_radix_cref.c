// SPDX-License-Identifier: GPL-2.0-only
/*
 * The C KHO radix tracker as a reference for the KUnit suites
 *
 * With CONFIG_KEXEC_HANDOVER_RADIX_RUST the kho_radix_*() functions are the
 * Rust ones and the C implementation in kernel/liveupdate/kho_radix_c.h is
 * not built. The KUnit suites in kho_radix_kunit.rs compare the two, so this
 * file builds the unchanged C code a second time under other names:
 * kho_radix_cref_add_key(), kho_radix_cref_del_key(),
 * kho_radix_cref_walk_tree(), kho_radix_cref_init_tree() and
 * kho_radix_cref_destroy_tree(), with the prototypes of
 * <linux/kho_radix_tree.h>.
 *
 * Only built with CONFIG_KEXEC_HANDOVER_RADIX_RUST_KUNIT or
 * CONFIG_KEXEC_HANDOVER_RADIX_RUST_BENCH (kho_radix_bench.c).
 */

/* Rename before any header declares the functions. */
#define kho_radix_add_key	kho_radix_cref_add_key
#define kho_radix_del_key	kho_radix_cref_del_key
#define kho_radix_walk_tree	kho_radix_cref_walk_tree
#define kho_radix_init_tree	kho_radix_cref_init_tree
#define kho_radix_destroy_tree	kho_radix_cref_destroy_tree

#define pr_fmt(fmt) "KHO C reference: " fmt

#include <linux/printk.h>

/*
 * kho_radix_init_tree() announces the tracker in use ("preserved-memory radix
 * tracker: C"); this copy is not the tracker of this kernel, so stay quiet.
 */
#undef pr_info_once
#define pr_info_once(fmt, ...) no_printk(fmt, ##__VA_ARGS__)

/*
 * The tracker's kho_radix_*() are exported; this copy is only for the tests
 * and the benchmark built into this kernel, so export none of it.
 */
#include <linux/export.h>
#undef EXPORT_SYMBOL_GPL
#define EXPORT_SYMBOL_GPL(sym)

#include "../kho_radix_c.h"
