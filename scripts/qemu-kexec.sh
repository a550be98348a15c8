#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot FIRST under QEMU with KHO on; the static init kexecs into SECOND
# (which may be a different kernel), and with --third from there into THIRD;
# the last boot's init powers off.
# The serial console goes to a log file that is then checked:
#   - the run must end before the timeout, without a panic, oops, BUG,
#     Rust panic or UBSAN report,
#   - no WARNING / lockdep report anywhere in the log,
#   - the init must have reached the last boot, after one kexec per boot
#     before it,
#   - every --expect marker must appear in the log after the first kexec,
#     every --expect-first marker in the first boot's part,
#   - no KTAP "not ok" line anywhere.
# On failure, prints the reason and the tail of the log, and exits 1.
#
# Usage: qemu-kexec.sh --first BZIMAGE [--second BZIMAGE] [--third BZIMAGE]
#        --log FILE [--append "ARGS"]... [--expect TEXT]... [--expect-first TEXT]...
#        [--timeout SECONDS] [--mem SIZE] [--smp CPUS] [--module FILE.ko]...
#        [--program FILE]... [--run-first "CMD ARGS"]... [--run-second "CMD ARGS"]...
#        [--run-third "CMD ARGS"]...
# A --module goes into /modules of every boot's initramfs, where the init
# loads it before anything else. A --program goes into /bin of every one;
# the init runs each --run-first command in the first boot once the kexec
# image is loaded, each --run-second command in the second boot (at its
# start, or with --third once it has loaded the third kernel), each
# --run-third command at the start of the third boot, in order, and fails
# the boot if one does not exit with status 0.
# QEMU_ACCEL=kvm opts in to KVM (it hangs on the project's build machines).
# QEMU_CPU is the TCG CPU model (default: max). KHO_QEMU_NO_THP=1 runs QEMU
# without transparent huge pages (see without-thp.py; the restore benchmark
# sets it).
. "$(dirname "$0")/common.sh"

first= second= third= log= append= timeout=${KHO_QEMU_TIMEOUT:-240} mem=1G smp=2
expects=() expects_first=() modules=() programs=() run_first=() run_second=() run_third=()
while [ $# -gt 0 ]; do
	case $1 in
	--first) first=$2; shift ;;
	--second) second=$2; shift ;;
	--third) third=$2; shift ;;
	--log) log=$2; shift ;;
	--append) append="${append:+$append }$2"; shift ;;
	--expect) expects+=("$2"); shift ;;
	--expect-first) expects_first+=("$2"); shift ;;
	--timeout) timeout=$2; shift ;;
	--mem) mem=$2; shift ;;
	--smp) smp=$2; shift ;;
	--module) modules+=("$2"); shift ;;
	--program) programs+=("$2"); shift ;;
	--run-first) run_first+=("$2"); shift ;;
	--run-second) run_second+=("$2"); shift ;;
	--run-third) run_third+=("$2"); shift ;;
	*) die "qemu-kexec.sh: unknown argument $1" ;;
	esac
	shift
done
[ -f "$first" ] || die "qemu-kexec.sh: --first kernel '$first' not found"
second=${second:-$first}
[ -f "$second" ] || die "qemu-kexec.sh: --second kernel '$second' not found"
[ -z "$third" ] || [ -f "$third" ] || die "qemu-kexec.sh: --third kernel '$third' not found"
[ -n "$third" ] || [ ${#run_third[@]} -eq 0 ] || die "qemu-kexec.sh: --run-third without --third"
kernels=("$first" "$second" ${third:+"$third"})
boots=${#kernels[@]}
[ -n "$log" ] || die "qemu-kexec.sh: --log is required"

work=$(mktemp -d "${TMPDIR:-/tmp}/kho-qemu.XXXXXX")
trap 'rm -rf "$work"' EXIT
gcc -static -O2 -Wall -Werror -o "$work/init" "$REPO_ROOT/selftests/init/kho_init.c" ||
	die "cannot build the static init (gcc -static; is libc6-dev installed?)"

# Build the two initramfs images with cpio in a staging directory
# (device node creation needs root, which the workbench runs as).
mkcpio() { # dir out
	(cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$2"
}
# Boot i's initramfs, r<i>, holds boot i+1's kernel and initramfs, the last
# one none; commands run after the load go to /run-first, the last boot's
# to /run-second.
commands_of() { # boot
	case $1 in
	1) [ ${#run_first[@]} -eq 0 ] || printf '%s\n' "${run_first[@]}" ;;
	2) [ ${#run_second[@]} -eq 0 ] || printf '%s\n' "${run_second[@]}" ;;
	3) [ ${#run_third[@]} -eq 0 ] || printf '%s\n' "${run_third[@]}" ;;
	esac
}
for ((i = boots; i >= 1; i--)); do
	r=$work/r$i
	mkdir -p "$r/dev"
	for m in "${modules[@]}"; do
		[ -f "$m" ] || die "qemu-kexec.sh: --module '$m' not found"
		mkdir -p "$r/modules" && cp "$m" "$r/modules/"
	done
	for p in "${programs[@]}"; do
		[ -f "$p" ] || die "qemu-kexec.sh: --program '$p' not found"
		mkdir -p "$r/bin" && cp "$p" "$r/bin/"
	done
	if [ "$i" -lt "$boots" ]; then
		cp "${kernels[$i]}" "$r/kernel"
		cp "$work/initrd$((i + 1))" "$r/initrd"
		commands=$r/run-first
	else
		commands=$r/run-second
	fi
	[ -z "$(commands_of "$i")" ] || commands_of "$i" >"$commands"
	cp "$work/init" "$r/init"
	mknod "$r/dev/console" c 5 1 2>/dev/null || true
	mkcpio "$r" "$work/initrd$i"
done

# The host's TSC frequency in kHz (see host-tsc-khz.c), or nothing if the
# host's TSC is not constant or cannot be measured. It is measured once per
# host boot (/proc/sys/kernel/random/boot_id), so that every guest of a run
# is given the same frequency.
host_tsc_khz() {
	local bin=$KHO_CACHE/bin/host-tsc-khz src=$REPO_ROOT/scripts/host-tsc-khz.c
	local boot_id cached khz
	grep -m1 '^flags' /proc/cpuinfo | grep -qw constant_tsc || return 0
	boot_id=$(tr -cd '0-9a-f-' </proc/sys/kernel/random/boot_id 2>/dev/null) || boot_id=
	cached=$bin.${boot_id:-none}
	if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ]; then
		mkdir -p "$(dirname "$bin")"
		cc -O2 -o "$bin" "$src" || return 0
		rm -f "$bin".*
	fi
	if [ -n "$boot_id" ] && [ -s "$cached" ]; then
		cat "$cached"
		return 0
	fi
	khz=$("$bin") || true
	[ -n "$khz" ] || return 0
	# One small file per host boot; a rebuild of the tool removes them all.
	[ -z "$boot_id" ] || { echo "$khz" >"$cached.$$" && mv -f "$cached.$$" "$cached"; }
	echo "$khz"
}

case ${QEMU_ACCEL:-tcg} in
kvm) accel=(-accel kvm -cpu host) ;;
*)
	accel=(-accel tcg -cpu "${QEMU_CPU:-max}")
	# Under TCG the guest's TSC is the host's, and the guest's calibration
	# against the emulated PIT fails now and then; it then marks the TSC
	# unstable, and local_clock(), which the benchmarks time with, counts
	# jiffies. Give it the frequency instead; the second kernel inherits
	# the command line.
	tsc_khz=$(host_tsc_khz)
	if [ -n "$tsc_khz" ]; then
		append="tsc_early_khz=$tsc_khz $append"
	else
		step "no constant host TSC frequency measured; the guest calibrates its own"
	fi
	;;
esac
# KASAN allocates its shadow, an eighth of memory, early in boot, and a
# kexec'd kernel allocates early only from the KHO scratch areas that the
# kernel before it reserved. The default sizes do not leave room for it,
# and a KASAN first kernel cannot even reserve its default per-node area,
# which turns KHO off. When either kernel has KASAN (its build directory's
# .config says so), both get a global area of a quarter of memory and a
# per-node area of an eighth.
has_kasan() {
	grep -qx 'CONFIG_KASAN=y' "${1%/arch/x86/boot/bzImage}/.config" 2>/dev/null
}
if has_kasan "$first" || has_kasan "$second"; then
	case $mem in
	*G) mem_mib=$((${mem%G} * 1024)) ;;
	*M) mem_mib=${mem%M} ;;
	*) die "qemu-kexec.sh: --mem $mem: give the size in M or G" ;;
	esac
	append="kho_scratch=64M,$((mem_mib / 4))M,$((mem_mib / 8))M $append"
fi

launcher=()
[ "${KHO_QEMU_NO_THP:-0}" = 1 ] && launcher=(python3 "$REPO_ROOT/scripts/without-thp.py")
mkdir -p "$(dirname "$log")"
: >"$log"
rc=0
timeout --foreground -k 5 "$timeout" "${launcher[@]}" qemu-system-x86_64 "${accel[@]}" \
	-m "$mem" -smp "$smp" -nographic -nodefaults -no-reboot \
	-serial file:"$log" -kernel "$first" -initrd "$work/initrd1" \
	-append "console=ttyS0 kho=on panic=-1 oops=panic $append" \
	</dev/null >"$work/qemu.out" 2>&1 || rc=$?

# The first matching reason wins, most specific first.
crash=$KERNEL_CRASH_RE warn=$KERNEL_WARN_RE
reason=
if grep -qE "$crash" "$log"; then
	reason="kernel crash: $(grep -m1 -E "$crash" "$log")"
elif grep -q 'kho-init: FAIL' "$log"; then
	reason="init failed: $(grep -m1 'kho-init: FAIL' "$log")"
elif grep -qE "$warn" "$log"; then
	reason="kernel warning: $(grep -m1 -E "$warn" "$log")"
elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
	reason="timeout: QEMU still running after ${timeout} s"
elif [ $rc -ne 0 ]; then
	reason="qemu exited with status $rc: $(head -c 500 "$work/qemu.out")"
elif ! grep -q 'kho-init: second boot' "$log"; then
	reason="missing marker: the last kernel never reached its init (no 'kho-init: second boot')"
elif [ "$(grep -c 'kho-init: kexec loaded' "$log")" -ne $((boots - 1)) ]; then
	reason="$(grep -c 'kho-init: kexec loaded' "$log") kexecs, expected $((boots - 1)) for $boots boots"
fi
if [ -z "$reason" ]; then
	second_part=$(sed -n '/kho-init: kexec loaded/,$p' "$log")
	for m in "${expects[@]}"; do
		grep -qF -- "$m" <<<"$second_part" || { reason="missing marker: '$m' not in the log after the kexec"; break; }
	done
fi
if [ -z "$reason" ]; then
	first_part=$(sed '/kho-init: kexec loaded/q' "$log")
	for m in "${expects_first[@]}"; do
		grep -qF -- "$m" <<<"$first_part" || { reason="missing marker: '$m' not in the first boot's log"; break; }
	done
fi
# Every kernel must run on all the guest's CPUs: the concurrency tests
# only race for real on two. Without ACPI, the kernel took its CPUs from
# the firmware's MP table, which listed one.
if [ -z "$reason" ]; then
	ncpus=$(grep -cE "smp: Brought up [0-9]+ nodes?, $smp CPUs?" "$log" || true)
	[ "$ncpus" -eq "$boots" ] ||
		reason="$ncpus of $boots boots brought up $smp CPUs: $(grep -m1 'smp: Brought up' "$log" || echo 'no smp line')"
fi
if [ -z "$reason" ] && grep -qE '(^|: )not ok [0-9]' "$log"; then
	reason="a KTAP test failed: $(grep -m1 -E '(^|: )not ok [0-9]' "$log")"
fi
if [ -n "$reason" ]; then
	echo "qemu-kexec: FAILED: $reason" >&2
	echo "qemu-kexec: last 40 lines of $log:" >&2
	tail -n 40 "$log" | sed 's/^/    | /' >&2
	exit 1
fi
kname() { basename "$(cd "$(dirname "$1")/../../.." && pwd)"; }
echo "qemu-kexec: ok ($(kname "$first") -> $(kname "$second")${third:+ -> $(kname "$third")}, log: $log)" >&2
