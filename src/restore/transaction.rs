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
//! Fault injection for the tests: `SECOURS_FAULT=<step>` makes that step fail as it starts;
//! `pause:<step>` stops the process as the step starts (`pause:rollback` as the rollback starts),
//! `pause-in:<step>` in the middle of a long step (`snapshot`, `media`, `database`), after writing the
//! file named by `SECOURS_FAULT_MARK`, so that a test can kill it there. Several, separated by commas.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::check::{self, CheckReport};
use super::media::{self, ExtractSummary, MediaError};
use super::owner::{self, AdminOp, OwnerError};
use super::snapshot::{self, SnapshotError};
use crate::backup::inspect::Pair;
use crate::backup::inspect::{FileIdentity, check_unchanged};
use crate::backup::operations::{self, Verification};
use crate::db::connect::{ConnectError, connect, server_info};
use crate::db::drop_all::{ObjectCounts, object_counts};
use crate::db::dumper::{DumpError, dump_database};
use crate::db::importer::{ImportError, ImportOptions, ImportSummary, import_dump};
use crate::env::dbphp::DbSettings;
use crate::env::environment::{EnvError, Environment};
use crate::progress::{Cancel, Progress, Update};
use crate::store::history::{History, HistoryError, Operation, OperationId};

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
}

/// What the journal remembers of a restore, enough to finish it or undo it after a crash. Never holds
/// a password: the target's connection is read again from its configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

// ----- journal -----

/// The journal of one operation, shared by the worker threads.
struct Journal {
    history: Mutex<History>,
    id: OperationId,
    path: PathBuf,
}

impl Journal {
    fn step(&self, name: &str, phase: &str, details: serde_json::Value) -> Result<(), StepFailure> {
        let history = self
            .history
            .lock()
            .map_err(|_| StepFailure::new(step::COMMIT, "the journal is unusable", ADVICE_RETRY))?;
        history
            .journal_step(self.id, name, phase, &details.to_string(), Timestamp::now())
            .map_err(|e| StepFailure::new(step::COMMIT, e, ADVICE_RETRY))
    }

    fn start(&self, name: &'static str) -> Result<Instant, StepFailure> {
        fault(name)?;
        self.step(name, "start", serde_json::Value::Null)?;
        Ok(Instant::now())
    }

    fn done(&self, name: &'static str, started: Instant, details: serde_json::Value) -> Result<f64, StepFailure> {
        let seconds = started.elapsed().as_secs_f64();
        let mut d = serde_json::json!({ "seconds": seconds });
        if let (Some(obj), serde_json::Value::Object(more)) = (d.as_object_mut(), details) {
            obj.extend(more);
        }
        self.step(name, "done", d)?;
        Ok(seconds)
    }

    fn finish(&self, outcome: &str, details: serde_json::Value) -> Result<(), RestoreError> {
        let history = self.history.lock().map_err(|_| RestoreError::Journal {
            path: self.path.clone(),
            cause: "the journal is unusable".to_owned(),
        })?;
        history
            .finish_operation(self.id, outcome, &details.to_string(), Timestamp::now())
            .map_err(journal_error(&self.path))
    }
}

/// A history failure as the restore's error, naming the journal's file.
fn journal_error(path: &Path) -> impl FnOnce(HistoryError) -> RestoreError + '_ {
    move |e| RestoreError::Journal {
        path: path.to_owned(),
        cause: e.to_string(),
    }
}

/// The history as the restore's journal: durable commits.
fn open_history(path: &Path) -> Result<History, RestoreError> {
    let history = History::open(path).map_err(journal_error(path))?;
    history.make_durable().map_err(journal_error(path))?;
    Ok(history)
}

/// Holds the restore lock until dropped.
struct Lock {
    _file: fs::File,
}

fn lock(history: &Path) -> Result<Lock, RestoreError> {
    let path = history.with_file_name("restore.lock");
    if let Some(parent) = path.parent() {
        let _ = fs::create_dir_all(parent);
    }
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| RestoreError::Journal {
            path: path.clone(),
            cause: e.to_string(),
        })?;
    // fs4's method by its path: std's `File::try_lock` is newer than the crate's rust-version.
    match fs4::FileExt::try_lock(&file) {
        Ok(()) => Ok(Lock { _file: file }),
        Err(fs4::TryLockError::WouldBlock) => Err(RestoreError::Busy { lock: path }),
        Err(fs4::TryLockError::Error(e)) => Err(RestoreError::Journal {
            path,
            cause: e.to_string(),
        }),
    }
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
            started: local_time(self.operation.started_at),
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
    }
}

// ----- fault injection (tests) -----

fn fault(name: &str) -> Result<(), StepFailure> {
    let Ok(spec) = std::env::var("SECOURS_FAULT") else {
        return Ok(());
    };
    for part in spec.split(',') {
        if part == name {
            return Err(StepFailure::new(
                step_static(name),
                format!("injected fault at step '{name}' (SECOURS_FAULT)"),
                ADVICE_RETRY,
            ));
        }
        if part.strip_prefix("pause:") == Some(name) {
            pause_here();
        }
    }
    Ok(())
}

/// Stops the process for good (a test kills it); writes the mark file first.
fn pause_here() {
    if let Ok(mark) = std::env::var("SECOURS_FAULT_MARK") {
        let _ = fs::write(mark, b"paused");
    }
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn step_static(name: &str) -> &'static str {
    step::ALL.iter().copied().find(|s| *s == name).unwrap_or(step::COMMIT)
}

/// Progress that forwards to the caller's sink, stops the work when the user cancels, and serves the
/// `pause-in:` fault in the middle of a long step.
struct StepProgress<'a> {
    inner: &'a dyn Progress,
    user: &'a Cancel,
    work: &'a Cancel,
    /// The progress step whose second report pauses the process (`pause-in:` fault), if armed.
    pause_on: Option<&'static str>,
    seen: AtomicU64,
}

impl<'a> StepProgress<'a> {
    fn new(name: &str, inner: &'a dyn Progress, user: &'a Cancel, work: &'a Cancel) -> Self {
        let armed = std::env::var("SECOURS_FAULT")
            .is_ok_and(|v| v.split(',').any(|part| part.strip_prefix("pause-in:") == Some(name)));
        // The reports that prove the step is under way: rows being inserted (not the import's pre-scan),
        // rows being dumped, files being extracted.
        let pause_on = armed.then_some(match name {
            step::DATABASE => "import",
            step::SNAPSHOT => "dump",
            _ => "media",
        });
        StepProgress {
            inner,
            user,
            work,
            pause_on,
            seen: AtomicU64::new(0),
        }
    }
}

impl Progress for StepProgress<'_> {
    fn update(&self, update: Update) {
        if self.user.is_cancelled() {
            self.work.cancel();
        }
        if self.pause_on == Some(update.step) && self.seen.fetch_add(1, Ordering::SeqCst) >= 1 {
            pause_here();
        }
        self.inner.update(update);
    }
}

// ----- preflight -----

/// Everything a restore needs to know before it changes anything; every problem at once.
pub fn preflight(req: &Request, verification: Option<&Verification>) -> Result<(Plan, DbSettings), RestoreError> {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let target = &req.target;

    let settings = match target.database() {
        Ok(s) => Some(s),
        Err(e) => {
            problems.push(e.to_string());
            None
        }
    };
    let mut objects = None;
    let mut db_bytes_now = None;
    if let Some(s) = &settings {
        match connect(s) {
            Ok(mut conn) => {
                if let Err(e) = server_info(&mut conn) {
                    problems.push(e.to_string());
                }
                match object_counts(&mut conn) {
                    Ok(c) => objects = Some(c),
                    Err(e) => problems.push(e.to_string()),
                }
                db_bytes_now = database_bytes(&mut conn);
            }
            Err(e) => problems.push(e.to_string()),
        }
    }

    // Folders: web/ must exist (or its parent, to create it), and staging, work and web share a filesystem.
    let web = &target.web;
    let parent = web.parent().map(Path::to_path_buf).unwrap_or_else(|| web.clone());
    if !web.is_dir() {
        if parent.is_dir() {
            warnings.push(format!("'{}' does not exist yet; it will be created.", web.display()));
        } else {
            problems.push(format!(
                "the target's web folder '{}' does not exist, nor its parent. Check [environments.{}] root/web in the configuration.",
                web.display(),
                target.name
            ));
        }
    } else if !same_filesystem(web, &parent) {
        problems.push(format!(
            "'{}' is on another disk than '{}'; the replaced media could not be set aside by a simple rename. Put the web folder inside the environment's folder.",
            web.display(),
            parent.display()
        ));
    }
    for d in &target.media_dirs {
        let p = target.media_path(d);
        if let Ok(m) = fs::symlink_metadata(&p)
            && m.is_dir()
            && !same_filesystem(&p, &parent)
        {
            problems.push(format!(
                "'{}' is on another disk (a mount or a link to elsewhere); a restore replaces it by renaming, which cannot cross disks. Make it an ordinary folder.",
                p.display()
            ));
        }
    }
    let current_media: Vec<MediaNow> = target
        .media_dirs
        .iter()
        .map(|d| {
            let p = target.media_path(d);
            match crate::files::tree::count_tree(&p) {
                Ok(c) if p.is_dir() => MediaNow {
                    name: d.clone(),
                    present: true,
                    files: c.files,
                    bytes: c.bytes,
                },
                _ => MediaNow {
                    name: d.clone(),
                    present: false,
                    files: 0,
                    bytes: 0,
                },
            }
        })
        .collect();

    // The staging folder and the kept state are made beside web/, by Secours itself.
    if parent.is_dir()
        && let Err(e) = probe_writable(&parent)
    {
        problems.push(format!(
            "Secours cannot create folders in '{}' ({e}), where the restore stages the media beside web/. Make \
             that folder writable by the user who runs Secours.",
            parent.display()
        ));
    }
    let mut administrator = None;
    match owner::resolve_owner(&req.owner) {
        Err(e) => problems.push(e.to_string()),
        Ok(owner) => {
            let live: Vec<PathBuf> = target.media_dirs.iter().map(|d| target.media_path(d)).collect();
            match owner::Privileges::current() {
                Ok(p) if owner::needs_admin(&p, &owner, &live) => {
                    match owner::admin_available(
                        &p,
                        &crate::timemachine::SystemRunner::default(),
                        &owner.spec(),
                        &parent,
                    ) {
                        Ok(via) => administrator = via,
                        Err(why) => problems.push(why),
                    }
                }
                Ok(_) => {}
                Err(e) => problems.push(format!("cannot learn this process's user: {e}")),
            }
        }
    }

    // The media: what the archive's layout says will be extracted (the files counted by the plan, the
    // confirmation, the result and the check alike), or why the archive cannot be restored.
    let (backup_files, backup_media_bytes) = match verification.map(|v| media::media_plan(&v.media.details)) {
        Some(Ok(m)) => {
            if m.strips() {
                warnings.push(format!("{}; the prefix is removed.", m.describe()));
            }
            (Some(m.files), Some(m.bytes))
        }
        Some(Err(why)) => {
            problems.push(why);
            (None, None)
        }
        None => (None, None),
    };
    // The dump: one that reaches outside its database (another database, accounts, server settings) is
    // refused here, before anything is dropped. Not known (facts recorded by an older Secours): the import
    // checks each statement and the restore rolls back.
    if let Some(facts) = verification
        .and_then(|v| v.db.details.get("import_facts").cloned())
        .and_then(|f| serde_json::from_value::<crate::db::importer::DumpFacts>(f).ok())
        && let Some(why) = crate::db::importer::containment_problem(&facts)
    {
        problems.push(format!("'{}': {why}", req.pair.db.path.display()));
    }
    // Space: the extracted media and the snapshot (compressed, about a third of the data) on the target's disk.
    let backup_tables = verification
        .and_then(|v| v.db.details.get("counts").cloned())
        .and_then(|c| c.get("tables").and_then(|t| t.as_u64()));
    let needed =
        backup_media_bytes.unwrap_or(req.pair.media.bytes * 2) + db_bytes_now.unwrap_or(0) / 3 + 64 * 1024 * 1024;
    let space_at = if web.is_dir() { web.clone() } else { parent.clone() };
    let free = fs4::available_space(&space_at).unwrap_or(u64::MAX);
    if free < needed {
        problems.push(format!(
            "not enough free space on the disk of '{}': {} free, {} needed (the extracted media and a safety copy of the current database). Free some space and try again.",
            space_at.display(),
            human_bytes(free),
            human_bytes(needed)
        ));
    }

    if !problems.is_empty() {
        return Err(RestoreError::Refused(format!(
            "the restore onto '{}' cannot start; nothing was changed:\n  - {}",
            target.name,
            problems.join("\n  - ")
        )));
    }
    let Some(settings) = settings else {
        return Err(RestoreError::Refused("no database settings".to_owned()));
    };
    // Rough, from this machine's measures: import ≈ 5 MB/s of .gz, extraction ≈ 100 MB/s, snapshot ≈ 20 MB/s.
    let import_s = req.pair.db.bytes / 5_000_000;
    let media_s = req.pair.media.bytes / 100_000_000;
    let snapshot_s = db_bytes_now.unwrap_or(0) / 20_000_000;
    let estimated_seconds = 5 + (snapshot_s + import_s).max(media_s);
    Ok((
        Plan {
            kind: req.kind,
            source: req.pair.observation.pair_folder.clone(),
            backup_time: req.pair.db.modified.min(req.pair.media.modified),
            db_file: req.pair.db.path.clone(),
            db_bytes: req.pair.db.bytes,
            media_file: req.pair.media.path.clone(),
            media_bytes: req.pair.media.bytes,
            backup_tables,
            backup_files,
            backup_media_bytes,
            target: target.name.clone(),
            target_root: target.root.clone(),
            web: target.web.clone(),
            database: settings.name.clone().unwrap_or_default(),
            url: target.url.clone(),
            current_media,
            current_objects: objects,
            current_database_bytes: db_bytes_now,
            free_bytes: free,
            needed_bytes: needed,
            steps: step::ALL.to_vec(),
            estimated_seconds,
            administrator,
            warnings,
        },
        settings,
    ))
}

fn database_bytes(conn: &mut mysql::Conn) -> Option<u64> {
    use mysql::prelude::Queryable;
    conn.query_first::<Option<u64>, _>(
        "SELECT CAST(SUM(DATA_LENGTH + INDEX_LENGTH) AS UNSIGNED) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
    )
    .ok()
    .flatten()
    .flatten()
}

/// Creates and removes an empty folder in `dir`.
fn probe_writable(dir: &Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".secours-probe-{}", std::process::id()));
    fs::create_dir(&probe)?;
    fs::remove_dir(&probe)
}

fn same_filesystem(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev(),
        _ => true,
    }
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

// ----- the run -----

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

fn refuse_unverified(v: &Verification) -> Result<(), RestoreError> {
    if v.verdict == "ok" {
        return Ok(());
    }
    let what = |f: &operations::FileVerdict| format!("'{}' is {}", f.path.display(), f.verdict);
    Err(RestoreError::Refused(format!(
        "the backup in '{}' failed verification ({}; {}); nothing was changed. {ADVICE_SOURCE}",
        v.folder.display(),
        what(&v.db),
        what(&v.media)
    )))
}

fn local_time(t: Timestamp) -> String {
    t.to_zoned(jiff::tz::TimeZone::system())
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
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

/// Runs the forward steps not yet `done`, then commits, or rolls back on failure.
fn drive(
    req: &Request,
    recorded: &Recorded,
    journal: &Journal,
    done: BTreeSet<String>,
    started: Instant,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<Outcome, RestoreError> {
    let fresh = done.is_empty();
    let mut state = Forward {
        req,
        recorded,
        journal,
        done,
        steps: Vec::new(),
        import: None,
        media: None,
        strip: String::new(),
        warnings: Vec::new(),
    };
    match state.forward(fresh, progress, cancel) {
        Ok(check) => state.commit(check, started),
        Err(failure) => Err(fail(journal, recorded, &req.target, failure, progress)),
    }
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

/// What the database thread did: the snapshot's seconds, and the import's seconds and summary.
type DbPart = (Option<f64>, Option<(f64, ImportSummary)>);

/// The forward steps, shared by a new run and `--resume`.
struct Forward<'a> {
    req: &'a Request,
    recorded: &'a Recorded,
    journal: &'a Journal,
    /// Steps already journaled `done` (on resume).
    done: BTreeSet<String>,
    steps: Vec<(String, f64)>,
    import: Option<ImportSummary>,
    media: Option<ExtractSummary>,
    /// Where the media folders sit in the archive (`""`, `"web/"`…), from the verification: stripped when
    /// extracting. Found again on resume (the same file: its identity is checked).
    strip: String,
    warnings: Vec<String>,
}

impl Forward<'_> {
    fn forward(&mut self, fresh: bool, progress: &dyn Progress, cancel: &Cancel) -> Result<CheckReport, StepFailure> {
        let req = self.req;
        let rec = self.recorded;
        let journal = self.journal;

        // 1. Verify.
        let t = journal.start(step::VERIFY)?;
        let verification = {
            let history = journal
                .history
                .lock()
                .map_err(|_| StepFailure::new(step::VERIFY, "the journal is unusable", ADVICE_RETRY))?;
            operations::verify(&req.pair, Some(&history), false, progress, cancel)
        };
        if cancel.is_cancelled() {
            return Err(cancelled(step::VERIFY));
        }
        refuse_unverified(&verification).map_err(|e| StepFailure::new(step::VERIFY, e, ADVICE_SOURCE))?;
        // Where the media folders are in the archive; an archive that would leave the standby without media is
        // refused here, before anything changes.
        self.strip = media::media_plan(&verification.media.details)
            .map_err(|e| StepFailure::new(step::VERIFY, e, ADVICE_SOURCE))?
            .strip;
        self.unchanged(step::VERIFY)?;
        self.note(step::VERIFY, journal.done(step::VERIFY, t, serde_json::Value::Null)?);

        // 2. Preflight (on resume the target is already partly changed; its database may be empty).
        let t = journal.start(step::PREFLIGHT)?;
        let settings = if fresh {
            let (plan, settings) =
                preflight(req, Some(&verification)).map_err(|e| StepFailure::new(step::PREFLIGHT, e, ADVICE_RETRY))?;
            self.warnings.extend(plan.warnings);
            settings
        } else {
            req.target
                .database()
                .map_err(|e| StepFailure::new(step::PREFLIGHT, e, ADVICE_RETRY))?
        };
        self.note(
            step::PREFLIGHT,
            journal.done(step::PREFLIGHT, t, serde_json::Value::Null)?,
        );

        // 3–5. Snapshot then database, alongside the media.
        let work_cancel = Cancel::new();
        fs::create_dir_all(rec.work.join("media")).map_err(|e| {
            StepFailure::new(
                step::SNAPSHOT,
                format!("cannot create '{}': {e}", rec.work.display()),
                ADVICE_SPACE,
            )
        })?;
        let need_media = !self.done.contains(step::MEDIA);
        let need_snapshot = !self.done.contains(step::SNAPSHOT);
        let need_db = !self.done.contains(step::DATABASE);
        let (db_result, media_result) = std::thread::scope(|s| {
            let media_thread = s.spawn(|| {
                if !need_media {
                    return Ok(None);
                }
                let r = self.media_step(progress, cancel, &work_cancel);
                if r.is_err() {
                    work_cancel.cancel();
                }
                r
            });
            let db_result = (|| -> Result<DbPart, StepFailure> {
                let snap = if need_snapshot {
                    Some(self.snapshot_step(&settings, progress, cancel, &work_cancel)?)
                } else {
                    None
                };
                let import = if need_db {
                    Some(self.database_step(&settings, progress, cancel, &work_cancel)?)
                } else {
                    None
                };
                Ok((snap, import))
            })();
            if db_result.is_err() {
                work_cancel.cancel();
            }
            let media_result = media_thread.join().unwrap_or_else(|_| {
                Err(StepFailure::new(
                    step::MEDIA,
                    "the extraction stopped unexpectedly",
                    ADVICE_RETRY,
                ))
            });
            (db_result, media_result)
        });
        // The first real failure explains; a step stopped only because the other failed does not.
        let (db, media) = match (db_result, media_result) {
            (Ok(d), Ok(m)) => (d, m),
            (Err(e), Ok(_)) | (Ok(_), Err(e)) => return Err(e),
            (Err(a), Err(b)) => return Err(if a.cancelled && !cancel.is_cancelled() { b } else { a }),
        };
        if let Some(s) = db.0 {
            self.note(step::SNAPSHOT, s);
        }
        if let Some((s, summary)) = db.1 {
            self.note(step::DATABASE, s);
            if summary.definers_rewritten > 0 {
                self.warnings.push(format!(
                    "{} DEFINER clauses were set to the target's database user.",
                    summary.definers_rewritten
                ));
            }
            self.import = Some(summary);
        }
        if let Some((s, summary)) = media {
            self.note(step::MEDIA, s);
            self.media = Some(summary);
        }
        if cancel.is_cancelled() {
            return Err(cancelled(step::MEDIA));
        }

        // 6. Set aside the live media, then swap the staged folders in: the staged folders given to the owner,
        // the live ones moved into the work folder, the staged ones into place. When that needs an
        // administrator, all of it (and the removal of old kept states) is one request.
        let (owner, privileges, admin) = self.rights(step::SET_ASIDE)?;
        let t = journal.start(step::SET_ASIDE)?;
        let mut first: Vec<AdminOp> = Vec::new();
        if admin {
            // Checked again just before root's chown, unless an interrupted request already gave it away.
            let ours = fs::symlink_metadata(&rec.staging)
                .is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == privileges.euid);
            let handed = rec.media_dirs.iter().any(|d| {
                fs::symlink_metadata(rec.staging.join(d))
                    .is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) != privileges.euid)
            });
            if ours && !handed {
                media::check_private_tree(&rec.staging)
                    .map_err(|e| StepFailure::new(step::SET_ASIDE, e, ADVICE_SOURCE))?;
            }
            for d in &rec.media_dirs {
                let staged = rec.staging.join(d);
                if fs::symlink_metadata(&staged).is_ok() {
                    first.push(AdminOp::Chown { path: staged });
                }
            }
            first.extend(expired_previous(
                &rec.web,
                req.keep_previous,
                Some(&rec.work),
                Some(&settings),
            ));
        }
        first.extend(rec.media_dirs.iter().filter_map(|d| set_aside_op(rec, d)));
        let swaps: Vec<AdminOp> = rec.media_dirs.iter().filter_map(|d| swap_op(rec, d)).collect();
        let runner = owner::admin_runner();
        let root = self.root();
        let run_ops = |ops: &[AdminOp], name: &'static str| {
            owner::run_admin_ops(ops, &owner, &root, &runner, &privileges)
                .map(|via| {
                    if let Some(via) = via {
                        log::info!("administrator rights for step '{name}' through {via:?}");
                    }
                })
                .map_err(|e: OwnerError| StepFailure::new(name, e, ADVICE_RETRY))
        };
        if admin {
            // One request: the swap is announced before it, as it may happen within it.
            let t_swap = journal.start(step::SWAP)?;
            let all: Vec<AdminOp> = first.iter().chain(&swaps).cloned().collect();
            run_ops(&all, step::SWAP)?;
            self.note(
                step::SET_ASIDE,
                journal.done(step::SET_ASIDE, t, serde_json::Value::Null)?,
            );
            let _ = fs::remove_dir(&rec.staging);
            self.sync_web();
            self.note(step::SWAP, journal.done(step::SWAP, t_swap, serde_json::Value::Null)?);
        } else {
            run_ops(&first, step::SET_ASIDE)?;
            self.note(
                step::SET_ASIDE,
                journal.done(step::SET_ASIDE, t, serde_json::Value::Null)?,
            );
            let t = journal.start(step::SWAP)?;
            for (i, op) in swaps.iter().enumerate() {
                run_ops(std::slice::from_ref(op), step::SWAP)?;
                if i == 0 {
                    // Between two folders: the worst moment for a crash, so the tests can aim at it.
                    fault("swap-between")?;
                }
            }
            for d in &rec.media_dirs {
                if fs::symlink_metadata(rec.staging.join(d)).is_err() && fs::symlink_metadata(rec.web.join(d)).is_err()
                {
                    return Err(StepFailure::new(
                        step::SWAP,
                        format!("'{d}' is missing from the staging folder"),
                        ADVICE_RETRY,
                    ));
                }
            }
            let _ = fs::remove_dir(&rec.staging);
            self.sync_web();
            self.note(step::SWAP, journal.done(step::SWAP, t, serde_json::Value::Null)?);
        }

        // 7. Check.
        let t = journal.start(step::CHECK)?;
        let expected_files = self.media.as_ref().map(|m| m.files);
        let rows = self.import.as_ref().map(|i| i.rows_per_table.clone());
        let report = check::check(&settings, rows.as_ref(), &req.target, expected_files);
        if !report.problems.is_empty() {
            return Err(StepFailure::new(
                step::CHECK,
                report.problems.join("; "),
                "The backup itself may be inconsistent: choose another one (secours restore --list-sources).",
            ));
        }
        self.warnings.extend(report.warnings.iter().cloned());
        self.note(
            step::CHECK,
            journal.done(step::CHECK, t, serde_json::to_value(&report).unwrap_or_default())?,
        );
        Ok(report)
    }

    fn note(&mut self, name: &str, seconds: f64) {
        self.steps.push((name.to_owned(), seconds));
    }

    /// The environment's folder, inside which every privileged operation must lie.
    fn root(&self) -> PathBuf {
        env_root(&self.recorded.web)
    }

    /// The renames themselves, durable before the check and commit build on them.
    fn sync_web(&self) {
        let rec = self.recorded;
        for dir in [rec.web.clone(), rec.work.join("media")] {
            if let Err(e) = crate::files::durable::sync_dir(&dir) {
                log::warn!("cannot sync the folder '{}': {e}", dir.display());
            }
        }
    }

    /// The media's owner, what this process may do, and whether moving and giving away the web server's
    /// folders needs an administrator.
    fn rights(&self, name: &'static str) -> Result<(owner::Owner, owner::Privileges, bool), StepFailure> {
        let rec = self.recorded;
        let owner = owner::resolve_owner(&rec.owner).map_err(|e| StepFailure::new(name, e, ADVICE_RETRY))?;
        let privileges = owner::Privileges::current().map_err(|e| StepFailure::new(name, e, ADVICE_RETRY))?;
        let live: Vec<PathBuf> = rec.media_dirs.iter().map(|d| rec.web.join(d)).collect();
        let admin = owner::needs_admin(&privileges, &owner, &live);
        Ok((owner, privileges, admin))
    }

    /// Stops the restore when the dump or the archive is no longer the file the restore began with.
    fn unchanged(&self, name: &'static str) -> Result<(), StepFailure> {
        self.recorded.unchanged().map_err(|changed| {
            StepFailure::new(
                name,
                changed,
                "Start the restore again: it will verify and use the backup as it is now.",
            )
        })
    }

    fn media_step(
        &self,
        progress: &dyn Progress,
        user: &Cancel,
        work: &Cancel,
    ) -> Result<Option<(f64, ExtractSummary)>, StepFailure> {
        let rec = self.recorded;
        let t = self.journal.start(step::MEDIA)?;
        // A staging left by a crash is incomplete: start it again.
        if fs::symlink_metadata(&rec.staging).is_ok() {
            remove_any(&rec.staging).map_err(|e| StepFailure::new(step::MEDIA, e, ADVICE_RETRY))?;
        }
        if !rec.web.is_dir() {
            fs::create_dir_all(&rec.web).map_err(|e| {
                StepFailure::new(
                    step::MEDIA,
                    format!("cannot create '{}': {e}", rec.web.display()),
                    ADVICE_RETRY,
                )
            })?;
        }
        let p = StepProgress::new(step::MEDIA, progress, user, work);
        let summary = media::extract_media_under(&rec.media_file, &rec.staging, &rec.media_dirs, &self.strip, &p, work)
            .map_err(|e| {
                let cancelled = matches!(e, MediaError::Cancelled { .. });
                let advice = if matches!(e, MediaError::Write { .. }) {
                    ADVICE_SPACE
                } else {
                    ADVICE_SOURCE
                };
                StepFailure {
                    cancelled,
                    ..StepFailure::new(step::MEDIA, e, advice)
                }
            })?;
        // Durable before the journal says done: the swap must never put half-written files in place.
        crate::files::durable::sync_tree(&rec.staging).map_err(|e| {
            StepFailure::new(
                step::MEDIA,
                format!("cannot write '{}' to disk: {e}", rec.staging.display()),
                ADVICE_SPACE,
            )
        })?;
        // The owner now when Secours may give the files itself (it runs as root, or as the owner), alongside the
        // import; otherwise in the one administrator request of the set-aside.
        let (owner, privileges, admin) = self.rights(step::MEDIA)?;
        // Nothing in the staged tree may lead root's chown elsewhere: one name per file, nothing others may write.
        media::check_private_tree(&rec.staging).map_err(|e| StepFailure::new(step::MEDIA, e, ADVICE_SOURCE))?;
        if !admin {
            let ops: Vec<AdminOp> = rec
                .media_dirs
                .iter()
                .map(|d| AdminOp::Chown {
                    path: rec.staging.join(d),
                })
                .collect();
            owner::run_admin_ops(&ops, &owner, &self.root(), &owner::admin_runner(), &privileges)
                .map_err(|e: OwnerError| StepFailure::new(step::MEDIA, e, ADVICE_RETRY))?;
        }
        self.unchanged(step::MEDIA)?;
        let details = serde_json::json!({ "files": summary.files, "bytes": summary.bytes, "owner_later": admin });
        let seconds = self.journal.done(step::MEDIA, t, details)?;
        Ok(Some((seconds, summary)))
    }

    fn snapshot_step(
        &self,
        settings: &DbSettings,
        progress: &dyn Progress,
        user: &Cancel,
        work: &Cancel,
    ) -> Result<f64, StepFailure> {
        let t = self.journal.start(step::SNAPSHOT)?;
        let p = StepProgress::new(step::SNAPSHOT, progress, user, work);
        // The tables moved aside in a second when the user may create a database; a dump otherwise.
        match snapshot::set_aside(settings, &self.recorded.work, &p, work) {
            Ok(Some(aside)) => {
                return self.journal.done(
                    step::SNAPSHOT,
                    t,
                    serde_json::json!({ "form": "set-aside", "schema": aside.schema, "tables": aside.tables }),
                );
            }
            Ok(None) => {}
            Err(e) => {
                let cancelled = matches!(e, SnapshotError::Dump(DumpError::Cancelled { .. }));
                return Err(StepFailure {
                    cancelled,
                    ..StepFailure::new(step::SNAPSHOT, e, ADVICE_RETRY)
                });
            }
        }
        let mut conn =
            connect(settings).map_err(|e: ConnectError| StepFailure::new(step::SNAPSHOT, e, ADVICE_RETRY))?;
        let summary = dump_database(&mut conn, &self.recorded.snapshot(), &p, work).map_err(|e| {
            let cancelled = matches!(e, DumpError::Cancelled { .. });
            let advice = if matches!(e, DumpError::Io { .. }) {
                ADVICE_SPACE
            } else {
                ADVICE_RETRY
            };
            StepFailure {
                cancelled,
                ..StepFailure::new(step::SNAPSHOT, e, advice)
            }
        })?;
        self.journal.done(
            step::SNAPSHOT,
            t,
            serde_json::json!({ "tables": summary.tables, "rows": summary.rows, "bytes": summary.bytes }),
        )
    }

    fn database_step(
        &self,
        settings: &DbSettings,
        progress: &dyn Progress,
        user: &Cancel,
        work: &Cancel,
    ) -> Result<(f64, ImportSummary), StepFailure> {
        let t = self.journal.start(step::DATABASE)?;
        let p = StepProgress::new(step::DATABASE, progress, user, work);
        let options = ImportOptions {
            replace: true,
            // The dump's objects may name prod's database user; on the target they belong to its own.
            rewrite_definers: true,
            connections: self.recorded.connections.max(1),
            // The dump was verified, and a rollback undoes an import that stops half-way: its checks
            // run as it goes instead of in one more read of the dump first.
            prescan: false,
            ..ImportOptions::default()
        };
        let summary = import_dump(settings, &self.recorded.db_file, &options, &p, work).map_err(|e| {
            let cancelled = matches!(e, ImportError::Cancelled { .. });
            StepFailure {
                cancelled,
                ..StepFailure::new(step::DATABASE, e, ADVICE_SOURCE)
            }
        })?;
        self.unchanged(step::DATABASE)?;
        let seconds = self.journal.done(
            step::DATABASE,
            t,
            serde_json::json!({ "tables": summary.tables, "rows": summary.rows }),
        )?;
        Ok((seconds, summary))
    }

    fn commit(self, check: CheckReport, started: Instant) -> Result<Outcome, RestoreError> {
        let rec = self.recorded;
        let kept_until = Timestamp::now()
            .checked_add(jiff::SignedDuration::try_from(self.req.keep_previous).unwrap_or_default())
            .unwrap_or_else(|_| Timestamp::now());
        let outcome = Outcome {
            operation: self.journal.id.0,
            kind: rec.kind,
            source: rec.source.clone(),
            target: rec.target.clone(),
            seconds: started.elapsed().as_secs_f64(),
            steps: self.steps,
            database: self.import,
            media: self.media,
            check: Some(check),
            previous: rec.work.clone(),
            kept_until,
            warnings: self.warnings,
        };
        if let Err(f) = fault(step::COMMIT) {
            return Err(fail(self.journal, rec, &self.req.target, f, &crate::progress::Silent));
        }
        let details = serde_json::json!({
            "source": outcome.source, "target": outcome.target, "seconds": outcome.seconds,
            "steps": outcome.steps,
            "tables": outcome.database.as_ref().map(|d| d.tables), "rows": outcome.database.as_ref().map(|d| d.rows),
            "files": outcome.media.as_ref().map(|m| m.files), "media_bytes": outcome.media.as_ref().map(|m| m.bytes),
            "previous": outcome.previous, "kept_until": outcome.kept_until,
        });
        self.journal.finish("ok", details)?;
        purge_previous(
            &rec.web,
            self.req.keep_previous,
            Some(&rec.work),
            self.req.target.database().ok().as_ref(),
        );
        Ok(outcome)
    }
}

fn cancelled(step: &'static str) -> StepFailure {
    StepFailure {
        cancelled: true,
        ..StepFailure::new(step, "cancelled", ADVICE_RETRY)
    }
}

/// The environment's folder (web's parent), inside which the restore's privileged operations lie.
fn env_root(web: &Path) -> PathBuf {
    web.parent().map(Path::to_path_buf).unwrap_or_else(|| web.to_path_buf())
}

/// Moves the live media folder `d` into the work folder; `None` when done already (it is there) or when
/// there is none.
fn set_aside_op(rec: &Recorded, d: &str) -> Option<AdminOp> {
    let live = rec.web.join(d);
    let aside = rec.aside(d);
    (fs::symlink_metadata(&aside).is_err() && fs::symlink_metadata(&live).is_ok())
        .then_some(AdminOp::Move { from: live, to: aside })
}

/// Moves the staged folder `d` into place; `None` when done already (staging no longer has it).
fn swap_op(rec: &Recorded, d: &str) -> Option<AdminOp> {
    let staged = rec.staging.join(d);
    fs::symlink_metadata(&staged).is_ok().then(|| AdminOp::Move {
        from: staged,
        to: rec.web.join(d),
    })
}

/// Turns a failed step into the rollback and its message.
fn fail(
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
    let touched = started.contains(step::DATABASE) || started.contains(step::SET_ASIDE);
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

fn steps_of(history: &History, id: OperationId) -> (BTreeSet<String>, BTreeSet<String>) {
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

/// Puts the target back as it was before the operation. Decided from the disk and the journal, so it
/// can run any number of times. Leaves the work folder (with the safety copy) for the caller to remove
/// once the operation is marked finished.
fn undo(
    journal: &Journal,
    rec: &Recorded,
    target: &Environment,
    started: &BTreeSet<String>,
    progress: &dyn Progress,
) -> Result<RolledBack, String> {
    let _ = journal.step(step::ROLLBACK, "start", serde_json::Value::Null);
    fault(step::ROLLBACK).map_err(|f| f.cause)?;
    let mut media_restored = Vec::new();
    // Media first: instant renames, in one administrator request when the folders are the web server's.
    let exists = |p: &Path| fs::symlink_metadata(p).is_ok();
    let mut ops = Vec::new();
    for d in &rec.media_dirs {
        let live = rec.web.join(d);
        let aside = rec.aside(d);
        if exists(&aside) {
            if exists(&live) {
                ops.push(AdminOp::Remove { path: live.clone() });
            }
            ops.push(AdminOp::Move { from: aside, to: live });
            media_restored.push(d.clone());
        } else if !rec.present.contains(d) && started.contains(step::SWAP) && exists(&live) {
            // The target had no such folder: the restored one goes.
            ops.push(AdminOp::Remove { path: live });
            media_restored.push(d.clone());
        }
    }
    if exists(&rec.staging) {
        ops.push(AdminOp::Remove {
            path: rec.staging.clone(),
        });
    }
    if !ops.is_empty() {
        let owner = owner::resolve_owner(&rec.owner).map_err(|e| e.to_string())?;
        let privileges = owner::Privileges::current().map_err(|e| format!("cannot learn this process's user: {e}"))?;
        owner::run_admin_ops(&ops, &owner, &env_root(&rec.web), &owner::admin_runner(), &privileges)
            .map_err(|e| format!("putting the media folders back failed: {e}"))?;
    }
    // The database, when the import may have touched it.
    let mut database_restored = false;
    if rec.work.join(snapshot::SCHEMA_FILE).is_file() {
        // The tables were set aside (the snapshot itself changed the database): move them back.
        let target_settings = target.database().map_err(|e| e.to_string())?;
        snapshot::put_back(&target_settings, &rec.work, started.contains(step::DATABASE))
            .map_err(|e| format!("putting the set-aside database back failed: {e}"))?;
        database_restored = true;
    } else if started.contains(step::DATABASE) {
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
    let _ = journal.step(step::ROLLBACK, "done", serde_json::Value::Null);
    Ok(RolledBack {
        operation: journal.id.0,
        target: rec.target.clone(),
        media_restored,
        database_restored,
    })
}

/// Removes the work folder of an operation marked finished (rolled back: nothing in it is needed any
/// more). Best effort: what stays is purged with the old kept states.
fn remove_work(rec: &Recorded) {
    if fs::symlink_metadata(&rec.work).is_ok()
        && let Err(e) = remove_any(&rec.work)
    {
        log::warn!("{e}");
    }
}

fn remove_any(path: &Path) -> Result<(), String> {
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
fn expired_previous(web: &Path, keep: Duration, except: Option<&Path>, database: Option<&DbSettings>) -> Vec<AdminOp> {
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
