//! The restore as a transaction: replace an environment's database and media with a backup pair so
//! that, whatever happens, the environment ends wholly as it was or wholly as the backup.
//!
//! Steps, each journaled in history (`start` before, `done` or `failed` after):
//! `verify` → `preflight` → (`snapshot` then `database`) ∥ `media` → `set-aside` → `swap` → `check` →
//! `commit`.
//!
//! - Nothing of the target changes before the pair is verified and the preflight passed.
//! - `snapshot` keeps the target's database (see [`super::snapshot`]): its tables moved into a side
//!   database by one rename and its other objects written to `<work>/definitions.gz` when the user may
//!   create a database, else a dump to `<work>/database.gz`. `database` (drop all + import) only starts
//!   once the snapshot is complete, so the old database can always be put back.
//! - `media` extracts the archive into `<root>/.secours-staging-<stamp>/`, beside `web/` (same disk, never
//!   inside the served folder, mode 0700); the live folders are untouched meanwhile. `set-aside` then
//!   renames each live media folder to `<work>/media/<dir>` and `swap` renames each staged folder into
//!   place: renames within one filesystem, instant, never a copy or a delete.
//! - The web server's files (the live media folders, owned by `[restore] owner`, `daemon:daemon` on the
//!   Mac) can only be moved and given away by an administrator when Secours runs as the logged-in user.
//!   Those operations — the staged folders' `chown`, the set-aside and swap renames — go through the one
//!   privileged path ([`super::owner::run_admin_ops`]) in ONE request per restore: one administrator
//!   dialog on macOS, one `pkexec` dialog on a Linux desktop, or `sudo -n` under a sudoers rule (never a
//!   prompt). The preflight makes sure a way exists before anything changes; a rollback uses the same path.
//!   Old kept states due for deletion are removed in that same request.
//! - The bytes restored are the bytes verified: the pair's size, time and inode are recorded when the
//!   restore begins and checked after the verification, the extraction and the import; a pair rewritten
//!   meanwhile stops the restore (rolled back), and `--resume` refuses a pair other than the one it began
//!   with.
//! - The journal is written with `synchronous=FULL` (`fullfsync` on macOS): a step is durably announced
//!   before it acts. A rollback or commit marks the operation finished before it deletes what is no longer
//!   needed, and every deletion is idempotent.
//! - `<work>` is `<web's parent>/.secours-previous/<stamp>/`; it is kept `keep-previous` after a
//!   success, then deleted (with its side database).
//! - On any failure (or cancel) the rollback runs by itself: media folders moved back, the tables moved
//!   back (or the dump re-imported if the database was touched), staging deleted. Every action of the rollback is decided
//!   from what is on disk and in the journal, so it is idempotent and also serves
//!   `secours restore --rollback` after a crash; `--resume` re-runs the forward steps, skipping the
//!   ones journaled `done` (each forward step is idempotent too).
//! - Two restores never run at once (a lock file next to the history), and a new one is refused while
//!   an earlier one is unfinished.
//!
//! The rooms of this folder: the types and the public entry points here ([`plan`], [`run()`], [`resume`],
//! [`rollback_unfinished`]); the journal in history and the lock (`journal`), what is checked before
//! anything changes (`preflight`), the forward steps and the commit (`run`), the rollback and the
//! removal of old kept states (`undo`), and the crash tests' fault injection (`faults`, compiled only
//! with the Cargo feature `fault-injection`, which `cargo test` turns on and a release build never has).

mod faults;
mod journal;
mod preflight;
mod run;
mod undo;

pub use faults::pause_point;
pub use journal::{Lock, Unfinished, lock as restore_lock, restore_running, unfinished};
pub use preflight::{human_bytes, preflight};
pub use undo::purge_previous;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::check::CheckReport;
use super::media::ExtractSummary;
use super::owner;
use crate::backup::inspect::Pair;
use crate::backup::inspect::{FileIdentity, check_unchanged};
use crate::backup::operations;
use crate::db::drop_all::ObjectCounts;
use crate::db::importer::ImportSummary;
use crate::env::environment::{EnvError, Environment};
use crate::progress::{Cancel, Progress};
use crate::store::standby::Staged;
use journal::{Journal, journal_error, lock, open_history};
use preflight::refuse_unverified;
use run::drive;
use undo::{remove_work, undo};

/// The journal's step names, in order.
pub mod step {
    pub const VERIFY: &str = "verify";
    pub const PREFLIGHT: &str = "preflight";
    pub const SNAPSHOT: &str = "snapshot";
    pub const MEDIA: &str = "media";
    pub const DATABASE: &str = "database";
    pub const SET_ASIDE: &str = "set-aside";
    pub const SWAP: &str = "swap";
    pub const CHECK: &str = "check";
    pub const COMMIT: &str = "commit";
    pub const ROLLBACK: &str = "rollback";
    /// Every forward step, for plans and progress.
    pub const ALL: &[&str] = &[
        VERIFY, PREFLIGHT, SNAPSHOT, MEDIA, DATABASE, SET_ASIDE, SWAP, CHECK, COMMIT,
    ];
}

/// Name of the folder (next to `web/`) that keeps the replaced states.
pub const PREVIOUS_DIR: &str = ".secours-previous";
/// Prefix of the staging folder, beside `web/`.
pub const STAGING_PREFIX: &str = ".secours-staging-";

/// A restore onto the standby, or the return to production.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Restore,
    Failback,
}

impl Kind {
    /// The history operation kind.
    pub fn word(self) -> &'static str {
        match self {
            Kind::Restore => "restore",
            Kind::Failback => "failback",
        }
    }

    /// Whether a history operation kind is one of ours.
    pub fn is_ours(kind: &str) -> bool {
        kind == "restore" || kind == "failback"
    }
}

/// What to restore where.
#[derive(Debug, Clone)]
pub struct Request {
    pub kind: Kind,
    pub pair: Pair,
    pub target: Environment,
    /// `user:group` for the restored media.
    pub owner: String,
    /// How long the replaced state is kept after a success.
    pub keep_previous: Duration,
    /// Connections for the import.
    pub connections: usize,
    /// The history database (the journal); its folder also holds the restore lock.
    pub history: PathBuf,
    /// The pair made ready ahead of time beside the target, when it is the pair asked for: the switch-over
    /// then swaps it in instead of importing and extracting (see [`super::prestage`]).
    pub prestaged: Option<Staged>,
}

/// What the journal remembers of a restore, enough to finish it or undo it after a crash. Never holds
/// a password: the target's connection is read again from its configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    pub kind: Kind,
    pub source: PathBuf,
    pub db_file: PathBuf,
    pub media_file: PathBuf,
    pub target: String,
    pub web: PathBuf,
    pub media_dirs: Vec<String>,
    /// Media folders the target had before (the others are removed by a rollback).
    pub present: Vec<String>,
    pub work: PathBuf,
    pub staging: PathBuf,
    pub owner: String,
    pub connections: usize,
    /// The dump and the archive as they were when the restore began: every step, and a resume, use
    /// exactly these files (absent from journals written before this was recorded).
    #[serde(default)]
    pub db_identity: Option<FileIdentity>,
    #[serde(default)]
    pub media_identity: Option<FileIdentity>,
    /// The pre-staged pair this restore swaps in (taken from the standby's record when it began).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prestaged: Option<Staged>,
}

impl Recorded {
    pub fn snapshot(&self) -> PathBuf {
        self.work.join("database.gz")
    }

    pub fn aside(&self, dir: &str) -> PathBuf {
        self.work.join("media").join(dir)
    }

    /// `Ok` while the dump and the archive are still the files the restore began with (journals written
    /// before identities were recorded have nothing to compare); else what changed, naming the file.
    fn unchanged(&self) -> Result<(), String> {
        for (file, expected) in [
            (&self.db_file, &self.db_identity),
            (&self.media_file, &self.media_identity),
        ] {
            if let Some(expected) = expected {
                check_unchanged(file, expected)?;
            }
        }
        Ok(())
    }
}

/// The media folder of the target as it is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MediaNow {
    pub name: String,
    pub present: bool,
    pub files: u64,
    pub bytes: u64,
}

/// What a restore would do: the dry run, and the confirmation's summary.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub kind: Kind,
    pub source: PathBuf,
    pub backup_time: Timestamp,
    pub db_file: PathBuf,
    pub db_bytes: u64,
    pub media_file: PathBuf,
    pub media_bytes: u64,
    /// From the verification: what the backup holds.
    pub backup_tables: Option<u64>,
    pub backup_files: Option<u64>,
    pub backup_media_bytes: Option<u64>,
    pub target: String,
    pub target_root: PathBuf,
    pub web: PathBuf,
    pub database: String,
    pub url: Option<String>,
    /// What will be replaced.
    pub current_media: Vec<MediaNow>,
    pub current_objects: Option<ObjectCounts>,
    pub current_database_bytes: Option<u64>,
    pub free_bytes: u64,
    pub needed_bytes: u64,
    pub steps: Vec<&'static str>,
    pub estimated_seconds: u64,
    /// How administrator rights will be had, once, to move and give away the web server's files (`None`:
    /// not needed, Secours may do it itself).
    pub administrator: Option<owner::Via>,
    pub warnings: Vec<String>,
    /// When the pair was proven restorable ahead of time: the restore swaps it in, in seconds.
    pub prestaged_at: Option<Timestamp>,
}

/// What a finished restore did.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub operation: i64,
    pub kind: Kind,
    pub source: PathBuf,
    pub target: String,
    pub seconds: f64,
    /// Seconds per step.
    pub steps: Vec<(String, f64)>,
    pub database: Option<ImportSummary>,
    pub media: Option<ExtractSummary>,
    pub check: Option<CheckReport>,
    /// The replaced state, kept until `kept_until`.
    pub previous: PathBuf,
    pub kept_until: Timestamp,
    pub warnings: Vec<String>,
    /// Whether the pre-staged pair was swapped in (no import, no extraction).
    pub swapped: bool,
}

/// What a rollback did.
#[derive(Debug, Clone, Serialize)]
pub struct RolledBack {
    pub operation: i64,
    pub target: String,
    /// Media folders put back.
    pub media_restored: Vec<String>,
    /// Whether the database was re-imported from the snapshot.
    pub database_restored: bool,
}

/// Why a restore did not end with the backup in place.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("{0}")]
    Refused(String),
    #[error(
        "the restore stopped at step '{step}': {cause}. The automatic rollback put '{target}' back exactly as it was before (database and media). {advice}"
    )]
    RolledBack {
        step: String,
        cause: String,
        target: String,
        advice: String,
    },
    #[error("the restore was cancelled at step '{step}'; '{target}' is back exactly as it was before.")]
    Cancelled { step: String, target: String },
    #[error(
        "the restore stopped at step '{step}': {cause}. The automatic rollback failed too: {rollback}. '{target}' may be partly restored. Fix the cause, then run 'secours restore --rollback' to put it back as it was (or 'secours restore --resume' to finish the restore)."
    )]
    RollbackFailed {
        step: String,
        cause: String,
        rollback: String,
        target: String,
    },
    #[error(
        "a restore onto '{target}' begun {started} did not finish (operation {id}). Run 'secours restore --resume' to finish it or 'secours restore --rollback' to put '{target}' back as it was; nothing else can start before."
    )]
    Unfinished { id: i64, target: String, started: String },
    #[error("no unfinished restore: there is nothing to resume or roll back.")]
    NothingUnfinished,
    #[error("another restore is running (lock '{lock}'). Wait for it to finish.")]
    Busy { lock: PathBuf },
    #[error(
        "cannot keep the restore's journal in '{path}': {cause}. Without a journal a restore cannot be undone after a crash, so nothing was changed. Check that the folder is writable."
    )]
    Journal { path: PathBuf, cause: String },
    #[error(transparent)]
    Env(#[from] EnvError),
}

impl RestoreError {
    /// Exit code: 2 when refused or rolled back (the target is as before), 3 when the target may be mixed
    /// or the journal is unusable.
    pub fn exit_code(&self) -> u8 {
        match self {
            RestoreError::RollbackFailed { .. } | RestoreError::Journal { .. } | RestoreError::Env(_) => 3,
            _ => 2,
        }
    }
}

/// A step's failure, before the rollback turns it into a [`RestoreError`].
#[derive(Debug)]
struct StepFailure {
    step: &'static str,
    cause: String,
    advice: &'static str,
    cancelled: bool,
}

impl StepFailure {
    fn new(step: &'static str, cause: impl ToString, advice: &'static str) -> Self {
        StepFailure {
            step,
            cause: cause.to_string(),
            advice,
            cancelled: false,
        }
    }
}

const ADVICE_RETRY: &str = "Fix the cause named above and start the restore again.";
const ADVICE_SPACE: &str = "Free some disk space on the target's disk, then start the restore again.";
const ADVICE_SOURCE: &str = "Choose another backup (secours restore --list-sources).";

// ----- the public entry points -----

/// Verifies the pair and plans the restore without changing anything (`--dry-run`, and the
/// confirmation's summary).
pub fn plan(req: &Request, progress: &dyn Progress, cancel: &Cancel) -> Result<Plan, RestoreError> {
    let history = open_history(&req.history)?;
    if let Some(u) = unfinished(&history).map_err(journal_error(&req.history))? {
        return Err(u.error());
    }
    let verification = operations::verify(&req.pair, Some(&history), false, progress, cancel);
    refuse_unverified(&verification)?;
    preflight(req, Some(&verification)).map(|(plan, _)| plan)
}

/// Runs a restore from start to end; on failure it rolls back by itself.
pub fn run(req: &Request, progress: &dyn Progress, cancel: &Cancel) -> Result<Outcome, RestoreError> {
    let _lock = lock(&req.history)?;
    let history = open_history(&req.history)?;
    if let Some(u) = unfinished(&history).map_err(journal_error(&req.history))? {
        return Err(u.error());
    }
    let started = Instant::now();
    let stamp = jiff::Zoned::now().strftime("%Y-%m-%d_%H%M%S").to_string();
    let parent = req.target.web.parent().map(Path::to_path_buf).unwrap_or_default();
    let recorded = Recorded {
        kind: req.kind,
        source: req.pair.observation.pair_folder.clone(),
        db_file: req.pair.db.path.clone(),
        media_file: req.pair.media.path.clone(),
        target: req.target.name.clone(),
        web: req.target.web.clone(),
        media_dirs: req.target.media_dirs.clone(),
        present: req
            .target
            .media_dirs
            .iter()
            .filter(|d| fs::symlink_metadata(req.target.media_path(d)).is_ok())
            .cloned()
            .collect(),
        work: unique(parent.join(PREVIOUS_DIR).join(&stamp)),
        staging: unique(parent.join(format!("{STAGING_PREFIX}{stamp}"))),
        owner: req.owner.clone(),
        connections: req.connections,
        db_identity: Some(req.pair.db.identity()),
        media_identity: Some(req.pair.media.identity()),
        // Under the lock: the pre-staging changes its record only under it too.
        prestaged: req
            .prestaged
            .clone()
            .filter(|s| super::prestage::take(&env_root(&req.target.web), s)),
    };
    let details = serde_json::to_string(&recorded).map_err(|e| RestoreError::Journal {
        path: req.history.clone(),
        cause: e.to_string(),
    })?;
    let id = history
        .begin_operation(req.kind.word(), &details, Timestamp::now())
        .map_err(journal_error(&req.history))?;
    let journal = Journal {
        history: Mutex::new(history),
        id,
        path: req.history.clone(),
    };
    drive(req, &recorded, &journal, BTreeSet::new(), started, progress, cancel)
}

/// Locks, and opens the journal of the unfinished restore. One that began but recorded nothing changed
/// nothing: it is closed, and there is nothing to resume or roll back.
fn open_unfinished(history_path: &Path) -> Result<(Lock, Journal, Unfinished), RestoreError> {
    let lock = lock(history_path)?;
    let history = open_history(history_path)?;
    let Some(u) = unfinished(&history).map_err(journal_error(history_path))? else {
        return Err(RestoreError::NothingUnfinished);
    };
    let journal = Journal {
        history: Mutex::new(history),
        id: u.operation.id,
        path: history_path.to_owned(),
    };
    if u.recorded.target.is_empty() {
        journal.finish("rolled-back", serde_json::json!({"note": "nothing had been changed"}))?;
        return Err(RestoreError::NothingUnfinished);
    }
    Ok((lock, journal, u))
}

/// Finishes an unfinished restore (`--resume`).
pub fn resume(
    config: &crate::env::config::Config,
    history_path: &Path,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<Outcome, RestoreError> {
    let (_lock, journal, Unfinished { recorded, done, .. }) = open_unfinished(history_path)?;
    let target = crate::env::environment::named(config, &recorded.target)?;
    let pair = crate::backup::operations::select(
        config,
        &crate::backup::operations::Selection {
            folder: Some(recorded.source.clone()),
            env: None,
        },
    )
    .map_err(|e| RestoreError::Refused(format!("{e} Run 'secours restore --rollback' instead.")))?;
    let pair = Pair {
        media_dirs: recorded.media_dirs.clone(),
        ..pair
    };
    // The pair it began with, not the one the hourly backup may have written since.
    if let Err(changed) = recorded.unchanged() {
        return Err(RestoreError::Refused(format!(
            "cannot resume: {changed}, and a restore must finish with the backup it began with. Nothing more \
             was changed. Run 'secours restore --rollback' to put '{}' back as it was, then restore again.",
            recorded.target
        )));
    }
    if pair.db.path != recorded.db_file || pair.media.path != recorded.media_file {
        return Err(RestoreError::Refused(format!(
            "cannot resume: the backup in '{}' is not the pair this restore began with ('{}', '{}'). Run 'secours \
             restore --rollback' to put '{}' back as it was, then restore again.",
            recorded.source.display(),
            recorded.db_file.display(),
            recorded.media_file.display(),
            recorded.target
        )));
    }
    let req = Request {
        kind: recorded.kind,
        pair,
        target,
        owner: recorded.owner.clone(),
        keep_previous: config.restore.keep_previous.0,
        connections: recorded.connections,
        history: history_path.to_owned(),
        prestaged: recorded.prestaged.clone(),
    };
    let started = Instant::now();
    drive(&req, &recorded, &journal, done, started, progress, cancel)
}

/// Puts the target of an unfinished restore back as it was (`--rollback`).
pub fn rollback_unfinished(
    config: &crate::env::config::Config,
    history_path: &Path,
    progress: &dyn Progress,
) -> Result<RolledBack, RestoreError> {
    let (_lock, journal, Unfinished { recorded, started, .. }) = open_unfinished(history_path)?;
    let target = crate::env::environment::named(config, &recorded.target)?;
    match undo(&journal, &recorded, &target, &started, progress) {
        Ok(report) => {
            journal.finish(
                "rolled-back",
                serde_json::json!({ "by": "secours restore --rollback", "media_restored": report.media_restored, "database_restored": report.database_restored }),
            )?;
            remove_work(&recorded);
            Ok(report)
        }
        Err(e) => Err(RestoreError::RollbackFailed {
            step: "rollback".to_owned(),
            cause: "the rollback was asked for".to_owned(),
            rollback: e,
            target: recorded.target.clone(),
        }),
    }
}

/// A path that does not exist yet: `path`, or `path-2`, `path-3`…
fn unique(path: PathBuf) -> PathBuf {
    if fs::symlink_metadata(&path).is_err() {
        return path;
    }
    for n in 2.. {
        let p = PathBuf::from(format!("{}-{n}", path.display()));
        if fs::symlink_metadata(&p).is_err() {
            return p;
        }
    }
    path
}

/// The environment's folder (web's parent), inside which the restore's privileged operations lie.
fn env_root(web: &Path) -> PathBuf {
    web.parent().map(Path::to_path_buf).unwrap_or_else(|| web.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards the order of the steps, as the module's doc, the plan and the journal give it: nothing of the
    // target changes before `verify` and `preflight`; the set-aside only after the snapshot, the import and
    // the extraction; the swap only after the set-aside; the commit last.
    #[test]
    fn the_steps_in_their_order() {
        assert_eq!(
            step::ALL,
            [
                step::VERIFY,
                step::PREFLIGHT,
                step::SNAPSHOT,
                step::MEDIA,
                step::DATABASE,
                step::SET_ASIDE,
                step::SWAP,
                step::CHECK,
                step::COMMIT
            ]
        );
        // The rollback is not a forward step.
        assert!(!step::ALL.contains(&step::ROLLBACK));
    }

    // Guards the history's operation kinds: a restore and a failback are ours, and are written as such.
    #[test]
    fn kinds_and_their_words() {
        for kind in [Kind::Restore, Kind::Failback] {
            assert!(Kind::is_ours(kind.word()));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.word());
        }
        assert!(!Kind::is_ours("copy"));
    }

    // Guards the exit codes the CLI and the scripts rely on: 2 when the target is as before, 3 when it may
    // be mixed or the journal is unusable.
    #[test]
    fn exit_codes_say_whether_the_target_is_as_before() {
        let as_before = [
            RestoreError::Refused("no".to_owned()),
            RestoreError::RolledBack {
                step: "media".to_owned(),
                cause: "c".to_owned(),
                target: "t".to_owned(),
                advice: "a".to_owned(),
            },
            RestoreError::Cancelled {
                step: "media".to_owned(),
                target: "t".to_owned(),
            },
            RestoreError::NothingUnfinished,
            RestoreError::Busy { lock: PathBuf::new() },
        ];
        for e in as_before {
            assert_eq!(e.exit_code(), 2, "{e}");
        }
        let mixed = [
            RestoreError::RollbackFailed {
                step: "swap".to_owned(),
                cause: "c".to_owned(),
                rollback: "r".to_owned(),
                target: "t".to_owned(),
            },
            RestoreError::Journal {
                path: PathBuf::new(),
                cause: "c".to_owned(),
            },
        ];
        for e in mixed {
            assert_eq!(e.exit_code(), 3, "{e}");
        }
    }

    // Guards the work and staging folders' names: never one that exists already (two restores within the
    // same second, or a leftover), so nothing of an earlier one is reused or overwritten.
    #[test]
    fn unique_never_names_an_existing_path() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("2024-05-01_101500");
        assert_eq!(unique(p.clone()), p);
        fs::create_dir(&p).unwrap();
        let second = unique(p.clone());
        assert_eq!(second, dir.path().join("2024-05-01_101500-2"));
        fs::write(&second, b"").unwrap();
        assert_eq!(unique(p), dir.path().join("2024-05-01_101500-3"));
    }

    // Guards the bound of every privileged operation: the environment's folder, web's parent.
    #[test]
    fn the_environment_root_is_the_parent_of_web() {
        assert_eq!(env_root(Path::new("/srv/secours/web")), Path::new("/srv/secours"));
        assert_eq!(env_root(Path::new("/")), Path::new("/"));
    }
}
