#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# kho_fdt_ram.c, the validator's questions "is this block RAM" and "is it
# on one node", on the real mm/memblock.c: builds the kernel's memblock
# simulator with NUMA (see memblock-sim.sh) with host/memblock-ram/ram_test.c
# and runs it. Prints the test's KTAP; fails if a case fails.
#
# Usage: test-memblock-ram.sh [SEED]
. "$(dirname "$0")/common.sh"
lock_cache scripts/test-memblock-ram.sh
# With NUMA, so that regions carry node ids (kho_radix_rs_phys_one_node()).
MEMBLOCK_SIM_NUMA=1
. "$REPO_ROOT/scripts/memblock-sim.sh"

dir=$(memblock_sim_build "$KHO_CACHE/memblock-sim-numa")
bin=$KHO_CACHE/memblock-ram/ram_test
mkdir -p "$(dirname "$bin")"
# The shim include directory comes first: it stands in for the kernel's
# <linux/kho_radix_tree.h>, which the pristine source does not have.
# shellcheck disable=SC2086 # the flags and objects are split on purpose
(cd "$dir" && gcc -I"$REPO_ROOT/host/memblock-ram/include" $MEMBLOCK_SIM_CFLAGS \
	-o "$bin" "$REPO_ROOT/host/memblock-ram/ram_test.c" "$REPO_ROOT/kho_fdt_ram.c" \
	$MEMBLOCK_SIM_OBJS -lurcu) >"$bin.build.log" 2>&1 ||
	{ tail -n 20 "$bin.build.log"; die "building ram_test failed"; }
# Not -Werror: the simulator's own headers warn. Ours must not.
if grep -E '(ram_test|kho_fdt_ram)\.c:[0-9]+:[0-9]+: warning' "$bin.build.log"; then
	die "warnings in ram_test.c or kho_fdt_ram.c (log: $bin.build.log)"
fi
"$bin" "$@"
