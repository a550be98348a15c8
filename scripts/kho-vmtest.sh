#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Upstream's KHO kselftest (tools/testing/selftests/kho of the patched
# tree) on a kernel built here: its init.c, built and packed as its
# vmtest.sh does (static, on nolibc and the kernel's exported headers; an
# initramfs holding the init and the kernel image), booted with vmtest.sh's
# QEMU options and command line. The init kexecs into the same kernel with
# the same command line and no initramfs: lib/test_kho.c preserved its
# folios in the first boot and restores them in the second, which then
# ends as under vmtest.sh, in a panic for want of a root file system.
#
# It passes, as vmtest.sh does, if the log says "KHO restore succeeded";
# and only if, besides, the second kernel booted, no boot crashed or warned
# before that final panic, and every --expect text is in the second boot's
# part of the log, every --expect-first text in the first boot's.
#
# What differs from vmtest.sh: the kernel is not configured and built here,
# so the options vmtest.sh sets (its list, read from vmtest.sh and x86.conf)
# are checked in the kernel's .config, and a missing one fails the test
# where vmtest.sh would skip it; QEMU runs under TCG only (KVM hangs on the
# project's machines), within a timeout; the command line also gets
# kunit.enable=0 (the Rust-tracker kernel's built-in KUnit suites have a
# test of their own) and the --append arguments.
#
# Usage: kho-vmtest.sh BUILD_DIR LOG [--append "ARGS"]... [--expect TEXT]...
#        [--expect-first TEXT]... [--timeout SECONDS]
# Prints one KTAP result on stdout, as vmtest.sh does.
. "$(dirname "$0")/common.sh"
# It runs make in the build directory (the exported headers).
lock_cache scripts/kho-vmtest.sh

build=${1:?usage: kho-vmtest.sh BUILD_DIR LOG [options]}
log=${2:?usage: kho-vmtest.sh BUILD_DIR LOG [options]}
shift 2
append= timeout=${KHO_QEMU_TIMEOUT:-240} expects=() expects_first=()
while [ $# -gt 0 ]; do
	case $1 in
	--append) append="$append $2"; shift ;;
	--expect) expects+=("$2"); shift ;;
	--expect-first) expects_first+=("$2"); shift ;;
	--timeout) timeout=$2; shift ;;
	*) die "kho-vmtest.sh: unknown argument $1" ;;
	esac
	shift
done
kernel=$build/arch/x86/boot/bzImage
[ -f "$kernel" ] || die "kho-vmtest.sh: no kernel at $kernel"

tree=$("$REPO_ROOT/scripts/prepare-tree.sh")
test_dir=$tree/tools/testing/selftests/kho
[ -f "$test_dir/init.c" ] || die "kho-vmtest.sh: $test_dir/init.c not found"

fail() {
	echo "not ok 1 kho_vmtest # $*"
	[ ! -s "$log" ] || { echo "# last 30 lines of $log:"; tail -n 30 "$log" | sed 's/^/#   | /'; }
	exit 1
}
echo "KTAP version 1"
echo "1..1"

# vmtest.sh's build_kernel() writes its options into the .config it builds
# from; here each must already be set in the kernel's.
opts=$(sed -n '/> "$kho_config" <<EOF/,/^EOF/p' "$test_dir/vmtest.sh" | grep '^CONFIG_' || true)
opts+=$'\n'$(grep '^CONFIG_' "$test_dir/x86.conf" || true)
[ "$(grep -c '^CONFIG_' <<<"$opts")" -ge 10 ] ||
	fail "could not read vmtest.sh's kernel options (its build_kernel() changed?)"
while read -r opt; do
	[ -z "$opt" ] || grep -qx -- "$opt" "$build/.config" ||
		fail "the kernel lacks $opt, which vmtest.sh sets"
done <<<"$opts"
echo "# the kernel has the $(grep -c '^CONFIG_' <<<"$opts") options vmtest.sh sets"

work=$(mktemp -d "${TMPDIR:-/tmp}/kho-vmtest.XXXXXX")
trap 'rm -rf "$work"' EXIT
# mkinitrd(): the kernel's own exported headers, as its headers_install.
"$REPO_ROOT/scripts/kmake.sh" "$tree" "$build" headers >"$work/headers.log" 2>&1 ||
	{ tail -n 20 "$work/headers.log"; fail "make headers failed"; }
gcc -s -static -Os -nostdinc -nostdlib \
	-fno-asynchronous-unwind-tables -fno-ident \
	-I "$build/usr/include" -I "$tree/tools/include/nolibc" \
	-o "$work/init" "$test_dir/init.c" || fail "cannot build vmtest.sh's init.c"
cat >"$work/cpio_list" <<EOF
dir /dev 0755 0 0
dir /proc 0755 0 0
dir /debugfs 0755 0 0
nod /dev/console 0600 0 0 c 5 1
file /init $work/init 0755 0 0
file /kernel $kernel 0644 0 0
EOF
[ -x "$build/usr/gen_init_cpio" ] || fail "$build/usr/gen_init_cpio was not built"
"$build/usr/gen_init_cpio" "$work/cpio_list" >"$work/initrd.cpio" || fail "gen_init_cpio failed"

# run_qemu(), under TCG and a timeout.
mkdir -p "$(dirname "$log")"
: >"$log"
rc=0
timeout --foreground -k 5 "$timeout" qemu-system-x86_64 -m 1G -smp 2 -no-reboot -nographic \
	-nodefaults -accel tcg -serial file:"$log" \
	-append "console=ttyS0 kho=on panic=-1 kunit.enable=0$append" \
	-kernel "$kernel" -initrd "$work/initrd.cpio" </dev/null >"$work/qemu.out" 2>&1 || rc=$?
[ $rc -ne 124 ] && [ $rc -ne 137 ] || fail "timeout: QEMU still running after $timeout s"
[ $rc -eq 0 ] || fail "qemu exited with status $rc: $(head -c 300 "$work/qemu.out")"

# The first boot is the log up to the second "Linux version" line.
boots=$(grep -c 'Linux version ' "$log" || true)
[ "$boots" -eq 2 ] || fail "$boots kernels booted, expected 2 (the init's kexec failed?)"
first_part=$(awk '/Linux version /{ n++ } n < 2' "$log")
second_part=$(awk '/Linux version /{ n++ } n >= 2' "$log")
crash=$KERNEL_CRASH_RE warn=$KERNEL_WARN_RE
! grep -qE "$crash|$warn" <<<"$first_part" ||
	fail "first boot: $(grep -m1 -E "$crash|$warn" <<<"$first_part")"
# The second boot's only expected crash is its end, a panic for want of an
# init, after the restore.
restored=$(grep -n -m1 'KHO restore succeeded' <<<"$second_part" | cut -d: -f1 || true)
[ -n "$restored" ] || fail "KHO failed: no 'KHO restore succeeded' in the second boot"
# Not `head | grep -q`: grep stops at a match, head may then fail on
# SIGPIPE, and with pipefail the match would read as none.
! grep -qE "$crash|$warn" <<<"$(head -n "$restored" <<<"$second_part")" ||
	fail "second boot, before the restore: $(grep -m1 -E "$crash|$warn" <<<"$second_part")"
crash=${crash#Kernel panic|}
! grep -qE "$crash|$warn" <<<"$second_part" ||
	fail "second boot: $(grep -m1 -E "$crash|$warn" <<<"$second_part")"
for m in "${expects[@]}"; do
	grep -qF -- "$m" <<<"$second_part" || fail "missing marker: '$m' not in the second boot's log"
done
for m in "${expects_first[@]}"; do
	grep -qF -- "$m" <<<"$first_part" || fail "missing marker: '$m' not in the first boot's log"
done
echo "# second boot ended with: $(grep -m1 -o 'Kernel panic - not syncing: [^.]*' <<<"$second_part")"
echo "ok 1 kho_vmtest # KHO succeeded ($(basename "$build"), log: $log)"
