#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# A tripwire for performance regressions of the in-kernel benchmark, for
# `make check`: builds the bench-rust kernel, boots it with the benchmark
# up to 1048576 pages, three runs per tracker, and fails if a row's Rust/C
# ratio of minima at its size (65536 pages, KHO_TRIPWIRE_N, unless its
# limit below names another) is above its limit below. The
# limits sit well above what every `make bench` run measured
# (Documentation/performance.rst), and below what a regression like the
# one of 7533330 (the per-page preserve at 1.12 of C instead of 0.67)
# measures. They are not the targets: `make bench` measures those, at
# full size over three boots.
#
# About one boot in forty, a row or two of one tracker run 10-50 ns per
# operation slower than in the other boots of the same image (a delete row
# at 1.50, 1.60 or 2.11 of C instead of 0.95). It is not the layout KASLR
# draws (nokaslr boots do it too) nor QEMU's software TLB (the benchmark
# grows it, kho_radix_bench_tlb.c, and they still do). A regression in the
# code is slower in every boot, so a tripped row boots the kernel again,
# up to KHO_TRIPWIRE_BOOTS (default 3) boots in all, and fails only if it
# is over its limit in every one.
#
# Usage: bench-tripwire.sh LOG; boots after the first log to LOG.2, LOG.3.
# bench-tripwire.sh --judge LOG... judges the rows of serial logs that
# earlier boots wrote, as if each were one boot, without building or
# booting anything (make check tests the verdict that way).
# KHO_TRIPWIRE_SCALE (default 1) multiplies every limit; below 1 it shows
# that the tripwire can fail.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/bench-kernel-boot.sh"

usage="usage: bench-tripwire.sh LOG | --judge LOG..."
judge_only=0
if [ "${1:-}" = --judge ]; then
	judge_only=1
	shift
fi
log=${1:?$usage}
n=${KHO_TRIPWIRE_N:-65536}
scale=${KHO_TRIPWIRE_SCALE:-1}
boots=${KHO_TRIPWIRE_BOOTS:-3}
[[ $boots =~ ^[1-9][0-9]*$ ]] || die "KHO_TRIPWIRE_BOOTS must be a positive number, not '$boots'"

# Row, limit and, if not $n, size: the rows of the per-page, range and
# walk paths whose ratio is stable from boot to boot (0.04-0.96 in every
# run at 65536 pages), each limit 0.15-0.25 above the highest measured.
# At 1048576 pages, the ranges deleted in random order: their parked
# witnesses (patch 0058) took them from 0.96-1.01 to 0.61-0.64 of C, a
# gain the row at 65536 pages does not show (0.74-0.78, then 0.78-0.81
# once the kernel's range delete took the table path). The single-key
# deletes in random order read a witness since the kernel took the host's
# path (natively about twice as fast in random order), which costs about
# 5 ns per delete under TCG: 1.05-1.11 of C instead of 0.91-0.95.
limits="preserve_seq 0.85
preserve_random 0.85
preserve_mixed_orders 0.90
preserve_ranges 0.55
unpreserve_ranges 0.95
unpreserve_ranges_random 1.00
unpreserve_seq 1.15
unpreserve_random 1.30
del_key_random 1.15
walk_dense 0.70
walk_dense_closure 0.20
walk_sparse 0.70
walk_sparse_closure 0.70
walk_sparse_restore 0.70
unpreserve_ranges_random 0.80 1048576"
# The benchmark's largest size: it runs every size up to it.
max_n=$(awk -v n="$n" '{ m = $3 == "" ? n : $3; if (m > max) max = m } END { print max }' <<<"$limits")

# Judges the rows of every boot so far on stdin: each row by its lowest
# Rust/C ratio over those boots.
judge() {
	LIMITS=$limits awk -v n="$n" -v scale="$scale" '
	BEGIN {
		m = split(ENVIRON["LIMITS"], l, "\n")
		for (i = 1; i <= m; i++) {
			split(l[i], f, " ")
			key[i] = f[1] " " (f[3] == "" ? n : f[3])
			limit[key[i]] = f[2] * scale
		}
	}
	{
		delete v
		for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		k = $1 " " v["n"]
		if (!(k in limit) || v["c_min_ps"] <= 0)
			next
		r = v["rs_min_ps"] / v["c_min_ps"]
		if (!(k in best) || r < best[k]) {
			best[k] = r
			c_ns[k] = v["c_min_ps"] / 1000
			rs_ns[k] = v["rs_min_ps"] / 1000
		}
	}
	END {
		for (i = 1; i <= m; i++) {
			k = key[i]
			split(k, f, " ")
			if (!(k in best)) {
				printf "no row %s at n=%s with a time for C\n", f[1], f[2]
				bad++
				continue
			}
			over = best[k] > limit[k]
			printf "%s %s n=%s: Rust/C %.2f, limit %.2f (C %.1f ns, Rust %.1f ns)\n",
				over ? "TRIPPED" : "ok", f[1], f[2], best[k], limit[k], c_ns[k], rs_ns[k]
			bad += over
		}
		exit (bad > 0)
	}'
}

if [ "$judge_only" = 1 ]; then
	for boot_log; do
		bench_rows "$boot_log"
	done | judge
	exit
fi

kernel=$("$REPO_ROOT/scripts/build-kernel.sh" bench-rust)
all_rows=
for boot in $(seq "$boots"); do
	boot_log=$log
	[ "$boot" -eq 1 ] || boot_log=$log.$boot
	bench_boot "$kernel" "$boot_log" "$max_n" 3 || exit 1
	rows=$(bench_rows "$boot_log")
	[ -n "$rows" ] || die "no benchmark rows in $boot_log"
	all_rows+=$rows$'\n'
	verdict=$(judge <<<"$all_rows") && { echo "$verdict"; exit 0; }
	[ "$boot" -lt "$boots" ] || break
	step "over a limit in all of $boot boot(s), booting again (a regression is over it in every boot):"
	grep -v '^ok ' <<<"$verdict" >&2
done
echo "$verdict"
exit 1
