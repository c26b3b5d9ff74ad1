//! Time Machine: is the backup folder copied off this Mac, how recently, and where can it be restored from.
//!
//! Everything is read through `tmutil` (the path comes from the `[time-machine] tmutil` setting, so tests
//! can put a fake in its place), never by scraping the UI: `status -X`, `destinationinfo -X` (each falling
//! back to its older text form), `latestbackup`, `isexcluded <backup-dir>` and, for restores,
//! `listbackups`. Outputs are parsed by pure functions ([`parse`]); known failures are recognised in the
//! texts, because `tmutil`'s exit code is not reliable.
//!
//! Guarantees:
//! - [`read_status`] never fails and never panics: a missing or disabled `tmutil` gives
//!   `available: false` / state `unavailable`; anything else unexpected gives state `error` with the text
//!   `tmutil` printed.
//! - No call waits longer than the runner's timeout (20 s for [`SystemRunner::default`]); `tmutil` is run
//!   through the platform's runner ([`crate::platform::runner`]), this module only says what to ask and
//!   reads the answers.
//! - The state is derived from the observations, the thresholds and `now` only ([`decide`]), so it is
//!   tested without a Mac.
//! - Only completed backups (no suffix, or `.backup`) count as "the latest backup" or as restore sources.
//!
//! May use: [`crate::env`], [`crate::platform`] (its runner runs `tmutil`) and the ground modules.

mod messages;
pub mod parse;
pub mod schedule;

use std::io;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use jiff::{Timestamp, Zoned};
use serde::{Deserialize, Serialize};

use crate::platform::runner::{CommandRunner, Output};
pub use messages::{Lang, Reason};
pub use parse::{BackupEntry, BackupSuffix, Destination, DestinationKind, SessionStatus, TmFailure};

/// The one-word summary, in the priority order [`decide`] applies (first match wins):
/// `unavailable` > `needs-full-disk-access` > `no-destination` > `excluded` > `destination-unavailable`
/// (only when no backup is running and the latest is not recent) > `running` > `error` (only when the latest
/// backup could not be learnt) > `stale` > `late` > `ok`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TmState {
    /// The latest completed backup is recent.
    Ok,
    /// Older than `late_after` (2 h by default).
    Late,
    /// Older than `stale_after` (26 h by default), or no backup at all.
    Stale,
    /// A backup is running now.
    Running,
    NeedsFullDiskAccess,
    NoDestination,
    /// The destination cannot be reached and there is no recent backup.
    DestinationUnavailable,
    /// The backup folder is excluded from Time Machine.
    Excluded,
    /// `tmutil` answered something we do not understand.
    Error,
    /// No `tmutil` (not a Mac, or disabled in the configuration). Not an error.
    Unavailable,
}

/// What Secours knows about Time Machine, as `secours status --json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeMachineStatus {
    /// The configured `tmutil` exists and runs.
    pub available: bool,
    pub state: TmState,
    /// When the latest completed backup was taken (RFC 3339).
    pub latest_backup: Option<Timestamp>,
    pub running: bool,
    /// `BackupPhase` while running (`Starting`, `FindingChanges`, `Copying`, …); see [`phase_label`].
    pub phase: Option<String>,
    /// 0–100 while running, 0 otherwise.
    pub percent: u8,
    pub destinations: Vec<Destination>,
    /// Whether `tmutil isexcluded` says the backup folder is excluded; `null` when it could not be asked.
    pub backup_dir_excluded: Option<bool>,
    /// The latest hourly pair was written before the latest completed Time Machine backup was taken, so
    /// it is in it; `null` when either time is unknown.
    pub pair_in_latest_backup: Option<bool>,
    /// The explanation and action for the state, in English until [`TimeMachineStatus::localize`] is called.
    pub message: Option<String>,
    /// What `message` is made from, for re-rendering in another language.
    #[serde(skip)]
    pub reason: Option<Reason>,
}

impl TimeMachineStatus {
    /// The status where there is no `tmutil` to ask (Linux, or `enabled = false`).
    pub fn unavailable() -> Self {
        TimeMachineStatus {
            available: false,
            state: TmState::Unavailable,
            latest_backup: None,
            running: false,
            phase: None,
            percent: 0,
            destinations: Vec::new(),
            backup_dir_excluded: None,
            pair_in_latest_backup: None,
            message: None,
            reason: None,
        }
    }

    /// The message in `lang`, without changing `self`.
    pub fn message_in(&self, lang: Lang) -> Option<String> {
        self.reason.as_ref().map(|r| r.message(lang))
    }

    /// Rewrites `message` in `lang`.
    pub fn localize(&mut self, lang: Lang) {
        self.message = self.message_in(lang);
    }
}

/// When a backup counts as late or stale. Time Machine runs hourly; a backup can take a while and the Mac
/// may sleep, hence the grace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TmThresholds {
    pub late_after: Duration,
    pub stale_after: Duration,
}

impl Default for TmThresholds {
    fn default() -> Self {
        TmThresholds {
            late_after: Duration::from_secs(2 * 3600),
            stale_after: Duration::from_secs(26 * 3600),
        }
    }
}

/// How often to ask `tmutil` when nothing happens.
pub const POLL_IDLE: Duration = Duration::from_secs(60);
/// How often to ask while a backup runs, so the percentage moves.
pub const POLL_RUNNING: Duration = Duration::from_secs(5);
/// When the menu opens, ask at once (whatever [`next_poll`] said), so it never shows an old state.
pub const POLL_ON_MENU_OPEN: Duration = Duration::ZERO;

/// The delay before the next poll, given the last status. (Opening the menu polls at once:
/// [`POLL_ON_MENU_OPEN`].)
pub fn next_poll(status: &TimeMachineStatus) -> Duration {
    if status.running { POLL_RUNNING } else { POLL_IDLE }
}

/// A short label for a `BackupPhase`, for the menu. Unknown phases are shown as printed.
pub fn phase_label(phase: &str, lang: Lang) -> String {
    let (en, fr) = match phase {
        "Starting"
        | "ThinningPreBackup"
        | "PreparingSourceVolumes"
        | "MountingBackupVol"
        | "MountingBackupVolForHealthCheck"
        | "MountingDiskImage"
        | "DeletingOldBackups" => ("Preparing backup…", "Préparation de la sauvegarde…"),
        "FindingChanges" | "CalculatingChanges" => ("Finding changes…", "Recherche des modifications…"),
        "Copying" => ("Backing up…", "Sauvegarde en cours…"),
        "Finishing" | "ThinningPostBackup" => ("Finishing backup…", "Fin de la sauvegarde…"),
        "HealthCheckFsck" | "HealthCheckCopyHFSMeta" => ("Verifying backups…", "Vérification des sauvegardes…"),
        "Stopping" => ("Stopping…", "Arrêt…"),
        other => return other.to_owned(),
    };
    match lang {
        Lang::En => en.to_owned(),
        Lang::Fr => fr.to_owned(),
    }
}

/// What the `tmutil` calls of one poll learnt; the input of [`decide`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observations {
    /// `status`, when it could be read.
    pub session: Option<SessionStatus>,
    /// `destinationinfo`, when it could be read (empty: none configured).
    pub destinations: Option<Vec<Destination>>,
    /// `latestbackup`, when it named a backup.
    pub latest: Option<BackupEntry>,
    /// `isexcluded <backup-dir>`, when it could be read.
    pub excluded: Option<bool>,
    /// Known failures recognised in any output.
    pub failures: Vec<TmFailure>,
    /// The first output nobody understood (or a timeout), for the `error` state.
    pub error: Option<String>,
}

/// Asks `tmutil` everything and derives the status. Never fails: see the module guarantees.
///
/// `tmutil` is `None` when Time Machine is disabled in the configuration. `pair_mtime` is the modification
/// time of the latest hourly pair, when known. Backup names are local times: they are read in `now`'s time
/// zone (pass `Zoned::now()`).
pub fn read_status(
    runner: &dyn CommandRunner,
    tmutil: Option<&Path>,
    backup_dir: &Path,
    pair_mtime: Option<Timestamp>,
    thresholds: &TmThresholds,
    now: &Zoned,
) -> TimeMachineStatus {
    let Some(tmutil) = tmutil else {
        return TimeMachineStatus::unavailable();
    };
    match observe(runner, tmutil, backup_dir) {
        Some(obs) => decide(&obs, backup_dir, pair_mtime, thresholds, now),
        None => TimeMachineStatus::unavailable(),
    }
}

/// `status` and `destinationinfo` (each falling back to its text form), the part of every poll; `None` when
/// `tmutil` cannot be started at all.
pub(super) fn status_and_destinations(runner: &dyn CommandRunner, tmutil: &Path) -> Option<Observations> {
    let mut obs = Observations::default();
    // The first call also tells whether tmutil exists: a start failure (other than a timeout) means it
    // does not, which is the normal case on Linux.
    match runner.run(tmutil, &["status", "-X"]) {
        Err(e) if e.kind() != io::ErrorKind::TimedOut => {
            log::debug!(
                "'{} status -X' could not start: {e}; Time Machine is unavailable",
                tmutil.display()
            );
            return None;
        }
        first => obs.session = ask(&mut obs, runner, tmutil, first, &["status"], parse::parse_status),
    }
    let first = runner.run(tmutil, &["destinationinfo", "-X"]);
    obs.destinations = ask(
        &mut obs,
        runner,
        tmutil,
        first,
        &["destinationinfo"],
        parse::parse_destinations,
    );
    Some(obs)
}

/// Runs the `tmutil` verbs of one poll. `None` when `tmutil` cannot be started at all.
///
/// `isexcluded` is asked about the backup folder itself. Whether `tmutil` also reports a folder as
/// excluded when only one of its parents is in the exclusion list is not documented; Secours does not ask
/// about each parent (a known limit).
pub fn observe(runner: &dyn CommandRunner, tmutil: &Path, backup_dir: &Path) -> Option<Observations> {
    let mut obs = status_and_destinations(runner, tmutil)?;
    let no_destination =
        obs.failures.contains(&TmFailure::NoDestination) || obs.destinations.as_ref().is_some_and(Vec::is_empty);
    // Without a destination, latestbackup can only fail (and may try to mount things first).
    if !no_destination {
        let out = runner.run(tmutil, &["latestbackup"]);
        obs.latest = ask(&mut obs, runner, tmutil, out, &[], parse::parse_latest_backup);
    }
    let dir = backup_dir.to_string_lossy();
    let out = runner.run(tmutil, &["isexcluded", &dir]);
    obs.excluded = ask(&mut obs, runner, tmutil, out, &[], parse::parse_is_excluded);
    Some(obs)
}

/// Parses one answer; on a known failure records it; on an unknown answer retries with `fallback` (the
/// verb's older text form) when there is one, else records the error.
fn ask<T>(
    obs: &mut Observations,
    runner: &dyn CommandRunner,
    tmutil: &Path,
    answer: io::Result<Output>,
    fallback: &[&str],
    parse: fn(&[u8]) -> Result<T, parse::ParseError>,
) -> Option<T> {
    let out = match answer {
        Ok(out) => out,
        Err(e) => {
            obs.error.get_or_insert(e.to_string());
            return None;
        }
    };
    if let Ok(value) = parse(&out.stdout) {
        return Some(value);
    }
    if let Some(failure) = parse::classify_failure(&out.stdout, &out.stderr) {
        if !obs.failures.contains(&failure) {
            obs.failures.push(failure);
        }
        return None;
    }
    if !fallback.is_empty() {
        // `-X` refused (older releases print their usage): ask for the text form instead.
        let again = runner.run(tmutil, fallback);
        return ask(obs, runner, tmutil, again, &[], parse);
    }
    let detail = if out.stderr.iter().any(|b| !b.is_ascii_whitespace()) {
        &out.stderr
    } else {
        &out.stdout
    };
    log::warn!(
        "'{}' gave an unexpected answer: '{}'",
        tmutil.display(),
        parse::excerpt(detail)
    );
    obs.error.get_or_insert_with(|| parse::excerpt(detail));
    None
}

/// Derives the status from one poll's observations (pure; see [`TmState`] for the priority order).
pub fn decide(
    obs: &Observations,
    backup_dir: &Path,
    pair_mtime: Option<Timestamp>,
    thresholds: &TmThresholds,
    now: &Zoned,
) -> TimeMachineStatus {
    let session = obs.session.clone().unwrap_or_default();
    let latest = obs
        .latest
        .as_ref()
        .filter(|b| b.is_completed())
        .and_then(|b| b.taken_at.to_zoned(now.time_zone().clone()).ok())
        .map(|z| z.timestamp());
    let age = latest.map(|t| {
        // A backup "in the future" (clock changes) counts as just made.
        Duration::from_secs(u64::try_from(now.timestamp().as_second() - t.as_second()).unwrap_or(0))
    });
    let fresh = age.is_some_and(|a| a < thresholds.late_after);
    let has = |f: TmFailure| obs.failures.contains(&f);
    let destinations = obs.destinations.clone().unwrap_or_default();
    // A network share is normally unmounted between backups, so only local disks count as "not connected".
    let local_unplugged = !destinations.is_empty()
        && destinations
            .iter()
            .all(|d| d.kind == DestinationKind::Local && !d.mounted);

    let (state, reason) = if has(TmFailure::FullDiskAccess) {
        (TmState::NeedsFullDiskAccess, Some(Reason::FullDiskAccess))
    } else if has(TmFailure::NoDestination) || obs.destinations.as_ref().is_some_and(Vec::is_empty) {
        (TmState::NoDestination, Some(Reason::NoDestination))
    } else if obs.excluded == Some(true) {
        (
            TmState::Excluded,
            Some(Reason::Excluded {
                path: backup_dir.to_owned(),
            }),
        )
    } else if !session.running && !fresh && (has(TmFailure::DestinationUnavailable) || local_unplugged) {
        let name = destinations
            .iter()
            .find(|d| d.last)
            .or_else(|| destinations.first())
            .map(|d| d.name.clone())
            .filter(|n| !n.is_empty());
        (
            TmState::DestinationUnavailable,
            Some(Reason::DestinationUnavailable { name }),
        )
    } else if session.running {
        (TmState::Running, None)
    } else if let Some(age) = age {
        if age >= thresholds.stale_after {
            (TmState::Stale, Some(Reason::Stale { age }))
        } else if age >= thresholds.late_after {
            (TmState::Late, Some(Reason::Late { age }))
        } else {
            (TmState::Ok, None)
        }
    } else if has(TmFailure::NoMachineDirectory) {
        (TmState::Stale, Some(Reason::NoMachineDirectory))
    } else if let Some(detail) = obs.error.as_ref().filter(|_| !has(TmFailure::NoBackups)) {
        (TmState::Error, Some(Reason::Error { detail: detail.clone() }))
    } else {
        // "No backups found", or latestbackup printing nothing: there is no copy off this Mac.
        (TmState::Stale, Some(Reason::NoBackups))
    };

    TimeMachineStatus {
        available: true,
        state,
        latest_backup: latest,
        running: session.running,
        percent: session.percent(),
        phase: session.phase,
        destinations,
        backup_dir_excluded: obs.excluded,
        pair_in_latest_backup: match (pair_mtime, latest) {
            // Strictly before: a pair written during the second the snapshot was taken may be missing.
            (Some(pair), Some(backup)) => Some(pair < backup),
            _ => None,
        },
        message: reason.as_ref().map(|r| r.message(Lang::En)),
        reason,
    }
}

/// Why `tmutil listbackups` gave no list.
#[derive(Debug, thiserror::Error)]
pub enum TmError {
    #[error("cannot run '{} listbackups': {source}. Check the '[time-machine] tmutil' path in the configuration.", .program.display())]
    Run {
        program: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("'tmutil listbackups' failed. {message}")]
    Failed { failure: TmFailure, message: String },
    #[error(
        "'tmutil listbackups' gave an answer Secours does not understand: '{detail}'. Run 'tmutil listbackups' in Terminal to see what macOS says."
    )]
    Unrecognised { detail: String },
}

/// All backups `tmutil listbackups` names, oldest first, in every state (filter with
/// [`BackupEntry::is_completed`]). "No backups found" and "no machine directory" are an empty list.
pub fn list_backups(runner: &dyn CommandRunner, tmutil: &Path) -> Result<Vec<BackupEntry>, TmError> {
    let out = runner.run(tmutil, &["listbackups"]).map_err(|source| TmError::Run {
        program: tmutil.to_owned(),
        source,
    })?;
    let list = parse::parse_backup_list(&out.stdout);
    if !list.is_empty() {
        return Ok(list);
    }
    match parse::classify_failure(&out.stdout, &out.stderr) {
        Some(TmFailure::NoBackups | TmFailure::NoMachineDirectory) => Ok(Vec::new()),
        Some(failure) => Err(TmError::Failed {
            failure,
            message: failure_reason(failure).message(Lang::En),
        }),
        None if out.stdout.iter().chain(&out.stderr).all(u8::is_ascii_whitespace) => Ok(Vec::new()),
        None => {
            let detail = if out.stderr.is_empty() {
                &out.stdout
            } else {
                &out.stderr
            };
            Err(TmError::Unrecognised {
                detail: parse::excerpt(detail),
            })
        }
    }
}

fn failure_reason(failure: TmFailure) -> Reason {
    match failure {
        TmFailure::FullDiskAccess => Reason::FullDiskAccess,
        TmFailure::NoDestination => Reason::NoDestination,
        TmFailure::DestinationUnavailable => Reason::DestinationUnavailable { name: None },
        TmFailure::NoMachineDirectory => Reason::NoMachineDirectory,
        TmFailure::NoBackups => Reason::NoBackups,
    }
}

/// Where the backup folder is inside one Time Machine backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreSource {
    pub backup: BackupEntry,
    /// The backup folder as it was when that backup was taken.
    pub path: PathBuf,
}

/// The name macOS (10.15 and later) gives the data half of the startup disk, which holds `/Users`,
/// `/Library`, `/usr/local`, … The user may have renamed "Macintosh HD"; [`restore_sources`] then finds
/// the renamed "… - Data" folder by listing the backup.
pub const DATA_VOLUME: &str = "Macintosh HD - Data";

/// For each completed backup, newest first, the copy of `backup_dir` in it, kept when it exists and
/// `holds_pair` says it holds a backup pair.
///
/// Assumptions (macOS 11–26, and HFS+ backups from older releases):
/// - Inside a backup, each backed-up volume is a folder named after the volume:
///   `<backup>/<volume>/<path on that volume>`. For HFS+ `<backup>` is
///   `…/Backups.backupdb/<host>/<YYYY-MM-DD-HHMMSS>`; for APFS it is the snapshot mount that `listbackups`
///   prints, `/Volumes/.timemachine/<UUID>/<name>.backup/<name>.backup`, which `tmutil` mounts on demand.
/// - A path under `/Volumes/<X>/` lives on volume `X`. Any other absolute path lives on the startup disk's
///   data volume ([`DATA_VOLUME`], or a renamed "… - Data" folder, or the whole "Macintosh HD" of
///   pre-Catalina HFS+ backups). `/System/Volumes/Data/…` is the same place as `/…`.
/// - `backup_dir` is absolute and already free of symlinks (canonicalise it first); a relative path gives
///   no sources.
pub fn restore_sources(
    backups: &[BackupEntry],
    backup_dir: &Path,
    holds_pair: impl Fn(&Path) -> bool,
) -> Vec<RestoreSource> {
    let Some((volume, rel)) = location_on_volume(backup_dir) else {
        return Vec::new();
    };
    let mut completed: Vec<&BackupEntry> = backups.iter().filter(|b| b.is_completed()).collect();
    completed.sort_by_key(|b| std::cmp::Reverse(b.taken_at));
    completed
        .into_iter()
        .filter_map(|backup| {
            candidate_volumes(&backup.path, volume.as_deref())
                .into_iter()
                .map(|v| backup.path.join(v).join(&rel))
                .find(|p| p.is_dir() && holds_pair(p))
                .map(|path| RestoreSource {
                    backup: backup.clone(),
                    path,
                })
        })
        .collect()
}

/// Splits an absolute path into (volume under `/Volumes`, or `None` for the startup disk) and the path on
/// that volume.
fn location_on_volume(path: &Path) -> Option<(Option<String>, PathBuf)> {
    let path = path
        .strip_prefix("/System/Volumes/Data")
        .map(|p| Path::new("/").join(p))
        .unwrap_or(path.to_owned());
    let mut parts = path.components();
    if parts.next() != Some(Component::RootDir) {
        return None;
    }
    let rest: Vec<Component> = parts.collect();
    if rest.iter().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    match rest.as_slice() {
        [Component::Normal(v), Component::Normal(name), tail @ ..] if *v == "Volumes" => {
            Some((Some(name.to_string_lossy().into_owned()), tail.iter().collect()))
        }
        all => Some((None, all.iter().collect())),
    }
}

/// The volume folders to try inside one backup, most likely first.
fn candidate_volumes(backup: &Path, volume: Option<&str>) -> Vec<String> {
    if let Some(volume) = volume {
        return vec![volume.to_owned()];
    }
    let mut names = vec![DATA_VOLUME.to_owned()];
    let mut listed: Vec<String> = std::fs::read_dir(backup)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    // A renamed startup disk's data half ends with " - Data"; try those before whole volumes.
    listed.sort_by_key(|n| (!n.ends_with(" - Data"), n.clone()));
    for name in listed {
        if !names.contains(&name) && !name.starts_with('.') {
            names.push(name);
        }
    }
    names
}

#[cfg(test)]
mod tests;
