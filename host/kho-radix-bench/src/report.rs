// SPDX-License-Identifier: GPL-2.0

//! The markdown report: the ratio table, the memory bandwidths and the
//! walk bound.

use crate::config::{Config, N_QUICK};
use crate::elapsed_ns;
use crate::floor::RANGE_FLOOR;
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Instant;

/// One line of the report.
pub(crate) struct Row {
    pub(crate) page: &'static str,
    pub(crate) page_size: usize,
    pub(crate) name: &'static str,
    pub(crate) ops: u64,
    pub(crate) pages: u64,
    pub(crate) c: Option<Vec<f64>>,
    pub(crate) rust: Vec<f64>,
}

fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    }
}

/// Best read bandwidth of a sum over `bytes` bytes, in bytes per second.
fn sum_bandwidth(bytes: usize, reps: usize) -> f64 {
    let buf: Vec<u64> = (0..bytes / 8).map(|i| i as u64).collect();
    let mut best = f64::INFINITY;
    // Enough passes for at least ~64 MiB per timing.
    let passes = (64 << 20) / bytes.max(1) + 1;
    for _ in 0..reps {
        let t = Instant::now();
        for _ in 0..passes {
            // A plain fold: LLVM vectorises and unrolls it, so the loads
            // are the limit.
            black_box(black_box(&buf).iter().fold(0u64, |a, v| a.wrapping_add(*v)));
        }
        best = best.min(elapsed_ns(t) as f64 / passes as f64);
    }
    bytes as f64 / best * 1e9
}

/// Best memcpy rate over `bytes` bytes (bytes copied per second).
fn memcpy_bandwidth(bytes: usize, reps: usize) -> f64 {
    let src = vec![1u8; bytes];
    let mut dst = vec![0u8; bytes];
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        dst.copy_from_slice(black_box(&src));
        black_box(&mut dst);
        best = best.min(elapsed_ns(t) as f64);
    }
    bytes as f64 / best * 1e9
}

pub(crate) fn host_info() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let threads = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    format!("{cpu}, {threads} threads, load average {load}")
}

fn gb(bps: f64) -> String {
    format!("{:.1} GB/s", bps / 1e9)
}

pub(crate) fn markdown(cfg: &Config, rows: &[Row], load_before: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# KHO radix tree: Rust core vs kernel C, host benchmark\n"
    );
    let _ = writeln!(
        s,
        "N = {} ops per workload, {} repetitions (C and Rust alternating), ns/op.  ",
        cfg.n, cfg.reps
    );
    let _ = writeln!(
        s,
        "C: kexec_handover.c radix code, unchanged, gcc/cc -O2 -fno-strict-aliasing; \
         Rust: kho_radix_tree.rs, opt-level {}.  ",
        env!("KHO_BENCH_RUST_OPT_LEVEL")
    );
    let _ = writeln!(
        s,
        "Both sides allocate nodes from the same page-pool algorithm, phys == virt.  "
    );
    let _ = writeln!(s, "Host: {load_before}.");
    if cfg!(debug_assertions) {
        let _ = writeln!(
            s,
            "\n**Debug build: timings are meaningless, use --release.**"
        );
    } else if env!("KHO_BENCH_RUST_OPT_LEVEL") != "2" {
        // At opt-level 3 the vectorizer turns the reclaiming deletes' test
        // of eight bitmap words into 16-byte loads right after the 8-byte
        // store that cleared the key's bit, and perf puts the time on those
        // loads: a store is not forwarded to a wider load that overlaps it.
        // The range unpreserve with freeing took 12.3 ns per chunk against
        // 5.9 at opt-level 2, which the kernel builds Rust with (and
        // without SIMD).
        let _ = writeln!(
            s,
            "\n**Rust built at opt-level {}, not at the kernel's 2: the rows with freeing \
             can be twice as slow (store forwarding); use scripts/bench-host.sh.**",
            env!("KHO_BENCH_RUST_OPT_LEVEL")
        );
    }
    let _ = writeln!(
        s,
        "\n| page | workload | ops | C min | C median | Rust min | Rust median | Rust/C min | Rust/C median | tree pages |"
    );
    let _ = writeln!(s, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|");
    for r in rows {
        let (rmin, rmed) = (min(&r.rust), median(&r.rust));
        let (cmin, cmed, qmin, qmed) = match &r.c {
            Some(c) => {
                let (cmin, cmed) = (min(c), median(c));
                (
                    format!("{cmin:.2}"),
                    format!("{cmed:.2}"),
                    format!("{:.2}", rmin / cmin),
                    format!("{:.2}", rmed / cmed),
                )
            }
            None => ("n/a".into(), "n/a".into(), "n/a".into(), "n/a".into()),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {cmin} | {cmed} | {rmin:.2} | {rmed:.2} | {qmin} | {qmed} | {} |",
            r.page, r.name, r.ops, r.pages
        );
    }

    // Floor of the range rows: setting one bit per chunk, with no tree.
    let find = |page: &str, name: &str| rows.iter().find(|r| r.page == page && r.name == name);
    let floors: Vec<_> = rows.iter().filter(|r| r.name == RANGE_FLOOR).collect();
    if !floors.is_empty() {
        let _ = writeln!(
            s,
            "\nRange floor: `{RANGE_FLOOR}` enumerates the chunks as `add_pfn_range()` \
             does and sets each one's bit in a flat bitmap of its order, the least a tracker \
             of this chunking does per chunk. A Rust/C ratio below floor/C would need a \
             faster way to find the chunks, not a faster tree.\n"
        );
    }
    for f in floors {
        let bulk = find(f.page, "preserve ranges (Rust add_pfn_range)");
        if let Some((r, c)) = bulk.and_then(|r| r.c.as_deref().map(|c| (r, c))) {
            let (fmin, rmin, cmin) = (min(&f.rust), min(&r.rust), min(c));
            let _ = writeln!(
                s,
                "- {}: floor {fmin:.2} ns per chunk = {:.2} of C's {cmin:.2}; \
                 Rust `add_pfn_range()` {rmin:.2} = {:.2}x the floor.",
                f.page,
                fmin / cmin,
                rmin / fmin
            );
        }
    }

    // Physical bound of the walk: it has to read every tree page once.
    let big = if cfg.n <= N_QUICK {
        64 << 20
    } else {
        256 << 20
    };
    eprintln!("==> memory bandwidth");
    let dram = sum_bandwidth(big, cfg.reps);
    let copy = memcpy_bandwidth(big, cfg.reps);
    let _ = writeln!(
        s,
        "\nMemory: sum loop over {} MiB {}, memcpy of {} MiB {}.\n",
        big >> 20,
        gb(dram),
        big >> 20,
        gb(copy)
    );
    let _ = writeln!(
        s,
        "Walk bound: a walk reads each tree page once, and a validation at \
         least once, so neither can beat tree bytes / read bandwidth. `cached` is the sum loop over a buffer \
         of the tree's size (the tree is cache resident after the untimed adds), \
         `DRAM` the big sum loop. % = bound time / measured min time.\n"
    );
    let _ = writeln!(
        s,
        "| page | walk or validation | tree bytes | cached bw | C scan rate | C % of cached | C % of DRAM | Rust scan rate | Rust % of cached | Rust % of DRAM |"
    );
    let _ = writeln!(s, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|");
    let reads_whole_tree = |r: &&Row| r.name.starts_with("walk") || r.name.starts_with("validate");
    for r in rows.iter().filter(reads_whole_tree) {
        let bytes = r.pages as f64 * r.page_size as f64;
        let cached = sum_bandwidth(r.pages as usize * r.page_size, cfg.reps);
        let rate = |v: &[f64]| bytes / (min(v) * r.ops as f64) * 1e9;
        let cell = |v: &[f64]| {
            let x = rate(v);
            format!(
                "{} | {:.1}% | {:.1}%",
                gb(x),
                100.0 * x / cached,
                100.0 * x / dram
            )
        };
        let c = r.c.as_deref().map_or("n/a | n/a | n/a".into(), cell);
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {c} | {} |",
            r.page,
            r.name,
            bytes as u64,
            gb(cached),
            cell(&r.rust)
        );
    }
    s
}
