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

step() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
