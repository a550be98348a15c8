# SPDX-License-Identifier: GPL-2.0
# Shared settings for the workbench scripts; sourced, not run.

set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Everything downloaded or built lives outside the checkout so that a fresh
# clone reuses it and `git status` stays clean.
KHO_CACHE=${KHO_CACHE:-$HOME/.cache/kho-radix-rs}
mkdir -p "$KHO_CACHE"

# Pinned inputs. Both come from the same Debian suite so that the kernel's
# Rust support and the rustup toolchain agree exactly.
DEB_SUITE=trixie-backports
LINUX_PKG=linux-source-7.3
LINUX_VER=7.3.4-1~bpo13+1
RUSTSRC_PKG=rust-src
RUSTSRC_VER=1.95.0+dfsg1-2~bpo13+1
RUST_TOOLCHAIN=1.95.0
BINDGEN_VER=0.72.1
# Miri exists only for nightly toolchains: `make check-miri` uses the
# machine's (rustc 1.97.0-nightly of 2026-05-19 on the project's machines).
MIRI_TOOLCHAIN=${MIRI_TOOLCHAIN:-nightly}

BINDGEN_ROOT=$KHO_CACHE/bindgen-$BINDGEN_VER
RUSTSRC_DIR=$KHO_CACHE/rust-src-$RUSTSRC_VER
LINUX_PRISTINE=$KHO_CACHE/linux-pristine-$LINUX_VER

# What a boot's serial log must not hold (scripts/qemu-kexec.sh and
# scripts/upstream-vmtest.sh): a crash, and a warning or lockdep report. A Rust
# panic prints "panicked at" before its BUG(). The kernel goes on after a
# UBSAN report (only rust-kasan.config has UBSAN), so it is matched by its
# own text. The test kernels have no soft-lockup or hung-task detector, so a
# CPU stuck for CONFIG_RCU_CPU_STALL_TIMEOUT seconds shows only as an RCU
# stall report ("rcu: INFO: rcu_preempt self-detected stall on CPU").
KERNEL_CRASH_RE='Kernel panic|BUG:|Oops|general protection fault|panicked at|UBSAN:'
KERNEL_WARN_RE='WARNING:|possible recursive locking|possible circular locking|inconsistent lock state|suspicious RCU usage|detected stalls? on'

step() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# One workbench run at a time per cache: check.sh, bench.sh, run.sh,
# build-kernel.sh and `make clean` write the same build directories and
# kernel trees, so a second run would mix its builds (and check.sh its
# logs) with the first one's. The lock file keeps the holder's name and
# PID; it is opened without truncating, so that a refused run can still
# read them. A script started by the holder inherits the locked
# descriptor, named by KHO_CACHE_LOCK_FD, and goes on under it.
lock_cache() {
	local lock=$KHO_CACHE/.lock fd=${KHO_CACHE_LOCK_FD:-} holder
	if [[ $fd =~ ^[0-9]+$ ]] && [ "$(readlink "/proc/self/fd/$fd")" = "$(realpath "$lock")" ] &&
		flock -n "$fd"; then
		return 0
	fi
	exec {KHO_CACHE_LOCK_FD}>>"$lock"
	if ! flock -n "$KHO_CACHE_LOCK_FD"; then
		holder=$(cat "$lock" 2>/dev/null)
		die "another workbench run (${holder:-unknown}$(lock_heirs "$lock" "$holder")) is using $KHO_CACHE and holds $lock; wait for it to finish, or give this run a KHO_CACHE of its own"
	fi
	echo "$1, PID $$" >"$lock"
	export KHO_CACHE_LOCK_FD
}

# For lock_cache's refusal, if the PID in the lock file ($2) has exited:
# the processes that still hold the lock, which it started (a QEMU run
# under its timeout, say).
lock_heirs() {
	local pid=${2##*PID } lock fd heirs=
	[[ $pid =~ ^[0-9]+$ ]] && ! kill -0 "$pid" 2>/dev/null || return 0
	lock=$(realpath "$1")
	for fd in /proc/[0-9]*/fd/*; do
		pid=${fd#/proc/} && pid=${pid%%/*}
		# This run has the file open too, unlocked.
		[ "$pid" != $$ ] && [ "$pid" != "$BASHPID" ] || continue
		[ "$(readlink "$fd" 2>/dev/null)" = "$lock" ] || continue
		heirs+=" $pid ($(cat "/proc/$pid/comm" 2>/dev/null))"
	done
	echo ", which has exited; held by${heirs:- no process now}"
}
