// SPDX-License-Identifier: GPL-2.0

//! Kexec HandOver round trip of folios of every order, through the Rust KHO API.
//!
//! Built in, it runs as a device initcall, after KHO is initialized (`fs_initcall`), like
//! `lib/test_kho.c`. It is the in-tree user of [`kernel::kho`] and [`kernel::folio`], and it
//! exercises the radix tracker that `CONFIG_KEXEC_HANDOVER_RADIX_RUST` provides.
//!
//! First boot (no incoming blob named [`BLOB_NAME`]): for every order from 0 to
//! [`MAX_ORDER`], allocate [`LOW_PER_ORDER`] folios below 4 GiB (`ZONE_DMA32`) when the kernel
//! has that zone and [`HIGH_PER_ORDER`] with `GFP_KERNEL` (from `ZONE_NORMAL` above 4 GiB when
//! the machine has memory there), fill every byte with a pattern derived from the folio's
//! physical address, the byte's offset and the order, preserve them, and publish a blob listing
//! `(phys, order)` for each. The folios stay allocated until kexec.
//!
//! Second boot (the blob is there): restore every listed folio, check its order and every byte
//! against the pattern, free it, and report one KTAP result per order. Failures are reported
//! with `pr_err!` and never panic.

use kernel::{
    folio::{
        Folio,
        MAX_ORDER, //
    },
    io::PhysAddr,
    kho::{
        self,
        PreservedBlob,
        PreservedFolio,
        RadixTree,
        RestoredBlob, //
    },
    page::PAGE_SIZE,
    prelude::*,
};

module! {
    type: KhoRadixSelftest,
    name: "kho_radix_selftest",
    authors: ["kho-radix-rs developers"],
    description: "Kexec HandOver round trip of folios of every order",
    license: "GPL",
}

/// Name of the KHO subtree holding the list of preserved folios.
const BLOB_NAME: &CStr = c"kho_radix_selftest";

/// First eight bytes of the blob: "KHORSEL1" in little endian.
const BLOB_MAGIC: u64 = u64::from_le_bytes(*b"KHORSEL1");

/// Size of the blob header: magic (u64), record count (u32), `PAGE_SIZE` (u32).
const HEADER_LEN: usize = 16;

/// Size of one record: physical address (u64), order (u32), flags (u32).
const RECORD_LEN: usize = 16;

/// Record flag: the folio was allocated below 4 GiB.
const FLAG_LOW: u32 = 1;

/// Folios allocated per order below 4 GiB, when the kernel has `ZONE_DMA32`.
const LOW_PER_ORDER: usize = 2;

/// Folios allocated per order with `GFP_KERNEL`.
const HIGH_PER_ORDER: usize = 2;

/// Number of orders tested, one KTAP test each.
const NR_ORDERS: usize = MAX_ORDER as usize + 1;

/// 4 GiB, the end of `ZONE_DMA32`.
const SZ_4G: u64 = 1 << 32;

/// Flags of the allocations below 4 GiB, or [`None`] if the kernel has no `ZONE_DMA32`.
fn low_flags() -> Option<kernel::alloc::Flags> {
    if cfg!(CONFIG_ZONE_DMA32) {
        Some(GFP_KERNEL | __GFP_DMA32 | __GFP_NORETRY | __GFP_NOWARN)
    } else {
        None
    }
}

/// The 8 bytes expected at byte `offset` (a multiple of 8) of the folio of `order` at `phys`.
#[inline]
fn pattern(phys: PhysAddr, offset: usize, order: u32) -> [u8; 8] {
    let mut v = (phys + offset as u64) ^ (u64::from(order) << 58) ^ 0x6b68_6f5f_7261_6478;
    v = (v ^ (v >> 31)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (v ^ (v >> 29)).to_ne_bytes()
}

/// Writes the pattern into every byte of `folio`.
fn fill(folio: &mut Folio) -> Result {
    let (phys, order) = (folio.phys_addr(), folio.order());
    for index in 0..folio.nr_pages() {
        folio.with_page_mut(index, |bytes| {
            for (i, word) in bytes.chunks_exact_mut(8).enumerate() {
                word.copy_from_slice(&pattern(phys, index * PAGE_SIZE + i * 8, order));
            }
        })?;
    }
    Ok(())
}

/// Checks every byte of `folio` against the pattern of a folio of `order` at `phys`.
///
/// Returns the number of bytes checked, or the offset of the first wrong byte.
fn verify(folio: &Folio, phys: PhysAddr, order: u32) -> Result<Result<usize, usize>> {
    for index in 0..folio.nr_pages() {
        let bad = folio.with_page(index, |bytes| {
            bytes.chunks_exact(8).enumerate().find_map(|(i, word)| {
                let want = pattern(phys, index * PAGE_SIZE + i * 8, order);
                let j = word.iter().zip(want.iter()).position(|(a, b)| a != b)?;
                Some(index * PAGE_SIZE + i * 8 + j)
            })
        })?;
        if let Some(offset) = bad {
            return Ok(Err(offset));
        }
    }
    Ok(Ok(folio.size()))
}

struct KhoRadixSelftest {
    /// The preserved folios, kept allocated until kexec.
    _folios: KVec<(PreservedFolio, bool)>,
}

impl KhoRadixSelftest {
    /// Allocates, fills and preserves the folios; returns them with their low-zone flag. On
    /// failure, dropping what is preserved so far unpreserves it.
    fn preserve_all() -> Result<KVec<(PreservedFolio, bool)>> {
        let mut folios = KVec::new();
        for order in 0..=MAX_ORDER {
            let (mut low, mut high) = (0, 0);
            let nr_low = low_flags().map_or(0, |_| LOW_PER_ORDER);
            for n in 0..nr_low + HIGH_PER_ORDER {
                let (flags, is_low) = match low_flags() {
                    Some(flags) if n < nr_low => (flags, true),
                    _ => (GFP_KERNEL | __GFP_NOWARN, false),
                };
                let mut folio = match Folio::alloc(flags, order) {
                    Ok(folio) => folio,
                    Err(_) if is_low => continue,
                    Err(e) => {
                        pr_err!("order {order}: folio allocation failed\n");
                        return Err(e.into());
                    }
                };
                if is_low && folio.phys_addr() + folio.size() as u64 > SZ_4G {
                    pr_err!(
                        "order {order}: __GFP_DMA32 folio at {:#x} is above 4 GiB\n",
                        folio.phys_addr()
                    );
                    return Err(EINVAL);
                }
                fill(&mut folio)?;
                folios.push((folio, is_low), GFP_KERNEL)?;
                if is_low {
                    low += 1;
                } else {
                    high += 1;
                }
            }
            pr_info!(
                "preserved order {order}: {} folios (low: {low}, high: {high})\n",
                low + high
            );
            if low_flags().is_some() && low == 0 {
                pr_info!("order {order}: no free block below 4 GiB\n");
            }
        }
        let lowest = folios.iter().map(|(f, _)| f.phys_addr()).min().unwrap_or(0);
        let highest = folios
            .iter()
            .map(|(f, _)| f.phys_addr() + f.size() as u64)
            .max()
            .unwrap_or(0);
        pr_info!("folios span phys {lowest:#x}..{highest:#x}\n");
        if low_flags().is_none() {
            pr_info!("no ZONE_DMA32: all folios are GFP_KERNEL\n");
        }

        let mut preserved = KVec::with_capacity(folios.len(), GFP_KERNEL)?;
        for (folio, is_low) in folios {
            let (order, phys) = (folio.order(), folio.phys_addr());
            match PreservedFolio::new(folio) {
                Ok(folio) => preserved.push((folio, is_low), GFP_KERNEL)?,
                Err(e) => {
                    pr_err!("preserving order {order} folio at {phys:#x} failed: {e:?}\n");
                    return Err(e);
                }
            }
        }
        Ok(preserved)
    }

    /// Checks that a radix tree holding the folios' keys walks exactly them, in key order.
    fn check_walk(folios: &[(PreservedFolio, bool)]) -> Result {
        let tree = KBox::pin_init(RadixTree::new(), GFP_KERNEL)?;
        for (folio, _) in folios {
            tree.add(folio.folio().phys_addr(), folio.folio().order())?;
        }
        let (mut seen, mut last) = (0usize, None);
        tree.walk(|phys, order| {
            let key = kho::encode_key(phys, order).ok_or(EINVAL)?;
            let known = folios
                .iter()
                .any(|(f, _)| f.folio().phys_addr() == phys && f.folio().order() == order);
            if !known || last.is_some_and(|last| last >= key) {
                pr_err!("radix walk: unexpected key for order {order} at {phys:#x}\n");
                return Err(EINVAL);
            }
            last = Some(key);
            seen += 1;
            Ok(())
        })?;
        if seen != folios.len() {
            pr_err!("radix walk: saw {seen} keys, added {}\n", folios.len());
            return Err(EINVAL);
        }
        pr_info!("radix walk: {seen} keys in order\n");
        Ok(())
    }

    /// First boot: preserve the folios and publish the list. The folios are returned, to stay
    /// allocated and preserved until kexec. If the radix walk check fails, nothing is published
    /// (and the folios are unpreserved as they are dropped), so that the next kernel reports no
    /// restored folio.
    fn save() -> Result<KVec<(PreservedFolio, bool)>> {
        let folios = Self::preserve_all()?;
        if let Err(e) = Self::check_walk(&folios) {
            pr_err!("radix tree walk check failed: {e:?}\n");
            return Err(e);
        }

        let len = HEADER_LEN + folios.len() * RECORD_LEN;
        let publish = || -> Result {
            let mut blob = PreservedBlob::new(len)?;
            let bytes = blob.as_mut_slice();
            let count = u32::try_from(folios.len())?;
            let page_size = u32::try_from(PAGE_SIZE)?;
            bytes[0..8].copy_from_slice(&BLOB_MAGIC.to_le_bytes());
            bytes[8..12].copy_from_slice(&count.to_le_bytes());
            bytes[12..16].copy_from_slice(&page_size.to_le_bytes());
            let records = bytes[HEADER_LEN..].chunks_exact_mut(RECORD_LEN);
            for ((folio, low), rec) in folios.iter().zip(records) {
                let folio = folio.folio();
                let flags = if *low { FLAG_LOW } else { 0 };
                rec[0..8].copy_from_slice(&folio.phys_addr().to_le_bytes());
                rec[8..12].copy_from_slice(&folio.order().to_le_bytes());
                rec[12..16].copy_from_slice(&flags.to_le_bytes());
            }
            blob.publish(BLOB_NAME)
        };
        if let Err(e) = publish() {
            pr_err!("publishing the folio list ({len} bytes) failed: {e:?}\n");
            return Err(e);
        }
        pr_info!("{} folios preserved for the next kernel\n", folios.len());
        // Returned as they are: nothing may fail between publishing the list and keeping the
        // folios, or the list would name folios unpreserved and freed again.
        Ok(folios)
    }

    /// Second boot: restore and check every folio listed in `blob`, report in KTAP.
    fn restore(blob: &RestoredBlob) -> Result {
        let bytes = blob.as_slice();
        let header = bytes.get(..HEADER_LEN).ok_or(EINVAL)?;
        let word = |at: usize| -> Result<u32> {
            let b = header.get(at..at + 4).ok_or(EINVAL)?;
            Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        };
        let magic = u64::from(word(0)?) | (u64::from(word(4)?) << 32);
        let count = usize::try_from(word(8)?)?;
        if magic != BLOB_MAGIC || usize::try_from(word(12)?)? != PAGE_SIZE {
            pr_err!("folio list: bad magic {magic:#x} or page size\n");
            return Err(EINVAL);
        }
        let records = bytes.get(HEADER_LEN..).ok_or(EINVAL)?;
        if records.len() < count * RECORD_LEN {
            pr_err!(
                "folio list: {count} records do not fit in {} bytes\n",
                bytes.len()
            );
            return Err(EINVAL);
        }
        let records = records.chunks_exact(RECORD_LEN).take(count).map(|r| {
            let mut phys = [0u8; 8];
            let mut order = [0u8; 4];
            phys.copy_from_slice(&r[0..8]);
            order.copy_from_slice(&r[8..12]);
            (u64::from_le_bytes(phys), u32::from_le_bytes(order))
        });

        pr_info!("KTAP version 1\n");
        pr_info!("1..{NR_ORDERS}\n");
        let (mut restored, mut all_ok) = (0usize, true);
        for order in 0..=MAX_ORDER {
            let test = order + 1;
            let (mut nr, mut checked, mut failure) = (0usize, 0usize, None);
            for (phys, _) in records.clone().filter(|&(_, o)| o == order) {
                // SAFETY: `phys` is from our own folio list, which our previous kernel published,
                // and each address in it is restored only here, once.
                let folio = match unsafe { kho::restore_folio(phys) } {
                    Ok(folio) => folio,
                    Err(e) => {
                        pr_err!("order {order}: restoring the folio at {phys:#x} failed: {e:?}\n");
                        failure = failure.or(Some("restore failed"));
                        continue;
                    }
                };
                restored += 1;
                if folio.order() != order {
                    pr_err!(
                        "order {order}: folio at {phys:#x} came back with order {}\n",
                        folio.order()
                    );
                    failure = failure.or(Some("wrong order"));
                    continue;
                }
                match verify(&folio, phys, order)? {
                    Ok(n) => {
                        nr += 1;
                        checked += n;
                    }
                    Err(offset) => {
                        pr_err!(
                            "order {order}: folio at {phys:#x}: byte {offset:#x} (phys {:#x}) differs\n",
                            phys + offset as u64
                        );
                        failure = failure.or(Some("content mismatch"));
                    }
                }
            }
            if nr == 0 && failure.is_none() {
                failure = Some("no folios of this order were preserved");
            }
            match failure {
                None => {
                    pr_info!("ok {test} order_{order} # {nr} folios, {checked} bytes verified\n")
                }
                Some(reason) => {
                    all_ok = false;
                    pr_info!("not ok {test} order_{order} # {reason}\n");
                }
            }
        }
        if all_ok && restored == count {
            pr_info!("restored {restored} of {count} folios, all bytes verified\n");
            Ok(())
        } else {
            pr_err!("restored {restored} of {count} folios, some checks failed\n");
            Err(EINVAL)
        }
    }
}

impl kernel::Module for KhoRadixSelftest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        if !kho::is_enabled() {
            pr_info!("KHO is disabled, nothing to test\n");
            return Ok(Self {
                _folios: KVec::new(),
            });
        }
        // SAFETY: `BLOB_NAME` is this module's own subtree, retrieved only here.
        match unsafe { RestoredBlob::retrieve(BLOB_NAME) } {
            Ok(blob) => {
                Self::restore(&blob)?;
                Ok(Self {
                    _folios: KVec::new(),
                })
            }
            Err(e) if e == ENOENT => Ok(Self {
                _folios: Self::save()?,
            }),
            Err(e) => {
                pr_err!("retrieving the folio list failed: {e:?}\n");
                Err(e)
            }
        }
    }
}
