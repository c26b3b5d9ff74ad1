#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Safe copies: a copy is complete and proven or it does not exist, old copies survive every failure,
//! unmounted disks are refused, rotation keeps exactly `keep`, and copying twice writes nothing.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use jiff::Zoned;
use jiff::tz::TimeZone;
use secours::backup::copy::{
    CheckVerdict, CopyError, CopyOptions, CopyOutcome, MANIFEST, check_copy, copy_pair, list_copies,
};
use secours::progress::{Cancel, Silent, Update};

struct Setup {
    _tmp: tempfile::TempDir,
    db: PathBuf,
    media: PathBuf,
    dest: PathBuf,
    options: CopyOptions,
}

/// Deterministic bytes that do not repeat at buffer boundaries.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn setup(size: usize) -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("backup");
    fs::create_dir(&src).unwrap();
    let db = src.join("app.gz");
    let media = src.join("media.taz");
    fs::write(&db, noise(size, 1)).unwrap();
    fs::write(&media, noise(size * 2 + 7, 2)).unwrap();
    let dest = tmp.path().join("copies");
    let options = CopyOptions {
        volumes_root: tmp.path().join("Volumes"),
        ..CopyOptions::default()
    };
    Setup {
        _tmp: tmp,
        db,
        media,
        dest,
        options,
    }
}

fn at(minute: i64) -> Zoned {
    // 2024-03-05 07:00 UTC + minutes.
    jiff::Timestamp::from_second(1_709_622_000 + minute * 60)
        .unwrap()
        .to_zoned(TimeZone::UTC)
}

impl Setup {
    fn copy(&self, time: &Zoned, keep: usize) -> Result<CopyOutcome, CopyError> {
        copy_pair(
            &self.db,
            &self.media,
            time,
            &self.dest,
            keep,
            &self.options,
            &Silent,
            &Cancel::new(),
        )
    }
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn a_copy_holds_both_files_and_a_sha256sum_manifest() {
    let s = setup(3 << 20);
    let outcome = s.copy(&at(0), 3).unwrap();
    let CopyOutcome::Copied {
        folder,
        files,
        removed,
        warnings,
    } = &outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(folder, &s.dest.join("2024-03-05_0700"));
    assert!(removed.is_empty() && warnings.is_empty());
    assert_eq!(names_in(&s.dest), vec!["2024-03-05_0700"]);
    assert_eq!(names_in(folder), vec![MANIFEST, "app.gz", "media.taz"]);
    assert_eq!(fs::read(folder.join("app.gz")).unwrap(), fs::read(&s.db).unwrap());
    assert_eq!(fs::read(folder.join("media.taz")).unwrap(), fs::read(&s.media).unwrap());

    let manifest = fs::read_to_string(folder.join(MANIFEST)).unwrap();
    let expected: String = files.iter().map(|f| format!("{}  {}\n", f.sha256, f.name)).collect();
    assert_eq!(manifest, expected);
    assert_eq!(files[0].bytes, 3 << 20);

    // The manifest is what sha256sum itself checks.
    match Command::new("sha256sum")
        .arg("-c")
        .arg(MANIFEST)
        .current_dir(folder)
        .output()
    {
        Ok(out) => assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout)),
        Err(e) => assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "sha256sum is required under CI: {e}"
        ),
    }

    let json = serde_json::to_value(&outcome).unwrap();
    assert_eq!(json["outcome"], "copied");

    let copies = list_copies(&s.dest).unwrap();
    assert_eq!(copies.len(), 1);
    assert!(copies[0].manifest);
    assert_eq!(copies[0].size, (3 << 20) * 3 + 7);
    assert_eq!(copies[0].date, jiff::civil::date(2024, 3, 5).at(7, 0, 0, 0));
    assert_eq!(
        check_copy(&copies[0], &Silent, &Cancel::new()).verdict,
        CheckVerdict::Ok
    );
}

#[test]
fn an_interrupted_copy_leaves_old_copies_intact_and_nothing_partial() {
    // Guards: a disk torn away mid-file must not leave a half copy nor hurt the last good one.
    let mut s = setup(3 << 20);
    s.copy(&at(0), 1).unwrap();
    s.options.fail_after_bytes = Some((1 << 20) + 123);
    let err = s.copy(&at(60), 1).unwrap_err();
    assert!(matches!(err, CopyError::Destination { step: "write", .. }), "{err}");
    assert!(err.to_string().contains("app.gz.partial"), "{err}");
    assert_eq!(names_in(&s.dest), vec!["2024-03-05_0700"]);
    let copies = list_copies(&s.dest).unwrap();
    assert_eq!(
        check_copy(&copies[0], &Silent, &Cancel::new()).verdict,
        CheckVerdict::Ok
    );

    // Failing in the second file as well.
    s.options.fail_after_bytes = Some((3 << 20) + (2 << 20));
    s.copy(&at(60), 1).unwrap_err();
    assert_eq!(names_in(&s.dest), vec!["2024-03-05_0700"]);
}

#[test]
fn an_unmounted_volume_is_refused_and_never_created() {
    let s = setup(1000);
    let volumes = s.options.volumes_root.clone();
    fs::create_dir_all(&volumes).unwrap();
    let dest = volumes.join("Backup Disk").join("secours");
    let run =
        |dest: &Path| copy_pair(&s.db, &s.media, &at(0), dest, 3, &s.options, &Silent, &Cancel::new()).unwrap_err();
    let err = run(&dest);
    assert!(matches!(err, CopyError::DiskNotConnected { .. }));
    assert!(
        err.to_string().starts_with("the disk 'Backup Disk' is not connected"),
        "{err}"
    );
    assert!(!volumes.join("Backup Disk").exists());

    // A plain folder with the disk's name (what a copy to an unplugged disk would have created) is not a disk.
    fs::create_dir(volumes.join("Backup Disk")).unwrap();
    assert!(matches!(run(&dest), CopyError::DiskNotConnected { .. }));
    assert!(!dest.exists());
}

#[test]
fn rotation_keeps_exactly_keep_and_touches_only_copies() {
    let s = setup(1000);
    fs::create_dir_all(s.dest.join("notes")).unwrap();
    fs::create_dir_all(s.dest.join("2020-01-01_0000")).unwrap(); // no manifest: not Secours' copy
    let mut last_removed = Vec::new();
    for hour in 0..4 {
        let CopyOutcome::Copied { removed, .. } = s.copy(&at(hour * 60), 2).unwrap() else {
            panic!()
        };
        last_removed = removed;
    }
    assert_eq!(last_removed, vec![s.dest.join("2024-03-05_0800")]);
    assert_eq!(
        names_in(&s.dest),
        vec!["2020-01-01_0000", "2024-03-05_0900", "2024-03-05_1000", "notes"]
    );

    // Copying an older backup never removes the copy just made.
    s.copy(&at(-60), 1).unwrap();
    assert_eq!(names_in(&s.dest), vec!["2020-01-01_0000", "2024-03-05_0600", "notes"]);
}

// Guards the issue's rule: a suspect pair is never copied over the last good copy. Its copy is marked,
// and rotation keeps the newest unmarked copy on top of `keep`; a good copy after it rotates as usual.
#[test]
fn rotation_keeps_the_last_good_copy_when_a_suspect_one_arrives() {
    let s = setup(1000);
    s.copy(&at(0), 1).unwrap();
    let suspect = CopyOptions {
        suspect_mark: Some(br#"{"findings":[]}"#.to_vec()),
        ..s.options.clone()
    };
    let run = |hour: i64, options: &CopyOptions| {
        copy_pair(
            &s.db,
            &s.media,
            &at(hour * 60),
            &s.dest,
            1,
            options,
            &Silent,
            &Cancel::new(),
        )
        .unwrap()
    };
    let CopyOutcome::Copied { removed, .. } = run(1, &suspect) else {
        panic!()
    };
    assert!(removed.is_empty(), "{removed:?}");
    assert_eq!(names_in(&s.dest), vec!["2024-03-05_0700", "2024-03-05_0800"]);
    assert!(
        s.dest
            .join("2024-03-05_0800")
            .join(secours::backup::copy::SUSPECT_MARK)
            .is_file()
    );
    let listed = secours::backup::copy::list_copies(&s.dest).unwrap();
    assert_eq!(listed.iter().map(|c| c.suspect).collect::<Vec<_>>(), [false, true]);
    assert_eq!(listed[1].files.len(), 2, "the mark is not one of the copy's files");
    // A second suspect one: the good copy still stays, the older suspect one goes.
    run(2, &suspect);
    assert_eq!(names_in(&s.dest), vec!["2024-03-05_0700", "2024-03-05_0900"]);
    // A good one again: plain rotation.
    run(3, &s.options);
    assert_eq!(names_in(&s.dest), vec!["2024-03-05_1000"]);
}

#[test]
fn copying_the_same_backup_twice_writes_nothing() {
    let s = setup(1 << 20);
    s.copy(&at(0), 3).unwrap();
    let file = s.dest.join("2024-03-05_0700/app.gz");
    let before = fs::metadata(&file).unwrap().modified().unwrap();
    let outcome = s.copy(&at(0), 3).unwrap();
    assert_eq!(
        outcome,
        CopyOutcome::AlreadyThere {
            folder: s.dest.join("2024-03-05_0700")
        }
    );
    assert_eq!(fs::metadata(&file).unwrap().modified().unwrap(), before);
    assert_eq!(names_in(&s.dest), vec!["2024-03-05_0700"]);
}

#[test]
fn a_damaged_copy_is_detected_and_replaced_by_a_new_one() {
    let s = setup(1 << 20);
    s.copy(&at(0), 3).unwrap();
    let file = s.dest.join("2024-03-05_0700/media.taz");
    let mut bytes = fs::read(&file).unwrap();
    bytes[1000] ^= 1;
    fs::write(&file, bytes).unwrap();
    let copies = list_copies(&s.dest).unwrap();
    let CheckVerdict::Damaged { problems } = check_copy(&copies[0], &Silent, &Cancel::new()).verdict else {
        panic!()
    };
    assert_eq!(
        problems,
        vec![format!("'media.taz' does not match its SHA-256 in {MANIFEST}")]
    );

    assert!(matches!(s.copy(&at(0), 3).unwrap(), CopyOutcome::Copied { .. }));
    assert_eq!(fs::read(&file).unwrap(), fs::read(&s.media).unwrap());
    assert_eq!(names_in(&s.dest), vec!["2024-03-05_0700"]);
}

#[test]
fn cancel_mid_copy_removes_everything_it_wrote() {
    let s = setup(6 << 20);
    s.copy(&at(0), 3).unwrap();
    let cancel = Cancel::new();
    let trigger = cancel.clone();
    let progress = move |u: Update| {
        if u.done > 0 {
            trigger.cancel();
        }
    };
    let err = copy_pair(&s.db, &s.media, &at(60), &s.dest, 3, &s.options, &progress, &cancel).unwrap_err();
    assert!(matches!(err, CopyError::Cancelled { .. }), "{err}");
    assert_eq!(names_in(&s.dest), vec!["2024-03-05_0700"]);

    // Cancelled before starting.
    let cancel = Cancel::new();
    cancel.cancel();
    let err = copy_pair(&s.db, &s.media, &at(120), &s.dest, 3, &s.options, &Silent, &cancel).unwrap_err();
    assert!(matches!(err, CopyError::Cancelled { .. }));
    assert_eq!(names_in(&s.dest), vec!["2024-03-05_0700"]);
}

#[test]
fn a_missing_source_is_reported_by_name() {
    let s = setup(10);
    fs::remove_file(&s.db).unwrap();
    let err = s.copy(&at(0), 3).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("cannot read the backup file '{}'", s.db.display())),
        "{err}"
    );
    assert!(!s.dest.exists());
}

// Guards issue 12: a copy is made of the file that was verified. The pair rewritten in place after its
// verification (same size, new bytes, as the hourly backup would) is refused by name, and nothing is kept.
#[test]
fn a_source_rewritten_after_verification_is_not_copied() {
    let s = setup(300_000);
    let observe = |p: &Path| match secours::backup::inspect::observe_file(p) {
        secours::backup::inspect::FileState::Present(o) => o.identity(),
        other => panic!("{other:?}"),
    };
    let options = CopyOptions {
        verified: vec![(s.db.clone(), observe(&s.db)), (s.media.clone(), observe(&s.media))],
        ..s.options.clone()
    };
    std::thread::sleep(std::time::Duration::from_millis(20));
    fs::write(&s.media, noise(300_000 * 2 + 7, 99)).unwrap();
    let err = copy_pair(&s.db, &s.media, &at(0), &s.dest, 3, &options, &Silent, &Cancel::new()).unwrap_err();
    assert!(matches!(err, CopyError::Changed { .. }), "{err}");
    assert!(err.to_string().contains("media.taz"), "{err}");
    assert!(list_copies(&s.dest).unwrap().is_empty());
    // Unchanged, the same options copy.
    let options = CopyOptions {
        verified: vec![(s.db.clone(), observe(&s.db)), (s.media.clone(), observe(&s.media))],
        ..s.options.clone()
    };
    copy_pair(&s.db, &s.media, &at(0), &s.dest, 3, &options, &Silent, &Cancel::new()).unwrap();
}
