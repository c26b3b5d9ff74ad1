//! `secours status --json` with a fake `tmutil`: the `time_machine` object and its effect on the exit
//! code (stale or excluded → 2, late → 1, unavailable → no effect).
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::tmutil;

use std::collections::BTreeMap;
use std::path::Path;

use assert_cmd::Command;
use tmutil::{Reply, fixture, write_fake_tmutil};

/// An APFS `latestbackup` answer for a backup taken `minutes_ago` (backup names are local times).
fn latest(minutes_ago: i64) -> Reply {
    let when = jiff::Zoned::now()
        .checked_sub(jiff::SignedDuration::from_mins(minutes_ago))
        .unwrap();
    let name = when.strftime("%Y-%m-%d-%H%M%S").to_string();
    Reply::out(format!(
        "/Volumes/.timemachine/8C1B2C9A-1111-2222-3333-444455556666/{name}.backup/{name}.backup\n"
    ))
}

fn replies(minutes_ago: i64, excluded: bool) -> BTreeMap<&'static str, Reply> {
    let isexcluded = if excluded {
        "valid/isexcluded/excluded.txt"
    } else {
        "valid/isexcluded/included.txt"
    };
    BTreeMap::from([
        ("status -X", Reply::out(fixture("valid/status/idle.xml"))),
        (
            "destinationinfo -X",
            Reply::out(fixture("valid/destinationinfo/local-mounted.xml")),
        ),
        ("latestbackup", latest(minutes_ago)),
        ("isexcluded", Reply::out(fixture(isexcluded))),
        ("listbackups", Reply::out(fixture("valid/listbackups/apfs-mixed.txt"))),
    ])
}

/// A demo whose config points `[time-machine] tmutil` at the fake (or disables it).
fn status_with(tmutil: Option<&Path>) -> (i32, serde_json::Value) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let secours = || {
        let mut c = Command::cargo_bin("secours").unwrap();
        c.env_remove("SECOURS_CONFIG")
            .env("SECOURS_DATA_DIR", tmp.path())
            .env("LANG", "C");
        c
    };
    secours()
        .args(["demo", "--no-ui", "--dir"])
        .arg(&dir)
        .assert()
        .success();
    let config = dir.join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let tm = match tmutil {
        Some(p) => format!("[time-machine]\nenabled = true\ntmutil = \"{}\"\n", p.display()),
        None => "[time-machine]\nenabled = false\n".to_owned(),
    };
    let text = text.replace("[time-machine]\nenabled = false\n", &tm);
    std::fs::write(&config, text).unwrap();
    let out = secours()
        .arg("--config")
        .arg(&config)
        .args(["status", "--json"])
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap();
    (out.status.code().unwrap(), json)
}

#[test]
fn healthy_time_machine_is_ok_and_listed() {
    let fake = tempfile::tempdir().unwrap();
    let tm = write_fake_tmutil(fake.path(), &replies(30, false));
    let (code, json) = status_with(Some(&tm));
    let t = &json["time_machine"];
    assert_eq!(t["available"], true, "{json}");
    assert_eq!(t["state"], "ok", "{json}");
    assert_eq!(t["backup_dir_excluded"], false);
    assert!(t["latest_backup"].is_string());
    assert!(t["destinations"].as_array().unwrap().len() == 1);
    assert_eq!(code, 0, "{json}");
}

// Guards "the overall exit code takes Time Machine into account": a fresh backup in an excluded folder
// is not protected.
#[test]
fn excluded_backup_folder_makes_exit_2() {
    let fake = tempfile::tempdir().unwrap();
    let tm = write_fake_tmutil(fake.path(), &replies(30, true));
    let (code, json) = status_with(Some(&tm));
    assert_eq!(json["state"], "fresh", "the backup itself is fresh: {json}");
    assert_eq!(json["time_machine"]["state"], "excluded");
    assert_eq!(code, 2);
}

#[test]
fn late_time_machine_makes_exit_1() {
    let fake = tempfile::tempdir().unwrap();
    let tm = write_fake_tmutil(fake.path(), &replies(3 * 60, false));
    let (code, json) = status_with(Some(&tm));
    assert_eq!(json["time_machine"]["state"], "late", "{json}");
    assert_eq!(code, 1);
}

#[test]
fn disabled_time_machine_is_unavailable_and_silent() {
    let (code, json) = status_with(None);
    assert_eq!(json["time_machine"]["available"], false);
    assert_eq!(json["time_machine"]["state"], "unavailable");
    assert_eq!(code, 0);
}
