// SPDX-License-Identifier: GPL-2.0-only
/*
 * Code layout anchor of the KHO radix benchmark kernel
 *
 * QEMU TCG chains translated blocks directly only within one 4 KiB guest
 * page, so under it a hot loop that straddles a page boundary runs several
 * times slower. Which functions straddle one depends on everything linked
 * before them: a few bytes more in the Rust tracker or in the benchmark
 * moved the C reference and kernel functions both trackers call
 * (mutex_lock(), _find_next_bit()) across boundaries, and turned the C
 * tracker's sparse walk seven times slower from one build to the next.
 *
 * This object is linked after everything else of the directory that changes
 * and right before kho_radix_cref.o (see the Makefile). Its text is one
 * page-aligned function of a fixed size, so the C reference and all the
 * kernel code linked after it keep their offsets within their pages
 * whatever the Rust tracker and the benchmark compile to. Only built with
 * CONFIG_KEXEC_HANDOVER_RADIX_RUST_BENCH.
 */

#include <linux/compiler.h>
#include <asm/page.h>

static void __used __aligned(PAGE_SIZE) kho_radix_bench_layout_anchor(void)
{
}
