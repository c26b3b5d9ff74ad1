//! File-system helpers every room uses: making writes durable ([`durable`]), the one reading of a tar
//! stream ([`archive`]) and the Mac's file metadata carried in archives ([`mac_metadata`]), counting a tree
//! ([`tree`]), lock files other processes look at ([`lock`]), and what makes a file the one verified
//! ([`FileIdentity`]).
//!
//! May use: nothing above it.

pub mod archive;
pub mod digest;
pub mod durable;
pub mod lock;
pub mod mac_metadata;
pub mod tree;
pub mod window;

/// What makes a file the one that was verified: size, modification time and inode. A file rewritten in
/// place changes its time; one replaced by a rename changes its inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileIdentity {
    pub bytes: u64,
    pub mtime_ns: i128,
    pub inode: u64,
}
