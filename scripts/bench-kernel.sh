#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The in-kernel side-by-side benchmark (kho_radix_bench.c): builds the
# bench-rust kernel (configs/bench-rust.config: no lockdep, no VM debugging),
# boots it under QEMU with kho_radix_bench.run=1, and turns the "row" lines
# of its KTAP output into a markdown table: $KHO_CACHE/bench/kernel.md and
# stdout. The kernel fails its KTAP test when the C and the Rust trees end up
# with different keys, and so does this script.
#
# Environment: KHO_BENCH_MAX_N (default 1048576 pages), KHO_BENCH_REPS
# (default 7 runs per tracker), KHO_BENCH_BOOTS (default 3 boots),
# KHO_BENCH_TIMEOUT (QEMU timeout, default 1800 s), KHO_BENCH_CPU (QEMU CPU
# model, default max,-erms: see below).
#
# The table is the first boot's. Under TCG a ratio moves by up to a few
# tenths from one boot to the next, with the same build, so the last two
# columns give each row's ratio of minima as the median over the boots and
# in every boot.
. "$(dirname "$0")/common.sh"
lock_cache scripts/bench-kernel.sh
. "$(dirname "$0")/bench-kernel-boot.sh"

max_n=${KHO_BENCH_MAX_N:-1048576}
reps=${KHO_BENCH_REPS:-7}
nboots=${KHO_BENCH_BOOTS:-3}
[[ $nboots =~ ^[1-9][0-9]*$ ]] || die "KHO_BENCH_BOOTS must be a positive number, not '$nboots'"
out_dir=$KHO_CACHE/bench
log=$out_dir/kernel.serial
mkdir -p "$out_dir"

kernel=$("$REPO_ROOT/scripts/build-kernel.sh" bench-rust)
step "in-kernel benchmark: max_n=$max_n, $reps runs per tracker, $nboots boots (QEMU TCG; about 30 s per boot at 1048576)"
start=$SECONDS

# "boot name n ratio" per row of each boot, the ratio of the minima.
all_ratios=
for b in $(seq "$nboots"); do
	blog=$log
	[ "$b" -eq 1 ] || blog=$out_dir/kernel-boot$b.serial
	step "boot $b of $nboots"
	bench_boot "$kernel" "$blog" "$max_n" "$reps"
	brows=$(bench_rows "$blog")
	[ -n "$brows" ] || die "no benchmark rows in $blog"
	all_ratios+=$(awk -v b="$b" '{
		for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		r = v["c_min_ps"] > 0 ? sprintf("%.2f", v["rs_min_ps"] / v["c_min_ps"]) : "n/a"
		printf "%s %s %s %s\n", b, $1, v["n"], r
	}' <<<"$brows")$'\n'
done
step "in-kernel benchmark done in $((SECONDS - start)) s (log of the first boot: $log)"

rows=$(bench_rows "$log")
floor=$(tr -d '\r' <"$log" | sed -n 's/^.*# kho_radix_bench: floor lock_unlock n=[0-9]* min_ps=\([0-9]*\) .*$/\1/p' | head -n 1)
node=$(tr -d '\r' <"$log" | sed -n 's/^.*# kho_radix_bench: floor node_alloc n=[0-9]* min_ps=\([0-9]*\) .*$/\1/p' | head -n 1)
node_free=$(tr -d '\r' <"$log" | sed -n 's/^.*# kho_radix_bench: floor node_free n=[0-9]* min_ps=\([0-9]*\) .*$/\1/p' | head -n 1)
# The TSC's frequency is the last "tsc: Detected" line of the first boot
# (the processor's comes first, and the TSC's follows only if they differ).
mhz=$(sed '/kho-init: kexec loaded/q' "$log" | tr -d '\r' |
	grep -o 'tsc: Detected [0-9.]* MHz' | tail -n 1 | grep -o '[0-9.]*' || true)

# Which timed functions straddle a 4 KiB page boundary in this build: TCG
# chains translated blocks only within a page, so such a function pays a
# lookup on every call, whichever tracker it belongs to, and a loop across
# the boundary on every iteration (_find_next_bit() is the C walk's scan).
# kho_radix_bench_layout.c keeps the C side where it is from one build to
# the next; the Rust tracker's code moves with every change to it.
vmlinux=${kernel%/arch/*}/vmlinux
layout=
if [ -f "$vmlinux" ] && command -v nm >/dev/null; then
	timed='^(kho_radix_(add_key|del_key|del_key_reclaim|add_pfn_range|walk_tree|walk_tree_desc|rs_bench_walk_closure)|kho_radix_cref_(add_key|del_key|walk_tree)|mutex_lock|mutex_unlock|_find_next_bit)$'
	while read -r addr size _ name; do
		[[ $name =~ $timed ]] || continue
		off=$((16#${addr: -3}))
		((off + 16#$size > 4096)) || continue
		layout+="${layout:+, }$name ($((4096 - off)) of $((16#$size)) bytes before the boundary)"
	done < <(nm -S "$vmlinux")
	layout=${layout:+"these cross one: $layout."}
	layout=${layout:-"none crosses a page boundary."}
fi

{
	echo "### In-kernel benchmark: C and Rust trackers in one boot"
	echo
	echo "$(date -u +%F), $(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown);" \
		"Linux 7.3 bench-rust kernel (no lockdep, no DEBUG_VM) under QEMU TCG (-cpu $QEMU_CPU)" \
		"(guest TSC ${mhz:-?} MHz) on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')," \
		"$(nproc) host CPUs; $reps runs per tracker, fresh private tree per run."
	echo "ns per operation (range workloads: per block). Ratio = Rust / C;" \
		"under TCG, ratios are meaningful, absolute times are not."
	echo "The table is the first of $nboots boots of the same kernel; the last two columns" \
		"are the median over all boots of the Rust/C ratio of the minima, and that ratio" \
		"in each boot, in boot order (under TCG a single boot can be off by a few tenths)."
	echo
	echo "| workload | pages | ops | C min | C median | Rust min | Rust median | Rust/C min | Rust/C median | target | C tree pages | Rust tree pages | Rust/C min, median of boots | Rust/C min, each boot |"
	echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
	ALL_RATIOS=$all_ratios awk '
	BEGIN {
		nr = split(ENVIRON["ALL_RATIOS"], lines, "\n")
		for (i = 1; i <= nr; i++) {
			if (split(lines[i], f, " ") != 4)
				continue
			k = f[2] " " f[3]
			each[k] = each[k] == "" ? f[4] : each[k] " / " f[4]
		}
	}

	# The median of the " / "-separated ratios in s ("n/a" if any is).
	function median(s,   n, r, i, j, t) {
		n = split(s, r, " / ")
		for (i = 1; i <= n; i++) {
			if (r[i] == "n/a")
				return "n/a"
			r[i] += 0
		}
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && r[j - 1] > r[j]; j--) {
				t = r[j]; r[j] = r[j - 1]; r[j - 1] = t
			}
		return n ? sprintf("%.2f", n % 2 ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2) : "n/a"
	}
	
	function val(key,   i, kv) {
		for (i = 2; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] == key)
				return kv[2]
		}
		return ""
	}
	function ns(ps) { return sprintf("%.1f", ps / 1000) }
	function ratio(r, c) { return c > 0 ? sprintf("%.2f", r / c) : "n/a" }
	{
		name = $1
		target = "<= 1.0"
		if (name == "preserve_seq") target = "<= 0.7"
		if (name == "preserve_ranges") target = "<= 0.25"
		if (name == "walk_dense" || name == "walk_sparse" || name == "walk_sparse_restore") target = "<= 0.8"
		if (name ~ /_closure$/) target = "<= 0.5"
		printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			name, val("n"), val("ops"),
			ns(val("c_min_ps")), ns(val("c_med_ps")),
			ns(val("rs_min_ps")), ns(val("rs_med_ps")),
			ratio(val("rs_min_ps"), val("c_min_ps")),
			ratio(val("rs_med_ps"), val("c_med_ps")), target,
			val("c_pages"), val("rs_pages"), median(each[name " " val("n")]),
			each[name " " val("n")]
	}' <<<"$rows"
	if [ -n "$floor" ]; then
		echo
		awk -v floor="$floor" '$1 == "preserve_seq" { n = $2; line = $0 }
		END {
			split(line, f, " ")
			for (i in f) { split(f[i], kv, "="); v[kv[1]] = kv[2] }
			printf "Floor of a per-page call: one uncontended mutex_lock() + mutex_unlock() takes %.1f ns. ", floor / 1000
			printf "preserve_seq at %s pages: C %.1f ns (%.1fx the floor), Rust %.1f ns (%.1fx).\n",
				v["n"], v["c_min_ps"] / 1000, v["c_min_ps"] / floor, v["rs_min_ps"] / 1000, v["rs_min_ps"] / floor
		}' <<<"$rows"
	fi
	if [ -n "$node" ]; then
		echo
		awk -v node="$node" '$1 == "preserve_ranges" { line = $0 }
		END {
			split(line, f, " ")
			for (i in f) { split(f[i], kv, "="); v[kv[1]] = kv[2] }
			per_block = node * v["c_pages"] / v["ops"]
			printf "Floor of a tree page: allocating and zeroing one takes %.1f ns. ", node / 1000
			printf "preserve_ranges at %s pages builds %s pages for %s blocks, %.1f ns per block for either tracker: ", v["n"], v["c_pages"], v["ops"], per_block / 1000
			printf "C %.1f ns, Rust %.1f ns per block; the best ratio possible with this floor alone is %.2f.\n",
				v["c_min_ps"] / 1000, v["rs_min_ps"] / 1000, per_block / v["c_min_ps"]
		}' <<<"$rows"
	fi
	if [ -n "$node_free" ]; then
		echo
		awk -v free="$node_free" 'BEGIN {
			printf "Floor of freeing: freeing one tree page takes %.1f ns. ", free / 1000
			printf "unpreserve_ranges frees the tree pages that C keeps:"
		}
		$1 == "unpreserve_ranges" {
			delete v
			for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			freed = v["c_pages"] - v["rs_pages"]
			printf "%s at %s pages, %d pages for %s blocks, %.1f ns per block of Rust'"'"'s %.1f (C %.1f)",
				sep, v["n"], freed, v["ops"], free * freed / v["ops"] / 1000, v["rs_min_ps"] / 1000, v["c_min_ps"] / 1000
			sep = ";"
		}
		END { print "." }' <<<"$rows"
	fi
	if grep -q ' c_read_ps=[1-9]' <<<"$rows"; then
		echo
		awk 'BEGIN {
			printf "Floor of a sparse walk: a walk reads each word of each leaf, so it cannot take less than reading them and nothing else (word by word, 32 per step, one test per leaf), timed on the walked tree right after each walk:"
		}
		($1 == "walk_sparse" || $1 == "walk_sparse_closure" || $1 == "walk_sparse_restore") {
			delete v
			for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			if (!v["c_read_ps"] || !v["rs_read_ps"])
				next
			printf "%s %s at %s pages, per leaf: C %.1f ns, %.2fx the read of its tree (%.1f ns); Rust %.1f ns, %.2fx (%.1f ns); the best ratio possible %.2f",
				sep, $1, v["n"], v["c_min_ps"] / 1000, v["c_min_ps"] / v["c_read_ps"], v["c_read_ps"] / 1000,
				v["rs_min_ps"] / 1000, v["rs_min_ps"] / v["rs_read_ps"], v["rs_read_ps"] / 1000,
				v["rs_read_ps"] / v["c_min_ps"]
			sep = ";"
		}
		END { print "." }' <<<"$rows"
	fi
	if [ -n "$layout" ]; then
		echo
		echo "Code layout: under TCG a jump to another 4 KiB page costs a block lookup;" \
			"in this build, of the entry points timed above and the C walk's _find_next_bit(), $layout"
	fi
	echo
	echo "unpreserve_seq, unpreserve_random, unpreserve_scattered: C deletes without freeing (kho_radix_del_key), Rust with" \
		"reclamation (kho_radix_del_key_reclaim), as each tracker's KHO unpreserve does;" \
		"unpreserve_scattered has one key every 64 pages, in random order, so 2048 leaves at 1048576 keys;" \
		"unpreserve_ranges, unpreserve_ranges_random: C one kho_radix_del_key() per block, Rust one" \
		"kho_radix_del_pfn_range() per range (with reclamation), as each tracker's" \
		"kho_unpreserve_pages() does; the tree pages are those left afterwards."
} >"$out_dir/kernel.md.tmp"
mv "$out_dir/kernel.md.tmp" "$out_dir/kernel.md"
cat "$out_dir/kernel.md"
step "table written to $out_dir/kernel.md"
