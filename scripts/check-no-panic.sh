#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Lists the functions of the kho_radix crate in a built object that call a
# panic routine of `core` (overflow checks, index and slice bounds checks,
# unwrap/expect, assertions), and fails if there is any.
#
# design.rst claims that no key, no tree content and no incoming tree from a
# previous kernel can make the tracker panic. Reviewing every `+` and `[]`
# by hand does not keep that claim true as the code changes; the object
# code does: with CONFIG_RUST_OVERFLOW_CHECKS=y every arithmetic operation
# and every index the compiler could not prove in range is a call to
# `core::panicking::*` or `core::slice::index::*_fail`. So the claim holds
# when no function of the crate contains such a call.
#
# Scope: functions whose demangled name is in the kho_radix crate, including
# its `#[export]`ed C entry points; not the KUnit suite (kho_radix_kunit,
# which asserts by design), and not the library code that the crate
# instantiates (`core::slice::sort`, `kernel::alloc::kvec`), whose panics are
# their own (and, for the u64 sort of the validator, unreachable: u64 has a
# total order).
#
# With a SCOPE (an awk regular expression), the functions in scope are
# those whose demangled name matches it instead: make check passes
# '^<?kernel::(folio|kho)::' with rust/kernel.o for the series' kernel::folio
# and kernel::kho, the safe API the tracker gives Rust drivers.
#
# Usage: scripts/check-no-panic.sh [--with-kunit] OBJECT [SCOPE]
# Exits 0 if no function in scope calls a panic routine, 1 otherwise (each
# offending function and callee is printed), 2 if the object has no
# function of the crate at all (wrong file, or the demangler failed).
# --with-kunit puts the KUnit suite in scope too: its assertions are panic
# calls, so this must fail, which shows that the scan sees them at all.
set -euo pipefail

with_kunit=0
if [ "${1:-}" = --with-kunit ]; then
	with_kunit=1
	shift
fi
obj=${1:?usage: $0 [--with-kunit] OBJECT [SCOPE]}
scope=${2:-}
[ -f "$obj" ] || { echo "check-no-panic: $obj: no such file" >&2; exit 2; }

# objdump -dr prints each function as "ADDR <name>:" and each call's target
# as a relocation line after the call; -C demangles Rust v0 symbols.
objdump -drC --no-show-raw-insn "$obj" | awk -v with_kunit="$with_kunit" -v scope="$scope" '
	/^[0-9a-f]+ <.*>:$/ {
		fn = substr($0, index($0, "<") + 1)
		sub(/>:$/, "", fn)
		# In scope: our crate'"'"'s own items and C entry points; out:
		# the KUnit suite and instantiated library code.
		if (scope != "")
			ours = fn ~ scope
		else
			ours = (fn ~ /^kho_radix::/ || fn ~ /^<kho_radix::/ || fn ~ /^kho_/) &&
			       (with_kunit || fn !~ /kho_radix_kunit/)
		if (ours)
			n_ours++
		next
	}
	ours && /R_X86_64_(PLT|PC)32/ {
		callee = $NF
		sub(/[-+]0x[0-9a-f]+$/, "", callee)
		if (callee ~ /^core::panicking::/ || callee ~ /^core::slice::index::/ ||
		    callee ~ /^core::option::(unwrap|expect)_failed/ ||
		    callee ~ /^core::result::unwrap_failed/ || callee ~ /panic/) {
			print fn "  ->  " callee
			bad++
		}
	}
	END {
		if (n_ours == 0) {
			print "no function in scope found" > "/dev/stderr"
			exit 2
		}
		printf "# %d functions of %s, %d panic call sites\n", n_ours,
		       scope != "" ? "scope " scope : "the kho_radix crate", bad
		exit bad ? 1 : 0
	}'
