#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Step 4 of a restore against real tar.gz archives built here: a normal tree comes out complete, with its
//! modes and times and the same counts as `verify`; every hostile archive is refused, naming the entry,
//! without a byte written outside the staging folder; damage and cancel stop cleanly. Then the ownership
//! change: as root it reaches every entry and links themselves but never their targets, it refuses paths
//! outside the web folder, and without root it runs exactly the expected administrator command.

use crate::support;

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use flate2::Compression;
use flate2::write::GzEncoder;
use secours::backup::verify::{Counts, FileReport, Stream, Verdict, verify_media};
use secours::files::mac_metadata::{QUARANTINE, Xattr, apple_double_xattrs};
use secours::files::tree::count_tree;
use secours::progress::{Cancel, Silent, Update};
use secours::restore::media::{
    ExtractSummary, MediaError, check_private_tree, extract_media, extract_media_under, file_mode, folder_mode,
    media_plan,
};
use secours::restore::owner::{OwnerError, effective_uid, resolve_owner};
use support::user::all_entries;
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
    pax(b, &[("path", path.as_bytes())]);
}

/// A POSIX extended header with these records for the next entry.
fn pax(b: &mut tar::Builder<Vec<u8>>, records: &[(&str, &[u8])]) {
    let mut record = Vec::new();
    for (key, value) in records {
        let body_len = 1 + key.len() + 1 + value.len() + 1;
        let mut len = body_len + 1;
        while len.to_string().len() + body_len != len {
            len += 1;
        }
        record.extend_from_slice(format!("{len} {key}=").as_bytes());
        record.extend_from_slice(value);
        record.push(b'\n');
    }
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(EntryType::XHeader);
    h.set_path("PaxHeader/entry").unwrap();
    h.set_mode(0o644);
    h.set_size(record.len() as u64);
    h.set_cksum();
    b.append(&h, record.as_slice()).unwrap();
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
    // Guards the staged tree handed to root: a hard link comes out as an independent copy, one link each.
    let dur = fs::symlink_metadata(st.join("documents/dur")).unwrap();
    let readme = fs::symlink_metadata(st.join("documents/readme.txt")).unwrap();
    assert_ne!(dur.ino(), readme.ino(), "the hard link is extracted as a copy");
    assert_eq!((dur.nlink(), readme.nlink()), (1, 1));
    assert_eq!(fs::read(st.join("documents/dur")).unwrap(), b"lisez-moi\n");

    let mode = |p: &str| fs::symlink_metadata(st.join(p)).unwrap().mode() & 0o7777;
    let mtime = |p: &str| fs::symlink_metadata(st.join(p)).unwrap().mtime() as u64;
    assert_eq!(mode(FACTURE), 0o640);
    assert_eq!(mode("documents/script.sh"), 0o755, "setuid is dropped");
    assert_eq!(mode("documents/Factures 2024"), 0o750);
    assert_eq!(mode("documents/Factures 2024/vide"), 0o700);
    assert_eq!(mode(PAX_NAME), 0o600);
    assert_eq!(
        fs::symlink_metadata(st).unwrap().mode() & 0o7777,
        0o700,
        "staging is private"
    );
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
            bytes: 16 * 6000 + 4 + 10 + 10 + 300_000 + 3 + 10,
            hard_links: 1,
            hard_link_bytes: 10,
            apple_double: 0,
            xattrs: 0,
            implied_folders: 0,
            skipped: vec![],
            skipped_count: 0,
            missing_dirs: vec![],
        }
    );
    assert_eq!(count_tree(st).unwrap(), s.tree_count());
    assert_eq!(check_private_tree(st).unwrap(), s.tree_count());
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
    // And what the layout promised the plan and the check: every file, the hard-link copy included.
    let layout = report.layout.unwrap();
    assert_eq!((layout.prefix.as_deref(), layout.usable), (Some(""), true));
    assert_eq!(layout.files, s.files);
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
// Where the media folders sit in the archive.

/// A web folder as on the production Mac, with media, code and configuration, below `root/web`.
fn site_web(root: &Path) -> PathBuf {
    let web = root.join("web");
    for (name, data) in [
        ("documents/Factures 2024/facture 1.pdf", &b"%PDF-1"[..]),
        ("documents/Factures 2024/facture 2.pdf", b"%PDF-22"),
        ("documents/lisez-moi.txt", b"lisez-moi"),
        ("pictures/été/photo 1.jpg", b"jpeg-1"),
        ("pictures/logo.png", b"png"),
        ("index.php", b"<?php"),
        ("config/db.php", b"<?php return [];"),
    ] {
        let p = web.join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, data).unwrap();
    }
    fs::create_dir_all(web.join("pictures/vide")).unwrap();
    web
}

/// Runs the system `tar czf <archive> <args>` in `dir`.
fn system_tar(dir: &Path, archive: &Path, args: &[&str]) {
    let status = std::process::Command::new("tar")
        .arg("czf")
        .arg(archive)
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(status.success());
}

/// The media file's stored verification details, as history keeps them.
fn details(report: &FileReport) -> serde_json::Value {
    serde_json::to_value(report).unwrap()
}

fn verified(archive: &Path) -> FileReport {
    let report = verify_media(archive, &media_dirs(), &Silent, &Cancel::new()).unwrap();
    assert_eq!(report.verdict, Verdict::Ok, "{report:#?}");
    report
}

/// The files below `root`, as sorted relative paths.
fn files_below(root: &Path) -> Vec<String> {
    let mut out: Vec<String> = all_entries(root)
        .into_iter()
        .filter(|p| fs::symlink_metadata(p).unwrap().is_file())
        .map(|p| p.strip_prefix(root).unwrap().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

const SITE_MEDIA: [&str; 5] = [
    "documents/Factures 2024/facture 1.pdf",
    "documents/Factures 2024/facture 2.pdf",
    "documents/lisez-moi.txt",
    "pictures/logo.png",
    "pictures/été/photo 1.jpg",
];

// Guards the bug of issue 12: an archive packed from above web/ ('web/documents/…') passed verify, then the
// restore said "Done: 0 files" and replaced the standby's media by nothing.
#[test]
fn an_archive_packed_from_above_web_is_understood_and_its_prefix_stripped() {
    let w = world(&[]);
    site_web(&w.root);
    system_tar(&w.root, &w.archive, &["web/documents", "web/pictures"]);

    let report = verified(&w.archive);
    let layout = report.layout.clone().unwrap();
    assert_eq!(layout.prefix.as_deref(), Some("web/"));
    assert!(layout.usable, "{layout:?}");
    assert_eq!((layout.files, layout.bytes, layout.skipped), (5, 6 + 7 + 9 + 6 + 3, 0));
    assert!(
        layout
            .describe()
            .starts_with("media folders found under 'web/': 5 files will be restored"),
        "{}",
        layout.describe()
    );
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);

    let plan = media_plan(&details(&report)).unwrap();
    assert_eq!((plan.strip.as_str(), plan.files, plan.strips()), ("web/", 5, true));

    // The extractor, given the prefix, restores exactly those files.
    let s = extract_media_under(
        &w.archive,
        &w.staging,
        &media_dirs(),
        &plan.strip,
        &Silent,
        &Cancel::new(),
    )
    .unwrap();
    assert_eq!(files_below(&w.staging), SITE_MEDIA);
    assert_eq!(World::names(&w.staging), vec!["documents", "pictures"]);
    assert_eq!(s.files, plan.files);
    assert_eq!(fs::read(w.staging.join("pictures/été/photo 1.jpg")).unwrap(), b"jpeg-1");
    assert_eq!(count_tree(&w.staging).unwrap(), s.tree_count());

    // Without the prefix nothing would land: the last line of defence refuses instead of emptying the media.
    fs::remove_dir_all(&w.staging).unwrap();
    let e = w.extract().unwrap_err();
    assert!(matches!(e, MediaError::NoMedia { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("holds no file under 'documents' or 'pictures'"), "{msg}");
    assert!(msg.contains("'web'"), "{msg}");
    assert!(msg.contains("without media"), "{msg}");
}

// Guards `tar czf media.taz .` inside web/: './documents/…' at the top, beside the application's files.
#[test]
fn an_archive_packed_from_inside_web_with_dot_is_at_the_top() {
    let w = world(&[]);
    let web = site_web(&w.root.join("site"));
    system_tar(&web, &w.archive, &["."]);

    let report = verified(&w.archive);
    let layout = report.layout.clone().unwrap();
    assert_eq!(layout.prefix.as_deref(), Some("./"));
    assert!(layout.usable && layout.at_top(), "{layout:?}");
    assert_eq!(layout.files, 5);
    // './index.php' and './config/', './config/db.php' are ignored, and said so; './' itself is not.
    assert_eq!(layout.skipped, 3);
    assert_eq!(
        report.warnings,
        vec![
            "unexpected top-level entries 'config', 'index.php' (expected only 'documents', 'pictures'); the \
             restore ignores them"
                .to_string()
        ]
    );
    let plan = media_plan(&details(&report)).unwrap();
    assert!(!plan.strips());

    let s = extract_media_under(
        &w.archive,
        &w.staging,
        &media_dirs(),
        &plan.strip,
        &Silent,
        &Cancel::new(),
    )
    .unwrap();
    assert_eq!(files_below(&w.staging), SITE_MEDIA);
    assert_eq!((s.files, s.skipped_count), (5, 3));
    let mut skipped = s.skipped.clone();
    skipped.sort();
    assert_eq!(skipped, vec!["config".to_string(), "index.php".into()]);
}

#[test]
fn a_deep_prefix_is_understood_and_entries_beside_it_skipped() {
    let tar = tar_bytes(|b| {
        dir(b, "x", 0o755, T0);
        dir(b, "x/apps", 0o755, T0);
        dir(b, "x/apps/prod", 0o755, T0);
        dir(b, "x/apps/prod/web", 0o755, T0);
        file(b, "x/apps/prod/web/index.php", b"<?php", 0o644, T0);
        dir(b, "x/apps/prod/web/documents", 0o755, T0);
        file(b, "x/apps/prod/web/documents/a.pdf", b"a", 0o644, T0);
        file(b, "x/apps/prod/web/pictures/p.jpg", b"pp", 0o644, T0);
        link(b, EntryType::Symlink, "x/apps/prod/web/pictures/lien", "p.jpg");
        link(
            b,
            EntryType::Link,
            "x/apps/prod/web/pictures/dur",
            "x/apps/prod/web/pictures/p.jpg",
        );
        // Deeper down, a 'documents' that is only something else the archive holds.
        file(b, "x/apps/prod/runtime/backup/old/documents/z.pdf", b"z", 0o644, T0);
        file(b, "x/README", b"r", 0o644, T0);
    });
    let w = world(&tar);
    let report = verified(&w.archive);
    let layout = report.layout.clone().unwrap();
    assert_eq!(layout.prefix.as_deref(), Some("x/apps/prod/web/"));
    assert!(layout.usable, "{layout:?}");
    assert_eq!((layout.files, layout.bytes, layout.skipped), (3, 3, 3));
    assert_eq!(
        report.warnings,
        vec![
            "3 entries lie outside 'x/apps/prod/web/documents', 'x/apps/prod/web/pictures' (the media folders under \
             'x/apps/prod/web/'); the restore ignores them"
                .to_string()
        ]
    );
    let plan = media_plan(&details(&report)).unwrap();
    let s = extract_media_under(
        &w.archive,
        &w.staging,
        &media_dirs(),
        &plan.strip,
        &Silent,
        &Cancel::new(),
    )
    .unwrap();
    assert_eq!(s.files, plan.files);
    assert_eq!((s.symlinks, s.hard_links, s.skipped_count), (1, 1, 3));
    assert_eq!(
        s.skipped,
        vec![
            "x/apps/prod/web/index.php".to_string(),
            "x/apps/prod/runtime".into(),
            "x/README".into()
        ]
    );
    assert_eq!(fs::read(w.staging.join("pictures/dur")).unwrap(), b"pp");
    assert_eq!(fs::read(w.staging.join("pictures/lien")).unwrap(), b"pp");
    assert_eq!(count_tree(&w.staging).unwrap(), s.tree_count());
}

// Guards "would leave the standby without media": no media folder at all is refused by the plan and by the
// extractor alike, naming what the archive holds.
#[test]
fn an_archive_without_media_folders_is_refused_for_a_restore() {
    let w = world(&[]);
    site_web(&w.root.join("site"));
    system_tar(&w.root.join("site"), &w.archive, &["web/config", "web/index.php"]);

    let report = verified(&w.archive);
    let layout = report.layout.clone().unwrap();
    assert_eq!((layout.prefix.as_deref(), layout.usable), (None, false));
    let refusal = layout.refusal.clone().unwrap();
    assert!(
        refusal.contains("holds no 'documents' or 'pictures' folder"),
        "{refusal}"
    );
    assert!(refusal.contains("its top level holds 'web'"), "{refusal}");
    assert!(refusal.contains("would leave the standby without media"), "{refusal}");
    assert_eq!(report.warnings, vec![refusal.clone()]);
    let why = media_plan(&details(&report)).unwrap_err();
    assert!(why.contains("cannot be restored") && why.contains(&refusal), "{why}");

    let e = w.extract().unwrap_err();
    assert!(matches!(e, MediaError::NoMedia { .. }), "{e:?}");
    assert!(e.to_string().contains("'web'"), "{e}");
}

#[test]
fn media_folders_in_several_places_or_empty_are_refused() {
    let w = world(&tar_bytes(|b| {
        file(b, "a/documents/x.pdf", b"x", 0o644, T0);
        file(b, "b/pictures/y.jpg", b"y", 0o644, T0);
    }));
    let layout = verified(&w.archive).layout.unwrap();
    assert!(!layout.usable);
    let refusal = layout.refusal.unwrap();
    assert!(refusal.contains("several places ('a/', 'b/')"), "{refusal}");

    let w = world(&tar_bytes(|b| {
        dir(b, "web/documents", 0o755, T0);
        dir(b, "web/pictures/vide", 0o755, T0);
    }));
    let report = verified(&w.archive);
    let refusal = report.layout.unwrap().refusal.unwrap();
    assert!(
        refusal.contains("media folders ('web/documents', 'web/pictures') hold no files"),
        "{refusal}"
    );
    let e = extract_media_under(&w.archive, &w.staging, &media_dirs(), "web/", &Silent, &Cancel::new()).unwrap_err();
    assert!(matches!(e, MediaError::NoMedia { .. }), "{e:?}");
}

// Guards the preflight against a remembered verdict that says nothing of the layout.
#[test]
fn a_verification_without_layout_asks_for_a_new_one() {
    let why = media_plan(&serde_json::json!({"path": "/b/media.taz", "verdict": "ok"})).unwrap_err();
    assert!(why.contains("secours verify --force"), "{why}");
}

// ---------------------------------------------------------------------------------------------------------
// Archives made by macOS's own tar.

const AD_MAGIC: [u8; 4] = [0, 5, 0x16, 7];

/// AppleDouble data as macOS lays it out: the Finder-info entry (id 9) holding an ATTR block.
fn apple_double(attrs: &[(&str, &[u8])]) -> Vec<u8> {
    let mut d = AD_MAGIC.to_vec();
    d.extend_from_slice(&0x0002_0000u32.to_be_bytes());
    d.extend_from_slice(b"Mac OS X        ");
    d.extend_from_slice(&2u16.to_be_bytes());
    d.extend_from_slice(&[0; 24]); // entry table, filled in below
    d.extend_from_slice(&[0; 34]); // Finder info and padding
    let header = d.len();
    d.extend_from_slice(b"ATTR");
    d.extend_from_slice(&[0; 28]);
    d.extend_from_slice(&0u16.to_be_bytes());
    d.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    let mut entries = Vec::new();
    for (name, _) in attrs {
        entries.push(d.len());
        d.extend_from_slice(&[0; 10]);
        d.push(name.len() as u8 + 1);
        d.extend_from_slice(name.as_bytes());
        d.push(0);
        while d.len() % 4 != 0 {
            d.push(0);
        }
    }
    for ((_, value), at) in attrs.iter().zip(entries) {
        let offset = d.len() as u32;
        d[at..at + 4].copy_from_slice(&offset.to_be_bytes());
        d[at + 4..at + 8].copy_from_slice(&(value.len() as u32).to_be_bytes());
        d.extend_from_slice(value);
    }
    let total = d.len() as u32;
    d[header + 8..header + 12].copy_from_slice(&total.to_be_bytes());
    d[26..30].copy_from_slice(&9u32.to_be_bytes());
    d[30..34].copy_from_slice(&50u32.to_be_bytes());
    d[34..38].copy_from_slice(&(total - 50).to_be_bytes());
    d[38..42].copy_from_slice(&2u32.to_be_bytes());
    d[42..46].copy_from_slice(&total.to_be_bytes());
    d
}

fn mac_apple_double() -> Vec<u8> {
    apple_double(&[
        ("com.apple.metadata:_kMDItemUserTags", b"tags"),
        (QUARANTINE, b"0081;5f5e1000;Safari;"),
        ("com.apple.lastuseddate#PS", b"12345678"),
    ])
}

/// What `tar czf media.taz documents pictures` makes on a Mac: AppleDouble entries before the files and
/// folders they describe, PAX xattr keys (one of them the quarantine), and a user's file that merely has
/// a `._` name.
fn mac_tar() -> Vec<u8> {
    tar_bytes(|b| {
        file(b, "._documents", &mac_apple_double(), 0o644, T0);
        dir(b, "documents", 0o755, T0);
        file(b, "documents/._facture 2024.pdf", &mac_apple_double(), 0o644, T0);
        pax(
            b,
            &[
                ("LIBARCHIVE.xattr.com.apple.quarantine", b"MDA4MTs1ZjVlMTAwMDtTYWZhcmk7"),
                (
                    "LIBARCHIVE.xattr.com.apple.metadata%3AkMDItemWhereFroms",
                    b"aHR0cDovL3g=",
                ),
                ("SCHILY.xattr.com.apple.metadata:kMDItemWhereFroms", b"http://x"),
            ],
        );
        file(b, "documents/facture 2024.pdf", b"%PDF-1.7 facture", 0o644, T0);
        file(b, "documents/._notes.txt", b"not AppleDouble, a file", 0o644, T0);
        dir(b, "pictures", 0o755, T0);
        file(b, "pictures/photo.jpg", b"jpeg", 0o644, T0);
        // AppleDouble after its file (another tar's order) and for a file that is not there.
        file(b, "pictures/._photo.jpg", &mac_apple_double(), 0o644, T0);
        file(b, "pictures/._gone.jpg", &mac_apple_double(), 0o644, T0);
    })
}

/// The extended attributes of `path` (not following links), minus the system's own (SELinux labels…).
fn user_xattrs(path: &Path) -> Vec<String> {
    let mut buf = vec![0u8; 4096];
    let n = rustix::fs::llistxattr(path, &mut buf[..]).unwrap_or(0);
    buf[..n]
        .split(|&b| b == 0)
        .filter(|n| !n.is_empty())
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .filter(|n| !n.starts_with("security.") && !n.starts_with("system."))
        .collect()
}

// Guards the junk `._…` files a Mac's archive left in the standby's web folders, and the quarantine
// attribute a Mac would otherwise put back.
#[test]
fn a_macos_archive_leaves_no_apple_double_files_and_counts_agree() {
    let w = world(&mac_tar());
    let report = verified(&w.archive);
    let layout = report.layout.clone().unwrap();
    assert_eq!((layout.apple_double, layout.files, layout.skipped), (4, 3, 0));
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(
        report.counts,
        Counts::Media {
            files: 3,
            folders: 2,
            bytes: 16 + 23 + 4
        }
    );

    let s = w.extract().unwrap();
    assert_eq!(
        files_below(&w.staging),
        vec![
            "documents/._notes.txt",
            "documents/facture 2024.pdf",
            "pictures/photo.jpg"
        ]
    );
    assert_eq!(
        fs::read(w.staging.join("documents/._notes.txt")).unwrap(),
        b"not AppleDouble, a file"
    );
    assert_eq!((s.files, s.apple_double, s.skipped_count), (3, 4, 0));
    assert_eq!(s.archive_counts(), report.counts);
    assert_eq!(s.files, layout.files);
    assert_eq!(count_tree(&w.staging).unwrap(), s.tree_count());

    if cfg!(target_os = "macos") {
        assert_eq!(s.xattrs, 2 + 2 + 1 + 2);
    } else {
        // Left out on Linux, as the manual 'tar xzf' there would leave them.
        assert_eq!(s.xattrs, 0);
        for p in all_entries(&w.staging) {
            assert_eq!(user_xattrs(&p), Vec::<String>::new(), "{}", p.display());
        }
    }
    // What a Mac would set: the two attributes, never the quarantine.
    assert_eq!(
        apple_double_xattrs(&mac_apple_double()).unwrap(),
        vec![
            Xattr {
                name: "com.apple.metadata:_kMDItemUserTags".into(),
                value: b"tags".to_vec()
            },
            Xattr {
                name: "com.apple.lastuseddate#PS".into(),
                value: b"12345678".to_vec()
            },
        ]
    );
}

// Guards the same decision in verify and extraction when a `._` entry is AppleDouble under a prefix
// (`web/._documents` describes the media folder `web/documents`).
#[test]
fn apple_double_entries_do_not_change_the_layout() {
    let w = world(&tar_bytes(|b| {
        file(b, "._web", &mac_apple_double(), 0o644, T0);
        file(b, "web/._documents", &mac_apple_double(), 0o644, T0);
        file(b, "web/documents/a.pdf", b"a", 0o644, T0);
    }));
    let report = verified(&w.archive);
    let layout = report.layout.unwrap();
    assert_eq!(layout.prefix.as_deref(), Some("web/"));
    assert_eq!(layout.top_level, vec!["web"]);
    assert_eq!((layout.files, layout.skipped, layout.apple_double), (1, 0, 2));
    let s = extract_media_under(&w.archive, &w.staging, &media_dirs(), "web/", &Silent, &Cancel::new()).unwrap();
    assert_eq!((s.files, s.skipped_count, s.apple_double), (1, 0, 2));
    assert_eq!(files_below(&w.staging), vec!["documents/a.pdf"]);
}

// ---------------------------------------------------------------------------------------------------------
// One reading: archives on which two tar readers could disagree are verified and extracted alike.

/// Verifies `tar` and extracts it in a fresh world.
fn verify_and_extract(tar: &[u8]) -> (FileReport, World, Result<ExtractSummary, MediaError>) {
    let w = world(tar);
    let report = verify_media(&w.archive, &media_dirs(), &Silent, &Cancel::new()).unwrap();
    let extracted = w.extract();
    (report, w, extracted)
}

/// Both accept the archive and count the same files and bytes; returns the world and the extraction.
fn both_accept(tar: &[u8]) -> (World, ExtractSummary) {
    let (report, w, extracted) = verify_and_extract(tar);
    assert_eq!(report.verdict, Verdict::Ok, "{report:#?}");
    let s = extracted.unwrap();
    let layout = report.layout.clone().unwrap();
    assert!(layout.usable, "{layout:#?}");
    assert_eq!((layout.files, layout.bytes), (s.files, s.bytes));
    assert_eq!(report.counts, s.archive_counts());
    (w, s)
}

/// Both refuse the archive for the same entry, with the same reason.
fn both_refuse(tar: &[u8], entry: &str, reason: &str) {
    let (report, w, extracted) = verify_and_extract(tar);
    let Verdict::Unsafe { entries } = &report.verdict else {
        panic!("expected unsafe, got {:?}", report.verdict)
    };
    assert_eq!(entries, &vec![format!("{entry}: {reason}")]);
    match extracted {
        Err(MediaError::Unsafe {
            entry: e, reason: r, ..
        }) => assert_eq!((e.as_str(), r.as_str()), (entry, reason)),
        other => panic!("expected Unsafe for '{entry}', got {other:?}"),
    }
    w.assert_nothing_outside();
}

// Guards a PAX `path` record that differs from the header's name field: both read the PAX name, so a
// harmless header name cannot hide a hostile path from the verification.
#[test]
fn a_pax_path_that_differs_from_the_header_name_is_read_alike() {
    let tar = tar_bytes(|b| {
        docs(b);
        pax_path(b, "documents/pax-name.txt");
        file(b, "documents/header-name.txt", b"pax", 0o644, T0);
    });
    let (w, _) = both_accept(&tar);
    assert_eq!(files_below(&w.staging), vec!["documents/pax-name.txt"]);

    let tar = tar_bytes(|b| {
        docs(b);
        pax_path(b, "../pax-evil");
        file(b, "documents/harmless.txt", b"evil", 0o644, T0);
    });
    both_refuse(&tar, "../pax-evil", "path goes up with '..'");
}

// Guards GNU long names (`././@LongLink` entries): both read the long name, whatever the header's name says,
// and both prefer a PAX path to it.
#[test]
fn a_gnu_long_name_is_read_alike() {
    let long = format!("documents/{}.txt", "x".repeat(150));
    let tar = tar_bytes(|b| {
        docs(b);
        file(b, &long, b"long", 0o644, T0);
    });
    assert!(
        tar.windows(13).any(|w| w == b"././@LongLink"),
        "the builder wrote a GNU long name"
    );
    let (w, _) = both_accept(&tar);
    assert_eq!(files_below(&w.staging), vec![long]);

    let tar = tar_bytes(|b| {
        docs(b);
        raw(b, EntryType::GNULongName, "././@LongLink", "", b"../long-evil\0");
        raw(b, EntryType::Regular, "documents/harmless.txt", "", b"evil");
    });
    both_refuse(&tar, "../long-evil", "path goes up with '..'");

    // Both a GNU long name and a PAX path: the `tar` crate took the long name, the verification the PAX path.
    let tar = tar_bytes(|b| {
        docs(b);
        pax_path(b, "../pax-wins");
        raw(
            b,
            EntryType::GNULongName,
            "././@LongLink",
            "",
            b"documents/long-name.txt\0",
        );
        raw(b, EntryType::Regular, "documents/harmless.txt", "", b"evil");
    });
    both_refuse(&tar, "../pax-wins", "path goes up with '..'");
}

/// A regular file whose header checksum is computed by `sum` over the header's bytes.
fn file_with_checksum(b: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8], sum: fn(&[u8]) -> i64) {
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o644);
    h.set_mtime(T0);
    h.set_size(data.len() as u64);
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    let bytes = h.as_mut_bytes();
    bytes[148..156].fill(b' ');
    let field = format!("{:06o}\0 ", sum(&bytes[..]));
    bytes[148..156].copy_from_slice(field.as_bytes());
    b.append(&h, data).unwrap();
}

// Guards a header checksum computed over signed bytes (old tars did; GNU tar and bsdtar accept it): a name
// with bytes above 127 makes it differ from the unsigned sum. The verification accepted it while the
// `tar` crate's extraction refused it; both accept it now, and both still refuse a wrong checksum.
#[test]
fn a_header_checksum_computed_over_signed_bytes_is_read_alike() {
    let signed = |h: &[u8]| h.iter().map(|&b| b as i8 as i64).sum();
    let name = "documents/\u{e9}t\u{e9}.txt";
    let tar = tar_bytes(|b| {
        docs(b);
        file_with_checksum(b, name, b"signed", signed);
    });
    let unsigned: i64 = tar[1024..1536].iter().map(|&b| b as i64).sum();
    assert_ne!(unsigned, signed(&tar[1024..1536]), "the two sums differ");
    let (w, _) = both_accept(&tar);
    assert_eq!(fs::read(w.staging.join(name)).unwrap(), b"signed");

    let wrong = |h: &[u8]| h.iter().map(|&b| b as i64).sum::<i64>() + 1;
    let tar = tar_bytes(|b| {
        docs(b);
        file_with_checksum(b, name, b"wrong", wrong);
    });
    let (report, _w, extracted) = verify_and_extract(&tar);
    let Verdict::Corrupt { reason, .. } = &report.verdict else {
        panic!("{:?}", report.verdict)
    };
    match extracted {
        Err(MediaError::Corrupt { reason: r, .. }) => assert_eq!(&r, reason),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert!(reason.contains("bad tar header checksum"), "{reason}");
}

// Guards sizes written in GNU base-256 (the tar crate writes them for files of 8 GiB and more; here a
// small one by hand): both read the same size, and so does the `tar` crate.
#[test]
fn a_base256_size_is_read_alike() {
    let tar = tar_bytes(|b| {
        docs(b);
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_mtime(T0);
        h.set_path("documents/big.bin").unwrap();
        let mut size = [0u8; 12];
        size[0] = 0x80;
        size[11] = 5;
        h.as_old_mut().size = size;
        h.set_cksum();
        b.append(&h, &b"12345"[..]).unwrap();
    });
    let mut theirs = tar::Archive::new(&tar[..]);
    let sizes: Vec<u64> = theirs.entries().unwrap().map(|e| e.unwrap().size()).collect();
    assert_eq!(sizes, vec![0, 0, 5]);
    let (w, s) = both_accept(&tar);
    assert_eq!(fs::read(w.staging.join("documents/big.bin")).unwrap(), b"12345");
    assert_eq!(s.bytes, 5);
}

// Guards a PAX `size` record: it overrides the header's size for both (a header that says 0 would
// otherwise make the data look like the next header).
#[test]
fn a_pax_size_overrides_the_header_size_alike() {
    let tar = tar_bytes(|b| {
        docs(b);
        pax(b, &[("size", b"11")]);
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_mtime(T0);
        h.set_path("documents/sized.txt").unwrap();
        h.set_size(0);
        h.set_cksum();
        b.append(&h, &b""[..]).unwrap();
        let out = b.get_mut();
        out.extend_from_slice(b"hello world");
        out.resize(out.len().div_ceil(512) * 512, 0);
        file(b, "documents/after.txt", b"after", 0o644, T0);
    });
    let (w, s) = both_accept(&tar);
    assert_eq!(fs::read(w.staging.join("documents/sized.txt")).unwrap(), b"hello world");
    assert_eq!(fs::read(w.staging.join("documents/after.txt")).unwrap(), b"after");
    assert_eq!(s.files, 2);
}

// ---------------------------------------------------------------------------------------------------------
// The staged tree, safe to hand to root's chown.

#[test]
fn modes_are_normalised() {
    assert_eq!(
        (file_mode(0o666), file_mode(0o777), file_mode(0o640)),
        (0o644, 0o755, 0o640)
    );
    assert_eq!(
        (file_mode(0o4755), file_mode(0o444), file_mode(0o000)),
        (0o755, 0o644, 0o600)
    );
    assert_eq!((file_mode(0o611), file_mode(0o2700)), (0o600, 0o700));
    assert_eq!(
        (folder_mode(0o777), folder_mode(0o700), folder_mode(0o1777)),
        (0o755, 0o700, 0o755)
    );
    assert_eq!((folder_mode(0o555), folder_mode(0o2750)), (0o755, 0o750));

    let w = world(&tar_bytes(|b| {
        dir(b, "documents", 0o777, T0);
        dir(b, "documents/partagé", 0o777, T0);
        file(b, "documents/partagé/a.pdf", b"a", 0o666, T0);
        file(b, "documents/run.sh", b"#!", 0o777, T0);
        file(b, "documents/ro.txt", b"ro", 0o444, T0);
        dir(b, "pictures", 0o1777, T0);
    }));
    w.extract().unwrap();
    let mode = |p: &str| fs::symlink_metadata(w.staging.join(p)).unwrap().mode() & 0o7777;
    assert_eq!(mode(""), 0o700);
    assert_eq!(mode("documents"), 0o755);
    assert_eq!(mode("documents/partagé"), 0o755);
    assert_eq!(mode("documents/partagé/a.pdf"), 0o644);
    assert_eq!(mode("documents/run.sh"), 0o755);
    assert_eq!(mode("documents/ro.txt"), 0o644);
    assert_eq!(mode("pictures"), 0o755);
    check_private_tree(&w.staging).unwrap();
}

// Guards the privileged chown against being led onto a file outside the staged tree through a second name.
#[test]
fn check_private_tree_refuses_a_planted_hard_link_and_shared_writes() {
    let w = world(&normal_tar());
    let s = w.extract().unwrap();
    assert_eq!(check_private_tree(&w.staging).unwrap(), s.tree_count());

    // A second name for a staged file, planted from outside.
    let planted = w.root.join("outside/planted");
    fs::hard_link(w.staging.join("documents/readme.txt"), &planted).unwrap();
    let e = check_private_tree(&w.staging).unwrap_err();
    match &e {
        MediaError::NotPrivate { path, reason, .. } => {
            assert_eq!(path, &w.staging.join("documents/readme.txt"));
            assert!(reason.contains("2 names (hard links)"), "{reason}");
        }
        other => panic!("expected NotPrivate, got {other:?}"),
    }
    assert!(e.to_string().contains("Nothing was given away"), "{e}");
    fs::remove_file(&planted).unwrap();
    check_private_tree(&w.staging).unwrap();

    // A folder others may write to.
    use std::os::unix::fs::PermissionsExt;
    let f = w.staging.join("pictures/été");
    fs::set_permissions(&f, fs::Permissions::from_mode(0o777)).unwrap();
    let e = check_private_tree(&w.staging).unwrap_err();
    assert!(e.to_string().contains("may be changed by everyone (mode 777)"), "{e}");
    fs::set_permissions(&f, fs::Permissions::from_mode(0o775)).unwrap();
    assert!(
        check_private_tree(&w.staging)
            .unwrap_err()
            .to_string()
            .contains("its group")
    );
    fs::set_permissions(&f, fs::Permissions::from_mode(0o755)).unwrap();

    // A link to a folder outside is not followed (and so not judged by what it leads to).
    std::os::unix::fs::symlink(&w.sentinel, w.staging.join("documents/dehors")).unwrap();
    fs::set_permissions(&w.sentinel, fs::Permissions::from_mode(0o777)).unwrap();
    check_private_tree(&w.staging).unwrap();

    // An entry someone else owns (only root can make one).
    if is_root() {
        std::os::unix::fs::lchown(w.staging.join("documents/readme.txt"), Some(1), Some(1)).unwrap();
        let e = check_private_tree(&w.staging).unwrap_err();
        assert!(e.to_string().contains("belongs to user 1"), "{e}");
    }
}

// ---------------------------------------------------------------------------------------------------------
// Ownership (the privileged path itself is tested in tests/privileged.rs).

fn is_root() -> bool {
    let root = effective_uid().unwrap() == 0;
    if !root {
        eprintln!("skipped: changing owners needs root (CI runs the tests as root)");
    }
    root
}

#[test]
fn a_missing_user_is_named_with_what_to_do() {
    let e = resolve_owner("secours-no-such-user:daemon").unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("'secours-no-such-user'"), "{msg}");
    assert!(msg.contains("[restore] owner"), "{msg}");
    let e = resolve_owner("daemon:secours-no-such-group").unwrap_err();
    assert!(matches!(e, OwnerError::NoGroup { .. }), "{e:?}");
}
