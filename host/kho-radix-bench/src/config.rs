// SPDX-License-Identifier: GPL-2.0

//! Command line settings of the benchmark.

/// Default number of operations per workload.
const N_DEFAULT: usize = 262_144;
/// Number of operations with `--full`.
const N_FULL: usize = 1_048_576;
/// Number of operations with `--quick`.
pub(crate) const N_QUICK: usize = 65_536;

/// Command line settings.
pub(crate) struct Config {
    pub(crate) n: usize,
    pub(crate) reps: usize,
    pub(crate) pages: Vec<&'static str>,
    /// Only the workloads whose name contains this (for profiling one).
    pub(crate) only: Option<String>,
    pub(crate) out: Option<String>,
}

fn usage() -> ! {
    eprintln!(
        "usage: kho-radix-bench [--quick|--full] [-n N] [-r REPS] [--page 4k|16k|64k|all] [--only TEXT] [--out FILE]"
    );
    std::process::exit(2)
}

impl Config {
    pub(crate) fn parse() -> Config {
        let mut cfg = Config {
            n: N_DEFAULT,
            reps: 11,
            pages: vec!["4k", "16k", "64k"],
            only: None,
            out: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            let mut val = || args.next().unwrap_or_else(|| usage());
            match a.as_str() {
                "--quick" => {
                    cfg.n = N_QUICK;
                    cfg.reps = 5;
                }
                "--full" => cfg.n = N_FULL,
                "-n" | "--n" => cfg.n = val().parse().unwrap_or_else(|_| usage()),
                "-r" | "--reps" => cfg.reps = val().parse().unwrap_or_else(|_| usage()),
                "--out" => cfg.out = Some(val()),
                "--only" => cfg.only = Some(val()),
                "--page" => {
                    cfg.pages = match val().as_str() {
                        "4k" => vec!["4k"],
                        "16k" => vec!["16k"],
                        "64k" => vec!["64k"],
                        "all" => vec!["4k", "16k", "64k"],
                        _ => usage(),
                    }
                }
                // `cargo bench` passes this.
                "--bench" => {}
                _ => usage(),
            }
        }
        if cfg.n == 0 || cfg.reps == 0 {
            usage();
        }
        cfg
    }
}
