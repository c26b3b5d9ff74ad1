#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Step 4 of a restore against real tar.gz archives built here: a normal tree comes out complete, with its
//! modes and times and the same counts as `verify`; every hostile archive is refused, naming the entry,
//! without a byte written outside the staging folder; damage and cancel stop cleanly. Then the ownership
//! change: as root it reaches every entry and links themselves but never their targets, it refuses paths
//! outside the web folder, and without root it runs exactly the expected administrator command.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use flate2::Compression;
use flate2::write::GzEncoder;
use secours::progress::{Cancel, Silent, Update};
use secours::restore::media::{ExtractSummary, MediaError, count_tree, extract_media};
use secours::restore::owner::{OwnerError, resolve_owner};
use secours::verify::{Stream, Verdict, verify_media};
use tar::EntryType;

// ---------------------------------------------------------------------------------------------------------
// Building archives.

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn tar_bytes(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    build(&mut b);
    b.into_inner().unwrap()
}

const T0: u64 = 1_600_000_000;

fn dir(b: &mut tar::Builder<Vec<u8>>, path: &str, mode: u32, mtime: u64) {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(EntryType::Directory);
    h.set_mode(mode);
    h.set_mtime(mtime);
    h.set_size(0);
    b.append_data(&mut h, path, io::empty()).unwrap();
}

fn file(b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8], mode: u32, mtime: u64) {
    let mut h = tar::Header::new_gnu();
    h.set_mode(mode);
    h.set_mtime(mtime);
    h.set_size(data.len() as u64);
    b.append_data(&mut h, path, data).unwrap();
}

fn link(b: &mut tar::Builder<Vec<u8>>, kind: EntryType, path: &str, target: &str) {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(0o777);
    h.set_mtime(T0);
    h.set_size(0);
    b.append_link(&mut h, path, target).unwrap();
}

/// An entry with raw name and link bytes, bypassing the tar crate's path checks (as a hostile archive would).
fn raw(b: &mut tar::Builder<Vec<u8>>, kind: EntryType, name: &str, target: &str, data: &[u8]) {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    let old = h.as_old_mut();
    old.name[..name.len()].copy_from_slice(name.as_bytes());
    old.linkname[..target.len()].copy_from_slice(target.as_bytes());
    h.set_cksum();
    b.append(&h, data).unwrap();
}

/// A POSIX extended header giving the next entry's path (how bsdtar on macOS stores accented names).
fn pax_path(b: &mut tar::Builder<Vec<u8>>, path: &str) {
    let body = format!(" path={path}\n");
    let mut len = body.len() + 1;
    while format!("{len}{body}").len() != len {
        len += 1;
    }
    let record = format!("{len}{body}");
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(EntryType::XHeader);
    h.set_path("PaxHeader/entry").unwrap();
    h.set_mode(0o644);
    h.set_size(record.len() as u64);
    h.set_cksum();
    b.append(&h, record.as_bytes()).unwrap();
}

/// Incompressible bytes (xorshift), so the archive is big enough to report progress several times.
fn noise(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

const FACTURE: &str = "documents/Factures 2024/facture n°1 é.pdf";
const PHOTO: &str = "pictures/été/photo 1.jpg";
const PAX_NAME: &str = "pictures/été/légende « spéciale ».txt";

fn long_name() -> String {
    format!("documents/Factures 2024/{}.txt", "très-long-nom-".repeat(10))
}

/// The tree `tar czf media.taz documents pictures` makes, with what real folders hold: accents, spaces,
/// nesting, an empty folder, links inside the tree, a hard link, a long name and a PAX name.
fn normal_tar() -> Vec<u8> {
    tar_bytes(|b| {
        dir(b, "documents", 0o755, T0 + 1);
        dir(b, "documents/Factures 2024", 0o750, T0 + 2);
        file(b, FACTURE, &b"%PDF-1.4 facture".repeat(6000), 0o640, T0 + 3);
        file(b, &long_name(), b"long", 0o644, T0 + 4);
        dir(b, "documents/Factures 2024/vide", 0o700, T0 + 5);
        file(b, "documents/readme.txt", b"lisez-moi\n", 0o644, T0 + 6);
        // setuid must not survive.
        file(b, "documents/script.sh", b"#!/bin/sh\n", 0o4755, T0 + 7);
        link(
            b,
            EntryType::Symlink,
            "documents/lien",
            "Factures 2024/facture n°1 é.pdf",
        );
        link(b, EntryType::Link, "documents/dur", "documents/readme.txt");
        dir(b, "pictures", 0o755, T0 + 8);
        dir(b, "pictures/été", 0o755, T0 + 9);
        file(b, PHOTO, &noise(300_000), 0o644, T0 + 10);
        pax_path(b, PAX_NAME);
        file(b, "pictures/placeholder", b"pax", 0o600, T0 + 11);
        link(
            b,
            EntryType::Symlink,
            "pictures/vers-documents",
            "../documents/readme.txt",
        );
    })
}

fn media_dirs() -> Vec<String> {
    vec!["documents".into(), "pictures".into()]
}

/// A temporary world: the archive, a web folder that receives the staging folder, a sentinel folder that
/// must stay empty, and a folder with a secret file that must stay untouched.
struct World {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    archive: PathBuf,
    web: PathBuf,
    staging: PathBuf,
    sentinel: PathBuf,
    secret: PathBuf,
}

fn world_with(taz: &[u8]) -> World {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let archive = root.join("media.taz");
    fs::write(&archive, taz).unwrap();
    let web = root.join("web");
    fs::create_dir(&web).unwrap();
    let sentinel = root.join("sentinel");
    fs::create_dir(&sentinel).unwrap();
    fs::create_dir(root.join("outside")).unwrap();
    let secret = root.join("outside/secret.txt");
    fs::write(&secret, b"secret").unwrap();
    World {
        staging: web.join(".secours-staging"),
        _tmp: tmp,
        root,
        archive,
        web,
        sentinel,
        secret,
    }
}

fn world(tar: &[u8]) -> World {
    world_with(&gz(tar))
}

impl World {
    /// Replaces the archive (for archives that name this world's own paths).
    fn rewrite(&self, tar: &[u8]) {
        fs::write(&self.archive, gz(tar)).unwrap();
    }

    fn extract(&self) -> Result<ExtractSummary, MediaError> {
        extract_media(&self.archive, &self.staging, &media_dirs(), &Silent, &Cancel::new())
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// Nothing was written anywhere but inside the staging folder.
    fn assert_nothing_outside(&self) {
        assert_eq!(
            Self::names(&self.sentinel),
            Vec::<String>::new(),
            "the sentinel folder was written to"
        );
        assert_eq!(Self::names(&self.web), vec![".secours-staging"]);
        assert_eq!(Self::names(&self.root), vec!["media.taz", "outside", "sentinel", "web"]);
        assert_eq!(Self::names(&self.root.join("outside")), vec!["secret.txt"]);
        let meta = fs::metadata(&self.secret).unwrap();
        assert_eq!(meta.nlink(), 1, "the secret file got a hard link");
        assert_eq!(fs::read(&self.secret).unwrap(), b"secret");
    }
}

/// Extracting `tar` fails as unsafe, naming `entry`, and writes nothing outside the staging folder.
fn assert_refused(w: &World, entry: &str, reason_has: &str) {
    match w.extract() {
        Err(MediaError::Unsafe { entry: e, reason, .. }) => {
            assert_eq!(e, entry);
            assert!(reason.contains(reason_has), "reason: {reason}");
        }
        other => panic!("expected Unsafe for '{entry}', got {other:?}"),
    }
    w.assert_nothing_outside();
}

// ---------------------------------------------------------------------------------------------------------
// A normal archive.

#[test]
fn a_normal_archive_is_extracted_completely_with_modes_and_times() {
    let w = world(&normal_tar());
    let s = w.extract().unwrap();
    let st = &w.staging;

    assert_eq!(fs::read(st.join(FACTURE)).unwrap(), b"%PDF-1.4 facture".repeat(6000));
    assert_eq!(fs::read(st.join(PHOTO)).unwrap(), noise(300_000));
    assert_eq!(fs::read(st.join(long_name())).unwrap(), b"long");
    assert_eq!(fs::read(st.join(PAX_NAME)).unwrap(), b"pax");
    assert!(
        !st.join("pictures/placeholder").exists(),
        "the PAX path must win over the header name"
    );
    assert_eq!(
        Vec::<String>::new(),
        World::names(&st.join("documents/Factures 2024/vide"))
    );
    assert_eq!(
        fs::read_link(st.join("documents/lien")).unwrap(),
        Path::new("Factures 2024/facture n°1 é.pdf")
    );
    assert_eq!(fs::read(st.join("documents/lien")).unwrap().len(), 16 * 6000);
    assert_eq!(fs::read(st.join("pictures/vers-documents")).unwrap(), b"lisez-moi\n");
    let dur = fs::symlink_metadata(st.join("documents/dur")).unwrap();
    let readme = fs::symlink_metadata(st.join("documents/readme.txt")).unwrap();
    assert_eq!(dur.ino(), readme.ino(), "the hard link shares its target's data");

    let mode = |p: &str| fs::symlink_metadata(st.join(p)).unwrap().mode() & 0o7777;
    let mtime = |p: &str| fs::symlink_metadata(st.join(p)).unwrap().mtime() as u64;
    assert_eq!(mode(FACTURE), 0o640);
    assert_eq!(mode("documents/script.sh"), 0o755, "setuid is dropped");
    assert_eq!(mode("documents/Factures 2024"), 0o750);
    assert_eq!(mode("documents/Factures 2024/vide"), 0o700);
    assert_eq!(mode(PAX_NAME), 0o600);
    assert_eq!(fs::symlink_metadata(st).unwrap().mode() & 0o7777, 0o755);
    assert_eq!(mtime(FACTURE), T0 + 3);
    assert_eq!(mtime(PHOTO), T0 + 10);
    // Folder times survive the files written into them afterwards.
    assert_eq!(mtime("documents"), T0 + 1);
    assert_eq!(mtime("documents/Factures 2024"), T0 + 2);
    assert_eq!(mtime("pictures/été"), T0 + 9);

    assert_eq!(
        s,
        ExtractSummary {
            files: 7,
            folders: 5,
            symlinks: 2,
            bytes: 16 * 6000 + 4 + 10 + 10 + 300_000 + 3,
            hard_links: 1,
            implied_folders: 0,
            skipped: vec![],
            skipped_count: 0,
            missing_dirs: vec![],
        }
    );
    assert_eq!(count_tree(st).unwrap(), s.tree_count());
}

// Guards the agreement the restore relies on: what `verify` counted is what was extracted.
#[test]
fn counts_agree_with_verify_and_with_the_tree_on_disk() {
    let w = world(&normal_tar());
    let report = verify_media(&w.archive, &media_dirs(), &Silent, &Cancel::new()).unwrap();
    assert_eq!(report.verdict, Verdict::Ok, "{report:#?}");
    let s = w.extract().unwrap();
    assert_eq!(s.archive_counts(), report.counts);
    assert_eq!(count_tree(&w.staging).unwrap(), s.tree_count());
}

#[test]
fn other_top_level_entries_are_skipped_and_missing_media_folders_made() {
    let tar = tar_bytes(|b| {
        dir(b, "documents", 0o755, T0);
        file(b, "documents/a.pdf", b"a", 0o644, T0);
        // No folder entry for this one: its folder is made on the way.
        file(b, "documents/sub/b.pdf", b"b", 0o644, T0);
        dir(b, "old", 0o755, T0);
        file(b, "old/x", b"x", 0o644, T0);
        file(b, "index.php", b"<?php", 0o644, T0);
        link(b, EntryType::Symlink, "old/up", "../documents");
    });
    let w = world(&tar);
    let s = w.extract().unwrap();
    assert_eq!(s.skipped, vec!["old".to_string(), "index.php".to_string()]);
    assert_eq!(s.skipped_count, 4);
    assert_eq!(s.missing_dirs, vec!["pictures".to_string()]);
    assert_eq!((s.files, s.folders, s.implied_folders), (2, 3, 2));
    assert_eq!(World::names(&w.staging), vec!["documents", "pictures"]);
    assert_eq!(World::names(&w.staging.join("pictures")), Vec::<String>::new());
    assert_eq!(
        fs::symlink_metadata(w.staging.join("documents/sub")).unwrap().mode() & 0o777,
        0o755
    );
    assert_eq!(count_tree(&w.staging).unwrap(), s.tree_count());
}

// Guards "the later entry wins" without ever writing through what the earlier one left.
#[test]
fn a_repeated_name_replaces_the_earlier_entry_without_following_it() {
    let tar = tar_bytes(|b| {
        dir(b, "documents", 0o755, T0);
        dir(b, "pictures", 0o755, T0);
        file(b, "pictures/target", b"original", 0o644, T0);
        link(b, EntryType::Symlink, "documents/f", "../pictures/target");
        file(b, "documents/f", b"new", 0o644, T0);
        file(b, "documents/g", b"first version, longer", 0o644, T0);
        file(b, "documents/g", b"second", 0o644, T0);
    });
    let w = world(&tar);
    let s = w.extract().unwrap();
    assert_eq!(fs::read(w.staging.join("pictures/target")).unwrap(), b"original");
    assert!(fs::symlink_metadata(w.staging.join("documents/f")).unwrap().is_file());
    assert_eq!(fs::read(w.staging.join("documents/f")).unwrap(), b"new");
    assert_eq!(fs::read(w.staging.join("documents/g")).unwrap(), b"second");
    assert_eq!((s.files, s.symlinks, s.bytes), (3, 0, 8 + 3 + 6));
    assert_eq!(count_tree(&w.staging).unwrap(), s.tree_count());
}

#[test]
fn the_staging_folder_must_not_exist_and_its_parent_must() {
    let w = world(&normal_tar());
    fs::create_dir(&w.staging).unwrap();
    fs::write(w.staging.join("keep"), b"mine").unwrap();
    let e = w.extract().unwrap_err();
    assert!(matches!(e, MediaError::StagingExists { .. }), "{e:?}");
    assert!(e.to_string().contains("already exists"), "{e}");
    assert_eq!(World::names(&w.staging), vec!["keep"]);

    let deep = w.web.join("no/such/.staging");
    let e = extract_media(&w.archive, &deep, &media_dirs(), &Silent, &Cancel::new()).unwrap_err();
    assert!(matches!(e, MediaError::Write { .. }), "{e:?}");
    assert!(!w.web.join("no").exists());
}

#[test]
fn progress_names_the_file_and_reaches_the_archive_size() {
    let w = world(&normal_tar());
    let size = fs::metadata(&w.archive).unwrap().len();
    let seen = Mutex::new(Vec::<Update>::new());
    let sink = |u: Update| seen.lock().unwrap().push(u);
    extract_media(&w.archive, &w.staging, &media_dirs(), &sink, &Cancel::new()).unwrap();
    let seen = seen.into_inner().unwrap();
    assert!(seen.len() >= 3, "{seen:?}");
    assert!(seen.iter().all(|u| u.step == "media" && u.total == Some(size)));
    assert!(seen.windows(2).all(|p| p[0].done <= p[1].done));
    assert_eq!(seen.last().unwrap().done, size);
    assert!(seen.iter().any(|u| u.detail.as_deref() == Some(PHOTO)), "{seen:?}");
}

#[test]
fn cancel_stops_the_extraction() {
    let w = world(&normal_tar());
    let cancel = Cancel::new();
    let sink = |_: Update| cancel.cancel();
    let e = extract_media(&w.archive, &w.staging, &media_dirs(), &sink, &cancel).unwrap_err();
    assert!(matches!(e, MediaError::Cancelled { .. }), "{e:?}");
    assert!(e.to_string().contains("cancelled"), "{e}");
}

// ---------------------------------------------------------------------------------------------------------
// Damaged archives.

fn corrupt(w: &World) -> (Option<String>, Stream, String) {
    match w.extract() {
        Err(MediaError::Corrupt { entry, at, reason, .. }) => (entry, at.stream, reason),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn a_truncated_gzip_file_is_corrupt() {
    let taz = gz(&normal_tar());
    let w = world_with(&taz[..taz.len() * 2 / 3]);
    let (entry, stream, reason) = corrupt(&w);
    assert_eq!(stream, Stream::Compressed);
    assert!(reason.contains("truncated"), "{reason}");
    assert_eq!(entry.as_deref(), Some(PHOTO));
    let msg = w.extract_err_text();
    assert!(msg.contains("secours verify"), "{msg}");
}

impl World {
    fn extract_err_text(&self) -> String {
        let _ = fs::remove_dir_all(&self.staging);
        self.extract().unwrap_err().to_string()
    }
}

#[test]
fn a_truncated_tar_inside_sound_gzip_is_corrupt() {
    let tar = normal_tar();
    // Cut in the middle of the photo's data.
    let at = tar.windows(8).position(|w| w == &noise(8)[..]).unwrap() + 100_000;
    let (entry, stream, reason) = corrupt(&world(&tar[..at]));
    assert_eq!(stream, Stream::Decompressed);
    assert_eq!(entry.as_deref(), Some(PHOTO));
    assert!(reason.contains("ends in the middle of this file"), "{reason}");

    // Cut exactly before the end-of-archive blocks (the tar crate alone would call this a clean end).
    let end = tar.len() - tar.iter().rev().take_while(|&&b| b == 0).count();
    let (_, _, reason) = corrupt(&world(&tar[..end.div_ceil(512) * 512]));
    assert!(reason.contains("no end-of-archive marker"), "{reason}");
}

#[test]
fn data_after_the_end_of_the_archive_is_corrupt() {
    let mut tar = normal_tar();
    tar.extend_from_slice(b"garbage");
    let (_, _, reason) = corrupt(&world(&tar));
    assert!(reason.contains("trailing garbage"), "{reason}");
}

// ---------------------------------------------------------------------------------------------------------
// Hostile archives: each is refused, naming the entry, and nothing is written outside the staging folder.

fn docs(b: &mut tar::Builder<Vec<u8>>) {
    dir(b, "documents", 0o755, T0);
    dir(b, "pictures", 0o755, T0);
}

// Guards against `..` climbing out of the staging folder.
#[test]
fn hostile_dot_dot_names_are_refused() {
    let w = world(&tar_bytes(|b| {
        docs(b);
        raw(b, EntryType::Regular, "../x", "", b"evil");
    }));
    assert_refused(&w, "../x", "'..'");
    let w = world(&tar_bytes(|b| {
        docs(b);
        raw(b, EntryType::Regular, "documents/../../../sentinel/x", "", b"evil");
    }));
    assert_refused(&w, "documents/../../../sentinel/x", "'..'");
}

// Guards against absolute names (tar strips the '/', we refuse the archive).
#[test]
fn hostile_absolute_names_are_refused() {
    let w = world(&[]);
    let name = format!("{}/evil", w.sentinel.display());
    w.rewrite(&tar_bytes(|b| {
        docs(b);
        raw(b, EntryType::Regular, &name, "", b"evil");
    }));
    assert_refused(&w, &name, "absolute");
    let w = world(&tar_bytes(|b| {
        docs(b);
        raw(b, EntryType::Regular, "/etc/secours-test-evil", "", b"evil");
    }));
    assert_refused(&w, "/etc/secours-test-evil", "absolute");
    assert!(!Path::new("/etc/secours-test-evil").exists());
}

// Guards the classic attack: a link to a folder outside, then a file written "through" it.
#[test]
fn hostile_symlink_then_file_through_it_is_refused() {
    let w = world(&[]);
    let target = w.sentinel.display().to_string();
    w.rewrite(&tar_bytes(|b| {
        docs(b);
        raw(b, EntryType::Symlink, "documents/x", &target, b"");
        raw(b, EntryType::Regular, "documents/x/evil", "", b"evil");
    }));
    assert_refused(&w, "documents/x", "absolute path");

    // A link that is allowed (inside the tree) must still never be written through.
    let w = world(&tar_bytes(|b| {
        docs(b);
        link(b, EntryType::Symlink, "documents/x", "../pictures");
        raw(b, EntryType::Regular, "documents/x/evil", "", b"evil");
    }));
    assert_refused(&w, "documents/x/evil", "goes through the symbolic link 'documents/x'");
    assert_eq!(World::names(&w.staging.join("pictures")), Vec::<String>::new());
}

// Guards relative links that climb out of the tree, or into the web folder next to the media.
#[test]
fn hostile_escaping_symlinks_are_refused() {
    let w = world(&tar_bytes(|b| {
        docs(b);
        raw(b, EntryType::Symlink, "documents/a", "../../..", b"");
    }));
    assert_refused(&w, "documents/a", "outside the archive");
    let w = world(&tar_bytes(|b| {
        docs(b);
        raw(b, EntryType::Symlink, "documents/a", "../config/db.php", b"");
    }));
    assert_refused(&w, "documents/a", "out of the media folders");
}

// Guards chains: each link looks inside on paper, but followed through the first one the second leads out.
#[test]
fn hostile_chained_symlinks_are_refused() {
    let w = world(&tar_bytes(|b| {
        docs(b);
        dir(b, "documents/a", 0o755, T0);
        dir(b, "documents/a/b", 0o755, T0);
        dir(b, "documents/a/b/c", 0o755, T0);
        link(b, EntryType::Symlink, "documents/a/b/c/s", "../../../../pictures");
        link(b, EntryType::Symlink, "documents/a/b/c/t", "s/../../..");
    }));
    assert_refused(&w, "documents/a/b/c/t", "outside the archive");
}

// Guards against devices and FIFOs (a FIFO would hang the web server that opens it).
#[test]
fn hostile_devices_and_fifos_are_refused() {
    for (kind, name, why) in [
        (EntryType::Fifo, "documents/fifo", "FIFO"),
        (EntryType::Char, "documents/null", "character device"),
        (EntryType::Block, "pictures/sda", "block device"),
    ] {
        let w = world(&tar_bytes(|b| {
            docs(b);
            raw(b, kind, name, "", b"");
        }));
        assert_refused(&w, name, why);
    }
}

// Guards hard links: they may only name a regular file already extracted inside the tree.
#[test]
fn hostile_hard_links_are_refused() {
    let w = world(&[]);
    let cases: Vec<(String, String)> = vec![
        ("documents/h".into(), "../../outside/secret.txt".into()),
        ("documents/h".into(), w.secret.display().to_string()),
        // Not extracted (yet): a later file of that name must not be reachable.
        ("documents/h".into(), "documents/later".into()),
        // Outside the media folders (skipped, so never extracted).
        ("documents/h".into(), "old/x".into()),
        // A symbolic link: linking it would give a link that may be followed later.
        ("documents/h".into(), "documents/s".into()),
        ("documents/h".into(), "documents".into()),
    ];
    for (name, target) in cases {
        let w = world(&tar_bytes(|b| {
            docs(b);
            file(b, "old/x", b"x", 0o644, T0);
            link(b, EntryType::Symlink, "documents/s", "../pictures");
            raw(b, EntryType::Link, &name, &target, b"");
            file(b, "documents/later", b"later", 0o644, T0);
        }));
        match w.extract() {
            Err(MediaError::Unsafe { entry, reason, .. }) => {
                assert_eq!(entry, name, "{target}");
                assert!(reason.contains("hard link"), "{target}: {reason}");
            }
            other => panic!("{target}: expected Unsafe, got {other:?}"),
        }
        w.assert_nothing_outside();
    }
}

// Guards against a media folder replaced by a link (`documents -> /`), or by a file.
#[test]
fn a_media_folder_must_be_a_folder() {
    let w = world(&tar_bytes(|b| {
        link(b, EntryType::Symlink, "documents", "pictures");
    }));
    assert_refused(&w, "documents", "must be a folder");
    let w = world(&tar_bytes(|b| file(b, "pictures", b"x", 0o644, T0)));
    assert_refused(&w, "pictures", "must be a folder");
}

#[test]
fn unsafe_errors_say_what_happened_and_what_to_do() {
    let w = world(&tar_bytes(|b| {
        docs(b);
        raw(b, EntryType::Regular, "../x", "", b"evil");
    }));
    let msg = w.extract().unwrap_err().to_string();
    assert!(msg.contains("'../x'"), "{msg}");
    assert!(msg.contains("nothing was written outside the staging folder"), "{msg}");
    assert!(msg.contains("Restore from another backup"), "{msg}");
}

// ---------------------------------------------------------------------------------------------------------
// Ownership (the privileged path itself is tested in tests/privileged.rs).

#[test]
fn a_missing_user_is_named_with_what_to_do() {
    let e = resolve_owner("secours-no-such-user:daemon").unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("'secours-no-such-user'"), "{msg}");
    assert!(msg.contains("[restore] owner"), "{msg}");
    let e = resolve_owner("daemon:secours-no-such-group").unwrap_err();
    assert!(matches!(e, OwnerError::NoGroup { .. }), "{e:?}");
}
