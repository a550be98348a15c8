#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds and runs the host benchmark (host/kho-radix-bench): the Rust radix
# tree core against the kernel's own C radix code, compiled from the pristine
# 7.3 source. Writes the markdown table to $KHO_CACHE/bench/host.md and
# stdout. Arguments go to the benchmark (--quick, --full, -n N, -r REPS,
# --only TEXT: just the workloads whose name contains TEXT,
# --page 4k|16k|64k|all).
#
# Rust is built at opt-level $KHO_BENCH_OPT_LEVEL (default 2, what the kernel
# uses for Rust; C is always -O2), in a target directory of its own so that
# concurrent debug builds of the workspace do not invalidate it.

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
lock_cache scripts/bench-host.sh

out_dir=$KHO_CACHE/bench
mkdir -p "$out_dir"
export KHO_LINUX_SRC=${KHO_LINUX_SRC:-${KERNEL_SRC:-$LINUX_PRISTINE}}
[[ -f $KHO_LINUX_SRC/kernel/liveupdate/kexec_handover.c ]] ||
	die "$KHO_LINUX_SRC has no kernel/liveupdate/kexec_handover.c (run scripts/fetch-deps.sh or set KHO_LINUX_SRC)"
export CARGO_PROFILE_RELEASE_OPT_LEVEL=${KHO_BENCH_OPT_LEVEL:-2}
export CARGO_TARGET_DIR=$out_dir/target

step "building kho-radix-bench (Rust opt-level $CARGO_PROFILE_RELEASE_OPT_LEVEL, C from $KHO_LINUX_SRC)"
cargo build --release --locked --manifest-path "$REPO_ROOT/host/Cargo.toml" -p kho-radix-bench
step "running: kho-radix-bench $*"
"$CARGO_TARGET_DIR/release/kho-radix-bench" --out "$out_dir/host.md.tmp" "$@"
mv "$out_dir/host.md.tmp" "$out_dir/host.md"
step "table written to $out_dir/host.md"
