# SPDX-License-Identifier: GPL-2.0
#
# Kbuild file of kernel/liveupdate/kho_radix_rs/ when copied into the kernel
# tree, and the project's top-level makefile otherwise.

ifneq ($(KERNELRELEASE),)

obj-$(CONFIG_KEXEC_HANDOVER_RADIX_RUST) += kho_radix.o kho_radix_glue.o
obj-$(CONFIG_KEXEC_HANDOVER_RADIX_RUST_BENCH) += kho_radix_bench.o \
	kho_radix_bench_inputs.o kho_radix_bench_floors.o kho_radix_bench_tlb.o
obj-$(CONFIG_KEXEC_HANDOVER_RESTORE_BENCH) += kho_restore_bench.o
obj-$(CONFIG_KEXEC_HANDOVER_RADIX_RUST) += kho_fdt_glue.o kho_fdt_ram.o
obj-$(CONFIG_KEXEC_HANDOVER_RADIX_RUST) += kho_radix_stats.o
obj-$(CONFIG_KEXEC_HANDOVER_RADIX_RUST_CORRUPT_TEST) += kho_radix_corrupt.o
obj-$(CONFIG_KEXEC_HANDOVER_RADIX_RUST_KUNIT) += kho_radix_glue_kunit.o \
	kho_radix_misuse_kunit.o
obj-$(CONFIG_KEXEC_HANDOVER_RADIX_RUST_SELFTEST) += selftests/kernel/
obj-$(CONFIG_KEXEC_HANDOVER_RADIX_RUST_MODTEST) += selftests/kernel/
# The benchmark kernel only: every function of the Rust tracker starts a
# page of its own, so that none crosses a 4 KiB page boundary whatever the
# code before it compiles to. Under QEMU TCG each crossing costs a block
# lookup, and which function crossed one changed with every edit of the
# crate (Documentation/performance.rst, "Caveats").
RUSTFLAGS_kho_radix.o += $(if $(CONFIG_KEXEC_HANDOVER_RADIX_RUST_BENCH),-Cllvm-args=-align-all-functions=12)
# Last, in this order: the benchmark kernel's code layout anchor fixes where
# the C reference and all code linked after it lie within their pages (see
# kho_radix_bench_layout.c).
obj-$(CONFIG_KEXEC_HANDOVER_RADIX_RUST_BENCH) += kho_radix_bench_layout.o
obj-$(CONFIG_KEXEC_HANDOVER_RADIX_RUST_CREF) += kho_radix_cref.o

else

# host-side targets: see scripts/ (filled in by the workbench)
include $(dir $(lastword $(MAKEFILE_LIST)))scripts/workbench.mk

endif
