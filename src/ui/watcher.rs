//! File-system events on the watched folders: a new hourly pair (or a copy arriving on the standby), or a
//! save of the configuration, wakes the app's watcher at once instead of at its next tick.
//!
//! Events only wake; what changed is always read again from the disk (metadata only), so a missed or
//! duplicated event costs nothing but a refresh, and the timer still refreshes when events are not
//! available (a folder created later, a network volume without events). Bursts (a 1 GB file written in
//! thousands of writes) are folded by the receiver, which drains the channel after a short pause.
//!
//! Only what the user changes wakes ([`WatchPlan::wakes`]): a file directly in a watched backup folder, or
//! the configuration file itself — never another file of the configuration's folder, and never Secours's
//! own files (the history database and its `-wal`/`-shm`, the lock, the logs). On macOS the configuration
//! and the data share `~/Library/Application Support/Secours`; every refresh opens the history, whose
//! `-wal`/`-shm` files appear and vanish, and if those woke the next refresh the app never slept.

use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;

use notify::{EventKind, RecursiveMode, Watcher};

/// What to watch and what wakes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchPlan {
    /// Folders whose files wake (the backup folders, the safe-copy destinations).
    pub folders: Vec<PathBuf>,
    /// Single files that wake (the configuration); their folder is watched, nothing else in it wakes.
    pub files: Vec<PathBuf>,
    /// Secours's own folders (data, logs): nothing directly in them wakes, whatever the lists above say.
    pub own: Vec<PathBuf>,
}

impl WatchPlan {
    /// The plan with every path also in its resolved form (`/var/…` is `/private/var/…` on macOS, whose
    /// events name the resolved path), so an event matches whichever form it carries.
    pub fn resolved(&self) -> WatchPlan {
        let both = |list: &[PathBuf]| -> Vec<PathBuf> {
            let mut out = Vec::new();
            for p in list {
                for q in [p.clone(), resolve(p)] {
                    if !out.contains(&q) {
                        out.push(q);
                    }
                }
            }
            out
        };
        WatchPlan {
            folders: both(&self.folders),
            files: both(&self.files),
            own: both(&self.own),
        }
    }

    /// The folders given to the operating system: the watched folders and the files' folders.
    fn os_folders(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        let parents = self.files.iter().filter_map(|f| f.parent().map(Path::to_path_buf));
        for folder in self.folders.iter().cloned().chain(parents) {
            if !out.contains(&folder) {
                out.push(folder);
            }
        }
        out
    }

    /// Whether an event about `paths` wakes the watcher (pure: see the module documentation).
    pub fn wakes(&self, paths: &[PathBuf]) -> bool {
        paths.iter().any(|path| {
            if self.files.iter().any(|f| f == path) {
                return true;
            }
            let Some(parent) = path.parent() else { return false };
            self.folders.iter().any(|f| f == parent) && !self.own.iter().any(|o| o == parent)
        })
    }
}

/// `path` with its symbolic links resolved; a file that does not exist yet keeps its name under its
/// resolved folder.
fn resolve(path: &Path) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(path) {
        return p;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => {
            std::fs::canonicalize(parent).map_or_else(|_| path.to_path_buf(), |p| p.join(name))
        }
        _ => path.to_path_buf(),
    }
}

/// Keeps the watches alive; dropping it stops them.
pub struct FolderWatch {
    _watcher: Option<notify::RecommendedWatcher>,
    /// The folders actually watched.
    pub watched: Vec<PathBuf>,
}

/// Watches `folders` (those that exist) and sends `()` on `wake` when a file in them changes.
pub fn watch(folders: &[PathBuf], wake: Sender<()>) -> FolderWatch {
    watch_plan(
        &WatchPlan {
            folders: folders.to_vec(),
            ..Default::default()
        },
        wake,
    )
}

/// Watches what `plan` names (the folders that exist) and sends `()` on `wake` for the events it says wake.
pub fn watch_plan(plan: &WatchPlan, wake: Sender<()>) -> FolderWatch {
    let matcher = plan.resolved();
    let handler = move |event: notify::Result<notify::Event>| {
        if let Ok(e) = event
            && matches!(
                e.kind,
                EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
            )
            && matcher.wakes(&e.paths)
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
    for folder in plan.os_folders() {
        if !folder.is_dir() {
            continue;
        }
        // Not recursive: the pair sits in the folder itself, copies in its dated sub-folders, whose
        // creation is an event of the folder.
        match watcher.watch(&folder, RecursiveMode::NonRecursive) {
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

    // Guards the refresh loop of item 1 of the Mac issue: with the configuration and the data in one
    // folder (macOS's Application Support), the history's -wal/-shm files must not wake a refresh, which
    // would open the history again, and so on; the configuration file itself still wakes.
    #[test]
    fn own_files_never_wake_and_the_configuration_does() {
        let dir = tempfile::tempdir().unwrap();
        let support = dir.path().join("Application Support/Secours");
        let backups = dir.path().join("backup");
        std::fs::create_dir_all(&support).unwrap();
        std::fs::create_dir_all(&backups).unwrap();
        let config = support.join("config.toml");
        let plan = WatchPlan {
            folders: vec![backups.clone()],
            files: vec![config.clone()],
            own: vec![support.clone(), support.join("logs")],
        };
        assert!(plan.wakes(std::slice::from_ref(&config)));
        assert!(plan.wakes(&[backups.join("media.taz")]));
        for own in [
            "history.sqlite",
            "history.sqlite-wal",
            "history.sqlite-shm",
            "app.lock",
            "history.txt",
        ] {
            assert!(!plan.wakes(&[support.join(own)]), "{own}");
        }
        assert!(!plan.wakes(&[support.join("logs/secours.log")]));
        assert!(!plan.wakes(&[support.join("config.toml.sb-1234")]));
        // A rename that lands on the configuration (an editor's safe save) wakes.
        assert!(plan.wakes(&[support.join("config.toml.tmp"), config.clone()]));

        let (tx, rx) = mpsc::channel();
        let w = watch_plan(&plan, tx);
        assert_eq!(w.watched, vec![backups.clone(), support.clone()]);
        for round in 0..3 {
            std::fs::write(support.join("history.sqlite-wal"), b"x").unwrap();
            std::fs::write(support.join("history.sqlite-shm"), b"x").unwrap();
            std::fs::remove_file(support.join("history.sqlite-wal")).unwrap();
            std::fs::remove_file(support.join("history.sqlite-shm")).unwrap();
            assert!(
                rx.recv_timeout(Duration::from_millis(300)).is_err(),
                "woken by own files, round {round}"
            );
        }
        std::fs::write(&config, b"language = 'fr'\n").unwrap();
        assert!(rx.recv_timeout(Duration::from_secs(5)).is_ok());
    }

    #[test]
    fn resolved_paths_match_either_form() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir_all(&real).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let plan = WatchPlan {
            folders: vec![link.clone()],
            files: vec![link.join("config.toml")],
            own: Vec::new(),
        }
        .resolved();
        let real = std::fs::canonicalize(&real).unwrap();
        assert!(plan.wakes(&[real.join("gestion.gz")]));
        assert!(plan.wakes(&[real.join("config.toml")]));
        assert!(plan.wakes(&[link.join("gestion.gz")]));
    }
}
