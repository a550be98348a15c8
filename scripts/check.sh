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
lock_cache scripts/check.sh
tests=(
	lint
	docs
	host_crate
	memblock_ram
	build_c_tracker
	runner_detects_failures
	cache_lock
	roundtrip_c_tracker
	build_upstream
	build_rust_tracker
	clippy_rust_objects
	no_panic_paths
	rustdoc
	radix_symbols_from_rust
	radix_api_from_module
	roundtrip_rust_tracker
	kho_vmtest
	rust_selftest_folios
	kunit_suites
	kernel_doctests
	numa_roundtrip
	kernel_bench_smoke
	kernel_bench_tripwire
	radix_stats_debugfs
	interop_c_to_rust
	interop_rust_to_c
	interop_upstream_to_rust
	interop_rust_to_upstream
	luo_kselftests
	luo_vmtest
	luo_chain
	corrupt_handover_rejected
)
# Tests that run only when named: `make check-kasan` runs the four KASAN
# tests, `make check-miri` miri_host, `make check-uml` warn_on_once_uml,
# `make check-cross` warn_on_once_arm and warn_on_once_loongarch.
extra_tests=(
	build_rust_kasan
	kasan_boots
	kasan_interop
	kasan_corrupt
	miri_host
	warn_on_once_uml
	warn_on_once_arm
	warn_on_once_loongarch
)

# `scripts/check.sh NAME...` runs only the named tests.
if [ $# -gt 0 ]; then
	for t in "$@"; do
		[[ " ${tests[*]} ${extra_tests[*]} " == *" $t "* ]] ||
			die "unknown test '$t'; known: ${tests[*]} ${extra_tests[*]}"
	done
	tests=("$@")
fi

n=0 passed=0 failed=0
echo "KTAP version 1"
echo "1..${#tests[@]}"
run_test() {
	local name=$1 log=$logdir/$1.log start=$SECONDS
	n=$((n + 1))
	step "test $n/${#tests[@]}: $name"
	# Not inside `if`: bash ignores `set -e` in a condition, even in a
	# subshell, and a failing step in the middle of a test would pass.
	( set -euo pipefail; "t_$name" ) >"$log" 2>&1
	local rc=$?
	if [ $rc -eq 0 ]; then
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

# Style gates: rustfmt with the kernel's configuration, checkpatch --strict
# on the series and our C files and headers, and the series applied by git
# am on the pristine tree (prepare-tree.sh does that; here we check it
# really did).
t_lint() {
	local tree rs c p n
	tree=$("$REPO_ROOT/scripts/prepare-tree.sh")
	rs=$(cd "$REPO_ROOT" && ls ./*.rs kho_radix_tree/*.rs kho_radix_kunit/*.rs kho_radix_validate/*.rs \
		selftests/kernel/*.rs)
	(cd "$REPO_ROOT" && rustfmt +"$RUST_TOOLCHAIN" --config-path "$tree/.rustfmt.toml" --check $rs)
	echo "# rustfmt: $(wc -w <<<"$rs") files clean"
	(cd "$REPO_ROOT" && cargo +"$RUST_TOOLCHAIN" fmt --manifest-path host/Cargo.toml --all --check)
	echo "# cargo fmt: host workspace clean"
	p=("$REPO_ROOT"/patches/*.patch)
	perl "$tree/scripts/checkpatch.pl" --strict --no-tree -q "${p[@]}"
	echo "# checkpatch --strict: ${#p[@]} patches clean"
	# The glue exports functions that are defined in the Rust object, so
	# EXPORT_SYMBOL cannot follow its function there.
	c=$(cd "$REPO_ROOT" && ls ./*.c ./*.h scripts/*.c selftests/init/*.c selftests/kernel/*.c \
		selftests/luo/*.c host/memblock-order/*.c host/memblock-ram/*.c)
	(cd "$REPO_ROOT" && perl "$tree/scripts/checkpatch.pl" --strict --no-tree -q \
		--ignore EXPORT_SYMBOL -f $c)
	echo "# checkpatch --strict -f: $(wc -w <<<"$c") C files and headers clean"
	# The host shims stand in for kernel headers in user space: their
	# macros are written as the kernel's are (an argument used twice, or
	# not at all where the shim does nothing), over C's own types, and
	# they define noinline itself.
	c=$(cd "$REPO_ROOT" && ls host/c-shim/*.h host/golden/*.[ch] host/kho-radix-bench/c/*.[ch] \
		host/memblock-ram/include/linux/*.h)
	(cd "$REPO_ROOT" && perl "$tree/scripts/checkpatch.pl" --strict --no-tree -q \
		--ignore EXPORT_SYMBOL,MACRO_ARG_REUSE,MACRO_ARG_UNUSED,PREFER_KERNEL_TYPES,BIT_MACRO,PREFER_DEFINED_ATTRIBUTE_MACRO \
		-f $c)
	echo "# checkpatch --strict -f: $(wc -w <<<"$c") host shim files clean (kernel stand-ins: macro and type checks off)"
	n=$(git -C "$tree" rev-list --count pristine..HEAD)
	[ "$n" -eq "${#p[@]}" ] || { echo "tree has $n commits over pristine, series has ${#p[@]}"; return 1; }
	echo "# git am: ${#p[@]} patches applied to the pristine tree"
}

t_docs() {
	"$REPO_ROOT/scripts/check-docs.sh"
	echo "# Documentation/*.rst: docutils clean, references and repo paths resolve"
}

t_host_crate() {
	[ -f "$REPO_ROOT/host/Cargo.toml" ] || { echo "no host/Cargo.toml"; return 1; }
	cd "$REPO_ROOT/host"
	# The benchmark crate compiles the C radix code out of this tree.
	export KHO_LINUX_SRC=${KHO_LINUX_SRC:-${KERNEL_SRC:-$LINUX_PRISTINE}}
	# awk passes the output on to the log: `tee /dev/stderr` reopened the
	# log from its start and wrote over the lines before it.
	cargo +"$RUST_TOOLCHAIN" test --locked 2>&1 |
		awk '{ print } /^test result:/ { p += $4; f += $6 } END { printf "# host tests: %d ok, %d failing\n", p, f; exit (f > 0 || p == 0) }' ||
		return 1
	# The shared sources under the host crate's lints (the kernel's set,
	# see host/kho-radix-host/src/lib.rs) and the kernel's minimum Rust
	# (host/clippy.toml).
	cargo +"$RUST_TOOLCHAIN" clippy --locked --workspace --all-targets -- -D warnings ||
		{ echo "host clippy found warnings"; return 1; }
	echo "# host clippy: no warnings"
	# rustdoc of the shared sources as the host crate builds them: broken
	# and private intra-doc links are warnings, which it must not print.
	RUSTDOCFLAGS="-D warnings" cargo +"$RUST_TOOLCHAIN" doc --locked --no-deps --workspace ||
		{ echo "host rustdoc found warnings"; return 1; }
	echo "# host rustdoc: no warnings"
	# The benchmark checks what it times: both trackers end with the same
	# tree pages and walk the same keys, the validator accepts every tree
	# and counts its keys, the floor sets one bit per chunk. Run those
	# checks at a small size; a debug build's timings mean nothing.
	local rows
	cargo +"$RUST_TOOLCHAIN" run --locked -q -p kho-radix-bench -- -n 4096 -r 1 --page all \
		--out "$logdir/host-bench-smoke.md" >/dev/null ||
		{ echo "host benchmark smoke run failed"; return 1; }
	rows=$(awk '/^\| page \| workload \|/ { t = 1; next } t && /^$/ { exit } t && /^\| [0-9]+K \| / { n++ } END { print n + 0 }' \
		"$logdir/host-bench-smoke.md")
	[ "$rows" -eq 78 ] || { echo "host benchmark: $rows workload rows, expected 78"; return 1; }
	echo "# host bench smoke: $rows workload rows, its checks passed"
}

# kho_fdt_ram.c, which tells the validator whether a block is RAM and on
# one NUMA node, on the real mm/memblock.c (the kernel's memblock simulator,
# with NUMA): blocks across regions memblock did not merge (HOTPLUG,
# MIRROR) are RAM; NOMAP memory, holes and the ends of memory are not; a
# block across a node boundary is not on one node; and on random layouts
# its answers match page-by-page oracles. No kernel boot can split a region under a
# preserved block, so this is where the slow path is tested.
t_memblock_ram() {
	local out
	out=$("$REPO_ROOT/scripts/test-memblock-ram.sh") || { echo "$out"; return 1; }
	echo "$out"
	grep -E '^ok [0-9]+ ' <<<"$out" | sed 's/^/# /'
}

t_build_c_tracker() {
	"$REPO_ROOT/scripts/build-kernel.sh" c-tracker
}

# The cache's lock (lock_cache in common.sh): a script this run starts
# goes on under it, and a run of its own on the same cache stops before it
# touches anything, naming this one; so does one that names a descriptor
# of another file as the lock.
t_cache_lock() {
	local out refused="another workbench run (scripts/check.sh, PID $$) is using $KHO_CACHE"
	out=$(bash -c '. "$1/scripts/common.sh" && lock_cache nested && echo "started by check.sh: went on"' \
		_ "$REPO_ROOT" 2>&1) || { echo "a script started by check.sh was refused: $out"; return 1; }
	echo "# $out"
	out=$(env -u KHO_CACHE_LOCK_FD "$REPO_ROOT/scripts/build-kernel.sh" c-tracker 2>&1) &&
		{ echo "a build of its own ran beside check.sh: $out"; return 1; }
	grep -qF "$refused" <<<"$out" || { echo "no refusal naming check.sh: $out"; return 1; }
	echo "# a build of its own: refused"
	out=$(KHO_CACHE_LOCK_FD=0 "$REPO_ROOT/scripts/run.sh" </dev/null 2>&1) &&
		{ echo "make run ran beside check.sh: $out"; return 1; }
	grep -qF "$refused" <<<"$out" || { echo "no refusal naming check.sh: $out"; return 1; }
	echo "# make run naming stdin as the lock: refused"
	echo "# ${out#error: }"
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
	# The init hangs on purpose: a boot can take less than the timeout.
	out=$("$REPO_ROOT/scripts/qemu-kexec.sh" --first "$k" --log "$logdir/runner-timeout.serial" \
		--append kho_init_hang --timeout 5 2>&1) && { echo "runner passed a run that timed out"; return 1; }
	grep -q "FAILED: timeout" <<<"$out" || { echo "no timeout reason: $out"; return 1; }
	echo "# hang: detected as timeout after 5 s"
	out=$("$REPO_ROOT/scripts/qemu-kexec.sh" --first "$k" --log "$logdir/runner-panic.serial" \
		--append "kho_init_missing rdinit=/nonexistent" 2>&1) && { echo "runner passed a run without init"; return 1; }
	grep -qE "FAILED: (kernel crash|missing marker)" <<<"$out" || { echo "no crash reason: $out"; return 1; }
	echo "# kernel without init: detected ($(grep -m1 -o 'FAILED: [a-z ]*' <<<"$out"))"
}

# Every roundtrip also hands over a reserve_mem= area, which memblock
# preserves and describes in its own subtree (mm/memblock.c): the second
# kernel, given the same command line, must take the area over instead of
# allocating a new one. It reads the subtree in a __setup() handler, after
# kho_memory_init_early() checked the tree and the subtrees.
reserve_mem_args=(--append "reserve_mem=1M:4K:khotest_rm"
	--expect "Revived memory reservation 'khotest_rm' from KHO")

# With the Rust tracker in the second kernel, the check must come first.
validated_before_revived() {
	local log=$1 v r
	v=$(grep -n -m1 'preserved-memory tree validated' "$log" | cut -d: -f1)
	r=$(grep -n -m1 "Revived memory reservation 'khotest_rm'" "$log" | cut -d: -f1)
	[ -n "$v" ] && [ -n "$r" ] && [ "$v" -lt "$r" ] ||
		{ echo "reserve_mem read its subtree (log line ${r:-none}) before the tree was validated (line ${v:-none})"; return 1; }
}

t_roundtrip_c_tracker() {
	local k=$KHO_CACHE/build-c-tracker/arch/x86/boot/bzImage
	"$REPO_ROOT/scripts/qemu-kexec.sh" --first "$k" --log "$logdir/roundtrip-c.serial" \
		--expect "test_kho: KHO restore succeeded" "${reserve_mem_args[@]}"
	echo "# C tracker -> C tracker: test_kho restore succeeded, reserve_mem area taken over"
}

# Linux 7.3 as released (configs/upstream.config: the pristine source,
# none of the series' patches, which also fix KHO itself), the interop
# peer of interop_upstream_to_rust and interop_rust_to_upstream. Its
# build must not touch the pristine source, which other builds read.
t_build_upstream() {
	local changed
	"$REPO_ROOT/scripts/build-kernel.sh" upstream
	changed=$(find "${KERNEL_SRC:-$LINUX_PRISTINE}" -newer "$KHO_CACHE/build-upstream/.config" -print -quit)
	[ -z "$changed" ] || { echo "the upstream build wrote into its source: $changed"; return 1; }
	echo "# $(grep -m1 -o 'Linux/x86 [^ ]* Kernel Configuration' "$KHO_CACHE/build-upstream/.config"), no patch applied"
}

t_build_rust_tracker() {
	"$REPO_ROOT/scripts/build-kernel.sh" rust-tracker
}

# Our Rust objects rebuilt with CLIPPY=1 (the kernel's clippy setup and
# lint levels) must produce no warning. Only our crates are rebuilt: a full
# CLIPPY=1 build would recompile every Rust object of the kernel.
t_clippy_rust_objects() {
	local b=$KHO_CACHE/build-rust-tracker cb=$KHO_CACHE/build-rust-clippy tree objs o
	local log=$logdir/clippy.out
	tree=$("$REPO_ROOT/scripts/prepare-tree.sh")
	objs="kernel/liveupdate/kho_radix_rs/kho_radix.o kernel/liveupdate/kho_radix_rs/selftests/kernel/kho_radix_selftest.o"
	# In a build directory of its own, with build-rust-tracker's
	# configuration: clippy-driver's objects are not rustc's (it turns MIR
	# optimisations off), and a CLIPPY=1 build in build-rust-tracker,
	# which also rebuilds rust/kernel.o, would leave them where
	# no_panic_paths and radix_symbols_from_rust look for the booted
	# kernel's, and make the next normal build redo every Rust object.
	# About 2 minutes the first time, less than one afterwards.
	mkdir -p "$cb"
	cmp -s "$b/.config" "$cb/.config" || cp "$b/.config" "$cb/.config"
	if [ -f "$b/.kho-make-args" ]; then
		cmp -s "$b/.kho-make-args" "$cb/.kho-make-args" || cp "$b/.kho-make-args" "$cb/.kho-make-args"
	else
		rm -f "$cb/.kho-make-args"
	fi
	for o in $objs; do
		rm -f "$cb/$o"
	done
	# The kernel crate too, with the series' kernel::kho and kernel::folio.
	{ "$REPO_ROOT/scripts/kmake.sh" "$tree" "$cb" olddefconfig &&
		"$REPO_ROOT/scripts/kmake.sh" "$tree" "$cb" CLIPPY=1 rust/kernel.o $objs; } >"$log" 2>&1 ||
		{ tail -n 40 "$log"; return 1; }
	for o in rust/kernel.o $objs; do
		[ -f "$cb/$o" ] || { echo "$o was not built"; return 1; }
	done
	if grep -E '^(warning|error)(\[|:)' "$log"; then
		grep -A12 -E '^(warning|error)(\[|:)' "$log" | head -n 60
		return 1
	fi
	grep -q 'CLIPPY .*kho_radix\.o' "$log" || { echo "clippy did not run on kho_radix.o"; cat "$log"; return 1; }
	echo "# CLIPPY=1: kho_radix.o, kho_radix_selftest.o and the kernel crate (rust/kernel/kho.rs, folio.rs) without warnings"
}

# No function of the kho_radix crate in the rust-tracker kernel (built with
# CONFIG_RUST_OVERFLOW_CHECKS=y) may call a panic routine: design.rst claims
# that no key, tree content or incoming tree can make the tracker panic, and
# this keeps the claim checked. Nor may the series' kernel::folio and
# kernel::kho, which take offsets and addresses from drivers. The same scan with the KUnit suite in scope
# must find its assertions, or the scan is blind.
t_no_panic_paths() {
	local o=$KHO_CACHE/build-rust-tracker/kernel/liveupdate/kho_radix_rs/kho_radix.o rc=0
	[ -f "$o" ] || { echo "$o is missing: run build_rust_tracker first"; return 1; }
	"$REPO_ROOT/scripts/check-no-panic.sh" "$o" || return 1
	# The series' kernel::folio and kernel::kho, the safe API for Rust drivers.
	"$REPO_ROOT/scripts/check-no-panic.sh" "$KHO_CACHE/build-rust-tracker/rust/kernel.o" \
		'^<?kernel::(folio|kho)::' || return 1
	"$REPO_ROOT/scripts/check-no-panic.sh" --with-kunit "$o" >"$logdir/no-panic-kunit.out" || rc=$?
	if [ "$rc" != 1 ]; then
		echo "the scan found no panic call in the KUnit suite either (exit $rc): it sees nothing"
		cat "$logdir/no-panic-kunit.out"
		return 1
	fi
	echo "# control: $(tail -n 1 "$logdir/no-panic-kunit.out" | sed 's/^# //') with the KUnit suite in scope"
}

# `make rustdoc` documents the kernel crate, including the kernel::kho and
# kernel::folio abstractions of the series; it must print no warning.
t_rustdoc() {
	local b=$KHO_CACHE/build-rust-tracker tree log=$logdir/rustdoc.out m
	tree=$("$REPO_ROOT/scripts/prepare-tree.sh")
	"$REPO_ROOT/scripts/kmake.sh" "$tree" "$b" rustdoc >"$log" 2>&1 || { tail -n 40 "$log"; return 1; }
	if grep -E '^(warning|error)' "$log"; then
		grep -A8 -E '^(warning|error)' "$log" | head -n 60
		return 1
	fi
	for m in kho folio; do
		[ -f "$b/Documentation/output/rust/rustdoc/kernel/$m/index.html" ] ||
			{ echo "no rustdoc page for kernel::$m"; return 1; }
	done
	echo "# make rustdoc: no warnings; kernel::kho and kernel::folio documented"
}

# The radix functions the kernel links must be the Rust ones: defined (T) in
# our Rust object, absent from kexec_handover.o, and exported for modules.
# The functions only the Rust tracker has (the C build has no definition to
# compare with) must be defined in the Rust object and exported too.
t_radix_symbols_from_rust() {
	local b=$KHO_CACHE/build-rust-tracker c=$KHO_CACHE/build-c-tracker f
	local funcs="kho_radix_add_key kho_radix_del_key kho_radix_walk_tree kho_radix_init_tree kho_radix_destroy_tree"
	local rust_only="kho_radix_del_key_reclaim kho_radix_add_pfn_range kho_radix_del_pfn_range"
	local rust_o c_in_rust c_in_c map
	# Captured first: `nm | grep -q` would fail under pipefail (SIGPIPE).
	rust_o=$(nm "$b/kernel/liveupdate/kho_radix_rs/kho_radix.o")
	c_in_rust=$(nm "$b/kernel/liveupdate/kexec_handover.o")
	c_in_c=$(nm "$c/kernel/liveupdate/kexec_handover.o")
	map=$(cat "$b/System.map")
	for f in $funcs $rust_only; do
		grep -qx "[0-9a-f]* T $f" <<<"$rust_o" ||
			{ echo "$f is not defined by the Rust object kho_radix.o"; return 1; }
		if grep -q " T $f\$" <<<"$c_in_rust"; then
			echo "$f is still defined by the C kexec_handover.o"; return 1
		fi
		grep -q " T $f\$" <<<"$map" || { echo "$f not in System.map"; return 1; }
		grep -qE " [a-zA-Z] __ksymtab_$f\$" <<<"$map" || { echo "$f is not exported"; return 1; }
	done
	for f in $funcs; do
		grep -q " T $f\$" <<<"$c_in_c" ||
			{ echo "C build: $f not defined by kexec_handover.o"; return 1; }
	done
	echo "# $(wc -w <<<"$funcs") radix functions: defined by kho_radix.o (Rust), exported, absent from kexec_handover.o"
	echo "# $(wc -w <<<"$rust_only") Rust-only radix functions ($rust_only): defined by kho_radix.o, exported"
}

t_roundtrip_rust_tracker() {
	local k=$KHO_CACHE/build-rust-tracker/arch/x86/boot/bzImage
	"$REPO_ROOT/scripts/qemu-kexec.sh" --first "$k" --log "$logdir/roundtrip-rust.serial" \
		--expect-first "radix tracker: Rust" --expect "radix tracker: Rust" \
		--expect "preserved-memory tree validated" \
		--expect "test_kho: KHO restore succeeded" "${reserve_mem_args[@]}"
	validated_before_revived "$logdir/roundtrip-rust.serial"
	grep -m1 -o 'preserved-memory tree validated.*' "$logdir/roundtrip-rust.serial" | sed 's/^/# /'
	echo "# Rust tracker -> Rust tracker: test_kho restore succeeded, reserve_mem area taken over after the check"
}

# Upstream's KHO kselftest (tools/testing/selftests/kho) on both trackers:
# scripts/upstream-vmtest.sh builds its init.c and initramfs as its
# vmtest.sh does, checks that the kernel has the options vmtest.sh sets (the
# round-trip kernels include configs/vmtest.config for them) and boots it
# with vmtest.sh's QEMU options and command line; the init kexecs into the
# same kernel, whose test_kho must restore its folios. On the Rust kernel
# both boots must use the Rust tracker and the second must have validated
# the tree. A corrupted handover must fail it.
t_kho_vmtest() {
	local k
	for k in rust-tracker c-tracker; do
		upstream_vmtest kho "$k" "$logdir/kho-vmtest-${k%-tracker}.serial"
	done
	# Its criterion fails a handover the next kernel drops: the Rust kernel
	# corrupts the tree it hands over, the next one rejects it.
	upstream_vmtest_fails kho "$logdir/kho-vmtest-corrupt.serial" \
		"not ok 1 kho_vmtest # kho failed: no 'KHO restore succeeded'"
}

# upstream-vmtest.sh's FLOW ($1) on the kernel of build flavour $2, logged to
# $3; on the Rust kernel both boots must use the Rust tracker and the second
# must have validated the tree. Prints what it showed.
upstream_vmtest() {
	local flow=$1 k=$2 log=$3 out rust_args=()
	[ "$k" != rust-tracker ] || rust_args=(--expect-first "radix tracker: Rust"
		--expect "radix tracker: Rust" --expect "preserved-memory tree validated")
	out=$("$REPO_ROOT/scripts/upstream-vmtest.sh" "$flow" "$KHO_CACHE/build-$k" "$log" \
		"${rust_args[@]}") || { echo "$out"; return 1; }
	echo "# $(kernel_label "$k"), $(sed -n 's/^ok 1 \([^ ]*\) # /\1: /p' <<<"$out")"
	grep -E '^# (the kernel has|second boot ended)' <<<"$out"
}

# upstream-vmtest.sh's FLOW ($1) must fail, with the reason $3, when the
# Rust kernel corrupts the tree it hands over (logged to $2).
upstream_vmtest_fails() {
	local out
	out=$("$REPO_ROOT/scripts/upstream-vmtest.sh" "$1" "$KHO_CACHE/build-rust-tracker" "$2" \
		--append khotest_corrupt=overlap) &&
		{ echo "upstream-vmtest.sh $1 passed a handover the next kernel dropped"; return 1; }
	grep -qF "$3" <<<"$out" || { echo "upstream-vmtest.sh $1 failed for another reason: $out"; return 1; }
	# ... and because the next kernel refused the tree, nothing else.
	local m
	for m in "KHO: invalid preserved-memory tree: preserved ranges overlap" \
		"KHO: dropping the handover: no preserved memory is restored"; do
		grep -qF -- "$m" "$2" || { echo "upstream-vmtest.sh $1: '$m' not in $2"; return 1; }
	done
	echo "# with khotest_corrupt=overlap: $(grep -m1 -oF "$3" <<<"$out")"
}

# Upstream's LUO kselftest runner (tools/testing/selftests/liveupdate/
# vmtest.sh) as it runs them, with its own init.c, nested initramfs and
# command line: each of the four kexec tests on the Rust tracker, its
# default one (luo_kexec_simple) on the C tracker. luo_kselftests runs the
# same tests through our init, across trackers and with more checks.
t_luo_vmtest() {
	local t
	for t in "${luo_kexec_tests[@]}"; do
		upstream_vmtest "liveupdate:$t" rust-tracker "$logdir/luo-vmtest-$t-rust.serial"
	done
	upstream_vmtest liveupdate c-tracker "$logdir/luo-vmtest-luo_kexec_simple-c.serial"
	upstream_vmtest_fails liveupdate "$logdir/luo-vmtest-corrupt.serial" \
		"not ok 1 liveupdate_vmtest:luo_kexec_simple # liveupdate failed: no 'TEST PASSED'"
}

# A module (selftests/kernel/kho_radix_modtest.c, built as kho_radix_modtest.ko
# with the Rust-tracker kernel) calls the tracker's exports as a driver
# built as a module would: the loader must resolve them, and its tests on a
# private tree and a folio preserved through the KHO API must pass, in the
# first boot and again in the kexec'd one. Its KTAP is parsed from the log.
t_radix_api_from_module() {
	local b=$KHO_CACHE/build-rust-tracker ko uses
	ko=$b/kernel/liveupdate/kho_radix_rs/selftests/kernel/kho_radix_modtest.ko
	[ -f "$ko" ] || { echo "$ko was not built (CONFIG_KEXEC_HANDOVER_RADIX_RUST_MODTEST=m)"; return 1; }
	uses=$(nm -u "$ko" | awk '$2 ~ /^kho_/ { print $2 }' | sort | paste -sd' ')
	[[ " $uses " == *" kho_radix_add_pfn_range "* ]] ||
		{ echo "the module does not call the Rust-only exports (it uses: $uses)"; return 1; }
	"$REPO_ROOT/scripts/qemu-kexec.sh" --first "$b/arch/x86/boot/bzImage" --module "$ko" \
		--log "$logdir/module.serial" --append kunit.enable=0 \
		--expect-first "kho_radix_modtest: pass:4 fail:0" \
		--expect "kho_radix_modtest: pass:4 fail:0" --expect "kho-init: loaded module"
	echo "# kho_radix_modtest.ko uses: $uses"
	sed -n 's/.*kho_radix_modtest: \(ok .*\)/# \1/p' "$logdir/module.serial" | sort -u
	echo "# pass:4 fail:0 in both boots"
}

# Our Rust selftest driver (built into the Rust-tracker kernel) preserves
# folios of every order through the kernel::kho API; the second kernel checks
# every byte and prints KTAP, which is parsed here from the console log.
t_rust_selftest_folios() {
	local k=$KHO_CACHE/build-rust-tracker/arch/x86/boot/bzImage
	local log=$logdir/rust-selftest.serial
	# 6 GiB so that GFP_KERNEL folios really lie above 4 GiB ("high") while
	# the GFP_DMA32 ones stay below ("low").
	"$REPO_ROOT/scripts/qemu-kexec.sh" --first "$k" --log "$log" --mem 6G \
		--expect-first "kho_radix_selftest: radix walk:" \
		--expect "kho_radix_selftest: restored"
	selftest_folios_ok "$log"
}

# The first, second or third boot's part of LOG ($1): a boot ends with the
# init's "kexec loaded" line, the last one with the log.
boot_part() {
	local n
	case $2 in
	first) n=1 ;;
	second) n=2 ;;
	third) n=3 ;;
	*) die "boot_part: no boot '$2'" ;;
	esac
	awk -v n="$n" 'k == n - 1 { print } /kho-init: kexec loaded/ { k++ }' "$1"
}

# Each boot of LOG ($1) names the tracker of its kernel's build flavour,
# the flavours following in boot order; the upstream kernel names none
# (patch 0001 adds that line), and must not: a boot that does is not the
# kernel as released.
boots_name_trackers() {
	local log=$1 part flavour named
	shift
	for part in first second third; do
		[ $# -gt 0 ] || break
		flavour=$1
		shift
		named=$(grep -m1 -o 'preserved-memory radix tracker: [A-Za-z]*' \
			<<<"$(boot_part "$log" $part)" || true)
		if [ "$flavour" = upstream ]; then
			[ -z "$named" ] || { echo "the $part boot names a tracker: not the upstream kernel"; return 1; }
		elif [ "$named" != "preserved-memory radix tracker: $(tracker_of "$flavour")" ]; then
			echo "the $part boot, $(kernel_label "$flavour"), says '${named:-nothing}'"
			return 1
		fi
	done
}

# The Rust selftest's own verdicts in LOG ($1): its radix walk check in the
# first boot and its restore in the second must print their success lines
# (the failure lines start alike, so --expect's prefixes cannot tell them
# apart).
selftest_verdicts_ok() {
	local log=$1
	grep -qE 'kho_radix_selftest: radix walk: [0-9]+ keys in order' <<<"$(boot_part "$log" first)" ||
		{ echo "the first boot's selftest has no 'radix walk: N keys in order' line"; return 1; }
	grep -qE 'kho_radix_selftest: restored ([0-9]+) of \1 folios, all bytes verified' <<<"$(boot_part "$log" second)" ||
		{ echo "the second boot's selftest has no 'restored N of N folios, all bytes verified' line"; return 1; }
}

# The selftest's checks on LOG, a 6 GiB boot of a kernel with the selftest:
# folios below and above 4 GiB, every folio's KTAP line ok in the second
# boot. Prints what was preserved and restored.
selftest_folios_ok() {
	local log=$1 first span hi second oks plan
	selftest_verdicts_ok "$log" || return 1
	first=$(boot_part "$log" first)
	span=$(grep -m1 -o 'folios span phys 0x[0-9a-f]*\.\.0x[0-9a-f]*' <<<"$first" || true)
	hi=${span##*..}
	[ -n "$hi" ] && [ $((hi)) -gt $((0x100000000)) ] || { echo "no folio above 4 GiB: '$span'"; return 1; }
	echo "# $span"
	second=$(boot_part "$log" second)
	oks=$(grep -cE 'kho_radix_selftest: ok [0-9]+ order_' <<<"$second" || true)
	plan=$(grep -m1 -oE 'kho_radix_selftest: 1\.\.[0-9]+' <<<"$second" | grep -oE '[0-9]+$' || true)
	[ -n "$plan" ] && [ "$oks" -eq "$plan" ] || { echo "KTAP: $oks ok lines for plan '$plan'"; return 1; }
	grep 'kho_radix_selftest: preserved order' "$log" | sed 's/^.*kho_radix_selftest: /# /'
	grep -E 'kho_radix_selftest: (ok|not ok) ' <<<"$second" | sed 's/^.*kho_radix_selftest: /# /'
	grep -E 'kho_radix_selftest: restored' <<<"$second" | sed 's/^.*kho_radix_selftest: /# /'
}

# One kexec from the kernel of build flavour FROM to that of flavour TO,
# logged to $logdir/LOG: each boot must name its tracker, test_kho must
# restore its folios in the second boot, and a Rust second kernel must have
# validated the tree first. More qemu-kexec.sh arguments may follow.
interop_kexec() {
	local from=$1 to=$2 log=$3 args=()
	shift 3
	case $to in
	c-tracker | upstream) ;;
	*) args+=(--expect "preserved-memory tree validated") ;;
	esac
	"$REPO_ROOT/scripts/qemu-kexec.sh" --log "$logdir/$log" \
		--first "$KHO_CACHE/build-$from/arch/x86/boot/bzImage" \
		--second "$KHO_CACHE/build-$to/arch/x86/boot/bzImage" \
		--expect "test_kho: KHO restore succeeded" "${reserve_mem_args[@]}" \
		"${args[@]}" "$@"
	boots_name_trackers "$logdir/$log" "$from" "$to"
	case $to in
	c-tracker | upstream) ;;
	*) validated_before_revived "$logdir/$log" ;;
	esac
}
tracker_of() { if [ "$1" = c-tracker ]; then echo C; else echo Rust; fi; }
# What the kernel of build flavour $1 is, for the test's output.
kernel_label() {
	case $1 in
	upstream) echo "Linux 7.3 as released" ;;
	*) echo "$(tracker_of "$1") tracker" ;;
	esac
}

# ABI compatibility in both kexec directions: the second kernel reads a tree
# built by the other implementation.
t_interop_c_to_rust() {
	interop_kexec c-tracker rust-tracker interop-c-to-rust.serial
	echo "# C tracker -> Rust tracker: test_kho restore succeeded, reserve_mem area taken over after the check"
}

t_interop_rust_to_c() {
	interop_kexec rust-tracker c-tracker interop-rust-to-c.serial
	echo "# Rust tracker -> C tracker: test_kho restore succeeded, reserve_mem area taken over"
}

# The same against Linux 7.3 as released: a live update from a stock
# kernel to one with the Rust tracker, and back.
t_interop_upstream_to_rust() {
	interop_kexec upstream rust-tracker interop-upstream-to-rust.serial
	echo "# Linux 7.3 as released -> Rust tracker: test_kho restore succeeded, reserve_mem area taken over after the check"
	grep -m1 -oE 'preserved-memory tree validated: [0-9]+ tables, [0-9]+ leaves, [0-9]+ keys' \
		"$logdir/interop-upstream-to-rust.serial" | sed 's/^/# /'
}

t_interop_rust_to_upstream() {
	interop_kexec rust-tracker upstream interop-rust-to-upstream.serial
	echo "# Rust tracker -> Linux 7.3 as released: test_kho restore succeeded, reserve_mem area taken over"
}

# The upstream LUO kselftests (tools/testing/selftests/liveupdate of the
# patched tree), built as their vmtest.sh builds them (static, on nolibc
# and the kernel's exported headers) and run by our init with
# liveupdate=on (configs/luo.config). LUO's memfd handler preserves every
# folio of a memfd through the tracker (kho_preserve_folio()) and the next
# kernel restores them from the tree. The API test `liveupdate` (kselftest
# harness: sessions made, memfds preserved and unpreserved) runs in the
# first boot and must pass every case. The four kexec tests preserve their
# sessions in the first boot (stage 1) and check every byte in the second
# (stage 2). On a Rust first kernel, our selftests/luo/luo_reclaim.c
# checks that the leaves a 256 MiB memfd grows are freed again when LUO
# unpreserves it. Rust to Rust, C to Rust, Rust to C, and between Linux
# 7.3 as released (upstream.config includes luo.config too) and Rust both
# ways, one QEMU run each. A handover whose tree the Rust kernel rejects fails
# them (tried with khotest_corrupt=overlap: stage 2 exits with 1). make
# check-kasan runs them too, in kasan_boots.
luo_kexec_tests=(luo_kexec_simple luo_multi_session luo_stress_files luo_stress_sessions)
luo_kexec_passed=("SIMPLE KEXEC TEST PASSED" "MULTI-SESSION KEXEC TEST PASSED"
	"MANY-FILES KEXEC TEST PASSED (500 files)" "MANY-SESSIONS KEXEC TEST PASSED (2000 sessions)")
# Builds the programs into $KHO_CACHE/luo-kselftests with the exported
# headers of the kernel built in $1, and sets the runner's arguments that
# run them, in this order: luo_api_args turn LUO on and run the API test
# first in the first boot; luo_rust_args, for a Rust first kernel only,
# selftests/luo/luo_reclaim.c; luo_kexec_args the kexec tests' two stages;
# luo_chain_args, for three boots, selftests/luo/luo_chain.c's three.
# Each expects every line that says its programs passed.
luo_programs() {
	local b=$1 out=$KHO_CACHE/luo-kselftests tree src dir t
	tree=$("$REPO_ROOT/scripts/prepare-tree.sh")
	src=$tree/tools/testing/selftests/liveupdate
	mkdir -p "$out"
	"$REPO_ROOT/scripts/kmake.sh" "$tree" "$b" headers >"$out/headers.log" 2>&1 ||
		{ tail -n 20 "$out/headers.log"; return 1; }
	for t in liveupdate "${luo_kexec_tests[@]}" luo_reclaim luo_chain; do
		dir=$src
		[ -f "$dir/$t.c" ] || dir=$REPO_ROOT/selftests/luo
		gcc -static -O2 -nostdinc -nostdlib -I "$b/usr/include" -I "$tree/tools/include/nolibc" \
			-I "$src/lib/include" -o "$out/$t" "$dir/$t.c" "$src/lib/lu_utils.c"
	done
	echo "# built: liveupdate ${luo_kexec_tests[*]} (upstream's), luo_reclaim luo_chain (selftests/luo)"
	luo_api_tests=$(grep -c '^TEST_F(' "$src/liveupdate.c")
	luo_api_args=(--append liveupdate=on --program "$out/liveupdate" --run-first /bin/liveupdate
		--expect-first "# Totals: pass:$luo_api_tests fail:0 xfail:0 xpass:0 skip:0 error:0")
	luo_rust_args=(--program "$out/luo_reclaim" --run-first /bin/luo_reclaim
		--expect-first "luo_reclaim: PASSED")
	luo_chain_args=(--append liveupdate=on --program "$out/luo_chain" --run-first "/bin/luo_chain -s 1"
		--run-second "/bin/luo_chain -s 2" --run-third "/bin/luo_chain -s 3" --expect "luo_chain: PASSED")
	luo_kexec_args=()
	for t in "${luo_kexec_tests[@]}"; do
		luo_kexec_args+=(--program "$out/$t" --run-first "/bin/$t -s 1" --run-second "/bin/$t -s 2")
	done
	for t in "${luo_kexec_passed[@]}"; do
		luo_kexec_args+=(--expect "$t")
	done
}
# The Rust kernel's count of keys in the tree it validated, in log $1: at
# least $2 (default: the folios of luo_stress_files' 500 memfds).
luo_keys_validated() {
	local keys min=${2:-500}
	keys=$(grep -m1 -oE 'preserved-memory tree validated: [0-9]+ tables, [0-9]+ leaves, [0-9]+ keys' "$1")
	echo "# $keys"
	[ "$(grep -oE '[0-9]+ keys' <<<"$keys" | cut -d' ' -f1)" -ge "$min" ] ||
		{ echo "fewer keys than the $min expected"; return 1; }
}
# The Rust tracker's statistics (kho-init prints them when the first boot
# starts and after each command) must be the same after the API test, the
# first command, as before it: every page it preserved was unpreserved
# again, and the tree is no larger. It does not show reclamation: the
# test's folios fall in leaves the tree already has (a build whose
# single-key unpreserve never frees nodes gave the same counts; it failed
# luo_reclaim).
luo_api_left_tree_as_found() {
	local what before after
	for what in preserved_pages tables leaves; do
		before=$(grep -m1 "kho-init: radix_stats: $what " "$1" | tr -d '\r')
		after=$(grep -m2 "kho-init: radix_stats: $what " "$1" | tail -n 1 | tr -d '\r')
		# Two lines, or the one line would be compared with itself.
		[ "$(grep -c "kho-init: radix_stats: $what " "$1")" -ge 2 ] ||
			{ echo "fewer than two 'radix_stats: $what' lines: no snapshot after the API test"; return 1; }
		[ -n "$before" ] && [ "$before" = "$after" ] ||
			{ echo "after the API test: '${after#*radix_stats: }', before it: '${before#*radix_stats: }'"; return 1; }
	done
	echo "# the API test left the Rust tracker's tree as it found it:" \
		"$(grep -m3 -E 'radix_stats: (preserved_pages|tables|leaves) ' "$1" | tr -d '\r' |
			sed 's/.*radix_stats: //' | paste -sd,)"
}
t_luo_kselftests() {
	local pair from to log rust_args
	luo_programs "$KHO_CACHE/build-rust-tracker"
	for pair in rust-tracker:rust-tracker c-tracker:rust-tracker rust-tracker:c-tracker \
		upstream:rust-tracker rust-tracker:upstream; do
		from=${pair%:*} to=${pair#*:}
		log=$logdir/luo-${from%-tracker}-to-${to%-tracker}.serial
		rust_args=()
		[ "$from" != rust-tracker ] || rust_args=("${luo_rust_args[@]}")
		interop_kexec "$from" "$to" "$(basename "$log")" \
			--append kunit.enable=0 "${luo_api_args[@]}" "${rust_args[@]}" "${luo_kexec_args[@]}"
		echo "# $(kernel_label "$from") -> $(kernel_label "$to"):" \
			"liveupdate pass:$luo_api_tests fail:0 in the first boot; stage 2 of ${luo_kexec_tests[*]} passed"
		if [ "$from" = rust-tracker ]; then
			luo_api_left_tree_as_found "$log"
			grep -m1 -o 'luo_reclaim: PASSED.*' "$log" | tr -d '\r' | sed 's/^/# /'
		fi
		[ "$to" != rust-tracker ] || luo_keys_validated "$log"
	done
}

# Two live updates in a row (selftests/luo/luo_chain.c, on upstream's LUO
# library): a 64 MiB memfd preserved in a LUO session in the first boot,
# retrieved and checked in the second, which writes a new pattern over it
# and preserves the same folios again in a session of its own, retrieved
# and checked in the third. The middle kernel is the Rust tracker's: it
# validates the tree it is handed, restores the folios from it and
# preserves them in its own. Rust, Rust, Rust; C, Rust, C; and Linux 7.3 as
# released, Rust, released. make check-kasan runs the chain too, in
# kasan_boots.
t_luo_chain() {
	local chain first middle last
	luo_programs "$KHO_CACHE/build-rust-tracker"
	for chain in rust-tracker:rust-tracker:rust-tracker c-tracker:rust-tracker:c-tracker \
		upstream:rust-tracker:upstream; do
		IFS=: read -r first middle last <<<"$chain"
		luo_chain_boots "$first" "$middle" "$last" \
			"$logdir/luo-chain-${first%-tracker}-${middle%-tracker}-${last%-tracker}.serial"
	done
}
# luo_chain's three boots (luo_programs sets luo_chain_args), of the kernels
# of build flavours $1, $2 and $3, logged to $4; more qemu-kexec.sh
# arguments may follow. Each boot must name its tracker, the boots after a
# kexec into a Rust kernel must have validated the tree, and a Rust third
# kernel at least the memfd's 16384 folios (4 KiB pages).
luo_chain_boots() {
	local first=$1 middle=$2 last=$3 log=$4
	shift 4
	"$REPO_ROOT/scripts/qemu-kexec.sh" --log "$log" \
		--first "$KHO_CACHE/build-$first/arch/x86/boot/bzImage" \
		--second "$KHO_CACHE/build-$middle/arch/x86/boot/bzImage" \
		--third "$KHO_CACHE/build-$last/arch/x86/boot/bzImage" --append kunit.enable=0 \
		--expect "preserved-memory tree validated" "${luo_chain_args[@]}" "$@"
	boots_name_trackers "$log" "$first" "$middle" "$last"
	echo "# $(kernel_label "$first") -> $(kernel_label "$middle") -> $(kernel_label "$last"):" \
		"$(grep -m1 -o 'luo_chain: PASSED.*' "$log" | tr -d '\r')"
	# Here-strings, not pipes: `grep -m1` stops reading before the writer
	# is done, which then fails on SIGPIPE (pipefail).
	grep -m1 -o 'preserved-memory tree validated.*keys' <<<"$(boot_part "$log" second)" |
		sed 's/^/# middle boot: /'
	case $last in
	c-tracker | upstream) ;;
	*) luo_keys_validated <(boot_part "$log" third) 16384 | sed 's/^# /# third boot: /' ;;
	esac
}

# Every KUnit suite of the Rust-tracker kernel must print its ok line in
# each of the two boots of LOG. "ok N kho_radix_x # SKIP" does not count.
kunit_suites="concurrency differential alloc_failure edge reclaim range glue unmap adopt misuse"
kunit_suites_ok_in_both_boots() {
	local log=$1 s n suites=${2:-$kunit_suites}
	for s in $suites; do
		n=$(tr -d '\r' <"$log" | grep -cE "^ok [0-9]+ kho_radix_$s\$" || true)
		[ "$n" -eq 2 ] || { echo "suite kho_radix_$s: $n ok lines, expected 2 (one per boot)"; return 1; }
	done
}

# KUnit suites built into the Rust-tracker kernel (kho_radix_kunit/,
# kho_radix_glue_kunit.c and kho_radix_misuse_kunit.c): differential
# against the C tracker, allocation failure in the tree and in the C glue,
# concurrency with lockdep, edge cases, reclamation, ranges, freed nodes
# unmapped (debug_pagealloc; its "ok ... # SKIP" if that is off does not
# match below), calls that get the tracker wrong (counted warnings). They
# run in both boots; every suite must report ok in each, and any "not ok"
# or lockdep splat fails the runner.
t_kunit_suites() {
	local log=$logdir/kunit.serial
	"$REPO_ROOT/scripts/qemu-kexec.sh" --first "$KHO_CACHE/build-rust-tracker/arch/x86/boot/bzImage" \
		--log "$log"
	kunit_suites_ok_in_both_boots "$log"
	boot_part "$log" first | tr -d '\r' |
		grep -E '^ok [0-9]+ kho_radix_|^# kho_radix_[a-z_]+: pass:|(concurrency|differential|reclaim|range): |nodes freed, ' |
		sed 's/^\[[^]]*\] //; s/^/# /'
}

# The doctests of the series' kernel::kho and kernel::folio
# (configs/rust-doctests.config: the Rust tracker's kernel with
# CONFIG_RUST_KERNEL_DOCTESTS): their examples are the safe API's tests
# (preserving and unpreserving, PreservedFolio, keys, folio accessors, and
# what the API refuses). KUnit runs the kernel crate's doctests of files
# ending in "o_rs" (kho, folio and a few others) in both boots; in each,
# the suite must pass and every doctest of kho.rs and folio.rs be ok
# (doctests_ok: KUnit indents a failed doctest's "not ok", which the
# runner's scan does not match).
t_kernel_doctests() {
	local k log=$logdir/doctests.serial
	k=$("$REPO_ROOT/scripts/build-kernel.sh" rust-doctests) || return 1
	"$REPO_ROOT/scripts/qemu-kexec.sh" --first "$k" --log "$log" \
		--append "kunit.filter_glob=rust_doctests_kernel.rust_doctest_kernel_*o_rs_*" \
		--expect-first "# rust_doctests_kernel: pass:" --expect "# rust_doctests_kernel: pass:"
	doctests_ok "$(boot_part "$log" first | tr -d '\r')" first || return 1
	doctests_ok "$(boot_part "$log" second | tr -d '\r')" second
}

# The doctest verdicts of one boot's log ($1, the boot named $2): the
# suite passed with no failure, and kho.rs and folio.rs each had a
# doctest, every one ok.
doctests_ok() {
	local part=$1 boot=$2 m ok all
	grep -qE '^# rust_doctests_kernel: pass:[0-9]+ fail:0 ' <<<"$part" ||
		{ echo "$boot boot: no '# rust_doctests_kernel: pass:N fail:0' line"; return 1; }
	for m in kho folio; do
		all=$(grep -cE "^ +(not )?ok [0-9]+ rust_doctest_kernel_${m}_rs_[0-9]+" <<<"$part" || true)
		ok=$(grep -cE "^ +ok [0-9]+ rust_doctest_kernel_${m}_rs_[0-9]+\$" <<<"$part" || true)
		[ "$all" -ge 1 ] && [ "$ok" -eq "$all" ] ||
			{ echo "$boot boot: kernel::$m: $ok of $all doctests ok"; return 1; }
		[ "$boot" != first ] || echo "# kernel::$m: $ok doctests ok in each boot"
	done
	[ "$boot" != first ] || grep -m1 -E '^# rust_doctests_kernel: pass:' <<<"$part" | sed 's/^/# /'
}

# The Rust tracker on a NUMA kernel (configs/rust-numa.config), booted with
# two emulated nodes: numa=fake=2560M ends node 0 at 0xa2001000, inside low
# memory and 4 KiB past a pageblock boundary (memory starts at 0x1000), and
# node 1 holds the rest, below and above 4 GiB. No other test kernel has
# NUMA, and only with it do the range calls ask for the node of every block
# (crosses_nodes(), kho_radix_rs_pfn_nid()), as kho_preserve_pages() does on
# a NUMA server. The selftest's folios lie on both nodes; they, test_kho and
# a reserve_mem area must come back in the second kernel, and the KUnit
# suites pass in both boots (all but the range suite, which needs !NUMA, see
# kho_radix_kunit.rs). kho_radix_numa must run, not skip: it preserves a
# range across that boundary, which the node check must split. Last, a
# block across the boundary, put into the outgoing tree by
# khotest_corrupt=across_nodes, must make the next kernel reject the tree.
t_numa_roundtrip() {
	local k log=$logdir/numa.serial o=$KHO_CACHE/build-rust-numa/kernel/liveupdate/kho_radix_rs/kho_radix.o
	k=$("$REPO_ROOT/scripts/build-kernel.sh" rust-numa) || return 1
	# The code that only NUMA compiles has no panic path either, and this
	# kernel's tracker does ask for nodes.
	"$REPO_ROOT/scripts/check-no-panic.sh" "$o" || return 1
	grep -qw kho_radix_rs_pfn_nid <<<"$(nm -u "$o")" ||
		{ echo "kho_radix.o of the NUMA kernel does not call kho_radix_rs_pfn_nid()"; return 1; }
	"$REPO_ROOT/scripts/qemu-kexec.sh" --first "$k" --log "$log" --mem 6G \
		--append "numa=fake=2560M" --expect-first "Faking node 1 at" \
		--expect-first "radix tracker: Rust" --expect "radix tracker: Rust" \
		--expect "preserved-memory tree validated" \
		--expect "test_kho: KHO restore succeeded" \
		--expect "kho_radix_selftest: restored" "${reserve_mem_args[@]}"
	validated_before_revived "$log"
	kunit_suites_ok_in_both_boots "$log" "concurrency differential alloc_failure edge reclaim glue unmap numa adopt misuse"
	grep -a -m2 'Faking node [01] at' "$log" | tr -d '\r' | sed 's/^\[[^]]*\] //; s/^/# /'
	grep -a -m1 'range_splits_at_node_boundary: pfns' "$log" | tr -d '\r' | sed 's/^.*: pfns/# kho_radix_numa: pfns/'
	selftest_folios_ok "$log" || return 1
	# A handed-over block across that boundary, which neither tracker
	# writes, must be rejected with its own reason.
	KHO_CORRUPT_MEM=6G KHO_CORRUPT_APPEND=numa=fake=2560M \
		"$REPO_ROOT/selftests/corrupt.sh" "$k" "$logdir/numa-corrupt" across_nodes | sed 's/^/# /'
}

# The in-kernel benchmark (kho_radix_bench.c, `make bench` runs it at full
# size) at its smallest size: every workload must run on both trackers and
# end with the same keys in both trees, and print a complete row. Its timings
# are not checked; they come from the debug kernel here.
t_kernel_bench_smoke() {
	local log=$logdir/kernel-bench.serial rows n try first clock_ok=1
	# A guest that cannot calibrate its TSC against the emulated PIT (seen
	# under TCG with the host busy) falls back to jiffies, and every time it
	# measures is 0: boot once more; if that happens again, skip the one
	# check that needs a clock.
	for try in 1 2; do
		"$REPO_ROOT/scripts/qemu-kexec.sh" --first "$KHO_CACHE/build-rust-tracker/arch/x86/boot/bzImage" \
			--log "$log" --append "kho_radix_bench.run=1 kho_radix_bench.max_n=1024 kho_radix_bench.reps=2" \
			--expect-first "kho_radix_bench: done: 0 of 15 tests failed" \
			--expect "kho_radix_bench: not run on a boot with a KHO handover" || return 1
		first=$(boot_part "$log" first)
		grep -aq 'Marking TSC unstable' <<<"$first" || { clock_ok=1; break; }
		clock_ok=0
		echo "# boot $try: the guest marked its TSC unstable, so it measured no time"
	done
	rows=$(tr -d '\r' <"$log" | grep -E '# kho_radix_bench: row [a-z_]+ n=1024 ops=[0-9]+ c_min_ps=[0-9]+ c_med_ps=[0-9]+ rs_min_ps=[0-9]+ rs_med_ps=[0-9]+ c_pages=[0-9]+ rs_pages=[0-9]+ c_read_ps=[0-9]+ rs_read_ps=[0-9]+$' || true)
	n=$(grep -c . <<<"$rows" || true)
	[ "$n" -eq 15 ] || { echo "$n complete benchmark rows, expected 15"; return 1; }
	grep -q 'row unpreserve_seq .* rs_pages=1 ' <<<"$rows" ||
		{ echo "reclaiming unpreserve did not leave the Rust tree at one page"; return 1; }
	grep -q 'row unpreserve_random .* rs_pages=1 ' <<<"$rows" ||
		{ echo "reclaiming unpreserve in random order did not leave the Rust tree at one page"; return 1; }
	grep -q 'row unpreserve_scattered .* rs_pages=1 ' <<<"$rows" ||
		{ echo "reclaiming unpreserve of scattered pages did not leave the Rust tree at one page"; return 1; }
	grep -q 'row unpreserve_ranges .* rs_pages=1 ' <<<"$rows" ||
		{ echo "range unpreserve did not leave the Rust tree at one page"; return 1; }
	grep -q 'row unpreserve_ranges_random .* rs_pages=1 ' <<<"$rows" ||
		{ echo "random-order range unpreserve did not leave the Rust tree at one page"; return 1; }
	# The sparse walks' floor: both trees' leaves were read after the walk.
	if [ "$clock_ok" = 1 ]; then
		n=$(grep -cE 'row walk_sparse(_closure|_restore)? .* c_read_ps=[1-9][0-9]* rs_read_ps=[1-9][0-9]*$' <<<"$rows" || true)
		[ "$n" -eq 3 ] || { echo "$n sparse walk rows with the read of their leaves timed, expected 3"; return 1; }
	else
		echo "# no guest clock in 2 boots: the check that the sparse walks' leaf reads were timed is skipped"
	fi
	sed 's/^.*# kho_radix_bench: row /# /' <<<"$rows"
}

# The benchmark kernel (configs/bench-rust.config) at 65536 pages: a row
# whose Rust/C ratio is far above every `make bench` run, in each of up to
# three boots, fails (scripts/bench-tripwire.sh has the limits). The
# regression of 7533330, the per-page preserve at 1.12 of C, went unseen
# for a session because nothing in `make check` timed the benchmark kernel.
t_kernel_bench_tripwire() {
	local log=$logdir/kernel-bench-tripwire.serial slow=$logdir/kernel-bench-tripwire-slow.serial
	local tw=$REPO_ROOT/scripts/bench-tripwire.sh
	rm -f "$log" "$log".[0-9]
	"$tw" "$log" | sed 's/^/# /'
	# The verdict over several boots, on these rows: a boot whose
	# del_key_random took Rust 20 times C's time trips it; so do two such
	# boots; a boot like this run's after it does not.
	awk '/# kho_radix_bench: row del_key_random n=65536 / {
		for (i = 1; i <= NF; i++) if ($i ~ /^c_min_ps=/) c = substr($i, 10)
		for (i = 1; i <= NF; i++) if ($i ~ /^rs_min_ps=/) $i = "rs_min_ps=" 20 * c
	} 1' "$log" >"$slow"
	"$tw" --judge "$slow" >/dev/null && { echo "a boot with del_key_random at 20x C passed"; return 1; }
	"$tw" --judge "$slow" "$slow" >/dev/null && { echo "two boots with del_key_random at 20x C passed"; return 1; }
	"$tw" --judge "$slow" "$log"* >/dev/null ||
		{ echo "a boot with del_key_random at 20x C failed the run though a later boot passed"; return 1; }
	echo "# verdict over boots: a row at 20x C in every boot trips, in one boot of two does not"
}

# /sys/kernel/debug/kho/radix_stats (kho_radix_stats.c) read by the first
# boot's init just before kexec must be self-consistent and must agree with
# what the second kernel's validator counts in the tree it receives.
t_radix_stats_debugfs() {
	local log=$logdir/radix-stats.serial stats o n pages=0 keys=0 tables leaves v
	"$REPO_ROOT/scripts/qemu-kexec.sh" --first "$KHO_CACHE/build-rust-tracker/arch/x86/boot/bzImage" \
		--log "$log" --expect-first "kho-init: radix_stats: tracker rust" \
		--expect "preserved-memory tree validated"
	stats=$(tr -d '\r' <"$log" | sed -n 's/^kho-init: radix_stats: //p')
	echo "$stats" | sed 's/^/# /'
	get() { awk -v k="$1" '$1 == k { print $2 }' <<<"$stats"; }
	for o in $(seq 0 10); do
		n=$(awk -v o="$o" '$1 == "order" && $2 == o { print $3 }' <<<"$stats")
		[ "${n:-0}" -ge 4 ] || { echo "order $o: ${n:-0} blocks, the selftest alone preserves 4"; return 1; }
	done
	while read -r _ o n; do
		pages=$((pages + (n << o)))
		keys=$((keys + n))
	done < <(grep '^order ' <<<"$stats")
	[ "$(get preserved_pages)" -eq "$pages" ] || { echo "preserved_pages != sum of blocks << order ($pages)"; return 1; }
	[ "$(get preserved_bytes)" -eq $((pages * 4096)) ] || { echo "preserved_bytes wrong"; return 1; }
	tables=$(get tables) leaves=$(get leaves)
	[ "$(get metadata_bytes)" -eq $(((tables + leaves) * 4096)) ] || { echo "metadata_bytes wrong"; return 1; }
	v=$(grep -m1 -o 'tree validated: [0-9]* tables, [0-9]* leaves, [0-9]* keys' "$log")
	[ "$v" = "tree validated: $tables tables, $leaves leaves, $keys keys" ] ||
		{ echo "first kernel: $tables tables, $leaves leaves, $keys keys; second kernel: $v"; return 1; }
	echo "# matches the second kernel's validation: $v"
}

# The second kernel must refuse a damaged handover with a precise pr_err and
# boot on; selftests/corrupt.sh damages the first kernel's tree or FDT
# property in each supported way just before kexec. Three kinds again with
# 6 GiB: only with memory above 4 GiB is the low zones' memory map
# initialised right after the drop, from whatever scratch areas are set
# then; before patch 0023 the incoming ones still were, and 45 pageblocks
# stayed CMA for the boot.
t_corrupt_handover_rejected() {
	local out bz=$KHO_CACHE/build-rust-tracker/arch/x86/boot/bzImage
	out=$("$REPO_ROOT/selftests/corrupt.sh" "$bz" "$logdir/corrupt") ||
		{ echo "$out"; return 1; }
	echo "$out"
	grep -E '^ok [0-9]+ ' <<<"$out" | sed 's/^/# /'
	out=$(KHO_CORRUPT_MEM=6G "$REPO_ROOT/selftests/corrupt.sh" "$bz" "$logdir/corrupt-6g" \
		bad_key cycle overlap) || { echo "$out"; return 1; }
	grep -E '^ok [0-9]+ ' <<<"$out" | sed 's/^/# 6 GiB: /'
}

# make check-kasan: the Rust tracker's test kernel again, built with clang
# and the sanitizers (configs/rust-kasan.config), which must have
# instrumented our code:
#  - KASAN: kho_radix.o must call KASAN's reports for 8-byte loads and
#    stores, the tree's words (without -Zsanitizer=kernel-address, none);
#  - rustc's debug assertions: kho_radix.o must call core's panic for a
#    misaligned pointer dereference (without them, it has no such check);
#  - UBSAN: the C tracker's copy, all shifts and masks, must call the
#    shift-out-of-bounds handler.
# The KASAN kernel boots without 5-level paging (QEMU_CPU overrides).
# With LA57, an interrupt that comes while identify_cpu() has cleared
# boot_cpu_data's feature bits (before get_cpu_cap() sets them again)
# makes KASAN see pgtable_l5_enabled() false, and so
# KASAN_SHADOW_START as if for 4-level paging: it reports the irq_desc
# lock, in the 5-level direct map, as a wild-memory-access. That is a
# false positive in x86 and KASAN, reported upstream against 7.1-rc5
# ("kasan: Fix false-positive wild-memory-access on x86 under 5-level
# paging", June 2026) and still in 7.3; it failed about one boot in
# five here. make check's gcc kernel keeps -cpu max, with 5-level paging.
kasan_qemu_cpu() {
	export QEMU_CPU=${QEMU_CPU:-max,la57=off}
}

t_build_rust_kasan() {
	local d=$KHO_CACHE/build-rust-kasan/kernel/liveupdate/kho_radix_rs s syms csyms
	"$REPO_ROOT/scripts/build-kernel.sh" rust-kasan
	syms=$(nm "$d/kho_radix.o")
	for s in __asan_report_load8_noabort __asan_report_store8_noabort; do
		grep -qE " U $s\$" <<<"$syms" || { echo "kho_radix.o does not call $s: not instrumented"; return 1; }
	done
	grep -qE ' U .*panic_misaligned_pointer_dereference$' <<<"$syms" ||
		{ echo "kho_radix.o has no misaligned-dereference check: no debug assertions"; return 1; }
	csyms=$(nm "$d/kho_radix_cref.o")
	grep -qE ' U __ubsan_handle_shift_out_of_bounds$' <<<"$csyms" ||
		{ echo "kho_radix_cref.o does not call __ubsan_handle_shift_out_of_bounds: no UBSAN"; return 1; }
	echo "# clang, KASAN generic inline: kho_radix.o calls $(grep -c ' U __asan_report_' <<<"$syms") KASAN report functions"
	echo "# rustc debug assertions: kho_radix.o calls $(grep -cE ' U .*core9panicking' <<<"$syms") of core's panics"
	echo "# UBSAN with shifts: kho_radix_cref.o calls the shift-out-of-bounds handler"
}

# One boot pair of the KASAN kernel runs what the other tests run on the
# gcc kernel, under the sanitizers: the benchmark at its three sizes, up
# to 1048576 pages (every workload on both trackers, once; the trees make
# check builds are far smaller), and the selftest's folios in the first
# boot, the restore and validation of the handed-over tree in the second,
# and every KUnit suite and the module test (kho_radix_modtest.ko, see
# radix_api_from_module) in both. A KASAN report prints "BUG: KASAN: ...", a
# UBSAN report "UBSAN: ...", a failed debug assertion "panicked at": each
# fails the runner, and a KASAN report the KUnit test it happens in. The
# runner sizes the KHO scratch areas for KASAN's shadow (see qemu-kexec.sh).
t_kasan_boots() {
	kasan_qemu_cpu
	local log=$logdir/kasan.serial b=$KHO_CACHE/build-rust-kasan
	luo_programs "$b"
	"$REPO_ROOT/scripts/qemu-kexec.sh" --first "$b/arch/x86/boot/bzImage" \
		"${luo_api_args[@]}" "${luo_rust_args[@]}" "${luo_kexec_args[@]}" \
		--module "$b/kernel/liveupdate/kho_radix_rs/selftests/kernel/kho_radix_modtest.ko" \
		--log "$log" --mem 6G --timeout 900 \
		--append "kho_radix_bench.run=1 kho_radix_bench.max_n=1048576 kho_radix_bench.reps=1" \
		--expect-first "KernelAddressSanitizer initialized" \
		--expect-first "kho_radix_bench: done: 0 of 45 tests failed" \
		--expect-first "kho_radix_selftest: radix walk:" \
		--expect-first "kho_radix_modtest: pass:4 fail:0" \
		--expect "KernelAddressSanitizer initialized" \
		--expect "preserved-memory tree validated" \
		--expect "kho_radix_selftest: restored" \
		--expect "test_kho: KHO restore succeeded" \
		--expect "kho_radix_modtest: pass:4 fail:0"
	kunit_suites_ok_in_both_boots "$log"
	selftest_verdicts_ok "$log"
	echo "# KASAN on in both boots, no KASAN or UBSAN report, no Rust panic: 15 benchmark workloads at 3 sizes, $(wc -w <<<"$kunit_suites") KUnit suites and the module's 4 tests twice"
	echo "# and the LUO kselftests: liveupdate pass:$luo_api_tests fail:0, stage 2 of ${luo_kexec_tests[*]} passed"
	grep -m1 -o 'luo_reclaim: PASSED.*' "$log" | tr -d '\r' | sed 's/^/# /'
	luo_keys_validated "$log"
	echo "# QEMU -cpu $QEMU_CPU"
	# grep reads the log itself: behind a pipe, `grep -m1` stops reading
	# before the writer is done, which then fails on SIGPIPE (pipefail).
	grep -m1 -oE 'kho_radix_selftest: restored .*' "$log" | tr -d '\r' |
		sed 's/^kho_radix_selftest: /# /'
	# luo_chain's three boots too: the middle kernel restores the memfd's
	# folios and preserves them again, under KASAN.
	log=$logdir/kasan-chain.serial
	luo_chain_boots rust-kasan rust-kasan rust-kasan "$log" --mem 6G --timeout 600
	[ "$(grep -c 'KernelAddressSanitizer initialized' "$log")" -eq 3 ] ||
		{ echo "KASAN did not say it was initialized in each of luo_chain's three boots"; return 1; }
	echo "# luo_chain: KASAN on in its three boots"
}

# ABI compatibility across compilers and configurations: the gcc-built C
# tracker and the clang-built Rust tracker with KASAN hand over to each
# other. In the C -> Rust direction the Rust tracker validates and walks a
# tree it did not build, under KASAN. test_kho checks every folio's
# contents after the kexec; it can only compare its checksums across a
# KASAN and a non-KASAN kernel with patch 0061 (x86 uses the generic
# csum_partial() with KASAN).
t_kasan_interop() {
	kasan_qemu_cpu
	"$REPO_ROOT/scripts/build-kernel.sh" c-tracker
	interop_kexec c-tracker rust-kasan kasan-interop-c-to-rust.serial \
		--expect "KernelAddressSanitizer initialized"
	echo "# gcc C tracker -> clang KASAN Rust tracker: tree validated, test_kho restore succeeded"
	interop_kexec rust-kasan c-tracker kasan-interop-rust-to-c.serial \
		--expect-first "KernelAddressSanitizer initialized"
	echo "# clang KASAN Rust tracker -> gcc C tracker: test_kho restore succeeded"
}

# A damaged handover under KASAN: every kind of corrupt_handover_rejected
# again, on the KASAN kernel. The second kernel rejects the tree in early
# boot, so its nodes are not reserved: they go to the buddy allocator with
# the rest of free memory, where KASAN poisons them, and any later access to
# a rejected node prints a KASAN report, which fails the runner. The first
# kernel's damage (kho_radix_corrupt.c) is checked too. The validator reads
# memblock memory, which generic KASAN does not bound; its own bounds
# checks are fuzzed on the host instead (host/fuzz, target tree_image).
# Both boots of every kind must have had KASAN.
# The guest has 2G, but the scratch areas qemu-kexec.sh gives a 1G KASAN
# guest: with 1G, once in about 45 boot pairs the second kernel, after it
# dropped the handover, found no room for the 256M global area next to its
# KASAN shadow and turned KHO off.
t_kasan_corrupt() {
	kasan_qemu_cpu
	local out f n
	rm -rf "$logdir/kasan-corrupt"
	out=$(KHO_CORRUPT_MEM=2G KHO_CORRUPT_APPEND=kho_scratch=64M,256M,128M \
		"$REPO_ROOT/selftests/corrupt.sh" \
		"$KHO_CACHE/build-rust-kasan/arch/x86/boot/bzImage" "$logdir/kasan-corrupt") ||
		{ echo "$out"; return 1; }
	echo "$out"
	for f in "$logdir"/kasan-corrupt/c-*.serial; do
		n=$(grep -c 'KernelAddressSanitizer initialized' "$f" || true)
		[ "$n" -eq 2 ] || { echo "$f: KASAN initialized in $n boots, not 2"; return 1; }
	done
	echo "# every kind rejected with KASAN on in both boots, no KASAN or UBSAN report, no Rust panic"
	grep -E '^ok [0-9]+ ' <<<"$out" | sed 's/^/# /'
}

# make check-miri: the host tests under Miri, which reports undefined
# behaviour in the sources the kernel shares with the host crate (accesses
# out of bounds, misaligned or after free, aliasing that Stacked Borrows
# forbids, integers cast to pointers under strict provenance) and memory
# leaks. The canary first: a read of a freed leaf on purpose, which Miri
# must stop. Then one page size (`KHO_MIRI_FILTER`, default 4K: the code is
# the same for all three) with two cases per proptest; the hand-made random
# tests run a few rounds under Miri (`kho_radix_host::rounds()`). Last the
# tree_image fuzz replay, for the validator on damaged trees.
t_miri_host() {
	local out
	cd "$REPO_ROOT/host"
	export MIRIFLAGS="-Zmiri-strict-provenance -Zmiri-disable-isolation"
	export PROPTEST_CASES=${KHO_MIRI_PROPTEST_CASES:-2}
	echo "# $(rustup run "$MIRI_TOOLCHAIN" cargo miri --version 2>/dev/null || echo "cargo miri: version unknown"), MIRIFLAGS=$MIRIFLAGS"
	out=$(cargo +"$MIRI_TOOLCHAIN" miri test --locked -q -p kho-radix-host --test miri_canary -- --ignored 2>&1) &&
		{ tail -n 20 <<<"$out"; echo "Miri did not stop the canary's read of a freed leaf"; return 1; }
	grep -q "Undefined Behavior" <<<"$out" ||
		{ tail -n 20 <<<"$out"; echo "the canary failed, but not with a Miri report"; return 1; }
	echo "# canary: $(grep -m1 -o 'Undefined Behavior: .*' <<<"$out")"
	cargo +"$MIRI_TOOLCHAIN" miri test --locked --no-fail-fast -p kho-radix-host -- "${KHO_MIRI_FILTER:-geom4k::}" \
		-Z unstable-options --report-time 2>&1 |
		awk '{ print } /^test result:/ { p += $4; f += $6 } END { printf "# under Miri: %d ok, %d failing\n", p, f; exit (f > 0 || p == 0) }'
	# The validator on mutated tree images: the tree_image fuzz target's
	# stable replay, all three page sizes, on fewer random images. Its crate
	# builds the C benchmark side from the pristine tree (not called here).
	export KHO_LINUX_SRC=${KHO_LINUX_SRC:-${KERNEL_SRC:-$LINUX_PRISTINE}}
	local images=${KHO_MIRI_FUZZ_N:-30}
	KHO_FUZZ_REPLAY_N=$images cargo +"$MIRI_TOOLCHAIN" miri test --locked \
		-p kho-radix-bench --test fuzz_replay_tree_image -- -Z unstable-options --report-time 2>&1 |
		awk -v n="$images" '{ print } /^test result:/ { p += $4; f += $6 } END { printf "# tree_image replay under Miri (%d random images): %d ok, %d failing\n", n, p, f; exit (f > 0 || p != 2) }'
}

# make check-uml and make check-cross: patch 0064's kernel::warn_on_once!
# where warnings do not go through the bug table. The test kernels are
# x86-64, where it is BUGFLAG_ONCE in the bug table; on UML, LoongArch and
# ARM it keeps a flag per call site instead, code no other test compiles.
# Each test builds a kernel with the kernel crate's doctests from a private
# copy of the patched tree (the shared one stays as the other kernels'
# builds left it) to which one doctest is added: a call site that sees its
# condition true twice must return true both times and warn once. The UML
# and ARM kernels run the doctests of bug.rs at boot (KUnit), and the
# console log is parsed. Not in make check: the tree copy and a build take
# minutes from scratch.

# What every probe kernel has, and the KUnit filter that runs bug.rs's
# doctests alone.
warn_once_kconfig="CONFIG_BUG=y CONFIG_KUNIT=y CONFIG_RUST=y CONFIG_RUST_KERNEL_DOCTESTS=y"
warn_once_filter='kunit.filter_glob=rust_doctests_kernel.rust_doctest_kernel_bug_rs_*'

# Prints the private tree, prepared, with the probe in rust/kernel/bug.rs.
# Run in a command substitution, where `set -e` does not hold: each step
# returns on failure itself.
warn_once_probe_tree() {
	local tree bug new
	tree=$(KHO_TREE=$KHO_CACHE/linux-tree-probe "$REPO_ROOT/scripts/prepare-tree.sh") || return 1
	bug=$tree/rust/kernel/bug.rs
	new=$(mktemp)
	# The probe goes after the example of warn_on_once!, which patch 0064
	# ends with checked_div(); rewritten only if it changed, so that the
	# kernel crate is not rebuilt on every run.
	git -C "$tree" show HEAD:rust/kernel/bug.rs | awk '
		{ print }
		/^\/\/\/ assert_eq!\(checked_div\(6, 3\), Some\(2\)\);$/ { ex = 1; next }
		ex && /^\/\/\/ ```$/ {
			ex = 0; n++
			print "///"
			print "/// ```"
			print "/// fn warns_once(cond: bool) -> bool {"
			print "///     kernel::warn_on_once!(cond)"
			print "/// }"
			print "/// pr_info!(\"warn_on_once probe: begin\\n\");"
			print "/// assert!(warns_once(true));"
			print "/// assert!(warns_once(true));"
			print "/// assert!(!warns_once(false));"
			print "/// pr_info!(\"warn_on_once probe: end\\n\");"
			print "/// ```"
		}
		END { exit n != 1 }' >"$new" ||
		{ rm -f "$new"; echo "no example of warn_on_once! in rust/kernel/bug.rs: is patch 0064 applied?" >&2; return 1; }
	cmp -s "$new" "$bug" || cp "$new" "$bug" || { rm -f "$new"; return 1; }
	rm -f "$new"
	echo "$tree"
}

# Configures build directory $2 for tree $1, again only when its options
# changed: make variables $3 (one per line), Kconfig options $4 (separated
# by blanks) and $warn_once_kconfig filled in by $5 (olddefconfig:
# Kconfig's defaults; allnoconfig: everything else off). Checks that every
# option held.
warn_once_config() {
	local tree=$1 b=$2 args=$3 frag mode=$5 o
	frag=$(printf '%s\n' $4 $warn_once_kconfig)
	mkdir -p "$b"
	printf '%s\n' "$args" >"$b/.kho-make-args"
	if [ ! -f "$b/.config" ] || [ "$(cat "$b/kho-probe.config" 2>/dev/null)" != "$frag" ]; then
		printf '%s\n' "$frag" >"$b/kho-probe.config"
		if [ "$mode" = allnoconfig ]; then
			"$REPO_ROOT/scripts/kmake.sh" "$tree" "$b" allnoconfig KCONFIG_ALLCONFIG="$b/kho-probe.config" >/dev/null
		else
			cp "$b/kho-probe.config" "$b/.config"
			"$REPO_ROOT/scripts/kmake.sh" "$tree" "$b" olddefconfig >/dev/null
		fi
	fi
	for o in $frag; do
		grep -qx "$o" "$b/.config" || { echo "$b/.config: not $o"; return 1; }
	done
}

# Runs probe kernel $3... (described as $2) to its end under a timeout,
# its console in log $1.
warn_once_boot() {
	local log=$1 what=$2 rc
	shift 2
	timeout "${KHO_QEMU_TIMEOUT:-240}" "$@" </dev/null >"$log" 2>&1 && return 0 || rc=$?
	tail -n 30 "$log"
	echo "$what failed or timed out (exit $rc)"
	return 1
}

# Parses console log $1 of a boot that ran the bug.rs doctests on $2; the
# probe's WARNING line must match $3, where the warning comes from.
warn_once_verdict() {
	tr -d '\r' <"$1" | awk -v f="$1" -v arch="$2" -v from="$3" '
		/warn_on_once probe: begin/ { inp = 1 }
		inp && /WARNING: / { w++; if ($0 !~ from) { other++; print "not the probe'"'"'s: " $0 } }
		/warn_on_once probe: end/ { inp = 0; done = 1 }
		/^ *ok [0-9]+ rust_doctest_kernel_bug_rs_/ { ok++ }
		/not ok/ { bad++ }
		/# Totals:/ { totals = substr($0, index($0, "# Totals:") + 2) }
		END {
			if (!done) { print "the probe did not run to its end (" f ")"; exit 1 }
			if (bad || ok < 2) { print "bug.rs doctests: " ok " ok, " bad " not ok (" f ")"; exit 1 }
			if (w != 1 || other) { print "the probe warned " w " times, not once (" f ")"; exit 1 }
			print "# " arch " (flag per call site): " ok " doctests of bug.rs ok (KUnit " totals ")"
			print "# a call site true twice returned true twice and warned once"
		}'
}

t_warn_on_once_uml() {
	local tree b=$KHO_CACHE/build-uml log=$logdir/uml.console
	tree=$(warn_once_probe_tree)
	warn_once_config "$tree" "$b" ARCH=um CONFIG_UML=y olddefconfig
	step "building UML with the kernel crate's doctests in $b"
	"$REPO_ROOT/scripts/kmake.sh" "$tree" "$b" linux
	# UML's console on stdin/stdout; KUnit halts the kernel when done.
	warn_once_boot "$log" "the UML kernel" "$b/linux" mem=256M con=null con0=fd:0,fd:1 \
		kunit_shutdown=halt "$warn_once_filter"
	# warn_flags! names the doctest's own line here.
	warn_once_verdict "$log" "UML (CONFIG_UML=y)" 'rust_doctest_kernel_bug_rs_'
}

# ARMv7, built by clang (LLVM=-19: no ARM gcc here; fetch-deps.sh --cross
# installs clang and qemu-system-arm) from allnoconfig and what the probe
# needs, booted on QEMU's virt board under TCG. RAM starts at 1 GiB there:
# without the two options for a physical offset found at boot, which
# allnoconfig turns off, the kernel would print nothing. PSCI powers it off
# when KUnit is done.
t_warn_on_once_arm() {
	local tree b=$KHO_CACHE/build-arm log=$logdir/arm.console
	tree=$(warn_once_probe_tree)
	warn_once_config "$tree" "$b" "$(printf 'ARCH=arm\nLLVM=-19')" "
		CONFIG_MMU=y CONFIG_ARCH_MULTI_V7=y CONFIG_ARCH_VIRT=y CONFIG_VFP=y
		CONFIG_ARM_PATCH_PHYS_VIRT=y CONFIG_AUTO_ZRELADDR=y
		CONFIG_PRINTK=y CONFIG_EXPERT=y CONFIG_TTY=y
		CONFIG_SERIAL_AMBA_PL011=y CONFIG_SERIAL_AMBA_PL011_CONSOLE=y
		CONFIG_ARM_PSCI=y CONFIG_KUNIT_DEFAULT_ENABLED=y
		CONFIG_KUNIT_AUTORUN_ENABLED=y" allnoconfig
	step "building ARM (LLVM=-19) with the kernel crate's doctests in $b"
	"$REPO_ROOT/scripts/kmake.sh" "$tree" "$b" zImage
	warn_once_boot "$log" "QEMU (ARM)" qemu-system-arm -M virt -cpu cortex-a15 -m 256 \
		-nographic -no-reboot -kernel "$b/arch/arm/boot/zImage" \
		-append "console=ttyAMA0 kunit_shutdown=poweroff $warn_once_filter"
	# warn_flags! calls C's WARN_ON() here (rust/kernel/bug.rs in 7.3),
	# whose line the warning names.
	warn_once_verdict "$log" "ARMv7 (CONFIG_ARM=y)" 'rust/helpers/bug[.]c:'
}

# LoongArch, built only: QEMU 7.2 boots it through UEFI firmware, which
# Debian 12 does not package. The probe's flag must be in vmlinux, as a
# static of its doctest (the x86-64 kernels have none: their warning is a
# bug table entry), so the fallback was compiled for LoongArch.
t_warn_on_once_loongarch() {
	local tree b=$KHO_CACHE/build-loongarch flag
	tree=$(warn_once_probe_tree)
	warn_once_config "$tree" "$b" "$(printf 'ARCH=loongarch\nLLVM=-19')" \
		"CONFIG_64BIT=y CONFIG_PRINTK=y CONFIG_EXPERT=y" allnoconfig
	step "building LoongArch (LLVM=-19) with the kernel crate's doctests in $b"
	"$REPO_ROOT/scripts/kmake.sh" "$tree" "$b" vmlinux
	flag=$(llvm-nm-19 "$b/vmlinux" | grep -E 'rust_doctest_kernel_bug_rs_.*warns_once.*WARNED$') || {
		echo "no static WARNED of the probe's warns_once() in $b/vmlinux: the fallback was not compiled"
		return 1
	}
	echo "# LoongArch (CONFIG_LOONGARCH=y): built; the probe's flag per call site is in vmlinux:"
	echo "#   $flag"
}

# In braces and ending in exit: bash reads a script while it runs it, so
# after an edit of this file during a run it would go on reading at the
# old offset in the new text once the loop is done (a run did, and ran
# tests again).
{
	for t in "${tests[@]}"; do
		run_test "$t"
	done
	echo "# Totals: pass:$passed fail:$failed skip:0"
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}
