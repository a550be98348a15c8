#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make run`: build the kernel with the tracker chosen by TRACKER (rust, the
# default, or c), boot it under QEMU with KHO, let the test clients preserve
# memory, kexec into the same kernel and summarise what the second kernel
# restored.
. "$(dirname "$0")/common.sh"
lock_cache scripts/run.sh

tracker=${TRACKER:-rust}
case $tracker in
rust | c) ;;
*) die "TRACKER must be rust or c, not '$tracker'" ;;
esac
kernel=$("$REPO_ROOT/scripts/build-kernel.sh" "$tracker-tracker")
log=$KHO_CACHE/run/$tracker-tracker.serial
step "booting under QEMU (TCG), kexec with KHO; serial log: $log"
"$REPO_ROOT/scripts/qemu-kexec.sh" --first "$kernel" --log "$log" --mem 6G \
	--expect "test_kho: KHO restore succeeded"

first=$(sed '/kho-init: kexec loaded/q' "$log" | tr -d '\r')
second=$(sed -n '/kho-init: kexec loaded/,$p' "$log" | tr -d '\r')
echo
echo "=== KHO round trip summary ==="
echo "kernel:     $kernel"
echo "tracker:    first boot: $(grep -m1 -o 'radix tracker: .*' <<<"$first" | cut -d' ' -f3-)," \
	"second boot: $(grep -m1 -o 'radix tracker: .*' <<<"$second" | cut -d' ' -f3-)"
if grep -q 'kho_radix_selftest: preserved order' <<<"$first"; then
	echo "preserved:  kho_radix_selftest, folios per order (low/high memory):"
	grep -o 'preserved order [0-9]*: [0-9]* folios (low: [0-9]*, high: [0-9]*)' <<<"$first" |
		sed -E 's/preserved order ([0-9]+): ([0-9]+) folios \(low: ([0-9]+), high: ([0-9]+)\)/order \1: \2 (\3\/\4)/' |
		paste -sd' ' | fold -s -w 72 | sed 's/^/            /'
fi
echo "preserved:  upstream test_kho: random folios of random orders"
# Lines that only some kernels print (the C tracker validates nothing).
{
	grep -m1 -o 'preserved-memory tree validated.*' <<<"$second" | sed 's/^/validation: /'
	grep -m1 -o 'kho_radix_selftest: restored.*' <<<"$second" | sed 's/^kho_radix_selftest: /restored:   /'
	grep -m1 -o 'test_kho: KHO restore succeeded' <<<"$second" | sed 's/^/upstream:   /'
} || true
echo "result:     PASS (the second kernel restored the preserved memory)"
