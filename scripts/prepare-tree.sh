#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Make the working kernel tree: a private git copy of the pristine 7.3 source
# (or of $KERNEL_SRC, never modified), with patches/*.patch applied by
# `git am` and our sources synced into kernel/liveupdate/kho_radix_rs/.
# Prints the tree's path on stdout. Reuses the copy when only our sources
# changed, so kernel builds stay incremental.
. "$(dirname "$0")/common.sh"
lock_cache scripts/prepare-tree.sh

src=${KERNEL_SRC:-$LINUX_PRISTINE}
[ -f "$src/Makefile" ] || die "no kernel source at $src (run scripts/fetch-deps.sh or set KERNEL_SRC)"
src=$(cd "$src" && pwd)
tree=${KHO_TREE:-$KHO_CACHE/linux-tree}
git_t() {
	git -C "$tree" -c user.name="kho-radix-rs workbench" \
		-c user.email=kho-radix-rs@localhost -c advice.detachedHead=false "$@"
}

if [ "$(cat "$tree/.git/kho-source" 2>/dev/null)" != "$src" ]; then
	step "copying $src to $tree (once; about 1 min)"
	rm -rf "$tree"
	mkdir -p "$tree"
	rsync -a --exclude=/.git "$src/" "$tree/"
	git_t init -q
	git_t add -A -f .
	git_t commit -q -m "pristine $(basename "$src")"
	git_t tag pristine
	echo "$src" >"$tree/.git/kho-source"
fi

patches=("$REPO_ROOT"/patches/*.patch)
[ -e "${patches[0]}" ] || patches=()
want=$(cat /dev/null "${patches[@]}" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$tree/.git/kho-patches" 2>/dev/null)" != "$want" ]; then
	step "applying ${#patches[@]} patches from patches/ with git am"
	git_t am --abort >/dev/null 2>&1 || true
	# -f: a test may have edited the tree (the warn_on_once! probe does).
	git_t checkout -q -f --detach pristine
	git_t reset -q --hard pristine
	if [ ${#patches[@]} -gt 0 ]; then
		git_t am -q "${patches[@]}" || {
			git_t am --abort >/dev/null 2>&1 || true
			die "patch series does not apply to $(basename "$src") with git am"
		}
	fi
	echo "$want" >"$tree/.git/kho-patches"
fi

# -c: compare contents, so unchanged files keep their mtime.
dest=$tree/kernel/liveupdate/kho_radix_rs
mkdir -p "$dest"
rsync -rc --delete \
	--include=/Kconfig --include=/Makefile --include='/*.rs' \
	--include='/*.c' --include='/*.h' \
	--include=/kho_radix_tree/ --include='/kho_radix_tree/*.rs' \
	--include=/kho_radix_kunit/ --include='/kho_radix_kunit/*.rs' \
	--include=/kho_radix_validate/ --include='/kho_radix_validate/*.rs' \
	--include=/selftests/ --include='/selftests/kernel/***' --exclude='*' \
	"$REPO_ROOT/" "$dest/"
echo "$tree"
