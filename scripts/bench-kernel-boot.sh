# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Sourced by scripts/bench-kernel.sh and scripts/bench-tripwire.sh: one
# boot of the in-kernel benchmark (kho_radix_bench.c) and its rows.

# Without ERMS the guest clears pages with "rep stosq" instead of "rep
# stosb". TCG runs a REP string instruction one element per iteration, so
# with ERMS zeroing a tree page costs 4096 iterations (about 7 us, a quarter
# of C's whole range preserve), far beyond its share on hardware.
export QEMU_CPU=${KHO_BENCH_CPU:-max,-erms}

# The rows of the benchmark in the serial log $1: the first kernel's only,
# the second kernel does not run the benchmark.
bench_rows() {
	sed '/kho-init: kexec loaded/q' "$1" | tr -d '\r' |
		sed -n 's/^\(\[[^]]*\] \)\{0,1\}# kho_radix_bench: row //p'
}

# Boots kernel $1 with the benchmark at max_n $3 and $4 runs per tracker,
# its serial log in $2.
# One vCPU: nothing else runs on the host CPU next to the timed loops.
# A guest that fails to calibrate its TSC marks it unstable, and
# local_clock() then counts 4 ms jiffies: such a run measures nothing, so
# boot again. qemu-kexec.sh passes the host's TSC frequency
# (tsc_early_khz=), which avoids the calibration; this catches a host where
# that could not be measured.
bench_boot() {
	local tries=3 try
	for try in $(seq "$tries"); do
		"$REPO_ROOT/scripts/qemu-kexec.sh" --first "$1" --log "$2" --mem 2G --smp 1 \
			--timeout "${KHO_BENCH_TIMEOUT:-1800}" \
			--append "kho_radix_bench.run=1 kho_radix_bench.max_n=$3 kho_radix_bench.reps=$4" \
			--expect-first "kho_radix_bench: done: 0 of" || return 1
		grep -aq 'Marking TSC unstable' "$2" || return 0
		[ "$try" -lt "$tries" ] ||
			die "the guest marked its TSC unstable in $tries boots, so local_clock() had 4 ms resolution (log: $2)"
		step "the guest marked its TSC unstable (local_clock() would count 4 ms jiffies); booting again ($try of $tries failed)"
	done
}
