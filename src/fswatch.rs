//! File-system events on the watched folders: a new hourly pair (or a copy arriving on the standby)
//! wakes the app's watcher at once instead of at its next tick.
//!
//! Events only wake; what changed is always read again from the disk (metadata only), so a missed or
//! duplicated event costs nothing but a refresh, and the timer still refreshes when events are not
//! available (a folder created later, a network volume without events). Bursts (a 1 GB file written in
//! thousands of writes) are folded by the receiver, which drains the channel after a short pause.

use std::path::PathBuf;
use std::sync::mpsc::Sender;

use notify::{EventKind, RecursiveMode, Watcher};

/// Keeps the watches alive; dropping it stops them.
pub struct FolderWatch {
    _watcher: Option<notify::RecommendedWatcher>,
    /// The folders actually watched.
    pub watched: Vec<PathBuf>,
}

/// Watches `folders` (those that exist) and sends `()` on `wake` when something in them changes.
pub fn watch(folders: &[PathBuf], wake: Sender<()>) -> FolderWatch {
    let handler = move |event: notify::Result<notify::Event>| {
        if let Ok(e) = event
            && matches!(
                e.kind,
                EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
            )
        {
            // The receiver gone means the app is quitting.
            let _ = wake.send(());
        }
    };
    let mut watcher = match notify::recommended_watcher(handler) {
        Ok(w) => w,
        Err(e) => {
            log::warn!("file-system events unavailable, refreshing on the timer only: {e}");
            return FolderWatch {
                _watcher: None,
                watched: Vec::new(),
            };
        }
    };
    let mut watched = Vec::new();
    for folder in folders {
        if !folder.is_dir() {
            continue;
        }
        // Not recursive: the pair sits in the folder itself, copies in its dated sub-folders, whose
        // creation is an event of the folder.
        match watcher.watch(folder, RecursiveMode::NonRecursive) {
            Ok(()) => watched.push(folder.clone()),
            Err(e) => log::info!("no file-system events for '{}': {e}", folder.display()),
        }
    }
    FolderWatch {
        _watcher: Some(watcher),
        watched,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    // Guards the point of the module: writing a file in a watched folder wakes the receiver.
    #[test]
    fn a_new_file_in_a_watched_folder_wakes() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, rx) = mpsc::channel();
        let w = watch(&[dir.path().to_path_buf(), dir.path().join("absent")], tx);
        assert_eq!(w.watched, vec![dir.path().to_path_buf()]);
        std::fs::write(dir.path().join("media.taz"), b"x").unwrap();
        assert!(rx.recv_timeout(Duration::from_secs(5)).is_ok());
    }
}
