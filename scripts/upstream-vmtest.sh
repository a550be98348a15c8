#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Upstream's own kselftest runners for KHO and LUO on a kernel built here:
# the flow of tools/testing/selftests/kho/vmtest.sh or
# tools/testing/selftests/liveupdate/vmtest.sh (of the patched tree), with
# their init.c and programs built and packed as they build them (static,
# on nolibc and the kernel's exported headers), booted with their QEMU
# options and command line.
#
#   kho: the init loads the same kernel with kexec_file_load() and the
#        same command line, without an initramfs, and reboots into it;
#        lib/test_kho.c preserved its folios in the first boot and restores
#        them in the second, which then ends, as under vmtest.sh, in a
#        panic for want of an init. Passes on "KHO restore succeeded".
#   liveupdate:TEST: the init loads the same kernel with an inner
#        initramfs and " luo_stage=2" added to the command line, runs
#        TEST (luo_kexec_simple by default) with -s 1 and reboots into the
#        next kernel, whose init runs it with -s 2 and powers off. Passes
#        on "TEST PASSED".
#
# Besides its runner's criterion, a run passes only if the second kernel
# booted, no boot crashed or warned (but for the kho flow's final panic
# for want of an init), and every --expect text is in the second boot's part
# of the log, every --expect-first text in the first boot's.
#
# What differs from the vmtest.sh scripts: the kernel is not configured and
# built here, so the options they set (their lists, read from their files)
# are checked in the kernel's .config, and a missing one fails the run
# where they would skip it; QEMU runs under TCG only (KVM hangs on the
# project's machines) within KHO_QEMU_TIMEOUT (default 240 s; the
# liveupdate one allows 30 s, for KVM); the command line also gets
# kunit.enable=0 (the Rust-tracker kernel's KUnit suites have a test of
# their own) and the --append arguments.
#
# Usage: upstream-vmtest.sh kho|liveupdate[:TEST] BUILD_DIR LOG
#        [--append "ARGS"]... [--expect TEXT]... [--expect-first TEXT]...
# Prints one KTAP result on stdout, as the vmtest.sh scripts do.
. "$(dirname "$0")/common.sh"
# It runs make in the build directory (the exported headers).
lock_cache scripts/upstream-vmtest.sh

usage="usage: upstream-vmtest.sh kho|liveupdate[:TEST] BUILD_DIR LOG [options]"
flow=${1:?$usage}
build=${2:?$usage}
log=${3:?$usage}
shift 3
append= timeout=${KHO_QEMU_TIMEOUT:-240} expects=() expects_first=()
while [ $# -gt 0 ]; do
	case $1 in
	--append) append="$append $2"; shift ;;
	--expect) expects+=("$2"); shift ;;
	--expect-first) expects_first+=("$2"); shift ;;
	*) die "upstream-vmtest.sh: unknown argument $1" ;;
	esac
	shift
done
suite=${flow%%:*}
test_name=luo_kexec_simple
[ "$flow" = "$suite" ] || test_name=${flow#*:}
case $suite in
kho | liveupdate) ;;
*) die "upstream-vmtest.sh: no flow '$flow' ($usage)" ;;
esac
name=${suite}_vmtest
[ "$suite" = kho ] || name="$name:$test_name"
kernel=$build/arch/x86/boot/bzImage
[ -f "$kernel" ] || die "upstream-vmtest.sh: no kernel at $kernel"

tree=$("$REPO_ROOT/scripts/prepare-tree.sh")
test_dir=$tree/tools/testing/selftests/$suite
[ -f "$test_dir/init.c" ] || die "upstream-vmtest.sh: $test_dir/init.c not found"

fail() {
	echo "not ok 1 $name # $*"
	[ ! -s "$log" ] || { echo "# last 30 lines of $log:"; tail -n 30 "$log" | sed 's/^/#   | /'; }
	exit 1
}
echo "KTAP version 1"
echo "1..1"

# build_kernel() writes these options into the .config it builds from;
# here each must already be set in the kernel's.
if [ "$suite" = kho ]; then
	opts=$(sed -n '/> "$kho_config" <<EOF/,/^EOF/p' "$test_dir/vmtest.sh" | grep '^CONFIG_' || true)
	opts+=$'\n'$(grep '^CONFIG_' "$test_dir/x86.conf" || true)
else
	opts=$(cat "$test_dir/config" "$test_dir/config.x86_64" | grep '^CONFIG_' || true)
fi
[ "$(grep -c '^CONFIG_' <<<"$opts")" -ge 10 ] ||
	fail "could not read vmtest.sh's kernel options (its build_kernel() changed?)"
# Left out on purpose (see configs/vmtest.config): LUO's test objects,
# which warn when a kernel without them hands files over to one with them.
left_out=CONFIG_LIVEUPDATE_TEST=y
while read -r opt; do
	[ -z "$opt" ] || [ "$opt" = "$left_out" ] || grep -qx -- "$opt" "$build/.config" ||
		fail "the kernel lacks $opt, which vmtest.sh sets"
done <<<"$opts"
has=$(grep -c '^CONFIG_' <<<"$(grep -vx -- "$left_out" <<<"$opts")")
echo "# the kernel has the $has options $suite's vmtest.sh sets$(
	grep -qx -- "$left_out" <<<"$opts" && echo ", all but $left_out")"

work=$(mktemp -d "${TMPDIR:-/tmp}/upstream-vmtest.XXXXXX")
trap 'rm -rf "$work"' EXIT
# mkinitrd(): the kernel's own exported headers, as its headers_install.
"$REPO_ROOT/scripts/kmake.sh" "$tree" "$build" headers >"$work/headers.log" 2>&1 ||
	{ tail -n 20 "$work/headers.log"; fail "make headers failed"; }
nolibc=(-nostdinc -nostdlib -I "$build/usr/include" -I "$tree/tools/include/nolibc")
[ -x "$build/usr/gen_init_cpio" ] || fail "$build/usr/gen_init_cpio was not built"
# What every initramfs of the vmtest.sh scripts starts with (gen_init_cpio).
cpio_base() {
	cat <<-EOF
	dir /dev 0755 0 0
	dir /proc 0755 0 0
	dir /debugfs 0755 0 0
	nod /dev/console 0600 0 0 c 5 1
	file /init $work/init 0755 0 0
	EOF
}
if [ "$suite" = kho ]; then
	gcc -s -static -Os "${nolibc[@]}" -fno-asynchronous-unwind-tables -fno-ident \
		-o "$work/init" "$test_dir/init.c" || fail "cannot build vmtest.sh's init.c"
	{ cpio_base; echo "file /kernel $kernel 0644 0 0"; } >"$work/cpio_list"
	cmdline="console=ttyS0 kho=on panic=-1"
	criterion="KHO restore succeeded"
else
	[ -f "$test_dir/$test_name.c" ] || die "upstream-vmtest.sh: no test $test_dir/$test_name.c"
	gcc -static -O2 "${nolibc[@]}" -I "$test_dir/lib/include" -o "$work/test_binary" \
		"$test_dir/$test_name.c" "$test_dir/lib/lu_utils.c" || fail "cannot build $test_name.c"
	gcc -s -static -Os "${nolibc[@]}" -fno-asynchronous-unwind-tables -fno-ident \
		-fno-stack-protector -o "$work/init" "$test_dir/init.c" ||
		fail "cannot build vmtest.sh's init.c"
	{ cpio_base; echo "file /test_binary $work/test_binary 0755 0 0"; } >"$work/cpio_list_inner"
	"$build/usr/gen_init_cpio" "$work/cpio_list_inner" >"$work/inner_initrd.cpio" ||
		fail "gen_init_cpio failed"
	{
		cpio_base
		echo "file /kernel $kernel 0644 0 0"
		echo "file /test_binary $work/test_binary 0755 0 0"
		echo "file /initrd.img $work/inner_initrd.cpio 0644 0 0"
	} >"$work/cpio_list"
	cmdline="console=ttyS0 liveupdate=on panic=-1"
	criterion="TEST PASSED"
fi
"$build/usr/gen_init_cpio" "$work/cpio_list" >"$work/initrd.cpio" || fail "gen_init_cpio failed"

# run_qemu(), under TCG and a timeout.
mkdir -p "$(dirname "$log")"
: >"$log"
rc=0
timeout --foreground -k 5 "$timeout" qemu-system-x86_64 -m 1G -smp 2 -no-reboot -nographic \
	-nodefaults -accel tcg -serial file:"$log" \
	-append "$cmdline kunit.enable=0$append" \
	-kernel "$kernel" -initrd "$work/initrd.cpio" </dev/null >"$work/qemu.out" 2>&1 || rc=$?
[ $rc -ne 124 ] && [ $rc -ne 137 ] || fail "timeout: QEMU still running after $timeout s"
[ $rc -eq 0 ] || fail "qemu exited with status $rc: $(head -c 300 "$work/qemu.out")"

# The first boot is the log up to the second "Linux version" line.
boots=$(grep -c 'Linux version ' "$log" || true)
[ "$boots" -eq 2 ] || fail "$boots kernels booted, expected 2 (the init's kexec failed?)"
# Both kernels on both CPUs (see qemu-kexec.sh).
ncpus=$(grep -cE 'smp: Brought up [0-9]+ nodes?, 2 CPUs' "$log" || true)
[ "$ncpus" -eq 2 ] || fail "$ncpus of 2 boots brought up 2 CPUs: $(grep -m1 'smp: Brought up' "$log" || echo 'no smp line')"
first_part=$(awk '/Linux version /{ n++ } n < 2' "$log")
second_part=$(awk '/Linux version /{ n++ } n >= 2' "$log")
crash=$KERNEL_CRASH_RE warn=$KERNEL_WARN_RE
! grep -qE "$crash|$warn" <<<"$first_part" ||
	fail "first boot: $(grep -m1 -E "$crash|$warn" <<<"$first_part")"
# The kho flow's second boot ends in a panic for want of an init, the one
# panic allowed (its two lines, the panic and the end of its report, say
# why); any other, anywhere in the boot, fails the run. Checked before the
# criterion, so that a run without it that crashed says so: a test that
# expects this flow to fail must not take a crash for the failure it wants.
no_init_panic='Kernel panic - not syncing: No working init found'
rest=$second_part
[ "$suite" != kho ] || rest=$(grep -vF -- "$no_init_panic" <<<"$second_part" || true)
! grep -qE "$crash|$warn" <<<"$rest" ||
	fail "second boot: $(grep -m1 -E "$crash|$warn" <<<"$rest")"
grep -qF -- "$criterion" <<<"$second_part" || fail "$suite failed: no '$criterion' in the second boot"
for m in "${expects[@]}"; do
	grep -qF -- "$m" <<<"$second_part" || fail "missing marker: '$m' not in the second boot's log"
done
for m in "${expects_first[@]}"; do
	grep -qF -- "$m" <<<"$first_part" || fail "missing marker: '$m' not in the first boot's log"
done
end=$(grep -m1 -o 'Kernel panic - not syncing: [^.]*' <<<"$second_part" || true)
echo "# second boot ended with: ${end:-a reboot by the init}"
echo "ok 1 $name # $criterion ($(basename "$build"), log: $log)"
