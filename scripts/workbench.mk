# SPDX-License-Identifier: GPL-2.0
# Host-side targets of the top-level Makefile (the part that is not Kbuild).

WB := $(dir $(lastword $(MAKEFILE_LIST)))

.PHONY: all run check check-kasan check-miri check-uml check-cross bench deps kernel host-test clean help
all: help

help:
	@echo "make run    - build the Rust-tracker kernel, boot it under QEMU, kexec, summarise"
	@echo "make check  - every test (host crate, kernels, QEMU kexec round trips), KTAP output"
	@echo "make check-kasan - the Rust-tracker kernel built with clang and KASAN, booted (not in check)"
	@echo "make check-miri - the host tests under Miri, for undefined behaviour (not in check)"
	@echo "make check-uml - patch 0064's warn_on_once! on UML, in the kernel crate's doctests (not in check)"
	@echo "make check-cross - the same on ARMv7 (clang, qemu-system-arm), and built for LoongArch (not in check)"
	@echo "make bench  - C and Rust trackers side by side: host, in-kernel, boot-time restore (markdown)"
	@echo "make deps   - install/fetch the pinned toolchain pieces and kernel source only"
	@echo "make kernel FLAVOUR=rust-tracker|c-tracker - build one test kernel"
	@echo "make host-test - the host crate's tests only (cargo test), no kernel"
	@echo "make clean  - remove the kernel build directories and the warn_on_once! probes' tree copy; downloads stay"
	@echo "Cache: \$$KHO_CACHE (default ~/.cache/kho-radix-rs); own tree: KERNEL_SRC=/path"

deps:
	@bash $(WB)fetch-deps.sh

run: deps
	@bash $(WB)run.sh

check: deps
	@bash $(WB)check.sh

# Not part of check: the clang build takes 6-15 minutes from scratch on
# the 2-core machines (14.5 on a slow day, Documentation/testing.rst),
# which would take a fresh machine's check past its 45 minutes then.
check-kasan:
	@bash $(WB)fetch-deps.sh --clang
	@bash $(WB)check.sh build_rust_kasan kasan_boots kasan_interop kasan_corrupt

# Not part of check either: Miri needs a nightly toolchain and a component
# downloaded for it, and interprets the tests thousands of times slower.
check-miri: deps
	@bash $(WB)fetch-deps.sh --miri
	@bash $(WB)check.sh miri_host

# Not part of check: it copies the kernel tree a second time and builds a
# UML kernel, about 4 minutes from scratch, for the few lines of patch
# 0064 that only UML, LoongArch and ARM compile.
check-uml: deps
	@bash $(WB)check.sh warn_on_once_uml

# Not part of check: the same probe on ARMv7, built by clang and booted on
# QEMU's virt board, and built for LoongArch: several minutes each from
# scratch, and two more packages.
check-cross: deps
	@bash $(WB)fetch-deps.sh --cross
	@bash $(WB)check.sh warn_on_once_arm warn_on_once_loongarch

bench: deps
	@bash $(WB)bench.sh

kernel: deps
	@bash $(WB)build-kernel.sh $(or $(FLAVOUR),rust-tracker)

# The host crate's tests as check.sh's host_crate runs them: the pinned
# toolchain, the locked dependencies, and the kernel source that
# host/kho-radix-bench/build.rs compiles the C radix code out of.
host-test: deps
	@bash -c '. $(WB)common.sh && cd "$$REPO_ROOT/host" && \
		export KHO_LINUX_SRC=$${KHO_LINUX_SRC:-$${KERNEL_SRC:-$$LINUX_PRISTINE}} && \
		cargo +"$$RUST_TOOLCHAIN" test --locked'

# Under the cache's lock: a build or test running on it must not lose
# its build directory halfway.
clean:
	@bash -c '. $(WB)common.sh && lock_cache "make clean" && \
		echo "removing build directories under $$KHO_CACHE" && \
		rm -rf "$$KHO_CACHE"/build-* "$$KHO_CACHE"/linux-tree-probe'
