/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stand-in for the kernel's <linux/kho_radix_tree.h> (patch 0021) when
 * kho_fdt_ram.c is built in the memblock simulator: its prototypes, and
 * the section attribute the simulator's headers do not define.
 */
#ifndef _KHO_RADIX_TREE_SHIM_H
#define _KHO_RADIX_TREE_SHIM_H

#include <linux/kconfig.h>	/* IS_ENABLED(), which the kernel's build includes everywhere */
#include <linux/types.h>

#define __ref

bool kho_radix_rs_phys_is_ram(phys_addr_t base, phys_addr_t size);
bool kho_radix_rs_phys_one_node(phys_addr_t base, phys_addr_t size);

/*
 * For ram_test.c: "kernelcore=mirror", defined by the simulator's
 * memblock.o. Without it memblock_mark_mirror() marks nothing.
 */
extern bool mirrored_kernelcore;

#endif /* _KHO_RADIX_TREE_SHIM_H */
