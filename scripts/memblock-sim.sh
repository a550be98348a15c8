# SPDX-License-Identifier: GPL-2.0
# The kernel's memblock simulator (tools/testing/memblock of the 7.3
# source: $KERNEL_SRC if set, as for the rest of the workbench, else the
# pristine tree fetch-deps.sh unpacks): the real mm/memblock.c built for
# user space. Sourced after common.sh by bench-memblock.sh and
# test-memblock-ram.sh, not run.

# Objects of the simulator a program links with (and -lurcu).
MEMBLOCK_SIM_OBJS="memblock.o lib/slab.o mmzone.o slab.o cmdline.o"
# -O2 and no sanitizers: the simulator's own makefile would add ASan.
MEMBLOCK_SIM_CFLAGS="-I. -I../../include -Wall -O2 -D CONFIG_PHYS_ADDR_T_64BIT"
# With MEMBLOCK_SIM_NUMA=1, as the simulator's NUMA=1 builds it (its
# makefile's own flags give way to ours): regions carry a node id.
if [ "${MEMBLOCK_SIM_NUMA:-0}" = 1 ]; then
	MEMBLOCK_SIM_CFLAGS="$MEMBLOCK_SIM_CFLAGS -D CONFIG_NUMA -D CONFIG_NODES_SHIFT=4"
fi

# memblock_sim_build SIM [PATCH]: copy the simulator's sources to SIM once
# per source, flags (and patch, applied to them), build its objects there, and
# print the directory to build programs in (SIM/tools/testing/memblock).
# The build log is SIM/build.log.
memblock_sim_build() {
	local sim=$1 patch=${2:-} src=${KERNEL_SRC:-$LINUX_PRISTINE} want
	# With KERNEL_SRC set, fetch-deps.sh does not fetch the pristine tree.
	[ -f "$src/mm/memblock.c" ] ||
		die "no kernel source at $src (run scripts/fetch-deps.sh or set KERNEL_SRC)"
	want="$src $MEMBLOCK_SIM_CFLAGS"
	[ "$(dpkg-query -W -f='${Status}' liburcu-dev 2>/dev/null)" = "install ok installed" ] ||
		die "the memblock simulator needs liburcu-dev (scripts/fetch-deps.sh installs it)"
	[ -z "$patch" ] || want="$want $(sha256sum <"$patch" | cut -c1-16)"
	# The simulator builds inside a kernel tree (relative paths to mm/ and
	# include/); copy the parts it uses.
	if [ "$(cat "$sim/.kho-source" 2>/dev/null)" != "$want" ]; then
		step "copying the memblock simulator's sources to $sim"
		rm -rf "$sim"
		mkdir -p "$sim"
		(cd "$src" && rsync -a --relative tools/include tools/lib tools/arch \
			tools/testing/memblock tools/testing/selftests/kselftest.h \
			mm/memblock.c mm/internal.h include arch/x86/include "$sim/") ||
			die "copying the simulator's sources failed"
		if [ -n "$patch" ]; then
			patch -s -p1 -d "$sim" <"$patch" || die "$patch does not apply"
		fi
		echo "$want" >"$sim/.kho-source"
	fi
	step "building mm/memblock.c in the simulator (-O2, no sanitizers)"
	# shellcheck disable=SC2086 # the object list is split on purpose
	make -s -C "$sim/tools/testing/memblock" CFLAGS="$MEMBLOCK_SIM_CFLAGS" LDFLAGS= \
		$MEMBLOCK_SIM_OBJS >"$sim/build.log" 2>&1 ||
		{ tail -n 20 "$sim/build.log" >&2; die "building the memblock simulator failed"; }
	echo "$sim/tools/testing/memblock"
}
