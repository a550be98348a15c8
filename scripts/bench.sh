#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: the C and the Rust tracker side by side, four ways.
#   1. host:     scripts/bench-host.sh     (native, Rust core vs the 7.3 C code)
#   2. kernel:   scripts/bench-kernel.sh   (both trackers in one booted kernel)
#   3. restore:  scripts/bench-restore.sh  (next kernel's KHO restore, per tracker)
#   4. memblock: scripts/bench-memblock.sh (each tracker's reservation order on
#                the real mm/memblock.c, natively)
# Writes the four tables, with machine and date, to
# $KHO_CACHE/bench/results.md and to Documentation/benchmark-results.md,
# which Documentation/performance.rst quotes. KHO_BENCH_HOST_ARGS is passed
# to the host benchmark (default --quick); see the three scripts for their
# own settings (the restore runs 3 boots per case unless KHO_RESTORE_RUNS
# says otherwise). Took 17 minutes on a warm cache at 61ef27c, 11 at
# ff0dfa8 and 4955942 and 10 at d1042df (2 CPUs), most of it the restore
# step (a kernel build and 18 kexec runs).
. "$(dirname "$0")/common.sh"
lock_cache scripts/bench.sh

out=$KHO_CACHE/bench
mkdir -p "$out"
start=$SECONDS
# Taken now: the results are written after ten minutes of benchmarks.
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

step "1/4 host benchmark"
# shellcheck disable=SC2086 # word splitting of the arguments is wanted
"$REPO_ROOT/scripts/bench-host.sh" ${KHO_BENCH_HOST_ARGS:---quick}
step "2/4 in-kernel benchmark"
"$REPO_ROOT/scripts/bench-kernel.sh"
step "3/4 boot-time restore"
# Three boots per case and tracker: single TCG boots vary by tens of per cent.
KHO_RESTORE_RUNS=${KHO_RESTORE_RUNS:-3} "$REPO_ROOT/scripts/bench-restore.sh"
step "4/4 reservation order on the real memblock, native"
"$REPO_ROOT/scripts/bench-memblock.sh"

{
	echo "# kho-radix-rs benchmark results"
	echo
	echo "Written by \`make bench\` on $(date -u '+%F %H:%M UTC') at commit" \
		"$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)," \
		"on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
		"with $(nproc) CPUs and $(($(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo) / 1048576)) GiB;" \
		"load average before the run: $load_before." \
		"Ratios are Rust/C: below 1 means Rust is faster."
	echo
	echo "## 1. Host: Rust core against the 7.3 C radix code, native"
	echo
	sed '/^# /d' "$out/host.md"
	echo
	echo "## 2. In kernel: both trackers on private trees in one boot"
	echo
	sed '/^### /d' "$out/kernel.md"
	echo
	echo "## 3. Boot-time restore in the next kernel"
	echo
	cat "$out/restore.md"
	echo
	echo "## 4. Reservation order on the real memblock, native"
	echo
	cat "$out/memblock.md"
} >"$out/results.md"
cp "$out/results.md" "$REPO_ROOT/Documentation/benchmark-results.md"
step "all benchmarks done in $((SECONDS - start)) s: $out/results.md, copied to Documentation/benchmark-results.md"
