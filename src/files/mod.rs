//! File-system helpers every room uses: making writes durable ([`durable`]), the one reading of a tar
//! stream ([`archive`]) and the Mac's file metadata carried in archives ([`mac_metadata`]), counting a tree
//! ([`tree`]).
//!
//! May use: nothing above it.

pub mod archive;
pub mod digest;
pub mod durable;
pub mod mac_metadata;
pub mod tree;
