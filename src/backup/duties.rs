//! What the app does by itself, as plain decisions the menu-bar app carries out on its worker thread:
//! verify a new pair once it has stopped growing, then copy it to the safe places when `[safe-copy]
//! automatic` is on; keep the history small with a daily prune.
//!
//! Nothing here runs anything: each function takes what was observed and says what is due, so the policy
//! is tested without a display, a server or a clock.

use std::time::{Duration, Instant};

use jiff::Timestamp;

use crate::backup::freshness::State;
use crate::backup::inspect::FileObservation;
use crate::backup::status::SourceStatus;
use crate::env::config::SafeCopyConfig;

/// What is due now for the first watched source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duty {
    Nothing,
    /// A file of the pair has no verdict yet: verify the pair.
    Verify,
    /// The pair is verified sound and the newest safe copy is older than it: copy it.
    Copy,
}

/// How often the history is pruned ([`crate::store::history::History::prune`]).
pub const PRUNE_EVERY: Duration = Duration::from_secs(86_400);

/// Whether a duty done every `every` (the standby's pre-staging, the comparison of the software, the
/// prune) is due: never done yet, or the last time was `every` ago.
pub fn due(last: Option<Instant>, now: Instant, every: Duration) -> bool {
    last.is_none_or(|at| now.saturating_duration_since(at) >= every)
}

/// The duty for `source` (the first watched source), given what history says of each file
/// (`verified_ok`: `None` never verified, `Some(true)` verified sound, `Some(false)` verified and not
/// sound) and the time of the newest safe copy.
///
/// A pair still being written is left alone, and so is a missing one. A pair not verified sound is never
/// copied (the alert policy speaks of it). A copy within a minute of the backup counts as that backup's.
pub fn next(
    source: Option<&SourceStatus>,
    verified_ok: impl Fn(&FileObservation) -> Option<bool>,
    newest_copy: Option<Timestamp>,
    safe_copy: &SafeCopyConfig,
) -> Duty {
    let Some(source) = source else { return Duty::Nothing };
    if source.state == State::Writing {
        return Duty::Nothing;
    }
    let (Some(db), Some(media)) = (&source.db.observation, &source.media.observation) else {
        return Duty::Nothing;
    };
    let (db_ok, media_ok) = (verified_ok(db), verified_ok(media));
    if db_ok.is_none() || media_ok.is_none() {
        return Duty::Verify;
    }
    let backup_time = db.modified.min(media.modified);
    let copy_is_behind = newest_copy.is_none_or(|at| at.as_second() + 60 < backup_time.as_second());
    if db_ok == Some(true)
        && media_ok == Some(true)
        && safe_copy.automatic
        && !safe_copy.destinations.is_empty()
        && copy_is_behind
    {
        Duty::Copy
    } else {
        Duty::Nothing
    }
}

/// Whether the daily prune is due: at start (never pruned), then once [`PRUNE_EVERY`] has passed.
pub fn prune_due(last: Option<Instant>, now: Instant) -> bool {
    due(last, now, PRUNE_EVERY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::status::FileStatus;
    use std::path::PathBuf;

    fn observation(path: &str, at: i64) -> FileObservation {
        FileObservation {
            path: PathBuf::from(path),
            bytes: 10,
            modified: Timestamp::from_second(at).unwrap(),
            mtime_ns: i128::from(at) * 1_000_000_000,
            inode: 1,
        }
    }

    fn source(state: State, present: bool) -> SourceStatus {
        let file = |p: &str| FileStatus {
            path: PathBuf::from(p),
            bytes: None,
            modified: None,
            problem: None,
            observation: present.then(|| observation(p, 1_000_000)),
        };
        SourceStatus {
            name: "prod".into(),
            folder: PathBuf::from("/b"),
            pair_folder: PathBuf::from("/b"),
            state,
            age_seconds: None,
            reason: None,
            problem: None,
            db: file("/b/app.gz"),
            media: file("/b/media.taz"),
            anomalies: Vec::new(),
        }
    }

    fn copies(automatic: bool, destinations: usize) -> SafeCopyConfig {
        SafeCopyConfig {
            destinations: (0..destinations).map(|i| PathBuf::from(format!("/safe{i}"))).collect(),
            automatic,
            ..SafeCopyConfig::default()
        }
    }

    #[test]
    fn nothing_without_a_complete_pair_or_while_it_is_written() {
        let c = copies(true, 1);
        assert_eq!(next(None, |_| None, None, &c), Duty::Nothing);
        assert_eq!(
            next(Some(&source(State::Missing, false)), |_| None, None, &c),
            Duty::Nothing
        );
        // Guards against verifying (and copying) a pair the hourly job is still writing.
        assert_eq!(
            next(Some(&source(State::Writing, true)), |_| None, None, &c),
            Duty::Nothing
        );
    }

    #[test]
    fn a_pair_with_a_file_never_verified_is_verified() {
        let c = copies(true, 1);
        assert_eq!(
            next(Some(&source(State::Fresh, true)), |_| None, None, &c),
            Duty::Verify
        );
        let only_db = |o: &FileObservation| o.path.ends_with("app.gz").then_some(true);
        assert_eq!(next(Some(&source(State::Fresh, true)), only_db, None, &c), Duty::Verify);
    }

    #[test]
    fn a_sound_pair_is_copied_when_automatic_and_behind() {
        let s = source(State::Fresh, true);
        assert_eq!(next(Some(&s), |_| Some(true), None, &copies(true, 1)), Duty::Copy);
        let older = Timestamp::from_second(1_000_000 - 3600).ok();
        assert_eq!(next(Some(&s), |_| Some(true), older, &copies(true, 1)), Duty::Copy);
        // A copy within the minute is this backup's copy.
        let same = Timestamp::from_second(1_000_000 - 30).ok();
        assert_eq!(next(Some(&s), |_| Some(true), same, &copies(true, 1)), Duty::Nothing);
        assert_eq!(next(Some(&s), |_| Some(true), None, &copies(false, 1)), Duty::Nothing);
        assert_eq!(next(Some(&s), |_| Some(true), None, &copies(true, 0)), Duty::Nothing);
    }

    // Guards the promise that a damaged backup never replaces a good safe copy by itself.
    #[test]
    fn a_pair_not_verified_sound_is_never_copied() {
        let s = source(State::Corrupt, true);
        let media_bad = |o: &FileObservation| Some(!o.path.ends_with("media.taz"));
        assert_eq!(next(Some(&s), media_bad, None, &copies(true, 1)), Duty::Nothing);
    }

    #[test]
    fn prune_at_start_then_daily() {
        let now = Instant::now();
        assert!(prune_due(None, now));
        assert!(!prune_due(Some(now), now + Duration::from_secs(3600)));
        assert!(prune_due(Some(now), now + PRUNE_EVERY));
    }

    // Guards the rhythm of a periodic duty (the pre-staging's `[standby] every`): at once the first time,
    // then every period.
    #[test]
    fn a_periodic_duty_is_due_at_once_then_every_period() {
        let t0 = Instant::now();
        let every = Duration::from_secs(600);
        assert!(due(None, t0, every));
        assert!(!due(Some(t0), t0 + Duration::from_secs(599), every));
        assert!(due(Some(t0), t0 + every, every));
    }
}
