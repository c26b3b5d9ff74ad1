//! Backup verification: is `<dbname>.gz` a complete mysqldump and is `media.taz` a sound, safe tar.gz?
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
//!   the tree, devices, FIFOs) make the verdict `unsafe` and are listed. Top-level entries outside the
//!   expected media folders are *warnings*, not faults: the archive is intact and the restore extracts only
//!   the expected folders.
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

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use flate2::{Decompress, FlushDecompress, Status};
use serde::{Deserialize, Serialize};

use crate::files::mac_metadata;

use crate::db::importer::{DumpFacts, Outside};
use crate::db::reader::DumpReader;
use crate::progress::{Cancel, Progress, Update};

/// Size of the read and inflate buffers: big enough that per-call overhead vanishes.
const CHUNK: usize = 256 * 1024;
/// Progress is reported every this many compressed bytes, so the sink is not called in the hot path.
const PROGRESS_EVERY: u64 = 8 << 20;
/// How many unsafe entries are listed by name before the rest are summarised.
const MAX_LISTED: usize = 50;

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
    let mut scan = TarScan {
        layout: LayoutScan::new(expected_top),
        ..TarScan::default()
    };
    let driven = drive(path, "verify-media", progress, cancel, &mut scan)?;
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
// The layout of a media archive.

/// Candidate prefixes kept at once; two already make the layout ambiguous.
const MAX_CANDIDATES: usize = 8;
/// Folders outside the media folders remembered (to tell the prefix's own folders from skipped entries),
/// and how deep.
const MAX_SHALLOW: usize = 4096;
const MAX_PREFIX_DEPTH: usize = 16;
/// Names listed in messages.
const MAX_NAMES: usize = 20;

/// Media folders found under one prefix.
struct Candidate {
    comps: Vec<String>,
    shown: String,
    /// Indexed like `LayoutScan::expected`.
    folders: Vec<Option<MediaFolder>>,
    /// Entries under this prefix's media folders (the media folders' own entries included).
    under: u64,
    /// A media folder's own entry that is not a folder.
    not_folder: Option<String>,
}

/// Finds the layout while the archive is read (see the module documentation for the rule).
#[derive(Default)]
struct LayoutScan {
    expected: Vec<String>,
    min_depth: Option<usize>,
    candidates: Vec<Candidate>,
    more_candidates: bool,
    /// Entries seen (AppleDouble left out).
    entries: u64,
    /// Folder entries outside any media folder, by components (the first `MAX_SHALLOW`).
    shallow_dirs: BTreeMap<Vec<String>, u64>,
}

impl LayoutScan {
    fn new(expected: &[String]) -> Self {
        LayoutScan {
            expected: expected.to_vec(),
            ..LayoutScan::default()
        }
    }

    fn observe(&mut self, name: &str, kind: u8, size: u64) {
        if self.expected.is_empty() {
            return;
        }
        self.entries += 1;
        let comps: Vec<&str> = components(name).collect();
        if name.starts_with('/') || comps.contains(&"..") {
            return; // Unsafe: the verdict says so, and the restore refuses the archive.
        }
        let is_folder = matches!(kind, b'5' | b'D');
        let Some(k) = comps.iter().position(|c| self.expected.iter().any(|e| e == c)) else {
            if is_folder && comps.len() <= MAX_PREFIX_DEPTH {
                let key: Vec<String> = comps.iter().map(|c| (*c).to_owned()).collect();
                if let Some(n) = self.shallow_dirs.get_mut(&key) {
                    *n += 1;
                } else if self.shallow_dirs.len() < MAX_SHALLOW {
                    self.shallow_dirs.insert(key, 1);
                }
            }
            return;
        };
        match self.min_depth {
            Some(m) if k > m => return,
            Some(m) if k == m => {}
            _ => {
                self.min_depth = Some(k);
                self.candidates.clear();
                self.more_candidates = false;
            }
        }
        let prefix = &comps[..k];
        let i = match self.candidates.iter().position(|c| c.comps == prefix) {
            Some(i) => i,
            None if self.candidates.len() >= MAX_CANDIDATES => {
                self.more_candidates = true;
                return;
            }
            None => {
                self.candidates.push(Candidate {
                    comps: prefix.iter().map(|c| (*c).to_owned()).collect(),
                    shown: literal_prefix(name, k),
                    folders: vec![None; self.expected.len()],
                    under: 0,
                    not_folder: None,
                });
                self.candidates.len() - 1
            }
        };
        let c = &mut self.candidates[i];
        c.under += 1;
        let Some(which) = self.expected.iter().position(|e| e == comps[k]) else {
            return;
        };
        let folder = c.folders[which].get_or_insert_with(|| MediaFolder {
            name: comps[k].to_owned(),
            files: 0,
            bytes: 0,
            folders: 0,
            symlinks: 0,
        });
        if comps.len() == k + 1 && !is_folder {
            c.not_folder.get_or_insert_with(|| name.to_owned());
        }
        match kind {
            b'0' | b'\0' | b'7' | b'S' => {
                folder.files += 1;
                folder.bytes += size;
            }
            b'1' => folder.files += 1,
            b'5' | b'D' => folder.folders += 1,
            b'2' => folder.symlinks += 1,
            _ => {}
        }
    }

    fn finish(&mut self, top_level: &BTreeSet<String>, apple_double: u64) -> MediaLayout {
        let expected = self.expected.clone();
        let top: Vec<String> = top_level.iter().take(MAX_NAMES).cloned().collect();
        let wanted = |p: &str| {
            expected
                .iter()
                .map(|e| format!("'{p}{e}'"))
                .collect::<Vec<_>>()
                .join(" or ")
        };
        let holds = if top.is_empty() {
            "it holds no entries".to_owned()
        } else {
            let mut names = top.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ");
            if top_level.len() > top.len() {
                names.push_str(", …");
            }
            format!("its top level holds {names}")
        };
        let mut layout = MediaLayout {
            expected: expected.clone(),
            prefix: None,
            usable: false,
            refusal: None,
            folders: Vec::new(),
            files: 0,
            bytes: 0,
            skipped: self.entries,
            apple_double,
            top_level: top.clone(),
        };
        const REBUILD: &str = "Check the hourly backup: it should run 'tar czf media.taz documents pictures' in the web \
                               folder.";
        if self.candidates.is_empty() {
            layout.refusal = Some(format!(
                "the archive holds no {} folder, neither at its top nor under a common folder ({holds}): a restore \
                 would leave the standby without media. {REBUILD}",
                wanted("")
            ));
            return layout;
        }
        if self.candidates.len() > 1 || self.more_candidates {
            let places: Vec<String> = self
                .candidates
                .iter()
                .map(|c| format!("'{}'", if c.shown.is_empty() { "./" } else { &c.shown }))
                .collect();
            layout.refusal = Some(format!(
                "the archive holds media folders in several places ({}{}): Secours cannot tell which to restore. \
                 {REBUILD}",
                places.join(", "),
                if self.more_candidates { ", …" } else { "" }
            ));
            return layout;
        }
        let c = &self.candidates[0];
        let ancestors: u64 = self
            .shallow_dirs
            .iter()
            .filter(|(k, _)| c.comps.starts_with(k))
            .map(|(_, n)| n)
            .sum();
        layout.prefix = Some(c.shown.clone());
        layout.folders = c.folders.iter().flatten().cloned().collect();
        layout.files = layout.folders.iter().map(|f| f.files).sum();
        layout.bytes = layout.folders.iter().map(|f| f.bytes).sum();
        layout.skipped = self.entries.saturating_sub(c.under + ancestors);
        let found = layout
            .folders
            .iter()
            .map(|f| format!("'{}{}'", c.shown, f.name))
            .collect::<Vec<_>>()
            .join(", ");
        if let Some(entry) = &c.not_folder {
            layout.refusal = Some(format!(
                "the archive's '{entry}' is not a folder (a media folder must be one): a restore would refuse it. \
                 {REBUILD}"
            ));
        } else if layout.files == 0 {
            layout.refusal = Some(format!(
                "the archive's media folders ({found}) hold no files: a restore would leave the standby without \
                 media. {REBUILD}"
            ));
        } else {
            layout.usable = true;
        }
        layout
    }
}

/// The part of `name` before its `k`-th real component, as written (`./web/` for `./web/documents/a`).
fn literal_prefix(name: &str, k: usize) -> String {
    let mut seen = 0;
    let mut at = 0;
    for part in name.split('/') {
        if !part.is_empty() && part != "." {
            if seen == k {
                return name[..at].to_owned();
            }
            seen += 1;
        }
        at += part.len() + 1;
    }
    String::new()
}

// ---------------------------------------------------------------------------------------------------------
// Driving a scanner over an inflated file.

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

// ---------------------------------------------------------------------------------------------------------
// Gzip, member by member.

/// Why inflating stopped.
#[derive(Debug)]
pub enum GzFault {
    /// The underlying file could not be read.
    Io(io::Error),
    /// The gzip data is damaged; `offset` counts bytes of the compressed file.
    Corrupt { offset: u64, reason: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GzState {
    /// Before a member header (or at the clean end of the file).
    Start,
    Body,
    Done,
}

/// A strict multi-member gzip reader: every member's CRC32 and ISIZE are checked, a truncated file is an
/// error, and bytes after the last member are an error (not ignored as `gzip -t` does with a warning).
/// Also usable as a plain [`Read`], where faults become `InvalidData` errors.
pub struct GzMembers<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
    /// Compressed offset of `buf[0]`.
    base: u64,
    eof: bool,
    inflate: Decompress,
    crc: crc32fast::Hasher,
    size: u32,
    state: GzState,
    members: u64,
    member_start: u64,
}

impl<R: Read> GzMembers<R> {
    pub fn new(inner: R) -> Self {
        GzMembers {
            inner,
            buf: vec![0u8; CHUNK].into_boxed_slice(),
            pos: 0,
            len: 0,
            base: 0,
            eof: false,
            inflate: Decompress::new(false),
            crc: crc32fast::Hasher::new(),
            size: 0,
            state: GzState::Start,
            members: 0,
            member_start: 0,
        }
    }

    /// Bytes of the compressed input consumed so far.
    pub fn compressed_offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Complete members read so far.
    pub fn members(&self) -> u64 {
        self.members
    }

    /// Makes at least `n` (≤ buffer size) bytes available from `pos`, unless the input ends first.
    fn need(&mut self, n: usize) -> Result<bool, GzFault> {
        if self.len - self.pos >= n {
            return Ok(true);
        }
        self.buf.copy_within(self.pos..self.len, 0);
        self.base += self.pos as u64;
        self.len -= self.pos;
        self.pos = 0;
        while self.len < n && !self.eof {
            match self.inner.read(&mut self.buf[self.len..]) {
                Ok(0) => self.eof = true,
                Ok(k) => self.len += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(GzFault::Io(e)),
            }
        }
        Ok(self.len >= n)
    }

    fn corrupt(&self, offset: u64, reason: impl Into<String>) -> GzFault {
        GzFault::Corrupt {
            offset,
            reason: reason.into(),
        }
    }

    fn truncated(&self) -> GzFault {
        self.corrupt(
            self.compressed_offset(),
            format!(
                "the file ends in the middle of gzip member {} (started at byte {}): it is truncated",
                self.members + 1,
                self.member_start
            ),
        )
    }

    fn next_byte(&mut self) -> Result<u8, GzFault> {
        if !self.need(1)? {
            return Err(self.truncated());
        }
        let b = self.buf[self.pos];
        self.pos += 1;
        Ok(b)
    }

    fn skip(&mut self, mut n: usize) -> Result<(), GzFault> {
        while n > 0 {
            if !self.need(1)? {
                return Err(self.truncated());
            }
            let k = n.min(self.len - self.pos);
            self.pos += k;
            n -= k;
        }
        Ok(())
    }

    /// Reads a member header; returns false at the clean end of the input.
    fn header(&mut self) -> Result<bool, GzFault> {
        let first = self.members == 0;
        if !self.need(1)? {
            if first {
                return Err(self.corrupt(0, "the file is empty: it holds no gzip data"));
            }
            return Ok(false);
        }
        self.member_start = self.compressed_offset();
        let have_two = self.need(2)?;
        if !have_two || self.buf[self.pos] != 0x1f || self.buf[self.pos + 1] != 0x8b {
            let reason = if first {
                let shown: Vec<String> = self.buf[self.pos..self.len.min(self.pos + 4)]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                format!(
                    "not a gzip file: it starts with bytes '{}' instead of '1f 8b'",
                    shown.join(" ")
                )
            } else {
                "unexpected data after the end of the gzip data (trailing garbage)".to_string()
            };
            return Err(self.corrupt(self.member_start, reason));
        }
        if !self.need(10)? {
            return Err(self.truncated());
        }
        let method = self.buf[self.pos + 2];
        let flags = self.buf[self.pos + 3];
        if method != 8 {
            return Err(self.corrupt(
                self.member_start + 2,
                format!("unknown gzip compression method '{method}'"),
            ));
        }
        if flags & 0xe0 != 0 {
            return Err(self.corrupt(
                self.member_start + 3,
                format!("reserved gzip header flags set ('{flags:#04x}')"),
            ));
        }
        self.pos += 10;
        if flags & 0x04 != 0 {
            let lo = self.next_byte()? as usize;
            let hi = self.next_byte()? as usize;
            self.skip(lo | (hi << 8))?;
        }
        for flag in [0x08u8, 0x10] {
            // File name and comment: zero-terminated.
            if flags & flag != 0 {
                while self.next_byte()? != 0 {}
            }
        }
        if flags & 0x02 != 0 {
            self.skip(2)?;
        }
        self.inflate.reset(false);
        self.crc = crc32fast::Hasher::new();
        self.size = 0;
        Ok(true)
    }

    fn trailer(&mut self) -> Result<(), GzFault> {
        if !self.need(8)? {
            return Err(self.truncated());
        }
        let at = self.compressed_offset();
        let t = &self.buf[self.pos..self.pos + 8];
        let crc = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
        let isize = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
        self.pos += 8;
        let actual = std::mem::take(&mut self.crc).finalize();
        if crc != actual {
            return Err(self.corrupt(
                at,
                format!(
                    "CRC32 check failed for gzip member {} (started at byte {}): the data is damaged",
                    self.members + 1,
                    self.member_start
                ),
            ));
        }
        if isize != self.size {
            return Err(self.corrupt(
                at + 4,
                format!(
                    "length check failed for gzip member {} (started at byte {}): the data is damaged",
                    self.members + 1,
                    self.member_start
                ),
            ));
        }
        self.members += 1;
        Ok(())
    }

    /// Inflates into `out`; `Ok(0)` means the whole input ended cleanly after a sound member.
    pub fn read_chunk(&mut self, out: &mut [u8]) -> Result<usize, GzFault> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            match self.state {
                GzState::Done => return Ok(0),
                GzState::Start => {
                    if self.header()? {
                        self.state = GzState::Body;
                    } else {
                        self.state = GzState::Done;
                    }
                }
                GzState::Body => {
                    if self.pos == self.len && !self.need(1)? {
                        return Err(self.truncated());
                    }
                    let (in_before, out_before) = (self.inflate.total_in(), self.inflate.total_out());
                    let result = self
                        .inflate
                        .decompress(&self.buf[self.pos..self.len], out, FlushDecompress::None);
                    let consumed = (self.inflate.total_in() - in_before) as usize;
                    let produced = (self.inflate.total_out() - out_before) as usize;
                    let at = self.compressed_offset();
                    self.pos += consumed;
                    let status = result.map_err(|e| {
                        let detail = e.message().unwrap_or("undecodable deflate data");
                        self.corrupt(at, format!("invalid compressed data ({detail}): the file is damaged"))
                    })?;
                    self.crc.update(&out[..produced]);
                    self.size = self.size.wrapping_add(produced as u32);
                    if status == Status::StreamEnd {
                        self.trailer()?;
                        self.state = GzState::Start;
                    } else if consumed == 0 && produced == 0 && self.pos < self.len {
                        return Err(self.corrupt(at, "the compressed data cannot be decoded: the file is damaged"));
                    }
                    if produced > 0 {
                        return Ok(produced);
                    }
                }
            }
        }
    }
}

impl<R: Read> Read for GzMembers<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match self.read_chunk(out) {
            Ok(n) => Ok(n),
            Err(GzFault::Io(e)) => Err(e),
            Err(GzFault::Corrupt { offset, reason }) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{reason} (compressed byte {offset})"),
            )),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Dumps.

const HEAD_KEEP: usize = 8 * 1024;
const TAIL_KEEP: usize = 8 * 1024;
/// Longest line prefix we classify (`CREATE TABLE`).
const PREFIX_MAX: usize = 12;
const SANDBOX_LINE: &[u8] = b"/*M!999999\\- enable the sandbox mode */";
const DUMP_HEADERS: [&[u8]; 3] = [b"-- MySQL dump", b"-- MariaDB dump", b"-- Secours dump"];

/// Counts statement lines and keeps the head and tail of the SQL text.
#[derive(Default)]
struct DumpScan {
    head: Vec<u8>,
    tail: Vec<u8>,
    /// The first bytes of the current line while it is being classified.
    prefix: [u8; PREFIX_MAX],
    prefix_len: usize,
    /// False once the current line was classified (we then only look for its end).
    classifying: bool,
    started: bool,
    header_checked: bool,
    tables: u64,
    inserts: u64,
}

impl DumpScan {
    fn classify(&mut self) {
        let p = &self.prefix[..self.prefix_len];
        if p.starts_with(b"CREATE TABLE") {
            self.tables += 1;
        } else if p.starts_with(b"INSERT INTO") {
            self.inserts += 1;
        }
        self.classifying = false;
    }

    /// Counts lines in `data` with a tiny state machine: only the first `PREFIX_MAX` bytes of a line are kept.
    fn count_lines(&mut self, data: &[u8]) {
        if !self.started {
            self.started = true;
            self.classifying = true;
        }
        let mut i = 0;
        while i < data.len() {
            if self.classifying {
                let rest = &data[i..];
                let want = (PREFIX_MAX - self.prefix_len).min(rest.len());
                match memchr::memchr(b'\n', &rest[..want]) {
                    Some(nl) => {
                        // A short line: classify what we have, start the next line.
                        self.prefix[self.prefix_len..self.prefix_len + nl].copy_from_slice(&rest[..nl]);
                        self.prefix_len += nl;
                        self.classify();
                        self.prefix_len = 0;
                        self.classifying = true;
                        i += nl + 1;
                    }
                    None => {
                        self.prefix[self.prefix_len..self.prefix_len + want].copy_from_slice(&rest[..want]);
                        self.prefix_len += want;
                        i += want;
                        if self.prefix_len == PREFIX_MAX {
                            self.classify();
                        }
                    }
                }
            } else {
                match memchr::memchr(b'\n', &data[i..]) {
                    Some(nl) => {
                        i += nl + 1;
                        self.prefix_len = 0;
                        self.classifying = true;
                    }
                    None => break,
                }
            }
        }
    }

    /// Classifies a last line that has no newline and is shorter than the longest prefix.
    fn end_lines(&mut self) {
        if self.classifying && self.prefix_len > 0 {
            self.classify();
        }
    }

    fn keep_head_and_tail(&mut self, data: &[u8]) {
        if self.head.len() < HEAD_KEEP {
            let k = (HEAD_KEEP - self.head.len()).min(data.len());
            self.head.extend_from_slice(&data[..k]);
        }
        if data.len() >= TAIL_KEEP {
            self.tail.clear();
            self.tail.extend_from_slice(&data[data.len() - TAIL_KEEP..]);
        } else {
            self.tail.extend_from_slice(data);
            if self.tail.len() > 2 * TAIL_KEEP {
                let cut = self.tail.len() - TAIL_KEEP;
                self.tail.drain(..cut);
            }
        }
    }

    /// The recognised header line, when the head is a mysqldump header.
    fn header_line(&self) -> Option<String> {
        let mut lines = self.head.split(|&b| b == b'\n').map(trim_cr);
        let mut first = lines.next()?;
        if first.starts_with(SANDBOX_LINE) {
            first = lines.next()?;
        }
        if DUMP_HEADERS.iter().any(|h| first.starts_with(h)) {
            Some(shown(first))
        } else {
            None
        }
    }

    fn check_header(&mut self) -> Result<(), Fault> {
        self.header_checked = true;
        if self.header_line().is_some() {
            return Ok(());
        }
        let first = self.head.split(|&b| b == b'\n').next().map(trim_cr).unwrap_or_default();
        Err(Fault::decompressed(
            0,
            None,
            format!(
                "not a mysqldump: the SQL starts with '{}' instead of a '-- MySQL dump' or '-- MariaDB dump' \
                 header; check that the backup job writes a mysqldump into this file",
                shown(first)
            ),
        ))
    }
}

impl Scanner for DumpScan {
    fn feed(&mut self, data: &[u8], _offset: u64) -> Result<(), Fault> {
        self.keep_head_and_tail(data);
        // The header is checked as soon as enough of it is here, so a non-dump stops early.
        if !self.header_checked && self.head.len() >= HEAD_KEEP {
            self.check_header()?;
        }
        self.count_lines(data);
        Ok(())
    }

    fn finish(&mut self, offset: u64) -> Result<(), Fault> {
        self.end_lines();
        if offset == 0 {
            return Err(Fault::decompressed(
                0,
                None,
                "the dump is empty: the gzip file holds no SQL; the backup job probably failed".into(),
            ));
        }
        if !self.header_checked {
            self.check_header()?;
        }
        let trimmed = trim_end_ws(&self.tail);
        let last = trimmed.rsplit(|&b| b == b'\n').next().unwrap_or_default();
        if !last.starts_with(b"-- Dump completed") {
            return Err(Fault::decompressed(
                offset,
                None,
                format!(
                    "the dump is incomplete: its last line is '{}' instead of '-- Dump completed…'; \
                     mysqldump stopped before the end",
                    shown(last)
                ),
            ));
        }
        Ok(())
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn trim_end_ws(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// Bytes shown to people: lossy UTF-8, cut to a readable length.
fn shown(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(80)];
    // Control characters (a tar header's NULs, say) would garble a terminal line.
    let mut s: String = String::from_utf8_lossy(cut)
        .chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect();
    if bytes.len() > cut.len() {
        s.push('…');
    }
    s
}

// ---------------------------------------------------------------------------------------------------------
// Tar.

const BLOCK: usize = 512;
/// Longest GNU long name or pax header we accept (a real one is a few hundred bytes).
const MAX_META: u64 = 1 << 20;

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum TarState {
    #[default]
    Header,
    /// Inside an entry's data: `data` bytes of content then `pad` bytes of block padding.
    Data { data: u64, pad: u64 },
    /// After the two zero blocks: only zero padding may follow.
    Ended,
}

/// What the data of the current entry is kept for.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Meta {
    #[default]
    None,
    LongName,
    LongLink,
    Pax,
}

#[derive(Default)]
struct TarScan {
    state: TarState,
    header: Vec<u8>,
    header_at: u64,
    zero_blocks: u8,
    meta: Meta,
    meta_buf: Vec<u8>,
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax_path: Option<Vec<u8>>,
    pax_link: Option<Vec<u8>>,
    pax_size: Option<u64>,
    /// The last real entry's name, for faults.
    entry: Option<String>,
    files: u64,
    folders: u64,
    bytes: u64,
    top_level: BTreeSet<String>,
    unsafe_entries: Vec<String>,
    unsafe_count: u64,
    warnings: Vec<String>,
    /// A regular file named `._…` waiting for its first bytes: AppleDouble or a file?
    sniff: Option<Sniff>,
    apple_double: u64,
    layout: LayoutScan,
}

/// An entry counted once its first four bytes are known.
struct Sniff {
    name: String,
    kind: u8,
    size: u64,
    head: Vec<u8>,
}

impl Scanner for TarScan {
    fn feed(&mut self, data: &[u8], offset: u64) -> Result<(), Fault> {
        let mut i = 0;
        while i < data.len() {
            match self.state {
                TarState::Header => {
                    if self.header.is_empty() {
                        self.header_at = offset + i as u64;
                    }
                    let k = (BLOCK - self.header.len()).min(data.len() - i);
                    self.header.extend_from_slice(&data[i..i + k]);
                    i += k;
                    if self.header.len() == BLOCK {
                        let block = std::mem::take(&mut self.header);
                        self.on_header(&block)?;
                        self.header = block;
                        self.header.clear();
                    }
                }
                TarState::Data { data: left, pad } => {
                    let avail = (data.len() - i) as u64;
                    if left > 0 {
                        let k = left.min(avail) as usize;
                        if let Some(sniff) = &mut self.sniff {
                            let want = (4 - sniff.head.len()).min(k);
                            sniff.head.extend_from_slice(&data[i..i + want]);
                            if sniff.head.len() == 4 {
                                self.sniffed();
                            }
                        }
                        if self.meta != Meta::None {
                            if self.meta_buf.len() as u64 + k as u64 > MAX_META {
                                return Err(self.fault_here(offset + i as u64, "an extended tar header is too large"));
                            }
                            self.meta_buf.extend_from_slice(&data[i..i + k]);
                        }
                        i += k;
                        self.state = TarState::Data {
                            data: left - k as u64,
                            pad,
                        };
                    } else {
                        let k = pad.min(avail) as usize;
                        i += k;
                        self.state = TarState::Data {
                            data: 0,
                            pad: pad - k as u64,
                        };
                    }
                    if self.state == (TarState::Data { data: 0, pad: 0 }) {
                        self.end_of_data();
                        self.state = TarState::Header;
                    }
                }
                TarState::Ended => {
                    let rest = &data[i..];
                    if let Some(p) = rest.iter().position(|&b| b != 0) {
                        return Err(Fault::decompressed(
                            offset + (i + p) as u64,
                            None,
                            "unexpected data after the end of the tar archive (trailing garbage): the archive is \
                             damaged or two archives were glued together"
                                .into(),
                        ));
                    }
                    i = data.len();
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self, offset: u64) -> Result<(), Fault> {
        if offset == 0 {
            return Err(Fault::decompressed(
                0,
                None,
                "the archive is empty: the gzip file holds no tar data".into(),
            ));
        }
        match self.state {
            TarState::Ended => Ok(()),
            TarState::Data { data, pad } => Err(self.fault_here(
                offset,
                &format!(
                    "the archive ends in the middle of an entry ({} bytes missing): it is truncated",
                    data + pad
                ),
            )),
            TarState::Header if !self.header.is_empty() => Err(self.fault_here(
                offset,
                "the archive ends in the middle of a tar header: it is truncated",
            )),
            TarState::Header => Err(self.fault_here(
                offset,
                "the archive has no end-of-archive marker (two zero blocks): it is truncated",
            )),
        }
    }
}

impl TarScan {
    fn fault_here(&self, offset: u64, reason: &str) -> Fault {
        Fault::decompressed(offset, self.entry.clone(), reason.to_string())
    }

    fn on_header(&mut self, h: &[u8]) -> Result<(), Fault> {
        let at = self.header_at;
        if h.iter().all(|&b| b == 0) {
            self.zero_blocks += 1;
            if self.zero_blocks == 2 {
                self.state = TarState::Ended;
            }
            return Ok(());
        }
        if self.zero_blocks > 0 {
            // tar readers (the tar crate included) stop at the first zero block: entries after it would be lost.
            return Err(Fault::decompressed(
                at - BLOCK as u64,
                self.entry.clone(),
                "a zero block in the middle of the archive: the entries after it would be lost".into(),
            ));
        }
        let stored = parse_octal(&h[148..156]);
        let unsigned: u64 = h
            .iter()
            .enumerate()
            .map(|(i, &b)| if (148..156).contains(&i) { 32 } else { b as u64 })
            .sum();
        let signed: i64 = h
            .iter()
            .enumerate()
            .map(|(i, &b)| if (148..156).contains(&i) { 32 } else { b as i8 as i64 })
            .sum();
        if stored.is_none_or(|s| s != unsigned && s as i64 != signed) {
            return Err(Fault::decompressed(
                at,
                self.entry.clone(),
                "bad tar header checksum: the archive is damaged here".into(),
            ));
        }
        let size = match parse_number(&h[124..136]) {
            Some(s) => s,
            None => {
                return Err(Fault::decompressed(
                    at,
                    self.entry.clone(),
                    "unreadable entry size in a tar header".into(),
                ));
            }
        };
        let kind = h[156];
        let mut data = size;
        self.meta = Meta::None;
        match kind {
            b'L' => self.meta = Meta::LongName,
            b'K' => self.meta = Meta::LongLink,
            b'x' => self.meta = Meta::Pax,
            b'g' => {}
            _ => {
                if let Some(s) = self.pax_size.take() {
                    data = s;
                }
                self.on_entry(h, kind, data);
            }
        }
        if self.meta != Meta::None && data > MAX_META {
            return Err(Fault::decompressed(
                at,
                self.entry.clone(),
                "an extended tar header is too large".into(),
            ));
        }
        self.meta_buf.clear();
        // Links, folders and devices have no data; their size field is ignored by tar readers only for links.
        let pad = (BLOCK as u64 - data % BLOCK as u64) % BLOCK as u64;
        self.state = if data + pad == 0 {
            TarState::Header
        } else {
            TarState::Data { data, pad }
        };
        if self.state == TarState::Header {
            self.end_of_data();
        }
        Ok(())
    }

    fn end_of_data(&mut self) {
        let buf = std::mem::take(&mut self.meta_buf);
        match self.meta {
            Meta::None => {}
            Meta::LongName => self.long_name = Some(until_nul(&buf).to_vec()),
            Meta::LongLink => self.long_link = Some(until_nul(&buf).to_vec()),
            Meta::Pax => {
                for (key, value) in pax_records(&buf) {
                    match key {
                        b"path" => self.pax_path = Some(value.to_vec()),
                        b"linkpath" => self.pax_link = Some(value.to_vec()),
                        b"size" => {
                            self.pax_size = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
                        }
                        _ => {}
                    }
                }
            }
        }
        self.meta = Meta::None;
        self.meta_buf = buf;
        self.meta_buf.clear();
    }

    fn on_entry(&mut self, h: &[u8], kind: u8, size: u64) {
        let name = self
            .pax_path
            .take()
            .or_else(|| self.long_name.take())
            .unwrap_or_else(|| header_name(h));
        let link = self
            .pax_link
            .take()
            .or_else(|| self.long_link.take())
            .unwrap_or_else(|| until_nul(&h[157..257]).to_vec());
        let name = String::from_utf8_lossy(&name).into_owned();
        let link = String::from_utf8_lossy(&link).into_owned();
        self.entry = Some(name.clone());
        if let Some(why) = unsafe_reason(&name, kind, &link) {
            self.unsafe_count += 1;
            if self.unsafe_entries.len() < MAX_LISTED {
                self.unsafe_entries.push(format!("{name}: {why}"));
            }
        }
        // The restore makes the same decision (`restore::media`), on the same first four bytes.
        if matches!(kind, b'0' | b'\0' | b'7') && size >= 4 && mac_metadata::has_apple_double_name(name.as_bytes()) {
            self.sniff = Some(Sniff {
                name,
                kind,
                size,
                head: Vec::with_capacity(4),
            });
            return;
        }
        self.count(&name, kind, size);
    }

    /// The first four bytes of a `._…` entry are here.
    fn sniffed(&mut self) {
        let Some(s) = self.sniff.take() else { return };
        if mac_metadata::is_apple_double(s.name.as_bytes(), &s.head) {
            self.apple_double += 1;
        } else {
            self.count(&s.name, s.kind, s.size);
        }
    }

    /// Counts an entry that is not AppleDouble.
    fn count(&mut self, name: &str, kind: u8, size: u64) {
        match kind {
            b'0' | b'\0' | b'7' | b'S' => {
                self.files += 1;
                self.bytes += size;
            }
            // Extracted as an independent copy: one more file, no more data in the archive.
            b'1' => self.files += 1,
            b'5' | b'D' => self.folders += 1,
            b'2' | b'3' | b'4' | b'6' => {}
            other => self.warnings.push(format!(
                "entry '{name}' has an unknown type '{}'; the restore skips it",
                other.escape_ascii()
            )),
        }
        if let Some(top) = top_component(name) {
            self.top_level.insert(top.to_string());
        }
        self.layout.observe(name, kind, size);
    }
}

/// Why the restore would refuse this entry, if it would.
fn unsafe_reason(name: &str, kind: u8, link: &str) -> Option<String> {
    if name.starts_with('/') {
        return Some("absolute path".into());
    }
    if name.split('/').any(|c| c == "..") {
        return Some("path goes up with '..'".into());
    }
    match kind {
        b'3' => return Some("character device".into()),
        b'4' => return Some("block device".into()),
        b'6' => return Some("FIFO (named pipe)".into()),
        _ => {}
    }
    if kind == b'2' || kind == b'1' {
        let what = if kind == b'2' { "symlink" } else { "hard link" };
        if link.starts_with('/') {
            return Some(format!("{what} to the absolute path '{link}'"));
        }
        // A symlink resolves from its own folder, a hard link from the archive root.
        let mut depth: i64 = if kind == b'2' {
            name.split('/').filter(|c| !c.is_empty() && *c != ".").count() as i64 - 1
        } else {
            0
        };
        for c in link.split('/') {
            match c {
                "" | "." => {}
                ".." => {
                    depth -= 1;
                    if depth < 0 {
                        return Some(format!("{what} to '{link}', outside the archive"));
                    }
                }
                _ => depth += 1,
            }
        }
    }
    None
}

/// The first path component, without a leading `./`; `None` for the archive root itself.
fn top_component(name: &str) -> Option<&str> {
    name.split('/').find(|c| !c.is_empty() && *c != ".")
}

fn until_nul(b: &[u8]) -> &[u8] {
    match memchr::memchr(0, b) {
        Some(i) => &b[..i],
        None => b,
    }
}

/// `prefix/name` for ustar headers, `name` otherwise.
fn header_name(h: &[u8]) -> Vec<u8> {
    let name = until_nul(&h[0..100]);
    let ustar = &h[257..263] == b"ustar\0";
    let prefix = if ustar { until_nul(&h[345..500]) } else { &[][..] };
    if prefix.is_empty() {
        name.to_vec()
    } else {
        let mut full = prefix.to_vec();
        full.push(b'/');
        full.extend_from_slice(name);
        full
    }
}

/// Octal field: optional spaces, digits, terminated by NUL or space.
fn parse_octal(field: &[u8]) -> Option<u64> {
    let s = field
        .iter()
        .skip_while(|&&b| b == b' ')
        .take_while(|&&b| b != 0 && b != b' ');
    let mut v: u64 = 0;
    let mut any = false;
    for &b in s {
        if !(b'0'..=b'7').contains(&b) {
            return None;
        }
        v = v.checked_mul(8)?.checked_add((b - b'0') as u64)?;
        any = true;
    }
    if any {
        Some(v)
    } else if field.iter().all(|&b| b == 0 || b == b' ') {
        Some(0)
    } else {
        None
    }
}

/// Size field: octal, or GNU base-256 when the high bit of the first byte is set.
fn parse_number(field: &[u8]) -> Option<u64> {
    if field[0] & 0x80 != 0 {
        if field[0] & 0x40 != 0 {
            return None; // negative
        }
        let mut v: u64 = (field[0] & 0x3f) as u64;
        for &b in &field[1..] {
            v = v.checked_mul(256)?.checked_add(b as u64)?;
        }
        return Some(v);
    }
    parse_octal(field)
}

/// `len key=value\n` records; malformed records end the parse (the entry will still be checked).
fn pax_records(mut buf: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let Some(space) = memchr::memchr(b' ', buf) else {
            break;
        };
        let Some(len) = std::str::from_utf8(&buf[..space])
            .ok()
            .and_then(|l| l.parse::<usize>().ok())
        else {
            break;
        };
        if len <= space + 1 || len > buf.len() {
            break;
        }
        let record = &buf[space + 1..len];
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        if let Some(eq) = memchr::memchr(b'=', record) {
            out.push((&record[..eq], &record[eq + 1..]));
        }
        buf = &buf[len..];
    }
    out
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

    fn count(chunks: &[&[u8]]) -> (u64, u64) {
        let mut s = DumpScan::default();
        for c in chunks {
            s.count_lines(c);
        }
        s.end_lines();
        (s.tables, s.inserts)
    }

    #[test]
    fn statement_lines_are_counted_across_chunk_boundaries() {
        let text = b"-- x\nCREATE TABLE `a` (\nINSERT INTO `a` VALUES (1);\n\nINSERT INTO b\nINSERT\nCREATE TABLES\n";
        let whole = count(&[text]);
        assert_eq!(whole, (2, 2));
        // Every split point, including inside the prefixes and right at newlines.
        for cut in 0..text.len() {
            assert_eq!(count(&[&text[..cut], &text[cut..]]), whole, "cut at {cut}");
        }
        // One byte at a time.
        let bytes: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(count(&bytes), whole);
    }

    #[test]
    fn keywords_must_start_the_line() {
        assert_eq!(count(&[b"  INSERT INTO a\n-- CREATE TABLE x\nINSERT INTO"]), (0, 1));
    }

    #[test]
    fn octal_and_base256_sizes() {
        assert_eq!(parse_number(b"00000001750\0"), Some(1000));
        assert_eq!(parse_number(b"     1750 \0\0"), Some(1000));
        assert_eq!(parse_number(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]), Some(256));
        assert_eq!(parse_number(b"12x\0\0\0\0\0\0\0\0\0"), None);
    }

    #[test]
    fn link_escapes_are_unsafe_and_inner_links_are_not() {
        assert!(unsafe_reason("documents/a", b'2', "../pictures/b").is_none());
        assert!(unsafe_reason("./documents/a/b", b'2', "../../pictures/x").is_none());
        assert!(unsafe_reason("documents/a", b'2', "../../x").is_some());
        assert!(unsafe_reason("documents/a", b'2', "/etc").is_some());
        assert!(unsafe_reason("documents/a", b'1', "documents/b").is_none());
        assert!(unsafe_reason("documents/a", b'1', "../b").is_some());
        assert!(unsafe_reason("../x", b'0', "").is_some());
        assert!(unsafe_reason("/x", b'0', "").is_some());
        assert!(unsafe_reason("documents/fifo", b'6', "").is_some());
    }

    #[test]
    fn pax_records_are_parsed() {
        let recs = pax_records(b"20 path=documents/a\n12 size=123\n");
        assert_eq!(
            recs,
            vec![(&b"path"[..], &b"documents/a"[..]), (&b"size"[..], &b"123"[..])]
        );
    }

    fn layout_of(entries: &[(&str, u8, u64)]) -> MediaLayout {
        let expected = vec!["documents".to_string(), "pictures".to_string()];
        let mut scan = LayoutScan::new(&expected);
        let mut top = BTreeSet::new();
        for (name, kind, size) in entries {
            scan.observe(name, *kind, *size);
            if let Some(t) = top_component(name) {
                top.insert(t.to_owned());
            }
        }
        scan.finish(&top, 0)
    }

    #[test]
    fn the_shallowest_media_folder_sets_the_prefix() {
        let l = layout_of(&[
            ("web/", b'5', 0),
            ("web/index.php", b'0', 5),
            ("web/documents/", b'5', 0),
            ("web/documents/a", b'0', 3),
            ("web/old/pictures/x", b'0', 1),
            ("web/pictures/p", b'0', 2),
        ]);
        assert_eq!((l.prefix.as_deref(), l.usable), (Some("web/"), true));
        // `web/` leads to the media folders; `index.php` and the deeper `old/pictures` are skipped.
        assert_eq!((l.files, l.bytes, l.skipped), (2, 5, 2));
        // A shallower media folder seen later wins; what was counted under the deeper one is skipped.
        let l = layout_of(&[("old/x/documents/a", b'0', 1), ("./documents/b", b'0', 2)]);
        assert_eq!((l.prefix.as_deref(), l.files, l.skipped), (Some("./"), 1, 1));
        assert!(l.at_top());
        // Unsafe names take no part.
        let l = layout_of(&[("../documents/a", b'0', 1), ("/documents/b", b'0', 1)]);
        assert_eq!(l.prefix, None);
        // A media folder that is a file.
        let l = layout_of(&[("documents", b'0', 1), ("pictures/a", b'0', 1)]);
        assert!(l.refusal.unwrap().contains("'documents' is not a folder"));
    }

    #[test]
    fn literal_prefixes_and_grouped_numbers() {
        assert_eq!(literal_prefix("./web//documents/a", 1), "./web//");
        assert_eq!(literal_prefix("documents/a", 0), "");
        assert_eq!(literal_prefix("./documents", 0), "./");
        assert_eq!(
            (grouped(5002), grouped(999), grouped(1_234_567)),
            ("5,002".into(), "999".into(), "1,234,567".into())
        );
        assert_eq!(counted(1, "file", "files"), "1 file");
    }

    // Guards the AppleDouble decision when its four magic bytes arrive in separate chunks.
    #[test]
    fn apple_double_is_recognised_across_chunk_boundaries() {
        let mut b = tar::Builder::new(Vec::new());
        let mut add = |name: &str, data: &[u8]| {
            let mut h = tar::Header::new_gnu();
            h.set_mode(0o644);
            h.set_size(data.len() as u64);
            b.append_data(&mut h, name, data).unwrap();
        };
        add("documents/._a", &[0, 5, 0x16, 7, 0, 2, 0, 0, 9, 9]);
        add("documents/a", b"data");
        add("documents/._b", b"plain text");
        add("._documents", &[0, 5, 0x16, 7]);
        let tar = b.into_inner().unwrap();
        for chunk in [1, 2, 3, 511, 512, 513, tar.len()] {
            let mut scan = TarScan {
                layout: LayoutScan::new(&["documents".to_string()]),
                ..TarScan::default()
            };
            let mut offset = 0;
            for c in tar.chunks(chunk) {
                scan.feed(c, offset).unwrap();
                offset += c.len() as u64;
            }
            scan.finish(offset).unwrap();
            assert_eq!((scan.files, scan.bytes, scan.apple_double), (2, 14, 2), "chunk {chunk}");
            assert_eq!(
                scan.top_level.iter().collect::<Vec<_>>(),
                vec!["documents"],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn header_lines_are_recognised() {
        let mut s = DumpScan {
            head: b"/*M!999999\\- enable the sandbox mode */\n-- MariaDB dump 10.19\n".to_vec(),
            ..DumpScan::default()
        };
        assert_eq!(s.header_line().as_deref(), Some("-- MariaDB dump 10.19"));
        s.head = b"-- MySQL dump 10.13  Distrib 8.0\r\n".to_vec();
        assert!(s.header_line().is_some());
        s.head = b"SELECT 1;\n".to_vec();
        assert!(s.header_line().is_none());
    }
}
