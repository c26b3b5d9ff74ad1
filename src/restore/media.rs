//! Step 4 of a restore: extracting `media.taz` into a fresh staging folder, safely ("Décompresser le fichier
//! `media.taz`" in the seed procedure, but never into the live `web/` folder).
//!
//! Guarantees:
//! - Nothing is ever written outside `staging`, and no link is ever followed while writing. Entries are
//!   written by this module, not by the `tar` crate: folders are made one component at a time and
//!   every existing component must be a real folder (never a symbolic link); files are created with
//!   `O_CREAT|O_EXCL|O_NOFOLLOW`; an existing name is only ever unlinked, never opened.
//! - Refused, stopping at once with [`MediaError::Unsafe`]: absolute names, `..` components, devices and
//!   FIFOs (in any entry: [`crate::files::archive::refusal`], the list [`crate::backup::verify`] uses); and, among the extracted entries, symbolic links
//!   that are absolute or lead out of the media folders (checked on paper when the entry is read, and again
//!   at the end through the links actually on disk, so a chain of links cannot escape either), hard links to
//!   anything but a regular file extracted before them, and paths that go through a symbolic link or a file.
//!   The caller removes `staging` after any error but [`MediaError::StagingExists`] (then nothing was
//!   created, and the folder there is not ours).
//! - Only the media folders named in `media_dirs` are extracted, found under the prefix `strip` (`""` or
//!   `"./"`: at the top; `"web/"`, `"x/apps/prod/web/"`: the archive was made from higher up, see
//!   [`crate::backup::verify::MediaLayout`] and [`media_plan`]); the prefix is removed, so `web/documents/a` lands
//!   as `documents/a`. The folders that lead to the prefix (`./`, `web/`) are not extracted; every other
//!   entry is skipped and listed. A media folder missing from the archive is created empty, because the
//!   application expects it; but an archive from which no file at all lands in the media folders is refused
//!   ([`MediaError::NoMedia`]): it would leave the standby without media.
//! - macOS AppleDouble entries (`._name` whose data starts with `00 05 16 07`) are never written as files:
//!   on macOS their extended attributes (and those of PAX `LIBARCHIVE.xattr.*` / `SCHILY.xattr.*` keys) are
//!   set on the file or folder they describe, as the Mac's own `tar` does, the quarantine attribute left
//!   off; elsewhere they are left out (see [`crate::files::mac_metadata`]). They are counted apart
//!   ([`ExtractSummary::apple_double`]), never as files, as [`crate::backup::verify`] does.
//! - The archive is read once, front to back, by the same reading as the verification's: the gzip layer is
//!   [`crate::backup::verify`]'s strict reader (CRC and length of every member, no trailing garbage) and the
//!   tar stream is read by [`crate::files::archive`] (same names, kinds, sizes, links, PAX records, same
//!   faults; it must end with its two zero blocks), so a truncated archive is [`MediaError::Corrupt`], never a
//!   silently short extraction, and what the verification counted is what is extracted. Memory stays constant
//!   apart from one small record per folder (modes and times of folders are set at the end, deepest first,
//!   so a read-only folder can still be filled) and the attributes of AppleDouble entries whose file is not
//!   extracted yet (the Mac's `tar` writes `._x` right before `x`, so they are few at any time).
//! - The staged tree is safe to hand to root's `chown`: `staging` itself is made with mode 0700; modes from
//!   the archive are normalised ([`file_mode`], [`folder_mode`]: the owner keeps `rw` (files) or `rwx`
//!   (folders), group and others get at most `r-x`, never `w`, and never setuid, setgid or sticky);
//!   hard-link entries are extracted as independent copies of the earlier file, so every staged regular
//!   file has exactly one link. [`check_private_tree`] proves all this (no link followed, one link per
//!   file, every entry ours, nothing group- or world-writable) right before the tree is given away.
//!   Modification times of files and folders are restored (not those of symbolic links). Owners are not:
//!   see [`super::owner`].
//! - The [`ExtractSummary`] describes what is in `staging`, so it equals [`count_tree`](crate::files::tree::count_tree) of `staging`
//!   right after the extraction, and its `files` are the files the verification's layout promised.
//! - Nothing is synced to disk while writing: the caller makes the tree durable once with
//!   [`crate::files::durable::sync_tree`], before the swap.

use std::collections::{HashMap, HashSet, VecDeque};
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::files::tree::TreeCount;
use serde::Serialize;

use crate::backup::verify::{At, Counts, GzFault, GzSource, MediaLayout, Stream};
use crate::files::archive::{self, Entry, Reader};
use crate::files::mac_metadata::{self, Xattr};
use crate::progress::{Cancel, Progress, Update};

/// The progress step name.
pub const STEP: &str = "media";
/// Copy buffer: big enough that per-call overhead vanishes.
const BUF: usize = 1 << 20;
/// Progress is reported at most once per this many compressed bytes.
const PROGRESS_EVERY: u64 = 64 * 1024;
/// How many skipped top-level names are listed before the rest are only counted.
const MAX_LISTED: usize = 20;
/// Like the kernel's `MAXSYMLINKS`: a longer chain of links is refused.
const MAX_LINK_HOPS: usize = 40;
/// Mode of folders that have no entry of their own.
const FOLDER_MODE: u32 = 0o755;
/// Mode of `staging` itself: nobody else may add, remove or rename anything in it before root's `chown`.
const STAGING_MODE: u32 = 0o700;
/// The largest AppleDouble entry whose attributes are kept (a resource fork can be large; the rest is
/// read past and left out).
const MAX_APPLE_DOUBLE: u64 = 16 << 20;

/// What [`extract_media_under`] put in `staging`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExtractSummary {
    /// Regular files, hard-link copies included.
    pub files: u64,
    /// Folders below `staging`, including [`ExtractSummary::implied_folders`].
    pub folders: u64,
    pub symlinks: u64,
    /// Bytes of file data on disk (a hard-link copy counts its own bytes).
    pub bytes: u64,
    /// How many of `files` came from hard-link entries (each an independent copy).
    pub hard_links: u64,
    /// How many of `bytes` are those copies' (the archive stores them once).
    pub hard_link_bytes: u64,
    /// macOS AppleDouble entries (`._name`): metadata, not extracted as files.
    pub apple_double: u64,
    /// Extended attributes set from them and from PAX keys (macOS only; always 0 elsewhere).
    pub xattrs: u64,
    /// How many of `folders` have no entry of their own in the archive: parents of deeper entries, and the
    /// empty folders made for `missing_dirs`.
    pub implied_folders: u64,
    /// Skipped names (outside the media folders: `index.php`, or `web/config` under the prefix `web/`), the
    /// first 20.
    pub skipped: Vec<String>,
    /// How many entries were skipped in all.
    pub skipped_count: u64,
    /// Media folders absent from the archive, created empty.
    pub missing_dirs: Vec<String>,
}

impl ExtractSummary {
    /// The counts [`count_tree`](crate::files::tree::count_tree) should find in `staging` (or in the media folders once swapped in).
    pub fn tree_count(&self) -> TreeCount {
        TreeCount {
            files: self.files,
            folders: self.folders,
            symlinks: self.symlinks,
            bytes: self.bytes,
        }
    }

    /// The counts in [`crate::backup::verify`]'s convention (entries of the archive: regular files and hard links,
    /// folder entries, data bytes stored once). They equal the verify report's counts when nothing was
    /// skipped and no name appears twice in the archive.
    pub fn archive_counts(&self) -> Counts {
        Counts::Media {
            files: self.files,
            folders: self.folders.saturating_sub(self.implied_folders),
            bytes: self.bytes.saturating_sub(self.hard_link_bytes),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error(
        "cannot open the media archive '{archive}': {source}. Check that the file exists and that Secours may read it."
    )]
    Open { archive: PathBuf, source: io::Error },
    #[error("cannot read the media archive '{archive}': {source}. Check the disk that holds it, then restore again.")]
    Read { archive: PathBuf, source: io::Error },
    #[error(
        "the media archive '{archive}' is damaged{}: {reason}. Check it with 'secours verify' and restore from an \
         older backup.",
        located(.entry, .at)
    )]
    Corrupt {
        archive: PathBuf,
        /// The entry being read, when the fault is inside one.
        entry: Option<String>,
        at: At,
        reason: String,
    },
    #[error(
        "the media archive '{archive}' holds the unsafe entry '{entry}' ({reason}); the restore was stopped and \
         nothing was written outside the staging folder. Restore from another backup, or rebuild media.taz with \
         'tar czf media.taz documents pictures' in the web folder."
    )]
    Unsafe {
        archive: PathBuf,
        entry: String,
        reason: String,
    },
    #[error(
        "cannot write '{path}': {source}. Check that its folder exists, that the disk has free space for the \
         whole media (the size of the uncompressed archive) and that Secours may write there."
    )]
    Write { path: PathBuf, source: io::Error },
    #[error(
        "the staging folder '{path}' already exists, so nothing was extracted. An earlier restore may have been \
         interrupted: move that folder aside or delete it, then restore again."
    )]
    StagingExists { path: PathBuf },
    #[error(
        "the extraction of '{archive}' was cancelled; the staging folder is incomplete and must not be used. \
         Start the restore again when ready."
    )]
    Cancelled { archive: PathBuf },
    #[error(
        "the media archive '{archive}' holds no file under {}{}: restoring it would leave the standby without \
         media, so the restore stopped before anything was replaced. Check it with 'secours verify'; the hourly \
         backup should run 'tar czf media.taz documents pictures' in the web folder.",
        expected.iter().map(|e| format!("'{e}'")).collect::<Vec<_>>().join(" or "),
        held(.skipped, *.skipped_count)
    )]
    NoMedia {
        archive: PathBuf,
        /// The media folders looked for, with the prefix (`web/documents`).
        expected: Vec<String>,
        /// What the archive held instead (the first names skipped).
        skipped: Vec<String>,
        skipped_count: u64,
    },
    #[error(
        "the staged media in '{root}' cannot be handed to the administrator's chown: '{path}' {reason}. Nothing \
         was given away; restore again (the staging folder is made anew), and if this comes back, find who else \
         writes beside the web folder."
    )]
    NotPrivate {
        root: PathBuf,
        path: PathBuf,
        reason: String,
    },
}

fn held(skipped: &[String], count: u64) -> String {
    if count == 0 {
        return " (the archive holds nothing else either)".to_owned();
    }
    let names = skipped.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ");
    format!(" (it holds {count} other entries: {names})")
}

fn located(entry: &Option<String>, at: &At) -> String {
    let stream = match at.stream {
        Stream::Compressed => "compressed file",
        Stream::Decompressed => "tar stream",
    };
    match entry {
        Some(e) => format!(" in entry '{e}' (byte {} of the {stream})", at.offset),
        None => format!(" at byte {} of the {stream}", at.offset),
    }
}

fn write_err(path: &Path) -> impl FnOnce(io::Error) -> MediaError + use<> {
    let path = path.to_path_buf();
    move |source| MediaError::Write { path, source }
}

/// Extracts the media folders found at the top of `archive` (no prefix); see [`extract_media_under`].
pub fn extract_media(
    archive: &Path,
    staging: &Path,
    media_dirs: &[String],
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<ExtractSummary, MediaError> {
    extract_media_under(archive, staging, media_dirs, "", progress, cancel)
}

/// Extracts the media folders of `archive` (a tar.gz such as `media.taz`), found under the prefix `strip`
/// (the verification's [`MediaPlan::strip`]: `""`, `"./"`, `"web/"`…), into `staging`, which must not exist
/// yet (its parent must). See the module documentation for what is guaranteed.
pub fn extract_media_under(
    archive: &Path,
    staging: &Path,
    media_dirs: &[String],
    strip: &str,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<ExtractSummary, MediaError> {
    let open_err = |source| MediaError::Open {
        archive: archive.to_path_buf(),
        source,
    };
    let strip = entry_components(strip.as_bytes()).map_err(|reason| MediaError::Unsafe {
        archive: archive.to_path_buf(),
        entry: strip.to_owned(),
        reason: format!("the prefix to strip is not a plain folder path: {reason}"),
    })?;
    let file = File::open(archive).map_err(open_err)?;
    let total = file.metadata().map_err(open_err)?.len();
    match fs::DirBuilder::new().mode(STAGING_MODE).create(staging) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(MediaError::StagingExists {
                path: staging.to_path_buf(),
            });
        }
        Err(e) => return Err(write_err(staging)(e)),
    }
    // Private to this user until root's chown; the staged folders are moved out of it into web/.
    set_folder_meta(staging, STAGING_MODE, None).map_err(write_err(staging))?;

    let media: Vec<&str> = media_dirs
        .iter()
        .map(String::as_str)
        .filter(|d| {
            // The configuration checks this too; a name that is not one plain folder name could point anywhere.
            let plain = !d.is_empty() && *d != "." && *d != ".." && !d.contains('/') && !d.contains('\0');
            if !plain {
                log::warn!("ignoring the media folder name '{d}': it is not a plain folder name");
            }
            plain
        })
        .collect();
    let mut x = Extractor {
        archive,
        staging,
        media,
        strip,
        progress,
        cancel,
        total,
        src: Reader::new(GzSource::new(file)),
        summary: ExtractSummary::default(),
        pending_xattrs: HashMap::new(),
        entry: None,
        dirs: Vec::new(),
        implied: HashSet::new(),
        links: Vec::new(),
        last_parent: None,
        next_report: 0,
        buf: vec![0u8; BUF],
    };
    x.run()?;
    progress.update(Update {
        step: STEP,
        done: x.src.get_ref().compressed_offset(),
        total: Some(total),
        detail: None,
    });
    Ok(x.summary)
}

/// Checks a staged tree right before it is handed to root's `chown -R`, without following any link: `root`
/// and everything below it must be owned by the user running Secours and writable by nobody else (no
/// group- or world-writable entry, no setuid or setgid), every regular file must have exactly one link (a
/// second name, possibly planted outside the tree, would let the `chown` reach a file outside it), and
/// nothing but folders, regular files and symbolic links may be there. Returns what it counted.
pub fn check_private_tree(root: &Path) -> Result<TreeCount, MediaError> {
    let refuse = |path: &Path, reason: String| MediaError::NotPrivate {
        root: root.to_path_buf(),
        path: path.to_path_buf(),
        reason,
    };
    let uid = super::owner::effective_uid().map_err(|e| {
        refuse(
            root,
            format!("cannot be checked: the user running Secours is unknown ({e})"),
        )
    })?;
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |e: io::Error| MediaError::NotPrivate {
            root: root.to_path_buf(),
            path,
            reason: format!("cannot be read ({e})"),
        }
    };
    let judge = |path: &Path, meta: &fs::Metadata| -> Result<(), MediaError> {
        if meta.uid() != uid {
            return Err(refuse(
                path,
                format!(
                    "belongs to user {}, not to the user running Secours ({uid})",
                    meta.uid()
                ),
            ));
        }
        if meta.file_type().is_symlink() {
            return Ok(()); // A link's own mode means nothing, and it is never followed.
        }
        let mode = meta.mode() & 0o7777;
        if mode & 0o022 != 0 {
            let who = if mode & 0o002 != 0 { "everyone" } else { "its group" };
            return Err(refuse(path, format!("may be changed by {who} (mode {mode:o})")));
        }
        if mode & 0o6000 != 0 {
            return Err(refuse(path, format!("is setuid or setgid (mode {mode:o})")));
        }
        Ok(())
    };
    let top = fs::symlink_metadata(root).map_err(io_err(root))?;
    if !top.is_dir() {
        return Err(refuse(root, "is not a folder (or is a symbolic link)".to_owned()));
    }
    judge(root, &top)?;
    let mut count = TreeCount::default();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).map_err(io_err(&dir))? {
            let entry = entry.map_err(io_err(&dir))?;
            let path = entry.path();
            // `DirEntry::metadata` does not follow a link.
            let meta = entry.metadata().map_err(io_err(&path))?;
            judge(&path, &meta)?;
            let kind = meta.file_type();
            if kind.is_dir() {
                count.folders += 1;
                stack.push(path);
            } else if kind.is_symlink() {
                count.symlinks += 1;
            } else if kind.is_file() {
                if meta.nlink() != 1 {
                    return Err(refuse(
                        &path,
                        format!(
                            "has {} names (hard links): another name, maybe outside the staged tree, shares its data",
                            meta.nlink()
                        ),
                    ));
                }
                count.files += 1;
                count.bytes += meta.len();
            } else {
                return Err(refuse(
                    &path,
                    "is neither a folder, a file nor a symbolic link".to_owned(),
                ));
            }
        }
    }
    Ok(count)
}

/// What a restore will take from a verified media archive: its preflight's view of
/// [`crate::backup::verify::MediaLayout`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MediaPlan {
    /// The prefix to give [`extract_media_under`]: `""` or `"./"` when the media folders are at the top of
    /// the archive, `"web/"`… when it was made from higher up.
    pub strip: String,
    /// Files that will be extracted (and that the check will find in the media folders).
    pub files: u64,
    /// Bytes of file data stored in the archive for them.
    pub bytes: u64,
    pub layout: MediaLayout,
}

impl MediaPlan {
    /// True when a prefix will be stripped (the plan should say so).
    pub fn strips(&self) -> bool {
        !self.layout.at_top()
    }

    /// One sentence for the plan: where the media folders are, how many files will be restored.
    pub fn describe(&self) -> String {
        self.layout.describe()
    }
}

/// Turns the media file's stored verification details (`FileVerdict::details`) into what the restore will
/// extract, or the sentence that refuses the restore (for the preflight's list of problems).
pub fn media_plan(details: &serde_json::Value) -> Result<MediaPlan, String> {
    let path = details.get("path").and_then(|p| p.as_str()).unwrap_or("media.taz");
    let Some(layout) = MediaLayout::from_details(details) else {
        return Err(format!(
            "the verification of '{path}' does not say where its media folders are (it was recorded by an older \
             Secours). Verify it again with 'secours verify --force', then restore."
        ));
    };
    match (&layout.prefix, layout.usable) {
        (Some(prefix), true) => Ok(MediaPlan {
            strip: prefix.clone(),
            files: layout.files,
            bytes: layout.bytes,
            layout,
        }),
        _ => Err(format!(
            "'{path}' cannot be restored: {}",
            layout.refusal.as_deref().unwrap_or("no media folder was found in it")
        )),
    }
}

// ---------------------------------------------------------------------------------------------------------
// Extracting.

/// A folder's final mode and time, applied at the end.
struct FolderMeta {
    path: PathBuf,
    depth: usize,
    mode: u32,
    mtime: Option<SystemTime>,
}

struct Extractor<'a> {
    archive: &'a Path,
    staging: &'a Path,
    media: Vec<&'a str>,
    /// The components of the prefix under which the media folders sit.
    strip: Vec<Vec<u8>>,
    progress: &'a dyn Progress,
    cancel: &'a Cancel,
    total: u64,
    /// The archive, read once through the reading the verification uses.
    src: Reader<GzSource<File>>,
    summary: ExtractSummary,
    /// Attributes from AppleDouble entries for names (below staging) not extracted yet.
    pending_xattrs: HashMap<PathBuf, Vec<Xattr>>,
    /// The entry being extracted, for messages and progress.
    entry: Option<String>,
    dirs: Vec<FolderMeta>,
    /// Folders made without an entry of their own (so far).
    implied: HashSet<PathBuf>,
    /// Symbolic links made (path below staging, entry name), checked again at the end.
    links: Vec<(PathBuf, String)>,
    /// The last folder (below staging) known to be a chain of real folders; folders are never removed or
    /// replaced during an extraction, so this stays true.
    last_parent: Option<PathBuf>,
    next_report: u64,
    buf: Vec<u8>,
}

impl Extractor<'_> {
    fn run(&mut self) -> Result<(), MediaError> {
        loop {
            self.check_cancel()?;
            // The reading also checks the end: two zero blocks, then nothing but zeros.
            match self.src.next_entry() {
                Ok(Some(entry)) => self.extract_entry(entry)?,
                Ok(None) => break,
                Err(e) => return Err(self.read_failed(e)),
            }
        }
        self.entry = None;
        self.make_missing_dirs()?;
        self.recheck_links()?;
        if self.summary.files == 0 {
            let shown = String::from_utf8_lossy(&self.strip.iter().fold(Vec::new(), |mut p, c| {
                p.extend_from_slice(c);
                p.push(b'/');
                p
            }))
            .into_owned();
            return Err(MediaError::NoMedia {
                archive: self.archive.to_path_buf(),
                expected: self.media.iter().map(|m| format!("{shown}{m}")).collect(),
                skipped: self.summary.skipped.clone(),
                skipped_count: self.summary.skipped_count,
            });
        }
        self.apply_pending_xattrs();
        self.apply_folder_meta()
    }

    fn extract_entry(&mut self, entry: Entry) -> Result<(), MediaError> {
        let kind = entry.kind;
        self.entry = Some(entry.name_lossy());
        self.tick();
        // The archive-wide rule, the verification's own (`verify` lists what it refuses), on every entry.
        if let Some(why) = entry.refusal() {
            return Err(self.unsafe_entry(why));
        }
        let comps = entry_components(&entry.name).map_err(|why| self.unsafe_entry(why))?;
        let link = entry.link.clone();
        // AppleDouble: metadata for another name, never a file (decided by the reading, as for `verify`).
        if entry.apple_double {
            return self.apple_double(&entry);
        }
        let comps = match self.place(&comps) {
            Place::Leading => return Ok(()), // `./`, `web/`: staging stands for them.
            Place::Outside(shown) => {
                self.skip(shown);
                return Ok(());
            }
            Place::Media(rel) => rel,
        };
        let rel: PathBuf = comps.iter().map(|c| OsStr::from_bytes(c)).collect();
        let is_folder = matches!(kind, b'5' | b'D');
        if comps.len() == 1 && !is_folder && matches!(kind, b'0' | b'\0' | b'7' | b'S' | b'1' | b'2') {
            return Err(self.unsafe_entry("a media folder must be a folder, not a file or a link"));
        }
        let xattrs = mac_metadata::pax_xattrs(entry.pax_records());
        match kind {
            b'0' | b'\0' | b'7' | b'S' => self.file(&entry, &rel, xattrs),
            b'5' | b'D' => self.folder(&entry, &rel, xattrs),
            b'2' => {
                check_link_path(kind, parent_of(&comps), &link, Some(&self.media), None)
                    .map_err(|why| self.unsafe_entry(why))?;
                self.symlink(&rel, &link)
            }
            b'1' => self.hard_link(&rel, &link),
            other => {
                log::warn!(
                    "skipping entry '{}' of unknown type '{}' in '{}'",
                    self.entry.as_deref().unwrap_or_default(),
                    other.escape_ascii(),
                    self.archive.display()
                );
                Ok(())
            }
        }
    }

    /// Where an entry (its components) goes: nowhere (the folders leading to the prefix), skipped (with the
    /// name to list), or into a media folder (its components below staging).
    fn place(&self, comps: &[Vec<u8>]) -> Place {
        if comps.len() <= self.strip.len() && self.strip.starts_with(comps) {
            return Place::Leading;
        }
        if comps.starts_with(&self.strip) {
            let rel = &comps[self.strip.len()..];
            if self.media.iter().any(|m| m.as_bytes() == rel[0].as_slice()) {
                return Place::Media(rel.to_vec());
            }
        }
        // Named down to where it leaves the prefix and its media folders: `index.php`, `web/config`.
        let same = comps.iter().zip(&self.strip).take_while(|(a, b)| a == b).count();
        Place::Outside(comps[..=same.min(comps.len() - 1)].join(&b'/'))
    }

    fn skip(&mut self, shown: Vec<u8>) {
        self.summary.skipped_count += 1;
        let shown = String::from_utf8_lossy(&shown);
        if self.summary.skipped.len() < MAX_LISTED && !self.summary.skipped.iter().any(|s| *s == shown) {
            self.summary.skipped.push(shown.into_owned());
        }
    }

    /// An AppleDouble entry: its attributes go to the name it describes (now if it was extracted, else once
    /// it is); nothing is written for the entry itself.
    fn apple_double(&mut self, entry: &Entry) -> Result<(), MediaError> {
        self.summary.apple_double += 1;
        let name = entry.name.as_slice();
        let size = entry.data_len;
        let mut data = Vec::new();
        if size <= MAX_APPLE_DOUBLE {
            let mut buf = std::mem::take(&mut self.buf);
            let read = loop {
                match self.src.read_data(&mut buf) {
                    Ok(0) => break Ok(()),
                    Ok(n) => data.extend_from_slice(&buf[..n]),
                    Err(e) => break Err(e),
                }
            };
            self.buf = buf;
            read.map_err(|e| self.read_failed(e))?;
        } else {
            // Read past by the next entry.
            log::warn!(
                "the macOS metadata '{}' in '{}' is too large ({size} bytes); its attributes are left out",
                String::from_utf8_lossy(name),
                self.archive.display()
            );
            return Ok(());
        }
        let attrs = match mac_metadata::apple_double_xattrs(&data) {
            Ok(a) => a,
            Err(why) => {
                log::warn!(
                    "the macOS metadata '{}' in '{}' is unreadable ({why}); its attributes are left out",
                    String::from_utf8_lossy(name),
                    self.archive.display()
                );
                return Ok(());
            }
        };
        let described = mac_metadata::described_name(name).unwrap_or_default();
        let Ok(comps) = entry_components(&described) else {
            return Ok(());
        };
        let Place::Media(rel) = self.place(&comps) else {
            return Ok(()); // Describes something that is not extracted.
        };
        if attrs.is_empty() {
            return Ok(());
        }
        let rel: PathBuf = rel.iter().map(|c| OsStr::from_bytes(c)).collect();
        self.pending_xattrs.entry(rel.clone()).or_default().extend(attrs);
        // Usually written before the file it describes; when after, the file is already there.
        let path = self.staging.join(&rel);
        if fs::symlink_metadata(&path).is_ok_and(|m| m.is_file() || m.is_dir()) {
            self.set_pending_on_path(&rel);
        }
        Ok(())
    }

    /// Sets the attributes waiting for `rel` and `more` on the open file or folder `target`.
    fn set_xattrs(&mut self, rel: &Path, target: &File, more: Vec<Xattr>) {
        let mut attrs = self.pending_xattrs.remove(rel).unwrap_or_default();
        attrs.extend(more);
        if attrs.is_empty() {
            return;
        }
        match mac_metadata::set_xattrs(target, &attrs) {
            Ok(n) => self.summary.xattrs += n,
            // Best effort, like bsdtar's: the file itself is what the office needs.
            Err(why) => log::warn!("'{}': {why}", rel.display()),
        }
    }

    /// Sets the attributes waiting for `rel`, opening it without following links.
    fn set_pending_on_path(&mut self, rel: &Path) {
        let path = self.staging.join(rel);
        match open_no_follow(&path) {
            Ok(target) => self.set_xattrs(rel, &target, Vec::new()),
            Err(e) => log::warn!("cannot open '{}' to set its attributes: {e}", path.display()),
        }
    }

    /// Attributes of AppleDouble entries that came after their name, or for a name made without an entry.
    fn apply_pending_xattrs(&mut self) {
        let rels: Vec<PathBuf> = self.pending_xattrs.keys().cloned().collect();
        for rel in rels {
            if fs::symlink_metadata(self.staging.join(&rel)).is_ok_and(|m| m.is_file() || m.is_dir()) {
                self.set_pending_on_path(&rel);
            }
        }
        self.pending_xattrs.clear();
    }

    fn file(&mut self, entry: &Entry, rel: &Path, xattrs: Vec<Xattr>) -> Result<(), MediaError> {
        let mode = self.mode(entry, file_mode)?;
        let mtime = mtime(entry);
        self.ensure_folders(rel.parent())?;
        let path = self.staging.join(rel);
        let mut out = match create_file(&path) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                // The same name twice: the later entry wins, as with tar.
                self.make_room(&path)?;
                create_file(&path)
            }
            other => other,
        }
        .map_err(write_err(&path))?;
        let mut buf = std::mem::take(&mut self.buf);
        let copied = self.copy(&mut out, &path, &mut buf);
        self.buf = buf;
        let size = entry.data_len;
        let written = match copied {
            Ok(n) => n,
            Err(CopyStop::Cut(written)) => {
                return Err(self.corrupt_here(format!(
                    "the archive ends in the middle of this file ({} bytes missing): it is truncated",
                    size - written
                )));
            }
            Err(CopyStop::Failed(e)) => return Err(e),
        };
        self.set_xattrs(rel, &out, xattrs);
        out.set_permissions(Permissions::from_mode(mode))
            .map_err(write_err(&path))?;
        if let Some(t) = mtime {
            out.set_modified(t).map_err(write_err(&path))?;
        }
        self.summary.files += 1;
        self.summary.bytes += written;
        Ok(())
    }

    /// Copies the current entry's content into `out`; how many bytes, or where the archive was cut.
    fn copy(&mut self, out: &mut File, path: &Path, buf: &mut [u8]) -> Result<u64, CopyStop> {
        let mut written = 0u64;
        loop {
            self.check_cancel()?;
            let n = match self.src.read_data(buf) {
                Ok(0) => return Ok(written),
                Ok(n) => n,
                Err(archive::Error::Malformed(m)) if m.cut_in_entry => return Err(CopyStop::Cut(written)),
                Err(e) => return Err(self.read_failed(e).into()),
            };
            out.write_all(&buf[..n]).map_err(write_err(path))?;
            written += n as u64;
            self.tick();
        }
    }

    fn folder(&mut self, entry: &Entry, rel: &Path, xattrs: Vec<Xattr>) -> Result<(), MediaError> {
        let mode = self.mode(entry, folder_mode)?;
        let mtime = mtime(entry);
        self.ensure_folders(rel.parent())?;
        let path = self.staging.join(rel);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => {
                // Made earlier for a deeper entry, or named twice.
                if self.implied.remove(&path) {
                    self.summary.implied_folders -= 1;
                }
            }
            Ok(_) => {
                self.make_room(&path)?;
                make_folder(&path).map_err(write_err(&path))?;
                self.summary.folders += 1;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                make_folder(&path).map_err(write_err(&path))?;
                self.summary.folders += 1;
            }
            Err(e) => return Err(write_err(&path)(e)),
        }
        if !xattrs.is_empty() || self.pending_xattrs.contains_key(rel) {
            let folder = open_no_follow(&path).map_err(write_err(&path))?;
            self.set_xattrs(rel, &folder, xattrs);
        }
        self.dirs.push(FolderMeta {
            path,
            depth: rel.components().count(),
            mode,
            mtime,
        });
        Ok(())
    }

    fn symlink(&mut self, rel: &Path, target: &[u8]) -> Result<(), MediaError> {
        self.ensure_folders(rel.parent())?;
        let path = self.staging.join(rel);
        let target = OsStr::from_bytes(target);
        match std::os::unix::fs::symlink(target, &path) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                self.make_room(&path)?;
                std::os::unix::fs::symlink(target, &path)
            }
            other => other,
        }
        .map_err(write_err(&path))?;
        self.summary.symlinks += 1;
        self.links
            .push((rel.to_path_buf(), self.entry.clone().unwrap_or_default()));
        Ok(())
    }

    /// A hard-link entry, extracted as an independent copy of the earlier file (so that every staged file has
    /// one link, and root's `chown` of it can reach nothing else).
    fn hard_link(&mut self, rel: &Path, target: &[u8]) -> Result<(), MediaError> {
        let shown = String::from_utf8_lossy(target).into_owned();
        let not_before = || format!("hard link to '{shown}', which is not a regular file extracted before it");
        // A hard link names its target from the archive root; `check_link_path` made sure it stays inside.
        let mut comps: Vec<Vec<u8>> = Vec::new();
        for c in target.split(|&b| b == b'/') {
            match c {
                b"" | b"." => {}
                b".." => {
                    comps.pop();
                }
                c => comps.push(c.to_vec()),
            }
        }
        let Place::Media(comps) = self.place(&comps) else {
            return Err(self.unsafe_entry(not_before()));
        };
        let Some((last, folders)) = comps.split_last() else {
            return Err(self.unsafe_entry(not_before()));
        };
        let mut source = self.staging.to_path_buf();
        for c in folders {
            source.push(OsStr::from_bytes(c));
            if !fs::symlink_metadata(&source).is_ok_and(|m| m.is_dir()) {
                return Err(self.unsafe_entry(not_before()));
            }
        }
        source.push(OsStr::from_bytes(last));
        let path = self.staging.join(rel);
        if source == path {
            // A link to itself: the file is already there (if it is a file).
            return if fs::symlink_metadata(&source).is_ok_and(|m| m.is_file()) {
                Ok(())
            } else {
                Err(self.unsafe_entry(not_before()))
            };
        }
        // Opened without following a link, and judged by what was opened: missing, a folder or a link is refused.
        let mut from = match open_no_follow(&source) {
            Ok(f) if f.metadata().is_ok_and(|m| m.is_file()) => f,
            _ => return Err(self.unsafe_entry(not_before())),
        };
        let meta = from.metadata().map_err(write_err(&source))?;
        self.ensure_folders(rel.parent())?;
        let mut out = match create_file(&path) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                self.make_room(&path)?;
                create_file(&path)
            }
            other => other,
        }
        .map_err(write_err(&path))?;
        let copied = io::copy(&mut from, &mut out).map_err(write_err(&path))?;
        out.set_permissions(Permissions::from_mode(meta.mode() & 0o777))
            .map_err(write_err(&path))?;
        if let Ok(t) = meta.modified() {
            out.set_modified(t).map_err(write_err(&path))?;
        }
        self.summary.files += 1;
        self.summary.bytes += copied;
        self.summary.hard_links += 1;
        self.summary.hard_link_bytes += copied;
        Ok(())
    }

    /// Makes sure every component of `rel_dir` (below staging) is a real folder, creating the missing ones.
    fn ensure_folders(&mut self, rel_dir: Option<&Path>) -> Result<(), MediaError> {
        let Some(rel_dir) = rel_dir else {
            return Ok(());
        };
        if rel_dir.as_os_str().is_empty() || self.last_parent.as_deref() == Some(rel_dir) {
            return Ok(());
        }
        let mut path = self.staging.to_path_buf();
        for (depth, c) in rel_dir.components().enumerate() {
            path.push(c);
            match fs::symlink_metadata(&path) {
                Ok(m) if m.is_dir() => {}
                Ok(m) => {
                    let what = if m.file_type().is_symlink() {
                        "the symbolic link"
                    } else {
                        "the file"
                    };
                    let shown = path.strip_prefix(self.staging).unwrap_or(&path).display().to_string();
                    return Err(self.unsafe_entry(format!("its path goes through {what} '{shown}'")));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    make_folder(&path).map_err(write_err(&path))?;
                    self.summary.folders += 1;
                    self.summary.implied_folders += 1;
                    self.implied.insert(path.clone());
                    self.dirs.push(FolderMeta {
                        path: path.clone(),
                        depth: depth + 1,
                        mode: FOLDER_MODE,
                        mtime: None,
                    });
                }
                Err(e) => return Err(write_err(&path)(e)),
            }
        }
        self.last_parent = Some(rel_dir.to_path_buf());
        Ok(())
    }

    /// Removes a file or link that a later entry of the same name replaces (unlinking never follows links).
    fn make_room(&mut self, path: &Path) -> Result<(), MediaError> {
        let meta = fs::symlink_metadata(path).map_err(write_err(path))?;
        if meta.is_dir() {
            return Err(self.unsafe_entry("an earlier entry made this name a folder, and a folder is never replaced"));
        }
        fs::remove_file(path).map_err(write_err(path))?;
        if meta.file_type().is_symlink() {
            self.summary.symlinks -= 1;
        } else {
            self.summary.files -= 1;
            if meta.nlink() <= 1 {
                self.summary.bytes -= meta.len();
            }
        }
        Ok(())
    }

    fn mode(&self, entry: &Entry, normal: fn(u32) -> u32) -> Result<u32, MediaError> {
        entry
            .mode
            .map(normal)
            .ok_or_else(|| self.corrupt_here("unreadable permissions in the tar header".to_string()))
    }

    fn make_missing_dirs(&mut self) -> Result<(), MediaError> {
        for name in self.media.clone() {
            let path = self.staging.join(name);
            match fs::symlink_metadata(&path) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    make_folder(&path).map_err(write_err(&path))?;
                    self.summary.folders += 1;
                    self.summary.implied_folders += 1;
                    self.summary.missing_dirs.push(name.to_string());
                    self.dirs.push(FolderMeta {
                        path,
                        depth: 1,
                        mode: FOLDER_MODE,
                        mtime: None,
                    });
                }
                Err(e) => return Err(write_err(&path)(e)),
            }
        }
        Ok(())
    }

    /// Follows every symbolic link through the links really on disk: each checked alone on paper, a chain
    /// (`a -> b/..` where `b` is itself a link) could still lead out.
    fn recheck_links(&mut self) -> Result<(), MediaError> {
        for (rel, name) in std::mem::take(&mut self.links) {
            let path = self.staging.join(&rel);
            if !fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
                continue; // Replaced by a later entry of the same name.
            }
            let target = fs::read_link(&path).map_err(write_err(&path))?;
            let comps: Vec<Vec<u8>> = rel.components().map(|c| c.as_os_str().as_bytes().to_vec()).collect();
            if let Err(reason) = check_link_path(
                b'2',
                parent_of(&comps),
                target.as_os_str().as_bytes(),
                Some(&self.media),
                Some(self.staging),
            ) {
                return Err(MediaError::Unsafe {
                    archive: self.archive.to_path_buf(),
                    entry: name,
                    reason,
                });
            }
        }
        Ok(())
    }

    fn apply_folder_meta(&mut self) -> Result<(), MediaError> {
        let mut dirs = std::mem::take(&mut self.dirs);
        // Deepest first, so a read-only folder is closed after its content; stable, so a later entry for the
        // same folder wins.
        dirs.sort_by_key(|d| std::cmp::Reverse(d.depth));
        for d in dirs {
            self.check_cancel()?;
            set_folder_meta(&d.path, d.mode, d.mtime).map_err(write_err(&d.path))?;
        }
        Ok(())
    }

    // --- Reporting -------------------------------------------------------------------------------------

    fn tick(&mut self) {
        let done = self.src.get_ref().compressed_offset();
        if done >= self.next_report {
            self.next_report = done + PROGRESS_EVERY;
            self.progress.update(Update {
                step: STEP,
                done,
                total: Some(self.total),
                detail: self.entry.clone(),
            });
        }
    }

    fn check_cancel(&self) -> Result<(), MediaError> {
        if self.cancel.is_cancelled() {
            return Err(MediaError::Cancelled {
                archive: self.archive.to_path_buf(),
            });
        }
        Ok(())
    }

    fn unsafe_entry(&self, reason: impl Into<String>) -> MediaError {
        MediaError::Unsafe {
            archive: self.archive.to_path_buf(),
            entry: self.entry.clone().unwrap_or_default(),
            reason: reason.into(),
        }
    }

    fn corrupt_at(&self, offset: u64, reason: String) -> MediaError {
        MediaError::Corrupt {
            archive: self.archive.to_path_buf(),
            entry: self.entry.clone(),
            at: At {
                stream: Stream::Decompressed,
                offset,
            },
            reason,
        }
    }

    fn corrupt_here(&self, reason: String) -> MediaError {
        self.corrupt_at(self.src.offset(), reason)
    }

    /// The reading failed: a malformed tar stream, or a gzip fault or I/O error recorded by [`GzSource`].
    fn read_failed(&mut self, e: archive::Error) -> MediaError {
        let e = match e {
            archive::Error::Malformed(m) => return self.corrupt_at(m.offset, m.reason),
            archive::Error::Read(e) => e,
        };
        match self.src.get_mut().take_fault() {
            Some(GzFault::Io(source)) => MediaError::Read {
                archive: self.archive.to_path_buf(),
                source,
            },
            Some(GzFault::Corrupt { offset, reason }) => MediaError::Corrupt {
                archive: self.archive.to_path_buf(),
                entry: self.entry.clone(),
                at: At {
                    stream: Stream::Compressed,
                    offset,
                },
                reason,
            },
            None => MediaError::Read {
                archive: self.archive.to_path_buf(),
                source: e,
            },
        }
    }
}

/// Why copying an entry's content stopped early.
enum CopyStop {
    /// The archive ends inside the entry, after this many bytes.
    Cut(u64),
    Failed(MediaError),
}

impl From<MediaError> for CopyStop {
    fn from(e: MediaError) -> Self {
        CopyStop::Failed(e)
    }
}

/// Where an entry goes.
enum Place {
    /// A folder that leads to the media folders (`./`, `web/`): staging stands for it.
    Leading,
    /// Outside the media folders: skipped, listed under this name.
    Outside(Vec<u8>),
    /// Inside a media folder: its components below staging.
    Media(Vec<Vec<u8>>),
}

// ---------------------------------------------------------------------------------------------------------
// Small pieces.

/// A file's mode as staged: the owner may always read and write it (and run it when the archive says so);
/// group and others may at most read it, and run it when the owner may; never written by them, never
/// setuid, setgid or sticky. `0666` → `0644`, `0777` → `0755`, `0640` stays.
pub fn file_mode(archive_mode: u32) -> u32 {
    let exec = archive_mode & 0o100;
    let others = archive_mode & if exec != 0 { 0o055 } else { 0o044 };
    0o600 | exec | others
}

/// A folder's mode as staged: the owner may always list, enter and change it; group and others at most
/// list and enter it; never sticky, setuid or setgid. `0777` → `0755`, `0700` stays.
pub fn folder_mode(archive_mode: u32) -> u32 {
    0o700 | (archive_mode & 0o055)
}

/// Opens a file or folder for reading, never through a symbolic link.
fn open_no_follow(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)
}

fn create_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// `mkdir`, which never follows a link at `path` (it fails with "exists" instead).
fn make_folder(path: &Path) -> io::Result<()> {
    fs::DirBuilder::new().mode(FOLDER_MODE).create(path)
}

/// Sets a folder's mode and time through a descriptor opened without following links.
fn set_folder_meta(path: &Path, mode: u32, mtime: Option<SystemTime>) -> io::Result<()> {
    let dir = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(path)?;
    dir.set_permissions(Permissions::from_mode(mode))?;
    if let Some(t) = mtime {
        dir.set_modified(t)?;
    }
    Ok(())
}

fn mtime(entry: &Entry) -> Option<SystemTime> {
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(entry.mtime?))
}

/// The components of an entry name, without empty and `.` components; absolute names and `..` are refused.
fn entry_components(name: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if name.first() == Some(&b'/') {
        return Err("absolute path".into());
    }
    let mut out = Vec::new();
    for c in name.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => return Err("path goes up with '..'".into()),
            c if c.contains(&0) => return Err("a NUL byte in the name".into()),
            c => out.push(c.to_vec()),
        }
    }
    Ok(out)
}

fn parent_of(comps: &[Vec<u8>]) -> &[Vec<u8>] {
    comps.split_last().map_or(&[], |(_, parent)| parent)
}

/// Follows a link's target from `start` (the folder that holds a symbolic link, or the archive root for a
/// hard link; components below the staging root), the way the kernel would.
///
/// - Always: an absolute target, or one that climbs above the root, is refused.
/// - With `media`: the path may not enter a top-level name that is not a media folder, nor end at the root
///   (once swapped in, that is the live `web/` folder, next to the application's code and configuration).
/// - With `on_disk` (the staging folder): links met along the way are followed (up to [`MAX_LINK_HOPS`]),
///   so a chain of links is judged by where it really leads.
fn check_link_path(
    kind: u8,
    start: &[Vec<u8>],
    target: &[u8],
    media: Option<&[&str]>,
    on_disk: Option<&Path>,
) -> Result<(), String> {
    let what = if kind == b'2' { "symbolic link" } else { "hard link" };
    let shown = String::from_utf8_lossy(target);
    if target.is_empty() {
        return Err(format!("{what} with an empty target"));
    }
    if target.first() == Some(&b'/') {
        return Err(format!("{what} to the absolute path '{shown}'"));
    }
    let out_of_media = || {
        let list = media
            .unwrap_or_default()
            .iter()
            .map(|m| format!("'{m}'"))
            .collect::<Vec<_>>()
            .join(", ");
        format!("{what} to '{shown}', which leads out of the media folders ({list})")
    };
    let mut stack: Vec<Vec<u8>> = start.to_vec();
    let mut pending: VecDeque<Vec<u8>> = target.split(|&b| b == b'/').map(<[u8]>::to_vec).collect();
    let mut hops = 0;
    while let Some(c) = pending.pop_front() {
        match c.as_slice() {
            b"" | b"." => {}
            b".." => {
                if stack.pop().is_none() {
                    return Err(format!("{what} to '{shown}', outside the archive"));
                }
            }
            _ => {
                if stack.is_empty() && media.is_some_and(|m| !m.iter().any(|d| d.as_bytes() == c.as_slice())) {
                    return Err(out_of_media());
                }
                stack.push(c);
                let Some(root) = on_disk else { continue };
                let here: PathBuf = std::iter::once(root.as_os_str())
                    .chain(stack.iter().map(|c| OsStr::from_bytes(c)))
                    .collect();
                if fs::symlink_metadata(&here).is_ok_and(|m| m.file_type().is_symlink()) {
                    hops += 1;
                    if hops > MAX_LINK_HOPS {
                        return Err(format!("{what} to '{shown}': too many levels of symbolic links"));
                    }
                    let next = fs::read_link(&here).map_err(|e| format!("{what} to '{shown}': {e}"))?;
                    let next = next.as_os_str().as_bytes();
                    if next.first() == Some(&b'/') {
                        return Err(format!(
                            "{what} to '{shown}', which leads through a link to the absolute path '{}'",
                            String::from_utf8_lossy(next)
                        ));
                    }
                    stack.pop();
                    for part in next.split(|&b| b == b'/').rev() {
                        pending.push_front(part.to_vec());
                    }
                }
            }
        }
    }
    if media.is_some() && stack.is_empty() {
        return Err(out_of_media());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comps(s: &str) -> Vec<Vec<u8>> {
        entry_components(s.as_bytes()).unwrap()
    }

    const MEDIA: &[&str] = &["documents", "pictures"];

    fn symlink_ok(name: &str, target: &str) -> Result<(), String> {
        let c = comps(name);
        check_link_path(b'2', parent_of(&c), target.as_bytes(), Some(MEDIA), None)
    }

    #[test]
    fn entry_names_are_normalised_and_dangerous_ones_refused() {
        assert_eq!(
            comps("./documents//a/./b"),
            vec![b"documents".to_vec(), b"a".to_vec(), b"b".to_vec()]
        );
        assert_eq!(comps("./"), Vec::<Vec<u8>>::new());
        assert!(entry_components(b"/etc/passwd").is_err());
        assert!(entry_components(b"documents/../../x").is_err());
        assert!(entry_components(b"documents/a\0b").is_err());
        // A name that merely contains dots is fine.
        assert_eq!(comps("documents/..a/b..").len(), 3);
    }

    #[test]
    fn symlinks_must_stay_inside_the_media_folders() {
        assert!(symlink_ok("documents/a", "b").is_ok());
        assert!(symlink_ok("documents/a/b", "../c/./d").is_ok());
        assert!(symlink_ok("documents/a", "../pictures/p.jpg").is_ok());
        let up = symlink_ok("documents/a", "../../x").unwrap_err();
        assert!(up.contains("outside the archive"), "{up}");
        let abs = symlink_ok("documents/a", "/etc").unwrap_err();
        assert!(abs.contains("absolute path '/etc'"), "{abs}");
        // Into the web folder next to the media folders: the application's code and configuration.
        let web = symlink_ok("documents/a", "../config/db.php").unwrap_err();
        assert!(
            web.contains("out of the media folders ('documents', 'pictures')"),
            "{web}"
        );
        assert!(symlink_ok("documents/a", "..").is_err());
        assert!(symlink_ok("documents/a", "../other/../pictures").is_err());
        assert!(symlink_ok("documents/a", "").is_err());
        // Without the media rule (skipped entries, as verify judges them), only climbing out is refused.
        let c = comps("other/a");
        assert!(check_link_path(b'2', parent_of(&c), b"../x", None, None).is_ok());
        assert!(check_link_path(b'2', parent_of(&c), b"../../x", None, None).is_err());
        assert!(check_link_path(b'1', &[], b"../x", None, None).is_err());
    }

    #[test]
    fn located_names_the_entry_and_the_stream() {
        let at = At {
            stream: Stream::Compressed,
            offset: 42,
        };
        assert_eq!(located(&None, &at), " at byte 42 of the compressed file");
        let at = At {
            stream: Stream::Decompressed,
            offset: 7,
        };
        assert_eq!(
            located(&Some("documents/a".into()), &at),
            " in entry 'documents/a' (byte 7 of the tar stream)"
        );
    }
}
