//! When to notify: a pure policy over (what is remembered, what is seen now, now).
//!
//! Rules (issue "menu-bar app"):
//! - one notification on each worsening change (late, stale, missing, corrupt, a Time Machine problem);
//! - reminders spaced out while a problem lasts: 4 h after the first alert, then daily;
//! - one "back to normal" when it recovers (only if a problem was notified);
//! - never the same alert twice within its interval, also across app restarts: the memory is kept in
//!   history (the caller stores what [`decide`] returns).

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The first reminder comes this long after the alert.
pub const FIRST_REMINDER: Duration = Duration::from_secs(4 * 3600);
/// Later reminders come this often.
pub const LATER_REMINDERS: Duration = Duration::from_secs(24 * 3600);

/// How bad a subject's condition is; the order is the severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Ok,
    Warning,
    Problem,
}

/// What one subject (a backup source, Time Machine) looks like now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// e.g. "backup:prod", "time-machine".
    pub subject: String,
    /// e.g. "late", "stale", "needs-full-disk-access"; "ok" when fine.
    pub condition: String,
    pub severity: Severity,
}

/// What is remembered of a subject (from history).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remembered {
    pub condition: String,
    pub severity: Severity,
    /// When this condition began.
    pub since: Timestamp,
    /// When an alert about this condition was last sent, if ever.
    pub last_sent: Option<Timestamp>,
    /// Whether any problem of this episode was notified (so a recovery deserves a "back to normal").
    pub episode_notified: bool,
}

/// The kind of notification to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Worse,
    Reminder,
    BackToNormal,
}

/// What to do for one subject: maybe send, and what to remember next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub send: Option<Kind>,
    pub remember: Remembered,
}

/// Decides for one subject.
pub fn decide(before: Option<&Remembered>, seen: &Seen, now: Timestamp) -> Decision {
    let fresh_memory = |last_sent: Option<Timestamp>, episode_notified| Remembered {
        condition: seen.condition.clone(),
        severity: seen.severity,
        since: now,
        last_sent,
        episode_notified,
    };
    let Some(before) = before else {
        // First sight: a problem is news; a good state is not.
        return if seen.severity == Severity::Ok {
            Decision {
                send: None,
                remember: fresh_memory(None, false),
            }
        } else {
            Decision {
                send: Some(Kind::Worse),
                remember: fresh_memory(Some(now), true),
            }
        };
    };
    if seen.condition == before.condition {
        if seen.severity == Severity::Ok {
            return Decision {
                send: None,
                remember: before.clone(),
            };
        }
        let last = before.last_sent.unwrap_or(before.since);
        let first_reminder_done = (last.as_second() - before.since.as_second()) as u64 >= FIRST_REMINDER.as_secs();
        let interval = if first_reminder_done {
            LATER_REMINDERS
        } else {
            FIRST_REMINDER
        };
        if (now.as_second() - last.as_second()) as u64 >= interval.as_secs() {
            let remember = Remembered {
                last_sent: Some(now),
                episode_notified: true,
                ..before.clone()
            };
            return Decision {
                send: Some(Kind::Reminder),
                remember,
            };
        }
        return Decision {
            send: None,
            remember: before.clone(),
        };
    }
    // The condition changed.
    if seen.severity == Severity::Ok {
        let send = before.episode_notified.then_some(Kind::BackToNormal);
        return Decision {
            send,
            remember: fresh_memory(send.map(|_| now), false),
        };
    }
    // Worse, or a different problem just as bad (stale → missing): news.
    if seen.severity >= before.severity {
        return Decision {
            send: Some(Kind::Worse),
            remember: fresh_memory(Some(now), true),
        };
    }
    // A milder problem (stale → late): no new alert;
    // the reminder clock keeps running from the last alert.
    Decision {
        send: None,
        remember: Remembered {
            condition: seen.condition.clone(),
            severity: seen.severity,
            since: before.since,
            last_sent: before.last_sent,
            episode_notified: before.episode_notified,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(condition: &str) -> Seen {
        let severity = match condition {
            "ok" => Severity::Ok,
            "late" => Severity::Warning,
            _ => Severity::Problem,
        };
        Seen {
            subject: "backup:prod".into(),
            condition: condition.into(),
            severity,
        }
    }

    /// Runs a sequence of (minutes since start, condition) and returns what was sent, with minutes.
    fn run(steps: &[(i64, &str)]) -> Vec<(i64, Kind)> {
        let t0 = 1_764_000_000;
        let mut memory: Option<Remembered> = None;
        let mut sent = Vec::new();
        for (minute, condition) in steps {
            let now = Timestamp::from_second(t0 + minute * 60).unwrap();
            let d = decide(memory.as_ref(), &seen(condition), now);
            if let Some(k) = d.send {
                sent.push((*minute, k));
            }
            memory = Some(d.remember);
        }
        sent
    }

    // The policy table: state sequences over time → the notifications sent.
    #[test]
    fn notification_policy_table() {
        use Kind::*;
        type Case<'a> = (&'a str, Vec<(i64, &'a str)>, Vec<(i64, Kind)>);
        let cases: Vec<Case> = vec![
            ("all fine: silence", vec![(0, "ok"), (60, "ok"), (6000, "ok")], vec![]),
            (
                "late once, then fine",
                vec![(0, "ok"), (90, "late"), (95, "late"), (150, "ok")],
                vec![(90, Worse), (150, BackToNormal)],
            ),
            (
                "worsening late → stale → missing: one alert each",
                vec![(0, "ok"), (90, "late"), (180, "stale"), (200, "missing")],
                vec![(90, Worse), (180, Worse), (200, Worse)],
            ),
            (
                "a lasting problem: reminder after 4 h, then daily",
                vec![
                    (0, "stale"),
                    (60, "stale"),
                    (239, "stale"),
                    (240, "stale"),
                    (300, "stale"),
                    (240 + 1439, "stale"),
                    (240 + 1440, "stale"),
                    (240 + 2880, "stale"),
                ],
                vec![(0, Worse), (240, Reminder), (1680, Reminder), (3120, Reminder)],
            ),
            (
                "improving stale → late: no new alert",
                vec![(0, "stale"), (30, "late")],
                vec![(0, Worse)],
            ),
            ("fine at first sight: nothing", vec![(0, "ok")], vec![]),
            (
                "problem at first sight (restart while broken)",
                vec![(0, "corrupt")],
                vec![(0, Worse)],
            ),
        ];
        for (name, steps, expected) in cases {
            assert_eq!(run(&steps), expected, "{name}");
        }
    }

    // Guards "never twice across restarts": the remembered state, restored, suppresses a repeat.
    #[test]
    fn remembered_alert_is_not_repeated_after_a_restart() {
        let t = |m: i64| Timestamp::from_second(1_764_000_000 + m * 60).unwrap();
        let first = decide(None, &seen("stale"), t(0));
        assert_eq!(first.send, Some(Kind::Worse));
        let json = serde_json::to_string(&first.remember).unwrap();
        let restored: Remembered = serde_json::from_str(&json).unwrap();
        assert_eq!(decide(Some(&restored), &seen("stale"), t(10)).send, None);
    }
}
