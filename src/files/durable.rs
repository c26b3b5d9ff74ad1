//! Making what was written durable: the one place that knows how to flush a folder's entries, or a whole
//! tree, to disk on each platform.

#[cfg(not(target_os = "linux"))]
use std::fs;
use std::fs::File;
use std::io;
use std::path::Path;

/// Flushes `dir` itself to disk, so that the files created, renamed or removed in it stay so after a
/// power cut.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Makes everything written under `root` durable (the restore's extracted media, before they replace the
/// live ones): one `syncfs` of its filesystem on Linux (one journal commit instead of one per file); on
/// macOS, where `fsync` leaves data in the drive's cache, every file and folder is `fsync`ed and one
/// `F_FULLFSYNC` then empties that cache.
pub fn sync_tree(root: &Path) -> io::Result<()> {
    let dir = File::open(root)?;
    #[cfg(target_os = "linux")]
    rustix::fs::syncfs(&dir)?;
    #[cfg(not(target_os = "linux"))]
    {
        fsync_each(root)?;
        #[cfg(target_os = "macos")]
        rustix::fs::fcntl_fullfsync(&dir)?;
        #[cfg(not(target_os = "macos"))]
        dir.sync_all()?;
    }
    Ok(())
}

/// `fsync` of every regular file and folder under `root` (links are not followed), deepest first.
#[cfg(not(target_os = "linux"))]
fn fsync_each(root: &Path) -> io::Result<()> {
    for entry in fs::read_dir(root)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            fsync_each(&entry.path())?;
        } else if kind.is_file() {
            File::open(entry.path())?.sync_all()?;
        }
    }
    sync_dir(root)
}
