#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make run`: build the kernel with the tracker chosen by TRACKER (rust, the
# default, or c), boot it under QEMU with KHO, let the test clients preserve
# memory, kexec into the same kernel and summarise what the second kernel
# restored.
. "$(dirname "$0")/common.sh"

tracker=${TRACKER:-rust}
case $tracker in
rust | c) ;;
*) die "TRACKER must be rust or c, not '$tracker'" ;;
esac
kernel=$("$REPO_ROOT/scripts/build-kernel.sh" "$tracker-tracker")
log=$KHO_CACHE/run/$tracker-tracker.serial
step "booting under QEMU (TCG), kexec with KHO; serial log: $log"
"$REPO_ROOT/scripts/qemu-kexec.sh" --first "$kernel" --log "$log" \
	--expect "test_kho: KHO restore succeeded"

second=$(sed -n '/kho-init: kexec loaded/,$p' "$log")
echo
echo "=== KHO round trip summary ==="
echo "kernel:   $kernel"
echo "tracker:  $(grep -m1 -o 'radix tracker: .*' "$log" || echo "C (stock Linux 7.3 kexec_handover.c)")"
if grep -q 'kho_radix_selftest: preserved' "$log"; then
	echo "preserved by kho_radix_selftest (first kernel):"
	grep 'kho_radix_selftest: preserved' "$log" | sed -n '1,/kexec loaded/p' | sed 's/^.*kho_radix_selftest: /  /'
fi
echo "second kernel:"
grep -E 'test_kho:|kho_radix_selftest:.*(restored|ok|not ok)' <<<"$second" | sed 's/^\[[^]]*\] /  /' | head -n 30
echo "result:   PASS (second kernel restored the preserved memory)"
