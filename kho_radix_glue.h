/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the KUnit suite of kho_radix_glue.c (kho_radix_glue_kunit.c) calls
 * or replaces inside it: functions that are static in a kernel without
 * KUnit (VISIBLE_IF_KUNIT).
 */
#ifndef _KHO_RADIX_GLUE_H
#define _KHO_RADIX_GLUE_H

#include <linux/types.h>

struct page;

#if IS_ENABLED(CONFIG_KUNIT)
unsigned int kho_radix_rs_alloc_bulk(unsigned int nr, struct page **pages);
#endif

#endif /* _KHO_RADIX_GLUE_H */
