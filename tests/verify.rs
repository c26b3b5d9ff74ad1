#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Backup verification against real gzip and tar files built here: sound files pass with the right counts,
//! and every kind of damage or danger gets its own verdict and message.

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use secours::backup::verify::{
    At, Counts, FileOutcome, FileReport, Stream, Verdict, VerifyError, verify_dump, verify_media, verify_pair,
};
use secours::progress::{Cancel, Silent};

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn dump_sql() -> Vec<u8> {
    let mut s = Vec::new();
    s.extend_from_slice(b"-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB, for debian-linux-gnu (x86_64)\n--\n");
    s.extend_from_slice(b"-- Host: localhost    Database: app\n\n/*!40101 SET NAMES utf8mb4 */;\n");
    for t in ["user", "invoice"] {
        s.extend_from_slice(format!("DROP TABLE IF EXISTS `{t}`;\nCREATE TABLE `{t}` (\n  `id` int\n);\n").as_bytes());
        s.extend_from_slice(format!("LOCK TABLES `{t}` WRITE;\n").as_bytes());
        for i in 0..3 {
            // Non-UTF-8 bytes inside a long line must not matter.
            s.extend_from_slice(format!("INSERT INTO `{t}` VALUES ({i},'").as_bytes());
            s.extend(std::iter::repeat_n(0xE9u8, 100_000));
            s.extend_from_slice(b"');\n");
        }
        s.extend_from_slice(b"UNLOCK TABLES;\n");
    }
    s.extend_from_slice(b"/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;\n\n-- Dump completed on 2024-03-05  7:00:01\n");
    s
}

fn tar_bytes(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    build(&mut b);
    b.into_inner().unwrap()
}

fn dir(b: &mut tar::Builder<Vec<u8>>, path: &str) {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_mode(0o755);
    h.set_size(0);
    b.append_data(&mut h, path, std::io::empty()).unwrap();
}

fn file(b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]) {
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    b.append_data(&mut h, path, data).unwrap();
}

/// An entry with raw name and link bytes, bypassing the tar crate's path checks (as a hostile archive would).
fn raw(b: &mut tar::Builder<Vec<u8>>, kind: tar::EntryType, name: &str, link: &str) {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(0o644);
    h.set_size(0);
    let old = h.as_old_mut();
    old.name[..name.len()].copy_from_slice(name.as_bytes());
    old.linkname[..link.len()].copy_from_slice(link.as_bytes());
    h.set_cksum();
    b.append(&h, std::io::empty()).unwrap();
}

fn good_tar() -> Vec<u8> {
    tar_bytes(|b| {
        dir(b, "documents");
        dir(b, "documents/2024");
        file(b, "documents/2024/invoice.pdf", &b"%PDF-1.4 hello".repeat(1000));
        // A name over 100 bytes goes through a GNU long-name entry.
        let long = format!("documents/2024/{}.txt", "n".repeat(150));
        file(b, &long, b"long");
        dir(b, "pictures");
        let noise: Vec<u8> = (0..300_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        file(b, "pictures/photo.jpg", &noise);
        file(b, "pictures/empty.png", b"");
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "pictures/latest.jpg", "photo.jpg").unwrap();
    })
}

fn expected() -> Vec<String> {
    vec!["documents".into(), "pictures".into()]
}

fn dump(path: &Path) -> FileReport {
    verify_dump(path, &Silent, &Cancel::new()).unwrap()
}

fn media(path: &Path) -> FileReport {
    verify_media(path, &expected(), &Silent, &Cancel::new()).unwrap()
}

fn corrupt_reason(r: &FileReport) -> (&Option<At>, &str) {
    match &r.verdict {
        Verdict::Corrupt { at, reason, .. } => (at, reason.as_str()),
        other => panic!("expected corrupt, got {other:?}"),
    }
}

#[test]
fn a_sound_pair_passes_with_the_right_counts() {
    let t = tempfile::tempdir().unwrap();
    let db = write(t.path(), "app.gz", &gz(&dump_sql()));
    let m = write(t.path(), "media.taz", &gz(&good_tar()));

    let report = verify_pair(&db, &m, &expected(), &Silent, &Cancel::new());
    assert!(report.all_ok(), "{report:#?}");
    let FileOutcome::Checked(d) = &report.db else { panic!() };
    assert_eq!(d.counts, Counts::Db { tables: 2, inserts: 6 });
    assert!(d.header.as_deref().unwrap().starts_with("-- MariaDB dump"));
    assert_eq!(d.gzip_members, 1);
    let FileOutcome::Checked(r) = &report.media else {
        panic!()
    };
    assert_eq!(
        r.counts,
        Counts::Media {
            files: 4,
            folders: 3,
            bytes: 14_000 + 4 + 300_000
        }
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);

    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["db"]["outcome"], "checked");
    assert_eq!(json["db"]["verdict"], "ok");
    assert_eq!(json["db"]["kind"], "db");
    assert_eq!(json["db"]["counts"]["inserts"], 6);
    assert_eq!(json["media"]["counts"]["files"], 4);

    // What an import's preflight needs came with the same read: the largest statement as it will be
    // sent (its non-UTF-8 literal as a 100,000-byte parameter; `invoice` is longer than `user`), no
    // DEFINER, no database named.
    let facts = d.import_facts.as_ref().expect("facts of a sound dump");
    assert_eq!(facts.largest_table.as_deref(), Some("invoice"), "{facts:?}");
    assert!((100_000..100_100).contains(&facts.largest_bytes), "{facts:?}");
    assert!(facts.definers.is_empty() && facts.databases.is_empty(), "{facts:?}");
}

// Guards that facts are only remembered for a dump that verified ok.
#[test]
fn a_corrupt_dump_has_no_import_facts() {
    let t = tempfile::tempdir().unwrap();
    let mut sql = dump_sql();
    sql.truncate(sql.len() - 40);
    let r = dump(&write(t.path(), "app.gz", &gz(&sql)));
    assert!(!r.verdict.is_ok());
    assert_eq!(r.import_facts, None);
}

#[test]
fn multi_member_gzip_and_the_mariadb_sandbox_header_are_accepted() {
    // Guards: member-by-member reading must not stop after the first member (as a plain GzDecoder does).
    let t = tempfile::tempdir().unwrap();
    let mut sql = b"/*M!999999\\- enable the sandbox mode */ \n".to_vec();
    sql.extend_from_slice(&dump_sql());
    let (a, b) = sql.split_at(sql.len() / 2);
    let mut bytes = gz(a);
    bytes.extend_from_slice(&gz(b));
    let r = dump(&write(t.path(), "app.gz", &bytes));
    assert_eq!(r.verdict, Verdict::Ok);
    assert_eq!(r.gzip_members, 2);
    assert_eq!(r.counts, Counts::Db { tables: 2, inserts: 6 });
}

#[test]
fn a_truncated_gzip_is_corrupt_not_a_short_file() {
    let t = tempfile::tempdir().unwrap();
    let full = gz(&dump_sql());
    let r = dump(&write(t.path(), "app.gz", &full[..full.len() / 2]));
    let (at, reason) = corrupt_reason(&r);
    assert!(reason.contains("truncated"), "{reason}");
    assert_eq!(at.unwrap().stream, Stream::Compressed);

    // Truncated inside the 8-byte trailer.
    let r = dump(&write(t.path(), "app2.gz", &full[..full.len() - 3]));
    assert!(corrupt_reason(&r).1.contains("truncated"));
}

#[test]
fn a_flipped_byte_is_caught() {
    let t = tempfile::tempdir().unwrap();
    let full = gz(&dump_sql());
    // In the CRC32 of the trailer: only the checksum can tell.
    let mut bad = full.clone();
    let n = bad.len();
    bad[n - 6] ^= 0x01;
    let r = dump(&write(t.path(), "crc.gz", &bad));
    let (at, reason) = corrupt_reason(&r);
    assert!(reason.contains("CRC32 check failed"), "{reason}");
    assert_eq!(
        *at,
        Some(At {
            stream: Stream::Compressed,
            offset: (n - 8) as u64
        })
    );

    // In the middle of the compressed data: either the deflate decoder or the CRC notices.
    let mut bad = full.clone();
    bad[n / 2] ^= 0x10;
    let r = dump(&write(t.path(), "mid.gz", &bad));
    let (_, reason) = corrupt_reason(&r);
    assert!(reason.contains("damaged"), "{reason}");

    // In ISIZE.
    let mut bad = full;
    bad[n - 1] ^= 0x01;
    let r = dump(&write(t.path(), "len.gz", &bad));
    assert!(corrupt_reason(&r).1.contains("length check failed"));
}

#[test]
fn bytes_after_the_gzip_data_are_corrupt() {
    let t = tempfile::tempdir().unwrap();
    let mut bytes = gz(&dump_sql());
    bytes.extend_from_slice(b"garbage");
    let r = dump(&write(t.path(), "app.gz", &bytes));
    assert!(corrupt_reason(&r).1.contains("trailing garbage"));
}

#[test]
fn a_dump_without_its_completion_line_is_incomplete() {
    let t = tempfile::tempdir().unwrap();
    let sql = dump_sql();
    let cut = sql.len() - 50;
    let r = dump(&write(t.path(), "app.gz", &gz(&sql[..cut])));
    let (at, reason) = corrupt_reason(&r);
    assert!(reason.contains("the dump is incomplete"), "{reason}");
    assert!(reason.contains("-- Dump completed"), "{reason}");
    assert_eq!(
        *at,
        Some(At {
            stream: Stream::Decompressed,
            offset: cut as u64
        })
    );
}

#[test]
fn other_gzipped_text_is_not_a_mysqldump() {
    let t = tempfile::tempdir().unwrap();
    let r = dump(&write(t.path(), "app.gz", &gz(b"SELECT 1;\n-- Dump completed\n")));
    let (_, reason) = corrupt_reason(&r);
    assert!(
        reason.starts_with("not a mysqldump: the SQL starts with 'SELECT 1;'"),
        "{reason}"
    );
    // And a media archive given as a dump.
    let r = dump(&write(t.path(), "media.gz", &gz(&good_tar())));
    assert!(corrupt_reason(&r).1.starts_with("not a mysqldump"));
}

#[test]
fn empty_files_are_corrupt_with_a_clear_reason() {
    let t = tempfile::tempdir().unwrap();
    let zero = write(t.path(), "zero.gz", b"");
    assert!(corrupt_reason(&dump(&zero)).1.contains("the file is empty"));
    assert!(corrupt_reason(&media(&zero)).1.contains("the file is empty"));
    let empty_gz = write(t.path(), "empty.gz", &gz(b""));
    assert!(corrupt_reason(&dump(&empty_gz)).1.contains("the dump is empty"));
    assert!(corrupt_reason(&media(&empty_gz)).1.contains("the archive is empty"));
    let not_gz = write(t.path(), "plain.gz", b"-- MySQL dump\n");
    assert!(
        corrupt_reason(&dump(&not_gz))
            .1
            .contains("not a gzip file: it starts with bytes '2d 2d 20 4d'")
    );
}

#[test]
fn a_truncated_tar_inside_sound_gzip_is_corrupt() {
    let t = tempfile::tempdir().unwrap();
    let tar = good_tar();
    // Cut in the middle of photo.jpg's data.
    let r = media(&write(t.path(), "mid.taz", &gz(&tar[..tar.len() / 2])));
    let (at, reason) = corrupt_reason(&r);
    assert!(reason.contains("ends in the middle of an entry"), "{reason}");
    assert_eq!(at.unwrap().stream, Stream::Decompressed);
    let Verdict::Corrupt { entry, .. } = &r.verdict else {
        panic!()
    };
    assert_eq!(entry.as_deref(), Some("pictures/photo.jpg"));

    // Cut exactly before the end-of-archive blocks (the tar crate would call this a clean end).
    let end = tar.len() - tar.iter().rev().take_while(|&&b| b == 0).count();
    let end = end.div_ceil(512) * 512;
    let r = media(&write(t.path(), "noend.taz", &gz(&tar[..end])));
    assert!(
        corrupt_reason(&r).1.contains("no end-of-archive marker"),
        "{:?}",
        r.verdict
    );
}

#[test]
fn garbage_after_the_tar_end_is_corrupt() {
    let t = tempfile::tempdir().unwrap();
    let mut tar = good_tar();
    let end = tar.len();
    tar.extend_from_slice(b"this is not padding");
    let r = media(&write(t.path(), "media.taz", &gz(&tar)));
    let (at, reason) = corrupt_reason(&r);
    assert!(reason.contains("after the end of the tar archive"), "{reason}");
    assert_eq!(
        *at,
        Some(At {
            stream: Stream::Decompressed,
            offset: end as u64
        })
    );

    // Zero padding after the end is normal.
    let mut tar = good_tar();
    tar.extend(std::iter::repeat_n(0u8, 10_240));
    assert_eq!(media(&write(t.path(), "padded.taz", &gz(&tar))).verdict, Verdict::Ok);
}

#[test]
fn a_damaged_tar_header_is_corrupt() {
    let t = tempfile::tempdir().unwrap();
    let mut tar = good_tar();
    tar[512 + 3] ^= 0x20; // the second header's name
    let r = media(&write(t.path(), "media.taz", &gz(&tar)));
    let (at, reason) = corrupt_reason(&r);
    assert!(reason.contains("bad tar header checksum"), "{reason}");
    assert_eq!(
        *at,
        Some(At {
            stream: Stream::Decompressed,
            offset: 512
        })
    );
}

#[test]
fn dangerous_entries_make_the_archive_unsafe_and_are_all_listed() {
    let t = tempfile::tempdir().unwrap();
    let tar = tar_bytes(|b| {
        dir(b, "documents");
        file(b, "documents/ok.txt", b"fine");
        raw(b, tar::EntryType::Regular, "../x", "");
        raw(b, tar::EntryType::Regular, "/etc/passwd", "");
        raw(b, tar::EntryType::Symlink, "documents/etc", "/etc");
        raw(b, tar::EntryType::Symlink, "documents/up", "../../x");
        raw(b, tar::EntryType::Symlink, "documents/sibling", "../pictures/a.jpg");
        raw(b, tar::EntryType::Link, "documents/hard", "../../etc/shadow");
        raw(b, tar::EntryType::Fifo, "documents/pipe", "");
        raw(b, tar::EntryType::Char, "documents/null", "");
        raw(b, tar::EntryType::Block, "documents/sda", "");
    });
    let r = media(&write(t.path(), "media.taz", &gz(&tar)));
    let Verdict::Unsafe { entries } = &r.verdict else {
        panic!("{:?}", r.verdict)
    };
    assert_eq!(
        entries,
        &vec![
            "../x: path goes up with '..'".to_string(),
            "/etc/passwd: absolute path".into(),
            "documents/etc: symlink to the absolute path '/etc'".into(),
            "documents/up: symlink to '../../x', outside the archive".into(),
            "documents/hard: hard link to '../../etc/shadow', outside the archive".into(),
            "documents/pipe: FIFO (named pipe)".into(),
            "documents/null: character device".into(),
            "documents/sda: block device".into(),
        ]
    );
    assert_eq!(serde_json::to_value(&r).unwrap()["verdict"], "unsafe");
}

#[test]
fn unexpected_top_level_folders_are_warnings_not_faults() {
    let t = tempfile::tempdir().unwrap();
    let tar = tar_bytes(|b| {
        dir(b, "./documents");
        file(b, "./documents/a", b"a");
        dir(b, "config");
    });
    let r = media(&write(t.path(), "media.taz", &gz(&tar)));
    assert_eq!(r.verdict, Verdict::Ok);
    assert_eq!(
        r.warnings,
        vec![
            "unexpected top-level entries 'config' (expected only 'documents', 'pictures'); the restore ignores them"
                .to_string(),
            "the archive holds no 'pictures' folder".into(),
        ]
    );
}

// Guards issue 12's bug at its source: verify says where the media folders are, and what a restore takes.
#[test]
fn the_layout_says_where_the_media_folders_are() {
    let t = tempfile::tempdir().unwrap();
    let tar = tar_bytes(|b| {
        dir(b, "web");
        dir(b, "web/documents");
        file(b, "web/documents/a.pdf", b"aaaa");
        // A hard link is one more file to restore (extracted as a copy), with no data of its own.
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Link);
        h.set_size(0);
        b.append_link(&mut h, "web/documents/b.pdf", "web/documents/a.pdf")
            .unwrap();
        file(b, "web/pictures/p.jpg", b"pp");
        file(b, "web/index.php", b"<?php");
    });
    let r = media(&write(t.path(), "media.taz", &gz(&tar)));
    assert_eq!(r.verdict, Verdict::Ok);
    assert_eq!(
        r.counts,
        Counts::Media {
            files: 4,
            folders: 2,
            bytes: 4 + 2 + 5
        }
    );
    let layout = r.layout.clone().unwrap();
    assert_eq!(layout.prefix.as_deref(), Some("web/"));
    assert_eq!(
        (layout.usable, layout.files, layout.bytes, layout.skipped),
        (true, 3, 6, 1)
    );
    assert_eq!(layout.folders[0].name, "documents");
    assert_eq!((layout.folders[0].files, layout.folders[0].folders), (2, 1));
    assert_eq!(
        layout.describe(),
        "media folders found under 'web/': 3 files will be restored ('documents': 2, 'pictures': 1)"
    );
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["layout"]["prefix"], "web/");
    assert_eq!(json["layout"]["files"], 3);
    assert_eq!(json["layout"]["usable"], true);

    // No expectation, no layout.
    let r = verify_media(&write(t.path(), "m2.taz", &gz(&tar)), &[], &Silent, &Cancel::new()).unwrap();
    assert_eq!(r.layout, None);
}

// Guards the text and JSON of `secours verify`: both say where the media folders are, or why a restore
// would refuse the archive.
#[test]
fn the_verify_command_says_where_the_media_folders_are() {
    let t = tempfile::tempdir().unwrap();
    let folder = t.path().join("backup");
    std::fs::create_dir(&folder).unwrap();
    write(&folder, "app.gz", &gz(&dump_sql()));
    let tar = tar_bytes(|b| {
        dir(b, "web/documents");
        file(b, "web/documents/a.pdf", b"a");
    });
    write(&folder, "media.taz", &gz(&tar));
    let config = write(t.path(), "config.toml", b"");
    let secours = || {
        let mut c = assert_cmd::Command::cargo_bin("secours").unwrap();
        c.env_remove("SECOURS_CONFIG")
            .env("SECOURS_DATA_DIR", t.path().join("data"))
            .env("LANG", "C")
            .arg("--config")
            .arg(&config);
        c
    };
    let out = secours().arg("verify").arg(&folder).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        text.contains("media folders found under 'web/': 1 file will be restored"),
        "{text}"
    );
    let out = secours()
        .args(["verify", "--json", "--force"])
        .arg(&folder)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["media"]["details"]["layout"]["prefix"], "web/");

    write(&folder, "media.taz", &gz(&tar_bytes(|b| file(b, "other/x", b"x"))));
    let out = secours().arg("verify").arg(&folder).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("the archive cannot be restored"), "{text}");
    assert!(text.contains("without media"), "{text}");
}

#[test]
fn a_missing_file_is_an_error_not_a_verdict() {
    let t = tempfile::tempdir().unwrap();
    let missing = t.path().join("nope.gz");
    let err = verify_dump(&missing, &Silent, &Cancel::new()).unwrap_err();
    assert!(matches!(err, VerifyError::Open { .. }));
    assert!(err.to_string().starts_with("cannot open '"), "{err}");
    let m = write(t.path(), "media.taz", &gz(&good_tar()));
    let report = verify_pair(&missing, &m, &expected(), &Silent, &Cancel::new());
    assert!(matches!(report.db, FileOutcome::Unreadable { .. }));
    assert!(report.media.is_ok());
    assert!(!report.all_ok());
}

#[test]
fn cancel_stops_the_check() {
    let t = tempfile::tempdir().unwrap();
    let db = write(t.path(), "app.gz", &gz(&dump_sql()));
    let cancel = Cancel::new();
    cancel.cancel();
    assert!(matches!(
        verify_dump(&db, &Silent, &cancel),
        Err(VerifyError::Cancelled { .. })
    ));
}

#[test]
fn progress_reaches_the_file_size() {
    let t = tempfile::tempdir().unwrap();
    let db = write(t.path(), "app.gz", &gz(&dump_sql()));
    let size = std::fs::metadata(&db).unwrap().len();
    let last = std::sync::Mutex::new(None);
    let sink = |u: secours::progress::Update| *last.lock().unwrap() = Some((u.step, u.done, u.total));
    verify_dump(&db, &sink, &Cancel::new()).unwrap();
    assert_eq!(*last.lock().unwrap(), Some(("verify-db", size, Some(size))));
}
