//! The restore's journal: the operation and its steps in history, and the lock that keeps two restores
//! from running at once.
//!
//! - A step is journaled `start` before it acts and `done` (with its seconds and details) or `failed` after;
//!   the journal is written with `synchronous=FULL`, so a step is durably announced before it acts.
//! - The operation's details are the [`Recorded`] plan, as JSON; the step names are those of [`step`]. Both
//!   are read back by `--resume` and `--rollback`, possibly by a later Secours: their encoding never changes
//!   (fields are only ever added, with a default).
//! - The lock is a file next to the history, held (`flock`) for as long as a restore, a resume or a rollback
//!   runs.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use jiff::Timestamp;

use super::faults::fault;
use super::{ADVICE_RETRY, Kind, Recorded, RestoreError, StepFailure, step};
use crate::store::history::{History, HistoryError, Operation, OperationId};

/// The journal of one operation, shared by the worker threads.
pub(super) struct Journal {
    pub(super) history: Mutex<History>,
    pub(super) id: OperationId,
    pub(super) path: PathBuf,
}

impl Journal {
    pub(super) fn step(&self, name: &str, phase: &str, details: serde_json::Value) -> Result<(), StepFailure> {
        let history = self
            .history
            .lock()
            .map_err(|_| StepFailure::new(step::COMMIT, "the journal is unusable", ADVICE_RETRY))?;
        history
            .journal_step(self.id, name, phase, &details.to_string(), Timestamp::now())
            .map_err(|e| StepFailure::new(step::COMMIT, e, ADVICE_RETRY))
    }

    pub(super) fn start(&self, name: &'static str) -> Result<Instant, StepFailure> {
        fault(name)?;
        self.step(name, "start", serde_json::Value::Null)?;
        Ok(Instant::now())
    }

    pub(super) fn done(
        &self,
        name: &'static str,
        started: Instant,
        details: serde_json::Value,
    ) -> Result<f64, StepFailure> {
        let seconds = started.elapsed().as_secs_f64();
        self.step(name, "done", done_details(seconds, details))?;
        Ok(seconds)
    }

    pub(super) fn finish(&self, outcome: &str, details: serde_json::Value) -> Result<(), RestoreError> {
        let history = self.history.lock().map_err(|_| RestoreError::Journal {
            path: self.path.clone(),
            cause: "the journal is unusable".to_owned(),
        })?;
        history
            .finish_operation(self.id, outcome, &details.to_string(), Timestamp::now())
            .map_err(journal_error(&self.path))
    }
}

/// What a `done` step journals: its seconds, and the step's own details when they are an object.
fn done_details(seconds: f64, details: serde_json::Value) -> serde_json::Value {
    let mut d = serde_json::json!({ "seconds": seconds });
    if let (Some(obj), serde_json::Value::Object(more)) = (d.as_object_mut(), details) {
        obj.extend(more);
    }
    d
}

/// A history failure as the restore's error, naming the journal's file.
pub(super) fn journal_error(path: &Path) -> impl FnOnce(HistoryError) -> RestoreError + '_ {
    move |e| RestoreError::Journal {
        path: path.to_owned(),
        cause: e.to_string(),
    }
}

/// The history as the restore's journal: durable commits.
pub(super) fn open_history(path: &Path) -> Result<History, RestoreError> {
    let history = History::open(path).map_err(journal_error(path))?;
    history.make_durable().map_err(journal_error(path))?;
    Ok(history)
}

/// Holds the restore lock until dropped.
pub struct Lock {
    _file: fs::File,
}

pub fn lock(history: &Path) -> Result<Lock, RestoreError> {
    let path = history.with_file_name("restore.lock");
    let file = crate::files::lock::open(&path).map_err(|e| RestoreError::Journal {
        path: path.clone(),
        cause: e.to_string(),
    })?;
    // fs4's method by its path: std's `File::try_lock` is newer than the crate's rust-version. A holder of a
    // moment (the pre-staging looking whether a restore runs) is waited for, up to two seconds.
    let mut tries = 0;
    loop {
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => return Ok(Lock { _file: file }),
            Err(fs4::TryLockError::WouldBlock) if tries < 20 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(fs4::TryLockError::WouldBlock) => return Err(RestoreError::Busy { lock: path }),
            Err(fs4::TryLockError::Error(e)) => {
                return Err(RestoreError::Journal {
                    path,
                    cause: e.to_string(),
                });
            }
        }
    }
}

/// Whether a restore holds its lock now (looked at without waiting, and let go at once).
pub fn restore_running(history: &Path) -> bool {
    crate::files::lock::is_held(&history.with_file_name("restore.lock"))
}

/// A restore that began and never finished.
#[derive(Debug, Clone)]
pub struct Unfinished {
    pub operation: Operation,
    pub recorded: Recorded,
    /// Steps journaled `start`.
    pub started: BTreeSet<String>,
    /// Steps journaled `done`.
    pub done: BTreeSet<String>,
}

/// The unfinished restore, if any: its operation, what it recorded and the steps it journaled.
pub fn unfinished(history: &History) -> Result<Option<Unfinished>, HistoryError> {
    let Some(op) = history
        .unfinished_operations()?
        .into_iter()
        .find(|o| Kind::is_ours(&o.kind))
    else {
        return Ok(None);
    };
    let Ok(recorded) = serde_json::from_str::<Recorded>(&op.details_json) else {
        // Begun but never got as far as recording its plan: nothing was changed.
        return Ok(Some(Unfinished {
            operation: op,
            recorded: placeholder(),
            started: BTreeSet::new(),
            done: BTreeSet::new(),
        }));
    };
    let (started, done) = steps_of(history, op.id);
    Ok(Some(Unfinished {
        operation: op,
        recorded,
        started,
        done,
    }))
}

impl Unfinished {
    /// The refusal a new restore meets, which also tells what to do.
    pub fn error(&self) -> RestoreError {
        RestoreError::Unfinished {
            id: self.operation.id.0,
            target: self.recorded.target.clone(),
            started: crate::i18n::local_minute(self.operation.started_at),
        }
    }
}

fn placeholder() -> Recorded {
    Recorded {
        kind: Kind::Restore,
        source: PathBuf::new(),
        db_file: PathBuf::new(),
        media_file: PathBuf::new(),
        target: String::new(),
        web: PathBuf::new(),
        media_dirs: Vec::new(),
        present: Vec::new(),
        work: PathBuf::new(),
        staging: PathBuf::new(),
        owner: String::new(),
        connections: 1,
        db_identity: None,
        media_identity: None,
        prestaged: None,
    }
}

pub(super) fn steps_of(history: &History, id: OperationId) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut started = BTreeSet::new();
    let mut done = BTreeSet::new();
    for s in history.operation_steps(id).unwrap_or_default() {
        if s.phase == "start" {
            started.insert(s.step);
        } else if s.phase == "done" {
            done.insert(s.step);
        }
    }
    (started, done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::inspect::FileIdentity;
    use crate::store::history::STEP_PHASES;

    /// A journal as the old single-file `transaction.rs` wrote it (field for field, in its order).
    const OLD_RECORDED: &str = r#"{"kind":"restore","source":"/backups/2024-05-01","db_file":"/backups/2024-05-01/gestion.gz","media_file":"/backups/2024-05-01/media.tar.gz","target":"secours","web":"/srv/secours/web","media_dirs":["uploads","files"],"present":["uploads"],"work":"/srv/secours/.secours-previous/2024-05-01_101500","staging":"/srv/secours/.secours-staging-2024-05-01_101500","owner":"daemon:daemon","connections":4,"db_identity":{"bytes":1000,"mtime_ns":1714558500000000000,"inode":42},"media_identity":{"bytes":2000,"mtime_ns":1714558501000000000,"inode":43}}"#;

    fn recorded() -> Recorded {
        serde_json::from_str(OLD_RECORDED).unwrap()
    }

    // Guards the journal's step names: they are on disk in every journal, and `--resume`/`--rollback` of a
    // later Secours read them back, so they never change.
    #[test]
    fn step_names_are_the_journal_format() {
        let names = [
            (step::VERIFY, "verify"),
            (step::PREFLIGHT, "preflight"),
            (step::SNAPSHOT, "snapshot"),
            (step::MEDIA, "media"),
            (step::DATABASE, "database"),
            (step::SET_ASIDE, "set-aside"),
            (step::SWAP, "swap"),
            (step::CHECK, "check"),
            (step::COMMIT, "commit"),
            (step::ROLLBACK, "rollback"),
        ];
        for (name, on_disk) in names {
            assert_eq!(name, on_disk);
        }
    }

    // Guards the operation's details: a journal written by the old code reads back whole, and is written
    // again byte for byte (so resuming or rolling back an old journal sees exactly what it recorded).
    #[test]
    fn recorded_plan_round_trips_through_its_json() {
        let rec = recorded();
        assert_eq!(rec.kind, Kind::Restore);
        assert_eq!(rec.media_dirs, ["uploads", "files"]);
        assert_eq!(
            rec.db_identity,
            Some(FileIdentity {
                bytes: 1000,
                mtime_ns: 1_714_558_500_000_000_000,
                inode: 42
            })
        );
        assert_eq!(serde_json::to_string(&rec).unwrap(), OLD_RECORDED);
        assert_eq!(
            rec.snapshot(),
            PathBuf::from("/srv/secours/.secours-previous/2024-05-01_101500/database.gz")
        );
        assert_eq!(
            rec.aside("uploads"),
            PathBuf::from("/srv/secours/.secours-previous/2024-05-01_101500/media/uploads")
        );
    }

    // Guards journals written before the pair's identities were recorded: they still resume and roll back.
    #[test]
    fn a_journal_without_identities_still_reads() {
        let mut v: serde_json::Value = serde_json::from_str(OLD_RECORDED).unwrap();
        let obj = v.as_object_mut().unwrap();
        obj.remove("db_identity");
        obj.remove("media_identity");
        obj.insert("kind".to_owned(), serde_json::json!("failback"));
        let rec: Recorded = serde_json::from_value(v).unwrap();
        assert_eq!(rec.kind, Kind::Failback);
        assert_eq!((rec.db_identity, rec.media_identity), (None, None));
        // Nothing to compare: not a reason to refuse.
        assert_eq!(rec.unchanged(), Ok(()));
    }

    // Guards what a `done` step records: its seconds, plus the step's details when it has some.
    #[test]
    fn a_done_step_records_its_seconds_and_details() {
        assert_eq!(
            done_details(1.5, serde_json::Value::Null),
            serde_json::json!({ "seconds": 1.5 })
        );
        assert_eq!(
            done_details(2.0, serde_json::json!({ "files": 3, "bytes": 10 })),
            serde_json::json!({ "seconds": 2.0, "files": 3, "bytes": 10 })
        );
    }

    fn journal_in(dir: &Path) -> (Journal, PathBuf) {
        let path = dir.join("history.sqlite");
        let history = open_history(&path).unwrap();
        let id = history
            .begin_operation("restore", OLD_RECORDED, Timestamp::now())
            .unwrap();
        (
            Journal {
                history: Mutex::new(history),
                id,
                path: path.clone(),
            },
            path,
        )
    }

    // Guards the round trip through history: what a run journals is what `--resume` and `--rollback` read
    // back (the plan, the steps started and the steps done), and a finished operation is no longer
    // unfinished.
    #[test]
    fn the_journal_reads_back_the_plan_and_the_steps() {
        let dir = tempfile::tempdir().unwrap();
        let (journal, path) = journal_in(dir.path());
        let t = journal.start(step::VERIFY).unwrap();
        journal.done(step::VERIFY, t, serde_json::Value::Null).unwrap();
        let t = journal.start(step::MEDIA).unwrap();
        journal
            .done(step::MEDIA, t, serde_json::json!({ "files": 60 }))
            .unwrap();
        journal.start(step::SNAPSHOT).unwrap();
        journal
            .step(step::SNAPSHOT, "failed", serde_json::json!({ "error": "disk full" }))
            .unwrap();

        let history = History::open(&path).unwrap();
        let u = unfinished(&history).unwrap().unwrap();
        assert_eq!(u.operation.id, journal.id);
        assert_eq!(u.recorded, recorded());
        let set = |names: &[&str]| names.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
        assert_eq!(u.started, set(&[step::VERIFY, step::MEDIA, step::SNAPSHOT]));
        assert_eq!(u.done, set(&[step::VERIFY, step::MEDIA]));
        assert_eq!(steps_of(&history, journal.id), (u.started.clone(), u.done.clone()));
        let steps = history.operation_steps(journal.id).unwrap();
        assert!(steps.iter().all(|s| STEP_PHASES.contains(&s.phase.as_str())));
        let media_done = steps
            .iter()
            .find(|s| s.step == step::MEDIA && s.phase == "done")
            .unwrap();
        let details: serde_json::Value = serde_json::from_str(&media_done.details_json).unwrap();
        assert_eq!(details["files"], 60);
        assert!(details["seconds"].is_f64());
        assert!(matches!(u.error(), RestoreError::Unfinished { target, .. } if target == "secours"));

        journal.finish("rolled-back", serde_json::json!({})).unwrap();
        assert!(unfinished(&history).unwrap().is_none());
    }

    // Guards the "begun but recorded nothing" case: details that are not a plan mean nothing was changed,
    // shown with an empty target (which `--resume`/`--rollback` close); operations of other kinds are not
    // restores.
    #[test]
    fn an_operation_without_a_plan_is_a_placeholder_and_others_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let history = open_history(&dir.path().join("history.sqlite")).unwrap();
        history.begin_operation("copy", "{}", Timestamp::now()).unwrap();
        assert!(unfinished(&history).unwrap().is_none());
        history.begin_operation("failback", "{}", Timestamp::now()).unwrap();
        let u = unfinished(&history).unwrap().unwrap();
        assert_eq!(u.operation.kind, "failback");
        assert!(u.recorded.target.is_empty());
        assert!(u.started.is_empty() && u.done.is_empty());
    }

    // Guards "two restores never run at once": the second lock is refused while the first is held.
    #[test]
    fn the_lock_is_held_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let history = dir.path().join("data").join("history.sqlite");
        let first = lock(&history).unwrap();
        match lock(&history) {
            Err(RestoreError::Busy { lock }) => assert_eq!(lock, dir.path().join("data").join("restore.lock")),
            other => panic!("{:?}", other.map(|_| ())),
        }
        drop(first);
        assert!(lock(&history).is_ok());
    }
}
