#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Corruption tests of the incoming preserved-memory tree validation.
#
# For every kind of damage that CONFIG_KEXEC_HANDOVER_RADIX_RUST_CORRUPT_TEST
# can do (kho_radix_corrupt.c), boot BZIMAGE under QEMU with
# "khotest_corrupt=KIND": the first kernel damages its outgoing KHO state
# just before the kexec reboot, and the second kernel must
#   - print the expected error for KIND,
#   - not accept the tree ("preserved-memory tree validated" absent), or,
#     for the kinds it contains ($broken_owner below), accept the tree and
#     restore all but the broken part,
#   - give no area of a dropped handover to reserve_mem= (every boot asks
#     for one: memblock hands it over in its own subtree, read after the
#     tree is checked),
#   - boot on without the handover up to its init,
#   - if its validator rejected the tree, say that it drops the handover,
#   - still be able to preserve memory for a next kexec,
#   - leave no pageblock MIGRATE_CMA outside its own scratch areas (the
#     incoming ones stay so for the whole boot if a kernel that drops the
#     handover does not forget them first; with 1 GiB the memory map of
#     all but ZONE_DMA is initialised later, from the kernel's own areas,
#     so only a guest with memory above 4 GiB shows it),
# with no crash or warning (scripts/qemu-kexec.sh checks those). The first
# kernel must have reported the corruption; its reboot notifier prints that
# after "kho-init: kexec loaded", i.e. in what the runner calls the second
# boot's part of the log. The KUnit suites, which have their own test, are
# off (kunit.enable=0): they took about 6 s of a boot pair's 21.
#
# Usage: selftests/corrupt.sh BZIMAGE [LOGDIR] [KIND...]
# Prints KTAP: "ok N corrupt_KIND" per kind; exits 1 if any failed.
# Without KINDs, every kind but those that need a NUMA kernel ($numa_cases).
# KHO_CORRUPT_APPEND adds to the kernel command line and KHO_CORRUPT_MEM
# sets the guest's memory (default 1G), e.g. to give a NUMA kernel nodes.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
runner=$here/../scripts/qemu-kexec.sh
bz=${1:?usage: corrupt.sh BZIMAGE [LOGDIR] [KIND...]}
logdir=${2:-${TMPDIR:-/tmp}/kho-corrupt}
shift $(($# < 2 ? $# : 2))
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# KIND|expected message in the second boot's log
cases=(
	"misaligned|KHO: invalid preserved-memory tree: node address not page aligned: entry 0x"
	"outside_ram|KHO: invalid preserved-memory tree: node outside system RAM: entry 0x400000000000 at level"
	"scratch|KHO: invalid preserved-memory tree: node inside a scratch area: entry 0x"
	"shared|KHO: invalid preserved-memory tree: node shared by two parents: entry 0x"
	"order|KHO: invalid preserved-memory tree: order above maximum: key 0x1000 (address 0x0, order 40) at bit"
	"overlap|KHO: invalid preserved-memory tree: preserved ranges overlap: key 0x"
	"cycle|KHO: invalid preserved-memory tree: cycle in tree: entry 0x"
	"key_out_of_range|KHO: invalid preserved-memory tree: table entry beyond key width: entry 0x"
	"bad_key|KHO: invalid preserved-memory tree: key does not decode: key 0x0 at bit 0 of a leaf"
	"range_not_ram|KHO: invalid preserved-memory tree: preserved range outside system RAM: key 0x"
	"range_in_scratch|KHO: invalid preserved-memory tree: preserved range inside a scratch area: key 0x"
	"covers_node|KHO: invalid preserved-memory tree: preserved range covers a tree node: key 0x"
	"too_many_nodes|KHO: invalid preserved-memory tree: node limit exceeded: entry 0x"
	"fdt_zero|KHO: preserved-memory-map: root address is zero"
	"fdt_short|KHO: preserved-memory-map: property is 4 bytes long, expected 8"
	"fdt_misaligned|KHO: preserved-memory-map: root address 0x"
	"fdt_outside_ram|KHO: invalid preserved-memory tree: node outside system RAM: root address 0x10000000000000"
	"fdt_totalsize|) claims 8192 bytes, 4096 handed over"
	"fdt_unpreserved|KHO: invalid preserved-memory tree: handover FDT not preserved: 0x"
	"subtree_unpreserved|KHO: handover subtree 'kho_test' not preserved: blob 0x"
	"subtree_empty|, 0 bytes; removed from the handover"
)
# Kinds that need a NUMA kernel booted with two nodes whose boundary is off
# a pair of pages; only run when named.
numa_cases=(
	"across_nodes|KHO: invalid preserved-memory tree: preserved range spans NUMA nodes: key 0x"
)
# The reserve_mem= area every boot asks for; the second kernel takes it
# over from the handover unless the handover or memblock's subtree is gone.
reserve_mem="reserve_mem=1M:4K:khotest_rm"
revived="Revived memory reservation 'khotest_rm' from KHO"
test_kho_ok="test_kho: KHO restore succeeded"
# Kinds the second kernel contains instead of dropping the handover: it
# removes the one broken subtree, so its owner finds no handover, while the
# rest (the self-test's folios and the other subtree) is restored. (No kind
# breaks memblock's subtree: a reserve_mem= area that is not taken over is
# allocated anew inside the scratch areas, and preserving that for the next
# kexec WARNs with CONFIG_KEXEC_HANDOVER_DEBUG, a TODO in mm/memblock.c.)
declare -A broken_owner=([subtree_unpreserved]=$test_kho_ok [subtree_empty]=$test_kho_ok)
declare -A intact_owner=([subtree_unpreserved]=$revived [subtree_empty]=$revived)
restored="kho_radix_selftest: restored [0-9]+ of [0-9]+ folios, all bytes verified"
# After a rejected tree, the second kernel says so and drops the handover.
dropped="KHO: dropping the handover: no preserved memory is restored"
# And it can preserve memory for a next kexec: the self-test preserves its
# folios there as in a first boot (before patch 0022 cleared memblock's
# scratch-only mode on that path, KHO disabled itself instead).
kho_again="kho_radix_selftest: preserved order 0:"
# Printed by every boot with khotest_corrupt= (kho_radix_corrupt.c).
no_stale_cma="khotest_corrupt: 0 CMA pageblocks outside the scratch areas"
# A misspelt KIND must not select nothing and pass: die before any boot.
if [ $# -gt 0 ]; then
	known=" ${cases[*]%%|*} ${numa_cases[*]%%|*} "
	for k in "$@"; do
		[[ $known == *" $k "* ]] ||
			die "unknown corruption kind '$k'; known:${known% }"
	done
	sel=()
	for c in "${cases[@]}" "${numa_cases[@]}"; do
		for k in "$@"; do
			[ "${c%%|*}" = "$k" ] && sel+=("$c")
		done
	done
	cases=("${sel[@]}")
fi
[ ${#cases[@]} -gt 0 ] || die "no corruption kind selected"
mkdir -p "$logdir"

echo "KTAP version 1"
echo "1..${#cases[@]}"
n=0 failed=0
for c in "${cases[@]}"; do
	n=$((n + 1))
	kind=${c%%|*} msg=${c#*|}
	log=$logdir/c-$kind.serial
	reason=
	if ! out=$("$runner" --first "$bz" --log "$log" --mem "${KHO_CORRUPT_MEM:-1G}" \
		--append "khotest_corrupt=$kind kunit.enable=0 $reserve_mem ${KHO_CORRUPT_APPEND:-}" \
		--expect "khotest_corrupt: corrupted the outgoing KHO state: $kind" \
		--expect "$msg" --expect "kho-init: second boot" 2>&1); then
		reason=$(grep -m1 'qemu-kexec: FAILED' <<<"$out" || echo "qemu-kexec.sh failed")
	else
		second=$(sed -n '/kho-init: kexec loaded/,$p' "$log")
		if [ -n "${broken_owner[$kind]:-}" ]; then
			if ! grep -qF 'preserved-memory tree validated' <<<"$second"; then
				reason="the second kernel dropped the whole handover"
			elif ! grep -qE "$restored" <<<"$second"; then
				reason="the rest of the handover was not restored (no '$restored')"
			elif ! grep -qF "${intact_owner[$kind]}" <<<"$second"; then
				reason="the intact subtree was not restored (no '${intact_owner[$kind]}')"
			elif grep -qF "${broken_owner[$kind]}" <<<"$second"; then
				reason="the broken subtree's owner still restored it ('${broken_owner[$kind]}')"
			fi
		elif grep -qF 'preserved-memory tree validated' <<<"$second"; then
			reason="the second kernel accepted the corrupted tree"
		elif grep -qF "$revived" <<<"$second"; then
			reason="reserve_mem took over an area from the dropped handover"
		elif [[ $msg == *"invalid preserved-memory tree"* ]] &&
			! grep -qF "$dropped" <<<"$second"; then
			reason="the second kernel did not say it dropped the handover"
		elif ! grep -qF "$kho_again" <<<"$second"; then
			reason="KHO did not work again in the second kernel (no '$kho_again')"
		fi
		if [ -z "$reason" ] && ! grep -qF "$no_stale_cma" <<<"$second"; then
			reason="$(grep -m1 -o 'khotest_corrupt: [0-9]* CMA pageblocks outside the scratch areas' <<<"$second" ||
				echo "no '$no_stale_cma'") in the second kernel"
		fi
	fi
	if [ -z "$reason" ]; then
		echo "ok $n corrupt_$kind"
		grep -m1 -F "$msg" <<<"$second" | sed 's/^/# /'
	else
		failed=$((failed + 1))
		echo "not ok $n corrupt_$kind # $reason (log: $log)"
	fi
done
echo "# corrupt: $((n - failed)) of $n kinds handled as expected"
[ $failed -eq 0 ]
