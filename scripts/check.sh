#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: every test of the project, reported in KTAP. Each test's own
# output goes to $KHO_CACHE/check/<name>.log; a failing test shows its tail.
# Kernel test results are read from the serial console logs of real boots.
. "$(dirname "$0")/common.sh"
set +e

logdir=$KHO_CACHE/check
mkdir -p "$logdir"
tests=(
	host_crate
	build_c_tracker
	runner_detects_failures
	roundtrip_c_tracker
)

n=0 passed=0 failed=0
echo "KTAP version 1"
echo "1..${#tests[@]}"
run_test() {
	local name=$1 log=$logdir/$1.log start=$SECONDS
	n=$((n + 1))
	step "test $n/${#tests[@]}: $name"
	if ( set -euo pipefail; "t_$name" ) >"$log" 2>&1; then
		passed=$((passed + 1))
		grep -E '^# ' "$log" | sed 's/^/    /'
		echo "ok $n $name # $((SECONDS - start)) s"
	else
		failed=$((failed + 1))
		tail -n 45 "$log" | sed 's/^/    # /'
		echo "not ok $n $name # $((SECONDS - start)) s, full log: $log"
	fi
}

# --- the tests --------------------------------------------------------------

t_host_crate() {
	[ -f "$REPO_ROOT/host/Cargo.toml" ] || { echo "no host/Cargo.toml"; return 1; }
	cd "$REPO_ROOT/host"
	cargo +"$RUST_TOOLCHAIN" test --locked 2>&1 | tee /dev/stderr |
		awk '/^test result:/ { p += $4; f += $6 } END { printf "# host tests: %d passed, %d failed\n", p, f; exit (f > 0 || p == 0) }'
}

t_build_c_tracker() {
	"$REPO_ROOT/scripts/build-kernel.sh" c-tracker
}

# The runner must fail, with a reason and the log tail, when a marker is
# missing or the guest hangs: a broken kernel must never pass.
t_runner_detects_failures() {
	local k=$KHO_CACHE/build-c-tracker/arch/x86/boot/bzImage out
	out=$("$REPO_ROOT/scripts/qemu-kexec.sh" --first "$k" --log "$logdir/runner-missing.serial" \
		--expect "this marker is never printed" 2>&1) && { echo "runner passed a run with a missing marker"; return 1; }
	echo "$out" | tail -n 5
	grep -q "FAILED: missing marker: 'this marker is never printed'" <<<"$out" || { echo "no missing-marker reason"; return 1; }
	grep -q "last 40 lines of" <<<"$out" || { echo "no log tail shown"; return 1; }
	echo "# missing marker: detected, log tail shown"
	out=$("$REPO_ROOT/scripts/qemu-kexec.sh" --first "$k" --log "$logdir/runner-timeout.serial" \
		--timeout 3 2>&1) && { echo "runner passed a run that timed out"; return 1; }
	grep -q "FAILED: timeout" <<<"$out" || { echo "no timeout reason: $out"; return 1; }
	echo "# hang: detected as timeout after 3 s"
	out=$("$REPO_ROOT/scripts/qemu-kexec.sh" --first "$k" --log "$logdir/runner-panic.serial" \
		--append "kho_init_missing rdinit=/nonexistent" 2>&1) && { echo "runner passed a run without init"; return 1; }
	grep -qE "FAILED: (kernel crash|missing marker)" <<<"$out" || { echo "no crash reason: $out"; return 1; }
	echo "# kernel without init: detected ($(grep -o 'FAILED: [a-z ]*' <<<"$out" | head -1))"
}

t_roundtrip_c_tracker() {
	local k=$KHO_CACHE/build-c-tracker/arch/x86/boot/bzImage
	"$REPO_ROOT/scripts/qemu-kexec.sh" --first "$k" --log "$logdir/roundtrip-c.serial" \
		--expect "test_kho: KHO restore succeeded"
	echo "# C tracker -> C tracker: test_kho restore succeeded"
}

for t in "${tests[@]}"; do
	run_test "$t"
done
echo "# Totals: pass:$passed fail:$failed skip:0"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
