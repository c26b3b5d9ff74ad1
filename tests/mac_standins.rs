//! Linux stand-ins for what would break on a real Mac (issue 14): each test shows, on Linux, the fault
//! the Mac would meet, and fails on the code before the fix.
//!
//! - Finder's launch arguments (`-psn_0_…`) are ignored instead of ending the app;
//! - with the configuration and the data in one folder (macOS's Application Support), the watcher sleeps
//!   as long as with them apart: the history's own files never wake it;
//! - a `tmutil` that hangs delays neither the first menu nor a snapshot.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use secours::env::paths::Locations;
use secours::run::Context;
use secours::ui::session::Session;
use secours::ui::tray::UserEvent;

fn secours() -> Command {
    let mut cmd = Command::cargo_bin("secours").unwrap();
    cmd.env_remove("SECOURS_CONFIG")
        .env_remove("SECOURS_DATA_DIR")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("SECOURS_NO_NOTIFICATIONS", "1");
    cmd
}

// Guards item 2: the Finder may start a bundled app with `-psn_0_12345`; clap read it as '-p' and the
// app exited ("unexpected argument '-p'") instead of showing its icon.
#[test]
fn finder_launch_arguments_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let out = secours()
        .args(["-psn_0_12345", "--config"])
        .arg(&config)
        .args(["-NSDocumentRevisionsDebugMode", "YES", "config", "--path"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), config.to_str().unwrap());
}

/// A demo whose pair is verified and copied already (so the app has nothing to do by itself), with its
/// data in `data`.
fn demo(dir: &Path, data: &Path) -> PathBuf {
    secours()
        .arg("--data-dir")
        .arg(data)
        .args(["demo", "--no-ui", "--dir"])
        .arg(dir)
        .assert()
        .success();
    dir.join("config.toml")
}

fn session(config: &Path, data: &Path) -> Session {
    let locations = Locations {
        config: config.to_path_buf(),
        config_explicit: true,
        data_dir: data.to_path_buf(),
        log_dir: data.join("logs"),
    };
    let mut session = Session::new(Context::load(locations).unwrap());
    session.in_background = true;
    session
}

/// Runs the app's watcher (without a display) for `how_long`, as `tray::run` sets it up; returns how many
/// snapshots it made.
fn snapshots_in(session: &Session, how_long: Duration) -> usize {
    let (wake, woken) = mpsc::channel();
    *session.wake.lock().unwrap() = Some(wake.clone());
    let _watch = secours::ui::watcher::watch_plan(&secours::ui::tray::watch_plan(session), wake.clone());
    let deadline = Instant::now() + how_long;
    // Ends the loop at the deadline (it would otherwise sleep until its next 15 s tick).
    std::thread::spawn(move || {
        std::thread::sleep(how_long);
        let _ = wake.send(());
    });
    let mut snapshots = 0;
    secours::ui::tray::watch_loop(session, &woken, |event| {
        let before = Instant::now() < deadline;
        if before && matches!(event, UserEvent::Snapshot(_)) {
            snapshots += 1;
        }
        before
    });
    snapshots
}

// Guards item 1: on macOS the configuration and the data share ~/Library/Application Support/Secours. Every
// refresh opens the history, whose -wal/-shm files appear and vanish there; when those events woke the
// next refresh, the app refreshed several times a second forever (0.7 % CPU at idle instead of 0.05 %).
#[test]
fn configuration_and_data_in_one_folder_sleep_as_long_as_apart() {
    let root = tempfile::tempdir().unwrap();
    let one = root.path().join("Application Support/Secours");
    let together = session(&demo(&one, &one), &one);
    let apart_data = root.path().join("data");
    let apart = session(&demo(&root.path().join("demo"), &apart_data), &apart_data);
    let window = Duration::from_secs(4);
    let (n_together, n_apart) = (snapshots_in(&together, window), snapshots_in(&apart, window));
    // The first snapshot, and at most one more when Time Machine's (absent) reading comes back.
    assert!(n_apart <= 3, "apart: {n_apart} snapshots in {window:?}");
    assert!(
        n_together <= n_apart + 1,
        "together: {n_together} snapshots in {window:?}, apart: {n_apart}"
    );
}

/// A `tmutil` that answers nothing for 30 s.
fn hanging_tmutil(dir: &Path) -> PathBuf {
    let path = dir.join("tmutil");
    std::fs::write(&path, "#!/bin/sh\nexec sleep 30\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

// Guards item 4: the first snapshot ran four tmutil calls (20 s timeouts each) before the icon existed, and
// every later one waited for tmutil too. The first menu needs nothing read, and a snapshot never waits
// for Time Machine: the menu says "checking…" until it answers.
#[test]
fn a_hanging_tmutil_delays_neither_the_first_menu_nor_a_snapshot() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let config = demo(&root.path().join("demo"), &data);
    let tmutil = hanging_tmutil(root.path());
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "[time-machine]\nenabled = false\n",
        &format!("[time-machine]\ntmutil = \"{}\"\n", tmutil.display()),
    );
    assert!(text.contains("tmutil ="), "{text}");
    std::fs::write(&config, text).unwrap();
    let session = session(&config, &data);

    let started = Instant::now();
    let first = session.first_input();
    let items = secours::ui::menu::build(&first, jiff::Timestamp::now(), secours::i18n::Lang::En);
    assert_eq!(items[0].label, "Checking the backups…");
    assert_eq!(
        secours::ui::menu::icon(&first, jiff::Timestamp::now()),
        secours::ui::menu::Icon::Working
    );

    let input = session.snapshot(jiff::Timestamp::now());
    assert!(input.time_machine_checking);
    assert!(input.time_machine.is_none());
    let again = session.snapshot(jiff::Timestamp::now());
    assert!(again.time_machine_checking, "still waiting for tmutil");
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "the menu took {took:?} with tmutil hanging"
    );
    let items = secours::ui::menu::build(&again, jiff::Timestamp::now(), secours::i18n::Lang::En);
    assert!(
        items.iter().any(|i| i.label == "Time Machine: checking…"),
        "{:?}",
        items.iter().map(|i| &i.label).collect::<Vec<_>>()
    );
    assert!(items[0].label.starts_with("Last backup:"), "{}", items[0].label);
}
