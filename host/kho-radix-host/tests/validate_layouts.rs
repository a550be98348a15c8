// SPDX-License-Identifier: GPL-2.0

//! Differential test of `kho_radix_validate` on physical layouts other than
//! one range of RAM: several RAM regions with holes between them or none
//! (adjacent regions, as memblock keeps when flags or nodes differ), up to
//! two scratch areas, up to two NUMA node boundaries, and keys of orders 0
//! to 15 placed around them. The validator's verdict on each tree must be
//! the one a brute-force oracle gives from the rules it states: every node
//! in RAM and outside the scratch areas; every key decodes, has an allowed
//! order and a block in RAM, on one node, outside the scratch areas and off
//! the tree's pages; and no two blocks overlap.
//!
//! The trees are built with the tracker, so only the layout makes them
//! faulty. `$KHO_LAYOUT_TREES` sets the number of trees per page size
//! (default 400, 8 under Miri). Run for 4K, 16K and 64K pages.

/// xorshift64: reproducible for a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Trees per page size: 400 by default, 8 under Miri, where 400 took 16
/// minutes.
fn trees() -> u64 {
    std::env::var("KHO_LAYOUT_TREES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(kho_radix_host::rounds(400, 8) as u64)
}

macro_rules! validate_layouts {
    ($geom:ident) => {
        mod $geom {
            use super::*;
            use kho_radix_host::$geom::kho_radix_abi::*;
            use kho_radix_host::$geom::kho_radix_tree::{add_key, alloc_root};
            use kho_radix_host::$geom::kho_radix_validate::*;
            use kho_radix_host::$geom::{keys_and_nodes, new_arena};
            use kho_radix_host::Arena;
            use std::mem::MaybeUninit;
            use std::ptr::NonNull;

            const PAGE: u64 = PAGE_SIZE as u64;
            const MAX_ORDER: u32 = 10;
            const MAX_NODES: usize = 4096;

            /// RAM regions (sorted, disjoint, possibly adjacent), scratch
            /// areas and node boundaries; the nodes are the arena's pages.
            struct Layout<'a> {
                arena: &'a Arena,
                ram: Vec<(u64, u64)>,
                scratch: Vec<(u64, u64)>,
                boundaries: Vec<u64>,
            }

            impl PhysLayout for Layout<'_> {
                fn is_ram(&self, start: u64, size: u64) -> bool {
                    let Some(end) = start.checked_add(size) else {
                        return false;
                    };
                    if size == 0 {
                        return false;
                    }
                    // Covered by consecutive regions without a hole.
                    let mut at = start;
                    for &(s, e) in &self.ram {
                        if e <= at {
                            continue;
                        }
                        if s > at {
                            return false;
                        }
                        at = e;
                        if at >= end {
                            return true;
                        }
                    }
                    false
                }

                fn on_one_node(&self, start: u64, size: u64) -> bool {
                    let end = start.saturating_add(size);
                    !self.boundaries.iter().any(|&b| start < b && b < end)
                }

                fn in_scratch(&self, start: u64, size: u64) -> bool {
                    let end = start.saturating_add(size);
                    self.scratch.iter().any(|&(s, e)| start < e && s < end)
                }

                fn node_ptr(&self, phys: u64) -> Option<NonNull<RadixNode>> {
                    self.arena
                        .is_live(phys)
                        .then(|| self.arena.virt_of(phys).cast())
                }
            }

            /// Whether `[start, start + size)` passes the check of every
            /// page of it: in RAM, on the node of its first page, outside
            /// the scratch areas. Page by page, unlike the layout.
            fn oracle_block_ok(l: &Layout<'_>, start: u64, size: u64) -> bool {
                let node_of = |p: u64| l.boundaries.iter().filter(|&&b| b <= p).count();
                (0..size / PAGE).all(|i| {
                    let p = start + i * PAGE;
                    l.is_ram(p, PAGE) && !l.in_scratch(p, PAGE) && node_of(p) == node_of(start)
                })
            }

            /// The oracle's verdict on the tree at `root`: the first rule
            /// it breaks, or `None`.
            fn oracle(
                l: &Layout<'_>,
                arena: &Arena,
                root: NonNull<RadixNode>,
            ) -> Option<&'static str> {
                // SAFETY: `root` is a valid tree the tracker built in `arena`.
                let (keys, nodes) = unsafe { keys_and_nodes(arena, root) };
                if nodes.iter().any(|&n| !oracle_block_ok(l, n, PAGE)) {
                    return Some("node");
                }
                let mut ranges = Vec::new();
                for &k in &keys {
                    let Some((p, o)) = decode_key(k) else {
                        return Some("key");
                    };
                    if o > MAX_ORDER {
                        return Some("order");
                    }
                    let size = PAGE << o;
                    if !oracle_block_ok(l, p, size) {
                        return Some("block");
                    }
                    if nodes.iter().any(|&n| p <= n && n < p + size) {
                        return Some("covers node");
                    }
                    ranges.push((p, p + size));
                }
                ranges.sort_unstable();
                ranges
                    .windows(2)
                    .any(|w| w[0].1 > w[1].0)
                    .then_some("overlap")
            }

            #[test]
            fn verdicts_match_a_brute_force_oracle() {
                let mut rng = Rng(0x6c61_796f_7574_7321);
                let (mut accepted, mut rejected, mut across) = (0u64, 0u64, 0u64);
                for t in 0..trees() {
                    let mut arena = new_arena();
                    let root = alloc_root(&mut arena).expect("root");
                    let root_phys = arena.phys_of(root.cast());
                    // Blocks below the arena's pages at `ARENA_BASE` (the
                    // larger ones may reach them), a quarter clustered in
                    // the middle; one in eight of order 3 to 10, one in 64
                    // above the allowed order.
                    let span = 1u64 << 25;
                    let base = kho_radix_host::ARENA_BASE - span - (1 << 20);
                    for _ in 0..rng.below(40) {
                        let order = match rng.below(256) {
                            0..=3 => 11 + rng.below(5) as u32,
                            4..=35 => 3 + rng.below(8) as u32,
                            _ => rng.below(3) as u32,
                        };
                        let size = PAGE << order;
                        let phys = if rng.below(4) != 0 {
                            base + rng.below(span / size) * size
                        } else {
                            (base + span / 4 + rng.below(64) * PAGE) & !(size - 1)
                        };
                        // SAFETY: `root` is a valid tree in `arena`.
                        let _ = unsafe { add_key(&mut arena, root, encode_key(phys, order)) };
                    }
                    // RAM: up to six regions from below `base`, each after
                    // a hole or not (in every other layout none, and then
                    // they reach past the blocks); and the arena's pages.
                    let holes = rng.below(2) == 0;
                    let mut ram = Vec::new();
                    let mut at = base - (rng.below(1 << 22) & !(PAGE - 1));
                    for _ in 0..1 + rng.below(6) {
                        let hole = rng.below(span / 4) & !(PAGE - 1);
                        let s = if holes && rng.below(2) == 0 {
                            at + hole
                        } else {
                            at
                        };
                        let e = s + (rng.below(span) & !(PAGE - 1)) + PAGE;
                        ram.push((s, e));
                        at = e;
                    }
                    if !holes && at < base + 2 * span {
                        ram.push((at, base + 2 * span));
                    }
                    ram.push((0x1_0000_0000, 0x1_0000_0000 + (1 << 30)));
                    ram.sort_unstable();
                    let mut merged: Vec<(u64, u64)> = Vec::new();
                    for r in ram {
                        match merged.last_mut() {
                            Some(last) if r.0 < last.1 => last.1 = last.1.max(r.1),
                            _ => merged.push(r),
                        }
                    }
                    let scratch = (0..rng.below(3))
                        .map(|_| {
                            let s = base + (rng.below(span) & !(PAGE - 1));
                            (s, s + PAGE * (1 + rng.below(32)))
                        })
                        .collect();
                    let boundaries = (0..rng.below(3))
                        .map(|_| base + (rng.below(span) & !(PAGE - 1)))
                        .collect();
                    let layout = Layout {
                        arena: &arena,
                        ram: merged,
                        scratch,
                        boundaries,
                    };
                    let limits = Limits {
                        max_nodes: MAX_NODES,
                        max_order: MAX_ORDER,
                    };
                    let mut buf = vec![MaybeUninit::new(root_phys); MAX_NODES];
                    // SAFETY: `node_ptr` only returns live arena pages, which
                    // nothing writes while `layout` borrows the arena.
                    let res = unsafe { validate_tree(&layout, root_phys, &limits, &mut buf) }
                        .map(|tree| tree.stats().keys);
                    let want = oracle(&layout, &arena, root);
                    match (&res, want) {
                        (Ok(_), None) => accepted += 1,
                        (Err(e), Some(_)) => {
                            rejected += 1;
                            across += u64::from(e.kind == ErrorKind::RangeAcrossNodes);
                        }
                        (Ok(keys), Some(why)) => {
                            panic!("tree {t}: accepted ({keys} keys), but the oracle finds: {why}")
                        }
                        (Err(e), None) => panic!("tree {t}: rejected a valid tree: {e:?}"),
                    }
                }
                // The layouts must have made both verdicts, and the node
                // rule (natively: Miri's few trees need not).
                assert!(
                    cfg!(miri) || (accepted > 0 && rejected > 0 && across > 0),
                    "{accepted} accepted, {rejected} rejected ({across} across nodes)"
                );
                eprintln!("{accepted} accepted, {rejected} rejected ({across} across nodes)");
            }
        }
    };
}

validate_layouts!(geom4k);
validate_layouts!(geom16k);
validate_layouts!(geom64k);
