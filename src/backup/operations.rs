//! The backup operations as the user asks for them — verify the latest pair, copy it to the safe
//! places — over the `verify` and `copy` engines, with history: a file already verified (same path,
//! size, time and inode) is not read again, and every copy is journaled. A copy of an environment's
//! backup made where that environment lives also records its code (`parity::CODE_MANIFEST`), and every
//! copy made where production lives carries production's code (`software.taz`, see `backup::software`).
//!
//! Shared by the CLI and the menu-bar app, so both behave the same.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::Serialize;

use crate::backup::copy::{self, CopyError, CopyOptions, CopyOutcome};
use crate::backup::inspect::{self, FileObservation, Pair};
use crate::backup::sources;
use crate::backup::verify::{self, FileOutcome, FileReport, PairReport};
use crate::env::config::Config;
use crate::env::environment;
use crate::progress::{Cancel, Progress};
use crate::store::history::History;
use crate::store::history::VerdictKind;

/// Which pair to work on.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// A folder holding a pair (a safe copy, a Time Machine folder…).
    pub folder: Option<PathBuf>,
    /// An environment's backup folder.
    pub env: Option<String>,
}

/// Why an operation could not start.
#[derive(Debug, thiserror::Error)]
pub enum OperationError {
    #[error(transparent)]
    Env(#[from] environment::EnvError),
    #[error(
        "nothing is watched, so there is no backup to work on. Name a folder, or set [watch] in the configuration."
    )]
    NothingWatched,
    #[error(
        "no complete backup in '{folder}': {missing} is missing. Check that the hourly backup runs, or name another folder."
    )]
    Incomplete { folder: PathBuf, missing: PathBuf },
    #[error("no safe-copy destination: set [safe-copy] destinations in the configuration, or pass --to DIR.")]
    NoDestination,
    #[error(
        "the backup in '{folder}' failed verification ({reason}); it was not copied. Keep the previous copies and check the production computer's hourly backup."
    )]
    NotVerified { folder: PathBuf, reason: String },
}

/// Finds the pair an operation should use.
pub fn select(config: &Config, sel: &Selection) -> Result<Pair, OperationError> {
    let (folder, dbname, media_dirs) = match (&sel.folder, &sel.env) {
        (Some(f), _) => (f.clone(), None, default_media_dirs()),
        (None, Some(name)) => {
            let env = environment::named(config, name)?;
            (env.backup_dir.clone(), env.database_name(), env.media_dirs.clone())
        }
        (None, None) => {
            let first = sources::sources(config)
                .into_iter()
                .next()
                .ok_or(OperationError::NothingWatched)?;
            let dirs = config
                .watch
                .environments
                .first()
                .and_then(|n| environment::named(config, n).ok())
                .map_or_else(default_media_dirs, |e| e.media_dirs);
            (first.folder, first.dbname, dirs)
        }
    };
    let observation = inspect::observe_folder(&folder, dbname.as_deref());
    let db = observation.db.observation().cloned();
    let media = observation.media.observation().cloned();
    match (db, media) {
        (Some(db), Some(media)) => Ok(Pair {
            observation,
            db,
            media,
            media_dirs,
        }),
        (None, _) => Err(OperationError::Incomplete {
            folder,
            missing: observation.db.path().to_owned(),
        }),
        (_, None) => Err(OperationError::Incomplete {
            folder,
            missing: observation.media.path().to_owned(),
        }),
    }
}

fn default_media_dirs() -> Vec<String> {
    environment::DEFAULT_MEDIA_DIRS
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

/// The verdict on a pair, with where it came from.
#[derive(Debug, Serialize)]
pub struct Verification {
    pub folder: PathBuf,
    /// `ok`, `corrupt`, `unsafe`, `unreadable` or `cancelled` (the worst of the two files).
    pub verdict: VerdictKind,
    pub db: FileVerdict,
    pub media: FileVerdict,
}

/// One file's verdict, fresh or remembered.
#[derive(Debug, Serialize)]
pub struct FileVerdict {
    pub path: PathBuf,
    pub verdict: VerdictKind,
    /// True when history already held the verdict for this very file.
    pub remembered: bool,
    pub verified_at: Timestamp,
    pub details: serde_json::Value,
}

impl Verification {
    /// Exit code: 0 ok, 2 corrupt/unsafe, 3 unreadable.
    pub fn exit_code(&self) -> u8 {
        match self.verdict {
            VerdictKind::Ok => 0,
            VerdictKind::Unreadable | VerdictKind::Cancelled => 3,
            VerdictKind::Corrupt | VerdictKind::Unsafe => 2,
        }
    }
}

fn outcome_verdict(o: &FileOutcome) -> (VerdictKind, serde_json::Value) {
    let value = serde_json::to_value(o).unwrap_or(serde_json::Value::Null);
    let word = match o {
        FileOutcome::Checked(FileReport { verdict, .. }) => match verdict {
            verify::Verdict::Ok => VerdictKind::Ok,
            verify::Verdict::Corrupt { .. } => VerdictKind::Corrupt,
            verify::Verdict::Unsafe { .. } => VerdictKind::Unsafe,
        },
        FileOutcome::Unreadable { .. } => VerdictKind::Unreadable,
        FileOutcome::Cancelled { .. } => VerdictKind::Cancelled,
    };
    (word, value)
}

/// What the verification of the dump at `path`, as it is now, found for an import's preflight (`None`
/// when this very file was not verified ok, or before facts were remembered).
pub fn known_facts(history: &History, path: &std::path::Path) -> Option<crate::db::importer::DumpFacts> {
    let crate::backup::inspect::FileState::Present(o) = crate::backup::inspect::observe_file(path) else {
        return None;
    };
    let v = history.verification(&inspect::file_key(&o)).ok()??;
    if !v.verdict.is_ok() {
        return None;
    }
    let details: serde_json::Value = serde_json::from_str(&v.details_json).ok()?;
    serde_json::from_value(details.get("import_facts")?.clone()).ok()
}

/// Verifies a pair, reusing history's verdicts for files already verified.
pub fn verify(
    pair: &Pair,
    history: Option<&History>,
    force: bool,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Verification {
    let remembered = |o: &FileObservation| -> Option<FileVerdict> {
        if force {
            return None;
        }
        let v = history?.verification(&inspect::file_key(o)).ok()??;
        Some(FileVerdict {
            path: o.path.clone(),
            verdict: v.verdict,
            remembered: true,
            verified_at: v.at,
            details: serde_json::from_str(&v.details_json).unwrap_or(serde_json::Value::Null),
        })
    };
    // A media verdict stands for a restore only with the layout of the very media folders asked for now
    // (one recorded before layouts were, or for other folders, is read again).
    let media_remembered = remembered(&pair.media).filter(|v| {
        !v.verdict.is_ok()
            || pair.media_dirs.is_empty()
            || verify::MediaLayout::from_details(&v.details).is_some_and(|l| l.expected == pair.media_dirs)
    });
    let (db, media) = match (remembered(&pair.db), media_remembered) {
        (Some(db), Some(media)) => (db, media),
        _ => {
            let report: PairReport =
                verify::verify_pair(&pair.db.path, &pair.media.path, &pair.media_dirs, progress, cancel);
            let now = Timestamp::now();
            let record = |o: &FileObservation, outcome: &FileOutcome| {
                let (mut word, mut details) = outcome_verdict(outcome);
                // The verdict is about the bytes read; it only stands for the file as observed if the file did
                // not change meanwhile (rewritten by the hourly backup while being read).
                if let Err(changed) = crate::backup::inspect::check_unchanged(&o.path, &o.identity()) {
                    word = VerdictKind::Unreadable;
                    details = serde_json::json!({ "outcome": "unreadable", "error": changed });
                }
                // Only real verdicts are remembered; an unreadable file is asked again next time.
                if word.is_kept()
                    && let Some(h) = history
                    && let Err(e) = h.record_verification(&inspect::file_key(o), word, &details.to_string(), now)
                {
                    log::warn!("{e}");
                }
                FileVerdict {
                    path: o.path.clone(),
                    verdict: word,
                    remembered: false,
                    verified_at: now,
                    details,
                }
            };
            (record(&pair.db, &report.db), record(&pair.media, &report.media))
        }
    };
    let verdict = if db.verdict.rank() >= media.verdict.rank() {
        db.verdict
    } else {
        media.verdict
    };
    Verification {
        folder: pair.observation.pair_folder.clone(),
        verdict,
        db,
        media,
    }
}

/// One destination's result.
#[derive(Debug, Serialize)]
pub struct CopyResult {
    pub destination: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<CopyOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The production code's manifest written next to the copy (see [`crate::backup::parity`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_manifest: Option<PathBuf>,
}

/// The lock a copy holds while it runs, next to the history `history`.
pub fn copy_lock(history: &Path) -> PathBuf {
    history.with_file_name("copy.lock")
}

/// Whether a copy runs now (in any Secours process using the history `history`).
pub fn copy_running(history: &Path) -> bool {
    crate::files::lock::is_held(&copy_lock(history))
}

/// Copies a verified pair to each destination; a failed verification copies nothing.
pub fn copy_to(
    config: &Config,
    pair: &Pair,
    destinations: &[PathBuf],
    history: Option<&History>,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<Vec<CopyResult>, OperationError> {
    if destinations.is_empty() {
        return Err(OperationError::NoDestination);
    }
    // Said to the other Secours processes (the standby's pre-staging gives way while it is held).
    let _copying = history
        .filter(|h| h.path().is_absolute())
        .and_then(|h| crate::files::lock::try_hold(&copy_lock(h.path())));
    let v = verify(pair, history, false, progress, cancel);
    if !v.verdict.is_ok() {
        return Err(OperationError::NotVerified {
            folder: v.folder,
            reason: v.verdict.to_string(),
        });
    }
    let when = pair
        .db
        .modified
        .min(pair.media.modified)
        .to_zoned(jiff::tz::TimeZone::system());
    // A pair that looks wrong is still copied (it may be the only recent one), marked, so rotation keeps
    // the last good copy.
    let suspect = history.and_then(|h| {
        crate::backup::anomaly::judgement(
            h,
            &config.anomaly,
            &pair.observation.folder,
            &pair.db,
            &pair.media,
            Timestamp::now(),
        )
        .filter(crate::backup::anomaly::Judgement::is_suspect)
    });
    let suspect_mark = suspect
        .as_ref()
        .and_then(|j| serde_json::to_vec_pretty(&crate::backup::anomaly::CopyMark::new(j, &pair.db, &pair.media)).ok());
    let details = serde_json::json!({
        "source": pair.observation.pair_folder,
        "destinations": destinations,
        "suspect": suspect.is_some(),
    });
    let op = history.and_then(|h| h.begin_operation("copy", &details.to_string(), Timestamp::now()).ok());
    let software = software_source(config);
    let mut results = Vec::new();
    for dest in destinations {
        let r = copy::copy_pair(
            &pair.db.path,
            &pair.media.path,
            &when,
            dest,
            config.safe_copy.keep,
            &CopyOptions {
                verified: vec![
                    (pair.db.path.clone(), pair.db.identity()),
                    (pair.media.path.clone(), pair.media.identity()),
                ],
                suspect_mark: suspect_mark.clone(),
                software: software.clone(),
                ..CopyOptions::default()
            },
            progress,
            cancel,
        );
        results.push(match r {
            Ok(outcome) => CopyResult {
                destination: dest.clone(),
                outcome: Some(outcome),
                error: None,
                code_manifest: None,
            },
            Err(e) => CopyResult {
                destination: dest.clone(),
                outcome: None,
                error: Some(e.to_string()),
                code_manifest: None,
            },
        });
    }
    record_code(config, pair, &mut results, progress, cancel);
    if let (Some(h), Some(id)) = (history, op) {
        let ok = results.iter().all(|r| r.error.is_none());
        let summary = serde_json::to_string(&results).unwrap_or_default();
        if let Err(e) = h.finish_operation(id, if ok { "ok" } else { "failed" }, &summary, Timestamp::now()) {
            log::warn!("{e}");
        }
    }
    Ok(results)
}

/// Production's code (`[restore] production`), which each copy carries as `software.taz` when its root is
/// on this computer (the production Mac); `None` elsewhere.
fn software_source(config: &Config) -> Option<copy::SoftwareSource> {
    let env = environment::named(config, &config.restore.production).ok()?;
    if !env.root.is_dir() {
        return None;
    }
    Some(copy::SoftwareSource {
        exclude: crate::backup::parity::Exclusions::for_environment(&env),
        root: env.root,
    })
}

/// Writes the code manifest of the environment the pair comes from, when its root is on this computer
/// (prod, on the production Mac), into each copy folder, so `secours parity` on the standby Mac knows
/// production's code. Refreshed when the copy was already there. A failure is only a warning: the copy
/// itself is proven and kept.
fn record_code(config: &Config, pair: &Pair, results: &mut [CopyResult], progress: &dyn Progress, cancel: &Cancel) {
    if results.iter().all(|r| r.outcome.is_none()) {
        return;
    }
    let Some(env) = environment::all(config)
        .into_iter()
        .find(|e| pair.observation.pair_folder.starts_with(&e.backup_dir) && e.root.is_dir())
    else {
        return;
    };
    let manifest = match crate::backup::parity::environment_manifest(&env, progress, cancel) {
        Ok(m) => m,
        Err(e) => {
            log::warn!("the code of '{}' was not recorded next to the copy: {e}", env.name);
            return;
        }
    };
    for r in results {
        let (Some(CopyOutcome::Copied { folder, .. }) | Some(CopyOutcome::AlreadyThere { folder })) = &r.outcome else {
            continue;
        };
        let path = folder.join(crate::backup::parity::CODE_MANIFEST);
        match crate::backup::parity::write_manifest(&path, &manifest) {
            Ok(()) => r.code_manifest = Some(path),
            Err(e) => log::warn!("{e}"),
        }
    }
}

/// The newest copy at one destination.
#[derive(Debug, Clone, Serialize)]
pub struct CopyStatus {
    pub destination: PathBuf,
    pub newest: Option<PathBuf>,
    /// The backup time of the newest copy, as local date and time (from its folder name).
    pub date: Option<String>,
    pub age_seconds: Option<i64>,
    pub problem: Option<String>,
}

/// The newest copy at each configured destination.
pub fn copy_statuses(config: &Config, now: Timestamp) -> Vec<CopyStatus> {
    config
        .safe_copy
        .destinations
        .iter()
        .map(|d| copy_status(d, now))
        .collect()
}

fn copy_status(dest: &Path, now: Timestamp) -> CopyStatus {
    let empty = |problem: Option<String>| CopyStatus {
        destination: dest.to_owned(),
        newest: None,
        date: None,
        age_seconds: None,
        problem,
    };
    if let Err(e) = copy::check_destination(dest, Path::new("/Volumes")) {
        return empty(Some(e.to_string()));
    }
    match copy::list_copies(dest) {
        Ok(list) => match list.into_iter().rev().find(|c| c.manifest) {
            Some(c) => {
                let at = c
                    .date
                    .to_zoned(jiff::tz::TimeZone::system())
                    .ok()
                    .map(|z| z.timestamp());
                CopyStatus {
                    destination: dest.to_owned(),
                    newest: Some(c.folder),
                    date: Some(c.date.to_string()),
                    age_seconds: at.map(|t| now.as_second() - t.as_second()),
                    problem: None,
                }
            }
            None => empty(None),
        },
        Err(CopyError::Destination { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => empty(None),
        Err(e) => empty(Some(e.to_string())),
    }
}
