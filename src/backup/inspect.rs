//! Finding and observing a backup pair in a folder: `<dbname>.gz` and `media.taz`.
//!
//! Metadata only (names, sizes, times, inode): cheap whatever the archive sizes, so the app can refresh
//! often. A folder holding dated sub-folders (the layout of safe copies, `2026-11-25_1400/`) is looked
//! into: the newest sub-folder holding a pair stands for it.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::Serialize;

/// The name of the media archive the hourly job writes.
pub const MEDIA_FILE: &str = "media.taz";

/// What is known of one file of a pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "status")]
pub enum FileState {
    Present(FileObservation),
    Absent { path: PathBuf },
    Unreadable { path: PathBuf, error: String },
}

/// A file's identity and metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileObservation {
    pub path: PathBuf,
    pub bytes: u64,
    pub modified: Timestamp,
    /// Modification time in nanoseconds since the epoch (part of the verification key).
    pub mtime_ns: i128,
    pub inode: u64,
}

pub use crate::files::FileIdentity;

impl FileObservation {
    pub fn identity(&self) -> FileIdentity {
        FileIdentity {
            bytes: self.bytes,
            mtime_ns: self.mtime_ns,
            inode: self.inode,
        }
    }
}

impl FileIdentity {
    /// The identity of an open file (its metadata).
    pub fn of_metadata(meta: &std::fs::Metadata) -> FileIdentity {
        FileIdentity {
            bytes: meta.len(),
            mtime_ns: meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128,
            inode: meta.ino(),
        }
    }
}

/// `Ok` when the file at `path` is still the one `expected` describes; else a message naming the file and
/// what changed, for the caller to stop on (it was rewritten, most likely by the hourly backup).
pub fn check_unchanged(path: &Path, expected: &FileIdentity) -> Result<(), String> {
    let now = match observe_file(path) {
        FileState::Present(o) => o.identity(),
        FileState::Absent { .. } => return Err(format!("'{}' has disappeared since it was verified", path.display())),
        FileState::Unreadable { error, .. } => return Err(format!("cannot read '{}' again: {error}", path.display())),
    };
    describe_change(path, expected, &now)
}

/// `Ok` when `now` is `expected`; else what changed, naming `path`.
pub fn describe_change(path: &Path, expected: &FileIdentity, now: &FileIdentity) -> Result<(), String> {
    if now == expected {
        return Ok(());
    }
    let what = if now.inode != expected.inode {
        "it was replaced by another file"
    } else if now.bytes != expected.bytes {
        "its size changed"
    } else {
        "it was rewritten"
    };
    Err(format!(
        "'{}' is no longer the file that was verified ({what}, most likely by the hourly backup)",
        path.display()
    ))
}

/// A pair as found in a folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PairObservation {
    /// The folder that was asked about.
    pub folder: PathBuf,
    /// The folder the pair was found in (a dated sub-folder of `folder`, or `folder` itself).
    pub pair_folder: PathBuf,
    pub db: FileState,
    pub media: FileState,
    /// A problem with the folder itself (absent, several dumps, unreadable).
    pub folder_problem: Option<FolderProblem>,
}

/// What can be wrong with a watched folder itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum FolderProblem {
    Absent,
    NotAFolder,
    Unreadable {
        error: String,
    },
    /// Several `*.gz` and no database name to choose one.
    SeveralDumps {
        names: Vec<String>,
    },
}

impl FileState {
    pub fn path(&self) -> &Path {
        match self {
            FileState::Present(o) => &o.path,
            FileState::Absent { path } | FileState::Unreadable { path, .. } => path,
        }
    }

    pub fn observation(&self) -> Option<&FileObservation> {
        match self {
            FileState::Present(o) => Some(o),
            _ => None,
        }
    }
}

impl PairObservation {
    /// Both files, when both are present.
    pub fn files(&self) -> Option<(&FileObservation, &FileObservation)> {
        Some((self.db.observation()?, self.media.observation()?))
    }

    /// The time of the backup: the modification time of its older file.
    pub fn backup_time(&self) -> Option<Timestamp> {
        let (d, m) = self.files()?;
        Some(d.modified.min(m.modified))
    }
}

/// Observes one file.
pub fn observe_file(path: &Path) -> FileState {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => {
            let mtime_ns = meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128;
            match Timestamp::from_nanosecond(mtime_ns) {
                Ok(modified) => FileState::Present(FileObservation {
                    path: path.to_owned(),
                    bytes: meta.len(),
                    modified,
                    mtime_ns,
                    inode: meta.ino(),
                }),
                Err(e) => FileState::Unreadable {
                    path: path.to_owned(),
                    error: format!("impossible modification time: {e}"),
                },
            }
        }
        Ok(_) => FileState::Unreadable {
            path: path.to_owned(),
            error: "not a regular file".to_owned(),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileState::Absent { path: path.to_owned() },
        Err(e) => FileState::Unreadable {
            path: path.to_owned(),
            error: e.to_string(),
        },
    }
}

/// Finds and observes the pair in `folder`. `dbname` names the dump (`<dbname>.gz`); without it the
/// folder's single `*.gz` is taken.
pub fn observe_folder(folder: &Path, dbname: Option<&str>) -> PairObservation {
    let pair_folder = newest_dated_subfolder(folder, dbname).unwrap_or_else(|| folder.to_owned());
    let media = observe_file(&pair_folder.join(MEDIA_FILE));
    let mut folder_problem = None;
    let db = match dbname {
        Some(name) => observe_file(&pair_folder.join(format!("{name}.gz"))),
        None => match gz_files(&pair_folder) {
            Ok(list) if list.len() == 1 => observe_file(&list[0]),
            Ok(list) if list.is_empty() => FileState::Absent {
                path: pair_folder.join("<dbname>.gz"),
            },
            Ok(list) => {
                let names = list
                    .iter()
                    .filter_map(|p| p.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
                    .collect();
                folder_problem = Some(FolderProblem::SeveralDumps { names });
                FileState::Unreadable {
                    path: pair_folder.join("<dbname>.gz"),
                    error: "ambiguous".to_owned(),
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileState::Absent {
                path: pair_folder.join("<dbname>.gz"),
            },
            Err(e) => FileState::Unreadable {
                path: pair_folder.clone(),
                error: e.to_string(),
            },
        },
    };
    if folder_problem.is_none() {
        folder_problem = match std::fs::metadata(folder) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(FolderProblem::Absent),
            Err(e) => Some(FolderProblem::Unreadable { error: e.to_string() }),
            Ok(m) if !m.is_dir() => Some(FolderProblem::NotAFolder),
            Ok(_) => None,
        };
    }
    PairObservation {
        folder: folder.to_owned(),
        pair_folder,
        db,
        media,
        folder_problem,
    }
}

fn gz_files(folder: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut list = Vec::new();
    for entry in std::fs::read_dir(folder)? {
        let path = entry?.path();
        let is_gz = path.extension().is_some_and(|e| e == "gz");
        let hidden = path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if is_gz && !hidden && path.is_file() {
            list.push(path);
        }
    }
    list.sort();
    Ok(list)
}

/// Whether a name looks like a safe-copy folder: `YYYY-MM-DD_HHMM` (optionally with a suffix).
pub fn is_dated_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 15
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
        && b[10] == b'_'
        && b[11..15].iter().all(u8::is_ascii_digit)
}

/// When `folder` holds no pair itself but dated sub-folders that do, the newest of them.
fn newest_dated_subfolder(folder: &Path, dbname: Option<&str>) -> Option<PathBuf> {
    if folder.join(MEDIA_FILE).exists() {
        return None;
    }
    let mut dated: Vec<PathBuf> = std::fs::read_dir(folder)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| is_dated_name(&e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .filter(|p| p.join(MEDIA_FILE).is_file())
        .filter(|p| match dbname {
            Some(n) => p.join(format!("{n}.gz")).is_file(),
            None => true,
        })
        .collect();
    // The names sort by time.
    dated.sort();
    dated.pop()
}

/// The history key of an observed file (a rewritten file gets a new key and is verified again).
pub fn file_key(o: &FileObservation) -> crate::store::history::FileKey {
    crate::store::history::FileKey {
        path: o.path.clone(),
        size: o.bytes,
        mtime_ns: i64::try_from(o.mtime_ns).unwrap_or(i64::MAX),
        inode: o.inode,
    }
}

/// A pair found for an operation, with what it is checked against.
#[derive(Debug, Clone)]
pub struct Pair {
    pub observation: PairObservation,
    pub db: FileObservation,
    pub media: FileObservation,
    pub media_dirs: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_pair_by_name_or_the_single_dump() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("gestion.gz"), b"x").unwrap();
        std::fs::write(dir.path().join(MEDIA_FILE), b"y").unwrap();
        let o = observe_folder(dir.path(), Some("gestion"));
        assert!(o.files().is_some());
        let o = observe_folder(dir.path(), None);
        assert!(o.files().is_some(), "{o:?}");
        let o = observe_folder(dir.path(), Some("other"));
        assert!(matches!(o.db, FileState::Absent { .. }));
    }

    // Guards: two dumps and no database name must not pick one at random.
    #[test]
    fn several_dumps_without_a_name_are_ambiguous() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.gz"), b"x").unwrap();
        std::fs::write(dir.path().join("b.gz"), b"x").unwrap();
        let o = observe_folder(dir.path(), None);
        assert_eq!(
            o.folder_problem,
            Some(FolderProblem::SeveralDumps {
                names: vec!["a.gz".to_owned(), "b.gz".to_owned()]
            })
        );
    }

    #[test]
    fn a_missing_folder_is_reported() {
        let o = observe_folder(Path::new("/nonexistent/backup"), Some("x"));
        assert_eq!(o.folder_problem, Some(FolderProblem::Absent));
        assert!(matches!(o.media, FileState::Absent { .. }));
    }

    #[test]
    fn looks_into_the_newest_dated_copy() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["2026-11-25_1300", "2026-11-25_1400", "2026-11-25_1500"] {
            let d = dir.path().join(name);
            std::fs::create_dir(&d).unwrap();
            std::fs::write(d.join("gestion.gz"), b"x").unwrap();
            if name != "2026-11-25_1500" {
                std::fs::write(d.join(MEDIA_FILE), b"y").unwrap();
            }
        }
        let o = observe_folder(dir.path(), None);
        assert!(o.pair_folder.ends_with("2026-11-25_1400"), "{o:?}");
        assert!(is_dated_name("2026-11-25_1400"));
        assert!(!is_dated_name("2026-11-25"));
    }
}
