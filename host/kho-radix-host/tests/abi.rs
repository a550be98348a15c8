// SPDX-License-Identifier: GPL-2.0

//! ABI tests: constants, key encoding and index functions against values
//! computed independently from the C definitions.

use proptest::prelude::*;

/// Values of the C `enum kho_radix_consts` and derived sizes, worked out by
/// hand from `include/linux/kho/abi/kexec_handover.h`:
/// `(PAGE_SHIFT, KEY_WIDTH, TABLE_SIZE_LOG2, BITMAP_SIZE_LOG2, TREE_MAX_DEPTH)`.
///
/// - 4K:  64-12+1 = 53, log2(4096/8) = 9,   12+3 = 15, ceil((53-15)/9)  + 1 = 5 + 1 = 6
/// - 16K: 64-14+1 = 51, log2(16384/8) = 11, 14+3 = 17, ceil((51-17)/11) + 1 = 4 + 1 = 5
/// - 64K: 64-16+1 = 49, log2(65536/8) = 13, 16+3 = 19, ceil((49-19)/13) + 1 = 3 + 1 = 4
const C_CONSTS: [(u32, u32, u32, u32, u32); 3] =
    [(12, 53, 9, 15, 6), (14, 51, 11, 17, 5), (16, 49, 13, 19, 4)];

/// Bits `[lo, lo + n)` of `x`, one bit at a time.
fn bits(x: u64, lo: u32, n: u32) -> u64 {
    (0..n)
        .filter(|&i| lo + i < 64 && x & (1u64 << (lo + i)) != 0)
        .map(|i| 1u64 << i)
        .sum()
}

macro_rules! abi_tests {
    ($geom:ident, $row:expr) => {
        mod $geom {
            use super::*;
            use kho_radix_host::$geom::kho_radix_abi::*;
            use kho_radix_host::$geom::PAGE_SHIFT;

            const ROW: (u32, u32, u32, u32, u32) = C_CONSTS[$row];

            #[test]
            fn constants_match_c() {
                let (shift, width, tlog, blog, depth) = ROW;
                assert_eq!(PAGE_SHIFT, shift);
                assert_eq!(PAGE_SIZE, 1usize << shift);
                assert_eq!(KEY_WIDTH, width);
                assert_eq!(TABLE_SIZE_LOG2, tlog);
                assert_eq!(BITMAP_SIZE_LOG2, blog);
                assert_eq!(TREE_MAX_DEPTH, depth);
                assert_eq!(TABLE_ENTRIES, PAGE_SIZE / 8);
                assert_eq!(BITMAP_BITS, PAGE_SIZE * 8);
                assert_eq!(BITMAP_WORDS * 64, BITMAP_BITS);
                assert_eq!(MAX_KEY_ORDER, 63 - shift);
                assert_eq!(std::mem::size_of::<RadixNode>(), PAGE_SIZE);
                assert_eq!(std::mem::size_of::<RadixLeaf>(), PAGE_SIZE);
                assert_eq!(FDT_COMPATIBLE, "kho-v4");
                assert_eq!(FDT_MEMORY_MAP_PROP_NAME, "preserved-memory-map");
                // The levels exactly cover the key: one level fewer would not.
                let covered = |levels: u32| (levels - 1) * tlog + blog;
                assert!(covered(depth) >= width);
                assert!(covered(depth - 1) < width);
                for level in 1..depth {
                    assert_eq!(level_shift(level), (level - 1) * tlog + blog);
                }
            }

            #[test]
            fn encode_known_values() {
                let s = PAGE_SHIFT;
                // Order 0: marker bit at 64 - PAGE_SHIFT, PFN below it.
                assert_eq!(encode_key(0, 0), 1u64 << (64 - s));
                assert_eq!(encode_key(1 << s, 0), (1u64 << (64 - s)) | 1);
                assert_eq!(encode_key((1 << s) | 0xfff, 0), (1u64 << (64 - s)) | 1);
                assert_eq!(encode_key(u64::MAX, 0), (1u64 << KEY_WIDTH) - 1);
                // Order 9 at 512 pages: PFN >> 9 == 1.
                assert_eq!(encode_key(1 << (s + 9), 9), (1u64 << (64 - s - 9)) | 1);
                assert_eq!(encode_key(0, MAX_KEY_ORDER), 2);
                assert_eq!(encode_key(1u64 << 63, MAX_KEY_ORDER), 3);
                // Beyond the C-defined range: the invalid key 0.
                assert_eq!(encode_key(0, MAX_KEY_ORDER + 1), 0);
                assert_eq!(encode_key(0, u32::MAX), 0);
            }

            #[test]
            fn decode_rejects_invalid_keys() {
                assert_eq!(decode_key(0), None);
                assert_eq!(decode_key(1), None);
                assert_eq!(decode_key(1u64 << KEY_WIDTH), None);
                assert_eq!(decode_key(u64::MAX), None);
                assert_eq!(decode_key(1u64 << (KEY_WIDTH - 1)), Some((0, 0)));
                assert_eq!(decode_key((1u64 << KEY_WIDTH) - 1), Some((u64::MAX << PAGE_SHIFT, 0)));
                assert_eq!(decode_key(2), Some((0, MAX_KEY_ORDER)));
                assert_eq!(decode_key(3), Some((1u64 << 63, MAX_KEY_ORDER)));
            }

            #[test]
            fn round_trip_every_order() {
                for order in 0..=MAX_KEY_ORDER {
                    let shift = PAGE_SHIFT + order;
                    let mask = u64::MAX << shift;
                    for phys in [0, 1u64 << shift, u64::MAX & mask, 0x1234_5678_9abc_def0 & mask] {
                        let key = encode_key(phys, order);
                        assert_eq!(64 - key.leading_zeros(), 65 - shift, "order {order}");
                        assert!(64 - key.leading_zeros() <= KEY_WIDTH);
                        assert_eq!(decode_key(key), Some((phys, order)), "order {order}");
                    }
                }
            }

            proptest! {
                #[test]
                fn round_trip_random(phys in any::<u64>(), order in 0..=MAX_KEY_ORDER) {
                    let key = encode_key(phys, order);
                    let aligned = phys & (u64::MAX << (PAGE_SHIFT + order));
                    prop_assert_eq!(decode_key(key), Some((aligned, order)));
                }

                #[test]
                fn decode_then_encode(key in 2u64..(1u64 << KEY_WIDTH)) {
                    let (phys, order) = decode_key(key).expect("valid key");
                    prop_assert_eq!(encode_key(phys, order), key);
                }

                #[test]
                fn indices_match_bit_extraction(key in any::<u64>()) {
                    prop_assert_eq!(bitmap_index(key) as u64, bits(key, 0, BITMAP_SIZE_LOG2));
                    prop_assert!(bitmap_index(key) < BITMAP_BITS);
                    let mut lo = BITMAP_SIZE_LOG2;
                    for level in 1..TREE_MAX_DEPTH {
                        prop_assert_eq!(table_index(key, level) as u64, bits(key, lo, TABLE_SIZE_LOG2));
                        prop_assert!(table_index(key, level) < TABLE_ENTRIES);
                        lo += TABLE_SIZE_LOG2;
                    }
                    // Out-of-tree levels do not panic and stay in range.
                    for level in [0, TREE_MAX_DEPTH, 64, u32::MAX] {
                        prop_assert!(table_index(key, level) < TABLE_ENTRIES);
                    }
                }
            }
        }
    };
}

abi_tests!(geom4k, 0);
abi_tests!(geom16k, 1);
abi_tests!(geom64k, 2);
