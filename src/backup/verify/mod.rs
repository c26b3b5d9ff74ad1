//! Backup verification: is `<dbname>.gz` a complete mysqldump and is `media.taz` a sound, safe tar.gz?
//!
//! Here: the API (verdicts, reports, the media layout) and the driver that feeds a dump's inflated bytes to
//! its scanner. Beside it: [`gzip`] (the strict multi-member reader, also the restore's), `dump` (is the SQL a
//! complete mysqldump), `tar` (the media check) and `layout` (where the media folders sit). The tar stream
//! itself is read by [`crate::files::archive`], the one reading the restore's extraction walks too, so the
//! verdict and the extraction cannot disagree on what an archive holds. May use what [`crate::backup`] may
//! (here: [`crate::db`]'s dump reader and the ground modules); the restore uses this, never the reverse.
//!
//! Guarantees:
//! - Each file is read once, front to back, in fixed-size buffers: memory stays constant whatever the size.
//! - Every gzip member is inflated to its end and its CRC32 and ISIZE trailer are checked; a file that ends
//!   early (truncated), a damaged byte, or bytes after the last member are reported as `corrupt`, never as a
//!   silent end of file. Offsets in gzip faults count bytes of the *compressed* file.
//! - Dumps: the SQL must start like a mysqldump (`-- MySQL dump`, `-- MariaDB dump`, the MariaDB sandbox line
//!   followed by `-- MariaDB dump`, or Secours' own `-- Secours dump`) and its last non-blank line must be
//!   `-- Dump completed…`. `CREATE TABLE` and `INSERT INTO` lines are counted without buffering lines (a line
//!   can be many MB; contents are bytes, not UTF-8). Offsets in dump faults count *decompressed* bytes.
//! - Media: every tar header checksum is checked, every entry is read to its end, the archive must end with
//!   its two zero blocks and nothing but zero padding may follow. Offsets in tar faults count *decompressed*
//!   bytes (tar stream offsets). Entries the restore will refuse (absolute paths, `..`, links leading out of
//!   the tree, devices, FIFOs: [`crate::files::archive::refusal`], the restore's own list) make the verdict
//!   `unsafe` and are listed. Top-level entries outside the expected media folders are *warnings*, not
//!   faults: the archive is intact and the restore extracts only the expected folders.
//! - Media layout ([`MediaLayout`], found in the same single read): where the media folders sit in the
//!   archive and what a restore will extract from them. The rule: for every entry, the *shallowest*
//!   component that names a media folder (`documents`, `pictures`) marks where it sits, and what comes
//!   before is its prefix (`""`, `"./"`, `"web/"`, `"x/apps/prod/web/"`). The prefixes of the smallest depth
//!   seen win (an `old/documents/` deeper down is only something else the archive holds). Exactly one
//!   such prefix, made of plain components (never `..`, never absolute), is understood: the restore strips
//!   it and takes the media folders from there, everything else is skipped. Media folders at that depth
//!   under different prefixes (`a/documents`, `b/pictures`), no media folder at all, a media folder that is
//!   not a folder, or media folders that hold no file are refused for a restore, with a sentence naming
//!   what the archive holds at its top and what was expected ("would leave the standby without media").
//! - Counts never include macOS AppleDouble entries (`._name` whose data starts with `00 05 16 07`, see
//!   [`crate::files::mac_metadata`]): they are metadata, never extracted as files. Hard-link entries count as
//!   files (the restore extracts them as copies) but add no bytes (their data is stored once).
//! - Dumps are also read statement by statement, as the importer reads them, for what its preflight needs
//!   ([`FileReport::import_facts`]), including whether the dump stays inside its own database: one that
//!   reaches outside (`DROP DATABASE other`, `GRANT`, `SET GLOBAL`…) keeps the verdict `ok` (the file is
//!   sound) but says so in [`FileReport::containment`], and the import and the restore refuse it.
//! - "Cannot read" (open/permission/I-O errors) is a [`VerifyError`], distinct from a `corrupt` verdict.

mod dump;
pub mod gzip;
mod layout;
mod tar;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::db::importer::{DumpFacts, Outside};
use crate::db::reader::DumpReader;
use crate::progress::{Cancel, Progress, Update};

use dump::DumpScan;
pub use gzip::{GzFault, GzMembers, GzSource};
use tar::MediaScan;

/// Size of the read and inflate buffers: big enough that per-call overhead vanishes.
const CHUNK: usize = 256 * 1024;
/// Progress is reported every this many compressed bytes, so the sink is not called in the hot path.
const PROGRESS_EVERY: u64 = 8 << 20;

/// Which backup file a report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Db,
    Media,
}

/// Which stream an offset counts bytes of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stream {
    /// Bytes of the file on disk (gzip level faults).
    Compressed,
    /// Bytes of the inflated content (SQL text or tar stream).
    Decompressed,
}

/// Where a fault was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct At {
    pub stream: Stream,
    pub offset: u64,
}

/// The outcome of checking one backup file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// Complete and sound.
    Ok,
    /// Damaged, truncated or not what it should be; `reason` is a sentence for people.
    Corrupt {
        at: Option<At>,
        entry: Option<String>,
        reason: String,
    },
    /// Sound, but holds entries the restore will refuse; each is listed with why.
    Unsafe { entries: Vec<String> },
}

impl Verdict {
    pub fn is_ok(&self) -> bool {
        matches!(self, Verdict::Ok)
    }
}

/// What was counted inside the file. Media: every entry of the archive, inside the media folders or not;
/// `files` are regular files and hard links (extracted as copies), `bytes` the file data stored (a hard
/// link stores none); AppleDouble entries are not counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Counts {
    Db { tables: u64, inserts: u64 },
    Media { files: u64, folders: u64, bytes: u64 },
}

/// Where the media folders sit inside a media archive, and what a restore will extract from them (see the
/// module documentation for the rule). Kept with the verification's details (history), read back by the
/// restore's preflight ([`crate::restore::media::media_plan`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaLayout {
    /// The media folders looked for (the environment's `media-dirs`).
    pub expected: Vec<String>,
    /// What comes before the media folders in the entry names, as first written in the archive: `""`,
    /// `"./"`, `"web/"`, `"x/apps/prod/web/"`. `None` when they were not found in exactly one place.
    pub prefix: Option<String>,
    /// True when a restore can use the archive.
    pub usable: bool,
    /// Why a restore refuses the archive (`None` when usable).
    pub refusal: Option<String>,
    /// The media folders found under the prefix, with what will be extracted from each.
    pub folders: Vec<MediaFolder>,
    /// Files that will be extracted: regular files and hard links (extracted as copies).
    pub files: u64,
    /// Bytes of file data stored in the archive for them (a hard-link copy adds its target's size on disk).
    pub bytes: u64,
    /// Entries a restore skips: outside the media folders, and not the folders that lead to them.
    pub skipped: u64,
    /// macOS AppleDouble entries (`._name`): metadata, never extracted as files.
    pub apple_double: u64,
    /// The archive's top-level names (the first 20), AppleDouble entries left out.
    pub top_level: Vec<String>,
}

/// One media folder of a [`MediaLayout`]: what will be extracted from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaFolder {
    pub name: String,
    /// Regular files and hard links.
    pub files: u64,
    pub bytes: u64,
    /// Folders, the media folder's own entry included.
    pub folders: u64,
    pub symlinks: u64,
}

impl MediaLayout {
    /// Reads the layout back from a verification's stored details (the media file's `FileOutcome` as JSON);
    /// `None` when there is none (a verification recorded before layouts were, or not of a media file).
    pub fn from_details(details: &serde_json::Value) -> Option<MediaLayout> {
        serde_json::from_value(details.get("layout")?.clone()).ok()
    }

    /// True when the prefix is empty or only `./`: nothing to strip.
    pub fn at_top(&self) -> bool {
        self.prefix.as_deref().is_some_and(|p| components(p).next().is_none())
    }

    /// One sentence for people: where the media folders are and how many files will be restored, or why
    /// the archive cannot be restored.
    pub fn describe(&self) -> String {
        let Some(prefix) = self.prefix.as_deref().filter(|_| self.usable) else {
            return format!(
                "the archive cannot be restored: {}",
                self.refusal.as_deref().unwrap_or("no media folder")
            );
        };
        let place = if prefix.is_empty() {
            "at the top of the archive".to_owned()
        } else {
            format!("under '{prefix}'")
        };
        let each: Vec<String> = self
            .folders
            .iter()
            .map(|f| format!("'{}': {}", f.name, grouped(f.files)))
            .collect();
        let mut out = format!(
            "media folders found {place}: {} will be restored ({})",
            counted(self.files, "file", "files"),
            each.join(", ")
        );
        if self.apple_double > 0 {
            out.push_str(&format!(
                "; {} ('._…') left out: macOS metadata, not files",
                counted(
                    self.apple_double,
                    "macOS AppleDouble entry",
                    "macOS AppleDouble entries"
                )
            ));
        }
        out
    }
}

/// `5,002 files`, `1 file`.
fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", grouped(n), if n == 1 { one } else { many })
}

/// `5002` → `5,002`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The real components of an entry name: no empty or `.` components.
fn components(name: &str) -> impl Iterator<Item = &str> {
    name.split('/').filter(|c| !c.is_empty() && *c != ".")
}

/// The report on one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileReport {
    pub path: PathBuf,
    pub kind: Kind,
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Size of the file on disk (compressed).
    pub bytes: u64,
    /// Bytes inflated before the check ended (all of them when the verdict is not `corrupt`).
    pub decompressed_bytes: u64,
    /// Number of complete gzip members seen.
    pub gzip_members: u64,
    pub counts: Counts,
    /// The dump's first header line (db only), for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// Things worth saying that do not make the file unusable.
    pub warnings: Vec<String>,
    /// Db only, when the verdict is ok: what an import's preflight needs (remembered with the verdict).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import_facts: Option<DumpFacts>,
    /// Media only, when the archive was read to its end and media folders were expected: where they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layout: Option<MediaLayout>,
    /// Db only, when the verdict is ok: the first statement that reaches outside the dump's database
    /// (the import refuses the dump); absent when every statement stays inside.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub containment: Option<Outside>,
    /// Db only, when the verdict is ok: every table and its rows (remembered with the verdict, compared
    /// with the next dumps by [`crate::backup::anomaly`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shape: Option<DumpShape>,
}

/// What a dump holds, counted in the same single read as its verification: each table with its rows
/// (the row tuples of its INSERTs). A table created and never filled has 0 rows; views are left out.
/// Memory: one entry per table, whatever the dump's size.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpShape {
    pub tables: BTreeMap<String, u64>,
}

impl DumpShape {
    /// Takes one statement into account.
    pub fn observe(&mut self, stmt: &crate::db::reader::Statement) {
        use crate::db::reader::StatementKind;
        let Some(name) = &stmt.table else { return };
        match stmt.kind {
            StatementKind::CreateTable if !self.tables.contains_key(name) => {
                self.tables.insert(name.clone(), 0);
            }
            StatementKind::Insert => match self.tables.get_mut(name) {
                Some(rows) => *rows += stmt.rows,
                None => {
                    self.tables.insert(name.clone(), stmt.rows);
                }
            },
            // mysqldump first creates a placeholder table for each view.
            StatementKind::CreateView => {
                self.tables.remove(name);
            }
            _ => {}
        }
    }

    /// Reads the shape back from a verification's stored details (`None` for one recorded before shapes
    /// were, or not of a dump).
    pub fn from_details(details: &serde_json::Value) -> Option<DumpShape> {
        serde_json::from_value(details.get("shape")?.clone()).ok()
    }
}

/// The file could not be read at all (distinct from a `corrupt` verdict), or the check was cancelled.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot open '{path}': {source}. Check that the file exists and that Secours may read it.")]
    Open { path: PathBuf, source: io::Error },
    #[error("cannot read '{path}': {source}. Check the disk and the permissions, then verify again.")]
    Read { path: PathBuf, source: io::Error },
    #[error("the check of '{path}' was cancelled. Run the verification again to get a verdict.")]
    Cancelled { path: PathBuf },
}

/// Both files of a backup, checked together.
#[derive(Debug, Serialize)]
pub struct PairReport {
    pub db: FileOutcome,
    pub media: FileOutcome,
}

impl PairReport {
    /// True when both files were read and both verdicts are `ok`.
    pub fn all_ok(&self) -> bool {
        self.db.is_ok() && self.media.is_ok()
    }
}

/// One file of a pair: a report, or why there is none.
// Only two of these exist per check; boxing the report would only make callers' matching clumsier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum FileOutcome {
    Checked(FileReport),
    Unreadable { path: PathBuf, error: String },
    Cancelled { path: PathBuf },
}

impl FileOutcome {
    pub fn is_ok(&self) -> bool {
        matches!(self, FileOutcome::Checked(r) if r.verdict.is_ok())
    }

    fn from_result(path: &Path, result: Result<FileReport, VerifyError>) -> Self {
        match result {
            Ok(report) => FileOutcome::Checked(report),
            Err(VerifyError::Cancelled { .. }) => FileOutcome::Cancelled {
                path: path.to_path_buf(),
            },
            Err(e) => FileOutcome::Unreadable {
                path: path.to_path_buf(),
                error: e.to_string(),
            },
        }
    }
}

/// Checks a database dump (`<dbname>.gz`).
pub fn verify_dump(path: &Path, progress: &dyn Progress, cancel: &Cancel) -> Result<FileReport, VerifyError> {
    let mut scan = DumpScan::default();
    // The same inflated bytes also go, once, through the importer's statement reader on another thread:
    // what a later import's preflight needs, and the tables with their rows, are then known without
    // reading the dump again.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
    let (driven, found) = std::thread::scope(|s| {
        let reader = s.spawn(move || {
            let mut shape = DumpShape::default();
            let facts =
                DumpFacts::of_dump_with(DumpReader::new(ChunkReader::new(rx)), |stmt| shape.observe(stmt)).ok()?;
            Some((facts, shape))
        });
        let mut tee = Tee {
            inner: &mut scan,
            tx: Some(tx),
        };
        let driven = drive(path, "verify-db", progress, cancel, &mut tee);
        drop(tee);
        (driven, reader.join().ok().flatten())
    });
    let driven = driven?;
    let verdict = match driven.fault {
        Some(f) => f.into_verdict(),
        None => Verdict::Ok,
    };
    let (import_facts, shape) = match found.filter(|_| verdict.is_ok()) {
        Some((facts, shape)) => (Some(facts), Some(shape)),
        None => (None, None),
    };
    let containment = import_facts.as_ref().and_then(|f| f.outside().cloned());
    Ok(FileReport {
        path: path.to_path_buf(),
        kind: Kind::Db,
        verdict,
        bytes: driven.bytes,
        decompressed_bytes: driven.decompressed,
        gzip_members: driven.members,
        counts: Counts::Db {
            tables: scan.tables,
            inserts: scan.inserts,
        },
        header: scan.header_line(),
        warnings: Vec::new(),
        import_facts,
        layout: None,
        containment,
        shape,
    })
}

/// Feeds a scanner and sends a copy of every chunk to another thread (until that one stops reading).
struct Tee<'a> {
    inner: &'a mut DumpScan,
    tx: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
}

impl Scanner for Tee<'_> {
    fn feed(&mut self, data: &[u8], offset: u64) -> Result<(), Fault> {
        self.inner.feed(data, offset)?;
        if let Some(tx) = &self.tx
            && tx.send(data.to_vec()).is_err()
        {
            self.tx = None;
        }
        Ok(())
    }

    fn finish(&mut self, offset: u64) -> Result<(), Fault> {
        self.inner.finish(offset)
    }
}

/// The chunks another thread sends, read as one stream that ends when the sender is gone.
struct ChunkReader {
    rx: std::sync::mpsc::Receiver<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
}

impl ChunkReader {
    fn new(rx: std::sync::mpsc::Receiver<Vec<u8>>) -> Self {
        ChunkReader {
            rx,
            current: Vec::new(),
            pos: 0,
        }
    }
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            match self.rx.recv() {
                Ok(chunk) => {
                    self.current = chunk;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Checks a media archive (`media.taz`); `expected_top` are the folders it should hold, e.g.
/// `["documents", "pictures"]` (empty: no expectation).
pub fn verify_media(
    path: &Path,
    expected_top: &[String],
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<FileReport, VerifyError> {
    let mut scan = MediaScan::new(expected_top);
    let driven = tar::scan_media(path, "verify-media", progress, cancel, &mut scan)?;
    let mut warnings = Vec::new();
    let clean = driven.fault.is_none();
    let verdict = match driven.fault {
        Some(f) => f.into_verdict(),
        None if !scan.unsafe_entries.is_empty() => {
            let mut entries = scan.unsafe_entries.clone();
            if scan.unsafe_count > entries.len() as u64 {
                entries.push(format!("… and {} more", scan.unsafe_count - entries.len() as u64));
            }
            Verdict::Unsafe { entries }
        }
        None => Verdict::Ok,
    };
    let mut layout = None;
    if clean {
        warnings.extend(scan.warnings.iter().cloned());
        if !expected_top.is_empty() {
            let found = scan.layout.finish(&scan.top_level, scan.apple_double);
            warnings.extend(layout_warnings(&found, &scan.top_level));
            layout = Some(found);
        }
    }
    Ok(FileReport {
        path: path.to_path_buf(),
        kind: Kind::Media,
        verdict,
        bytes: driven.bytes,
        decompressed_bytes: driven.decompressed,
        gzip_members: driven.members,
        counts: Counts::Media {
            files: scan.files,
            folders: scan.folders,
            bytes: scan.bytes,
        },
        header: None,
        warnings,
        import_facts: None,
        layout,
        containment: None,
        shape: None,
    })
}

/// Checks both files of a backup, each in its own thread (the machine has cores to spare for inflating).
pub fn verify_pair(
    db: &Path,
    media: &Path,
    expected_top: &[String],
    progress: &dyn Progress,
    cancel: &Cancel,
) -> PairReport {
    let (db_result, media_result) = std::thread::scope(|s| {
        let media_thread = s.spawn(|| verify_media(media, expected_top, progress, cancel));
        let db_result = verify_dump(db, progress, cancel);
        let media_result = match media_thread.join() {
            Ok(r) => r,
            // A panic in the checker is a bug; report the file as unreadable rather than crash the caller.
            Err(_) => Err(VerifyError::Read {
                path: media.to_path_buf(),
                source: io::Error::other("the checker stopped unexpectedly"),
            }),
        };
        (db_result, media_result)
    });
    PairReport {
        db: FileOutcome::from_result(db, db_result),
        media: FileOutcome::from_result(media, media_result),
    }
}

/// What is worth saying about an archive whose layout was found: entries the restore ignores, media folders
/// it lacks. (A refused layout says it all in its refusal.)
fn layout_warnings(layout: &MediaLayout, top_level: &BTreeSet<String>) -> Vec<String> {
    let mut out = Vec::new();
    let Some(prefix) = layout.prefix.as_deref() else {
        if let Some(why) = &layout.refusal {
            out.push(why.clone());
        }
        return out;
    };
    let wanted = |p: &str| {
        layout
            .expected
            .iter()
            .map(|e| format!("'{p}{e}'"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if layout.skipped > 0 {
        if layout.at_top() {
            let unexpected: Vec<String> = top_level
                .iter()
                .filter(|t| !layout.expected.iter().any(|e| e == *t))
                .map(|t| format!("'{t}'"))
                .collect();
            out.push(format!(
                "unexpected top-level entries {} (expected only {}); the restore ignores them",
                unexpected.join(", "),
                wanted("")
            ));
        } else {
            out.push(format!(
                "{} outside {} (the media folders under '{prefix}'); the restore ignores them",
                counted(layout.skipped, "entry lies", "entries lie"),
                wanted(prefix)
            ));
        }
    }
    let shown = if layout.at_top() { "" } else { prefix };
    let missing: Vec<String> = layout
        .expected
        .iter()
        .filter(|e| !layout.folders.iter().any(|f| f.name == **e))
        .map(|e| format!("'{shown}{e}'"))
        .collect();
    if !missing.is_empty() {
        out.push(format!("the archive holds no {} folder", missing.join(" or ")));
    }
    if let Some(why) = &layout.refusal {
        out.push(why.clone());
    }
    out
}

// ---------------------------------------------------------------------------------------------------------
// Driving a scanner over an inflated file (the dump; the media archive is walked entry by entry in `tar`).

/// A fault found in the content.
#[derive(Debug, Clone)]
struct Fault {
    at: At,
    entry: Option<String>,
    reason: String,
}

impl Fault {
    fn into_verdict(self) -> Verdict {
        Verdict::Corrupt {
            at: Some(self.at),
            entry: self.entry,
            reason: self.reason,
        }
    }

    fn decompressed(offset: u64, entry: Option<String>, reason: String) -> Self {
        Fault {
            at: At {
                stream: Stream::Decompressed,
                offset,
            },
            entry,
            reason,
        }
    }
}

/// Something that looks at the inflated content, chunk by chunk.
trait Scanner {
    /// `offset` is the decompressed offset of `data[0]`.
    fn feed(&mut self, data: &[u8], offset: u64) -> Result<(), Fault>;
    /// The content ended cleanly at `offset` (all gzip members were sound).
    fn finish(&mut self, offset: u64) -> Result<(), Fault>;
}

struct Driven {
    bytes: u64,
    decompressed: u64,
    members: u64,
    fault: Option<Fault>,
}

fn drive(
    path: &Path,
    step: &'static str,
    progress: &dyn Progress,
    cancel: &Cancel,
    scanner: &mut dyn Scanner,
) -> Result<Driven, VerifyError> {
    let open_err = |source| VerifyError::Open {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(open_err)?;
    let bytes = file.metadata().map_err(open_err)?.len();
    let mut gz = GzMembers::new(file);
    let mut out = vec![0u8; CHUNK];
    let mut decompressed = 0u64;
    let mut next_report = 0u64;
    let fault = loop {
        if cancel.is_cancelled() {
            return Err(VerifyError::Cancelled {
                path: path.to_path_buf(),
            });
        }
        let consumed = gz.compressed_offset();
        if consumed >= next_report {
            progress.update(Update {
                step,
                done: consumed,
                total: Some(bytes),
                detail: None,
            });
            next_report = consumed + PROGRESS_EVERY;
        }
        match gz.read_chunk(&mut out) {
            Ok(0) => break scanner.finish(decompressed).err(),
            Ok(n) => {
                if let Err(f) = scanner.feed(&out[..n], decompressed) {
                    break Some(f);
                }
                decompressed += n as u64;
            }
            Err(GzFault::Io(source)) => {
                return Err(VerifyError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
            Err(GzFault::Corrupt { offset, reason }) => {
                break Some(Fault {
                    at: At {
                        stream: Stream::Compressed,
                        offset,
                    },
                    entry: None,
                    reason,
                });
            }
        }
    };
    progress.update(Update {
        step,
        done: gz.compressed_offset(),
        total: Some(bytes),
        detail: None,
    });
    Ok(Driven {
        bytes,
        decompressed,
        members: gz.members(),
        fault,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards the shape an anomaly is judged on: rows per table from the INSERT tuples, a table never
    // filled at 0, views (and their placeholder tables) left out.
    #[test]
    fn the_dump_shape_counts_rows_per_table_and_leaves_views_out() {
        let sql = b"CREATE TABLE `facture` (id int);\nINSERT INTO `facture` VALUES (1),(2),(3);\n\
                    INSERT INTO `facture` VALUES (4);\nCREATE TABLE `vide` (id int);\n\
                    CREATE TABLE `v_list` (id tinyint);\n/*!50001 DROP TABLE IF EXISTS `v_list`*/;\n\
                    /*!50001 CREATE VIEW `v_list` AS select 1 AS `id` */;\n";
        let mut shape = DumpShape::default();
        for stmt in DumpReader::new(&sql[..]) {
            shape.observe(&stmt.unwrap());
        }
        let expected: BTreeMap<String, u64> = [("facture".to_owned(), 4), ("vide".to_owned(), 0)].into();
        assert_eq!(shape.tables, expected);
        let details = serde_json::json!({ "shape": shape });
        assert_eq!(DumpShape::from_details(&details), Some(shape));
        assert_eq!(DumpShape::from_details(&serde_json::json!({})), None);
    }
}
