// SPDX-License-Identifier: GPL-2.0

//! The radix tree built for 16K pages (`PAGE_SHIFT = 14`).

/// Page shift of this geometry, read by [`kho_radix_abi`] as `super::PAGE_SHIFT`.
pub const PAGE_SHIFT: u32 = 14;

#[path = "../../../kho_radix_abi.rs"]
pub mod kho_radix_abi;

#[path = "../../../kho_radix_tree.rs"]
pub mod kho_radix_tree;

#[path = "../../../kho_radix_validate.rs"]
pub mod kho_radix_validate;

crate::impl_node_memory!();
