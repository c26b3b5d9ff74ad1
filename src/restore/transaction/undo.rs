//! The rollback: puts the target back wholly as it was before a restore, after a failure, a cancel, or a
//! crash (`secours restore --rollback`); and the removal of the kept previous states once they expire.
//!
//! - What to do is decided from what is on disk and from the steps the journal says were started, never
//!   from memory, so the rollback is idempotent: run again (after a crash within it), it finishes the job.
//! - Media first (instant renames back, in one administrator request when needed), then the database:
//!   the set-aside tables moved back, or the safety dump re-imported when the import had started over it.
//! - The operation is marked finished before the work folder is removed; every removal is idempotent.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::faults::fault;
use super::journal::{Journal, steps_of};
use super::{PREVIOUS_DIR, Recorded, RestoreError, RolledBack, StepFailure, env_root, step};
use crate::db::importer::{ImportOptions, import_dump};
use crate::env::dbphp::DbSettings;
use crate::env::environment::Environment;
use crate::progress::{Cancel, Progress};
use crate::restore::owner::{self, AdminOp};
use crate::restore::snapshot;

/// Turns a failed step into the rollback and its message.
pub(super) fn fail(
    journal: &Journal,
    rec: &Recorded,
    target: &Environment,
    failure: StepFailure,
    progress: &dyn Progress,
) -> RestoreError {
    let _ = journal.step(failure.step, "failed", serde_json::json!({ "error": failure.cause }));
    let (started, _) = match journal.history.lock() {
        Ok(h) => steps_of(&h, journal.id),
        Err(_) => (BTreeSet::new(), BTreeSet::new()),
    };
    let touched = touched(&started);
    match undo(journal, rec, target, &started, progress) {
        Ok(_) if !touched && !failure.cancelled => {
            let finished = journal.finish(
                "failed",
                serde_json::json!({ "step": failure.step, "error": failure.cause }),
            );
            // Marked finished first: a crash before the removal leaves only an old folder to purge.
            if finished.is_ok() {
                remove_work(rec);
            }
            RestoreError::Refused(format!(
                "the restore stopped at step '{}': {}. Nothing of '{}' was changed. {}",
                failure.step, failure.cause, rec.target, failure.advice
            ))
        }
        Ok(report) => {
            let outcome = if failure.cancelled { "cancelled" } else { "rolled-back" };
            let finished = journal.finish(
                outcome,
                serde_json::json!({ "step": failure.step, "error": failure.cause, "database_restored": report.database_restored }),
            );
            if finished.is_ok() {
                remove_work(rec);
            }
            if failure.cancelled {
                RestoreError::Cancelled {
                    step: failure.step.to_owned(),
                    target: rec.target.clone(),
                }
            } else {
                RestoreError::RolledBack {
                    step: failure.step.to_owned(),
                    cause: failure.cause,
                    target: rec.target.clone(),
                    advice: failure.advice.to_owned(),
                }
            }
        }
        // The operation stays unfinished, so the next run offers --rollback / --resume.
        Err(rollback) => RestoreError::RollbackFailed {
            step: failure.step.to_owned(),
            cause: failure.cause,
            rollback,
            target: rec.target.clone(),
        },
    }
}

/// Puts the target back as it was before the operation. Decided from the disk and the journal, so it
/// can run any number of times. Leaves the work folder (with the safety copy) for the caller to remove
/// once the operation is marked finished.
pub(super) fn undo(
    journal: &Journal,
    rec: &Recorded,
    target: &Environment,
    started: &BTreeSet<String>,
    progress: &dyn Progress,
) -> Result<RolledBack, String> {
    let _ = journal.step(step::ROLLBACK, "start", serde_json::Value::Null);
    fault(step::ROLLBACK).map_err(|f| f.cause)?;
    // Media first: instant renames, in one administrator request when the folders are the web server's.
    let (ops, media_restored) = media_ops(rec, started, |p| fs::symlink_metadata(p).is_ok());
    if !ops.is_empty() {
        let owner = owner::resolve_owner(&rec.owner).map_err(|e| e.to_string())?;
        let privileges = owner::Privileges::current().map_err(|e| format!("cannot learn this process's user: {e}"))?;
        owner::run_admin_ops(&ops, &owner, &env_root(&rec.web), &owner::admin_runner(), &privileges)
            .map_err(|e| format!("putting the media folders back failed: {e}"))?;
    }
    // The database, when the import may have touched it.
    let mut database_restored = false;
    match database_undo(rec.work.join(snapshot::SCHEMA_FILE).is_file(), started) {
        DatabaseUndo::Nothing => {}
        DatabaseUndo::MoveBack { imported } => {
            let target_settings = target.database().map_err(|e| e.to_string())?;
            snapshot::put_back(&target_settings, &rec.work, imported)
                .map_err(|e| format!("putting the set-aside database back failed: {e}"))?;
            database_restored = true;
        }
        DatabaseUndo::Reimport => {
            let snapshot = rec.snapshot();
            if !snapshot.is_file() {
                return Err(format!(
                    "the safety copy of the database '{}' is missing, so the database cannot be put back",
                    snapshot.display()
                ));
            }
            let target_settings = target.database().map_err(|e| e.to_string())?;
            let options = ImportOptions {
                replace: true,
                rewrite_definers: true,
                connections: rec.connections.max(1),
                ..ImportOptions::default()
            };
            import_dump(&target_settings, &snapshot, &options, progress, &Cancel::new())
                .map_err(|e| format!("re-importing the safety copy '{}' failed: {e}", snapshot.display()))?;
            database_restored = true;
        }
    }
    let _ = journal.step(step::ROLLBACK, "done", serde_json::Value::Null);
    Ok(RolledBack {
        operation: journal.id.0,
        target: rec.target.clone(),
        media_restored,
        database_restored,
    })
}

/// Whether the database or the live media may have been changed once these steps started: before, a
/// failure leaves the target as it was and is only a refusal.
fn touched(started: &BTreeSet<String>) -> bool {
    started.contains(step::DATABASE) || started.contains(step::SET_ASIDE)
}

/// What puts the media folders back, decided from what `exists` now and the steps `started`, and the
/// folders that it puts back: a folder set aside goes back in place (whatever was swapped in is removed
/// first); a restored folder the target did not have is removed once the swap may have moved it in; a
/// staging folder is removed. Run again after it succeeded, it finds nothing to do.
fn media_ops(
    rec: &Recorded,
    started: &BTreeSet<String>,
    exists: impl Fn(&Path) -> bool,
) -> (Vec<AdminOp>, Vec<String>) {
    let mut ops = Vec::new();
    let mut restored = Vec::new();
    for d in &rec.media_dirs {
        let live = rec.web.join(d);
        let aside = rec.aside(d);
        if exists(&aside) {
            if exists(&live) {
                ops.push(AdminOp::Remove { path: live.clone() });
            }
            ops.push(AdminOp::Move { from: aside, to: live });
            restored.push(d.clone());
        } else if !rec.present.contains(d) && started.contains(step::SWAP) && exists(&live) {
            // The target had no such folder: the restored one goes.
            ops.push(AdminOp::Remove { path: live });
            restored.push(d.clone());
        }
    }
    if exists(&rec.staging) {
        ops.push(AdminOp::Remove {
            path: rec.staging.clone(),
        });
    }
    (ops, restored)
}

/// How the database is put back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DatabaseUndo {
    /// Untouched: the import never started and no table was moved.
    Nothing,
    /// The snapshot moved the tables into a side database: they are moved back (`imported`: what the
    /// import may have created meanwhile is dropped first).
    MoveBack { imported: bool },
    /// The import started over a dumped snapshot: the dump is imported again.
    Reimport,
}

/// From whether the side database's record (`SCHEMA_FILE`) is in the work folder and the steps `started`.
fn database_undo(tables_set_aside: bool, started: &BTreeSet<String>) -> DatabaseUndo {
    let imported = started.contains(step::DATABASE);
    if tables_set_aside {
        DatabaseUndo::MoveBack { imported }
    } else if imported {
        DatabaseUndo::Reimport
    } else {
        DatabaseUndo::Nothing
    }
}

/// Removes the work folder of an operation marked finished (rolled back: nothing in it is needed any
/// more). Best effort: what stays is purged with the old kept states.
pub(super) fn remove_work(rec: &Recorded) {
    if fs::symlink_metadata(&rec.work).is_ok()
        && let Err(e) = remove_any(&rec.work)
    {
        log::warn!("{e}");
    }
}

pub(super) fn remove_any(path: &Path) -> Result<(), String> {
    let meta = fs::symlink_metadata(path).map_err(|e| format!("cannot read '{}': {e}", path.display()))?;
    let r = if meta.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    r.map_err(|e| format!("cannot remove '{}': {e}", path.display()))
}

/// The kept previous states older than `keep` (never `except`).
fn expired(web: &Path, keep: Duration, except: Option<&Path>) -> Vec<PathBuf> {
    let dir = env_root(web).join(PREVIOUS_DIR);
    let Ok(entries) = fs::read_dir(&dir) else {
        return Vec::new();
    };
    let now = std::time::SystemTime::now();
    entries
        .flatten()
        .filter(|e| {
            e.metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .is_some_and(|age| age > keep)
        })
        .map(|e| e.path())
        .filter(|p| Some(p.as_path()) != except)
        .collect()
}

/// Drops the side database of an expired state (first: its record is in the folder); `false` when it
/// cannot, and the folder must stay to try again later.
fn discard_side_database(path: &Path, database: Option<&DbSettings>) -> bool {
    if !path.join(snapshot::SCHEMA_FILE).is_file() {
        return true;
    }
    let dropped = match database {
        Some(settings) => snapshot::discard(settings, path).map_err(|e| e.to_string()),
        None => Err("the environment's database settings are unreadable".to_owned()),
    };
    if let Err(err) = &dropped {
        log::warn!("cannot drop the side database of '{}': {err}", path.display());
    }
    dropped.is_ok()
}

/// The removal of the expired kept states, for the restore's one administrator request (their media
/// belong to the web server's user); their side databases are dropped first.
pub(super) fn expired_previous(
    web: &Path,
    keep: Duration,
    except: Option<&Path>,
    database: Option<&DbSettings>,
) -> Vec<AdminOp> {
    expired(web, keep, except)
        .into_iter()
        .filter(|p| discard_side_database(p, database))
        .map(|path| AdminOp::Remove { path })
        .collect()
}

/// Deletes the kept previous states older than `keep` (never `except`, never one an unfinished restore
/// uses) that Secours may delete itself; the web server's files in them wait for the next restore's
/// administrator request. Best effort: a failure is logged.
pub fn purge_previous(web: &Path, keep: Duration, except: Option<&Path>, database: Option<&DbSettings>) {
    for path in expired(web, keep, except) {
        if !discard_side_database(&path, database) {
            continue;
        }
        if let Err(err) = fs::remove_dir_all(&path) {
            log::warn!("cannot delete the old previous state '{}': {err}", path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::time::SystemTime;

    fn rec() -> Recorded {
        Recorded {
            kind: super::super::Kind::Restore,
            source: PathBuf::from("/backups/b"),
            db_file: PathBuf::from("/backups/b/gestion.gz"),
            media_file: PathBuf::from("/backups/b/media.tar.gz"),
            target: "secours".to_owned(),
            web: PathBuf::from("/srv/secours/web"),
            media_dirs: vec!["uploads".to_owned(), "files".to_owned()],
            // The target had `uploads` but no `files`.
            present: vec!["uploads".to_owned()],
            work: PathBuf::from("/srv/secours/.secours-previous/s"),
            staging: PathBuf::from("/srv/secours/.secours-staging-s"),
            owner: "daemon:daemon".to_owned(),
            connections: 2,
            db_identity: None,
            media_identity: None,
            prestaged: None,
        }
    }

    fn steps(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    fn on_disk(paths: &[&str]) -> HashSet<PathBuf> {
        paths.iter().map(PathBuf::from).collect()
    }

    fn ops_for(started: &[&str], disk: &HashSet<PathBuf>) -> (Vec<AdminOp>, Vec<String>) {
        media_ops(&rec(), &steps(started), |p| disk.contains(p))
    }

    fn mv(from: &str, to: &str) -> AdminOp {
        AdminOp::Move {
            from: PathBuf::from(from),
            to: PathBuf::from(to),
        }
    }

    fn rm(path: &str) -> AdminOp {
        AdminOp::Remove {
            path: PathBuf::from(path),
        }
    }

    // Guards the rollback before the set-aside: the live folders were never touched, only the staging goes.
    #[test]
    fn before_the_set_aside_only_the_staging_goes() {
        let disk = on_disk(&[
            "/srv/secours/web/uploads",
            "/srv/secours/.secours-staging-s",
            "/srv/secours/.secours-staging-s/uploads",
        ]);
        let started = [
            step::VERIFY,
            step::PREFLIGHT,
            step::SNAPSHOT,
            step::MEDIA,
            step::DATABASE,
        ];
        let (ops, restored) = ops_for(&started, &disk);
        assert_eq!(ops, [rm("/srv/secours/.secours-staging-s")]);
        assert!(restored.is_empty());
    }

    // Guards a crash between two renames of the swap: a folder swapped in is replaced by the one set aside,
    // one only set aside is moved back, and the folder the target never had is removed.
    #[test]
    fn in_the_middle_of_the_swap_each_folder_goes_back() {
        let disk = on_disk(&[
            // uploads: set aside and the restored one swapped in.
            "/srv/secours/.secours-previous/s/media/uploads",
            "/srv/secours/web/uploads",
            // files: new (the target had none), swapped in.
            "/srv/secours/web/files",
            "/srv/secours/.secours-staging-s",
        ]);
        let started = [step::MEDIA, step::DATABASE, step::SET_ASIDE, step::SWAP];
        let (ops, restored) = ops_for(&started, &disk);
        assert_eq!(
            ops,
            [
                rm("/srv/secours/web/uploads"),
                mv(
                    "/srv/secours/.secours-previous/s/media/uploads",
                    "/srv/secours/web/uploads"
                ),
                rm("/srv/secours/web/files"),
                rm("/srv/secours/.secours-staging-s"),
            ]
        );
        assert_eq!(restored, ["uploads", "files"]);
    }

    // Guards the set-aside without a swap: the live folder is only moved back (nothing to remove), and a
    // new folder is not touched before the swap started (the restored one is still in staging).
    #[test]
    fn set_aside_only_moves_back() {
        let disk = on_disk(&["/srv/secours/.secours-previous/s/media/uploads"]);
        let (ops, restored) = ops_for(&[step::MEDIA, step::SET_ASIDE], &disk);
        assert_eq!(
            ops,
            [mv(
                "/srv/secours/.secours-previous/s/media/uploads",
                "/srv/secours/web/uploads"
            )]
        );
        assert_eq!(restored, ["uploads"]);
        // `files` in place but the swap never started: it is not the restore's.
        let disk = on_disk(&["/srv/secours/web/files"]);
        assert!(ops_for(&[step::SET_ASIDE], &disk).0.is_empty());
    }

    // Guards idempotence: once the rollback's renames are done, running it again does nothing.
    #[test]
    fn a_finished_rollback_finds_nothing_more_to_do() {
        let disk = on_disk(&["/srv/secours/web/uploads"]);
        let all = [step::MEDIA, step::DATABASE, step::SET_ASIDE, step::SWAP, step::CHECK];
        assert_eq!(ops_for(&all, &disk), (Vec::new(), Vec::new()));
    }

    // Guards the database's part: tables set aside are moved back (dropping what the import made when it
    // started); a dumped snapshot is re-imported only once the import started; otherwise nothing.
    #[test]
    fn what_puts_the_database_back() {
        assert_eq!(database_undo(false, &steps(&[step::SNAPSHOT])), DatabaseUndo::Nothing);
        assert_eq!(
            database_undo(true, &steps(&[step::SNAPSHOT])),
            DatabaseUndo::MoveBack { imported: false }
        );
        assert_eq!(
            database_undo(true, &steps(&[step::SNAPSHOT, step::DATABASE])),
            DatabaseUndo::MoveBack { imported: true }
        );
        assert_eq!(
            database_undo(false, &steps(&[step::SNAPSHOT, step::DATABASE])),
            DatabaseUndo::Reimport
        );
    }

    // Guards the refusal/rollback split: a failure before the import or the set-aside changed nothing.
    #[test]
    fn the_target_is_touched_from_the_import_or_the_set_aside_on() {
        assert!(!touched(&steps(&[
            step::VERIFY,
            step::PREFLIGHT,
            step::SNAPSHOT,
            step::MEDIA
        ])));
        assert!(touched(&steps(&[step::DATABASE])));
        assert!(touched(&steps(&[step::SET_ASIDE])));
    }

    // Guards the purge: only kept states older than `keep` go, never the one named `except`, and a kept
    // state without a side database is removed.
    #[test]
    fn purge_removes_only_the_expired_states() {
        let root = tempfile::tempdir().unwrap();
        let web = root.path().join("web");
        let kept = root.path().join(PREVIOUS_DIR);
        let (old, current, young) = (kept.join("old"), kept.join("current"), kept.join("young"));
        for d in [&old, &current, &young] {
            fs::create_dir_all(d.join("media")).unwrap();
        }
        let long_ago = SystemTime::now() - Duration::from_secs(3600);
        for d in [&old, &current] {
            fs::File::open(d).unwrap().set_modified(long_ago).unwrap();
        }
        let keep = Duration::from_secs(60);
        let mut due = expired(&web, keep, Some(&current));
        due.sort();
        assert_eq!(due, [old.as_path()]);
        purge_previous(&web, keep, Some(&current), None);
        assert!(!old.exists());
        assert!(current.exists() && young.exists());
        // The same, as the one administrator request's removals.
        fs::File::open(&current).unwrap().set_modified(long_ago).unwrap();
        assert_eq!(
            expired_previous(&web, keep, None, None),
            [AdminOp::Remove { path: current }]
        );
    }

    // Guards `remove_any`: a folder or a file goes, and a missing path is a named error.
    #[test]
    fn remove_any_names_what_it_cannot_remove() {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("t");
        fs::create_dir_all(tree.join("a")).unwrap();
        fs::write(tree.join("a").join("f"), b"x").unwrap();
        remove_any(&tree).unwrap();
        assert!(!tree.exists());
        let file = dir.path().join("f");
        fs::write(&file, b"x").unwrap();
        remove_any(&file).unwrap();
        let e = remove_any(&file).unwrap_err();
        assert!(e.contains(&format!("'{}'", file.display())), "{e}");
    }
}
