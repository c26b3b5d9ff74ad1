//! Media: `media.taz` read through the one tar reading ([`crate::files::archive`], the restore's too) over
//! the strict gzip reader, and judged entry by entry.
//!
//! Guarantees: the archive is read once, to its end, in constant memory; every fault of the reading (a
//! damaged header, a truncated stream, a zero block in the middle, trailing garbage) is the verdict
//! `corrupt` with its offset; every entry [`archive::refusal`] names is listed as `unsafe` (the first
//! [`MAX_LISTED`]); AppleDouble entries are counted apart, the same entries the restore leaves out; the
//! counts and the layout are found in the same read.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::Path;

use crate::files::archive::{self, Entry, Reader};
use crate::progress::{Cancel, Progress, Update};

use super::gzip::{GzFault, GzSource};
use super::layout::{LayoutScan, top_component};
use super::{At, Driven, Fault, PROGRESS_EVERY, Stream, VerifyError};

/// How many unsafe entries are listed by name before the rest are summarised.
pub(super) const MAX_LISTED: usize = 50;

/// What the media check found, entry by entry.
#[derive(Default)]
pub(super) struct MediaScan {
    pub(super) files: u64,
    pub(super) folders: u64,
    pub(super) bytes: u64,
    pub(super) top_level: BTreeSet<String>,
    pub(super) unsafe_entries: Vec<String>,
    pub(super) unsafe_count: u64,
    pub(super) warnings: Vec<String>,
    pub(super) apple_double: u64,
    pub(super) layout: LayoutScan,
}

impl MediaScan {
    pub(super) fn new(expected: &[String]) -> Self {
        MediaScan {
            layout: LayoutScan::new(expected),
            ..MediaScan::default()
        }
    }

    /// Takes one entry into account (its data is not needed: the AppleDouble decision is the reader's).
    fn observe(&mut self, entry: &Entry) {
        let name = entry.name_lossy();
        if let Some(why) = entry.refusal() {
            self.unsafe_count += 1;
            if self.unsafe_entries.len() < MAX_LISTED {
                self.unsafe_entries.push(format!("{name}: {why}"));
            }
        }
        if entry.apple_double {
            self.apple_double += 1;
            return;
        }
        self.count(&name, entry.kind, entry.size);
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

/// Reads the media archive at `path` to its end, feeding `scan`; a fault ends the reading.
pub(super) fn scan_media(
    path: &Path,
    step: &'static str,
    progress: &dyn Progress,
    cancel: &Cancel,
    scan: &mut MediaScan,
) -> Result<Driven, VerifyError> {
    let open_err = |source| VerifyError::Open {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(open_err)?;
    let bytes = file.metadata().map_err(open_err)?.len();
    let mut reader = Reader::new(GzSource::new(file));
    let mut next_report = 0u64;
    let mut checkpoint = |reader: &Reader<GzSource<File>>| {
        if cancel.is_cancelled() {
            return Err(VerifyError::Cancelled {
                path: path.to_path_buf(),
            });
        }
        let done = reader.get_ref().compressed_offset();
        if done >= next_report {
            progress.update(Update {
                step,
                done,
                total: Some(bytes),
                detail: None,
            });
            next_report = done + PROGRESS_EVERY;
        }
        Ok(())
    };
    let fault = 'read: loop {
        checkpoint(&reader)?;
        match reader.next_entry() {
            Ok(Some(entry)) => scan.observe(&entry),
            Ok(None) => break None,
            Err(e) => break Some(fault_of(path, &mut reader, e)?),
        }
        loop {
            match reader.skip_data() {
                Ok(0) => break,
                Ok(_) => checkpoint(&reader)?,
                Err(e) => break 'read Some(fault_of(path, &mut reader, e)?),
            }
        }
    };
    let source = reader.get_ref();
    progress.update(Update {
        step,
        done: source.compressed_offset(),
        total: Some(bytes),
        detail: None,
    });
    Ok(Driven {
        bytes,
        decompressed: source.decompressed(),
        members: source.members(),
        fault,
    })
}

/// The verdict's fault for an error of the reading, or why the file could not be read at all.
fn fault_of(path: &Path, reader: &mut Reader<GzSource<File>>, e: archive::Error) -> Result<Fault, VerifyError> {
    match e {
        archive::Error::Malformed(m) => Ok(Fault::decompressed(m.offset, m.entry, m.reason)),
        archive::Error::Read(e) => match reader.get_mut().take_fault() {
            Some(GzFault::Corrupt { offset, reason }) => Ok(Fault {
                at: At {
                    stream: Stream::Compressed,
                    offset,
                },
                entry: None,
                reason,
            }),
            Some(GzFault::Io(source)) => Err(VerifyError::Read {
                path: path.to_path_buf(),
                source,
            }),
            None => Err(VerifyError::Read {
                path: path.to_path_buf(),
                source: e,
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::archive::Trickle;

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
            let mut scan = MediaScan::new(&["documents".to_string()]);
            let mut reader = Reader::new(Trickle(&tar, chunk));
            while let Some(entry) = reader.next_entry().unwrap() {
                scan.observe(&entry);
            }
            assert_eq!((scan.files, scan.bytes, scan.apple_double), (2, 14, 2), "chunk {chunk}");
            assert_eq!(
                scan.top_level.iter().collect::<Vec<_>>(),
                vec!["documents"],
                "chunk {chunk}"
            );
        }
    }
}
