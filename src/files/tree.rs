//! Counting what a folder holds, the same way wherever a count is compared: the media a backup carries,
//! what a restore extracted, what the check finds after the swap.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde::Serialize;

/// What [`count_tree`] found below a folder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TreeCount {
    /// Regular files (each hard-linked name counts).
    pub files: u64,
    /// Folders below the root (not the root itself).
    pub folders: u64,
    pub symlinks: u64,
    /// Sizes of regular files; a file with several names inside the tree counts once.
    pub bytes: u64,
}

/// Counts what is below `root` (a real folder), without following any link.
pub fn count_tree(root: &Path) -> io::Result<TreeCount> {
    if !fs::symlink_metadata(root)?.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("'{}' is not a folder", root.display()),
        ));
    }
    let mut count = TreeCount::default();
    let mut seen = HashSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                count.folders += 1;
                stack.push(entry.path());
            } else if kind.is_symlink() {
                count.symlinks += 1;
            } else if kind.is_file() {
                count.files += 1;
                let meta = entry.metadata()?;
                if meta.nlink() <= 1 || seen.insert((meta.dev(), meta.ino())) {
                    count.bytes += meta.len();
                }
            }
        }
    }
    Ok(count)
}
