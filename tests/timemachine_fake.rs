//! End to end: `read_status` with the real runner, pointed at a fake `tmutil` script that prints recorded
//! outputs. Each scenario is one situation the office can meet.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::tmutil;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use jiff::Zoned;
use jiff::civil::date;
use jiff::tz::{TimeZone, offset};
use secours::platform::runner::SystemRunner;
use secours::timemachine::{
    DestinationKind, Lang, TimeMachineStatus, TmState, TmThresholds, list_backups, next_poll, read_status,
};
use tmutil::{Reply, fixture, write_fake_tmutil};

const DIR: &str = "/Users/bureau/app/runtime/backup";

/// Local time of the office in November (UTC+1); the latest backup in the fixtures is 14:03:12 local.
fn at(day: i8, h: i8, m: i8) -> Zoned {
    date(2026, 11, day)
        .at(h, m, 0, 0)
        .to_zoned(TimeZone::fixed(offset(1)))
        .unwrap()
}

/// Replies of a healthy, idle Mac with one plugged-in disk; scenarios override some of them.
fn healthy() -> BTreeMap<&'static str, Reply> {
    BTreeMap::from([
        ("status -X", Reply::out(fixture("valid/status/idle.xml"))),
        (
            "destinationinfo -X",
            Reply::out(fixture("valid/destinationinfo/local-mounted.xml")),
        ),
        ("latestbackup", Reply::out(fixture("valid/latestbackup/apfs.txt"))),
        ("isexcluded", Reply::out(fixture("valid/isexcluded/included.txt"))),
        ("listbackups", Reply::out(fixture("valid/listbackups/apfs-mixed.txt"))),
    ])
}

struct Run {
    status: TimeMachineStatus,
    calls: Vec<String>,
}

fn run(replies: BTreeMap<&'static str, Reply>, now: &Zoned) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let tm = write_fake_tmutil(dir.path(), &replies);
    let pair_mtime = Some("2026-11-25T12:00:00Z".parse().unwrap());
    let status = read_status(
        &SystemRunner::default(),
        Some(&tm),
        Path::new(DIR),
        pair_mtime,
        &TmThresholds::default(),
        now,
    );
    Run {
        status,
        calls: tmutil::calls(dir.path()),
    }
}

#[test]
fn idle_and_recent_is_ok() {
    let r = run(healthy(), &at(25, 15, 0));
    let s = &r.status;
    assert!(s.available);
    assert_eq!(s.state, TmState::Ok);
    assert!(!s.running);
    assert_eq!((s.phase.as_deref(), s.percent), (None, 0));
    assert_eq!(s.latest_backup, Some("2026-11-25T13:03:12Z".parse().unwrap()));
    assert_eq!(s.backup_dir_excluded, Some(false));
    assert_eq!(s.pair_in_latest_backup, Some(true));
    assert_eq!(s.destinations.len(), 1);
    assert_eq!(
        (s.destinations[0].name.as_str(), s.destinations[0].kind),
        ("TM Bureau", DestinationKind::Local)
    );
    assert_eq!(s.message, None);
    assert_eq!(next_poll(s), Duration::from_secs(60));
    // The backup folder itself is what isexcluded is asked about.
    assert!(r.calls.contains(&format!("isexcluded {DIR}")), "{:?}", r.calls);
    let json = serde_json::to_value(s).unwrap();
    assert_eq!(json["state"], "ok");
    assert_eq!(json["latest_backup"], "2026-11-25T13:03:12Z");
}

#[test]
fn running_at_42_percent() {
    let mut replies = healthy();
    replies.insert("status -X", Reply::out(fixture("valid/status/copying.xml")));
    let s = run(replies, &at(25, 15, 10)).status;
    assert_eq!(s.state, TmState::Running);
    assert!(s.running);
    assert_eq!(s.phase.as_deref(), Some("Copying"));
    assert_eq!(s.percent, 42);
    assert_eq!(next_poll(&s), Duration::from_secs(5));
}

#[test]
fn running_through_the_text_form_when_x_is_refused() {
    let mut replies = healthy();
    replies.insert(
        "status -X",
        Reply::err(fixture("invalid/unrecognised/status-x-refused.txt"), 64),
    );
    replies.insert("status", Reply::out(fixture("valid/status/text-copying.txt")));
    let r = run(replies, &at(25, 15, 10));
    assert_eq!((r.status.state, r.status.percent), (TmState::Running, 42));
    assert!(r.calls.contains(&"status".to_owned()), "{:?}", r.calls);
}

#[test]
fn three_hours_without_backup_is_late() {
    let s = run(healthy(), &at(25, 17, 10)).status;
    assert_eq!(s.state, TmState::Late);
    assert!(
        s.message
            .as_deref()
            .unwrap()
            .starts_with("The last Time Machine backup is 3 h old"),
        "{:?}",
        s.message
    );
}

#[test]
fn two_days_without_backup_is_stale() {
    let s = run(healthy(), &at(27, 15, 0)).status;
    assert_eq!(s.state, TmState::Stale);
    assert!(
        s.message_in(Lang::Fr).unwrap().contains("2 jours"),
        "{:?}",
        s.message_in(Lang::Fr)
    );
}

#[test]
fn excluded_backup_folder() {
    let mut replies = healthy();
    replies.insert("isexcluded", Reply::out(fixture("valid/isexcluded/excluded.txt")));
    let s = run(replies, &at(25, 15, 0)).status;
    assert_eq!(s.state, TmState::Excluded);
    assert_eq!(s.backup_dir_excluded, Some(true));
    assert!(s.message.unwrap().contains(DIR));
}

#[test]
fn full_disk_access_missing() {
    let mut replies = healthy();
    let fda = fixture("invalid/needs-full-disk-access/latestbackup-monterey.txt");
    // Exit code 0 on purpose: tmutil's exit code is not trusted.
    replies.insert(
        "latestbackup",
        Reply {
            stdout: Vec::new(),
            stderr: fda,
            code: 0,
        },
    );
    let s = run(replies, &at(25, 15, 0)).status;
    assert!(s.available);
    assert_eq!(s.state, TmState::NeedsFullDiskAccess);
    assert_eq!(s.latest_backup, None);
    assert_eq!(s.pair_in_latest_backup, None);
    assert_eq!(
        s.message.as_deref(),
        Some(
            "Secours cannot read the list of Time Machine backups: macOS has not given it Full Disk Access. \
             Grant Full Disk Access to Secours: System Settings → Privacy & Security → Full Disk Access."
        )
    );
    assert!(
        s.message_in(Lang::Fr)
            .unwrap()
            .contains("Réglages Système → Confidentialité et sécurité")
    );
}

#[test]
fn disk_not_mounted() {
    let mut replies = healthy();
    replies.insert(
        "destinationinfo -X",
        Reply::out(fixture("valid/destinationinfo/local-unmounted.xml")),
    );
    replies.insert(
        "latestbackup",
        Reply::err(fixture("invalid/destination-unavailable/could-not-be-found.txt"), 1),
    );
    let s = run(replies, &at(25, 15, 0)).status;
    assert_eq!(s.state, TmState::DestinationUnavailable);
    assert!(!s.destinations[0].mounted);
    assert!(s.message.unwrap().contains("'TM Bureau'"));
}

#[test]
fn no_destination_configured() {
    let mut replies = healthy();
    replies.insert(
        "destinationinfo -X",
        Reply::err(fixture("invalid/no-destination/destinationinfo.txt"), 1),
    );
    let r = run(replies, &at(25, 15, 0));
    assert_eq!(r.status.state, TmState::NoDestination);
    assert!(!r.calls.iter().any(|c| c == "latestbackup"), "{:?}", r.calls);
}

#[test]
fn no_backups_yet() {
    let mut replies = healthy();
    replies.insert(
        "latestbackup",
        Reply::err(fixture("invalid/no-backups/latestbackup.txt"), 1),
    );
    let s = run(replies, &at(25, 15, 0)).status;
    assert_eq!(s.state, TmState::Stale);
    assert_eq!(s.latest_backup, None);
}

#[test]
fn missing_tmutil_is_unavailable_without_error() {
    let dir = tempfile::tempdir().unwrap();
    let tm = dir.path().join("no-such-tmutil");
    let s = read_status(
        &SystemRunner::default(),
        Some(&tm),
        Path::new(DIR),
        None,
        &TmThresholds::default(),
        &at(25, 15, 0),
    );
    assert_eq!(s, TimeMachineStatus::unavailable());
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["available"], false);
    assert_eq!(json["state"], "unavailable");
    assert_eq!(json["message"], serde_json::Value::Null);
}

#[test]
fn list_backups_through_the_fake() {
    let dir = tempfile::tempdir().unwrap();
    let tm = write_fake_tmutil(dir.path(), &healthy());
    let list = list_backups(&SystemRunner::default(), &tm).unwrap();
    assert_eq!(list.iter().filter(|b| b.is_completed()).count(), 4);
}
