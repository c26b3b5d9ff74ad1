//! One menu-bar app at a time: the single-instance lock.
//!
//! `secours app` (and `secours demo` when it starts the app) hold an exclusive lock on
//! `<data dir>/app.lock` for as long as the app runs. A second start — by hand, or by launchd's `RunAtLoad`
//! when `secours login-item on` loads the agent — finds the lock taken, says
//! "Secours is already running (pid N)" and leaves with exit code 0.
//!
//! Guarantees:
//! - The lock is an advisory `flock` (through fs4) on an open file, so the operating system releases it
//!   when the process ends for any reason — Quit, crash, `kill -9`. A stale lock never keeps Secours from
//!   starting. The file stays in place; its content (the holder's pid) only feeds the message and is never
//!   taken for the lock itself.
//! - The lock belongs to the open file, not to the process: a second [`acquire`] in the same process fails
//!   too. Rust opens files close-on-exec, so the programs the app starts (`open`, `tmutil`, `launchctl`…)
//!   never inherit it.
//! - Only the menu-bar app takes it. The other commands (`status`, `verify`, `copy`, `login-item`…) run
//!   beside a running app.
//! - It is per data folder: an app started with another `--data-dir` (or `$SECOURS_DATA_DIR`) is another
//!   instance, with its own history.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// The lock file's name inside the data folder.
pub const LOCK_FILE: &str = "app.lock";

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    /// Another menu-bar app holds the lock (its pid, when it could be read back).
    #[error("Secours is already running{}", .pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    AlreadyRunning {
        /// The running app's process id, as it wrote it into the lock file.
        pid: Option<u32>,
        /// The lock file.
        path: PathBuf,
    },
    /// The lock file could not be created or locked.
    #[error(
        "cannot take the lock '{path}' that keeps Secours from running twice: {source}. Check that the data folder is writable."
    )]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// Proof that this process is the one menu-bar app; the lock is released when it is dropped (or when the
/// process ends).
#[derive(Debug)]
pub struct InstanceGuard {
    // Held only for its lock: closing the file releases it.
    _file: File,
    path: PathBuf,
}

impl InstanceGuard {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Takes the single-instance lock in `dir` (created if missing) without waiting, and writes this
/// process's id into it.
pub fn acquire(dir: &Path) -> Result<InstanceGuard, InstanceError> {
    let path = dir.join(LOCK_FILE);
    let lock_err = |source| InstanceError::Lock {
        path: path.clone(),
        source,
    };
    fs::create_dir_all(dir).map_err(lock_err)?;
    // Not truncated on open: while another app holds the lock, its pid must stay readable.
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(lock_err)?;
    // fs4's method by its path: std's `File::try_lock` is newer than the crate's rust-version.
    match fs4::FileExt::try_lock(&file) {
        Ok(()) => {}
        Err(fs4::TryLockError::WouldBlock) => {
            let mut text = String::new();
            let pid = file.read_to_string(&mut text).ok().and_then(|_| parse_pid(&text));
            return Err(InstanceError::AlreadyRunning { pid, path });
        }
        Err(fs4::TryLockError::Error(source)) => return Err(lock_err(source)),
    }
    // The pid only serves the message of a second start: failing to write it is not a reason to stop.
    if let Err(e) = file.set_len(0).and_then(|()| writeln!(file, "{}", std::process::id())) {
        log::warn!("cannot write this process's id into '{}': {e}", path.display());
    }
    Ok(InstanceGuard { _file: file, path })
}

/// The pid written by [`acquire`]; `None` for an empty (being written) or foreign content.
fn parse_pid(text: &str) -> Option<u32> {
    text.trim().parse().ok().filter(|&pid| pid > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    /// Set in the child process of `a_second_process_is_refused_until_the_holder_dies`.
    const HOLDER_ENV: &str = "SECOURS_TEST_LOCK_HOLDER_DIR";

    #[test]
    fn a_second_acquisition_in_the_same_process_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let first = acquire(&data).unwrap();
        assert_eq!(first.path(), data.join(LOCK_FILE));
        let me = std::process::id();
        match acquire(&data) {
            Err(e @ InstanceError::AlreadyRunning { pid: Some(pid), .. }) => {
                assert_eq!(pid, me);
                assert_eq!(e.to_string(), format!("Secours is already running (pid {me})"));
            }
            other => panic!("expected AlreadyRunning, got {other:?}"),
        }
        drop(first);
        let again = acquire_soon(&data);
        assert_eq!(fs::read_to_string(again.path()).unwrap(), format!("{me}\n"));
    }

    /// Acquires, allowing a brief wait. Another test of this binary that starts a process at this moment
    /// forks a child that shares our open lock file until its `exec` closes it (close-on-exec), so the
    /// lock may outlive `drop` by that instant — the flake CI met once.
    fn acquire_soon(dir: &Path) -> InstanceGuard {
        for _ in 0..100 {
            match acquire(dir) {
                Ok(guard) => return guard,
                Err(InstanceError::AlreadyRunning { .. }) => std::thread::sleep(std::time::Duration::from_millis(20)),
                Err(e) => panic!("{e}"),
            }
        }
        panic!("the lock was not released within 2 s of being dropped");
    }

    // Guards the launchd case: the agent's RunAtLoad start is another process, and the lock must be
    // released by the OS when the holder dies without dropping anything (SIGKILL).
    #[test]
    fn a_second_process_is_refused_until_the_holder_dies() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["run::instance::tests::lock_holder", "--exact", "--nocapture"])
            .env(HOLDER_ENV, dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let locked = io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find(|l| l.starts_with("LOCKED"));
        assert_eq!(locked, Some(format!("LOCKED {}", child.id())));
        match acquire(dir.path()) {
            Err(InstanceError::AlreadyRunning { pid, path }) => {
                assert_eq!(pid, Some(child.id()));
                assert_eq!(path, dir.path().join(LOCK_FILE));
            }
            other => panic!("expected AlreadyRunning, got {other:?}"),
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let guard = acquire_soon(dir.path());
        assert_eq!(
            fs::read_to_string(guard.path()).unwrap(),
            format!("{}\n", std::process::id())
        );
    }

    /// Not a test of its own: the body of the child process started by the test above (takes the lock, says
    /// so, and holds it until killed). Without its environment variable it does nothing.
    #[test]
    fn lock_holder() {
        let Some(dir) = std::env::var_os(HOLDER_ENV) else {
            return;
        };
        let _guard = acquire(Path::new(&dir)).unwrap();
        println!("LOCKED {}", std::process::id());
        io::stdout().flush().unwrap();
        // Blocks until the parent kills this process (or closes stdin).
        let _ = io::stdin().read_to_end(&mut Vec::new());
    }

    #[test]
    fn pid_is_read_back_only_when_it_is_one() {
        assert_eq!(parse_pid("4242\n"), Some(4242));
        assert_eq!(parse_pid(""), None);
        assert_eq!(parse_pid("0"), None);
        assert_eq!(parse_pid("not a pid"), None);
    }

    #[test]
    fn an_unwritable_folder_is_a_lock_error_not_already_running() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain-file");
        fs::write(&file, b"").unwrap();
        let err = acquire(&file.join("data")).unwrap_err();
        assert!(matches!(err, InstanceError::Lock { .. }), "{err:?}");
        assert!(
            err.to_string().contains("Check that the data folder is writable"),
            "{err}"
        );
    }
}
