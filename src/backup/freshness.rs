//! How fresh a backup pair is: a pure function of (observations, thresholds, now).
//!
//! Rules (the foundation issue):
//! - the age of a pair is the age of its OLDER file (a fresh dump beside an old media archive is not a
//!   fresh backup);
//! - a file absent → `missing`; a file that cannot be read → `unknown`; a file that verification found
//!   broken → `corrupt`;
//! - a file modified in the last few seconds is still being written → `writing` (never `corrupt`);
//! - a modification time in the future beyond a small tolerance is clock skew: reported as `unknown`
//!   with the skew, never taken as fresh.

use crate::i18n::Texts;
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

/// The state of one backup source (and, worst of all, of the whole installation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    Fresh,
    Writing,
    Late,
    /// Complete and readable, but departing sharply from the last good pairs (see `anomaly`).
    Suspect,
    Stale,
    Missing,
    Corrupt,
    /// Verified, but its trial restore on the standby failed (see `restore::prestage`).
    Unrestorable,
    Unknown,
}

impl State {
    /// The word for this state, in `t`'s language.
    pub fn word(self, t: &Texts) -> &'static str {
        match self {
            State::Fresh => t.state_fresh,
            State::Writing => t.state_writing,
            State::Late => t.state_late,
            State::Stale => t.state_stale,
            State::Missing => t.state_missing,
            State::Corrupt => t.state_corrupt,
            State::Unknown => t.state_unknown,
            State::Suspect => t.state_suspect,
            State::Unrestorable => t.state_unrestorable,
        }
    }
}

impl State {
    /// Monitoring-plugin exit code: 0 fresh, 1 late/suspect, 2 stale/missing/corrupt/unrestorable, 3 unknown.
    pub fn exit_code(self) -> u8 {
        match self {
            State::Fresh | State::Writing => 0,
            State::Late | State::Suspect => 1,
            State::Stale | State::Missing | State::Corrupt | State::Unrestorable => 2,
            State::Unknown => 3,
        }
    }

    /// Order for "worst of": by exit code, then by how much attention it needs.
    fn rank(self) -> u8 {
        match self {
            State::Fresh => 0,
            State::Writing => 1,
            State::Late => 2,
            State::Suspect => 3,
            State::Stale => 4,
            State::Missing => 5,
            State::Corrupt => 6,
            State::Unrestorable => 7,
            State::Unknown => 8,
        }
    }

    /// The stable word used in JSON and history.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Fresh => "fresh",
            State::Writing => "writing",
            State::Late => "late",
            State::Suspect => "suspect",
            State::Stale => "stale",
            State::Missing => "missing",
            State::Corrupt => "corrupt",
            State::Unrestorable => "unrestorable",
            State::Unknown => "unknown",
        }
    }

    /// The state a stable word names (the inverse of [`State::as_str`]).
    pub fn from_word(word: &str) -> Option<State> {
        [
            State::Fresh,
            State::Writing,
            State::Late,
            State::Suspect,
            State::Stale,
            State::Missing,
            State::Corrupt,
            State::Unrestorable,
            State::Unknown,
        ]
        .into_iter()
        .find(|s| s.as_str() == word)
    }

    /// The worse of two states.
    pub fn worst(self, other: State) -> State {
        if (other.exit_code(), other.rank()) > (self.exit_code(), self.rank()) {
            other
        } else {
            self
        }
    }
}

/// The freshness thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Older than this: late.
    pub late_after: Duration,
    /// Older than this: stale.
    pub stale_after: Duration,
    /// A file modified less than this ago is still being written.
    pub settle: Duration,
    /// A modification time this far in the future is tolerated as "now".
    pub skew_tolerance: Duration,
}

impl Thresholds {
    pub fn new(late_after: Duration, stale_after: Duration) -> Self {
        Thresholds {
            late_after,
            stale_after,
            settle: Duration::from_secs(10),
            skew_tolerance: Duration::from_secs(120),
        }
    }
}

/// What is known of one file of the pair, for the purpose of freshness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileFacts {
    Present { modified: Timestamp, corrupt: bool },
    Absent,
    Unreadable,
}

/// Why a source is not fresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Reason {
    DbMissing,
    MediaMissing,
    BothMissing,
    Unreadable,
    Corrupt,
    ClockSkew {
        seconds_ahead: i64,
    },
    Writing,
    Old,
    /// The pair departs sharply from the last good ones (set by `status::apply_anomalies`).
    Suspect,
}

/// The verdict on one pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assessment {
    pub state: State,
    /// Age of the older file, in seconds (absent when a file is missing or unreadable).
    pub age_seconds: Option<i64>,
    pub reason: Option<Reason>,
}

/// Assesses a pair from what is known of its two files.
pub fn assess(db: &FileFacts, media: &FileFacts, th: &Thresholds, now: Timestamp) -> Assessment {
    use FileFacts::*;
    let unknown = |reason| Assessment {
        state: State::Unknown,
        age_seconds: None,
        reason: Some(reason),
    };
    let missing = |reason| Assessment {
        state: State::Missing,
        age_seconds: None,
        reason: Some(reason),
    };
    let (db_m, db_c, media_m, media_c) = match (db, media) {
        (Unreadable, _) | (_, Unreadable) => return unknown(Reason::Unreadable),
        (Absent, Absent) => return missing(Reason::BothMissing),
        (Absent, _) => return missing(Reason::DbMissing),
        (_, Absent) => return missing(Reason::MediaMissing),
        (
            Present {
                modified: a,
                corrupt: ac,
            },
            Present {
                modified: b,
                corrupt: bc,
            },
        ) => (*a, *ac, *b, *bc),
    };
    let oldest = db_m.min(media_m);
    let newest = db_m.max(media_m);
    let age = now.as_second() - oldest.as_second();
    let ahead = newest.as_second() - now.as_second();
    if ahead > th.skew_tolerance.as_secs() as i64 {
        return unknown(Reason::ClockSkew { seconds_ahead: ahead });
    }
    let age = age.max(0);
    if db_c || media_c {
        return Assessment {
            state: State::Corrupt,
            age_seconds: Some(age),
            reason: Some(Reason::Corrupt),
        };
    }
    let since_newest = (now.as_second() - newest.as_second()).max(0);
    if (since_newest as u64) < th.settle.as_secs() {
        return Assessment {
            state: State::Writing,
            age_seconds: Some(age),
            reason: Some(Reason::Writing),
        };
    }
    let state = if age as u64 > th.stale_after.as_secs() {
        State::Stale
    } else if age as u64 > th.late_after.as_secs() {
        State::Late
    } else {
        State::Fresh
    };
    let reason = (state != State::Fresh).then_some(Reason::Old);
    Assessment {
        state,
        age_seconds: Some(age),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_000_000;

    fn at(seconds_ago: i64) -> FileFacts {
        FileFacts::Present {
            modified: Timestamp::from_second(NOW - seconds_ago).unwrap(),
            corrupt: false,
        }
    }

    fn bad(seconds_ago: i64) -> FileFacts {
        FileFacts::Present {
            modified: Timestamp::from_second(NOW - seconds_ago).unwrap(),
            corrupt: true,
        }
    }

    // The whole decision table, one row per case the foundation issue names.
    #[test]
    fn freshness_table() {
        use FileFacts::{Absent, Unreadable};
        let th = Thresholds::new(Duration::from_secs(90 * 60), Duration::from_secs(3 * 3600));
        let h = 3600;
        let rows: Vec<(&str, FileFacts, FileFacts, State, Option<i64>)> = vec![
            ("both new", at(60), at(120), State::Fresh, Some(120)),
            (
                "exactly late-after is still fresh",
                at(90 * 60),
                at(10),
                State::Fresh,
                Some(90 * 60),
            ),
            (
                "just past late-after",
                at(90 * 60 + 1),
                at(10),
                State::Late,
                Some(90 * 60 + 1),
            ),
            ("older file decides", at(60), at(2 * h), State::Late, Some(2 * h)),
            (
                "exactly stale-after is late",
                at(3 * h),
                at(3 * h),
                State::Late,
                Some(3 * h),
            ),
            ("past stale-after", at(3 * h + 1), at(60), State::Stale, Some(3 * h + 1)),
            ("days old", at(50 * h), at(50 * h), State::Stale, Some(50 * h)),
            ("db absent", Absent, at(60), State::Missing, None),
            ("media absent", at(60), Absent, State::Missing, None),
            ("both absent", Absent, Absent, State::Missing, None),
            ("db unreadable", Unreadable, at(60), State::Unknown, None),
            (
                "media unreadable beats absent",
                Absent,
                Unreadable,
                State::Unknown,
                None,
            ),
            ("db corrupt", bad(60), at(60), State::Corrupt, Some(60)),
            (
                "media corrupt even if old",
                at(60),
                bad(10 * h),
                State::Corrupt,
                Some(10 * h),
            ),
            ("still being written", at(3), at(60), State::Writing, Some(60)),
            (
                "writing beats stale age of the other",
                at(2),
                at(10 * h),
                State::Writing,
                Some(10 * h),
            ),
            (
                "small future skew reads as just written",
                at(-60),
                at(30),
                State::Writing,
                Some(30),
            ),
            ("clock skew", at(-3 * h), at(60), State::Unknown, None),
        ];
        for (name, db, media, state, age) in rows {
            let a = assess(&db, &media, &th, Timestamp::from_second(NOW).unwrap());
            assert_eq!(a.state, state, "{name}");
            assert_eq!(a.age_seconds, age, "{name}");
            assert_eq!(a.reason.is_none(), state == State::Fresh, "{name}: {a:?}");
        }
    }

    #[test]
    fn worst_follows_exit_codes() {
        use State::*;
        assert_eq!(Fresh.worst(Late), Late);
        assert_eq!(Stale.worst(Late), Stale);
        assert_eq!(Missing.worst(Corrupt), Corrupt);
        assert_eq!(Corrupt.worst(Unknown), Unknown);
        assert_eq!(Writing.worst(Fresh), Writing);
        // A suspect pair needs more attention than a late one, less than a stale one.
        assert_eq!(Late.worst(Suspect), Suspect);
        assert_eq!(Suspect.worst(Stale), Stale);
        assert_eq!(Suspect.exit_code(), 1);
        let all = [Fresh, Writing, Late, Suspect, Stale, Missing, Corrupt, Unknown];
        for a in all {
            for b in all {
                assert_eq!(a.worst(b), b.worst(a), "{a:?} {b:?}");
                assert!(a.worst(b).exit_code() >= a.exit_code().max(b.exit_code()));
            }
        }
        assert_eq!(
            [
                Fresh.exit_code(),
                Late.exit_code(),
                Stale.exit_code(),
                Unknown.exit_code()
            ],
            [0, 1, 2, 3]
        );
    }
}
