//! Which `tmutil` verbs the app asks, and when, so that watching Time Machine never mounts its disk.
//!
//! `tmutil latestbackup` (and `listbackups`) need the destination: on a network disk each call mounts it,
//! or fails while it cannot be reached. So the app's adaptive polling ([`super::next_poll`]: every 60 s,
//! every 5 s while a backup runs) asks only `status` and `destinationinfo`, which read local state, and
//! keeps what a *full* reading learnt ([`Kept`]: the latest backup, whether the folder is excluded, the
//! failures those calls met). [`full_read`] says when a poll reads them again:
//! - at start (nothing kept);
//! - when a backup finishes (`Running` 1 → 0 between two polls);
//! - when the menu opens or a restore asks (`asked`);
//! - when the backup kept is old enough to make the state late, at most every [`RECHECK`]: a short backup
//!   can start and finish between two polls, and the app must not call Time Machine late for that.
//!
//! A full reading that cannot reach a network destination keeps the latest backup known before: a NAS
//! that is simply not mounted between backups is not an alert. `listbackups` is asked by a restore only
//! (`restore::sources`), never by the polling.

use std::path::Path;
use std::time::Duration;

use jiff::{Timestamp, Zoned};

use super::{BackupEntry, CommandRunner, Observations, TimeMachineStatus, TmFailure, TmThresholds, ask, decide, parse};

/// The least time between two full readings made only because the kept backup looks late.
pub const RECHECK: Duration = Duration::from_secs(30 * 60);

/// What the last full reading learnt, kept for the quick polls after it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Kept {
    /// `latestbackup`.
    pub latest: Option<BackupEntry>,
    /// `isexcluded <backup-dir>`.
    pub excluded: Option<bool>,
    /// Known failures met by the full reading's calls (Full Disk Access missing…).
    pub failures: Vec<TmFailure>,
    /// An answer the full reading did not understand.
    pub error: Option<String>,
    /// When the full reading was made.
    pub read_at: Option<Timestamp>,
    /// Whether a backup was running at the last poll (full or quick).
    pub running: bool,
}

/// Why a poll also reads `latestbackup` and `isexcluded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FullRead {
    /// Nothing is known yet.
    Start,
    /// A backup was running at the previous poll and is not any more.
    BackupFinished,
    /// The menu opened, or a restore needs it.
    Asked,
    /// The kept backup would make the state late: make sure no backup came and went unseen.
    Recheck,
}

/// Whether this poll reads the destination too (pure; see the module documentation). `running_now` is
/// what this poll's `status` said.
pub fn full_read(
    kept: Option<&Kept>,
    running_now: bool,
    asked: bool,
    thresholds: &TmThresholds,
    now: &Zoned,
) -> Option<FullRead> {
    let Some(kept) = kept else {
        return Some(FullRead::Start);
    };
    if asked {
        return Some(FullRead::Asked);
    }
    if kept.running && !running_now {
        return Some(FullRead::BackupFinished);
    }
    let age = kept
        .latest
        .as_ref()
        .and_then(|b| b.taken_at.to_zoned(now.time_zone().clone()).ok())
        .map(|t| now.timestamp().as_second() - t.timestamp().as_second());
    let looks_late = age.is_none_or(|a| a >= thresholds.late_after.as_secs() as i64);
    let since = kept.read_at.map(|at| now.timestamp().as_second() - at.as_second());
    let recheck_due = since.is_none_or(|s| s >= RECHECK.as_secs() as i64);
    (looks_late && recheck_due && !running_now).then_some(FullRead::Recheck)
}

/// What a poll asks about.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The `tmutil` to run.
    pub tmutil: &'a Path,
    /// The backup folder (`isexcluded`).
    pub backup_dir: &'a Path,
    /// The modification time of its latest pair, when known.
    pub pair_mtime: Option<Timestamp>,
}

/// One poll of the app: `status` and `destinationinfo`, plus `latestbackup` and `isexcluded` when
/// [`full_read`] says so; the rest from `kept`. Returns the status and what to keep for the next poll;
/// `None` when `tmutil` cannot be started at all (no Time Machine here).
pub fn poll(
    runner: &dyn CommandRunner,
    target: Target<'_>,
    kept: Option<&Kept>,
    asked: bool,
    thresholds: &TmThresholds,
    now: &Zoned,
) -> Option<(TimeMachineStatus, Kept)> {
    let Target {
        tmutil,
        backup_dir,
        pair_mtime,
    } = target;
    let mut obs = super::status_and_destinations(runner, tmutil)?;
    let running_now = obs.session.as_ref().is_some_and(|s| s.running);
    let no_destination =
        obs.failures.contains(&TmFailure::NoDestination) || obs.destinations.as_ref().is_some_and(Vec::is_empty);
    let why = full_read(kept, running_now, asked, thresholds, now);
    let mut next = kept.cloned().unwrap_or_default();
    next.running = running_now;
    if let Some(why) = why {
        log::debug!("Time Machine: full reading ({why:?})");
        let mut full = Observations::default();
        if !no_destination {
            let out = runner.run(tmutil, &["latestbackup"]);
            full.latest = ask(&mut full, runner, tmutil, out, &[], parse::parse_latest_backup);
        }
        let dir = backup_dir.to_string_lossy();
        let out = runner.run(tmutil, &["isexcluded", &dir]);
        full.excluded = ask(&mut full, runner, tmutil, out, &[], parse::parse_is_excluded);
        let gone =
            full.failures.contains(&TmFailure::NoBackups) || full.failures.contains(&TmFailure::NoMachineDirectory);
        // A destination out of reach now does not erase the backup known before; "no backups" does.
        let latest = match (&full.latest, gone || no_destination) {
            (Some(l), _) => Some(l.clone()),
            (None, true) => None,
            (None, false) => kept.and_then(|k| k.latest.clone()),
        };
        next = Kept {
            latest,
            excluded: full.excluded.or(kept.and_then(|k| k.excluded)),
            failures: full.failures,
            error: full.error,
            read_at: Some(now.timestamp()),
            running: running_now,
        };
    }
    obs.latest = next.latest.clone();
    obs.excluded = next.excluded;
    for f in &next.failures {
        if !obs.failures.contains(f) {
            obs.failures.push(*f);
        }
    }
    if obs.error.is_none() {
        obs.error = next.error.clone();
    }
    Some((decide(&obs, backup_dir, pair_mtime, thresholds, now), next))
}
