#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# A tripwire for performance regressions of the in-kernel benchmark, for
# `make check`: builds the bench-rust kernel, boots it once with the
# benchmark at 65536 pages (KHO_TRIPWIRE_N), three runs per tracker, and
# fails if a row's Rust/C ratio of minima at that size is above its limit
# below. The limits sit well above what every `make bench` run measured
# (Documentation/performance.rst), so boot-to-boot noise under TCG does not
# trip them, and below what a regression like the one of 7533330 (the
# per-page preserve at 1.12 of C instead of 0.67) measures. They are not
# the targets: `make bench` measures those, at full size over three boots.
#
# Usage: bench-tripwire.sh LOG. KHO_TRIPWIRE_SCALE (default 1) multiplies
# every limit; below 1 it shows that the tripwire can fail.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/bench-kernel-boot.sh"

log=${1:?usage: bench-tripwire.sh LOG}
n=${KHO_TRIPWIRE_N:-65536}
scale=${KHO_TRIPWIRE_SCALE:-1}

# Row and limit: the rows of the per-page, range and walk paths whose
# ratio is stable from boot to boot (0.04-0.96 in every run at 65536
# pages), each limit 0.15-0.25 above the highest measured.
limits="preserve_seq 0.85
preserve_random 0.85
preserve_mixed_orders 0.90
preserve_ranges 0.55
unpreserve_ranges 0.95
unpreserve_ranges_random 1.00
unpreserve_seq 1.15
unpreserve_random 1.15
del_key_random 1.15
walk_dense 0.70
walk_dense_closure 0.20
walk_sparse 0.70
walk_sparse_closure 0.70
walk_sparse_restore 0.70"

kernel=$("$REPO_ROOT/scripts/build-kernel.sh" bench-rust)
bench_boot "$kernel" "$log" "$n" 3 || exit 1
rows=$(bench_rows "$log")
[ -n "$rows" ] || die "no benchmark rows in $log"
LIMITS=$limits awk -v n="$n" -v scale="$scale" '
BEGIN {
	m = split(ENVIRON["LIMITS"], l, "\n")
	for (i = 1; i <= m; i++) {
		split(l[i], f, " ")
		limit[f[1]] = f[2] * scale
	}
}
{
	delete v
	for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	if (v["n"] != n || !($1 in limit))
		next
	seen[$1] = 1
	if (v["c_min_ps"] <= 0) {
		printf "%s: C measured no time\n", $1
		bad++
		next
	}
	r = v["rs_min_ps"] / v["c_min_ps"]
	over = r > limit[$1]
	printf "%s %s n=%s: Rust/C %.2f, limit %.2f (C %.1f ns, Rust %.1f ns)\n",
		over ? "TRIPPED" : "ok", $1, n, r, limit[$1], v["c_min_ps"] / 1000, v["rs_min_ps"] / 1000
	bad += over
}
END {
	for (k in limit)
		if (!(k in seen)) {
			printf "no row %s at n=%s\n", k, n
			bad++
		}
	exit (bad > 0)
}' <<<"$rows"
