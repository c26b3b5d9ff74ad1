//! The standby made ready ahead of time (`secours standby`), end to end with the real binary, a real
//! throwaway MariaDB and real archives: a pair pre-staged then swapped in gives exactly production's state
//! with the previous one kept aside; a pair that verifies but does not import is `unrestorable` (exit 2)
//! and leaves the target untouched; a newer pair replaces the ready one only once proven; a kill -9 in the
//! middle of pre-staging leaves the target untouched and no half shadow database in use; as an ordinary
//! user with the web server's media, the swap gives them to `daemon` in its one administrator request.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::restore::{Site, leftovers, media_owned_by_daemon, site, site_as, state, write};
use crate::support;

use std::fs;
use std::io::Read;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use support::mariadb::{self, Server};
use support::schema::mariadb_dump;
use support::user;

impl Site {
    /// Runs `secours ARGS`; returns (exit code, stdout, stderr).
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.secours().args(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `secours standby --once --json`: its exit code and JSON.
    fn cycle(&self) -> (i32, serde_json::Value) {
        let (code, out, err) = self.run(&["standby", "--once", "--json"]);
        let json = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
        (code, json)
    }

    fn status(&self) -> (i32, serde_json::Value) {
        let (code, out, err) = self.run(&["status", "--json"]);
        let json = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
        (code, json)
    }

    fn backup(&self) -> PathBuf {
        self.root().join("prod/runtime/backup")
    }

    fn next(&self) -> PathBuf {
        self.root().join("secours/.secours-next")
    }
}

/// The databases whose name starts with `prefix`.
fn databases_like(server: &Server, prefix: &str) -> Vec<String> {
    let mut c = server.admin();
    let all: Vec<String> = c.query("SHOW DATABASES").unwrap();
    all.into_iter().filter(|d| d.starts_with(prefix)).collect()
}

/// A newer backup pair of prod: `sql` run on prod first, then dumped and archived again, `age` seconds old.
fn new_pair(server: &Server, site: &Site, sql: &str, age: u64) {
    server.run_sql(&site.prod_db, sql);
    let backup = site.backup();
    mariadb_dump(server, &site.prod_db, &backup.join(format!("{}.gz", site.prod_db)));
    write(&site.web("prod").join("documents/nouveau.pdf"), b"%PDF new");
    let status = Command::new("tar")
        .arg("czf")
        .arg(backup.join("media.taz"))
        .args(["documents", "pictures"])
        .current_dir(site.web("prod"))
        .status()
        .unwrap();
    assert!(status.success());
    for f in fs::read_dir(&backup).unwrap() {
        support::age(&f.unwrap().path(), age);
    }
}

/// Rewrites prod's dump with a statement the server refuses added before its end: the dump still verifies
/// (it is complete and well formed), but it does not import.
fn break_dump(site: &Site, age: u64) {
    let path = site.backup().join(format!("{}.gz", site.prod_db));
    let mut sql = Vec::new();
    flate2::read::GzDecoder::new(fs::File::open(&path).unwrap())
        .read_to_end(&mut sql)
        .unwrap();
    let end: &[u8] = b"/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */";
    let at = sql.windows(end.len()).rposition(|w| w == end).unwrap_or(sql.len());
    let bad: &[u8] = b"INSERT INTO `table_that_is_not_there` VALUES (1);\n";
    sql.splice(at..at, bad.iter().copied());
    support::schema::write_gz(&path, &sql);
    support::age(&path, age);
    support::age(&site.backup().join("media.taz"), age);
}

// Guards issue 17's first promise: a pair pre-staged beside the standby, then swapped in by the restore, gives
// exactly production's database (views, triggers, routines included) and media, keeps the previous state
// aside, never touched the target before the switch-over, and counts as a drill.
#[test]
fn a_pair_prestaged_then_swapped_in_is_exactly_production() {
    let Some(server) = mariadb::require("a_pair_prestaged_then_swapped_in_is_exactly_production") else {
        return;
    };
    let site = site(server, "pre");
    let before = state(server, &site, "secours", &site.secours_db);
    let expected = state(server, &site, "prod", &site.prod_db);

    let (code, json) = site.cycle();
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["result"], "proven", "{json}");
    assert_eq!(json["staged"]["files"], 60, "{json}");
    assert_eq!(json["staged"]["rows"], 3 + 6000 + 2 + 3 + 2, "{json}");
    // The target was not touched; the shadow database holds production's content.
    assert_eq!(state(server, &site, "secours", &site.secours_db), before);
    let shadow = json["staged"]["schema"].as_str().unwrap().to_owned();
    assert_eq!(shadow, format!("{}_next", site.secours_db));
    assert_eq!(server.fingerprint(&shadow), expected.0);
    // The staging is private to Secours, outside the served folder.
    assert_eq!(crate::restore::mode(&site.next()), 0o700);
    assert!(leftovers(&site).is_empty(), "{:?}", leftovers(&site));

    // The status says so; a second cycle has nothing to do.
    let (code, status) = site.status();
    assert_eq!(status["standby"]["ready"], true, "{status}");
    assert!(status["standby"]["proven_at"].is_string(), "{status}");
    assert!(status["standby"]["import_seconds"].as_f64().is_some(), "{status}");
    assert!(
        status["standby"]["pair"]["folder"]
            .as_str()
            .unwrap()
            .ends_with("runtime/backup")
    );
    assert!(
        status["drill"]["last"].is_string(),
        "a proven pair is a drill: {status}"
    );
    assert!(status["drill"]["last_restore"].is_null(), "{status}");
    assert!(code <= 1, "{status}");
    let (code, json) = site.cycle();
    assert_eq!((code, json["result"].as_str()), (0, Some("up-to-date")), "{json}");

    // The dry run says the pair is ready ahead of time; the restore swaps it in.
    let (code, out, err) = site.restore(&["--dry-run", "--json"], None);
    assert_eq!(code, 0, "{out}\n{err}");
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(plan["plan"]["prestaged_at"].is_string(), "{out}");
    let started = Instant::now();
    let (code, out, err) = site.restore(&["--yes", "--json"], None);
    let took = started.elapsed();
    assert_eq!(code, 0, "{out}\n{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["restore"]["swapped"], true, "{out}");
    assert_eq!(
        json["restore"]["check"]["problems"].as_array().unwrap().len(),
        0,
        "{out}"
    );
    assert_eq!(json["restore"]["check"]["files"], 60, "{out}");
    assert_eq!(state(server, &site, "secours", &site.secours_db), expected);
    assert!(took < Duration::from_secs(20), "the swap took {took:?}");
    // The previous state is kept aside, as after any restore.
    let previous = PathBuf::from(json["restore"]["previous"].as_str().unwrap());
    assert!(previous.join("media/documents/ancien.pdf").is_file());
    let record = fs::read_to_string(previous.join("database.schema")).unwrap();
    let side = record.lines().next().unwrap();
    assert_eq!(server.fingerprint(side).lines().next(), Some("base_tables: 2"));
    assert!(leftovers(&site).is_empty(), "{:?}", leftovers(&site));

    // The next cycle removes the emptied shadow and pre-stages the pair again.
    let (code, json) = site.cycle();
    assert_eq!((code, json["result"].as_str()), (0, Some("proven")), "{json}");
    assert_eq!(databases_like(server, &format!("{}_next", site.secours_db)).len(), 1);
    let (_, status) = site.status();
    assert!(status["drill"]["last_restore"].is_string(), "{status}");
}

// Guards the hourly drill: a pair that verifies but whose import the server refuses is `unrestorable` in the
// status (exit 2) with the server's message, the target and the ready pair are untouched, no shadow database
// is left, and the same pair is not imported again every cycle.
#[test]
fn a_pair_that_does_not_import_is_unrestorable_and_touches_nothing() {
    let Some(server) = mariadb::require("a_pair_that_does_not_import_is_unrestorable_and_touches_nothing") else {
        return;
    };
    let site = site(server, "unr");
    let before = state(server, &site, "secours", &site.secours_db);
    break_dump(&site, 300);
    let (code, out, err) = site.run(&["verify", "--json"]);
    assert_eq!(code, 0, "the broken dump still verifies: {out}\n{err}");

    let (code, json) = site.cycle();
    assert_eq!(code, 2, "{json}");
    assert_eq!(json["result"], "unrestorable", "{json}");
    assert_eq!(json["step"], "database", "{json}");
    assert!(
        json["error"].as_str().unwrap().contains("table_that_is_not_there"),
        "{json}"
    );
    assert_eq!(state(server, &site, "secours", &site.secours_db), before);
    assert!(databases_like(server, &format!("{}_next", site.secours_db)).is_empty());

    let (code, status) = site.status();
    assert_eq!(code, 2, "{status}");
    assert_eq!(status["state"], "unrestorable", "{status}");
    assert_eq!(status["standby"]["unrestorable"], true, "{status}");
    assert_eq!(status["standby"]["ready"], false, "{status}");
    assert!(
        status["standby"]["problem"]
            .as_str()
            .unwrap()
            .contains("table_that_is_not_there"),
        "{status}"
    );
    let (_, text, _) = site.run(&["status"]);
    assert!(text.contains("does not restore"), "{text}");

    // Known: said again at once, without a new import.
    let started = Instant::now();
    let (code, json) = site.cycle();
    assert_eq!((code, json["result"].as_str()), (2, Some("unrestorable")), "{json}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

// Guards "only one pre-staged pair is kept; the next one replaces it when proven": a newer pair that does not
// restore leaves the ready one in place; a newer good one replaces it and the old slot and shadow go.
#[test]
fn a_newer_pair_replaces_the_ready_one_only_once_proven() {
    let Some(server) = mariadb::require("a_newer_pair_replaces_the_ready_one_only_once_proven") else {
        return;
    };
    let site = site(server, "newer");
    let (code, first) = site.cycle();
    assert_eq!((code, first["result"].as_str()), (0, Some("proven")), "{first}");
    assert_eq!(first["staged"]["slot"], "a");

    // A newer pair that does not import: unrestorable; the first stays ready, its slot and shadow whole.
    new_pair(server, &site, "INSERT INTO parent (id, name) VALUES (900, 'neuf')", 120);
    break_dump(&site, 120);
    let (code, json) = site.cycle();
    assert_eq!((code, json["result"].as_str()), (2, Some("unrestorable")), "{json}");
    let (_, status) = site.status();
    assert_eq!(status["standby"]["ready"], true, "{status}");
    assert_eq!(status["standby"]["proven_at"], first["staged"]["proven_at"], "{status}");
    assert!(site.next().join("a/media/documents").is_dir());
    assert!(!site.next().join("b").exists());
    assert_eq!(
        databases_like(server, &format!("{}_next", site.secours_db)),
        [format!("{}_next", site.secours_db)]
    );

    // A newer good pair: proven in the other slot, then the first one is removed.
    new_pair(
        server,
        &site,
        "INSERT INTO parent (id, name) VALUES (901, 'encore')",
        60,
    );
    let (code, json) = site.cycle();
    assert_eq!((code, json["result"].as_str()), (0, Some("proven")), "{json}");
    assert_eq!(json["staged"]["slot"], "b");
    assert!(!site.next().join("a").exists());
    assert_eq!(
        databases_like(server, &format!("{}_next", site.secours_db)),
        [format!("{}_next2", site.secours_db)]
    );
    assert_eq!(
        server.fingerprint(&format!("{}_next2", site.secours_db)),
        server.fingerprint(&site.prod_db)
    );
    // History says each cycle in words.
    let (_, text, _) = site.run(&["history"]);
    assert!(text.contains("proven restorable (import"), "{text}");
    assert!(text.contains("does NOT restore (step 'database')"), "{text}");
    let (code, status) = site.status();
    assert_eq!(status["standby"]["unrestorable"], false, "{status}");
    assert_ne!(status["state"], "unrestorable", "{status}");
    assert!(code < 2, "{status}");
}

/// Starts `secours standby --once` paused in the middle of the import into the shadow, and kills it -9.
fn kill_mid_prestage(site: &Site) {
    crate::restore::kill_command_at(site, &["standby", "--once"], "pause:prestage-import");
}

// Guards crash safety of the pre-staging: killed -9 in the middle of the import, the target is untouched, no
// pair is ready (the half shadow is not in use: a restore imports), and the next cycle removes the half one
// and proves the pair.
#[test]
fn kill_9_during_prestaging_leaves_the_target_untouched_and_nothing_half_in_use() {
    let Some(server) = mariadb::require("kill_9_during_prestaging_leaves_the_target_untouched_and_nothing_half_in_use")
    else {
        return;
    };
    let site = site(server, "kill");
    let before = state(server, &site, "secours", &site.secours_db);
    kill_mid_prestage(&site);
    assert_eq!(state(server, &site, "secours", &site.secours_db), before);
    let (_, status) = site.status();
    assert_eq!(status["standby"]["ready"], false, "{status}");
    // A restore now does not use the half-built shadow: it imports.
    let (code, out, err) = site.restore(&["--dry-run", "--json"], None);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(serde_json::from_str::<serde_json::Value>(&out).unwrap()["plan"]["prestaged_at"].is_null());

    let (code, json) = site.cycle();
    assert_eq!((code, json["result"].as_str()), (0, Some("proven")), "{json}");
    let shadow = json["staged"]["schema"].as_str().unwrap();
    assert_eq!(server.fingerprint(shadow), server.fingerprint(&site.prod_db));
    // The interrupted cycle is closed in history, as failed.
    let (code, out, _) = site.run(&["history", "--json"]);
    assert_eq!(code, 0);
    assert!(out.contains("prestage"), "{out}");
}

// Guards the real setup: as an ordinary user whose standby media belong to `daemon`, the pre-staging cannot
// give the staged media away without asking, so the switch-over does it in its one administrator request
// (sudo -n under the test's sudoers rule); the result is production's state, owned by daemon.
#[test]
fn as_an_ordinary_user_the_swap_gives_the_media_to_daemon() {
    let test = "as_an_ordinary_user_the_swap_gives_the_media_to_daemon";
    let Some(server) = mariadb::require(test) else {
        return;
    };
    let Some(tester) = user::require(test, user::WITH_SUDO) else {
        return;
    };
    let site = site_as(server, "preuser", Some(tester));
    let expected = state(server, &site, "prod", &site.prod_db);
    assert!(media_owned_by_daemon(&site));
    let (code, json) = site.cycle();
    assert_eq!((code, json["result"].as_str()), (0, Some("proven")), "{json}");
    assert_eq!(json["staged"]["owner_set"], false, "{json}");
    let (code, out, err) = site.restore(&["--yes", "--json"], None);
    assert_eq!(code, 0, "{out}\n{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["restore"]["swapped"], true, "{out}");
    assert_eq!(state(server, &site, "secours", &site.secours_db), expected);
    assert!(media_owned_by_daemon(&site));
    assert!(leftovers(&site).is_empty(), "{:?}", leftovers(&site));
}

// Guards "it pauses while a restore runs": a cycle started while a restore holds its lock builds nothing and
// says why (the restore takes the ready pair under that lock, so nothing it uses is ever removed).
#[test]
fn a_cycle_gives_way_to_a_running_restore() {
    let Some(server) = mariadb::require("a_cycle_gives_way_to_a_running_restore") else {
        return;
    };
    let site = site(server, "busy");
    fs::create_dir_all(site.data()).unwrap();
    let lock = secours::restore::transaction::restore_lock(&site.data().join("history.sqlite")).unwrap();
    let (code, json) = site.cycle();
    assert_eq!((code, json["result"].as_str()), (0, Some("waiting")), "{json}");
    assert_eq!(json["reason"], "a restore is running", "{json}");
    assert!(!site.next().join("a").exists());
    drop(lock);
    let (code, json) = site.cycle();
    assert_eq!((code, json["result"].as_str()), (0, Some("proven")), "{json}");
}

// Guards `[standby] prestage = "auto"` with a database user who may not create the shadow database (the
// demo's and many shared setups'): pre-staging is off and says why, nothing is recorded as a failure and no
// database is left; with `true` it is an error naming the grant to give; with the grant on `<db>_next%`
// (least privilege) it works.
#[test]
fn a_user_who_may_not_create_the_shadow_turns_auto_off() {
    let Some(server) = mariadb::require("a_user_who_may_not_create_the_shadow_turns_auto_off") else {
        return;
    };
    let site = site(server, "nocreate");
    let user = "secours_nocreate";
    crate::restore::limited_user(server, &site, user);
    let mut admin = server.admin();

    let (code, json) = site.cycle();
    assert_eq!((code, json["result"].as_str()), (0, Some("off")), "{json}");
    assert!(json["reason"].as_str().unwrap().contains("may not create"), "{json}");
    assert!(databases_like(server, &format!("{}_next", site.secours_db)).is_empty());
    let (_, status) = site.status();
    assert_eq!(status["standby"]["unrestorable"], false, "{status}");

    let config = fs::read_to_string(site.config()).unwrap();
    fs::write(site.config(), format!("{config}\n[standby]\nprestage = true\n")).unwrap();
    let (code, json) = site.cycle();
    assert_eq!((code, json["result"].as_str()), (3, Some("error")), "{json}");
    assert!(json["error"].as_str().unwrap().contains("_next%"), "{json}");

    for host in ["%", "localhost"] {
        admin
            .query_drop(format!(
                "GRANT ALL PRIVILEGES ON `{}\\_next%`.* TO '{user}'@'{host}'",
                site.secours_db.replace('_', "\\_")
            ))
            .unwrap();
    }
    let (code, json) = site.cycle();
    assert_eq!((code, json["result"].as_str()), (0, Some("proven")), "{json}");
}

// Guards "it pauses while a copy runs": while a copy holds its lock the cycle waits (the ready pair is not
// replaced meanwhile), and it finishes once the copy is done.
#[test]
fn a_cycle_pauses_while_a_copy_runs() {
    let Some(server) = mariadb::require("a_cycle_pauses_while_a_copy_runs") else {
        return;
    };
    let site = site(server, "copying");
    let copying = secours::files::lock::try_hold(&site.data().join("copy.lock")).unwrap();
    let mut child = site
        .secours()
        .args(["standby", "--once", "--json"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    assert!(child.try_wait().unwrap().is_none(), "the cycle went on during the copy");
    let record = fs::read_to_string(site.next().join("state.json")).unwrap_or_else(|_| "{}".to_owned());
    let record: serde_json::Value = serde_json::from_str(&record).unwrap();
    assert!(record["ready"].is_null(), "{record}");
    drop(copying);
    let out = child.wait_with_output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["result"], "proven", "{json}");
}

// Guards "rollback, resume and kill -9 safety stay as they are" for the swap: killed -9 after the shadow's
// tables were moved in (at the set-aside), `--rollback` puts the standby back exactly as it was; killed as
// the database step starts, `--resume` finishes with exactly production's state.
#[test]
fn a_swap_killed_midway_rolls_back_or_resumes_whole() {
    let Some(server) = mariadb::require("a_swap_killed_midway_rolls_back_or_resumes_whole") else {
        return;
    };
    let site = site(server, "swapkill");
    let before = state(server, &site, "secours", &site.secours_db);
    let expected = state(server, &site, "prod", &site.prod_db);

    let (code, json) = site.cycle();
    assert_eq!((code, json["result"].as_str()), (0, Some("proven")), "{json}");
    crate::restore::kill_command_at(&site, &["restore", "--yes"], "pause:set-aside");
    let (code, out, err) = site.restore(&["--rollback"], None);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(state(server, &site, "secours", &site.secours_db), before);
    assert!(leftovers(&site).is_empty(), "{:?}", leftovers(&site));

    // The taken pair is pre-staged again by the next cycle; this time the restore is killed as its database
    // step starts, and resumed.
    let (code, json) = site.cycle();
    assert_eq!((code, json["result"].as_str()), (0, Some("proven")), "{json}");
    crate::restore::kill_command_at(&site, &["restore", "--yes"], "pause:database");
    let (code, json) = site.cycle();
    assert_eq!(
        (code, json["result"].as_str()),
        (0, Some("waiting")),
        "an unfinished restore: {json}"
    );
    let (code, out, err) = site.restore(&["--resume", "--json"], None);
    assert_eq!(code, 0, "{out}\n{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["restore"]["swapped"], true, "{out}");
    assert_eq!(state(server, &site, "secours", &site.secours_db), expected);
    assert!(leftovers(&site).is_empty(), "{:?}", leftovers(&site));
}

// Guards the pre-staging's failures that are this machine's, not the backup's: the server down, a wrong
// password, a disk without room. Each is a message naming the cause and what to do (exit 3, never
// `unrestorable`), the password is never printed, and the ready pair stays ready.
#[test]
fn a_server_down_a_wrong_password_or_a_full_disk_leave_the_ready_pair() {
    let Some(server) = mariadb::require("a_server_down_a_wrong_password_or_a_full_disk_leave_the_ready_pair") else {
        return;
    };
    let site = site(server, "machine");
    let (code, first) = site.cycle();
    assert_eq!((code, first["result"].as_str()), (0, Some("proven")), "{first}");
    // A newer pair, so that the next cycles have work to do.
    new_pair(server, &site, "INSERT INTO parent (id, name) VALUES (902, 'plus')", 60);

    let db_php = site.root().join("secours/config/db.php");
    let good = fs::read_to_string(&db_php).unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let wrong_password = "not-the-password-42";
    for (what, text) in [
        (
            "server down",
            good.replace(&format!("port={}", server.port), &format!("port={closed}")),
        ),
        ("wrong password", good.replace(mariadb::PASSWORD, wrong_password)),
    ] {
        fs::write(&db_php, text).unwrap();
        let (code, out, err) = site.run(&["standby", "--once"]);
        assert_eq!(code, 3, "{what}: {out}\n{err}");
        assert!(
            err.contains("pre-staging stopped at step") && err.contains("The ready pair, if any, is unchanged"),
            "{what}: {err}"
        );
        assert!(
            !err.contains(wrong_password) && !out.contains(wrong_password),
            "{what}: {err}"
        );
        let (_, status) = site.status();
        assert_eq!(status["standby"]["ready"], true, "{what}: {status}");
        assert_eq!(
            status["standby"]["proven_at"], first["staged"]["proven_at"],
            "{what}: {status}"
        );
        assert_eq!(status["standby"]["unrestorable"], false, "{what}: {status}");
    }
    fs::write(&db_php, &good).unwrap();

    // No room for the shadow database and the media: `auto` turns itself off and says why; `true` is an
    // error naming the space. The standby's folder on a 8 MB tmpfs, where the machine lets us mount one.
    let next = site.next();
    let saved = site.root().join("next.saved");
    assert!(
        Command::new("cp")
            .arg("-a")
            .arg(&next)
            .arg(&saved)
            .status()
            .unwrap()
            .success()
    );
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"])
        .arg(&next)
        .output()
        .unwrap();
    if !mounted.status.success() {
        eprintln!(
            "SKIPPED the full-disk half: this machine does not allow mounting a tmpfs ({})",
            String::from_utf8_lossy(&mounted.stderr).trim()
        );
        return;
    }
    let _mount = crate::restore::Mount(next.clone());
    assert!(
        Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", saved.display()))
            .arg(&next)
            .status()
            .unwrap()
            .success()
    );
    let (code, json) = site.cycle();
    assert_eq!((code, json["result"].as_str()), (0, Some("off")), "{json}");
    assert!(
        json["reason"].as_str().unwrap().contains("not enough free space"),
        "{json}"
    );
    let config = fs::read_to_string(site.config()).unwrap();
    fs::write(site.config(), format!("{config}\n[standby]\nprestage = true\n")).unwrap();
    let (code, out, err) = site.run(&["standby", "--once"]);
    assert_eq!(code, 3, "{out}\n{err}");
    assert!(
        err.contains("not enough free space") && err.contains("Free some disk space"),
        "{err}"
    );
    let (_, status) = site.status();
    assert_eq!(status["standby"]["proven_at"], first["staged"]["proven_at"], "{status}");
}

// Guards a damaged backup: it is never pre-staged (the verification refuses it first), the cycle says why,
// and the status says `corrupt`, not `unrestorable` (the backup is broken, not the restore).
#[test]
fn a_damaged_backup_is_not_prestaged() {
    let Some(server) = mariadb::require("a_damaged_backup_is_not_prestaged") else {
        return;
    };
    let site = site(server, "damaged");
    let media = site.backup().join("media.taz");
    let bytes = fs::read(&media).unwrap();
    fs::write(&media, &bytes[..bytes.len() / 2]).unwrap();
    support::age(&media, 300);
    let (code, json) = site.cycle();
    assert_eq!((code, json["result"].as_str()), (0, Some("waiting")), "{json}");
    assert!(json["reason"].as_str().unwrap().contains("not verified ok"), "{json}");
    assert!(!site.next().join("a").exists());
    let (code, status) = site.status();
    assert_eq!((code, status["state"].as_str()), (2, Some("corrupt")), "{status}");
    assert_eq!(status["standby"]["unrestorable"], false, "{status}");
}
