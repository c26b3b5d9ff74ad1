//! Table tests for the state logic, `next_poll`, `read_status` with a fake runner, and restore sources.

use jiff::civil::date;
use jiff::tz::TimeZone;

use super::*;
use crate::platform::fake::FakeRunner;

macro_rules! fixture {
    ($path:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/timemachine/",
            $path
        ))
        .as_slice()
    };
}

/// The tests' words for the platform's fake: answers and calls by `tmutil`'s arguments.
trait Tmutil: Sized {
    fn with(self, args: &str, code: i32, stdout: &[u8], stderr: &[u8]) -> Self;
    fn failing(self, args: &str, kind: io::ErrorKind) -> Self;
    fn called(&self, args: &str) -> bool;
    /// `tmutil`'s arguments, one line per call (a call to another program keeps its whole line).
    fn tmutil_calls(&self) -> Vec<String>;
}

impl Tmutil for FakeRunner {
    fn with(self, args: &str, code: i32, stdout: &[u8], stderr: &[u8]) -> Self {
        self.answer(&format!("{TMUTIL} {args}"), Output::new(code, stdout, stderr))
    }
    fn failing(self, args: &str, kind: io::ErrorKind) -> Self {
        self.refuse(&format!("{TMUTIL} {args}"), kind)
    }
    fn called(&self, args: &str) -> bool {
        self.tmutil_calls().iter().any(|c| c == args)
    }
    fn tmutil_calls(&self) -> Vec<String> {
        let prefix = format!("{TMUTIL} ");
        self.calls()
            .into_iter()
            .map(|c| c.strip_prefix(&prefix).map(str::to_owned).unwrap_or(c))
            .collect()
    }
}

/// A healthy Mac: idle, one mounted local disk, latest backup 14:03:12, folder included.
fn healthy() -> FakeRunner {
    FakeRunner::default()
        .with("status -X", 0, fixture!("valid/status/idle.xml"), b"")
        .with(
            "destinationinfo -X",
            0,
            fixture!("valid/destinationinfo/local-mounted.xml"),
            b"",
        )
        .with("latestbackup", 0, fixture!("valid/latestbackup/apfs.txt"), b"")
        .with(
            &format!("isexcluded {DIR}"),
            0,
            fixture!("valid/isexcluded/included.txt"),
            b"",
        )
}

const DIR: &str = "/Users/bureau/app/runtime/backup";
const TMUTIL: &str = "/usr/bin/tmutil";

/// Paris in November (UTC+1), as a fixed offset so the tests need no time-zone database.
fn paris(h: i8, m: i8) -> Zoned {
    date(2026, 11, 25)
        .at(h, m, 0, 0)
        .to_zoned(TimeZone::fixed(jiff::tz::offset(1)))
        .unwrap()
}

fn read(runner: &FakeRunner, now: &Zoned) -> TimeMachineStatus {
    read_status(
        runner,
        Some(Path::new(TMUTIL)),
        Path::new(DIR),
        None,
        &TmThresholds::default(),
        now,
    )
}

fn entry(name: &str) -> BackupEntry {
    parse::parse_backup_path(&format!("/Volumes/.timemachine/U/{name}/{name}")).unwrap()
}

fn dest(name: &str, kind: DestinationKind, mounted: bool) -> Destination {
    Destination {
        name: name.into(),
        kind,
        mounted,
        mount_point: None,
        id: None,
        last: true,
    }
}

/// Observations of a healthy idle Mac whose latest backup was taken at 14:03:12 local time.
fn base() -> Observations {
    Observations {
        session: Some(SessionStatus::default()),
        destinations: Some(vec![dest("TM", DestinationKind::Local, true)]),
        latest: Some(entry("2026-11-25-140312.backup")),
        excluded: Some(false),
        failures: vec![],
        error: None,
    }
}

fn running() -> SessionStatus {
    SessionStatus {
        running: true,
        phase: Some("Copying".into()),
        raw_fraction: Some(0.42),
        ..Default::default()
    }
}

#[test]
fn state_table() {
    use TmFailure as F;
    use TmState as S;
    let t = TmThresholds::default();
    let with = |f: &dyn Fn(&mut Observations)| {
        let mut o = base();
        f(&mut o);
        o
    };
    // (what the row guards, observations, now, expected state)
    let rows: Vec<(&str, Observations, Zoned, TmState)> = vec![
        ("recent backup, idle", base(), paris(15, 0), S::Ok),
        ("just under 2 h", base(), paris(16, 3), S::Ok),
        ("2 h is late", base(), paris(16, 4), S::Late),
        (
            "25 h is still late",
            with(&|_| {}),
            paris(23, 59).checked_add(jiff::Span::new().hours(15)).unwrap(),
            S::Late,
        ),
        (
            "26 h is stale",
            base(),
            paris(14, 4).checked_add(jiff::Span::new().hours(26)).unwrap(),
            S::Stale,
        ),
        (
            "running beats late",
            with(&|o| o.session = Some(running())),
            paris(18, 0),
            S::Running,
        ),
        (
            "running while fresh",
            with(&|o| o.session = Some(running())),
            paris(15, 0),
            S::Running,
        ),
        (
            "FDA beats everything",
            with(&|o| {
                o.failures = vec![F::FullDiskAccess];
                o.latest = None;
                o.excluded = Some(true);
                o.session = Some(running());
            }),
            paris(15, 0),
            S::NeedsFullDiskAccess,
        ),
        (
            "no destination (failure)",
            with(&|o| {
                o.failures = vec![F::NoDestination];
                o.destinations = None;
                o.latest = None;
            }),
            paris(15, 0),
            S::NoDestination,
        ),
        (
            "no destination (empty list)",
            with(&|o| {
                o.destinations = Some(vec![]);
                o.latest = None;
                o.excluded = Some(true);
            }),
            paris(15, 0),
            S::NoDestination,
        ),
        (
            "excluded beats ok",
            with(&|o| o.excluded = Some(true)),
            paris(15, 0),
            S::Excluded,
        ),
        (
            "excluded beats running",
            with(&|o| {
                o.excluded = Some(true);
                o.session = Some(running());
            }),
            paris(15, 0),
            S::Excluded,
        ),
        (
            "mount failure, no latest",
            with(&|o| {
                o.failures = vec![F::DestinationUnavailable];
                o.latest = None;
            }),
            paris(15, 0),
            S::DestinationUnavailable,
        ),
        (
            "local disk unplugged and late",
            with(&|o| {
                o.destinations = Some(vec![dest("TM", DestinationKind::Local, false)]);
            }),
            paris(17, 0),
            S::DestinationUnavailable,
        ),
        (
            "local disk unplugged but recent backup",
            with(&|o| {
                o.destinations = Some(vec![dest("TM", DestinationKind::Local, false)]);
            }),
            paris(15, 0),
            S::Ok,
        ),
        (
            "network share unmounted is normal",
            with(&|o| {
                o.destinations = Some(vec![dest("NAS", DestinationKind::Network, false)]);
            }),
            paris(15, 0),
            S::Ok,
        ),
        (
            "network share unmounted and late is late",
            with(&|o| {
                o.destinations = Some(vec![dest("NAS", DestinationKind::Network, false)]);
            }),
            paris(17, 0),
            S::Late,
        ),
        (
            "unplugged but running",
            with(&|o| {
                o.destinations = Some(vec![dest("TM", DestinationKind::Local, false)]);
                o.session = Some(running());
            }),
            paris(17, 0),
            S::Running,
        ),
        (
            "no machine directory",
            with(&|o| {
                o.latest = None;
                o.failures = vec![F::NoMachineDirectory];
            }),
            paris(15, 0),
            S::Stale,
        ),
        (
            "no backups yet",
            with(&|o| {
                o.latest = None;
                o.failures = vec![F::NoBackups];
            }),
            paris(15, 0),
            S::Stale,
        ),
        (
            "first backup running",
            with(&|o| {
                o.latest = None;
                o.failures = vec![F::NoBackups];
                o.session = Some(running());
            }),
            paris(15, 0),
            S::Running,
        ),
        (
            "unknown answer, no latest",
            with(&|o| {
                o.latest = None;
                o.error = Some("tmutil: an unexpected error occurred".into());
            }),
            paris(15, 0),
            S::Error,
        ),
        (
            "unknown answer but latest known",
            with(&|o| {
                o.session = None;
                o.error = Some("status broke".into());
            }),
            paris(15, 0),
            S::Ok,
        ),
        (
            "only an in-progress latest counts as none",
            with(&|o| {
                o.latest = Some(entry("2026-11-25-140312.inprogress"));
            }),
            paris(15, 0),
            S::Stale,
        ),
    ];
    for (what, obs, now, want) in rows {
        let got = decide(&obs, Path::new(DIR), None, &t, &now);
        assert_eq!(got.state, want, "{what}");
        assert!(got.available, "{what}");
        // Problems carry a message; ok and running do not.
        assert_eq!(
            got.message.is_some(),
            !matches!(want, S::Ok | S::Running),
            "{what}: {:?}",
            got.message
        );
    }
}

#[test]
fn thresholds_are_parameters() {
    let t = TmThresholds {
        late_after: Duration::from_secs(30 * 60),
        stale_after: Duration::from_secs(3600),
    };
    assert_eq!(
        decide(&base(), Path::new(DIR), None, &t, &paris(14, 30)).state,
        TmState::Ok
    );
    assert_eq!(
        decide(&base(), Path::new(DIR), None, &t, &paris(14, 40)).state,
        TmState::Late
    );
    assert_eq!(
        decide(&base(), Path::new(DIR), None, &t, &paris(15, 10)).state,
        TmState::Stale
    );
}

#[test]
fn latest_backup_is_read_in_local_time() {
    let s = decide(&base(), Path::new(DIR), None, &TmThresholds::default(), &paris(15, 0));
    // 14:03:12 in Paris (UTC+1 in November) is 13:03:12 UTC.
    assert_eq!(s.latest_backup, Some("2026-11-25T13:03:12Z".parse().unwrap()));
}

#[test]
fn pair_in_latest_backup() {
    let t = TmThresholds::default();
    let now = paris(15, 0);
    let before: Timestamp = "2026-11-25T13:00:05Z".parse().unwrap();
    let after: Timestamp = "2026-11-25T14:00:05Z".parse().unwrap();
    let same: Timestamp = "2026-11-25T13:03:12Z".parse().unwrap();
    assert_eq!(
        decide(&base(), Path::new(DIR), Some(before), &t, &now).pair_in_latest_backup,
        Some(true)
    );
    assert_eq!(
        decide(&base(), Path::new(DIR), Some(after), &t, &now).pair_in_latest_backup,
        Some(false)
    );
    assert_eq!(
        decide(&base(), Path::new(DIR), Some(same), &t, &now).pair_in_latest_backup,
        Some(false)
    );
    assert_eq!(
        decide(&base(), Path::new(DIR), None, &t, &now).pair_in_latest_backup,
        None
    );
    let mut none = base();
    none.latest = None;
    assert_eq!(
        decide(&none, Path::new(DIR), Some(before), &t, &now).pair_in_latest_backup,
        None
    );
}

#[test]
fn messages_follow_the_reason_and_localize() {
    let mut obs = base();
    obs.failures = vec![TmFailure::FullDiskAccess];
    let mut s = decide(&obs, Path::new(DIR), None, &TmThresholds::default(), &paris(15, 0));
    assert!(
        s.message
            .as_deref()
            .unwrap()
            .contains("System Settings → Privacy & Security → Full Disk Access")
    );
    s.localize(Lang::Fr);
    assert!(s.message.as_deref().unwrap().contains("Accès complet au disque"));
    assert_eq!(s.message_in(Lang::En), Some(Reason::FullDiskAccess.message(Lang::En)));

    let mut obs = base();
    obs.excluded = Some(true);
    let s = decide(&obs, Path::new(DIR), None, &TmThresholds::default(), &paris(15, 0));
    assert!(s.message.unwrap().contains(&format!("'{DIR}'")));

    let s = decide(&base(), Path::new(DIR), None, &TmThresholds::default(), &paris(19, 0));
    assert!(
        s.message
            .unwrap()
            .starts_with("The last Time Machine backup is 4 h old")
    );
}

#[test]
fn next_poll_adapts() {
    let mut s = decide(&base(), Path::new(DIR), None, &TmThresholds::default(), &paris(15, 0));
    assert_eq!(next_poll(&s), Duration::from_secs(60));
    s.running = true;
    assert_eq!(next_poll(&s), Duration::from_secs(5));
    assert_eq!(next_poll(&TimeMachineStatus::unavailable()), Duration::from_secs(60));
    assert_eq!(POLL_ON_MENU_OPEN, Duration::ZERO);
}

#[test]
fn phase_labels() {
    assert_eq!(phase_label("Copying", Lang::En), "Backing up…");
    assert_eq!(
        phase_label("ThinningPreBackup", Lang::Fr),
        "Préparation de la sauvegarde…"
    );
    assert_eq!(phase_label("SomethingNew", Lang::Fr), "SomethingNew");
}

#[test]
fn json_field_names_are_the_contract() {
    let s = decide(
        &base(),
        Path::new(DIR),
        Some("2026-11-25T12:00:00Z".parse().unwrap()),
        &TmThresholds::default(),
        &paris(15, 0),
    );
    let v = serde_json::to_value(&s).unwrap();
    let mut keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "available",
            "backup_dir_excluded",
            "destinations",
            "latest_backup",
            "message",
            "pair_in_latest_backup",
            "percent",
            "phase",
            "running",
            "state"
        ]
    );
    assert_eq!(v["state"], "ok");
    assert_eq!(v["latest_backup"], "2026-11-25T13:03:12Z");
    assert_eq!(
        v["destinations"],
        serde_json::json!([{"name": "TM", "kind": "local", "mounted": true}])
    );
    assert_eq!(v["pair_in_latest_backup"], true);
    for (state, word) in [
        (TmState::NeedsFullDiskAccess, "needs-full-disk-access"),
        (TmState::NoDestination, "no-destination"),
        (TmState::DestinationUnavailable, "destination-unavailable"),
        (TmState::Unavailable, "unavailable"),
        (TmState::Excluded, "excluded"),
    ] {
        assert_eq!(serde_json::to_value(state).unwrap(), word);
    }
    // Round trip (the lead's `status --json` reader).
    let back: TimeMachineStatus = serde_json::from_value(v).unwrap();
    assert_eq!(back.state, TmState::Ok);
    assert_eq!(back.destinations[0].name, "TM");
}

#[test]
fn read_status_healthy() {
    let r = healthy();
    let s = read(&r, &paris(15, 0));
    assert_eq!(s.state, TmState::Ok);
    assert_eq!(s.backup_dir_excluded, Some(false));
    assert_eq!(s.destinations.len(), 1);
    assert!(r.called(&format!("isexcluded {DIR}")));
    assert!(!r.called("status"), "no fallback when -X works");
}

#[test]
fn read_status_disabled_or_missing_tmutil_is_unavailable() {
    let r = healthy();
    let s = read_status(&r, None, Path::new(DIR), None, &TmThresholds::default(), &paris(15, 0));
    assert_eq!(s, TimeMachineStatus::unavailable());
    assert!(r.calls().is_empty(), "disabled means not asked");

    let r = FakeRunner::default().failing("status -X", io::ErrorKind::NotFound);
    let s = read(&r, &paris(15, 0));
    assert!(!s.available);
    assert_eq!(s.state, TmState::Unavailable);
    assert_eq!(s.message, None);
    assert_eq!(r.calls().len(), 1, "stops after the first start failure");
}

// Guards the text fallback: a tmutil that refuses -X must still give the running percentage.
#[test]
fn read_status_falls_back_to_text_forms() {
    let r = healthy()
        .with(
            "status -X",
            1,
            b"",
            fixture!("invalid/unrecognised/status-x-refused.txt"),
        )
        .with("status", 0, fixture!("valid/status/text-copying.txt"), b"")
        .with("destinationinfo -X", 64, b"", b"Usage: tmutil destinationinfo")
        .with(
            "destinationinfo",
            0,
            fixture!("valid/destinationinfo/text-two.txt"),
            b"",
        );
    let s = read(&r, &paris(15, 0));
    assert_eq!(s.state, TmState::Running);
    assert_eq!(s.percent, 42);
    assert_eq!(s.phase.as_deref(), Some("Copying"));
    assert_eq!(s.destinations.len(), 2);
}

#[test]
fn read_status_without_destination_skips_latestbackup() {
    let r = healthy()
        .with(
            "destinationinfo -X",
            0,
            b"",
            fixture!("invalid/no-destination/destinationinfo.txt"),
        )
        .with(
            "destinationinfo",
            0,
            b"",
            fixture!("invalid/no-destination/destinationinfo.txt"),
        );
    let s = read(&r, &paris(15, 0));
    assert_eq!(s.state, TmState::NoDestination);
    assert!(!r.called("latestbackup"));
    assert!(!r.called("destinationinfo"), "a recognised failure needs no fallback");
}

#[test]
fn read_status_timeout_is_an_error_not_unavailable() {
    let r = healthy()
        .failing("status -X", io::ErrorKind::TimedOut)
        .failing("latestbackup", io::ErrorKind::TimedOut);
    let s = read(&r, &paris(15, 0));
    assert!(s.available);
    assert_eq!(s.state, TmState::Error);
    assert!(!s.running);
}

#[test]
fn read_status_failure_on_stdout_with_exit_zero() {
    // tmutil may exit 0 after printing its complaint: the text decides.
    let r = healthy().with(
        "latestbackup",
        0,
        fixture!("invalid/needs-full-disk-access/latestbackup-monterey.txt"),
        b"",
    );
    assert_eq!(read(&r, &paris(15, 0)).state, TmState::NeedsFullDiskAccess);
}

#[test]
fn list_backups_results() {
    let tm = Path::new(TMUTIL);
    let r = FakeRunner::default().with("listbackups", 0, fixture!("valid/listbackups/apfs-mixed.txt"), b"");
    assert_eq!(list_backups(&r, tm).unwrap().len(), 6);
    let r = FakeRunner::default().with("listbackups", 1, b"", fixture!("invalid/no-backups/listbackups.txt"));
    assert_eq!(list_backups(&r, tm).unwrap(), vec![]);
    let r = FakeRunner::default().with(
        "listbackups",
        1,
        b"",
        fixture!("invalid/needs-full-disk-access/listbackups-sonoma.txt"),
    );
    let err = list_backups(&r, tm).unwrap_err();
    assert!(
        matches!(
            err,
            TmError::Failed {
                failure: TmFailure::FullDiskAccess,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("Grant Full Disk Access"), "{err}");
    let r = FakeRunner::default().with("listbackups", 1, b"", b"tmutil: something odd");
    let err = list_backups(&r, tm).unwrap_err();
    assert!(err.to_string().contains("'tmutil: something odd'"), "{err}");
    let r = FakeRunner::default().failing("listbackups", io::ErrorKind::NotFound);
    assert!(
        list_backups(&r, tm)
            .unwrap_err()
            .to_string()
            .contains("'/usr/bin/tmutil listbackups'")
    );
}

#[test]
fn location_on_volume_cases() {
    let loc = |p: &str| location_on_volume(Path::new(p));
    assert_eq!(
        loc("/Users/b/app/runtime/backup"),
        Some((None, PathBuf::from("Users/b/app/runtime/backup")))
    );
    assert_eq!(
        loc("/System/Volumes/Data/Users/b/x"),
        Some((None, PathBuf::from("Users/b/x")))
    );
    assert_eq!(
        loc("/Volumes/Data Disk/app/backup"),
        Some((Some("Data Disk".into()), PathBuf::from("app/backup")))
    );
    assert_eq!(loc("relative/path"), None);
    assert_eq!(loc("/Users/../etc"), None);
}

#[test]
fn restore_sources_finds_the_folder_in_each_completed_backup() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mk = |name: &str| {
        let p = root.join(name).join(name);
        std::fs::create_dir_all(&p).unwrap();
        p
    };
    // Three completed backups (one on a renamed startup disk), one interrupted, one without the folder.
    let a = mk("2026-11-25-120000.backup");
    let b = mk("2026-11-25-130000.backup");
    let c = mk("2026-11-25-140000.backup");
    let d = mk("2026-11-25-150000.interrupted");
    let e = mk("2026-11-25-110000.backup");
    let rel = "Users/b/app/runtime/backup";
    for (backup, volume) in [
        (&a, DATA_VOLUME),
        (&b, "Bureau - Data"),
        (&c, DATA_VOLUME),
        (&d, DATA_VOLUME),
    ] {
        let dir = backup.join(volume).join(rel);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("app.gz"), b"x").unwrap();
    }
    // c's copy has no pair; e has the volume but not the folder.
    std::fs::remove_file(c.join(DATA_VOLUME).join(rel).join("app.gz")).unwrap();
    std::fs::create_dir_all(e.join(DATA_VOLUME).join("Users")).unwrap();
    let entries: Vec<BackupEntry> = [&a, &b, &c, &d, &e]
        .iter()
        .map(|p| parse::parse_backup_path(p.to_str().unwrap()).unwrap())
        .collect();
    let found = restore_sources(&entries, Path::new(&format!("/{rel}")), |p| p.join("app.gz").is_file());
    let paths: Vec<_> = found.iter().map(|s| s.path.clone()).collect();
    assert_eq!(
        paths,
        [b.join("Bureau - Data").join(rel), a.join(DATA_VOLUME).join(rel)]
    );
    assert_eq!(found[0].backup.taken_at, date(2026, 11, 25).at(13, 0, 0, 0));

    // A folder on another volume is looked for under that volume's name only.
    let v = a.join("Archive").join("backup");
    std::fs::create_dir_all(&v).unwrap();
    let found = restore_sources(&entries, Path::new("/Volumes/Archive/backup"), |_| true);
    assert_eq!(found.iter().map(|s| &s.path).collect::<Vec<_>>(), [&v]);
}

// --- The app's schedule (item 8 of the Mac issue): only `status` and `destinationinfo` on the adaptive
// polling; `latestbackup` and `isexcluded` at start, when a backup finishes, when asked, and before the
// kept backup would make the state late.

fn poll_once(
    runner: &FakeRunner,
    kept: Option<&schedule::Kept>,
    asked: bool,
    now: &Zoned,
) -> (TimeMachineStatus, schedule::Kept, Vec<String>) {
    runner.clear_calls();
    let target = schedule::Target {
        tmutil: Path::new(TMUTIL),
        backup_dir: Path::new(DIR),
        pair_mtime: None,
    };
    let (status, kept) = schedule::poll(runner, target, kept, asked, &TmThresholds::default(), now).unwrap();
    let calls = runner.tmutil_calls();
    (status, kept, calls)
}

const QUICK: [&str; 2] = ["status -X", "destinationinfo -X"];

fn full() -> Vec<String> {
    let mut calls: Vec<String> = QUICK.iter().map(|c| (*c).to_owned()).collect();
    calls.push("latestbackup".to_owned());
    calls.push(format!("isexcluded {DIR}"));
    calls
}

// Guards the destination against the polling: latestbackup mounts a network disk, so the minute-by-minute
// polls never ask it; a backup that finishes, the menu, or a restore do.
#[test]
fn polling_reads_the_destination_only_when_needed() {
    let r = healthy();
    let (s, kept, calls) = poll_once(&r, None, false, &paris(15, 0));
    assert_eq!(calls, full(), "at start");
    assert_eq!(s.state, TmState::Ok);
    assert_eq!(kept.read_at, Some(paris(15, 0).timestamp()));

    let (s, kept, calls) = poll_once(&r, Some(&kept), false, &paris(15, 1));
    assert_eq!(calls, QUICK, "idle: status and destinationinfo only");
    assert_eq!(
        (s.state, s.latest_backup),
        (TmState::Ok, read(&r, &paris(15, 1)).latest_backup)
    );
    assert_eq!(s.backup_dir_excluded, Some(false), "kept from the full reading");

    // A backup runs: still quick, every poll.
    let r = healthy().with("status -X", 0, fixture!("valid/status/copying.xml"), b"");
    let (s, kept, calls) = poll_once(&r, Some(&kept), false, &paris(15, 2));
    assert_eq!(calls, QUICK);
    assert_eq!(s.state, TmState::Running);
    assert!(kept.running);

    // Running 1 → 0: the backup finished, read the new latest.
    let r = healthy();
    let (_, kept, calls) = poll_once(&r, Some(&kept), false, &paris(15, 3));
    assert_eq!(calls, full(), "after the backup finished");
    assert!(!kept.running);

    // The menu opened (or a restore asks).
    let (_, _, calls) = poll_once(&r, Some(&kept), true, &paris(15, 4));
    assert_eq!(calls, full(), "asked");
}

#[test]
fn full_read_table() {
    let th = TmThresholds::default();
    let now = paris(18, 0);
    let kept = |latest: &str, read_at: Zoned, running: bool| schedule::Kept {
        latest: Some(entry(latest)),
        read_at: Some(read_at.timestamp()),
        running,
        ..Default::default()
    };
    use schedule::{FullRead, full_read};
    let fresh = kept("2026-11-25-173000.backup", paris(17, 59), false);
    assert_eq!(full_read(None, false, false, &th, &now), Some(FullRead::Start));
    assert_eq!(full_read(Some(&fresh), false, false, &th, &now), None);
    assert_eq!(full_read(Some(&fresh), false, true, &th, &now), Some(FullRead::Asked));
    let was_running = kept("2026-11-25-173000.backup", paris(17, 59), true);
    assert_eq!(full_read(Some(&was_running), true, false, &th, &now), None);
    assert_eq!(
        full_read(Some(&was_running), false, false, &th, &now),
        Some(FullRead::BackupFinished)
    );
    // 14:03 is 4 h old at 18:00 (late after 2 h): read again, but at most every 30 min.
    let old_read_now = kept("2026-11-25-140312.backup", paris(17, 45), false);
    assert_eq!(full_read(Some(&old_read_now), false, false, &th, &now), None);
    let old_read_before = kept("2026-11-25-140312.backup", paris(17, 29), false);
    assert_eq!(
        full_read(Some(&old_read_before), false, false, &th, &now),
        Some(FullRead::Recheck)
    );
    assert_eq!(
        full_read(Some(&old_read_before), true, false, &th, &now),
        None,
        "not while running"
    );
}

// Guards "a NAS that is simply not mounted between backups is not an alert": a full reading that cannot
// mount the network disk keeps the backup known before.
#[test]
fn an_unreachable_network_disk_keeps_the_known_backup() {
    let r = healthy().with(
        "destinationinfo -X",
        0,
        fixture!("valid/destinationinfo/network-unmounted.xml"),
        b"",
    );
    let (s, kept, _) = poll_once(&r, None, false, &paris(15, 0));
    assert_eq!(s.state, TmState::Ok, "{:?}", s.message);
    let r = r.with(
        "latestbackup",
        1,
        b"",
        fixture!("invalid/destination-unavailable/failed-to-mount.txt"),
    );
    let (s, kept, calls) = poll_once(&r, Some(&kept), true, &paris(15, 30));
    assert_eq!(calls, full());
    assert_eq!(s.state, TmState::Ok, "{:?}", s.message);
    assert!(kept.latest.is_some());
    let (s, _, calls) = poll_once(&r, Some(&kept), false, &paris(15, 31));
    assert_eq!(calls, QUICK);
    assert_eq!(s.state, TmState::Ok);
}

// Guards the quick polls against forgetting what the full reading met: Full Disk Access stays missing.
#[test]
fn failures_of_the_full_reading_are_kept() {
    let r = healthy().with(
        "latestbackup",
        0,
        fixture!("invalid/needs-full-disk-access/latestbackup-monterey.txt"),
        b"",
    );
    let (s, kept, _) = poll_once(&r, None, false, &paris(15, 0));
    assert_eq!(s.state, TmState::NeedsFullDiskAccess);
    let (s, _, calls) = poll_once(&r, Some(&kept), false, &paris(15, 1));
    assert_eq!(calls, QUICK);
    assert_eq!(s.state, TmState::NeedsFullDiskAccess);
}
