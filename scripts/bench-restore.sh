#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Time the KHO restore in the second kernel of a kexec, for the C and the
# Rust tracker: builds the bench-c and bench-rust kernels, boots each under
# QEMU with "kho_restore_bench.pages=K kho_restore_bench.stride=S" (the first
# boot preserves K order-0 pages, one in every S pages, see
# kho_restore_bench.c), kexecs into the same kernel and reads the second
# boot's "KHO: restore:" line (patch 0051). Writes a markdown table to
# $KHO_CACHE/bench/restore.md and stdout.
#
# Environment:
#   KHO_RESTORE_PAGES    K of the main cases (default 65536)
#   KHO_RESTORE_CASES    "K/S ..." to run instead of the default
#                        "K/4 K/1 4096/4" (the last one only if K != 4096)
#   KHO_RESTORE_RUNS     boots per case and tracker; the table shows the
#                        median of each column (default 1)
#   KHO_RESTORE_MEM      guest memory (default 6G; K*S*4 KiB must fit)
#   KHO_RESTORE_TIMEOUT  limit for the whole script in seconds, builds
#                        included (default 1800)
#   KHO_QEMU_TIMEOUT     limit for each QEMU run in seconds (default 240)
#   KHO_QEMU_NO_THP      1 (default) runs QEMU without transparent huge
#                        pages, 0 with them (see scripts/without-thp.py)
. "$(dirname "$0")/common.sh"
lock_cache scripts/bench-restore.sh

if [ -z "${KHO_RESTORE_UNDER_TIMEOUT:-}" ]; then
	export KHO_RESTORE_UNDER_TIMEOUT=1
	exec timeout --foreground -k 10 "${KHO_RESTORE_TIMEOUT:-1800}" bash "$0" "$@"
fi

pages=${KHO_RESTORE_PAGES:-65536}
cases=${KHO_RESTORE_CASES:-"$pages/4 $pages/1"}
[ -n "${KHO_RESTORE_CASES:-}" ] || [ "$pages" = 4096 ] || cases="$cases 4096/4"
runs=${KHO_RESTORE_RUNS:-1}
mem=${KHO_RESTORE_MEM:-6G}
# Without it, QEMU's first write into each new 2 MiB of its translated-code
# buffer stalls it for about 5 ms, and in most Rust boots of one build that
# landed in the measured restore (without-thp.py has the details).
export KHO_QEMU_NO_THP=${KHO_QEMU_NO_THP:-1}
qtimeout=${KHO_QEMU_TIMEOUT:-240}
out=$KHO_CACHE/bench
logs=$out/restore-logs
mkdir -p "$logs"
for c in $cases; do
	[[ $c =~ ^[1-9][0-9]*/[1-9][0-9]*$ ]] || die "bad case '$c' (want PAGES/STRIDE)"
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "KHO_RESTORE_RUNS must be a positive number"

declare -A image
for t in c rust; do
	image[$t]=$("$REPO_ROOT/scripts/build-kernel.sh" "bench-$t") ||
		die "building the bench-$t kernel failed"
done

# The median of the numbers on stdin.
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# The minimum of the numbers on stdin.
minimum() { sort -n | head -n 1; }

# run TRACKER PAGES STRIDE RUN: one boot; prints "blocks early walk total
# validation" (validation: the Rust tracker's check of the incoming tree,
# part of early; 0 for the C tracker, which has none).
# Under TCG the second kernel sometimes fails to calibrate the TSC ("tsc:
# Unable to calibrate against PIT"); its early clock then reads 0 and the
# boot is retried, up to 3 times. qemu-kexec.sh passes the host's TSC
# frequency (tsc_early_khz=, inherited by the second kernel), which avoids
# the calibration where the host's TSC could be measured.
run() {
	local t=$1 k=$2 s=$3 n=$4 try
	for try in 1 2 3; do
		run_once "$t" "$k" "$s" "$n" "$try" && return 0
		step "[$t] no calibrated TSC in the second boot (try $try); retrying"
	done
	die "[$t] the second kernel never calibrated its TSC; no usable timing"
}

# run_once TRACKER PAGES STRIDE RUN TRY: as run(); fails if the timing is 0.
run_once() {
	local t=$1 k=$2 s=$3 n=$4 try=$5 log line second val
	log=$logs/$t-$k-$s-$n.log
	step "[$t] $k pages, stride $s, run $n, try $try (log: $log)"
	"$REPO_ROOT/scripts/qemu-kexec.sh" --first "${image[$t]}" --log "$log" \
		--append "kho_restore_bench.pages=$k kho_restore_bench.stride=$s" \
		--mem "$mem" --timeout "$qtimeout" \
		--expect-first "kho_restore_bench: preserved $k order-0 pages" \
		--expect "KHO: restore:" >&2 ||
		die "[$t] the boot with $k pages (stride $s) failed; see $log"
	second=$(tr -d '\r' <"$log" | sed -n '/kho-init: kexec loaded/,$p')
	line=$(grep -m1 'KHO: restore:' <<<"$second")
	grep -q 'tsc: Detected' <<<"$second" || return 1
	val=$(sed -nE 's/.*KHO: preserved-memory tree validated: .*\(([0-9]+) ns, .*/\1/p' <<<"$second")
	sed -nE 's/.*KHO: restore: ([0-9]+) preserved blocks, map retrieval and checks ([0-9]+) ns, reservation walk ([0-9]+) ns, total ([0-9]+) ns.*/\1 \2 \3 \4/p' <<<"$line" |
		grep . | sed "s/\$/ ${val:-0}/" ||
		die "[$t] cannot parse the restore line in $log: '$line'"
}

# The TSC frequency the second kernel timed with (last "tsc: Detected").
tsc_mhz() {
	tr -d '\r' <"$1" | sed -n '/kho-init: kexec loaded/,$p' |
		sed -nE 's/.*tsc: Detected ([0-9.]+) MHz.*/\1/p' | tail -n 1
}

ratio() { awk -v r="$1" -v c="$2" 'BEGIN { if (c > 0) printf "%.2f", r / c; else print "-" }'; }

start=$SECONDS
rows=()
declare -A res low
for c in $cases; do
	k=${c%/*} s=${c#*/}
	for t in c rust; do
		results=()
		for n in $(seq 1 "$runs"); do
			results+=("$(run "$t" "$k" "$s" "$n")")
		done
		vals=() mins=()
		for col in 1 2 3 4 5; do
			vals+=("$(printf '%s\n' "${results[@]}" | cut -d' ' -f$col | median)")
			mins+=("$(printf '%s\n' "${results[@]}" | cut -d' ' -f$col | minimum)")
		done
		res[$t]="${vals[*]}"
		low[$t]="${mins[*]}"
		rows+=("| $t | $k | $s | ${vals[0]} | ${vals[1]} | ${vals[4]/#0/-} | ${vals[2]} | ${vals[3]} |")
	done
	read -r _ ce cw ctot _ <<<"${res[c]}"
	read -r _ re rw rtot _ <<<"${res[rust]}"
	rows+=("| Rust/C | $k | $s | | $(ratio "$re" "$ce") | | $(ratio "$rw" "$cw") | $(ratio "$rtot" "$ctot") |")
	if [ "$runs" -gt 1 ]; then
		read -r _ ce cw ctot _ <<<"${low[c]}"
		read -r _ re rw rtot _ <<<"${low[rust]}"
		rows+=("| Rust/C of minima | $k | $s | | $(ratio "$re" "$ce") | | $(ratio "$rw" "$cw") | $(ratio "$rtot" "$ctot") |")
	fi
done
first=${cases%% *}
mhz=$(tsc_mhz "$logs/rust-${first%/*}-${first#*/}-1.log")

{
	echo "# KHO restore time in the second kernel, C vs Rust tracker"
	echo
	if [ "$KHO_QEMU_NO_THP" = 1 ]; then
		thp="without transparent huge pages"
	else
		thp="with transparent huge pages"
	fi
	echo "QEMU TCG (-cpu max) $thp, $mem guest, TSC ${mhz:-unknown} MHz as detected by the"
	echo "second kernel; kernels bench-c and bench-rust (no DEBUG_VM, no lockdep);"
	echo "median of $runs boot(s) per row; $(date -u +%Y-%m-%d)."
	echo "The first boot preserves *pages* order-0 pages, one in every *stride*;"
	echo "*blocks* is what the second kernel's walk reserved (those plus the few"
	echo "that test_kho and KHO itself preserve). *retrieval+checks* is"
	echo "kho_memory_init_early() (map retrieval, the Rust tracker's validation,"
	echo "init_tree, scratch extension), *validation* the part of it that the"
	echo "Rust tracker spends validating the incoming tree (its own log line),"
	echo "*walk* the reservation walk of kho_mem_retrieve(). Under TCG, and with"
	echo "other work on the host, single runs vary by tens of per cent."
	echo "With stride 4 every page is its own memblock region"
	echo "and memblock_reserve() is linear in the number of regions, so the walk"
	echo "is dominated by memblock; with stride 1 the reservations merge."
	echo "With more than one boot, *Rust/C of minima* divides each column's"
	echo "fastest boots, which leaves out a stall of the emulator (with huge"
	echo "pages, about 5 ms when its code buffer enters a new 2 MiB; see"
	echo "scripts/without-thp.py)."
	echo
	echo "| tracker | pages | stride | blocks | retrieval+checks ns | validation ns | walk ns | total ns |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
	printf '%s\n' "${rows[@]}"
} >"$out/restore.md"
cat "$out/restore.md"
step "restore benchmark done in $((SECONDS - start)) s (boots only); table: $out/restore.md"
