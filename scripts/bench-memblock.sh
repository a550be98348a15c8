#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The reservation order of the next kernel's KHO restore, natively, on the
# real mm/memblock.c: builds the kernel's memblock simulator
# (tools/testing/memblock of the pristine 7.3 source, without its
# sanitizers) with host/memblock-order/order_bench.c and times N scattered
# blocks reserved in ascending order (the C tracker's walk) and descending
# order (the Rust tracker's, patch 0052). The restore benchmark measures the
# same under QEMU TCG; this says what the order is worth on hardware.
# Writes a markdown table to $KHO_CACHE/bench/memblock.md and stdout.
#
# Environment: KHO_MEMBLOCK_SIZES (default "4096 16384 65536"),
# KHO_MEMBLOCK_RUNS (default 3; the table gives the minimum),
# KHO_MEMBLOCK_BSEARCH=1: apply host/memblock-order/memblock-bsearch.patch
# (not upstream: a binary search for the first region above a new block)
# to the simulator's memblock.c, and write memblock-bsearch.md instead.
# make bench runs the stock memblock only.
. "$(dirname "$0")/common.sh"
lock_cache scripts/bench-memblock.sh

sizes=${KHO_MEMBLOCK_SIZES:-4096 16384 65536}
runs=${KHO_MEMBLOCK_RUNS:-3}
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "KHO_MEMBLOCK_RUNS must be a positive number, not '$runs'"
bsearch=${KHO_MEMBLOCK_BSEARCH:-0}
out_dir=$KHO_CACHE/bench
sim=$KHO_CACHE/memblock-sim table=memblock variant="the stock mm/memblock.c"
if [ "$bsearch" = 1 ]; then
	sim=$KHO_CACHE/memblock-sim-bsearch table=memblock-bsearch
	variant="mm/memblock.c with host/memblock-order/memblock-bsearch.patch (not upstream)"
fi
mkdir -p "$out_dir"
. "$REPO_ROOT/scripts/memblock-sim.sh"

patch=
[ "$bsearch" != 1 ] || patch=$REPO_ROOT/host/memblock-order/memblock-bsearch.patch
dir=$(memblock_sim_build "$sim" ${patch:+"$patch"})
step "building order_bench against $variant"
# shellcheck disable=SC2086 # the object list is split on purpose
(cd "$dir" && gcc $MEMBLOCK_SIM_CFLAGS -o order_bench "$REPO_ROOT/host/memblock-order/order_bench.c" \
	$MEMBLOCK_SIM_OBJS -lurcu) >"$out_dir/memblock-build.log" 2>&1 ||
	{ tail -n 20 "$out_dir/memblock-build.log"; die "building order_bench failed"; }

# Minimum time over the runs of one case, in ns.
best() {
	local n=$1 order=$2 r t min=
	for ((r = 1; r <= runs; r++)); do
		t=$("$dir/order_bench" "$n" "$order" | awk '{ print $3 }') ||
			die "order_bench $n $order failed"
		[[ $t =~ ^[0-9]+$ ]] || die "order_bench $n $order printed no time"
		if [ -z "$min" ] || [ "$t" -lt "$min" ]; then
			min=$t
		fi
	done
	echo "$min"
}

{
	echo "Native, $variant of Linux $LINUX_VER built by its simulator" \
		"(tools/testing/memblock, gcc -O2), on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//');"
	echo "N order-0 blocks, one page in four, each memblock_reserve() +"
	echo "memblock_reserved_mark_noinit() as the next kernel's reservation walk does;"
	echo "minimum of $runs runs per cell; $(date -u +%Y-%m-%d)."
	echo
	echo "| blocks | ascending (C tracker's walk) ms | descending (Rust tracker's walk) ms | descending / ascending |"
	echo "|--:|--:|--:|--:|"
	for n in $sizes; do
		step "memblock order: $n blocks" >&2
		asc=$(best "$n" asc)
		desc=$(best "$n" desc)
		awk -v n="$n" -v a="$asc" -v d="$desc" \
			'BEGIN { printf "| %d | %.2f | %.2f | %.2f |\n", n, a / 1e6, d / 1e6, d / a }'
	done
} >"$out_dir/$table.md.tmp"
mv "$out_dir/$table.md.tmp" "$out_dir/$table.md"
cat "$out_dir/$table.md"
step "table written to $out_dir/$table.md"
