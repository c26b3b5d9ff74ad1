//! Where a restore can take its backup from: the watched backup folders, every safe copy, the copies of
//! the watched folders inside recent Time Machine backups, or any folder the user names (a USB stick).
//!
//! Guarantees: sources are listed newest first; each says whether history already holds a verdict for
//! both of its files (a listed source is never read here, so listing is instant whatever the sizes);
//! the target's own backup folder is never offered as the source of a restore onto itself.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::Serialize;

use super::transaction::Kind;
use crate::backup::copy;
use crate::backup::inspect::Pair;
use crate::backup::inspect::{self, PairObservation};
use crate::backup::operations::{OperationError, Selection};
use crate::env::config::Config;
use crate::env::environment::{self, Environment};
use crate::store::history::History;
use crate::store::history::VerdictKind;

/// What `--from` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// The newest complete pair among watched folders and safe copies.
    Latest,
    /// A folder holding a pair.
    Folder(PathBuf),
    /// A safe copy by its folder name, e.g. `copy:2026-11-25_1400`.
    Copy(String),
}

impl SourceSpec {
    /// Reads the `--from` value: `latest`, `copy:ID`, or a folder.
    pub fn parse(text: &str) -> SourceSpec {
        if text == "latest" {
            SourceSpec::Latest
        } else if let Some(id) = text.strip_prefix("copy:") {
            SourceSpec::Copy(id.to_owned())
        } else {
            SourceSpec::Folder(PathBuf::from(text))
        }
    }
}

/// One candidate source.
#[derive(Debug, Clone, Serialize)]
pub struct Source {
    /// What to pass to `--from`: `copy:<name>` for a safe copy, else the folder.
    pub id: String,
    /// `watched`, `copy` or `time-machine`.
    pub kind: &'static str,
    /// The folder holding the pair.
    pub folder: PathBuf,
    /// The backup's time (the older file's modification time).
    pub time: Timestamp,
    pub age_seconds: i64,
    pub db_bytes: u64,
    pub media_bytes: u64,
    /// `ok`, `corrupt` or `unsafe` when history holds a verdict for both files, else `None`.
    pub verified: Option<VerdictKind>,
    #[serde(skip)]
    pub observation: PairObservation,
}

/// Why a source could not be found.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Operation(#[from] OperationError),
    #[error(
        "no complete backup to restore from: no watched folder or safe copy holds both files. Name a folder with --from (a safe copy, or a folder inside a Time Machine backup)."
    )]
    NoneFound,
    #[error(
        "no safe copy named '{id}' at the configured destinations. List the sources with 'secours restore --list-sources'."
    )]
    UnknownCopy { id: String },
}

/// Every candidate, newest first, except the target's own backup folder. For the return to production
/// (`kind` Failback) the candidates are the standby's own backup folder and the watched folders, not the
/// safe copies: on the production Mac those hold production's old backups, not the standby's.
pub fn list(
    config: &Config,
    target: &Environment,
    kind: Kind,
    history: Option<&History>,
    now: Timestamp,
) -> Vec<Source> {
    let mut found = Vec::new();
    let mut folders = crate::backup::sources::sources(config);
    if kind == Kind::Failback
        && let Ok(standby) = environment::named(config, &config.restore.target)
    {
        folders.insert(
            0,
            crate::backup::sources::Source {
                name: standby.name.clone(),
                dbname: standby.database_name(),
                folder: standby.backup_dir,
            },
        );
    }
    let mut time_machine_dirs = Vec::new();
    for s in folders {
        if same_folder(&s.folder, &target.backup_dir) {
            continue;
        }
        let obs = inspect::observe_folder(&s.folder, s.dbname.as_deref());
        if let Some(src) = source("watched", s.folder.display().to_string(), obs, history, now) {
            found.push(src);
        }
        time_machine_dirs.push((s.folder.canonicalize().unwrap_or(s.folder), s.dbname));
    }
    found.extend(time_machine(config, &time_machine_dirs, history, now));
    let dests = if kind == Kind::Failback {
        &[][..]
    } else {
        &config.safe_copy.destinations[..]
    };
    for dest in dests {
        let Ok(copies) = copy::list_copies(dest) else { continue };
        for c in copies.into_iter().filter(|c| c.manifest) {
            let obs = inspect::observe_folder(&c.folder, None);
            if let Some(mut src) = source("copy", format!("copy:{}", c.name), obs, history, now) {
                // A copy's files are as old as the copy; the backup's time is in the folder's name.
                if let Ok(at) = c.date.to_zoned(jiff::tz::TimeZone::system()) {
                    src.time = at.timestamp();
                    src.age_seconds = now.as_second() - src.time.as_second();
                }
                found.push(src);
            }
        }
    }
    found.sort_by_key(|s| std::cmp::Reverse(s.time));
    found
}

/// How many Time Machine backups are looked into (hourly for a day, then daily: a day and a half back
/// is what a restore from "an older hour" needs; older ones are reachable with --from FOLDER).
const TIME_MACHINE_LIMIT: usize = 36;

/// The copies of the watched folders inside the completed Time Machine backups, newest first. Nothing
/// (and no error) where Time Machine is off or `tmutil` is absent (Linux).
fn time_machine(
    config: &Config,
    dirs: &[(PathBuf, Option<String>)],
    history: Option<&History>,
    now: Timestamp,
) -> Vec<Source> {
    let tm = &config.time_machine;
    if !tm.enabled || !tm.tmutil.is_file() || dirs.is_empty() {
        return Vec::new();
    }
    let runner = crate::platform::runner::SystemRunner::default();
    let backups = match crate::timemachine::list_backups(&runner, &tm.tmutil) {
        Ok(b) => b,
        Err(e) => {
            log::info!("no Time Machine sources: {e}");
            return Vec::new();
        }
    };
    let mut recent: Vec<_> = backups.into_iter().filter(|b| b.is_completed()).collect();
    recent.sort_by_key(|b| std::cmp::Reverse(b.taken_at));
    recent.truncate(TIME_MACHINE_LIMIT);
    let mut found = Vec::new();
    for (dir, dbname) in dirs {
        let holds_pair = |p: &Path| inspect::observe_folder(p, dbname.as_deref()).files().is_some();
        for s in crate::timemachine::restore_sources(&recent, dir, holds_pair) {
            let obs = inspect::observe_folder(&s.path, dbname.as_deref());
            if let Some(src) = source("time-machine", s.path.display().to_string(), obs, history, now) {
                found.push(src);
            }
        }
    }
    found
}

fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn source(
    kind: &'static str,
    id: String,
    observation: PairObservation,
    history: Option<&History>,
    now: Timestamp,
) -> Option<Source> {
    let (db, media) = observation.files()?;
    let time = db.modified.min(media.modified);
    let verdict = |o| {
        history
            .and_then(|h| h.verification(&crate::backup::inspect::file_key(o)).ok().flatten())
            .map(|v| v.verdict)
    };
    let verified = match (verdict(db), verdict(media)) {
        (Some(a), Some(b)) if a.is_ok() && b.is_ok() => Some(VerdictKind::Ok),
        (Some(a), _) if !a.is_ok() => Some(a),
        (_, Some(b)) if !b.is_ok() => Some(b),
        _ => None,
    };
    Some(Source {
        id,
        kind,
        folder: observation.pair_folder.clone(),
        time,
        age_seconds: now.as_second() - time.as_second(),
        db_bytes: db.bytes,
        media_bytes: media.bytes,
        verified,
        observation,
    })
}

/// The pair `from` designates, for a restore onto `target`. `Latest` skips sources already known to be
/// corrupt, so a broken newest backup does not block the restore of the one before it.
pub fn resolve(
    config: &Config,
    target: &Environment,
    kind: Kind,
    from: &SourceSpec,
    history: Option<&History>,
) -> Result<Pair, SourceError> {
    let media_dirs = target.media_dirs.clone();
    let pair_of = |folder: PathBuf| -> Result<Pair, SourceError> {
        let mut pair = crate::backup::operations::select(
            config,
            &Selection {
                folder: Some(folder),
                env: None,
            },
        )?;
        pair.media_dirs = media_dirs.clone();
        Ok(pair)
    };
    match from {
        SourceSpec::Folder(folder) => pair_of(folder.clone()),
        SourceSpec::Copy(id) => {
            let found = list(config, target, Kind::Restore, history, Timestamp::now())
                .into_iter()
                .find(|s| s.kind == "copy" && s.id == format!("copy:{id}"))
                .ok_or_else(|| SourceError::UnknownCopy { id: id.clone() })?;
            pair_of(found.folder)
        }
        SourceSpec::Latest => {
            let best = list(config, target, kind, history, Timestamp::now())
                .into_iter()
                .find(|s| s.verified.is_none_or(VerdictKind::is_ok))
                .ok_or(SourceError::NoneFound)?;
            pair_of(best.folder)
        }
    }
}
