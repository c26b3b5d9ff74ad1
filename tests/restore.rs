//! `secours restore` end to end, with the real binary, a real throwaway MariaDB and real archives:
//! a full restore makes the target equal to the source; an injected failure at every step, and a
//! `kill -9` in the middle of the media extraction and of the import, leave the target wholly as it
//! was (after the automatic rollback or `--rollback`) or wholly restored (after `--resume`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use secours::progress::Cancel;
use sha2::{Digest, Sha256};
use support::mariadb::{self, PASSWORD, Server, USER};
use support::schema::{mariadb_dump, rich_schema};
use support::user::{self, TestUser};

/// A prod and a secours environment on disk, their databases, and a configuration; with `user`, run as
/// that ordinary user, with secours's media belonging to `daemon` as on the office's standby Mac.
pub(crate) struct Site {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) prod_db: String,
    pub(crate) secours_db: String,
    pub(crate) user: Option<TestUser>,
}

impl Site {
    pub(crate) fn root(&self) -> &Path {
        self.dir.path()
    }
    pub(crate) fn config(&self) -> PathBuf {
        self.root().join("config.toml")
    }
    pub(crate) fn data(&self) -> PathBuf {
        self.root().join("data")
    }
    pub(crate) fn web(&self, env: &str) -> PathBuf {
        self.root().join(env).join("web")
    }

    pub(crate) fn secours(&self) -> Command {
        let mut c = match &self.user {
            Some(u) => u.command(&u.bin),
            None => Command::new(env!("CARGO_BIN_EXE_secours")),
        };
        c.arg("--config")
            .arg(self.config())
            .arg("--data-dir")
            .arg(self.data())
            .env("SECOURS_LANG", "en")
            .env("LANG", "C")
            .env_remove("SECOURS_FAULT");
        c
    }

    /// Runs `secours restore ARGS`; returns (exit code, stdout, stderr).
    pub(crate) fn restore(&self, args: &[&str], fault: Option<&str>) -> (i32, String, String) {
        let mut c = self.secours();
        c.arg("restore").args(args);
        if let Some(f) = fault {
            c.env("SECOURS_FAULT", f);
        }
        let out = c.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

fn db_php(server: &Server, db: &str) -> String {
    format!(
        "<?php\nreturn [\n    'class' => 'yii\\db\\Connection',\n    'dsn' => 'mysql:host=127.0.0.1;port={};dbname={db}',\n    'username' => '{USER}',\n    'password' => '{PASSWORD}',\n    'charset' => 'utf8mb4',\n];\n",
        server.port
    )
}

/// Deterministic, incompressible bytes.
pub(crate) fn noise(seed: u32, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x & 0xff) as u8
        })
        .collect()
}

pub(crate) fn write(path: &Path, bytes: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

/// The owner the restore gives the media: daemon:daemon when the tests run as root (CI), else the
/// current user (who may not give files away).
pub(crate) fn owner() -> (String, Option<u32>) {
    let uid = Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&uid.stdout).trim() == "0" {
        return ("daemon:daemon".to_owned(), Some(1));
    }
    let name = |flag: &str| {
        let o = Command::new("id").arg(flag).output().unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_owned()
    };
    (format!("{}:{}", name("-un"), name("-gn")), None)
}

/// prod: the rich schema and ~3 MB of media in 60 files; secours: an older, different state.
pub(crate) fn site(server: &Server, tag: &str) -> Site {
    site_as(server, tag, None)
}

/// [`site`], run by `user` when given: the whole site belongs to that user but secours's media, which
/// belong to `daemon` (what the procedure's `chown -R daemon:daemon` leaves).
pub(crate) fn site_as(server: &Server, tag: &str, user: Option<TestUser>) -> Site {
    let dir = match &user {
        Some(u) => u.tempdir(),
        None => tempfile::tempdir().unwrap(),
    };
    let root = dir.path();
    let prod_db = format!("rs_prod_{tag}");
    let secours_db = format!("rs_secours_{tag}");
    for (env, db) in [("prod", &prod_db), ("secours", &secours_db)] {
        write(&root.join(env).join("config/db.php"), db_php(server, db).as_bytes());
        write(&root.join(env).join("web/index.php"), b"<?php // app\n");
        fs::create_dir_all(root.join(env).join("runtime/backup")).unwrap();
    }
    // prod's database and media, and its hourly backup pair.
    server.fresh_db(&prod_db);
    server.run_sql(&prod_db, &rich_schema());
    let backup = root.join("prod/runtime/backup");
    mariadb_dump(server, &prod_db, &backup.join(format!("{prod_db}.gz")));
    let web = root.join("prod/web");
    for i in 0..40u32 {
        write(
            &web.join(format!("documents/dossier {}/Procès-verbal n°{i}.pdf", i % 4)),
            &noise(i + 1, 50_000 + i as usize * 997),
        );
    }
    for i in 0..20u32 {
        write(
            &web.join(format!("pictures/photo été {i}.jpg")),
            &noise(i + 100, 40_000),
        );
    }
    fs::create_dir_all(web.join("pictures/empty album")).unwrap();
    std::os::unix::fs::symlink("photo été 1.jpg", web.join("pictures/latest.jpg")).unwrap();
    let status = Command::new("tar")
        .arg("czf")
        .arg(backup.join("media.taz"))
        .args(["documents", "pictures"])
        .current_dir(&web)
        .status()
        .unwrap();
    assert!(status.success());
    // The backup was written a few minutes ago (a pair modified seconds ago reads as "being written").
    for f in fs::read_dir(&backup).unwrap() {
        support::age(&f.unwrap().path(), 300);
    }
    // secours: older data.
    server.fresh_db(&secours_db);
    reset_secours(server, root, &secours_db);

    let (owner, _) = owner();
    let r = root.display();
    let config = format!(
        "language = \"en\"\n\
         [environments.prod]\nroot = \"{r}/prod\"\n\n\
         [environments.secours]\nroot = \"{r}/secours\"\n\n\
         [watch]\nenvironments = [\"prod\"]\n\n\
         [restore]\ntarget = \"secours\"\nowner = \"{owner}\"\n\n\
         [time-machine]\nenabled = false\n"
    );
    write(&root.join("config.toml"), config.as_bytes());
    let site = Site {
        dir,
        prod_db,
        secours_db,
        user,
    };
    site.own();
    site
}

impl Site {
    /// Puts the owners back as the office has them (after the test, as root, wrote files).
    fn own(&self) {
        if let Some(u) = &self.user {
            u.give(self.root());
            for env in ["prod", "secours"] {
                for d in ["documents", "pictures"] {
                    let p = self.web(env).join(d);
                    if p.exists() {
                        user::chown(&p, "daemon:daemon");
                    }
                }
            }
        }
    }

    /// secours back to its "before" state, owners included.
    pub(crate) fn reset(&self, server: &Server) {
        reset_secours(server, self.root(), &self.secours_db);
        self.own();
    }
}

/// secours's older database. Every kind of object, so that setting the database aside and putting it back
/// must carry them all: a foreign key, a trigger (which cannot move with its table), a view, a routine, an
/// event. One statement per line, none with a `;` inside.
const OLD_STATE: &str = "CREATE TABLE old_stuff (id INT PRIMARY KEY, label VARCHAR(20));
CREATE TABLE old_notes (id INT PRIMARY KEY, stuff_id INT, CONSTRAINT old_fk FOREIGN KEY (stuff_id) REFERENCES old_stuff (id));
INSERT INTO old_stuff VALUES (1, 'ancien'), (2, 'état');
INSERT INTO old_notes VALUES (10, 1);
CREATE TRIGGER old_trg BEFORE INSERT ON old_stuff FOR EACH ROW SET NEW.label = UPPER(NEW.label);
CREATE VIEW old_view AS SELECT label FROM old_stuff;
CREATE PROCEDURE old_proc() SELECT COUNT(*) FROM old_stuff;
CREATE EVENT old_event ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM old_notes;";

/// Puts secours back to its "before" state: a small database and a few old files.
fn reset_secours(server: &Server, root: &Path, db: &str) {
    server.fresh_db(db);
    server.run_sql(db, OLD_STATE);
    let web = root.join("secours/web");
    for d in ["documents", "pictures"] {
        let _ = fs::remove_dir_all(web.join(d));
    }
    write(&web.join("documents/ancien.pdf"), b"%PDF old");
    write(&web.join("pictures/vieux.jpg"), &noise(7, 1000));
}

/// Every path under the media folders with its kind, size and hash (links by target).
pub(crate) fn media_tree(web: &Path) -> BTreeMap<String, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let mut entries: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            let rel = p.strip_prefix(base).unwrap().display().to_string();
            let meta = fs::symlink_metadata(&p).unwrap();
            if meta.file_type().is_symlink() {
                out.insert(rel, format!("link {}", fs::read_link(&p).unwrap().display()));
            } else if meta.is_dir() {
                out.insert(rel, "dir".to_owned());
                walk(base, &p, out);
            } else {
                let hash = hex::encode(Sha256::digest(fs::read(&p).unwrap()));
                out.insert(rel, format!("{} {hash}", meta.len()));
            }
        }
    }
    let mut out = BTreeMap::new();
    for d in ["documents", "pictures"] {
        if web.join(d).exists() {
            out.insert(d.to_owned(), "dir".to_owned());
            walk(web, &web.join(d), &mut out);
        }
    }
    out
}

/// The whole observable state of an environment: database fingerprint and media tree.
pub(crate) fn state(server: &Server, site: &Site, env: &str, db: &str) -> (String, BTreeMap<String, String>) {
    (server.fingerprint(db), media_tree(&site.web(env)))
}

/// What a restore must not leave behind: anything of Secours's inside web/ (it is served), and staging
/// folders beside it.
pub(crate) fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

pub(crate) fn leftovers(site: &Site) -> Vec<String> {
    let names = |dir: &Path| -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    let mut out: Vec<String> = names(&site.web("secours"))
        .into_iter()
        .filter(|n| n.starts_with(".secours-"))
        .collect();
    out.extend(
        names(&site.root().join("secours"))
            .into_iter()
            .filter(|n| n.starts_with(".secours-staging")),
    );
    out
}

// Guards the whole point of Secours: after `restore --yes` the standby's database and media are
// exactly prod's, the media belong to the configured owner, the replaced state is kept, and the
// restore counts as a drill.
#[test]
fn a_full_restore_makes_the_standby_equal_to_production() {
    let Some(server) = mariadb::require("a_full_restore_makes_the_standby_equal_to_production") else {
        return;
    };
    let site = site(server, "full");
    let before = state(server, &site, "secours", &site.secours_db);
    let expected = state(server, &site, "prod", &site.prod_db);
    assert_ne!(before, expected);

    let (code, out, err) = site.restore(&["--yes", "--json"], None);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["ok"], true);
    assert_eq!(json["restore"]["database"]["tables"], 5, "{out}");
    assert_eq!(json["restore"]["media"]["files"], 60, "{out}");
    assert_eq!(json["restore"]["check"]["problems"].as_array().unwrap().len(), 0);
    // Every base table was counted (rows equal the dump's INSERTs), and every file.
    assert_eq!(json["restore"]["check"]["tables_checked"], 5, "{out}");
    assert_eq!(json["restore"]["check"]["rows"], 3 + 6000 + 2 + 3 + 2, "{out}");
    assert_eq!(json["restore"]["check"]["files"], 60, "{out}");
    assert_eq!(state(server, &site, "secours", &site.secours_db), expected);
    assert!(leftovers(&site).is_empty(), "{:?}", leftovers(&site));

    // Owner: every entry, the link itself included.
    if let (_, Some(uid)) = owner() {
        use std::os::unix::fs::MetadataExt;
        let m = fs::symlink_metadata(site.web("secours").join("pictures/latest.jpg")).unwrap();
        assert_eq!((m.uid(), m.gid()), (uid, 1));
        let m = fs::metadata(site.web("secours").join("documents/dossier 1/Procès-verbal n°1.pdf")).unwrap();
        assert_eq!(m.uid(), uid);
    }
    // The replaced state is kept next to web/.
    let previous = PathBuf::from(json["restore"]["previous"].as_str().unwrap());
    // The test user may create databases: the old tables were set aside, not dumped.
    assert!(!previous.join("database.gz").exists());
    assert!(previous.join("definitions.gz").is_file());
    // What may hold the data is only its owner's.
    assert_eq!(mode(&previous.join("definitions.gz")), 0o600);
    assert_eq!(mode(&previous.join("database.schema")), 0o600);
    let record = fs::read_to_string(previous.join("database.schema")).unwrap();
    let side = record.lines().next().unwrap();
    assert_eq!(record.lines().nth(1), Some("2"), "{record}");
    assert!(side.starts_with(&format!("{}_prev_", site.secours_db)), "{side}");
    assert_eq!(server.fingerprint(side).lines().next(), Some("base_tables: 2"));
    assert!(previous.join("media/documents/ancien.pdf").is_file());

    // History: a finished restore, no unfinished one; the password never written anywhere.
    let history = fs::read(site.data().join("history.sqlite")).unwrap_or_default();
    assert!(!String::from_utf8_lossy(&history).contains(PASSWORD));
    assert!(!out.contains(PASSWORD) && !err.contains(PASSWORD));
    let (code, _, _) = site.restore(&["--rollback"], None);
    assert_eq!(code, 2, "nothing to roll back");
}

// Guards --dry-run: a plan with numbers, and nothing changed.
#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let Some(server) = mariadb::require("dry_run_prints_the_plan_and_changes_nothing") else {
        return;
    };
    let site = site(server, "dry");
    let before = state(server, &site, "secours", &site.secours_db);
    let (code, out, err) = site.restore(&["--dry-run", "--json"], None);
    assert_eq!(code, 0, "{out}\n{err}");
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    let plan = &plan["plan"];
    assert_eq!(plan["target"], "secours");
    assert_eq!(plan["database"], site.secours_db);
    assert_eq!(plan["current_objects"]["tables"], 2);
    assert_eq!(plan["current_objects"]["views"], 1);
    assert_eq!(plan["backup_files"], 60, "60 files; the link is not a file");
    assert!(plan["estimated_seconds"].as_u64().unwrap() > 0);
    let (code, out, _) = site.restore(&["--dry-run"], None);
    assert_eq!(code, 0);
    assert!(
        out.contains("Will be replaced: database") && out.contains("Dry run"),
        "{out}"
    );
    assert_eq!(state(server, &site, "secours", &site.secours_db), before);

    // Without a terminal and without --yes, nothing happens either.
    let (code, _, err) = site.restore(&[], None);
    assert_eq!(code, 2);
    assert!(err.contains("--yes"), "{err}");
    assert_eq!(state(server, &site, "secours", &site.secours_db), before);
}

// Guards "wholly old": a failure injected at every step leaves the standby exactly as it was, with
// no staging or half-moved folder left, and a message naming the step.
#[test]
fn a_failure_at_any_step_leaves_the_standby_as_it_was() {
    let Some(server) = mariadb::require("a_failure_at_any_step_leaves_the_standby_as_it_was") else {
        return;
    };
    let site = site(server, "fault");
    let before = state(server, &site, "secours", &site.secours_db);
    for step in [
        "preflight",
        "snapshot",
        "media",
        "database",
        "set-aside",
        "swap",
        "swap-between",
        "check",
        "commit",
    ] {
        let (code, out, err) = site.restore(&["--yes"], Some(step));
        assert_eq!(code, 2, "step {step}: {out}\n{err}");
        assert!(err.contains(&format!("'{step}'")), "step {step}: {err}");
        assert_eq!(
            state(server, &site, "secours", &site.secours_db),
            before,
            "step {step} left a mixed state"
        );
        assert!(leftovers(&site).is_empty(), "step {step}: {:?}", leftovers(&site));
    }
    // After all that, a normal restore still works.
    let (code, out, err) = site.restore(&["--yes"], None);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(
        state(server, &site, "secours", &site.secours_db),
        state(server, &site, "prod", &site.prod_db)
    );
}

/// Starts `secours restore --yes` paused in the middle of `step`, waits for it to get there, and
/// kills it with SIGKILL.
fn kill_during(site: &Site, step: &str) {
    kill_at(site, &format!("pause-in:{step}"));
}

/// Starts `secours restore --yes` with the fault `spec` (which pauses it somewhere), waits for it to get
/// there, and kills it with SIGKILL.
fn kill_at(site: &Site, spec: &str) {
    kill_command_at(site, &["restore", "--yes"], spec);
}

/// Starts `secours ARGS` with the fault `spec` (which pauses it somewhere), waits for it to get there, and
/// kills it with SIGKILL.
pub(crate) fn kill_command_at(site: &Site, args: &[&str], spec: &str) {
    let step = spec.replace([':', ','], "-");
    let mark = site.root().join(format!("paused-{step}"));
    let _ = fs::remove_file(&mark);
    let mut child = site
        .secours()
        .args(args)
        .env("SECOURS_FAULT", spec)
        .env("SECOURS_FAULT_MARK", &mark)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !mark.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            panic!("secours ended before reaching {step}: {status}\n{err}");
        }
        assert!(started.elapsed() < Duration::from_secs(120), "never reached {step}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = Command::new("kill")
        .arg("-9")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    child.wait().unwrap();
}

// Guards crash safety: after a real kill -9 during the media extraction or during the import, any
// Secours command points at the unfinished restore; --rollback brings back exactly the old state and
// --resume exactly the new one.
#[test]
fn kill_9_mid_restore_then_rollback_or_resume_is_never_a_mix() {
    let Some(server) = mariadb::require("kill_9_mid_restore_then_rollback_or_resume_is_never_a_mix") else {
        return;
    };
    let site = site(server, "kill");
    let after = state(server, &site, "prod", &site.prod_db);

    for step in ["media", "database"] {
        // Taken after each reset: the old event's STARTS is the time it was created.
        let before = state(server, &site, "secours", &site.secours_db);
        // Killed, then rolled back.
        kill_during(&site, step);
        let status = site.secours().args(["status"]).output().unwrap();
        let err = String::from_utf8_lossy(&status.stderr);
        assert!(err.contains("--resume") && err.contains("--rollback"), "{err}");
        let (code, out, err) = site.restore(&["--yes"], None);
        assert_eq!(
            code, 2,
            "a new restore must be refused while one is unfinished: {out}\n{err}"
        );
        let (code, out, err) = site.restore(&["--rollback"], None);
        assert_eq!(code, 0, "{step}: {out}\n{err}");
        assert_eq!(
            state(server, &site, "secours", &site.secours_db),
            before,
            "rollback after kill in {step}"
        );
        assert!(leftovers(&site).is_empty(), "{:?}", leftovers(&site));

        // Killed, then resumed.
        kill_during(&site, step);
        let (code, out, err) = site.restore(&["--resume"], None);
        assert_eq!(code, 0, "{step}: {out}\n{err}");
        assert_eq!(
            state(server, &site, "secours", &site.secours_db),
            after,
            "resume after kill in {step}"
        );
        assert!(leftovers(&site).is_empty(), "{:?}", leftovers(&site));
        site.reset(server);
    }
}

// Guards the refusals that must change nothing: a corrupt backup, a wrong password, a missing owner.
#[test]
fn refusals_name_the_problem_and_change_nothing() {
    let Some(server) = mariadb::require("refusals_name_the_problem_and_change_nothing") else {
        return;
    };
    let site = site(server, "refuse");
    let before = state(server, &site, "secours", &site.secours_db);

    // A corrupt dump (truncated): verification refuses it.
    let broken = site.root().join("broken");
    fs::create_dir_all(&broken).unwrap();
    let dump = site.root().join(format!("prod/runtime/backup/{}.gz", site.prod_db));
    let bytes = fs::read(&dump).unwrap();
    fs::write(broken.join(format!("{}.gz", site.prod_db)), &bytes[..bytes.len() / 2]).unwrap();
    fs::copy(
        site.root().join("prod/runtime/backup/media.taz"),
        broken.join("media.taz"),
    )
    .unwrap();
    let (code, _, err) = site.restore(&["--yes", "--from", broken.to_str().unwrap()], None);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("failed verification") && err.contains("nothing was changed"),
        "{err}"
    );

    // A wrong password in the standby's db.php.
    let db_php = site.root().join("secours/config/db.php");
    let good = fs::read_to_string(&db_php).unwrap();
    fs::write(&db_php, good.replace(PASSWORD, "wrong-password")).unwrap();
    let (code, _, err) = site.restore(&["--yes"], None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nothing was changed"), "{err}");
    assert!(!err.contains("wrong-password"), "the password must not be shown: {err}");
    fs::write(&db_php, good).unwrap();

    // An owner that does not exist on this machine.
    let config = fs::read_to_string(site.config()).unwrap();
    let (owner, _) = owner();
    fs::write(site.config(), config.replace(&owner, "nobody-here:nogroup-here")).unwrap();
    let (code, _, err) = site.restore(&["--yes"], None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nobody-here"), "{err}");
    fs::write(site.config(), config).unwrap();

    assert_eq!(state(server, &site, "secours", &site.secours_db), before);
    let _ = std::io::stdout().flush();
}

// Guards the item 3: a restore from a suspect backup (tables emptied by mistake) needs one more
// confirmation that names the anomaly. `--yes` alone refuses it and changes nothing, saying what changed
// and how to go on; `--yes --accept-anomaly` restores it.
#[test]
fn a_suspect_backup_needs_accept_anomaly_with_yes() {
    let Some(server) = mariadb::require("a_suspect_backup_needs_accept_anomaly_with_yes") else {
        return;
    };
    let site = site(server, "suspect");
    // The watcher verified the site's pair: it is the reference.
    let out = site.secours().arg("verify").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Then someone empties tables in production, and the hourly backup runs.
    server.run_sql(&site.prod_db, "DELETE FROM `a``first ünï ☃`;\nDELETE FROM parent;\n");
    let backup = site.root().join("prod/runtime/backup");
    mariadb_dump(server, &site.prod_db, &backup.join(format!("{}.gz", site.prod_db)));
    for f in fs::read_dir(&backup).unwrap() {
        support::age(&f.unwrap().path(), 120);
    }
    let before = state(server, &site, "secours", &site.secours_db);

    let (code, out, err) = site.restore(&["--yes"], None);
    assert_eq!(code, 2, "stdout: {out}\nstderr: {err}");
    assert!(
        err.contains("this backup is suspect")
            && err.contains("table `child table` is empty (it had 6")
            && err.contains("nothing was done")
            && err.contains("--accept-anomaly"),
        "{err}"
    );
    assert_eq!(state(server, &site, "secours", &site.secours_db), before);
    // The plan says it too.
    let (code, out, _) = site.restore(&["--dry-run"], None);
    assert_eq!(code, 0);
    assert!(out.contains("table `parent` is empty"), "{out}");

    let (code, out, err) = site.restore(&["--yes", "--accept-anomaly"], None);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert_eq!(server.fingerprint(&site.secours_db), server.fingerprint(&site.prod_db));
}

// Guards --list-sources: the watched backup is offered with its id, newest first.
#[test]
fn list_sources_offers_the_watched_backup() {
    let Some(server) = mariadb::require("list_sources_offers_the_watched_backup") else {
        return;
    };
    let site = site(server, "list");
    let out = site
        .secours()
        .args(["restore", "--list-sources", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &list[0];
    assert_eq!(first["kind"], "watched");
    assert!(first["folder"].as_str().unwrap().ends_with("prod/runtime/backup"));
    assert!(first["db_bytes"].as_u64().unwrap() > 0);
}

use crate::support::tmutil;

// Guards "a restore can start from an older hour": the copies of the watched backup folder inside
// completed Time Machine backups are listed (newest first, an unfinished backup skipped), each with an id
// that --from accepts.
#[test]
fn list_sources_includes_the_backup_folder_inside_time_machine_backups() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let backup = root.join("prod/runtime/backup");
    write(
        &root.join("prod/config/db.php"),
        b"<?php return ['dsn' => 'mysql:host=localhost;dbname=gestion', 'username' => 'u', 'password' => 'p'];",
    );
    write(&backup.join("gestion.gz"), b"now");
    write(&backup.join("media.taz"), b"now");
    let host = root.join("tm/Backups.backupdb/imac");
    let mut listing = String::new();
    // The last one is still being written: not a source.
    for name in ["2026-11-24-100000", "2026-11-24-110000", "2026-11-24-120000.inprogress"] {
        let inside = host
            .join(name)
            .join("Macintosh HD - Data")
            .join(backup.strip_prefix("/").unwrap());
        write(&inside.join("gestion.gz"), name.as_bytes());
        write(&inside.join("media.taz"), name.as_bytes());
        listing.push_str(&format!("{}\n", host.join(name).display()));
    }
    let fake = tempfile::tempdir().unwrap();
    let replies = BTreeMap::from([("listbackups", tmutil::Reply::out(listing))]);
    let tmutil_path = tmutil::write_fake_tmutil(fake.path(), &replies);
    let r = root.display();
    let config = format!(
        "[environments.prod]\nroot = \"{r}/prod\"\n\n[environments.secours]\nroot = \"{r}/secours\"\n\n\
         [watch]\nenvironments = [\"prod\"]\n\n[time-machine]\nenabled = true\ntmutil = \"{}\"\n",
        tmutil_path.display()
    );
    write(&root.join("config.toml"), config.as_bytes());
    let out = Command::new(env!("CARGO_BIN_EXE_secours"))
        .arg("--config")
        .arg(root.join("config.toml"))
        .arg("--data-dir")
        .arg(root.join("data"))
        .args(["restore", "--list-sources", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tm: Vec<&serde_json::Value> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "time-machine")
        .collect();
    assert_eq!(tm.len(), 2, "{list:#}");
    assert!(
        tm[0]["folder"].as_str().unwrap().contains("2026-11-24-110000"),
        "{list:#}"
    );
    assert!(
        tm[1]["folder"].as_str().unwrap().contains("2026-11-24-100000"),
        "{list:#}"
    );
    assert_eq!(tm[0]["id"], tm[0]["folder"]);
    assert!(tmutil::calls(fake.path()).iter().any(|c| c == "listbackups"));
}

// Guards "back up now" and the return to production: the standby's own backup, made by `secours backup`,
// verifies, and `secours failback` puts exactly that state onto prod — but only with --to-production.
#[test]
fn backup_now_then_failback_puts_the_standby_state_onto_production() {
    let Some(server) = mariadb::require("backup_now_then_failback_puts_the_standby_state_onto_production") else {
        return;
    };
    backup_now_then_failback(server, site(server, "back"));
}

// The same as the office runs it: an ordinary user, both environments' media belonging to daemon.
#[test]
fn as_an_ordinary_user_backup_now_then_failback_puts_the_standby_state_onto_production() {
    let test = "as_an_ordinary_user_backup_now_then_failback_puts_the_standby_state_onto_production";
    let Some(server) = mariadb::require(test) else {
        return;
    };
    let Some(tester) = user::require(test, user::WITH_SUDO) else {
        return;
    };
    let site = site_as(server, "userback", Some(tester));
    backup_now_then_failback(server, site);
}

fn backup_now_then_failback(server: &Server, site: Site) {
    let standby = state(server, &site, "secours", &site.secours_db);

    let out = site
        .secours()
        .args(["backup", "--env", "secours", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["backup"]["files"], 2);
    let folder = site.root().join("secours/runtime/backup");
    assert!(folder.join(format!("{}.gz", site.secours_db)).is_file());
    let leftovers: Vec<_> = fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let verify = site.secours().arg("verify").arg(&folder).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));

    let failback = |args: &[&str]| {
        let out = site.secours().arg("failback").args(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let prod_before = state(server, &site, "prod", &site.prod_db);
    let (code, _, err) = failback(&["--yes"]);
    assert_eq!(code, 2);
    assert!(err.contains("--to-production"), "{err}");
    assert_eq!(state(server, &site, "prod", &site.prod_db), prod_before);

    let (code, out, err) = failback(&["--yes", "--to-production", "--json"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["restore"]["kind"], "failback");
    assert!(
        json["restore"]["source"]
            .as_str()
            .unwrap()
            .ends_with("secours/runtime/backup")
    );
    assert_eq!(state(server, &site, "prod", &site.prod_db), standby);
    if site.user.is_some() {
        for d in ["documents", "pictures"] {
            assert!(user::all_owned_by(&site.web("prod").join(d), 1), "prod's {d}");
        }
    }
}

/// Unmounts on drop, so a failing assertion never leaves a mount behind.
pub(crate) struct Mount(pub(crate) PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

// Guards the free-space check: a standby whose disk cannot hold the extracted media and the safety copy
// is refused before anything changes, with a message naming the disk and both amounts. Also guards a
// stopped server: refused, nothing changed.
#[test]
fn a_full_disk_or_a_stopped_server_is_refused_before_any_change() {
    let Some(server) = mariadb::require("a_full_disk_or_a_stopped_server_is_refused_before_any_change") else {
        return;
    };
    let site = site(server, "disk");
    let before = state(server, &site, "secours", &site.secours_db);

    // The server "down": db.php points at a port where nothing listens.
    let db_php = site.root().join("secours/config/db.php");
    let good = fs::read_to_string(&db_php).unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    fs::write(
        &db_php,
        good.replace(&format!("port={}", server.port), &format!("port={closed}")),
    )
    .unwrap();
    let (code, _, err) = site.restore(&["--yes"], None);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("cannot reach the MySQL server") && err.contains("nothing was changed"),
        "{err}"
    );
    fs::write(&db_php, good).unwrap();

    // A 8 MB disk under the standby (a tmpfs, where the machine lets us mount one).
    let secours = site.root().join("secours");
    let saved = site.root().join("secours.saved");
    let status = Command::new("cp").arg("-a").arg(&secours).arg(&saved).status().unwrap();
    assert!(status.success());
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"])
        .arg(&secours)
        .output()
        .unwrap();
    if !mounted.status.success() {
        eprintln!(
            "SKIPPED the full-disk half: this machine does not allow mounting a tmpfs ({})",
            String::from_utf8_lossy(&mounted.stderr).trim()
        );
        return;
    }
    let _mount = Mount(secours.clone());
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", saved.display()))
        .arg(&secours)
        .status()
        .unwrap();
    assert!(status.success());
    let (code, _, err) = site.restore(&["--yes"], None);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("not enough free space") && err.contains("nothing was changed"),
        "{err}"
    );
    assert_eq!(state(server, &site, "secours", &site.secours_db), before);
    assert!(leftovers(&site).is_empty());
}

/// A database user `user` with every privilege on the standby's database and nothing else (it may not
/// create a database), which the standby's `db.php` now names.
pub(crate) fn limited_user(server: &Server, site: &Site, user: &str) {
    use mysql::prelude::Queryable;
    let mut admin = server.admin();
    for host in ["%", "localhost"] {
        admin
            .query_drop(format!("DROP USER IF EXISTS '{user}'@'{host}'"))
            .unwrap();
        admin
            .query_drop(format!("CREATE USER '{user}'@'{host}' IDENTIFIED BY '{PASSWORD}'"))
            .unwrap();
        admin
            .query_drop(format!(
                "GRANT ALL PRIVILEGES ON `{}`.* TO '{user}'@'{host}'",
                site.secours_db
            ))
            .unwrap();
    }
    let db_php = site.root().join("secours/config/db.php");
    let text = fs::read_to_string(&db_php)
        .unwrap()
        .replace(&format!("'username' => '{USER}'"), &format!("'username' => '{user}'"));
    fs::write(&db_php, text).unwrap();
}

// Guards the other form of the safety snapshot: a database user who may not create a database (only
// privileges on its own) gets a dump instead of a side database, and a failure after the import still
// puts the standby back exactly as it was.
#[test]
fn a_user_without_create_database_gets_a_dumped_snapshot() {
    use mysql::prelude::Queryable;
    let Some(server) = mariadb::require("a_user_without_create_database_gets_a_dumped_snapshot") else {
        return;
    };
    let site = site(server, "limited");
    let user = "secours_limited";
    limited_user(server, &site, user);
    // The old objects belong to that user, as the application's own objects would: a user without SUPER
    // can only recreate objects that are its own.
    server.fresh_db(&site.secours_db);
    let opts = mysql::OptsBuilder::new()
        .ip_or_hostname(Some("127.0.0.1"))
        .tcp_port(server.port)
        .user(Some(user))
        .pass(Some(PASSWORD))
        .db_name(Some(site.secours_db.clone()));
    let mut limited = mysql::Conn::new(opts).unwrap();
    for sql in OLD_STATE.split(";\n") {
        limited.query_drop(sql).unwrap();
    }

    let before = state(server, &site, "secours", &site.secours_db);
    let (code, out, err) = site.restore(&["--yes"], Some("check"));
    assert_eq!(code, 2, "{out}\n{err}");
    assert_eq!(state(server, &site, "secours", &site.secours_db), before);

    let (code, out, err) = site.restore(&["--yes", "--json"], None);
    assert_eq!(code, 0, "{out}\n{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let previous = PathBuf::from(json["restore"]["previous"].as_str().unwrap());
    assert!(previous.join("database.gz").is_file());
    assert!(!previous.join("database.schema").exists());
    // The safety dump holds the data: only its owner may read it.
    assert_eq!(mode(&previous.join("database.gz")), 0o600);
    // Equal to prod but for the DEFINERs, which a user without SUPER takes over (and the summary says).
    let without_definers = |(db, media): (String, BTreeMap<String, String>)| {
        let kept: Vec<&str> = db.lines().filter(|l| !l.contains("_md5:")).collect();
        (kept.join("\n"), media)
    };
    assert_eq!(
        without_definers(state(server, &site, "secours", &site.secours_db)),
        without_definers(state(server, &site, "prod", &site.prod_db))
    );
    assert!(out.contains("DEFINER"), "{out}");
}

// ---------------------------------------------------------------------------------------------------------
// As the office runs it: an ordinary user, the web server's files belonging to `daemon`.

/// Whether secours's media folders (and everything in them) belong to `daemon`, as Apache needs.
pub(crate) fn media_owned_by_daemon(site: &Site) -> bool {
    ["documents", "pictures"]
        .iter()
        .all(|d| user::all_owned_by(&site.web("secours").join(d), 1))
}

// Guards issue 12's first data loss: as an ordinary user with daemon-owned media, the restore stopped at
// 'set-aside' (Permission denied) after the import, and its rollback failed too, leaving the new database
// with the old media. Now the privileged path moves the web server's folders: a restore, a failure before
// and after the swap (rolled back) and a success all end wholly old or wholly new, owned by daemon.
#[test]
fn as_an_ordinary_user_with_daemon_owned_media_the_restore_and_its_rollback_succeed() {
    let test = "as_an_ordinary_user_with_daemon_owned_media_the_restore_and_its_rollback_succeed";
    let Some(server) = mariadb::require(test) else {
        return;
    };
    let Some(tester) = user::require(test, user::WITH_SUDO) else {
        return;
    };
    let site = site_as(server, "user", Some(tester));
    let before = state(server, &site, "secours", &site.secours_db);
    let after = state(server, &site, "prod", &site.prod_db);
    assert!(media_owned_by_daemon(&site));

    // The plan says administrator rights will be needed, and how.
    let (code, out, err) = site.restore(&["--dry-run", "--json"], None);
    assert_eq!(code, 0, "{out}\n{err}");
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(plan["plan"]["administrator"], "sudo", "{out}");

    // A failure before the swap (nothing of the web server's touched) and after it (the privileged rollback).
    for step in ["database", "check"] {
        let (code, out, err) = site.restore(&["--yes"], Some(step));
        assert_eq!(code, 2, "step {step}: {out}\n{err}");
        assert_eq!(state(server, &site, "secours", &site.secours_db), before, "step {step}");
        assert!(media_owned_by_daemon(&site), "step {step}");
        assert!(leftovers(&site).is_empty(), "step {step}: {:?}", leftovers(&site));
    }

    let (code, out, err) = site.restore(&["--yes"], None);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(state(server, &site, "secours", &site.secours_db), after);
    assert!(media_owned_by_daemon(&site));
    assert!(leftovers(&site).is_empty(), "{:?}", leftovers(&site));
    // The replaced media are kept, still the web server's.
    let previous = site.root().join("secours/.secours-previous");
    let kept: Vec<_> = fs::read_dir(&previous).unwrap().collect();
    assert_eq!(kept.len(), 1);
    let kept = kept.into_iter().next().unwrap().unwrap().path();
    assert!(user::all_owned_by(&kept.join("media/documents"), 1));
    assert!(kept.join("media/documents/ancien.pdf").is_file());
}

// Guards crash safety at every step boundary, rollback included, as the office runs it: killed as each step
// starts, the target is wholly old after --rollback and wholly new after --resume, and nothing is left over.
#[test]
fn as_an_ordinary_user_a_kill_at_any_step_boundary_then_rollback_or_resume_is_never_a_mix() {
    let test = "as_an_ordinary_user_a_kill_at_any_step_boundary_then_rollback_or_resume_is_never_a_mix";
    let Some(server) = mariadb::require(test) else {
        return;
    };
    let Some(tester) = user::require(test, user::WITH_SUDO) else {
        return;
    };
    let site = site_as(server, "userkill", Some(tester));
    let after = state(server, &site, "prod", &site.prod_db);
    let boundaries = [
        "pause:verify",
        "pause:preflight",
        "pause:snapshot",
        "pause:media",
        "pause-in:database",
        "pause:set-aside",
        "pause:swap",
        "pause:check",
        "pause:commit",
        "check,pause:rollback",
    ];
    for spec in boundaries {
        // Taken after each reset: the old event's STARTS is the time it was created.
        let before = state(server, &site, "secours", &site.secours_db);
        kill_at(&site, spec);
        let (code, out, err) = site.restore(&["--rollback"], None);
        assert_eq!(code, 0, "{spec}: {out}\n{err}");
        assert_eq!(
            state(server, &site, "secours", &site.secours_db),
            before,
            "rollback after a kill at {spec}"
        );
        assert!(media_owned_by_daemon(&site), "{spec}");
        assert!(leftovers(&site).is_empty(), "{spec}: {:?}", leftovers(&site));
        if spec.contains("rollback") {
            continue;
        }
        kill_at(&site, spec);
        let (code, out, err) = site.restore(&["--resume"], None);
        assert_eq!(code, 0, "{spec}: {out}\n{err}");
        assert_eq!(
            state(server, &site, "secours", &site.secours_db),
            after,
            "resume after a kill at {spec}"
        );
        assert!(media_owned_by_daemon(&site), "{spec}");
        assert!(leftovers(&site).is_empty(), "{spec}: {:?}", leftovers(&site));
        site.reset(server);
    }
}

// Guards the refusal when no administrator rights can be had: said before anything changes, with the
// sudoers line to grant.
#[test]
fn as_an_ordinary_user_without_rights_the_restore_is_refused_before_any_change() {
    let test = "as_an_ordinary_user_without_rights_the_restore_is_refused_before_any_change";
    let Some(server) = mariadb::require(test) else {
        return;
    };
    let Some(nobody) = user::require(test, user::WITHOUT_SUDO) else {
        return;
    };
    let site = site_as(server, "nosudo", Some(nobody));
    let before = state(server, &site, "secours", &site.secours_db);
    let (code, out, err) = site
        .secours()
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .args(["restore", "--yes"])
        .output()
        .map(|o| {
            (
                o.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&o.stdout).into_owned(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        })
        .unwrap();
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("nothing was changed"), "{err}");
    assert!(
        err.contains("secours-nosudo ALL=(root) NOPASSWD: /bin/chown -R -P daemon\\:daemon"),
        "{err}"
    );
    assert_eq!(state(server, &site, "secours", &site.secours_db), before);
    assert!(media_owned_by_daemon(&site));
    assert!(leftovers(&site).is_empty(), "{:?}", leftovers(&site));
}

// Guards issue 12's second data loss: a real `mysqldump --databases X --add-drop-database` dump made the
// restore drop another database of the same server. And "a failed import is rolled back" as the office
// runs it: a dump whose import fails half-way leaves the standby wholly old, owned by daemon.
#[test]
fn as_an_ordinary_user_a_failing_import_is_rolled_back_and_a_rewritten_pair_is_never_resumed() {
    let test = "as_an_ordinary_user_a_failing_import_is_rolled_back_and_a_rewritten_pair_is_never_resumed";
    let Some(server) = mariadb::require(test) else {
        return;
    };
    let Some(tester) = user::require(test, user::WITH_SUDO) else {
        return;
    };
    let site = site_as(server, "userfail", Some(tester));
    let before = state(server, &site, "secours", &site.secours_db);

    // A pair whose dump fails on the server half-way (a row for a table that does not exist).
    let bad = site.root().join("bad");
    fs::create_dir_all(&bad).unwrap();
    let backup = site.root().join("prod/runtime/backup");
    let mut sql = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(fs::File::open(backup.join(format!("{}.gz", site.prod_db))).unwrap()),
        &mut sql,
    )
    .unwrap();
    let half = sql.len() / 2;
    let cut = half + sql[half..].windows(2).position(|w| w == b";\n").unwrap() + 2;
    let mut broken = sql[..cut].to_vec();
    broken.extend_from_slice(b"INSERT INTO `no_such_table` VALUES (1);\n");
    broken.extend_from_slice(&sql[cut..]);
    let mut gz = flate2::write::GzEncoder::new(
        fs::File::create(bad.join(format!("{}.gz", site.prod_db))).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(&broken).unwrap();
    gz.finish().unwrap();
    fs::copy(backup.join("media.taz"), bad.join("media.taz")).unwrap();
    let when = std::time::SystemTime::now() - Duration::from_secs(300);
    for f in fs::read_dir(&bad).unwrap() {
        let f = fs::File::options().write(true).open(f.unwrap().path()).unwrap();
        f.set_modified(when).unwrap();
    }
    site.own();
    let (code, out, err) = site.restore(&["--yes", "--from", bad.to_str().unwrap()], None);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("no_such_table") && err.contains("'database'"), "{err}");
    assert_eq!(state(server, &site, "secours", &site.secours_db), before);
    assert!(media_owned_by_daemon(&site));
    assert!(leftovers(&site).is_empty(), "{:?}", leftovers(&site));

    // Killed after the swap, then the hourly backup rewrites the pair: --resume refuses it by name, and
    // --rollback still puts the standby back.
    kill_at(&site, "pause:check");
    let media = backup.join("media.taz");
    let bytes = fs::read(&media).unwrap();
    fs::remove_file(&media).unwrap();
    fs::write(&media, &bytes).unwrap();
    let (code, out, err) = site.restore(&["--resume"], None);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("media.taz") && err.contains("--rollback"), "{err}");
    let (code, out, err) = site.restore(&["--rollback"], None);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(state(server, &site, "secours", &site.secours_db), before);
    assert!(media_owned_by_daemon(&site));
}

// Guards "a side database is used only if this restore created it": a database already holding the name
// the snapshot would use is left alone, and the restore's tables go to another name.
#[test]
fn a_side_database_name_already_taken_is_never_adopted() {
    let Some(server) = mariadb::require("a_side_database_name_already_taken_is_never_adopted") else {
        return;
    };
    let site = site(server, "sidename");
    let settings = server.tcp_settings(&site.secours_db);
    let work = site.root().join("work/2026-01-01_000000");
    fs::create_dir_all(&work).unwrap();
    let taken = secours::restore::snapshot::side_schema_name(&site.secours_db, &work);
    server.fresh_db(&taken);
    server.run_sql(
        &taken,
        "CREATE TABLE someone_elses (id INT PRIMARY KEY); INSERT INTO someone_elses VALUES (7);",
    );
    let theirs = server.fingerprint(&taken);
    let aside = secours::restore::snapshot::set_aside(&settings, &work, &secours::progress::Silent, &Cancel::new())
        .unwrap()
        .unwrap();
    assert_ne!(aside.schema, taken);
    assert!(aside.schema.starts_with(&taken), "{}", aside.schema);
    assert_eq!(server.fingerprint(&taken), theirs);
    assert_eq!(server.fingerprint(&aside.schema).lines().next(), Some("base_tables: 2"));
    assert!(secours::restore::snapshot::put_back(&settings, &work, false).unwrap());
    assert_eq!(server.fingerprint(&taken), theirs);
}

// Guards issue 12's third data loss: a media.taz packed one folder up (`web/documents/…`) was verified, then
// restored as "0 files", leaving the standby without media. Now the prefix is understood (and said), and an
// archive with no media folder is refused before anything changes.
#[test]
fn an_archive_packed_one_folder_up_restores_its_files_and_one_without_media_is_refused() {
    let Some(server) = mariadb::require("an_archive_packed_one_folder_up_restores_its_files") else {
        return;
    };
    let site = site(server, "layout");
    let before = state(server, &site, "secours", &site.secours_db);
    let backup = site.root().join("prod/runtime/backup");
    let repack = |args: &[&str]| {
        let status = Command::new("tar")
            .arg("czf")
            .arg(backup.join("media.taz"))
            .args(args)
            .current_dir(site.root().join("prod"))
            .status()
            .unwrap();
        assert!(status.success());
        support::age(&backup.join("media.taz"), 300);
    };

    // Nothing under documents/ or pictures/: refused, nothing changed.
    repack(&["config"]);
    let (code, out, err) = site.restore(&["--yes"], None);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        err.contains("without media") || err.contains("no media folder"),
        "{err}"
    );
    assert_eq!(state(server, &site, "secours", &site.secours_db), before);
    assert!(leftovers(&site).is_empty(), "{:?}", leftovers(&site));

    // Packed from the environment's folder: the prefix 'web/' is stripped and every file restored.
    repack(&["web/documents", "web/pictures"]);
    let (code, out, err) = site.restore(&["--dry-run"], None);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("web/"), "the plan says where the media folders are: {out}");
    let (code, out, err) = site.restore(&["--yes", "--json"], None);
    assert_eq!(code, 0, "{out}\n{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["restore"]["media"]["files"], 60, "{out}");
    assert_eq!(json["restore"]["check"]["files"], 60, "{out}");
    assert_eq!(
        state(server, &site, "secours", &site.secours_db),
        state(server, &site, "prod", &site.prod_db)
    );
}

// Guards issue 12's second data loss through the restore itself: prod's hourly dump made with
// `mysqldump --databases X --add-drop-database`, restored onto secours on the same server, restores normally
// and leaves X (prod's database) identical; a dump that reaches outside is refused before anything changes,
// naming its line.
#[test]
fn a_databases_dump_restores_into_the_target_only_and_a_hostile_one_is_refused() {
    let Some(server) = mariadb::require("a_databases_dump_restores_into_the_target_only") else {
        return;
    };
    let site = site(server, "contain");
    let backup = site.root().join("prod/runtime/backup");
    let dump_path = backup.join(format!("{}.gz", site.prod_db));
    let age = |p: &Path| support::age(p, 300);
    let out = Command::new("mysqldump")
        .arg("--no-defaults")
        .arg(format!("--socket={}", server.socket.display()))
        .arg(format!("--user={USER}"))
        .args(["--routines", "--triggers", "--events", "--single-transaction"])
        .args(["--databases", &site.prod_db, "--add-drop-database"])
        .env("MYSQL_PWD", PASSWORD)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("DROP DATABASE IF EXISTS"));
    let write_dump = |sql: &[u8]| {
        let mut gz = flate2::write::GzEncoder::new(fs::File::create(&dump_path).unwrap(), flate2::Compression::fast());
        gz.write_all(sql).unwrap();
        gz.finish().unwrap();
        age(&dump_path);
    };
    write_dump(&out.stdout);
    let prod_before = server.fingerprint(&site.prod_db);
    let (code, out_text, err) = site.restore(&["--yes"], None);
    assert_eq!(code, 0, "{out_text}\n{err}");
    assert_eq!(
        server.fingerprint(&site.prod_db),
        prod_before,
        "prod's database was touched"
    );
    assert_eq!(
        state(server, &site, "secours", &site.secours_db).0,
        state(server, &site, "prod", &site.prod_db).0
    );

    // The same dump with a statement that drops another database: refused at the preflight, by line.
    site.reset(server);
    let before = state(server, &site, "secours", &site.secours_db);
    // After the dump's header, where a hand-edited or hostile dump would have it.
    let cut = out.stdout.windows(2).position(|w| w == b";\n").unwrap() + 2;
    let line = out.stdout[..cut].iter().filter(|&&b| b == b'\n').count() + 1;
    let mut hostile = out.stdout[..cut].to_vec();
    hostile.extend_from_slice(b"DROP DATABASE IF EXISTS `mysql`;\n");
    hostile.extend_from_slice(&out.stdout[cut..]);
    write_dump(&hostile);
    let (code, out_text, err) = site.restore(&["--yes"], None);
    assert_eq!(code, 2, "{out_text}\n{err}");
    // The first database the dump names is taken as its own: the statements on the other are refused.
    assert!(err.contains("at line ") && line > 1, "{err}");
    assert!(
        err.contains("reaches outside its database") && err.contains("'mysql'"),
        "{err}"
    );
    assert!(err.contains("nothing was changed"), "{err}");
    assert_eq!(state(server, &site, "secours", &site.secours_db), before);
    assert_eq!(server.fingerprint(&site.prod_db), prod_before);
}
