//! The software archive: `software.taz`, production's code as a tar.gz, carried by each safe copy so the
//! standby can be brought to the same code (`secours software --from copy:ID`, see
//! `crate::restore::software`) even where production's disk is not visible.
//!
//! What is packed is exactly what a code manifest reads ([`crate::backup::parity::walk`], with the same
//! [`Exclusions`]): every file, symbolic link and folder of the environment's root, without its media
//! folders, `runtime/`, its backup folder, `config/db.php`, the content of `web/assets/`, Secours's own
//! `.secours-*` folders and `.DS_Store`.
//!
//! Guarantees:
//! - Streaming: files are read one buffer at a time into the gzip encoder; memory stays constant.
//! - Entries are written in path order (a folder before its content), relative to the root (`web/index.php`,
//!   never `./` nor an absolute name), with their mode and modification time; links are stored as links,
//!   never followed; no hard links, no devices. Owners are not stored (uid and gid 0, no names).
//! - A file that changes size while it is packed, or is replaced by something else, makes the packing fail:
//!   the archive would not be the code that was read.
//! - The caller gets the archive's size and SHA-256, computed from the bytes written; the file is flushed
//!   to disk before [`pack`] returns. On any failure the partial file is removed.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::backup::parity::{self, Exclusions, Found, ParityError};
use crate::progress::{Cancel, Meter, Progress};

/// The archive's file name inside a copy folder.
pub const SOFTWARE_FILE: &str = "software.taz";
/// The progress step name.
pub const STEP: &str = "software";
const PROGRESS_EVERY: u64 = 4 << 20;
const BUF: usize = 256 * 1024;

/// What [`pack`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Packed {
    pub path: PathBuf,
    /// Size of the archive.
    pub bytes: u64,
    pub sha256: String,
    /// Entries packed (files, links and folders).
    pub entries: u64,
    /// Bytes of file data packed (uncompressed).
    pub data_bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SoftwareError {
    #[error(transparent)]
    Walk(#[from] ParityError),
    #[error("cannot read '{path}': {source}. Give Secours read access to it, then copy again.")]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write '{path}': {source}. Check that the disk is connected, writable and not full.")]
    Write { path: PathBuf, source: io::Error },
    #[error("'{path}' changed while it was packed ({what}). Copy again once the software is no longer being changed.")]
    Changed { path: PathBuf, what: String },
    #[error("the packing of the software was cancelled.")]
    Cancelled,
}

/// Counts and hashes what goes through to the file.
struct HashingWriter {
    file: File,
    hasher: Sha256,
    written: u64,
}

impl Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Packs the code under `root` (leaving out what `exclude` says) into `out`, a new file (see the module
/// documentation).
pub fn pack(
    root: &Path,
    exclude: &Exclusions,
    out: &Path,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<Packed, SoftwareError> {
    let mut found = parity::walk(root, exclude, cancel)?;
    found.sort_by(|a, b| a.0.as_os_str().as_bytes().cmp(b.0.as_os_str().as_bytes()));
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .map_err(|source| SoftwareError::Write {
            path: out.to_path_buf(),
            source,
        })?;
    // From here the file is ours: a failure removes it.
    let result = write_archive(file, root, &found, out, progress, cancel);
    if result.is_err() {
        let _ = fs::remove_file(out);
    }
    result
}

fn write_archive(
    file: File,
    root: &Path,
    found: &[(PathBuf, Found)],
    out: &Path,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<Packed, SoftwareError> {
    let write_err = |source| SoftwareError::Write {
        path: out.to_path_buf(),
        source,
    };
    let total: u64 = found
        .iter()
        .map(|(_, f)| if let Found::File(n) = f { *n } else { 0 })
        .sum();
    let sink = HashingWriter {
        file,
        hasher: Sha256::new(),
        written: 0,
    };
    let gz = flate2::write::GzEncoder::new(sink, flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    tar.follow_symlinks(false);
    let mut meter = Meter::new(
        progress,
        STEP,
        total,
        PROGRESS_EVERY,
        format!("packing {}", root.display()),
    );
    let mut buf = vec![0u8; BUF];
    let mut data_bytes = 0u64;
    let mut entries = 0u64;
    for (rel, kind) in found {
        if cancel.is_cancelled() {
            return Err(SoftwareError::Cancelled);
        }
        let path = root.join(rel);
        let read_err = |source| SoftwareError::Read {
            path: path.clone(),
            source,
        };
        let meta = match fs::symlink_metadata(&path) {
            Ok(m) => m,
            // Gone since the walk: not part of the code any more.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(read_err(e)),
        };
        let mut header = tar::Header::new_gnu();
        header.set_mode(meta.mode() & 0o7777);
        header.set_mtime(u64::try_from(meta.mtime()).unwrap_or(0));
        header.set_uid(0);
        header.set_gid(0);
        match kind {
            Found::Dir => {
                if !meta.is_dir() {
                    return Err(changed(&path, "it is no longer a folder"));
                }
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                tar.append_data(&mut header, rel, io::empty()).map_err(write_err)?;
            }
            Found::Link(_) => {
                if !meta.file_type().is_symlink() {
                    return Err(changed(&path, "it is no longer a symbolic link"));
                }
                let target = fs::read_link(&path).map_err(read_err)?;
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                tar.append_link(&mut header, rel, &target).map_err(write_err)?;
            }
            Found::File(_) => {
                // Never through a link swapped in since the walk, never waiting on a FIFO.
                let mut input = OpenOptions::new()
                    .read(true)
                    .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
                    .open(&path)
                    .map_err(read_err)?;
                let opened = input.metadata().map_err(read_err)?;
                if !opened.is_file() {
                    return Err(changed(&path, "it is no longer a regular file"));
                }
                let size = opened.len();
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(size);
                let mut counted = Counted {
                    inner: (&mut input).take(size),
                    buf: &mut buf,
                    read: 0,
                    meter: &mut meter,
                    cancel,
                };
                let appended = tar.append_data(&mut header, rel, &mut counted);
                let read = counted.read;
                if cancel.is_cancelled() {
                    return Err(SoftwareError::Cancelled);
                }
                match appended {
                    Ok(()) => {}
                    // The data ended before the header's size (tar says "unexpected EOF"): the file shrank.
                    Err(_) if read < size => {
                        return Err(changed(&path, &format!("it shrank from {size} bytes to {read}")));
                    }
                    Err(e) => return Err(write_err(e)),
                }
                let mut probe = [0u8; 1];
                if input.read(&mut probe).map_err(read_err)? > 0 {
                    return Err(changed(&path, &format!("it grew beyond {size} bytes")));
                }
                data_bytes += size;
            }
        }
        entries += 1;
    }
    let gz = tar.into_inner().map_err(write_err)?;
    let mut sink = gz.finish().map_err(write_err)?;
    sink.flush().map_err(write_err)?;
    sink.file.sync_all().map_err(write_err)?;
    meter.finish();
    Ok(Packed {
        path: out.to_path_buf(),
        bytes: sink.written,
        sha256: hex::encode(sink.hasher.finalize()),
        entries,
        data_bytes,
    })
}

fn changed(path: &Path, what: &str) -> SoftwareError {
    SoftwareError::Changed {
        path: path.to_path_buf(),
        what: what.to_owned(),
    }
}

/// A file's data on its way into the archive: counted, reported, cancellable.
struct Counted<'a, 'p, R> {
    inner: R,
    buf: &'a mut Vec<u8>,
    read: u64,
    meter: &'a mut Meter<'p>,
    cancel: &'a Cancel,
}

impl<R: Read> Read for Counted<'_, '_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.cancel.is_cancelled() {
            return Err(io::Error::other("cancelled"));
        }
        let want = out.len().min(self.buf.len());
        let n = self.inner.read(&mut self.buf[..want])?;
        out[..n].copy_from_slice(&self.buf[..n]);
        self.read += n as u64;
        self.meter.add(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards what the archive holds: the code as the manifest reads it (same exclusions), links as links,
    // relative names in path order, and nothing of media, runtime/ or db.php.
    #[test]
    fn the_archive_holds_the_code_and_only_the_code() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("prod");
        for d in ["web/documents", "runtime/logs", "config", "vendor/bin", "web/assets/x"] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        fs::write(root.join("web/index.php"), "<?php echo 1;").unwrap();
        fs::write(root.join("web/documents/a.pdf"), "media").unwrap();
        fs::write(root.join("web/assets/x/app.js"), "generated").unwrap();
        fs::write(root.join("runtime/logs/app.log"), "log").unwrap();
        fs::write(root.join("config/db.php"), "<?php return [];").unwrap();
        fs::write(root.join("config/web.php"), "<?php return ['x'];").unwrap();
        std::os::unix::fs::symlink("../../web/index.php", root.join("vendor/bin/yii")).unwrap();
        let env = crate::env::environment::Environment::resolve(
            "prod",
            &crate::env::config::EnvironmentConfig::at(&root, None),
        );
        let exclude = Exclusions::for_environment(&env);
        let out = tmp.path().join(SOFTWARE_FILE);
        let packed = pack(&root, &exclude, &out, &crate::progress::Silent, &Cancel::new()).unwrap();
        assert_eq!(packed.bytes, fs::metadata(&out).unwrap().len());
        assert_eq!(packed.sha256, hex::encode(Sha256::digest(fs::read(&out).unwrap())));
        let mut names = Vec::new();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(File::open(&out).unwrap()));
        for e in archive.entries().unwrap() {
            let e = e.unwrap();
            let name = e.path().unwrap().to_string_lossy().trim_end_matches('/').to_owned();
            if name == "vendor/bin/yii" {
                assert_eq!(e.header().entry_type(), tar::EntryType::Symlink);
                assert_eq!(e.link_name().unwrap().unwrap().to_str(), Some("../../web/index.php"));
            }
            names.push(name);
        }
        assert_eq!(
            names,
            [
                "config",
                "config/web.php",
                "vendor",
                "vendor/bin",
                "vendor/bin/yii",
                "web",
                "web/assets",
                "web/index.php"
            ]
        );
        assert_eq!(packed.entries, 8);
        // A second packing never overwrites a file that is there.
        assert!(pack(&root, &exclude, &out, &crate::progress::Silent, &Cancel::new()).is_err());
        assert!(out.exists(), "the existing archive is not removed by a failed packing");
    }
}
