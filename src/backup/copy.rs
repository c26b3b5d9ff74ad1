//! Safe copies of a verified backup pair onto another disk, with a `SHA256SUMS` manifest.
//!
//! Layout: `<dest_root>/<YYYY-MM-DD_HHMM>/` (the backup's local time) holding both files and `SHA256SUMS`
//! (the `sha256sum` format, so `sha256sum -c SHA256SUMS` works in that folder). A `code-manifest.txt`
//! (see `parity`) may sit next to them: it is not part of the copy and is neither listed nor checked.
//! When asked ([`CopyOptions::software`]), the copy also carries production's code as
//! [`SOFTWARE_FILE`] (`software.taz`, see [`crate::backup::software`]): packed into the temporary folder,
//! read back, and listed in `SHA256SUMS` like the pair, so [`check_copy`] covers it. It is optional: a
//! copy without it (older copies, or one whose packing failed, which is only a warning) is complete.
//!
//! Guarantees:
//! - A copy only counts once it is complete and proven: each file is read once (read and SHA-256 in one
//!   thread, write in another), written as `<name>.partial` inside a temporary folder
//!   `<dest_root>/.secours-tmp-…`, fsynced, renamed, the folder fsynced; then both files are read back and
//!   checked against the manifest, and only then is the temporary folder renamed to its final name.
//! - On any failure or cancel, the temporary folder (with any partial file) is removed; existing copies are
//!   never touched before the new one is in place. Rotation then removes the oldest copies beyond `keep`
//!   (at least 1 is always kept: the new one), touching only folders named like a copy that hold a manifest,
//!   and never the newest copy without a [`SUSPECT_MARK`] (the copy of a pair that looked wrong carries one).
//! - Idempotent: a copy of the same backup already there, whose manifest names the same files with the same
//!   sizes and whose content matches the manifest, gives [`CopyOutcome::AlreadyThere`] and writes nothing.
//! - A destination under `<volumes_root>/<disk>` (macOS `/Volumes`) is refused when that disk is not mounted,
//!   so Secours never fills the system disk with a folder that merely looks like the backup disk.
//! - Free space is checked before anything is written.
//!
//! Known limit: the read-back right after writing may be served from the OS cache rather than the disk.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use jiff::Zoned;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::backup::inspect::{FileIdentity, describe_change};
use crate::backup::parity::Exclusions;
pub use crate::backup::software::SOFTWARE_FILE;
use crate::files::digest::sha256_stream;
use crate::progress::{Cancel, Meter, Progress, Update};

/// The manifest's file name.
pub const MANIFEST: &str = "SHA256SUMS";
/// Marks the copy of a pair that looked wrong (see `anomaly`); not part of the copy, never listed among its
/// files. Rotation never removes the newest copy without it.
pub const SUSPECT_MARK: &str = "SUSPECT.json";
const TMP_PREFIX: &str = ".secours-tmp-";
const OLD_PREFIX: &str = ".secours-old-";
const BUF: usize = 1 << 20;
/// Buffers in flight between the reader and the writer (memory stays at `BUFFERS × BUF`).
const BUFFERS: usize = 4;
/// Bytes written between two background flushes to disk.
const FLUSH_EVERY: u64 = 32 << 20;
const PROGRESS_EVERY: u64 = 8 << 20;
/// Temporary folders left by a crash are removed when older than this.
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// Settings that are not the copy itself.
#[derive(Debug, Clone)]
pub struct CopyOptions {
    /// Where removable disks are mounted (`/Volumes` on macOS). A parameter so tests can simulate it.
    pub volumes_root: PathBuf,
    /// TEST ONLY: fail with an I/O error once this many bytes were written, to simulate a disk torn away.
    pub fail_after_bytes: Option<u64>,
    /// The files as they were verified: a source that is not that file any more when it is opened, or that
    /// changes while it is copied, is not copied (the copy would be called proven without being verified).
    pub verified: Vec<(PathBuf, FileIdentity)>,
    /// The pair looked wrong: this is written as [`SUSPECT_MARK`] into the new copy.
    pub suspect_mark: Option<Vec<u8>>,
    /// Production's code to pack into the new copy as [`SOFTWARE_FILE`] (`None`: no software in it).
    pub software: Option<SoftwareSource>,
}

/// The code a copy carries: an environment's root and what its code leaves out.
#[derive(Debug, Clone)]
pub struct SoftwareSource {
    pub root: PathBuf,
    pub exclude: Exclusions,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            volumes_root: PathBuf::from("/Volumes"),
            fail_after_bytes: None,
            verified: Vec::new(),
            suspect_mark: None,
            software: None,
        }
    }
}

/// One file of a copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopiedFile {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

/// What [`copy_pair`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum CopyOutcome {
    /// A new copy is in place and proven; `removed` are the old copies rotated away.
    Copied {
        folder: PathBuf,
        files: Vec<CopiedFile>,
        removed: Vec<PathBuf>,
        warnings: Vec<String>,
    },
    /// This backup was already copied and the copy matches its manifest; nothing was written.
    AlreadyThere { folder: PathBuf },
}

/// A file inside a copy folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileInfo {
    pub name: String,
    pub bytes: u64,
}

/// A copy folder found under a destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyInfo {
    pub folder: PathBuf,
    /// The folder name, `YYYY-MM-DD_HHMM`.
    pub name: String,
    /// The backup's local date and time, from the folder name.
    pub date: jiff::civil::DateTime,
    /// Files in the folder other than the manifests (`SHA256SUMS`, `code-manifest.txt`) and the software
    /// ([`SOFTWARE_FILE`]), by name: the backup pair.
    pub files: Vec<FileInfo>,
    /// Total bytes of `files`.
    pub size: u64,
    /// Whether `SHA256SUMS` is present.
    pub manifest: bool,
    /// Whether it is the copy of a pair that looked wrong ([`SUSPECT_MARK`]).
    pub suspect: bool,
    /// Whether it carries production's code ([`SOFTWARE_FILE`]).
    #[serde(default)]
    pub software: bool,
}

/// The result of re-reading a copy against its manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyCheck {
    pub folder: PathBuf,
    #[serde(flatten)]
    pub verdict: CheckVerdict,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum CheckVerdict {
    Ok,
    /// No `SHA256SUMS`: the copy was never completed (or not made by Secours).
    NoManifest,
    /// Files missing or not matching; one sentence each.
    Damaged {
        problems: Vec<String>,
    },
    /// The folder could not be read.
    Unreadable {
        error: String,
    },
    Cancelled,
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(
        "the disk '{disk}' is not connected (nothing is mounted at '{volume}'). Connect the disk, then copy again."
    )]
    DiskNotConnected { disk: String, volume: PathBuf },
    #[error("cannot read the backup file '{path}': {source}. Check that it exists and that Secours may read it.")]
    Source { path: PathBuf, source: io::Error },
    #[error("the backup files '{db}' and '{media}' have the same name. Give the copy two different files.")]
    SameName { db: PathBuf, media: PathBuf },
    #[error("cannot {step} '{path}': {source}. Check that the destination disk is connected and writable.")]
    Destination {
        step: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error(
        "not enough free space on '{dest}': the copy needs {needed} bytes and {available} are free. \
         Free some space on that disk or keep fewer copies."
    )]
    NoSpace { dest: PathBuf, needed: u64, available: u64 },
    #[error(
        "the copy of '{file}' read back with SHA-256 '{actual}' instead of '{expected}'; it was not kept. \
         The destination disk may be failing: try another disk."
    )]
    Mismatch {
        file: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("the copy to '{dest}' was cancelled; nothing was kept. Start the copy again when ready.")]
    Cancelled { dest: PathBuf },
    #[error(
        "{reason}; it was not copied (a copy is only made of the file that was verified). Copy again: the new \
         file will be verified first."
    )]
    Changed { path: PathBuf, reason: String },
}

fn dest_err(step: &'static str, path: &Path) -> impl FnOnce(io::Error) -> CopyError + use<> {
    let path = path.to_path_buf();
    move |source| CopyError::Destination { step, path, source }
}

/// The copy folder name for a backup taken at `time` (in its own time zone: pass local time).
pub fn folder_name(time: &Zoned) -> String {
    time.strftime("%Y-%m-%d_%H%M").to_string()
}

/// Parses a copy folder name; `None` when the name is not one.
pub fn parse_folder_name(name: &str) -> Option<jiff::civil::DateTime> {
    let b = name.as_bytes();
    if b.len() != 15 || b[4] != b'-' || b[7] != b'-' || b[10] != b'_' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<i16> {
        let s = name.get(r)?;
        if !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let date = jiff::civil::Date::new(digits(0..4)?, digits(5..7)? as i8, digits(8..10)? as i8).ok()?;
    let time = jiff::civil::Time::new(digits(11..13)? as i8, digits(13..15)? as i8, 0, 0).ok()?;
    Some(date.to_datetime(time))
}

/// Refuses a destination on a `/Volumes` disk that is not mounted.
pub fn check_destination(dest_root: &Path, volumes_root: &Path) -> Result<(), CopyError> {
    let Ok(rest) = dest_root.strip_prefix(volumes_root) else {
        return Ok(());
    };
    let Some(Component::Normal(disk)) = rest.components().next() else {
        return Ok(());
    };
    let volume = volumes_root.join(disk);
    let mounted = match (fs::metadata(&volume), fs::metadata(volumes_root)) {
        // A mount point sits on another device than the folder holding it.
        (Ok(v), Ok(parent)) => v.is_dir() && v.dev() != parent.dev(),
        _ => false,
    };
    if mounted {
        Ok(())
    } else {
        Err(CopyError::DiskNotConnected {
            disk: disk.to_string_lossy().into_owned(),
            volume,
        })
    }
}

/// Copies a (verified) backup pair into `dest_root/<YYYY-MM-DD_HHMM>/`, proves the copy, then keeps the
/// newest `keep` copies (at least 1).
#[allow(clippy::too_many_arguments)]
pub fn copy_pair(
    db: &Path,
    media: &Path,
    backup_time: &Zoned,
    dest_root: &Path,
    keep: usize,
    options: &CopyOptions,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<CopyOutcome, CopyError> {
    let sources = [db, media];
    let mut names = Vec::new();
    let mut sizes = Vec::new();
    for src in sources {
        let name = src
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| CopyError::Source {
                path: src.to_path_buf(),
                source: io::Error::new(io::ErrorKind::InvalidInput, "no file name"),
            })?;
        let meta = fs::metadata(src).map_err(|source| CopyError::Source {
            path: src.to_path_buf(),
            source,
        })?;
        names.push(name);
        sizes.push(meta.len());
    }
    if names[0] == names[1] {
        return Err(CopyError::SameName {
            db: db.to_path_buf(),
            media: media.to_path_buf(),
        });
    }

    check_destination(dest_root, &options.volumes_root)?;
    fs::create_dir_all(dest_root).map_err(dest_err("create the folder", dest_root))?;
    remove_stale_temporaries(dest_root);

    let name = folder_name(backup_time);
    let final_dir = dest_root.join(&name);
    if final_dir.is_dir() && same_copy_there(&final_dir, &names, &sizes, progress, cancel) {
        return Ok(CopyOutcome::AlreadyThere { folder: final_dir });
    }
    if cancel.is_cancelled() {
        return Err(CopyError::Cancelled {
            dest: dest_root.to_path_buf(),
        });
    }

    let needed: u64 = sizes.iter().sum::<u64>() + 64 * 1024;
    let available = fs4::available_space(dest_root).map_err(dest_err("measure the free space of", dest_root))?;
    if available < needed {
        return Err(CopyError::NoSpace {
            dest: dest_root.to_path_buf(),
            needed,
            available,
        });
    }

    let stamp = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let tmp = TempDir::create(dest_root.join(format!("{TMP_PREFIX}{name}-{}-{stamp}", std::process::id())))?;

    let total = 2 * sizes.iter().sum::<u64>();
    let mut meter = Meter::new(progress, "copy", total, PROGRESS_EVERY, String::new());
    let mut written = 0u64;
    let mut files = Vec::new();
    for ((src, file_name), &size) in sources.iter().zip(&names).zip(&sizes) {
        meter.detail = format!("copying {file_name}");
        let partial = tmp.path.join(format!("{file_name}.partial"));
        let (sha256, read_back) = copy_file(src, &partial, options, &mut written, &mut meter, cancel, dest_root)?;
        // The read-back's half of the progress.
        meter.add(size);
        // Prove the copy before it counts: what was read back from it is what was read from the source.
        if read_back != sha256 {
            return Err(CopyError::Mismatch {
                file: partial,
                expected: sha256,
                actual: read_back,
            });
        }
        let done = tmp.path.join(file_name);
        fs::rename(&partial, &done).map_err(dest_err("rename", &partial))?;
        sync_dir(&tmp.path)?;
        files.push(CopiedFile {
            name: file_name.clone(),
            bytes: size,
            sha256,
        });
    }
    let mut warnings = Vec::new();
    if let Some(source) = &options.software {
        match pack_software(source, &tmp.path, progress, cancel) {
            Ok(file) => files.push(file),
            Err(SoftwarePackError::Cancelled) => {
                return Err(CopyError::Cancelled {
                    dest: dest_root.to_path_buf(),
                });
            }
            Err(SoftwarePackError::Failed(problem)) => {
                log::warn!("{problem}");
                warnings.push(problem);
            }
        }
    }
    write_manifest(&tmp.path, &files)?;
    if let Some(mark) = &options.suspect_mark {
        let path = tmp.path.join(SUSPECT_MARK);
        fs::write(&path, mark).map_err(dest_err("write", &path))?;
    }

    // Put it in place. A different or damaged copy under the same name is moved aside first and removed
    // only once the new one is there.
    let aside = if final_dir.exists() {
        let aside = dest_root.join(format!("{OLD_PREFIX}{name}-{}-{stamp}", std::process::id()));
        fs::rename(&final_dir, &aside).map_err(dest_err("move aside the old copy", &final_dir))?;
        Some(aside)
    } else {
        None
    };
    if let Err(source) = fs::rename(&tmp.path, &final_dir) {
        if let Some(aside) = &aside {
            let _ = fs::rename(aside, &final_dir);
        }
        return Err(CopyError::Destination {
            step: "rename the new copy to",
            path: final_dir,
            source,
        });
    }
    tmp.disarm();
    sync_dir(dest_root)?;
    if let Some(aside) = aside {
        if let Err(e) = fs::remove_dir_all(&aside) {
            warnings.push(format!("could not remove the replaced copy '{}': {e}", aside.display()));
        }
    }

    let removed = rotate(dest_root, &name, keep.max(1), &mut warnings);
    progress.update(Update {
        step: "copy",
        done: total,
        total: Some(total),
        detail: Some("done".into()),
    });
    Ok(CopyOutcome::Copied {
        folder: final_dir,
        files,
        removed,
        warnings,
    })
}

/// Copy folders under `dest_root`, oldest first (folders named `YYYY-MM-DD_HHMM`; others are ignored).
pub fn list_copies(dest_root: &Path) -> Result<Vec<CopyInfo>, CopyError> {
    let mut out = Vec::new();
    let entries = fs::read_dir(dest_root).map_err(dest_err("list", dest_root))?;
    for entry in entries {
        let entry = entry.map_err(dest_err("list", dest_root))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(date) = parse_folder_name(&name) else {
            continue;
        };
        let folder = entry.path();
        if !folder.is_dir() {
            continue;
        }
        let mut files = Vec::new();
        let mut manifest = false;
        let mut suspect = false;
        let mut software = false;
        for f in fs::read_dir(&folder).map_err(dest_err("list", &folder))? {
            let f = f.map_err(dest_err("list", &folder))?;
            let fname = f.file_name().to_string_lossy().into_owned();
            let meta = f.metadata().map_err(dest_err("read the size of", &f.path()))?;
            if fname == MANIFEST {
                manifest = true;
            } else if fname == SUSPECT_MARK {
                suspect = true;
            } else if fname == SOFTWARE_FILE {
                software = meta.is_file();
            } else if meta.is_file() && fname != crate::backup::parity::CODE_MANIFEST {
                files.push(FileInfo {
                    name: fname,
                    bytes: meta.len(),
                });
            }
        }
        files.sort_by(|a, b| a.name.cmp(&b.name));
        let size = files.iter().map(|f| f.bytes).sum();
        out.push(CopyInfo {
            folder,
            name,
            date,
            files,
            size,
            manifest,
            suspect,
            software,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Re-reads a copy and compares every file with its `SHA256SUMS` line.
pub fn check_copy(info: &CopyInfo, progress: &dyn Progress, cancel: &Cancel) -> CopyCheck {
    let verdict = check_folder(&info.folder, progress, cancel);
    CopyCheck {
        folder: info.folder.clone(),
        verdict,
    }
}

fn check_folder(folder: &Path, progress: &dyn Progress, cancel: &Cancel) -> CheckVerdict {
    let text = match fs::read_to_string(folder.join(MANIFEST)) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return CheckVerdict::NoManifest,
        Err(e) => {
            return CheckVerdict::Unreadable {
                error: format!("cannot read '{MANIFEST}': {e}"),
            };
        }
    };
    let manifest = match parse_manifest(&text) {
        Ok(m) => m,
        Err(problem) => {
            return CheckVerdict::Damaged {
                problems: vec![problem],
            };
        }
    };
    let total = manifest
        .keys()
        .map(|n| fs::metadata(folder.join(n)).map(|m| m.len()).unwrap_or(0))
        .sum();
    let mut meter = Meter::new(progress, "copy", total, PROGRESS_EVERY, "checking the copy".into());
    let mut problems = Vec::new();
    for (name, expected) in &manifest {
        let path = folder.join(name);
        match hash_file(&path, &mut meter, cancel) {
            Ok(None) => return CheckVerdict::Cancelled,
            Ok(Some(actual)) if &actual == expected => {}
            Ok(Some(_)) => problems.push(format!("'{name}' does not match its SHA-256 in {MANIFEST}")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => problems.push(format!("'{name}' is missing")),
            Err(e) => problems.push(format!("'{name}' cannot be read: {e}")),
        }
    }
    if problems.is_empty() {
        CheckVerdict::Ok
    } else {
        CheckVerdict::Damaged { problems }
    }
}

/// Parses `sha256sum` output: `<64 hex>  <name>` or `<64 hex> *<name>` per line.
pub fn parse_manifest(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = || format!("line {} of {MANIFEST} is not '<sha256>  <file>': '{line}'", i + 1);
        let (hash, rest) = line.split_once(' ').ok_or_else(bad)?;
        let name = rest
            .strip_prefix(' ')
            .or_else(|| rest.strip_prefix('*'))
            .ok_or_else(bad)?;
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) || name.is_empty() || name.contains('/') {
            return Err(bad());
        }
        out.insert(name.to_string(), hash.to_ascii_lowercase());
    }
    if out.is_empty() {
        return Err(format!("{MANIFEST} lists no file"));
    }
    Ok(out)
}

/// Same names, same sizes, and the content matches the manifest.
fn same_copy_there(folder: &Path, names: &[String], sizes: &[u64], progress: &dyn Progress, cancel: &Cancel) -> bool {
    let Ok(text) = fs::read_to_string(folder.join(MANIFEST)) else {
        return false;
    };
    let Ok(manifest) = parse_manifest(&text) else {
        return false;
    };
    // The software the copy may carry is not part of the pair.
    if manifest.keys().filter(|n| *n != SOFTWARE_FILE).count() != names.len() {
        return false;
    }
    for (name, &size) in names.iter().zip(sizes) {
        if !manifest.contains_key(name) || fs::metadata(folder.join(name)).map(|m| m.len()).ok() != Some(size) {
            return false;
        }
    }
    check_folder(folder, progress, cancel) == CheckVerdict::Ok
}

/// Why the software was not packed into a copy.
enum SoftwarePackError {
    Cancelled,
    /// A warning for the copy's result: the copy goes on without the software.
    Failed(String),
}

/// Packs the software into `folder` as [`SOFTWARE_FILE`]: written as `.partial`, read back against the
/// SHA-256 of what was written, then renamed. Nothing of it stays on failure.
fn pack_software(
    source: &SoftwareSource,
    folder: &Path,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<CopiedFile, SoftwarePackError> {
    use crate::backup::software::{SoftwareError, pack};
    let partial = folder.join(format!("{SOFTWARE_FILE}.partial"));
    let failed = |what: String| {
        SoftwarePackError::Failed(format!(
            "the copy does not carry the software ({SOFTWARE_FILE}): {what}. The backup itself was copied and \
             proven; 'secours software --from copy:ID' cannot use this copy."
        ))
    };
    let packed = match pack(&source.root, &source.exclude, &partial, progress, cancel) {
        Ok(p) => p,
        Err(SoftwareError::Cancelled) | Err(SoftwareError::Walk(crate::backup::parity::ParityError::Cancelled)) => {
            return Err(SoftwarePackError::Cancelled);
        }
        Err(e) => return Err(failed(e.to_string())),
    };
    let mut meter = Meter::new(
        progress,
        "copy",
        packed.bytes,
        PROGRESS_EVERY,
        "checking the software".into(),
    );
    let read_back = hash_file(&partial, &mut meter, cancel);
    let outcome = match read_back {
        Ok(Some(h)) if h == packed.sha256 => fs::rename(&partial, folder.join(SOFTWARE_FILE))
            .map_err(|e| failed(format!("cannot rename '{}': {e}", partial.display()))),
        Ok(Some(h)) => Err(failed(format!(
            "'{}' read back with SHA-256 '{h}' instead of '{}'",
            partial.display(),
            packed.sha256
        ))),
        Ok(None) => Err(SoftwarePackError::Cancelled),
        Err(e) => Err(failed(format!("cannot read back '{}': {e}", partial.display()))),
    };
    if let Err(e) = outcome {
        let _ = fs::remove_file(&partial);
        return Err(e);
    }
    Ok(CopiedFile {
        name: SOFTWARE_FILE.to_owned(),
        bytes: packed.bytes,
        sha256: packed.sha256,
    })
}

/// A temporary folder removed on drop unless disarmed (covers errors, cancel and panics).
struct TempDir {
    path: PathBuf,
    armed: bool,
}

impl TempDir {
    fn create(path: PathBuf) -> Result<Self, CopyError> {
        fs::create_dir(&path).map_err(dest_err("create the temporary folder", &path))?;
        Ok(TempDir { path, armed: true })
    }

    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if self.armed {
            if let Err(e) = fs::remove_dir_all(&self.path) {
                log::warn!("could not remove the temporary folder '{}': {e}", self.path.display());
            }
        }
    }
}

enum Chunk {
    Data(Vec<u8>, usize),
    Failed(io::Error),
}

/// Copies `src` to `dst` (a new file), returning the SHA-256 of what was read from `src` and of what was
/// read back from `dst`. A reader thread reads and hashes while this thread writes, through a fixed set of
/// recycled buffers; a checker thread reads the copy back, through its own file handle, as far as the
/// flusher has made it durable, so that the read-back ends right after the final sync instead of
/// starting there.
#[allow(clippy::too_many_arguments)]
fn copy_file(
    src: &Path,
    dst: &Path,
    options: &CopyOptions,
    written: &mut u64,
    meter: &mut Meter,
    cancel: &Cancel,
    dest_root: &Path,
) -> Result<(String, String), CopyError> {
    let source_err = |source| CopyError::Source {
        path: src.to_path_buf(),
        source,
    };
    let mut input = File::open(src).map_err(source_err)?;
    // The file opened must be the one verified, and stay so until its last byte is read.
    let expected = options.verified.iter().find(|(p, _)| p == src).map(|(_, id)| *id);
    let unchanged = |file: &File| -> Result<(), CopyError> {
        let Some(expected) = &expected else { return Ok(()) };
        let meta = file.metadata().map_err(|e| CopyError::Source {
            path: src.to_path_buf(),
            source: e,
        })?;
        describe_change(src, expected, &FileIdentity::of_metadata(&meta)).map_err(|reason| CopyError::Changed {
            path: src.to_path_buf(),
            reason,
        })
    };
    unchanged(&input)?;
    let watched = input.try_clone().map_err(source_err)?;
    // The application's data: only its owner may read the copy.
    let mut out = {
        use std::os::unix::fs::OpenOptionsExt;
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(dst)
    }
    .map_err(dest_err("create", dst))?;

    let (full_tx, full_rx) = mpsc::sync_channel::<Chunk>(BUFFERS);
    let (free_tx, free_rx) = mpsc::sync_channel::<Vec<u8>>(BUFFERS);
    for _ in 0..BUFFERS {
        // Cannot fail: the receiver is alive and the channel has room for all buffers.
        let _ = free_tx.send(vec![0u8; BUF]);
    }

    // The disk writes while the copy goes on: without this, a machine with plenty of memory keeps the
    // whole file in its cache and writes it all during the final fsync, after the reading and hashing.
    let flusher_file = out.try_clone().ok();
    let mut check_file = File::open(dst).map_err(dest_err("read back", dst))?;
    let (queued_cell, finished_cell) = (AtomicU64::new(0), AtomicBool::new(false));
    let (queued, finished) = (&queued_cell, &finished_cell);
    // Bytes of the copy known to be on disk; `ended` once the last sync is done (or the copy failed).
    let (durable_cell, ended_cell, failed_cell) = (AtomicU64::new(0), AtomicBool::new(false), AtomicBool::new(false));
    let (durable, ended, failed) = (&durable_cell, &ended_cell, &failed_cell);

    std::thread::scope(|s| {
        if let Some(file) = flusher_file {
            s.spawn(move || {
                let mut flushed = 0u64;
                while !finished.load(Ordering::Acquire) {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    let now = queued.load(Ordering::Acquire);
                    if now - flushed >= FLUSH_EVERY {
                        // A failure here shows again, and is reported, at the final sync_all.
                        if file.sync_data().is_ok() {
                            durable.fetch_max(now, Ordering::AcqRel);
                        }
                        flushed = now;
                    }
                }
            });
        }
        let checker = s.spawn(move || -> io::Result<Option<String>> {
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; BUF];
            let mut done = 0u64;
            loop {
                let is_last = ended.load(Ordering::Acquire);
                if failed.load(Ordering::Acquire) {
                    return Ok(None);
                }
                let limit = durable.load(Ordering::Acquire);
                while done < limit {
                    let want = (limit - done).min(BUF as u64) as usize;
                    let n = check_file.read(&mut buf[..want])?;
                    if n == 0 {
                        return Err(io::Error::other("the copy is shorter than what was written"));
                    }
                    hasher.update(&buf[..n]);
                    done += n as u64;
                }
                if is_last {
                    // Anything beyond what was written would be a different file.
                    if check_file.read(&mut buf)? != 0 {
                        return Err(io::Error::other("the copy is longer than what was written"));
                    }
                    return Ok(Some(hex::encode(hasher.finalize())));
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        });
        let reader = s.spawn(move || {
            let mut hasher = Sha256::new();
            while let Ok(mut buf) = free_rx.recv() {
                let mut len = 0;
                let failed = loop {
                    match input.read(&mut buf[len..]) {
                        Ok(0) => break None,
                        Ok(k) => {
                            len += k;
                            if len == buf.len() {
                                break None;
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => break Some(e),
                    }
                };
                if let Some(e) = failed {
                    let _ = full_tx.send(Chunk::Failed(e));
                    return None;
                }
                if len == 0 {
                    return Some(hex::encode(hasher.finalize()));
                }
                hasher.update(&buf[..len]);
                if full_tx.send(Chunk::Data(buf, len)).is_err() {
                    return None; // The writer stopped.
                }
            }
            None
        });

        // The writer owns the receiving ends so an early return here also stops the reader.
        let write_result = (move || -> Result<(), CopyError> {
            let (full_rx, free_tx) = (full_rx, free_tx);
            while let Ok(chunk) = full_rx.recv() {
                if cancel.is_cancelled() {
                    return Err(CopyError::Cancelled {
                        dest: dest_root.to_path_buf(),
                    });
                }
                let (buf, len) = match chunk {
                    Chunk::Data(buf, len) => (buf, len),
                    Chunk::Failed(source) => return Err(source_err(source)),
                };
                write_limited(&mut out, &buf[..len], options, written).map_err(dest_err("write", dst))?;
                queued.fetch_add(len as u64, Ordering::Release);
                meter.add(len as u64);
                let _ = free_tx.send(buf);
            }
            out.sync_all().map_err(dest_err("flush to disk", dst))?;
            durable.store(queued.load(Ordering::Acquire), Ordering::Release);
            Ok(())
        })();
        finished.store(true, Ordering::Release);
        failed.store(write_result.is_err(), Ordering::Release);
        ended.store(true, Ordering::Release);

        // A panicked reader or checker gives no hash, reported below.
        let hash: Option<String> = reader.join().unwrap_or_default();
        let checked = checker
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the read-back stopped unexpectedly")));
        write_result?;
        let hash = hash.ok_or_else(|| source_err(io::Error::other("the reader stopped unexpectedly")))?;
        unchanged(&watched)?;
        match checked {
            Ok(Some(read_back)) => Ok((hash, read_back)),
            Ok(None) => Err(source_err(io::Error::other("the reader stopped unexpectedly"))),
            Err(source) => Err(CopyError::Destination {
                step: "read back",
                path: dst.to_path_buf(),
                source,
            }),
        }
    })
}

fn write_limited(out: &mut File, data: &[u8], options: &CopyOptions, written: &mut u64) -> io::Result<()> {
    if let Some(limit) = options.fail_after_bytes {
        if *written + data.len() as u64 > limit {
            let k = limit.saturating_sub(*written) as usize;
            out.write_all(&data[..k])?;
            *written += k as u64;
            return Err(io::Error::other(
                "injected failure after the test limit of bytes (test only)",
            ));
        }
    }
    out.write_all(data)?;
    *written += data.len() as u64;
    Ok(())
}

/// SHA-256 of a file; `Ok(None)` when cancelled.
fn hash_file(path: &Path, meter: &mut Meter, cancel: &Cancel) -> io::Result<Option<String>> {
    Ok(sha256_stream(&mut File::open(path)?, meter, cancel)?.map(|(_, hash)| hash))
}

fn write_manifest(folder: &Path, files: &[CopiedFile]) -> Result<(), CopyError> {
    let text: String = files.iter().map(|f| format!("{}  {}\n", f.sha256, f.name)).collect();
    let partial = folder.join(format!("{MANIFEST}.partial"));
    let mut out = File::create_new(&partial).map_err(dest_err("create", &partial))?;
    out.write_all(text.as_bytes()).map_err(dest_err("write", &partial))?;
    out.sync_all().map_err(dest_err("flush to disk", &partial))?;
    let path = folder.join(MANIFEST);
    fs::rename(&partial, &path).map_err(dest_err("rename", &partial))?;
    sync_dir(folder)
}

fn sync_dir(dir: &Path) -> Result<(), CopyError> {
    crate::files::durable::sync_dir(dir).map_err(dest_err("flush to disk the folder", dir))
}

/// Removes temporary folders left by a crashed copy (old enough not to belong to a running one).
fn remove_stale_temporaries(dest_root: &Path) {
    let Ok(entries) = fs::read_dir(dest_root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with(TMP_PREFIX) || name.starts_with(OLD_PREFIX)) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_AFTER);
        if old {
            if let Err(e) = fs::remove_dir_all(entry.path()) {
                log::warn!("could not remove the leftover '{}': {e}", entry.path().display());
            }
        }
    }
}

/// Removes the oldest complete copies beyond `keep`, never the one just made, and, when that one is marked
/// suspect, never the newest copy that is not (a suspect pair is never copied over the last good copy: one
/// more copy is then kept).
fn rotate(dest_root: &Path, newest: &str, keep: usize, warnings: &mut Vec<String>) -> Vec<PathBuf> {
    let copies = match list_copies(dest_root) {
        Ok(c) => c,
        Err(e) => {
            warnings.push(format!("old copies were not rotated: {e}"));
            return Vec::new();
        }
    };
    // When the copy just made is suspect, the newest good one stays (a good copy just made is itself that).
    let made_suspect = copies.iter().any(|c| c.name == newest && c.suspect);
    let last_good = copies
        .iter()
        .filter(|c| made_suspect && c.manifest && !c.suspect && c.name != newest)
        .map(|c| c.name.as_str())
        .next_back();
    let others: Vec<&CopyInfo> = copies.iter().filter(|c| c.manifest && c.name != newest).collect();
    let excess = (others.len() + 1).saturating_sub(keep);
    let mut removed = Vec::new();
    for old in others
        .into_iter()
        .filter(|c| Some(c.name.as_str()) != last_good)
        .take(excess)
    {
        match fs::remove_dir_all(&old.folder) {
            Ok(()) => removed.push(old.folder.clone()),
            Err(e) => warnings.push(format!("could not remove the old copy '{}': {e}", old.folder.display())),
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_round_trip_and_reject_lookalikes() {
        let t: Zoned = "2024-03-05T07:08:09[Europe/Paris]".parse().unwrap();
        assert_eq!(folder_name(&t), "2024-03-05_0708");
        assert_eq!(
            parse_folder_name("2024-03-05_0708"),
            Some(jiff::civil::date(2024, 3, 5).at(7, 8, 0, 0))
        );
        for bad in [
            "2024-03-05_070",
            "2024-13-05_0708",
            "2024-03-05_2508",
            "2024-03-05-0708",
            "+024-03-05_0708",
        ] {
            assert_eq!(parse_folder_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn manifest_lines_in_both_sha256sum_modes() {
        let h = "a".repeat(64);
        let m = parse_manifest(&format!("{h}  app.gz\n{h} *media.taz\n")).unwrap();
        assert_eq!(m.len(), 2);
        assert!(parse_manifest(&format!("{h} app.gz\n")).is_err());
        assert!(parse_manifest("zz  app.gz\n").is_err());
        assert!(parse_manifest(&format!("{h}  ../x\n")).is_err());
        assert!(parse_manifest("").is_err());
    }

    #[test]
    fn destination_outside_volumes_is_not_checked() {
        let tmp = tempfile::tempdir().unwrap();
        let volumes = tmp.path().join("Volumes");
        fs::create_dir_all(volumes.join("Backup")).unwrap();
        assert!(check_destination(&tmp.path().join("elsewhere"), &volumes).is_ok());
        let err = check_destination(&volumes.join("Backup/secours"), &volumes).unwrap_err();
        assert!(err.to_string().contains("the disk 'Backup' is not connected"), "{err}");
    }
}
