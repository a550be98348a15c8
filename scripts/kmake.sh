#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the kernel's make with the pinned Rust toolchain pieces.
# Usage: scripts/kmake.sh TREE BUILD_DIR [make args...]
. "$(dirname "$0")/common.sh"
tree=$1 build=$2
shift 2
mkdir -p "$build"
# The make variables the directory's kernel is built with (build-kernel.sh
# writes them from the config fragments): every make in it must pass them,
# or Kconfig would see another compiler and configure the kernel anew.
extra=()
[ ! -f "$build/.kho-make-args" ] || mapfile -t extra <"$build/.kho-make-args"
LIBCLANG_PATH=$(dirname "$(dpkg -L libclang1-19 | grep -m1 'libclang-19.so')")
export LIBCLANG_PATH
exec make -C "$tree" O="$build" -j"${KHO_JOBS:-$(($(nproc) + 1))}" \
	RUSTC="$(rustup which --toolchain "$RUST_TOOLCHAIN" rustc)" \
	RUSTFMT="$(rustup which --toolchain "$RUST_TOOLCHAIN" rustfmt)" \
	CLIPPY_DRIVER="$(rustup which --toolchain "$RUST_TOOLCHAIN" clippy-driver)" \
	RUSTDOC="$(rustup which --toolchain "$RUST_TOOLCHAIN" rustdoc)" \
	BINDGEN="$BINDGEN_ROOT/bin/bindgen" \
	RUST_LIB_SRC="$RUSTSRC_DIR/usr/lib/rustlib/src/rust/library" \
	${extra[@]+"${extra[@]}"} "$@"
