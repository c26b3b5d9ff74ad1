//! `secours status` on the demo, as monitoring sees it: JSON fields and exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use assert_cmd::Command;

fn secours(data: &Path) -> Command {
    let mut c = Command::cargo_bin("secours").unwrap();
    // The status is the subject here: the demo without its database server (tests/demo.rs has it).
    c.env_remove("SECOURS_CONFIG")
        .env("SECOURS_DEMO_SERVER", "none")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("SECOURS_DATA_DIR", data)
        .env("LANG", "C");
    c
}

fn demo() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    secours(tmp.path())
        .args(["demo", "--no-ui", "--dir"])
        .arg(&dir)
        .assert()
        .success();
    (tmp, dir)
}

fn status(tmp: &Path, dir: &Path) -> (i32, serde_json::Value) {
    let out = secours(tmp)
        .arg("--config")
        .arg(dir.join("config.toml"))
        .args(["status", "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code().unwrap(), json)
}

fn age(dir: &Path, hours: u64) {
    let when = SystemTime::now() - Duration::from_secs(hours * 3600);
    for f in ["gestion.gz", "media.taz"] {
        let p = dir.join("prod/runtime/backup").join(f);
        filetime::set_file_mtime(p, filetime::FileTime::from_system_time(when)).unwrap();
    }
}

#[test]
fn demo_is_fresh_with_every_documented_field() {
    let (tmp, dir) = demo();
    let (code, json) = status(tmp.path(), &dir);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["state"], "fresh");
    let src = &json["sources"][0];
    assert_eq!(src["name"], "prod");
    assert_eq!(src["state"], "fresh");
    assert!(src["folder"].as_str().unwrap().ends_with("prod/runtime/backup"));
    assert!(src["age_seconds"].as_i64().unwrap() >= 250);
    for f in ["db", "media"] {
        assert!(src[f]["path"].is_string());
        assert!(src[f]["bytes"].as_u64().unwrap() > 0);
        jiff::Timestamp::from_str_rfc3339(src[f]["modified"].as_str().unwrap());
    }
    assert!(src["db"]["path"].as_str().unwrap().ends_with("gestion.gz"));
}

trait FromRfc3339 {
    fn from_str_rfc3339(s: &str) -> jiff::Timestamp;
}
impl FromRfc3339 for jiff::Timestamp {
    fn from_str_rfc3339(s: &str) -> jiff::Timestamp {
        s.parse().unwrap_or_else(|e| panic!("'{s}' is not RFC 3339: {e}"))
    }
}

#[test]
fn ageing_backup_turns_late_then_stale() {
    let (tmp, dir) = demo();
    age(&dir, 2);
    let (code, json) = status(tmp.path(), &dir);
    assert_eq!((code, json["state"].as_str().unwrap()), (1, "late"));
    age(&dir, 4);
    let (code, json) = status(tmp.path(), &dir);
    assert_eq!((code, json["state"].as_str().unwrap()), (2, "stale"));
    assert!(json["sources"][0]["problem"].as_str().unwrap().contains("3 h 00"));
}

#[test]
fn removed_file_is_missing() {
    let (tmp, dir) = demo();
    std::fs::remove_file(dir.join("prod/runtime/backup/media.taz")).unwrap();
    let (code, json) = status(tmp.path(), &dir);
    assert_eq!((code, json["state"].as_str().unwrap()), (2, "missing"));
    assert!(json["sources"][0]["media"]["problem"].is_string());
}

// Guards: a broken configuration is exit 3 with the key named, not a crash or a silent default.
#[test]
fn broken_config_is_unknown_and_named() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("c.toml");
    std::fs::write(&cfg, "[freshness]\nlate-after = 'bientôt'\n").unwrap();
    let out = secours(tmp.path())
        .arg("--config")
        .arg(&cfg)
        .arg("status")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("'bientôt' is not a duration"), "{err}");
}

// Guards: a missing configuration is exit 3 and its cause is said once. The library's message already
// quotes the system's reason; printing the error chain repeated it after the advice.
#[test]
fn missing_config_is_unknown_and_its_cause_said_once() {
    let tmp = tempfile::tempdir().unwrap();
    let out = secours(tmp.path())
        .arg("--config")
        .arg(tmp.path().join("absent.toml"))
        .arg("status")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("absent.toml") && err.contains("secours config --init"),
        "{err}"
    );
    assert_eq!(err.matches("os error 2").count(), 1, "{err}");
    assert!(err.trim_end().ends_with("to create one."), "{err}");
}

#[test]
fn human_output_speaks_french() {
    let (tmp, dir) = demo();
    let out = secours(tmp.path())
        .env("LANG", "fr_CH.UTF-8")
        .arg("--config")
        .arg(dir.join("config.toml"))
        .arg("status")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Dernière sauvegarde : il y a 5 min"), "{text}");
}

// Guards: `config --check` resolves the environments' db.php and never prints a password.
#[test]
fn config_check_resolves_db_php_and_hides_the_password() {
    let (tmp, dir) = demo();
    let out = secours(tmp.path())
        .arg("--config")
        .arg(dir.join("config.toml"))
        .args(["config", "--check"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("dbname=gestion user=gestion password=***"), "{text}");
    assert!(!text.contains("demo-prod-secret"), "{text}");
    let out = secours(tmp.path())
        .arg("--config")
        .arg(dir.join("config.toml"))
        .args(["config", "--check", "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["environments"][0]["database"]["password"], "***");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("demo-prod-secret"));
}

// Guards the drill advice: every successful restore counts, the newest one is reported in JSON and text,
// failed restores do not count, and a drill due never changes the exit code (advice, not a failure).
#[test]
fn drill_is_reported_and_never_changes_the_exit_code() {
    let (tmp, dir) = demo();
    let (code, json) = status(tmp.path(), &dir);
    assert_eq!(code, 0, "{json}");
    assert_eq!(
        json["drill"],
        serde_json::json!({ "last": null, "due": true, "every_days": 182, "last_restore": null })
    );

    let history = secours::store::history::History::open(&tmp.path().join("history.sqlite")).unwrap();
    let now = jiff::Timestamp::now().as_second();
    let days_ago = |d: i64| jiff::Timestamp::from_second(now - d * 86_400).unwrap();
    // A restore that started an hour before it finished, `days` ago.
    let restore = |days: i64, outcome: &str| {
        let end = days_ago(days);
        let start = jiff::Timestamp::from_second(end.as_second() - 3600).unwrap();
        let id = history.begin_operation("restore", "{}", start).unwrap();
        history.finish_operation(id, outcome, "{}", end).unwrap();
        end
    };
    let last =
        |json: &serde_json::Value| -> jiff::Timestamp { json["drill"]["last"].as_str().unwrap().parse().unwrap() };
    let text = || {
        let out = secours(tmp.path())
            .arg("--config")
            .arg(dir.join("config.toml"))
            .arg("status")
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };

    let long_ago = restore(200, "ok");
    let (code, json) = status(tmp.path(), &dir);
    assert_eq!((code, json["drill"]["due"].as_bool()), (0, Some(true)), "{json}");
    assert_eq!(last(&json), long_ago);
    let (code, out) = text();
    assert_eq!(code, 0);
    assert!(
        out.contains("Last restore rehearsal: 200 d ago — rehearsal advised"),
        "{out}"
    );

    let recent = restore(40, "ok");
    restore(1, "failed");
    let (code, json) = status(tmp.path(), &dir);
    assert_eq!((code, json["drill"]["due"].as_bool()), (0, Some(false)), "{json}");
    assert_eq!(last(&json), recent);
    let (_, out) = text();
    assert!(out.contains("Last restore rehearsal: 40 d ago\n"), "{out}");
}

// Guards issue 12's secrets at rest: the configuration `config --init` writes (it will hold database
// passwords) and the demo's are readable by their owner only.
#[test]
fn written_configurations_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("conf/config.toml");
    secours(tmp.path())
        .arg("--config")
        .arg(&config)
        .args(["config", "--init"])
        .assert()
        .success();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&config), 0o600);
    let (_demo_tmp, dir) = demo();
    assert_eq!(mode(&dir.join("config.toml")), 0o600);
}

// Guards the item 4: the demo makes a suspect backup on request (a table emptied, then backed up),
// so a newcomer can see one: `suspect`, exit 1, and what changed.
#[test]
fn demo_suspect_shows_a_suspect_backup() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let out = secours(tmp.path())
        .args(["demo", "--no-ui", "--suspect", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    let (code, json) = status(tmp.path(), &dir);
    assert_eq!((code, json["state"].as_str().unwrap()), (1, "suspect"), "{json}");
    let anomaly = &json["sources"][0]["anomalies"][0];
    assert_eq!(anomaly["kind"], "table-emptied", "{json}");
    assert_eq!(anomaly["table"], "document");
    // The demo application's `document` table has one row per file of web/documents.
    let message = anomaly["message"].as_str().unwrap();
    assert!(
        message.starts_with("Table `document` is empty (it had ") && message.ends_with(" rows)"),
        "{message}"
    );
    assert_ne!(message, "Table `document` is empty (it had 0 rows)");
}
