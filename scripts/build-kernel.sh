#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build one test kernel flavour out of tree: scripts/build-kernel.sh FLAVOUR
# where configs/FLAVOUR.config is the fragment applied with configs/base.config
# on top of tinyconfig. Every option the fragments set must end up exactly as
# written, or the build stops. Prints the bzImage path on stdout.
#
# Two comment lines in a flavour's fragment are directives:
#   # include: OTHER.config   apply configs/OTHER.config, and what it
#                             includes, before this one (each once);
#   # make: VAR=VALUE...      make variables the kernel must be built with
#                             (LLVM=-19 for a kernel that clang must build),
#                             kept in the build directory's .kho-make-args,
#                             which scripts/kmake.sh passes to every make in
#                             that directory;
#   # source: pristine        build the kernel source as released (no patch
#                             of the series, none of our files): the
#                             pristine tree, or $KERNEL_SRC, which must then
#                             be unpatched too.
. "$(dirname "$0")/common.sh"
lock_cache scripts/build-kernel.sh

flavour=${1:?usage: build-kernel.sh FLAVOUR (e.g. rust-tracker, c-tracker)}
own=$REPO_ROOT/configs/$flavour.config
[ -f "$own" ] || die "no config fragment configs/$flavour.config"
frags=("$REPO_ROOT/configs/base.config")
including=
add_fragment() { # NAME.config, after the fragments it includes (depth first)
	local inc
	[[ " ${frags[*]} " != *" $REPO_ROOT/configs/$1 "* ]] || return 0
	[[ " $including " != *" $1 "* ]] || die "configs/$1 includes itself (through:$including)"
	including+=" $1"
	for inc in $(sed -n 's/^# include: //p' "$REPO_ROOT/configs/$1"); do
		[ -f "$REPO_ROOT/configs/$inc" ] ||
			die "configs/$1 includes configs/$inc, which does not exist"
		add_fragment "$inc"
	done
	including=${including% "$1"}
	frags+=("$REPO_ROOT/configs/$1")
}
add_fragment "$flavour.config"
build=${KHO_BUILD_DIR:-$KHO_CACHE/build-$flavour}
# A failed build must not leave the previous image for the tests that boot
# it: they would test the old code.
built=
trap '[ -n "$built" ] || rm -f "$build/arch/x86/boot/bzImage"' EXIT
if grep -qx '# source: pristine' "$own"; then
	tree=${KERNEL_SRC:-$LINUX_PRISTINE}
	[ -f "$tree/Makefile" ] || die "no kernel source at $tree (run scripts/fetch-deps.sh or set KERNEL_SRC)"
	tree=$(cd "$tree" && pwd)
	# An out-of-tree build needs a clean source; a patched tree would
	# not be what this flavour is for.
	[ ! -e "$tree/kernel/liveupdate/kho_radix_c.h" ] ||
		die "[$flavour] $tree has patch 0031 applied: this flavour builds the kernel as released"
	patches_id="pristine $tree"
else
	tree=$("$REPO_ROOT/scripts/prepare-tree.sh")
	patches_id=$(cat "$tree/.git/kho-patches")
fi
kmake() { "$REPO_ROOT/scripts/kmake.sh" "$tree" "$build" "$@"; }
log=$build/kho-build.log
mkdir -p "$build"
sed -n 's/^# make: //p' "${frags[@]}" | tr ' ' '\n' | grep -v '^$' >"$build/.kho-make-args" || true
make_args=$(paste -sd' ' "$build/.kho-make-args")

stamp=$({ cat "${frags[@]}"; echo "$patches_id"; } | sha256sum | cut -d' ' -f1)
if [ "$(cat "$build/.kho-config-stamp" 2>/dev/null)" != "$stamp" ] ||
	[ ! -f "$build/.config" ]; then
	step "[$flavour] configuring: tinyconfig + ${frags[*]##*/}${make_args:+ with $make_args}"
	{
		kmake tinyconfig &&
		"$tree/scripts/kconfig/merge_config.sh" -m -O "$build" \
			"$build/.config" "${frags[@]}" &&
		kmake olddefconfig
	} >"$log" 2>&1 || { tail -n 30 "$log" >&2; die "[$flavour] configuration failed"; }
	echo "$stamp" >"$build/.kho-config-stamp"
fi

# A later fragment may override an option of an earlier one (the bench
# flavours turn debugging off): the last line about an option is what counts.
declare -A want=()
order=()
while read -r line; do
	case $line in
	CONFIG_*=*) opt=${line%%=*} ;;
	"# CONFIG_"*" is not set") opt=${line#\# }; opt=${opt%% *} ;;
	*) continue ;;
	esac
	[ -n "${want[$opt]+set}" ] || order+=("$opt")
	want[$opt]=$line
done < <(cat "${frags[@]}")
bad=()
for opt in "${order[@]}"; do
	line=${want[$opt]}
	case $line in
	CONFIG_*=*)
		grep -qxF "$line" "$build/.config" || bad+=("$line") ;;
	*)
		grep -q "^$opt=" "$build/.config" && bad+=("$line") ;;
	esac
done
if [ ${#bad[@]} -gt 0 ]; then
	rm -f "$build/.kho-config-stamp"
	for l in "${bad[@]}"; do
		opt=${l#\# }
		opt=${opt%%[= ]*}
		echo "  wanted: $l; got: $(grep -E "^($opt=|# $opt is not set)" "$build/.config" || echo 'absent (dependency not met?)')" >&2
	done
	die "[$flavour] ${#bad[@]} requested config options did not end up as written"
fi

step "[$flavour] building bzImage (log: $log; a full build takes ~4 min)"
start=$SECONDS
kmake bzImage >"$log" 2>&1 || {
	grep -m 40 -E 'error|warning:' "$log" >&2 || true
	tail -n 30 "$log" >&2
	die "[$flavour] kernel build failed"
}
# The test module (CONFIG_KEXEC_HANDOVER_RADIX_RUST_MODTEST=m), and
# whatever else the configuration builds as a module.
if grep -q '=m$' "$build/.config"; then
	kmake modules >>"$log" 2>&1 || {
		grep -m 40 -E 'error|warning:' "$log" >&2 || true
		tail -n 30 "$log" >&2
		die "[$flavour] module build failed"
	}
fi
if grep -E '^(warning|error)(\[|:)' "$log" >&2; then
	die "[$flavour] the build printed Rust warnings"
fi
step "[$flavour] bzImage ready in $((SECONDS - start)) s"
built=1
echo "$build/arch/x86/boot/bzImage"
