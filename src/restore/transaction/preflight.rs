//! What is checked before a restore changes anything, every problem at once: the target's database
//! answers, its folders can be staged beside and renamed on one disk, the owner exists and a way to act as
//! administrator exists when one is needed, the archive's layout and the dump's reach are acceptable, and
//! the disk has room. The result is the [`Plan`] shown by `--dry-run` and the confirmation.
//!
//! Guarantee: [`preflight`] only reads (the one write is an empty probe folder, created and removed); when
//! it refuses, the refusal lists every problem found and says that nothing was changed.

use std::fs;
use std::path::{Path, PathBuf};

use super::{ADVICE_SOURCE, MediaNow, Plan, Request, RestoreError, step};
use crate::backup::operations::{self, Verification};
use crate::db::connect::{connect, server_info};
use crate::db::drop_all::object_counts;
use crate::env::dbphp::DbSettings;
use crate::restore::{media, owner};

/// Everything a restore needs to know before it changes anything; every problem at once.
pub fn preflight(req: &Request, verification: Option<&Verification>) -> Result<(Plan, DbSettings), RestoreError> {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let target = &req.target;

    let settings = match target.database() {
        Ok(s) => Some(s),
        Err(e) => {
            problems.push(e.to_string());
            None
        }
    };
    let mut objects = None;
    let mut db_bytes_now = None;
    if let Some(s) = &settings {
        match connect(s) {
            Ok(mut conn) => {
                if let Err(e) = server_info(&mut conn) {
                    problems.push(e.to_string());
                }
                match object_counts(&mut conn) {
                    Ok(c) => objects = Some(c),
                    Err(e) => problems.push(e.to_string()),
                }
                db_bytes_now = database_bytes(&mut conn);
            }
            Err(e) => problems.push(e.to_string()),
        }
    }

    // Folders: web/ must exist (or its parent, to create it), and staging, work and web share a filesystem.
    let web = &target.web;
    let parent = target.beside_web();
    check_web_folder(web, &parent, &target.name, &mut problems, &mut warnings);
    for d in &target.media_dirs {
        let p = target.media_path(d);
        if let Ok(m) = fs::symlink_metadata(&p)
            && m.is_dir()
            && !same_filesystem(&p, &parent)
        {
            problems.push(format!(
                "'{}' is on another disk (a mount or a link to elsewhere); a restore replaces it by renaming, which cannot cross disks. Make it an ordinary folder.",
                p.display()
            ));
        }
    }
    let current_media: Vec<MediaNow> = target
        .media_dirs
        .iter()
        .map(|d| {
            let p = target.media_path(d);
            match crate::files::tree::count_tree(&p) {
                Ok(c) if p.is_dir() => MediaNow {
                    name: d.clone(),
                    present: true,
                    files: c.files,
                    bytes: c.bytes,
                },
                _ => MediaNow {
                    name: d.clone(),
                    present: false,
                    files: 0,
                    bytes: 0,
                },
            }
        })
        .collect();

    // The staging folder and the kept state are made beside web/, by Secours itself.
    if parent.is_dir()
        && let Err(e) = probe_writable(&parent)
    {
        problems.push(format!(
            "Secours cannot create folders in '{}' ({e}), where the restore stages the media beside web/. Make \
             that folder writable by the user who runs Secours.",
            parent.display()
        ));
    }
    let mut administrator = None;
    match owner::resolve_owner(&req.owner) {
        Err(e) => problems.push(e.to_string()),
        Ok(owner) => {
            let live: Vec<PathBuf> = target.media_dirs.iter().map(|d| target.media_path(d)).collect();
            match owner::Privileges::current() {
                Ok(p) if owner::needs_admin(&p, &owner, &live) => {
                    match owner::admin_available(
                        &p,
                        &crate::platform::runner::SystemRunner::default(),
                        &owner.spec(),
                        &parent,
                    ) {
                        Ok(via) => administrator = via,
                        Err(why) => problems.push(why),
                    }
                }
                Ok(_) => {}
                Err(e) => problems.push(format!("cannot learn this process's user: {e}")),
            }
        }
    }

    // The media: what the archive's layout says will be extracted (the files counted by the plan, the
    // confirmation, the result and the check alike), or why the archive cannot be restored.
    let (backup_files, backup_media_bytes) = match verification.map(|v| media::media_plan(&v.media.details)) {
        Some(Ok(m)) => {
            if m.strips() {
                warnings.push(format!("{}; the prefix is removed.", m.describe()));
            }
            (Some(m.files), Some(m.bytes))
        }
        Some(Err(why)) => {
            problems.push(why);
            (None, None)
        }
        None => (None, None),
    };
    // The dump: one that reaches outside its database (another database, accounts, server settings) is
    // refused here, before anything is dropped. Not known (facts recorded by an older Secours): the import
    // checks each statement and the restore rolls back.
    if let Some(facts) = verification
        .and_then(|v| v.db.details.get("import_facts").cloned())
        .and_then(|f| serde_json::from_value::<crate::db::importer::DumpFacts>(f).ok())
        && let Some(why) = crate::db::importer::containment_problem(&facts)
    {
        problems.push(format!("'{}': {why}", req.pair.db.path.display()));
    }
    // Space: the extracted media and the snapshot (compressed, about a third of the data) on the target's disk.
    let backup_tables = verification
        .and_then(|v| v.db.details.get("counts").cloned())
        .and_then(|c| c.get("tables").and_then(|t| t.as_u64()));
    // Swapped in from the pre-staged pair: the media are on the disk already; only the snapshot needs room.
    let needed = if req.prestaged.is_some() {
        needed_bytes(Some(0), 0, db_bytes_now)
    } else {
        needed_bytes(backup_media_bytes, req.pair.media.bytes, db_bytes_now)
    };
    let space_at = if web.is_dir() { web.clone() } else { parent.clone() };
    let free = fs4::available_space(&space_at).unwrap_or(u64::MAX);
    if free < needed {
        problems.push(format!(
            "not enough free space on the disk of '{}': {} free, {} needed (the extracted media and a safety copy of the current database). Free some space and try again.",
            space_at.display(),
            human_bytes(free),
            human_bytes(needed)
        ));
    }

    if !problems.is_empty() {
        return Err(refused(&target.name, &problems));
    }
    let Some(settings) = settings else {
        return Err(RestoreError::Refused("no database settings".to_owned()));
    };
    let estimated_seconds = if req.prestaged.is_some() {
        2
    } else {
        estimate_seconds(req.pair.db.bytes, req.pair.media.bytes, db_bytes_now)
    };
    Ok((
        Plan {
            kind: req.kind,
            source: req.pair.observation.pair_folder.clone(),
            backup_time: req.pair.db.modified.min(req.pair.media.modified),
            db_file: req.pair.db.path.clone(),
            db_bytes: req.pair.db.bytes,
            media_file: req.pair.media.path.clone(),
            media_bytes: req.pair.media.bytes,
            backup_tables,
            backup_files,
            backup_media_bytes,
            target: target.name.clone(),
            target_root: target.root.clone(),
            web: target.web.clone(),
            database: settings.name.clone().unwrap_or_default(),
            url: target.url.clone(),
            current_media,
            current_objects: objects,
            current_database_bytes: db_bytes_now,
            free_bytes: free,
            needed_bytes: needed,
            steps: step::ALL.to_vec(),
            estimated_seconds,
            administrator,
            warnings,
            prestaged_at: req.prestaged.as_ref().map(|s| s.proven_at),
        },
        settings,
    ))
}

/// The web folder: a warning when it is yet to be created (its parent exists), a problem when neither it
/// nor its parent exists, or when it sits on another disk than its parent (the set-aside is a rename).
fn check_web_folder(web: &Path, parent: &Path, env: &str, problems: &mut Vec<String>, warnings: &mut Vec<String>) {
    if !web.is_dir() {
        if parent.is_dir() {
            warnings.push(format!("'{}' does not exist yet; it will be created.", web.display()));
        } else {
            problems.push(format!(
                "the target's web folder '{}' does not exist, nor its parent. Check [environments.{}] root/web in the configuration.",
                web.display(),
                env
            ));
        }
    } else if !same_filesystem(web, parent) {
        problems.push(format!(
            "'{}' is on another disk than '{}'; the replaced media could not be set aside by a simple rename. Put the web folder inside the environment's folder.",
            web.display(),
            parent.display()
        ));
    }
}

/// The free space a restore needs on the target's disk: the extracted media (what the verification counted,
/// else twice the archive), the snapshot (compressed, about a third of the database) and a margin.
fn needed_bytes(backup_media_bytes: Option<u64>, archive_bytes: u64, database_bytes_now: Option<u64>) -> u64 {
    backup_media_bytes.unwrap_or(archive_bytes * 2) + database_bytes_now.unwrap_or(0) / 3 + 64 * 1024 * 1024
}

/// Rough, from this machine's measures: import ≈ 5 MB/s of .gz, extraction ≈ 100 MB/s, snapshot ≈ 20 MB/s;
/// the database's part (snapshot then import) runs alongside the media's.
fn estimate_seconds(dump_bytes: u64, archive_bytes: u64, database_bytes_now: Option<u64>) -> u64 {
    let import_s = dump_bytes / 5_000_000;
    let media_s = archive_bytes / 100_000_000;
    let snapshot_s = database_bytes_now.unwrap_or(0) / 20_000_000;
    5 + (snapshot_s + import_s).max(media_s)
}

/// The refusal that lists every problem the preflight found.
fn refused(target: &str, problems: &[String]) -> RestoreError {
    RestoreError::Refused(format!(
        "the restore onto '{target}' cannot start; nothing was changed:\n  - {}",
        problems.join("\n  - ")
    ))
}

fn database_bytes(conn: &mut mysql::Conn) -> Option<u64> {
    use mysql::prelude::Queryable;
    conn.query_first::<Option<u64>, _>(
        "SELECT CAST(SUM(DATA_LENGTH + INDEX_LENGTH) AS UNSIGNED) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
    )
    .ok()
    .flatten()
    .flatten()
}

/// Creates and removes an empty folder in `dir`.
fn probe_writable(dir: &Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".secours-probe-{}", std::process::id()));
    fs::create_dir(&probe)?;
    fs::remove_dir(&probe)
}

fn same_filesystem(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev(),
        _ => true,
    }
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Refuses a backup whose verification did not pass, naming each file's verdict.
pub(super) fn refuse_unverified(v: &Verification) -> Result<(), RestoreError> {
    if v.verdict.is_ok() {
        return Ok(());
    }
    let what = |f: &operations::FileVerdict| format!("'{}' is {}", f.path.display(), f.verdict);
    Err(RestoreError::Refused(format!(
        "the backup in '{}' failed verification ({}; {}); nothing was changed. {ADVICE_SOURCE}",
        v.folder.display(),
        what(&v.db),
        what(&v.media)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::inspect::{MEDIA_FILE, Pair, observe_folder};
    use crate::backup::operations::FileVerdict;
    use crate::env::environment::Environment;
    use jiff::Timestamp;

    // Guards the web folder's three cases: there (fine), to be created (a warning), nowhere (a problem
    // naming the configuration's section).
    #[test]
    fn the_web_folder_is_there_to_be_created_or_a_problem() {
        let dir = tempfile::tempdir().unwrap();
        let (mut problems, mut warnings) = (Vec::new(), Vec::new());
        let web = dir.path().join("web");
        check_web_folder(&web, dir.path(), "secours", &mut problems, &mut warnings);
        assert_eq!(
            warnings,
            [format!("'{}' does not exist yet; it will be created.", web.display())]
        );
        assert!(problems.is_empty());

        fs::create_dir(&web).unwrap();
        let (mut problems, mut warnings) = (Vec::new(), Vec::new());
        check_web_folder(&web, dir.path(), "secours", &mut problems, &mut warnings);
        assert!(problems.is_empty() && warnings.is_empty());

        let nowhere = dir.path().join("absent").join("web");
        let (mut problems, mut warnings) = (Vec::new(), Vec::new());
        check_web_folder(
            &nowhere,
            &dir.path().join("absent"),
            "secours",
            &mut problems,
            &mut warnings,
        );
        assert!(warnings.is_empty());
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("[environments.secours]"), "{}", problems[0]);
    }

    // Guards the space asked for: the media as verified (else twice the archive), a third of the database
    // for the snapshot, and 64 MiB to spare.
    #[test]
    fn the_space_a_restore_needs() {
        const MARGIN: u64 = 64 * 1024 * 1024;
        assert_eq!(needed_bytes(Some(1_000), 500, Some(3_000)), 1_000 + 1_000 + MARGIN);
        assert_eq!(needed_bytes(None, 500, None), 1_000 + MARGIN);
    }

    // Guards the estimate shown before a restore: the database's part (snapshot then import) runs
    // alongside the media's, so the longer of the two counts, plus 5 s.
    #[test]
    fn the_estimate_takes_the_longer_of_the_two_sides() {
        assert_eq!(estimate_seconds(0, 0, None), 5);
        // 50 MB of dump (10 s) and 200 MB of database (10 s) against 1 GB of media (10 s).
        assert_eq!(estimate_seconds(50_000_000, 1_000_000_000, Some(200_000_000)), 25);
        assert_eq!(estimate_seconds(0, 3_000_000_000, None), 35);
    }

    // Guards the refusal's form: every problem at once, one per line, and that nothing was changed.
    #[test]
    fn a_refusal_lists_every_problem() {
        let e = refused("secours", &["first".to_owned(), "second".to_owned()]);
        assert_eq!(
            e.to_string(),
            "the restore onto 'secours' cannot start; nothing was changed:\n  - first\n  - second"
        );
        assert_eq!(e.exit_code(), 2);
    }

    fn verdict(path: &str, verdict: &str) -> FileVerdict {
        FileVerdict {
            path: PathBuf::from(path),
            verdict: crate::store::history::VerdictKind::from_word(verdict),
            remembered: false,
            verified_at: Timestamp::UNIX_EPOCH,
            details: serde_json::Value::Null,
        }
    }

    // Guards the first gate of every restore: a backup that did not verify is refused, naming each file's
    // verdict and what to do.
    #[test]
    fn an_unverified_backup_is_refused() {
        let v = |verdict: &'static str, db: &str, media: &str| Verification {
            folder: PathBuf::from("/backups/b"),
            verdict: crate::store::history::VerdictKind::from_word(verdict),
            db: self::verdict("/backups/b/gestion.gz", db),
            media: self::verdict("/backups/b/media.taz", media),
        };
        assert!(refuse_unverified(&v("ok", "ok", "ok")).is_ok());
        let e = refuse_unverified(&v("corrupt", "ok", "corrupt"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!(
                "the backup in '/backups/b' failed verification ('/backups/b/gestion.gz' is ok; \
                 '/backups/b/media.taz' is corrupt); nothing was changed. {ADVICE_SOURCE}"
            )
        );
    }

    #[test]
    fn human_bytes_in_powers_of_a_thousand() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500), "1.5 KB");
        assert_eq!(human_bytes(64 * 1024 * 1024), "67.1 MB");
        assert_eq!(human_bytes(u64::MAX), "18446744.1 TB");
    }

    // Guards the probe: it leaves nothing behind, and a folder that cannot be written is an error.
    #[test]
    fn the_writable_probe_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        probe_writable(dir.path()).unwrap();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        assert!(probe_writable(&dir.path().join("absent")).is_err());
        assert!(same_filesystem(dir.path(), &dir.path().join("absent")));
    }

    // Guards "every problem at once", without a server: an unreadable db.php, a web folder that is
    // nowhere and a malformed owner are all reported in one refusal, and nothing is created.
    #[test]
    fn the_preflight_reports_every_problem_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let backup = dir.path().join("backup");
        fs::create_dir(&backup).unwrap();
        fs::write(backup.join("gestion.gz"), b"x").unwrap();
        fs::write(backup.join(MEDIA_FILE), b"y").unwrap();
        let observation = observe_folder(&backup, Some("gestion"));
        let (db, media) = observation.files().unwrap();
        let (db, media) = (db.clone(), media.clone());
        let root = dir.path().join("absent");
        let target = Environment {
            name: "secours".to_owned(),
            root: root.clone(),
            url: None,
            web: root.join("web"),
            db_config: root.join("config").join("db.php"),
            backup_dir: backup.clone(),
            media_dirs: vec!["uploads".to_owned()],
            database_override: None,
        };
        let req = Request {
            kind: super::super::Kind::Restore,
            pair: Pair {
                observation,
                db,
                media,
                media_dirs: vec!["uploads".to_owned()],
            },
            target,
            owner: "no-colon".to_owned(),
            keep_previous: std::time::Duration::from_secs(60),
            connections: 1,
            history: dir.path().join("history.sqlite"),
            prestaged: None,
        };
        let e = match preflight(&req, None) {
            Err(RestoreError::Refused(e)) => e,
            other => panic!("{:?}", other.map(|(plan, _)| plan)),
        };
        assert!(
            e.starts_with("the restore onto 'secours' cannot start; nothing was changed:\n  - "),
            "{e}"
        );
        assert!(e.contains("db.php"), "{e}");
        assert!(e.contains("[environments.secours]"), "{e}");
        assert!(e.contains("'no-colon'"), "{e}");
        assert!(e.matches("\n  - ").count() >= 3, "{e}");
        assert!(!root.exists());
    }
}
