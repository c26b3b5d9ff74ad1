//! The history of Secours: what it observed, which backup files it verified, what it did (copies, restores,
//! drills) and which alerts it sent, kept in one SQLite file that the menu-bar app and a CLI run share.
//!
//! Guarantees:
//! - **Two processes at once.** The file is in WAL mode (readers never block the writer), every connection
//!   waits up to [`BUSY_TIMEOUT`] for a lock instead of failing, and every read-then-write runs inside
//!   `BEGIN IMMEDIATE`, so the write lock is taken before the read: a decision ("the state changed") is never
//!   based on a snapshot another process has since made stale.
//! - **Versioned schema.** `PRAGMA user_version` holds the schema version. [`MIGRATIONS`] is an ordered list
//!   of SQL scripts; script *n* upgrades version *n − 1* to *n*. Each runs in its own `BEGIN IMMEDIATE`
//!   transaction that re-reads the version under the lock, so when two processes open a fresh file at once
//!   exactly one of them migrates. A file with a newer version than this build knows is refused with
//!   [`HistoryError::TooNew`]; it is never downgraded or touched.
//! - **Times** are stored as unix seconds (`INTEGER`, UTC) and exchanged as [`jiff::Timestamp`]; sub-second
//!   precision is dropped on the way in. Integers make ordering and the "an hour has passed" test plain
//!   arithmetic in SQL.
//! - **No secrets.** The history stores exactly the strings callers give it (states, verdicts, summaries in
//!   `details_json`). Callers must pass summaries only: never a password, a `db.php` body or a connection
//!   string with credentials.
//! - **Small.** Observations are only stored when something changed or an hour passed; state changes only
//!   when the state differs; a file's verification is stored once per (path, size, mtime, inode).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use rusqlite::types::Type;
use rusqlite::{Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior, params};
use serde::Serialize;
use serde_json::{Value, json};

/// How long a connection waits for another process's lock before giving up with [`HistoryError::Busy`].
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// An unchanged observation is stored again after this long, so the history shows the watcher was alive.
pub const OBSERVATION_HEARTBEAT: Duration = Duration::from_secs(3600);

/// How long [`History::prune`] keeps verification verdicts: long enough for every pair a restore may still
/// use without reading it again (the hourly pairs, rotated safe copies); an older one is simply verified
/// again when asked for.
pub const KEEP_VERIFICATIONS: Duration = Duration::from_secs(90 * 86_400);

/// How long [`History::prune`] keeps the routine records (observations, sent notifications, safe-copy
/// operations): over a year, so `secours history` can still answer "what happened last year at this time".
/// Restores, returns to production and drills (the proof of rehearsals) and state changes stay for ever:
/// they are few.
pub const KEEP_ROUTINE: Duration = Duration::from_secs(400 * 86_400);

/// What [`History::prune`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Pruned {
    pub verifications: usize,
    pub observations: usize,
    pub notifications: usize,
    pub operations: usize,
    /// Pair shapes and Time Machine backups seen.
    pub shapes: usize,
}

/// The phases a journal step may be in.
pub const STEP_PHASES: &[&str] = &["start", "done", "failed"];

/// The outcomes an operation may finish with.
pub const OUTCOMES: &[&str] = &["ok", "failed", "rolled-back", "cancelled"];

/// Version 1: what the watcher sees and says (observations, state changes, verifications, notifications).
const MIGRATION_1: &str = "
CREATE TABLE observations (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    source      TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    age_seconds INTEGER,
    db_bytes    INTEGER,
    media_bytes INTEGER,
    detail      TEXT
);
CREATE INDEX observations_by_source ON observations (source, id);

CREATE TABLE state_changes (
    id       INTEGER PRIMARY KEY,
    at       INTEGER NOT NULL,
    source   TEXT    NOT NULL,
    state    TEXT    NOT NULL,
    previous TEXT
);
CREATE INDEX state_changes_by_source ON state_changes (source, id);
CREATE INDEX state_changes_by_time ON state_changes (at);

CREATE TABLE verifications (
    path         BLOB    NOT NULL,
    size         INTEGER NOT NULL,
    mtime_ns     INTEGER NOT NULL,
    inode        INTEGER NOT NULL,
    verdict      TEXT    NOT NULL,
    details_json TEXT    NOT NULL,
    at           INTEGER NOT NULL,
    PRIMARY KEY (path, size, mtime_ns, inode)
);
CREATE INDEX verifications_by_time ON verifications (at);

CREATE TABLE notifications (
    id  INTEGER PRIMARY KEY,
    key TEXT    NOT NULL,
    at  INTEGER NOT NULL
);
CREATE INDEX notifications_by_key ON notifications (key, at);
CREATE INDEX notifications_by_time ON notifications (at);
";

/// Version 2: the operations journal (copy, restore, drill), for crash recovery and `secours history`.
/// Kept apart from version 1 so that the upgrade path is exercised by the tests from the first release on.
const MIGRATION_2: &str = "
CREATE TABLE operations (
    id                   INTEGER PRIMARY KEY,
    kind                 TEXT    NOT NULL,
    details_json         TEXT    NOT NULL,
    started_at           INTEGER NOT NULL,
    finished_at          INTEGER,
    outcome              TEXT CHECK (outcome IN ('ok', 'failed', 'rolled-back', 'cancelled')),
    outcome_details_json TEXT,
    CHECK ((finished_at IS NULL) = (outcome IS NULL))
);
CREATE INDEX operations_by_kind ON operations (kind, id);
CREATE INDEX operations_unfinished ON operations (id) WHERE finished_at IS NULL;

CREATE TABLE journal_steps (
    id           INTEGER PRIMARY KEY,
    operation_id INTEGER NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
    at           INTEGER NOT NULL,
    step         TEXT    NOT NULL,
    phase        TEXT    NOT NULL CHECK (phase IN ('start', 'done', 'failed')),
    details_json TEXT    NOT NULL
);
CREATE INDEX journal_steps_by_operation ON journal_steps (operation_id, id);
";

/// Version 3: the shape of every verified pair and the anomaly judgement on it (see `anomaly`), and the
/// Time Machine backups seen (for the history report).
const MIGRATION_3: &str = "
CREATE TABLE pair_shapes (
    id             INTEGER PRIMARY KEY,
    series         BLOB    NOT NULL,
    pair_at        INTEGER NOT NULL,
    db_path        BLOB    NOT NULL,
    db_size        INTEGER NOT NULL,
    db_mtime_ns    INTEGER NOT NULL,
    db_inode       INTEGER NOT NULL,
    media_path     BLOB    NOT NULL,
    media_size     INTEGER NOT NULL,
    media_mtime_ns INTEGER NOT NULL,
    media_inode    INTEGER NOT NULL,
    shape_json     TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('reference', 'suspect', 'accepted')),
    findings_json  TEXT    NOT NULL,
    judged_at      INTEGER NOT NULL,
    accepted_at    INTEGER,
    accepted_by    TEXT,
    UNIQUE (series, db_path, db_size, db_mtime_ns, db_inode, media_path, media_size, media_mtime_ns, media_inode)
);
CREATE INDEX pair_shapes_by_series ON pair_shapes (series, pair_at);
CREATE INDEX pair_shapes_by_time ON pair_shapes (pair_at);
CREATE INDEX pair_shapes_by_db ON pair_shapes (db_path, db_size, db_mtime_ns, db_inode);

CREATE TABLE time_machine_backups (
    at      INTEGER PRIMARY KEY,
    seen_at INTEGER NOT NULL
);
";

/// The migrations, in order: `MIGRATIONS[n - 1]` upgrades schema version `n - 1` to `n`. Append only; never
/// edit a script that has shipped.
pub const MIGRATIONS: &[&str] = &[MIGRATION_1, MIGRATION_2, MIGRATION_3];

/// The judgements a pair's shape may carry: `reference` (a good pair, compared with the next ones),
/// `suspect` (departs sharply from them), `accepted` (was suspect; the user said the change is expected, so
/// it is the new reference).
pub const SHAPE_STATUSES: &[&str] = &["reference", "suspect", "accepted"];

/// The schema version this build creates and understands.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// What went wrong with the history file. Every message names the file and ends with what to do.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error(
        "cannot create the folder '{}' for the history ({cause}); check that Secours may write there.",
        dir.display()
    )]
    CreateDir { dir: PathBuf, cause: std::io::Error },

    #[error(
        "another program holds the history at '{}' locked while {step} ({cause}); try again in a moment.",
        path.display()
    )]
    Busy {
        path: PathBuf,
        step: &'static str,
        cause: String,
    },

    #[error(
        "the history at '{}' is damaged ({reason}); move it aside and Secours will start a new one.",
        path.display()
    )]
    Damaged { path: PathBuf, reason: String },

    #[error(
        "the history at '{}' has schema version {found}, newer than version {known} that this Secours knows; \
         update Secours (an older Secours never downgrades a history).",
        path.display()
    )]
    TooNew { path: PathBuf, found: i64, known: u32 },

    #[error(
        "cannot open or write the history at '{}' while {step} ({cause}); check the permissions of the file \
         and of its folder.",
        path.display()
    )]
    NoAccess {
        path: PathBuf,
        step: &'static str,
        cause: String,
    },

    #[error("the disk holding the history at '{}' is full while {step}; free some space and try again.", path.display())]
    DiskFull { path: PathBuf, step: &'static str },

    #[error(
        "the history at '{}' failed while {step} ({cause}); if this repeats, move the file aside and Secours \
         will start a new one.",
        path.display()
    )]
    Sqlite {
        path: PathBuf,
        step: &'static str,
        cause: String,
    },

    #[error(
        "history at '{}': '{value}' is not a valid {what} (expected one of: {expected}); this is a bug in \
         Secours, please report it.",
        path.display()
    )]
    InvalidValue {
        path: PathBuf,
        what: &'static str,
        value: String,
        expected: String,
    },

    #[error(
        "history at '{}': the {what} is not valid JSON ({cause}); this is a bug in Secours, please report it.",
        path.display()
    )]
    InvalidJson {
        path: PathBuf,
        what: &'static str,
        cause: serde_json::Error,
    },

    #[error(
        "history at '{}': there is no operation #{id} (while {step}); this is a bug in Secours, please report it.",
        path.display()
    )]
    UnknownOperation { path: PathBuf, id: i64, step: &'static str },

    #[error(
        "history at '{}': operation #{id} already finished with '{outcome}' (while {step}); this is a bug in \
         Secours, please report it.",
        path.display()
    )]
    OperationFinished {
        path: PathBuf,
        id: i64,
        outcome: String,
        step: &'static str,
    },
}

/// Sorts an SQLite failure into the error the user can act on.
fn sql_error(path: &Path, step: &'static str, err: rusqlite::Error) -> HistoryError {
    let path = path.to_path_buf();
    let cause = err.to_string();
    match &err {
        // A stored value we cannot read back (a time out of range, a text where a number belongs).
        rusqlite::Error::FromSqlConversionFailure(..) | rusqlite::Error::InvalidColumnType(..) => {
            return HistoryError::Damaged {
                path,
                reason: format!("while {step}: {cause}"),
            };
        }
        _ => {}
    }
    match err.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => HistoryError::Busy { path, step, cause },
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => HistoryError::Damaged {
            path,
            reason: format!("while {step}: {cause}"),
        },
        Some(ErrorCode::DiskFull) => HistoryError::DiskFull { path, step },
        Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => {
            HistoryError::NoAccess { path, step, cause }
        }
        _ => HistoryError::Sqlite { path, step, cause },
    }
}

/// SQLite integers are signed 64-bit. Sizes and inodes are stored bit for bit (`as` both ways), so the round
/// trip is exact even for an inode above `i64::MAX`.
fn to_sql_u64(value: u64) -> i64 {
    value as i64
}

fn from_sql_u64(value: i64) -> u64 {
    value as u64
}

fn seconds(at: Timestamp) -> i64 {
    at.as_second()
}

/// Reads a unix-seconds column as a timestamp; a value out of jiff's range means the file was tampered with.
fn timestamp_at(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Timestamp> {
    let secs: i64 = row.get(idx)?;
    Timestamp::from_second(secs).map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Integer, Box::new(e)))
}

fn optional_timestamp_at(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Option<Timestamp>> {
    match row.get::<_, Option<i64>>(idx)? {
        None => Ok(None),
        Some(secs) => Timestamp::from_second(secs)
            .map(Some)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Integer, Box::new(e))),
    }
}

/// One operation in a line: `restore 12: ok`; a pre-staging says what it proved, as the standby's history
/// should read: `prestage 12: pair of 2026-12-05 14:00 proven restorable (import 41 s, 9800000 rows, 5002
/// files, CPU 3.1 s)`, or why the pair does not restore.
fn operation_summary(op: &Operation, status: &str) -> String {
    let plain = format!("{} {}: {status}", op.kind, op.id);
    if op.kind != "prestage" {
        return plain;
    }
    let Some(d) = op.outcome_details_json.as_deref().map(json_value) else {
        return plain;
    };
    let when = d
        .get("backup_time")
        .and_then(|t| t.as_str())
        .and_then(|t| t.parse::<Timestamp>().ok())
        .map(crate::i18n::local_minute)
        .unwrap_or_else(|| "?".to_owned());
    let num = |k: &str| d.get(k).and_then(|v| v.as_f64()).unwrap_or(0.0);
    match status {
        "ok" => format!(
            "prestage {}: pair of {when} proven restorable (import {:.0} s, {} rows, {} files, CPU {:.1} s)",
            op.id,
            num("import_seconds"),
            num("rows") as u64,
            num("files") as u64,
            num("cpu_seconds")
        ),
        "failed" if d.get("unrestorable").and_then(|v| v.as_bool()) == Some(true) => format!(
            "prestage {}: pair of {when} does NOT restore (step '{}'): {}",
            op.id,
            d.get("step").and_then(|v| v.as_str()).unwrap_or("?"),
            d.get("error").and_then(|v| v.as_str()).unwrap_or("?")
        ),
        _ => plain,
    }
}

/// A stored JSON text as a value; text that is not JSON (written by hand, say) is shown as a string.
fn json_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// One look at a backup source by the watcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservationRecord {
    pub at: Timestamp,
    /// The source's name in the configuration (e.g. `prod`).
    pub source: String,
    /// The freshness state, as the freshness module names it (e.g. `fresh`, `late`).
    pub state: String,
    /// Age of the newest backup, when known.
    pub age_seconds: Option<i64>,
    pub db_bytes: Option<u64>,
    pub media_bytes: Option<u64>,
    /// A short English summary; never a secret.
    pub detail: Option<String>,
}

/// A change of a source's state, as returned by [`History::record_state`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateChange {
    pub source: String,
    /// The last recorded state, `None` for the first record of this source.
    pub previous: Option<String>,
    pub state: String,
    pub at: Timestamp,
}

/// What identifies one version of a file: a file rewritten in place gets a new size, mtime or inode and so a
/// new key, and is verified again.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileKey {
    pub path: PathBuf,
    pub size: u64,
    /// Modification time in nanoseconds since the unix epoch (`i64` holds dates up to the year 2262).
    pub mtime_ns: i64,
    pub inode: u64,
}

/// A verification's verdict in one word: what history keeps (`ok`, `corrupt`, `unsafe`), and what a run
/// can end with without a verdict on the bytes (`unreadable`, `cancelled`). One type from the verification
/// to history, the status, the menu and the exit codes; written as these words in JSON and in the history
/// database (whose column keeps its text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerdictKind {
    /// Complete and sound.
    Ok,
    /// Damaged, truncated or not what it should be.
    Corrupt,
    /// Sound, but holds entries the restore refuses.
    Unsafe,
    /// Could not be read to the end (or changed while it was read): no verdict on the bytes.
    Unreadable,
    /// Stopped on request before a verdict.
    Cancelled,
}

impl VerdictKind {
    pub const ALL: [VerdictKind; 5] = [
        VerdictKind::Ok,
        VerdictKind::Corrupt,
        VerdictKind::Unsafe,
        VerdictKind::Unreadable,
        VerdictKind::Cancelled,
    ];

    /// The word, as written in history and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictKind::Ok => "ok",
            VerdictKind::Corrupt => "corrupt",
            VerdictKind::Unsafe => "unsafe",
            VerdictKind::Unreadable => "unreadable",
            VerdictKind::Cancelled => "cancelled",
        }
    }

    /// The verdict a word names. A word history does not know (written by a later version) is read as
    /// `unreadable`: no verdict, so the file is verified again.
    pub fn from_word(word: &str) -> VerdictKind {
        VerdictKind::ALL
            .into_iter()
            .find(|v| v.as_str() == word)
            .unwrap_or(VerdictKind::Unreadable)
    }

    pub fn is_ok(self) -> bool {
        self == VerdictKind::Ok
    }

    /// Whether this is a verdict on the bytes, which history keeps (`unreadable` and `cancelled` are asked
    /// again next time).
    pub fn is_kept(self) -> bool {
        matches!(self, VerdictKind::Ok | VerdictKind::Corrupt | VerdictKind::Unsafe)
    }

    /// Whether the file was found broken or refused (not merely unread).
    pub fn is_bad(self) -> bool {
        matches!(self, VerdictKind::Corrupt | VerdictKind::Unsafe)
    }

    /// How bad, for the worst of a pair: ok, unsafe, corrupt, then unreadable and cancelled alike.
    pub fn rank(self) -> u8 {
        match self {
            VerdictKind::Ok => 0,
            VerdictKind::Unsafe => 1,
            VerdictKind::Corrupt => 2,
            VerdictKind::Unreadable | VerdictKind::Cancelled => 3,
        }
    }
}

impl std::fmt::Display for VerdictKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// A verification result stored for a [`FileKey`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredVerification {
    pub verdict: VerdictKind,
    pub details_json: String,
    pub at: Timestamp,
}

/// The id of an operation in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct OperationId(pub i64);

impl fmt::Display for OperationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// An operation (copy, restore, drill) as journaled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub id: OperationId,
    pub kind: String,
    pub details_json: String,
    pub started_at: Timestamp,
    /// `None` while the operation runs, or after a crash (see [`History::unfinished_operations`]).
    pub finished_at: Option<Timestamp>,
    /// One of [`OUTCOMES`] once finished.
    pub outcome: Option<String>,
    pub outcome_details_json: Option<String>,
}

/// One step of an operation's journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalStep {
    pub operation: OperationId,
    pub at: Timestamp,
    pub step: String,
    /// One of [`STEP_PHASES`].
    pub phase: String,
    pub details_json: String,
}

/// One line of `secours history`: a state change, a verification, an operation or a notification.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEvent {
    /// Serialized as an RFC 3339 string.
    pub at: Timestamp,
    /// `"state"`, `"verification"`, `"operation"` or `"notification"`.
    pub kind: String,
    /// The backup source's name for a state change, the file's path for a verification.
    pub source: Option<String>,
    /// Short English, machine-ish: `prod: fresh -> late`.
    pub summary: String,
    pub details: Value,
}

impl HistoryEvent {
    /// One line for people: local time, kind, summary (used by `secours history` and the app's History…).
    pub fn line(&self) -> String {
        let local = self.at.to_zoned(jiff::tz::TimeZone::system());
        format!(
            "{}  {:<12} {}",
            local.strftime("%Y-%m-%d %H:%M:%S"),
            self.kind,
            self.summary
        )
    }
}

/// The shape of a verified pair and the anomaly judgement on it (see `anomaly`), as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairShapeRecord {
    /// 0 before it is stored.
    pub id: i64,
    /// The watched folder the pair was found in: pairs are compared with the earlier pairs of the same one.
    pub series: PathBuf,
    /// The pair's time: the modification time of its older file.
    pub pair_at: Timestamp,
    pub db: FileKey,
    pub media: FileKey,
    pub shape_json: String,
    /// One of [`SHAPE_STATUSES`].
    pub status: String,
    /// What departs from the earlier pairs (a JSON list; empty for a reference).
    pub findings_json: String,
    pub judged_at: Timestamp,
    pub accepted_at: Option<Timestamp>,
    /// Who said the change is expected.
    pub accepted_by: Option<String>,
}

/// What the history holds over a period, for the report (see `report`).
#[derive(Debug, Clone, Default)]
pub struct Period {
    /// Oldest first.
    pub observations: Vec<ObservationRecord>,
    /// Oldest first; each source's last change before the period comes first, so its state at the start
    /// is known.
    pub state_changes: Vec<StateChange>,
    /// By the time they ended (or began, while unfinished), oldest first.
    pub operations: Vec<Operation>,
    /// By pair time, oldest first.
    pub shapes: Vec<PairShapeRecord>,
    /// Verifications that found a file damaged or unsafe: (file, verdict).
    pub bad_files: Vec<(FileKey, String)>,
    /// Completed Time Machine backups seen, oldest first.
    pub time_machine: Vec<Timestamp>,
}

/// An open history file. One per process (or thread); it is `Send` but not `Sync`.
pub struct History {
    conn: Connection,
    path: PathBuf,
}

impl fmt::Debug for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("History")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl History {
    /// Opens (creating the file and its folders if needed) and upgrades the history at `path`.
    pub fn open(path: &Path) -> Result<History, HistoryError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|cause| HistoryError::CreateDir {
                dir: dir.to_path_buf(),
                cause,
            })?;
        }
        let conn = Connection::open(path).map_err(|e| sql_error(path, "opening the file", e))?;
        let history = History {
            conn,
            path: path.to_path_buf(),
        };
        history.configure(true)?;
        history.migrate()?;
        Ok(history)
    }

    /// Makes every later commit durable before it returns: `synchronous = FULL`, and on macOS `fullfsync`
    /// (a plain fsync there leaves the data in the disk's cache). For the restore's journal, whose rows
    /// announce a step before it acts: a power cut must never lose the row of a step whose effect (a
    /// `RENAME TABLE`, an import) the database server already made durable.
    pub fn make_durable(&self) -> Result<(), HistoryError> {
        self.conn
            .pragma_update(None, "synchronous", "FULL")
            .map_err(self.err("setting the sync mode"))?;
        if cfg!(target_os = "macos") {
            for pragma in ["fullfsync", "checkpoint_fullfsync"] {
                self.conn
                    .pragma_update(None, pragma, true)
                    .map_err(self.err("setting full sync"))?;
            }
        }
        Ok(())
    }

    /// Whether commits are made durable before they return (`synchronous` is FULL or EXTRA).
    pub fn is_durable(&self) -> bool {
        self.conn
            .query_row("PRAGMA synchronous", [], |row| row.get::<_, i64>(0))
            .is_ok_and(|level| level >= 2)
    }

    /// A history that lives in memory only, for tests.
    pub fn open_in_memory() -> Result<History, HistoryError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|e| sql_error(&path, "opening the file", e))?;
        let history = History { conn, path };
        history.configure(false)?;
        history.migrate()?;
        Ok(history)
    }

    /// The file this history lives in (`:memory:` for [`History::open_in_memory`]).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open file (equal to [`SCHEMA_VERSION`] once opened).
    pub fn schema_version(&self) -> Result<u32, HistoryError> {
        let found = read_user_version(&self.conn).map_err(self.err("reading the schema version"))?;
        u32::try_from(found).map_err(|_| HistoryError::Damaged {
            path: self.path.clone(),
            reason: format!("schema version '{found}' is negative"),
        })
    }

    fn err(&self, step: &'static str) -> impl Fn(rusqlite::Error) -> HistoryError + '_ {
        move |e| sql_error(&self.path, step, e)
    }

    fn configure(&self, wal: bool) -> Result<(), HistoryError> {
        // First, so that every statement below already waits for a busy file instead of failing.
        self.conn
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(self.err("setting the lock wait"))?;
        if wal {
            let mode = self.switch_to_wal()?;
            if !mode.eq_ignore_ascii_case("wal") {
                // Still correct (the rollback journal plus the lock wait keeps it safe), only less
                // concurrent: readers then wait for writers. Happens on file systems without shared memory.
                log::warn!(
                    "history at '{}': WAL mode unavailable (journal mode '{mode}'); continuing without it",
                    self.path.display()
                );
            }
            // With WAL, NORMAL cannot corrupt the file; a power cut may only lose the last transactions.
            self.conn
                .pragma_update(None, "synchronous", "NORMAL")
                .map_err(self.err("setting the sync mode"))?;
        }
        self.conn
            .pragma_update(None, "foreign_keys", true)
            .map_err(self.err("enabling foreign keys"))?;
        Ok(())
    }

    /// Puts the file in WAL mode (persistent: done once per file) and returns the journal mode now in force.
    ///
    /// The switch reads the file, then needs its write lock; when another connection holds that lock,
    /// SQLite answers "database is locked" at once instead of calling the busy handler (a reader waiting for
    /// a writer could deadlock), so a second process opening a new file at the same moment failed. Guarded
    /// by `tests/history_concurrency.rs` (`opening_a_new_file_waits_for_a_writer_before_switching_to_wal`,
    /// `processes_write_at_once`): the switch is retried here, within [`BUSY_TIMEOUT`] like any lock wait.
    fn switch_to_wal(&self) -> Result<String, HistoryError> {
        const STEP: &str = "switching to WAL mode";
        let current: String = self
            .conn
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .map_err(self.err(STEP))?;
        if current.eq_ignore_ascii_case("wal") {
            return Ok(current);
        }
        let deadline = Instant::now() + BUSY_TIMEOUT;
        let mut pause = Duration::from_millis(2);
        loop {
            match self.conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)) {
                Ok(mode) => return Ok(mode),
                Err(e)
                    if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy) && Instant::now() + pause < deadline =>
                {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(e) => return Err(sql_error(&self.path, STEP, e)),
            }
        }
    }

    fn check_version(&self, found: i64) -> Result<u32, HistoryError> {
        if found > i64::from(SCHEMA_VERSION) {
            return Err(HistoryError::TooNew {
                path: self.path.clone(),
                found,
                known: SCHEMA_VERSION,
            });
        }
        u32::try_from(found).map_err(|_| HistoryError::Damaged {
            path: self.path.clone(),
            reason: format!("schema version '{found}' is negative"),
        })
    }

    fn migrate(&self) -> Result<(), HistoryError> {
        // Most opens find the schema current: a plain read, no write lock, no waiting on the other process.
        let found = read_user_version(&self.conn).map_err(self.err("reading the schema version"))?;
        if self.check_version(found)? == SCHEMA_VERSION {
            return Ok(());
        }
        loop {
            let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
                .map_err(self.err("locking the history to upgrade it"))?;
            // Re-read under the write lock: another process may have upgraded the file meanwhile.
            let found = read_user_version(&tx).map_err(self.err("reading the schema version"))?;
            let version = self.check_version(found)?;
            if version >= SCHEMA_VERSION {
                return Ok(());
            }
            // `MIGRATIONS[v]` upgrades version v; always present since v < SCHEMA_VERSION = MIGRATIONS.len().
            let Some(script) = usize::try_from(version).ok().and_then(|i| MIGRATIONS.get(i)) else {
                return Ok(());
            };
            apply_migration(&tx, script, version + 1).map_err(self.err("upgrading the schema"))?;
            tx.commit().map_err(self.err("upgrading the schema"))?;
            log::info!(
                "history at '{}': upgraded schema to version {}",
                self.path.display(),
                version + 1
            );
        }
    }

    fn immediate(&self, step: &'static str) -> Result<Transaction<'_>, HistoryError> {
        Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate).map_err(self.err(step))
    }

    fn check_json(&self, what: &'static str, text: &str) -> Result<(), HistoryError> {
        serde_json::from_str::<serde::de::IgnoredAny>(text)
            .map(|_| ())
            .map_err(|cause| HistoryError::InvalidJson {
                path: self.path.clone(),
                what,
                cause,
            })
    }

    fn check_one_of(&self, what: &'static str, value: &str, allowed: &[&str]) -> Result<(), HistoryError> {
        if allowed.contains(&value) {
            return Ok(());
        }
        Err(HistoryError::InvalidValue {
            path: self.path.clone(),
            what,
            value: value.to_owned(),
            expected: allowed.join(", "),
        })
    }

    // ----- observations -----

    /// Stores `obs` when its state or sizes differ from the last observation of the same source, or when
    /// [`OBSERVATION_HEARTBEAT`] has passed since it; returns whether it stored it. The age alone changes
    /// every minute and is not a reason to store.
    pub fn record_observation(&self, obs: &ObservationRecord) -> Result<bool, HistoryError> {
        const STEP: &str = "recording an observation";
        let tx = self.immediate(STEP)?;
        let db_bytes = obs.db_bytes.map(to_sql_u64);
        let media_bytes = obs.media_bytes.map(to_sql_u64);
        let last: Option<(String, Option<i64>, Option<i64>, i64)> = tx
            .query_row(
                "SELECT state, db_bytes, media_bytes, at FROM observations
                 WHERE source = ?1 ORDER BY id DESC LIMIT 1",
                [&obs.source],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
            )
            .optional()
            .map_err(self.err(STEP))?;
        let heartbeat = OBSERVATION_HEARTBEAT.as_secs() as i64;
        if let Some((state, last_db, last_media, last_at)) = last {
            let unchanged = state == obs.state && last_db == db_bytes && last_media == media_bytes;
            if unchanged && seconds(obs.at).saturating_sub(last_at) < heartbeat {
                return Ok(false);
            }
        }
        tx.execute(
            "INSERT INTO observations (at, source, state, age_seconds, db_bytes, media_bytes, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                seconds(obs.at),
                obs.source,
                obs.state,
                obs.age_seconds,
                db_bytes,
                media_bytes,
                obs.detail
            ],
        )
        .map_err(self.err(STEP))?;
        tx.commit().map_err(self.err(STEP))?;
        Ok(true)
    }

    /// The last stored observation of `source`.
    pub fn last_observation(&self, source: &str) -> Result<Option<ObservationRecord>, HistoryError> {
        self.conn
            .query_row(
                "SELECT at, source, state, age_seconds, db_bytes, media_bytes, detail FROM observations
                 WHERE source = ?1 ORDER BY id DESC LIMIT 1",
                [source],
                |row| {
                    Ok(ObservationRecord {
                        at: timestamp_at(row, 0)?,
                        source: row.get(1)?,
                        state: row.get(2)?,
                        age_seconds: row.get(3)?,
                        db_bytes: row.get::<_, Option<i64>>(4)?.map(from_sql_u64),
                        media_bytes: row.get::<_, Option<i64>>(5)?.map(from_sql_u64),
                        detail: row.get(6)?,
                    })
                },
            )
            .optional()
            .map_err(self.err("reading the last observation"))
    }

    // ----- state changes -----

    /// Records that `source` is in `state` at `at`. Stores and returns the change only when `state` differs
    /// from the last recorded state of `source` (the first record of a source is a change from `None`).
    pub fn record_state(&self, source: &str, state: &str, at: Timestamp) -> Result<Option<StateChange>, HistoryError> {
        const STEP: &str = "recording a state change";
        let tx = self.immediate(STEP)?;
        let previous: Option<String> = tx
            .query_row(
                "SELECT state FROM state_changes WHERE source = ?1 ORDER BY id DESC LIMIT 1",
                [source],
                |row| row.get(0),
            )
            .optional()
            .map_err(self.err(STEP))?;
        if previous.as_deref() == Some(state) {
            return Ok(None);
        }
        tx.execute(
            "INSERT INTO state_changes (at, source, state, previous) VALUES (?1, ?2, ?3, ?4)",
            params![seconds(at), source, state, previous],
        )
        .map_err(self.err(STEP))?;
        tx.commit().map_err(self.err(STEP))?;
        Ok(Some(StateChange {
            source: source.to_owned(),
            previous,
            state: state.to_owned(),
            at,
        }))
    }

    /// The last recorded state of `source` and when it was entered.
    pub fn last_state(&self, source: &str) -> Result<Option<(String, Timestamp)>, HistoryError> {
        self.conn
            .query_row(
                "SELECT state, at FROM state_changes WHERE source = ?1 ORDER BY id DESC LIMIT 1",
                [source],
                |row| Ok((row.get(0)?, timestamp_at(row, 1)?)),
            )
            .optional()
            .map_err(self.err("reading the last state"))
    }

    // ----- verifications -----

    /// Stores the verification of the file version `key`, replacing an earlier one for the same key.
    pub fn record_verification(
        &self,
        key: &FileKey,
        verdict: VerdictKind,
        details_json: &str,
        at: Timestamp,
    ) -> Result<(), HistoryError> {
        self.check_json("verification details", details_json)?;
        self.conn
            .execute(
                "INSERT INTO verifications (path, size, mtime_ns, inode, verdict, details_json, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (path, size, mtime_ns, inode) DO UPDATE SET
                     verdict = excluded.verdict, details_json = excluded.details_json, at = excluded.at",
                params![
                    key.path.as_os_str().as_encoded_bytes(),
                    to_sql_u64(key.size),
                    key.mtime_ns,
                    to_sql_u64(key.inode),
                    verdict.as_str(),
                    details_json,
                    seconds(at)
                ],
            )
            .map_err(self.err("recording a verification"))?;
        Ok(())
    }

    /// The stored verification of the file version `key`, if it was verified.
    pub fn verification(&self, key: &FileKey) -> Result<Option<StoredVerification>, HistoryError> {
        self.conn
            .query_row(
                "SELECT verdict, details_json, at FROM verifications
                 WHERE path = ?1 AND size = ?2 AND mtime_ns = ?3 AND inode = ?4",
                params![
                    key.path.as_os_str().as_encoded_bytes(),
                    to_sql_u64(key.size),
                    key.mtime_ns,
                    to_sql_u64(key.inode)
                ],
                |row| {
                    Ok(StoredVerification {
                        verdict: VerdictKind::from_word(&row.get::<_, String>(0)?),
                        details_json: row.get(1)?,
                        at: timestamp_at(row, 2)?,
                    })
                },
            )
            .optional()
            .map_err(self.err("reading a verification"))
    }

    // ----- operations journal -----

    /// Starts journaling an operation of `kind` (`copy`, `restore`, `drill`, …).
    pub fn begin_operation(&self, kind: &str, details_json: &str, at: Timestamp) -> Result<OperationId, HistoryError> {
        const STEP: &str = "beginning an operation";
        self.check_json("operation details", details_json)?;
        // A transaction so that `last_insert_rowid` is read before anything else runs on this connection.
        let tx = self.immediate(STEP)?;
        tx.execute(
            "INSERT INTO operations (kind, details_json, started_at) VALUES (?1, ?2, ?3)",
            params![kind, details_json, seconds(at)],
        )
        .map_err(self.err(STEP))?;
        let id = OperationId(tx.last_insert_rowid());
        tx.commit().map_err(self.err(STEP))?;
        Ok(id)
    }

    /// Journals a step of the running operation `id`; `phase` is one of [`STEP_PHASES`].
    pub fn journal_step(
        &self,
        id: OperationId,
        step: &str,
        phase: &str,
        details_json: &str,
        at: Timestamp,
    ) -> Result<(), HistoryError> {
        const STEP: &str = "journaling a step";
        self.check_one_of("step phase", phase, STEP_PHASES)?;
        self.check_json("step details", details_json)?;
        let tx = self.immediate(STEP)?;
        self.check_running(&tx, id, STEP)?;
        tx.execute(
            "INSERT INTO journal_steps (operation_id, at, step, phase, details_json) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id.0, seconds(at), step, phase, details_json],
        )
        .map_err(self.err(STEP))?;
        tx.commit().map_err(self.err(STEP))
    }

    /// Marks the running operation `id` finished; `outcome` is one of [`OUTCOMES`].
    pub fn finish_operation(
        &self,
        id: OperationId,
        outcome: &str,
        details_json: &str,
        at: Timestamp,
    ) -> Result<(), HistoryError> {
        const STEP: &str = "finishing an operation";
        self.check_one_of("operation outcome", outcome, OUTCOMES)?;
        self.check_json("outcome details", details_json)?;
        let tx = self.immediate(STEP)?;
        self.check_running(&tx, id, STEP)?;
        tx.execute(
            "UPDATE operations SET finished_at = ?2, outcome = ?3, outcome_details_json = ?4 WHERE id = ?1",
            params![id.0, seconds(at), outcome, details_json],
        )
        .map_err(self.err(STEP))?;
        tx.commit().map_err(self.err(STEP))
    }

    /// Fails unless operation `id` exists and is not finished; call inside a write transaction.
    fn check_running(&self, tx: &Connection, id: OperationId, step: &'static str) -> Result<(), HistoryError> {
        let outcome: Option<Option<String>> = tx
            .query_row("SELECT outcome FROM operations WHERE id = ?1", [id.0], |row| row.get(0))
            .optional()
            .map_err(self.err(step))?;
        match outcome {
            None => Err(HistoryError::UnknownOperation {
                path: self.path.clone(),
                id: id.0,
                step,
            }),
            Some(Some(outcome)) => Err(HistoryError::OperationFinished {
                path: self.path.clone(),
                id: id.0,
                outcome,
                step,
            }),
            Some(None) => Ok(()),
        }
    }

    const OPERATION_COLUMNS: &str = "id, kind, details_json, started_at, finished_at, outcome, outcome_details_json";

    fn operation_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Operation> {
        Ok(Operation {
            id: OperationId(row.get(0)?),
            kind: row.get(1)?,
            details_json: row.get(2)?,
            started_at: timestamp_at(row, 3)?,
            finished_at: optional_timestamp_at(row, 4)?,
            outcome: row.get(5)?,
            outcome_details_json: row.get(6)?,
        })
    }

    /// Operations begun and never finished, oldest first: after a crash, these need recovery.
    pub fn unfinished_operations(&self) -> Result<Vec<Operation>, HistoryError> {
        const STEP: &str = "listing unfinished operations";
        let sql = format!(
            "SELECT {} FROM operations WHERE finished_at IS NULL ORDER BY id",
            Self::OPERATION_COLUMNS
        );
        let mut stmt = self.conn.prepare(&sql).map_err(self.err(STEP))?;
        let rows = stmt.query_map([], Self::operation_row).map_err(self.err(STEP))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(self.err(STEP))
    }

    /// The most recently begun operation of `kind`; with `outcome`, the most recent one that finished so.
    pub fn last_operation(&self, kind: &str, outcome: Option<&str>) -> Result<Option<Operation>, HistoryError> {
        let sql = format!(
            "SELECT {} FROM operations WHERE kind = ?1 AND (?2 IS NULL OR outcome = ?2) ORDER BY id DESC LIMIT 1",
            Self::OPERATION_COLUMNS
        );
        self.conn
            .query_row(&sql, params![kind, outcome], Self::operation_row)
            .optional()
            .map_err(self.err("reading the last operation"))
    }

    /// One operation by id.
    pub fn operation(&self, id: OperationId) -> Result<Option<Operation>, HistoryError> {
        let sql = format!("SELECT {} FROM operations WHERE id = ?1", Self::OPERATION_COLUMNS);
        self.conn
            .query_row(&sql, [id.0], Self::operation_row)
            .optional()
            .map_err(self.err("reading an operation"))
    }

    /// The journal of operation `id`, in the order it was written.
    pub fn operation_steps(&self, id: OperationId) -> Result<Vec<JournalStep>, HistoryError> {
        const STEP: &str = "reading an operation's journal";
        let mut stmt = self
            .conn
            .prepare(
                "SELECT operation_id, at, step, phase, details_json FROM journal_steps
                 WHERE operation_id = ?1 ORDER BY id",
            )
            .map_err(self.err(STEP))?;
        let rows = stmt
            .query_map([id.0], |row| {
                Ok(JournalStep {
                    operation: OperationId(row.get(0)?),
                    at: timestamp_at(row, 1)?,
                    step: row.get(2)?,
                    phase: row.get(3)?,
                    details_json: row.get(4)?,
                })
            })
            .map_err(self.err(STEP))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(self.err(STEP))
    }

    // ----- upkeep -----

    /// Removes what only served recent questions ([`KEEP_VERIFICATIONS`], [`KEEP_ROUTINE`]), so a history
    /// written every hour for years stays small (about 1.5 KB per hour otherwise). Unfinished operations
    /// are never touched: a crash's recovery needs them.
    pub fn prune(&self, now: Timestamp) -> Result<Pruned, HistoryError> {
        const STEP: &str = "removing old history";
        let before = |keep: Duration| seconds(now).saturating_sub(i64::try_from(keep.as_secs()).unwrap_or(i64::MAX));
        let tx = self.immediate(STEP)?;
        let delete = |sql: &str, keep: Duration| tx.execute(sql, [before(keep)]).map_err(self.err(STEP));
        let pruned = Pruned {
            verifications: delete("DELETE FROM verifications WHERE at < ?1", KEEP_VERIFICATIONS)?,
            observations: delete("DELETE FROM observations WHERE at < ?1", KEEP_ROUTINE)?,
            notifications: delete("DELETE FROM notifications WHERE at < ?1", KEEP_ROUTINE)?,
            // Their journal steps go with them (ON DELETE CASCADE).
            operations: delete(
                "DELETE FROM operations WHERE kind = 'copy' AND finished_at IS NOT NULL AND finished_at < ?1",
                KEEP_ROUTINE,
            )?,
            shapes: delete("DELETE FROM pair_shapes WHERE pair_at < ?1", KEEP_ROUTINE)?
                + delete("DELETE FROM time_machine_backups WHERE at < ?1", KEEP_ROUTINE)?,
        };
        tx.commit().map_err(self.err(STEP))?;
        Ok(pruned)
    }

    // ----- notifications -----

    /// Records that the alert `key` was sent at `at`.
    pub fn record_notification(&self, key: &str, at: Timestamp) -> Result<(), HistoryError> {
        self.conn
            .execute(
                "INSERT INTO notifications (key, at) VALUES (?1, ?2)",
                params![key, seconds(at)],
            )
            .map_err(self.err("recording a notification"))?;
        Ok(())
    }

    /// When the alert `key` was last sent.
    pub fn last_notification(&self, key: &str) -> Result<Option<Timestamp>, HistoryError> {
        self.conn
            .query_row("SELECT MAX(at) FROM notifications WHERE key = ?1", [key], |row| {
                optional_timestamp_at(row, 0)
            })
            .map_err(self.err("reading the last notification"))
    }

    /// Records the alert `key` at `at` unless it was sent less than `interval` before; returns whether the
    /// caller should send it. Check and record are one transaction, so two processes never both send.
    pub fn claim_notification(&self, key: &str, at: Timestamp, interval: Duration) -> Result<bool, HistoryError> {
        const STEP: &str = "claiming a notification";
        let tx = self.immediate(STEP)?;
        let last: Option<i64> = tx
            .query_row("SELECT MAX(at) FROM notifications WHERE key = ?1", [key], |row| {
                row.get(0)
            })
            .map_err(self.err(STEP))?;
        let interval = i64::try_from(interval.as_secs()).unwrap_or(i64::MAX);
        if let Some(last) = last {
            if seconds(at).saturating_sub(last) < interval {
                return Ok(false);
            }
        }
        tx.execute(
            "INSERT INTO notifications (key, at) VALUES (?1, ?2)",
            params![key, seconds(at)],
        )
        .map_err(self.err(STEP))?;
        tx.commit().map_err(self.err(STEP))?;
        Ok(true)
    }

    // ----- pair shapes (anomalies) -----

    const SHAPE_COLUMNS: &str = "id, series, pair_at, db_path, db_size, db_mtime_ns, db_inode, media_path, media_size, \
                                 media_mtime_ns, media_inode, shape_json, status, findings_json, judged_at, \
                                 accepted_at, accepted_by";

    fn shape_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<PairShapeRecord> {
        let path = |i: usize| -> rusqlite::Result<PathBuf> {
            let bytes: Vec<u8> = row.get(i)?;
            Ok(path_from_bytes(bytes))
        };
        Ok(PairShapeRecord {
            id: row.get(0)?,
            series: path(1)?,
            pair_at: timestamp_at(row, 2)?,
            db: FileKey {
                path: path(3)?,
                size: from_sql_u64(row.get(4)?),
                mtime_ns: row.get(5)?,
                inode: from_sql_u64(row.get(6)?),
            },
            media: FileKey {
                path: path(7)?,
                size: from_sql_u64(row.get(8)?),
                mtime_ns: row.get(9)?,
                inode: from_sql_u64(row.get(10)?),
            },
            shape_json: row.get(11)?,
            status: row.get(12)?,
            findings_json: row.get(13)?,
            judged_at: timestamp_at(row, 14)?,
            accepted_at: optional_timestamp_at(row, 15)?,
            accepted_by: row.get(16)?,
        })
    }

    /// Stores the judgement of a pair unless one is already stored for the same series and files (two
    /// processes judging at once store one); returns the stored one.
    pub fn record_pair_shape(&self, record: &PairShapeRecord) -> Result<PairShapeRecord, HistoryError> {
        const STEP: &str = "recording a backup's shape";
        self.check_one_of("shape status", &record.status, SHAPE_STATUSES)?;
        self.check_json("backup shape", &record.shape_json)?;
        self.check_json("anomalies", &record.findings_json)?;
        let tx = self.immediate(STEP)?;
        tx.execute(
            "INSERT OR IGNORE INTO pair_shapes (series, pair_at, db_path, db_size, db_mtime_ns, db_inode, media_path,
                 media_size, media_mtime_ns, media_inode, shape_json, status, findings_json, judged_at, accepted_at,
                 accepted_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            params![
                record.series.as_os_str().as_encoded_bytes(),
                seconds(record.pair_at),
                record.db.path.as_os_str().as_encoded_bytes(),
                to_sql_u64(record.db.size),
                record.db.mtime_ns,
                to_sql_u64(record.db.inode),
                record.media.path.as_os_str().as_encoded_bytes(),
                to_sql_u64(record.media.size),
                record.media.mtime_ns,
                to_sql_u64(record.media.inode),
                record.shape_json,
                record.status,
                record.findings_json,
                seconds(record.judged_at),
                record.accepted_at.map(seconds),
                record.accepted_by,
            ],
        )
        .map_err(self.err(STEP))?;
        let stored = Self::select_shape(&tx, &record.series, &record.db, &record.media).map_err(self.err(STEP))?;
        tx.commit().map_err(self.err(STEP))?;
        stored.ok_or_else(|| HistoryError::Sqlite {
            path: self.path.clone(),
            step: STEP,
            cause: "the shape just stored cannot be read back".to_owned(),
        })
    }

    fn select_shape(
        conn: &Connection,
        series: &Path,
        db: &FileKey,
        media: &FileKey,
    ) -> rusqlite::Result<Option<PairShapeRecord>> {
        let sql = format!(
            "SELECT {} FROM pair_shapes WHERE series = ?1 AND db_path = ?2 AND db_size = ?3 AND db_mtime_ns = ?4
             AND db_inode = ?5 AND media_path = ?6 AND media_size = ?7 AND media_mtime_ns = ?8 AND media_inode = ?9",
            Self::SHAPE_COLUMNS
        );
        conn.query_row(
            &sql,
            params![
                series.as_os_str().as_encoded_bytes(),
                db.path.as_os_str().as_encoded_bytes(),
                to_sql_u64(db.size),
                db.mtime_ns,
                to_sql_u64(db.inode),
                media.path.as_os_str().as_encoded_bytes(),
                to_sql_u64(media.size),
                media.mtime_ns,
                to_sql_u64(media.inode),
            ],
            Self::shape_row,
        )
        .optional()
    }

    /// The judgement stored for this pair of files in `series`.
    pub fn pair_shape(
        &self,
        series: &Path,
        db: &FileKey,
        media: &FileKey,
    ) -> Result<Option<PairShapeRecord>, HistoryError> {
        Self::select_shape(&self.conn, series, db, media).map_err(self.err("reading a backup's shape"))
    }

    /// The newest judgement stored for this pair of files, whatever the series (a restore asks about a
    /// pair it found by itself).
    pub fn pair_shape_of_files(&self, db: &FileKey, media: &FileKey) -> Result<Option<PairShapeRecord>, HistoryError> {
        let sql = format!(
            "SELECT {} FROM pair_shapes WHERE db_path = ?1 AND db_size = ?2 AND db_mtime_ns = ?3 AND db_inode = ?4
             AND media_path = ?5 AND media_size = ?6 AND media_mtime_ns = ?7 AND media_inode = ?8
             ORDER BY id DESC LIMIT 1",
            Self::SHAPE_COLUMNS
        );
        self.conn
            .query_row(
                &sql,
                params![
                    db.path.as_os_str().as_encoded_bytes(),
                    to_sql_u64(db.size),
                    db.mtime_ns,
                    to_sql_u64(db.inode),
                    media.path.as_os_str().as_encoded_bytes(),
                    to_sql_u64(media.size),
                    media.mtime_ns,
                    to_sql_u64(media.inode),
                ],
                Self::shape_row,
            )
            .optional()
            .map_err(self.err("reading a backup's shape"))
    }

    /// The good pairs of `series` a pair made at `before` is compared with, newest first, at most `limit`:
    /// references and accepted pairs older than it, none older than the newest accepted one (an accepted
    /// change starts a new normal).
    pub fn reference_shapes(
        &self,
        series: &Path,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<PairShapeRecord>, HistoryError> {
        const STEP: &str = "reading the earlier backups' shapes";
        let sql = format!(
            "SELECT {} FROM pair_shapes
             WHERE series = ?1 AND pair_at < ?2 AND status IN ('reference', 'accepted')
               AND pair_at >= COALESCE((SELECT MAX(pair_at) FROM pair_shapes
                                        WHERE series = ?1 AND pair_at < ?2 AND status = 'accepted'), 0)
             ORDER BY pair_at DESC, id DESC LIMIT ?3",
            Self::SHAPE_COLUMNS
        );
        let mut stmt = self.conn.prepare(&sql).map_err(self.err(STEP))?;
        let rows = stmt
            .query_map(
                params![
                    series.as_os_str().as_encoded_bytes(),
                    seconds(before),
                    i64::try_from(limit).unwrap_or(i64::MAX)
                ],
                Self::shape_row,
            )
            .map_err(self.err(STEP))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(self.err(STEP))
    }

    /// Marks the suspect pair `id` accepted by `by`: it becomes the reference of the pairs after it.
    /// Returns false when it was not suspect (already accepted, or never suspect).
    pub fn accept_pair_shape(&self, id: i64, by: &str, at: Timestamp) -> Result<bool, HistoryError> {
        let changed = self
            .conn
            .execute(
                "UPDATE pair_shapes SET status = 'accepted', accepted_at = ?2, accepted_by = ?3
                 WHERE id = ?1 AND status = 'suspect'",
                params![id, seconds(at), by],
            )
            .map_err(self.err("accepting a backup's change"))?;
        Ok(changed == 1)
    }

    /// Records that Time Machine's latest completed backup was at `at` (seen at `seen_at`); once per backup.
    pub fn record_time_machine_backup(&self, at: Timestamp, seen_at: Timestamp) -> Result<(), HistoryError> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO time_machine_backups (at, seen_at) VALUES (?1, ?2)",
                params![seconds(at), seconds(seen_at)],
            )
            .map_err(self.err("recording a Time Machine backup"))?;
        Ok(())
    }

    /// Everything the history report draws, from `from` on, read in one snapshot.
    pub fn period(&self, from: Timestamp) -> Result<Period, HistoryError> {
        const STEP: &str = "reading the history of a period";
        let from = seconds(from);
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Deferred).map_err(self.err(STEP))?;
        let mut period = Period::default();

        let mut stmt = tx
            .prepare(
                "SELECT at, source, state, age_seconds, db_bytes, media_bytes, detail FROM observations
                 WHERE at >= ?1 ORDER BY id",
            )
            .map_err(self.err(STEP))?;
        let rows = stmt
            .query_map([from], |row| {
                Ok(ObservationRecord {
                    at: timestamp_at(row, 0)?,
                    source: row.get(1)?,
                    state: row.get(2)?,
                    age_seconds: row.get(3)?,
                    db_bytes: row.get::<_, Option<i64>>(4)?.map(from_sql_u64),
                    media_bytes: row.get::<_, Option<i64>>(5)?.map(from_sql_u64),
                    detail: row.get(6)?,
                })
            })
            .map_err(self.err(STEP))?;
        period.observations = rows.collect::<rusqlite::Result<Vec<_>>>().map_err(self.err(STEP))?;
        drop(stmt);

        let mut stmt = tx
            .prepare(
                "SELECT at, source, state, previous FROM state_changes
                 WHERE at >= ?1 OR id IN (SELECT MAX(id) FROM state_changes WHERE at < ?1 GROUP BY source)
                 ORDER BY id",
            )
            .map_err(self.err(STEP))?;
        let rows = stmt
            .query_map([from], |row| {
                Ok(StateChange {
                    at: timestamp_at(row, 0)?,
                    source: row.get(1)?,
                    state: row.get(2)?,
                    previous: row.get(3)?,
                })
            })
            .map_err(self.err(STEP))?;
        period.state_changes = rows.collect::<rusqlite::Result<Vec<_>>>().map_err(self.err(STEP))?;
        drop(stmt);

        let sql = format!(
            "SELECT {} FROM operations WHERE COALESCE(finished_at, started_at) >= ?1
             ORDER BY COALESCE(finished_at, started_at), id",
            Self::OPERATION_COLUMNS
        );
        let mut stmt = tx.prepare(&sql).map_err(self.err(STEP))?;
        let rows = stmt.query_map([from], Self::operation_row).map_err(self.err(STEP))?;
        period.operations = rows.collect::<rusqlite::Result<Vec<_>>>().map_err(self.err(STEP))?;
        drop(stmt);

        let sql = format!(
            "SELECT {} FROM pair_shapes WHERE pair_at >= ?1 ORDER BY pair_at, id",
            Self::SHAPE_COLUMNS
        );
        let mut stmt = tx.prepare(&sql).map_err(self.err(STEP))?;
        let rows = stmt.query_map([from], Self::shape_row).map_err(self.err(STEP))?;
        period.shapes = rows.collect::<rusqlite::Result<Vec<_>>>().map_err(self.err(STEP))?;
        drop(stmt);

        // A file's modification time is what places it on the time line (`at` is when it was read).
        let mut stmt = tx
            .prepare(
                "SELECT path, size, mtime_ns, inode, verdict FROM verifications
                 WHERE verdict != 'ok' AND mtime_ns >= ?1 * 1000000000 ORDER BY mtime_ns",
            )
            .map_err(self.err(STEP))?;
        let rows = stmt
            .query_map([from], |row| {
                let path: Vec<u8> = row.get(0)?;
                Ok((
                    FileKey {
                        path: path_from_bytes(path),
                        size: from_sql_u64(row.get(1)?),
                        mtime_ns: row.get(2)?,
                        inode: from_sql_u64(row.get(3)?),
                    },
                    row.get(4)?,
                ))
            })
            .map_err(self.err(STEP))?;
        period.bad_files = rows.collect::<rusqlite::Result<Vec<_>>>().map_err(self.err(STEP))?;
        drop(stmt);

        let mut stmt = tx
            .prepare("SELECT at FROM time_machine_backups WHERE at >= ?1 ORDER BY at")
            .map_err(self.err(STEP))?;
        let rows = stmt
            .query_map([from], |row| timestamp_at(row, 0))
            .map_err(self.err(STEP))?;
        period.time_machine = rows.collect::<rusqlite::Result<Vec<_>>>().map_err(self.err(STEP))?;
        drop(stmt);
        tx.finish().map_err(self.err(STEP))?;
        Ok(period)
    }

    // ----- listing -----

    /// The `limit` newest state changes, verifications, operations and notifications, newest first. An
    /// operation is listed once, at its end (or its start while unfinished). Events in the same second keep
    /// a fixed order: state, verification, operation, notification, each newest first.
    pub fn recent_events(&self, limit: usize) -> Result<Vec<HistoryEvent>, HistoryError> {
        const STEP: &str = "listing the history";
        if limit == 0 {
            return Ok(Vec::new());
        }
        let n = i64::try_from(limit).unwrap_or(i64::MAX);
        // One read transaction: the four lists come from the same snapshot.
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Deferred).map_err(self.err(STEP))?;
        let mut events = Vec::new();

        let mut stmt = tx
            .prepare("SELECT at, source, state, previous FROM state_changes ORDER BY at DESC, id DESC LIMIT ?1")
            .map_err(self.err(STEP))?;
        let rows = stmt
            .query_map([n], |row| {
                let source: String = row.get(1)?;
                let state: String = row.get(2)?;
                let previous: Option<String> = row.get(3)?;
                let summary = match &previous {
                    Some(prev) => format!("{source}: {prev} -> {state}"),
                    None => format!("{source}: {state} (first record)"),
                };
                Ok(HistoryEvent {
                    at: timestamp_at(row, 0)?,
                    kind: "state".to_owned(),
                    source: Some(source),
                    summary,
                    details: json!({ "previous": previous, "state": state }),
                })
            })
            .map_err(self.err(STEP))?;
        for row in rows {
            events.push(row.map_err(self.err(STEP))?);
        }
        drop(stmt);

        let mut stmt = tx
            .prepare(
                "SELECT at, path, size, mtime_ns, inode, verdict, details_json FROM verifications
                 ORDER BY at DESC, rowid DESC LIMIT ?1",
            )
            .map_err(self.err(STEP))?;
        let rows = stmt
            .query_map([n], |row| {
                let path_bytes: Vec<u8> = row.get(1)?;
                let path = String::from_utf8_lossy(&path_bytes).into_owned();
                let name = Path::new(&path)
                    .file_name()
                    .map_or_else(|| path.clone(), |n| n.to_string_lossy().into_owned());
                let verdict: String = row.get(5)?;
                let details_json: String = row.get(6)?;
                Ok(HistoryEvent {
                    at: timestamp_at(row, 0)?,
                    kind: "verification".to_owned(),
                    summary: format!("{name}: {verdict}"),
                    details: json!({
                        "path": path,
                        "size": from_sql_u64(row.get(2)?),
                        "mtime_ns": row.get::<_, i64>(3)?,
                        "inode": from_sql_u64(row.get(4)?),
                        "verdict": verdict,
                        "details": json_value(&details_json),
                    }),
                    source: Some(path),
                })
            })
            .map_err(self.err(STEP))?;
        for row in rows {
            events.push(row.map_err(self.err(STEP))?);
        }
        drop(stmt);

        let sql = format!(
            "SELECT {} FROM operations ORDER BY COALESCE(finished_at, started_at) DESC, id DESC LIMIT ?1",
            Self::OPERATION_COLUMNS
        );
        let mut stmt = tx.prepare(&sql).map_err(self.err(STEP))?;
        let rows = stmt.query_map([n], Self::operation_row).map_err(self.err(STEP))?;
        for row in rows {
            let op = row.map_err(self.err(STEP))?;
            let status = op.outcome.as_deref().unwrap_or("unfinished");
            events.push(HistoryEvent {
                at: op.finished_at.unwrap_or(op.started_at),
                kind: "operation".to_owned(),
                source: None,
                summary: operation_summary(&op, status),
                details: json!({
                    "id": op.id,
                    "kind": op.kind,
                    "started_at": op.started_at,
                    "finished_at": op.finished_at,
                    "outcome": op.outcome,
                    "details": json_value(&op.details_json),
                    "outcome_details": op.outcome_details_json.as_deref().map(json_value),
                }),
            });
        }
        drop(stmt);

        let mut stmt = tx
            .prepare("SELECT at, key FROM notifications ORDER BY at DESC, id DESC LIMIT ?1")
            .map_err(self.err(STEP))?;
        let rows = stmt
            .query_map([n], |row| {
                let key: String = row.get(1)?;
                Ok(HistoryEvent {
                    at: timestamp_at(row, 0)?,
                    kind: "notification".to_owned(),
                    source: None,
                    summary: format!("notified: {key}"),
                    details: json!({ "key": key }),
                })
            })
            .map_err(self.err(STEP))?;
        for row in rows {
            events.push(row.map_err(self.err(STEP))?);
        }
        drop(stmt);
        tx.finish().map_err(self.err(STEP))?;

        // Stable: equal times keep the per-kind order built above.
        events.sort_by_key(|e| std::cmp::Reverse(e.at));
        events.truncate(limit);
        Ok(events)
    }
}

/// A path stored as its bytes (`as_encoded_bytes`), read back.
fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        PathBuf::from(std::ffi::OsString::from_vec(bytes))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(&bytes).into_owned())
    }
}

fn read_user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
}

/// Runs `script` and records `version` as the schema version; the caller holds the write transaction.
fn apply_migration(conn: &Connection, script: &str, version: u32) -> rusqlite::Result<()> {
    conn.execute_batch(script)?;
    conn.pragma_update(None, "user_version", version)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards the restore journal's durability: a step is announced durably before it acts.
    #[test]
    fn a_journal_history_commits_durably() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::open(&dir.path().join("history.sqlite")).unwrap();
        assert!(!h.is_durable(), "the app's history keeps the cheaper NORMAL");
        h.make_durable().unwrap();
        assert!(h.is_durable());
    }

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + secs).unwrap()
    }

    fn obs(at: i64, state: &str, db: u64, media: u64) -> ObservationRecord {
        ObservationRecord {
            at: t(at),
            source: "prod".to_owned(),
            state: state.to_owned(),
            age_seconds: Some(at),
            db_bytes: Some(db),
            media_bytes: Some(media),
            detail: Some("newest backup 3 min old".to_owned()),
        }
    }

    fn key(mtime_ns: i64) -> FileKey {
        FileKey {
            path: PathBuf::from("/backup/runtime/backup/app.gz"),
            size: 1234,
            mtime_ns,
            inode: u64::MAX - 7,
        }
    }

    fn shape(h: &History, at: i64, status: &str) -> PairShapeRecord {
        let series = PathBuf::from("/backup/runtime/backup");
        let file = |name: &str| FileKey {
            path: series.join(name),
            size: 10,
            mtime_ns: seconds(t(at)) * 1_000_000_000,
            inode: at as u64,
        };
        h.record_pair_shape(&PairShapeRecord {
            id: 0,
            series: series.clone(),
            pair_at: t(at),
            db: file("app.gz"),
            media: file("media.taz"),
            shape_json: "{}".into(),
            status: status.into(),
            findings_json: "{}".into(),
            judged_at: t(at),
            accepted_at: None,
            accepted_by: None,
        })
        .unwrap()
    }

    // Guards what a new pair is compared with: the good pairs before it, newest first, none before the last
    // accepted change, never a suspect one; and that a judgement is stored once per pair.
    #[test]
    fn reference_shapes_start_at_the_last_accepted_change() {
        let h = History::open_in_memory().unwrap();
        let series = PathBuf::from("/backup/runtime/backup");
        let ats = |list: Vec<PairShapeRecord>| list.iter().map(|r| r.pair_at).collect::<Vec<_>>();
        shape(&h, 0, "reference");
        shape(&h, 10, "reference");
        let odd = shape(&h, 20, "suspect");
        shape(&h, 30, "reference");
        assert_eq!(
            ats(h.reference_shapes(&series, t(40), 24).unwrap()),
            [t(30), t(10), t(0)]
        );
        assert_eq!(ats(h.reference_shapes(&series, t(40), 2).unwrap()), [t(30), t(10)]);
        assert!(
            h.reference_shapes(Path::new("/elsewhere"), t(40), 24)
                .unwrap()
                .is_empty()
        );

        assert!(h.accept_pair_shape(odd.id, "zoe (menu)", t(25)).unwrap());
        assert!(!h.accept_pair_shape(odd.id, "zoe (menu)", t(26)).unwrap(), "only once");
        assert_eq!(ats(h.reference_shapes(&series, t(40), 24).unwrap()), [t(30), t(20)]);
        let stored = h.pair_shape(&series, &odd.db, &odd.media).unwrap().unwrap();
        assert_eq!(
            (stored.status.as_str(), stored.accepted_by.as_deref()),
            ("accepted", Some("zoe (menu)"))
        );
        assert_eq!(h.pair_shape_of_files(&odd.db, &odd.media).unwrap().unwrap().id, odd.id);

        // Judged again (another process at the same time): the first judgement stays.
        let again = shape(&h, 30, "suspect");
        assert_eq!(again.status, "reference");
        let err = h
            .record_pair_shape(&PairShapeRecord {
                status: "maybe".into(),
                ..again
            })
            .unwrap_err();
        assert!(err.to_string().contains("'maybe'"), "{err}");
    }

    // Guards: years of hourly records do not pile up, while what a restore, a drill count or a crash
    // recovery needs stays.
    #[test]
    fn prune_removes_old_routine_records_only() {
        let h = History::open_in_memory().unwrap();
        let day = 86_400;
        let now = t(1000 * day);
        let old = |days: i64| t(1000 * day - days * day);
        h.record_verification(&key(1), VerdictKind::Ok, "{}", old(100)).unwrap();
        h.record_verification(&key(2), VerdictKind::Ok, "{}", old(10)).unwrap();
        let mut o = obs(0, "fresh", 1, 1);
        o.at = old(500);
        h.record_observation(&o).unwrap();
        o.at = old(1);
        o.state = "late".to_owned();
        h.record_observation(&o).unwrap();
        h.record_notification("stale", old(500)).unwrap();
        h.record_notification("stale", old(2)).unwrap();
        let copy = h.begin_operation("copy", "{}", old(500)).unwrap();
        h.journal_step(copy, "copy", "start", "{}", old(500)).unwrap();
        h.finish_operation(copy, "ok", "{}", old(500)).unwrap();
        let restore = h.begin_operation("restore", "{}", old(600)).unwrap();
        h.finish_operation(restore, "ok", "{}", old(600)).unwrap();
        let unfinished = h.begin_operation("copy", "{}", old(700)).unwrap();
        h.record_state("prod", "late", old(800)).unwrap();

        let pruned = h.prune(now).unwrap();
        assert_eq!(
            pruned,
            Pruned {
                verifications: 1,
                observations: 1,
                notifications: 1,
                operations: 1,
                shapes: 0,
            }
        );
        assert!(h.verification(&key(1)).unwrap().is_none());
        assert!(h.verification(&key(2)).unwrap().is_some());
        assert_eq!(h.last_notification("stale").unwrap(), Some(old(2)));
        let steps: i64 = h
            .conn
            .query_row("SELECT COUNT(*) FROM journal_steps", [], |r| r.get(0))
            .unwrap();
        assert_eq!(steps, 0, "the copy's journal went with it");
        let left: Vec<i64> = h
            .conn
            .prepare("SELECT id FROM operations ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(left, vec![restore.0, unfinished.0]);
        assert_eq!(h.last_state("prod").unwrap().unwrap().0, "late");
        assert_eq!(h.prune(now).unwrap(), Pruned::default(), "a second prune finds nothing");
    }

    // Guards: a file written by the first release (schema v1) keeps its data when a newer build opens it.
    #[test]
    fn migrates_a_v1_file_and_keeps_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            let tx = Transaction::new_unchecked(&conn, TransactionBehavior::Immediate).unwrap();
            apply_migration(&tx, MIGRATIONS[0], 1).unwrap();
            tx.commit().unwrap();
            assert_eq!(read_user_version(&conn).unwrap(), 1);
            conn.execute(
                "INSERT INTO state_changes (at, source, state, previous) VALUES (?1, 'prod', 'late', 'fresh')",
                [seconds(t(10))],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO notifications (key, at) VALUES ('prod-late', ?1)",
                [seconds(t(11))],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO observations (at, source, state, age_seconds, db_bytes, media_bytes, detail)
                 VALUES (?1, 'prod', 'late', 7200, 10, 20, NULL)",
                [seconds(t(12))],
            )
            .unwrap();
            let k = key(5);
            conn.execute(
                "INSERT INTO verifications (path, size, mtime_ns, inode, verdict, details_json, at)
                 VALUES (?1, ?2, ?3, ?4, 'ok', '{\"tables\":3}', ?5)",
                params![
                    k.path.as_os_str().as_encoded_bytes(),
                    to_sql_u64(k.size),
                    k.mtime_ns,
                    to_sql_u64(k.inode),
                    seconds(t(13))
                ],
            )
            .unwrap();
            // v2's tables do not exist yet: this really is a v1 file.
            assert!(conn.execute("SELECT 1 FROM operations", []).is_err());
        }

        let h = History::open(&path).unwrap();
        assert_eq!(h.schema_version().unwrap(), SCHEMA_VERSION);
        // The test must cross at least one migration.
        const { assert!(SCHEMA_VERSION >= 2) };
        assert_eq!(h.last_state("prod").unwrap(), Some(("late".to_owned(), t(10))));
        assert_eq!(h.last_notification("prod-late").unwrap(), Some(t(11)));
        let last = h.last_observation("prod").unwrap().unwrap();
        assert_eq!(
            (last.state.as_str(), last.db_bytes, last.media_bytes),
            ("late", Some(10), Some(20))
        );
        let v = h.verification(&key(5)).unwrap().unwrap();
        assert_eq!(
            (v.verdict.as_str(), v.details_json.as_str(), v.at),
            ("ok", "{\"tables\":3}", t(13))
        );
        // And v2 works on the upgraded file.
        let id = h.begin_operation("drill", "{}", t(20)).unwrap();
        assert_eq!(h.unfinished_operations().unwrap().len(), 1);
        assert_eq!(h.unfinished_operations().unwrap()[0].id, id);
    }

    // Guards: opening again neither re-runs migrations (which would fail on existing tables) nor loses rows.
    #[test]
    fn open_is_idempotent_and_creates_folders() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/history.sqlite");
        {
            let h = History::open(&path).unwrap();
            h.record_state("prod", "fresh", t(0)).unwrap();
        }
        let h1 = History::open(&path).unwrap();
        let h2 = History::open(&path).unwrap();
        assert_eq!(h1.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(h2.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(h2.last_state("prod").unwrap(), Some(("fresh".to_owned(), t(0))));
        let mode: String = h1.conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = h1.conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        assert_eq!(fk, 1);
    }

    // Guards: an older Secours must refuse (not downgrade, not write to) a file from a newer one.
    #[test]
    fn refuses_a_newer_schema_and_leaves_it_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch("CREATE TABLE future (x INTEGER)").unwrap();
            conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        }
        let err = History::open(&path).unwrap_err();
        assert!(matches!(err, HistoryError::TooNew { found, known, .. }
            if found == i64::from(SCHEMA_VERSION + 1) && known == SCHEMA_VERSION));
        let msg = err.to_string();
        assert!(msg.contains("update Secours"), "{msg}");
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        let conn = Connection::open(&path).unwrap();
        assert_eq!(read_user_version(&conn).unwrap(), i64::from(SCHEMA_VERSION + 1));
        let tables: i64 = conn
            .query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(tables, 1);
    }

    // Guards: a file that is not SQLite gets the "move it aside" guidance, not a raw SQLite message.
    #[test]
    fn a_damaged_file_says_move_it_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.sqlite");
        std::fs::write(&path, vec![0x5a_u8; 8192]).unwrap();
        let err = History::open(&path).unwrap_err();
        assert!(matches!(err, HistoryError::Damaged { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("move it aside"), "{msg}");
        assert!(msg.contains(&format!("'{}'", path.display())), "{msg}");
    }

    #[test]
    fn sqlite_codes_map_to_guidance() {
        let p = Path::new("/h.sqlite");
        let code = |c| rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(c), None);
        let busy = sql_error(p, "recording a state change", code(rusqlite::ffi::SQLITE_BUSY));
        assert!(
            busy.to_string()
                .starts_with("another program holds the history at '/h.sqlite' locked")
        );
        assert!(busy.to_string().ends_with("try again in a moment."));
        assert!(matches!(
            sql_error(p, "x", code(rusqlite::ffi::SQLITE_CORRUPT)),
            HistoryError::Damaged { .. }
        ));
        assert!(matches!(
            sql_error(p, "x", code(rusqlite::ffi::SQLITE_FULL)),
            HistoryError::DiskFull { .. }
        ));
        assert!(matches!(
            sql_error(p, "x", code(rusqlite::ffi::SQLITE_READONLY)),
            HistoryError::NoAccess { .. }
        ));
        assert!(matches!(
            sql_error(p, "x", code(rusqlite::ffi::SQLITE_MISUSE)),
            HistoryError::Sqlite { .. }
        ));
    }

    #[test]
    fn creating_the_folder_fails_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"x").unwrap();
        let err = History::open(&blocker.join("sub/history.sqlite")).unwrap_err();
        assert!(matches!(err, HistoryError::CreateDir { .. }), "{err:?}");
        assert!(err.to_string().contains("'"), "{err}");
    }

    #[test]
    fn observations_are_stored_only_when_something_changed_or_hourly() {
        let h = History::open_in_memory().unwrap();
        assert!(h.record_observation(&obs(0, "fresh", 10, 20)).unwrap());
        // Only the age moved: not stored.
        assert!(!h.record_observation(&obs(60, "fresh", 10, 20)).unwrap());
        assert!(!h.record_observation(&obs(3599, "fresh", 10, 20)).unwrap());
        // An hour after the last stored one: stored as a heartbeat.
        assert!(h.record_observation(&obs(3600, "fresh", 10, 20)).unwrap());
        assert!(h.record_observation(&obs(3660, "fresh", 11, 20)).unwrap());
        assert!(h.record_observation(&obs(3720, "fresh", 11, 21)).unwrap());
        assert!(h.record_observation(&obs(3780, "late", 11, 21)).unwrap());
        let mut none = obs(3840, "late", 11, 21);
        none.db_bytes = None;
        assert!(h.record_observation(&none).unwrap());
        // Another source has its own last observation.
        let mut other = obs(3840, "late", 11, 21);
        other.source = "standby".to_owned();
        assert!(h.record_observation(&other).unwrap());
        assert!(!h.record_observation(&other).unwrap());

        let last = h.last_observation("prod").unwrap().unwrap();
        assert_eq!(last, none);
        let count: i64 = h
            .conn
            .query_row("SELECT COUNT(*) FROM observations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 7);
    }

    #[test]
    fn sizes_and_inodes_round_trip_above_i64_max() {
        let h = History::open_in_memory().unwrap();
        let mut o = obs(0, "fresh", u64::MAX, 1 << 63);
        o.age_seconds = None;
        h.record_observation(&o).unwrap();
        assert_eq!(h.last_observation("prod").unwrap().unwrap(), o);
    }

    #[test]
    fn state_changes_are_stored_only_when_the_state_differs() {
        let h = History::open_in_memory().unwrap();
        assert_eq!(h.last_state("prod").unwrap(), None);
        let first = h.record_state("prod", "fresh", t(0)).unwrap().unwrap();
        assert_eq!(first.previous, None);
        assert_eq!(h.record_state("prod", "fresh", t(60)).unwrap(), None);
        let change = h.record_state("prod", "late", t(120)).unwrap().unwrap();
        assert_eq!(
            change,
            StateChange {
                source: "prod".into(),
                previous: Some("fresh".into()),
                state: "late".into(),
                at: t(120)
            }
        );
        // Sources are independent.
        assert!(h.record_state("standby", "late", t(130)).unwrap().is_some());
        assert_eq!(h.last_state("prod").unwrap(), Some(("late".to_owned(), t(120))));
        assert!(h.record_state("prod", "fresh", t(180)).unwrap().is_some());
        let count: i64 = h
            .conn
            .query_row("SELECT COUNT(*) FROM state_changes", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 4);
    }

    #[test]
    fn a_verification_is_stored_once_per_file_version() {
        let h = History::open_in_memory().unwrap();
        assert_eq!(h.verification(&key(1)).unwrap(), None);
        h.record_verification(&key(1), VerdictKind::Ok, r#"{"tables":3}"#, t(0))
            .unwrap();
        h.record_verification(&key(1), VerdictKind::Corrupt, r#"{"at":"line 7"}"#, t(5))
            .unwrap();
        let v = h.verification(&key(1)).unwrap().unwrap();
        assert_eq!(
            v,
            StoredVerification {
                verdict: VerdictKind::Corrupt,
                details_json: r#"{"at":"line 7"}"#.into(),
                at: t(5)
            }
        );
        // A rewritten file (new mtime, size or inode) is another version.
        assert_eq!(h.verification(&key(2)).unwrap(), None);
        assert_eq!(h.verification(&FileKey { size: 1, ..key(1) }).unwrap(), None);
        assert_eq!(h.verification(&FileKey { inode: 3, ..key(1) }).unwrap(), None);
        let count: i64 = h
            .conn
            .query_row("SELECT COUNT(*) FROM verifications", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 1);
        let err = h
            .record_verification(&key(3), VerdictKind::Ok, "{not json", t(6))
            .unwrap_err();
        assert!(matches!(err, HistoryError::InvalidJson { .. }), "{err:?}");
    }

    #[test]
    fn operation_journal_and_unfinished_list() {
        let h = History::open_in_memory().unwrap();
        let restore = h.begin_operation("restore", r#"{"source":"prod"}"#, t(0)).unwrap();
        let drill = h.begin_operation("drill", "{}", t(1)).unwrap();
        h.journal_step(restore, "drop-tables", "start", "{}", t(2)).unwrap();
        h.journal_step(restore, "drop-tables", "done", r#"{"tables":12}"#, t(3))
            .unwrap();
        h.journal_step(restore, "import", "failed", r#"{"line":7}"#, t(4))
            .unwrap();
        let ids: Vec<_> = h.unfinished_operations().unwrap().iter().map(|o| o.id).collect();
        assert_eq!(ids, vec![restore, drill]);

        h.finish_operation(restore, "rolled-back", r#"{"reason":"import failed"}"#, t(5))
            .unwrap();
        let unfinished = h.unfinished_operations().unwrap();
        assert_eq!(unfinished.len(), 1);
        assert_eq!(unfinished[0].id, drill);
        assert_eq!(unfinished[0].finished_at, None);

        let steps = h.operation_steps(restore).unwrap();
        let summary: Vec<_> = steps
            .iter()
            .map(|s| (s.step.as_str(), s.phase.as_str(), s.at))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("drop-tables", "start", t(2)),
                ("drop-tables", "done", t(3)),
                ("import", "failed", t(4))
            ]
        );
        assert!(h.operation_steps(drill).unwrap().is_empty());

        let op = h.operation(restore).unwrap().unwrap();
        assert_eq!(op.outcome.as_deref(), Some("rolled-back"));
        assert_eq!(op.finished_at, Some(t(5)));
        assert_eq!(op.details_json, r#"{"source":"prod"}"#);

        let second = h.begin_operation("restore", "{}", t(10)).unwrap();
        assert_eq!(h.last_operation("restore", None).unwrap().unwrap().id, second);
        assert_eq!(
            h.last_operation("restore", Some("rolled-back")).unwrap().unwrap().id,
            restore
        );
        assert_eq!(h.last_operation("restore", Some("ok")).unwrap(), None);
        assert_eq!(h.last_operation("copy", None).unwrap(), None);
        h.finish_operation(second, "ok", "{}", t(11)).unwrap();
        assert_eq!(h.last_operation("restore", Some("ok")).unwrap().unwrap().id, second);
    }

    // Guards: journal misuse is reported (with the bad value quoted) instead of silently corrupting the log.
    #[test]
    fn operation_journal_refuses_misuse() {
        let h = History::open_in_memory().unwrap();
        let id = h.begin_operation("copy", "{}", t(0)).unwrap();
        let err = h.journal_step(id, "copy", "halfway", "{}", t(1)).unwrap_err();
        assert!(err.to_string().contains("'halfway' is not a valid step phase"), "{err}");
        let err = h.finish_operation(id, "great", "{}", t(1)).unwrap_err();
        assert!(matches!(err, HistoryError::InvalidValue { .. }), "{err:?}");
        let err = h.begin_operation("copy", "", t(1)).unwrap_err();
        assert!(matches!(err, HistoryError::InvalidJson { .. }), "{err:?}");
        let ghost = OperationId(id.0 + 100);
        assert!(matches!(
            h.journal_step(ghost, "s", "start", "{}", t(1)),
            Err(HistoryError::UnknownOperation { .. })
        ));
        assert!(matches!(
            h.finish_operation(ghost, "ok", "{}", t(1)),
            Err(HistoryError::UnknownOperation { .. })
        ));
        h.finish_operation(id, "cancelled", "{}", t(2)).unwrap();
        let err = h.finish_operation(id, "ok", "{}", t(3)).unwrap_err();
        assert!(matches!(err, HistoryError::OperationFinished { ref outcome, .. } if outcome == "cancelled"));
        assert!(matches!(
            h.journal_step(id, "s", "start", "{}", t(3)),
            Err(HistoryError::OperationFinished { .. })
        ));
        assert_eq!(h.operation(id).unwrap().unwrap().outcome.as_deref(), Some("cancelled"));
    }

    #[test]
    fn last_notification_is_the_latest_sent() {
        let h = History::open_in_memory().unwrap();
        assert_eq!(h.last_notification("prod-late").unwrap(), None);
        h.record_notification("prod-late", t(100)).unwrap();
        h.record_notification("prod-late", t(50)).unwrap();
        h.record_notification("tm-off", t(200)).unwrap();
        assert_eq!(h.last_notification("prod-late").unwrap(), Some(t(100)));
        assert_eq!(h.last_notification("tm-off").unwrap(), Some(t(200)));

        let hour = Duration::from_secs(3600);
        assert!(h.claim_notification("disk-full", t(0), hour).unwrap());
        assert!(!h.claim_notification("disk-full", t(3599), hour).unwrap());
        assert!(h.claim_notification("disk-full", t(3600), hour).unwrap());
        assert_eq!(h.last_notification("disk-full").unwrap(), Some(t(3600)));
    }

    #[test]
    fn recent_events_are_merged_newest_first() {
        let h = History::open_in_memory().unwrap();
        h.record_state("prod", "fresh", t(0)).unwrap();
        h.record_verification(&key(1), VerdictKind::Ok, r#"{"tables":3}"#, t(10))
            .unwrap();
        let op = h.begin_operation("restore", r#"{"source":"prod"}"#, t(20)).unwrap();
        h.record_state("prod", "late", t(30)).unwrap();
        h.record_notification("prod-late", t(40)).unwrap();
        h.finish_operation(op, "ok", "{}", t(50)).unwrap();
        let running = h.begin_operation("drill", "{}", t(60)).unwrap();
        // Observations and journal steps are not events.
        h.record_observation(&obs(70, "late", 1, 2)).unwrap();
        h.journal_step(running, "import", "start", "{}", t(80)).unwrap();

        let events = h.recent_events(100).unwrap();
        let got: Vec<_> = events
            .iter()
            .map(|e| (e.at, e.kind.as_str(), e.summary.as_str()))
            .collect();
        let op_summary = format!("restore {op}: ok");
        let running_summary = format!("drill {running}: unfinished");
        assert_eq!(
            got,
            vec![
                (t(60), "operation", running_summary.as_str()),
                (t(50), "operation", op_summary.as_str()),
                (t(40), "notification", "notified: prod-late"),
                (t(30), "state", "prod: fresh -> late"),
                (t(10), "verification", "app.gz: ok"),
                (t(0), "state", "prod: fresh (first record)"),
            ]
        );
        assert_eq!(events[3].source.as_deref(), Some("prod"));
        assert_eq!(events[4].source.as_deref(), Some("/backup/runtime/backup/app.gz"));
        assert_eq!(events[4].details["details"]["tables"], 3);
        assert_eq!(events[1].details["details"]["source"], "prod");

        let limited = h.recent_events(2).unwrap();
        assert_eq!(limited, events[..2].to_vec());
        assert!(h.recent_events(0).unwrap().is_empty());

        let value = serde_json::to_value(&events[3]).unwrap();
        assert_eq!(value["at"], t(30).to_string());
        assert!(value["at"].as_str().unwrap().ends_with('Z'));
        assert_eq!(value["kind"], "state");
        assert_eq!(value["details"]["previous"], "fresh");
    }
}
