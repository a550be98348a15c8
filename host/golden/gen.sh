#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Regenerates ../kho-radix-host/tests/golden/*.txt by compiling the radix tree
# of the pristine kernel source, unchanged, against shim.h (with the part it
# shares with the benchmark, ../c-shim/kho_shim_common.h) for each page size.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${LINUX_PRISTINE:-$HOME/.cache/kho-radix-rs/linux-pristine-7.3.4-1~bpo13+1}
c=$src/kernel/liveupdate/kexec_handover.c
h=$src/include/linux/kho/abi/kexec_handover.h
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

{
	echo '#include "shim.h"'
	sed -n '/^enum kho_radix_consts {/,/^#endif/p' "$h" | sed '$d'
	# Key encoding and indices, then add/del/destroy/init/walk; the node
	# allocator comes from shim.h.
	sed -n '/^static unsigned long kho_encode_radix_key/,/^static void __ref \*kho_radix_alloc_node/p' "$c" | sed '$d'
	sed -n '/^ \* kho_radix_add_key - /,/^EXPORT_SYMBOL_GPL(kho_radix_walk_tree);/p' "$c" | sed '1s/^/\/**\n/'
} >"$tmp/radix.c"

for g in 4k:12 16k:14 64k:16; do
	name=${g%%:*}
	shift=${g##*:}
	gcc -O1 -Wall -Wno-unused-parameter -Wno-unused-function -DPAGE_SHIFT="$shift" \
		-I"$here" -I"$here/../c-shim" -I"$tmp" -o "$tmp/gen$name" "$here/main.c"
	"$tmp/gen$name" >"$here/../kho-radix-host/tests/golden/$name.txt"
done
