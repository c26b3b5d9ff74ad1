//! Advisory locks on files (`flock`), to tell other Secours processes that work is under way: a restore
//! (`restore.lock`) or a copy (`copy.lock`), next to the history. The pre-staging of the standby looks at
//! them to give way.

use std::fs;
use std::path::Path;

/// Opens (creating it and its folder if need be, never truncating) the lock file `path`.
pub fn open(path: &Path) -> std::io::Result<fs::File> {
    if let Some(parent) = path.parent() {
        let _ = fs::create_dir_all(parent);
    }
    fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
}

/// Holds `path` locked while it lives (`None` when it cannot be created, or another process holds it).
pub fn try_hold(path: &Path) -> Option<fs::File> {
    let file = open(path).ok()?;
    fs4::FileExt::try_lock(&file).ok().map(|()| file)
}

/// Whether another process holds `path` locked now (looked at without waiting, and let go at once).
pub fn is_held(path: &Path) -> bool {
    let Ok(file) = fs::OpenOptions::new().create(false).write(true).open(path) else {
        return false;
    };
    match fs4::FileExt::try_lock(&file) {
        Ok(()) => {
            let _ = fs4::FileExt::unlock(&file);
            false
        }
        Err(fs4::TryLockError::WouldBlock) => true,
        Err(fs4::TryLockError::Error(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards the look that never takes: held while a holder lives, free once it is gone, and a missing file
    // is not held.
    #[test]
    fn a_lock_is_seen_while_held_and_never_taken_by_the_look() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("copy.lock");
        assert!(!is_held(&path));
        let holder = try_hold(&path).unwrap();
        assert!(is_held(&path));
        assert!(try_hold(&path).is_none());
        drop(holder);
        assert!(!is_held(&path));
        assert!(try_hold(&path).is_some());
    }
}
