//! Importing a mysqldump / mariadb-dump `.gz` into an environment's database, the way
//! `gunzip | mariadb` would, with checks first and rows sent over several connections.
//!
//! Order of work:
//! 1. **Preflight, before anything is changed**: connect (server reachable, credentials valid),
//!    read [`server_info`], open the extra connections, refuse a non-empty database unless
//!    `replace`, and know the dump's [`DumpFacts`]: its largest statement (must fit the server's
//!    `max_allowed_packet`), its `DEFINER`s (another user needs SUPER / SET USER, else
//!    `rewrite_definers`), the databases it names and whether it stays inside its own
//!    ([`DumpFacts::containment`]). They come from the dump's verification when it was verified (kept
//!    in history; facts remembered before containment was checked do not count), else from one extra
//!    read of the whole dump (~0.5 s per 200 MB). Into an empty database that read is skipped: the same checks run on each statement as it
//!    comes, and a failing one empties the database again, which is exactly how it was. Without
//!    `prescan` (the restore, which rolls back by itself) they always run that way.
//! 2. With `replace`, [`drop_all`] empties the database — only once every check passed.
//! 3. The import: one ordered stream. Everything but row data (DDL, views, triggers, routines,
//!    events, `SET`s) runs on the main connection in dump order. With `connections` ≥ 2 the INSERTs
//!    go to that many worker connections; each worker first replays the session `SET`s seen so far
//!    (`SET NAMES`, `FOREIGN_KEY_CHECKS`, `UNIQUE_CHECKS`, `SQL_MODE`, `TIME_ZONE`…), so every
//!    connection sees the dump's session. Barriers keep the result identical to a sequential
//!    import: before `ALTER TABLE t …` (ENABLE KEYS) every INSERT into `t` is done, and before any
//!    other statement that may depend on data (triggers, views, routines, events, the end) every
//!    INSERT is done.
//!
//! Guarantees: nothing is changed when a preflight check fails; the dump is contained to the settings'
//! database ([`containment`]): its own `USE` / `CREATE DATABASE` / `DROP DATABASE`
//! are skipped (rows always go to the settings' database), and a statement reaching outside it (another
//! database, accounts, server settings, files) is refused with its line — up front when the dump's facts
//! are known or pre-scanned, else before it is sent; errors name the statement number, its line, its
//! table and the server's message; passwords never appear in errors. Memory: a bounded queue of
//! statements (about 2 per worker).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Instant;

use mysql::Conn;
use mysql::prelude::Queryable;
use serde::Serialize;

use super::DbError;
use super::connect::{ConnectError, ServerInfo, connect, server_info};
use super::containment::{self, Decision, Refusal};
use super::drop_all::{DropSummary, drop_all, object_counts};
use super::reader::{Parameterized, ReaderError, Statement, StatementKind, open_gz, to_parameterized};
use crate::env::dbphp::DbSettings;
use crate::progress::{Cancel, Progress, Update};

/// How to import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// Drop everything in the database first (after preflight passed).
    pub replace: bool,
    /// Rewrite other users' `DEFINER=…` as `DEFINER=CURRENT_USER` when the user may not set them.
    pub rewrite_definers: bool,
    /// Worker connections for the rows; 1 = everything on one connection, in dump order.
    pub connections: usize,
    /// Import over what the database holds, without refusing and without dropping: for a dump of
    /// definitions only (views, triggers, routines, events) over kept tables.
    pub keep_existing: bool,
    /// Read the whole dump once before changing anything, to refuse it up front (largest statement,
    /// DEFINERs, several databases). Without it the same checks run on each statement as it is read, and
    /// the import stops at the first that fails: for a caller that can undo a partial import (the
    /// restore's rollback) and saves that extra read of the dump.
    pub prescan: bool,
    /// The dump's facts, already known (from its verification): no pre-scan, same checks up front.
    pub known: Option<DumpFacts>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            replace: false,
            rewrite_definers: false,
            connections: 2,
            keep_existing: false,
            prescan: true,
            known: None,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportSummary {
    /// Statements sent to the server.
    pub statements: u64,
    /// `CREATE TABLE` statements run.
    pub tables: u64,
    /// Rows inserted (tuples of the INSERT statements).
    pub rows: u64,
    /// Rows inserted per table: what the restore's check compares with `COUNT(*)` afterwards.
    pub rows_per_table: BTreeMap<String, u64>,
    /// Size of the `.gz` file.
    pub bytes: u64,
    pub seconds: f64,
    /// What `replace` dropped first (`None` without `replace` or when the database was empty).
    pub dropped: Option<DropSummary>,
    /// `DEFINER` clauses rewritten to `CURRENT_USER`.
    pub definers_rewritten: u64,
}

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Read(#[from] ReaderError),
    #[error(
        "the database '{database}' is not empty ({objects} tables, views, routines or events); nothing was changed. Use --replace to drop everything in it before importing."
    )]
    NotEmpty { database: String, objects: usize },
    #[error(
        "the dump sets {definers} as DEFINER but '{user}' may not create objects for another user (needs SUPER or SET USER); nothing was changed. Use --rewrite-definers to make them DEFINER=CURRENT_USER, or import as a user with that privilege."
    )]
    ForeignDefiners { definers: String, user: String },
    #[error(
        "statement {number} (line {line}{table}) of '{dump}' is {size} bytes, more than the server's max_allowed_packet ({max} bytes); nothing was changed. Raise max_allowed_packet on the server (SET GLOBAL max_allowed_packet = 1073741824, or in my.cnf) and try again."
    )]
    TooBig {
        dump: PathBuf,
        number: u64,
        line: u64,
        /// `", table 't'"` or empty.
        table: String,
        size: u64,
        max: u64,
    },
    #[error("'{dump}' holds several databases ({names}); nothing was changed. Import a dump of a single database.")]
    SeveralDatabases { dump: PathBuf, names: String },
    #[error(
        "'{dump}' reaches outside its database at line {line} (statement {number}): {what}; nothing was changed. {guidance}"
    )]
    OutsideDatabase {
        dump: PathBuf,
        number: u64,
        line: u64,
        /// The statement kind and what it names, e.g. `DROP DATABASE of 'other'`.
        what: String,
        guidance: String,
    },
    #[error(
        "the server refused statement {number} of the dump (line {line}{}): {server_message}. The import stopped there and the database is incomplete; fix the dump or the server and import again with --replace.",
        table.as_ref().map(|t| format!(", table '{t}'")).unwrap_or_default()
    )]
    Statement {
        number: u64,
        line: u64,
        table: Option<String>,
        server_message: String,
    },
    #[error(
        "the import of '{dump}' was cancelled after {statements} statements; the database is incomplete. Import again with --replace."
    )]
    Cancelled { dump: PathBuf, statements: u64 },
}

impl ImportError {
    /// Whether the import was refused or failed because of the dump or the database's state
    /// (exit code 2), rather than of the configuration or the connection (exit code 3).
    pub fn is_refusal(&self) -> bool {
        !matches!(self, ImportError::Connect(_) | ImportError::Db(_))
    }

    /// Whether this is one of the preflight's refusals about the dump's content.
    fn is_preflight(&self) -> bool {
        matches!(
            self,
            ImportError::TooBig { .. }
                | ImportError::SeveralDatabases { .. }
                | ImportError::ForeignDefiners { .. }
                | ImportError::OutsideDatabase { .. }
        )
    }
}

/// What the import's preflight needs to know of a whole dump, whatever the server: found by the pre-scan,
/// or earlier by the verification of the same file (kept in history with its verdict), which saves the
/// import one read of the dump.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct DumpFacts {
    /// Size of the largest query as sent, with its statement number, line and table.
    pub largest_bytes: u64,
    pub largest_number: u64,
    pub largest_line: u64,
    pub largest_table: Option<String>,
    /// `user@host` of every DEFINER, in order of first appearance.
    pub definers: Vec<String>,
    /// Databases named by `USE` / `CREATE DATABASE`.
    pub databases: Vec<String>,
    /// The dump's own database: the one its first `DROP/CREATE/ALTER DATABASE` or `USE` names.
    #[serde(default)]
    pub own_database: Option<String>,
    /// Whether every statement stays inside the dump's own database. Facts remembered by an older Secours
    /// have [`Containment::Unchecked`]; the importer then checks the dump itself.
    #[serde(default)]
    pub containment: Containment,
}

/// Whether a whole dump stays inside its own database (see [`containment`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Containment {
    /// Not known: facts of part of a dump, or remembered before this was checked.
    #[default]
    Unchecked,
    /// Every statement was read and none reaches outside.
    Contained,
    /// The first statement that reaches outside.
    Outside(Outside),
}

/// A statement of the dump that reaches outside its database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Outside {
    pub number: u64,
    pub line: u64,
    #[serde(flatten)]
    pub refusal: Refusal,
}

impl std::fmt::Display for Outside {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {} (statement {}): {}. {}",
            self.line, self.number, self.refusal.what, self.refusal.guidance
        )
    }
}

/// What a restore's preflight says about a verified dump's containment: `Some(sentence)` when the dump
/// reaches outside its database (the import would refuse it at that statement), `None` when it stays
/// inside or when this is not known (facts remembered by an older Secours: the import checks it).
pub fn containment_problem(facts: &DumpFacts) -> Option<String> {
    facts
        .outside()
        .map(|o| format!("the dump reaches outside its database at {o}"))
}

impl DumpFacts {
    /// Takes one statement into account, and says what the import does with it. The exact size as sent
    /// is computed only for statements that could be larger than both the largest so far and
    /// `interesting` bytes (0: always).
    pub fn observe(&mut self, stmt: &Statement, interesting: u64) -> Decision {
        // A statement may be sent as hex (up to twice as long): measure only when it matters.
        let mut size = stmt.bytes.len() as u64;
        if size * 2 + 16 > self.largest_bytes && size * 2 + 16 > interesting {
            size = sent_len(stmt);
        }
        if size > self.largest_bytes {
            self.largest_bytes = size;
            self.largest_number = stmt.number;
            self.largest_line = stmt.line;
            self.largest_table = stmt.table.clone();
        }
        match stmt.kind {
            StatementKind::Insert => {}
            StatementKind::Use | StatementKind::CreateDatabase => {
                if let Some(db) = &stmt.table
                    && !self.databases.contains(db)
                {
                    self.databases.push(db.clone());
                }
            }
            _ => {
                if let Some(d) = find_definer(&stmt.bytes) {
                    let name = d.name();
                    if !self.definers.contains(&name) {
                        self.definers.push(name);
                    }
                }
            }
        }
        self.judge(stmt)
    }

    /// The containment part of [`DumpFacts::observe`] alone: what the import does with `stmt` (run, skip
    /// or refuse); the first refusal is kept in [`DumpFacts::containment`].
    pub fn judge(&mut self, stmt: &Statement) -> Decision {
        let decision = containment::follow(&mut self.own_database, &stmt.bytes, stmt.delimiter_is_semicolon);
        if let Decision::Refuse(r) = &decision
            && !matches!(self.containment, Containment::Outside(_))
        {
            self.containment = Containment::Outside(Outside {
                number: stmt.number,
                line: stmt.line,
                refusal: r.clone(),
            });
        }
        decision
    }

    /// The statement that reaches outside the dump's database, if one was seen.
    pub fn outside(&self) -> Option<&Outside> {
        match &self.containment {
            Containment::Outside(o) => Some(o),
            _ => None,
        }
    }

    /// The whole dump was observed: containment is known.
    fn finished(mut self) -> Self {
        if self.containment == Containment::Unchecked {
            self.containment = Containment::Contained;
        }
        self
    }

    /// Refuses what the statements seen so far make impossible for the importing user on this server;
    /// else says whether DEFINERs are rewritten.
    fn verdict(&self, dump: &Path, info: &ServerInfo, options: &ImportOptions) -> Result<bool, ImportError> {
        if let Some(o) = self.outside() {
            return Err(outside_error(dump, o.number, o.line, &o.refusal));
        }
        // The query travels in one packet with a 1-byte command header.
        if self.largest_bytes + 1 > info.max_allowed_packet {
            return Err(ImportError::TooBig {
                dump: dump.to_owned(),
                number: self.largest_number,
                line: self.largest_line,
                table: self
                    .largest_table
                    .as_ref()
                    .map(|t| format!(", table '{t}'"))
                    .unwrap_or_default(),
                size: self.largest_bytes,
                max: info.max_allowed_packet,
            });
        }
        if self.databases.len() > 1 {
            return Err(ImportError::SeveralDatabases {
                dump: dump.to_owned(),
                names: quoted_list(&self.databases),
            });
        }
        // CURRENT_USER() reads `user@host` without quotes, as the facts keep them.
        let foreign: Vec<String> = self
            .definers
            .iter()
            .filter(|d| **d != info.current_user)
            .cloned()
            .collect();
        let rewrite = !info.has_super_or_set_user && !foreign.is_empty();
        if rewrite && !options.rewrite_definers {
            return Err(ImportError::ForeignDefiners {
                definers: quoted_list(&foreign),
                user: info.current_user.clone(),
            });
        }
        Ok(rewrite)
    }

    /// The facts of a whole dump, read once from `reader`.
    pub fn of_dump<R: std::io::Read>(reader: super::reader::DumpReader<R>) -> Result<DumpFacts, ReaderError> {
        Self::of_dump_with(reader, |_| {})
    }

    /// [`DumpFacts::of_dump`], showing every statement to `also` too: the verification counts each table's
    /// rows in the same read ([`crate::backup::verify::DumpShape`]).
    pub fn of_dump_with<R: std::io::Read>(
        reader: super::reader::DumpReader<R>,
        mut also: impl FnMut(&Statement),
    ) -> Result<DumpFacts, ReaderError> {
        let mut facts = DumpFacts::default();
        for stmt in reader {
            let stmt = stmt?;
            facts.observe(&stmt, 0);
            also(&stmt);
        }
        Ok(facts.finished())
    }
}

fn outside_error(dump: &Path, number: u64, line: u64, refusal: &Refusal) -> ImportError {
    ImportError::OutsideDatabase {
        dump: dump.to_owned(),
        number,
        line,
        what: refusal.what.clone(),
        guidance: refusal.guidance.clone(),
    }
}

/// Imports the `.gz` dump `dump` into the database of `settings`. See the module documentation.
pub fn import_dump(
    settings: &DbSettings,
    dump: &Path,
    options: &ImportOptions,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<ImportSummary, ImportError> {
    let started = Instant::now();
    let workers = if options.connections <= 1 {
        0
    } else {
        options.connections
    };

    // --- Preflight: nothing is changed before all of this passes.
    let mut main = connect(settings)?;
    let info = server_info(&mut main)?;
    let mut pool = Vec::with_capacity(workers);
    for _ in 0..workers {
        pool.push(connect(settings)?);
    }
    let counts = object_counts(&mut main)?;
    if counts.total() > 0 && !options.replace && !options.keep_existing {
        return Err(ImportError::NotEmpty {
            database: settings.name.clone().unwrap_or_default(),
            objects: counts.total(),
        });
    }
    // An empty database needs no pre-scan: if a check fails half-way, emptying it again puts it back
    // exactly as it was.
    let empty_before = counts.total() == 0 && !options.keep_existing;
    // Facts remembered before containment was checked are not enough: the dump is read again.
    let known = options
        .known
        .as_ref()
        .filter(|f| f.containment != Containment::Unchecked);
    let (rewrite, inflight) = if let Some(facts) = known {
        (facts.verdict(dump, &info, options)?, false)
    } else if options.prescan && !empty_before {
        (
            scan(dump, &info, progress, cancel)?.verdict(dump, &info, options)?,
            false,
        )
    } else {
        // Another user's DEFINER is rewritten as it comes (or refused by the check on each statement).
        let rewrite = !info.has_super_or_set_user && options.rewrite_definers;
        (rewrite, true)
    };
    if cancel.is_cancelled() {
        return Err(ImportError::Cancelled {
            dump: dump.to_owned(),
            statements: 0,
        });
    }

    // --- Destructive from here on.
    let dropped = if options.replace && !options.keep_existing && counts.total() > 0 {
        Some(drop_all(&mut main)?)
    } else {
        None
    };
    let mut summary = ImportSummary {
        statements: 0,
        tables: 0,
        rows: 0,
        rows_per_table: BTreeMap::new(),
        bytes: std::fs::metadata(dump).map(|m| m.len()).unwrap_or(0),
        seconds: 0.0,
        dropped,
        definers_rewritten: 0,
    };
    let run = Run {
        dump,
        current_user: &info.current_user,
        rewrite,
        progress,
        cancel,
        inflight,
        seen: std::cell::RefCell::new(DumpFacts::default()),
        info: &info,
        options,
    };
    let ran = if pool.is_empty() {
        run.sequential(&mut main, &mut summary)
    } else {
        run.parallel(&mut main, pool, &mut summary)
    };
    if let Err(e) = ran {
        if empty_before && options.prescan && e.is_preflight() {
            // A check of the pre-scan, made as the statements came: the promise is still "nothing
            // changed", so what was created goes (the connection may be busy after an error: a new one).
            let mut conn = connect(settings)?;
            drop_all(&mut conn)?;
        }
        return Err(e);
    }
    // Dumps run `SET autocommit=0` and commit per table; a dump cut after its last INSERT would
    // otherwise lose those rows when the connection closes (the `mariadb` client would, silently).
    main.query_drop("COMMIT")
        .map_err(DbError::query("commit the imported rows"))?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

fn quoted_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("'{s}'")).collect();
    quoted.join(", ")
}

/// The pre-scan: largest statement, foreign definers, databases named.
fn scan(dump: &Path, info: &ServerInfo, progress: &dyn Progress, cancel: &Cancel) -> Result<DumpFacts, ImportError> {
    let mut reader = open_gz(dump)?;
    let total = reader.compressed_len();
    let mut found = DumpFacts::default();
    let mut last_report = 0u64;
    while let Some(stmt) = reader.next() {
        let stmt = stmt?;
        if cancel.is_cancelled() {
            return Err(ImportError::Cancelled {
                dump: dump.to_owned(),
                statements: 0,
            });
        }
        found.observe(&stmt, info.max_allowed_packet / 2);
        if found.outside().is_some() {
            // Refused anyway: no need to read the rest.
            return Ok(found);
        }
        let done = reader.compressed_bytes();
        if done - last_report >= 1 << 20 {
            last_report = done;
            progress.update(Update {
                step: "import-check",
                done,
                total,
                detail: None,
            });
        }
    }
    Ok(found.finished())
}

/// A `DEFINER=user@host` clause found in a statement.
#[derive(Debug, PartialEq, Eq)]
struct Definer {
    /// Byte range of the whole clause, from `DEFINER` to the end of the host.
    start: usize,
    end: usize,
    user: String,
    host: String,
}

impl Definer {
    fn name(&self) -> String {
        format!("{}@{}", self.user, self.host)
    }

    /// `CURRENT_USER()` reads `user@host` without quotes.
    fn is_current(&self, current_user: &str) -> bool {
        self.name() == current_user
    }
}

/// The first `DEFINER=user@host` clause of a statement (the clause always comes before any body),
/// or `None` (also for `DEFINER=CURRENT_USER`).
fn find_definer(bytes: &[u8]) -> Option<Definer> {
    const KEY: &[u8] = b"DEFINER=";
    let start = bytes.windows(KEY.len()).position(|w| w.eq_ignore_ascii_case(KEY))?;
    let (user, after_user) = name_part(bytes, start + KEY.len())?;
    if bytes.get(after_user) != Some(&b'@') {
        return None;
    }
    let (host, end) = name_part(bytes, after_user + 1)?;
    Some(Definer { start, end, user, host })
}

/// A quoted (`` `…` ``, `'…'`, `"…"`, doubled quote inside) or plain account name part at `i`;
/// returns the unquoted text and the index after it.
fn name_part(bytes: &[u8], i: usize) -> Option<(String, usize)> {
    let first = *bytes.get(i)?;
    if matches!(first, b'`' | b'\'' | b'"') {
        let mut out = Vec::new();
        let mut j = i + 1;
        loop {
            let b = *bytes.get(j)?;
            if b == first {
                if bytes.get(j + 1) == Some(&first) {
                    out.push(first);
                    j += 2;
                    continue;
                }
                return Some((String::from_utf8_lossy(&out).into_owned(), j + 1));
            }
            out.push(b);
            j += 1;
        }
    }
    let len = bytes[i..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'.' | b'-' | b'%'))
        .count();
    if len == 0 {
        return None;
    }
    Some((String::from_utf8_lossy(&bytes[i..i + len]).into_owned(), i + len))
}

/// Replaces another user's DEFINER clause by `DEFINER=CURRENT_USER`; returns whether it did.
fn rewrite_definer(stmt: &mut Statement, current_user: &str) -> bool {
    match find_definer(&stmt.bytes) {
        Some(d) if !d.is_current(current_user) => {
            stmt.bytes
                .splice(d.start..d.end, b"DEFINER=CURRENT_USER".iter().copied());
            true
        }
        _ => false,
    }
}

/// Whether a session `SET` must be replayed on the worker connections. `autocommit` is not: the
/// workers keep autocommit on so that each INSERT is committed on its own connection (the dump's
/// `COMMIT` runs on the main connection only).
fn replay_on_workers(stmt: &Statement) -> bool {
    stmt.kind == StatementKind::SessionSetting && !contains_ci(&stmt.bytes, b"autocommit")
}

fn contains_ci(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
}

fn statement_error(stmt: &Statement, error: mysql::Error) -> ImportError {
    let server_message = match error {
        mysql::Error::MySqlError(e) => format!("ERROR {} ({}): {}", e.code, e.state, e.message),
        other => other.to_string(),
    };
    ImportError::Statement {
        number: stmt.number,
        line: stmt.line,
        table: stmt.table.clone(),
        server_message,
    }
}

/// The session statements to replay on workers, in dump order. Append-only: a job names how many
/// of them must be applied before it, so each worker replays each statement once (O(n) in all).
type SessionLog = std::sync::RwLock<Vec<String>>;

/// One INSERT for a worker, with how many session statements must be applied before it.
struct Job {
    stmt: Statement,
    session_len: usize,
}

/// What a worker reports for each job: the table it was for, and the outcome.
type Done = (Option<String>, Result<(), ImportError>);

/// The import pass, after preflight.
struct Run<'a> {
    dump: &'a Path,
    current_user: &'a str,
    rewrite: bool,
    progress: &'a dyn Progress,
    cancel: &'a Cancel,
    /// Without the pre-scan: its checks are made on each statement as it is read.
    inflight: bool,
    /// The statements seen so far (the dump's own database, and with `inflight` the pre-scan's facts).
    seen: std::cell::RefCell<DumpFacts>,
    info: &'a ServerInfo,
    options: &'a ImportOptions,
}

impl Run<'_> {
    fn cancelled(&self, summary: &ImportSummary) -> ImportError {
        ImportError::Cancelled {
            dump: self.dump.to_owned(),
            statements: summary.statements,
        }
    }

    /// What to do with `stmt`: `Ok(true)` to run it, `Ok(false)` to skip it (the dump's own database
    /// statements), an error when it reaches outside the database or (without the pre-scan) fails one
    /// of the pre-scan's checks. Nothing has been sent for `stmt` yet.
    fn check(&self, stmt: &Statement) -> Result<bool, ImportError> {
        let mut seen = self.seen.borrow_mut();
        let decision = if self.inflight {
            let decision = seen.observe(stmt, self.info.max_allowed_packet / 2);
            seen.verdict(self.dump, self.info, self.options)?;
            decision
        } else {
            seen.judge(stmt)
        };
        match decision {
            Decision::Run => Ok(true),
            Decision::Skip { .. } | Decision::SkipGtidPurged => Ok(false),
            Decision::Refuse(r) => Err(outside_error(self.dump, stmt.number, stmt.line, &r)),
        }
    }

    /// The next statement, rewritten if needed, counted in the summary.
    fn prepare(&self, mut stmt: Statement, summary: &mut ImportSummary) -> Statement {
        if self.rewrite && stmt.kind != StatementKind::Insert && rewrite_definer(&mut stmt, self.current_user) {
            summary.definers_rewritten += 1;
        }
        summary.statements += 1;
        summary.rows += stmt.rows;
        if matches!(stmt.kind, StatementKind::Insert | StatementKind::CreateTable)
            && let Some(table) = &stmt.table
        {
            // A table created without rows is listed too: the check expects it empty.
            *summary.rows_per_table.entry(table.clone()).or_default() += stmt.rows;
        }
        if stmt.kind == StatementKind::CreateTable {
            summary.tables += 1;
        }
        stmt
    }

    /// Reports progress every 256 KiB of the file and whenever the table changes.
    fn report(&self, reader: &super::reader::GzDumpReader, table: &Option<String>, last: &mut (u64, Option<String>)) {
        let done = reader.compressed_bytes();
        if done - last.0 >= 256 * 1024 || (table.is_some() && *table != last.1) {
            *last = (done, table.clone());
            self.progress.update(Update {
                step: "import",
                done,
                total: reader.compressed_len(),
                detail: table.clone(),
            });
        }
    }

    fn finish(&self, reader: &super::reader::GzDumpReader) {
        let total = reader.compressed_len();
        self.progress.update(Update {
            step: "import",
            done: total.unwrap_or_else(|| reader.compressed_bytes()),
            total,
            detail: None,
        });
    }

    /// Everything on one connection, in dump order (what `gunzip | mariadb` does).
    fn sequential(&self, conn: &mut Conn, summary: &mut ImportSummary) -> Result<(), ImportError> {
        let mut reader = open_gz(self.dump)?;
        let mut last = (0, None);
        while let Some(stmt) = reader.next() {
            let stmt = stmt?;
            if self.cancel.is_cancelled() {
                return Err(self.cancelled(summary));
            }
            if !self.check(&stmt)? {
                continue;
            }
            let stmt = self.prepare(stmt, summary);
            self.report(&reader, &stmt.table, &mut last);
            if stmt.kind == StatementKind::Insert {
                send_insert(conn, &stmt)
            } else {
                conn.query_drop(stmt.to_query())
            }
            .map_err(|e| statement_error(&stmt, e))?;
        }
        self.finish(&reader);
        Ok(())
    }

    /// Rows on `pool`, everything else on `main`, with barriers (see the module documentation).
    fn parallel(&self, main: &mut Conn, pool: Vec<Conn>, summary: &mut ImportSummary) -> Result<(), ImportError> {
        let workers = pool.len();
        let (job_tx, job_rx) = mpsc::sync_channel::<Job>(workers);
        let job_rx = Arc::new(std::sync::Mutex::new(job_rx));
        let (done_tx, done_rx) = mpsc::channel::<Done>();
        let session = SessionLog::default();
        std::thread::scope(|scope| {
            for conn in pool {
                let rx = Arc::clone(&job_rx);
                let tx = done_tx.clone();
                let cancel = self.cancel.clone();
                let session = &session;
                scope.spawn(move || worker(conn, &rx, session, &tx, &cancel));
            }
            drop(done_tx);
            let mut state = Dispatch {
                job_tx: Some(job_tx),
                done_rx: &done_rx,
                in_flight: HashMap::new(),
                total_in_flight: 0,
                limit: workers * 2,
            };
            let result = self.dispatch(main, &mut state, &session, summary);
            // Workers stop when the job queue closes; wait for what they still do.
            state.job_tx = None;
            let drained = state.wait_all();
            result.and(drained)
        })
    }

    fn dispatch(
        &self,
        main: &mut Conn,
        state: &mut Dispatch<'_>,
        session: &SessionLog,
        summary: &mut ImportSummary,
    ) -> Result<(), ImportError> {
        let mut reader = open_gz(self.dump)?;
        let mut last = (0, None);
        let mut session_len = 0;
        while let Some(stmt) = reader.next() {
            let stmt = stmt?;
            if self.cancel.is_cancelled() {
                return Err(self.cancelled(summary));
            }
            // The dump's own USE / CREATE DATABASE are skipped: rows go to the target (see module docs).
            if !self.check(&stmt)? {
                continue;
            }
            match stmt.kind {
                // LOCK TABLES would block the worker connections (a lock belongs to one
                // session): skipped when inserting in parallel; the barriers give the order.
                StatementKind::LockTables | StatementKind::UnlockTables => continue,
                _ => {}
            }
            let stmt = self.prepare(stmt, summary);
            self.report(&reader, &stmt.table, &mut last);
            if stmt.kind == StatementKind::Insert {
                state.send(Job { stmt, session_len })?;
                continue;
            }
            match barrier_for(&stmt) {
                Barrier::None => {}
                Barrier::Table => {
                    if let Some(t) = &stmt.table {
                        state.wait_table(t)?;
                    }
                }
                Barrier::All => state.wait_all()?,
            }
            main.query_drop(stmt.to_query())
                .map_err(|e| statement_error(&stmt, e))?;
            if replay_on_workers(&stmt) {
                // A poisoned lock only means a worker panicked; the list itself is intact.
                let mut log = session.write().unwrap_or_else(std::sync::PoisonError::into_inner);
                log.push(stmt.to_query().into_owned());
                session_len = log.len();
            }
        }
        state.wait_all()?;
        self.finish(&reader);
        Ok(())
    }
}

/// What must be finished before a non-INSERT statement runs on the main connection.
#[derive(Debug, PartialEq, Eq)]
enum Barrier {
    /// Nothing: the statement cannot depend on rows in flight.
    None,
    /// Every INSERT into the statement's table.
    Table,
    /// Every INSERT.
    All,
}

fn barrier_for(stmt: &Statement) -> Barrier {
    match stmt.kind {
        // Session settings reach workers through the replay list, in order; a new table cannot
        // depend on rows; the dump's `COMMIT` concerns the main connection only.
        StatementKind::SessionSetting | StatementKind::CreateTable => Barrier::None,
        StatementKind::DropTable => Barrier::Table,
        StatementKind::AlterTable if contains_ci(&stmt.bytes, b"DISABLE KEYS") => Barrier::None,
        StatementKind::AlterTable => Barrier::Table,
        StatementKind::Other if stmt.bytes.eq_ignore_ascii_case(b"commit") => Barrier::None,
        _ => Barrier::All,
    }
}

/// The main thread's side of the worker pool.
struct Dispatch<'a> {
    job_tx: Option<mpsc::SyncSender<Job>>,
    done_rx: &'a mpsc::Receiver<Done>,
    /// INSERTs sent and not yet reported, per table.
    in_flight: HashMap<Option<String>, usize>,
    total_in_flight: usize,
    /// At most this many INSERTs in flight (bounds memory).
    limit: usize,
}

impl Dispatch<'_> {
    fn send(&mut self, job: Job) -> Result<(), ImportError> {
        while self.total_in_flight >= self.limit {
            self.receive_one()?;
        }
        *self.in_flight.entry(job.stmt.table.clone()).or_default() += 1;
        self.total_in_flight += 1;
        let Some(tx) = &self.job_tx else {
            return Ok(());
        };
        if let Err(mpsc::SendError(job)) = tx.send(job) {
            // Every worker is gone: they only stop early after reporting an error.
            self.total_in_flight = 0;
            self.in_flight.clear();
            self.receive_pending()?;
            return Err(ImportError::Statement {
                number: job.stmt.number,
                line: job.stmt.line,
                table: job.stmt.table.clone(),
                server_message: "every worker connection had stopped".to_owned(),
            });
        }
        Ok(())
    }

    fn receive_one(&mut self) -> Result<(), ImportError> {
        let Ok((table, result)) = self.done_rx.recv() else {
            // All workers are gone and nothing more will come.
            self.total_in_flight = 0;
            self.in_flight.clear();
            return Ok(());
        };
        self.total_in_flight = self.total_in_flight.saturating_sub(1);
        if let Some(n) = self.in_flight.get_mut(&table) {
            *n = n.saturating_sub(1);
        }
        result
    }

    /// Reports any error already sent by a worker.
    fn receive_pending(&mut self) -> Result<(), ImportError> {
        while let Ok((_, result)) = self.done_rx.try_recv() {
            result?;
        }
        Ok(())
    }

    fn wait_table(&mut self, table: &str) -> Result<(), ImportError> {
        let key = Some(table.to_owned());
        while self.in_flight.get(&key).is_some_and(|&n| n > 0) {
            self.receive_one()?;
        }
        Ok(())
    }

    fn wait_all(&mut self) -> Result<(), ImportError> {
        let mut first = Ok(());
        while self.total_in_flight > 0 {
            if let Err(e) = self.receive_one()
                && first.is_ok()
            {
                first = Err(e);
            }
        }
        first
    }
}

/// A worker: takes INSERTs from the shared queue until it closes; after an error or a cancel it
/// keeps taking jobs without running them (answering each), so the dispatcher never blocks.
fn worker(
    mut conn: Conn,
    jobs: &std::sync::Mutex<mpsc::Receiver<Job>>,
    session: &SessionLog,
    done: &mpsc::Sender<Done>,
    cancel: &Cancel,
) {
    let mut applied = 0;
    let mut failed = false;
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let table = job.stmt.table.clone();
        let result = if failed || cancel.is_cancelled() {
            Ok(())
        } else {
            run_job(&mut conn, &job, session, &mut applied)
        };
        failed |= result.is_err();
        if done.send((table, result)).is_err() {
            return;
        }
    }
}

fn run_job(conn: &mut Conn, job: &Job, session: &SessionLog, applied: &mut usize) -> Result<(), ImportError> {
    if *applied < job.session_len {
        // Copied out so the dispatcher is never blocked behind a running statement.
        let pending: Vec<String> = session
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(*applied..job.session_len)
            .unwrap_or_default()
            .to_vec();
        for sql in &pending {
            conn.query_drop(sql).map_err(|e| statement_error(&job.stmt, e))?;
        }
        *applied = job.session_len;
    }
    // Two workers inserting into one table can deadlock (InnoDB picks a victim and rolls back its
    // statement). Workers run in autocommit, so the victim's whole transaction is that one INSERT:
    // sending it again is exact, as InnoDB's message itself says ("try restarting transaction").
    let mut attempt = 0;
    loop {
        match send_insert(conn, &job.stmt) {
            Ok(()) => return Ok(()),
            Err(mysql::Error::MySqlError(e)) if is_retryable(e.code) && attempt < RETRIES => {
                attempt += 1;
                log::info!(
                    "statement {} (table {:?}) hit {} ({}); trying again ({attempt}/{RETRIES})",
                    job.stmt.number,
                    job.stmt.table,
                    e.code,
                    e.message
                );
                std::thread::sleep(std::time::Duration::from_millis(50 * u64::from(attempt)));
            }
            Err(e) => return Err(statement_error(&job.stmt, e)),
        }
    }
}

/// How an INSERT travels.
enum InsertForm<'a> {
    /// UTF-8 (most INSERTs): the statement as it is.
    Text(&'a str),
    /// String literals that are not UTF-8 (BLOBs) as the parameters of a prepared statement, verbatim:
    /// half the bytes of hex literals on the wire, and nothing for the server to decode (see
    /// [`to_parameterized`]).
    Prepared(Parameterized),
    /// Neither applies (another introducer than `_binary`, too many literals): hex literals, via
    /// [`Statement::to_query`].
    Hex,
}

/// Chooses the form of an INSERT, checking its bytes for UTF-8 once (`to_parameterized` checks again
/// only what it is given, which is then known not to be UTF-8 and fails at its first such byte).
fn insert_form(stmt: &Statement) -> InsertForm<'_> {
    if let Ok(text) = std::str::from_utf8(&stmt.bytes) {
        return InsertForm::Text(text);
    }
    to_parameterized(&stmt.bytes).map_or(InsertForm::Hex, InsertForm::Prepared)
}

/// Sends one INSERT in its [`InsertForm`].
fn send_insert(conn: &mut Conn, stmt: &Statement) -> Result<(), mysql::Error> {
    match insert_form(stmt) {
        InsertForm::Text(text) => return conn.query_drop(text),
        InsertForm::Prepared(p) => match conn.prep(&p.text) {
            Ok(prepared) => {
                let params = mysql::Params::Positional(p.params.into_iter().map(mysql::Value::Bytes).collect());
                let result = conn.exec_drop(&prepared, params);
                // Closed at once: each INSERT is a new text, and the server limits open statements.
                let closed = conn.close(prepared);
                return result.and(closed);
            }
            // The crate read `:name` parameters into the text (only possible in a hand-made dump).
            Err(mysql::Error::DriverError(mysql::DriverError::MixedParams)) => {}
            Err(e) => return Err(e),
        },
        InsertForm::Hex => {}
    }
    conn.query_drop(stmt.to_query())
}

/// The size of what [`send_insert`] (or a plain query) puts in one packet for `stmt`.
fn sent_len(stmt: &Statement) -> u64 {
    if stmt.kind != StatementKind::Insert {
        return stmt.to_query().len() as u64;
    }
    match insert_form(stmt) {
        InsertForm::Text(text) => text.len() as u64,
        // Each parameter: its bytes plus a length prefix of at most 9 bytes.
        InsertForm::Prepared(p) => (p.text.len() + p.params.iter().map(|v| v.len() + 9).sum::<usize>()) as u64,
        InsertForm::Hex => stmt.to_query().len() as u64,
    }
}

/// How many times a worker sends an INSERT again after a deadlock or a lock wait timeout.
const RETRIES: u32 = 8;

/// ER_LOCK_DEADLOCK (1213) and ER_LOCK_WAIT_TIMEOUT (1205): the statement was rolled back, nothing else.
fn is_retryable(code: u16) -> bool {
    code == 1213 || code == 1205
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards the deadlock retry seen in the restore benchmark (ERROR 1213 on two workers inserting into
    // one table): only the errors that roll back just the statement are sent again.
    #[test]
    fn only_deadlocks_and_lock_timeouts_are_retried() {
        assert!(is_retryable(1213) && is_retryable(1205));
        for code in [1062, 1064, 1146, 2006, 2013] {
            assert!(!is_retryable(code), "{code}");
        }
    }

    fn stmt(kind: StatementKind, sql: &str) -> Statement {
        Statement {
            bytes: sql.as_bytes().to_vec(),
            number: 7,
            line: 42,
            kind,
            table: Some("t".into()),
            rows: 0,
            delimiter_is_semicolon: true,
        }
    }

    // Guards the DEFINER parsing used by preflight: quoted, plain, with doubled quotes, and
    // CURRENT_USER (which needs no privilege).
    #[test]
    fn definers_are_found_in_dump_forms() {
        let d = find_definer(b"/*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */").unwrap();
        assert_eq!((d.user.as_str(), d.host.as_str()), ("root", "localhost"));
        assert!(!d.is_current("app@%"));
        assert!(d.is_current("root@localhost"));
        let d = find_definer(b"CREATE DEFINER='a''b'@'%' PROCEDURE p() SELECT 1").unwrap();
        assert_eq!(d.name(), "a'b@%");
        let d = find_definer(b"CREATE definer=app@localhost TRIGGER x").unwrap();
        assert_eq!(d.name(), "app@localhost");
        assert_eq!(
            find_definer(b"CREATE DEFINER=CURRENT_USER PROCEDURE p() SELECT 1"),
            None
        );
        assert_eq!(find_definer(b"CREATE TABLE t (x INT)"), None);
    }

    // Guards --rewrite-definers: only the clause changes, the body keeps its text.
    #[test]
    fn rewriting_replaces_only_the_clause() {
        let mut s = stmt(
            StatementKind::CreateTrigger,
            "/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER x BEFORE INSERT ON t FOR EACH ROW SET @a = 'DEFINER=`b`@`c`' */",
        );
        assert!(rewrite_definer(&mut s, "app@%"));
        assert_eq!(
            String::from_utf8(s.bytes.clone()).unwrap(),
            "/*!50003 CREATE*/ /*!50017 DEFINER=CURRENT_USER*/ /*!50003 TRIGGER x BEFORE INSERT ON t FOR EACH ROW SET @a = 'DEFINER=`b`@`c`' */"
        );
        assert!(!rewrite_definer(&mut s, "app@%"));
        let mut own = stmt(
            StatementKind::CreateRoutine,
            "CREATE DEFINER=`app`@`%` PROCEDURE p() SELECT 1",
        );
        assert!(!rewrite_definer(&mut own, "app@%"));
    }

    #[test]
    fn barriers_and_replay_follow_the_statement_kind() {
        assert_eq!(
            barrier_for(&stmt(
                StatementKind::AlterTable,
                "/*!40000 ALTER TABLE `t` DISABLE KEYS */"
            )),
            Barrier::None
        );
        assert_eq!(
            barrier_for(&stmt(
                StatementKind::AlterTable,
                "/*!40000 ALTER TABLE `t` ENABLE KEYS */"
            )),
            Barrier::Table
        );
        assert_eq!(barrier_for(&stmt(StatementKind::Other, "commit")), Barrier::None);
        assert_eq!(
            barrier_for(&stmt(StatementKind::DropTable, "DROP TABLE IF EXISTS `t`")),
            Barrier::Table
        );
        assert_eq!(
            barrier_for(&stmt(StatementKind::CreateTable, "CREATE TABLE `u` (x INT)")),
            Barrier::None
        );
        assert_eq!(
            barrier_for(&stmt(StatementKind::CreateTrigger, "CREATE TRIGGER …")),
            Barrier::All
        );
        assert_eq!(
            barrier_for(&stmt(StatementKind::CreateView, "CREATE VIEW …")),
            Barrier::All
        );
        assert!(replay_on_workers(&stmt(
            StatementKind::SessionSetting,
            "/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */"
        )));
        assert!(!replay_on_workers(&stmt(
            StatementKind::SessionSetting,
            "set autocommit=0"
        )));
        assert!(!replay_on_workers(&stmt(StatementKind::Other, "commit")));
    }

    // Guards history written before containment was checked: those facts still load, say nothing is
    // known (so the importer reads the dump again), and new facts keep the first refusal with its line.
    #[test]
    fn facts_remember_containment_and_old_facts_still_load() {
        let old = r#"{"largest_bytes":10,"largest_number":1,"largest_line":1,"largest_table":null,"definers":[],"databases":["prodapp"]}"#;
        let facts: DumpFacts = serde_json::from_str(old).unwrap();
        assert_eq!(facts.containment, Containment::Unchecked);
        assert_eq!(containment_problem(&facts), None);

        let dump = b"/*!40000 DROP DATABASE IF EXISTS `prodapp`*/;\nCREATE DATABASE `prodapp`;\nUSE `prodapp`;\nCREATE TABLE t (x INT);\nDROP DATABASE other;\nGRANT ALL ON *.* TO x;\n";
        let facts = DumpFacts::of_dump(crate::db::reader::DumpReader::new(&dump[..])).unwrap();
        assert_eq!(facts.own_database.as_deref(), Some("prodapp"));
        let outside = facts.outside().unwrap();
        assert_eq!((outside.number, outside.line), (5, 5));
        assert_eq!(outside.refusal.what, "DROP DATABASE of 'other'");
        let problem = containment_problem(&facts).unwrap();
        assert!(
            problem.contains("line 5") && problem.contains("DROP DATABASE of 'other'"),
            "{problem}"
        );
        let again: DumpFacts = serde_json::from_str(&serde_json::to_string(&facts).unwrap()).unwrap();
        assert_eq!(again, facts);

        let clean = DumpFacts::of_dump(crate::db::reader::DumpReader::new(
            &b"USE `prodapp`;\nCREATE TABLE t (x INT);\n"[..],
        ))
        .unwrap();
        assert_eq!(clean.containment, Containment::Contained);
        assert_eq!(containment_problem(&clean), None);
    }

    #[test]
    fn statement_errors_name_number_line_table_and_server_text() {
        let e = statement_error(
            &stmt(StatementKind::Insert, "INSERT INTO t VALUES (1"),
            mysql::Error::MySqlError(mysql::MySqlError {
                state: "42000".into(),
                message: "You have an error in your SQL syntax".into(),
                code: 1064,
            }),
        );
        let text = e.to_string();
        assert!(
            text.contains("statement 7") && text.contains("line 42") && text.contains("table 't'"),
            "{text}"
        );
        assert!(text.contains("ERROR 1064") && text.contains("SQL syntax"), "{text}");
        assert!(e.is_refusal());
    }
}
