//! "Back up now": what the hourly job does, on demand — the environment's database dumped to
//! `<backup-dir>/<dbname>.gz` and its media folders archived to `<backup-dir>/media.taz`.
//!
//! Guarantees: both files are written under temporary names, synced, and only then renamed over the
//! previous pair, one right after the other, so a watcher (or Time Machine) never sees a half-written
//! file; on any failure or cancel the temporary files are removed and the previous pair is untouched.
//! Links inside the media are archived as links, never followed.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use serde::Serialize;

use crate::db::connect::{ConnectError, connect};
use crate::db::dumper::{DumpError, DumpSummary, dump_database};
use crate::env::environment::{EnvError, Environment};
use crate::progress::{Cancel, Progress, Update};

/// What a backup wrote.
#[derive(Debug, Clone, Serialize)]
pub struct BackupSummary {
    pub environment: String,
    pub db_file: PathBuf,
    pub db_bytes: u64,
    pub tables: usize,
    pub rows: u64,
    pub media_file: PathBuf,
    pub media_bytes: u64,
    pub files: u64,
    pub seconds: f64,
}

/// Why a backup was not made (the previous pair is untouched).
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Dump(#[from] DumpError),
    #[error(
        "cannot write the media archive '{path}': {source}. The previous backup is untouched; check the free space and that Secours may write there."
    )]
    Media {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the backup was cancelled; the previous backup is untouched.")]
    Cancelled,
}

/// Backs up `env` into its backup folder now.
pub fn backup_now(env: &Environment, progress: &dyn Progress, cancel: &Cancel) -> Result<BackupSummary, BackupError> {
    let started = std::time::Instant::now();
    let settings = env.database()?;
    let dbname = settings.name.clone().unwrap_or_default();
    fs::create_dir_all(&env.backup_dir).map_err(|source| BackupError::Media {
        path: env.backup_dir.clone(),
        source,
    })?;
    let db_file = env.backup_dir.join(format!("{dbname}.gz"));
    let media_file = env.backup_dir.join("media.taz");
    let db_tmp = env.backup_dir.join(format!(".{dbname}.gz.secours-new"));
    let media_tmp = env.backup_dir.join(".media.taz.secours-new");

    let result = (|| {
        let mut conn = connect(&settings)?;
        let dump: DumpSummary = dump_database(&mut conn, &db_tmp, progress, cancel)?;
        if cancel.is_cancelled() {
            return Err(BackupError::Cancelled);
        }
        let files = archive_media(env, &media_tmp, progress, cancel)?;
        // The pair goes in place together, the dump first (a watcher judges the pair by its older file).
        rename(&db_tmp, &db_file)?;
        rename(&media_tmp, &media_file)?;
        sync_dir(&env.backup_dir);
        Ok((dump, files))
    })();
    match result {
        Ok((dump, files)) => Ok(BackupSummary {
            environment: env.name.clone(),
            db_bytes: dump.bytes,
            tables: dump.tables,
            rows: dump.rows,
            media_bytes: fs::metadata(&media_file).map(|m| m.len()).unwrap_or(0),
            db_file,
            media_file,
            files,
            seconds: started.elapsed().as_secs_f64(),
        }),
        Err(e) => {
            let _ = fs::remove_file(&db_tmp);
            let _ = fs::remove_file(&media_tmp);
            Err(e)
        }
    }
}

fn rename(from: &Path, to: &Path) -> Result<(), BackupError> {
    fs::rename(from, to).map_err(|source| BackupError::Media {
        path: to.to_owned(),
        source,
    })
}

fn sync_dir(dir: &Path) {
    let _ = crate::files::durable::sync_dir(dir);
}

/// A writer that reports the bytes written and stops when cancelled.
struct Counting<'a, W> {
    inner: W,
    written: u64,
    progress: &'a dyn Progress,
    cancel: &'a Cancel,
}

impl<W: Write> Write for Counting<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.cancel.is_cancelled() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "cancelled"));
        }
        let n = self.inner.write(buf)?;
        let before = self.written;
        self.written += n as u64;
        if before >> 20 != self.written >> 20 {
            self.progress.update(Update {
                step: "media-archive",
                done: self.written,
                total: None,
                detail: None,
            });
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// `tar czf media.taz documents pictures` in `web/`, to `out`; returns the number of files.
fn archive_media(env: &Environment, out: &Path, progress: &dyn Progress, cancel: &Cancel) -> Result<u64, BackupError> {
    let err = |source| BackupError::Media {
        path: out.to_owned(),
        source,
    };
    let file = crate::env::secret::create_private(out).map_err(err)?;
    let counting = Counting {
        inner: io::BufWriter::with_capacity(1 << 20, file),
        written: 0,
        progress,
        cancel,
    };
    // Media are mostly JPEG and PDF, already compressed: the fastest level loses almost nothing.
    let mut tar = tar::Builder::new(GzEncoder::new(counting, Compression::fast()));
    tar.follow_symlinks(false);
    let mut files = 0;
    for dir in &env.media_dirs {
        let path = env.media_path(dir);
        if !path.is_dir() {
            continue;
        }
        tar.append_dir_all(dir, &path).map_err(|e| {
            if cancel.is_cancelled() {
                return BackupError::Cancelled;
            }
            BackupError::Media {
                path: path.clone(),
                source: e,
            }
        })?;
        files += crate::files::tree::count_tree(&path).map(|c| c.files).unwrap_or(0);
    }
    let gz = tar.into_inner().map_err(err)?;
    let counting = gz.finish().map_err(err)?;
    let file = counting.inner.into_inner().map_err(|e| err(e.into_error()))?;
    file.sync_all().map_err(err)?;
    Ok(files)
}
