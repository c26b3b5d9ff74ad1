//! The standby made ready ahead of time: each new verified pair is restored *beside* the restore target,
//! never onto it, so that every hour is a rehearsal and the switch-over only swaps.
//!
//! One cycle ([`cycle`], run by `secours standby` and, in a process of its own at low priority, by the app):
//! - picks the pair a restore would take ("latest"); nothing to do when it is the pre-staged one, or
//!   one already found unrestorable, or not verified ok;
//! - builds it in the slot the ready pair does not use (`<root>/.secours-next/a` or `b`, beside `web/`,
//!   0700): the media extracted into `<slot>/media/` by the restore's extraction (modes normalised, given
//!   to `[restore] owner` when Secours may do so without asking: as root or as that user; otherwise the
//!   switch-over gives them in its one administrator request); the dump imported into a shadow database
//!   (`<db>_next` or `<db>_next2`, or `_secours_next…` when that name is too long or taken by a database
//!   Secours did not make) by the restore's importer, with the same containment, on one connection;
//! - checks it as a restore does (rows per table equal the dump's, files equal the archive's), keeps the
//!   shadow database's views, triggers, routines and events in `<slot>/definitions.gz`, then records it
//!   as ready (see [`crate::store::standby`]) and only then removes the previously ready slot.
//!
//! Guarantees:
//! - the target (its database and its web folder) is never touched; a cycle touches only databases it
//!   created (named in the record before they exist) and folders under `.secours-next`;
//! - the ready pair is replaced only by a proven one; a cycle killed at any point leaves the ready pair as
//!   it was and its half-built slot is removed by the next cycle;
//! - it waits while a restore runs (the restore's lock) and does nothing while one is unfinished;
//! - a pair that verifies but does not restore here (the server refuses a statement, the check finds other
//!   counts, the archive would leave the standby without media) is recorded in history as an
//!   `unrestorable` prestage with the server's message: the status turns `unrestorable` (exit 2) until a
//!   newer pair is proven.
//!
//! The switch-over ([`move_in`], called by the restore's database step when the chosen pair is the
//! pre-staged one) moves the shadow's tables into the target in one `RENAME TABLE` and recreates the views,
//! triggers, routines and events; the restore's media step renames the staged folder into its staging.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use mysql::prelude::Queryable;
use serde::Serialize;

use super::media::{self, MediaError};
use super::owner::{self, AdminOp};
use super::snapshot::{create_beside, is_denied, recreate_definitions, rename_all, schema_exists};
use super::sources::{self, SourceSpec};
use super::transaction::{self, Kind};
use crate::backup::inspect::{Pair, check_unchanged};
use crate::backup::operations;
use crate::db::connect::connect;
use crate::db::drop_all::{drop_all, drop_definitions, tables_in};
use crate::db::dumper::dump_definitions;
use crate::db::importer::{ImportError, ImportOptions, ImportSummary, import_dump};
use crate::db::{DbError, current_database, query_strings, quote_ident};
use crate::env::config::{Config, Prestage};
use crate::env::dbphp::DbSettings;
use crate::env::environment::Environment;
use crate::progress::{Cancel, Progress, Update};
use crate::store::history::History;
use crate::store::standby::{self, Staged, StandbyState};

/// The history operation kind of a cycle that built a pair.
pub const HISTORY_KIND: &str = crate::backup::status::PRESTAGE;
/// The two slots.
const SLOTS: [&str; 2] = ["a", "b"];
/// Room kept free beyond the shadow database and the staged media.
const MARGIN_BYTES: u64 = 256 * 1024 * 1024;

/// What one cycle did.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum Cycle {
    /// Pre-staging does not run here: `[standby] prestage = false`, or `auto` and the target is not on this
    /// machine or its disk has no room.
    Off { reason: String },
    /// Nothing to do now (a restore runs, the latest pair is not verified…); the next cycle will try.
    Waiting { reason: String },
    /// The latest pair is the one pre-staged.
    UpToDate { staged: Box<Staged> },
    /// A new pair was proven restorable and is now the ready one.
    Proven { staged: Box<Staged>, operation: i64 },
    /// The latest pair verifies but does not restore here.
    Unrestorable {
        folder: PathBuf,
        step: String,
        error: String,
        operation: i64,
    },
}

impl Cycle {
    /// `secours standby`'s exit code: 2 for an unrestorable pair, else 0.
    pub fn exit_code(&self) -> u8 {
        match self {
            Cycle::Unrestorable { .. } => 2,
            _ => 0,
        }
    }
}

/// Why a cycle could not do its work (not the pair's fault: the pair may still be restorable).
#[derive(Debug, thiserror::Error)]
pub enum PrestageError {
    #[error("another pre-staging is running (lock '{0}'); this one did nothing.")]
    Busy(PathBuf),
    #[error("pre-staging stopped at step '{step}': {cause}. The ready pair, if any, is unchanged. {advice}")]
    Failed {
        step: &'static str,
        cause: String,
        advice: &'static str,
    },
}

const ADVICE_RETRY: &str = "Fix the cause named above; the next cycle (or 'secours standby --once') tries again.";
const ADVICE_SPACE: &str = "Free some disk space beside the standby's web folder; the next cycle tries again.";

fn failed(step: &'static str, cause: impl ToString, advice: &'static str) -> PrestageError {
    PrestageError::Failed {
        step,
        cause: cause.to_string(),
        advice,
    }
}

/// Where the target is: its environment and its folder (web's parent, where `.secours-next` lives).
fn target(config: &Config) -> Result<(Environment, PathBuf), PrestageError> {
    let target = crate::env::environment::named(config, &config.restore.target)
        .map_err(|e| failed("configuration", e, ADVICE_RETRY))?;
    let root = target.beside_web();
    Ok((target, root))
}

/// Whether pre-staging runs here, and if not why (`None`: it runs).
pub fn off_reason(config: &Config) -> Option<String> {
    crate::backup::status::prestage_off_reason(config)
}

/// The ready pre-staged pair for a restore of `pair` onto `target`: `Some` only when it is exactly that
/// pair (same files, same identities) and its slot is there.
pub fn ready_for(target: &Environment, pair: &Pair) -> Option<Staged> {
    let root = target.beside_web();
    let state = standby::read(&root).ok()?;
    let staged = state.ready?;
    (is_pair(&staged, pair) && staged.media_dir(&root).is_dir()).then_some(staged)
}

fn is_pair(staged: &Staged, pair: &Pair) -> bool {
    staged.db_file == pair.db.path
        && staged.media_file == pair.media.path
        && staged.db_identity == pair.db.identity()
        && staged.media_identity == pair.media.identity()
        && staged.media_dirs == pair.media_dirs
}

/// Takes the pre-staged pair for a restore (under the restore's lock): it leaves the record, so no cycle
/// removes it; the restore now owns its slot and its shadow database (removed by the next cycle once the
/// restore has finished). `false` when it is no longer the ready one.
pub fn take(root: &Path, staged: &Staged) -> bool {
    let Ok(mut state) = standby::read(root) else {
        return false;
    };
    if state.ready.as_ref() != Some(staged) {
        return false;
    }
    state.ready = None;
    match standby::write(root, &state) {
        Ok(()) => true,
        Err(e) => {
            log::warn!("cannot update the pre-staging record: {e}");
            false
        }
    }
}

/// Runs one cycle (see the module documentation).
pub fn cycle(
    config: &Config,
    history_path: &Path,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<Cycle, PrestageError> {
    if let Some(reason) = off_reason(config) {
        return Ok(Cycle::Off { reason });
    }
    let (target, root) = target(config)?;
    let next = standby::next_dir(&root);
    create_private_dir(&next).map_err(|e| failed("prepare", e, ADVICE_RETRY))?;
    let _lock = cycle_lock(&next)?;
    let history = History::open(history_path).map_err(|e| failed("history", e, ADVICE_RETRY))?;
    close_interrupted(&history);

    // Under the restore's lock: a restore takes the ready pair under it, so what is left over cannot be in use.
    let restore_guard = match transaction::restore_lock(history_path) {
        Ok(lock) => lock,
        Err(transaction::RestoreError::Busy { .. }) => {
            return Ok(Cycle::Waiting {
                reason: "a restore is running".to_owned(),
            });
        }
        Err(e) => return Err(failed("prepare", e, ADVICE_RETRY)),
    };
    if let Some(u) = transaction::unfinished(&history).map_err(|e| failed("history", e, ADVICE_RETRY))? {
        return Ok(Cycle::Waiting {
            reason: format!(
                "a restore onto '{}' is unfinished (operation {}); pre-staging waits until it is resumed or rolled back",
                u.recorded.target, u.operation.id
            ),
        });
    }
    let settings = target
        .database()
        .map_err(|e| failed("configuration", e, ADVICE_RETRY))?;
    let mut state = standby::read(&root).map_err(|e| failed("prepare", e, ADVICE_RETRY))?;
    remove_leftovers(&root, &settings, &mut state)?;
    drop(restore_guard);

    let pair = match sources::resolve(config, &target, Kind::Restore, &SourceSpec::Latest, Some(&history)) {
        Ok(p) => p,
        Err(e) => return Ok(Cycle::Waiting { reason: e.to_string() }),
    };
    if let Some(staged) = state.ready.as_ref().filter(|s| is_pair(s, &pair)) {
        return Ok(Cycle::UpToDate {
            staged: Box::new(staged.clone()),
        });
    }
    if let Some(known) = known_unrestorable(&history, &pair) {
        return Ok(known);
    }
    let verification = operations::verify(&pair, Some(&history), false, progress, cancel);
    if cancel.is_cancelled() {
        return Ok(Cycle::Waiting {
            reason: "cancelled".to_owned(),
        });
    }
    if !verification.verdict.is_ok() {
        return Ok(Cycle::Waiting {
            reason: format!(
                "the latest backup ('{}') is not verified ok ({}); it is not pre-staged",
                pair.observation.pair_folder.display(),
                verification.verdict.as_str()
            ),
        });
    }

    // Room: the shadow database (about the dump's SQL) and the media, plus a margin.
    let sql_bytes = verification
        .db
        .details
        .get("decompressed_bytes")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(pair.db.bytes * 5);
    let plan = media::media_plan(&verification.media.details);
    let media_bytes = plan.as_ref().map(|p| p.bytes).unwrap_or(pair.media.bytes * 2);
    let needed = sql_bytes + media_bytes + MARGIN_BYTES;
    let free = fs4::available_space(&next).unwrap_or(u64::MAX);
    if free < needed {
        let cause = format!(
            "not enough free space beside '{}': {} free, {} needed (the shadow database and the media)",
            target.web.display(),
            transaction::human_bytes(free),
            transaction::human_bytes(needed)
        );
        if config.standby.prestage == Prestage::Auto {
            return Ok(Cycle::Off { reason: cause });
        }
        return Err(failed("space", cause, ADVICE_SPACE));
    }

    let slot = match state.ready.as_ref().map(|s| s.slot.as_str()) {
        Some("a") => "b",
        _ => "a",
    };
    let database = settings
        .name
        .clone()
        .ok_or_else(|| failed("configuration", "the target names no database", ADVICE_RETRY))?;
    let mut conn = connect(&settings).map_err(|e| failed("database", e, ADVICE_RETRY))?;
    let schema = shadow_name(&database, slot, &state.created, |s| {
        schema_exists(&mut conn, s).unwrap_or(true)
    });
    // The shadow database, recorded as ours before it exists. A user who may not create it: pre-staging is
    // off with `auto` (said once per cycle, nothing recorded), a failure with `true`.
    if !state.created.iter().any(|s| s == &schema) {
        state.created.push(schema.clone());
        standby::write(&root, &state).map_err(|e| failed("database", e, ADVICE_RETRY))?;
    }
    match create_beside(&mut conn, &schema) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            state.created.retain(|s| s != &schema);
            standby::write(&root, &state).map_err(|e| failed("database", e, ADVICE_RETRY))?;
            let denied = is_denied(&e);
            let cause = if denied {
                format!(
                    "the database user of '{}' may not create the shadow database '{schema}' ({e})",
                    target.name
                )
            } else {
                format!("cannot create the shadow database '{schema}': {e}")
            };
            if denied && config.standby.prestage == Prestage::Auto {
                return Ok(Cycle::Off { reason: cause });
            }
            return Err(failed(
                "database",
                cause,
                "Give that user every right on the databases named like its own followed by '_next' (GRANT ALL ON `<db>\\_next%`.* TO …), or set [standby] prestage = false.",
            ));
        }
        Err(e) => return Err(failed("database", e, ADVICE_RETRY)),
    }
    drop(conn);

    let details = serde_json::json!({
        "folder": pair.observation.pair_folder, "db_file": pair.db.path, "media_file": pair.media.path,
        "db_identity": pair.db.identity(), "media_identity": pair.media.identity(), "slot": slot, "schema": schema,
    });
    let op = history
        .begin_operation(HISTORY_KIND, &details.to_string(), Timestamp::now())
        .map_err(|e| failed("history", e, ADVICE_RETRY))?;
    let runner = crate::platform::runner::SystemRunner::default();
    let cpu_before = crate::platform::cpu::process_cpu_seconds(&runner);
    let built = Build {
        config,
        target: &target,
        root: &root,
        settings: &settings,
        pair: &pair,
        slot,
        schema: &schema,
        history: &history,
        history_path,
    }
    .run(plan.map(|p| p.strip), progress, cancel);
    let cpu = match (cpu_before, crate::platform::cpu::process_cpu_seconds(&runner)) {
        (Some(a), Some(b)) => b - a,
        _ => 0.0,
    };
    match built {
        Ok(mut staged) => {
            staged.cpu_seconds = cpu;
            let previous = promote(&root, &mut state, &staged, history_path, cancel)?;
            if let Some(old) = previous {
                remove_slot(&root, &settings, &mut state, &old.slot, Some(&old.schema));
            }
            let outcome = serde_json::json!({
                "folder": staged.folder, "backup_time": staged.backup_time(), "slot": staged.slot,
                "schema": staged.schema, "import_seconds": staged.import_seconds, "media_seconds": staged.media_seconds,
                "tables": staged.tables, "rows": staged.rows, "files": staged.files, "cpu_seconds": cpu,
            });
            finish(&history, op, "ok", &outcome);
            Ok(Cycle::Proven {
                staged: Box::new(staged),
                operation: op.0,
            })
        }
        Err(f) => {
            remove_slot(&root, &settings, &mut state, slot, Some(&schema));
            let outcome = serde_json::json!({
                "folder": pair.observation.pair_folder, "step": f.step, "error": f.cause,
                "backup_time": pair.db.modified.min(pair.media.modified),
                "unrestorable": f.unrestorable, "cancelled": f.cancelled, "cpu_seconds": cpu,
                "db_identity": pair.db.identity(), "media_identity": pair.media.identity(),
            });
            let word = if f.cancelled { "cancelled" } else { "failed" };
            finish(&history, op, word, &outcome);
            if f.unrestorable {
                Ok(Cycle::Unrestorable {
                    folder: pair.observation.pair_folder.clone(),
                    step: f.step.to_owned(),
                    error: f.cause,
                    operation: op.0,
                })
            } else if f.cancelled {
                Ok(Cycle::Waiting {
                    reason: "cancelled".to_owned(),
                })
            } else {
                Err(failed(f.step, f.cause, f.advice))
            }
        }
    }
}

fn finish(history: &History, op: crate::store::history::OperationId, outcome: &str, details: &serde_json::Value) {
    if let Err(e) = history.finish_operation(op, outcome, &details.to_string(), Timestamp::now()) {
        log::warn!("{e}");
    }
}

/// A cycle killed before it finished left its operation open: it is closed as interrupted (its slot is
/// removed as a leftover).
fn close_interrupted(history: &History) {
    let Ok(ops) = history.unfinished_operations() else {
        return;
    };
    for op in ops.into_iter().filter(|o| o.kind == HISTORY_KIND) {
        finish(
            history,
            op.id,
            "failed",
            &serde_json::json!({ "interrupted": true, "error": "interrupted before it finished (the slot it was building was removed)" }),
        );
    }
}

/// The last cycle found this very pair unrestorable (and none proved a pair since): said again without
/// importing it again.
fn known_unrestorable(history: &History, pair: &Pair) -> Option<Cycle> {
    let (op, details) = crate::backup::status::last_prestage_failure(history)?;
    let same = details.get("unrestorable")?.as_bool()?
        && details.get("db_identity")? == &serde_json::to_value(pair.db.identity()).ok()?
        && details.get("media_identity")? == &serde_json::to_value(pair.media.identity()).ok()?;
    same.then(|| Cycle::Unrestorable {
        folder: pair.observation.pair_folder.clone(),
        step: details.get("step").and_then(|s| s.as_str()).unwrap_or("").to_owned(),
        error: details.get("error").and_then(|s| s.as_str()).unwrap_or("").to_owned(),
        operation: op.id.0,
    })
}

/// The shadow database's name for `slot`: `<db>_next` (slot a) or `<db>_next2` (slot b) when it fits the
/// server's 64 characters and is free or ours; else `_secours_next…` with as much of the name as fits, and
/// a number when that is taken too.
pub fn shadow_name(database: &str, slot: &str, ours: &[String], mut exists: impl FnMut(&str) -> bool) -> String {
    let tail = if slot == "a" { "" } else { "2" };
    let usable = |name: &str, exists: &mut dyn FnMut(&str) -> bool| ours.iter().any(|o| o == name) || !exists(name);
    let plain = format!("{database}_next{tail}");
    if plain.chars().count() <= 64 && usable(&plain, &mut exists) {
        return plain;
    }
    for n in 0..100 {
        let suffix = if n == 0 { tail.to_owned() } else { format!("{tail}_{n}") };
        let head = format!("_secours_next{suffix}_");
        let keep = 64usize.saturating_sub(head.chars().count());
        let name = format!("{head}{}", database.chars().take(keep).collect::<String>());
        if usable(&name, &mut exists) {
            return name;
        }
    }
    plain
}

/// Creates `dir` (and parents) private to this user.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(dir)
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot create '{}': {e}", dir.display())))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot make '{}' private: {e}", dir.display())))
}

/// The lock of the pre-staging cycles (one at a time: the app's and `secours standby`'s).
fn cycle_lock(next: &Path) -> Result<fs::File, PrestageError> {
    let path = next.join("lock");
    let file = crate::files::lock::open(&path).map_err(|e| {
        failed(
            "prepare",
            format!("cannot open '{}': {e}", path.display()),
            ADVICE_RETRY,
        )
    })?;
    match fs4::FileExt::try_lock(&file) {
        Ok(()) => Ok(file),
        Err(fs4::TryLockError::WouldBlock) => Err(PrestageError::Busy(path)),
        Err(fs4::TryLockError::Error(e)) => Err(failed(
            "prepare",
            format!("cannot lock '{}': {e}", path.display()),
            ADVICE_RETRY,
        )),
    }
}

/// Removes what no record names: the slot the ready pair does not use, and every shadow database Secours
/// made but the ready one (a slot half-built by a killed cycle, one a restore took and finished with).
fn remove_leftovers(root: &Path, settings: &DbSettings, state: &mut StandbyState) -> Result<(), PrestageError> {
    let ready_slot = state.ready.as_ref().map(|s| s.slot.clone());
    let ready_schema = state.ready.as_ref().map(|s| s.schema.clone());
    for slot in SLOTS {
        if ready_slot.as_deref() != Some(slot) {
            let dir = standby::slot_dir(root, slot);
            if fs::symlink_metadata(&dir).is_ok() {
                remove_tree(&dir).map_err(|e| failed("prepare", e, ADVICE_RETRY))?;
            }
        }
    }
    let stale: Vec<String> = state
        .created
        .iter()
        .filter(|s| Some(*s) != ready_schema.as_ref())
        .cloned()
        .collect();
    if stale.is_empty() {
        return Ok(());
    }
    let mut conn = connect(settings).map_err(|e| failed("prepare", e, ADVICE_RETRY))?;
    for schema in stale {
        drop_shadow(&mut conn, &schema).map_err(|e| {
            failed(
                "prepare",
                format!("cannot drop the left-over shadow database '{schema}': {e}"),
                ADVICE_RETRY,
            )
        })?;
        state.created.retain(|s| s != &schema);
    }
    standby::write(root, state).map_err(|e| failed("prepare", e, ADVICE_RETRY))
}

/// Removes one slot's folder and (when Secours made it) its shadow database; best effort, logged: the next
/// cycle removes what is left.
fn remove_slot(root: &Path, settings: &DbSettings, state: &mut StandbyState, slot: &str, schema: Option<&str>) {
    let dir = standby::slot_dir(root, slot);
    if fs::symlink_metadata(&dir).is_ok()
        && let Err(e) = remove_tree(&dir)
    {
        log::warn!("{e}");
    }
    let Some(schema) = schema.filter(|s| state.created.iter().any(|c| c == s)) else {
        return;
    };
    let dropped = connect(settings)
        .map_err(|e| e.to_string())
        .and_then(|mut conn| drop_shadow(&mut conn, schema));
    match dropped {
        Ok(()) => {
            state.created.retain(|s| s != schema);
            if let Err(e) = standby::write(root, state) {
                log::warn!("{e}");
            }
        }
        Err(e) => log::warn!("cannot drop the shadow database '{schema}': {e}"),
    }
}

/// Drops the shadow database `schema` (one the record says Secours made); never the live database the
/// connection is on, whatever the record says.
fn drop_shadow(conn: &mut mysql::Conn, schema: &str) -> Result<(), String> {
    let live = current_database(conn, "drop a shadow database").map_err(|e| e.to_string())?;
    if live == schema {
        return Err(format!("'{schema}' is the live database; it is never dropped"));
    }
    conn.query_drop(format!("DROP DATABASE IF EXISTS {}", quote_ident(schema)))
        .map_err(|e| e.to_string())
}

/// Removes a folder tree; a tree given to the web server's user needs its rights, which Secours has only as
/// root: otherwise the error says so.
fn remove_tree(dir: &Path) -> Result<(), String> {
    fs::remove_dir_all(dir).map_err(|e| {
        format!(
            "cannot remove '{}': {e}. Remove it as administrator (sudo rm -rf '{}'); the pre-staging uses it again next time.",
            dir.display(),
            dir.display()
        )
    })
}

/// Makes `staged` the ready pair, under the restore's lock (a restore never sees the record change under
/// it); returns the pair it replaces.
fn promote(
    root: &Path,
    state: &mut StandbyState,
    staged: &Staged,
    history_path: &Path,
    cancel: &Cancel,
) -> Result<Option<Staged>, PrestageError> {
    let _restore = loop {
        match transaction::restore_lock(history_path) {
            Ok(lock) => break lock,
            Err(transaction::RestoreError::Busy { .. }) if !cancel.is_cancelled() => {
                std::thread::sleep(Duration::from_secs(1));
            }
            Err(e) => return Err(failed("promote", e, ADVICE_RETRY)),
        }
    };
    // A restore may have taken the ready pair meanwhile: read the record again.
    let fresh = standby::read(root).map_err(|e| failed("promote", e, ADVICE_RETRY))?;
    let previous = fresh.ready.clone();
    *state = StandbyState {
        ready: Some(staged.clone()),
        created: fresh.created,
    };
    standby::write(root, state).map_err(|e| failed("promote", e, ADVICE_RETRY))?;
    Ok(previous)
}

/// A build's failure: whose fault, and what to say.
struct BuildFailure {
    step: &'static str,
    cause: String,
    advice: &'static str,
    /// The pair does not restore here (not a passing problem of this machine).
    unrestorable: bool,
    cancelled: bool,
}

impl BuildFailure {
    fn machine(step: &'static str, cause: impl ToString, advice: &'static str) -> Self {
        BuildFailure {
            step,
            cause: cause.to_string(),
            advice,
            unrestorable: false,
            cancelled: false,
        }
    }

    fn pair(step: &'static str, cause: impl ToString) -> Self {
        BuildFailure {
            unrestorable: true,
            ..BuildFailure::machine(step, cause, ADVICE_RETRY)
        }
    }
}

/// One pair built in one slot.
struct Build<'a> {
    config: &'a Config,
    target: &'a Environment,
    root: &'a Path,
    settings: &'a DbSettings,
    pair: &'a Pair,
    slot: &'a str,
    schema: &'a str,
    history: &'a History,
    history_path: &'a Path,
}

impl Build<'_> {
    fn run(
        &self,
        strip: Result<String, String>,
        progress: &dyn Progress,
        cancel: &Cancel,
    ) -> Result<Staged, BuildFailure> {
        let strip = strip.map_err(|why| BuildFailure::pair("media", why))?;
        let slot_dir = standby::slot_dir(self.root, self.slot);
        create_private_dir(&slot_dir).map_err(|e| BuildFailure::machine("prepare", e, ADVICE_RETRY))?;
        let pausing = Pausing {
            inner: progress,
            history: self.history_path,
            cancel,
            // Looked at from the first report on.
            last: std::sync::Mutex::new(
                Instant::now()
                    .checked_sub(Duration::from_secs(3))
                    .unwrap_or_else(Instant::now),
            ),
        };

        // 1. The media, into <slot>/media.
        let t = Instant::now();
        let staging = slot_dir.join("media");
        let summary = media::extract_media_under(
            &self.pair.media.path,
            &staging,
            &self.pair.media_dirs,
            &strip,
            &pausing,
            cancel,
        )
        .map_err(|e| match e {
            MediaError::Cancelled { .. } => BuildFailure {
                cancelled: true,
                ..BuildFailure::machine("media", "cancelled", ADVICE_RETRY)
            },
            MediaError::Write { .. } => BuildFailure::machine("media", e, ADVICE_SPACE),
            other => BuildFailure::pair("media", other),
        })?;
        crate::files::durable::sync_tree(&staging).map_err(|e| {
            BuildFailure::machine(
                "media",
                format!("cannot write '{}': {e}", staging.display()),
                ADVICE_SPACE,
            )
        })?;
        media::check_private_tree(&staging).map_err(|e| BuildFailure::pair("media", e))?;
        let owner_set = self.give_owner(&staging)?;
        let media_seconds = t.elapsed().as_secs_f64();

        // 2. The dump, into the shadow database (created by the cycle).
        let shadow = self.shadow();
        let t = Instant::now();
        let options = ImportOptions {
            replace: true,
            rewrite_definers: true,
            connections: 1,
            prescan: false,
            known: operations::known_facts(self.history, &self.pair.db.path),
            ..ImportOptions::default()
        };
        let import: ImportSummary =
            import_dump(&shadow, &self.pair.db.path, &options, &pausing, cancel).map_err(|e| match e {
                ImportError::Cancelled { .. } => BuildFailure {
                    cancelled: true,
                    ..BuildFailure::machine("database", "cancelled", ADVICE_RETRY)
                },
                ImportError::Connect(_) | ImportError::Db(_) => BuildFailure::machine("database", e, ADVICE_RETRY),
                other => BuildFailure::pair("database", other),
            })?;
        let import_seconds = t.elapsed().as_secs_f64();
        for (file, identity) in [
            (&self.pair.db.path, self.pair.db.identity()),
            (&self.pair.media.path, self.pair.media.identity()),
        ] {
            check_unchanged(file, &identity).map_err(|changed| {
                BuildFailure::machine(
                    "check",
                    format!("{changed} while it was pre-staged"),
                    "The next cycle pre-stages the backup as it is now.",
                )
            })?;
        }

        // 3. The same check as a restore's, on the shadow and the staged media.
        let staged_env = Environment {
            web: staging.clone(),
            url: None,
            ..self.target.clone()
        };
        let report = super::check::check(&shadow, Some(&import.rows_per_table), &staged_env, Some(summary.files));
        if !report.problems.is_empty() {
            return Err(BuildFailure::pair("check", report.problems.join("; ")));
        }

        // 4. What the switch-over recreates in the target: the shadow's views, triggers, routines, events.
        let definitions = slot_dir.join("definitions.gz");
        let mut sconn = connect(&shadow).map_err(|e| BuildFailure::machine("definitions", e, ADVICE_RETRY))?;
        dump_definitions(&mut sconn, &definitions, &crate::progress::Silent, cancel)
            .map_err(|e| BuildFailure::machine("definitions", e, ADVICE_SPACE))?;
        crate::files::durable::sync_dir(&slot_dir)
            .map_err(|e| BuildFailure::machine("definitions", e, ADVICE_SPACE))?;

        Ok(Staged {
            slot: self.slot.to_owned(),
            schema: self.schema.to_owned(),
            folder: self.pair.observation.pair_folder.clone(),
            db_file: self.pair.db.path.clone(),
            media_file: self.pair.media.path.clone(),
            db_identity: self.pair.db.identity(),
            media_identity: self.pair.media.identity(),
            db_modified: self.pair.db.modified,
            media_modified: self.pair.media.modified,
            media_dirs: self.pair.media_dirs.clone(),
            proven_at: Timestamp::now(),
            import_seconds,
            media_seconds,
            tables: import.tables,
            rows: import.rows,
            rows_per_table: import.rows_per_table,
            files: summary.files,
            media_bytes: summary.bytes,
            owner_set,
            cpu_seconds: 0.0,
        })
    }

    /// The target's connection, on the shadow database.
    fn shadow(&self) -> DbSettings {
        DbSettings {
            name: Some(self.schema.to_owned()),
            ..self.settings.clone()
        }
    }

    /// Gives the staged media to `[restore] owner` when Secours may without asking anyone (as root, or as
    /// that user); `false` when the switch-over must do it in its administrator request.
    fn give_owner(&self, staging: &Path) -> Result<bool, BuildFailure> {
        let owner = owner::resolve_owner(&self.config.restore.owner)
            .map_err(|e| BuildFailure::machine("media", e, ADVICE_RETRY))?;
        let privileges = owner::Privileges::current().map_err(|e| BuildFailure::machine("media", e, ADVICE_RETRY))?;
        if owner::needs_admin(&privileges, &owner, &[]) {
            return Ok(false);
        }
        let ops: Vec<AdminOp> = self
            .pair
            .media_dirs
            .iter()
            .map(|d| AdminOp::Chown { path: staging.join(d) })
            .filter(|op| matches!(op, AdminOp::Chown { path } if path.exists()))
            .collect();
        owner::run_admin_ops(&ops, &owner, self.root, &owner::admin_runner(), &privileges)
            .map_err(|e| BuildFailure::machine("media", e, ADVICE_RETRY))?;
        Ok(true)
    }
}

/// Progress that waits while a restore or a copy runs (checked every two seconds): the pre-staging gives way.
struct Pausing<'a> {
    inner: &'a dyn Progress,
    history: &'a Path,
    cancel: &'a Cancel,
    last: std::sync::Mutex<Instant>,
}

impl Progress for Pausing<'_> {
    fn update(&self, update: Update) {
        if update.step == "import" {
            // The crash tests stop the process here, with part of the rows in the shadow database.
            transaction::pause_point("prestage-import");
        }
        let due = self.last.lock().map(|mut last| {
            let due = last.elapsed() >= Duration::from_secs(2);
            if due {
                *last = Instant::now();
            }
            due
        });
        if due.unwrap_or(false) {
            while (transaction::restore_running(self.history) || operations::copy_running(self.history))
                && !self.cancel.is_cancelled()
            {
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        self.inner.update(update);
    }
}

/// The switch-over's database step: the pre-staged shadow's tables moved into the target (connected by
/// `settings`) in one `RENAME TABLE`, then its views, triggers, routines and events recreated there.
/// Idempotent (a resume after a crash finds the tables moved already). The target's own tables must have
/// been set aside or saved by the snapshot before: whatever the target holds is dropped.
pub fn move_in(settings: &DbSettings, staged: &Staged, root: &Path) -> Result<ImportSummary, String> {
    let started = Instant::now();
    let mut conn = connect(settings).map_err(|e| e.to_string())?;
    let database = current_database(&mut conn, "take the pre-staged tables").map_err(|e| e.to_string())?;
    if database == staged.schema {
        return Err(format!(
            "the pre-staged database '{}' is the target itself",
            staged.schema
        ));
    }
    let err = |e: DbError| e.to_string();
    let waiting = tables_in(&mut conn, &staged.schema).map_err(err)?;
    if !waiting.is_empty() {
        // Views cannot change database and triggers cannot move with their table: they are recreated from
        // the definitions kept when the pair was proven.
        let shadow = DbSettings {
            name: Some(staged.schema.clone()),
            ..settings.clone()
        };
        let mut sconn = connect(&shadow).map_err(|e| e.to_string())?;
        drop_definitions(&mut sconn).map_err(err)?;
        let tables = tables_in(&mut conn, &staged.schema).map_err(err)?;
        drop_all(&mut conn).map_err(err)?;
        rename_all(&mut conn, &tables, &staged.schema, &database).map_err(err)?;
    }
    recreate_definitions(settings, &mut conn, &staged.definitions(root))
        .map_err(|e| format!("recreating the views, triggers, routines and events failed: {e}"))?;
    // Tables and views alike: a view's name is in the import's counts too (the dump creates a stand-in
    // table first, then replaces it by the view, which the definitions recreated).
    let present: Vec<String> = query_strings(
        &mut conn,
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
        "list the tables and views after the swap",
    )
    .map_err(err)?
    .into_iter()
    .filter_map(|r| r.into_iter().next().flatten())
    .collect();
    let missing: Vec<&String> = staged.rows_per_table.keys().filter(|t| !present.contains(t)).collect();
    if !missing.is_empty() {
        return Err(format!(
            "after the swap the target lacks {} table(s) the backup has (first: '{}')",
            missing.len(),
            missing[0]
        ));
    }
    Ok(ImportSummary {
        statements: 0,
        tables: staged.tables,
        rows: staged.rows,
        rows_per_table: staged.rows_per_table.clone(),
        bytes: 0,
        seconds: started.elapsed().as_secs_f64(),
        dropped: None,
        definers_rewritten: 0,
    })
}

/// The pre-staged media folder moved to be the restore's staging (one rename on one disk); nothing to do
/// when it is there already (a resume).
pub fn move_media(staged: &Staged, root: &Path, staging: &Path) -> Result<(), String> {
    let from = staged.media_dir(root);
    if fs::symlink_metadata(staging).is_ok() {
        return Ok(());
    }
    fs::rename(&from, staging).map_err(|e| {
        format!(
            "cannot move the pre-staged media '{}' to '{}': {e}",
            from.display(),
            staging.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards the shadow's names: `<db>_next` / `<db>_next2`, a name someone else's database holds is never
    // used, one of ours is reused, and a long name stays within the server's 64 characters.
    #[test]
    fn shadow_names_are_ours_and_fit_the_server() {
        assert_eq!(shadow_name("gestion", "a", &[], |_| false), "gestion_next");
        assert_eq!(shadow_name("gestion", "b", &[], |_| false), "gestion_next2");
        assert_eq!(
            shadow_name("gestion", "a", &["gestion_next".to_owned()], |_| true),
            "gestion_next"
        );
        assert_eq!(
            shadow_name("gestion", "a", &[], |n| n == "gestion_next"),
            "_secours_next_gestion"
        );
        let long = "d".repeat(60);
        let name = shadow_name(&long, "b", &[], |_| false);
        assert!(
            name.chars().count() <= 64 && name.starts_with("_secours_next2_"),
            "{name}"
        );
        let taken = shadow_name("g", "a", &[], |n| n != "_secours_next_1_g");
        assert_eq!(taken, "_secours_next_1_g");
    }

    #[test]
    fn only_an_unrestorable_pair_fails_the_command() {
        let u = Cycle::Unrestorable {
            folder: PathBuf::new(),
            step: "database".to_owned(),
            error: "e".to_owned(),
            operation: 1,
        };
        assert_eq!(u.exit_code(), 2);
        assert_eq!(Cycle::Waiting { reason: String::new() }.exit_code(), 0);
    }
}
