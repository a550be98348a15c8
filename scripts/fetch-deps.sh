#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install or fetch everything the build needs, reusing $KHO_CACHE:
#  - build packages from the machine's own (base) Debian suite,
#  - bindgen-cli, pinned, into the cache,
#  - linux-source-7.3 and rust-src from trixie-backports through a private
#    apt sources list, verified against scripts/pins.sha256 and unpacked with
#    dpkg-deb without installing anything into the system.
. "$(dirname "$0")/common.sh"
lock_cache scripts/fetch-deps.sh

# `fetch-deps.sh --miri` (make check-miri, after the plain run): Miri and
# the standard library's sources for the machine's nightly toolchain. The
# host tests run under Miri; no kernel is built.
if [ "${1:-}" = --miri ]; then
	rustup run "$MIRI_TOOLCHAIN" rustc --version >/dev/null 2>&1 ||
		die "rust toolchain $MIRI_TOOLCHAIN missing (Miri needs a nightly; rustup toolchain install $MIRI_TOOLCHAIN)"
	installed=$(rustup component list --toolchain "$MIRI_TOOLCHAIN" --installed 2>/dev/null || true)
	if ! grep -q '^miri' <<<"$installed" || ! grep -q '^rust-src' <<<"$installed"; then
		step "installing miri and rust-src for $MIRI_TOOLCHAIN"
		rustup component add --toolchain "$MIRI_TOOLCHAIN" miri rust-src ||
			die "rustup component add miri rust-src failed for $MIRI_TOOLCHAIN"
	fi
	step "miri: $(rustup run "$MIRI_TOOLCHAIN" rustc --version)"
	exit 0
fi

# No kexec-tools or busybox: the test init (selftests/init/kho_init.c,
# built with gcc -static) calls kexec_file_load() itself; libc6-dev has
# the static libc it links.
HOST_PKGS="flex bison bc libelf-dev libssl-dev cpio rsync dwarves make gcc
	libc6-dev qemu-system-x86 libclang-19-dev xz-utils python3-docutils
	liburcu-dev"
# `fetch-deps.sh --clang` (make check-kasan): clang, lld and the LLVM tools
# of version 19 build the KASAN test kernel (LLVM=-19), since a kernel with
# Rust can only have KASAN when clang compiles its C.
[ "${1:-}" != --clang ] || HOST_PKGS="$HOST_PKGS clang-19 lld-19 llvm-19"
# `fetch-deps.sh --cross` (make check-cross): the same LLVM build ARMv7
# and LoongArch kernels, there being no gcc for them, and qemu-system-arm
# boots the ARM one.
[ "${1:-}" != --cross ] || HOST_PKGS="$HOST_PKGS clang-19 lld-19 llvm-19 qemu-system-arm"

missing=()
for p in $HOST_PKGS; do
	[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	step "installing build packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null ||
		die "apt-get update failed; cannot install ${missing[*]}"
	apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
		die "apt-get install failed for: ${missing[*]}"
else
	step "build packages present"
fi

# rustup cannot download toolchains on the project's machines, but their
# `stable` is $RUST_TOOLCHAIN: then $RUST_TOOLCHAIN is made a link to
# stable's sysroot, so that `cargo +$RUST_TOOLCHAIN` works. `rustup
# toolchain link` refuses names that look like a release ("invalid custom
# toolchain name"), so the link is made in rustup's toolchains directory,
# under the name rustup gives an installed release. The probes do not let
# rustup try to install a missing toolchain.
if ! RUSTUP_AUTO_INSTALL=0 rustup run "$RUST_TOOLCHAIN" rustc --version >/dev/null 2>&1; then
	stable=$(RUSTUP_AUTO_INSTALL=0 rustup run stable rustc --version 2>/dev/null || true)
	case $stable in
	"rustc $RUST_TOOLCHAIN "*)
		sysroot=$(rustup run stable rustc --print sysroot) ||
			die "rustc --print sysroot failed for the stable toolchain"
		host=$(rustup run stable rustc -vV | sed -n 's/^host: //p')
		[ -n "$host" ] || die "rustc -vV of the stable toolchain names no host triple"
		link=$(rustup show home)/toolchains/$RUST_TOOLCHAIN-$host
		if [ -e "$link" ] || [ -L "$link" ]; then
			die "rust toolchain $RUST_TOOLCHAIN does not run, but $link exists; remove it or rustup toolchain install $RUST_TOOLCHAIN"
		fi
		step "rust toolchain $RUST_TOOLCHAIN missing; linking it to stable (rustc $RUST_TOOLCHAIN): $link -> $sysroot"
		ln -s "$sysroot" "$link" || die "cannot create $link"
		RUSTUP_AUTO_INSTALL=0 rustup run "$RUST_TOOLCHAIN" rustc --version >/dev/null 2>&1 ||
			die "rust toolchain $RUST_TOOLCHAIN still does not run after linking $link to $sysroot"
		;;
	*)
		die "rust toolchain $RUST_TOOLCHAIN missing and stable is not $RUST_TOOLCHAIN (${stable:-no stable toolchain}); rustup toolchain install $RUST_TOOLCHAIN"
		;;
	esac
fi
rustup run "$RUST_TOOLCHAIN" cargo clippy --version >/dev/null 2>&1 ||
	die "rust toolchain $RUST_TOOLCHAIN has no clippy (rustup component add --toolchain $RUST_TOOLCHAIN clippy)"
rustup run "$RUST_TOOLCHAIN" rustfmt --version >/dev/null 2>&1 ||
	die "rust toolchain $RUST_TOOLCHAIN has no rustfmt (rustup component add --toolchain $RUST_TOOLCHAIN rustfmt)"
step "rust $RUST_TOOLCHAIN with clippy and rustfmt present"

if [ "$("$BINDGEN_ROOT/bin/bindgen" --version 2>/dev/null)" != "bindgen $BINDGEN_VER" ]; then
	step "installing bindgen-cli $BINDGEN_VER (about 70 s)"
	cargo +"$RUST_TOOLCHAIN" install -q --locked --root "$BINDGEN_ROOT" \
		bindgen-cli --version "$BINDGEN_VER" ||
		die "cargo install bindgen-cli $BINDGEN_VER failed"
else
	step "bindgen $BINDGEN_VER cached"
fi

# Private apt state for the second suite: never touches the system's lists.
APT_DIR=$KHO_CACHE/apt
apt_private() {
	apt-get -q -o Dir::Etc::sourcelist="$APT_DIR/sources.list" \
		-o Dir::Etc::sourceparts=- -o Dir::State::Lists="$APT_DIR/lists" \
		-o Dir::Cache="$APT_DIR/cache" -o Debug::NoLocking=1 \
		-o APT::Sandbox::User=root "$@"
}

fetch_deb() { # pkg version -> path of verified .deb on stdout
	local pkg=$1 ver=$2 deb want have
	deb=$KHO_CACHE/debs/${pkg}_${ver//:/%3a}_all.deb
	want=$(awk -v f="${pkg}_${ver}" '$2 == f { print $1 }' "$REPO_ROOT/scripts/pins.sha256")
	[ -n "$want" ] || die "no sha256 pin for ${pkg}_${ver} in scripts/pins.sha256"
	if [ ! -f "$deb" ]; then
		if [ ! -f "$APT_DIR/.updated" ]; then
			mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial"
			local uri
			uri=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' |
				awk '$2 == "bookworm" { print $1; exit }')
			[ -n "$uri" ] || die "no base Debian mirror found in the apt configuration"
			echo "deb $uri $DEB_SUITE main" >"$APT_DIR/sources.list"
			step "reading the $DEB_SUITE package index (private apt state)"
			apt_private update >/dev/null || die "apt-get update of $DEB_SUITE failed"
			touch "$APT_DIR/.updated"
		fi
		step "downloading ${pkg}=${ver}"
		mkdir -p "$KHO_CACHE/debs"
		(cd "$KHO_CACHE/debs" && apt_private download "${pkg}=${ver}" >/dev/null) ||
			die "cannot download ${pkg}=${ver} from $DEB_SUITE (pinned version gone?)"
	fi
	have=$(sha256sum "$deb" | cut -d' ' -f1)
	[ "$have" = "$want" ] || die "sha256 mismatch for $deb: have $have, pinned $want"
	echo "$deb"
}

if [ ! -d "$RUSTSRC_DIR/usr/lib/rustlib/src/rust/library" ]; then
	deb=$(fetch_deb "$RUSTSRC_PKG" "$RUSTSRC_VER")
	step "unpacking rust-src"
	rm -rf "$RUSTSRC_DIR.tmp" && dpkg-deb -x "$deb" "$RUSTSRC_DIR.tmp" &&
		mv "$RUSTSRC_DIR.tmp" "$RUSTSRC_DIR"
else
	step "rust-src $RUSTSRC_VER cached"
fi

if [ -z "${KERNEL_SRC:-}" ] && [ ! -f "$LINUX_PRISTINE/Makefile" ]; then
	deb=$(fetch_deb "$LINUX_PKG" "$LINUX_VER")
	step "unpacking $LINUX_PKG (about 1 min)"
	tmp=$KHO_CACHE/linux-unpack.tmp
	rm -rf "$tmp" && dpkg-deb -x "$deb" "$tmp"
	tarball=$(ls "$tmp"/usr/src/linux-source-*.tar.xz)
	rm -rf "$LINUX_PRISTINE.tmp" && mkdir -p "$LINUX_PRISTINE.tmp"
	tar -xJf "$tarball" -C "$LINUX_PRISTINE.tmp" --strip-components=1
	rm -rf "$tmp"
	mv "$LINUX_PRISTINE.tmp" "$LINUX_PRISTINE"
elif [ -z "${KERNEL_SRC:-}" ]; then
	step "linux $LINUX_VER cached"
fi
step "dependencies ready"
